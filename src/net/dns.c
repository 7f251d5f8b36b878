/* dns.c - RFC 3263 resolution of SIP URIs on top of c-ares, with a cache.
 *
 * Shape of a call: the URI gives a host; an IP literal is used as is; a name
 * goes through the hosts file, then NAPTR, SRV and A/AAAA lookups (see
 * dns.h for the rules). Lookups of one step run in parallel on the calling
 * thread's c-ares channel (c-ares channels are not safe to share between
 * threads, so each thread has its own), and the caller blocks until they
 * complete or the call's total deadline passes. Every answer, positive or
 * negative, is cached per (type, name) in one table behind one mutex; the
 * mutex is never held across I/O. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <ares.h>

#include "core/log.h"
#include "core/osp.h"
#include "core/stats.h"
#include "core/thread_obj.h"
#include "net/dns.h"

/* record types (values from RFC 1035 / 3596 / 2782 / 3403) */
#define DNS_T_A	    1
#define DNS_T_AAAA  28
#define DNS_T_SRV   33
#define DNS_T_NAPTR 35
/* pseudo type: the hosts file (IPv4 and IPv6 together) */
#define DNS_T_HOSTS 0x10001
#define DNS_C_IN    1

#define NAME_MAX_LEN 256 /* 255 octets + NUL */
#define RR_MAX	     16	 /* records kept per (type, name) */
#define SETS_MAX     8	 /* SRV sets (transports) tried per call */
#define TARGETS_MAX  16	 /* distinct host names resolved per call */
#define HOSTS_TTL    30	 /* seconds a hosts-file result is reused */

#define CACHE_BUCKETS	  1024
#define CACHE_MAX_ENTRIES 8192

/* ------------------------------------------------------------------ */
/* records                                                             */

typedef struct rr_naptr {
	uint16_t order, pref;
	char flags[8];
	char service[32];
	char repl[NAME_MAX_LEN];
} rr_naptr_t;

typedef struct rr_srv {
	uint16_t prio, weight, port;
	char target[NAME_MAX_LEN];
} rr_srv_t;

typedef struct rr_addr {
	int af;
	unsigned char a[16];
} rr_addr_t;

enum { DQ_PENDING = 0, DQ_OK, DQ_NXDOMAIN, DQ_NODATA, DQ_FAIL };

struct rctx;

/* One (type, name) lookup of a call. The records live in storage owned by
 * the call context (rr, of rr_cap elements of the type's record struct). */
typedef struct dq {
	int type;
	int status;
	int n;
	void *rr;
	char name[NAME_MAX_LEN];
	char why[64]; /* DQ_FAIL: reason */
	struct rctx *ctx;
} dq_t;

/* An SRV set to try: its lookup and the transport it gives. */
typedef struct srvset {
	dq_t q;
	sip_proto_t proto;
	rr_srv_t rr[RR_MAX];
} srvset_t;

/* A host name whose addresses are needed. */
typedef struct target {
	dq_t hosts, a, aaaa;
	rr_addr_t hosts_rr[RR_MAX], a_rr[RR_MAX], aaaa_rr[RR_MAX];
} target_t;

/* Everything one dns_resolve_uri() call works with (heap: ~75 KB). */
typedef struct rctx {
	ares_channel ch;
	int64_t deadline; /* ms, monotonic */
	int pending;	  /* queries sent and not answered */
	char why[400];	  /* last failure seen, for the error text */
	dq_t naptr;
	rr_naptr_t naptr_rr[RR_MAX];
	srvset_t sets[SETS_MAX];
	int n_sets;
	target_t tgt[TARGETS_MAX];
	int n_tgt;
} rctx_t;

/* ------------------------------------------------------------------ */
/* configuration and counters                                          */

static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static char cfg_servers[512];
static int cfg_total_ms = 2000;
static int cfg_tries = 2;
static int cfg_max_ttl = 3600;
static int cfg_neg_ttl = 30;
static int cfg_tls;
static unsigned cfg_gen = 1; /* bumped when channels must be rebuilt */

static OSP_COUNTER(st_queries, "dns", "queries");
static OSP_COUNTER(st_hits, "dns", "cache_hits");
static OSP_COUNTER(st_failures, "dns", "failures");

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int ares_ok;

static _Thread_local ares_channel tl_chan;
static _Thread_local unsigned tl_gen;
static _Thread_local uint64_t tl_rng;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* This thread's channel is destroyed when the thread ends. */
static void chan_free(void *p)
{
	ares_destroy((ares_channel)p);
	tl_chan = NULL;
}

/* Destroyed before the thread ends (new settings, shutdown). */
static void chan_drop(void)
{
	osp_thread_forget(tl_chan);
	chan_free(tl_chan);
}

static void init_once_fn(void)
{
	ares_ok = ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS;
	if (!ares_ok)
		LOG_ERR("dns: c-ares initialisation failed");
	stats_register(&st_queries);
	stats_register(&st_hits);
	stats_register(&st_failures);
}

void dns_init(void)
{
	pthread_once(&init_once, init_once_fn);
}

static int min_int(int a, int b)
{
	return a < b ? a : b;
}

static int cfg_int(const int *v)
{
	int r;

	pthread_mutex_lock(&cfg_lock);
	r = *v;
	pthread_mutex_unlock(&cfg_lock);
	return r;
}

/* Check a server list by loading it into a scratch channel: c-ares is the
 * authority on its syntax. */
static int servers_valid(const char *csv)
{
	ares_channel ch;
	int ok;

	if (ares_init(&ch) != ARES_SUCCESS)
		return 0;
	ok = ares_set_servers_ports_csv(ch, csv) == ARES_SUCCESS;
	ares_destroy(ch);
	return ok;
}

