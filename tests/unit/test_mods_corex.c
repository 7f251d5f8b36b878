/* test_mods_corex.c - KSR.corex: R-URI user and User-Agent checks, file
 * read and write. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/dset.h"
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

TEST(branches)
{
	tmsg_t t;
	osp_branch_t *b;

	tmsg_parse(&t, REQ("sip:bob@example.com", ""));
	t.msg.dst_uri = STR_LIT("sip:10.0.0.1:5080");
	t.msg.path_vec = STR_LIT("<sip:edge.example.com;lr>");
	t.msg.bflags = 0x40;
	/* an explicit URI: branch 0 keeps its attributes */
	CHECK_INT(kcall(&t, M, "append_branch_uri_q", NULL,
			"sip:bob@192.0.2.50", "0.5"),
		  1);
	CHECK_INT(dset_count(&t.msg), 1);
	b = dset_get(&t.msg, 0);
	CHECK_STRV(b->uri, "sip:bob@192.0.2.50");
	CHECK_STRV(b->dst_uri, "sip:10.0.0.1:5080");
	CHECK_STRV(b->path, "<sip:edge.example.com;lr>");
	CHECK_INT(b->q, 500);
	CHECK_INT(b->flags, 0x40);
	CHECK_STRV(t.msg.dst_uri, "sip:10.0.0.1:5080");
	CHECK_INT(kcall(&t, M, "append_branch_uri", NULL, "sip:bob@192.0.2.51"),
		  1);
	CHECK_INT(dset_get(&t.msg, 1)->q, -1);
	/* bad q values */
	CHECK_INT(kcall(&t, M, "append_branch_uri_q", NULL, "sip:x@y", "1.5"),
		  -1);
	CHECK_INT(
	    kcall(&t, M, "append_branch_uri_q", NULL, "sip:x@y", "0.1234"), -1);
	CHECK_INT(kcall(&t, M, "append_branch_uri_q", NULL, "sip:x@y", "abc"),
		  -1);
	CHECK_INT(dset_count(&t.msg), 2);
	/* no URI: the R-URI moves into a branch, branch 0 is reset */
	CHECK_INT(kcall(&t, M, "append_branch", NULL), 1);
	b = dset_get(&t.msg, 2);
	CHECK_STRV(b->uri, "sip:bob@example.com");
	CHECK_STRV(b->dst_uri, "sip:10.0.0.1:5080");
	CHECK_INT(b->flags, 0x40);
	CHECK_INT(t.msg.dst_uri.len, 0);
	CHECK_INT(t.msg.path_vec.len, 0);
	CHECK_INT(t.msg.bflags, 0);
	CHECK_INT(kcall(&t, M, "append_branch_uri_q", NULL, "sip:z@y", "1.0"),
		  1);
	CHECK_INT(dset_get(&t.msg, 3)->q, 1000);
	tmsg_free(&t);
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
	TEST_ENTRY(branches),
	TEST_ENTRY(table),
)
/* clang-format on */
