/* app_python3.c - the Python routing engine's module: its parameters and
 * the app_python3.* / app_python.* control commands (Kamailio 5.6 registers
 * the app_python.* names; its documentation says app_python3.*: both
 * work). `loadmodule "app_python.so"` and modparam("app_python", ...) reach
 * this module through the loader's alias table (core/module.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/globals.h"
#include "core/module.h"
#include "core/routing_rpc.h"
#include "engines/python/py_engine.h"

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

/* modparam("app_python3", "load" | "script_name", path): the routing
 * script. One script only; it may import modules kept beside it. */
static int set_load(const char *param, int type, const char *sval, long ival,
		    char *err, size_t errlen)
{
	if (osp_g.script && strcmp(osp_g.script, sval) != 0) {
		snprintf(err, errlen,
			 "app_python3: only one '%s' script is supported "
			 "(already %s); import further modules from it",
			 param, osp_g.script);
		return -1;
	}
	free(osp_g.script);
	osp_g.script = resolve_near_cfg(sval);
	return osp_g.script ? 0 : -1;
}

static int set_mod_init(const char *param, int type, const char *sval,
			long ival, char *err, size_t errlen)
{
	if (!*sval) {
		snprintf(err, errlen, "app_python3: %s must not be empty",
			 param);
		return -1;
	}
	return py_engine_set_mod_init(sval) < 0 ? -1 : 0;
}

static int set_child_init(const char *param, int type, const char *sval,
			  long ival, char *err, size_t errlen)
{
	if (!*sval) {
		snprintf(err, errlen, "app_python3: %s must not be empty",
			 param);
		return -1;
	}
	return py_engine_set_child_init(sval) < 0 ? -1 : 0;
}

/* modparam("app_python3", "release_gil", 0|1): an Osprey addition. */
static int set_release_gil(const char *param, int type, const char *sval,
			   long ival, char *err, size_t errlen)
{
	py_engine_set_release_gil(ival != 0);
	return 0;
}

static void app_python3_destroy(void)
{
	py_engine_shutdown();
}

static const osp_param_t app_python3_params[] = {
	{"load", MP_STR, NULL, set_load},
	{"script_name", MP_STR, NULL, set_load},
	{"mod_init_function", MP_STR, NULL, set_mod_init},
	{"child_init_method", MP_STR, NULL, set_child_init},
	{"release_gil", MP_INT, NULL, set_release_gil},
	{0},
};

static const rpc_export_t app_python3_rpc[] = {
	{"app_python3.reload", routing_rpc_reload,
	 "Reload the Python routing script"},
	{"app_python.reload", routing_rpc_reload,
	 "Reload the Python routing script (Kamailio's name)"},
	{"app_python3.list", routing_rpc_list, "The Python script in force"},
	{"app_python3.api_list", routing_rpc_api_list, "The KSR API"},
	{"app_python.api_list", routing_rpc_api_list,
	 "The KSR API (Kamailio's name)"},
	{0},
};

osp_module_t osp_mod_app_python3 = {
	.name = "app_python3",
	.params = app_python3_params,
	.rpc = app_python3_rpc,
	.destroy = app_python3_destroy,
};
