/* subscriber.c - SQLite access for auth_db (see auth_db.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "db/db.h"
#include "modules/auth_db/auth_db.h"

#define STMT_CACHE 16
#define TABLES_MAX 16

static osp_db_t *db;
static adb_columns_t cols;
static struct {
	char *sql;
	sqlite3_stmt *st;
} stmts[STMT_CACHE];
static int stmt_next;		 /* slot replaced when the cache is full */
static char *tables[TABLES_MAX]; /* tables known to exist */
static pthread_mutex_t tables_lock = PTHREAD_MUTEX_INITIALIZER;

int adb_ident_ok(str_t s)
{
	if (!s.len || s.len >= 64)
		return 0;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '_' || (i && c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

/* A prepared statement for sql, from the cache. Call with the lock held.
 * The statement is reset and unbound. */
static sqlite3_stmt *stmt_get(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int i;

	for (i = 0; i < STMT_CACHE; i++) {
		if (stmts[i].sql && strcmp(stmts[i].sql, sql) == 0) {
			sqlite3_reset(stmts[i].st);
			sqlite3_clear_bindings(stmts[i].st);
			return stmts[i].st;
		}
	}
	if (sqlite3_prepare_v3(h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
			       NULL) != SQLITE_OK) {
		LOG_RATE(L_ERR, "auth_db: %s: %s", sql, sqlite3_errmsg(h));
		return NULL;
	}
	for (i = 0; i < STMT_CACHE && stmts[i].sql; i++)
		;
	if (i == STMT_CACHE) {
		i = stmt_next;
		stmt_next = (stmt_next + 1) % STMT_CACHE;
		sqlite3_finalize(stmts[i].st);
		free(stmts[i].sql);
		stmts[i].sql = NULL;
	}
	stmts[i].sql = strdup(sql);
	if (!stmts[i].sql) {
		sqlite3_finalize(st);
		return NULL;
	}
	stmts[i].st = st;
	return st;
}

/* Create the table when missing (Kamailio's layout, version 7). Call
 * without the lock. 0 or -1 with err. */
static int ensure_table(const char *table, char *err, size_t errlen)
{
	char sql[1024];
	int i, rc = 0;

	pthread_mutex_lock(&tables_lock);
	for (i = 0; i < TABLES_MAX && tables[i]; i++)
		if (strcmp(tables[i], table) == 0)
			goto out;
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE %s (id INTEGER PRIMARY KEY AUTOINCREMENT, "
		 "%s TEXT NOT NULL DEFAULT '', %s TEXT NOT NULL DEFAULT '', "
		 "password TEXT NOT NULL DEFAULT '', ha1 TEXT NOT NULL DEFAULT "
		 "'', ha1b TEXT NOT NULL DEFAULT '', CONSTRAINT "
		 "%s_account_idx UNIQUE (%s, %s)); CREATE INDEX "
		 "%s_username_idx ON %s (%s);",
		 table, cols.user, cols.domain, table, cols.user, cols.domain,
		 table, table, cols.user);
	rc =
	    osp_db_ensure_table(db, table, ADB_TABLE_VERSION, sql, err, errlen);
	if (rc == 0 && i < TABLES_MAX)
		tables[i] = strdup(table);
out:
	pthread_mutex_unlock(&tables_lock);
	return rc < 0 ? -1 : 0;
}

int adb_open(const char *url, const adb_columns_t *c, const char *table,
	     char *err, size_t errlen)
{
	if (!adb_ident_ok(str_from(c->user)) ||
	    !adb_ident_ok(str_from(c->domain))) {
		snprintf(err, errlen, "invalid column name");
		return -1;
	}
	for (int i = 0; i < c->n_extra; i++) {
		if (!adb_ident_ok(str_from(c->extra[i]))) {
			snprintf(err, errlen, "invalid column name '%s'",
				 c->extra[i]);
			return -1;
		}
	}
	cols = *c;
	db = osp_db_open(url, err, errlen);
	if (!db)
		return -1;
	if (ensure_table(table, err, errlen) < 0) {
		adb_close();
		return -1;
	}
	return 0;
}

void adb_close(void)
{
	if (db) {
		osp_db_lock(db);
		for (int i = 0; i < STMT_CACHE; i++) {
			if (stmts[i].sql) {
				sqlite3_finalize(stmts[i].st);
				free(stmts[i].sql);
				stmts[i].sql = NULL;
			}
		}
		osp_db_unlock(db);
		osp_db_close(db);
		db = NULL;
	}
	pthread_mutex_lock(&tables_lock);
	for (int i = 0; i < TABLES_MAX; i++) {
		free(tables[i]);
		tables[i] = NULL;
	}
	pthread_mutex_unlock(&tables_lock);
}

/* Table name as a C string after checking it; 0 or -1. */
static int table_name(str_t table, char *buf, size_t cap, char *err,
		      size_t errlen)
{
	if (!adb_ident_ok(table) || table.len >= cap) {
		snprintf(err, errlen, "invalid table name '%.*s'",
			 STR_FMT(table));
		return -1;
	}
	str_to_buf(table, buf, cap);
	if (!db) {
		snprintf(err, errlen, "no database");
		return -1;
	}
	return ensure_table(buf, err, errlen);
}

static void bind_str(sqlite3_stmt *st, int i, str_t s)
{
	sqlite3_bind_text(st, i, s.s ? s.s : "", (int)s.len, SQLITE_TRANSIENT);
}

static char *col_dup(arena_t *a, sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	if (!t)
		return NULL;
	return arena_strndup(a, (const char *)t,
			     (size_t)sqlite3_column_bytes(st, i));
}

int adb_fetch(str_t table, str_t user, str_t domain, const char *col,
	      arena_t *a, char **out, char **extra)
{
	char tn[64], err[256], sql[1024];
	size_t n;
	sqlite3_stmt *st;
	sqlite3 *h;
	int rc = -1, step;

	*out = NULL;
	if (table_name(table, tn, sizeof(tn), err, sizeof(err)) < 0 ||
	    !adb_ident_ok(str_from(col))) {
		LOG_RATE(L_ERR, "auth_db: %s", err);
		return -1;
	}
	n = (size_t)snprintf(sql, sizeof(sql), "SELECT %s", col);
	for (int i = 0; i < cols.n_extra && n < sizeof(sql); i++)
		n += (size_t)snprintf(sql + n, sizeof(sql) - n, ", %s",
				      cols.extra[i]);
	if (n < sizeof(sql))
		n += (size_t)snprintf(sql + n, sizeof(sql) - n,
				      " FROM %s WHERE %s = ?1%s%s%s LIMIT 1",
				      tn, cols.user, domain.s ? " AND " : "",
				      domain.s ? cols.domain : "",
				      domain.s ? " = ?2" : "");
	if (n >= sizeof(sql))
		return -1;
	h = osp_db_lock(db);
	st = stmt_get(h, sql);
	if (!st)
		goto out;
	bind_str(st, 1, user);
	if (domain.s)
		bind_str(st, 2, domain);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		rc = 1;
		goto out;
	}
	if (step != SQLITE_ROW) {
		LOG_RATE(L_ERR, "auth_db: query on %s: %s", tn,
			 sqlite3_errmsg(h));
		goto out;
	}
	*out = col_dup(a, st, 0);
	if (!*out)
		*out = arena_strndup(a, "", 0);
	if (!*out)
		goto out;
	for (int i = 0; extra && i < cols.n_extra; i++)
		extra[i] = col_dup(a, st, i + 1);
	rc = 0;
out:
	if (st)
		sqlite3_reset(st);
	osp_db_unlock(db);
	return rc;
}

/* Run one INSERT/UPDATE/DELETE with the bound values. Returns the number
 * of changed rows, -2 on a constraint violation, -1 on other errors. */
static int run_change(const char *sql, const str_t *vals, int n, char *err,
		      size_t errlen)
{
	sqlite3_stmt *st;
	sqlite3 *h = osp_db_lock(db);
	int rc = -1, step;

	st = stmt_get(h, sql);
	if (!st) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(h));
		goto out;
	}
	for (int i = 0; i < n; i++)
		bind_str(st, i + 1, vals[i]);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE)
		rc = sqlite3_changes(h);
	else if ((step & 0xff) == SQLITE_CONSTRAINT)
		rc = -2;
	else
		snprintf(err, errlen, "%s", sqlite3_errmsg(h));
	sqlite3_reset(st);
