/* tcp.c - SIP over TCP: accept, connect, framing by Content-Length, idle
 * timeout, connection reuse by peer address.
 *
 * A connection is read only by the worker that owns it (the one that
 * accepted or opened it). Any thread may write: a write goes straight to the
 * socket when nothing is queued, otherwise into the connection's out buffer,
 * and the owner's epoll is asked for EPOLLOUT (epoll_ctl is thread-safe). */
#include <errno.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/globals.h"
#include "core/log.h"
#include "core/osp.h"
#include "core/stats.h"
#include "net/net_internal.h"

#define CONN_HASH 1024
#define MAX_OUT_QUEUE (4 * 1024 * 1024)

static pthread_mutex_t tbl_lock = PTHREAD_MUTEX_INITIALIZER;
static tcp_conn_t *by_id[CONN_HASH];
static uint64_t next_id = 1;
static int worker_epfd[256];
static int n_conns;

OSP_COUNTER(st_tcp_conns, "tcp", "current_opened_connections");
OSP_COUNTER(st_tcp_accepted, "tcp", "accepted");
OSP_COUNTER(st_tcp_connected, "tcp", "connected");
OSP_COUNTER(st_tcp_framing_err, "tcp", "framing_errors");
OSP_COUNTER(st_tcp_idle_closed, "tcp", "idle_closed");

void net_set_worker_epfd(int worker, int epfd)
{
	static int registered;

	if (worker >= 0 && worker < 256)
		worker_epfd[worker] = epfd;
	if (!__atomic_exchange_n(&registered, 1, __ATOMIC_ACQ_REL)) {
		stats_register(&st_tcp_conns);
		stats_register(&st_tcp_accepted);
		stats_register(&st_tcp_connected);
		stats_register(&st_tcp_framing_err);
		stats_register(&st_tcp_idle_closed);
	}
}

static void conn_ref(tcp_conn_t *c)
{
	__atomic_fetch_add(&c->refcnt, 1, __ATOMIC_ACQ_REL);
}

static void conn_unref(tcp_conn_t *c)
{
	if (__atomic_sub_fetch(&c->refcnt, 1, __ATOMIC_ACQ_REL) == 0) {
		if (c->fd >= 0)
			close(c->fd);
		pthread_mutex_destroy(&c->wlock);
		free(c->in);
		free(c->out);
		free(c);
	}
}

static tcp_conn_t *conn_new(int fd, int owner, const sip_sockaddr_t *peer,
			    net_listener_t *lst)
{
	tcp_conn_t *c = calloc(1, sizeof(*c));
	int one = 1;

	if (!c)
		return NULL;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->owner = owner;
	c->peer = *peer;
	c->lst = lst;
	c->refcnt = 1; /* the table's */
	c->last_active = time(NULL);
	c->ev.kind = NET_EV_TCP_CONN;
	c->ev.fd = fd;
	c->ev.lst = lst;
	c->ev.conn = c;
	pthread_mutex_init(&c->wlock, NULL);
	pthread_mutex_lock(&tbl_lock);
	c->id = next_id++;
	c->next = by_id[c->id % CONN_HASH];
	by_id[c->id % CONN_HASH] = c;
	n_conns++;
	pthread_mutex_unlock(&tbl_lock);
	stats_inc(&st_tcp_conns);
	return c;
}

/* Remove from the table and close the socket (the memory goes with the
 * last reference). Idempotent. */
static void conn_close(tcp_conn_t *c)
{
	tcp_conn_t **pp;
	int found = 0;

	pthread_mutex_lock(&tbl_lock);
	for (pp = &by_id[c->id % CONN_HASH]; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			found = 1;
			n_conns--;
			break;
		}
	}
	pthread_mutex_unlock(&tbl_lock);
	if (!found)
		return;
	pthread_mutex_lock(&c->wlock);
	c->dead = 1;
	if (c->owner >= 0 && worker_epfd[c->owner] > 0)
		epoll_ctl(worker_epfd[c->owner], EPOLL_CTL_DEL, c->fd, NULL);
	shutdown(c->fd, SHUT_RDWR);
	pthread_mutex_unlock(&c->wlock);
	stats_dec(&st_tcp_conns);
	conn_unref(c);
}

/* Find a live connection by id, or else by peer address; returned with a
 * reference the caller drops with conn_unref. */
