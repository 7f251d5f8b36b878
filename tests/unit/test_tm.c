/* test_tm.c - the transaction layer without a network: request and reply
 * matching (RFC 3261 and RFC 2543 rules), best reply selection, and the
 * client and server state machines driven by short timers. What tm sends
 * is captured through tm_send_fn; worker jobs run inline. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/dset.h"
#include "core/timer.h"
#include "modules/tm/tm_int.h"
#include "net/net.h"
#include "sip/msg.h"
#include "unit.h"

/* ---- captured sends ---- */

#define MAX_SENT 512

static struct {
	char *buf;
	size_t len;
	int port;
} sent[MAX_SENT];
static int n_sent;
static pthread_mutex_t sent_lock = PTHREAD_MUTEX_INITIALIZER;

static int capture_send(net_dest_t *dst, const char *buf, size_t len)
{
	pthread_mutex_lock(&sent_lock);
	if (n_sent < MAX_SENT) {
		sent[n_sent].buf = strndup(buf, len);
		sent[n_sent].len = len;
		sent[n_sent].port = net_addr_port(&dst->to);
		n_sent++;
	}
	pthread_mutex_unlock(&sent_lock);
	return 0;
}

static int run_inline(void (*fn)(void *arg), void *arg)
{
	fn(arg);
	return 0;
}

/* Messages sent so far that start with prefix (and go to port, when not
 * 0). */
static int count_sent(const char *prefix, int port)
{
	int n = 0;

	pthread_mutex_lock(&sent_lock);
	for (int i = 0; i < n_sent; i++)
		if (strncmp(sent[i].buf, prefix, strlen(prefix)) == 0 &&
		    (!port || sent[i].port == port))
			n++;
	pthread_mutex_unlock(&sent_lock);
	return n;
}

/* The last message starting with prefix (a copy to free), or NULL. */
static char *last_sent(const char *prefix)
{
	char *r = NULL;

	pthread_mutex_lock(&sent_lock);
	for (int i = n_sent - 1; i >= 0 && !r; i--)
		if (strncmp(sent[i].buf, prefix, strlen(prefix)) == 0)
			r = strdup(sent[i].buf);
	pthread_mutex_unlock(&sent_lock);
	return r;
}

static void free_sent(void)
{
	pthread_mutex_lock(&sent_lock);
	for (int i = 0; i < n_sent; i++)
		free(sent[i].buf);
	n_sent = 0;
	pthread_mutex_unlock(&sent_lock);
}

/* ---- set-up ---- */

#define UAC_PORT  5070 /* upstream */
#define OUR_PORT  5999 /* our listener */
#define UAS1_PORT 5998
#define UAS2_PORT 5997

static void setup(int timers)
{
	tm_cfg.t1 = 20;
	tm_cfg.t2 = 80;
	tm_cfg.fr_timer = 300;
	tm_cfg.fr_inv_timer = 500;
	tm_cfg.wait_timer = 100;
	tm_cfg.max_inv_lifetime = 5000;
	tm_cfg.max_noninv_lifetime = 5000;
	CHECK(tm_table_init(64) == 0);
	CHECK(net_listener_add(SIP_PROTO_UDP, "127.0.0.1", OUR_PORT, NULL, 0) ==
	      0);
	tm_send_fn = capture_send;
	tm_post_fn = run_inline;
	if (timers)
		CHECK(osp_timers_start() == 0);
}

static void teardown(void)
{
	osp_timers_stop();
	tm_table_destroy();
	free_sent();
	net_destroy();
}

/* A request as text: method, top Via branch (NULL: none), CSeq method,
 * To tag and Call-ID. */
static char *request(const char *method, const char *branch,
		     const char *cseq_method, const char *to_tag,
		     const char *callid)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf),
		 "%s sip:bob@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 127.0.0.1:%d%s%s\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:alice@example.com>;tag=ft1\r\n"
		 "To: <sip:bob@example.com>%s%s\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: 1 %s\r\n"
		 "Content-Length: 0\r\n\r\n",
		 method, UAC_PORT, branch ? ";branch=" : "",
		 branch ? branch : "", to_tag ? ";tag=" : "",
		 to_tag ? to_tag : "", callid, cseq_method);
	return buf;
}

