/* auth.c - KSR.auth: digest challenges and checks (Kamailio 5.6's auth
 * module: auth_mod.c, api.c, challenge.c), and the verification core the
 * credential back ends (auth_db) call through auth.h.
 *
 * Per message, a worker remembers which credentials header was used
 * (consume_credentials removes it) and whether a stale nonce came with a
 * digest that was otherwise right: the next challenge of that message then
 * says stale=true by itself (modparam auto_stale), so a client recomputes
 * its credentials instead of asking its user. Kamailio only does that when
 * the script passes flag 16. */
#include <stdio.h>
#include <string.h>

#include "core/fwd.h"
#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "core/stats.h"
#include "modules/auth/auth.h"
#include "modules/hdr/hdr_ops.h"
#include "modules/pv/pv.h"

OSP_COUNTER(st_challenges, "auth", "challenges");
OSP_COUNTER(st_success, "auth", "successful");
OSP_COUNTER(st_failed, "auth", "failed");
OSP_COUNTER(st_stale, "auth", "stale_nonces");

/* ---- modparams ---- */

static char *p_secret;
static int p_nonce_expire = 300;
static int p_max_drift = 3;
static int p_nonce_count = 1;
static int p_one_time_nonce;
static int p_nc_array_size = 1 << 17;
static int p_nc_array_order;
static int p_otn_in_flight_no;
static int p_otn_in_flight_order;
static int p_nid_pool_no = 1;
static int p_checks_reg, p_checks_no_dlg, p_checks_in_dlg;
static char *p_qop;
static char *p_realm_prefix;
static char *p_algorithm;
static int p_force_stateless;
static int p_add_authinfo;
static int p_protect_contacts;
static int p_auto_stale = 1;
static char *p_challenge_attr;
static char *p_www_hdr;
static char *p_proxy_hdr;
int auth_use_domain;

/* ---- offered algorithms ---- */

#define MAX_OFFER 4
typedef struct offer {
	auth_alg_t alg;
	int sess;
} offer_t;

static offer_t offers[MAX_OFFER] = {{AUTH_ALG_MD5, 0}};
static int n_offers = 1;
static int print_alg; /* algorithm= in challenges (set explicitly) */

/* ---- per-worker state ---- */

static __thread struct {
	const sip_msg_t *msg;
	uint64_t id;
	int hdr;   /* index of the credentials used, -1 */
	int stale; /* stale nonce, digest right */
} cur;

static __thread struct {
	int set;
	offer_t o;
} alg_override; /* KSR.auth.auth_algorithm, per worker as per process */

static void cur_for(const sip_msg_t *msg)
{
	if (cur.msg != msg || cur.id != msg->id) {
		cur.msg = msg;
		cur.id = msg->id;
		cur.hdr = -1;
		cur.stale = 0;
	}
}

static int cur_stale(const sip_msg_t *msg)
{
	return cur.msg == msg && cur.id == msg->id && cur.stale;
}

static void current_offers(const offer_t **o, int *n, int *print)
{
	if (alg_override.set) {
		*o = &alg_override.o;
		*n = 1;
		*print = 1;
	} else {
		*o = offers;
		*n = n_offers;
		*print = print_alg;
	}
}

/* The algorithm HA1s are computed with when a subscriber is added. */
auth_alg_t auth_default_alg(void)
{
	return offers[0].alg;
}

/* Parse "SHA-256, MD5" into offers. 0 or -1 with err. */
static int parse_algorithms(const char *text, char *err, size_t errlen)
{
	const char *p = text, *e;
	offer_t o[MAX_OFFER];
	int n = 0;

	while (p && *p) {
		str_t name;

		e = strchr(p, ',');
		name = str_trim((str_t){p, e ? (size_t)(e - p) : strlen(p)});
		if (name.len) {
			if (n == MAX_OFFER) {
				snprintf(err, errlen, "at most %d algorithms",
					 MAX_OFFER);
				return -1;
			}
			if (auth_alg_parse(name, &o[n].alg, &o[n].sess) < 0) {
				snprintf(err, errlen,
					 "unknown algorithm '%.*s' (MD5, "
					 "SHA-256, SHA-512-256, with or "
					 "without -sess)",
					 STR_FMT(name));
				return -1;
			}
			n++;
		}
		p = e ? e + 1 : NULL;
	}
	if (n) {
		memcpy(offers, o, sizeof(o[0]) * (size_t)n);
		n_offers = n;
		print_alg = 1;
	}
	return 0;
}

/* ---- helpers ---- */

