/* uri_rewrite.h - rebuild a SIP URI with one part replaced. */
#ifndef OSP_URI_REWRITE_H
#define OSP_URI_REWRITE_H

#include "sip/msg.h"

typedef enum {
	URI_PART_USER,
	URI_PART_HOST,     /* host only */
	URI_PART_HOSTPORT, /* host[:port] */
	URI_PART_PORT,
} uri_part_t;

/* Write `u` with `part` replaced by `val` (an empty user removes the
 * userinfo) into the arena. 0 or -1. */
int uri_rewrite(arena_t *a, const sip_uri_t *u, uri_part_t part, str_t val,
		str_t *out);

#endif
