/* t_fwd.c - the client side of a transaction: one branch per destination
 * (RFC 3261 §16.6), their retransmissions and timeouts (§17.1 Timers A/B,
 * E/F), CANCEL (§9.1) and the ACK of a negative reply (§17.1.1.3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dset.h"
#include "core/fwd.h"
#include "core/globals.h"
#include "core/log.h"
#include "core/osp.h"
#include "core/worker.h"
#include "modules/tm/tm_int.h"

unsigned tm_t1(const tm_cell_t *c)
{
	return c->t1_ms ? c->t1_ms : (unsigned)tm_cfg.t1;
}

unsigned tm_t2(const tm_cell_t *c)
{
	return c->t2_ms ? c->t2_ms : (unsigned)tm_cfg.t2;
}

unsigned tm_fr(const tm_cell_t *c)
{
	return c->fr_ms ? c->fr_ms : (unsigned)tm_cfg.fr_timer;
}

unsigned tm_fr_inv(const tm_cell_t *c)
{
	return c->fr_inv_ms ? c->fr_inv_ms : (unsigned)tm_cfg.fr_inv_timer;
}

static char *dup_str(str_t s)
{
	char *p;

	if (!s.len)
		return NULL;
	p = malloc(s.len + 1);
	if (p) {
		memcpy(p, s.s, s.len);
		p[s.len] = '\0';
	}
	return p;
}

void tm_branch_free(tm_branch_t *b)
{
	if (!b)
		return;
	free(b->buf);
	free(b->uri);
	free(b->dst_uri);
	free(b->path);
	free(b->reply);
	free(b->reason);
	free(b->totag);
	free(b->cancel);
	free(b);
}

/* ---- timers of a branch (timer thread, cell locked) ---- */

/* Timer A (INVITE: doubling until a provisional reply) and Timer E
 * (non-INVITE: doubling up to T2, then every T2). UDP only. */
static void retr_fire(tm_cell_t *c, tm_timer_t *tt)
{
	tm_branch_t *b = c->br[tt->arg];

	if (b->final_code || c->dead)
		return;
	if (c->method == SIP_METHOD_INVITE && b->provisional)
		return;
	tm_send_fn(&b->dst, b->buf, b->len);
	stats_inc(&tm_st_uac_rtx);
	if (c->method == SIP_METHOD_INVITE) {
		b->retr_ms *= 2;
	} else if (b->provisional) {
		b->retr_ms = tm_t2(c);
	} else {
		b->retr_ms *= 2;
		if (b->retr_ms > tm_t2(c))
			b->retr_ms = tm_t2(c);
	}
	tm_timer_arm(&b->retr, b->retr_ms);
}

/* Timer B/F (fr_timer, fr_inv_timer): the rest needs a worker (a local
 * 408, CANCEL, maybe the failure route). */
static void fr_fire(tm_cell_t *c, tm_timer_t *tt)
{
	tm_branch_t *b = c->br[tt->arg];

	if (b->final_code || c->dead)
		return;
	b->fr_expired = 1;
	tm_post_job(c);
}

/* Retransmit our CANCEL over UDP until it is answered or 64*T1 passed. */
static void cancel_retr_fire(tm_cell_t *c, tm_timer_t *tt)
{
	tm_branch_t *b = c->br[tt->arg];

	if (b->cancel_done || c->dead || !b->cancel)
		return;
	if (osp_now_ms() >= b->cancel_deadline) {
		b->cancel_done = 1;
		return;
	}
	tm_send_fn(&b->dst, b->cancel, b->cancel_len);
	stats_inc(&tm_st_uac_rtx);
	b->cancel_retr_ms *= 2;
	if (b->cancel_retr_ms > tm_t2(c))
		b->cancel_retr_ms = tm_t2(c);
	tm_timer_arm(&b->cancel_retr, b->cancel_retr_ms);
}

/* Start the timers of a branch just sent. */
static void branch_start(tm_cell_t *c, tm_branch_t *b)
{
	tm_timer_setup(c, &b->retr, retr_fire, b->idx);
	tm_timer_setup(c, &b->fr, fr_fire, b->idx);
	tm_timer_setup(c, &b->cancel_retr, cancel_retr_fire, b->idx);
	if (b->dst.proto == SIP_PROTO_UDP) {
		b->retr_ms = tm_t1(c);
		tm_timer_arm(&b->retr, b->retr_ms);
	}
	tm_timer_arm(&b->fr, tm_fr(c));
}

/* ---- next hop ---- */

