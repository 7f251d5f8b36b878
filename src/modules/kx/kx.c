/* kx.c - KSR.kx, the getters of Kamailio's kemix module (kemix_mod.c as in
 * 5.6), loaded as "kemix".
 *
 * Missing values follow Kamailio per function: the get_ variants return
 * null, gete_ return "" and getw_ return "<null>"; a few plain getters
 * (get_callid, get_def, get_env, get_proto, get_msgbuf, get_srcuri) return
 * "" rather than null because kemix does. Strings point into the message,
 * its arena or ctx->buf; engines copy them at once. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cfg.h"
#include "core/globals.h"
#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "net/net.h"

enum { XNULL_NONE, XNULL_EMPTY, XNULL_PRINT };

static int xnull(ksr_xval_t *ret, int mode)
{
	if (mode == XNULL_EMPTY)
		return ksr_xval_str(ret, STR_LIT(""));
	if (mode == XNULL_PRINT)
		return ksr_xval_str(ret, STR_LIT("<null>"));
	return ksr_xval_null(ret);
}

static int xstr(ksr_xval_t *ret, str_t s, int mode)
{
	if (!s.s || s.len == 0)
		return xnull(ret, mode);
	return ksr_xval_str(ret, s);
}

/* Three exports per getter: get_x (null), gete_x (""), getw_x ("<null>"). */
#define KX_MODES(fn, impl)                                                     \
	static int ki_get_##fn(ksr_ctx_t *c, const ksr_arg_t *a,               \
			       ksr_xval_t *r)                                  \
	{                                                                      \
		return impl(c, r, XNULL_NONE);                                 \
	}                                                                      \
	static int ki_gete_##fn(ksr_ctx_t *c, const ksr_arg_t *a,              \
				ksr_xval_t *r)                                 \
	{                                                                      \
		return impl(c, r, XNULL_EMPTY);                                \
	}                                                                      \
	static int ki_getw_##fn(ksr_ctx_t *c, const ksr_arg_t *a,              \
				ksr_xval_t *r)                                 \
	{                                                                      \
		return impl(c, r, XNULL_PRINT);                                \
	}

/* ---- R-URI ---- */

/* Current R-URI (rewritten or received) of a request whose R-URI parses. */
static int ki_get_ruri(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!c->msg || c->msg->kind != SIP_REQUEST || !sip_get_cur_ruri(c->msg))
		return ksr_xval_null(r);
	return xstr(r, sip_cur_uri(c->msg), XNULL_NONE);
}

/* The R-URI as received. */
static int ki_get_ouri(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!c->msg || c->msg->kind != SIP_REQUEST || !sip_get_cur_ruri(c->msg))
		return ksr_xval_null(r);
	return xstr(r, c->msg->ruri, XNULL_NONE);
}

static sip_uri_t *cur_ruri(ksr_ctx_t *c)
{
	if (!c->msg || c->msg->kind != SIP_REQUEST)
		return NULL;
	return sip_get_cur_ruri(c->msg);
}

static int ruser(ksr_ctx_t *c, ksr_xval_t *r, int mode)
{
	sip_uri_t *u = cur_ruri(c);

	return u ? xstr(r, u->user, mode) : xnull(r, mode);
}

static int rhost(ksr_ctx_t *c, ksr_xval_t *r, int mode)
{
	sip_uri_t *u = cur_ruri(c);

	return u ? xstr(r, u->host, mode) : xnull(r, mode);
}

KX_MODES(ruser, ruser)
KX_MODES(rhost, rhost)

/* ---- From / To ---- */

static sip_nameaddr_t *from_na(ksr_ctx_t *c)
{
	return c->msg ? sip_get_from(c->msg) : NULL;
}

static sip_nameaddr_t *to_na(ksr_ctx_t *c)
{
	return c->msg ? sip_get_to(c->msg) : NULL;
}

static int ki_get_furi(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	sip_nameaddr_t *na = from_na(c);

	return na ? xstr(r, na->uri_str, XNULL_NONE) : ksr_xval_null(r);
}

