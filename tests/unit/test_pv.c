/* test_pv.c - pseudo-variables: parsing, every built-in variable against
 * real parsed messages, set/get round trips, formats, the per-thread
 * caches and the KSR.pv.* functions. */
#include <arpa/inet.h>
#include <pthread.h>
#include <time.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "modules/pv/pv.h"
#include "net/net.h"
#include "unit.h"

/* ---- stand-ins for symbols of other areas (the real ones win when they
 * are linked in) ------------------------------------------------------- */

__attribute__((weak)) int net_addr_to_ip(const sip_sockaddr_t *a, char *buf,
					 size_t cap)
{
	const void *src = a->sa.sa_family == AF_INET6
			      ? (const void *)&a->in6.sin6_addr
			      : (const void *)&a->in4.sin_addr;

	if (!inet_ntop(a->sa.sa_family, src, buf, (socklen_t)cap))
		return -1;
	return (int)strlen(buf);
}

__attribute__((weak)) int net_addr_port(const sip_sockaddr_t *a)
{
	return ntohs(a->sa.sa_family == AF_INET6 ? a->in6.sin6_port
						 : a->in4.sin_port);
}

__attribute__((weak)) const char *rpc_param_str(json_t *params, size_t i,
						rpc_error_t *err)
{
	json_t *v = json_array_get(params, i);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

__attribute__((weak)) int rpc_param_int(json_t *params, size_t i, long *out,
					rpc_error_t *err)
{
	json_t *v = json_array_get(params, i);

	if (!json_is_integer(v))
		return -1;
	*out = (long)json_integer_value(v);
	return 0;
}

__attribute__((weak)) json_t *rpc_fail(rpc_error_t *err, int code,
				       const char *fmt, ...)
{
	err->code = code;
	snprintf(err->message, sizeof(err->message), "%s", fmt);
	return NULL;
}

extern osp_module_t osp_mod_pv;

/* ---- helpers ---------------------------------------------------------- */

typedef struct tmsg {
	arena_t arena;
	sip_msg_t msg;
	ksr_ctx_t ctx;
	char buf[4096];
} tmsg_t;

static net_listener_t test_listener = {
    .proto = SIP_PROTO_UDP,
    .ip = "10.0.0.1",
    .host = "10.0.0.1",
    .port = 5070,
};

/* Parse text (lines ending in "\n", turned into CRLF) received over UDP
 * from 192.0.2.10:5062 on test_listener. Kept in `made` until the test
 * process exits (each test runs in its own process). */
static tmsg_t *made[16];
static int n_made;

static tmsg_t *mk(const char *text)
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
	t->msg.rcv.dst.in4.sin_port = htons(5060);
	inet_pton(AF_INET, "10.0.0.1", &t->msg.rcv.dst.in4.sin_addr);
	t->msg.rcv.listener = &test_listener;
	t->msg.id = 42;
	t->ctx.msg = &t->msg;
	t->ctx.route = KSR_ROUTE_REQUEST;
	return t;
}

static const char *INVITE =
    "INVITE sip:bob@example.com;transport=udp SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK-1\n"
    "v: SIP/2.0/UDP 192.0.2.20;branch=z9hG4bK-2\n"
    "Via: SIP/2.0/TCP 192.0.2.30;branch=z9hG4bK-3\n"
    "Max-Forwards: 70\n"
    "From: \"Alice A\" <sip:alice@atlanta.example.com>;tag=f-123\n"
    "To: <sip:bob@example.com>\n"
    "Call-ID: call-1@192.0.2.10\n"
    "CSeq: 102 INVITE\n"
    "Contact: <sip:alice@192.0.2.10:5062>\n"
    "User-Agent: TestUA/1.0\n"
    "X-Custom: one\n"
    "x-custom: two\n"
    "P-Asserted-Identity: \"Alice\" <sip:+15551234@atlanta.example.com>\n"
    "Content-Type: application/sdp\n"
    "Content-Length: 5\n"
    "\n"
    "v=0\n";

static const char *REPLY = "SIP/2.0 180 Ringing\n"
			   "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK-1\n"
			   "From: <sip:alice@atlanta.example.com>;tag=f-123\n"
			   "To: <sip:bob@example.com>;tag=t-456\n"
			   "Call-ID: call-1@192.0.2.10\n"
			   "CSeq: 102 INVITE\n"
			   "Content-Length: 0\n"
			   "\n";

static pv_spec_t *P(const char *name)
{
	char err[256];
	pv_spec_t *sp = pv_spec_parse(str_from(name), err, sizeof(err));

	if (!sp)
		UNIT_FAIL("pv_spec_parse(%s): %s", name, err);
	return sp;
}

static ksr_xval_t G(tmsg_t *t, const char *name)
{
	ksr_xval_t v;
	pv_spec_t *sp = P(name);

	CHECK_INT(pv_get(t ? &t->ctx : NULL, sp, &v), 0);
	pv_spec_free(sp);
	return v;
}

static int S(tmsg_t *t, const char *name, ksr_xval_t v)
{
	pv_spec_t *sp = P(name);
	int rc = pv_set(t ? &t->ctx : NULL, sp, &v);

	pv_spec_free(sp);
	return rc;
}

#define XS(str) ((ksr_xval_t){KSR_STR, 0, STR_LIT(str)})
#define XI(num) ((ksr_xval_t){KSR_INT, (num), STR_NULL})
#define XN	((ksr_xval_t){KSR_NULL, 0, STR_NULL})

#define CHECK_VSTR(t, name, expect)                                            \
	do {                                                                   \
		ksr_xval_t xv_ = G((t), (name));                               \
		if (xv_.type != KSR_STR)                                       \
			UNIT_FAIL("%s: type %d, expected a string", (name),    \
				  xv_.type);                                   \
		CHECK_STRV(xv_.s, (expect));                                   \
	} while (0)

#define CHECK_VINT(t, name, expect)                                            \
	do {                                                                   \
		ksr_xval_t xv_ = G((t), (name));                               \
		if (xv_.type != KSR_INT)                                       \
			UNIT_FAIL("%s: type %d, expected an int", (name),      \
				  xv_.type);                                   \
		CHECK_INT(xv_.n, (expect));                                    \
	} while (0)

#define CHECK_VNULL(t, name)                                                   \
	do {                                                                   \
		ksr_xval_t xv_ = G((t), (name));                               \
		if (xv_.type != KSR_NULL)                                      \
			UNIT_FAIL("%s: type %d, expected null", (name),        \
				  xv_.type);                                   \
	} while (0)

