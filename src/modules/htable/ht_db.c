/* ht_db.c - loading a table from SQLite (the dbtable attribute) and
 * writing it back at shutdown (dbmode=1), with Kamailio's htable schema:
 *
 *   key_name  text   the item name
 *   key_type  int    0 plain key; 1 array: rows with the same name become
 *                    name[0], name[1], ... plus name::size = count
 *   value_type int   0 string, 1 integer
 *   key_value text   the value
 *   expires   int    absolute Unix time; used only with db_expires=1
 *
 * The database is db_url, or the default database (osp_db_default_url)
 * when none is set. A missing table is created (version 2, as Kamailio's).
 * Rows are read without holding any slot lock; the content is then swapped
 * in slot by slot (ht_replace_all). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/osp.h"
#include "db/db.h"
#include "ht_int.h"

int ht_db_expires;

static int ident_ok(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

static osp_db_t *db_open(const ht_table_t *t, char *err, size_t errlen)
{
	const char *url = ht_db_url ? ht_db_url : osp_db_default_url();
	char sql[512];
	osp_db_t *db;

	if (!ident_ok(t->dbtable)) {
		snprintf(err, errlen, "bad dbtable name '%s'", t->dbtable);
		return NULL;
	}
	db = osp_db_open(url, err, errlen);
	if (!db)
		return NULL;
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE %s (id INTEGER PRIMARY KEY AUTOINCREMENT, "
		 "key_name VARCHAR(256) DEFAULT '' NOT NULL, "
		 "key_type INTEGER DEFAULT 0 NOT NULL, "
		 "value_type INTEGER DEFAULT 0 NOT NULL, "
		 "key_value VARCHAR(512) DEFAULT '' NOT NULL, "
		 "expires INTEGER DEFAULT 0 NOT NULL)",
		 t->dbtable);
	if (osp_db_ensure_table(db, t->dbtable, 2, sql, err, errlen) < 0) {
		osp_db_close(db);
		return NULL;
	}
	return db;
}

/* Count of earlier rows with the same array name (for name[n]). */
typedef struct arr_count {
	struct arr_count *next;
	long n;
	char name[];
} arr_count_t;

static long arr_next(arr_count_t **list, const char *name, int *nomem)
{
	arr_count_t *a;

	for (a = *list; a; a = a->next)
		if (strcmp(a->name, name) == 0)
			return a->n++;
	a = malloc(sizeof(*a) + strlen(name) + 1);
	if (!a) {
		*nomem = 1;
		return 0;
	}
	strcpy(a->name, name);
	a->n = 1;
	a->next = *list;
	*list = a;
	return 0;
}

static int push(ht_item_t **list, str_t key, const ksr_xval_t *v,
		uint64_t expire)
{
	ht_item_t *it = ht_item_make(key, v, expire);

	if (!it)
		return -1;
	it->next = *list;
	*list = it;
	return 0;
}

