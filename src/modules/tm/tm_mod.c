/* tm_mod.c - the tm module: KSR.tm.*, modparams, RPC, $T_* variables and
 * the hooks into the core (replies, end of the request route, stateful
 * replies for KSR.sl.send_reply).
 *
 * Names, parameters and return codes follow Kamailio 5.6's tm KEMI
 * exports. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dset.h"
#include "core/fwd.h"
#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "core/worker.h"
#include "modules/pv/pv.h"
#include "modules/tm/tm.h"
#include "modules/tm/tm_int.h"

tm_cfg_t tm_cfg = {
    .fr_timer = 30000,
    .fr_inv_timer = 120000,
    .t1 = 500,
    .t2 = 4000,
    .t4 = 5000,
    .wait_timer = 5000,
    .max_inv_lifetime = 180000,
    .max_noninv_lifetime = 32000,
    .auto_inv_100 = 1,
    .auto_inv_100_reason = "trying -- your call is important to us",
    .restart_fr_on_each_reply = 1,
    .disable_6xx_block = 0,
    .remap_503_500 = 1,
    .use_dns_failover = 1,
    .hash_size = 16384,
};

OSP_COUNTER(tm_st_created, "tm", "created");
OSP_COUNTER(tm_st_freed, "tm", "freed");
OSP_COUNTER(tm_st_current, "tm", "current");
OSP_COUNTER(tm_st_waiting, "tm", "waiting");
OSP_COUNTER(tm_st_relayed, "tm", "relayed");
OSP_COUNTER(tm_st_rpl_received, "tm", "rpl_received");
OSP_COUNTER(tm_st_rpl_generated, "tm", "rpl_generated");
OSP_COUNTER(tm_st_rpl_sent, "tm", "rpl_sent");
OSP_COUNTER(tm_st_rtx_absorbed, "tm", "rtx_absorbed");
OSP_COUNTER(tm_st_uac_rtx, "tm", "uac_retransmissions");
OSP_COUNTER(tm_st_timeouts, "tm", "timeouts");
osp_counter_t tm_st_class[7] = {
    {"tm", "0xx", 0, 0}, {"tm", "1xx", 0, 0}, {"tm", "2xx", 0, 0},
    {"tm", "3xx", 0, 0}, {"tm", "4xx", 0, 0}, {"tm", "5xx", 0, 0},
    {"tm", "6xx", 0, 0},
};

static int post_any(void (*fn)(void *arg), void *arg)
{
	return worker_post(-1, fn, arg);
}

int (*tm_send_fn)(net_dest_t *dst, const char *buf, size_t len) = net_send;
int (*tm_post_fn)(void (*fn)(void *arg), void *arg) = post_any;

/* ---- per-run context ---- */

tm_ctx_t *tm_ctx(ksr_ctx_t *ctx, int create)
{
	tm_ctx_t *t = ctx->tm;

	if (t || !create || !ctx->msg)
		return t;
	t = arena_zalloc(ctx->msg->arena, sizeof(*t));
	if (!t)
		return NULL;
	t->auto100 = -1;
	ctx->tm = t;
	return t;
}

static tm_cell_t *cur_cell(ksr_ctx_t *ctx)
{
	tm_ctx_t *t = ctx->tm;

	return t ? t->cell : NULL;
}

static int in_tm_route(const ksr_ctx_t *ctx)
{
	return ctx->route == KSR_ROUTE_FAILURE ||
	       ctx->route == KSR_ROUTE_BRANCH_FAILURE ||
	       ctx->route == KSR_ROUTE_BRANCH ||
	       ctx->route == KSR_ROUTE_ONREPLY;
}

static void set_name(char *dst, str_t name)
{
	size_t n =
	    name.len < TM_CB_NAME_MAX - 1 ? name.len : TM_CB_NAME_MAX - 1;

	if (name.len >= TM_CB_NAME_MAX)
		LOG_WARN("tm: callback name '%.*s' truncated", STR_FMT(name));
	memcpy(dst, name.s, n);
	dst[n] = '\0';
}

static char *arena_name(arena_t *a, str_t name)
{
	return arena_strndup(a, name.s, name.len);
}

