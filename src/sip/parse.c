/* parse.c - SIP message parsing: start line, header split, Content-Length,
 * name lookups and the lazy accessors (RFC 3261 §7, §25). */
#include "sip/sip_int.h"

#define M(lit) sip_lc_eq(s, (lit), sizeof(lit) - 1)

/* Methods are case-sensitive (RFC 3261 §7.1): a switch on the length and
 * first byte leaves at most a few memcmp of constant size. */
sip_method_t sip_method_from_str(str_t m)
{
	const char *s = m.s;

#define EQ(lit) (memcmp(s, (lit), sizeof(lit) - 1) == 0)
	switch (m.len) {
	case 0:
		return SIP_METHOD_UNDEF;
	case 3:
		switch (s[0]) {
		case 'A':
			if (EQ("ACK"))
				return SIP_METHOD_ACK;
			break;
		case 'B':
			if (EQ("BYE"))
				return SIP_METHOD_BYE;
			break;
		case 'G':
			if (EQ("GET"))
				return SIP_METHOD_GET;
			break;
		case 'P':
			if (EQ("PUT"))
				return SIP_METHOD_PUT;
			break;
		}
		break;
	case 4:
		switch (s[0]) {
		case 'I':
			if (EQ("INFO"))
				return SIP_METHOD_INFO;
			break;
		case 'K':
			if (EQ("KDMQ"))
				return SIP_METHOD_KDMQ;
			break;
		case 'P':
			if (EQ("POST"))
				return SIP_METHOD_POST;
			break;
		}
		break;
	case 5:
		switch (s[0]) {
		case 'P':
			if (EQ("PRACK"))
				return SIP_METHOD_PRACK;
			break;
		case 'R':
			if (EQ("REFER"))
				return SIP_METHOD_REFER;
			break;
		}
		break;
	case 6:
		switch (s[0]) {
		case 'I':
			if (EQ("INVITE"))
				return SIP_METHOD_INVITE;
			break;
		case 'C':
			if (EQ("CANCEL"))
				return SIP_METHOD_CANCEL;
			break;
		case 'N':
			if (EQ("NOTIFY"))
				return SIP_METHOD_NOTIFY;
			break;
		case 'U':
			if (EQ("UPDATE"))
				return SIP_METHOD_UPDATE;
			break;
		case 'D':
			if (EQ("DELETE"))
				return SIP_METHOD_DELETE;
			break;
		}
		break;
	case 7:
		switch (s[0]) {
		case 'M':
			if (EQ("MESSAGE"))
				return SIP_METHOD_MESSAGE;
			break;
		case 'O':
			if (EQ("OPTIONS"))
				return SIP_METHOD_OPTIONS;
			break;
		case 'P':
			if (EQ("PUBLISH"))
				return SIP_METHOD_PUBLISH;
			break;
		}
		break;
	case 8:
		if (EQ("REGISTER"))
			return SIP_METHOD_REGISTER;
		break;
	case 9:
		if (EQ("SUBSCRIBE"))
			return SIP_METHOD_SUBSCRIBE;
		break;
	}
#undef EQ
	return SIP_METHOD_OTHER;
}

/* Header names are case-insensitive (§7.3.1) and have compact forms
 * (§7.3.3); the switch on length and first letter leaves one or two
 * comparisons. Compact forms of headers without a type of their own (u, r,
 * b, x, ...) are SIP_HDR_OTHER; sip_hdr_find still matches them by name. */
