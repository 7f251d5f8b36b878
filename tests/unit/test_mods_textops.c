/* test_mods_textops.c - KSR.textops: searches, replacements and
 * substitutions checked on the request as it would be forwarded, header
 * and body functions, string helpers. */
#include <stdio.h>

#include "modules/hdr/hdr_ops.h"
#include "test_mods_util.h"

extern osp_module_t osp_mod_textops;
#define M (&osp_mod_textops)

static const char *MSG = "MESSAGE sip:bob@example.com;user=phone SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"
			 "From: \"Alice\" <sip:alice@example.com>;tag=a1\r\n"
			 "To: <sip:bob@example.com>\r\n"
			 "Call-ID: c1@host\r\n"
			 "CSeq: 5 MESSAGE\r\n"
			 "P-Asserted-Identity: <sip:alice@example.com>\r\n"
			 "P-Keep-Me: 1\r\n"
			 "X-Tag: red\r\n"
			 "X-Tag: green\r\n"
			 "X-Tag: blue\r\n"
			 "Privacy: id; header\r\n"
			 "Content-Type: text/plain\r\n"
			 "Content-Length: 26\r\n"
			 "\r\n"
			 "hello example\r\nbye example";

TEST(search)
{
	tmsg_t t;

	tmsg_parse(&t, MSG);
	CHECK_INT(kcall(&t, M, "search", NULL, "^message sip:bob"), 1);
	CHECK_INT(kcall(&t, M, "search", NULL, "X-TAG: GREEN"), 1);
	CHECK_INT(kcall(&t, M, "search", NULL, "nowhere"), -1);
	CHECK_INT(kcall(&t, M, "search", NULL, "("), -1); /* bad re */
	CHECK_INT(kcall(&t, M, "search_body", NULL, "^bye"), 1);
	CHECK_INT(kcall(&t, M, "search_body", NULL, "Call-ID"), -1);
	CHECK_INT(kcall(&t, M, "search_str", NULL, "abc;transport=tcp",
			";transport=TCP"),
		  1);
	CHECK_INT(kcall(&t, M, "search_str", NULL, "abc", "^b"), -1);
	CHECK_INT(kcall(&t, M, "search_hf", NULL, "X-Tag", "^g", "a"), 1);
	CHECK_INT(kcall(&t, M, "search_hf", NULL, "X-Tag", "^g", "f"), -1);
	CHECK_INT(kcall(&t, M, "search_hf", NULL, "X-Tag", "^b", "l"), 1);
	CHECK_INT(kcall(&t, M, "search_hf", NULL, "f", "alice", "a"), 1);
	tmsg_free(&t);
}

TEST(replace_in_headers_and_body)
{
	tmsg_t t;
	const char *out;

	tmsg_parse(&t, MSG);
	/* the first occurrence after the first line: in the From line */
	CHECK_INT(kcall(&t, M, "replace", NULL, "example\\.com", "ex.org"), 1);
	out = tmsg_build(&t);
	CHECK_HAS(out, "From: \"Alice\" <sip:alice@ex.org>;tag=a1\r\n");
	CHECK_HAS(out, "To: <sip:bob@example.com>\r\n");
	CHECK_HAS(out, "MESSAGE sip:bob@example.com;user=phone SIP/2.0\r\n");
	tmsg_free(&t);

	tmsg_parse(&t, MSG);
	CHECK_INT(kcall(&t, M, "replace_all", NULL, "example", "EX"), 1);
	out = tmsg_build(&t);
	CHECK_HAS(out, "MESSAGE sip:bob@example.com;user=phone SIP/2.0\r\n");
	CHECK_HAS(out, "From: \"Alice\" <sip:alice@EX.com>;tag=a1\r\n");
	CHECK_HAS(out, "To: <sip:bob@EX.com>\r\n");
	CHECK_HAS(out, "P-Asserted-Identity: <sip:alice@EX.com>\r\n");
	/* the body changed too, Content-Length follows */
	CHECK_HAS(out, "Content-Length: 16\r\n\r\nhello EX\r\nbye EX");
	tmsg_free(&t);

	tmsg_parse(&t, MSG);
	CHECK_INT(kcall(&t, M, "replace_hdrs", NULL, "bye", "x"), -1);
	CHECK_INT(kcall(&t, M, "replace_hdrs", NULL, "green", "lime"), 1);
	CHECK_HAS(tmsg_build(&t), "X-Tag: red\r\nX-Tag: lime\r\nX-Tag: blue");
	tmsg_free(&t);
}

