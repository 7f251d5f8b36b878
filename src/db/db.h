/* db.h - SQLite persistence shared by the modules (usrloc, auth_db,
 * permissions, ...).
 *
 * A database is named by a Kamailio-style URL: "sqlite:///var/lib/osprey/
 * osprey.db" (three slashes then an absolute path) or "sqlite://relative.db".
 * Opening the same URL twice returns the same handle (reference counted).
 * The connection is opened in WAL mode with a busy timeout; every use must
 * hold the handle's lock (osp_db_lock/unlock): SQLite connections are not
 * used by two threads at once here. Never hold it while doing network I/O.
 *
 * Schema versions follow Kamailio's `version` table (table_name,
 * table_version): osp_db_ensure_table() creates a table on first use and
 * refuses a database whose table has a different version. */
#ifndef OSP_DB_H
#define OSP_DB_H

#include <sqlite3.h>
#include <stddef.h>

typedef struct osp_db osp_db_t;

/* NULL with err filled on failure (bad URL, cannot create the folder or
 * open the file). The folder of the file is created (0700) if missing. */
osp_db_t *osp_db_open(const char *url, char *err, size_t errlen);
void osp_db_close(osp_db_t *db);

sqlite3 *osp_db_lock(osp_db_t *db);
void osp_db_unlock(osp_db_t *db);

/* Create `table` with `create_sql` when absent and record its version; 0,
 * or -1 with err when the stored version differs. Takes the lock itself. */
int osp_db_ensure_table(osp_db_t *db, const char *table, int version,
			const char *create_sql, char *err, size_t errlen);

/* Run SQL without results (takes the lock). 0 or -1 (logged). */
int osp_db_exec(osp_db_t *db, const char *sql);

/* The default database for a server started without db_url: <data
 * dir>/osprey.db, where the data dir is $OSPREY_DATA_DIR when set, else
 * /var/lib/osprey as root, else $XDG_DATA_HOME/osprey or
 * ~/.local/share/osprey. Static buffer. */
const char *osp_db_default_url(void);

#endif
