/* tm_int.h - the transaction layer's internals, shared by the files of the
 * tm module (other modules use tm.h).
 *
 * A transaction (tm_cell_t) is one server transaction (the request we
 * received, RFC 3261 §17.2) plus the client transactions we created for it
 * (its branches, §17.1), as in a stateful proxy (§16). Cells live in a
 * hash table keyed by Call-ID and CSeq number, so a request, its
 * retransmissions, its ACK and its CANCEL all land in the same bucket; the
 * branch parameter we put in our Via encodes the bucket and the cell's
 * label, so a reply finds its cell without a search.
 *
 * Locking: each bucket has a mutex protecting its chain; each cell has a
 * recursive mutex protecting everything else in it. A bucket lock is never
 * held while taking a cell lock. Scripts (onreply, failure, branch routes)
 * run with the cell locked, as Kamailio runs them under its reply lock; the
 * mutex is recursive so the KSR.tm functions they call can lock again.
 *
 * Lifetime: a cell is reference counted. It holds one reference on itself
 * while it is alive (dropped when its wait timer ends it), each armed timer
 * holds one, each pending worker job one, and every user (a script run, a
 * reply being processed) one. A cell stays linked in its bucket until the
 * last reference goes, marked dead once ended so that lookups skip it;
 * the module's destroy frees whatever is left, including cells whose
 * queued worker jobs were dropped at shutdown. */
#ifndef OSP_TM_INT_H
#define OSP_TM_INT_H

#include <pthread.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/stats.h"
#include "core/timer.h"
#include "kemi/kemi.h"
#include "net/dns.h"
#include "net/net.h"
#include "sip/msg.h"

#define TM_MAX_BRANCHES	 24  /* all rounds of a transaction together */
#define TM_CB_NAME_MAX	 128 /* callback names, as Kamailio's limit */
#define TM_MAX_FAILOVER	 4   /* DNS candidates kept per branch */
#define TM_BRANCH_PREFIX "z9hG4bKtm"

/* ---- configuration (modparams, milliseconds) ---- */
typedef struct tm_cfg {
	int fr_timer;	  /* final response timeout (Timer B/F) */
	int fr_inv_timer; /* INVITE after a provisional reply */
	int t1, t2, t4;	  /* retr_timer1, retr_timer2, retr_timer4 */
	int wait_timer;	  /* how long an ended transaction absorbs */
	int max_inv_lifetime;
	int max_noninv_lifetime;
	int auto_inv_100;
	char *auto_inv_100_reason;
	int restart_fr_on_each_reply;
	int disable_6xx_block;
	int remap_503_500;
	int use_dns_failover;
	int hash_size; /* buckets, a power of two */
} tm_cfg_t;

extern tm_cfg_t tm_cfg;

/* ---- statistics ---- */
extern osp_counter_t tm_st_created, tm_st_freed, tm_st_current, tm_st_waiting,
    tm_st_relayed, tm_st_rpl_received, tm_st_rpl_generated, tm_st_rpl_sent,
    tm_st_rtx_absorbed, tm_st_uac_rtx, tm_st_timeouts, tm_st_class[7];

/* ---- timers ----
 * A timer slot embedded in a cell. Protocol (all under the cell lock):
 * busy means armed or its callback taken by the timer thread; a busy slot
 * holds one reference on the cell. Re-arming or stopping a slot whose
 * callback is already on its way sets `cancel` (and `rearm`), and the
 * callback then obeys that instead of acting. The callback never blocks
 * on the cell lock: when the cell is busy it tries again 10 ms later. */
struct tm_cell;
typedef struct tm_timer {
	osp_timer_t t;
	struct tm_cell *cell;
	void (*fire)(struct tm_cell *c, struct tm_timer *tt); /* cell locked */
	int arg; /* branch index for branch timers */
	unsigned busy : 1, cancel : 1;
	unsigned rearm; /* ms, for a cancelled in-flight callback */
} tm_timer_t;

