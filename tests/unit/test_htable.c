/* test_htable.c - KSR.htable, $sht & co., expiry, iterators, the htable.*
 * RPCs and the SQLite dbtable load/save, against the module's real code.
 * Time is a fake clock the tests move by hand. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/globals.h"
#include "modules/htable/ht_int.h"
#include "modules/pv/pv.h"
#include "test_mods_util.h"

extern osp_module_t osp_mod_htable;
#define M (&osp_mod_htable)

#define REQ                                                                    \
	"OPTIONS sip:bob@example.com SIP/2.0\r\n"                              \
	"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"                 \
	"From: <sip:alice@example.com>;tag=a1\r\n"                             \
	"To: <sip:bob@example.com>\r\n"                                        \
	"Call-ID: c1\r\n"                                                      \
	"CSeq: 1 OPTIONS\r\n"                                                  \
	"Content-Length: 0\r\n"                                                \
	"\r\n"

static uint64_t fake_now = 1000000;

static uint64_t fake_clock(void)
{
	return fake_now;
}

static int define(const char *spec, char *err, size_t errlen)
{
	for (const osp_param_t *p = M->params; p->name; p++)
		if (strcmp(p->name, "htable") == 0)
			return p->set("htable", MP_STR, spec, 0, err, errlen);
	UNIT_FAIL("no htable modparam");
	return -1;
}

static void setup_tables(const char **specs)
{
	char err[256];

	ht_set_clock(fake_clock);
	for (; *specs; specs++)
		if (define(*specs, err, sizeof(err)) < 0)
			UNIT_FAIL("define %s: %s", *specs, err);
	CHECK_INT(M->init(), 0);
}

static void setup(void)
{
	static const char *specs[] = {
	    "a=>size=4;",
	    "ipban=>size=8;autoexpire=300;",
	    "cnt=>size=2;initval=0;autoexpire=10;",
	    "noup=>autoexpire=10;updateexpire=0",
	    NULL,
	};

	setup_tables(specs);
}

static const rpc_export_t *mrpc(const char *name)
{
	for (const rpc_export_t *e = M->rpc; e->name; e++)
		if (strcmp(e->name, name) == 0)
			return e;
	UNIT_FAIL("no RPC %s", name);
	return NULL;
}

/* Call an htable.* RPC with string/integer params given as a JSON text. */
static json_t *call_rpc(const char *name, const char *params, rpc_error_t *err)
{
	json_t *p = params ? json_loads(params, 0, NULL) : NULL;
	json_t *r;

	memset(err, 0, sizeof(*err));
	r = mrpc(name)->fn(p, err);
	json_decref(p);
	return r;
}

TEST(define_tables)
{
	char err[256];

	CHECK_INT(define("t1=>size=3;autoexpire=5;initval=-7;updateexpire=0",
			 err, sizeof(err)),
		  0);
	CHECK_INT(define(" t2 => size = 40 ; ", err, sizeof(err)), 0);
	CHECK_INT(define("t3=>", err, sizeof(err)), 0);
	CHECK_INT(define("t1=>size=2", err, sizeof(err)), -1);
	CHECK(strstr(err, "twice") != NULL);
	CHECK_INT(define("nosep", err, sizeof(err)), -1);
	CHECK_INT(define("t4=>bogus=1", err, sizeof(err)), -1);
	CHECK(strstr(err, "bogus") != NULL);
	CHECK_INT(define("t5=>size=abc", err, sizeof(err)), -1);
	CHECK_INT(define("t6=>cols='a,b'", err, sizeof(err)), -1);
	CHECK_INT(define("=>size=2", err, sizeof(err)), -1);
	{
		ht_table_t *t = ht_find(STR_LIT("t1"));

		CHECK(t != NULL);
		CHECK_INT(t->nslots, 8);
		CHECK_INT(t->autoexpire, 5);
		CHECK_INT(t->initval, -7);
		CHECK_INT(t->updateexpire, 0);
		/* size above 31 falls back to 2^14, as Kamailio does */
		CHECK_INT(ht_find(STR_LIT("t2"))->nslots, 16384);
		/* no size: 2^4 */
		CHECK_INT(ht_find(STR_LIT("t3"))->nslots, 16);
		CHECK(ht_find(STR_LIT("t4")) == NULL);
	}
	ht_destroy_all();
	CHECK(ht_find(STR_LIT("t1")) == NULL);
}