/* A reply from downstream to our branch br. */
static char *reply(int code, const char *reason, const char *br,
		   const char *cseq_method, const char *callid)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf),
		 "SIP/2.0 %d %s\r\n"
		 "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s\r\n"
		 "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-inv1\r\n"
		 "From: <sip:alice@example.com>;tag=ft1\r\n"
		 "To: <sip:bob@example.com>;tag=uas\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: 1 %s\r\n"
		 "Content-Length: 0\r\n\r\n",
		 code, reason, OUR_PORT, br, UAC_PORT, callid, cseq_method);
	return buf;
}

static sip_msg_t *parse(arena_t *a, const char *text)
{
	sip_msg_t *m = arena_zalloc(a, sizeof(*m));
	char *buf = arena_strndup(a, text, strlen(text));

	CHECK(m && buf);
	m->arena = a;
	CHECK(sip_msg_parse(m, buf, strlen(text), NULL) == 0);
	CHECK(sip_msg_check_mandatory(m, NULL) == 0);
	m->rcv.proto = SIP_PROTO_UDP;
	CHECK(net_addr_from_ip("127.0.0.1", UAC_PORT, &m->rcv.src) == 0);
	m->rcv.listener = net_listeners;
	return m;
}

/* Feed a reply to the hook the way a worker does (its own arena). */
static int feed_reply(const char *text)
{
	arena_t a;
	int rc;

	arena_init(&a);
	rc = tm_reply_received(parse(&a, text));
	arena_destroy(&a);
	return rc;
}

static tm_cell_t *new_cell(arena_t *a, const char *text, sip_msg_t **msgp)
{
	int existed = -1;
	sip_msg_t *m = parse(a, text);
	tm_cell_t *c = tm_lookup_or_create(m, &existed);

	CHECK(c != NULL);
	CHECK_INT(existed, 0);
	if (msgp)
		*msgp = m;
	return c;
}

static void wait_ms(int ms)
{
	usleep((useconds_t)ms * 1000);
}

/* Wait (up to 2 s: the machine may be loaded) until at least n messages
 * starting with prefix were sent to port; returns the count. */
static int wait_sent(const char *prefix, int port, int n)
{
	int k = 0;

	for (int i = 0; i < 200 && (k = count_sent(prefix, port)) < n; i++)
		wait_ms(10);
	return k;
}

/* Wait (up to 3 s) until no transaction is left. */
static void wait_gone(void)
{
	for (int i = 0; i < 300 && stats_get(&tm_st_current); i++)
		wait_ms(10);
	CHECK_INT(stats_get(&tm_st_current), 0);
	CHECK_INT(tm_table_count(), 0);
}

/* ---- matching ---- */

