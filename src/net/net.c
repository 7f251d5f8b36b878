/* net.c - listeners, address helpers, URI resolution and UDP. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/globals.h"
#include "core/log.h"
#include "core/osp.h"
#include "core/stats.h"
#include "core/thread_obj.h"
#include "net/dns.h"
#include "net/net.h"
#include "net/net_internal.h"

net_listener_t *net_listeners;
_Thread_local int net_worker_idx = -1;
int net_n_workers;

/* Per listener, per worker sockets (UDP datagram or TCP listening). */
typedef struct lsock_set {
	net_listener_t *lst;
	int *fds;
	net_ev_t *evs;
	struct lsock_set *next;
} lsock_set_t;

static lsock_set_t *lsocks;

OSP_COUNTER(st_udp_send_err, "core", "send_errors");

const char *net_proto_name(sip_proto_t p)
{
	switch (p) {
	case SIP_PROTO_UDP: return "udp";
	case SIP_PROTO_TCP: return "tcp";
	case SIP_PROTO_TLS: return "tls";
	case SIP_PROTO_SCTP: return "sctp";
	case SIP_PROTO_WS: return "ws";
	case SIP_PROTO_WSS: return "wss";
	default: return "none";
	}
}

sip_proto_t net_proto_from_name(str_t s)
{
	if (str_caseeq_cstr(s, "udp"))
		return SIP_PROTO_UDP;
	if (str_caseeq_cstr(s, "tcp"))
		return SIP_PROTO_TCP;
	if (str_caseeq_cstr(s, "tls"))
		return SIP_PROTO_TLS;
	if (str_caseeq_cstr(s, "sctp"))
		return SIP_PROTO_SCTP;
	if (str_caseeq_cstr(s, "ws"))
		return SIP_PROTO_WS;
	if (str_caseeq_cstr(s, "wss"))
		return SIP_PROTO_WSS;
	return SIP_PROTO_NONE;
}

/* Dotted quad of an IPv4 address in network order into buf (at least 16
 * bytes): length written, NUL-terminated. Every message's reply and Via
 * check formats the source address, and inet_ntop goes through sprintf
 * (about 1,700 instructions where this takes under 100). */
static int ipv4_to_text(const struct in_addr *in, char *buf)
{
	const uint8_t *b = (const uint8_t *)&in->s_addr;
	char *p = buf;

	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];

		if (i)
			*p++ = '.';
		if (v >= 100) {
			*p++ = (char)('0' + v / 100);
			v %= 100;
			*p++ = (char)('0' + v / 10);
		} else if (v >= 10) {
			*p++ = (char)('0' + v / 10);
		}
		*p++ = (char)('0' + v % 10);
	}
	*p = '\0';
	return (int)(p - buf);
}

/* IPv4 by hand (the hot path: every reply and forwarded request), IPv6
 * through inet_ntop (RFC 5952 zero compression is not worth redoing). On
 * failure (unknown family, cap too small) buf gets "" when cap allows and
 * the result is -1, as with inet_ntop. */
int net_addr_to_ip(const sip_sockaddr_t *a, char *buf, size_t cap)
{
	char tmp[INET_ADDRSTRLEN];
	int n;

	if (a->sa.sa_family == AF_INET) {
		if (cap >= INET_ADDRSTRLEN)
			return ipv4_to_text(&a->in4.sin_addr, buf);
		n = ipv4_to_text(&a->in4.sin_addr, tmp);
		if ((size_t)n < cap) {
			memcpy(buf, tmp, (size_t)n + 1);
			return n;
		}
	} else if (a->sa.sa_family == AF_INET6 &&
		   inet_ntop(AF_INET6, &a->in6.sin6_addr, buf,
			     (socklen_t)cap)) {
		return (int)strlen(buf);
	}
	if (cap)
		buf[0] = '\0';
	return -1;
}

int net_addr_port(const sip_sockaddr_t *a)
{
	return ntohs(a->sa.sa_family == AF_INET6 ? a->in6.sin6_port :
						   a->in4.sin_port);
}

