/* test_rr.c - KSR.rr: the Record-Route headers written for each pair of
 * incoming/outgoing sockets (single, double, IPv6, advertised, preset),
 * loose routing (our Route removed, double Record-Route, strict routers on
 * either side, several values in one header line, maddr), the return
 * codes, is_direction, check_route_param and the rr pseudo-variables.
 *
 * Our listeners are written by hand into net_listeners: UDP and TCP on
 * 192.0.2.1:5060, UDP on 192.0.2.1:5070, TLS on 192.0.2.1:5061, UDP on
 * [2001:db8::1]:5060 and TCP on [2001:db8::1]:5070; osp_is_myself (core
 * fwd.c) checks Route URIs against them. */
#include "test_mods_util.h"

#include "modules/pv/pv.h"
#include "modules/rr/rr.h"
#include "net/net.h"

extern osp_module_t osp_mod_rr;
#define M (&osp_mod_rr)

static net_listener_t l_udp, l_tcp, l_udp2, l_tls, l_udp6, l_tcp6;

static void mk_listener(net_listener_t *l, sip_proto_t proto, const char *ip,
			int port)
{
	memset(l, 0, sizeof(*l));
	l->proto = proto;
	l->port = port;
	l->send_fd = -1;
	snprintf(l->ip, sizeof(l->ip), "%s", ip);
	if (strchr(ip, ':')) {
		l->af = AF_INET6;
		snprintf(l->host, sizeof(l->host), "[%s]", ip);
		l->addr.in6.sin6_family = AF_INET6;
		l->addr.in6.sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, ip, &l->addr.in6.sin6_addr);
	} else {
		l->af = AF_INET;
		snprintf(l->host, sizeof(l->host), "%s", ip);
		l->addr.in4.sin_family = AF_INET;
		l->addr.in4.sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, ip, &l->addr.in4.sin_addr);
	}
	snprintf(l->name, sizeof(l->name), "%d:%s:%d", (int)proto, l->host,
		 port);
}

/* Listeners, then the module's init (pv classes, the prebuild hook). */
static void setup(void)
{
	mk_listener(&l_udp, SIP_PROTO_UDP, "192.0.2.1", 5060);
	mk_listener(&l_tcp, SIP_PROTO_TCP, "192.0.2.1", 5060);
	mk_listener(&l_udp2, SIP_PROTO_UDP, "192.0.2.1", 5070);
	mk_listener(&l_tls, SIP_PROTO_TLS, "192.0.2.1", 5061);
	mk_listener(&l_udp6, SIP_PROTO_UDP, "2001:db8::1", 5060);
	mk_listener(&l_tcp6, SIP_PROTO_TCP, "2001:db8::1", 5070);
	l_udp.next = &l_tcp;
	l_tcp.next = &l_udp2;
	l_udp2.next = &l_tls;
	l_tls.next = &l_udp6;
	l_udp6.next = &l_tcp6;
	net_listeners = &l_udp;
	CHECK_INT(M->init(), 0);
}

static void set_param(const char *name, int v)
{
	for (const osp_param_t *p = M->params; p->name; p++) {
		if (strcmp(p->name, name) == 0) {
			*(int *)p->var = v;
			return;
		}
	}
	UNIT_FAIL("rr has no modparam %s", name);
}

/* Parse text as received on listener l. */
static void parse_on(tmsg_t *t, const char *text, net_listener_t *l)
{
	tmsg_parse(t, text);
	t->msg.rcv.listener = l;
	t->msg.rcv.proto = l->proto;
}

/* The Record-Route lines of the built request, in order ("" when none). */
static const char *rr_lines(tmsg_t *t, char *buf, size_t cap)
{
	const char *out = tmsg_build(t), *p = out;
	size_t n = 0;

	buf[0] = '\0';
	while ((p = strstr(p, "Record-Route: ")) != NULL) {
		const char *e = strstr(p, "\r\n");
		size_t l = (size_t)(e - p) + 2;

		CHECK(e != NULL && n + l < cap);
		memcpy(buf + n, p, l);
		n += l;
		buf[n] = '\0';
		p = e;
	}
	return buf;
}

#define INVITE(ruri, from_tag)                                                 \
	"INVITE " ruri " SIP/2.0\r\n"                                          \
	"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"                 \
	"Max-Forwards: 70\r\n"                                                 \
	"From: <sip:alice@example.com>;tag=" from_tag "\r\n"                   \
	"To: <sip:bob@example.com>\r\n"                                        \
	"Call-ID: c1\r\n"                                                      \
	"CSeq: 1 INVITE\r\n"                                                   \
	"Contact: <sip:alice@192.0.2.10:5062>\r\n"                             \
	"Content-Length: 0\r\n"                                                \
	"\r\n"

