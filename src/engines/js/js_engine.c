/* js_engine.c - the JavaScript engine, on Duktape (Debian's libduktape).
 *
 * Each instance is one Duktape heap holding the KSR object built from the
 * export registry: KSR.<module>.<name> (module "" sits on KSR itself), each
 * a Duktape C function whose "magic" is the export's registry index. Calls
 * check their arguments (a bad one throws a TypeError, never a crash), run
 * the C function with the current message context, and turn KSR_CTX_EXIT
 * (set by KSR.x.exit/KSR.x.drop) into a thrown marker string, as Kamailio's
 * app_jsdt does, which run() recognises.
 *
 * require() loads CommonJS modules relative to the requiring file, with a
 * module cache per heap; each module is compiled under its own path, so its
 * errors name its file and line.
 *
 * Every entry into a heap goes through duk_safe_call(), so script errors,
 * Duktape's own limits (call stack, C recursion, compiler recursion) and
 * out-of-memory all come back as errors. Duktape's fatal handler (an
 * internal error with no catch point) must not return: ours jumps back to
 * the engine entry that was running, marks the instance broken and
 * abandons its heap (Duktape defines no safe use of it afterwards, not even
 * destroying it); the next use builds a fresh heap from the same script. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <duktape.h>

#include "core/log.h"
#include "core/osp.h"
#include "engines/engine.h"
#include "engines/js/js_engine.h"

/* What KSR.x.exit() throws (Kamailio's marker, so scripts that test for it
 * in a catch block keep working). */
#define EXIT_MARKER "~~ksr~exit~~"
/* Heap stash key of the module cache: { canonical path: module } */
#define MOD_CACHE DUK_HIDDEN_SYMBOL("modules")
/* Property of each require function: the folder it resolves "./x" from. */
#define REQ_DIR DUK_HIDDEN_SYMBOL("dir")
/* A module's source is wrapped so that its top-level names stay local; the
 * prefix shares the first line, so line numbers are the file's. */
#define WRAP_PRE "function (exports, require, module, __filename, __dirname) {"
#define WRAP_POST "\n}"
#define MODULE_MAX_SIZE (16u << 20)

int js_engine_mode = 1;

typedef struct js_inst {
	duk_context *J;
	ksr_ctx_t *ctx;       /* message being routed, NULL outside routes */
	osp_script_t *script; /* kept alive by the caller while we live */
	char *root;           /* the script's folder: bare require() ids */
	jmp_buf *jb;          /* innermost engine entry, for fatal errors */
	int broken;           /* J hit a fatal error: never touch it again */
	char fatal[256];      /* the fatal error's message */
} js_inst_t;

/* Arguments and results of one guarded entry. */
typedef struct js_call {
	const char *fname; /* run, has */
	const char *arg;   /* run */
	int found;         /* run, has: fname is a function */
	char *err;         /* load */
	size_t errlen;
} js_call_t;

/* The instance owning a heap: its heap udata. */
static js_inst_t *inst_of(duk_context *J)
{
	duk_memory_functions mf;

	duk_get_memory_functions(J, &mf);
	return mf.udata;
}

/* Duktape calls this for errors it cannot throw (internal errors, an
 * error with no catch point). It must not return: jump back to the engine
 * entry in progress, which reports the instance broken. */
static void fatal_handler(void *udata, const char *msg)
{
	js_inst_t *in = udata;

	LOG_CRIT("JavaScript (Duktape) fatal error: %s; the interpreter is "
		 "abandoned and rebuilt from the script",
		 msg ? msg : "(no message)");
	if (in) {
		in->broken = 1;
		snprintf(in->fatal, sizeof(in->fatal), "%s",
			 msg ? msg : "(no message)");
		if (in->jb)
			longjmp(*in->jb, 1);
	}
	/* not reachable: every call into a heap is made under guarded() */
	abort();
}

/* Run fn(in, c) so that a fatal error inside it lands back here: returns
 * fn's result, or -1 after a fatal error (in->broken set). Entries nest
 * (a KSR function may run another route of the same instance). */
