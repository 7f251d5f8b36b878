/* rtpp_node.c - rtpproxy instances: configuration, the control protocol
 * over UDP and UNIX sockets, version checks, and weighted selection with
 * disabling of silent instances (Kamailio's rtpproxy module behaviour). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "core/osp.h"
#include "core/timer.h"
#include "modules/rtpproxy/rtpproxy_int.h"

int rtpp_tout = 1;
int rtpp_tout_ms = 0;
int rtpp_retr = 5;
int rtpp_disable_tout = 60;

static uint64_t (*clock_fn)(void) = osp_now_ms;

void rtpp_set_clock(uint64_t (*now_ms)(void))
{
	clock_fn = now_ms ? now_ms : osp_now_ms;
}

uint64_t rtpp_now(void)
{
	return clock_fn();
}

/* ---- configuration ---- */

static rtpp_set_t *sets;
static rtpp_node_t **nodes;
static int n_nodes;

rtpp_set_t *rtpp_sets(void)
{
	return sets;
}

rtpp_set_t *rtpp_set_find(int id)
{
	for (rtpp_set_t *s = sets; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

int rtpp_node_count(void)
{
	return n_nodes;
}

rtpp_node_t *rtpp_node_at(int index)
{
	return index >= 0 && index < n_nodes ? nodes[index] : NULL;
}

void rtpp_nodes_reset(void)
{
	while (sets) {
		rtpp_set_t *ns = sets->next;

		free(sets);
		sets = ns;
	}
	for (int i = 0; i < n_nodes; i++)
		free(nodes[i]);
	free(nodes);
	nodes = NULL;
	n_nodes = 0;
}

static rtpp_set_t *set_get(int id)
{
	rtpp_set_t *s = rtpp_set_find(id), **pp;

	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->id = id;
	for (pp = &sets; *pp; pp = &(*pp)->next)
		;
	*pp = s;
	return s;
}

/* udp:HOST:PORT, udp6:HOST:PORT (port 22222 by default), unix:PATH or a
 * bare PATH, as Kamailio reads them. */
static int resolve_url(rtpp_node_t *n, char *err, size_t errlen)
{
	char host[128], *h, *port;
	const char *u = n->url;
	struct addrinfo hints, *res = NULL;
	int rc, family;

	if (strncasecmp(u, "udp:", 4) == 0) {
		n->mode = RTPP_UDP;
		family = AF_INET;
		u += 4;
	} else if (strncasecmp(u, "udp6:", 5) == 0) {
		n->mode = RTPP_UDP6;
		family = AF_INET6;
		u += 5;
	} else {
		n->mode = RTPP_UNIX;
		if (strncasecmp(u, "unix:", 5) == 0)
			u += 5;
		if (!*u || strlen(u) >= sizeof(n->path)) {
			snprintf(err, errlen, "'%s': bad socket path", n->url);
			return -1;
		}
		memcpy(n->path, u, strlen(u) + 1);
		return 0;
	}
	snprintf(host, sizeof(host), "%s", u);
	h = host;
	if (*h == '[') {
		char *rb = strchr(h, ']');

		if (!rb) {
			snprintf(err, errlen, "'%s': missing ']'", n->url);
			return -1;
		}
		*rb = '\0';
		h++;
		port = rb[1] == ':' ? rb + 2 : NULL;
	} else {
		port = strrchr(h, ':');
		if (port)
			*port++ = '\0';
	}
	if (!port || !*port)
		port = "22222";
	if (!*h) {
		snprintf(err, errlen, "'%s': no host", n->url);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_DGRAM;
	rc = getaddrinfo(h, port, &hints, &res);
	if (rc != 0 || !res || res->ai_addrlen > sizeof(n->addr)) {
		snprintf(err, errlen, "'%s': %s", n->url,
			 rc ? gai_strerror(rc) : "no usable address");
		if (res)
			freeaddrinfo(res);
		return -1;
	}
	memcpy(&n->addr, res->ai_addr, res->ai_addrlen);
	n->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int node_add(rtpp_set_t *s, const char *tok, size_t len, char *err,
		    size_t errlen)
{
	const char *eq = memchr(tok, '=', len);
	size_t ulen = eq ? (size_t)(eq - tok) : len;
	unsigned long weight = 1;
	rtpp_node_t *n, **nn;

	if (eq) {
		char *end;

		weight = strtoul(eq + 1, &end, 10);
		if (end != tok + len || end == eq + 1) {
			snprintf(err, errlen, "'%.*s': bad weight", (int)len,
				 tok);
			return -1;
		}
	}
	if (!ulen || ulen >= sizeof(n->url)) {
		snprintf(err, errlen, "'%.*s': bad instance URL", (int)len,
			 tok);
		return -1;
	}
	n = calloc(1, sizeof(*n));
	nn = realloc(nodes, sizeof(*nodes) * (size_t)(n_nodes + 1));
	if (!n || !nn) {
		free(n);
		if (nn)
			nodes = nn;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	nodes = nn;
	memcpy(n->url, tok, ulen);
	n->weight = (unsigned)weight;
	n->set_id = s->id;
	if (resolve_url(n, err, errlen) < 0) {
		free(n);
		return -1;
	}
	n->index = n_nodes;
	nodes[n_nodes++] = n;
	if (s->last)
		s->last->next = n;
	else
		s->first = n;
	s->last = n;
	s->count++;
	return 0;
}

int rtpp_sock_add(const char *spec, char *err, size_t errlen)
{
	const char *p = spec, *sep;
	long id = 0;
	rtpp_set_t *s;
	int added = 0;

	while (*p && isspace((unsigned char)*p))
		p++;
	if (!*p)
		return 0; /* empty: rtpproxy disabled, as Kamailio */
	sep = strstr(p, "==");
	if (sep) {
		char *end;

		id = strtol(p, &end, 10);
		while (end < sep && isspace((unsigned char)*end))
			end++;
		if (end != sep || end == p || id < 0 || id > 0x7fffffff) {
			snprintf(err, errlen, "bad set id in '%s'", spec);
			return -1;
		}
		p = sep + 2;
	}
	s = set_get((int)id);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (;;) {
		const char *t;

		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		t = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (node_add(s, t, (size_t)(p - t), err, errlen) < 0)
			return -1;
		added++;
	}
	if (!added) {
		snprintf(err, errlen, "empty rtpproxy list in '%s'", spec);
		return -1;
	}
	return 0;
}

/* ---- state ---- */

int rtpp_node_is_disabled(const rtpp_node_t *n)
{
	return __atomic_load_n(&n->disabled, __ATOMIC_ACQUIRE);
}

static void node_disable(rtpp_node_t *n)
{
	uint64_t at =
	    rtpp_now() +
	    (uint64_t)(rtpp_disable_tout > 0 ? rtpp_disable_tout : 0) * 1000;

	__atomic_store_n(&n->recheck_ms, at, __ATOMIC_RELEASE);
	__atomic_store_n(&n->disabled, 1, __ATOMIC_RELEASE);
}

/* ---- transport ---- */

static unsigned cookie_seq;

static unsigned timeout_ms(void)
{
	if (rtpp_tout_ms > 0)
		return (unsigned)rtpp_tout_ms;
	return rtpp_tout > 0 ? (unsigned)rtpp_tout * 1000 : 1000;
}

/* Trailing CR/LF off an answer. */
static str_t chomp(char *buf, size_t len)
{
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	return (str_t){buf, len};
}

static int send_unix(rtpp_node_t *n, arena_t *a, str_t cmd, str_t *reply)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = -1;
	char *buf;
	ssize_t got = -1;
	struct pollfd pfd;

	if (fd < 0)
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, n->path, strlen(n->path));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		LOG_ERR("rtpproxy: cannot connect to %s: %s", n->url,
			strerror(errno));
		goto out;
	}
	if (write(fd, cmd.s, cmd.len) != (ssize_t)cmd.len) {
		LOG_ERR("rtpproxy: cannot send to %s: %s", n->url,
			strerror(errno));
		goto out;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, (int)timeout_ms()) != 1)
		goto out;
	buf = arena_alloc(a, 1024);
	if (!buf)
		goto out;
	do {
		got = read(fd, buf, 1023);
	} while (got < 0 && errno == EINTR);
	if (got <= 0)
		goto out;
	*reply = chomp(buf, (size_t)got);
	rc = 0;
out:
	close(fd);
	return rc;
}

static int send_udp(rtpp_node_t *n, arena_t *a, str_t cmd, str_t *reply)
{
	char cookie[48];
	int clen, fd, rc = -1, tries = rtpp_retr > 0 ? rtpp_retr : 1;
	unsigned tout = timeout_ms();
	struct iovec iov[2];
	char *buf = arena_alloc(a, 1024);

	if (!buf)
		return -1;
	clen = snprintf(cookie, sizeof(cookie), "%d_%u", (int)getpid(),
			__atomic_add_fetch(&cookie_seq, 1, __ATOMIC_RELAXED));
	fd = socket(n->addr.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, &n->addr.sa, n->addrlen) < 0) {
		LOG_ERR("rtpproxy: cannot reach %s: %s", n->url,
			strerror(errno));
		goto out;
	}
	cookie[clen] = ' ';
	iov[0].iov_base = cookie;
	iov[0].iov_len = (size_t)clen + 1;
	iov[1].iov_base = (void *)cmd.s;
	iov[1].iov_len = cmd.len;
	for (int i = 0; i < tries; i++) {
		uint64_t deadline = osp_now_ms() + tout;
		ssize_t w;

		do {
			w = writev(fd, iov, 2);
		} while (w < 0 && (errno == EINTR || errno == ENOBUFS));
		if (w < 0) {
			LOG_ERR("rtpproxy: cannot send to %s: %s", n->url,
				strerror(errno));
			goto out;
		}
		for (;;) {
			struct pollfd pfd = {fd, POLLIN, 0};
			uint64_t now = osp_now_ms();
			ssize_t got;
			int pr;

			if (now >= deadline)
				break;
			pr = poll(&pfd, 1, (int)(deadline - now));
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr <= 0)
				break;
			got = recv(fd, buf, 1023, 0);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0) {
				LOG_ERR("rtpproxy: no answer from %s: %s",
					n->url, strerror(errno));
				goto out;
			}
			if ((size_t)got >= (size_t)clen &&
			    memcmp(buf, cookie, (size_t)clen) == 0 &&
			    ((size_t)got == (size_t)clen || buf[clen] == ' ')) {
				size_t off = (size_t)got == (size_t)clen
						 ? (size_t)clen
						 : (size_t)clen + 1;
				str_t r = chomp(buf + off, (size_t)got - off);

				*reply = r;
				rc = 0;
				goto out;
			}
		}
	}
	LOG_ERR("rtpproxy: timeout waiting for %s (%d x %u ms)", n->url, tries,
		tout);