int auth_eval_str(ksr_ctx_t *ctx, str_t in, char *buf, size_t cap, str_t *out)
{
	const pv_fmt_t *f;
	char err[128];

	if (!in.len || !memchr(in.s, '$', in.len)) {
		*out = in;
		return 0;
	}
	f = pv_fmt_cached(in, err, sizeof(err));
	if (!f) {
		LOG_RATE(L_ERR, "auth: bad parameter \"%.*s\": %s", STR_FMT(in),
			 err);
		return -1;
	}
	if (pv_fmt_eval(ctx, f, buf, cap, out) < 0) {
		LOG_RATE(L_ERR, "auth: parameter \"%.*s\" too long",
			 STR_FMT(in));
		return -1;
	}
	return 0;
}

str_t auth_strip_realm(str_t realm)
{
	size_t n = p_realm_prefix ? strlen(p_realm_prefix) : 0;

	if (n && realm.len >= n && memcmp(realm.s, p_realm_prefix, n) == 0) {
		realm.s += n;
		realm.len -= n;
	}
	return realm;
}

static int method_skips_auth(const sip_msg_t *msg)
{
	return msg->method_id &
	       (SIP_METHOD_ACK | SIP_METHOD_CANCEL | SIP_METHOD_PRACK);
}

/* First Digest credentials of type hftype whose realm is realm (compared
 * without case). 0 found, 1 none, -1 a header could not be parsed. */
static int find_credentials(sip_msg_t *msg, str_t realm, sip_hdr_type_t hftype,
			    sip_hdr_t **hout, sip_auth_t **aout)
{
	for (sip_hdr_t *h = sip_hdr_first(msg, hftype); h;
	     h = sip_hdr_next(msg, h)) {
		sip_auth_t *au;

		if (h->flags & SIP_HDR_F_REMOVED)
			continue;
		au = sip_get_auth(msg, h);
		if (!au) {
			LOG_RATE(L_WARN, "auth: malformed %.*s header",
				 STR_FMT(h->name));
			return -1;
		}
		if (!str_caseeq_cstr(au->scheme, "digest"))
			continue;
		if (str_caseeq(au->realm, realm)) {
			*hout = h;
			*aout = au;
			return 0;
		}
	}
	return 1;
}

/* Constant-time hex comparison, without case. */
static int hex_equal(str_t a, const char *b, size_t n)
{
	unsigned char d = 0;

	if (a.len != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)((a.s[i] | 0x20) ^ (b[i] | 0x20));
	return d == 0;
}

/* Authentication-Info (RFC 7616 §3.5) for the reply to an authenticated
 * request, when add_authinfo_hdr is set. */
static void add_authinfo(sip_msg_t *msg, const auth_cred_t *c, str_t ha1)
{
	char rsp[AUTH_HEX_MAX], line[512];
	sip_auth_t *au = c->au;
	int n;

	if (auth_calc_response(c->alg, ha1, au->nonce, au->nc, au->cnonce,
			       au->qop, STR_NULL, au->uri, msg->body, rsp) < 0)
		return;
	if (au->qop.len)
		n = snprintf(line, sizeof(line),
			     "Authentication-Info: nextnonce=\"%.*s\", "
			     "qop=%.*s, rspauth=\"%s\", cnonce=\"%.*s\", "
			     "nc=%.*s\r\n",
			     STR_FMT(au->nonce), STR_FMT(au->qop), rsp,
			     STR_FMT(au->cnonce), STR_FMT(au->nc));
	else
		n = snprintf(line, sizeof(line),
			     "Authentication-Info: nextnonce=\"%.*s\", "
			     "rspauth=\"%s\"\r\n",
			     STR_FMT(au->nonce), rsp);
	if (n > 0 && (size_t)n < sizeof(line))
		hdr_add_reply(msg, (str_t){line, (size_t)n});
}

/* ---- verification ---- */

