/* db.c - SQLite handles shared by modules (see db.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "db/db.h"

struct osp_db {
	char *url;
	char *path;
	sqlite3 *h;
	pthread_mutex_t lock;
	int refcnt;
	struct osp_db *next;
};

static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static osp_db_t *dbs;

/* mkdir -p for the folder part of path. */
static int make_parent_dirs(const char *path)
{
	char buf[1024];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

static char *url_to_path(const char *url)
{
	const char *p;

	if (strncmp(url, "sqlite://", 9) != 0)
		return NULL;
	p = url + 9; /* "/abs/path" or "rel/path" */
	return *p ? strdup(p) : NULL;
}

osp_db_t *osp_db_open(const char *url, char *err, size_t errlen)
{
	osp_db_t *db;
	char *path = url_to_path(url);

	if (!path) {
		snprintf(err, errlen,
			 "unsupported db_url '%s' (expected sqlite:///path/file.db)",
			 url);
		return NULL;
	}
	pthread_mutex_lock(&list_lock);
	for (db = dbs; db; db = db->next) {
		if (strcmp(db->path, path) == 0) {
			db->refcnt++;
			pthread_mutex_unlock(&list_lock);
			free(path);
			return db;
		}
	}
	db = calloc(1, sizeof(*db));
	if (!db || !(db->url = strdup(url))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	db->path = path;
	path = NULL;
	if (make_parent_dirs(db->path) < 0) {
		snprintf(err, errlen, "cannot create the folder of %s: %s",
			 db->path, strerror(errno));
		goto fail;
	}
	if (sqlite3_open_v2(db->path, &db->h,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", db->path,
			 db->h ? sqlite3_errmsg(db->h) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(db->h, 2000);
	sqlite3_exec(db->h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
		     NULL, NULL, NULL);
	if (sqlite3_exec(db->h,
			 "CREATE TABLE IF NOT EXISTS version (table_name TEXT "
			 "PRIMARY KEY, table_version INTEGER NOT NULL)",
			 NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", db->path, sqlite3_errmsg(db->h));
		goto fail;
	}
	pthread_mutex_init(&db->lock, NULL);
	db->refcnt = 1;
	db->next = dbs;
	dbs = db;
	pthread_mutex_unlock(&list_lock);
	return db;
fail:
	pthread_mutex_unlock(&list_lock);
	free(path);
	if (db) {
		if (db->h)
			sqlite3_close(db->h);
		free(db->url);
		free(db->path);
		free(db);
	}
	return NULL;
}

void osp_db_close(osp_db_t *db)
{
	osp_db_t **pp;

	if (!db)
		return;
	pthread_mutex_lock(&list_lock);
	if (--db->refcnt > 0) {
		pthread_mutex_unlock(&list_lock);
		return;
	}
	for (pp = &dbs; *pp; pp = &(*pp)->next)
		if (*pp == db) {
			*pp = db->next;
			break;
		}
	pthread_mutex_unlock(&list_lock);
	sqlite3_close(db->h);
	pthread_mutex_destroy(&db->lock);
	free(db->url);
	free(db->path);
	free(db);
}

sqlite3 *osp_db_lock(osp_db_t *db)
{
	pthread_mutex_lock(&db->lock);
	return db->h;
}

void osp_db_unlock(osp_db_t *db)
{
	pthread_mutex_unlock(&db->lock);
}

int osp_db_exec(osp_db_t *db, const char *sql)
{
	char *msg = NULL;
	int rc;

	pthread_mutex_lock(&db->lock);
	rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);
	pthread_mutex_unlock(&db->lock);
	if (rc != SQLITE_OK) {
		LOG_ERR("sqlite %s: %s", db->path, msg ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int osp_db_ensure_table(osp_db_t *db, const char *table, int version,
			const char *create_sql, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, have = -1;

	pthread_mutex_lock(&db->lock);
	if (sqlite3_prepare_v2(db->h,
			       "SELECT table_version FROM version WHERE "
			       "table_name = ?",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		have = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (have >= 0 && have != version) {
		snprintf(err, errlen,
			 "%s: table '%s' has version %d, this Osprey needs %d",
			 db->path, table, have, version);
		goto done;
	}
	if (have < 0) {
		if (sqlite3_exec(db->h, create_sql, NULL, NULL, NULL) != SQLITE_OK)
			goto out;
		if (sqlite3_prepare_v2(db->h,
				       "INSERT OR REPLACE INTO version VALUES (?, ?)",
				       -1, &st, NULL) != SQLITE_OK)
			goto out;
		sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, version);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto out;
	}
	rc = 0;
	goto done;
out:
	snprintf(err, errlen, "%s: %s", db->path, sqlite3_errmsg(db->h));
done:
	if (st)
		sqlite3_finalize(st);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

const char *osp_db_default_url(void)
{
	static char url[600];
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	const char *dir = getenv("OSPREY_DATA_DIR");

	if (dir && *dir)
		snprintf(url, sizeof(url), "sqlite://%s/osprey.db", dir);
	else if (geteuid() == 0)
		snprintf(url, sizeof(url), "sqlite:///var/lib/osprey/osprey.db");
	else if (xdg && *xdg)
		snprintf(url, sizeof(url), "sqlite://%s/osprey/osprey.db", xdg);
	else
		snprintf(url, sizeof(url), "sqlite://%s/.local/share/osprey/osprey.db",
			 home ? home : "/tmp");
	return url;
}
