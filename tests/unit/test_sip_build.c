/* test_sip_build.c - forwarded requests and replies, local replies; every
 * output is compared byte for byte. */
#include "core/osp.h"
#include "sip/build.h"
#include "unit.h"

static arena_t arena, out_arena;
static sip_msg_t msg;

static void parse_ok(const char *txt)
{
	static int inited;
	const char *why = "?";

	if (inited) {
		arena_reset(&arena);
		arena_reset(&out_arena);
	} else {
		arena_init(&arena);
		arena_init(&out_arena);
	}
	inited = 1;
	memset(&msg, 0, sizeof(msg));
	msg.arena = &arena;
	if (sip_msg_parse(&msg, txt, strlen(txt), &why) != 0)
		UNIT_FAIL("parse failed: %s", why);
}

/* Compare and show both texts on a mismatch (CR/LF made visible). */
#define CHECK_OUT(got, want)                                                   \
	do {                                                                   \
		str_t g_ = (got);                                              \
		const char *w_ = (want);                                       \
		if (g_.len != strlen(w_) || memcmp(g_.s, w_, g_.len) != 0) {   \
			fprintf(stderr, "--- got:\n%.*s\n--- want:\n%s\n",     \
				(int)g_.len, g_.s, w_);                        \
			UNIT_FAIL("output differs");                           \
		}                                                              \
	} while (0)

static void add(sip_hdr_add_t *ad, sip_add_where_t where, int anchor,
		const char *text)
{
	sip_hdr_add_t **pp = &msg.adds;

	ad->text = str_from(text);
	ad->where = where;
	ad->anchor = anchor;
	ad->next = NULL;
	while (*pp)
		pp = &(*pp)->next;
	*pp = ad;
}

#define REQ                                                                    \
	"INVITE sip:bob@biloxi.com SIP/2.0\r\n"                                \
	"Via: SIP/2.0/UDP pc33.atlanta.com;rport;branch=z9hG4bK776;received=9.9.9.9\r\n" \
	"Max-Forwards: 70\r\n"                                                 \
	"To: Bob <sip:bob@biloxi.com>\r\n"                                     \
	"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"               \
	"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"                         \
	"CSeq: 314159 INVITE\r\n"                                              \
	"X-Remove: me\r\n"                                                     \
	"Subject: old\r\n"                                                     \
	"Content-Length: 4\r\n"                                                \
	"\r\n"                                                                 \
	"v=0\r\ntrailing junk"

TEST(request_unchanged)
{
	str_t out;

	parse_ok(REQ);
	CHECK_INT(sip_build_request(&msg, STR_NULL, NULL, &out_arena, &out), 0);
	CHECK_OUT(out, "INVITE sip:bob@biloxi.com SIP/2.0\r\n"
		       "Via: SIP/2.0/UDP pc33.atlanta.com;rport;branch=z9hG4bK776;received=9.9.9.9\r\n"
		       "Max-Forwards: 70\r\n"
		       "To: Bob <sip:bob@biloxi.com>\r\n"
		       "From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
		       "Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
		       "CSeq: 314159 INVITE\r\n"
		       "X-Remove: me\r\n"
		       "Subject: old\r\n"
		       "Content-Length: 4\r\n"
		       "\r\n"
		       "v=0\r");
}

