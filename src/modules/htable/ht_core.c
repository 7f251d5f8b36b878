/* ht_core.c - the tables: definition, items, expiry, matching, iterators.
 *
 * Every operation hashes the key, locks that one slot, works on its short
 * list and unlocks. Memory is allocated before the lock is taken and freed
 * after it is released, so a slot is never held across malloc/free of
 * large values. */
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/osp.h"
#include "core/thread_obj.h"
#include "core/timer.h"
#include "ht_int.h"

ht_table_t *ht_tables;

static uint64_t (*ht_clock)(void) = osp_now_ms;

void ht_set_clock(uint64_t (*now_ms)(void))
{
	ht_clock = now_ms ? now_ms : osp_now_ms;
}

uint64_t ht_now(void)
{
	return ht_clock();
}

/* FNV-1a: cheap, and good enough spread for the short keys scripts use
 * (addresses, user names, call-ids). */
uint32_t ht_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

void ht_slot_lock(ht_slot_t *s)
{
	pthread_mutex_lock(&s->lock);
}

void ht_slot_unlock(ht_slot_t *s)
{
	pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------------------ */
/* table definition                                                    */

ht_table_t *ht_find(str_t name)
{
	for (ht_table_t *t = ht_tables; t; t = t->next)
		if (t->name_len == name.len &&
		    memcmp(t->name, name.s, name.len) == 0)
			return t;
	return NULL;
}

int ht_initval(const ht_table_t *t, long *v)
{
	if (!t->has_initval)
		return 0;
	*v = t->initval;
	return 1;
}

static void ht_table_free(ht_table_t *t)
{
	if (!t)
		return;
	if (t->slots) {
		for (unsigned i = 0; i < t->nslots; i++) {
			ht_item_t *it = t->slots[i].first, *nx;

			for (; it; it = nx) {
				nx = it->next;
				free(it->s);
				free(it);
			}
			pthread_mutex_destroy(&t->slots[i].lock);
		}
		free(t->slots);
	}
	free(t->name);
	free(t->dbtable);
	free(t);
}

static int attr_uint(str_t v, long *out)
{
	long n = str_to_uint(v);

	if (n < 0)
		return -1;
	*out = n;
	return 0;
}

static int attr_int(str_t v, long *out)
{
	int neg = 0;

	if (v.len && (v.s[0] == '-' || v.s[0] == '+')) {
		neg = v.s[0] == '-';
		v.s++;
		v.len--;
	}
	if (attr_uint(v, out) < 0)
		return -1;
	if (neg)
		*out = -*out;
	return 0;
}

/* Apply one "name=value" attribute of a table definition. */
static int table_attr(ht_table_t *t, str_t an, str_t av, long *size, char *err,
		      size_t errlen)
{
	long n = 0;

	if (av.len >= 2 && (av.s[0] == '"' || av.s[0] == '\'') &&
	    av.s[av.len - 1] == av.s[0]) {
		av.s++;
		av.len -= 2;
	}
	if (str_eq_cstr(an, "size")) {
		if (attr_uint(av, size) < 0)
			goto bad;
	} else if (str_eq_cstr(an, "autoexpire")) {
		if (attr_uint(av, &n) < 0)
			goto bad;
		t->autoexpire = (unsigned)n;
	} else if (str_eq_cstr(an, "initval")) {
		if (attr_int(av, &n) < 0)
			goto bad;
		t->has_initval = 1;
		t->initval = n;
	} else if (str_eq_cstr(an, "updateexpire")) {
		if (attr_uint(av, &n) < 0)
			goto bad;
		t->updateexpire = n != 0;
	} else if (str_eq_cstr(an, "dbmode")) {
		if (attr_uint(av, &n) < 0)
			goto bad;
		t->dbmode = (int)n;
	} else if (str_eq_cstr(an, "dmqreplicate")) {
		if (attr_uint(av, &n) < 0)
			goto bad;
		t->dmqreplicate = (int)n;
	} else if (str_eq_cstr(an, "dbtable")) {
		free(t->dbtable);
		t->dbtable = NULL;
		if (av.len) {
			t->dbtable = strndup(av.s, av.len);
			if (!t->dbtable) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
		}
	} else if (str_eq_cstr(an, "cols")) {
		snprintf(err, errlen,
			 "htable attribute 'cols' is not supported");
		return -1;
	} else {
		snprintf(err, errlen, "unknown htable attribute '%.*s'",
			 STR_FMT(an));
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "bad value '%.*s' for htable attribute '%.*s'",
		 STR_FMT(av), STR_FMT(an));
	return -1;
}

/* Slot count as Kamailio computes it from size (2^size, 8 below 2, 2^14
 * above 31), capped at 2^20: each slot carries a mutex, and a million
 * slots is already far more than scripts need. */
static unsigned size_exp_of(long size)
{
	if (size <= 1)
		return 3;
	if (size > 31)
		return 14;
	if (size > 20) {
		LOG_WARN("htable: size=%ld capped to 20 (2^20 slots)", size);
		return 20;
	}
	return (unsigned)size;
}

/* Parse "name=>attr=value;attr=value;..." (Kamailio's syntax) and append
 * the table to the list. */
int ht_table_define(const char *spec, char *err, size_t errlen)
{
	str_t in = str_trim(str_from(spec)), name, rest;
	const char *arrow;
	pthread_mutexattr_t ma;
	ht_table_t *t = NULL, **tail;
	long size = 4;
	int ma_ok = 0;

	arrow = in.s ? memmem(in.s, in.len, "=>", 2) : NULL;
	if (!arrow) {
		snprintf(err, errlen, "htable definition without '=>': '%s'",
			 spec ? spec : "");
		goto error;
	}
	name = str_trim((str_t){in.s, (size_t)(arrow - in.s)});
	rest = (str_t){arrow + 2, in.len - (size_t)(arrow + 2 - in.s)};
	if (!name.len || memchr(name.s, ' ', name.len) ||
	    memchr(name.s, '\t', name.len)) {
		snprintf(err, errlen, "bad htable name in '%s'", spec);
		goto error;
	}
	if (ht_find(name)) {
		snprintf(err, errlen, "htable '%.*s' is defined twice",
			 STR_FMT(name));
		goto error;
	}
	t = calloc(1, sizeof(*t));
	if (!t || !(t->name = strndup(name.s, name.len))) {
		snprintf(err, errlen, "out of memory");
		goto error;
	}
	t->name_len = name.len;
	t->updateexpire = 1;
	while (rest.len) {
		const char *semi = memchr(rest.s, ';', rest.len);
		size_t l = semi ? (size_t)(semi - rest.s) : rest.len;
		str_t a = str_trim((str_t){rest.s, l});
		const char *eq;

		rest.s += semi ? l + 1 : l;
		rest.len -= semi ? l + 1 : l;
		if (!a.len)
			continue;
		eq = memchr(a.s, '=', a.len);
		if (!eq) {
			snprintf(err, errlen,
				 "htable attribute without value: '%.*s'",
				 STR_FMT(a));
			goto error;
		}
		if (table_attr(t, str_trim((str_t){a.s, (size_t)(eq - a.s)}),
			       str_trim((str_t){
				   eq + 1, a.len - (size_t)(eq + 1 - a.s)}),
			       &size, err, errlen) < 0)
			goto error;
	}
	t->size_exp = size_exp_of(size);
	t->nslots = 1u << t->size_exp;
	t->slots = calloc(t->nslots, sizeof(*t->slots));
	if (!t->slots) {
		snprintf(err, errlen, "out of memory");
		goto error;
	}
	if (pthread_mutexattr_init(&ma) != 0) {
		snprintf(err, errlen, "mutex attributes");
		goto error;
	}
	ma_ok = 1;
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	for (unsigned i = 0; i < t->nslots; i++) {
		if (pthread_mutex_init(&t->slots[i].lock, &ma) != 0) {
			/* the slots after i were never initialised */
			for (unsigned j = i; j < t->nslots; j++)
				pthread_mutex_init(&t->slots[j].lock, NULL);
			snprintf(err, errlen, "cannot create slot locks");
			goto error;
		}
	}
	pthread_mutexattr_destroy(&ma);
	for (tail = &ht_tables; *tail; tail = &(*tail)->next)
		;
	*tail = t;
	return 0;

error:
	if (ma_ok)
		pthread_mutexattr_destroy(&ma);
	ht_table_free(t);
	return -1;
}

void ht_destroy_all(void)
{
	ht_table_t *t, *nx;

	for (t = ht_tables; t; t = nx) {
		nx = t->next;
		ht_table_free(t);
	}
	ht_tables = NULL;
}

/* ------------------------------------------------------------------ */
/* items                                                               */

/* The live-or-not item of key in its (locked) slot; *prevp gets the link
 * pointing at it, for unlinking. */
static ht_item_t *slot_find(ht_slot_t *s, uint32_t h, str_t key,
			    ht_item_t ***prevp)
{
	ht_item_t **pp = &s->first;

	for (; *pp; pp = &(*pp)->next) {
		ht_item_t *it = *pp;

		if (it->hash == h && it->klen == key.len &&
		    memcmp(it->key, key.s, key.len) == 0) {
			if (prevp)
				*prevp = pp;
			return it;
		}
	}
	return NULL;
}

static uint64_t default_expire(const ht_table_t *t, uint64_t now)
{
	return t->autoexpire ? now + (uint64_t)t->autoexpire * 1000 : 0;
}

static ht_item_t *item_new(str_t key, uint32_t h)
{
	ht_item_t *it = malloc(sizeof(*it) + key.len + 1);

	if (!it)
		return NULL;
	memset(it, 0, sizeof(*it));
	it->hash = h;
	it->klen = (uint32_t)key.len;
	memcpy(it->key, key.s, key.len);
	it->key[key.len] = '\0';
	return it;
}

int ht_set(ht_table_t *t, str_t key, const ksr_xval_t *val, long exp_s)
{
	uint32_t h = ht_hash(key.s, key.len);
	ht_slot_t *s = ht_slot_of(t, h);
	ht_item_t *it, *fresh;
	char *ns = NULL, *old = NULL;
	uint64_t now;

	if (val->type == KSR_NULL) {
		ht_del(t, key);
		return 0;
	}
	if (key.len > UINT32_MAX)
		return -OSP_EINVAL;
	if (val->type == KSR_STR) {
		ns = malloc(val->s.len + 1);
		if (!ns)
			return -OSP_ENOMEM;
		if (val->s.len)
			memcpy(ns, val->s.s, val->s.len);
		ns[val->s.len] = '\0';
	}
	fresh = item_new(key, h);
	if (!fresh) {
		free(ns);
		return -OSP_ENOMEM;
	}
	if (exp_s > 0)
		__atomic_store_n(&t->has_expiring, 1, __ATOMIC_RELAXED);
	ht_slot_lock(s);
	now = ht_now();
	it = slot_find(s, h, key, NULL);
	if (it) {
		/* an expired item not yet collected counts as new */
		int live = ht_item_live(it, now);

		if (exp_s > 0)
			it->expire = now + (uint64_t)exp_s * 1000;
		else if (!live || t->updateexpire)
			it->expire = default_expire(t, now);
	} else {
		it = fresh;
		fresh = NULL;
		it->expire = exp_s > 0 ? now + (uint64_t)exp_s * 1000
				       : default_expire(t, now);
		it->next = s->first;
		s->first = it;
		s->count++;
	}
	old = it->s;
	if (val->type == KSR_STR) {
		it->is_str = 1;
		it->s = ns;
		it->slen = val->s.len;
		it->n = 0;
	} else {
		it->is_str = 0;
		it->s = NULL;
		it->slen = 0;
		it->n = val->n;
	}
	ht_slot_unlock(s);
	free(old);
	free(fresh);
	return 0;
}

/* Copy a live item's value out (under the slot lock). */
static int copy_value(const ht_item_t *it, ksr_xval_t *out, char *buf,
		      size_t cap)
{
	if (!it->is_str) {
		out->type = KSR_INT;
		out->n = it->n;
		out->s = STR_NULL;
		return 1;
	}
	if (it->slen + 1 > cap) {
		out->s.len = it->slen;
		return -OSP_ETOOBIG;
	}
	memcpy(buf, it->s, it->slen + 1);
	out->type = KSR_STR;
	out->n = 0;
	out->s = (str_t){buf, it->slen};
	return 1;
}

int ht_get(ht_table_t *t, str_t key, ksr_xval_t *out, char *buf, size_t cap)
{
	uint32_t h = ht_hash(key.s, key.len);
	ht_slot_t *s = ht_slot_of(t, h);
	ht_item_t *it;
	int rc = 0;

	ht_slot_lock(s);
	it = slot_find(s, h, key, NULL);
	if (it && ht_item_live(it, ht_now()))
		rc = copy_value(it, out, buf, cap);
	ht_slot_unlock(s);
	return rc;
}

int ht_exists(ht_table_t *t, str_t key)
{
	uint32_t h = ht_hash(key.s, key.len);
	ht_slot_t *s = ht_slot_of(t, h);
	ht_item_t *it;
	int rc;

	ht_slot_lock(s);
	it = slot_find(s, h, key, NULL);
	rc = it && ht_item_live(it, ht_now());
	ht_slot_unlock(s);
	return rc;
}

int ht_del(ht_table_t *t, str_t key)
{
	uint32_t h = ht_hash(key.s, key.len);
	ht_slot_t *s = ht_slot_of(t, h);
	ht_item_t *it, **pp = NULL;
	int live = 0;

	ht_slot_lock(s);
	it = slot_find(s, h, key, &pp);
	if (it) {
		live = ht_item_live(it, ht_now());
		*pp = it->next;
		s->count--;
	}
	ht_slot_unlock(s);
	if (it) {
		free(it->s);
		free(it);
	}
	return live;
}

int ht_add(ht_table_t *t, str_t key, long delta, long *res)
{
	uint32_t h = ht_hash(key.s, key.len);
	ht_slot_t *s = ht_slot_of(t, h);
	ht_item_t *it, *fresh = NULL;
	char *old = NULL;
	uint64_t now;
	int rc = 0;

	if (t->has_initval) {
		fresh = item_new(key, h);
		if (!fresh)
			return -OSP_ENOMEM;
	}
	ht_slot_lock(s);
	now = ht_now();
	it = slot_find(s, h, key, NULL);
	if (it && !ht_item_live(it, now)) {
		/* expired: restart from initval, as Kamailio does */
		if (!t->has_initval) {
			rc = -OSP_ENOTFOUND;
			goto out;
		}
		old = it->s;
		it->s = NULL;
		it->slen = 0;
		it->is_str = 0;
		it->n = t->initval;
		it->expire = default_expire(t, now);
	}
	if (it) {
		if (it->is_str) {
			rc = -OSP_EINVAL;
			goto out;
		}
		it->n += delta;
		if (t->updateexpire)
			it->expire = default_expire(t, now);
		*res = it->n;
		goto out;
	}
	if (!fresh) {
		rc = -OSP_ENOTFOUND;
		goto out;
	}
	it = fresh;
	fresh = NULL;
	it->n = t->initval + delta;
	it->expire = default_expire(t, now);
	it->next = s->first;
	s->first = it;
	s->count++;
	*res = it->n;
out:
	ht_slot_unlock(s);
	free(old);
	free(fresh);
	return rc;
}

int ht_set_expire(ht_table_t *t, str_t key, long secs)
{
	uint32_t h = ht_hash(key.s, key.len);
	ht_slot_t *s = ht_slot_of(t, h);
	ht_item_t *it;
	int rc = -OSP_ENOTFOUND;

	if (secs > 0)
		__atomic_store_n(&t->has_expiring, 1, __ATOMIC_RELAXED);
	ht_slot_lock(s);
	it = slot_find(s, h, key, NULL);
	if (it && ht_item_live(it, ht_now())) {
		it->expire = secs > 0 ? ht_now() + (uint64_t)secs * 1000 : 0;
		rc = 0;
	}
	ht_slot_unlock(s);
	return rc;
}

int ht_get_expire(ht_table_t *t, str_t key, long *secs)
{
	uint32_t h = ht_hash(key.s, key.len);
	ht_slot_t *s = ht_slot_of(t, h);
	ht_item_t *it;
	uint64_t now;
	int rc = -OSP_ENOTFOUND;

	*secs = 0;
	ht_slot_lock(s);
	now = ht_now();
	it = slot_find(s, h, key, NULL);
	if (it && ht_item_live(it, now)) {
		/* rounded up: an item with 200 ms left still has "1 s" */
		if (it->expire)
			*secs = (long)((it->expire - now + 999) / 1000);
		rc = 0;
	}
	ht_slot_unlock(s);
	return rc;
}

/* Unlink every item of a locked slot for which drop(it) holds, onto
 * *freelist. */
static int slot_unlink_if(ht_slot_t *s, int (*drop)(ht_item_t *, void *),
			  void *arg, ht_item_t **freelist)
{
	ht_item_t **pp = &s->first;
	int n = 0;

	while (*pp) {
		ht_item_t *it = *pp;

		if (drop(it, arg)) {
			*pp = it->next;
			it->next = *freelist;
			*freelist = it;
			s->count--;
			n++;
		} else {
			pp = &it->next;
		}
	}
	return n;
}

static void free_list(ht_item_t *it)
{
	ht_item_t *nx;

	for (; it; it = nx) {
		nx = it->next;
		free(it->s);
		free(it);
	}
}

static int drop_all(ht_item_t *it, void *arg)
{
	return 1;
}

void ht_reset(ht_table_t *t)
{
	for (unsigned i = 0; i < t->nslots; i++) {
		ht_item_t *fl = NULL;

		ht_slot_lock(&t->slots[i]);
		slot_unlink_if(&t->slots[i], drop_all, NULL, &fl);
		ht_slot_unlock(&t->slots[i]);
		free_list(fl);
	}
}

static int drop_expired(ht_item_t *it, void *arg)
{
	return !ht_item_live(it, *(const uint64_t *)arg);
}

int ht_expire_all(uint64_t now_ms)
{
	int n = 0;

	for (ht_table_t *t = ht_tables; t; t = t->next) {
		if (!t->autoexpire &&
		    !__atomic_load_n(&t->has_expiring, __ATOMIC_RELAXED))
			continue;
		for (unsigned i = 0; i < t->nslots; i++) {
			ht_item_t *fl = NULL;

			ht_slot_lock(&t->slots[i]);
			n += slot_unlink_if(&t->slots[i], drop_expired, &now_ms,
					    &fl);
			ht_slot_unlock(&t->slots[i]);
			free_list(fl);
		}
	}
	return n;
}

int ht_lock_key(ht_table_t *t, str_t key)
{
	ht_slot_lock(ht_slot_of(t, ht_hash(key.s, key.len)));
	return 0;
}

int ht_unlock_key(ht_table_t *t, str_t key)
{
	ht_slot_t *s = ht_slot_of(t, ht_hash(key.s, key.len));

	/* a recursive mutex refuses an unlock by a thread not holding it */
	return pthread_mutex_unlock(&s->lock) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* matching                                                            */

int ht_op_parse(str_t op)
{
	if (str_eq_cstr(op, "eq"))
		return HT_OP_EQ;
	if (str_eq_cstr(op, "ne"))
		return HT_OP_NE;
	if (str_eq_cstr(op, "re"))
		return HT_OP_RE;
	if (str_eq_cstr(op, "sw"))
		return HT_OP_SW;
	return -1;
}

typedef struct matcher {
	int what;
	int op;
	str_t pat;
	regex_t re;
	int has_re;
	uint64_t now;
} matcher_t;

/* Kamailio compiles match expressions as extended, case-insensitive,
 * newline-sensitive regexes; so do we. */
static int matcher_init(matcher_t *m, int what, int op, str_t pat)
{
	char *p;
	int rc;

	memset(m, 0, sizeof(*m));
	m->what = what;
	m->op = op;
	m->pat = pat;
	m->now = ht_now();
	if (op < HT_OP_EQ || op > HT_OP_SW)
		return -OSP_EINVAL;
	if (op != HT_OP_RE)
		return 0;
	p = malloc(pat.len + 1);
	if (!p)
		return -OSP_ENOMEM;
	memcpy(p, pat.s ? pat.s : "", pat.len);
	p[pat.len] = '\0';
	rc = regcomp(&m->re, p, REG_EXTENDED | REG_ICASE | REG_NEWLINE);
	free(p);
	if (rc != 0) {
		LOG_ERR("htable: bad regular expression '%.*s'", STR_FMT(pat));
		return -OSP_EINVAL;
	}
	m->has_re = 1;
	return 0;
}

static void matcher_free(matcher_t *m)
{
	if (m->has_re)
		regfree(&m->re);
}

static int matcher_test(ht_item_t *it, void *arg)
{
	const matcher_t *m = arg;
	const char *s;
	size_t len;

	if (!ht_item_live(it, m->now))
		return 0;
	if (m->what == HT_MATCH_NAME) {
		s = it->key;
		len = it->klen;
	} else {
		if (!it->is_str)
			return 0;
		s = it->s;
		len = it->slen;
	}
	switch (m->op) {
	case HT_OP_EQ:
		return len == m->pat.len && memcmp(s, m->pat.s, len) == 0;
	case HT_OP_NE:
		return !(len == m->pat.len && memcmp(s, m->pat.s, len) == 0);
	case HT_OP_SW:
		return len >= m->pat.len &&
		       memcmp(s, m->pat.s, m->pat.len) == 0;
	case HT_OP_RE: return regexec(&m->re, s, 0, NULL, 0) == 0;
	}
	return 0;
}

int ht_rm_match(ht_table_t *t, int what, int op, str_t pattern)
{
	matcher_t m;
	int rc, n = 0;

	rc = matcher_init(&m, what, op, pattern);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < t->nslots; i++) {
		ht_item_t *fl = NULL;

		ht_slot_lock(&t->slots[i]);
		n += slot_unlink_if(&t->slots[i], matcher_test, &m, &fl);
		ht_slot_unlock(&t->slots[i]);
		free_list(fl);
	}
	matcher_free(&m);
	return n;
}

int ht_match(ht_table_t *t, int what, int op, str_t pattern)
{
	matcher_t m;
	int rc, found = 0;

	rc = matcher_init(&m, what, op, pattern);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < t->nslots && !found; i++) {
		ht_slot_lock(&t->slots[i]);
		for (ht_item_t *it = t->slots[i].first; it && !found;
		     it = it->next)
			found = matcher_test(it, &m);
		ht_slot_unlock(&t->slots[i]);
	}
	matcher_free(&m);
	return found;
}

