/* ul_db.c - usrloc's SQLite side: the location table, the preload at
 * start, the writes, and the maintenance pass (expiry and flush).
 *
 * One row per binding, keyed by its ruid. Column names follow Kamailio's
 * location table; times are Unix seconds (INTEGER) and q is a REAL in
 * 0..1 (-1 when the contact gave none). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/osp.h"
#include "modules/usrloc/ul_int.h"

#define UL_TABLE_VERSION 1
#define UL_BATCH	 256 /* writes per transaction in a maintenance pass */

static const char *const create_fmt =
    "CREATE TABLE %s ("
    "id INTEGER PRIMARY KEY,"
    "ruid TEXT NOT NULL UNIQUE,"
    "username TEXT NOT NULL DEFAULT '',"
    "domain TEXT,"
    "contact TEXT NOT NULL,"
    "received TEXT,"
    "path TEXT,"
    "expires INTEGER NOT NULL,"
    "q REAL NOT NULL DEFAULT -1,"
    "callid TEXT NOT NULL DEFAULT '',"
    "cseq INTEGER NOT NULL DEFAULT 1,"
    "last_modified INTEGER NOT NULL DEFAULT 0,"
    "flags INTEGER NOT NULL DEFAULT 0,"
    "cflags INTEGER NOT NULL DEFAULT 0,"
    "user_agent TEXT NOT NULL DEFAULT '',"
    "socket TEXT,"
    "methods INTEGER,"
    "instance TEXT,"
    "reg_id INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX %s_account_contact_idx ON %s (username, domain, contact);"
    "CREATE INDEX %s_expires_idx ON %s (expires);";

#define COLUMNS                                                                \
	"ruid, username, domain, contact, received, path, expires, q, "        \
	"callid, cseq, last_modified, flags, cflags, user_agent, socket, "     \
	"methods, instance, reg_id"

int ul_db_open_table(ul_domain_t *d, char *err, size_t errlen)
{
	char sql[1024];
	const char *n = d->name;

	snprintf(sql, sizeof(sql), create_fmt, n, n, n, n, n);
	if (osp_db_ensure_table(ul_db, n, UL_TABLE_VERSION, sql, err, errlen) <
	    0)
		return -1;
	d->db_ready = 1;
	return 0;
}

/* The AOR as the username and domain columns: "user@host" is split when
 * use_domain is on, else the whole AOR is the username. */
static void split_aor(str_t aor, str_t *user, str_t *dom)
{
	const char *at = ul_use_domain_p ? memchr(aor.s, '@', aor.len) : NULL;

	if (!at) {
		*user = aor;
		*dom = STR_NULL;
		return;
	}
	*user = (str_t){aor.s, (size_t)(at - aor.s)};
	*dom = (str_t){at + 1, aor.len - (size_t)(at - aor.s) - 1};
}

static str_t col_str(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s ? (str_t){s, (size_t)sqlite3_column_bytes(st, i)} : STR_NULL;
}

/* Read every row: lapsed ones are deleted, the others go to memory as
 * written (state SYNC). Runs before the domain is published, so nobody
 * else takes its slot locks while we hold the database lock. */
int ul_db_preload(ul_domain_t *d, char *err, size_t errlen)
{
	char sql[512], aorbuf[1024];
	sqlite3_stmt *st = NULL;
	sqlite3 *h = osp_db_lock(ul_db);
	time_t now = ul_now();
	int rc = -1, n = 0, step;

	snprintf(sql, sizeof(sql),
		 "DELETE FROM %s WHERE expires != 0 AND expires <= %lld",
		 d->name, (long long)now);
	if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	snprintf(sql, sizeof(sql), "SELECT " COLUMNS " FROM %s", d->name);
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		ul_contact_t ci;
		str_t user = col_str(st, 1), dom = col_str(st, 2);
		double q = sqlite3_column_double(st, 7);
		int alen;

		memset(&ci, 0, sizeof(ci));
		ci.ruid = col_str(st, 0);
		ci.c = col_str(st, 3);
		ci.received = col_str(st, 4);
		ci.path = col_str(st, 5);
		ci.expires = (time_t)sqlite3_column_int64(st, 6);
		ci.q = q < 0 ? -1 : (int)lround(q * 1000);
		ci.callid = col_str(st, 8);
		ci.cseq = (uint32_t)sqlite3_column_int64(st, 9);
		ci.last_modified = (time_t)sqlite3_column_int64(st, 10);
		ci.flags = (unsigned)sqlite3_column_int64(st, 11);
		ci.cflags = (unsigned)sqlite3_column_int64(st, 12);
		ci.user_agent = col_str(st, 13);
		ci.socket = col_str(st, 14);
		ci.methods = sqlite3_column_type(st, 15) == SQLITE_NULL
				 ? UL_METHODS_ALL
				 : (unsigned)sqlite3_column_int64(st, 15);
		ci.instance = col_str(st, 16);
		ci.reg_id = (unsigned)sqlite3_column_int64(st, 17);
		if (ul_use_domain_p && dom.len)
			alen = snprintf(aorbuf, sizeof(aorbuf), "%.*s@%.*s",
					STR_FMT(user), STR_FMT(dom));
		else
			alen = snprintf(aorbuf, sizeof(aorbuf), "%.*s",
					STR_FMT(user));
		if (!ci.ruid.len || !ci.c.len || alen <= 0 ||
		    (size_t)alen >= sizeof(aorbuf)) {
			LOG_WARN("usrloc: %s: skipping a malformed row (ruid "
				 "'%.*s')",
				 d->name, STR_FMT(ci.ruid));
			continue;
		}
		if (ul_load_contact(d, (str_t){aorbuf, (size_t)alen}, &ci) <
		    0) {
			snprintf(err, errlen, "%s: out of memory while loading",
				 d->name);
			goto done;
		}
		n++;
	}
	if (step != SQLITE_DONE)
		goto fail;
	LOG_INFO("usrloc: loaded %d contact(s) from table %s", n, d->name);
	rc = 0;
	goto done;