static int guarded(js_inst_t *in, int (*fn)(js_inst_t *, js_call_t *),
		   js_call_t *c)
{
	jmp_buf jb;
	jmp_buf *volatile prev = in->jb;
	int rc;

	if (setjmp(jb)) {
		in->jb = prev;
		return -1;
	}
	in->jb = &jb;
	rc = fn(in, c);
	in->jb = prev;
	return rc;
}

/* ---- KSR functions ---- */

static const char *type_of(duk_context *J, duk_idx_t i)
{
	switch (duk_get_type(J, i)) {
	case DUK_TYPE_NONE: return "no value";
	case DUK_TYPE_UNDEFINED: return "undefined";
	case DUK_TYPE_NULL: return "null";
	case DUK_TYPE_BOOLEAN: return "boolean";
	case DUK_TYPE_NUMBER: return "number";
	case DUK_TYPE_STRING: return "string";
	case DUK_TYPE_LIGHTFUNC: return "function";
	case DUK_TYPE_OBJECT:
		return duk_is_function(J, i) ? "function" :
		       duk_is_array(J, i)    ? "array" :
					       "object";
	default: return "value";
	}
}

/* An integer argument: a number with an integral value, or a string that
 * is a decimal integer (as Lua coerces "10"). */
static int arg_integer(duk_context *J, duk_idx_t i, long *out)
{
	double d;

	if (duk_get_type(J, i) == DUK_TYPE_STRING) {
		const char *s = duk_get_string(J, i);
		char *end;
		long v;

		errno = 0;
		v = strtol(s, &end, 10);
		if (end == s || *end || errno)
			return 0;
		*out = v;
		return 1;
	}
	if (duk_get_type(J, i) != DUK_TYPE_NUMBER)
		return 0;
	d = duk_get_number(J, i);
	if (!isfinite(d) || d != floor(d) || d < (double)LONG_MIN ||
	    d >= -(double)LONG_MIN)
		return 0;
	*out = (long)d;
	return 1;
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

/* Errors are thrown with no C file name, so Duktape blames the script's
 * calling line (fileName/lineNumber of the error are the script's). */
#define js_throw(J, code, ...)                                                 \
	duk_error_raw((J), (code), NULL, 0, __VA_ARGS__)

/* The C function behind every KSR.* entry. */
static duk_ret_t ksr_call(duk_context *J)
{
	const ksr_export_t *e = ksr_registry_get(duk_get_current_magic(J));
	js_inst_t *in = inst_of(J);
	ksr_arg_t args[KSR_PARAMS_MAX];
	ksr_xval_t ret;
	ksr_ctx_t none;
	ksr_ctx_t *ctx = in->ctx;
	const char *dot;
	int np, rc;

	if (!e)
		js_throw(J, DUK_ERR_ERROR, "KSR: unknown function");
	dot = *e->module ? "." : "";
	np = ksr_export_nparams(e);
	for (int i = 0; i < np; i++) {
		if (e->ptypes[i] == KSR_INT) {
			if (!arg_integer(J, i, &args[i].n))
				js_throw(J, DUK_ERR_TYPE_ERROR,
					 "KSR%s%s.%s: argument %d: integer "
					 "expected, got %s",
					 dot, e->module, e->name, i + 1,
					 type_of(J, i));
			args[i].s = STR_NULL;
		} else {
			const char *s;
			duk_size_t len;
			int t = duk_get_type(J, i);

			if (t != DUK_TYPE_STRING && t != DUK_TYPE_NUMBER)
				js_throw(J, DUK_ERR_TYPE_ERROR,
					 "KSR%s%s.%s: argument %d: string "
					 "expected, got %s",
					 dot, e->module, e->name, i + 1,
					 type_of(J, i));
			/* numbers become their string form, in place */
			s = t == DUK_TYPE_STRING ? duk_get_lstring(J, i, &len) :
						   duk_to_lstring(J, i, &len);
			args[i].s = (str_t){s, len};
			args[i].n = 0;
		}
	}
	if (!ctx || !ctx->msg) {
		if (!allowed_without_msg(e))
			js_throw(J, DUK_ERR_ERROR,
				 "KSR%s%s.%s: no SIP message here (called "
				 "outside a route)",
				 dot, e->module, e->name);
		if (!ctx) {
			memset(&none, 0, sizeof(none));
			none.worker = -1;
			ctx = &none;
		}
	}
	ret.type = KSR_NULL;
	rc = e->fn(ctx, args, &ret);
	/* a nested route of this instance (tm's branch route) may have hit a
	 * fatal error: the heap we are running in is gone, leave it */
	if (in->broken && in->jb)
		longjmp(*in->jb, 1);
	if (ctx->flags & KSR_CTX_EXIT) {
		duk_push_string(J, EXIT_MARKER);
		return duk_throw(J);
	}
	switch (e->rtype) {
	case KSR_INT:
		duk_push_int(J, rc);
		return 1;
	case KSR_BOOL:
		duk_push_boolean(J, rc != 0);
		return 1;
	case KSR_XVAL:
		if (ret.type == KSR_INT)
			duk_push_number(J, (double)ret.n);
		else if (ret.type == KSR_STR)
			duk_push_lstring(J, ret.s.s ? ret.s.s : "", ret.s.len);
		else
			duk_push_null(J);
		return 1;
	default:
		return 0;
	}
}

/* KSR = { <core functions>, x: {...}, pv: {...}, ... }. Also the alias
 * KSR.hdr.append_hf of KSR.hdr.append: Kamailio's stock JavaScript
 * example calls it, though Kamailio has no such function. */
static void build_ksr(duk_context *J)
{
	int n = ksr_registry_count();
	duk_idx_t ksr;

	duk_push_object(J);
	ksr = duk_get_top_index(J);
	for (int i = 0; i < n; i++) {
		const ksr_export_t *e = ksr_registry_get(i);
		char name[128];

		if (i > 0x7fff) { /* magic is 16 bits */
			LOG_ERR("KSR: more than 32768 exports, %s.%s and "
				"later ones left out of JavaScript",
				e->module, e->name);
			break;
		}
		if (e->module[0]) {
			if (!duk_get_prop_string(J, ksr, e->module)) {
				duk_pop(J);
				duk_push_object(J);
				duk_dup_top(J);
				duk_put_prop_string(J, ksr, e->module);
			}
		} else {
			duk_dup(J, ksr);
		}
		duk_push_c_function(J, ksr_call, DUK_VARARGS);
		duk_set_magic(J, -1, i);
		/* named in stack traces */
		snprintf(name, sizeof(name), "KSR%s%s.%s", *e->module ? "." : "",
			 e->module, e->name);
		duk_push_string(J, "name");
		duk_push_string(J, name);
		duk_def_prop(J, -3, DUK_DEFPROP_HAVE_VALUE | DUK_DEFPROP_FORCE);
		duk_put_prop_string(J, -2, e->name);
		duk_pop(J);
	}
	if (duk_get_prop_string(J, ksr, "hdr") &&
	    duk_get_prop_string(J, -1, "append") &&
	    !duk_has_prop_string(J, -2, "append_hf"))
		duk_put_prop_string(J, -2, "append_hf");
	else
		duk_pop(J);
	duk_pop(J);
	duk_put_global_string(J, "KSR");
}

/* ---- require() ---- */

static int is_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Find module id from folder dir: the path itself, then with ".js",
 * ".json", "/index.js". out (PATH_MAX) gets the canonical path. */
static int resolve(const char *dir, const char *id, char *out)
{
	static const char *const suffix[] = {"", ".js", ".json", "/index.js",
					     NULL};
	char base[PATH_MAX], cand[PATH_MAX + 16];
	int n;

	if (id[0] == '/')
		n = snprintf(base, sizeof(base), "%s", id);
	else
		n = snprintf(base, sizeof(base), "%s/%s", dir, id);
	if (n < 0 || (size_t)n >= sizeof(base))
		return -1;
	for (int i = 0; suffix[i]; i++) {
		snprintf(cand, sizeof(cand), "%s%s", base, suffix[i]);
		if (is_file(cand) && realpath(cand, out))
			return 0;
	}
	return -1;
}

static duk_ret_t js_require(duk_context *J);

static void push_require(duk_context *J, const char *dir)
{
	duk_push_c_function(J, js_require, 1);
	duk_push_string(J, dir);
	duk_put_prop_string(J, -2, REQ_DIR);
}

static duk_ret_t json_decode_cb(duk_context *J, void *udata)
{
	duk_json_decode(J, -1);
	return 1;
}

/* Load module path (canonical, not cached yet) and leave its exports on
 * the stack. The module sits in the cache while its code runs, so cyclic
 * requires see its exports as they are so far; it leaves the cache again
 * when loading fails, so a later require retries. */
static void load_module(duk_context *J, duk_idx_t cache, const char *path)
{
	size_t plen = strlen(path);
	int json = plen > 5 && strcmp(path + plen - 5, ".json") == 0;
	const char *pre = json ? "" : WRAP_PRE, *post = json ? "" : WRAP_POST;
	size_t lpre = strlen(pre), lpost = strlen(post), n;
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;
	duk_idx_t mod;
	char *buf;
	FILE *f;
	int rc;

	snprintf(dir, sizeof(dir), "%.*s",
		 slash && slash != path ? (int)(slash - path) : 1,
		 slash ? path : ".");
	if (stat(path, &st) < 0)
		js_throw(J, DUK_ERR_ERROR, "require: %s: %s", path,
			 strerror(errno));
	if ((unsigned long long)st.st_size > MODULE_MAX_SIZE)
		js_throw(J, DUK_ERR_RANGE_ERROR,
			 "require: %s: larger than %u bytes", path,
			 MODULE_MAX_SIZE);
	/* the buffer belongs to the heap: nothing leaks if a later step
	 * throws; no Duktape call happens while the file is open */
	buf = duk_push_fixed_buffer(J, lpre + (size_t)st.st_size + lpost);
	memcpy(buf, pre, lpre);
	f = fopen(path, "rb");
	if (!f)
		js_throw(J, DUK_ERR_ERROR, "require: %s: %s", path,
			 strerror(errno));
	n = fread(buf + lpre, 1, (size_t)st.st_size, f);
	rc = ferror(f);
	fclose(f);
	if (rc)
		js_throw(J, DUK_ERR_ERROR, "require: %s: read error", path);
	memcpy(buf + lpre + n, post, lpost);

	duk_push_object(J);
	mod = duk_get_top_index(J);
	duk_push_string(J, path);
	duk_put_prop_string(J, mod, "id");
	duk_push_string(J, path);
	duk_put_prop_string(J, mod, "filename");
	duk_push_object(J);
	duk_put_prop_string(J, mod, "exports");
	duk_push_false(J);
	duk_put_prop_string(J, mod, "loaded");
	duk_dup(J, mod);
	duk_put_prop_string(J, cache, path);

	if (json) {
		duk_push_lstring(J, buf, n);
		if (duk_safe_call(J, json_decode_cb, NULL, 1, 1) != 0) {
			duk_del_prop_string(J, cache, path);
			js_throw(J, DUK_ERR_SYNTAX_ERROR, "require: %s: %s", path,
				 duk_safe_to_string(J, -1));
		}
		duk_put_prop_string(J, mod, "exports");
	} else {
		duk_push_string(J, path);
		if (duk_pcompile_lstring_filename(J, DUK_COMPILE_FUNCTION, buf,
						  lpre + n + lpost) != 0) {
			duk_del_prop_string(J, cache, path);
			(void)duk_throw(J);
		}
		duk_get_prop_string(J, mod, "exports"); /* this */
		duk_dup_top(J);                         /* exports */
		push_require(J, dir);
		duk_dup(J, mod);
		duk_push_string(J, path);
		duk_push_string(J, dir);
		if (duk_pcall_method(J, 5) != 0) {
			duk_del_prop_string(J, cache, path);
			(void)duk_throw(J);
		}
		duk_pop(J);
	}
	duk_push_true(J);
	duk_put_prop_string(J, mod, "loaded");
	duk_get_prop_string(J, mod, "exports");
}

/* require(id): "./x" and "../x" from the requiring file's folder, "/x" as
 * is, any other id from the main script's folder. */
static duk_ret_t js_require(duk_context *J)
{
	js_inst_t *in = inst_of(J);
	const char *id, *dir;
	char path[PATH_MAX];
	duk_idx_t cache;

	if (!duk_is_string(J, 0))
		js_throw(J, DUK_ERR_TYPE_ERROR,
			 "require: the module id must be a string, got %s",
			 type_of(J, 0));
	id = duk_get_string(J, 0);
	duk_push_current_function(J);
	duk_get_prop_string(J, -1, REQ_DIR);
	dir = duk_get_string(J, -1);
	if (!dir || (strncmp(id, "./", 2) != 0 && strncmp(id, "../", 3) != 0 &&
		     strcmp(id, ".") != 0 && strcmp(id, "..") != 0))
		dir = in->root;
	if (!*id || resolve(dir, id, path) < 0)
		js_throw(J, DUK_ERR_ERROR, "require: cannot find module '%s' "
					   "(looked in %s)",
			 id, id[0] == '/' ? "/" : dir);
	duk_push_heap_stash(J);
	duk_get_prop_string(J, -1, MOD_CACHE);
	cache = duk_get_top_index(J);
	if (duk_get_prop_string(J, cache, path)) {
		duk_get_prop_string(J, -1, "exports");
		return 1;
	}
	duk_pop(J);
	load_module(J, cache, path);
	return 1;
}

/* ---- errors ---- */

typedef struct errtext {
	char *buf;
	size_t cap;
	int stack; /* append the stack trace */
} errtext_t;

/* Append the stack frames of a Duktape stack string, leaving out its first
 * line (the message, already written) and Duktape's own C frames. */
static void append_stack(errtext_t *t, const char *st)
{
	size_t n = strlen(t->buf);
	const char *line = strchr(st, '\n');

	while (line && n + 1 < t->cap) {
		const char *next = strchr(line + 1, '\n');
		size_t len = next ? (size_t)(next - line) : strlen(line);

		if (!memmem(line, len, "(duk_", 5)) {
			if (len >= t->cap - n)
				len = t->cap - n - 1;
			memcpy(t->buf + n, line, len);
			n += len;
			t->buf[n] = '\0';
		}
		line = next;
	}
}

/* Duktape 2.7 reports "undefined not callable (property 'p' of ...)" -
 * calling a method that does not exist, such as KSR.no_such() - at the
 * line of the previous call made by the same function: the lookup that
 * fails does not record its own position. When that happens in the main
 * script (whose text we hold), the call is the first ".p(" from that line
 * on; returns its line, or line unchanged when there is no such text. */
static int fix_call_line(const js_inst_t *in, const char *file, int line,
			 const char *msg)
{
	const osp_script_t *s = in->script;
	const char *p = strstr(msg, "not callable (property '"), *name, *q;
	const char *end = s->src + s->len;
	size_t nlen;
	int l = 1;

	if (!p || !file || strcmp(file, s->path) != 0 || line < 1)
		return line;
	name = p + strlen("not callable (property '");
	nlen = strcspn(name, "'");
	if (!nlen || name[nlen] != '\'')
		return line;
	for (q = s->src; q < end && l < line; q++)
		if (*q == '\n')
			l++;
	for (; q < end; q++) {
		const char *r = q + 1 + nlen;

		if (*q == '\n') {
			l++;
			continue;
		}
		if (*q != '.' || (size_t)(end - q) <= nlen + 1 ||
		    memcmp(q + 1, name, nlen) != 0)
			continue;
		while (r < end && (*r == ' ' || *r == '\t'))
			r++;
		if (r < end && *r == '(')
			return l;
	}
	return line;
}

/* "file:line: TypeError: message" (+ stack) for the value at index 0. Runs
 * under duk_safe_call: a throwing getter or toString cannot escape. */
static duk_ret_t errtext_cb(duk_context *J, void *udata)
{
	errtext_t *t = udata;
	const char *file = NULL, *msg;
	int line = 0;

	if (!duk_is_error(J, 0)) {
		snprintf(t->buf, t->cap,
			 "uncaught exception: %s (throw an Error to get the "
			 "file and line)",
			 duk_safe_to_string(J, 0));
		return 0;
	}
	if (duk_get_prop_string(J, 0, "fileName") && duk_is_string(J, -1))
		file = duk_get_string(J, -1);
	if (duk_get_prop_string(J, 0, "lineNumber") && duk_is_number(J, -1))
		line = duk_get_int(J, -1);
	duk_dup(J, 0);
	msg = duk_safe_to_string(J, -1);
	line = fix_call_line(inst_of(J), file, line, msg);
	if (file)
		snprintf(t->buf, t->cap, "%s:%d: %s", file, line, msg);
	else
		snprintf(t->buf, t->cap, "%s", msg);
	if (t->stack && duk_get_prop_string(J, 0, "stack") &&
	    duk_is_string(J, -1))
		append_stack(t, duk_get_string(J, -1));
	return 0;
}

/* Describe the error value on the top of the stack (and pop it). */
static void error_text(duk_context *J, char *buf, size_t cap, int stack)
{
	errtext_t t = {buf, cap, stack};

	buf[0] = '\0';
	if (duk_is_string(J, -1) &&
	    strcmp(duk_get_string(J, -1), EXIT_MARKER) == 0) {
		snprintf(buf, cap, "KSR.x.exit() outside a route");
		duk_pop(J);
		return;
	}
	if (duk_safe_call(J, errtext_cb, &t, 1, 1) != 0 && !buf[0])
		snprintf(buf, cap, "(the error value cannot be described)");
	duk_pop(J);
}

static int is_exit(duk_context *J)
{
	return duk_is_string(J, -1) &&
	       strcmp(duk_get_string(J, -1), EXIT_MARKER) == 0;
}

/* ---- instances ---- */

/* Build the heap's globals and run the script's top level. */
static duk_ret_t load_cb(duk_context *J, void *udata)
{
	js_inst_t *in = udata;

	build_ksr(J);
	if (js_engine_mode) {
		duk_push_heap_stash(J);
		duk_push_object(J);
		duk_put_prop_string(J, -2, MOD_CACHE);
		duk_pop(J);
		push_require(J, in->root);
		duk_put_global_string(J, "require");
	}
	duk_push_string(J, in->script->path);
	duk_compile_lstring_filename(J, DUK_COMPILE_SHEBANG, in->script->src,
				     in->script->len);
	duk_call(J, 0);
	return 0;
}

/* A fresh heap for in->script in in->J. 0, or -1 with c->err filled. */
static int load(js_inst_t *in, js_call_t *c)
{
	in->J = duk_create_heap(NULL, NULL, NULL, in, fatal_handler);
	if (!in->J) {
		snprintf(c->err, c->errlen, "%s: out of memory",
			 in->script->path);
		return -1;
	}
	if (duk_safe_call(in->J, load_cb, in, 0, 1) != 0) {
		error_text(in->J, c->err, c->errlen, 0);
		duk_destroy_heap(in->J);
		in->J = NULL;
		return -1;
	}
	duk_pop(in->J);
	return 0;
}

/* Load under guard, reporting a fatal error like any other. */
static int load_guarded(js_inst_t *in, char *err, size_t errlen)
{
	js_call_t c = {.err = err, .errlen = errlen};

	if (guarded(in, load, &c) < 0) {
		if (in->broken) {
			snprintf(err, errlen, "%s: fatal JavaScript error: %s",
				 in->script->path, in->fatal);
			in->J = NULL; /* abandoned */
		}
		return -1;
	}
	return 0;
}

/* After a fatal error, a fresh heap from the same script. Only between two
 * messages: never while an entry of this instance is running. */
static int revive(js_inst_t *in)
{
	char err[512];

	if (!in->broken)
		return 0;
	if (in->jb)
		return -1;
	in->broken = 0;
	in->J = NULL; /* the old heap is abandoned, not freed */
	if (load_guarded(in, err, sizeof(err)) < 0) {
		in->broken = 1;
		LOG_RATE(L_ERR, "cannot rebuild the JavaScript interpreter: %s",
			 err);
		return -1;
	}
	LOG_WARN("JavaScript interpreter rebuilt from %s after a fatal error",
		 in->script->path);
	return 0;
}

static char *script_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX], real[PATH_MAX];

	if (slash)
		snprintf(dir, sizeof(dir), "%.*s",
			 slash == path ? 1 : (int)(slash - path), path);
	else
		snprintf(dir, sizeof(dir), ".");
	return strdup(realpath(dir, real) ? real : dir);
}

