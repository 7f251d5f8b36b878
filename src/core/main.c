/* main.c - command line, start-up wiring, signals and shutdown. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/globals.h"
#include "core/latency.h"
#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "core/routing.h"
#include "core/routing_rpc.h"
#include "core/rundir.h"
#include "core/timer.h"
#include "core/worker.h"
#include "engines/engine.h"
#include "engines/native/native.h"
#include "net/dns.h"
#include "net/net.h"
#include "net/net_internal.h"
#include "rpc/rpc.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: osprey [options] -f FILE\n"
		"\n"
		"FILE is a configuration file (kamailio.cfg syntax, routed by\n"
		"its route blocks or by the script its cfgengine names) or a\n"
		"routing script run directly (the engine is picked by its\n"
		"extension: .lua, .js, .py).\n"
		"\n"
		"Options:\n"
		"  -f FILE        configuration file or routing script\n"
		"  -c             check the configuration and the script, then exit\n"
		"  -l LISTEN      listen on [proto:]addr[:port] (repeatable; proto\n"
		"                 udp or tcp, both when omitted; IPv6 in brackets)\n"
		"  -n N           number of worker threads (default: CPU cores)\n"
		"  -r PATH        control socket path (default: %s)\n"
		"  -A NAME[=VAL]  define NAME for #!ifdef in the configuration\n"
		"  -d             more verbose logging (repeatable)\n"
		"  -V             print the version and exit\n"
		"  --api [json|md] print the KSR API and exit\n"
		"  -h, --help     this help\n",
		osp_default_rpc_socket());
}

/* "udp:127.0.0.1:5060", "tcp:[::1]:5070", "127.0.0.1", "[::1]:5080" */
static int parse_listen(const char *s, osp_listen_spec_t *ls)
{
	const char *p = s, *host, *hend, *port = NULL;
	size_t hl;

	memset(ls, 0, sizeof(*ls));
	if (strncmp(p, "udp:", 4) == 0) {
		ls->proto = SIP_PROTO_UDP;
		p += 4;
	} else if (strncmp(p, "tcp:", 4) == 0) {
		ls->proto = SIP_PROTO_TCP;
		p += 4;
	}
	host = p;
	if (*p == '[') {
		hend = strchr(p, ']');
		if (!hend)
			return -1;
		host = p + 1;
		hl = (size_t)(hend - host);
		if (hend[1] == ':')
			port = hend + 2;
		else if (hend[1])
			return -1;
	} else {
		hend = strchr(p, ':');
		hl = hend ? (size_t)(hend - p) : strlen(p);
		if (hend)
			port = hend + 1;
	}
	if (hl == 0 || hl >= sizeof(ls->host))
		return -1;
	memcpy(ls->host, host, hl);
	ls->host[hl] = '\0';
	if (port) {
		char *end;
		long v = strtol(port, &end, 10);

		if (*end || v <= 0 || v > 65535)
			return -1;
		ls->port = (int)v;
	}
	return 0;
}