static void check_parse_error(const char *name, const char *fragment)
{
	char err[256] = "";
	pv_spec_t *sp = pv_spec_parse(str_from(name), err, sizeof(err));

	if (sp)
		UNIT_FAIL("'%s' parsed, expected an error", name);
	if (!strstr(err, fragment))
		UNIT_FAIL("'%s': error \"%s\" lacks \"%s\"", name, err,
			  fragment);
}

static const ksr_export_t *kx(const char *name)
{
	for (const ksr_export_t *e = osp_mod_pv.exports; e->name; e++)
		if (strcmp(e->name, name) == 0)
			return e;
	UNIT_FAIL("no export pv.%s", name);
}

/* Call KSR.pv.<fn>(name[, arg2]). */
static int kcall(tmsg_t *t, const char *fn, const char *name, ksr_arg_t a2,
		 ksr_xval_t *ret)
{
	ksr_arg_t args[KSR_PARAMS_MAX] = {{0, STR_NULL}};

	args[0].s = str_from(name);
	args[1] = a2;
	memset(ret, 0, sizeof(*ret));
	return kx(fn)->fn(t ? &t->ctx : NULL, args, ret);
}

static const ksr_arg_t NOARG = {0, {NULL, 0}};

/* ---- parsing ---------------------------------------------------------- */

TEST(parse_errors)
{
	check_parse_error("$foo", "unknown pseudo-variable $foo");
	check_parse_error("$foo(bar)", "unknown pseudo-variable $foo");
	check_parse_error("$", "without a variable name");
	check_parse_error("ru", "no leading '$'");
	check_parse_error("", "empty");
	check_parse_error("$hdr", "$hdr needs a name");
	check_parse_error("$var", "$var needs a name");
	check_parse_error("$ru(x)", "$ru takes no name");
	check_parse_error("$(ru[1])", "$ru does not take an index");
	check_parse_error("$(ru{s.nope})", "unknown transformation");
	check_parse_error("$ru x", "unexpected");
	check_parse_error("$(hdr(Via)", "unclosed '('");
	check_parse_error("$hdr(Via", "unclosed '('");
	check_parse_error("$(hdr(Via)[x])", "bad index");
	check_parse_error("$(hdr(Via)[])", "empty index");
	check_parse_error("$hdr(Bad Name)", "invalid header name");
	check_parse_error("$hdr()", "empty name");
	check_parse_error("$var($var(x))", "does not accept a variable");
	check_parse_error("$hdr($nope)", "unknown pseudo-variable $nope");
}

TEST(parse_forms)
{
	pv_spec_t *sp;

	sp = P("$(hdr(Via)[1])");
	CHECK_INT(sp->idx_type, PV_IDX_INT);
	CHECK_INT(sp->idx, 1);
	CHECK_STRV(sp->name, "Via");
	pv_spec_free(sp);
	sp = P("$(hdr(Via)[-1])");
	CHECK_INT(sp->idx, -1);
	pv_spec_free(sp);
	sp = P("$(avp(x)[*])");
	CHECK_INT(sp->idx_type, PV_IDX_ALL);
	pv_spec_free(sp);
	sp = P("$(avp(x)[$var(i)])");
	CHECK_INT(sp->idx_type, PV_IDX_PVAR);
	CHECK(sp->idx_pv != NULL);
	pv_spec_free(sp);
	sp = P("$(ru)");
	CHECK_STR(sp->cls->name, "ru");
	CHECK(sp->trans == NULL);
	pv_spec_free(sp);
	sp = P("$hdr($var(h))");
	CHECK(sp->name_pv != NULL);
	pv_spec_free(sp);
	sp = P("$T_branch_idx");
	CHECK_STR(sp->text, "$T_branch_idx");
	pv_spec_free(sp);
}

/* ---- message variables ------------------------------------------------ */

TEST(request_uri)
{
	tmsg_t *t = mk(INVITE);
	ksr_xval_t v;

	CHECK_VSTR(t, "$ru", "sip:bob@example.com;transport=udp");
	CHECK_VSTR(t, "$ou", "sip:bob@example.com;transport=udp");
	CHECK_VSTR(t, "$rU", "bob");
	CHECK_VSTR(t, "$rd", "example.com");
	v = G(t, "$rp");
	CHECK_INT(v.type, KSR_STR);
	CHECK_STRV(v.s, "5060");
	CHECK_INT(v.n, 5060);
	CHECK_INT(pv_value_int(&v), 5060);
	CHECK_VSTR(t, "$rz", "sip");
	CHECK_VSTR(t, "$rv", "SIP/2.0");
	CHECK_VNULL(t, "$du");
}

TEST(request_uri_sips_default_port)
{
	tmsg_t *t = mk("OPTIONS sips:srv.example.com SIP/2.0\n"
		       "Via: SIP/2.0/TLS 192.0.2.10;branch=z9hG4bK-9\n"
		       "From: <sip:a@b>;tag=1\nTo: <sip:c@d>\n"
		       "Call-ID: x\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n");

	CHECK_VNULL(t, "$rU");
	CHECK_VSTR(t, "$rd", "srv.example.com");
	CHECK_VSTR(t, "$rp", "5061");
	CHECK_VSTR(t, "$rz", "sips");
	CHECK_VNULL(t, "$ct");
	CHECK_VNULL(t, "$ua");
	CHECK_VNULL(t, "$ai");
	CHECK_VINT(t, "$cl", 0);
	CHECK_VSTR(t, "$rb", "");
	CHECK_VINT(t, "$bs", 0);
}

TEST(from_to)
{
	tmsg_t *t = mk(INVITE);

	CHECK_VSTR(t, "$fu", "sip:alice@atlanta.example.com");
	CHECK_VSTR(t, "$from", "sip:alice@atlanta.example.com");
	CHECK_VSTR(t, "$fU", "alice");
	CHECK_VSTR(t, "$fd", "atlanta.example.com");
	CHECK_VSTR(t, "$fn", "\"Alice A\"");
	CHECK_VSTR(t, "$ft", "f-123");
	CHECK_VSTR(t, "$tu", "sip:bob@example.com");
	CHECK_VSTR(t, "$tU", "bob");
	CHECK_VSTR(t, "$td", "example.com");
	CHECK_VNULL(t, "$tt"); /* no To tag */
	CHECK_VNULL(t, "$tn"); /* no display name */
}

