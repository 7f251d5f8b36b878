/* acc.c - the acc module: transaction accounting to the log and to SQLite,
 * with Kamailio 5.6's flags, parameters, record format and KSR functions.
 *
 * As in Kamailio, a script marks a request for accounting by setting flags
 * (log_flag, log_missed_flag, failed_transaction_flag, db_flag,
 * db_missed_flag) and relaying it statefully; nothing else in the script
 * mentions acc. When the transaction sends its first final reply upstream
 * (tm.h, tm_on_final_reply), this module writes:
 *   - "ACC: call missed: ..." for an INVITE answered >= 300 with a missed
 *     flag set;
 *   - "ACC: transaction answered: ..." for a 2xx with log_flag (db_flag),
 *     or a >= 300 with failed_transaction_flag too (minus failed_filter).
 * The request the extras are evaluated on is the transaction's request as
 * the script relayed it (after lookup: the R-URI is the contact), which is
 * what Kamailio evaluates them on for a single branch.
 *
 * Not honoured, refused at start with a message saying why: early_media,
 * report_ack and detect_direction (they need tm events Osprey does not
 * emit yet), cdr_enable (no dialog module), multi_leg_info, time_mode other
 * than 0. A missed call is reported once per transaction, at its final
 * reply: a failure route that forks serially and fails again does not log
 * a second "call missed" as Kamailio's per-branch reset flag allows. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "core/worker.h"
#include "modules/acc/acc_int.h"
#include "modules/tm/tm.h"

#define ACC_LOG_MAX 8192

#define ACC_TXT_REQUEST	 "ACC: request accounted: "
#define ACC_TXT_MISSED	 "ACC: call missed: "
#define ACC_TXT_ANSWERED "ACC: transaction answered: "

/* ---- modparams ---- */
static int p_early_media;
static int p_report_ack;
static int p_report_cancels;
static int p_detect_direction;
static int p_failed_flag = -1;
static char *p_failed_filter;
static int p_log_flag = -1;
static int p_log_missed_flag = -1;
static int p_log_level = L_NOTICE;
static char *p_log_facility;
static char *p_log_extra;
static int p_db_flag = -1;
static int p_db_missed_flag = -1;
static char *p_db_url;
static char *p_db_extra;
static char *p_db_table_acc;
static char *p_db_table_mc;
static char *p_col_method, *p_col_from_tag, *p_col_to_tag, *p_col_callid,
    *p_col_sip_code, *p_col_sip_reason, *p_col_time;
static int p_db_insert_mode;
static int p_time_mode;
static int p_clone_msg = 1;
static int p_cdr_enable;
static char *p_multi_leg_info;
static int p_extra_size = ACC_EXTRA_MAX;

/* ---- state built at init (read-only afterwards) ---- */
static acc_extras_t log_extras, db_extras;
static int failed_filter[16]; /* 0-terminated */
static int log_level;

/* ---- extras ---- */

int acc_is_identifier(const char *s)
{
	size_t n = 0;

	if (!s || !(isalpha((unsigned char)*s) || *s == '_'))
		return 0;
	for (; s[n]; n++)
		if (!(isalnum((unsigned char)s[n]) || s[n] == '_'))
			return 0;
	return n < 64;
}

void acc_extras_free(acc_extras_t *x)
{
	for (int i = 0; i < x->n; i++) {
		free(x->names[i]);
		pv_spec_free(x->specs[i]);
	}
	memset(x, 0, sizeof(*x));
}

static str_t trim(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return (str_t){s, n};
}

