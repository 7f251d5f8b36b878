/* test_js.c - the JavaScript (Duktape) engine: KSR calls and their
 * argument checks and return conversions, exit/drop, require(), error
 * reports with file:line, Duktape's limits, fatal errors, and the scratch
 * check that reload runs.
 *
 * The engine source is included so that the fatal-error test can reach the
 * heap of an instance (nothing else outside the engine can make Duktape
 * fail fatally); every other test goes through osp_engine_jsdt only. */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "engines/js/js_engine.c"

#include "core/routing.h"
#include "test_mods_util.h"

/* ---- KSR functions of the tests ---- */

static char logged[4096]; /* KSR.info() lines, each followed by '\n' */
static size_t loglen;
static char appended[256];
static js_inst_t *cur_inst;

static void log_reset(void)
{
	loglen = 0;
	logged[0] = '\0';
}

/* Keeps the bytes as given, NULs included. */
static int t_info(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (loglen + a[0].s.len + 2 > sizeof(logged))
		UNIT_FAIL("KSR.info: too much output");
	memcpy(logged + loglen, a[0].s.s, a[0].s.len);
	loglen += a[0].s.len;
	logged[loglen++] = '\n';
	logged[loglen] = '\0';
	return 1;
}

static int t_int(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return (int)a[0].n;
}

static int t_xval(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (str_eq_cstr(a[0].s, "int"))
		return ksr_xval_int(r, 42);
	if (str_eq_cstr(a[0].s, "str"))
		return ksr_xval_str(r, STR_LIT("hello"));
	return ksr_xval_null(r);
}

static int t_none(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return 7;
}

static int t_method(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return ksr_xval_str(r, ctx->msg->method);
}

/* (str, int, str) -> "s|n|s" */
static int t_concat(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	int n = snprintf(ctx->buf, sizeof(ctx->buf), "%.*s|%ld|%.*s",
			 (int)a[0].s.len, a[0].s.s, a[1].n, (int)a[2].s.len,
			 a[2].s.s);

	return ksr_xval_str(r, (str_t){ctx->buf, (size_t)n});
}

static int t_exit(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	ctx->flags |= KSR_CTX_EXIT;
	return 0;
}

static int t_drop(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	ctx->flags |= KSR_CTX_EXIT | KSR_CTX_DROP;
	return 0;
}

static int t_hdr_append(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	str_to_buf(a[0].s, appended, sizeof(appended));
	return 1;
}

/* Runs route a[0] of the current instance with its own context, as tm
 * runs a branch route from inside t_relay(). Returns run()'s result. */
static int t_route(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	ksr_ctx_t nested;
	char name[64];

	memset(&nested, 0, sizeof(nested));
	nested.msg = ctx->msg;
	nested.route = KSR_ROUTE_BRANCH;
	str_to_buf(a[0].s, name, sizeof(name));
	return osp_engine_jsdt.run(cur_inst, &nested, name, NULL);
}

static int t_fatal(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	duk_fatal(cur_inst->J, "test fatal");
	return 0;
}

#define S KSR_STR
#define I KSR_INT
static const ksr_export_t test_exports[] = {
	{"", "info", KSR_NONE, t_info, {S}},
	{"t", "int_ret", KSR_INT, t_int, {I}},
	{"t", "bool_ret", KSR_BOOL, t_int, {I}},
	{"t", "xval", KSR_XVAL, t_xval, {S}},
	{"t", "none", KSR_NONE, t_none, {0}},
	{"t", "method", KSR_XVAL, t_method, {0}},
	{"t", "concat", KSR_XVAL, t_concat, {S, I, S}},
	{"t", "route", KSR_INT, t_route, {S}},
	{"t", "fatal", KSR_INT, t_fatal, {0}},
	{"x", "exit", KSR_NONE, t_exit, {0}},
	{"x", "drop", KSR_NONE, t_drop, {0}},
	{"hdr", "append", KSR_INT, t_hdr_append, {S}},
	{0},
};

/* ---- helpers ---- */

static char tmpdir[256];

