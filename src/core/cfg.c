/* cfg.c - kamailio.cfg statements: global parameters, loadmodule,
 * modparam, cfgengine, and route blocks kept as token lists.
 *
 * The parser pulls preprocessed tokens one at a time (cfg_pp.c) and
 * applies each statement as soon as it is read, as Kamailio does. A
 * statement ends with ';' or at the end of its line, so two statements on
 * one line need a ';' between them. */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/cfg.h"
#include "core/cfg_int.h"
#include "core/globals.h"
#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "sip/msg.h"

static cfg_file_t *cfg_current;

/* ---- defines ---- */

cfg_define_t *cfg_define_find(const struct cfg_file *cf, const char *name,
			      size_t len)
{
	for (size_t i = 0; i < cf->ndefines; i++) {
		cfg_define_t *d = &cf->defines[i];

		if (strlen(d->name) == len && memcmp(d->name, name, len) == 0)
			return d;
	}
	return NULL;
}

int cfg_define_set(struct cfg_file *cf, const char *name, size_t nlen,
		   const char *value)
{
	cfg_define_t *d = cfg_define_find(cf, name, nlen);
	char *v = cfg_pool_strndup(&cf->pool, value ? value : "",
				   value ? strlen(value) : 0);

	if (!v)
		return -OSP_ENOMEM;
	if (d) {
		d->value = v;
		return 0;
	}
	if (cf->ndefines == cf->capdefines) {
		size_t cap = cf->capdefines ? cf->capdefines * 2 : 64;
		cfg_define_t *nd = realloc(cf->defines, cap * sizeof(*nd));

		if (!nd)
			return -OSP_ENOMEM;
		cf->defines = nd;
		cf->capdefines = cap;
	}
	d = &cf->defines[cf->ndefines];
	d->name = cfg_pool_strndup(&cf->pool, name, nlen);
	if (!d->name)
		return -OSP_ENOMEM;
	d->value = v;
	cf->ndefines++;
	return 0;
}

/* OSPREY, OSPREY_0, OSPREY_0_1, OSPREY_0_1_0 (Kamailio has KAMAILIO_5...),
 * then the -A NAME[=value] defines of the command line. */
static int predefine(cfg_file_t *cf, cfg_err_t *e)
{
	char name[64] = "OSPREY";
	const char *v = OSP_VERSION;
	int rc;

	rc = cfg_define_set(cf, name, strlen(name), "");
	while (rc == 0 && *v) {
		size_t n = strcspn(v, ".");
		size_t len = strlen(name);

		if (len + n + 2 > sizeof(name))
			break;
		name[len] = '_';
		memcpy(name + len + 1, v, n);
		name[len + 1 + n] = '\0';
		rc = cfg_define_set(cf, name, strlen(name), "");
		v += n;
		if (*v == '.')
			v++;
	}
	for (int i = 0; rc == 0 && i < osp_g.n_defines; i++) {
		const char *d = osp_g.defines[i];
		const char *eq = strchr(d, '=');
		size_t n = eq ? (size_t)(eq - d) : strlen(d);

		if (!n || !(isalpha((unsigned char)d[0]) || d[0] == '_') ||
		    strspn(d,
			   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
			   "YZ0123456789_") != n)
			return cfg_error(e, NULL, 0, 0,
					 "-A %s: a define name is made of "
					 "letters, digits and '_'",
					 d);
		rc = cfg_define_set(cf, d, n, eq ? eq + 1 : "");
	}
	return rc;
}

/* ---- parser ---- */

typedef struct parser {
	cfg_pp_t *pp;
	cfg_file_t *cf;
	cfg_err_t *e;
	int apply;
	/* the current statement's tokens, kept for cfg_file_settings_diff */
	int recording;
	char rec[1024];
	size_t rlen;
	char rname[160]; /* the setting's name when not the first word */
} parser_t;

/* A token as shown in a message. */
static const char *show(const cfg_tok_t *t, char *buf, size_t cap)
{
	if (t->kind == CFG_T_EOF)
		snprintf(buf, cap, "end of file");
	else if (t->kind == CFG_T_STR)
		snprintf(buf, cap, "\"%.*s%s\"", t->len > 40 ? 40 : (int)t->len,
			 t->text, t->len > 40 ? "..." : "");
	else
		snprintf(buf, cap, "'%.*s'", t->len > 40 ? 40 : (int)t->len,
			 t->text);
	return buf;
}

static int is_op(const cfg_tok_t *t, const char *op)
{
	return t->kind == CFG_T_OP && strcmp(t->text, op) == 0;
}

static int next(parser_t *P, cfg_tok_t *t)
{
	int rc = cfg_pp_next(P->pp, t);

	if (rc == 0 && P->recording && t->kind != CFG_T_EOF) {
		int n = snprintf(P->rec + P->rlen, sizeof(P->rec) - P->rlen,
				 t->kind == CFG_T_STR ? "%s\"%.*s\"" : "%s%.*s",
				 P->rlen ? " " : "", (int)t->len, t->text);

		if (n > 0)
			P->rlen += (size_t)n;
		if (P->rlen >= sizeof(P->rec))
			P->rlen = sizeof(P->rec) - 1;
	}
	return rc;
}

/* Keep the statement just parsed (its name and tokens) in cf->settings. */
static int add_setting(parser_t *P, const char *name)
{
	cfg_setting_t *st = cfg_pool_alloc(&P->cf->pool, sizeof(*st));

	if (!st)
		return -OSP_ENOMEM;
	st->name = cfg_pool_strndup(&P->cf->pool, name, strlen(name));
	st->value = cfg_pool_strndup(&P->cf->pool, P->rec, P->rlen);
	if (!st->name || !st->value)
		return -OSP_ENOMEM;
	st->next = NULL;
	if (P->cf->settings_tail)
		P->cf->settings_tail->next = st;
	else
		P->cf->settings = st;
	P->cf->settings_tail = st;
	return 0;
}

static int peek(parser_t *P, const cfg_tok_t **t)
{
	return cfg_pp_peek(P->pp, t);
}

/* Consume the operator op or fail with "expected 'op' <context>". */
static int expect_op(parser_t *P, const char *op, const char *context)
{
	cfg_tok_t t;
	char b[64];
	int rc = next(P, &t);

	if (rc < 0)
		return rc;
	if (!is_op(&t, op))
		return cfg_error_tok(P->e, &t, "expected '%s' %s, got %s", op,
				     context, show(&t, b, sizeof(b)));
	return 0;
}

/* A statement ends with ';', a line break or the end of the file. */
static int end_statement(parser_t *P)
{
	const cfg_tok_t *t;
	cfg_tok_t skip;
	char b[64];
	int rc = peek(P, &t);

	if (rc < 0)
		return rc;
	if (is_op(t, ";"))
		return next(P, &skip);
	if (t->kind == CFG_T_EOF || t->space == 2)
		return 0;
	return cfg_error_tok(P->e, t, "expected ';' or a line break before %s",
			     show(t, b, sizeof(b)));
}