TEST(match_rfc3261)
{
	arena_t a;
	sip_msg_t *m;
	tm_cell_t *c, *x;
	int existed;

	setup(0);
	arena_init(&a);
	c = new_cell(
	    &a, request("INVITE", "z9hG4bK-inv1", "INVITE", NULL, "c1@test"),
	    NULL);
	/* a retransmission finds it */
	m = parse(&a,
		  request("INVITE", "z9hG4bK-inv1", "INVITE", NULL, "c1@test"));
	x = tm_lookup_or_create(m, &existed);
	CHECK(x == c);
	CHECK_INT(existed, 1);
	tm_unref(x);
	CHECK(tm_lookup_request(m, TM_MATCH_REQ) == c);
	tm_unref(c);
	/* another branch is another transaction */
	m = parse(&a,
		  request("INVITE", "z9hG4bK-inv2", "INVITE", NULL, "c1@test"));
	CHECK(tm_lookup_request(m, TM_MATCH_REQ) == NULL);
	/* the CANCEL finds its INVITE; the ACK only after a negative
	 * reply (the ACK of a 2xx is a transaction of its own) */
	m = parse(&a,
		  request("CANCEL", "z9hG4bK-inv1", "CANCEL", NULL, "c1@test"));
	x = tm_lookup_request(m, TM_MATCH_CANCEL);
	CHECK(x == c);
	tm_unref(x);
	CHECK(tm_lookup_request(m, TM_MATCH_REQ) == NULL);
	m = parse(&a, request("ACK", "z9hG4bK-inv1", "ACK", "t9", "c1@test"));
	CHECK(tm_lookup_request(m, TM_MATCH_REQ) == NULL);
	c->uas_status = 486;
	x = tm_lookup_request(m, TM_MATCH_REQ);
	CHECK(x == c);
	tm_unref(x);
	c->uas_status = 200;
	CHECK(tm_lookup_request(m, TM_MATCH_REQ) == NULL);
	/* the e2e ACK of the 2xx: new branch, same dialog and CSeq */
	m = parse(&a, request("ACK", "z9hG4bK-ack9", "ACK", "t9", "c1@test"));
	x = tm_lookup_request(m, TM_MATCH_E2EACK);
	CHECK(x == c);
	tm_unref(x);
	/* same branch from another sent-by is not the same */
	m = parse(&a, "INVITE sip:bob@example.com SIP/2.0\r\n"
		      "Via: SIP/2.0/UDP 127.0.0.1:5071;branch=z9hG4bK-inv1\r\n"
		      "From: <sip:alice@example.com>;tag=ft1\r\n"
		      "To: <sip:bob@example.com>\r\n"
		      "Call-ID: c1@test\r\nCSeq: 1 INVITE\r\n"
		      "Content-Length: 0\r\n\r\n");
	CHECK(tm_lookup_request(m, TM_MATCH_REQ) == NULL);
	/* same branch, other method: not the same transaction */
	m = parse(
	    &a, request("OPTIONS", "z9hG4bK-inv1", "OPTIONS", NULL, "c1@test"));
	CHECK(tm_lookup_request(m, TM_MATCH_REQ) == NULL);
	tm_lock(c);
	tm_cell_end(c);
	tm_unlock(c);
	tm_unref(c);
	CHECK_INT(tm_table_count(), 0);
	CHECK_INT(stats_get(&tm_st_current), 0);
	arena_destroy(&a);
	teardown();
}

TEST(match_rfc2543)
{
	arena_t a;
	sip_msg_t *m;
	tm_cell_t *c, *x;

	setup(0);
	arena_init(&a);
	/* no magic cookie: Request-URI, tags, Call-ID, CSeq, top Via */
	c = new_cell(&a, request("INVITE", "old1", "INVITE", NULL, "c2@test"),
		     NULL);
	m = parse(&a, request("INVITE", "old1", "INVITE", NULL, "c2@test"));
	x = tm_lookup_request(m, TM_MATCH_REQ);
	CHECK(x == c);
	tm_unref(x);
	m = parse(&a, request("INVITE", NULL, "INVITE", NULL, "c2@test"));
	CHECK(tm_lookup_request(m, TM_MATCH_REQ) == NULL); /* other Via */
	m = parse(&a, request("INVITE", "old1", "INVITE", "x", "c2@test"));
	CHECK(tm_lookup_request(m, TM_MATCH_REQ) == NULL); /* To tag */
	m = parse(&a, request("INVITE", "old1", "INVITE", NULL, "c3@test"));
	CHECK(tm_lookup_request(m, TM_MATCH_REQ) == NULL); /* Call-ID */
	m = parse(&a, request("CANCEL", "old1", "CANCEL", NULL, "c2@test"));
	x = tm_lookup_request(m, TM_MATCH_CANCEL);
	CHECK(x == c);
	tm_unref(x);
	/* the ACK carries the To tag of our final reply */
	c->uas_status = 404;
	strcpy(c->uas_totag, "ourtag");
	m = parse(&a, request("ACK", "old1", "ACK", "other", "c2@test"));
	CHECK(tm_lookup_request(m, TM_MATCH_REQ) == NULL);
	m = parse(&a, request("ACK", "old1", "ACK", "ourtag", "c2@test"));
	x = tm_lookup_request(m, TM_MATCH_REQ);
	CHECK(x == c);
	tm_unref(x);
	tm_lock(c);
	tm_cell_end(c);
	tm_unlock(c);
	tm_unref(c);
	CHECK_INT(tm_table_count(), 0);
	arena_destroy(&a);
	teardown();
}