int auth_verify(ksr_ctx_t *ctx, str_t realm, sip_hdr_type_t hftype,
		str_t method, auth_ha1_fn get_ha1, void *arg, auth_cred_t *out)
{
	sip_msg_t *msg = ctx->msg;
	auth_cred_t c;
	sip_auth_t *au;
	const offer_t *of;
	char ha1[256], h[AUTH_HEX_MAX], rsp[AUTH_HEX_MAX];
	const char *at;
	str_t hv;
	uint32_t nid;
	int rc, n_of, pr, is_pw = 0, ok = 0;

	memset(&c, 0, sizeof(c));
	if (!msg || msg->kind != SIP_REQUEST) {
		rc = AUTH_ERROR;
		goto done;
	}
	if (method_skips_auth(msg)) {
		/* ACK and CANCEL cannot be challenged (RFC 3261 §22.1) */
		rc = AUTH_OK;
		goto done;
	}
	realm = auth_strip_realm(realm);
	if (!realm.len) {
		LOG_RATE(L_ERR, "auth: empty realm");
		rc = AUTH_ERROR;
		goto done;
	}
	cur_for(msg);
	switch (find_credentials(msg, realm, hftype, &c.hdr, &c.au)) {
	case 1: rc = AUTH_NO_CREDENTIALS; goto done;
	case -1: rc = AUTH_ERROR; goto done;
	}
	cur.hdr = (int)(c.hdr - msg->hdrs);
	au = c.au;
	if (!au->username.len || !au->nonce.len || !au->uri.s ||
	    !au->response.len ||
	    (au->qop.len && (!au->cnonce.len || !au->nc.len)) ||
	    (au->qop.len && !str_caseeq_cstr(au->qop, "auth") &&
	     !str_caseeq_cstr(au->qop, "auth-int"))) {
		LOG_RATE(L_INFO,
			 "auth: incomplete digest credentials from %.*s",
			 STR_FMT(au->username));
		rc = AUTH_ERROR;
		goto done;
	}
	if (auth_alg_parse(au->algorithm, &c.alg, &c.sess) < 0) {
		rc = AUTH_ERROR;
		goto done;
	}
	current_offers(&of, &n_of, &pr);
	for (int i = 0; i < n_of; i++)
		if (of[i].alg == c.alg && of[i].sess == c.sess)
			ok = 1;
	if (!ok || au->response.len != auth_alg_hexlen(c.alg)) {
		LOG_RATE(L_INFO, "auth: algorithm '%.*s' not offered",
			 STR_FMT(au->algorithm));
		rc = AUTH_ERROR;
		goto done;
	}
	at = memchr(au->username.s, '@', au->username.len);
	c.user = au->username;
	if (at) {
		c.user.len = (size_t)(at - au->username.s);
		c.domain.s = at + 1;
		c.domain.len = au->username.len - c.user.len - 1;
	}
	switch (auth_nonce_check(msg, au->nonce, &nid)) {
	case AUTH_NONCE_OK: break;
	case AUTH_NONCE_STALE: c.stale = 1; break;
	default:
		LOG_RATE(L_INFO, "auth: invalid nonce from %.*s",
			 STR_FMT(au->username));
		rc = AUTH_ERROR;
		goto done;
	}
	switch (get_ha1(ctx, &c, arg, ha1, sizeof(ha1), &is_pw)) {
	case 0: break;
	case 1: rc = c.stale ? AUTH_STALE_NONCE : AUTH_USER_UNKNOWN; goto done;
	default: rc = AUTH_ERROR; goto done;
	}
	if (is_pw) {
		if (auth_calc_ha1(c.alg, au->username, au->realm, str_from(ha1),
				  h) < 0) {
			rc = AUTH_ERROR;
			goto done;
		}
		memcpy(ha1, h, strlen(h) + 1);
	} else if (strlen(ha1) != auth_alg_hexlen(c.alg)) {
		LOG_RATE(L_ERR,
			 "auth: stored HA1 of %.*s is not a %s hash (%zu "
			 "hex digits); use calculate_ha1 with a password "
			 "column",
			 STR_FMT(au->username), auth_alg_name(c.alg),
			 strlen(ha1));
		rc = AUTH_ERROR;
		goto done;
	}
	if (c.sess) {
		if (auth_calc_ha1_sess(c.alg, str_from(ha1), au->nonce,
				       au->cnonce, h) < 0) {
			rc = AUTH_ERROR;
			goto done;
		}
		memcpy(ha1, h, strlen(h) + 1);
	}
	hv = str_from(ha1);
	if (auth_calc_response(c.alg, hv, au->nonce, au->nc, au->cnonce,
			       au->qop, method.len ? method : msg->method,
			       au->uri, msg->body, rsp) < 0) {
		rc = AUTH_ERROR;
		goto done;
	}
	if (!hex_equal(au->response, rsp, auth_alg_hexlen(c.alg))) {
		rc = c.stale ? AUTH_STALE_NONCE : AUTH_INVALID_PASSWORD;
		goto done;
	}
	/* The client knows the password: a stale nonce only needs a new
	 * one (RFC 7616 §3.3 stale). */
	if (c.stale) {
		cur.stale = 1;
		rc = AUTH_STALE_NONCE;
		goto done;
	}
	rc = auth_nonce_use(nid, au->qop.len ? au->nc : STR_NULL);
	if (rc == AUTH_STALE_NONCE) {
		c.stale = 1;
		cur.stale = 1;
	}
	if (rc == AUTH_OK && p_add_authinfo)
		add_authinfo(msg, &c, hv);
done:
	if (rc == AUTH_OK && c.hdr)
		stats_inc(&st_success);
	else if (rc == AUTH_STALE_NONCE)
		stats_inc(&st_stale);
	else if (rc < 0 && rc != AUTH_NO_CREDENTIALS)
		stats_inc(&st_failed);
	if (out)
		*out = c;
	return rc;
}