int dns_set_servers(const char *csv)
{
	dns_init();
	if (csv && *csv &&
	    (strlen(csv) >= sizeof(cfg_servers) || !servers_valid(csv))) {
		LOG_ERR("dns: bad server list '%s'", csv);
		return -OSP_EINVAL;
	}
	pthread_mutex_lock(&cfg_lock);
	snprintf(cfg_servers, sizeof(cfg_servers), "%s", csv ? csv : "");
	cfg_gen++;
	pthread_mutex_unlock(&cfg_lock);
	return 0;
}

void dns_set_timeout(int total_ms, int tries)
{
	pthread_mutex_lock(&cfg_lock);
	if (total_ms > 0)
		cfg_total_ms = total_ms;
	if (tries > 0)
		cfg_tries = tries;
	cfg_gen++;
	pthread_mutex_unlock(&cfg_lock);
}

void dns_set_cache_ttl(int max_ttl, int neg_ttl)
{
	pthread_mutex_lock(&cfg_lock);
	if (max_ttl >= 0)
		cfg_max_ttl = max_ttl;
	if (neg_ttl >= 0)
		cfg_neg_ttl = neg_ttl;
	pthread_mutex_unlock(&cfg_lock);
}

void dns_set_tls(int enabled)
{
	pthread_mutex_lock(&cfg_lock);
	cfg_tls = enabled != 0;
	pthread_mutex_unlock(&cfg_lock);
}

/* The calling thread's channel, built on first use and rebuilt after a
 * configuration change. Servers: dns_set_servers(), else OSP_DNS_SERVERS,
 * else resolv.conf. NULL when c-ares fails. */
static ares_channel thread_channel(void)
{
	struct ares_options o;
	char servers[sizeof(cfg_servers)];
	const char *csv;
	unsigned gen;
	int total, tries;
	ares_channel ch = NULL;

	pthread_mutex_lock(&cfg_lock);
	gen = cfg_gen;
	total = cfg_total_ms;
	tries = cfg_tries;
	memcpy(servers, cfg_servers, sizeof(servers));
	pthread_mutex_unlock(&cfg_lock);
	if (tl_chan && tl_gen == gen)
		return tl_chan;
	if (tl_chan)
		chan_drop();
	if (!ares_ok)
		return NULL;
	memset(&o, 0, sizeof(o));
	/* the per-try timeout splits the call's budget; the call's deadline
	 * (rctx.deadline) is the hard bound whatever c-ares does with retries
	 */
	o.timeout = total / tries > 100 ? total / tries : 100;
	o.tries = tries;
	o.lookups = (char *)"f";
	if (ares_init_options(&ch, &o,
			      ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
				  ARES_OPT_LOOKUPS) != ARES_SUCCESS) {
		LOG_RATE(L_ERR, "dns: cannot create a resolver channel");
		return NULL;
	}
	csv = servers[0] ? servers : getenv("OSP_DNS_SERVERS");
	if (csv && *csv && ares_set_servers_ports_csv(ch, csv) != ARES_SUCCESS)
		LOG_RATE(L_ERR, "dns: bad server list '%s', using resolv.conf",
			 csv);
	tl_chan = ch;
	tl_gen = gen;
	osp_thread_atexit(chan_free, ch);
	return ch;
}

/* ------------------------------------------------------------------ */
/* cache                                                               */

typedef struct cent {
	struct cent *next;
	uint32_t hash;
	int type;
	int status; /* DQ_OK, DQ_NXDOMAIN, DQ_NODATA */
	int n;
	int64_t expires;
	size_t size;
	void *data; /* n records, right after the struct */
	char *name; /* after the records */
} cent_t;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cent_t *cache_tbl[CACHE_BUCKETS];
static int cache_n;

static size_t rr_size(int type)
{
	switch (type) {
	case DNS_T_NAPTR: return sizeof(rr_naptr_t);
	case DNS_T_SRV: return sizeof(rr_srv_t);
	default: return sizeof(rr_addr_t);
	}
}

static uint32_t key_hash(int type, const char *name)
{
	uint32_t h = 2166136261u ^ (uint32_t)type;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h;
}

/* Unlink and free expired entries of one bucket. Lock held. */
static void sweep_bucket(cent_t **pp, int64_t now)
{
	while (*pp) {
		cent_t *e = *pp;

		if (e->expires <= now) {
			*pp = e->next;
			free(e);
			cache_n--;
		} else {
			pp = &e->next;
		}
	}
}

/* Fill q from the cache. 1 on a hit (q->status set), 0 on a miss. */
static int cache_get(dq_t *q)
{
	uint32_t h = key_hash(q->type, q->name);
	cent_t **pp = &cache_tbl[h % CACHE_BUCKETS], *e;
	int hit = 0;

	pthread_mutex_lock(&cache_lock);
	sweep_bucket(pp, now_ms());
	for (e = *pp; e; e = e->next) {
		if (e->hash == h && e->type == q->type &&
		    strcmp(e->name, q->name) == 0) {
			q->status = e->status;
			q->n = e->n;
			if (e->size)
				memcpy(q->rr, e->data, e->size);
			hit = 1;
			break;
		}
	}
	pthread_mutex_unlock(&cache_lock);
	if (hit)
		stats_inc(&st_hits);
	return hit;
}

/* Store q's answer for ttl seconds (replacing an older one). A full cache
 * first drops its expired entries; if still full, the answer is simply not
 * kept. */
