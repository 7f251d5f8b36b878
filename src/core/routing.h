/* routing.h - the routing script in force, its generation, and hot reload.
 *
 * The core keeps one current osp_script_t. Reloading reads the file once,
 * builds a scratch interpreter from it to check it (syntax, top-level code,
 * the request route function), and only then publishes it with a new
 * generation number. Each worker, between two messages, compares its
 * instance's generation with the current one and swaps in a fresh
 * interpreter built from the new script. */
#ifndef OSP_ROUTING_H
#define OSP_ROUTING_H

#include <stddef.h>

#include "engines/engine.h"

int routing_init(const osp_engine_t *eng, const char *path, char *err,
		 size_t errlen);
/* Thread-safe; serialised. 0, or -1 with err = "file:line: message" (the
 * old script stays in force). */
int routing_reload(char *err, size_t errlen);
/* Current script with a reference the caller drops (script_unref). */
osp_script_t *routing_current(void);
unsigned routing_gen(void);
const osp_engine_t *routing_engine(void);
const char *routing_request_route(void);
/* Reload counters for the RPC answer. */
unsigned routing_reloads_ok(void);
unsigned routing_reloads_failed(void);
void routing_destroy(void);

#endif