static void cleanup(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

static void setup(void)
{
	CHECK(ksr_registry_add(test_exports) == 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/osprey-test-js-XXXXXX");
	CHECK(mkdtemp(tmpdir) != NULL);
	log_reset();
	appended[0] = '\0';
}

/* Write tmpdir/name (folders included) and return its path (static). */
static const char *put(const char *name, const char *text)
{
	static char path[512];
	char *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	for (slash = strchr(path + strlen(tmpdir) + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0700);
		*slash = '/';
	}
	f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
	return path;
}

/* An instance of text saved as name; NULL (and err) when create fails. */
static void *make(osp_script_t **sp, const char *name, const char *text,
		  char *err, size_t errlen)
{
	const char *path = put(name, text);
	void *in;

	*sp = script_read(path, 1, err, errlen);
	CHECK(*sp != NULL);
	err[0] = '\0';
	in = osp_engine_jsdt.create(*sp, 0, err, errlen);
	cur_inst = in;
	return in;
}

/* An instance that must load. */
static void *load_ok(osp_script_t **sp, const char *name, const char *text)
{
	char err[1024];
	void *in = make(sp, name, text, err, sizeof(err));

	if (!in)
		UNIT_FAIL("create failed: %s", err);
	return in;
}

static void drop_inst(void *in, osp_script_t *s)
{
	osp_engine_jsdt.destroy(in);
	script_unref(s);
}

/* stderr goes to a file between capture_start() and captured(). */
static int saved_stderr = -1;
static char capfile[300];

static void capture_start(void)
{
	int fd;

	fflush(stderr);
	snprintf(capfile, sizeof(capfile), "%s/stderr.txt", tmpdir);
	fd = open(capfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

static const char *captured(void)
{
	static char buf[16384];
	FILE *f;
	size_t n;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	f = fopen(capfile, "r");
	CHECK(f != NULL);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static const char *OPTIONS =
    "OPTIONS sip:osprey@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:alice@example.com>;tag=a1\r\n"
    "To: <sip:osprey@127.0.0.1>\r\n"
    "Call-ID: c1@192.0.2.10\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

/* Run fname over a fresh OPTIONS; returns run()'s result, flags in *flags. */
static int route(void *in, const char *fname, unsigned *flags)
{
	tmsg_t t;
	int rc;

	tmsg_parse(&t, OPTIONS);
	rc = osp_engine_jsdt.run(in, &t.ctx, fname, NULL);
	if (flags)
		*flags = t.ctx.flags;
	tmsg_free(&t);
	return rc;
}

/* ---- tests ---- */

TEST(return_conversions)
{
	osp_script_t *s;
	void *in;

	setup();
	in = load_ok(&s, "conv.js",
		     "function ksr_request_route() {\n"
		     "  var v = [KSR.t.int_ret(-1), KSR.t.int_ret(0),\n"
		     "    KSR.t.int_ret(3), KSR.t.bool_ret(0), KSR.t.bool_ret(-1),\n"
		     "    KSR.t.xval('int'), KSR.t.xval('str'), KSR.t.xval('null'),\n"
		     "    KSR.t.none(), KSR.t.method()];\n"
		     "  KSR.info(v.map(function (x) {\n"
		     "    return typeof x + ':' + x; }).join(','));\n"
		     "}\n");
	CHECK_INT(route(in, "ksr_request_route", NULL), 1);
	CHECK_STR(logged, "number:-1,number:0,number:3,boolean:false,"
			  "boolean:true,number:42,string:hello,object:null,"
			  "undefined:undefined,string:OPTIONS\n");
	drop_inst(in, s);
	cleanup();
}

TEST(argument_conversions_and_errors)
{
	osp_script_t *s;
	void *in;
	const char *log;

	setup();
	in = load_ok(&s, "args.js",
		     "function ok() {\n"
		     "  KSR.info(KSR.t.concat('a', 5, 7));\n"    /* number -> str */
		     "  KSR.info(KSR.t.concat('b', '-12', 'c'));\n" /* "-12" -> int */
		     "  KSR.info(String(KSR.t.int_ret(4.0)));\n"
		     "  KSR.info('x\\u0000y');\n" /* NUL kept */
		     "}\n"
		     "function caught() {\n"
		     "  var bad = [['abc'], [1.5], [], [null], [{}], [NaN]];\n"
		     "  bad.forEach(function (a) {\n"
		     "    try { KSR.t.int_ret.apply(null, a); KSR.info('no error'); }\n"
		     "    catch (e) { KSR.info(e.name + ': ' + e.message); }\n"
		     "  });\n"
		     "  try { KSR.t.concat(true, 1, 'x'); }\n"
		     "  catch (e) { KSR.info(e.message); }\n"
		     "}\n"
		     "function uncaught() {\n"
		     "  KSR.t.concat('a', 'abc', 'b');\n"
		     "}\n");
	CHECK_INT(route(in, "ok", NULL), 1);
	{
		static const char want[] = "a|5|7\nb|-12|c\n4\nx\0y\n";

		CHECK_INT(loglen, sizeof(want) - 1);
		CHECK_INT(memcmp(logged, want, sizeof(want) - 1), 0);
	}
	log_reset();
	CHECK_INT(route(in, "caught", NULL), 1);
	CHECK_STR(logged,
		  "TypeError: KSR.t.int_ret: argument 1: integer expected, "
		  "got string\n"
		  "TypeError: KSR.t.int_ret: argument 1: integer expected, "
		  "got number\n"
		  "TypeError: KSR.t.int_ret: argument 1: integer expected, "
		  "got no value\n"
		  "TypeError: KSR.t.int_ret: argument 1: integer expected, "
		  "got null\n"
		  "TypeError: KSR.t.int_ret: argument 1: integer expected, "
		  "got object\n"
		  "TypeError: KSR.t.int_ret: argument 1: integer expected, "
		  "got number\n"
		  "KSR.t.concat: argument 1: string expected, got boolean\n");
	/* uncaught: the route fails (-1) and the log names file and line */
	capture_start();
	CHECK_INT(route(in, "uncaught", NULL), -1);
	log = captured();
	CHECK_HAS(log, "args.js:17: TypeError: KSR.t.concat: argument 2: "
		       "integer expected, got string");
	CHECK_HAS(log, "at uncaught (");
	CHECK_HASNT(log, "(duk_"); /* Duktape's own C frames are left out */
	drop_inst(in, s);
	cleanup();
}

TEST(no_message_outside_routes)
{
	osp_script_t *s;
	void *in;
	char err[512];

	setup();
	/* logging and KSR.x work at top level, message functions do not */
	in = load_ok(&s, "top.js", "KSR.info('top level');\n"
				   "function f() { KSR.t.method(); }\n");
	CHECK_STR(logged, "top level\n");
	CHECK_INT(osp_engine_jsdt.run(in, NULL, "f", NULL), -1);
	drop_inst(in, s);
	CHECK(make(&s, "top2.js", "\n\nvar m = KSR.t.method();\n", err,
		   sizeof(err)) == NULL);
	CHECK_HAS(err, "top2.js:3: Error: KSR.t.method: no SIP message here");
	script_unref(s);
	CHECK(make(&s, "top3.js", "KSR.x.exit();\n", err, sizeof(err)) ==
	      NULL);
	CHECK_HAS(err, "KSR.x.exit()");
	script_unref(s);
	cleanup();
}

TEST(exit_and_drop)
{
	osp_script_t *s;
	void *in;
	unsigned flags;

	setup();
	in = load_ok(&s, "exit.js",
		     "function ex() { KSR.info('a'); f(); KSR.info('not here'); }\n"
		     "function f() { KSR.x.exit(); }\n"
		     "function dr() { KSR.x.drop(); KSR.info('not here'); }\n"
		     "function swallow() {\n"
		     "  try { KSR.x.exit(); } catch (e) { KSR.info('caught ' + e); }\n"
		     "  KSR.t.none();\n" /* exit is sticky: the next call exits */
		     "  KSR.info('not here');\n"
		     "}\n"
		     "function thrown() { throw '~~ksr~exit~~'; }\n");
	CHECK_INT(route(in, "ex", &flags), 1);
	CHECK_STR(logged, "a\n");
	CHECK_INT(flags, KSR_CTX_EXIT);
	log_reset();
	CHECK_INT(route(in, "dr", &flags), 1);
	CHECK_STR(logged, "");
	CHECK_INT(flags, KSR_CTX_EXIT | KSR_CTX_DROP);
	CHECK_INT(route(in, "swallow", &flags), 1);
	CHECK_STR(logged, "caught ~~ksr~exit~~\n");
	/* Kamailio's marker thrown by the script itself also means exit */
	CHECK_INT(route(in, "thrown", &flags), 1);
	CHECK_INT(flags, 0);
	drop_inst(in, s);
	cleanup();
}

TEST(has_and_missing_functions)
{
	osp_script_t *s;
	void *in;

	setup();
	in = load_ok(&s, "has.js", "function ksr_request_route() {}\n"
				   "var not_a_function = 3;\n"
				   "function cb(ev) { KSR.info('event ' + ev); }\n");
	CHECK_INT(osp_engine_jsdt.has(in, "ksr_request_route"), 1);
	CHECK_INT(osp_engine_jsdt.has(in, "ksr_reply_route"), 0);
	CHECK_INT(osp_engine_jsdt.has(in, "not_a_function"), 0);
	CHECK_INT(route(in, "ksr_reply_route", NULL), 0);
	CHECK_INT(route(in, "not_a_function", NULL), 0);
	/* callbacks by name, with the event-name argument */
	CHECK_INT(osp_engine_jsdt.run(in, NULL, "cb", "core:worker-one-init"),
		  1);
	CHECK_STR(logged, "event core:worker-one-init\n");
	drop_inst(in, s);
	cleanup();
}

TEST(append_hf_alias)
{
	osp_script_t *s;
	void *in;

	setup();
	in = load_ok(&s, "alias.js",
		     "function ksr_request_route() {\n"
		     "  KSR.info(String(KSR.hdr.append_hf('P-Hint: outbound\\r\\n')));\n"
		     "  KSR.info(String(KSR.hdr.append_hf === KSR.hdr.append));\n"
		     "}\n");
	CHECK_INT(route(in, "ksr_request_route", NULL), 1);
	CHECK_STR(appended, "P-Hint: outbound\r\n");
	CHECK_STR(logged, "1\ntrue\n");
	drop_inst(in, s);
	cleanup();
}

TEST(require_modules)
{
	osp_script_t *s;
	void *in;

	setup();
	put("lib/util.js",
	    "var other = require('../shared');\n" /* ../shared.js */
	    "KSR.info('util loaded');\n"
	    "exports.greet = function (n) { return other.prefix + n; };\n"
	    "exports.file = __filename;\n");
	put("shared.js", "module.exports = { prefix: 'hi ' };\n");
	put("conf.json", "{ \"reason\": \"Keepalive\" }\n");
	put("pkg/index.js", "exports.name = 'pkg';\n");
	put("cyc_a.js", "exports.a = 1;\n"
			"var b = require('./cyc_b');\n"
			"exports.b_saw_a = b.saw_a;\n");
	put("cyc_b.js", "exports.saw_a = require('./cyc_a').a;\n");
	in = load_ok(&s, "main.js",
		     "var u = require('./lib/util.js');\n"
		     "var u2 = require('./lib/util');\n" /* cached: loads once */
		     "var conf = require('conf.json');\n" /* bare: script folder */
		     "var p = require('./pkg');\n"
		     "var c = require('./cyc_a');\n"
		     "var top_local = 1;\n"
		     "function ksr_request_route() {\n"
		     "  KSR.info(u.greet('bob') + ',' + conf.reason + ',' + p.name +\n"
		     "    ',' + (u === u2) + ',' + c.b_saw_a +\n"
		     "    ',' + /lib\\/util\\.js$/.test(u.file) +\n"
		     "    ',' + typeof exports + ',' + typeof greet);\n"
		     "}\n");
	CHECK_STR(logged, "util loaded\n");
	log_reset();
	CHECK_INT(route(in, "ksr_request_route", NULL), 1);
	CHECK_STR(logged,
		  "hi bob,Keepalive,pkg,true,1,true,undefined,undefined\n");
	drop_inst(in, s);
	cleanup();
}

TEST(require_errors_name_the_module)
{
	osp_script_t *s;
	void *in;
	char err[1024];

	setup();
	put("lib/bad.js", "// a module that fails while loading\n"
			  "var x = 1;\n"
			  "x.no.such = 2;\n");
	put("lib/syntax.js", "exports.a = 1;\n"
			     "exports.b = = 2;\n");
	CHECK(make(&s, "m1.js", "var b = require('./lib/bad');\n", err,
		   sizeof(err)) == NULL);
	CHECK_HAS(err, "lib/bad.js:3: TypeError");
	script_unref(s);
	CHECK(make(&s, "m2.js", "\nrequire('./lib/syntax');\n", err,
		   sizeof(err)) == NULL);
	CHECK_HAS(err, "lib/syntax.js:2: SyntaxError");
	script_unref(s);
	CHECK(make(&s, "m3.js", "var a;\n\nrequire('./nothere');\n", err,
		   sizeof(err)) == NULL);
	CHECK_HAS(err, "m3.js:3: Error: require: cannot find module "
		       "'./nothere'");
	script_unref(s);
	/* a failed module is not cached: a later require retries it */
	in = load_ok(&s, "m4.js",
		     "function f() {\n"
		     "  try { require('./lib/bad'); } catch (e) {}\n"
		     "  try { require('./lib/bad'); } catch (e) {\n"
		     "    KSR.info(e.lineNumber + ' ' + /bad\\.js$/.test(e.fileName));\n"
		     "  }\n"
		     "}\n");
	CHECK_INT(route(in, "f", NULL), 1);
	CHECK_STR(logged, "3 true\n");
	drop_inst(in, s);
	/* mode 0: no require() */
	js_engine_mode = 0;
	in = load_ok(&s, "m5.js", "KSR.info(typeof require);\n");
	CHECK_STR(logged, "3 true\nundefined\n");
	drop_inst(in, s);
	js_engine_mode = 1;
	cleanup();
}

TEST(script_errors_logged_with_file_and_line)
{
	osp_script_t *s;
	void *in;
	const char *log;
	char err[1024];

	setup();
	put("lib/helper.js", "exports.boom = function () {\n"
			     "  throw new Error('boom in helper');\n"
			     "};\n");
	in = load_ok(&s, "err.js",
		     "var h = require('./lib/helper');\n"
		     "function ksr_request_route() {\n"
		     "  var t;\n"
		     "  return t.field;\n"
		     "}\n"
		     "function callnil() { KSR.no_such_function(); }\n"
		     "function helper() { h.boom(); }\n"
		     "function str() { throw 'just a string'; }\n"
		     "function callnil2() {\n"
		     "  KSR.t.none();\n"
		     "  var x = 1;\n"
		     "  KSR.t.no_such(x);\n"
		     "}\n");
	capture_start();
	CHECK_INT(route(in, "ksr_request_route", NULL), -1);
	CHECK_INT(route(in, "callnil", NULL), -1);
	CHECK_INT(route(in, "helper", NULL), -1);
	CHECK_INT(route(in, "str", NULL), -1);
	/* Duktape blames the previous call (line 10); the engine finds 12 */
	CHECK_INT(route(in, "callnil2", NULL), -1);
	log = captured();
	CHECK_HAS(log, "err.js:12: TypeError: undefined not callable "
		       "(property 'no_such'");
	CHECK_HAS(log, "error in JavaScript ksr_request_route(): ");
	CHECK_HAS(log, "err.js:4: TypeError: cannot read property 'field'");
	CHECK_HAS(log, "err.js:6: TypeError: undefined not callable");
	CHECK_HAS(log, "helper.js:2: Error: boom in helper");
	CHECK_HAS(log, "at helper (");
	CHECK_HAS(log, "err.js:7)");
	CHECK_HAS(log, "uncaught exception: just a string");
	/* the instance keeps working after errors */
	CHECK_INT(route(in, "ksr_request_route", NULL), -1);
	drop_inst(in, s);
	/* top-level errors come back from create() as file:line: message */
	CHECK(make(&s, "syn.js", "function ksr_request_route() {\n"
				 "  var x = 1;\n"
				 "  if (x {\n"
				 "}\n",
		   err, sizeof(err)) == NULL);
	CHECK_HAS(err, "syn.js:3: SyntaxError");
	CHECK(strchr(err, '\n') == NULL); /* one line, for the RPC answer */
	script_unref(s);
	CHECK(make(&s, "rt.js", "var a = 1;\nundefined_fn();\n", err,
		   sizeof(err)) == NULL);
	CHECK_HAS(err, "rt.js:2: ReferenceError");
	script_unref(s);
	cleanup();
}

TEST(limits_fail_cleanly)
{
	osp_script_t *s;
	void *in;
	const char *log;
	char err[1024];
	size_t cap = 8u << 20, n = 0;
	char *big = malloc(cap);

	setup();
	in = load_ok(&s, "rec.js",
		     "function r(n) { return r(n + 1) + 1; }\n"
		     "function ksr_request_route() { r(0); }\n"
		     "function ok() { KSR.info('still fine'); }\n");
	capture_start();
	CHECK_INT(route(in, "ksr_request_route", NULL), -1);
	log = captured();
	CHECK_HAS(log, "rec.js:1: RangeError");
	CHECK_INT(route(in, "ok", NULL), 1);
	CHECK_STR(logged, "still fine\n");
	drop_inst(in, s);

	/* source nested beyond the compiler's recursion limit */
	CHECK(big != NULL);
	n += (size_t)sprintf(big + n, "var x = ");
	for (int i = 0; i < 20000; i++)
		big[n++] = '(';
	big[n++] = '1';
	for (int i = 0; i < 20000; i++)
		big[n++] = ')';
	big[n++] = ';';
	big[n] = '\0';
	CHECK(make(&s, "deep.js", big, err, sizeof(err)) == NULL);
	CHECK_HAS(err, "deep.js:1: RangeError: compiler recursion limit");
	script_unref(s);

	/* a big script (about 3 MB, 30,000 functions) loads */
	n = 0;
	for (int i = 0; i < 30000; i++)
		n += (size_t)snprintf(big + n, cap - n,
				      "function f%d(a) { var s = 'padding "
				      "padding padding padding padding'; "
				      "return a + %d + s.length; }\n",
				      i, i);
	n += (size_t)snprintf(big + n, cap - n,
			      "function ksr_request_route() {\n"
			      "  KSR.info(String(f29999(1)));\n}\n");
	log_reset();
	in = load_ok(&s, "big.js", big);
	CHECK_INT(route(in, "ksr_request_route", NULL), 1);
	CHECK_STR(logged, "30039\n");
	drop_inst(in, s);
	free(big);
	cleanup();
}

TEST(nested_routes)
{
	osp_script_t *s;
	void *in;
	unsigned flags;

	setup();
	in = load_ok(&s, "nested.js",
		     "function ksr_request_route() {\n"
		     "  KSR.info('outer ' + KSR.t.route('branch'));\n"
		     "  KSR.info('outer ' + KSR.t.route('bad_branch'));\n"
		     "  KSR.info('outer ' + KSR.t.route('no_such_route'));\n"
		     "  KSR.info('outer done');\n"
		     "}\n"
		     "function branch() {\n"
		     "  KSR.info('branch ' + KSR.t.method()); KSR.x.exit();\n"
		     "  KSR.info('not here');\n"
		     "}\n"
		     "function bad_branch() { null.x = 1; }\n");
	capture_start();
	CHECK_INT(route(in, "ksr_request_route", &flags), 1);
	captured();
	/* exit in the nested route stops that route only */
	CHECK_STR(logged, "branch OPTIONS\nouter 1\nouter -1\nouter 0\n"
			  "outer done\n");
	CHECK_INT(flags, 0);
	drop_inst(in, s);
	cleanup();
}

TEST(fatal_error_does_not_abort)
{
	osp_script_t *s;
	void *in;
	const char *log;

	setup();
	in = load_ok(&s, "fatal.js",
		     "var generation = 'fresh';\n"
		     "function ksr_request_route() { KSR.t.fatal(); }\n"
		     "function outer() { KSR.t.route('ksr_request_route');\n"
		     "  KSR.info('not here'); }\n"
		     "function ok() { KSR.info('ok ' + generation);\n"
		     "  generation = 'used'; }\n");
	CHECK_INT(route(in, "ok", NULL), 1);
	capture_start();
	CHECK_INT(route(in, "ksr_request_route", NULL), -1);
	log = captured();
	CHECK_HAS(log, "test fatal");
	CHECK(cur_inst->broken);
	/* the next message gets a fresh interpreter from the same script */
	CHECK_INT(route(in, "ok", NULL), 1);
	CHECK_STR(logged, "ok fresh\nok fresh\n");
	CHECK(!cur_inst->broken);
	/* a fatal error in a nested route leaves the outer one too */
	capture_start();
	CHECK_INT(route(in, "outer", NULL), -1);
	captured();
	CHECK_INT(route(in, "ok", NULL), 1);
	CHECK_STR(logged, "ok fresh\nok fresh\nok fresh\n");
	CHECK(osp_engine_jsdt.has(in, "outer"));
	drop_inst(in, s);
	cleanup();
}

TEST(reload_check)
{
	char err[1024];
	const char *path;
	osp_script_t *cur;

	setup();
	path = put("routing.js", "function ksr_request_route() {\n"
				 "  KSR.info('v1');\n}\n");
	CHECK_INT(routing_init(&osp_engine_jsdt, path, err, sizeof(err)), 0);
	CHECK_INT(routing_gen(), 1);
	/* a syntax error on line 4: refused with file:line, v1 stays */
	put("routing.js", "function ksr_request_route() {\n"
			  "  KSR.info('v2');\n"
			  "}\n"
			  "var x = = 1;\n");
	capture_start();
	CHECK(routing_reload(err, sizeof(err)) < 0);
	captured();
	CHECK_HAS(err, "routing.js:4: SyntaxError");
	CHECK_INT(routing_gen(), 1);
	/* no request route: refused */
	put("routing.js", "function other() {}\n");
	capture_start();
	CHECK(routing_reload(err, sizeof(err)) < 0);
	captured();
	CHECK_HAS(err, "does not define ksr_request_route");
	/* a good version goes live */
	put("routing.js", "function ksr_request_route() {\n"
			  "  KSR.info('v3');\n}\n");
	capture_start();
	CHECK_INT(routing_reload(err, sizeof(err)), 0);
	captured();
	CHECK_INT(routing_gen(), 2);
	cur = routing_current();
	{
		char e2[256];
		void *in = osp_engine_jsdt.create(cur, 0, e2, sizeof(e2));

		CHECK(in != NULL);
		cur_inst = in;
		CHECK_INT(route(in, "ksr_request_route", NULL), 1);
		CHECK_STR(logged, "v3\n");
		osp_engine_jsdt.destroy(in);
	}
	script_unref(cur);
	routing_destroy();
	cleanup();
}

TEST(engine_lookup)
{
	CHECK(engine_find("jsdt") == &osp_engine_jsdt);
	CHECK(engine_by_ext("/etc/osprey/routing.js") == &osp_engine_jsdt);
	CHECK_STR(osp_engine_jsdt.rpc_prefix, "app_jsdt");
	CHECK_STR(osp_engine_jsdt.module, "app_jsdt");
}

TEST_LIST(
	TEST_ENTRY(return_conversions),
	TEST_ENTRY(argument_conversions_and_errors),
	TEST_ENTRY(no_message_outside_routes),
	TEST_ENTRY(exit_and_drop),
	TEST_ENTRY(has_and_missing_functions),
	TEST_ENTRY(append_hf_alias),
	TEST_ENTRY(require_modules),
	TEST_ENTRY(require_errors_name_the_module),
	TEST_ENTRY(script_errors_logged_with_file_and_line),
	TEST_ENTRY(limits_fail_cleanly),
	TEST_ENTRY(nested_routes),
	TEST_ENTRY(fatal_error_does_not_abort),
	TEST_ENTRY(reload_check),
	TEST_ENTRY(engine_lookup),
)
