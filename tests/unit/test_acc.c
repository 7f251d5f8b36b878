/* test_acc.c - the acc module: log_extra parsing, the record format, the
 * accounting decisions made when a transaction sends its final reply
 * (through tm's event, with a hand-made transaction), SQLite records, the
 * KSR.acc functions, and the settings refused at start. Also the loader's
 * mapping of Kamailio modules Osprey lacks (db_sqlite, db_mysql, tls,
 * debugger). Log lines are captured from stderr. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <sqlite3.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "modules/acc/acc_int.h"
#include "modules/pv/pv.h"
#include "modules/tm/tm.h"
#include "modules/tm/tm_int.h"
#include "unit.h"

extern osp_module_t osp_mod_acc;

#define INVITE_TEXT                                                            \
	"INVITE sip:bob@example.com SIP/2.0\r\n"                               \
	"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK-1\r\n"                \
	"From: <sip:alice@atlanta.example.com>;tag=f-1\r\n"                    \
	"To: <sip:bob@example.com>\r\n"                                        \
	"Call-ID: acc-1\r\n"                                                   \
	"CSeq: 7 INVITE\r\n"                                                   \
	"Content-Length: 0\r\n\r\n"

/* ---- stderr capture --------------------------------------------------- */

static int cap_pipe[2], saved_fd = -1;
static char captured[16384];

static void cap_start(void)
{
	fflush(stderr);
	CHECK(pipe(cap_pipe) == 0);
	fcntl(cap_pipe[0], F_SETFL, O_NONBLOCK);
	saved_fd = dup(2);
	CHECK(dup2(cap_pipe[1], 2) == 2);
}

static const char *cap_stop(void)
{
	ssize_t n, total = 0;

	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	close(cap_pipe[1]);
	while ((n = read(cap_pipe[0], captured + total,
			 sizeof(captured) - 1 - (size_t)total)) > 0)
		total += n;
	close(cap_pipe[0]);
	captured[total] = '\0';
	return captured;
}

#define CHECK_HAS(hay, needle)                                                 \
	do {                                                                   \
		if (!strstr((hay), (needle)))                                  \
			UNIT_FAIL("output \"%s\" lacks \"%s\"", (hay),         \
				  (needle));                                   \
	} while (0)

#define CHECK_LACKS(hay, needle)                                               \
	do {                                                                   \
		if (strstr((hay), (needle)))                                   \
			UNIT_FAIL("output \"%s\" has \"%s\"", (hay),           \
				  (needle));                                   \
	} while (0)

/* ---- helpers ---------------------------------------------------------- */

static void set_int(const char *p, long v)
{
	char err[256], num[32];

	snprintf(num, sizeof(num), "%ld", v);
	if (module_param_set("acc", p, MP_INT, num, v, err, sizeof(err)) < 0)
		UNIT_FAIL("modparam %s: %s", p, err);
}

static void set_str(const char *p, const char *v)
{
	char err[256];

	if (module_param_set("acc", p, MP_STR, v, 0, err, sizeof(err)) < 0)
		UNIT_FAIL("modparam %s: %s", p, err);
}

/* acc loaded with the stock cfg's log settings (flags 1, 2, 3). */
static void stock_params(void)
{
	CHECK_INT(module_load("acc.so"), 0);
	set_int("log_flag", 1);
	set_int("log_missed_flag", 2);
	set_int("failed_transaction_flag", 3);
	set_str("log_extra", "src_user=$fU;src_domain=$fd;src_ip=$si;"
			     "dst_ouser=$tU;dst_user=$rU;dst_domain=$rd");
}

static void init_ok(void)
{
	const char *out;
	int rc;

	cap_start();
	rc = osp_mod_acc.init();
	out = cap_stop();
	if (rc < 0)
		UNIT_FAIL("acc init failed: %s", out);
}

/* A transaction whose stored request is `text` (as tm keeps it). */
static tm_cell_t *mk_cell(const char *text, sip_method_t m, uint32_t flags)
{
	tm_cell_t *c = calloc(1, sizeof(*c));

	CHECK(c != NULL);
	c->req = strdup(text);
	CHECK(c->req != NULL);
	c->req_len = strlen(text);
	c->method = m;
	c->msg_flags = flags;
	c->rcv.proto = SIP_PROTO_UDP;
	c->rcv.src.in4.sin_family = AF_INET;
	c->rcv.src.in4.sin_port = htons(5062);
	inet_pton(AF_INET, "192.0.2.10", &c->rcv.src.in4.sin_addr);
	return c;
}

