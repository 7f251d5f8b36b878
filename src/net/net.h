/* net.h - listeners, per-worker sockets and sending.
 *
 * UDP: one socket per worker and listener (SO_REUSEPORT), so the kernel
 * spreads datagrams over the workers. TCP: one listening socket per worker
 * and listener (SO_REUSEPORT); an accepted connection belongs to the worker
 * that accepted it (that worker reads it) but any thread may write to it
 * (writes are serialised per connection). Connections are found by id or by
 * peer address for reuse. */
#ifndef OSP_NET_H
#define OSP_NET_H

#include <stdint.h>

#include "sip/msg.h"

typedef struct net_listener {
	sip_proto_t proto;
	sip_sockaddr_t addr;
	socklen_t addrlen;
	int af;                 /* AF_INET / AF_INET6 */
	char name[96];          /* "udp:127.0.0.1:5060" */
	char host[68];          /* address text for Via/Record-Route, IPv6 with [] */
	char ip[64];            /* address text without brackets */
	int port;
	char adv_host[64];      /* advertised host, empty = host */
	int adv_port;
	int send_fd;            /* UDP: a socket bound to addr, usable by any thread */
	struct net_listener *next;
} net_listener_t;

extern net_listener_t *net_listeners;

/* A destination for sending. */
typedef struct net_dest {
	sip_proto_t proto;
	sip_sockaddr_t to;
	net_listener_t *from; /* chosen socket (NULL: pick by proto and family) */
	uint64_t conn_id;     /* stream: connection to use when still open */
	int no_connect;       /* stream: do not open a new connection */
} net_dest_t;

int net_listener_add(sip_proto_t proto, const char *host, int port,
		     const char *adv_host, int adv_port);
/* Bind listeners' shared sockets (send_fd) - checks the addresses are
 * usable before workers start. */
int net_init(void);
void net_destroy(void);

/* Pick a listener for sending to `to` with `proto` (same family). */
net_listener_t *net_pick_listener(sip_proto_t proto, int af);

/* Resolve a SIP URI to a destination (IP literal or A/AAAA lookup; port from
 * the URI or 5060/5061; transport from ;transport=). 0 or -1. */
int net_resolve_uri(const sip_uri_t *uri, net_dest_t *dst);

/* Send bytes. Thread-safe. 0 or -1. */
int net_send(net_dest_t *dst, const char *buf, size_t len);

/* Formatting helpers. */
int net_addr_to_ip(const sip_sockaddr_t *a, char *buf, size_t cap); /* no [] */
int net_addr_port(const sip_sockaddr_t *a);
int net_addr_from_ip(const char *ip, int port, sip_sockaddr_t *out);
int net_addr_eq(const sip_sockaddr_t *a, const sip_sockaddr_t *b);
const char *net_proto_name(sip_proto_t p); /* "udp", "tcp", ... */
sip_proto_t net_proto_from_name(str_t s); /* case-insensitive; 0 if unknown */

#endif
