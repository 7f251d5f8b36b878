/* str.c - helpers for str_t views. */
#include <stdint.h>

#include "core/str.h"

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

str_t str_trim(str_t s)
{
	while (s.len && is_ws(s.s[0])) {
		s.s++;
		s.len--;
	}
	while (s.len && is_ws(s.s[s.len - 1]))
		s.len--;
	return s;
}

long str_to_uint(str_t s)
{
	long v = 0;

	if (s.len == 0 || s.len > 10)
		return -1;
	for (size_t i = 0; i < s.len; i++) {
		if (s.s[i] < '0' || s.s[i] > '9')
			return -1;
		v = v * 10 + (s.s[i] - '0');
	}
	return v > INT32_MAX ? -1 : v;
}

char *str_to_buf(str_t s, char *dst, size_t cap)
{
	size_t n = s.len < cap - 1 ? s.len : cap - 1;

	if (n)
		memcpy(dst, s.s, n);
	dst[n] = '\0';
	return dst;
}