static int ki_get_turi(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	sip_nameaddr_t *na = to_na(c);

	return na ? xstr(r, na->uri_str, XNULL_NONE) : ksr_xval_null(r);
}

/* User (part 1) or host (part 2) of a name-addr's parsed URI. */
static int na_part(sip_nameaddr_t *na, int part, ksr_xval_t *r, int mode)
{
	if (!na || !na->uri_ok)
		return xnull(r, mode);
	return xstr(r, part == 1 ? na->uri.user : na->uri.host, mode);
}

static int fuser(ksr_ctx_t *c, ksr_xval_t *r, int m)
{
	return na_part(from_na(c), 1, r, m);
}

static int fhost(ksr_ctx_t *c, ksr_xval_t *r, int m)
{
	return na_part(from_na(c), 2, r, m);
}

static int tuser(ksr_ctx_t *c, ksr_xval_t *r, int m)
{
	return na_part(to_na(c), 1, r, m);
}

static int thost(ksr_ctx_t *c, ksr_xval_t *r, int m)
{
	return na_part(to_na(c), 2, r, m);
}

KX_MODES(fuser, fuser)
KX_MODES(fhost, fhost)
KX_MODES(tuser, tuser)
KX_MODES(thost, thost)

/* ---- destination ---- */

static int duri(ksr_ctx_t *c, ksr_xval_t *r, int mode)
{
	return c->msg ? xstr(r, c->msg->dst_uri, mode) : xnull(r, mode);
}

KX_MODES(duri, duri)

/* Next hop: $du when set, else the R-URI. */
static int ki_get_nhuri(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (c->msg && c->msg->dst_uri.len)
		return ksr_xval_str(r, c->msg->dst_uri);
	return ki_get_ruri(c, a, r);
}

/* ---- Contact ---- */

static int cturi(ksr_ctx_t *c, ksr_xval_t *r, int mode)
{
	sip_hdr_t *h;
	sip_contact_list_t *cl;

	if (!c->msg)
		return xnull(r, mode);
	h = sip_hdr_first(c->msg, SIP_HDR_CONTACT);
	if (!h)
		return xnull(r, mode);
	cl = sip_get_contacts(c->msg, h);
	if (!cl || cl->star || !cl->first)
		return xnull(r, mode);
	return xstr(r, cl->first->na.uri_str, mode);
}

KX_MODES(cturi, cturi)

/* ---- User-Agent ---- */

static int ua(ksr_ctx_t *c, ksr_xval_t *r, int mode)
{
	sip_hdr_t *h = c->msg ? sip_hdr_first(c->msg, SIP_HDR_USERAGENT) : NULL;

	if (!h)
		return xnull(r, mode);
	return ksr_xval_str(r, h->value);
}

KX_MODES(ua, ua)

/* ---- where the message came from ---- */

static int port_of(const sip_sockaddr_t *a)
{
	if (a->sa.sa_family == AF_INET)
		return ntohs(a->in4.sin_port);
	if (a->sa.sa_family == AF_INET6)
		return ntohs(a->in6.sin6_port);
	return 0;
}

/* Address text of a into ctx->buf (without brackets). */
static str_t addr_text(ksr_ctx_t *c, const sip_sockaddr_t *a)
{
	if (a->sa.sa_family != AF_INET && a->sa.sa_family != AF_INET6)
		return STR_NULL;
	if (net_addr_to_ip(a, c->buf, sizeof(c->buf)) < 0)
		return STR_NULL;
	return str_from(c->buf);
}

static int ki_get_srcip(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!c->msg)
		return ksr_xval_null(r);
	return xstr(r, addr_text(c, &c->msg->rcv.src), XNULL_NONE);
}

static int ki_get_srcport(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return ksr_xval_int(r, c->msg ? port_of(&c->msg->rcv.src) : 0);
}

static const char *proto_text(sip_proto_t p, int uri)
{
	static const char *names[] = {NULL,   "udp", "tcp", "tls",
				      "sctp", "ws",  "wss"};

	if (p <= SIP_PROTO_NONE || p > SIP_PROTO_WSS)
		return NULL;
	if (uri && p == SIP_PROTO_WSS) /* a URI says ws for both */
		return "ws";
	return names[p];
}