TEST(headers_and_body)
{
	tmsg_t *t = mk(INVITE);
	ksr_xval_t v;

	CHECK_VSTR(t, "$ci", "call-1@192.0.2.10");
	v = G(t, "$cs");
	CHECK_INT(v.type, KSR_STR); /* text, as in Kamailio */
	CHECK_STRV(v.s, "102");
	CHECK_INT(pv_value_int(&v), 102);
	v = G(t, "$rm");
	CHECK_INT(v.type, KSR_STR);
	CHECK_STRV(v.s, "INVITE");
	CHECK_INT(v.n, SIP_METHOD_INVITE);
	CHECK_VSTR(t, "$ua", "TestUA/1.0");
	CHECK_VSTR(t, "$ct", "<sip:alice@192.0.2.10:5062>");
	CHECK_VSTR(t, "$cT", "application/sdp");
	CHECK_VINT(t, "$cl", 5);
	CHECK_VSTR(t, "$rb", "v=0\r\n");
	CHECK_VINT(t, "$bs", 5);
	CHECK_VSTR(t, "$ai", "sip:+15551234@atlanta.example.com");
	CHECK_VINT(t, "$ml", (long)t->msg.len);
	v = G(t, "$mb");
	CHECK_INT(v.s.len, t->msg.len);
	CHECK(v.s.s == t->msg.buf);
	CHECK_VINT(t, "$mi", 42);
	CHECK_VINT(t, "$mt", 1);
	CHECK_VNULL(t, "$rs");
	CHECK_VNULL(t, "$rr");
	CHECK_VINT(t, "$T_branch_idx", 0);
	CHECK_VNULL(t, "$null");
}

TEST(reply_vars)
{
	tmsg_t *t = mk(REPLY);
	ksr_xval_t v;

	CHECK_VINT(t, "$rs", 180);
	CHECK_VSTR(t, "$rr", "Ringing");
	v = G(t, "$rm"); /* the CSeq method */
	CHECK_STRV(v.s, "INVITE");
	CHECK_INT(v.n, SIP_METHOD_INVITE);
	CHECK_VNULL(t, "$ru");
	CHECK_VNULL(t, "$rU");
	CHECK_VNULL(t, "$rd");
	CHECK_VNULL(t, "$ou");
	CHECK_VSTR(t, "$tt", "t-456");
	CHECK_VINT(t, "$mt", 2);
	CHECK_VSTR(t, "$rv", "SIP/2.0");
	CHECK(S(t, "$ru", XS("sip:x@y")) < 0);
	CHECK(S(t, "$rU", XS("x")) < 0);
}

TEST(receive_info)
{
	tmsg_t *t = mk(INVITE);
	ksr_xval_t v;

	CHECK_VSTR(t, "$si", "192.0.2.10");
	CHECK_VINT(t, "$sp", 5062);
	CHECK_VSTR(t, "$Ri", "10.0.0.1");
	CHECK_VINT(t, "$Rp", 5070);
	v = G(t, "$pr");
	CHECK_STRV(v.s, "udp");
	CHECK_INT(v.n, SIP_PROTO_UDP);
	CHECK_VSTR(t, "$proto", "udp");

	/* no listener: the socket's local address */
	t->msg.rcv.listener = NULL;
	CHECK_VINT(t, "$Rp", 5060);
	CHECK_VSTR(t, "$Ri", "10.0.0.1");

	t->msg.rcv.proto = SIP_PROTO_TCP;
	CHECK_VSTR(t, "$pr", "tcp");
	t->msg.rcv.proto = SIP_PROTO_WSS;
	CHECK_VSTR(t, "$pr", "wss");

	memset(&t->msg.rcv.src, 0, sizeof(t->msg.rcv.src));
	t->msg.rcv.src.in6.sin6_family = AF_INET6;
	t->msg.rcv.src.in6.sin6_port = htons(5999);
	inet_pton(AF_INET6, "2001:db8::1", &t->msg.rcv.src.in6.sin6_addr);
	CHECK_VSTR(t, "$si", "2001:db8::1");
	CHECK_VINT(t, "$sp", 5999);

	/* no message at all: null, not a crash */
	CHECK_VNULL(NULL, "$si");
	CHECK_VNULL(NULL, "$ru");
	CHECK_VNULL(NULL, "$hdr(Via)");
}

TEST(hdr)
{
	tmsg_t *t = mk(INVITE);
	ksr_xval_t v;

	CHECK_VSTR(t, "$hdr(Via)",
		   "SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK-1");
	/* compact and long forms find each other */
	CHECK_VSTR(t, "$(hdr(Via)[1])",
		   "SIP/2.0/UDP 192.0.2.20;branch=z9hG4bK-2");
	CHECK_VSTR(t, "$(hdr(v)[2])",
		   "SIP/2.0/TCP 192.0.2.30;branch=z9hG4bK-3");
	CHECK_VSTR(t, "$(hdr(Via)[-1])",
		   "SIP/2.0/TCP 192.0.2.30;branch=z9hG4bK-3");
	CHECK_VSTR(t, "$(hdr(Via)[-3])",
		   "SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK-1");
	CHECK_VNULL(t, "$(hdr(Via)[3])");
	CHECK_VNULL(t, "$(hdr(Via)[-4])");
	CHECK_VSTR(t, "$(hdr(X-Custom)[*])", "one,two");
	CHECK_VSTR(t, "$hdr(x-CUSTOM)", "one");
	CHECK_VSTR(t, "$(hdr(Via)[*])",
		   "SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK-1,"
		   "SIP/2.0/UDP 192.0.2.20;branch=z9hG4bK-2,"
		   "SIP/2.0/TCP 192.0.2.30;branch=z9hG4bK-3");
	CHECK_VNULL(t, "$hdr(X-Missing)");
	CHECK_VNULL(t, "$(hdr(X-Missing)[*])");
	CHECK_VSTR(t, "$hdr(*)",
		   "SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK-1");
	CHECK_VINT(t, "$hdrc(Via)", 3);
	CHECK_VINT(t, "$hdrc(X-Custom)", 2);
	CHECK_VINT(t, "$hdrc(X-Missing)", 0);
	CHECK_VSTR(t, "$hdr(Call-ID)", "call-1@192.0.2.10");
	CHECK_VSTR(t, "$hdr(i)", "call-1@192.0.2.10");

	/* dynamic names and indexes */
	CHECK_INT(S(t, "$var(h)", XS("User-Agent")), 0);
	CHECK_VSTR(t, "$hdr($var(h))", "TestUA/1.0");
	CHECK_INT(S(t, "$var(i)", XI(1)), 0);
	CHECK_VSTR(t, "$(hdr(X-Custom)[$var(i)])", "two");
	CHECK_INT(S(t, "$var(i)", XS("-1")), 0);
	CHECK_VSTR(t, "$(hdr(X-Custom)[$var(i)])", "two");
	/* read-only */
	CHECK(S(t, "$hdr(X-Custom)", XS("x")) < 0);
	v = G(t, "$hdr(X-Custom)");
	CHECK_STRV(v.s, "one");
}

