/* cfg_pp.c - the kamailio.cfg preprocessor.
 *
 * It sits between the lexer and the parser and works on the token stream,
 * as Kamailio's does: directives take effect where they appear, so a
 * define is visible from its line on, and the parser pulls tokens one at a
 * time (a loadmodule is applied before the next line is preprocessed, so
 * "#!ifdef MOD_tm" after loadmodule "tm.so" sees it).
 *
 *  - #!define NAME [value], #!trydef, #!redefine (also "!!" for "#!");
 *    an identifier equal to a defined name is replaced by the tokens of its
 *    value (recursively, but a define never expands inside itself);
 *  - #!ifdef, #!ifndef, #!else, #!endif, nested, balanced within a file;
 *  - #!subst, #!substdef, #!substdefs "/regexp/replacement/flags": POSIX
 *    extended regular expressions applied to string literals;
 *  - #!defenv, #!defenvs, #!trydefenv, #!trydefenvs;
 *  - include_file / import_file "path" (also with "#!" or "!!").
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg_int.h"
#include "core/log.h"
#include "core/osp.h"

#define PP_MAX_INCLUDE 10 /* nested files, as Kamailio */
#define PP_MAX_MACRO   64 /* nested define expansions */
#define PP_MAX_IFDEF   64

typedef struct pp_src {
	cfg_lexer_t lx;
	int is_macro;
	char *buf;	  /* file contents (files only, heap) */
	const char *dir;  /* directory of the file, "" for the current one */
	size_t if_base;	  /* #!ifdef depth when the file was entered */
	const char *name; /* macro: the define being expanded */
	cfg_tok_t at;	  /* macro: the identifier it replaces */
	int first;	  /* macro: next token is the first one */
	struct pp_src *up;
} pp_src_t;

typedef struct pp_if {
	int else_seen;
	const char *file;
	int line, col;
} pp_if_t;

typedef struct pp_subst {
	regex_t re;
	char *repl;
	int global;
	struct pp_subst *next;
} pp_subst_t;

struct cfg_pp {
	struct cfg_file *cf;
	cfg_err_t *e;
	pp_src_t *top;
	int nfiles, nmacros;
	pp_if_t ifs[PP_MAX_IFDEF];
	size_t nifs;
	pp_subst_t *substs, **substs_tail;
	cfg_tok_t peek;
	int has_peek;
	int force_nl; /* the next token starts a line (after a directive or
		       * at a file boundary) */
	int eof;
	cfg_tok_t eof_tok;
};

static int read_whole_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, n = 0;
	int rc = 0;

	if (!f)
		return -errno;
	for (;;) {
		size_t got;

		if (cap - n < 4096) {
			char *nb = realloc(buf, cap ? cap * 2 : 8192);

			if (!nb) {
				rc = -ENOMEM;
				goto out;
			}
			buf = nb;
			cap = cap ? cap * 2 : 8192;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				rc = errno ? -errno : -EIO;
			break;
		}
	}
	buf[n] = '\0';
out:
	fclose(f);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* Push the file at path (also the name shown in positions). 0, or -errno
 * when it cannot be read (nothing pushed). */
static int push_file(cfg_pp_t *pp, const char *path)
{
	pp_src_t *s;
	char *buf = NULL, *slash;
	size_t len = 0;
	int rc;

	rc = read_whole_file(path, &buf, &len);
	if (rc < 0)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s) {
		free(buf);
		return -ENOMEM;
	}
	s->buf = buf;
	s->up = pp->top;
	s->if_base = pp->nifs;
	s->dir = "";
	slash = strrchr(path, '/');
	if (slash) {
		s->dir = cfg_pool_strndup(&pp->cf->pool, path,
					  slash == path ? 1 : slash - path);
		if (!s->dir)
			goto nomem;
	}
	path = cfg_pool_strndup(&pp->cf->pool, path, strlen(path));
	if (!path)
		goto nomem;
	cfg_lex_init(&s->lx, path, buf, len, 0);
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		s->lx.p += 3; /* a UTF-8 byte order mark */
	pp->top = s;
	pp->nfiles++;
	return 0;
nomem:
	free(buf);
	free(s);
	return -ENOMEM;
}

static void pop_src(cfg_pp_t *pp)
{
	pp_src_t *s = pp->top;

	pp->top = s->up;
	if (s->is_macro)
		pp->nmacros--;
	else
		pp->nfiles--;
	free(s->buf);
	free(s);
}

