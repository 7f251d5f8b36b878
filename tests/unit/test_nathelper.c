/* test_nathelper.c - KSR.nathelper: every nat_uac_test bit (detecting and
 * not detecting, IPv4 and IPv6, RFC 1918 and RFC 6598), the Contact
 * rewrites (fix_nated_contact, set_contact_alias, add_contact_alias,
 * add_rcv_param) as the forwarded message carries them, handle_ruri_alias,
 * fix_nated_register's received AVP, fix_nated_sdp's body, the $rr_*
 * variables, and the keepalives: what a pass sends to real UDP sockets,
 * the reply filter and its chaining, keepalive_timeout. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/stats.h"
#include "core/worker.h"
#include "modules/nathelper/nh_int.h"
#include "modules/pv/pv.h"
#include "modules/usrloc/ul.h"
#include "net/net.h"
#include "net/net_internal.h"
#include "test_mods_util.h"

extern osp_module_t osp_mod_nathelper;
extern osp_module_t osp_mod_usrloc;
#define M (&osp_mod_nathelper)

__attribute__((weak)) int worker_post(int worker, void (*fn)(void *arg),
				      void *arg)
{
	return -1;
}

static void set_param(osp_module_t *m, const char *name, long v)
{
	for (const osp_param_t *p = m->params; p->name; p++)
		if (strcmp(p->name, name) == 0) {
			*(int *)p->var = (int)v;
			return;
		}
	UNIT_FAIL("%s has no parameter %s", m->name, name);
}

static void set_sparam(osp_module_t *m, const char *name, const char *v)
{
	for (const osp_param_t *p = m->params; p->name; p++)
		if (strcmp(p->name, name) == 0) {
			*(char **)p->var = strdup(v);
			return;
		}
	UNIT_FAIL("%s has no parameter %s", m->name, name);
}

/* ---- messages ---- */

static char txt[8192];

/* An INVITE with the given top Via sent-by, Contact value (NULL: none)
 * and SDP body (NULL: none). */
static sip_msg_t *inv(tmsg_t *t, const char *via, const char *contact,
		      const char *sdp)
{
	snprintf(txt, sizeof(txt),
		 "INVITE sip:bob@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP %s;branch=z9hG4bK1;rport\r\n"
		 "From: <sip:alice@example.com>;tag=a1\r\n"
		 "To: <sip:bob@example.com>\r\n"
		 "Call-ID: c1@x\r\n"
		 "CSeq: 1 INVITE\r\n"
		 "%s%s%s"
		 "%s"
		 "Content-Length: %zu\r\n\r\n%s",
		 via, contact ? "Contact: " : "", contact ? contact : "",
		 contact ? "\r\n" : "",
		 sdp ? "Content-Type: application/sdp\r\n" : "",
		 sdp ? strlen(sdp) : 0, sdp ? sdp : "");
	return tmsg_parse(t, txt);
}

static void set_src(tmsg_t *t, const char *ip, int port, sip_proto_t proto)
{
	CHECK_INT(net_addr_from_ip(ip, port, &t->msg.rcv.src), 0);
	t->msg.rcv.proto = proto;
}

static int nat(tmsg_t *t, long flags)
{
	return kcall(t, M, "nat_uac_test", NULL, flags);
}

/* The built request's Contact line (without CRLF). */
static const char *contact_line(tmsg_t *t)
{
	static char buf[1024];
	const char *m = tmsg_build(t), *p = strstr(m, "\r\nContact: "), *e;

	CHECK(p != NULL);
	p += 2;
	e = strstr(p, "\r\n");
	snprintf(buf, sizeof(buf), "%.*s", (int)(e - p), p);
	return buf;
}

#define SDP_PRIV                                                               \
	"v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\n"       \
	"t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
#define SDP_PUB                                                                \
	"v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\n"                        \
	"c=IN IP4 198.51.100.7\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"

/* ---- addresses ---- */

TEST(is_rfc1918)
{
	static const struct {
		const char *ip;
		int want;
	} cases[] = {
	    {"10.0.0.1", 1},
	    {"10.255.255.255", 1},
	    {"9.255.255.255", -1},
	    {"11.0.0.0", -1},
	    {"172.16.0.1", 1},
	    {"172.31.255.255", 1},
	    {"172.15.255.255", -1},
	    {"172.32.0.0", -1},
	    {"192.168.0.1", 1},
	    {"192.168.255.255", 1},
	    {"192.169.0.1", -1},
	    {"100.64.0.0", 1},
	    {"100.127.255.255", 1},
	    {"100.63.255.255", -1},
	    {"100.128.0.0", -1},
	    {"192.0.0.7", 1},
	    {"192.0.0.200", 1},
	    {"192.0.1.1", -1},
	    {"8.8.8.8", -1},
	    {"127.0.0.1", -1},
	    {"::1", -1},
	    {"fd00::1", -1},
	    {"[10.0.0.1]", -1},
	    {"", -1},
	    {"example.com", -1},
	    {"10.0.0.1.5", -1},
	};
	tmsg_t t;

	inv(&t, "192.0.2.10:5062", NULL, NULL);
	for (size_t i = 0; i < OSP_ARRAY_LEN(cases); i++) {
		int rc = kcall(&t, M, "is_rfc1918", NULL, cases[i].ip);

		if (rc != cases[i].want)
			UNIT_FAIL("is_rfc1918(%s) = %d, want %d", cases[i].ip,
				  rc, cases[i].want);
	}
	/* nat_addr_mode 0: only the default private nets */
	set_param(M, "nat_addr_mode", 0);
	CHECK_INT(kcall(&t, M, "is_rfc1918", NULL, "192.0.0.200"), -1);
	CHECK_INT(kcall(&t, M, "is_rfc1918", NULL, "192.0.0.7"), 1);
	CHECK_INT(nh_is_rfc1918(STR_LIT("100.64.1.1")), 1);
	tmsg_free(&t);
}

/* ---- nat_uac_test, one bit at a time ---- */

TEST(nat_bit1_contact)
{
	tmsg_t t;

	inv(&t, "192.0.2.10:5062", "<sip:alice@10.1.2.3:5060>", NULL);
	CHECK_INT(nat(&t, 1), 1);
	tmsg_free(&t);
	inv(&t, "192.0.2.10:5062", "<sip:alice@100.64.7.7>;expires=60", NULL);
	CHECK_INT(nat(&t, 1), 1); /* RFC 6598 */
	tmsg_free(&t);
	inv(&t, "192.0.2.10:5062", "sip:alice@192.168.0.9", NULL);
	CHECK_INT(nat(&t, 1), 1);
	tmsg_free(&t);
	inv(&t, "192.0.2.10:5062", "<sip:alice@198.51.100.1:5060>", NULL);
	CHECK_INT(nat(&t, 1), -1);
	tmsg_free(&t);
	inv(&t, "192.0.2.10:5062", "<sip:alice@[fd00::1]:5060>", NULL);
	CHECK_INT(nat(&t, 1), -1); /* IPv6 is never private, as Kamailio */
	tmsg_free(&t);
	inv(&t, "192.0.2.10:5062", "<sip:alice@pc.example.com>", NULL);
	CHECK_INT(nat(&t, 1), -1);
	tmsg_free(&t);
	inv(&t, "192.0.2.10:5062", "*", NULL);
	CHECK_INT(nat(&t, 1), -1);
	tmsg_free(&t);
	inv(&t, "192.0.2.10:5062", NULL, NULL);
	CHECK_INT(nat(&t, 1), -1);
	/* only the first contact counts */
	tmsg_free(&t);
	inv(&t, "192.0.2.10:5062", "<sip:a@198.51.100.1>, <sip:a@10.0.0.1>",
	    NULL);
	CHECK_INT(nat(&t, 1), -1);
	tmsg_free(&t);
}

