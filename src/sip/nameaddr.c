/* nameaddr.c - name-addr / addr-spec values: From, To, Contact, Route,
 * Record-Route, Path (RFC 3261 §20.10, §20.20, §20.30, §20.39). */
#include "sip/sip_int.h"

/* Decide between `[display] <uri>` and a bare addr-spec: a display name is
 * made of tokens (and LWS) or a quoted string, so a '<' met before any ':',
 * ';' or ',' means name-addr; a ':' first means the scheme of an addr-spec.
 * Unquoted display names are accepted with any non-special bytes (UTF-8
 * display names are common in the wild). In the addr-spec form the URI ends
 * at ';', ',' or whitespace: RFC 3261 §20 makes every parameter after a
 * bare addr-spec a header parameter. A URI that is not sip/sips/tel (or is
 * malformed) leaves uri_ok at 0 without failing the element, as long as it
 * has a scheme.
 *
 * full == 0 is the light form (sip_nameaddr_check): the same grammar, but
 * the URI is not parsed (uri_ok 0) and no parameter list is built (a may be
 * NULL); display, uri_str, params, tag and raw are filled. Since a URI that
 * does not parse never fails the element, both forms accept exactly the
 * same input (short of running out of memory). */
static int nameaddr_one(arena_t *a, const char *p, const char *end,
			sip_nameaddr_t *na, const char **next, int full)
{
	const char *start, *q, *ue;
	sip_param_t tag;
	size_t used;
	int rc;

	memset(na, 0, sizeof(*na));
	p = sip_skip_ws(p, end);
	start = p;
	if (p < end && *p == '"') {
		q = sip_quoted_end(p, end);
		if (!q)
			return -OSP_EPARSE;
		na->display = sip_mkstr(p, q);
		p = sip_skip_ws(q, end);
		if (p == end || *p != '<')
			return -OSP_EPARSE;
	} else {
		for (q = p; q < end; q++)
			if (*q == '<' || *q == ':' || *q == ';' || *q == ',' ||
			    *q == '"')
				break;
		if (q < end && *q == '<') {
			na->display = str_trim(sip_mkstr(p, q));
			p = q;
		}
	}
	if (p < end && *p == '<') {
		ue = memchr(p + 1, '>', (size_t)(end - p - 1));
		if (!ue)
			return -OSP_EPARSE;
		na->uri_str = str_trim(sip_mkstr(p + 1, ue));
		p = ue + 1;
	} else {
		for (q = p; q < end && *q != ';' && *q != ',' &&
			    !SIP_IS(*q, SC_WS);
		     q++)
			;
		na->uri_str = sip_mkstr(p, q);
		p = q;
	}
	/* every addr-spec has a scheme (SIP-URI / SIPS-URI / absoluteURI) */
	if (!na->uri_str.len || !memchr(na->uri_str.s, ':', na->uri_str.len))
		return -OSP_EPARSE;
	if (full) {
		rc = sip_uri_parse(a, na->uri_str, &na->uri);
		if (rc == -OSP_ENOMEM)
			return rc;
		na->uri_ok = rc == 0;
	}
	q = p;
	p = sip_skip_ws(p, end);
	if (p < end && *p == ';') {
		rc = sip_params_scan(full ? a : NULL, sip_mkstr(p, end), ",",
				     &na->param_list, &used, &tag);
		if (rc < 0)
			return rc;
		na->params = str_trim(sip_mkstr(p + 1, p + used));
		p += used;
		q = p;
		if (tag.name.s)
			na->tag = tag.value;
	}
	na->raw = str_trim(sip_mkstr(start, q));
	p = sip_skip_ws(p, end);
	if (p < end && *p != ',')
		return -OSP_EPARSE;
	*next = p;
	return 0;
}

int sip_nameaddr_parse_one(arena_t *a, const char *p, const char *end,
			   sip_nameaddr_t *na, const char **next)
{
	return nameaddr_one(a, p, end, na, next, 1);
}

/* A single element (From, To): a ',' after it is an error. */
int sip_nameaddr_parse(arena_t *a, str_t value, sip_nameaddr_t *na)
{
	const char *next;
	int rc;

	value = sip_nonnull(value);
	rc = nameaddr_one(a, value.s, value.s + value.len, na, &next, 1);
	if (rc < 0)
		return rc;
	return next == value.s + value.len ? 0 : -OSP_EPARSE;
}

