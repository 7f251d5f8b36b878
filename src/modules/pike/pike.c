/* pike.c - KSR.pike: flood detection per source address, with Kamailio
 * 5.6's names, modparams and return codes (see pike.h for the model).
 *
 *   pike_check_req()      count the request's source address
 *   pike_check_ip(ip)     count the given address
 * Both return 1 (not blocked; also on internal errors, as Kamailio does),
 * -2 (flood detected now: the first blocked request), -1 (still blocked),
 * and -1 for an ip argument that is not an address.
 *
 * Where Osprey differs: Kamailio grows a tree of address bytes and starts
 * counting an address's own requests only once its prefixes are "warm", so
 * it blocks after between x and 3x requests (x = reqs_density_per_unit,
 * IPv4; up to 9x for IPv6). Osprey counts every request of an address from
 * the first one, so it always blocks at x: the lower bound. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "core/stats.h"
#include "core/timer.h"
#include "net/net.h"
#include "pike.h"

#define PIKE_BUCKETS 4096
/* Addresses tracked at most: a flood from spoofed sources must not eat
 * the memory. Beyond it new addresses are not counted (return 1). */
#define PIKE_MAX_ENTRIES 1000000

static int sampling_time_unit = 2;
static int reqs_density_per_unit = 30;
static int remove_latency = 120;
static int pike_log_level = L_WARN;

typedef struct pike_ent {
	struct pike_ent *next;
	int family;
	uint8_t addr[16];
	uint32_t hits[2]; /* [0] previous unit, [1] current unit */
	uint64_t unit;	  /* number of the current unit */
	uint64_t last;	  /* ms of the last request */
	int red;	  /* blocked (reported) */
} pike_ent_t;

typedef struct pike_bucket {
	pthread_mutex_t lock;
	pike_ent_t *first;
} pike_bucket_t;

static pike_bucket_t buckets[PIKE_BUCKETS];
static pthread_once_t buckets_once = PTHREAD_ONCE_INIT;
static unsigned long n_entries; /* atomic */
static uint64_t (*pike_clock)(void) = osp_now_ms;

static OSP_COUNTER(cnt_blocked, "pike", "blocked");
static OSP_COUNTER(cnt_checked, "pike", "checked");

void pike_set_clock(uint64_t (*now_ms)(void))
{
	pike_clock = now_ms ? now_ms : osp_now_ms;
}

static void buckets_init(void)
{
	for (int i = 0; i < PIKE_BUCKETS; i++)
		pthread_mutex_init(&buckets[i].lock, NULL);
}

unsigned long pike_count(void)
{
	return __atomic_load_n(&n_entries, __ATOMIC_RELAXED);
}

static uint64_t unit_ms(void)
{
	return (uint64_t)(sampling_time_unit > 0 ? sampling_time_unit : 1) *
	       1000;
}

static int addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static unsigned bucket_of(int family, const uint8_t *a)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < addr_len(family); i++) {
		h ^= a[i];
		h *= 16777619u;
	}
	return h % PIKE_BUCKETS;
}

/* Move the counters to unit u: the current unit becomes the previous one
 * when u directly follows it; after a longer silence both restart. */
static void roll(pike_ent_t *e, uint64_t u)
{
	if (u <= e->unit)
		return;
	e->hits[0] = u == e->unit + 1 ? e->hits[1] : 0;
	e->hits[1] = 0;
	e->unit = u;
}

/* Kamailio's "hot leaf" test. */
static int is_hot(const pike_ent_t *e)
{
	uint32_t max = (uint32_t)reqs_density_per_unit;

	return e->hits[0] >= max || e->hits[1] >= max ||
	       ((uint64_t)e->hits[0] + e->hits[1]) / 2 >= max;
}

static void addr_text(const pike_ent_t *e, char *buf, size_t cap)
{
	if (!inet_ntop(e->family, e->addr, buf, (socklen_t)cap))
		snprintf(buf, cap, "?");
}