/* Skip to the end of the statement (an ignored parameter's value). */
static int skip_statement(parser_t *P)
{
	const cfg_tok_t *p;
	cfg_tok_t t;
	int rc;

	for (;;) {
		rc = peek(P, &p);
		if (rc < 0)
			return rc;
		if (p->kind == CFG_T_EOF || p->space == 2)
			return 0;
		rc = next(P, &t);
		if (rc < 0 || is_op(&t, ";"))
			return rc;
	}
}

static int bool_word(const char *s, long *v)
{
	static const char *const yes[] = {"yes", "true", "on", "enable", NULL};
	static const char *const no[] = {"no", "false", "off", "disable", NULL};

	for (int i = 0; yes[i]; i++)
		if (!strcasecmp(s, yes[i]))
			return *v = 1, 1;
	for (int i = 0; no[i]; i++)
		if (!strcasecmp(s, no[i]))
			return *v = 0, 1;
	return 0;
}

enum { V_INT = 1, V_STR, V_ID };

typedef struct cfg_val {
	int type;
	long i;
	const char *s; /* V_STR, V_ID */
	size_t len;
	cfg_tok_t tok; /* the value's first token */
} cfg_val_t;

/* A scalar value: an integer (maybe signed), a yes/no word (an integer, as
 * in Kamailio), a string, or another identifier. */
static int parse_value(parser_t *P, cfg_val_t *v, const char *what)
{
	const cfg_tok_t *p;
	char b[64];
	int rc = next(P, &v->tok);

	if (rc < 0)
		return rc;
	if (is_op(&v->tok, "-") || is_op(&v->tok, "+")) {
		cfg_tok_t n;
		int neg = v->tok.text[0] == '-';

		if ((rc = peek(P, &p)) < 0)
			return rc;
		if (p->kind != CFG_T_NUM)
			return cfg_error_tok(P->e, &v->tok,
					     "expected a number after '%s' for "
					     "%s",
					     v->tok.text, what);
		if ((rc = next(P, &n)) < 0)
			return rc;
		v->type = V_INT;
		v->i = neg ? -n.num : n.num;
		return 0;
	}
	switch (v->tok.kind) {
	case CFG_T_NUM:
		v->type = V_INT;
		v->i = v->tok.num;
		return 0;
	case CFG_T_STR:
		v->type = V_STR;
		v->s = v->tok.text;
		v->len = v->tok.len;
		return 0;
	case CFG_T_ID:
		if (bool_word(v->tok.text, &v->i)) {
			v->type = V_INT;
			return 0;
		}
		v->type = V_ID;
		v->s = v->tok.text;
		v->len = v->tok.len;
		return 0;
	default:
		return cfg_error_tok(P->e, &v->tok,
				     "expected a value for %s, got %s", what,
				     show(&v->tok, b, sizeof(b)));
	}
}

/* Adjacent tokens glued into one word ("udp:[::1]:5060",
 * "\"sip.example.com\":5060"), string literals by their value. Stops at a
 * blank, a line break or ';'. */
static int parse_word(parser_t *P, char *out, size_t cap, cfg_tok_t *first,
		      const char *what)
{
	const cfg_tok_t *p;
	cfg_tok_t t;
	size_t n = 0;
	char b[64];
	int rc;

	for (;;) {
		if ((rc = next(P, &t)) < 0)
			return rc;
		if (n == 0) {
			*first = t;
			if (t.kind == CFG_T_EOF || is_op(&t, ";") ||
			    t.space == 2)
				return cfg_error_tok(
				    P->e, &t, "expected %s, got %s", what,
				    show(&t, b, sizeof(b)));
		}
		if (n + t.len >= cap)
			return cfg_error_tok(P->e, first, "%s is too long",
					     what);
		memcpy(out + n, t.text, t.len);
		n += t.len;
		out[n] = '\0';
		if ((rc = peek(P, &p)) < 0)
			return rc;
		if (p->space || p->kind == CFG_T_EOF || is_op(p, ";"))
			return 0;
	}
}

static int proto_from_name(const char *s, size_t n)
{
	static const struct {
		const char *name;
		int proto;
	} protos[] = {{"udp", SIP_PROTO_UDP},
		      {"tcp", SIP_PROTO_TCP},
		      {"tls", SIP_PROTO_TLS},
		      {"sctp", SIP_PROTO_SCTP},
		      {"ws", SIP_PROTO_WS},
		      {"wss", SIP_PROTO_WSS},
		      {NULL, 0}};

	for (int i = 0; protos[i].name; i++)
		if (strlen(protos[i].name) == n &&
		    !strncasecmp(protos[i].name, s, n))
			return protos[i].proto;
	return 0;
}

/* "[proto:]host[:port]", host an IPv4 address, a name, an interface name or
 * an IPv6 address ("[::1]", or bare when there is no port). */
static int parse_hostport(parser_t *P, const char *text, const cfg_tok_t *at,
			  int allow_proto, const char *what, int *proto,
			  char *host, size_t hostcap, int *port)
{
	const char *p = text, *colon = strchr(text, ':'), *h, *ps = NULL;
	size_t hn;

	*proto = 0;
	*port = 0;
	if (allow_proto && colon && proto_from_name(p, colon - p)) {
		*proto = proto_from_name(p, colon - p);
		p = colon + 1;
	}
	if (*p == '[') {
		const char *end = strchr(p, ']');

		if (!end)
			return cfg_error_tok(
			    P->e, at, "%s: missing ']' in '%s'", what, text);
		h = p + 1;
		hn = end - h;
		if (end[1] == ':')
			ps = end + 2;
		else if (end[1])
			return cfg_error_tok(P->e, at,
					     "%s: unexpected text after ']' in "
					     "'%s'",
					     what, text);
	} else {
		const char *c1 = strchr(p, ':');

		h = p;
		hn = strlen(p);
		if (c1 && !strchr(c1 + 1, ':')) {
			hn = c1 - p;
			ps = c1 + 1;
		}
	}
	if (!hn)
		return cfg_error_tok(P->e, at, "%s: no address in '%s'", what,
				     text);
	if (hn >= hostcap)
		return cfg_error_tok(P->e, at, "%s: address too long in '%s'",
				     what, text);
	for (size_t i = 0; i < hn; i++)
		if (!isalnum((unsigned char)h[i]) && !strchr(".-_:*%", h[i]))
			return cfg_error_tok(P->e, at,
					     "%s: invalid character '%c' in "
					     "address '%s'",
					     what, h[i], text);
	memcpy(host, h, hn);
	host[hn] = '\0';
	if (ps) {
		char *end;
		long v = strtol(ps, &end, 10);

		if (!*ps || *end || !isdigit((unsigned char)*ps) || v < 1 ||
		    v > 65535)
			return cfg_error_tok(P->e, at,
					     "%s: invalid port '%s' in '%s'",
					     what, ps, text);
		*port = (int)v;
	}
	return 0;
}

