/* test_mods_corex.c - KSR.corex: R-URI user and User-Agent checks, file
 * read and write. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "test_mods_util.h"

extern osp_module_t osp_mod_corex;
#define M (&osp_mod_corex)

#define REQ(ruri, extra)                                                       \
	"INVITE " ruri " SIP/2.0\r\n"                                          \
	"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"                 \
	"From: <sip:alice@example.com>;tag=a1\r\n"                             \
	"To: <sip:bob@example.com>\r\n"                                        \
	"Call-ID: c1\r\n"                                                      \
	"CSeq: 1 INVITE\r\n" extra "Content-Length: 0\r\n"                     \
	"\r\n"

TEST(ruri_user)
{
	tmsg_t t;

	tmsg_parse(&t, REQ("sip:bob@example.com", ""));
	CHECK_INT(kcall(&t, M, "has_ruri_user", NULL), 1);
	/* the current R-URI counts, as Kamailio's parsed_uri */
	CHECK_INT(sip_set_ruri(&t.msg, STR_LIT("sip:example.com")), 0);
	CHECK_INT(kcall(&t, M, "has_ruri_user", NULL), -1);
	tmsg_free(&t);
	tmsg_parse(&t, REQ("sip:example.com;transport=udp", ""));
	CHECK_INT(kcall(&t, M, "has_ruri_user", NULL), -1);
	tmsg_free(&t);
	tmsg_parse(&t, "SIP/2.0 200 OK\r\n"
		       "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"
		       "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\n"
		       "Call-ID: x\r\nCSeq: 1 INVITE\r\n"
		       "Content-Length: 0\r\n\r\n");
	CHECK_INT(kcall(&t, M, "has_ruri_user", NULL), -1);
	tmsg_free(&t);
}

TEST(user_agent)
{
	tmsg_t t;

	tmsg_parse(&t, REQ("sip:bob@example.com", "User-Agent: Phone/2\r\n"));
	CHECK_INT(kcall(&t, M, "has_user_agent", NULL), 1);
	tmsg_free(&t);
	tmsg_parse(&t, REQ("sip:bob@example.com", "User-Agent:\r\n"));
	CHECK_INT(kcall(&t, M, "has_user_agent", NULL), -1);
	tmsg_free(&t);
	tmsg_parse(&t, REQ("sip:bob@example.com", ""));
	CHECK_INT(kcall(&t, M, "has_user_agent", NULL), -1);
	CHECK_INT(kcall(&t, M, "is_faked_msg", NULL), -1);
	tmsg_free(&t);
}

TEST(files)
{
	tmsg_t t;
	ksr_xval_t x;
	char path[] = "/tmp/osp_corex_XXXXXX";
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	tmsg_parse(&t, REQ("sip:bob@example.com", ""));
	CHECK_INT(kcall(&t, M, "file_write", NULL, path, "line1\nline2"), 1);
	kcall(&t, M, "file_read", &x, path);
	CHECK_XSTR(x, "line1\nline2");
	/* overwritten, not appended */
	CHECK_INT(kcall(&t, M, "file_write", NULL, path, "x"), 1);
	kcall(&t, M, "file_read", &x, path);
	CHECK_XSTR(x, "x");
	unlink(path);
	kcall(&t, M, "file_read", &x, path);
	CHECK_XSTR(x, ""); /* unreadable: "" as Kamailio */
	CHECK_INT(kcall(&t, M, "file_write", NULL, "/nonexistent/dir/f", "x"),
		  -1);
	CHECK_INT(kcall(&t, M, "file_write", NULL, "", "x"), -1);
	tmsg_free(&t);
	/* without a message the content goes to ctx->buf */
	memset(&t, 0, sizeof(t));
	strcpy(path, "/tmp/osp_corex_XXXXXX");
	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(write(fd, "abc", 3) == 3);
	close(fd);
	kcall(&t, M, "file_read", &x, path);
	CHECK_XSTR(x, "abc");
	unlink(path);
}

TEST(table)
{
	CHECK_STR(osp_mod_corex.name, "corex");
	CHECK_INT(kfind(M, "has_ruri_user")->rtype, KSR_INT);
	CHECK_INT(kfind(M, "file_read")->rtype, KSR_XVAL);
}

/* clang-format off */
TEST_LIST(
	TEST_ENTRY(ruri_user),
	TEST_ENTRY(user_agent),
	TEST_ENTRY(files),
	TEST_ENTRY(table),
)
/* clang-format on */
