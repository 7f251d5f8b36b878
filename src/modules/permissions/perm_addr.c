/* perm_addr.c - building, swapping and searching the address set (see
 * perm.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/osp.h"
#include "db/db.h"
#include "perm.h"

static perm_set_t *cur;
static pthread_rwlock_t cur_lock;
static pthread_once_t cur_once = PTHREAD_ONCE_INIT;

/* Writer-preferring: workers look addresses up all the time, and a reload
 * must not wait behind an endless stream of readers. */
static void cur_lock_init(void)
{
	pthread_rwlockattr_t a;

	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(
	    &a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&cur_lock, &a);
	pthread_rwlockattr_destroy(&a);
}

static void rdlock(void)
{
	pthread_once(&cur_once, cur_lock_init);
	pthread_rwlock_rdlock(&cur_lock);
}

/* A set under construction: growable arrays. */
typedef struct builder {
	perm_entry_t *v[3];
	size_t n[3], cap[3];
	int max_subnets;
} builder_t;

enum { B_ADDR, B_SUBNET, B_DOMAIN };

static void entry_free(perm_entry_t *e)
{
	free(e->host);
	free(e->tag);
}

static void builder_free(builder_t *b)
{
	for (int k = 0; k < 3; k++) {
		for (size_t i = 0; i < b->n[k]; i++)
			entry_free(&b->v[k][i]);
		free(b->v[k]);
	}
}

void perm_set_free(perm_set_t *s)
{
	builder_t b;

	if (!s)
		return;
	b = (builder_t){{s->addrs, s->subnets, s->domains},
			{s->naddrs, s->nsubnets, s->ndomains},
			{0, 0, 0},
			0};
	builder_free(&b);
	free(s);
}

int perm_parse_ip(str_t s, uint8_t ip[16])
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (s.len >= 2 && s.s[0] == '[' && s.s[s.len - 1] == ']') {
		s.s++;
		s.len -= 2;
	}
	if (!s.len || s.len >= sizeof(buf))
		return 0;
	memcpy(buf, s.s, s.len);
	buf[s.len] = '\0';
	memset(ip, 0, 16);
	if (inet_pton(AF_INET, buf, ip) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, buf, ip) == 1)
		return AF_INET6;
	return 0;
}