/* Is the next token on the same line and not the end of the statement? */
static int more_on_line(parser_t *P, const cfg_tok_t **p)
{
	int rc = peek(P, p);

	if (rc < 0)
		return rc;
	return (*p)->kind != CFG_T_EOF && (*p)->space != 2 && !is_op(*p, ";");
}

/* listen = [proto:]addr[:port] [advertise addr[:port]] [name "x"]
 * [virtual] ..., several entries allowed on one line. */
static int gp_listen(parser_t *P, const cfg_tok_t *name)
{
	const cfg_tok_t *p;
	cfg_tok_t first, kw;
	char word[256];
	int rc;

	do {
		osp_listen_spec_t spec;
		int adv_proto;

		memset(&spec, 0, sizeof(spec));
		rc = parse_word(P, word, sizeof(word), &first,
				"proto:address:port");
		if (rc < 0)
			return rc;
		rc = parse_hostport(P, word, &first, 1, "listen", &spec.proto,
				    spec.host, sizeof(spec.host), &spec.port);
		if (rc < 0)
			return rc;
		while ((rc = more_on_line(P, &p)) > 0 && p->kind == CFG_T_ID &&
		       (!strcasecmp(p->text, "advertise") ||
			!strcmp(p->text, "name") ||
			!strcmp(p->text, "virtual"))) {
			if ((rc = next(P, &kw)) < 0)
				return rc;
			if (!strcasecmp(kw.text, "advertise")) {
				rc = parse_word(P, word, sizeof(word), &first,
						"address[:port] after "
						"advertise");
				if (rc < 0)
					return rc;
				rc = parse_hostport(
				    P, word, &first, 0, "advertise", &adv_proto,
				    spec.adv_host, sizeof(spec.adv_host),
				    &spec.adv_port);
				if (rc < 0)
					return rc;
			} else if (!strcmp(kw.text, "name")) {
				cfg_tok_t s;

				if ((rc = next(P, &s)) < 0)
					return rc;
				if (s.kind != CFG_T_STR)
					return cfg_error_tok(
					    P->e, &s,
					    "listen: expected a string "
					    "after name");
				LOG_DBG("%s:%d: listen socket name \"%s\" "
					"ignored",
					s.file, s.line, s.text);
			}
		}
		if (rc < 0)
			return rc;
		if (osp_g.n_listen >= OSP_MAX_LISTEN)
			return cfg_error_tok(
			    P->e, &first, "too many listen addresses (max %d)",
			    OSP_MAX_LISTEN);
		if (P->apply)
			osp_g.listen[osp_g.n_listen++] = spec;
	} while ((rc = more_on_line(P, &p)) > 0);
	(void)name;
	return rc < 0 ? rc : 0;
}

/* alias = host[:port] ..., stored as "host" or "host:port" ("[v6]:port");
 * a proto prefix is accepted and dropped. */
static int gp_alias(parser_t *P, const cfg_tok_t *name)
{
	const cfg_tok_t *p;
	cfg_tok_t first;
	char word[256], host[128], out[160];
	int rc, proto, port;

	do {
		rc = parse_word(P, word, sizeof(word), &first, "host[:port]");
		if (rc < 0)
			return rc;
		rc = parse_hostport(P, word, &first, 1, "alias", &proto, host,
				    sizeof(host), &port);
		if (rc < 0)
			return rc;
		if (strchr(host, ':'))
			snprintf(out, sizeof(out), port ? "[%s]:%d" : "[%s]",
				 host, port);
		else if (port)
			snprintf(out, sizeof(out), "%s:%d", host, port);
		else
			snprintf(out, sizeof(out), "%s", host);
		if (osp_g.n_alias >= OSP_MAX_ALIAS)
			return cfg_error_tok(P->e, &first,
					     "too many aliases (max %d)",
					     OSP_MAX_ALIAS);
		if (P->apply) {
			char *dup = strdup(out);

			if (!dup)
				return -OSP_ENOMEM;
			osp_g.alias[osp_g.n_alias++] = dup;
		}
	} while ((rc = more_on_line(P, &p)) > 0);
	(void)name;
	return rc < 0 ? rc : 0;
}

static int set_str(parser_t *P, char **dst, const char *s)
{
	char *dup;

	if (!P->apply)
		return 0;
	dup = strdup(s);
	if (!dup)
		return -OSP_ENOMEM;
	*dst = dup; /* the previous value may be a literal: not freed */
	return 0;
}

static int get_int(parser_t *P, const cfg_tok_t *name, long min, long max,
		   long *out)
{
	cfg_val_t v;
	char b[64];
	int rc = parse_value(P, &v, name->text);

	if (rc < 0)
		return rc;
	if (v.type != V_INT)
		return cfg_error_tok(P->e, &v.tok,
				     "%s expects a number, got %s", name->text,
				     show(&v.tok, b, sizeof(b)));
	if (v.i < min || v.i > max)
		return cfg_error_tok(P->e, &v.tok,
				     "%s must be between %ld and %ld, got %ld",
				     name->text, min, max, v.i);
	*out = v.i;
	return 0;
}

static int get_str(parser_t *P, const cfg_tok_t *name, int allow_id,
		   cfg_val_t *v)
{
	char b[64];
	int rc = parse_value(P, v, name->text);

	if (rc < 0)
		return rc;
	if (v->type != V_STR && !(allow_id && v->type == V_ID))
		return cfg_error_tok(P->e, &v->tok,
				     "%s expects a string in quotes, got %s",
				     name->text, show(&v->tok, b, sizeof(b)));
	return 0;
}

static int gp_debug(parser_t *P, const cfg_tok_t *name)
{
	long v = 0;
	int rc = get_int(P, name, -5, 10, &v);

	if (rc < 0 || !P->apply)
		return rc;
	osp_g.log_level = (int)v;
	osp_log_level = (int)v;
	return 0;
}

static int gp_tcp_connect_timeout(parser_t *P, const cfg_tok_t *name)
{
	long v = 0;
	int rc = get_int(P, name, 1, 3600, &v);

	if (rc < 0 || !P->apply)
		return rc;
	osp_g.tcp_connect_timeout = (int)(v * 1000);
	return 0;
}

/* server_header / user_agent_header: a whole header line, as Kamailio. */
static int header_param(parser_t *P, const cfg_tok_t *name, const char *hdr,
			char **dst, int *enable)
{
	cfg_val_t v;
	int rc = get_str(P, name, 0, &v);

	if (rc < 0)
		return rc;
	if (strncasecmp(v.s, hdr, strlen(hdr)) != 0 ||
	    v.s[strlen(hdr)] != ':' || strpbrk(v.s, "\r\n"))
		return cfg_error_tok(P->e, &v.tok,
				     "%s must be a whole header on one line, "
				     "e.g. \"%s: Osprey\"",
				     name->text, hdr);
	rc = set_str(P, dst, v.s);
	if (rc == 0 && P->apply)
		*enable = 1;
	return rc;
}

