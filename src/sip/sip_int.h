/* sip_int.h - helpers shared by the files of the SIP parser (not public).
 *
 * Character classes are one table lookup; the scanners work on [p, end)
 * ranges and never read past end, since nothing in the SIP path is
 * NUL-terminated. */
#ifndef OSP_SIP_INT_H
#define OSP_SIP_INT_H

#include <stdint.h>

#include "core/osp.h"
#include "sip/msg.h"

/* hdr->flags bit: the lazy parse of this header's value failed once; the
 * accessors answer NULL again without re-parsing. */
#define SIP_HDR_F_PARSE_ERR 0x80000000u

enum {
	SC_TOKEN = 0x01, /* RFC 3261 token character */
	SC_WS = 0x02,    /* SP, HTAB, CR, LF (LWS once folding is allowed) */
	SC_DIGIT = 0x04,
	SC_HOST = 0x08,  /* hostname: alnum, '-', '.', '_' (tolerated) */
	SC_HEX = 0x10,
	SC_URIBAD = 0x20, /* never inside a URI: CTL, SP, '"', '<', '>', DEL */
	SC_PNAME = 0x40, /* parameter name: printable except ;=",<>  */
	SC_PVAL = 0x80,  /* unquoted parameter value: printable except ;"  */
};

extern const uint8_t sip_ctype[256];
extern const uint8_t sip_lower[256];

#define SIP_IS(c, cls) (sip_ctype[(uint8_t)(c)] & (cls))

static inline const char *sip_skip_ws(const char *p, const char *end)
{
	while (p < end && SIP_IS(*p, SC_WS))
		p++;
	return p;
}

static inline const char *sip_skip_token(const char *p, const char *end)
{
	while (p < end && SIP_IS(*p, SC_TOKEN))
		p++;
	return p;
}

/* Public parsers accept STR_NULL: make it an empty view that pointer
 * arithmetic may touch. */
static inline str_t sip_nonnull(str_t s)
{
	return s.s ? s : (str_t){"", 0};
}

static inline str_t sip_mkstr(const char *b, const char *e)
{
	return (str_t){b, (size_t)(e - b)};
}

/* Case-insensitive comparison of s with a lower-case literal of the same
 * length (the caller checked the length). */
static inline int sip_lc_eq(const char *s, const char *lc, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (sip_lower[(uint8_t)s[i]] != (uint8_t)lc[i])
			return 0;
	return 1;
}

#define SIP_LC_EQ(sv, lit)                                                     \
	((sv).len == sizeof(lit) - 1 && sip_lc_eq((sv).s, (lit), sizeof(lit) - 1))

/* p points at '"'. Returns the position just after the closing quote, or
 * NULL when the string is not terminated before end. Backslash escapes the
 * next character. */
const char *sip_quoted_end(const char *p, const char *end);

/* Parse host [":" port] at p (no leading whitespace). The host is a
 * hostname/IPv4 address or an IPv6 reference in brackets (kept). Optional
 * whitespace around ':' is accepted when lws is set (Via sent-by). *next
 * gets the first byte not used. 0 or -OSP_EPARSE. */
int sip_hostport_parse(const char *p, const char *end, int lws, str_t *host,
		       str_t *port, int *port_no, int *ipv6, const char **next);

/* Parse one name-addr / addr-spec plus its header parameters starting at p;
 * stops before a ',' at top level (list separator) or at end. *next gets the
 * position of that ',' (or end), after trailing whitespace. */
int sip_nameaddr_parse_one(arena_t *a, const char *p, const char *end,
			   sip_nameaddr_t *na, const char **next);

/* sip_nameaddr_parse's grammar without parsing the URI or building the
 * parameter list, and without allocating: 0 exactly when sip_nameaddr_parse
 * would accept value, else -OSP_EPARSE. na gets display, uri_str, params,
 * tag (tag.s != NULL when there is a tag parameter) and raw; uri_ok is 0. */
int sip_nameaddr_check(str_t value, sip_nameaddr_t *na);

/* sip_params_parse with two additions: a == NULL only validates (nothing
 * allocated, *out untouched), and tag (if not NULL) gets the first "tag"
 * parameter (tag->name.s == NULL when there is none). */
int sip_params_scan(arena_t *a, str_t s, const char *stop, sip_param_t **out,
		    size_t *consumed, sip_param_t *tag);

/* Decimal value of a digits-only string, clamped to INT32_MAX; -1 when s is
 * empty or holds a non-digit. */
long sip_uint_clamped(str_t s);

#endif
