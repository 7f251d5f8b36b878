/* stats.h - named counters readable through stats.get_statistics.
 *
 * A counter is a static osp_counter_t declared where it is counted and
 * registered once at start. Increments are relaxed atomics: cheap enough for
 * the per-message path. */
#ifndef OSP_STATS_H
#define OSP_STATS_H

#include <stdint.h>

typedef struct osp_counter {
	const char *group; /* "core", "sl", ... */
	const char *name;  /* "rcv_requests" */
	uint64_t value;    /* accessed atomically only */
	struct osp_counter *next;
} osp_counter_t;

#define OSP_COUNTER(var, grp, nm) osp_counter_t var = {grp, nm, 0, 0}

void stats_register(osp_counter_t *c);
static inline void stats_inc(osp_counter_t *c)
{
	__atomic_fetch_add(&c->value, 1, __ATOMIC_RELAXED);
}
static inline void stats_add(osp_counter_t *c, uint64_t n)
{
	__atomic_fetch_add(&c->value, n, __ATOMIC_RELAXED);
}
static inline void stats_dec(osp_counter_t *c)
{
	__atomic_fetch_sub(&c->value, 1, __ATOMIC_RELAXED);
}
static inline uint64_t stats_get(const osp_counter_t *c)
{
	return __atomic_load_n(&c->value, __ATOMIC_RELAXED);
}
/* Iterate registered counters (registration order). */
osp_counter_t *stats_first(void);
osp_counter_t *stats_find(const char *group, const char *name);
void stats_reset_all(void);

#endif