TEST(set_get)
{
	tmsg_t t;
	ksr_xval_t r;

	setup();
	tmsg_parse(&t, REQ);
	CHECK_INT(kcall(&t, M, "sht_sets", NULL, "a", "k1", "hello"), 1);
	CHECK_INT(kcall(&t, M, "sht_seti", NULL, "a", "k2", 42L), 1);
	kcall(&t, M, "sht_get", &r, "a", "k1");
	CHECK_XSTR(r, "hello");
	kcall(&t, M, "sht_get", &r, "a", "k2");
	CHECK_XINT(r, 42);
	/* overwrite changes the type */
	CHECK_INT(kcall(&t, M, "sht_seti", NULL, "a", "k1", -5L), 1);
	kcall(&t, M, "sht_get", &r, "a", "k1");
	CHECK_XINT(r, -5);
	CHECK_INT(kcall(&t, M, "sht_sets", NULL, "a", "k2", ""), 1);
	kcall(&t, M, "sht_get", &r, "a", "k2");
	CHECK_XSTR(r, "");
	/* missing items: null, "" and "<null>" */
	kcall(&t, M, "sht_get", &r, "a", "nope");
	CHECK_XNULL(r);
	kcall(&t, M, "sht_gete", &r, "a", "nope");
	CHECK_XSTR(r, "");
	kcall(&t, M, "sht_getw", &r, "a", "nope");
	CHECK_XSTR(r, "<null>");
	/* missing table */
	CHECK_INT(kcall(&t, M, "sht_sets", NULL, "zz", "k", "v"), -1);
	CHECK_INT(kcall(&t, M, "sht_seti", NULL, "zz", "k", 1L), -1);
	kcall(&t, M, "sht_get", &r, "zz", "k");
	CHECK_XNULL(r);
	kcall(&t, M, "sht_getw", &r, "zz", "k");
	CHECK_XSTR(r, "<null>");
	/* initval answers for missing items of the cnt table */
	kcall(&t, M, "sht_get", &r, "cnt", "nope");
	CHECK_XINT(r, 0);
	/* a value larger than a pv scratch slot */
	{
		char big[5000];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		CHECK_INT(kcall(&t, M, "sht_sets", NULL, "a", "big", big), 1);
		kcall(&t, M, "sht_get", &r, "a", "big");
		CHECK_INT(r.type, KSR_STR);
		CHECK_INT(r.s.len, sizeof(big) - 1);
		CHECK(memcmp(r.s.s, big, r.s.len) == 0);
	}
	tmsg_free(&t);
}

TEST(rm_and_is_null)
{
	tmsg_t t;
	ksr_xval_t r;

	setup();
	tmsg_parse(&t, REQ);
	CHECK_INT(kcall(&t, M, "sht_is_null", NULL, "a", "k"), 1);
	CHECK_INT(kcall(&t, M, "sht_seti", NULL, "a", "k", 1L), 1);
	CHECK_INT(kcall(&t, M, "sht_is_null", NULL, "a", "k"), -1);
	CHECK_INT(kcall(&t, M, "sht_rm", NULL, "a", "k"), 1);
	CHECK_INT(kcall(&t, M, "sht_is_null", NULL, "a", "k"), 1);
	kcall(&t, M, "sht_get", &r, "a", "k");
	CHECK_XNULL(r);
	/* removing a missing item is fine; a missing table is not */
	CHECK_INT(kcall(&t, M, "sht_rm", NULL, "a", "k"), 1);
	CHECK_INT(kcall(&t, M, "sht_rm", NULL, "zz", "k"), -1);
	CHECK_INT(kcall(&t, M, "sht_is_null", NULL, "zz", "k"), 2);
	/* is_null looks at the item, not at initval */
	CHECK_INT(kcall(&t, M, "sht_is_null", NULL, "cnt", "k"), 1);
	/* reset empties the table */
	kcall(&t, M, "sht_seti", NULL, "a", "x", 1L);
	kcall(&t, M, "sht_seti", NULL, "a", "y", 2L);
	CHECK_INT(kcall(&t, M, "sht_reset", NULL, "a"), 1);
	CHECK_INT(kcall(&t, M, "sht_is_null", NULL, "a", "x"), 1);
	CHECK_INT(kcall(&t, M, "sht_is_null", NULL, "a", "y"), 1);
	CHECK_INT(kcall(&t, M, "sht_reset", NULL, "zz"), -1);
	tmsg_free(&t);
}

TEST(inc_dec)
{
	tmsg_t t;
	ksr_xval_t r;

	setup();
	tmsg_parse(&t, REQ);
	/* initval 0: a missing counter starts from it */
	CHECK_INT(kcall(&t, M, "sht_inc", NULL, "cnt", "c"), 1);
	CHECK_INT(kcall(&t, M, "sht_inc", NULL, "cnt", "c"), 2);
	CHECK_INT(kcall(&t, M, "sht_dec", NULL, "cnt", "c"), 1);
	CHECK_INT(kcall(&t, M, "sht_dec", NULL, "cnt", "d"), -1);
	kcall(&t, M, "sht_get", &r, "cnt", "c");
	CHECK_XINT(r, 1);
	/* no initval: a missing item cannot be incremented */
	CHECK_INT(kcall(&t, M, "sht_inc", NULL, "a", "c"), -255);
	CHECK_INT(kcall(&t, M, "sht_seti", NULL, "a", "c", 10L), 1);
	CHECK_INT(kcall(&t, M, "sht_inc", NULL, "a", "c"), 11);
	CHECK_INT(kcall(&t, M, "sht_dec", NULL, "a", "c"), 10);
	/* nor a string */
	CHECK_INT(kcall(&t, M, "sht_sets", NULL, "a", "s", "x"), 1);
	CHECK_INT(kcall(&t, M, "sht_inc", NULL, "a", "s"), -255);
	CHECK_INT(kcall(&t, M, "sht_inc", NULL, "zz", "s"), -255);
	tmsg_free(&t);
}