/* An in-dialog request (To tag) with the given R-URI and Route lines. */
#define INDIALOG(ruri, routes, from_tag, to_tag)                               \
	"BYE " ruri " SIP/2.0\r\n"                                             \
	"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK2\r\n"                 \
	"Max-Forwards: 70\r\n" routes                                          \
	"From: <sip:alice@example.com>;tag=" from_tag "\r\n"                   \
	"To: <sip:bob@example.com>;tag=" to_tag "\r\n"                         \
	"Call-ID: c1\r\n"                                                      \
	"CSeq: 2 BYE\r\n"                                                      \
	"Content-Length: 0\r\n"                                                \
	"\r\n"

#define BOB "sip:bob@198.51.100.7:5062"

/* ---- record_route ---- */

TEST(rr_udp_to_udp)
{
	tmsg_t t;
	char b[1024];
	const char *out;

	setup();
	parse_on(&t, INVITE("sip:bob@example.com", "a1"), &l_udp);
	CHECK_INT(kcall(&t, M, "record_route", NULL), 1);
	/* rendered for the incoming socket until the send completes it */
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:192.0.2.1;lr;ftag=a1>\r\n");
	CHECK_INT(rr_finalize(&t.msg, &l_udp, &t.arena), 0);
	out = tmsg_build(&t);
	/* one header, before the first received header */
	CHECK_HAS(out, "INVITE sip:bob@example.com SIP/2.0\r\n"
		       "Record-Route: <sip:192.0.2.1;lr;ftag=a1>\r\n"
		       "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n");
	CHECK_INT(count_sub(out, "Record-Route"), 1);
	/* a second record_route for the same message is refused */
	CHECK_INT(kcall(&t, M, "record_route", NULL), -1);
	CHECK_INT(count_sub(tmsg_build(&t), "Record-Route"), 1);
	tmsg_free(&t);

	/* another port is written, 5060 is not */
	parse_on(&t, INVITE("sip:bob@example.com", "a1"), &l_udp2);
	CHECK_INT(kcall(&t, M, "record_route", NULL), 1);
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:192.0.2.1:5070;lr;ftag=a1>\r\n");
	tmsg_free(&t);
}

TEST(rr_udp_to_tcp_double)
{
	tmsg_t t;
	char b[1024];

	setup();
	parse_on(&t, INVITE("sip:bob@example.com", "a1"), &l_udp);
	CHECK_INT(kcall(&t, M, "record_route", NULL), 1);
	CHECK_INT(rr_finalize(&t.msg, &l_tcp, &t.arena), 0);
	/* first the outgoing socket, then the incoming one, both r2 */
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:192.0.2.1;transport=tcp;r2=on;lr;"
		  "ftag=a1>\r\n"
		  "Record-Route: <sip:192.0.2.1;r2=on;lr;ftag=a1>\r\n");
	/* another branch leaves over UDP again: one header */
	CHECK_INT(rr_finalize(&t.msg, &l_udp, &t.arena), 0);
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:192.0.2.1;lr;ftag=a1>\r\n");
	/* another interface of the same transport is double too */
	CHECK_INT(rr_finalize(&t.msg, &l_udp2, &t.arena), 0);
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:192.0.2.1:5070;r2=on;lr;ftag=a1>\r\n"
		  "Record-Route: <sip:192.0.2.1;r2=on;lr;ftag=a1>\r\n");
	/* TLS keeps its port */
	CHECK_INT(rr_finalize(&t.msg, &l_tls, &t.arena), 0);
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:192.0.2.1:5061;transport=tls;r2=on;lr;"
		  "ftag=a1>\r\n"
		  "Record-Route: <sip:192.0.2.1;r2=on;lr;ftag=a1>\r\n");
	tmsg_free(&t);

	/* TCP in, UDP out */
	parse_on(&t, INVITE("sip:bob@example.com", "a1"), &l_tcp);
	CHECK_INT(kcall(&t, M, "record_route", NULL), 1);
	CHECK_INT(rr_finalize(&t.msg, &l_udp, &t.arena), 0);
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:192.0.2.1;r2=on;lr;ftag=a1>\r\n"
		  "Record-Route: <sip:192.0.2.1;transport=tcp;r2=on;lr;"
		  "ftag=a1>\r\n");
	tmsg_free(&t);
}

TEST(rr_double_modes)
{
	tmsg_t t;
	char b[1024];

	setup();
	/* double record-routing off: one header, the incoming socket */
	set_param("enable_double_rr", 0);
	parse_on(&t, INVITE("sip:bob@example.com", "a1"), &l_udp);
	CHECK_INT(kcall(&t, M, "record_route", NULL), 1);
	CHECK_INT(rr_finalize(&t.msg, &l_tcp, &t.arena), 0);
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:192.0.2.1;lr;ftag=a1>\r\n");
	tmsg_free(&t);

	/* 2: always two, even on the same socket */
	set_param("enable_double_rr", 2);
	parse_on(&t, INVITE("sip:bob@example.com", "a1"), &l_udp);
	CHECK_INT(kcall(&t, M, "record_route", NULL), 1);
	CHECK_INT(rr_finalize(&t.msg, &l_udp, &t.arena), 0);
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:192.0.2.1;r2=on;lr;ftag=a1>\r\n"
		  "Record-Route: <sip:192.0.2.1;r2=on;lr;ftag=a1>\r\n");
	tmsg_free(&t);
}

