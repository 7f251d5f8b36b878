/* htable.h - shared named hash tables (Kamailio's htable module).
 *
 * Tables are defined by modparam("htable", "htable", "name=>size=8;...")
 * while the configuration is read; the set of tables never changes after
 * that, so a table pointer found once stays valid until shutdown. Items
 * (key -> integer or string, with an optional expiry) live in 2^size slots,
 * each behind its own lock; every function here takes and releases the
 * lock of the slot it touches, so they may be called from any thread.
 *
 * The lock of a slot is recursive per thread, because scripts may hold it
 * across calls with KSR.htable.sht_lock()/sht_unlock() as in Kamailio.
 *
 * Keys and string values are copied in; values read out are copied into
 * the caller's buffer, never returned by reference, so no caller ever holds
 * a pointer into a table. Expired items are invisible to readers at once;
 * the expiry timer frees them later. */
#ifndef OSP_HTABLE_H
#define OSP_HTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"
#include "kemi/kemi.h"

typedef struct ht_table ht_table_t;

/* Match operators of sht_match_name, sht_rm_name, ... */
enum {
	HT_OP_EQ = 1, /* "eq" */
	HT_OP_NE,     /* "ne" */
	HT_OP_RE,     /* "re": POSIX extended regex, case-insensitive */
	HT_OP_SW,     /* "sw": starts with */
};
/* What a match looks at. */
enum {
	HT_MATCH_NAME = 0,
	HT_MATCH_VALUE = 1, /* string values only; integer items never match */
};

/* The table called name, or NULL. Lock-free. */
ht_table_t *ht_find(str_t name);

/* Set key to val (KSR_INT or KSR_STR; KSR_NULL deletes). exp_s > 0 sets the
 * item to expire in exp_s seconds; otherwise a new item gets the table's
 * autoexpire and an existing one is refreshed to it when the table has
 * updateexpire (the default), as Kamailio does. 0 or -OSP_ENOMEM. */
int ht_set(ht_table_t *t, str_t key, const ksr_xval_t *val, long exp_s);

/* Read key. Returns 1 and fills *out when the item exists (a string value
 * is copied into buf, NUL-terminated, and out->s points there); 0 when it
 * does not (out untouched: the table's initval is the caller's business,
 * see ht_initval); -OSP_ETOOBIG when buf is too small, with out->s.len set
 * to the length needed (without the NUL). */
int ht_get(ht_table_t *t, str_t key, ksr_xval_t *out, char *buf, size_t cap);

/* 1 when the table has an initval (and *v gets it), else 0. */
int ht_initval(const ht_table_t *t, long *v);

/* 1 when key exists (and has not expired), else 0. */
int ht_exists(ht_table_t *t, str_t key);

/* Remove key; 1 when it was there, 0 otherwise. */
int ht_del(ht_table_t *t, str_t key);

/* Atomically add delta to an integer item and store the result in *res.
 * A missing item is created from the table's initval when it has one.
 * 0; -OSP_ENOTFOUND (missing, no initval); -OSP_EINVAL (string value);
 * -OSP_ENOMEM. */
int ht_add(ht_table_t *t, str_t key, long delta, long *res);

/* Expiry of one item: set it to expire in secs seconds (0: never); get the
 * seconds left (0 when it never expires or does not exist). 0 or
 * -OSP_ENOTFOUND. */
int ht_set_expire(ht_table_t *t, str_t key, long secs);
int ht_get_expire(ht_table_t *t, str_t key, long *secs);

/* Remove every item. */
void ht_reset(ht_table_t *t);

/* Remove items whose name (or string value) matches pattern with op
 * (HT_OP_RE or HT_OP_SW; EQ and NE work too). The number removed, or
 * -OSP_EINVAL for a bad regex or operator. */
int ht_rm_match(ht_table_t *t, int what, int op, str_t pattern);

/* 1 when some item's name (or string value) matches, 0 when none does,
 * -OSP_EINVAL for a bad regex or operator. */
int ht_match(ht_table_t *t, int what, int op, str_t pattern);

/* "eq", "ne", "re", "sw" -> HT_OP_*, or -1. */
int ht_op_parse(str_t op);

/* Lock or unlock the slot of key for the calling thread (re-entrant).
 * 0, or -1 when unlocking a slot this thread does not hold. */
int ht_lock_key(ht_table_t *t, str_t key);
int ht_unlock_key(ht_table_t *t, str_t key);

/* Free the items that have expired by now_ms (osp_now_ms() time). Called
 * by the module's timer; returns the number freed. */
int ht_expire_all(uint64_t now_ms);

/* The clock used for expiry (default osp_now_ms). For tests. */
void ht_set_clock(uint64_t (*now_ms)(void));

#endif