static void cache_put(const dq_t *q, int ttl)
{
	size_t sz = (size_t)q->n * rr_size(q->type);
	size_t nl = strlen(q->name) + 1;
	uint32_t h = key_hash(q->type, q->name);
	cent_t **pp, *e, *n;
	int64_t now = now_ms();

	if (ttl <= 0)
		return;
	n = malloc(sizeof(*n) + sz + nl);
	if (!n)
		return;
	n->hash = h;
	n->type = q->type;
	n->status = q->status;
	n->n = q->n;
	n->size = sz;
	n->expires = now + (int64_t)ttl * 1000;
	n->data = n + 1;
	n->name = (char *)(n + 1) + sz;
	if (sz)
		memcpy(n->data, q->rr, sz);
	memcpy(n->name, q->name, nl);

	pthread_mutex_lock(&cache_lock);
	pp = &cache_tbl[h % CACHE_BUCKETS];
	for (; (e = *pp); pp = &e->next) {
		if (e->hash == h && e->type == q->type &&
		    strcmp(e->name, q->name) == 0) {
			*pp = e->next;
			free(e);
			cache_n--;
			break;
		}
	}
	if (cache_n >= CACHE_MAX_ENTRIES)
		for (int i = 0; i < CACHE_BUCKETS; i++)
			sweep_bucket(&cache_tbl[i], now);
	if (cache_n < CACHE_MAX_ENTRIES) {
		pp = &cache_tbl[h % CACHE_BUCKETS];
		n->next = *pp;
		*pp = n;
		cache_n++;
		n = NULL;
	}
	pthread_mutex_unlock(&cache_lock);
	free(n);
}

void dns_cache_flush(void)
{
	pthread_mutex_lock(&cache_lock);
	for (int i = 0; i < CACHE_BUCKETS; i++) {
		while (cache_tbl[i]) {
			cent_t *e = cache_tbl[i];

			cache_tbl[i] = e->next;
			free(e);
		}
	}
	cache_n = 0;
	pthread_mutex_unlock(&cache_lock);
}

int dns_cache_count(void)
{
	int n;

	pthread_mutex_lock(&cache_lock);
	n = cache_n;
	pthread_mutex_unlock(&cache_lock);
	return n;
}

void dns_destroy(void)
{
	dns_cache_flush();
	if (tl_chan)
		chan_drop();
}

/* ------------------------------------------------------------------ */
/* answers                                                             */

static const char *type_str(int type)
{
	switch (type) {
	case DNS_T_A: return "A";
	case DNS_T_AAAA: return "AAAA";
	case DNS_T_SRV: return "SRV";
	case DNS_T_NAPTR: return "NAPTR";
	default: return "hosts";
	}
}

/* Skip an encoded name; NULL when it runs past the end. */
static const unsigned char *skip_name(const unsigned char *p,
				      const unsigned char *end)
{
	while (p < end) {
		unsigned c = *p;

		if ((c & 0xc0) == 0xc0)
			return p + 2 <= end ? p + 2 : NULL;
		if (c & 0xc0)
			return NULL;
		p += c + 1;
		if (c == 0)
			return p;
	}
	return NULL;
}

/* The smallest TTL of the answer section (CNAMEs included: the chain is
 * only as fresh as its shortest link); -1 if there is none. c-ares's NAPTR
 * and SRV parsers do not return TTLs, hence this walk. */
static int answer_min_ttl(const unsigned char *b, int len)
{
	const unsigned char *p = b + 12, *end = b + len;
	int qd, an, min = -1;

	if (len < 12)
		return -1;
	qd = b[4] << 8 | b[5];
	an = b[6] << 8 | b[7];
	while (qd-- > 0) {
		p = skip_name(p, end);
		if (!p || end - p < 4)
			return -1;
		p += 4;
	}
	while (an-- > 0) {
		uint32_t ttl;
		unsigned rdlen;

		p = skip_name(p, end);
		if (!p || end - p < 10)
			break;
		ttl = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
		      (uint32_t)p[6] << 8 | p[7];
		rdlen = (unsigned)p[8] << 8 | p[9];
		if (ttl > 0x7fffffff) /* RFC 2181 §8: treat as zero */
			ttl = 0;
		if (min < 0 || (int)ttl < min)
			min = (int)ttl;
		p += 10;
		if ((size_t)(end - p) < rdlen)
			break;
		p += rdlen;
	}
	return min;
}

/* Lower-case, drop a trailing dot. 0, or -1 when the name does not fit. */
static int norm_name(const char *in, size_t len, char *out, size_t cap)
{
	if (len && in[len - 1] == '.')
		len--;
	if (len == 0 || len >= cap)
		return -1;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[len] = '\0';
	return 0;
}

static int parse_naptr(dq_t *q, const unsigned char *abuf, int alen)
{
	struct ares_naptr_reply *list = NULL, *r;
	rr_naptr_t *rr = q->rr;
	int st = ares_parse_naptr_reply(abuf, alen, &list);

	if (st != ARES_SUCCESS)
		return st;
	for (r = list; r && q->n < RR_MAX; r = r->next) {
		rr_naptr_t *x = &rr[q->n];
		const char *repl = r->replacement ? r->replacement : "";

		x->order = r->order;
		x->pref = r->preference;
		snprintf(x->flags, sizeof(x->flags), "%s",
			 r->flags ? (const char *)r->flags : "");
		snprintf(x->service, sizeof(x->service), "%s",
			 r->service ? (const char *)r->service : "");
		if (norm_name(repl, strlen(repl), x->repl, sizeof(x->repl)) < 0)
			x->repl[0] = '\0'; /* "." or too long: unusable */
		q->n++;
	}
	ares_free_data(list);
	return ARES_SUCCESS;
}

