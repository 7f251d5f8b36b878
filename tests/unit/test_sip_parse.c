/* test_sip_parse.c - message parsing, header values and stream framing. */
#include "core/osp.h"
#include "sip/msg.h"
#include "sip/sip_int.h"
#include "unit.h"

static arena_t arena;
static sip_msg_t msg;

/* Fresh arena for the next case (blocks of the previous one are freed). */
static void reset_arena(void)
{
	static int inited;

	if (inited)
		arena_reset(&arena);
	else
		arena_init(&arena);
	inited = 1;
}

/* Parse a NUL-terminated text into the file's message; returns the rc. */
static int parse_len(const char *txt, size_t len, const char **why)
{
	reset_arena();
	memset(&msg, 0, sizeof(msg));
	msg.arena = &arena;
	return sip_msg_parse(&msg, txt, len, why);
}

static int parse(const char *txt)
{
	const char *why = NULL;

	return parse_len(txt, strlen(txt), &why);
}

static void parse_ok(const char *txt)
{
	const char *why = NULL;

	if (parse_len(txt, strlen(txt), &why) != 0)
		UNIT_FAIL("parse failed: %s", why ? why : "?");
}

#define INVITE_HDRS                                                            \
	"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n"        \
	"Max-Forwards: 70\r\n"                                                 \
	"To: Bob <sip:bob@biloxi.com>\r\n"                                     \
	"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"               \
	"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"                         \
	"CSeq: 314159 INVITE\r\n"                                              \
	"Contact: <sip:alice@pc33.atlanta.com>\r\n"                            \
	"Content-Type: application/sdp\r\n"

TEST(request_basic)
{
	static const char m[] = "INVITE sip:bob@biloxi.com SIP/2.0\r\n" INVITE_HDRS
				"Content-Length: 4\r\n"
				"\r\n"
				"v=0\r\nEXTRA";
	sip_hdr_t *h;

	parse_ok(m);
	CHECK_INT(msg.kind, SIP_REQUEST);
	CHECK_STRV(msg.method, "INVITE");
	CHECK_INT(msg.method_id, SIP_METHOD_INVITE);
	CHECK_STRV(msg.ruri, "sip:bob@biloxi.com");
	CHECK_STRV(msg.version, "SIP/2.0");
	CHECK_STRV(msg.first_line, "INVITE sip:bob@biloxi.com SIP/2.0");
	CHECK_INT(msg.n_hdrs, 9);
	CHECK_INT(msg.first[SIP_HDR_VIA], 0);
	CHECK_INT(msg.first[SIP_HDR_MAXFWD], 1);
	CHECK_INT(msg.first[SIP_HDR_TO], 2);
	CHECK_INT(msg.first[SIP_HDR_FROM], 3);
	CHECK_INT(msg.first[SIP_HDR_CALLID], 4);
	CHECK_INT(msg.first[SIP_HDR_CSEQ], 5);
	CHECK_INT(msg.first[SIP_HDR_CONTACT], 6);
	CHECK_INT(msg.first[SIP_HDR_CTYPE], 7);
	CHECK_INT(msg.first[SIP_HDR_CLEN], 8);
	CHECK_INT(msg.first[SIP_HDR_ROUTE], -1);
	CHECK_INT(msg.first[SIP_HDR_OTHER], -1);
	h = &msg.hdrs[3];
	CHECK_STRV(h->name, "From");
	CHECK_STRV(h->value, "Alice <sip:alice@atlanta.com>;tag=1928301774");
	CHECK_STRV(h->raw,
		   "From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n");
	CHECK(h->parsed == NULL);
	CHECK_STRV(msg.body, "v=0\r");
	CHECK_INT(msg.hdrs_end, strstr(m, "\r\n\r\n") + 2 - m);
	CHECK_STRV(sip_get_callid(&msg), "a84b4c76e66710@pc33.atlanta.com");
	CHECK_INT(sip_get_maxfwd(&msg), 70);
	CHECK_INT(sip_msg_check_mandatory(&msg, NULL), 0);
}

TEST(reply_basic)
{
	parse_ok("SIP/2.0 180 Ringing now\r\n" INVITE_HDRS "\r\n");
	CHECK_INT(msg.kind, SIP_REPLY);
	CHECK_INT(msg.status, 180);
	CHECK_STRV(msg.reason, "Ringing now");
	CHECK_STRV(msg.version, "SIP/2.0");
	CHECK_INT(sip_msg_check_mandatory(&msg, NULL), 0);
	/* no body and no Content-Length: empty body */
	CHECK_INT(msg.body.len, 0);

	/* empty reason, with and without the SP */
	parse_ok("SIP/2.0 200 \r\nCall-ID: x\r\n\r\n");
	CHECK_INT(msg.status, 200);
	CHECK_INT(msg.reason.len, 0);
	parse_ok("SIP/2.0 699\r\nCall-ID: x\r\n\r\n");
	CHECK_INT(msg.status, 699);
	parse_ok("sip/2.0 100 Trying\r\n\r\n");
	CHECK_INT(msg.status, 100);
}

TEST(bad_start_lines)
{
	static const char *bad[] = {
		"",
		"\r\n\r\n",
		"INVITE sip:a@b SIP/2.0",             /* no line end */
		"INVITE  sip:a@b SIP/2.0\r\n\r\n",    /* two SP */
		"INVITE sip:a@b  SIP/2.0\r\n\r\n",
		"INVITE sip:a@b SIP/2.0 \r\n\r\n",    /* trailing SP */
		"INVITE sip:a@b SIP/3.0\r\n\r\n",
		"INVITE sip:a@b\r\n\r\n",
		"INV@TE sip:a@b SIP/2.0\r\n\r\n",
		"INVITE\r\n\r\n",
		" INVITE sip:a@b SIP/2.0\r\n\r\n",
		"SIP/2.0 99 Low\r\n\r\n",
		"SIP/2.0 700 High\r\n\r\n",
		"SIP/2.0 20a Bad\r\n\r\n",
		"SIP/2.0 2000 Long\r\n\r\n",
		"SIP/2.0 200OK\r\n\r\n",
		"SIP/2.0  200 OK\r\n\r\n",
		"SIP/2.1 200 OK\r\n\r\n",
		"SIP/2.0 20\r\n\r\n",
		NULL,
	};
	const char *why;

	for (int i = 0; bad[i]; i++) {
		why = NULL;
		if (parse_len(bad[i], strlen(bad[i]), &why) != -OSP_EPARSE)
			UNIT_FAIL("accepted bad start line #%d", i);
		CHECK(why != NULL);
	}
	/* a lower-case version is accepted (ABNF literals are
	 * case-insensitive) */
	parse_ok("OPTIONS sip:a@b sip/2.0\r\n\r\n");
	CHECK_INT(msg.method_id, SIP_METHOD_OPTIONS);
	/* unknown methods are tokens */
	parse_ok("FOO.BAR sip:a@b SIP/2.0\r\n\r\n");
	CHECK_INT(msg.method_id, SIP_METHOD_OTHER);
	/* methods are case-sensitive */
	parse_ok("invite sip:a@b SIP/2.0\r\n\r\n");
	CHECK_INT(msg.method_id, SIP_METHOD_OTHER);
}

