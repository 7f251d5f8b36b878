/* digest.c - the RFC 2617 / RFC 7616 hash computations, through OpenSSL.
 *
 * MD5 and SHA-256 of a joined buffer (every hash of a REGISTER or INVITE
 * check) go through OpenSSL's one-shot MD5() and SHA256(): OpenSSL 3.0's
 * EVP_DigestInit_ex frees and re-creates the provider's context on every
 * initialisation, which cost about 550 instructions per hash, as much as
 * an MD5 block (the register-auth benchmark's profile: 5 hashes per
 * REGISTER pair). These one-shot functions are marked deprecated in
 * OpenSSL 3.0 but kept and maintained; the same code computes them.
 * SHA-512/256, and any hash too long to join (auth-int bodies), use EVP:
 * the message digests are fetched once (OpenSSL 3 otherwise looks them up
 * on every initialisation) and shared by all threads, which EVP allows for
 * fetched algorithm objects. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/sha.h>

#include "core/log.h"
#include "core/thread_obj.h"
#include "modules/auth/auth.h"

static const struct {
	const char *name; /* as in the algorithm parameter */
	const char *evp;  /* OpenSSL's name */
	size_t hexlen;
} algs[AUTH_ALG__COUNT] = {
    [AUTH_ALG_MD5] = {"MD5", "MD5", 32},
    [AUTH_ALG_SHA256] = {"SHA-256", "SHA2-256", 64},
    [AUTH_ALG_SHA512_256] = {"SHA-512-256", "SHA2-512/256", 64},
};

static EVP_MD *mds[AUTH_ALG__COUNT];
static pthread_once_t mds_once = PTHREAD_ONCE_INIT;

int auth_alg_parse(str_t name, auth_alg_t *alg, int *sess)
{
	static const char suffix[] = "-sess";
	size_t sl = sizeof(suffix) - 1;

	*alg = AUTH_ALG_MD5;
	*sess = 0;
	if (!name.len)
		return 0;
	if (name.len > sl &&
	    strncasecmp(name.s + name.len - sl, suffix, sl) == 0) {
		*sess = 1;
		name.len -= sl;
	}
	for (int i = 0; i < AUTH_ALG__COUNT; i++) {
		if (str_caseeq_cstr(name, algs[i].name)) {
			*alg = (auth_alg_t)i;
			return 0;
		}
	}
	return -1;
}

const char *auth_alg_name(auth_alg_t alg)
{
	return alg < AUTH_ALG__COUNT ? algs[alg].name : "?";
}

size_t auth_alg_hexlen(auth_alg_t alg)
{
	return alg < AUTH_ALG__COUNT ? algs[alg].hexlen : 0;
}

/* This thread's digest context, kept between hashes (a new one per hash
 * cost an allocation and a release each time); freed when the thread
 * ends. */
static _Thread_local EVP_MD_CTX *md_ctx;

static void md_ctx_free(void *c)
{
	EVP_MD_CTX_free(c);
}

static void mds_fetch(void)
{
	for (int i = 0; i < AUTH_ALG__COUNT; i++)
		mds[i] = EVP_MD_fetch(NULL, algs[i].evp, NULL);
}

static EVP_MD_CTX *thread_md_ctx(void)
{
	if (!md_ctx) {
		md_ctx = EVP_MD_CTX_new();
		if (md_ctx)
			osp_thread_atexit(md_ctx_free, md_ctx);
	}
	return md_ctx;
}

static void to_hex(const unsigned char *md, unsigned int mdlen, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (unsigned int i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * mdlen] = '\0';
}

/* The parts joined by ':' into buf; the length, or -1 when they do not
 * fit. */
static long join_parts(const str_t *parts, int n, char *buf, size_t cap)
{
	size_t jl = 0;

	for (int i = 0; i < n; i++) {
		if (jl + parts[i].len + (i ? 1 : 0) > cap)
			return -1;
		if (i)
			buf[jl++] = ':';
		if (parts[i].len)
			memcpy(buf + jl, parts[i].s, parts[i].len);
		jl += parts[i].len;
	}
	return (long)jl;
}

