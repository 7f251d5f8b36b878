/* auth_db.c - KSR.auth_db: digest authentication against the subscriber
 * table (Kamailio 5.6's auth_db module: auth_db_mod.c, authorize.c), and
 * the subscriber.* control commands that manage that table on a running
 * server (ospreyctl subscriber add/rm/passwd/list).
 *
 * The verification itself is the auth module's (auth_verify); this module
 * only finds the HA1 or the password of a user. Subscribers live in SQLite
 * (db_url, by default the server's own database). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "db/db.h"
#include "modules/auth/auth.h"
#include "modules/auth_db/auth_db.h"
#include "modules/pv/pv.h"

#define DEFAULT_TABLE "subscriber"

static char *p_db_url;
static char *p_user_column;
static char *p_domain_column;
static char *p_password_column;
static char *p_password_column_2;
static int p_calc_ha1;
static int p_use_domain;
static char *p_load_credentials;
static int p_version_table = 1;
static int p_force_avps;

/* load_credentials: AVP names for the extra columns */
static char *avp_names[ADB_MAX_EXTRA];
static adb_columns_t columns;

static const char *pw_col(void)
{
	return p_password_column && *p_password_column ? p_password_column
						       : "ha1";
}

static const char *pw_col2(void)
{
	return p_password_column_2 && *p_password_column_2 ? p_password_column_2
							   : "ha1b";
}

/* ---- authentication ---- */

typedef struct db_arg {
	str_t table;
	str_t realm;
	char *extra[ADB_MAX_EXTRA];
	int found;
} db_arg_t;

/* auth_ha1_fn: the user's row. With calculate_ha1 the password column
 * holds the password; otherwise the HA1, from password_column_2 when the
 * username carries a domain (user@domain, Kamailio's ha1b). */
static int db_ha1(ksr_ctx_t *ctx, const auth_cred_t *c, void *arg, char *ha1,
		  size_t cap, int *is_password)
{
	db_arg_t *a = arg;
	const char *col =
	    p_calc_ha1 ? pw_col() : (c->domain.len ? pw_col2() : pw_col());
	str_t dom = STR_NULL;
	char *val = NULL;
	size_t n;
	int rc;

	if (p_use_domain)
		dom = c->domain.len ? c->domain : a->realm;
	rc = adb_fetch(a->table, c->user, dom, col, ctx->msg->arena, &val,
		       a->extra);
	if (rc != 0)
		return rc;
	a->found = 1;
	n = strlen(val);
	if (n >= cap)
		return -1;
	memcpy(ha1, val, n + 1);
	*is_password = p_calc_ha1 != 0;
	return 0;
}

/* load_credentials: the extra columns of the user's row into AVPs. */
static void load_avps(sip_msg_t *msg, db_arg_t *a)
{
	for (int i = 0; i < columns.n_extra; i++) {
		ksr_xval_t v = {.type = KSR_STR};

		if (!a->extra[i])
			continue;
		v.s = str_from(a->extra[i]);
		if (pv_avp_add(msg, str_from(avp_names[i]), &v) < 0)
			LOG_RATE(L_ERR, "auth_db: cannot set $avp(%s)",
				 avp_names[i]);
	}
}

/* Kamailio's digest_authenticate_hdr(): realm and table may hold
 * pseudo-variables. */
static int db_authenticate(ksr_ctx_t *ctx, str_t realm_in, str_t table_in,
			   sip_hdr_type_t hftype, str_t method,
			   auth_cred_t *cred)
{
	char rbuf[256], tbuf[64];
	db_arg_t a;
	int rc;

	memset(&a, 0, sizeof(a));
	memset(cred, 0, sizeof(*cred));
	if (!ctx->msg)
		return AUTH_ERROR;
	if (auth_eval_str(ctx, realm_in, rbuf, sizeof(rbuf), &a.realm) < 0 ||
	    auth_eval_str(ctx, table_in, tbuf, sizeof(tbuf), &a.table) < 0 ||
	    !a.realm.len || !a.table.len) {
		LOG_RATE(L_ERR, "auth_db: empty realm or table");
		return AUTH_ERROR;
	}
	a.realm = auth_strip_realm(a.realm);
	rc = auth_verify(ctx, a.realm, hftype, method, db_ha1, &a, cred);
	if (a.found && (rc == AUTH_OK || p_force_avps))
		load_avps(ctx->msg, &a);
	return rc;
}

