/* test_native.c - the native routing language: the expression evaluator
 * (operators, precedence, regular expressions, $null, Kamailio's integer /
 * string coercions), transformations, statements, function calls and
 * their return codes, start-up errors with their exact position, and the
 * engine's reload check. Each test writes a small configuration file,
 * compiles its route blocks and runs them against a parsed request. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/cfg.h"
#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "engines/native/native.h"
#include "engines/native/nv.h"
#include "modules/pv/pv.h"
#include "net/net.h"
#include "unit.h"

/* ---- a test module: functions that show what they received ---------- */

static long got_n[4];
static char got_s[4][256];
static int calls;

static int t_ret(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	calls++;
	return (int)a[0].n;
}

static int t_args(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	calls++;
	snprintf(got_s[0], sizeof(got_s[0]), "%.*s", STR_FMT(a[0].s));
	got_n[1] = a[1].n;
	return 1;
}

static int t_bool(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	calls++;
	return a[0].n != 0;
}

static int t_val(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return ksr_xval_str(r, STR_LIT("value"));
}

static int t_exit(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	ctx->flags |= KSR_CTX_EXIT;
	return 0;
}

static const ksr_export_t test_exports[] = {
    {"test", "t_ret", KSR_INT, t_ret, {KSR_INT}},
    {"test", "t_args", KSR_INT, t_args, {KSR_STR, KSR_INT}},
    {"test", "t_bool", KSR_BOOL, t_bool, {KSR_INT}},
    {"test", "t_val", KSR_XVAL, t_val, {0}},
    {"test", "t_exit", KSR_NONE, t_exit, {0}},
    {0},
};

/* ---- helpers ---------------------------------------------------------- */

static net_listener_t test_listener = {
    .proto = SIP_PROTO_UDP,
    .ip = "10.0.0.1",
    .host = "10.0.0.1",
    .port = 5070,
};

typedef struct tmsg {
	arena_t arena;
	sip_msg_t msg;
	ksr_ctx_t ctx;
	char buf[4096];
} tmsg_t;

static const char *INVITE =
    "INVITE sip:bob@example.com;transport=udp SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK-1\n"
    "From: \"Alice\" <sip:alice@example.org>;tag=a1\n"
    "To: <sip:bob@example.com>\n"
    "Call-ID: c1@192.0.2.10\n"
    "CSeq: 1 INVITE\n"
    "Max-Forwards: 70\n"
    "X-List: a=1;b=two;c\n"
    "Content-Length: 0\n"
    "\n";

/* Messages and programs are kept until the test process ends. */
static tmsg_t *made[64];
static int n_made;
static nv_prog_t *progs[64];
static int n_progs;

static tmsg_t *mkmsg(const char *text)
{
	tmsg_t *t = calloc(1, sizeof(*t));
	size_t n = 0;
	const char *why = NULL;

	CHECK(t && n_made < (int)OSP_ARRAY_LEN(made));
	made[n_made++] = t;
	for (const char *p = text; *p; p++) {
		if (*p == '\n')
			t->buf[n++] = '\r';
		t->buf[n++] = *p;
	}
	arena_init(&t->arena);
	t->msg.arena = &t->arena;
	if (sip_msg_parse(&t->msg, t->buf, n, &why) < 0)
		UNIT_FAIL("parse failed: %s", why ? why : "?");
	t->msg.rcv.proto = SIP_PROTO_UDP;
	t->msg.rcv.src.in4.sin_family = AF_INET;
	t->msg.rcv.src.in4.sin_port = htons(5062);
	inet_pton(AF_INET, "192.0.2.10", &t->msg.rcv.src.in4.sin_addr);
	t->msg.rcv.dst.in4.sin_family = AF_INET;
	t->msg.rcv.dst.in4.sin_port = htons(5070);
	inet_pton(AF_INET, "10.0.0.1", &t->msg.rcv.dst.in4.sin_addr);
	t->msg.rcv.listener = &test_listener;
	t->ctx.msg = &t->msg;
	t->ctx.route = KSR_ROUTE_REQUEST;
	t->ctx.worker = 0;
	return t;
}

static char cfg_path[64];

static void setup_with(const char *extra)
{
	osp_log_level = L_CRIT; /* runtime errors are expected in places */
	if (extra)
		module_load(extra);
	module_load("sl");
	module_load("xlog");
	module_load("maxfwd");
	module_load("textops");
	CHECK_INT(modules_register(), 0);
	CHECK_INT(ksr_registry_add(test_exports), 0);
	snprintf(cfg_path, sizeof(cfg_path), "/tmp/nv-unit-%d.cfg",
		 (int)getpid());
}

static void setup(void)
{
	setup_with(NULL);
}

static void write_cfg(const char *text)
{
	FILE *f = fopen(cfg_path, "w");

	CHECK(f);
	fputs(text, f);
	fclose(f);
}

/* Compile text (a whole configuration); NULL with err filled on error. */
static nv_prog_t *compile(const char *text, char *err, size_t errlen)
{
	cfg_file_t *cf;
	nv_prog_t *p;

	write_cfg(text);
	cf = cfg_parse(cfg_path, 0, err, errlen);
	if (!cf)
		return NULL;
	p = nv_compile(cfg_file_routes(cf), err, errlen);
	cfg_file_free(cf);
	if (p) {
		CHECK(n_progs < (int)OSP_ARRAY_LEN(progs));
		progs[n_progs++] = p;
	}
	return p;
}

static nv_prog_t *must_compile(const char *text)
{
	char err[512];
	nv_prog_t *p = compile(text, err, sizeof(err));

	if (!p)
		UNIT_FAIL("compile failed: %s\n--- config:\n%s", err, text);
	return p;
}