TEST(bad_header_lines)
{
	CHECK_INT(parse("OPTIONS sip:a@b SIP/2.0\r\nNoColon\r\n\r\n"),
		  -OSP_EPARSE);
	CHECK_INT(parse("OPTIONS sip:a@b SIP/2.0\r\n: x\r\n\r\n"), -OSP_EPARSE);
	CHECK_INT(parse("OPTIONS sip:a@b SIP/2.0\r\n x: y\r\n\r\n"),
		  -OSP_EPARSE);
	CHECK_INT(parse("OPTIONS sip:a@b SIP/2.0\r\nBad Name: y\r\n\r\n"),
		  -OSP_EPARSE);
	CHECK_INT(parse("OPTIONS sip:a@b SIP/2.0\r\nX: unterminated"),
		  -OSP_EPARSE);
	/* a message ending right after a complete header line is tolerated */
	parse_ok("OPTIONS sip:a@b SIP/2.0\r\nX: y\r\n");
	CHECK_INT(msg.n_hdrs, 1);
	CHECK_INT(msg.body.len, 0);
	CHECK_INT(msg.hdrs_end, msg.len);
	/* whitespace before the colon, empty value */
	parse_ok("OPTIONS sip:a@b SIP/2.0\r\nSubject \t: \r\nX:\r\n\r\n");
	CHECK_INT(msg.hdrs[0].type, SIP_HDR_SUBJECT);
	CHECK_STRV(msg.hdrs[0].name, "Subject");
	CHECK_STRV(msg.hdrs[0].value, "");
	CHECK(msg.hdrs[0].value.s != NULL);
	CHECK_STRV(msg.hdrs[1].value, "");
}

TEST(compact_and_case)
{
	parse_ok("REGISTER sip:example.com SIP/2.0\r\n"
		 "v: SIP/2.0/TCP h1;branch=z9hG4bK1\r\n"
		 "f: <sip:a@example.com>;tag=9\r\n"
		 "t: <sip:a@example.com>\r\n"
		 "i: cid1\r\n"
		 "m: <sip:a@10.0.0.1>\r\n"
		 "c: text/plain\r\n"
		 "k: path, outbound\r\n"
		 "s: hello\r\n"
		 "e: gzip\r\n"
		 "o: presence\r\n"
		 "x: 1800\r\n"
		 "u: talk\r\n"
		 "CSEQ: 1 REGISTER\r\n"
		 "mAX-fORWARDS: 5\r\n"
		 "l: 0\r\n"
		 "\r\n");
	CHECK_INT(msg.hdrs[0].type, SIP_HDR_VIA);
	CHECK_INT(msg.hdrs[1].type, SIP_HDR_FROM);
	CHECK_INT(msg.hdrs[2].type, SIP_HDR_TO);
	CHECK_INT(msg.hdrs[3].type, SIP_HDR_CALLID);
	CHECK_INT(msg.hdrs[4].type, SIP_HDR_CONTACT);
	CHECK_INT(msg.hdrs[5].type, SIP_HDR_CTYPE);
	CHECK_INT(msg.hdrs[6].type, SIP_HDR_SUPPORTED);
	CHECK_INT(msg.hdrs[7].type, SIP_HDR_SUBJECT);
	CHECK_INT(msg.hdrs[8].type, SIP_HDR_CONTENTENCODING);
	CHECK_INT(msg.hdrs[9].type, SIP_HDR_EVENT);
	CHECK_INT(msg.hdrs[10].type, SIP_HDR_OTHER);
	CHECK_INT(msg.hdrs[11].type, SIP_HDR_OTHER);
	CHECK_INT(msg.hdrs[12].type, SIP_HDR_CSEQ);
	CHECK_INT(msg.hdrs[13].type, SIP_HDR_MAXFWD);
	CHECK_INT(msg.hdrs[14].type, SIP_HDR_CLEN);
	CHECK_INT(msg.first[SIP_HDR_OTHER], 10);
	CHECK_INT(sip_msg_check_mandatory(&msg, NULL), 0);
	CHECK_INT(sip_get_maxfwd(&msg), 5);
	CHECK_STRV(sip_get_via1(&msg)->transport, "TCP");
	/* lookups by either form */
	CHECK(sip_hdr_find(&msg, STR_LIT("session-expires")) == &msg.hdrs[10]);
	CHECK(sip_hdr_find(&msg, STR_LIT("X")) == &msg.hdrs[10]);
	CHECK(sip_hdr_find(&msg, STR_LIT("Allow-Events")) == &msg.hdrs[11]);
	CHECK(sip_hdr_find(&msg, STR_LIT("Call-ID")) == &msg.hdrs[3]);
	CHECK(sip_hdr_find(&msg, STR_LIT("I")) == &msg.hdrs[3]);
	CHECK(sip_hdr_find(&msg, STR_LIT("Refer-To")) == NULL);
	CHECK(sip_hdr_first(&msg, SIP_HDR_ROUTE) == NULL);
	CHECK(sip_hdr_next(&msg, &msg.hdrs[10]) == NULL);
}

TEST(hdr_type_names)
{
	static const struct {
		const char *n;
		sip_hdr_type_t t;
	} v[] = {
		{"Via", SIP_HDR_VIA}, {"From", SIP_HDR_FROM}, {"To", SIP_HDR_TO},
		{"CSeq", SIP_HDR_CSEQ}, {"Call-ID", SIP_HDR_CALLID},
		{"Contact", SIP_HDR_CONTACT}, {"Max-Forwards", SIP_HDR_MAXFWD},
		{"Content-Length", SIP_HDR_CLEN}, {"Content-Type", SIP_HDR_CTYPE},
		{"Route", SIP_HDR_ROUTE}, {"Record-Route", SIP_HDR_RECORDROUTE},
		{"Expires", SIP_HDR_EXPIRES},
		{"Authorization", SIP_HDR_AUTHORIZATION},
		{"Proxy-Authorization", SIP_HDR_PROXYAUTHZ},
		{"WWW-Authenticate", SIP_HDR_WWWAUTHENTICATE},
		{"Proxy-Authenticate", SIP_HDR_PROXYAUTHENTICATE},
		{"Require", SIP_HDR_REQUIRE},
		{"Proxy-Require", SIP_HDR_PROXYREQUIRE},
		{"Supported", SIP_HDR_SUPPORTED},
		{"Unsupported", SIP_HDR_UNSUPPORTED}, {"Path", SIP_HDR_PATH},
		{"User-Agent", SIP_HDR_USERAGENT}, {"Server", SIP_HDR_SERVER},
		{"Allow", SIP_HDR_ALLOW}, {"Event", SIP_HDR_EVENT},
		{"Accept", SIP_HDR_ACCEPT}, {"Subject", SIP_HDR_SUBJECT},
		{"Content-Encoding", SIP_HDR_CONTENTENCODING},
		{"Min-Expires", SIP_HDR_MINEXPIRES},
		{"PROXY-AUTHORIZATION", SIP_HDR_PROXYAUTHZ},
		{"record-route", SIP_HDR_RECORDROUTE},
		{"Vía", SIP_HDR_OTHER}, {"Viaa", SIP_HDR_OTHER},
		{"Contacts", SIP_HDR_OTHER}, {"Call\rID", SIP_HDR_OTHER},
		{"Session-Expires", SIP_HDR_OTHER}, {"r", SIP_HDR_OTHER},
		{"", SIP_HDR_OTHER},
	};

	for (size_t i = 0; i < OSP_ARRAY_LEN(v); i++)
		if (sip_hdr_type_from_name(str_from(v[i].n)) != v[i].t)
			UNIT_FAIL("type of \"%s\"", v[i].n);
}