/* The transaction sends its final reply; returns what was logged. */
static const char *final_reply(tm_cell_t *c, int code, const char *line,
			       const char *totag)
{
	char reply[256];

	snprintf(reply, sizeof(reply), "SIP/2.0 %d %s\r\nVia: x\r\n\r\n", code,
		 line);
	cap_start();
	tm_event_final_reply(c, code, reply, strlen(reply), str_from(totag));
	return cap_stop();
}

#define F(n) (1u << (n))

/* ---- tests ------------------------------------------------------------ */

TEST(extras_parse)
{
	acc_extras_t x;
	char err[256];

	CHECK_INT(acc_extras_parse(" a = $fU ;b=$(hdr(X)[0]); c=$si;", 0, &x,
				   err, sizeof(err)),
		  0);
	CHECK_INT(x.n, 3);
	CHECK_STR(x.names[0], "a");
	CHECK_STR(x.names[1], "b");
	CHECK_STR(x.names[2], "c");
	acc_extras_free(&x);
	CHECK_INT(x.n, 0);

	CHECK_INT(acc_extras_parse("a=$fU;nonsense", 0, &x, err, sizeof(err)),
		  -1);
	CHECK_HAS(err, "nonsense");
	CHECK_INT(acc_extras_parse("a=$nosuchvar", 0, &x, err, sizeof(err)),
		  -1);
	CHECK_HAS(err, "a=$nosuchvar");
	CHECK_INT(acc_extras_parse("a=", 0, &x, err, sizeof(err)), -1);
	/* a database column name must be an identifier */
	CHECK_INT(acc_extras_parse("src-user=$fU", 1, &x, err, sizeof(err)),
		  -1);
	CHECK_HAS(err, "column");
	CHECK_INT(acc_extras_parse("src-user=$fU", 0, &x, err, sizeof(err)), 0);
	acc_extras_free(&x);
	CHECK_INT(acc_is_identifier("src_user1"), 1);
	CHECK_INT(acc_is_identifier("1src"), 0);
	CHECK_INT(acc_is_identifier("a;drop"), 0);
}

TEST(log_format)
{
	acc_extras_t x;
	acc_rec_t r;
	char err[256], buf[512];

	CHECK_INT(
	    acc_extras_parse("src_user=$fU;ua=$ua", 0, &x, err, sizeof(err)),
	    0);
	memset(&r, 0, sizeof(r));
	r.method = STR_LIT("INVITE");
	r.from_tag = STR_LIT("f-1");
	r.callid = STR_LIT("c-1");
	r.code_s = STR_LIT("200");
	r.reason = STR_LIT("OK");
	r.ts = 1700000000;
	r.n_extra = 2;
	r.extra[0] = STR_LIT("alice");
	acc_log_format("ACC: transaction answered: ", &r, &x, buf, sizeof(buf));
	/* an empty value prints as name= (the To tag, the null $ua) */
	CHECK_STR(buf, "ACC: transaction answered: timestamp=1700000000;"
		       "method=INVITE;from_tag=f-1;to_tag=;call_id=c-1;"
		       "code=200;reason=OK;src_user=alice;ua=");
	/* truncated, still terminated */
	CHECK_INT(acc_log_format("ACC: ", &r, &x, buf, 16), 15);
	CHECK_STR(buf, "ACC: timestamp=");
	acc_extras_free(&x);
}

