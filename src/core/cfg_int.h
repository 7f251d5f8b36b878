/* cfg_int.h - shared by the pieces of the configuration front end only:
 * cfg_lex.c (characters to tokens), cfg_pp.c (preprocessor: directives,
 * defines, includes) and cfg.c (statements, route blocks, applying). */
#ifndef OSP_CFG_INT_H
#define OSP_CFG_INT_H

#include <stdarg.h>
#include <stddef.h>

#include "core/cfg.h"

/* Everything a parsed configuration owns (token texts, names, file
 * contents) comes from its pool and is freed at once with it. */
typedef struct cfg_chunk cfg_chunk_t;
typedef struct cfg_pool {
	cfg_chunk_t *head;
} cfg_pool_t;

void *cfg_pool_alloc(cfg_pool_t *p, size_t n);
char *cfg_pool_strndup(cfg_pool_t *p, const char *s, size_t n);
void cfg_pool_free(cfg_pool_t *p);

/* The first error wins: later ones (consequences) are dropped. */
typedef struct cfg_err {
	char *buf;
	size_t cap;
	int set;
} cfg_err_t;

/* Format "FILE:LINE:COL: message" (no position when line is 0) into e and
 * return -OSP_EPARSE, so callers can write `return cfg_error(...)`. */
int cfg_error(cfg_err_t *e, const char *file, int line, int col,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int cfg_error_tok(cfg_err_t *e, const cfg_tok_t *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- lexer (cfg_lex.c) ---- */

typedef struct cfg_lexer {
	const char *file; /* shown in positions (pool string) */
	const char *p, *end;
	int line, col;
	int macro; /* lexing a define's value: '#' is always a
		    * comment, there are no directives */
} cfg_lexer_t;

void cfg_lex_init(cfg_lexer_t *lx, const char *file, const char *s, size_t len,
		  int macro);
/* Next token. A preprocessor directive ("#!word" or "!!word") comes back as
 * CFG_T_DIRECTIVE with text = word and the cursor just after the word; the
 * preprocessor reads its arguments with the helpers below. 0 or
 * -OSP_EPARSE / -OSP_ENOMEM. */
int cfg_lex_next(cfg_lexer_t *lx, cfg_pool_t *pool, cfg_tok_t *t, cfg_err_t *e);
/* Skip blanks (not line breaks). */
void cfg_lex_blanks(cfg_lexer_t *lx);
/* An identifier at the cursor (after blanks): 1 with *s, *n; 0 if none. */
int cfg_lex_ident(cfg_lexer_t *lx, const char **s, size_t *n);
/* The rest of the line, "\<newline>" joining lines, blanks trimmed at both
 * ends; the cursor moves past the line break. Pool copy in *out. */
int cfg_lex_rest_of_line(cfg_lexer_t *lx, cfg_pool_t *pool, char **out);
/* After a directive's arguments: only blanks or a comment may follow on the
 * line; consumes the line break. 0 or -1 (cursor at the offending text). */
int cfg_lex_end_of_directive(cfg_lexer_t *lx);
/* Skip a false #!ifdef branch, line by line, up to the #!else (when
 * stop_at_else) or #!endif that closes it, nested ones included. Returns
 * 1 for #!else, 2 for #!endif (cursor after that line), 3 for a second
 * #!else (cursor on it), 0 at end of input. *line, *col: where the
 * directive was. */
int cfg_lex_skip_branch(cfg_lexer_t *lx, int stop_at_else, int *line, int *col);

/* ---- the parsed configuration (cfg.c) ---- */

typedef struct cfg_define {
	char *name;
	char *value; /* "" when none */
} cfg_define_t;

typedef struct cfg_custom_var {
	char *name; /* "group.name" */
	char *sval; /* NULL for an integer */
	long ival;
	struct cfg_custom_var *next;
} cfg_custom_var_t;

/* A statement outside the route blocks (global parameter, loadmodule,
 * modparam, cfgengine) as written: what a reload of the route blocks
 * compares with the running configuration. */
typedef struct cfg_setting {
	char *name;  /* "children", "modparam(\"tm\", \"fr_timer\")" */
	char *value; /* its tokens after the name, blank-separated */
	struct cfg_setting *next;
} cfg_setting_t;

struct cfg_file {
	cfg_pool_t pool;
	cfg_setting_t *settings, *settings_tail;
	cfg_define_t *defines; /* heap array */
	size_t ndefines, capdefines;
	cfg_route_t *routes;
	cfg_route_t *routes_tail;
	cfg_custom_var_t *custom;
};

cfg_define_t *cfg_define_find(const struct cfg_file *cf, const char *name,
			      size_t len);
/* Add or replace a define (copies name and value into the pool). */
int cfg_define_set(struct cfg_file *cf, const char *name, size_t nlen,
		   const char *value);

/* ---- preprocessor (cfg_pp.c) ---- */

typedef struct cfg_pp cfg_pp_t;

/* Open path as the first source. NULL on error (e filled). */
cfg_pp_t *cfg_pp_open(struct cfg_file *cf, const char *path, cfg_err_t *e);
void cfg_pp_close(cfg_pp_t *pp);
/* The next token after preprocessing; CFG_T_EOF at the end. 0 or <0. */
int cfg_pp_next(cfg_pp_t *pp, cfg_tok_t *t);
/* The next token without consuming it (directives before it are run). */
int cfg_pp_peek(cfg_pp_t *pp, const cfg_tok_t **t);

#endif
