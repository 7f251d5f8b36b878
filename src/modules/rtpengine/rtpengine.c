/* rtpengine.c - KSR.rtpengine: media relay through Sipwise rtpengine over
 * its "ng" control protocol, with Kamailio 5.6's names, flags, modparams
 * and RPC commands.
 *
 *   rtpengine_offer(flags)    offer:  the SDP of the message goes to
 *   rtpengine_answer(flags)   answer: rtpengine, the one it returns
 *                                     replaces the body
 *   rtpengine_delete(flags)   delete the call (or branch)
 *   rtpengine_query(flags)    query the call
 *   rtpengine_manage(flags)   one of the above, chosen from the message
 *   set_rtpengine_set(id)     the set of instances for this message
 *
 * Each has a variant without flags (name0), as in Kamailio's KEMI. They
 * return 1 on success and -1 on any failure (no SDP, bad flag, no
 * instance answering, error answer).
 *
 * Which answer belongs to which offer (rtpengine_manage in a reply): an
 * INVITE seen with SDP is remembered by Call-ID and CSeq, so a reply with
 * SDP to it is an answer, and one to an INVITE without SDP is an offer
 * (Kamailio asks tm whether the request had SDP; Osprey remembers it
 * itself, so stateless proxies get the same result). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/globals.h"
#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "core/timer.h"
#include "modules/rtpengine/rtpengine_int.h"

static int hash_table_size = 256; /* accepted for Kamailio configs */

/* ---- the set used for the message being processed ---- */

static __thread uint64_t sel_msg_id;
static __thread rtpe_set_t *sel_set1, *sel_set2;

/* The sets to use, in order: the selected ones (set_rtpengine_set) when
 * the selection was made for this message, else the default set. For an
 * answer (direction 2) a chain of two sets is walked backwards. */
static int sets_for(sip_msg_t *msg, int direction, rtpe_set_t *out[2])
{
	out[0] = out[1] = NULL;
	if (sel_set1 && msg->id == sel_msg_id) {
		out[0] = sel_set1;
		if (sel_set2 && sel_set2 != sel_set1)
			out[1] = sel_set2;
		if (direction == 2 && out[1]) {
			out[1] = sel_set1;
			out[0] = sel_set2;
		}
	} else {
		out[0] = rtpe_set_find(rtpe_setid_default);
	}
	if (!out[0]) {
		LOG_ERR("rtpengine: no instance set %d configured "
			"(rtpengine_sock)",
			rtpe_setid_default);
		return -1;
	}
	return out[1] ? 2 : 1;
}

/* ---- INVITEs seen with SDP (for rtpengine_manage in replies) ---- */

#define MARK_SLOTS 4096

static struct {
	uint64_t callid_hash;
	uint32_t cseq;
	uint64_t expires;
} marks[MARK_SLOTS];
static pthread_mutex_t marks_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t hash64(str_t s)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < s.len; i++) {
		h ^= (uint8_t)s.s[i];
		h *= 1099511628211ull;
	}
	return h ? h : 1;
}

/* One slot per Call-ID hash: a collision forgets the older call, which
 * then gets an offer where an answer was due (logged by rtpengine as an
 * unknown call) - rare with 4096 slots and 64-bit hashes. */
static void mark_sdp_invite(sip_msg_t *msg)
{
	sip_cseq_t *cs = sip_get_cseq(msg);
	uint64_t h = hash64(sip_get_callid(msg));
	unsigned slot = (unsigned)(h % MARK_SLOTS);

	if (!cs)
		return;
	pthread_mutex_lock(&marks_lock);
	marks[slot].callid_hash = h;
	marks[slot].cseq = cs->num;
	marks[slot].expires =
	    rtpe_now() +
	    (uint64_t)(rtpe_hash_tout > 0 ? rtpe_hash_tout : 3600) * 1000;
	pthread_mutex_unlock(&marks_lock);
}

static int had_sdp_invite(sip_msg_t *msg)
{
	sip_cseq_t *cs = sip_get_cseq(msg);
	uint64_t h = hash64(sip_get_callid(msg));
	unsigned slot = (unsigned)(h % MARK_SLOTS);
	int yes;

	if (!cs)
		return 0;
	pthread_mutex_lock(&marks_lock);
	yes = marks[slot].callid_hash == h && marks[slot].cseq == cs->num &&
	      marks[slot].expires > rtpe_now();
	pthread_mutex_unlock(&marks_lock);
	return yes;
}