static char *dup_cstr(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* What the script set before the transaction existed goes into it. */
static void apply_pending(tm_ctx_t *t, tm_cell_t *c)
{
	if (t->on_failure)
		set_name(c->on_failure, str_from(t->on_failure));
	if (t->on_reply)
		set_name(c->on_reply, str_from(t->on_reply));
	if (t->on_branch)
		set_name(c->on_branch, str_from(t->on_branch));
	if (t->on_branch_failure)
		set_name(c->on_branch_failure, str_from(t->on_branch_failure));
	c->fr_ms = t->fr_ms;
	c->fr_inv_ms = t->fr_inv_ms;
	c->t1_ms = t->t1_ms;
	c->t2_ms = t->t2_ms;
	c->life_inv_ms = t->life_inv_ms;
	c->life_noninv_ms = t->life_noninv_ms;
	if (t->auto100 >= 0)
		c->no_auto100 = !t->auto100;
	c->no_internal_reply = t->no_internal_reply != 0;
	c->no_6xx_block = t->no_6xx_block != 0;
	c->no_failover = t->no_failover != 0;
	if (t->n_contacts && !c->n_contacts) {
		c->contacts =
		    calloc((size_t)t->n_contacts, sizeof(tm_contact_t));
		if (c->contacts) {
			for (int i = 0; i < t->n_contacts; i++) {
				tm_contact_t *s = &t->contacts[i];
				tm_contact_t *d = &c->contacts[i];

				*d = *s;
				d->uri = dup_cstr(s->uri);
				d->dst_uri = dup_cstr(s->dst_uri);
				d->path = dup_cstr(s->path);
				d->instance = dup_cstr(s->instance);
				d->ruid = dup_cstr(s->ruid);
			}
			c->n_contacts = t->n_contacts;
		}
	}
}

/* Create (or find, for a retransmission) the transaction of the request
 * of ctx. 1 new (or already there for this run), 0 retransmission handled,
 * -1 error. */
static int newtran(ksr_ctx_t *ctx, tm_ctx_t *t)
{
	tm_cell_t *c;
	int existed;

	if (t->cell)
		return 1;
	c = tm_lookup_or_create(ctx->msg, &existed);
	if (!c) {
		LOG_RATE(L_ERR, "tm: cannot create a transaction");
		return -1;
	}
	if (existed) {
		tm_lock(c);
		tm_uas_retransmit(c);
		tm_unlock(c);
		tm_unref(c);
		stats_inc(&tm_st_rtx_absorbed);
		return 0;
	}
	t->cell = c;
	t->owns_ref = 1;
	tm_lock(c);
	apply_pending(t, c);
	tm_unlock(c);
	return 1;
}

/* An ACK matching the INVITE of a negative reply is absorbed. 1 when it
 * was, 0 when it is not ours. */
static int absorb_ack(sip_msg_t *msg)
{
	tm_cell_t *c = tm_lookup_request(msg, TM_MATCH_REQ);

	if (!c)
		return 0;
	tm_lock(c);
	tm_uas_acked(c);
	tm_unlock(c);
	tm_unref(c);
	return 1;
}

/* A CANCEL for an INVITE we are relaying: answer it, cancel the
 * branches (hop by hop, RFC 3261 §16.10). 1 handled, 0 no such INVITE. */
static int cancel_invite(sip_msg_t *msg)
{
	tm_cell_t *c = tm_lookup_request(msg, TM_MATCH_CANCEL);

	if (!c)
		return 0;
	__atomic_store_n(&c->canceled, 1, __ATOMIC_RELEASE);
	osp_send_reply(msg, 200, STR_LIT("canceling"), STR_NULL, STR_NULL);
	tm_lock(c);
	tm_cancel_branches(c, -1, msg->arena);
	tm_check_done(c, msg->arena);
	tm_unlock(c);
	tm_unref(c);
	return 1;
}

static int relay(ksr_ctx_t *ctx, str_t uri, int proto)
{
	sip_msg_t *msg = ctx->msg;
	tm_ctx_t *t;
	tm_cell_t *c;
	int rc;

	if (!msg || msg->kind != SIP_REQUEST)
		return -1;
	t = tm_ctx(ctx, 1);
	if (!t)
		return -1;
	if (ctx->route == KSR_ROUTE_FAILURE ||
	    ctx->route == KSR_ROUTE_BRANCH_FAILURE) {
		/* a new round: branch 0 only when the script changed the
		 * R-URI or $du (else it is the destination that just
		 * failed), plus what it appended */
		int with_ruri = uri.len ||
				!str_eq(sip_cur_uri(msg), t->fr_ruri0) ||
				!str_eq(msg->dst_uri, t->fr_du0);

		c = t->cell;
		if (!c)
			return -1;
		tm_lock(c);
		rc = tm_relay_branches(ctx, c, msg, with_ruri, uri, proto);
		tm_unlock(c);
		return rc > 0 ? 1 : -1;
	}
	if (ctx->route != KSR_ROUTE_REQUEST) {
		LOG_RATE(L_ERR, "tm: t_relay is not allowed in this route");
		return -1;
	}
	if (msg->method_id == SIP_METHOD_ACK) {
		if (absorb_ack(msg))
			return 0;
		/* the ACK of a 2xx passes end to end, statelessly */
		return osp_forward_request(msg, uri);
	}
	if (msg->method_id == SIP_METHOD_CANCEL && !t->cell &&
	    cancel_invite(msg))
		return 1;
	rc = newtran(ctx, t);
	if (rc <= 0)
		return rc;
	c = t->cell;
	tm_lock(c);
	if (c->uas_status >= 200) {
		tm_unlock(c);
		return -1;
	}
	if (c->method == SIP_METHOD_INVITE && !c->relayed && !c->no_auto100 &&
	    tm_cfg.auto_inv_100 &&
	    !__atomic_load_n(&c->canceled, __ATOMIC_ACQUIRE))
		tm_uas_reply(c, msg, 100, str_from(tm_cfg.auto_inv_100_reason),
			     STR_NULL, STR_NULL);
	tm_save_state(c, msg);
	tm_avps_save(c, msg);
	/* a second t_relay in the same route sends only what was appended
	 * since: the R-URI went out with the first */
	rc = tm_relay_branches(ctx, c, msg, !c->relayed, uri, proto);
	if (rc > 0) {
		if (!c->lifetime.busy && !c->on_wait) {
			unsigned life =
			    c->method == SIP_METHOD_INVITE
				? (c->life_inv_ms
				       ? c->life_inv_ms
				       : (unsigned)tm_cfg.max_inv_lifetime)
				: (c->life_noninv_ms
				       ? c->life_noninv_ms
				       : (unsigned)tm_cfg.max_noninv_lifetime);

			tm_timer_arm(&c->lifetime, life);
		}
		tm_unlock(c);
		return 1;
	}
	if (!c->no_internal_reply)
		t->delayed_error = -rc;
	tm_unlock(c);
	return -1;
}

/* ---- the hooks ---- */

static const char *error_reason(int code)
{
	switch (code) {
	case 477: return "Unfortunately error on sending to next hop occurred";
	case 478: return "Unresolvable destination";
	case 487: return "Request Terminated";
	default: return "Server Internal Error";
	}
}

static int has_pending(const tm_cell_t *c)
{
	for (int i = 0; i < c->nbr; i++)
		if (!c->br[i]->final_code)
			return 1;
	return 0;
}

/* End of the request route: the delayed error reply of a failed t_relay
 * (unless the script replied itself), the 500 of a failed script, and the
 * release of a transaction the script created but left alone. */
static void request_done(ksr_ctx_t *ctx, int rc)
{
	tm_ctx_t *t = ctx->tm;
	tm_cell_t *c;

	if (!t)
		return;
	if (t->precheck_set) {
		tm_precheck_del(t->precheck_key);
		t->precheck_set = 0;
	}
	c = t->cell;
	if (!c || !t->owns_ref)
		return;
	tm_lock(c);
	/* what the route set after t_relay is the transaction's too */
	tm_avps_save(c, ctx->msg);
	if (c->uas_status < 200 && !has_pending(c) && !c->in_failure) {
		int code = t->delayed_error ? t->delayed_error
			   : rc <= 0	    ? 500
					    : 0;

		if (!ctx->msg->replied && code)
			tm_uas_reply(c, ctx->msg, code,
				     str_from(error_reason(code)), STR_NULL,
				     STR_NULL);
		else if (!ctx->msg->replied && !c->nbr)
			LOG_WARN(
			    "tm: the script created a transaction for %.*s "
			    "and neither relayed nor replied it",
			    STR_FMT(ctx->msg->method));
		if (c->uas_status < 200)
			tm_put_on_wait(c);
	}
	tm_unlock(c);
	tm_unref(c);
	t->cell = NULL;
	t->owns_ref = 0;
}

/* The request a reply is made from: the route's request, or in an
 * onreply route the transaction's (rebuilt). */
static sip_msg_t *reply_request(ksr_ctx_t *ctx, tm_cell_t *c)
{
	sip_msg_t *m;

	if (ctx->msg->kind == SIP_REQUEST)
		return ctx->msg;
	m = arena_alloc(ctx->msg->arena, sizeof(*m));
	if (!m || tm_fake_request(c, m, ctx->msg->arena) < 0)
		return NULL;
	return m;
}

int tm_reply_ctx(ksr_ctx_t *ctx, int code, str_t reason, str_t extra,
		 str_t body)
{
	tm_cell_t *c = ctx->msg ? cur_cell(ctx) : NULL;
	sip_msg_t *req;
	int rc;

	if (!c)
		return 0;
	tm_lock(c);
	req = reply_request(ctx, c);
	rc = req ? tm_uas_reply(c, req, code, reason, extra, body) : -1;
	tm_unlock(c);
	return rc;
}

static int stateful_reply_hook(ksr_ctx_t *ctx, int code, str_t reason,
			       str_t extra, str_t body)
{
	return tm_reply_ctx(ctx, code, reason, extra, body);
}

int tm_has_transaction(ksr_ctx_t *ctx)
{
	return cur_cell(ctx) ? 1 : -1;
}

int tm_precheck_trans(ksr_ctx_t *ctx)
{
	tm_ctx_t *t;
	uint64_t key;
	int rc;

	if (!ctx->msg || ctx->msg->kind != SIP_REQUEST ||
	    ctx->route != KSR_ROUTE_REQUEST)
		return -1;
	t = tm_ctx(ctx, 1);
	if (!t || t->precheck_set)
		return -1;
	rc = tm_precheck_add(ctx->msg, &key);
	if (rc < 0)
		return -1;
	t->precheck_key = key;
	t->precheck_set = 1;
	return rc ? 1 : -1;
}

int tm_flush_flags(ksr_ctx_t *ctx)
{
	tm_cell_t *c = cur_cell(ctx);

	if (!c || !ctx->msg)
		return -1;
	tm_lock(c);
	c->msg_flags = ctx->msg->flags;
	tm_unlock(c);
	return 1;
}

int tm_cancel_branches_ctx(ksr_ctx_t *ctx, str_t which)
{
	tm_ctx_t *t = ctx->tm;
	tm_cell_t *c = cur_cell(ctx);

	if (!c || ctx->route != KSR_ROUTE_ONREPLY)
		return -1;
	tm_lock(c);
	if (str_eq_cstr(which, "all")) {
		tm_cancel_branches(c, -1, ctx->msg->arena);
	} else if (str_eq_cstr(which, "others")) {
		tm_cancel_branches(c, t->branch, ctx->msg->arena);
	} else if (str_eq_cstr(which, "this") && t->branch < c->nbr) {
		tm_cancel_one(c, c->br[t->branch], ctx->msg->arena);
	} else {
		tm_unlock(c);
		return -1;
	}
	tm_unlock(c);
	return 1;
}

/* ---- KSR.tm functions ---- */

#define KI(name)                                                               \
	static int name(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)

KI(ki_t_relay)
{
	return relay(ctx, STR_NULL, 0);
}

/* "[proto:]host[:port]" to a SIP URI in the arena. */
static str_t proxy_uri(ksr_ctx_t *ctx, str_t proto, str_t hostport)
{
	const char *p = hostport.s, *e = hostport.s + hostport.len;
	char *buf;
	int n;

	if (!proto.len) {
		for (const char *q = p; q < e; q++)
			if (*q == ':') {
				str_t pr = {p, (size_t)(q - p)};

				if (net_proto_from_name(pr)) {
					proto = pr;
					hostport =
					    (str_t){q + 1, (size_t)(e - q - 1)};
				}
				break;
			}
	}
	buf = arena_alloc(ctx->msg->arena, hostport.len + proto.len + 32);
	if (!buf)
		return STR_NULL;
	if (proto.len)
		n = sprintf(buf, "sip:%.*s;transport=%.*s", STR_FMT(hostport),
			    STR_FMT(proto));
	else
		n = sprintf(buf, "sip:%.*s", STR_FMT(hostport));
	return (str_t){buf, (size_t)n};
}

static void relay_flags(ksr_ctx_t *ctx, long flags)
{
	tm_ctx_t *t = tm_ctx(ctx, 1);

	if (!t)
		return;
	/* Kamailio's t_relay_to flags: 0x01 no auto 100, 0x02 no internal
	 * error reply, 0x04 no DNS failover */
	if (flags & 1)
		t->auto100 = 0;
	if (flags & 2)
		t->no_internal_reply = 1;
	if (flags & 4)
		t->no_failover = 1;
	if (t->cell) {
		tm_lock(t->cell);
		if (flags & 1)
			t->cell->no_auto100 = 1;
		if (flags & 2)
			t->cell->no_internal_reply = 1;
		if (flags & 4)
			t->cell->no_failover = 1;
		tm_unlock(t->cell);
	}
}

KI(ki_t_relay_to_proxy)
{
	str_t u = proxy_uri(ctx, STR_NULL, a[0].s);

	return u.len ? relay(ctx, u, 0) : -1;
}

KI(ki_t_relay_to_flags)
{
	relay_flags(ctx, a[0].n);
	return relay(ctx, STR_NULL, 0);
}

KI(ki_t_relay_to_proxy_flags)
{
	str_t u = proxy_uri(ctx, STR_NULL, a[0].s);

	relay_flags(ctx, a[1].n);
	return u.len ? relay(ctx, u, 0) : -1;
}

KI(ki_t_relay_to_proto)
{
	sip_proto_t p = net_proto_from_name(a[0].s);

	if (!p) {
		LOG_ERR("tm: unknown transport '%.*s'", STR_FMT(a[0].s));
		return -1;
	}
	return relay(ctx, STR_NULL, (int)p);
}

KI(ki_t_relay_to_proto_addr)
{
	char hp[300];
	int n = snprintf(hp, sizeof(hp), "%.*s:%ld", STR_FMT(a[1].s), a[2].n);
	str_t u;

	if (n <= 0 || (size_t)n >= sizeof(hp) || !net_proto_from_name(a[0].s))
		return -1;
	u = proxy_uri(ctx, a[0].s, (str_t){hp, (size_t)n});
	return u.len ? relay(ctx, u, 0) : -1;
}

static int on_cb(ksr_ctx_t *ctx, str_t name, int which)
{
	tm_ctx_t *t = tm_ctx(ctx, 1);
	char *dst;

	if (!t)
		return -1;
	if (t->cell) {
		tm_cell_t *c = t->cell;

		tm_lock(c);
		dst = which == 0   ? c->on_failure
		      : which == 1 ? c->on_reply
		      : which == 2 ? c->on_branch
				   : c->on_branch_failure;
		set_name(dst, name);
		tm_unlock(c);
		return 1;
	}
	dst = name.len ? arena_name(ctx->msg->arena, name) : NULL;
	if (name.len && !dst)
		return -1;
	if (which == 0)
		t->on_failure = dst;
	else if (which == 1)
		t->on_reply = dst;
	else if (which == 2)
		t->on_branch = dst;
	else
		t->on_branch_failure = dst;
	return 1;
}

KI(ki_t_on_failure)
{
	return on_cb(ctx, a[0].s, 0);
}

KI(ki_t_on_reply)
{
	return on_cb(ctx, a[0].s, 1);
}

KI(ki_t_on_branch)
{
	return on_cb(ctx, a[0].s, 2);
}

KI(ki_t_on_branch_failure)
{
	return on_cb(ctx, a[0].s, 3);
}

KI(ki_t_reply)
{
	int rc;

	if (a[0].n < 100 || a[0].n > 699)
		return -1;
	rc = tm_reply_ctx(ctx, (int)a[0].n, a[1].s, STR_NULL, STR_NULL);
	if (rc == 0)
		LOG_RATE(L_ERR,
			 "tm: t_reply: no transaction (t_newtran first)");
	return rc ? rc : -1;
}

KI(ki_t_send_reply)
{
	tm_ctx_t *t;
	int rc;

	if (ctx->route == KSR_ROUTE_REQUEST && !cur_cell(ctx)) {
		if (ctx->msg->method_id == SIP_METHOD_ACK)
			return -1;
		t = tm_ctx(ctx, 1);
		if (!t)
			return -1;
		rc = newtran(ctx, t);
		if (rc <= 0)
			return rc;
	}
	return ki_t_reply(ctx, a, ret);
}

KI(ki_t_newtran)
{
	tm_ctx_t *t;

	if (ctx->route != KSR_ROUTE_REQUEST || !ctx->msg ||
	    ctx->msg->kind != SIP_REQUEST)
		return -1;
	t = tm_ctx(ctx, 1);
	if (!t)
		return -1;
	if (t->cell) {
		LOG_RATE(L_ERR,
			 "tm: t_newtran: the transaction already exists");
		return -1;
	}
	if (ctx->msg->method_id == SIP_METHOD_ACK)
		return absorb_ack(ctx->msg) ? 0 : 1;
	return newtran(ctx, t);
}

KI(ki_t_check_trans)
{
	sip_msg_t *msg = ctx->msg;
	tm_cell_t *c;
	int bi, is_cancel;

	if (in_tm_route(ctx))
		return 1;
	if (msg->kind == SIP_REPLY) {
		c = tm_lookup_reply(msg, &bi, &is_cancel);
		if (!c)
			return -1;
		tm_unref(c);
		return 1;
	}
	if (msg->method_id == SIP_METHOD_CANCEL) {
		c = tm_lookup_request(msg, TM_MATCH_CANCEL);
		if (!c)
			return -1;
		tm_unref(c);
		return 1;
	}
	if (msg->method_id == SIP_METHOD_ACK) {
		if (absorb_ack(msg))
			return 0;
		c = tm_lookup_request(msg, TM_MATCH_E2EACK);
		if (!c)
			return -1;
		tm_unref(c);
		return 1;
	}
	c = tm_lookup_request(msg, TM_MATCH_REQ);
	if (!c)
		return -1;
	tm_lock(c);
	tm_uas_retransmit(c);
	tm_unlock(c);
	tm_unref(c);
	stats_inc(&tm_st_rtx_absorbed);
	return 0;
}

KI(ki_t_lookup_request)
{
	tm_cell_t *c;

	if (ctx->msg->kind != SIP_REQUEST ||
	    ctx->msg->method_id == SIP_METHOD_ACK)
		return -1;
	c = tm_lookup_request(ctx->msg, TM_MATCH_REQ);
	if (!c)
		return -1;
	tm_unref(c);
	return 1;
}

/* 1 when the INVITE of this CANCEL has a transaction; with flags 1 the
 * message gets the INVITE's flags. */
static int lookup_cancel(ksr_ctx_t *ctx, long flags)
{
	tm_cell_t *c;

	if (ctx->msg->kind != SIP_REQUEST ||
	    ctx->msg->method_id != SIP_METHOD_CANCEL)
		return -1;
	c = tm_lookup_request(ctx->msg, TM_MATCH_CANCEL);
	if (!c)
		return -1;
	if (flags == 1) {
		tm_lock(c);
		ctx->msg->flags = c->msg_flags;
		tm_unlock(c);
	}
	tm_unref(c);
	return 1;
}

KI(ki_t_lookup_cancel)
{
	return lookup_cancel(ctx, 0);
}

KI(ki_t_lookup_cancel_flags)
{
	return lookup_cancel(ctx, a[0].n);
}

KI(ki_t_retransmit_reply)
{
	tm_cell_t *c = cur_cell(ctx);

	if (!c)
		return -1;
	tm_lock(c);
	tm_uas_retransmit(c);
	tm_unlock(c);
	return 1;
}

KI(ki_t_release)
{
	tm_cell_t *c = cur_cell(ctx);

	if (!c)
		return -1;
	tm_lock(c);
	if (c->uas_status >= 200 || !has_pending(c))
		tm_put_on_wait(c);
	tm_unlock(c);
	return 1;
}

KI(ki_t_is_canceled)
{
	tm_cell_t *c = cur_cell(ctx);

	return c && __atomic_load_n(&c->canceled, __ATOMIC_ACQUIRE) ? 1 : -1;
}

KI(ki_t_is_expired)
{
	tm_cell_t *c = cur_cell(ctx);
	uint64_t life;

	if (!c)
		return -1;
	life = c->method == SIP_METHOD_INVITE
		   ? (c->life_inv_ms ? c->life_inv_ms
				     : (unsigned)tm_cfg.max_inv_lifetime)
		   : (c->life_noninv_ms ? c->life_noninv_ms
					: (unsigned)tm_cfg.max_noninv_lifetime);
	return osp_now_ms() - c->created_ms >= life ? 1 : -1;
}

KI(ki_t_is_set)
{
	tm_ctx_t *t = ctx->tm;
	tm_cell_t *c = cur_cell(ctx);
	str_t w = a[0].s;
	int set = 0;

	if (c)
		tm_lock(c);
	if (str_eq_cstr(w, "branch_route"))
		set = c ? c->on_branch[0] != 0 : t && t->on_branch;
	else if (str_eq_cstr(w, "onreply_route"))
		set = c ? c->on_reply[0] != 0 : t && t->on_reply;
	else if (str_eq_cstr(w, "failure_route"))
		set = c ? c->on_failure[0] != 0 : t && t->on_failure;
	else if (str_eq_cstr(w, "branch_failure_route"))
		set = c ? c->on_branch_failure[0] != 0
			: t && t->on_branch_failure;
	else
		LOG_ERR("tm: t_is_set: unknown route type '%.*s'", STR_FMT(w));
	if (c)
		tm_unlock(c);
	return set ? 1 : -1;
}

KI(ki_t_get_branch_index)
{
	tm_ctx_t *t = ctx->tm;

	return t ? t->branch : 0;
}

/* The code the status functions look at: the reply of an onreply route,
 * the picked reply in a failure route, else the last one sent upstream. */
static int status_code(ksr_ctx_t *ctx)
{
	tm_ctx_t *t = ctx->tm;
	tm_cell_t *c = cur_cell(ctx);

	if (!t)
		return -1;
	if (ctx->route == KSR_ROUTE_ONREPLY ||
	    ctx->route == KSR_ROUTE_FAILURE ||
	    ctx->route == KSR_ROUTE_BRANCH_FAILURE)
		return t->reply_code;
	return c ? c->uas_status : -1;
}

KI(ki_t_get_status_code)
{
	int code = status_code(ctx);

	return code > 0 ? code : -1;
}

KI(ki_t_check_status)
{
	char re[256], code[16];
	regex_t rx;
	int st = status_code(ctx), rc;

	if (st <= 0 || a[0].s.len >= sizeof(re))
		return -1;
	str_to_buf(a[0].s, re, sizeof(re));
	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0) {
		LOG_ERR("tm: t_check_status: bad regular expression '%s'", re);
		return -1;
	}
	snprintf(code, sizeof(code), "%d", st);
	rc = regexec(&rx, code, 0, NULL, 0) == 0 ? 1 : -1;
	regfree(&rx);
	return rc;
}

