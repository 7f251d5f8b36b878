/* nh_int.h - nathelper internals shared by its files (nathelper.c: the KSR
 * functions; nh_addr.c: private address tests; nh_sdp.c: SDP scanning and
 * rewriting; nh_ping.c: NAT keepalives). Other modules use nathelper.h. */
#ifndef OSP_NH_INT_H
#define OSP_NH_INT_H

#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "modules/nathelper/nathelper.h"
#include "sip/msg.h"

/* ---- settings (modparams, nathelper.c) ---- */
extern int nh_natping_interval;
extern int nh_ping_nated_only;
extern int nh_sipping_bflag;
extern int nh_natping_disable_bflag;
extern int nh_natping_processes;
extern int nh_keepalive_timeout;
extern int nh_udpping_from_path;
extern int nh_append_oldmediaip;
extern int nh_filter_server_id;
extern int nh_nat_addr_mode;
extern char *nh_sipping_from;
extern char *nh_sipping_method;
extern char *nh_natping_socket;
extern char *nh_force_socket;
extern char *nh_nortpproxy;

/* ---- a growable text buffer in a message arena ---- */
typedef struct nh_sb {
	arena_t *a;
	char *s;
	size_t len, cap;
	int err; /* an allocation failed: the content is incomplete */
} nh_sb_t;

void nh_sb_init(nh_sb_t *b, arena_t *a, size_t cap);
void nh_sb_add(nh_sb_t *b, const char *s, size_t n);
static inline void nh_sb_str(nh_sb_t *b, str_t s)
{
	nh_sb_add(b, s.s, s.len);
}
static inline void nh_sb_cstr(nh_sb_t *b, const char *s)
{
	nh_sb_add(b, s, strlen(s));
}
void nh_sb_int(nh_sb_t *b, long v);
static inline str_t nh_sb_done(const nh_sb_t *b)
{
	return b->err ? STR_NULL : (str_t){b->s, b->len};
}

/* ---- addresses (nh_addr.c) ---- */

/* Parse an IP address text (IPv6 with or without brackets) into *out
 * (port 0). 0, or -1 when the text is not an IP address. */
int nh_ip_parse(str_t s, sip_sockaddr_t *out);
/* The IPv4 address a (network order) is in the private ranges. */
int nh_ipv4_private(uint32_t addr);
/* 1 when a is an IPv4 address in the private ranges, else 0. */
int nh_sockaddr_private(const sip_sockaddr_t *a);
/* Same addresses (ports ignored). */
int nh_ip_eq(const sip_sockaddr_t *a, const sip_sockaddr_t *b);
/* The source address of msg as text: IPv6 without brackets (ip) and the
 * port. ip gets "" on failure. */
void nh_src(const sip_msg_t *msg, char *ip, size_t cap, int *port);
/* "sip:IP:PORT" (IPv6 in brackets) plus ";transport=x" when the message
 * came over anything but UDP, as Kamailio's get_src_uri() writes the
 * received address. Into the message arena; STR_NULL on error. */
str_t nh_src_uri(sip_msg_t *msg);
/* The URI transport parameter value for a protocol ("tcp", "tls", "sctp",
 * "ws"; WSS is written "ws" as RFC 7118 defines only that value). */
const char *nh_uri_transport(sip_proto_t p);

/* ---- SDP (nh_sdp.c) ---- */

/* The SDP of msg: its received body when the message carries one
 * (Content-Type application/sdp, or no Content-Type and a body starting
 * with "v="). 1 with *out set, 0 when there is none. */
int nh_sdp_received(sip_msg_t *msg, str_t *out);
/* Same for the body as the script has changed it so far. */
int nh_sdp_current(sip_msg_t *msg, str_t *out);
/* nat_uac_test bit 8: an m= stream whose connection address (its own c=,
 * else the session's) is a private IPv4 address. */
int nh_sdp_has_private(str_t sdp);
/* nat_uac_test bit 256: the SDP has c= lines and none of them holds the
 * source address of msg. */
int nh_sdp_cline_differs(str_t sdp, const sip_sockaddr_t *src);
/* fix_nated_sdp: flags NH_SDP_*, ip the address to write (text without
 * brackets; empty: the source address). Rewrites msg->new_body. Returns
 * 1 when addresses were replaced, 2 when none was, -1 on error. */
int nh_fix_sdp(sip_msg_t *msg, long flags, str_t ip);

#define NH_SDP_ADD_DIRECTION  0x01
#define NH_SDP_FIX_MEDIAIP    0x02
#define NH_SDP_ADD_NORTPPROXY 0x04
#define NH_SDP_FIX_ORIGIP     0x08

/* ---- keepalives (nh_ping.c) ---- */

/* Check the keepalive settings and start the timer (natping_interval >
 * 0). 0 or -1 (logged). */
int nh_ping_init(void);
/* Install the reply filter (from the first worker, after every module's
 * init hook, so that a transaction layer installed later is chained). */
void nh_ping_child_init(void);
void nh_ping_destroy(void);
/* natping enabled (RPC nathelper.enable_ping); -1 when pinging is not
 * configured. */
int nh_ping_state(void);
int nh_ping_set_state(int on);
/* One keepalive pass over partition part of nparts (every contact: 0, 1).
 * Runs on a worker normally; tests call it directly. Returns the number of
 * keepalives sent. */
int nh_ping_pass(unsigned part, unsigned nparts);
/* A reply to one of our SIP keepalives: 1 (absorbed, counted), else 0. */
int nh_ping_reply(sip_msg_t *msg);
/* Build the SIP keepalive for contact uri sent from listener l (lst may be
 * NULL in tests: the Via then reads 127.0.0.1:5060) into buf. Returns
 * the length, or -1 when it does not fit. */
struct net_listener;
int nh_build_sipping(char *buf, size_t cap, str_t uri, str_t path, str_t ruid,
		     uint32_t aorhash, const struct net_listener *l);

#endif
