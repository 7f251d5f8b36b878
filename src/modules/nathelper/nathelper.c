/* nathelper.c - KSR.nathelper: NAT detection and traversal helpers with the
 * KEMI names, parameters and return codes of Kamailio 5.6's nathelper
 * (nat_uac_test, fix_nated_contact, fix_nated_register, the Contact alias
 * functions, fix_nated_sdp, is_rfc1918, add_rcv_param), its $rr_count and
 * $rr_top_count variables, its modparams and the nathelper.enable_ping
 * RPC. NAT keepalives live in nh_ping.c, SDP work in nh_sdp.c.
 *
 * Contact rewrites go through hdr_replace(): the received bytes are never
 * touched, the builder writes the new line. Each function works on the
 * header as the script has changed it so far, so (unlike Kamailio, which
 * refuses a second change of the same Contact) calls compose. */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "modules/hdr/hdr_ops.h"
#include "modules/nathelper/nh_int.h"
#include "modules/pv/pv.h"
#include "net/net.h"

/* ---- modparams (Kamailio's names and defaults) ---- */
int nh_natping_interval;
int nh_ping_nated_only;
int nh_sipping_bflag = -1;
int nh_natping_disable_bflag = -1;
int nh_natping_processes = 1;
int nh_keepalive_timeout;
int nh_udpping_from_path;
int nh_append_oldmediaip = 1;
int nh_filter_server_id;
int nh_nat_addr_mode = 1;
char *nh_sipping_from;
char *nh_sipping_method;
char *nh_natping_socket;
char *nh_force_socket;
char *nh_nortpproxy;
static char *p_received_avp;

static pv_spec_t *rcv_spec; /* received_avp, NULL when unset */

#define DEFAULT_NORTPPROXY "a=nortpproxy:yes"

/* nat_uac_test bits */
#define NAT_C_1918    0x01
#define NAT_RCVD      0x02
#define NAT_V_1918    0x04
#define NAT_S_1918    0x08
#define NAT_RPORT     0x10
#define NAT_O_1918    0x20
#define NAT_WS	      0x40
#define NAT_C_PORT    0x80
#define NAT_SDP_CLINE 0x100

#define MSG (ctx->msg)

/* ---- the first Contact, as the script has changed it so far ---- */

typedef struct cur_contact {
	sip_hdr_t *h;
	int idx;    /* header index, for hdr_replace */
	str_t line; /* its current full line (name, value, CRLF) */
	sip_contact_list_t *list; /* parsed from line */
} cur_contact_t;

/* Fill cc for Contact header h (its replacement when one was recorded).
 * 0, or -1 when the value does not parse. */
static int contact_of(sip_msg_t *msg, sip_hdr_t *h, cur_contact_t *cc)
{
	cc->h = h;
	cc->idx = (int)(h - msg->hdrs);
	if (!h->replace.len) {
		cc->line = h->raw;
		cc->list = sip_get_contacts(msg, h);
		return cc->list ? 0 : -1;
	} else {
		str_t v = h->replace;
		const char *colon = memchr(v.s, ':', v.len);

		if (!colon)
			return -1;
		cc->line = v;
		v.len -= (size_t)(colon + 1 - v.s);
		v.s = colon + 1;
		v = str_trim(v);
		cc->list = arena_zalloc(msg->arena, sizeof(*cc->list));
		if (!cc->list || sip_contact_parse(msg->arena, v, cc->list) < 0)
			return -1;
		return 0;
	}
}

/* The first Contact header not removed by the script: 1 with cc filled,
 * 0 when there is none, -1 when it does not parse. */
static int contact_first(sip_msg_t *msg, cur_contact_t *cc)
{
	for (sip_hdr_t *h = sip_hdr_first(msg, SIP_HDR_CONTACT); h;
	     h = sip_hdr_next(msg, h)) {
		if (h->flags & SIP_HDR_F_REMOVED)
			continue;
		return contact_of(msg, h, cc) < 0 ? -1 : 1;
	}
	return 0;
}

/* The first contact of the first Contact header, a sip: or sips: URI
 * with a host (Kamailio's get_contact_uri). NULL when there is none,
 * "*" or unparsable. */
