/* nv_engine.c - the native routing language as a script engine.
 *
 * The "script" is the configuration file itself. The route blocks of the
 * configuration loaded at start (generation 1) are compiled from the
 * tokens cfg_load() kept; a reload (cfg.reload, engine.reload, SIGHUP)
 * parses the file again without applying it, refuses the change when a
 * global parameter, loadmodule or modparam differs from the running
 * configuration (those need a restart), and compiles the new blocks.
 *
 * One compiled program serves every worker of a generation: the reload's
 * check compiles it and keeps it ("pinned"), and the workers' instances
 * take references to it, so the file is read once per reload and every
 * worker runs exactly what was checked even if the file changes again in
 * between. An instance adds only per-worker scratch (the PCRE2 match
 * block).
 *
 * Callback names map to blocks: ksr_request_route to request_route,
 * ksr_reply_route to reply_route (or the unnamed onreply_route),
 * ksr_onsend_route to onsend_route; the names tm passes for t_on_failure,
 * t_on_branch, t_on_reply and t_on_branch_failure to failure_route[NAME],
 * branch_route[NAME], onreply_route[NAME] and
 * event_route[tm:branch-failure:NAME], chosen by ctx->route; event routes
 * by their "module:event" name. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/cfg.h"
#include "core/globals.h"
#include "core/log.h"
#include "core/osp.h"
#include "core/routing_rpc.h"
#include "engines/engine.h"
#include "engines/native/nv.h"

static pthread_mutex_t nv_lock = PTHREAD_MUTEX_INITIALIZER;
static nv_prog_t *pinned; /* the newest program that compiled */