/* Run the request route of text against the INVITE; the run's result. */
static int run(const char *text, tmsg_t **out)
{
	static nv_inst_t in;
	tmsg_t *t = mkmsg(INVITE);

	in.prog = must_compile(text);
	if (out)
		*out = t;
	return nv_run_route(&in, &t->ctx, in.prog->request);
}

static ksr_xval_t var(tmsg_t *t, const char *name)
{
	char err[128];
	pv_spec_t *sp = pv_spec_parse(str_from(name), err, sizeof(err));
	ksr_xval_t v;

	if (!sp)
		UNIT_FAIL("%s: %s", name, err);
	pv_get(t ? &t->ctx : NULL, sp, &v);
	pv_spec_free(sp);
	return v;
}

/* $var(r) after "$var(r) = expr;" (with a prelude of statements). */
static ksr_xval_t eval_with(const char *prelude, const char *expr)
{
	char text[2048];
	tmsg_t *t;

	snprintf(text, sizeof(text), "request_route {\n%s\n$var(r) = %s;\n}\n",
		 prelude, expr);
	CHECK_INT(run(text, &t), 1);
	return var(t, "$var(r)");
}

#define CHECK_EXPR_INT(prelude, expr, want)                                    \
	do {                                                                   \
		ksr_xval_t v_ = eval_with(prelude, expr);                      \
		if (v_.type != KSR_INT || v_.n != (want))                      \
			UNIT_FAIL("%s => type %d value %ld / \"%.*s\", "       \
				  "expected %ld",                              \
				  expr, v_.type, v_.n, (int)v_.s.len,          \
				  v_.s.s ? v_.s.s : "", (long)(want));         \
	} while (0)

#define CHECK_EXPR_STR(prelude, expr, want)                                    \
	do {                                                                   \
		ksr_xval_t v_ = eval_with(prelude, expr);                      \
		if (v_.type != KSR_STR || !str_eq_cstr(v_.s, want))            \
			UNIT_FAIL("%s => type %d \"%.*s\" (%ld), expected "    \
				  "\"%s\"",                                    \
				  expr, v_.type, (int)v_.s.len,                \
				  v_.s.s ? v_.s.s : "", v_.n, want);           \
	} while (0)

/* A condition's truth: 1 or 0. */
static long cond(const char *prelude, const char *c)
{
	char text[2048];
	tmsg_t *t;
	ksr_xval_t v;

	snprintf(text, sizeof(text),
		 "request_route {\n%s\nif (%s) { $var(c) = 1; } else { "
		 "$var(c) = 0; }\n}\n",
		 prelude, c);
	CHECK_INT(run(text, &t), 1);
	v = var(t, "$var(c)");
	CHECK_INT(v.type, KSR_INT);
	return v.n;
}

/* The configuration must fail with "PATH:line:col: ...fragment...". */
static void check_error(const char *text, int line, int col,
			const char *fragment)
{
	char err[512], want[128];
	nv_prog_t *p = compile(text, err, sizeof(err));

	if (p)
		UNIT_FAIL("compiled, expected an error with \"%s\"\n%s",
			  fragment, text);
	snprintf(want, sizeof(want), "%s:%d:%d: ", cfg_path, line, col);
	if (strncmp(err, want, strlen(want)) != 0)
		UNIT_FAIL("error \"%s\" is not at %s", err, want);
	if (!strstr(err, fragment))
		UNIT_FAIL("error \"%s\" lacks \"%s\"", err, fragment);
}

/* ---- expressions ------------------------------------------------------ */

TEST(arithmetic_and_precedence)
{
	setup();
	CHECK_EXPR_INT("", "1 + 2 * 3", 7);
	CHECK_EXPR_INT("", "(1 + 2) * 3", 9);
	CHECK_EXPR_INT("", "10 - 4 - 3", 3);
	CHECK_EXPR_INT("", "7 / 2", 3);
	CHECK_EXPR_INT("", "7 % 3", 1);
	CHECK_EXPR_INT("", "-3 + 5", 2);
	CHECK_EXPR_INT("", "2 << 3", 16);
	CHECK_EXPR_INT("", "64 >> 2", 16);
	CHECK_EXPR_INT("", "5 ^ 1", 4);
	CHECK_EXPR_INT("", "~0", -1);
	/* Kamailio: | looser than &, and both looser than comparisons */
	CHECK_EXPR_INT("", "1 | 2 & 3", 3);
	CHECK_EXPR_INT("$var(f) = 6;", "$var(f) & 4 == 4", 0);
	CHECK_EXPR_INT("$var(f) = 6;", "($var(f) & 4) == 4", 1);
	CHECK_EXPR_INT("", "1 + 2 == 3 && 2 < 3", 1);
	CHECK_EXPR_INT("$var(a) = 7; $var(b) = 2;", "$var(a) * $var(b) - 1",
		       13);
	CHECK_EXPR_INT("$var(a) = 7; $var(z) = 0;", "$var(a) / $var(z)",
		       0); /* logged, 0 */
	CHECK_EXPR_INT("$var(h) = \"0x1f\";", "$var(h) - 0", 31);
	CHECK_EXPR_STR("$var(h) = \"0x1f\";", "$var(h) + 0", "0x1f0");
}

