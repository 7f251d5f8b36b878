/* test_mods_siputils.c - KSR.siputils: message checks, R-URI parameters,
 * string checks and options_reply. */
#include "test_mods_util.h"

extern osp_module_t osp_mod_siputils;
#define M (&osp_mod_siputils)

#define REQ(method, ruri, to, extra)                                           \
	method " " ruri " SIP/2.0\r\n"                                         \
	       "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n" extra    \
	       "From: <sip:alice@example.com>;tag=a1\r\n"                      \
	       "To: " to "\r\n"                                                \
	       "Call-ID: c1\r\n"                                               \
	       "CSeq: 1 " method "\r\n"                                        \
	       "Content-Length: 0\r\n"                                         \
	       "\r\n"

static const char *REPLY_RR =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK2\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"
    "Record-Route: <sip:127.0.0.1;lr>\r\n"
    "From: <sip:alice@example.com>;tag=a1\r\n"
    "To: <sip:bob@example.com>;tag=b1\r\n"
    "Call-ID: c1\r\n"
    "CSeq: 1 INVITE\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

TEST(totag_request_reply)
{
	tmsg_t t;

	tmsg_parse(&t, REQ("INVITE", "sip:bob@example.com",
			   "<sip:bob@example.com>", ""));
	CHECK_INT(kcall(&t, M, "has_totag", NULL), -1);
	CHECK_INT(kcall(&t, M, "is_request", NULL), 1);
	CHECK_INT(kcall(&t, M, "is_reply", NULL), -1);
	tmsg_free(&t);
	tmsg_parse(&t, REQ("BYE", "sip:bob@example.com",
			   "<sip:bob@example.com>;tag=b1", ""));
	CHECK_INT(kcall(&t, M, "has_totag", NULL), 1);
	tmsg_free(&t);
	tmsg_parse(&t, REPLY_RR);
	CHECK_INT(kcall(&t, M, "is_request", NULL), -1);
	CHECK_INT(kcall(&t, M, "is_reply", NULL), 1);
	CHECK_INT(kcall(&t, M, "has_totag", NULL), 1);
	tmsg_free(&t);
}

TEST(first_hop)
{
	tmsg_t t;

	/* one Via: first hop */
	tmsg_parse(&t, REQ("INVITE", "sip:bob@example.com",
			   "<sip:bob@example.com>", ""));
	CHECK_INT(kcall(&t, M, "is_first_hop", NULL), 1);
	tmsg_free(&t);
	/* two Vias (even in one header line): not */
	tmsg_parse(&t,
		   REQ("INVITE", "sip:bob@example.com", "<sip:bob@example.com>",
		       "Via: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bK0\r\n"));
	CHECK_INT(kcall(&t, M, "is_first_hop", NULL), -1);
	tmsg_free(&t);
	/* reply whose top Record-Route is us (127.0.0.1), from elsewhere */
	tmsg_parse(&t, REPLY_RR);
	CHECK_INT(kcall(&t, M, "is_first_hop", NULL), 1);
	/* ... but coming from that very address and port: a loop */
	inet_pton(AF_INET, "127.0.0.1", &t.msg.rcv.src.in4.sin_addr);
	t.msg.rcv.src.in4.sin_port = htons(5060);
	CHECK_INT(kcall(&t, M, "is_first_hop", NULL), -1);
	CHECK_INT(kcall(&t, M, "is_first_hop_mode", NULL, 1L), 1);
	tmsg_free(&t);
}

TEST(uri_params)
{
	tmsg_t t;
	const char *out;

	tmsg_parse(&t, REQ("INVITE",
			   "sip:bob@example.com;lr;transport=tcp;Foo=Bar;gr",
			   "<sip:bob@example.com>", ""));
	CHECK_INT(kcall(&t, M, "uri_param", NULL, "lr"), 1);
	CHECK_INT(kcall(&t, M, "uri_param", NULL, "transport"), -1);
	CHECK_INT(kcall(&t, M, "uri_param", NULL, "nope"), -1);
	CHECK_INT(kcall(&t, M, "uri_param_value", NULL, "transport", "tcp"), 1);
	CHECK_INT(kcall(&t, M, "uri_param_value", NULL, "transport", "udp"),
		  -1);
	/* uri_param compares names with case, uri_param_any without */
	CHECK_INT(kcall(&t, M, "uri_param_value", NULL, "foo", "Bar"), -1);
	CHECK_INT(kcall(&t, M, "uri_param_any", NULL, "foo"), 1);
	CHECK_INT(kcall(&t, M, "uri_param_any", NULL, "nope"), -1);
	CHECK_INT(kcall(&t, M, "is_gruu", NULL), 2);
	CHECK_INT(kcall(&t, M, "uri_param_rm", NULL, "TRANSPORT"), 1);
	CHECK_INT(kcall(&t, M, "uri_param_rm", NULL, "nope"), 1);
	CHECK_STRV(sip_cur_uri(&t.msg), "sip:bob@example.com;lr;Foo=Bar;gr");
	CHECK_INT(kcall(&t, M, "uri_param_any", NULL, "transport"), -1);
	CHECK_INT(kcall(&t, M, "uri_param_rm", NULL, "gr"), 1);
	CHECK_INT(kcall(&t, M, "is_gruu", NULL), -1);
	out = tmsg_build(&t);
	CHECK_HAS(out, "INVITE sip:bob@example.com;lr;Foo=Bar SIP/2.0\r\n");
	tmsg_free(&t);
	tmsg_parse(&t, REQ("INVITE", "sip:bob@example.com;gr=urn:uuid:1",
			   "<sip:bob@example.com>", ""));
	CHECK_INT(kcall(&t, M, "is_gruu", NULL), 1);
	tmsg_free(&t);
}

