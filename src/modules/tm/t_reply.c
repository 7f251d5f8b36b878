/* t_reply.c - replies from downstream (RFC 3261 §16.7), branch timeouts,
 * the choice of the reply that goes upstream, and the failure route. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/fwd.h"
#include "core/log.h"
#include "core/osp.h"
#include "core/worker.h"
#include "modules/tm/tm_int.h"
#include "sip/build.h"

static char *dup_str(str_t s)
{
	char *p = malloc(s.len + 1);

	if (p) {
		if (s.len)
			memcpy(p, s.s, s.len);
		p[s.len] = '\0';
	}
	return p;
}

static void set_reason(tm_branch_t *b, str_t reason)
{
	free(b->reason);
	b->reason = dup_str(reason);
}

int tm_run_route(tm_cell_t *c, const char *name, ksr_route_type_t type,
		 sip_msg_t *msg, int branch, int code, str_t reason,
		 sip_msg_t *reply)
{
	ksr_ctx_t x;
	tm_ctx_t t;
	int rc;

	memset(&x, 0, sizeof(x));
	memset(&t, 0, sizeof(t));
	t.cell = c;
	t.branch = branch;
	t.reply_code = code;
	t.reply_reason = reason;
	t.reply = reply;
	t.auto100 = -1;
	if (type == KSR_ROUTE_FAILURE || type == KSR_ROUTE_BRANCH_FAILURE) {
		t.fr_ruri0 = sip_cur_uri(msg);
		t.fr_du0 = msg->dst_uri;
	}
	x.msg = msg;
	x.route = type;
	x.tm = &t;
	x.worker = -1;
	/* the transaction's AVPs: a faked request has them already, a
	 * reply gets them; what the route leaves goes back */
	if (type == KSR_ROUTE_ONREPLY && c->n_avps)
		tm_avps_load(c, msg);
	rc = worker_run_route(&x, name);
	if (rc == -2)
		LOG_RATE(L_ERR, "tm: cannot run %s() outside a worker", name);
	tm_avps_save(c, msg);
	return (x.flags & KSR_CTX_DROP) ? 2 : rc;
}

/* Lower is better. 2xx first, then 6xx (RFC 3261 §16.7 step 6), then the
 * lowest class (3xx, 4xx, 5xx); within a class the lower code, and a
 * received reply before one we made up (a timeout, a CANCEL without
 * provisional reply), as Kamailio prefers. */
int tm_reply_prio(int code, int local)
{
	static const int base[7] = {20000, 10000, 0, 3000, 4000, 5000, 1000};
	int cls = code / 100;

	if (cls < 0 || cls > 6)
		return 30000;
	return base[cls] + code % 100 + (local ? 500 : 0);
}

int tm_pick_branch(tm_cell_t *c)
{
	int best = -1, bp = INT_MAX;

	for (int i = 0; i < c->nbr; i++) {
		tm_branch_t *b = c->br[i];
		int p;

		if (!b->final_code)
			return -1;
		p = tm_reply_prio(b->final_code, b->local);
		if (p < bp) {
			bp = p;
			best = i;
		}
	}
	return best < 0 ? -2 : best;
}

/* Send a received reply upstream (our Via removed). store: it is the
 * transaction's reply (kept for retransmitted requests, state moves);
 * else it only passes (a further 2xx of a forked INVITE). */
static int relay_reply(tm_cell_t *c, sip_msg_t *msg, int store)
{
	str_t totag, out;

	sip_get_tag(msg, SIP_HDR_TO, &totag);
	if (sip_build_fwd_reply(msg, msg->arena, &out) < 0) {
		LOG_RATE(L_ERR, "tm: cannot build the %d reply for upstream",
			 msg->status);
		return -1;
	}
	if (store)
		return tm_uas_send(c, msg->status, out.s, out.len,
				   totag);
	stats_inc(&tm_st_rpl_sent);
	stats_inc(&tm_st_class[msg->status / 100]);
	return tm_send_fn(&c->uas_dst, out.s, out.len) < 0 ? -1 : 1;
}

/* The chosen final reply goes upstream: the stored one, or one built
 * from the request when we made it up. */
static void send_best(tm_cell_t *c, int pick, arena_t *a)
{
	tm_branch_t *b = c->br[pick];
	int code = b->final_code;

	if (!b->local && b->reply) {
		const char *buf = b->reply;
		size_t len = b->reply_len;

		if (code == 503 && tm_cfg.remap_503_500) {
			/* RFC 3261 §16.7 step 6: a 503 is not relayed as is */
			static const char sl[] =
			    "SIP/2.0 500 Server Internal Error";
			const char *eol = memchr(buf, '\r', len);
			char *nb;

			if (eol) {
				size_t rest = len - (size_t)(eol - buf);

				nb = arena_alloc(a, sizeof(sl) - 1 + rest);
				if (nb) {
					memcpy(nb, sl, sizeof(sl) - 1);
					memcpy(nb + sizeof(sl) - 1, eol, rest);
					buf = nb;
					len = sizeof(sl) - 1 + rest;
					code = 500;
				}
			}
		}
		tm_uas_send(c, code, buf, len, str_from(b->totag));
		return;
	}
	if (code == 503 && tm_cfg.remap_503_500)
		code = 500;
	tm_uas_local_reply(c, code, b->reason ? str_from(b->reason) : STR_NULL,
			   a);
}