sip_hdr_type_t sip_hdr_type_from_name(str_t n)
{
	const char *s = n.s;
	uint8_t c;

	if (n.len == 0)
		return SIP_HDR_OTHER;
	c = sip_lower[(uint8_t)s[0]];
	switch (n.len) {
	case 1:
		switch (c) {
		case 'v': return SIP_HDR_VIA;
		case 'f': return SIP_HDR_FROM;
		case 't': return SIP_HDR_TO;
		case 'm': return SIP_HDR_CONTACT;
		case 'i': return SIP_HDR_CALLID;
		case 'l': return SIP_HDR_CLEN;
		case 'c': return SIP_HDR_CTYPE;
		case 'k': return SIP_HDR_SUPPORTED;
		case 's': return SIP_HDR_SUBJECT;
		case 'e': return SIP_HDR_CONTENTENCODING;
		case 'o': return SIP_HDR_EVENT;
		}
		break;
	case 2:
		if (M("to"))
			return SIP_HDR_TO;
		break;
	case 3:
		if (M("via"))
			return SIP_HDR_VIA;
		break;
	case 4:
		switch (c) {
		case 'f':
			if (M("from"))
				return SIP_HDR_FROM;
			break;
		case 'c':
			if (M("cseq"))
				return SIP_HDR_CSEQ;
			break;
		case 'p':
			if (M("path"))
				return SIP_HDR_PATH;
			break;
		}
		break;
	case 5:
		switch (c) {
		case 'r':
			if (M("route"))
				return SIP_HDR_ROUTE;
			break;
		case 'a':
			if (M("allow"))
				return SIP_HDR_ALLOW;
			break;
		case 'e':
			if (M("event"))
				return SIP_HDR_EVENT;
			break;
		}
		break;
	case 6:
		switch (c) {
		case 's':
			if (M("server"))
				return SIP_HDR_SERVER;
			break;
		case 'a':
			if (M("accept"))
				return SIP_HDR_ACCEPT;
			break;
		}
		break;
	case 7:
		switch (c) {
		case 'c':
			if (M("call-id"))
				return SIP_HDR_CALLID;
			if (M("contact"))
				return SIP_HDR_CONTACT;
			break;
		case 'e':
			if (M("expires"))
				return SIP_HDR_EXPIRES;
			break;
		case 'r':
			if (M("require"))
				return SIP_HDR_REQUIRE;
			break;
		case 's':
			if (M("subject"))
				return SIP_HDR_SUBJECT;
			break;
		}
		break;
	case 9:
		if (M("supported"))
			return SIP_HDR_SUPPORTED;
		break;
	case 10:
		if (M("user-agent"))
			return SIP_HDR_USERAGENT;
		break;
	case 11:
		switch (c) {
		case 'u':
			if (M("unsupported"))
				return SIP_HDR_UNSUPPORTED;
			break;
		case 'm':
			if (M("min-expires"))
				return SIP_HDR_MINEXPIRES;
			break;
		}
		break;
	case 12:
		switch (c) {
		case 'm':
			if (M("max-forwards"))
				return SIP_HDR_MAXFWD;
			break;
		case 'c':
			if (M("content-type"))
				return SIP_HDR_CTYPE;
			break;
		case 'r':
			if (M("record-route"))
				return SIP_HDR_RECORDROUTE;
			break;
		}
		break;
	case 13:
		switch (c) {
		case 'a':
			if (M("authorization"))
				return SIP_HDR_AUTHORIZATION;
			break;
		case 'p':
			if (M("proxy-require"))
				return SIP_HDR_PROXYREQUIRE;
			break;
		}
		break;
	case 14:
		if (M("content-length"))
			return SIP_HDR_CLEN;
		break;
	case 16:
		switch (c) {
		case 'w':
			if (M("www-authenticate"))
				return SIP_HDR_WWWAUTHENTICATE;
			break;
		case 'c':
			if (M("content-encoding"))
				return SIP_HDR_CONTENTENCODING;
			break;
		}
		break;
	case 18:
		if (M("proxy-authenticate"))
			return SIP_HDR_PROXYAUTHENTICATE;
		break;
	case 19:
		if (M("proxy-authorization"))
			return SIP_HDR_PROXYAUTHZ;
		break;
	}
	return SIP_HDR_OTHER;
}

/* Compact forms of headers that have no type of their own (IANA SIP
 * header registry), so that "x" and "Session-Expires" find each other. */
static str_t other_long_name(str_t n)
{
	if (n.len != 1)
		return n;
	switch (sip_lower[(uint8_t)n.s[0]]) {
	case 'a': return STR_LIT("Accept-Contact");
	case 'b': return STR_LIT("Referred-By");
	case 'd': return STR_LIT("Request-Disposition");
	case 'j': return STR_LIT("Reject-Contact");
	case 'n': return STR_LIT("Identity-Info");
	case 'r': return STR_LIT("Refer-To");
	case 'u': return STR_LIT("Allow-Events");
	case 'x': return STR_LIT("Session-Expires");
	case 'y': return STR_LIT("Identity");
	}
	return n;
}