static tm_branch_t *route_branch(ksr_ctx_t *ctx)
{
	tm_ctx_t *t = ctx->tm;
	tm_cell_t *c = cur_cell(ctx);

	if (!c || t->branch < 0 || t->branch >= c->nbr)
		return NULL;
	return c->br[t->branch];
}

KI(ki_t_branch_timeout)
{
	tm_branch_t *b;
	int rc;

	if (ctx->route != KSR_ROUTE_FAILURE &&
	    ctx->route != KSR_ROUTE_BRANCH_FAILURE)
		return -1;
	b = route_branch(ctx);
	rc = b && b->timeout ? 1 : -1;
	return rc;
}

KI(ki_t_branch_replied)
{
	tm_branch_t *b;

	if (ctx->route != KSR_ROUTE_FAILURE &&
	    ctx->route != KSR_ROUTE_BRANCH_FAILURE)
		return -1;
	b = route_branch(ctx);
	return b && b->replied ? 1 : -1;
}

static int any_branch(ksr_ctx_t *ctx, int what, int code)
{
	tm_cell_t *c = cur_cell(ctx);
	int found = 0;

	if (!c)
		return -1;
	tm_lock(c);
	for (int i = 0; i < c->nbr && !found; i++) {
		tm_branch_t *b = c->br[i];

		found = what == 0   ? b->timeout
			: what == 1 ? b->replied
				    : b->final_code == code;
	}
	tm_unlock(c);
	return found ? 1 : -1;
}

