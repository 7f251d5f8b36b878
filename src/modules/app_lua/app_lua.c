/* app_lua.c - the Lua routing engine's module: the "load" parameter and
 * the app_lua.* control commands (names as in Kamailio). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/globals.h"
#include "core/module.h"
#include "core/routing_rpc.h"

static int lua_reload_enabled = 1;

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

/* modparam("app_lua", "load", path): the routing script. Kamailio accepts
 * several files; Osprey routes with one script (which may require() the
 * others), so a second "load" is refused. */
static int set_load(const char *param, int type, const char *sval, long ival,
		    char *err, size_t errlen)
{
	if (osp_g.script && strcmp(osp_g.script, sval) != 0) {
		snprintf(err, errlen,
			 "app_lua: only one 'load' script is supported (already "
			 "%s); require() further files from it",
			 osp_g.script);
		return -1;
	}
	free(osp_g.script);
	osp_g.script = resolve_near_cfg(sval);
	return osp_g.script ? 0 : -1;
}

static const osp_param_t app_lua_params[] = {
	{"load", MP_STR, NULL, set_load},
	{"reload", MP_INT, &lua_reload_enabled, NULL},
	{0},
};

static const rpc_export_t app_lua_rpc[] = {
	{"app_lua.reload", routing_rpc_reload, "Reload the Lua routing script"},
	{"app_lua.list", routing_rpc_list, "The Lua script in force"},
	{"app_lua.api_list", routing_rpc_api_list, "The KSR API"},
	{0},
};

osp_module_t osp_mod_app_lua = {
	.name = "app_lua",
	.params = app_lua_params,
	.rpc = app_lua_rpc,
};