TEST(replace_body_variants)
{
	tmsg_t t;
	const char *out;

	tmsg_parse(&t, MSG);
	CHECK_INT(kcall(&t, M, "replace_body", NULL, "example", "one"), 1);
	CHECK_HAS(tmsg_build(&t), "\r\n\r\nhello one\r\nbye example");
	/* body functions chain on the current body */
	CHECK_INT(kcall(&t, M, "replace_body_all", NULL, "^(hello|bye)", "X"),
		  1);
	out = tmsg_build(&t);
	CHECK_HAS(out, "Content-Length: 16\r\n\r\nX one\r\nX example");
	tmsg_free(&t);

	tmsg_parse(&t, MSG);
	/* atonce: '.' crosses lines, the whole body in one match */
	CHECK_INT(kcall(&t, M, "replace_body_atonce", NULL, "^.+$", "gone"), 1);
	CHECK_HAS(tmsg_build(&t), "Content-Length: 4\r\n\r\ngone");
	tmsg_free(&t);

	tmsg_parse(&t, MSG);
	CHECK_INT(kcall(&t, M, "search_append_body", NULL, "hello", ","), 1);
	CHECK_INT(
	    kcall(&t, M, "replace_body_str", NULL, "example", "world", "a"), 1);
	CHECK_HAS(tmsg_build(&t), "\r\n\r\nhello, world\r\nbye world");
	CHECK_INT(kcall(&t, M, "replace_body_str", NULL, "x", "y", "q"), -1);
	tmsg_free(&t);
}

TEST(replace_str_and_append)
{
	tmsg_t t;
	const char *out;

	tmsg_parse(&t, MSG);
	CHECK_INT(
	    kcall(&t, M, "replace_str", NULL, "example.com", "b.net", "f"), 1);
	CHECK_INT(kcall(&t, M, "replace_hdrs_str", NULL, "X-Tag: blue",
			"X-Tag: navy", "a"),
		  1);
	CHECK_INT(
	    kcall(&t, M, "search_append", NULL, "Call-ID: [^@]*", "-suffix"),
	    1);
	out = tmsg_build(&t);
	CHECK_HAS(out, "<sip:alice@b.net>;tag=a1");
	CHECK_HAS(out, "To: <sip:bob@example.com>");
	CHECK_HAS(out, "X-Tag: navy\r\n");
	CHECK_HAS(out, "Call-ID: c1-suffix@host\r\n");
	tmsg_free(&t);
}