/* ---- operations ---- */

static int do_offer_answer(ksr_ctx_t *ctx, rtpe_op_t op, str_t flags,
			   int direction)
{
	sip_msg_t *msg = ctx->msg;
	rtpe_set_t *sets[2];
	str_t sdp;
	int n;

	if (!msg)
		return -1;
	if (!rtpe_msg_sdp(msg, &sdp)) {
		LOG_ERR("rtpengine: %s: the message has no SDP body",
			rtpe_op_name(op));
		return -1;
	}
	n = sets_for(msg, direction, sets);
	if (n < 0)
		return -1;
	if (op == RTPE_OP_OFFER && msg->kind == SIP_REQUEST &&
	    msg->method_id == SIP_METHOD_INVITE)
		mark_sdp_invite(msg);
	for (int i = 0; i < n; i++) {
		rtpe_op_t o = op;
		benc_t *dict, *reply;
		str_t callid, vb, out;

		if (rtpe_build_cmd(msg->arena, msg, &o, flags, sdp, &dict,
				   &callid, &vb) < 0)
			return -1;
		if (rtpe_ng_call(sets[i], o, dict, callid, vb, msg->arena,
				 &reply, NULL) < 0)
			return -1;
		if (benc_dict_get_str(reply, "sdp", &out) < 0 || !out.len) {
			LOG_ERR("rtpengine: %s: no SDP in the answer",
				rtpe_op_name(o));
			return -1;
		}
		sdp = out; /* lives in the message arena */
	}
	msg->new_body = sdp;
	return 1;
}

/* delete, query, recording: every set of the chain. */
static int do_simple(ksr_ctx_t *ctx, rtpe_op_t op, str_t flags)
{
	sip_msg_t *msg = ctx->msg;
	rtpe_set_t *sets[2];
	int n;

	if (!msg)
		return -1;
	n = sets_for(msg, 1, sets);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		rtpe_op_t o = op;
		benc_t *dict, *reply;
		str_t callid, vb;

		if (rtpe_build_cmd(msg->arena, msg, &o, flags, STR_NULL, &dict,
				   &callid, &vb) < 0)
			return -1;
		if (rtpe_ng_call(sets[i], o, dict, callid, vb, msg->arena,
				 &reply, NULL) < 0)
			return -1;
	}
	return 1;
}

/* Kamailio's rtpengine_manage(): offer, answer or delete by the message
 * (see README.md for the table). */
static int do_manage(ksr_ctx_t *ctx, str_t flags)
{
	sip_msg_t *msg = ctx->msg;
	sip_cseq_t *cs;
	unsigned m;
	str_t sdp;
	int has_sdp;

	if (!msg)
		return -1;
	if (ctx->route == KSR_ROUTE_BRANCH_FAILURE)
		return 1; /* the delete is done in the failure route */
	cs = sip_get_cseq(msg);
	if (!cs) {
		LOG_ERR("rtpengine: rtpengine_manage: no CSeq");
		return -1;
	}
	m = cs->method_id;
	if (!(m & (SIP_METHOD_INVITE | SIP_METHOD_ACK | SIP_METHOD_CANCEL |
		   SIP_METHOD_BYE | SIP_METHOD_UPDATE | SIP_METHOD_PRACK)))
		return -1;
	if (m & (SIP_METHOD_CANCEL | SIP_METHOD_BYE))
		return do_simple(ctx, RTPE_OP_DELETE, flags);
	has_sdp = rtpe_msg_sdp(msg, &sdp);
	if (msg->kind == SIP_REQUEST) {
		if ((m & (SIP_METHOD_ACK | SIP_METHOD_PRACK)) && has_sdp)
			return do_offer_answer(ctx, RTPE_OP_ANSWER, flags, 2);
		if (m == SIP_METHOD_UPDATE && has_sdp)
			return do_offer_answer(ctx, RTPE_OP_OFFER, flags, 1);
		if (m == SIP_METHOD_INVITE && has_sdp) {
			mark_sdp_invite(msg);
			if (ctx->route == KSR_ROUTE_FAILURE)
				return do_simple(ctx, RTPE_OP_DELETE, flags);
			return do_offer_answer(ctx, RTPE_OP_OFFER, flags, 1);
		}
		return -1;
	}
	if (msg->status >= 300)
		return do_simple(ctx, RTPE_OP_DELETE, flags);
	if (!has_sdp)
		return -1;
	if (m == SIP_METHOD_UPDATE || had_sdp_invite(msg))
		return do_offer_answer(ctx, RTPE_OP_ANSWER, flags, 2);
	return do_offer_answer(ctx, RTPE_OP_OFFER, flags, 1);
}