static int gp_server_header(parser_t *P, const cfg_tok_t *name)
{
	return header_param(P, name, "Server", &osp_g.server_signature_str,
			    &osp_g.server_header);
}

static int gp_user_agent_header(parser_t *P, const cfg_tok_t *name)
{
	return header_param(P, name, "User-Agent", &osp_g.user_agent_str,
			    &osp_g.user_agent_header);
}

enum {
	GP_INT,	    /* int field in osp_g, min..max */
	GP_BOOL,    /* int field, 0 or 1 */
	GP_STR,	    /* char * field */
	GP_FN,	    /* own parser */
	GP_IGNORED, /* accepted, no effect by design */
	GP_UNSUP,   /* accepted with a warning: not supported */
};

typedef struct gparam {
	const char *name;
	int kind;
	size_t off;
	long min, max;
	int (*fn)(parser_t *P, const cfg_tok_t *name);
} gparam_t;

#define G_INT(n, f, lo, hi)                                                    \
	{                                                                      \
		n, GP_INT, offsetof(osp_globals_t, f), lo, hi, NULL            \
	}
#define G_BOOL(n, f)                                                           \
	{                                                                      \
		n, GP_BOOL, offsetof(osp_globals_t, f), 0, 0, NULL             \
	}
#define G_STR(n, f)                                                            \
	{                                                                      \
		n, GP_STR, offsetof(osp_globals_t, f), 0, 0, NULL              \
	}
#define G_FN(n, fn)                                                            \
	{                                                                      \
		n, GP_FN, 0, 0, 0, fn                                          \
	}

static const gparam_t gparams[] = {
    G_FN("listen", gp_listen),
    G_INT("port", port, 1, 65535),
    G_INT("children", workers, 0, 1024),
    G_FN("debug", gp_debug),
    G_FN("log_level", gp_debug),
    G_STR("log_prefix", log_prefix),
    G_FN("alias", gp_alias),
    G_FN("server_header", gp_server_header),
    G_BOOL("server_signature", server_header),
    G_FN("user_agent_header", gp_user_agent_header),
    G_INT("tcp_connection_lifetime", tcp_idle, 0, 1 << 30),
    G_INT("tcp_max_msg_size", tcp_max_msg, 1024, 64 << 20),
    G_FN("tcp_connect_timeout", gp_tcp_connect_timeout),
    G_INT("udp_max_msg_size", udp_max_msg, 512, 65535),
    G_STR("rpc_socket", rpc_socket),
    G_STR("rpc_socket_group", rpc_group),
    G_BOOL("auto_aliases", auto_aliases),
    G_BOOL("disable_tcp", disable_tcp),
    G_BOOL("tcp_accept_no_cl", tcp_accept_no_cl),
    G_BOOL("sip_warning", sip_warning),
    G_STR("rundir", run_dir),
    G_STR("run_dir", run_dir),
    {NULL, 0, 0, 0, 0, NULL},
};

/* Kamailio parameters with no meaning in Osprey: accepted, ignored. */
static const char ignored_params[] =
    "log_stderror log_facility log_name log_color log_prefix_mode "
    "log_engine_type log_engine_data fork fork_delay modinit_delay "
    "memdbg mem_dbg memlog mem_log mem_summary mem_safety mem_join "
    "mem_status_mode corelog core_log latency_cfg_log latency_log "
    "latency_limit_db latency_limit_action latency_limit_cfg "
    "tcp_children socket_workers async_workers async_usleep "
    "async_nonblock maxbuffer sql_buffer_size shm shm_mem shm_mem_size "
    "shm_force_alloc mlock_pages open_files_limit workdir wdir dns "
    "rev_dns dns_try_ipv6 dns_try_naptr dns_srv_lb "
    "dns_srv_loadbalancing dns_udp_pref dns_udp_preference dns_tcp_pref"
    " dns_tcp_preference dns_tls_pref dns_tls_preference dns_sctp_pref "
    "dns_sctp_preference dns_retr_time dns_slow_query_ms dns_retr_no "
    "dns_servers_no dns_use_search_list dns_search_full_match "
    "dns_naptr_ignore_rfc dns_cache_init use_dns_cache use_dns_failover"
    " dns_cache_flags dns_cache_negative_ttl dns_cache_min_ttl "
    "dns_cache_max_ttl dns_cache_mem dns_cache_gc_interval "
    "dns_cache_del_nonexp dns_cache_delete_nonexpired "
    "dns_cache_rec_pref tcp_rd_buf_size tcp_wq_blk_size tcp_conn_wq_max"
    " tcp_wq_max tcp_fd_cache tcp_buf_write tcp_async tcp_defer_accept "
    "tcp_delayed_ack tcp_syncnt tcp_linger2 tcp_keepalive tcp_keepidle "
    "tcp_keepintvl tcp_keepcnt tcp_crlf_ping tcp_poll_method "
    "tcp_max_connections tls_max_connections tcp_send_timeout "
    "tcp_clone_rcvbuf tcp_reuse_port tcp_accept_aliases "
    "tcp_accept_unique tcp_connection_match max_while_loops "
    "pv_buffer_size pv_buffer_slots pv_cache_limit pv_cache_action "
    "version_table verbose_startup route_locks_size max_recursive_level"
    " max_branches statistics exit_timeout ser_kill_timeout "
    "disable_core_dump real_time rt_prio rt_policy rt_timer1_prio "
    "rt_fast_timer_prio rt_ftimer_prio rt_timer1_policy "
    "rt_ftimer_policy rt_timer2_prio rt_stimer_prio rt_timer2_policy "
    "rt_stimer_policy check_via phone2tel xavp_via_params "
    "xavp_via_fields mcast_loopback mcast_ttl mcast tos pmtu_discovery "
    "http_reply_parse http_reply_hack msg_time onsend_route_reply "
    "uri_host_extra_chars ip_free_bind ipfreebind ip_nonlocal_bind "
    "auto_bind_ipv6 bind_ipv6_link_local dst_blacklist_init "
    "use_dst_blacklist dst_blacklist_mem dst_blacklist_expire "
    "dst_blacklist_ttl dst_blacklist_gc_interval "
    "dst_blacklist_udp_imask dst_blacklist_tcp_imask "
    "dst_blacklist_tls_imask dst_blacklist_sctp_imask udp_mtu "
    "udp_mtu_try_proto udp4_raw udp4_raw_mtu udp4_raw_ttl enable_sctp "
    "disable_sctp sctp_children server_id reply_to_via mhomed ";

/* Kamailio parameters for something Osprey does not do: accepted with a
 * warning (unless the value is off). */
static const char unsupported_params[] =
    "user uid group gid chroot advertised_address advertised_port "
    "enable_tls tls_enable disable_tls tls_disable tlslog tls_log "
    "tls_port_no tls_method tls_verify tls_require_certificate "
    "tls_certificate tls_private_key tls_ca_list tls_handshake_timeout "
    "tls_send_timeout tcp_no_connect tcp_source_ipv4 tcp_source_ipv6 "
    "tcp_accept_haproxy tcp_accept_hep3 ";

