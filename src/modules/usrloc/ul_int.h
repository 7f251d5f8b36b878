/* ul_int.h - usrloc internals shared by its files (not for other modules:
 * they use ul.h). */
#ifndef OSP_UL_INT_H
#define OSP_UL_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "core/stats.h"
#include "db/db.h"
#include "modules/usrloc/ul.h"

#define UL_MAX_DOMAINS 16
#define UL_NAME_MAX    64

enum { UL_NO_DB = 0, UL_WRITE_THROUGH = 1, UL_WRITE_BACK = 2 };

typedef struct ul_slot {
	pthread_mutex_t lock;
	/* Held from before the slot lock is released until the slot's
	 * database writes are done: writes of one slot keep their order. */
	pthread_mutex_t wlock;
	ul_record_t *first;
	int n;
} ul_slot_t;

/* A pending database write: an upsert of a copy of the contact, or the
 * delete of its ruid. */
typedef struct ul_dbop {
	int del;
	ul_contact_t *c; /* heap copy (ul_contact_dup) */
	char *aor;	 /* NUL-terminated copy */
} ul_dbop_t;

struct ul_domain {
	char name[UL_NAME_MAX];
	ul_slot_t *slots;
	unsigned size; /* power of two */
	int db_ready;  /* table exists, statements may be prepared */
	sqlite3_stmt *st_upsert, *st_delete;
	/* ruids deleted in write-back mode, waiting for the timer */
	pthread_mutex_t pend_lock;
	char **pend_del;
	int n_pend, cap_pend;
	/* one maintenance pass (expiry + flush) at a time */
	pthread_mutex_t maint_lock;
	osp_counter_t c_users, c_contacts, c_expires;
	char n_users[UL_NAME_MAX + 16], n_contacts[UL_NAME_MAX + 16],
	    n_expires[UL_NAME_MAX + 16];
};

/* settings (modparams, see usrloc.c) */
extern int ul_db_mode; /* effective: UL_NO_DB when no database */
extern int ul_use_domain_p;
extern int ul_hash_bits;
extern int ul_cseq_delay_p;
extern osp_db_t *ul_db; /* NULL without persistence */
extern osp_counter_t ul_registered_users;
/* added to time(NULL) by ul_now(): lets tests move the clock */
extern long ul_time_offset;

/* domains (ul_mem.c) */
int ul_n_domains(void);
ul_domain_t *ul_domain_at(int i);
/* Create a domain (no database work). NULL on error. Caller holds the
 * domains lock or runs single-threaded (init). */
ul_domain_t *ul_domain_new(const char *name);
void ul_domains_free(void);
int ul_name_valid(str_t name);
uint32_t ul_hash(str_t s);

/* record and contact helpers (ul_mem.c) */
ul_contact_t *ul_contact_pack(const ul_contact_t *ci);
void ul_record_link_contact(ul_record_t *r, ul_contact_t *c);
void ul_record_unlink_contact(ul_record_t *r, ul_contact_t *c);
ul_record_t *ul_slot_find(ul_slot_t *s, str_t aor, uint32_t hash);
ul_record_t *ul_record_new(ul_slot_t *s, str_t aor, uint32_t hash);
void ul_record_unlink(ul_domain_t *d, ul_slot_t *s, ul_record_t *r);
int ul_make_ruid(char *buf, size_t cap);
/* Insert a contact loaded from the database (state SYNC). 0 or -1. */
int ul_load_contact(ul_domain_t *d, str_t aor, const ul_contact_t *ci);

/* pending writes (ul_mem.c) */
/* Append a write to a growable array (the contact is copied). */
int ul_ops_add(ul_dbop_t **ops, int *n, int *cap, int del,
	       const ul_contact_t *c, str_t aor);
void ul_ops_free(ul_dbop_t *ops, int n);
void ul_pending_delete(ul_domain_t *d, str_t ruid);
/* A write failed: mark the upserted contacts dirty again and put the
 * deletes back in the pending list, for the next timer pass. */
void ul_requeue(ul_domain_t *d, ul_dbop_t *ops, int n);

/* database (ul_db.c) */
int ul_db_open_table(ul_domain_t *d, char *err, size_t errlen);
int ul_db_preload(ul_domain_t *d, char *err, size_t errlen);
/* Write ops in one transaction. 0 or -1 (logged, rolled back). */
int ul_db_write(ul_domain_t *d, ul_dbop_t *ops, int n);
void ul_db_finalize(ul_domain_t *d);
/* One maintenance pass over a domain: lapsed contacts are removed (from
 * memory and the database), contacts not yet written are written, and
 * pending deletes done. Returns the number of contacts expired. */
int ul_maintain(ul_domain_t *d);

#endif
