/* sanity.c - KSR.sanity: syntax checks of incoming messages, with the
 * check bits, replies and return codes of Kamailio's sanity module
 * (sanity_mod.h, sanity_mod.c, sanity.c as in 5.6).
 *
 * A check that fails answers the request (400 with Kamailio's reason
 * phrase, 505 for the version, 420 + Unsupported for Proxy-Require) and
 * the KSR function returns -1; 1 when every requested check passed.
 * Replies, ACKs and messages too broken to answer (missing Via, From, To,
 * Call-ID or CSeq, duplicated ones) fail silently. With the noreply
 * modparam nothing is sent and sanity_reply() sends it later. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/fwd.h"
#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "modules/hdr/hdr_ops.h"

/* Message checks (first sanity_check parameter). */
#define SN_RURI_SIP_VERSION    (1 << 0)
#define SN_RURI_SCHEME	       (1 << 1)
#define SN_REQUIRED_HEADERS    (1 << 2)
#define SN_VIA_SIP_VERSION     (1 << 3)
#define SN_VIA_PROTOCOL	       (1 << 4)
#define SN_CSEQ_METHOD	       (1 << 5)
#define SN_CSEQ_VALUE	       (1 << 6)
#define SN_CL		       (1 << 7)
#define SN_EXPIRES_VALUE       (1 << 8)
#define SN_PROXY_REQUIRE       (1 << 9)
#define SN_PARSE_URIS	       (1 << 10)
#define SN_CHECK_DIGEST	       (1 << 11)
#define SN_CHECK_DUPTAGS       (1 << 12)
#define SN_CHECK_AUTHORIZATION (1 << 13)
#define SN_VIA1_HEADER	       (1 << 14)

#define SN_DEFAULT_CHECKS                                                      \
	(SN_RURI_SIP_VERSION | SN_RURI_SCHEME | SN_REQUIRED_HEADERS |          \
	 SN_CSEQ_METHOD | SN_CSEQ_VALUE | SN_CL | SN_EXPIRES_VALUE |           \
	 SN_PROXY_REQUIRE | SN_CHECK_DIGEST)

/* URI checks (second parameter, used by SN_PARSE_URIS). */
#define SN_URI_RURI	      (1 << 0)
#define SN_URI_FROM	      (1 << 1)
#define SN_URI_TO	      (1 << 2)
#define SN_URI_CONTACT	      (1 << 3)
#define SN_DEFAULT_URI_CHECKS (SN_URI_RURI | SN_URI_FROM | SN_URI_TO)

enum { PASSED = 1, FAILED = 0, NOT_APPLICABLE = -2 };

static int default_checks = SN_DEFAULT_CHECKS;
static int uri_checks = SN_DEFAULT_URI_CHECKS;
static char *proxy_require; /* comma-separated extensions we support */
static int autodrop = 1;    /* native scripts only; see README */
static int noreply;

/* The reply a failed check wants, kept per worker for sanity_reply() when
 * noreply is set; and the message found too broken to answer. */
typedef struct sanity_info {
	uint64_t msgid;
	int code;
	char reason[128];
} sanity_info_t;

static _Thread_local sanity_info_t info;
static _Thread_local uint64_t silent_msgid;
static _Thread_local int silent_set;

static void mark_silent(sip_msg_t *msg)
{
	silent_msgid = msg->id;
	silent_set = 1;
}

static int is_silent(const sip_msg_t *msg)
{
	return silent_set && silent_msgid == msg->id;
}

/* Answer (or remember the answer to) a request that failed a check. */
static void sn_reply(sip_msg_t *msg, int code, const char *reason)
{
	if (msg->kind != SIP_REQUEST || msg->method_id == SIP_METHOD_ACK)
		return;
	if (noreply) {
		info.msgid = msg->id;
		info.code = code;
		snprintf(info.reason, sizeof(info.reason), "%s", reason);
		return;
	}
	if (is_silent(msg))
		return;
	if (osp_send_reply(msg, code, str_from(reason), STR_NULL, STR_NULL) < 0)
		LOG_WARN("sanity: failed to send %d reply", code);
}

