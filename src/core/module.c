/* module.c - the loader of compiled-in modules: loadmodule, modparam and
 * the init hooks. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"

/* "sl", "sl.so", "/usr/lib/kamailio/modules/sl.so" -> "sl" */
static void module_base_name(const char *name, char *out, size_t cap)
{
	const char *b = strrchr(name, '/');
	size_t n;

	b = b ? b + 1 : name;
	n = strlen(b);
	if (n > 3 && strcmp(b + n - 3, ".so") == 0)
		n -= 3;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, b, n);
	out[n] = '\0';
}

/* Kamailio module names that are another name here. */
static const char *const aliases[][2] = {
	{"kx", "kemix"}, /* the folder (and KSR.kx) vs Kamailio's name */
	{"app_python", "app_python3"}, /* Kamailio has both names */
	{NULL, NULL},
};

/* Kamailio modules Osprey has no folder for. A builtin one is accepted by
 * loadmodule and its modparams are ignored: the core does its job (control
 * socket, statistics, core RPCs, SQLite access), or it only helps debug
 * Kamailio itself (then `note` is logged as a warning). A refused one makes
 * loadmodule fail with `note`, which says why and what to do instead. */
static const struct {
	const char *name;
	int refuse;
	const char *note;
} kamailio_only[] = {
    {"jsonrpcs", 0, NULL},
    {"ctl", 0, NULL},
    {"kex", 0, NULL},
    {"cfg_rpc", 0, NULL},
    {"mi_fifo", 0, NULL},
    /* SQLite is built in (src/db): every db_url "sqlite://..." works */
    {"db_sqlite", 0, NULL},
    {"debugger", 0,
     "debugger: accepted without effect: Osprey has no cfg tracing "
     "(cfgtrace) or breakpoints; raise the log level with debug= or -d"},
    {"db_mysql", 1,
     "db_mysql: Osprey keeps its data in SQLite only (no MySQL client): "
     "load \"db_sqlite.so\" instead and point db_url (DBURL) at "
     "\"sqlite:///path/to/file.db\""},
    {"db_postgres", 1,
     "db_postgres: Osprey keeps its data in SQLite only: load "
     "\"db_sqlite.so\" instead and point db_url (DBURL) at "
     "\"sqlite:///path/to/file.db\""},
    {"db_text", 1,
     "db_text: Osprey keeps its data in SQLite only (no text-file "
     "tables): load \"db_sqlite.so\" instead and point db_url (DBURL) at "
     "\"sqlite:///path/to/file.db\""},
    {"db_unixodbc", 1,
     "db_unixodbc: Osprey keeps its data in SQLite only: load "
     "\"db_sqlite.so\" instead and point db_url (DBURL) at "
     "\"sqlite:///path/to/file.db\""},
    {"app_ruby", 1,
     "app_ruby: Osprey has no Ruby engine: route in Lua (app_lua), "
     "JavaScript (app_jsdt), Python (app_python3) or the native language"},
    {"app_sqlang", 1,
     "app_sqlang: Osprey has no Squirrel engine: route in Lua (app_lua), "
     "JavaScript (app_jsdt), Python (app_python3) or the native language"},
    {"tls", 1,
     "tls: Osprey has no TLS transport yet, so TLS cannot be enabled: "
     "leave WITH_TLS undefined (remove loadmodule \"tls.so\" and "
     "enable_tls)"},
    {NULL, 0, NULL},
};

static int kamailio_only_find(const char *name)
{
	char base[64];

	module_base_name(name, base, sizeof(base));
	for (int i = 0; kamailio_only[i].name; i++)
		if (strcmp(base, kamailio_only[i].name) == 0)
			return i;
	return -1;
}

int module_is_builtin(const char *name)
{
	int i = kamailio_only_find(name);

	return i >= 0 && !kamailio_only[i].refuse;
}

const char *module_builtin_warning(const char *name)
{
	int i = kamailio_only_find(name);

	return i >= 0 && !kamailio_only[i].refuse ? kamailio_only[i].note
						  : NULL;
}

const char *module_refusal(const char *name)
{
	int i = kamailio_only_find(name);

	return i >= 0 && kamailio_only[i].refuse ? kamailio_only[i].note : NULL;
}

osp_module_t *module_find(const char *name)
{
	char base[64];

	module_base_name(name, base, sizeof(base));
	for (int i = 0; aliases[i][0]; i++)
		if (strcmp(base, aliases[i][0]) == 0)
			snprintf(base, sizeof(base), "%s", aliases[i][1]);
	for (osp_module_t **m = osp_modules; *m; m++)
		if (strcmp((*m)->name, base) == 0)
			return *m;
	return NULL;
}

