/* engine.h - the interface every script engine implements.
 *
 * An engine turns a script (osp_script_t, immutable and shared) into
 * interpreter instances: one per worker, plus scratch instances used to
 * check a script before it goes live. The core decides when an instance is
 * replaced (hot reload); engines never send packets and see modules only
 * through the KSR registry. */
#ifndef OSP_ENGINE_H
#define OSP_ENGINE_H

#include <stddef.h>

#include "kemi/kemi.h"

/* One version of the routing script, read once from disk. Reference
 * counted: workers keep the version their instance was built from. */
typedef struct osp_script {
	int refcnt;     /* atomic */
	unsigned gen;   /* generation number, moves on at each reload */
	char *path;
	char *src;      /* file contents, NUL-terminated */
	size_t len;
} osp_script_t;

osp_script_t *script_read(const char *path, unsigned gen, char *err,
			  size_t errlen);
void script_ref(osp_script_t *s);
void script_unref(osp_script_t *s);

typedef struct osp_engine {
	const char *name;       /* "lua": the cfgengine name */
	const char *ext;        /* ".lua": picked by extension with -f */
	const char *rpc_prefix; /* "app_lua": RPCs <prefix>.reload, .api_list */
	const char *module;     /* module holding the "load" modparam */
	/* Build an instance: load the script and run its top level. NULL on
	 * error with err = "file:line: message". worker is -1 for scratch. */
	void *(*create)(osp_script_t *s, int worker, char *err, size_t errlen);
	void (*destroy)(void *inst);
	/* 1 when the script defines function fname. */
	int (*has)(void *inst, const char *fname);
	/* Run function fname (arg may be NULL: event name for event routes).
	 * Returns 1 after a normal return or KSR.x.exit(), 0 when fname is not
	 * defined, -1 after a script error (already logged with file, line and
	 * traceback). KSR.x.drop() sets KSR_CTX_DROP in ctx->flags. */
	int (*run)(void *inst, ksr_ctx_t *ctx, const char *fname,
		   const char *arg);
} osp_engine_t;

const osp_engine_t *engine_find(const char *name);
const osp_engine_t *engine_by_ext(const char *path);

#endif