/* ---- one branch: a client transaction ---- */
typedef struct tm_branch {
	int idx;
	char *buf; /* the request as sent (heap) */
	size_t len;
	net_dest_t dst;
	net_dest_t alt[TM_MAX_FAILOVER]; /* next DNS candidates (failover) */
	int n_alt;
	char *uri;     /* its Request-URI (heap, NUL-terminated) */
	char *dst_uri; /* its $du, NULL when unset */
	char *path;    /* its Path vector, NULL when none */
	uint32_t bflags;
	int last_code;	/* last reply received, 0 none */
	int final_code; /* final outcome, 0 while pending */
	char *reply;	/* final negative reply, ready for upstream */
	size_t reply_len;
	char *reason;	    /* its reason phrase (heap) */
	char *totag;	    /* To tag of that reply (heap), for ACK matching */
	unsigned local : 1, /* final_code was made up here (408, 487) */
	    timeout : 1, replied : 1, provisional : 1, cancel_wanted : 1,
	    cancel_sent : 1, cancel_done : 1, fr_expired : 1, failed_over : 1,
	    retr_to_t2 : 1;
	unsigned retr_ms;
	tm_timer_t retr, fr;
	/* the CANCEL we sent on this branch (a non-INVITE client
	 * transaction of its own, answered by its own 200) */
	char *cancel;
	size_t cancel_len;
	unsigned cancel_retr_ms;
	uint64_t cancel_deadline;
	tm_timer_t cancel_retr;
} tm_branch_t;

/* An AVP kept with the transaction ($avp values live in the message, the
 * transaction carries them to its failure and onreply routes). */
typedef struct tm_avp {
	char *name;
	size_t name_len;
	int is_str;
	long n;
	char *s;
	size_t s_len;
} tm_avp_t;

/* A contact for serial forking (t_load_contacts / t_next_contacts). */
typedef struct tm_contact {
	char *uri, *dst_uri, *path, *instance, *ruid;
	int q;
	uint32_t flags;
	void *socket;
} tm_contact_t;

/* A header change the script made before relaying, kept to rebuild the
 * request for the failure route (Kamailio's saved lumps). */
typedef struct tm_lump {
	int kind;	    /* 0 added header, 1 changed received header */
	int where, anchor;  /* added: sip_add_where_t and anchor */
	int hdr_idx;	    /* changed: header index */
	unsigned hdr_flags; /* changed: flags */
	char *text;	    /* added line / replacement (heap), may be NULL */
	size_t len;
} tm_lump_t;

typedef struct tm_cell {
	struct tm_cell *next, *prev; /* bucket chain */
	unsigned bucket;
	uint32_t label;
	int refcnt; /* atomic */
	int dead;   /* under the bucket lock: ended, skip it */
	pthread_mutex_t lock;
	uint64_t created_ms;

	/* the request as received (heap copy) and its identity; the str_t
	 * below point into req */
	char *req;
	size_t req_len;
	sip_rcv_t rcv;
	sip_method_t method;
	str_t method_s, callid, cseq_num, from_tag, to_tag, ruri;
	str_t via_branch, via_host, via_raw;
	int via_port;
	int rfc3261; /* branch with the magic cookie */

	/* server side */
	net_dest_t uas_dst;
	int uas_status;	 /* last code sent upstream, 0 none */
	char *uas_reply; /* last reply sent upstream (heap) */
	size_t uas_reply_len;
	char uas_totag[80]; /* To tag of the final reply sent upstream */
	unsigned uas_retr_ms;
	uint64_t uas_retr_deadline;
	tm_timer_t uas_retr, wait, lifetime;
	unsigned on_wait : 1, acked : 1, in_failure : 1, job_posted : 1,
	    lifetime_expired : 1, relayed : 1, no_internal_reply : 1,
	    no_6xx_block : 1, no_auto100 : 1, no_failover : 1, flags_saved : 1;
	int canceled; /* atomic: a CANCEL arrived */

	/* client side */
	tm_branch_t *br[TM_MAX_BRANCHES];
	int nbr;
	int round_start;	   /* first branch of the current relay round */
	unsigned fr_ms, fr_inv_ms; /* 0: module defaults */
	unsigned t1_ms, t2_ms;
	unsigned life_inv_ms, life_noninv_ms;

	/* script callbacks, by name (resolved when they fire) */
	char on_failure[TM_CB_NAME_MAX], on_reply[TM_CB_NAME_MAX],
	    on_branch[TM_CB_NAME_MAX], on_branch_failure[TM_CB_NAME_MAX];

	/* the routing state at the first relay, for the failure route's
	 * request (Kamailio's faked request) */
	uint32_t msg_flags, bflags0;
	char *saved_ruri, *saved_du, *saved_path, *saved_body;
	size_t saved_body_len;
	int has_saved_body;
	tm_lump_t *lumps;
	int n_lumps;
	unsigned saved_rport : 3;

	/* serial forking */
	tm_contact_t *contacts;
	int n_contacts;

	/* the request's AVPs, newest first */
	tm_avp_t *avps;
	int n_avps;
} tm_cell_t;

