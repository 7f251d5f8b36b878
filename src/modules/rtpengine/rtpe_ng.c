/* rtpe_ng.c - rtpengine instances: configuration, the ng transport over
 * UDP, instance selection with weights and failover, and the map that
 * keeps a call on the instance holding its media. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/log.h"
#include "core/osp.h"
#include "core/timer.h"
#include "modules/rtpengine/rtpengine_int.h"

int rtpe_tout_ms = 1000;
int rtpe_retr = 5;
int rtpe_disable_tout = 60;
int rtpe_queried_limit = 0;
int rtpe_aggressive = 0;
int rtpe_setid_default = 0;
int rtpe_hash_tout = 3600;

/* Instances tried for one command at most (Kamailio's limit). */
#define RTPE_MAX_TRIED 30

static const char *const op_names[RTPE_OP__COUNT] = {
    [RTPE_OP_OFFER] = "offer",
    [RTPE_OP_ANSWER] = "answer",
    [RTPE_OP_DELETE] = "delete",
    [RTPE_OP_QUERY] = "query",
    [RTPE_OP_PING] = "ping",
    [RTPE_OP_START_RECORDING] = "start recording",
    [RTPE_OP_STOP_RECORDING] = "stop recording",
};

const char *rtpe_op_name(rtpe_op_t op)
{
	return op < RTPE_OP__COUNT ? op_names[op] : "?";
}

static uint64_t (*clock_fn)(void) = osp_now_ms;

void rtpe_set_clock(uint64_t (*now_ms)(void))
{
	clock_fn = now_ms ? now_ms : osp_now_ms;
}

uint64_t rtpe_now(void)
{
	return clock_fn();
}

/* ---- configuration ---- */

static rtpe_set_t *sets;
static rtpe_node_t **nodes; /* by index */
static int n_nodes;

rtpe_set_t *rtpe_sets(void)
{
	return sets;
}