TEST(rr_ipv6)
{
	tmsg_t t;
	char b[1024];

	setup();
	parse_on(&t, INVITE("sip:bob@example.com", "a1"), &l_udp6);
	CHECK_INT(kcall(&t, M, "record_route", NULL), 1);
	CHECK_INT(rr_finalize(&t.msg, &l_udp6, &t.arena), 0);
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:[2001:db8::1];lr;ftag=a1>\r\n");
	CHECK_INT(rr_finalize(&t.msg, &l_tcp6, &t.arena), 0);
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:[2001:db8::1]:5070;transport=tcp;r2=on;"
		  "lr;ftag=a1>\r\n"
		  "Record-Route: <sip:[2001:db8::1];r2=on;lr;ftag=a1>\r\n");
	/* from IPv6 to IPv4 */
	CHECK_INT(rr_finalize(&t.msg, &l_udp, &t.arena), 0);
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:192.0.2.1;r2=on;lr;ftag=a1>\r\n"
		  "Record-Route: <sip:[2001:db8::1];r2=on;lr;ftag=a1>\r\n");
	tmsg_free(&t);
}

TEST(rr_advertised_listener)
{
	tmsg_t t;
	char b[1024];

	setup();
	snprintf(l_udp.adv_host, sizeof(l_udp.adv_host), "203.0.113.5");
	l_udp.adv_port = 5060;
	snprintf(l_tcp.adv_host, sizeof(l_tcp.adv_host), "2001:db8::5");
	parse_on(&t, INVITE("sip:bob@example.com", "a1"), &l_udp);
	CHECK_INT(kcall(&t, M, "record_route", NULL), 1);
	CHECK_INT(rr_finalize(&t.msg, &l_tcp, &t.arena), 0);
	/* an advertised port is always written; an IPv6 name gets [] */
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:[2001:db8::5];transport=tcp;r2=on;lr;"
		  "ftag=a1>\r\n"
		  "Record-Route: <sip:203.0.113.5:5060;r2=on;lr;ftag=a1>\r\n");
	tmsg_free(&t);
}

TEST(rr_params_and_flags)
{
	tmsg_t t;
	char b[1024];

	setup();
	/* before, with, and after record_route; a missing ';' is added */
	parse_on(&t, INVITE("sip:bob@example.com", "a1"), &l_udp);
	CHECK_INT(kcall(&t, M, "add_rr_param", NULL, ";early=1"), 1);
	CHECK_INT(kcall(&t, M, "record_route_params", NULL, ";nat=yes"), 1);
	CHECK_INT(kcall(&t, M, "add_rr_param", NULL, "late"), 1);
	CHECK_INT(rr_finalize(&t.msg, &l_tcp, &t.arena), 0);
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:192.0.2.1;transport=tcp;r2=on;lr;"
		  "ftag=a1;nat=yes;early=1;late>\r\n"
		  "Record-Route: <sip:192.0.2.1;r2=on;lr;ftag=a1;nat=yes;"
		  "early=1;late>\r\n");
	tmsg_free(&t);

	/* lr=on, no ftag, the R-URI user, sips */
	set_param("enable_full_lr", 1);
	set_param("append_fromtag", 0);
	set_param("add_username", 1);
	parse_on(&t, INVITE("sips:bob@example.com", "a1"), &l_tls);
	CHECK_INT(kcall(&t, M, "record_route", NULL), 1);
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sips:bob@192.0.2.1:5061;transport=tls;"
		  "lr=on>\r\n");
	tmsg_free(&t);
}

TEST(rr_branch_route_and_replies)
{
	tmsg_t t;
	char b[1024];

	setup();
	/* in a branch route the call may be repeated (one per branch) */
	parse_on(&t, INVITE("sip:bob@example.com", "a1"), &l_udp);
	t.ctx.route = KSR_ROUTE_BRANCH;
	CHECK_INT(kcall(&t, M, "record_route", NULL), 1);
	CHECK_INT(kcall(&t, M, "record_route_params", NULL, ";b=2"), 1);
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:192.0.2.1;lr;ftag=a1;b=2>\r\n");
	tmsg_free(&t);

	/* no Record-Route on a reply */
	tmsg_parse(&t, "SIP/2.0 200 OK\r\n"
		       "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK9\r\n"
		       "From: <sip:alice@example.com>;tag=a1\r\n"
		       "To: <sip:bob@example.com>;tag=b2\r\n"
		       "Call-ID: c1\r\nCSeq: 1 INVITE\r\n"
		       "Content-Length: 0\r\n\r\n");
	CHECK_INT(kcall(&t, M, "record_route", NULL), -1);
	CHECK_INT(kcall(&t, M, "loose_route", NULL), -1);
	tmsg_free(&t);
}