TEST(nat_bit2_via_received)
{
	tmsg_t t;

	inv(&t, "192.0.2.10:5062", NULL, NULL);
	CHECK_INT(nat(&t, 2), -1);
	tmsg_free(&t);
	inv(&t, "10.0.0.5:5062", NULL, NULL);
	CHECK_INT(nat(&t, 2), 1);
	tmsg_free(&t);
	inv(&t, "pc.example.com:5062", NULL, NULL);
	CHECK_INT(nat(&t, 2), 1); /* a name is not the source address */
	tmsg_free(&t);
	inv(&t, "[2001:db8::1]:5062", NULL, NULL);
	set_src(&t, "2001:db8::1", 5062, SIP_PROTO_UDP);
	CHECK_INT(nat(&t, 2), -1);
	set_src(&t, "2001:db8::2", 5062, SIP_PROTO_UDP);
	CHECK_INT(nat(&t, 2), 1);
	tmsg_free(&t);
	inv(&t, "[2001:DB8:0:0::1]", NULL, NULL);
	set_src(&t, "2001:db8::1", 5060, SIP_PROTO_UDP);
	CHECK_INT(nat(&t, 2), -1); /* compared as addresses, not text */
	tmsg_free(&t);
}

TEST(nat_bit4_via_private)
{
	tmsg_t t;

	inv(&t, "172.20.1.1:5060", NULL, NULL);
	CHECK_INT(nat(&t, 4), 1);
	tmsg_free(&t);
	inv(&t, "100.100.0.1", NULL, NULL);
	CHECK_INT(nat(&t, 4), 1);
	tmsg_free(&t);
	inv(&t, "192.0.2.10:5062", NULL, NULL);
	CHECK_INT(nat(&t, 4), -1);
	tmsg_free(&t);
	inv(&t, "[fd00::5]:5060", NULL, NULL);
	CHECK_INT(nat(&t, 4), -1);
	tmsg_free(&t);
}

TEST(nat_bit8_sdp_private)
{
	tmsg_t t;

	inv(&t, "192.0.2.10:5062", NULL, SDP_PRIV);
	CHECK_INT(nat(&t, 8), 1);
	tmsg_free(&t);
	inv(&t, "192.0.2.10:5062", NULL, SDP_PUB);
	CHECK_INT(nat(&t, 8), -1);
	tmsg_free(&t);
	/* a media-level c= overrides the session's */
	inv(&t, "192.0.2.10:5062", NULL,
	    "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\n"
	    "c=IN IP4 198.51.100.7\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
	    "c=IN IP4 100.64.3.3\r\n");
	CHECK_INT(nat(&t, 8), 1);
	tmsg_free(&t);
	inv(&t, "192.0.2.10:5062", NULL,
	    "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\n"
	    "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n");
	CHECK_INT(nat(&t, 8), -1); /* hold, and o= does not count */
	tmsg_free(&t);
	inv(&t, "192.0.2.10:5062", NULL,
	    "v=0\r\no=- 1 1 IN IP6 fd00::1\r\ns=-\r\nc=IN IP6 fd00::1\r\n"
	    "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n");
	CHECK_INT(nat(&t, 8), -1);
	tmsg_free(&t);
	inv(&t, "192.0.2.10:5062", NULL, NULL);
	CHECK_INT(nat(&t, 8), -1);
	tmsg_free(&t);
	/* LF line ends are SDP too */
	inv(&t, "192.0.2.10:5062", NULL,
	    "v=0\no=- 1 1 IN IP4 1.1.1.1\ns=-\nc=IN IP4 192.168.1.1\nt=0 0\n"
	    "m=audio 4000 RTP/AVP 0\n");
	CHECK_INT(nat(&t, 8), 1);
	tmsg_free(&t);
}

TEST(nat_bit16_via_port)
{
	tmsg_t t;

	inv(&t, "192.0.2.10:5060", NULL, NULL); /* source port 5062 */
	CHECK_INT(nat(&t, 16), 1);
	tmsg_free(&t);
	inv(&t, "192.0.2.10:5062", NULL, NULL);
	CHECK_INT(nat(&t, 16), -1);
	tmsg_free(&t);
	inv(&t, "192.0.2.10", NULL, NULL);
	CHECK_INT(nat(&t, 16), 1);
	set_src(&t, "192.0.2.10", 5060, SIP_PROTO_UDP);
	CHECK_INT(nat(&t, 16), -1); /* no port means 5060 */
	tmsg_free(&t);
	inv(&t, "[2001:db8::1]:5070", NULL, NULL);
	set_src(&t, "2001:db8::1", 5070, SIP_PROTO_UDP);
	CHECK_INT(nat(&t, 16), -1);
	set_src(&t, "2001:db8::1", 40000, SIP_PROTO_UDP);
	CHECK_INT(nat(&t, 16), 1);
	tmsg_free(&t);
}

TEST(nat_bit32_source_private)
{
	tmsg_t t;

	inv(&t, "192.0.2.10:5062", NULL, NULL);
	CHECK_INT(nat(&t, 32), -1);
	set_src(&t, "10.9.8.7", 5062, SIP_PROTO_UDP);
	CHECK_INT(nat(&t, 32), 1);
	set_src(&t, "100.64.0.9", 5062, SIP_PROTO_UDP);
	CHECK_INT(nat(&t, 32), 1);
	set_src(&t, "fd00::9", 5062, SIP_PROTO_UDP);
	CHECK_INT(nat(&t, 32), -1);
	tmsg_free(&t);
}

TEST(nat_bit64_websocket)
{
	tmsg_t t;

	inv(&t, "192.0.2.10:5062", NULL, NULL);
	CHECK_INT(nat(&t, 64), -1);
	set_src(&t, "192.0.2.10", 5062, SIP_PROTO_WS);
	CHECK_INT(nat(&t, 64), 1);
	set_src(&t, "192.0.2.10", 5062, SIP_PROTO_WSS);
	CHECK_INT(nat(&t, 64), 1);
	set_src(&t, "192.0.2.10", 5062, SIP_PROTO_TCP);
	CHECK_INT(nat(&t, 64), -1);
	tmsg_free(&t);
}

TEST(nat_bit128_contact_port)
{
	tmsg_t t;

	inv(&t, "192.0.2.10:5062", "<sip:a@192.0.2.10:5060>", NULL);
	CHECK_INT(nat(&t, 128), 1);
	tmsg_free(&t);
	inv(&t, "192.0.2.10:5062", "<sip:a@192.0.2.10:5062>", NULL);
	CHECK_INT(nat(&t, 128), -1);
	tmsg_free(&t);
	inv(&t, "192.0.2.10:5062", "<sip:a@[2001:db8::1]>", NULL);
	set_src(&t, "2001:db8::1", 5060, SIP_PROTO_UDP);
	CHECK_INT(nat(&t, 128), -1);
	set_src(&t, "2001:db8::1", 5061, SIP_PROTO_UDP);
	CHECK_INT(nat(&t, 128), 1);
	tmsg_free(&t);
	inv(&t, "192.0.2.10:5062", NULL, NULL);
	CHECK_INT(nat(&t, 128), -1);
	tmsg_free(&t);
}

TEST(nat_bit256_sdp_cline)
{
	tmsg_t t;

	inv(&t, "192.0.2.10:5062", NULL,
	    "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\n"
	    "c=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n");
	CHECK_INT(nat(&t, 256), -1);
	tmsg_free(&t);
	inv(&t, "192.0.2.10:5062", NULL, SDP_PUB);
	CHECK_INT(nat(&t, 256), 1);
	tmsg_free(&t);
	inv(&t, "192.0.2.10:5062", NULL,
	    "v=0\r\no=- 1 1 IN IP6 2001:db8::5\r\ns=-\r\n"
	    "c=IN IP6 2001:DB8::5\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n");
	set_src(&t, "2001:db8::5", 5062, SIP_PROTO_UDP);
	CHECK_INT(nat(&t, 256), -1);
	set_src(&t, "2001:db8::6", 5062, SIP_PROTO_UDP);
	CHECK_INT(nat(&t, 256), 1);
	tmsg_free(&t);
	inv(&t, "192.0.2.10:5062", NULL, NULL);
	CHECK_INT(nat(&t, 256), -1);
	tmsg_free(&t);
}

