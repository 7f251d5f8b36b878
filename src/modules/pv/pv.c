/* pv.c - the pv module: KSR.pv.* (get/set variables by name from scripts),
 * the "shvset"/"varset" modparams and the pv.shvGet / pv.shvSet RPCs.
 *
 * KSR.pv.* take the variable name as a string; each name is parsed once
 * per worker and kept in a bounded per-thread cache (pv_spec_cached). The
 * return conventions are Kamailio's: get -> null when unset, gete -> "",
 * getw -> "<null>", getvn/getvs -> the given default, geti -> 0; the
 * setters and is_null return booleans. A bad name is logged and treated as
 * a null value (or false). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/module.h"
#include "modules/pv/pv_int.h"

enum { NULL_NONE = 0, NULL_EMPTY, NULL_PRINT };

/* Look the name up; logs (rate-limited) why a name is unusable. */
static const pv_spec_t *ki_spec(const char *fn, str_t name)
{
	char err[256];
	const pv_spec_t *sp = pv_spec_cached(name, err, sizeof(err));

	if (!sp)
		LOG_RATE(L_ERR, "KSR.pv.%s(\"%.*s\"): %s", fn, STR_FMT(name),
			 err);
	return sp;
}

/* Read name; 1 when *v holds a value, 0 when null or unusable. */
static int ki_read(ksr_ctx_t *ctx, const char *fn, str_t name, ksr_xval_t *v)
{
	const pv_spec_t *sp = ki_spec(fn, name);

	if (!sp || pv_get(ctx, sp, v) < 0 || v->type == KSR_NULL)
		return 0;
	return 1;
}

static int get_mode(ksr_ctx_t *ctx, const char *fn, const ksr_arg_t *args,
		    ksr_xval_t *ret, int mode)
{
	if (ki_read(ctx, fn, args[0].s, ret))
		return 1;
	switch (mode) {
	case NULL_EMPTY: return ksr_xval_str(ret, STR_LIT(""));
	case NULL_PRINT: return ksr_xval_str(ret, STR_LIT("<null>"));
	default: return ksr_xval_null(ret);
	}
}

static int ki_pv_get(ksr_ctx_t *ctx, const ksr_arg_t *args, ksr_xval_t *ret)
{
	return get_mode(ctx, "get", args, ret, NULL_NONE);
}

static int ki_pv_gete(ksr_ctx_t *ctx, const ksr_arg_t *args, ksr_xval_t *ret)
{
	return get_mode(ctx, "gete", args, ret, NULL_EMPTY);
}

static int ki_pv_getw(ksr_ctx_t *ctx, const ksr_arg_t *args, ksr_xval_t *ret)
{
	return get_mode(ctx, "getw", args, ret, NULL_PRINT);
}

/* getvn(name, n): the value, or the integer n when null. */
static int ki_pv_getvn(ksr_ctx_t *ctx, const ksr_arg_t *args, ksr_xval_t *ret)
{
	if (ki_read(ctx, "getvn", args[0].s, ret))
		return 1;
	return ksr_xval_int(ret, args[1].n);
}

/* getvs(name, s): the value, or the string s when null. */
static int ki_pv_getvs(ksr_ctx_t *ctx, const ksr_arg_t *args, ksr_xval_t *ret)
{
	if (ki_read(ctx, "getvs", args[0].s, ret))
		return 1;
	return ksr_xval_str(ret, args[1].s);
}

/* geti(name): an integer (0 when null or not a number). */
static int ki_pv_geti(ksr_ctx_t *ctx, const ksr_arg_t *args, ksr_xval_t *ret)
{
	ksr_xval_t v;
	long n;

	if (!ki_read(ctx, "geti", args[0].s, &v))
		return 0;
	n = pv_value_int(&v);
	if (n > INT32_MAX)
		n = INT32_MAX;
	if (n < INT32_MIN)
		n = INT32_MIN;
	return (int)n;
}

static int ki_set(ksr_ctx_t *ctx, const char *fn, str_t name,
		  const ksr_xval_t *v)
{
	const pv_spec_t *sp = ki_spec(fn, name);

	if (!sp)
		return 0;
	/* pv_set logged the reason */
	if (pv_set(ctx, sp, v) < 0)
		return 0;
	return 1;
}