static int ki_auth_check(ksr_ctx_t *ctx, const ksr_arg_t *args, ksr_xval_t *ret)
{
	sip_msg_t *msg = ctx->msg;
	auth_cred_t c;
	int rc;

	if (!msg)
		return AUTH_ERROR;
	if (msg->method_id & (SIP_METHOD_ACK | SIP_METHOD_CANCEL))
		return AUTH_OK;
	rc = db_authenticate(ctx, args[0].s, args[1].s,
			     msg->method_id == SIP_METHOD_REGISTER
				 ? SIP_HDR_AUTHORIZATION
				 : SIP_HDR_PROXYAUTHZ,
			     STR_NULL, &c);
	if (rc != AUTH_OK)
		return rc;
	return auth_check_identity(msg, &c, (int)args[2].n, p_use_domain);
}

static int ki_www_authenticate(ksr_ctx_t *ctx, const ksr_arg_t *args,
			       ksr_xval_t *ret)
{
	auth_cred_t c;

	return db_authenticate(ctx, args[0].s, args[1].s, SIP_HDR_AUTHORIZATION,
			       STR_NULL, &c);
}

static int ki_www_authenticate_method(ksr_ctx_t *ctx, const ksr_arg_t *args,
				      ksr_xval_t *ret)
{
	auth_cred_t c;

	if (!args[2].s.len)
		return AUTH_ERROR;
	return db_authenticate(ctx, args[0].s, args[1].s, SIP_HDR_AUTHORIZATION,
			       args[2].s, &c);
}

static int ki_proxy_authenticate(ksr_ctx_t *ctx, const ksr_arg_t *args,
				 ksr_xval_t *ret)
{
	auth_cred_t c;

	return db_authenticate(ctx, args[0].s, args[1].s, SIP_HDR_PROXYAUTHZ,
			       STR_NULL, &c);
}

/* is_subscriber(uri, table, flags): 1 the user of uri (and its host with
 * flag 1) has a row; -2 it has none; -1 error. Flag 2 skips loading the
 * load_credentials columns. */
static int ki_is_subscriber(ksr_ctx_t *ctx, const ksr_arg_t *args,
			    ksr_xval_t *ret)
{
	char ubuf[512], tbuf[64];
	char *val, *extra[ADB_MAX_EXTRA];
	sip_uri_t uri;
	str_t us, table;
	long flags = args[2].n;
	int rc;

	if (!ctx->msg ||
	    auth_eval_str(ctx, args[0].s, ubuf, sizeof(ubuf), &us) < 0 ||
	    auth_eval_str(ctx, args[1].s, tbuf, sizeof(tbuf), &table) < 0 ||
	    !us.len || !table.len)
		return -1;
	if (sip_uri_parse(ctx->msg->arena, us, &uri) < 0) {
		LOG_RATE(L_ERR, "auth_db: is_subscriber: invalid URI '%.*s'",
			 STR_FMT(us));
		return -1;
	}
	memset(extra, 0, sizeof(extra));
	rc = adb_fetch(table, uri.user, (flags & 1) ? uri.host : STR_NULL,
		       p_user_column && *p_user_column ? p_user_column
						       : "username",
		       ctx->msg->arena, &val, (flags & 2) ? NULL : extra);
	if (rc < 0)
		return -1;
	if (rc > 0)
		return -2;
	if (!(flags & 2)) {
		db_arg_t a;

		memset(&a, 0, sizeof(a));
		memcpy(a.extra, extra, sizeof(extra));
		load_avps(ctx->msg, &a);
	}
	return 1;
}

