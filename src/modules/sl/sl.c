/* sl.c - stateless replies (KSR.sl.*). send_reply replies statefully
 * when the request has a transaction (see osp_tm_reply_hook). */
#include <stdio.h>
#include <string.h>

#include "core/fwd.h"
#include "core/log.h"
#include "core/module.h"
#include "core/stats.h"

OSP_COUNTER(st_sent, "sl", "sent_replies");
OSP_COUNTER(st_1xx, "sl", "1xx_replies");
OSP_COUNTER(st_2xx, "sl", "2xx_replies");
OSP_COUNTER(st_3xx, "sl", "3xx_replies");
OSP_COUNTER(st_4xx, "sl", "4xx_replies");
OSP_COUNTER(st_5xx, "sl", "5xx_replies");
OSP_COUNTER(st_6xx, "sl", "6xx_replies");
OSP_COUNTER(st_failures, "sl", "failures");

static osp_counter_t *by_class[] = {NULL,    &st_1xx, &st_2xx, &st_3xx,
				    &st_4xx, &st_5xx, &st_6xx};

/* Reply `code reason` to the request in ctx. Kamailio's sl_send_reply:
 * 1 on success, -1 on failure (a code outside 100..699, a reply or an ACK
 * to answer, a send error). */
static int sl_reply(ksr_ctx_t *ctx, long code, str_t reason)
{
	sip_msg_t *msg = ctx->msg;

	if (code < 100 || code > 699) {
		LOG_ERR("sl: invalid reply code %ld", code);
		stats_inc(&st_failures);
		return -1;
	}
	if (msg->kind != SIP_REQUEST) {
		LOG_ERR("sl: cannot reply to a reply");
		return -1;
	}
	if (msg->method_id == SIP_METHOD_ACK) {
		LOG_DBG("sl: not replying to ACK");
		return -1;
	}
	/* headers from KSR.hdr.append_to_reply are added by the builder */
	if (osp_send_reply(msg, (int)code, reason, STR_NULL, STR_NULL) < 0) {
		stats_inc(&st_failures);
		return -1;
	}
	stats_inc(&st_sent);
	stats_inc(by_class[code / 100]);
	return 1;
}

static int ki_sl_send_reply(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return sl_reply(ctx, a[0].n, a[1].s);
}

/* Kamailio's send_reply: through the transaction when the request has one
 * (tm installs osp_tm_reply_hook), statelessly otherwise. */
static int ki_send_reply(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (osp_tm_reply_hook && a[0].n >= 100 && a[0].n <= 699) {
		int rc = osp_tm_reply_hook(ctx, (int)a[0].n, a[1].s, STR_NULL,
					   STR_NULL);

		if (rc != 0)
			return rc;
	}
	return sl_reply(ctx, a[0].n, a[1].s);
}

static int ki_sl_reply_error(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return sl_reply(ctx, 500, STR_LIT("Server Internal Error"));
}

static const ksr_export_t sl_exports[] = {
	{"sl", "sl_send_reply", KSR_INT, ki_sl_send_reply, {KSR_INT, KSR_STR}},
	{"sl", "send_reply", KSR_INT, ki_send_reply, {KSR_INT, KSR_STR}},
	{"sl", "sl_reply_error", KSR_INT, ki_sl_reply_error, {0}},
	{0},
};

static json_t *rpc_sl_stats(json_t *params, rpc_error_t *err)
{
	return json_pack("{sI sI sI sI sI sI sI sI}", "sent",
			 (json_int_t)stats_get(&st_sent), "1xx",
			 (json_int_t)stats_get(&st_1xx), "2xx",
			 (json_int_t)stats_get(&st_2xx), "3xx",
			 (json_int_t)stats_get(&st_3xx), "4xx",
			 (json_int_t)stats_get(&st_4xx), "5xx",
			 (json_int_t)stats_get(&st_5xx), "6xx",
			 (json_int_t)stats_get(&st_6xx), "failures",
			 (json_int_t)stats_get(&st_failures));
}

static const rpc_export_t sl_rpc[] = {
	{"sl.stats", rpc_sl_stats, "Stateless reply counters"},
	{0},
};

static int sl_init(void)
{
	stats_register(&st_sent);
	for (int i = 1; i <= 6; i++)
		stats_register(by_class[i]);
	stats_register(&st_failures);
	return 0;
}

osp_module_t osp_mod_sl = {
	.name = "sl",
	.exports = sl_exports,
	.rpc = sl_rpc,
	.init = sl_init,
};