/* $shtcn/$shtcv expressions: a two-character operator prefix, else the
 * whole text is a regex. "eqN" compares integer values (values only). */
long ht_count_expr(ht_table_t *t, int what, str_t expr)
{
	enum { C_RE, C_END, C_START, C_STREQ, C_INTEQ, C_ALL } kind = C_RE;
	matcher_t m;
	str_t v = expr;
	long ival = 0, cnt = 0;
	uint64_t now = ht_now();

	if (expr.len >= 2) {
		const char *p = expr.s;

		if (p[0] == '~' && p[1] == '~')
			kind = C_RE;
		else if (p[0] == '~' && p[1] == '%')
			kind = C_END;
		else if (p[0] == '%' && p[1] == '~')
			kind = C_START;
		else if (p[0] == '=' && p[1] == '=')
			kind = C_STREQ;
		else if (p[0] == 'e' && p[1] == 'q')
			kind = C_INTEQ;
		else if (p[0] == '*' && p[1] == '*')
			kind = C_ALL;
		else
			goto whole;
		v.s += 2;
		v.len -= 2;
	}
whole:
	if (kind == C_INTEQ) {
		if (what == HT_MATCH_NAME || attr_int(str_trim(v), &ival) < 0)
			return 0;
	}
	if (kind == C_RE && matcher_init(&m, what, HT_OP_RE, v) < 0)
		return 0;
	for (unsigned i = 0; i < t->nslots; i++) {
		ht_slot_lock(&t->slots[i]);
		for (ht_item_t *it = t->slots[i].first; it; it = it->next) {
			const char *s = it->key;
			size_t len = it->klen;

			if (!ht_item_live(it, now))
				continue;
			if (kind == C_ALL) {
				cnt++;
				continue;
			}
			if (kind == C_INTEQ) {
				cnt += !it->is_str && it->n == ival;
				continue;
			}
			if (what == HT_MATCH_VALUE) {
				if (!it->is_str)
					continue;
				s = it->s;
				len = it->slen;
			}
			switch (kind) {
			case C_RE: cnt += matcher_test(it, &m); break;
			case C_END:
				cnt += len >= v.len &&
				       memcmp(s + len - v.len, v.s, v.len) == 0;
				break;
			case C_START:
				cnt +=
				    len >= v.len && memcmp(s, v.s, v.len) == 0;
				break;
			case C_STREQ:
				cnt += len == v.len && memcmp(s, v.s, len) == 0;
				break;
			default: break;
			}
		}
		ht_slot_unlock(&t->slots[i]);
	}
	if (kind == C_RE)
		matcher_free(&m);
	return cnt;
}