KI(ki_t_any_timeout)
{
	return any_branch(ctx, 0, 0);
}

KI(ki_t_any_replied)
{
	return any_branch(ctx, 1, 0);
}

KI(ki_t_grep_status)
{
	return any_branch(ctx, 2, (int)a[0].n);
}

KI(ki_t_is_retr_async_reply)
{
	return -1;
}

static int check_ms(long v)
{
	return v >= 0 && v <= 24L * 3600 * 1000;
}

/* Set timer values for the transaction of ctx, or for the one this run
 * creates. which: 0 fr pair, 1 retr pair, 2 lifetimes. 0 keeps a value. */
static int set_timers(ksr_ctx_t *ctx, int which, long v1, long v2, int reset)
{
	tm_ctx_t *t = tm_ctx(ctx, 1);
	tm_cell_t *c;
	unsigned *p1, *p2;

	if (!t || !check_ms(v1) || !check_ms(v2))
		return -1;
	c = t->cell;
	if (c)
		tm_lock(c);
	switch (which) {
	case 0:
		p1 = c ? &c->fr_inv_ms : &t->fr_inv_ms;
		p2 = c ? &c->fr_ms : &t->fr_ms;
		break;
	case 1:
		p1 = c ? &c->t1_ms : &t->t1_ms;
		p2 = c ? &c->t2_ms : &t->t2_ms;
		break;
	default:
		p1 = c ? &c->life_inv_ms : &t->life_inv_ms;
		p2 = c ? &c->life_noninv_ms : &t->life_noninv_ms;
		break;
	}
	if (reset) {
		*p1 = 0;
		*p2 = 0;
	} else {
		if (v1)
			*p1 = (unsigned)v1;
		if (v2)
			*p2 = (unsigned)v2;
	}
	if (c)
		tm_unlock(c);
	return 1;
}

