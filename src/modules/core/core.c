/* core.c - the core KSR functions (KSR.<name>, KSR.x.*): logging, method
 * and transport tests, "myself" tests, flags, R-URI and destination
 * changes, Via options and stateless forwarding. Semantics follow
 * Kamailio 5.6's src/core/kemi.c; where they return bool, 1 is true and 0
 * false. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/fwd.h"
#include "core/log.h"
#include "core/osp.h"
#include "core/module.h"
#include "net/net.h"

#define MSG (ctx->msg)

/* ---- logging ---- */

static int log_at(int level, str_t s)
{
	if (osp_log_level >= level)
		LOG_AT(level, "%.*s", STR_FMT(s));
	return 1;
}

#define LOGFN(fname, lvl)                                                      \
	static int ki_##fname(ksr_ctx_t *ctx, const ksr_arg_t *a,            \
			      ksr_xval_t *r)                                 \
	{                                                                      \
		return log_at(lvl, a[0].s);                                    \
	}
LOGFN(dbg, L_DBG)
LOGFN(info, L_INFO)
LOGFN(notice, L_NOTICE)
LOGFN(warn, L_WARN)
LOGFN(err, L_ERR)
LOGFN(crit, L_CRIT)

static int ki_log(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	static const struct {
		const char *n;
		int l;
	} lv[] = {{"dbg", L_DBG},   {"info", L_INFO}, {"notice", L_NOTICE},
		  {"warn", L_WARN}, {"err", L_ERR},   {"crit", L_CRIT}};

	for (size_t i = 0; i < OSP_ARRAY_LEN(lv); i++)
		if (str_eq_cstr(a[0].s, lv[i].n))
			return log_at(lv[i].l, a[1].s);
	return log_at(L_ERR, a[1].s);
}

/* ---- methods ---- */

/* For replies the CSeq method is tested, as in Kamailio. */
static sip_method_t msg_method(sip_msg_t *msg)
{
	sip_cseq_t *cs;

	if (msg->kind == SIP_REQUEST)
		return msg->method_id;
	cs = sip_get_cseq(msg);
	return cs ? cs->method_id : SIP_METHOD_UNDEF;
}

static str_t msg_method_str(sip_msg_t *msg)
{
	sip_cseq_t *cs;

	if (msg->kind == SIP_REQUEST)
		return msg->method;
	cs = sip_get_cseq(msg);
	return cs ? cs->method : STR_NULL;
}

static int ki_is_method(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	/* Kamailio compares case-insensitively here */
	return str_caseeq(msg_method_str(MSG), a[0].s);
}

static int ki_is_method_in(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	sip_method_t m = msg_method(MSG);

	for (size_t i = 0; i < a[0].s.len; i++) {
		sip_method_t want;

		switch (a[0].s.s[i]) {
		case 'I': case 'i': want = SIP_METHOD_INVITE; break;
		case 'A': case 'a': want = SIP_METHOD_ACK; break;
		case 'B': case 'b': want = SIP_METHOD_BYE; break;
		case 'C': case 'c': want = SIP_METHOD_CANCEL; break;
		case 'M': case 'm': want = SIP_METHOD_MESSAGE; break;
		case 'R': case 'r': want = SIP_METHOD_REGISTER; break;
		case 'E': case 'e': want = SIP_METHOD_PRACK; break;
		case 'P': case 'p': want = SIP_METHOD_PUBLISH; break;
		case 'S': case 's': want = SIP_METHOD_SUBSCRIBE; break;
		case 'N': case 'n': want = SIP_METHOD_NOTIFY; break;
		case 'O': case 'o': want = SIP_METHOD_OPTIONS; break;
		case 'F': case 'f': want = SIP_METHOD_REFER; break;
		case 'G': case 'g': want = SIP_METHOD_GET; break;
		case 'U': case 'u': want = SIP_METHOD_UPDATE; break;
		case 'K': case 'k': want = SIP_METHOD_KDMQ; break;
		case 'D': case 'd': want = SIP_METHOD_DELETE; break;
		case 'T': case 't': want = SIP_METHOD_POST; break;
		case 'V': case 'v': want = SIP_METHOD_PUT; break;
		default: continue;
		}
		if (m == want)
			return 1;
	}
	return 0;
}