int acc_extras_parse(const char *text, int columns, acc_extras_t *x, char *err,
		     size_t errlen)
{
	const char *p = text;
	char ebuf[200];

	memset(x, 0, sizeof(*x));
	while (*p) {
		const char *eq = strchr(p, '=');
		const char *v, *end;
		str_t name, val;
		int depth = 0;

		if (!eq) {
			if (trim(p, strlen(p)).len == 0)
				break;
			snprintf(err, errlen, "\"%s\": expected name=$pv", p);
			goto fail;
		}
		name = trim(p, (size_t)(eq - p));
		/* the value runs to the next ';' outside parentheses, so a
		 * name such as $(hdr(X)[1]) stays whole */
		for (v = end = eq + 1; *end; end++) {
			if (*end == '(')
				depth++;
			else if (*end == ')' && depth)
				depth--;
			else if (*end == ';' && !depth)
				break;
		}
		val = trim(v, (size_t)(end - v));
		if (!name.len || !val.len) {
			snprintf(err, errlen, "\"%.*s\": empty name or value",
				 (int)(end - p), p);
			goto fail;
		}
		if (x->n >= ACC_EXTRA_MAX || x->n >= p_extra_size) {
			snprintf(err, errlen, "more than %d extra values",
				 x->n);
			goto fail;
		}
		x->names[x->n] = strndup(name.s, name.len);
		if (!x->names[x->n]) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		if (columns && !acc_is_identifier(x->names[x->n])) {
			snprintf(err, errlen,
				 "\"%s\" cannot be a column name (letters, "
				 "digits and _ only)",
				 x->names[x->n]);
			x->n++;
			goto fail;
		}
		x->specs[x->n] = pv_spec_parse(val, ebuf, sizeof(ebuf));
		if (!x->specs[x->n]) {
			snprintf(err, errlen, "%s=%.*s: %s", x->names[x->n],
				 (int)val.len, val.s, ebuf);
			x->n++;
			goto fail;
		}
		x->n++;
		p = *end ? end + 1 : end;
	}
	return 0;
fail:
	acc_extras_free(x);
	return -1;
}

void acc_rec_extras(ksr_ctx_t *ctx, const acc_extras_t *x, acc_rec_t *r)
{
	arena_t *a = ctx->msg ? ctx->msg->arena : NULL;

	r->n_extra = x->n;
	for (int i = 0; i < x->n; i++) {
		ksr_xval_t v;
		char num[24];
		str_t s = STR_NULL;

		pv_get(ctx, x->specs[i], &v);
		if (v.type == KSR_STR) {
			s = v.s;
		} else if (v.type == KSR_INT) {
			int n = snprintf(num, sizeof(num), "%ld", v.n);

			s = (str_t){num, (size_t)n};
		}
		/* pv strings may sit in a scratch ring that the next values
		 * overwrite: keep a copy */
		if (s.len && a) {
			char *c = arena_strndup(a, s.s, s.len);

			s = c ? (str_t){c, s.len} : STR_NULL;
		} else if (s.len) {
			s = STR_NULL;
		}
		r->extra[i] = s;
	}
}

/* ---- the record ---- */

/* The fixed part of a record for request msg; the To tag is the given
 * one when not empty (the reply's), else the request's. */
static void rec_core(sip_msg_t *msg, str_t totag, acc_rec_t *r)
{
	sip_cseq_t *cs = sip_get_cseq(msg);
	sip_nameaddr_t *f = sip_get_from(msg);
	sip_nameaddr_t *t = sip_get_to(msg);

	memset(r, 0, sizeof(*r));
	r->method = cs ? cs->method : msg->method;
	r->from_tag = f ? f->tag : STR_NULL;
	r->to_tag = totag.len ? totag : t ? t->tag : STR_NULL;
	r->callid = sip_get_callid(msg);
	r->ts = time(NULL);
}

static size_t put(char *buf, size_t cap, size_t at, const char *s, size_t n)
{
	if (at + 1 >= cap)
		return at;
	if (n > cap - 1 - at)
		n = cap - 1 - at;
	memcpy(buf + at, s, n);
	buf[at + n] = '\0';
	return at + n;
}

static size_t put_kv(char *buf, size_t cap, size_t at, const char *k, str_t v)
{
	at = put(buf, cap, at, ";", 1);
	at = put(buf, cap, at, k, strlen(k));
	at = put(buf, cap, at, "=", 1);
	return v.len ? put(buf, cap, at, v.s, v.len) : at;
}

size_t acc_log_format(const char *text, const acc_rec_t *r,
		      const acc_extras_t *x, char *buf, size_t cap)
{
	char ts[32];
	size_t at = 0;
	int n;

	if (!cap)
		return 0;
	buf[0] = '\0';
	n = snprintf(ts, sizeof(ts), "timestamp=%lu", (unsigned long)r->ts);
	at = put(buf, cap, at, text, strlen(text));
	at = put(buf, cap, at, ts, (size_t)n);
	at = put_kv(buf, cap, at, "method", r->method);
	at = put_kv(buf, cap, at, "from_tag", r->from_tag);
	at = put_kv(buf, cap, at, "to_tag", r->to_tag);
	at = put_kv(buf, cap, at, "call_id", r->callid);
	at = put_kv(buf, cap, at, "code", r->code_s);
	at = put_kv(buf, cap, at, "reason", r->reason);
	for (int i = 0; x && i < x->n && i < r->n_extra; i++)
		at = put_kv(buf, cap, at, x->names[i], r->extra[i]);
	return at;
}