int auth_check_identity(sip_msg_t *msg, const auth_cred_t *cred, int checks,
			int use_domain)
{
	sip_nameaddr_t *from, *to = NULL;
	sip_uri_t *uri, *ruri;
	int reg;

	if (!(checks & AUTH_CHECK_ID_F) || !cred->hdr)
		return AUTH_OK;
	from = sip_get_from(msg);
	if (!from || !from->uri_ok)
		return AUTH_ERROR;
	reg = msg->method_id & (SIP_METHOD_REGISTER | SIP_METHOD_PUBLISH);
	if (reg) {
		to = sip_get_to(msg);
		if (!to || !to->uri_ok)
			return AUTH_ERROR;
		uri = &to->uri;
	} else {
		uri = &from->uri;
	}
	if (!((checks & AUTH_CHECK_SKIPFWD_F) &&
	      (msg->method_id &
	       (SIP_METHOD_INVITE | SIP_METHOD_BYE | SIP_METHOD_PRACK |
		SIP_METHOD_UPDATE | SIP_METHOD_MESSAGE))) &&
	    !str_eq(cred->user, uri->user))
		return AUTH_USER_MISMATCH;
	if (!reg)
		return AUTH_OK;
	if (!str_eq(from->uri.user, to->uri.user) ||
	    (use_domain && !str_caseeq(from->uri.host, to->uri.host)))
		return AUTH_USER_MISMATCH;
	if (msg->method_id == SIP_METHOD_PUBLISH) {
		ruri = sip_get_ruri(msg);
		if (!ruri)
			return AUTH_ERROR;
		if (!str_eq(from->uri.user, ruri->user) ||
		    (use_domain && !str_caseeq(from->uri.host, ruri->host)))
			return AUTH_USER_MISMATCH;
	}
	return AUTH_OK;
}

/* ---- challenges ---- */

/* Append realm as the content of a quoted-string. -1 on CR/LF or room. */
static int put_quoted(char *buf, size_t cap, size_t *len, str_t s)
{
	for (size_t i = 0; i < s.len; i++) {
		char ch = s.s[i];

		if (ch == '\r' || ch == '\n' || ch == '\0')
			return -1;
		if (*len + 2 >= cap)
			return -1;
		if (ch == '"' || ch == '\\')
			buf[(*len)++] = '\\';
		buf[(*len)++] = ch;
	}
	return 0;
}

/* Append the C string t; -1 when it does not fit (one byte is kept for
 * the NUL the callers do not need, as snprintf did). */
static int put_cstr(char *buf, size_t cap, size_t *len, const char *t)
{
	size_t n = strlen(t);

	if (*len + n >= cap)
		return -1;
	memcpy(buf + *len, t, n);
	*len += n;
	return 0;
}

int auth_build_challenge(sip_msg_t *msg, str_t realm, int qop, int stale,
			 sip_hdr_type_t hftype, char *buf, size_t cap)
{
	const char *name =
	    hftype == SIP_HDR_PROXYAUTHENTICATE
		? (p_proxy_hdr && *p_proxy_hdr ? p_proxy_hdr
					       : "Proxy-Authenticate")
		: (p_www_hdr && *p_www_hdr ? p_www_hdr : "WWW-Authenticate");
	char nonce[AUTH_NONCE_MAX];
	const offer_t *of;
	size_t len = 0;
	int n_of, pr;

	realm = auth_strip_realm(realm);
	if (auth_nonce_new(msg, nonce, sizeof(nonce)) < 0)
		return -1;
	current_offers(&of, &n_of, &pr);
	/* pieces copied one after the other: snprintf cost a third of
	 * building a challenge */
	for (int i = 0; i < n_of; i++) {
		if (put_cstr(buf, cap, &len, name) < 0 ||
		    put_cstr(buf, cap, &len, ": Digest realm=\"") < 0 ||
		    put_quoted(buf, cap, &len, realm) < 0 ||
		    put_cstr(buf, cap, &len, "\", nonce=\"") < 0 ||
		    put_cstr(buf, cap, &len, nonce) < 0 ||
		    put_cstr(buf, cap, &len, "\"") < 0)
			return -1;
		if ((qop == 1 || qop == 2) &&
		    put_cstr(buf, cap, &len,
			     qop == 2 ? ", qop=\"auth-int\""
				      : ", qop=\"auth\"") < 0)
			return -1;
		if (stale && put_cstr(buf, cap, &len, ", stale=true") < 0)
			return -1;
		if (pr &&
		    (put_cstr(buf, cap, &len, ", algorithm=") < 0 ||
		     put_cstr(buf, cap, &len, auth_alg_name(of[i].alg)) < 0 ||
		     (of[i].sess && put_cstr(buf, cap, &len, "-sess") < 0)))
			return -1;
		if (put_cstr(buf, cap, &len, "\r\n") < 0)
			return -1;
	}
	return (int)len;
}