/* ---- KSR ---- */

static int ki_manage(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return do_manage(ctx, a[0].s);
}

static int ki_manage0(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return do_manage(ctx, STR_NULL);
}

static int ki_offer(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return do_offer_answer(ctx, RTPE_OP_OFFER, a[0].s, 1);
}

static int ki_offer0(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return do_offer_answer(ctx, RTPE_OP_OFFER, STR_NULL, 1);
}

static int ki_answer(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return do_offer_answer(ctx, RTPE_OP_ANSWER, a[0].s, 2);
}

static int ki_answer0(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return do_offer_answer(ctx, RTPE_OP_ANSWER, STR_NULL, 2);
}

static int ki_delete(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return do_simple(ctx, RTPE_OP_DELETE, a[0].s);
}

static int ki_delete0(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return do_simple(ctx, RTPE_OP_DELETE, STR_NULL);
}

static int ki_query(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return do_simple(ctx, RTPE_OP_QUERY, a[0].s);
}

static int ki_query0(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return do_simple(ctx, RTPE_OP_QUERY, STR_NULL);
}

static int ki_start_recording(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return do_simple(ctx, RTPE_OP_START_RECORDING, STR_NULL);
}

static int ki_stop_recording(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return do_simple(ctx, RTPE_OP_STOP_RECORDING, STR_NULL);
}

static int select_sets(ksr_ctx_t *ctx, long id1, long id2, int two)
{
	rtpe_set_t *s1 = rtpe_set_find((int)id1), *s2 = NULL;

	if (!ctx->msg)
		return -1;
	if (!s1 || id1 < 0) {
		LOG_ERR("rtpengine: set %ld is not configured", id1);
		return -1;
	}
	if (two) {
		s2 = rtpe_set_find((int)id2);
		if (!s2 || id2 < 0) {
			LOG_ERR("rtpengine: set %ld is not configured", id2);
			return -1;
		}
	}
	sel_set1 = s1;
	sel_set2 = s2;
	sel_msg_id = ctx->msg->id;
	return 1;
}

static int ki_set_set(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return select_sets(ctx, a[0].n, 0, 0);
}

static int ki_set_set2(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return select_sets(ctx, a[0].n, a[1].n, 1);
}

static const ksr_export_t rtpengine_exports[] = {
    {"rtpengine", "rtpengine_manage", KSR_INT, ki_manage, {KSR_STR}},
    {"rtpengine", "rtpengine_manage0", KSR_INT, ki_manage0, {0}},
    {"rtpengine", "rtpengine_offer", KSR_INT, ki_offer, {KSR_STR}},
    {"rtpengine", "rtpengine_offer0", KSR_INT, ki_offer0, {0}},
    {"rtpengine", "rtpengine_answer", KSR_INT, ki_answer, {KSR_STR}},
    {"rtpengine", "rtpengine_answer0", KSR_INT, ki_answer0, {0}},
    {"rtpengine", "rtpengine_delete", KSR_INT, ki_delete, {KSR_STR}},
    {"rtpengine", "rtpengine_delete0", KSR_INT, ki_delete0, {0}},
    {"rtpengine", "rtpengine_query", KSR_INT, ki_query, {KSR_STR}},
    {"rtpengine", "rtpengine_query0", KSR_INT, ki_query0, {0}},
    {"rtpengine", "start_recording", KSR_INT, ki_start_recording, {0}},
    {"rtpengine", "stop_recording", KSR_INT, ki_stop_recording, {0}},
    {"rtpengine", "set_rtpengine_set", KSR_INT, ki_set_set, {KSR_INT}},
    {"rtpengine",
     "set_rtpengine_set2",
     KSR_INT,
     ki_set_set2,
     {KSR_INT, KSR_INT}},
    {0},
};

