/* timer.h - one timer thread driving a hashed timer wheel (10 ms slots).
 *
 * The thread sleeps until the earliest armed timer (rounded up to a slot);
 * arming an earlier one wakes it. An idle server does not tick.
 *
 * Used for transaction retransmissions and timeouts, contact and htable
 * expiry, TCP and pike housekeeping. Callbacks run on the timer thread and
 * must be short and must not block: work that needs a script interpreter is
 * handed to a worker with worker_post() (core/worker.h).
 *
 * An osp_timer_t is embedded in its owner. osp_timer_stop() returns 1 when
 * it removed a pending timer; 0 means the timer was not armed or its
 * callback has already been taken for running (possibly running right
 * now): owners that free the memory must account for that (reference
 * counts). */
#ifndef OSP_TIMER_H
#define OSP_TIMER_H

#include <stdint.h>

struct osp_timer;
typedef void (*osp_timer_fn)(struct osp_timer *t, void *arg);

typedef struct osp_timer {
	struct osp_timer *prev, *next;
	uint64_t expires; /* ms, monotonic */
	osp_timer_fn fn;
	void *arg;
	int armed;
} osp_timer_t;

#define OSP_TIMER_TICK_MS 10

/* Monotonic milliseconds. */
uint64_t osp_now_ms(void);

void osp_timer_init(osp_timer_t *t, osp_timer_fn fn, void *arg);
/* Arm (or re-arm) to fire once after ms milliseconds. 0 or -1. */
int osp_timer_start(osp_timer_t *t, unsigned ms);
int osp_timer_stop(osp_timer_t *t);

/* A job run every interval_ms on the timer thread until shutdown. */
int osp_timer_periodic(unsigned interval_ms, void (*fn)(void *arg), void *arg);

int osp_timers_start(void);
void osp_timers_stop(void);

#endif
