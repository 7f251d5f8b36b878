/* net_internal.h - what the worker loop needs from the transports. */
#ifndef OSP_NET_INTERNAL_H
#define OSP_NET_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "net/net.h"

/* What an epoll event refers to. */
typedef enum {
	NET_EV_UDP = 1,
	NET_EV_TCP_LISTEN,
	NET_EV_TCP_CONN,
	NET_EV_WAKE,
} net_ev_kind_t;

typedef struct net_ev {
	net_ev_kind_t kind;
	int fd;
	net_listener_t *lst;
	struct tcp_conn *conn;
} net_ev_t;

/* A TCP connection. Read only by its owner worker; written by anyone under
 * wlock. Reference counted: the table holds one reference, each user one
 * more while it uses the connection. */
typedef struct tcp_conn {
	uint64_t id;
	int fd;
	int owner;            /* worker index */
	sip_sockaddr_t peer;
	net_listener_t *lst;
	net_ev_t ev;
	pthread_mutex_t wlock;
	char *out;
	size_t out_len, out_cap;
	char *in;
	size_t in_len, in_cap;
	time_t last_active;
	int refcnt;           /* atomic */
	int connecting;       /* outgoing connect() in progress */
	int dead;             /* removed from the table, closing */
	struct tcp_conn *next;
} tcp_conn_t;

/* Set by the worker for its own thread; -1 in other threads. */
extern _Thread_local int net_worker_idx;
extern int net_n_workers;

/* Per-worker socket sets, opened by net_open_workers() before the workers
 * start so that bind errors are reported at start. */
int net_open_workers(int n_workers);
/* Register the worker's sockets with its epoll instance. */
int net_worker_register(int worker, int epfd);
/* The epoll fd of a worker (for cross-thread EPOLLOUT requests). */
void net_set_worker_epfd(int worker, int epfd);

/* Event handlers run by the owner worker. msg_cb is called for every
 * complete SIP message. */
typedef void (*net_msg_cb)(char *buf, size_t len, sip_rcv_t *rcv, void *arg);
void net_handle_udp(net_ev_t *ev, net_msg_cb cb, void *arg);
void net_handle_tcp_listen(net_ev_t *ev, int epfd);
void net_handle_tcp_conn(net_ev_t *ev, uint32_t events, net_msg_cb cb, void *arg);
/* Close idle connections owned by this worker. */
void net_tcp_timer(int worker);
/* Close every connection (shutdown). */
void net_tcp_close_all(void);

#endif