TEST(rr_advertised_address)
{
	tmsg_t t;
	char b[1024];

	setup();
	parse_on(&t, INVITE("sip:bob@example.com", "a1"), &l_udp);
	CHECK_INT(kcall(&t, M, "add_rr_param", NULL, ";x=1"), 1);
	CHECK_INT(kcall(&t, M, "record_route_advertised_address", NULL,
			"proxy.example.com:5080"),
		  1);
	CHECK_INT(rr_finalize(&t.msg, &l_udp2, &t.arena), 0);
	/* same transport: one header, no transport */
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:proxy.example.com:5080;ftag=a1;lr;x=1>"
		  "\r\n");
	/* another transport: both, each with its transport */
	CHECK_INT(rr_finalize(&t.msg, &l_tcp, &t.arena), 0);
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:proxy.example.com:5080;transport=tcp;"
		  "r2=on;ftag=a1;lr;x=1>\r\n"
		  "Record-Route: <sip:proxy.example.com:5080;transport=udp;"
		  "r2=on;ftag=a1;lr;x=1>\r\n");
	CHECK_INT(kcall(&t, M, "record_route", NULL), -1);
	tmsg_free(&t);
}

TEST(rr_preset)
{
	tmsg_t t;
	char b[1024];

	setup();
	parse_on(&t, INVITE("sip:bob@example.com", "a1"), &l_udp);
	CHECK_INT(kcall(&t, M, "record_route_preset_one", NULL, "1.2.3.4:5090"),
		  1);
	/* fixed text, whatever the outgoing socket */
	CHECK_INT(rr_finalize(&t.msg, &l_tcp, &t.arena), 0);
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:1.2.3.4:5090;ftag=a1;lr>\r\n");
	CHECK_INT(kcall(&t, M, "record_route_preset_one", NULL, "5.6.7.8"), -1);
	tmsg_free(&t);

	parse_on(&t, INVITE("sip:bob@example.com", "a1"), &l_udp);
	CHECK_INT(kcall(&t, M, "record_route_preset", NULL,
			"10.0.0.1;transport=tcp", "sip:192.0.2.1"),
		  1);
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:10.0.0.1;transport=tcp;ftag=a1;lr>\r\n"
		  "Record-Route: <sip:192.0.2.1;ftag=a1;lr>\r\n");
	tmsg_free(&t);

	/* a second address needs enable_double_rr */
	set_param("enable_double_rr", 0);
	parse_on(&t, INVITE("sip:bob@example.com", "a1"), &l_udp);
	CHECK_INT(
	    kcall(&t, M, "record_route_preset", NULL, "10.0.0.1", "10.0.0.2"),
	    -1);
	CHECK_INT(kcall(&t, M, "record_route_preset", NULL, "10.0.0.1", ""), 1);
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:10.0.0.1;ftag=a1;lr>\r\n");
	tmsg_free(&t);
}

TEST(rr_remove)
{
	tmsg_t t;
	char b[1024];

	setup();
	parse_on(&t, INVITE("sip:bob@example.com", "a1"), &l_udp);
	CHECK_INT(kcall(&t, M, "remove_record_route", NULL), 1); /* none */
	CHECK_INT(kcall(&t, M, "record_route", NULL), 1);
	CHECK_INT(kcall(&t, M, "remove_record_route", NULL), 1);
	CHECK_STR(rr_lines(&t, b, sizeof(b)), "");
	CHECK_INT(rr_finalize(&t.msg, &l_tcp, &t.arena), 0);
	CHECK_STR(rr_lines(&t, b, sizeof(b)), "");
	/* as in Kamailio the message stays "record-routed" */
	CHECK_INT(kcall(&t, M, "record_route", NULL), -1);
	CHECK_INT(kcall(&t, M, "add_rr_param", NULL, ";a=1"), 1);
	CHECK_STR(rr_lines(&t, b, sizeof(b)), "");
	tmsg_free(&t);
}

TEST(rr_prebuild_hook)
{
	tmsg_t t;
	char b[1024];

	setup();
	/* the module chains itself into the core's pre-build hook */
	CHECK(osp_prebuild_hook != NULL);
	parse_on(&t, INVITE("sip:bob@example.com", "a1"), &l_udp);
	CHECK_INT(osp_prebuild_hook(&t.msg, &l_tcp), 0); /* nothing recorded */
	CHECK_STR(rr_lines(&t, b, sizeof(b)), "");
	CHECK_INT(kcall(&t, M, "record_route", NULL), 1);
	CHECK_INT(osp_prebuild_hook(&t.msg, &l_tcp), 0);
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:192.0.2.1;transport=tcp;r2=on;lr;"
		  "ftag=a1>\r\n"
		  "Record-Route: <sip:192.0.2.1;r2=on;lr;ftag=a1>\r\n");
	tmsg_free(&t);
	M->destroy();
	CHECK(osp_prebuild_hook == NULL);
}

