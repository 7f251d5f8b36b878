/* ht_int.h - htable internals shared by the files of the module (core,
 * pseudo-variables, RPC, database). Not for other modules: they use
 * htable.h. */
#ifndef OSP_HT_INT_H
#define OSP_HT_INT_H

#include <pthread.h>
#include <stdint.h>

#include "htable.h"
#include "rpc/rpc.h"

typedef struct ht_item {
	struct ht_item *next;
	uint32_t hash;
	uint32_t klen;
	uint64_t expire; /* ht clock ms; 0 = never */
	int is_str;
	long n;
	char *s; /* string value, NUL-terminated, malloc'ed */
	size_t slen;
	char key[]; /* NUL-terminated */
} ht_item_t;

typedef struct ht_slot {
	pthread_mutex_t lock; /* recursive */
	ht_item_t *first;
	unsigned count;
} ht_slot_t;

struct ht_table {
	struct ht_table *next;
	char *name;
	size_t name_len;
	unsigned size_exp; /* nslots == 1 << size_exp */
	unsigned nslots;
	ht_slot_t *slots;
	unsigned autoexpire; /* seconds, 0: none */
	int updateexpire;
	int has_initval;
	long initval;
	char *dbtable;	  /* NULL: none */
	int dbmode;	  /* 1: written back to dbtable at shutdown */
	int db_loaded;	  /* loaded from dbtable: may be written back */
	int dmqreplicate; /* accepted for compatibility, no effect */
	int has_expiring; /* some item got an explicit expiry (atomic) */
};

/* The table list, in definition order. Built while the configuration is
 * read, then never changed until ht_destroy_all(). */
extern ht_table_t *ht_tables;

/* Parse one "htable" modparam and add the table. 0, or -1 with err. */
int ht_table_define(const char *spec, char *err, size_t errlen);
/* Free all tables (shutdown, tests). */
void ht_destroy_all(void);

uint64_t ht_now(void);
uint32_t ht_hash(const char *s, size_t len);
static inline ht_slot_t *ht_slot_of(ht_table_t *t, uint32_t h)
{
	return &t->slots[h & (t->nslots - 1)];
}
static inline int ht_item_live(const ht_item_t *it, uint64_t now)
{
	return it->expire == 0 || it->expire > now;
}
void ht_slot_lock(ht_slot_t *s);
void ht_slot_unlock(ht_slot_t *s);

/* Count items by Kamailio's $shtcn/$shtcv expression ("~~re", "~%end",
 * "%~start", "==str", "eqN" (values), "**" all, else a regex). */
long ht_count_expr(ht_table_t *t, int what, str_t expr);

/* Iterators (per thread, at most HT_ITER_MAX, names < HT_ITER_NAME). The
 * iterator walks a copy of one slot at a time, so no lock is held between
 * script calls. 0 / 1 as documented in htable.c, -1 on error. */
#define HT_ITER_MAX  4
#define HT_ITER_NAME 32
int ht_iter_start(str_t iname, ht_table_t *t);
int ht_iter_next(str_t iname); /* 1: an item is current; 0: end */
int ht_iter_end(str_t iname);
/* The current item's key and value (copied out like ht_get). 1, or 0 when
 * the iterator has no current item. */
int ht_iter_current(str_t iname, str_t *key, ksr_xval_t *val);
/* Act on the current item in the table. 0, or -1 (no current item). */
int ht_iter_rm(str_t iname);
int ht_iter_set(str_t iname, const ksr_xval_t *val);
int ht_iter_setex(str_t iname, long secs);
/* Free this thread's iterators (thread exit; tests). */
void ht_iter_cleanup(void);

/* Pseudo-variable classes ($sht, $shtex, $shtinc, $shtdec, $shtcn,
 * $shtcv, $shtitkey, $shtitval). */
int ht_pv_register(void);
/* Read key like $sht: a string is copied into a pv scratch buffer, a
 * missing item reads as initval or null. 1 found, 0 not, -OSP_E*. */
int ht_pv_read(ksr_ctx_t *ctx, ht_table_t *t, str_t key, ksr_xval_t *out);

/* RPC commands. */
extern const rpc_export_t ht_rpc_exports[];

/* Bulk helpers for the database code: a detached item; free a list of
 * them; replace the whole content of a table (consumes list). */
ht_item_t *ht_item_make(str_t key, const ksr_xval_t *v, uint64_t expire);
void ht_item_free_list(ht_item_t *it);
void ht_replace_all(ht_table_t *t, ht_item_t *list);

/* Database (dbtable attribute): load at start, write back at shutdown for
 * dbmode=1, reload on RPC. 0 or -1 (logged). */
extern char *ht_db_url;
extern int ht_db_expires; /* modparam db_expires */
int ht_db_load(ht_table_t *t, char *err, size_t errlen);
int ht_db_save(ht_table_t *t);

#endif