/* ------------------------------------------------------------------ */
/* iterators                                                           */

typedef struct ht_snap {
	char *key;
	size_t klen;
	int is_str;
	long n;
	char *s;
	size_t slen;
	int removed;
} ht_snap_t;

typedef struct ht_iter {
	char name[HT_ITER_NAME];
	size_t nlen; /* 0: unused */
	ht_table_t *t;
	unsigned next_slot;
	ht_snap_t *items;
	size_t n, cap;
	size_t pos; /* current item is items[pos - 1]; 0: none */
} ht_iter_t;

/* This thread's iterators, freed when the thread ends. */
static _Thread_local ht_iter_t *tl_iters;

static void snap_clear(ht_iter_t *it)
{
	for (size_t i = 0; i < it->n; i++) {
		free(it->items[i].key);
		free(it->items[i].s);
	}
	it->n = 0;
	it->pos = 0;
}

static void iters_free(void *p)
{
	ht_iter_t *its = p;

	if (!its)
		return;
	for (int i = 0; i < HT_ITER_MAX; i++) {
		snap_clear(&its[i]);
		free(its[i].items);
	}
	free(its);
}

static void iters_release(void *p)
{
	iters_free(p);
	tl_iters = NULL;
}

static ht_iter_t *iters_get(void)
{
	if (!tl_iters) {
		tl_iters = calloc(HT_ITER_MAX, sizeof(*tl_iters));
		if (tl_iters)
			osp_thread_atexit(iters_release, tl_iters);
	}
	return tl_iters;
}