int module_load(const char *name)
{
	osp_module_t *m = module_find(name);

	if (!m)
		return module_is_builtin(name) ? 0 : -1;
	m->loaded = 1;
	return 0;
}

void module_load_all(void)
{
	for (osp_module_t **m = osp_modules; *m; m++)
		(*m)->loaded = 1;
}

static void fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Booleans written as words are accepted for integer parameters, as in
 * Kamailio ("yes", "on", "true" / "no", "off", "false"). */
static int word_to_int(const char *s, long *out)
{
	static const char *yes[] = {"yes", "on", "true", "enable", NULL};
	static const char *no[] = {"no", "off", "false", "disable", NULL};
	char *end;

	for (int i = 0; yes[i]; i++)
		if (strcasecmp(s, yes[i]) == 0)
			return *out = 1, 0;
	for (int i = 0; no[i]; i++)
		if (strcasecmp(s, no[i]) == 0)
			return *out = 0, 0;
	errno = 0;
	*out = strtol(s, &end, 0);
	if (errno || end == s || *end)
		return -1;
	return 0;
}

int module_param_set(const char *mod, const char *param, int type,
		     const char *sval, long ival, char *err, size_t errlen)
{
	osp_module_t *m = module_find(mod);
	const osp_param_t *p;

	if (!m && module_is_builtin(mod)) {
		LOG_DBG("modparam of %s ignored: the core does its job", mod);
		return 0;
	}
	if (!m) {
		fail(err, errlen, "modparam: unknown module '%s'", mod);
		return -1;
	}
	if (!m->loaded) {
		fail(err, errlen, "modparam: module '%s' is not loaded", mod);
		return -1;
	}
	for (p = m->params; p && p->name; p++)
		if (strcasecmp(p->name, param) == 0)
			break;
	if (!p || !p->name) {
		fail(err, errlen, "modparam: module '%s' has no parameter '%s'",
		     mod, param);
		return -1;
	}
	if (type == MP_STR && !(p->type & MP_STR)) {
		/* a string for an integer parameter: accept numbers and
		 * boolean words */
		if (word_to_int(sval, &ival) < 0) {
			fail(err, errlen,
			     "modparam: %s.%s expects an integer, got \"%s\"",
			     mod, param, sval);
			return -1;
		}
		type = MP_INT;
	} else if (type == MP_INT && !(p->type & MP_INT)) {
		fail(err, errlen, "modparam: %s.%s expects a string, got %ld",
		     mod, param, ival);
		return -1;
	}
	if (p->set) {
		if (err && errlen)
			err[0] = '\0';
		if (p->set(param, type, sval, ival, err, errlen) < 0) {
			if (err && errlen && !err[0])
				fail(err, errlen, "modparam: bad value for %s.%s",
				     mod, param);
			return -1;
		}
		return 0;
	}
	if (type == MP_INT) {
		*(int *)p->var = (int)ival;
	} else {
		char *dup = strdup(sval);

		if (!dup) {
			fail(err, errlen, "out of memory");
			return -1;
		}
		/* the previous value may be a static default: not freed */
		*(char **)p->var = dup;
	}
	return 0;
}

int modules_register(void)
{
	for (osp_module_t **m = osp_modules; *m; m++) {
		if ((*m)->always)
			(*m)->loaded = 1;
		if (!(*m)->loaded)
			continue;
		if ((*m)->exports && ksr_registry_add((*m)->exports) < 0)
			return -1;
		if ((*m)->rpc && rpc_register((*m)->rpc) < 0)
			return -1;
	}
	return 0;
}

int modules_init(void)
{
	if (modules_register() < 0)
		return -1;
	for (osp_module_t **m = osp_modules; *m; m++) {
		if (!(*m)->loaded || !(*m)->init)
			continue;
		if ((*m)->init() < 0) {
			LOG_ERR("module %s failed to initialise", (*m)->name);
			return -1;
		}
	}
	return 0;
}

int modules_child_init(int worker)
{
	for (osp_module_t **m = osp_modules; *m; m++) {
		if (!(*m)->loaded || !(*m)->child_init)
			continue;
		if ((*m)->child_init(worker) < 0) {
			LOG_ERR("module %s failed to initialise worker %d",
				(*m)->name, worker);
			return -1;
		}
	}
	return 0;
}

void modules_destroy(void)
{
	for (osp_module_t **m = osp_modules; *m; m++)
		if ((*m)->loaded && (*m)->destroy)
			(*m)->destroy();
}