static sip_contact_t *first_contact(sip_msg_t *msg, cur_contact_t *cc)
{
	sip_contact_t *c;

	if (contact_first(msg, cc) <= 0 || cc->list->star)
		return NULL;
	c = cc->list->first;
	if (!c || !c->na.uri_ok || c->na.uri.scheme == SIP_URI_TEL ||
	    !c->na.uri.host.len)
		return NULL;
	return c;
}

/* Record the Contact line with [from, to) (pointers into cc->line)
 * replaced by ins. */
static int contact_splice(sip_msg_t *msg, cur_contact_t *cc, const char *from,
			  const char *to, str_t ins)
{
	nh_sb_t b;
	str_t l = cc->line;

	nh_sb_init(&b, msg->arena, l.len + ins.len + 8);
	nh_sb_add(&b, l.s, (size_t)(from - l.s));
	nh_sb_str(&b, ins);
	nh_sb_add(&b, to, (size_t)(l.s + l.len - to));
	if (b.err)
		return -1;
	return hdr_replace(msg, cc->idx, nh_sb_done(&b)) < 0 ? -1 : 0;
}

/* End of host[:port] in a parsed URI. */
static const char *hostport_end(const sip_uri_t *u)
{
	return u->port.len ? u->port.s + u->port.len : u->host.s + u->host.len;
}

/* 1 when the URI (uri_str inside line) is enclosed in <>. */
static int bracketed(str_t line, str_t uri)
{
	return uri.s > line.s && uri.s[-1] == '<';
}

/* Append to b the URI parameter/header text rest (";a=b;c?h=v", as
 * after host[:port]) without the parameter named drop. */
static void params_without(nh_sb_t *b, str_t rest, const char *drop)
{
	size_t i = 0, dl = strlen(drop);

	while (i < rest.len && rest.s[i] == ';') {
		size_t e = i + 1, ne;

		while (e < rest.len && rest.s[e] != ';' && rest.s[e] != '?')
			e++;
		for (ne = i + 1; ne < e && rest.s[ne] != '='; ne++)
			;
		if (!(ne - i - 1 == dl &&
		      strncasecmp(rest.s + i + 1, drop, dl) == 0))
			nh_sb_add(b, rest.s + i, e - i);
		i = e;
	}
	nh_sb_add(b, rest.s + i, rest.len - i);
}

/* ";alias=IP~PORT~P" for the source of msg (IPv6 in brackets, P the
 * transport's number as Kamailio writes it: 1 UDP ... 6 WSS). */
static int src_alias(sip_msg_t *msg, nh_sb_t *b)
{
	char ip[64];
	int port, v6 = msg->rcv.src.sa.sa_family == AF_INET6;
	char pd[2] = {0, 0};

	if (msg->rcv.proto < SIP_PROTO_UDP || msg->rcv.proto > SIP_PROTO_WSS) {
		LOG_ERR("nathelper: invalid transport protocol %d",
			msg->rcv.proto);
		return -1;
	}
	nh_src(msg, ip, sizeof(ip), &port);
	if (!ip[0])
		return -1;
	nh_sb_cstr(b, ";alias=");
	if (v6)
		nh_sb_cstr(b, "[");
	nh_sb_cstr(b, ip);
	if (v6)
		nh_sb_cstr(b, "]");
	nh_sb_cstr(b, "~");
	nh_sb_int(b, port);
	pd[0] = (char)('0' + msg->rcv.proto);
	nh_sb_cstr(b, "~");
	nh_sb_cstr(b, pd);
	return 0;
}

/* ---- nat_uac_test ---- */

/* Bit 2: the top Via's host is not the source address (a host name
 * counts as different: no DNS lookups, as Kamailio's default). */
static int via_received_differs(sip_msg_t *msg)
{
	sip_via_t *v = sip_get_via1(msg);
	sip_sockaddr_t a;

	if (!v)
		return 0;
	if (nh_ip_parse(v->host, &a) < 0)
		return 1;
	return !nh_ip_eq(&a, &msg->rcv.src);
}

static int contact_private(sip_msg_t *msg)
{
	cur_contact_t cc;
	sip_contact_t *c = first_contact(msg, &cc);

	return c && nh_is_rfc1918(c->na.uri.host);
}

static int contact_port_differs(sip_msg_t *msg)
{
	cur_contact_t cc;
	sip_contact_t *c = first_contact(msg, &cc);

	if (!c)
		return 0;
	return net_addr_port(&msg->rcv.src) !=
	       (c->na.uri.port_no ? c->na.uri.port_no : 5060);
}

