/* latency.c - route execution time histograms (see latency.h).
 *
 * Buckets are log-linear: 8 sub-buckets per power of two of nanoseconds, so
 * a percentile read from them is within 12.5 % of the true value; the mean
 * and the maximum are exact. Each worker writes its own histograms (relaxed
 * atomics); readers merge them. */
#include <stdlib.h>
#include <string.h>

#include "core/latency.h"
#include "core/osp.h"

#define SUB 8
#define NBUCKETS (64 * SUB)
#define NROUTES (KSR_ROUTE_LOCAL + 1)

typedef struct hist {
	uint64_t b[NBUCKETS];
	uint64_t count, sum_ns, max_ns;
} hist_t;

static hist_t *hists; /* [worker][route] */
static int nw;

int latency_init(int n_workers)
{
	hists = calloc((size_t)n_workers * NROUTES, sizeof(*hists));
	if (!hists)
		return -OSP_ENOMEM;
	nw = n_workers;
	return 0;
}

static int bucket_of(uint64_t ns)
{
	int e;

	if (ns < SUB)
		return (int)ns;
	e = 63 - __builtin_clzll(ns); /* ns in [2^e, 2^(e+1)) */
	return (e - 2) * SUB + (int)((ns >> (e - 3)) & (SUB - 1));
}

/* The lower bound of bucket i, in ns (the inverse of bucket_of). */
static double bucket_low(int i)
{
	int e;

	if (i < SUB)
		return i;
	e = i / SUB + 2;
	return (double)((uint64_t)(SUB + i % SUB) << (e - 3));
}

void latency_record(int worker, ksr_route_type_t rt, uint64_t ns)
{
	hist_t *h;
	uint64_t m;

	if (!hists || worker < 0 || worker >= nw || (int)rt >= NROUTES)
		return;
	h = &hists[worker * NROUTES + rt];
	__atomic_fetch_add(&h->b[bucket_of(ns)], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->count, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->sum_ns, ns, __ATOMIC_RELAXED);
	m = __atomic_load_n(&h->max_ns, __ATOMIC_RELAXED);
	if (ns > m)
		__atomic_store_n(&h->max_ns, ns, __ATOMIC_RELAXED);
}

void latency_reset(void)
{
	if (hists)
		memset(hists, 0, sizeof(*hists) * (size_t)nw * NROUTES);
}

static double percentile(const hist_t *h, double p)
{
	uint64_t want = (uint64_t)(p * (double)h->count), seen = 0;

	if (want >= h->count)
		want = h->count - 1;
	for (int i = 0; i < NBUCKETS; i++) {
		seen += h->b[i];
		if (seen > want) {
			/* the middle of the bucket */
			double lo = bucket_low(i), hi = bucket_low(i + 1);

			return (lo + hi) / 2;
		}
	}
	return (double)h->max_ns;
}

int latency_summary(ksr_route_type_t rt, latency_summary_t *out)
{
	hist_t m;

	memset(out, 0, sizeof(*out));
	if (!hists || (int)rt >= NROUTES)
		return -1;
	memset(&m, 0, sizeof(m));
	for (int w = 0; w < nw; w++) {
		const hist_t *h = &hists[w * NROUTES + rt];

		for (int i = 0; i < NBUCKETS; i++)
			m.b[i] += __atomic_load_n(&h->b[i], __ATOMIC_RELAXED);
		m.count += __atomic_load_n(&h->count, __ATOMIC_RELAXED);
		m.sum_ns += __atomic_load_n(&h->sum_ns, __ATOMIC_RELAXED);
		if (h->max_ns > m.max_ns)
			m.max_ns = h->max_ns;
	}
	if (!m.count)
		return -1;
	out->count = m.count;
	out->mean_us = (double)m.sum_ns / (double)m.count / 1000.0;
	out->p50_us = percentile(&m, 0.50) / 1000.0;
	out->p99_us = percentile(&m, 0.99) / 1000.0;
	out->max_us = (double)m.max_ns / 1000.0;
	if (out->p50_us > out->max_us)
		out->p50_us = out->max_us;
	if (out->p99_us > out->max_us)
		out->p99_us = out->max_us;
	return 0;
}

const char *latency_route_name(ksr_route_type_t rt)
{
	switch (rt) {
	case KSR_ROUTE_REQUEST: return "request";
	case KSR_ROUTE_REPLY: return "reply";
	case KSR_ROUTE_ONSEND: return "onsend";
	case KSR_ROUTE_BRANCH: return "branch";
	case KSR_ROUTE_ONREPLY: return "onreply";
	case KSR_ROUTE_FAILURE: return "failure";
	case KSR_ROUTE_BRANCH_FAILURE: return "branch_failure";
	case KSR_ROUTE_EVENT: return "event";
	case KSR_ROUTE_LOCAL: return "local";
	default: return "unknown";
	}
}

/* core.route_stats: {"engine": "lua", "routes": {"request": {"count": N,
 * "mean_us": x, "p50_us": x, "p99_us": x, "max_us": x}, ...}}. Route types
 * that never ran are left out. core.route_stats_reset clears them. */
#include "core/routing.h"
#include "rpc/rpc.h"

static json_t *rpc_route_stats(json_t *params, rpc_error_t *err)
{
	json_t *routes = json_object();
	const osp_engine_t *e = routing_engine();

	for (int rt = KSR_ROUTE_REQUEST; rt < NROUTES; rt++) {
		latency_summary_t s;

		if (latency_summary((ksr_route_type_t)rt, &s) < 0)
			continue;
		json_object_set_new(
			routes, latency_route_name((ksr_route_type_t)rt),
			json_pack("{s:I, s:f, s:f, s:f, s:f}", "count",
				  (json_int_t)s.count, "mean_us", s.mean_us,
				  "p50_us", s.p50_us, "p99_us", s.p99_us,
				  "max_us", s.max_us));
	}
	return json_pack("{s:s, s:o}", "engine", e ? e->name : "", "routes",
			 routes);
}

static json_t *rpc_route_stats_reset(json_t *params, rpc_error_t *err)
{
	latency_reset();
	return json_string("ok");
}

const rpc_export_t latency_rpc[] = {
	{"core.route_stats", rpc_route_stats,
	 "Route execution time per route type: count, mean, p50, p99, max (us)"},
	{"core.route_stats_reset", rpc_route_stats_reset,
	 "Clear the route execution time statistics"},
	{0},
};