static int parse_srv(dq_t *q, const unsigned char *abuf, int alen)
{
	struct ares_srv_reply *list = NULL, *r;
	rr_srv_t *rr = q->rr;
	int st = ares_parse_srv_reply(abuf, alen, &list);

	if (st != ARES_SUCCESS)
		return st;
	for (r = list; r && q->n < RR_MAX; r = r->next) {
		rr_srv_t *x = &rr[q->n];
		const char *t = r->host ? r->host : "";

		x->prio = r->priority;
		x->weight = r->weight;
		x->port = r->port;
		if (norm_name(t, strlen(t), x->target, sizeof(x->target)) < 0)
			x->target[0] = '\0'; /* "." : service not offered */
		q->n++;
	}
	ares_free_data(list);
	return ARES_SUCCESS;
}

static int parse_addr(dq_t *q, const unsigned char *abuf, int alen)
{
	rr_addr_t *rr = q->rr;
	int st, n = RR_MAX;

	if (q->type == DNS_T_A) {
		struct ares_addrttl at[RR_MAX];

		st = ares_parse_a_reply(abuf, alen, NULL, at, &n);
		for (int i = 0; st == ARES_SUCCESS && i < n; i++) {
			rr[i].af = AF_INET;
			memcpy(rr[i].a, &at[i].ipaddr, 4);
		}
	} else {
		struct ares_addr6ttl at[RR_MAX];

		st = ares_parse_aaaa_reply(abuf, alen, NULL, at, &n);
		for (int i = 0; st == ARES_SUCCESS && i < n; i++) {
			rr[i].af = AF_INET6;
			memcpy(rr[i].a, &at[i].ip6addr, 16);
		}
	}
	if (st == ARES_SUCCESS)
		q->n = n;
	return st;
}

/* c-ares callback of one query: parse, cache, mark the lookup done. */
static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf,
		      int alen)
{
	dq_t *q = arg;
	int ttl = 0, st = status;

	q->ctx->pending--;
	q->n = 0;
	if (st == ARES_SUCCESS && abuf) {
		if (q->type == DNS_T_NAPTR)
			st = parse_naptr(q, abuf, alen);
		else if (q->type == DNS_T_SRV)
			st = parse_srv(q, abuf, alen);
		else
			st = parse_addr(q, abuf, alen);
		if (st == ARES_SUCCESS && q->n == 0)
			st = ARES_ENODATA;
		ttl = answer_min_ttl(abuf, alen);
	}
	switch (st) {
	case ARES_SUCCESS:
		q->status = DQ_OK;
		cache_put(q, min_int(ttl, cfg_int(&cfg_max_ttl)));
		return;
	case ARES_ENOTFOUND:
		q->status = DQ_NXDOMAIN;
		cache_put(q, cfg_int(&cfg_neg_ttl));
		return;
	case ARES_ENODATA:
		q->status = DQ_NODATA;
		cache_put(q, cfg_int(&cfg_neg_ttl));
		return;
	case ARES_ECANCELLED:
	case ARES_ETIMEOUT:
		snprintf(q->why, sizeof(q->why), "timed out");
		break;
	default:
		snprintf(q->why, sizeof(q->why), "%s", ares_strerror(st));
		break;
	}
	q->status = DQ_FAIL;
}

/* c-ares callback of a hosts-file lookup: keep IPv4 addresses, then IPv6
 * ones, in file order. */
static void on_hosts(void *arg, int status, int timeouts,
		     struct ares_addrinfo *res)
{
	static const int fam[2] = {AF_INET, AF_INET6};
	dq_t *q = arg;
	rr_addr_t *rr = q->rr;

	q->ctx->pending--;
	q->n = 0;
	for (int f = 0; f < 2 && status == ARES_SUCCESS && res; f++) {
		struct ares_addrinfo_node *nd;

		for (nd = res->nodes; nd && q->n < RR_MAX; nd = nd->ai_next) {
			rr_addr_t x;
			int dup = 0;

			if (nd->ai_family != fam[f] || !nd->ai_addr)
				continue;
			memset(&x, 0, sizeof(x));
			x.af = fam[f];
			if (fam[f] == AF_INET)
				memcpy(x.a,
				       &((struct sockaddr_in *)nd->ai_addr)
					    ->sin_addr,
				       4);
			else
				memcpy(x.a,
				       &((struct sockaddr_in6 *)nd->ai_addr)
					    ->sin6_addr,
				       16);
			for (int i = 0; i < q->n; i++)
				dup |= memcmp(&rr[i], &x, sizeof(x)) == 0;
			if (!dup)
				rr[q->n++] = x;
		}
	}
	if (res)
		ares_freeaddrinfo(res);
	q->status = q->n ? DQ_OK : DQ_NXDOMAIN;
	cache_put(
	    q, min_int(HOSTS_TTL, cfg_int(q->n ? &cfg_max_ttl : &cfg_neg_ttl)));
}

/* Look q->name up in the hosts file. The channel's lookups are "f" (file
 * only; DNS queries go through ares_query/ares_search, which ignore that
 * setting), so this completes without network I/O. CARES_HOSTS names
 * another hosts file (tests). */
static void hosts_lookup(dq_t *q, ares_channel ch)
{
	struct ares_addrinfo_hints hints;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	/* only when set: some c-ares versions fail the lookup if the flag is
	 * given without the variable */
	if (getenv("CARES_HOSTS"))
		hints.ai_flags = ARES_AI_ENVHOSTS;
	q->status = DQ_PENDING;
	q->ctx->pending++;
	ares_getaddrinfo(ch, q->name, NULL, &hints, on_hosts, q);
}

/* Drive the channel until every sent query is answered or the call's
 * deadline passes (then the rest are cancelled, which calls their
 * callbacks). poll(), not select(): a busy server has descriptors beyond
 * FD_SETSIZE. */