TEST(nat_combined)
{
	tmsg_t t;

	/* Kamailio's default scripts: 19 = 1 + 2 + 16 */
	inv(&t, "192.0.2.10:5062", "<sip:a@192.0.2.10:5062>", SDP_PRIV);
	CHECK_INT(nat(&t, 19), -1);
	CHECK_INT(nat(&t, 19 | 8), 1);
	CHECK_INT(nat(&t, 0), -1);
	CHECK_INT(nat(&t, 511 & ~8 & ~256), -1);
	tmsg_free(&t);
	inv(&t, "192.168.1.10:5060", "<sip:a@192.168.1.10:5060>", SDP_PRIV);
	CHECK_INT(nat(&t, 19), 1);
	CHECK_INT(nat(&t, 1), 1);
	CHECK_INT(nat(&t, 2), 1);
	CHECK_INT(nat(&t, 16), 1);
	tmsg_free(&t);
}

/* ---- Contact rewrites ---- */

TEST(fix_nated_contact)
{
	tmsg_t t;

	inv(&t, "10.0.0.5:5070",
	    "\"Al\" <sip:alice@10.0.0.5:5070;transport=udp>;expires=60", NULL);
	CHECK_INT(kcall(&t, M, "fix_nated_contact", NULL), 1);
	CHECK_STR(contact_line(&t), "Contact: \"Al\" <sip:alice@192.0.2.10:5062"
				    ";transport=udp>;expires=60");
	/* a second call composes (Kamailio refuses it) */
	set_src(&t, "198.51.100.9", 6000, SIP_PROTO_UDP);
	CHECK_INT(kcall(&t, M, "fix_nated_contact", NULL), 1);
	CHECK_STR(contact_line(&t), "Contact: \"Al\" <sip:alice@198.51.100.9:"
				    "6000;transport=udp>;expires=60");
	tmsg_free(&t);

	/* a bare addr-spec: its parameters are header parameters, kept */
	inv(&t, "10.0.0.5", "sip:alice@10.0.0.5;maddr=10.0.0.1;q=0.5", NULL);
	CHECK_INT(kcall(&t, M, "fix_nated_contact", NULL), 1);
	CHECK_STR(contact_line(&t),
		  "Contact: sip:alice@192.0.2.10:5062;maddr=10.0.0.1;q=0.5");
	tmsg_free(&t);
	/* no port, maddr (a URI parameter here) dropped */
	inv(&t, "10.0.0.5", "<sip:alice@10.0.0.5;maddr=10.0.0.1;ob>", NULL);
	CHECK_INT(kcall(&t, M, "fix_nated_contact", NULL), 1);
	CHECK_STR(contact_line(&t), "Contact: <sip:alice@192.0.2.10:5062;ob>");
	tmsg_free(&t);

	/* IPv6 source */
	inv(&t, "[fd00::5]:5060", "<sip:alice@[fd00::5]:5060>", NULL);
	set_src(&t, "2001:db8::7", 5099, SIP_PROTO_UDP);
	CHECK_INT(kcall(&t, M, "fix_nated_contact", NULL), 1);
	CHECK_STR(contact_line(&t), "Contact: <sip:alice@[2001:db8::7]:5099>");
	tmsg_free(&t);

	inv(&t, "10.0.0.5", NULL, NULL);
	CHECK_INT(kcall(&t, M, "fix_nated_contact", NULL), -1);
	tmsg_free(&t);
	inv(&t, "10.0.0.5", "*", NULL);
	CHECK_INT(kcall(&t, M, "fix_nated_contact", NULL), -1);
	tmsg_free(&t);
}

TEST(set_contact_alias)
{
	tmsg_t t;

	inv(&t, "10.0.0.5", "<sip:alice@10.0.0.5:5070;ob>;expires=30", NULL);
	CHECK_INT(kcall(&t, M, "set_contact_alias", NULL), 1);
	CHECK_STR(contact_line(&t), "Contact: <sip:alice@10.0.0.5:5070;ob;"
				    "alias=192.0.2.10~5062~1>;expires=30");
	tmsg_free(&t);

	/* bare addr-spec gets <>; TCP is 2 */
	inv(&t, "10.0.0.5", "sip:alice@10.0.0.5:5070;expires=30", NULL);
	set_src(&t, "198.51.100.3", 40000, SIP_PROTO_TCP);
	CHECK_INT(kcall(&t, M, "set_contact_alias", NULL), 1);
	CHECK_STR(contact_line(&t), "Contact: <sip:alice@10.0.0.5:5070;alias="
				    "198.51.100.3~40000~2>;expires=30");
	tmsg_free(&t);

	/* IPv6, WSS is 6 */
	inv(&t, "10.0.0.5", "<sip:alice@df7jal23ls0d.invalid;transport=ws>",
	    NULL);
	set_src(&t, "2001:db8::1", 443, SIP_PROTO_WSS);
	CHECK_INT(kcall(&t, M, "set_contact_alias", NULL), 1);
	CHECK_STR(contact_line(&t),
		  "Contact: <sip:alice@df7jal23ls0d.invalid;transport=ws;"
		  "alias=[2001:db8::1]~443~6>");
	tmsg_free(&t);

	/* trim: an alias already there is replaced, not repeated */
	inv(&t, "10.0.0.5",
	    "<sip:alice@10.0.0.5:5070;alias=1.2.3.4~5~1;ob?X=y>", NULL);
	CHECK_INT(kcall(&t, M, "set_contact_alias_trim", NULL), 1);
	CHECK_STR(contact_line(&t), "Contact: <sip:alice@10.0.0.5:5070;ob;"
				    "alias=192.0.2.10~5062~1?X=y>");
	tmsg_free(&t);
	inv(&t, "10.0.0.5", NULL, NULL);
	CHECK_INT(kcall(&t, M, "set_contact_alias", NULL), -1);
	tmsg_free(&t);
}

TEST(add_contact_alias)
{
	tmsg_t t;

	/* the Contact already is the source: nothing to add */
	inv(&t, "192.0.2.10:5062", "<sip:alice@192.0.2.10:5062>", NULL);
	CHECK_INT(kcall(&t, M, "add_contact_alias", NULL), 2);
	CHECK_STR(contact_line(&t), "Contact: <sip:alice@192.0.2.10:5062>");
	tmsg_free(&t);
	inv(&t, "192.0.2.10", "<sip:alice@192.0.2.10>", NULL);
	set_src(&t, "192.0.2.10", 5060, SIP_PROTO_UDP);
	CHECK_INT(kcall(&t, M, "add_contact_alias", NULL), 2);
	tmsg_free(&t);
	/* same address, other transport */
	inv(&t, "192.0.2.10:5062", "<sip:alice@192.0.2.10:5062;transport=tcp>",
	    NULL);
	CHECK_INT(kcall(&t, M, "add_contact_alias", NULL), 1);
	CHECK_STR(contact_line(&t), "Contact: <sip:alice@192.0.2.10:5062;alias="
				    "192.0.2.10~5062~1;transport=tcp>");
	tmsg_free(&t);
	/* behind a NAT: inserted after host:port, <> added around the URI */
	inv(&t, "10.0.0.5", "sip:alice@10.0.0.5:5070;expires=30", NULL);
	CHECK_INT(kcall(&t, M, "add_contact_alias", NULL), 1);
	CHECK_STR(contact_line(&t), "Contact: <sip:alice@10.0.0.5:5070;alias="
				    "192.0.2.10~5062~1>;expires=30");
	tmsg_free(&t);
	inv(&t, "[fd00::1]", "<sip:alice@[fd00::1]>", NULL);
	set_src(&t, "2001:db8::9", 5060, SIP_PROTO_TLS);
	CHECK_INT(kcall(&t, M, "add_contact_alias", NULL), 1);
	CHECK_STR(contact_line(&t), "Contact: <sip:alice@[fd00::1];alias="
				    "[2001:db8::9]~5060~3>");
	tmsg_free(&t);
	inv(&t, "10.0.0.5", NULL, NULL);
	CHECK_INT(kcall(&t, M, "add_contact_alias", NULL), 2);
	tmsg_free(&t);
}

