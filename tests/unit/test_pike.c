/* test_pike.c - KSR.pike: density thresholds with short units, the -2/-1
 * blocking codes, rolling units, unblocking and forgetting on the timer,
 * IPv4 and IPv6, threads, and the pike.top/pike.list RPCs. Time is a fake
 * clock moved by the tests. */
#include <arpa/inet.h>
#include <pthread.h>

#include "modules/pike/pike.h"
#include "test_mods_util.h"

extern osp_module_t osp_mod_pike;
#define M (&osp_mod_pike)

#define REQ                                                                    \
	"OPTIONS sip:bob@example.com SIP/2.0\r\n"                              \
	"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"                 \
	"From: <sip:alice@example.com>;tag=a1\r\n"                             \
	"To: <sip:bob@example.com>\r\n"                                        \
	"Call-ID: c1\r\n"                                                      \
	"CSeq: 1 OPTIONS\r\n"                                                  \
	"Content-Length: 0\r\n"                                                \
	"\r\n"

/* start in the middle of a 1 s unit, far from 0 */
static uint64_t fake_now = 1000000000ull;

static uint64_t fake_clock(void)
{
	return fake_now;
}

static void set_param(const char *name, int v)
{
	for (const osp_param_t *p = M->params; p->name; p++)
		if (strcmp(p->name, name) == 0) {
			*(int *)p->var = v;
			return;
		}
	UNIT_FAIL("no param %s", name);
}

/* unit 1 s, density 5 per unit, forgotten after 4 s idle */
static void setup(void)
{
	pike_set_clock(fake_clock);
	set_param("sampling_time_unit", 1);
	set_param("reqs_density_per_unit", 5);
	set_param("remove_latency", 4);
	CHECK_INT(M->init(), 0);
}

static int check_ip(tmsg_t *t, const char *ip)
{
	return kcall(t, M, "pike_check_ip", NULL, ip);
}

TEST(threshold)
{
	tmsg_t t;

	setup();
	tmsg_parse(&t, REQ); /* from 192.0.2.10 */
	for (int i = 1; i < 5; i++)
		CHECK_INT(kcall(&t, M, "pike_check_req", NULL), 1);
	/* the fifth request of the unit reaches the density: first
	 * detection, then "still blocked" */
	CHECK_INT(kcall(&t, M, "pike_check_req", NULL), -2);
	CHECK_INT(kcall(&t, M, "pike_check_req", NULL), -1);
	CHECK_INT(kcall(&t, M, "pike_check_req", NULL), -1);
	/* another source is not affected, nor the same IP given as text */
	CHECK_INT(check_ip(&t, "192.0.2.11"), 1);
	CHECK_INT(check_ip(&t, "192.0.2.10"), -1);
	CHECK_INT(pike_count(), 2);
	tmsg_free(&t);
}

TEST(units_roll)
{
	tmsg_t t;

	setup();
	tmsg_parse(&t, REQ);
	/* 4 per unit stays below the density, unit after unit */
	for (int u = 0; u < 5; u++) {
		for (int i = 0; i < 4; i++)
			CHECK_INT(check_ip(&t, "10.0.0.1"), 1);
		fake_now += 1000;
	}
	/* 8 in one unit: blocked at the fifth */
	for (int i = 0; i < 4; i++)
		CHECK_INT(check_ip(&t, "10.0.0.1"), 1);
	CHECK_INT(check_ip(&t, "10.0.0.1"), -2);
	for (int i = 0; i < 3; i++)
		CHECK_INT(check_ip(&t, "10.0.0.1"), -1);
	/* next unit: the previous one (8) still counts */
	fake_now += 1000;
	CHECK_INT(check_ip(&t, "10.0.0.1"), -1);
	/* two quiet units later the address is free again */
	fake_now += 2000;
	pike_sweep();
	CHECK_INT(check_ip(&t, "10.0.0.1"), 1);
	/* and a new flood is a new first detection */
	for (int i = 0; i < 3; i++)
		CHECK_INT(check_ip(&t, "10.0.0.1"), 1);
	CHECK_INT(check_ip(&t, "10.0.0.1"), -2);
	tmsg_free(&t);
}

TEST(unblock_and_forget)
{
	tmsg_t t;
	rpc_error_t err;
	json_t *r;

	setup();
	tmsg_parse(&t, REQ);
	for (int i = 0; i < 5; i++)
		check_ip(&t, "10.0.0.2");
	CHECK_INT(check_ip(&t, "10.0.0.2"), -1);
	check_ip(&t, "10.0.0.3");
	/* still hot one unit later (previous unit), free after two */
	fake_now += 1000;
	pike_sweep();
	r = M->rpc[0].fn(NULL, &err); /* pike.top: HOT */
	CHECK_INT(json_integer_value(json_object_get(r, "number_of_rows")), 1);
	json_decref(r);
	fake_now += 1000;
	pike_sweep();
	r = M->rpc[0].fn(NULL, &err);
	CHECK_INT(json_integer_value(json_object_get(r, "number_of_rows")), 0);
	json_decref(r);
	CHECK_INT(pike_count(), 2);
	/* idle for remove_latency (4 s since the last request): forgotten */
	fake_now += 1999;
	pike_sweep();
	CHECK_INT(pike_count(), 2);
	fake_now += 1;
	pike_sweep();
	CHECK_INT(pike_count(), 0);
	tmsg_free(&t);
}