void ht_iter_cleanup(void)
{
	if (!tl_iters)
		return;
	osp_thread_forget(tl_iters);
	iters_release(tl_iters);
}

static ht_iter_t *iter_find(str_t name)
{
	ht_iter_t *its = iters_get();

	if (!its)
		return NULL;
	for (int i = 0; i < HT_ITER_MAX; i++)
		if (its[i].nlen == name.len &&
		    memcmp(its[i].name, name.s, name.len) == 0)
			return &its[i];
	return NULL;
}

int ht_iter_start(str_t iname, ht_table_t *t)
{
	ht_iter_t *its = iters_get(), *it;

	if (!its || !iname.len)
		return -1;
	if (iname.len >= HT_ITER_NAME) {
		LOG_ERR("htable: iterator name too long: '%.*s' (max %d)",
			STR_FMT(iname), HT_ITER_NAME - 1);
		return -1;
	}
	it = iter_find(iname);
	for (int i = 0; !it && i < HT_ITER_MAX; i++)
		if (!its[i].nlen)
			it = &its[i];
	if (!it) {
		LOG_ERR("htable: no iterator available (max %d)", HT_ITER_MAX);
		return -1;
	}
	snap_clear(it);
	memcpy(it->name, iname.s, iname.len);
	it->nlen = iname.len;
	it->t = t;
	it->next_slot = 0;
	return 0;
}