/* ---- control commands ---- */

typedef struct account {
	char user[128];
	char domain[128];
} account_t;

/* "user@domain" or "sip:user@domain". 0, or -1 with err filled. */
static int parse_account(const char *s, account_t *acc, rpc_error_t *err)
{
	const char *at;

	if (strncasecmp(s, "sip:", 4) == 0)
		s += 4;
	at = strrchr(s, '@');
	if (!at || at == s || !at[1] || (size_t)(at - s) >= sizeof(acc->user) ||
	    strlen(at + 1) >= sizeof(acc->domain) ||
	    strpbrk(s, " \t\r\n:;<>\"")) {
		rpc_fail(err, 400, "expected USER@DOMAIN, got '%s'", s);
		return -1;
	}
	memcpy(acc->user, s, (size_t)(at - s));
	acc->user[at - s] = '\0';
	strcpy(acc->domain, at + 1);
	return 0;
}

/* Optional table parameter at index i (default "subscriber"). */
static const char *param_table(json_t *params, size_t i, rpc_error_t *err)
{
	if (!json_is_array(params) || json_array_size(params) <= i)
		return DEFAULT_TABLE;
	return rpc_param_str(params, i, err);
}

/* ha1 = H(user:domain:password), ha1b = H(user@domain:domain:password),
 * as kamctl stores them (the realm is the domain), with the auth module's
 * first algorithm. */
static int make_hashes(const account_t *acc, const char *pw, char *ha1,
		       char *ha1b)
{
	char whole[300];
	auth_alg_t alg = auth_default_alg();

	snprintf(whole, sizeof(whole), "%s@%s", acc->user, acc->domain);
	if (auth_calc_ha1(alg, str_from(acc->user), str_from(acc->domain),
			  str_from(pw), ha1) < 0 ||
	    auth_calc_ha1(alg, str_from(whole), str_from(acc->domain),
			  str_from(pw), ha1b) < 0)
		return -1;
	return 0;
}

static json_t *account_json(const char *user, const char *domain)
{
	return json_pack("{s:s, s:s}", "username", user, "domain", domain);
}

/* subscriber.add USER@DOMAIN PASSWORD [TABLE] */
static json_t *rpc_add(json_t *params, rpc_error_t *err)
{
	char ha1[AUTH_HEX_MAX], ha1b[AUTH_HEX_MAX], e[256];
	const char *who = rpc_param_str(params, 0, err), *pw, *table;
	account_t acc;
	int rc;

	if (!who || !(pw = rpc_param_str(params, 1, err)) ||
	    !(table = param_table(params, 2, err)))
		return NULL;
	if (parse_account(who, &acc, err) < 0)
		return NULL;
	if (!*pw)
		return rpc_fail(err, 400, "empty password");
	if (make_hashes(&acc, pw, ha1, ha1b) < 0)
		return rpc_fail(err, 500, "cannot hash the password");
	rc = adb_add(str_from(table), str_from(acc.user), str_from(acc.domain),
		     str_from(pw), ha1, ha1b, e, sizeof(e));
	if (rc > 0)
		return rpc_fail(err, 409, "subscriber %s@%s exists already",
				acc.user, acc.domain);
	if (rc < 0)
		return rpc_fail(err, 500, "%s", e);
	LOG_INFO("auth_db: subscriber %s@%s added to %s", acc.user, acc.domain,
		 table);
	return account_json(acc.user, acc.domain);
}