/* sl's send_reply, looked up once by auth_init (the registry is complete
 * by then): a lookup per challenge compared ~280 export names. Without
 * auth_init (unit tests) it is looked up on each use. */
static const ksr_export_t *sl_send_reply;
static int sl_send_reply_resolved;

/* A local reply, statefully when sl's send_reply does so (Kamailio's
 * freply), unless force_stateless_reply. 1 or -1. */
static int send_reply(ksr_ctx_t *ctx, int code, const char *reason, str_t extra)
{
	const ksr_export_t *e = NULL;
	ksr_arg_t a[KSR_PARAMS_MAX];
	ksr_xval_t x;

	if (!p_force_stateless)
		e = sl_send_reply_resolved
			? sl_send_reply
			: ksr_registry_find("sl", "send_reply");
	if (!e)
		return osp_send_reply(ctx->msg, code, str_from(reason), extra,
				      STR_NULL);
	if (extra.len && hdr_add_reply(ctx->msg, extra) < 0)
		return -1;
	memset(a, 0, sizeof(a));
	memset(&x, 0, sizeof(x));
	a[0].n = code;
	a[1].s = str_from(reason);
	return e->fn(ctx, a, &x) > 0 ? 1 : -1;
}

int auth_send_challenge(ksr_ctx_t *ctx, str_t realm, long flags,
			sip_hdr_type_t hftype)
{
	sip_msg_t *msg = ctx->msg;
	char buf[2048];
	int len, stale, rc;

	if (!msg || msg->kind != SIP_REQUEST)
		return -1;
	if (msg->method_id & (SIP_METHOD_ACK | SIP_METHOD_CANCEL))
		return 1;
	if (!realm.len) {
		LOG_RATE(L_ERR, "auth: empty realm");
		rc = -1;
		goto fail;
	}
	stale =
	    (flags & AUTH_FLAG_CLGSTALE) || (p_auto_stale && cur_stale(msg));
	len = auth_build_challenge(msg, realm,
				   (flags & AUTH_CHLG_QOP_AUTHINT) ? 2
				   : (flags & AUTH_CHLG_QOP_AUTH)  ? 1
								   : 0,
				   stale, hftype, buf, sizeof(buf));
	if (len < 0) {
		LOG_RATE(L_ERR, "auth: cannot build the challenge (realm "
				"too long or with control characters)");
		rc = -2;
		goto fail;
	}
	stats_inc(&st_challenges);
	if (hftype == SIP_HDR_PROXYAUTHENTICATE)
		rc = send_reply(ctx, 407, "Proxy Authentication Required",
				(str_t){buf, (size_t)len});
	else
		rc = send_reply(ctx, 401, "Unauthorized",
				(str_t){buf, (size_t)len});
	return rc > 0 ? 1 : -3;
fail:
	if (!(flags & AUTH_CHLG_NO_500) &&
	    send_reply(ctx, 500, "Internal Server Error", STR_NULL) < 0)
		return -4;
	return rc;
}

/* ---- KSR functions ---- */

static int challenge(ksr_ctx_t *ctx, str_t realm, long flags,
		     sip_hdr_type_t hftype)
{
	char buf[256];
	str_t r;

	if (auth_eval_str(ctx, realm, buf, sizeof(buf), &r) < 0)
		r = STR_NULL;
	return auth_send_challenge(ctx, r, flags, hftype);
}

static int ki_www_challenge(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return challenge(ctx, a[0].s, a[1].n, SIP_HDR_WWWAUTHENTICATE);
}

static int ki_proxy_challenge(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return challenge(ctx, a[0].s, a[1].n, SIP_HDR_PROXYAUTHENTICATE);
}

static int ki_auth_challenge(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!ctx->msg)
		return -1;
	return challenge(ctx, a[0].s, a[1].n,
			 ctx->msg->method_id == SIP_METHOD_REGISTER
			     ? SIP_HDR_WWWAUTHENTICATE
			     : SIP_HDR_PROXYAUTHENTICATE);
}

static int ki_has_credentials(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	char buf[256];
	sip_hdr_t *h;
	sip_auth_t *au;
	str_t realm;

	if (!ctx->msg ||
	    auth_eval_str(ctx, a[0].s, buf, sizeof(buf), &realm) < 0)
		return -1;
	realm = auth_strip_realm(realm);
	if (find_credentials(ctx->msg, realm, SIP_HDR_PROXYAUTHZ, &h, &au) ==
		0 ||
	    find_credentials(ctx->msg, realm, SIP_HDR_AUTHORIZATION, &h, &au) ==
		0)
		return 1;
	return -1;
}

