/* test_mods_sanity.c - KSR.sanity: each check bit on a message that fails
 * it, the reply sent (code, reason, headers) and the return code; the
 * noreply mode with sanity_reply(). */
#include "test_mods_util.h"

extern osp_module_t osp_mod_sanity;
#define M (&osp_mod_sanity)

/* A request with the given first line and extra headers, and a body. */
#define REQX(line, hdrs, cl, body)                                             \
	line "\r\n"                                                            \
	     "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"            \
	     "From: <sip:alice@example.com>;tag=a1\r\n"                        \
	     "To: <sip:bob@example.com>\r\n"                                   \
	     "Call-ID: c1\r\n" hdrs "Content-Length: " cl "\r\n"               \
	     "\r\n" body

#define INV(hdrs)                                                              \
	REQX("INVITE sip:bob@example.com SIP/2.0", "CSeq: 1 INVITE\r\n" hdrs,  \
	     "0", "")

/* The checks of Kamailio's example scripts. */
#define L_REQ_CHECKS 17895L /* 1511 + VIA1 (16384) */
#define L_RPL_CHECKS 17604L

static int *param_int(const char *name)
{
	for (const osp_param_t *p = osp_mod_sanity.params; p->name; p++)
		if (strcmp(p->name, name) == 0)
			return p->var;
	UNIT_FAIL("no modparam %s", name);
	return NULL;
}

static char **param_str(const char *name)
{
	for (const osp_param_t *p = osp_mod_sanity.params; p->name; p++)
		if (strcmp(p->name, name) == 0)
			return p->var;
	UNIT_FAIL("no modparam %s", name);
	return NULL;
}

/* Run sanity_check(mc, uc) on text; expect rc and, when code > 0, one
 * reply with that code and reason (code 0: no reply). */
static void expect(const char *text, long mc, long uc, int rc, int code,
		   const char *reason)
{
	tmsg_t t;

	tmsg_parse(&t, text);
	CHECK_INT(kcall(&t, M, "sanity_check", NULL, mc, uc), rc);
	if (code) {
		CHECK_INT(sent.count, 1);
		CHECK_INT(sent.code, code);
		CHECK_STR(sent.reason, reason);
	} else {
		CHECK_INT(sent.count, 0);
	}
	tmsg_free(&t);
}

TEST(good_request_passes)
{
	expect(INV(""), L_REQ_CHECKS, 7L, 1, 0, NULL);
	expect(INV(""), 32767L, 15L, 1, 0, NULL); /* every check */
	expect(REQX("MESSAGE sip:bob@example.com SIP/2.0",
		    "CSeq: 2 MESSAGE\r\nContent-Type: text/plain\r\n", "5",
		    "hello"),
	       L_REQ_CHECKS, 7L, 1, 0, NULL);
}

TEST(ruri_version_and_scheme)
{
	tmsg_t t;

	/* the parser refuses other versions already; the check is kept for
	 * a message that made it through (version rewritten here) */
	tmsg_parse(&t, INV(""));
	t.msg.version = STR_LIT("SIP/3.0");
	CHECK_INT(kcall(&t, M, "sanity_check", NULL, 1L, 7L), -1);
	CHECK_INT(sent.code, 505);
	CHECK_STR(sent.reason, "Version Not Supported (R-URI)");
	tmsg_free(&t);
	expect(INV(""), 1L, 7L, 1, 0, NULL);
	expect(REQX("INVITE http://example.com/ SIP/2.0", "CSeq: 1 INVITE\r\n",
		    "0", ""),
	       2L, 7L, -1, 400, "Bad Request URI");
	/* without the bit, no check */
	expect(REQX("INVITE http://example.com/ SIP/2.0", "CSeq: 1 INVITE\r\n",
		    "0", ""),
	       4L, 7L, 1, 0, NULL);
}

TEST(required_headers)
{
	/* missing CSeq: fails without a reply (cannot answer) */
	expect(REQX("INVITE sip:bob@example.com SIP/2.0", "", "0", ""), 4L, 7L,
	       -1, 0, NULL);
	/* duplicated Call-ID: fails, no reply either */
	expect(INV("Call-ID: c2\r\n"), 4L, 7L, -1, 0, NULL);
}