static void *js_create(osp_script_t *s, int worker, char *err, size_t errlen)
{
	js_inst_t *in = calloc(1, sizeof(*in));

	if (!in || !(in->root = script_dir(s->path))) {
		snprintf(err, errlen, "%s: out of memory", s->path);
		free(in);
		return NULL;
	}
	in->script = s;
	if (load_guarded(in, err, errlen) < 0) {
		free(in->root);
		free(in);
		return NULL;
	}
	OSP_UNUSED(worker);
	return in;
}

static int destroy_heap(js_inst_t *in, js_call_t *c)
{
	duk_destroy_heap(in->J);
	return 0;
}

static void js_destroy(void *p)
{
	js_inst_t *in = p;

	if (!in)
		return;
	/* a broken heap is abandoned; finalizers run here are guarded */
	if (in->J && !in->broken)
		guarded(in, destroy_heap, NULL);
	free(in->root);
	free(in);
}

static duk_ret_t has_cb(duk_context *J, void *udata)
{
	js_call_t *c = udata;

	duk_get_global_string(J, c->fname);
	c->found = duk_is_function(J, -1);
	return 0;
}

static int has_entry(js_inst_t *in, js_call_t *c)
{
	duk_safe_call(in->J, has_cb, c, 0, 1);
	duk_pop(in->J);
	return c->found;
}

