/* test_xlog.c - KSR.xlog.*: the log lines written to stderr (captured
 * through a pipe), level filtering, level names, bad formats. */
#include <arpa/inet.h>
#include <fcntl.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "modules/pv/pv.h"
#include "unit.h"

/* stand-ins for symbols of other areas (the real ones win when linked) */
__attribute__((weak)) int net_addr_to_ip(const sip_sockaddr_t *a, char *buf,
					 size_t cap)
{
	if (!inet_ntop(AF_INET, &a->in4.sin_addr, buf, (socklen_t)cap))
		return -1;
	return (int)strlen(buf);
}

__attribute__((weak)) int net_addr_port(const sip_sockaddr_t *a)
{
	return ntohs(a->in4.sin_port);
}

__attribute__((weak)) const char *rpc_param_str(json_t *params, size_t i,
						rpc_error_t *err)
{
	return NULL;
}

__attribute__((weak)) int rpc_param_int(json_t *params, size_t i, long *out,
					rpc_error_t *err)
{
	return -1;
}

__attribute__((weak)) json_t *rpc_fail(rpc_error_t *err, int code,
				       const char *fmt, ...)
{
	return NULL;
}

extern osp_module_t osp_mod_xlog;

typedef struct tmsg {
	arena_t arena;
	sip_msg_t msg;
	ksr_ctx_t ctx;
	char buf[2048];
} tmsg_t;

static tmsg_t tm; /* static: one message per test process */

static ksr_ctx_t *mk_invite(void)
{
	static const char *text =
	    "INVITE sip:bob@example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK-1\r\n"
	    "From: <sip:alice@atlanta.example.com>;tag=f-1\r\n"
	    "To: <sip:bob@example.com>\r\n"
	    "Call-ID: xlog-1\r\n"
	    "CSeq: 7 INVITE\r\n"
	    "Content-Length: 0\r\n\r\n";
	const char *why = NULL;

	memset(&tm, 0, sizeof(tm));
	strcpy(tm.buf, text);
	arena_init(&tm.arena);
	tm.msg.arena = &tm.arena;
	if (sip_msg_parse(&tm.msg, tm.buf, strlen(tm.buf), &why) < 0)
		UNIT_FAIL("parse: %s", why ? why : "?");
	tm.msg.rcv.proto = SIP_PROTO_UDP;
	tm.msg.rcv.src.in4.sin_family = AF_INET;
	tm.msg.rcv.src.in4.sin_port = htons(5062);
	inet_pton(AF_INET, "192.0.2.10", &tm.msg.rcv.src.in4.sin_addr);
	tm.ctx.msg = &tm.msg;
	return &tm.ctx;
}

/* ---- stderr capture --------------------------------------------------- */

static int cap_pipe[2], saved_fd = -1;
static char captured[16384];

static void cap_start(void)
{
	fflush(stderr);
	CHECK(pipe(cap_pipe) == 0);
	fcntl(cap_pipe[0], F_SETFL, O_NONBLOCK);
	saved_fd = dup(2);
	CHECK(dup2(cap_pipe[1], 2) == 2);
}

static const char *cap_stop(void)
{
	ssize_t n, total = 0;

	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	close(cap_pipe[1]);
	while ((n = read(cap_pipe[0], captured + total,
			 sizeof(captured) - 1 - (size_t)total)) > 0)
		total += n;
	close(cap_pipe[0]);
	captured[total] = '\0';
	return captured;
}

static const ksr_export_t *xfn(const char *name)
{
	for (const ksr_export_t *e = osp_mod_xlog.exports; e->name; e++)
		if (strcmp(e->name, name) == 0)
			return e;
	UNIT_FAIL("no export xlog.%s", name);
}

/* KSR.xlog.<fn>(a[, b]) with stderr captured into *out. */
static int xcall(ksr_ctx_t *ctx, const char *fn, const char *a, const char *b,
		 const char **out)
{
	ksr_arg_t args[KSR_PARAMS_MAX] = {{0, {NULL, 0}}};
	ksr_xval_t ret;
	int rc;

	args[0].s = str_from(a);
	if (b)
		args[1].s = str_from(b);
	cap_start();
	rc = xfn(fn)->fn(ctx, args, &ret);
	*out = cap_stop();
	return rc;
}