cfg_pp_t *cfg_pp_open(struct cfg_file *cf, const char *path, cfg_err_t *e)
{
	cfg_pp_t *pp = calloc(1, sizeof(*pp));
	int rc;

	if (!pp) {
		cfg_error(e, path, 0, 0, "out of memory");
		return NULL;
	}
	pp->cf = cf;
	pp->e = e;
	pp->substs_tail = &pp->substs;
	rc = push_file(pp, path);
	if (rc < 0) {
		cfg_error(e, path, 0, 0, "cannot open the configuration: %s",
			  strerror(-rc));
		free(pp);
		return NULL;
	}
	return pp;
}

void cfg_pp_close(cfg_pp_t *pp)
{
	pp_subst_t *r, *next;

	if (!pp)
		return;
	while (pp->top)
		pop_src(pp);
	for (r = pp->substs; r; r = next) {
		next = r->next;
		regfree(&r->re);
		free(r);
	}
	free(pp);
}

/* ---- #!subst ---- */

/* Apply every rule, in order, to a string token. */
static int run_substs(cfg_pp_t *pp, cfg_tok_t *t)
{
	char *cur = NULL;
	int rc = 0;

	for (pp_subst_t *r = pp->substs; r; r = r->next) {
		const char *in = cur ? cur : t->text;
		char *out = NULL;
		size_t olen = 0, pos = 0, inlen = strlen(in);
		regmatch_t m[10];
		FILE *mf = open_memstream(&out, &olen);

		if (!mf) {
			rc = -OSP_ENOMEM;
			break;
		}
		for (;;) {
			if (pos > inlen || regexec(&r->re, in + pos, 10, m,
						   pos ? REG_NOTBOL : 0) != 0) {
				if (pos <= inlen)
					fputs(in + pos, mf);
				break;
			}
			fwrite(in + pos, 1, m[0].rm_so, mf);
			for (const char *p = r->repl; *p; p++) {
				if (p[0] == '\\' && p[1] >= '0' &&
				    p[1] <= '9') {
					int k = p[1] - '0';

					if (m[k].rm_so >= 0)
						fwrite(in + pos + m[k].rm_so, 1,
						       m[k].rm_eo - m[k].rm_so,
						       mf);
					p++;
				} else if (p[0] == '\\' && p[1] == '\\') {
					fputc('\\', mf);
					p++;
				} else {
					fputc(*p, mf);
				}
			}
			if (m[0].rm_eo == m[0].rm_so) {
				/* empty match: copy one character on */
				if (in[pos + m[0].rm_eo])
					fputc(in[pos + m[0].rm_eo], mf);
				pos += m[0].rm_eo + 1;
			} else {
				pos += m[0].rm_eo;
			}
			if (!r->global) {
				if (pos <= inlen)
					fputs(in + pos, mf);
				break;
			}
		}
		if (fclose(mf) != 0 || !out) {
			free(out);
			rc = -OSP_ENOMEM;
			break;
		}
		free(cur);
		cur = out;
	}
	if (cur && rc == 0) {
		t->text = cfg_pool_strndup(&pp->cf->pool, cur, strlen(cur));
		t->len = strlen(cur);
		if (!t->text)
			rc = -OSP_ENOMEM;
	}
	free(cur);
	return rc;
}

/* Split "/re/repl/flags" (any separator) into its parts, in place:
 * "\sep" stands for the separator. */
static int split_subst(char *s, char **re, char **repl, char **flags)
{
	char sep = s[0], *w, *r;
	char **parts[2] = {re, repl};

	if (!sep)
		return -1;
	r = s + 1;
	for (int i = 0; i < 2; i++) {
		*parts[i] = w = r;
		for (;;) {
			if (!*r)
				return -1;
			if (*r == '\\' && r[1] == sep) {
				*w++ = sep;
				r += 2;
			} else if (*r == sep) {
				r++;
				break;
			} else {
				*w++ = *r++;
			}
		}
		*w = '\0';
	}
	*flags = r;
	return 0;
}

static int is_ident(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
	      *s == '_'))
		return 0;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

/* A define value holding s as one double-quoted string literal. */
static char *quote_value(cfg_pool_t *pool, const char *s)
{
	size_t n = strlen(s), k = 0;
	char *q = cfg_pool_alloc(pool, 2 * n + 3);

	if (!q)
		return NULL;
	q[k++] = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			q[k++] = '\\';
		q[k++] = *s;
	}
	q[k++] = '"';
	q[k] = '\0';
	return q;
}