TEST(expiry)
{
	tmsg_t t;
	ksr_xval_t r;
	ht_table_t *ipban;

	setup();
	ipban = ht_find(STR_LIT("ipban"));
	tmsg_parse(&t, REQ);
	CHECK_INT(kcall(&t, M, "sht_seti", NULL, "ipban", "1.2.3.4", 1L), 1);
	fake_now += 299 * 1000;
	CHECK_INT(kcall(&t, M, "sht_is_null", NULL, "ipban", "1.2.3.4"), -1);
	/* an update refreshes the expiry (updateexpire defaults to 1) */
	CHECK_INT(kcall(&t, M, "sht_seti", NULL, "ipban", "1.2.3.4", 2L), 1);
	fake_now += 299 * 1000;
	kcall(&t, M, "sht_get", &r, "ipban", "1.2.3.4");
	CHECK_XINT(r, 2);
	fake_now += 1000;
	/* gone for readers at once, freed by the timer */
	kcall(&t, M, "sht_get", &r, "ipban", "1.2.3.4");
	CHECK_XNULL(r);
	CHECK_INT(kcall(&t, M, "sht_is_null", NULL, "ipban", "1.2.3.4"), 1);
	CHECK_INT(
	    kcall(&t, M, "sht_match_name", NULL, "ipban", "eq", "1.2.3.4"), -1);
	CHECK_INT(
	    ipban->slots[ht_hash("1.2.3.4", 7) & (ipban->nslots - 1)].count, 1);
	CHECK_INT(ht_expire_all(fake_now), 1);
	CHECK_INT(
	    ipban->slots[ht_hash("1.2.3.4", 7) & (ipban->nslots - 1)].count, 0);

	/* updateexpire=0: updates keep the first expiry */
	CHECK_INT(kcall(&t, M, "sht_seti", NULL, "noup", "k", 1L), 1);
	fake_now += 9000;
	CHECK_INT(kcall(&t, M, "sht_seti", NULL, "noup", "k", 2L), 1);
	fake_now += 1000;
	CHECK_INT(kcall(&t, M, "sht_is_null", NULL, "noup", "k"), 1);

	/* an expired counter restarts from initval */
	CHECK_INT(kcall(&t, M, "sht_inc", NULL, "cnt", "c"), 1);
	CHECK_INT(kcall(&t, M, "sht_inc", NULL, "cnt", "c"), 2);
	fake_now += 10000;
	CHECK_INT(kcall(&t, M, "sht_inc", NULL, "cnt", "c"), 1);
	tmsg_free(&t);
}

TEST(per_item_expiry)
{
	tmsg_t t;
	ksr_xval_t r;
	const pv_spec_t *sp;
	char err[128];

	setup();
	tmsg_parse(&t, REQ);
	/* setxs/setxi work on a table without autoexpire, too */
	CHECK_INT(kcall(&t, M, "sht_setxs", NULL, "a", "s", "v", 5L), 1);
	CHECK_INT(kcall(&t, M, "sht_setxi", NULL, "a", "i", 7L, 2L), 1);
	CHECK_INT(kcall(&t, M, "sht_seti", NULL, "a", "forever", 1L), 1);
	sp = pv_spec_cached(STR_LIT("$shtex(a=>s)"), err, sizeof(err));
	CHECK(sp != NULL);
	pv_get(&t.ctx, sp, &r);
	CHECK_XINT(r, 5);
	fake_now += 2000;
	kcall(&t, M, "sht_get", &r, "a", "i");
	CHECK_XNULL(r);
	kcall(&t, M, "sht_get", &r, "a", "s");
	CHECK_XSTR(r, "v");
	/* setex changes the expiry of an existing item */
	CHECK_INT(kcall(&t, M, "sht_setex", NULL, "a", "s", 100L), 1);
	fake_now += 50 * 1000;
	kcall(&t, M, "sht_get", &r, "a", "s");
	CHECK_XSTR(r, "v");
	/* ... and 0 removes it */
	CHECK_INT(kcall(&t, M, "sht_setex", NULL, "a", "s", 0L), 1);
	fake_now += 1000 * 1000;
	kcall(&t, M, "sht_get", &r, "a", "s");
	CHECK_XSTR(r, "v");
	kcall(&t, M, "sht_get", &r, "a", "forever");
	CHECK_XINT(r, 1);
	CHECK_INT(kcall(&t, M, "sht_setex", NULL, "a", "missing", 5L), 1);
	CHECK_INT(kcall(&t, M, "sht_setex", NULL, "zz", "k", 5L), -1);
	/* $shtex write */
	CHECK_INT(pv_set(&t.ctx, sp, &(ksr_xval_t){KSR_INT, 3, STR_NULL}), 0);
	pv_get(&t.ctx, sp, &r);
	CHECK_XINT(r, 3);
	fake_now += 3000;
	kcall(&t, M, "sht_get", &r, "a", "s");
	CHECK_XNULL(r);
	tmsg_free(&t);
}

static void fill(tmsg_t *t, const char *tab, const char *const *kv)
{
	for (; kv[0]; kv += 2)
		CHECK_INT(kcall(t, M, "sht_sets", NULL, tab, kv[0], kv[1]), 1);
}

static int present(tmsg_t *t, const char *tab, const char *k)
{
	return kcall(t, M, "sht_is_null", NULL, tab, k) == -1;
}