static int other_name_eq(str_t a, str_t b)
{
	if (str_caseeq(a, b))
		return 1;
	if (a.len != 1 && b.len != 1)
		return 0;
	return str_caseeq(other_long_name(a), other_long_name(b));
}

/* ---- start line ---- */

static int parse_request_line(sip_msg_t *msg, str_t l, const char **why)
{
	const char *p = l.s, *end = l.s + l.len, *b;

	p = sip_skip_token(p, end);
	if (p == l.s || p == end || *p != ' ') {
		*why = "bad method in request line";
		return -OSP_EPARSE;
	}
	msg->method = sip_mkstr(l.s, p);
	b = ++p;
	while (p < end && (uint8_t)*p > ' ' && *p != 0x7f)
		p++;
	if (p == b || p == end || *p != ' ') {
		*why = "bad Request-URI";
		return -OSP_EPARSE;
	}
	msg->ruri = sip_mkstr(b, p);
	msg->version = sip_mkstr(p + 1, end);
	if (!SIP_LC_EQ(msg->version, "sip/2.0")) {
		*why = "bad SIP version in request line";
		return -OSP_EPARSE;
	}
	msg->kind = SIP_REQUEST;
	msg->method_id = sip_method_from_str(msg->method);
	return 0;
}

/* "SIP/2.0 SP 3DIGIT SP Reason-Phrase"; a status line that stops right
 * after the code (no SP, empty reason) is tolerated. */
static int parse_status_line(sip_msg_t *msg, str_t l, const char **why)
{
	const char *s = l.s;
	int code;

	if (l.len < 11 || !sip_lc_eq(s, "sip/2.0", 7) || s[7] != ' ') {
		*why = "bad SIP version in status line";
		return -OSP_EPARSE;
	}
	if (!SIP_IS(s[8], SC_DIGIT) || !SIP_IS(s[9], SC_DIGIT) ||
	    !SIP_IS(s[10], SC_DIGIT) || (l.len > 11 && s[11] != ' ')) {
		*why = "bad status code";
		return -OSP_EPARSE;
	}
	code = (s[8] - '0') * 100 + (s[9] - '0') * 10 + (s[10] - '0');
	if (code < 100 || code > 699) {
		*why = "status code out of range";
		return -OSP_EPARSE;
	}
	msg->version = sip_mkstr(s, s + 7);
	msg->status = code;
	msg->reason = l.len > 12 ? sip_mkstr(s + 12, s + l.len)
				 : sip_mkstr(s + l.len, s + l.len);
	msg->kind = SIP_REPLY;
	return 0;
}

/* ---- header section ---- */

#define HDRS_FIRST_CAP 32

/* Split the header section into msg->hdrs in one pass over the bytes:
 * memchr finds each LF, a following SP/HTAB continues the value (folding,
 * §7.3.1), an empty line (CRLF or bare LF) ends the section. A section
 * that simply ends with the data after a complete line is taken as ended
 * (no body): harmless, and some UDP senders omit the empty line.
 * Content-Length is read here because it decides where the message ends. */