rtpe_set_t *rtpe_set_find(int id)
{
	for (rtpe_set_t *s = sets; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

int rtpe_node_count(void)
{
	return n_nodes;
}

rtpe_node_t *rtpe_node_at(int index)
{
	return index >= 0 && index < n_nodes ? nodes[index] : NULL;
}

void rtpe_nodes_reset(void)
{
	rtpe_set_t *s = sets;

	while (s) {
		rtpe_set_t *ns = s->next;

		free(s);
		s = ns;
	}
	for (int i = 0; i < n_nodes; i++)
		free(nodes[i]);
	free(nodes);
	sets = NULL;
	nodes = NULL;
	n_nodes = 0;
}

static rtpe_set_t *set_get(int id)
{
	rtpe_set_t *s = rtpe_set_find(id), **pp;

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

/* Resolve "udp:HOST:PORT" / "udp6:HOST:PORT" (url, NUL-terminated) into
 * n->addr. The port defaults to 22222 as in Kamailio. */
static int resolve_url(rtpe_node_t *n, char *err, size_t errlen)
{
	char host[128], *port, *h;
	struct addrinfo hints, *res = NULL;
	int family, rc;
	const char *u = n->url;

	if (strncasecmp(u, "udp:", 4) == 0) {
		family = AF_INET;
		u += 4;
	} else if (strncasecmp(u, "udp6:", 5) == 0) {
		family = AF_INET6;
		u += 5;
	} else {
		snprintf(err, errlen,
			 "'%s': only udp:HOST:PORT and udp6:HOST:PORT "
			 "are supported",
			 n->url);
		return -1;
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
	if (rc != 0 || !res) {
		snprintf(err, errlen, "'%s': %s", n->url,
			 rc ? gai_strerror(rc) : "no address");
		return -1;
	}
	if (res->ai_addrlen > sizeof(n->addr)) {
		freeaddrinfo(res);
		snprintf(err, errlen, "'%s': address too long", n->url);
		return -1;
	}
	memcpy(&n->addr, res->ai_addr, res->ai_addrlen);
	n->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int node_add(rtpe_set_t *s, const char *tok, size_t len, char *err,
		    size_t errlen)
{
	const char *eq = memchr(tok, '=', len);
	size_t ulen = eq ? (size_t)(eq - tok) : len;
	unsigned long weight = 1;
	rtpe_node_t *n, **nn;

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

int rtpe_sock_add(const char *spec, char *err, size_t errlen)
{
	const char *p = spec, *sep;
	long id = 0;

	while (*p && isspace((unsigned char)*p))
		p++;
	if (!*p)
		return 0; /* an empty definition disables nothing, as Kamailio
			   */
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
	rtpe_set_t *s = set_get((int)id);
	int added = 0;

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
		snprintf(err, errlen, "empty instance list in '%s'", spec);
		return -1;
	}
	return 0;
}

/* ---- state ---- */

int rtpe_node_is_disabled(const rtpe_node_t *n)
{
	return __atomic_load_n(&n->disabled, __ATOMIC_ACQUIRE);
}

int rtpe_node_is_permanent(const rtpe_node_t *n)
{
	return __atomic_load_n(&n->permanent, __ATOMIC_ACQUIRE);
}

void rtpe_node_disable(rtpe_node_t *n)
{
	uint64_t at =
	    rtpe_now() +
	    (uint64_t)(rtpe_disable_tout > 0 ? rtpe_disable_tout : 0) * 1000;

	__atomic_store_n(&n->recheck_ms, at, __ATOMIC_RELEASE);
	__atomic_store_n(&n->disabled, 1, __ATOMIC_RELEASE);
}

static void node_enable(rtpe_node_t *n)
{
	__atomic_store_n(&n->permanent, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&n->disabled, 0, __ATOMIC_RELEASE);
}

int rtpe_node_enable(rtpe_node_t *n, int enable, arena_t *a)
{
	if (!enable) {
		__atomic_store_n(&n->permanent, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&n->disabled, 1, __ATOMIC_RELEASE);
		return 0;
	}
	if (rtpe_node_ping(n, a) == 0) {
		node_enable(n);
		return 1;
	}
	/* a permanently disabled one becomes temporarily disabled */
	__atomic_store_n(&n->permanent, 0, __ATOMIC_RELEASE);
	rtpe_node_disable(n);
	return 0;
}

/* A disabled, non-permanent instance whose recheck time has come is
 * pinged: enabled when it answers, disabled for another period when not.
 * Returns 1 when n is usable now. */
static int node_usable(rtpe_node_t *n, arena_t *a)
{
	if (!rtpe_node_is_disabled(n))
		return 1;
	if (rtpe_node_is_permanent(n) ||
	    rtpe_now() < __atomic_load_n(&n->recheck_ms, __ATOMIC_ACQUIRE))
		return 0;
	if (rtpe_node_ping(n, a) == 0) {
		LOG_INFO("rtpengine: instance %s answers again, enabled",
			 n->url);
		node_enable(n);
		return 1;
	}
	rtpe_node_disable(n);
	return 0;
}

/* ---- transport ---- */

static unsigned cookie_seq;

/* Wait for the datagram answering cookie (its first clen bytes, then a
 * space or nothing) until deadline. 1 got it, 0 timed out, -1 error. */
static int wait_reply(int fd, const char *cookie, size_t clen,
		      uint64_t deadline, arena_t *a, str_t *reply)
{
	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		uint64_t now = osp_now_ms();
		ssize_t sz, got;
		char *buf;
		int pr;

		if (now >= deadline)
			return 0;
		pr = poll(&pfd, 1, (int)(deadline - now));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return -1;
		if (pr == 0)
			return 0;
		sz = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
		if (sz < 0 && errno == EINTR)
			continue;
		if (sz < 0)
			return -1; /* ECONNREFUSED: nobody listens there */
		buf = arena_alloc(a, (size_t)sz + 1);
		if (!buf)
			return -1;
		got = recv(fd, buf, (size_t)sz + 1, 0);
		if (got < 0)
			return -1;
		buf[got] = '\0';
		if ((size_t)got >= clen && memcmp(buf, cookie, clen) == 0 &&
		    ((size_t)got == clen || buf[clen] == ' ')) {
			size_t off = (size_t)got == clen ? clen : clen + 1;

			reply->s = buf + off;
			reply->len = (size_t)got - off;
			return 1;
		}
		LOG_DBG("rtpengine: ignoring a datagram with another cookie");
	}
}

int rtpe_node_send(rtpe_node_t *n, arena_t *a, str_t body, str_t *reply)
{
	char cookie[64];
	int clen, fd, rc = -OSP_EIO, tries = rtpe_retr > 0 ? rtpe_retr : 1;
	unsigned tout = rtpe_tout_ms > 0 ? (unsigned)rtpe_tout_ms : 1000;
	struct iovec iov[2];

	clen = snprintf(cookie, sizeof(cookie), "%d_%u_%x", (int)getpid(),
			__atomic_add_fetch(&cookie_seq, 1, __ATOMIC_RELAXED),
			(unsigned)(osp_now_ms() & 0xffffff));
	fd = socket(n->addr.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		LOG_ERR("rtpengine: socket: %s", strerror(errno));
		return -OSP_EIO;
	}
	if (connect(fd, &n->addr.sa, n->addrlen) < 0) {
		LOG_ERR("rtpengine: cannot reach %s: %s", n->url,
			strerror(errno));
		goto out;
	}
	/* cookie, a space, the bencoded command */
	cookie[clen] = ' ';
	iov[0].iov_base = cookie;
	iov[0].iov_len = (size_t)clen + 1;
	iov[1].iov_base = (void *)body.s;
	iov[1].iov_len = body.len;
	for (int i = 0; i < tries; i++) {
		ssize_t w;
		int got;

		do {
			w = writev(fd, iov, 2);
		} while (w < 0 && (errno == EINTR || errno == ENOBUFS));
		if (w < 0) {
			LOG_ERR("rtpengine: cannot send to %s: %s", n->url,
				strerror(errno));
			goto out;
		}
		got = wait_reply(fd, cookie, (size_t)clen, osp_now_ms() + tout,
				 a, reply);
		if (got > 0) {
			rc = 0;
			goto out;
		}
		if (got < 0) {
			LOG_ERR("rtpengine: no answer from %s: %s", n->url,
				strerror(errno));
			goto out;
		}
	}
	LOG_ERR("rtpengine: timeout waiting for %s (%d x %u ms)", n->url, tries,
		tout);
out:
	close(fd);
	return rc;
}

int rtpe_node_ping(rtpe_node_t *n, arena_t *a)
{
	static const char ping[] = "d7:command4:pinge";
	str_t reply;
	benc_t *d;

	if (rtpe_node_send(n, a, STR_LIT(ping), &reply) < 0)
		return -1;
	if (benc_decode(a, reply, &d) < 0 ||
	    !benc_dict_str_is(d, "result", "pong")) {
		LOG_ERR("rtpengine: %s answered ping with '%.*s'", n->url,
			(int)(reply.len > 80 ? 80 : reply.len), reply.s);
		return -1;
	}
	return 0;
}

/* ---- the call map ---- */

#define MAP_BUCKETS 256

typedef struct map_ent {
	struct map_ent *next;
	uint64_t expires;
	int node;
	size_t clen, vlen;
	char key[]; /* callid then viabranch */
} map_ent_t;

static struct {
	pthread_mutex_t lock;
	map_ent_t *first;
} map[MAP_BUCKETS];
static pthread_once_t map_once = PTHREAD_ONCE_INIT;
static unsigned long map_n; /* atomic */

static void map_init(void)
{
	for (int i = 0; i < MAP_BUCKETS; i++)
		pthread_mutex_init(&map[i].lock, NULL);
}

static unsigned map_hash(str_t callid)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < callid.len; i++) {
		h ^= (uint8_t)callid.s[i];
		h *= 16777619u;
	}
	return h % MAP_BUCKETS;
}

static int ent_is(const map_ent_t *e, str_t callid, str_t vb, int any_vb)
{
	if (e->clen != callid.len ||
	    (e->clen && memcmp(e->key, callid.s, e->clen) != 0))
		return 0;
	return any_vb ||
	       (e->vlen == vb.len &&
		(!vb.len || memcmp(e->key + e->clen, vb.s, vb.len) == 0));
}

/* Unlink the expired entries of bucket b (locked) into *dead. */
static void sweep_bucket(int b, uint64_t now, map_ent_t **dead)
{
	map_ent_t **pp = &map[b].first;

	while (*pp) {
		map_ent_t *e = *pp;

		if (e->expires <= now) {
			*pp = e->next;
			e->next = *dead;
			*dead = e;
			__atomic_sub_fetch(&map_n, 1, __ATOMIC_RELAXED);
			continue;
		}
		pp = &e->next;
	}
}

static void free_chain(map_ent_t *e)
{
	while (e) {
		map_ent_t *nx = e->next;

		free(e);
		e = nx;
	}
}

int rtpe_map_put(str_t callid, str_t viabranch, rtpe_node_t *n)
{
	unsigned b = map_hash(callid);
	uint64_t now = rtpe_now();
	map_ent_t *e, *dead = NULL;

	pthread_once(&map_once, map_init);
	pthread_mutex_lock(&map[b].lock);
	sweep_bucket((int)b, now, &dead);
	for (e = map[b].first; e; e = e->next)
		if (ent_is(e, callid, viabranch, 0))
			break;
	if (!e) {
		e = malloc(sizeof(*e) + callid.len + viabranch.len);
		if (!e) {
			pthread_mutex_unlock(&map[b].lock);
			free_chain(dead);
			return -OSP_ENOMEM;
		}
		e->clen = callid.len;
		e->vlen = viabranch.len;
		memcpy(e->key, callid.s, callid.len);
		if (viabranch.len)
			memcpy(e->key + callid.len, viabranch.s, viabranch.len);
		e->next = map[b].first;
		map[b].first = e;
		__atomic_add_fetch(&map_n, 1, __ATOMIC_RELAXED);
	}
	e->node = n->index;
	e->expires =
	    now + (uint64_t)(rtpe_hash_tout > 0 ? rtpe_hash_tout : 3600) * 1000;
	pthread_mutex_unlock(&map[b].lock);
	free_chain(dead);
	return 0;
}

rtpe_node_t *rtpe_map_get(str_t callid, str_t viabranch)
{
	unsigned b = map_hash(callid);
	uint64_t now = rtpe_now();
	int idx = -1;

	pthread_once(&map_once, map_init);
	pthread_mutex_lock(&map[b].lock);
	for (map_ent_t *e = map[b].first; e; e = e->next)
		if (e->expires > now &&
		    ent_is(e, callid, viabranch, viabranch.len == 0)) {
			idx = e->node;
			break;
		}
	pthread_mutex_unlock(&map[b].lock);
	return rtpe_node_at(idx);
}

void rtpe_map_del(str_t callid, str_t viabranch)
{
	unsigned b = map_hash(callid);
	map_ent_t **pp, *dead = NULL;

	pthread_once(&map_once, map_init);
	pthread_mutex_lock(&map[b].lock);
	pp = &map[b].first;
	while (*pp) {
		map_ent_t *e = *pp;

		if (ent_is(e, callid, viabranch, viabranch.len == 0)) {
			*pp = e->next;
			e->next = dead;
			dead = e;
			__atomic_sub_fetch(&map_n, 1, __ATOMIC_RELAXED);
			continue;
		}
		pp = &e->next;
	}
	pthread_mutex_unlock(&map[b].lock);
	free_chain(dead);
}

void rtpe_map_expire(void)
{
	uint64_t now = rtpe_now();

	pthread_once(&map_once, map_init);
	for (int b = 0; b < MAP_BUCKETS; b++) {
		map_ent_t *dead = NULL;

		pthread_mutex_lock(&map[b].lock);
		sweep_bucket(b, now, &dead);
		pthread_mutex_unlock(&map[b].lock);
		free_chain(dead);
	}
}

void rtpe_map_clear(void)
{
	pthread_once(&map_once, map_init);
	for (int b = 0; b < MAP_BUCKETS; b++) {
		map_ent_t *dead;

		pthread_mutex_lock(&map[b].lock);
		dead = map[b].first;
		map[b].first = NULL;
		pthread_mutex_unlock(&map[b].lock);
		free_chain(dead);
	}
	__atomic_store_n(&map_n, 0, __ATOMIC_RELAXED);
}

unsigned long rtpe_map_count(void)
{
	return __atomic_load_n(&map_n, __ATOMIC_RELAXED);
}

/* ---- selection ---- */

static int was_tried(const rtpe_node_t *n, rtpe_node_t *const *tried,
		     int ntried)
{
	for (int i = 0; i < ntried; i++)
		if (tried[i] == n)
			return 1;
	return 0;
}

/* Kamailio's legacy hash: the byte sum of the Call-ID, modulo 256. It
 * keeps one call on one instance for a given set of enabled instances. */
static unsigned callid_sum(str_t callid)
{
	unsigned sum = 0;

	for (size_t i = 0; i < callid.len; i++)
		sum += (unsigned char)callid.s[i];
	return sum & 0xff;
}

rtpe_node_t *rtpe_select(rtpe_set_t *set, str_t callid, str_t viabranch,
			 rtpe_node_t *const *tried, int ntried, arena_t *a)
{
	rtpe_node_t *n = rtpe_map_get(callid, viabranch);
	unsigned sum, cut;
	int forced = 0;

	if (!set)
		return NULL;
	if (n && n->set_id == set->id) {
		if (was_tried(n, tried, ntried)) {
			LOG_ERR("rtpengine: the instance of call %.*s (%s) "
				"was already tried",
				STR_FMT(callid), n->url);
			return NULL;
		}
		if (node_usable(n, a))
			return n;
		LOG_ERR("rtpengine: the instance of call %.*s (%s) is "
			"disabled",
			STR_FMT(callid), n->url);
		return NULL;
	}
again:
	sum = 0;
	for (n = set->first; n; n = n->next)
		if (!was_tried(n, tried, ntried) && node_usable(n, a))
			sum += n->weight;
	if (sum == 0) {
		if (!rtpe_aggressive || forced)
			return NULL;
		/* every instance looks dead: ping them all once */
		forced = 1;
		for (n = set->first; n; n = n->next)
			if (!rtpe_node_is_permanent(n) &&
			    !was_tried(n, tried, ntried) &&
			    rtpe_node_ping(n, a) == 0)
				node_enable(n);
		goto again;
	}
	cut = callid_sum(callid) % sum;
	for (n = set->first; n; n = n->next) {
		if (was_tried(n, tried, ntried) || rtpe_node_is_disabled(n))
			continue;
		if (cut < n->weight)
			return n;
		cut -= n->weight;
	}
	return NULL;
}

/* An error answer that means "try another instance". */
static int retry_elsewhere(const benc_t *d)
{
	str_t why;

	if (benc_dict_str_is(d, "result", "load limit"))
		return 1;
	if (!benc_dict_str_is(d, "result", "error") ||
	    benc_dict_get_str(d, "error-reason", &why) < 0)
		return 0;
	return str_eq_cstr(why, "Parallel session limit reached") ||
	       str_eq_cstr(why, "Ran out of ports");
}

int rtpe_ng_call(rtpe_set_t *set, rtpe_op_t op, benc_t *dict, str_t callid,
		 str_t viabranch, arena_t *a, benc_t **reply,
		 rtpe_node_t **used)
{
	rtpe_node_t *tried[RTPE_MAX_TRIED], *n;
	int ntried = 0, limit = rtpe_queried_limit, rc;
	str_t body, ans, why;
	benc_t *d;

	if (limit <= 0 || limit > RTPE_MAX_TRIED)
		limit = RTPE_MAX_TRIED;
	rc = benc_encode(a, dict, &body);
	if (rc < 0)
		return rc;
	for (;;) {
		if (ntried >= limit) {
			LOG_ERR("rtpengine: %s for %.*s: tried %d instances, "
				"giving up",
				rtpe_op_name(op), STR_FMT(callid), ntried);
			return -OSP_EIO;
		}
		n = rtpe_select(set, callid, viabranch, tried, ntried, a);
		if (!n) {
			LOG_ERR("rtpengine: %s for %.*s: no available "
				"instance in set %d",
				rtpe_op_name(op), STR_FMT(callid),
				set ? set->id : -1);
			return -OSP_EIO;
		}
		tried[ntried++] = n;
		if (rtpe_node_send(n, a, body, &ans) < 0) {
			if (!rtpe_node_is_permanent(n)) {
				LOG_WARN("rtpengine: instance %s does not "
					 "answer, disabled for %d s",
					 n->url, rtpe_disable_tout);
				rtpe_node_disable(n);
			}
			continue;
		}
		if (benc_decode(a, ans, &d) < 0 || d->type != BENC_DICT) {
			LOG_ERR("rtpengine: malformed answer from %s: %.*s",
				n->url, (int)(ans.len > 200 ? 200 : ans.len),
				ans.s);
			return -OSP_EPARSE;
		}
		if (retry_elsewhere(d)) {
			LOG_INFO("rtpengine: %s is at its limit, trying "
				 "another instance",
				 n->url);
			continue;
		}
		if (!benc_dict_str_is(d, "result", "ok") &&
		    !benc_dict_str_is(d, "result", "pong")) {
			if (benc_dict_get_str(d, "error-reason", &why) < 0)
				why = STR_LIT("no reason given");
			LOG_ERR("rtpengine: %s for %.*s: %s answered: %.*s",
				rtpe_op_name(op), STR_FMT(callid), n->url,
				STR_FMT(why));
			return -OSP_EINVAL;
		}
		break;
	}
	if (op == RTPE_OP_DELETE)
		rtpe_map_del(callid, viabranch);
	else if (op != RTPE_OP_PING && callid.len &&
		 !rtpe_map_get(callid, viabranch))
		rtpe_map_put(callid, viabranch, n);
	*reply = d;
	if (used)
		*used = n;
	return 0;
}
