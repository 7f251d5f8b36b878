/* ul.h - the location service (Kamailio's usrloc): address-of-record
 * records and their contacts, kept in shared hash tables and persisted in
 * SQLite.
 *
 * A "domain" is a named table of records ("location"), as in Kamailio: the
 * name is also the SQLite table. Each domain is a hash table of slots; a
 * slot has a mutex, and every access to a record goes through a handle
 * that holds the slot lock (ul_lock ... ul_unlock). While the lock is held
 * the caller may read the record and its contacts and change them with
 * ul_insert_contact / ul_update_contact / ul_delete_contact; the changes
 * are in memory at once. Writes to SQLite are collected in the handle and
 * done by ul_unlock() after the slot lock is released (write-through,
 * db_mode 1), or later by the timer (write-back, db_mode 2), so no worker
 * waits on disk while holding a slot other threads need. Writes of one
 * slot reach the database in the order the changes were made.
 *
 * Times are wall-clock seconds (time(2)): expiry survives a restart.
 * Strings in ul_contact_t are str_t views; a stored contact owns them (one
 * allocation per contact), a caller filling one for ul_insert_contact
 * lends them for the duration of the call. */
#ifndef OSP_UL_H
#define OSP_UL_H

#include <stdint.h>
#include <time.h>

#include "core/str.h"

/* contact flags */
#define UL_FL_MEM 0x1 /* memory only: never written to the database */

/* write state of a contact (write-back) */
enum { UL_CS_NEW = 0, UL_CS_SYNC = 1, UL_CS_DIRTY = 2 };

#define UL_METHODS_ALL 0xFFFFFFFFu

typedef struct ul_contact {
	str_t c;	/* contact URI, as registered */
	str_t received; /* source of the REGISTER as a SIP URI, or empty */
	str_t path;	/* Path vector, comma-separated, or empty */
	str_t callid;
	str_t user_agent;
	str_t socket;	/* listener name ("udp:127.0.0.1:5060"), or empty */
	str_t instance; /* +sip.instance (quotes kept), or empty */
	str_t ruid;	/* unique id of the binding: the database key */
	time_t expires; /* absolute; 0 = permanent */
	int q;		/* q x 1000; -1 when unspecified */
	uint32_t cseq;
	unsigned flags;	  /* UL_FL_* */
	unsigned cflags;  /* branch flags restored by lookup */
	unsigned methods; /* sip_method_t mask; UL_METHODS_ALL */
	unsigned reg_id;
	time_t last_modified;
	uint64_t conn_id; /* stream connection of the REGISTER, 0 */
	int state;	  /* UL_CS_*, managed by usrloc */
	struct ul_contact *next;
} ul_contact_t;

typedef struct ul_record {
	str_t aor;
	uint32_t hash;
	ul_contact_t *contacts; /* by q, highest first; equal q: oldest first */
	struct ul_record *next;
} ul_record_t;

typedef struct ul_domain ul_domain_t;
struct ul_dbop;

/* A locked slot. Lives on the caller's stack between ul_lock and
 * ul_unlock; the fields are private. */
typedef struct ul_handle {
	ul_domain_t *d;
	unsigned slot;
	str_t aor;
	uint32_t hash;
	struct ul_dbop *ops; /* pending database writes */
	int n_ops, cap_ops;
} ul_handle_t;

/* The domain (table) `name`: one declared with modparam preload, the
 * default "location", or created on first use (its rows are loaded from
 * the database then). NULL for an invalid name (letters, digits and '_'
 * only) or when the table cannot be created. Thread-safe. */
ul_domain_t *ul_get_domain(str_t name);
const char *ul_domain_name(const ul_domain_t *d);

/* usrloc's use_domain: AORs are "user@domain" instead of "user". */
int ul_use_domain(void);
/* AOR comparison is case-sensitive (registrar's case_sensitive). */
void ul_set_case_sensitive(int on);
int ul_case_sensitive(void);
/* cseq_delay (seconds): a REGISTER repeating the CSeq of a binding within
 * this delay is a retransmission, not a stale request. */
