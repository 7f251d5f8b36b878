/* acc_db.c - accounting records in SQLite: Kamailio's acc and missed_calls
 * tables (same columns, same `version` entries), plus one column per
 * db_extra value.
 *
 * Kamailio's example configuration asks its user to ALTER the tables for
 * the extra columns by hand; here a missing extra column is added at start
 * (TEXT, default ''), with a log line, so a fresh database works at once.
 *
 * Records are built on the SIP path but written later: acc_db_queue copies
 * the row into a queue and posts one job to the current worker, which
 * writes everything queued between two messages, in one SQLite
 * transaction. No SIP processing waits on the disk, and no transaction
 * lock is held while writing. At shutdown, destroy writes what is left. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/log.h"
#include "core/osp.h"
#include "core/worker.h"
#include "db/db.h"
#include "modules/acc/acc_int.h"

/* Kamailio 5.6's table versions (utils/kamctl/sqlite/acc-create.sql) */
#define ACC_TABLE_VERSION 5
#define MC_TABLE_VERSION  4
#define ACC_FIXED	  7
#define ACC_COLS	  (ACC_FIXED + ACC_EXTRA_MAX)
#define ACC_TABLES_MAX	  32

typedef struct acc_row {
	struct acc_row *next;
	char table[64];
	int n;
	char *vals[ACC_COLS]; /* heap, NUL-terminated */
} acc_row_t;

static osp_db_t *db;
static acc_db_cols_t cols;
static const acc_extras_t *extras; /* owned by acc.c, lives as long */

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static acc_row_t *q_head, **q_tail = &q_head;
static int job_pending;

/* tables known to exist (created or checked), under q_lock */
static char known[ACC_TABLES_MAX][64];
static int n_known;

int acc_db_ready(void)
{
	return db != NULL;
}

/* The column names of a table, in order: the fixed ones then the extras. */
static const char *col_name(int i)
{
	const char *fixed[ACC_FIXED] = {
	    cols.method,   cols.from_tag,   cols.to_tag, cols.callid,
	    cols.sip_code, cols.sip_reason, cols.time};

	return i < ACC_FIXED ? fixed[i] : extras->names[i - ACC_FIXED];
}

static int n_cols(void)
{
	return ACC_FIXED + (extras ? extras->n : 0);
}