static int split_headers(sip_msg_t *msg, const char *p, const char **why)
{
	const char *end = msg->buf + msg->len, *ls, *b, *vs, *ve, *eol = NULL;
	const char *body;
	sip_hdr_t *h;
	int cap = HDRS_FIRST_CAP, n = 0;
	long clen = -1, v;
	sip_hdr_type_t t;

	msg->hdrs = arena_alloc(msg->arena, cap * sizeof(sip_hdr_t));
	if (!msg->hdrs)
		return -OSP_ENOMEM;
	for (;;) {
		if (p == end) {
			body = end;
			msg->hdrs_end = msg->len;
			break;
		}
		if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {
			msg->hdrs_end = (size_t)(p - msg->buf);
			body = p + (*p == '\n' ? 1 : 2);
			break;
		}
		ls = p;
		p = sip_skip_token(p, end);
		if (p == ls) {
			*why = "bad header name";
			return -OSP_EPARSE;
		}
		b = p;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end || *p != ':') {
			*why = "bad header line";
			return -OSP_EPARSE;
		}
		vs = ++p;
		for (;;) {
			eol = memchr(p, '\n', (size_t)(end - p));
			if (!eol) {
				*why = "header line not terminated";
				return -OSP_EPARSE;
			}
			p = eol + 1;
			if (p == end || (*p != ' ' && *p != '\t'))
				break;
		}
		if (n == cap) {
			sip_hdr_t *nh;

			if (cap >= SIP_MAX_HDRS) {
				*why = "too many headers";
				return -OSP_EPARSE;
			}
			cap *= 2;
			if (cap > SIP_MAX_HDRS)
				cap = SIP_MAX_HDRS;
			nh = arena_alloc(msg->arena, cap * sizeof(sip_hdr_t));
			if (!nh)
				return -OSP_ENOMEM;
			memcpy(nh, msg->hdrs, n * sizeof(sip_hdr_t));
			msg->hdrs = nh;
		}
		h = &msg->hdrs[n];
		h->name = sip_mkstr(ls, b);
		h->type = t = sip_hdr_type_from_name(h->name);
		h->flags = 0;
		/* trim: the value may start with folding, and ends before
		 * the (CR)LF */
		ve = eol;
		while (ve > vs && SIP_IS(ve[-1], SC_WS))
			ve--;
		while (vs < ve && SIP_IS(*vs, SC_WS))
			vs++;
		h->value = sip_mkstr(vs, ve);
		h->raw = sip_mkstr(ls, p);
		h->parsed = NULL;
		h->replace = STR_NULL;
		if (msg->first[t] < 0)
			msg->first[t] = n;
		n++;
		msg->n_hdrs = n;
		if (t == SIP_HDR_CLEN) {
			v = str_to_uint(h->value);
			if (v < 0) {
				*why = "bad Content-Length";
				return -OSP_EPARSE;
			}
			if (clen >= 0 && v != clen) {
				*why = "conflicting Content-Length headers";
				return -OSP_EPARSE;
			}
			clen = v;
		}
	}
	if (clen < 0) {
		msg->body = sip_mkstr(body, end);
	} else if (clen > end - body) {
		*why = "Content-Length larger than the data";
		return -OSP_EPARSE;
	} else {
		msg->body = sip_mkstr(body, body + clen);
	}
	return 0;
}

/* Leading CRLFs (keepalives, §7.5) are skipped. On failure the message is
 * left with what was parsed so far and must not be used. */
int sip_msg_parse(sip_msg_t *msg, const char *buf, size_t len,
		  const char **why)
{
	const char *p = buf, *end, *eol, *le;
	const char *w = "malformed message";
	int rc;

	msg->buf = buf;
	msg->len = len;
	msg->hdrs = NULL;
	msg->n_hdrs = 0;
	for (int i = 0; i < SIP_HDR__COUNT; i++)
		msg->first[i] = -1;
	if (!buf) {
		rc = -OSP_EPARSE;
		w = "empty message";
		goto out;
	}
	end = buf + len;
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	eol = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
	if (!eol) {
		rc = -OSP_EPARSE;
		w = "no complete start line";
		goto out;
	}
	le = (eol > p && eol[-1] == '\r') ? eol - 1 : eol;
	msg->first_line = sip_mkstr(p, le);
	if (msg->first_line.len >= 4 && sip_lc_eq(p, "sip/", 4))
		rc = parse_status_line(msg, msg->first_line, &w);
	else
		rc = parse_request_line(msg, msg->first_line, &w);
	if (rc < 0)
		goto out;
	rc = split_headers(msg, eol + 1, &w);
out:
	if (rc == -OSP_ENOMEM)
		w = "out of memory";
	if (rc < 0 && why)
		*why = w;
	return rc < 0 ? -OSP_EPARSE : 0;
}

/* ---- header lookup ---- */

sip_hdr_t *sip_hdr_first(sip_msg_t *msg, sip_hdr_type_t t)
{
	int i;

	if (!msg->hdrs || (unsigned)t >= SIP_HDR__COUNT)
		return NULL;
	i = msg->first[t];
	return i >= 0 && i < msg->n_hdrs ? &msg->hdrs[i] : NULL;
}