/* Tests in Kamailio's order; the first that holds answers 1. */
static int nat_uac_test(sip_msg_t *msg, long tests)
{
	sip_via_t *v = sip_get_via1(msg);
	int sport = net_addr_port(&msg->rcv.src);
	str_t sdp;

	if ((tests & NAT_RPORT) && v &&
	    sport != (v->port_no ? v->port_no : 5060))
		return 1;
	if ((tests & NAT_RCVD) && via_received_differs(msg))
		return 1;
	if ((tests & NAT_C_1918) && contact_private(msg))
		return 1;
	if ((tests & NAT_S_1918) && nh_sdp_received(msg, &sdp) &&
	    nh_sdp_has_private(sdp))
		return 1;
	if ((tests & NAT_V_1918) && v && nh_is_rfc1918(v->host))
		return 1;
	if ((tests & NAT_O_1918) && nh_sockaddr_private(&msg->rcv.src))
		return 1;
	if ((tests & NAT_WS) &&
	    (msg->rcv.proto == SIP_PROTO_WS || msg->rcv.proto == SIP_PROTO_WSS))
		return 1;
	if ((tests & NAT_C_PORT) && contact_port_differs(msg))
		return 1;
	if ((tests & NAT_SDP_CLINE) && nh_sdp_received(msg, &sdp) &&
	    nh_sdp_cline_differs(sdp, &msg->rcv.src))
		return 1;
	return -1;
}

static int ki_nat_uac_test(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!MSG)
		return -1;
	return nat_uac_test(MSG, a[0].n);
}

/* ---- Contact rewriting ---- */

/* fix_nated_contact(): the first Contact URI's host:port becomes the
 * source address and port (maddr dropped: it would override them). */
static int ki_fix_nated_contact(ksr_ctx_t *ctx, const ksr_arg_t *a,
				ksr_xval_t *r)
{
	cur_contact_t cc;
	sip_contact_t *c;
	const sip_uri_t *u;
	str_t us;
	nh_sb_t b;
	char ip[64];
	int port;

	if (!MSG || !(c = first_contact(MSG, &cc))) {
		LOG_DBG("nathelper: fix_nated_contact: no usable Contact");
		return -1;
	}
	u = &c->na.uri;
	us = c->na.uri_str;
	nh_src(MSG, ip, sizeof(ip), &port);
	if (!ip[0])
		return -1;
	nh_sb_init(&b, MSG->arena, us.len + 64);
	nh_sb_add(&b, us.s, (size_t)(u->host.s - us.s));
	if (MSG->rcv.src.sa.sa_family == AF_INET6) {
		nh_sb_cstr(&b, "[");
		nh_sb_cstr(&b, ip);
		nh_sb_cstr(&b, "]");
	} else {
		nh_sb_cstr(&b, ip);
	}
	nh_sb_cstr(&b, ":");
	nh_sb_int(&b, port);
	params_without(
	    &b,
	    (str_t){hostport_end(u), (size_t)(us.s + us.len - hostport_end(u))},
	    "maddr");
	if (b.err ||
	    contact_splice(MSG, &cc, us.s, us.s + us.len, nh_sb_done(&b)) < 0)
		return -1;
	return 1;
}

/* set_contact_alias([trim]): ";alias=ip~port~proto" of the source appended
 * to the first Contact URI (enclosed in <> when it was not), an existing
 * alias removed first when trim. */
static int set_contact_alias(sip_msg_t *msg, int trim)
{
	cur_contact_t cc;
	sip_contact_t *c;
	str_t us;
	const char *hend;
	nh_sb_t b;
	int br;

	if (!msg || !(c = first_contact(msg, &cc)))
		return -1;
	us = c->na.uri_str;
	br = bracketed(cc.line, us);
	/* URI headers ("?h=v") stay last */
	hend = c->na.uri.headers.len ? c->na.uri.headers.s - 1 : us.s + us.len;
	nh_sb_init(&b, msg->arena, us.len + 80);
	if (!br)
		nh_sb_cstr(&b, "<");
	if (trim) {
		const char *he = hostport_end(&c->na.uri);

		nh_sb_add(&b, us.s, (size_t)(he - us.s));
		params_without(&b, (str_t){he, (size_t)(hend - he)}, "alias");
	} else {
		nh_sb_add(&b, us.s, (size_t)(hend - us.s));
	}
	if (src_alias(msg, &b) < 0)
		return -1;
	nh_sb_add(&b, hend, (size_t)(us.s + us.len - hend));
	if (!br)
		nh_sb_cstr(&b, ">");
	if (b.err ||
	    contact_splice(msg, &cc, us.s, us.s + us.len, nh_sb_done(&b)) < 0)
		return -1;
	return 1;
}