TEST(method_names)
{
	static const struct {
		const char *n;
		sip_method_t m;
	} v[] = {
		{"INVITE", SIP_METHOD_INVITE}, {"CANCEL", SIP_METHOD_CANCEL},
		{"ACK", SIP_METHOD_ACK}, {"BYE", SIP_METHOD_BYE},
		{"INFO", SIP_METHOD_INFO}, {"REGISTER", SIP_METHOD_REGISTER},
		{"SUBSCRIBE", SIP_METHOD_SUBSCRIBE},
		{"NOTIFY", SIP_METHOD_NOTIFY}, {"MESSAGE", SIP_METHOD_MESSAGE},
		{"OPTIONS", SIP_METHOD_OPTIONS}, {"PRACK", SIP_METHOD_PRACK},
		{"UPDATE", SIP_METHOD_UPDATE}, {"REFER", SIP_METHOD_REFER},
		{"PUBLISH", SIP_METHOD_PUBLISH}, {"KDMQ", SIP_METHOD_KDMQ},
		{"GET", SIP_METHOD_GET}, {"POST", SIP_METHOD_POST},
		{"PUT", SIP_METHOD_PUT}, {"DELETE", SIP_METHOD_DELETE},
		{"Invite", SIP_METHOD_OTHER}, {"INVITES", SIP_METHOD_OTHER},
		{"X", SIP_METHOD_OTHER}, {"", SIP_METHOD_UNDEF},
	};

	for (size_t i = 0; i < OSP_ARRAY_LEN(v); i++)
		if (sip_method_from_str(str_from(v[i].n)) != v[i].m)
			UNIT_FAIL("method \"%s\"", v[i].n);
}

TEST(folding_and_bare_lf)
{
	sip_via_t *v;
	sip_hdr_t *h;

	parse_ok("MESSAGE sip:a@b SIP/2.0\r\n"
		 "Subject: first\r\n"
		 "   second\r\n"
		 "\tthird\r\n"
		 "Via: SIP/2.0/UDP h1;branch=z9hG4bKa,\r\n"
		 " SIP/2.0/UDP h2\r\n"
		 "   ;branch=z9hG4bKb\r\n"
		 "X-Last: 1\r\n"
		 "\r\n");
	CHECK_INT(msg.n_hdrs, 3);
	h = &msg.hdrs[0];
	CHECK_STRV(h->value, "first\r\n   second\r\n\tthird");
	CHECK_STRV(h->raw, "Subject: first\r\n   second\r\n\tthird\r\n");
	v = sip_get_via1(&msg);
	CHECK(v && v->next);
	CHECK_STRV(v->host, "h1");
	CHECK_STRV(v->next->host, "h2");
	CHECK_STRV(v->next->branch, "z9hG4bKb");
	CHECK(sip_get_via2(&msg) == v->next);

	/* bare LF everywhere, folding included */
	parse_ok("BYE sip:a@b SIP/2.0\n"
		 "Via: SIP/2.0/UDP h1\n"
		 "From: <sip:x@y>;tag=1\n"
		 "To: <sip:a@b>\n"
		 "  ;tag=2\n"
		 "Call-ID: c\n"
		 "CSeq: 2 BYE\n"
		 "Content-Length: 3\n"
		 "\n"
		 "abc");
	CHECK_INT(msg.n_hdrs, 6);
	CHECK_STRV(msg.hdrs[0].raw, "Via: SIP/2.0/UDP h1\n");
	CHECK_STRV(msg.body, "abc");
	CHECK_STRV(sip_get_to(&msg)->tag, "2");
	CHECK_INT(sip_msg_check_mandatory(&msg, NULL), 0);
}

TEST(leading_crlf)
{
	parse_ok("\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\nCall-ID: 1\r\n\r\n");
	CHECK_STRV(msg.method, "OPTIONS");
	CHECK_STRV(msg.hdrs[0].value, "1");
}

TEST(via_lists)
{
	sip_via_t *v;
	sip_hdr_t *h;
	int n = 0;

	parse_ok("SIP/2.0 200 OK\r\n"
		 "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1 , "
		 "SIP / 2.0 / TCP b.example.com:5070 ;branch=z9hG4bK2;received=1.2.3.4,"
		 "SIP/2.0/TLS [2001:db8::1]:5061;branch=z9hG4bK3;rport=5062\r\n"
		 "v: SIP/2.0/WS c.example.com;rport;branch=z9hG4bK4\r\n"
		 "\r\n");
	v = sip_get_via1(&msg);
	CHECK(v != NULL);
	CHECK_STRV(v->proto_name, "SIP");
	CHECK_STRV(v->version, "2.0");
	CHECK_STRV(v->transport, "UDP");
	CHECK_STRV(v->host, "a.example.com");
	CHECK_INT(v->port_no, 0);
	CHECK_INT(v->port.len, 0);
	CHECK_STRV(v->branch, "z9hG4bK1");
	CHECK_STRV(v->params, "branch=z9hG4bK1");
	CHECK_STRV(v->raw, "SIP/2.0/UDP a.example.com;branch=z9hG4bK1");
	CHECK_INT(v->has_rport, 0);
	v = v->next;
	CHECK_STRV(v->transport, "TCP");
	CHECK_STRV(v->host, "b.example.com");
	CHECK_STRV(v->port, "5070");
	CHECK_INT(v->port_no, 5070);
	CHECK_STRV(v->received, "1.2.3.4");
	CHECK_STRV(v->raw, "SIP / 2.0 / TCP b.example.com:5070 "
			   ";branch=z9hG4bK2;received=1.2.3.4");
	CHECK(sip_get_via2(&msg) == v);
	v = v->next;
	CHECK_STRV(v->host, "[2001:db8::1]");
	CHECK_INT(v->port_no, 5061);
	CHECK_INT(v->has_rport, 1);
	CHECK_STRV(v->rport, "5062");
	CHECK(v->next == NULL);
	h = sip_hdr_next(&msg, sip_hdr_first(&msg, SIP_HDR_VIA));
	CHECK(h == &msg.hdrs[1]);
	v = sip_get_via(&msg, h);
	CHECK_STRV(v->transport, "WS");
	CHECK_INT(v->has_rport, 1);
	CHECK_INT(v->rport.len, 0);
	CHECK_STRV(v->branch, "z9hG4bK4");
	for (h = sip_hdr_first(&msg, SIP_HDR_VIA); h; h = sip_hdr_next(&msg, h))
		for (v = sip_get_via(&msg, h); v; v = v->next)
			n++;
	CHECK_INT(n, 4);

	/* second via-parm from a second header */
	parse_ok("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=1\r\n"
		 "X: y\r\nVia: SIP/2.0/UDP b;maddr=224.0.0.1;ttl=16\r\n\r\n");
	v = sip_get_via2(&msg);
	CHECK_STRV(v->host, "b");
	CHECK_STRV(v->maddr, "224.0.0.1");
	CHECK_STRV(v->ttl, "16");
	CHECK(sip_get_via(&msg, &msg.hdrs[1]) == NULL); /* not a Via */
}

