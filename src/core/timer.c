/* timer.c - the timer thread and its hashed wheel (see timer.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/osp.h"
#include "core/timer.h"

#define WHEEL_SLOTS 4096 /* 40.96 s per turn at 10 ms */
#define MAX_PERIODIC 32

typedef struct periodic {
	osp_timer_t t;
	unsigned interval;
	void (*fn)(void *arg);
	void *arg;
} periodic_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake; /* CLOCK_MONOTONIC, set up at start */
static osp_timer_t wheel[WHEEL_SLOTS]; /* list heads (circular) */
static uint64_t cur_tick;              /* next tick to process */
static uint64_t sleep_until;           /* ms; 0: the thread is awake */
static pthread_t th;
static int running;
static periodic_t periodics[MAX_PERIODIC];
static int n_periodic;

uint64_t osp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void wheel_init_once(void)
{
	static int done;

	if (done)
		return;
	for (int i = 0; i < WHEEL_SLOTS; i++)
		wheel[i].prev = wheel[i].next = &wheel[i];
	cur_tick = osp_now_ms() / OSP_TIMER_TICK_MS;
	done = 1;
}

void osp_timer_init(osp_timer_t *t, osp_timer_fn fn, void *arg)
{
	memset(t, 0, sizeof(*t));
	t->fn = fn;
	t->arg = arg;
}

static void unlink_locked(osp_timer_t *t)
{
	t->prev->next = t->next;
	t->next->prev = t->prev;
	t->prev = t->next = NULL;
	t->armed = 0;
}

int osp_timer_start(osp_timer_t *t, unsigned ms)
{
	uint64_t tick;
	osp_timer_t *head;

	pthread_mutex_lock(&lock);
	wheel_init_once();
	if (t->armed)
		unlink_locked(t);
	t->expires = osp_now_ms() + ms;
	tick = (t->expires + OSP_TIMER_TICK_MS - 1) / OSP_TIMER_TICK_MS;
	if (tick < cur_tick)
		tick = cur_tick;
	head = &wheel[tick % WHEEL_SLOTS];
	t->next = head;
	t->prev = head->prev;
	head->prev->next = t;
	head->prev = t;
	t->armed = 1;
	/* the thread sleeps until the earliest timer it knew of: wake it
	 * when this one is due before (it then sleeps again until this) */
	if (sleep_until && tick * OSP_TIMER_TICK_MS < sleep_until)
		pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	return 0;
}

int osp_timer_stop(osp_timer_t *t)
{
	int was = 0;

	pthread_mutex_lock(&lock);
	if (t->armed) {
		unlink_locked(t);
		was = 1;
	}
	pthread_mutex_unlock(&lock);
	return was;
}

/* Take the expired timers of every tick up to now, then run them without
 * the lock. Timers of later turns stay in their slot. */
static void run_due(void)
{
	uint64_t now = osp_now_ms(), now_tick = now / OSP_TIMER_TICK_MS;
	osp_timer_t due = {.prev = &due, .next = &due};

	pthread_mutex_lock(&lock);
	for (; cur_tick <= now_tick; cur_tick++) {
		osp_timer_t *head = &wheel[cur_tick % WHEEL_SLOTS], *t, *n;

		for (t = head->next; t != head; t = n) {
			n = t->next;
			if (t->expires > now)
				continue;
			unlink_locked(t);
			t->next = &due;
			t->prev = due.prev;
			due.prev->next = t;
			due.prev = t;
		}
		if (cur_tick == now_tick)
			break; /* this tick may get more timers due later */
	}
	pthread_mutex_unlock(&lock);
	while (due.next != &due) {
		osp_timer_t *t = due.next;

		due.next = t->next;
		t->next->prev = &due;
		t->prev = t->next = NULL;
		t->fn(t, t->arg);
	}
}

static void periodic_fire(osp_timer_t *t, void *arg)
{
	periodic_t *p = arg;

	p->fn(p->arg);
	if (__atomic_load_n(&running, __ATOMIC_ACQUIRE))
		osp_timer_start(t, p->interval);
}

int osp_timer_periodic(unsigned interval_ms, void (*fn)(void *arg), void *arg)
{
	periodic_t *p;

	pthread_mutex_lock(&lock);
	if (n_periodic == MAX_PERIODIC) {
		pthread_mutex_unlock(&lock);
		return -OSP_ETOOBIG;
	}
	p = &periodics[n_periodic++];
	pthread_mutex_unlock(&lock);
	p->interval = interval_ms ? interval_ms : 1;
	p->fn = fn;
	p->arg = arg;
	osp_timer_init(&p->t, periodic_fire, p);
	return osp_timer_start(&p->t, p->interval);
}

/* When the next timer is due (ms, a tick boundary), or 0 when none is
 * armed. Slots are visited from the current tick on; a slot also holds
 * timers of later turns of the wheel, so its earliest expiry is taken and
 * the walk stops at the first slot with a timer of this turn (no later slot
 * can hold an earlier one). Called with the lock held; at most one turn of
 * the wheel, and only when the thread is about to sleep. */
static uint64_t next_due_locked(void)
{
	uint64_t best = 0;

	for (uint64_t k = 0; k < WHEEL_SLOTS; k++) {
		uint64_t tick = cur_tick + k;
		osp_timer_t *head = &wheel[tick % WHEEL_SLOTS];

		for (osp_timer_t *t = head->next; t != head; t = t->next)
			if (!best || t->expires < best)
				best = t->expires;
		if (best && best <= (tick + 1) * OSP_TIMER_TICK_MS)
			break;
	}
	if (!best)
		return 0;
	return (best + OSP_TIMER_TICK_MS - 1) / OSP_TIMER_TICK_MS *
	       OSP_TIMER_TICK_MS;
}

/* The thread runs what is due, then sleeps until the next timer (rounded
 * up to a tick, so timers close together run in one wake-up) or until
 * osp_timer_start arms an earlier one: an idle server does not wake 100
 * times a second (that cost 7 ms of CPU per second on a 2-core VM). */
static void *timer_main(void *arg)
{
	osp_log_set_thread_name("timer");
	while (__atomic_load_n(&running, __ATOMIC_ACQUIRE)) {
		uint64_t due, now;
		struct timespec ts;

		run_due();
		pthread_mutex_lock(&lock);
		due = next_due_locked();
		now = osp_now_ms();
		if (__atomic_load_n(&running, __ATOMIC_ACQUIRE) &&
		    (!due || due > now)) {
			/* nothing armed: wake up at least every 10 s anyway */
			if (!due || due > now + 10000)
				due = now + 10000;
			sleep_until = due;
			ts.tv_sec = (time_t)(due / 1000);
			ts.tv_nsec = (long)(due % 1000) * 1000000L;
			pthread_cond_timedwait(&wake, &lock, &ts);
			sleep_until = 0;
		}
		pthread_mutex_unlock(&lock);
	}
	OSP_UNUSED(arg);
	return NULL;
}

int osp_timers_start(void)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&lock);
	wheel_init_once();
	pthread_mutex_unlock(&lock);
	__atomic_store_n(&running, 1, __ATOMIC_RELEASE);
	return pthread_create(&th, NULL, timer_main, NULL) == 0 ? 0 : -OSP_EIO;
}

void osp_timers_stop(void)
{
	if (!__atomic_exchange_n(&running, 0, __ATOMIC_ACQ_REL))
		return;
	pthread_mutex_lock(&lock);
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(th, NULL);
	for (int i = 0; i < n_periodic; i++)
		osp_timer_stop(&periodics[i].t);
}
