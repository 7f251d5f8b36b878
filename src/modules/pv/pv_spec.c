/* pv_spec.c - parsing of variable names and formats, evaluation, the
 * class registry and the per-thread caches (see pv.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/thread_obj.h"
#include "modules/pv/pv_int.h"

/* ------------------------------------------------------------------ */
/* errors                                                              */

static void fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* per-thread state                                                    */

static _Thread_local pv_tls_t *tls; /* freed when the thread ends */

static uint32_t hash_str(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return h;
}

static void spec_free_obj(void *o)
{
	pv_spec_free(o);
}

static void fmt_free_obj(void *o)
{
	pv_fmt_free(o);
}

static int cache_init(pv_cache_t *c, size_t max, void (*free_obj)(void *))
{
	memset(c, 0, sizeof(*c));
	c->ring = calloc(max, sizeof(*c->ring));
	if (!c->ring)
		return -OSP_ENOMEM;
	c->max = max;
	c->free_obj = free_obj;
	return 0;
}

static void cache_ent_free(pv_cache_t *c, pv_cache_ent_t *e)
{
	c->free_obj(e->obj);
	free(e->key);
	free(e);
}

static void cache_destroy(pv_cache_t *c)
{
	if (!c->ring)
		return;
	for (size_t i = 0; i < c->max; i++)
		if (c->ring[i])
			cache_ent_free(c, c->ring[i]);
	free(c->ring);
	memset(c, 0, sizeof(*c));
}

static void *cache_find(pv_cache_t *c, str_t key, uint32_t h)
{
	for (pv_cache_ent_t *e = c->buckets[h % PV_CACHE_BUCKETS]; e;
	     e = e->next)
		if (e->hash == h && e->klen == key.len &&
		    memcmp(e->key, key.s, key.len) == 0)
			return e->obj;
	return NULL;
}

/* Insert obj under key; when the cache is full the oldest entry goes (FIFO:
 * cheap, and good enough since scripts use a small set of fixed names; the
 * bound only matters for names built at run time). On allocation failure
 * the object is freed and -OSP_ENOMEM returned. */
static int cache_add(pv_cache_t *c, str_t key, uint32_t h, void *obj)
{
	pv_cache_ent_t *e, *old, **pp;

	e = malloc(sizeof(*e));
	if (e)
		e->key = malloc(key.len + 1);
	if (!e || !e->key) {
		free(e);
		c->free_obj(obj);
		return -OSP_ENOMEM;
	}
	memcpy(e->key, key.s, key.len);
	e->key[key.len] = '\0';
	e->klen = key.len;
	e->hash = h;
	e->obj = obj;
	old = c->ring[c->pos];
	if (old) {
		for (pp = &c->buckets[old->hash % PV_CACHE_BUCKETS]; *pp;
		     pp = &(*pp)->next)
			if (*pp == old) {
				*pp = old->next;
				break;
			}
		cache_ent_free(c, old);
		c->count--;
	}
	c->ring[c->pos] = e;
	c->pos = (c->pos + 1) % c->max;
	e->next = c->buckets[h % PV_CACHE_BUCKETS];
	c->buckets[h % PV_CACHE_BUCKETS] = e;
	c->count++;
	return 0;
}

static void tls_free(pv_tls_t *t)
{
	if (!t)
		return;
	cache_destroy(&t->spec_cache);
	cache_destroy(&t->fmt_cache);
	pv_vars_tls_free(t);
	pv_trans_thread_cleanup();
	free(t);
}

static void tls_destructor(void *p)
{
	tls_free(p);
	tls = NULL;
}

pv_tls_t *pv_tls(void)
{
	pv_tls_t *t;

	if (tls)
		return tls;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (cache_init(&t->spec_cache, PV_SPEC_CACHE_MAX, spec_free_obj) ||
	    cache_init(&t->fmt_cache, PV_FMT_CACHE_MAX, fmt_free_obj)) {
		tls_free(t);
		return NULL;
	}
	osp_thread_atexit(tls_destructor, t);
	tls = t;
	return t;
}