static void wait_answers(rctx_t *c)
{
	while (c->pending > 0) {
		ares_socket_t socks[ARES_GETSOCK_MAXNUM];
		struct pollfd pfd[ARES_GETSOCK_MAXNUM];
		struct timeval maxtv, tv, *tvp;
		int64_t left = c->deadline - now_ms();
		int bits, n = 0, ms, rc;

		if (left <= 0) {
			ares_cancel(c->ch);
			break;
		}
		bits = ares_getsock(c->ch, socks, ARES_GETSOCK_MAXNUM);
		for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			short ev = 0;

			/* the ARES_GETSOCK_* macros shift a signed int into
			 * its sign bit for the last socket: test by hand */
			if ((unsigned)bits & (1u << i))
				ev |= POLLIN;
			if ((unsigned)bits & (1u << (i + ARES_GETSOCK_MAXNUM)))
				ev |= POLLOUT;
			if (!ev)
				continue;
			pfd[n].fd = socks[i];
			pfd[n].events = ev;
			pfd[n].revents = 0;
			n++;
		}
		maxtv.tv_sec = left / 1000;
		maxtv.tv_usec = (left % 1000) * 1000;
		tvp = ares_timeout(c->ch, &maxtv, &tv);
		ms = (int)(tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000);
		rc = poll(pfd, (nfds_t)n, ms);
		if (rc < 0 && errno != EINTR) {
			ares_cancel(c->ch);
			break;
		}
		if (rc <= 0) {
			ares_process_fd(c->ch, ARES_SOCKET_BAD,
					ARES_SOCKET_BAD);
			continue;
		}
		for (int i = 0; i < n; i++) {
			short re = pfd[i].revents;

			if (!re)
				continue;
			ares_process_fd(
			    c->ch,
			    re & (POLLIN | POLLERR | POLLHUP) ? pfd[i].fd
							      : ARES_SOCKET_BAD,
			    re & POLLOUT ? pfd[i].fd : ARES_SOCKET_BAD);
		}
	}
}

/* Answer a batch of lookups: from the cache, the hosts file, or DNS in
 * parallel. Afterwards every q has a final status. */
static void run_lookups(rctx_t *c, dq_t **qs, int nq)
{
	int sent = 0;

	for (int i = 0; i < nq; i++) {
		dq_t *q = qs[i];

		if (q->status != DQ_PENDING)
			continue; /* answered earlier in this call */
		q->ctx = c;
		q->n = 0;
		q->why[0] = '\0';
		if (cache_get(q))
			continue;
		if (!c->ch)
			c->ch = thread_channel();
		if (!c->ch) {
			q->status = DQ_FAIL;
			snprintf(q->why, sizeof(q->why), "no resolver");
			continue;
		}
		if (q->type == DNS_T_HOSTS) {
			hosts_lookup(q, c->ch);
			sent++;
			continue;
		}
		if (now_ms() >= c->deadline) {
			q->status = DQ_FAIL;
			snprintf(q->why, sizeof(q->why), "timed out");
			continue;
		}
		q->status = DQ_PENDING;
		c->pending++;
		stats_inc(&st_queries);
		LOG_DBG("dns: query %s %s", type_str(q->type), q->name);
		/* names of A/AAAA lookups may rely on the search list, as
		 * getaddrinfo() would; NAPTR/SRV names are always absolute */
		if (q->type == DNS_T_A || q->type == DNS_T_AAAA)
			ares_search(c->ch, q->name, DNS_C_IN, q->type,
				    on_answer, q);
		else
			ares_query(c->ch, q->name, DNS_C_IN, q->type, on_answer,
				   q);
		sent++;
	}
	if (sent)
		wait_answers(c);
	for (int i = 0; i < nq; i++) {
		dq_t *q = qs[i];

		if (q->status == DQ_PENDING) { /* not called back: give up */
			q->status = DQ_FAIL;
			snprintf(q->why, sizeof(q->why), "timed out");
		}
		if (q->status == DQ_FAIL)
			snprintf(c->why, sizeof(c->why), "%s lookup of '%s' %s",
				 type_str(q->type), q->name, q->why);
	}
}

/* ------------------------------------------------------------------ */
/* RFC 3263 / 2782 ordering                                            */

static uint32_t rnd(void)
{
	if (!tl_rng) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		tl_rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
			 (uint64_t)(uintptr_t)&tl_rng;
		tl_rng |= 1;
	}
	/* xorshift64*: plenty for spreading load, not for secrets */
	tl_rng ^= tl_rng >> 12;
	tl_rng ^= tl_rng << 25;
	tl_rng ^= tl_rng >> 27;
	return (uint32_t)((tl_rng * 2685821657736338717ull) >> 32);
}

/* Order SRV records for trying (RFC 2782): by priority; within one
 * priority, repeatedly pick among the remaining records at random with
 * probability proportional to weight (weight-0 records placed first, so they
 * are picked only when the draw is 0 - rarely, unless all are 0). Records
 * whose target is "." are left out. Writes indexes to idx, returns their
 * count. */
static int srv_order(const rr_srv_t *rr, int n, int *idx)
{
	int tmp[RR_MAX], m = 0, out = 0;

	for (int i = 0; i < n; i++)
		if (rr[i].target[0])
			tmp[m++] = i;
	/* insertion sort by priority, zero weights first within one */
	for (int i = 1; i < m; i++) {
		int v = tmp[i], j = i - 1;

		while (j >= 0 && (rr[tmp[j]].prio > rr[v].prio ||
				  (rr[tmp[j]].prio == rr[v].prio &&
				   rr[tmp[j]].weight && !rr[v].weight))) {
			tmp[j + 1] = tmp[j];
			j--;
		}
		tmp[j + 1] = v;
	}
	for (int g = 0; g < m;) {
		int e = g;

		while (e < m && rr[tmp[e]].prio == rr[tmp[g]].prio)
			e++;
		while (g < e) {
			uint32_t sum = 0, run = 0, r;
			int k;

			for (k = g; k < e; k++)
				sum += rr[tmp[k]].weight;
			r = sum ? rnd() % (sum + 1) : 0;
			for (k = g; k < e - 1; k++) {
				run += rr[tmp[k]].weight;
				if (run >= r)
					break;
			}
			idx[out++] = tmp[k];
			/* remove k, keeping the order of the rest */
			memmove(&tmp[g + 1], &tmp[g],
				(size_t)(k - g) * sizeof(int));
			g++;
		}
	}
	return out;
}