static void acc_log(ksr_ctx_t *ctx, const char *text, acc_rec_t *r)
{
	char line[ACC_LOG_MAX];

	if (osp_log_level < log_level)
		return;
	acc_rec_extras(ctx, &log_extras, r);
	acc_log_format(text, r, &log_extras, line, sizeof(line));
	osp_log(log_level, __FILE__, __LINE__, "%s", line);
}

static void acc_db(ksr_ctx_t *ctx, const char *table, acc_rec_t *r)
{
	acc_rec_extras(ctx, &db_extras, r);
	if (acc_db_queue(table, r) < 0)
		LOG_RATE(L_ERR, "acc: out of memory: record for table %s lost",
			 table);
}

static int flag_set(uint32_t flags, int flag)
{
	return flag >= 0 && flag < 32 && (flags & (1u << flag));
}

static int filtered(int code)
{
	for (int i = 0; failed_filter[i]; i++)
		if (failed_filter[i] == code)
			return 1;
	return 0;
}

static const char *table_acc(void)
{
	return p_db_table_acc && *p_db_table_acc ? p_db_table_acc : "acc";
}

static const char *table_mc(void)
{
	return p_db_table_mc && *p_db_table_mc ? p_db_table_mc : "missed_calls";
}

/* tm's final-reply event: runs on the thread sending the reply, with the
 * transaction locked (the database write is queued, never done here). */
