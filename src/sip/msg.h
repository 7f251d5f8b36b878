/* msg.h - the parsed SIP message and the parser's public API.
 *
 * The parser is zero-copy: every str_t in here points into the received
 * buffer (msg->buf) or into the message arena. sip_msg_parse() reads the
 * start line and splits the header section into an array of sip_hdr_t with
 * the header type and raw value; the values of individual headers (Via, From,
 * CSeq, Contact, ...) are parsed lazily by the sip_get_*() accessors on first
 * use, and the result is cached in hdr->parsed.
 *
 * This file depends only on src/core/{str,arena}.h: sip/ is a library. */
#ifndef OSP_SIP_MSG_H
#define OSP_SIP_MSG_H

#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "core/arena.h"
#include "core/str.h"

/* ---- methods: one bit each so that sets can be tested with a mask ---- */
typedef enum sip_method {
	SIP_METHOD_UNDEF = 0,
	SIP_METHOD_INVITE = 1 << 0,
	SIP_METHOD_CANCEL = 1 << 1,
	SIP_METHOD_ACK = 1 << 2,
	SIP_METHOD_BYE = 1 << 3,
	SIP_METHOD_INFO = 1 << 4,
	SIP_METHOD_REGISTER = 1 << 5,
	SIP_METHOD_SUBSCRIBE = 1 << 6,
	SIP_METHOD_NOTIFY = 1 << 7,
	SIP_METHOD_MESSAGE = 1 << 8,
	SIP_METHOD_OPTIONS = 1 << 9,
	SIP_METHOD_PRACK = 1 << 10,
	SIP_METHOD_UPDATE = 1 << 11,
	SIP_METHOD_REFER = 1 << 12,
	SIP_METHOD_PUBLISH = 1 << 13,
	SIP_METHOD_KDMQ = 1 << 14,
	SIP_METHOD_GET = 1 << 15,
	SIP_METHOD_POST = 1 << 16,
	SIP_METHOD_PUT = 1 << 17,
	SIP_METHOD_DELETE = 1 << 18,
	SIP_METHOD_OTHER = 1 << 30,
} sip_method_t;

/* Case-sensitive per RFC 3261 (methods are case-sensitive tokens). */
sip_method_t sip_method_from_str(str_t m);

/* ---- header types ---- */
typedef enum sip_hdr_type {
	SIP_HDR_OTHER = 0,
	SIP_HDR_VIA,
	SIP_HDR_FROM,
	SIP_HDR_TO,
	SIP_HDR_CSEQ,
	SIP_HDR_CALLID,
	SIP_HDR_CONTACT,
	SIP_HDR_MAXFWD,
	SIP_HDR_CLEN,
	SIP_HDR_CTYPE,
	SIP_HDR_ROUTE,
	SIP_HDR_RECORDROUTE,
	SIP_HDR_EXPIRES,
	SIP_HDR_AUTHORIZATION,
	SIP_HDR_PROXYAUTHZ,
	SIP_HDR_WWWAUTHENTICATE,
	SIP_HDR_PROXYAUTHENTICATE,
	SIP_HDR_REQUIRE,
	SIP_HDR_PROXYREQUIRE,
	SIP_HDR_SUPPORTED,
	SIP_HDR_UNSUPPORTED,
	SIP_HDR_PATH,
	SIP_HDR_USERAGENT,
	SIP_HDR_SERVER,
	SIP_HDR_ALLOW,
	SIP_HDR_EVENT,
	SIP_HDR_ACCEPT,
	SIP_HDR_SUBJECT,
	SIP_HDR_CONTENTENCODING,
	SIP_HDR_MINEXPIRES,
	SIP_HDR__COUNT
} sip_hdr_type_t;

/* Header name (long or compact form, any case) to type. */
sip_hdr_type_t sip_hdr_type_from_name(str_t name);

#define SIP_HDR_F_REMOVED 0x1 /* removed by the script; the builder skips it */

typedef struct sip_hdr {
	sip_hdr_type_t type;
	unsigned flags;
	str_t name;   /* as received */
	str_t value;  /* trimmed; may contain folded CRLF SP sequences */
	str_t raw;    /* the whole header line(s) including the final CRLF */
	void *parsed; /* lazily parsed value, type depends on `type` */
	str_t replace; /* non-empty: builder writes this full line instead */
} sip_hdr_t;

