/* test_net.c - net address helpers: net_addr_to_ip (IPv4 formatted by hand,
 * IPv6 through inet_ntop), net_addr_from_ip, net_addr_port. */
#include <arpa/inet.h>
#include <string.h>

#include "net/net.h"
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

TEST_LIST(
	TEST_ENTRY(ipv4_text),
	TEST_ENTRY(ipv4_matches_inet_ntop),
	TEST_ENTRY(ipv4_small_buffer),
	TEST_ENTRY(ipv6_text),
	TEST_ENTRY(round_trip_and_family),
)