static void acc_on_final(const tm_event_t *ev)
{
	uint32_t fl = ev->flags;
	int log_mc, db_mc, log_acc, db_acc, report;
	char code_s[8];
	sip_msg_t msg;
	ksr_ctx_t ctx;
	acc_rec_t r;
	arena_t a;

	if (ev->method == SIP_METHOD_CANCEL && !p_report_cancels)
		return;
	log_mc = db_mc = 0;
	if (ev->method == SIP_METHOD_INVITE && ev->code >= 300) {
		log_mc = flag_set(fl, p_log_missed_flag);
		db_mc = flag_set(fl, p_db_missed_flag) && acc_db_ready();
	}
	/* a failed transaction is reported only when asked for */
	report = ev->code < 300 ||
		 (flag_set(fl, p_failed_flag) && !filtered(ev->code));
	log_acc = report && flag_set(fl, p_log_flag);
	db_acc = report && flag_set(fl, p_db_flag) && acc_db_ready();
	if (!log_mc && !db_mc && !log_acc && !db_acc)
		return;

	arena_init(&a);
	if (tm_event_request(ev, &msg, &a) < 0) {
		LOG_RATE(L_ERR,
			 "acc: cannot rebuild the request of a %d "
			 "transaction: not accounted",
			 ev->code);
		goto out;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.msg = &msg;
	ctx.route = KSR_ROUTE_REQUEST;
	ctx.worker = worker_current();
	ctx.sflags = 0;
	snprintf(code_s, sizeof(code_s), "%d", ev->code);
	if (log_mc || db_mc) {
		rec_core(&msg, ev->totag, &r);
		r.code = ev->code;
		r.code_s = str_from(code_s);
		r.reason = ev->reason;
		if (log_mc)
			acc_log(&ctx, ACC_TXT_MISSED, &r);
		if (db_mc)
			acc_db(&ctx, table_mc(), &r);
	}
	if (log_acc || db_acc) {
		rec_core(&msg, ev->totag, &r);
		r.code = ev->code;
		r.code_s = str_from(code_s);
		r.reason = ev->reason;
		if (log_acc)
			acc_log(&ctx, ACC_TXT_ANSWERED, &r);
		if (db_acc)
			acc_db(&ctx, table_acc(), &r);
	}
out:
	arena_destroy(&a);
}

/* ---- KSR.acc.* ---- */

/* A script comment: "CODE TEXT" gives the code and the reason, anything
 * else is the reason with an empty code (Kamailio's acc_parse_code).
 * Pseudo-variables are refused, as Kamailio refuses them from KEMI: the
 * script builds the string itself. 0 or -1. */
static int comment_parse(str_t c, acc_rec_t *r)
{
	if (memchr(c.s, '$', c.len)) {
		LOG_RATE(L_ERR,
			 "acc: comment \"%.*s\": pseudo-variables are not "
			 "expanded in KSR.acc functions (as in Kamailio); "
			 "build the text in the script",
			 STR_FMT(c));
		return -1;
	}
	if (!c.len) {
		LOG_RATE(L_ERR, "acc: empty comment");
		return -1;
	}
	if (c.len >= 3 && isdigit((unsigned char)c.s[0]) &&
	    isdigit((unsigned char)c.s[1]) && isdigit((unsigned char)c.s[2])) {
		r->code =
		    (c.s[0] - '0') * 100 + (c.s[1] - '0') * 10 + (c.s[2] - '0');
		r->code_s = (str_t){c.s, 3};
		c.s += 3;
		c.len -= 3;
		while (c.len && isspace((unsigned char)*c.s))
			c.s++, c.len--;
	}
	r->reason = c;
	return 0;
}

static int request_rec(ksr_ctx_t *ctx, str_t comment, acc_rec_t *r)
{
	if (!ctx->msg)
		return -1;
	rec_core(ctx->msg, STR_NULL, r);
	return comment_parse(comment, r);
}

static int ki_acc_log_request(ksr_ctx_t *ctx, const ksr_arg_t *a,
			      ksr_xval_t *ret)
{
	acc_rec_t r;

	if (request_rec(ctx, a[0].s, &r) < 0)
		return -1;
	acc_log(ctx, ACC_TXT_REQUEST, &r);
	return 1;
}

/* The table named by a script: an identifier, created when missing. */
static int script_table(str_t t, char *out, size_t cap)
{
	if (!t.len || t.len >= cap)
		goto bad;
	memcpy(out, t.s, t.len);
	out[t.len] = '\0';
	if (!acc_is_identifier(out))
		goto bad;
	return acc_db_ensure(out);
bad:
	LOG_RATE(L_ERR,
		 "acc: bad table name \"%.*s\" (letters, digits and _ "
		 "only; variables are not expanded from KSR)",
		 STR_FMT(t));
	return -1;
}

static int ki_acc_db_request(ksr_ctx_t *ctx, const ksr_arg_t *a,
			     ksr_xval_t *ret)
{
	char table[64];
	acc_rec_t r;

	if (!acc_db_ready()) {
		LOG_RATE(L_ERR, "acc: acc_db_request: no database (set "
				"modparam(\"acc\", \"db_url\", ...))");
		return -1;
	}
	if (request_rec(ctx, a[0].s, &r) < 0 ||
	    script_table(a[1].s, table, sizeof(table)) < 0)
		return -1;
	acc_db(ctx, table, &r);
	return 1;
}

static int ki_acc_request(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	char table[64];
	acc_rec_t r;

	if (request_rec(ctx, a[0].s, &r) < 0)
		return -1;
	acc_log(ctx, ACC_TXT_REQUEST, &r);
	if (!acc_db_ready())
		return 1;
	if (script_table(a[1].s, table, sizeof(table)) < 0)
		return -1;
	acc_db(ctx, table, &r);
	return 1;
}

/* ---- init ---- */

static int parse_failed_filter(const char *s)
{
	int n = 0;

	while (s && *s) {
		char *end;
		long code = strtol(s, &end, 10);

		if (end - s != 3 || code < 300 || code > 999 ||
		    n >= (int)OSP_ARRAY_LEN(failed_filter) - 1) {
			LOG_ERR("acc: failed_filter \"%s\": expected up to 15 "
				"comma-separated codes 300..999",
				p_failed_filter);
			return -1;
		}
		failed_filter[n++] = (int)code;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',') {
			LOG_ERR("acc: failed_filter \"%s\": a code must be "
				"followed by a comma or the end",
				p_failed_filter);
			return -1;
		}
	}
	failed_filter[n] = 0;
	return 0;
}