TEST(request_all_changes)
{
	sip_hdr_add_t a1, a2, a3, a4, a5, a6;
	sip_via_fix_t fix = {STR_LIT("192.0.2.1"), 5080};
	str_t out;

	parse_ok(REQ);
	CHECK_INT(sip_set_ruri(&msg, STR_LIT("sip:bob@192.0.2.4:5062")), 0);
	msg.hdrs[6].flags |= SIP_HDR_F_REMOVED;
	msg.hdrs[7].replace = STR_LIT("Subject: new\r\n");
	msg.hdrs[1].replace = STR_LIT("Max-Forwards: 69"); /* no CRLF */
	add(&a1, SIP_ADD_INSERT, 0, "X-Top: 1\r\n");
	add(&a2, SIP_ADD_APPEND, 0, "X-End: 2");
	add(&a3, SIP_ADD_BEFORE, 4, "X-Before-CallID: 3\r\n");
	add(&a4, SIP_ADD_AFTER, 5, "X-After-CSeq: 4\r\n");
	add(&a5, SIP_ADD_AFTER, 99, "X-Bad-Anchor: 5\r\n");
	add(&a6, SIP_ADD_BEFORE, 6, "X-Before-Removed: 6\r\nX-Two: 7\r\n");
	CHECK_INT(sip_build_request(&msg,
				    STR_LIT("Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKnew\r\n"),
				    &fix, &out_arena, &out),
		  0);
	CHECK_OUT(out, "INVITE sip:bob@192.0.2.4:5062 SIP/2.0\r\n"
		       "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKnew\r\n"
		       "X-Top: 1\r\n"
		       "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776;received=192.0.2.1;rport=5080\r\n"
		       "Max-Forwards: 69\r\n"
		       "To: Bob <sip:bob@biloxi.com>\r\n"
		       "From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
		       "X-Before-CallID: 3\r\n"
		       "Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
		       "CSeq: 314159 INVITE\r\n"
		       "X-After-CSeq: 4\r\n"
		       "X-Before-Removed: 6\r\nX-Two: 7\r\n"
		       "Subject: new\r\n"
		       "Content-Length: 4\r\n"
		       "X-End: 2\r\n"
		       "X-Bad-Anchor: 5\r\n"
		       "\r\n"
		       "v=0\r");
	/* the output is NUL-terminated for convenience */
	CHECK(out.s[out.len] == '\0');
}

TEST(request_new_body)
{
	str_t out;

	parse_ok("MESSAGE sip:a@b SIP/2.0\r\n"
		 "Via: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
		 "l: 4\r\n"
		 "X: y\r\n"
		 "Content-Length: 4\r\n"
		 "\r\n"
		 "abcd");
	msg.new_body = STR_LIT("hello world");
	CHECK_INT(sip_build_request(&msg, STR_NULL, NULL, &out_arena, &out), 0);
	CHECK_OUT(out, "MESSAGE sip:a@b SIP/2.0\r\n"
		       "Via: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
		       "Content-Length: 11\r\n"
		       "X: y\r\n"
		       "\r\n"
		       "hello world");

	/* an emptied body */
	msg.new_body = (str_t){"", 0};
	CHECK_INT(sip_build_request(&msg, STR_NULL, NULL, &out_arena, &out), 0);
	CHECK_OUT(out, "MESSAGE sip:a@b SIP/2.0\r\n"
		       "Via: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
		       "Content-Length: 0\r\n"
		       "X: y\r\n"
		       "\r\n");

	/* no Content-Length received (UDP): one is added */
	parse_ok("MESSAGE sip:a@b SIP/2.0\r\nX: y\r\n\r\nabc");
	CHECK_INT(sip_build_request(&msg, STR_NULL, NULL, &out_arena, &out), 0);
	CHECK_OUT(out, "MESSAGE sip:a@b SIP/2.0\r\nX: y\r\n"
		       "Content-Length: 3\r\n\r\nabc");

	/* removed by the script: written anyway */
	parse_ok("MESSAGE sip:a@b SIP/2.0\r\nl: 3\r\nX: y\r\n\r\nabc");
	msg.hdrs[0].flags |= SIP_HDR_F_REMOVED;
	CHECK_INT(sip_build_request(&msg, STR_NULL, NULL, &out_arena, &out), 0);
	CHECK_OUT(out, "MESSAGE sip:a@b SIP/2.0\r\nX: y\r\n"
		       "Content-Length: 3\r\n\r\nabc");
}