TEST(cseq)
{
	expect(REQX("INVITE sip:bob@example.com SIP/2.0", "CSeq: 1 BYE\r\n",
		    "0", ""),
	       32L, 7L, -1, 400, "CSeq method does not match request method");
	expect(REQX("INVITE sip:bob@example.com SIP/2.0",
		    "CSeq: 99999999999 INVITE\r\n", "0", ""),
	       64L, 7L, -1, 400, "CSeq number is illegal");
	expect(REQX("INVITE sip:bob@example.com SIP/2.0",
		    "CSeq: 4294967295 INVITE\r\n", "0", ""),
	       64L, 7L, 1, 0, NULL);
}

TEST(content_length)
{
	tmsg_t t;

	/* a datagram with more bytes than Content-Length announces */
	tmsg_parse(&t, REQX("MESSAGE sip:bob@example.com SIP/2.0",
			    "CSeq: 2 MESSAGE\r\n", "3", "hello"));
	CHECK_INT(kcall(&t, M, "sanity_check", NULL, 128L, 7L), -1);
	CHECK_INT(sent.code, 400);
	CHECK_STR(sent.reason, "Content-Length mis-match");
	tmsg_free(&t);
	expect(REQX("MESSAGE sip:bob@example.com SIP/2.0",
		    "CSeq: 2 MESSAGE\r\n", "5", "hello"),
	       128L, 7L, 1, 0, NULL);
}

TEST(expires)
{
	expect(INV("Expires: soon\r\n"), 256L, 7L, -1, 400,
	       "Expires value is illegal");
	expect(INV("Expires: 3600\r\n"), 256L, 7L, 1, 0, NULL);
}

TEST(proxy_require)
{
	char **pr = param_str("proxy_require");

	expect(INV("Proxy-Require: foo, bar\r\n"), 512L, 7L, -1, 420,
	       "Bad Proxy Require Extension");
	CHECK_STR(sent.reply_adds, "Unsupported: foo\r\n");
	*pr = (char *)"foo,bar";
	expect(INV("Proxy-Require: foo, bar\r\n"), 512L, 7L, 1, 0, NULL);
	*pr = (char *)"foo";
	expect(INV("Proxy-Require: foo, bar\r\n"), 512L, 7L, -1, 420,
	       "Bad Proxy Require Extension");
	CHECK_STR(sent.reply_adds, "Unsupported: bar\r\n");
	*pr = NULL;
}

TEST(parse_uris)
{
	expect(REQX("INVITE sip:bob@example.com SIP/2.0",
		    "CSeq: 1 INVITE\r\nContact: <sip:alice@192.0.2.10>\r\n",
		    "0", ""),
	       1024L, 15L, 1, 0, NULL);
	expect(REQX("INVITE sip:bob@example.com SIP/2.0",
		    "CSeq: 1 INVITE\r\nContact: <http://x>\r\n", "0", ""),
	       1024L, 8L, -1, 400, "Bad Contact URI");
	expect(REQX("INVITE sip:bob@example.com SIP/2.0",
		    "CSeq: 1 INVITE\r\nContact: <sip:a@b\r\n", "0", ""),
	       1024L, 8L, -1, 400, "Bad Contact Header");
	/* contact checks only with uri bit 8 */
	expect(REQX("INVITE sip:bob@example.com SIP/2.0",
		    "CSeq: 1 INVITE\r\nContact: <http://x>\r\n", "0", ""),
	       1024L, 7L, 1, 0, NULL);
}

TEST(digest)
{
	const char *good = "Authorization: Digest username=\"alice\", "
			   "realm=\"example.com\", nonce=\"abc\", "
			   "uri=\"sip:bob@example.com\", "
			   "response=\"0123456789abcdef0123456789abcdef\"\r\n";
	char buf[1024];

	snprintf(buf, sizeof(buf), INV("%s"), good);
	expect(buf, 2048L, 7L, 1, 0, NULL);
	snprintf(buf, sizeof(buf), INV("%s"),
		 "Authorization: Digest username=\"alice\", realm=\"x\", "
		 "uri=\"sip:b@x\", response=\"r\"\r\n"); /* no nonce */
	expect(buf, 2048L, 7L, -1, 400, "Bad Auth Credentials");
	/* not Digest: the digest check fails, the authorization one not */
	snprintf(buf, sizeof(buf), INV("%s"),
		 "Authorization: Basic YWxpY2U6c2VjcmV0\r\n");
	expect(buf, 2048L, 7L, -1, 0, NULL);
	expect(buf, 8192L, 7L, 1, 0, NULL);
}