/* ---- generic parameters: ;name=value or ;name ---- */
typedef struct sip_param {
	str_t name;
	str_t value; /* empty when the parameter has no value */
	int has_value;
	struct sip_param *next;
} sip_param_t;

/* Parse ";a=b;c" style parameters (s starts at the first ';' or at a name),
 * stopping at `stop` characters that are not inside a quoted string (e.g.
 * "," for Contact lists, "?" for URIs; NULL for none). Returns the number of
 * parameters, -OSP_EPARSE on error. *consumed gets the bytes used. */
int sip_params_parse(arena_t *a, str_t s, const char *stop, sip_param_t **out,
		     size_t *consumed);
const sip_param_t *sip_param_find(const sip_param_t *p, str_t name);

/* ---- URIs (sip, sips, tel) ---- */
typedef enum { SIP_URI_SIP = 1, SIP_URI_SIPS, SIP_URI_TEL } sip_uri_scheme_t;

typedef struct sip_uri {
	sip_uri_scheme_t scheme;
	str_t user;     /* may be empty */
	str_t password;
	str_t host;     /* IPv6 references keep their brackets: "[::1]" */
	str_t port;     /* textual port, empty when absent */
	int port_no;    /* 0 when absent */
	str_t params;   /* raw ";..." without the leading ';' */
	str_t headers;  /* raw "?..." without the '?' */
	sip_param_t *param_list;
	/* well-known URI parameters */
	str_t transport, maddr, ttl, user_param, method;
	int lr;
	int host_is_ipv6;
} sip_uri_t;

/* Parse a URI (no surrounding <>). For tel: the number goes to `user`. */
int sip_uri_parse(arena_t *a, str_t s, sip_uri_t *uri);

typedef enum {
	SIP_URI_PART_USER,
	SIP_URI_PART_HOST,
	SIP_URI_PART_PORT,
	SIP_URI_PART_HOSTPORT, /* "host[:port]", IPv6 in brackets */
} sip_uri_part_t;

/* Rebuild URI `text` (parsed as u) with one part replaced by val, into the
 * arena: an empty user removes the userinfo, an empty port the port; the
 * scheme, parameters and headers are kept as written. 0, -OSP_EINVAL (no
 * scheme, or host/port of a tel: URI) or -OSP_ENOMEM. */
int sip_uri_replace(arena_t *a, str_t text, const sip_uri_t *u,
		    sip_uri_part_t part, str_t val, str_t *out);

/* ---- Via ---- */
typedef struct sip_via {
	str_t proto_name;  /* "SIP" */
	str_t version;     /* "2.0" */
	str_t transport;   /* "UDP", "TCP", ... (upper case as received) */
	str_t host;        /* brackets kept for IPv6 */
	str_t port;
	int port_no;       /* 0 when absent */
	str_t params;      /* raw, without the leading ';' */
	sip_param_t *param_list;
	str_t branch, received, maddr, ttl, rport;
	int has_rport;     /* rport present (with or without value) */
	str_t raw;         /* the whole via-parm text inside the header value */
	struct sip_via *next; /* next via-parm in the same header line */
} sip_via_t;

/* Parse all comma-separated via-parms of one header value. */
int sip_via_parse(arena_t *a, str_t value, sip_via_t **out);

/* ---- name-addr (From, To, Contact, Route, Record-Route) ---- */
typedef struct sip_nameaddr {
	str_t display; /* without quotes' surrounding whitespace; quotes kept */
	str_t uri_str; /* inside <> when present */
	sip_uri_t uri; /* parsed uri_str (valid when uri_ok) */
	int uri_ok;
	str_t params;  /* header params after the URI, raw */
	sip_param_t *param_list;
	str_t tag;     /* From/To tag */
	str_t raw;     /* whole element */
} sip_nameaddr_t;

/* Parse one name-addr/addr-spec with header parameters. */
int sip_nameaddr_parse(arena_t *a, str_t value, sip_nameaddr_t *na);

typedef struct sip_contact {
	sip_nameaddr_t na;
	str_t expires;    /* "expires" param, raw */
	int expires_val;  /* -1 when absent */
	str_t q;          /* raw q value */
	int q_val;        /* q * 1000, -1 when absent */
	str_t instance;   /* +sip.instance */
	str_t reg_id;
	struct sip_contact *next;
} sip_contact_t;

typedef struct sip_contact_list {
	int star;  /* "Contact: *" */
	sip_contact_t *first;
} sip_contact_list_t;

/* Parse one header's value: "*" or a comma-separated list. */
int sip_contact_parse(arena_t *a, str_t value, sip_contact_list_t *out);