void pv_thread_cleanup(void)
{
	if (!tls)
		return;
	osp_thread_forget(tls);
	tls_destructor(tls);
}

char *pv_scratch(ksr_ctx_t *ctx, size_t len)
{
	pv_tls_t *t;

	if (len + 1 <= PV_RING_SIZE && (t = pv_tls())) {
		char *p = t->ring[t->ring_idx];

		t->ring_idx = (t->ring_idx + 1) % PV_RING_SLOTS;
		return p;
	}
	if (ctx && ctx->msg && ctx->msg->arena)
		return arena_alloc(ctx->msg->arena, len + 1);
	return NULL;
}

str_t pv_int_to_str(ksr_ctx_t *ctx, long v)
{
	char *p = pv_scratch(ctx, 24);
	int n;

	if (!p)
		return STR_NULL;
	n = snprintf(p, 24, "%ld", v);
	return (str_t){p, (size_t)n};
}

int pv_parse_long(str_t s, long *out)
{
	size_t i = 0;
	int neg = 0;
	long v = 0;

	if (s.len && (s.s[0] == '-' || s.s[0] == '+')) {
		neg = s.s[0] == '-';
		i = 1;
	}
	if (i == s.len || s.len - i > 18)
		return -1;
	for (; i < s.len; i++) {
		if (s.s[i] < '0' || s.s[i] > '9')
			return -1;
		v = v * 10 + (s.s[i] - '0');
	}
	*out = neg ? -v : v;
	return 0;
}

long pv_value_int(const ksr_xval_t *v)
{
	long n = 0;

	if (!v || v->type == KSR_NULL)
		return 0;
	if (v->type == KSR_INT || v->n != 0)
		return v->n;
	if (pv_parse_long(v->s, &n) < 0)
		return 0;
	return n;
}

/* ------------------------------------------------------------------ */
/* class registry                                                      */

#define PV_MAX_TABLES 32
static const pv_class_t *ext_tables[PV_MAX_TABLES];
static int n_ext_tables;

int pv_register_classes(const pv_class_t *table)
{
	if (!table)
		return -1;
	for (int i = 0; i < n_ext_tables; i++)
		if (ext_tables[i] == table)
			return 0;
	if (n_ext_tables == PV_MAX_TABLES) {
		LOG_ERR("too many pseudo-variable tables");
		return -1;
	}
	ext_tables[n_ext_tables++] = table;
	return 0;
}

static const pv_class_t *table_find(const pv_class_t *t, str_t name)
{
	for (; t->name; t++)
		if (str_eq_cstr(name, t->name))
			return t;
	return NULL;
}

/* Registered tables first, newest first, so a module can replace a
 * built-in class (tm's $T_branch_idx); then the built-ins. */
static const pv_class_t *class_find(str_t name)
{
	const pv_class_t *c;

	for (int i = n_ext_tables - 1; i >= 0; i--)
		if ((c = table_find(ext_tables[i], name)))
			return c;
	if ((c = table_find(pv_core_classes, name)))
		return c;
	return table_find(pv_var_classes, name);
}

/* "$$": a literal dollar sign. */
static int get_marker(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	return pv_ret_strn(out, STR_LIT("$"), '$');
}

static const pv_class_t marker_class = {"$", get_marker, NULL, 0,
					0,   NULL,	 NULL};

/* ------------------------------------------------------------------ */
/* parsing                                                             */

static int is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.';
}

/* Position just after the bracket closing the one at s[i] (open/close
 * pair), counting nesting; 0 when unclosed. */
static size_t match_close(const char *s, size_t len, size_t i, char open,
			  char close)
{
	int depth = 0;

	for (; i < len; i++) {
		if (s[i] == open)
			depth++;
		else if (s[i] == close && --depth == 0)
			return i + 1;
	}
	return 0;
}

/* Length of the variable at the start of s (s[0] == '$'), following
 * Kamailio's pv_locate_name: "$$", "$(...)", "$name" or "$name(...)".
 * -1 with err filled when malformed. */