int net_addr_from_ip(const char *ip, int port, sip_sockaddr_t *out)
{
	char tmp[64];
	size_t n = strlen(ip);

	memset(out, 0, sizeof(*out));
	if (n >= 2 && ip[0] == '[' && ip[n - 1] == ']' && n - 2 < sizeof(tmp)) {
		memcpy(tmp, ip + 1, n - 2);
		tmp[n - 2] = '\0';
		ip = tmp;
	}
	if (inet_pton(AF_INET, ip, &out->in4.sin_addr) == 1) {
		out->in4.sin_family = AF_INET;
		out->in4.sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &out->in6.sin6_addr) == 1) {
		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_port = htons((uint16_t)port);
		return 0;
	}
	return -1;
}

int net_addr_eq(const sip_sockaddr_t *a, const sip_sockaddr_t *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return 0;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_port == b->in4.sin_port &&
		       a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return a->in6.sin6_port == b->in6.sin6_port &&
		       memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
	return 0;
}

static socklen_t addr_len(const sip_sockaddr_t *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in4);
}

int net_listener_add(sip_proto_t proto, const char *host, int port,
		     const char *adv_host, int adv_port)
{
	net_listener_t *l = calloc(1, sizeof(*l)), **tail;

	if (!l)
		return -OSP_ENOMEM;
	if (net_addr_from_ip(host, port, &l->addr) < 0) {
		/* a name: resolve once at start */
		struct addrinfo hints = {0}, *res = NULL;

		hints.ai_socktype = SOCK_DGRAM;
		if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) {
			LOG_ERR("listen: cannot resolve '%s'", host);
			free(l);
			return -OSP_EINVAL;
		}
		memcpy(&l->addr, res->ai_addr, res->ai_addrlen);
		freeaddrinfo(res);
		if (l->addr.sa.sa_family == AF_INET6)
			l->addr.in6.sin6_port = htons((uint16_t)port);
		else
			l->addr.in4.sin_port = htons((uint16_t)port);
	}
	l->proto = proto;
	l->af = l->addr.sa.sa_family;
	l->addrlen = addr_len(&l->addr);
	l->port = port;
	net_addr_to_ip(&l->addr, l->ip, sizeof(l->ip));
	if (l->af == AF_INET6)
		snprintf(l->host, sizeof(l->host), "[%s]", l->ip);
	else
		snprintf(l->host, sizeof(l->host), "%s", l->ip);
	if (adv_host && *adv_host)
		snprintf(l->adv_host, sizeof(l->adv_host), "%s", adv_host);
	l->adv_port = adv_port;
	snprintf(l->name, sizeof(l->name), "%s:%s:%d", net_proto_name(proto),
		 l->host, port);
	l->send_fd = -1;
	for (tail = &net_listeners; *tail; tail = &(*tail)->next) {
		if ((*tail)->proto == proto &&
		    net_addr_eq(&(*tail)->addr, &l->addr)) {
			free(l); /* duplicate listen: keep one */
			return 0;
		}
	}
	*tail = l;
	return 0;
}

net_listener_t *net_pick_listener(sip_proto_t proto, int af)
{
	net_listener_t *l, *any = NULL;

	for (l = net_listeners; l; l = l->next) {
		if (l->proto != proto)
			continue;
		if (l->af == af)
			return l;
		if (!any)
			any = l;
	}
	return af ? NULL : any;
}

