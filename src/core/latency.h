/* latency.h - route execution time statistics (Kamailio's latency_cfg_log,
 * as numbers): per route type, how long the script took, in a log-linear
 * histogram per worker so that recording is one relaxed increment. Read
 * through the control socket (core.route_stats). */
#ifndef OSP_LATENCY_H
#define OSP_LATENCY_H

#include <stdint.h>

#include "kemi/kemi.h"

/* Record one route execution of `ns` nanoseconds on worker w. */
void latency_record(int worker, ksr_route_type_t rt, uint64_t ns);
int latency_init(int n_workers);
void latency_reset(void);

typedef struct latency_summary {
	uint64_t count;
	double mean_us, p50_us, p99_us, max_us;
} latency_summary_t;

/* Merged over the workers; 0 when the route type ran, -1 when it never
 * did. */
int latency_summary(ksr_route_type_t rt, latency_summary_t *out);
const char *latency_route_name(ksr_route_type_t rt);

#include "rpc/rpc.h"
extern const rpc_export_t latency_rpc[];

#endif
