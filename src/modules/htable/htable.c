/* htable.c - KSR.htable: the script side of shared hash tables, with
 * Kamailio 5.6's function names, parameters and return codes.
 *
 * Returns (int functions):
 *   sht_sets, sht_seti, sht_setxs, sht_setxi, sht_setex, sht_rm,
 *   sht_rm_name_re, sht_rm_value_re, sht_rm_name, sht_rm_value,
 *   sht_reset, sht_lock, sht_unlock, sht_iterator_*:
 *        1 done, -1 error (no such table, bad regex or operator, no
 *        iterator / no current item).
 *   sht_match_name, sht_has_name, sht_match_str_value, sht_has_str_value:
 *        1 some item matches, -1 none (or error).
 *   sht_is_null: 1 the item is absent, -1 it exists, 2 no such table.
 *   sht_inc, sht_dec: the new value, or -255 (no table, no item and no
 *        initval, or a string value).
 *   sht_iterator_next: 1 an item is current, -1 no more items.
 * Getters (xval): sht_get returns the value, the table's initval for a
 * missing item when it has one, else null; sht_gete returns "" and
 * sht_getw "<null>" instead of null. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/globals.h"
#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "core/timer.h"
#include "ht_int.h"

char *ht_db_url;
static int ht_timer_interval = 20; /* seconds, Kamailio's default */

static ht_table_t *table_or_log(str_t name)
{
	ht_table_t *t = ht_find(name);

	if (!t)
		LOG_RATE(L_ERR, "htable: no table '%.*s'", STR_FMT(name));
	return t;
}

/* ---- getters ---- */

enum { GET_NULL, GET_EMPTY, GET_PRINT };

static int get_mode(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret,
		    int mode)
{
	ht_table_t *t = table_or_log(a[0].s);

	if (t && ht_pv_read(ctx, t, a[1].s, ret) >= 0 && ret->type != KSR_NULL)
		return 1;
	if (mode == GET_EMPTY)
		return ksr_xval_str(ret, STR_LIT(""));
	if (mode == GET_PRINT)
		return ksr_xval_str(ret, STR_LIT("<null>"));
	return ksr_xval_null(ret);
}

static int ki_sht_get(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return get_mode(c, a, r, GET_NULL);
}

static int ki_sht_gete(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return get_mode(c, a, r, GET_EMPTY);
}

static int ki_sht_getw(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return get_mode(c, a, r, GET_PRINT);
}

/* ---- setters ---- */

static int set_common(str_t tname, str_t key, const ksr_xval_t *v, long exv)
{
	ht_table_t *t = table_or_log(tname);

	if (!t)
		return -1;
	if (ht_set(t, key, v, exv) < 0) {
		LOG_ERR("htable: cannot set %.*s=>%.*s", STR_FMT(tname),
			STR_FMT(key));
		return -1;
	}
	return 1;
}

static int ki_sht_sets(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	ksr_xval_t v = {KSR_STR, 0, a[2].s};

	return set_common(a[0].s, a[1].s, &v, 0);
}

static int ki_sht_seti(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	ksr_xval_t v = {KSR_INT, a[2].n, STR_NULL};

	return set_common(a[0].s, a[1].s, &v, 0);
}

static int ki_sht_setxs(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	ksr_xval_t v = {KSR_STR, 0, a[2].s};

	return set_common(a[0].s, a[1].s, &v, a[3].n);
}

static int ki_sht_setxi(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	ksr_xval_t v = {KSR_INT, a[2].n, STR_NULL};

	return set_common(a[0].s, a[1].s, &v, a[3].n);
}

/* sht_setex(table, key, seconds): a missing item is not an error. */
static int ki_sht_setex(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	ht_table_t *t = table_or_log(a[0].s);

	if (!t)
		return -1;
	ht_set_expire(t, a[1].s, a[2].n);
	return 1;
}

static int ki_sht_rm(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	ht_table_t *t = table_or_log(a[0].s);

	if (!t)
		return -1;
	ht_del(t, a[1].s);
	return 1;
}

static int ki_sht_is_null(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	ht_table_t *t = ht_find(a[0].s);

	if (!t)
		return 2;
	return ht_exists(t, a[1].s) ? -1 : 1;
}

static int add_common(const ksr_arg_t *a, long delta)
{
	ht_table_t *t = table_or_log(a[0].s);
	long v;

	if (!t || ht_add(t, a[1].s, delta, &v) < 0)
		return -255;
	return (int)v;
}

static int ki_sht_inc(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return add_common(a, 1);
}

static int ki_sht_dec(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return add_common(a, -1);
}

static int ki_sht_reset(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	ht_table_t *t = table_or_log(a[0].s);

	if (!t)
		return -1;
	ht_reset(t);
	return 1;
}