/* What KSR.tm functions see in ctx->tm during one route run. */
typedef struct tm_ctx {
	tm_cell_t *cell; /* the transaction, or NULL */
	int owns_ref;	 /* the request route holds a reference */
	int branch;	 /* $T_branch_idx */
	int reply_code;	 /* onreply: this reply; failure: the picked one */
	str_t reply_reason;
	sip_msg_t *reply; /* onreply route: the reply */
	/* set before the transaction exists (request route) */
	char *on_failure, *on_reply, *on_branch, *on_branch_failure;
	unsigned fr_ms, fr_inv_ms, t1_ms, t2_ms;
	unsigned life_inv_ms, life_noninv_ms;
	int auto100; /* -1 default */
	int no_internal_reply, no_6xx_block, no_failover;
	tm_contact_t *contacts; /* t_load_contacts before the transaction */
	int n_contacts;
	/* failure route: R-URI and $du when it started (a changed one makes
	 * branch 0 a new branch) */
	str_t fr_ruri0, fr_du0;
	int delayed_error; /* t_relay failed: reply this at the end */
	uint64_t precheck_key;
	int precheck_set;
} tm_ctx_t;

/* Test seams: how tm sends bytes and hands work to a worker. */
extern int (*tm_send_fn)(net_dest_t *dst, const char *buf, size_t len);
extern int (*tm_post_fn)(void (*fn)(void *arg), void *arg);

/* ---- t_cell.c: table, cells, references, timers, matching ---- */
int tm_table_init(int size);
void tm_table_destroy(void);
int tm_table_count(void);
/* Visit every live cell (the bucket is locked during fn: fn must not lock
 * cells). */
void tm_table_foreach(void (*fn)(tm_cell_t *c, void *arg), void *arg);

void tm_ref(tm_cell_t *c);
void tm_unref(tm_cell_t *c);
void tm_lock(tm_cell_t *c);
void tm_unlock(tm_cell_t *c);

/* Request matching (RFC 3261 §17.2.3, RFC 2543 rules without the magic
 * cookie). Kinds: */
enum {
	TM_MATCH_REQ = 0, /* same request (retransmission; ACK: its INVITE) */
	TM_MATCH_CANCEL,  /* the INVITE a CANCEL cancels */
	TM_MATCH_E2EACK,  /* the INVITE whose 2xx this ACK acknowledges */
};
/* The matching cell with a reference taken, or NULL. */
tm_cell_t *tm_lookup_request(sip_msg_t *msg, int kind);
/* Atomic lookup-or-create for a non-ACK request: *existed tells which.
 * The new cell has the alive reference plus one for the caller. NULL on
 * error (parse, memory). */
tm_cell_t *tm_lookup_or_create(sip_msg_t *msg, int *existed);
/* A reply's cell and branch (from our branch parameter), reference taken;
 * NULL when the reply is not ours. *is_cancel: reply to our CANCEL. */
tm_cell_t *tm_lookup_reply(sip_msg_t *msg, int *branch, int *is_cancel);
/* Write our branch parameter for branch idx of c. */
int tm_branch_param(const tm_cell_t *c, int idx, char *buf, size_t cap);

void tm_timer_setup(tm_cell_t *c, tm_timer_t *tt,
		    void (*fire)(tm_cell_t *c, tm_timer_t *tt), int arg);
void tm_timer_arm(tm_timer_t *tt, unsigned ms);
void tm_timer_stop(tm_timer_t *tt);

/* End of life: stop every timer, mark dead, drop the alive reference.
 * Cell locked by the caller, who keeps a reference of its own. */
void tm_cell_end(tm_cell_t *c);
/* Start the wait timer (the final reply went out): retransmissions are
 * absorbed until it fires, then the cell ends. Cell locked. */
void tm_put_on_wait(tm_cell_t *c);

/* tmx.t_precheck_trans: 1 when the same request is already being
 * processed (key added), 0 when it was not (key added now). */
int tm_precheck_add(sip_msg_t *msg, uint64_t *key);
void tm_precheck_del(uint64_t key);

/* Hand a job to a worker for c (reference taken, released by the job). */
void tm_post_job(tm_cell_t *c);

/* ---- t_uas.c: the server side ---- */
/* Send a reply upstream built from request req (the received one or the
 * failure route's), store it for retransmission, update the state. Cell
 * locked. 1 or -1. */
int tm_uas_reply(tm_cell_t *c, sip_msg_t *req, int code, str_t reason,
		 str_t extra, str_t body);
/* Send bytes upstream as the transaction's reply `code` (a relayed or
 * stored reply). Cell locked. 1 or -1. */
int tm_uas_send(tm_cell_t *c, int code, const char *buf, size_t len,
		str_t totag);