TEST(auth_vars)
{
	tmsg_t *t = mk(
	    "REGISTER sip:example.com SIP/2.0\n"
	    "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-5\n"
	    "From: <sip:alice@example.com>;tag=1\nTo: <sip:alice@example.com>\n"
	    "Call-ID: r1\nCSeq: 2 REGISTER\n"
	    "Authorization: Digest username=\"alice@example.com\", "
	    "realm=\"example.com\", nonce=\"abc\", uri=\"sip:example.com\", "
	    "response=\"0123456789abcdef0123456789abcdef\"\n"
	    "Content-Length: 0\n\n");

	CHECK_VSTR(t, "$aU", "alice@example.com");
	CHECK_VSTR(t, "$au", "alice");
	CHECK_VSTR(t, "$ad", "example.com");
	CHECK_VSTR(t, "$ar", "example.com");
	t = mk(INVITE);
	CHECK_VNULL(t, "$au");
	CHECK_VNULL(t, "$ar");
}

/* ---- writing the request URI and $du ---------------------------------- */

TEST(ruri_set)
{
	tmsg_t *t = mk(INVITE);

	CHECK_INT(S(t, "$rU", XS("carol")), 0);
	CHECK_VSTR(t, "$ru", "sip:carol@example.com;transport=udp");
	CHECK_VSTR(t, "$ou", "sip:bob@example.com;transport=udp");
	CHECK_INT(S(t, "$rd", XS("biloxi.example.com")), 0);
	CHECK_VSTR(t, "$ru", "sip:carol@biloxi.example.com;transport=udp");
	CHECK_INT(S(t, "$rp", XI(5080)), 0);
	CHECK_VSTR(t, "$ru", "sip:carol@biloxi.example.com:5080;transport=udp");
	CHECK_VINT(t, "$hdrc(Via)", 3);
	{
		ksr_xval_t v = G(t, "$rp");

		CHECK_STRV(v.s, "5080");
		CHECK_INT(v.n, 5080);
	}
	CHECK_INT(S(t, "$rp", XS("5090")), 0);
	CHECK_VSTR(t, "$ru", "sip:carol@biloxi.example.com:5090;transport=udp");
	CHECK_INT(S(t, "$rp", XN), 0);
	CHECK_VSTR(t, "$ru", "sip:carol@biloxi.example.com;transport=udp");
	CHECK_INT(S(t, "$rU", XN), 0);
	CHECK_VSTR(t, "$ru", "sip:biloxi.example.com;transport=udp");
	CHECK_VNULL(t, "$rU");
	CHECK_INT(S(t, "$rU", XS("dave")), 0);
	CHECK_VSTR(t, "$ru", "sip:dave@biloxi.example.com;transport=udp");

	CHECK_INT(S(t, "$ru", XS("sips:eve@10.1.1.1:5061")), 0);
	CHECK_VSTR(t, "$ru", "sips:eve@10.1.1.1:5061");
	CHECK_VSTR(t, "$rU", "eve");
	CHECK_VSTR(t, "$rz", "sips");

	/* bad values */
	CHECK(S(t, "$ru", XN) < 0);
	CHECK(S(t, "$ru", XI(3)) < 0);
	CHECK(S(t, "$ru", XS("not a uri")) < 0);
	CHECK(S(t, "$rd", XN) < 0);
	CHECK(S(t, "$rd", XS("")) < 0);
	CHECK(S(t, "$rp", XS("abc")) < 0);
	CHECK(S(t, "$rp", XI(70000)) < 0);
	CHECK(S(t, "$rU", XI(7)) < 0);
	CHECK_VSTR(t, "$ru", "sips:eve@10.1.1.1:5061");
}

TEST(du_set)
{
	tmsg_t *t = mk(INVITE);
	char src[] = "sip:proxy.example.com:5070;transport=tcp";

	CHECK_VNULL(t, "$du");
	CHECK_INT(S(t, "$du", ((ksr_xval_t){KSR_STR, 0, str_from(src)})), 0);
	src[0] = 'X'; /* the value was copied */
	CHECK_VSTR(t, "$du", "sip:proxy.example.com:5070;transport=tcp");
	CHECK_INT(S(t, "$du", XN), 0);
	CHECK_VNULL(t, "$du");
	CHECK_INT(t->msg.dst_uri.len, 0);
	CHECK(S(t, "$du", XI(1)) < 0);
}

TEST(read_only)
{
	static const char *ro[] = {
	    "$ci", "$fu", "$fU", "$tu", "$tt", "$cs",	    "$rm", "$si", "$sp",
	    "$pr", "$ua", "$rs", "$mb", "$Ts", "$hdr(Via)", "$ou", NULL};
	tmsg_t *t = mk(INVITE);

	for (int i = 0; ro[i]; i++) {
		pv_spec_t *sp = P(ro[i]);
		ksr_xval_t v = XS("x");

		CHECK(!pv_is_writable(sp));
		if (pv_set(&t->ctx, sp, &v) != -OSP_EINVAL)
			UNIT_FAIL("%s accepted a write", ro[i]);
		pv_spec_free(sp);
	}
	CHECK_VSTR(t, "$ci", "call-1@192.0.2.10");
	for (int i = 0; i < 3; i++) {
		pv_spec_t *sp = P(i == 0 ? "$ru" : i == 1 ? "$var(x)" : "$du");

		CHECK(pv_is_writable(sp));
		pv_spec_free(sp);
	}
}

/* ---- flags ------------------------------------------------------------ */