TEST(comparisons_and_logic)
{
	setup();
	CHECK_EXPR_INT("", "3 > 2", 1);
	CHECK_EXPR_INT("", "2 >= 3", 0);
	CHECK_EXPR_INT("", "2 <= 2", 1);
	CHECK_EXPR_INT("", "1 && 0", 0);
	CHECK_EXPR_INT("", "0 || 2", 1);
	CHECK_EXPR_INT("", "!0", 1);
	CHECK_EXPR_INT("", "!\"\"", 1);
	CHECK_EXPR_INT("", "!\"a\"", 0);
	CHECK_EXPR_INT("", "\"abc\" eq \"abc\"", 1);
	CHECK_EXPR_INT("", "\"10\" ieq \"0xa\"", 1);
	CHECK_INT(cond("$var(x) = \"non-empty\";", "$var(x)"), 1);
	CHECK_INT(cond("$var(x) = \"\";", "$var(x)"), 0);
	CHECK_INT(cond("$var(x) = -1;", "$var(x)"), 1);
	CHECK_INT(cond("$var(x) = 0;", "$var(x)"), 0);
	CHECK_INT(cond("", "not 0 and 1"), 1);
}

TEST(strings_and_coercions)
{
	setup();
	CHECK_EXPR_STR("", "\"a\" + \"b\"", "ab");
	CHECK_EXPR_STR("", "\"a\" + 1", "a1");
	CHECK_EXPR_INT("", "1 + \"2\"", 3);
	CHECK_EXPR_STR("$var(s) = \"5\";", "$var(s) + 1", "51");
	CHECK_EXPR_INT("$var(n) = 5;", "$var(n) + 1", 6);
	CHECK_EXPR_INT("$var(n) = 5;", "$var(n) + \"x\"", 5);
	CHECK_EXPR_STR("", "(str)12 + 3", "123");
	CHECK_EXPR_INT("", "(int)\"12\" + 3", 15);
	CHECK_EXPR_INT("", "strlen(\"hello\")", 5);
	CHECK_EXPR_INT("", "strempty(\"\")", 1);
	/* == takes the type of its left operand */
	CHECK_INT(cond("$var(x) = \"1\";", "$var(x) == 1"), 1);
	CHECK_INT(cond("$var(x) = \"abc\";", "$var(x) == 1"), 0);
	CHECK_INT(cond("$var(x) = \"05\";", "$var(x) == 5"), 0);
	CHECK_INT(cond("$var(x) = \"05\";", "5 == $var(x)"), 1);
	CHECK_INT(cond("$var(x) = 5;", "$var(x) == \"5\""), 1);
	CHECK_INT(cond("", "0 == \"abc\""), 1);
	CHECK_INT(cond("", "\"abc\" == 0"), 0);
	CHECK_INT(cond("$var(x) = \"abc\";", "$var(x) != \"abd\""), 1);
	/* ordering is numeric */
	CHECK_INT(cond("$var(x) = \"10\";", "$var(x) > 9"), 1);
	CHECK_INT(cond("$var(s) = \"abc\";", "$var(s) < 1"), 1);
	/* a variable's own number: $rp is "5060" with 5060 */
	CHECK_INT(cond("", "$rp > 5000"), 1);
	CHECK_EXPR_INT("$var(a) = 1; $var(a) += 2;", "$var(a)", 3);
	CHECK_EXPR_STR("$var(a) = \"x\"; $var(a) += 2;", "$var(a)", "x2");
}

TEST(null_values)
{
	setup();
	CHECK_INT(cond("", "$avp(none) == $null"), 1);
	CHECK_INT(cond("", "$avp(none) == \"\""), 1);
	CHECK_INT(cond("", "$avp(none) == 0"), 1);
	CHECK_INT(cond("", "$avp(none) != $null"), 0);
	CHECK_INT(cond("$avp(s) = \"x\";", "$avp(s) == $null"), 0);
	CHECK_INT(cond("$avp(e) = \"\";", "$avp(e) == $null"), 1);
	CHECK_INT(cond("", "$hdr(X-None) == $null"), 1);
	CHECK_INT(cond("", "$hdr(X-List) == $null"), 0);
	CHECK_INT(cond("", "defined $avp(none)"), 0);
	CHECK_INT(cond("$avp(s) = 1;", "defined $avp(s)"), 1);
	CHECK_INT(cond("", "$avp(none)"), 0);
	CHECK_EXPR_STR("", "$avp(none) + \"x\"", "x");
	CHECK_EXPR_INT("", "$avp(none) - 1", -1);
	/* assigning $null unsets */
	CHECK_INT(cond("$avp(s) = 1; $avp(s) = $null;", "$avp(s) == $null"), 1);
}

TEST(regex_match)
{
	setup();
	CHECK_INT(cond("", "\"Hello\" =~ \"^hel\""), 1); /* no case */
	CHECK_INT(cond("", "\"Hello\" =~ \"xyz\""), 0);
	CHECK_INT(cond("", "\"Hello\" !~ \"xyz\""), 1);
	CHECK_INT(cond("", "\"Hello\" !~ \"LLO$\""), 0);
	CHECK_INT(cond("$var(s) = \"a123\";", "$var(s) =~ \"[[:digit:]]{3}\""),
		  1);
	CHECK_INT(cond("$var(p) = \"^b.b$\";", "\"BOB\" =~ $var(p)"), 1);
	CHECK_INT(cond("", "$ru =~ \"^sip:bob@\""), 1);
	CHECK_INT(cond("", "$rm =~ \"^(INVITE|ACK)$\""), 1);
	CHECK_INT(cond("", "1234 =~ \"^12\""), 1);
}

