/* perm.h - the address table of the permissions module: records loaded
 * from SQLite (Kamailio's `address` table) or from a text file, kept as
 * one immutable set that a reload replaces as a whole.
 *
 * Readers look addresses up under a read lock held only for the lookup;
 * a reload builds the new set without any lock, then swaps the pointer
 * under the write lock and frees the old set once no reader can see it.
 * Reloads are serialised among themselves. */
#ifndef OSP_PERM_H
#define OSP_PERM_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

typedef struct perm_entry {
	int id; /* database id or file line */
	int grp;
	int family; /* AF_INET, AF_INET6; 0 for a domain name */
	uint8_t ip[16];
	int mask;   /* prefix length */
	int port;   /* 0 matches any port */
	char *host; /* domain name entries */
	char *tag;  /* NULL when none */
} perm_entry_t;

typedef struct perm_set {
	perm_entry_t *addrs; /* full-length masks, sorted (family, ip, grp) */
	size_t naddrs;
	perm_entry_t *subnets; /* shorter masks, sorted by grp */
	size_t nsubnets;
	perm_entry_t *domains; /* host names, sorted by grp */
	size_t ndomains;
} perm_set_t;

/* Where records come from: file wins over the database, as in Kamailio.
 * Column and table names are identifiers (checked). */
typedef struct perm_source {
	const char *file;   /* address_file, resolved path */
	const char *db_url; /* used when file is NULL */
	const char *table;  /* "address" */
	const char *grp_col, *ip_col, *mask_col, *port_col, *tag_col;
	int max_subnets; /* 0: unlimited */
} perm_source_t;

/* Build a set from the source. NULL with err filled on failure (the file
 * or database cannot be read, a bad record, too many subnets). */
perm_set_t *perm_load(const perm_source_t *src, char *err, size_t errlen);
/* Parse the text of an address file (for tests and perm_load). */
perm_set_t *perm_parse_text(const char *text, const char *what, char *err,
			    size_t errlen);
void perm_set_free(perm_set_t *s);

/* Install s as the current set (NULL allowed), freeing the previous one. */
void perm_install(perm_set_t *s);

/* Look an address up in the current set. grp < 0 means any group.
 * Returns the matching entry's group (>= 0) and copies its tag into
 * tag/tagcap (empty when none), or -1 when nothing matches. An address
 * (family AF_INET/AF_INET6) is matched against exact addresses, then
 * subnets; a host name (family 0, host) against domain entries. */
int perm_match(int grp, int family, const uint8_t *ip, str_t host, int port,
	       char *tag, size_t tagcap);

/* Parse "1.2.3.4", "2001:db8::1" or "[2001:db8::1]": the family, or 0. */
int perm_parse_ip(str_t s, uint8_t ip[16]);

/* Read access to the current set for dumps: call fn with the set (may be
 * NULL) under the read lock. */
void perm_with_set(void (*fn)(const perm_set_t *s, void *arg), void *arg);

/* Free the current set (shutdown, tests). */
void perm_destroy(void);

#endif
