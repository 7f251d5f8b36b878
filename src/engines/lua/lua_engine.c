/* lua_engine.c - the Lua engine (Lua 5.4, or LuaJIT as a build option).
 *
 * Each instance is a lua_State with the standard libraries, a package.path
 * that also searches the script's folder, and the KSR table built from the
 * export registry: KSR.<module>.<name> (module "" sits on KSR itself), each
 * a C closure over its ksr_export_t. Calls check their arguments the way
 * luaL_check* do (a bad one raises a Lua error, never a crash), run the C
 * function with the current message context, and turn KSR_CTX_EXIT (set by
 * KSR.x.exit/KSR.x.drop) into a unique error value that unwinds the script
 * and is recognised by run(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "core/log.h"
#include "core/osp.h"
#include "engines/engine.h"

typedef struct lua_inst {
	lua_State *L;
	ksr_ctx_t *ctx;  /* message being routed, NULL outside routes */
	osp_script_t *script;
	int tb_ref;      /* registry reference of the traceback handler */
#ifdef LUA_GLOBALSINDEX
	/* route names already interned as Lua strings (registry refs):
	 * LuaJIT hashes a C string on every lua_getglobal */
	struct {
		char *name;
		int ref;
	} names[4];
	int n_names;
#endif
} lua_inst_t;

/* The one upvalue of each KSR closure (a full userdata): one lookup per
 * call instead of one per pointer. */
typedef struct ksr_upval {
	const ksr_export_t *e;
	lua_inst_t *in;
} ksr_upval_t;

/* Its address is the exit marker, pushed as a light userdata. */
static const char exit_marker = 0;

#if defined(OSP_LUAJIT) || LUA_VERSION_NUM < 503
static int arg_integer(lua_State *L, int i, long *out)
{
	if (!lua_isnumber(L, i))
		return 0;
	*out = (long)lua_tointeger(L, i);
	return 1;
}
#else
static int arg_integer(lua_State *L, int i, long *out)
{
	int ok = 0;
	lua_Integer v = lua_tointegerx(L, i, &ok);

	if (!ok) {
		/* accept floats with an integral value, like 200.0 */
		lua_Number d;

		if (!lua_isnumber(L, i))
			return 0;
		d = lua_tonumber(L, i);
		if (d != (lua_Number)(long)d)
			return 0;
		v = (lua_Integer)d;
	}
	*out = (long)v;
	return 1;
}
#endif

static const char *type_expected(ksr_type_t t)
{
	return t == KSR_INT ? "integer" : "string";
}

/* Functions usable without a SIP message (top-level script code). */
static int allowed_without_msg(const ksr_export_t *e)
{
	static const char *names[] = {"dbg", "err", "info", "warn", "notice",
				      "crit", "log", "alert", NULL};

	if (strcmp(e->module, "x") == 0 || strcmp(e->module, "kx") == 0)
		return 1;
	if (e->module[0])
		return 0;
	for (int i = 0; names[i]; i++)
		if (strcmp(e->name, names[i]) == 0)
			return 1;
	return 0;
}

