/* test_thread_obj.c - per-thread objects are released when their thread
 * ends, newest first, on that thread; a forgotten one is not; a full list
 * refuses more. */
#include <pthread.h>
#include <stdint.h>

#include "core/osp.h"
#include "core/thread_obj.h"
#include "unit.h"

static int released[8];
static int n_released;
static _Thread_local int tl_mark;
static int mark_seen;

static void release(void *obj)
{
	if (n_released < 8)
		released[n_released] = (int)(intptr_t)obj;
	n_released++;
	/* runs on the ending thread: its _Thread_local values are there */
	mark_seen = tl_mark;
}

static void *three_objects(void *arg)
{
	tl_mark = 42;
	CHECK_INT(osp_thread_atexit(release, (void *)1), 0);
	CHECK_INT(osp_thread_atexit(release, (void *)2), 0);
	CHECK_INT(osp_thread_atexit(release, (void *)3), 0);
	/* the owner releases 2 itself */
	CHECK_INT(osp_thread_forget((void *)2), 1);
	CHECK_INT(osp_thread_forget((void *)2), 0);
	return arg;
}

/* fn on a thread of its own, until that thread has ended */
static void run_thread(void *(*fn)(void *))
{
	pthread_t th;

	CHECK(pthread_create(&th, NULL, fn, NULL) == 0);
	pthread_join(th, NULL);
}

TEST(released_at_exit_newest_first_forgotten_not)
{
	run_thread(three_objects);
	CHECK_INT(n_released, 2);
	CHECK_INT(released[0], 3);
	CHECK_INT(released[1], 1);
	CHECK_INT(mark_seen, 42);
}

static void chain(void *obj)
{
	/* a release that registers another object: it runs too */
	release(obj);
	if ((intptr_t)obj == 5)
		osp_thread_atexit(release, (void *)6);
}

static void *full_list(void *arg)
{
	for (int i = 0; i < OSP_THREAD_OBJ_MAX - 1; i++)
		CHECK_INT(osp_thread_atexit(chain, (void *)(intptr_t)100), 0);
	CHECK_INT(osp_thread_atexit(chain, (void *)5), 0);
	CHECK_INT(osp_thread_atexit(chain, (void *)7), -OSP_ETOOBIG);
	/* the other thread's list is its own */
	CHECK_INT(osp_thread_forget((void *)1), 0);
	return arg;
}

TEST(full_list_and_registration_during_release)
{
	run_thread(full_list);
	/* all 16, plus the one registered during the release: 5 first
	 * (newest), then 6 */
	CHECK_INT(n_released, OSP_THREAD_OBJ_MAX + 1);
	CHECK_INT(released[0], 5);
	CHECK_INT(released[1], 6);
	CHECK_INT(released[2], 100);
}

TEST_LIST(
    TEST_ENTRY(released_at_exit_newest_first_forgotten_not),
    TEST_ENTRY(full_list_and_registration_during_release),
)
