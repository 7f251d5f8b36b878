/* uri.c - sip:, sips: and tel: URIs (RFC 3261 §19.1, RFC 3966). */
#include "sip/sip_int.h"

/* Fill the well-known URI parameters from the parsed list. */
static void uri_known_params(sip_uri_t *uri)
{
	for (const sip_param_t *p = uri->param_list; p; p = p->next) {
		switch (p->name.len) {
		case 2:
			if (SIP_LC_EQ(p->name, "lr"))
				uri->lr = 1;
			break;
		case 3:
			if (SIP_LC_EQ(p->name, "ttl"))
				uri->ttl = p->value;
			break;
		case 4:
			if (SIP_LC_EQ(p->name, "user"))
				uri->user_param = p->value;
			break;
		case 5:
			if (SIP_LC_EQ(p->name, "maddr"))
				uri->maddr = p->value;
			break;
		case 6:
			if (SIP_LC_EQ(p->name, "method"))
				uri->method = p->value;
			break;
		case 9:
			if (SIP_LC_EQ(p->name, "transport"))
				uri->transport = p->value;
			break;
		}
	}
}

/* The user part may itself hold ';' (user-unreserved), so the userinfo is
 * everything before the first '@'; a URI never carries a bare '@' after the
 * host (parameters and headers must escape it). A URI never contains
 * whitespace, quotes or angle brackets: those are rejected up front, which
 * also keeps the tolerant parameter scanner from accepting them. */
int sip_uri_parse(arena_t *a, str_t s, sip_uri_t *uri)
{
	const char *p, *end, *at, *colon, *q;
	size_t used;
	int rc;

	memset(uri, 0, sizeof(*uri));
	if (s.len < 5)
		return -OSP_EPARSE;
	p = s.s;
	end = s.s + s.len;
	for (size_t i = 0; i < s.len; i++)
		if (SIP_IS(s.s[i], SC_URIBAD))
			return -OSP_EPARSE;
	if (sip_lc_eq(p, "sip:", 4)) {
		uri->scheme = SIP_URI_SIP;
		p += 4;
	} else if (sip_lc_eq(p, "sips:", 5)) {
		uri->scheme = SIP_URI_SIPS;
		p += 5;
	} else if (sip_lc_eq(p, "tel:", 4)) {
		uri->scheme = SIP_URI_TEL;
		p += 4;
	} else {
		return -OSP_EPARSE;
	}

	if (uri->scheme == SIP_URI_TEL) {
		q = memchr(p, ';', (size_t)(end - p));
		if (!q)
			q = end;
		if (q == p)
			return -OSP_EPARSE;
		uri->user = sip_mkstr(p, q);
		p = q;
	} else {
		at = memchr(p, '@', (size_t)(end - p));
		if (at) {
			colon = memchr(p, ':', (size_t)(at - p));
			if (colon) {
				uri->user = sip_mkstr(p, colon);
				uri->password = sip_mkstr(colon + 1, at);
			} else {
				uri->user = sip_mkstr(p, at);
			}
			p = at + 1;
		}
		rc = sip_hostport_parse(p, end, 0, &uri->host, &uri->port,
					&uri->port_no, &uri->host_is_ipv6, &p);
		if (rc < 0)
			return rc;
	}

	if (p < end && *p == ';') {
		rc = sip_params_parse(a, sip_mkstr(p, end), "?", &uri->param_list,
				      &used);
		if (rc < 0)
			return rc;
		uri->params = sip_mkstr(p + 1, p + used);
		p += used;
		uri_known_params(uri);
	}
	if (p < end && *p == '?') {
		uri->headers = sip_mkstr(p + 1, end);
		p = end;
	}
	return p == end ? 0 : -OSP_EPARSE;
}

/* Rebuild `text` (whose parse is u) with one part replaced. The scheme is
 * kept as written; the password goes with an emptied user. */
int sip_uri_replace(arena_t *a, str_t text, const sip_uri_t *u,
		    sip_uri_part_t part, str_t val, str_t *out)
{
	str_t scheme, user = u->user, pass = u->password, host = u->host,
		      port = u->port;
	const char *colon = text.len ? memchr(text.s, ':', text.len) : NULL;
	size_t n = 0, cap;
	char *b;

	if (!colon)
		return -OSP_EINVAL;
	scheme = sip_mkstr(text.s, colon);
	switch (part) {
	case SIP_URI_PART_USER:
		user = val;
		if (!val.len)
			pass = STR_NULL;
		break;
	case SIP_URI_PART_HOST:
		host = val;
		break;
	case SIP_URI_PART_PORT:
		port = val;
		break;
	case SIP_URI_PART_HOSTPORT: {
		/* "host", "host:port", "[v6]", "[v6]:port" */
		const char *c = NULL;

		if (val.len && val.s[0] == '[') {
			const char *e = memchr(val.s, ']', val.len);

			if (e && e + 1 < val.s + val.len && e[1] == ':')
				c = e + 1;
		} else {
			c = val.len ? memchr(val.s, ':', val.len) : NULL;
		}
		host = c ? sip_mkstr(val.s, c) : val;
		port = c ? sip_mkstr(c + 1, val.s + val.len) : STR_NULL;
		break;
	}
	}
	if (u->scheme == SIP_URI_TEL && part != SIP_URI_PART_USER)
		return -OSP_EINVAL; /* a tel: URI has no host or port */
	cap = scheme.len + user.len + pass.len + host.len + port.len +
	      u->params.len + u->headers.len + 8;
	b = arena_alloc(a, cap);
	if (!b)
		return -OSP_ENOMEM;
#define APPEND(x)                                                              \
	do {                                                                   \
		memcpy(b + n, (x).s, (x).len);                                 \
		n += (x).len;                                                  \
	} while (0)
	APPEND(scheme);
	b[n++] = ':';
	if (u->scheme == SIP_URI_TEL) {
		APPEND(user);
	} else {
		if (user.len) {
			APPEND(user);
			if (pass.len) {
				b[n++] = ':';
				APPEND(pass);
			}
			b[n++] = '@';
		}
		APPEND(host);
		if (port.len) {
			b[n++] = ':';
			APPEND(port);
		}
	}
	if (u->params.len) {
		b[n++] = ';';
		APPEND(u->params);
	}
	if (u->headers.len) {
		b[n++] = '?';
		APPEND(u->headers);
	}
#undef APPEND
	*out = (str_t){b, n};
	return 0;
}