/* ---- RPC ---- */

/* Calls fn for each instance whose URL is url ("all": every one). Returns
 * the number visited. */
static int for_nodes(const char *url, void (*fn)(rtpe_node_t *, void *),
		     void *arg)
{
	int all = strcmp(url, "all") == 0, n = 0;

	for (int i = 0; i < rtpe_node_count(); i++) {
		rtpe_node_t *node = rtpe_node_at(i);

		if (all || strcmp(node->url, url) == 0) {
			fn(node, arg);
			n++;
		}
	}
	return n;
}

static void show_one(rtpe_node_t *n, void *arg)
{
	json_t *list = arg, *o;
	int perm = rtpe_node_is_permanent(n), dis = rtpe_node_is_disabled(n);

	o = json_pack("{s:s, s:i, s:i, s:i}", "url", n->url, "set", n->set_id,
		      "index", n->index, "weight", (int)n->weight);
	if (!o)
		return;
	if (perm) {
		json_object_set_new(o, "disabled", json_string("1(permanent)"));
		json_object_set_new(o, "recheck_ticks", json_string("N/A"));
	} else {
		uint64_t at = __atomic_load_n(&n->recheck_ms, __ATOMIC_ACQUIRE);
		uint64_t now = rtpe_now();

		json_object_set_new(o, "disabled", json_integer(dis));
		json_object_set_new(
		    o, "recheck_ticks",
		    json_integer(dis && at > now
				     ? (json_int_t)((at - now + 999) / 1000)
				     : 0));
	}
	json_array_append_new(list, o);
}

static const char *url_param(json_t *params, rpc_error_t *err)
{
	if (!params || (json_is_array(params) && json_array_size(params) == 0))
		return "all";
	return rpc_param_str(params, 0, err);
}

/* rtpengine.show [url|all]: the instances with their set, index, weight
 * and state; recheck_ticks is the seconds until a disabled instance is
 * tried again. */
static json_t *rpc_show(json_t *params, rpc_error_t *err)
{
	const char *url = url_param(params, err);
	json_t *list;

	if (!url)
		return NULL;
	list = json_array();
	if (!list)
		return rpc_fail(err, RPC_E_INTERNAL, "out of memory");
	if (!for_nodes(url, show_one, list)) {
		json_decref(list);
		return rpc_fail(err, 404, "Instance not found");
	}
	return list;
}

typedef struct rpc_state {
	arena_t *arena;
	int enable;
	int failed;
} rpc_state_t;

static void enable_one(rtpe_node_t *n, void *arg)
{
	rpc_state_t *st = arg;

	if (rtpe_node_enable(n, st->enable, st->arena) == 0 && st->enable)
		st->failed = 1;
	arena_reset(st->arena);
}

static void ping_one(rtpe_node_t *n, void *arg)
{
	rpc_state_t *st = arg;

	if (rtpe_node_ping(n, st->arena) < 0) {
		if (!rtpe_node_is_permanent(n))
			rtpe_node_disable(n);
		st->failed = 1;
	} else if (!rtpe_node_is_permanent(n)) {
		__atomic_store_n(&n->disabled, 0, __ATOMIC_RELEASE);
	}
	arena_reset(st->arena);
}

static json_t *enable_or_ping(json_t *params, rpc_error_t *err, int ping)
{
	rpc_state_t st = {0};
	const char *url;
	long flag = 0;
	int n;
	json_t *res;

	if (ping) {
		url = url_param(params, err);
	} else {
		url = rpc_param_str(params, 0, err);
		if (url && rpc_param_int(params, 1, &flag, err) < 0)
			return NULL;
	}
	if (!url)
		return NULL;
	st.enable = flag != 0;
	st.arena = malloc(sizeof(*st.arena));
	if (!st.arena)
		return rpc_fail(err, RPC_E_INTERNAL, "out of memory");
	arena_init(st.arena);
	n = for_nodes(url, ping ? ping_one : enable_one, &st);
	arena_destroy(st.arena);
	free(st.arena);
	if (!n)
		return rpc_fail(err, 404, "Instance not found");
	if (ping)
		res = json_pack("{s:s, s:s}", "url", url, "status",
				st.failed ? "fail" : "success");
	else
		res = json_pack("{s:s, s:s}", "url", url, "status",
				st.failed   ? "fail"
				: st.enable ? "enable"
					    : "disable");
	return res ? res : rpc_fail(err, RPC_E_INTERNAL, "out of memory");
}

