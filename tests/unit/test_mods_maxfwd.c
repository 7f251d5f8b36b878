/* test_mods_maxfwd.c - KSR.maxfwd: return codes and the rewritten or added
 * Max-Forwards header in the forwarded request. */
#include "test_mods_util.h"

extern osp_module_t osp_mod_maxfwd;
#define M (&osp_mod_maxfwd)

#define REQ(mf)                                                                \
	"OPTIONS sip:bob@example.com SIP/2.0\r\n"                              \
	"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"                 \
	"From: <sip:alice@example.com>;tag=a1\r\n"                             \
	"To: <sip:bob@example.com>\r\n" mf "Call-ID: c1\r\n"                   \
	"CSeq: 1 OPTIONS\r\n"                                                  \
	"Content-Length: 0\r\n"                                                \
	"\r\n"

/* The same request with a Max-Forwards line chosen at run time. */
static char req_var_buf[1024];
static const char *req_with(const char *mf)
{
	snprintf(req_var_buf, sizeof(req_var_buf), "%s%s%s",
		 "OPTIONS sip:bob@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"
		 "From: <sip:alice@example.com>;tag=a1\r\n"
		 "To: <sip:bob@example.com>\r\n",
		 mf, "Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
	return req_var_buf;
}

TEST(decrement)
{
	tmsg_t t;
	const char *out;

	tmsg_parse(&t, REQ("Max-Forwards: 10\r\n"));
	CHECK_INT(kcall(&t, M, "process_maxfwd", NULL, 10L), 1);
	out = tmsg_build(&t);
	CHECK_HAS(out, "To: <sip:bob@example.com>\r\nMax-Forwards: 9\r\n"
		       "Call-ID: c1\r\n");
	CHECK_HASNT(out, "Max-Forwards: 10");
	/* the next call sees 9, as Kamailio's cached value */
	CHECK_INT(kcall(&t, M, "is_maxfwd_lt", NULL, 10L), 1);
	CHECK_INT(kcall(&t, M, "is_maxfwd_lt", NULL, 9L), -1);
	CHECK_INT(kcall(&t, M, "process_maxfwd", NULL, 10L), 1);
	CHECK_HAS(tmsg_build(&t), "Max-Forwards: 8\r\n");
	tmsg_free(&t);
}

TEST(capped_to_max_limit)
{
	tmsg_t t;

	/* 200 > max_limit (70): lowered to 71 then decremented */
	tmsg_parse(&t, REQ("Max-Forwards: 200\r\n"));
	CHECK_INT(kcall(&t, M, "process_maxfwd", NULL, 10L), 1);
	CHECK_HAS(tmsg_build(&t), "\r\nMax-Forwards: 70\r\n");
	tmsg_free(&t);
	/* compact case and name spelling kept */
	tmsg_parse(&t, REQ("max-forwards:  5 \r\n"));
	CHECK_INT(kcall(&t, M, "process_maxfwd", NULL, 70L), 1);
	CHECK_HAS(tmsg_build(&t), "\r\nmax-forwards: 4\r\n");
	tmsg_free(&t);
}

TEST(missing_header_added)
{
	tmsg_t t;
	const char *out;

	tmsg_parse(&t, REQ(""));
	CHECK_INT(kcall(&t, M, "process_maxfwd", NULL, 10L), 2);
	/* a second call does not add it twice */
	CHECK_INT(kcall(&t, M, "process_maxfwd", NULL, 10L), 2);
	out = tmsg_build(&t);
	CHECK_HAS(out, "OPTIONS sip:bob@example.com SIP/2.0\r\n"
		       "Max-Forwards: 10\r\nVia: ");
	CHECK_INT(count_sub(out, "Max-Forwards"), 1);
	CHECK_INT(kcall(&t, M, "is_maxfwd_lt", NULL, 10L), -2);
	tmsg_free(&t);
}

TEST(zero_and_errors)
{
	tmsg_t t;

	tmsg_parse(&t, REQ("Max-Forwards: 0\r\n"));
	CHECK_INT(kcall(&t, M, "process_maxfwd", NULL, 10L), -1);
	CHECK_HAS(tmsg_build(&t), "Max-Forwards: 0\r\n");
	CHECK_INT(kcall(&t, M, "is_maxfwd_lt", NULL, 1L), 1);
	CHECK_INT(kcall(&t, M, "process_maxfwd", NULL, 256L), -1);
	CHECK_INT(kcall(&t, M, "process_maxfwd", NULL, -1L), -1);
	CHECK_INT(kcall(&t, M, "is_maxfwd_lt", NULL, 300L), -1);
	tmsg_free(&t);
}

TEST(malformed)
{
	tmsg_t t;
	const char *why = NULL;

	memset(&t, 0, sizeof(t));
	arena_init(&t.arena);
	strcpy(t.raw, REQ("Max-Forwards: ten\r\n"));
	t.msg.arena = &t.arena;
	if (sip_msg_parse(&t.msg, t.raw, strlen(t.raw), &why) != 0) {
		/* the parser refused it already: nothing left to test */
		tmsg_free(&t);
		return;
	}
	t.ctx.msg = &t.msg;
	CHECK_INT(kcall(&t, M, "process_maxfwd", NULL, 10L), -2);
	CHECK_INT(kcall(&t, M, "is_maxfwd_lt", NULL, 10L), -3);
	tmsg_free(&t);
}

/* The value is written by hand (no snprintf): every result 0..255 with
 * max_limit 255, and the added header for one-, two- and three-digit
 * limits. */
TEST(every_value_written)
{
	tmsg_t t;
	char hdr[64], want[64];

	*(int *)osp_mod_maxfwd.params[0].var = 255;
	for (int v = 1; v <= 300; v++) {
		snprintf(hdr, sizeof(hdr), "Max-Forwards: %d\r\n", v);
		snprintf(want, sizeof(want), "\r\nMax-Forwards: %d\r\nCall-ID",
			 (v > 255 ? 256 : v) - 1);
		tmsg_parse(&t, req_with(hdr));
		CHECK_INT(kcall(&t, M, "process_maxfwd", NULL, 70L), 1);
		CHECK_HAS(tmsg_build(&t), want);
		tmsg_free(&t);
	}
	*(int *)osp_mod_maxfwd.params[0].var = 70;
	static const long limits[] = {0, 7, 10, 99, 100, 255};
	for (size_t i = 0; i < OSP_ARRAY_LEN(limits); i++) {
		snprintf(want, sizeof(want),
			 "SIP/2.0\r\nMax-Forwards: %ld\r\nVia: ", limits[i]);
		tmsg_parse(&t, REQ(""));
		CHECK_INT(kcall(&t, M, "process_maxfwd", NULL, limits[i]), 2);
		CHECK_HAS(tmsg_build(&t), want);
		tmsg_free(&t);
	}
}

TEST(params)
{
	CHECK_STR(osp_mod_maxfwd.name, "maxfwd");
	CHECK_STR(osp_mod_maxfwd.params[0].name, "max_limit");
	CHECK_INT(osp_mod_maxfwd.init(), 0);
	*(int *)osp_mod_maxfwd.params[0].var = 300;
	CHECK(osp_mod_maxfwd.init() < 0);
	*(int *)osp_mod_maxfwd.params[0].var = 70;
}

/* clang-format off */
TEST_LIST(
	TEST_ENTRY(decrement),
	TEST_ENTRY(capped_to_max_limit),
	TEST_ENTRY(missing_header_added),
	TEST_ENTRY(zero_and_errors),
	TEST_ENTRY(malformed),
	TEST_ENTRY(every_value_written),
	TEST_ENTRY(params),
)
/* clang-format on */