TEST(via_bad)
{
	static const char *bad[] = {
		"SIP/3.0/UDP h",     "SIP/2.0 UDP h",   "SIP/2.0/UDP",
		"SIP/2.0/UDPh",      "SIP/2.0/UDP h:",  "SIP/2.0/UDP h:99999",
		"SIP/2.0/UDP [::1",  "SIP/2.0/UDP h x", "SIP/2.0/UDP h;=x",
		"SIP//UDP h",        "HTTP/2.0/UDP h",  "",
		"SIP/2.0/UDP h;a=\"unterminated",       ",",
	};
	sip_via_t *v;

	reset_arena();
	for (size_t i = 0; i < OSP_ARRAY_LEN(bad); i++)
		if (sip_via_parse(&arena, str_from(bad[i]), &v) >= 0)
			UNIT_FAIL("accepted Via \"%s\"", bad[i]);
	CHECK_INT(sip_via_parse(&arena, STR_LIT("sip/2.0/udp h"), &v), 1);
	CHECK_INT(sip_via_parse(&arena, STR_LIT(" SIP/2.0/UDP h ; lr ; x = \"a;b\" ,, SIP/2.0/UDP k "), &v), 2);
	CHECK_STRV(v->params, "lr ; x = \"a;b\"");
	CHECK_STRV(v->param_list->next->value, "a;b");
	CHECK_STRV(v->next->raw, "SIP/2.0/UDP k");

	/* the cached failure is kept */
	parse_ok("OPTIONS sip:a SIP/2.0\r\nVia: junk\r\n\r\n");
	CHECK(sip_get_via1(&msg) == NULL);
	CHECK(sip_get_via1(&msg) == NULL);
	CHECK(sip_msg_check_mandatory(&msg, NULL) == -OSP_EPARSE);
}

TEST(from_to)
{
	sip_nameaddr_t *na;

	parse_ok("OPTIONS sip:a@b SIP/2.0\r\n"
		 "From: \"Al \\\"the\\\" <Boss>\" <sip:al@x.com;user=phone>"
		 " ; tag = 88 ;other\r\n"
		 "To: sip:bob@y.com;tag=77;transport=tcp\r\n"
		 "\r\n");
	na = sip_get_from(&msg);
	CHECK(na != NULL);
	CHECK_STRV(na->display, "\"Al \\\"the\\\" <Boss>\"");
	CHECK_STRV(na->uri_str, "sip:al@x.com;user=phone");
	CHECK(na->uri_ok);
	CHECK_STRV(na->uri.user_param, "phone");
	CHECK_STRV(na->tag, "88");
	CHECK_STRV(na->params, "tag = 88 ;other");
	CHECK_STRV(na->raw, "\"Al \\\"the\\\" <Boss>\" <sip:al@x.com;user=phone>"
			    " ; tag = 88 ;other");
	CHECK(sip_get_from(&msg) == na); /* cached */
	CHECK(msg.hdrs[0].parsed == na);
	/* bare addr-spec: the parameters belong to the header */
	na = sip_get_to(&msg);
	CHECK_INT(na->display.len, 0);
	CHECK_STRV(na->uri_str, "sip:bob@y.com");
	CHECK_STRV(na->tag, "77");
	CHECK(sip_param_find(na->param_list, STR_LIT("TRANSPORT")) != NULL);
	CHECK_INT(na->uri.transport.len, 0);
	CHECK(na->uri.param_list == NULL);

	reset_arena();
	na = &(sip_nameaddr_t){0};
	CHECK_INT(sip_nameaddr_parse(&arena, STR_LIT("Bob Smith <sips:b@[::1]:5061>"), na), 0);
	CHECK_STRV(na->display, "Bob Smith");
	CHECK_INT(na->uri.scheme, SIP_URI_SIPS);
	CHECK_STRV(na->uri.host, "[::1]");
	CHECK_INT(sip_nameaddr_parse(&arena, STR_LIT("<sip:b@h>"), na), 0);
	CHECK_INT(na->display.len, 0);
	/* a URI of another scheme is kept, unparsed */
	CHECK_INT(sip_nameaddr_parse(&arena, STR_LIT("<urn:service:sos>;tag=1"), na), 0);
	CHECK_INT(na->uri_ok, 0);
	CHECK_STRV(na->uri_str, "urn:service:sos");
	CHECK_STRV(na->tag, "1");
	/* UTF-8 display names without quotes are tolerated */
	CHECK_INT(sip_nameaddr_parse(&arena, STR_LIT("J\xc3\xbcrgen <sip:j@h>"), na), 0);
	CHECK_STRV(na->display, "J\xc3\xbcrgen");

	static const char *bad[] = {
		"", "<sip:a@b", "\"unterminated <sip:a@b>", "\"x\" sip:a@b",
		"<sip:a@b>, <sip:c@d>", "<sip:a@b> junk", "<>", "<sip:a@b>;=1",
		"sip:a@b;tag=1 x",
	};
	for (size_t i = 0; i < OSP_ARRAY_LEN(bad); i++)
		if (sip_nameaddr_parse(&arena, str_from(bad[i]), na) == 0)
			UNIT_FAIL("accepted name-addr \"%s\"", bad[i]);
}

TEST(cseq)
{
	sip_cseq_t c;

	CHECK_INT(sip_cseq_parse(STR_LIT("  4711   INVITE "), &c), 0);
	CHECK_INT(c.num, 4711);
	CHECK_STRV(c.number, "4711");
	CHECK_STRV(c.method, "INVITE");
	CHECK_INT(c.method_id, SIP_METHOD_INVITE);
	CHECK_INT(sip_cseq_parse(STR_LIT("2147483647 FOO"), &c), 0);
	CHECK_INT(c.num, 2147483647u);
	CHECK_INT(c.method_id, SIP_METHOD_OTHER);
	CHECK_INT(sip_cseq_parse(STR_LIT("0 ACK"), &c), 0);

	static const char *bad[] = {
		"", "1", "INVITE", "1INVITE", "x1 INVITE", "2147483648 INVITE",
		"-1 INVITE", "1 INV@TE", "1 INVITE x", "1 INVITE;x", "1.5 BYE",
		"99999999999 BYE",
	};
	for (size_t i = 0; i < OSP_ARRAY_LEN(bad); i++)
		if (sip_cseq_parse(str_from(bad[i]), &c) == 0)
			UNIT_FAIL("accepted CSeq \"%s\"", bad[i]);
}

#define MAND_VIA "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
#define MAND_FROM "From: <sip:a@b>;tag=1\r\n"
#define MAND_TO "To: <sip:c@d>\r\n"
#define MAND_CID "Call-ID: x@y\r\n"

