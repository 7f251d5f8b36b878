/* test_mods_kx.c - KSR.kx getters (Kamailio's kemix): values, and what
 * each variant returns when the value is missing. */
#include <stdlib.h>

#include "core/globals.h"
#include "net/net.h"
#include "test_mods_util.h"

extern osp_module_t osp_mod_kx;
#define M (&osp_mod_kx)

/* Stand-in for the configuration's define table: CFG_DEF is defined
 * there with a value; everything else is unknown to it. */
__attribute__((weak)) int cfg_defined(const char *name, const char **value)
{
	if (strcmp(name, "CFG_DEF") != 0)
		return 0;
	if (value)
		*value = "from-cfg";
	return 1;
}

static const char *INVITE =
    "INVITE sip:bob@example.com:5070;transport=tcp SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"
    "From: \"Alice\" <sip:alice@atlanta.example.com>;tag=a1\r\n"
    "To: <sip:bob@example.com>\r\n"
    "Call-ID: c1@192.0.2.10\r\n"
    "CSeq: 7 INVITE\r\n"
    "Contact: <sip:alice@192.0.2.10:5062>;expires=60\r\n"
    "User-Agent: Phone/1.0\r\n"
    "Proxy-Authorization: Digest username=\"alice@atlanta.example.com\","
    " realm=\"example.com\", nonce=\"n\", uri=\"sip:bob@example.com\","
    " response=\"0123456789abcdef0123456789abcdef\"\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 5\r\n"
    "\r\n"
    "hello";

static const char *REPLY =
    "SIP/2.0 486 Busy Here\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"
    "From: <sip:alice@example.com>;tag=a1\r\n"
    "To: sip:bob@example.com;tag=b1\r\n"
    "Call-ID: c1\r\n"
    "CSeq: 7 INVITE\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

TEST(uris)
{
	tmsg_t t;
	ksr_xval_t x;

	tmsg_parse(&t, INVITE);
	kcall(&t, M, "get_ruri", &x);
	CHECK_XSTR(x, "sip:bob@example.com:5070;transport=tcp");
	kcall(&t, M, "get_ruser", &x);
	CHECK_XSTR(x, "bob");
	kcall(&t, M, "get_rhost", &x);
	CHECK_XSTR(x, "example.com");
	kcall(&t, M, "get_furi", &x);
	CHECK_XSTR(x, "sip:alice@atlanta.example.com");
	kcall(&t, M, "get_fuser", &x);
	CHECK_XSTR(x, "alice");
	kcall(&t, M, "gete_fhost", &x);
	CHECK_XSTR(x, "atlanta.example.com");
	kcall(&t, M, "get_turi", &x);
	CHECK_XSTR(x, "sip:bob@example.com");
	kcall(&t, M, "getw_tuser", &x);
	CHECK_XSTR(x, "bob");
	kcall(&t, M, "get_thost", &x);
	CHECK_XSTR(x, "example.com");
	kcall(&t, M, "get_cturi", &x);
	CHECK_XSTR(x, "sip:alice@192.0.2.10:5062");
	/* rewritten R-URI: get_ruri follows, get_ouri does not */
	CHECK_INT(sip_set_ruri(&t.msg, STR_LIT("sip:carol@example.net")), 0);
	kcall(&t, M, "get_ruri", &x);
	CHECK_XSTR(x, "sip:carol@example.net");
	kcall(&t, M, "get_ouri", &x);
	CHECK_XSTR(x, "sip:bob@example.com:5070;transport=tcp");
	kcall(&t, M, "get_ruser", &x);
	CHECK_XSTR(x, "carol");
	/* $du unset: null / "" / "<null>"; nhuri falls back to the R-URI */
	kcall(&t, M, "get_duri", &x);
	CHECK_XNULL(x);
	kcall(&t, M, "gete_duri", &x);
	CHECK_XSTR(x, "");
	kcall(&t, M, "getw_duri", &x);
	CHECK_XSTR(x, "<null>");
	kcall(&t, M, "get_nhuri", &x);
	CHECK_XSTR(x, "sip:carol@example.net");
	t.msg.dst_uri = STR_LIT("sip:10.0.0.9:5080");
	kcall(&t, M, "get_nhuri", &x);
	CHECK_XSTR(x, "sip:10.0.0.9:5080");
	tmsg_free(&t);
}

