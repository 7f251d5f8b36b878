/* test_auth_db.c - KSR.auth_db against a real SQLite file: the subscriber.*
 * control commands, auth_check's return codes (ok, wrong password,
 * unknown user, no credentials, auth user mismatch), ha1b for
 * user@domain usernames, calculate_ha1 with the password column,
 * use_domain, is_subscriber, load_credentials, SHA-256 HA1 columns. */
#include <sqlite3.h>
#include <stdlib.h>

#include "modules/auth/auth.h"
#include "modules/pv/pv.h"
#include "test_mods_util.h"

extern osp_module_t osp_mod_auth;
extern osp_module_t osp_mod_auth_db;

static char dir[] = "/tmp/osprey-test-auth-db-XXXXXX";
static char dbpath[256];

static void set_param(osp_module_t *m, const char *name, const char *sval,
		      long ival)
{
	for (const osp_param_t *p = m->params; p->name; p++) {
		if (strcmp(p->name, name) != 0)
			continue;
		if (p->type == MP_STR)
			*(char **)p->var = strdup(sval ? sval : "");
		else
			*(int *)p->var = (int)ival;
		return;
	}
	UNIT_FAIL("no param %s", name);
}

static void setup(const char *extra_param, const char *extra_val)
{
	char url[300];

	CHECK(mkdtemp(dir) != NULL);
	snprintf(dbpath, sizeof(dbpath), "%s/osprey.db", dir);
	snprintf(url, sizeof(url), "sqlite://%s", dbpath);
	set_param(&osp_mod_auth_db, "db_url", url, 0);
	if (extra_param)
		set_param(&osp_mod_auth_db, extra_param, extra_val, 0);
	CHECK_INT(osp_mod_auth.init(), 0);
	CHECK_INT(osp_mod_auth_db.init(), 0);
}

static void teardown(void)
{
	char cmd[512];

	osp_mod_auth_db.destroy();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_INT(system(cmd), 0);
}

/* Call subscriber.<name> with string parameters; returns the result (a new
 * reference) or NULL with *code set. */
static json_t *rpc(const char *name, int *code, const char *a, const char *b)
{
	const rpc_export_t *e;
	rpc_error_t err;
	json_t *params = json_array(), *res;

	if (a)
		json_array_append_new(params, json_string(a));
	if (b)
		json_array_append_new(params, json_string(b));
	for (e = osp_mod_auth_db.rpc; e->name; e++)
		if (strcmp(e->name, name) == 0)
			break;
	CHECK(e->name != NULL);
	memset(&err, 0, sizeof(err));
	res = e->fn(params, &err);
	json_decref(params);
	*code = res ? 0 : err.code;
	return res;
}

static const char *reg_fmt =
    "REGISTER sip:example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK%d\r\n"
    "From: <sip:%s@example.com>;tag=1\r\n"
    "To: <sip:%s@example.com>\r\n"
    "Call-ID: reg-1\r\n"
    "CSeq: %d REGISTER\r\n"
    "%s"
    "Content-Length: 0\r\n\r\n";
static int seq;
static char nonce[AUTH_NONCE_MAX];

static void parse_reg(tmsg_t *t, const char *aor_user, const char *hdr)
{
	static char text[4096];

	seq++;
	snprintf(text, sizeof(text), reg_fmt, seq, aor_user, aor_user, seq,
		 hdr ? hdr : "");
	tmsg_parse(t, text);
}

/* Get a nonce from a 401 challenge in realm. */
static void get_nonce(const char *realm)
{
	const char *p, *e;
	tmsg_t t;

	parse_reg(&t, "alice", NULL);
	CHECK_INT(kcall(&t, &osp_mod_auth, "auth_challenge", NULL, realm, 1L),
		  1);
	CHECK_INT(sent.code, 401);
	p = strstr(sent.extra, "nonce=\"");
	CHECK(p != NULL);
	p += 7;
	e = strchr(p, '"');
	memcpy(nonce, p, (size_t)(e - p));
	nonce[e - p] = '\0';
	tmsg_free(&t);
}

static int nc;

/* REGISTER for aor_user authenticated as auth_user/pw; auth_check(realm,
 * "subscriber", flags). */
static int check(const char *aor_user, const char *auth_user, const char *pw,
		 const char *realm, long flags, auth_alg_t alg, tmsg_t *keep)
{
	char ha1[AUTH_HEX_MAX], rsp[AUTH_HEX_MAX], h[1024], ncs[16];
	tmsg_t t, *tp = keep ? keep : &t;
	int rc;

	snprintf(ncs, sizeof(ncs), "%08x", ++nc);
	auth_calc_ha1(alg, str_from(auth_user), str_from(realm), str_from(pw),
		      ha1);
	auth_calc_response(alg, str_from(ha1), str_from(nonce), str_from(ncs),
			   STR_LIT("c0ffee"), STR_LIT("auth"),
			   STR_LIT("REGISTER"), STR_LIT("sip:example.com"),
			   STR_NULL, rsp);
	snprintf(h, sizeof(h),
		 "Authorization: Digest username=\"%s\", realm=\"%s\", "
		 "nonce=\"%s\", uri=\"sip:example.com\", response=\"%s\", "
		 "qop=auth, nc=%s, cnonce=\"c0ffee\"%s\r\n",
		 auth_user, realm, nonce, rsp, ncs,
		 alg == AUTH_ALG_SHA256 ? ", algorithm=SHA-256" : "");
	parse_reg(tp, aor_user, h);
	rc = kcall(tp, &osp_mod_auth_db, "auth_check", NULL, realm,
		   "subscriber", flags);
	if (!keep)
		tmsg_free(tp);
	return rc;
}