#define CHECK_HAS(hay, needle)                                                 \
	do {                                                                   \
		if (!strstr((hay), (needle)))                                  \
			UNIT_FAIL("output \"%s\" lacks \"%s\"", (hay),         \
				  (needle));                                   \
	} while (0)

/* ---- tests ------------------------------------------------------------ */

TEST(xinfo_prints_variables)
{
	ksr_ctx_t *ctx = mk_invite();
	const char *out;

	osp_log_level = L_INFO;
	CHECK_INT(xcall(ctx, "xinfo", "new $rm from $fU at $si:$sp ($$1)", NULL,
			&out),
		  1);
	CHECK_HAS(out, " INFO ");
	CHECK_HAS(out,
		  "<script>: new INVITE from alice at 192.0.2.10:5062 ($1)");
	CHECK_INT(strchr(out, '\n') - out + 1, strlen(out)); /* one line */
	/* Kamailio scripts end formats with "\n": still one line */
	CHECK_INT(xcall(ctx, "xinfo", "with newline $ci\n", NULL, &out), 1);
	CHECK_HAS(out, "with newline xlog-1\n");
	CHECK_INT(strchr(out, '\n') - out + 1, strlen(out));
}

TEST(levels)
{
	ksr_ctx_t *ctx = mk_invite();
	const char *out;

	osp_log_level = L_INFO;
	/* below the log level: nothing, and still a success */
	CHECK_INT(xcall(ctx, "xdbg", "debug $ci", NULL, &out), 1);
	CHECK_STR(out, "");
	CHECK_INT(xcall(ctx, "xnotice", "n $ci", NULL, &out), 1);
	CHECK_HAS(out, " NOTICE ");
	CHECK_INT(xcall(ctx, "xwarn", "w $ci", NULL, &out), 1);
	CHECK_HAS(out, " WARNING ");
	CHECK_INT(xcall(ctx, "xerr", "e $ci", NULL, &out), 1);
	CHECK_HAS(out, " ERROR ");
	CHECK_HAS(out, "e xlog-1");
	CHECK_INT(xcall(ctx, "xcrit", "c", NULL, &out), 1);
	CHECK_HAS(out, " CRIT ");
	CHECK_INT(xcall(ctx, "xalert", "a", NULL, &out), 1);
	CHECK_HAS(out, " CRIT ");

	osp_log_level = L_DBG;
	CHECK_INT(xcall(ctx, "xdbg", "debug $ci", NULL, &out), 1);
	CHECK_HAS(out, " DEBUG ");
	CHECK_HAS(out, "debug xlog-1");
}

TEST(xlog_level_names)
{
	ksr_ctx_t *ctx = mk_invite();
	const char *out;

	osp_log_level = L_DBG;
	CHECK_INT(xcall(ctx, "xlog", "L_WARN", "cseq $cs", &out), 1);
	CHECK_HAS(out, " WARNING ");
	CHECK_HAS(out, "cseq 7");
	CHECK_INT(xcall(ctx, "xlog", "l_info", "i", &out), 1);
	CHECK_HAS(out, " INFO ");
	CHECK_INT(xcall(ctx, "xlog", "L_DBG", "d", &out), 1);
	CHECK_HAS(out, " DEBUG ");
	CHECK_INT(xcall(ctx, "xlog", "NOTICE", "n", &out), 1);
	CHECK_HAS(out, " NOTICE ");
	CHECK_INT(xcall(ctx, "xlog", "L_ALERT", "a", &out), 1);
	CHECK_HAS(out, " CRIT ");
	/* unknown level: L_ERR, as in Kamailio */
	CHECK_INT(xcall(ctx, "xlog", "L_WHATEVER", "u", &out), 1);
	CHECK_HAS(out, " ERROR ");

	osp_log_level = L_WARN;
	CHECK_INT(xcall(ctx, "xlog", "L_INFO", "hidden", &out), 1);
	CHECK_STR(out, "");
}

