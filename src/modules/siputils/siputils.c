/* siputils.c - KSR.siputils: checks and R-URI helpers of Kamailio's
 * siputils module (checks.c, sipops.c, options.c), same names, parameters
 * and return codes. See README.md for the list and what is not here yet. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/fwd.h"
#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"

/* OPTIONS reply capabilities (modparams, Kamailio's defaults). */
static char *opt_accept;
static char *opt_accept_enc;
static char *opt_accept_lang;
static char *opt_supported;

static const char *or_default(const char *v, const char *def)
{
	return v ? v : def;
}

static int ki_is_request(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return ctx->msg && ctx->msg->kind == SIP_REQUEST ? 1 : -1;
}

static int ki_is_reply(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return ctx->msg && ctx->msg->kind == SIP_REPLY ? 1 : -1;
}

/* To has a non-empty tag: 1, else (or no/bad To) -1. Asked on every
 * request by most scripts: the tag alone, without parsing the To URI. */
static int ki_has_totag(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	str_t tag;

	if (!ctx->msg)
		return -1;
	return sip_get_tag(ctx->msg, SIP_HDR_TO, &tag) > 0 && tag.len ? 1 : -1;
}

/* Parse an IP address text (IPv6 with or without brackets). */
static int ip_parse(str_t host, sip_sockaddr_t *out)
{
	char buf[64];

	if (host.len >= 2 && host.s[0] == '[' && host.s[host.len - 1] == ']') {
		host.s++;
		host.len -= 2;
	}
	if (host.len == 0 || host.len >= sizeof(buf))
		return -1;
	str_to_buf(host, buf, sizeof(buf));
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, &out->in4.sin_addr) == 1) {
		out->in4.sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, &out->in6.sin6_addr) == 1) {
		out->in6.sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

static int ip_same(const sip_sockaddr_t *a, const sip_sockaddr_t *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return 0;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
	return 0;
}

static int src_port(const sip_msg_t *m)
{
	if (m->rcv.src.sa.sa_family == AF_INET)
		return ntohs(m->rcv.src.in4.sin_port);
	if (m->rcv.src.sa.sa_family == AF_INET6)
		return ntohs(m->rcv.src.in6.sin6_port);
	return 0;
}

static int proto_of(str_t t)
{
	static const char *names[] = {"",     "udp", "tcp", "tls",
				      "sctp", "ws",  "wss"};

	for (int i = 1; i < (int)OSP_ARRAY_LEN(names); i++)
		if (str_caseeq_cstr(t, names[i]))
			return i;
	return 0;
}

/* Kamailio's is_first_hop_mode(): a request is at its first hop when it
 * has a single Via; a reply when its top Record-Route is ours (mode 0 also
 * wants that URI host to be an IP address, and refuses a reply coming
 * from that very address: a loop). */
static int first_hop(sip_msg_t *msg, long mode)
{
	sip_hdr_t *h;
	sip_rr_t *rr = NULL;
	sip_sockaddr_t ip;
	const sip_uri_t *u;
	int proto;

	if (!msg)
		return -1;
	if (msg->kind == SIP_REQUEST)
		return sip_get_via2(msg) ? -1 : 1;
	h = sip_hdr_first(msg, SIP_HDR_RECORDROUTE);
	if (!h)
		return 1;
	if (sip_rr_parse(msg->arena, h->value, &rr) < 0 || !rr ||
	    !rr->na.uri_ok)
		return -1;
	u = &rr->na.uri;
	if (mode == 0 && ip_parse(u->host, &ip) < 0)
		return -1;
	proto = proto_of(u->transport);
	if (osp_is_myself(u->host, u->port_no, proto) != 1)
		return -1;
	if (mode == 0 && ip_same(&ip, &msg->rcv.src) &&
	    (src_port(msg) == u->port_no ||
	     (u->port.len == 0 && src_port(msg) == 5060)) &&
	    ((int)msg->rcv.proto == proto ||
	     (proto == 0 && msg->rcv.proto == SIP_PROTO_UDP)))
		return -1;
	return 1;
}

static int ki_is_first_hop(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return first_hop(ctx->msg, 0);
}

static int ki_is_first_hop_mode(ksr_ctx_t *ctx, const ksr_arg_t *a,
				ksr_xval_t *r)
{
	return first_hop(ctx->msg, a[0].n);
}

/* KSR.siputils.is_uri(s): 1 when s parses as a sip/sips/tel URI. */
static int ki_is_uri(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	sip_uri_t u;

	if (!ctx->msg || a[0].s.len == 0)
		return -1;
	return sip_uri_parse(ctx->msg->arena, a[0].s, &u) == 0 ? 1 : -1;
}

/* The parameters of the current R-URI, parsed from its text. */
static int ruri_params(sip_msg_t *msg, sip_param_t **out, str_t *cur)
{
	sip_uri_t *u;
	size_t used;

	*out = NULL;
	if (!msg || msg->kind != SIP_REQUEST)
		return -1;
	u = sip_get_cur_ruri(msg);
	if (!u)
		return -1;
	if (cur)
		*cur = sip_cur_uri(msg);
	if (u->params.len == 0)
		return 0;
	if (sip_params_parse(msg->arena, u->params, "?", out, &used) < 0)
		return -1;
	return 0;
}

/* uri_param / uri_param_value: the first parameter with that name
 * (case-sensitive, as Kamailio) decides: without a value expected it must
 * have none; with one, the value must be equal. 1 or -1. */
static int uri_param_check(sip_msg_t *msg, str_t name, const str_t *value)
{
	sip_param_t *p;

	if (ruri_params(msg, &p, NULL) < 0)
		return -1;
	for (; p; p = p->next) {
		if (!str_eq(p->name, name))
			continue;
		if (value)
			return str_eq(p->value, *value) ? 1 : -1;
		return p->value.len > 0 ? -1 : 1;
	}
	return -1;
}

static int ki_uri_param(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return uri_param_check(ctx->msg, a[0].s, NULL);
}

static int ki_uri_param_value(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return uri_param_check(ctx->msg, a[0].s, &a[1].s);
}

/* uri_param_any(name): present, with or without value (name compared
 * without case). */
static int ki_uri_param_any(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	sip_param_t *p;

	if (ruri_params(ctx->msg, &p, NULL) < 0)
		return -1;
	for (; p; p = p->next)
		if (str_caseeq(p->name, a[0].s))
			return 1;
	return -1;
}

/* uri_param_rm(name): drop the first parameter with that name from the
 * R-URI. 1 also when there is none; -1 on errors. */
static int ki_uri_param_rm(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	sip_msg_t *msg = ctx->msg;
	sip_param_t *p;
	str_t cur;
	const char *b, *e;
	char *nu;
	size_t pre, post;

	if (ruri_params(msg, &p, &cur) < 0)
		return -1;
	for (; p; p = p->next)
		if (str_caseeq(p->name, a[0].s))
			break;
	if (!p)
		return 1;
	/* the views point into the current R-URI text */
	b = p->name.s;
	if (b < cur.s || b > cur.s + cur.len)
		return -1;
	while (b > cur.s && *b != ';')
		b--;
	e = p->name.s + p->name.len;
	if (p->has_value && p->value.s)
		e = p->value.s + p->value.len;
	else if (p->has_value && e < cur.s + cur.len && *e == '=')
		e++;
	if (e < cur.s + cur.len && *e == '"') /* a quoted value, unquoted */
		e++;
	if (e < b || e > cur.s + cur.len)
		return -1;
	pre = (size_t)(b - cur.s);
	post = cur.len - (size_t)(e - cur.s);
	nu = arena_alloc(msg->arena, pre + post + 1);
	if (!nu)
		return -1;
	memcpy(nu, cur.s, pre);
	memcpy(nu + pre, e, post);
	nu[pre + post] = '\0';
	return sip_set_ruri(msg, (str_t){nu, pre + post}) < 0 ? -1 : 1;
}

/* is_gruu(): the R-URI has a "gr" parameter: 1 with a value, 2 without. */
static int ki_is_gruu(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	sip_param_t *p;

	if (ruri_params(ctx->msg, &p, NULL) < 0)
		return -1;
	for (; p; p = p->next)
		if (str_caseeq_cstr(p->name, "gr"))
			return p->value.len > 0 ? 1 : 2;
	return -1;
}

/* is_tel_number(s): optional '+' then a non-zero digit, then digits. */
static int ki_is_tel_number(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	str_t s = a[0].s;
	size_t i = 0;

	if (s.len < 1)
		return -2;
	if (s.s[0] == '+') {
		if (s.len < 2 || s.s[1] < '1' || s.s[1] > '9')
			return -2;
		i = 2;
	}
	for (; i < s.len; i++)
		if (s.s[i] < '0' || s.s[i] > '9')
			return -2;
	return 1;
}

static int ki_is_numeric(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	str_t s = a[0].s;

	if (s.len == 0)
		return -2;
	for (size_t i = 0; i < s.len; i++)
		if (s.s[i] < '0' || s.s[i] > '9')
			return -2;
	return 1;
}

static int is_alnum_c(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

static int ki_is_alphanum(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	str_t s = a[0].s;

	if (s.len == 0)
		return -2;
	for (size_t i = 0; i < s.len; i++)
		if (!is_alnum_c(s.s[i]))
			return -3;
	return 1;
}

static int ki_is_alphanumex(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	str_t s = a[0].s, ex = a[1].s;

	if (s.len == 0)
		return -2;
	for (size_t i = 0; i < s.len; i++)
		if (!is_alnum_c(s.s[i]) &&
		    (ex.len == 0 || !memchr(ex.s, s.s[i], ex.len)))
			return -3;
	return 1;
}

/* options_reply(): answer an OPTIONS whose R-URI has no user with 200 and
 * the Accept, Accept-Encoding, Accept-Language and Supported headers of
 * the modparams. Returns 0 once a reply went out (Kamailio's opt_reply:
 * the script stops), -1 for another method, a user in the R-URI or a
 * failed send. Like Kamailio it does not check that the R-URI is ours. */
static int ki_options_reply(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	sip_msg_t *msg = ctx->msg;
	sip_uri_t *u;
	char hdrs[1024];
	int n;

	if (!msg || msg->kind != SIP_REQUEST ||
	    msg->method_id != SIP_METHOD_OPTIONS) {
		LOG_ERR("siputils: options_reply called for non-OPTIONS");
		return -1;
	}
	u = sip_get_cur_ruri(msg);
	if (!u) {
		LOG_ERR("siputils: options_reply: cannot parse the R-URI");
		return -1;
	}
	if (u->user.len) {
		LOG_ERR("siputils: options_reply: R-URI has a user");
		return -1;
	}
	n = snprintf(
	    hdrs, sizeof(hdrs),
	    "Accept: %s\r\nAccept-Encoding: %s\r\n"
	    "Accept-Language: %s\r\nSupported: %s\r\n",
	    or_default(opt_accept, "*/*"), or_default(opt_accept_enc, ""),
	    or_default(opt_accept_lang, "en"), or_default(opt_supported, ""));
	if (n < 0 || (size_t)n >= sizeof(hdrs)) {
		if (osp_send_reply(msg, 500, STR_LIT("Server internal error"),
				   STR_NULL, STR_NULL) < 0)
			return -1;
		return 0;
	}
	if (osp_send_reply(msg, 200, STR_LIT("OK"), (str_t){hdrs, (size_t)n},
			   STR_NULL) < 0) {
		LOG_ERR("siputils: options_reply: failed to send 200");
		return -1;
	}
	return 0;
}

/* cmp_hdr_name(n1, n2): same header name, compact forms understood. */
static int ki_cmp_hdr_name(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	str_t n1 = str_trim(a[0].s), n2 = str_trim(a[1].s);
	sip_hdr_type_t t1 = sip_hdr_type_from_name(n1);
	sip_hdr_type_t t2 = sip_hdr_type_from_name(n2);
	size_t m = n1.len < n2.len ? n1.len : n2.len;
	int c;

	if (t1 != SIP_HDR_OTHER || t2 != SIP_HDR_OTHER)
		return t1 == t2 ? 1 : -1;
	c = m ? strncasecmp(n1.s, n2.s, m) : 0;
	if (c == 0)
		c = (n1.len > n2.len) - (n1.len < n2.len);
	return c == 0 ? 1 : (c > 0 ? -1 : -2);
}

/* The parameters of a URI that RFC 3261 §19.1.4 wants equal when present
 * in either URI. */
static int must_match(str_t name)
{
	return str_caseeq_cstr(name, "transport") ||
	       str_caseeq_cstr(name, "user") || str_caseeq_cstr(name, "ttl") ||
	       str_caseeq_cstr(name, "method") ||
	       str_caseeq_cstr(name, "maddr");
}

static const sip_param_t *param_find_ci(const sip_param_t *p, str_t name)
{
	for (; p; p = p->next)
		if (str_caseeq(p->name, name))
			return p;
	return NULL;
}

/* Each parameter of l1 against l2: the special ones must be in both with
 * equal values, others are compared only when l2 has them too. */
static int params_agree(const sip_param_t *l1, const sip_param_t *l2)
{
	for (const sip_param_t *p = l1; p; p = p->next) {
		const sip_param_t *q = param_find_ci(l2, p->name);

		if (!q) {
			if (must_match(p->name))
				return 0;
			continue;
		}
		if (!str_caseeq(p->value, q->value))
			return 0;
	}
	return 1;
}

/* Compare two URIs; full: RFC 3261 §19.1.4 (cmp_uri), else user, host
 * and port only (cmp_aor). 1 equal, -1 different, -2 parse error. */
static int uri_compare(sip_msg_t *msg, str_t s1, str_t s2, int full)
{
	sip_uri_t u1, u2;
	sip_param_t *p1 = NULL, *p2 = NULL;
	size_t used;

	if (!msg || sip_uri_parse(msg->arena, s1, &u1) < 0 ||
	    sip_uri_parse(msg->arena, s2, &u2) < 0)
		return -2;
	if (!str_eq(u1.user, u2.user) || !str_caseeq(u1.host, u2.host) ||
	    u1.port_no != u2.port_no)
		return -1;
	if (!full)
		return 1;
	if (u1.scheme != u2.scheme || !str_eq(u1.password, u2.password))
		return -1;
	if ((u1.params.len &&
	     sip_params_parse(msg->arena, u1.params, "?", &p1, &used) < 0) ||
	    (u2.params.len &&
	     sip_params_parse(msg->arena, u2.params, "?", &p2, &used) < 0))
		return -2;
	return params_agree(p1, p2) && params_agree(p2, p1) ? 1 : -1;
}

static int ki_cmp_uri(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return uri_compare(ctx->msg, a[0].s, a[1].s, 1);
}

static int ki_cmp_aor(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return uri_compare(ctx->msg, a[0].s, a[1].s, 0);
}

static const ksr_export_t siputils_exports[] = {
    {"siputils", "has_totag", KSR_INT, ki_has_totag, {0}},
    {"siputils", "is_request", KSR_INT, ki_is_request, {0}},
    {"siputils", "is_reply", KSR_INT, ki_is_reply, {0}},
    {"siputils", "is_first_hop", KSR_INT, ki_is_first_hop, {0}},
    {"siputils", "is_first_hop_mode", KSR_INT, ki_is_first_hop_mode, {KSR_INT}},
    {"siputils", "is_uri", KSR_INT, ki_is_uri, {KSR_STR}},
    {"siputils", "uri_param", KSR_INT, ki_uri_param, {KSR_STR}},
    {"siputils",
     "uri_param_value",
     KSR_INT,
     ki_uri_param_value,
     {KSR_STR, KSR_STR}},
    {"siputils", "uri_param_any", KSR_INT, ki_uri_param_any, {KSR_STR}},
    {"siputils", "uri_param_rm", KSR_INT, ki_uri_param_rm, {KSR_STR}},
    {"siputils", "is_tel_number", KSR_INT, ki_is_tel_number, {KSR_STR}},
    {"siputils", "is_numeric", KSR_INT, ki_is_numeric, {KSR_STR}},
    {"siputils", "is_alphanum", KSR_INT, ki_is_alphanum, {KSR_STR}},
    {"siputils",
     "is_alphanumex",
     KSR_INT,
     ki_is_alphanumex,
     {KSR_STR, KSR_STR}},
    {"siputils", "options_reply", KSR_INT, ki_options_reply, {0}},
    {"siputils", "cmp_uri", KSR_INT, ki_cmp_uri, {KSR_STR, KSR_STR}},
    {"siputils", "cmp_aor", KSR_INT, ki_cmp_aor, {KSR_STR, KSR_STR}},
    {"siputils", "cmp_hdr_name", KSR_INT, ki_cmp_hdr_name, {KSR_STR, KSR_STR}},
    {"siputils", "is_gruu", KSR_INT, ki_is_gruu, {0}},
    {0},
};

static const osp_param_t siputils_params[] = {
    {"options_accept", MP_STR, &opt_accept, NULL},
    {"options_accept_encoding", MP_STR, &opt_accept_enc, NULL},
    {"options_accept_language", MP_STR, &opt_accept_lang, NULL},
    {"options_support", MP_STR, &opt_supported, NULL},
    {0},
};

osp_module_t osp_mod_siputils = {
    .name = "siputils",
    .exports = siputils_exports,
    .params = siputils_params,
};
