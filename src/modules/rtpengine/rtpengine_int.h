/* rtpengine_int.h - inside the rtpengine module: instances and sets, the
 * ng transport with failover, the call-to-instance map, and the building
 * of ng commands from SIP messages. Shared by the module's files and its
 * unit tests; nothing here is for other modules.
 *
 * Threads: the instance list is built before the workers start and is
 * read-only afterwards, except each instance's state (disabled, permanent,
 * recheck time), which is read and written with atomics by the workers
 * and the control thread. Commands block the calling worker for at most
 * rtpengine_tout_ms x rtpengine_retr per instance tried, as in Kamailio. */
#ifndef OSP_RTPENGINE_INT_H
#define OSP_RTPENGINE_INT_H

#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "modules/rtpengine/bencode.h"
#include "sip/msg.h"

typedef enum rtpe_op {
	RTPE_OP_OFFER = 0,
	RTPE_OP_ANSWER,
	RTPE_OP_DELETE,
	RTPE_OP_QUERY,
	RTPE_OP_PING,
	RTPE_OP_START_RECORDING,
	RTPE_OP_STOP_RECORDING,
	RTPE_OP__COUNT
} rtpe_op_t;

/* The ng "command" value of op ("offer", "start recording", ...). */
const char *rtpe_op_name(rtpe_op_t op);

typedef struct rtpe_node {
	char url[128]; /* as configured, without the weight */
	int set_id;
	int index; /* 0.. in configuration order, all sets */
	unsigned weight;
	sip_sockaddr_t addr;
	socklen_t addrlen;
	/* state, atomics only */
	int disabled;		/* not used for new calls */
	int permanent;		/* disabled by rtpengine.enable, no recheck */
	uint64_t recheck_ms;	/* a disabled node is tried again from then */
	struct rtpe_node *next; /* in its set */
} rtpe_node_t;

typedef struct rtpe_set {
	int id;
	rtpe_node_t *first, *last;
	int count;
	struct rtpe_set *next;
} rtpe_set_t;

/* ---- configuration (modparams, see README.md) ---- */
extern int rtpe_tout_ms;       /* rtpengine_tout_ms, per attempt */
extern int rtpe_retr;	       /* rtpengine_retr, attempts per instance */
extern int rtpe_disable_tout;  /* rtpengine_disable_tout, seconds */
extern int rtpe_queried_limit; /* queried_nodes_limit, 0: all */
extern int rtpe_aggressive;    /* aggressive_redetection */
extern int rtpe_setid_default; /* setid_default */
extern int rtpe_hash_tout;     /* hash_table_tout, seconds */

/* The clock used for disabling and expiry (ms, monotonic); tests replace
 * it. NULL restores osp_now_ms. */
void rtpe_set_clock(uint64_t (*now_ms)(void));
uint64_t rtpe_now(void);

/* rtpengine_sock: "[ID ==] URL[=WEIGHT] URL[=WEIGHT] ..." with URL
 * udp:HOST:PORT or udp6:HOST:PORT (IPv6 literals with or without
 * brackets); repeated modparams add to their set. The host is resolved
 * here. 0 or -1 with err filled. */
int rtpe_sock_add(const char *spec, char *err, size_t errlen);
/* Forget every set and instance (shutdown, tests). */
void rtpe_nodes_reset(void);
rtpe_set_t *rtpe_sets(void);
rtpe_set_t *rtpe_set_find(int id);
int rtpe_node_count(void);
rtpe_node_t *rtpe_node_at(int index);

/* ---- transport ---- */

/* Send one ng command (the bencoded body, the cookie is added here) to n
 * and wait for the reply with the same cookie: up to rtpe_retr attempts of
 * rtpe_tout_ms each. The reply body (after the cookie) goes to the arena.
 * 0, or -OSP_EIO (no reply, refused), -OSP_ENOMEM. Does not change n. */