TEST(add_contact_alias_addr)
{
	tmsg_t t;

	inv(&t, "10.0.0.5", "<sip:alice@10.0.0.5:5070>", NULL);
	CHECK_INT(kcall(&t, M, "add_contact_alias_addr", NULL, "203.0.113.4",
			"7000", "TCP"),
		  1);
	CHECK_STR(contact_line(&t), "Contact: <sip:alice@10.0.0.5:5070;alias="
				    "203.0.113.4~7000~2>");
	tmsg_free(&t);
	inv(&t, "10.0.0.5", "<sip:alice@10.0.0.5:5070>", NULL);
	CHECK_INT(kcall(&t, M, "add_contact_alias_addr", NULL, "2001:db8::3",
			"5060", "udp"),
		  1);
	CHECK_STR(contact_line(&t), "Contact: <sip:alice@10.0.0.5:5070;alias="
				    "[2001:db8::3]~5060~1>");
	CHECK_INT(kcall(&t, M, "add_contact_alias_addr", NULL, "nohost", "5060",
			"udp"),
		  -1);
	CHECK_INT(
	    kcall(&t, M, "add_contact_alias_addr", NULL, "1.2.3.4", "0", "udp"),
	    -1);
	CHECK_INT(kcall(&t, M, "add_contact_alias_addr", NULL, "1.2.3.4",
			"70000", "udp"),
		  -1);
	CHECK_INT(kcall(&t, M, "add_contact_alias_addr", NULL, "1.2.3.4",
			"5060", "quic"),
		  -1);
	tmsg_free(&t);
	inv(&t, "10.0.0.5", NULL, NULL);
	CHECK_INT(kcall(&t, M, "add_contact_alias_addr", NULL, "1.2.3.4",
			"5060", "udp"),
		  2);
	tmsg_free(&t);
}

static str_t ruri_of(tmsg_t *t, const char *uri)
{
	snprintf(txt, sizeof(txt),
		 "INVITE %s SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"
		 "From: <sip:alice@example.com>;tag=a1\r\n"
		 "To: <sip:bob@example.com>\r\n"
		 "Call-ID: c1@x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
		 uri);
	tmsg_parse(t, txt);
	return sip_cur_uri(&t->msg);
}

TEST(handle_ruri_alias)
{
	tmsg_t t;

	ruri_of(&t, "sip:bob@10.0.0.5:5070;alias=192.0.2.10~5062~1;ob");
	CHECK_INT(kcall(&t, M, "handle_ruri_alias", NULL), 1);
	CHECK_STRV(t.msg.dst_uri, "sip:192.0.2.10:5062");
	CHECK_STRV(sip_cur_uri(&t.msg), "sip:bob@10.0.0.5:5070;ob");
	/* done: no alias any more */
	CHECK_INT(kcall(&t, M, "handle_ruri_alias", NULL), 2);
	tmsg_free(&t);

	ruri_of(&t, "sip:bob@10.0.0.5;ob;alias=[2001:db8::1]~5080~2");
	CHECK_INT(kcall(&t, M, "handle_ruri_alias", NULL), 1);
	CHECK_STRV(t.msg.dst_uri, "sip:[2001:db8::1]:5080;transport=tcp");
	CHECK_STRV(sip_cur_uri(&t.msg), "sip:bob@10.0.0.5;ob");
	tmsg_free(&t);

	ruri_of(&t, "sip:bob@10.0.0.5;alias=198.51.100.1~443~6");
	CHECK_INT(kcall(&t, M, "handle_ruri_alias", NULL), 1);
	CHECK_STRV(t.msg.dst_uri, "sip:198.51.100.1:443;transport=wss");
	CHECK_STRV(sip_cur_uri(&t.msg), "sip:bob@10.0.0.5");
	tmsg_free(&t);

	ruri_of(&t, "sip:bob@10.0.0.5:5070;lr");
	CHECK_INT(kcall(&t, M, "handle_ruri_alias", NULL), 2);
	CHECK_INT(t.msg.dst_uri.len, 0);
	tmsg_free(&t);
	ruri_of(&t, "sip:bob@10.0.0.5:5070");
	CHECK_INT(kcall(&t, M, "handle_ruri_alias", NULL), 2);
	tmsg_free(&t);
	ruri_of(&t, "sip:bob@10.0.0.5;alias=1.2.3.4~5060");
	CHECK_INT(kcall(&t, M, "handle_ruri_alias", NULL), -1);
	tmsg_free(&t);
	ruri_of(&t, "sip:bob@10.0.0.5;alias=1.2.3.4~5060~9");
	CHECK_INT(kcall(&t, M, "handle_ruri_alias", NULL), -1);
	tmsg_free(&t);
	ruri_of(&t, "sip:bob@10.0.0.5;alias=1.2.3.4~5060~12");
	CHECK_INT(kcall(&t, M, "handle_ruri_alias", NULL), -1);
	tmsg_free(&t);
}

/* A reply carrying an aliased Contact, then the ACK routed back by it:
 * set_contact_alias and handle_ruri_alias agree. */
TEST(alias_roundtrip)
{
	tmsg_t t;
	char uri[256];
	const char *cl, *lt, *gt;
	ksr_xval_t v;
	pv_spec_t *sp;
	char err[128];

	inv(&t, "10.0.0.5", "<sip:bob@10.0.0.5:5070>", NULL);
	set_src(&t, "2001:db8::44", 6001, SIP_PROTO_TCP);
	CHECK_INT(kcall(&t, M, "set_contact_alias", NULL), 1);
	cl = contact_line(&t);
	lt = strchr(cl, '<');
	gt = strchr(cl, '>');
	snprintf(uri, sizeof(uri), "%.*s", (int)(gt - lt - 1), lt + 1);
	tmsg_free(&t);
	ruri_of(&t, uri);
	CHECK_INT(kcall(&t, M, "handle_ruri_alias", NULL), 1);
	CHECK_STRV(t.msg.dst_uri, "sip:[2001:db8::44]:6001;transport=tcp");
	CHECK_STRV(sip_cur_uri(&t.msg), "sip:bob@10.0.0.5:5070");
	tmsg_free(&t);

	/* set_alias_to_pv reads the Contact's alias */
	inv(&t, "10.0.0.5", "<sip:bob@10.0.0.5:5070;alias=203.0.113.8~5090~2>",
	    NULL);
	CHECK_INT(kcall(&t, M, "set_alias_to_pv", NULL, "$avp(al)"), 1);
	sp = pv_spec_parse(STR_LIT("$avp(al)"), err, sizeof(err));
	CHECK(sp != NULL);
	CHECK_INT(pv_get(&t.ctx, sp, &v), 0);
	CHECK_XSTR(v, "sip:203.0.113.8:5090;transport=tcp");
	pv_spec_free(sp);
	CHECK_INT(kcall(&t, M, "set_alias_to_pv", NULL, "$ru"), 1);
	CHECK_STRV(sip_cur_uri(&t.msg), "sip:203.0.113.8:5090;transport=tcp");
	tmsg_free(&t);
	inv(&t, "10.0.0.5", "<sip:bob@10.0.0.5:5070>", NULL);
	CHECK_INT(kcall(&t, M, "set_alias_to_pv", NULL, "$avp(al)"), -1);
	tmsg_free(&t);
}

/* ---- received address ---- */