static int add_listeners(void)
{
	if (osp_g.n_listen == 0) {
		osp_listen_spec_t *ls = &osp_g.listen[osp_g.n_listen++];

		memset(ls, 0, sizeof(*ls));
		snprintf(ls->host, sizeof(ls->host), "127.0.0.1");
	}
	for (int i = 0; i < osp_g.n_listen; i++) {
		osp_listen_spec_t *ls = &osp_g.listen[i];
		int port = ls->port ? ls->port : osp_g.port;

		if ((!ls->proto || ls->proto == SIP_PROTO_UDP) &&
		    net_listener_add(SIP_PROTO_UDP, ls->host, port, ls->adv_host,
				     ls->adv_port) < 0)
			return -1;
		if ((!ls->proto || ls->proto == SIP_PROTO_TCP) &&
		    net_listener_add(SIP_PROTO_TCP, ls->host, port, ls->adv_host,
				     ls->adv_port) < 0)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"api", optional_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0, 0, 0, 0},
	};
	char err[1024];
	const char *api = NULL;
	const osp_engine_t *eng;
	int c, verbose = 0, n_cli_listen = 0, cli_workers = 0;
	char *cli_rpc = NULL;
	osp_listen_spec_t cli_listen[OSP_MAX_LISTEN];
	sigset_t sigs;
	int sig;

	globals_defaults(&osp_g);
	while ((c = getopt_long(argc, argv, "f:cl:n:r:A:dVh", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'f':
			osp_g.cfg_file = optarg;
			break;
		case 'c':
			osp_g.check_only = 1;
			break;
		case 'l':
			if (n_cli_listen == OSP_MAX_LISTEN ||
			    parse_listen(optarg, &cli_listen[n_cli_listen]) < 0) {
				fprintf(stderr, "osprey: bad -l '%s' (expected "
						"[udp:|tcp:]addr[:port])\n",
					optarg);
				return 2;
			}
			n_cli_listen++;
			break;
		case 'n':
			cli_workers = atoi(optarg);
			if (cli_workers < 1 || cli_workers > 256) {
				fprintf(stderr, "osprey: -n takes 1..256\n");
				return 2;
			}
			break;
		case 'r':
			cli_rpc = optarg;
			break;
		case 'A':
			if (osp_g.n_defines == OSP_MAX_DEFINES) {
				fprintf(stderr, "osprey: too many -A\n");
				return 2;
			}
			osp_g.defines[osp_g.n_defines++] = optarg;
			break;
		case 'd':
			verbose++;
			break;
		case 'V':
			printf("osprey %s\n", OSP_VERSION);
			return 0;
		case 'a':
			api = optarg ? optarg :
			      (optind < argc && argv[optind][0] != '-') ?
					argv[optind++] :
					"json";
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (api) {
		if (strcmp(api, "json") != 0 && strcmp(api, "md") != 0) {
			fprintf(stderr, "osprey: --api takes json or md\n");
			return 2;
		}
		osp_log_level = L_ERR;
		module_load_all();
		if (modules_register() < 0)
			return 1;
		return ksr_registry_print(stdout, api) < 0 ? 1 : 0;
	}
	if (!osp_g.cfg_file) {
		usage(stderr);
		return 2;
	}

	eng = engine_by_ext(osp_g.cfg_file);
	if (eng) {
		/* a routing script run directly: every module is loaded */
		module_load_all();
		osp_g.script = strdup(osp_g.cfg_file);
		osp_g.engine = strdup(eng->name);
	} else if (cfg_load(osp_g.cfg_file, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	/* the command line wins over the configuration file */
	osp_log_level += verbose;
	if (cli_workers)
		osp_g.workers = cli_workers;
	if (cli_rpc)
		osp_g.rpc_socket = cli_rpc;
	for (int i = 0; i < n_cli_listen; i++) {
		/* -l replaces the configured listen addresses */
		if (i == 0)
			osp_g.n_listen = 0;
		osp_g.listen[osp_g.n_listen++] = cli_listen[i];
	}
	if (!osp_g.engine || strcmp(osp_g.engine, "native") == 0 ||
	    strcmp(osp_g.engine, "default") == 0) {
		/* the route blocks of the configuration file route */
		if (!cfg_route_find(CFG_RT_REQUEST, NULL)) {
			fprintf(stderr,
				"%s: no request_route block (and no cfgengine "
				"naming a routing script engine)\n",
				osp_g.cfg_file);
			return 1;
		}
		eng = &osp_engine_native;
		if (!osp_g.engine)
			osp_g.engine = strdup(eng->name);
		free(osp_g.script); /* an app_lua "load" has no use here */
		osp_g.script = strdup(osp_g.cfg_file);
		if (!osp_g.engine || !osp_g.script)
			return 1;
	} else {
		eng = engine_find(osp_g.engine);
		if (!eng || eng == &osp_engine_native) {
			fprintf(stderr, "%s: unknown cfgengine '%s'\n",
				osp_g.cfg_file, osp_g.engine);
			return 1;
		}
		if (!osp_g.script) {
			fprintf(stderr,
				"%s: no routing script: set modparam(\"%s\", "
				"\"load\", \"FILE\")\n",
				osp_g.cfg_file, eng->module);
			return 1;
		}
		/* one engine per configuration (Kamailio would run a native
		 * request_route instead of the script's: docs/native.md) */
		if (cfg_route_find(CFG_RT_REQUEST, NULL))
			LOG_WARN("%s: cfgengine \"%s\": the native route blocks "
				 "are not run",
				 osp_g.cfg_file, osp_g.engine);
	}
	if (eng->module && !module_find(eng->module)->loaded)
		module_load(eng->module);

	if (modules_init() < 0)
		return 1;
	worker_stats_register();
	if (worker_set_log_prefix(osp_g.log_prefix, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: log_prefix: %s\n", osp_g.cfg_file, err);
		return 1;
	}
	rpc_register(osp_core_rpc);
	rpc_register(routing_rpc);
	if (eng == &osp_engine_native)
		rpc_register(nv_engine_rpc);
	rpc_register(latency_rpc);
	if (routing_init(eng, osp_g.script, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (osp_g.check_only) {
		printf("%s: configuration OK (script %s, engine %s)\n",
		       osp_g.cfg_file, osp_g.script, eng->name);
		return 0;
	}
	if (osp_g.workers <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		osp_g.workers = n > 0 ? (int)n : 1;
	}

	/* signals are taken by sigwait() below; threads inherit the mask */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	dns_init();
	if (add_listeners() < 0 || net_init() < 0 ||
	    net_open_workers(osp_g.workers) < 0) {
		LOG_CRIT("cannot open the listening sockets");
		return 1;
	}
	if (!osp_g.rpc_socket)
		osp_g.rpc_socket = (char *)osp_default_rpc_socket();
	if (rpc_server_start(osp_g.rpc_socket, osp_g.rpc_group,
			     osp_g.rpc_group ? 0660 : 0600) < 0) {
		LOG_CRIT("cannot open the control socket %s", osp_g.rpc_socket);
		return 1;
	}
	if (osp_timers_start() < 0) {
		LOG_CRIT("cannot start the timer thread");
		return 1;
	}
	if (workers_start(osp_g.workers) < 0) {
		LOG_CRIT("cannot start the workers");
		rpc_server_stop();
		return 1;
	}
	LOG_NOTICE("osprey %s ready: %d workers, script %s (%s), control "
		   "socket %s",
		   OSP_VERSION, osp_g.workers, osp_g.script, eng->name,
		   osp_g.rpc_socket);

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			LOG_NOTICE("SIGHUP: reloading the routing script");
			if (routing_reload(err, sizeof(err)) < 0)
				LOG_ERR("reload failed: %s", err);
			continue;
		}
		break;
	}
	LOG_NOTICE("signal %d: shutting down", sig);
	/* timers first: their callbacks hand work to the workers
	 * (worker_post), which must not race with the workers going away */
	osp_timers_stop();
	workers_stop();
	rpc_server_stop();
	net_destroy();
	dns_destroy();
	modules_destroy();
	routing_destroy();
	LOG_NOTICE("stopped");
	return 0;
}