int pike_check_addr(int family, const void *addr)
{
	const uint8_t *a = addr;
	uint8_t v4[4];
	pike_bucket_t *b;
	pike_ent_t *e;
	uint64_t now;
	int rc = 1, newred = 0;

	if (family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)addr)) {
		memcpy(v4, a + 12, 4);
		a = v4;
		family = AF_INET;
	}
	if (family != AF_INET && family != AF_INET6)
		return 1;
	pthread_once(&buckets_once, buckets_init);
	stats_inc(&cnt_checked);
	b = &buckets[bucket_of(family, a)];
	pthread_mutex_lock(&b->lock);
	now = pike_clock();
	for (e = b->first; e; e = e->next)
		if (e->family == family &&
		    memcmp(e->addr, a, (size_t)addr_len(family)) == 0)
			break;
	if (!e) {
		if (__atomic_load_n(&n_entries, __ATOMIC_RELAXED) >=
		    PIKE_MAX_ENTRIES) {
			LOG_RATE(L_WARN,
				 "pike: %d addresses tracked, not "
				 "counting new ones",
				 PIKE_MAX_ENTRIES);
			goto out;
		}
		e = calloc(1, sizeof(*e));
		if (!e)
			goto out; /* true on internal error, as Kamailio */
		e->family = family;
		memcpy(e->addr, a, (size_t)addr_len(family));
		e->unit = now / unit_ms();
		e->next = b->first;
		b->first = e;
		__atomic_add_fetch(&n_entries, 1, __ATOMIC_RELAXED);
	}
	roll(e, now / unit_ms());
	if (e->hits[1] < UINT32_MAX)
		e->hits[1]++;
	e->last = now;
	if (is_hot(e)) {
		rc = e->red ? -1 : -2;
		newred = !e->red;
		e->red = 1;
	} else {
		rc = 1;
	}
	if (newred) {
		char ip[INET6_ADDRSTRLEN];

		addr_text(e, ip, sizeof(ip));
		stats_inc(&cnt_blocked);
		LOG_AT(pike_log_level,
		       "PIKE - BLOCKing ip %s (%u requests "
		       "in %d s)",
		       ip, e->hits[1], sampling_time_unit);
	}
out:
	pthread_mutex_unlock(&b->lock);
	return rc;
}

void pike_sweep(void)
{
	uint64_t now, u, idle_ms;

	pthread_once(&buckets_once, buckets_init);
	idle_ms = (uint64_t)remove_latency * 1000;
	for (int i = 0; i < PIKE_BUCKETS; i++) {
		pike_bucket_t *b = &buckets[i];
		pike_ent_t **pp, *dead = NULL;

		pthread_mutex_lock(&b->lock);
		now = pike_clock();
		u = now / unit_ms();
		pp = &b->first;
		while (*pp) {
			pike_ent_t *e = *pp;

			roll(e, u);
			if (e->red && !is_hot(e)) {
				char ip[INET6_ADDRSTRLEN];

				e->red = 0;
				addr_text(e, ip, sizeof(ip));
				LOG_AT(pike_log_level,
				       "PIKE - UNBLOCKing ip %s", ip);
			}
			if (!e->red && now - e->last >= idle_ms) {
				*pp = e->next;
				e->next = dead;
				dead = e;
				__atomic_sub_fetch(&n_entries, 1,
						   __ATOMIC_RELAXED);
				continue;
			}
			pp = &e->next;
		}
		pthread_mutex_unlock(&b->lock);
		while (dead) {
			pike_ent_t *nx = dead->next;

			free(dead);
			dead = nx;
		}
	}
}

/* ---- KSR ---- */

static int ki_pike_check_req(ksr_ctx_t *ctx, const ksr_arg_t *a,
			     ksr_xval_t *ret)
{
	const sip_sockaddr_t *src;

	if (!ctx->msg)
		return 1;
	src = &ctx->msg->rcv.src;
	if (src->sa.sa_family == AF_INET)
		return pike_check_addr(AF_INET, &src->in4.sin_addr);
	if (src->sa.sa_family == AF_INET6)
		return pike_check_addr(AF_INET6, &src->in6.sin6_addr);
	return 1;
}