sip_hdr_t *sip_hdr_next(sip_msg_t *msg, const sip_hdr_t *h)
{
	if (!h || !msg->hdrs || h < msg->hdrs || h >= msg->hdrs + msg->n_hdrs)
		return NULL;
	for (int i = (int)(h - msg->hdrs) + 1; i < msg->n_hdrs; i++) {
		sip_hdr_t *x = &msg->hdrs[i];

		if (x->type != h->type)
			continue;
		if (h->type != SIP_HDR_OTHER || other_name_eq(x->name, h->name))
			return x;
	}
	return NULL;
}

sip_hdr_t *sip_hdr_find(sip_msg_t *msg, str_t name)
{
	sip_hdr_type_t t = sip_hdr_type_from_name(name);

	if (t != SIP_HDR_OTHER)
		return sip_hdr_first(msg, t);
	if (!msg->hdrs || !name.len)
		return NULL;
	for (int i = 0; i < msg->n_hdrs; i++)
		if (msg->hdrs[i].type == SIP_HDR_OTHER &&
		    other_name_eq(msg->hdrs[i].name, name))
			return &msg->hdrs[i];
	return NULL;
}

/* ---- lazy accessors ----
 *
 * hdr->parsed holds the parse result of the header's own type only (the
 * accessors check h->type), so a module asking for the wrong thing gets
 * NULL instead of a mistyped cache. A failed parse is remembered in
 * h->flags so that it is not repeated on every access. */

static int lazy_begin(sip_hdr_t *h)
{
	if (!h || (h->flags & SIP_HDR_F_PARSE_ERR))
		return -1;
	return h->parsed ? 1 : 0;
}

static void *lazy_end(sip_hdr_t *h, int rc, void *res)
{
	if (rc < 0) {
		if (rc == -OSP_EPARSE)
			h->flags |= SIP_HDR_F_PARSE_ERR;
		return NULL;
	}
	h->parsed = res;
	return res;
}

sip_via_t *sip_get_via(sip_msg_t *msg, sip_hdr_t *h)
{
	sip_via_t *v = NULL;
	int st = lazy_begin(h);

	if (st < 0 || h->type != SIP_HDR_VIA)
		return NULL;
	if (st > 0)
		return h->parsed;
	st = sip_via_parse(msg->arena, h->value, &v);
	return lazy_end(h, st, v);
}

sip_via_t *sip_get_via1(sip_msg_t *msg)
{
	return sip_get_via(msg, sip_hdr_first(msg, SIP_HDR_VIA));
}

sip_via_t *sip_get_via2(sip_msg_t *msg)
{
	sip_hdr_t *h = sip_hdr_first(msg, SIP_HDR_VIA);
	sip_via_t *v = sip_get_via(msg, h);

	if (!v)
		return NULL;
	if (v->next)
		return v->next;
	return sip_get_via(msg, sip_hdr_next(msg, h));
}

/* What h->parsed of a From/To header points to: the name-addr, and
 * whether it is only the light parse (sip_nameaddr_check: no URI, no
 * parameter list). The mark lives here rather than in h->flags because
 * modules save and restore header flags (tm's branch state). */
typedef struct na_cache {
	sip_nameaddr_t na; /* first: h->parsed == &cache->na == cache */
	int light;
} na_cache_t;

/* The full parse of a From/To header. A light parse cached by
 * light_nameaddr is completed in place: the struct is parsed again from
 * the start, which accepts the same input, so only running out of memory
 * can fail here after a successful light parse. */
static sip_nameaddr_t *get_nameaddr(sip_msg_t *msg, sip_hdr_t *h)
{
	na_cache_t *c;
	int st = lazy_begin(h);

	if (st < 0)
		return NULL;
	c = h->parsed;
	if (st > 0 && !c->light)
		return &c->na;
	if (!c) {
		c = arena_alloc(msg->arena, sizeof(*c));
		if (!c)
			return NULL;
	}
	h->parsed = NULL;
	c->light = 0;
	st = sip_nameaddr_parse(msg->arena, h->value, &c->na);
	return lazy_end(h, st, &c->na);
}