void tm_check_done(tm_cell_t *c, arena_t *a)
{
	for (int guard = 0; guard <= TM_MAX_BRANCHES; guard++) {
		int pick, before;
		tm_branch_t *b;

		if (c->uas_status >= 200 || c->dead || c->in_failure)
			return;
		pick = tm_pick_branch(c);
		if (pick == -1)
			return; /* still waiting for some branch */
		if (pick < 0) {
			if (c->relayed)
				tm_uas_local_reply(c, 500, STR_NULL, a);
			return;
		}
		b = c->br[pick];
		if (b->final_code >= 300 && c->on_failure[0]) {
			char name[TM_CB_NAME_MAX];
			sip_msg_t fake;

			memcpy(name, c->on_failure, sizeof(name));
			/* one run per t_on_failure, and a new round needs
			 * its own t_on_branch, as in Kamailio */
			c->on_failure[0] = '\0';
			c->on_branch[0] = '\0';
			if (tm_fake_request(c, &fake, a) == 0) {
				before = c->nbr;
				c->in_failure = 1;
				tm_run_route(c, name, KSR_ROUTE_FAILURE, &fake,
					     pick, b->final_code,
					     b->reason ? str_from(b->reason)
						       : STR_NULL,
					     NULL);
				c->in_failure = 0;
				if (c->uas_status >= 200)
					return; /* it replied itself */
				if (c->nbr > before)
					continue; /* new branches: wait */
			}
		}
		send_best(c, pick, a);
		return;
	}
}

/* The branch-failure route (Kamailio's event_route[tm:branch-failure]):
 * each negative outcome of a branch, before the transaction decides. */
static void branch_failure_route(tm_cell_t *c, tm_branch_t *b, sip_msg_t *reply,
				 arena_t *a)
{
	char name[TM_CB_NAME_MAX];
	sip_msg_t fake;

	if (!c->on_branch_failure[0] || tm_fake_request(c, &fake, a) < 0)
		return;
	memcpy(name, c->on_branch_failure, sizeof(name));
	c->in_failure = 1;
	tm_run_route(c, name, KSR_ROUTE_BRANCH_FAILURE, &fake, b->idx,
		     b->final_code, b->reason ? str_from(b->reason) : STR_NULL,
		     reply);
	c->in_failure = 0;
}

/* Timer B/F ran out for branch b (worker). */
static void branch_timeout(tm_cell_t *c, tm_branch_t *b, arena_t *a)
{
	b->fr_expired = 0;
	if (b->final_code)
		return;
	stats_inc(&tm_st_timeouts);
	tm_timer_stop(&b->retr);
	tm_timer_stop(&b->fr);
	b->timeout = 1;
	b->final_code = 408;
	b->local = 1;
	set_reason(b, STR_LIT("Request Timeout"));
	if (c->method == SIP_METHOD_INVITE) {
		/* a ringing branch is cancelled; a silent one gets its
		 * CANCEL if it ever answers */
		b->cancel_wanted = 1;
		if (b->provisional)
			tm_send_cancel(c, b, a);
	}
	if (!b->replied && tm_failover(c, b, a))
		return;
	branch_failure_route(c, b, NULL, a);
}

void tm_job(void *arg)
{
	tm_cell_t *c = arg;
	arena_t *a = malloc(sizeof(*a));

	tm_lock(c);
	c->job_posted = 0;
	if (a && !c->dead) {
		arena_init(a);
		for (int i = 0; i < c->nbr; i++)
			if (c->br[i]->fr_expired)
				branch_timeout(c, c->br[i], a);
		if (c->lifetime_expired) {
			c->lifetime_expired = 0;
			LOG_INFO("tm: transaction %.*s reached its maximum "
				 "lifetime",
				 STR_FMT(c->callid));
			for (int i = 0; i < c->nbr; i++)
				if (!c->br[i]->final_code)
					branch_timeout(c, c->br[i], a);
			if (!c->nbr && c->uas_status < 200)
				tm_uas_local_reply(c, 500, STR_NULL, a);
		}
		tm_check_done(c, a);
		arena_destroy(a);
	}
	tm_unlock(c);
	free(a);
	tm_unref(c);
}