int sip_nameaddr_check(str_t value, sip_nameaddr_t *na)
{
	const char *next;
	int rc;

	value = sip_nonnull(value);
	rc = nameaddr_one(NULL, value.s, value.s + value.len, na, &next, 0);
	if (rc < 0)
		return rc;
	return next == value.s + value.len ? 0 : -OSP_EPARSE;
}

/* RFC 3261 qvalue: "0" ["." 0*3DIGIT] / "1" ["." 0*3("0")]; *q1000 gets
 * the value times 1000. */
static int parse_q(str_t s, int *q1000)
{
	int v, scale = 100;

	if (s.len == 0 || (s.s[0] != '0' && s.s[0] != '1') || s.len > 5)
		return -OSP_EPARSE;
	v = (s.s[0] - '0') * 1000;
	if (s.len > 1) {
		if (s.s[1] != '.')
			return -OSP_EPARSE;
		for (size_t i = 2; i < s.len; i++, scale /= 10) {
			if (!SIP_IS(s.s[i], SC_DIGIT))
				return -OSP_EPARSE;
			v += (s.s[i] - '0') * scale;
		}
	}
	if (v > 1000)
		return -OSP_EPARSE;
	*q1000 = v;
	return 0;
}

static int contact_fill(sip_contact_t *c)
{
	c->expires_val = -1;
	c->q_val = -1;
	for (const sip_param_t *p = c->na.param_list; p; p = p->next) {
		if (SIP_LC_EQ(p->name, "expires")) {
			c->expires = p->value;
			/* a malformed expires is ignored like an absent one:
			 * the registrar then applies its default */
			c->expires_val = (int)sip_uint_clamped(p->value);
		} else if (SIP_LC_EQ(p->name, "q")) {
			c->q = p->value;
			if (parse_q(p->value, &c->q_val) < 0)
				return -OSP_EPARSE;
		} else if (SIP_LC_EQ(p->name, "+sip.instance")) {
			c->instance = p->value;
		} else if (SIP_LC_EQ(p->name, "reg-id")) {
			c->reg_id = p->value;
		}
	}
	return 0;
}

/* "*" or a list; empty list elements are skipped, an empty list is an
 * error. A malformed q fails the whole header (the registrar answers 400). */
int sip_contact_parse(arena_t *a, str_t value, sip_contact_list_t *out)
{
	const char *p, *end;
	sip_contact_t *c, **tail = &out->first;
	int rc = 0, n = 0;

	value = sip_nonnull(value);
	p = value.s;
	end = value.s + value.len;

	out->star = 0;
	out->first = NULL;
	value = str_trim(value);
	if (value.len == 1 && value.s[0] == '*') {
		out->star = 1;
		return 0;
	}
	for (;;) {
		p = sip_skip_ws(p, end);
		if (p == end)
			break;
		if (*p == ',') {
			p++;
			continue;
		}
		c = arena_alloc(a, sizeof(*c));
		if (!c) {
			rc = -OSP_ENOMEM;
			goto out;
		}
		rc = sip_nameaddr_parse_one(a, p, end, &c->na, &p);
		if (rc < 0)
			goto out;
		c->expires = STR_NULL;
		c->q = STR_NULL;
		c->instance = STR_NULL;
		c->reg_id = STR_NULL;
		c->next = NULL;
		rc = contact_fill(c);
		if (rc < 0)
			goto out;
		*tail = c;
		tail = &c->next;
		n++;
	}
	rc = n ? n : -OSP_EPARSE;
out:
	if (rc < 0)
		out->first = NULL;
	return rc;
}

int sip_rr_parse(arena_t *a, str_t value, sip_rr_t **out)
{
	const char *p, *end;
	sip_rr_t *head = NULL, **tail = &head, *r;
	int rc = 0, n = 0;

	value = sip_nonnull(value);
	p = value.s;
	end = value.s + value.len;

	for (;;) {
		p = sip_skip_ws(p, end);
		if (p == end)
			break;
		if (*p == ',') {
			p++;
			continue;
		}
		r = arena_alloc(a, sizeof(*r));
		if (!r) {
			rc = -OSP_ENOMEM;
			goto out;
		}
		rc = sip_nameaddr_parse_one(a, p, end, &r->na, &p);
		if (rc < 0)
			goto out;
		r->next = NULL;
		*tail = r;
		tail = &r->next;
		n++;
	}
	rc = n ? n : -OSP_EPARSE;
out:
	if (rc >= 0)
		*out = head;
	return rc;
}