static int facility_ok(const char *f)
{
	static const char *const names[] = {
	    "LOG_AUTH",	  "LOG_AUTHPRIV", "LOG_CRON",	"LOG_DAEMON",
	    "LOG_FTP",	  "LOG_KERN",	  "LOG_LOCAL0", "LOG_LOCAL1",
	    "LOG_LOCAL2", "LOG_LOCAL3",	  "LOG_LOCAL4", "LOG_LOCAL5",
	    "LOG_LOCAL6", "LOG_LOCAL7",	  "LOG_LPR",	"LOG_MAIL",
	    "LOG_NEWS",	  "LOG_SYSLOG",	  "LOG_USER",	"LOG_UUCP",
	};

	for (size_t i = 0; i < OSP_ARRAY_LEN(names); i++)
		if (!strcasecmp(f, names[i]))
			return 1;
	return 0;
}

/* Settings Osprey cannot honour: refused with the reason (Kamailio would
 * do something Osprey does not, so starting would mislead). */
static int refuse_unsupported(void)
{
	static const struct {
		const int *var;
		const char *name, *why;
	} no[] = {
	    {&p_early_media, "early_media",
	     "Osprey accounts final replies only (no provisional-reply "
	     "event from tm)"},
	    {&p_report_ack, "report_ack",
	     "Osprey's tm has no end-to-end ACK event to account"},
	    {&p_detect_direction, "detect_direction",
	     "the transaction's request is rebuilt after routing and the "
	     "loose-route direction is not kept with it"},
	    {&p_cdr_enable, "cdr_enable",
	     "CDRs need the dialog module, which Osprey does not have"},
	    {&p_time_mode, "time_mode",
	     "only time_mode 0 (a Unix timestamp; DATETIME in the database) "
	     "is implemented"},
	};

	for (size_t i = 0; i < OSP_ARRAY_LEN(no); i++)
		if (*no[i].var) {
			LOG_ERR("acc: modparam \"%s\" %d is not supported: %s "
				"(set it to 0 or remove it)",
				no[i].name, *no[i].var, no[i].why);
			return -1;
		}
	if (p_multi_leg_info && *p_multi_leg_info) {
		LOG_ERR("acc: modparam \"multi_leg_info\" is not supported: "
			"Osprey does not account per call leg (remove it)");
		return -1;
	}
	return 0;
}

static int check_flag(const char *name, int flag)
{
	if (flag == -1 || (flag >= 0 && flag < 32))
		return 0;
	LOG_ERR("acc: %s %d is out of range (flags are 0..31)", name, flag);
	return -1;
}

static int acc_init(void)
{
	acc_db_cols_t cols = {
	    .method = p_col_method ? p_col_method : "method",
	    .from_tag = p_col_from_tag ? p_col_from_tag : "from_tag",
	    .to_tag = p_col_to_tag ? p_col_to_tag : "to_tag",
	    .callid = p_col_callid ? p_col_callid : "callid",
	    .sip_code = p_col_sip_code ? p_col_sip_code : "sip_code",
	    .sip_reason = p_col_sip_reason ? p_col_sip_reason : "sip_reason",
	    .time = p_col_time ? p_col_time : "time",
	};
	static int registered;
	char err[256];

	/* init may run again in the same process (osprey -c, tests) */
	acc_extras_free(&log_extras);
	acc_extras_free(&db_extras);
	acc_db_close();
	if (refuse_unsupported() < 0)
		return -1;
	if (check_flag("log_flag", p_log_flag) < 0 ||
	    check_flag("log_missed_flag", p_log_missed_flag) < 0 ||
	    check_flag("failed_transaction_flag", p_failed_flag) < 0 ||
	    check_flag("db_flag", p_db_flag) < 0 ||
	    check_flag("db_missed_flag", p_db_missed_flag) < 0)
		return -1;
	if (parse_failed_filter(p_failed_filter) < 0)
		return -1;
	if (p_log_facility && !facility_ok(p_log_facility)) {
		LOG_ERR("acc: invalid log_facility \"%s\" (LOG_DAEMON, "
			"LOG_LOCAL0..7, ...)",
			p_log_facility);
		return -1;
	}
	log_level = p_log_level < L_CRIT  ? L_CRIT
		    : p_log_level > L_DBG ? L_DBG
					  : p_log_level;
	if (p_log_extra && acc_extras_parse(p_log_extra, 0, &log_extras, err,
					    sizeof(err)) < 0) {
		LOG_ERR("acc: log_extra: %s", err);
		return -1;
	}
	if (p_db_url && *p_db_url) {
		if (p_db_extra && acc_extras_parse(p_db_extra, 1, &db_extras,
						   err, sizeof(err)) < 0) {
			LOG_ERR("acc: db_extra: %s", err);
			return -1;
		}
		if (!acc_is_identifier(table_acc()) ||
		    !acc_is_identifier(table_mc())) {
			LOG_ERR("acc: db_table_acc \"%s\" / "
				"db_table_missed_calls \"%s\": plain table "
				"names only (variables in table names are not "
				"supported)",
				table_acc(), table_mc());
			return -1;
		}
		if (acc_db_open(p_db_url, table_acc(), table_mc(), &cols,
				&db_extras, err, sizeof(err)) < 0) {
			LOG_ERR("acc: %s", err);
			return -1;
		}
	} else if (p_db_flag >= 0 || p_db_missed_flag >= 0) {
		LOG_WARN("acc: db_flag/db_missed_flag set without db_url: "
			 "database accounting is off");
	}
	if (!registered && tm_on_final_reply(acc_on_final) < 0) {
		LOG_ERR("acc: cannot register for transaction events");
		return -1;
	}
	registered = 1;
	return 0;
}

