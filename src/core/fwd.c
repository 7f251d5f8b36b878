/* fwd.c - local replies, stateless forwarding and the "myself" test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "core/fwd.h"
#include "core/globals.h"
#include "core/log.h"
#include "core/osp.h"
#include "core/stats.h"
#include "net/net.h"
#include "sip/build.h"

osp_onsend_fn osp_onsend_hook;
osp_prebuild_fn osp_prebuild_hook;
osp_tm_reply_fn osp_tm_reply_hook;

OSP_COUNTER(st_fwd_requests, "core", "fwd_requests");
OSP_COUNTER(st_fwd_replies, "core", "fwd_replies");
OSP_COUNTER(st_local_replies, "core", "local_replies");
OSP_COUNTER(st_drop_replies, "core", "drop_replies");

void fwd_stats_register(void)
{
	stats_register(&st_fwd_requests);
	stats_register(&st_fwd_replies);
	stats_register(&st_local_replies);
	stats_register(&st_drop_replies);
}

/* FNV-1a, good enough for tags and stateless branches. */
static uint64_t fnv(uint64_t h, str_t s)
{
	for (size_t i = 0; i < s.len; i++) {
		h ^= (unsigned char)s.s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* prefix + 16 lower-case hex digits of h into buf (cap >= plen + 17). */
static str_t hex_tag(char *buf, size_t cap, const char *prefix, size_t plen,
		     uint64_t h)
{
	if (cap < plen + 17)
		return (str_t){buf, 0};
	memcpy(buf, prefix, plen);
	for (int i = 15; i >= 0; i--, h >>= 4)
		buf[plen + (size_t)i] = "0123456789abcdef"[h & 15];
	buf[plen + 16] = '\0';
	return (str_t){buf, plen + 16};
}

str_t osp_totag(sip_msg_t *req, char *buf, size_t cap)
{
	uint64_t h = 1469598103934665603ULL;
	sip_via_t *v = sip_get_via1(req);
	str_t ftag;

	h = fnv(h, sip_get_callid(req));
	if (sip_get_tag(req, SIP_HDR_FROM, &ftag) > 0)
		h = fnv(h, ftag);
	if (v)
		h = fnv(h, v->branch);
	return hex_tag(buf, cap, "osp", 3, h);
}

/* RFC 3261 §18.2.1 received and RFC 3581 rport for the top Via. */
static void via_fix_for(sip_msg_t *msg, sip_via_t *v, sip_via_fix_t *fix,
			char *ipbuf, size_t cap)
{
	str_t host;

	memset(fix, 0, sizeof(*fix));
	if (!v)
		return;
	net_addr_to_ip(&msg->rcv.src, ipbuf, cap);
	host = v->host;
	if (host.len >= 2 && host.s[0] == '[') {
		host.s++;
		host.len -= 2;
	}
	if (!str_eq_cstr(host, ipbuf) || v->has_rport || msg->force_rport)
		fix->received = str_from(ipbuf);
	if (v->has_rport || msg->force_rport)
		fix->rport = net_addr_port(&msg->rcv.src);
}

static void set_port(sip_sockaddr_t *a, int port)
{
	if (a->sa.sa_family == AF_INET6)
		a->in6.sin6_port = htons((uint16_t)port);
	else
		a->in4.sin_port = htons((uint16_t)port);
}

/* Where a reply to `req` goes (RFC 3261 §18.2.2, RFC 3581). */
static int reply_dest(sip_msg_t *req, sip_via_t *v, net_dest_t *dst)
{
	memset(dst, 0, sizeof(*dst));
	dst->proto = req->rcv.proto;
	dst->to = req->rcv.src;
	dst->from = req->rcv.listener;
	if (dst->proto != SIP_PROTO_UDP) {
		/* same connection; if it is gone, a new one to the source
		 * address and the port in sent-by */
		dst->conn_id = req->rcv.conn_id;
		dst->no_connect = req->reply_no_connect;
		if (v && !v->has_rport && !req->force_rport && v->port_no)
			set_port(&dst->to, v->port_no);
		return 0;
	}
	if (v && !v->has_rport && !req->force_rport) {
		set_port(&dst->to, v->port_no ? v->port_no : 5060);
	}
	return 0;
}

int osp_reply_dest(sip_msg_t *req, net_dest_t *dst)
{
	return reply_dest(req, sip_get_via1(req), dst);
}

int osp_build_reply(sip_msg_t *req, int code, str_t reason, str_t extra,
		    str_t body, str_t *out)
{
	sip_via_t *v;
	sip_via_fix_t fix;
	char ip[64], tagbuf[40], hdrs[512];
	str_t tag = STR_NULL;
	size_t hl = 0;

	if (req->kind != SIP_REQUEST || req->method_id == SIP_METHOD_ACK)
		return -1;
	v = sip_get_via1(req);
	if (!v)
		return -1;
	via_fix_for(req, v, &fix, ip, sizeof(ip));
	if (code > 100)
		tag = osp_totag(req, tagbuf, sizeof(tagbuf));
	if (osp_g.server_header && osp_g.server_signature_str) {
		hl = strlen(osp_g.server_signature_str);
		if (hl + 2 < sizeof(hdrs)) {
			memcpy(hdrs, osp_g.server_signature_str, hl);
			memcpy(hdrs + hl, "\r\n", 2);
			hl += 2;
		} else {
			hl = 0;
		}
	}
	if (extra.len) {
		char *x = arena_alloc(req->arena, hl + extra.len);

		if (!x)
			return -1;
		memcpy(x, hdrs, hl);
		memcpy(x + hl, extra.s, extra.len);
		extra = (str_t){x, hl + extra.len};
	} else {
		extra = (str_t){hdrs, hl};
	}
	if (!reason.len)
		reason = str_from(sip_reason_phrase(code));
	if (sip_build_reply(req, code, reason, tag, &fix, extra, body,
			    req->arena, out) < 0)
		return -1;
	return 0;
}

int osp_send_reply(sip_msg_t *req, int code, str_t reason, str_t extra,
		   str_t body)
{
	str_t out;
	net_dest_t dst;

	if (osp_build_reply(req, code, reason, extra, body, &out) < 0)
		return -1;
	osp_reply_dest(req, &dst);
	if (net_send(&dst, out.s, out.len) < 0)
		return -1;
	if (code >= 200)
		req->replied = 1;
	stats_inc(&st_local_replies);
	return 1;
}

/* The stateless branch: the same request (and its retransmissions, and a
 * CANCEL of it) gets the same branch, so downstream matching works. */
static str_t sl_branch(sip_msg_t *msg, char *buf, size_t cap)
{
	uint64_t h = 1469598103934665603ULL;
	sip_via_t *v = sip_get_via1(msg);
	sip_cseq_t *cs = sip_get_cseq(msg);

	if (v && v->branch.len > 7 && strncmp(v->branch.s, "z9hG4bK", 7) == 0) {
		h = fnv(h, v->branch);
		h = fnv(h, v->host);
	} else {
		sip_nameaddr_t *f = sip_get_from(msg);
		sip_nameaddr_t *t = sip_get_to(msg);

		h = fnv(h, sip_get_callid(msg));
		h = fnv(h, msg->ruri);
		if (f)
			h = fnv(h, f->tag);
		if (t)
			h = fnv(h, t->tag);
		if (cs)
			h = fnv(h, cs->number);
	}
	return hex_tag(buf, cap, "z9hG4bKsl", 9, h);
}

int osp_build_request(sip_msg_t *msg, net_dest_t *dst, str_t branch,
		      str_t *out)
{
	net_listener_t *l = dst->from;
	sip_via_fix_t fix;
	char ip[64], via[256];
	int n;

	if (msg->kind != SIP_REQUEST)
		return -1;
	if (!l) {
		l = net_pick_listener(dst->proto, dst->to.sa.sa_family);
		if (!l) {
			LOG_RATE(L_ERR, "forward: no %s socket for '%.*s'",
				 net_proto_name(dst->proto),
				 STR_FMT(sip_cur_uri(msg)));
			return -1;
		}
		dst->from = l;
	}
	via_fix_for(msg, sip_get_via1(msg), &fix, ip, sizeof(ip));
	if (osp_prebuild_hook && osp_prebuild_hook(msg, l) < 0)
		return -1;
	if (l->adv_host[0])
		n = snprintf(via, sizeof(via), "Via: SIP/2.0/%s %s:%d;branch=%.*s%s\r\n",
			     dst->proto == SIP_PROTO_TCP ? "TCP" : "UDP",
			     l->adv_host, l->adv_port ? l->adv_port : l->port,
			     STR_FMT(branch), msg->add_local_rport ? ";rport" : "");
	else
		n = snprintf(via, sizeof(via), "Via: SIP/2.0/%s %s:%d;branch=%.*s%s\r\n",
			     dst->proto == SIP_PROTO_TCP ? "TCP" : "UDP", l->host,
			     l->port, STR_FMT(branch),
			     msg->add_local_rport ? ";rport" : "");
	if (n < 0 || (size_t)n >= sizeof(via))
		return -1;
	if (sip_build_request(msg, (str_t){via, (size_t)n}, &fix, msg->arena,
			      out) < 0)
		return -1;
	return 0;
}

int osp_send_request(sip_msg_t *msg, net_dest_t *dst, str_t out)
{
	if (osp_onsend_hook && !osp_onsend_hook(msg, out))
		return 0; /* dropped by the onsend route */
	if (net_send(dst, out.s, out.len) < 0)
		return -1;
	return 1;
}

int osp_forward_request(sip_msg_t *msg, str_t uri)
{
	sip_uri_t u;
	net_dest_t dst;
	char br[48];
	str_t branch, out;

	if (msg->kind != SIP_REQUEST)
		return -1;
	if (!uri.len)
		uri = msg->dst_uri.len ? msg->dst_uri : sip_cur_uri(msg);
	if (sip_uri_parse(msg->arena, uri, &u) < 0) {
		LOG_RATE(L_ERR, "forward: bad destination URI '%.*s'",
			 STR_FMT(uri));
		return -1;
	}
	if (net_resolve_uri(&u, &dst) < 0)
		return -1;
	dst.no_connect = msg->forward_no_connect;
	branch = sl_branch(msg, br, sizeof(br));
	if (osp_build_request(msg, &dst, branch, &out) < 0)
		return -1;
	if (osp_send_request(msg, &dst, out) <= 0)
		return -1;
	stats_inc(&st_fwd_requests);
	return 1;
}

int osp_forward_reply(sip_msg_t *msg)
{
	sip_via_t *v1 = sip_get_via1(msg), *v2;
	net_dest_t dst;
	str_t out, host;
	char hbuf[256];
	int port;

	if (!v1 || !osp_is_myself(v1->host, v1->port_no, 0)) {
		stats_inc(&st_drop_replies);
		LOG_RATE(L_WARN, "dropping a reply whose top Via is not ours");
		return -1;
	}
	v2 = sip_get_via2(msg);
	if (!v2) {
		stats_inc(&st_drop_replies);
		LOG_RATE(L_WARN, "dropping a reply with no second Via");
		return -1;
	}
	memset(&dst, 0, sizeof(dst));
	dst.proto = net_proto_from_name(v2->transport);
	if (dst.proto != SIP_PROTO_UDP && dst.proto != SIP_PROTO_TCP) {
		stats_inc(&st_drop_replies);
		return -1;
	}
	host = v2->received.len ? v2->received : v2->host;
	if (v2->maddr.len)
		host = v2->maddr;
	port = v2->port_no ? v2->port_no : 5060;
	if (v2->rport.len) {
		long rp = str_to_uint(v2->rport);

		if (rp > 0 && rp < 65536)
			port = (int)rp;
	}
	str_to_buf(host, hbuf, sizeof(hbuf));
	if (net_addr_from_ip(hbuf, port, &dst.to) < 0) {
		sip_uri_t u;

		/* a host name in sent-by: resolve like a URI */
		memset(&u, 0, sizeof(u));
		u.scheme = SIP_URI_SIP;
		u.host = host;
		u.port_no = port;
		if (net_resolve_uri(&u, &dst) < 0) {
			stats_inc(&st_drop_replies);
			return -1;
		}
		dst.proto = net_proto_from_name(v2->transport);
	}
	if (sip_build_fwd_reply(msg, msg->arena, &out) < 0)
		return -1;
	if (net_send(&dst, out.s, out.len) < 0)
		return -1;
	stats_inc(&st_fwd_replies);
	return 1;
}

int osp_is_myself(str_t host, int port, int proto)
{
	char h[256];

	if (host.len >= 2 && host.s[0] == '[') {
		host.s++;
		host.len -= 2;
	}
	str_to_buf(host, h, sizeof(h));
	for (net_listener_t *l = net_listeners; l; l = l->next) {
		if (proto && (int)l->proto != proto)
			continue;
		if (port && port != l->port &&
		    !(l->adv_port && port == l->adv_port))
			continue;
		if (strcasecmp(h, l->ip) == 0 ||
		    (l->adv_host[0] && strcasecmp(h, l->adv_host) == 0))
			return 1;
	}
	for (int i = 0; i < osp_g.n_alias; i++) {
		/* alias is host[:port], IPv6 hosts in brackets */
		const char *a = osp_g.alias[i];
		const char *end = a[0] == '[' ? strchr(a, ']') : NULL;
		const char *colon = strrchr(end ? end : a, ':');
		size_t alen = colon ? (size_t)(colon - a) : strlen(a);
		int aport = colon ? atoi(colon + 1) : 0;

		if (end) {
			a++;
			alen = (size_t)(end - a);
		}
		if (alen == strlen(h) && strncasecmp(a, h, alen) == 0 &&
		    (!port || !aport || port == aport))
			return 1;
	}
	return 0;
}