static int ki_set_contact_alias(ksr_ctx_t *ctx, const ksr_arg_t *a,
				ksr_xval_t *r)
{
	return set_contact_alias(MSG, 0);
}

static int ki_set_contact_alias_trim(ksr_ctx_t *ctx, const ksr_arg_t *a,
				     ksr_xval_t *r)
{
	return set_contact_alias(MSG, 1);
}

/* Insert alias (";alias=...") right after host[:port] of the first
 * Contact URI, adding <> around the URI when the element had none (the
 * header parameters after a bare addr-spec stay outside). */
static int insert_alias(sip_msg_t *msg, cur_contact_t *cc, sip_contact_t *c,
			str_t alias)
{
	str_t us = c->na.uri_str;
	const char *he = hostport_end(&c->na.uri);
	int br = bracketed(cc->line, us);
	nh_sb_t b;

	nh_sb_init(&b, msg->arena, us.len + alias.len + 4);
	if (!br)
		nh_sb_cstr(&b, "<");
	nh_sb_add(&b, us.s, (size_t)(he - us.s));
	nh_sb_str(&b, alias);
	nh_sb_add(&b, he, (size_t)(us.s + us.len - he));
	if (!br)
		nh_sb_cstr(&b, ">");
	if (b.err ||
	    contact_splice(msg, cc, us.s, us.s + us.len, nh_sb_done(&b)) < 0)
		return -1;
	return 1;
}

/* The transport a URI asks for: its transport parameter, else UDP for
 * sip: and TLS for sips:. */
static sip_proto_t uri_proto(const sip_uri_t *u)
{
	if (u->transport.len)
		return net_proto_from_name(u->transport);
	return u->scheme == SIP_URI_SIPS ? SIP_PROTO_TLS : SIP_PROTO_UDP;
}

/* add_contact_alias(): the alias of the source address, unless the
 * Contact URI already names it (same IP, port and transport). 1 added,
 * 2 not needed or no Contact, -1 error. */
static int ki_add_contact_alias(ksr_ctx_t *ctx, const ksr_arg_t *a,
				ksr_xval_t *r)
{
	cur_contact_t cc;
	sip_contact_t *c;
	sip_sockaddr_t ca;
	nh_sb_t b;
	int rc;

	if (!MSG)
		return -1;
	rc = contact_first(MSG, &cc);
	if (rc == 0)
		return 2;
	if (rc < 0 || !(c = first_contact(MSG, &cc))) {
		LOG_ERR("nathelper: add_contact_alias: cannot get the Contact "
			"URI");
		return -1;
	}
	if (nh_ip_parse(c->na.uri.host, &ca) == 0 &&
	    nh_ip_eq(&ca, &MSG->rcv.src)) {
		int sport = net_addr_port(&MSG->rcv.src);
		const sip_uri_t *u = &c->na.uri;

		if ((u->port_no == sport || (!u->port.len && sport == 5060)) &&
		    uri_proto(u) == MSG->rcv.proto)
			return 2;
	}
	nh_sb_init(&b, MSG->arena, 96);
	if (src_alias(MSG, &b) < 0 || b.err)
		return -1;
	return insert_alias(MSG, &cc, c, nh_sb_done(&b));
}