TEST(rm_regex)
{
	static const char *const kv[] = {
	    "alice::n", "Sip:Alice@Example.com",
	    "bob::n",	"sip:bob@b.org",
	    "carol::x", "tel:123",
	    "Alice::m", "other",
	    NULL,
	};
	tmsg_t t;

	setup();
	tmsg_parse(&t, REQ);
	fill(&t, "a", kv);
	kcall(&t, M, "sht_seti", NULL, "a", "alice::i", 5L);
	/* name regex, case-insensitive as in Kamailio */
	CHECK_INT(kcall(&t, M, "sht_rm_name_re", NULL, "a", "^alice::"), 1);
	CHECK(!present(&t, "a", "alice::n"));
	CHECK(!present(&t, "a", "alice::i"));
	CHECK(!present(&t, "a", "Alice::m"));
	CHECK(present(&t, "a", "bob::n"));
	/* value regex: string values only */
	kcall(&t, M, "sht_seti", NULL, "a", "num", 123L);
	CHECK_INT(kcall(&t, M, "sht_rm_value_re", NULL, "a", "^sip:"), 1);
	CHECK(!present(&t, "a", "bob::n"));
	CHECK(present(&t, "a", "carol::x"));
	CHECK(present(&t, "a", "num"));
	/* bad regex, missing table, empty expression */
	CHECK_INT(kcall(&t, M, "sht_rm_name_re", NULL, "a", "(unclosed"), -1);
	CHECK_INT(kcall(&t, M, "sht_rm_name_re", NULL, "zz", "."), -1);
	CHECK_INT(kcall(&t, M, "sht_rm_name_re", NULL, "a", ""), -1);
	CHECK(present(&t, "a", "carol::x"));

	/* sht_rm_name / sht_rm_value with "re" and "sw" */
	fill(&t, "a", kv);
	CHECK_INT(kcall(&t, M, "sht_rm_name", NULL, "a", "sw", "alice"), 1);
	CHECK(!present(&t, "a", "alice::n"));
	CHECK(present(&t, "a", "Alice::m")); /* sw is case-sensitive */
	CHECK_INT(kcall(&t, M, "sht_rm_name", NULL, "a", "re", "::[nm]$"), 1);
	CHECK(!present(&t, "a", "bob::n"));
	CHECK(!present(&t, "a", "Alice::m"));
	CHECK(present(&t, "a", "carol::x"));
	CHECK_INT(kcall(&t, M, "sht_rm_value", NULL, "a", "sw", "tel:"), 1);
	CHECK(!present(&t, "a", "carol::x"));
	CHECK(present(&t, "a", "num"));
	fill(&t, "a", kv);
	CHECK_INT(kcall(&t, M, "sht_rm_value", NULL, "a", "re", "ORG$"), 1);
	CHECK(!present(&t, "a", "bob::n"));
	/* eq is not a removal operator in Kamailio */
	CHECK_INT(kcall(&t, M, "sht_rm_name", NULL, "a", "eq", "num"), -1);
	CHECK(present(&t, "a", "num"));
	CHECK_INT(kcall(&t, M, "sht_rm_name", NULL, "zz", "re", "."), -1);
	tmsg_free(&t);
}

TEST(match)
{
	static const char *const kv[] = {
	    "1.2.3.4", "x", "10.0.0.1", "sip:a@b", NULL,
	};
	tmsg_t t;

	setup();
	tmsg_parse(&t, REQ);
	CHECK_INT(kcall(&t, M, "sht_match_name", NULL, "a", "eq", "1.2.3.4"),
		  -1);
	CHECK_INT(kcall(&t, M, "sht_match_name", NULL, "a", "ne", "1.2.3.4"),
		  -1);
	fill(&t, "a", kv);
	CHECK_INT(kcall(&t, M, "sht_match_name", NULL, "a", "eq", "1.2.3.4"),
		  1);
	CHECK_INT(kcall(&t, M, "sht_match_name", NULL, "a", "eq", "1.2.3.5"),
		  -1);
	CHECK_INT(kcall(&t, M, "sht_match_name", NULL, "a", "eq", "1.2.3"), -1);
	CHECK_INT(kcall(&t, M, "sht_has_name", NULL, "a", "eq", "10.0.0.1"), 1);
	CHECK_INT(kcall(&t, M, "sht_match_name", NULL, "a", "ne", "1.2.3.4"),
		  1);
	CHECK_INT(kcall(&t, M, "sht_match_name", NULL, "a", "sw", "10."), 1);
	CHECK_INT(kcall(&t, M, "sht_match_name", NULL, "a", "sw", "11."), -1);
	CHECK_INT(kcall(&t, M, "sht_match_name", NULL, "a", "re",
			"^10\\.0\\.0\\.[0-9]+$"),
		  1);
	CHECK_INT(
	    kcall(&t, M, "sht_match_str_value", NULL, "a", "eq", "sip:a@b"), 1);
	CHECK_INT(kcall(&t, M, "sht_has_str_value", NULL, "a", "re", "^SIP:"),
		  1);
	CHECK_INT(
	    kcall(&t, M, "sht_match_str_value", NULL, "a", "eq", "1.2.3.4"),
	    -1);
	CHECK_INT(kcall(&t, M, "sht_match_name", NULL, "a", "xx", "1"), -1);
	CHECK_INT(kcall(&t, M, "sht_match_name", NULL, "a", "re", "(bad"), -1);
	CHECK_INT(kcall(&t, M, "sht_match_name", NULL, "zz", "eq", "1"), -1);
	tmsg_free(&t);
}