/* Copy the live items of slot i into the iterator. */
static int snap_load(ht_iter_t *it, unsigned i)
{
	ht_slot_t *s = &it->t->slots[i];
	uint64_t now = ht_now();
	int rc = 0;

	ht_slot_lock(s);
	if (s->count > it->cap) {
		ht_snap_t *n = realloc(it->items, s->count * sizeof(*n));

		if (!n) {
			rc = -OSP_ENOMEM;
			goto out;
		}
		it->items = n;
		it->cap = s->count;
	}
	for (ht_item_t *p = s->first; p; p = p->next) {
		ht_snap_t *d = &it->items[it->n];

		if (!ht_item_live(p, now))
			continue;
		memset(d, 0, sizeof(*d));
		d->key = strndup(p->key, p->klen);
		d->klen = p->klen;
		d->is_str = p->is_str;
		d->n = p->n;
		if (p->is_str)
			d->s = strndup(p->s, p->slen);
		d->slen = p->slen;
		if (!d->key || (p->is_str && !d->s)) {
			free(d->key);
			free(d->s);
			rc = -OSP_ENOMEM;
			goto out;
		}
		it->n++;
	}
out:
	ht_slot_unlock(s);
	return rc;
}

int ht_iter_next(str_t iname)
{
	ht_iter_t *it = iter_find(iname);

	if (!it || !it->t)
		return -1;
	if (it->pos && it->pos < it->n) {
		it->pos++;
		return 1;
	}
	snap_clear(it);
	while (it->next_slot < it->t->nslots) {
		if (snap_load(it, it->next_slot++) < 0) {
			snap_clear(it);
			return -1;
		}
		if (it->n) {
			it->pos = 1;
			return 1;
		}
	}
	return 0;
}