TEST(flags)
{
	tmsg_t *t = mk(INVITE);

	CHECK_VINT(t, "$mf", 0);
	CHECK_INT(S(t, "$mf", XI(10)), 0);
	CHECK_VINT(t, "$mf", 10);
	CHECK_INT(t->msg.flags, 10);
	CHECK_VSTR(t, "$mF", "0000000a");
	CHECK_VINT(t, "$flags", 10);
	CHECK_INT(S(t, "$bf", XI(0x100)), 0);
	CHECK_INT(t->msg.bflags, 0x100);
	CHECK_VSTR(t, "$bF", "00000100");
	CHECK_INT(S(t, "$sf", XI(3)), 0);
	CHECK_INT(t->ctx.sflags, 3);
	CHECK(S(t, "$mf", XS("3")) < 0);
	CHECK_INT(S(t, "$mf", XN), 0);
	CHECK_INT(t->msg.flags, 0);
}

/* ---- $var ------------------------------------------------------------- */

static void *thread_read_var(void *arg)
{
	ksr_xval_t *out = arg;

	*out = G(NULL, "$var(shared_name)");
	pv_thread_cleanup();
	return NULL;
}

TEST(var)
{
	tmsg_t *t = mk(INVITE), *t2 = mk(REPLY);
	pthread_t th;
	ksr_xval_t other;

	/* never null: 0 until set */
	CHECK_VINT(t, "$var(x)", 0);
	CHECK_INT(S(t, "$var(x)", XI(-17)), 0);
	CHECK_VINT(t, "$var(x)", -17);
	CHECK_INT(S(t, "$var(x)", XS("hello")), 0);
	CHECK_VSTR(t, "$var(x)", "hello");
	/* kept across messages on the same thread */
	CHECK_VSTR(t2, "$var(x)", "hello");
	CHECK_VSTR(NULL, "$var(x)", "hello");
	CHECK_INT(S(t, "$var(x)", XS("")), 0);
	CHECK_VSTR(t, "$var(x)", "");
	CHECK_INT(S(t, "$var(x)", XN), 0);
	CHECK_VINT(t, "$var(x)", 0);
	/* a long value */
	{
		char big[5000];
		ksr_xval_t v;

		memset(big, 'a', sizeof(big));
		v = (ksr_xval_t){KSR_STR, 0, {big, sizeof(big)}};
		CHECK_INT(S(t, "$var(big)", v), 0);
		v = G(t, "$var(big)");
		CHECK_INT(v.s.len, sizeof(big));
		CHECK(memcmp(v.s.s, big, sizeof(big)) == 0);
	}
	/* names are case-sensitive and distinct */
	CHECK_INT(S(t, "$var(A)", XI(1)), 0);
	CHECK_INT(S(t, "$var(a)", XI(2)), 0);
	CHECK_VINT(t, "$var(A)", 1);
	CHECK_VINT(t, "$var(a)", 2);

	/* per thread: another worker does not see this thread's value */
	CHECK_INT(S(t, "$var(shared_name)", XI(99)), 0);
	CHECK_INT(pthread_create(&th, NULL, thread_read_var, &other), 0);
	pthread_join(th, NULL);
	CHECK_INT(other.type, KSR_INT);
	CHECK_INT(other.n, 0);
	CHECK_VINT(t, "$var(shared_name)", 99);
}

/* ---- $avp ------------------------------------------------------------- */

TEST(avp)
{
	tmsg_t *t = mk(INVITE), *t2 = mk(INVITE);

	CHECK_VNULL(t, "$avp(x)");
	CHECK_INT(S(t, "$avp(x)", XS("a")), 0);
	CHECK_INT(S(t, "$avp(x)", XI(2)), 0);
	CHECK_INT(S(t, "$avp(s:x)", XS("c")), 0);
	CHECK_VSTR(t, "$avp(x)", "c");
	CHECK_VSTR(t, "$avp(X)", "c"); /* names are case-insensitive */
	CHECK_VINT(t, "$(avp(x)[1])", 2);
	CHECK_VSTR(t, "$(avp(x)[2])", "a");
	CHECK_VSTR(t, "$(avp(x)[-1])", "a");
	CHECK_VNULL(t, "$(avp(x)[3])");
	CHECK_VSTR(t, "$(avp(x)[*])", "c, 2, a");
	CHECK_INT(pv_avp_count(&t->msg, STR_LIT("x")), 3);
	/* per message */
	CHECK_VNULL(t2, "$avp(x)");
	CHECK_VNULL(NULL, "$avp(x)");
	/* unset removes the newest; [*] = null removes all */
	CHECK_INT(S(t, "$avp(x)", XN), 0);
	CHECK_VINT(t, "$avp(x)", 2);
	CHECK_INT(S(t, "$(avp(x)[*])", XS("only")), 0);
	CHECK_VSTR(t, "$(avp(x)[*])", "only");
	CHECK_INT(S(t, "$(avp(x)[*])", XN), 0);
	CHECK_VNULL(t, "$avp(x)");
	CHECK_INT(pv_avp_count(&t->msg, STR_LIT("x")), 0);
	/* dynamic name */
	CHECK_INT(S(t, "$var(an)", XS("RECEIVED")), 0);
	CHECK_INT(S(t, "$avp($var(an))", XS("sip:192.0.2.10:5062")), 0);
	CHECK_VSTR(t, "$avp(received)", "sip:192.0.2.10:5062");
	/* C API used by other modules */
	{
		ksr_xval_t v, in = XS("z");

		CHECK_INT(pv_avp_add(&t->msg, STR_LIT("k"), &in), 0);
		CHECK_INT(pv_avp_get(&t->msg, STR_LIT("K"), 0, &v), 0);
		CHECK_STRV(v.s, "z");
		CHECK_INT(pv_avp_get(&t->msg, STR_LIT("k"), 1, &v),
			  -OSP_ENOTFOUND);
		CHECK_INT(pv_avp_del(&t->msg, STR_LIT("k"), 1), 1);
	}
}

/* ---- $shv ------------------------------------------------------------- */

static void *thread_shv(void *arg)
{
	ksr_xval_t *out = arg;
	ksr_xval_t v = G(NULL, "$shv(counter)");
	static char copy[64];

	/* copy out: the ring buffer belongs to this thread */
	if (v.type == KSR_STR) {
		snprintf(copy, sizeof(copy), "%.*s", STR_FMT(v.s));
		v.s = str_from(copy);
	}
	*out = v;
	S(NULL, "$shv(from_thread)", XI(7));
	pv_thread_cleanup();
	return NULL;
}