/* sip:IP:port[;transport=x] of the source (transport omitted for UDP). */
static int ki_get_srcuri(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	char ip[64];
	const char *t = NULL;
	int v6, n;

	if (!c->msg)
		return ksr_xval_str(r, STR_LIT(""));
	v6 = c->msg->rcv.src.sa.sa_family == AF_INET6;
	if ((!v6 && c->msg->rcv.src.sa.sa_family != AF_INET) ||
	    net_addr_to_ip(&c->msg->rcv.src, ip, sizeof(ip)) < 0)
		return ksr_xval_str(r, STR_LIT(""));
	if (c->msg->rcv.proto != SIP_PROTO_UDP)
		t = proto_text(c->msg->rcv.proto, 1);
	n = snprintf(c->buf, sizeof(c->buf), "sip:%s%s%s:%d%s%s", v6 ? "[" : "",
		     ip, v6 ? "]" : "", port_of(&c->msg->rcv.src),
		     t ? ";transport=" : "", t ? t : "");
	if (n < 0 || (size_t)n >= sizeof(c->buf))
		return ksr_xval_str(r, STR_LIT(""));
	return ksr_xval_str(r, (str_t){c->buf, (size_t)n});
}

/* Osprey has no forced send socket: null / 0 as kemix without one. */
static int ki_get_send_sock(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return ksr_xval_null(r);
}

static int ki_get_send_sock_port(ksr_ctx_t *c, const ksr_arg_t *a,
				 ksr_xval_t *r)
{
	return 0;
}

static const net_listener_t *listener(ksr_ctx_t *c)
{
	return c->msg ? (const net_listener_t *)c->msg->rcv.listener : NULL;
}

static int ki_get_rcvip(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	const net_listener_t *l = listener(c);

	if (l && l->ip[0])
		return ksr_xval_str(r, str_from(l->ip));
	if (!c->msg)
		return ksr_xval_null(r);
	return xstr(r, addr_text(c, &c->msg->rcv.dst), XNULL_NONE);
}

static int ki_get_rcvport(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	const net_listener_t *l = listener(c);

	if (l)
		return ksr_xval_int(r, l->port);
	return ksr_xval_int(r, c->msg ? port_of(&c->msg->rcv.dst) : 0);
}

/* Socket names are not configurable yet: null, as a socket without one. */
static int ki_get_rcv_sock_name(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return ksr_xval_null(r);
}

static int ki_get_rcvadvip(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	const net_listener_t *l = listener(c);

	if (l && l->adv_host[0])
		return ksr_xval_str(r, str_from(l->adv_host));
	return ki_get_rcvip(c, a, r);
}

static int ki_get_rcvadvport(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	const net_listener_t *l = listener(c);

	if (l && l->adv_port > 0)
		return ksr_xval_int(r, l->adv_port);
	return ki_get_rcvport(c, a, r);
}

static int ki_get_proto(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	const char *p = c->msg ? proto_text(c->msg->rcv.proto, 0) : NULL;

	return ksr_xval_str(r, p ? str_from(p) : STR_LIT(""));
}

static int ki_get_protoid(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return c->msg ? (int)c->msg->rcv.proto : -1;
}

/* Connection id of a stream transport, -1 for datagrams. */
static int ki_get_conid(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!c->msg || c->msg->rcv.conn_id == 0)
		return -1;
	return (int)(c->msg->rcv.conn_id & 0x7fffffff);
}

/* ---- credentials ---- */

/* User part of the digest username of the Proxy-Authorization header, or
 * of the Authorization one when there is no Proxy-Authorization. */
static int au(ksr_ctx_t *c, ksr_xval_t *r, int mode)
{
	sip_msg_t *m = c->msg;
	sip_hdr_t *h;
	sip_auth_t *cred;
	str_t u;
	const char *at;

	if (!m || m->method_id == SIP_METHOD_ACK ||
	    m->method_id == SIP_METHOD_CANCEL)
		return xnull(r, mode);
	h = sip_hdr_first(m, SIP_HDR_PROXYAUTHZ);
	if (!h)
		h = sip_hdr_first(m, SIP_HDR_AUTHORIZATION);
	if (!h)
		return xnull(r, mode);
	cred = sip_get_auth(m, h);
	if (!cred)
		return xnull(r, mode);
	u = cred->username;
	at = u.len ? memchr(u.s, '@', u.len) : NULL;
	if (at)
		u.len = (size_t)(at - u.s);
	return ksr_xval_str(r, u.s ? u : STR_LIT(""));
}