int ht_iter_end(str_t iname)
{
	ht_iter_t *it = iter_find(iname);

	if (!it)
		return -1;
	snap_clear(it);
	it->nlen = 0;
	it->t = NULL;
	return 0;
}

static ht_snap_t *iter_cur(str_t iname, ht_iter_t **itp)
{
	ht_iter_t *it = iter_find(iname);

	if (!it || !it->pos || it->pos > it->n ||
	    it->items[it->pos - 1].removed)
		return NULL;
	*itp = it;
	return &it->items[it->pos - 1];
}

int ht_iter_current(str_t iname, str_t *key, ksr_xval_t *val)
{
	ht_iter_t *it;
	ht_snap_t *c = iter_cur(iname, &it);

	if (!c)
		return 0;
	if (key)
		*key = (str_t){c->key, c->klen};
	if (val) {
		val->type = c->is_str ? KSR_STR : KSR_INT;
		val->n = c->n;
		val->s = c->is_str ? (str_t){c->s, c->slen} : STR_NULL;
	}
	return 1;
}

int ht_iter_rm(str_t iname)
{
	ht_iter_t *it;
	ht_snap_t *c = iter_cur(iname, &it);

	if (!c)
		return -1;
	ht_del(it->t, (str_t){c->key, c->klen});
	c->removed = 1;
	return 0;
}