/* add_contact_alias(ip, port, proto): the alias of the given address. */
static int ki_add_contact_alias_addr(ksr_ctx_t *ctx, const ksr_arg_t *a,
				     ksr_xval_t *r)
{
	cur_contact_t cc;
	sip_contact_t *c;
	sip_sockaddr_t ip;
	sip_proto_t proto;
	long port;
	nh_sb_t b;
	char pd[2] = {0, 0};
	int rc;

	if (!MSG)
		return -1;
	rc = contact_first(MSG, &cc);
	if (rc == 0)
		return 2;
	if (rc < 0 || !(c = first_contact(MSG, &cc))) {
		LOG_ERR("nathelper: add_contact_alias: cannot get the Contact "
			"URI");
		return -1;
	}
	if (nh_ip_parse(a[0].s, &ip) < 0) {
		LOG_ERR("nathelper: add_contact_alias: '%.*s' is not an IP "
			"address",
			STR_FMT(a[0].s));
		return -1;
	}
	port = str_to_uint(a[1].s);
	if (port <= 0 || port > 65535) {
		LOG_ERR("nathelper: add_contact_alias: '%.*s' is not a port",
			STR_FMT(a[1].s));
		return -1;
	}
	proto = net_proto_from_name(a[2].s);
	if (proto < SIP_PROTO_UDP || proto > SIP_PROTO_WSS) {
		LOG_ERR("nathelper: add_contact_alias: '%.*s' is not a known "
			"protocol",
			STR_FMT(a[2].s));
		return -1;
	}
	nh_sb_init(&b, MSG->arena, 96);
	nh_sb_cstr(&b, ";alias=");
	if (ip.sa.sa_family == AF_INET6 && a[0].s.s[0] != '[') {
		nh_sb_cstr(&b, "[");
		nh_sb_str(&b, a[0].s);
		nh_sb_cstr(&b, "]");
	} else {
		nh_sb_str(&b, a[0].s);
	}
	nh_sb_cstr(&b, "~");
	nh_sb_int(&b, port);
	pd[0] = (char)('0' + proto);
	nh_sb_cstr(&b, "~");
	nh_sb_cstr(&b, pd);
	if (b.err)
		return -1;
	return insert_alias(MSG, &cc, c, nh_sb_done(&b));
}

/* ---- aliases back to addresses ---- */

/* Find the "alias" parameter in URI parameter text params (raw, without
 * the leading ';'): 1 with *param the whole "alias=..." text and *val its
 * value, 0 when absent. */
static int find_alias(str_t params, str_t *param, str_t *val)
{
	size_t i = 0;

	while (i < params.len) {
		size_t e = i;

		while (e < params.len && params.s[e] != ';')
			e++;
		if (e - i >= 6 && memcmp(params.s + i, "alias=", 6) == 0) {
			*param = (str_t){params.s + i, e - i};
			*val = (str_t){params.s + i + 6, e - i - 6};
			return 1;
		}
		i = e + 1;
	}
	return 0;
}

/* "ip~port~p" to "sip:ip:port" (+ ";transport=x" unless UDP). 0 or -1. */
static int alias_to_uri(arena_t *ar, str_t val, str_t *out)
{
	const char *t1 = memchr(val.s, '~', val.len), *t2;
	nh_sb_t b;
	int proto;

	if (!t1) {
		LOG_ERR("nathelper: no '~' in alias '%.*s'", STR_FMT(val));
		return -1;
	}
	t2 = memchr(t1 + 1, '~', (size_t)(val.s + val.len - t1 - 1));
	if (!t2 || t2 + 2 != val.s + val.len || t1 == val.s || t2 == t1 + 1) {
		LOG_ERR("nathelper: malformed alias '%.*s'", STR_FMT(val));
		return -1;
	}
	proto = t2[1] - '0';
	if (proto < SIP_PROTO_UDP || proto > SIP_PROTO_WSS) {
		LOG_ERR("nathelper: unknown protocol in alias '%.*s'",
			STR_FMT(val));
		return -1;
	}
	nh_sb_init(&b, ar, val.len + 32);
	nh_sb_cstr(&b, "sip:");
	nh_sb_add(&b, val.s, (size_t)(t1 - val.s));
	nh_sb_cstr(&b, ":");
	nh_sb_add(&b, t1 + 1, (size_t)(t2 - t1 - 1));
	if (proto != SIP_PROTO_UDP) {
		nh_sb_cstr(&b, ";transport=");
		nh_sb_cstr(&b, net_proto_name((sip_proto_t)proto));
	}
	*out = nh_sb_done(&b);
	return b.err ? -1 : 0;
}

/* handle_ruri_alias(): $du from the R-URI's alias parameter, which is
 * removed from the R-URI. 1 done, 2 no alias, -1 error. */
