/* t_cell.c - the transaction table: cells, references, timers, matching
 * (see tm_int.h for the locking and lifetime rules). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/fwd.h"
#include "core/log.h"
#include "core/osp.h"
#include "modules/tm/tm_int.h"

typedef struct tm_bucket {
	pthread_mutex_t lock;
	tm_cell_t *head;
	uint32_t next_label;
} tm_bucket_t;

static tm_bucket_t *table;
static unsigned table_mask;

/* ---- precheck: requests being processed right now ---- */
#define PRECHECK_BUCKETS 256

typedef struct pc_ent {
	uint64_t key;
	int count;
	struct pc_ent *next;
} pc_ent_t;

static struct {
	pthread_mutex_t lock;
	pc_ent_t *head;
} precheck[PRECHECK_BUCKETS];

static uint32_t fnv32(uint32_t h, str_t s)
{
	for (size_t i = 0; i < s.len; i++) {
		h ^= (unsigned char)s.s[i];
		h *= 16777619u;
	}
	return h;
}

static uint64_t fnv64(uint64_t h, str_t s)
{
	for (size_t i = 0; i < s.len; i++) {
		h ^= (unsigned char)s.s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* The bucket of a request: Call-ID and CSeq number, the parts a request,
 * its retransmissions, its CANCEL and its ACK share. */
static unsigned bucket_of(str_t callid, str_t cseq_num)
{
	uint32_t h = 2166136261u;

	h = fnv32(h, str_trim(callid));
	h = fnv32(h, str_trim(cseq_num));
	return h & table_mask;
}

int tm_table_init(int size)
{
	unsigned n = 1;
	uint32_t seed = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);

	while (n < (unsigned)(size > 16 ? size : 16) && n < (1u << 20))
		n <<= 1;
	table = calloc(n, sizeof(*table));
	if (!table)
		return -OSP_ENOMEM;
	table_mask = n - 1;
	for (unsigned i = 0; i < n; i++) {
		pthread_mutex_init(&table[i].lock, NULL);
		/* labels start at a random point so that a restart does
		 * not take replies meant for the previous run */
		seed = seed * 1103515245u + 12345u;
		table[i].next_label = seed;
	}
	for (int i = 0; i < PRECHECK_BUCKETS; i++)
		pthread_mutex_init(&precheck[i].lock, NULL);
	return 0;
}

static void cell_free(tm_cell_t *c)
{
	for (int i = 0; i < c->nbr; i++)
		tm_branch_free(c->br[i]);
	free(c->uas_reply);
	free(c->saved_ruri);
	free(c->saved_du);
	free(c->saved_path);
	free(c->saved_body);
	for (int i = 0; i < c->n_lumps; i++)
		free(c->lumps[i].text);
	free(c->lumps);
	for (int i = 0; i < c->n_contacts; i++) {
		tm_contact_t *k = &c->contacts[i];

		free(k->uri);
		free(k->dst_uri);
		free(k->path);
		free(k->instance);
		free(k->ruid);
	}
	free(c->contacts);
	tm_avps_free(c);
	pthread_mutex_destroy(&c->lock);
	if (c->on_wait && !c->dead)
		stats_dec(&tm_st_waiting);
	stats_inc(&tm_st_freed);
	stats_dec(&tm_st_current);
	free(c);
}

void tm_table_destroy(void)
{
	if (!table)
		return;
	for (unsigned i = 0; i <= table_mask; i++) {
		tm_cell_t *c = table[i].head, *n;

		for (; c; c = n) {
			n = c->next;
			cell_free(c);
		}
		pthread_mutex_destroy(&table[i].lock);
	}
	free(table);
	table = NULL;
	for (int i = 0; i < PRECHECK_BUCKETS; i++) {
		pc_ent_t *e = precheck[i].head, *n;

		for (; e; e = n) {
			n = e->next;
			free(e);
		}
		precheck[i].head = NULL;
		pthread_mutex_destroy(&precheck[i].lock);
	}
}

int tm_table_count(void)
{
	int n = 0;

	if (!table)
		return 0;
	for (unsigned i = 0; i <= table_mask; i++) {
		pthread_mutex_lock(&table[i].lock);
		for (tm_cell_t *c = table[i].head; c; c = c->next)
			n += !c->dead;
		pthread_mutex_unlock(&table[i].lock);
	}
	return n;
}

void tm_table_foreach(void (*fn)(tm_cell_t *c, void *arg), void *arg)
{
	if (!table)
		return;
	for (unsigned i = 0; i <= table_mask; i++) {
		pthread_mutex_lock(&table[i].lock);
		for (tm_cell_t *c = table[i].head; c; c = c->next)
			if (!c->dead)
				fn(c, arg);
		pthread_mutex_unlock(&table[i].lock);
	}
}

void tm_ref(tm_cell_t *c)
{
	__atomic_fetch_add(&c->refcnt, 1, __ATOMIC_RELAXED);
}

/* The last reference unlinks and frees. Only a dead cell can lose its last
 * reference (the alive one goes in tm_cell_end), and lookups skip dead
 * cells, so nobody can find it between the drop to zero and the unlink. */
void tm_unref(tm_cell_t *c)
{
	tm_bucket_t *b;

	if (__atomic_sub_fetch(&c->refcnt, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	b = &table[c->bucket];
	pthread_mutex_lock(&b->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		b->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&b->lock);
	cell_free(c);
}

void tm_lock(tm_cell_t *c)
{
	pthread_mutex_lock(&c->lock);
}

void tm_unlock(tm_cell_t *c)
{
	pthread_mutex_unlock(&c->lock);
}

/* ---- timers ---- */

static void timer_cb(osp_timer_t *t, void *arg)
{
	tm_timer_t *tt = arg;
	tm_cell_t *c = tt->cell;

	/* never wait for a worker running a script under the cell lock:
	 * the timer thread serves every transaction */
	if (pthread_mutex_trylock(&c->lock) != 0) {
		osp_timer_start(t, OSP_TIMER_TICK_MS);
		return;
	}
	if (tt->cancel) {
		tt->cancel = 0;
		if (tt->rearm) {
			unsigned ms = tt->rearm;

			tt->rearm = 0;
			osp_timer_start(t, ms);
			pthread_mutex_unlock(&c->lock);
			return;
		}
		tt->busy = 0;
		pthread_mutex_unlock(&c->lock);
		tm_unref(c);
		return;
	}
	tt->busy = 0;
	tt->fire(c, tt);
	pthread_mutex_unlock(&c->lock);
	tm_unref(c);
}

void tm_timer_setup(tm_cell_t *c, tm_timer_t *tt,
		    void (*fire)(tm_cell_t *c, tm_timer_t *tt), int arg)
{
	memset(tt, 0, sizeof(*tt));
	osp_timer_init(&tt->t, timer_cb, tt);
	tt->cell = c;
	tt->fire = fire;
	tt->arg = arg;
}

void tm_timer_arm(tm_timer_t *tt, unsigned ms)
{
	if (!tt->busy) {
		tm_ref(tt->cell);
		tt->busy = 1;
		tt->cancel = 0;
		tt->rearm = 0;
		osp_timer_start(&tt->t, ms);
	} else if (osp_timer_stop(&tt->t)) {
		/* still queued: move it, it keeps its reference */
		tt->cancel = 0;
		tt->rearm = 0;
		osp_timer_start(&tt->t, ms);
	} else {
		/* its callback is on the way: it will re-arm */
		tt->cancel = 1;
		tt->rearm = ms ? ms : 1;
	}
}

void tm_timer_stop(tm_timer_t *tt)
{
	if (!tt->busy)
		return;
	if (osp_timer_stop(&tt->t)) {
		tt->busy = 0;
		tm_unref(tt->cell); /* the caller holds another reference */
	} else {
		tt->cancel = 1;
		tt->rearm = 0;
	}
}

static void stop_all(tm_cell_t *c)
{
	tm_timer_stop(&c->uas_retr);
	tm_timer_stop(&c->wait);
	tm_timer_stop(&c->lifetime);
	for (int i = 0; i < c->nbr; i++) {
		tm_timer_stop(&c->br[i]->retr);
		tm_timer_stop(&c->br[i]->fr);
		tm_timer_stop(&c->br[i]->cancel_retr);
	}
}

void tm_cell_end(tm_cell_t *c)
{
	tm_bucket_t *b = &table[c->bucket];

	if (c->dead)
		return;
	stop_all(c);
	pthread_mutex_lock(&b->lock);
	c->dead = 1;
	pthread_mutex_unlock(&b->lock);
	if (c->on_wait)
		stats_dec(&tm_st_waiting);
	tm_unref(c); /* the alive reference; the caller holds one more */
}

static void wait_fire(tm_cell_t *c, tm_timer_t *tt)
{
	tm_cell_end(c);
}

void tm_put_on_wait(tm_cell_t *c)
{
	if (c->on_wait || c->dead)
		return;
	c->on_wait = 1;
	stats_inc(&tm_st_waiting);
	tm_timer_stop(&c->lifetime);
	tm_timer_arm(&c->wait, (unsigned)tm_cfg.wait_timer);
}

static void lifetime_fire(tm_cell_t *c, tm_timer_t *tt)
{
	c->lifetime_expired = 1;
	tm_post_job(c);
}

void tm_post_job(tm_cell_t *c)
{
	if (c->job_posted || c->dead)
		return;
	c->job_posted = 1;
	tm_ref(c);
	if (tm_post_fn(tm_job, c) < 0) {
		LOG_RATE(L_ERR,
			 "tm: cannot hand a transaction job to a worker");
		c->job_posted = 0;
		tm_unref(c); /* the caller holds another reference */
	}
}

/* ---- creating cells ---- */

/* str_t views into the received buffer keep their offset in the copy;
 * anything else (unusual: a value the parser had to copy) is appended
 * after the copy. */
static str_t rebase(tm_cell_t *c, const sip_msg_t *msg, str_t x, char **extra)
{
	if (!x.len)
		return STR_NULL;
	if (x.s >= msg->buf && x.s + x.len <= msg->buf + msg->len)
		return (str_t){c->req + (x.s - msg->buf), x.len};
	memcpy(*extra, x.s, x.len);
	*extra += x.len;
	return (str_t){*extra - x.len, x.len};
}

static tm_cell_t *cell_new(sip_msg_t *msg, unsigned bucket, uint32_t label)
{
	sip_via_t *v = sip_get_via1(msg);
	sip_cseq_t *cs = sip_get_cseq(msg);
	str_t ftag, ttag, callid = sip_get_callid(msg);
	int fok = sip_get_tag(msg, SIP_HDR_FROM, &ftag) >= 0,
	    tok = sip_get_tag(msg, SIP_HDR_TO, &ttag) >= 0;
	size_t extra_len;
	pthread_mutexattr_t ma;
	tm_cell_t *c;
	char *extra;

	if (!v || !cs || !fok || !tok || !callid.len)
		return NULL;
	extra_len = v->branch.len + v->host.len + v->raw.len + callid.len +
		    cs->number.len + ftag.len + ttag.len + msg->ruri.len +
		    msg->method.len;
	c = calloc(1, sizeof(*c) + msg->len + 1 + extra_len);
	if (!c)
		return NULL;
	c->req = (char *)(c + 1);
	memcpy(c->req, msg->buf, msg->len);
	c->req[msg->len] = '\0';
	c->req_len = msg->len;
	extra = c->req + msg->len + 1;
	c->bucket = bucket;
	c->label = label;
	c->refcnt = 2; /* alive + the caller */
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&c->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	c->created_ms = osp_now_ms();
	c->rcv = msg->rcv;
	c->method = msg->method_id;
	c->method_s = rebase(c, msg, msg->method, &extra);
	c->callid = rebase(c, msg, str_trim(callid), &extra);
	c->cseq_num = rebase(c, msg, str_trim(cs->number), &extra);
	c->from_tag = rebase(c, msg, ftag, &extra);
	c->to_tag = rebase(c, msg, ttag, &extra);
	c->ruri = rebase(c, msg, msg->ruri, &extra);
	c->via_branch = rebase(c, msg, v->branch, &extra);
	c->via_host = rebase(c, msg, v->host, &extra);
	c->via_raw = rebase(c, msg, v->raw, &extra);
	c->via_port = v->port_no;
	c->rfc3261 =
	    v->branch.len > 7 && strncmp(v->branch.s, "z9hG4bK", 7) == 0;
	osp_reply_dest(msg, &c->uas_dst);
	tm_timer_setup(c, &c->uas_retr, tm_uas_retr_fire, 0);
	tm_timer_setup(c, &c->wait, wait_fire, 0);
	tm_timer_setup(c, &c->lifetime, lifetime_fire, 0);
	stats_inc(&tm_st_created);
	stats_inc(&tm_st_current);
	return c;
}

/* ---- matching ---- */

/* Matching runs under the bucket lock only: the status is read
 * atomically (tm_uas_send stores it before the reply leaves). */
static int uas_status(const tm_cell_t *c)
{
	return __atomic_load_n(&c->uas_status, __ATOMIC_ACQUIRE);
}

static int port_eq(int a, int b)
{
	return (a ? a : 5060) == (b ? b : 5060);
}

static int sentby_eq(const tm_cell_t *c, const sip_via_t *v)
{
	return str_caseeq(c->via_host, v->host) &&
	       port_eq(c->via_port, v->port_no);
}

static int method_eq(const tm_cell_t *c, const sip_msg_t *msg)
{
	if (c->method != msg->method_id)
		return 0;
	return c->method != SIP_METHOD_OTHER ||
	       str_eq(c->method_s, msg->method);
}

static str_t to_tag_of(sip_msg_t *msg)
{
	str_t tag;

	sip_get_tag(msg, SIP_HDR_TO, &tag);
	return tag;
}

static str_t from_tag_of(sip_msg_t *msg)
{
	str_t tag;

	sip_get_tag(msg, SIP_HDR_FROM, &tag);
	return tag;
}

static int match(tm_cell_t *c, sip_msg_t *msg, sip_via_t *v, int kind,
		 int rfc3261, str_t callid, str_t cseq_num)
{
	int is_ack = msg->method_id == SIP_METHOD_ACK;

	if (c->dead)
		return 0;
	if (kind == TM_MATCH_E2EACK) {
		/* ACK of a 2xx: a new transaction of the same dialog, found
		 * by its INVITE's Call-ID, CSeq and From tag */
		return c->method == SIP_METHOD_INVITE && uas_status(c) >= 200 &&
		       uas_status(c) < 300 && str_eq(c->callid, callid) &&
		       str_eq(c->cseq_num, cseq_num) &&
		       str_eq(c->from_tag, from_tag_of(msg));
	}
	if (rfc3261) {
		if (!c->rfc3261 || !str_eq(c->via_branch, v->branch) ||
		    !sentby_eq(c, v))
			return 0;
	} else {
		/* RFC 2543 (RFC 3261 §17.2.3 last paragraphs): Request-URI,
		 * tags, Call-ID, CSeq and the top Via must match */
		if (c->rfc3261 || !str_eq(c->callid, callid) ||
		    !str_eq(c->cseq_num, cseq_num) ||
		    !str_eq(c->from_tag, from_tag_of(msg)) ||
		    !str_eq(c->via_raw, v->raw))
			return 0;
		if (kind == TM_MATCH_REQ && !str_eq(c->ruri, msg->ruri))
			return 0;
		if (is_ack && kind == TM_MATCH_REQ) {
			if (uas_status(c) < 300 ||
			    !str_eq(str_from(c->uas_totag), to_tag_of(msg)))
				return 0;
		} else if (!str_eq(c->to_tag, to_tag_of(msg))) {
			return 0;
		}
	}
	if (kind == TM_MATCH_CANCEL)
		return c->method == SIP_METHOD_INVITE;
	if (is_ack)
		/* the ACK of our negative reply belongs to the INVITE; the
		 * ACK of a 2xx is a transaction of its own */
		return c->method == SIP_METHOD_INVITE && uas_status(c) >= 300;
	return method_eq(c, msg);
}

/* Common part of the lookups: the bucket, locked on return. */
static tm_bucket_t *lock_bucket_of(sip_msg_t *msg, str_t *callid,
				   str_t *cseq_num)
{
	sip_cseq_t *cs = sip_get_cseq(msg);
	tm_bucket_t *b;

	*callid = str_trim(sip_get_callid(msg));
	if (!cs || !callid->len || !table)
		return NULL;
	*cseq_num = str_trim(cs->number);
	b = &table[bucket_of(*callid, *cseq_num)];
	pthread_mutex_lock(&b->lock);
	return b;
}

static int is_3261(const sip_via_t *v)
{
	return v->branch.len > 7 && strncmp(v->branch.s, "z9hG4bK", 7) == 0;
}

tm_cell_t *tm_lookup_request(sip_msg_t *msg, int kind)
{
	sip_via_t *v = sip_get_via1(msg);
	str_t callid, cseq_num;
	tm_bucket_t *b;
	tm_cell_t *c;

	if (!v || msg->kind != SIP_REQUEST)
		return NULL;
	b = lock_bucket_of(msg, &callid, &cseq_num);
	if (!b)
		return NULL;
	for (c = b->head; c; c = c->next)
		if (match(c, msg, v, kind, is_3261(v), callid, cseq_num))
			break;
	if (c)
		tm_ref(c);
	pthread_mutex_unlock(&b->lock);
	return c;
}

tm_cell_t *tm_lookup_or_create(sip_msg_t *msg, int *existed)
{
	sip_via_t *v = sip_get_via1(msg);
	str_t callid, cseq_num;
	tm_bucket_t *b;
	tm_cell_t *c;

	*existed = 0;
	if (!v || msg->kind != SIP_REQUEST || msg->method_id == SIP_METHOD_ACK)
		return NULL;
	b = lock_bucket_of(msg, &callid, &cseq_num);
	if (!b)
		return NULL;
	for (c = b->head; c; c = c->next)
		if (match(c, msg, v, TM_MATCH_REQ, is_3261(v), callid,
			  cseq_num))
			break;
	if (c) {
		tm_ref(c);
		*existed = 1;
	} else {
		c = cell_new(msg, (unsigned)(b - table), b->next_label++);
		if (c) {
			c->next = b->head;
			if (b->head)
				b->head->prev = c;
			b->head = c;
		}
	}
	pthread_mutex_unlock(&b->lock);
	return c;
}

int tm_branch_param(const tm_cell_t *c, int idx, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, TM_BRANCH_PREFIX "%x.%x.%d", c->bucket,
			 c->label, idx);

	return n > 0 && (size_t)n < cap ? n : -1;
}

/* Parse our branch parameter: bucket, label, branch index. */
static int parse_branch(str_t br, unsigned *bucket, uint32_t *label, int *idx)
{
	size_t pl = sizeof(TM_BRANCH_PREFIX) - 1, i;
	unsigned long vals[3] = {0, 0, 0};
	int k = 0, digits = 0;

	if (br.len <= pl || memcmp(br.s, TM_BRANCH_PREFIX, pl) != 0)
		return -1;
	for (i = pl; i < br.len; i++) {
		char ch = br.s[i];
		int d;

		if (ch == '.') {
			if (!digits || ++k > 2)
				return -1;
			digits = 0;
			continue;
		}
		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (k < 2 && ch >= 'a' && ch <= 'f')
			d = ch - 'a' + 10;
		else
			return -1;
		if (++digits > 8)
			return -1;
		vals[k] = vals[k] * (k < 2 ? 16 : 10) + (unsigned long)d;
	}
	if (k != 2 || !digits || vals[2] >= TM_MAX_BRANCHES)
		return -1;
	*bucket = (unsigned)vals[0];
	*label = (uint32_t)vals[1];
	*idx = (int)vals[2];
	return 0;
}

tm_cell_t *tm_lookup_reply(sip_msg_t *msg, int *branch, int *is_cancel)
{
	sip_via_t *v = sip_get_via1(msg);
	sip_cseq_t *cs = sip_get_cseq(msg);
	str_t callid = str_trim(sip_get_callid(msg));
	unsigned bucket;
	uint32_t label;
	tm_bucket_t *b;
	tm_cell_t *c;

	if (!v || !cs || !table ||
	    parse_branch(v->branch, &bucket, &label, branch) < 0 ||
	    bucket > table_mask)
		return NULL;
	b = &table[bucket];
	pthread_mutex_lock(&b->lock);
	for (c = b->head; c; c = c->next)
		if (c->label == label && !c->dead && str_eq(c->callid, callid))
			break;
	if (c)
		tm_ref(c);
	pthread_mutex_unlock(&b->lock);
	*is_cancel = cs->method_id == SIP_METHOD_CANCEL;
	return c;
}

/* ---- precheck ---- */

int tm_precheck_add(sip_msg_t *msg, uint64_t *key)
{
	sip_via_t *v = sip_get_via1(msg);
	sip_cseq_t *cs = sip_get_cseq(msg);
	uint64_t h = 1469598103934665603ULL;
	unsigned i;
	pc_ent_t *e;
	int found = 0;

	h = fnv64(h, str_trim(sip_get_callid(msg)));
	if (cs)
		h = fnv64(h, str_trim(cs->number));
	h = fnv64(h, msg->method);
	h = fnv64(h, from_tag_of(msg));
	if (v) {
		h = fnv64(h, v->branch);
		h = fnv64(h, v->host);
	}
	i = (unsigned)(h % PRECHECK_BUCKETS);
	pthread_mutex_lock(&precheck[i].lock);
	for (e = precheck[i].head; e; e = e->next)
		if (e->key == h)
			break;
	if (e) {
		e->count++;
		found = 1;
	} else {
		e = malloc(sizeof(*e));
		if (e) {
			e->key = h;
			e->count = 1;
			e->next = precheck[i].head;
			precheck[i].head = e;
		}
	}
	pthread_mutex_unlock(&precheck[i].lock);
	if (!e)
		return -1;
	*key = h;
	return found;
}

void tm_precheck_del(uint64_t key)
{
	unsigned i = (unsigned)(key % PRECHECK_BUCKETS);
	pc_ent_t **pp, *e;

	pthread_mutex_lock(&precheck[i].lock);
	for (pp = &precheck[i].head; (e = *pp); pp = &e->next) {
		if (e->key != key)
			continue;
		if (--e->count == 0) {
			*pp = e->next;
			free(e);
		}
		break;
	}
	pthread_mutex_unlock(&precheck[i].lock);
}