int ht_iter_set(str_t iname, const ksr_xval_t *val)
{
	ht_iter_t *it;
	ht_snap_t *c = iter_cur(iname, &it);
	char *ns = NULL;

	if (!c || val->type == KSR_NULL)
		return -1;
	if (val->type == KSR_STR &&
	    !(ns = strndup(val->s.s ? val->s.s : "", val->s.len)))
		return -1;
	if (ht_set(it->t, (str_t){c->key, c->klen}, val, 0) < 0) {
		free(ns);
		return -1;
	}
	free(c->s);
	c->s = ns;
	c->is_str = val->type == KSR_STR;
	c->slen = c->is_str ? val->s.len : 0;
	c->n = c->is_str ? 0 : val->n;
	return 0;
}

int ht_iter_setex(str_t iname, long secs)
{
	ht_iter_t *it;
	ht_snap_t *c = iter_cur(iname, &it);

	if (!c)
		return -1;
	return ht_set_expire(it->t, (str_t){c->key, c->klen}, secs) < 0 ? -1
									: 0;
}

/* ------------------------------------------------------------------ */
/* bulk replacement (database reload)                                  */

ht_item_t *ht_item_make(str_t key, const ksr_xval_t *v, uint64_t expire)
{
	ht_item_t *it = item_new(key, ht_hash(key.s, key.len));

	if (!it)
		return NULL;
	it->expire = expire;
	if (v->type == KSR_STR) {
		it->is_str = 1;
		it->s = strndup(v->s.s ? v->s.s : "", v->s.len);
		it->slen = v->s.len;
		if (!it->s) {
			free(it);
			return NULL;
		}
	} else {
		it->n = v->n;
	}
	return it;
}

