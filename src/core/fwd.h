/* fwd.h - sending SIP: local replies, stateless forwarding, and the
 * "myself" test. These wire the parser's builders to the transports and are
 * what modules call (sl, core KSR functions); modules never touch sockets. */
#ifndef OSP_FWD_H
#define OSP_FWD_H

#include "net/net.h"
#include "sip/msg.h"

/* Send a local reply to request `req` (RFC 3261 §18.2.2 routing by Via, with
 * rport/received). Adds a To tag for codes > 100 when the To has none. extra
 * is zero or more complete header lines. Marks req->replied for codes >= 200.
 * Returns 1 on success, -1 on error (as the KSR convention). */
int osp_send_reply(sip_msg_t *req, int code, str_t reason, str_t extra,
		   str_t body);

/* The pieces of osp_send_reply, for the transaction layer, which keeps the
 * reply bytes to resend them. osp_build_reply builds what osp_send_reply
 * would send (out in req->arena); osp_reply_dest fills where replies to req
 * go (RFC 3261 §18.2.2, RFC 3581: the connection or address it came from,
 * the sent-by port for UDP without rport). 0 or -1. */
int osp_build_reply(sip_msg_t *req, int code, str_t reason, str_t extra,
		    str_t body, str_t *out);
int osp_reply_dest(sip_msg_t *req, net_dest_t *dst);

/* Stateful replies: set by tm. Replies to the request of ctx through its
 * transaction when it has one (KSR.sl.send_reply and the like). Returns 1
 * sent, -1 error, 0 when there is no transaction (the caller then replies
 * statelessly with osp_send_reply). */
struct ksr_ctx;
typedef int (*osp_tm_reply_fn)(struct ksr_ctx *ctx, int code, str_t reason,
			       str_t extra, str_t body);
extern osp_tm_reply_fn osp_tm_reply_hook;

/* Stateless forward of a request to `uri` (empty: $du if set, else the
 * current R-URI). Adds our Via on top. 1 or -1. */
int osp_forward_request(sip_msg_t *msg, str_t uri);

/* The pieces of osp_forward_request, for the transaction layer (one call
 * per branch). osp_build_request builds msg as forwarded to the resolved
 * destination dst, with our Via (branch parameter `branch`) on top; it
 * picks the sending socket when dst->from is NULL and runs the pre-build
 * hook. out is in msg->arena. 0 or -1. osp_send_request runs the onsend
 * route and sends: 1 sent, 0 dropped by the onsend route, -1 error. */
int osp_build_request(sip_msg_t *msg, net_dest_t *dst, str_t branch,
		      str_t *out);
int osp_send_request(sip_msg_t *msg, net_dest_t *dst, str_t out);

/* Called before a request is sent out (the onsend route). Returns 1 to
 * send, 0 to drop it. Set once at start by the worker code. */
typedef int (*osp_onsend_fn)(sip_msg_t *msg, str_t out);
extern osp_onsend_fn osp_onsend_hook;

/* Called right before a request is built for sending, once the socket it
 * leaves from is known (stateless forwarding here; each branch in tm), so
 * that modules can complete what depends on it (rr: the Record-Route with
 * our address for that socket, double Record-Route when the transport or
 * interface changes). `out` is the net_listener_t the request leaves from.
 * Returns 0 to go on, negative to fail the send. Set at module init; a
 * module installing it keeps the previous value and calls it first, so
 * several modules can chain. */
struct net_listener;
typedef int (*osp_prebuild_fn)(sip_msg_t *msg, const struct net_listener *out);
extern osp_prebuild_fn osp_prebuild_hook;

/* Stateless forward of a reply by its second Via. 1 or -1. */
int osp_forward_reply(sip_msg_t *msg);

/* Registers the core:fwd_* and *_replies counters (at worker start-up). */
void fwd_stats_register(void);

/* 1 when host[:port] names one of our listeners or aliases (port 0: any
 * port; proto 0: any transport). */
int osp_is_myself(str_t host, int port, int proto);

/* The local tag used in To of stateless replies: stable for a given request
 * so that retransmitted requests get the same tag. Written into buf. */
str_t osp_totag(sip_msg_t *req, char *buf, size_t cap);

#endif