/* Does `table` have column `col`? 1, 0, or -1 on error. db locked. */
static int has_column(sqlite3 *h, const char *table, const char *col)
{
	char sql[128];
	sqlite3_stmt *st = NULL;
	int rc, found = 0;

	snprintf(sql, sizeof(sql), "PRAGMA table_info(\"%s\")", table);
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *name = sqlite3_column_text(st, 1);

		if (name && !strcasecmp((const char *)name, col)) {
			found = 1;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

/* Create `table` when missing and add the extra columns it lacks. */
static int ensure_table(const char *table, int version, char *err,
			size_t errlen)
{
	char sql[1024];
	sqlite3 *h;
	int rc = 0;

	snprintf(sql, sizeof(sql),
		 "CREATE TABLE \"%s\" (id INTEGER PRIMARY KEY NOT NULL, "
		 "\"%s\" VARCHAR(16) DEFAULT '' NOT NULL, "
		 "\"%s\" VARCHAR(128) DEFAULT '' NOT NULL, "
		 "\"%s\" VARCHAR(128) DEFAULT '' NOT NULL, "
		 "\"%s\" VARCHAR(255) DEFAULT '' NOT NULL, "
		 "\"%s\" VARCHAR(3) DEFAULT '' NOT NULL, "
		 "\"%s\" VARCHAR(128) DEFAULT '' NOT NULL, "
		 "\"%s\" TIMESTAMP NOT NULL); "
		 "CREATE INDEX \"%s_callid_idx\" ON \"%s\" (\"%s\");",
		 table, cols.method, cols.from_tag, cols.to_tag, cols.callid,
		 cols.sip_code, cols.sip_reason, cols.time, table, table,
		 cols.callid);
	if (osp_db_ensure_table(db, table, version, sql, err, errlen) < 0)
		return -1;
	h = osp_db_lock(db);
	for (int i = ACC_FIXED; i < n_cols() && rc == 0; i++) {
		char *msg = NULL;
		int has = has_column(h, table, col_name(i));

		if (has < 0) {
			snprintf(err, errlen,
				 "cannot read the columns of %s: %s", table,
				 sqlite3_errmsg(h));
			rc = -1;
			break;
		}
		if (has)
			continue;
		snprintf(sql, sizeof(sql),
			 "ALTER TABLE \"%s\" ADD COLUMN \"%s\" TEXT "
			 "DEFAULT '' NOT NULL",
			 table, col_name(i));
		if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK) {
			snprintf(err, errlen, "cannot add column %s to %s: %s",
				 col_name(i), table, msg ? msg : "?");
			rc = -1;
		} else {
			LOG_INFO("acc: added column %s (db_extra) to table %s",
				 col_name(i), table);
		}
		sqlite3_free(msg);
	}
	osp_db_unlock(db);
	return rc;
}

int acc_db_open(const char *url, const char *acc_table, const char *mc_table,
		const acc_db_cols_t *c, const acc_extras_t *x, char *err,
		size_t errlen)
{
	if (strncmp(url, "sqlite://", 9) != 0) {
		snprintf(err, errlen,
			 "db_url \"%s\": Osprey writes accounting to SQLite "
			 "only; use \"sqlite:///path/to/file.db\" (and "
			 "loadmodule \"db_sqlite.so\")",
			 url);
		return -1;
	}
	cols = *c;
	extras = x;
	for (int i = 0; i < ACC_FIXED; i++)
		if (!acc_is_identifier(col_name(i))) {
			snprintf(err, errlen,
				 "column name \"%s\": letters, digits and _ "
				 "only",
				 col_name(i));
			return -1;
		}
	db = osp_db_open(url, err, errlen);
	if (!db)
		return -1;
	if (ensure_table(acc_table, ACC_TABLE_VERSION, err, errlen) < 0 ||
	    ensure_table(mc_table, MC_TABLE_VERSION, err, errlen) < 0) {
		osp_db_close(db);
		db = NULL;
		return -1;
	}
	snprintf(known[0], sizeof(known[0]), "%s", acc_table);
	snprintf(known[1], sizeof(known[1]), "%s", mc_table);
	n_known = 2;
	return 0;
}

int acc_db_ensure(const char *table)
{
	char err[256];
	int i;

	if (!db)
		return -1;
	pthread_mutex_lock(&q_lock);
	for (i = 0; i < n_known; i++)
		if (!strcmp(known[i], table))
			break;
	pthread_mutex_unlock(&q_lock);
	if (i < n_known)
		return 0;
	if (ensure_table(table, ACC_TABLE_VERSION, err, sizeof(err)) < 0) {
		LOG_RATE(L_ERR, "acc: table %s: %s", table, err);
		return -1;
	}
	pthread_mutex_lock(&q_lock);
	if (n_known < ACC_TABLES_MAX)
		snprintf(known[n_known++], sizeof(known[0]), "%s", table);
	pthread_mutex_unlock(&q_lock);
	return 0;
}

static void row_free(acc_row_t *r)
{
	for (int i = 0; i < r->n; i++)
		free(r->vals[i]);
	free(r);
}

static int write_row(sqlite3 *h, const acc_row_t *r)
{
	char sql[4096];
	size_t at;
	sqlite3_stmt *st = NULL;
	int rc;

	at = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO \"%s\" (",
			      r->table);
	for (int i = 0; i < r->n && at < sizeof(sql); i++)
		at += (size_t)snprintf(sql + at, sizeof(sql) - at, "%s\"%s\"",
				       i ? "," : "", col_name(i));
	for (int i = 0; i < r->n && at < sizeof(sql); i++)
		at += (size_t)snprintf(sql + at, sizeof(sql) - at, "%s",
				       i ? ",?" : ") VALUES (?");
	if (at < sizeof(sql))
		at += (size_t)snprintf(sql + at, sizeof(sql) - at, ")");
	if (at >= sizeof(sql))
		return -1;
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) {
		LOG_RATE(L_ERR, "acc: insert into %s: %s", r->table,
			 sqlite3_errmsg(h));
		return -1;
	}
	for (int i = 0; i < r->n; i++)
		sqlite3_bind_text(st, i + 1, r->vals[i], -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		LOG_RATE(L_ERR, "acc: insert into %s: %s", r->table,
			 sqlite3_errmsg(h));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

void acc_db_flush(void)
{
	acc_row_t *list, *next;
	sqlite3 *h;

	pthread_mutex_lock(&q_lock);
	list = q_head;
	q_head = NULL;
	q_tail = &q_head;
	job_pending = 0;
	pthread_mutex_unlock(&q_lock);
	if (!list)
		return;
	if (!db) {
		for (; list; list = next) {
			next = list->next;
			row_free(list);
		}
		return;
	}
	h = osp_db_lock(db);
	sqlite3_exec(h, "BEGIN", NULL, NULL, NULL);
	for (; list; list = next) {
		next = list->next;
		write_row(h, list);
		row_free(list);
	}
	sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
	osp_db_unlock(db);
}

static void flush_job(void *arg)
{
	(void)arg;
	acc_db_flush();
}

static char *dup_str(str_t s)
{
	return strndup(s.s ? s.s : "", s.len);
}

int acc_db_queue(const char *table, const acc_rec_t *rec)
{
	acc_row_t *r;
	char when[32];
	struct tm tmv;
	int post, rc = 0;

	if (!db)
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -1;
	snprintf(r->table, sizeof(r->table), "%s", table);
	localtime_r(&rec->ts, &tmv);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tmv);
	r->vals[0] = dup_str(rec->method);
	r->vals[1] = dup_str(rec->from_tag);
	r->vals[2] = dup_str(rec->to_tag);
	r->vals[3] = dup_str(rec->callid);
	r->vals[4] = dup_str(rec->code_s);
	r->vals[5] = dup_str(rec->reason);
	r->vals[6] = strdup(when);
	r->n = ACC_FIXED;
	for (int i = 0; i < rec->n_extra && r->n < n_cols(); i++)
		r->vals[r->n++] = dup_str(rec->extra[i]);
	/* a record without all its extras would shift the columns */
	while (r->n < n_cols())
		r->vals[r->n++] = strdup("");
	for (int i = 0; i < r->n; i++)
		if (!r->vals[i]) {
			row_free(r);
			return -1;
		}
	pthread_mutex_lock(&q_lock);
	*q_tail = r;
	q_tail = &r->next;
	post = !job_pending;
	job_pending = 1;
	pthread_mutex_unlock(&q_lock);
	if (post && worker_post(worker_current(), flush_job, NULL) < 0)
		acc_db_flush(); /* no worker to take it: write now */
	return rc;
}

void acc_db_close(void)
{
	acc_db_flush();
	if (db)
		osp_db_close(db);
	db = NULL;
	n_known = 0;
}