static int ksr_call(lua_State *L)
{
	const ksr_upval_t *uv = lua_touserdata(L, lua_upvalueindex(1));
	const ksr_export_t *e = uv->e;
	lua_inst_t *in = uv->in;
	ksr_arg_t args[KSR_PARAMS_MAX];
	ksr_xval_t ret;
	ksr_ctx_t none;
	ksr_ctx_t *ctx = in->ctx;
	int np = ksr_export_nparams(e), rc;

	for (int i = 0; i < np; i++) {
		int li = i + 1;

		if (e->ptypes[i] == KSR_INT) {
			if (!arg_integer(L, li, &args[i].n))
				goto bad_arg;
			args[i].s = STR_NULL;
		} else {
			size_t len;
			const char *s;

			if (lua_type(L, li) != LUA_TSTRING &&
			    lua_type(L, li) != LUA_TNUMBER)
				goto bad_arg;
			s = lua_tolstring(L, li, &len);
			args[i].s = (str_t){s, len};
			args[i].n = 0;
		}
		continue;
bad_arg:
		return luaL_error(L, "KSR%s%s.%s: argument %d: %s expected, got %s",
				  *e->module ? "." : "", e->module, e->name, li,
				  type_expected(e->ptypes[i]),
				  luaL_typename(L, li));
	}
	if (!ctx || !ctx->msg) {
		if (!allowed_without_msg(e))
			return luaL_error(L, "KSR%s%s.%s: no SIP message here "
					     "(called outside a route)",
					  *e->module ? "." : "", e->module,
					  e->name);
		if (!ctx) {
			memset(&none, 0, sizeof(none));
			none.worker = -1;
			ctx = &none;
		}
	}
	ret.type = KSR_NULL;
	rc = e->fn(ctx, args, &ret);
	if (ctx->flags & KSR_CTX_EXIT) {
		lua_pushlightuserdata(L, (void *)&exit_marker);
		return lua_error(L);
	}
	switch (e->rtype) {
	case KSR_INT:
		lua_pushinteger(L, rc);
		return 1;
	case KSR_BOOL:
		lua_pushboolean(L, rc != 0);
		return 1;
	case KSR_XVAL:
		if (ret.type == KSR_INT)
			lua_pushinteger(L, ret.n);
		else if (ret.type == KSR_STR)
			lua_pushlstring(L, ret.s.s ? ret.s.s : "", ret.s.len);
		else
			lua_pushnil(L);
		return 1;
	default:
		return 0;
	}
}

/* KSR = { <core functions>, x = {...}, pv = {...}, ... } */
static void build_ksr(lua_inst_t *in)
{
	lua_State *L = in->L;
	int n = ksr_registry_count();

	lua_newtable(L); /* KSR */
	for (int i = 0; i < n; i++) {
		const ksr_export_t *e = ksr_registry_get(i);
		ksr_upval_t *uv;

		if (e->module[0]) {
			lua_getfield(L, -1, e->module);
			if (lua_isnil(L, -1)) {
				lua_pop(L, 1);
				lua_newtable(L);
				lua_pushvalue(L, -1);
				lua_setfield(L, -3, e->module);
			}
		} else {
			lua_pushvalue(L, -1);
		}
		uv = lua_newuserdata(L, sizeof(*uv));
		uv->e = e;
		uv->in = in;
		lua_pushcclosure(L, ksr_call, 1);
		lua_setfield(L, -2, e->name);
		lua_pop(L, 1);
	}
	lua_setglobal(L, "KSR");
	lua_pushstring(L, OSP_VERSION);
	lua_setglobal(L, "KSRVERSION");
}

/* Message handler: adds a traceback to errors, leaves the exit marker. */
static int traceback(lua_State *L)
{
	const char *msg;

	if (lua_touserdata(L, 1) == &exit_marker)
		return 1;
	msg = lua_tostring(L, 1);
	if (!msg)
		msg = lua_pushfstring(L, "(error object is a %s value)",
				      luaL_typename(L, 1));
	luaL_traceback(L, L, msg, 1);
	return 1;
}

/* Let require() find modules next to the script: its folder goes first in
 * package.path. */
static void set_package_path(lua_State *L, const char *script)
{
	const char *slash = strrchr(script, '/');
	char dir[1024];

	if (slash && (size_t)(slash - script) < sizeof(dir)) {
		memcpy(dir, script, (size_t)(slash - script));
		dir[slash - script] = '\0';
	} else {
		strcpy(dir, ".");
	}
	lua_getglobal(L, "package");
	lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;", dir, dir);
	lua_getfield(L, -2, "path");
	lua_concat(L, 2);
	lua_setfield(L, -2, "path");
	lua_pop(L, 1);
}