TEST(iterators)
{
	tmsg_t t;
	ksr_xval_t r;
	const pv_spec_t *kp, *vp;
	char err[128], key[16];
	int seen[40] = {0}, n = 0;

	setup();
	tmsg_parse(&t, REQ);
	for (long i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "k%ld", i);
		CHECK_INT(kcall(&t, M, "sht_seti", NULL, "a", key, i * 10), 1);
	}
	CHECK_INT(kcall(&t, M, "sht_iterator_start", NULL, "i1", "a"), 1);
	while (kcall(&t, M, "sht_iterator_next", NULL, "i1") > 0) {
		long i;

		kp = pv_spec_cached(STR_LIT("$shtitkey(i1)"), err, sizeof(err));
		CHECK(kp != NULL);
		pv_get(&t.ctx, kp, &r);
		CHECK_INT(r.type, KSR_STR);
		CHECK(r.s.len > 1 && r.s.s[0] == 'k');
		i = strtol(r.s.s + 1, NULL, 10);
		CHECK(i >= 0 && i < 40);
		seen[i]++;
		vp = pv_spec_cached(STR_LIT("$shtitval(i1)"), err, sizeof(err));
		pv_get(&t.ctx, vp, &r);
		CHECK_XINT(r, i * 10);
		/* modify every item, remove the odd ones */
		if (i % 2)
			CHECK_INT(kcall(&t, M, "sht_iterator_rm", NULL, "i1"),
				  1);
		else
			CHECK_INT(kcall(&t, M, "sht_iterator_seti", NULL, "i1",
					i + 1000),
				  1);
		n++;
	}
	CHECK_INT(n, 40);
	for (int i = 0; i < 40; i++)
		CHECK_INT(seen[i], 1);
	/* past the end */
	CHECK_INT(kcall(&t, M, "sht_iterator_next", NULL, "i1"), -1);
	CHECK_INT(kcall(&t, M, "sht_iterator_rm", NULL, "i1"), -1);
	CHECK_INT(kcall(&t, M, "sht_iterator_end", NULL, "i1"), 1);
	CHECK_INT(kcall(&t, M, "sht_iterator_end", NULL, "i1"), -1);
	CHECK_INT(kcall(&t, M, "sht_iterator_next", NULL, "i1"), -1);
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		kcall(&t, M, "sht_get", &r, "a", key);
		if (i % 2)
			CHECK_XNULL(r);
		else
			CHECK_XINT(r, i + 1000);
	}

	/* sets / setex on the current item */
	CHECK_INT(kcall(&t, M, "sht_iterator_start", NULL, "i2", "a"), 1);
	CHECK_INT(kcall(&t, M, "sht_iterator_next", NULL, "i2"), 1);
	CHECK_INT(kcall(&t, M, "sht_iterator_sets", NULL, "i2", "str"), 1);
	CHECK_INT(kcall(&t, M, "sht_iterator_setex", NULL, "i2", 1L), 1);
	vp = pv_spec_cached(STR_LIT("$shtitval(i2)"), err, sizeof(err));
	pv_get(&t.ctx, vp, &r);
	CHECK_XSTR(r, "str");
	kp = pv_spec_cached(STR_LIT("$shtitkey(i2)"), err, sizeof(err));
	pv_get(&t.ctx, kp, &r);
	CHECK_INT(r.type, KSR_STR);
	str_to_buf(r.s, key, sizeof(key));
	kcall(&t, M, "sht_get", &r, "a", key);
	CHECK_XSTR(r, "str");
	fake_now += 1000;
	kcall(&t, M, "sht_get", &r, "a", key);
	CHECK_XNULL(r);

	/* at most four iterators; restarting one by name reuses it */
	CHECK_INT(kcall(&t, M, "sht_iterator_start", NULL, "i3", "a"), 1);
	CHECK_INT(kcall(&t, M, "sht_iterator_start", NULL, "i4", "a"), 1);
	CHECK_INT(kcall(&t, M, "sht_iterator_start", NULL, "i5", "a"), 1);
	CHECK_INT(kcall(&t, M, "sht_iterator_start", NULL, "i6", "a"), -1);
	CHECK_INT(kcall(&t, M, "sht_iterator_start", NULL, "i2", "cnt"), 1);
	CHECK_INT(kcall(&t, M, "sht_iterator_next", NULL, "i2"), -1);
	CHECK_INT(kcall(&t, M, "sht_iterator_start", NULL, "i7", "zz"), -1);
	CHECK_INT(kcall(&t, M, "sht_iterator_start", NULL,
			"a-name-that-is-much-too-long-for-it", "a"),
		  -1);
	ht_iter_cleanup();
	tmsg_free(&t);
}