int rtpe_node_send(rtpe_node_t *n, arena_t *a, str_t body, str_t *reply);
/* ng "ping": 0 when n answered "pong". */
int rtpe_node_ping(rtpe_node_t *n, arena_t *a);
/* Mark n unusable until rtpengine_disable_tout seconds from now (kept
 * permanent when it already is). */
void rtpe_node_disable(rtpe_node_t *n);
/* rtpengine.enable: enable=1 pings n and enables it on "pong" (returns 1)
 * or disables it temporarily (returns 0); enable=0 disables it permanently
 * (returns 0). */
int rtpe_node_enable(rtpe_node_t *n, int enable, arena_t *a);
int rtpe_node_is_disabled(const rtpe_node_t *n);
int rtpe_node_is_permanent(const rtpe_node_t *n);

/* ---- the call map: which instance holds a call's media ---- */

/* Remember callid[/viabranch] -> n for rtpengine_hash_table_tout seconds. */
int rtpe_map_put(str_t callid, str_t viabranch, rtpe_node_t *n);
/* The instance of callid with viabranch; with an empty viabranch, of any
 * branch of callid. NULL when unknown or expired. */
rtpe_node_t *rtpe_map_get(str_t callid, str_t viabranch);
/* Forget callid/viabranch; an empty viabranch forgets every branch. */
void rtpe_map_del(str_t callid, str_t viabranch);
void rtpe_map_expire(void);
unsigned long rtpe_map_count(void);
void rtpe_map_clear(void);

/* ---- selection and one command with failover ---- */

/* The instance for a command of the call: the one in the call map when it
 * belongs to set (NULL when it was already tried or is disabled), else one
 * chosen by weight from a hash of the Call-ID among the enabled instances
 * not in tried[]. A disabled instance whose recheck time has come is
 * pinged first and enabled again when it answers. NULL: none. */
rtpe_node_t *rtpe_select(rtpe_set_t *set, str_t callid, str_t viabranch,
			 rtpe_node_t *const *tried, int ntried, arena_t *a);

/* Encode dict, send it to an instance of set chosen by rtpe_select, and
 * fail over: an instance that does not answer is disabled and the next is
 * tried, as is one answering "load limit" or an error saying it is out of
 * sessions or ports. Up to queried_nodes_limit instances. On success the
 * call map learns the instance (a delete forgets it) and *reply is the
 * decoded dictionary (result "ok" or "pong"; *used the instance). Returns
 * 0, or -OSP_EIO (no instance answered), -OSP_EINVAL (error answer, logged
 * with its reason), -OSP_EPARSE (malformed answer), -OSP_ENOMEM. */
int rtpe_ng_call(rtpe_set_t *set, rtpe_op_t op, benc_t *dict, str_t callid,
		 str_t viabranch, arena_t *a, benc_t **reply,
		 rtpe_node_t **used);

/* ---- building commands ---- */

/* The ng dictionary for *op on msg with the script's flags (Kamailio's
 * flag strings: replace-origin, ICE=remove, RTP/AVP, direction=...,
 * via-branch=..., to-tag, call-id=..., force-answer, ...; see README.md).
 * sdp is sent for offers and answers. force-answer turns an offer into an
 * answer through *op. The Call-ID and via-branch the command uses (for
 * instance selection) go to *callid and *viabranch. src is the address
 * the message came from (received-from). 0, -OSP_EINVAL (bad flag, no
 * Call-ID or From tag, no To tag where one is needed; logged), or
 * -OSP_ENOMEM. Everything lives in the arena or points into msg/flags. */
int rtpe_build_cmd(arena_t *a, sip_msg_t *msg, rtpe_op_t *op, str_t flags,
		   str_t sdp, benc_t **dict, str_t *callid, str_t *viabranch);

/* The SDP of msg: its current body (msg->new_body when the script changed
 * it) when Content-Type is application/sdp or absent and the body is not
 * empty. 1 found, 0 none. */
int rtpe_msg_sdp(sip_msg_t *msg, str_t *sdp);

#endif