TEST(answered_and_missed)
{
	tm_cell_t *c;
	const char *out;

	osp_log_level = L_INFO;
	stock_params();
	init_ok();

	/* 200 with log_flag: one "transaction answered" line, the To tag
	 * of the reply, the extras from the request */
	c = mk_cell(INVITE_TEXT, SIP_METHOD_INVITE, F(1));
	out = final_reply(c, 200, "OK", "t-9");
	CHECK_HAS(out, " NOTICE ");
	CHECK_HAS(out, "ACC: transaction answered: timestamp=");
	CHECK_HAS(out, ";method=INVITE;from_tag=f-1;to_tag=t-9;call_id=acc-1;"
		       "code=200;reason=OK;src_user=alice;"
		       "src_domain=atlanta.example.com;src_ip=192.0.2.10;"
		       "dst_ouser=bob;dst_user=bob;dst_domain=example.com\n");
	CHECK_LACKS(out, "call missed");

	/* a failure is not accounted without failed_transaction_flag */
	out = final_reply(c, 486, "Busy Here", "t-9");
	CHECK_STR(out, "");
	/* ... but a missed call is, with log_missed_flag */
	c->msg_flags = F(1) | F(2);
	out = final_reply(c, 486, "Busy Here", "t-9");
	CHECK_HAS(out, "ACC: call missed: timestamp=");
	CHECK_HAS(out, ";code=486;reason=Busy Here;src_user=alice;");
	CHECK_LACKS(out, "transaction answered");
	/* with failed_transaction_flag too: both lines, missed first */
	c->msg_flags = F(1) | F(2) | F(3);
	out = final_reply(c, 408, "Request Timeout", "");
	CHECK_HAS(out, "ACC: call missed:");
	CHECK_HAS(out, "ACC: transaction answered:");
	CHECK(strstr(out, "call missed") < strstr(out, "transaction answered"));
	/* no reply To tag: the request's (none here) */
	CHECK_HAS(out, ";to_tag=;");
	/* no flag: nothing */
	c->msg_flags = F(5);
	CHECK_STR(final_reply(c, 200, "OK", "t"), "");
	free(c->req);
	free(c);

	/* CANCEL transactions are not accounted (report_cancels 0) */
	c = mk_cell(INVITE_TEXT, SIP_METHOD_CANCEL, F(1));
	CHECK_STR(final_reply(c, 200, "OK", "t"), "");
	free(c->req);
	free(c);

	/* below the log level: nothing */
	osp_log_level = L_WARN;
	c = mk_cell(INVITE_TEXT, SIP_METHOD_INVITE, F(1));
	CHECK_STR(final_reply(c, 200, "OK", "t"), "");
	free(c->req);
	free(c);
}

TEST(failed_filter_and_level)
{
	tm_cell_t *c;
	const char *out;

	osp_log_level = L_INFO;
	stock_params();
	set_str("failed_filter", "404,486");
	set_int("log_level", 2);
	init_ok();
	c = mk_cell(INVITE_TEXT, SIP_METHOD_INVITE, F(1) | F(3));
	CHECK_STR(final_reply(c, 486, "Busy Here", "t"), "");
	out = final_reply(c, 480, "Temporarily Unavailable", "t");
	CHECK_HAS(out, " INFO ");
	CHECK_HAS(out, "ACC: transaction answered:");
	CHECK_HAS(out, ";code=480;reason=Temporarily Unavailable;");
	free(c->req);
	free(c);
}

TEST(refused_settings)
{
	static const struct {
		const char *param;
		const char *why;
	} cases[] = {
	    {"early_media", "final replies only"}, {"report_ack", "ACK"},
	    {"detect_direction", "direction"},	   {"cdr_enable", "dialog"},
	    {"time_mode", "time_mode 0"},
	};

	for (size_t i = 0; i < OSP_ARRAY_LEN(cases); i++) {
		pid_t pid = fork();

		if (pid == 0) {
			const char *out;
			int rc;

			stock_params();
			set_int(cases[i].param, 1);
			cap_start();
			rc = osp_mod_acc.init();
			out = cap_stop();
			CHECK_INT(rc, -1);
			CHECK_HAS(out, cases[i].param);
			CHECK_HAS(out, "not supported");
			CHECK_HAS(out, cases[i].why);
			exit(0);
		}
		int st;

		CHECK(waitpid(pid, &st, 0) == pid);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			UNIT_FAIL("case %s failed", cases[i].param);
	}
}

TEST(refused_values)
{
	const char *out;
	int rc;

	stock_params();
	set_int("log_flag", 40);
	cap_start();
	rc = osp_mod_acc.init();
	out = cap_stop();
	CHECK_INT(rc, -1);
	CHECK_HAS(out, "log_flag 40 is out of range");
}

TEST(refused_mysql_url)
{
	const char *out;
	int rc;

	stock_params();
	set_int("db_flag", 1);
	set_str("db_url", "mysql://kamailio:kamailiorw@localhost/kamailio");
	cap_start();
	rc = osp_mod_acc.init();
	out = cap_stop();
	CHECK_INT(rc, -1);
	CHECK_HAS(out, "SQLite only");
	CHECK_HAS(out, "sqlite:///");
}

TEST(facility)
{
	const char *out;
	int rc;

	stock_params();
	set_str("log_facility", "LOG_LOCAL0");
	init_ok();
	set_str("log_facility", "LOG_NOPE");
	cap_start();
	rc = osp_mod_acc.init();
	out = cap_stop();
	CHECK_INT(rc, -1);
	CHECK_HAS(out, "invalid log_facility \"LOG_NOPE\"");
}