TEST(shv)
{
	tmsg_t *t = mk(INVITE);
	pthread_t th;
	ksr_xval_t other, v;
	char src[] = "shared text";
	char buf[8];

	CHECK_VINT(t, "$shv(counter)", 0);
	CHECK_INT(
	    S(t, "$shv(counter)", ((ksr_xval_t){KSR_STR, 0, str_from(src)})),
	    0);
	src[0] = 'X'; /* copied in */
	CHECK_VSTR(t, "$shv(counter)", "shared text");
	CHECK_INT(pthread_create(&th, NULL, thread_shv, &other), 0);
	pthread_join(th, NULL);
	CHECK_INT(other.type, KSR_STR);
	CHECK_STRV(other.s, "shared text");
	CHECK_VINT(t, "$shv(from_thread)", 7);
	CHECK_INT(S(t, "$shv(counter)", XN), 0);
	CHECK_VINT(t, "$shv(counter)", 0);
	/* C API */
	CHECK_INT(pv_shv_set(STR_LIT("api"),
			     &(ksr_xval_t){KSR_STR, 0, STR_LIT("0123456789")}),
		  0);
	CHECK_INT(pv_shv_get(STR_LIT("api"), &v, buf, sizeof(buf)), 0);
	CHECK_STRV(v.s, "0123456"); /* truncated to the buffer */
	CHECK_INT(pv_shv_get(STR_LIT("nope"), &v, buf, sizeof(buf)),
		  -OSP_ENOTFOUND);
	CHECK_INT(v.type, KSR_NULL);
}

/* ---- formats ---------------------------------------------------------- */

static const char *fmt(tmsg_t *t, const char *f, char *buf, size_t cap)
{
	char err[256];
	pv_fmt_t *pf = pv_fmt_parse(str_from(f), err, sizeof(err));
	str_t out;

	if (!pf)
		UNIT_FAIL("pv_fmt_parse(%s): %s", f, err);
	CHECK(pv_fmt_eval(t ? &t->ctx : NULL, pf, buf, cap, &out) >= 0);
	CHECK_INT(out.len, strlen(buf));
	pv_fmt_free(pf);
	return buf;
}

TEST(formats)
{
	tmsg_t *t = mk(INVITE);
	char buf[512], err[256];
	pv_fmt_t *f;
	str_t out;

	CHECK_STR(fmt(t, "$rm from $fu to $ru", buf, sizeof(buf)),
		  "INVITE from sip:alice@atlanta.example.com to "
		  "sip:bob@example.com;transport=udp");
	CHECK_STR(fmt(t, "{$rm}", buf, sizeof(buf)), "{INVITE}");
	CHECK_STR(fmt(t, "LUA {$rm}: ", buf, sizeof(buf)), "LUA {INVITE}: ");
	CHECK_STR(fmt(t, "port $sp, to-tag $tt", buf, sizeof(buf)),
		  "port 5062, to-tag <null>");
	CHECK_STR(fmt(t, "cost $$5 and 5$", buf, sizeof(buf)),
		  "cost $5 and 5$");
	CHECK_STR(fmt(t, "a $ b $, c", buf, sizeof(buf)), "a $ b $, c");
	CHECK_STR(fmt(t, "request from $si.", buf, sizeof(buf)),
		  "request from 192.0.2.10.");
	CHECK_STR(fmt(t, "$(hdr(Via)[1])|$hdr(X-Custom)", buf, sizeof(buf)),
		  "SIP/2.0/UDP 192.0.2.20;branch=z9hG4bK-2|one");
	CHECK_STR(fmt(t, "", buf, sizeof(buf)), "");
	CHECK_STR(fmt(t, "plain", buf, sizeof(buf)), "plain");
	CHECK_STR(fmt(NULL, "no msg: $ru", buf, sizeof(buf)), "no msg: <null>");
	S(t, "$var(n)", XI(-5));
	CHECK_STR(fmt(t, "$var(n)$var(n)", buf, sizeof(buf)), "-5-5");

	f = pv_fmt_parse(STR_LIT("static text"), err, sizeof(err));
	CHECK(pv_fmt_is_static(f));
	pv_fmt_free(f);
	f = pv_fmt_parse(STR_LIT("x $ru"), err, sizeof(err));
	CHECK(!pv_fmt_is_static(f));

	/* truncation: reported, text cut and NUL-terminated */
	CHECK_INT(pv_fmt_eval(&t->ctx, f, buf, 8, &out), -OSP_ETOOBIG);
	CHECK_STR(buf, "x sip:b");
	CHECK_INT(out.len, 7);
	pv_fmt_free(f);

	/* errors */
	CHECK(pv_fmt_parse(STR_LIT("hello $foo"), err, sizeof(err)) == NULL);
	CHECK(strstr(err, "unknown pseudo-variable $foo") != NULL);
	CHECK(pv_fmt_parse(STR_LIT("x $(hdr(a)"), err, sizeof(err)) == NULL);
	CHECK(strstr(err, "unclosed") != NULL);
	CHECK(pv_fmt_parse(STR_LIT("$hdr"), err, sizeof(err)) == NULL);
	CHECK(strstr(err, "needs a name") != NULL);
}

/* ---- caches ----------------------------------------------------------- */

TEST(spec_cache)
{
	char err[256], name[64];
	const pv_spec_t *a, *b;
	tmsg_t *t = mk(INVITE);
	ksr_xval_t v;

	a = pv_spec_cached(STR_LIT("$ru"), err, sizeof(err));
	b = pv_spec_cached(STR_LIT("$ru"), err, sizeof(err));
	CHECK(a && a == b);
	CHECK_INT(pv_spec_cache_count(), 1);
	CHECK(pv_spec_cached(STR_LIT("$nope"), err, sizeof(err)) == NULL);
	CHECK(strstr(err, "unknown pseudo-variable $nope") != NULL);
	CHECK_INT(pv_spec_cache_count(), 1); /* failures are not cached */

	/* names built at run time cannot grow the cache without bound */
	for (int i = 0; i < 3 * PV_SPEC_CACHE_MAX; i++) {
		snprintf(name, sizeof(name), "$hdr(X-H%d)", i);
		a = pv_spec_cached(str_from(name), err, sizeof(err));
		CHECK(a != NULL);
		CHECK(pv_spec_cache_count() <= PV_SPEC_CACHE_MAX);
	}
	CHECK_INT(pv_spec_cache_count(), PV_SPEC_CACHE_MAX);
	/* still correct after evictions */
	a = pv_spec_cached(STR_LIT("$ru"), err, sizeof(err));
	CHECK_INT(pv_get(&t->ctx, a, &v), 0);
	CHECK_STRV(v.s, "sip:bob@example.com;transport=udp");
}

