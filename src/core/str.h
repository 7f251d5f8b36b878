/* str.h - non-owning string views used throughout the SIP path.
 *
 * A str_t points into a buffer owned by someone else (usually the received
 * datagram or a message arena); it is never NUL-terminated by contract. */
#ifndef OSP_STR_H
#define OSP_STR_H

#include <stddef.h>
#include <string.h>
#include <strings.h>

typedef struct str {
	const char *s;
	size_t len;
} str_t;

#define STR_NULL ((str_t){NULL, 0})
#define STR_LIT(lit) ((str_t){(lit), sizeof(lit) - 1})
/* printf helper: printf("%.*s", STR_FMT(x)) */
#define STR_FMT(x) (int)(x).len, (x).s

static inline str_t str_from(const char *s)
{
	return (str_t){s, s ? strlen(s) : 0};
}

static inline int str_eq(str_t a, str_t b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.s, b.s, a.len) == 0);
}

static inline int str_caseeq(str_t a, str_t b)
{
	return a.len == b.len && (a.len == 0 || strncasecmp(a.s, b.s, a.len) == 0);
}

static inline int str_eq_cstr(str_t a, const char *c)
{
	return str_eq(a, str_from(c));
}

static inline int str_caseeq_cstr(str_t a, const char *c)
{
	return str_caseeq(a, str_from(c));
}

/* Trim SP/HTAB/CR/LF from both ends. */
str_t str_trim(str_t s);
/* Parse a non-negative decimal integer that fills all of s; -1 on error or
 * overflow past INT32_MAX. */
long str_to_uint(str_t s);
/* Copy into a NUL-terminated buffer, truncating to cap-1; returns dst. */
char *str_to_buf(str_t s, char *dst, size_t cap);

#endif
