/* txt_re.c - regex cache, sed-like substitutions and edit lists. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/osp.h"
#include "modules/textops/txt_re.h"

#define RE_CACHE_SIZE  32
#define RE_MAX_PATTERN 4096
#define RE_MAX_GROUPS  10

typedef struct re_slot {
	char *pat; /* NULL: free slot */
	size_t len;
	int cflags;
	unsigned long used;
	regex_t re;
} re_slot_t;

/* One cache per worker thread: no locks on the message path. */
static _Thread_local re_slot_t re_cache[RE_CACHE_SIZE];
static _Thread_local unsigned long re_tick;

regex_t *txt_re_get(str_t pattern, int cflags)
{
	re_slot_t *victim = NULL;
	char err[128];
	int rc;

	for (int i = 0; i < RE_CACHE_SIZE; i++) {
		re_slot_t *s = &re_cache[i];

		if (s->pat && s->cflags == cflags && s->len == pattern.len &&
		    memcmp(s->pat, pattern.s, pattern.len) == 0) {
			s->used = ++re_tick;
			return &s->re;
		}
		if (!victim ||
		    (victim->pat && (!s->pat || s->used < victim->used)))
			victim = s;
	}
	if (pattern.len > RE_MAX_PATTERN ||
	    (pattern.len && memchr(pattern.s, '\0', pattern.len))) {
		LOG_ERR("textops: unusable regular expression");
		return NULL;
	}
	if (victim->pat) {
		regfree(&victim->re);
		free(victim->pat);
		victim->pat = NULL;
	}
	victim->pat = malloc(pattern.len + 1);
	if (!victim->pat)
		return NULL;
	memcpy(victim->pat, pattern.s, pattern.len);
	victim->pat[pattern.len] = '\0';
	rc = regcomp(&victim->re, victim->pat, cflags);
	if (rc != 0) {
		regerror(rc, &victim->re, err, sizeof(err));
		LOG_ERR("textops: bad regular expression '%s': %s", victim->pat,
			err);
		free(victim->pat);
		victim->pat = NULL;
		return NULL;
	}
	victim->len = pattern.len;
	victim->cflags = cflags;
	victim->used = ++re_tick;
	return &victim->re;
}

char *txt_dup(arena_t *a, str_t s)
{
	char *p = arena_alloc(a, s.len + 1);

	if (!p)
		return NULL;
	if (s.len)
		memcpy(p, s.s, s.len);
	p[s.len] = '\0';
	return p;
}

int txt_subst_parse(str_t expr, txt_subst_t *se)
{
	char sep;
	size_t i = 1, re_b, re_e, rp_b, rp_e;
	int cflags = REG_EXTENDED | REG_NEWLINE;
	str_t pat;

	memset(se, 0, sizeof(*se));
	if (expr.len < 3)
		goto bad;
	sep = expr.s[0];
	if (sep == '\\')
		goto bad;
	/* the expression, then the replacement: up to an unescaped sep */
	re_b = i;
	while (i < expr.len && expr.s[i] != sep)
		i += expr.s[i] == '\\' ? 2 : 1;
	if (i >= expr.len)
		goto bad;
	re_e = i++;
	rp_b = i;
	while (i < expr.len && expr.s[i] != sep)
		i += expr.s[i] == '\\' ? 2 : 1;
	if (i >= expr.len)
		goto bad;
	rp_e = i++;
	for (; i < expr.len; i++) {
		switch (expr.s[i]) {
		case 'i': cflags |= REG_ICASE; break;
		case 's': cflags &= ~REG_NEWLINE; break;
		case 'g': se->global = 1; break;
		default:
			LOG_ERR("textops: unknown substitution flag '%c'",
				expr.s[i]);
			return -1;
		}
	}
	pat = (str_t){expr.s + re_b, re_e - re_b};
	if (pat.len == 0)
		goto bad;
	se->re = txt_re_get(pat, cflags);
	if (!se->re)
		return -1;
	se->sep = sep;
	se->repl = (str_t){expr.s + rp_b, rp_e - rp_b};
	return 0;
bad:
	LOG_ERR("textops: bad substitution '%.*s' (want /re/repl/flags)",
		STR_FMT(expr));
	return -1;
}

/* The replacement for one match: \0..\9 are the groups, \\ \n \r \t and
 * \<sep> the characters; another escaped character stands for itself. */