static int ki_pv_seti(ksr_ctx_t *ctx, const ksr_arg_t *args, ksr_xval_t *ret)
{
	ksr_xval_t v = {KSR_INT, args[1].n, STR_NULL};

	return ki_set(ctx, "seti", args[0].s, &v);
}

static int ki_pv_sets(ksr_ctx_t *ctx, const ksr_arg_t *args, ksr_xval_t *ret)
{
	ksr_xval_t v = {KSR_STR, 0, args[1].s};

	return ki_set(ctx, "sets", args[0].s, &v);
}

static int ki_pv_unset(ksr_ctx_t *ctx, const ksr_arg_t *args, ksr_xval_t *ret)
{
	ksr_xval_t v = {KSR_NULL, 0, STR_NULL};

	return ki_set(ctx, "unset", args[0].s, &v);
}

/* is_null: true for null values, and for names that cannot be read (as in
 * Kamailio). */
static int ki_pv_is_null(ksr_ctx_t *ctx, const ksr_arg_t *args, ksr_xval_t *ret)
{
	ksr_xval_t v;

	return ki_read(ctx, "is_null", args[0].s, &v) ? 0 : 1;
}

static const ksr_export_t pv_exports[] = {
    {"pv", "get", KSR_XVAL, ki_pv_get, {KSR_STR}},
    {"pv", "getw", KSR_XVAL, ki_pv_getw, {KSR_STR}},
    {"pv", "gete", KSR_XVAL, ki_pv_gete, {KSR_STR}},
    {"pv", "getvn", KSR_XVAL, ki_pv_getvn, {KSR_STR, KSR_INT}},
    {"pv", "getvs", KSR_XVAL, ki_pv_getvs, {KSR_STR, KSR_STR}},
    {"pv", "geti", KSR_INT, ki_pv_geti, {KSR_STR}},
    {"pv", "seti", KSR_BOOL, ki_pv_seti, {KSR_STR, KSR_INT}},
    {"pv", "sets", KSR_BOOL, ki_pv_sets, {KSR_STR, KSR_STR}},
    {"pv", "unset", KSR_BOOL, ki_pv_unset, {KSR_STR}},
    {"pv", "is_null", KSR_BOOL, ki_pv_is_null, {KSR_STR}},
    {NULL, NULL, 0, NULL, {0}},
};

/* ---- modparams: shvset / varset "name=i:123" or "name=s:text" ---- */

static int parse_xvar(const char *param, const char *sval, str_t *name,
		      ksr_xval_t *v, char *err, size_t errlen)
{
	const char *eq = sval ? strchr(sval, '=') : NULL;
	long n;

	if (!eq || eq == sval || !eq[1] || eq[2] != ':' ||
	    !strchr("sSiI", eq[1])) {
		snprintf(err, errlen,
			 "%s: expected \"name=s:text\" or \"name=i:number\"",
			 param);
		return -1;
	}
	*name = (str_t){sval, (size_t)(eq - sval)};
	if (eq[1] == 's' || eq[1] == 'S') {
		*v = (ksr_xval_t){KSR_STR, 0, str_from(eq + 3)};
		return 0;
	}
	if (pv_parse_long(str_from(eq + 3), &n) < 0) {
		snprintf(err, errlen, "%s: '%s' is not a number", param,
			 eq + 3);
		return -1;
	}
	*v = (ksr_xval_t){KSR_INT, n, STR_NULL};
	return 0;
}

static int param_shvset(const char *param, int type, const char *sval,
			long ival, char *err, size_t errlen)
{
	str_t name;
	ksr_xval_t v;

	if (parse_xvar(param, sval, &name, &v, err, errlen) < 0)
		return -1;
	if (pv_shv_set(name, &v) < 0) {
		snprintf(err, errlen, "%s: out of memory", param);
		return -1;
	}
	return 0;
}

static int param_varset(const char *param, int type, const char *sval,
			long ival, char *err, size_t errlen)
{
	str_t name;
	ksr_xval_t v;

	if (parse_xvar(param, sval, &name, &v, err, errlen) < 0)
		return -1;
	if (pv_var_set_default(name, &v) < 0) {
		snprintf(err, errlen, "%s: out of memory", param);
		return -1;
	}
	return 0;
}