int ul_cseq_delay(void);
/* The current time for expiry decisions. */
time_t ul_now(void);
/* 1 when the contact has not expired at `now`. */
static inline int ul_contact_valid(const ul_contact_t *c, time_t now)
{
	return c->expires == 0 || c->expires > now;
}

/* Lock the slot of aor (the aor is copied into the handle's view only: it
 * must stay valid until ul_unlock). */
void ul_lock(ul_domain_t *d, str_t aor, ul_handle_t *h);
/* Release the slot, then write the changes collected (write-through).
 * 0, or -1 when the database write failed: memory keeps the change and
 * the contacts are marked for the next timer flush. */
int ul_unlock(ul_handle_t *h);

/* The record of the locked aor, NULL when there is none. */
ul_record_t *ul_get_record(ul_handle_t *h);
/* The record of the locked aor, created when absent. NULL on no memory. */
ul_record_t *ul_get_or_insert_record(ul_handle_t *h);
/* Remove the record when it has no contacts left (call after deleting
 * contacts; the record pointer is invalid afterwards if it was removed). */
void ul_release_record(ul_handle_t *h, ul_record_t *r);
/* Delete the record and all its contacts. 0, or -OSP_ENOTFOUND. */
int ul_delete_record(ul_handle_t *h);

/* Add a contact built from ci (its strings are copied; ci->ruid may be
 * empty: one is generated; ci->state is ignored). *out (may be NULL) gets
 * the stored contact. 0 or -OSP_ENOMEM. */
int ul_insert_contact(ul_handle_t *h, ul_record_t *r, const ul_contact_t *ci,
		      ul_contact_t **out);
/* Replace contact c with ci's values, keeping c's ruid (c is freed; *out
 * gets the new one). 0 or -OSP_ENOMEM (c is then unchanged). */
int ul_update_contact(ul_handle_t *h, ul_record_t *r, ul_contact_t *c,
		      const ul_contact_t *ci, ul_contact_t **out);
/* Remove contact c (freed). */
void ul_delete_contact(ul_handle_t *h, ul_record_t *r, ul_contact_t *c);

/* Find the contact of r matching uri exactly, NULL when none. */
ul_contact_t *ul_find_contact(ul_record_t *r, str_t uri);
/* Find by +sip.instance and reg-id (RFC 5626 matching), NULL when none. */
ul_contact_t *ul_find_instance(ul_record_t *r, str_t instance, unsigned reg_id);
/* Find by ruid in the whole domain. Locks the slot of the record found
 * (h filled: call ul_unlock); NULL (nothing locked) when not found. */
ul_contact_t *ul_find_ruid(ul_domain_t *d, str_t ruid, ul_handle_t *h,
			   ul_record_t **rec);

/* Copy a contact (and its strings) into one heap block; free() it. */
ul_contact_t *ul_contact_dup(const ul_contact_t *c);

/* Write every pending change of every domain to the database now (the
 * timer does it every timer_interval). 0 or -1. */
int ul_flush(void);
/* Run the expiry pass now (the timer does it every timer_interval):
 * lapsed contacts are removed from memory and from the database.
 * Returns the number of contacts removed. */
int ul_expire_now(void);

/* ---- walking every contact (nathelper's NAT keepalives) ---- */

/* Called by ul_foreach_contact for each contact with the slot lock held:
 * copy what is needed and return; never block, never call usrloc. d is
 * the contact's table, r its record. */
typedef void (*ul_walk_fn)(ul_domain_t *d, const ul_record_t *r,
			   const ul_contact_t *c, void *arg);
/* Walk the contacts of every table that are valid now, one slot at a
 * time: only the slots whose index i has i % nparts == part (nparts 0 or
 * 1: every slot), and only contacts whose branch flags (cflags) share a
 * bit with mask (0: every contact). Returns how many were passed to fn. */
int ul_foreach_contact(unsigned mask, unsigned part, unsigned nparts,
		       ul_walk_fn fn, void *arg);
/* The nat_bflag modparam: the branch flag marking contacts behind a NAT,
 * -1 when unset. */
int ul_nat_bflag(void);

#endif
