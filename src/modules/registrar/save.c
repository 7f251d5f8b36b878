/* save.c - REGISTER processing (RFC 3261 §10.3, RFC 3327): the work of
 * KSR.registrar.save().
 *
 * The request is checked first (To, Call-ID, CSeq, Expires, the Contact
 * list and "*", Path), the expiry of every contact computed (423 when one
 * is below min_expires), then, under the AOR's slot lock, every contact is
 * matched against the bindings and the Call-ID/CSeq rule and max_contacts
 * are checked before anything changes: a REGISTER is applied entirely or
 * not at all. The 200 OK lists every binding of the AOR with the seconds
 * it has left. Errors are answered as Kamailio does, with the reason in a
 * P-Registrar-Error header. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fwd.h"
#include "core/log.h"
#include "core/osp.h"
#include "modules/registrar/reg_int.h"
#include "net/net.h"

typedef enum {
	R_FINE = 0,
	R_UL,
	R_INV_CSEQ,
	R_TO_USER,
	R_AOR_LEN,
	R_AOR_PARSE,
	R_UNESCAPE,
	R_TO_MISS,
	R_CID_MISS,
	R_CS_MISS,
	R_PARSE_EXP,
	R_PARSE_CONT,
	R_STAR_EXP,
	R_STAR_CONT,
	R_TOO_MANY,
	R_CONTACT_LEN,
	R_CALLID_LEN,
	R_PARSE_PATH,
	R_PATH_UNSUP,
	R_LOW_EXP,
} reg_err_t;

/* reply code and P-Registrar-Error text of each error (Kamailio's) */
static const struct {
	int code;
	const char *info;
} rerr[] = {
    [R_FINE] = {200, "No problem"},
    [R_UL] = {500, "usrloc error"},
    [R_INV_CSEQ] = {400, "Invalid CSeq number"},
    [R_TO_USER] = {400, "No username in To URI"},
    [R_AOR_LEN] = {500, "Address Of Record too long"},
    [R_AOR_PARSE] = {400, "Error while parsing AOR"},
    [R_UNESCAPE] = {400, "Error while unescaping username"},
    [R_TO_MISS] = {400, "To header not found"},
    [R_CID_MISS] = {400, "Call-ID header not found"},
    [R_CS_MISS] = {400, "CSeq header not found"},
    [R_PARSE_EXP] = {400, "Expires parse error"},
    [R_PARSE_CONT] = {400, "Contact parse error"},
    [R_STAR_EXP] = {400, "* used in contact and expires is not zero"},
    [R_STAR_CONT] = {400, "* used in contact and more than 1 contact"},
    [R_TOO_MANY] = {503, "Too many registered contacts"},
    [R_CONTACT_LEN] = {400, "Contact/received too long"},
    [R_CALLID_LEN] = {400, "Callid too long"},
    [R_PARSE_PATH] = {400, "Path parse error"},
    [R_PATH_UNSUP] = {420, "No support for found Path indicated"},
    [R_LOW_EXP] = {423, "Interval too brief"},
};

#define CALLID_MAX	     255
#define UA_MAX		     255
#define RECEIVED_MAX	     255
#define MAX_CONTACTS_PER_REQ 64

/* One Contact of the request, with what was computed for it. */
typedef struct reg_contact {
	sip_contact_t *sc;
	str_t uri;
	int expires; /* relative seconds, 0 = remove */
	int q;
	unsigned methods;
	unsigned reg_id;
	str_t received;
	ul_contact_t *match; /* binding it matches, at planning time */
	int skip;	     /* retransmission: leave the binding as it is */
} reg_contact_t;

/* Everything save() reads from the request. The two big arrays come last
 * and are not zeroed (reg_save clears the fields before aorbuf only):
 * reg_aor writes aorbuf, and each entry of c[] is cleared when it is
 * filled. Zeroing all of it cost a 6 KB memset per REGISTER. */
typedef struct save_req {
	str_t aor;
	str_t callid;
	uint32_t cseq;
	long hdr_expires; /* -1 when there is no Expires header */
	int star;
	int n;	    /* entries of c[] in use */
	str_t path; /* Path vector, empty when none */
	int path_supported;
	str_t path_received;
	str_t received; /* from received_avp */
	str_t ua;
	str_t socket;
	unsigned allow; /* methods from Allow, UL_METHODS_ALL without */
	int q_override; /* -2 none */
	char aorbuf[512];
	reg_contact_t c[MAX_CONTACTS_PER_REQ];
} save_req_t;