static int ki_consume_credentials(ksr_ctx_t *ctx, const ksr_arg_t *a,
				  ksr_xval_t *r)
{
	sip_msg_t *msg = ctx->msg;

	if (!msg || msg->kind != SIP_REQUEST || method_skips_auth(msg))
		return -1;
	if (cur.msg != msg || cur.id != msg->id || cur.hdr < 0 ||
	    cur.hdr >= msg->n_hdrs) {
		LOG_RATE(L_ERR, "auth: no authorized credentials to consume "
				"(call it after an authentication check)");
		return -1;
	}
	msg->hdrs[cur.hdr].flags |= SIP_HDR_F_REMOVED;
	return 1;
}

typedef struct pw_arg {
	str_t passwd;
	int is_ha1;
} pw_arg_t;

/* HA1 lookup of the pv_* functions: the script gave the password. */
static int pw_ha1(ksr_ctx_t *ctx, const auth_cred_t *cred, void *arg, char *ha1,
		  size_t cap, int *is_password)
{
	pw_arg_t *p = arg;

	if (p->passwd.len >= cap)
		return -1;
	memcpy(ha1, p->passwd.s, p->passwd.len);
	ha1[p->passwd.len] = '\0';
	*is_password = !p->is_ha1;
	return 0;
}

/* The name of the AVP challenge_attr names: "$digest_challenge",
 * "$avp(x)" or a bare name. */
static str_t challenge_avp(void)
{
	str_t s = str_from(p_challenge_attr && *p_challenge_attr
			       ? p_challenge_attr
			       : "$digest_challenge");

	if (s.len && s.s[0] == '$') {
		s.s++;
		s.len--;
	}
	if (s.len > 5 && strncmp(s.s, "avp(", 4) == 0 &&
	    s.s[s.len - 1] == ')') {
		s.s += 4;
		s.len -= 5;
	}
	return s;
}

/* Kamailio's pv_authenticate(): check with the password (or HA1) the
 * script gives; on failure, flags 2/4/8 store a challenge in the
 * challenge_attr AVP for the script to send. */
static int pv_authenticate(ksr_ctx_t *ctx, str_t realm_in, str_t passwd,
			   long flags, sip_hdr_type_t hftype, str_t method,
			   auth_cred_t *cred)
{
	char rbuf[256], hbuf[2048];
	pw_arg_t pa = {passwd, (int)(flags & AUTH_FLAG_PASSWDHA1)};
	str_t realm;
	ksr_xval_t v;
	int rc, len, qop;

	memset(cred, 0, sizeof(*cred));
	if (!ctx->msg)
		return AUTH_ERROR;
	if (auth_eval_str(ctx, realm_in, rbuf, sizeof(rbuf), &realm) < 0 ||
	    !realm.len || !passwd.len) {
		LOG_RATE(L_ERR, "auth: empty realm or password");
		return AUTH_ERROR;
	}
	rc = auth_verify(ctx, realm, hftype, method, pw_ha1, &pa, cred);
	if (rc >= 0 || !(flags & (AUTH_FLAG_HDRQOPNONE | AUTH_FLAG_HDRQOPAUTH |
				  AUTH_FLAG_HDRQOPAUTHINT)))
		return rc;
	qop = (flags & AUTH_FLAG_HDRQOPAUTHINT) ? 2
	      : (flags & AUTH_FLAG_HDRQOPAUTH)	? 1
						: 0;
	len = auth_build_challenge(
	    ctx->msg, realm, qop,
	    (flags & AUTH_FLAG_CLGSTALE) || cur_stale(ctx->msg),
	    hftype == SIP_HDR_PROXYAUTHZ ? SIP_HDR_PROXYAUTHENTICATE
					 : SIP_HDR_WWWAUTHENTICATE,
	    hbuf, sizeof(hbuf));
	if (len < 0)
		return AUTH_ERROR;
	v.type = KSR_STR;
	v.n = 0;
	v.s = (str_t){hbuf, (size_t)len};
	if (pv_avp_add(ctx->msg, challenge_avp(), &v) < 0)
		return AUTH_ERROR;
	return rc;
}

static int ki_pv_www_authenticate(ksr_ctx_t *ctx, const ksr_arg_t *a,
				  ksr_xval_t *r)
{
	auth_cred_t c;

	return pv_authenticate(ctx, a[0].s, a[1].s, a[2].n,
			       SIP_HDR_AUTHORIZATION, STR_NULL, &c);
}

static int ki_pv_www_authenticate_method(ksr_ctx_t *ctx, const ksr_arg_t *a,
					 ksr_xval_t *r)
{
	auth_cred_t c;

	if (!a[3].s.len)
		return AUTH_ERROR;
	return pv_authenticate(ctx, a[0].s, a[1].s, a[2].n,
			       SIP_HDR_AUTHORIZATION, a[3].s, &c);
}