TEST(headers_and_body)
{
	tmsg_t t;
	ksr_xval_t x;

	tmsg_parse(&t, INVITE);
	kcall(&t, M, "get_ua", &x);
	CHECK_XSTR(x, "Phone/1.0");
	kcall(&t, M, "get_callid", &x);
	CHECK_XSTR(x, "c1@192.0.2.10");
	kcall(&t, M, "get_method", &x);
	CHECK_XSTR(x, "INVITE");
	kcall(&t, M, "get_au", &x);
	CHECK_XSTR(x, "alice");
	kcall(&t, M, "get_body", &x);
	CHECK_XSTR(x, "hello");
	CHECK_INT(kcall(&t, M, "get_bodylen", NULL), 5);
	CHECK_INT(kcall(&t, M, "get_msglen", NULL), (long)strlen(INVITE));
	kcall(&t, M, "get_msgbuf", &x);
	CHECK_XSTR(x, INVITE);
	CHECK_INT(kcall(&t, M, "get_msgtype", NULL), 1);
	CHECK_INT(kcall(&t, M, "get_status", NULL), -1);
	kcall(&t, M, "gets_status", &x);
	CHECK_XNULL(x);
	tmsg_free(&t);
}

TEST(reply_and_missing)
{
	tmsg_t t;
	ksr_xval_t x;

	tmsg_parse(&t, REPLY);
	CHECK_INT(kcall(&t, M, "get_status", NULL), 486);
	kcall(&t, M, "gets_status", &x);
	CHECK_XSTR(x, "486");
	kcall(&t, M, "get_method", &x);
	CHECK_XSTR(x, "INVITE"); /* from CSeq */
	CHECK_INT(kcall(&t, M, "get_msgtype", NULL), 2);
	kcall(&t, M, "get_ruri", &x);
	CHECK_XNULL(x);
	kcall(&t, M, "gete_ruser", &x);
	CHECK_XSTR(x, "");
	kcall(&t, M, "get_ua", &x);
	CHECK_XNULL(x);
	kcall(&t, M, "gete_ua", &x);
	CHECK_XSTR(x, "");
	kcall(&t, M, "getw_ua", &x);
	CHECK_XSTR(x, "<null>");
	kcall(&t, M, "get_au", &x);
	CHECK_XNULL(x);
	kcall(&t, M, "getw_cturi", &x);
	CHECK_XSTR(x, "<null>");
	kcall(&t, M, "get_body", &x);
	CHECK_XNULL(x);
	kcall(&t, M, "gete_body", &x);
	CHECK_XSTR(x, "");
	kcall(&t, M, "get_tuser", &x);
	CHECK_XSTR(x, "bob");
	tmsg_free(&t);
}

TEST(addresses)
{
	tmsg_t t;
	ksr_xval_t x;
	net_listener_t l;

	tmsg_parse(&t, INVITE);
	kcall(&t, M, "get_srcip", &x);
	CHECK_XSTR(x, "192.0.2.10");
	kcall(&t, M, "get_srcport", &x);
	CHECK_XINT(x, 5062);
	kcall(&t, M, "get_srcuri", &x);
	CHECK_XSTR(x, "sip:192.0.2.10:5062");
	kcall(&t, M, "get_proto", &x);
	CHECK_XSTR(x, "udp");
	CHECK_INT(kcall(&t, M, "get_protoid", NULL), 1);
	CHECK_INT(kcall(&t, M, "get_conid", NULL), -1);
	/* without a listener: the local address of the datagram */
	kcall(&t, M, "get_rcvip", &x);
	CHECK_XSTR(x, "127.0.0.1");
	kcall(&t, M, "get_rcvport", &x);
	CHECK_XINT(x, 5060);
	memset(&l, 0, sizeof(l));
	strcpy(l.ip, "10.0.0.1");
	l.port = 5080;
	strcpy(l.adv_host, "203.0.113.1");
	t.msg.rcv.listener = &l;
	kcall(&t, M, "get_rcvip", &x);
	CHECK_XSTR(x, "10.0.0.1");
	kcall(&t, M, "get_rcvport", &x);
	CHECK_XINT(x, 5080);
	kcall(&t, M, "get_rcvadvip", &x);
	CHECK_XSTR(x, "203.0.113.1");
	kcall(&t, M, "get_rcvadvport", &x);
	CHECK_XINT(x, 5080);
	kcall(&t, M, "get_send_sock", &x);
	CHECK_XNULL(x);
	CHECK_INT(kcall(&t, M, "get_send_sock_port", NULL), 0);
	/* IPv6 over TLS, on a connection */
	t.msg.rcv.proto = SIP_PROTO_TLS;
	t.msg.rcv.conn_id = 42;
	memset(&t.msg.rcv.src, 0, sizeof(t.msg.rcv.src));
	t.msg.rcv.src.in6.sin6_family = AF_INET6;
	t.msg.rcv.src.in6.sin6_port = htons(5061);
	inet_pton(AF_INET6, "2001:db8::1", &t.msg.rcv.src.in6.sin6_addr);
	kcall(&t, M, "get_srcip", &x);
	CHECK_XSTR(x, "2001:db8::1");
	kcall(&t, M, "get_srcuri", &x);
	CHECK_XSTR(x, "sip:[2001:db8::1]:5061;transport=tls");
	kcall(&t, M, "get_proto", &x);
	CHECK_XSTR(x, "tls");
	CHECK_INT(kcall(&t, M, "get_protoid", NULL), 3);
	CHECK_INT(kcall(&t, M, "get_conid", NULL), 42);
	tmsg_free(&t);
}