static int ki_handle_ruri_alias(ksr_ctx_t *ctx, const ksr_arg_t *a,
				ksr_xval_t *r)
{
	sip_uri_t *u;
	str_t cur, param, val, du;
	const char *from, *to;
	nh_sb_t b;
	char *p;

	if (!MSG || MSG->kind != SIP_REQUEST)
		return -1;
	u = sip_get_cur_ruri(MSG);
	if (!u) {
		LOG_ERR("nathelper: handle_ruri_alias: bad Request-URI");
		return -1;
	}
	cur = sip_cur_uri(MSG);
	if (!u->params.len || !find_alias(u->params, &param, &val))
		return 2;
	if (param.s <= cur.s || param.s + param.len > cur.s + cur.len)
		return -1;
	if (alias_to_uri(MSG->arena, val, &du) < 0)
		return -1;
	p = arena_strndup(MSG->arena, du.s, du.len);
	if (!p)
		return -1;
	MSG->dst_uri = (str_t){p, du.len};
	/* drop ";alias=..." (the ';' before it) */
	from = param.s - 1;
	to = param.s + param.len;
	nh_sb_init(&b, MSG->arena, cur.len);
	nh_sb_add(&b, cur.s, (size_t)(from - cur.s));
	nh_sb_add(&b, to, (size_t)(cur.s + cur.len - to));
	if (b.err || sip_set_ruri(MSG, nh_sb_done(&b)) < 0)
		return -1;
	return 1;
}

/* set_alias_to_pv(pv): the first Contact's alias as a SIP URI into the
 * writable variable pv. 1, or -1 (no Contact, no alias, bad variable). */
static int ki_set_alias_to_pv(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	cur_contact_t cc;
	sip_contact_t *c;
	const pv_spec_t *sp;
	str_t param, val, uri;
	ksr_xval_t v;
	char err[128];

	if (!MSG || !(c = first_contact(MSG, &cc)))
		return -1;
	if (!find_alias(c->na.uri.params, &param, &val))
		return -1;
	sp = pv_spec_cached(a[0].s, err, sizeof(err));
	if (!sp || !pv_is_writable(sp)) {
		LOG_ERR("nathelper: set_alias_to_pv: '%.*s': %s",
			STR_FMT(a[0].s), sp ? "not writable" : err);
		return -1;
	}
	if (alias_to_uri(MSG->arena, val, &uri) < 0)
		return -1;
	memset(&v, 0, sizeof(v));
	v.type = KSR_STR;
	v.s = uri;
	return pv_set(ctx, sp, &v) == 0 ? 1 : -1;
}

/* ---- received address ---- */

/* fix_nated_register(): the source as a SIP URI into received_avp, for
 * registrar.save() to store. 1 (also when received_avp is unset, as
 * Kamailio's KEMI function), -1 on error. */
static int ki_fix_nated_register(ksr_ctx_t *ctx, const ksr_arg_t *a,
				 ksr_xval_t *r)
{
	ksr_xval_t v;

	if (!rcv_spec)
		return 1;
	if (!MSG)
		return -1;
	memset(&v, 0, sizeof(v));
	v.type = KSR_STR;
	v.s = nh_src_uri(MSG);
	if (!v.s.len)
		return -1;
	return pv_set(ctx, rcv_spec, &v) == 0 ? 1 : -1;
}

/* add_rcv_param(flag): ;received="<source URI>" after every contact of
 * every Contact header (flag 0), or ;received=<source URI> inside each
 * Contact URI (flag != 0, UDP only). 1 or -1. */
static int ki_add_rcv_param(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	int upos = a[0].n != 0;
	str_t src;

	if (!MSG)
		return -1;
	if (upos && MSG->rcv.proto != SIP_PROTO_UDP) {
		LOG_ERR("nathelper: add_rcv_param: adding received to the "
			"Contact URI works only for UDP");
		return -1;
	}
	src = nh_src_uri(MSG);
	if (!src.len)
		return -1;
	for (sip_hdr_t *h = sip_hdr_first(MSG, SIP_HDR_CONTACT); h;
	     h = sip_hdr_next(MSG, h)) {
		cur_contact_t cc;
		nh_sb_t b;
		const char *done;

		if (h->flags & SIP_HDR_F_REMOVED)
			continue;
		if (contact_of(MSG, h, &cc) < 0)
			return -1;
		if (cc.list->star)
			continue;
		nh_sb_init(&b, MSG->arena, cc.line.len + 64);
		done = cc.line.s;
		for (sip_contact_t *c = cc.list->first; c; c = c->next) {
			const char *at =
			    upos ? c->na.uri_str.s + c->na.uri_str.len
				 : c->na.raw.s + c->na.raw.len;

			nh_sb_add(&b, done, (size_t)(at - done));
			nh_sb_cstr(&b, upos ? ";received=" : ";received=\"");
			nh_sb_str(&b, src);
			if (!upos)
				nh_sb_cstr(&b, "\"");
			done = at;
		}
		nh_sb_add(&b, done, (size_t)(cc.line.s + cc.line.len - done));
		if (b.err || hdr_replace(MSG, cc.idx, nh_sb_done(&b)) < 0)
			return -1;
	}
	return 1;
}