TEST(duplicated_tags)
{
	expect(
	    REQX("BYE sip:bob@example.com SIP/2.0", "CSeq: 3 BYE\r\n", "0", ""),
	    4096L, 7L, 1, 0, NULL);
	expect("BYE sip:bob@example.com SIP/2.0\r\n"
	       "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"
	       "From: <sip:alice@example.com>;tag=a1;tag=a2\r\n"
	       "To: <sip:bob@example.com>;tag=b\r\n"
	       "Call-ID: c1\r\nCSeq: 3 BYE\r\nContent-Length: 0\r\n\r\n",
	       4096L, 7L, -1, 400, "Many From Tag Params");
}

TEST(ack_and_replies_get_no_answer)
{
	expect(REQX("ACK sip:bob@example.com SIP/2.0", "CSeq: 1 INVITE\r\n",
		    "0", ""),
	       32L, 7L, -1, 0, NULL);
	/* replies: the example's reply checks pass on a good reply */
	expect("SIP/2.0 180 Ringing\r\n"
	       "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"
	       "From: <sip:alice@example.com>;tag=a1\r\n"
	       "To: <sip:bob@example.com>;tag=b\r\n"
	       "Call-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
	       L_RPL_CHECKS, 6L, 1, 0, NULL);
	expect("SIP/2.0 180 Ringing\r\n"
	       "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"
	       "From: <sip:alice@example.com>;tag=a1\r\n"
	       "To: <sip:bob@example.com>;tag=b\r\n"
	       "Call-ID: c1\r\nCSeq: x INVITE\r\nContent-Length: 0\r\n\r\n",
	       L_RPL_CHECKS, 6L, -1, 0, NULL);
}

TEST(defaults_and_noreply)
{
	tmsg_t t;
	int *noreply = param_int("noreply");
	int *dflt = param_int("default_checks");

	CHECK_INT(*dflt, 3047); /* Kamailio's SANITY_DEFAULT_CHECKS */
	CHECK_INT(*param_int("uri_checks"), 7);
	tmsg_parse(&t, INV("Expires: x\r\n"));
	CHECK_INT(kcall(&t, M, "sanity_check_defaults", NULL), -1);
	CHECK_INT(sent.code, 400);
	tmsg_free(&t);

	*noreply = 1;
	tmsg_parse(&t, INV("Expires: x\r\n"));
	CHECK_INT(kcall(&t, M, "sanity_check_defaults", NULL), -1);
	CHECK_INT(sent.count, 0);
	CHECK_INT(kcall(&t, M, "sanity_reply", NULL), 1);
	CHECK_INT(sent.count, 1);
	CHECK_INT(sent.code, 400);
	CHECK_STR(sent.reason, "Expires value is illegal");
	tmsg_free(&t);
	/* nothing recorded for this message: 500 */
	tmsg_parse(&t, INV(""));
	CHECK_INT(kcall(&t, M, "sanity_reply", NULL), 1);
	CHECK_INT(sent.code, 500);
	CHECK_STR(sent.reason, "Server Sanity Failure");
	tmsg_free(&t);
	/* a message too broken to answer: still nothing */
	tmsg_parse(&t, REQX("INVITE sip:bob@example.com SIP/2.0", "", "0", ""));
	CHECK_INT(kcall(&t, M, "sanity_check", NULL, 4L, 7L), -1);
	CHECK_INT(kcall(&t, M, "sanity_reply", NULL), 1);
	CHECK_INT(sent.count, 0);
	tmsg_free(&t);
	*noreply = 0;
	/* without noreply, sanity_reply does nothing */
	tmsg_parse(&t, INV(""));
	CHECK_INT(kcall(&t, M, "sanity_reply", NULL), 1);
	CHECK_INT(sent.count, 0);
	tmsg_free(&t);
}

/* clang-format off */
TEST_LIST(
	TEST_ENTRY(good_request_passes),
	TEST_ENTRY(ruri_version_and_scheme),
	TEST_ENTRY(required_headers),
	TEST_ENTRY(cseq),
	TEST_ENTRY(content_length),
	TEST_ENTRY(expires),
	TEST_ENTRY(proxy_require),
	TEST_ENTRY(parse_uris),
	TEST_ENTRY(digest),
	TEST_ENTRY(duplicated_tags),
	TEST_ENTRY(ack_and_replies_get_no_answer),
	TEST_ENTRY(defaults_and_noreply),
)
/* clang-format on */
