/* auth.h - digest authentication core (RFC 2617 / RFC 7616), shared by the
 * auth module (challenges, pv_* checks) and the credential back ends
 * (auth_db). Names and return codes follow Kamailio 5.6's auth module
 * (api.h): a back end supplies the HA1 of a user through a callback and
 * auth_verify() does everything else (finding the credentials for the
 * realm, checking the nonce, the response, the nonce count).
 *
 * Hashes go through OpenSSL's EVP. Nonces are self-contained and signed
 * with HMAC-SHA-256 under a per-start random secret (or the "secret"
 * modparam); the only shared state is the nonce-count table, one 64-bit
 * atomic word per slot, so checking a nonce takes no lock. */
#ifndef OSP_MOD_AUTH_H
#define OSP_MOD_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"
#include "kemi/kemi.h"
#include "sip/msg.h"

/* Results as returned to scripts (Kamailio's auth_cfg_result_t). */
enum {
	AUTH_OK = 1,
	AUTH_DROP = 0,
	AUTH_ERROR = -1,
	AUTH_INVALID_PASSWORD = -2,
	AUTH_USER_UNKNOWN = -3,
	AUTH_STALE_NONCE = -4,
	AUTH_NO_CREDENTIALS = -5,
	AUTH_NONCE_REUSED = -6,
	AUTH_USERNAME_EXPIRED = -7,
	AUTH_USER_MISMATCH = -8,
};

/* Flags of the challenge and pv_* functions (Kamailio's values). */
#define AUTH_CHLG_QOP_AUTH	1  /* *_challenge: qop="auth" */
#define AUTH_CHLG_QOP_AUTHINT	2  /* *_challenge: qop="auth-int" */
#define AUTH_CHLG_NO_500	4  /* *_challenge: no automatic 500 */
#define AUTH_FLAG_PASSWDHA1	1  /* pv_*: the password is an HA1 */
#define AUTH_FLAG_HDRQOPNONE	2  /* pv_*: challenge to $avp, no qop */
#define AUTH_FLAG_HDRQOPAUTH	4  /* pv_*: challenge to $avp, qop=auth */
#define AUTH_FLAG_HDRQOPAUTHINT 8  /* pv_*: challenge to $avp, auth-int */
#define AUTH_FLAG_CLGSTALE	16 /* challenge with stale=true */
#define AUTH_FLAG_NOINVNC	32 /* pv_*: accepted (nc never burnt here) */

/* Checks of auth_check / pv_auth_check: the auth user must match the
 * From user (To for REGISTER); SKIPFWD: except for INVITE, BYE, PRACK,
 * UPDATE and MESSAGE. */
#define AUTH_CHECK_ID_F	     1
#define AUTH_CHECK_SKIPFWD_F 2

/* ---- hashing ---- */

typedef enum auth_alg {
	AUTH_ALG_MD5 = 0,
	AUTH_ALG_SHA256,
	AUTH_ALG_SHA512_256,
	AUTH_ALG__COUNT
} auth_alg_t;

/* Longest lowercase hex digest plus NUL (SHA-256 and SHA-512/256: 64). */
#define AUTH_HEX_MAX 65

/* "MD5", "MD5-sess", "SHA-256", "SHA-256-sess", "SHA-512-256",
 * "SHA-512-256-sess" (any case); empty means MD5. 0, or -1 unknown. */
int auth_alg_parse(str_t name, auth_alg_t *alg, int *sess);
const char *auth_alg_name(auth_alg_t alg);
/* Length of the hex digest: 32 for MD5, 64 for the others. */
size_t auth_alg_hexlen(auth_alg_t alg);

/* H(user:realm:password) as lowercase hex into out[AUTH_HEX_MAX].
 * 0, or -1 when the hash is unavailable (logged). */
int auth_calc_ha1(auth_alg_t alg, str_t user, str_t realm, str_t password,
		  char *out);
/* The -sess HA1 of RFC 7616 §3.4.2: H(ha1:nonce:cnonce). */
int auth_calc_ha1_sess(auth_alg_t alg, str_t ha1, str_t nonce, str_t cnonce,
		       char *out);
/* request-digest of RFC 7616 §3.4.1. qop empty: H(HA1:nonce:HA2) (RFC
 * 2069); "auth" or "auth-int": H(HA1:nonce:nc:cnonce:qop:HA2). HA2 is
 * H(method:uri), or H(method:uri:H(body)) for auth-int. An empty method
 * gives the rspauth of Authentication-Info. */
int auth_calc_response(auth_alg_t alg, str_t ha1, str_t nonce, str_t nc,
		       str_t cnonce, str_t qop, str_t method, str_t uri,
		       str_t body, char *out);

/* ---- nonces ---- */

/* What a nonce check found. */
enum {
	AUTH_NONCE_OK = 0,
	AUTH_NONCE_INVALID = -1, /* not ours, tampered with, malformed */
	AUTH_NONCE_STALE = -2,	 /* ours but expired, from an earlier start,
				  * or the message parts it covers changed */
};