int tm_resolve(arena_t *a, str_t uri, int proto, net_dest_t *out, int max)
{
	sip_uri_t u;
	net_dest_list_t l;
	char err[160];
	int n, k = 0;

	if (sip_uri_parse(a, uri, &u) < 0) {
		LOG_RATE(L_ERR, "tm: bad destination URI '%.*s'", STR_FMT(uri));
		return -1;
	}
	if (proto)
		u.transport = str_from(net_proto_name((sip_proto_t)proto));
	n = dns_resolve_uri(&u, &l, err, sizeof(err));
	if (n <= 0) {
		LOG_RATE(L_ERR, "tm: cannot resolve '%.*s': %s", STR_FMT(uri),
			 err);
		return -1;
	}
	/* candidates we have a socket for first, in their order */
	for (int pass = 0; pass < 2 && k < max; pass++)
		for (int i = 0; i < l.n && k < max; i++) {
			int ok =
			    net_pick_listener(l.d[i].proto,
					      l.d[i].to.sa.sa_family) != NULL;

			if (ok == (pass == 0))
				out[k++] = l.d[i];
		}
	return k;
}

/* The first URI of a Path vector ("<sip:a;lr>, <sip:b;lr>"). */
static str_t first_path_uri(str_t path)
{
	const char *p = path.s, *e = path.s + path.len, *lt, *gt;

	lt = memchr(p, '<', path.len);
	if (lt) {
		gt = memchr(lt, '>', (size_t)(e - lt));
		if (gt)
			return (str_t){lt + 1, (size_t)(gt - lt - 1)};
	}
	gt = memchr(p, ',', path.len);
	return str_trim((str_t){p, gt ? (size_t)(gt - p) : path.len});
}

/* ---- building and sending one branch ---- */

/* The routing state of msg a branch may change, saved around it. */
typedef struct msg_state {
	str_t new_uri, dst_uri, path_vec, new_body;
	sip_uri_t *new_uri_parsed;
	uint32_t bflags;
	sip_hdr_add_t *adds;
	unsigned *hflags;
	str_t *hreplace;
} msg_state_t;

static int state_save(sip_msg_t *msg, msg_state_t *st, int headers)
{
	memset(st, 0, sizeof(*st));
	st->new_uri = msg->new_uri;
	st->new_uri_parsed = msg->new_uri_parsed;
	st->dst_uri = msg->dst_uri;
	st->path_vec = msg->path_vec;
	st->new_body = msg->new_body;
	st->bflags = msg->bflags;
	st->adds = msg->adds;
	if (headers && msg->n_hdrs) {
		st->hflags = arena_alloc(msg->arena, (size_t)msg->n_hdrs *
							 sizeof(unsigned));
		st->hreplace = arena_alloc(msg->arena,
					   (size_t)msg->n_hdrs * sizeof(str_t));
		if (!st->hflags || !st->hreplace)
			return -1;
		for (int i = 0; i < msg->n_hdrs; i++) {
			st->hflags[i] = msg->hdrs[i].flags;
			st->hreplace[i] = msg->hdrs[i].replace;
		}
	}
	return 0;
}

static void state_restore(sip_msg_t *msg, const msg_state_t *st)
{
	msg->new_uri = st->new_uri;
	msg->new_uri_parsed = st->new_uri_parsed;
	msg->dst_uri = st->dst_uri;
	msg->path_vec = st->path_vec;
	msg->new_body = st->new_body;
	msg->bflags = st->bflags;
	msg->adds = st->adds;
	if (st->hflags)
		for (int i = 0; i < msg->n_hdrs; i++) {
			msg->hdrs[i].flags = st->hflags[i];
			msg->hdrs[i].replace = st->hreplace[i];
		}
}

/* A private copy of the added-header list, so that what one branch adds
 * (its branch route, rr's per-socket Record-Route) stays with it. */
static int copy_adds(sip_msg_t *msg)
{
	sip_hdr_add_t *head = NULL, **tail = &head;

	for (sip_hdr_add_t *ad = msg->adds; ad; ad = ad->next) {
		sip_hdr_add_t *n = arena_alloc(msg->arena, sizeof(*n));

		if (!n)
			return -1;
		*n = *ad;
		n->next = NULL;
		*tail = n;
		tail = &n->next;
	}
	msg->adds = head;
	return 0;
}

static int add_route_hdr(sip_msg_t *msg, str_t path)
{
	sip_hdr_add_t *ad = arena_zalloc(msg->arena, sizeof(*ad));
	char *t;

	if (!ad)
		return -1;
	t = arena_alloc(msg->arena, path.len + 10);
	if (!t)
		return -1;
	memcpy(t, "Route: ", 7);
	memcpy(t + 7, path.s, path.len);
	memcpy(t + 7 + path.len, "\r\n", 2);
	ad->text = (str_t){t, path.len + 9};
	ad->where = SIP_ADD_INSERT;
	ad->next = msg->adds;
	msg->adds = ad;
	return 0;
}