static int ki_pike_check_ip(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	char buf[INET6_ADDRSTRLEN + 2];
	uint8_t addr[16];
	str_t s = str_trim(a[0].s);

	if (s.len >= 2 && s.s[0] == '[' && s.s[s.len - 1] == ']') {
		s.s++;
		s.len -= 2;
	}
	if (!s.len || s.len >= sizeof(buf))
		goto bad;
	str_to_buf(s, buf, sizeof(buf));
	if (inet_pton(AF_INET, buf, addr) == 1)
		return pike_check_addr(AF_INET, addr);
	if (inet_pton(AF_INET6, buf, addr) == 1)
		return pike_check_addr(AF_INET6, addr);
bad:
	LOG_RATE(L_ERR, "pike: '%.*s' is not an IP address", STR_FMT(a[0].s));
	return -1;
}

static const ksr_export_t pike_exports[] = {
    {"pike", "pike_check_req", KSR_INT, ki_pike_check_req, {0}},
    {"pike", "pike_check_ip", KSR_INT, ki_pike_check_ip, {KSR_STR}},
    {0},
};

/* ---- RPC ---- */

enum { ST_OK = 0, ST_WARM = 1, ST_HOT = 2 };

static int status_of(const pike_ent_t *e)
{
	if (is_hot(e))
		return ST_HOT;
	if (e->hits[1] >= (uint32_t)reqs_density_per_unit / 4)
		return ST_WARM;
	return ST_OK;
}

typedef struct top_row {
	char ip[INET6_ADDRSTRLEN];
	uint32_t prev, curr;
	long expires;
	int status;
} top_row_t;

static int row_cmp(const void *pa, const void *pb)
{
	const top_row_t *x = pa, *y = pb;
	uint64_t sx = (uint64_t)x->prev + x->curr;
	uint64_t sy = (uint64_t)y->prev + y->curr;

	return sx < sy ? 1 : sx > sy ? -1 : strcmp(x->ip, y->ip);
}

/* pike.top [ALL|HOT|WARM] (default HOT), as Kamailio: {max_hits, list:
 * [{ip_addr, leaf_hits_prev, leaf_hits_curr, expires, status}],
 * number_of_rows}, busiest first. WARM lists warm and hot addresses;
 * expires is the number of seconds until an idle address is forgotten. */
static json_t *top_common(const char *filter, rpc_error_t *err)
{
	top_row_t *rows = NULL;
	size_t n = 0, cap = 0;
	int want;
	json_t *list, *out;
	uint64_t idle_ms = (uint64_t)remove_latency * 1000;

	if (!filter || strstr(filter, "HOT"))
		want = ST_HOT;
	else if (strstr(filter, "ALL"))
		want = ST_OK;
	else if (strstr(filter, "WARM"))
		want = ST_WARM;
	else
		return rpc_fail(err, 500,
				"Bad argument. Select: ALL, HOT or WARM");
	pthread_once(&buckets_once, buckets_init);
	for (int i = 0; i < PIKE_BUCKETS; i++) {
		pike_bucket_t *b = &buckets[i];
		uint64_t now, u;

		pthread_mutex_lock(&b->lock);
		now = pike_clock();
		u = now / unit_ms();
		for (pike_ent_t *e = b->first; e; e = e->next) {
			top_row_t *r;

			roll(e, u);
			if (status_of(e) < want)
				continue;
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				top_row_t *nr = realloc(rows, nc * sizeof(*nr));

				if (!nr) {
					pthread_mutex_unlock(&b->lock);
					free(rows);
					return rpc_fail(err, RPC_E_INTERNAL,
							"out of memory");
				}
				rows = nr;
				cap = nc;
			}
			r = &rows[n++];
			addr_text(e, r->ip, sizeof(r->ip));
			r->prev = e->hits[0];
			r->curr = e->hits[1];
			r->status = status_of(e);
			r->expires =
			    now - e->last >= idle_ms
				? 0
				: (long)((idle_ms - (now - e->last)) / 1000);
		}
		pthread_mutex_unlock(&b->lock);
	}
	if (n)
		qsort(rows, n, sizeof(*rows), row_cmp);
	list = json_array();
	for (size_t i = 0; list && i < n; i++) {
		static const char *const names[] = {"", "WARM", "HOT"};

		json_array_append_new(
		    list,
		    json_pack("{s:s, s:i, s:i, s:i, s:s}", "ip_addr",
			      rows[i].ip, "leaf_hits_prev", (int)rows[i].prev,
			      "leaf_hits_curr", (int)rows[i].curr, "expires",
			      (int)rows[i].expires, "status",
			      names[rows[i].status]));
	}
	free(rows);
	out = json_pack("{s:i, s:o, s:i}", "max_hits", reqs_density_per_unit,
			"list", list, "number_of_rows", (int)n);
	if (!out)
		return rpc_fail(err, RPC_E_INTERNAL, "out of memory");
	return out;
}