TEST(subscriber_rpc_and_auth_check_codes)
{
	json_t *r;
	int code;
	tmsg_t t;

	setup(NULL, NULL);
	r = rpc("subscriber.add", &code, "alice@example.com", "secret");
	CHECK(r != NULL);
	CHECK_STR(json_string_value(json_object_get(r, "username")), "alice");
	json_decref(r);
	r = rpc("subscriber.add", &code, "sip:carol@example.com", "pw2");
	json_decref(r);
	/* twice: 409; bad account: 400 */
	CHECK(rpc("subscriber.add", &code, "alice@example.com", "x") == NULL);
	CHECK_INT(code, 409);
	CHECK(rpc("subscriber.add", &code, "alice", "x") == NULL);
	CHECK_INT(code, 400);
	CHECK(rpc("subscriber.add", &code, "dave@example.com", "") == NULL);
	CHECK_INT(code, 400);
	r = rpc("subscriber.list", &code, NULL, NULL);
	CHECK(json_is_array(r));
	CHECK_INT(json_array_size(r), 2);
	CHECK_STR(json_string_value(
		      json_object_get(json_array_get(r, 0), "username")),
		  "alice");
	CHECK_STR(
	    json_string_value(json_object_get(json_array_get(r, 1), "domain")),
	    "example.com");
	json_decref(r);

	/* no credentials */
	parse_reg(&t, "alice", NULL);
	CHECK_INT(kcall(&t, &osp_mod_auth_db, "auth_check", NULL, "example.com",
			"subscriber", 1L),
		  AUTH_NO_CREDENTIALS);
	tmsg_free(&t);

	get_nonce("example.com");
	CHECK_INT(check("alice", "alice", "secret", "example.com", 1,
			AUTH_ALG_MD5, NULL),
		  AUTH_OK);
	CHECK_INT(check("alice", "alice", "wrong", "example.com", 1,
			AUTH_ALG_MD5, NULL),
		  AUTH_INVALID_PASSWORD);
	CHECK_INT(
	    check("bob", "bob", "secret", "example.com", 1, AUTH_ALG_MD5, NULL),
	    AUTH_USER_UNKNOWN);
	CHECK_INT(check("carol", "alice", "secret", "example.com", 1,
			AUTH_ALG_MD5, NULL),
		  AUTH_USER_MISMATCH);
	CHECK_INT(check("carol", "alice", "secret", "example.com", 0,
			AUTH_ALG_MD5, NULL),
		  AUTH_OK);
	/* the stored ha1 was computed with realm = domain */
	get_nonce("other.org");
	CHECK_INT(check("alice", "alice", "secret", "other.org", 1,
			AUTH_ALG_MD5, NULL),
		  AUTH_INVALID_PASSWORD);
	/* user@domain usernames use ha1b */
	get_nonce("example.com");
	CHECK_INT(check("alice", "alice@example.com", "secret", "example.com",
			0, AUTH_ALG_MD5, NULL),
		  AUTH_OK);
	/* ACK: nothing to check */
	parse_reg(&t, "alice", NULL);
	t.msg.method_id = SIP_METHOD_ACK;
	CHECK_INT(kcall(&t, &osp_mod_auth_db, "auth_check", NULL, "example.com",
			"subscriber", 1L),
		  AUTH_OK);
	/* an empty realm or a table name that is not an identifier */
	t.msg.method_id = SIP_METHOD_REGISTER;
	CHECK_INT(kcall(&t, &osp_mod_auth_db, "auth_check", NULL, "",
			"subscriber", 1L),
		  AUTH_ERROR);
	tmsg_free(&t);

	/* is_subscriber */
	parse_reg(&t, "alice", NULL);
	CHECK_INT(kcall(&t, &osp_mod_auth_db, "is_subscriber", NULL,
			"sip:alice@example.com", "subscriber", 1L),
		  1);
	CHECK_INT(kcall(&t, &osp_mod_auth_db, "is_subscriber", NULL,
			"sip:alice@elsewhere.net", "subscriber", 1L),
		  -2);
	CHECK_INT(kcall(&t, &osp_mod_auth_db, "is_subscriber", NULL,
			"sip:alice@elsewhere.net", "subscriber", 0L),
		  1);
	CHECK_INT(kcall(&t, &osp_mod_auth_db, "is_subscriber", NULL,
			"sip:nobody@example.com", "subscriber", 3L),
		  -2);
	CHECK_INT(kcall(&t, &osp_mod_auth_db, "is_subscriber", NULL,
			"sip:alice@example.com", "sub; DROP TABLE x", 3L),
		  -1);
	tmsg_free(&t);

	/* passwd, then rm */
	r = rpc("subscriber.passwd", &code, "alice@example.com", "newpw");
	CHECK(r != NULL);
	json_decref(r);
	CHECK(rpc("subscriber.passwd", &code, "zed@example.com", "x") == NULL);
	CHECK_INT(code, 404);
	CHECK_INT(check("alice", "alice", "secret", "example.com", 1,
			AUTH_ALG_MD5, NULL),
		  AUTH_INVALID_PASSWORD);
	CHECK_INT(check("alice", "alice", "newpw", "example.com", 1,
			AUTH_ALG_MD5, NULL),
		  AUTH_OK);
	r = rpc("subscriber.rm", &code, "alice@example.com", NULL);
	CHECK(r != NULL);
	json_decref(r);
	CHECK(rpc("subscriber.rm", &code, "alice@example.com", NULL) == NULL);
	CHECK_INT(code, 404);
	CHECK_INT(check("alice", "alice", "newpw", "example.com", 1,
			AUTH_ALG_MD5, NULL),
		  AUTH_USER_UNKNOWN);
	r = rpc("subscriber.list", &code, NULL, NULL);
	CHECK_INT(json_array_size(r), 1);
	json_decref(r);
	teardown();
}