TEST(subst)
{
	tmsg_t t;
	const char *out;

	tmsg_parse(&t, MSG);
	/* backreferences, case-insensitive flag, one header rewritten (the
	 * lines end with CR LF: '$' would stand after the CR) */
	CHECK_INT(kcall(&t, M, "subst", NULL,
			"/^to: <sip:([a-z]+)@([^>]*)>/To: <sip:\\1-x@\\2>/i"),
		  1);
	out = tmsg_build(&t);
	CHECK_HAS(out, "\r\nTo: <sip:bob-x@example.com>\r\n");
	tmsg_free(&t);

	tmsg_parse(&t, MSG);
	/* without g: first match only; with g: all, body included */
	CHECK_INT(kcall(&t, M, "subst", NULL, "/X-Tag/Y-Tag/"), 1);
	CHECK_INT(count_sub(tmsg_build(&t), "Y-Tag"), 1);
	tmsg_free(&t);
	tmsg_parse(&t, MSG);
	CHECK_INT(kcall(&t, M, "subst", NULL, "/example/ex/g"), 1);
	out = tmsg_build(&t);
	CHECK_INT(count_sub(out, "example"), 1); /* the R-URI is kept */
	CHECK_HAS(out, "\r\n\r\nhello ex\r\nbye ex");
	/* no match, bad expression, empty match */
	CHECK_INT(kcall(&t, M, "subst", NULL, "/zzz/y/"), -1);
	CHECK_INT(kcall(&t, M, "subst", NULL, "/broken"), -1);
	CHECK_INT(kcall(&t, M, "subst", NULL, "/x/y/q"), -1);
	CHECK_INT(kcall(&t, M, "subst", NULL, "/a*/b/"), -1);
	tmsg_free(&t);

	tmsg_parse(&t, MSG);
	CHECK_INT(kcall(&t, M, "subst_body", NULL, "/^bye (.*)$/ciao \\1/"), 1);
	CHECK_HAS(tmsg_build(&t), "\r\n\r\nhello example\r\nciao example");
	tmsg_free(&t);
}

TEST(subst_uri_user_hf)
{
	tmsg_t t;
	const char *out;

	tmsg_parse(&t, MSG);
	CHECK_INT(kcall(&t, M, "subst_uri", NULL,
			"/^sip:([a-z]+)@(.*)$/sip:00\\1@\\2;orig/"),
		  1);
	CHECK_STRV(sip_cur_uri(&t.msg),
		   "sip:00bob@example.com;user=phone;orig");
	CHECK_INT(kcall(&t, M, "subst_uri", NULL, "/^tel:/sip:/"), -1);
	CHECK_INT(kcall(&t, M, "subst_user", NULL, "/^00/+49/"), 1);
	CHECK_STRV(sip_cur_uri(&t.msg),
		   "sip:+49bob@example.com;user=phone;orig");
	/* an empty user drops it with its '@' */
	CHECK_INT(kcall(&t, M, "subst_user", NULL, "/^.*$//"), 1);
	CHECK_STRV(sip_cur_uri(&t.msg), "sip:example.com;user=phone;orig");
	/* an empty match is refused (as Kamailio's subst), so "^$" cannot
	 * put a user back; subst_uri can */
	CHECK_INT(kcall(&t, M, "subst_user", NULL, "/^$/carol/"), -1);
	CHECK_STRV(sip_cur_uri(&t.msg), "sip:example.com;user=phone;orig");
	out = tmsg_build(&t);
	CHECK_HAS(out, "MESSAGE sip:example.com;user=phone;orig SIP/2.0\r\n");
	tmsg_free(&t);

	tmsg_parse(&t, MSG);
	CHECK_INT(kcall(&t, M, "subst_hf", NULL, "X-Tag", "/^.*$/first/", "f"),
		  1);
	CHECK_INT(kcall(&t, M, "subst_hf", NULL, "X-Tag", "/^.*$/last/", "l"),
		  1);
	CHECK_INT(kcall(&t, M, "subst_hf", NULL, "X-Tag", "/e/E/g", "a"), 1);
	out = tmsg_build(&t);
	/* "a" works on the current values, rewritten ones included */
	CHECK_HAS(out, "X-Tag: first\r\nX-Tag: grEEn\r\nX-Tag: last\r\n");
	CHECK_INT(kcall(&t, M, "subst_hf", NULL, "X-Tag", "/^f/F/", "a"), 1);
	CHECK_HAS(tmsg_build(&t), "X-Tag: First\r\nX-Tag: grEEn\r\n");
	CHECK_INT(kcall(&t, M, "subst_hf", NULL, "X-None", "/a/b/", "a"), -1);
	tmsg_free(&t);
}