/* Route / Record-Route / Path: comma-separated name-addrs. */
typedef struct sip_rr {
	sip_nameaddr_t na;
	struct sip_rr *next;
} sip_rr_t;
int sip_rr_parse(arena_t *a, str_t value, sip_rr_t **out);

typedef struct sip_cseq {
	str_t number;
	uint32_t num;
	str_t method;
	sip_method_t method_id;
} sip_cseq_t;
int sip_cseq_parse(str_t value, sip_cseq_t *out);

/* Authorization / Proxy-Authorization (Digest) */
typedef struct sip_auth {
	str_t scheme; /* "Digest" */
	str_t username, realm, nonce, uri, response, algorithm, cnonce, opaque,
		qop, nc;
	sip_param_t *param_list; /* every param, values unquoted */
} sip_auth_t;
int sip_auth_parse(arena_t *a, str_t value, sip_auth_t *out);

/* Comma-separated token lists (Require, Supported, Allow, ...). */
typedef struct sip_token {
	str_t tok;
	struct sip_token *next;
} sip_token_t;
int sip_tokens_parse(arena_t *a, str_t value, sip_token_t **out);

/* ---- where a message came from ---- */
typedef enum sip_proto {
	SIP_PROTO_NONE = 0,
	SIP_PROTO_UDP = 1,
	SIP_PROTO_TCP = 2,
	SIP_PROTO_TLS = 3,
	SIP_PROTO_SCTP = 4,
	SIP_PROTO_WS = 5,
	SIP_PROTO_WSS = 6,
} sip_proto_t;

typedef union sip_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
} sip_sockaddr_t;

typedef struct sip_rcv {
	sip_proto_t proto;
	sip_sockaddr_t src;  /* peer */
	sip_sockaddr_t dst;  /* our local address */
	void *listener;      /* net_listener_t * (opaque here) */
	uint64_t conn_id;    /* stream transports: the connection, else 0 */
} sip_rcv_t;

/* ---- headers the script added ---- */
typedef enum {
	SIP_ADD_APPEND = 0, /* after the last header */
	SIP_ADD_INSERT,     /* before the first header */
	SIP_ADD_BEFORE,     /* before header index `anchor` */
	SIP_ADD_AFTER,      /* after header index `anchor` */
} sip_add_where_t;

typedef struct sip_hdr_add {
	str_t text; /* complete header line(s) including CRLF */
	sip_add_where_t where;
	int anchor;
	struct sip_hdr_add *next;
} sip_hdr_add_t;

/* ---- the message ---- */
typedef enum { SIP_REQUEST = 1, SIP_REPLY = 2 } sip_msg_kind_t;

#define SIP_MAX_HDRS 256

typedef struct sip_msg {
	sip_msg_kind_t kind;
	const char *buf; /* received bytes; not NUL-terminated */
	size_t len;
	arena_t *arena;

	/* start line */
	str_t first_line; /* without CRLF */
	str_t method;     /* requests */
	sip_method_t method_id;
	str_t ruri;       /* request URI as received */
	str_t version;    /* "SIP/2.0" */
	int status;       /* replies */
	str_t reason;

	sip_hdr_t *hdrs;  /* in order of appearance */
	int n_hdrs;
	int first[SIP_HDR__COUNT]; /* index of first header of each type, -1 */
	str_t body;
	size_t hdrs_end;  /* offset of the empty line ending the headers */

	/* lazily parsed caches */
	sip_uri_t *ruri_parsed;

	/* ---- routing state (changed by the script) ---- */
	str_t new_uri;    /* rewritten R-URI; empty = unchanged */
	sip_uri_t *new_uri_parsed;
	str_t dst_uri;    /* next-hop override ($du); empty = unset */
	sip_hdr_add_t *adds;
	sip_hdr_add_t *reply_adds; /* headers for locally generated replies */
	str_t new_body;   /* replaced body; empty s == NULL means unchanged */
	uint32_t flags;   /* message flags (setflag) */
	uint32_t bflags;  /* branch 0 flags (setbflag) */
	void *avps;       /* $avp(...) list, owned by the pv module (arena) */
	void *rr;         /* Record-Route / loose-route state, owned by the rr
			   * module (arena, modules/rr/rr.h) */
	unsigned force_rport : 1, add_local_rport : 1, reply_no_connect : 1,
		forward_no_connect : 1, reply_close : 1, forward_close : 1,
		replied : 1; /* a final reply was sent for this request */

	/* destination set: branches beyond the R-URI (core/dset.h) */
	void *dset;
	str_t path_vec; /* Path of branch 0, becomes Route headers */
	int ruri_q;     /* q of branch 0 (x1000), valid when has_ruri_q */
	int has_ruri_q;

	sip_rcv_t rcv;
	uint64_t id; /* unique per received message */
} sip_msg_t;