static int proto_ok(sip_proto_t p)
{
	return p == SIP_PROTO_UDP || p == SIP_PROTO_TCP ||
	       (p == SIP_PROTO_TLS && cfg_int(&cfg_tls));
}

static int default_port(sip_proto_t p)
{
	return p == SIP_PROTO_TLS || p == SIP_PROTO_WSS ? 5061 : 5060;
}

static const char *proto_str(sip_proto_t p)
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

static sip_proto_t proto_from(str_t s)
{
	static const char *names[] = {"udp", "tcp", "tls", "sctp", "ws", "wss"};

	for (size_t i = 0; i < OSP_ARRAY_LEN(names); i++)
		if (str_caseeq_cstr(s, names[i]))
			return (sip_proto_t)(i + 1);
	return SIP_PROTO_NONE;
}

/* Append (proto, address, port) unless already listed or the list is
 * full. */
static void add_dest(net_dest_list_t *out, sip_proto_t proto,
		     const rr_addr_t *a, int port)
{
	net_dest_t d;

	if (out->n >= DNS_MAX_DESTS)
		return;
	memset(&d, 0, sizeof(d));
	d.proto = proto;
	if (a->af == AF_INET) {
		d.to.in4.sin_family = AF_INET;
		d.to.in4.sin_port = htons((uint16_t)port);
		memcpy(&d.to.in4.sin_addr, a->a, 4);
	} else {
		d.to.in6.sin6_family = AF_INET6;
		d.to.in6.sin6_port = htons((uint16_t)port);
		memcpy(&d.to.in6.sin6_addr, a->a, 16);
	}
	for (int i = 0; i < out->n; i++)
		if (out->d[i].proto == proto &&
		    memcmp(&out->d[i].to, &d.to, sizeof(d.to)) == 0)
			return;
	out->d[out->n++] = d;
}

static void dq_init(dq_t *q, int type, const char *name, void *rr)
{
	q->type = type;
	q->status = DQ_PENDING;
	q->n = 0;
	q->rr = rr;
	snprintf(q->name, sizeof(q->name), "%s", name);
}

/* Index of the target for `name`, adding it if new; -1 when full. */
static int target_add(rctx_t *c, const char *name)
{
	target_t *t;

	for (int i = 0; i < c->n_tgt; i++)
		if (strcmp(c->tgt[i].hosts.name, name) == 0)
			return i;
	if (c->n_tgt >= TARGETS_MAX)
		return -1;
	t = &c->tgt[c->n_tgt];
	dq_init(&t->hosts, DNS_T_HOSTS, name, t->hosts_rr);
	dq_init(&t->a, DNS_T_A, name, t->a_rr);
	dq_init(&t->aaaa, DNS_T_AAAA, name, t->aaaa_rr);
	return c->n_tgt++;
}

/* Addresses of targets [from, c->n_tgt): the hosts file first, then A and
 * AAAA for the names it does not know, all in one round. */
static void resolve_targets(rctx_t *c, int from)
{
	dq_t *qs[2 * TARGETS_MAX];
	int nq = 0;

	for (int i = from; i < c->n_tgt; i++) {
		dq_t *h = &c->tgt[i].hosts;

		run_lookups(c, &h, 1);
	}
	for (int i = from; i < c->n_tgt; i++) {
		if (c->tgt[i].hosts.status == DQ_OK)
			continue;
		qs[nq++] = &c->tgt[i].a;
		qs[nq++] = &c->tgt[i].aaaa;
	}
	if (nq)
		run_lookups(c, qs, nq);
}

/* Append the addresses of target i (IPv4 first, then IPv6). Returns how
 * many it has. */
static int add_target(rctx_t *c, net_dest_list_t *out, int i, sip_proto_t proto,
		      int port)
{
	target_t *t = &c->tgt[i];
	int n = 0;

	if (t->hosts.status == DQ_OK) {
		for (int k = 0; k < t->hosts.n; k++)
			add_dest(out, proto, &t->hosts_rr[k], port);
		return t->hosts.n;
	}
	if (t->a.status == DQ_OK)
		for (int k = 0; k < t->a.n; k++, n++)
			add_dest(out, proto, &t->a_rr[k], port);
	if (t->aaaa.status == DQ_OK)
		for (int k = 0; k < t->aaaa.n; k++, n++)
			add_dest(out, proto, &t->aaaa_rr[k], port);
	return n;
}

/* Error for a host whose addresses could not be found. */
static int target_error(rctx_t *c, int i)
{
	target_t *t = &c->tgt[i];

	if (t->a.status == DQ_FAIL || t->aaaa.status == DQ_FAIL)
		return -OSP_EIO;
	if (t->a.status == DQ_NXDOMAIN && t->aaaa.status == DQ_NXDOMAIN)
		snprintf(c->why, sizeof(c->why), "no such host '%s'",
			 t->a.name);
	else
		snprintf(c->why, sizeof(c->why), "no address for '%s'",
			 t->a.name);
	return -OSP_ENOTFOUND;
}