TEST(check_mandatory)
{
	const char *why;

	parse_ok("ACK sip:c@d SIP/2.0\r\n" MAND_VIA MAND_FROM MAND_TO MAND_CID
		 "CSeq: 1 ACK\r\n\r\n");
	CHECK_INT(sip_msg_check_mandatory(&msg, NULL), 0);
	CHECK_INT(sip_get_maxfwd(&msg), -1); /* absent is fine */

	static const char *bad[] = {
		"ACK sip:c@d SIP/2.0\r\n" MAND_FROM MAND_TO MAND_CID "CSeq: 1 ACK\r\n\r\n",
		"ACK sip:c@d SIP/2.0\r\n" MAND_VIA MAND_TO MAND_CID "CSeq: 1 ACK\r\n\r\n",
		"ACK sip:c@d SIP/2.0\r\n" MAND_VIA MAND_FROM MAND_CID "CSeq: 1 ACK\r\n\r\n",
		"ACK sip:c@d SIP/2.0\r\n" MAND_VIA MAND_FROM MAND_TO "CSeq: 1 ACK\r\n\r\n",
		"ACK sip:c@d SIP/2.0\r\n" MAND_VIA MAND_FROM MAND_TO MAND_CID "\r\n",
		"ACK sip:c@d SIP/2.0\r\n" MAND_VIA MAND_FROM MAND_TO MAND_CID "CSeq: 1 INVITE\r\n\r\n",
		"ACK sip:c@d SIP/2.0\r\n" MAND_VIA MAND_FROM MAND_TO MAND_CID "CSeq: 1 ack\r\n\r\n",
		"ACK sip:c@d SIP/2.0\r\n" MAND_VIA MAND_FROM MAND_TO MAND_CID "CSeq: ACK\r\n\r\n",
		"ACK sip:c@d SIP/2.0\r\n" MAND_VIA "From: <sip:a@b\r\n" MAND_TO MAND_CID "CSeq: 1 ACK\r\n\r\n",
		"ACK sip:c@d SIP/2.0\r\n" MAND_VIA MAND_FROM "To: a, b\r\n" MAND_CID "CSeq: 1 ACK\r\n\r\n",
		"ACK sip:c@d SIP/2.0\r\n" MAND_VIA MAND_FROM MAND_TO "Call-ID: \r\nCSeq: 1 ACK\r\n\r\n",
		"ACK sip:c@d SIP/2.0\r\nVia: SIP/2.0/UDP\r\n" MAND_FROM MAND_TO MAND_CID "CSeq: 1 ACK\r\n\r\n",
	};
	for (size_t i = 0; i < OSP_ARRAY_LEN(bad); i++) {
		parse_ok(bad[i]);
		why = NULL;
		if (sip_msg_check_mandatory(&msg, &why) != -OSP_EPARSE)
			UNIT_FAIL("mandatory check passed #%zu", i);
		CHECK(why != NULL);
	}
	/* replies: CSeq method is whatever the request was */
	parse_ok("SIP/2.0 200 OK\r\n" MAND_VIA MAND_FROM MAND_TO MAND_CID
		 "CSeq: 1 INVITE\r\n\r\n");
	CHECK_INT(sip_msg_check_mandatory(&msg, NULL), 0);
}

/* The mandatory check reads From/To by their structure only (no URI
 * parse): it must accept exactly what sip_get_from/sip_get_to accept, so
 * a message that passed never meets a NULL From or To later. Each value is
 * tried in a fresh message both ways, as From and as To. */
TEST(light_from_to_same_verdict)
{
	static const char *v[] = {
		/* accepted */
		"<sip:a@b>;tag=1", "sip:a@b;tag=1", "\"A B\" <sip:a@b>;tag=1;x",
		"A B <sip:a@b> ; tag = 5", "<tel:+123>", "<http://x/y>",
		"<sip:@@>;tag=z", "sip:a@b", "<sip:a@b>;tag", "<sip:a@b>;tag=\"q\"",
		"  <sip:a@b>  ", "<sip:a@b>;;tag=2;", "<urn:service:sos>",
		"\"\" <sip:a@b>", "J\xc3\xbcrgen <sip:j@h>;TAG=u",
		"<sip:a@b;tag=inuri>", "sip:a@b ; tag=1", "<sip:a@b>;x=<y>",
		/* refused */
		"", "<sip:a@b", "a", "a, b", "<sip:a@b>, <sip:c@d>",
		"\"unterminated <sip:a@b>", "\"A\" sip:a@b", "<>", "<sip:a@b>;=x",
		"<sip:a@b>;tag=\"x", "<sip:a@b> junk", "<nocolon>",
		"sip:a@b;tag=1 x", "<sip:a@b>;ta g=1", "<sip:a@b>;tag=1,",
	};
	char buf[512];
	int accepted = 0;

	for (size_t i = 0; i < OSP_ARRAY_LEN(v); i++)
		for (int to = 0; to < 2; to++) {
			int light, full;

			snprintf(buf, sizeof(buf),
				 "OPTIONS sip:c@d SIP/2.0\r\n" MAND_VIA
				 "%s%s\r\n%s\r\n" MAND_CID "CSeq: 1 OPTIONS\r\n\r\n",
				 to ? "To: " : "From: ", v[i],
				 to ? "From: <sip:a@b>;tag=1" : "To: <sip:c@d>");
			parse_ok(buf);
			light = sip_msg_check_mandatory(&msg, NULL) == 0;
			parse_ok(buf);
			full = (to ? sip_get_to(&msg) : sip_get_from(&msg)) != NULL;
			if (light != full)
				UNIT_FAIL("\"%s\" as %s: check %d, full parse %d",
					  v[i], to ? "To" : "From", light, full);
			accepted += light;
		}
	CHECK_INT(accepted, 2 * 18);
}

/* After the check, the full accessors still give the full parse (URI and
 * parameter list), in the same cached struct; sip_get_tag answers from
 * either. */
TEST(light_then_full)
{
	sip_nameaddr_t *na;
	str_t tag;

	parse_ok("OPTIONS sip:c@d SIP/2.0\r\n" MAND_VIA
		 "From: \"Al\" <sip:al@x.com;user=phone> ; tag = 88 ;other\r\n"
		 "To: <sip:c@d;tag=inuri>;x=1\r\n" MAND_CID
		 "CSeq: 1 OPTIONS\r\n\r\n");
	CHECK_INT(sip_msg_check_mandatory(&msg, NULL), 0);
	CHECK_INT(sip_get_tag(&msg, SIP_HDR_FROM, &tag), 1);
	CHECK_STRV(tag, "88");
	/* the tag inside the URI is the URI's, not the header's */
	CHECK_INT(sip_get_tag(&msg, SIP_HDR_TO, &tag), 0);
	CHECK_INT(tag.len, 0);
	na = sip_get_from(&msg);
	CHECK(na != NULL);
	CHECK(na->uri_ok);
	CHECK_STRV(na->uri.user_param, "phone");
	CHECK_STRV(na->uri.host, "x.com");
	CHECK_STRV(na->tag, "88");
	CHECK(sip_param_find(na->param_list, STR_LIT("other")) != NULL);
	CHECK_STRV(na->display, "\"Al\"");
	CHECK(sip_get_from(&msg) == na);
	CHECK_INT(sip_get_tag(&msg, SIP_HDR_FROM, &tag), 1);
	CHECK_STRV(tag, "88");
	na = sip_get_to(&msg);
	CHECK(na != NULL && na->uri_ok);
	CHECK(sip_param_find(na->uri.param_list, STR_LIT("tag")) != NULL);
	CHECK(sip_param_find(na->param_list, STR_LIT("x")) != NULL);
	CHECK_INT(na->tag.len, 0);
	CHECK(na->tag.s == NULL);

	/* sip_get_tag without the check first; empty tag; no header; bad */
	parse_ok("OPTIONS sip:c@d SIP/2.0\r\nTo: <sip:c@d>;tag\r\n"
		 "From: <sip:a@b\r\n\r\n");
	CHECK_INT(sip_get_tag(&msg, SIP_HDR_TO, &tag), 1);
	CHECK_INT(tag.len, 0);
	CHECK_INT(sip_get_tag(&msg, SIP_HDR_FROM, &tag), -1);
	CHECK(sip_get_from(&msg) == NULL);
	CHECK_INT(sip_get_tag(&msg, SIP_HDR_CALLID, &tag), -1);
	parse_ok("OPTIONS sip:c@d SIP/2.0\r\nTo: sip:c@d\r\n\r\n");
	CHECK_INT(sip_get_tag(&msg, SIP_HDR_FROM, &tag), -1);
	CHECK_INT(sip_get_tag(&msg, SIP_HDR_TO, &tag), 0);
	CHECK_STRV(sip_get_to(&msg)->uri.host, "d");
}