static json_t *rpc_top(json_t *params, rpc_error_t *err)
{
	json_t *p = json_is_array(params) ? json_array_get(params, 0) : NULL;

	return top_common(json_is_string(p) ? json_string_value(p) : NULL, err);
}

static json_t *rpc_list(json_t *params, rpc_error_t *err)
{
	return top_common("ALL", err);
}

static const rpc_export_t pike_rpc[] = {
    {"pike.top", rpc_top,
     "Addresses counted by pike: [ALL|HOT|WARM], HOT by default"},
    {"pike.list", rpc_list, "Every address counted by pike"},
    {NULL, NULL, NULL},
};

/* ---- module ---- */

static void pike_timer(void *arg)
{
	pike_sweep();
}

static int pike_init(void)
{
	if (sampling_time_unit <= 0 || reqs_density_per_unit <= 0 ||
	    remove_latency < 0) {
		LOG_ERR("pike: sampling_time_unit and reqs_density_per_unit "
			"must be positive, remove_latency not negative");
		return -1;
	}
	/* an address must outlive at least one unit to be counted */
	if (remove_latency < sampling_time_unit)
		remove_latency = sampling_time_unit;
	pthread_once(&buckets_once, buckets_init);
	stats_register(&cnt_checked);
	stats_register(&cnt_blocked);
	if (osp_timer_periodic((unsigned)sampling_time_unit * 1000, pike_timer,
			       NULL) < 0) {
		LOG_ERR("pike: cannot start the timer");
		return -1;
	}
	return 0;
}

static void pike_destroy(void)
{
	pthread_once(&buckets_once, buckets_init);
	for (int i = 0; i < PIKE_BUCKETS; i++) {
		pike_ent_t *e, *nx;

		pthread_mutex_lock(&buckets[i].lock);
		for (e = buckets[i].first; e; e = nx) {
			nx = e->next;
			free(e);
		}
		buckets[i].first = NULL;
		pthread_mutex_unlock(&buckets[i].lock);
	}
	__atomic_store_n(&n_entries, 0, __ATOMIC_RELAXED);
}

static const osp_param_t pike_params[] = {
    {"sampling_time_unit", MP_INT, &sampling_time_unit, NULL},
    {"reqs_density_per_unit", MP_INT, &reqs_density_per_unit, NULL},
    {"remove_latency", MP_INT, &remove_latency, NULL},
    {"pike_log_level", MP_INT, &pike_log_level, NULL},
    {NULL, 0, NULL, NULL},
};

osp_module_t osp_mod_pike = {
    .name = "pike",
    .exports = pike_exports,
    .params = pike_params,
    .rpc = pike_rpc,
    .init = pike_init,
    .destroy = pike_destroy,
};