static void apply_mask(uint8_t ip[16], int bits, int len)
{
	for (int i = 0; i < len; i++) {
		int keep = bits - i * 8;

		if (keep >= 8)
			continue;
		ip[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
}

/* Add one record. mask < 0: not given. 0, or -1 with err. */
static int builder_add(builder_t *b, int id, long grp, str_t addr, long mask,
		       long port, str_t tag, const char *where, char *err,
		       size_t errlen)
{
	perm_entry_t e;
	int kind, full;

	memset(&e, 0, sizeof(e));
	e.id = id;
	if (grp < 0 || grp > 0x7fffffff) {
		snprintf(err, errlen, "%s: bad group %ld", where, grp);
		return -1;
	}
	if (port < 0 || port > 65535) {
		snprintf(err, errlen, "%s: bad port %ld", where, port);
		return -1;
	}
	e.grp = (int)grp;
	e.port = (int)port;
	e.family = perm_parse_ip(addr, e.ip);
	if (e.family) {
		full = e.family == AF_INET ? 32 : 128;
		/* Kamailio: no mask, or 0, means the whole address */
		if (mask <= 0)
			mask = full;
		if (mask > full) {
			snprintf(err, errlen, "%s: bad netmask %ld for %.*s",
				 where, mask, STR_FMT(addr));
			return -1;
		}
		e.mask = (int)mask;
		apply_mask(e.ip, e.mask, full / 8);
		kind = e.mask == full ? B_ADDR : B_SUBNET;
	} else {
		if (!addr.len) {
			snprintf(err, errlen, "%s: empty address", where);
			return -1;
		}
		e.host = strndup(addr.s, addr.len);
		if (!e.host)
			goto nomem;
		kind = B_DOMAIN;
	}
	if (tag.len && !(e.tag = strndup(tag.s, tag.len)))
		goto nomem;
	if (kind == B_SUBNET && b->max_subnets > 0 &&
	    b->n[B_SUBNET] >= (size_t)b->max_subnets) {
		snprintf(err, errlen, "%s: more than %d subnets (max_subnets)",
			 where, b->max_subnets);
		entry_free(&e);
		return -1;
	}
	if (b->n[kind] == b->cap[kind]) {
		size_t nc = b->cap[kind] ? b->cap[kind] * 2 : 16;
		perm_entry_t *nv = realloc(b->v[kind], nc * sizeof(*nv));

		if (!nv)
			goto nomem;
		b->v[kind] = nv;
		b->cap[kind] = nc;
	}
	b->v[kind][b->n[kind]++] = e;
	return 0;
nomem:
	entry_free(&e);
	snprintf(err, errlen, "out of memory");
	return -1;
}

static int cmp_addr(const void *pa, const void *pb)
{
	const perm_entry_t *a = pa, *b = pb;
	int c;

	if (a->family != b->family)
		return a->family - b->family;
	c = memcmp(a->ip, b->ip, 16);
	if (c)
		return c;
	if (a->grp != b->grp)
		return a->grp < b->grp ? -1 : 1;
	return a->id - b->id;
}

static int cmp_grp(const void *pa, const void *pb)
{
	const perm_entry_t *a = pa, *b = pb;

	if (a->grp != b->grp)
		return a->grp < b->grp ? -1 : 1;
	return a->id - b->id;
}

static perm_set_t *builder_finish(builder_t *b, char *err, size_t errlen)
{
	perm_set_t *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		builder_free(b);
		return NULL;
	}
	if (b->n[B_ADDR])
		qsort(b->v[B_ADDR], b->n[B_ADDR], sizeof(perm_entry_t),
		      cmp_addr);
	if (b->n[B_SUBNET])
		qsort(b->v[B_SUBNET], b->n[B_SUBNET], sizeof(perm_entry_t),
		      cmp_grp);
	if (b->n[B_DOMAIN])
		qsort(b->v[B_DOMAIN], b->n[B_DOMAIN], sizeof(perm_entry_t),
		      cmp_grp);
	s->addrs = b->v[B_ADDR];
	s->naddrs = b->n[B_ADDR];
	s->subnets = b->v[B_SUBNET];
	s->nsubnets = b->n[B_SUBNET];
	s->domains = b->v[B_DOMAIN];
	s->ndomains = b->n[B_DOMAIN];
	return s;
}

static int parse_long(str_t s, long *out)
{
	char buf[24], *end;

	if (!s.len || s.len >= sizeof(buf))
		return -1;
	memcpy(buf, s.s, s.len);
	buf[s.len] = '\0';
	errno = 0;
	*out = strtol(buf, &end, 10);
	return errno || *end ? -1 : 0;
}

/* Next whitespace-separated token of *line. */
static str_t next_token(str_t *line)
{
	size_t i = 0, j;

	while (i < line->len && isspace((unsigned char)line->s[i]))
		i++;
	j = i;
	while (j < line->len && !isspace((unsigned char)line->s[j]))
		j++;
	line->s += j;
	line->len -= j;
	return (str_t){line->s - (j - i), j - i};
}

/* The address file format of Kamailio: one record per line,
 * "group address [netmask [port [tag]]]", '#' starts a comment. */
perm_set_t *perm_parse_text(const char *text, const char *what, char *err,
			    size_t errlen)
{
	builder_t b;
	const char *p = text;
	int lineno = 0;

	memset(&b, 0, sizeof(b));
	b.max_subnets = 0;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		const char *hash = memchr(p, '#', l);
		str_t line = {p, hash ? (size_t)(hash - p) : l};
		str_t tok[6];
		int nt = 0;
		long grp, mask = -1, port = 0;
		char where[300];

		lineno++;
		p = nl ? nl + 1 : p + l;
		while (nt < 6 && (tok[nt] = next_token(&line)).len)
			nt++;
		if (nt == 0)
			continue;
		snprintf(where, sizeof(where), "%s:%d", what, lineno);
		if (nt < 2 || nt > 5) {
			snprintf(err, errlen,
				 "%s: expected 'group address [netmask [port "
				 "[tag]]]'",
				 where);
			goto error;
		}
		if (parse_long(tok[0], &grp) < 0 ||
		    (nt > 2 && parse_long(tok[2], &mask) < 0) ||
		    (nt > 3 && parse_long(tok[3], &port) < 0)) {
			snprintf(err, errlen,
				 "%s: group, netmask and port "
				 "must be numbers",
				 where);
			goto error;
		}
		if (builder_add(&b, lineno, grp, tok[1], mask, port,
				nt > 4 ? tok[4] : STR_NULL, where, err,
				errlen) < 0)
			goto error;
	}
	return builder_finish(&b, err, errlen);
error:
	builder_free(&b);
	return NULL;
}