/* From/To as far as the core needs them (the structure, the tag), without
 * parsing the URI or building the parameter list, cached until someone
 * asks for the full parse; the full parse when there is one already. NULL
 * when malformed. */
static sip_nameaddr_t *light_nameaddr(sip_msg_t *msg, sip_hdr_t *h)
{
	na_cache_t *c;
	int st = lazy_begin(h);

	if (st != 0)
		return st > 0 ? h->parsed : NULL;
	c = arena_alloc(msg->arena, sizeof(*c));
	if (!c)
		return NULL;
	c->light = 1;
	st = sip_nameaddr_check(h->value, &c->na);
	return lazy_end(h, st, &c->na);
}

sip_nameaddr_t *sip_get_from(sip_msg_t *msg)
{
	return get_nameaddr(msg, sip_hdr_first(msg, SIP_HDR_FROM));
}

sip_nameaddr_t *sip_get_to(sip_msg_t *msg)
{
	return get_nameaddr(msg, sip_hdr_first(msg, SIP_HDR_TO));
}

int sip_get_tag(sip_msg_t *msg, sip_hdr_type_t t, str_t *tag)
{
	sip_nameaddr_t *na = NULL;

	if (t == SIP_HDR_FROM || t == SIP_HDR_TO)
		na = light_nameaddr(msg, sip_hdr_first(msg, t));
	if (!na) {
		*tag = STR_NULL;
		return -1;
	}
	*tag = na->tag;
	return na->tag.s != NULL;
}

sip_cseq_t *sip_get_cseq(sip_msg_t *msg)
{
	sip_hdr_t *h = sip_hdr_first(msg, SIP_HDR_CSEQ);
	sip_cseq_t *c;
	int st = lazy_begin(h);

	if (st != 0)
		return st > 0 ? h->parsed : NULL;
	c = arena_alloc(msg->arena, sizeof(*c));
	if (!c)
		return NULL;
	st = sip_cseq_parse(h->value, c);
	return lazy_end(h, st, c);
}

str_t sip_get_callid(sip_msg_t *msg)
{
	sip_hdr_t *h = sip_hdr_first(msg, SIP_HDR_CALLID);

	return h ? h->value : STR_NULL;
}

int sip_get_maxfwd(sip_msg_t *msg)
{
	sip_hdr_t *h = sip_hdr_first(msg, SIP_HDR_MAXFWD);
	long v;

	if (!h)
		return -1;
	v = str_to_uint(h->value);
	return v < 0 ? -2 : (int)v;
}

sip_contact_list_t *sip_get_contacts(sip_msg_t *msg, sip_hdr_t *h)
{
	sip_contact_list_t *cl;
	int st = lazy_begin(h);

	if (st < 0 || h->type != SIP_HDR_CONTACT)
		return NULL;
	if (st > 0)
		return h->parsed;
	cl = arena_alloc(msg->arena, sizeof(*cl));
	if (!cl)
		return NULL;
	st = sip_contact_parse(msg->arena, h->value, cl);
	return lazy_end(h, st, cl);
}

sip_auth_t *sip_get_auth(sip_msg_t *msg, sip_hdr_t *h)
{
	sip_auth_t *au;
	int st = lazy_begin(h);

	if (st < 0 || (h->type != SIP_HDR_AUTHORIZATION &&
			h->type != SIP_HDR_PROXYAUTHZ &&
			h->type != SIP_HDR_WWWAUTHENTICATE &&
			h->type != SIP_HDR_PROXYAUTHENTICATE))
		return NULL;
	if (st > 0)
		return h->parsed;
	au = arena_alloc(msg->arena, sizeof(*au));
	if (!au)
		return NULL;
	st = sip_auth_parse(msg->arena, h->value, au);
	return lazy_end(h, st, au);
}

sip_rr_t *sip_get_rr(sip_msg_t *msg, sip_hdr_t *h)
{
	sip_rr_t *r = NULL;
	int st = lazy_begin(h);

	if (st < 0 || (h->type != SIP_HDR_ROUTE &&
			h->type != SIP_HDR_RECORDROUTE &&
			h->type != SIP_HDR_PATH))
		return NULL;
	if (st > 0)
		return h->parsed;
	st = sip_rr_parse(msg->arena, h->value, &r);
	return lazy_end(h, st, r);
}

