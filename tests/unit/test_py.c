/* test_py.c - the Python engine: instances built from a script's source,
 * routes run over a parsed message, KSR argument checking and return
 * conversions, exit/drop, tracebacks with file:line, the scratch check of
 * broken scripts, child_init, imports, nested routes and several threads.
 *
 * The KSR API here is a test table registered by the test ("t" functions
 * that record what they saw), plus x.exit/x.drop and info with the core's
 * semantics, so the engine is tested alone. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/osp.h"
#include "engines/engine.h"
#include "engines/python/py_engine.h"
#include "kemi/kemi.h"
#include "unit.h"

extern const osp_engine_t osp_engine_python;
static const osp_engine_t *E = &osp_engine_python;

/* ---- the test KSR API ---- */

static _Thread_local char rec[4096];  /* what t.record() got, joined by | */
static _Thread_local int reply_code;
static _Thread_local char reply_reason[128];
static _Thread_local void *nested_inst; /* for t.nested() */

static int ki_info(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	LOG_INFO("script: %.*s", STR_FMT(a[0].s));
	return 1;
}

static int ki_exit(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	c->flags |= KSR_CTX_EXIT;
	return 0;
}

static int ki_drop(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	c->flags |= KSR_CTX_EXIT | KSR_CTX_DROP;
	return 0;
}

static int ki_record(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	size_t n = strlen(rec);

	snprintf(rec + n, sizeof(rec) - n, "%s%.*s", n ? "|" : "",
		 STR_FMT(a[0].s));
	return 1;
}

static int ki_reply(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	reply_code = (int)a[0].n;
	snprintf(reply_reason, sizeof(reply_reason), "%.*s", STR_FMT(a[1].s));
	return 1;
}

static int ki_add(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return (int)(a[0].n + a[1].n);
}

static int ki_bool(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return (int)a[0].n;
}

static int ki_none(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return 5;
}

/* t.xval(kind): "int" -> 42, "str" -> "hello", "bin" -> 3 bytes that are
 * not UTF-8, anything else -> null */
static int ki_xval(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (str_eq_cstr(a[0].s, "int"))
		return ksr_xval_int(r, 42);
	if (str_eq_cstr(a[0].s, "str"))
		return ksr_xval_str(r, STR_LIT("hello"));
	if (str_eq_cstr(a[0].s, "bin"))
		return ksr_xval_str(r, STR_LIT("a\xff\xfe"));
	return ksr_xval_null(r);
}

/* t.hex(s): the bytes received, in hex, so the test sees exactly what
 * crossed the boundary */
static int ki_hex(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	size_t n = 0;

	for (size_t i = 0; i < a[0].s.len && n + 3 < sizeof(c->buf); i++)
		n += (size_t)snprintf(c->buf + n, sizeof(c->buf) - n, "%02x",
				      (unsigned char)a[0].s.s[i]);
	return ksr_xval_str(r, (str_t){c->buf, n});
}

/* t.nested(fname): run another route of the same instance from inside a
 * KSR call, as tm runs a branch route from t_relay() */
static int ki_nested(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	ksr_ctx_t bc;
	char fname[64];

	memset(&bc, 0, sizeof(bc));
	bc.msg = c->msg;
	bc.route = KSR_ROUTE_BRANCH;
	snprintf(fname, sizeof(fname), "%.*s", STR_FMT(a[0].s));
	return E->run(nested_inst, &bc, fname, NULL) == 1 &&
			       !(bc.flags & KSR_CTX_DROP) ?
		       1 :
		       -1;
}

static const ksr_export_t test_exports[] = {
	{"", "info", KSR_NONE, ki_info, {KSR_STR}},
	{"x", "exit", KSR_NONE, ki_exit, {0}},
	{"x", "drop", KSR_NONE, ki_drop, {0}},
	{"t", "record", KSR_INT, ki_record, {KSR_STR}},
	{"t", "reply", KSR_INT, ki_reply, {KSR_INT, KSR_STR}},
	{"t", "add", KSR_INT, ki_add, {KSR_INT, KSR_INT}},
	{"t", "bool", KSR_BOOL, ki_bool, {KSR_INT}},
	{"t", "none", KSR_NONE, ki_none, {0}},
	{"t", "xval", KSR_XVAL, ki_xval, {KSR_STR}},
	{"t", "hex", KSR_XVAL, ki_hex, {KSR_STR}},
	{"t", "nested", KSR_INT, ki_nested, {KSR_STR}},
	{0},
};

