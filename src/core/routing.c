/* routing.c - current routing script and hot reload (see routing.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/globals.h"
#include "core/log.h"
#include "core/osp.h"
#include "core/routing.h"
#include "core/stats.h"

static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cur_lock = PTHREAD_MUTEX_INITIALIZER;
static const osp_engine_t *engine;
static osp_script_t *current;
static unsigned gen;
static char *script_path;

OSP_COUNTER(st_reload_ok, "core", "reloads");
OSP_COUNTER(st_reload_failed, "core", "reloads_failed");

osp_script_t *script_read(const char *path, unsigned g, char *err,
			  size_t errlen)
{
	FILE *f = fopen(path, "rb");
	osp_script_t *s = NULL;
	long n;

	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			 strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) < 0)
		goto fail;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto fail;
	s->src = malloc((size_t)n + 1);
	s->path = strdup(path);
	if (!s->src || !s->path)
		goto fail;
	if (n && fread(s->src, 1, (size_t)n, f) != (size_t)n)
		goto fail;
	s->src[n] = '\0';
	s->len = (size_t)n;
	s->gen = g;
	s->refcnt = 1;
	fclose(f);
	return s;
fail:
	snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
	fclose(f);
	if (s) {
		free(s->src);
		free(s->path);
		free(s);
	}
	return NULL;
}

void script_ref(osp_script_t *s)
{
	__atomic_fetch_add(&s->refcnt, 1, __ATOMIC_ACQ_REL);
}

void script_unref(osp_script_t *s)
{
	if (s && __atomic_sub_fetch(&s->refcnt, 1, __ATOMIC_ACQ_REL) == 0) {
		free(s->src);
		free(s->path);
		free(s);
	}
}

const char *routing_request_route(void)
{
	return osp_g.request_route_cb && *osp_g.request_route_cb ?
		       osp_g.request_route_cb :
		       "ksr_request_route";
}

/* Build a scratch instance and check that the script defines the request
 * route: a script that cannot route requests is refused. */
static int check_script(osp_script_t *s, char *err, size_t errlen)
{
	void *inst = engine->create(s, -1, err, errlen);

	if (!inst)
		return -1;
	if (!engine->has(inst, routing_request_route())) {
		snprintf(err, errlen, "%s:1: the script does not define %s()",
			 s->path, routing_request_route());
		engine->destroy(inst);
		return -1;
	}
	engine->destroy(inst);
	return 0;
}

int routing_init(const osp_engine_t *eng, const char *path, char *err,
		 size_t errlen)
{
	osp_script_t *s;

	stats_register(&st_reload_ok);
	stats_register(&st_reload_failed);
	engine = eng;
	free(script_path);
	script_path = strdup(path);
	if (!script_path)
		return -1;
	s = script_read(path, 1, err, errlen);
	if (!s)
		return -1;
	if (check_script(s, err, errlen) < 0) {
		script_unref(s);
		return -1;
	}
	current = s;
	gen = 1;
	return 0;
}

int routing_reload(char *err, size_t errlen)
{
	osp_script_t *s, *old;
	int rc = -1;

	pthread_mutex_lock(&reload_lock);
	if (!engine || !script_path) {
		snprintf(err, errlen, "no routing script is configured");
		goto out;
	}
	s = script_read(script_path, gen + 1, err, errlen);
	if (!s)
		goto out;
	if (check_script(s, err, errlen) < 0) {
		script_unref(s);
		goto out;
	}
	pthread_mutex_lock(&cur_lock);
	old = current;
	current = s;
	__atomic_store_n(&gen, s->gen, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&cur_lock);
	script_unref(old);
	rc = 0;
	LOG_INFO("routing script %s reloaded (generation %u)", script_path,
		 s->gen);
out:
	if (rc < 0) {
		stats_inc(&st_reload_failed);
		LOG_ERR("reload refused, the running script stays: %s", err);
	} else {
		stats_inc(&st_reload_ok);
	}
	pthread_mutex_unlock(&reload_lock);
	return rc;
}

osp_script_t *routing_current(void)
{
	osp_script_t *s;

	pthread_mutex_lock(&cur_lock);
	s = current;
	if (s)
		script_ref(s);
	pthread_mutex_unlock(&cur_lock);
	return s;
}

unsigned routing_gen(void)
{
	return __atomic_load_n(&gen, __ATOMIC_ACQUIRE);
}

const osp_engine_t *routing_engine(void)
{
	return engine;
}

unsigned routing_reloads_ok(void)
{
	return (unsigned)stats_get(&st_reload_ok);
}

unsigned routing_reloads_failed(void)
{
	return (unsigned)stats_get(&st_reload_failed);
}

void routing_destroy(void)
{
	script_unref(current);
	current = NULL;
	free(script_path);
	script_path = NULL;
}