/* sip_quoted_end (memchr-based) against the byte-by-byte definition:
 * random strings over an alphabet rich in quotes and backslashes, and a
 * long run of escapes before the closing quote. */
static const char *quoted_end_ref(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\') {
			if (++p == end)
				return NULL;
		} else if (*p == '"') {
			return p + 1;
		}
	}
	return NULL;
}

TEST(quoted_strings)
{
	static const char alpha[] = "\"\\ab";
	static char big[65536];
	char buf[64];
	uint32_t x = 12345;

	for (int i = 0; i < 200000; i++) {
		size_t n;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		n = 1 + x % 12;
		buf[0] = '"';
		for (size_t k = 1; k < n; k++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[k] = alpha[x % 4];
		}
		if (sip_quoted_end(buf, buf + n) != quoted_end_ref(buf, buf + n))
			UNIT_FAIL("quoted end differs for %.*s", (int)n, buf);
	}
	big[0] = '"';
	for (size_t k = 1; k + 2 < sizeof(big); k += 2) {
		big[k] = '\\';
		big[k + 1] = k % 6 == 1 ? '"' : '\\';
	}
	big[sizeof(big) - 1] = '"';
	CHECK(sip_quoted_end(big, big + sizeof(big)) == big + sizeof(big));
	CHECK(sip_quoted_end(big, big + sizeof(big) - 1) == NULL);
	CHECK(sip_quoted_end(big, big + 1) == NULL);
}

TEST(content_length)
{
	const char *why = NULL;
	const char *m = "MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 5\r\n\r\nhello world";

	parse_ok(m);
	CHECK_STRV(msg.body, "hello");
	parse_ok("MESSAGE sip:a@b SIP/2.0\r\nl:  0 \r\n\r\nignored");
	CHECK_INT(msg.body.len, 0);
	parse_ok("MESSAGE sip:a@b SIP/2.0\r\nX: y\r\n\r\nall of it\r\n");
	CHECK_STRV(msg.body, "all of it\r\n");
	/* same value twice is fine, different values are not */
	parse_ok("MESSAGE sip:a@b SIP/2.0\r\nl: 2\r\nContent-Length: 2\r\n\r\nab");
	CHECK_STRV(msg.body, "ab");

	static const char *bad[] = {
		"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 6\r\n\r\nhello",
		"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\nhello",
		"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 1x\r\n\r\nhello",
		"MESSAGE sip:a@b SIP/2.0\r\nContent-Length:\r\n\r\nhello",
		"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 1 2\r\n\r\nhello",
		"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 99999999999\r\n\r\nx",
		"MESSAGE sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab",
		"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 1\r\n",
	};
	for (size_t i = 0; i < OSP_ARRAY_LEN(bad); i++) {
		why = NULL;
		if (parse_len(bad[i], strlen(bad[i]), &why) != -OSP_EPARSE)
			UNIT_FAIL("accepted Content-Length case #%zu", i);
		CHECK(why != NULL);
	}
	why = NULL;
	parse_len(bad[0], strlen(bad[0]), &why);
	CHECK_STR(why, "Content-Length larger than the data");
}

TEST(too_many_headers)
{
	static char buf[16384];
	size_t n = 0;

	n += sprintf(buf + n, "OPTIONS sip:a SIP/2.0\r\n");
	for (int i = 0; i < SIP_MAX_HDRS; i++)
		n += sprintf(buf + n, "X-%d: %d\r\n", i, i);
	memcpy(buf + n, "\r\n", 3);
	parse_ok(buf);
	CHECK_INT(msg.n_hdrs, SIP_MAX_HDRS);
	CHECK_STRV(msg.hdrs[SIP_MAX_HDRS - 1].name, "X-255");
	CHECK_STRV(msg.hdrs[40].value, "40");
	n += sprintf(buf + n, "X-last: 1\r\n\r\n");
	CHECK_INT(parse(buf), -OSP_EPARSE);
}

TEST(contacts)
{
	sip_contact_list_t *cl;
	sip_contact_t *c;
	sip_hdr_t *h;

	parse_ok("REGISTER sip:r SIP/2.0\r\n"
		 "Contact: \"Me\" <sip:me@10.0.0.1:5060;transport=tcp>;expires=3600;q=0.7,"
		 " <sip:me@[2001:db8::2]>;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\";reg-id=1\r\n"
		 "m: sip:x@y;q=1;expires=0 , sip:z@w;q=0.05\r\n"
		 "Contact: *\r\n"
		 "Contact: <sip:a@b>;q=1.5\r\n"
		 "Contact: <sip:a@b>;expires=abc;q=0.\r\n"
		 "\r\n");
	h = sip_hdr_first(&msg, SIP_HDR_CONTACT);
	cl = sip_get_contacts(&msg, h);
	CHECK(cl && !cl->star);
	c = cl->first;
	CHECK_STRV(c->na.display, "\"Me\"");
	CHECK_STRV(c->na.uri.host, "10.0.0.1");
	CHECK_INT(c->na.uri.port_no, 5060);
	CHECK_STRV(c->na.uri.transport, "tcp");
	CHECK_INT(c->expires_val, 3600);
	CHECK_STRV(c->expires, "3600");
	CHECK_INT(c->q_val, 700);
	CHECK_STRV(c->q, "0.7");
	CHECK_INT(c->instance.len, 0);
	c = c->next;
	CHECK_STRV(c->na.uri.host, "[2001:db8::2]");
	CHECK(c->na.uri.host_is_ipv6);
	CHECK_INT(c->expires_val, -1);
	CHECK_INT(c->q_val, -1);
	CHECK_STRV(c->instance, "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>");
	CHECK_STRV(c->reg_id, "1");
	CHECK(c->next == NULL);
	CHECK(sip_get_contacts(&msg, h) == cl);

	h = sip_hdr_next(&msg, h);
	cl = sip_get_contacts(&msg, h);
	c = cl->first;
	CHECK_STRV(c->na.uri_str, "sip:x@y");
	CHECK_INT(c->q_val, 1000);
	CHECK_INT(c->expires_val, 0);
	CHECK_INT(c->next->q_val, 50);
	CHECK_STRV(c->next->na.uri.user, "z");

	h = sip_hdr_next(&msg, h);
	cl = sip_get_contacts(&msg, h);
	CHECK(cl && cl->star && cl->first == NULL);

	h = sip_hdr_next(&msg, h);
	CHECK(sip_get_contacts(&msg, h) == NULL); /* q > 1 */

	h = sip_hdr_next(&msg, h);
	cl = sip_get_contacts(&msg, h);
	CHECK_INT(cl->first->expires_val, -1);
	CHECK_INT(cl->first->q_val, 0);
	CHECK(sip_hdr_next(&msg, h) == NULL);

	/* not a Contact header */
	CHECK(sip_get_contacts(&msg, &msg.hdrs[0]) != NULL);
	parse_ok("REGISTER sip:r SIP/2.0\r\nTo: <sip:a@b>\r\n\r\n");
	CHECK(sip_get_contacts(&msg, &msg.hdrs[0]) == NULL);
	CHECK(sip_get_contacts(&msg, NULL) == NULL);

	reset_arena();
	sip_contact_list_t l;
	CHECK_INT(sip_contact_parse(&arena, STR_LIT(""), &l), -OSP_EPARSE);
	CHECK_INT(sip_contact_parse(&arena, STR_LIT("*, <sip:a@b>"), &l), -OSP_EPARSE);
	CHECK_INT(sip_contact_parse(&arena, STR_LIT("<sip:a@b>;q=0.1234"), &l), -OSP_EPARSE);
	CHECK_INT(sip_contact_parse(&arena, STR_LIT("<sip:a@b>;q=1.001"), &l), -OSP_EPARSE);
	CHECK_INT(sip_contact_parse(&arena, STR_LIT("<sip:a@b>;q=1.000;expires=99999999999"), &l), 1);
	CHECK_INT(l.first->expires_val, 2147483647);
	CHECK_INT(l.first->q_val, 1000);
	CHECK_INT(sip_contact_parse(&arena, STR_LIT("<sip:a@b>,,<sip:c@d>, "), &l), 2);
}