TEST(string_checks)
{
	tmsg_t t;

	tmsg_parse(&t, REQ("INVITE", "sip:bob@example.com",
			   "<sip:bob@example.com>", ""));
	CHECK_INT(kcall(&t, M, "is_tel_number", NULL, "+4930123"), 1);
	CHECK_INT(kcall(&t, M, "is_tel_number", NULL, "030123"), 1);
	CHECK_INT(kcall(&t, M, "is_tel_number", NULL, "+030"), -2);
	CHECK_INT(kcall(&t, M, "is_tel_number", NULL, "12a"), -2);
	CHECK_INT(kcall(&t, M, "is_tel_number", NULL, ""), -2);
	CHECK_INT(kcall(&t, M, "is_numeric", NULL, "0123"), 1);
	CHECK_INT(kcall(&t, M, "is_numeric", NULL, "+1"), -2);
	CHECK_INT(kcall(&t, M, "is_alphanum", NULL, "abC9"), 1);
	CHECK_INT(kcall(&t, M, "is_alphanum", NULL, "ab-9"), -3);
	CHECK_INT(kcall(&t, M, "is_alphanum", NULL, ""), -2);
	CHECK_INT(kcall(&t, M, "is_alphanumex", NULL, "ab-9.x", "-."), 1);
	CHECK_INT(kcall(&t, M, "is_alphanumex", NULL, "ab_9", "-."), -3);
	CHECK_INT(kcall(&t, M, "is_uri", NULL, "sip:a@b.c;x=y"), 1);
	CHECK_INT(kcall(&t, M, "is_uri", NULL, "tel:+4930123"), 1);
	CHECK_INT(kcall(&t, M, "is_uri", NULL, "http://x"), -1);
	CHECK_INT(kcall(&t, M, "cmp_hdr_name", NULL, "Call-ID", "i"), 1);
	CHECK_INT(kcall(&t, M, "cmp_hdr_name", NULL, "X-A", "x-a"), 1);
	CHECK_INT(kcall(&t, M, "cmp_hdr_name", NULL, "X-B", "X-A"), -1);
	CHECK_INT(kcall(&t, M, "cmp_hdr_name", NULL, "X-A", "X-B"), -2);
	CHECK_INT(kcall(&t, M, "cmp_uri", NULL,
			"sip:a@EXAMPLE.com;transport=tcp",
			"sip:a@example.com;TRANSPORT=TCP;x=1"),
		  1);
	CHECK_INT(kcall(&t, M, "cmp_uri", NULL, "sip:a@example.com",
			"sip:a@example.com;transport=tcp"),
		  -1);
	CHECK_INT(kcall(&t, M, "cmp_uri", NULL, "sip:A@example.com",
			"sip:a@example.com"),
		  -1);
	CHECK_INT(kcall(&t, M, "cmp_uri", NULL, "nonsense", "sip:a@b"), -2);
	CHECK_INT(kcall(&t, M, "cmp_aor", NULL, "sip:a@example.com;x=1",
			"sip:a@Example.com;transport=tcp"),
		  1);
	CHECK_INT(kcall(&t, M, "cmp_aor", NULL, "sip:a@example.com:5070",
			"sip:a@example.com"),
		  -1);
	tmsg_free(&t);
}

TEST(options_reply)
{
	tmsg_t t;

	tmsg_parse(&t, REQ("OPTIONS", "sip:127.0.0.1", "<sip:127.0.0.1>", ""));
	CHECK_INT(kcall(&t, M, "options_reply", NULL), 0);
	CHECK_INT(sent.count, 1);
	CHECK_INT(sent.code, 200);
	CHECK_STR(sent.reason, "OK");
	CHECK_STR(sent.extra, "Accept: */*\r\nAccept-Encoding: \r\n"
			      "Accept-Language: en\r\nSupported: \r\n");
	tmsg_free(&t);
	/* a user in the R-URI, or another method: -1, nothing sent */
	tmsg_parse(&t,
		   REQ("OPTIONS", "sip:bob@127.0.0.1", "<sip:127.0.0.1>", ""));
	CHECK_INT(kcall(&t, M, "options_reply", NULL), -1);
	CHECK_INT(sent.count, 0);
	tmsg_free(&t);
	tmsg_parse(&t, REQ("INVITE", "sip:127.0.0.1", "<sip:127.0.0.1>", ""));
	CHECK_INT(kcall(&t, M, "options_reply", NULL), -1);
	CHECK_INT(sent.count, 0);
	tmsg_free(&t);
}

TEST(table)
{
	static const char *names[] = {
	    "has_totag", "is_request",	  "is_reply", "is_first_hop",
	    "uri_param", "options_reply", NULL};

	CHECK_STR(osp_mod_siputils.name, "siputils");
	for (int i = 0; names[i]; i++)
		CHECK_INT(kfind(M, names[i])->rtype, KSR_INT);
}

/* clang-format off */
TEST_LIST(
	TEST_ENTRY(totag_request_reply),
	TEST_ENTRY(first_hop),
	TEST_ENTRY(uri_params),
	TEST_ENTRY(string_checks),
	TEST_ENTRY(options_reply),
	TEST_ENTRY(table),
)
/* clang-format on */
