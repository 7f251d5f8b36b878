/* rr_int.h - shared between the files of the rr module. */
#ifndef OSP_MOD_RR_INT_H
#define OSP_MOD_RR_INT_H

#include "core/str.h"
#include "modules/rr/rr.h"

/* modparams (rr_mod.c), names and defaults as Kamailio's */
extern int rr_append_fromtag;	/* append_fromtag, 1 */
extern int rr_enable_double_rr; /* enable_double_rr, 1 (2: always two) */
extern int rr_enable_full_lr;	/* enable_full_lr, 0: ";lr=on" when 1 */
extern int rr_add_username;	/* add_username, 0 */
extern int rr_ignore_sips;	/* ignore_sips, 0 */
extern str_t rr_custom_user;	/* custom_user_avp: AVP name, may be empty */

/* Kamailio's loose_route() results (its loose.h) */
#define RR_DRIVEN     1	 /* the next hop comes from the route set */
#define RR_NOT_DRIVEN -1 /* no Route, or nothing left to route on */
#define RR_ERROR      -1
#define RR_PRELOADED  -3 /* out-of-dialog, the only Route was ours */

#define RR_FLOW_DOWNSTREAM 1 /* $rdir(id) values, as Kamailio's */
#define RR_FLOW_UPSTREAM   2

/* Kamailio's E_CFG: what is_direction returns for a bad argument */
#define RR_E_CFG -6

enum rr_kind {
	RR_NONE = 0,
	RR_AUTO,       /* record_route(): our address for each socket */
	RR_ADVERTISED, /* record_route_advertised_address(addr) */
	RR_PRESET,     /* record_route_preset(): fixed text */
};

/* Per-message state (msg->rr), allocated in the message arena. */
typedef struct rr_msg {
	enum rr_kind kind;
	unsigned added : 1; /* Kamailio's FL_RR_ADDED: a second RR is refused */
	unsigned sips : 1;  /* write sips: URIs */
	str_t user;	    /* user part (add_username / custom_user_avp) */
	str_t tag;	    /* ftag value, empty: none */
	str_t addr;	    /* RR_ADVERTISED: the address given */
	str_t params;	    /* URI params after ours: ";a=b;c" */
	str_t preset;	    /* RR_PRESET: the complete header line(s) */
	str_t pending;	    /* add_rr_param before any record_route */

	/* loose routing */
	unsigned routed : 1; /* loose_route used a URI of ours */
	unsigned
	    route_addr : 1;  /* ... and a Route followed it (FL_ROUTE_ADDR) */
	str_t routed_params; /* that URI's params, without leading ';' */
} rr_msg_t;

/* The state of msg, created on first use. NULL on ENOMEM. */
rr_msg_t *rr_msg_get(sip_msg_t *msg);

/* a followed by b, in arena ar. STR_NULL (s NULL) on ENOMEM. */
str_t rr_cat(arena_t *ar, str_t a, str_t b);

/* record.c: Kamailio's return values (1 ok, -1 error) */
int rr_record(sip_msg_t *msg, str_t params, int in_branch);
int rr_record_advertised(sip_msg_t *msg, str_t addr, int in_branch);
int rr_record_preset(sip_msg_t *msg, str_t addr1, str_t addr2, int in_branch);
int rr_add_param(sip_msg_t *msg, str_t param);
int rr_remove(sip_msg_t *msg);

/* loose.c */
/* loose_route; loose_only skips the strict-router check of the R-URI. */
int rr_loose_route(sip_msg_t *msg, int loose_only);
/* The URI params of the Route (or R-URI, after a strict router) of ours
 * that loose_route used; without loose_route, of the top Route when it is
 * ours. 0 and *out set, or -1. */
int rr_route_params(sip_msg_t *msg, str_t *out);
/* Value of URI param `name` in those params (empty for a param without
 * value). 0 found, -1 not. */
int rr_get_route_param(sip_msg_t *msg, str_t name, str_t *val);
/* RR_FLOW_UPSTREAM when the ftag of our Route differs from the From tag,
 * else RR_FLOW_DOWNSTREAM. */
int rr_direction(sip_msg_t *msg);
/* 1 when the URI names us (host and port, 5060/5061 by default, any
 * transport) and is no GRUU, as Kamailio's check of its own URIs. */
int rr_uri_is_myself(const sip_uri_t *u);

#endif