TEST(auth)
{
	sip_auth_t *au;
	sip_hdr_t *h;

	parse_ok("REGISTER sip:r SIP/2.0\r\n"
		 "Authorization: Digest username=\"bob\\\\x\", realm=\"biloxi.com\",\r\n"
		 "  nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"sip:bob@biloxi.com\",\r\n"
		 "  qop=auth, nc=00000001, cnonce=\"0a4f113b\", algorithm=MD5,"
		 " response=\"6629fae49393a05397450978507c4ef1\",opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"\r\n"
		 "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"
		 "Proxy-Authorization: Digest username=\"a\" realm=\"b\"\r\n"
		 "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", qop=\"auth,auth-int\", stale=FALSE\r\n"
		 "\r\n");
	h = sip_hdr_first(&msg, SIP_HDR_AUTHORIZATION);
	au = sip_get_auth(&msg, h);
	CHECK(au != NULL);
	CHECK_STRV(au->scheme, "Digest");
	CHECK_STRV(au->username, "bob\\x");
	CHECK_STRV(au->realm, "biloxi.com");
	CHECK_STRV(au->nonce, "dcd98b7102dd2f0e8b11d0f600bfb0c093");
	CHECK_STRV(au->uri, "sip:bob@biloxi.com");
	CHECK_STRV(au->qop, "auth");
	CHECK_STRV(au->nc, "00000001");
	CHECK_STRV(au->cnonce, "0a4f113b");
	CHECK_STRV(au->algorithm, "MD5");
	CHECK_STRV(au->response, "6629fae49393a05397450978507c4ef1");
	CHECK_STRV(au->opaque, "5ccc069c403ebaf9f0171e9517f40e41");
	CHECK(sip_get_auth(&msg, h) == au);
	CHECK_STRV(sip_param_find(au->param_list, STR_LIT("NC"))->value, "00000001");

	h = sip_hdr_first(&msg, SIP_HDR_PROXYAUTHZ);
	au = sip_get_auth(&msg, h);
	CHECK_STRV(au->scheme, "Basic");
	CHECK(au->param_list == NULL);
	CHECK(sip_get_auth(&msg, sip_hdr_next(&msg, h)) == NULL); /* no comma */

	au = sip_get_auth(&msg, sip_hdr_first(&msg, SIP_HDR_WWWAUTHENTICATE));
	CHECK_STRV(au->qop, "auth,auth-int");
	CHECK_STRV(sip_param_find(au->param_list, STR_LIT("stale"))->value, "FALSE");

	CHECK(sip_get_auth(&msg, &msg.hdrs[0]) != NULL);
	CHECK(sip_get_auth(&msg, sip_hdr_first(&msg, SIP_HDR_VIA)) == NULL);
	reset_arena();
	sip_auth_t a2;
	CHECK_INT(sip_auth_parse(&arena, STR_LIT("Digest realm=\"x"), &a2), -OSP_EPARSE);
	CHECK_INT(sip_auth_parse(&arena, STR_LIT("Digest realm"), &a2), -OSP_EPARSE);
	CHECK_INT(sip_auth_parse(&arena, STR_LIT(""), &a2), -OSP_EPARSE);
	CHECK_INT(sip_auth_parse(&arena, STR_LIT("Digest"), &a2), 0);
	CHECK_INT(sip_auth_parse(&arena, STR_LIT("Digest realm=\"a\\\"b\""), &a2), 0);
	CHECK_STRV(a2.realm, "a\"b");
}

TEST(tokens_and_routes)
{
	sip_token_t *t;
	sip_rr_t *r;
	sip_hdr_t *h;

	parse_ok("INVITE sip:r SIP/2.0\r\n"
		 "Require: 100rel , timer\r\n"
		 "Supported: \r\n"
		 "Allow: INVITE,ACK,CANCEL, BYE\r\n"
		 "Proxy-Require: x y\r\n"
		 "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr;ftag=1>\r\n"
		 "Route: \"P3\" <sip:[2001:db8::9]:5080;lr;transport=tcp>;x=1\r\n"
		 "Record-Route: <sip:rr1;lr>\r\n"
		 "Path: <sip:pa@edge;lr;ob>\r\n"
		 "\r\n");
	t = sip_get_tokens(&msg, sip_hdr_first(&msg, SIP_HDR_REQUIRE));
	CHECK_STRV(t->tok, "100rel");
	CHECK_STRV(t->next->tok, "timer");
	CHECK(t->next->next == NULL);
	CHECK(sip_get_tokens(&msg, sip_hdr_first(&msg, SIP_HDR_SUPPORTED)) == NULL);
	t = sip_get_tokens(&msg, sip_hdr_first(&msg, SIP_HDR_ALLOW));
	CHECK_STRV(t->next->next->next->tok, "BYE");
	CHECK(sip_get_tokens(&msg, sip_hdr_first(&msg, SIP_HDR_PROXYREQUIRE)) == NULL);

	h = sip_hdr_first(&msg, SIP_HDR_ROUTE);
	r = sip_get_rr(&msg, h);
	CHECK_STRV(r->na.uri.host, "p1.example.com");
	CHECK(r->na.uri.lr);
	CHECK_STRV(r->next->na.uri_str, "sip:p2.example.com;lr;ftag=1");
	CHECK_STRV(sip_param_find(r->next->na.uri.param_list, STR_LIT("ftag"))->value, "1");
	CHECK(r->next->next == NULL);
	r = sip_get_rr(&msg, sip_hdr_next(&msg, h));
	CHECK_STRV(r->na.display, "\"P3\"");
	CHECK_STRV(r->na.uri.host, "[2001:db8::9]");
	CHECK_INT(r->na.uri.port_no, 5080);
	CHECK_STRV(r->na.params, "x=1");
	r = sip_get_rr(&msg, sip_hdr_first(&msg, SIP_HDR_RECORDROUTE));
	CHECK_STRV(r->na.uri.host, "rr1");
	r = sip_get_rr(&msg, sip_hdr_first(&msg, SIP_HDR_PATH));
	CHECK_STRV(r->na.uri.user, "pa");
	CHECK(sip_get_rr(&msg, sip_hdr_first(&msg, SIP_HDR_ALLOW)) == NULL);
}