TEST(request_via_fix)
{
	sip_via_fix_t fix = {STR_LIT("2001:db8::5"), 0};
	str_t out;

	/* first via-parm without params, in a multi-parm header */
	parse_ok("OPTIONS sip:a@b SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP [2001:db8::1]:5060 , SIP/2.0/UDP b;received=1.1.1.1\r\n"
		 "Via: SIP/2.0/UDP c;received=2.2.2.2\r\n"
		 "Content-Length: 0\r\n"
		 "\r\n");
	CHECK_INT(sip_build_request(&msg, STR_NULL, &fix, &out_arena, &out), 0);
	CHECK_OUT(out, "OPTIONS sip:a@b SIP/2.0\r\n"
		       "Via: SIP/2.0/UDP [2001:db8::1]:5060;received=2001:db8::5 , SIP/2.0/UDP b;received=1.1.1.1\r\n"
		       "Via: SIP/2.0/UDP c;received=2.2.2.2\r\n"
		       "Content-Length: 0\r\n"
		       "\r\n");

	/* rport only; a valueless rport is replaced, received kept;
	 * spacing around ';' is normalised, quoted params kept */
	fix = (sip_via_fix_t){STR_NULL, 1234};
	parse_ok("OPTIONS sip:a@b SIP/2.0\r\n"
		 "v: SIP/2.0/UDP h:5060 ; received=3.3.3.3 ;rport; x=\"a;b\";branch=z9hG4bK9\r\n"
		 "l: 0\r\n"
		 "\r\n");
	CHECK_INT(sip_build_request(&msg, STR_NULL, &fix, &out_arena, &out), 0);
	CHECK_OUT(out, "OPTIONS sip:a@b SIP/2.0\r\n"
		       "v: SIP/2.0/UDP h:5060 ;received=3.3.3.3;x=\"a;b\";branch=z9hG4bK9;rport=1234\r\n"
		       "l: 0\r\n"
		       "\r\n");

	/* a fix on an unparsable Via is an error */
	parse_ok("OPTIONS sip:a@b SIP/2.0\r\nVia: junk\r\nl: 0\r\n\r\n");
	CHECK_INT(sip_build_request(&msg, STR_NULL, &fix, &out_arena, &out),
		  -OSP_EPARSE);
	/* without a fix it is copied */
	CHECK_INT(sip_build_request(&msg, STR_NULL, NULL, &out_arena, &out), 0);
	CHECK_OUT(out, "OPTIONS sip:a@b SIP/2.0\r\nVia: junk\r\nl: 0\r\n\r\n");
}

TEST(fwd_reply)
{
	str_t out;
	sip_hdr_add_t a1;

	parse_ok("SIP/2.0 200 OK\r\n"
		 "Via: SIP/2.0/UDP proxy.com;branch=z9hG4bK1,\r\n"
		 "  SIP/2.0/UDP pc33;branch=z9hG4bK2\r\n"
		 "Via: SIP/2.0/UDP c;branch=3\r\n"
		 "To: <sip:b@c>;tag=2\r\n"
		 "Content-Length: 2\r\n"
		 "\r\n"
		 "ok");
	CHECK_INT(sip_build_fwd_reply(&msg, &out_arena, &out), 0);
	CHECK_OUT(out, "SIP/2.0 200 OK\r\n"
		       "Via: SIP/2.0/UDP pc33;branch=z9hG4bK2\r\n"
		       "Via: SIP/2.0/UDP c;branch=3\r\n"
		       "To: <sip:b@c>;tag=2\r\n"
		       "Content-Length: 2\r\n"
		       "\r\n"
		       "ok");

	parse_ok("SIP/2.0 486 Busy Here\r\n"
		 "Via: SIP/2.0/UDP proxy.com;branch=z9hG4bK1\r\n"
		 "Via: SIP/2.0/UDP c;branch=3\r\n"
		 "X-Secret: 1\r\n"
		 "l: 0\r\n"
		 "\r\n");
	msg.hdrs[2].flags |= SIP_HDR_F_REMOVED;
	add(&a1, SIP_ADD_APPEND, 0, "Reason: SIP;cause=486\r\n");
	CHECK_INT(sip_build_fwd_reply(&msg, &out_arena, &out), 0);
	CHECK_OUT(out, "SIP/2.0 486 Busy Here\r\n"
		       "Via: SIP/2.0/UDP c;branch=3\r\n"
		       "l: 0\r\n"
		       "Reason: SIP;cause=486\r\n"
		       "\r\n");

	/* only our Via: the reply was meant for us (RFC 3261 §16.7 step 3) */
	parse_ok("SIP/2.0 487 Request Terminated\r\n"
		 "Via: SIP/2.0/UDP proxy.com;branch=z9hG4bK1\r\n"
		 "Content-Length: 0\r\n\r\n");
	CHECK_INT(sip_build_fwd_reply(&msg, &out_arena, &out), -OSP_EPARSE);
	parse_ok("SIP/2.0 200 OK\r\nVia: bad\r\n\r\n");
	CHECK_INT(sip_build_fwd_reply(&msg, &out_arena, &out), -OSP_EPARSE);
	parse_ok("SIP/2.0 200 OK\r\nl: 0\r\n\r\n");
	CHECK_INT(sip_build_fwd_reply(&msg, &out_arena, &out), -OSP_EPARSE);
	parse_ok("OPTIONS sip:a SIP/2.0\r\nl: 0\r\n\r\n");
	CHECK_INT(sip_build_fwd_reply(&msg, &out_arena, &out), -OSP_EINVAL);
}

