/* pv.h - pseudo-variables: the engine behind $ru, $hdr(Via), $var(x), ...
 *
 * Names and semantics follow Kamailio 5.6's pv module. A variable name is
 * parsed once into a pv_spec_t ("compile once") and evaluated many times
 * against a message with pv_get()/pv_set(). Formats ("from $fu to $ru") are
 * parsed once into a pv_fmt_t and printed with pv_fmt_eval().
 *
 * Users: KSR.pv.* (module pv), xlog, log_prefix, and the native routing
 * language. Other modules may add variable classes ($sht from htable, $T_*
 * from tm) with pv_register_classes() at init time.
 *
 * Values are ksr_xval_t:
 *   KSR_NULL  the variable is unset or absent (header missing, no To tag);
 *   KSR_INT   n holds the number ($sp, $rs, $ml, int $var);
 *   KSR_STR   s holds the text; n holds the variable's numeric companion
 *             when it has one (the method id for $rm, the proto id for $pr,
 *             the port for $rp, ...), else 0. KSR.pv.geti uses it.
 * Strings returned by pv_get point into the message buffer, the message
 * arena, the variable's own storage ($var: valid until the variable is next
 * written on this thread), or a per-thread ring of scratch buffers (values
 * computed at read time: $si, $hdr(X)[*], $shv(x), ...), which stays valid
 * until the thread has produced PV_RING_SLOTS-1 more computed values. Copy a
 * string that must live longer.
 *
 * Threads: specs and formats are immutable after parsing and may be shared
 * between threads. $var values are per thread (per worker) and persist from
 * one message to the next, as Kamailio keeps them per process. $avp values
 * live in the message. $shv values are process-wide, behind a mutex. */
#ifndef OSP_PV_H
#define OSP_PV_H

#include <stddef.h>

#include "core/str.h"
#include "kemi/kemi.h"

typedef struct pv_spec pv_spec_t;
typedef struct pv_fmt pv_fmt_t;

/* Getter: fill *out (KSR_NULL when unset). 0, or -OSP_E* on an internal
 * error (the caller then treats the value as null). Getters and setters
 * must not call pv_spec_cached()/pv_fmt_cached(): the spec being evaluated
 * may itself be a borrowed cache entry. */
typedef int (*pv_get_fn)(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out);
/* Setter: val->type KSR_NULL means "unset". 0, or -OSP_E* after logging
 * the reason (wrong type, no message, ...). */
typedef int (*pv_set_fn)(ksr_ctx_t *ctx, const pv_spec_t *sp,
			 const ksr_xval_t *val);

/* Class flags */
#define PV_CF_NAME  0x1 /* takes an inner name: $hdr(Name); required */
#define PV_CF_INDEX 0x2 /* accepts an index: $(hdr(Via)[1]), [*], [-1] */
#define PV_CF_DYNNAME                                                          \
	0x4 /* the inner name may be a variable: $hdr($var(h))                 \
	     */

/* A variable class: one entry per name ("ru", "hdr", "T_branch_idx"). */
typedef struct pv_class {
	const char *name;
	pv_get_fn get;
	pv_set_fn set; /* NULL: read-only */
	unsigned flags;
	long iparam; /* copied into spec->iparam (which attribute, ...) */
	/* Optional: validate / pre-compute the inner name at parse time.
	 * May set sp->data (freed with free_data) and sp->iparam. 0, or -1
	 * with err filled. Not called for dynamic (variable) names. */
	int (*parse_name)(pv_spec_t *sp, str_t name, char *err, size_t errlen);
	void (*free_data)(void *data);
} pv_class_t;

/* Index kinds */
enum {
	PV_IDX_NONE = 0,
	PV_IDX_INT,  /* [n], [-n] (from the end) */
	PV_IDX_ALL,  /* [*] */
	PV_IDX_PVAR, /* [$var(i)] */
};

/* A parsed variable. Read-only once parsed. */
struct pv_spec {
	const pv_class_t *cls;
	char *text; /* the full source text, NUL-terminated (owned) */
	size_t text_len;
	str_t name;	    /* inner name as written (points into text) */
	pv_spec_t *name_pv; /* inner name is a variable (PV_CF_DYNNAME) */
	long iparam;	    /* class parameter, see pv_class_t */
	void *data;	    /* class-private parse result */
	int idx_type;	    /* PV_IDX_* */
	long idx;	    /* PV_IDX_INT */
	pv_spec_t *idx_pv;  /* PV_IDX_PVAR */
	/* Transformations ("$(ru{uri.user}{s.tolower})"): the chain parsed
	 * by pv_trans.c, applied by pv_get() to the getter's value; NULL when
	 * there is none. A variable with transformations is read-only. */
	void *trans;
};

/* ---- variables ---- */

/* Parse one variable name that must fill all of `name`: "$ru",
 * "$hdr(Via)", "$(hdr(Via)[1])", "$var(x)", "$avp(s:x)", "$shv(x)",
 * "$T_branch_idx", "$$". Returns a heap object to free with pv_spec_free,
 * or NULL with a readable reason in err ("unknown variable $foo", ...).
 * Thread-safe. $var/$shv names are registered process-wide on first use. */
pv_spec_t *pv_spec_parse(str_t name, char *err, size_t errlen);
void pv_spec_free(pv_spec_t *sp);

/* Like pv_spec_parse but returns a spec kept in a per-thread cache keyed by
 * the name string, so KSR.pv.get("$ru") costs a hash lookup, not a parse.
 * The cache holds at most PV_SPEC_CACHE_MAX names (oldest evicted first),
 * so scripts building names dynamically cannot grow it without limit. The
 * pointer is borrowed: valid until the next pv_spec_cached() call on this
 * thread. Parse failures are not cached. */
