/* xlog.c - the xlog module: log lines with pseudo-variables from scripts,
 * KSR.xlog.xinfo("new $rm from $si"), as Kamailio's xlog KEMI exports.
 *
 * The level is tested before anything else, so a disabled level costs one
 * comparison. Formats are parsed once per worker and kept in pv's bounded
 * per-thread format cache. Kamailio's extra levels (ALERT, BUG, CRIT2) map
 * to our most severe one, L_CRIT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "modules/pv/pv.h"

#define XLOG_BUF_MAX 8192

static char *xlog_prefix; /* modparam "prefix"; NULL = default */
static int xlog_buf_size = 4096;

static const char *prefix(void)
{
	return xlog_prefix ? xlog_prefix : "<script>: ";
}

/* Print fmt at level; 1, or -1 when the format is malformed. */
static int xlog_print(ksr_ctx_t *ctx, int level, str_t fmt)
{
	char buf[XLOG_BUF_MAX], err[256];
	const pv_fmt_t *f;
	size_t cap;
	str_t out;

	if (osp_log_level < level)
		return 1;
	f = pv_fmt_cached(fmt, err, sizeof(err));
	if (!f) {
		LOG_RATE(L_ERR, "xlog: bad format \"%.*s\": %s", STR_FMT(fmt),
			 err);
		return -1;
	}
	cap = xlog_buf_size > 0 && xlog_buf_size < XLOG_BUF_MAX
		  ? (size_t)xlog_buf_size + 1
		  : sizeof(buf);
	/* a truncated line is still worth printing */
	pv_fmt_eval(ctx, f, buf, cap, &out);
	osp_log(level, __FILE__, __LINE__, "%s%.*s", prefix(), STR_FMT(out));
	return 1;
}

/* Kamailio's level names, with or without the "L_" prefix, any case;
 * an unknown name means L_ERR (as in Kamailio). */
static int level_from_name(str_t s)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
	    {"alert", L_CRIT}, {"bug", L_CRIT},	    {"crit2", L_CRIT},
	    {"crit", L_CRIT},  {"err", L_ERR},	    {"error", L_ERR},
	    {"warn", L_WARN},  {"warning", L_WARN}, {"notice", L_NOTICE},
	    {"info", L_INFO},  {"dbg", L_DBG},	    {"debug", L_DBG},
	};

	if (s.len > 2 && strncasecmp(s.s, "l_", 2) == 0) {
		s.s += 2;
		s.len -= 2;
	}
	for (size_t i = 0; i < OSP_ARRAY_LEN(levels); i++)
		if (str_caseeq_cstr(s, levels[i].name))
			return levels[i].level;
	return L_ERR;
}

static int ki_xlog(ksr_ctx_t *ctx, const ksr_arg_t *args, ksr_xval_t *ret)
{
	return xlog_print(ctx, level_from_name(args[0].s), args[1].s);
}

static int ki_xdbg(ksr_ctx_t *ctx, const ksr_arg_t *args, ksr_xval_t *ret)
{
	return xlog_print(ctx, L_DBG, args[0].s);
}

static int ki_xinfo(ksr_ctx_t *ctx, const ksr_arg_t *args, ksr_xval_t *ret)
{
	return xlog_print(ctx, L_INFO, args[0].s);
}

static int ki_xnotice(ksr_ctx_t *ctx, const ksr_arg_t *args, ksr_xval_t *ret)
{
	return xlog_print(ctx, L_NOTICE, args[0].s);
}

static int ki_xwarn(ksr_ctx_t *ctx, const ksr_arg_t *args, ksr_xval_t *ret)
{
	return xlog_print(ctx, L_WARN, args[0].s);
}

static int ki_xerr(ksr_ctx_t *ctx, const ksr_arg_t *args, ksr_xval_t *ret)
{
	return xlog_print(ctx, L_ERR, args[0].s);
}

static int ki_xcrit(ksr_ctx_t *ctx, const ksr_arg_t *args, ksr_xval_t *ret)
{
	return xlog_print(ctx, L_CRIT, args[0].s);
}

static int ki_xalert(ksr_ctx_t *ctx, const ksr_arg_t *args, ksr_xval_t *ret)
{
	return xlog_print(ctx, L_CRIT, args[0].s);
}

static const ksr_export_t xlog_exports[] = {
    {"xlog", "xdbg", KSR_INT, ki_xdbg, {KSR_STR}},
    {"xlog", "xinfo", KSR_INT, ki_xinfo, {KSR_STR}},
    {"xlog", "xnotice", KSR_INT, ki_xnotice, {KSR_STR}},
    {"xlog", "xwarn", KSR_INT, ki_xwarn, {KSR_STR}},
    {"xlog", "xerr", KSR_INT, ki_xerr, {KSR_STR}},
    {"xlog", "xalert", KSR_INT, ki_xalert, {KSR_STR}},
    {"xlog", "xcrit", KSR_INT, ki_xcrit, {KSR_STR}},
    {"xlog", "xlog", KSR_INT, ki_xlog, {KSR_STR, KSR_STR}},
    {NULL, NULL, 0, NULL, {0}},
};

/* $C(xy): Kamailio's terminal colours. Our log lines are not coloured, so
 * it prints nothing, but formats that use it keep working. */
static int get_color(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	out->type = KSR_STR;
	out->n = 0;
	out->s = STR_LIT("");
	return 0;
}

static int color_parse_name(pv_spec_t *sp, str_t name, char *err, size_t errlen)
{
	if (name.len != 2) {
		snprintf(err, errlen, "colour name must have two chars: '%s'",
			 sp->text);
		return -1;
	}
	return 0;
}

static const pv_class_t xlog_classes[] = {
    {"C", get_color, NULL, PV_CF_NAME, 0, color_parse_name, NULL},
    {NULL, NULL, NULL, 0, 0, NULL, NULL},
};

static const osp_param_t xlog_params[] = {
    {"prefix", MP_STR, &xlog_prefix, NULL},
    {"buf_size", MP_INT, &xlog_buf_size, NULL},
    {NULL, 0, NULL, NULL},
};

static int xlog_mod_init(void)
{
	return pv_register_classes(xlog_classes);
}

static void xlog_mod_destroy(void)
{
	free(xlog_prefix);
	xlog_prefix = NULL;
}

osp_module_t osp_mod_xlog = {
    .name = "xlog",
    .exports = xlog_exports,
    .params = xlog_params,
    .init = xlog_mod_init,
    .destroy = xlog_mod_destroy,
};
