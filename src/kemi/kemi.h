/* kemi.h - the KSR export registry: how modules declare functions for
 * routing scripts, and how engines call them.
 *
 * Every module declares one static table of ksr_export_t. The registry keeps
 * the tables of the loaded modules; engines walk it once per interpreter to
 * build their KSR object (KSR.<module>.<name>, module "" sits on KSR itself)
 * and call the functions through one uniform signature:
 *
 *     int fn(ksr_ctx_t *ctx, const ksr_arg_t *args, ksr_xval_t *ret);
 *
 * The engine converts the script's arguments to args[] according to
 * ptypes[] (checking them: a bad argument is a script error, never a crash),
 * calls fn, then converts the result according to rtype:
 *   KSR_INT  the int returned, passed through unchanged (-1 stays -1)
 *   KSR_BOOL the engine's boolean (0 false, anything else true)
 *   KSR_XVAL *ret (int, string or null); strings are copied at once
 *   KSR_NONE nothing
 * Integer convention: >0 true/ok, <0 false/error, 0 stop the script. */
#ifndef OSP_KEMI_H
#define OSP_KEMI_H

#include <stdint.h>
#include <stdio.h>

#include "core/str.h"
#include "sip/msg.h"

#define KSR_PARAMS_MAX 6

typedef enum ksr_type {
	KSR_NONE = 0,
	KSR_INT = 1,
	KSR_STR = 2,
	KSR_BOOL = 4,
	KSR_XVAL = 8,
	KSR_NULL = 16,
} ksr_type_t;

typedef struct ksr_arg {
	long n;  /* KSR_INT */
	str_t s; /* KSR_STR; valid for the duration of the call */
} ksr_arg_t;

typedef struct ksr_xval {
	ksr_type_t type; /* KSR_INT, KSR_STR or KSR_NULL */
	long n;
	str_t s; /* may point into a buffer the callee owns until its next call */
} ksr_xval_t;

/* Kind of route being run. */
typedef enum ksr_route_type {
	KSR_ROUTE_REQUEST = 1,
	KSR_ROUTE_REPLY,     /* core reply route (stateless) */
	KSR_ROUTE_ONSEND,
	KSR_ROUTE_BRANCH,
	KSR_ROUTE_ONREPLY,   /* transaction onreply */
	KSR_ROUTE_FAILURE,
	KSR_ROUTE_BRANCH_FAILURE,
	KSR_ROUTE_EVENT,
	KSR_ROUTE_LOCAL,
} ksr_route_type_t;

#define KSR_CTX_EXIT 0x1 /* stop the script (KSR.x.exit) */
#define KSR_CTX_DROP 0x2 /* drop the message / branch / reply (KSR.x.drop) */

/* One script invocation: the message and the run state the functions may
 * change. Owned by the caller of the route (the worker). */
typedef struct ksr_ctx {
	sip_msg_t *msg;
	ksr_route_type_t route;
	unsigned flags;    /* KSR_CTX_* */
	uint32_t sflags;   /* script flags, zeroed per route run */
	int worker;        /* worker index, -1 outside workers */
	void *engine_data; /* engine-private */
	void *tm;          /* transaction state, owned by tm (later) */
	char buf[1024];    /* scratch for xval strings (copied by engines) */
} ksr_ctx_t;

typedef int (*ksr_fn_t)(ksr_ctx_t *ctx, const ksr_arg_t *args, ksr_xval_t *ret);

typedef struct ksr_export {
	const char *module; /* "" for KSR.<name> */
	const char *name;
	ksr_type_t rtype;
	ksr_fn_t fn;
	ksr_type_t ptypes[KSR_PARAMS_MAX]; /* KSR_INT/KSR_STR, 0-terminated */
} ksr_export_t;

/* Register a module's table (sentinel: name == NULL). Called by the module
 * loader for each loaded module, before any engine starts. */
int ksr_registry_add(const ksr_export_t *table);
/* Iterate every export: i from 0 while the result is not NULL. */
const ksr_export_t *ksr_registry_get(int i);
int ksr_registry_count(void);
/* Lookup by module and name ("" module for core). */
const ksr_export_t *ksr_registry_find(const char *module, const char *name);
/* Number of parameters of an export. */
int ksr_export_nparams(const ksr_export_t *e);
/* "int", "str", "bool", "xval", "none" */
const char *ksr_type_name(ksr_type_t t);
/* Print the whole API as JSON (fmt "json") or Markdown ("md"). */
int ksr_registry_print(FILE *out, const char *fmt);

/* Helpers for functions returning xval. */
static inline int ksr_xval_null(ksr_xval_t *r)
{
	r->type = KSR_NULL;
	return 1;
}
static inline int ksr_xval_int(ksr_xval_t *r, long n)
{
	r->type = KSR_INT;
	r->n = n;
	return 1;
}
static inline int ksr_xval_str(ksr_xval_t *r, str_t s)
{
	r->type = KSR_STR;
	r->s = s;
	return 1;
}

#endif
