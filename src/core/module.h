/* module.h - compiled-in modules: the declarative struct each one exports.
 *
 * Modules are compiled in (like nginx's static modules). Each declares one
 * osp_module_t listing its KSR exports, its modparams, its RPC commands and
 * its init hooks. `loadmodule "x.so"` marks module x loaded; only loaded
 * modules appear in KSR. Modules with `always` set are loaded regardless
 * (core KSR functions, pv, hdr, x). When a routing script is run directly
 * (osprey -f routing.lua) every compiled-in module is loaded. */
#ifndef OSP_MODULE_H
#define OSP_MODULE_H

#include "kemi/kemi.h"
#include "rpc/rpc.h"

typedef enum {
	MP_INT = 1,
	MP_STR = 2,
} osp_param_type_t;

/* A module parameter. Exactly one of var or set is used:
 *  - var: an int * (MP_INT) or a char ** (MP_STR, strdup'ed, the previous
 *    value freed when it was set by an earlier modparam);
 *  - set: called for each modparam (repeatable parameters such as
 *    app_lua "load"); returns 0, or -1 with err filled.
 * MP_INT parameters accept integers and the strings "yes/no/on/off/true/
 * false"; MP_STR accept strings only, unless type is MP_INT|MP_STR. */
typedef struct osp_param {
	const char *name;
	int type;
	void *var;
	int (*set)(const char *param, int type, const char *sval, long ival,
		   char *err, size_t errlen);
} osp_param_t;

typedef struct osp_module {
	const char *name;
	const ksr_export_t *exports; /* may be NULL */
	const osp_param_t *params;   /* NULL-name terminated, may be NULL */
	const rpc_export_t *rpc;     /* NULL-name terminated, may be NULL */
	int (*init)(void);           /* once, after the configuration */
	int (*child_init)(int worker); /* in each worker thread, at start */
	void (*destroy)(void);       /* at shutdown */
	int always;                  /* loaded without loadmodule */
	int loaded;                  /* set by the loader */
} osp_module_t;

/* All compiled-in modules (NULL-terminated), defined in modules/modules.c. */
extern osp_module_t *osp_modules[];

osp_module_t *module_find(const char *name);
/* loadmodule: accepts "sl", "sl.so", "/path/to/sl.so". 0 or -1 (unknown). */
int module_load(const char *name);
/* 1 for Kamailio module names whose job the core does (jsonrpcs, ctl, kex,
 * cfg_rpc, db_sqlite, ...): loadmodule accepts them and does nothing, their
 * modparams are ignored. */
int module_is_builtin(const char *name);
/* For a builtin accepted with a caveat (debugger): the warning to log when
 * it is loaded; NULL otherwise. */
const char *module_builtin_warning(const char *name);
/* For a Kamailio module Osprey refuses (db_mysql, tls, ...): the message
 * saying why and what to do instead; NULL otherwise. */
const char *module_refusal(const char *name);
/* Load every compiled-in module (script run directly). */
void module_load_all(void);
/* modparam: type-checked. 0, or -1 with err filled (unknown module, module
 * not loaded, unknown parameter, wrong type). */
int module_param_set(const char *mod, const char *param, int type,
		     const char *sval, long ival, char *err, size_t errlen);
/* Register exports and RPCs of loaded modules (no init hook: enough to
 * list the API). */
int modules_register(void);
/* modules_register, then run the init hooks. */
int modules_init(void);
int modules_child_init(int worker);
void modules_destroy(void);

#endif
