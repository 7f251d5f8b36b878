/* test_rtpproxy.c - the rtpproxy module: the SDP scanner and rewriter;
 * the command lines sent for offers, answers and deletes (tags, Via
 * branches, modifiers, payload lists, several streams, IPv6); the rewritten
 * SDP; version checks, timeouts, disabling, recheck and failover against
 * fake rtpproxy instances on loopback (threads answering as rtpproxy does,
 * or staying silent); rtpproxy_manage; the RPC commands. */
#include <arpa/inet.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "core/timer.h"
#include "modules/rtpproxy/rtpproxy_int.h"
#include "test_mods_util.h"

extern osp_module_t osp_mod_rtpproxy;
#define M (&osp_mod_rtpproxy)

static arena_t *new_arena(void)
{
	arena_t *a = malloc(sizeof(*a));

	CHECK(a != NULL);
	arena_init(a);
	return a;
}

static void free_arena(arena_t *a)
{
	arena_destroy(a);
	free(a);
}

/* ---- SDP ---- */

#define SDP2                                                                   \
	"v=0\r\n"                                                              \
	"o=alice 1 1 IN IP4 192.0.2.10\r\n"                                    \
	"s=-\r\n"                                                              \
	"c=IN IP4 192.0.2.10\r\n"                                              \
	"t=0 0\r\n"                                                            \
	"m=audio 30000 RTP/AVP 0 8 101\r\n"                                    \
	"a=rtcp:30001\r\n"                                                     \
	"a=rtpmap:101 telephone-event/8000\r\n"                                \
	"m=video 30002/2 RTP/AVP 96\r\n"                                       \
	"c=IN IP6 2001:db8::7\r\n"                                             \
	"m=application 0 UDP/BFCP *\r\n"