TEST(core_keywords)
{
	setup();
	CHECK_INT(cond("", "method == \"INVITE\""), 1);
	CHECK_INT(cond("", "method == \"ACK\""), 0);
	CHECK_INT(cond("", "uri =~ \"example\\.com\""), 1);
	CHECK_INT(cond("", "from_uri == \"sip:alice@example.org\""), 1);
	CHECK_INT(cond("", "to_uri == \"sip:bob@example.com\""), 1);
	CHECK_INT(cond("", "src_ip == 192.0.2.10"), 1);
	CHECK_INT(cond("", "src_ip == 192.0.2.0/24"), 1);
	CHECK_INT(cond("", "src_ip != 10.0.0.0/8"), 1);
	CHECK_INT(cond("", "src_ip == \"192.0.2.10\""), 1);
	CHECK_INT(cond("", "dst_ip == 10.0.0.1"), 1);
	CHECK_INT(cond("", "src_port == 5062"), 1);
	CHECK_INT(cond("", "dst_port == 5070"), 1);
	CHECK_INT(cond("", "proto == UDP"), 1);
	CHECK_INT(cond("", "proto == TCP"), 0);
	CHECK_INT(cond("", "af == INET"), 1);
	CHECK_INT(cond("", "af == INET6"), 0);
	CHECK_INT(cond("", "status == $null"), 1);
	CHECK_INT(cond("", "msg:len > 100"), 1);
}

/* ---- transformations -------------------------------------------------- */

TEST(transformations)
{
	const char *p = "$var(x) = \"Hello World\"; $var(u) = "
			"\"sip:bob:pw@example.com:5080;transport=tcp;lr\"; "
			"$var(n) = 5;";

	setup();
	CHECK_EXPR_INT(p, "$(var(x){s.len})", 11);
	CHECK_EXPR_STR(p, "$(var(x){s.substr,6,0})", "World");
	CHECK_EXPR_STR(p, "$(var(x){s.substr,0,5})", "Hello");
	CHECK_EXPR_STR(p, "$(var(x){s.substr,-5,3})", "Wor");
	CHECK_EXPR_STR(p, "$(var(x){s.substr,1,$var(n)})", "ello ");
	CHECK_EXPR_STR(p, "$(var(x){s.tolower})", "hello world");
	CHECK_EXPR_STR(p, "$(var(x){s.toupper})", "HELLO WORLD");
	CHECK_EXPR_STR(p, "$(var(x){s.select,1, })", "World");
	CHECK_EXPR_STR(p, "$(var(x){s.select,-1,o})", "rld");
	CHECK_EXPR_STR(p, "$(var(x){s.replace,o,0})", "Hell0 W0rld");
	CHECK_EXPR_INT(p, "$(var(x){s.len}) + 1", 12);
	CHECK_EXPR_STR(p, "$(var(u){uri.user})", "bob");
	CHECK_EXPR_STR(p, "$(var(u){uri.host})", "example.com");
	CHECK_EXPR_STR(p, "$(var(u){uri.port})", "5080");
	CHECK_EXPR_STR(p, "$(var(u){uri.passwd})", "pw");
	CHECK_EXPR_STR(p, "$(var(u){uri.param,transport})", "tcp");
	CHECK_EXPR_STR(p, "$(var(u){uri.transport})", "tcp");
	CHECK_EXPR_STR(p, "$(var(u){uri.params})", "transport=tcp;lr");
	CHECK_EXPR_STR(p, "$(hdr(From){nameaddr.uri})",
		       "sip:alice@example.org");
	CHECK_EXPR_STR(p, "$(hdr(From){nameaddr.name})", "\"Alice\"");
	CHECK_EXPR_STR(p, "$(hdr(From){nameaddr.uri}{uri.user}{s.toupper})",
		       "ALICE");
	CHECK_EXPR_STR(p, "$(hdr(From){tobody.tag})", "a1");
	CHECK_EXPR_STR(p, "$(hdr(X-List){param.value,b})", "two");
	CHECK_EXPR_INT(p, "$(hdr(X-List){param.count})", 3);
	CHECK_EXPR_STR(p, "$(hdr(X-List){param.name,2})", "c");
	CHECK_EXPR_INT("$var(y) = \"42abc\";", "$(var(y){s.int})", 42);
	CHECK_EXPR_STR("$var(y) = \"abc\";", "$(var(y){s.encode.hexa})",
		       "616263");
	CHECK_EXPR_STR("$var(y) = \"abc\";", "$(var(y){s.md5})",
		       "900150983cd24fb0d6963f7d28e17f72");
	CHECK_EXPR_STR("$var(y) = \" pad \";", "$(var(y){s.trim})", "pad");
	CHECK_EXPR_STR("$var(y) = \"a@b\";", "$(var(y){s.before,@})", "a");
	CHECK_EXPR_STR("$var(y) = \"a@b\";", "$(var(y){s.after,@})", "b");
	CHECK_EXPR_STR("$var(y) = \"abcdef\"; "
		       "$var(y) = $(var(y){s.substr,2,0});",
		       "$var(y)", "cdef");
	/* a null value stays null */
	CHECK_INT(cond("", "$(avp(none){s.len}) == $null"), 1);
	/* in formats too */
	{
		tmsg_t *t;

		CHECK_INT(
		    run("request_route {\n"
			"  $var(r) = \"u=\" + $(ru{uri.user}) + \" h=\" + "
			"$(ru{uri.host});\n}\n",
			&t),
		    1);
		CHECK_STRV(var(t, "$var(r)").s, "u=bob h=example.com");
	}
}

/* ---- statements ------------------------------------------------------- */