static int ki_pv_proxy_authenticate(ksr_ctx_t *ctx, const ksr_arg_t *a,
				    ksr_xval_t *r)
{
	auth_cred_t c;

	return pv_authenticate(ctx, a[0].s, a[1].s, a[2].n, SIP_HDR_PROXYAUTHZ,
			       STR_NULL, &c);
}

static int ki_pv_auth_check(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	sip_msg_t *msg = ctx->msg;
	auth_cred_t c;
	int rc;

	if (!msg)
		return AUTH_ERROR;
	if (msg->method_id & (SIP_METHOD_ACK | SIP_METHOD_CANCEL))
		return AUTH_OK;
	rc = pv_authenticate(ctx, a[0].s, a[1].s, a[2].n,
			     msg->method_id == SIP_METHOD_REGISTER
				 ? SIP_HDR_AUTHORIZATION
				 : SIP_HDR_PROXYAUTHZ,
			     STR_NULL, &c);
	if (rc != AUTH_OK)
		return rc;
	/* pv_auth_check knows only the identity check, not skip-forward */
	return auth_check_identity(msg, &c, (int)(a[3].n & AUTH_CHECK_ID_F),
				   auth_use_domain);
}

static int ki_auth_get_www_authenticate(ksr_ctx_t *ctx, const ksr_arg_t *a,
					ksr_xval_t *r)
{
	char rbuf[256], hbuf[2048], err[128];
	const pv_spec_t *sp;
	ksr_xval_t v;
	str_t realm;
	long flags = a[1].n;
	int len;

	if (auth_eval_str(ctx, a[0].s, rbuf, sizeof(rbuf), &realm) < 0 ||
	    !realm.len)
		return -1;
	sp = pv_spec_cached(a[2].s, err, sizeof(err));
	if (!sp || !pv_is_writable(sp)) {
		LOG_RATE(L_ERR, "auth: cannot write \"%.*s\"%s%s",
			 STR_FMT(a[2].s), sp ? "" : ": ", sp ? "" : err);
		return -1;
	}
	/* no message: the nonce covers no message parts (as Kamailio) */
	len = auth_build_challenge(NULL, realm,
				   (flags & AUTH_CHLG_QOP_AUTHINT) ? 2
				   : (flags & AUTH_CHLG_QOP_AUTH)  ? 1
								   : 0,
				   (flags & AUTH_FLAG_CLGSTALE) != 0,
				   SIP_HDR_WWWAUTHENTICATE, hbuf, sizeof(hbuf));
	if (len < 0)
		return -2;
	v.type = KSR_STR;
	v.n = 0;
	v.s = (str_t){hbuf, (size_t)len};
	return pv_set(ctx, sp, &v) < 0 ? -1 : 1;
}

static int ki_auth_algorithm(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	char buf[64];
	str_t s;
	offer_t o;

	if (auth_eval_str(ctx, a[0].s, buf, sizeof(buf), &s) < 0 ||
	    auth_alg_parse(str_trim(s), &o.alg, &o.sess) < 0 || !s.len) {
		LOG_RATE(L_ERR,
			 "auth: invalid algorithm \"%.*s\" (MD5, "
			 "SHA-256, SHA-512-256)",
			 STR_FMT(a[0].s));
		return -1;
	}
	alg_override.set = 1;
	alg_override.o = o;
	return 1;
}

/* ---- module ---- */

static int auth_init(void)
{
	char err[160];
	auth_nonce_cfg_t nc = {
	    .expire = p_nonce_expire,
	    .max_drift = p_max_drift,
	    .nc = p_nonce_count,
	    .otn = p_one_time_nonce,
	    .checks_reg = p_checks_reg & 15,
	    .checks_no_dlg = p_checks_no_dlg & 15,
	    .checks_in_dlg = p_checks_in_dlg & 15,
	};
	size_t slots = (size_t)(p_nc_array_size > 0 ? p_nc_array_size : 1);

	if (p_nc_array_order > 0 && p_nc_array_order < 31)
		slots = (size_t)1 << p_nc_array_order;
	if (p_otn_in_flight_order > 0 && p_otn_in_flight_order < 31 &&
	    ((size_t)1 << p_otn_in_flight_order) > slots)
		slots = (size_t)1 << p_otn_in_flight_order;
	if (p_otn_in_flight_no > 0 && (size_t)p_otn_in_flight_no > slots)
		slots = (size_t)p_otn_in_flight_no;
	sl_send_reply = ksr_registry_find("sl", "send_reply");
	sl_send_reply_resolved = 1;
	if (p_nonce_expire <= 0) {
		LOG_ERR("auth: nonce_expire must be > 0 (is %d)",
			p_nonce_expire);
		return -1;
	}
	if (p_qop && *p_qop && strcmp(p_qop, "auth") != 0 &&
	    strcmp(p_qop, "auth-int") != 0) {
		LOG_ERR("auth: unsupported qop \"%s\" (auth, auth-int or \"\")",
			p_qop);
		return -1;
	}
	if (p_algorithm &&
	    parse_algorithms(p_algorithm, err, sizeof(err)) < 0) {
		LOG_ERR("auth: algorithm: %s", err);
		return -1;
	}
	stats_register(&st_challenges);
	stats_register(&st_success);
	stats_register(&st_failed);
	stats_register(&st_stale);
	return auth_nonce_init(&nc, p_secret, slots);
}