/* ---------------------------------------------------------------- text */

/* A growing buffer for the reply's extra headers. */
typedef struct sbuf {
	char *s;
	size_t len, cap;
	int oom;
} sbuf_t;

static void sb_put(sbuf_t *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 512;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_str(sbuf_t *b, str_t s)
{
	sb_put(b, s.s ? s.s : "", s.len);
}

static void sb_printf(sbuf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf_t *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		sb_put(b, tmp,
		       (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Decimal v, signed. The contact list of every 200 OK has one or two
 * numbers per binding: no vsnprintf for them. */
static void sb_long(sbuf_t *b, long v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	sb_put(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* q x1000 as Kamailio prints it: "1", "0.5", "0.25", "0.125", "0". */
static void sb_q(sbuf_t *b, int q)
{
	if (q >= 1000) {
		sb_put(b, "1", 1);
		return;
	}
	if (q % 100 == 0)
		sb_printf(b, "0.%d", q / 100);
	else if (q % 10 == 0)
		sb_printf(b, "0.%02d", q / 10);
	else
		sb_printf(b, "0.%03d", q);
}

/* "Contact: <a>;expires=N, <b>;expires=M\r\n" for the valid bindings. */
static void build_contacts(sbuf_t *b, const ul_record_t *r, time_t now)
{
	int first = 1;

	for (const ul_contact_t *c = r ? r->contacts : NULL; c; c = c->next) {
		if (!ul_contact_valid(c, now))
			continue;
		sb_put(b, first ? "Contact: <" : ", <", first ? 10 : 3);
		first = 0;
		sb_str(b, c->c);
		sb_put(b, ">", 1);
		if (c->q >= 0) {
			sb_put(b, ";q=", 3);
			sb_q(b, c->q);
		}
		if (c->expires) {
			sb_put(b, ";expires=", 9);
			sb_long(b, (long)(c->expires - now));
		}
		if (reg_received_param && *reg_received_param &&
		    c->received.len) {
			sb_put(b, ";", 1);
			sb_put(b, reg_received_param,
			       strlen(reg_received_param));
			sb_put(b, "=\"", 2);
			sb_str(b, c->received);
			sb_put(b, "\"", 1);
		}
		if (c->instance.len) {
			sb_put(b, ";+sip.instance=\"", 16);
			sb_str(b, c->instance);
			sb_put(b, "\"", 1);
		}
		if (c->reg_id) {
			sb_put(b, ";reg-id=", 8);
			sb_long(b, (long)c->reg_id);
		}
	}
	if (!first)
		sb_put(b, "\r\n", 2);
}

/* ---------------------------------------------------------------- request */

static str_t unquote(str_t s)
{
	if (s.len >= 2 && s.s[0] == '"' && s.s[s.len - 1] == '"') {
		s.s++;
		s.len -= 2;
	}
	return s;
}

/* Methods of a comma-separated list ("INVITE, BYE"), as a mask. */
static unsigned methods_of(str_t list)
{
	unsigned m = 0;
	size_t i = 0;

	list = unquote(list);
	while (i < list.len) {
		size_t j = i;
		str_t tok;
		sip_method_t id;

		while (j < list.len && list.s[j] != ',')
			j++;
		tok = str_trim((str_t){list.s + i, j - i});
		if (tok.len) {
			id = sip_method_from_str(tok);
			m |= id == SIP_METHOD_UNDEF ? SIP_METHOD_OTHER : id;
		}
		i = j + 1;
	}
	return m;
}

static int token_present(sip_msg_t *msg, sip_hdr_type_t t, const char *want)
{
	for (sip_hdr_t *h = sip_hdr_first(msg, t); h; h = sip_hdr_next(msg, h))
		for (sip_token_t *k = sip_get_tokens(msg, h); k; k = k->next)
			if (str_caseeq_cstr(k->tok, want))
				return 1;
	return 0;
}

/* The Expires header as a number, -1 when absent; values past 2^31-1 are
 * clamped. -2 when it is not a number. */
static long expires_header(sip_msg_t *msg)
{
	sip_hdr_t *h = sip_hdr_first(msg, SIP_HDR_EXPIRES);
	str_t v;
	long n = 0;

	if (!h)
		return -1;
	v = str_trim(h->value);
	if (!v.len)
		return -2;
	for (size_t i = 0; i < v.len; i++) {
		if (v.s[i] < '0' || v.s[i] > '9')
			return -2;
		if (n < 0x7fffffff)
			n = n * 10 + (v.s[i] - '0');
	}
	return n > 0x7fffffff ? 0x7fffffff : n;
}

/* Path headers joined into one vector, checked to parse. */
static reg_err_t read_path(sip_msg_t *msg, save_req_t *s)
{
	size_t total = 0, pos = 0;
	sip_hdr_t *h;
	char *p;

	for (h = sip_hdr_first(msg, SIP_HDR_PATH); h;
	     h = sip_hdr_next(msg, h)) {
		if (!sip_get_rr(msg, h))
			return R_PARSE_PATH;
		total += h->value.len + 1;
	}
	if (!total)
		return R_FINE;
	p = arena_alloc(msg->arena, total);
	if (!p)
		return R_UL;
	for (h = sip_hdr_first(msg, SIP_HDR_PATH); h;
	     h = sip_hdr_next(msg, h)) {
		if (pos)
			p[pos++] = ',';
		memcpy(p + pos, h->value.s, h->value.len);
		pos += h->value.len;
	}
	s->path = (str_t){p, pos};
	if (reg_path_use_received) {
		sip_rr_t *rr =
		    sip_get_rr(msg, sip_hdr_first(msg, SIP_HDR_PATH));
		const sip_param_t *rp =
		    rr && rr->na.uri_ok ? sip_param_find(rr->na.uri.param_list,
							 STR_LIT("received"))
					: NULL;

		if (rp && rp->value.len)
			s->path_received = unquote(rp->value);
	}
	return R_FINE;
}

static reg_err_t read_request(ksr_ctx_t *ctx, save_req_t *s, str_t uri)
{
	sip_msg_t *msg = ctx->msg;
	sip_nameaddr_t *to;
	sip_cseq_t *cs;
	sip_hdr_t *h;
	const char *why = "";
	str_t aor_uri;
	reg_err_t e;

	if (uri.len) {
		aor_uri = uri;
	} else {
		to = sip_get_to(msg);
		if (!to)
			return R_TO_MISS;
		aor_uri = to->uri_str;
	}
	if (reg_aor(msg->arena, aor_uri, s->aorbuf, sizeof(s->aorbuf), &s->aor,
		    NULL, &why) < 0)
		return *why == 'u'   ? R_TO_USER
		       : *why == 'l' ? R_AOR_LEN
		       : *why == 'e' ? R_UNESCAPE
				     : R_AOR_PARSE;
	s->callid = str_trim(sip_get_callid(msg));
	if (!s->callid.len)
		return R_CID_MISS;
	if (s->callid.len > CALLID_MAX)
		return R_CALLID_LEN;
	cs = sip_get_cseq(msg);
	if (!cs)
		return R_CS_MISS;
	s->cseq = cs->num;
	s->hdr_expires = expires_header(msg);
	if (s->hdr_expires == -2)
		return R_PARSE_EXP;

	/* Contact: "*" alone with Expires: 0, or a list of URIs */
	for (h = sip_hdr_first(msg, SIP_HDR_CONTACT); h;
	     h = sip_hdr_next(msg, h)) {
		sip_contact_list_t *cl = sip_get_contacts(msg, h);

		if (!cl)
			return R_PARSE_CONT;
		if (cl->star) {
			if (s->star || s->n)
				return R_STAR_CONT;
			s->star = 1;
			continue;
		}
		if (s->star)
			return R_STAR_CONT;
		for (sip_contact_t *c = cl->first; c; c = c->next) {
			reg_contact_t *rc;

			if (!c->na.uri_ok)
				return R_PARSE_CONT;
			if (c->na.uri_str.len > (size_t)reg_contact_max_size)
				return R_CONTACT_LEN;
			if (s->n == MAX_CONTACTS_PER_REQ)
				return R_TOO_MANY;
			rc = &s->c[s->n++];
			memset(rc, 0, sizeof(*rc));
			rc->sc = c;
			rc->uri = c->na.uri_str;
		}
	}
	if (s->star && s->hdr_expires != 0)
		return R_STAR_EXP;

	if (reg_use_path) {
		e = read_path(msg, s);
		if (e)
			return e;
		s->path_supported =
		    token_present(msg, SIP_HDR_SUPPORTED, "path");
		if (s->path.len && reg_path_mode == REG_PATH_STRICT &&
		    !s->path_supported)
			return R_PATH_UNSUP;
	}
	if (reg_rcv_spec) {
		ksr_xval_t v;

		if (pv_get(ctx, reg_rcv_spec, &v) == 0 && v.type == KSR_STR &&
		    v.s.len) {
			if (v.s.len > RECEIVED_MAX)
				return R_CONTACT_LEN;
			s->received = v.s;
		}
	}
	h = sip_hdr_first(msg, SIP_HDR_USERAGENT);
	if (h && h->value.len && h->value.len <= UA_MAX)
		s->ua = h->value;
	if (msg->rcv.listener)
		s->socket =
		    str_from(((net_listener_t *)msg->rcv.listener)->name);
	s->allow = UL_METHODS_ALL;
	if (sip_hdr_first(msg, SIP_HDR_ALLOW)) {
		s->allow = 0;
		for (h = sip_hdr_first(msg, SIP_HDR_ALLOW); h;
		     h = sip_hdr_next(msg, h))
			s->allow |= methods_of(h->value);
	}
	s->q_override = reg_q_override(msg);
	return R_FINE;
}

/* [e - range% of e, e], at random: spreads re-registrations in time. */
static int randomize(int e, int range)
{
	int low = e - (int)((long)e * range / 100);

	if (e <= low)
		return e;
	return low + (int)(random() % (e - low + 1));
}

/* Expiry (seconds from now) of contact rc: its expires parameter, else
 * the Expires header, else default_expires; then min_expires (423 for a
 * value the UA asked for, when min_expires_mode is on) and max_expires.
 * -1 for "interval too brief". */
static int contact_expires(const save_req_t *s, const reg_contact_t *rc,
			   int novariation)
{
	const sip_contact_t *c = rc->sc;
	int e, asked = 1, range = reg_expires_range;

	if (c->expires.len && c->expires_val >= 0) {
		e = c->expires_val;
	} else if (!c->expires.len && s->hdr_expires >= 0) {
		e = (int)s->hdr_expires;
	} else {
		e = reg_default_expires;
		asked = 0;
		range = reg_default_expires_range;
	}
	if (e == 0)
		return 0;
	if (reg_min_expires > 0 && e < reg_min_expires) {
		if (reg_min_expires_mode && asked)
			return -1;
		e = reg_min_expires;
	}
	if (!novariation && range) {
		e = randomize(e, range);
		if (e < reg_min_expires)
			e = reg_min_expires;
	}
	if (reg_max_expires > 0 && e > reg_max_expires)
		e = reg_max_expires;
	return e;
}

/* Per-contact values that do not depend on the bindings. */
static reg_err_t prepare_contacts(save_req_t *s, int novariation)
{
	for (int i = 0; i < s->n; i++) {
		reg_contact_t *rc = &s->c[i];
		const sip_param_t *p;
		long rid;

		rc->expires = contact_expires(s, rc, novariation);
		if (rc->expires < 0)
			return R_LOW_EXP;
		rc->q = s->q_override != -2  ? s->q_override
			: rc->sc->q_val >= 0 ? rc->sc->q_val
					     : reg_default_q;
		p = sip_param_find(rc->sc->na.param_list, STR_LIT("methods"));
		rc->methods =
		    p && p->value.len ? methods_of(p->value) : s->allow;
		rc->received = s->path_received;
		if (!rc->received.len) {
			p = sip_param_find(rc->sc->na.param_list,
					   STR_LIT("received"));
			rc->received =
			    p && p->value.len ? p->value : s->received;
		}
		if (rc->received.len > RECEIVED_MAX)
			return R_CONTACT_LEN;
		rid = rc->sc->instance.len ? str_to_uint(rc->sc->reg_id) : 0;
		rc->reg_id = rid > 0 ? (unsigned)rid : 0;
	}
	return R_FINE;
}

/* ---------------------------------------------------------------- bindings */

static ul_contact_t *match_binding(ul_record_t *r, const reg_contact_t *rc)
{
	ul_contact_t *c = NULL;

	if (!r)
		return NULL;
	if (rc->sc->instance.len)
		c = ul_find_instance(r, rc->sc->instance, rc->reg_id);
	return c ? c : ul_find_contact(r, rc->uri);
}

/* RFC 3261 §10.3 step 8: a binding made with the same Call-ID can only be
 * changed by a higher CSeq. The same CSeq within cseq_delay seconds of the
 * last change is a retransmission (1: leave the binding alone); anything
 * older is refused (-1). 0: go ahead. */
static int cseq_check(const save_req_t *s, const ul_contact_t *b, time_t now)
{
	if (!b || !str_eq(b->callid, s->callid))
		return 0;
	if (s->cseq > b->cseq)
		return 0;
	if (s->cseq == b->cseq && b->last_modified + ul_cseq_delay() > now)
		return 1;
	return -1;
}

/* Match every contact and check CSeq and max_contacts before changing
 * anything. */
static reg_err_t plan(save_req_t *s, ul_record_t *r, time_t now, int replace)
{
	int count = 0;

	for (ul_contact_t *b = r ? r->contacts : NULL; b; b = b->next)
		if (ul_contact_valid(b, now))
			count++;
	for (int i = 0; i < s->n; i++) {
		reg_contact_t *rc = &s->c[i];
		int dup = 0, k;

		rc->match = match_binding(r, rc);
		k = cseq_check(s, rc->match, now);
		if (k < 0)
			return R_INV_CSEQ;
		rc->skip = k;
		if (rc->skip)
			continue;
		for (int j = 0; j < i; j++)
			if (str_eq(s->c[j].uri, rc->uri))
				dup = 1;
		if (dup)
			continue;
		if (rc->match && ul_contact_valid(rc->match, now)) {
			if (!rc->expires)
				count--;
		} else if (rc->expires) {
			count++;
		}
	}
	if (!replace && reg_max_contacts > 0 && count > reg_max_contacts) {
		LOG_INFO("registrar: too many contacts for AOR %.*s (%d, max "
			 "%d)",
			 STR_FMT(s->aor), count, reg_max_contacts);
		return R_TOO_MANY;
	}
	return R_FINE;
}

/* Apply the planned changes. *ret gets Kamailio's code of the last
 * change: 1 inserted, 2 updated, 3 deleted (1 when nothing changed). */
static reg_err_t apply(ksr_ctx_t *ctx, ul_handle_t *h, save_req_t *s,
		       ul_record_t **rp, time_t now, long flags, int *ret)
{
	sip_msg_t *msg = ctx->msg;
	ul_record_t *r = *rp;
	ul_contact_t ci, *b, *kept = NULL;

	*ret = 1;
	for (int i = 0; i < s->n; i++) {
		reg_contact_t *rc = &s->c[i];

		if (rc->skip)
			continue;
		b = match_binding(r, rc);
		if (!rc->expires) {
			if (b) {
				ul_delete_contact(h, r, b);
				*ret = 3;
			}
			continue;
		}
		if (!r) {
			r = *rp = ul_get_or_insert_record(h);
			if (!r)
				return R_UL;
		}
		memset(&ci, 0, sizeof(ci));
		ci.c = rc->uri;
		ci.received = rc->received;
		ci.path = s->path;
		ci.callid = s->callid;
		ci.user_agent = s->ua;
		ci.socket = s->socket;
		ci.instance = rc->sc->instance;
		ci.expires = now + rc->expires;
		ci.q = rc->q;
		ci.cseq = s->cseq;
		ci.flags = (flags & REG_SAVE_MEM) ? UL_FL_MEM : 0;
		ci.cflags = msg->bflags;
		ci.methods = rc->methods;
		ci.reg_id = rc->reg_id;
		ci.last_modified = now;
		ci.conn_id = msg->rcv.conn_id;
		if (b) {
			if (ul_update_contact(h, r, b, &ci, &kept) < 0)
				return R_UL;
			*ret = 2;
		} else {
			if (ul_insert_contact(h, r, &ci, &kept) < 0)
				return R_UL;
			*ret = 1;
		}
		if (flags & REG_SAVE_REPLACE)
			break;
	}
	if ((flags & REG_SAVE_REPLACE) && kept && r) {
		ul_contact_t *c, *n;

		for (c = r->contacts; c; c = n) {
			n = c->next;
			if (c != kept)
				ul_delete_contact(h, r, c);
		}
	}
	return R_FINE;
}

/* Contact "*": remove every binding, unless one made with the same
 * Call-ID has a CSeq not lower than the request's (§10.3 step 6). */
static reg_err_t star(ul_handle_t *h, save_req_t *s, ul_record_t *r, time_t now)
{
	if (!r)
		return R_FINE;
	for (ul_contact_t *b = r->contacts; b; b = b->next)
		if (str_eq(b->callid, s->callid) && b->cseq >= s->cseq &&
		    !(b->cseq == s->cseq &&
		      b->last_modified + ul_cseq_delay() > now))
			return R_INV_CSEQ;
	while (r->contacts)
		ul_delete_contact(h, r, r->contacts);
	return R_FINE;
}

/* ---------------------------------------------------------------- replies */

static const char *reason_of(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 420: return "Bad Extension";
	case 423: return "Interval Too Brief";
	case 503: return "Service Unavailable";
	default: return "Server Internal Error";
	}
}

static void send_error(sip_msg_t *msg, reg_err_t e)
{
	sbuf_t b = {0};
	int code = rerr[e].code;

	sb_printf(&b, "P-Registrar-Error: %s\r\n", rerr[e].info);
	if (e == R_LOW_EXP)
		sb_printf(&b, "Min-Expires: %d\r\n", reg_min_expires);
	if (e == R_PATH_UNSUP)
		sb_printf(&b, "Unsupported: path\r\n");
	if (code >= 500 && reg_retry_after > 0)
		sb_printf(&b, "Retry-After: %d\r\n", reg_retry_after);
	if (b.oom)
		b.len = 0;
	osp_send_reply(msg, code, str_from(reason_of(code)),
		       (str_t){b.s, b.len}, STR_NULL);
	free(b.s);
}

int reg_save(ksr_ctx_t *ctx, str_t table, long flags, str_t uri)
{
	sip_msg_t *msg = ctx->msg;
	save_req_t *s;
	ul_domain_t *d;
	ul_handle_t h;
	ul_record_t *r;
	sbuf_t b = {0};
	reg_err_t e;
	time_t now;
	int ret = 1;

	if (!msg || msg->kind != SIP_REQUEST) {
		LOG_RATE(L_ERR, "registrar: save() needs a request");
		return -1;
	}
	if (flags < 0 || flags > REG_SAVE_ALL) {
		LOG_RATE(L_ERR, "registrar: save(): bad flags 0x%lx", flags);
		return -1;
	}
	d = reg_domain(table);
	if (!d)
		return -1;
	s = arena_alloc(msg->arena, sizeof(*s));
	if (!s)
		return -1;
	memset(s, 0, offsetof(save_req_t, aorbuf));
	e = read_request(ctx, s, uri);
	if (!e)
		e = prepare_contacts(s, !!(flags & REG_SAVE_NOVARIATION));
	if (e)
		goto fail;

	now = ul_now();
	ul_lock(d, s->aor, &h);
	r = ul_get_record(&h);
	if (s->star) {
		e = star(&h, s, r, now);
		ret = 3;
	} else if (s->n) {
		e = plan(s, r, now, !!(flags & REG_SAVE_REPLACE));
		if (!e)
			e = apply(ctx, &h, s, &r, now, flags, &ret);
	} else {
		ret = 4; /* a query */
	}
	if (!e && !(flags & REG_SAVE_NOREPLY))
		build_contacts(&b, r, now);
	if (r)
		ul_release_record(&h, r);
	ul_unlock(&h);
	if (e)
		goto fail;

	stats_inc(&reg_accepted);
	if (!(flags & REG_SAVE_NOREPLY)) {
		if (s->path.len && reg_path_mode != REG_PATH_OFF &&
		    s->path_supported) {
			sb_put(&b, "Path: ", 6);
			sb_str(&b, s->path);
			sb_put(&b, "\r\n", 2);
		}
		if (b.oom) {
			free(b.s);
			LOG_ERR("registrar: out of memory for the reply");
			return -1;
		}
		if (osp_send_reply(msg, 200, STR_LIT("OK"), (str_t){b.s, b.len},
				   STR_NULL) < 0)
			ret = -1;
	}
	free(b.s);
	return ret;
fail:
	free(b.s);
	stats_inc(&reg_rejected);
	LOG_DBG("registrar: REGISTER refused: %s", rerr[e].info);
	if (!(flags & REG_SAVE_NOREPLY))
		send_error(msg, e);
	return e == R_TOO_MANY ? -2 : -1;
}