static ksr_xval_t avp_received(tmsg_t *t)
{
	ksr_xval_t v;

	memset(&v, 0, sizeof(v));
	pv_avp_get(&t->msg, STR_LIT("RECEIVED"), 0, &v);
	return v;
}

TEST(fix_nated_register)
{
	tmsg_t t;
	ksr_xval_t v;

	/* without received_avp: nothing to do, still true */
	CHECK_INT(M->init(), 0);
	inv(&t, "10.0.0.5", "<sip:alice@10.0.0.5>", NULL);
	CHECK_INT(kcall(&t, M, "fix_nated_register", NULL), 1);
	CHECK_INT(pv_avp_count(&t.msg, STR_LIT("RECEIVED")), 0);
	tmsg_free(&t);
	M->destroy();

	set_sparam(M, "received_avp", "$avp(RECEIVED)");
	CHECK_INT(M->init(), 0);
	inv(&t, "10.0.0.5", "<sip:alice@10.0.0.5>", NULL);
	CHECK_INT(kcall(&t, M, "fix_nated_register", NULL), 1);
	v = avp_received(&t);
	CHECK_XSTR(v, "sip:192.0.2.10:5062");
	tmsg_free(&t);
	inv(&t, "10.0.0.5", "<sip:alice@10.0.0.5>", NULL);
	set_src(&t, "2001:db8::5", 5090, SIP_PROTO_TCP);
	CHECK_INT(kcall(&t, M, "fix_nated_register", NULL), 1);
	v = avp_received(&t);
	CHECK_XSTR(v, "sip:[2001:db8::5]:5090;transport=tcp");
	tmsg_free(&t);
	inv(&t, "10.0.0.5", "<sip:alice@10.0.0.5>", NULL);
	set_src(&t, "198.51.100.2", 443, SIP_PROTO_WSS);
	CHECK_INT(kcall(&t, M, "fix_nated_register", NULL), 1);
	v = avp_received(&t);
	CHECK_XSTR(v, "sip:198.51.100.2:443;transport=ws");
	tmsg_free(&t);
	M->destroy();

	/* not an AVP: refused at start */
	set_sparam(M, "received_avp", "$var(x)");
	CHECK_INT(M->init(), -1);
}

TEST(add_rcv_param)
{
	tmsg_t t;
	const char *m;

	inv(&t, "10.0.0.5",
	    "<sip:a@10.0.0.5:5070>;expires=60, sip:b@10.0.0.6;q=0.1", NULL);
	CHECK_INT(kcall(&t, M, "add_rcv_param", NULL, 0L), 1);
	CHECK_STR(contact_line(&t),
		  "Contact: <sip:a@10.0.0.5:5070>;expires=60;received=\"sip:"
		  "192.0.2.10:5062\", sip:b@10.0.0.6;q=0.1;received=\"sip:"
		  "192.0.2.10:5062\"");
	tmsg_free(&t);
	inv(&t, "10.0.0.5", "<sip:a@10.0.0.5:5070;ob>;expires=60", NULL);
	CHECK_INT(kcall(&t, M, "add_rcv_param", NULL, 1L), 1);
	CHECK_STR(contact_line(&t), "Contact: <sip:a@10.0.0.5:5070;ob;received="
				    "sip:192.0.2.10:5062>;expires=60");
	set_src(&t, "192.0.2.10", 5062, SIP_PROTO_TCP);
	CHECK_INT(kcall(&t, M, "add_rcv_param", NULL, 1L), -1);
	tmsg_free(&t);
	/* two Contact headers, TCP source: header params with transport */
	snprintf(
	    txt, sizeof(txt),
	    "REGISTER sip:example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/TCP 10.0.0.5;branch=z9hG4bK1\r\n"
	    "From: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\n"
	    "Call-ID: r1\r\nCSeq: 1 REGISTER\r\n"
	    "Contact: <sip:a@10.0.0.5;transport=tcp>\r\n"
	    "Contact: <sip:a@10.0.0.7;transport=tcp>\r\n"
	    "Content-Length: 0\r\n\r\n");
	tmsg_parse(&t, txt);
	set_src(&t, "198.51.100.8", 33000, SIP_PROTO_TCP);
	CHECK_INT(kcall(&t, M, "add_rcv_param", NULL, 0L), 1);
	m = tmsg_build(&t);
	CHECK_HAS(m, "Contact: <sip:a@10.0.0.5;transport=tcp>;received=\"sip:"
		     "198.51.100.8:33000;transport=tcp\"\r\n");
	CHECK_HAS(m, "Contact: <sip:a@10.0.0.7;transport=tcp>;received=\"sip:"
		     "198.51.100.8:33000;transport=tcp\"\r\n");
	tmsg_free(&t);
	inv(&t, "10.0.0.5", NULL, NULL);
	CHECK_INT(kcall(&t, M, "add_rcv_param", NULL, 0L), 1);
	tmsg_free(&t);
}

/* ---- SDP ---- */

/* The body of the built request, and its Content-Length. */
static const char *built_body(tmsg_t *t, long *clen)
{
	const char *m = tmsg_build(t), *b = strstr(m, "\r\n\r\n"),
		   *cl = strstr(m, "Content-Length: ");

	CHECK(b && cl);
	*clen = strtol(cl + 16, NULL, 10);
	return b + 4;
}

#define SDP2                                                                   \
	"v=0\r\no=- 7 7 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\n"       \
	"t=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:4001 IN IP4 10.0.0.5\r\n"   \
	"m=video 4002 RTP/AVP 96\r\nc=IN IP4 10.0.0.6\r\n"

