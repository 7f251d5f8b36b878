/* rtpproxy_int.h - inside the rtpproxy module: instances and sets, the
 * rtpproxy control protocol transport, instance selection, and the SDP
 * scanner and rewriter. Shared by the module's files and its unit tests.
 *
 * The control protocol is line based: "COOKIE COMMAND ARGS" in one UDP
 * datagram (or a line on a UNIX stream socket, without cookie), answered
 * by "COOKIE RESULT". The commands used here:
 *   V                       protocol version, answered 20040107
 *   VF YYYYMMDD             1 when that protocol extension is supported
 *   U<mods> CALLID IP PORT FROMTAG;N [TOTAG;N]   update (offer): answered
 *                           "PORT [IP [4|6]]", the relay port for stream N
 *   L<mods> CALLID IP PORT FROMTAG;N TOTAG;N     lookup (answer): same
 *   D CALLID FROMTAG [TOTAG]                     delete: answered 0
 *   R CALLID FROMTAG [TOTAG]                     start recording
 * Errors are answered "E<code>". The modifiers follow the command letter:
 * A asymmetric, S symmetric, I/E internal/external interface, 6 IPv6,
 * Z<ms> repacketize, c<pt,pt,...> the payload types. */
#ifndef OSP_RTPPROXY_INT_H
#define OSP_RTPPROXY_INT_H

#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "sip/msg.h"

/* protocol versions (VF capabilities) */
#define RTPP_PROTO_VERSION 20040107
#define RTPP_CAP_REQUIRED  "20050322" /* the U/L/D commands used here */
#define RTPP_CAP_REPACKET  "20071116" /* Z modifier */
#define RTPP_CAP_PTLIST	   "20081102" /* c modifier */

typedef enum { RTPP_UNIX = 0, RTPP_UDP = 4, RTPP_UDP6 = 6 } rtpp_mode_t;

typedef struct rtpp_node {
	char url[128]; /* as configured, without the weight */
	int set_id;
	int index;
	unsigned weight;
	rtpp_mode_t mode;
	sip_sockaddr_t addr; /* UDP */
	socklen_t addrlen;
	char path[108]; /* UNIX */
	/* state, atomics only */
	int disabled;
	int permanent; /* disabled by rtpproxy.enable 0 */
	uint64_t recheck_ms;
	int rep_supported, ptl_supported;
	struct rtpp_node *next;
} rtpp_node_t;

typedef struct rtpp_set {
	int id;
	rtpp_node_t *first, *last;
	int count;
	struct rtpp_set *next;
} rtpp_set_t;

/* ---- configuration (modparams, see README.md) ---- */
extern int rtpp_tout;		/* rtpproxy_tout, seconds per attempt */
extern int rtpp_tout_ms;	/* rtpproxy_tout_ms (Osprey): overrides */
extern int rtpp_retr;		/* rtpproxy_retr, attempts */
extern int rtpp_disable_tout;	/* rtpproxy_disable_tout, seconds */
extern char *rtpp_nortpproxy;	/* nortpproxy_str, the marker line */
extern char *rtpp_timeout_sock; /* timeout_socket */

void rtpp_set_clock(uint64_t (*now_ms)(void));
uint64_t rtpp_now(void);

/* rtpproxy_sock: "[ID ==] URL[=WEIGHT] ..." with URL udp:HOST:PORT,
 * udp6:HOST:PORT, unix:PATH or a bare PATH (UNIX). 0 or -1 with err. */
int rtpp_sock_add(const char *spec, char *err, size_t errlen);
void rtpp_nodes_reset(void);
rtpp_set_t *rtpp_sets(void);
rtpp_set_t *rtpp_set_find(int id);
int rtpp_node_count(void);
rtpp_node_t *rtpp_node_at(int index);
int rtpp_node_is_disabled(const rtpp_node_t *n);

/* ---- transport ---- */

/* Send one command (without cookie; it is added for UDP) and wait for its
 * answer: up to rtpproxy_retr attempts of the timeout over UDP, one
 * exchange over a UNIX socket. The answer (without cookie, trailing
 * newline removed) goes to the arena. On failure n is disabled until
 * rtpproxy_disable_tout seconds from now, as Kamailio does. 0 or -1. */