sip_token_t *sip_get_tokens(sip_msg_t *msg, sip_hdr_t *h)
{
	sip_token_t *t = NULL;
	int st = lazy_begin(h);

	if (st < 0 || (h->type != SIP_HDR_REQUIRE &&
			h->type != SIP_HDR_PROXYREQUIRE &&
			h->type != SIP_HDR_SUPPORTED &&
			h->type != SIP_HDR_UNSUPPORTED &&
			h->type != SIP_HDR_ALLOW))
		return NULL;
	if (st > 0)
		return h->parsed;
	st = sip_tokens_parse(msg->arena, h->value, &t);
	return lazy_end(h, st, t);
}

sip_uri_t *sip_get_ruri(sip_msg_t *msg)
{
	sip_uri_t *u;

	if (msg->kind != SIP_REQUEST)
		return NULL;
	if (msg->ruri_parsed)
		return msg->ruri_parsed;
	u = arena_alloc(msg->arena, sizeof(*u));
	if (!u || sip_uri_parse(msg->arena, msg->ruri, u) < 0)
		return NULL;
	msg->ruri_parsed = u;
	return u;
}

str_t sip_cur_uri(const sip_msg_t *msg)
{
	return msg->new_uri.len ? msg->new_uri : msg->ruri;
}

sip_uri_t *sip_get_cur_ruri(sip_msg_t *msg)
{
	sip_uri_t *u;

	if (!msg->new_uri.len)
		return sip_get_ruri(msg);
	if (msg->new_uri_parsed)
		return msg->new_uri_parsed;
	u = arena_alloc(msg->arena, sizeof(*u));
	if (!u || sip_uri_parse(msg->arena, msg->new_uri, u) < 0)
		return NULL;
	msg->new_uri_parsed = u;
	return u;
}

/* An empty uri resets the R-URI to the received one. */
int sip_set_ruri(sip_msg_t *msg, str_t uri)
{
	char *c;

	msg->new_uri_parsed = NULL;
	if (!uri.len) {
		msg->new_uri = STR_NULL;
		return 0;
	}
	c = arena_strndup(msg->arena, uri.s, uri.len);
	if (!c)
		return -OSP_ENOMEM;
	msg->new_uri = (str_t){c, uri.len};
	return 0;
}

/* RFC 3261 §8.1.1: every request and response carries Via, From, To,
 * Call-ID and CSeq; §8.1.1.5: a request's CSeq method equals its method
 * (this holds for ACK and CANCEL too). Each header must also parse: the
 * top Via and the CSeq fully (every reply needs the Via, CSeq is short),
 * From and To by their structure only (light_nameaddr: the same grammar as
 * the full parse, so sip_get_from/sip_get_to cannot fail later on a message
 * that passed, but their URIs are parsed only if someone asks). This runs
 * before every script, so it must stay cheap. */
int sip_msg_check_mandatory(sip_msg_t *msg, const char **why)
{
	const char *w = NULL;
	sip_cseq_t *cs;
	sip_hdr_t *h;

	if (!sip_get_via1(msg))
		w = sip_hdr_first(msg, SIP_HDR_VIA) ? "bad Via" : "missing Via";
	else if (!(h = sip_hdr_first(msg, SIP_HDR_FROM)))
		w = "missing From";
	else if (!light_nameaddr(msg, h))
		w = "bad From";
	else if (!(h = sip_hdr_first(msg, SIP_HDR_TO)))
		w = "missing To";
	else if (!light_nameaddr(msg, h))
		w = "bad To";
	else if (!sip_get_callid(msg).len)
		w = "missing Call-ID";
	else if (!(cs = sip_get_cseq(msg)))
		w = sip_hdr_first(msg, SIP_HDR_CSEQ) ? "bad CSeq" : "missing CSeq";
	else if (msg->kind == SIP_REQUEST && !str_eq(cs->method, msg->method))
		w = "CSeq method does not match the request method";
	if (w && why)
		*why = w;
	return w ? -OSP_EPARSE : 0;
}
