/* core_rpc.c - the core control commands: core.*, system.* and stats.*.
 *
 * Names and output shapes follow Kamailio's (core, kex and jsonrpcs), so
 * that scripts and monitoring written against kamcmd/kamcli keep working:
 * stats.get_statistics answers an array of "group:name = value" strings,
 * stats.fetch an object of "group.name" keys with string values, and
 * core.uptime the ctime strings now/up_since with the uptime in seconds. */
#include <stdint.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/osp.h"
#include "core/stats.h"
#include "rpc/rpc.h"

static time_t up_since;

/* The default start time is the moment the program was loaded, which is
 * close enough to the server's start and needs no call from main. */
__attribute__((constructor)) static void core_rpc_init_time(void)
{
	up_since = time(NULL);
}

void rpc_core_set_start_time(time_t t)
{
	up_since = t;
}

#if defined(__x86_64__)
#define OSP_ARCH "x86_64"
#elif defined(__aarch64__)
#define OSP_ARCH "aarch64"
#elif defined(__i386__)
#define OSP_ARCH "i386"
#elif defined(__arm__)
#define OSP_ARCH "arm"
#else
#define OSP_ARCH "unknown"
#endif

#if defined(__linux__)
#define OSP_OS "linux"
#elif defined(__FreeBSD__)
#define OSP_OS "freebsd"
#else
#define OSP_OS "unknown"
#endif

#if defined(__clang__)
#define OSP_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define OSP_COMPILER "gcc " __VERSION__
#else
#define OSP_COMPILER "unknown"
#endif

static json_t *oom(rpc_error_t *err)
{
	return rpc_fail(err, RPC_E_INTERNAL, "out of memory");
}

/* ---- core.* ------------------------------------------------------------ */

static json_t *rpc_core_version(json_t *params, rpc_error_t *err)
{
	json_t *r =
	    json_string(OSP_NAME " " OSP_VERSION " (" OSP_ARCH "/" OSP_OS ")");

	return r ? r : oom(err);
}

static json_t *rpc_core_info(json_t *params, rpc_error_t *err)
{
	json_t *r =
	    json_pack("{s:s, s:s, s:s, s:s}", "version",
		      OSP_NAME " " OSP_VERSION, "arch", OSP_ARCH "/" OSP_OS,
		      "compiler", OSP_COMPILER, "jansson", JANSSON_VERSION);

	return r ? r : oom(err);
}

/* ctime_r without its trailing newline. */
static const char *time_text(time_t t, char *buf)
{
	size_t n;

	if (!ctime_r(&t, buf))
		return "";
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return buf;
}

static json_t *rpc_core_uptime(json_t *params, rpc_error_t *err)
{
	char b1[64], b2[64];
	time_t now = time(NULL);
	json_t *r;

	r = json_pack("{s:s, s:s, s:I}", "now", time_text(now, b1), "up_since",
		      time_text(up_since, b2), "uptime",
		      (json_int_t)(now - up_since));
	return r ? r : oom(err);
}

/* Answers its parameters, for testing the control channel. */
static json_t *rpc_core_echo(json_t *params, rpc_error_t *err)
{
	return params ? json_incref(params) : json_array();
}

/* ---- system.* ---------------------------------------------------------- */

static void add_name(const rpc_export_t *e, void *arg)
{
	json_array_append_new(arg, json_string(e->name));
}

static json_t *rpc_system_list_methods(json_t *params, rpc_error_t *err)
{
	json_t *r = json_array();

	if (!r)
		return oom(err);
	rpc_foreach(add_name, r);
	return r;
}

static json_t *rpc_system_method_help(json_t *params, rpc_error_t *err)
{
	const char *name = rpc_param_str(params, 0, err);
	const rpc_export_t *e;
	json_t *r;

	if (!name)
		return NULL;
	e = rpc_find(name);
	if (!e)
		return rpc_fail(err, RPC_E_INVALID_PARAMS,
				"command not found: %.256s", name);
	r = json_string(e->doc ? e->doc : "");
	return r ? r : oom(err);
}

/* ---- stats.* ----------------------------------------------------------- */

typedef int (*stat_visit_t)(osp_counter_t *c, void *arg);

/* Visit every counter of a group, or of every group when group is NULL,
 * grouped by group in the order groups were first registered. */
static int visit_groups(const char *group, stat_visit_t fn, void *arg)
{
	osp_counter_t *g, *c, *p;
	int rc;

	for (g = stats_first(); g; g = g->next) {
		if (group && strcmp(g->group, group) != 0)
			continue;
		/* g opens its group only if no earlier counter had it */
		for (p = stats_first(); p != g; p = p->next) {
			if (strcmp(p->group, g->group) == 0)
				break;
		}
		if (p != g)
			continue;
		for (c = g; c; c = c->next) {
			if (strcmp(c->group, g->group) == 0 &&
			    (rc = fn(c, arg)) < 0)
				return rc;
		}
		if (group)
			break;
	}
	return 0;
}

/* Resolve one selector: "all", "group:", "name", "group:name" or
 * "group.name". A selector that matches nothing adds nothing, as in
 * Kamailio. */
static int visit_selector(const char *sel, stat_visit_t fn, void *arg)
{
	char group[128];
	const char *sep;
	size_t len = strlen(sel), glen;
	osp_counter_t *c;

	if (strcmp(sel, "all") == 0)
		return visit_groups(NULL, fn, arg);
	if (len > 1 && sel[len - 1] == ':') {
		if (len - 1 >= sizeof(group))
			return 0;
		memcpy(group, sel, len - 1);
		group[len - 1] = '\0';
		return visit_groups(group, fn, arg);
	}
	c = stats_find(NULL, sel);
	if (!c) {
		sep = strchr(sel, ':');
		if (!sep)
			sep = strchr(sel, '.');
		if (!sep || (glen = (size_t)(sep - sel)) >= sizeof(group))
			return 0;
		memcpy(group, sel, glen);
		group[glen] = '\0';
		c = stats_find(group, sep + 1);
	}
	return c ? fn(c, arg) : 0;
}