TEST(if_else_and_switch)
{
	tmsg_t *t;

	setup();
	CHECK_INT(run("request_route {\n"
		      "  $var(n) = 2;\n"
		      "  if ($var(n) == 1) { $var(r) = \"one\"; }\n"
		      "  else if ($var(n) == 2) { $var(r) = \"two\"; }\n"
		      "  else { $var(r) = \"many\"; }\n"
		      "  switch ($var(n)) {\n"
		      "  case 1: $var(s) = \"a\"; break;\n"
		      "  case 2: $var(s) = \"b\";\n"
		      "  case 3: $var(s) = $var(s) + \"c\"; break;\n"
		      "  default: $var(s) = \"d\";\n"
		      "  }\n"
		      "  switch ($rm) {\n"
		      "  case \"ACK\": $var(m) = 1; break;\n"
		      "  case \"INVITE\": $var(m) = 2; break;\n"
		      "  default: $var(m) = 3;\n"
		      "  }\n"
		      "  switch ($var(n)) { case 7: $var(d) = 0; break; "
		      "default: $var(d) = 9; }\n"
		      "}\n",
		      &t),
		  1);
	CHECK_STRV(var(t, "$var(r)").s, "two");
	CHECK_STRV(var(t, "$var(s)").s, "bc"); /* fall through */
	CHECK_INT(var(t, "$var(m)").n, 2);
	CHECK_INT(var(t, "$var(d)").n, 9);
}

TEST(while_loops)
{
	tmsg_t *t;

	setup();
	CHECK_INT(run("request_route {\n"
		      "  $var(i) = 0; $var(s) = \"\";\n"
		      "  while ($var(i) < 5) {\n"
		      "    $var(i) = $var(i) + 1;\n"
		      "    if ($var(i) == 4) { break; }\n"
		      "    $var(s) = $var(s) + $var(i);\n"
		      "  }\n"
		      "  $var(j) = 0;\n"
		      "  while (1) { $var(j) = $var(j) + 1; }\n"
		      "  $var(after) = 1;\n"
		      "}\n",
		      &t),
		  1);
	CHECK_STRV(var(t, "$var(s)").s, "123");
	CHECK_INT(var(t, "$var(i)").n, 4);
	CHECK_INT(var(t, "$var(j)").n, NV_MAX_WHILE); /* runaway stopped */
	CHECK_INT(var(t, "$var(after)").n, 1);
}

TEST(routes_and_return)
{
	tmsg_t *t;

	setup();
	CHECK_INT(
	    run("request_route {\n"
		"  if (route(POS)) { $var(a) = 1; } else { $var(a) = 0; }\n"
		"  if (route(NEG)) { $var(b) = 1; } else { $var(b) = 0; }\n"
		"  route(NEG); $var(rc) = $rc;\n"
		"  $var(c) = route(SEVEN) + 1;\n"
		"  $var(name) = \"POS\"; route($var(name));\n"
		"  $var(d) = $retcode;\n"
		"  route(ZERO);\n"
		"  $var(e) = 1;\n"
		"  return;\n"
		"  $var(f) = 1;\n"
		"}\n"
		"route[POS] { return 1; }\n"
		"route[NEG] { return -2; }\n"
		"route[SEVEN] { if (1) { return 7; } return 8; }\n"
		"route[ZERO] { return 0; }\n",
		&t),
	    1);
	CHECK_INT(var(t, "$var(a)").n, 1);
	CHECK_INT(var(t, "$var(b)").n, 0);
	CHECK_INT(var(t, "$var(rc)").n, -2);
	CHECK_INT(var(t, "$var(c)").n, 8);
	CHECK_INT(var(t, "$var(d)").n, 1);
	CHECK_INT(var(t, "$var(e)").n, 1); /* return 0 of a route: no exit */
	CHECK_INT(var(t, "$var(f)").n, 0);
}

TEST(recursion_limit)
{
	setup();
	/* a script error: the run fails (the worker answers 500) */
	CHECK_INT(run("request_route { route(LOOP); }\n"
		      "route[LOOP] { route(LOOP); }\n",
		      NULL),
		  -1);
}

TEST(exit_and_drop)
{
	tmsg_t *t;

	setup();
	CHECK_INT(run("request_route { $var(a) = 1; route(X); $var(a) = 2; }\n"
		      "route[X] { exit; }\n",
		      &t),
		  1);
	CHECK_INT(var(t, "$var(a)").n, 1);
	CHECK(!(t->ctx.flags & KSR_CTX_DROP));
	CHECK_INT(
	    run("request_route { $var(a) = 3; drop; $var(a) = 4; }\n", &t), 1);
	CHECK_INT(var(t, "$var(a)").n, 3);
	CHECK(t->ctx.flags & KSR_CTX_DROP);
}

/* ---- function calls --------------------------------------------------- */

TEST(function_return_codes)
{
	tmsg_t *t;

	setup();
	CHECK_INT(
	    run("request_route {\n"
		"  if (t_ret(1)) { $var(a) = 1; }\n"
		"  if (!t_ret(-1)) { $var(b) = 1; }\n"
		"  if (t_bool(0)) { $var(c) = 1; } else { $var(c) = 2; }\n"
		"  if (t_bool(5)) { $var(d) = 1; }\n"
		"  $var(e) = t_ret(-7);\n"
		"  $var(f) = t_val();\n"
		"  if (t_ret(3) && t_ret(-1)) { $var(g) = 1; } else "
		"{ $var(g) = 2; }\n"
		"  test.t_ret(1);\n"
		"  t_ret(0);\n" /* 0 ends the script */
		"  $var(h) = 1;\n"
		"}\n",
		&t),
	    1);
	CHECK_INT(var(t, "$var(a)").n, 1);
	CHECK_INT(var(t, "$var(b)").n, 1);
	CHECK_INT(var(t, "$var(c)").n, 2);
	CHECK_INT(var(t, "$var(d)").n, 1);
	CHECK_INT(var(t, "$var(e)").n, -7);
	CHECK_STRV(var(t, "$var(f)").s, "value");
	CHECK_INT(var(t, "$var(g)").n, 2);
	CHECK_INT(var(t, "$var(h)").n, 0);
	CHECK_INT(run("request_route { t_exit(); $var(i) = 1; }\n", &t), 1);
	CHECK_INT(var(t, "$var(i)").n, 0);
}

