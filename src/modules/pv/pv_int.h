/* pv_int.h - declarations shared by the files of the pv module (not
 * public; other modules use pv.h). */
#ifndef OSP_PV_INT_H
#define OSP_PV_INT_H

#include <stdint.h>
#include <time.h>

#include "core/osp.h"
#include "modules/pv/pv.h"

/* ---- per-thread bounded caches (name -> parsed object) ---- */
#define PV_CACHE_BUCKETS 256

typedef struct pv_cache_ent {
	char *key;
	size_t klen;
	uint32_t hash;
	void *obj;
	struct pv_cache_ent *next; /* bucket chain */
} pv_cache_ent_t;

typedef struct pv_cache {
	pv_cache_ent_t *buckets[PV_CACHE_BUCKETS];
	pv_cache_ent_t **ring; /* insertion order, for FIFO eviction */
	size_t max, pos, count;
	void (*free_obj)(void *obj);
} pv_cache_t;

/* One thread's $var value. */
typedef struct pv_varval {
	int init; /* set from the declared default on first use */
	int is_str;
	long n;
	char *s; /* malloc'ed, NUL-terminated */
	size_t len, cap;
} pv_varval_t;

/* Everything pv keeps per thread. Allocated on first use, freed by a
 * pthread key destructor when the thread exits. */
typedef struct pv_tls {
	pv_cache_t spec_cache;
	pv_cache_t fmt_cache;
	pv_varval_t *vars; /* indexed by $var slot */
	size_t nvars;
	unsigned ring_idx;
	/* per-message time cache for $Ts / $Tf */
	const void *t_msg;
	uint64_t t_msgid;
	time_t t_val;
	char t_fmt[32];
	char ring[PV_RING_SLOTS][PV_RING_SIZE];
} pv_tls_t;

/* This thread's state; NULL only when out of memory. */
pv_tls_t *pv_tls(void);

/* Built-in class tables (NULL-name terminated). */
extern const pv_class_t pv_core_classes[];
extern const pv_class_t pv_var_classes[];

/* Process start time for $TS (set at the first parse or at module init). */
void pv_core_init(void);

/* $var registry */
#define PV_VAR_MAX 16384
/* Slot of $var(name), created on first use. -1 with err on overflow. */
long pv_var_slot(str_t name, char *err, size_t errlen);
/* Default for a $var (modparam varset); applies to threads that have not
 * used the variable yet. 0 or -OSP_ENOMEM. */
int pv_var_set_default(str_t name, const ksr_xval_t *val);
void pv_vars_tls_free(pv_tls_t *t);

/* $shv registry */
#define PV_SHV_MAX 4096
typedef struct pv_shv pv_shv_t;
/* Find or create (create = 1) $shv(name). NULL when absent / on error. */
pv_shv_t *pv_shv_lookup(str_t name, int create, char *err, size_t errlen);
/* Visit every $shv, copying each value out under its lock. */
int pv_shv_foreach(int (*cb)(str_t name, const ksr_xval_t *v, void *arg),
		   void *arg);

/* Helpers for getters */
static inline int pv_ret_null(ksr_xval_t *o)
{
	o->type = KSR_NULL;
	o->n = 0;
	o->s = STR_NULL;
	return 0;
}
static inline int pv_ret_int(ksr_xval_t *o, long n)
{
	o->type = KSR_INT;
	o->n = n;
	o->s = STR_NULL;
	return 0;
}
static inline int pv_ret_str(ksr_xval_t *o, str_t s)
{
	o->type = KSR_STR;
	o->n = 0;
	o->s = s;
	return 0;
}
/* A string with a numeric companion ($rm + method id, $pr + proto id). */
static inline int pv_ret_strn(ksr_xval_t *o, str_t s, long n)
{
	o->type = KSR_STR;
	o->n = n;
	o->s = s;
	return 0;
}

/* ---- transformations (pv_trans.c) ---- */
/* Parse the chain "{a.b,p}{c.d}" at s (s[0] == '{'); *used gets the bytes
 * taken, *out the chain (strings point into s, which must live as long).
 * 0, or -1 with err filled. */
int pv_trans_parse(const char *s, size_t len, size_t *used, void **out,
		   char *err, size_t errlen);
/* Apply the chain to *v in place. */
int pv_trans_apply(ksr_ctx_t *ctx, const void *chain, ksr_xval_t *v);
void pv_trans_free(void *chain);
void pv_trans_thread_cleanup(void);

/* Decimal text of v into the scratch ring. */
str_t pv_int_to_str(ksr_ctx_t *ctx, long v);
/* Strict signed decimal ("-12"); 0 or -1. */
int pv_parse_long(str_t s, long *out);

#endif