fail:
	snprintf(err, errlen, "table %s: %s", d->name, sqlite3_errmsg(h));
done:
	if (st)
		sqlite3_finalize(st);
	osp_db_unlock(ul_db);
	return rc;
}

static void bind_str(sqlite3_stmt *st, int i, str_t s, int nullable)
{
	if (!s.len && nullable)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s.s ? s.s : "", (int)s.len,
				  SQLITE_STATIC);
}

static int prepare(sqlite3 *h, ul_domain_t *d)
{
	char sql[512];

	if (!d->st_upsert) {
		snprintf(sql, sizeof(sql),
			 "INSERT OR REPLACE INTO %s (" COLUMNS ") VALUES "
			 "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
			 "?13, ?14, ?15, ?16, ?17, ?18)",
			 d->name);
		if (sqlite3_prepare_v2(h, sql, -1, &d->st_upsert, NULL) !=
		    SQLITE_OK)
			return -1;
	}
	if (!d->st_delete) {
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE ruid = ?1",
			 d->name);
		if (sqlite3_prepare_v2(h, sql, -1, &d->st_delete, NULL) !=
		    SQLITE_OK)
			return -1;
	}
	return 0;
}

static int exec_op(ul_domain_t *d, const ul_dbop_t *op)
{
	const ul_contact_t *c = op->c;
	sqlite3_stmt *st;
	str_t user, dom;
	int rc;

	if (op->del) {
		st = d->st_delete;
		bind_str(st, 1, c->ruid, 0);
	} else {
		st = d->st_upsert;
		split_aor(str_from(op->aor), &user, &dom);
		bind_str(st, 1, c->ruid, 0);
		bind_str(st, 2, user, 0);
		bind_str(st, 3, dom, 1);
		bind_str(st, 4, c->c, 0);
		bind_str(st, 5, c->received, 1);
		bind_str(st, 6, c->path, 1);
		sqlite3_bind_int64(st, 7, (sqlite3_int64)c->expires);
		sqlite3_bind_double(st, 8, c->q < 0 ? -1.0 : c->q / 1000.0);
		bind_str(st, 9, c->callid, 0);
		sqlite3_bind_int64(st, 10, (sqlite3_int64)c->cseq);
		sqlite3_bind_int64(st, 11, (sqlite3_int64)c->last_modified);
		sqlite3_bind_int64(st, 12, (sqlite3_int64)c->flags);
		sqlite3_bind_int64(st, 13, (sqlite3_int64)c->cflags);
		bind_str(st, 14, c->user_agent, 0);
		bind_str(st, 15, c->socket, 1);
		sqlite3_bind_int64(st, 16, (sqlite3_int64)c->methods);
		bind_str(st, 17, c->instance, 1);
		sqlite3_bind_int64(st, 18, (sqlite3_int64)c->reg_id);
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int ul_db_write(ul_domain_t *d, ul_dbop_t *ops, int n)
{
	sqlite3 *h;
	int rc = -1;

	if (!ul_db || !d->db_ready || n <= 0)
		return 0;
	h = osp_db_lock(ul_db);
	if (prepare(h, d) < 0)
		goto out;
	if (n > 1 && sqlite3_exec(h, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	for (int i = 0; i < n; i++)
		if (exec_op(d, &ops[i]) < 0) {
			if (n > 1)
				sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
			goto out;
		}
	if (n > 1 && sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		LOG_ERR("usrloc: writing table %s: %s", d->name,
			sqlite3_errmsg(h));
	osp_db_unlock(ul_db);
	return rc;
}

void ul_db_finalize(ul_domain_t *d)
{
	if (!ul_db || (!d->st_upsert && !d->st_delete))
		return;
	osp_db_lock(ul_db);
	sqlite3_finalize(d->st_upsert);
	sqlite3_finalize(d->st_delete);
	d->st_upsert = d->st_delete = NULL;
	osp_db_unlock(ul_db);
}

/* State of one maintenance pass: the writes collected and the slots whose
 * write lock we hold until they are done. */
typedef struct pass {
	ul_domain_t *d;
	ul_dbop_t *ops;
	int n, cap;
	unsigned *held;
	int n_held;
} pass_t;

static void pass_write(pass_t *p)
{
	int rc = p->n ? ul_db_write(p->d, p->ops, p->n) : 0;

	/* the write locks go first: requeueing takes slot locks, and a
	 * worker may hold a slot lock while it waits for a write lock */
	for (int i = 0; i < p->n_held; i++)
		pthread_mutex_unlock(&p->d->slots[p->held[i]].wlock);
	p->n_held = 0;
	if (rc < 0)
		ul_requeue(p->d, p->ops, p->n);
	ul_ops_free(p->ops, p->n);
	p->ops = NULL;
	p->n = p->cap = 0;
}

static int persisted(const ul_contact_t *c)
{
	return ul_db && !(c->flags & UL_FL_MEM);
}

/* Walk one slot under its lock: drop lapsed contacts, collect the writes.
 * Returns the number of contacts expired. */
static int pass_slot(pass_t *p, unsigned i, time_t now)
{
	ul_domain_t *d = p->d;
	ul_slot_t *s = &d->slots[i];
	ul_record_t *r, *rn;
	int expired = 0, before = p->n;

	pthread_mutex_lock(&s->lock);
	for (r = s->first; r; r = rn) {
		ul_contact_t *c, *cn;

		rn = r->next;
		for (c = r->contacts; c; c = cn) {
			cn = c->next;
			if (c->expires && c->expires <= now) {
				if (persisted(c) &&
				    (ul_db_mode == UL_WRITE_THROUGH ||
				     c->state != UL_CS_NEW) &&
				    ul_ops_add(&p->ops, &p->n, &p->cap, 1, c,
					       r->aor) < 0)
					ul_pending_delete(d, c->ruid);
				ul_record_unlink_contact(r, c);
				stats_dec(&d->c_contacts);
				stats_inc(&d->c_expires);
				free(c);
				expired++;
			} else if (persisted(c) && c->state != UL_CS_SYNC &&
				   ul_ops_add(&p->ops, &p->n, &p->cap, 0, c,
					      r->aor) == 0) {
				c->state = UL_CS_SYNC;
			}
		}
		if (!r->contacts)
			ul_record_unlink(d, s, r);
	}
	if (p->n > before) {
		pthread_mutex_lock(&s->wlock);
		p->held[p->n_held++] = i;
	}
	pthread_mutex_unlock(&s->lock);
	return expired;
}

int ul_maintain(ul_domain_t *d)
{
	pass_t p = {.d = d};
	char **pend;
	int n_pend, expired = 0;
	time_t now = ul_now();

	pthread_mutex_lock(&d->maint_lock);
	p.held = malloc(d->size * sizeof(*p.held));
	if (!p.held) {
		pthread_mutex_unlock(&d->maint_lock);
		return 0;
	}
	pthread_mutex_lock(&d->pend_lock);
	pend = d->pend_del;
	n_pend = d->n_pend;
	d->pend_del = NULL;
	d->n_pend = d->cap_pend = 0;
	pthread_mutex_unlock(&d->pend_lock);
	for (int i = 0; i < n_pend; i++) {
		ul_contact_t tmp;

		memset(&tmp, 0, sizeof(tmp));
		tmp.ruid = str_from(pend[i]);
		if (ul_ops_add(&p.ops, &p.n, &p.cap, 1, &tmp, STR_NULL) < 0)
			ul_pending_delete(d, tmp.ruid);
		free(pend[i]);
	}
	free(pend);
	for (unsigned i = 0; i < d->size; i++) {
		expired += pass_slot(&p, i, now);
		if (p.n >= UL_BATCH)
			pass_write(&p);
	}
	pass_write(&p);
	free(p.held);
	pthread_mutex_unlock(&d->maint_lock);
	if (expired)
		LOG_DBG("usrloc: %d contact(s) of %s expired", expired,
			d->name);
	return expired;
}