/* A provisional reply on a pending branch. */
static void on_provisional(tm_cell_t *c, tm_branch_t *b, sip_msg_t *msg)
{
	int code = msg->status, first = !b->provisional, rc = 1;

	b->provisional = 1;
	if (c->method == SIP_METHOD_INVITE) {
		tm_timer_stop(&b->retr);
		if (first || tm_cfg.restart_fr_on_each_reply)
			tm_timer_arm(&b->fr, tm_fr_inv(c));
	}
	if (b->cancel_wanted && !b->cancel_sent)
		tm_send_cancel(c, b, msg->arena);
	if (c->on_reply[0])
		rc = tm_run_route(c, c->on_reply, KSR_ROUTE_ONREPLY, msg,
				  b->idx, code, msg->reason, msg);
	if (rc == 2 || code == 100 || c->uas_status >= 200 || b->cancel_wanted)
		return;
	relay_reply(c, msg, 1);
}

/* A final reply on a pending branch. */
static void on_final(tm_cell_t *c, tm_branch_t *b, sip_msg_t *msg)
{
	int code = msg->status;
	str_t out;

	tm_timer_stop(&b->retr);
	tm_timer_stop(&b->fr);
	b->final_code = code;
	b->local = 0;
	set_reason(b, msg->reason);
	if (c->method == SIP_METHOD_INVITE && code >= 300)
		tm_send_local_ack(c, b, msg, msg->arena);
	if (c->on_reply[0])
		tm_run_route(c, c->on_reply, KSR_ROUTE_ONREPLY, msg, b->idx,
			     code, msg->reason, msg);
	if (code < 300) {
		/* a 2xx goes upstream at once (§16.7 step 5) and ends the
		 * other branches of an INVITE (§16.7 step 10) */
		relay_reply(c, msg, c->uas_status < 200);
		tm_cancel_branches(c, b->idx, msg->arena);
		return;
	}
	if (sip_build_fwd_reply(msg, msg->arena, &out) == 0) {
		str_t totag;

		sip_get_tag(msg, SIP_HDR_TO, &totag);

		free(b->reply);
		b->reply = dup_str(out);
		b->reply_len = b->reply ? out.len : 0;
		free(b->totag);
		b->totag = totag.len ? dup_str(totag) : NULL;
	}
	if (code == 503 && !b->provisional && tm_failover(c, b, msg->arena))
		return;
	if (c->method == SIP_METHOD_INVITE && code >= 600 &&
	    !tm_cfg.disable_6xx_block && !c->no_6xx_block)
		tm_cancel_branches(c, b->idx, msg->arena);
	branch_failure_route(c, b, msg, msg->arena);
	tm_check_done(c, msg->arena);
}

int tm_reply_received(sip_msg_t *msg)
{
	sip_cseq_t *cs = sip_get_cseq(msg);
	int bi, is_cancel, code = msg->status;
	tm_cell_t *c = tm_lookup_reply(msg, &bi, &is_cancel);
	tm_branch_t *b;

	if (!c)
		return 0;
	stats_inc(&tm_st_rpl_received);
	tm_lock(c);
	if (c->dead || bi >= c->nbr) {
		/* ended meanwhile: a 2xx still goes upstream statelessly */
		tm_unlock(c);
		tm_unref(c);
		return code >= 200 && code < 300 ? 0 : 1;
	}
	b = c->br[bi];
	if (is_cancel) {
		if (code >= 200) {
			b->cancel_done = 1;
			tm_timer_stop(&b->cancel_retr);
		}
		goto out;
	}
	if (!cs || cs->method_id != c->method)
		goto out;
	if (b->final_code && !b->local) {
		/* a retransmitted final, or a second one */
		if (c->method == SIP_METHOD_INVITE) {
			if (code >= 300)
				tm_send_local_ack(c, b, msg, msg->arena);
			else if (code >= 200)
				relay_reply(c, msg, 0);
		}
		goto out;
	}
	if (b->final_code) {
		/* we gave up on this branch (timeout, CANCEL before any
		 * provisional) and it answers now */
		b->replied = 1;
		if (code < 200) {
			b->provisional = 1;
			if (b->cancel_wanted && !b->cancel_sent)
				tm_send_cancel(c, b, msg->arena);
		} else if (code < 300 && c->method == SIP_METHOD_INVITE) {
			/* a 2xx must reach the caller, who will BYE it */
			b->final_code = code;
			b->local = 0;
			relay_reply(c, msg, c->uas_status < 200);
		} else if (c->method == SIP_METHOD_INVITE && code >= 300) {
			tm_send_local_ack(c, b, msg, msg->arena);
		}
		goto out;
	}
	b->last_code = code;
	if (code < 200) {
		on_provisional(c, b, msg);
		b->replied = 1;
	} else {
		on_final(c, b, msg);
		b->replied = 1;
	}
out:
	tm_unlock(c);
	tm_unref(c);
	return 1;
}