TEST(function_arguments)
{
	tmsg_t *t;

	setup();
	/* constants converted at start */
	CHECK_INT(run("request_route { t_args(\"text\", \"10\"); }\n", NULL),
		  1);
	CHECK_STR(got_s[0], "text");
	CHECK_INT(got_n[1], 10);
	CHECK_INT(run("request_route { t_args(42, \"0x10\"); }\n", NULL), 1);
	CHECK_STR(got_s[0], "42");
	CHECK_INT(got_n[1], 16);
	/* formats and expressions evaluated per call */
	CHECK_INT(run("request_route { $var(c) = 404; "
		      "t_args(\"$rm to $rU ($var(c))\", \"$var(c)\"); }\n",
		      NULL),
		  1);
	CHECK_STR(got_s[0], "INVITE to bob (404)");
	CHECK_INT(got_n[1], 404);
	CHECK_INT(run("request_route { $var(c) = 3; "
		      "t_args($fU + \"@\" + $fd, $var(c) * 2); }\n",
		      NULL),
		  1);
	CHECK_STR(got_s[0], "alice@example.org");
	CHECK_INT(got_n[1], 6);
	/* "$$" is a dollar; a lone "$" stays */
	CHECK_INT(
	    run("request_route { t_args(\"cost $$5 or $ 6\", 1); }\n", NULL),
	    1);
	CHECK_STR(got_s[0], "cost $5 or $ 6");
	/* real module functions by their native names */
	calls = 0;
	CHECK_INT(
	    run("request_route {\n"
		"  if (!mf_process_maxfwd_header(\"10\")) { $var(m) = 1; }\n"
		"  else { $var(m) = 2; }\n"
		"  xlog(\"L_DBG\", \"$rm from $fu\\n\");\n"
		"  xlog(\"no level\\n\");\n"
		"  if (is_method(\"INVITE\")) { $var(i) = 1; }\n"
		"  if (is_method(\"ACK|invite\")) { $var(j) = 1; }\n"
		"  if (is_method(\"ACK|BYE\")) { $var(k) = 1; }\n"
		"  if (search(\"Max-Forwards: 70|$nope\")) { $var(s) = 1; }\n"
		"}\n",
		&t),
	    1);
	CHECK_INT(var(t, "$var(m)").n, 2);
	CHECK_INT(var(t, "$var(i)").n, 1);
	CHECK_INT(var(t, "$var(j)").n, 1);
	CHECK_INT(var(t, "$var(k)").n, 0);
	CHECK_INT(var(t, "$var(s)").n, 1); /* the regex reached search as is */
	CHECK_INT(sip_get_maxfwd(&t->msg), 70);
}

/* ---- start-up errors: ten kinds and more, each at its position -------- */

TEST(compile_errors)
{
	setup();
	/* 1. unknown function */
	check_error("request_route {\n\tfoo_bar();\n}\n", 2, 2,
		    "unknown function foo_bar()");
	/* 2. wrong number of parameters */
	check_error("request_route {\n  t_ret(1, 2);\n}\n", 2, 3,
		    "t_ret() takes 1 parameter, got 2");
	/* 3. unknown pseudo-variable */
	check_error("request_route {\n  $var(r) = 1 + $foo;\n}\n", 2, 17,
		    "unknown pseudo-variable $foo");
	/* 4. unknown transformation */
	check_error("request_route {\n  $var(r) = $(var(x){s.nope});\n}\n", 2,
		    13, "unknown transformation {s.nope}");
	/* 5. assignment to a read-only variable */
	check_error("request_route {\n  $ci = \"x\";\n}\n", 2, 3,
		    "$ci is read-only");
	/* 6. a constant of the wrong type for an integer parameter */
	check_error("request_route {\n  t_ret(\"abc\");\n}\n", 2, 9,
		    "type error: parameter 1 of t_ret() must be an integer");
	/* 7. a string where an operator needs integers */
	check_error("request_route {\n  $var(r) = \"abc\" - 1;\n}\n", 2, 19,
		    "type error: '-' needs integers");
	/* 8. a regular expression that does not compile */
	check_error("request_route {\n  if ($ru =~ \"a(b\") { exit; }\n}\n", 2,
		    11, "invalid regular expression");
	/* 9. route() to a block that does not exist */
	check_error("request_route {\n  route(NOPE);\n}\n", 2, 9,
		    "route[NOPE] is not defined");
	/* 10. break outside switch and while */
	check_error("request_route {\n  break;\n}\n", 2, 3,
		    "'break' outside a switch or a while");
	/* 11. missing ';' */
	check_error("request_route {\n  t_ret(1)\n  t_ret(2);\n}\n", 3, 3,
		    "expected ';' after the function call");
	/* 12. unbalanced parenthesis */
	check_error("request_route {\n  if ($var(x) == 1 { exit; }\n}\n", 2, 20,
		    "expected ')' to close the condition");
	/* 13. duplicate case label */
	check_error("request_route {\n  switch ($var(x)) {\n  case 1: exit;\n"
		    "  case 1: exit;\n  }\n}\n",
		    4, 3, "duplicate case label");
	/* 14. mixed case labels */
	check_error("request_route {\n  switch ($var(x)) {\n  case 1: exit;\n"
		    "  case \"a\": exit;\n  }\n}\n",
		    4, 3, "mixed integer and string case labels");
	/* 15. division by a constant zero */
	check_error("request_route {\n  $var(r) = 1 / 0;\n}\n", 2, 15,
		    "division by zero");
	/* 16. 'else' without 'if' */
	check_error("request_route {\n  exit;\n  else { exit; }\n}\n", 3, 3,
		    "'else' without 'if'");
	/* 17. a function of a module that is not loaded */
	check_error("request_route {\n  t_relay();\n}\n", 2, 3,
		    "t_relay() needs module tm");
	/* 18. an unknown function's name in an expression */
	check_error("request_route {\n  if (x_nope(1) > 0) { exit; }\n}\n", 2,
		    7, "unknown function x_nope()");
	/* 19. '=' used for a comparison */
	check_error("request_route {\n  if ($var(x) = 1) { exit; }\n}\n", 2, 15,
		    "compare with '=='");
	/* 20. an expression where a statement is expected */
	check_error("request_route {\n  $var(x) == 1;\n}\n", 2, 11,
		    "expected '=' after $var(x)");
	/* 21. a bad address after src_ip == */
	check_error(
	    "request_route {\n  if (src_ip == 1.2.3.999) { exit; }\n}\n", 2, 17,
	    "bad IP address");
	/* 22. the reply route defined twice */
	check_error("request_route { exit; }\nreply_route { drop; }\n"
		    "onreply_route { drop; }\n",
		    3, 1, "same block");
}

