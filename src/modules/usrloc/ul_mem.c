/* ul_mem.c - usrloc's in-memory side: domains, the slot hash tables,
 * records and contacts, and the queue of database writes (see ul.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/osp.h"
#include "modules/usrloc/ul_int.h"

static ul_domain_t domains[UL_MAX_DOMAINS];
static int n_domains; /* published with release stores */
static pthread_mutex_t domains_lock = PTHREAD_MUTEX_INITIALIZER;

int ul_n_domains(void)
{
	return __atomic_load_n(&n_domains, __ATOMIC_ACQUIRE);
}

ul_domain_t *ul_domain_at(int i)
{
	return i >= 0 && i < ul_n_domains() ? &domains[i] : NULL;
}

const char *ul_domain_name(const ul_domain_t *d)
{
	return d->name;
}

/* FNV-1a: cheap and spreads short user names well over the slots. */
uint32_t ul_hash(str_t s)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < s.len; i++) {
		h ^= (unsigned char)s.s[i];
		h *= 16777619u;
	}
	return h;
}

/* A table name becomes an SQL identifier: keep it to [A-Za-z0-9_]. */
int ul_name_valid(str_t name)
{
	if (!name.len || name.len >= UL_NAME_MAX)
		return 0;
	for (size_t i = 0; i < name.len; i++) {
		char ch = name.s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_'))
			return 0;
	}
	return !(name.s[0] >= '0' && name.s[0] <= '9');
}

static ul_domain_t *find_domain(str_t name)
{
	int n = ul_n_domains();

	for (int i = 0; i < n; i++)
		if (str_eq_cstr(name, domains[i].name))
			return &domains[i];
	return NULL;
}

/* Set up the next free entry (not yet published). The counters live in
 * the entry and are registered once per entry: the stats registry never
 * forgets a counter, so entries are never freed, only emptied. */
ul_domain_t *ul_domain_new(const char *name)
{
	ul_domain_t *d;
	unsigned size = 1u << ul_hash_bits;

	if (n_domains == UL_MAX_DOMAINS) {
		LOG_ERR("usrloc: too many location tables (max %d)",
			UL_MAX_DOMAINS);
		return NULL;
	}
	d = &domains[n_domains];
	memset(d->name, 0, sizeof(d->name));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->slots = calloc(size, sizeof(*d->slots));
	if (!d->slots)
		return NULL;
	d->size = size;
	for (unsigned i = 0; i < size; i++) {
		pthread_mutex_init(&d->slots[i].lock, NULL);
		pthread_mutex_init(&d->slots[i].wlock, NULL);
	}
	pthread_mutex_init(&d->pend_lock, NULL);
	pthread_mutex_init(&d->maint_lock, NULL);
	d->db_ready = 0;
	d->st_upsert = d->st_delete = NULL;
	d->pend_del = NULL;
	d->n_pend = d->cap_pend = 0;
	snprintf(d->n_users, sizeof(d->n_users), "%s-users", name);
	snprintf(d->n_contacts, sizeof(d->n_contacts), "%s-contacts", name);
	snprintf(d->n_expires, sizeof(d->n_expires), "%s-expires", name);
	d->c_users.group = d->c_contacts.group = d->c_expires.group = "usrloc";
	d->c_users.name = d->n_users;
	d->c_contacts.name = d->n_contacts;
	d->c_expires.name = d->n_expires;
	__atomic_store_n(&d->c_users.value, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&d->c_contacts.value, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&d->c_expires.value, 0, __ATOMIC_RELAXED);
	stats_register(&d->c_users);
	stats_register(&d->c_contacts);
	stats_register(&d->c_expires);
	return d;
}

static void domain_empty(ul_domain_t *d)
{
	for (unsigned i = 0; d->slots && i < d->size; i++) {
		ul_record_t *r, *rn;

		for (r = d->slots[i].first; r; r = rn) {
			ul_contact_t *c, *cn;

			rn = r->next;
			for (c = r->contacts; c; c = cn) {
				cn = c->next;
				free(c);
			}
			free(r);
		}
		pthread_mutex_destroy(&d->slots[i].lock);
		pthread_mutex_destroy(&d->slots[i].wlock);
	}
	free(d->slots);
	d->slots = NULL;
	for (int i = 0; i < d->n_pend; i++)
		free(d->pend_del[i]);
	free(d->pend_del);
	d->pend_del = NULL;
	d->n_pend = d->cap_pend = 0;
	pthread_mutex_destroy(&d->pend_lock);
	pthread_mutex_destroy(&d->maint_lock);
}