KI(ki_t_set_fr)
{
	return set_timers(ctx, 0, a[0].n, a[1].n, 0);
}

KI(ki_t_set_fr_inv)
{
	return set_timers(ctx, 0, a[0].n, 0, 0);
}

KI(ki_t_reset_fr)
{
	return set_timers(ctx, 0, 0, 0, 1);
}

KI(ki_t_set_retr)
{
	return set_timers(ctx, 1, a[0].n, a[1].n, 0);
}

KI(ki_t_reset_retr)
{
	return set_timers(ctx, 1, 0, 0, 1);
}

KI(ki_t_set_max_lifetime)
{
	return set_timers(ctx, 2, a[0].n, a[1].n, 0);
}

KI(ki_t_reset_max_lifetime)
{
	return set_timers(ctx, 2, 0, 0, 1);
}

/* t_set_auto_inv_100, t_set_disable_6xx, t_set_disable_failover,
 * t_set_disable_internal_reply: per transaction switches. */
static int set_switch(ksr_ctx_t *ctx, int which, long on)
{
	tm_ctx_t *t = tm_ctx(ctx, 1);
	tm_cell_t *c;

	if (!t)
		return -1;
	c = t->cell;
	if (c)
		tm_lock(c);
	switch (which) {
	case 0:
		t->auto100 = on != 0;
		if (c)
			c->no_auto100 = !on;
		break;
	case 1:
		t->no_6xx_block = on != 0;
		if (c)
			c->no_6xx_block = on != 0;
		break;
	case 2:
		t->no_failover = on != 0;
		if (c)
			c->no_failover = on != 0;
		break;
	default:
		t->no_internal_reply = on != 0;
		if (c)
			c->no_internal_reply = on != 0;
		break;
	}
	if (c)
		tm_unlock(c);
	return 1;
}

KI(ki_t_set_auto_inv_100)
{
	return set_switch(ctx, 0, a[0].n);
}

KI(ki_t_set_disable_6xx)
{
	return set_switch(ctx, 1, a[0].n);
}

KI(ki_t_set_disable_failover)
{
	return set_switch(ctx, 2, a[0].n);
}

KI(ki_t_set_disable_internal_reply)
{
	return set_switch(ctx, 3, a[0].n);
}

KI(ki_t_noop)
{
	return 1;
}

/* ---- serial forking ---- */

static char *arena_cdup(arena_t *a, str_t s)
{
	return s.len ? arena_strndup(a, s.s, s.len) : NULL;
}