TEST(chained_changes)
{
	tmsg_t t;
	const char *out;

	tmsg_parse(&t, MSG);
	/* two replacements in one line, then one in a line rewritten by
	 * another module (Max-Forwards-like), then after set_body */
	CHECK_INT(kcall(&t, M, "replace", NULL, "sip:alice", "sip:carol"), 1);
	CHECK_INT(kcall(&t, M, "replace", NULL, "\"Alice\"", "\"Carol\""), 1);
	CHECK_INT(hdr_replace(&t.msg, 7, STR_LIT("P-Keep-Me: 2\r\n")), 0);
	CHECK_INT(kcall(&t, M, "replace_all", NULL, "Keep-Me: 2", "Keep-Me: 3"),
		  1);
	CHECK_INT(kcall(&t, M, "set_body", NULL, "new body", "text/plain"), 1);
	CHECK_INT(kcall(&t, M, "subst", NULL, "/new (body)/old \\1/"), 1);
	out = tmsg_build(&t);
	CHECK_HAS(out, "From: \"Carol\" <sip:carol@example.com>;tag=a1\r\n");
	CHECK_HAS(out, "P-Keep-Me: 3\r\n");
	CHECK_HAS(out, "Content-Length: 8\r\nContent-Type: text/plain\r\n"
		       "\r\nold body");
	/* headers added with KSR.hdr are not searched */
	CHECK_INT(
	    hdr_add(&t.msg, STR_LIT("X-Added: zzz\r\n"), SIP_ADD_APPEND, 0), 0);
	CHECK_INT(kcall(&t, M, "replace", NULL, "zzz", "yyy"), -1);
	tmsg_free(&t);
}

TEST(line_edits_limits)
{
	tmsg_t t;
	const char *out;

	tmsg_parse(&t, MSG);
	/* a match covering a whole line removes that header */
	CHECK_INT(kcall(&t, M, "replace_all", NULL, "P-Keep-Me: 1\r\n", ""), 1);
	out = tmsg_build(&t);
	CHECK_HASNT(out, "P-Keep-Me");
	CHECK_HAS(out, "<sip:alice@example.com>\r\nX-Tag: red\r\n");
	tmsg_free(&t);

	tmsg_parse(&t, MSG);
	/* a match running over two header lines is not applied */
	CHECK_INT(kcall(&t, M, "subst", NULL, "/red\r\nX-Tag: green/x/s"), -1);
	CHECK_HAS(tmsg_build(&t), "X-Tag: red\r\nX-Tag: green\r\n");
	/* a header the script removed is left alone */
	CHECK_INT(kcall(&t, M, "remove_hf", NULL, "To"), 1);
	CHECK_INT(kcall(&t, M, "replace", NULL, "<sip:bob@", "<sip:eve@"), -1);
	CHECK_HASNT(tmsg_build(&t), "sip:eve@");
	tmsg_free(&t);
}

TEST(headers)
{
	tmsg_t t;
	const char *out;

	tmsg_parse(&t, MSG);
	CHECK_INT(kcall(&t, M, "is_present_hf", NULL, "x-tag"), 1);
	CHECK_INT(kcall(&t, M, "is_present_hf", NULL, "i"), 1);
	CHECK_INT(kcall(&t, M, "is_present_hf", NULL, "Contact"), -1);
	CHECK_INT(kcall(&t, M, "is_present_hf_re", NULL, "^P-"), 1);
	CHECK_INT(kcall(&t, M, "is_present_hf_re", NULL, "^Q-"), -1);
	CHECK_INT(kcall(&t, M, "remove_hf_idx", NULL, "X-Tag", -1L), 1);
	CHECK_INT(kcall(&t, M, "remove_hf_idx", NULL, "X-Tag", 0L), 1);
	CHECK_INT(kcall(&t, M, "remove_hf_idx", NULL, "X-Tag", 5L), -1);
	CHECK_INT(kcall(&t, M, "remove_hf_exp", NULL, "^P-", "^P-Keep"), 1);
	CHECK_INT(kcall(&t, M, "remove_hf_re", NULL, "^Q-"), -1);
	CHECK_INT(kcall(&t, M, "remove_hf", NULL, "Privacy"), 1);
	CHECK_INT(kcall(&t, M, "remove_hf", NULL, "Privacy-Not"), -1);
	out = tmsg_build(&t);
	CHECK_HAS(out, "CSeq: 5 MESSAGE\r\nP-Keep-Me: 1\r\nX-Tag: green\r\n"
		       "Content-Type: text/plain\r\n");
	tmsg_free(&t);
}