TEST(nulls_and_literals)
{
	ksr_ctx_t *ctx = mk_invite();
	const char *out;

	osp_log_level = L_INFO;
	CHECK_INT(
	    xcall(ctx, "xinfo", "to-tag=$tt du=$du price 5$ {$rm}", NULL, &out),
	    1);
	CHECK_HAS(out, "to-tag=<null> du=<null> price 5$ {INVITE}");
	/* no message (event route): message variables are null */
	CHECK_INT(xcall(NULL, "xinfo", "ru=$ru", NULL, &out), 1);
	CHECK_HAS(out, "ru=<null>");
}

TEST(bad_format)
{
	ksr_ctx_t *ctx = mk_invite();
	const char *out;

	osp_log_level = L_INFO;
	CHECK_INT(xcall(ctx, "xinfo", "hello $foo", NULL, &out), -1);
	CHECK_HAS(out, " ERROR ");
	CHECK_HAS(out, "unknown pseudo-variable $foo");
	CHECK(!strstr(out, "<script>: hello"));
	CHECK_INT(xcall(ctx, "xerr", "x $(hdr(Via)", NULL, &out), -1);
	CHECK_HAS(out, "unclosed");
}

TEST(colors_and_prefix)
{
	ksr_ctx_t *ctx = mk_invite();
	const char *out;
	char **prefix = NULL;

	CHECK_INT(osp_mod_xlog.init(), 0); /* registers $C */
	osp_log_level = L_INFO;
	CHECK_INT(xcall(ctx, "xinfo", "$C(rx)red$C(xx) text", NULL, &out), 1);
	CHECK_HAS(out, "<script>: red text");

	for (const osp_param_t *p = osp_mod_xlog.params; p->name; p++)
		if (strcmp(p->name, "prefix") == 0)
			prefix = p->var;
	CHECK(prefix != NULL);
	*prefix = strdup("[app] ");
	CHECK_INT(xcall(ctx, "xinfo", "m=$rm", NULL, &out), 1);
	CHECK_HAS(out, "[app] m=INVITE");
	CHECK(!strstr(out, "<script>"));
	osp_mod_xlog.destroy();
}

TEST(long_line_truncated)
{
	ksr_ctx_t *ctx = mk_invite();
	const char *out;
	static char big[6000];

	osp_log_level = L_INFO;
	memset(big, 'z', sizeof(big) - 1);
	CHECK_INT(xcall(ctx, "xinfo", big, NULL, &out), 1);
	CHECK_HAS(out, "<script>: zzzz");
	CHECK(strlen(out) < 4200);
}

TEST(format_cache_bounded)
{
	ksr_ctx_t *ctx = mk_invite();
	const char *out;
	char text[64];

	osp_log_level = L_INFO;
	for (int i = 0; i < PV_FMT_CACHE_MAX + 50; i++) {
		snprintf(text, sizeof(text), "line %d $ci", i);
		CHECK_INT(xcall(ctx, "xinfo", text, NULL, &out), 1);
	}
	CHECK_HAS(out, "line 305 xlog-1");
	CHECK_INT(pv_fmt_cache_count(), PV_FMT_CACHE_MAX);
}

TEST(exports_table)
{
	static const char *one[] = {"xdbg", "xinfo",  "xnotice", "xwarn",
				    "xerr", "xalert", "xcrit",	 NULL};

	CHECK_STR(osp_mod_xlog.name, "xlog");
	for (int i = 0; one[i]; i++) {
		const ksr_export_t *e = xfn(one[i]);

		CHECK_STR(e->module, "xlog");
		CHECK_INT(e->rtype, KSR_INT);
		CHECK_INT(e->ptypes[0], KSR_STR);
		CHECK_INT(e->ptypes[1], 0);
	}
	CHECK_INT(xfn("xlog")->ptypes[0], KSR_STR);
	CHECK_INT(xfn("xlog")->ptypes[1], KSR_STR);
	CHECK_INT(xfn("xlog")->ptypes[2], 0);
}

TEST_LIST(TEST_ENTRY(xinfo_prints_variables), TEST_ENTRY(levels),
	  TEST_ENTRY(xlog_level_names), TEST_ENTRY(nulls_and_literals),
	  TEST_ENTRY(bad_format), TEST_ENTRY(colors_and_prefix),
	  TEST_ENTRY(long_line_truncated), TEST_ENTRY(format_cache_bounded),
	  TEST_ENTRY(exports_table), )