TEST(rr_clone)
{
	tmsg_t t;
	arena_t a2;
	sip_msg_t copy;
	char b[1024];

	setup();
	parse_on(&t, INVITE("sip:bob@example.com", "a1"), &l_udp);
	CHECK_INT(kcall(&t, M, "record_route_params", NULL, ";k=v"), 1);
	arena_init(&a2);
	copy = t.msg;
	CHECK_INT(rr_msg_clone(&copy, &t.msg, &a2), 0);
	CHECK(copy.rr != t.msg.rr);
	/* the copy renders on its own */
	CHECK_INT(rr_finalize(&copy, &l_tcp, &a2), 0);
	t.msg.adds = copy.adds;
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:192.0.2.1;transport=tcp;r2=on;lr;"
		  "ftag=a1;k=v>\r\n"
		  "Record-Route: <sip:192.0.2.1;r2=on;lr;ftag=a1;k=v>\r\n");
	arena_destroy(&a2);
	tmsg_free(&t);
}

/* ---- loose_route ---- */

TEST(lr_our_route_on_top)
{
	tmsg_t t;
	const char *out;

	setup();
	parse_on(&t,
		 INDIALOG(BOB,
			  "Route: <sip:192.0.2.1;lr;ftag=a1;nat=yes>\r\n"
			  "Route: <sip:p2.example.com;lr>\r\n",
			  "a1", "b2"),
		 &l_udp);
	CHECK_INT(kcall(&t, M, "loose_route", NULL), 1);
	CHECK_STRV(t.msg.dst_uri, "sip:p2.example.com;lr");
	CHECK_STRV(sip_cur_uri(&t.msg), BOB);
	out = tmsg_build(&t);
	CHECK_HASNT(out, "<sip:192.0.2.1;");
	CHECK_HAS(out, "Max-Forwards: 70\r\nRoute: <sip:p2.example.com;lr>\r\n"
		       "From: ");
	CHECK_INT(kcall(&t, M, "next_hop_route", NULL), 1);
	CHECK_INT(kcall(&t, M, "check_route_param", NULL, "nat=yes"), 1);
	CHECK_INT(kcall(&t, M, "check_route_param", NULL, "^;lr;ftag=a1"), 1);
	CHECK_INT(kcall(&t, M, "check_route_param", NULL, "nat=no"), -1);
	CHECK_INT(kcall(&t, M, "is_direction", NULL, "downstream"), 1);
	CHECK_INT(kcall(&t, M, "loose_route_preloaded", NULL), -1);
	tmsg_free(&t);
}

TEST(lr_double_rr_one_line)
{
	tmsg_t t;
	const char *out;

	setup();
	/* our two Record-Route values (r2) then the next proxy, one line */
	parse_on(
	    &t,
	    INDIALOG(BOB,
		     "Route: <sip:192.0.2.1;transport=tcp;r2=on;lr;ftag=a1>,"
		     " <sip:192.0.2.1;r2=on;lr;ftag=a1>,"
		     "<sip:p2.example.com;lr>\r\n",
		     "a1", "b2"),
	    &l_tcp);
	CHECK_INT(kcall(&t, M, "loose_route", NULL), 1);
	CHECK_STRV(t.msg.dst_uri, "sip:p2.example.com;lr");
	out = tmsg_build(&t);
	CHECK_HAS(out, "\r\nRoute: <sip:p2.example.com;lr>\r\nFrom: ");
	CHECK_INT(count_sub(out, "Route:"), 1);
	tmsg_free(&t);

	/* the same in two lines, and nothing after them */
	parse_on(&t,
		 INDIALOG(BOB,
			  "Route: <sip:192.0.2.1;r2=on;lr>\r\n"
			  "Route: <sip:192.0.2.1;transport=tcp;r2=on;lr>\r\n",
			  "a1", "b2"),
		 &l_udp);
	CHECK_INT(kcall(&t, M, "loose_route", NULL), 1);
	CHECK_INT(t.msg.dst_uri.len, 0);
	CHECK_INT(kcall(&t, M, "next_hop_route", NULL), -1);
	CHECK_HASNT(tmsg_build(&t), "Route:");
	tmsg_free(&t);

	/* with double record-routing off the second one is not ours to drop */
	set_param("enable_double_rr", 0);
	parse_on(&t,
		 INDIALOG(BOB,
			  "Route: <sip:192.0.2.1;r2=on;lr>, "
			  "<sip:192.0.2.1;transport=tcp;r2=on;lr>\r\n",
			  "a1", "b2"),
		 &l_udp);
	CHECK_INT(kcall(&t, M, "loose_route", NULL), 1);
	CHECK_STRV(t.msg.dst_uri, "sip:192.0.2.1;transport=tcp;r2=on;lr");
	CHECK_HAS(tmsg_build(&t),
		  "\r\nRoute: <sip:192.0.2.1;transport=tcp;r2=on;lr>\r\n");
	tmsg_free(&t);
}