/* subscriber.passwd USER@DOMAIN PASSWORD [TABLE] */
static json_t *rpc_passwd(json_t *params, rpc_error_t *err)
{
	char ha1[AUTH_HEX_MAX], ha1b[AUTH_HEX_MAX], e[256];
	const char *who = rpc_param_str(params, 0, err), *pw, *table;
	account_t acc;
	int rc;

	if (!who || !(pw = rpc_param_str(params, 1, err)) ||
	    !(table = param_table(params, 2, err)))
		return NULL;
	if (parse_account(who, &acc, err) < 0)
		return NULL;
	if (!*pw)
		return rpc_fail(err, 400, "empty password");
	if (make_hashes(&acc, pw, ha1, ha1b) < 0)
		return rpc_fail(err, 500, "cannot hash the password");
	rc = adb_passwd(str_from(table), str_from(acc.user),
			str_from(acc.domain), str_from(pw), ha1, ha1b, e,
			sizeof(e));
	if (rc > 0)
		return rpc_fail(err, 404, "no subscriber %s@%s", acc.user,
				acc.domain);
	if (rc < 0)
		return rpc_fail(err, 500, "%s", e);
	return account_json(acc.user, acc.domain);
}

/* subscriber.rm USER@DOMAIN [TABLE] */
static json_t *rpc_rm(json_t *params, rpc_error_t *err)
{
	const char *who = rpc_param_str(params, 0, err), *table;
	account_t acc;
	char e[256];
	int rc;

	if (!who || !(table = param_table(params, 1, err)))
		return NULL;
	if (parse_account(who, &acc, err) < 0)
		return NULL;
	rc = adb_rm(str_from(table), str_from(acc.user), str_from(acc.domain),
		    e, sizeof(e));
	if (rc > 0)
		return rpc_fail(err, 404, "no subscriber %s@%s", acc.user,
				acc.domain);
	if (rc < 0)
		return rpc_fail(err, 500, "%s", e);
	LOG_INFO("auth_db: subscriber %s@%s removed from %s", acc.user,
		 acc.domain, table);
	return account_json(acc.user, acc.domain);
}

static void list_one(const char *user, const char *domain, void *arg)
{
	json_t *a = arg, *o = account_json(user, domain);

	if (o)
		json_array_append_new(a, o);
}

/* subscriber.list [TABLE]: [{"username", "domain"}, ...] */
static json_t *rpc_list(json_t *params, rpc_error_t *err)
{
	const char *table = param_table(params, 0, err);
	json_t *a;
	char e[256];

	if (!table)
		return NULL;
	a = json_array();
	if (!a)
		return rpc_fail(err, 500, "out of memory");
	if (adb_list(str_from(table), list_one, a, e, sizeof(e)) < 0) {
		json_decref(a);
		return rpc_fail(err, 500, "%s", e);
	}
	return a;
}

/* ---- module ---- */

/* load_credentials: "col;col2;$avp(name)=col3". 0 or -1 (logged). */
static int parse_load_credentials(const char *def)
{
	char *copy, *p, *tok, *save = NULL;
	int rc = 0;

	if (!def || !*def)
		return 0;
	copy = strdup(def);
	if (!copy)
		return -1;
	for (p = copy; (tok = strtok_r(p, ";", &save)); p = NULL) {
		char *eq = strrchr(tok, '='), *col, *name;
		str_t n;

		if (columns.n_extra == ADB_MAX_EXTRA) {
			LOG_ERR("auth_db: at most %d load_credentials",
				ADB_MAX_EXTRA);
			rc = -1;
			break;
		}
		col = eq ? eq + 1 : tok;
		n = str_trim(str_from(col));
		name = NULL;
		if (eq) {
			str_t pv = str_trim((str_t){tok, (size_t)(eq - tok)});

			if (pv.len > 6 && strncmp(pv.s, "$avp(", 5) == 0 &&
			    pv.s[pv.len - 1] == ')')
				name = strndup(pv.s + 5, pv.len - 6);
			else {
				LOG_ERR("auth_db: load_credentials: only "
					"$avp(name)=column is supported, got "
					"'%.*s'",
					STR_FMT(pv));
				rc = -1;
				break;
			}
		}
		if (!adb_ident_ok(n)) {
			LOG_ERR("auth_db: load_credentials: bad column '%s'",
				col);
			free(name);
			rc = -1;
			break;
		}
		columns.extra[columns.n_extra] = strndup(n.s, n.len);
		avp_names[columns.n_extra] = name ? name : strndup(n.s, n.len);
		if (!columns.extra[columns.n_extra] ||
		    !avp_names[columns.n_extra]) {
			rc = -1;
			break;
		}
		columns.n_extra++;
	}
	free(copy);
	return rc;
}