/* ---- SDP, addresses ---- */

static int ki_fix_nated_sdp(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return MSG ? nh_fix_sdp(MSG, a[0].n, STR_NULL) : -1;
}

static int ki_fix_nated_sdp_ip(ksr_ctx_t *ctx, const ksr_arg_t *a,
			       ksr_xval_t *r)
{
	return MSG ? nh_fix_sdp(MSG, a[0].n, a[1].s) : -1;
}

static int ki_is_rfc1918(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return nh_is_rfc1918(a[0].s) ? 1 : -1;
}

/* ---- $rr_count, $rr_top_count ---- */

static int get_rr_count(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	long n = 0;

	if (!ctx || !ctx->msg) {
		out->type = KSR_NULL;
		return 0;
	}
	for (sip_hdr_t *h = sip_hdr_first(ctx->msg, SIP_HDR_RECORDROUTE); h;
	     h = sip_hdr_next(ctx->msg, h)) {
		sip_rr_t *rr = sip_get_rr(ctx->msg, h);

		if (!rr) {
			out->type = KSR_NULL;
			return -OSP_EPARSE;
		}
		for (; rr; rr = rr->next)
			n++;
	}
	out->type = KSR_INT;
	out->n = n;
	return 0;
}

/* 2 when the top Record-Route is one of a double pair (its URI has an r2
 * parameter), 1 for a single one, 0 without Record-Route. */
static int get_rr_top_count(ksr_ctx_t *ctx, const pv_spec_t *sp,
			    ksr_xval_t *out)
{
	sip_hdr_t *h;
	sip_rr_t *rr;

	if (!ctx || !ctx->msg) {
		out->type = KSR_NULL;
		return 0;
	}
	out->type = KSR_INT;
	out->n = 0;
	h = sip_hdr_first(ctx->msg, SIP_HDR_RECORDROUTE);
	if (!h)
		return 0;
	rr = sip_get_rr(ctx->msg, h);
	if (!rr || !rr->na.uri_ok) {
		out->type = KSR_NULL;
		return -OSP_EPARSE;
	}
	out->n = sip_param_find(rr->na.uri.param_list, STR_LIT("r2")) ? 2 : 1;
	return 0;
}

static const pv_class_t nh_pv_classes[] = {
    {"rr_count", get_rr_count, NULL, 0, 0, NULL, NULL},
    {"rr_top_count", get_rr_top_count, NULL, 0, 0, NULL, NULL},
    {NULL, NULL, NULL, 0, 0, NULL, NULL},
};

/* ---- RPC ---- */

/* nathelper.enable_ping N: keepalives on (N != 0) or off. */
static json_t *rpc_enable_ping(json_t *params, rpc_error_t *err)
{
	long v;

	if (nh_ping_state() < 0)
		return rpc_fail(err, 500, "NATping disabled");
	if (rpc_param_int(params, 0, &v, err) < 0)
		return rpc_fail(err, 500, "No parameter");
	nh_ping_set_state(v != 0);
	return json_null();
}

static const rpc_export_t nh_rpc[] = {
    {"nathelper.enable_ping", rpc_enable_ping,
     "Enable (1) or disable (0) the NAT keepalives"},
    {NULL, NULL, NULL},
};

/* ---- module ---- */