TEST(body)
{
	tmsg_t t;
	const char *out;

	tmsg_parse(&t, MSG);
	CHECK_INT(kcall(&t, M, "has_body", NULL), 1);
	CHECK_INT(kcall(&t, M, "has_body_type", NULL, "text/plain"), 1);
	CHECK_INT(kcall(&t, M, "has_body_type", NULL, "application/sdp"), -1);
	CHECK_INT(kcall(&t, M, "set_body", NULL, "v=0\r\n", "application/sdp"),
		  1);
	CHECK_INT(
	    kcall(&t, M, "set_body", NULL, "v=0\r\no=x\r\n", "application/sdp"),
	    1);
	CHECK_INT(kcall(&t, M, "set_body", NULL, "", "text/plain"), -1);
	out = tmsg_build(&t);
	CHECK_HASNT(out, "text/plain");
	CHECK_INT(count_sub(out, "Content-Type"), 1);
	CHECK_HAS(out, "Content-Length: 10\r\nContent-Type: application/sdp\r\n"
		       "\r\nv=0\r\no=x\r\n");
	tmsg_free(&t);

	tmsg_parse(&t, "OPTIONS sip:a@b SIP/2.0\r\n"
		       "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1\r\n"
		       "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\n"
		       "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n"
		       "Content-Length: 0\r\n\r\n");
	CHECK_INT(kcall(&t, M, "has_body", NULL), -1);
	CHECK_INT(kcall(&t, M, "has_body_type", NULL, "application/sdp"), -1);
	CHECK_INT(kcall(&t, M, "search_body", NULL, "."), -1);
	CHECK_INT(kcall(&t, M, "replace_body", NULL, ".", "x"), -1);
	tmsg_free(&t);

	tmsg_parse(&t, "INVITE sip:a@b SIP/2.0\r\n"
		       "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1\r\n"
		       "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\n"
		       "Call-ID: x\r\nCSeq: 1 INVITE\r\n"
		       "Content-Type: multipart/mixed;boundary=zz\r\n"
		       "Content-Length: 68\r\n\r\n"
		       "--zz\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n"
		       "--zz\r\nContent-Type: x/y\r\n\r\n--zz--");
	CHECK_INT(kcall(&t, M, "has_body_type", NULL, "application/sdp"), 1);
	CHECK_INT(kcall(&t, M, "has_body_type", NULL, "multipart/mixed"), 1);
	CHECK_INT(kcall(&t, M, "has_body_type", NULL, "text/html"), -1);
	tmsg_free(&t);
}

TEST(privacy)
{
	tmsg_t t;

	tmsg_parse(&t, MSG);
	CHECK_INT(kcall(&t, M, "is_privacy", NULL, "id"), 1);
	CHECK_INT(kcall(&t, M, "is_privacy", NULL, "header"), 1);
	CHECK_INT(kcall(&t, M, "is_privacy", NULL, "user"), -1);
	CHECK_INT(kcall(&t, M, "is_privacy", NULL, "bogus"), -1);
	tmsg_free(&t);
}

