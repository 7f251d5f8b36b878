/* globals.h - core settings: command line and global config parameters. */
#ifndef OSP_GLOBALS_H
#define OSP_GLOBALS_H

#include <stddef.h>

#define OSP_MAX_LISTEN 16
#define OSP_MAX_ALIAS 16
#define OSP_MAX_DEFINES 64

typedef struct osp_listen_spec {
	int proto;      /* sip_proto_t; 0 = both udp and tcp */
	char host[64];  /* address text, IPv6 without brackets */
	int port;       /* 0 = the global port */
	char adv_host[64]; /* "advertise" address, empty = none */
	int adv_port;
} osp_listen_spec_t;

/* The strings in osp_g are never freed: a default may be a literal, and a
 * value set by the configuration replaces it without freeing it. */
typedef struct osp_globals {
	char *cfg_file;      /* -f */
	int check_only;      /* -c */
	int workers;         /* -n / children; 0 = number of cores */
	int port;            /* port, default 5060 */
	osp_listen_spec_t listen[OSP_MAX_LISTEN];
	int n_listen;
	char *alias[OSP_MAX_ALIAS];
	int n_alias;
	int log_level;       /* debug / log_level (L_* of log.h), default L_INFO */
	char *log_prefix;    /* may contain pseudo-variables */
	char *engine;        /* cfgengine: "lua", "native", ... */
	char *script;        /* routing script path (app_lua load, or -f) */
	char *reply_route_cb;  /* kemi.reply_route_callback */
	char *onsend_route_cb; /* kemi.onsend_route_callback */
	char *request_route_cb; /* ksr_request_route */
	char *event_route_cb;  /* kemi.event_route_callback, NULL = none */
	char *rpc_socket;    /* -r / rpc_socket */
	char *rpc_group;     /* rpc_socket_group: 0660 with this group */
	int server_header;   /* server_signature: add Server: to local replies */
	char *server_signature_str; /* server_header: whole header line,
				     * "Server: Osprey (0.1.0)", no CRLF */
	int user_agent_header; /* add User-Agent: to locally generated requests */
	char *user_agent_str; /* user_agent_header: whole header line, no CRLF */
	int tcp_max_msg;     /* tcp_max_msg_size, default 65536 */
	int tcp_idle;        /* tcp_connection_lifetime seconds, default 600 */
	int tcp_connect_timeout; /* ms (the config gives seconds), default 10000 */
	int udp_max_msg;     /* bytes; 65535 */
	int sip_warning;
	int auto_aliases;    /* add the listen addresses' names as aliases (1) */
	int disable_tcp;     /* disable_tcp: no TCP listeners or connections */
	int tcp_accept_no_cl; /* accept TCP messages without Content-Length */
	char *defines[OSP_MAX_DEFINES]; /* -A NAME[=value] */
	int n_defines;
	char *run_dir;       /* runtime directory for default socket and db */
} osp_globals_t;

extern osp_globals_t osp_g;

void globals_defaults(osp_globals_t *g);

#endif
