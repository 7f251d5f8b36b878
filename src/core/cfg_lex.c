/* cfg_lex.c - kamailio.cfg characters to tokens, with positions.
 *
 * The lexer knows comments ("#" to the end of the line unless "#!" starts a
 * directive, "//", nested C comments), string literals (double quotes with
 * escapes, single quotes raw; adjacent literals are joined as Kamailio
 * does), numbers, identifiers, pseudo-variables and operators. It knows
 * nothing about defines or statements: cfg_pp.c and cfg.c do that. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg_int.h"
#include "core/osp.h"

/* ---- pool ---- */

struct cfg_chunk {
	struct cfg_chunk *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

#define CFG_CHUNK_SIZE 8192

void *cfg_pool_alloc(cfg_pool_t *p, size_t n)
{
	cfg_chunk_t *c = p->head;
	void *r;

	n = (n + 15) & ~(size_t)15;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > CFG_CHUNK_SIZE ? n : CFG_CHUNK_SIZE;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = p->head;
		p->head = c;
	}
	r = c->data + c->used;
	c->used += n;
	return r;
}

char *cfg_pool_strndup(cfg_pool_t *p, const char *s, size_t n)
{
	char *d = cfg_pool_alloc(p, n + 1);

	if (!d)
		return NULL;
	if (n)
		memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

void cfg_pool_free(cfg_pool_t *p)
{
	cfg_chunk_t *c = p->head, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	p->head = NULL;
}

/* ---- errors ---- */

static int cfg_verror(cfg_err_t *e, const char *file, int line, int col,
		      const char *fmt, va_list ap)
{
	int n = 0;

	if (!e || e->set || !e->buf || !e->cap)
		return -OSP_EPARSE;
	e->set = 1;
	if (file && line > 0)
		n = snprintf(e->buf, e->cap, "%s:%d:%d: ", file, line, col);
	else if (file)
		n = snprintf(e->buf, e->cap, "%s: ", file);
	if (n < 0)
		n = 0;
	if ((size_t)n < e->cap)
		vsnprintf(e->buf + n, e->cap - n, fmt, ap);
	return -OSP_EPARSE;
}

int cfg_error(cfg_err_t *e, const char *file, int line, int col,
	      const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = cfg_verror(e, file, line, col, fmt, ap);
	va_end(ap);
	return rc;
}

int cfg_error_tok(cfg_err_t *e, const cfg_tok_t *t, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = cfg_verror(e, t->file, t->line, t->col, fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- cursor ---- */

void cfg_lex_init(cfg_lexer_t *lx, const char *file, const char *s, size_t len,
		  int macro)
{
	lx->file = file;
	lx->p = s;
	lx->end = s + len;
	lx->line = 1;
	lx->col = 1;
	lx->macro = macro;
}

static int at(const cfg_lexer_t *lx, size_t off)
{
	return lx->p + off < lx->end ? (unsigned char)lx->p[off] : -1;
}

static void adv(cfg_lexer_t *lx, size_t n)
{
	for (; n && lx->p < lx->end; n--, lx->p++) {
		if (*lx->p == '\n') {
			lx->line++;
			lx->col = 1;
		} else {
			lx->col++;
		}
	}
}

static int is_id_start(int c)
{
	return c >= 0 && (isalpha(c) || c == '_');
}

static int is_id_char(int c)
{
	return c >= 0 && (isalnum(c) || c == '_');
}

static int is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' ||
	       c == '\b';
}

/* A line break escaped with a backslash: "\\\n" or "\\\r\n". Returns the
 * length to skip, 0 when there is none at the cursor. */
static size_t escaped_newline(const cfg_lexer_t *lx)
{
	if (at(lx, 0) != '\\')
		return 0;
	if (at(lx, 1) == '\n')
		return 2;
	if (at(lx, 1) == '\r' && at(lx, 2) == '\n')
		return 3;
	return 0;
}

static void skip_to_eol(cfg_lexer_t *lx)
{
	while (lx->p < lx->end && *lx->p != '\n')
		adv(lx, 1);
}

void cfg_lex_blanks(cfg_lexer_t *lx)
{
	while (is_blank(at(lx, 0)))
		adv(lx, 1);
}

/* Directives also spelled with "!!" (which is otherwise two operators). */
static int is_directive_word(const char *s, size_t n)
{
	static const char *const words[] = {
	    "define", "def",	  "trydef",    "trydefine",    "redefine",
	    "redef",  "ifdef",	  "ifndef",    "else",	       "endif",
	    "subst",  "substdef", "substdefs", "include_file", "import_file",
	    "defenv", "defenvs",  "trydefenv", "trydefenvs",   NULL};

	for (int i = 0; words[i]; i++)
		if (strlen(words[i]) == n && memcmp(words[i], s, n) == 0)
			return 1;
	return 0;
}

/* Length of the identifier starting off bytes after the cursor. */
static size_t id_len_at(const cfg_lexer_t *lx, size_t off)
{
	size_t n = 0;

	if (!is_id_start(at(lx, off)))
		return 0;
	while (is_id_char(at(lx, off + n)))
		n++;
	return n;
}

/* Is there a directive at the cursor ("#!word", or "!!word" for the known
 * words)? Returns the length of the word, 0 if there is none. */
static size_t directive_at(const cfg_lexer_t *lx)
{
	size_t n;

	if (lx->macro)
		return 0;
	if (at(lx, 0) == '#' && at(lx, 1) == '!')
		return id_len_at(lx, 2);
	if (at(lx, 0) == '!' && at(lx, 1) == '!') {
		n = id_len_at(lx, 2);
		if (n && is_directive_word(lx->p + 2, n))
			return n;
	}
	return 0;
}

/* Skip blanks, line breaks and comments before a token; *space says what
 * was skipped (see cfg_tok_t.space). */
static int skip_space(cfg_lexer_t *lx, int *space, cfg_err_t *e)
{
	size_t n;

	*space = 0;
	for (;;) {
		int c = at(lx, 0);

		if (is_blank(c)) {
			adv(lx, 1);
			if (*space < 1)
				*space = 1;
		} else if (c == '\n') {
			adv(lx, 1);
			*space = 2;
		} else if ((n = escaped_newline(lx)) != 0) {
			/* a continued line is still the same line */
			adv(lx, n);
			if (*space < 1)
				*space = 1;
		} else if (c == '#' && !directive_at(lx)) {
			skip_to_eol(lx);
			if (*space < 1)
				*space = 1;
		} else if (c == '/' && at(lx, 1) == '/') {
			skip_to_eol(lx);
			if (*space < 1)
				*space = 1;
		} else if (c == '/' && at(lx, 1) == '*') {
			/* C comments nest, as in Kamailio */
			int line = lx->line, col = lx->col, depth = 0;

			do {
				if (lx->p >= lx->end)
					return cfg_error(e, lx->file, line, col,
							 "unterminated comment "
							 "(missing '*/')");
				if (at(lx, 0) == '/' && at(lx, 1) == '*') {
					depth++;
					adv(lx, 2);
				} else if (at(lx, 0) == '*' &&
					   at(lx, 1) == '/') {
					depth--;
					adv(lx, 2);
				} else {
					if (at(lx, 0) == '\n')
						*space = 2;
					adv(lx, 1);
				}
			} while (depth > 0);
			if (*space < 1)
				*space = 1;
		} else {
			return 0;
		}
	}
}

/* A growable byte buffer for string literals. */
typedef struct sbuf {
	char *s;
	size_t len, cap;
} sbuf_t;

static int sbuf_add(sbuf_t *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		char *ns;

		while (cap < b->len + n + 1)
			cap *= 2;
		ns = realloc(b->s, cap);
		if (!ns)
			return -OSP_ENOMEM;
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

static int sbuf_addc(sbuf_t *b, char c)
{
	return sbuf_add(b, &c, 1);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One double-quoted literal, the cursor on the opening quote. Escapes as in
 * Kamailio: \n \r \t \a \" \\ \xH[H] \NN[N] (octal), a backslash before a
 * line break joins the lines; any other backslash is kept as is (so
 * "\1" reaches a regular expression unchanged). */
static int lex_dquoted(cfg_lexer_t *lx, sbuf_t *b)
{
	adv(lx, 1);
	for (;;) {
		int c = at(lx, 0);
		size_t n;

		if (c < 0)
			return -1;
		if (c == '"') {
			adv(lx, 1);
			return 0;
		}
		if (c != '\\') {
			if (sbuf_addc(b, (char)c) < 0)
				return -OSP_ENOMEM;
			adv(lx, 1);
			continue;
		}
		if ((n = escaped_newline(lx)) != 0) {
			adv(lx, n);
			continue;
		}
		c = at(lx, 1);
		switch (c) {
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'a': c = '\a'; break;
		case '"': break;
		case '\\': break;
		case 'x':
			if (hexval(at(lx, 2)) >= 0) {
				int v = hexval(at(lx, 2));

				n = 3;
				if (hexval(at(lx, 3)) >= 0) {
					v = v * 16 + hexval(at(lx, 3));
					n = 4;
				}
				if (sbuf_addc(b, (char)v) < 0)
					return -OSP_ENOMEM;
				adv(lx, n);
				continue;
			}
			c = -1;
			break;
		default:
			if (c >= '0' && c <= '7' && at(lx, 2) >= '0' &&
			    at(lx, 2) <= '7') {
				int v = (c - '0') * 8 + (at(lx, 2) - '0');

				n = 3;
				if (at(lx, 3) >= '0' && at(lx, 3) <= '7' &&
				    v < 32) {
					v = v * 8 + (at(lx, 3) - '0');
					n = 4;
				}
				if (sbuf_addc(b, (char)v) < 0)
					return -OSP_ENOMEM;
				adv(lx, n);
				continue;
			}
			c = -1;
		}
		if (c < 0) {
			/* not an escape: the backslash stays */
			if (sbuf_addc(b, '\\') < 0)
				return -OSP_ENOMEM;
			adv(lx, 1);
			continue;
		}
		if (sbuf_addc(b, (char)c) < 0)
			return -OSP_ENOMEM;
		adv(lx, 2);
	}
}

/* Single quotes: no escapes at all, as in Kamailio. */
static int lex_squoted(cfg_lexer_t *lx, sbuf_t *b)
{
	const char *s;

	adv(lx, 1);
	s = lx->p;
	while (lx->p < lx->end && *lx->p != '\'')
		adv(lx, 1);
	if (lx->p >= lx->end)
		return -1;
	if (sbuf_add(b, s, lx->p - s) < 0)
		return -OSP_ENOMEM;
	adv(lx, 1);
	return 0;
}

/* A string token: one literal and the ones that follow it separated only
 * by blanks and line breaks ("a" "b" is "ab"). */
static int lex_string(cfg_lexer_t *lx, cfg_pool_t *pool, cfg_tok_t *t,
		      cfg_err_t *e)
{
	sbuf_t b = {0};
	int rc;

	for (;;) {
		int line = lx->line, col = lx->col;
		cfg_lexer_t save;

		rc = at(lx, 0) == '"' ? lex_dquoted(lx, &b)
				      : lex_squoted(lx, &b);
		if (rc == -1) {
			rc = cfg_error(e, lx->file, line, col,
				       "unterminated string");
			goto out;
		}
		if (rc < 0)
			goto out;
		save = *lx;
		while (is_blank(at(lx, 0)) || at(lx, 0) == '\n')
			adv(lx, 1);
		if (at(lx, 0) != '"' && at(lx, 0) != '\'') {
			*lx = save;
			break;
		}
	}
	t->kind = CFG_T_STR;
	t->len = b.len;
	t->text = cfg_pool_strndup(pool, b.s ? b.s : "", b.len);
	rc = t->text ? 0 : -OSP_ENOMEM;
out:
	free(b.s);
	return rc;
}

/* Numbers as Kamailio writes them: decimal, 0x hex, 0 octal, [01]+b
 * binary. Anything else starting with a digit is a word (CFG_T_ID), e.g.
 * a piece of an IPv6 address. */
static int classify_number(const char *s, size_t n, long *out)
{
	char buf[72], *end;
	int base = 10;
	size_t i;

	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (n > 1 && buf[n - 1] == 'b') {
		for (i = 0; i < n - 1; i++)
			if (buf[i] != '0' && buf[i] != '1')
				break;
		if (i == n - 1) {
			buf[n - 1] = '\0';
			base = 2;
		}
	}
	if (base == 10 && n > 2 && buf[0] == '0' &&
	    (buf[1] == 'x' || buf[1] == 'X'))
		base = 16;
	else if (base == 10 && n > 1 && buf[0] == '0' &&
		 strspn(buf, "01234567") == n)
		base = 8;
	errno = 0;
	*out = strtol(buf, &end, base);
	if (*end)
		return 0;
	if (errno == ERANGE)
		return -1;
	return 1;
}

/* "$(...)" and "$name(...)": the parentheses nest. */
static int lex_pvar(cfg_lexer_t *lx, cfg_pool_t *pool, cfg_tok_t *t,
		    cfg_err_t *e)
{
	const char *s = lx->p;
	size_t n;

	adv(lx, 1);
	if (at(lx, 0) == '?') {
		adv(lx, 1);
	} else {
		n = id_len_at(lx, 0);
		adv(lx, n);
		if (!n && at(lx, 0) != '(') {
			t->kind = CFG_T_OP;
			t->text = "$";
			t->len = 1;
			return 0;
		}
		if (at(lx, 0) == '(') {
			int depth = 0;

			do {
				int c = at(lx, 0);

				if (c < 0 || c == '\n')
					return cfg_error_tok(
					    e, t,
					    "unterminated pseudo-variable "
					    "(missing ')')");
				if (c == '(')
					depth++;
				else if (c == ')')
					depth--;
				adv(lx, 1);
			} while (depth > 0);
		}
	}
	t->kind = CFG_T_PVAR;
	t->len = lx->p - s;
	t->text = cfg_pool_strndup(pool, s, t->len);
	return t->text ? 0 : -OSP_ENOMEM;
}

int cfg_lex_next(cfg_lexer_t *lx, cfg_pool_t *pool, cfg_tok_t *t, cfg_err_t *e)
{
	static const char *const ops2[] = {"==", "!=", "=~", ">=", "<=", "&&",
					   "||", "+=", "<<", ">>", NULL};
	static const char ops1[] = "=<>!&|^~+-*/%(){}[];,:.@?";
	int rc, c;
	size_t n;

	memset(t, 0, sizeof(*t));
	rc = skip_space(lx, &t->space, e);
	if (rc < 0)
		return rc;
	t->file = lx->file;
	t->line = lx->line;
	t->col = lx->col;
	c = at(lx, 0);
	if (c < 0) {
		t->kind = CFG_T_EOF;
		t->text = "";
		return 0;
	}
	if ((n = directive_at(lx)) != 0) {
		t->kind = CFG_T_DIRECTIVE;
		t->text = cfg_pool_strndup(pool, lx->p + 2, n);
		t->len = n;
		adv(lx, n + 2);
		return t->text ? 0 : -OSP_ENOMEM;
	}
	if (is_id_start(c) || isdigit(c)) {
		const char *s = lx->p;

		n = 0;
		while (is_id_char(at(lx, n)))
			n++;
		adv(lx, n);
		t->kind = CFG_T_ID;
		if (isdigit(c)) {
			rc = classify_number(s, n, &t->num);
			if (rc < 0)
				return cfg_error_tok(
				    e, t, "number too large: %.*s", (int)n, s);
			if (rc > 0)
				t->kind = CFG_T_NUM;
		}
		t->len = n;
		t->text = cfg_pool_strndup(pool, s, n);
		return t->text ? 0 : -OSP_ENOMEM;
	}
	if (c == '"' || c == '\'')
		return lex_string(lx, pool, t, e);
	if (c == '$')
		return lex_pvar(lx, pool, t, e);
	for (int i = 0; ops2[i]; i++) {
		if (c == ops2[i][0] && at(lx, 1) == ops2[i][1]) {
			t->kind = CFG_T_OP;
			t->text = ops2[i];
			t->len = 2;
			adv(lx, 2);
			return 0;
		}
	}
	if (strchr(ops1, c)) {
		t->kind = CFG_T_OP;
		t->text = cfg_pool_strndup(pool, lx->p, 1);
		t->len = 1;
		adv(lx, 1);
		return t->text ? 0 : -OSP_ENOMEM;
	}
	if (isprint(c))
		return cfg_error_tok(e, t, "unexpected character '%c'", c);
	return cfg_error_tok(e, t, "unexpected byte 0x%02x", c);
}

/* ---- helpers for directive arguments ---- */

int cfg_lex_ident(cfg_lexer_t *lx, const char **s, size_t *n)
{
	cfg_lex_blanks(lx);
	*n = id_len_at(lx, 0);
	if (!*n)
		return 0;
	*s = lx->p;
	adv(lx, *n);
	return 1;
}

int cfg_lex_rest_of_line(cfg_lexer_t *lx, cfg_pool_t *pool, char **out)
{
	sbuf_t b = {0};
	int rc = 0;
	size_t n;

	cfg_lex_blanks(lx);
	while (lx->p < lx->end && *lx->p != '\n') {
		if ((n = escaped_newline(lx)) != 0) {
			adv(lx, n);
			continue;
		}
		if (sbuf_addc(&b, *lx->p) < 0) {
			rc = -OSP_ENOMEM;
			goto out;
		}
		adv(lx, 1);
	}
	adv(lx, 1);
	while (b.len && is_blank((unsigned char)b.s[b.len - 1]))
		b.len--;
	*out = cfg_pool_strndup(pool, b.s ? b.s : "", b.len);
	if (!*out)
		rc = -OSP_ENOMEM;
out:
	free(b.s);
	return rc;
}

int cfg_lex_end_of_directive(cfg_lexer_t *lx)
{
	cfg_lex_blanks(lx);
	if (lx->p >= lx->end)
		return 0;
	if (*lx->p == '#' || (at(lx, 0) == '/' && at(lx, 1) == '/'))
		skip_to_eol(lx);
	if (lx->p >= lx->end)
		return 0;
	if (*lx->p != '\n')
		return -1;
	adv(lx, 1);
	return 0;
}

int cfg_lex_skip_branch(cfg_lexer_t *lx, int stop_at_else, int *line, int *col)
{
	int depth = 0;

	while (lx->p < lx->end) {
		size_t n;

		cfg_lex_blanks(lx);
		*line = lx->line;
		*col = lx->col;
		if ((at(lx, 0) == '#' || at(lx, 0) == '!') &&
		    at(lx, 1) == '!' && (n = id_len_at(lx, 2)) != 0) {
			const char *w = lx->p + 2;

			if ((n == 5 && memcmp(w, "ifdef", 5) == 0) ||
			    (n == 6 && memcmp(w, "ifndef", 6) == 0)) {
				depth++;
			} else if (n == 4 && memcmp(w, "else", 4) == 0 &&
				   depth == 0) {
				if (!stop_at_else)
					return 3;
				skip_to_eol(lx);
				adv(lx, 1);
				return 1;
			} else if (n == 5 && memcmp(w, "endif", 5) == 0) {
				if (depth == 0) {
					skip_to_eol(lx);
					adv(lx, 1);
					return 2;
				}
				depth--;
			}
		}
		skip_to_eol(lx);
		adv(lx, 1);
	}
	return 0;
}