TEST(match_reply_branch)
{
	arena_t a;
	tm_cell_t *c, *x;
	char br[64], bad[80];
	int bi = -1, is_cancel = -1;

	setup(0);
	arena_init(&a);
	c = new_cell(
	    &a, request("INVITE", "z9hG4bK-inv1", "INVITE", NULL, "c4@test"),
	    NULL);
	CHECK(tm_branch_param(c, 3, br, sizeof(br)) > 0);
	CHECK(strncmp(br, TM_BRANCH_PREFIX, strlen(TM_BRANCH_PREFIX)) == 0);
	x = tm_lookup_reply(
	    parse(&a, reply(180, "Ringing", br, "INVITE", "c4@test")), &bi,
	    &is_cancel);
	CHECK(x == c);
	CHECK_INT(bi, 3);
	CHECK_INT(is_cancel, 0);
	tm_unref(x);
	x = tm_lookup_reply(
	    parse(&a, reply(200, "OK", br, "CANCEL", "c4@test")), &bi,
	    &is_cancel);
	CHECK(x == c);
	CHECK_INT(is_cancel, 1);
	tm_unref(x);
	/* another Call-ID, a wrong label, not our format */
	CHECK(tm_lookup_reply(parse(&a, reply(180, "R", br, "INVITE", "zz")),
			      &bi, &is_cancel) == NULL);
	snprintf(bad, sizeof(bad), TM_BRANCH_PREFIX "%x.%x.0", c->bucket,
		 c->label + 1);
	CHECK(tm_lookup_reply(
		  parse(&a, reply(180, "R", bad, "INVITE", "c4@test")), &bi,
		  &is_cancel) == NULL);
	CHECK(tm_lookup_reply(parse(&a, reply(180, "R", "z9hG4bKsl1234",
					      "INVITE", "c4@test")),
			      &bi, &is_cancel) == NULL);
	snprintf(bad, sizeof(bad), TM_BRANCH_PREFIX "%x.%x.99", c->bucket,
		 c->label);
	CHECK(tm_lookup_reply(
		  parse(&a, reply(180, "R", bad, "INVITE", "c4@test")), &bi,
		  &is_cancel) == NULL);
	tm_lock(c);
	tm_cell_end(c);
	tm_unlock(c);
	tm_unref(c);
	arena_destroy(&a);
	teardown();
}

/* ---- best reply ---- */

TEST(reply_priority)
{
	tm_cell_t c;
	tm_branch_t b[3];

	/* 2xx, then 6xx, then the lowest class; a received reply beats a
	 * made-up one of the same class */
	CHECK(tm_reply_prio(200, 0) < tm_reply_prio(603, 0));
	CHECK(tm_reply_prio(603, 0) < tm_reply_prio(302, 0));
	CHECK(tm_reply_prio(302, 0) < tm_reply_prio(404, 0));
	CHECK(tm_reply_prio(486, 0) < tm_reply_prio(500, 0));
	CHECK(tm_reply_prio(480, 0) < tm_reply_prio(408, 1));
	CHECK(tm_reply_prio(408, 0) < tm_reply_prio(480, 0));
	memset(&c, 0, sizeof(c));
	memset(b, 0, sizeof(b));
	for (int i = 0; i < 3; i++) {
		b[i].idx = i;
		c.br[i] = &b[i];
	}
	c.nbr = 3;
	b[0].final_code = 486;
	b[1].final_code = 503;
	CHECK_INT(tm_pick_branch(&c), -1); /* branch 2 pending */
	b[2].final_code = 408;
	b[2].local = 1;
	CHECK_INT(tm_pick_branch(&c), 0);
	b[1].final_code = 603;
	CHECK_INT(tm_pick_branch(&c), 1);
	b[2].final_code = 200;
	b[2].local = 0;
	CHECK_INT(tm_pick_branch(&c), 2);
	c.nbr = 0;
	CHECK_INT(tm_pick_branch(&c), -2);
}

/* ---- state machines ---- */