TEST(ipv6)
{
	tmsg_t t;

	setup();
	tmsg_parse(&t, REQ);
	/* the request's source as IPv6 */
	t.msg.rcv.src.in6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::7", &t.msg.rcv.src.in6.sin6_addr);
	for (int i = 1; i < 5; i++)
		CHECK_INT(kcall(&t, M, "pike_check_req", NULL), 1);
	CHECK_INT(kcall(&t, M, "pike_check_req", NULL), -2);
	CHECK_INT(check_ip(&t, "[2001:db8::7]"), -1);
	CHECK_INT(check_ip(&t, "2001:db8::8"), 1);
	/* an IPv4-mapped address is its IPv4 address */
	for (int i = 0; i < 4; i++)
		CHECK_INT(check_ip(&t, "::ffff:192.0.2.99"), 1);
	CHECK_INT(check_ip(&t, "192.0.2.99"), -2);
	/* not an address */
	CHECK_INT(check_ip(&t, "example.com"), -1);
	CHECK_INT(check_ip(&t, ""), -1);
	tmsg_free(&t);
}

TEST(rpc_top)
{
	tmsg_t t;
	rpc_error_t err;
	json_t *r, *p, *row;
	const rpc_export_t *top = &M->rpc[0], *list = &M->rpc[1];

	setup();
	CHECK_STR(top->name, "pike.top");
	CHECK_STR(list->name, "pike.list");
	tmsg_parse(&t, REQ);
	for (int i = 0; i < 6; i++)
		check_ip(&t, "10.1.1.1");
	for (int i = 0; i < 2; i++)
		check_ip(&t, "10.1.1.2");
	check_ip(&t, "10.1.1.3");
	r = top->fn(NULL, &err);
	CHECK_INT(json_integer_value(json_object_get(r, "max_hits")), 5);
	CHECK_INT(json_integer_value(json_object_get(r, "number_of_rows")), 1);
	row = json_array_get(json_object_get(r, "list"), 0);
	CHECK_STR(json_string_value(json_object_get(row, "ip_addr")),
		  "10.1.1.1");
	CHECK_INT(json_integer_value(json_object_get(row, "leaf_hits_curr")),
		  6);
	CHECK_INT(json_integer_value(json_object_get(row, "leaf_hits_prev")),
		  0);
	CHECK_INT(json_integer_value(json_object_get(row, "expires")), 4);
	CHECK_STR(json_string_value(json_object_get(row, "status")), "HOT");
	json_decref(r);
	/* WARM: a quarter of the density (5/4 = 1) and more */
	p = json_pack("[s]", "WARM");
	r = top->fn(p, &err);
	CHECK_INT(json_integer_value(json_object_get(r, "number_of_rows")), 3);
	json_decref(r);
	json_decref(p);
	r = list->fn(NULL, &err);
	CHECK_INT(json_integer_value(json_object_get(r, "number_of_rows")), 3);
	/* busiest first */
	row = json_array_get(json_object_get(r, "list"), 1);
	CHECK_STR(json_string_value(json_object_get(row, "ip_addr")),
		  "10.1.1.2");
	json_decref(r);
	p = json_pack("[s]", "bogus");
	CHECK(top->fn(p, &err) == NULL);
	CHECK_INT(err.code, 500);
	json_decref(p);
	tmsg_free(&t);
}

static void *flood(void *arg)
{
	uint8_t a[4] = {10, 9, 9, (uint8_t)(uintptr_t)arg};
	int blocked = 0;

	for (int i = 0; i < 50000; i++)
		blocked += pike_check_addr(AF_INET, a) < 0;
	return (void *)(uintptr_t)blocked;
}

TEST(threads)
{
	pthread_t th[4];
	void *rv;
	uint8_t shared[4] = {10, 9, 9, 1};

	setup();
	set_param("reqs_density_per_unit", 100000);
	/* two threads on one address, two on another: no lost counts */
	for (uintptr_t i = 0; i < 4; i++)
		CHECK_INT(
		    pthread_create(&th[i], NULL, flood, (void *)(1 + i % 2)),
		    0);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], &rv);
		/* 100000 per address: the 100000th hit blocks */
	}
	CHECK_INT(pike_count(), 2);
	/* each address got exactly 100000 requests in this unit: the next
	 * one is "still blocked" (the 100000th was the first detection) */
	CHECK_INT(pike_check_addr(AF_INET, shared), -1);
}

/* clang-format off */
TEST_LIST(
	TEST_ENTRY(threshold),
	TEST_ENTRY(units_roll),
	TEST_ENTRY(unblock_and_forget),
	TEST_ENTRY(ipv6),
	TEST_ENTRY(rpc_top),
	TEST_ENTRY(threads),
)
/* clang-format on */