/* t_load_contacts: the R-URI and the destination set, ordered by q
 * (highest first, stable), kept for t_next_contacts; the destination set
 * is emptied. Only one destination: nothing to do. */
static int load_contacts(ksr_ctx_t *ctx)
{
	sip_msg_t *msg = ctx->msg;
	tm_ctx_t *t = tm_ctx(ctx, 1);
	int n = dset_count(msg) + 1, k = 0;
	tm_contact_t *l;
	osp_branch_t b0;

	if (!t || (ctx->route != KSR_ROUTE_REQUEST &&
		   ctx->route != KSR_ROUTE_FAILURE))
		return -1;
	if (n == 1)
		return 1;
	l = arena_zalloc(msg->arena, (size_t)n * sizeof(*l));
	if (!l)
		return -1;
	dset_branch0(msg, &b0);
	for (int i = -1; i < n - 1; i++) {
		const osp_branch_t *b = i < 0 ? &b0 : dset_get(msg, i);
		tm_contact_t *x = &l[k++];

		x->uri = arena_cdup(msg->arena, b->uri);
		x->dst_uri = arena_cdup(msg->arena, b->dst_uri);
		x->path = arena_cdup(msg->arena, b->path);
		x->instance = arena_cdup(msg->arena, b->instance);
		x->ruid = arena_cdup(msg->arena, b->ruid);
		x->q = b->q < 0 ? 1000 : b->q;
		x->flags = b->flags;
		x->socket = b->socket;
	}
	for (int i = 1; i < k; i++) { /* insertion sort: stable, small */
		tm_contact_t x = l[i];
		int j = i - 1;

		while (j >= 0 && l[j].q < x.q) {
			l[j + 1] = l[j];
			j--;
		}
		l[j + 1] = x;
	}
	dset_clear(msg);
	t->contacts = l;
	t->n_contacts = k;
	return 1;
}

KI(ki_t_load_contacts)
{
	return load_contacts(ctx);
}

static void contact_free(tm_contact_t *k)
{
	free(k->uri);
	free(k->dst_uri);
	free(k->path);
	free(k->instance);
	free(k->ruid);
}

/* t_next_contacts: the contacts of the highest q left become the R-URI
 * (the first) and the destination set (the others). 1, or -2 when none
 * is left. */
KI(ki_t_next_contacts)
{
	sip_msg_t *msg = ctx->msg;
	tm_ctx_t *t = tm_ctx(ctx, 1);
	tm_cell_t *c;
	tm_contact_t *l;
	int *n, heap, group = 0, rc = 1;

	if (!t || msg->kind != SIP_REQUEST)
		return -1;
	c = t->cell;
	if (c)
		tm_lock(c);
	heap = c && c->n_contacts;
	l = heap ? c->contacts : t->contacts;
	n = heap ? &c->n_contacts : &t->n_contacts;
	if (!*n) {
		rc = -2;
		goto out;
	}
	while (group < *n && l[group].q == l[0].q)
		group++;
	for (int i = 0; i < group && rc > 0; i++) {
		if (i == 0) {
			if (sip_set_ruri(msg, str_from(l[i].uri)) < 0) {
				rc = -1;
				break;
			}
			msg->dst_uri =
			    l[i].dst_uri
				? (str_t){arena_strndup(msg->arena,
							l[i].dst_uri,
							strlen(l[i].dst_uri)),
					  strlen(l[i].dst_uri)}
				: STR_NULL;
			msg->path_vec =
			    l[i].path
				? (str_t){arena_strndup(msg->arena, l[i].path,
							strlen(l[i].path)),
					  strlen(l[i].path)}
				: STR_NULL;
			msg->bflags = l[i].flags;
		} else {
			osp_branch_t b;

			memset(&b, 0, sizeof(b));
			b.uri = str_from(l[i].uri);
			b.dst_uri = str_from(l[i].dst_uri);
			b.path = str_from(l[i].path);
			b.instance = str_from(l[i].instance);
			b.ruid = str_from(l[i].ruid);
			b.q = l[i].q;
			b.flags = l[i].flags;
			b.socket = l[i].socket;
			if (dset_append(msg, &b) < 0)
				rc = -1;
		}
	}
	if (heap)
		for (int i = 0; i < group; i++)
			contact_free(&l[i]);
	memmove(l, l + group, (size_t)(*n - group) * sizeof(*l));
	*n -= group;
out:
	if (c)
		tm_unlock(c);
	return rc;
}