void ul_domains_free(void)
{
	pthread_mutex_lock(&domains_lock);
	for (int i = 0; i < n_domains; i++)
		domain_empty(&domains[i]);
	__atomic_store_n(&n_domains, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&ul_registered_users.value, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&domains_lock);
}

/* Find or create (and load) a domain. Creation happens under
 * domains_lock; the entry is published only once it is complete, so the
 * lock-free readers of find_domain() never see half of one. */
ul_domain_t *ul_get_domain(str_t name)
{
	ul_domain_t *d = find_domain(name);
	char cname[UL_NAME_MAX], err[256];

	if (d)
		return d;
	if (!ul_name_valid(name)) {
		LOG_ERR("usrloc: invalid location table name '%.*s'",
			STR_FMT(name));
		return NULL;
	}
	str_to_buf(name, cname, sizeof(cname));
	pthread_mutex_lock(&domains_lock);
	d = find_domain(name);
	if (d)
		goto out;
	d = ul_domain_new(cname);
	if (!d) {
		LOG_ERR("usrloc: cannot create location table %s", cname);
		goto out;
	}
	if (ul_db && (ul_db_open_table(d, err, sizeof(err)) < 0 ||
		      ul_db_preload(d, err, sizeof(err)) < 0)) {
		LOG_ERR("usrloc: %s", err);
		domain_empty(d);
		d = NULL;
		goto out;
	}
	__atomic_store_n(&n_domains, n_domains + 1, __ATOMIC_RELEASE);
	LOG_INFO("usrloc: location table %s ready", cname);
out:
	pthread_mutex_unlock(&domains_lock);
	return d;
}

/* ---------------------------------------------------------------- ids */

/* Lower-case hex of v without leading zeros (printf's %lx) at p; returns
 * the end. A ruid is made for every new binding: no snprintf there. */