static int js_has(void *p, const char *fname)
{
	js_inst_t *in = p;
	js_call_t c = {.fname = fname};

	if (revive(in) < 0)
		return 0;
	return guarded(in, has_entry, &c) > 0;
}

static duk_ret_t run_cb(duk_context *J, void *udata)
{
	js_call_t *c = udata;

	duk_get_global_string(J, c->fname);
	if (!duk_is_function(J, -1))
		return 0;
	c->found = 1;
	duk_push_undefined(J); /* this */
	if (c->arg)
		duk_push_string(J, c->arg);
	duk_call_method(J, c->arg ? 1 : 0);
	return 0;
}

static int run_entry(js_inst_t *in, js_call_t *c)
{
	duk_context *J;
	char msg[1800];

	J = in->J;
	if (duk_safe_call(J, run_cb, c, 0, 1) == 0) {
		duk_pop(J);
		return c->found ? 1 : 0;
	}
	if (is_exit(J)) {
		duk_pop(J);
		return 1;
	}
	error_text(J, msg, sizeof(msg), 1);
	/* senders can trigger script errors at will: the log is
	 * rate-limited like other per-packet errors */
	LOG_RATE(L_ERR, "error in JavaScript %s(): %s", c->fname, msg);
	return -1;
}

static int js_run(void *p, ksr_ctx_t *ctx, const char *fname, const char *arg)
{
	js_inst_t *in = p;
	js_call_t c = {.fname = fname, .arg = arg};
	ksr_ctx_t *prev = in->ctx; /* a nested route restores it */
	int rc;

	if (revive(in) < 0) {
		LOG_RATE(L_ERR, "JavaScript %s(): the interpreter is unusable "
				"after a fatal error",
			 fname);
		return -1;
	}
	in->ctx = ctx;
	rc = guarded(in, run_entry, &c);
	in->ctx = prev;
	if (rc < 0 && in->broken)
		LOG_RATE(L_ERR, "JavaScript %s(): fatal error: %s", fname,
			 in->fatal);
	return rc;
}

const osp_engine_t osp_engine_jsdt = {
	.name = "jsdt",
	.ext = ".js",
	.rpc_prefix = "app_jsdt",
	.module = "app_jsdt",
	.create = js_create,
	.destroy = js_destroy,
	.has = js_has,
	.run = js_run,
};