static const ksr_export_t nh_exports[] = {
    {"nathelper", "nat_uac_test", KSR_INT, ki_nat_uac_test, {KSR_INT}},
    {"nathelper", "fix_nated_contact", KSR_INT, ki_fix_nated_contact, {0}},
    {"nathelper", "fix_nated_register", KSR_INT, ki_fix_nated_register, {0}},
    {"nathelper", "set_contact_alias", KSR_INT, ki_set_contact_alias, {0}},
    {"nathelper",
     "set_contact_alias_trim",
     KSR_INT,
     ki_set_contact_alias_trim,
     {0}},
    {"nathelper", "handle_ruri_alias", KSR_INT, ki_handle_ruri_alias, {0}},
    {"nathelper", "is_rfc1918", KSR_INT, ki_is_rfc1918, {KSR_STR}},
    {"nathelper", "add_contact_alias", KSR_INT, ki_add_contact_alias, {0}},
    {"nathelper",
     "add_contact_alias_addr",
     KSR_INT,
     ki_add_contact_alias_addr,
     {KSR_STR, KSR_STR, KSR_STR}},
    {"nathelper", "add_rcv_param", KSR_INT, ki_add_rcv_param, {KSR_INT}},
    {"nathelper", "fix_nated_sdp", KSR_INT, ki_fix_nated_sdp, {KSR_INT}},
    {"nathelper",
     "fix_nated_sdp_ip",
     KSR_INT,
     ki_fix_nated_sdp_ip,
     {KSR_INT, KSR_STR}},
    {"nathelper", "set_alias_to_pv", KSR_INT, ki_set_alias_to_pv, {KSR_STR}},
    {NULL, NULL, 0, NULL, {0}},
};

static const osp_param_t nh_params[] = {
    {"natping_interval", MP_INT, &nh_natping_interval, NULL},
    {"ping_nated_only", MP_INT, &nh_ping_nated_only, NULL},
    {"nortpproxy_str", MP_STR, &nh_nortpproxy, NULL},
    {"received_avp", MP_STR, &p_received_avp, NULL},
    {"force_socket", MP_STR, &nh_force_socket, NULL},
    {"sipping_from", MP_STR, &nh_sipping_from, NULL},
    {"sipping_method", MP_STR, &nh_sipping_method, NULL},
    {"sipping_bflag", MP_INT, &nh_sipping_bflag, NULL},
    {"natping_disable_bflag", MP_INT, &nh_natping_disable_bflag, NULL},
    {"natping_processes", MP_INT, &nh_natping_processes, NULL},
    {"natping_socket", MP_STR, &nh_natping_socket, NULL},
    {"keepalive_timeout", MP_INT, &nh_keepalive_timeout, NULL},
    {"udpping_from_path", MP_INT, &nh_udpping_from_path, NULL},
    {"append_sdp_oldmediaip", MP_INT, &nh_append_oldmediaip, NULL},
    {"filter_server_id", MP_INT, &nh_filter_server_id, NULL},
    {"nat_addr_mode", MP_INT, &nh_nat_addr_mode, NULL},
    {NULL, 0, NULL, NULL},
};

static int nh_init(void)
{
	static int pv_done;
	char err[256];

	if (!nh_nortpproxy)
		nh_nortpproxy = strdup(DEFAULT_NORTPPROXY);
	if (!nh_sipping_method)
		nh_sipping_method = strdup("OPTIONS");
	if (!nh_nortpproxy || !nh_sipping_method)
		return -1;
	if (p_received_avp && *p_received_avp) {
		rcv_spec =
		    pv_spec_parse(str_from(p_received_avp), err, sizeof(err));
		if (!rcv_spec || strncmp(p_received_avp, "$avp(", 5) != 0) {
			LOG_ERR("nathelper: received_avp '%s' is not an AVP "
				"(like \"$avp(RECEIVED)\")%s%s",
				p_received_avp, rcv_spec ? "" : ": ",
				rcv_spec ? "" : err);
			pv_spec_free(rcv_spec);
			rcv_spec = NULL;
			return -1;
		}
	}
	if (!pv_done && pv_register_classes(nh_pv_classes) < 0)
		return -1;
	pv_done = 1;
	return nh_ping_init();
}

static int nh_child_init(int worker)
{
	nh_ping_child_init();
	return 0;
}

static void nh_destroy(void)
{
	nh_ping_destroy();
	pv_spec_free(rcv_spec);
	rcv_spec = NULL;
}

osp_module_t osp_mod_nathelper = {
    .name = "nathelper",
    .exports = nh_exports,
    .params = nh_params,
    .rpc = nh_rpc,
    .init = nh_init,
    .child_init = nh_child_init,
    .destroy = nh_destroy,
};
