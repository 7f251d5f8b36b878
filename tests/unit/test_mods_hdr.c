/* test_mods_hdr.c - KSR.hdr: additions, removals and getters, checked on
 * the request as it would be forwarded. */
#include "test_mods_util.h"

extern osp_module_t osp_mod_hdr;
#define M (&osp_mod_hdr)

static const char *INVITE =
    "INVITE sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:alice@example.com>;tag=a1\r\n"
    "To: <sip:bob@example.com>\r\n"
    "Call-ID: c1@192.0.2.10\r\n"
    "CSeq: 1 INVITE\r\n"
    "X-Info: one\r\n"
    "Route: <sip:r1.example.com;lr>\r\n"
    "x-info: two\r\n"
    "Route: <sip:r2.example.com;lr>\r\n"
    "X-Info:   three  \r\n"
    "Content-Length: 0\r\n"
    "\r\n";

TEST(append_and_insert)
{
	tmsg_t t;
	const char *out;

	tmsg_parse(&t, INVITE);
	CHECK_INT(kcall(&t, M, "append", NULL, "X-A: 1\r\n"), 1);
	CHECK_INT(kcall(&t, M, "append", NULL, "X-B: 2"), 1); /* CRLF added */
	CHECK_INT(kcall(&t, M, "insert", NULL, "X-First: 0\r\n"), 1);
	CHECK_INT(kcall(&t, M, "append", NULL, ""), 1); /* nothing added */
	out = tmsg_build(&t);
	CHECK_HAS(out, "INVITE sip:bob@example.com SIP/2.0\r\n"
		       "X-First: 0\r\nVia: ");
	CHECK_HAS(out, "X-Info:   three  \r\nContent-Length: 0\r\n"
		       "X-A: 1\r\nX-B: 2\r\n\r\n");
	tmsg_free(&t);
}

TEST(append_after_insert_before)
{
	tmsg_t t;
	const char *out;

	tmsg_parse(&t, INVITE);
	/* the first header of that name is the anchor */
	CHECK_INT(kcall(&t, M, "append_after", NULL, "X-After: r\r\n", "Route"),
		  1);
	CHECK_INT(kcall(&t, M, "insert_before", NULL, "X-Before: f\r\n",
			"f"), /* compact form of From */
		  1);
	/* no such header: after the last / before the first header */
	CHECK_INT(kcall(&t, M, "append_after", NULL, "X-End: e\r\n", "X-None"),
		  1);
	CHECK_INT(kcall(&t, M, "insert_before", NULL, "X-Top: t\r\n", "X-None"),
		  1);
	out = tmsg_build(&t);
	CHECK_HAS(out, "Route: <sip:r1.example.com;lr>\r\nX-After: r\r\n"
		       "x-info: two\r\n");
	CHECK_HAS(out, "Max-Forwards: 70\r\nX-Before: f\r\nFrom: ");
	CHECK_HAS(out, "Content-Length: 0\r\nX-End: e\r\n\r\n");
	CHECK_HAS(out, "SIP/2.0\r\nX-Top: t\r\nVia: ");
	tmsg_free(&t);
}

TEST(remove_and_rm_variants)
{
	tmsg_t t;
	const char *out;

	tmsg_parse(&t, INVITE);
	/* every header of that name, case-insensitive: returns 1 */
	CHECK_INT(kcall(&t, M, "remove", NULL, "x-INFO"), 1);
	/* none present: still 1, as Kamailio */
	CHECK_INT(kcall(&t, M, "remove", NULL, "X-Absent"), 1);
	CHECK_INT(kcall(&t, M, "remove", NULL, ""), -1);
	CHECK_INT(kcall(&t, M, "rmappend", NULL, "Route", "Route: <sip:n>\r\n"),
		  1);
	CHECK_INT(kcall(&t, M, "rminsert", NULL, "Max-Forwards",
			"Max-Forwards: 10\r\n"),
		  1);
	out = tmsg_build(&t);
	CHECK_HASNT(out, "nfo:");
	CHECK_HASNT(out, "r1.example.com");
	CHECK_HASNT(out, "r2.example.com");
	CHECK_HASNT(out, "Max-Forwards: 70");
	CHECK_HAS(out, "SIP/2.0\r\nMax-Forwards: 10\r\nVia: ");
	CHECK_HAS(out, "Content-Length: 0\r\nRoute: <sip:n>\r\n\r\n");
	/* getters still see the message as received */
	{
		ksr_xval_t x;

		kcall(&t, M, "get", &x, "X-Info");
		CHECK_XSTR(x, "one");
		CHECK_INT(kcall(&t, M, "is_present", NULL, "Route"), 1);
	}
	tmsg_free(&t);
}

TEST(is_present)
{
	tmsg_t t;

	tmsg_parse(&t, INVITE);
	CHECK_INT(kcall(&t, M, "is_present", NULL, "x-info"), 1);
	CHECK_INT(kcall(&t, M, "is_present", NULL, "i"), 1); /* Call-ID */
	CHECK_INT(kcall(&t, M, "is_present", NULL, "Contact"), -1);
	CHECK_INT(kcall(&t, M, "is_present", NULL, ""), -1);
	tmsg_free(&t);
}