static int expand(arena_t *a, const txt_subst_t *se, const char *subject,
		  const regmatch_t *pm, str_t *out)
{
	str_t r = se->repl;
	size_t n = 0;
	char *p = NULL;

	/* first pass: the size; second: the copy */
	for (int pass = 0; pass < 2; pass++) {
		n = 0;
		for (size_t i = 0; i < r.len; i++) {
			char c = r.s[i];
			const char *src = &r.s[i];
			size_t len = 1;

			if (c == '\\' && i + 1 < r.len) {
				char e = r.s[++i];

				if (e >= '0' && e <= '9') {
					int g = e - '0';

					len = 0;
					if ((size_t)g <= se->re->re_nsub &&
					    pm[g].rm_so >= 0) {
						src = subject + pm[g].rm_so;
						len = (size_t)(pm[g].rm_eo -
							       pm[g].rm_so);
					}
				} else if (e == 'n') {
					src = "\n";
				} else if (e == 'r') {
					src = "\r";
				} else if (e == 't') {
					src = "\t";
				} else {
					src = &r.s[i];
				}
			}
			if (pass == 1 && len)
				memcpy(p + n, src, len);
			n += len;
		}
		if (pass == 0) {
			p = arena_alloc(a, n + 1);
			if (!p)
				return -OSP_ENOMEM;
		}
	}
	p[n] = '\0';
	*out = (str_t){p, n};
	return 0;
}

/* Grow an arena array of edits (doubling; the old block stays in the
 * arena, which is fine for the handful of matches a message has). */
static int push_edit(arena_t *a, txt_edit_t **v, int *n, int *cap, txt_edit_t e)
{
	if (*n == *cap) {
		int nc = *cap ? *cap * 2 : 8;
		txt_edit_t *nv = arena_alloc(a, sizeof(*nv) * (size_t)nc);

		if (!nv)
			return -OSP_ENOMEM;
		if (*n)
			memcpy(nv, *v, sizeof(*nv) * (size_t)*n);
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = e;
	return 0;
}

int txt_find(arena_t *a, const txt_find_t *f, const char *text, size_t len,
	     txt_edit_t **out)
{
	regmatch_t pm[RE_MAX_GROUPS];
	const char *p = text, *end = text + len;
	int eflags = 0, n = 0, cap = 0;
	txt_edit_t e;

	*out = NULL;
	do {
		if (n > 0 && p >= end)
			break;
		for (int g = 0; g < RE_MAX_GROUPS; g++)
			pm[g].rm_so = pm[g].rm_eo = -1;
		if (regexec(f->re, p, RE_MAX_GROUPS, pm, eflags) != 0)
			break;
		if (pm[0].rm_so == pm[0].rm_eo && f->empty_err) {
			LOG_ERR("textops: the expression matched an empty "
				"string");
			return -1;
		}
		e.off = (size_t)(p - text) + (size_t)pm[0].rm_so;
		e.len = (size_t)(pm[0].rm_eo - pm[0].rm_so);
		if (f->insert_after) {
			e.off += e.len;
			e.len = 0;
		}
		if (f->se) {
			if (expand(a, f->se, p, pm, &e.repl) < 0)
				return -1;
		} else {
			e.repl = f->repl;
		}
		if (push_edit(a, out, &n, &cap, e) < 0)
			return -1;
		/* an empty match must not stall the scan */
		p += pm[0].rm_eo > 0 ? pm[0].rm_eo : 1;
		if (f->bol_after_nl && p > text &&
		    (p[-1] == '\n' || p[-1] == '\r'))
			eflags &= ~REG_NOTBOL;
		else
			eflags |= REG_NOTBOL;
	} while (f->all);
	return n;
}

int txt_find_str(arena_t *a, str_t text, str_t needle, str_t repl, int all,
		 txt_edit_t **out)
{
	int n = 0, cap = 0;
	size_t i = 0;

	*out = NULL;
	if (needle.len == 0)
		return 0;
	while (i + needle.len <= text.len) {
		if (memcmp(text.s + i, needle.s, needle.len) != 0) {
			i++;
			continue;
		}
		if (push_edit(a, out, &n, &cap,
			      (txt_edit_t){i, needle.len, repl}) < 0)
			return -1;
		if (!all)
			break;
		i += needle.len;
	}
	return n;
}

str_t txt_apply(arena_t *a, str_t src, size_t base, const txt_edit_t *e, int n)
{
	size_t len = src.len, pos = 0, o = 0;
	char *p;

	for (int i = 0; i < n; i++)
		len = len - e[i].len + e[i].repl.len;
	p = arena_alloc(a, len + 1);
	if (!p)
		return STR_NULL;
	for (int i = 0; i < n; i++) {
		size_t at = e[i].off - base;

		memcpy(p + o, src.s + pos, at - pos);
		o += at - pos;
		if (e[i].repl.len)
			memcpy(p + o, e[i].repl.s, e[i].repl.len);
		o += e[i].repl.len;
		pos = at + e[i].len;
	}
	memcpy(p + o, src.s + pos, src.len - pos);
	o += src.len - pos;
	p[o] = '\0';
	return (str_t){p, o};
}