#define ISMETHOD(nm, id)                                                       \
	static int ki_is_##nm(ksr_ctx_t *ctx, const ksr_arg_t *a,            \
			      ksr_xval_t *r)                                 \
	{                                                                      \
		return msg_method(MSG) == id;                                  \
	}
ISMETHOD(INVITE, SIP_METHOD_INVITE)
ISMETHOD(ACK, SIP_METHOD_ACK)
ISMETHOD(BYE, SIP_METHOD_BYE)
ISMETHOD(CANCEL, SIP_METHOD_CANCEL)
ISMETHOD(REGISTER, SIP_METHOD_REGISTER)
ISMETHOD(OPTIONS, SIP_METHOD_OPTIONS)
ISMETHOD(SUBSCRIBE, SIP_METHOD_SUBSCRIBE)
ISMETHOD(PUBLISH, SIP_METHOD_PUBLISH)
ISMETHOD(NOTIFY, SIP_METHOD_NOTIFY)
ISMETHOD(REFER, SIP_METHOD_REFER)
ISMETHOD(INFO, SIP_METHOD_INFO)
ISMETHOD(UPDATE, SIP_METHOD_UPDATE)
ISMETHOD(PRACK, SIP_METHOD_PRACK)
ISMETHOD(MESSAGE, SIP_METHOD_MESSAGE)
ISMETHOD(KDMQ, SIP_METHOD_KDMQ)
ISMETHOD(GET, SIP_METHOD_GET)
ISMETHOD(POST, SIP_METHOD_POST)
ISMETHOD(PUT, SIP_METHOD_PUT)
ISMETHOD(DELETE, SIP_METHOD_DELETE)

/* ---- received transport ---- */

#define ISPROTO(nm, p)                                                         \
	static int ki_is_##nm(ksr_ctx_t *ctx, const ksr_arg_t *a,            \
			      ksr_xval_t *r)                                 \
	{                                                                      \
		return MSG->rcv.proto == p;                                    \
	}
ISPROTO(UDP, SIP_PROTO_UDP)
ISPROTO(TCP, SIP_PROTO_TCP)
ISPROTO(TLS, SIP_PROTO_TLS)
ISPROTO(WS, SIP_PROTO_WS)
ISPROTO(WSS, SIP_PROTO_WSS)
ISPROTO(SCTP, SIP_PROTO_SCTP)

static int ki_is_WSX(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return MSG->rcv.proto == SIP_PROTO_WS || MSG->rcv.proto == SIP_PROTO_WSS;
}

static int ki_is_proto(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	for (size_t i = 0; i < a[0].s.len; i++) {
		sip_proto_t p;

		switch (a[0].s.s[i]) {
		case 'e': case 'E': p = SIP_PROTO_TLS; break;
		case 's': case 'S': p = SIP_PROTO_SCTP; break;
		case 't': case 'T': p = SIP_PROTO_TCP; break;
		case 'u': case 'U': p = SIP_PROTO_UDP; break;
		case 'v': case 'V': p = SIP_PROTO_WS; break;
		case 'w': case 'W': p = SIP_PROTO_WSS; break;
		default: continue;
		}
		if (MSG->rcv.proto == p)
			return 1;
	}
	return 0;
}

static int ki_is_IPv4(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return MSG->rcv.src.sa.sa_family == AF_INET;
}

static int ki_is_IPv6(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return MSG->rcv.src.sa.sa_family == AF_INET6;
}

static int ki_is_src_port(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return net_addr_port(&MSG->rcv.src) == a[0].n;
}

static int ki_is_dst_port(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return net_addr_port(&MSG->rcv.dst) == a[0].n;
}

/* ---- myself ---- */

static int uri_myself(sip_msg_t *msg, str_t uri)
{
	sip_uri_t u;

	if (!uri.len || sip_uri_parse(msg->arena, uri, &u) < 0)
		return 0;
	return osp_is_myself(u.host, u.port_no, 0);
}

