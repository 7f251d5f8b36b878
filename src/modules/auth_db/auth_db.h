/* auth_db.h - the subscriber store behind KSR.auth_db and the
 * subscriber.* control commands: SQLite tables with Kamailio's subscriber
 * layout (version 7: id, username, domain, password, ha1, ha1b).
 *
 * Every function takes the database lock itself (src/db/db.h); prepared
 * statements are cached per SQL text under that lock. Table and column
 * names are checked to be plain identifiers before they reach SQL. */
#ifndef OSP_MOD_AUTH_DB_H
#define OSP_MOD_AUTH_DB_H

#include <stddef.h>

#include "core/arena.h"
#include "core/str.h"

#define ADB_TABLE_VERSION 7
#define ADB_MAX_EXTRA	  8 /* load_credentials columns */

/* Column names (modparams), set before adb_open. */
typedef struct adb_columns {
	const char *user;		  /* "username" */
	const char *domain;		  /* "domain" */
	const char *extra[ADB_MAX_EXTRA]; /* load_credentials columns */
	int n_extra;
} adb_columns_t;

/* Open db_url and create/check the default table. 0, or -1 with err. */
int adb_open(const char *url, const adb_columns_t *cols, const char *table,
	     char *err, size_t errlen);
void adb_close(void);
/* 1 when s is a plain SQL identifier ([A-Za-z_][A-Za-z0-9_]*, < 64). */
int adb_ident_ok(str_t s);

/* One row's credential value of column col, for user (and domain when
 * domain.s is not NULL). *out is a NUL-terminated copy in arena a; extra[i]
 * (may be NULL) get the load_credentials columns, NULL for SQL NULL.
 * Returns 0 found, 1 not found, -1 error (logged). */
int adb_fetch(str_t table, str_t user, str_t domain, const char *col,
	      arena_t *a, char **out, char **extra);

/* Add a subscriber: 0, 1 when it exists already, -1 error (err). */
int adb_add(str_t table, str_t user, str_t domain, str_t password,
	    const char *ha1, const char *ha1b, char *err, size_t errlen);
/* Change the password and hashes: 0, 1 no such subscriber, -1 error. */
int adb_passwd(str_t table, str_t user, str_t domain, str_t password,
	       const char *ha1, const char *ha1b, char *err, size_t errlen);
/* Remove: 0, 1 no such subscriber, -1 error. */
int adb_rm(str_t table, str_t user, str_t domain, char *err, size_t errlen);
/* Call fn for each (username, domain), ordered. The count or -1. */
int adb_list(str_t table,
	     void (*fn)(const char *user, const char *domain, void *arg),
	     void *arg, char *err, size_t errlen);

#endif
