/* nh_addr.c - which addresses nathelper calls private, source address
 * helpers, and the arena text buffer the other files build with. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "modules/nathelper/nh_int.h"
#include "net/net.h"

/* Kamailio's nets_1918 list, plus the reserved 192.0.0.0/24 that its
 * nat_addr_mode 1 adds. Host byte order. */
static const struct {
	uint32_t net, mask;
	int reserved; /* only with nat_addr_mode 1 */
} nets[] = {
    {0x0a000000u, 0xff000000u, 0}, /* 10.0.0.0/8 */
    {0xac100000u, 0xfff00000u, 0}, /* 172.16.0.0/12 */
    {0xc0a80000u, 0xffff0000u, 0}, /* 192.168.0.0/16 */
    {0x64400000u, 0xffc00000u, 0}, /* 100.64.0.0/10, RFC 6598 */
    {0xc0000000u, 0xfffffff8u, 0}, /* 192.0.0.0/29, RFC 7335 */
    {0xc0000000u, 0xffffff00u, 1}, /* 192.0.0.0/24, RFC 6890 */
};

int nh_ipv4_private(uint32_t addr)
{
	uint32_t h = ntohl(addr);

	for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
		if (nets[i].reserved && !nh_nat_addr_mode)
			continue;
		if ((h & nets[i].mask) == nets[i].net)
			return 1;
	}
	return 0;
}

int nh_ip_parse(str_t s, sip_sockaddr_t *out)
{
	char buf[64];

	memset(out, 0, sizeof(*out));
	if (s.len >= 2 && s.s[0] == '[' && s.s[s.len - 1] == ']') {
		s.s++;
		s.len -= 2;
	}
	if (!s.len || s.len >= sizeof(buf))
		return -1;
	str_to_buf(s, buf, sizeof(buf));
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

int nh_is_rfc1918(str_t ip)
{
	sip_sockaddr_t a;

	if (nh_ip_parse(ip, &a) < 0 || a.sa.sa_family != AF_INET)
		return 0;
	/* brackets only make sense around IPv6 */
	if (ip.len && ip.s[0] == '[')
		return 0;
	return nh_ipv4_private(a.in4.sin_addr.s_addr);
}

int nh_sockaddr_private(const sip_sockaddr_t *a)
{
	return a->sa.sa_family == AF_INET &&
	       nh_ipv4_private(a->in4.sin_addr.s_addr);
}

int nh_ip_eq(const sip_sockaddr_t *a, const sip_sockaddr_t *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return 0;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
	return 0;
}

void nh_src(const sip_msg_t *msg, char *ip, size_t cap, int *port)
{
	if (net_addr_to_ip(&msg->rcv.src, ip, cap) < 0 && cap)
		ip[0] = '\0';
	*port = net_addr_port(&msg->rcv.src);
}

const char *nh_uri_transport(sip_proto_t p)
{
	switch (p) {
	case SIP_PROTO_TCP: return "tcp";
	case SIP_PROTO_TLS: return "tls";
	case SIP_PROTO_SCTP: return "sctp";
	case SIP_PROTO_WS:
	case SIP_PROTO_WSS: return "ws";
	default: return "udp";
	}
}

str_t nh_src_uri(sip_msg_t *msg)
{
	char ip[64], *p;
	int port, n, v6 = msg->rcv.src.sa.sa_family == AF_INET6;
	size_t cap = 128;

	nh_src(msg, ip, sizeof(ip), &port);
	if (!ip[0])
		return STR_NULL;
	p = arena_alloc(msg->arena, cap);
	if (!p)
		return STR_NULL;
	n = snprintf(p, cap, "sip:%s%s%s:%d", v6 ? "[" : "", ip, v6 ? "]" : "",
		     port);
	if (msg->rcv.proto != SIP_PROTO_UDP && msg->rcv.proto != SIP_PROTO_NONE)
		n += snprintf(p + n, cap - (size_t)n, ";transport=%s",
			      nh_uri_transport(msg->rcv.proto));
	return (str_t){p, (size_t)n};
}

/* ---- text buffer ---- */

void nh_sb_init(nh_sb_t *b, arena_t *a, size_t cap)
{
	b->a = a;
	b->len = 0;
	b->err = 0;
	b->cap = cap ? cap : 64;
	b->s = arena_alloc(a, b->cap);
	if (!b->s) {
		b->cap = 0;
		b->err = 1;
	}
}

void nh_sb_add(nh_sb_t *b, const char *s, size_t n)
{
	if (b->err || !n)
		return;
	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2;
		char *ns = arena_alloc(b->a, cap);

		if (!ns) {
			b->err = 1;
			return;
		}
		memcpy(ns, b->s, b->len);
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
}

void nh_sb_int(nh_sb_t *b, long v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%ld", v);

	nh_sb_add(b, tmp, (size_t)n);
}