static void prog_unref(nv_prog_t *p)
{
	if (p && __atomic_sub_fetch(&p->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
		nv_prog_free(p);
}

/* The route blocks of s: the loaded configuration's for the first
 * generation, else the file parsed again and checked against the running
 * settings. */
static nv_prog_t *compile_script(osp_script_t *s, char *err, size_t errlen)
{
	const cfg_file_t *cur = cfg_current_file();
	cfg_file_t *cf = NULL;
	const cfg_route_t *routes;
	nv_prog_t *prog;
	char diff[512];

	if (s->gen <= 1 && cur) {
		routes = cfg_file_routes(cur);
	} else {
		cf = cfg_parse(s->path, 0, err, errlen);
		if (!cf)
			return NULL;
		if (cur &&
		    cfg_file_settings_diff(cur, cf, diff, sizeof(diff))) {
			snprintf(
			    err, errlen,
			    "%s: changed %s: global parameters, loadmodule "
			    "and modparam need a restart; only route "
			    "blocks are reloaded",
			    s->path, diff);
			cfg_file_free(cf);
			return NULL;
		}
		routes = cfg_file_routes(cf);
	}
	prog = nv_compile(routes, err, errlen);
	cfg_file_free(cf);
	nv_scratch_release();
	if (prog && !prog->request) {
		snprintf(err, errlen, "%s: no request_route block", s->path);
		nv_prog_free(prog);
		return NULL;
	}
	return prog;
}

static nv_prog_t *get_prog(osp_script_t *s, char *err, size_t errlen)
{
	nv_prog_t *p;

	pthread_mutex_lock(&nv_lock);
	if (pinned && pinned->gen == s->gen) {
		__atomic_add_fetch(&pinned->refcnt, 1, __ATOMIC_ACQ_REL);
		p = pinned;
		goto out;
	}
	p = compile_script(s, err, errlen);
	if (!p)
		goto out;
	p->gen = s->gen;
	p->refcnt = 1;
	if (!pinned || s->gen >= pinned->gen) {
		p->refcnt++;
		prog_unref(pinned);
		pinned = p;
	}
out:
	pthread_mutex_unlock(&nv_lock);
	return p;
}

static void *nv_create(osp_script_t *s, int worker, char *err, size_t errlen)
{
	nv_inst_t *in = calloc(1, sizeof(*in));

	if (!in) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	in->prog = get_prog(s, err, errlen);
	if (!in->prog) {
		free(in);
		return NULL;
	}
	OSP_UNUSED(worker);
	return in;
}

static void nv_destroy(void *p)
{
	nv_inst_t *in = p;

	if (!in)
		return;
	if (in->match_data)
		pcre2_match_data_free(in->match_data);
	prog_unref(in->prog);
	nv_scratch_release();
	free(in);
}

static int is_cb(const char *fname, const char *configured, const char *dflt)
{
	return !strcmp(fname, dflt) ||
	       (configured && *configured && !strcmp(fname, configured));
}

/* The block a callback name stands for when the kind of route is not
 * known (has()). */
static const nv_route_t *by_name(const nv_prog_t *p, const char *fname)
{
	static const cfg_route_type_t kinds[] = {CFG_RT_FAILURE, CFG_RT_BRANCH,
						 CFG_RT_ONREPLY, CFG_RT_ROUTE,
						 CFG_RT_EVENT};

	if (is_cb(fname, osp_g.request_route_cb, "ksr_request_route"))
		return p->request;
	if (is_cb(fname, osp_g.reply_route_cb, "ksr_reply_route"))
		return p->reply;
	if (is_cb(fname, osp_g.onsend_route_cb, "ksr_onsend_route"))
		return p->onsend;
	for (size_t i = 0; i < OSP_ARRAY_LEN(kinds); i++) {
		const nv_route_t *r = nv_prog_find(p, kinds[i], fname);

		if (r)
			return r;
	}
	return NULL;
}

static int nv_has(void *p, const char *fname)
{
	nv_inst_t *in = p;

	return by_name(in->prog, fname) != NULL;
}

static const nv_route_t *pick(const nv_prog_t *p, const ksr_ctx_t *ctx,
			      const char *fname, const char *arg)
{
	char name[256];

	switch (ctx->route) {
	case KSR_ROUTE_FAILURE: return nv_prog_find(p, CFG_RT_FAILURE, fname);
	case KSR_ROUTE_BRANCH: return nv_prog_find(p, CFG_RT_BRANCH, fname);
	case KSR_ROUTE_ONREPLY: return nv_prog_find(p, CFG_RT_ONREPLY, fname);
	case KSR_ROUTE_BRANCH_FAILURE:
		snprintf(name, sizeof(name), "tm:branch-failure:%s", fname);
		return nv_prog_find(p, CFG_RT_EVENT, name);
	case KSR_ROUTE_LOCAL:
		return nv_prog_find(p, CFG_RT_EVENT, "tm:local-request");
	case KSR_ROUTE_EVENT:
		return nv_prog_find(p, CFG_RT_EVENT, arg ? arg : fname);
	case KSR_ROUTE_REPLY:
		if (is_cb(fname, osp_g.reply_route_cb, "ksr_reply_route"))
			return p->reply;
		break;
	case KSR_ROUTE_ONSEND:
		if (is_cb(fname, osp_g.onsend_route_cb, "ksr_onsend_route"))
			return p->onsend;
		break;
	default: break;
	}
	return by_name(p, fname);
}

static int nv_run(void *p, ksr_ctx_t *ctx, const char *fname, const char *arg)
{
	nv_inst_t *in = p;
	const nv_route_t *r = pick(in->prog, ctx, fname, arg);

	if (!r)
		return 0;
	return nv_run_route(in, ctx, r);
}

const osp_engine_t osp_engine_native = {
    .name = "native",
    .ext = "", /* never picked by extension: the .cfg is the script */
    .rpc_prefix = "cfg",
    .module = NULL,
    .create = nv_create,
    .destroy = nv_destroy,
    .has = nv_has,
    .run = nv_run,
};

/* Registered by the core when the native engine routes. */
const rpc_export_t nv_engine_rpc[] = {
    {"cfg.reload", routing_rpc_reload,
     "Reload the route blocks of the configuration file (native routing)"},
    {0},
};
