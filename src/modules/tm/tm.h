/* tm.h - what other modules (tmx, registrar, ...) may call in tm.
 *
 * All functions take the script context of the route being run; they
 * follow the KSR return convention (1 true/ok, -1 false/error). */
#ifndef OSP_MOD_TM_H
#define OSP_MOD_TM_H

#include "core/arena.h"
#include "core/str.h"
#include "kemi/kemi.h"

/* 1 when the request of ctx has a transaction (created, matched, or the
 * one a tm route runs for), -1 otherwise. */
int tm_has_transaction(ksr_ctx_t *ctx);

/* Stateful reply to the request of ctx through its transaction: 1 sent,
 * -1 error, 0 when there is no transaction. */
int tm_reply_ctx(ksr_ctx_t *ctx, int code, str_t reason, str_t extra,
		 str_t body);

/* tmx.t_precheck_trans: 1 when the same request (a retransmission) is
 * being processed by another worker right now, -1 otherwise (this one is
 * then registered until its request route ends). */
int tm_precheck_trans(ksr_ctx_t *ctx);

/* tmx.t_flush_flags: copy the message flags into the transaction (they
 * are what the failure route sees). 1 or -1. */
int tm_flush_flags(ksr_ctx_t *ctx);

/* tmx.t_cancel_branches("all" | "others" | "this"): CANCEL pending
 * branches from an onreply route ("this" and "others" relative to the
 * branch of the reply). 1 or -1. */
int tm_cancel_branches_ctx(ksr_ctx_t *ctx, str_t which);

/* ---- transaction events (for acc) ----
 * A module may ask to be told when a transaction sends its first final
 * reply upstream, relayed or generated here (Kamailio's TMCB_RESPONSE_OUT
 * for a final reply). The callback runs on the thread sending the reply,
 * with the transaction locked: it must be short (no disk or network I/O;
 * hand such work to worker_post) and must call no tm function other than
 * tm_event_request. */
typedef struct tm_event {
	int code;	     /* the final status sent upstream */
	str_t reason;	     /* its reason phrase */
	str_t totag;	     /* its To tag (empty when none) */
	sip_method_t method; /* the transaction's method */
	uint32_t flags;	     /* message flags: as saved at t_relay, else as
				when replied locally or by t_flush_flags */
	void *cell;	     /* opaque, for tm_event_request */
} tm_event_t;

typedef void (*tm_event_fn)(const tm_event_t *ev);

/* Register fn for final replies (at module init, before workers start).
 * 0, or -1 when the (small) table is full. */
int tm_on_final_reply(tm_event_fn fn);

/* The request of ev's transaction as the script left it when it relayed
 * it (R-URI, $du, flags, AVPs; the received request when it was never
 * relayed), parsed into msg with its strings in arena a. 0 or -1. */
int tm_event_request(const tm_event_t *ev, sip_msg_t *msg, arena_t *a);

#endif
