/* nonce.c - issuing and checking digest nonces, and the nonce-count table.
 *
 * A nonce is the hex text of
 *
 *     ver(1) flags(1) cfg(1) since(4) expire(4) nid(4) mac1(16) [mac2(16)]
 *
 * since/expire are Unix times (big endian), nid the slot id for nonce-count
 * tracking (0: untracked), cfg the auth_checks_* bits in force when it was
 * issued. mac1 is AES-256 under a key derived from the secret, applied to
 * the one block made of a domain byte and the 15 bytes before it: the
 * fields have a fixed length and fill exactly one block, and on one fixed
 * block AES is a pseudo-random function, so its output is a MAC (CBC-MAC of
 * one block) at about 230 instructions where HMAC-SHA-256 took about 8,000
 * (two SHA-256 compressions and OpenSSL's context copies; the benchmark's
 * register-auth profile). mac2, present when cfg is not 0, is
 * HMAC-SHA-256 under the secret over mac1 and the message parts cfg names
 * (R-URI, Call-ID, From tag, source IP: variable lengths, hence HMAC), so
 * the nonce cannot be used with another request line, call or address
 * (Kamailio's auth_checks_*).
 *
 * Verification needs no state, except for tracked nonces: a table of
 * 64-bit words, slot nid & mask holding (nid << 32 | flags/last nc). A slot
 * overwritten by a newer nonce makes the older one stale, as in Kamailio's
 * nc_array: the table bounds memory, not the number of clients. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "core/log.h"
#include "core/thread_obj.h"
#include "modules/auth/auth.h"

#define NONCE_VER  2 /* 1: mac1 was HMAC-SHA-256 */
#define NF_TRACKED 0x1
#define NF_MAC2	   0x2
#define HDR_LEN	   15
#define MAC_LEN	   16
#define OTN_USED   0x80000000u
#define NC_MASK	   0x7fffffffu

static auth_nonce_cfg_t cfg = {
    .expire = 300,
    .max_drift = 3,
    .nc = 1,
};
static unsigned char secret[64];
static size_t secret_len;
static int ready;
static int ready_default; /* set up without settings (auth not loaded) */
static time_t up_since;
static _Atomic uint64_t *nc_tab;
static uint32_t nc_mask;
static _Atomic uint32_t nid_next;
static _Atomic unsigned key_gen = 1; /* moves on with the secret */

static int derive_aes_key(void);

auth_nonce_cfg_t *auth_nonce_settings(void)
{
	return &cfg;
}

int auth_nonce_init(const auth_nonce_cfg_t *c, const char *sec, size_t slots)
{
	size_t n = 64;
	uint32_t start;

	if (ready && (!c || !ready_default))
		return 0;
	if (ready) /* defaults set up earlier: replace them */
		auth_nonce_destroy();
	ready_default = !c;
	if (c)
		cfg = *c;
	if (cfg.expire <= 0)
		cfg.expire = 300;
	if (sec && *sec) {
		/* a long phrase is folded into the key by HMAC itself */
		secret_len = strlen(sec);
		if (secret_len > sizeof(secret))
			secret_len = sizeof(secret);
		memcpy(secret, sec, secret_len);
	} else {
		secret_len = 32;
		if (RAND_bytes(secret, (int)secret_len) != 1) {
			LOG_ERR("auth: cannot get random bytes for the secret");
			return -1;
		}
	}
	if (derive_aes_key() < 0)
		return -1;
	atomic_fetch_add(&key_gen, 1); /* every thread re-keys its contexts */
	while (n * 2 <= slots && n < (1u << 30))
		n *= 2;
	nc_tab = calloc(n, sizeof(*nc_tab));
	if (!nc_tab) {
		LOG_ERR("auth: no memory for %zu nonce-count slots", n);
		return -1;
	}
	nc_mask = (uint32_t)(n - 1);
	if (RAND_bytes((unsigned char *)&start, sizeof(start)) != 1)
		start = (uint32_t)time(NULL);
	atomic_store(&nid_next, start);
	up_since = time(NULL);
	ready = 1;
	return 0;
}

void auth_nonce_destroy(void)
{
	free((void *)nc_tab);
	nc_tab = NULL;
	ready = 0;
}