/* Build, send and register one branch of c from msg as it stands (its
 * R-URI, $du, Path and branch flags are the branch's). hop: forced next
 * hop (empty: $du, else the first Path URI, else the R-URI). 1 sent, 0
 * dropped by the branch route, negative SIP-ish error. */
static int send_branch(ksr_ctx_t *ctx, tm_cell_t *c, sip_msg_t *msg, str_t hop,
		       int proto)
{
	net_dest_t dests[1 + TM_MAX_FAILOVER];
	char br[64];
	str_t out, branch;
	tm_branch_t *b;
	int n, idx = c->nbr;

	if (c->on_branch[0]) {
		ksr_ctx_t bc;
		tm_ctx_t bt;

		memset(&bc, 0, sizeof(bc));
		memset(&bt, 0, sizeof(bt));
		bt.cell = c;
		bt.branch = idx;
		bt.auto100 = -1;
		bc.msg = msg;
		bc.route = KSR_ROUTE_BRANCH;
		bc.tm = &bt;
		bc.worker = ctx ? ctx->worker : -1;
		worker_run_route(&bc, c->on_branch);
		if (bc.flags & KSR_CTX_DROP) {
			LOG_DBG("tm: branch %d dropped by %s", idx,
				c->on_branch);
			return 0;
		}
	}
	if (msg->path_vec.len && add_route_hdr(msg, msg->path_vec) < 0)
		return -500;
	if (!hop.len)
		hop = msg->dst_uri.len	  ? msg->dst_uri
		      : msg->path_vec.len ? first_path_uri(msg->path_vec)
					  : sip_cur_uri(msg);
	n = tm_resolve(msg->arena, hop, proto, dests, 1 + TM_MAX_FAILOVER);
	if (n <= 0)
		return -478;
	dests[0].no_connect = msg->forward_no_connect;
	if (tm_branch_param(c, idx, br, sizeof(br)) < 0)
		return -500;
	branch = str_from(br);
	if (osp_build_request(msg, &dests[0], branch, &out) < 0)
		return -500;
	if (osp_onsend_hook && !osp_onsend_hook(msg, out))
		return -477; /* dropped by the onsend route */
	b = calloc(1, sizeof(*b));
	if (!b)
		return -500;
	b->idx = idx;
	b->buf = dup_str(out);
	b->len = out.len;
	b->dst = dests[0];
	for (int i = 1; i < n; i++)
		b->alt[b->n_alt++] = dests[i];
	b->uri = dup_str(sip_cur_uri(msg));
	b->dst_uri = dup_str(msg->dst_uri);
	b->path = dup_str(msg->path_vec);
	b->bflags = msg->bflags;
	if (!b->buf || !b->uri) {
		tm_branch_free(b);
		return -500;
	}
	if (tm_send_fn(&b->dst, b->buf, b->len) < 0) {
		LOG_RATE(L_ERR, "tm: cannot send branch %d to '%.*s'", idx,
			 STR_FMT(hop));
		tm_branch_free(b);
		return -477;
	}
	c->br[c->nbr++] = b;
	stats_inc(&tm_st_relayed);
	branch_start(c, b);
	return 1;
}

/* One destination of the round: branch 0 (spec NULL: msg as it is) or an
 * entry of the destination set. */
static int relay_one(ksr_ctx_t *ctx, tm_cell_t *c, sip_msg_t *msg,
		     const osp_branch_t *spec, str_t hop, int proto)
{
	msg_state_t st;
	int rc;

	if (state_save(msg, &st, c->on_branch[0] != 0) < 0)
		return -500;
	if (spec) {
		if (sip_set_ruri(msg, spec->uri) < 0)
			return -500;
		msg->dst_uri = spec->dst_uri;
		msg->path_vec = spec->path;
		msg->bflags = spec->flags;
	}
	if (copy_adds(msg) < 0)
		rc = -500;
	else
		rc = send_branch(ctx, c, msg, hop, proto);
	state_restore(msg, &st);
	return rc;
}

