/* test_stats.c - the counter registry: registration, lookup, concurrent
 * increments, reset. */
#include <pthread.h>

#include "core/log.h"
#include "core/stats.h"
#include "unit.h"

static OSP_COUNTER(c_req, "core", "rcv_requests");
static OSP_COUNTER(c_rpl, "core", "rcv_replies");
static OSP_COUNTER(c_sl, "sl", "200_replies");
static OSP_COUNTER(c_dup, "core", "rcv_requests");

static int count_registered(void)
{
	int n = 0;

	for (osp_counter_t *c = stats_first(); c; c = c->next)
		n++;
	return n;
}

TEST(register_order_and_find)
{
	CHECK(stats_first() == NULL);
	stats_register(&c_req);
	stats_register(&c_sl);
	stats_register(&c_rpl);
	CHECK(stats_first() == &c_req);
	CHECK(c_req.next == &c_sl);
	CHECK(c_sl.next == &c_rpl);
	CHECK(stats_find("core", "rcv_replies") == &c_rpl);
	CHECK(stats_find("sl", "200_replies") == &c_sl);
	CHECK(stats_find(NULL, "200_replies") == &c_sl);
	CHECK(stats_find("core", "200_replies") == NULL);
	CHECK(stats_find("core", "nope") == NULL);
	CHECK(stats_find("core", NULL) == NULL);
}

TEST(register_idempotent)
{
	osp_log_level = L_CRIT; /* the duplicate warning is expected */
	stats_register(&c_req);
	stats_register(&c_req);
	stats_register(&c_rpl);
	stats_register(&c_req);
	CHECK_INT(count_registered(), 2);
	/* another object with the same group and name is refused */
	stats_register(&c_dup);
	CHECK_INT(count_registered(), 2);
	CHECK(stats_find("core", "rcv_requests") == &c_req);
	stats_register(NULL);
	CHECK_INT(count_registered(), 2);
}

#define N_THREADS 4
#define N_INC	  100000

static void *incr(void *arg)
{
	for (int i = 0; i < N_INC; i++) {
		stats_inc(&c_req);
		stats_add(&c_rpl, 2);
	}
	return NULL;
}

/* Registering from several threads at once while others increment. */
static OSP_COUNTER(c_t0, "t", "a");
static OSP_COUNTER(c_t1, "t", "b");
static OSP_COUNTER(c_t2, "t", "c");
static OSP_COUNTER(c_t3, "t", "d");
static osp_counter_t *thr_counters[N_THREADS] = {&c_t0, &c_t1, &c_t2, &c_t3};

static void *reg_and_incr(void *arg)
{
	osp_counter_t *mine = arg;

	for (int i = 0; i < N_THREADS; i++)
		stats_register(thr_counters[i]);
	for (int i = 0; i < N_INC / 10; i++)
		stats_inc(mine);
	return NULL;
}

TEST(concurrent_increments)
{
	pthread_t th[N_THREADS];

	stats_register(&c_req);
	stats_register(&c_rpl);
	for (int i = 0; i < N_THREADS; i++)
		CHECK(pthread_create(&th[i], NULL, incr, NULL) == 0);
	for (int i = 0; i < N_THREADS; i++)
		pthread_join(th[i], NULL);
	CHECK_INT(stats_get(&c_req), N_THREADS * N_INC);
	CHECK_INT(stats_get(&c_rpl), 2 * N_THREADS * N_INC);
	stats_dec(&c_req);
	CHECK_INT(stats_get(&c_req), N_THREADS * N_INC - 1);
}

TEST(concurrent_register)
{
	pthread_t th[N_THREADS];

	for (int i = 0; i < N_THREADS; i++)
		CHECK(pthread_create(&th[i], NULL, reg_and_incr,
				     thr_counters[i]) == 0);
	for (int i = 0; i < N_THREADS; i++)
		pthread_join(th[i], NULL);
	CHECK_INT(count_registered(), N_THREADS);
	for (int i = 0; i < N_THREADS; i++) {
		CHECK(stats_find("t", thr_counters[i]->name) ==
		      thr_counters[i]);
		CHECK_INT(stats_get(thr_counters[i]), N_INC / 10);
	}
}

TEST(reset_all)
{
	stats_register(&c_req);
	stats_register(&c_sl);
	stats_add(&c_req, 5);
	stats_add(&c_sl, 7);
	stats_reset_all();
	CHECK_INT(stats_get(&c_req), 0);
	CHECK_INT(stats_get(&c_sl), 0);
	stats_inc(&c_sl);
	CHECK_INT(stats_get(&c_sl), 1);
}

/* clang-format off */
TEST_LIST(
	TEST_ENTRY(register_order_and_find),
	TEST_ENTRY(register_idempotent),
	TEST_ENTRY(concurrent_increments),
	TEST_ENTRY(concurrent_register),
	TEST_ENTRY(reset_all),
)
/* clang-format on */
