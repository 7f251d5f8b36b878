/* t_uas.c - the server side of a transaction: replies upstream, their
 * retransmission (RFC 3261 §17.2.1 Timer G/H), the ACK of a negative
 * reply, and the request as the failure route sees it. */
#include <stdlib.h>
#include <string.h>

#include "core/fwd.h"
#include "core/log.h"
#include "core/osp.h"
#include "modules/pv/pv.h"
#include "modules/tm/tm_int.h"

static char *dup_bytes(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static char *dup_str(str_t s)
{
	return s.len ? dup_bytes(s.s, s.len) : NULL;
}

/* Timer G: resend the negative final reply of an INVITE over UDP,
 * doubling up to T2, until the ACK comes or Timer H (64*T1) runs out. */
void tm_uas_retr_fire(tm_cell_t *c, tm_timer_t *tt)
{
	if (c->acked || c->dead || !c->uas_reply)
		return;
	if (osp_now_ms() >= c->uas_retr_deadline) {
		LOG_DBG("tm: no ACK for the %d reply, giving up",
			c->uas_status);
		tm_put_on_wait(c);
		return;
	}
	tm_send_fn(&c->uas_dst, c->uas_reply, c->uas_reply_len);
	c->uas_retr_ms *= 2;
	if (c->uas_retr_ms > tm_t2(c))
		c->uas_retr_ms = tm_t2(c);
	tm_timer_arm(&c->uas_retr, c->uas_retr_ms);
}

int tm_uas_send(tm_cell_t *c, int code, const char *buf, size_t len,
		str_t totag)
{
	int rc = 1, first_final = code >= 200 && c->uas_status < 200;

	/* the state moves before the reply leaves: its ACK (or a
	 * retransmission) may come back before this function returns, and
	 * request matching reads uas_status without the cell lock. The last
	 * provisional, then the first final, is what a retransmitted request
	 * gets back. */
	if (c->uas_status < 200) {
		char *copy = dup_bytes(buf, len);

		if (copy) {
			free(c->uas_reply);
			c->uas_reply = copy;
			c->uas_reply_len = len;
		}
		if (first_final && totag.len &&
		    totag.len < sizeof(c->uas_totag)) {
			memcpy(c->uas_totag, totag.s, totag.len);
			c->uas_totag[totag.len] = '\0';
		}
		__atomic_store_n(&c->uas_status, code, __ATOMIC_RELEASE);
	}
	if (tm_send_fn(&c->uas_dst, buf, len) < 0) {
		LOG_RATE(L_ERR, "tm: cannot send the %d reply upstream", code);
		rc = -1;
	}
	stats_inc(&tm_st_rpl_sent);
	stats_inc(&tm_st_class[code / 100]);
	if (!first_final)
		return rc;
	tm_event_final_reply(c, code, buf, len, totag);
	if (c->method == SIP_METHOD_INVITE && code >= 300 &&
	    c->uas_dst.proto == SIP_PROTO_UDP) {
		c->uas_retr_ms = tm_t1(c);
		c->uas_retr_deadline = osp_now_ms() + 64ULL * tm_t1(c);
		tm_timer_arm(&c->uas_retr, c->uas_retr_ms);
		tm_timer_stop(&c->lifetime);
	} else {
		tm_put_on_wait(c);
	}
	return rc;
}

void tm_uas_retransmit(tm_cell_t *c)
{
	if (c->uas_reply)
		tm_send_fn(&c->uas_dst, c->uas_reply, c->uas_reply_len);
}

void tm_uas_acked(tm_cell_t *c)
{
	if (c->acked)
		return;
	c->acked = 1;
	tm_timer_stop(&c->uas_retr);
	tm_put_on_wait(c);
}

/* The To tag a local reply to req carries: the request's own, or the one
 * osp_build_reply adds. */
static str_t reply_totag(sip_msg_t *req, int code, char *buf, size_t cap)
{
	str_t t;

	if (sip_get_tag(req, SIP_HDR_TO, &t) > 0 && t.len)
		return t;
	if (code <= 100)
		return STR_NULL;
	return osp_totag(req, buf, cap);
}

int tm_uas_reply(tm_cell_t *c, sip_msg_t *req, int code, str_t reason,
		 str_t extra, str_t body)
{
	char tagbuf[40];
	str_t out, tag;
	int rc;

	if (code < 100 || code > 699)
		return -1;
	if (c->uas_status >= 200) {
		LOG_RATE(L_ERR, "tm: cannot reply %d, %d was already sent",
			 code, c->uas_status);
		return -1;
	}
	if (code == 100 && c->uas_status >= 100)
		return 1;
	if (osp_build_reply(req, code, reason, extra, body, &out) < 0)
		return -1;
	tag = reply_totag(req, code, tagbuf, sizeof(tagbuf));
	stats_inc(&tm_st_rpl_generated);
	/* a transaction answered without being relayed: its flags are the
	 * answered request's (what tm_event_t reports) */
	if (!c->flags_saved && code >= 200)
		c->msg_flags = req->flags;
	rc = tm_uas_send(c, code, out.s, out.len, tag);
	if (code >= 200) {
		req->replied = 1;
		/* a final answer ends the pending branches (RFC 3261
		 * §16.7 step 10, and t_reply in an onreply route) */
		if (c->method == SIP_METHOD_INVITE)
			tm_cancel_branches(c, -1, req->arena);
	}
	return rc;
}

int tm_uas_local_reply(tm_cell_t *c, int code, str_t reason, arena_t *a)
{
	sip_msg_t req;

	if (tm_fake_request(c, &req, a) < 0)
		return -1;
	return tm_uas_reply(c, &req, code, reason, STR_NULL, STR_NULL);
}

/* ---- AVPs ---- */

typedef struct avp_acc {
	tm_avp_t *v;
	int n, cap, failed;
} avp_acc_t;

static int avp_collect(str_t name, const ksr_xval_t *val, void *arg)
{
	avp_acc_t *acc = arg;
	tm_avp_t *x;

	if (acc->n == acc->cap) {
		int cap = acc->cap ? 2 * acc->cap : 8;
		tm_avp_t *nv = realloc(acc->v, (size_t)cap * sizeof(*nv));

		if (!nv) {
			acc->failed = 1;
			return 1;
		}
		acc->v = nv;
		acc->cap = cap;
	}
	x = &acc->v[acc->n];
	memset(x, 0, sizeof(*x));
	x->name = dup_bytes(name.s, name.len);
	x->name_len = name.len;
	x->is_str = val->type == KSR_STR;
	x->n = val->n;
	if (x->is_str) {
		x->s = dup_bytes(val->s.s ? val->s.s : "", val->s.len);
		x->s_len = val->s.len;
	}
	acc->n++;
	if (!x->name || (x->is_str && !x->s)) {
		acc->failed = 1;
		return 1;
	}
	return 0;
}

void tm_avps_free(tm_cell_t *c)
{
	for (int i = 0; i < c->n_avps; i++) {
		free(c->avps[i].name);
		free(c->avps[i].s);
	}
	free(c->avps);
	c->avps = NULL;
	c->n_avps = 0;
}

void tm_avps_save(tm_cell_t *c, sip_msg_t *msg)
{
	avp_acc_t acc = {NULL, 0, 0, 0};

	if (!msg->avps && !c->n_avps)
		return;
	pv_avp_foreach(msg, avp_collect, &acc);
	if (acc.failed) {
		LOG_ERR("tm: out of memory keeping the AVPs");
		for (int i = 0; i < acc.n; i++) {
			free(acc.v[i].name);
			free(acc.v[i].s);
		}
		free(acc.v);
		return;
	}
	tm_avps_free(c);
	c->avps = acc.v;
	c->n_avps = acc.n;
}

void tm_avps_load(tm_cell_t *c, sip_msg_t *msg)
{
	/* oldest first: each add goes on top, so the order comes back */
	for (int i = c->n_avps - 1; i >= 0; i--) {
		tm_avp_t *x = &c->avps[i];
		ksr_xval_t v;

		memset(&v, 0, sizeof(v));
		v.type = x->is_str ? KSR_STR : KSR_INT;
		v.n = x->n;
		v.s = (str_t){x->s, x->s_len};
		pv_avp_add(msg, (str_t){x->name, x->name_len}, &v);
	}
}

/* ---- the request as kept for the failure route ---- */

int tm_save_state(tm_cell_t *c, sip_msg_t *msg)
{
	int n = 0, k = 0;

	if (c->flags_saved)
		return 0;
	c->flags_saved = 1;
	c->msg_flags = msg->flags;
	c->bflags0 = msg->bflags;
	c->saved_ruri = dup_str(msg->new_uri);
	c->saved_du = dup_str(msg->dst_uri);
	c->saved_path = dup_str(msg->path_vec);
	if (msg->new_body.s) {
		c->saved_body = dup_bytes(msg->new_body.s, msg->new_body.len);
		c->saved_body_len = msg->new_body.len;
		c->has_saved_body = c->saved_body != NULL;
	}
	c->saved_rport =
	    (msg->force_rport ? 1 : 0) | (msg->add_local_rport ? 2 : 0);
	for (sip_hdr_add_t *ad = msg->adds; ad; ad = ad->next)
		n++;
	for (int i = 0; i < msg->n_hdrs; i++)
		if (msg->hdrs[i].flags || msg->hdrs[i].replace.len)
			n++;
	if (!n)
		return 0;
	c->lumps = calloc((size_t)n, sizeof(*c->lumps));
	if (!c->lumps)
		return -OSP_ENOMEM;
	for (sip_hdr_add_t *ad = msg->adds; ad; ad = ad->next) {
		tm_lump_t *l = &c->lumps[k++];

		l->kind = 0;
		l->where = ad->where;
		l->anchor = ad->anchor;
		l->text = dup_str(ad->text);
		l->len = l->text ? ad->text.len : 0;
	}
	for (int i = 0; i < msg->n_hdrs; i++) {
		sip_hdr_t *h = &msg->hdrs[i];
		tm_lump_t *l;

		if (!h->flags && !h->replace.len)
			continue;
		l = &c->lumps[k++];
		l->kind = 1;
		l->hdr_idx = i;
		l->hdr_flags = h->flags;
		l->text = dup_str(h->replace);
		l->len = l->text ? h->replace.len : 0;
	}
	c->n_lumps = k;
	return 0;
}

static str_t arena_str(arena_t *a, const char *s, size_t n)
{
	char *p;

	if (!s)
		return STR_NULL;
	p = arena_strndup(a, s, n);
	return p ? (str_t){p, n} : STR_NULL;
}

static str_t arena_cstr(arena_t *a, const char *s)
{
	return s ? arena_str(a, s, strlen(s)) : STR_NULL;
}

int tm_fake_request(tm_cell_t *c, sip_msg_t *msg, arena_t *a)
{
	static uint64_t seq;
	sip_hdr_add_t **tail;
	char *buf;
	const char *why = NULL;

	buf = arena_alloc(a, c->req_len + 1);
	if (!buf)
		return -1;
	memcpy(buf, c->req, c->req_len + 1);
	memset(msg, 0, sizeof(*msg));
	msg->arena = a;
	if (sip_msg_parse(msg, buf, c->req_len, &why) < 0) {
		LOG_ERR("tm: cannot parse the stored request: %s",
			why ? why : "?");
		return -1;
	}
	msg->rcv = c->rcv;
	msg->id = (1ULL << 63) | __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
	tm_avps_load(c, msg);
	if (!c->flags_saved)
		return 0;
	msg->flags = c->msg_flags;
	msg->bflags = c->bflags0;
	msg->new_uri = arena_cstr(a, c->saved_ruri);
	msg->dst_uri = arena_cstr(a, c->saved_du);
	msg->path_vec = arena_cstr(a, c->saved_path);
	msg->force_rport = (c->saved_rport & 1) != 0;
	msg->add_local_rport = (c->saved_rport & 2) != 0;
	if (c->has_saved_body)
		msg->new_body = arena_str(a, c->saved_body, c->saved_body_len);
	tail = &msg->adds;
	for (int i = 0; i < c->n_lumps; i++) {
		tm_lump_t *l = &c->lumps[i];

		if (l->kind == 0) {
			sip_hdr_add_t *ad = arena_zalloc(a, sizeof(*ad));

			if (!ad)
				return -1;
			ad->text = arena_str(a, l->text, l->len);
			ad->where = (sip_add_where_t)l->where;
			ad->anchor = l->anchor;
			*tail = ad;
			tail = &ad->next;
		} else if (l->hdr_idx < msg->n_hdrs) {
			msg->hdrs[l->hdr_idx].flags = l->hdr_flags;
			msg->hdrs[l->hdr_idx].replace =
			    arena_str(a, l->text, l->len);
		}
	}
	return 0;
}