TEST(sdp_parse)
{
	arena_t *a = new_arena();
	rtpp_sdp_session_t *s;
	rtpp_sdp_media_t *m;

	CHECK_INT(rtpp_sdp_parse(a, STR_LIT(SDP2), &s), 0);
	CHECK(s && !s->next);
	CHECK_INT(s->n_media, 3);
	CHECK_STRV(s->o.addr, "192.0.2.10");
	CHECK_INT(s->o.af, AF_INET);
	CHECK_STRV(s->c.addr, "192.0.2.10");
	CHECK_STRV(s->c.type, "IP4");
	m = s->media;
	CHECK_STRV(m->port, "30000");
	CHECK_STRV(m->proto, "RTP/AVP");
	CHECK_STRV(m->payloads, "0 8 101");
	CHECK_STRV(m->rtcp_port, "30001");
	CHECK_INT(m->c.addr.len, 0);
	m = m->next;
	CHECK_STRV(m->port, "30002"); /* "/2" is cut */
	CHECK_STRV(m->c.addr, "2001:db8::7");
	CHECK_INT(m->c.af, AF_INET6);
	CHECK_INT(m->rtcp_port.len, 0);
	m = m->next;
	CHECK_STRV(m->port, "0");
	CHECK_STRV(m->payloads, "*");
	CHECK(m->next == NULL);

	/* two sessions; LF-only lines; a multicast c= with TTL */
	CHECK_INT(rtpp_sdp_parse(a,
				 STR_LIT("v=0\no=- 1 1 IN IP4 1.1.1.1\n"
					 "c=IN IP4 233.252.0.1/127\n"
					 "m=audio 5004 RTP/AVP 0\nv=0\n"
					 "c=IN IP4 2.2.2.2\n"
					 "m=audio 6000 RTP/AVP 8"),
				 &s),
		  0);
	CHECK_STRV(s->c.addr, "233.252.0.1");
	CHECK(s->next && s->next->n_media == 1);
	CHECK_STRV(s->next->media->port, "6000");
	CHECK_STRV(s->next->c.addr, "2.2.2.2");

	/* malformed lines */
	static const char *const bad[] = {
	    "v=0\r\nc=IN IP4\r\n",
	    "v=0\r\nm=audio\r\n",
	    "v=0\r\nm=audio x RTP/AVP 0\r\n",
	    "v=0\r\no=a 1\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rtpp_sdp_parse(a, str_from(bad[i]), &s) != -OSP_EPARSE)
			UNIT_FAIL("accepted: %s", bad[i]);
	free_arena(a);
}

TEST(sdp_apply)
{
	arena_t *a = new_arena();
	str_t body = STR_LIT("m=audio 30000 RTP/AVP 0\r\nc=IN IP4 1.2.3.4\r\n");
	rtpp_edit_t ed[2] = {
	    {25 + 9, 7, STR_LIT("9.9.9.9")}, /* listed out of order */
	    {8, 5, STR_LIT("40")},
	};
	str_t out;

	CHECK_INT(
	    rtpp_sdp_apply(a, body, ed, 2, STR_LIT("a=nortpproxy:yes"), &out),
	    0);
	CHECK_STRV(out, "m=audio 40 RTP/AVP 0\r\nc=IN IP4 9.9.9.9\r\n"
			"a=nortpproxy:yes\r\n");
	/* a body without final CRLF gets one before the line */
	CHECK_INT(
	    rtpp_sdp_apply(a, STR_LIT("v=0"), NULL, 0, STR_LIT("a=x"), &out),
	    0);
	CHECK_STRV(out, "v=0\r\na=x\r\n");
	/* overlapping or outside */
	rtpp_edit_t ov[2] = {{0, 5, STR_LIT("x")}, {3, 2, STR_LIT("y")}};
	CHECK_INT(rtpp_sdp_apply(a, body, ov, 2, STR_NULL, &out), -OSP_EINVAL);
	rtpp_edit_t far[1] = {{40, 10, STR_LIT("x")}};
	CHECK_INT(rtpp_sdp_apply(a, body, far, 1, STR_NULL, &out), -OSP_EINVAL);
	CHECK(rtpp_sdp_has_line(STR_LIT("v=0\r\na=nortpproxy:yes\r\n"),
				STR_LIT("a=nortpproxy:yes")));
	CHECK(!rtpp_sdp_has_line(STR_LIT("v=0\r\na=nortpproxy:yesno\r\n"),
				 STR_LIT("a=nortpproxy:yes")));
	free_arena(a);
}

/* ---- fake rtpproxy instances ---- */

enum { FAKE_OK, FAKE_SILENT, FAKE_OLD, FAKE_PORT_ONLY, FAKE_ERROR };

typedef struct fake {
	int fd, port;
	int mode;     /* atomic */
	int requests; /* atomic */
	int ptl;      /* claims 20081102 */
	int next_port;
	char cmds[32][256]; /* commands received, in order */
	int ncmds;
	pthread_mutex_t lock;
	pthread_t th;
} fake_t;

static void *fake_run(void *arg)
{
	fake_t *f = arg;
	char buf[2048], out[512];

	for (;;) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(f->fd, buf, sizeof(buf) - 1, 0,
				     (struct sockaddr *)&from, &fl);
		char *sp, *cmd;
		int mode, len;

		if (n <= 0)
			continue;
		buf[n] = '\0';
		__atomic_add_fetch(&f->requests, 1, __ATOMIC_SEQ_CST);
		mode = __atomic_load_n(&f->mode, __ATOMIC_SEQ_CST);
		sp = strchr(buf, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		cmd = sp + 1;
		pthread_mutex_lock(&f->lock);
		if (f->ncmds < 32)
			str_to_buf(str_from(cmd), f->cmds[f->ncmds++],
				   sizeof(f->cmds[0]));
		pthread_mutex_unlock(&f->lock);
		if (mode == FAKE_SILENT)
			continue;
		if (strcmp(cmd, "V") == 0)
			len = snprintf(out, sizeof(out), "%s %s\n", buf,
				       mode == FAKE_OLD ? "20030101"
							: "20040107");
		else if (strncmp(cmd, "VF ", 3) == 0)
			len = snprintf(out, sizeof(out), "%s %d\n", buf,
				       strcmp(cmd + 3, "20081102") != 0 ||
					   f->ptl);
		else if (cmd[0] == 'U' || cmd[0] == 'L') {
			if (mode == FAKE_ERROR)
				len =
				    snprintf(out, sizeof(out), "%s E8\n", buf);
			else if (mode == FAKE_PORT_ONLY)
				len = snprintf(out, sizeof(out), "%s %d\n", buf,
					       f->next_port);
			else
				len = snprintf(out, sizeof(out),
					       "%s %d 127.0.0.2\n", buf,
					       f->next_port);
			f->next_port += 2;
		} else {
			len = snprintf(out, sizeof(out), "%s 0\n", buf);
		}
		sendto(f->fd, out, (size_t)len, 0, (struct sockaddr *)&from,
		       fl);
	}
	return NULL;
}

static void fake_start(fake_t *f, int mode)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	f->mode = mode;
	f->ptl = 1;
	f->next_port = 35000;
	f->fd = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(f->fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(f->fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CHECK(getsockname(f->fd, (struct sockaddr *)&sin, &sl) == 0);
	f->port = ntohs(sin.sin_port);
	CHECK(pthread_create(&f->th, NULL, fake_run, f) == 0);
}

static void fake_mode(fake_t *f, int mode)
{
	__atomic_store_n(&f->mode, mode, __ATOMIC_SEQ_CST);
}

/* The last command received that starts with prefix ("" any). */
static const char *fake_last(fake_t *f, const char *prefix)
{
	static char copy[256];
	const char *hit = NULL;

	pthread_mutex_lock(&f->lock);
	for (int i = f->ncmds - 1; i >= 0 && !hit; i--)
		if (strncmp(f->cmds[i], prefix, strlen(prefix)) == 0) {
			str_to_buf(str_from(f->cmds[i]), copy, sizeof(copy));
			hit = copy;
		}
	pthread_mutex_unlock(&f->lock);
	return hit ? hit : "";
}

static void fake_forget(fake_t *f)
{
	pthread_mutex_lock(&f->lock);
	f->ncmds = 0;
	pthread_mutex_unlock(&f->lock);
	__atomic_store_n(&f->requests, 0, __ATOMIC_SEQ_CST);
}

static uint64_t fake_now = 7000000;

static uint64_t fake_clock(void)
{
	return fake_now;
}

static void sock_add(const char *fmt, ...)
{
	char spec[512], err[256] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(spec, sizeof(spec), fmt, ap);
	va_end(ap);
	if (rtpp_sock_add(spec, err, sizeof(err)) != 0)
		UNIT_FAIL("rtpproxy_sock '%s': %s", spec, err);
}

static void setup(void)
{
	rtpp_set_clock(fake_clock);
	rtpp_tout_ms = 150;
	rtpp_retr = 2;
	rtpp_disable_tout = 60;
}

/* Test every instance as the module's init does. */
static void test_all(void)
{
	arena_t *a = new_arena();

	for (int i = 0; i < rtpp_node_count(); i++)
		rtpp_test(rtpp_node_at(i), a, 1);
	free_arena(a);
}

static int closed_port(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), port;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&sin, &sl) == 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

TEST(sock_syntax)
{
	char err[256];

	sock_add("udp:127.0.0.1:7722");
	sock_add("udp:localhost:7723=2 udp6:[::1]:7724 unix:/run/rtpp.sock");
	sock_add("1 == /var/run/rtpproxy.sock udp:127.0.0.1");
	CHECK_INT(rtpp_node_count(), 6);
	CHECK_INT(rtpp_node_at(0)->mode, RTPP_UDP);
	CHECK_INT(rtpp_node_at(1)->weight, 2);
	CHECK_STR(rtpp_node_at(1)->url, "udp:localhost:7723");
	CHECK_INT(rtpp_node_at(2)->mode, RTPP_UDP6);
	CHECK_INT(rtpp_node_at(3)->mode, RTPP_UNIX);
	CHECK_STR(rtpp_node_at(3)->path, "/run/rtpp.sock");
	CHECK_STR(rtpp_node_at(4)->path, "/var/run/rtpproxy.sock");
	CHECK_INT(rtpp_node_at(4)->set_id, 1);
	CHECK_INT(ntohs(rtpp_node_at(5)->addr.in4.sin_port), 22222);
	CHECK_INT(rtpp_set_find(0)->count, 4);
	CHECK_INT(rtpp_sock_add("", err, sizeof(err)), 0);
	CHECK_INT(rtpp_sock_add("a == udp:1.2.3.4:5", err, sizeof(err)), -1);
	CHECK_INT(rtpp_sock_add("2 ==  ", err, sizeof(err)), -1);
	CHECK_INT(rtpp_sock_add("udp:1.2.3.4:5=", err, sizeof(err)), -1);
	rtpp_nodes_reset();
	CHECK_INT(rtpp_node_count(), 0);
}

TEST(version_check)
{
	fake_t ok, old, silent;
	arena_t *a = new_arena();

	setup();
	fake_start(&ok, FAKE_OK);
	fake_start(&old, FAKE_OLD);
	fake_start(&silent, FAKE_SILENT);
	ok.ptl = 0;
	sock_add("udp:127.0.0.1:%d udp:127.0.0.1:%d udp:127.0.0.1:%d", ok.port,
		 old.port, silent.port);
	CHECK_INT(rtpp_test(rtpp_node_at(0), a, 1), 0);
	CHECK_STR(ok.cmds[0], "V");
	CHECK_STR(ok.cmds[1], "VF " RTPP_CAP_REQUIRED);
	CHECK_INT(rtpp_node_at(0)->rep_supported, 1);
	CHECK_INT(rtpp_node_at(0)->ptl_supported, 0);
	CHECK_INT(rtpp_test(rtpp_node_at(1), a, 1), 1);
	CHECK(rtpp_node_is_disabled(rtpp_node_at(1)));
	{
		uint64_t t0 = osp_now_ms();

		CHECK_INT(rtpp_test(rtpp_node_at(2), a, 1), 1);
		CHECK_INT(silent.requests, 2); /* rtpproxy_retr attempts */
		CHECK(osp_now_ms() - t0 >= 280);
	}
	CHECK(rtpp_node_is_disabled(rtpp_node_at(2)));
	/* not forced: a disabled one is tested only at its recheck time */
	silent.requests = 0;
	CHECK_INT(rtpp_test(rtpp_node_at(2), a, 0), 1);
	CHECK_INT(silent.requests, 0);
	fake_now += 60000;
	fake_mode(&silent, FAKE_OK);
	CHECK_INT(rtpp_test(rtpp_node_at(2), a, 0), 0);
	CHECK(!rtpp_node_is_disabled(rtpp_node_at(2)));
	free_arena(a);
}

#define SDP1                                                                   \
	"v=0\r\n"                                                              \
	"o=alice 1 1 IN IP4 192.0.2.10\r\n"                                    \
	"s=-\r\n"                                                              \
	"c=IN IP4 192.0.2.10\r\n"                                              \
	"t=0 0\r\n"                                                            \
	"m=audio 30000 RTP/AVP 0 8\r\n"                                        \
	"a=rtcp:30001\r\n"

#define INVITE_HDRS(cl)                                                        \
	"INVITE sip:bob@example.com SIP/2.0\r\n"                               \
	"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKinv1\r\n"              \
	"From: <sip:alice@example.com>;tag=ftag1\r\n"                          \
	"To: <sip:bob@example.com>\r\n"                                        \
	"Call-ID: call-1@example.com\r\n"                                      \
	"CSeq: 10 INVITE\r\n"                                                  \
	"Content-Type: application/sdp\r\n"                                    \
	"Content-Length: " cl "\r\n"                                           \
	"\r\n"

#define INVITE INVITE_HDRS("110") SDP1

#define SDPB                                                                   \
	"v=0\r\n"                                                              \
	"o=bob 2 2 IN IP4 198.51.100.7\r\n"                                    \
	"s=-\r\n"                                                              \
	"c=IN IP4 198.51.100.7\r\n"                                            \
	"t=0 0\r\n"                                                            \
	"m=audio 40000 RTP/AVP 0\r\n"

#define OK200                                                                  \
	"SIP/2.0 200 OK\r\n"                                                   \
	"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKinv1\r\n"              \
	"From: <sip:alice@example.com>;tag=ftag1\r\n"                          \
	"To: <sip:bob@example.com>;tag=ttag2\r\n"                              \
	"Call-ID: call-1@example.com\r\n"                                      \
	"CSeq: 10 INVITE\r\n"                                                  \
	"Content-Type: application/sdp\r\n"                                    \
	"Content-Length: 96\r\n"                                               \
	"\r\n" SDPB

#define BYE                                                                    \
	"BYE sip:alice@192.0.2.10:5062 SIP/2.0\r\n"                            \
	"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKbye1\r\n"            \
	"From: <sip:bob@example.com>;tag=ttag2\r\n"                            \
	"To: <sip:alice@example.com>;tag=ftag1\r\n"                            \
	"Call-ID: call-1@example.com\r\n"                                      \
	"CSeq: 1 BYE\r\n"                                                      \
	"Content-Length: 0\r\n"                                                \
	"\r\n"

static const char *body_of(tmsg_t *t)
{
	return arena_strndup(&t->arena, t->msg.new_body.s, t->msg.new_body.len);
}

TEST(offer_answer_delete_lines)
{
	fake_t f;
	tmsg_t t;
	const char *b;

	setup();
	fake_start(&f, FAKE_OK);
	sock_add("udp:127.0.0.1:%d", f.port);
	test_all();
	fake_forget(&f);

	/* offer "co": U with the SIP source address (no 'r'), payloads;
	 * the SDP points at the relay */
	tmsg_parse(&t, INVITE);
	CHECK_INT(rtpp_force(&t.msg, STR_LIT("co"), STR_LIT("127.0.0.1"), 1, 0),
		  1);
	CHECK_STR(fake_last(&f, "U"),
		  "Uc0,8 call-1@example.com 192.0.2.10 30000 ftag1;1");
	b = body_of(&t);
	CHECK_STR(b, "v=0\r\n"
		     "o=alice 1 1 IN IP4 127.0.0.2\r\n"
		     "s=-\r\n"
		     "c=IN IP4 127.0.0.2\r\n"
		     "t=0 0\r\n"
		     "m=audio 35000 RTP/AVP 0 8\r\n"
		     "a=rtcp:35001\r\n"
		     "a=nortpproxy:yes\r\n");
	/* the rewritten message carries the new body and length */
	CHECK_HAS(tmsg_build(&t), "Content-Length: 126\r\n");
	tmsg_free(&t);

	/* the answer in the 200: L, tags as they are */
	tmsg_parse(&t, OK200);
	CHECK_INT(rtpp_force(&t.msg, STR_LIT("ro"), STR_LIT("127.0.0.1"), 0, 0),
		  1);
	CHECK_STR(fake_last(&f, "L"), "Lc0 call-1@example.com 198.51.100.7 "
				      "40000 ftag1;1 ttag2;1");
	b = body_of(&t);
	CHECK(strstr(b, "m=audio 35002 RTP/AVP 0\r\n") != NULL);
	CHECK(strstr(b, "c=IN IP4 127.0.0.2\r\n") != NULL);
	CHECK(strstr(b, "o=bob 2 2 IN IP4 127.0.0.2\r\n") != NULL);
	tmsg_free(&t);

	/* an SDP that went through an rtpproxy already: -2, unless 'f' */
	tmsg_parse(&t, INVITE_HDRS("128") SDP1 "a=nortpproxy:yes\r\n");
	CHECK_INT(rtpp_force(&t.msg, STR_NULL, STR_LIT("127.0.0.1"), 1, 0), -2);
	CHECK_INT(rtpp_force(&t.msg, STR_LIT("f"), STR_LIT("127.0.0.1"), 1, 0),
		  1);
	CHECK_INT(count_sub(body_of(&t), "a=nortpproxy:yes"), 1);
	tmsg_free(&t);

	/* delete: D with both tags, 't' leaves the To tag out, '1' adds the
	 * Via branch to the Call-ID */
	tmsg_parse(&t, BYE);
	CHECK_INT(rtpp_unforce(&t.msg, STR_NULL), 1);
	CHECK_STR(fake_last(&f, "D"), "D call-1@example.com ttag2 ftag1");
	CHECK_INT(rtpp_unforce(&t.msg, STR_LIT("t")), 1);
	CHECK_STR(fake_last(&f, "D"), "D call-1@example.com ttag2");
	CHECK_INT(rtpp_unforce(&t.msg, STR_LIT("1")), 1);
	CHECK_STR(fake_last(&f, "D"),
		  "D call-1@example.com;z9hG4bKbye1 ttag2 ftag1");
	CHECK_INT(rtpp_unforce(&t.msg, STR_LIT("?")), -1);
	tmsg_free(&t);
}

TEST(offer_flags_and_streams)
{
	fake_t f;
	tmsg_t t;
	const char *b;

	setup();
	fake_start(&f, FAKE_OK);
	f.ptl = 0; /* no payload lists */
	sock_add("udp:127.0.0.1:%d", f.port);
	test_all();

	/* modifiers: a (A), w (S), ie, z20; 'r' sends the SDP address; the
	 * Via branch with '1' */
	tmsg_parse(&t, INVITE);
	CHECK_INT(
	    rtpp_force(&t.msg, STR_LIT("awiez20r1"), STR_LIT("10.0.0.1"), 1, 0),
	    1);
	CHECK_STR(fake_last(&f, "U"), "UASIEZ20 call-1@example.com;z9hG4bKinv1 "
				      "192.0.2.10 30000 ftag1;1");
	tmsg_free(&t);

	/* two streams, a disabled one (port 0 kept), IPv6 media, a null
	 * address; the instance answers the port only: our address goes in */
	fake_mode(&f, FAKE_PORT_ONLY);
	fake_forget(&f);
	f.next_port = 35000;
	tmsg_parse(&t, "INVITE sip:bob@example.com SIP/2.0\r\n"
		       "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKx\r\n"
		       "From: <sip:alice@example.com>;tag=ftag1\r\n"
		       "To: <sip:bob@example.com>\r\n"
		       "Call-ID: call-9\r\n"
		       "CSeq: 10 INVITE\r\n"
		       "Content-Type: application/sdp\r\n"
		       "Content-Length: 147\r\n"
		       "\r\n"
		       "v=0\r\n"
		       "o=a 1 1 IN IP4 192.0.2.10\r\n"
		       "c=IN IP4 192.0.2.10\r\n"
		       "m=audio 30000 RTP/AVP 0\r\n"
		       "m=video 0 RTP/AVP 96\r\n"
		       "m=audio 30004 RTP/AVP 8\r\n"
		       "c=IN IP6 2001:db8::5\r\n");
	CHECK_INT(rtpp_force(&t.msg, STR_LIT("r"), STR_LIT("127.0.0.1"), 1, 0),
		  1);
	CHECK_INT(f.ncmds, 3);
	CHECK_STR(f.cmds[0], "U call-9 192.0.2.10 30000 ftag1;1");
	CHECK_STR(f.cmds[1], "U call-9 192.0.2.10 0 ftag1;2");
	CHECK_STR(f.cmds[2], "U6 call-9 2001:db8::5 30004 ftag1;3");
	b = body_of(&t);
	CHECK_STR(b, "v=0\r\n"
		     "o=a 1 1 IN IP4 192.0.2.10\r\n"
		     "c=IN IP4 127.0.0.1\r\n"
		     "m=audio 35000 RTP/AVP 0\r\n"
		     "m=video 0 RTP/AVP 96\r\n"
		     "m=audio 35004 RTP/AVP 8\r\n"
		     "c=IN IP4 127.0.0.1\r\n"
		     "a=nortpproxy:yes\r\n");
	tmsg_free(&t);

	/* a forced address (rtpproxy_offer_ip) wins over the instance's */
	fake_mode(&f, FAKE_OK);
	tmsg_parse(&t, INVITE);
	CHECK_INT(
	    rtpp_force(&t.msg, STR_LIT("c"), STR_LIT("203.0.113.5"), 1, 1), 1);
	CHECK(strstr(body_of(&t), "c=IN IP4 203.0.113.5\r\n") != NULL);
	tmsg_free(&t);

	/* an error answer (E8) fails without failover */
	fake_mode(&f, FAKE_ERROR);
	tmsg_parse(&t, INVITE);
	CHECK_INT(rtpp_force(&t.msg, STR_NULL, STR_LIT("127.0.0.1"), 1, 0), -1);
	CHECK(t.msg.new_body.s == NULL);
	tmsg_free(&t);

	/* refused: unknown flag, lookup for an answer, answer in a request
	 * without To tag, no SDP */
	fake_mode(&f, FAKE_OK);
	tmsg_parse(&t, INVITE);
	CHECK_INT(rtpp_force(&t.msg, STR_LIT("q"), STR_LIT("127.0.0.1"), 1, 0),
		  -1);
	CHECK_INT(rtpp_force(&t.msg, STR_LIT("l"), STR_LIT("127.0.0.1"), 0, 0),
		  -1);
	CHECK_INT(rtpp_force(&t.msg, STR_NULL, STR_LIT("127.0.0.1"), 0, 0), -1);
	tmsg_free(&t);
	tmsg_parse(&t, BYE);
	CHECK_INT(rtpp_force(&t.msg, STR_NULL, STR_LIT("127.0.0.1"), 1, 0), -1);
	tmsg_free(&t);
}

TEST(failover_timeout)
{
	fake_t live, dead;
	tmsg_t t;
	uint64_t t0;

	setup();
	fake_start(&live, FAKE_OK);
	fake_start(&dead, FAKE_SILENT);
	/* the Call-ID "call-1@example.com" has an odd byte sum: the second
	 * of two equal instances, the dead one */
	sock_add("udp:127.0.0.1:%d udp:127.0.0.1:%d", live.port, dead.port);
	tmsg_parse(&t, INVITE);
	t0 = osp_now_ms();
	CHECK_INT(rtpp_force(&t.msg, STR_NULL, STR_LIT("127.0.0.1"), 1, 0), 1);
	CHECK(osp_now_ms() - t0 >= 280); /* two attempts on the dead one */
	CHECK_INT(dead.requests, 2);
	CHECK(rtpp_node_is_disabled(rtpp_node_at(1)));
	CHECK(!rtpp_node_is_disabled(rtpp_node_at(0)));
	/* (never tested with VF: no payload list) */
	CHECK_STR(fake_last(&live, "U"),
		  "U call-1@example.com 192.0.2.10 30000 ftag1;1");
	tmsg_free(&t);

	/* the dead one is skipped until its recheck time */
	fake_forget(&dead);
	tmsg_parse(&t, BYE);
	t0 = osp_now_ms();
	CHECK_INT(rtpp_unforce(&t.msg, STR_NULL), 1);
	CHECK(osp_now_ms() - t0 < 100);
	CHECK_INT(dead.requests, 0);
	CHECK_STR(fake_last(&live, "D"), "D call-1@example.com ttag2 ftag1");
	tmsg_free(&t);

	/* then tested again (V), and used when it answers */
	fake_now += 61000;
	fake_mode(&dead, FAKE_OK);
	tmsg_parse(&t, INVITE);
	CHECK_INT(rtpp_force(&t.msg, STR_NULL, STR_LIT("127.0.0.1"), 1, 0), 1);
	CHECK_STR(dead.cmds[0], "V");
	CHECK_STR(fake_last(&dead, "U"),
		  "Uc0,8 call-1@example.com 192.0.2.10 30000 ftag1;1");
	tmsg_free(&t);

	/* all silent: -3, no instance */
	fake_mode(&dead, FAKE_SILENT);
	fake_mode(&live, FAKE_SILENT);
	tmsg_parse(&t, INVITE);
	CHECK_INT(rtpp_force(&t.msg, STR_NULL, STR_LIT("127.0.0.1"), 1, 0), -3);
	CHECK(rtpp_node_is_disabled(rtpp_node_at(0)));
	CHECK(rtpp_node_is_disabled(rtpp_node_at(1)));
	CHECK_INT(rtpp_unforce(&t.msg, STR_NULL), -1);
	tmsg_free(&t);
}

TEST(weights)
{
	fake_t f1, f2;
	arena_t *a = new_arena();
	int hits[2] = {0, 0};
	char cid[8];

	setup();
	fake_start(&f1, FAKE_OK);
	fake_start(&f2, FAKE_OK);
	sock_add("udp:127.0.0.1:%d=1 udp:127.0.0.1:%d=3", f1.port, f2.port);
	for (int c = 1; c < 256; c++) {
		rtpp_node_t *n;

		cid[0] = (char)c;
		n = rtpp_select(rtpp_set_find(0), (str_t){cid, 1}, a);
		CHECK(n != NULL);
		CHECK_INT(n->index, c % 4 == 0 ? 0 : 1);
		hits[n->index]++;
	}
	CHECK_INT(hits[0], 63);
	CHECK_INT(hits[1], 192);
	free_arena(a);
}

/* ---- KSR ---- */

static int kc(tmsg_t *t, const char *fn, ...)
{
	const ksr_export_t *e = kfind(M, fn);
	ksr_arg_t args[KSR_PARAMS_MAX];
	ksr_xval_t x;
	va_list ap;

	memset(args, 0, sizeof(args));
	va_start(ap, fn);
	for (int i = 0; i < KSR_PARAMS_MAX && e->ptypes[i]; i++) {
		if (e->ptypes[i] == KSR_INT)
			args[i].n = va_arg(ap, long);
		else
			args[i].s = str_from(va_arg(ap, const char *));
	}
	va_end(ap);
	return e->fn(&t->ctx, args, &x);
}

TEST(ksr_manage)
{
	fake_t f, f1;
	tmsg_t t;

	setup();
	fake_start(&f, FAKE_OK);
	fake_start(&f1, FAKE_OK);
	sock_add("udp:127.0.0.1:%d", f.port);
	sock_add("1 == udp:127.0.0.1:%d", f1.port);
	test_all();

	tmsg_parse(&t, INVITE);
	CHECK_INT(kc(&t, "rtpproxy_manage", "co"), 1);
	CHECK_STR(fake_last(&f, "U"),
		  "Uc0,8 call-1@example.com 192.0.2.10 30000 ftag1;1");
	CHECK(strstr(body_of(&t), "c=IN IP4 127.0.0.2") != NULL);
	tmsg_free(&t);
	tmsg_parse(&t, OK200);
	CHECK_INT(kc(&t, "rtpproxy_manage", "co"), 1);
	CHECK(strncmp(fake_last(&f, ""), "L", 1) == 0);
	tmsg_free(&t);
	tmsg_parse(&t, BYE);
	CHECK_INT(kc(&t, "rtpproxy_manage0"), 1);
	CHECK(strncmp(fake_last(&f, ""), "D ", 2) == 0);
	tmsg_free(&t);

	/* answer in a request is for ACK only; unforce_rtp_proxy is D */
	tmsg_parse(&t, INVITE);
	CHECK_INT(kc(&t, "rtpproxy_answer0"), -1);
	CHECK_INT(kc(&t, "unforce_rtp_proxy"), 1);
	CHECK_STR(fake_last(&f, "D"), "D call-1@example.com ftag1");
	tmsg_free(&t);

	/* manage_ip: the given address goes in the SDP */
	tmsg_parse(&t, INVITE);
	CHECK_INT(kc(&t, "rtpproxy_manage_ip", "", "192.0.2.200"), 1);
	CHECK(strstr(body_of(&t), "c=IN IP4 192.0.2.200") != NULL);
	tmsg_free(&t);

	/* set_rtpproxy_set for this message only */
	tmsg_parse(&t, BYE);
	CHECK_INT(kc(&t, "set_rtpproxy_set", 5L), -1);
	CHECK_INT(kc(&t, "set_rtpproxy_set", 1L), 1);
	CHECK_INT(kc(&t, "rtpproxy_destroy", "t"), 1);
	CHECK_STR(fake_last(&f1, "D"), "D call-1@example.com ttag2");
	tmsg_free(&t);
	tmsg_parse(&t, BYE);
	fake_forget(&f1);
	CHECK_INT(kc(&t, "rtpproxy_destroy0"), 1);
	CHECK_STR(fake_last(&f1, "D"), "");
	tmsg_free(&t);

	/* an error reply to the INVITE deletes; OPTIONS: nothing to do */
	tmsg_parse(&t, "SIP/2.0 486 Busy Here\r\n"
		       "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKinv1\r\n"
		       "From: <sip:alice@example.com>;tag=ftag1\r\n"
		       "To: <sip:bob@example.com>;tag=ttag3\r\n"
		       "Call-ID: call-1@example.com\r\n"
		       "CSeq: 10 INVITE\r\n"
		       "Content-Length: 0\r\n\r\n");
	CHECK_INT(kc(&t, "rtpproxy_manage", ""), 1);
	CHECK_STR(fake_last(&f, ""), "D call-1@example.com ftag1 ttag3");
	tmsg_free(&t);
	tmsg_parse(&t, "OPTIONS sip:b@example.com SIP/2.0\r\n"
		       "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKo\r\n"
		       "From: <sip:a@example.com>;tag=1\r\n"
		       "To: <sip:b@example.com>\r\n"
		       "Call-ID: o1\r\n"
		       "CSeq: 1 OPTIONS\r\n"
		       "Content-Length: 0\r\n\r\n");
	CHECK_INT(kc(&t, "rtpproxy_manage", "co"), -1);
	tmsg_free(&t);

	/* late offer: the 200 to an INVITE without SDP is the offer (U with
	 * the To tag first), the ACK the answer (L) */
	tmsg_parse(&t, "SIP/2.0 200 OK\r\n"
		       "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKl\r\n"
		       "From: <sip:alice@example.com>;tag=ftag1\r\n"
		       "To: <sip:bob@example.com>;tag=ttag2\r\n"
		       "Call-ID: late-1\r\n"
		       "CSeq: 3 INVITE\r\n"
		       "Content-Type: application/sdp\r\n"
		       "Content-Length: 96\r\n"
		       "\r\n" SDPB);
	CHECK_INT(kc(&t, "rtpproxy_manage", ""), 1);
	CHECK_STR(fake_last(&f, "U"),
		  "Uc0 late-1 192.0.2.10 40000 ttag2;1 ftag1;1");
	tmsg_free(&t);
	tmsg_parse(&t, "ACK sip:bob@198.51.100.7 SIP/2.0\r\n"
		       "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKa\r\n"
		       "From: <sip:alice@example.com>;tag=ftag1\r\n"
		       "To: <sip:bob@example.com>;tag=ttag2\r\n"
		       "Call-ID: late-1\r\n"
		       "CSeq: 3 ACK\r\n"
		       "Content-Type: application/sdp\r\n"
		       "Content-Length: 110\r\n"
		       "\r\n" SDP1);
	CHECK_INT(kc(&t, "rtpproxy_manage", ""), 1);
	CHECK_STR(fake_last(&f, "L"),
		  "Lc0,8 late-1 192.0.2.10 30000 ttag2;1 ftag1;1");
	tmsg_free(&t);
}

TEST(unix_socket)
{
	char path[108];
	int ls, cs;
	struct sockaddr_un sun;
	tmsg_t t;
	char buf[256];
	ssize_t n;
	pid_t pid;

	setup();
	snprintf(path, sizeof(path), "/tmp/osp-rtpp-%d.sock", (int)getpid());
	unlink(path);
	ls = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	CHECK(bind(ls, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	CHECK(listen(ls, 4) == 0);
	sock_add("unix:%s", path);
	/* a child answers one D over the stream, without cookie */
	pid = fork();
	if (pid == 0) {
		cs = accept(ls, NULL, NULL);
		n = read(cs, buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = '\0';
			if (write(cs,
				  strcmp(buf, "D c1 t1") == 0 ? "0\n" : "E1\n",
				  strcmp(buf, "D c1 t1") == 0 ? 2 : 3) < 0)
				_exit(1);
		}
		_exit(0);
	}
	tmsg_parse(&t, "BYE sip:a@192.0.2.10 SIP/2.0\r\n"
		       "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKu\r\n"
		       "From: <sip:a@example.com>;tag=t1\r\n"
		       "To: <sip:b@example.com>\r\n"
		       "Call-ID: c1\r\n"
		       "CSeq: 1 BYE\r\n"
		       "Content-Length: 0\r\n\r\n");
	{
		str_t reply;
		arena_t *a = new_arena();

		CHECK_INT(
		    rtpp_send(rtpp_node_at(0), a, STR_LIT("D c1 t1"), &reply),
		    0);
		CHECK_STRV(reply, "0");
		free_arena(a);
	}
	waitpid(pid, NULL, 0);
	tmsg_free(&t);
	unlink(path);
}

/* ---- RPC ---- */

static json_t *rpc_call(const char *name, json_t *params, rpc_error_t *err)
{
	json_t *r;

	memset(err, 0, sizeof(*err));
	for (const rpc_export_t *e = M->rpc; e->name; e++)
		if (strcmp(e->name, name) == 0) {
			r = e->fn(params, err);
			json_decref(params);
			return r;
		}
	UNIT_FAIL("no RPC %s", name);
	return NULL;
}

TEST(rpc_commands)
{
	fake_t f;
	rpc_error_t err;
	json_t *r, *o;
	char url[64];
	tmsg_t t;
	int dead = closed_port();

	setup();
	fake_start(&f, FAKE_OK);
	sock_add("udp:127.0.0.1:%d=2", f.port);
	sock_add("3 == udp:127.0.0.1:%d", dead);
	test_all();
	snprintf(url, sizeof(url), "udp:127.0.0.1:%d", f.port);
	r = rpc_call("rtpproxy.list", NULL, &err);
	CHECK(r && json_array_size(r) == 2);
	o = json_array_get(r, 0);
	CHECK_STR(json_string_value(json_object_get(o, "url")), url);
	CHECK_INT(json_integer_value(json_object_get(o, "setid")), 0);
	CHECK_INT(json_integer_value(json_object_get(o, "weight")), 2);
	CHECK_INT(json_integer_value(json_object_get(o, "disabled")), 0);
	o = json_array_get(r, 1);
	CHECK_INT(json_integer_value(json_object_get(o, "setid")), 3);
	CHECK_INT(json_integer_value(json_object_get(o, "disabled")), 1);
	CHECK_INT(json_integer_value(json_object_get(o, "recheck")), 60);
	json_decref(r);

	/* disable: no instance left for the default set */
	r = rpc_call("rtpproxy.enable", json_pack("[s, i]", url, 0), &err);
	CHECK(json_is_null(r));
	json_decref(r);
	tmsg_parse(&t, BYE);
	CHECK_INT(rtpp_unforce(&t.msg, STR_NULL), -1);
	tmsg_free(&t);
	r = rpc_call("rtpproxy.list", NULL, &err);
	CHECK_INT(json_integer_value(
		      json_object_get(json_array_get(r, 0), "recheck")),
		  -1);
	json_decref(r);
	r = rpc_call("rtpproxy.enable", json_pack("[s, s]", url, "1"), &err);
	CHECK(json_is_null(r));
	json_decref(r);
	tmsg_parse(&t, BYE);
	CHECK_INT(rtpp_unforce(&t.msg, STR_NULL), 1);
	tmsg_free(&t);
	r = rpc_call("rtpproxy.enable", json_pack("[s, i]", "udp:9.9.9.9:1", 1),
		     &err);
	CHECK(r == NULL);
	CHECK_INT(err.code, 404);
}

TEST_LIST(TEST_ENTRY(sdp_parse), TEST_ENTRY(sdp_apply), TEST_ENTRY(sock_syntax),
	  TEST_ENTRY(version_check), TEST_ENTRY(offer_answer_delete_lines),
	  TEST_ENTRY(offer_flags_and_streams), TEST_ENTRY(failover_timeout),
	  TEST_ENTRY(weights), TEST_ENTRY(ksr_manage), TEST_ENTRY(unix_socket),
	  TEST_ENTRY(rpc_commands), )