/* which: 0 subst, 1 substdef, 2 substdefs */
static int do_subst(cfg_pp_t *pp, pp_src_t *src, const cfg_tok_t *d, int which)
{
	static const char *const names[] = {"subst", "substdef", "substdefs"};
	cfg_tok_t t;
	char *spec, *re, *repl, *flags, *value;
	pp_subst_t *r;
	int cflags = REG_EXTENDED, global = 0, rc;

	rc = cfg_lex_next(&src->lx, &pp->cf->pool, &t, pp->e);
	if (rc < 0)
		return rc;
	if (t.kind != CFG_T_STR || t.space == 2)
		return cfg_error_tok(pp->e, d,
				     "#!%s: expected \"/regexp/replacement/"
				     "flags\"",
				     names[which]);
	if (cfg_lex_end_of_directive(&src->lx) < 0)
		return cfg_error(pp->e, src->lx.file, src->lx.line, src->lx.col,
				 "unexpected text after #!%s", names[which]);
	spec = cfg_pool_strndup(&pp->cf->pool, t.text, t.len);
	if (!spec)
		return -OSP_ENOMEM;
	if (split_subst(spec, &re, &repl, &flags) < 0)
		return cfg_error_tok(pp->e, &t,
				     "#!%s: expected \"/regexp/replacement/"
				     "flags\"",
				     names[which]);
	for (; *flags; flags++) {
		if (*flags == 'g')
			global = 1;
		else if (*flags == 'i')
			cflags |= REG_ICASE;
		else
			return cfg_error_tok(pp->e, &t,
					     "#!%s: unknown flag '%c' (g and i "
					     "are known)",
					     names[which], *flags);
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -OSP_ENOMEM;
	rc = regcomp(&r->re, re, cflags);
	if (rc != 0) {
		char msg[128];

		regerror(rc, &r->re, msg, sizeof(msg));
		free(r);
		return cfg_error_tok(pp->e, &t,
				     "#!%s: bad regular expression "
				     "'%s': %s",
				     names[which], re, msg);
	}
	r->repl = repl;
	r->global = global;
	*pp->substs_tail = r;
	pp->substs_tail = &r->next;
	if (which == 0)
		return 0;
	if (!is_ident(re))
		return cfg_error_tok(pp->e, &t,
				     "#!%s: '%s' is not a valid define name",
				     names[which], re);
	if (cfg_define_find(pp->cf, re, strlen(re)))
		return cfg_error_tok(pp->e, d, "'%s' is already defined", re);
	value = which == 2 ? quote_value(&pp->cf->pool, repl) : repl;
	if (!value)
		return -OSP_ENOMEM;
	return cfg_define_set(pp->cf, re, strlen(re), value);
}

/* ---- #!define and friends ---- */

/* mode: 0 define (error when defined), 1 trydef (keep), 2 redefine */
static int do_define(cfg_pp_t *pp, pp_src_t *src, const cfg_tok_t *d, int mode)
{
	cfg_lexer_t *lx = &src->lx;
	const char *name;
	size_t n;
	char *value;
	int rc;

	if (!cfg_lex_ident(lx, &name, &n))
		return cfg_error(pp->e, lx->file, lx->line, lx->col,
				 "#!%s: expected a name", d->text);
	if (lx->p < lx->end && *lx->p != ' ' && *lx->p != '\t' &&
	    *lx->p != '\n' && *lx->p != '\r')
		return cfg_error(pp->e, lx->file, lx->line, lx->col,
				 "#!%s: invalid character '%c' in the name "
				 "'%.*s' (letters, digits and '_' only)",
				 d->text, *lx->p, (int)n, name);
	rc = cfg_lex_rest_of_line(lx, &pp->cf->pool, &value);
	if (rc < 0)
		return rc;
	if (cfg_define_find(pp->cf, name, n)) {
		if (mode == 1)
			return 0;
		if (mode == 0)
			return cfg_error_tok(pp->e, d,
					     "'%.*s' is already defined (use "
					     "#!redefine to change it or "
					     "#!trydef to keep it)",
					     (int)n, name);
	}
	return cfg_define_set(pp->cf, name, n, value);
}

/* #!defenv ID=VAR or #!defenv VAR; quoted: defenvs; try: no error when
 * VAR is not set or ID is defined. */
static int do_defenv(cfg_pp_t *pp, pp_src_t *src, const cfg_tok_t *d,
		     int quoted, int try)
{
	cfg_lexer_t *lx = &src->lx;
	const char *name, *var, *env;
	size_t n, vn;
	char vbuf[256], *value;

	if (!cfg_lex_ident(lx, &name, &n))
		return cfg_error(pp->e, lx->file, lx->line, lx->col,
				 "#!%s: expected NAME=VARIABLE or VARIABLE",
				 d->text);
	var = name;
	vn = n;
	if (lx->p < lx->end && *lx->p == '=') {
		lx->p++;
		lx->col++;
		if (!cfg_lex_ident(lx, &var, &vn))
			return cfg_error(pp->e, lx->file, lx->line, lx->col,
					 "#!%s: expected an environment "
					 "variable name after '='",
					 d->text);
	}
	if (cfg_lex_end_of_directive(lx) < 0)
		return cfg_error(pp->e, lx->file, lx->line, lx->col,
				 "unexpected text after #!%s", d->text);
	snprintf(vbuf, sizeof(vbuf), "%.*s", (int)vn, var);
	env = getenv(vbuf);
	if (cfg_define_find(pp->cf, name, n)) {
		if (try)
			return 0;
		return cfg_error_tok(pp->e, d, "'%.*s' is already defined",
				     (int)n, name);
	}
	if (!env) {
		if (try)
			return 0;
		return cfg_error_tok(pp->e, d,
				     "#!%s: environment variable '%s' is not "
				     "set",
				     d->text, vbuf);
	}
	value = quoted ? quote_value(&pp->cf->pool, env)
		       : cfg_pool_strndup(&pp->cf->pool, env, strlen(env));
	if (!value)
		return -OSP_ENOMEM;
	return cfg_define_set(pp->cf, name, n, value);
}

/* ---- #!ifdef ---- */

static int missing_endif(cfg_pp_t *pp)
{
	pp_if_t *f = &pp->ifs[pp->nifs - 1];

	return cfg_error(pp->e, f->file, f->line, f->col,
			 "#!ifdef without #!endif");
}

static int do_ifdef(cfg_pp_t *pp, pp_src_t *src, const cfg_tok_t *d, int negate)
{
	cfg_lexer_t *lx = &src->lx;
	const char *name;
	size_t n;
	pp_if_t *f;
	int defined, line, col, r;

	if (!cfg_lex_ident(lx, &name, &n))
		return cfg_error(pp->e, lx->file, lx->line, lx->col,
				 "#!%s: expected a name", d->text);
	if (cfg_lex_end_of_directive(lx) < 0)
		return cfg_error(pp->e, lx->file, lx->line, lx->col,
				 "unexpected text after #!%s %.*s", d->text,
				 (int)n, name);
	if (pp->nifs == PP_MAX_IFDEF)
		return cfg_error_tok(pp->e, d,
				     "too many nested #!ifdef "
				     "(max %d)",
				     PP_MAX_IFDEF);
	f = &pp->ifs[pp->nifs++];
	f->else_seen = 0;
	f->file = d->file;
	f->line = d->line;
	f->col = d->col;
	defined = cfg_define_find(pp->cf, name, n) != NULL;
	if (defined != negate)
		return 0;
	r = cfg_lex_skip_branch(lx, 1, &line, &col);
	if (r == 0)
		return missing_endif(pp);
	if (r == 1)
		f->else_seen = 1;
	else
		pp->nifs--;
	return 0;
}

static int do_else(cfg_pp_t *pp, pp_src_t *src, const cfg_tok_t *d)
{
	cfg_lexer_t *lx = &src->lx;
	int line, col, r;

	if (pp->nifs <= src->if_base)
		return cfg_error_tok(pp->e, d, "#!else without #!ifdef");
	if (pp->ifs[pp->nifs - 1].else_seen)
		return cfg_error_tok(pp->e, d,
				     "second #!else for the same #!ifdef");
	if (cfg_lex_end_of_directive(lx) < 0)
		return cfg_error(pp->e, lx->file, lx->line, lx->col,
				 "unexpected text after #!else");
	r = cfg_lex_skip_branch(lx, 0, &line, &col);
	if (r == 0)
		return missing_endif(pp);
	if (r == 3)
		return cfg_error(pp->e, lx->file, line, col,
				 "second #!else for the same #!ifdef");
	pp->nifs--;
	return 0;
}

static int do_endif(cfg_pp_t *pp, pp_src_t *src, const cfg_tok_t *d)
{
	cfg_lexer_t *lx = &src->lx;

	if (pp->nifs <= src->if_base)
		return cfg_error_tok(pp->e, d, "#!endif without #!ifdef");
	if (cfg_lex_end_of_directive(lx) < 0)
		return cfg_error(pp->e, lx->file, lx->line, lx->col,
				 "unexpected text after #!endif");
	pp->nifs--;
	return 0;
}

/* ---- include_file / import_file ---- */

/* A relative path is looked up next to the including file first, then in
 * the current directory (Kamailio tries the current directory first; the
 * including file's directory first does not depend on where the server
 * was started). */
static int do_include(cfg_pp_t *pp, pp_src_t *src, const cfg_tok_t *d,
		      int import)
{
	const char *what = import ? "import_file" : "include_file";
	cfg_tok_t t;
	char *path = NULL;
	int rc;

	rc = cfg_lex_next(&src->lx, &pp->cf->pool, &t, pp->e);
	if (rc < 0)
		return rc;
	if (t.kind != CFG_T_STR)
		return cfg_error_tok(
		    pp->e, &t, "%s: expected a file name in quotes", what);
	rc = run_substs(pp, &t);
	if (rc < 0)
		return rc;
	if (!t.len)
		return cfg_error_tok(pp->e, &t, "%s: empty file name", what);
	if (pp->nfiles >= PP_MAX_INCLUDE)
		return cfg_error_tok(pp->e, &t,
				     "%s: files nested too deeply (max %d; "
				     "does a file include itself?)",
				     what, PP_MAX_INCLUDE);
	rc = -ENOENT;
	if (t.text[0] != '/' && src->dir[0]) {
		if (asprintf(&path, "%s/%s", src->dir, t.text) < 0)
			return -OSP_ENOMEM;
		rc = push_file(pp, path);
		free(path);
	}
	if (rc == -ENOENT || rc == -ENOTDIR)
		rc = push_file(pp, t.text);
	if (rc == -ENOMEM)
		return -OSP_ENOMEM;
	if (rc < 0) {
		if (import) {
			LOG_DBG("%s:%d: import_file '%s' skipped: %s", t.file,
				t.line, t.text, strerror(-rc));
			return 0;
		}
		return cfg_error_tok(pp->e, &t, "%s: cannot open '%s': %s",
				     what, t.text, strerror(-rc));
	}
	(void)d;
	return 0;
}

static int do_directive(cfg_pp_t *pp, pp_src_t *src, const cfg_tok_t *d)
{
	static const char *const compat[] = {
	    "KAMAILIO", "SER", "OPENSER", "MAXCOMPAT", "ALL", "OSPREY", NULL};
	static const char *const unsupported[] = {
	    "defexp", "defexps", "trydefexp", "trydefexps", "ifexp", NULL};
	const char *w = d->text;

	if (!strcmp(w, "define") || !strcmp(w, "def"))
		return do_define(pp, src, d, 0);
	if (!strcmp(w, "trydef") || !strcmp(w, "trydefine"))
		return do_define(pp, src, d, 1);
	if (!strcmp(w, "redefine") || !strcmp(w, "redef"))
		return do_define(pp, src, d, 2);
	if (!strcmp(w, "ifdef"))
		return do_ifdef(pp, src, d, 0);
	if (!strcmp(w, "ifndef"))
		return do_ifdef(pp, src, d, 1);
	if (!strcmp(w, "else"))
		return do_else(pp, src, d);
	if (!strcmp(w, "endif"))
		return do_endif(pp, src, d);
	if (!strcmp(w, "subst"))
		return do_subst(pp, src, d, 0);
	if (!strcmp(w, "substdef"))
		return do_subst(pp, src, d, 1);
	if (!strcmp(w, "substdefs"))
		return do_subst(pp, src, d, 2);
	if (!strcmp(w, "include_file"))
		return do_include(pp, src, d, 0);
	if (!strcmp(w, "import_file"))
		return do_include(pp, src, d, 1);
	if (!strcmp(w, "defenv"))
		return do_defenv(pp, src, d, 0, 0);
	if (!strcmp(w, "defenvs"))
		return do_defenv(pp, src, d, 1, 0);
	if (!strcmp(w, "trydefenv"))
		return do_defenv(pp, src, d, 0, 1);
	if (!strcmp(w, "trydefenvs"))
		return do_defenv(pp, src, d, 1, 1);
	for (int i = 0; compat[i]; i++) {
		if (!strcmp(w, compat[i])) {
			char *rest;

			return cfg_lex_rest_of_line(&src->lx, &pp->cf->pool,
						    &rest);
		}
	}
	for (int i = 0; unsupported[i]; i++)
		if (!strcmp(w, unsupported[i]))
			return cfg_error_tok(
			    pp->e, d, "#!%s is not supported by Osprey", w);
	return cfg_error_tok(pp->e, d, "unknown preprocessor directive '#!%s'",
			     w);
}

/* ---- the token stream ---- */

/* Is name being expanded already (a define never expands inside itself)? */
static int expanding(const cfg_pp_t *pp, const char *name)
{
	for (const pp_src_t *s = pp->top; s; s = s->up)
		if (s->is_macro && !strcmp(s->name, name))
			return 1;
	return 0;
}

static int push_macro(cfg_pp_t *pp, const cfg_define_t *def,
		      const cfg_tok_t *at)
{
	pp_src_t *s;

	if (pp->nmacros >= PP_MAX_MACRO)
		return cfg_error_tok(pp->e, at,
				     "define '%s' expands too deeply (max %d)",
				     def->name, PP_MAX_MACRO);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -OSP_ENOMEM;
	s->is_macro = 1;
	s->name = def->name;
	s->at = *at;
	s->first = 1;
	s->up = pp->top;
	cfg_lex_init(&s->lx, at->file, def->value, strlen(def->value), 1);
	pp->top = s;
	pp->nmacros++;
	return 0;
}

static int pp_read(cfg_pp_t *pp, cfg_tok_t *t)
{
	int rc;

	for (;;) {
		pp_src_t *src = pp->top;

		if (pp->eof || !src) {
			*t = pp->eof_tok;
			return 0;
		}
		rc = cfg_lex_next(&src->lx, &pp->cf->pool, t, pp->e);
		if (rc < 0)
			return rc;
		if (t->kind == CFG_T_EOF) {
			if (!src->is_macro && pp->nifs > src->if_base)
				return missing_endif(pp);
			if (!src->is_macro && !src->up) {
				pp->eof = 1;
				t->space = 2;
				pp->eof_tok = *t;
				return 0;
			}
			if (!src->is_macro)
				pp->force_nl = 1;
			pop_src(pp);
			continue;
		}
		if (src->is_macro) {
			t->file = src->at.file;
			t->line = src->at.line;
			t->col = src->at.col;
			if (src->first)
				t->space = src->at.space;
			src->first = 0;
		}
		if (t->kind == CFG_T_DIRECTIVE) {
			rc = do_directive(pp, src, t);
			if (rc < 0)
				return rc;
			pp->force_nl = 1;
			continue;
		}
		if (t->kind == CFG_T_ID && !src->is_macro &&
		    (!strcmp(t->text, "include_file") ||
		     !strcmp(t->text, "import_file"))) {
			rc = do_include(pp, src, t, t->text[1] == 'm');
			if (rc < 0)
				return rc;
			pp->force_nl = 1;
			continue;
		}
		if (t->kind == CFG_T_ID) {
			const cfg_define_t *def =
			    cfg_define_find(pp->cf, t->text, t->len);

			if (def && !expanding(pp, def->name)) {
				if (pp->force_nl)
					t->space = 2;
				pp->force_nl = 0;
				rc = push_macro(pp, def, t);
				if (rc < 0)
					return rc;
				continue;
			}
		}
		if ((t->kind == CFG_T_STR || t->kind == CFG_T_PVAR) &&
		    pp->substs) {
			rc = run_substs(pp, t);
			if (rc < 0)
				return rc;
		}
		if (pp->force_nl)
			t->space = 2;
		pp->force_nl = 0;
		return 0;
	}
}

int cfg_pp_next(cfg_pp_t *pp, cfg_tok_t *t)
{
	if (pp->has_peek) {
		*t = pp->peek;
		pp->has_peek = 0;
		return 0;
	}
	return pp_read(pp, t);
}

int cfg_pp_peek(cfg_pp_t *pp, const cfg_tok_t **t)
{
	if (!pp->has_peek) {
		int rc = pp_read(pp, &pp->peek);

		if (rc < 0)
			return rc;
		pp->has_peek = 1;
	}
	*t = &pp->peek;
	return 0;
}