/* Relay msg on c to the R-URI (and the destination set). */
static int relay(tm_cell_t *c, sip_msg_t *m)
{
	int rc;

	tm_lock(c);
	tm_save_state(c, m);
	rc = tm_relay_branches(NULL, c, m, 1, STR_NULL, 0);
	tm_unlock(c);
	return rc;
}

static void branch_of(tm_cell_t *c, int i, char *br, size_t cap)
{
	CHECK(tm_branch_param(c, i, br, cap) > 0);
}

TEST(invite_486_ack_and_g)
{
	arena_t a;
	sip_msg_t *m;
	tm_cell_t *c;
	char br[64], *s;
	int n;

	setup(1);
	arena_init(&a);
	c = new_cell(
	    &a, request("INVITE", "z9hG4bK-inv1", "INVITE", NULL, "c5@test"),
	    &m);
	CHECK(sip_set_ruri(m, STR_LIT("sip:bob@127.0.0.1:5998")) == 0);
	CHECK_INT(relay(c, m), 1);
	branch_of(c, 0, br, sizeof(br));
	s = last_sent("INVITE sip:bob@127.0.0.1:5998 SIP/2.0\r\nVia: "
		      "SIP/2.0/UDP 127.0.0.1:5999;branch=");
	CHECK(s && strstr(s, br));
	free(s);
	/* 180 stops Timer A and goes upstream */
	CHECK_INT(feed_reply(reply(180, "Ringing", br, "INVITE", "c5@test")),
		  1);
	CHECK_INT(count_sent("SIP/2.0 180 Ringing", UAC_PORT), 1);
	n = count_sent("INVITE ", UAS1_PORT);
	wait_ms(150);
	CHECK_INT(count_sent("INVITE ", UAS1_PORT), n);
	/* 486: the proxy ACKs it (same branch) and relays it */
	CHECK_INT(feed_reply(reply(486, "Busy Here", br, "INVITE", "c5@test")),
		  1);
	s = last_sent("ACK ");
	CHECK(s && strstr(s, br) && strstr(s, "CSeq: 1 ACK") &&
	      strstr(s, ";tag=uas"));
	free(s);
	CHECK_INT(count_sent("SIP/2.0 486 Busy Here", UAC_PORT), 1);
	CHECK_INT(c->uas_status, 486);
	/* a retransmitted 486 gets the ACK again, not relayed again */
	CHECK_INT(feed_reply(reply(486, "Busy Here", br, "INVITE", "c5@test")),
		  1);
	CHECK_INT(count_sent("ACK ", UAS1_PORT), 2);
	/* Timer G: the 486 goes up again until the ACK comes */
	n = wait_sent("SIP/2.0 486", UAC_PORT, 3);
	CHECK(n >= 3);
	tm_lock(c);
	tm_uas_acked(c);
	tm_unlock(c);
	n = count_sent("SIP/2.0 486", UAC_PORT);
	wait_ms(100);
	CHECK(count_sent("SIP/2.0 486", UAC_PORT) <= n + 1);
	tm_unref(c);
	wait_gone();
	arena_destroy(&a);
	teardown();
}

TEST(non_invite_timeout)
{
	arena_t a;
	sip_msg_t *m;
	tm_cell_t *c;
	int n;

	setup(1);
	arena_init(&a);
	c = new_cell(
	    &a, request("OPTIONS", "z9hG4bK-o1", "OPTIONS", NULL, "c6@test"),
	    &m);
	m->dst_uri = STR_LIT("sip:127.0.0.1:5998");
	CHECK_INT(relay(c, m), 1);
	tm_unref(c);
	/* Timer E: T1 = 20 ms doubling to T2 = 80 ms (sends at 0, 20, 60,
	 * 140, 220 ms); Timer F = 300 ms */
	wait_ms(200);
	n = count_sent("OPTIONS ", UAS1_PORT);
	CHECK(n >= 2 && n <= 5);
	CHECK_INT(count_sent("SIP/2.0 408", UAC_PORT), 0);
	CHECK_INT(wait_sent("SIP/2.0 408", UAC_PORT, 1), 1);
	CHECK(count_sent("OPTIONS ", UAS1_PORT) >= 4);
	n = count_sent("OPTIONS ", UAS1_PORT);
	wait_ms(100);
	CHECK_INT(count_sent("OPTIONS ", UAS1_PORT), n);
	CHECK(stats_get(&tm_st_timeouts) >= 1);
	wait_gone();
	arena_destroy(&a);
	teardown();
}