static int srvset_add(rctx_t *c, const char *name, sip_proto_t proto)
{
	srvset_t *s;

	for (int i = 0; i < c->n_sets; i++)
		if (c->sets[i].proto == proto &&
		    strcmp(c->sets[i].q.name, name) == 0)
			return 0;
	if (c->n_sets >= SETS_MAX)
		return 0;
	s = &c->sets[c->n_sets++];
	dq_init(&s->q, DNS_T_SRV, name, s->rr);
	s->proto = proto;
	return 1;
}

/* Look up the SRV sets, then the addresses of all their targets, and list
 * the candidates: sets in order, records in RFC 2782 order within a set. */
static void resolve_srvsets(rctx_t *c, net_dest_list_t *out)
{
	dq_t *qs[SETS_MAX];
	int order[SETS_MAX][RR_MAX], n_order[SETS_MAX];
	int first = c->n_tgt;

	for (int i = 0; i < c->n_sets; i++)
		qs[i] = &c->sets[i].q;
	run_lookups(c, qs, c->n_sets);
	for (int i = 0; i < c->n_sets; i++) {
		srvset_t *s = &c->sets[i];

		n_order[i] = 0;
		if (s->q.status != DQ_OK)
			continue;
		n_order[i] = srv_order(s->rr, s->q.n, order[i]);
		for (int k = 0; k < n_order[i]; k++)
			target_add(c, s->rr[order[i][k]].target);
	}
	resolve_targets(c, first);
	for (int i = 0; i < c->n_sets; i++) {
		srvset_t *s = &c->sets[i];

		for (int k = 0; k < n_order[i]; k++) {
			rr_srv_t *r = &s->rr[order[i][k]];
			int t = target_add(c, r->target);

			if (t >= 0)
				add_target(c, out, t, s->proto, r->port);
		}
	}
}

static int naptr_cmp(const void *a, const void *b)
{
	const rr_naptr_t *x = a, *y = b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	return 0;
}

/* RFC 3263 §4.1: the NAPTR records of `host` that lead to SIP over a
 * transport, as SRV sets in order/preference order. Returns the number of
 * SIP records seen (usable or not); *tls_only is set when all of them need
 * TLS and TLS is off. */
static int naptr_sets(rctx_t *c, const char *host, int secure, int *tls_only)
{
	rr_naptr_t *rr = c->naptr_rr;
	dq_t *q = &c->naptr;
	int seen = 0, usable = 0;

	*tls_only = 0;
	dq_init(q, DNS_T_NAPTR, host, rr);
	run_lookups(c, &q, 1);
	if (q->status != DQ_OK)
		return 0;
	qsort(rr, (size_t)q->n, sizeof(*rr), naptr_cmp);
	for (int i = 0; i < q->n; i++) {
		sip_proto_t p;

		if (!strchr(rr[i].flags, 's') && !strchr(rr[i].flags, 'S'))
			continue;
		if (!rr[i].repl[0])
			continue;
		if (!secure && strcasecmp(rr[i].service, "SIP+D2U") == 0)
			p = SIP_PROTO_UDP;
		else if (!secure && strcasecmp(rr[i].service, "SIP+D2T") == 0)
			p = SIP_PROTO_TCP;
		else if (strcasecmp(rr[i].service, "SIPS+D2T") == 0)
			p = SIP_PROTO_TLS;
		else
			continue; /* SCTP, WS, E2U, ...: not ours */
		seen++;
		if (!proto_ok(p)) {
			LOG_DBG("dns: NAPTR %s of '%s' skipped: %s not "
				"supported",
				rr[i].service, host, proto_str(p));
			continue;
		}
		usable++;
		srvset_add(c, rr[i].repl, p);
	}
	*tls_only = seen && !usable;
	return seen;
}

/* RFC 3263 §4.2: the SRV name for a transport. */
static void srv_name(char *buf, size_t cap, const char *host, sip_proto_t p,
		     int secure)
{
	snprintf(buf, cap, "%s.%s.%s",
		 secure || p == SIP_PROTO_TLS ? "_sips" : "_sip",
		 p == SIP_PROTO_UDP ? "_udp" : "_tcp", host);
}

/* Fill out from a host name (not an IP literal); see dns.h for the
 * rules. */
static int resolve_name(rctx_t *c, const char *host, sip_proto_t proto,
			int port, int secure, net_dest_list_t *out)
{
	char name[NAME_MAX_LEN + 16];
	sip_proto_t dflt = proto    ? proto
			   : secure ? SIP_PROTO_TLS
				    : SIP_PROTO_UDP;
	int t, tls_only = 0;

	t = target_add(c, host);
	/* explicit port, or a name pinned in the hosts file: A/AAAA only */
	run_lookups(c, (dq_t *[]){&c->tgt[t].hosts}, 1);
	if (port || c->tgt[t].hosts.status == DQ_OK) {
		resolve_targets(c, t);
		if (!add_target(c, out, t, dflt,
				port ? port : default_port(dflt)))
			return target_error(c, t);
		return out->n;
	}
	if (proto) {
		srv_name(name, sizeof(name), host, proto, secure);
		if (strlen(name) < NAME_MAX_LEN)
			srvset_add(c, name, proto);
	} else {
		naptr_sets(c, host, secure, &tls_only);
		if (tls_only) {
			snprintf(c->why, sizeof(c->why),
				 "'%s' offers only TLS (NAPTR SIPS+D2T), not "
				 "supported yet",
				 host);
			return -OSP_EINVAL;
		}
		if (c->n_sets)
			resolve_srvsets(c, out);
		if (out->n)
			return out->n;
		/* no NAPTR (or its SRVs led nowhere): SRV per transport */
		c->n_sets = 0;
		if (secure) {
			srv_name(name, sizeof(name), host, SIP_PROTO_TLS, 1);
			if (strlen(name) < NAME_MAX_LEN)
				srvset_add(c, name, SIP_PROTO_TLS);
		} else {
			static const sip_proto_t order[] = {
			    SIP_PROTO_UDP, SIP_PROTO_TCP, SIP_PROTO_TLS};

			for (size_t i = 0; i < OSP_ARRAY_LEN(order); i++) {
				if (!proto_ok(order[i]))
					continue;
				srv_name(name, sizeof(name), host, order[i], 0);
				if (strlen(name) < NAME_MAX_LEN)
					srvset_add(c, name, order[i]);
			}
		}
	}
	if (c->n_sets)
		resolve_srvsets(c, out);
	if (out->n)
		return out->n;
	/* no SRV: the host's own addresses on the default port */
	resolve_targets(c, t);
	if (!add_target(c, out, t, dflt, default_port(dflt)))
		return target_error(c, t);
	return out->n;
}