int tm_relay_branches(ksr_ctx_t *ctx, tm_cell_t *c, sip_msg_t *msg,
		      int with_ruri, str_t uri, int proto)
{
	int sent = 0, err = 0, nd = dset_count(msg);

	if (__atomic_load_n(&c->canceled, __ATOMIC_ACQUIRE))
		return -487;
	if (c->uas_status >= 200)
		return -500;
	if (!with_ruri && !nd) {
		LOG_RATE(L_ERR, "tm: nothing to relay (no new branch)");
		return -500;
	}
	c->round_start = c->nbr;
	for (int i = -1; i < nd; i++) {
		int rc;

		if (i < 0 && !with_ruri)
			continue;
		if (c->nbr >= TM_MAX_BRANCHES) {
			LOG_RATE(L_ERR, "tm: too many branches (max %d)",
				 TM_MAX_BRANCHES);
			err = err ? err : -500;
			break;
		}
		rc = relay_one(ctx, c, msg, i < 0 ? NULL : dset_get(msg, i),
			       uri, proto);
		if (rc > 0)
			sent++;
		else if (rc < 0 && (!err || rc == -478))
			err = rc;
	}
	dset_clear(msg); /* consumed, as Kamailio does */
	if (!sent)
		return err ? err : -500;
	c->relayed = 1;
	return sent;
}

/* ---- CANCEL and ACK ---- */

/* Parse the bytes of branch b into m (arena a). */
static int parse_branch(tm_branch_t *b, sip_msg_t *m, arena_t *a)
{
	char *buf = arena_alloc(a, b->len + 1);

	if (!buf)
		return -1;
	memcpy(buf, b->buf, b->len + 1);
	memset(m, 0, sizeof(*m));
	m->arena = a;
	return sip_msg_parse(m, buf, b->len, NULL) < 0 ? -1 : 0;
}

typedef struct wb {
	char *p;
	size_t len, cap;
} wb_t;