static int ki_is_myself(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	str_t v = a[0].s;

	/* a URI, or a bare host[:port] / IP */
	if (v.len > 4 && (strncasecmp(v.s, "sip:", 4) == 0 ||
			  strncasecmp(v.s, "sips:", 5) == 0 ||
			  strncasecmp(v.s, "tel:", 4) == 0))
		return uri_myself(MSG, v);
	return osp_is_myself(v, 0, 0);
}

static int ki_is_myself_ruri(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return MSG->kind == SIP_REQUEST && uri_myself(MSG, sip_cur_uri(MSG));
}

static int ki_is_myself_duri(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return uri_myself(MSG, MSG->dst_uri);
}

static int ki_is_myself_nhuri(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (MSG->dst_uri.len)
		return uri_myself(MSG, MSG->dst_uri);
	return ki_is_myself_ruri(ctx, a, r);
}

static int ki_is_myself_furi(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	sip_nameaddr_t *f = sip_get_from(MSG);

	return f && f->uri_ok && osp_is_myself(f->uri.host, f->uri.port_no, 0);
}

static int ki_is_myself_turi(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	sip_nameaddr_t *t = sip_get_to(MSG);

	return t && t->uri_ok && osp_is_myself(t->uri.host, t->uri.port_no, 0);
}

static int ki_is_myself_suri(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	char ip[64];
	int n = net_addr_to_ip(&MSG->rcv.src, ip, sizeof(ip));

	return n > 0 && osp_is_myself((str_t){ip, (size_t)n},
				      net_addr_port(&MSG->rcv.src), 0);
}

static int ki_is_myself_srcip(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	char ip[64];
	int n = net_addr_to_ip(&MSG->rcv.src, ip, sizeof(ip));

	return n > 0 && osp_is_myself((str_t){ip, (size_t)n}, 0, 0);
}

/* ---- flags ---- */

static int flag_ok(long f)
{
	if (f < 0 || f > 31) {
		LOG_ERR("flag %ld out of range (0..31)", f);
		return 0;
	}
	return 1;
}

static int ki_setflag(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!flag_ok(a[0].n))
		return 0;
	MSG->flags |= 1u << a[0].n;
	return 1;
}

static int ki_resetflag(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!flag_ok(a[0].n))
		return 0;
	MSG->flags &= ~(1u << a[0].n);
	return 1;
}

static int ki_isflagset(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return flag_ok(a[0].n) && (MSG->flags & (1u << a[0].n));
}

static int ki_setbflag(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!flag_ok(a[0].n))
		return 0;
	MSG->bflags |= 1u << a[0].n;
	return 1;
}

static int ki_resetbflag(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!flag_ok(a[0].n))
		return 0;
	MSG->bflags &= ~(1u << a[0].n);
	return 1;
}

static int ki_isbflagset(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return flag_ok(a[0].n) && (MSG->bflags & (1u << a[0].n));
}

/* Branch index flags: only branch 0 exists until the transaction layer
 * brings branches. */
static int ki_setbiflag(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return a[1].n == 0 ? ki_setbflag(ctx, a, r) : 0;
}

static int ki_resetbiflag(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return a[1].n == 0 ? ki_resetbflag(ctx, a, r) : 0;
}

static int ki_isbiflagset(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return a[1].n == 0 ? ki_isbflagset(ctx, a, r) : 0;
}

static int ki_setsflag(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!flag_ok(a[0].n))
		return 0;
	ctx->sflags |= 1u << a[0].n;
	return 1;
}

static int ki_resetsflag(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!flag_ok(a[0].n))
		return 0;
	ctx->sflags &= ~(1u << a[0].n);
	return 1;
}

static int ki_issflagset(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return flag_ok(a[0].n) && (ctx->sflags & (1u << a[0].n));
}

/* ---- R-URI and destination ---- */

static int ki_seturi(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (MSG->kind != SIP_REQUEST)
		return 0;
	return sip_set_ruri(MSG, a[0].s) < 0 ? 0 : 1;
}

static int rewrite_part(ksr_ctx_t *ctx, sip_uri_part_t part, str_t val)
{
	sip_uri_t *u;
	str_t out;

	if (MSG->kind != SIP_REQUEST)
		return 0;
	u = sip_get_cur_ruri(MSG);
	if (!u || sip_uri_replace(MSG->arena, sip_cur_uri(MSG), u, part, val,
				  &out) < 0)
		return 0;
	return sip_set_ruri(MSG, out) < 0 ? 0 : 1;
}