/* Is name one of the blank-separated words of list? */
static int in_word_list(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return 1;
	return 0;
}

static const gparam_t *gparam_find(const char *name)
{
	static const gparam_t ign = {NULL, GP_IGNORED, 0, 0, 0, NULL};
	static const gparam_t uns = {NULL, GP_UNSUP, 0, 0, 0, NULL};

	for (const gparam_t *g = gparams; g->name; g++)
		if (!strcmp(g->name, name))
			return g;
	if (in_word_list(ignored_params, name))
		return &ign;
	if (in_word_list(unsupported_params, name))
		return &uns;
	return NULL;
}

/* kemi.<name> = "function" */
static int kemi_param(parser_t *P, const cfg_tok_t *sub)
{
	static const struct {
		const char *name;
		size_t off;
	} kp[] = {
	    {"reply_route_callback", offsetof(osp_globals_t, reply_route_cb)},
	    {"onsend_route_callback", offsetof(osp_globals_t, onsend_route_cb)},
	    {"event_route_callback", offsetof(osp_globals_t, event_route_cb)},
	    {NULL, 0},
	};
	cfg_val_t v;
	int rc;

	for (int i = 0; kp[i].name; i++) {
		char **dst;

		if (strcmp(kp[i].name, sub->text) != 0)
			continue;
		if ((rc = get_str(P, sub, 0, &v)) < 0)
			return rc;
		dst = (char **)((char *)&osp_g + kp[i].off);
		/* "" and "none" switch the callback off, as in Kamailio */
		if (!v.s[0] || !strcmp(v.s, "none")) {
			if (P->apply)
				*dst = NULL;
			return 0;
		}
		return set_str(P, dst, v.s);
	}
	if (!strcmp(sub->text, "received_route_callback") ||
	    !strcmp(sub->text, "received_route_mode") ||
	    !strcmp(sub->text, "pre_routing_callback")) {
		LOG_WARN("%s:%d: global parameter 'kemi.%s' is not supported "
			 "by Osprey (ignored)",
			 sub->file, sub->line, sub->text);
		return skip_statement(P);
	}
	return cfg_error_tok(P->e, sub, "unknown global parameter 'kemi.%s'",
			     sub->text);
}

/* group.name = value [desc "text"]: Kamailio's custom cfg variables. */
static int custom_param(parser_t *P, const cfg_tok_t *group,
			const cfg_tok_t *sub)
{
	const cfg_tok_t *p;
	cfg_custom_var_t *var;
	cfg_val_t v;
	cfg_tok_t d;
	char b[64];
	int rc = parse_value(P, &v, sub->text);

	if (rc < 0)
		return rc;
	if (v.type != V_INT && v.type != V_STR)
		return cfg_error_tok(P->e, &v.tok,
				     "%s.%s expects a number or a string, got "
				     "%s",
				     group->text, sub->text,
				     show(&v.tok, b, sizeof(b)));
	if ((rc = peek(P, &p)) < 0)
		return rc;
	if (p->kind == CFG_T_ID && p->space != 2 &&
	    (!strcmp(p->text, "desc") || !strcmp(p->text, "descr") ||
	     !strcmp(p->text, "description"))) {
		if ((rc = next(P, &d)) < 0 || (rc = next(P, &d)) < 0)
			return rc;
		if (d.kind != CFG_T_STR)
			return cfg_error_tok(P->e, &d,
					     "expected a description in quotes "
					     "after desc");
	}
	var = cfg_pool_alloc(&P->cf->pool, sizeof(*var));
	if (!var)
		return -OSP_ENOMEM;
	var->name = cfg_pool_alloc(&P->cf->pool, group->len + sub->len + 2);
	if (!var->name)
		return -OSP_ENOMEM;
	sprintf(var->name, "%s.%s", group->text, sub->text);
	var->sval = NULL;
	var->ival = v.i;
	if (v.type == V_STR) {
		var->sval = cfg_pool_strndup(&P->cf->pool, v.s, v.len);
		if (!var->sval)
			return -OSP_ENOMEM;
	}
	var->next = P->cf->custom;
	P->cf->custom = var;
	return 0;
}

/* name = value, the name already read. */
static int parse_assign(parser_t *P, const cfg_tok_t *name)
{
	const gparam_t *g;
	const cfg_tok_t *p;
	cfg_tok_t sub;
	cfg_val_t v;
	long i = 0;
	int rc;

	if ((rc = peek(P, &p)) < 0)
		return rc;
	if (is_op(p, ".")) {
		if ((rc = next(P, &sub)) < 0 || (rc = next(P, &sub)) < 0)
			return rc;
		if (sub.kind != CFG_T_ID)
			return cfg_error_tok(P->e, &sub,
					     "expected a name after '%s.'",
					     name->text);
		snprintf(P->rname, sizeof(P->rname), "%s.%s", name->text,
			 sub.text);
		if ((rc = expect_op(P, "=", "after the parameter name")) < 0)
			return rc;
		if (!strcmp(name->text, "kemi"))
			rc = kemi_param(P, &sub);
		else
			rc = custom_param(P, name, &sub);
		return rc < 0 ? rc : end_statement(P);
	}
	g = gparam_find(name->text);
	if (!g)
		return cfg_error_tok(
		    P->e, name, "unknown global parameter '%s'", name->text);
	if ((rc = expect_op(P, "=", "after the parameter name")) < 0)
		return rc;
	switch (g->kind) {
	case GP_INT:
		if ((rc = get_int(P, name, g->min, g->max, &i)) < 0)
			return rc;
		if (P->apply)
			*(int *)((char *)&osp_g + g->off) = (int)i;
		break;
	case GP_BOOL:
		if ((rc = get_int(P, name, 0, 1 << 30, &i)) < 0)
			return rc;
		if (P->apply)
			*(int *)((char *)&osp_g + g->off) = i != 0;
		break;
	case GP_STR:
		if ((rc = get_str(P, name, 0, &v)) < 0)
			return rc;
		if ((rc = set_str(P, (char **)((char *)&osp_g + g->off), v.s)) <
		    0)
			return rc;
		break;
	case GP_FN:
		if ((rc = g->fn(P, name)) < 0)
			return rc;
		break;
	case GP_IGNORED:
		LOG_DBG("%s:%d: global parameter '%s' accepted and ignored",
			name->file, name->line, name->text);
		return skip_statement(P);
	default:
		/* "enable_tls=no" asks for nothing Osprey lacks: no warning */
		if ((rc = peek(P, &p)) < 0)
			return rc;
		if (!((p->kind == CFG_T_NUM && p->num == 0) ||
		      (p->kind == CFG_T_ID && bool_word(p->text, &i) && !i)))
			LOG_WARN("%s:%d: global parameter '%s' is not "
				 "supported by Osprey (ignored)",
				 name->file, name->line, name->text);
		return skip_statement(P);
	}
	return end_statement(P);
}