int dns_resolve_uri(const sip_uri_t *uri, net_dest_list_t *out, char *err,
		    size_t errlen)
{
	rctx_t *c = NULL;
	char host[NAME_MAX_LEN];
	sip_proto_t proto = SIP_PROTO_NONE;
	rr_addr_t lit;
	str_t h;
	int secure, port, rc;

	dns_init();
	out->n = 0;
	if (err && errlen)
		err[0] = '\0';
	if (!uri ||
	    (uri->scheme != SIP_URI_SIP && uri->scheme != SIP_URI_SIPS)) {
		rc = -OSP_EINVAL;
		if (err && errlen)
			snprintf(err, errlen, "not a sip: or sips: URI");
		goto out;
	}
	secure = uri->scheme == SIP_URI_SIPS;
	port = uri->port_no;
	h = uri->maddr.len ? uri->maddr : uri->host;
	if (h.len >= 2 && h.s[0] == '[' && h.s[h.len - 1] == ']') {
		h.s++;
		h.len -= 2;
	}
	if (norm_name(h.s, h.len, host, sizeof(host)) < 0 || port < 0 ||
	    port > 65535) {
		rc = -OSP_EINVAL;
		if (err && errlen)
			snprintf(err, errlen, "bad host or port in URI");
		goto out;
	}
	if (uri->transport.len) {
		proto = proto_from(uri->transport);
		if (!proto) {
			rc = -OSP_EINVAL;
			if (err && errlen)
				snprintf(err, errlen,
					 "unknown transport '%.*s'",
					 STR_FMT(uri->transport));
			goto out;
		}
	}
	if (secure && (proto == SIP_PROTO_NONE || proto == SIP_PROTO_TCP))
		proto = SIP_PROTO_TLS; /* RFC 3261 §19.1.2: sips means TLS */
	if (secure && proto == SIP_PROTO_WS)
		proto = SIP_PROTO_WSS;
	if (secure && proto != SIP_PROTO_TLS && proto != SIP_PROTO_WSS) {
		rc = -OSP_EINVAL;
		if (err && errlen)
			snprintf(err, errlen, "sips: URI with transport %s",
				 proto_str(proto));
		goto out;
	}
	if (proto && !proto_ok(proto)) {
		rc = -OSP_EINVAL;
		if (err && errlen)
			snprintf(err, errlen, "transport %s is not supported%s",
				 proto_str(proto),
				 proto == SIP_PROTO_TLS ? " yet" : "");
		goto out;
	}

	memset(&lit, 0, sizeof(lit));
	if (inet_pton(AF_INET, host, lit.a) == 1)
		lit.af = AF_INET;
	else if (inet_pton(AF_INET6, host, lit.a) == 1)
		lit.af = AF_INET6;
	if (lit.af) {
		sip_proto_t p = proto ? proto : SIP_PROTO_UDP;

		add_dest(out, p, &lit, port ? port : default_port(p));
		rc = out->n;
		goto out;
	}

	/* not zeroed (it is large and every lookup slot is initialised when
	 * taken into use): only the bookkeeping */
	c = malloc(sizeof(*c));
	if (!c) {
		rc = -OSP_ENOMEM;
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		goto out;
	}
	c->ch = NULL;
	c->pending = 0;
	c->why[0] = '\0';
	c->n_sets = 0;
	c->n_tgt = 0;
	c->deadline = now_ms() + cfg_int(&cfg_total_ms);
	rc = resolve_name(c, host, proto, port, secure, out);
	if (rc <= 0) {
		if (rc == 0)
			rc = -OSP_ENOTFOUND;
		if (err && errlen)
			snprintf(err, errlen, "%s",
				 c->why[0] ? c->why : "no usable record");
	}
out:
	if (rc <= 0)
		stats_inc(&st_failures);
	if (rc > 0 && osp_log_level >= L_DBG) {
		char b[80];

		for (int i = 0; i < out->n; i++)
			LOG_DBG("dns: %.*s -> #%d %s", STR_FMT(uri->host), i,
				dns_dest_str(&out->d[i], b, sizeof(b)));
	}
	free(c);
	return rc;
}

char *dns_dest_str(const net_dest_t *d, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	int v6 = d->to.sa.sa_family == AF_INET6;
	const void *a = v6 ? (const void *)&d->to.in6.sin6_addr
			   : (const void *)&d->to.in4.sin_addr;

	if (!inet_ntop(v6 ? AF_INET6 : AF_INET, a, ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "?");
	snprintf(buf, len, v6 ? "%s:[%s]:%d" : "%s:%s:%d", proto_str(d->proto),
		 ip, ntohs(v6 ? d->to.in6.sin6_port : d->to.in4.sin_port));
	return buf;
}