#define UAC_REQ                                                                \
	"INVITE sip:bob@biloxi.com SIP/2.0\r\n"                                \
	"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776;rport\r\n"        \
	"Record-Route: <sip:p2.example.com;lr>\r\n"                            \
	"v: SIP/2.0/TCP proxy.example.com;branch=z9hG4bK0\r\n"                 \
	"Max-Forwards: 70\r\n"                                                 \
	"Record-Route: <sip:p1.example.com;lr>\r\n"                            \
	"t: Bob <sip:bob@biloxi.com> \r\n"                                     \
	"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"               \
	"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"                         \
	"CSeq: 314159 INVITE\r\n"                                              \
	"Contact: <sip:alice@pc33.atlanta.com>\r\n"                            \
	"Content-Length: 0\r\n"                                                \
	"\r\n"

TEST(local_reply)
{
	sip_via_fix_t fix = {STR_LIT("192.0.2.9"), 5066};
	sip_hdr_add_t ra1;
	str_t out;

	parse_ok(UAC_REQ);
	msg.hdrs[4].flags |= SIP_HDR_F_REMOVED; /* does not matter here */
	CHECK_INT(sip_build_reply(&msg, 404, STR_NULL, STR_LIT("abc123"), &fix,
				  STR_NULL, STR_NULL, &out_arena, &out),
		  0);
	CHECK_OUT(out, "SIP/2.0 404 Not Found\r\n"
		       "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776;received=192.0.2.9;rport=5066\r\n"
		       "v: SIP/2.0/TCP proxy.example.com;branch=z9hG4bK0\r\n"
		       "From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
		       "t: Bob <sip:bob@biloxi.com>;tag=abc123 \r\n"
		       "Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
		       "CSeq: 314159 INVITE\r\n"
		       "Content-Length: 0\r\n"
		       "\r\n");

	/* 100: no tag, no Record-Route, own reason */
	CHECK_INT(sip_build_reply(&msg, 100, STR_LIT("Trying hard"),
				  STR_LIT("abc123"), NULL, STR_NULL, STR_NULL,
				  &out_arena, &out),
		  0);
	CHECK_OUT(out, "SIP/2.0 100 Trying hard\r\n"
		       "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776;rport\r\n"
		       "v: SIP/2.0/TCP proxy.example.com;branch=z9hG4bK0\r\n"
		       "From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
		       "t: Bob <sip:bob@biloxi.com> \r\n"
		       "Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
		       "CSeq: 314159 INVITE\r\n"
		       "Content-Length: 0\r\n"
		       "\r\n");

	/* 200: Record-Route copied in order, reply_adds, extra, body */
	ra1 = (sip_hdr_add_t){STR_LIT("Server: osprey"), SIP_ADD_APPEND, 0,
			      NULL};
	msg.reply_adds = &ra1;
	CHECK_INT(sip_build_reply(&msg, 200, STR_NULL, STR_LIT("t1"), NULL,
				  STR_LIT("Contact: <sip:bob@192.0.2.4>\r\n"
					  "Content-Type: text/plain\r\n"),
				  STR_LIT("hi"), &out_arena, &out),
		  0);
	CHECK_OUT(out, "SIP/2.0 200 OK\r\n"
		       "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776;rport\r\n"
		       "v: SIP/2.0/TCP proxy.example.com;branch=z9hG4bK0\r\n"
		       "Record-Route: <sip:p2.example.com;lr>\r\n"
		       "Record-Route: <sip:p1.example.com;lr>\r\n"
		       "From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
		       "t: Bob <sip:bob@biloxi.com>;tag=t1 \r\n"
		       "Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
		       "CSeq: 314159 INVITE\r\n"
		       "Server: osprey\r\n"
		       "Contact: <sip:bob@192.0.2.4>\r\n"
		       "Content-Type: text/plain\r\n"
		       "Content-Length: 2\r\n"
		       "\r\n"
		       "hi");

	CHECK_INT(sip_build_reply(&msg, 99, STR_NULL, STR_NULL, NULL, STR_NULL,
				  STR_NULL, &out_arena, &out),
		  -OSP_EINVAL);
	CHECK_INT(sip_build_reply(&msg, 700, STR_NULL, STR_NULL, NULL, STR_NULL,
				  STR_NULL, &out_arena, &out),
		  -OSP_EINVAL);
}