/* loadmodule "name" | "name.so" | "/path/name.so": known module names are
 * the compiled-in ones. Applied at once (before the next line is read) so
 * that MOD_name is defined for a following #!ifdef. */
static int parse_loadmodule(parser_t *P, const cfg_tok_t *kw)
{
	const osp_module_t *m;
	const cfg_tok_t *p;
	cfg_tok_t t;
	char def[96];
	int rc;

	if ((rc = peek(P, &p)) < 0)
		return rc;
	if (is_op(p, "=") && (rc = next(P, &t)) < 0)
		return rc;
	if ((rc = next(P, &t)) < 0)
		return rc;
	if (t.kind != CFG_T_STR)
		return cfg_error_tok(P->e, &t,
				     "loadmodule: expected the module name in "
				     "quotes");
	snprintf(P->rname, sizeof(P->rname), "loadmodule \"%s\"", t.text);
	m = module_find(t.text);
	/* Kamailio modules whose job the core does: accepted, nothing to do */
	if (!m && module_is_builtin(t.text)) {
		if (P->apply && module_builtin_warning(t.text))
			LOG_WARN("%s:%d: %s", t.file, t.line,
				 module_builtin_warning(t.text));
		return end_statement(P);
	}
	if (!m && module_refusal(t.text))
		return cfg_error_tok(P->e, &t, "%s", module_refusal(t.text));
	if (!m)
		return cfg_error_tok(
		    P->e, &t, "unknown module '%s' in loadmodule", t.text);
	if (P->apply && module_load(t.text) < 0)
		return cfg_error_tok(
		    P->e, &t, "unknown module '%s' in loadmodule", t.text);
	snprintf(def, sizeof(def), "MOD_%s", m->name);
	if (!cfg_define_find(P->cf, def, strlen(def)) &&
	    (rc = cfg_define_set(P->cf, def, strlen(def), "")) < 0)
		return rc;
	(void)kw;
	return end_statement(P);
}

/* mpath / loadpath [=] "dir": accepted, modules are compiled in. */
static int parse_mpath(parser_t *P)
{
	const cfg_tok_t *p;
	cfg_tok_t t;
	int rc;

	if ((rc = peek(P, &p)) < 0)
		return rc;
	if (is_op(p, "=") && (rc = next(P, &t)) < 0)
		return rc;
	if ((rc = next(P, &t)) < 0)
		return rc;
	if (t.kind != CFG_T_STR)
		return cfg_error_tok(P->e, &t,
				     "mpath: expected a directory in quotes");
	LOG_DBG("%s:%d: mpath \"%s\" ignored: modules are compiled in", t.file,
		t.line, t.text);
	return end_statement(P);
}

/* cfgengine "lua" | cfgengine = "lua" */
static int parse_cfgengine(parser_t *P)
{
	const cfg_tok_t *p;
	cfg_tok_t t;
	int rc;

	if ((rc = peek(P, &p)) < 0)
		return rc;
	if (is_op(p, "=") && (rc = next(P, &t)) < 0)
		return rc;
	if ((rc = next(P, &t)) < 0)
		return rc;
	if ((t.kind != CFG_T_STR && t.kind != CFG_T_ID) || !t.len)
		return cfg_error_tok(P->e, &t,
				     "cfgengine: expected an engine name in "
				     "quotes, e.g. cfgengine \"lua\"");
	if ((rc = set_str(P, &osp_g.engine, t.text)) < 0)
		return rc;
	return end_statement(P);
}

/* Does the (loaded, in this parse) module have this parameter? */
static const osp_param_t *param_find(const osp_module_t *m, const char *name)
{
	for (const osp_param_t *p = m->params; p && p->name; p++)
		if (!strcasecmp(p->name, name))
			return p;
	return NULL;
}

static int modparam_one(parser_t *P, const char *mod, const cfg_tok_t *mtok,
			const cfg_tok_t *ptok, const cfg_val_t *v)
{
	const osp_module_t *m = module_find(mod);
	char def[96], num[32], msg[256];
	int loaded;

	if (!m && module_is_builtin(mod)) {
		LOG_DBG("%s:%d: modparam of %s ignored: the core does its job",
			mtok->file, mtok->line, mod);
		return 0;
	}
	if (!m)
		return cfg_error_tok(P->e, mtok,
				     "unknown module '%s' in modparam", mod);
	snprintf(def, sizeof(def), "MOD_%s", m->name);
	loaded = P->apply
		     ? m->loaded || m->always
		     : m->always || cfg_define_find(P->cf, def, strlen(def));
	if (!loaded)
		return cfg_error_tok(P->e, mtok,
				     "modparam: module '%s' is not loaded "
				     "(loadmodule \"%s.so\" must come first)",
				     m->name, m->name);
	if (!param_find(m, ptok->text))
		return cfg_error_tok(P->e, ptok,
				     "modparam: module '%s' has no parameter "
				     "'%s'",
				     m->name, ptok->text);
	if (!P->apply)
		return 0;
	snprintf(num, sizeof(num), "%ld", v->i);
	msg[0] = '\0';
	if (module_param_set(
		m->name, ptok->text, v->type == V_INT ? MP_INT : MP_STR,
		v->type == V_INT ? num : v->s, v->i, msg, sizeof(msg)) < 0)
		return cfg_error_tok(P->e, &v->tok, "%s",
				     msg[0] ? msg : "modparam: bad value");
	return 0;
}

/* modparam("module", "param", value); the module may be a list "a|b", as
 * in Kamailio (where it is a regular expression). */
static int parse_modparam(parser_t *P, const cfg_tok_t *kw)
{
	cfg_tok_t mtok, ptok;
	cfg_val_t v;
	char b[64];
	const char *s;
	int rc;

	if ((rc = expect_op(P, "(", "after modparam")) < 0)
		return rc;
	if ((rc = next(P, &mtok)) < 0)
		return rc;
	if (mtok.kind != CFG_T_STR)
		return cfg_error_tok(P->e, &mtok,
				     "modparam: expected the module name in "
				     "quotes, got %s",
				     show(&mtok, b, sizeof(b)));
	if ((rc = expect_op(P, ",", "after the module name")) < 0)
		return rc;
	if ((rc = next(P, &ptok)) < 0)
		return rc;
	if (ptok.kind != CFG_T_STR)
		return cfg_error_tok(P->e, &ptok,
				     "modparam: expected the parameter name in "
				     "quotes, got %s",
				     show(&ptok, b, sizeof(b)));
	if ((rc = expect_op(P, ",", "after the parameter name")) < 0)
		return rc;
	if ((rc = parse_value(P, &v, "modparam")) < 0)
		return rc;
	if (v.type == V_ID)
		return cfg_error_tok(P->e, &v.tok,
				     "modparam: expected a string or a number, "
				     "got '%s' (not a defined name)",
				     v.s);
	if ((rc = expect_op(P, ")", "at the end of modparam")) < 0)
		return rc;
	snprintf(P->rname, sizeof(P->rname), "modparam(\"%s\", \"%s\")",
		 mtok.text, ptok.text);
	s = mtok.text;
	for (;;) {
		size_t n = strcspn(s, "|");
		char mod[64];

		while (n && isspace((unsigned char)*s))
			s++, n--;
		snprintf(mod, sizeof(mod), "%.*s", (int)n, s);
		while (*mod && isspace((unsigned char)mod[strlen(mod) - 1]))
			mod[strlen(mod) - 1] = '\0';
		if ((rc = modparam_one(P, mod, &mtok, &ptok, &v)) < 0)
			return rc;
		s += n;
		if (!*s)
			break;
		s++;
	}
	(void)kw;
	return end_statement(P);
}