TEST(fmt_cache)
{
	char err[256], text[64];
	const pv_fmt_t *a, *b;

	a = pv_fmt_cached(STR_LIT("m=$rm"), err, sizeof(err));
	b = pv_fmt_cached(STR_LIT("m=$rm"), err, sizeof(err));
	CHECK(a && a == b);
	for (int i = 0; i < 3 * PV_FMT_CACHE_MAX; i++) {
		snprintf(text, sizeof(text), "line %d from $si", i);
		CHECK(pv_fmt_cached(str_from(text), err, sizeof(err)) != NULL);
		CHECK(pv_fmt_cache_count() <= PV_FMT_CACHE_MAX);
	}
	CHECK_INT(pv_fmt_cache_count(), PV_FMT_CACHE_MAX);
	CHECK(pv_fmt_cached(STR_LIT("bad $foo"), err, sizeof(err)) == NULL);
	CHECK_INT(pv_fmt_cache_count(), PV_FMT_CACHE_MAX);
}

/* ---- KSR.pv.* --------------------------------------------------------- */

TEST(ksr_pv)
{
	tmsg_t *t = mk(INVITE);
	ksr_xval_t r;
	ksr_arg_t a2;

	CHECK_INT(kcall(t, "get", "$ru", NOARG, &r), 1);
	CHECK_INT(r.type, KSR_STR);
	CHECK_STRV(r.s, "sip:bob@example.com;transport=udp");
	kcall(t, "get", "$sp", NOARG, &r);
	CHECK_INT(r.type, KSR_INT);
	CHECK_INT(r.n, 5062);

	/* null handling of each getter */
	kcall(t, "get", "$tt", NOARG, &r);
	CHECK_INT(r.type, KSR_NULL);
	kcall(t, "gete", "$tt", NOARG, &r);
	CHECK_INT(r.type, KSR_STR);
	CHECK_STRV(r.s, "");
	kcall(t, "getw", "$tt", NOARG, &r);
	CHECK_STRV(r.s, "<null>");
	a2 = (ksr_arg_t){7, STR_NULL};
	kcall(t, "getvn", "$tt", a2, &r);
	CHECK_INT(r.type, KSR_INT);
	CHECK_INT(r.n, 7);
	kcall(t, "getvn", "$ft", a2, &r);
	CHECK_STRV(r.s, "f-123");
	a2 = (ksr_arg_t){0, STR_LIT("dflt")};
	kcall(t, "getvs", "$tt", a2, &r);
	CHECK_STRV(r.s, "dflt");
	CHECK_INT(kcall(t, "geti", "$tt", NOARG, &r), 0);
	CHECK_INT(kcall(t, "geti", "$cs", NOARG, &r), 102);
	CHECK_INT(kcall(t, "geti", "$rm", NOARG, &r), SIP_METHOD_INVITE);
	CHECK_INT(kcall(t, "geti", "$sp", NOARG, &r), 5062);
	CHECK_INT(kcall(t, "geti", "$fU", NOARG, &r), 0); /* not a number */

	/* invalid names: logged, then null / false */
	kcall(t, "get", "$bogus", NOARG, &r);
	CHECK_INT(r.type, KSR_NULL);
	kcall(t, "gete", "$ru junk", NOARG, &r);
	CHECK_STRV(r.s, "");
	CHECK_INT(kcall(t, "is_null", "$bogus", NOARG, &r), 1);
	CHECK_INT(kcall(t, "sets", "$bogus", (ksr_arg_t){0, STR_LIT("x")}, &r),
		  0);

	/* setters are booleans: 1 true, 0 false */
	CHECK_INT(kcall(t, "seti", "$var(a)", (ksr_arg_t){5, STR_NULL}, &r), 1);
	CHECK_INT(kcall(t, "geti", "$var(a)", NOARG, &r), 5);
	CHECK_INT(
	    kcall(t, "sets", "$var(a)", (ksr_arg_t){0, STR_LIT("txt")}, &r), 1);
	kcall(t, "get", "$var(a)", NOARG, &r);
	CHECK_STRV(r.s, "txt");
	CHECK_INT(kcall(t, "sets", "$ci", (ksr_arg_t){0, STR_LIT("x")}, &r), 0);
	CHECK_INT(kcall(t, "seti", "$ru", (ksr_arg_t){1, STR_NULL}, &r), 0);
	CHECK_INT(kcall(t, "sets", "$ru",
			(ksr_arg_t){0, STR_LIT("sip:z@example.org")}, &r),
		  1);
	kcall(t, "get", "$ru", NOARG, &r);
	CHECK_STRV(r.s, "sip:z@example.org");
	CHECK_INT(kcall(t, "unset", "$var(a)", NOARG, &r), 1);
	kcall(t, "get", "$var(a)", NOARG, &r);
	CHECK_INT(r.type, KSR_INT);
	CHECK_INT(r.n, 0);
	CHECK_INT(kcall(t, "is_null", "$var(a)", NOARG, &r), 0);
	CHECK_INT(kcall(t, "is_null", "$tt", NOARG, &r), 1);
	CHECK_INT(kcall(t, "is_null", "$ft", NOARG, &r), 0);
	CHECK_INT(kcall(t, "sets", "$avp(v)", (ksr_arg_t){0, STR_LIT("1")}, &r),
		  1);
	CHECK_INT(kcall(t, "is_null", "$avp(v)", NOARG, &r), 0);
	CHECK_INT(kcall(t, "unset", "$avp(v)", NOARG, &r), 1);
	CHECK_INT(kcall(t, "is_null", "$avp(v)", NOARG, &r), 1);
	CHECK_INT(kcall(t, "unset", "$ci", NOARG, &r), 0);
	/* "$$" reads as a dollar */
	kcall(t, "get", "$$", NOARG, &r);
	CHECK_STRV(r.s, "$");
}