/* ---- removal and matching by name or value ---- */

static int rm_re(const ksr_arg_t *a, int what)
{
	ht_table_t *t = table_or_log(a[0].s);

	if (!t || !a[1].s.len)
		return -1;
	return ht_rm_match(t, what, HT_OP_RE, a[1].s) < 0 ? -1 : 1;
}

static int ki_sht_rm_name_re(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return rm_re(a, HT_MATCH_NAME);
}

static int ki_sht_rm_value_re(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return rm_re(a, HT_MATCH_VALUE);
}

/* sht_rm_name/sht_rm_value(table, op, val): Kamailio accepts "re" and
 * "sw" here. */
static int rm_op(const ksr_arg_t *a, int what)
{
	ht_table_t *t = table_or_log(a[0].s);
	int op = ht_op_parse(a[1].s);

	if (!t || !a[2].s.len)
		return -1;
	if (op != HT_OP_RE && op != HT_OP_SW) {
		LOG_RATE(L_WARN, "htable: unsupported match operator '%.*s'",
			 STR_FMT(a[1].s));
		return -1;
	}
	return ht_rm_match(t, what, op, a[2].s) < 0 ? -1 : 1;
}

static int ki_sht_rm_name(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return rm_op(a, HT_MATCH_NAME);
}

static int ki_sht_rm_value(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return rm_op(a, HT_MATCH_VALUE);
}

static int match_op(const ksr_arg_t *a, int what)
{
	ht_table_t *t = table_or_log(a[0].s);
	int op = ht_op_parse(a[1].s);

	if (!t || !a[2].s.len)
		return -1;
	if (op < 0) {
		LOG_RATE(L_WARN, "htable: unsupported match operator '%.*s'",
			 STR_FMT(a[1].s));
		return -1;
	}
	return ht_match(t, what, op, a[2].s) > 0 ? 1 : -1;
}

static int ki_sht_match_name(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return match_op(a, HT_MATCH_NAME);
}

static int ki_sht_match_str_value(ksr_ctx_t *c, const ksr_arg_t *a,
				  ksr_xval_t *r)
{
	return match_op(a, HT_MATCH_VALUE);
}

/* ---- slot locks ---- */

static int ki_sht_lock(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	ht_table_t *t = table_or_log(a[0].s);

	if (!t)
		return -1;
	ht_lock_key(t, a[1].s);
	return 1;
}

static int ki_sht_unlock(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	ht_table_t *t = table_or_log(a[0].s);

	if (!t)
		return -1;
	if (ht_unlock_key(t, a[1].s) < 0) {
		LOG_ERR("htable: sht_unlock of %.*s=>%.*s not locked by this "
			"worker",
			STR_FMT(a[0].s), STR_FMT(a[1].s));
		return -1;
	}
	return 1;
}

/* ---- iterators ---- */

static int ki_sht_iterator_start(ksr_ctx_t *c, const ksr_arg_t *a,
				 ksr_xval_t *r)
{
	ht_table_t *t;

	if (!a[0].s.len || !a[1].s.len)
		return -1;
	t = table_or_log(a[1].s);
	if (!t)
		return -1;
	return ht_iter_start(a[0].s, t) < 0 ? -1 : 1;
}

static int ki_sht_iterator_next(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return ht_iter_next(a[0].s) > 0 ? 1 : -1;
}

static int ki_sht_iterator_end(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return ht_iter_end(a[0].s) < 0 ? -1 : 1;
}

static int ki_sht_iterator_rm(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return ht_iter_rm(a[0].s) < 0 ? -1 : 1;
}

static int ki_sht_iterator_sets(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	ksr_xval_t v = {KSR_STR, 0, a[1].s};

	return ht_iter_set(a[0].s, &v) < 0 ? -1 : 1;
}

static int ki_sht_iterator_seti(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	ksr_xval_t v = {KSR_INT, a[1].n, STR_NULL};

	return ht_iter_set(a[0].s, &v) < 0 ? -1 : 1;
}

static int ki_sht_iterator_setex(ksr_ctx_t *c, const ksr_arg_t *a,
				 ksr_xval_t *r)
{
	return ht_iter_setex(a[0].s, a[1].n) < 0 ? -1 : 1;
}