static int open_socket(net_listener_t *l)
{
	int one = 1;
	int type = l->proto == SIP_PROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
	int fd = socket(l->af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	/* SO_REUSEADDR for TCP only: on UDP it would let another socket
	 * take over the port */
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (l->af == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (type == SOCK_DGRAM) {
		int sz = 4 * 1024 * 1024;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	if (bind(fd, &l->addr.sa, l->addrlen) < 0) {
		LOG_ERR("cannot bind %s: %s", l->name, strerror(errno));
		close(fd);
		return -1;
	}
	if (type == SOCK_STREAM && listen(fd, 1024) < 0) {
		LOG_ERR("cannot listen on %s: %s", l->name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int net_init(void)
{
	stats_register(&st_udp_send_err);
	return net_listeners ? 0 : -OSP_EINVAL;
}

/* SO_REUSEPORT would let a second server (same user) bind the same address
 * and silently take part of the traffic. Bind once without it first: that
 * fails when anybody holds the address. */
static int probe_free(net_listener_t *l)
{
	int one = 1;
	int type = l->proto == SIP_PROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
	int fd = socket(l->af, type | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return -1;
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->af == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	rc = bind(fd, &l->addr.sa, l->addrlen);
	if (rc < 0)
		LOG_ERR("cannot bind %s: %s", l->name, strerror(errno));
	close(fd);
	return rc;
}

int net_open_workers(int n_workers)
{
	net_n_workers = n_workers;
	for (net_listener_t *l = net_listeners; l; l = l->next)
		if (probe_free(l) < 0)
			return -OSP_EIO;
	for (net_listener_t *l = net_listeners; l; l = l->next) {
		lsock_set_t *s = calloc(1, sizeof(*s));

		if (!s)
			return -OSP_ENOMEM;
		s->lst = l;
		s->fds = calloc((size_t)n_workers, sizeof(int));
		s->evs = calloc((size_t)n_workers, sizeof(net_ev_t));
		s->next = lsocks;
		lsocks = s;
		if (!s->fds || !s->evs)
			return -OSP_ENOMEM;
		for (int w = 0; w < n_workers; w++) {
			s->fds[w] = open_socket(l);
			if (s->fds[w] < 0)
				return -OSP_EIO;
			s->evs[w].kind = l->proto == SIP_PROTO_UDP ?
						 NET_EV_UDP :
						 NET_EV_TCP_LISTEN;
			s->evs[w].fd = s->fds[w];
			s->evs[w].lst = l;
		}
		if (l->proto == SIP_PROTO_UDP)
			l->send_fd = s->fds[0];
		LOG_INFO("listening on %s", l->name);
	}
	return 0;
}

int net_worker_register(int worker, int epfd)
{
	for (lsock_set_t *s = lsocks; s; s = s->next) {
		struct epoll_event ee = {.events = EPOLLIN,
					 .data.ptr = &s->evs[worker]};

		if (epoll_ctl(epfd, EPOLL_CTL_ADD, s->fds[worker], &ee) < 0)
			return -OSP_EIO;
	}
	net_set_worker_epfd(worker, epfd);
	return 0;
}

/* The UDP socket of listener l that the calling thread should send from:
 * its own worker's socket, or worker 0's from other threads. */
static int udp_fd_for(net_listener_t *l)
{
	for (lsock_set_t *s = lsocks; s; s = s->next)
		if (s->lst == l)
			return s->fds[net_worker_idx >= 0 ? net_worker_idx : 0];
	return l->send_fd;
}

void net_destroy(void)
{
	lsock_set_t *s, *sn;
	net_listener_t *l, *ln;

	net_tcp_close_all();
	for (s = lsocks; s; s = sn) {
		sn = s->next;
		for (int w = 0; w < net_n_workers; w++)
			if (s->fds[w] > 0)
				close(s->fds[w]);
		free(s->fds);
		free(s->evs);
		free(s);
	}
	lsocks = NULL;
	for (l = net_listeners; l; l = ln) {
		ln = l->next;
		free(l);
	}
	net_listeners = NULL;
}

/* Datagrams are taken UDP_BATCH at a time with one recvmmsg(): a batch
 * shorter than that means the socket was empty, so no extra call is made
 * to learn it (a lone datagram costs epoll_wait + recvmmsg + the reply's
 * sendto, as many calls as a blocking receive loop would make plus one),
 * and under load one call brings up to UDP_BATCH datagrams. At most
 * UDP_ROUNDS batches per readiness, so that a flood on one socket does not
 * starve the worker's other sockets and connections. */
#define UDP_BATCH  8
#define UDP_ROUNDS 8
#define UDP_BUF	   65536

typedef struct udp_batch {
	char buf[UDP_BATCH][UDP_BUF];
	sip_sockaddr_t src[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct mmsghdr hdr[UDP_BATCH];
} udp_batch_t;

/* One batch per worker thread, freed when the thread ends. */
static _Thread_local udp_batch_t *udp_b;

void net_handle_udp(net_ev_t *ev, net_msg_cb cb, void *arg)
{
	udp_batch_t *b = udp_b;

	if (!b) {
		/* 512 KB of address space; only the pages used get memory */
		b = udp_b = malloc(sizeof(*b));
		if (!b) {
			LOG_RATE(L_CRIT, "no memory for the UDP receive buffers");
			return;
		}
		osp_thread_atexit(free, b);
	}
	for (int round = 0; round < UDP_ROUNDS; round++) {
		int n;

		for (int i = 0; i < UDP_BATCH; i++) {
			b->iov[i].iov_base = b->buf[i];
			b->iov[i].iov_len = UDP_BUF - 1;
			memset(&b->hdr[i].msg_hdr, 0, sizeof(b->hdr[i].msg_hdr));
			b->hdr[i].msg_hdr.msg_iov = &b->iov[i];
			b->hdr[i].msg_hdr.msg_iovlen = 1;
			b->hdr[i].msg_hdr.msg_name = &b->src[i];
			b->hdr[i].msg_hdr.msg_namelen = sizeof(b->src[i]);
		}
		n = recvmmsg(ev->fd, b->hdr, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return; /* EAGAIN or a transient error */
		for (int i = 0; i < n; i++) {
			sip_rcv_t rcv;
			size_t len = b->hdr[i].msg_len;

			memset(&rcv, 0, sizeof(rcv));
			memcpy(&rcv.src, &b->src[i],
			       b->hdr[i].msg_hdr.msg_namelen < sizeof(rcv.src)
				   ? b->hdr[i].msg_hdr.msg_namelen
				   : sizeof(rcv.src));
			rcv.proto = SIP_PROTO_UDP;
			rcv.dst = ev->lst->addr;
			rcv.listener = ev->lst;
			b->buf[i][len] = '\0';
			cb(b->buf[i], len, &rcv, arg);
		}
		if (n < UDP_BATCH)
			return;
	}
}

/* RFC 3263 through dns_resolve_uri(); the first candidate wins, preferring
 * one we have a socket for (an IPv6 address is useless without an IPv6
 * listener). Callers that fail over take the whole list from
 * dns_resolve_uri() themselves. */
int net_resolve_uri(const sip_uri_t *uri, net_dest_t *dst)
{
	net_dest_list_t l;
	char err[160];
	int i;

	if (dns_resolve_uri(uri, &l, err, sizeof(err)) <= 0) {
		LOG_RATE(L_ERR, "cannot resolve '%.*s': %s", STR_FMT(uri->host),
			 err);
		return -1;
	}
	for (i = 0; i < l.n; i++)
		if (net_pick_listener(l.d[i].proto, l.d[i].to.sa.sa_family))
			break;
	*dst = l.d[i < l.n ? i : 0];
	return 0;
}

int tcp_send(net_dest_t *dst, const char *buf, size_t len);

int net_send(net_dest_t *dst, const char *buf, size_t len)
{
	net_listener_t *l = dst->from;
	int fd;

	if (dst->proto == SIP_PROTO_TCP)
		return tcp_send(dst, buf, len);
	if (dst->proto != SIP_PROTO_UDP)
		return -1;
	if (!l || l->proto != SIP_PROTO_UDP || l->af != dst->to.sa.sa_family)
		l = net_pick_listener(SIP_PROTO_UDP, dst->to.sa.sa_family);
	if (!l) {
		LOG_RATE(L_ERR, "no UDP socket for the address family of the "
				"destination");
		stats_inc(&st_udp_send_err);
		return -1;
	}
	dst->from = l;
	fd = udp_fd_for(l);
	if (sendto(fd, buf, len, 0, &dst->to.sa, addr_len(&dst->to)) < 0) {
		LOG_RATE(L_ERR, "sendto failed: %s", strerror(errno));
		stats_inc(&st_udp_send_err);
		return -1;
	}
	return 0;
}