/* A retransmitted request: resend the last reply. */
void tm_uas_retransmit(tm_cell_t *c);
/* Timer G/H of the server side (set up with the cell). */
void tm_uas_retr_fire(tm_cell_t *c, tm_timer_t *tt);
/* The ACK for a negative final reply arrived. */
void tm_uas_acked(tm_cell_t *c);
/* Build a local reply from the stored request (when the script is not
 * running: timeouts, CANCEL). Cell locked. 1 or -1. */
int tm_uas_local_reply(tm_cell_t *c, int code, str_t reason, arena_t *a);
/* Re-parse the stored request into msg (arena a) and apply the routing
 * state saved at the first relay (the failure route's request). 0 or -1. */
int tm_fake_request(tm_cell_t *c, sip_msg_t *msg, arena_t *a);
/* Save the routing state of msg (R-URI, $du, flags, header changes). */
int tm_save_state(tm_cell_t *c, sip_msg_t *msg);
/* Keep msg's AVPs with the transaction (replacing what it had), and give
 * them to another message of it (the failure route's request, a reply
 * for its onreply route). */
void tm_avps_save(tm_cell_t *c, sip_msg_t *msg);
void tm_avps_load(tm_cell_t *c, sip_msg_t *msg);
void tm_avps_free(tm_cell_t *c);

/* ---- t_event.c: callbacks of other modules (tm.h) ---- */
/* The first final reply of c went upstream (buf: the reply as sent).
 * Cell locked. */
void tm_event_final_reply(tm_cell_t *c, int code, const char *buf, size_t len,
			  str_t totag);

/* ---- t_fwd.c: relaying, CANCEL, local ACK ---- */
/* Relay msg on c: a new round of branches (branch 0 when `with_ruri`,
 * plus the destination set). uri: forced next hop (empty: per branch).
 * proto: forced transport (0: from the URI). Cell locked. Returns the
 * number of branches sent (> 0), or a negative SIP-ish error: -478 no
 * destination could be resolved, -477 sending failed, -487 canceled,
 * -500 otherwise. */
int tm_relay_branches(ksr_ctx_t *ctx, tm_cell_t *c, sip_msg_t *msg,
		      int with_ruri, str_t uri, int proto);
/* CANCEL every pending branch but `except` (-1: all); INVITE only. */
void tm_cancel_branches(tm_cell_t *c, int except, arena_t *a);
void tm_cancel_one(tm_cell_t *c, tm_branch_t *b, arena_t *a);
/* Send the CANCEL of branch b now (it has a provisional reply). */
void tm_send_cancel(tm_cell_t *c, tm_branch_t *b, arena_t *a);
/* The ACK of a negative final reply on branch b (reply: its To). */
void tm_send_local_ack(tm_cell_t *c, tm_branch_t *b, sip_msg_t *reply,
		       arena_t *a);
/* Send branch b again to its next DNS candidate (503/timeout failover).
 * 1 when a new branch went out, 0 when there is no other candidate. */
int tm_failover(tm_cell_t *c, tm_branch_t *b, arena_t *a);
void tm_branch_free(tm_branch_t *b);
/* Resolve a URI to destinations (first the one to use). <= 0 on error. */
int tm_resolve(arena_t *a, str_t uri, int proto, net_dest_t *out, int max);
unsigned tm_t1(const tm_cell_t *c);
unsigned tm_t2(const tm_cell_t *c);
unsigned tm_fr(const tm_cell_t *c);
unsigned tm_fr_inv(const tm_cell_t *c);

/* ---- t_reply.c: replies from downstream, timeouts, best reply ---- */
/* osp_reply_hook: 1 consumed, 0 not ours. */
int tm_reply_received(sip_msg_t *msg);
/* The branch whose reply goes upstream (RFC 3261 §16.7), or -1 while
 * some branch is pending. */
int tm_pick_branch(tm_cell_t *c);
/* Reply priority (lower is better), Kamailio-like. */
int tm_reply_prio(int code, int local);
/* All branches answered: run the failure route or send the best reply. */
void tm_check_done(tm_cell_t *c, arena_t *a);
/* The worker job posted by timers (branch timeouts, lifetime). */
void tm_job(void *arg);
/* Run a named route for c in the calling worker. */
int tm_run_route(tm_cell_t *c, const char *name, ksr_route_type_t type,
		 sip_msg_t *msg, int branch, int code, str_t reason,
		 sip_msg_t *reply);

/* ---- tm_mod.c ---- */
tm_ctx_t *tm_ctx(ksr_ctx_t *ctx, int create);

#endif
