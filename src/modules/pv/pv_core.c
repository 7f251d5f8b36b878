/* pv_core.c - the variables that read (and rewrite) the SIP message: $ru,
 * $fu, $hdr(Name), $si, ... Semantics follow Kamailio 5.6's pv module:
 * absent things read as null, replies have no R-URI, ports and status
 * codes are numbers, $rm of a reply is its CSeq method. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/log.h"
#include "modules/pv/pv_int.h"
#include "net/net.h"

/* URI attributes (iparam of the $r?, $o? classes) */
enum { URI_USER = 1, URI_HOST, URI_PORT, URI_SCHEME };
/* name-addr attributes (From / To) */
enum { NA_URI = 1, NA_USER, NA_HOST, NA_TAG, NA_DISPLAY };
/* auth attributes */
enum { AUTH_USERNAME = 1, AUTH_USER, AUTH_DOMAIN, AUTH_REALM };

static time_t start_time;

void pv_core_init(void)
{
	time_t zero = 0, now;

	if (__atomic_load_n(&start_time, __ATOMIC_RELAXED))
		return;
	now = time(NULL);
	__atomic_compare_exchange_n(&start_time, &zero, now, 0,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

static sip_msg_t *req_of(ksr_ctx_t *ctx)
{
	return ctx->msg && ctx->msg->kind == SIP_REQUEST ? ctx->msg : NULL;
}

/* ------------------------------------------------------------------ */
/* request URI                                                         */

static const char *scheme_name(sip_uri_scheme_t s)
{
	switch (s) {
	case SIP_URI_SIP: return "sip";
	case SIP_URI_SIPS: return "sips";
	case SIP_URI_TEL: return "tel";
	default: return "none";
	}
}

static int xuri_attr(const sip_uri_t *u, long attr, ksr_xval_t *out)
{
	switch (attr) {
	case URI_USER:
		return u->user.len ? pv_ret_str(out, u->user)
				   : pv_ret_null(out);
	case URI_HOST:
		return u->host.len ? pv_ret_str(out, u->host)
				   : pv_ret_null(out);
	case URI_PORT:
		if (u->port.len)
			return pv_ret_strn(out, u->port, u->port_no);
		if (u->scheme == SIP_URI_SIPS ||
		    str_caseeq_cstr(u->transport, "tls"))
			return pv_ret_strn(out, STR_LIT("5061"), 5061);
		return pv_ret_strn(out, STR_LIT("5060"), 5060);
	case URI_SCHEME:
		return pv_ret_strn(out, str_from(scheme_name(u->scheme)),
				   (long)u->scheme);
	}
	return pv_ret_null(out);
}

/* $ru: the current R-URI (rewritten or as received); null for replies. */
static int get_ru(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	sip_msg_t *msg = req_of(ctx);
	str_t u;

	if (!msg)
		return pv_ret_null(out);
	u = sip_cur_uri(msg);
	return u.len ? pv_ret_str(out, u) : pv_ret_null(out);
}

static int get_ruri_attr(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	sip_msg_t *msg = req_of(ctx);
	sip_uri_t *u;

	if (!msg || !(u = sip_get_cur_ruri(msg)))
		return pv_ret_null(out);
	return xuri_attr(u, sp->iparam, out);
}

/* $ou: the R-URI as received. */
static int get_ou(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	sip_msg_t *msg = req_of(ctx);

	if (!msg || !msg->ruri.len)
		return pv_ret_null(out);
	return pv_ret_str(out, msg->ruri);
}

static int get_ouri_attr(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	sip_msg_t *msg = req_of(ctx);
	sip_uri_t *u;

	if (!msg || !(u = sip_get_ruri(msg)))
		return pv_ret_null(out);
	return xuri_attr(u, sp->iparam, out);
}

static int set_ru(ksr_ctx_t *ctx, const pv_spec_t *sp, const ksr_xval_t *val)
{
	sip_msg_t *msg = req_of(ctx);
	sip_uri_t tmp;

	if (!msg) {
		LOG_RATE(L_ERR, "$ru can be set on requests only");
		return -OSP_EINVAL;
	}
	if (val->type != KSR_STR || !val->s.len) {
		LOG_RATE(L_ERR, "$ru needs a non-empty string value");
		return -OSP_EINVAL;
	}
	if (sip_uri_parse(msg->arena, val->s, &tmp) < 0) {
		LOG_RATE(L_ERR, "$ru: invalid URI '%.*s'", STR_FMT(val->s));
		return -OSP_EINVAL;
	}
	return sip_set_ruri(msg, val->s) < 0 ? -OSP_ENOMEM : 0;
}

static int valid_port(str_t p)
{
	long n;

	return p.len <= 5 && pv_parse_long(p, &n) == 0 && n > 0 && n <= 65535 &&
	       p.s[0] != '-' && p.s[0] != '+';
}

/* Rewrite one part of the current R-URI (sip_uri_replace). */
static int ruri_rewrite(ksr_ctx_t *ctx, const char *pvname,
			sip_uri_part_t part, str_t val)
{
	sip_msg_t *msg = req_of(ctx);
	sip_uri_t *u;
	str_t out;
	int rc;

	if (!msg) {
		LOG_RATE(L_ERR, "%s can be set on requests only", pvname);
		return -OSP_EINVAL;
	}
	u = sip_get_cur_ruri(msg);
	if (!u) {
		LOG_RATE(L_ERR, "%s: the R-URI cannot be parsed", pvname);
		return -OSP_EINVAL;
	}
	rc = sip_uri_replace(msg->arena, sip_cur_uri(msg), u, part, val, &out);
	if (rc == -OSP_EINVAL)
		LOG_RATE(L_ERR, "%s: cannot rewrite this R-URI part", pvname);
	if (rc < 0)
		return rc;
	return sip_set_ruri(msg, out) < 0 ? -OSP_ENOMEM : 0;
}

/* $rU: null or "" removes the user part. */
static int set_ruri_user(ksr_ctx_t *ctx, const pv_spec_t *sp,
			 const ksr_xval_t *val)
{
	if (val->type == KSR_INT) {
		LOG_RATE(L_ERR, "$rU needs a string value");
		return -OSP_EINVAL;
	}
	return ruri_rewrite(ctx, "$rU", SIP_URI_PART_USER,
			    val->type == KSR_STR ? val->s : STR_NULL);
}

static int set_ruri_host(ksr_ctx_t *ctx, const pv_spec_t *sp,
			 const ksr_xval_t *val)
{
	if (val->type != KSR_STR || !val->s.len) {
		LOG_RATE(L_ERR, "$rd needs a non-empty string value");
		return -OSP_EINVAL;
	}
	return ruri_rewrite(ctx, "$rd", SIP_URI_PART_HOST, val->s);
}

/* $rp: a number or numeric string; null removes the port. */
static int set_ruri_port(ksr_ctx_t *ctx, const pv_spec_t *sp,
			 const ksr_xval_t *val)
{
	str_t p = STR_NULL;

	if (val->type == KSR_INT)
		p = pv_int_to_str(ctx, val->n);
	else if (val->type == KSR_STR)
		p = val->s;
	if (p.len && !valid_port(p)) {
		LOG_RATE(L_ERR, "$rp: invalid port '%.*s'", STR_FMT(p));
		return -OSP_EINVAL;
	}
	return ruri_rewrite(ctx, "$rp", SIP_URI_PART_PORT, p);
}

/* $du: the destination URI (next hop); null when not set. */
static int get_du(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	if (!ctx->msg || !ctx->msg->dst_uri.len)
		return pv_ret_null(out);
	return pv_ret_str(out, ctx->msg->dst_uri);
}

static int set_du(ksr_ctx_t *ctx, const pv_spec_t *sp, const ksr_xval_t *val)
{
	sip_msg_t *msg = ctx->msg;
	char *c;

	if (!msg) {
		LOG_RATE(L_ERR, "$du: no message");
		return -OSP_EINVAL;
	}
	if (val->type == KSR_NULL || (val->type == KSR_STR && !val->s.len)) {
		msg->dst_uri = STR_NULL;
		return 0;
	}
	if (val->type != KSR_STR) {
		LOG_RATE(L_ERR, "$du needs a string value");
		return -OSP_EINVAL;
	}
	c = arena_strndup(msg->arena, val->s.s, val->s.len);
	if (!c)
		return -OSP_ENOMEM;
	msg->dst_uri = (str_t){c, val->s.len};
	return 0;
}

/* ------------------------------------------------------------------ */
/* From / To                                                           */

static int xto_attr(sip_nameaddr_t *na, long attr, ksr_xval_t *out)
{
	if (!na)
		return pv_ret_null(out);
	switch (attr) {
	case NA_URI:
		return na->uri_str.len ? pv_ret_str(out, na->uri_str)
				       : pv_ret_null(out);
	case NA_USER:
		return na->uri_ok && na->uri.user.len
			   ? pv_ret_str(out, na->uri.user)
			   : pv_ret_null(out);
	case NA_HOST:
		return na->uri_ok && na->uri.host.len
			   ? pv_ret_str(out, na->uri.host)
			   : pv_ret_null(out);
	case NA_TAG:
		return na->tag.len ? pv_ret_str(out, na->tag)
				   : pv_ret_null(out);
	case NA_DISPLAY:
		return na->display.len ? pv_ret_str(out, na->display)
				       : pv_ret_null(out);
	}
	return pv_ret_null(out);
}

/* $ft / $tt need only the tag: found without parsing the URI (dialog
 * matching asks for them on every in-dialog request). */
static int tag_attr(sip_msg_t *msg, sip_hdr_type_t t, ksr_xval_t *out)
{
	str_t tag;

	return sip_get_tag(msg, t, &tag) > 0 && tag.len ? pv_ret_str(out, tag)
							: pv_ret_null(out);
}

static int get_from_attr(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	if (!ctx->msg)
		return pv_ret_null(out);
	if (sp->iparam == NA_TAG)
		return tag_attr(ctx->msg, SIP_HDR_FROM, out);
	return xto_attr(sip_get_from(ctx->msg), sp->iparam, out);
}

static int get_to_attr(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	if (!ctx->msg)
		return pv_ret_null(out);
	if (sp->iparam == NA_TAG)
		return tag_attr(ctx->msg, SIP_HDR_TO, out);
	return xto_attr(sip_get_to(ctx->msg), sp->iparam, out);
}

/* ------------------------------------------------------------------ */
/* start line and simple headers                                       */

static int get_ci(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	str_t c;

	if (!ctx->msg)
		return pv_ret_null(out);
	c = sip_get_callid(ctx->msg);
	return c.len ? pv_ret_str(out, c) : pv_ret_null(out);
}

/* $cs: the CSeq number, as text (like Kamailio; KSR.pv.geti parses it). */
static int get_cs(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	sip_cseq_t *c;

	if (!ctx->msg || !(c = sip_get_cseq(ctx->msg)))
		return pv_ret_null(out);
	return pv_ret_str(out, c->number);
}

/* $rm: the request method, or the CSeq method of a reply. */
static int get_rm(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	sip_msg_t *msg = ctx->msg;
	sip_cseq_t *c;

	if (!msg)
		return pv_ret_null(out);
	if (msg->kind == SIP_REQUEST)
		return pv_ret_strn(out, msg->method, (long)msg->method_id);
	if (!(c = sip_get_cseq(msg)))
		return pv_ret_null(out);
	return pv_ret_strn(out, c->method, (long)c->method_id);
}

static int get_rs(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	if (!ctx->msg || ctx->msg->kind != SIP_REPLY)
		return pv_ret_null(out);
	return pv_ret_int(out, ctx->msg->status);
}

static int get_rr(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	if (!ctx->msg || ctx->msg->kind != SIP_REPLY)
		return pv_ret_null(out);
	return pv_ret_str(out, ctx->msg->reason);
}

static int get_rv(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	if (!ctx->msg || !ctx->msg->version.len)
		return pv_ret_null(out);
	return pv_ret_str(out, ctx->msg->version);
}

static int get_mb(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	if (!ctx->msg || !ctx->msg->buf)
		return pv_ret_null(out);
	return pv_ret_str(out, (str_t){ctx->msg->buf, ctx->msg->len});
}

static int get_ml(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	if (!ctx->msg)
		return pv_ret_null(out);
	return pv_ret_int(out, (long)ctx->msg->len);
}

static int get_mi(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	if (!ctx->msg)
		return pv_ret_null(out);
	return pv_ret_int(out, (long)ctx->msg->id);
}

static int get_mt(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	if (!ctx->msg)
		return pv_ret_null(out);
	return pv_ret_int(out, ctx->msg->kind == SIP_REQUEST ? 1 : 2);
}

/* $rb: the body as received ("" when the message has none). */
static int get_rb(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	if (!ctx->msg)
		return pv_ret_null(out);
	if (!ctx->msg->body.s)
		return pv_ret_str(out, STR_LIT(""));
	return pv_ret_str(out, ctx->msg->body);
}

static int get_bs(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	if (!ctx->msg)
		return pv_ret_null(out);
	return pv_ret_int(out, (long)ctx->msg->body.len);
}

/* Value of the first header of a type (iparam); null when absent. */
static int get_hdr_type(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	sip_hdr_t *h;

	if (!ctx->msg ||
	    !(h = sip_hdr_first(ctx->msg, (sip_hdr_type_t)sp->iparam)))
		return pv_ret_null(out);
	return pv_ret_str(out, h->value);
}

/* $cl: Content-Length as a number; null when absent or malformed. */
static int get_cl(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	sip_hdr_t *h;
	long n;

	if (!ctx->msg || !(h = sip_hdr_first(ctx->msg, SIP_HDR_CLEN)))
		return pv_ret_null(out);
	n = str_to_uint(str_trim(h->value));
	return n < 0 ? pv_ret_null(out) : pv_ret_int(out, n);
}

/* $ai: URI of the first P-Asserted-Identity. */
static int get_ai(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	sip_hdr_t *h;
	str_t v;
	const char *lt, *gt, *comma;

	if (!ctx->msg ||
	    !(h = sip_hdr_find(ctx->msg, STR_LIT("P-Asserted-Identity"))))
		return pv_ret_null(out);
	v = h->value;
	lt = v.len ? memchr(v.s, '<', v.len) : NULL;
	if (lt) {
		gt = memchr(lt, '>', v.len - (size_t)(lt - v.s));
		if (!gt)
			return pv_ret_null(out);
		v = str_trim((str_t){lt + 1, (size_t)(gt - lt - 1)});
	} else {
		comma = v.len ? memchr(v.s, ',', v.len) : NULL;
		if (comma)
			v.len = (size_t)(comma - v.s);
		v = str_trim(v);
	}
	return v.len ? pv_ret_str(out, v) : pv_ret_null(out);
}

/* Credentials: Proxy-Authorization first, else Authorization (as the
 * Kamailio $au family does). */
static int get_auth_attr(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	sip_msg_t *msg = ctx->msg;
	sip_hdr_t *h;
	sip_auth_t *a;
	const char *at;
	str_t u;

	if (!msg || msg->kind != SIP_REQUEST ||
	    msg->method_id == SIP_METHOD_ACK ||
	    msg->method_id == SIP_METHOD_CANCEL)
		return pv_ret_null(out);
	h = sip_hdr_first(msg, SIP_HDR_PROXYAUTHZ);
	if (!h)
		h = sip_hdr_first(msg, SIP_HDR_AUTHORIZATION);
	if (!h || !(a = sip_get_auth(msg, h)))
		return pv_ret_null(out);
	u = a->username;
	at = u.len ? memchr(u.s, '@', u.len) : NULL;
	switch (sp->iparam) {
	case AUTH_USERNAME: break;
	case AUTH_USER:
		if (at)
			u.len = (size_t)(at - u.s);
		break;
	case AUTH_DOMAIN:
		if (!at)
			return pv_ret_null(out);
		u = (str_t){at + 1, u.len - (size_t)(at + 1 - u.s)};
		break;
	default: u = a->realm; break;
	}
	return u.len ? pv_ret_str(out, u) : pv_ret_null(out);
}

/* ------------------------------------------------------------------ */
/* $hdr(Name), $hdrc(Name)                                             */

typedef struct hmatch {
	int any;
	sip_hdr_type_t type;
	str_t name;
} hmatch_t;

static int hdr_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("-.!%*_+`'~", c);
}

static int hdr_parse_name(pv_spec_t *sp, str_t name, char *err, size_t errlen)
{
	if (name.len == 1 && name.s[0] == '*') {
		sp->iparam = -1;
		return 0;
	}
	for (size_t i = 0; i < name.len; i++)
		if (!hdr_name_char(name.s[i])) {
			snprintf(err, errlen,
				 "invalid header name '%.*s' in '%s'",
				 STR_FMT(name), sp->text);
			return -1;
		}
	sp->iparam = (long)sip_hdr_type_from_name(name);
	return 0;
}

/* Known headers match by type (so "v" finds "Via" and the reverse), the
 * others by name, case-insensitively. */
static int hmatch_init(ksr_ctx_t *ctx, const pv_spec_t *sp, hmatch_t *m)
{
	if (pv_spec_name(ctx, sp, &m->name) < 0)
		return -1;
	if (sp->name_pv) {
		m->any = m->name.len == 1 && m->name.s[0] == '*';
		m->type = sip_hdr_type_from_name(m->name);
	} else {
		m->any = sp->iparam == -1;
		m->type = m->any ? SIP_HDR_OTHER : (sip_hdr_type_t)sp->iparam;
	}
	return 0;
}

static int hmatch(const hmatch_t *m, const sip_hdr_t *h)
{
	if (m->any)
		return 1;
	if (m->type != SIP_HDR_OTHER)
		return h->type == m->type;
	return h->type == SIP_HDR_OTHER && str_caseeq(h->name, m->name);
}

/* $hdr(Name): the first value, $(hdr(Name)[n]) the n-th (negative: from
 * the last), $(hdr(Name)[*]) every value joined with ",". Headers removed
 * by the script are still seen, as in Kamailio (the original message is
 * read). */
static int get_hdr(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	sip_msg_t *msg = ctx->msg;
	hmatch_t m;
	int itype, count = 0, k = 0;
	long idx;
	size_t total = 0, pos = 0;
	char *b;

	if (!msg || hmatch_init(ctx, sp, &m) < 0 ||
	    pv_spec_index(ctx, sp, &itype, &idx) < 0)
		return pv_ret_null(out);
	if (itype == PV_IDX_ALL) {
		for (int i = 0; i < msg->n_hdrs; i++)
			if (hmatch(&m, &msg->hdrs[i])) {
				total += msg->hdrs[i].value.len + 1;
				count++;
			}
		if (!count)
			return pv_ret_null(out);
		if (!(b = pv_scratch(ctx, total)))
			return -OSP_ENOMEM;
		for (int i = 0; i < msg->n_hdrs; i++) {
			if (!hmatch(&m, &msg->hdrs[i]))
				continue;
			if (pos)
				b[pos++] = ',';
			memcpy(b + pos, msg->hdrs[i].value.s,
			       msg->hdrs[i].value.len);
			pos += msg->hdrs[i].value.len;
		}
		return pv_ret_str(out, (str_t){b, pos});
	}
	if (idx < 0) {
		for (int i = 0; i < msg->n_hdrs; i++)
			count += hmatch(&m, &msg->hdrs[i]);
		idx += count;
		if (idx < 0)
			return pv_ret_null(out);
	}
	for (int i = 0; i < msg->n_hdrs; i++)
		if (hmatch(&m, &msg->hdrs[i]) && k++ == idx)
			return pv_ret_str(out, msg->hdrs[i].value);
	return pv_ret_null(out);
}

static int get_hdrc(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	sip_msg_t *msg = ctx->msg;
	hmatch_t m;
	int count = 0;

	if (!msg || hmatch_init(ctx, sp, &m) < 0)
		return pv_ret_int(out, 0);
	for (int i = 0; i < msg->n_hdrs; i++)
		count += hmatch(&m, &msg->hdrs[i]);
	return pv_ret_int(out, count);
}

/* ------------------------------------------------------------------ */
/* where the message came from                                         */

static int get_si(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	char *b;
	int n;

	if (!ctx->msg || !ctx->msg->rcv.src.sa.sa_family)
		return pv_ret_null(out);
	if (!(b = pv_scratch(ctx, 64)))
		return -OSP_ENOMEM;
	n = net_addr_to_ip(&ctx->msg->rcv.src, b, 64);
	return n > 0 ? pv_ret_str(out, (str_t){b, (size_t)n})
		     : pv_ret_null(out);
}

static int get_sp(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	if (!ctx->msg || !ctx->msg->rcv.src.sa.sa_family)
		return pv_ret_null(out);
	return pv_ret_int(out, net_addr_port(&ctx->msg->rcv.src));
}

/* $Ri / $Rp: the listener the message arrived on (its configured address),
 * else the local address of the socket. */
static int get_ri(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	sip_msg_t *msg = ctx->msg;
	const net_listener_t *l;
	char *b;
	int n;

	if (!msg)
		return pv_ret_null(out);
	l = msg->rcv.listener;
	if (l && l->ip[0])
		return pv_ret_str(out, str_from(l->ip));
	if (!msg->rcv.dst.sa.sa_family)
		return pv_ret_null(out);
	if (!(b = pv_scratch(ctx, 64)))
		return -OSP_ENOMEM;
	n = net_addr_to_ip(&msg->rcv.dst, b, 64);
	return n > 0 ? pv_ret_str(out, (str_t){b, (size_t)n})
		     : pv_ret_null(out);
}

static int get_rp_rcv(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	sip_msg_t *msg = ctx->msg;
	const net_listener_t *l;

	if (!msg)
		return pv_ret_null(out);
	l = msg->rcv.listener;
	if (l && l->port)
		return pv_ret_int(out, l->port);
	if (!msg->rcv.dst.sa.sa_family)
		return pv_ret_null(out);
	return pv_ret_int(out, net_addr_port(&msg->rcv.dst));
}

/* $pr / $proto: "udp", "tcp", "tls", "sctp", "ws", "wss" (proto id as the
 * companion number), "none" when unknown. */
static int get_pr(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	static const char *names[] = {"none", "udp", "tcp", "tls",
				      "sctp", "ws",  "wss"};
	sip_proto_t p;

	if (!ctx->msg)
		return pv_ret_null(out);
	p = ctx->msg->rcv.proto;
	if ((unsigned)p >= OSP_ARRAY_LEN(names))
		p = SIP_PROTO_NONE;
	return pv_ret_strn(out, str_from(names[p]), (long)p);
}

/* ------------------------------------------------------------------ */
/* flags                                                               */

enum { FL_MSG = 1, FL_BRANCH, FL_SCRIPT };

static uint32_t *flags_ptr(ksr_ctx_t *ctx, long which)
{
	if (which == FL_SCRIPT)
		return &ctx->sflags;
	if (!ctx->msg)
		return NULL;
	return which == FL_MSG ? &ctx->msg->flags : &ctx->msg->bflags;
}

static int get_flags(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	uint32_t *f = flags_ptr(ctx, sp->iparam);

	return f ? pv_ret_int(out, (long)*f) : pv_ret_null(out);
}

/* $mF, $bF, $sF: eight lower-case hex digits. */
static int get_hexflags(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	uint32_t *f = flags_ptr(ctx, sp->iparam);
	char *b;

	if (!f)
		return pv_ret_null(out);
	if (!(b = pv_scratch(ctx, 9)))
		return -OSP_ENOMEM;
	snprintf(b, 9, "%08x", *f);
	return pv_ret_strn(out, (str_t){b, 8}, (long)*f);
}

static int set_flags(ksr_ctx_t *ctx, const pv_spec_t *sp, const ksr_xval_t *val)
{
	uint32_t *f = flags_ptr(ctx, sp->iparam);

	if (!f) {
		LOG_RATE(L_ERR, "%s: no message", sp->text);
		return -OSP_EINVAL;
	}
	if (val->type == KSR_NULL) {
		*f = 0;
		return 0;
	}
	if (val->type != KSR_INT) {
		LOG_RATE(L_ERR, "%s needs an integer value", sp->text);
		return -OSP_EINVAL;
	}
	*f = (uint32_t)val->n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* time and constants                                                  */

/* The time of the current message: read once per message so that every
 * $Ts of one message agrees (Kamailio caches it the same way). */
static time_t msg_time(ksr_ctx_t *ctx, pv_tls_t **tp)
{
	pv_tls_t *t = pv_tls();
	sip_msg_t *msg = ctx->msg;

	*tp = t;
	if (!t || !msg)
		return time(NULL);
	if (t->t_msg != msg || t->t_msgid != msg->id) {
		t->t_msg = msg;
		t->t_msgid = msg->id;
		t->t_val = time(NULL);
		t->t_fmt[0] = '\0';
	}
	return t->t_val;
}

static int get_ts(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	pv_tls_t *t;

	return pv_ret_int(out, (long)msg_time(ctx, &t));
}

/* $Tf: the message time as ctime() text, "Wed Jun 30 21:49:08 1993". */
static int get_tf(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	pv_tls_t *t;
	time_t now = msg_time(ctx, &t);
	char tmp[32], *b;
	size_t n;

	if (!ctime_r(&now, tmp))
		return pv_ret_null(out);
	n = strlen(tmp);
	if (n && tmp[n - 1] == '\n')
		tmp[--n] = '\0';
	if (t && ctx->msg) {
		memcpy(t->t_fmt, tmp, n + 1);
		return pv_ret_str(out, (str_t){t->t_fmt, n});
	}
	if (!(b = pv_scratch(ctx, n)))
		return -OSP_ENOMEM;
	memcpy(b, tmp, n + 1);
	return pv_ret_str(out, (str_t){b, n});
}

/* $TS: when the server started. */
static int get_tstart(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	pv_core_init();
	return pv_ret_int(out, (long)start_time);
}

static int get_null(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	return pv_ret_null(out);
}

/* $T_branch_idx: 0 until the transaction module replaces this class. */
static int get_zero(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	return pv_ret_int(out, 0);
}

/* ------------------------------------------------------------------ */

#define RO(n, g, ip)                                                           \
	{                                                                      \
		n, g, NULL, 0, ip, NULL, NULL                                  \
	}
#define RW(n, g, s, ip)                                                        \
	{                                                                      \
		n, g, s, 0, ip, NULL, NULL                                     \
	}

const pv_class_t pv_core_classes[] = {
    RW("ru", get_ru, set_ru, 0),
    RW("rU", get_ruri_attr, set_ruri_user, URI_USER),
    RW("rd", get_ruri_attr, set_ruri_host, URI_HOST),
    RW("rp", get_ruri_attr, set_ruri_port, URI_PORT),
    RO("rz", get_ruri_attr, URI_SCHEME),
    RO("ou", get_ou, 0),
    RO("oU", get_ouri_attr, URI_USER),
    RO("od", get_ouri_attr, URI_HOST),
    RO("op", get_ouri_attr, URI_PORT),
    RW("du", get_du, set_du, 0),
    RO("fu", get_from_attr, NA_URI),
    RO("from", get_from_attr, NA_URI),
    RO("fU", get_from_attr, NA_USER),
    RO("fd", get_from_attr, NA_HOST),
    RO("fn", get_from_attr, NA_DISPLAY),
    RO("ft", get_from_attr, NA_TAG),
    RO("tu", get_to_attr, NA_URI),
    RO("to", get_to_attr, NA_URI),
    RO("tU", get_to_attr, NA_USER),
    RO("td", get_to_attr, NA_HOST),
    RO("tn", get_to_attr, NA_DISPLAY),
    RO("tt", get_to_attr, NA_TAG),
    RO("ci", get_ci, 0),
    RO("cs", get_cs, 0),
    RO("rm", get_rm, 0),
    RO("rs", get_rs, 0),
    RO("rr", get_rr, 0),
    RO("rv", get_rv, 0),
    RO("mb", get_mb, 0),
    RO("ml", get_ml, 0),
    RO("mi", get_mi, 0),
    RO("mt", get_mt, 0),
    RO("rb", get_rb, 0),
    RO("bs", get_bs, 0),
    RO("cl", get_cl, 0),
    RO("ct", get_hdr_type, SIP_HDR_CONTACT),
    RO("cT", get_hdr_type, SIP_HDR_CTYPE),
    RO("ua", get_hdr_type, SIP_HDR_USERAGENT),
    RO("ai", get_ai, 0),
    RO("aU", get_auth_attr, AUTH_USERNAME),
    RO("au", get_auth_attr, AUTH_USER),
    RO("ad", get_auth_attr, AUTH_DOMAIN),
    RO("ar", get_auth_attr, AUTH_REALM),
    RO("si", get_si, 0),
    RO("sp", get_sp, 0),
    RO("Ri", get_ri, 0),
    RO("Rp", get_rp_rcv, 0),
    RO("pr", get_pr, 0),
    RO("proto", get_pr, 0),
    RW("mf", get_flags, set_flags, FL_MSG),
    RW("flags", get_flags, set_flags, FL_MSG),
    RO("mF", get_hexflags, FL_MSG),
    RW("bf", get_flags, set_flags, FL_BRANCH),
    RO("bF", get_hexflags, FL_BRANCH),
    RW("sf", get_flags, set_flags, FL_SCRIPT),
    RO("sF", get_hexflags, FL_SCRIPT),
    RO("Ts", get_ts, 0),
    RO("Tf", get_tf, 0),
    RO("TS", get_tstart, 0),
    RO("null", get_null, 0),
    RO("T_branch_idx", get_zero, 0),
    {"hdr", get_hdr, NULL, PV_CF_NAME | PV_CF_INDEX | PV_CF_DYNNAME, 0,
     hdr_parse_name, NULL},
    {"hdrc", get_hdrc, NULL, PV_CF_NAME | PV_CF_DYNNAME, 0, hdr_parse_name,
     NULL},
    {NULL, NULL, NULL, 0, 0, NULL, NULL},
};