TEST(calculate_ha1_use_domain_and_avps)
{
	json_t *r;
	ksr_xval_t v;
	int code;
	tmsg_t t;

	setup("load_credentials", "$avp(pw)=password;ha1");
	set_param(&osp_mod_auth_db, "calculate_ha1", NULL, 1);
	set_param(&osp_mod_auth_db, "password_column", "password", 0);
	set_param(&osp_mod_auth_db, "use_domain", NULL, 1);
	r = rpc("subscriber.add", &code, "alice@example.com", "secret");
	json_decref(r);
	r = rpc("subscriber.add", &code, "alice@other.org", "another");
	json_decref(r);

	/* the password is hashed with the realm of the request */
	get_nonce("other.org");
	CHECK_INT(check("alice", "alice", "another", "other.org", 1,
			AUTH_ALG_MD5, &t),
		  AUTH_OK);
	/* load_credentials put the row's columns in AVPs */
	CHECK_INT(pv_avp_get(&t.msg, STR_LIT("pw"), 0, &v), 0);
	CHECK_STRV(v.s, "another");
	CHECK_INT(pv_avp_get(&t.msg, STR_LIT("ha1"), 0, &v), 0);
	CHECK_INT(v.s.len, 32);
	tmsg_free(&t);
	CHECK_INT(check("alice", "alice", "secret", "other.org", 1,
			AUTH_ALG_MD5, NULL),
		  AUTH_INVALID_PASSWORD);
	get_nonce("example.com");
	CHECK_INT(check("alice", "alice", "secret", "example.com", 1,
			AUTH_ALG_MD5, NULL),
		  AUTH_OK);
	get_nonce("nowhere.net");
	CHECK_INT(check("alice", "alice", "secret", "nowhere.net", 1,
			AUTH_ALG_MD5, NULL),
		  AUTH_USER_UNKNOWN);
	teardown();
}

TEST(sha256_subscribers)
{
	json_t *r;
	int code;

	set_param(&osp_mod_auth, "algorithm", "SHA-256", 0);
	setup(NULL, NULL);
	r = rpc("subscriber.add", &code, "alice@example.com", "secret");
	json_decref(r);
	get_nonce("example.com");
	CHECK_HAS(sent.extra, "algorithm=SHA-256");
	CHECK_INT(check("alice", "alice", "secret", "example.com", 1,
			AUTH_ALG_SHA256, NULL),
		  AUTH_OK);
	CHECK_INT(check("alice", "alice", "secret", "example.com", 1,
			AUTH_ALG_MD5, NULL),
		  AUTH_ERROR);
	teardown();
}

TEST(schema_version_checked)
{
	char url[300];
	sqlite3 *h;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(dbpath, sizeof(dbpath), "%s/osprey.db", dir);
	CHECK_INT(sqlite3_open(dbpath, &h), SQLITE_OK);
	CHECK_INT(sqlite3_exec(h,
			       "CREATE TABLE version (table_name TEXT PRIMARY "
			       "KEY, table_version INTEGER NOT NULL);"
			       "INSERT INTO version VALUES ('subscriber', 6);",
			       NULL, NULL, NULL),
		  SQLITE_OK);
	sqlite3_close(h);
	snprintf(url, sizeof(url), "sqlite://%s", dbpath);
	set_param(&osp_mod_auth_db, "db_url", url, 0);
	/* a version-6 table is refused at start */
	CHECK_INT(osp_mod_auth_db.init(), -1);
	snprintf(url, sizeof(url), "rm -rf %s", dir);
	CHECK_INT(system(url), 0);
}

TEST_LIST(TEST_ENTRY(subscriber_rpc_and_auth_check_codes),
	  TEST_ENTRY(calculate_ha1_use_domain_and_avps),
	  TEST_ENTRY(sha256_subscribers), TEST_ENTRY(schema_version_checked), )