TEST(pv_sht)
{
	tmsg_t t;
	ksr_xval_t r;
	const pv_spec_t *sp;
	pv_spec_t *own;
	char err[128];

	setup();
	tmsg_parse(&t, REQ); /* from 192.0.2.10 */
	/* a key with a variable: the source address */
	sp = pv_spec_cached(STR_LIT("$sht(ipban=>$si)"), err, sizeof(err));
	if (!sp)
		UNIT_FAIL("parse: %s", err);
	pv_get(&t.ctx, sp, &r);
	CHECK_XNULL(r);
	CHECK_INT(pv_set(&t.ctx, sp, &(ksr_xval_t){KSR_INT, 1, STR_NULL}), 0);
	CHECK_INT(kcall(&t, M, "sht_is_null", NULL, "ipban", "192.0.2.10"), -1);
	pv_get(&t.ctx, sp, &r);
	CHECK_XINT(r, 1);
	/* literal parts around variables */
	own = pv_spec_parse(STR_LIT("$sht(a=>$si::$rm)"), err, sizeof(err));
	if (!own)
		UNIT_FAIL("parse: %s", err);
	CHECK_INT(pv_set(&t.ctx, own, &(ksr_xval_t){KSR_STR, 0, STR_LIT("v")}),
		  0);
	kcall(&t, M, "sht_get", &r, "a", "192.0.2.10::OPTIONS");
	CHECK_XSTR(r, "v");
	/* null deletes */
	CHECK_INT(pv_set(&t.ctx, own, &(ksr_xval_t){KSR_NULL, 0, STR_NULL}), 0);
	CHECK_INT(kcall(&t, M, "sht_is_null", NULL, "a", "192.0.2.10::OPTIONS"),
		  1);
	pv_spec_free(own);
	/* static key, initval table */
	sp = pv_spec_cached(STR_LIT("$sht(cnt=>x)"), err, sizeof(err));
	pv_get(&t.ctx, sp, &r);
	CHECK_XINT(r, 0);
	/* $shtinc / $shtdec */
	sp = pv_spec_cached(STR_LIT("$shtinc(cnt=>x)"), err, sizeof(err));
	pv_get(&t.ctx, sp, &r);
	CHECK_XINT(r, 1);
	pv_get(&t.ctx, sp, &r);
	CHECK_XINT(r, 2);
	sp = pv_spec_cached(STR_LIT("$shtdec(cnt=>x)"), err, sizeof(err));
	pv_get(&t.ctx, sp, &r);
	CHECK_XINT(r, 1);
	CHECK(!pv_is_writable(sp));
	/* counts */
	kcall(&t, M, "sht_sets", NULL, "a", "ab", "sip:x");
	kcall(&t, M, "sht_sets", NULL, "a", "ac", "tel:1");
	kcall(&t, M, "sht_seti", NULL, "a", "bd", 7L);
	sp = pv_spec_cached(STR_LIT("$shtcn(a=>**)"), err, sizeof(err));
	pv_get(&t.ctx, sp, &r);
	CHECK_XINT(r, 3);
	sp = pv_spec_cached(STR_LIT("$shtcn(a=>%~a)"), err, sizeof(err));
	pv_get(&t.ctx, sp, &r);
	CHECK_XINT(r, 2);
	sp = pv_spec_cached(STR_LIT("$shtcn(a=>~~^b)"), err, sizeof(err));
	pv_get(&t.ctx, sp, &r);
	CHECK_XINT(r, 1);
	sp = pv_spec_cached(STR_LIT("$shtcv(a=>~%:1)"), err, sizeof(err));
	pv_get(&t.ctx, sp, &r);
	CHECK_XINT(r, 1);
	sp = pv_spec_cached(STR_LIT("$shtcv(a=>eq7)"), err, sizeof(err));
	pv_get(&t.ctx, sp, &r);
	CHECK_XINT(r, 1);
	sp = pv_spec_cached(STR_LIT("$shtcv(a=>==sip:x)"), err, sizeof(err));
	pv_get(&t.ctx, sp, &r);
	CHECK_XINT(r, 1);
	/* errors: no arrow, unknown table (read as null) */
	CHECK(pv_spec_parse(STR_LIT("$sht(ipban)"), err, sizeof(err)) == NULL);
	CHECK(strstr(err, "=>") != NULL);
	sp = pv_spec_cached(STR_LIT("$sht(zz=>k)"), err, sizeof(err));
	CHECK(sp != NULL);
	pv_get(&t.ctx, sp, &r);
	CHECK_XNULL(r);
	CHECK(pv_set(&t.ctx, sp, &(ksr_xval_t){KSR_INT, 1, STR_NULL}) < 0);
	tmsg_free(&t);
}

TEST(slot_lock)
{
	tmsg_t t;
	ksr_xval_t r;

	setup();
	tmsg_parse(&t, REQ);
	CHECK_INT(kcall(&t, M, "sht_lock", NULL, "a", "k"), 1);
	/* the same worker may use the slot it holds */
	CHECK_INT(kcall(&t, M, "sht_seti", NULL, "a", "k", 5L), 1);
	CHECK_INT(kcall(&t, M, "sht_inc", NULL, "a", "k"), 6);
	CHECK_INT(kcall(&t, M, "sht_unlock", NULL, "a", "k"), 1);
	/* unlocking what is not held fails */
	CHECK_INT(kcall(&t, M, "sht_unlock", NULL, "a", "k"), -1);
	CHECK_INT(kcall(&t, M, "sht_lock", NULL, "zz", "k"), -1);
	kcall(&t, M, "sht_get", &r, "a", "k");
	CHECK_XINT(r, 6);
	tmsg_free(&t);
}