TEST(lr_two_values_first_ours)
{
	tmsg_t t;
	const char *out;

	setup();
	parse_on(&t,
		 INDIALOG(BOB,
			  "Route: <sip:192.0.2.1;lr>, <sip:p2.example.com;lr>, "
			  "\"P3\" <sip:p3.example.com;lr>;x=1\r\n",
			  "a1", "b2"),
		 &l_udp);
	CHECK_INT(kcall(&t, M, "loose_route", NULL), 1);
	CHECK_STRV(t.msg.dst_uri, "sip:p2.example.com;lr");
	out = tmsg_build(&t);
	/* the line is rewritten with the values that stay */
	CHECK_HAS(out, "\r\nRoute: <sip:p2.example.com;lr>, \"P3\" "
		       "<sip:p3.example.com;lr>;x=1\r\nFrom: ");
	CHECK_HASNT(out, "<sip:192.0.2.1;");
	tmsg_free(&t);
}

TEST(lr_top_not_ours)
{
	tmsg_t t;

	setup();
	parse_on(&t,
		 INDIALOG(BOB, "Route: <sip:p2.example.com;lr;ftag=a1>\r\n",
			  "a1", "b2"),
		 &l_udp);
	CHECK_INT(kcall(&t, M, "loose_route", NULL), 1);
	CHECK_STRV(t.msg.dst_uri, "sip:p2.example.com;lr;ftag=a1");
	CHECK_HAS(tmsg_build(&t), "Route: <sip:p2.example.com;lr;ftag=a1>\r\n");
	CHECK_INT(kcall(&t, M, "next_hop_route", NULL), -1);
	CHECK_INT(kcall(&t, M, "check_route_param", NULL, "ftag"), -1);
	tmsg_free(&t);

	/* another port of our address is not us */
	parse_on(
	    &t, INDIALOG(BOB, "Route: <sip:192.0.2.1:5999;lr>\r\n", "a1", "b2"),
	    &l_udp);
	CHECK_INT(kcall(&t, M, "loose_route", NULL), 1);
	CHECK_STRV(t.msg.dst_uri, "sip:192.0.2.1:5999;lr");
	tmsg_free(&t);
}

TEST(lr_previous_strict_router)
{
	tmsg_t t;
	const char *out;

	setup();
	/* a strict router put our Record-Route URI into the R-URI; the
	 * remote target is the last Route (RFC 3261 §16.4) */
	parse_on(&t,
		 INDIALOG("sip:192.0.2.1;lr;ftag=a1;nat=yes",
			  "Route: <sip:p2.example.com;lr>\r\n"
			  "Route: <" BOB ">\r\n",
			  "a1", "b2"),
		 &l_udp);
	CHECK_INT(kcall(&t, M, "loose_route", NULL), 1);
	CHECK_STRV(sip_cur_uri(&t.msg), BOB);
	CHECK_STRV(t.msg.dst_uri, "sip:p2.example.com;lr");
	out = tmsg_build(&t);
	CHECK_HAS(out, "BYE " BOB " SIP/2.0\r\n");
	CHECK_HAS(out, "Route: <sip:p2.example.com;lr>\r\nFrom: ");
	CHECK_INT(count_sub(out, "Route:"), 1);
	/* the params of our URI are those of the R-URI */
	CHECK_INT(kcall(&t, M, "check_route_param", NULL, ";nat=yes"), 1);
	tmsg_free(&t);

	/* next hop strict as well: its URI becomes the R-URI */
	parse_on(&t,
		 INDIALOG("sip:192.0.2.1;lr",
			  "Route: <sip:strict.example.com>, <" BOB ">\r\n",
			  "a1", "b2"),
		 &l_udp);
	CHECK_INT(kcall(&t, M, "loose_route", NULL), 1);
	CHECK_STRV(sip_cur_uri(&t.msg), "sip:strict.example.com");
	CHECK_INT(t.msg.dst_uri.len, 0);
	CHECK_HAS(tmsg_build(&t), "\r\nRoute: <" BOB ">\r\nFrom: ");
	tmsg_free(&t);

	/* loose_route_mode(1) does not look at the R-URI */
	parse_on(&t,
		 INDIALOG("sip:192.0.2.1;lr",
			  "Route: <sip:p2.example.com;lr>, <" BOB ">\r\n", "a1",
			  "b2"),
		 &l_udp);
	CHECK_INT(kcall(&t, M, "loose_route_mode", NULL, 1L), 1);
	CHECK_STRV(sip_cur_uri(&t.msg), "sip:192.0.2.1;lr");
	CHECK_STRV(t.msg.dst_uri, "sip:p2.example.com;lr");
	tmsg_free(&t);
}

TEST(lr_next_strict_router)
{
	tmsg_t t;
	const char *out;

	setup();
	/* RFC 3261 §16.6 step 6: the strict router's URI becomes the R-URI
	 * and the R-URI goes to the end of the route set */
	parse_on(
	    &t,
	    INDIALOG(BOB,
		     "Route: <sip:192.0.2.1;lr>, <sip:strict.example.com>, "
		     "<sip:p3.example.com;lr>\r\n",
		     "a1", "b2"),
	    &l_udp);
	CHECK_INT(kcall(&t, M, "loose_route", NULL), 1);
	CHECK_STRV(sip_cur_uri(&t.msg), "sip:strict.example.com");
	CHECK_INT(t.msg.dst_uri.len, 0);
	out = tmsg_build(&t);
	CHECK_HAS(out, "BYE sip:strict.example.com SIP/2.0\r\n");
	CHECK_HAS(out, "\r\nRoute: <sip:p3.example.com;lr>\r\nFrom: ");
	CHECK_HAS(out, "Content-Length: 0\r\nRoute: <" BOB ">\r\n\r\n");
	tmsg_free(&t);
}