TEST(ruri_access)
{
	sip_uri_t *u;

	parse_ok("INVITE sip:bob@biloxi.com:5062;transport=udp SIP/2.0\r\n\r\n");
	u = sip_get_ruri(&msg);
	CHECK_STRV(u->user, "bob");
	CHECK_INT(u->port_no, 5062);
	CHECK(sip_get_ruri(&msg) == u);
	CHECK(sip_get_cur_ruri(&msg) == u);
	CHECK_STRV(sip_cur_uri(&msg), "sip:bob@biloxi.com:5062;transport=udp");
	CHECK_INT(sip_set_ruri(&msg, STR_LIT("sip:alice@atlanta.com")), 0);
	CHECK_STRV(sip_cur_uri(&msg), "sip:alice@atlanta.com");
	u = sip_get_cur_ruri(&msg);
	CHECK_STRV(u->host, "atlanta.com");
	CHECK(sip_get_ruri(&msg) != u);
	CHECK_INT(sip_set_ruri(&msg, STR_NULL), 0);
	CHECK_STRV(sip_cur_uri(&msg), "sip:bob@biloxi.com:5062;transport=udp");

	parse_ok("INVITE urn:service:sos SIP/2.0\r\n\r\n");
	CHECK(sip_get_ruri(&msg) == NULL);
	parse_ok("SIP/2.0 200 OK\r\n\r\n");
	CHECK(sip_get_ruri(&msg) == NULL);
}

TEST(maxfwd)
{
	parse_ok("OPTIONS sip:a SIP/2.0\r\nMax-Forwards:  0 \r\n\r\n");
	CHECK_INT(sip_get_maxfwd(&msg), 0);
	parse_ok("OPTIONS sip:a SIP/2.0\r\nMax-Forwards: x\r\n\r\n");
	CHECK_INT(sip_get_maxfwd(&msg), -2);
	parse_ok("OPTIONS sip:a SIP/2.0\r\nMax-Forwards:\r\n\r\n");
	CHECK_INT(sip_get_maxfwd(&msg), -2);
}

/* ---- stream framing ---- */

#define SMSG "OPTIONS sip:a SIP/2.0\r\nl: 4\r\nX: y\r\n\r\nbody"

TEST(stream_frame)
{
	static const char full[] = SMSG;
	char buf[512];
	size_t skip = 99, n = strlen(full);

	/* every prefix needs more data, the whole message is framed */
	for (size_t i = 0; i < n; i++)
		if (sip_stream_frame(full, i, 4096, &skip) != 0 || skip != 0)
			UNIT_FAIL("prefix %zu framed", i);
	CHECK_INT(sip_stream_frame(full, n, 4096, &skip), n);
	CHECK_INT(skip, 0);

	/* keepalives before, a second message after */
	snprintf(buf, sizeof(buf), "\r\n\r\n\r\n%s%s", SMSG, SMSG);
	CHECK_INT(sip_stream_frame(buf, strlen(buf), 4096, &skip), n);
	CHECK_INT(skip, 6);
	CHECK_INT(sip_stream_frame("\r\n\r\n", 4, 4096, &skip), 0);
	CHECK_INT(skip, 4);
	CHECK_INT(sip_stream_frame("\r\n", 2, 4096, &skip), 0);
	CHECK_INT(skip, 2);
	CHECK_INT(sip_stream_frame("", 0, 4096, &skip), 0);
	CHECK_INT(skip, 0);

	/* long form, bare LF, zero body */
	static const char lf[] = "BYE sip:a SIP/2.0\nContent-Length :0\n\n";
	CHECK_INT(sip_stream_frame(lf, strlen(lf), 4096, &skip), strlen(lf));

	/* Content-Length is required on streams and must be valid */
	static const char nocl[] = "BYE sip:a SIP/2.0\r\nX: 1\r\n\r\n";
	CHECK_INT(sip_stream_frame(nocl, strlen(nocl), 4096, &skip), -OSP_EPARSE);
	static const char badcl[] = "BYE sip:a SIP/2.0\r\nContent-Length: z\r\n\r\n";
	CHECK_INT(sip_stream_frame(badcl, strlen(badcl), 4096, &skip), -OSP_EPARSE);
	static const char twocl[] = "BYE sip:a SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab";
	CHECK_INT(sip_stream_frame(twocl, strlen(twocl), 4096, &skip), -OSP_EPARSE);
	/* a folded line starting with "l:" is not a header */
	static const char fold[] = "BYE sip:a SIP/2.0\r\nX: a\r\n l: 9\r\nl: 1\r\n\r\nz";
	CHECK_INT(sip_stream_frame(fold, strlen(fold), 4096, &skip), strlen(fold));

	/* limits: headers too long, total too long, exactly max */
	CHECK_INT(sip_stream_frame(full, n, 20, &skip), -OSP_ETOOBIG);
	CHECK_INT(sip_stream_frame(full, 20, 20, &skip), -OSP_ETOOBIG);
	CHECK_INT(sip_stream_frame(full, 19, 20, &skip), 0);
	CHECK_INT(sip_stream_frame(full, n - 2, n - 1, &skip), -OSP_ETOOBIG);
	CHECK_INT(sip_stream_frame(full, n, n, &skip), n);
	static const char big[] = "BYE sip:a SIP/2.0\r\nl: 100000\r\n\r\n";
	CHECK_INT(sip_stream_frame(big, strlen(big), 4096, &skip), -OSP_ETOOBIG);
}

TEST_LIST(
	TEST_ENTRY(request_basic),
	TEST_ENTRY(reply_basic),
	TEST_ENTRY(bad_start_lines),
	TEST_ENTRY(bad_header_lines),
	TEST_ENTRY(compact_and_case),
	TEST_ENTRY(hdr_type_names),
	TEST_ENTRY(method_names),
	TEST_ENTRY(folding_and_bare_lf),
	TEST_ENTRY(leading_crlf),
	TEST_ENTRY(via_lists),
	TEST_ENTRY(via_bad),
	TEST_ENTRY(from_to),
	TEST_ENTRY(cseq),
	TEST_ENTRY(check_mandatory),
	TEST_ENTRY(light_from_to_same_verdict),
	TEST_ENTRY(light_then_full),
	TEST_ENTRY(quoted_strings),
	TEST_ENTRY(content_length),
	TEST_ENTRY(too_many_headers),
	TEST_ENTRY(contacts),
	TEST_ENTRY(auth),
	TEST_ENTRY(tokens_and_routes),
	TEST_ENTRY(ruri_access),
	TEST_ENTRY(maxfwd),
	TEST_ENTRY(stream_frame),
)
