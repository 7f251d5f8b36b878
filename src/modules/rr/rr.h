/* rr.h - the rr module's C interface for the code that sends requests.
 *
 * KSR.rr.record_route() cannot write the final Record-Route when it runs:
 * the header must carry our address for the socket the request leaves
 * from, and, when that socket differs from the one the request came in on
 * (UDP in, TCP out; another interface), two Record-Route headers (RFC 3261
 * §16.6 step 4; Kamailio's double record-routing). That socket is known
 * only once the destination is resolved, after the script. So the module
 * records what to write in the message (msg->rr, in the message arena) plus
 * one placeholder line in msg->adds, rendered for the incoming socket, and
 * rr_finalize() renders it again for the outgoing one right before the
 * request is built. The module installs rr_finalize as osp_prebuild_hook
 * (core/fwd.h), which the stateless forwarder calls; tm calls the same
 * hook for each branch.
 *
 * The placeholder is a sip_hdr_add_t with where == SIP_ADD_INSERT and
 * anchor == RR_ADD_ANCHOR (the builder ignores the anchor of INSERT lines),
 * so it can be found again in a copied list of additions. */
#ifndef OSP_MOD_RR_H
#define OSP_MOD_RR_H

#include "core/arena.h"
#include "net/net.h"
#include "sip/msg.h"

#define RR_ADD_ANCHOR (-0x5252)

/* Render the Record-Route line(s) recorded for msg for a request leaving
 * from `out` (NULL: the incoming socket) into arena a, and store them in
 * every placeholder of msg->adds. Nothing to do (0) when the script did not
 * record-route or used record_route_preset (fixed text). May be called once
 * per branch, each call replaces the previous text. 0 or -OSP_ENOMEM. */
int rr_finalize(sip_msg_t *msg, const net_listener_t *out, arena_t *a);

/* Copy the rr state of src into dst (whose other fields the caller has
 * already copied, msg->adds included), with every string duplicated into
 * arena a: for a transaction layer that keeps a request beyond the life of
 * its received buffer and arena. 0 or -OSP_ENOMEM. */
int rr_msg_clone(sip_msg_t *dst, const sip_msg_t *src, arena_t *a);

#endif
