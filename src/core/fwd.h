/* fwd.h - sending SIP: local replies, stateless forwarding, and the
 * "myself" test. These wire the parser's builders to the transports and are
 * what modules call (sl, core KSR functions); modules never touch sockets. */
#ifndef OSP_FWD_H
#define OSP_FWD_H

#include "sip/msg.h"

/* Send a local reply to request `req` (RFC 3261 §18.2.2 routing by Via, with
 * rport/received). Adds a To tag for codes > 100 when the To has none. extra
 * is zero or more complete header lines. Marks req->replied for codes >= 200.
 * Returns 1 on success, -1 on error (as the KSR convention). */
int osp_send_reply(sip_msg_t *req, int code, str_t reason, str_t extra,
		   str_t body);

/* Stateless forward of a request to `uri` (empty: $du if set, else the
 * current R-URI). Adds our Via on top. 1 or -1. */
int osp_forward_request(sip_msg_t *msg, str_t uri);

/* Called before a request is sent out (the onsend route). Returns 1 to
 * send, 0 to drop it. Set once at start by the worker code. */
typedef int (*osp_onsend_fn)(sip_msg_t *msg, str_t out);
extern osp_onsend_fn osp_onsend_hook;

/* Stateless forward of a reply by its second Via. 1 or -1. */
int osp_forward_reply(sip_msg_t *msg);

/* 1 when host[:port] names one of our listeners or aliases (port 0: any
 * port; proto 0: any transport). */
int osp_is_myself(str_t host, int port, int proto);

/* The local tag used in To of stateless replies: stable for a given request
 * so that retransmitted requests get the same tag. Written into buf. */
str_t osp_totag(sip_msg_t *req, char *buf, size_t cap);

#endif