static const osp_param_t pv_params[] = {
    {"shvset", MP_STR, NULL, param_shvset},
    {"varset", MP_STR, NULL, param_varset},
    {NULL, 0, NULL, NULL},
};

/* ---- RPC ---- */

static json_t *shv_json(str_t name, const ksr_xval_t *v)
{
	if (v->type == KSR_STR)
		return json_pack("{s:s%, s:s, s:s%}", "name", name.s, name.len,
				 "type", "string", "value", v->s.s, v->s.len);
	return json_pack("{s:s%, s:s, s:I}", "name", name.s, name.len, "type",
			 "int", "value", (json_int_t)v->n);
}

static int shv_collect(str_t name, const ksr_xval_t *v, void *arg)
{
	json_t *o = shv_json(name, v);

	if (!o || json_array_append_new(arg, o) < 0)
		return -1;
	return 0;
}

typedef struct shv_find {
	str_t name;
	json_t *found;
} shv_find_t;

static int shv_match(str_t name, const ksr_xval_t *v, void *arg)
{
	shv_find_t *f = arg;

	if (!str_eq(name, f->name))
		return 0;
	f->found = shv_json(name, v);
	return 1;
}

/* pv.shvGet [name]: one variable, or all of them as an array. */
static json_t *rpc_shv_get(json_t *params, rpc_error_t *err)
{
	const char *name = NULL;
	shv_find_t f = {STR_NULL, NULL};
	json_t *arr;

	if (json_is_array(params) && json_array_size(params) > 0)
		name = rpc_param_str(params, 0, err);
	else if (json_is_object(params) && json_object_get(params, "name"))
		name = json_string_value(json_object_get(params, "name"));
	if (name) {
		f.name = str_from(name);
		if (pv_shv_foreach(shv_match, &f) < 0 || !f.found)
			return rpc_fail(err, 404, "Variable not found");
		return f.found;
	}
	arr = json_array();
	if (!arr || pv_shv_foreach(shv_collect, arr) < 0) {
		json_decref(arr);
		return rpc_fail(err, 500, "Internal error");
	}
	return arr;
}

/* pv.shvSet name type value: type "int" or "str"; the variable must exist
 * (declared by the script or by modparam shvset), as in Kamailio. */
static json_t *rpc_shv_set(json_t *params, rpc_error_t *err)
{
	const char *name, *type, *sval;
	ksr_xval_t v, cur;
	long n;

	name = rpc_param_str(params, 0, err);
	type = name ? rpc_param_str(params, 1, err) : NULL;
	if (!name || !type)
		return rpc_fail(err, 500,
				"Missing parameters (name type value)");
	if (strcasecmp(type, "int") == 0) {
		if (rpc_param_int(params, 2, &n, err) < 0)
			return rpc_fail(err, 500, "Missing integer value");
		v = (ksr_xval_t){KSR_INT, n, STR_NULL};
	} else if (strcasecmp(type, "str") == 0) {
		sval = rpc_param_str(params, 2, err);
		if (!sval)
			return rpc_fail(err, 500, "Missing string value");
		v = (ksr_xval_t){KSR_STR, 0, str_from(sval)};
	} else {
		return rpc_fail(err, 500, "Unknown type (int or str)");
	}
	if (pv_shv_get(str_from(name), &cur, NULL, 0) == -OSP_ENOTFOUND)
		return rpc_fail(err, 404, "Variable not found");
	if (pv_shv_set(str_from(name), &v) < 0)
		return rpc_fail(err, 500, "Cannot set shared variable value");
	return json_string("Ok. Variable set to new value.");
}

static const rpc_export_t pv_rpc[] = {
    {"pv.shvGet", rpc_shv_get, "Get the value of $shv(name), or of all"},
    {"pv.shvSet", rpc_shv_set, "Set $shv(name): name int|str value"},
    {NULL, NULL, NULL},
};

static int pv_mod_init(void)
{
	pv_core_init();
	return pv_tls() ? 0 : -1;
}

static void pv_mod_destroy(void)
{
	pv_thread_cleanup();
	pv_destroy();
}

osp_module_t osp_mod_pv = {
    .name = "pv",
    .exports = pv_exports,
    .params = pv_params,
    .rpc = pv_rpc,
    .init = pv_mod_init,
    .destroy = pv_mod_destroy,
    .always = 1,
};