static void *inc_thread(void *arg)
{
	ht_table_t *t = arg;
	long v;

	for (int i = 0; i < 20000; i++) {
		if (ht_add(t, STR_LIT("hits"), 1, &v) < 0)
			return (void *)1;
		/* churn on other keys of the same table */
		if (i % 16 == 0) {
			char k[32];
			int n = snprintf(k, sizeof(k), "tmp%d", i);
			ksr_xval_t x = {KSR_INT, i, STR_NULL};

			ht_set(t, (str_t){k, (size_t)n}, &x, 0);
			ht_del(t, (str_t){k, (size_t)n});
		}
	}
	return NULL;
}

TEST(threads)
{
	ht_table_t *t;
	pthread_t th[4];
	void *rv;
	long v;

	setup();
	t = ht_find(STR_LIT("cnt"));
	for (int i = 0; i < 4; i++)
		CHECK_INT(pthread_create(&th[i], NULL, inc_thread, t), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], &rv);
		CHECK(rv == NULL);
	}
	CHECK_INT(ht_add(t, STR_LIT("hits"), 0, &v), 0);
	CHECK_INT(v, 80000);
}

TEST(rpc)
{
	tmsg_t t;
	rpc_error_t err;
	json_t *r, *e;
	ksr_xval_t x;
	char *txt;

	setup();
	tmsg_parse(&t, REQ);
	r = call_rpc("htable.sets", "[\"a\", \"k1\", \"v1\"]", &err);
	CHECK(json_is_null(r));
	json_decref(r);
	r = call_rpc("htable.seti", "[\"a\", \"k2\", 12]", &err);
	CHECK(json_is_null(r));
	r = call_rpc("htable.seti", "[\"a\", \"k3\", \"x\"]", &err);
	CHECK(r == NULL && err.code == RPC_E_INVALID_PARAMS);
	kcall(&t, M, "sht_get", &x, "a", "k1");
	CHECK_XSTR(x, "v1");
	kcall(&t, M, "sht_get", &x, "a", "k2");
	CHECK_XINT(x, 12);

	r = call_rpc("htable.get", "[\"a\", \"k1\"]", &err);
	CHECK(r != NULL);
	txt = json_dumps(r, JSON_SORT_KEYS | JSON_COMPACT);
	CHECK_STR(txt, "{\"item\":{\"expire\":\"NEVER\",\"flags\":2,"
		       "\"name\":\"k1\",\"value\":\"v1\"}}");
	free(txt);
	json_decref(r);
	r = call_rpc("htable.get", "[\"a\", \"k2\"]", &err);
	CHECK_INT(json_integer_value(
		      json_object_get(json_object_get(r, "item"), "value")),
		  12);
	json_decref(r);
	r = call_rpc("htable.get", "[\"a\", \"nope\"]", &err);
	CHECK(r == NULL && err.code == 500);
	r = call_rpc("htable.get", "[\"zz\", \"k1\"]", &err);
	CHECK(r == NULL && err.code == 500);
	CHECK(strstr(err.message, "No such htable") != NULL);

	/* dump: one entry per non-empty slot, items in "slot" */
	r = call_rpc("htable.dump", "[\"a\"]", &err);
	CHECK(json_is_array(r));
	{
		size_t i, items = 0;

		json_array_foreach(r, i, e)
		{
			json_t *slot = json_object_get(e, "slot");

			CHECK(json_is_integer(json_object_get(e, "entry")));
			CHECK_INT(
			    json_integer_value(json_object_get(e, "size")),
			    json_array_size(slot));
			items += json_array_size(slot);
		}
		CHECK_INT(items, 2);
	}
	json_decref(r);

	r = call_rpc("htable.setxi", "[\"a\", \"k4\", 4, 60]", &err);
	CHECK(json_is_null(r));
	r = call_rpc("htable.get", "[\"a\", \"k4\"]", &err);
	e = json_object_get(json_object_get(r, "item"), "expire");
	CHECK(json_is_string(e) && strcmp(json_string_value(e), "NEVER") != 0);
	json_decref(r);

	r = call_rpc("htable.delete", "[\"a\", \"k1\"]", &err);
	CHECK(json_is_null(r));
	CHECK_INT(kcall(&t, M, "sht_is_null", NULL, "a", "k1"), 1);

	r = call_rpc("htable.stats", NULL, &err);
	CHECK_INT(json_array_size(r), 4);
	e = json_array_get(r, 0);
	CHECK_STR(json_string_value(json_object_get(e, "name")), "a");
	CHECK_INT(json_integer_value(json_object_get(e, "slots")), 16);
	CHECK_INT(json_integer_value(json_object_get(e, "all")), 2);
	json_decref(r);

	r = call_rpc("htable.listTables", NULL, &err);
	CHECK_INT(json_array_size(r), 4);
	e = json_array_get(r, 1);
	CHECK_STR(json_string_value(json_object_get(e, "name")), "ipban");
	CHECK_INT(json_integer_value(json_object_get(e, "expire")), 300);
	CHECK_INT(json_integer_value(json_object_get(e, "size")), 256);
	json_decref(r);

	r = call_rpc("htable.flush", "[\"a\"]", &err);
	CHECK(json_is_null(r));
	CHECK_INT(kcall(&t, M, "sht_is_null", NULL, "a", "k2"), 1);
	r = call_rpc("htable.flush", "[\"zz\"]", &err);
	CHECK(r == NULL && err.code == 500);
	r = call_rpc("htable.reload", "[\"a\"]", &err);
	CHECK(r == NULL && err.code == 500);
	tmsg_free(&t);
}

