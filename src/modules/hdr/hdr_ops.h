/* hdr_ops.h - header edits on a parsed message, shared by the modules that
 * change headers (hdr, textops, maxfwd, sanity, siputils).
 *
 * A routing script never changes the received bytes. It records its
 * intentions in the sip_msg_t and the builder applies them when the message
 * is sent: msg->adds (new header lines, anchored by header index),
 * hdr->flags |= SIP_HDR_F_REMOVED, hdr->replace (a full new line) and
 * msg->reply_adds (lines for locally generated replies). Every string
 * recorded here is copied into the message arena, so callers may pass
 * script-owned buffers. */
#ifndef OSP_MOD_HDR_OPS_H
#define OSP_MOD_HDR_OPS_H

#include "core/str.h"
#include "sip/msg.h"

/* A header name to match: the type for names the parser knows (long or
 * compact form, any case), else the name itself compared without case. */
typedef struct hdr_name {
	sip_hdr_type_t type;
	str_t name;
} hdr_name_t;

/* Build a matcher. Returns -1 for an empty name (Kamailio refuses those),
 * 0 otherwise. The name is referenced, not copied. */
int hdr_name_init(hdr_name_t *n, str_t name);
int hdr_name_match(const hdr_name_t *n, const sip_hdr_t *h);

/* Index of the first (nth >= 0) or last (nth == -1) header matching n, or
 * -1 when there is none. Removed headers count: the script sees the message
 * as received, as in Kamailio. */
int hdr_find(const sip_msg_t *msg, const hdr_name_t *n, int nth);
/* Number of headers matching n. */
int hdr_count(const sip_msg_t *msg, const hdr_name_t *n);

/* Copy text into the arena as complete header line(s): a missing final
 * CRLF (or the CR or LF alone) is completed so that a script forgetting
 * "\r\n" cannot glue two headers together. Returns STR_NULL on ENOMEM. */
str_t hdr_line_dup(arena_t *a, str_t text);

/* Record a new header line (copied, CRLF-completed). An empty text adds
 * nothing. 0 or -OSP_ENOMEM. Lines added at the same place come out in
 * the order they were added. */
int hdr_add(sip_msg_t *msg, str_t text, sip_add_where_t where, int anchor);
/* Same for the headers of locally generated replies (msg->reply_adds). */
int hdr_add_reply(sip_msg_t *msg, str_t text);

/* Mark every header matching n removed; returns how many matched. */
int hdr_remove_all(sip_msg_t *msg, const hdr_name_t *n);

/* Replace header i by line (copied, CRLF-completed); an empty line removes
 * the header. 0 or -OSP_ENOMEM. */
int hdr_replace(sip_msg_t *msg, int i, str_t line);

/* The text a header currently has: its replacement when one was recorded,
 * else the received raw line(s). Empty when removed. */
str_t hdr_current_line(const sip_hdr_t *h);

/* 1 when one of the recorded additions (msg->adds) is a header named
 * `name` (case-insensitive, long form only). */
int hdr_added(const sip_msg_t *msg, str_t name);
/* Drop the recorded additions of headers named `name` (as hdr_added);
 * returns how many were dropped. */
int hdr_unadd(sip_msg_t *msg, str_t name);

#endif
