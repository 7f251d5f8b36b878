/* test_timer.c - the timer thread: timers fire on time, in order, when
 * armed while the thread sleeps towards a later timer, and an idle thread
 * does not tick. */
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "core/timer.h"
#include "unit.h"

static uint64_t fired_at[8];
static int fired_n;

static void on_fire(osp_timer_t *t, void *arg)
{
	int i = (int)(intptr_t)arg;

	fired_at[i] = osp_now_ms();
	__atomic_fetch_add(&fired_n, 1, __ATOMIC_ACQ_REL);
	(void)t;
}

static void wait_fired(int n, int max_ms)
{
	for (int i = 0; i < max_ms && __atomic_load_n(&fired_n,
						      __ATOMIC_ACQUIRE) < n;
	     i++)
		usleep(1000);
}

/* Thread CPU time of the whole process, ms. */
static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

TEST(fire_on_time_and_early_arm_wakes_the_thread)
{
	osp_timer_t far, near, mid;
	uint64_t t0;

	CHECK(osp_timers_start() == 0);
	osp_timer_init(&far, on_fire, (void *)0);
	osp_timer_init(&near, on_fire, (void *)1);
	osp_timer_init(&mid, on_fire, (void *)2);
	t0 = osp_now_ms();
	/* the thread goes to sleep until this one... */
	osp_timer_start(&far, 3000);
	usleep(50 * 1000);
	/* ...and must be woken for these */
	osp_timer_start(&mid, 200);
	osp_timer_start(&near, 100);
	wait_fired(2, 2000);
	CHECK_INT(__atomic_load_n(&fired_n, __ATOMIC_ACQUIRE), 2);
	CHECK(fired_at[1] >= t0 + 150 && fired_at[1] <= t0 + 400);
	CHECK(fired_at[2] >= t0 + 250 && fired_at[2] <= t0 + 500);
	CHECK(fired_at[1] <= fired_at[2]);
	/* stopped before it is due: never fires */
	CHECK_INT(osp_timer_stop(&far), 1);
	usleep(100 * 1000);
	CHECK_INT(__atomic_load_n(&fired_n, __ATOMIC_ACQUIRE), 2);
	osp_timers_stop();
}

TEST(wheel_turn_and_past_deadlines)
{
	osp_timer_t a, b;

	CHECK(osp_timers_start() == 0);
	osp_timer_init(&a, on_fire, (void *)3);
	osp_timer_init(&b, on_fire, (void *)4);
	/* more than one turn of the wheel (40.96 s) away: stays armed */
	osp_timer_start(&a, 45000);
	osp_timer_start(&b, 0);
	wait_fired(1, 1000);
	CHECK_INT(__atomic_load_n(&fired_n, __ATOMIC_ACQUIRE), 1);
	CHECK(fired_at[4] != 0);
	usleep(300 * 1000);
	CHECK_INT(__atomic_load_n(&fired_n, __ATOMIC_ACQUIRE), 1);
	CHECK_INT(osp_timer_stop(&a), 1);
	osp_timers_stop();
}

TEST(idle_thread_does_not_tick)
{
	osp_timer_t far;
	double c0, c1;

	CHECK(osp_timers_start() == 0);
	osp_timer_init(&far, on_fire, (void *)5);
	osp_timer_start(&far, 60000);
	usleep(50 * 1000);
	c0 = cpu_ms();
	usleep(1000 * 1000);
	c1 = cpu_ms();
	/* a 10 ms tick is 100 wake-ups a second; a sleeping thread: none */
	CHECK(c1 - c0 < 2.0);
	osp_timer_stop(&far);
	osp_timers_stop();
}

TEST_LIST(
    TEST_ENTRY(fire_on_time_and_early_arm_wakes_the_thread),
    TEST_ENTRY(wheel_turn_and_past_deadlines),
    TEST_ENTRY(idle_thread_does_not_tick),
)