TEST(dbtable)
{
	static const char *specs[] = {
	    "d=>size=4;dbtable=htable_d;dbmode=1",
	    NULL,
	};
	char dir[] = "/tmp/osp-ht-XXXXXX", url[256], path[200];
	sqlite3 *db;
	tmsg_t t;
	ksr_xval_t r;
	rpc_error_t err;
	json_t *j;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/ht.db", dir);
	snprintf(url, sizeof(url), "sqlite://%s", path);
	/* a database written by hand, with Kamailio's columns */
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(
		      db,
		      "CREATE TABLE version (table_name VARCHAR(32) NOT NULL, "
		      "table_version INTEGER DEFAULT 0 NOT NULL);"
		      "INSERT INTO version VALUES ('htable_d', 2);"
		      "CREATE TABLE htable_d (id INTEGER PRIMARY KEY, "
		      "key_name TEXT, key_type INT, value_type INT, "
		      "key_value TEXT, expires INT);"
		      "INSERT INTO htable_d VALUES (1,'s',0,0,'hello',0);"
		      "INSERT INTO htable_d VALUES (2,'n',0,1,'42',0);"
		      "INSERT INTO htable_d VALUES (3,'arr',1,0,'x',0);"
		      "INSERT INTO htable_d VALUES (4,'arr',1,0,'y',0);",
		      NULL, NULL, NULL),
		  SQLITE_OK);
	sqlite3_close(db);
	for (const osp_param_t *p = M->params; p->name; p++)
		if (strcmp(p->name, "db_url") == 0)
			*(char **)p->var = strdup(url);
	osp_g.cfg_file = "test.cfg"; /* a configured server loads dbtable */
	setup_tables(specs);
	tmsg_parse(&t, REQ);
	kcall(&t, M, "sht_get", &r, "d", "s");
	CHECK_XSTR(r, "hello");
	kcall(&t, M, "sht_get", &r, "d", "n");
	CHECK_XINT(r, 42);
	kcall(&t, M, "sht_get", &r, "d", "arr[0]");
	CHECK_XSTR(r, "x");
	kcall(&t, M, "sht_get", &r, "d", "arr[1]");
	CHECK_XSTR(r, "y");
	kcall(&t, M, "sht_get", &r, "d", "arr::size");
	CHECK_XINT(r, 2);
	/* reload replaces the content */
	kcall(&t, M, "sht_seti", NULL, "d", "extra", 1L);
	j = call_rpc("htable.reload", "[\"d\"]", &err);
	CHECK(json_is_null(j));
	CHECK_INT(kcall(&t, M, "sht_is_null", NULL, "d", "extra"), 1);
	kcall(&t, M, "sht_get", &r, "d", "s");
	CHECK_XSTR(r, "hello");
	/* dbmode=1: written back at shutdown */
	kcall(&t, M, "sht_seti", NULL, "d", "new", 7L);
	kcall(&t, M, "sht_rm", NULL, "d", "s");
	M->destroy();
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	{
		sqlite3_stmt *st;
		int rows = 0, found_new = 0;

		CHECK_INT(sqlite3_prepare_v2(db,
					     "SELECT key_name, value_type, "
					     "key_value FROM htable_d",
					     -1, &st, NULL),
			  SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *k =
			    (const char *)sqlite3_column_text(st, 0);

			rows++;
			CHECK(strcmp(k, "s") != 0);
			if (strcmp(k, "new") == 0) {
				found_new = 1;
				CHECK_INT(sqlite3_column_int(st, 1), 1);
				CHECK_STR(
				    (const char *)sqlite3_column_text(st, 2),
				    "7");
			}
		}
		sqlite3_finalize(st);
		CHECK_INT(rows, 5); /* n, arr[0], arr[1], arr::size, new */
		CHECK(found_new);
	}
	sqlite3_close(db);
	tmsg_free(&t);
	{
		static const char *const suffix[] = {"", "-wal", "-shm"};
		char f[256];

		for (size_t i = 0; i < OSP_ARRAY_LEN(suffix); i++) {
			snprintf(f, sizeof(f), "%s%s", path, suffix[i]);
			unlink(f);
		}
		rmdir(dir);
	}
}

/* clang-format off */
TEST_LIST(
	TEST_ENTRY(define_tables),
	TEST_ENTRY(set_get),
	TEST_ENTRY(rm_and_is_null),
	TEST_ENTRY(inc_dec),
	TEST_ENTRY(expiry),
	TEST_ENTRY(per_item_expiry),
	TEST_ENTRY(rm_regex),
	TEST_ENTRY(match),
	TEST_ENTRY(iterators),
	TEST_ENTRY(pv_sht),
	TEST_ENTRY(slot_lock),
	TEST_ENTRY(threads),
	TEST_ENTRY(rpc),
	TEST_ENTRY(dbtable),
)
/* clang-format on */
