/* params.c - generic ";name=value" parameter lists (URI, Via, name-addr). */
#include "sip/sip_int.h"

/* A parameter list is read in one pass. Whitespace around ';' and '=' is
 * accepted (RFC 3261 SEMI and EQUAL are SWS-padded in header parameters;
 * URIs never contain whitespace, sip_uri_parse rejects it beforehand).
 * Quoted values are returned without their quotes, escapes untouched, so the
 * value stays a view into the buffer. Empty elements (";;", a trailing ';')
 * are skipped: they are harmless and some clients send them. The list
 * ends at end of input or at an unquoted character of `stop`; anything else
 * that cannot continue the list is an error.
 *
 * With a == NULL nothing is allocated and *out is left alone: the same
 * grammar is checked (sip_nameaddr_check relies on that to accept exactly
 * what the full parse accepts). tag, when not NULL, gets the first
 * parameter named "tag" (any case), tag->name.s == NULL when there is
 * none: From/To need only that one. */
/* The run of class cls at p, cut at the first character of stop. Every
 * caller stops at one character ("," in headers, "?" in URIs): one more
 * compare per byte; longer stop sets are cut with memchr afterwards. */
static inline __attribute__((always_inline)) const char *
scan_class(const char *p, const char *end, uint8_t cls, const char *stop)
{
	const char *b = p, *q;
	char c1 = stop ? stop[0] : 0;

	if (c1 && !stop[1]) {
		while (p < end && SIP_IS(*p, cls) && *p != c1)
			p++;
		return p;
	}
	while (p < end && SIP_IS(*p, cls))
		p++;
	for (; c1 && *stop && p > b; stop++) {
		q = memchr(b, *stop, (size_t)(p - b));
		if (q)
			p = q;
	}
	return p;
}

int sip_params_scan(arena_t *a, str_t s, const char *stop, sip_param_t **out,
		    size_t *consumed, sip_param_t *tag)
{
	const char *p, *end, *b, *q;
	sip_param_t *head = NULL, **tail = &head, *prm, tmp;
	uint64_t stopset[4] = {0, 0, 0, 0};
	int n = 0, rc = 0;

	s = sip_nonnull(s);
	p = s.s;
	end = s.s + s.len;
	if (tag)
		memset(tag, 0, sizeof(*tag));

	for (const char *c = stop; c && *c; c++)
		stopset[(uint8_t)*c >> 6] |= 1ull << ((uint8_t)*c & 63);
#define IS_STOP(c) (stopset[(uint8_t)(c) >> 6] & (1ull << ((uint8_t)(c)&63)))

	p = sip_skip_ws(p, end);
	if (p < end && *p == ';')
		p++;
	for (;;) {
		p = sip_skip_ws(p, end);
		if (p == end || IS_STOP(*p))
			break;
		if (*p == ';') {
			p++;
			continue;
		}
		b = p;
		p = scan_class(p, end, SC_PNAME, stop);
		if (p == b) {
			rc = -OSP_EPARSE;
			goto out;
		}
		prm = &tmp;
		if (a) {
			prm = arena_alloc(a, sizeof(*prm));
			if (!prm) {
				rc = -OSP_ENOMEM;
				goto out;
			}
		}
		prm->name = sip_mkstr(b, p);
		prm->value = (str_t){p, 0};
		prm->has_value = 0;
		prm->next = NULL;
		p = sip_skip_ws(p, end);
		if (p < end && *p == '=') {
			p = sip_skip_ws(p + 1, end);
			prm->has_value = 1;
			if (p < end && *p == '"') {
				q = sip_quoted_end(p, end);
				if (!q) {
					rc = -OSP_EPARSE;
					goto out;
				}
				prm->value = sip_mkstr(p + 1, q - 1);
				p = q;
			} else {
				b = p;
				p = scan_class(p, end, SC_PVAL, stop);
				prm->value = sip_mkstr(b, p);
			}
			p = sip_skip_ws(p, end);
		}
		if (tag && !tag->name.s && SIP_LC_EQ(prm->name, "tag"))
			*tag = *prm;
		if (a) {
			*tail = prm;
			tail = &prm->next;
		}
		n++;
		if (p == end || IS_STOP(*p))
			break;
		if (*p != ';') {
			rc = -OSP_EPARSE;
			goto out;
		}
		p++;
	}
#undef IS_STOP
	rc = n;
out:
	if (rc >= 0) {
		if (a)
			*out = head;
		if (consumed)
			*consumed = (size_t)(p - s.s);
	}
	return rc;
}

int sip_params_parse(arena_t *a, str_t s, const char *stop, sip_param_t **out,
		     size_t *consumed)
{
	/* a NULL arena would make this a validation: callers always pass one */
	if (!a)
		return -OSP_EINVAL;
	return sip_params_scan(a, s, stop, out, consumed, NULL);
}

const sip_param_t *sip_param_find(const sip_param_t *p, str_t name)
{
	for (; p; p = p->next)
		if (p->name.len == name.len &&
		    strncasecmp(p->name.s, name.s, name.len) == 0)
			return p;
	return NULL;
}
