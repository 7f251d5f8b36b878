/* tmx.c - KSR.tmx: transaction helpers on top of tm (Kamailio's tmx
 * module): the route-type tests, t_precheck_trans, t_flush_flags and
 * t_cancel_branches. */
#include "core/log.h"
#include "core/module.h"
#include "modules/tm/tm.h"

static int ki_t_precheck_trans(ksr_ctx_t *ctx, const ksr_arg_t *a,
			       ksr_xval_t *r)
{
	return tm_precheck_trans(ctx);
}

static int ki_t_is_request_route(ksr_ctx_t *ctx, const ksr_arg_t *a,
				 ksr_xval_t *r)
{
	return ctx->route == KSR_ROUTE_REQUEST ? 1 : -1;
}

static int ki_t_is_reply_route(ksr_ctx_t *ctx, const ksr_arg_t *a,
			       ksr_xval_t *r)
{
	return ctx->route == KSR_ROUTE_ONREPLY ? 1 : -1;
}

static int ki_t_is_failure_route(ksr_ctx_t *ctx, const ksr_arg_t *a,
				 ksr_xval_t *r)
{
	return ctx->route == KSR_ROUTE_FAILURE ? 1 : -1;
}

static int ki_t_is_branch_route(ksr_ctx_t *ctx, const ksr_arg_t *a,
				ksr_xval_t *r)
{
	return ctx->route == KSR_ROUTE_BRANCH ? 1 : -1;
}

static int ki_t_flush_flags(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return tm_flush_flags(ctx);
}

static int ki_t_cancel_branches(ksr_ctx_t *ctx, const ksr_arg_t *a,
				ksr_xval_t *r)
{
	return tm_cancel_branches_ctx(ctx, a[0].s);
}

static const ksr_export_t tmx_exports[] = {
    {"tmx", "t_precheck_trans", KSR_INT, ki_t_precheck_trans, {0}},
    {"tmx", "t_is_request_route", KSR_INT, ki_t_is_request_route, {0}},
    {"tmx", "t_is_reply_route", KSR_INT, ki_t_is_reply_route, {0}},
    {"tmx", "t_is_failure_route", KSR_INT, ki_t_is_failure_route, {0}},
    {"tmx", "t_is_branch_route", KSR_INT, ki_t_is_branch_route, {0}},
    {"tmx", "t_flush_flags", KSR_INT, ki_t_flush_flags, {0}},
    {"tmx", "t_cancel_branches", KSR_INT, ki_t_cancel_branches, {KSR_STR}},
    {0},
};

/* tmx works on tm's transactions: tm must be loaded too. */
static int tmx_init(void)
{
	osp_module_t *tm = module_find("tm");

	if (!tm || !tm->loaded) {
		LOG_ERR("tmx: the tm module must be loaded too");
		return -1;
	}
	return 0;
}

osp_module_t osp_mod_tmx = {
    .name = "tmx",
    .exports = tmx_exports,
    .init = tmx_init,
};