TEST(invite_timeout_after_ringing_cancels)
{
	arena_t a;
	sip_msg_t *m;
	tm_cell_t *c;
	char br[64], *s;

	setup(1);
	arena_init(&a);
	c = new_cell(
	    &a, request("INVITE", "z9hG4bK-inv1", "INVITE", NULL, "c7@test"),
	    &m);
	m->dst_uri = STR_LIT("sip:127.0.0.1:5998");
	CHECK_INT(relay(c, m), 1);
	branch_of(c, 0, br, sizeof(br));
	CHECK_INT(feed_reply(reply(180, "Ringing", br, "INVITE", "c7@test")),
		  1);
	/* fr_inv_timer (500 ms) after the 180: CANCEL down, 408 up */
	wait_ms(300);
	CHECK_INT(count_sent("CANCEL ", UAS1_PORT), 0);
	CHECK(wait_sent("CANCEL ", UAS1_PORT, 1) >= 1);
	wait_sent("SIP/2.0 408", UAC_PORT, 1);
	s = last_sent("CANCEL ");
	CHECK(s && strstr(s, br) && strstr(s, "CSeq: 1 CANCEL"));
	free(s);
	/* (Timer G may have sent it again already) */
	CHECK(count_sent("SIP/2.0 408", UAC_PORT) >= 1);
	/* the 200 for the CANCEL stops its retransmissions */
	CHECK_INT(feed_reply(reply(200, "OK", br, "CANCEL", "c7@test")), 1);
	/* the late 487 is ACKed */
	CHECK_INT(feed_reply(reply(487, "Request Terminated", br, "INVITE",
				   "c7@test")),
		  1);
	CHECK_INT(count_sent("ACK ", UAS1_PORT), 1);
	tm_lock(c);
	tm_uas_acked(c);
	tm_unlock(c);
	tm_unref(c);
	wait_gone();
	arena_destroy(&a);
	teardown();
}

TEST(fork_2xx_cancels_other)
{
	arena_t a;
	sip_msg_t *m;
	tm_cell_t *c;
	osp_branch_t b;
	char br0[64], br1[64], *s;

	setup(1);
	arena_init(&a);
	c = new_cell(
	    &a, request("INVITE", "z9hG4bK-inv1", "INVITE", NULL, "c8@test"),
	    &m);
	CHECK(sip_set_ruri(m, STR_LIT("sip:bob@127.0.0.1:5998")) == 0);
	memset(&b, 0, sizeof(b));
	b.uri = STR_LIT("sip:bob2@127.0.0.1:5997");
	b.q = -1;
	CHECK(dset_append(m, &b) == 1);
	CHECK_INT(relay(c, m), 2);
	CHECK_INT(dset_count(m), 0);
	CHECK_INT(count_sent("INVITE sip:bob@127.0.0.1:5998", UAS1_PORT), 1);
	CHECK_INT(count_sent("INVITE sip:bob2@127.0.0.1:5997", UAS2_PORT), 1);
	branch_of(c, 0, br0, sizeof(br0));
	branch_of(c, 1, br1, sizeof(br1));
	CHECK_INT(feed_reply(reply(180, "Ringing", br1, "INVITE", "c8@test")),
		  1);
	CHECK_INT(feed_reply(reply(200, "OK", br0, "INVITE", "c8@test")), 1);
	/* the 2xx goes up at once; the ringing branch gets its CANCEL */
	CHECK_INT(count_sent("SIP/2.0 200 OK", UAC_PORT), 1);
	CHECK_INT(count_sent("CANCEL ", UAS2_PORT), 1);
	CHECK_INT(count_sent("CANCEL ", UAS1_PORT), 0);
	s = last_sent("CANCEL ");
	CHECK(s && strstr(s, br1) && strncmp(s, "CANCEL sip:bob2@", 16) == 0);
	free(s);
	/* a retransmitted 2xx goes up again (the UAC ACKs end to end) */
	CHECK_INT(feed_reply(reply(200, "OK", br0, "INVITE", "c8@test")), 1);
	CHECK_INT(count_sent("SIP/2.0 200 OK", UAC_PORT), 2);
	CHECK_INT(count_sent("ACK ", 0), 0);
	/* the cancelled branch's 487 is ACKed, not relayed */
	CHECK_INT(feed_reply(reply(487, "Request Terminated", br1, "INVITE",
				   "c8@test")),
		  1);
	CHECK_INT(count_sent("ACK ", UAS2_PORT), 1);
	CHECK_INT(count_sent("SIP/2.0 487", UAC_PORT), 0);
	tm_unref(c);
	wait_gone();
	arena_destroy(&a);
	teardown();
}