static long pv_locate(const char *s, size_t len, char *err, size_t errlen)
{
	size_t i, e;

	if (len < 2 || s[0] != '$') {
		fail(err, errlen, "'$' without a variable name");
		return -1;
	}
	if (s[1] == '$')
		return 2;
	if (s[1] == '(') {
		e = match_close(s, len, 1, '(', ')');
		if (!e) {
			fail(err, errlen, "unclosed '(' in '%.*s'", (int)len,
			     s);
			return -1;
		}
		return (long)e;
	}
	for (i = 1; i < len && is_name_char(s[i]); i++)
		;
	if (i == 1) {
		fail(err, errlen, "'$' without a variable name in '%.*s'",
		     (int)len, s);
		return -1;
	}
	if (i < len && s[i] == '(') {
		e = match_close(s, len, i, '(', ')');
		if (!e) {
			fail(err, errlen, "unclosed '(' in '%.*s'", (int)len,
			     s);
			return -1;
		}
		return (long)e;
	}
	return (long)i;
}

static int parse_index(pv_spec_t *sp, str_t idx, char *err, size_t errlen)
{
	char sub[160];

	if (idx.len == 1 && idx.s[0] == '*') {
		sp->idx_type = PV_IDX_ALL;
		return 0;
	}
	if (idx.len && idx.s[0] == '$') {
		sp->idx_pv = pv_spec_parse(idx, sub, sizeof(sub));
		if (!sp->idx_pv) {
			fail(err, errlen, "bad index in '%s': %s", sp->text,
			     sub);
			return -1;
		}
		sp->idx_type = PV_IDX_PVAR;
		return 0;
	}
	if (pv_parse_long(idx, &sp->idx) < 0) {
		fail(err, errlen, "bad index '[%.*s]' in '%s'", STR_FMT(idx),
		     sp->text);
		return -1;
	}
	sp->idx_type = PV_IDX_INT;
	return 0;
}

