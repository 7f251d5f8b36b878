/* app_jsdt.c - the JavaScript routing engine's module: the "load" and
 * "mode" parameters and the app_jsdt.* control commands (names as in
 * Kamailio's app_jsdt). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/globals.h"
#include "core/module.h"
#include "core/routing_rpc.h"
#include "engines/js/js_engine.h"

/* A relative script path is taken from the current directory when it
 * exists there, else from the configuration file's folder. */
static char *resolve_near_cfg(const char *path)
{
	const char *slash;
	char buf[4096];

	if (path[0] == '/' || access(path, F_OK) == 0 || !osp_g.cfg_file ||
	    !(slash = strrchr(osp_g.cfg_file, '/')))
		return strdup(path);
	snprintf(buf, sizeof(buf), "%.*s/%s", (int)(slash - osp_g.cfg_file),
		 osp_g.cfg_file, path);
	return strdup(buf);
}

/* modparam("app_jsdt", "load", path): the routing script. One script, as
 * in Kamailio; further files come in through require(). */
static int set_load(const char *param, int type, const char *sval, long ival,
		    char *err, size_t errlen)
{
	if (osp_g.script && strcmp(osp_g.script, sval) != 0) {
		snprintf(err, errlen,
			 "app_jsdt: only one 'load' script is supported "
			 "(already %s); require() further files from it",
			 osp_g.script);
		return -1;
	}
	free(osp_g.script);
	osp_g.script = resolve_near_cfg(sval);
	return osp_g.script ? 0 : -1;
}

static const osp_param_t app_jsdt_params[] = {
	{"load", MP_STR, NULL, set_load},
	{"mode", MP_INT, &js_engine_mode, NULL},
	{0},
};

static const rpc_export_t app_jsdt_rpc[] = {
	{"app_jsdt.reload", routing_rpc_reload,
	 "Reload the JavaScript routing script"},
	{"app_jsdt.api_list", routing_rpc_api_list, "The KSR API"},
	{0},
};

osp_module_t osp_mod_app_jsdt = {
	.name = "app_jsdt",
	.params = app_jsdt_params,
	.rpc = app_jsdt_rpc,
};