TEST(route_name_arguments)
{
	char err[512];

	setup_with("tm");
	check_error("request_route {\n  t_on_failure(\"MISSING\");\n}\n", 2, 16,
		    "failure_route[MISSING] is not defined");
	check_error("request_route {\n  t_on_branch(\"B\");\n}\n"
		    "failure_route[B] { exit; }\n",
		    2, 15, "branch_route[B] is not defined");
	CHECK(compile("request_route { t_on_failure(\"F\"); t_on_reply(\"R\"); "
		      "t_on_branch(\"B\"); }\nfailure_route[F] { exit; }\n"
		      "onreply_route[R] { exit; }\nbranch_route[B] { exit; }\n",
		      err, sizeof(err)));
}

/* ---- robustness: mutated configurations never crash the compiler ------ */

static const char *SEED_CFG =
    "loadmodule \"sl.so\"\n"
    "request_route {\n"
    "  if (!mf_process_maxfwd_header(\"10\")) { sl_send_reply(\"483\", "
    "\"Hops\"); exit; }\n"
    "  $var(x) = $(hdr(From){nameaddr.uri}{uri.user}) + \"-\" + 1;\n"
    "  switch ($rm) { case \"INVITE\": route(R); break; default: "
    "$var(y) = -2 * (3 + $var(x)); }\n"
    "  while ($var(i) < 3 && $ru =~ \"^sip:\") { $var(i) += 1; }\n"
    "  if (src_ip == 10.0.0.0/8 || uri == myself) { drop; }\n"
    "  xlog(\"L_INFO\", \"$rm $fu\\n\");\n"
    "}\n"
    "route[R] { return t_ret(-1) + strlen(\"ab\"); }\n"
    "failure_route[F] { t_args(\"$var(x)\", \"$var(i)\"); }\n";

TEST(mutated_configs_do_not_crash)
{
	static const char pieces[] = "(){}[];,=!<>&|+-*/%$\"\\~^:.@ \n0aZ_";
	unsigned seed = 20240611;
	size_t n = strlen(SEED_CFG);
	char text[4096], err[512];
	int ok = 0, failed = 0;
	nv_prog_t *prog;

	setup_with("tm");
	for (int iter = 0; iter < 1500; iter++) {
		size_t len = n;

		memcpy(text, SEED_CFG, n + 1);
		for (int k = 0; k < 1 + iter % 4; k++) {
			size_t pos;
			int op;

			seed = seed * 1103515245u + 12345u;
			pos = (seed >> 8) % (len ? len : 1);
			op = (int)((seed >> 4) % 3);
			if (op == 0 && len) { /* delete a byte */
				memmove(text + pos, text + pos + 1, len - pos);
				len--;
			} else if (op == 1 && len + 1 < sizeof(text)) {
				memmove(text + pos + 1, text + pos,
					len - pos + 1);
				text[pos] =
				    pieces[(seed >> 16) % (sizeof(pieces) - 1)];
				len++;
			} else if (len) { /* replace */
				text[pos] =
				    pieces[(seed >> 16) % (sizeof(pieces) - 1)];
			}
		}
		if ((prog = compile(text, err, sizeof(err)))) {
			ok++;
			progs[--n_progs] = NULL;
			nv_prog_free(prog);
			continue;
		}
		failed++;
		/* every error names a position (or at least the file) */
		if (strncmp(err, cfg_path, strlen(cfg_path)) != 0)
			UNIT_FAIL("error without the file name: \"%s\"\n%s",
				  err, text);
	}
	CHECK(failed > 0);
	CHECK(ok + failed == 1500);
}

/* ---- the engine ------------------------------------------------------- */

static osp_script_t *script(unsigned gen)
{
	osp_script_t *s = calloc(1, sizeof(*s));

	CHECK(s);
	s->path = strdup(cfg_path);
	s->src = strdup("");
	s->gen = gen;
	s->refcnt = 1;
	return s;
}

static const char *BASE = "children=2\n"
			  "loadmodule \"sl.so\"\n"
			  "loadmodule \"xlog.so\"\n"
			  "modparam(\"xlog\", \"buf_size\", 4096)\n"
			  "request_route { $var(v) = 1; }\n"
			  "failure_route[F] { $var(v) = 2; }\n"
			  "branch_route[B] { $var(v) = 3; }\n"
			  "onreply_route[R] { $var(v) = 4; }\n"
			  "reply_route { $var(v) = 5; }\n"
			  "event_route[tm:branch-failure:BF] { $var(v) = 6; }\n"
			  "event_route[htable:mod-init] { $var(v) = 7; }\n";