static json_t *rpc_enable(json_t *params, rpc_error_t *err)
{
	return enable_or_ping(params, err, 0);
}

static json_t *rpc_ping(json_t *params, rpc_error_t *err)
{
	return enable_or_ping(params, err, 1);
}

static json_t *rpc_hash_total(json_t *params, rpc_error_t *err)
{
	return json_integer((json_int_t)rtpe_map_count());
}

static const rpc_export_t rtpengine_rpc[] = {
    {"rtpengine.show", rpc_show,
     "rtpengine instances and their state: [url|all]"},
    {"rtpengine.enable", rpc_enable,
     "Enable (after a ping) or disable an instance: url|all 0|1"},
    {"rtpengine.ping", rpc_ping, "Ping instances: [url|all]"},
    {"rtpengine.get_hash_total", rpc_hash_total,
     "Number of calls in the call-to-instance map"},
    {NULL, NULL, NULL},
};

/* ---- module ---- */

static int param_sock(const char *param, int type, const char *sval, long ival,
		      char *err, size_t errlen)
{
	return rtpe_sock_add(sval, err, errlen) < 0 ? -1 : 0;
}

static const osp_param_t rtpengine_params[] = {
    {"rtpengine_sock", MP_STR, NULL, param_sock},
    {"rtpengine_disable_tout", MP_INT, &rtpe_disable_tout, NULL},
    {"rtpengine_tout_ms", MP_INT, &rtpe_tout_ms, NULL},
    {"rtpengine_retr", MP_INT, &rtpe_retr, NULL},
    {"queried_nodes_limit", MP_INT, &rtpe_queried_limit, NULL},
    {"aggressive_redetection", MP_INT, &rtpe_aggressive, NULL},
    {"setid_default", MP_INT, &rtpe_setid_default, NULL},
    {"hash_table_tout", MP_INT, &rtpe_hash_tout, NULL},
    {"hash_table_size", MP_INT, &hash_table_size, NULL},
    {NULL, 0, NULL, NULL},
};

static void map_timer(void *arg)
{
	rtpe_map_expire();
}

/* Ping every instance once (one attempt, not rtpengine_retr: a missing
 * instance must not hold the start-up for long) and disable the silent
 * ones until their recheck time, as Kamailio does at start. */
static void probe_all(void)
{
	arena_t *a = malloc(sizeof(*a));
	int retr = rtpe_retr;

	if (!a)
		return;
	arena_init(a);
	rtpe_retr = 1;
	for (int i = 0; i < rtpe_node_count(); i++) {
		rtpe_node_t *n = rtpe_node_at(i);

		if (rtpe_node_ping(n, a) == 0) {
			LOG_INFO("rtpengine: instance %s found", n->url);
		} else {
			LOG_WARN("rtpengine: instance %s does not answer, "
				 "disabled for %d s",
				 n->url, rtpe_disable_tout);
			rtpe_node_disable(n);
		}
		arena_reset(a);
	}
	rtpe_retr = retr;
	arena_destroy(a);
	free(a);
}

static int rtpengine_init(void)
{
	if (!rtpe_sets()) {
		/* loaded by default when a script runs directly: quiet */
		LOG_DBG("rtpengine: no rtpengine_sock configured: the "
			"rtpengine functions will fail");
		return 0;
	}
	if (!rtpe_set_find(rtpe_setid_default))
		LOG_WARN("rtpengine: the default set %d has no instance",
			 rtpe_setid_default);
	if (osp_g.check_only)
		return 0;
	probe_all();
	if (osp_timer_periodic(10000, map_timer, NULL) < 0) {
		LOG_ERR("rtpengine: cannot start the map timer");
		return -1;
	}
	return 0;
}

static void rtpengine_destroy(void)
{
	rtpe_map_clear();
	rtpe_nodes_reset();
}

osp_module_t osp_mod_rtpengine = {
    .name = "rtpengine",
    .exports = rtpengine_exports,
    .params = rtpengine_params,
    .rpc = rtpengine_rpc,
    .init = rtpengine_init,
    .destroy = rtpengine_destroy,
};