static tcp_conn_t *conn_find(uint64_t id, const sip_sockaddr_t *peer)
{
	tcp_conn_t *c, *r = NULL;

	pthread_mutex_lock(&tbl_lock);
	if (id) {
		for (c = by_id[id % CONN_HASH]; c; c = c->next)
			if (c->id == id) {
				r = c;
				break;
			}
	}
	if (!r && peer) {
		for (int i = 0; i < CONN_HASH && !r; i++)
			for (c = by_id[i]; c; c = c->next)
				if (net_addr_eq(&c->peer, peer)) {
					r = c;
					break;
				}
	}
	if (r)
		conn_ref(r);
	pthread_mutex_unlock(&tbl_lock);
	return r;
}

static int watch(tcp_conn_t *c, int op, uint32_t events)
{
	struct epoll_event ee = {.events = events, .data.ptr = &c->ev};

	if (c->owner < 0 || worker_epfd[c->owner] <= 0)
		return -1;
	return epoll_ctl(worker_epfd[c->owner], op, c->fd, &ee);
}

void net_handle_tcp_listen(net_ev_t *ev, int epfd)
{
	for (int i = 0; i < 64; i++) {
		sip_sockaddr_t peer;
		socklen_t alen = sizeof(peer);
		int fd = accept4(ev->fd, &peer.sa, &alen,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		tcp_conn_t *c;

		if (fd < 0)
			return;
		c = conn_new(fd, net_worker_idx, &peer, ev->lst);
		if (!c) {
			close(fd);
			continue;
		}
		stats_inc(&st_tcp_accepted);
		if (watch(c, EPOLL_CTL_ADD, EPOLLIN | EPOLLRDHUP) < 0)
			conn_close(c);
	}
	OSP_UNUSED(epfd);
}

/* Write queued bytes; called with wlock held. 0 when all is written, 1
 * when some remain, -1 on a socket error. */
static int flush_locked(tcp_conn_t *c)
{
	while (c->out_len) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			if (errno == EINTR)
				continue;
			return -1;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
	return 0;
}

static int queue_locked(tcp_conn_t *c, const char *buf, size_t len)
{
	if (c->out_len + len > MAX_OUT_QUEUE)
		return -1;
	if (c->out_len + len > c->out_cap) {
		size_t cap = (c->out_len + len) * 2;
		char *p = realloc(c->out, cap);

		if (!p)
			return -1;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
	return 0;
}

/* Write to a connection: direct when possible, else queued for EPOLLOUT. */
static int conn_write(tcp_conn_t *c, const char *buf, size_t len)
{
	int rc = 0;

	pthread_mutex_lock(&c->wlock);
	if (c->dead) {
		rc = -1;
		goto out;
	}
	if (!c->connecting && c->out_len == 0) {
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			rc = -1;
			goto out;
		}
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		}
	}
	if (len) {
		if (queue_locked(c, buf, len) < 0) {
			rc = -1;
			goto out;
		}
		watch(c, EPOLL_CTL_MOD, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
	}
	c->last_active = time(NULL);
out:
	pthread_mutex_unlock(&c->wlock);
	return rc;
}

static tcp_conn_t *conn_connect(net_dest_t *dst)
{
	int fd, owner = net_worker_idx >= 0 ? net_worker_idx : 0;
	tcp_conn_t *c;
	net_listener_t *l = dst->from;

	if (!l || l->proto != SIP_PROTO_TCP || l->af != dst->to.sa.sa_family)
		l = net_pick_listener(SIP_PROTO_TCP, dst->to.sa.sa_family);
	fd = socket(dst->to.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return NULL;
	if (connect(fd, &dst->to.sa,
		    dst->to.sa.sa_family == AF_INET6 ? sizeof(dst->to.in6) :
						       sizeof(dst->to.in4)) < 0 &&
	    errno != EINPROGRESS) {
		LOG_RATE(L_ERR, "TCP connect failed: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	c = conn_new(fd, owner, &dst->to, l);
	if (!c) {
		close(fd);
		return NULL;
	}
	c->connecting = 1;
	stats_inc(&st_tcp_connected);
	conn_ref(c);
	if (watch(c, EPOLL_CTL_ADD, EPOLLIN | EPOLLOUT | EPOLLRDHUP) < 0) {
		conn_close(c);
		conn_unref(c);
		return NULL;
	}
	return c;
}

int tcp_send(net_dest_t *dst, const char *buf, size_t len)
{
	tcp_conn_t *c = conn_find(dst->conn_id, &dst->to);
	int rc;

	if (!c) {
		if (dst->no_connect) {
			LOG_RATE(L_WARN, "no TCP connection to the destination "
					 "and no-connect is set");
			return -1;
		}
		c = conn_connect(dst);
		if (!c)
			return -1;
	}
	dst->conn_id = c->id;
	dst->from = c->lst;
	rc = conn_write(c, buf, len);
	if (rc < 0)
		conn_close(c);
	conn_unref(c);
	return rc;
}

static int conn_read(tcp_conn_t *c, net_msg_cb cb, void *arg)
{
	size_t max = osp_g.tcp_max_msg > 0 ? (size_t)osp_g.tcp_max_msg : 65536;

	if (!c->in) {
		c->in_cap = max + 1;
		c->in = malloc(c->in_cap);
		if (!c->in)
			return -1;
	}
	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - 1 - c->in_len,
				 0);

		if (n == 0)
			return -1; /* peer closed */
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		c->in_len += (size_t)n;
		c->last_active = time(NULL);
		for (;;) {
			size_t skip = 0;
			long m = sip_stream_frame(c->in, c->in_len, max, &skip);
			sip_rcv_t rcv;

			if (skip) {
				memmove(c->in, c->in + skip, c->in_len - skip);
				c->in_len -= skip;
				continue;
			}
			if (m == 0) {
				if (c->in_len >= c->in_cap - 1) {
					m = -OSP_ETOOBIG;
				} else {
					break;
				}
			}
			if (m < 0) {
				stats_inc(&st_tcp_framing_err);
				LOG_RATE(L_WARN,
					 "closing TCP connection %llu: %s",
					 (unsigned long long)c->id,
					 m == -OSP_ETOOBIG ?
						 "message larger than the limit" :
						 "unframed data (missing or bad "
						 "Content-Length)");
				return -1;
			}
			memset(&rcv, 0, sizeof(rcv));
			rcv.proto = SIP_PROTO_TCP;
			rcv.src = c->peer;
			rcv.dst = c->lst ? c->lst->addr : rcv.dst;
			rcv.listener = c->lst;
			rcv.conn_id = c->id;
			{
				char save = c->in[m];

				c->in[m] = '\0';
				cb(c->in, (size_t)m, &rcv, arg);
				c->in[m] = save;
			}
			memmove(c->in, c->in + m, c->in_len - (size_t)m);
			c->in_len -= (size_t)m;
			if (c->dead)
				return -1;
		}
	}
}

void net_handle_tcp_conn(net_ev_t *ev, uint32_t events, net_msg_cb cb, void *arg)
{
	tcp_conn_t *c = ev->conn;
	int close_it = 0;

	conn_ref(c);
	if (events & EPOLLOUT) {
		pthread_mutex_lock(&c->wlock);
		if (c->connecting) {
			int err = 0;
			socklen_t el = sizeof(err);

			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
			if (err) {
				LOG_RATE(L_WARN, "TCP connect failed: %s",
					 strerror(err));
				close_it = 1;
			}
			c->connecting = 0;
		}
		if (!close_it) {
			int r = flush_locked(c);

			if (r < 0)
				close_it = 1;
			else if (r == 0 && !c->dead)
				watch(c, EPOLL_CTL_MOD, EPOLLIN | EPOLLRDHUP);
		}
		pthread_mutex_unlock(&c->wlock);
	}
	if (!close_it && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		if (conn_read(c, cb, arg) < 0)
			close_it = 1;
	if (close_it)
		conn_close(c);
	conn_unref(c);
}

void net_tcp_timer(int worker)
{
	time_t now = time(NULL);
	int idle = osp_g.tcp_idle > 0 ? osp_g.tcp_idle : 600;
	tcp_conn_t *victims[64];
	int nv = 0;

	pthread_mutex_lock(&tbl_lock);
	for (int i = 0; i < CONN_HASH && nv < 64; i++)
		for (tcp_conn_t *c = by_id[i]; c && nv < 64; c = c->next)
			if (c->owner == worker && now - c->last_active > idle) {
				conn_ref(c);
				victims[nv++] = c;
			}
	pthread_mutex_unlock(&tbl_lock);
	for (int i = 0; i < nv; i++) {
		stats_inc(&st_tcp_idle_closed);
		conn_close(victims[i]);
		conn_unref(victims[i]);
	}
}

void net_tcp_close_all(void)
{
	for (;;) {
		tcp_conn_t *c = NULL;

		pthread_mutex_lock(&tbl_lock);
		for (int i = 0; i < CONN_HASH && !c; i++)
			c = by_id[i];
		if (c)
			conn_ref(c);
		pthread_mutex_unlock(&tbl_lock);
		if (!c)
			return;
		conn_close(c);
		conn_unref(c);
	}
}
