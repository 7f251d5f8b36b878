/* worker.h - worker threads: one event loop and one interpreter each. */
#ifndef OSP_WORKER_H
#define OSP_WORKER_H

int workers_start(int n);
/* Ask every worker to stop after the message in hand, and wait for them. */
void workers_stop(void);
void worker_stats_register(void);
/* Compile log_prefix (pseudo-variables allowed); 0 or -1 with err. */
int worker_set_log_prefix(const char *text, char *err, size_t errlen);

#include "kemi/kemi.h"
#include "sip/msg.h"

/* Run fn(arg) on worker `worker` (any worker, round robin, when < 0),
 * between two messages. Used by the timer thread and the control thread to
 * hand over work that needs an interpreter. 0 or -1 (not running). */
int worker_post(int worker, void (*fn)(void *arg), void *arg);
/* Index of the calling worker thread, -1 elsewhere. */
int worker_current(void);
/* From a worker thread: run script function fname with ctx (the route
 * type, message and flags are the caller's). Engine result: 1 ran, 0 not
 * defined, -1 script error; -2 when not called on a worker. May be called
 * from inside a running route (tm's branch route runs inside t_relay): the
 * interpreter is then not swapped for a reloaded one until the outer route
 * ends. */
int worker_run_route(ksr_ctx_t *ctx, const char *fname);

/* Called for each received reply after the reply route (ksr_reply_route,
 * as Kamailio runs its core onreply_route first) unless that route dropped
 * it; returns 1 when it consumed the reply (the transaction layer), 0 to go
 * on statelessly. */
typedef int (*osp_reply_hook_fn)(sip_msg_t *msg);
extern osp_reply_hook_fn osp_reply_hook;

/* Called after the request route ran for a request (rc: the engine's
 * result, <= 0 when the route is missing or failed), before the core's
 * fallback 500: the transaction layer releases what the script left in
 * ctx->tm and sends its delayed replies. */
typedef void (*osp_request_done_fn)(ksr_ctx_t *ctx, int rc);
extern osp_request_done_fn osp_request_done_hook;

#endif