TEST(fix_nated_sdp)
{
	tmsg_t t;
	long clen;
	const char *b;

	CHECK_INT(M->init(), 0);
	/* 2: c= lines (session and media) and a=rtcp; old addresses kept */
	inv(&t, "10.0.0.5", NULL, SDP2);
	CHECK_INT(kcall(&t, M, "fix_nated_sdp", NULL, 2L), 1);
	b = built_body(&t, &clen);
	CHECK_STR(b,
		  "v=0\r\no=- 7 7 IN IP4 10.0.0.5\r\ns=-\r\n"
		  "c=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
		  "a=rtcp:4001 IN IP4 192.0.2.10\r\nm=video 4002 RTP/AVP 96\r\n"
		  "c=IN IP4 192.0.2.10\r\na=oldmediaip:10.0.0.5\r\n"
		  "a=oldmediaip:10.0.0.6\r\n");
	CHECK_INT(clen, (long)strlen(b));
	/* again: already the source address, nothing replaced */
	CHECK_INT(kcall(&t, M, "fix_nated_sdp", NULL, 2L), 2);
	tmsg_free(&t);

	/* 8: o=; 1: direction per m= section; 4: nortpproxy */
	inv(&t, "10.0.0.5", NULL, SDP2);
	CHECK_INT(kcall(&t, M, "fix_nated_sdp", NULL, 1L | 4L | 8L), 1);
	b = built_body(&t, &clen);
	CHECK_STR(b, "v=0\r\no=- 7 7 IN IP4 192.0.2.10\r\ns=-\r\n"
		     "c=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
		     "a=rtcp:4001 IN IP4 10.0.0.5\r\na=direction:active\r\n"
		     "m=video 4002 RTP/AVP 96\r\nc=IN IP4 10.0.0.6\r\n"
		     "a=direction:active\r\na=nortpproxy:yes\r\n"
		     "a=oldmediaip:10.0.0.5\r\n");
	CHECK_INT(clen, (long)strlen(b));
	tmsg_free(&t);

	/* only additions: 2 (no address replaced) */
	inv(&t, "10.0.0.5", NULL, SDP_PUB);
	CHECK_INT(kcall(&t, M, "fix_nated_sdp", NULL, 4L), 2);
	b = built_body(&t, &clen);
	CHECK_STR(b, SDP_PUB "a=nortpproxy:yes\r\n");
	tmsg_free(&t);

	/* the given address; hold (0.0.0.0) untouched */
	inv(&t, "10.0.0.5", NULL,
	    "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 0.0.0.0\r\n"
	    "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP4 10.0.0.5\r\n");
	CHECK_INT(kcall(&t, M, "fix_nated_sdp_ip", NULL, 10L, "203.0.113.50"),
		  1);
	b = built_body(&t, &clen);
	CHECK_STR(b, "v=0\r\no=- 1 1 IN IP4 203.0.113.50\r\ns=-\r\n"
		     "c=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
		     "c=IN IP4 203.0.113.50\r\na=oldmediaip:10.0.0.5\r\n"
		     "a=oldmediaip:10.0.0.5\r\n");
	CHECK_INT(kcall(&t, M, "fix_nated_sdp_ip", NULL, 2L, "bad"), -1);
	tmsg_free(&t);

	/* IPv6 source: the address type follows the address */
	inv(&t, "10.0.0.5", NULL, SDP_PRIV);
	set_src(&t, "2001:db8::77", 5062, SIP_PROTO_UDP);
	CHECK_INT(kcall(&t, M, "fix_nated_sdp", NULL, 2L), 1);
	b = built_body(&t, &clen);
	CHECK_HAS(b, "\r\nc=IN IP6 2001:db8::77\r\n");
	CHECK_HAS(b, "\r\na=oldmediaip:10.0.0.5\r\n");
	CHECK_HAS(b, "o=- 1 1 IN IP4 10.0.0.5\r\n");
	tmsg_free(&t);

	/* without a=oldmediaip; LF line ends kept */
	set_param(M, "append_sdp_oldmediaip", 0);
	inv(&t, "10.0.0.5", NULL,
	    "v=0\no=- 1 1 IN IP4 10.0.0.5\ns=-\nc=IN IP4 10.0.0.5\nt=0 0\n"
	    "m=audio 4000 RTP/AVP 0");
	CHECK_INT(kcall(&t, M, "fix_nated_sdp", NULL, 3L), 1);
	b = built_body(&t, &clen);
	CHECK_STR(b, "v=0\no=- 1 1 IN IP4 10.0.0.5\ns=-\nc=IN IP4 192.0.2.10\n"
		     "t=0 0\nm=audio 4000 RTP/AVP 0\na=direction:active\n");
	tmsg_free(&t);

	/* errors: no SDP, no c= line to fix */
	inv(&t, "10.0.0.5", NULL, NULL);
	CHECK_INT(kcall(&t, M, "fix_nated_sdp", NULL, 2L), -1);
	tmsg_free(&t);
	inv(&t, "10.0.0.5", NULL, "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\n");
	CHECK_INT(kcall(&t, M, "fix_nated_sdp", NULL, 2L), -1);
	CHECK_INT(kcall(&t, M, "fix_nated_sdp", NULL, 8L), 1);
	tmsg_free(&t);
	M->destroy();
}

/* ---- $rr_count, $rr_top_count ---- */

static long pvi(tmsg_t *t, const char *name)
{
	char err[128];
	pv_spec_t *sp = pv_spec_parse(str_from(name), err, sizeof(err));
	ksr_xval_t v;

	if (!sp)
		UNIT_FAIL("%s: %s", name, err);
	CHECK_INT(pv_get(&t->ctx, sp, &v), 0);
	CHECK_INT(v.type, KSR_INT);
	pv_spec_free(sp);
	return v.n;
}

TEST(rr_count)
{
	tmsg_t t;

	CHECK_INT(M->init(), 0);
	inv(&t, "10.0.0.5", NULL, NULL);
	CHECK_INT(pvi(&t, "$rr_count"), 0);
	CHECK_INT(pvi(&t, "$rr_top_count"), 0);
	tmsg_free(&t);
	snprintf(txt, sizeof(txt),
		 "INVITE sip:b@x SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"
		 "Record-Route: <sip:p1;lr;r2=on>, <sip:p1b;lr;r2=on>\r\n"
		 "Record-Route: <sip:p2;lr>\r\n"
		 "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\n"
		 "Call-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
	tmsg_parse(&t, txt);
	CHECK_INT(pvi(&t, "$rr_count"), 3);
	CHECK_INT(pvi(&t, "$rr_top_count"), 2);
	tmsg_free(&t);
	M->destroy();
}

/* ---- keepalives ---- */

/* A UDP socket on 127.0.0.1 standing for a NATed phone. */
static int phone(int *port)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	sip_sockaddr_t a;
	socklen_t al = sizeof(a.in4);

	CHECK(fd >= 0);
	net_addr_from_ip("127.0.0.1", 0, &a);
	CHECK(bind(fd, &a.sa, sizeof(a.in4)) == 0);
	CHECK(getsockname(fd, &a.sa, &al) == 0);
	*port = net_addr_port(&a);
	return fd;
}

/* What the phone received within ms: the datagram (NUL-ended) and its
 * length, 0 when nothing came. */
static int phone_recv(int fd, char *buf, size_t cap, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	ssize_t n;

	if (poll(&p, 1, ms) <= 0)
		return 0;
	n = recv(fd, buf, cap - 1, 0);
	CHECK(n >= 0);
	buf[n] = '\0';
	return (int)n;
}

/* Register aor with a contact whose received address is the phone's. */
static void bind_contact(const char *aor, const char *uri, int port,
			 unsigned cflags, const char *socket, time_t modified)
{
	ul_handle_t h;
	ul_record_t *r;
	ul_contact_t ci;
	char rcv[64];

	snprintf(rcv, sizeof(rcv), "sip:127.0.0.1:%d", port);
	memset(&ci, 0, sizeof(ci));
	ci.c = str_from(uri);
	ci.received = port ? str_from(rcv) : STR_NULL;
	ci.socket = str_from(socket);
	ci.callid = STR_LIT("cid");
	ci.expires = ul_now() + 3600;
	ci.q = -1;
	ci.cflags = cflags;
	ci.methods = UL_METHODS_ALL;
	ci.last_modified = modified;
	ul_lock(ul_get_domain(STR_LIT("location")), str_from(aor), &h);
	r = ul_get_or_insert_record(&h);
	CHECK(r != NULL);
	CHECK_INT(ul_insert_contact(&h, r, &ci, NULL), 0);
	ul_unlock(&h);
}

static int contacts_of(const char *aor)
{
	ul_handle_t h;
	ul_record_t *r;
	int n = 0;

	ul_lock(ul_get_domain(STR_LIT("location")), str_from(aor), &h);
	r = ul_get_record(&h);
	for (ul_contact_t *c = r ? r->contacts : NULL; c; c = c->next)
		n++;
	ul_unlock(&h);
	return n;
}

#define NATF (1u << 6)
#define SIPF (1u << 7)

static int srv_port;

/* usrloc in memory with nat_bflag 6; nathelper pinging every second with
 * sipping_bflag 7; one UDP listener on 127.0.0.1. */
static void ping_start(int nated_only)
{
	set_param(&osp_mod_usrloc, "db_mode", 0);
	set_param(&osp_mod_usrloc, "nat_bflag", 6);
	osp_mod_usrloc.loaded = 1;
	CHECK_INT(osp_mod_usrloc.init(), 0);
	{
		int fd = phone(&srv_port);

		close(fd);
	}
	CHECK_INT(
	    net_listener_add(SIP_PROTO_UDP, "127.0.0.1", srv_port, NULL, 0), 0);
	CHECK_INT(net_init(), 0);
	CHECK_INT(net_open_workers(1), 0);
	set_param(M, "natping_interval", 1);
	set_param(M, "ping_nated_only", nated_only);
	set_param(M, "sipping_bflag", 7);
	set_sparam(M, "sipping_from", "sip:pinger@example.net");
	M->loaded = 1;
	CHECK_INT(M->init(), 0);
}

static void ping_stop(void)
{
	M->destroy();
	osp_mod_usrloc.destroy();
	net_destroy();
}