out:
	close(fd);
	return rc;
}

int rtpp_send(rtpp_node_t *n, arena_t *a, str_t cmd, str_t *reply)
{
	int rc = n->mode == RTPP_UNIX ? send_unix(n, a, cmd, reply)
				      : send_udp(n, a, cmd, reply);

	if (rc < 0) {
		LOG_ERR("rtpproxy: %s does not respond, disabled for %d s",
			n->url, rtpp_disable_tout);
		node_disable(n);
	}
	return rc;
}

/* VF: 1 supported, 0 not, -1 no answer. */
static int check_cap(rtpp_node_t *n, arena_t *a, const char *cap)
{
	char cmd[32];
	str_t r;

	snprintf(cmd, sizeof(cmd), "VF %s", cap);
	if (rtpp_send(n, a, str_from(cmd), &r) < 0)
		return -1;
	return r.len && r.s[0] != 'E' && atoi(r.s) == 1;
}

int rtpp_test(rtpp_node_t *n, arena_t *a, int force)
{
	str_t r;
	int v;

	if (__atomic_load_n(&n->permanent, __ATOMIC_ACQUIRE))
		return 1;
	if (!force) {
		if (!rtpp_node_is_disabled(n))
			return 0;
		if (__atomic_load_n(&n->recheck_ms, __ATOMIC_ACQUIRE) >
		    rtpp_now())
			return 1;
	}
	if (rtpp_send(n, a, STR_LIT("V"), &r) < 0) {
		LOG_WARN("rtpproxy: cannot get the version of %s", n->url);
		goto bad;
	}
	v = atoi(r.s);
	if (v != RTPP_PROTO_VERSION) {
		LOG_WARN("rtpproxy: %s speaks protocol %d, %d is supported",
			 n->url, v, RTPP_PROTO_VERSION);
		goto bad;
	}
	v = check_cap(n, a, RTPP_CAP_REQUIRED);
	if (v != 1) {
		LOG_WARN("rtpproxy: %s %s protocol extension %s", n->url,
			 v < 0 ? "went down while checking" : "lacks the",
			 RTPP_CAP_REQUIRED);
		goto bad;
	}
	v = check_cap(n, a, RTPP_CAP_REPACKET);
	__atomic_store_n(&n->rep_supported, v == 1, __ATOMIC_RELEASE);
	v = check_cap(n, a, RTPP_CAP_PTLIST);
	__atomic_store_n(&n->ptl_supported, v == 1, __ATOMIC_RELEASE);
	LOG_INFO("rtpproxy: %s found, support for it %senabled", n->url,
		 force ? "" : "re-");
	__atomic_store_n(&n->disabled, 0, __ATOMIC_RELEASE);
	return 0;
bad:
	node_disable(n);
	return 1;
}

/* ---- selection ---- */

rtpp_node_t *rtpp_select(rtpp_set_t *set, str_t callid, arena_t *a)
{
	unsigned sum = 0, wsum, cut;
	rtpp_node_t *n;
	int forced = 0;

	if (!set || !set->first)
		return NULL;
	if (set->count == 1) {
		n = set->first;
		if (rtpp_test(n, a, 0) != 0)
			return NULL;
		return n;
	}
	for (size_t i = 0; i < callid.len; i++)
		sum += (unsigned char)callid.s[i];
	sum &= 0xff;
again:
	wsum = 0;
	for (n = set->first; n; n = n->next) {
		if (rtpp_node_is_disabled(n))
			rtpp_test(n, a, 0);
		if (!rtpp_node_is_disabled(n))
			wsum += n->weight;
	}
	if (wsum == 0) {
		/* none left: test them all once */
		if (forced)
			return NULL;
		forced = 1;
		for (n = set->first; n; n = n->next)
			rtpp_test(n, a, 1);
		goto again;
	}
	cut = sum % wsum;
	for (n = set->first; n; n = n->next) {
		if (rtpp_node_is_disabled(n))
			continue;
		if (cut < n->weight)
			return n;
		cut -= n->weight;
	}
	return NULL;
}