TEST(getters)
{
	tmsg_t t;
	ksr_xval_t x;

	tmsg_parse(&t, INVITE);
	kcall(&t, M, "get", &x, "X-Info");
	CHECK_XSTR(x, "one");
	kcall(&t, M, "get", &x, "t");
	CHECK_XSTR(x, "<sip:bob@example.com>");
	kcall(&t, M, "get", &x, "X-Nope");
	CHECK_XNULL(x);
	kcall(&t, M, "gete", &x, "X-Nope");
	CHECK_XSTR(x, "");
	kcall(&t, M, "getw", &x, "X-Nope");
	CHECK_XSTR(x, "<null>");
	kcall(&t, M, "get_idx", &x, "X-Info", 1L);
	CHECK_XSTR(x, "two");
	kcall(&t, M, "get_idx", &x, "X-Info", 2L);
	CHECK_XSTR(x, "three");
	kcall(&t, M, "get_idx", &x, "X-Info", -1L);
	CHECK_XSTR(x, "three");
	kcall(&t, M, "get_idx", &x, "X-Info", -3L);
	CHECK_XSTR(x, "one");
	kcall(&t, M, "get_idx", &x, "X-Info", -4L);
	CHECK_XNULL(x);
	kcall(&t, M, "gete_idx", &x, "X-Info", 3L);
	CHECK_XSTR(x, "");
	kcall(&t, M, "getw_idx", &x, "X-Info", 9L);
	CHECK_XSTR(x, "<null>");
	tmsg_free(&t);
}

TEST(append_to_reply)
{
	tmsg_t t;
	ksr_xval_t x;

	tmsg_parse(&t, INVITE);
	CHECK_INT(kcall(&t, M, "append_to_reply", &x, "X-Reply: yes\r\n"), 1);
	CHECK_INT(kcall(&t, M, "append_to_reply", &x, "X-Reply2: no-crlf"), 1);
	CHECK(t.msg.reply_adds != NULL);
	CHECK_STRV(t.msg.reply_adds->text, "X-Reply: yes\r\n");
	CHECK_STRV(t.msg.reply_adds->next->text, "X-Reply2: no-crlf\r\n");
	/* not in the forwarded request */
	CHECK_HASNT(tmsg_build(&t), "X-Reply");
	tmsg_free(&t);
}

TEST(match_content)
{
	tmsg_t t;

	tmsg_parse(&t, INVITE);
	CHECK_INT(
	    kcall(&t, M, "match_content", NULL, "X-Info", "eq", "ONE", "f"), 1);
	CHECK_INT(
	    kcall(&t, M, "match_content", NULL, "X-Info", "eq", "two", "f"), 0);
	/* last: "three" (the value is trimmed) */
	CHECK_INT(
	    kcall(&t, M, "match_content", NULL, "X-Info", "eq", "three", "l"),
	    1);
	CHECK_INT(
	    kcall(&t, M, "match_content", NULL, "X-Info", "ne", "one", "l"), 1);
	CHECK_INT(kcall(&t, M, "match_content", NULL, "X-Info", "sw", "t", "a"),
		  0);
	CHECK_INT(
	    kcall(&t, M, "match_content", NULL, "X-Info", "in", "HRE", "o"), 1);
	CHECK_INT(kcall(&t, M, "match_content", NULL, "Route", "in",
			"example.com", "a"),
		  1);
	CHECK_INT(kcall(&t, M, "match_content", NULL, "X-None", "eq", "x", "o"),
		  0);
	CHECK_INT(kcall(&t, M, "match_content", NULL, "X-Info", "re", "o", "o"),
		  0);
	CHECK_INT(
	    kcall(&t, M, "match_content", NULL, "X-Info", "eq", "one", "z"), 0);
	tmsg_free(&t);
}

TEST(no_message)
{
	tmsg_t t;
	ksr_xval_t x;

	memset(&t, 0, sizeof(t));
	CHECK_INT(kcall(&t, M, "append", NULL, "X: y\r\n"), -1);
	CHECK_INT(kcall(&t, M, "remove", NULL, "X"), -1);
	kcall(&t, M, "gete", &x, "X");
	CHECK_XSTR(x, "");
}

TEST(table)
{
	CHECK_STR(osp_mod_hdr.name, "hdr");
	CHECK_INT(osp_mod_hdr.always, 1);
	CHECK_INT(kfind(M, "get")->rtype, KSR_XVAL);
	CHECK_INT(kfind(M, "match_content")->rtype, KSR_BOOL);
	CHECK_INT(kfind(M, "remove")->rtype, KSR_INT);
	CHECK_INT(ksr_export_nparams(kfind(M, "getw_idx")), 2);
}

/* clang-format off */
TEST_LIST(
	TEST_ENTRY(append_and_insert),
	TEST_ENTRY(append_after_insert_before),
	TEST_ENTRY(remove_and_rm_variants),
	TEST_ENTRY(is_present),
	TEST_ENTRY(getters),
	TEST_ENTRY(append_to_reply),
	TEST_ENTRY(match_content),
	TEST_ENTRY(no_message),
	TEST_ENTRY(table),
)
/* clang-format on */