TEST(cancel_before_provisional)
{
	arena_t a;
	sip_msg_t *m;
	tm_cell_t *c;
	char br[64];

	setup(1);
	arena_init(&a);
	c = new_cell(
	    &a, request("INVITE", "z9hG4bK-inv1", "INVITE", NULL, "c9@test"),
	    &m);
	m->dst_uri = STR_LIT("sip:127.0.0.1:5998");
	CHECK_INT(relay(c, m), 1);
	branch_of(c, 0, br, sizeof(br));
	/* no provisional yet: no CANCEL may go (RFC 3261 §9.1), the branch
	 * ends as 487 at once and the 487 goes upstream */
	tm_lock(c);
	__atomic_store_n(&c->canceled, 1, __ATOMIC_RELEASE);
	tm_cancel_branches(c, -1, &a);
	tm_check_done(c, &a);
	tm_unlock(c);
	CHECK_INT(count_sent("CANCEL ", 0), 0);
	CHECK_INT(count_sent("SIP/2.0 487", UAC_PORT), 1);
	/* the late 180 gets its CANCEL now */
	CHECK_INT(feed_reply(reply(180, "Ringing", br, "INVITE", "c9@test")),
		  1);
	CHECK_INT(count_sent("CANCEL ", UAS1_PORT), 1);
	CHECK_INT(count_sent("SIP/2.0 180", UAC_PORT), 0);
	/* a relay of a cancelled transaction is refused */
	tm_lock(c);
	CHECK_INT(tm_relay_branches(NULL, c, m, 1, STR_NULL, 0), -487);
	tm_uas_acked(c);
	tm_unlock(c);
	tm_unref(c);
	wait_gone();
	arena_destroy(&a);
	teardown();
}

TEST(server_retransmission_and_wait)
{
	arena_t a;
	sip_msg_t *m;
	tm_cell_t *c;

	setup(1);
	arena_init(&a);
	c = new_cell(
	    &a, request("MESSAGE", "z9hG4bK-m1", "MESSAGE", NULL, "c10@test"),
	    &m);
	tm_lock(c);
	CHECK_INT(
	    tm_uas_reply(c, m, 202, STR_LIT("Accepted"), STR_NULL, STR_NULL),
	    1);
	/* one final reply only */
	CHECK_INT(tm_uas_reply(c, m, 500, STR_NULL, STR_NULL, STR_NULL), -1);
	tm_uas_retransmit(c);
	tm_unlock(c);
	CHECK_INT(count_sent("SIP/2.0 202 Accepted", UAC_PORT), 2);
	CHECK(c->on_wait);
	tm_unref(c);
	/* wait_timer (100 ms) ends it */
	wait_gone();
	arena_destroy(&a);
	teardown();
}

TEST_LIST(TEST_ENTRY(match_rfc3261), TEST_ENTRY(match_rfc2543),
	  TEST_ENTRY(match_reply_branch), TEST_ENTRY(reply_priority),
	  TEST_ENTRY(invite_486_ack_and_g), TEST_ENTRY(non_invite_timeout),
	  TEST_ENTRY(invite_timeout_after_ringing_cancels),
	  TEST_ENTRY(fork_2xx_cancels_other),
	  TEST_ENTRY(cancel_before_provisional),
	  TEST_ENTRY(server_retransmission_and_wait), )