static int ki_setuser(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return rewrite_part(ctx, SIP_URI_PART_USER, a[0].s);
}

static int ki_sethost(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return rewrite_part(ctx, SIP_URI_PART_HOST, a[0].s);
}

static int ki_setdsturi(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	sip_uri_t u;
	char *p;

	if (sip_uri_parse(MSG->arena, a[0].s, &u) < 0) {
		LOG_ERR("setdsturi: invalid URI '%.*s'", STR_FMT(a[0].s));
		return 0;
	}
	p = arena_strndup(MSG->arena, a[0].s.s, a[0].s.len);
	if (!p)
		return 0;
	MSG->dst_uri = (str_t){p, a[0].s.len};
	return 1;
}

static int ki_resetdsturi(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	MSG->dst_uri = STR_NULL;
	return 1;
}

static int ki_isdsturiset(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return MSG->dst_uri.len > 0;
}

/* ---- Via and connection options ---- */

#define SETBIT(nm, field)                                                      \
	static int ki_##nm(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r) \
	{                                                                      \
		MSG->field = 1;                                                \
		return 1;                                                      \
	}
SETBIT(force_rport, force_rport)
SETBIT(add_local_rport, add_local_rport)
SETBIT(set_reply_no_connect, reply_no_connect)
SETBIT(set_forward_no_connect, forward_no_connect)
SETBIT(set_reply_close, reply_close)
SETBIT(set_forward_close, forward_close)

/* ---- next-hop transport tests ---- */

static sip_proto_t next_hop_proto(sip_msg_t *msg, int *af)
{
	sip_uri_t u;
	str_t uri = msg->dst_uri.len ? msg->dst_uri : sip_cur_uri(msg);

	*af = 0;
	if (msg->kind == SIP_REPLY) {
		sip_via_t *v2 = sip_get_via2(msg);

		if (!v2)
			return SIP_PROTO_NONE;
		*af = v2->host.len && v2->host.s[0] == '[' ? AF_INET6 : AF_INET;
		return net_proto_from_name(v2->transport);
	}
	if (sip_uri_parse(msg->arena, uri, &u) < 0)
		return SIP_PROTO_NONE;
	*af = u.host_is_ipv6 ? AF_INET6 : AF_INET;
	if (u.scheme == SIP_URI_SIPS)
		return SIP_PROTO_TLS;
	if (u.transport.len)
		return net_proto_from_name(u.transport);
	return SIP_PROTO_UDP;
}

#define TOPROTO(nm, p)                                                         \
	static int ki_to_##nm(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r) \
	{                                                                      \
		int af;                                                        \
		return next_hop_proto(MSG, &af) == p;                          \
	}
TOPROTO(UDP, SIP_PROTO_UDP)
TOPROTO(TCP, SIP_PROTO_TCP)
TOPROTO(TLS, SIP_PROTO_TLS)
TOPROTO(SCTP, SIP_PROTO_SCTP)
TOPROTO(WS, SIP_PROTO_WS)
TOPROTO(WSS, SIP_PROTO_WSS)

static int ki_to_WSX(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	int af;
	sip_proto_t p = next_hop_proto(MSG, &af);

	return p == SIP_PROTO_WS || p == SIP_PROTO_WSS;
}

static int ki_to_IPv4(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	int af;

	next_hop_proto(MSG, &af);
	return af == AF_INET;
}

static int ki_to_IPv6(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	int af;

	next_hop_proto(MSG, &af);
	return af == AF_INET6;
}

/* ---- forwarding ---- */

static int ki_forward(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (MSG->kind == SIP_REPLY)
		return osp_forward_reply(MSG);
	return osp_forward_request(MSG, STR_NULL);
}

static int ki_forward_uri(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return osp_forward_request(MSG, a[0].s);
}

static int ki_set_drop(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	ctx->flags |= KSR_CTX_DROP;
	return 1;
}

static int ki_get_debug(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return osp_log_level;
}

/* ---- KSR.x ---- */