#define S KSR_STR
#define I KSR_INT
static const ksr_export_t htable_exports[] = {
    {"htable", "sht_get", KSR_XVAL, ki_sht_get, {S, S}},
    {"htable", "sht_gete", KSR_XVAL, ki_sht_gete, {S, S}},
    {"htable", "sht_getw", KSR_XVAL, ki_sht_getw, {S, S}},
    {"htable", "sht_sets", KSR_INT, ki_sht_sets, {S, S, S}},
    {"htable", "sht_seti", KSR_INT, ki_sht_seti, {S, S, I}},
    {"htable", "sht_setxs", KSR_INT, ki_sht_setxs, {S, S, S, I}},
    {"htable", "sht_setxi", KSR_INT, ki_sht_setxi, {S, S, I, I}},
    {"htable", "sht_setex", KSR_INT, ki_sht_setex, {S, S, I}},
    {"htable", "sht_rm", KSR_INT, ki_sht_rm, {S, S}},
    {"htable", "sht_is_null", KSR_INT, ki_sht_is_null, {S, S}},
    {"htable", "sht_inc", KSR_INT, ki_sht_inc, {S, S}},
    {"htable", "sht_dec", KSR_INT, ki_sht_dec, {S, S}},
    {"htable", "sht_reset", KSR_INT, ki_sht_reset, {S}},
    {"htable", "sht_rm_name_re", KSR_INT, ki_sht_rm_name_re, {S, S}},
    {"htable", "sht_rm_value_re", KSR_INT, ki_sht_rm_value_re, {S, S}},
    {"htable", "sht_rm_name", KSR_INT, ki_sht_rm_name, {S, S, S}},
    {"htable", "sht_rm_value", KSR_INT, ki_sht_rm_value, {S, S, S}},
    {"htable", "sht_match_name", KSR_INT, ki_sht_match_name, {S, S, S}},
    {"htable", "sht_has_name", KSR_INT, ki_sht_match_name, {S, S, S}},
    {"htable",
     "sht_match_str_value",
     KSR_INT,
     ki_sht_match_str_value,
     {S, S, S}},
    {"htable", "sht_has_str_value", KSR_INT, ki_sht_match_str_value, {S, S, S}},
    {"htable", "sht_lock", KSR_INT, ki_sht_lock, {S, S}},
    {"htable", "sht_unlock", KSR_INT, ki_sht_unlock, {S, S}},
    {"htable", "sht_iterator_start", KSR_INT, ki_sht_iterator_start, {S, S}},
    {"htable", "sht_iterator_next", KSR_INT, ki_sht_iterator_next, {S}},
    {"htable", "sht_iterator_end", KSR_INT, ki_sht_iterator_end, {S}},
    {"htable", "sht_iterator_rm", KSR_INT, ki_sht_iterator_rm, {S}},
    {"htable", "sht_iterator_sets", KSR_INT, ki_sht_iterator_sets, {S, S}},
    {"htable", "sht_iterator_seti", KSR_INT, ki_sht_iterator_seti, {S, I}},
    {"htable", "sht_iterator_setex", KSR_INT, ki_sht_iterator_setex, {S, I}},
    {0},
};
#undef S
#undef I

/* ---- module ---- */

/* modparam("htable", "htable", "name=>size=8;autoexpire=300;..."),
 * repeatable: one table each. */
static int param_htable(const char *param, int type, const char *sval,
			long ival, char *err, size_t errlen)
{
	return ht_table_define(sval, err, errlen);
}

static const osp_param_t htable_params[] = {
    {"htable", MP_STR, NULL, param_htable},
    {"timer_interval", MP_INT, &ht_timer_interval, NULL},
    {"db_url", MP_STR, &ht_db_url, NULL},
    {"db_expires", MP_INT, &ht_db_expires, NULL},
    {NULL, 0, NULL, NULL},
};

static void ht_timer_job(void *arg)
{
	ht_expire_all(ht_now());
}

static int htable_init(void)
{
	char err[256];

	if (ht_pv_register() < 0)
		return -1;
	for (ht_table_t *t = ht_tables; t; t = t->next) {
		/* "osprey -c" and "osprey --api" must not create files */
		if (!t->dbtable || osp_g.check_only || !osp_g.cfg_file)
			continue;
		if (ht_db_load(t, err, sizeof(err)) < 0) {
			LOG_ERR("htable %s: %s", t->name, err);
			return -1;
		}
		t->db_loaded = 1;
	}
	if (ht_timer_interval <= 0)
		ht_timer_interval = 20;
	if (ht_tables && osp_timer_periodic((unsigned)ht_timer_interval * 1000,
					    ht_timer_job, NULL) < 0) {
		LOG_ERR("htable: cannot start the expiry timer");
		return -1;
	}
	return 0;
}

static void htable_destroy(void)
{
	for (ht_table_t *t = ht_tables; t; t = t->next)
		if (t->db_loaded && t->dbmode == 1)
			ht_db_save(t);
	ht_iter_cleanup();
	ht_destroy_all();
	free(ht_db_url);
	ht_db_url = NULL;
}

osp_module_t osp_mod_htable = {
    .name = "htable",
    .exports = htable_exports,
    .params = htable_params,
    .rpc = ht_rpc_exports,
    .init = htable_init,
    .destroy = htable_destroy,
};