static void auth_destroy(void)
{
	auth_nonce_destroy();
	sl_send_reply_resolved = 0;
	sl_send_reply = NULL;
}

static const ksr_export_t auth_exports[] = {
    {"auth", "consume_credentials", KSR_INT, ki_consume_credentials, {0}},
    {"auth", "has_credentials", KSR_INT, ki_has_credentials, {KSR_STR}},
    {"auth", "www_challenge", KSR_INT, ki_www_challenge, {KSR_STR, KSR_INT}},
    {"auth",
     "proxy_challenge",
     KSR_INT,
     ki_proxy_challenge,
     {KSR_STR, KSR_INT}},
    {"auth", "auth_challenge", KSR_INT, ki_auth_challenge, {KSR_STR, KSR_INT}},
    {"auth",
     "pv_www_authenticate",
     KSR_INT,
     ki_pv_www_authenticate,
     {KSR_STR, KSR_STR, KSR_INT}},
    {"auth",
     "pv_www_authenticate_method",
     KSR_INT,
     ki_pv_www_authenticate_method,
     {KSR_STR, KSR_STR, KSR_INT, KSR_STR}},
    {"auth",
     "pv_proxy_authenticate",
     KSR_INT,
     ki_pv_proxy_authenticate,
     {KSR_STR, KSR_STR, KSR_INT}},
    {"auth",
     "pv_auth_check",
     KSR_INT,
     ki_pv_auth_check,
     {KSR_STR, KSR_STR, KSR_INT, KSR_INT}},
    {"auth",
     "auth_get_www_authenticate",
     KSR_INT,
     ki_auth_get_www_authenticate,
     {KSR_STR, KSR_INT, KSR_STR}},
    {"auth", "auth_algorithm", KSR_INT, ki_auth_algorithm, {KSR_STR}},
    {0},
};

static const osp_param_t auth_params[] = {
    {"secret", MP_STR, &p_secret, NULL},
    {"nonce_expire", MP_INT, &p_nonce_expire, NULL},
    {"nonce_auth_max_drift", MP_INT, &p_max_drift, NULL},
    {"nonce_count", MP_INT, &p_nonce_count, NULL},
    {"one_time_nonce", MP_INT, &p_one_time_nonce, NULL},
    {"nc_array_size", MP_INT, &p_nc_array_size, NULL},
    {"nc_array_order", MP_INT, &p_nc_array_order, NULL},
    {"otn_in_flight_no", MP_INT, &p_otn_in_flight_no, NULL},
    {"otn_in_flight_order", MP_INT, &p_otn_in_flight_order, NULL},
    {"nid_pool_no", MP_INT, &p_nid_pool_no, NULL},
    {"auth_checks_register", MP_INT, &p_checks_reg, NULL},
    {"auth_checks_no_dlg", MP_INT, &p_checks_no_dlg, NULL},
    {"auth_checks_in_dlg", MP_INT, &p_checks_in_dlg, NULL},
    {"qop", MP_STR, &p_qop, NULL},
    {"realm_prefix", MP_STR, &p_realm_prefix, NULL},
    {"use_domain", MP_INT, &auth_use_domain, NULL},
    {"algorithm", MP_STR, &p_algorithm, NULL},
    {"force_stateless_reply", MP_INT, &p_force_stateless, NULL},
    {"add_authinfo_hdr", MP_INT, &p_add_authinfo, NULL},
    {"protect_contacts", MP_INT, &p_protect_contacts, NULL},
    {"challenge_attr", MP_STR, &p_challenge_attr, NULL},
    {"www_challenge_header", MP_STR, &p_www_hdr, NULL},
    {"proxy_challenge_header", MP_STR, &p_proxy_hdr, NULL},
    {"auto_stale", MP_INT, &p_auto_stale, NULL},
    {0},
};

osp_module_t osp_mod_auth = {
    .name = "auth",
    .exports = auth_exports,
    .params = auth_params,
    .init = auth_init,
    .destroy = auth_destroy,
};