TEST(local_reply_tagged)
{
	str_t out;

	/* To already tagged (in-dialog request): left alone; empty to_tag */
	parse_ok("BYE sip:a@b SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP h;branch=z9hG4bK5\r\n"
		 "From: <sip:x@y>;tag=1\r\n"
		 "To: <sip:a@b>;tag=2\r\n"
		 "Call-ID: c\r\n"
		 "CSeq: 7 BYE\r\n"
		 "\r\n");
	CHECK_INT(sip_build_reply(&msg, 481, STR_NULL, STR_LIT("zz"), NULL,
				  STR_NULL, STR_NULL, &out_arena, &out),
		  0);
	CHECK_OUT(out, "SIP/2.0 481 Call/Transaction Does Not Exist\r\n"
		       "Via: SIP/2.0/UDP h;branch=z9hG4bK5\r\n"
		       "From: <sip:x@y>;tag=1\r\n"
		       "To: <sip:a@b>;tag=2\r\n"
		       "Call-ID: c\r\n"
		       "CSeq: 7 BYE\r\n"
		       "Content-Length: 0\r\n"
		       "\r\n");

	parse_ok("OPTIONS sip:a@b SIP/2.0\r\n"
		 "To: sip:a@b\r\n"
		 "\r\n");
	CHECK_INT(sip_build_reply(&msg, 200, STR_LIT("Fine"), STR_NULL, NULL,
				  STR_NULL, STR_NULL, &out_arena, &out),
		  0);
	CHECK_OUT(out, "SIP/2.0 200 Fine\r\nTo: sip:a@b\r\n"
		       "Content-Length: 0\r\n\r\n");
	CHECK_INT(sip_build_reply(&msg, 200, STR_LIT("Fine"), STR_LIT("q"),
				  NULL, STR_NULL, STR_NULL, &out_arena, &out),
		  0);
	CHECK_OUT(out, "SIP/2.0 200 Fine\r\nTo: sip:a@b;tag=q\r\n"
		       "Content-Length: 0\r\n\r\n");

	parse_ok("SIP/2.0 200 OK\r\n\r\n");
	CHECK_INT(sip_build_reply(&msg, 200, STR_NULL, STR_NULL, NULL,
				  STR_NULL, STR_NULL, &out_arena, &out),
		  -OSP_EINVAL);
	parse_ok("SIP/2.0 200 OK\r\n\r\n");
	CHECK_INT(sip_build_request(&msg, STR_NULL, NULL, &out_arena, &out),
		  -OSP_EINVAL);
}

/* The builders write in one pass into a buffer sized by a guess; what the
 * guess does not count (a replacement line longer than the header it
 * replaces, an added line beyond the local reply's headers) makes the
 * writer run again into a buffer of the exact size: the output is the same
 * bytes as a small change gives, whatever the size. */
