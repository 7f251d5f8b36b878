/* via.c - Via header values (RFC 3261 §20.42, RFC 3581 rport). */
#include "sip/sip_int.h"

static void via_known_params(sip_via_t *v)
{
	for (const sip_param_t *p = v->param_list; p; p = p->next) {
		switch (p->name.len) {
		case 3:
			if (SIP_LC_EQ(p->name, "ttl"))
				v->ttl = p->value;
			break;
		case 5:
			if (SIP_LC_EQ(p->name, "rport")) {
				v->rport = p->value;
				v->has_rport = 1;
			} else if (SIP_LC_EQ(p->name, "maddr")) {
				v->maddr = p->value;
			}
			break;
		case 6:
			if (SIP_LC_EQ(p->name, "branch"))
				v->branch = p->value;
			break;
		case 8:
			if (SIP_LC_EQ(p->name, "received"))
				v->received = p->value;
			break;
		}
	}
}

/* One via-parm at p. The sent-protocol is strict (three tokens, "SIP" and
 * "2.0", SWS allowed around the slashes as the ABNF says); sent-by and the
 * parameters are tolerant of whitespace. *next: the ',' or end. */
static int via_parse_one(arena_t *a, const char *p, const char *end,
			 sip_via_t *v, const char **next)
{
	const char *b, *start = p;
	str_t tok[3];
	size_t used;
	int rc, ipv6;

	for (int i = 0; i < 3; i++) {
		b = p;
		p = sip_skip_token(p, end);
		if (p == b)
			return -OSP_EPARSE;
		tok[i] = sip_mkstr(b, p);
		if (i < 2) {
			p = sip_skip_ws(p, end);
			if (p == end || *p != '/')
				return -OSP_EPARSE;
			p = sip_skip_ws(p + 1, end);
		}
	}
	if (!SIP_LC_EQ(tok[0], "sip") || !str_eq_cstr(tok[1], "2.0"))
		return -OSP_EPARSE;
	v->proto_name = tok[0];
	v->version = tok[1];
	v->transport = tok[2];
	b = p;
	p = sip_skip_ws(p, end);
	if (p == b)
		return -OSP_EPARSE;
	rc = sip_hostport_parse(p, end, 1, &v->host, &v->port, &v->port_no,
				&ipv6, &p);
	if (rc < 0)
		return rc;
	p = sip_skip_ws(p, end);
	if (p < end && *p == ';') {
		rc = sip_params_parse(a, sip_mkstr(p, end), ",", &v->param_list,
				      &used);
		if (rc < 0)
			return rc;
		v->params = str_trim(sip_mkstr(p + 1, p + used));
		p += used;
		via_known_params(v);
	}
	v->raw = str_trim(sip_mkstr(start, p));
	p = sip_skip_ws(p, end);
	if (p < end && *p != ',')
		return -OSP_EPARSE;
	*next = p;
	return 0;
}

/* Empty list elements (", ,") are skipped; at least one via-parm must be
 * present. */
int sip_via_parse(arena_t *a, str_t value, sip_via_t **out)
{
	const char *p, *end;
	sip_via_t *head = NULL, **tail = &head, *v;
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
		v = arena_zalloc(a, sizeof(*v));
		if (!v) {
			rc = -OSP_ENOMEM;
			goto out;
		}
		rc = via_parse_one(a, p, end, v, &p);
		if (rc < 0)
			goto out;
		*tail = v;
		tail = &v->next;
		n++;
	}
	rc = n ? n : -OSP_EPARSE;
out:
	if (rc >= 0)
		*out = head;
	return rc;
}