static int auth_db_init(void)
{
	char err[512];
	const char *url =
	    p_db_url && *p_db_url ? p_db_url : osp_db_default_url();

	columns.user =
	    p_user_column && *p_user_column ? p_user_column : "username";
	columns.domain =
	    p_domain_column && *p_domain_column ? p_domain_column : "domain";
	if (!adb_ident_ok(str_from(pw_col())) ||
	    !adb_ident_ok(str_from(pw_col2()))) {
		LOG_ERR("auth_db: invalid password column name");
		return -1;
	}
	if (parse_load_credentials(p_load_credentials) < 0)
		return -1;
	/* the auth module's defaults, unless its init ran already; when it
	 * runs later, its modparams replace these */
	if (auth_nonce_init(NULL, NULL, 1u << 17) < 0)
		return -1;
	if (adb_open(url, &columns, DEFAULT_TABLE, err, sizeof(err)) < 0) {
		LOG_ERR("auth_db: %s", err);
		return -1;
	}
	LOG_INFO("auth_db: subscribers in %s", url);
	return 0;
}

static void auth_db_destroy(void)
{
	adb_close();
	for (int i = 0; i < columns.n_extra; i++) {
		free((char *)columns.extra[i]);
		free(avp_names[i]);
		columns.extra[i] = NULL;
		avp_names[i] = NULL;
	}
	columns.n_extra = 0;
}

static const ksr_export_t auth_db_exports[] = {
    {"auth_db",
     "auth_check",
     KSR_INT,
     ki_auth_check,
     {KSR_STR, KSR_STR, KSR_INT}},
    {"auth_db",
     "www_authenticate",
     KSR_INT,
     ki_www_authenticate,
     {KSR_STR, KSR_STR}},
    {"auth_db",
     "www_authenticate_method",
     KSR_INT,
     ki_www_authenticate_method,
     {KSR_STR, KSR_STR, KSR_STR}},
    {"auth_db",
     "proxy_authenticate",
     KSR_INT,
     ki_proxy_authenticate,
     {KSR_STR, KSR_STR}},
    {"auth_db",
     "is_subscriber",
     KSR_INT,
     ki_is_subscriber,
     {KSR_STR, KSR_STR, KSR_INT}},
    {0},
};

static const osp_param_t auth_db_params[] = {
    {"db_url", MP_STR, &p_db_url, NULL},
    {"user_column", MP_STR, &p_user_column, NULL},
    {"domain_column", MP_STR, &p_domain_column, NULL},
    {"password_column", MP_STR, &p_password_column, NULL},
    {"password_column_2", MP_STR, &p_password_column_2, NULL},
    {"calculate_ha1", MP_INT, &p_calc_ha1, NULL},
    {"use_domain", MP_INT, &p_use_domain, NULL},
    {"load_credentials", MP_STR, &p_load_credentials, NULL},
    {"version_table", MP_INT, &p_version_table, NULL},
    {"force_generate_avps", MP_INT, &p_force_avps, NULL},
    {0},
};

static const rpc_export_t auth_db_rpc[] = {
    {"subscriber.add", rpc_add,
     "Add a subscriber: USER@DOMAIN PASSWORD [TABLE]"},
    {"subscriber.passwd", rpc_passwd,
     "Change a subscriber's password: USER@DOMAIN PASSWORD [TABLE]"},
    {"subscriber.rm", rpc_rm, "Remove a subscriber: USER@DOMAIN [TABLE]"},
    {"subscriber.list", rpc_list, "List the subscribers: [TABLE]"},
    {0},
};

osp_module_t osp_mod_auth_db = {
    .name = "auth_db",
    .exports = auth_db_exports,
    .params = auth_db_params,
    .rpc = auth_db_rpc,
    .init = auth_db_init,
    .destroy = auth_db_destroy,
};