/* Through EVP, part by part (any algorithm, any length). */
static int hash_parts_evp(auth_alg_t alg, const str_t *parts, int n,
			  unsigned char *md, unsigned int *mdlen)
{
	EVP_MD_CTX *c;

	pthread_once(&mds_once, mds_fetch);
	if (!mds[alg]) {
		LOG_RATE(L_ERR, "auth: digest %s not available in OpenSSL",
			 auth_alg_name(alg));
		return -1;
	}
	c = thread_md_ctx();
	if (!c || !EVP_DigestInit_ex(c, mds[alg], NULL))
		return -1;
	for (int i = 0; i < n; i++) {
		if (i && !EVP_DigestUpdate(c, ":", 1))
			return -1;
		if (parts[i].len &&
		    !EVP_DigestUpdate(c, parts[i].s, parts[i].len))
			return -1;
	}
	return EVP_DigestFinal_ex(c, md, mdlen) ? 0 : -1;
}

/* Hash the parts joined by ':' into lowercase hex (out[AUTH_HEX_MAX]).
 * 0 or -1. */
static int hash_parts(auth_alg_t alg, const str_t *parts, int n, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char joined[1024];
	long jl;
	int rc = -1;

	if (alg >= AUTH_ALG__COUNT)
		goto out;
	jl = join_parts(parts, n, joined, sizeof(joined));
	if (jl >= 0 && alg == AUTH_ALG_MD5) {
		MD5((const unsigned char *)joined, (size_t)jl, md);
		mdlen = MD5_DIGEST_LENGTH;
	} else if (jl >= 0 && alg == AUTH_ALG_SHA256) {
		SHA256((const unsigned char *)joined, (size_t)jl, md);
		mdlen = SHA256_DIGEST_LENGTH;
	} else if (hash_parts_evp(alg, parts, n, md, &mdlen) < 0) {
		goto out;
	}
	if (mdlen * 2 >= AUTH_HEX_MAX)
		goto out;
	to_hex(md, mdlen, out);
	rc = 0;
out:
	if (rc < 0)
		LOG_RATE(L_ERR, "auth: %s hashing failed", auth_alg_name(alg));
	return rc;
}

int auth_calc_ha1(auth_alg_t alg, str_t user, str_t realm, str_t password,
		  char *out)
{
	str_t p[3] = {user, realm, password};

	return hash_parts(alg, p, 3, out);
}

int auth_calc_ha1_sess(auth_alg_t alg, str_t ha1, str_t nonce, str_t cnonce,
		       char *out)
{
	str_t p[3] = {ha1, nonce, cnonce};

	return hash_parts(alg, p, 3, out);
}

int auth_calc_response(auth_alg_t alg, str_t ha1, str_t nonce, str_t nc,
		       str_t cnonce, str_t qop, str_t method, str_t uri,
		       str_t body, char *out)
{
	char hbody[AUTH_HEX_MAX], ha2[AUTH_HEX_MAX];
	str_t p[6];
	int auth_int = str_caseeq_cstr(qop, "auth-int");

	p[0] = method;
	p[1] = uri;
	if (auth_int) {
		if (hash_parts(alg, &body, 1, hbody) < 0)
			return -1;
		p[2] = str_from(hbody);
	}
	if (hash_parts(alg, p, auth_int ? 3 : 2, ha2) < 0)
		return -1;
	p[0] = ha1;
	p[1] = nonce;
	if (!qop.len) {
		p[2] = str_from(ha2);
		return hash_parts(alg, p, 3, out);
	}
	p[2] = nc;
	p[3] = cnonce;
	p[4] = qop;
	p[5] = str_from(ha2);
	return hash_parts(alg, p, 6, out);
}
