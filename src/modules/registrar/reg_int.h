/* reg_int.h - registrar internals shared by its files. */
#ifndef OSP_REG_INT_H
#define OSP_REG_INT_H

#include "core/stats.h"
#include "kemi/kemi.h"
#include "modules/pv/pv.h"
#include "modules/usrloc/ul.h"

/* save() flags (Kamailio's values) */
#define REG_SAVE_MEM	     0x01 /* memory only, no database */
#define REG_SAVE_NOREPLY     0x02 /* do not send the reply */
#define REG_SAVE_REPLACE     0x04 /* keep one contact per AOR */
#define REG_SAVE_NOVARIATION 0x08 /* no expires randomisation */
#define REG_SAVE_ALL	     0x0F

/* path_mode */
enum { REG_PATH_OFF = 0, REG_PATH_LAZY = 1, REG_PATH_STRICT = 2 };

/* parameters (registrar.c) */
extern int reg_default_expires, reg_default_expires_range, reg_expires_range;
extern int reg_min_expires, reg_min_expires_mode, reg_max_expires;
extern int reg_max_contacts, reg_default_q, reg_append_branches;
extern int reg_case_sensitive, reg_method_filtering, reg_use_path;
extern int reg_path_mode, reg_path_use_received, reg_path_check_local;
extern int reg_gruu_enabled, reg_retry_after, reg_contact_max_size;
extern char *reg_received_param, *reg_realm_prefix;
extern pv_spec_t *reg_rcv_spec; /* received_avp, NULL when unset */

extern osp_counter_t reg_accepted, reg_rejected;

/* AOR of a URI as usrloc stores it: the user (%-escapes decoded), with
 * "@domain" when usrloc's use_domain is on, lower case unless
 * case_sensitive (the domain always). buf holds the result. 0, or -1
 * (*why set: "parse" for an unparsable URI, "user" for a missing user,
 * "len" when it does not fit, "escape" for a bad %-escape). */
int reg_aor(arena_t *a, str_t uri, char *buf, size_t cap, str_t *aor,
	    sip_uri_t *parsed, const char **why);

/* The location table; NULL (logged) when the name is invalid. */
ul_domain_t *reg_domain(str_t table);

/* The q value to use for message msg when set_q_override applies, else
 * -2. */
int reg_q_override(const sip_msg_t *msg);

/* save.c */
int reg_save(ksr_ctx_t *ctx, str_t table, long flags, str_t uri);

/* lookup.c */
int reg_lookup(ksr_ctx_t *ctx, str_t table, str_t uri, int to_dset);
int reg_lookup_branches(ksr_ctx_t *ctx, str_t table);
int reg_registered(ksr_ctx_t *ctx, str_t table, str_t uri);
int reg_unregister(ksr_ctx_t *ctx, str_t table, str_t uri, str_t ruid);

/* regpv.c: reg_fetch_contacts and $ulc */
int reg_fetch_contacts(ksr_ctx_t *ctx, str_t table, str_t uri, str_t prof);
int reg_free_contacts(str_t prof);
int reg_ulc_get(ksr_ctx_t *ctx, str_t prof, str_t attr, long idx,
		ksr_xval_t *out);
int reg_pv_register(void);
void reg_pv_destroy(void);

#endif