TEST(ksr_exports_table)
{
	static const struct {
		const char *name;
		ksr_type_t rtype;
		int nparams;
	} want[] = {
	    {"get", KSR_XVAL, 1},   {"getw", KSR_XVAL, 1},
	    {"gete", KSR_XVAL, 1},  {"getvn", KSR_XVAL, 2},
	    {"getvs", KSR_XVAL, 2}, {"geti", KSR_INT, 1},
	    {"seti", KSR_BOOL, 2},  {"sets", KSR_BOOL, 2},
	    {"unset", KSR_BOOL, 1}, {"is_null", KSR_BOOL, 1},
	};

	CHECK_STR(osp_mod_pv.name, "pv");
	CHECK_INT(osp_mod_pv.always, 1);
	for (size_t i = 0; i < OSP_ARRAY_LEN(want); i++) {
		const ksr_export_t *e = kx(want[i].name);
		int n = 0;

		CHECK_STR(e->module, "pv");
		CHECK_INT(e->rtype, want[i].rtype);
		while (n < KSR_PARAMS_MAX && e->ptypes[n])
			n++;
		CHECK_INT(n, want[i].nparams);
	}
}

/* ---- time ------------------------------------------------------------- */

TEST(time_vars)
{
	tmsg_t *t = mk(INVITE);
	time_t now = time(NULL);
	ksr_xval_t a, b;

	a = G(t, "$Ts");
	CHECK_INT(a.type, KSR_INT);
	CHECK(a.n >= now - 1 && a.n <= now + 1);
	b = G(t, "$Ts");
	CHECK_INT(a.n, b.n); /* one time per message */
	b = G(t, "$TS");
	CHECK(b.n > 0 && b.n <= a.n);
	b = G(t, "$Tf");
	CHECK_INT(b.type, KSR_STR);
	CHECK_INT(b.s.len, 24); /* "Wed Jun 30 21:49:08 1993" */
}

/* ---- module parameters and RPC ---------------------------------------- */

static const osp_param_t *mparam(const char *name)
{
	for (const osp_param_t *p = osp_mod_pv.params; p->name; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	UNIT_FAIL("no modparam %s", name);
}

static const rpc_export_t *mrpc(const char *name)
{
	for (const rpc_export_t *r = osp_mod_pv.rpc; r->name; r++)
		if (strcmp(r->name, name) == 0)
			return r;
	UNIT_FAIL("no rpc %s", name);
}

TEST(modparams)
{
	char err[128] = "";

	CHECK_INT(mparam("shvset")->set("shvset", MP_STR, "maxcalls=i:120", 0,
					err, sizeof(err)),
		  0);
	CHECK_INT(mparam("shvset")->set("shvset", MP_STR, "motd=s:hi there", 0,
					err, sizeof(err)),
		  0);
	CHECK_VINT(NULL, "$shv(maxcalls)", 120);
	CHECK_VSTR(NULL, "$shv(motd)", "hi there");
	CHECK_INT(mparam("varset")->set("varset", MP_STR, "greeting=s:hello", 0,
					err, sizeof(err)),
		  0);
	CHECK_INT(mparam("varset")->set("varset", MP_STR, "limit=i:-3", 0, err,
					sizeof(err)),
		  0);
	CHECK_VSTR(NULL, "$var(greeting)", "hello");
	CHECK_VINT(NULL, "$var(limit)", -3);
	CHECK(mparam("shvset")->set("shvset", MP_STR, "novalue", 0, err,
				    sizeof(err)) < 0);
	CHECK(strstr(err, "name=s:text") != NULL);
	CHECK(mparam("shvset")->set("shvset", MP_STR, "n=i:abc", 0, err,
				    sizeof(err)) < 0);
	CHECK(mparam("varset")->set("varset", MP_STR, "n=x:1", 0, err,
				    sizeof(err)) < 0);
}

TEST(rpc_shv)
{
	rpc_error_t err = {0, ""};
	json_t *p, *r;

	pv_shv_set(STR_LIT("calls"), &(ksr_xval_t){KSR_INT, 3, STR_NULL});
	p = json_pack("[s]", "calls");
	r = mrpc("pv.shvGet")->fn(p, &err);
	CHECK(r != NULL);
	CHECK_STR(json_string_value(json_object_get(r, "type")), "int");
	CHECK_INT(json_integer_value(json_object_get(r, "value")), 3);
	json_decref(r);
	json_decref(p);

	p = json_pack("[s, s, s]", "calls", "str", "many");
	r = mrpc("pv.shvSet")->fn(p, &err);
	CHECK(r != NULL);
	json_decref(r);
	json_decref(p);
	CHECK_VSTR(NULL, "$shv(calls)", "many");

	p = json_pack("[s, s, i]", "unknown", "int", 1);
	r = mrpc("pv.shvSet")->fn(p, &err);
	CHECK(r == NULL);
	CHECK_INT(err.code, 404);
	json_decref(p);

	p = json_array();
	r = mrpc("pv.shvGet")->fn(p, &err);
	CHECK(json_is_array(r));
	CHECK_INT(json_array_size(r), 1);
	json_decref(r);
	json_decref(p);
}

/* ---- extension -------------------------------------------------------- */

static int get_seven(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	return ksr_xval_int(out, 7) ? 0 : -1;
}

static const pv_class_t ext_classes[] = {
    {"T_branch_idx", get_seven, NULL, 0, 0, NULL, NULL},
    {"x_test", get_seven, NULL, 0, 0, NULL, NULL},
    {NULL, NULL, NULL, 0, 0, NULL, NULL},
};

TEST(register_classes)
{
	CHECK_VINT(NULL, "$T_branch_idx", 0);
	CHECK_INT(pv_register_classes(ext_classes), 0);
	CHECK_VINT(NULL, "$T_branch_idx", 7); /* the module's class wins */
	CHECK_VINT(NULL, "$x_test", 7);
}

TEST_LIST(TEST_ENTRY(parse_errors), TEST_ENTRY(parse_forms),
	  TEST_ENTRY(request_uri), TEST_ENTRY(request_uri_sips_default_port),
	  TEST_ENTRY(from_to), TEST_ENTRY(headers_and_body),
	  TEST_ENTRY(reply_vars), TEST_ENTRY(receive_info), TEST_ENTRY(hdr),
	  TEST_ENTRY(auth_vars), TEST_ENTRY(ruri_set), TEST_ENTRY(du_set),
	  TEST_ENTRY(read_only), TEST_ENTRY(flags), TEST_ENTRY(var),
	  TEST_ENTRY(avp), TEST_ENTRY(shv), TEST_ENTRY(formats),
	  TEST_ENTRY(spec_cache), TEST_ENTRY(fmt_cache), TEST_ENTRY(ksr_pv),
	  TEST_ENTRY(ksr_exports_table), TEST_ENTRY(time_vars),
	  TEST_ENTRY(modparams), TEST_ENTRY(rpc_shv),
	  TEST_ENTRY(register_classes), )