/* ---- route blocks ---- */

static const struct {
	const char *kw;
	cfg_route_type_t type;
	int name; /* 0 none, 1 optional, 2 required */
} route_kws[] = {
    {"request_route", CFG_RT_REQUEST, 0},
    {"route", CFG_RT_ROUTE, 1},
    {"branch_route", CFG_RT_BRANCH, 2},
    {"failure_route", CFG_RT_FAILURE, 2},
    {"onreply_route", CFG_RT_ONREPLY, 1},
    {"reply_route", CFG_RT_REPLY, 0},
    {"onsend_route", CFG_RT_ONSEND, 0},
    {"event_route", CFG_RT_EVENT, 2},
    {NULL, 0, 0},
};

const char *cfg_route_type_name(cfg_route_type_t type)
{
	for (int i = 0; route_kws[i].kw; i++)
		if (route_kws[i].type == type)
			return route_kws[i].kw;
	return "?";
}

static int route_kw(const cfg_tok_t *t)
{
	if (t->kind != CFG_T_ID)
		return -1;
	for (int i = 0; route_kws[i].kw; i++)
		if (!strcmp(route_kws[i].kw, t->text))
			return i;
	return -1;
}

static const cfg_route_t *route_find_in(const cfg_file_t *cf,
					cfg_route_type_t type, const char *name)
{
	for (const cfg_route_t *r = cf ? cf->routes : NULL; r; r = r->next)
		if (r->type == type &&
		    ((!r->name && !name) ||
		     (r->name && name && !strcmp(r->name, name))))
			return r;
	return NULL;
}

/* The name between [ and ]: its tokens glued ("tm:local-request"). */
static int route_name(parser_t *P, const char *kw, char **out)
{
	cfg_tok_t t, open;
	char buf[256];
	size_t n = 0;
	int rc;

	if ((rc = next(P, &open)) < 0)
		return rc;
	for (;;) {
		if ((rc = next(P, &t)) < 0)
			return rc;
		if (is_op(&t, "]"))
			break;
		if (t.kind == CFG_T_EOF || is_op(&t, "[") || is_op(&t, "{") ||
		    is_op(&t, "}") || is_op(&t, ";"))
			return cfg_error_tok(
			    P->e, &open, "%s: missing ']' after the name", kw);
		if (n + t.len >= sizeof(buf))
			return cfg_error_tok(P->e, &open, "%s: name too long",
					     kw);
		memcpy(buf + n, t.text, t.len);
		n += t.len;
	}
	if (!n)
		return cfg_error_tok(P->e, &open, "%s: empty name", kw);
	*out = cfg_pool_strndup(&P->cf->pool, buf, n);
	return *out ? 0 : -OSP_ENOMEM;
}

/* route_kw[NAME] { tokens }: the body is stored, not interpreted. */
static int parse_route(parser_t *P, const cfg_tok_t *kw, int k)
{
	const cfg_tok_t *p;
	cfg_tok_t open, t, *toks = NULL;
	const cfg_route_t *dup;
	cfg_route_t *r;
	cfg_route_type_t type = route_kws[k].type;
	char *name = NULL, b[64];
	size_t n = 0, cap = 0;
	int rc, depth = 1;

	if ((rc = peek(P, &p)) < 0)
		return rc;
	if (is_op(p, "[")) {
		if (route_kws[k].name == 0)
			return cfg_error_tok(P->e, p,
					     "%s takes no name: %s { ... }",
					     kw->text, kw->text);
		if ((rc = route_name(P, kw->text, &name)) < 0)
			return rc;
	} else if (route_kws[k].name == 2) {
		return cfg_error_tok(P->e, kw,
				     "%s needs a name: %s[NAME] { ... }",
				     kw->text, kw->text);
	}
	/* route { }, route[0] { }: the request route, as in Kamailio;
	 * onreply_route[0] is the unnamed one */
	if (type == CFG_RT_ROUTE && (!name || !strcmp(name, "0"))) {
		type = CFG_RT_REQUEST;
		name = NULL;
	} else if (type == CFG_RT_ONREPLY && name && !strcmp(name, "0")) {
		name = NULL;
	}
	if ((rc = next(P, &open)) < 0)
		return rc;
	if (!is_op(&open, "{"))
		return cfg_error_tok(
		    P->e, &open, "expected '{' after %s%s%s%s, got %s",
		    kw->text, name ? "[" : "", name ? name : "",
		    name ? "]" : "", show(&open, b, sizeof(b)));
	dup = route_find_in(P->cf, type, name);
	if (dup) {
		rc = cfg_error_tok(P->e, kw,
				   "%s%s%s%s is defined twice (first at "
				   "%s:%d:%d)",
				   cfg_route_type_name(type), name ? "[" : "",
				   name ? name : "", name ? "]" : "", dup->file,
				   dup->line, dup->col);
		goto out;
	}
	for (;;) {
		if ((rc = next(P, &t)) < 0)
			goto out;
		if (t.kind == CFG_T_EOF) {
			rc = cfg_error_tok(P->e, &open,
					   "unterminated %s block: missing '}'",
					   kw->text);
			goto out;
		}
		if (is_op(&t, "{"))
			depth++;
		else if (is_op(&t, "}") && --depth == 0)
			break;
		if (n == cap) {
			cfg_tok_t *nt;

			cap = cap ? cap * 2 : 64;
			nt = realloc(toks, cap * sizeof(*nt));
			if (!nt) {
				rc = -OSP_ENOMEM;
				goto out;
			}
			toks = nt;
		}
		toks[n++] = t;
	}
	rc = -OSP_ENOMEM;
	r = cfg_pool_alloc(&P->cf->pool, sizeof(*r));
	if (!r)
		goto out;
	memset(r, 0, sizeof(*r));
	r->type = type;
	r->name = name;
	r->file = kw->file;
	r->line = kw->line;
	r->col = kw->col;
	r->ntoks = n;
	if (n) {
		cfg_tok_t *copy =
		    cfg_pool_alloc(&P->cf->pool, n * sizeof(*copy));

		if (!copy)
			goto out;
		memcpy(copy, toks, n * sizeof(*copy));
		r->toks = copy;
	}
	if (P->cf->routes_tail)
		P->cf->routes_tail->next = r;
	else
		P->cf->routes = r;
	P->cf->routes_tail = r;
	rc = 0;
out:
	free(toks);
	return rc;
}