KX_MODES(au, au)

/* ---- first line, body, buffer ---- */

/* Method of a request; of a reply, the CSeq method. */
static int ki_get_method(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	sip_cseq_t *cs;

	if (!c->msg)
		return ksr_xval_null(r);
	if (c->msg->kind == SIP_REQUEST)
		return ksr_xval_str(r, c->msg->method);
	cs = sip_get_cseq(c->msg);
	return cs ? ksr_xval_str(r, cs->method) : ksr_xval_null(r);
}

static int ki_get_status(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!c->msg || c->msg->kind != SIP_REPLY)
		return -1;
	return c->msg->status;
}

static int ki_gets_status(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	int n;

	if (!c->msg || c->msg->kind != SIP_REPLY)
		return ksr_xval_null(r);
	n = snprintf(c->buf, sizeof(c->buf), "%d", c->msg->status);
	return ksr_xval_str(r, (str_t){c->buf, (size_t)n});
}

static int body(ksr_ctx_t *c, ksr_xval_t *r, int mode)
{
	return c->msg ? xstr(r, c->msg->body, mode) : xnull(r, mode);
}

KX_MODES(body, body)

static int ki_get_bodylen(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return c->msg ? (int)c->msg->body.len : 0;
}

static int ki_get_timestamp(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return (int)time(NULL);
}

/* Call-ID value; "" when there is none. */
static int ki_get_callid(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return xstr(r, c->msg ? sip_get_callid(c->msg) : STR_NULL, XNULL_EMPTY);
}

static int ki_get_msgbuf(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!c->msg)
		return ksr_xval_str(r, STR_LIT(""));
	return ksr_xval_str(r, (str_t){c->msg->buf, c->msg->len});
}

static int ki_get_msglen(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return c->msg ? (int)c->msg->len : -1;
}

static int ki_get_msgtype(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!c->msg)
		return -1;
	if (c->msg->kind == SIP_REQUEST)
		return 1;
	return c->msg->kind == SIP_REPLY ? 2 : 0;
}

/* ---- defines (-A NAME[=value], #!define) and environment ---- */

/* The value of define `name`: 1 when defined (*val set, empty for a
 * define without value), 0 when not. The configuration file's defines
 * (#!define and -A, see cfg_defined()) come first; without a configuration
 * file (a routing script run directly) the -A ones of osp_g. */
static int define_get(str_t name, str_t *val)
{
	char buf[256];
	const char *v = NULL;

	if (name.len == 0 || name.len >= sizeof(buf) ||
	    memchr(name.s, '\0', name.len))
		return 0;
	str_to_buf(name, buf, sizeof(buf));
	if (cfg_defined(buf, &v)) {
		*val = v ? str_from(v) : STR_LIT("");
		return 1;
	}
	for (int i = 0; i < osp_g.n_defines; i++) {
		const char *d = osp_g.defines[i];
		const char *eq;
		size_t nl;

		if (!d)
			continue;
		eq = strchr(d, '=');
		nl = eq ? (size_t)(eq - d) : strlen(d);
		if (nl != name.len || memcmp(d, name.s, nl) != 0)
			continue;
		*val = eq ? str_from(eq + 1) : STR_LIT("");
		return 1;
	}
	return 0;
}

/* Signed decimal value of the whole of s, 0 when it is not one (as
 * Kamailio's str2sint leaves the result). */
static int str_to_sint(str_t s)
{
	long v = 0;
	size_t i = 0;
	int neg = 0;

	s = str_trim(s);
	if (s.len && (s.s[0] == '-' || s.s[0] == '+')) {
		neg = s.s[0] == '-';
		i = 1;
	}
	if (i == s.len)
		return 0;
	for (; i < s.len; i++) {
		if (s.s[i] < '0' || s.s[i] > '9' || v > 214748364L)
			return 0;
		v = v * 10 + (s.s[i] - '0');
	}
	if (v > 2147483647L)
		return 0;
	return (int)(neg ? -v : v);
}