void ht_item_free_list(ht_item_t *it)
{
	free_list(it);
}

/* Replace the table's content with the items of list (linked by next,
 * consumed), one slot at a time: a reader sees either the old or the new
 * content of a slot, never an empty table. */
void ht_replace_all(ht_table_t *t, ht_item_t *list)
{
	ht_item_t **heads = calloc(t->nslots, sizeof(*heads));
	unsigned *counts = calloc(t->nslots, sizeof(*counts));

	if (!heads || !counts) {
		/* no memory for the staging arrays: fall back to a plain
		 * reset and insert (readers may see a partial table) */
		free(heads);
		free(counts);
		ht_reset(t);
		while (list) {
			ht_item_t *it = list;
			ht_slot_t *s = ht_slot_of(t, it->hash);

			list = it->next;
			ht_slot_lock(s);
			it->next = s->first;
			s->first = it;
			s->count++;
			ht_slot_unlock(s);
		}
		return;
	}
	while (list) {
		ht_item_t *it = list;
		unsigned i = it->hash & (t->nslots - 1);

		list = it->next;
		it->next = heads[i];
		heads[i] = it;
		counts[i]++;
	}
	for (unsigned i = 0; i < t->nslots; i++) {
		ht_slot_t *s = &t->slots[i];
		ht_item_t *old;

		ht_slot_lock(s);
		old = s->first;
		s->first = heads[i];
		s->count = counts[i];
		ht_slot_unlock(s);
		free_list(old);
	}
	free(heads);
	free(counts);
}
