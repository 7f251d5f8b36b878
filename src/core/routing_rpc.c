/* routing_rpc.c - control commands for the routing script. */
#include <stdio.h>
#include <string.h>

#include "core/routing.h"
#include "core/routing_rpc.h"
#include "kemi/kemi.h"

/* Reload the routing script: the answer names the new generation, or is a
 * JSON-RPC error (code 500) carrying "file:line: message". */
json_t *routing_rpc_reload(json_t *params, rpc_error_t *err)
{
	char msg[1024];
	osp_script_t *s;
	json_t *r;

	if (routing_reload(msg, sizeof(msg)) < 0)
		return rpc_fail(err, 500, "reload failed: %s", msg);
	s = routing_current();
	r = json_pack("{s:s, s:i, s:s}", "result", "ok", "generation",
		      s ? (int)s->gen : 0, "script", s ? s->path : "");
	script_unref(s);
	return r;
}

json_t *routing_rpc_list(json_t *params, rpc_error_t *err)
{
	osp_script_t *s = routing_current();
	const osp_engine_t *e = routing_engine();
	json_t *r;

	r = json_pack("{s:s, s:s, s:i, s:i, s:i}", "engine", e ? e->name : "",
		      "script", s ? s->path : "", "generation", s ? (int)s->gen : 0,
		      "reloads", (int)routing_reloads_ok(), "reloads_failed",
		      (int)routing_reloads_failed());
	script_unref(s);
	return r;
}

/* The KSR API as in Kamailio's app_lua.api_list. */
json_t *routing_rpc_api_list(json_t *params, rpc_error_t *err)
{
	json_t *methods = json_array(), *r;
	int n = ksr_registry_count();

	for (int i = 0; i < n; i++) {
		const ksr_export_t *e = ksr_registry_get(i);
		json_t *ps = json_array();
		int np = ksr_export_nparams(e);

		for (int p = 0; p < np; p++)
			json_array_append_new(ps,
					      json_string(ksr_type_name(e->ptypes[p])));
		json_array_append_new(
			methods,
			json_pack("{s:{s:s, s:s, s:s, s:o}}", "func", "ret",
				  ksr_type_name(e->rtype), "module", e->module,
				  "name", e->name, "params", ps));
	}
	r = json_pack("{s:i, s:o}", "msize", n, "methods", methods);
	return r;
}

const rpc_export_t routing_rpc[] = {
	{"engine.reload", routing_rpc_reload,
	 "Reload the routing script (any engine)"},
	{"engine.list", routing_rpc_list, "The routing script in force"},
	{"engine.api_list", routing_rpc_api_list, "The KSR API"},
	{0},
};