/* Lazily set up with defaults (unit tests, auth_db without auth). */
static int ensure_ready(void)
{
	return ready ? 0 : auth_nonce_init(NULL, NULL, 1u << 17);
}

/* Which auth_checks_* apply to msg (Kamailio's get_auth_checks). */
static int checks_for(sip_msg_t *msg)
{
	str_t tag;

	if (!msg)
		return 0;
	if (msg->method_id == SIP_METHOD_REGISTER)
		return cfg.checks_reg;
	if (sip_get_tag(msg, SIP_HDR_TO, &tag) <= 0 || !tag.len)
		return cfg.checks_no_dlg;
	return cfg.checks_in_dlg;
}

static void put32(unsigned char *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/* The keyed HMAC context of this thread. The one-shot HMAC() of OpenSSL 3
 * fetches the HMAC and SHA-256 implementations, allocates a context and
 * hashes the key into the inner and outer pads on every call, which cost
 * over 20,000 instructions per nonce; here each thread keys one context
 * once and re-initialises it per MAC (EVP_MAC_init without a key reuses
 * the key's pads). key_gen moves on when auth_nonce_init changes the
 * secret, so that every thread re-keys. The context is freed when its
 * thread ends. */
static EVP_MAC *hmac_alg;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;
static _Thread_local EVP_MAC_CTX *hmac_ctx;
static _Thread_local unsigned hmac_ctx_gen;

static void hmac_ctx_free(void *c)
{
	EVP_MAC_CTX_free(c);
}

static void hmac_setup(void)
{
	hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

/* This thread's context, keyed with the current secret; NULL on error. */
static EVP_MAC_CTX *thread_hmac(void)
{
	unsigned gen = atomic_load(&key_gen);
	OSSL_PARAM params[2];

	if (hmac_ctx && hmac_ctx_gen == gen)
		return EVP_MAC_init(hmac_ctx, NULL, 0, NULL) ? hmac_ctx : NULL;
	pthread_once(&hmac_once, hmac_setup);
	if (!hmac_alg)
		return NULL;
	if (!hmac_ctx) {
		hmac_ctx = EVP_MAC_CTX_new(hmac_alg);
		if (!hmac_ctx)
			return NULL;
		osp_thread_atexit(hmac_ctx_free, hmac_ctx);
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(hmac_ctx, secret, secret_len, params))
		return NULL;
	hmac_ctx_gen = gen;
	return hmac_ctx;
}

/* The AES-256 key of mac1: HMAC-SHA-256(secret, label), so that the two
 * MACs never share a key. */
static unsigned char aes_key[32];

static int derive_aes_key(void)
{
	static const char label[] = "osprey auth nonce mac1";
	unsigned int len = 0;

	if (!HMAC(EVP_sha256(), secret, (int)secret_len,
		  (const unsigned char *)label, sizeof(label) - 1, aes_key,
		  &len) ||
	    len != sizeof(aes_key)) {
		LOG_ERR("auth: cannot derive the nonce key (OpenSSL)");
		return -1;
	}
	return 0;
}

static EVP_CIPHER *aes_alg;
static pthread_once_t aes_once = PTHREAD_ONCE_INIT;
static _Thread_local EVP_CIPHER_CTX *aes_ctx;
static _Thread_local unsigned aes_ctx_gen;

static void aes_ctx_free(void *c)
{
	EVP_CIPHER_CTX_free(c);
}

static void aes_setup(void)
{
	aes_alg = EVP_CIPHER_fetch(NULL, "AES-256-ECB", NULL);
}

/* This thread's AES context under the current key; NULL on error. */
static EVP_CIPHER_CTX *thread_aes(void)
{
	unsigned gen = atomic_load(&key_gen);

	if (aes_ctx && aes_ctx_gen == gen)
		return aes_ctx;
	pthread_once(&aes_once, aes_setup);
	if (!aes_alg)
		return NULL;
	if (!aes_ctx) {
		aes_ctx = EVP_CIPHER_CTX_new();
		if (!aes_ctx)
			return NULL;
		osp_thread_atexit(aes_ctx_free, aes_ctx);
	}
	if (!EVP_EncryptInit_ex2(aes_ctx, aes_alg, aes_key, NULL, NULL) ||
	    !EVP_CIPHER_CTX_set_padding(aes_ctx, 0))
		return NULL;
	aes_ctx_gen = gen;
	return aes_ctx;
}

/* mac1: AES-256 of the block (1, hdr[0..14]). */
static int mac1(const unsigned char *hdr, unsigned char *out)
{
	unsigned char in[16];
	EVP_CIPHER_CTX *c = thread_aes();
	int len = 0;

	in[0] = 1;
	memcpy(in + 1, hdr, HDR_LEN);
	if (!c || !EVP_EncryptUpdate(c, out, &len, in, sizeof(in)) ||
	    len != MAC_LEN) {
		LOG_RATE(L_ERR, "auth: AES failed in OpenSSL");
		return -1;
	}
	return 0;
}

/* HMAC-SHA-256 truncated to MAC_LEN over a tag byte and the pieces. */
static int mac(unsigned char tag, const str_t *parts, int n, unsigned char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0;
	unsigned char buf[512];
	size_t len = 0;
	EVP_MAC_CTX *c;

	buf[len++] = tag;
	for (int i = 0; i < n; i++) {
		/* length-prefixed so that parts cannot slide into each other */
		size_t pl = parts[i].len > 255 ? 255 : parts[i].len;

		if (len + 1 + pl > sizeof(buf))
			return -1;
		buf[len++] = (unsigned char)pl;
		if (pl)
			memcpy(buf + len, parts[i].s, pl);
		len += pl;
	}
	c = thread_hmac();
	if (!c || !EVP_MAC_update(c, buf, len) ||
	    !EVP_MAC_final(c, md, &mdlen, sizeof(md)) || mdlen < MAC_LEN) {
		LOG_RATE(L_ERR, "auth: HMAC-SHA-256 failed in OpenSSL");
		return -1;
	}
	memcpy(out, md, MAC_LEN);
	return 0;
}

/* mac2 over mac1 and the parts of msg selected by checks. */
static int mac_parts(sip_msg_t *msg, int checks, const unsigned char *mac1,
		     unsigned char *out)
{
	str_t p[5];
	int n = 0;

	p[n++] = (str_t){(const char *)mac1, MAC_LEN};
	if (checks & 1)
		p[n++] = msg->ruri;
	if (checks & 2)
		p[n++] = sip_get_callid(msg);
	if (checks & 4) {
		str_t tag;

		sip_get_tag(msg, SIP_HDR_FROM, &tag); /* empty when none */
		p[n++] = tag;
	}
	if (checks & 8) {
		if (msg->rcv.src.sa.sa_family == AF_INET6)
			p[n++] = (str_t){
			    (const char *)&msg->rcv.src.in6.sin6_addr, 16};
		else
			p[n++] = (str_t){
			    (const char *)&msg->rcv.src.in4.sin_addr, 4};
	}
	return mac(2, p, n, out);
}

static void to_hex(const unsigned char *b, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int auth_nonce_new(sip_msg_t *msg, char *buf, size_t cap)
{
	unsigned char b[HDR_LEN + 2 * MAC_LEN];
	uint32_t now = (uint32_t)time(NULL), nid = 0;
	int checks = checks_for(msg);
	size_t len = HDR_LEN + MAC_LEN;

	if (ensure_ready() < 0)
		return -1;
	if (checks)
		len += MAC_LEN;
	if (cap < 2 * len + 1)
		return -1;
	if ((cfg.nc || cfg.otn) && nc_tab) {
		do
			nid = atomic_fetch_add(&nid_next, 1) + 1;
		while (nid == 0);
		atomic_store(&nc_tab[nid & nc_mask], (uint64_t)nid << 32);
	}
	b[0] = NONCE_VER;
	b[1] = (nid ? NF_TRACKED : 0) | (checks ? NF_MAC2 : 0);
	b[2] = (unsigned char)checks;
	put32(b + 3, now);
	put32(b + 7, now + (uint32_t)cfg.expire);
	put32(b + 11, nid);
	if (mac1(b, b + HDR_LEN) < 0)
		return -1;
	if (checks &&
	    mac_parts(msg, checks, b + HDR_LEN, b + HDR_LEN + MAC_LEN) < 0)
		return -1;
	to_hex(b, len, buf);
	return (int)(2 * len);
}

/* Constant-time comparison of n bytes. */
static int same(const unsigned char *a, const unsigned char *b, size_t n)
{
	unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

int auth_nonce_check(sip_msg_t *msg, str_t nonce, uint32_t *nid)
{
	unsigned char b[HDR_LEN + 2 * MAC_LEN], m[MAC_LEN];
	size_t n = nonce.len / 2;
	uint32_t since, expire, now = (uint32_t)time(NULL);

	*nid = 0;
	if (ensure_ready() < 0)
		return AUTH_NONCE_INVALID;
	if (nonce.len % 2 ||
	    (n != HDR_LEN + MAC_LEN && n != HDR_LEN + 2 * MAC_LEN))
		return AUTH_NONCE_INVALID;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(nonce.s[2 * i]),
		    lo = hexval(nonce.s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return AUTH_NONCE_INVALID;
		b[i] = (unsigned char)(hi << 4 | lo);
	}
	if (b[0] == 1) /* an earlier version's: the client retries silently */
		return AUTH_NONCE_STALE;
	if (b[0] != NONCE_VER ||
	    !!(b[1] & NF_MAC2) != (n == HDR_LEN + 2 * MAC_LEN))
		return AUTH_NONCE_INVALID;
	since = get32(b + 3);
	expire = get32(b + 7);
	/* Issued before this start (another secret, an emptied nonce-count
	 * table) or too far in the future: stale, so that the client
	 * recomputes its credentials without asking its user. */
	if ((time_t)since < up_since ||
	    (since > now && since - now > (uint32_t)cfg.max_drift))
		return AUTH_NONCE_STALE;
	if (mac1(b, m) < 0 || !same(m, b + HDR_LEN, MAC_LEN))
		return AUTH_NONCE_INVALID;
	if (b[2] != checks_for(msg))
		return AUTH_NONCE_STALE;
	if (b[2]) {
		if (mac_parts(msg, b[2], b + HDR_LEN, m) < 0 ||
		    !same(m, b + HDR_LEN + MAC_LEN, MAC_LEN))
			return AUTH_NONCE_STALE;
	}
	if (expire < now)
		return AUTH_NONCE_STALE;
	if (b[1] & NF_TRACKED)
		*nid = get32(b + 11);
	return AUTH_NONCE_OK;
}

/* nc: 8 hex digits (RFC 7616 nc-value). -1 when malformed. */
static long parse_nc(str_t nc)
{
	unsigned long v = 0;

	if (nc.len != 8)
		return -1;
	for (size_t i = 0; i < 8; i++) {
		int d = hexval(nc.s[i]);

		if (d < 0)
			return -1;
		v = v << 4 | (unsigned long)d;
	}
	return (long)(v & 0xffffffffu);
}

int auth_nonce_use(uint32_t nid, str_t nc)
{
	_Atomic uint64_t *slot;
	uint64_t v, nv;
	long ncv = -1;

	if (!nid || !nc_tab)
		return AUTH_OK;
	if (nc.len) {
		if (!cfg.nc)
			goto otn;
		ncv = parse_nc(nc);
		if (ncv < 0)
			return AUTH_ERROR;
		/* above 2^31 there is no room left to count: re-challenge */
		if ((uint64_t)ncv > NC_MASK)
			return AUTH_STALE_NONCE;
	}
otn:
	if (ncv < 0 && !cfg.otn)
		return AUTH_OK;
	slot = &nc_tab[nid & nc_mask];
	v = atomic_load(slot);
	for (;;) {
		if ((uint32_t)(v >> 32) != nid)
			/* the slot now belongs to a newer nonce */
			return ncv >= 0 ? AUTH_STALE_NONCE : AUTH_NONCE_REUSED;
		if (ncv >= 0) {
			if ((uint64_t)ncv <= (v & NC_MASK))
				return AUTH_STALE_NONCE; /* replayed nc */
			nv = (v & ~(uint64_t)NC_MASK) | (uint64_t)ncv;
		} else {
			if (v & OTN_USED)
				return AUTH_NONCE_REUSED;
			nv = v | OTN_USED;
		}
		if (atomic_compare_exchange_weak(slot, &v, nv))
			return AUTH_OK;
	}
}