int ht_db_load(ht_table_t *t, char *err, size_t errlen)
{
	ht_item_t *list = NULL;
	arr_count_t *arrays = NULL, *a, *nx;
	osp_db_t *db;
	sqlite3 *h;
	sqlite3_stmt *st = NULL;
	char sql[256];
	uint64_t now = ht_now();
	time_t wall = time(NULL);
	int rc = -1, nomem = 0, step;

	db = db_open(t, err, errlen);
	if (!db)
		return -1;
	snprintf(sql, sizeof(sql),
		 "SELECT key_name, key_type, value_type, key_value, expires "
		 "FROM %s ORDER BY id",
		 t->dbtable);
	h = osp_db_lock(db);
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(h));
		goto out;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW && !nomem) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *val = (const char *)sqlite3_column_text(st, 3);
		int ktype = sqlite3_column_int(st, 1);
		int vtype = sqlite3_column_int(st, 2);
		long long exp = sqlite3_column_int64(st, 4);
		uint64_t expire = 0;
		ksr_xval_t v;
		char kb[600];
		str_t key;

		if (!name || !*name)
			continue;
		if (!val)
			val = "";
		if (ht_db_expires && exp > 0) {
			if (exp <= wall)
				continue; /* already expired */
			expire = now + (uint64_t)(exp - wall) * 1000;
		} else if (t->autoexpire) {
			expire = now + (uint64_t)t->autoexpire * 1000;
		}
		if (vtype == 1)
			v = (ksr_xval_t){KSR_INT, strtol(val, NULL, 10),
					 STR_NULL};
		else
			v = (ksr_xval_t){KSR_STR, 0, str_from(val)};
		key = str_from(name);
		if (ktype == 1) {
			long i = arr_next(&arrays, name, &nomem);

			snprintf(kb, sizeof(kb), "%.500s[%ld]", name, i);
			key = str_from(kb);
		}
		if (push(&list, key, &v, expire) < 0)
			nomem = 1;
	}
	if (nomem) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (step != SQLITE_DONE && step != SQLITE_ROW) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(h));
		goto out;
	}
	for (a = arrays; a; a = a->next) {
		char kb[600];
		ksr_xval_t v = {KSR_INT, a->n, STR_NULL};

		snprintf(kb, sizeof(kb), "%.500s::size", a->name);
		if (push(&list, str_from(kb), &v,
			 t->autoexpire ? now + (uint64_t)t->autoexpire * 1000
				       : 0) < 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	osp_db_unlock(db);
	osp_db_close(db);
	for (a = arrays; a; a = nx) {
		nx = a->next;
		free(a);
	}
	if (rc == 0) {
		if (t->autoexpire || ht_db_expires)
			__atomic_store_n(&t->has_expiring, 1, __ATOMIC_RELAXED);
		ht_replace_all(t, list);
	} else {
		ht_item_free_list(list);
	}
	return rc;
}

/* Write the live items back (shutdown, dbmode=1): the table's rows are
 * replaced in one transaction. Slots are copied one at a time. */
int ht_db_save(ht_table_t *t)
{
	char err[256], sql[256];
	osp_db_t *db = db_open(t, err, sizeof(err));
	sqlite3_stmt *st = NULL;
	sqlite3 *h;
	time_t wall = time(NULL);
	int rc = -1;

	if (!db) {
		LOG_ERR("htable %s: cannot save: %s", t->name, err);
		return -1;
	}
	h = osp_db_lock(db);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO %s (key_name, key_type, value_type, key_value, "
		 "expires) VALUES (?, 0, ?, ?, ?)",
		 t->dbtable);
	if (sqlite3_exec(h, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	snprintf(sql, sizeof(sql), "DELETE FROM %s", t->dbtable);
	if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	for (unsigned i = 0; i < t->nslots; i++) {
		ht_slot_t *s = &t->slots[i];
		uint64_t now;
		int bad = 0;

		ht_slot_lock(s);
		now = ht_now();
		for (ht_item_t *it = s->first; it && !bad; it = it->next) {
			long long exp = 0;
			char num[32];

			if (!ht_item_live(it, now))
				continue;
			if (ht_db_expires && it->expire)
				exp = (long long)wall +
				      (long long)((it->expire - now) / 1000);
			sqlite3_reset(st);
			sqlite3_bind_text(st, 1, it->key, (int)it->klen,
					  SQLITE_TRANSIENT);
			sqlite3_bind_int(st, 2, it->is_str ? 0 : 1);
			if (it->is_str) {
				sqlite3_bind_text(st, 3, it->s, (int)it->slen,
						  SQLITE_TRANSIENT);
			} else {
				snprintf(num, sizeof(num), "%ld", it->n);
				sqlite3_bind_text(st, 3, num, -1,
						  SQLITE_TRANSIENT);
			}
			sqlite3_bind_int64(st, 4, exp);
			bad = sqlite3_step(st) != SQLITE_DONE;
		}
		ht_slot_unlock(s);
		if (bad)
			goto out;
	}
	if (sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		rc = 0;
out:
	if (rc < 0) {
		LOG_ERR("htable %s: cannot save to %s: %s", t->name, t->dbtable,
			sqlite3_errmsg(h));
		sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
	}
	sqlite3_finalize(st);
	osp_db_unlock(db);
	osp_db_close(db);
	return rc;
}