/* Rows of table in the database at path, "a|b|c\n" per row. */
static void db_rows(const char *path, const char *sql, char *out, size_t cap)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	size_t at = 0;

	out[0] = '\0';
	CHECK(sqlite3_open(path, &h) == SQLITE_OK);
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		UNIT_FAIL("%s: %s", sql, sqlite3_errmsg(h));
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const unsigned char *v = sqlite3_column_text(st, i);

			at += (size_t)snprintf(out + at, cap - at, "%s%s",
					       i ? "|" : "",
					       v ? (const char *)v : "NULL");
		}
		at += (size_t)snprintf(out + at, cap - at, "\n");
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
}

TEST(database)
{
	char dir[] = "/tmp/test_acc_XXXXXX", path[128], url[160], rows[2048];
	tm_cell_t *c;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/acc.db", dir);
	snprintf(url, sizeof(url), "sqlite://%s", path);
	osp_log_level = L_WARN;
	stock_params();
	set_int("db_flag", 1);
	set_int("db_missed_flag", 2);
	set_str("db_url", url);
	set_str("db_extra", "src_user=$fU;dst_user=$rU");
	init_ok();
	/* Kamailio's tables, versions and the extra columns */
	db_rows(path,
		"SELECT table_name, table_version FROM version ORDER BY 1",
		rows, sizeof(rows));
	CHECK_STR(rows, "acc|5\nmissed_calls|4\n");

	c = mk_cell(INVITE_TEXT, SIP_METHOD_INVITE, F(1) | F(2));
	final_reply(c, 200, "OK", "t-1");
	final_reply(c, 404, "Not Found", "t-2");
	/* not on a worker: written at once */
	db_rows(path,
		"SELECT method, from_tag, to_tag, callid, sip_code, sip_reason,"
		" src_user, dst_user, length(time) FROM acc ORDER BY id",
		rows, sizeof(rows));
	CHECK_STR(rows, "INVITE|f-1|t-1|acc-1|200|OK|alice|bob|19\n");
	db_rows(path,
		"SELECT method, to_tag, sip_code, sip_reason, src_user "
		"FROM missed_calls",
		rows, sizeof(rows));
	CHECK_STR(rows, "INVITE|t-2|404|Not Found|alice\n");
	free(c->req);
	free(c);
	osp_mod_acc.destroy();

	/* a second start on the same file: tables kept, nothing added */
	memset(rows, 0, sizeof(rows));
	init_ok();
	db_rows(path, "SELECT count(*) FROM acc", rows, sizeof(rows));
	CHECK_STR(rows, "1\n");
	osp_mod_acc.destroy();
	unlink(path);
	snprintf(path, sizeof(path), "%s/acc.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/acc.db-shm", dir);
	unlink(path);
	rmdir(dir);
}

/* ---- KSR.acc.* -------------------------------------------------------- */

static struct {
	arena_t arena;
	sip_msg_t msg;
	ksr_ctx_t ctx;
	char buf[1024];
} rq;

static ksr_ctx_t *mk_request(void)
{
	const char *why = NULL;

	memset(&rq, 0, sizeof(rq));
	strcpy(rq.buf, INVITE_TEXT);
	arena_init(&rq.arena);
	rq.msg.arena = &rq.arena;
	if (sip_msg_parse(&rq.msg, rq.buf, strlen(rq.buf), &why) < 0)
		UNIT_FAIL("parse: %s", why ? why : "?");
	rq.msg.rcv.src.in4.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.10", &rq.msg.rcv.src.in4.sin_addr);
	rq.ctx.msg = &rq.msg;
	return &rq.ctx;
}

static int kcall(const char *fn, const char *a, const char *b, const char **out)
{
	ksr_arg_t args[KSR_PARAMS_MAX];
	ksr_xval_t ret;
	int rc = -100;

	memset(args, 0, sizeof(args));
	args[0].s = str_from(a);
	if (b)
		args[1].s = str_from(b);
	for (const ksr_export_t *e = osp_mod_acc.exports; e->name; e++)
		if (!strcmp(e->name, fn)) {
			cap_start();
			rc = e->fn(mk_request(), args, &ret);
			*out = cap_stop();
			return rc;
		}
	UNIT_FAIL("no export acc.%s", fn);
}