/* RFC 3261 numbers in CSeq and Expires: 1 to 10 digits, at most 2^32-1. */
static int valid_uint(str_t s)
{
	uint64_t v = 0;

	if (s.len == 0 || s.len > 10)
		return 0;
	for (size_t i = 0; i < s.len; i++) {
		if (s.s[i] < '0' || s.s[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(s.s[i] - '0');
	}
	return v <= UINT32_MAX;
}

static int chk_ruri_sip_version(sip_msg_t *msg)
{
	const char *slash;
	str_t v = msg->version, num;

	if (msg->kind != SIP_REQUEST || v.len == 0)
		return PASSED;
	slash = memchr(v.s, '/', v.len);
	if (!slash)
		return FAILED;
	num.s = slash + 1;
	num.len = v.len - (size_t)(num.s - v.s);
	if (!str_eq_cstr(num, "2.0")) {
		sn_reply(msg, 505, "Version Not Supported (R-URI)");
		return FAILED;
	}
	return PASSED;
}

static int chk_ruri_scheme(sip_msg_t *msg)
{
	if (msg->kind != SIP_REQUEST)
		return PASSED;
	if (!sip_get_cur_ruri(msg)) {
		/* our URI parser knows sip, sips and tel: any other scheme
		 * ends here, as it does in Kamailio */
		sn_reply(msg, 400, "Bad Request URI");
		return FAILED;
	}
	return PASSED;
}

/* From, To, Call-ID and CSeq present (To parseable), none duplicated. */
static int chk_required_headers(sip_msg_t *msg)
{
	static const sip_hdr_type_t req[] = {SIP_HDR_FROM, SIP_HDR_TO,
					     SIP_HDR_CALLID, SIP_HDR_CSEQ};
	int seen[OSP_ARRAY_LEN(req)] = {0};

	for (int i = 0; i < msg->n_hdrs; i++)
		for (size_t k = 0; k < OSP_ARRAY_LEN(req); k++)
			if (msg->hdrs[i].type == req[k])
				seen[k]++;
	for (size_t k = 0; k < OSP_ARRAY_LEN(req); k++) {
		if (seen[k] == 0) {
			mark_silent(msg);
			return FAILED;
		}
	}
	/* a duplicate fails without an answer, but is not marked as
	 * unanswerable: sanity_reply() then sends its 500 (as Kamailio) */
	for (size_t k = 0; k < OSP_ARRAY_LEN(req); k++)
		if (seen[k] > 1)
			return FAILED;
	if (!sip_get_to(msg)) {
		mark_silent(msg);
		return FAILED;
	}
	return PASSED;
}

static int chk_via1_header(sip_msg_t *msg)
{
	sip_via_t *v = sip_get_via1(msg);

	if (!v || v->host.len == 0) {
		mark_silent(msg);
		return FAILED;
	}
	return PASSED;
}

/* CSeq split in number and method without the parser's validation, so
 * that a bad number gets Kamailio's "illegal" answer. 0, or -1 when the
 * message has no CSeq. */
static int cseq_split(sip_msg_t *msg, str_t *num, str_t *method)
{
	sip_hdr_t *h = sip_hdr_first(msg, SIP_HDR_CSEQ);
	str_t v;
	size_t i = 0;

	if (!h)
		return -1;
	v = str_trim(h->value);
	while (i < v.len && v.s[i] != ' ' && v.s[i] != '\t')
		i++;
	*num = (str_t){v.s, i};
	*method = str_trim((str_t){v.s + i, v.len - i});
	return 0;
}

static int chk_cseq_method(sip_msg_t *msg)
{
	str_t num, method;

	/* Kamailio compares a reply's CSeq with a request field that a
	 * reply does not have, and always fails; replies pass here. */
	if (msg->kind != SIP_REQUEST)
		return PASSED;
	if (cseq_split(msg, &num, &method) < 0) {
		mark_silent(msg);
		return FAILED;
	}
	if (method.len == 0) {
		sn_reply(msg, 400, "Missing method in CSeq header");
		return FAILED;
	}
	if (!str_eq(method, msg->method)) {
		sn_reply(msg, 400, "CSeq method does not match request method");
		return FAILED;
	}
	return PASSED;
}

static int chk_cseq_value(sip_msg_t *msg)
{
	str_t num, method;

	if (cseq_split(msg, &num, &method) < 0) {
		mark_silent(msg);
		return FAILED;
	}
	if (num.len == 0) {
		sn_reply(msg, 400, "Missing number in CSeq header");
		return FAILED;
	}
	if (!valid_uint(num)) {
		sn_reply(msg, 400, "CSeq number is illegal");
		return FAILED;
	}
	return PASSED;
}

/* Offset of the body in the received buffer. */
static size_t body_offset(const sip_msg_t *msg)
{
	size_t off;

	if (msg->body.s)
		return (size_t)(msg->body.s - msg->buf);
	off = msg->hdrs_end;
	if (off < msg->len && msg->buf[off] == '\r')
		off++;
	if (off < msg->len && msg->buf[off] == '\n')
		off++;
	return off;
}

/* Content-Length must equal the bytes received after the headers. */
static int chk_cl(sip_msg_t *msg)
{
	sip_hdr_t *h = sip_hdr_first(msg, SIP_HDR_CLEN);
	long cl;
	size_t off;

	if (!h)
		return PASSED;
	cl = str_to_uint(str_trim(h->value));
	if (cl < 0) {
		sn_reply(msg, 400, "Content-Length Failure");
		return FAILED;
	}
	off = body_offset(msg);
	if (off > msg->len || msg->len - off != (size_t)cl) {
		sn_reply(msg, 400, "Content-Length mis-match");
		return FAILED;
	}
	return PASSED;
}

static int chk_expires_value(sip_msg_t *msg)
{
	sip_hdr_t *h = sip_hdr_first(msg, SIP_HDR_EXPIRES);
	str_t v;

	if (!h)
		return PASSED;
	v = str_trim(h->value);
	if (v.len == 0) {
		sn_reply(msg, 400, "Bad Expires Header");
		return FAILED;
	}
	if (!valid_uint(v)) {
		sn_reply(msg, 400, "Expires value is illegal");
		return FAILED;
	}
	return PASSED;
}

/* Next comma-separated, trimmed item of *list (consumed). 0 at the end. */
static int next_item(str_t *list, str_t *item)
{
	const char *c;
	size_t n;

	if (!list->s)
		return 0;
	c = memchr(list->s, ',', list->len);
	n = c ? (size_t)(c - list->s) : list->len;
	*item = str_trim((str_t){list->s, n});
	if (c) {
		list->s = c + 1;
		list->len -= n + 1;
	} else {
		list->s = NULL;
		list->len = 0;
	}
	return 1;
}

/* 1 when ext is in the proxy_require modparam (case-sensitive, as
 * Kamailio). */
static int ext_supported(str_t ext)
{
	str_t list = str_trim(str_from(proxy_require)), it;

	if (list.len == 0)
		return 0;
	while (next_item(&list, &it))
		if (str_eq(it, ext))
			return 1;
	return 0;
}

static int chk_proxy_require(sip_msg_t *msg)
{
	sip_hdr_t *h = sip_hdr_first(msg, SIP_HDR_PROXYREQUIRE);
	str_t list, ext;
	char line[256];
	int n;

	if (!h)
		return PASSED;
	list = str_trim(h->value);
	if (list.len == 0) {
		sn_reply(msg, 400, "Bad Proxy Require Header");
		return FAILED;
	}
	while (next_item(&list, &ext)) {
		if (ext_supported(ext))
			continue;
		n = snprintf(line, sizeof(line), "Unsupported: %.*s\r\n",
			     (int)(ext.len < 200 ? ext.len : 200), ext.s);
		if (hdr_add_reply(msg, (str_t){line, (size_t)n}) < 0)
			LOG_ERR("sanity: cannot add the Unsupported header");
		sn_reply(msg, 420, "Bad Proxy Require Extension");
		return FAILED;
	}
	return PASSED;
}

/* From or To: missing header fails silently, a bad one gets 400. */
static int chk_nameaddr_uri(sip_msg_t *msg, sip_hdr_type_t t,
			    const char *reason)
{
	sip_nameaddr_t *na;

	if (!sip_hdr_first(msg, t)) {
		mark_silent(msg);
		return FAILED;
	}
	na = t == SIP_HDR_FROM ? sip_get_from(msg) : sip_get_to(msg);
	if (!na || !na->uri_ok) {
		sn_reply(msg, 400, reason);
		return FAILED;
	}
	return PASSED;
}

static int chk_parse_uris(sip_msg_t *msg, int checks)
{
	if ((checks & SN_URI_RURI) && msg->kind == SIP_REQUEST &&
	    !sip_get_cur_ruri(msg)) {
		sn_reply(msg, 400, "Bad Request URI");
		return FAILED;
	}
	if ((checks & SN_URI_FROM) &&
	    chk_nameaddr_uri(msg, SIP_HDR_FROM, "Invalid From Header") !=
		PASSED)
		return FAILED;
	if ((checks & SN_URI_TO) &&
	    chk_nameaddr_uri(msg, SIP_HDR_TO, "Invalid To Header") != PASSED)
		return FAILED;
	if (checks & SN_URI_CONTACT) {
		sip_contact_list_t *first = NULL;

		for (int i = 0; i < msg->n_hdrs; i++) {
			sip_contact_list_t *cl;

			if (msg->hdrs[i].type != SIP_HDR_CONTACT)
				continue;
			cl = sip_get_contacts(msg, &msg->hdrs[i]);
			if (!cl) {
				sn_reply(msg, 400, "Bad Contact Header");
				return FAILED;
			}
			if (!first)
				first = cl;
		}
		if (first && !first->star &&
		    (!first->first || !first->first->na.uri_ok)) {
			sn_reply(msg, 400, "Bad Contact URI");
			return FAILED;
		}
	}
	return PASSED;
}

/* One credentials header: NOT_APPLICABLE for a scheme other than Digest. */
static int chk_one_cred(sip_msg_t *msg, sip_hdr_t *h)
{
	str_t v = str_trim(h->value);
	sip_auth_t *c;

	if (v.len < 6 || strncasecmp(v.s, "digest", 6) != 0 ||
	    (v.len > 6 && v.s[6] != ' ' && v.s[6] != '\t'))
		return NOT_APPLICABLE;
	c = sip_get_auth(msg, h);
	if (!c) {
		sn_reply(msg, 400, "Bad Auth Header");
		return FAILED;
	}
	if (!c->username.s || !c->realm.s || !c->nonce.s || !c->uri.s ||
	    !c->response.s ||
	    ((str_caseeq_cstr(c->qop, "auth") ||
	      str_caseeq_cstr(c->qop, "auth-int")) &&
	     (!c->cnonce.s || !c->nc.s))) {
		sn_reply(msg, 400, "Bad Auth Credentials");
		return FAILED;
	}
	if (c->username.len == 0) {
		sn_reply(msg, 400, "Auth Empty User");
		return FAILED;
	}
	if (c->nonce.len == 0) {
		sn_reply(msg, 400, "Auth Empty Nonce");
		return FAILED;
	}
	if (c->response.len == 0) {
		sn_reply(msg, 400, "Auth Empty Response");
		return FAILED;
	}
	return PASSED;
}

/* Every Authorization, then every Proxy-Authorization header. */
static int chk_digest_only(sip_msg_t *msg)
{
	static const sip_hdr_type_t types[] = {SIP_HDR_AUTHORIZATION,
					       SIP_HDR_PROXYAUTHZ};

	for (size_t k = 0; k < OSP_ARRAY_LEN(types); k++) {
		for (int i = 0; i < msg->n_hdrs; i++) {
			int rc;

			if (msg->hdrs[i].type != types[k])
				continue;
			rc = chk_one_cred(msg, &msg->hdrs[i]);
			if (rc != PASSED)
				return rc;
		}
	}
	return PASSED;
}

static int count_tags(const sip_nameaddr_t *na)
{
	int n = 0;

	for (const sip_param_t *p = na->param_list; p; p = p->next)
		if (str_caseeq_cstr(p->name, "tag"))
			n++;
	return n;
}

static int chk_duptags(sip_msg_t *msg)
{
	sip_nameaddr_t *f = sip_get_from(msg), *t = sip_get_to(msg);

	if (!f || !t) {
		mark_silent(msg);
		return FAILED;
	}
	if (count_tags(f) > 1) {
		sn_reply(msg, 400, "Many From Tag Params");
		return FAILED;
	}
	if (count_tags(t) > 1) {
		sn_reply(msg, 400, "Many To Tag Params");
		return FAILED;
	}
	return PASSED;
}

/* Run the checks in Kamailio's order; PASSED or FAILED. */
static int sanity_run(sip_msg_t *msg, int mc, int uc)
{
	int rc = PASSED;

	if (noreply)
		memset(&info, 0, sizeof(info));
	if ((mc & SN_RURI_SIP_VERSION) &&
	    (rc = chk_ruri_sip_version(msg)) != PASSED)
		return rc;
	if ((mc & SN_RURI_SCHEME) && (rc = chk_ruri_scheme(msg)) != PASSED)
		return rc;
	if ((mc & SN_REQUIRED_HEADERS) &&
	    (rc = chk_required_headers(msg)) != PASSED)
		return rc;
	if ((mc & SN_VIA1_HEADER) && (rc = chk_via1_header(msg)) != PASSED)
		return rc;
	/* SN_VIA_SIP_VERSION and SN_VIA_PROTOCOL pass: the Via parser
	 * already refuses what they would catch (as in Kamailio). */
	if ((mc & SN_CSEQ_METHOD) && (rc = chk_cseq_method(msg)) != PASSED)
		return rc;
	if ((mc & SN_CSEQ_VALUE) && (rc = chk_cseq_value(msg)) != PASSED)
		return rc;
	if ((mc & SN_CL) && (rc = chk_cl(msg)) != PASSED)
		return rc;
	if ((mc & SN_EXPIRES_VALUE) && (rc = chk_expires_value(msg)) != PASSED)
		return rc;
	if ((mc & SN_PROXY_REQUIRE) && (rc = chk_proxy_require(msg)) != PASSED)
		return rc;
	if ((mc & SN_PARSE_URIS) && (rc = chk_parse_uris(msg, uc)) != PASSED)
		return rc;
	if ((mc & SN_CHECK_DIGEST) && chk_digest_only(msg) != PASSED)
		return FAILED;
	if (mc & SN_CHECK_AUTHORIZATION) {
		rc = chk_digest_only(msg);
		if (rc != PASSED && rc != NOT_APPLICABLE)
			return FAILED;
	}
	if ((mc & SN_CHECK_DUPTAGS) && (rc = chk_duptags(msg)) != PASSED)
		return rc;
	return PASSED;
}

/* KSR.sanity.sanity_check(msg_checks, uri_checks): 1 or -1. */
static int ki_sanity_check(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	if (!ctx->msg)
		return -1;
	return sanity_run(ctx->msg, (int)a[0].n, (int)a[1].n) == PASSED ? 1
									: -1;
}

/* KSR.sanity.sanity_check_defaults(): the default_checks / uri_checks
 * modparams. */
static int ki_sanity_check_defaults(ksr_ctx_t *ctx, const ksr_arg_t *a,
				    ksr_xval_t *ret)
{
	if (!ctx->msg)
		return -1;
	return sanity_run(ctx->msg, default_checks, uri_checks) == PASSED ? 1
									  : -1;
}

/* KSR.sanity.sanity_reply(): with noreply set, send the reply the last
 * failed check of this message wanted (500 "Server Sanity Failure" when
 * none was recorded). 1, or -1 when sending failed. */
static int ki_sanity_reply(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	sip_msg_t *msg = ctx->msg;
	int rc;

	if (!msg || msg->kind != SIP_REQUEST ||
	    msg->method_id == SIP_METHOD_ACK || !noreply || is_silent(msg))
		return 1;
	if (info.code == 0 || info.reason[0] == '\0' || info.msgid != msg->id) {
		LOG_INFO("sanity: no reply info set - sending 500");
		rc = osp_send_reply(msg, 500, STR_LIT("Server Sanity Failure"),
				    STR_NULL, STR_NULL);
	} else {
		rc = osp_send_reply(msg, info.code, str_from(info.reason),
				    STR_NULL, STR_NULL);
	}
	return rc < 0 ? -1 : 1;
}

static const ksr_export_t sanity_exports[] = {
    {"sanity", "sanity_check", KSR_INT, ki_sanity_check, {KSR_INT, KSR_INT}},
    {"sanity", "sanity_check_defaults", KSR_INT, ki_sanity_check_defaults, {0}},
    {"sanity", "sanity_reply", KSR_INT, ki_sanity_reply, {0}},
    {0},
};

static const osp_param_t sanity_params[] = {
    {"default_checks", MP_INT, &default_checks, NULL},
    {"uri_checks", MP_INT, &uri_checks, NULL},
    {"proxy_require", MP_STR, &proxy_require, NULL},
    {"autodrop", MP_INT, &autodrop, NULL},
    {"noreply", MP_INT, &noreply, NULL},
    {0},
};

osp_module_t osp_mod_sanity = {
    .name = "sanity",
    .exports = sanity_exports,
    .params = sanity_params,
};