/* ---- helpers ---- */

static char tmpdir[256];

/* Register the table and make a private folder for script files. */
static void setup(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	CHECK(ksr_registry_add(test_exports) == 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/osprey-test-py-XXXXXX");
	CHECK(mkdtemp(tmpdir) != NULL);
}

static void rm_tmpdir(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	CHECK(system(cmd) == 0);
}

/* A script version as the core would hold it: path name (the file needs
 * not exist: the engine runs the source it is given) and source. */
static osp_script_t *mk_script(const char *name, const char *src)
{
	osp_script_t *s = calloc(1, sizeof(*s));
	char path[512];

	CHECK(s != NULL);
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	s->path = strdup(path);
	s->src = strdup(src);
	s->len = strlen(src);
	s->refcnt = 1;
	s->gen = 1;
	return s;
}

static void free_script(osp_script_t *s)
{
	free(s->path);
	free(s->src);
	free(s);
}

static void write_file(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

typedef struct tmsg {
	arena_t arena;
	sip_msg_t msg;
	ksr_ctx_t ctx;
	char raw[2048];
} tmsg_t;

static void tmsg_parse(tmsg_t *t, const char *method)
{
	const char *why = NULL;
	int len;

	memset(t, 0, sizeof(*t));
	arena_init(&t->arena);
	len = snprintf(t->raw, sizeof(t->raw),
		       "%s sip:alice@example.com SIP/2.0\r\n"
		       "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK-1\r\n"
		       "Max-Forwards: 70\r\n"
		       "From: <sip:bob@example.com>;tag=a1\r\n"
		       "To: <sip:alice@example.com>\r\n"
		       "Call-ID: abc@192.0.2.10\r\n"
		       "CSeq: 1 %s\r\n"
		       "User-Agent: tester\r\n"
		       "Content-Length: 0\r\n\r\n",
		       method, method);
	t->msg.arena = &t->arena;
	if (sip_msg_parse(&t->msg, t->raw, (size_t)len, &why) != 0)
		UNIT_FAIL("parse failed: %s", why ? why : "?");
	t->msg.rcv.proto = SIP_PROTO_UDP;
	t->msg.rcv.src.in4.sin_family = AF_INET;
	t->msg.rcv.src.in4.sin_port = htons(5062);
	inet_pton(AF_INET, "192.0.2.10", &t->msg.rcv.src.in4.sin_addr);
	t->msg.rcv.dst.in4.sin_family = AF_INET;
	t->msg.rcv.dst.in4.sin_port = htons(5060);
	inet_pton(AF_INET, "127.0.0.1", &t->msg.rcv.dst.in4.sin_addr);
	t->ctx.msg = &t->msg;
	t->ctx.route = KSR_ROUTE_REQUEST;
	t->ctx.worker = 0;
}

/* Run fname over a fresh OPTIONS; returns run()'s result, *flags gets the
 * context flags afterwards. */
static int route(void *inst, const char *fname, unsigned *flags)
{
	tmsg_t t;
	int rc;

	tmsg_parse(&t, "OPTIONS");
	rec[0] = '\0';
	reply_code = 0;
	rc = E->run(inst, &t.ctx, fname, NULL);
	if (flags)
		*flags = t.ctx.flags;
	arena_destroy(&t.arena);
	return rc;
}

static void *create_ok(osp_script_t *s, int worker)
{
	char err[1024] = "";
	void *inst = E->create(s, worker, err, sizeof(err));

	if (!inst)
		UNIT_FAIL("create failed: %s", err);
	return inst;
}

/* Capture what the engine logs: stderr goes to a file until log_end(),
 * which returns the text (static buffer). */
static int saved_fd = -1;
static char log_path[300];

static void log_begin(void)
{
	int fd;

	snprintf(log_path, sizeof(log_path), "%s/log.txt", tmpdir);
	fd = open(log_path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	CHECK(fd >= 0);
	fflush(stderr);
	saved_fd = dup(2);
	dup2(fd, 2);
	close(fd);
}

static const char *log_end(void)
{
	static char text[16384];
	FILE *f;
	size_t n;

	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	f = fopen(log_path, "r");
	CHECK(f != NULL);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

#define CHECK_HAS(hay, needle)                                                 \
	do {                                                                   \
		if (!strstr((hay), (needle)))                                  \
			UNIT_FAIL("missing \"%s\" in:\n%s", (needle), (hay));  \
	} while (0)

static void finish(void)
{
	py_engine_shutdown();
	rm_tmpdir();
}

/* ---- tests ---- */

static const char *basic_src =
	"import KSR\n"
	"\n"
	"def mod_init():\n"
	"    KSR.info('loading')\n"
	"    return Router()\n"
	"\n"
	"class Router:\n"
	"    def ksr_request_route(self, msg):\n"
	"        KSR.t.reply(200, 'OK from ' + msg.Method)\n"
	"        return 1\n"
	"    not_callable = 3\n";

TEST(create_run_has)
{
	osp_script_t *s;
	void *inst;

	setup();
	s = mk_script("basic.py", basic_src);
	inst = create_ok(s, 0);
	CHECK_INT(E->has(inst, "ksr_request_route"), 1);
	CHECK_INT(E->has(inst, "ksr_reply_route"), 0);
	CHECK_INT(E->has(inst, "not_callable"), 0);
	/* answered from the cache the second time */
	CHECK_INT(E->has(inst, "ksr_request_route"), 1);
	CHECK_INT(route(inst, "ksr_request_route", NULL), 1);
	CHECK_INT(reply_code, 200);
	CHECK_STR(reply_reason, "OK from OPTIONS");
	CHECK_INT(route(inst, "ksr_reply_route", NULL), 0);
	CHECK_INT(reply_code, 0);
	E->destroy(inst);
	free_script(s);
	finish();
}

static const char *conv_src =
	"import KSR, threading, time\n"
	"def mod_init():\n"
	"    return R()\n"
	"def chk(name, got, want):\n"
	"    if type(got) is not type(want) or got != want:\n"
	"        KSR.t.record('%s: %r' % (name, got))\n"
	"class R:\n"
	"    def ksr_request_route(self, msg):\n"
	"        chk('add', KSR.t.add(2, 3), 5)\n"
	"        chk('int unchanged', KSR.t.add(-1, 0), -1)\n"
	"        chk('zero', KSR.t.add(0, 0), 0)\n"
	"        chk('bool true', KSR.t.bool(7), True)\n"
	"        chk('bool false', KSR.t.bool(0), False)\n"
	"        chk('bool as int', KSR.t.add(True, 1), 2)\n"
	"        chk('none', KSR.t.none(), None)\n"
	"        chk('xval int', KSR.t.xval('int'), 42)\n"
	"        chk('xval str', KSR.t.xval('str'), 'hello')\n"
	"        chk('xval null', KSR.t.xval('nothing'), None)\n"
	"        b = KSR.t.xval('bin')\n"
	"        chk('bin round trip', KSR.t.hex(b), '61fffe')\n"
	"        chk('utf8', KSR.t.hex('\\u00e9'), 'c3a9')\n"
	"        chk('Type', msg.Type, 'SIP_REQUEST')\n"
	"        chk('Method', msg.Method, 'OPTIONS')\n"
	"        chk('Status', msg.Status, None)\n"
	"        chk('RURI', msg.RURI, 'sip:alice@example.com')\n"
	"        chk('src', msg.src_address, ('192.0.2.10', 5062))\n"
	"        chk('dst', msg.dst_address, ('127.0.0.1', 5060))\n"
	"        chk('hdr', msg.getHeader('call-id'), 'abc@192.0.2.10')\n"
	"        chk('hdr compact', msg.getHeader('i'), 'abc@192.0.2.10')\n"
	"        chk('no hdr', msg.getHeader('X-None'), None)\n"
	"        chk('submodule', __import__('sys').modules['KSR.t'].add(1, 1), 2)\n"
	"        self.kept = msg\n"
	"        self.t = threading.Thread(target=self.use_later)\n"
	"        self.t.start()\n"
	"        KSR.t.record('done')\n"
	"    def use_later(self):\n"
	"        time.sleep(0.2)\n"
	"        try:\n"
	"            self.result = self.kept.Method\n"
	"        except RuntimeError as e:\n"
	"            self.result = 'stale: ' + str(e)\n"
	"    def later(self, msg):\n"
	"        self.t.join()\n"
	"        KSR.t.record(self.result)\n"
	"        KSR.t.record('same object %s' % (self.kept is msg))\n";

TEST(conversions_and_msg)
{
	osp_script_t *s;
	void *inst;

	setup();
	s = mk_script("conv.py", conv_src);
	inst = create_ok(s, 0);
	CHECK_INT(route(inst, "ksr_request_route", NULL), 1);
	CHECK_STR(rec, "done");
	/* the msg object refuses to be used outside a call (here by a
	 * thread the script started, while no route runs) */
	usleep(500 * 1000);
	CHECK_INT(route(inst, "later", NULL), 1);
	CHECK_STR(rec, "stale: msg is only valid during the route call that "
		       "received it|same object True");
	E->destroy(inst);
	free_script(s);
	finish();
}

static const char *types_src =
	"import KSR\n"
	"def mod_init():\n"
	"    return R()\n"
	"def tryit(f, *a):\n"
	"    try:\n"
	"        f(*a)\n"
	"        KSR.t.record('no error')\n"
	"    except TypeError as e:\n"
	"        KSR.t.record(str(e))\n"
	"class R:\n"
	"    def ksr_request_route(self, msg):\n"
	"        tryit(KSR.t.reply, '200', 'OK')\n"
	"        tryit(KSR.t.reply, 200)\n"
	"        tryit(KSR.t.reply, 200.0, 'OK')\n"
	"        tryit(KSR.t.reply, 200, b'OK')\n"
	"        tryit(KSR.t.reply, 200, 'OK', 'extra')\n"
	"        tryit(KSR.t.none, 1)\n"
	"    def uncaught(self, msg):\n"
	"        KSR.t.reply('abc')\n";

TEST(type_errors)
{
	osp_script_t *s;
	void *inst;
	const char *log;

	setup();
	s = mk_script("types.py", types_src);
	inst = create_ok(s, 0);
	CHECK_INT(route(inst, "ksr_request_route", NULL), 1);
	CHECK_STR(rec, "KSR.t.reply() argument 1 must be int, not str"
		       "|KSR.t.reply() takes 2 arguments (1 given)"
		       "|KSR.t.reply() argument 1 must be int, not float"
		       "|KSR.t.reply() argument 2 must be str, not bytes"
		       "|KSR.t.reply() takes 2 arguments (3 given)"
		       "|KSR.t.none() takes 0 arguments (1 given)");
	CHECK_INT(reply_code, 0);
	/* not caught: a script error naming the file and line */
	log_begin();
	CHECK_INT(route(inst, "uncaught", NULL), -1);
	log = log_end();
	CHECK_HAS(log, "types.py:19: TypeError: KSR.t.reply() takes 2 "
		       "arguments (1 given)");
	E->destroy(inst);
	free_script(s);
	finish();
}

static const char *exit_src =
	"import KSR, sys\n"
	"def mod_init():\n"
	"    return R()\n"
	"class R:\n"
	"    def do_exit(self, msg):\n"
	"        KSR.t.record('before')\n"
	"        try:\n"
	"            KSR.x.exit()\n"
	"        except Exception:\n"
	"            KSR.t.record('swallowed')\n"
	"        KSR.t.record('after')\n"
	"    def do_drop(self, msg):\n"
	"        self.sub()\n"
	"        KSR.t.record('after')\n"
	"    def sub(self):\n"
	"        KSR.x.drop()\n"
	"    def do_255(self, msg):\n"
	"        if self.check(msg) == -255:\n"
	"            return 1\n"
	"        KSR.t.record('after')\n"
	"    def check(self, msg):\n"
	"        KSR.t.reply(404, 'Not Here')\n"
	"        return -255\n"
	"    def do_sysexit(self, msg):\n"
	"        KSR.t.record('before')\n"
	"        sys.exit()\n"
	"        KSR.t.record('after')\n";

TEST(exit_drop_255)
{
	osp_script_t *s;
	void *inst;
	unsigned flags;

	setup();
	s = mk_script("exit.py", exit_src);
	inst = create_ok(s, 0);
	CHECK_INT(route(inst, "do_exit", &flags), 1);
	CHECK_STR(rec, "before");
	CHECK_INT(flags & (KSR_CTX_EXIT | KSR_CTX_DROP), KSR_CTX_EXIT);
	CHECK_INT(route(inst, "do_drop", &flags), 1);
	CHECK_STR(rec, "");
	CHECK_INT(flags & KSR_CTX_DROP, KSR_CTX_DROP);
	CHECK_INT(route(inst, "do_255", &flags), 1);
	CHECK_STR(rec, "");
	CHECK_INT(reply_code, 404);
	CHECK_INT(flags, 0);
	CHECK_INT(route(inst, "do_sysexit", &flags), 1);
	CHECK_STR(rec, "before");
	E->destroy(inst);
	free_script(s);
	finish();
}

static const char *tb_src =
	"import KSR\n"
	"def mod_init():\n"
	"    return R()\n"
	"def divide(a, b):\n"
	"    return a / b\n"
	"class R:\n"
	"    def ksr_request_route(self, msg):\n"
	"        KSR.t.record('x')\n"
	"        return divide(1, 0)\n"
	"    def json_error(self, msg):\n"
	"        import json\n"
	"        json.loads('{')\n";

TEST(traceback_file_line)
{
	osp_script_t *s;
	void *inst;
	const char *log;
	char want[600];

	setup();
	s = mk_script("tb.py", tb_src);
	inst = create_ok(s, 0);
	log_begin();
	CHECK_INT(route(inst, "ksr_request_route", NULL), -1);
	/* an error inside the standard library names the script's line */
	CHECK_INT(route(inst, "json_error", NULL), -1);
	log = log_end();
	snprintf(want, sizeof(want),
		 "error in Python ksr_request_route(): %s:5: "
		 "ZeroDivisionError: division by zero",
		 s->path);
	CHECK_HAS(log, want);
	CHECK_HAS(log, "Traceback (most recent call last):");
	snprintf(want, sizeof(want), "File \"%s\", line 9, in ksr_request_route",
		 s->path);
	CHECK_HAS(log, want);
	snprintf(want, sizeof(want), "error in Python json_error(): %s:12: "
				     "json.decoder.JSONDecodeError",
		 s->path);
	CHECK_HAS(log, want);
	/* the instance still routes */
	CHECK_INT(route(inst, "ksr_request_route", NULL), -1);
	CHECK_STR(rec, "x");
	E->destroy(inst);
	free_script(s);
	finish();
}

/* Scripts that must be refused, and the "file:line: ..." each gives. */
TEST(scratch_check_refuses)
{
	static const struct {
		const char *src, *want;
	} cases[] = {
		{"import KSR\ndef mod_init():\n    return R()\nx = = 1\n",
		 "bad.py:4: SyntaxError: invalid syntax"},
		{"import KSR\n\nt = None\nv = t.field\n",
		 "bad.py:4: AttributeError: 'NoneType' object has no "
		 "attribute 'field'"},
		{"import KSR\ndef other():\n    pass\n",
		 "bad.py: NameError: the script does not define mod_init()"},
		{"def mod_init():\n    return None\n",
		 "bad.py: TypeError: mod_init() returned None"},
		{"def mod_init():\n    x = 1\n    raise ValueError('no')\n",
		 "bad.py:3: ValueError: no"},
		{"import no_such_module_here\n",
		 "bad.py:1: ModuleNotFoundError: No module named "
		 "'no_such_module_here'"},
		{"import KSR\nKSR.t.reply(200, 'top')\n",
		 "bad.py:2: RuntimeError: KSR.t.reply(): no SIP message here"},
		{"import KSR\nKSR.x.exit()\n", "bad.py:2: KSR.x.Exit"},
		{"def mod_init():\n\treturn 1\n  \tx\n",
		 "bad.py:3: "},
	};

	setup();
	log_begin();
	for (size_t i = 0; i < OSP_ARRAY_LEN(cases); i++) {
		osp_script_t *s = mk_script("bad.py", cases[i].src);
		char err[1024] = "";
		void *inst = E->create(s, -1, err, sizeof(err));

		if (inst)
			UNIT_FAIL("case %zu: accepted", i);
		if (!strstr(err, cases[i].want))
			UNIT_FAIL("case %zu: error \"%s\", want \"%s\"", i, err,
				  cases[i].want);
		if (strncmp(err, tmpdir, strlen(tmpdir)) != 0)
			UNIT_FAIL("case %zu: error does not start with the "
				  "path: %s",
				  i, err);
		free_script(s);
	}
	log_end();
	/* a good script still loads after all that */
	{
		osp_script_t *s = mk_script("basic.py", basic_src);
		void *inst = create_ok(s, -1);

		E->destroy(inst);
		free_script(s);
	}
	finish();
}

static const char *child_src =
	"import KSR\n"
	"def mod_init():\n"
	"    KSR.info('mod_init')\n"
	"    return R()\n"
	"class R:\n"
	"    rank = None\n"
	"    def child_init(self, rank):\n"
	"        self.rank = rank\n"
	"        return -1 if rank == 8 else 0\n"
	"    def ksr_request_route(self, msg):\n"
	"        KSR.t.record('rank=%r' % self.rank)\n";

TEST(child_init_rank)
{
	osp_script_t *s;
	void *inst;
	char err[512] = "";

	setup();
	s = mk_script("child.py", child_src);
	inst = create_ok(s, 2);
	CHECK_INT(route(inst, "ksr_request_route", NULL), 1);
	CHECK_STR(rec, "rank=3"); /* Kamailio's rank of SIP worker 2 */
	E->destroy(inst);
	/* scratch instances do not run child_init */
	inst = create_ok(s, -1);
	CHECK_INT(route(inst, "ksr_request_route", NULL), 1);
	CHECK_STR(rec, "rank=None");
	E->destroy(inst);
	/* a negative answer refuses the instance */
	CHECK(E->create(s, 7, err, sizeof(err)) == NULL);
	CHECK_HAS(err, "child_init(8) returned -1");
	free_script(s);
	/* other names through the module parameters */
	CHECK_INT(py_engine_set_mod_init("make"), 0);
	CHECK_INT(py_engine_set_child_init("start"), 0);
	s = mk_script("names.py", "import KSR\n"
				  "def make():\n"
				  "    return R()\n"
				  "class R:\n"
				  "    def start(self, rank):\n"
				  "        self.r = rank\n"
				  "    def ksr_request_route(self, msg):\n"
				  "        KSR.t.record('start=%d' % self.r)\n");
	inst = create_ok(s, 0);
	CHECK_INT(route(inst, "ksr_request_route", NULL), 1);
	CHECK_STR(rec, "start=1");
	E->destroy(inst);
	free_script(s);
	finish();
}

TEST(imports_and_sys_path)
{
	osp_script_t *s;
	void *inst;

	setup();
	write_file("helper_mod.py", "def greet(x):\n    return 'hi ' + x\n");
	s = mk_script("imp.py",
		      "import KSR, json, re, hashlib, sys, os\n"
		      "import helper_mod\n"
		      "from dataclasses import dataclass\n"
		      "@dataclass\n"
		      "class Conf:\n"
		      "    code: int = 200\n"
		      "def mod_init():\n"
		      "    return R()\n"
		      "class R:\n"
		      "    def ksr_request_route(self, msg):\n"
		      "        d = json.loads('{\"a\": [1, 2]}')\n"
		      "        m = re.match(r'(\\w+)@', 'abc@x')\n"
		      "        h = hashlib.md5(b'x').hexdigest()[:6]\n"
		      "        KSR.t.record('%s %s %s %s %d %s' % (d['a'][1], "
		      "m.group(1), h, helper_mod.greet('py'), Conf().code, "
		      "sys.path[0] == os.path.dirname(__file__)))\n");
	inst = create_ok(s, 0);
	CHECK_INT(route(inst, "ksr_request_route", NULL), 1);
	CHECK_STR(rec, "2 abc 9dd4e4 hi py 200 True");
	E->destroy(inst);
	free_script(s);
	finish();
}

/* Reload: a new instance from new source lives next to the old one; each
 * routes with its own version; the old one goes away cleanly. */
TEST(reload_new_instance)
{
	osp_script_t *a, *b;
	void *ia, *ib;

	setup();
	a = mk_script("r.py", "import KSR\ndef mod_init():\n    return R()\n"
			      "class R:\n    def ksr_request_route(self, m):\n"
			      "        KSR.t.reply(200, 'A')\n");
	b = mk_script("r.py", "import KSR\ndef mod_init():\n    return R()\n"
			      "class R:\n    def ksr_request_route(self, m):\n"
			      "        KSR.t.reply(200, 'B')\n");
	ia = create_ok(a, 0);
	ib = create_ok(b, 0);
	CHECK_INT(route(ia, "ksr_request_route", NULL), 1);
	CHECK_STR(reply_reason, "A");
	CHECK_INT(route(ib, "ksr_request_route", NULL), 1);
	CHECK_STR(reply_reason, "B");
	E->destroy(ia);
	CHECK_INT(route(ib, "ksr_request_route", NULL), 1);
	CHECK_STR(reply_reason, "B");
	E->destroy(ib);
	free_script(a);
	free_script(b);
	finish();
}

static const char *nested_src =
	"import KSR\n"
	"def mod_init():\n"
	"    return R()\n"
	"class R:\n"
	"    def ksr_request_route(self, msg):\n"
	"        KSR.t.record('outer ' + msg.Method)\n"
	"        ok = KSR.t.nested('branch')\n"
	"        KSR.t.record('back %d %s' % (ok, msg.Method))\n"
	"        KSR.t.record('drop %d' % KSR.t.nested('branch_drop'))\n"
	"    def branch(self, msg):\n"
	"        KSR.t.record('branch ' + msg.Method)\n"
	"    def branch_drop(self, msg):\n"
	"        KSR.x.drop()\n";

TEST(nested_route)
{
	osp_script_t *s;
	unsigned flags;

	setup();
	s = mk_script("nested.py", nested_src);
	nested_inst = create_ok(s, 0);
	CHECK_INT(route(nested_inst, "ksr_request_route", &flags), 1);
	CHECK_STR(rec, "outer OPTIONS|branch OPTIONS|back 1 OPTIONS|drop -1");
	/* the drop of the nested route stays in its own context */
	CHECK_INT(flags, 0);
	E->destroy(nested_inst);
	free_script(s);
	finish();
}

/* Workers: several threads, each with its own instance, routing at the
 * same time (and building/destroying instances meanwhile). */
typedef struct th_arg {
	osp_script_t *s;
	int idx, fails;
} th_arg_t;

static void *worker_thread(void *p)
{
	th_arg_t *a = p;
	char err[512], want[64];

	for (int round = 0; round < 3; round++) {
		void *inst = E->create(a->s, a->idx, err, sizeof(err));

		if (!inst) {
			a->fails++;
			continue;
		}
		for (int i = 0; i < 300; i++) {
			if (route(inst, "ksr_request_route", NULL) != 1)
				a->fails++;
			snprintf(want, sizeof(want), "w%d:%d", a->idx + 1, i % 7);
			if (strcmp(rec, want) != 0)
				a->fails++;
		}
		E->destroy(inst);
	}
	return NULL;
}

TEST(threads)
{
	enum { N = 4 };
	pthread_t th[N];
	th_arg_t args[N];
	osp_script_t *s;
	void *main_inst;

	setup();
	s = mk_script("th.py",
		      "import KSR\n"
		      "def mod_init():\n"
		      "    return R()\n"
		      "class R:\n"
		      "    n = 0\n"
		      "    def child_init(self, rank):\n"
		      "        self.rank = rank\n"
		      "    def ksr_request_route(self, msg):\n"
		      "        x = sum(range(50))\n"
		      "        KSR.t.record('w%d:%d' % (self.rank, self.n % 7))\n"
		      "        self.n += 1\n");
	/* the scratch check in the main thread, as the core does first */
	main_inst = create_ok(s, -1);
	E->destroy(main_inst);
	for (int i = 0; i < N; i++) {
		args[i] = (th_arg_t){s, i, 0};
		CHECK(pthread_create(&th[i], NULL, worker_thread, &args[i]) == 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(args[i].fails, 0);
	}
	free_script(s);
	finish();
}

/* modparam release_gil 0: the GIL stays taken through KSR calls; a nested
 * route and several threads still work (PyGILState nests). */
TEST(hold_gil)
{
	enum { N = 2 };
	pthread_t th[N];
	th_arg_t args[N];
	osp_script_t *s, *t;

	setup();
	py_engine_set_release_gil(0);
	s = mk_script("nested.py", nested_src);
	nested_inst = create_ok(s, 0);
	CHECK_INT(route(nested_inst, "ksr_request_route", NULL), 1);
	CHECK_STR(rec, "outer OPTIONS|branch OPTIONS|back 1 OPTIONS|drop -1");
	E->destroy(nested_inst);
	t = mk_script("th.py",
		      "import KSR\n"
		      "def mod_init():\n"
		      "    return R()\n"
		      "class R:\n"
		      "    n = 0\n"
		      "    def child_init(self, rank):\n"
		      "        self.rank = rank\n"
		      "    def ksr_request_route(self, msg):\n"
		      "        KSR.t.record('w%d:%d' % (self.rank, self.n % 7))\n"
		      "        self.n += 1\n");
	for (int i = 0; i < N; i++) {
		args[i] = (th_arg_t){t, i, 0};
		CHECK(pthread_create(&th[i], NULL, worker_thread, &args[i]) == 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(args[i].fails, 0);
	}
	free_script(s);
	free_script(t);
	finish();
}

/* Shutdown runs the script's atexit callbacks, then refuses new
 * instances. */
TEST(shutdown_then_create_refused)
{
	osp_script_t *s;
	void *inst;
	char err[512] = "", mark[600];
	FILE *f;

	setup();
	snprintf(mark, sizeof(mark), "%s/atexit.txt", tmpdir);
	s = mk_script("bye.py", "import atexit, KSR, os\n"
				   "def bye():\n"
				   "    with open(os.path.join(os.path.dirname("
				   "__file__), 'atexit.txt'), 'w') as f:\n"
				   "        f.write('bye')\n"
				   "atexit.register(bye)\n"
				   "def mod_init():\n"
				   "    return 1\n");
	inst = create_ok(s, 0);
	E->destroy(inst);
	CHECK(access(mark, F_OK) != 0);
	py_engine_shutdown();
	f = fopen(mark, "r");
	CHECK(f != NULL);
	CHECK(fgets(err, sizeof(err), f) != NULL);
	CHECK_STR(err, "bye");
	fclose(f);
	CHECK(E->create(s, 0, err, sizeof(err)) == NULL);
	CHECK_HAS(err, "already shut down");
	/* a second shutdown is harmless */
	py_engine_shutdown();
	free_script(s);
	rm_tmpdir();
}

TEST_LIST(
	TEST_ENTRY(create_run_has),
	TEST_ENTRY(conversions_and_msg),
	TEST_ENTRY(type_errors),
	TEST_ENTRY(exit_drop_255),
	TEST_ENTRY(traceback_file_line),
	TEST_ENTRY(scratch_check_refuses),
	TEST_ENTRY(child_init_rank),
	TEST_ENTRY(imports_and_sys_path),
	TEST_ENTRY(reload_new_instance),
	TEST_ENTRY(nested_route),
	TEST_ENTRY(threads),
	TEST_ENTRY(hold_gil),
	TEST_ENTRY(shutdown_then_create_refused),
)
