/* test_net.c - net address helpers: net_addr_to_ip (IPv4 formatted by hand,
 * IPv6 through inet_ntop), net_addr_from_ip, net_addr_port; the UDP receive
 * path (net_handle_udp, recvmmsg batches). */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"
#include "net/net_internal.h"
#include "unit.h"

static sip_sockaddr_t v4(uint32_t host_order)
{
	sip_sockaddr_t a;

	memset(&a, 0, sizeof(a));
	a.in4.sin_family = AF_INET;
	a.in4.sin_addr.s_addr = htonl(host_order);
	return a;
}

TEST(ipv4_text)
{
	static const struct {
		uint32_t a;
		const char *text;
	} v[] = {
		{0x00000000u, "0.0.0.0"},
		{0x7f000001u, "127.0.0.1"},
		{0xffffffffu, "255.255.255.255"},
		{0x0a00000au, "10.0.0.10"},
		{0xc0a80164u, "192.168.1.100"},
		{0x01020304u, "1.2.3.4"},
		{0x09635a0bu, "9.99.90.11"},
		{0x6465c8c7u, "100.101.200.199"},
	};
	char buf[64];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		sip_sockaddr_t a = v4(v[i].a);

		memset(buf, 'x', sizeof(buf));
		CHECK_INT(net_addr_to_ip(&a, buf, sizeof(buf)),
			  strlen(v[i].text));
		CHECK_STR(buf, v[i].text);
	}
}

/* Every byte value in every position, and a pseudo-random sweep, against
 * the C library's formatting. */
TEST(ipv4_matches_inet_ntop)
{
	char buf[INET_ADDRSTRLEN], ref[INET_ADDRSTRLEN];
	uint32_t x = 2463534242u;

	for (int pos = 0; pos < 4; pos++)
		for (uint32_t b = 0; b < 256; b++) {
			sip_sockaddr_t a = v4((b << (8 * pos)) | 0x01010101u);

			CHECK(inet_ntop(AF_INET, &a.in4.sin_addr, ref,
					sizeof(ref)) != NULL);
			CHECK_INT(net_addr_to_ip(&a, buf, sizeof(buf)),
				  strlen(ref));
			CHECK_STR(buf, ref);
		}
	for (int i = 0; i < 20000; i++) {
		sip_sockaddr_t a;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		a = v4(x);
		CHECK(inet_ntop(AF_INET, &a.in4.sin_addr, ref, sizeof(ref)));
		CHECK_INT(net_addr_to_ip(&a, buf, sizeof(buf)), strlen(ref));
		CHECK_STR(buf, ref);
	}
}

/* A buffer too small fails like inet_ntop (empty string, -1) and never
 * writes past cap; exactly enough room succeeds. */
TEST(ipv4_small_buffer)
{
	sip_sockaddr_t a = v4(0xc0a80164u); /* 192.168.1.100: 13 chars */
	char buf[32];

	memset(buf, 'x', sizeof(buf));
	CHECK_INT(net_addr_to_ip(&a, buf, 14), 13);
	CHECK_STR(buf, "192.168.1.100");
	memset(buf, 'x', sizeof(buf));
	CHECK_INT(net_addr_to_ip(&a, buf, 13), -1);
	CHECK_INT(buf[0], '\0');
	CHECK_INT(buf[1], 'x');
	CHECK_INT(buf[13], 'x');
	memset(buf, 'x', sizeof(buf));
	CHECK_INT(net_addr_to_ip(&a, buf, 0), -1);
	CHECK_INT(buf[0], 'x');
	a = v4(0x01020304u);
	CHECK_INT(net_addr_to_ip(&a, buf, 8), 7);
	CHECK_STR(buf, "1.2.3.4");
}

TEST(ipv6_text)
{
	sip_sockaddr_t a;
	char buf[64];

	CHECK_INT(net_addr_from_ip("2001:db8::1", 5060, &a), 0);
	CHECK_INT(a.sa.sa_family, AF_INET6);
	CHECK_INT(net_addr_to_ip(&a, buf, sizeof(buf)), 11);
	CHECK_STR(buf, "2001:db8::1");
	CHECK_INT(net_addr_port(&a), 5060);
	CHECK_INT(net_addr_from_ip("[::ffff:10.1.2.3]", 5070, &a), 0);
	CHECK_INT(net_addr_to_ip(&a, buf, sizeof(buf)), 15);
	CHECK_STR(buf, "::ffff:10.1.2.3");
	CHECK_INT(net_addr_to_ip(&a, buf, 4), -1);
	CHECK_STR(buf, "");
}