out:
	osp_db_unlock(db);
	return rc;
}

int adb_add(str_t table, str_t user, str_t domain, str_t password,
	    const char *ha1, const char *ha1b, char *err, size_t errlen)
{
	char tn[64], sql[512];
	str_t v[5] = {user, domain, password, str_from(ha1), str_from(ha1b)};
	int rc;

	if (table_name(table, tn, sizeof(tn), err, errlen) < 0)
		return -1;
	snprintf(sql, sizeof(sql),
		 "INSERT INTO %s (%s, %s, password, ha1, ha1b) VALUES (?1, ?2, "
		 "?3, ?4, ?5)",
		 tn, cols.user, cols.domain);
	rc = run_change(sql, v, 5, err, errlen);
	if (rc == -2)
		return 1;
	return rc < 0 ? -1 : 0;
}

int adb_passwd(str_t table, str_t user, str_t domain, str_t password,
	       const char *ha1, const char *ha1b, char *err, size_t errlen)
{
	char tn[64], sql[512];
	str_t v[5] = {password, str_from(ha1), str_from(ha1b), user, domain};
	int rc;

	if (table_name(table, tn, sizeof(tn), err, errlen) < 0)
		return -1;
	snprintf(sql, sizeof(sql),
		 "UPDATE %s SET password = ?1, ha1 = ?2, ha1b = ?3 WHERE %s = "
		 "?4 AND %s = ?5",
		 tn, cols.user, cols.domain);
	rc = run_change(sql, v, 5, err, errlen);
	if (rc < 0) {
		if (rc == -2)
			snprintf(err, errlen, "constraint violated");
		return -1;
	}
	return rc == 0 ? 1 : 0;
}