TEST(keepalive_kinds)
{
	char buf[4096], sock[64];
	int pa, pb, pc, pd;
	int fa = phone(&pa), fb = phone(&pb), fc = phone(&pc), fd = phone(&pd);

	set_param(M, "natping_disable_bflag", 8);
	ping_start(1);
	snprintf(sock, sizeof(sock), "udp:127.0.0.1:%d", srv_port);
	bind_contact("a", "sip:a@192.168.1.10:5060", pa, NATF | SIPF, sock,
		     time(NULL));
	bind_contact("b", "sip:b@192.168.1.11:5060", pb, NATF, sock,
		     time(NULL));
	bind_contact("c", "sip:c@192.168.1.12:5060", pc, 0, sock, time(NULL));
	/* not NATed */
	bind_contact("d", "sip:d@198.51.100.4:5060", pd, SIPF, "", time(NULL));
	/* NATed, but natping_disable_bflag */
	bind_contact("e", "sip:e@192.168.1.13:5060", pd, NATF | SIPF | 1u << 8,
		     sock, time(NULL));

	CHECK_INT(nh_ping_pass(0, 1), 2);
	/* a: SIP OPTIONS to the received address, from our socket */
	CHECK(phone_recv(fa, buf, sizeof(buf), 1000) > 0);
	CHECK_HAS(buf, "OPTIONS sip:a@192.168.1.10:5060 SIP/2.0\r\n");
	CHECK_HAS(buf, "From: <sip:pinger@example.net>;tag=");
	CHECK_HAS(buf, "To: <sip:a@192.168.1.10:5060>\r\n");
	CHECK_HAS(buf, "CSeq: 1 OPTIONS\r\n");
	CHECK_HAS(buf, "Content-Length: 0\r\n\r\n");
	{
		char via[64];

		snprintf(via, sizeof(via),
			 "Via: SIP/2.0/UDP 127.0.0.1:%d;"
			 "branch=z9hG4bK",
			 srv_port);
		CHECK_HAS(buf, via);
	}
	/* b: four zero bytes */
	CHECK_INT(phone_recv(fb, buf, sizeof(buf), 1000), 4);
	CHECK(memcmp(buf, "\0\0\0\0", 4) == 0);
	/* c and d are not flagged as NATed, e has pings disabled: nothing */
	CHECK_INT(phone_recv(fc, buf, sizeof(buf), 100), 0);
	CHECK_INT(phone_recv(fd, buf, sizeof(buf), 100), 0);

	/* nathelper.enable_ping 0 stops them */
	CHECK_INT(nh_ping_set_state(0), 0);
	CHECK_INT(nh_ping_pass(0, 1), 0);
	CHECK_INT(phone_recv(fa, buf, sizeof(buf), 100), 0);
	CHECK_INT(nh_ping_set_state(1), 0);

	/* partitions: with 2 partitions every contact is in exactly one */
	CHECK_INT(nh_ping_pass(0, 2) + nh_ping_pass(1, 2), 2);
	CHECK(phone_recv(fa, buf, sizeof(buf), 1000) > 0);
	CHECK_INT(phone_recv(fb, buf, sizeof(buf), 1000), 4);
	ping_stop();
	close(fa);
	close(fb);
	close(fc);
	close(fd);
}

TEST(keepalive_all_contacts)
{
	char buf[4096], uri[64];
	int pa, pb, pc;
	int fa = phone(&pa), fb = phone(&pb), fc = phone(&pc);

	/* ping_nated_only 0 with sipping_bflag: SIP pings to everyone */
	ping_start(0);
	bind_contact("a", "sip:a@192.168.1.10:5060", pa, 0, "", time(NULL));
	/* the received address decides the transport, not the Contact */
	bind_contact("b", "sip:b@192.168.1.11:5060;transport=tcp", pb, 0, "",
		     time(NULL));
	/* without a received address: the Contact URI itself */
	snprintf(uri, sizeof(uri), "sip:c@127.0.0.1:%d", pc);
	bind_contact("c", uri, 0, 0, "", time(NULL));
	/* a TCP contact is not pinged */
	bind_contact("d", "sip:d@127.0.0.1:5;transport=tcp", 0, 0, "",
		     time(NULL));
	CHECK_INT(nh_ping_pass(0, 1), 3);
	CHECK(phone_recv(fa, buf, sizeof(buf), 1000) > 0);
	CHECK_HAS(buf, "OPTIONS sip:a@192.168.1.10:5060 SIP/2.0\r\n");
	CHECK(phone_recv(fb, buf, sizeof(buf), 1000) > 0);
	CHECK_HAS(buf, "OPTIONS sip:b@192.168.1.11:5060;transport=tcp ");
	CHECK(phone_recv(fc, buf, sizeof(buf), 1000) > 0);
	CHECK_HAS(buf, "OPTIONS sip:c@127.0.0.1:");
	ping_stop();
	close(fa);
	close(fb);
	close(fc);
}

/* IPv6: the keepalive leaves from the IPv6 listener named in the
 * contact's socket, to the [::1] received address. */
TEST(keepalive_ipv6)
{
	char buf[4096], sock[64], rcv[64], via[64];
	int fd = socket(AF_INET6, SOCK_DGRAM, 0), port6, pp;
	sip_sockaddr_t a;
	socklen_t al = sizeof(a.in6);
	ul_handle_t h;
	ul_record_t *r;
	ul_contact_t ci;

	net_addr_from_ip("::1", 0, &a);
	if (fd < 0 || bind(fd, &a.sa, sizeof(a.in6)) != 0) {
		printf("# skipped: no ::1\n");
		return;
	}
	CHECK(getsockname(fd, &a.sa, &al) == 0);
	pp = net_addr_port(&a);
	{
		/* a free port for the server's IPv6 listener */
		int t = socket(AF_INET6, SOCK_DGRAM, 0);

		net_addr_from_ip("::1", 0, &a);
		al = sizeof(a.in6);
		CHECK(bind(t, &a.sa, sizeof(a.in6)) == 0);
		CHECK(getsockname(t, &a.sa, &al) == 0);
		port6 = net_addr_port(&a);
		close(t);
	}
	CHECK_INT(net_listener_add(SIP_PROTO_UDP, "::1", port6, NULL, 0), 0);
	ping_start(1);
	snprintf(sock, sizeof(sock), "udp:[::1]:%d", port6);
	snprintf(rcv, sizeof(rcv), "sip:[::1]:%d", pp);
	memset(&ci, 0, sizeof(ci));
	ci.c = STR_LIT("sip:six@[fd00::6]:5060");
	ci.received = str_from(rcv);
	ci.socket = str_from(sock);
	ci.expires = ul_now() + 3600;
	ci.cflags = NATF | SIPF;
	ci.methods = UL_METHODS_ALL;
	ul_lock(ul_get_domain(STR_LIT("location")), STR_LIT("six"), &h);
	r = ul_get_or_insert_record(&h);
	CHECK_INT(ul_insert_contact(&h, r, &ci, NULL), 0);
	ul_unlock(&h);
	CHECK_INT(nh_ping_pass(0, 1), 1);
	CHECK(phone_recv(fd, buf, sizeof(buf), 1000) > 0);
	CHECK_HAS(buf, "OPTIONS sip:six@[fd00::6]:5060 SIP/2.0\r\n");
	snprintf(via, sizeof(via), "Via: SIP/2.0/UDP [::1]:%d;", port6);
	CHECK_HAS(buf, via);
	CHECK_HAS(buf, "@::1\r\n"); /* Call-ID host */
	ping_stop();
	close(fd);
}