/* Parse buf[0..len) into msg (zeroed by the caller, arena set). Returns 0 or
 * -OSP_EPARSE. On error, *why (if not NULL) gets a static reason string.
 * Mandatory headers are NOT checked here (see sip_msg_check_mandatory).
 * If the message has a Content-Length, the body is cut to it; a
 * Content-Length larger than the data is an error. */
int sip_msg_parse(sip_msg_t *msg, const char *buf, size_t len,
		  const char **why);

/* RFC 3261 §8.1.1 / §8.2.2: Via, From, To, Call-ID, CSeq (and a CSeq method
 * that matches a request's method). 0 or -OSP_EPARSE with *why set. */
int sip_msg_check_mandatory(sip_msg_t *msg, const char **why);

/* Stream framing: given data received on a connection, find the length of
 * the first complete message (headers + Content-Length body). Returns the
 * length (>0), 0 when more data is needed, -OSP_EPARSE when the stream is
 * unusable (no Content-Length, bad value), -OSP_ETOOBIG when the message
 * would exceed max. Leading CRLFs (keepalives) are reported through
 * *skip (bytes to drop before the message). */
long sip_stream_frame(const char *buf, size_t len, size_t max, size_t *skip);

/* ---- accessors (lazy parsing; NULL on absence or parse error) ---- */
sip_hdr_t *sip_hdr_first(sip_msg_t *msg, sip_hdr_type_t t);
/* Next header of the same type after index i (or of the same name when
 * type is SIP_HDR_OTHER). */
sip_hdr_t *sip_hdr_next(sip_msg_t *msg, const sip_hdr_t *h);
/* Find by name (case-insensitive, compact forms understood). */
sip_hdr_t *sip_hdr_find(sip_msg_t *msg, str_t name);

sip_via_t *sip_get_via1(sip_msg_t *msg);  /* top-most via-parm */
sip_via_t *sip_get_via2(sip_msg_t *msg);  /* second via-parm (any header) */
sip_nameaddr_t *sip_get_from(sip_msg_t *msg);
sip_nameaddr_t *sip_get_to(sip_msg_t *msg);
sip_cseq_t *sip_get_cseq(sip_msg_t *msg);
/* The tag parameter of From (t = SIP_HDR_FROM) or To (SIP_HDR_TO), found
 * without parsing the URI (a cheap scan of the header, cached; the full
 * parse when there is one). 1: there is a tag, *tag its value (may be
 * empty); 0: no tag; -1: no such header, or malformed (*tag empty). */
int sip_get_tag(sip_msg_t *msg, sip_hdr_type_t t, str_t *tag);
str_t sip_get_callid(sip_msg_t *msg); /* empty when absent */
/* Max-Forwards value, -1 when absent, -2 when malformed. */
int sip_get_maxfwd(sip_msg_t *msg);
/* Contacts of the header h (h must be a Contact header). */
sip_contact_list_t *sip_get_contacts(sip_msg_t *msg, sip_hdr_t *h);
sip_auth_t *sip_get_auth(sip_msg_t *msg, sip_hdr_t *h);
/* All via-parms of the Via header h (cached like the others). */
sip_via_t *sip_get_via(sip_msg_t *msg, sip_hdr_t *h);
/* Entries of a Route, Record-Route or Path header h. */
sip_rr_t *sip_get_rr(sip_msg_t *msg, sip_hdr_t *h);
/* Tokens of a Require, Proxy-Require, Supported, Unsupported or Allow
 * header h (NULL also for an empty list). */
sip_token_t *sip_get_tokens(sip_msg_t *msg, sip_hdr_t *h);
/* Parsed request URI as received. */
sip_uri_t *sip_get_ruri(sip_msg_t *msg);
/* Current request URI: new_uri when set, else the received one. */
str_t sip_cur_uri(const sip_msg_t *msg);
sip_uri_t *sip_get_cur_ruri(sip_msg_t *msg);
/* Set new R-URI (copied into the arena). */
int sip_set_ruri(sip_msg_t *msg, str_t uri);

#endif