static perm_set_t *load_file(const perm_source_t *src, char *err, size_t errlen)
{
	FILE *f = fopen(src->file, "r");
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	char chunk[4096];
	perm_set_t *s = NULL;

	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", src->file,
			 strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + n + 1 > cap) {
			size_t nc = (len + n + 1) * 2;
			char *nt = realloc(text, nc);

			if (!nt) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			text = nt;
			cap = nc;
		}
		memcpy(text + len, chunk, n);
		len += n;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read %s", src->file);
		goto out;
	}
	if (text)
		text[len] = '\0';
	if (text && memchr(text, '\0', len)) {
		snprintf(err, errlen, "%s: not a text file", src->file);
		goto out;
	}
	s = perm_parse_text(text ? text : "", src->file, err, errlen);
	if (s && src->max_subnets > 0 &&
	    s->nsubnets > (size_t)src->max_subnets) {
		snprintf(err, errlen, "%s: more than %d subnets (max_subnets)",
			 src->file, src->max_subnets);
		perm_set_free(s);
		s = NULL;
	}
out:
	fclose(f);
	free(text);
	return s;
}

static int ident_ok(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

static perm_set_t *load_db(const perm_source_t *src, char *err, size_t errlen)
{
	const char *names[] = {src->table,    src->grp_col,  src->ip_col,
			       src->mask_col, src->port_col, src->tag_col};
	char sql[512];
	osp_db_t *db;
	sqlite3 *h;
	sqlite3_stmt *st = NULL;
	builder_t b;
	perm_set_t *s = NULL;
	int step = SQLITE_DONE, bad = 0;

	for (size_t i = 0; i < OSP_ARRAY_LEN(names); i++)
		if (!ident_ok(names[i])) {
			snprintf(err, errlen, "bad table or column name '%s'",
				 names[i] ? names[i] : "");
			return NULL;
		}
	memset(&b, 0, sizeof(b));
	b.max_subnets = src->max_subnets;
	db = osp_db_open(src->db_url, err, errlen);
	if (!db)
		return NULL;
	/* Kamailio's schema (table version 6), created on first use */
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE %s (id INTEGER PRIMARY KEY AUTOINCREMENT, "
		 "%s INTEGER DEFAULT 1 NOT NULL, %s VARCHAR(50) NOT NULL, "
		 "%s INTEGER DEFAULT 32 NOT NULL, "
		 "%s SMALLINT DEFAULT 0 NOT NULL, %s VARCHAR(64) DEFAULT NULL)",
		 src->table, src->grp_col, src->ip_col, src->mask_col,
		 src->port_col, src->tag_col);
	if (osp_db_ensure_table(db, src->table, 6, sql, err, errlen) < 0)
		goto out;
	snprintf(sql, sizeof(sql), "SELECT rowid, %s, %s, %s, %s, %s FROM %s",
		 src->grp_col, src->ip_col, src->mask_col, src->port_col,
		 src->tag_col, src->table);
	h = osp_db_lock(db);
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", src->table, sqlite3_errmsg(h));
		osp_db_unlock(db);
		goto out;
	}
	while (!bad && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *ip = (const char *)sqlite3_column_text(st, 2);
		const char *tag = (const char *)sqlite3_column_text(st, 5);
		int id = sqlite3_column_int(st, 0);
		char where[64];

		snprintf(where, sizeof(where), "%s row %d", src->table, id);
		bad = builder_add(&b, id, sqlite3_column_int64(st, 1),
				  str_trim(str_from(ip ? ip : "")),
				  sqlite3_column_type(st, 3) == SQLITE_NULL
				      ? -1
				      : sqlite3_column_int64(st, 3),
				  sqlite3_column_int64(st, 4),
				  str_from(tag ? tag : ""), where, err,
				  errlen) < 0;
	}
	if (!bad && step != SQLITE_DONE) {
		snprintf(err, errlen, "%s: %s", src->table, sqlite3_errmsg(h));
		bad = 1;
	}
	sqlite3_finalize(st);
	osp_db_unlock(db);
	if (!bad) {
		/* builder_finish owns the arrays from here, even on failure */
		s = builder_finish(&b, err, errlen);
		memset(&b, 0, sizeof(b));
	}
out:
	builder_free(&b);
	osp_db_close(db);
	return s;
}