static void wb_put(wb_t *w, const char *s, size_t n)
{
	if (w->len + n <= w->cap)
		memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void wb_str(wb_t *w, str_t s)
{
	wb_put(w, s.s, s.len);
}

#define WB_LIT(w, l) wb_put((w), (l), sizeof(l) - 1)

/* CANCEL or ACK for branch b (RFC 3261 §9.1, §17.1.1.3): the branch's
 * Request-URI, its top Via (ours, same branch), its Route set, From,
 * Call-ID and CSeq number; To from `to_reply` when given (the ACK), else
 * the request's. Written into arena a. */
static int build_cancel_ack(tm_branch_t *b, const char *method,
			    sip_msg_t *to_reply, arena_t *a, str_t *out)
{
	sip_msg_t m;
	sip_hdr_t *via, *h;
	sip_cseq_t *cs;
	wb_t w = {NULL, 0, 0};

	if (parse_branch(b, &m, a) < 0)
		return -1;
	via = sip_hdr_first(&m, SIP_HDR_VIA);
	cs = sip_get_cseq(&m);
	if (!via || !cs)
		return -1;
	for (int pass = 0; pass < 2; pass++) {
		if (pass) {
			w.p = arena_alloc(a, w.len + 1);
			if (!w.p)
				return -1;
			w.cap = w.len;
			w.len = 0;
		}
		wb_put(&w, method, strlen(method));
		WB_LIT(&w, " ");
		wb_str(&w, m.ruri);
		WB_LIT(&w, " SIP/2.0\r\n");
		wb_str(&w, via->raw);
		for (int i = 0; i < m.n_hdrs; i++)
			if (m.hdrs[i].type == SIP_HDR_ROUTE)
				wb_str(&w, m.hdrs[i].raw);
		if ((h = sip_hdr_first(&m, SIP_HDR_FROM)))
			wb_str(&w, h->raw);
		h = to_reply ? sip_hdr_first(to_reply, SIP_HDR_TO)
			     : sip_hdr_first(&m, SIP_HDR_TO);
		if (h)
			wb_str(&w, h->raw);
		if ((h = sip_hdr_first(&m, SIP_HDR_CALLID)))
			wb_str(&w, h->raw);
		WB_LIT(&w, "CSeq: ");
		wb_str(&w, str_trim(cs->number));
		WB_LIT(&w, " ");
		wb_put(&w, method, strlen(method));
		WB_LIT(&w, "\r\nMax-Forwards: 70\r\n");
		if (osp_g.user_agent_header && osp_g.user_agent_str) {
			wb_put(&w, osp_g.user_agent_str,
			       strlen(osp_g.user_agent_str));
			WB_LIT(&w, "\r\n");
		}
		WB_LIT(&w, "Content-Length: 0\r\n\r\n");
	}
	w.p[w.len] = '\0';
	*out = (str_t){w.p, w.len};
	return 0;
}

void tm_send_cancel(tm_cell_t *c, tm_branch_t *b, arena_t *a)
{
	str_t out;

	if (b->cancel_sent || !b->buf)
		return;
	b->cancel_sent = 1;
	if (build_cancel_ack(b, "CANCEL", NULL, a, &out) < 0) {
		LOG_RATE(L_ERR, "tm: cannot build the CANCEL of branch %d",
			 b->idx);
		return;
	}
	b->cancel = dup_str(out);
	if (!b->cancel)
		return;
	b->cancel_len = out.len;
	tm_send_fn(&b->dst, b->cancel, b->cancel_len);
	if (b->dst.proto == SIP_PROTO_UDP) {
		b->cancel_retr_ms = tm_t1(c);
		b->cancel_deadline = osp_now_ms() + 64ULL * tm_t1(c);
		tm_timer_arm(&b->cancel_retr, b->cancel_retr_ms);
	}
}

void tm_cancel_one(tm_cell_t *c, tm_branch_t *b, arena_t *a)
{
	if (c->method != SIP_METHOD_INVITE || b->final_code || b->cancel_wanted)
		return;
	b->cancel_wanted = 1;
	if (b->provisional) {
		tm_send_cancel(c, b, a);
		return;
	}
	/* no provisional reply yet: a CANCEL must wait for one (RFC 3261
	 * §9.1); stop retransmitting and take the branch as answered 487
	 * (Kamailio's cancel_b_method 0). A late provisional gets its
	 * CANCEL then. */
	tm_timer_stop(&b->retr);
	tm_timer_stop(&b->fr);
	b->final_code = 487;
	b->local = 1;
	free(b->reason);
	b->reason = dup_str(STR_LIT("Request Terminated"));
}

void tm_cancel_branches(tm_cell_t *c, int except, arena_t *a)
{
	for (int i = 0; i < c->nbr; i++)
		if (i != except)
			tm_cancel_one(c, c->br[i], a);
}

void tm_send_local_ack(tm_cell_t *c, tm_branch_t *b, sip_msg_t *reply,
		       arena_t *a)
{
	str_t out;

	if (build_cancel_ack(b, "ACK", reply, a, &out) < 0) {
		LOG_RATE(L_ERR, "tm: cannot build the ACK of branch %d",
			 b->idx);
		return;
	}
	tm_send_fn(&b->dst, out.s, out.len);
}

int tm_failover(tm_cell_t *c, tm_branch_t *b, arena_t *a)
{
	sip_msg_t m;
	tm_branch_t *nb;
	char br[64];
	str_t out;
	net_dest_t dst;

	if (!b->n_alt || b->failed_over || c->no_failover ||
	    !tm_cfg.use_dns_failover || c->nbr >= TM_MAX_BRANCHES ||
	    __atomic_load_n(&c->canceled, __ATOMIC_ACQUIRE) ||
	    c->uas_status >= 200)
		return 0;
	b->failed_over = 1;
	/* the request again, as the branch had it, to the next candidate */
	if (tm_fake_request(c, &m, a) < 0 ||
	    sip_set_ruri(&m, str_from(b->uri)) < 0)
		return 0;
	m.dst_uri = str_from(b->dst_uri);
	m.path_vec = str_from(b->path);
	m.bflags = b->bflags;
	if (m.path_vec.len && add_route_hdr(&m, m.path_vec) < 0)
		return 0;
	dst = b->alt[0];
	if (tm_branch_param(c, c->nbr, br, sizeof(br)) < 0 ||
	    osp_build_request(&m, &dst, str_from(br), &out) < 0)
		return 0;
	nb = calloc(1, sizeof(*nb));
	if (!nb)
		return 0;
	nb->idx = c->nbr;
	nb->buf = dup_str(out);
	nb->len = out.len;
	nb->dst = dst;
	for (int i = 1; i < b->n_alt; i++)
		nb->alt[nb->n_alt++] = b->alt[i];
	nb->uri = dup_str(str_from(b->uri));
	nb->dst_uri = dup_str(str_from(b->dst_uri));
	nb->path = dup_str(str_from(b->path));
	nb->bflags = b->bflags;
	if (!nb->buf || !nb->uri ||
	    tm_send_fn(&nb->dst, nb->buf, nb->len) < 0) {
		tm_branch_free(nb);
		return 0;
	}
	LOG_INFO("tm: branch %d failed (%d), trying the next destination as "
		 "branch %d",
		 b->idx, b->final_code, nb->idx);
	c->br[c->nbr++] = nb;
	stats_inc(&tm_st_relayed);
	branch_start(c, nb);
	return 1;
}