static int ki_get_def(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	str_t v;

	if (!define_get(a[0].s, &v))
		return ksr_xval_str(r, STR_LIT(""));
	return ksr_xval_str(r, v);
}

static int ki_get_defn(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	str_t v;

	return define_get(a[0].s, &v) ? str_to_sint(v) : 0;
}

static int ki_ifdef(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	str_t v;

	return define_get(a[0].s, &v);
}

static int ki_ifndef(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	str_t v;

	return !define_get(a[0].s, &v);
}

static const char *env_get(str_t name)
{
	char buf[256];

	if (name.len == 0 || name.len >= sizeof(buf) ||
	    memchr(name.s, '\0', name.len))
		return NULL;
	str_to_buf(name, buf, sizeof(buf));
	return getenv(buf);
}

static int ki_get_env(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	const char *v = env_get(a[0].s);

	return ksr_xval_str(r, v ? str_from(v) : STR_LIT(""));
}

static int ki_get_envn(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	const char *v = env_get(a[0].s);

	return v ? str_to_sint(str_from(v)) : 0;
}

#define KX_X(n)                                                                \
	{                                                                      \
		"kx", #n, KSR_XVAL, ki_##n,                                    \
		{                                                              \
			0                                                      \
		}                                                              \
	}
#define KX_I(n)                                                                \
	{                                                                      \
		"kx", #n, KSR_INT, ki_##n,                                     \
		{                                                              \
			0                                                      \
		}                                                              \
	}
#define KX_TRIO(n) KX_X(get_##n), KX_X(gete_##n), KX_X(getw_##n)

static const ksr_export_t kx_exports[] = {
    KX_X(get_ruri),
    KX_TRIO(ruser),
    KX_TRIO(rhost),
    KX_X(get_ouri),
    KX_X(get_furi),
    KX_TRIO(fuser),
    KX_TRIO(fhost),
    KX_X(get_turi),
    KX_TRIO(tuser),
    KX_TRIO(thost),
    KX_TRIO(duri),
    KX_TRIO(cturi),
    KX_X(get_nhuri),
    KX_X(get_srcuri),
    KX_TRIO(ua),
    KX_X(get_srcip),
    KX_X(get_srcport),
    KX_X(get_send_sock),
    {"kx", "get_send_sock_name", KSR_XVAL, ki_get_send_sock, {0}},
    KX_I(get_send_sock_port),
    KX_X(get_rcvip),
    KX_X(get_rcv_sock_name),
    KX_X(get_rcvport),
    KX_X(get_rcvadvip),
    KX_X(get_rcvadvport),
    KX_X(get_proto),
    KX_I(get_protoid),
    KX_TRIO(au),
    KX_X(get_method),
    KX_I(get_status),
    KX_X(gets_status),
    KX_TRIO(body),
    KX_I(get_bodylen),
    KX_I(get_timestamp),
    KX_X(get_callid),
    KX_I(get_conid),
    KX_X(get_msgbuf),
    KX_I(get_msglen),
    KX_I(get_msgtype),
    {"kx", "get_def", KSR_XVAL, ki_get_def, {KSR_STR}},
    {"kx", "get_defn", KSR_INT, ki_get_defn, {KSR_STR}},
    {"kx", "ifdef", KSR_BOOL, ki_ifdef, {KSR_STR}},
    {"kx", "ifndef", KSR_BOOL, ki_ifndef, {KSR_STR}},
    {"kx", "get_env", KSR_XVAL, ki_get_env, {KSR_STR}},
    {"kx", "get_envn", KSR_INT, ki_get_envn, {KSR_STR}},
    {0},
};

/* Kamailio's module is kemix (loadmodule "kemix.so"); its KSR name is kx. */
osp_module_t osp_mod_kx = {
    .name = "kemix",
    .exports = kx_exports,
};