TEST(ksr_functions)
{
	const char *out;

	osp_log_level = L_INFO;
	stock_params();
	init_ok();
	CHECK_INT(kcall("acc_log_request", "404 Not here", NULL, &out), 1);
	CHECK_HAS(out, "ACC: request accounted: timestamp=");
	CHECK_HAS(out, ";method=INVITE;from_tag=f-1;to_tag=;call_id=acc-1;"
		       "code=404;reason=Not here;src_user=alice;");
	/* no code: the whole text is the reason, the code empty */
	CHECK_INT(kcall("acc_log_request", "moved", NULL, &out), 1);
	CHECK_HAS(out, ";code=;reason=moved;");
	/* pseudo-variables are refused, as in Kamailio's KEMI */
	CHECK_INT(kcall("acc_log_request", "$rm", NULL, &out), -1);
	CHECK_HAS(out, "pseudo-variables");
	/* acc_request logs; without db_url that is all */
	CHECK_INT(kcall("acc_request", "200 done", "acc", &out), 1);
	CHECK_HAS(out, ";code=200;reason=done;");
	/* acc_db_request needs a database */
	CHECK_INT(kcall("acc_db_request", "200 done", "acc", &out), -1);
	CHECK_HAS(out, "no database");
}

TEST(ksr_db_request)
{
	char dir[] = "/tmp/test_acc_XXXXXX", path[128], url[160], rows[512];
	const char *out;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/acc.db", dir);
	snprintf(url, sizeof(url), "sqlite://%s", path);
	osp_log_level = L_WARN;
	stock_params();
	set_str("db_url", url);
	set_str("db_extra", "src_user=$fU");
	init_ok();
	CHECK_INT(kcall("acc_db_request", "480 offline", "offline_calls", &out),
		  1);
	db_rows(path,
		"SELECT method, sip_code, sip_reason, src_user FROM "
		"offline_calls",
		rows, sizeof(rows));
	CHECK_STR(rows, "INVITE|480|offline|alice\n");
	/* table names are identifiers */
	CHECK_INT(kcall("acc_db_request", "1", "acc; drop table acc", &out),
		  -1);
	CHECK_HAS(out, "bad table name");
	osp_mod_acc.destroy();
}

/* ---- the loader's map of Kamailio modules ------------------------------ */

TEST(kamailio_module_map)
{
	char err[256];

	/* SQLite is built in: accepted, modparams ignored */
	CHECK_INT(module_is_builtin("db_sqlite.so"), 1);
	CHECK_INT(module_load("/usr/lib/kamailio/modules/db_sqlite.so"), 0);
	CHECK_INT(module_param_set("db_sqlite", "busy_timeout", MP_INT, "1", 1,
				   err, sizeof(err)),
		  0);
	CHECK(module_refusal("db_sqlite") == NULL);
	/* the control-plane modules the core replaces */
	CHECK_INT(module_is_builtin("jsonrpcs.so"), 1);
	CHECK_INT(module_is_builtin("ctl"), 1);
	CHECK_INT(module_is_builtin("kex"), 1);
	CHECK_INT(module_is_builtin("cfg_rpc"), 1);
	CHECK(module_builtin_warning("ctl") == NULL);
	/* debugger: accepted, with a warning */
	CHECK_INT(module_is_builtin("debugger.so"), 1);
	CHECK_HAS(module_builtin_warning("debugger.so"), "no cfg tracing");
	/* refused, with the reason and what to do */
	CHECK_INT(module_is_builtin("db_mysql.so"), 0);
	CHECK_INT(module_load("db_mysql.so"), -1);
	CHECK_HAS(module_refusal("db_mysql.so"), "db_sqlite.so");
	CHECK_HAS(module_refusal("db_mysql.so"), "SQLite only");
	CHECK_HAS(module_refusal("db_text"), "db_sqlite.so");
	CHECK_HAS(module_refusal("tls.so"), "no TLS transport");
	/* kemix is kx, acc is a module of its own */
	CHECK(module_find("kemix.so") != NULL);
	CHECK(module_find("acc.so") == &osp_mod_acc);
	CHECK(module_refusal("acc") == NULL);
	CHECK(module_refusal("nosuchmodule") == NULL);
	CHECK_INT(module_is_builtin("nosuchmodule"), 0);
}

TEST_LIST(TEST_ENTRY(extras_parse), TEST_ENTRY(log_format),
	  TEST_ENTRY(answered_and_missed), TEST_ENTRY(failed_filter_and_level),
	  TEST_ENTRY(refused_settings), TEST_ENTRY(refused_values),
	  TEST_ENTRY(refused_mysql_url), TEST_ENTRY(facility),
	  TEST_ENTRY(database), TEST_ENTRY(ksr_functions),
	  TEST_ENTRY(ksr_db_request), TEST_ENTRY(kamailio_module_map), )