TEST(strings)
{
	tmsg_t t;

	memset(&t, 0, sizeof(t)); /* no message needed */
	CHECK_INT(kcall(&t, M, "cmp_str", NULL, "abc", "abc"), 1);
	CHECK_INT(kcall(&t, M, "cmp_str", NULL, "abd", "abc"), -1);
	CHECK_INT(kcall(&t, M, "cmp_str", NULL, "ab", "abc"), -2);
	CHECK_INT(kcall(&t, M, "cmp_str", NULL, "ABC", "abc"), -2);
	CHECK_INT(kcall(&t, M, "cmp_istr", NULL, "ABC", "abc"), 1);
	CHECK_INT(kcall(&t, M, "starts_with", NULL, "+358123", "+358"), 1);
	CHECK_INT(kcall(&t, M, "starts_with", NULL, "+3", "+358"), -1);
	CHECK_INT(kcall(&t, M, "starts_with", NULL, "+459", "+358"), -1);
	CHECK_INT(kcall(&t, M, "ends_with", NULL, "1238800", "8800"), 1);
	CHECK_INT(kcall(&t, M, "ends_with", NULL, "1238801", "8800"), -1);
	CHECK_INT(kcall(&t, M, "str_find", NULL, "alice@x", "ce@"), 1);
	CHECK_INT(kcall(&t, M, "str_find", NULL, "alice@x", "CE@"), -1);
	CHECK_INT(kcall(&t, M, "str_ifind", NULL, "alice@x", "CE@"), 1);
	CHECK_INT(kcall(&t, M, "in_list", NULL, "fi", "dk,fi,no", ","), 1);
	CHECK_INT(kcall(&t, M, "in_list", NULL, "f", "dk,fi,no", ","), -1);
	CHECK_INT(kcall(&t, M, "in_list", NULL, "no", "dk,fi,no", ","), 1);
	CHECK_INT(kcall(&t, M, "in_list", NULL, "fi", "dk,fi", ",,"), -1);
	CHECK_INT(kcall(&t, M, "in_list_prefix", NULL, "final", "dk,fi", ","),
		  1);
	CHECK_INT(kcall(&t, M, "in_list_prefix", NULL, "f", "dk,fi", ","), -1);
}

TEST(regex_cache_eviction)
{
	tmsg_t t;
	char pat[32];

	tmsg_parse(&t, MSG);
	/* more distinct patterns than the cache holds, twice over */
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 80; i++) {
			snprintf(pat, sizeof(pat), "X-Tag: (red|g%d)", i);
			CHECK_INT(kcall(&t, M, "search", NULL, pat), 1);
			snprintf(pat, sizeof(pat), "no-such-%d", i);
			CHECK_INT(kcall(&t, M, "search", NULL, pat), -1);
		}
	}
	tmsg_free(&t);
}

TEST(table)
{
	int n = 0;

	CHECK_STR(osp_mod_textops.name, "textops");
	for (const ksr_export_t *e = osp_mod_textops.exports; e->name; e++) {
		CHECK_STR(e->module, "textops");
		CHECK_INT(e->rtype, KSR_INT);
		n++;
	}
	CHECK(n >= 38);
	CHECK_INT(ksr_export_nparams(kfind(M, "subst_hf")), 3);
	CHECK_INT(kfind(M, "remove_hf_idx")->ptypes[1], KSR_INT);
}

/* clang-format off */
TEST_LIST(
	TEST_ENTRY(search),
	TEST_ENTRY(replace_in_headers_and_body),
	TEST_ENTRY(replace_body_variants),
	TEST_ENTRY(replace_str_and_append),
	TEST_ENTRY(subst),
	TEST_ENTRY(subst_uri_user_hf),
	TEST_ENTRY(chained_changes),
	TEST_ENTRY(line_edits_limits),
	TEST_ENTRY(headers),
	TEST_ENTRY(body),
	TEST_ENTRY(privacy),
	TEST_ENTRY(strings),
	TEST_ENTRY(regex_cache_eviction),
	TEST_ENTRY(table),
)
/* clang-format on */