TEST(lr_no_route_and_preloaded)
{
	tmsg_t t;

	setup();
	parse_on(&t, INDIALOG(BOB, "", "a1", "b2"), &l_udp);
	CHECK_INT(kcall(&t, M, "loose_route", NULL), -1);
	CHECK_INT(kcall(&t, M, "loose_route_preloaded", NULL), -1);
	CHECK_INT(kcall(&t, M, "check_route_param", NULL, "."), -1);
	CHECK_INT(t.msg.dst_uri.len, 0);
	tmsg_free(&t);

	/* out of dialog, our Route only: removed, -3 */
	parse_on(&t,
		 "INVITE sip:bob@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"
		 "Route: <sip:192.0.2.1;lr>\r\n"
		 "From: <sip:alice@example.com>;tag=a1\r\n"
		 "To: <sip:bob@example.com>\r\n"
		 "Call-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
		 &l_udp);
	CHECK_INT(kcall(&t, M, "loose_route", NULL), -3);
	CHECK_HASNT(tmsg_build(&t), "Route:");
	CHECK_INT(kcall(&t, M, "loose_route_preloaded", NULL), -1); /* gone */
	tmsg_free(&t);

	parse_on(&t,
		 "INVITE sip:bob@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"
		 "Route: <sip:192.0.2.1;lr>\r\n"
		 "From: <sip:alice@example.com>;tag=a1\r\n"
		 "To: <sip:bob@example.com>\r\n"
		 "Call-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
		 &l_udp);
	CHECK_INT(kcall(&t, M, "loose_route_preloaded", NULL), 1);
	tmsg_free(&t);

	/* in a dialog the same is a success: the R-URI is the next hop */
	parse_on(&t, INDIALOG(BOB, "Route: <sip:192.0.2.1;lr>\r\n", "a1", "b2"),
		 &l_udp);
	CHECK_INT(kcall(&t, M, "loose_route", NULL), 1);
	CHECK_INT(t.msg.dst_uri.len, 0);
	CHECK_HASNT(tmsg_build(&t), "Route:");
	tmsg_free(&t);
}

TEST(lr_maddr_and_malformed)
{
	tmsg_t t;

	setup();
	parse_on(&t,
		 INDIALOG(BOB,
			  "Route: <sip:192.0.2.1;lr>\r\n"
			  "Route: <sip:p2.example.com:5080;maddr=198.51.100.9;"
			  "lr>\r\n",
			  "a1", "b2"),
		 &l_udp);
	CHECK_INT(kcall(&t, M, "loose_route", NULL), 1);
	CHECK_STRV(t.msg.dst_uri, "sip:198.51.100.9:5080");
	tmsg_free(&t);

	parse_on(&t, INDIALOG(BOB, "Route: garbage\r\n", "a1", "b2"), &l_udp);
	CHECK_INT(kcall(&t, M, "loose_route", NULL), -1);
	CHECK_INT(t.msg.dst_uri.len, 0);
	tmsg_free(&t);
}

/* ---- direction, params, variables ---- */

static void pv_read(tmsg_t *t, const char *name, ksr_xval_t *v)
{
	char err[128];
	pv_spec_t *sp = pv_spec_parse(str_from(name), err, sizeof(err));

	if (!sp)
		UNIT_FAIL("pv_spec_parse(%s): %s", name, err);
	CHECK_INT(pv_get(&t->ctx, sp, v), 0);
	pv_spec_free(sp);
}

TEST(is_direction)
{
	tmsg_t t;
	ksr_xval_t v;

	setup();
	/* the caller's request: ftag == From tag */
	parse_on(
	    &t,
	    INDIALOG(BOB, "Route: <sip:192.0.2.1;lr;ftag=a1>\r\n", "a1", "b2"),
	    &l_udp);
	CHECK_INT(kcall(&t, M, "is_direction", NULL, "downstream"), 1);
	CHECK_INT(kcall(&t, M, "is_direction", NULL, "upstream"), -1);
	CHECK_INT(kcall(&t, M, "loose_route", NULL), 1);
	CHECK_INT(kcall(&t, M, "is_direction", NULL, "DownStream"), 1);
	pv_read(&t, "$rdir(name)", &v);
	CHECK_XSTR(v, "downstream");
	pv_read(&t, "$fti", &v);
	CHECK_XSTR(v, "a1");
	pv_read(&t, "$tti", &v);
	CHECK_XSTR(v, "b2");
	CHECK_INT(kcall(&t, M, "is_direction", NULL, "sideways"), -6);
	tmsg_free(&t);

	/* the callee's request: From/To swapped */
	parse_on(&t,
		 INDIALOG("sip:alice@192.0.2.10:5062",
			  "Route: <sip:192.0.2.1;lr;ftag=a1>\r\n", "b2", "a1"),
		 &l_udp);
	CHECK_INT(kcall(&t, M, "loose_route", NULL), 1);
	CHECK_INT(kcall(&t, M, "is_direction", NULL, "upstream"), 1);
	CHECK_INT(kcall(&t, M, "is_direction", NULL, "downstream"), -1);
	pv_read(&t, "$rdir(id)", &v);
	CHECK_XINT(v, 2);
	pv_read(&t, "$fti", &v);
	CHECK_XSTR(v, "a1");
	pv_read(&t, "$tti", &v);
	CHECK_XSTR(v, "b2");
	tmsg_free(&t);

	/* without the ftag param there is no direction to check */
	set_param("append_fromtag", 0);
	parse_on(
	    &t,
	    INDIALOG(BOB, "Route: <sip:192.0.2.1;lr;ftag=a1>\r\n", "a1", "b2"),
	    &l_udp);
	CHECK_INT(kcall(&t, M, "is_direction", NULL, "downstream"), -6);
	tmsg_free(&t);
}