int rtpp_send(rtpp_node_t *n, arena_t *a, str_t cmd, str_t *reply);
/* Check n with V and VF (version, required and optional extensions).
 * force: even when n is enabled or its recheck time has not come. A
 * permanently disabled n is never tested. Returns 0 when n is usable
 * (and enables it), 1 when not (and disables it until its recheck). */
int rtpp_test(rtpp_node_t *n, arena_t *a, int force);
/* The instance for callid among the enabled ones of set, by weight from
 * the byte sum of the Call-ID; disabled ones whose recheck time has come
 * are tested first, and when none is left all are tested once. */
rtpp_node_t *rtpp_select(rtpp_set_t *set, str_t callid, arena_t *a);

/* ---- SDP ---- */

typedef struct rtpp_sdp_addr {
	str_t type; /* "IP4" / "IP6" */
	str_t addr; /* the address, without "/ttl" */
	int af;	    /* AF_INET / AF_INET6, 0 when the type is unknown */
} rtpp_sdp_addr_t;

typedef struct rtpp_sdp_media {
	str_t port;	   /* m= port (without "/count") */
	str_t proto;	   /* m= transport */
	str_t payloads;	   /* m= formats, space separated */
	rtpp_sdp_addr_t c; /* media-level c=, addr empty when none */
	str_t rtcp_port;   /* a=rtcp: port, empty when none */
	struct rtpp_sdp_media *next;
} rtpp_sdp_media_t;

typedef struct rtpp_sdp_session {
	rtpp_sdp_addr_t o; /* o= address */
	rtpp_sdp_addr_t c; /* session-level c= */
	rtpp_sdp_media_t *media;
	int n_media;
	struct rtpp_sdp_session *next;
} rtpp_sdp_session_t;

/* Scan an SDP body (zero-copy: every str_t points into body). Sessions
 * start at v= lines (a body without v= is one session). 0, -OSP_EPARSE
 * (a malformed o=, c= or m= line), -OSP_ENOMEM. */
int rtpp_sdp_parse(arena_t *a, str_t body, rtpp_sdp_session_t **out);

/* Replacements in a body: [off, off+len) becomes text. */
typedef struct rtpp_edit {
	size_t off, len;
	str_t text;
} rtpp_edit_t;

/* Apply edits (any order, not overlapping) to body and append `line`
 * (a complete SDP line without CRLF; empty: none) at the end, making sure
 * the body ends with CRLF first. The result goes to the arena. 0,
 * -OSP_EINVAL (overlapping or out of range), -OSP_ENOMEM. */
int rtpp_sdp_apply(arena_t *a, str_t body, rtpp_edit_t *edits, int n,
		   str_t line, str_t *out);

/* 1 when line (e.g. "a=nortpproxy:yes") is a line of body. */
int rtpp_sdp_has_line(str_t body, str_t line);

/* ---- the offer/answer rewrite ---- */

/* Kamailio's force_rtp_proxy(): for each stream of msg's SDP ask an
 * instance for a relay port (U for an offer, L for an answer, or L with
 * flag 'l') and rewrite the m= port, a=rtcp, c= (and o= with 'o') so the
 * media goes through the relay. flags: Kamailio's letters (1 2 3 a b c e
 * f i l o r t w x zNN). ip: the address to put in the SDP when the
 * instance does not name one (forced: always). Returns 1, -1 (error),
 * -2 (the SDP already went through an rtpproxy, flag f ignores that),
 * -3 (no instance available). */
int rtpp_force(sip_msg_t *msg, str_t flags, str_t ip, int offer, int forced);
/* Kamailio's unforce_rtp_proxy(): D for the call. 1, or -1 when no
 * instance is available or the message lacks Call-ID or From tag. */
int rtpp_unforce(sip_msg_t *msg, str_t flags);

/* The SDP of msg (current body, Content-Type application/sdp or none).
 * 1 found, 0 none. */
int rtpp_msg_sdp(sip_msg_t *msg, str_t *sdp);

/* The set used for msg: the one chosen by set_rtpproxy_set for this very
 * message, else set 0. */
rtpp_set_t *rtpp_current_set(sip_msg_t *msg);
void rtpp_select_set(sip_msg_t *msg, rtpp_set_t *set);

#endif