perm_set_t *perm_load(const perm_source_t *src, char *err, size_t errlen)
{
	if (src->file)
		return load_file(src, err, errlen);
	if (!src->db_url) {
		snprintf(err, errlen, "no address_file and no db_url");
		return NULL;
	}
	return load_db(src, err, errlen);
}

void perm_install(perm_set_t *s)
{
	perm_set_t *old;

	pthread_once(&cur_once, cur_lock_init);
	pthread_rwlock_wrlock(&cur_lock);
	old = cur;
	cur = s;
	pthread_rwlock_unlock(&cur_lock);
	/* no reader can hold old any more: they all hold the read lock */
	perm_set_free(old);
}

void perm_destroy(void)
{
	perm_install(NULL);
}

void perm_with_set(void (*fn)(const perm_set_t *s, void *arg), void *arg)
{
	rdlock();
	fn(cur, arg);
	pthread_rwlock_unlock(&cur_lock);
}

static int port_ok(const perm_entry_t *e, int port)
{
	return e->port == 0 || e->port == port;
}

static int grp_ok(const perm_entry_t *e, int grp)
{
	return grp < 0 || e->grp == grp;
}

static int in_subnet(const perm_entry_t *e, int family, const uint8_t *ip)
{
	int full = e->mask / 8, rest = e->mask % 8;

	if (e->family != family)
		return 0;
	if (memcmp(e->ip, ip, (size_t)full) != 0)
		return 0;
	return rest == 0 ||
	       (ip[full] & (uint8_t)(0xff << (8 - rest))) == e->ip[full];
}

/* First entry of the sorted exact table with this address. */
static size_t addr_lower(const perm_set_t *s, int family, const uint8_t *ip)
{
	size_t lo = 0, hi = s->naddrs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const perm_entry_t *e = &s->addrs[mid];
		int c = e->family != family ? e->family - family
					    : memcmp(e->ip, ip, 16);

		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const perm_entry_t *find(const perm_set_t *s, int grp, int family,
				const uint8_t *ip, str_t host, int port)
{
	if (!s)
		return NULL;
	if (family) {
		uint8_t key[16] = {0};

		memcpy(key, ip, family == AF_INET ? 4 : 16);
		for (size_t i = addr_lower(s, family, key); i < s->naddrs;
		     i++) {
			const perm_entry_t *e = &s->addrs[i];

			if (e->family != family || memcmp(e->ip, key, 16) != 0)
				break;
			if (grp_ok(e, grp) && port_ok(e, port))
				return e;
		}
		for (size_t i = 0; i < s->nsubnets; i++) {
			const perm_entry_t *e = &s->subnets[i];

			if (grp_ok(e, grp) && port_ok(e, port) &&
			    in_subnet(e, family, key))
				return e;
		}
		return NULL;
	}
	for (size_t i = 0; i < s->ndomains; i++) {
		const perm_entry_t *e = &s->domains[i];

		if (grp_ok(e, grp) && port_ok(e, port) &&
		    str_caseeq_cstr(host, e->host))
			return e;
	}
	return NULL;
}

int perm_match(int grp, int family, const uint8_t *ip, str_t host, int port,
	       char *tag, size_t tagcap)
{
	const perm_entry_t *e;
	int rc = -1;

	rdlock();
	e = find(cur, grp, family, ip, host, port);
	if (e) {
		rc = e->grp;
		if (tag && tagcap)
			snprintf(tag, tagcap, "%s", e->tag ? e->tag : "");
	}
	pthread_rwlock_unlock(&cur_lock);
	return rc;
}
