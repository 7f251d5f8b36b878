/* stats.c - the registry of named counters.
 *
 * Counters are static osp_counter_t objects owned by the code that counts;
 * the registry only links them into one list, in registration order, so
 * registering never allocates and cannot fail. Writers (stats_register) take
 * a mutex; readers (stats_first, stats_find, the RPC commands) walk the list
 * without one: a counter is fully initialised before it is linked, and the
 * link is published with a release store, so a concurrent reader sees either
 * the old end of the list or the complete new counter. Counters are never
 * unlinked. */
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "core/log.h"
#include "core/stats.h"

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static osp_counter_t *stats_head;
static osp_counter_t *stats_tail;

static osp_counter_t *next_of(const osp_counter_t *c)
{
	return __atomic_load_n(&c->next, __ATOMIC_ACQUIRE);
}

/* Link a counter into the registry. Registering the same counter twice is a
 * no-op, so a module may call this from an init hook that runs again. A
 * different counter with the same group and name is refused with a warning:
 * lookups by name would otherwise return only one of them. */
void stats_register(osp_counter_t *c)
{
	osp_counter_t *it;

	if (!c || !c->group || !c->name)
		return;
	pthread_mutex_lock(&stats_lock);
	for (it = stats_head; it; it = it->next) {
		if (it == c)
			goto out;
		if (strcmp(it->group, c->group) == 0 &&
		    strcmp(it->name, c->name) == 0) {
			LOG_WARN("counter %s:%s registered twice by different "
				 "objects; the second one is ignored",
				 c->group, c->name);
			goto out;
		}
	}
	c->next = NULL;
	if (stats_tail)
		__atomic_store_n(&stats_tail->next, c, __ATOMIC_RELEASE);
	else
		__atomic_store_n(&stats_head, c, __ATOMIC_RELEASE);
	stats_tail = c;
out:
	pthread_mutex_unlock(&stats_lock);
}

/* First registered counter; walk the rest through ->next. */
osp_counter_t *stats_first(void)
{
	return __atomic_load_n(&stats_head, __ATOMIC_ACQUIRE);
}

/* Find a counter by group and name. A NULL group matches any group (the
 * first counter of that name in registration order), which is how Kamailio
 * resolves a bare statistic name such as "rcv_requests". */
osp_counter_t *stats_find(const char *group, const char *name)
{
	osp_counter_t *c;

	if (!name)
		return NULL;
	for (c = stats_first(); c; c = next_of(c)) {
		if (strcmp(c->name, name) == 0 &&
		    (!group || strcmp(c->group, group) == 0))
			return c;
	}
	return NULL;
}

/* Set every registered counter to zero. Increments racing with the reset
 * may land before or after it; each counter individually ends consistent. */
void stats_reset_all(void)
{
	osp_counter_t *c;

	for (c = stats_first(); c; c = next_of(c))
		__atomic_store_n(&c->value, 0, __ATOMIC_RELAXED);
}