static const ksr_export_t tm_exports[] = {
    {"tm", "t_relay", KSR_INT, ki_t_relay, {0}},
    {"tm", "t_relay_to_proxy", KSR_INT, ki_t_relay_to_proxy, {KSR_STR}},
    {"tm", "t_relay_to_flags", KSR_INT, ki_t_relay_to_flags, {KSR_INT}},
    {"tm",
     "t_relay_to_proxy_flags",
     KSR_INT,
     ki_t_relay_to_proxy_flags,
     {KSR_STR, KSR_INT}},
    {"tm", "t_relay_to_proto", KSR_INT, ki_t_relay_to_proto, {KSR_STR}},
    {"tm",
     "t_relay_to_proto_addr",
     KSR_INT,
     ki_t_relay_to_proto_addr,
     {KSR_STR, KSR_STR, KSR_INT}},
    {"tm", "t_on_branch", KSR_INT, ki_t_on_branch, {KSR_STR}},
    {"tm", "t_on_failure", KSR_INT, ki_t_on_failure, {KSR_STR}},
    {"tm", "t_on_branch_failure", KSR_INT, ki_t_on_branch_failure, {KSR_STR}},
    {"tm", "t_on_reply", KSR_INT, ki_t_on_reply, {KSR_STR}},
    {"tm", "t_reply", KSR_INT, ki_t_reply, {KSR_INT, KSR_STR}},
    {"tm", "t_send_reply", KSR_INT, ki_t_send_reply, {KSR_INT, KSR_STR}},
    {"tm", "t_check_trans", KSR_INT, ki_t_check_trans, {0}},
    {"tm", "t_is_canceled", KSR_INT, ki_t_is_canceled, {0}},
    {"tm", "t_newtran", KSR_INT, ki_t_newtran, {0}},
    {"tm", "t_release", KSR_INT, ki_t_release, {0}},
    {"tm", "t_is_set", KSR_INT, ki_t_is_set, {KSR_STR}},
    {"tm", "t_lookup_request", KSR_INT, ki_t_lookup_request, {0}},
    {"tm", "t_lookup_cancel", KSR_INT, ki_t_lookup_cancel, {0}},
    {"tm",
     "t_lookup_cancel_flags",
     KSR_INT,
     ki_t_lookup_cancel_flags,
     {KSR_INT}},
    {"tm", "t_retransmit_reply", KSR_INT, ki_t_retransmit_reply, {0}},
    {"tm", "t_set_fr_inv", KSR_INT, ki_t_set_fr_inv, {KSR_INT}},
    {"tm", "t_set_fr", KSR_INT, ki_t_set_fr, {KSR_INT, KSR_INT}},
    {"tm", "t_reset_fr", KSR_INT, ki_t_reset_fr, {0}},
    {"tm",
     "t_set_max_lifetime",
     KSR_INT,
     ki_t_set_max_lifetime,
     {KSR_INT, KSR_INT}},
    {"tm", "t_reset_max_lifetime", KSR_INT, ki_t_reset_max_lifetime, {0}},
    {"tm", "t_set_retr", KSR_INT, ki_t_set_retr, {KSR_INT, KSR_INT}},
    {"tm", "t_reset_retr", KSR_INT, ki_t_reset_retr, {0}},
    {"tm", "t_load_contacts", KSR_INT, ki_t_load_contacts, {0}},
    {"tm", "t_next_contacts", KSR_INT, ki_t_next_contacts, {0}},
    {"tm", "t_save_lumps", KSR_INT, ki_t_noop, {0}},
    {"tm", "t_use_uac_headers", KSR_INT, ki_t_noop, {0}},
    {"tm", "t_is_expired", KSR_INT, ki_t_is_expired, {0}},
    {"tm", "t_check_status", KSR_INT, ki_t_check_status, {KSR_STR}},
    {"tm", "t_grep_status", KSR_INT, ki_t_grep_status, {KSR_INT}},
    {"tm", "t_is_retr_async_reply", KSR_INT, ki_t_is_retr_async_reply, {0}},
    {"tm", "t_any_replied", KSR_INT, ki_t_any_replied, {0}},
    {"tm", "t_any_timeout", KSR_INT, ki_t_any_timeout, {0}},
    {"tm", "t_branch_replied", KSR_INT, ki_t_branch_replied, {0}},
    {"tm", "t_branch_timeout", KSR_INT, ki_t_branch_timeout, {0}},
    {"tm", "t_set_auto_inv_100", KSR_INT, ki_t_set_auto_inv_100, {KSR_INT}},
    {"tm", "t_set_disable_6xx", KSR_INT, ki_t_set_disable_6xx, {KSR_INT}},
    {"tm",
     "t_set_disable_failover",
     KSR_INT,
     ki_t_set_disable_failover,
     {KSR_INT}},
    {"tm", "t_set_no_e2e_cancel_reason", KSR_INT, ki_t_noop, {KSR_INT}},
    {"tm",
     "t_set_disable_internal_reply",
     KSR_INT,
     ki_t_set_disable_internal_reply,
     {KSR_INT}},
    {"tm", "t_get_status_code", KSR_INT, ki_t_get_status_code, {0}},
    {"tm", "t_get_branch_index", KSR_INT, ki_t_get_branch_index, {0}},
    {0},
};

/* ---- $T_branch_idx, $T_reply_code, $T_reply_reason, $T(name) ---- */

enum {
	TPV_BRANCH = 1,
	TPV_CODE,
	TPV_REASON,
	TPV_ID_INDEX,
	TPV_ID_LABEL,
	TPV_REPLY_TYPE,
	TPV_RUID,
};

static int tpv_get(ksr_ctx_t *ctx, long what, ksr_xval_t *out)
{
	tm_ctx_t *t = ctx ? ctx->tm : NULL;
	tm_cell_t *c = t ? t->cell : NULL;
	int code;

	switch (what) {
	case TPV_BRANCH: ksr_xval_int(out, t ? t->branch : 0); return 0;
	case TPV_CODE:
		code = ctx ? status_code(ctx) : -1;
		ksr_xval_int(out, code > 0 ? code : 0);
		return 0;
	case TPV_REASON:
		if (t && t->reply_reason.len &&
		    (ctx->route == KSR_ROUTE_ONREPLY ||
		     ctx->route == KSR_ROUTE_FAILURE ||
		     ctx->route == KSR_ROUTE_BRANCH_FAILURE))
			ksr_xval_str(out, t->reply_reason);
		else
			ksr_xval_null(out);
		return 0;
	case TPV_ID_INDEX:
		if (c)
			ksr_xval_int(out, (long)c->bucket);
		else
			ksr_xval_null(out);
		return 0;
	case TPV_ID_LABEL:
		if (c)
			ksr_xval_int(out, (long)c->label);
		else
			ksr_xval_null(out);
		return 0;
	case TPV_REPLY_TYPE: {
		/* 1 when the picked reply was made up here */
		tm_branch_t *b = c && t->branch >= 0 && t->branch < c->nbr
				     ? c->br[t->branch]
				     : NULL;

		ksr_xval_int(out, b && b->local ? 1 : 0);
		return 0;
	}
	default: ksr_xval_null(out); return 0;
	}
}

static int get_t_simple(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	return tpv_get(ctx, sp->iparam, out);
}

static int t_parse_name(pv_spec_t *sp, str_t name, char *err, size_t errlen)
{
	static const struct {
		const char *n;
		long v;
	} names[] = {
	    {"branch_index", TPV_BRANCH}, {"reply_code", TPV_CODE},
	    {"reply_reason", TPV_REASON}, {"id_index", TPV_ID_INDEX},
	    {"id_label", TPV_ID_LABEL},	  {"reply_type", TPV_REPLY_TYPE},
	    {"ruid", TPV_RUID},
	};

	for (size_t i = 0; i < OSP_ARRAY_LEN(names); i++)
		if (str_eq_cstr(name, names[i].n)) {
			sp->iparam = names[i].v;
			return 0;
		}
	snprintf(err, errlen, "unknown $T() attribute '%.*s'", STR_FMT(name));
	return -1;
}

static const pv_class_t tm_pv_classes[] = {
    {"T_branch_idx", get_t_simple, NULL, 0, TPV_BRANCH, NULL, NULL},
    {"T_reply_code", get_t_simple, NULL, 0, TPV_CODE, NULL, NULL},
    {"T_reply_reason", get_t_simple, NULL, 0, TPV_REASON, NULL, NULL},
    {"T", get_t_simple, NULL, PV_CF_NAME, 0, t_parse_name, NULL},
    {NULL, NULL, NULL, 0, 0, NULL, NULL},
};

/* ---- RPC ---- */