#define PV_SPEC_CACHE_MAX 1024
const pv_spec_t *pv_spec_cached(str_t name, char *err, size_t errlen);
size_t pv_spec_cache_count(void); /* entries on this thread (tests) */

/* Read a variable. ctx may be NULL (no message: message variables are
 * null). Always fills *out (KSR_NULL on error). 0 or -OSP_E*. */
int pv_get(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out);

/* Write a variable; val->type KSR_NULL unsets it. 0, or -OSP_EINVAL for a
 * read-only variable or a value of the wrong type (logged), -OSP_ENOMEM. */
int pv_set(ksr_ctx_t *ctx, const pv_spec_t *sp, const ksr_xval_t *val);

/* 1 when the variable can be written. */
int pv_is_writable(const pv_spec_t *sp);

/* Kamailio's geti: the integer of a value (companion number of a string
 * value, else the string parsed as a signed decimal, else 0; null is 0). */
long pv_value_int(const ksr_xval_t *v);

/* ---- formats ---- */

/* Parse text with embedded variables: "$rm from $fu ($$ is a dollar)".
 * "$$" prints "$"; a "$" that cannot start a variable name (followed by a
 * space, punctuation other than "(", or the end) is kept as literal text;
 * an unknown name ("$foo") is an error. Heap object, free with
 * pv_fmt_free; NULL with err filled on error. */
pv_fmt_t *pv_fmt_parse(str_t text, char *err, size_t errlen);
void pv_fmt_free(pv_fmt_t *f);
/* 1 when the format has no variables (its text is constant). */
int pv_fmt_is_static(const pv_fmt_t *f);

/* Print f into buf[0..cap): literal text as is, unset variables as
 * "<null>", numbers in decimal. buf is NUL-terminated and *out gets the
 * text. Do not pass ctx->buf as buf. Returns the length, or -OSP_ETOOBIG
 * when truncated (*out then holds the truncated text), -OSP_EINVAL. */
int pv_fmt_eval(ksr_ctx_t *ctx, const pv_fmt_t *f, char *buf, size_t cap,
		str_t *out);

/* Per-thread cache of parsed formats keyed by the format text (xlog and
 * other functions taking a format from scripts). At most PV_FMT_CACHE_MAX
 * entries; borrowed pointer valid until the next pv_fmt_cached() call on
 * this thread. */
#define PV_FMT_CACHE_MAX 256
const pv_fmt_t *pv_fmt_cached(str_t text, char *err, size_t errlen);
size_t pv_fmt_cache_count(void);

/* ---- extending ---- */

/* Add variable classes (table terminated by name == NULL; must stay valid).
 * A class registered here hides a built-in one of the same name. Call at
 * module init, before workers start: lookups take no lock. 0 or -1. */
int pv_register_classes(const pv_class_t *table);

/* For class implementations: resolve the inner name (a dynamic name is
 * evaluated and converted to text). 0, or -1 when a dynamic name is null. */
int pv_spec_name(ksr_ctx_t *ctx, const pv_spec_t *sp, str_t *out);
/* Resolve the index: *type gets PV_IDX_NONE/INT/ALL, *idx the number
 * (a variable index is evaluated). 0, or -1 when it is not a number. */
int pv_spec_index(ksr_ctx_t *ctx, const pv_spec_t *sp, int *type, long *idx);
/* A scratch buffer for a computed value of len bytes (per-thread ring, or
 * the message arena for large values). NULL when none is available. */
char *pv_scratch(ksr_ctx_t *ctx, size_t len);
#define PV_RING_SLOTS 16
#define PV_RING_SIZE  2048

/* ---- AVPs (per-message attribute stacks, $avp(name)) ----
 * Names compare case-insensitively. Values are copied into the message
 * arena. The newest value is index 0. */
int pv_avp_add(sip_msg_t *msg, str_t name, const ksr_xval_t *val);
/* idx >= 0 from the newest, < 0 from the oldest (-1 = oldest). 0 found,
 * -OSP_ENOTFOUND. Strings point into the arena. */
int pv_avp_get(sip_msg_t *msg, str_t name, long idx, ksr_xval_t *out);
/* Remove the newest value (all = 0) or every value (all = 1) of name.
 * Returns the number removed. */
int pv_avp_del(sip_msg_t *msg, str_t name, int all);
int pv_avp_count(sip_msg_t *msg, str_t name);
/* Visit every AVP of msg, newest first, until cb returns non-zero (that
 * value is returned; 0 after the last). For the transaction layer, which
 * keeps a request's AVPs for its failure and onreply routes. */
int pv_avp_foreach(sip_msg_t *msg,
		   int (*cb)(str_t name, const ksr_xval_t *val, void *arg),
		   void *arg);

/* ---- shared variables ($shv) ---- */
/* Set $shv(name) (created if needed); val KSR_NULL sets integer 0. */
int pv_shv_set(str_t name, const ksr_xval_t *val);
/* Copy $shv(name) out: strings into buf (truncated to cap-1, NUL-ended).
 * 0, or -OSP_ENOTFOUND when no such variable exists. */
int pv_shv_get(str_t name, ksr_xval_t *out, char *buf, size_t cap);

/* Free this thread's caches and $var values (called automatically when a
 * thread exits; the main thread calls it at shutdown). */
void pv_thread_cleanup(void);
/* Free process-wide state ($shv, $var names). Shutdown only. */
void pv_destroy(void);

#endif