/* Run fn over the counters every selector parameter names. At least one
 * selector is required. */
static int visit_params(json_t *params, stat_visit_t fn, void *arg,
			rpc_error_t *err)
{
	const char *sel;
	size_t i, n = json_array_size(params); /* 0 unless an array */

	if (json_is_object(params)) {
		rpc_fail(err, RPC_E_INVALID_PARAMS,
			 "named parameters are not supported by this command, "
			 "pass them by position");
		return -1;
	}
	if (n == 0) {
		rpc_fail(err, RPC_E_INVALID_PARAMS,
			 "missing parameter 1: which statistics (all, group: "
			 "or group:name)");
		return -1;
	}
	for (i = 0; i < n; i++) {
		sel = rpc_param_str(params, i, err);
		if (!sel)
			return -1;
		if (visit_selector(sel, fn, arg) < 0) {
			oom(err);
			return -1;
		}
	}
	return 0;
}

static int add_line(osp_counter_t *c, void *arg)
{
	char line[512];

	snprintf(line, sizeof(line), "%s:%s = %" PRIu64, c->group, c->name,
		 stats_get(c));
	return json_array_append_new(arg, json_string(line));
}

static json_t *rpc_stats_get(json_t *params, rpc_error_t *err)
{
	json_t *r = json_array();

	if (!r)
		return oom(err);
	if (visit_params(params, add_line, r, err) < 0) {
		json_decref(r);
		return NULL;
	}
	return r;
}

struct fetch_arg {
	json_t *obj;
	int numeric;
};

static int add_member(osp_counter_t *c, void *arg)
{
	struct fetch_arg *fa = arg;
	char key[256], val[32];
	uint64_t v = stats_get(c);

	snprintf(key, sizeof(key), "%s.%s", c->group, c->name);
	if (fa->numeric) {
		/* JSON integers are signed 64-bit: saturate beyond that */
		return json_object_set_new(
		    fa->obj, key,
		    json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v));
	}
	snprintf(val, sizeof(val), "%" PRIu64, v);
	return json_object_set_new(fa->obj, key, json_string(val));
}

static json_t *stats_fetch(json_t *params, rpc_error_t *err, int numeric)
{
	struct fetch_arg fa = {json_object(), numeric};

	if (!fa.obj)
		return oom(err);
	if (visit_params(params, add_member, &fa, err) < 0) {
		json_decref(fa.obj);
		return NULL;
	}
	return fa.obj;
}

static json_t *rpc_stats_fetch(json_t *params, rpc_error_t *err)
{
	return stats_fetch(params, err, 0);
}

static json_t *rpc_stats_fetchn(json_t *params, rpc_error_t *err)
{
	return stats_fetch(params, err, 1);
}

/* stats.h has no single-counter reset: the value is a public atomic. */
static uint64_t counter_reset(osp_counter_t *c)
{
	return __atomic_exchange_n(&c->value, 0, __ATOMIC_RELAXED);
}

static int reset_one(osp_counter_t *c, void *arg)
{
	counter_reset(c);
	return 0;
}

static json_t *rpc_stats_reset(json_t *params, rpc_error_t *err)
{
	if (visit_params(params, reset_one, NULL, err) < 0)
		return NULL;
	return json_null();
}

/* Like Kamailio's stats.clear_statistics: reset and show "g:n = 0 (old)",
 * or "g:n = 0" when the counter already was 0. */
static int clear_one(osp_counter_t *c, void *arg)
{
	char line[512];
	uint64_t old = counter_reset(c);

	if (old)
		snprintf(line, sizeof(line), "%s:%s = 0 (%" PRIu64 ")",
			 c->group, c->name, old);
	else
		snprintf(line, sizeof(line), "%s:%s = 0", c->group, c->name);
	return json_array_append_new(arg, json_string(line));
}

static json_t *rpc_stats_clear(json_t *params, rpc_error_t *err)
{
	json_t *r = json_array();

	if (!r)
		return oom(err);
	if (visit_params(params, clear_one, r, err) < 0) {
		json_decref(r);
		return NULL;
	}
	return r;
}

const rpc_export_t osp_core_rpc[] = {
    {"core.version", rpc_core_version,
     "Returns the version string of the server."},
    {"core.info", rpc_core_info,
     "Returns version, architecture, compiler and library versions."},
    {"core.uptime", rpc_core_uptime,
     "Returns the current time, the start time and the uptime in "
     "seconds."},
    {"core.echo", rpc_core_echo, "Returns its parameters."},
    {"system.listMethods", rpc_system_list_methods,
     "Lists the registered RPC commands."},
    {"system.methodHelp", rpc_system_method_help,
     "Returns the help text of a command: system.methodHelp NAME."},
    {"stats.get_statistics", rpc_stats_get,
     "Returns statistics as \"group:name = value\" lines; parameters: "
     "all, group: or group:name (one or more)."},
    {"stats.fetch", rpc_stats_fetch,
     "Returns statistics as an object of \"group.name\": \"value\"."},
    {"stats.fetchn", rpc_stats_fetchn,
     "Returns statistics as an object of \"group.name\": number."},
    {"stats.reset_statistics", rpc_stats_reset,
     "Resets statistics to 0 (silent)."},
    {"stats.clear_statistics", rpc_stats_clear,
     "Resets statistics to 0 and returns their previous values."},
    {NULL, NULL, NULL},
};