static void acc_destroy(void)
{
	acc_db_close(); /* writes what is still queued */
	acc_extras_free(&log_extras);
	acc_extras_free(&db_extras);
}

static const osp_param_t acc_params[] = {
    {"early_media", MP_INT, &p_early_media, NULL},
    {"report_ack", MP_INT, &p_report_ack, NULL},
    {"report_cancels", MP_INT, &p_report_cancels, NULL},
    {"detect_direction", MP_INT, &p_detect_direction, NULL},
    {"failed_transaction_flag", MP_INT, &p_failed_flag, NULL},
    {"failed_filter", MP_STR, &p_failed_filter, NULL},
    {"log_flag", MP_INT, &p_log_flag, NULL},
    {"log_missed_flag", MP_INT, &p_log_missed_flag, NULL},
    {"log_level", MP_INT, &p_log_level, NULL},
    {"log_facility", MP_STR, &p_log_facility, NULL},
    {"log_extra", MP_STR, &p_log_extra, NULL},
    {"db_flag", MP_INT, &p_db_flag, NULL},
    {"db_missed_flag", MP_INT, &p_db_missed_flag, NULL},
    {"db_url", MP_STR, &p_db_url, NULL},
    {"db_extra", MP_STR, &p_db_extra, NULL},
    {"db_table_acc", MP_STR, &p_db_table_acc, NULL},
    {"db_table_missed_calls", MP_STR, &p_db_table_mc, NULL},
    {"acc_method_column", MP_STR, &p_col_method, NULL},
    {"acc_from_tag_column", MP_STR, &p_col_from_tag, NULL},
    {"acc_to_tag_column", MP_STR, &p_col_to_tag, NULL},
    {"acc_callid_column", MP_STR, &p_col_callid, NULL},
    {"acc_sip_code_column", MP_STR, &p_col_sip_code, NULL},
    {"acc_sip_reason_column", MP_STR, &p_col_sip_reason, NULL},
    {"acc_time_column", MP_STR, &p_col_time, NULL},
    /* writes are always queued off the SIP path: the modes mean nothing */
    {"db_insert_mode", MP_INT, &p_db_insert_mode, NULL},
    {"time_mode", MP_INT, &p_time_mode, NULL},
    /* the request is always a private copy here */
    {"clone_msg", MP_INT, &p_clone_msg, NULL},
    {"cdr_enable", MP_INT, &p_cdr_enable, NULL},
    {"multi_leg_info", MP_STR, &p_multi_leg_info, NULL},
    {"acc_extra_size", MP_INT, &p_extra_size, NULL},
    {NULL, 0, NULL, NULL},
};

static const ksr_export_t acc_exports[] = {
    {"acc", "acc_log_request", KSR_INT, ki_acc_log_request, {KSR_STR}},
    {"acc", "acc_db_request", KSR_INT, ki_acc_db_request, {KSR_STR, KSR_STR}},
    {"acc", "acc_request", KSR_INT, ki_acc_request, {KSR_STR, KSR_STR}},
    {NULL, NULL, 0, NULL, {0}},
};

osp_module_t osp_mod_acc = {
    .name = "acc",
    .exports = acc_exports,
    .params = acc_params,
    .init = acc_init,
    .destroy = acc_destroy,
};
