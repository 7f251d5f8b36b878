/* hdr.c - small header values: CSeq, credentials, token lists. */
#include "sip/sip_int.h"

/* CSeq = 1*DIGIT LWS Method (RFC 3261 §20.16): strict. The number must be
 * below 2**31 (§8.1.1.5) and the method a token. */
int sip_cseq_parse(str_t value, sip_cseq_t *out)
{
	const char *p, *end, *b;
	long n;

	value = str_trim(sip_nonnull(value));
	p = value.s;
	end = value.s + value.len;
	b = p;
	while (p < end && SIP_IS(*p, SC_DIGIT))
		p++;
	out->number = sip_mkstr(b, p);
	n = str_to_uint(out->number);
	if (n < 0)
		return -OSP_EPARSE;
	b = p;
	p = sip_skip_ws(p, end);
	if (p == b)
		return -OSP_EPARSE;
	b = p;
	p = sip_skip_token(p, end);
	if (p == b || p != end)
		return -OSP_EPARSE;
	out->num = (uint32_t)n;
	out->method = sip_mkstr(b, p);
	out->method_id = sip_method_from_str(out->method);
	return 0;
}

/* Inner text of a quoted string; copied without its backslashes only when
 * it has some (rare), so the common case stays zero-copy. */
static int unquote(arena_t *a, const char *b, const char *e, str_t *out)
{
	char *d, *w;

	if (!memchr(b, '\\', (size_t)(e - b))) {
		*out = sip_mkstr(b, e);
		return 0;
	}
	d = arena_alloc(a, (size_t)(e - b));
	if (!d)
		return -OSP_ENOMEM;
	for (w = d; b < e; b++) {
		if (*b == '\\' && b + 1 < e)
			b++;
		*w++ = *b;
	}
	*out = (str_t){d, (size_t)(w - d)};
	return 0;
}

static void auth_known(sip_auth_t *au, const sip_param_t *p)
{
	str_t *dst = NULL;

	switch (p->name.len) {
	case 2:
		if (SIP_LC_EQ(p->name, "nc"))
			dst = &au->nc;
		break;
	case 3:
		if (SIP_LC_EQ(p->name, "uri"))
			dst = &au->uri;
		else if (SIP_LC_EQ(p->name, "qop"))
			dst = &au->qop;
		break;
	case 5:
		if (SIP_LC_EQ(p->name, "realm"))
			dst = &au->realm;
		else if (SIP_LC_EQ(p->name, "nonce"))
			dst = &au->nonce;
		break;
	case 6:
		if (SIP_LC_EQ(p->name, "cnonce"))
			dst = &au->cnonce;
		else if (SIP_LC_EQ(p->name, "opaque"))
			dst = &au->opaque;
		break;
	case 8:
		if (SIP_LC_EQ(p->name, "username"))
			dst = &au->username;
		else if (SIP_LC_EQ(p->name, "response"))
			dst = &au->response;
		break;
	case 9:
		if (SIP_LC_EQ(p->name, "algorithm"))
			dst = &au->algorithm;
		break;
	}
	if (dst && !dst->s)
		*dst = p->value;
}

/* auth-param list: name EQUAL (token / quoted-string), comma separated. */
static int auth_params(arena_t *a, const char *p, const char *end,
		       sip_param_t **out)
{
	sip_param_t *head = NULL, **tail = &head, *prm;
	const char *b, *q;
	int rc;

	for (;;) {
		p = sip_skip_ws(p, end);
		if (p == end)
			break;
		if (*p == ',') {
			p++;
			continue;
		}
		b = p;
		p = sip_skip_token(p, end);
		if (p == b)
			return -OSP_EPARSE;
		prm = arena_alloc(a, sizeof(*prm));
		if (!prm)
			return -OSP_ENOMEM;
		prm->name = sip_mkstr(b, p);
		prm->has_value = 1;
		prm->next = NULL;
		p = sip_skip_ws(p, end);
		if (p == end || *p != '=')
			return -OSP_EPARSE;
		p = sip_skip_ws(p + 1, end);
		if (p < end && *p == '"') {
			q = sip_quoted_end(p, end);
			if (!q)
				return -OSP_EPARSE;
			rc = unquote(a, p + 1, q - 1, &prm->value);
			if (rc < 0)
				return rc;
			p = q;
		} else {
			b = p;
			while (p < end && *p != ',' && *p != '"' &&
			       !SIP_IS(*p, SC_WS))
				p++;
			prm->value = sip_mkstr(b, p);
		}
		*tail = prm;
		tail = &prm->next;
		p = sip_skip_ws(p, end);
		if (p < end && *p != ',')
			return -OSP_EPARSE;
	}
	*out = head;
	return 0;
}

/* Credentials (RFC 3261 §25.1 credentials / challenge, RFC 2617). Digest
 * parameters must be well formed; for other schemes (Basic, Bearer), whose
 * payload is usually a token68 rather than auth-params, only the scheme is
 * returned. */
int sip_auth_parse(arena_t *a, str_t value, sip_auth_t *out)
{
	const char *p, *end, *b;
	int rc;

	memset(out, 0, sizeof(*out));
	value = str_trim(sip_nonnull(value));
	p = value.s;
	end = value.s + value.len;
	b = p;
	p = sip_skip_token(p, end);
	if (p == b || (p < end && !SIP_IS(*p, SC_WS)))
		return -OSP_EPARSE;
	out->scheme = sip_mkstr(b, p);
	if (!SIP_LC_EQ(out->scheme, "digest"))
		return 0;
	rc = auth_params(a, p, end, &out->param_list);
	if (rc < 0)
		return rc;
	for (const sip_param_t *prm = out->param_list; prm; prm = prm->next)
		auth_known(out, prm);
	return 0;
}

int sip_tokens_parse(arena_t *a, str_t value, sip_token_t **out)
{
	const char *p, *end, *b;
	sip_token_t *head = NULL, **tail = &head, *t;
	int n = 0;

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
		b = p;
		p = sip_skip_token(p, end);
		if (p == b)
			return -OSP_EPARSE;
		t = arena_alloc(a, sizeof(*t));
		if (!t)
			return -OSP_ENOMEM;
		t->tok = sip_mkstr(b, p);
		t->next = NULL;
		*tail = t;
		tail = &t->next;
		n++;
		p = sip_skip_ws(p, end);
		if (p < end && *p != ',')
			return -OSP_EPARSE;
	}
	*out = head;
	return n;
}