static int ki_x_exit(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	ctx->flags |= KSR_CTX_EXIT;
	return 0;
}

static int ki_x_drop(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	ctx->flags |= KSR_CTX_EXIT | KSR_CTX_DROP;
	return 0;
}

/* KSR.x.modf runs a native (kamailio.cfg) module function by name. The
 * native function table comes with the native routing language; until then
 * every name is unknown. */
static int ki_x_modf(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	LOG_ERR("KSR.x.modf: unknown native function '%.*s'", STR_FMT(a[0].s));
	return -1;
}

#define S KSR_STR
#define I KSR_INT
#define B KSR_BOOL
#define E0(n, rt) {"", #n, rt, ki_##n, {0}}
#define E1(n, rt, p1) {"", #n, rt, ki_##n, {p1}}

static const ksr_export_t core_exports[] = {
	E1(dbg, KSR_NONE, S), E1(info, KSR_NONE, S), E1(notice, KSR_NONE, S),
	E1(warn, KSR_NONE, S), E1(err, KSR_NONE, S), E1(crit, KSR_NONE, S),
	{"", "log", KSR_NONE, ki_log, {S, S}},
	E1(is_method, B, S), E1(is_method_in, B, S),
	E0(is_INVITE, B), E0(is_ACK, B), E0(is_BYE, B), E0(is_CANCEL, B),
	E0(is_REGISTER, B), E0(is_OPTIONS, B), E0(is_SUBSCRIBE, B),
	E0(is_PUBLISH, B), E0(is_NOTIFY, B), E0(is_REFER, B), E0(is_INFO, B),
	E0(is_UPDATE, B), E0(is_PRACK, B), E0(is_MESSAGE, B), E0(is_KDMQ, B),
	E0(is_GET, B), E0(is_POST, B), E0(is_PUT, B), E0(is_DELETE, B),
	E0(is_UDP, B), E0(is_TCP, B), E0(is_TLS, B), E0(is_WS, B),
	E0(is_WSS, B), E0(is_WSX, B), E0(is_SCTP, B), E1(is_proto, B, S),
	E0(is_IPv4, B), E0(is_IPv6, B), E1(is_src_port, B, I),
	E1(is_dst_port, B, I),
	E1(is_myself, B, S), E0(is_myself_ruri, B), E0(is_myself_duri, B),
	E0(is_myself_nhuri, B), E0(is_myself_furi, B), E0(is_myself_turi, B),
	E0(is_myself_suri, B), E0(is_myself_srcip, B),
	E1(setflag, B, I), E1(resetflag, B, I), E1(isflagset, B, I),
	E1(setbflag, B, I), E1(resetbflag, B, I), E1(isbflagset, B, I),
	{"", "setbiflag", B, ki_setbiflag, {I, I}},
	{"", "resetbiflag", B, ki_resetbiflag, {I, I}},
	{"", "isbiflagset", B, ki_isbiflagset, {I, I}},
	E1(setsflag, B, I), E1(resetsflag, B, I), E1(issflagset, B, I),
	E1(seturi, B, S), E1(setuser, B, S), E1(sethost, B, S),
	E1(setdsturi, B, S), E0(resetdsturi, B), E0(isdsturiset, B),
	E0(force_rport, B), E0(add_local_rport, B),
	E0(set_reply_no_connect, B), E0(set_forward_no_connect, B),
	E0(set_reply_close, B), E0(set_forward_close, B),
	E0(to_UDP, B), E0(to_TCP, B), E0(to_TLS, B), E0(to_SCTP, B),
	E0(to_WS, B), E0(to_WSS, B), E0(to_WSX, B), E0(to_IPv4, B),
	E0(to_IPv6, B),
	E0(forward, KSR_INT), E1(forward_uri, KSR_INT, S),
	E0(set_drop, KSR_NONE), E0(get_debug, KSR_INT),
	{"x", "exit", KSR_NONE, ki_x_exit, {0}},
	{"x", "drop", KSR_NONE, ki_x_drop, {0}},
	{"x", "modf", KSR_INT, ki_x_modf, {S}},
	{0},
};

osp_module_t osp_mod_core = {
	.name = "core",
	.exports = core_exports,
	.always = 1,
};
