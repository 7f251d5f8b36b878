/* globals.c - the core settings and their defaults. */
#include <string.h>

#include "core/globals.h"
#include "core/log.h"
#include "core/osp.h"

osp_globals_t osp_g;

/* Defaults follow Kamailio where Osprey has the same parameter; see
 * docs/configuration.md for the list. String defaults are literals (osp_g
 * strings are never freed), cast because the struct holds char *. */
void globals_defaults(osp_globals_t *g)
{
	memset(g, 0, sizeof(*g));
	g->workers = 0;
	g->port = 5060;
	g->log_level = L_INFO;
	g->request_route_cb = (char *)"ksr_request_route";
	g->reply_route_cb = (char *)"ksr_reply_route";
	g->onsend_route_cb = (char *)"ksr_onsend_route";
	g->event_route_cb = NULL;
	g->server_header = 1;
	g->server_signature_str = (char *)"Server: Osprey (" OSP_VERSION ")";
	g->user_agent_header = 1;
	g->user_agent_str = (char *)"User-Agent: Osprey (" OSP_VERSION ")";
	g->tcp_max_msg = 65536;
	g->tcp_idle = 600;
	g->tcp_connect_timeout = 10000;
	g->udp_max_msg = 65535;
	g->sip_warning = 0;
	g->auto_aliases = 1;
	g->disable_tcp = 0;
	g->tcp_accept_no_cl = 0;
}
