/* rpc.h - the JSON-RPC 2.0 control plane.
 *
 * Commands are registered by the modules and engines that own them (through
 * osp_module_t.rpc or rpc_register). A command receives the JSON-RPC
 * "params" (an array for positional parameters as ospreyctl sends them, an
 * object, or NULL) and returns a new reference to its result, or NULL after
 * filling *err (a command with nothing to return returns json_null()).
 * Commands run in the control thread: they must not block for long and must
 * lock what they share with workers. See docs/rpc.md. */
#ifndef OSP_RPC_H
#define OSP_RPC_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

typedef struct rpc_error {
	int code;         /* JSON-RPC error code, e.g. -32602 */
	char message[512];
} rpc_error_t;

typedef json_t *(*rpc_fn_t)(json_t *params, rpc_error_t *err);

typedef struct rpc_export {
	const char *name; /* "core.version" */
	rpc_fn_t fn;
	const char *doc;  /* one line for system.listMethods / docs */
} rpc_export_t;

int rpc_register(const rpc_export_t *table); /* NULL-name terminated */
const rpc_export_t *rpc_find(const char *name);
/* Call fn for each registered command, in registration order. */
void rpc_foreach(void (*fn)(const rpc_export_t *e, void *arg), void *arg);

/* Standard JSON-RPC 2.0 error codes. Commands may also use their own codes
 * (Kamailio-style 400/404/500) for application errors. */
#define RPC_E_PARSE	       -32700
#define RPC_E_INVALID_REQUEST  -32600
#define RPC_E_METHOD_NOT_FOUND -32601
#define RPC_E_INVALID_PARAMS   -32602
#define RPC_E_INTERNAL	       -32603

/* Positional parameter helpers: NULL / -1 and *err set (-32602) when
 * missing or of the wrong type, or when params is an object (named
 * parameters are the command's own business).
 * rpc_param_str also accepts an integer (ospreyctl sends arguments that look
 * like integers as JSON integers): the array element is replaced by its
 * decimal string, so the returned pointer lives as long as params.
 * rpc_param_int also accepts a string holding a whole decimal integer. */
const char *rpc_param_str(json_t *params, size_t i, rpc_error_t *err);
int rpc_param_int(json_t *params, size_t i, long *out, rpc_error_t *err);
json_t *rpc_fail(rpc_error_t *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Handle one JSON-RPC request text; returns the response text (malloc'ed,
 * NULL for a notification). Never fails on bad input: answers with a
 * JSON-RPC error object. */
char *rpc_handle(const char *req, size_t len);

/* Control socket (UNIX stream). mode 0 means the default: 0600, or 0660
 * when a group is given; path NULL means osp_default_rpc_socket() (see
 * core/rundir.h). The socket's directory is created when missing (0700,
 * or 0750 with the group). A stale socket is replaced; a live one, or a
 * file that is not a socket, makes the start fail. Runs its own thread.
 * Returns 0 or -OSP_E*. */
int rpc_server_start(const char *path, const char *group, int mode);
void rpc_server_stop(void);
/* Limits of the control socket, to be set before rpc_server_start; 0 keeps
 * a default (idle timeout 30000 ms, request size 1 MiB, 64 clients). */
void rpc_server_set_limits(int idle_ms, size_t max_request, int max_clients);

/* Core commands (core.*, system.*, stats.*), registered by main. */
extern const rpc_export_t osp_core_rpc[];
/* The time shown as up_since by core.uptime; defaults to program start. */
void rpc_core_set_start_time(time_t t);

#endif
