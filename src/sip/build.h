/* build.h - building outgoing SIP messages from a parsed one.
 *
 * The builders copy the received message, applying the routing state kept in
 * sip_msg_t: new R-URI, removed/replaced headers, added headers, new body
 * (Content-Length is rewritten when the body changes). Output goes into the
 * given arena. */
#ifndef OSP_SIP_BUILD_H
#define OSP_SIP_BUILD_H

#include "sip/msg.h"

/* Changes to the top-most via-parm of a received request: RFC 3261 §18.2.1
 * `received` and RFC 3581 `rport` values. Empty received / rport 0 mean
 * "leave as received". Existing received/rport params are replaced. */
typedef struct sip_via_fix {
	str_t received; /* IP text, without brackets for IPv6 */
	int rport;      /* source port to write into rport=, 0: none */
} sip_via_fix_t;

/* Request to forward: "METHOD cur-uri SIP/2.0", then `via_line` (a complete
 * "Via: ...\r\n" line, may be empty), then the headers with the top via-parm
 * fixed by `fix` (may be NULL), removals, replacements and additions applied,
 * then the body. */
int sip_build_request(sip_msg_t *msg, str_t via_line, const sip_via_fix_t *fix,
		      arena_t *a, str_t *out);

/* Reply to forward upstream: the received reply without its top via-parm
 * (the header line is dropped when it held only that via-parm).
 * -OSP_EPARSE when no via-parm would remain (RFC 3261 §16.7 step 3: such a
 * reply is not forwarded). */
int sip_build_fwd_reply(sip_msg_t *msg, arena_t *a, str_t *out);

/* Local reply to request `req` (RFC 3261 §8.2.6): status line, all Via
 * headers (top one fixed by `fix`), From, To (with `to_tag` added when the
 * To has no tag and to_tag is not empty), Call-ID, CSeq, then req->reply_adds,
 * then `extra` (complete header lines), Content-Length and `body`. Record-Route
 * is copied for 1xx-2xx replies (except 100). */
int sip_build_reply(sip_msg_t *req, int code, str_t reason, str_t to_tag,
		    const sip_via_fix_t *fix, str_t extra, str_t body, arena_t *a,
		    str_t *out);

/* Default reason phrase for a status code ("OK", "Not Found", ...);
 * "Unknown" for codes it does not know. */
const char *sip_reason_phrase(int code);

#endif
