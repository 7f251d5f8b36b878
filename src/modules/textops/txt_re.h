/* txt_re.h - POSIX regular expressions for textops: a per-thread cache of
 * compiled patterns, sed-like substitutions ("/re/repl/flags") and the
 * list of edits a search-and-replace produces. */
#ifndef OSP_MOD_TXT_RE_H
#define OSP_MOD_TXT_RE_H

#include <regex.h>

#include "core/arena.h"
#include "core/str.h"

/* Kamailio compiles textops patterns with these flags. */
#define TXT_RE_FLAGS (REG_EXTENDED | REG_ICASE | REG_NEWLINE)

/* The compiled form of pattern (cached per thread, bounded, least
 * recently used evicted). NULL when the pattern does not compile (logged).
 * Since the least recently used entry goes first, the pointers from the
 * last two calls of a thread stay valid. */
regex_t *txt_re_get(str_t pattern, int cflags);

/* One change of a text: len bytes at off are replaced by repl (len 0: an
 * insertion). Lists are sorted by offset and never overlap. */
typedef struct txt_edit {
	size_t off;
	size_t len;
	str_t repl;
} txt_edit_t;

/* A parsed substitution. */
typedef struct txt_subst {
	regex_t *re;
	str_t repl; /* replacement, escapes not yet expanded */
	char sep;
	int global; /* 'g' */
} txt_subst_t;

/* Parse "<sep>re<sep>repl<sep>flags" (flags: i ignore case, g global, s
 * let '.' and '^$' cross newlines). 0, or -1 (logged) when malformed. */
int txt_subst_parse(str_t expr, txt_subst_t *se);

/* How txt_find() builds each edit. */
typedef struct txt_find {
	regex_t *re;
	int all;	       /* every match, else the first */
	int bol_after_nl;      /* a match ending a line lets '^' match again */
	int empty_err;	       /* an empty match is an error (Kamailio) */
	int insert_after;      /* insert repl after the match instead */
	const txt_subst_t *se; /* replacement from a substitution, or */
	str_t repl;	       /* this fixed text */
} txt_find_t;

/* Search text (NUL-terminated at text[len]) and return the edits in *out
 * (arena). Returns the number of matches (0: none), -1 on error. */
int txt_find(arena_t *a, const txt_find_t *f, const char *text, size_t len,
	     txt_edit_t **out);

/* Plain (non-regex) search of needle, first or all occurrences. */
int txt_find_str(arena_t *a, str_t text, str_t needle, str_t repl, int all,
		 txt_edit_t **out);

/* src with the n edits applied. Edit offsets count from `base`, the
 * offset src.s stands at (0 when the edits were found in src itself).
 * STR_NULL on ENOMEM; the result is NUL-terminated. */
str_t txt_apply(arena_t *a, str_t src, size_t base, const txt_edit_t *e, int n);

/* NUL-terminated arena copy (regexec needs one). NULL on ENOMEM. */
char *txt_dup(arena_t *a, str_t s);

#endif