static char *put_hex(char *p, unsigned long v)
{
	char tmp[sizeof(v) * 2];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* "uloc-<start time>-<pid>-<counter>", hex: unique across restarts and
 * across processes sharing one database. */
int ul_make_ruid(char *buf, size_t cap)
{
	static time_t start;
	static unsigned pid;
	static unsigned counter;
	unsigned n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
	time_t t = __atomic_load_n(&start, __ATOMIC_ACQUIRE);
	char tmp[64], *p = tmp;
	size_t len;

	if (!t) {
		/* getpid() is a system call in current glibc: once */
		__atomic_store_n(&pid, (unsigned)getpid(), __ATOMIC_RELAXED);
		t = time(NULL);
		__atomic_store_n(&start, t, __ATOMIC_RELEASE);
	}
	memcpy(p, "uloc-", 5);
	p = put_hex(p + 5, (unsigned long)t);
	*p++ = '-';
	p = put_hex(p, __atomic_load_n(&pid, __ATOMIC_RELAXED));
	*p++ = '-';
	p = put_hex(p, n);
	len = (size_t)(p - tmp);
	if (cap) {
		size_t k = len < cap ? len : cap - 1;

		memcpy(buf, tmp, k);
		buf[k] = '\0';
	}
	return (int)len;
}

/* ---------------------------------------------------------------- contacts */

#define PACK_FIELDS(X)                                                         \
	X(c)                                                                   \
	X(received) X(path) X(callid) X(user_agent) X(socket) X(instance)      \
	    X(ruid)

/* One heap block: the struct followed by its strings, NUL-terminated
 * (handy for SQLite and printf, not relied upon by str_t users). */
ul_contact_t *ul_contact_pack(const ul_contact_t *ci)
{
	size_t total = sizeof(ul_contact_t);
	ul_contact_t *c;
	char *p;

#define LEN(f) total += ci->f.len + 1;
	PACK_FIELDS(LEN)
#undef LEN
	c = malloc(total);
	if (!c)
		return NULL;
	*c = *ci;
	c->next = NULL;
	p = (char *)(c + 1);
#define CPY(f)                                                                 \
	if (ci->f.len)                                                         \
		memcpy(p, ci->f.s, ci->f.len);                                 \
	p[ci->f.len] = '\0';                                                   \
	c->f = (str_t){p, ci->f.len};                                          \
	p += ci->f.len + 1;
	PACK_FIELDS(CPY)
#undef CPY
	return c;
}

ul_contact_t *ul_contact_dup(const ul_contact_t *c)
{
	return ul_contact_pack(c);
}

/* Keep the list ordered by q, highest first; a new contact goes after
 * those of equal q (Kamailio's order without desc_time_order). */
void ul_record_link_contact(ul_record_t *r, ul_contact_t *c)
{
	ul_contact_t **pp = &r->contacts;

	while (*pp && (*pp)->q >= c->q)
		pp = &(*pp)->next;
	c->next = *pp;
	*pp = c;
}

void ul_record_unlink_contact(ul_record_t *r, ul_contact_t *c)
{
	for (ul_contact_t **pp = &r->contacts; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			c->next = NULL;
			return;
		}
}

/* ---------------------------------------------------------------- records */

ul_record_t *ul_slot_find(ul_slot_t *s, str_t aor, uint32_t hash)
{
	for (ul_record_t *r = s->first; r; r = r->next)
		if (r->hash == hash && str_eq(r->aor, aor))
			return r;
	return NULL;
}

ul_record_t *ul_record_new(ul_slot_t *s, str_t aor, uint32_t hash)
{
	ul_record_t *r = calloc(1, sizeof(*r) + aor.len + 1);
	char *p;

	if (!r)
		return NULL;
	p = (char *)(r + 1);
	memcpy(p, aor.s, aor.len);
	p[aor.len] = '\0';
	r->aor = (str_t){p, aor.len};
	r->hash = hash;
	r->next = s->first;
	s->first = r;
	s->n++;
	return r;
}

/* Unlink and free a record and its contacts (no database work). */
void ul_record_unlink(ul_domain_t *d, ul_slot_t *s, ul_record_t *r)
{
	ul_contact_t *c, *cn;

	for (ul_record_t **pp = &s->first; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			s->n--;
			break;
		}
	for (c = r->contacts; c; c = cn) {
		cn = c->next;
		stats_dec(&d->c_contacts);
		free(c);
	}
	stats_dec(&d->c_users);
	stats_dec(&ul_registered_users);
	free(r);
}

/* ---------------------------------------------------------------- locking */

void ul_lock(ul_domain_t *d, str_t aor, ul_handle_t *h)
{
	memset(h, 0, sizeof(*h));
	h->d = d;
	h->aor = aor;
	h->hash = ul_hash(aor);
	h->slot = h->hash & (d->size - 1);
	pthread_mutex_lock(&d->slots[h->slot].lock);
}

int ul_unlock(ul_handle_t *h)
{
	ul_slot_t *s = &h->d->slots[h->slot];
	ul_dbop_t *ops = h->ops;
	int rc = 0, n = h->n_ops;

	if (!n) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	/* hand over hand: later changes of this slot queue behind us */
	pthread_mutex_lock(&s->wlock);
	pthread_mutex_unlock(&s->lock);
	if (ul_db_write(h->d, ops, n) < 0)
		rc = -1;
	pthread_mutex_unlock(&s->wlock);
	if (rc < 0)
		ul_requeue(h->d, ops, n);
	ul_ops_free(ops, n);
	h->ops = NULL;
	h->n_ops = h->cap_ops = 0;
	return rc;
}

ul_record_t *ul_get_record(ul_handle_t *h)
{
	return ul_slot_find(&h->d->slots[h->slot], h->aor, h->hash);
}

ul_record_t *ul_get_or_insert_record(ul_handle_t *h)
{
	ul_slot_t *s = &h->d->slots[h->slot];
	ul_record_t *r = ul_slot_find(s, h->aor, h->hash);

	if (r)
		return r;
	r = ul_record_new(s, h->aor, h->hash);
	if (r) {
		stats_inc(&h->d->c_users);
		stats_inc(&ul_registered_users);
	}
	return r;
}

void ul_release_record(ul_handle_t *h, ul_record_t *r)
{
	if (r && !r->contacts)
		ul_record_unlink(h->d, &h->d->slots[h->slot], r);
}

int ul_delete_record(ul_handle_t *h)
{
	ul_record_t *r = ul_get_record(h);

	if (!r)
		return -OSP_ENOTFOUND;
	while (r->contacts)
		ul_delete_contact(h, r, r->contacts);
	ul_release_record(h, r);
	return 0;
}

/* ---------------------------------------------------------------- writes */

int ul_ops_add(ul_dbop_t **ops, int *n, int *cap, int del,
	       const ul_contact_t *c, str_t aor)
{
	ul_dbop_t *op;

	if (*n == *cap) {
		int ncap = *cap ? *cap * 2 : 4;
		ul_dbop_t *grown = realloc(*ops, (size_t)ncap * sizeof(**ops));

		if (!grown)
			return -OSP_ENOMEM;
		*ops = grown;
		*cap = ncap;
	}
	op = &(*ops)[*n];
	op->del = del;
	op->c = ul_contact_dup(c);
	op->aor = malloc(aor.len + 1);
	if (!op->c || !op->aor) {
		free(op->c);
		free(op->aor);
		return -OSP_ENOMEM;
	}
	if (aor.len)
		memcpy(op->aor, aor.s, aor.len);
	op->aor[aor.len] = '\0';
	(*n)++;
	return 0;
}

void ul_ops_free(ul_dbop_t *ops, int n)
{
	for (int i = 0; i < n; i++) {
		free(ops[i].c);
		free(ops[i].aor);
	}
	free(ops);
}

void ul_pending_delete(ul_domain_t *d, str_t ruid)
{
	char *copy = malloc(ruid.len + 1);

	if (!copy) {
		LOG_ERR("usrloc: out of memory: binding %.*s stays in the "
			"database",
			STR_FMT(ruid));
		return;
	}
	memcpy(copy, ruid.s, ruid.len);
	copy[ruid.len] = '\0';
	pthread_mutex_lock(&d->pend_lock);
	if (d->n_pend == d->cap_pend) {
		int cap = d->cap_pend ? d->cap_pend * 2 : 16;
		char **n = realloc(d->pend_del, (size_t)cap * sizeof(*n));

		if (!n) {
			pthread_mutex_unlock(&d->pend_lock);
			free(copy);
			LOG_ERR("usrloc: out of memory: binding %.*s stays in "
				"the database",
				STR_FMT(ruid));
			return;
		}
		d->pend_del = n;
		d->cap_pend = cap;
	}
	d->pend_del[d->n_pend++] = copy;
	pthread_mutex_unlock(&d->pend_lock);
}

/* Mark a contact (found again by aor and ruid) as not yet written. */
static void mark_dirty(ul_domain_t *d, str_t aor, str_t ruid)
{
	ul_handle_t h;
	ul_record_t *r;

	ul_lock(d, aor, &h);
	r = ul_get_record(&h);
	for (ul_contact_t *c = r ? r->contacts : NULL; c; c = c->next)
		if (str_eq(c->ruid, ruid)) {
			c->state = UL_CS_DIRTY;
			break;
		}
	pthread_mutex_unlock(&d->slots[h.slot].lock);
}

void ul_requeue(ul_domain_t *d, ul_dbop_t *ops, int n)
{
	for (int i = 0; i < n; i++) {
		if (ops[i].del)
			ul_pending_delete(d, ops[i].c->ruid);
		else
			mark_dirty(d, str_from(ops[i].aor), ops[i].c->ruid);
	}
	LOG_WARN("usrloc: %d database write(s) for table %s failed; retried "
		 "by the timer",
		 n, d->name);
}

/* Record that contact c of r changed (del: was removed) for the
 * database: queue the write (write-through) or mark it (write-back). */
static void persist(ul_handle_t *h, ul_record_t *r, ul_contact_t *c, int del)
{
	if (!ul_db || (c->flags & UL_FL_MEM))
		return;
	if (ul_db_mode == UL_WRITE_THROUGH) {
		if (ul_ops_add(&h->ops, &h->n_ops, &h->cap_ops, del, c,
			       r->aor) == 0) {
			if (!del)
				c->state = UL_CS_SYNC;
			return;
		}
		/* no memory for the queue: leave it to the timer */
		if (del)
			ul_pending_delete(h->d, c->ruid);
		else
			c->state = UL_CS_DIRTY;
		return;
	}
	if (del) {
		if (c->state != UL_CS_NEW)
			ul_pending_delete(h->d, c->ruid);
	} else if (c->state == UL_CS_SYNC) {
		c->state = UL_CS_DIRTY;
	}
}

int ul_insert_contact(ul_handle_t *h, ul_record_t *r, const ul_contact_t *ci,
		      ul_contact_t **out)
{
	ul_contact_t tmp = *ci, *c;
	char ruid[64];

	if (!tmp.ruid.len) {
		int n = ul_make_ruid(ruid, sizeof(ruid));

		tmp.ruid = (str_t){ruid, (size_t)n};
	}
	c = ul_contact_pack(&tmp);
	if (!c)
		return -OSP_ENOMEM;
	c->state = UL_CS_NEW;
	ul_record_link_contact(r, c);
	stats_inc(&h->d->c_contacts);
	persist(h, r, c, 0);
	if (out)
		*out = c;
	return 0;
}

int ul_update_contact(ul_handle_t *h, ul_record_t *r, ul_contact_t *c,
		      const ul_contact_t *ci, ul_contact_t **out)
{
	ul_contact_t tmp = *ci, *n;

	tmp.ruid = c->ruid;
	n = ul_contact_pack(&tmp);
	if (!n)
		return -OSP_ENOMEM;
	n->state = c->state;
	if (n->q == c->q) {
		/* same place in the list */
		for (ul_contact_t **pp = &r->contacts; *pp; pp = &(*pp)->next)
			if (*pp == c) {
				n->next = c->next;
				*pp = n;
				break;
			}
	} else {
		ul_record_unlink_contact(r, c);
		ul_record_link_contact(r, n);
	}
	free(c);
	persist(h, r, n, 0);
	if (out)
		*out = n;
	return 0;
}

void ul_delete_contact(ul_handle_t *h, ul_record_t *r, ul_contact_t *c)
{
	ul_record_unlink_contact(r, c);
	stats_dec(&h->d->c_contacts);
	persist(h, r, c, 1);
	free(c);
}

ul_contact_t *ul_find_contact(ul_record_t *r, str_t uri)
{
	for (ul_contact_t *c = r ? r->contacts : NULL; c; c = c->next)
		if (str_eq(c->c, uri))
			return c;
	return NULL;
}

/* Instances compare without their <> (RFC 5626 §6: "<urn:uuid:...>"
 * written with or without quotes and brackets). */
static str_t bare_instance(str_t s)
{
	if (s.len >= 2 && s.s[0] == '"' && s.s[s.len - 1] == '"') {
		s.s++;
		s.len -= 2;
	}
	if (s.len >= 2 && s.s[0] == '<' && s.s[s.len - 1] == '>') {
		s.s++;
		s.len -= 2;
	}
	return s;
}

ul_contact_t *ul_find_instance(ul_record_t *r, str_t instance, unsigned reg_id)
{
	str_t want = bare_instance(instance);

	if (!want.len)
		return NULL;
	for (ul_contact_t *c = r ? r->contacts : NULL; c; c = c->next)
		if (c->reg_id == reg_id &&
		    str_eq(bare_instance(c->instance), want))
			return c;
	return NULL;
}

ul_contact_t *ul_find_ruid(ul_domain_t *d, str_t ruid, ul_handle_t *h,
			   ul_record_t **rec)
{
	for (unsigned i = 0; i < d->size; i++) {
		ul_slot_t *s = &d->slots[i];

		pthread_mutex_lock(&s->lock);
		for (ul_record_t *r = s->first; r; r = r->next)
			for (ul_contact_t *c = r->contacts; c; c = c->next) {
				if (!str_eq(c->ruid, ruid))
					continue;
				memset(h, 0, sizeof(*h));
				h->d = d;
				h->slot = i;
				h->aor = r->aor;
				h->hash = r->hash;
				*rec = r;
				return c;
			}
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

int ul_load_contact(ul_domain_t *d, str_t aor, const ul_contact_t *ci)
{
	ul_handle_t h;
	ul_record_t *r;
	ul_contact_t *c;
	int rc = -1;

	ul_lock(d, aor, &h);
	r = ul_get_or_insert_record(&h);
	if (!r)
		goto out;
	c = ul_contact_pack(ci);
	if (!c) {
		ul_release_record(&h, r);
		goto out;
	}
	c->state = UL_CS_SYNC;
	ul_record_link_contact(r, c);
	stats_inc(&d->c_contacts);
	rc = 0;
out:
	pthread_mutex_unlock(&d->slots[h.slot].lock);
	return rc;
}