static json_t *rpc_stats(json_t *params, rpc_error_t *err)
{
	json_t *o = json_object();

	if (!o)
		return rpc_fail(err, RPC_E_INTERNAL, "out of memory");
	json_object_set_new(
	    o, "current", json_integer((json_int_t)stats_get(&tm_st_current)));
	json_object_set_new(
	    o, "waiting", json_integer((json_int_t)stats_get(&tm_st_waiting)));
	json_object_set_new(
	    o, "total", json_integer((json_int_t)stats_get(&tm_st_created)));
	json_object_set_new(
	    o, "created", json_integer((json_int_t)stats_get(&tm_st_created)));
	json_object_set_new(o, "freed",
			    json_integer((json_int_t)stats_get(&tm_st_freed)));
	json_object_set_new(
	    o, "relayed", json_integer((json_int_t)stats_get(&tm_st_relayed)));
	json_object_set_new(
	    o, "rpl_received",
	    json_integer((json_int_t)stats_get(&tm_st_rpl_received)));
	json_object_set_new(
	    o, "rpl_generated",
	    json_integer((json_int_t)stats_get(&tm_st_rpl_generated)));
	json_object_set_new(
	    o, "rpl_sent",
	    json_integer((json_int_t)stats_get(&tm_st_rpl_sent)));
	for (int i = 1; i <= 6; i++)
		json_object_set_new(
		    o, tm_st_class[i].name,
		    json_integer((json_int_t)stats_get(&tm_st_class[i])));
	json_object_set_new(
	    o, "rtx_absorbed",
	    json_integer((json_int_t)stats_get(&tm_st_rtx_absorbed)));
	json_object_set_new(
	    o, "uac_retransmissions",
	    json_integer((json_int_t)stats_get(&tm_st_uac_rtx)));
	json_object_set_new(
	    o, "timeouts",
	    json_integer((json_int_t)stats_get(&tm_st_timeouts)));
	return o;
}

static void list_one(tm_cell_t *c, void *arg)
{
	json_t *a = arg, *o;

	/* read without the cell lock: a snapshot for humans */
	o = json_pack(
	    "{s:s#, s:s#, s:s#, s:i, s:i, s:I, s:b, s:b}", "method",
	    c->method_s.s, (int)c->method_s.len, "callid", c->callid.s,
	    (int)c->callid.len, "cseq", c->cseq_num.s, (int)c->cseq_num.len,
	    "status", __atomic_load_n(&c->uas_status, __ATOMIC_RELAXED),
	    "branches", __atomic_load_n(&c->nbr, __ATOMIC_RELAXED), "age_ms",
	    (json_int_t)(osp_now_ms() - c->created_ms), "canceled",
	    __atomic_load_n(&c->canceled, __ATOMIC_RELAXED) != 0, "waiting",
	    c->on_wait != 0);
	if (o)
		json_array_append_new(a, o);
}

static json_t *rpc_list(json_t *params, rpc_error_t *err)
{
	json_t *a = json_array();

	if (!a)
		return rpc_fail(err, RPC_E_INTERNAL, "out of memory");
	tm_table_foreach(list_one, a);
	return a;
}

static const rpc_export_t tm_rpc[] = {
    {"tm.stats", rpc_stats, "Transaction counters"},
    {"tm.list", rpc_list, "The transactions in memory"},
    {0},
};

/* ---- modparams ---- */

static int ignored_int;
static char *ignored_str;

static const osp_param_t tm_params[] = {
    {"fr_timer", MP_INT, &tm_cfg.fr_timer, NULL},
    {"fr_inv_timer", MP_INT, &tm_cfg.fr_inv_timer, NULL},
    {"retr_timer1", MP_INT, &tm_cfg.t1, NULL},
    {"retr_timer2", MP_INT, &tm_cfg.t2, NULL},
    {"retr_timer4", MP_INT, &tm_cfg.t4, NULL},
    {"wait_timer", MP_INT, &tm_cfg.wait_timer, NULL},
    {"max_inv_lifetime", MP_INT, &tm_cfg.max_inv_lifetime, NULL},
    {"max_noninv_lifetime", MP_INT, &tm_cfg.max_noninv_lifetime, NULL},
    {"auto_inv_100", MP_INT, &tm_cfg.auto_inv_100, NULL},
    {"auto_inv_100_reason", MP_STR, &tm_cfg.auto_inv_100_reason, NULL},
    {"restart_fr_on_each_reply", MP_INT, &tm_cfg.restart_fr_on_each_reply,
     NULL},
    {"disable_6xx_block", MP_INT, &tm_cfg.disable_6xx_block, NULL},
    {"remap_503_500", MP_INT, &tm_cfg.remap_503_500, NULL},
    {"use_dns_failover", MP_INT, &tm_cfg.use_dns_failover, NULL},
    {"hash_size", MP_INT, &tm_cfg.hash_size, NULL},
    /* accepted for kamailio.cfg compatibility, without effect */
    {"failure_reply_mode", MP_INT, &ignored_int, NULL},
    {"cancel_b_method", MP_INT, &ignored_int, NULL},
    {"noisy_ctimer", MP_INT, &ignored_int, NULL},
    {"reparse_invite", MP_INT, &ignored_int, NULL},
    {"contacts_avp", MP_STR, &ignored_str, NULL},
    {"contact_flows_avp", MP_STR, &ignored_str, NULL},
    {NULL, 0, NULL, NULL},
};

static int tm_init(void)
{
	static int pv_done;
	int rc;

	if (tm_cfg.t1 <= 0 || tm_cfg.t2 < tm_cfg.t1 || tm_cfg.fr_timer <= 0 ||
	    tm_cfg.fr_inv_timer <= 0 || tm_cfg.wait_timer <= 0) {
		LOG_ERR("tm: timer parameters must be positive (and "
			"retr_timer2 >= retr_timer1)");
		return -1;
	}
	rc = tm_table_init(tm_cfg.hash_size);
	if (rc < 0)
		return rc;
	stats_register(&tm_st_current);
	stats_register(&tm_st_waiting);
	stats_register(&tm_st_created);
	stats_register(&tm_st_freed);
	stats_register(&tm_st_relayed);
	stats_register(&tm_st_rpl_received);
	stats_register(&tm_st_rpl_generated);
	stats_register(&tm_st_rpl_sent);
	for (int i = 1; i <= 6; i++)
		stats_register(&tm_st_class[i]);
	stats_register(&tm_st_rtx_absorbed);
	stats_register(&tm_st_uac_rtx);
	stats_register(&tm_st_timeouts);
	if (!pv_done && pv_register_classes(tm_pv_classes) < 0)
		return -1;
	pv_done = 1;
	osp_reply_hook = tm_reply_received;
	osp_request_done_hook = request_done;
	osp_tm_reply_hook = stateful_reply_hook;
	return 0;
}

static void tm_destroy(void)
{
	if (osp_reply_hook == tm_reply_received)
		osp_reply_hook = NULL;
	if (osp_request_done_hook == request_done)
		osp_request_done_hook = NULL;
	if (osp_tm_reply_hook == stateful_reply_hook)
		osp_tm_reply_hook = NULL;
	tm_table_destroy();
}

osp_module_t osp_mod_tm = {
    .name = "tm",
    .exports = tm_exports,
    .params = tm_params,
    .rpc = tm_rpc,
    .init = tm_init,
    .destroy = tm_destroy,
};