/* The phone's 200 OK to a keepalive it received in ping. */
static void answer(tmsg_t *t, const char *ping)
{
	static char rep[4096];
	const char *h[] = {"Via:", "From:", "To:", "Call-ID:", "CSeq:"};
	size_t n = (size_t)snprintf(rep, sizeof(rep), "SIP/2.0 200 OK\r\n");

	for (size_t i = 0; i < OSP_ARRAY_LEN(h); i++) {
		const char *p = strstr(ping, h[i]), *e;

		CHECK(p != NULL);
		e = strstr(p, "\r\n");
		n += (size_t)snprintf(rep + n, sizeof(rep) - n, "%.*s\r\n",
				      (int)(e - p + 0), p);
	}
	snprintf(rep + n, sizeof(rep) - n, "Content-Length: 0\r\n\r\n");
	tmsg_parse(t, rep);
}

static int fake_tm_calls;
static int fake_tm(sip_msg_t *msg)
{
	fake_tm_calls++;
	return 1;
}

TEST(keepalive_replies)
{
	char buf[4096];
	int pa, fa = phone(&pa);
	tmsg_t t;
	osp_counter_t *c;

	ping_start(1);
	bind_contact("a", "sip:a@192.168.1.10:5060", pa, NATF | SIPF, "",
		     time(NULL));
	CHECK_INT(nh_ping_pass(0, 1), 1);
	CHECK(phone_recv(fa, buf, sizeof(buf), 1000) > 0);

	/* the transaction layer's hook was set at init: chained */
	osp_reply_hook = fake_tm;
	nh_ping_child_init();
	CHECK(osp_reply_hook != fake_tm);
	nh_ping_child_init(); /* once only */

	answer(&t, buf);
	CHECK_INT(nh_ping_reply(&t.msg), 1);
	CHECK_INT(osp_reply_hook(&t.msg), 1);
	CHECK_INT(fake_tm_calls, 0);
	tmsg_free(&t);
	c = stats_find("nathelper", "sipping_replies");
	CHECK(c != NULL);
	CHECK_INT(stats_get(c), 2);

	/* an ordinary reply (two Vias) goes on to tm */
	snprintf(
	    txt, sizeof(txt),
	    "SIP/2.0 200 OK\r\n"
	    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n"
	    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKy\r\n"
	    "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\n"
	    "Call-ID: other\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
	tmsg_parse(&t, txt);
	CHECK_INT(nh_ping_reply(&t.msg), 0);
	CHECK_INT(osp_reply_hook(&t.msg), 1);
	CHECK_INT(fake_tm_calls, 1);
	tmsg_free(&t);

	/* destroy puts tm's hook back */
	ping_stop();
	CHECK(osp_reply_hook == fake_tm);
	close(fa);
}

TEST(keepalive_timeout)
{
	char buf[4096];
	int pa, pb, fa = phone(&pa), fb = phone(&pb);
	tmsg_t t;
	time_t now = time(NULL);

	set_param(M, "keepalive_timeout", 30);
	ping_start(1);
	/* a registered long ago and never answered: removed */
	bind_contact("a", "sip:a@192.168.1.10:5060", pa, NATF | SIPF, "",
		     now - 100);
	/* b registered long ago but answers */
	bind_contact("b", "sip:b@192.168.1.11:5060", pb, NATF | SIPF, "",
		     now - 20);
	CHECK_INT(nh_ping_pass(0, 1), 1);
	CHECK_INT(contacts_of("a"), 0);
	CHECK_INT(contacts_of("b"), 1);
	CHECK(phone_recv(fb, buf, sizeof(buf), 1000) > 0);
	CHECK_INT(phone_recv(fa, buf, sizeof(buf), 100), 0);
	answer(&t, buf);
	CHECK_INT(nh_ping_reply(&t.msg), 1);
	tmsg_free(&t);
	CHECK_INT(stats_get(stats_find("nathelper", "keepalive_expired")), 1);
	ping_stop();
	close(fa);
	close(fb);
}

TEST(keepalive_config)
{
	/* ping_nated_only needs usrloc's nat_bflag */
	set_param(&osp_mod_usrloc, "db_mode", 0);
	osp_mod_usrloc.loaded = 1;
	CHECK_INT(osp_mod_usrloc.init(), 0);
	set_param(M, "natping_interval", 5);
	set_param(M, "ping_nated_only", 1);
	CHECK_INT(M->init(), -1);
	M->destroy();
	/* SIP pings need sipping_from */
	set_param(M, "ping_nated_only", 0);
	set_param(M, "sipping_bflag", 3);
	CHECK_INT(M->init(), -1);
	M->destroy();
	set_sparam(M, "sipping_from", "sip:p@x");
	set_sparam(M, "sipping_method", "BAD METHOD");
	CHECK_INT(M->init(), -1);
	M->destroy();
	set_sparam(M, "sipping_method", "INFO");
	CHECK_INT(M->init(), 0);
	CHECK_INT(nh_ping_state(), 1);
	M->destroy();
	CHECK_INT(nh_ping_state(), -1);
	/* without natping_interval: no pinging, the RPC says so */
	set_param(M, "natping_interval", 0);
	CHECK_INT(M->init(), 0);
	CHECK_INT(nh_ping_state(), -1);
	CHECK_INT(nh_ping_set_state(1), -1);
	M->destroy();
	osp_mod_usrloc.destroy();
}

TEST(sipping_format)
{
	char buf[1024];
	int n;

	set_sparam(M, "sipping_from", "\"Pinger\" <sip:p@example.net>");
	set_sparam(M, "sipping_method", "INFO");
	n = nh_build_sipping(buf, sizeof(buf), STR_LIT("sip:u@10.0.0.1:5070"),
			     STR_LIT("<sip:edge.example.net;lr>"),
			     STR_LIT("uloc-1-2-3"), 0xabcU, NULL);
	CHECK(n > 0);
	CHECK_INT((long)strlen(buf), n);
	CHECK_HAS(buf, "INFO sip:u@10.0.0.1:5070 SIP/2.0\r\n"
		       "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK");
	CHECK_HAS(buf, "\r\nRoute: <sip:edge.example.net;lr>\r\n");
	CHECK_HAS(buf, "\r\nFrom: \"Pinger\" <sip:p@example.net>;tag="
		       "uloc-1-2-3-abc-");
	CHECK_HAS(buf, "\r\nCSeq: 1 INFO\r\n");
	CHECK_HAS(buf, "\r\nMax-Forwards: 70\r\n");
	CHECK_INT(nh_build_sipping(buf, 64, STR_LIT("sip:u@10.0.0.1"), STR_NULL,
				   STR_LIT("r"), 1, NULL),
		  -1);
}

TEST_LIST(TEST_ENTRY(is_rfc1918), TEST_ENTRY(nat_bit1_contact),
	  TEST_ENTRY(nat_bit2_via_received), TEST_ENTRY(nat_bit4_via_private),
	  TEST_ENTRY(nat_bit8_sdp_private), TEST_ENTRY(nat_bit16_via_port),
	  TEST_ENTRY(nat_bit32_source_private), TEST_ENTRY(nat_bit64_websocket),
	  TEST_ENTRY(nat_bit128_contact_port), TEST_ENTRY(nat_bit256_sdp_cline),
	  TEST_ENTRY(nat_combined), TEST_ENTRY(fix_nated_contact),
	  TEST_ENTRY(set_contact_alias), TEST_ENTRY(add_contact_alias),
	  TEST_ENTRY(add_contact_alias_addr), TEST_ENTRY(handle_ruri_alias),
	  TEST_ENTRY(alias_roundtrip), TEST_ENTRY(fix_nated_register),
	  TEST_ENTRY(add_rcv_param), TEST_ENTRY(fix_nated_sdp),
	  TEST_ENTRY(rr_count), TEST_ENTRY(keepalive_kinds),
	  TEST_ENTRY(keepalive_all_contacts), TEST_ENTRY(keepalive_ipv6),
	  TEST_ENTRY(keepalive_replies), TEST_ENTRY(keepalive_timeout),
	  TEST_ENTRY(keepalive_config), TEST_ENTRY(sipping_format), )