static void *lua_create(osp_script_t *s, int worker, char *err, size_t errlen)
{
	lua_inst_t *in = calloc(1, sizeof(*in));
	int rc;

	if (!in) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	in->L = luaL_newstate();
	if (!in->L) {
		free(in);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	luaL_openlibs(in->L);
	set_package_path(in->L, s->path);
	build_ksr(in);
	lua_pushcfunction(in->L, traceback);
	{
		char chunk[1024];

		snprintf(chunk, sizeof(chunk), "@%s", s->path);
		rc = luaL_loadbuffer(in->L, s->src, s->len, chunk);
	}
	if (rc == 0)
		rc = lua_pcall(in->L, 0, 0, -2);
	if (rc != 0) {
		const char *m = lua_touserdata(in->L, -1) == &exit_marker ?
					"KSR.x.exit() at top level" :
					lua_tostring(in->L, -1);

		snprintf(err, errlen, "%s", m ? m : "unknown Lua error");
		lua_close(in->L);
		free(in);
		return NULL;
	}
	/* the traceback handler stays for lua_run: a new closure per
	 * message was an allocation each time */
	in->tb_ref = luaL_ref(in->L, LUA_REGISTRYINDEX);
	in->script = s;
	OSP_UNUSED(worker);
	return in;
}

static void lua_destroy(void *p)
{
	lua_inst_t *in = p;

	if (!in)
		return;
	lua_close(in->L);
#ifdef LUA_GLOBALSINDEX
	for (int i = 0; i < in->n_names; i++)
		free(in->names[i].name);
#endif
	free(in);
}

static int lua_has(void *p, const char *fname)
{
	lua_inst_t *in = p;
	int r;

	lua_getglobal(in->L, fname);
	r = lua_isfunction(in->L, -1);
	lua_pop(in->L, 1);
	return r;
}

/* Push the global fname, as lua_getglobal does (metamethods of _G
 * included). */
static void get_route(lua_inst_t *in, const char *fname)
{
#ifdef LUA_GLOBALSINDEX
	lua_State *L = in->L;
	int i;

	for (i = 0; i < in->n_names; i++)
		if (strcmp(in->names[i].name, fname) == 0)
			break;
	if (i == in->n_names && i < (int)OSP_ARRAY_LEN(in->names)) {
		char *c = strdup(fname);

		if (c) {
			lua_pushstring(L, fname);
			in->names[i].ref = luaL_ref(L, LUA_REGISTRYINDEX);
			in->names[i].name = c;
			in->n_names++;
		}
	}
	if (i < in->n_names) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, in->names[i].ref);
		lua_gettable(L, LUA_GLOBALSINDEX);
		return;
	}
#endif
	lua_getglobal(in->L, fname);
}

static int lua_run(void *p, ksr_ctx_t *ctx, const char *fname, const char *arg)
{
	lua_inst_t *in = p;
	lua_State *L = in->L;
	ksr_ctx_t *prev;
	int base = lua_gettop(L), rc, nargs = 0;

	lua_rawgeti(L, LUA_REGISTRYINDEX, in->tb_ref);
	get_route(in, fname);
	if (!lua_isfunction(L, -1)) {
		lua_settop(L, base);
		return 0;
	}
	if (arg) {
		lua_pushstring(L, arg);
		nargs = 1;
	}
	prev = in->ctx; /* a nested route (tm's branch route) restores it */
	in->ctx = ctx;
	rc = lua_pcall(L, nargs, 0, base + 1);
	in->ctx = prev;
	if (rc != 0) {
		if (lua_touserdata(L, -1) == &exit_marker) {
			rc = 0;
		} else {
			const char *m = lua_tostring(L, -1);

			/* senders can trigger script errors at will: the
			 * log is rate-limited like other per-packet errors */
			LOG_RATE(L_ERR, "error in Lua %s(): %s", fname,
				 m ? m : "(no message)");
			lua_settop(L, base);
			return -1;
		}
	}
	lua_settop(L, base);
	return 1;
}

const osp_engine_t osp_engine_lua = {
	.name = "lua",
	.ext = ".lua",
	.rpc_prefix = "app_lua",
	.module = "app_lua",
	.create = lua_create,
	.destroy = lua_destroy,
	.has = lua_has,
	.run = lua_run,
};