int adb_rm(str_t table, str_t user, str_t domain, char *err, size_t errlen)
{
	char tn[64], sql[512];
	str_t v[2] = {user, domain};
	int rc;

	if (table_name(table, tn, sizeof(tn), err, errlen) < 0)
		return -1;
	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE %s = ?1 AND %s = ?2",
		 tn, cols.user, cols.domain);
	rc = run_change(sql, v, 2, err, errlen);
	if (rc < 0)
		return -1;
	return rc == 0 ? 1 : 0;
}

int adb_list(str_t table,
	     void (*fn)(const char *user, const char *domain, void *arg),
	     void *arg, char *err, size_t errlen)
{
	char tn[64], sql[512];
	sqlite3_stmt *st;
	sqlite3 *h;
	int n = 0, step;

	if (table_name(table, tn, sizeof(tn), err, errlen) < 0)
		return -1;
	snprintf(sql, sizeof(sql), "SELECT %s, %s FROM %s ORDER BY %s, %s",
		 cols.user, cols.domain, tn, cols.domain, cols.user);
	h = osp_db_lock(db);
	st = stmt_get(h, sql);
	if (!st) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(h));
		n = -1;
		goto out;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *u = sqlite3_column_text(st, 0);
		const unsigned char *d = sqlite3_column_text(st, 1);

		fn(u ? (const char *)u : "", d ? (const char *)d : "", arg);
		n++;
	}
	if (step != SQLITE_DONE) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(h));
		n = -1;
	}
	sqlite3_reset(st);
out:
	osp_db_unlock(db);
	return n;
}