TEST(defines_and_env)
{
	tmsg_t t;
	ksr_xval_t x;
	char d1[] = "WITH_AUTH", d2[] = "DBPORT=3306", d3[] = "NAME=osprey";

	osp_g.defines[0] = d1;
	osp_g.defines[1] = d2;
	osp_g.defines[2] = d3;
	osp_g.n_defines = 3;
	memset(&t, 0, sizeof(t)); /* no message needed */
	CHECK_INT(kcall(&t, M, "ifdef", NULL, "WITH_AUTH"), 1);
	CHECK_INT(kcall(&t, M, "ifdef", NULL, "CFG_DEF"), 1);
	CHECK_INT(kcall(&t, M, "ifdef", NULL, "WITH_AUTH_X"), 0);
	CHECK_INT(kcall(&t, M, "ifndef", NULL, "WITH_NAT"), 1);
	CHECK_INT(kcall(&t, M, "ifndef", NULL, "WITH_AUTH"), 0);
	kcall(&t, M, "get_def", &x, "NAME");
	CHECK_XSTR(x, "osprey");
	kcall(&t, M, "get_def", &x, "CFG_DEF");
	CHECK_XSTR(x, "from-cfg");
	kcall(&t, M, "get_def", &x, "WITH_AUTH");
	CHECK_XSTR(x, "");
	kcall(&t, M, "get_def", &x, "UNDEFINED");
	CHECK_XSTR(x, "");
	CHECK_INT(kcall(&t, M, "get_defn", NULL, "DBPORT"), 3306);
	CHECK_INT(kcall(&t, M, "get_defn", NULL, "NAME"), 0);
	CHECK_INT(kcall(&t, M, "get_defn", NULL, "UNDEFINED"), 0);
	setenv("OSP_TEST_ENV", "-12", 1);
	kcall(&t, M, "get_env", &x, "OSP_TEST_ENV");
	CHECK_XSTR(x, "-12");
	CHECK_INT(kcall(&t, M, "get_envn", NULL, "OSP_TEST_ENV"), -12);
	kcall(&t, M, "get_env", &x, "OSP_TEST_NO_SUCH_ENV");
	CHECK_XSTR(x, "");
	CHECK(kcall(&t, M, "get_timestamp", NULL) > 1600000000);
	/* without a message: null getters, no crash */
	kcall(&t, M, "get_ruri", &x);
	CHECK_XNULL(x);
	kcall(&t, M, "gete_fuser", &x);
	CHECK_XSTR(x, "");
	kcall(&t, M, "get_callid", &x);
	CHECK_XSTR(x, "");
	CHECK_INT(kcall(&t, M, "get_status", NULL), -1);
}

TEST(table)
{
	int n = 0;

	CHECK_STR(osp_mod_kx.name, "kemix");
	for (const ksr_export_t *e = osp_mod_kx.exports; e->name; e++) {
		CHECK_STR(e->module, "kx");
		n++;
	}
	CHECK_INT(n, 67);
	CHECK_INT(kfind(M, "get_srcport")->rtype, KSR_XVAL);
	CHECK_INT(kfind(M, "get_status")->rtype, KSR_INT);
	CHECK_INT(kfind(M, "ifdef")->rtype, KSR_BOOL);
}

/* clang-format off */
TEST_LIST(
	TEST_ENTRY(uris),
	TEST_ENTRY(headers_and_body),
	TEST_ENTRY(reply_and_missing),
	TEST_ENTRY(addresses),
	TEST_ENTRY(defines_and_env),
	TEST_ENTRY(table),
)
/* clang-format on */