TEST(engine_callbacks)
{
	char err[512];
	const osp_engine_t *e = &osp_engine_native;
	osp_script_t *s;
	void *inst;
	tmsg_t *t;
	static const struct {
		ksr_route_type_t rt;
		const char *fname, *arg;
		long want;
	} cases[] = {
	    {KSR_ROUTE_REQUEST, "ksr_request_route", NULL, 1},
	    {KSR_ROUTE_FAILURE, "F", NULL, 2},
	    {KSR_ROUTE_BRANCH, "B", NULL, 3},
	    {KSR_ROUTE_ONREPLY, "R", NULL, 4},
	    {KSR_ROUTE_REPLY, "ksr_reply_route", NULL, 5},
	    {KSR_ROUTE_BRANCH_FAILURE, "BF", NULL, 6},
	    {KSR_ROUTE_EVENT, "ksr_event", "htable:mod-init", 7},
	};

	setup();
	write_cfg(BASE);
	CHECK_INT(cfg_load(cfg_path, err, sizeof(err)), 0);
	s = script(1);
	inst = e->create(s, -1, err, sizeof(err));
	if (!inst)
		UNIT_FAIL("create: %s", err);
	CHECK(e->has(inst, "ksr_request_route"));
	CHECK(e->has(inst, "ksr_reply_route"));
	CHECK(!e->has(inst, "ksr_onsend_route"));
	CHECK(e->has(inst, "F"));
	CHECK(!e->has(inst, "NOPE"));
	for (size_t i = 0; i < OSP_ARRAY_LEN(cases); i++) {
		t = mkmsg(INVITE);
		t->ctx.route = cases[i].rt;
		CHECK_INT(e->run(inst, &t->ctx, cases[i].fname, cases[i].arg),
			  1);
		CHECK_INT(var(t, "$var(v)").n, cases[i].want);
	}
	t = mkmsg(INVITE);
	t->ctx.route = KSR_ROUTE_FAILURE;
	CHECK_INT(e->run(inst, &t->ctx, "NOPE", NULL), 0);
	e->destroy(inst);
	script_unref(s);
}

TEST(engine_reload_check)
{
	char err[512], text[2048];
	const osp_engine_t *e = &osp_engine_native;
	osp_script_t *s1, *s2, *s3, *s4;
	void *a, *b;

	setup();
	write_cfg(BASE);
	CHECK_INT(cfg_load(cfg_path, err, sizeof(err)), 0);
	s1 = script(1);
	a = e->create(s1, -1, err, sizeof(err));
	CHECK(a);
	/* a new route body: accepted */
	snprintf(text, sizeof(text), "%s", BASE);
	memcpy(strstr(text, "$var(v) = 1;"), "$var(v) = 9;", 12);
	write_cfg(text);
	s2 = script(2);
	b = e->create(s2, -1, err, sizeof(err));
	if (!b)
		UNIT_FAIL("reload of a route body refused: %s", err);
	/* a modparam and a global parameter changed: refused, named */
	snprintf(text, sizeof(text), "%s", BASE);
	memcpy(strstr(text, "4096"), "8192", 4);
	memcpy(strstr(text, "children=2"), "children=3", 10);
	write_cfg(text);
	s3 = script(3);
	CHECK(!e->create(s3, -1, err, sizeof(err)));
	if (!strstr(err, "modparam(\"xlog\", \"buf_size\")") ||
	    !strstr(err, "children") || !strstr(err, "restart"))
		UNIT_FAIL("unexpected message: %s", err);
	/* a module added: refused */
	snprintf(text, sizeof(text), "loadmodule \"maxfwd.so\"\n%s", BASE);
	write_cfg(text);
	s4 = script(4);
	CHECK(!e->create(s4, -1, err, sizeof(err)));
	CHECK(strstr(err, "loadmodule \"maxfwd.so\""));
	/* a syntax error: refused with its position */
	write_cfg("children=2\nloadmodule \"sl.so\"\nloadmodule \"xlog.so\"\n"
		  "modparam(\"xlog\", \"buf_size\", 4096)\n"
		  "request_route { $var(v) = ; }\n");
	CHECK(!e->create(s4, -1, err, sizeof(err)));
	CHECK(strstr(err, ":5:27: expected an expression"));
	/* the accepted generation is shared: a worker gets the same program */
	{
		void *w = e->create(s2, 0, err, sizeof(err));

		CHECK(w);
		CHECK(((nv_inst_t *)w)->prog == ((nv_inst_t *)b)->prog);
		e->destroy(w);
	}
	e->destroy(a);
	e->destroy(b);
	script_unref(s1);
	script_unref(s2);
	script_unref(s3);
	script_unref(s4);
}

TEST_LIST(TEST_ENTRY(arithmetic_and_precedence),
	  TEST_ENTRY(comparisons_and_logic), TEST_ENTRY(strings_and_coercions),
	  TEST_ENTRY(null_values), TEST_ENTRY(regex_match),
	  TEST_ENTRY(core_keywords), TEST_ENTRY(transformations),
	  TEST_ENTRY(if_else_and_switch), TEST_ENTRY(while_loops),
	  TEST_ENTRY(routes_and_return), TEST_ENTRY(recursion_limit),
	  TEST_ENTRY(exit_and_drop), TEST_ENTRY(function_return_codes),
	  TEST_ENTRY(function_arguments), TEST_ENTRY(compile_errors),
	  TEST_ENTRY(route_name_arguments),
	  TEST_ENTRY(mutated_configs_do_not_crash),
	  TEST_ENTRY(engine_callbacks), TEST_ENTRY(engine_reload_check), )