/* Nonce settings, set by the auth module's parameters. */
typedef struct auth_nonce_cfg {
	int expire;    /* seconds, > 0 */
	int max_drift; /* seconds a nonce may come from the future */
	int nc;	       /* track nonce counts (refuse replays) */
	int otn;       /* one-time nonces */
	int checks_reg, checks_no_dlg, checks_in_dlg; /* parts covered */
} auth_nonce_cfg_t;

/* Set up the secret (NULL or empty: 32 random bytes) and the nonce-count
 * table of `slots` entries (rounded down to a power of two, at least 64).
 * Called by the module inits, before any worker runs: cfg NULL (auth_db)
 * sets up the defaults unless done already; settings (the auth module)
 * replace defaults set up earlier. Otherwise a second call is a no-op.
 * 0 or -1. */
int auth_nonce_init(const auth_nonce_cfg_t *cfg, const char *secret,
		    size_t slots);
void auth_nonce_destroy(void);
/* The active settings (defaults until auth_nonce_init). */
auth_nonce_cfg_t *auth_nonce_settings(void);

/* Write a fresh nonce for msg (NUL-terminated hex) into buf. Returns its
 * length, or -1 when cap is too small. */
#define AUTH_NONCE_MAX 128
int auth_nonce_new(sip_msg_t *msg, char *buf, size_t cap);
/* Check signature, age and covered message parts. *nid gets the nonce's
 * tracking id (0: untracked). AUTH_NONCE_OK, _INVALID or _STALE. */
int auth_nonce_check(sip_msg_t *msg, str_t nonce, uint32_t *nid);
/* After a verified response: record nc for the tracked nonce nid.
 * Returns AUTH_OK, AUTH_STALE_NONCE (nc not above the last one seen, or
 * the nonce's slot was reused by a newer nonce) or AUTH_NONCE_REUSED (a
 * one-time nonce used again). nc empty: one-time check only. */
int auth_nonce_use(uint32_t nid, str_t nc);

/* ---- verification ---- */

/* The credentials auth_verify() used. */
typedef struct auth_cred {
	sip_hdr_t *hdr; /* NULL when none was needed (ACK, CANCEL, PRACK) */
	sip_auth_t *au;
	str_t user;   /* username up to '@' */
	str_t domain; /* after '@' of the username, empty if none */
	auth_alg_t alg;
	int sess;
	int stale; /* the nonce was stale */
} auth_cred_t;

/* A back end's HA1 lookup: fill ha1 (NUL-terminated hex of the plain HA1
 * H(user:realm:password) for cred->alg, or the password itself when
 * *is_password is set, then the core hashes it). Returns 0 found, 1 no
 * such user, -1 error. */
typedef int (*auth_ha1_fn)(ksr_ctx_t *ctx, const auth_cred_t *cred, void *arg,
			   char *ha1, size_t cap, int *is_password);

/* Digest-authenticate the request with the credentials of `realm` found in
 * headers of type hftype (SIP_HDR_AUTHORIZATION or SIP_HDR_PROXYAUTHZ).
 * method: the method for HA2 (empty: the request's). Returns one of the
 * AUTH_* results; cred (may be NULL) gets what was used. */
int auth_verify(ksr_ctx_t *ctx, str_t realm, sip_hdr_type_t hftype,
		str_t method, auth_ha1_fn get_ha1, void *arg,
		auth_cred_t *cred);

/* The From/To user check of auth_check and pv_auth_check (flags
 * AUTH_CHECK_*). use_domain also compares the From and To hosts of a
 * REGISTER/PUBLISH. AUTH_OK, AUTH_USER_MISMATCH or AUTH_ERROR. */
int auth_check_identity(sip_msg_t *msg, const auth_cred_t *cred, int checks,
			int use_domain);

/* Evaluate a script string that may hold pseudo-variables ("$fd") into buf.
 * 0, or -1 (bad format, too long). */
int auth_eval_str(ksr_ctx_t *ctx, str_t in, char *buf, size_t cap, str_t *out);

/* Realm after the realm_prefix modparam is stripped. */
str_t auth_strip_realm(str_t realm);

/* The header lines of a challenge (one per offered algorithm), CRLF
 * terminated, into buf. hftype: SIP_HDR_WWWAUTHENTICATE or
 * SIP_HDR_PROXYAUTHENTICATE. qop: 0 none, 1 auth, 2 auth-int. Length, or
 * -1 (buffer too small, realm with CR/LF). */
int auth_build_challenge(sip_msg_t *msg, str_t realm, int qop, int stale,
			 sip_hdr_type_t hftype, char *buf, size_t cap);

/* Challenge with a 401 (WWW) or 407 (Proxy) reply, Kamailio's
 * auth_challenge_hftype(): 1 sent; -1 bad realm; -2 the challenge could not
 * be built; -3 the reply could not be sent; -4 nor could the 500 after -2
 * (flags: AUTH_CHLG_*, AUTH_FLAG_CLGSTALE). */
int auth_send_challenge(ksr_ctx_t *ctx, str_t realm, long flags,
			sip_hdr_type_t hftype);

/* Module state shared with auth_db: use_domain of the auth module. */
extern int auth_use_domain;
/* The first algorithm of the "algorithm" modparam (MD5 by default): the
 * one subscriber.add computes the stored HA1 values with. */
auth_alg_t auth_default_alg(void);

#endif