TEST(round_trip_and_family)
{
	sip_sockaddr_t a;
	char buf[64];

	CHECK_INT(net_addr_from_ip("203.0.113.7", 5080, &a), 0);
	CHECK_INT(net_addr_to_ip(&a, buf, sizeof(buf)), 11);
	CHECK_STR(buf, "203.0.113.7");
	CHECK_INT(net_addr_port(&a), 5080);
	memset(&a, 0, sizeof(a)); /* AF_UNSPEC */
	strcpy(buf, "junk");
	CHECK_INT(net_addr_to_ip(&a, buf, sizeof(buf)), -1);
	CHECK_STR(buf, "");
}

/* What the receive callback saw. */
static struct {
	int n;
	size_t len[100];
	int port[100];
	char first[100];
	int nul_ok;
} seen;

static void on_dgram(char *buf, size_t len, sip_rcv_t *rcv, void *arg)
{
	int i = seen.n++;

	seen.len[i] = len;
	seen.port[i] = net_addr_port(&rcv->src);
	seen.first[i] = buf[0];
	seen.nul_ok += buf[len] == '\0' && rcv->proto == SIP_PROTO_UDP &&
		       rcv->listener == arg;
}

/* Datagrams of different sizes, more than one batch (8) and more than one
 * readiness (64): each comes once, in order, whole, NUL-terminated, with
 * its source; an empty socket returns at once. */
TEST(udp_batches)
{
	net_listener_t lst;
	net_ev_t ev = {.kind = NET_EV_UDP};
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	int rx = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	int tx = socket(AF_INET, SOCK_DGRAM, 0);
	int tx_port, rcvbuf = 1 << 20;
	static char big[9000];

	CHECK(rx >= 0 && tx >= 0);
	setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_INT(bind(rx, (struct sockaddr *)&a, sizeof(a)), 0);
	CHECK_INT(getsockname(rx, (struct sockaddr *)&a, &al), 0);
	CHECK_INT(connect(tx, (struct sockaddr *)&a, sizeof(a)), 0);
	{
		struct sockaddr_in t;
		socklen_t tl = sizeof(t);

		CHECK_INT(getsockname(tx, (struct sockaddr *)&t, &tl), 0);
		tx_port = ntohs(t.sin_port);
	}
	memset(&lst, 0, sizeof(lst));
	ev.fd = rx;
	ev.lst = &lst;
	net_handle_udp(&ev, on_dgram, &lst);
	CHECK_INT(seen.n, 0);
	for (int i = 0; i < 70; i++) {
		size_t len = i == 20 ? sizeof(big) : (size_t)(1 + i * 3);

		memset(big, 'a' + i % 26, len);
		CHECK_INT(send(tx, big, len, 0), (long long)len);
	}
	net_handle_udp(&ev, on_dgram, &lst);
	CHECK_INT(seen.n, 64); /* UDP_ROUNDS x UDP_BATCH, then yield */
	net_handle_udp(&ev, on_dgram, &lst);
	CHECK_INT(seen.n, 70);
	for (int i = 0; i < 70; i++) {
		CHECK_INT(seen.len[i], i == 20 ? sizeof(big) : (size_t)(1 + i * 3));
		CHECK_INT(seen.first[i], 'a' + i % 26);
		CHECK_INT(seen.port[i], tx_port);
	}
	CHECK_INT(seen.nul_ok, 70);
	close(rx);
	close(tx);
}

TEST_LIST(
	TEST_ENTRY(udp_batches),
	TEST_ENTRY(ipv4_text),
	TEST_ENTRY(ipv4_matches_inet_ntop),
	TEST_ENTRY(ipv4_small_buffer),
	TEST_ENTRY(ipv6_text),
	TEST_ENTRY(round_trip_and_family),
)
