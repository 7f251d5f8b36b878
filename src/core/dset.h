/* dset.h - the destination set: the branches a request will be forked to.
 *
 * Branch 0 is the request itself (its current R-URI, $du, Path vector,
 * q and branch flags, kept in sip_msg_t). Further branches are added by
 * KSR.corex.append_branch, registrar lookup (one per further contact) and
 * the like, and are consumed by the transaction layer when it relays
 * (parallel forking), or by t_load_contacts/t_next_contacts (serial
 * forking by q). Strings are copied into the message arena. */
#ifndef OSP_DSET_H
#define OSP_DSET_H

#include <stdint.h>

#include "sip/msg.h"

#define DSET_MAX_BRANCHES 12

typedef struct osp_branch {
	str_t uri;      /* Request-URI of the branch */
	str_t dst_uri;  /* next hop, empty: resolve uri */
	str_t path;     /* Path vector (comma-separated), becomes Route */
	int q;          /* q x1000, -1 when unspecified */
	uint32_t flags; /* branch flags */
	str_t instance; /* +sip.instance of the contact */
	str_t ruid;     /* location record id */
	str_t ua;       /* User-Agent of the contact */
	void *socket;   /* forced send socket (net_listener_t *), NULL */
} osp_branch_t;

/* Add a branch (copied). 1, or -1 when the set is full or on memory
 * failure. */
int dset_append(sip_msg_t *msg, const osp_branch_t *b);
int dset_count(const sip_msg_t *msg);
/* Branch i (0-based over the added branches, not counting the R-URI). */
osp_branch_t *dset_get(sip_msg_t *msg, int i);
void dset_clear(sip_msg_t *msg);
/* Branch 0 as a branch (current R-URI, $du, path, q, bflags). */
void dset_branch0(sip_msg_t *msg, osp_branch_t *out);

#endif