/* Parse the variable s[0..len) (its extent already found by pv_locate). */
static pv_spec_t *spec_parse(const char *s, size_t len, char *err,
			     size_t errlen)
{
	pv_spec_t *sp;
	const char *t;
	size_t p = 1, e;
	int paren = 0, has_inner = 0;
	str_t cname, inner = STR_NULL, idx = STR_NULL;
	char sub[160];

	sp = calloc(1, sizeof(*sp));
	if (sp)
		sp->text = malloc(len + 1);
	if (!sp || !sp->text) {
		free(sp);
		fail(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(sp->text, s, len);
	sp->text[len] = '\0';
	sp->text_len = len;
	t = sp->text;

	if (len == 2 && t[1] == '$') {
		sp->cls = &marker_class;
		return sp;
	}
	if (p < len && t[p] == '(') {
		paren = 1;
		p++;
	}
	cname.s = t + p;
	while (p < len && is_name_char(t[p]))
		p++;
	cname.len = (size_t)(t + p - cname.s);
	if (!cname.len) {
		fail(err, errlen, "missing variable name in '%s'", t);
		goto error;
	}
	if (p < len && t[p] == '(') {
		e = match_close(t, len, p, '(', ')');
		if (!e) {
			fail(err, errlen, "unclosed '(' in '%s'", t);
			goto error;
		}
		inner = (str_t){t + p + 1, e - p - 2};
		has_inner = 1;
		p = e;
	}
	if (paren) {
		if (p < len && t[p] == '[') {
			e = match_close(t, len, p, '[', ']');
			if (!e) {
				fail(err, errlen, "unclosed '[' in '%s'", t);
				goto error;
			}
			idx = (str_t){t + p + 1, e - p - 2};
			p = e;
			if (!idx.len) {
				fail(err, errlen, "empty index in '%s'", t);
				goto error;
			}
		}
		if (p < len && t[p] == '{') {
			size_t used = 0;

			if (pv_trans_parse(t + p, len - p, &used, &sp->trans,
					   sub, sizeof(sub)) < 0) {
				fail(err, errlen, "%s in '%s'", sub, t);
				goto error;
			}
			p += used;
		}
		if (p >= len || t[p] != ')') {
			fail(err, errlen, "expected ')' at offset %zu in '%s'",
			     p, t);
			goto error;
		}
		p++;
	}
	if (p != len) {
		fail(err, errlen, "unexpected '%s' after the variable in '%s'",
		     t + p, t);
		goto error;
	}

	sp->cls = class_find(cname);
	if (!sp->cls) {
		fail(err, errlen, "unknown pseudo-variable $%.*s%s",
		     STR_FMT(cname), has_inner ? "(...)" : "");
		goto error;
	}
	sp->iparam = sp->cls->iparam;
	if ((sp->cls->flags & PV_CF_NAME) && !has_inner) {
		fail(err, errlen, "$%s needs a name: $%s(...)", sp->cls->name,
		     sp->cls->name);
		goto error;
	}
	if (!(sp->cls->flags & PV_CF_NAME) && has_inner) {
		fail(err, errlen, "$%s takes no name in parentheses: '%s'",
		     sp->cls->name, t);
		goto error;
	}
	if (has_inner) {
		if (!inner.len) {
			fail(err, errlen, "empty name in '%s'", t);
			goto error;
		}
		sp->name = inner;
		if (inner.s[0] == '$') {
			if (!(sp->cls->flags & PV_CF_DYNNAME)) {
				fail(err, errlen,
				     "$%s does not accept a variable as its "
				     "name: '%s'",
				     sp->cls->name, t);
				goto error;
			}
			sp->name_pv = pv_spec_parse(inner, sub, sizeof(sub));
			if (!sp->name_pv) {
				fail(err, errlen, "bad name in '%s': %s", t,
				     sub);
				goto error;
			}
		} else if (sp->cls->parse_name &&
			   sp->cls->parse_name(sp, inner, err, errlen) < 0) {
			goto error;
		}
	}
	if (idx.len) {
		if (!(sp->cls->flags & PV_CF_INDEX)) {
			fail(err, errlen, "$%s does not take an index: '%s'",
			     sp->cls->name, t);
			goto error;
		}
		if (parse_index(sp, idx, err, errlen) < 0)
			goto error;
	}
	return sp;

error:
	pv_spec_free(sp);
	return NULL;
}

pv_spec_t *pv_spec_parse(str_t name, char *err, size_t errlen)
{
	long n;

	if (!name.s || !name.len) {
		fail(err, errlen, "empty variable name");
		return NULL;
	}
	if (name.s[0] != '$') {
		fail(err, errlen, "'%.*s' is not a variable (no leading '$')",
		     STR_FMT(name));
		return NULL;
	}
	n = pv_locate(name.s, name.len, err, errlen);
	if (n < 0)
		return NULL;
	if ((size_t)n != name.len) {
		fail(err, errlen, "unexpected '%.*s' after '%.*s'",
		     (int)(name.len - (size_t)n), name.s + n, (int)n, name.s);
		return NULL;
	}
	pv_core_init();
	return spec_parse(name.s, name.len, err, errlen);
}

void pv_spec_free(pv_spec_t *sp)
{
	if (!sp)
		return;
	if (sp->data && sp->cls && sp->cls->free_data)
		sp->cls->free_data(sp->data);
	pv_spec_free(sp->name_pv);
	pv_spec_free(sp->idx_pv);
	pv_trans_free(sp->trans);
	free(sp->text);
	free(sp);
}

const pv_spec_t *pv_spec_cached(str_t name, char *err, size_t errlen)
{
	pv_tls_t *t = pv_tls();
	pv_spec_t *sp;
	uint32_t h;

	if (!t) {
		fail(err, errlen, "out of memory");
		return NULL;
	}
	h = hash_str(name.s, name.len);
	sp = cache_find(&t->spec_cache, name, h);
	if (sp)
		return sp;
	sp = pv_spec_parse(name, err, errlen);
	if (!sp)
		return NULL;
	if (cache_add(&t->spec_cache, name, h, sp) < 0) {
		fail(err, errlen, "out of memory");
		return NULL;
	}
	return sp;
}

size_t pv_spec_cache_count(void)
{
	pv_tls_t *t = pv_tls();

	return t ? t->spec_cache.count : 0;
}

/* ------------------------------------------------------------------ */
/* evaluation                                                          */

int pv_get(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	ksr_ctx_t none;
	int rc;

	pv_ret_null(out);
	if (!sp || !sp->cls || !sp->cls->get)
		return -OSP_EINVAL;
	if (!ctx) {
		memset(&none, 0, sizeof(none));
		none.worker = -1;
		ctx = &none;
	}
	rc = sp->cls->get(ctx, sp, out);
	if (rc < 0) {
		pv_ret_null(out);
		return rc;
	}
	if (sp->trans)
		pv_trans_apply(ctx, sp->trans, out);
	return 0;
}

int pv_set(ksr_ctx_t *ctx, const pv_spec_t *sp, const ksr_xval_t *val)
{
	ksr_ctx_t none;
	ksr_xval_t null = {KSR_NULL, 0, STR_NULL};

	if (!sp || !sp->cls)
		return -OSP_EINVAL;
	if (!sp->cls->set || sp->trans) {
		LOG_RATE(L_ERR, "%s is read-only", sp->text);
		return -OSP_EINVAL;
	}
	if (!ctx) {
		memset(&none, 0, sizeof(none));
		none.worker = -1;
		ctx = &none;
	}
	return sp->cls->set(ctx, sp, val ? val : &null);
}

int pv_is_writable(const pv_spec_t *sp)
{
	return sp && sp->cls && sp->cls->set && !sp->trans;
}

int pv_spec_name(ksr_ctx_t *ctx, const pv_spec_t *sp, str_t *out)
{
	ksr_xval_t v;

	if (!sp->name_pv) {
		*out = sp->name;
		return 0;
	}
	if (pv_get(ctx, sp->name_pv, &v) < 0 || v.type == KSR_NULL)
		return -1;
	if (v.type == KSR_INT) {
		*out = pv_int_to_str(ctx, v.n);
		return out->s ? 0 : -1;
	}
	if (!v.s.len)
		return -1;
	*out = v.s;
	return 0;
}

int pv_spec_index(ksr_ctx_t *ctx, const pv_spec_t *sp, int *type, long *idx)
{
	ksr_xval_t v;

	*type = sp->idx_type;
	*idx = sp->idx_type == PV_IDX_INT ? sp->idx : 0;
	if (sp->idx_type != PV_IDX_PVAR)
		return 0;
	*type = PV_IDX_INT;
	if (pv_get(ctx, sp->idx_pv, &v) < 0 || v.type == KSR_NULL)
		return -1;
	if (v.type == KSR_INT) {
		*idx = v.n;
		return 0;
	}
	return pv_parse_long(v.s, idx);
}

/* ------------------------------------------------------------------ */
/* formats                                                             */

typedef struct pv_fmt_elem {
	str_t text;	 /* literal text before the variable */
	pv_spec_t *spec; /* NULL for the trailing text */
} pv_fmt_elem_t;

struct pv_fmt {
	char *lit; /* literal text of all elements, "$$" folded */
	pv_fmt_elem_t *e;
	size_t n;
	size_t nvars;
};

void pv_fmt_free(pv_fmt_t *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		pv_spec_free(f->e[i].spec);
	free(f->e);
	free(f->lit);
	free(f);
}

/* "$" starts a variable when followed by a name character, "(" or "$";
 * anything else leaves it as literal text. */
pv_fmt_t *pv_fmt_parse(str_t text, char *err, size_t errlen)
{
	pv_fmt_t *f;
	size_t i = 0, lp = 0, seg = 0, cap = 4;
	long n;
	const char *s = text.s;

	f = calloc(1, sizeof(*f));
	if (f) {
		f->lit = malloc(text.len + 1);
		f->e = malloc(cap * sizeof(*f->e));
	}
	if (!f || !f->lit || !f->e)
		goto nomem;
	while (i < text.len) {
		if (s[i] != '$') {
			f->lit[lp++] = s[i++];
			continue;
		}
		if (i + 1 < text.len && s[i + 1] == '$') {
			f->lit[lp++] = '$';
			i += 2;
			continue;
		}
		if (i + 1 >= text.len ||
		    !(is_name_char(s[i + 1]) || s[i + 1] == '(')) {
			f->lit[lp++] = s[i++];
			continue;
		}
		n = pv_locate(s + i, text.len - i, err, errlen);
		if (n < 0)
			goto error;
		/* no class name ends with '.': "from $si." ends a sentence */
		while (n > 2 && s[i + (size_t)n - 1] == '.')
			n--;
		if (f->n + 1 == cap) {
			pv_fmt_elem_t *ne;

			cap *= 2;
			ne = realloc(f->e, cap * sizeof(*f->e));
			if (!ne)
				goto nomem;
			f->e = ne;
		}
		f->e[f->n].text = (str_t){f->lit + seg, lp - seg};
		f->e[f->n].spec = spec_parse(s + i, (size_t)n, err, errlen);
		if (!f->e[f->n].spec)
			goto error;
		f->n++;
		f->nvars++;
		seg = lp;
		i += (size_t)n;
	}
	f->lit[lp] = '\0';
	if (lp > seg || f->n == 0) {
		f->e[f->n].text = (str_t){f->lit + seg, lp - seg};
		f->e[f->n].spec = NULL;
		f->n++;
	}
	pv_core_init();
	return f;

nomem:
	fail(err, errlen, "out of memory");
error:
	pv_fmt_free(f);
	return NULL;
}

int pv_fmt_is_static(const pv_fmt_t *f)
{
	return f && f->nvars == 0;
}

static int put(char *buf, size_t cap, size_t *pos, const char *s, size_t n)
{
	size_t room = cap - 1 - *pos;

	if (n > room) {
		memcpy(buf + *pos, s, room);
		*pos += room;
		return -1;
	}
	memcpy(buf + *pos, s, n);
	*pos += n;
	return 0;
}

int pv_fmt_eval(ksr_ctx_t *ctx, const pv_fmt_t *f, char *buf, size_t cap,
		str_t *out)
{
	size_t pos = 0;
	int trunc = 0;
	ksr_xval_t v;
	char num[24];
	int nl;

	if (!f || !buf || !cap)
		return -OSP_EINVAL;
	for (size_t i = 0; i < f->n && !trunc; i++) {
		const pv_fmt_elem_t *e = &f->e[i];

		if (put(buf, cap, &pos, e->text.s, e->text.len) < 0) {
			trunc = 1;
			break;
		}
		if (!e->spec)
			continue;
		pv_get(ctx, e->spec, &v);
		switch (v.type) {
		case KSR_INT:
			nl = snprintf(num, sizeof(num), "%ld", v.n);
			trunc = put(buf, cap, &pos, num, (size_t)nl) < 0;
			break;
		case KSR_STR:
			trunc = put(buf, cap, &pos, v.s.s, v.s.len) < 0;
			break;
		default: trunc = put(buf, cap, &pos, "<null>", 6) < 0; break;
		}
	}
	buf[pos] = '\0';
	if (out)
		*out = (str_t){buf, pos};
	return trunc ? -OSP_ETOOBIG : (int)pos;
}

const pv_fmt_t *pv_fmt_cached(str_t text, char *err, size_t errlen)
{
	pv_tls_t *t = pv_tls();
	pv_fmt_t *f;
	uint32_t h;

	if (!t) {
		fail(err, errlen, "out of memory");
		return NULL;
	}
	h = hash_str(text.s, text.len);
	f = cache_find(&t->fmt_cache, text, h);
	if (f)
		return f;
	f = pv_fmt_parse(text, err, errlen);
	if (!f)
		return NULL;
	if (cache_add(&t->fmt_cache, text, h, f) < 0) {
		fail(err, errlen, "out of memory");
		return NULL;
	}
	return f;
}

size_t pv_fmt_cache_count(void)
{
	pv_tls_t *t = pv_tls();

	return t ? t->fmt_cache.count : 0;
}