TEST(output_beyond_guess)
{
	static char big[8192], want[16384];
	size_t n = 6000;
	str_t out;

	memcpy(big, "Subject: ", 9);
	memset(big + 9, 'x', n);
	memcpy(big + 9 + n, "\r\n", 3);
	parse_ok(REQ);
	msg.hdrs[7].replace = str_from(big);
	CHECK_INT(sip_build_request(&msg, STR_NULL, NULL, &out_arena, &out), 0);
	snprintf(want, sizeof(want),
		 "INVITE sip:bob@biloxi.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP pc33.atlanta.com;rport;branch=z9hG4bK776;received=9.9.9.9\r\n"
		 "Max-Forwards: 70\r\n"
		 "To: Bob <sip:bob@biloxi.com>\r\n"
		 "From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
		 "Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
		 "CSeq: 314159 INVITE\r\n"
		 "X-Remove: me\r\n"
		 "%s"
		 "Content-Length: 4\r\n"
		 "\r\n"
		 "v=0\r", big);
	CHECK_OUT(out, want);
	CHECK(out.s[out.len] == '\0');

	/* a forwarded reply with a long replacement */
	parse_ok("SIP/2.0 200 OK\r\n"
		 "Via: SIP/2.0/UDP proxy;branch=z9hG4bKp, SIP/2.0/UDP uac;branch=z9hG4bKu\r\n"
		 "Subject: old\r\n"
		 "Content-Length: 0\r\n\r\n");
	msg.hdrs[1].replace = str_from(big);
	CHECK_INT(sip_build_fwd_reply(&msg, &out_arena, &out), 0);
	snprintf(want, sizeof(want),
		 "SIP/2.0 200 OK\r\n"
		 "Via: SIP/2.0/UDP uac;branch=z9hG4bKu\r\n"
		 "%s"
		 "Content-Length: 0\r\n\r\n", big);
	CHECK_OUT(out, want);

	/* a local reply with large extra headers (its guess counts them) */
	parse_ok("OPTIONS sip:a@b SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		 "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\n"
		 "CSeq: 1 OPTIONS\r\n\r\n");
	CHECK_INT(sip_build_reply(&msg, 200, STR_NULL, STR_LIT("t1"), NULL,
				  str_from(big), STR_NULL, &out_arena, &out),
		  0);
	snprintf(want, sizeof(want),
		 "SIP/2.0 200 OK\r\n"
		 "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		 "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=t1\r\nCall-ID: x\r\n"
		 "CSeq: 1 OPTIONS\r\n%sContent-Length: 0\r\n\r\n", big);
	CHECK_OUT(out, want);
}

TEST(reason_phrases)
{
	CHECK_STR(sip_reason_phrase(100), "Trying");
	CHECK_STR(sip_reason_phrase(180), "Ringing");
	CHECK_STR(sip_reason_phrase(183), "Session Progress");
	CHECK_STR(sip_reason_phrase(200), "OK");
	CHECK_STR(sip_reason_phrase(302), "Moved Temporarily");
	CHECK_STR(sip_reason_phrase(401), "Unauthorized");
	CHECK_STR(sip_reason_phrase(407), "Proxy Authentication Required");
	CHECK_STR(sip_reason_phrase(408), "Request Timeout");
	CHECK_STR(sip_reason_phrase(423), "Interval Too Brief");
	CHECK_STR(sip_reason_phrase(483), "Too Many Hops");
	CHECK_STR(sip_reason_phrase(500), "Server Internal Error");
	CHECK_STR(sip_reason_phrase(503), "Service Unavailable");
	CHECK_STR(sip_reason_phrase(603), "Decline");
	CHECK_STR(sip_reason_phrase(299), "Unknown");
	CHECK_STR(sip_reason_phrase(0), "Unknown");
}

TEST_LIST(
	TEST_ENTRY(request_unchanged),
	TEST_ENTRY(request_all_changes),
	TEST_ENTRY(request_new_body),
	TEST_ENTRY(request_via_fix),
	TEST_ENTRY(fwd_reply),
	TEST_ENTRY(local_reply),
	TEST_ENTRY(local_reply_tagged),
	TEST_ENTRY(output_beyond_guess),
	TEST_ENTRY(reason_phrases),
)