static int parse_all(parser_t *P)
{
	cfg_tok_t t;
	char b[64];
	int rc, k;

	for (;;) {
		if ((rc = next(P, &t)) < 0)
			return rc;
		if (t.kind == CFG_T_EOF)
			return 0;
		if (is_op(&t, ";"))
			continue;
		if (t.kind != CFG_T_ID)
			return cfg_error_tok(P->e, &t,
					     "unexpected %s: expected a global "
					     "parameter, loadmodule, modparam "
					     "or a route block",
					     show(&t, b, sizeof(b)));
		if ((k = route_kw(&t)) >= 0) {
			rc = parse_route(P, &t, k);
			if (rc < 0)
				return rc;
			continue;
		}
		P->recording = 1;
		P->rlen = 0;
		P->rname[0] = '\0';
		if (!strcmp(t.text, "loadmodule"))
			rc = parse_loadmodule(P, &t);
		else if (!strcmp(t.text, "modparam"))
			rc = parse_modparam(P, &t);
		else if (!strcmp(t.text, "cfgengine"))
			rc = parse_cfgengine(P);
		else if (!strcmp(t.text, "mpath") ||
			 !strcmp(t.text, "loadpath"))
			rc = parse_mpath(P);
		else
			rc = parse_assign(P, &t);
		P->recording = 0;
		if (rc < 0)
			return rc;
		if (P->rlen && P->rec[P->rlen - 1] == ';')
			P->rlen -= P->rlen > 1 && P->rec[P->rlen - 2] == ' ' ? 2
									     : 1;
		rc = add_setting(P, P->rname[0] ? P->rname : t.text);
		if (rc < 0)
			return rc;
	}
}

/* ---- API ---- */

cfg_file_t *cfg_parse(const char *path, int apply, char *err, size_t errlen)
{
	cfg_err_t e = {err, errlen, 0};
	cfg_file_t *cf;
	parser_t P;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	cf = calloc(1, sizeof(*cf));
	if (!cf) {
		cfg_error(&e, path, 0, 0, "out of memory");
		return NULL;
	}
	rc = predefine(cf, &e);
	if (rc == 0) {
		memset(&P, 0, sizeof(P));
		P.cf = cf;
		P.e = &e;
		P.apply = apply;
		P.pp = cfg_pp_open(cf, path, &e);
		rc = P.pp ? parse_all(&P) : -OSP_EIO;
		cfg_pp_close(P.pp);
	}
	if (rc < 0) {
		if (!e.set)
			cfg_error(&e, path, 0, 0, "%s",
				  rc == -OSP_ENOMEM ? "out of memory"
						    : "cannot be read");
		cfg_file_free(cf);
		return NULL;
	}
	return cf;
}

void cfg_file_free(cfg_file_t *cf)
{
	if (!cf)
		return;
	cfg_pool_free(&cf->pool);
	free(cf->defines);
	free(cf);
}

const cfg_route_t *cfg_file_routes(const cfg_file_t *cf)
{
	return cf ? cf->routes : NULL;
}

int cfg_file_defined(const cfg_file_t *cf, const char *name, const char **value)
{
	const cfg_define_t *d;

	if (!cf || !name)
		return 0;
	d = cfg_define_find(cf, name, strlen(name));
	if (!d)
		return 0;
	if (value)
		*value = d->value;
	return 1;
}

/* Does name have the same sequence of values in a and b? */
static int same_setting(const cfg_file_t *a, const cfg_file_t *b,
			const char *name)
{
	const cfg_setting_t *x = a->settings, *y = b->settings;

	for (;;) {
		while (x && strcmp(x->name, name) != 0)
			x = x->next;
		while (y && strcmp(y->name, name) != 0)
			y = y->next;
		if (!x || !y)
			return !x && !y;
		if (strcmp(x->value, y->value) != 0)
			return 0;
		x = x->next;
		y = y->next;
	}
}

static int has_setting(const cfg_file_t *f, const char *name)
{
	for (const cfg_setting_t *q = f->settings; q; q = q->next)
		if (!strcmp(q->name, name))
			return 1;
	return 0;
}

static int listed_before(const cfg_setting_t *first, const cfg_setting_t *st)
{
	for (; first && first != st; first = first->next)
		if (!strcmp(first->name, st->name))
			return 1;
	return 0;
}

int cfg_file_settings_diff(const cfg_file_t *a, const cfg_file_t *b,
			   char *out, size_t cap)
{
	const cfg_file_t *files[2] = {a, b};
	size_t pos = 0;
	int n = 0;

	if (cap)
		out[0] = '\0';
	if (!a || !b)
		return 0;
	for (int f = 0; f < 2; f++) {
		for (const cfg_setting_t *st = files[f]->settings; st;
		     st = st->next) {
			int k;

			/* each name once: the first time it appears in a,
			 * or in b when a does not have it */
			if (listed_before(files[f]->settings, st) ||
			    (f == 1 && has_setting(a, st->name)) ||
			    same_setting(a, b, st->name))
				continue;
			n++;
			if (pos + 1 >= cap)
				continue;
			k = snprintf(out + pos, cap - pos, "%s%s",
				     pos ? ", " : "", st->name);
			if (k > 0)
				pos += (size_t)k < cap - pos ? (size_t)k
							     : cap - pos - 1;
		}
	}
	return n;
}

const cfg_file_t *cfg_current_file(void)
{
	return cfg_current;
}

int cfg_load(const char *path, char *err, size_t errlen)
{
	cfg_file_t *cf = cfg_parse(path, 1, err, errlen);

	if (!cf)
		return -1;
	cfg_file_free(cfg_current);
	cfg_current = cf;
	return 0;
}

const cfg_route_t *cfg_routes(void)
{
	return cfg_file_routes(cfg_current);
}

int cfg_has_routes(void)
{
	return cfg_routes() != NULL;
}

const cfg_route_t *cfg_route_find(cfg_route_type_t type, const char *name)
{
	return route_find_in(cfg_current, type, name);
}

int cfg_defined(const char *name, const char **value)
{
	return cfg_file_defined(cfg_current, name, value);
}

int cfg_custom(const char *group_dot_name, const char **sval, long *ival)
{
	for (const cfg_custom_var_t *v = cfg_current ? cfg_current->custom
						     : NULL;
	     v; v = v->next) {
		if (strcmp(v->name, group_dot_name) != 0)
			continue;
		if (sval)
			*sval = v->sval;
		if (ival)
			*ival = v->ival;
		return 1;
	}
	return 0;
}

void cfg_free(void)
{
	cfg_file_free(cfg_current);
	cfg_current = NULL;
}