TEST(record_route_upstream_tag)
{
	tmsg_t t;
	char b[1024];

	setup();
	/* a request from the callee that is record-routed again carries
	 * the caller's tag (its To tag) as ftag */
	parse_on(&t,
		 INDIALOG("sip:alice@192.0.2.10:5062",
			  "Route: <sip:192.0.2.1;lr;ftag=a1>\r\n", "b2", "a1"),
		 &l_udp);
	CHECK_INT(kcall(&t, M, "loose_route", NULL), 1);
	CHECK_INT(kcall(&t, M, "record_route", NULL), 1);
	CHECK_STR(rr_lines(&t, b, sizeof(b)),
		  "Record-Route: <sip:192.0.2.1;lr;ftag=a1>\r\n");
	tmsg_free(&t);
}

TEST(check_route_param_without_loose_route)
{
	tmsg_t t;

	setup();
	/* the top Route, when ours, is looked at directly */
	parse_on(&t,
		 INDIALOG(BOB,
			  "Route: <sip:192.0.2.1;lr;ftag=a1;acc=Yes>\r\n"
			  "Route: <sip:p2.example.com;lr>\r\n",
			  "a1", "b2"),
		 &l_udp);
	CHECK_INT(kcall(&t, M, "check_route_param", NULL, "acc=yes"), 1);
	CHECK_INT(kcall(&t, M, "check_route_param", NULL, "[("), -1);
	tmsg_free(&t);
}

TEST(route_uri_variable)
{
	tmsg_t t;
	ksr_xval_t v;

	setup();
	parse_on(&t,
		 INDIALOG(BOB,
			  "Route: \"us\" <sip:192.0.2.1;lr>, "
			  "<sip:p2.example.com;lr>\r\n",
			  "a1", "b2"),
		 &l_udp);
	pv_read(&t, "$route_uri", &v);
	CHECK_XSTR(v, "sip:192.0.2.1;lr");
	/* the Route as received, also after loose_route */
	CHECK_INT(kcall(&t, M, "loose_route", NULL), 1);
	pv_read(&t, "$route_uri", &v);
	CHECK_XSTR(v, "sip:192.0.2.1;lr");
	tmsg_free(&t);

	parse_on(&t, INVITE("sip:bob@example.com", "a1"), &l_udp);
	pv_read(&t, "$route_uri", &v);
	CHECK_XNULL(v);
	pv_read(&t, "$rdir(id)", &v);
	CHECK_XINT(v, 1);
	tmsg_free(&t);
}

TEST_LIST(TEST_ENTRY(rr_udp_to_udp), TEST_ENTRY(rr_udp_to_tcp_double),
	  TEST_ENTRY(rr_double_modes), TEST_ENTRY(rr_ipv6),
	  TEST_ENTRY(rr_advertised_listener), TEST_ENTRY(rr_params_and_flags),
	  TEST_ENTRY(rr_branch_route_and_replies),
	  TEST_ENTRY(rr_advertised_address), TEST_ENTRY(rr_preset),
	  TEST_ENTRY(rr_remove), TEST_ENTRY(rr_prebuild_hook),
	  TEST_ENTRY(rr_clone), TEST_ENTRY(lr_our_route_on_top),
	  TEST_ENTRY(lr_double_rr_one_line),
	  TEST_ENTRY(lr_two_values_first_ours), TEST_ENTRY(lr_top_not_ours),
	  TEST_ENTRY(lr_previous_strict_router),
	  TEST_ENTRY(lr_next_strict_router),
	  TEST_ENTRY(lr_no_route_and_preloaded),
	  TEST_ENTRY(lr_maddr_and_malformed), TEST_ENTRY(is_direction),
	  TEST_ENTRY(record_route_upstream_tag),
	  TEST_ENTRY(check_route_param_without_loose_route),
	  TEST_ENTRY(route_uri_variable), )
