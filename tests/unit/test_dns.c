/* test_dns.c - RFC 3263 resolution (net/dns.c) against a DNS server written
 * here: a thread answering on a random UDP port of 127.0.0.1 from a zone the
 * test sets (NAPTR, SRV, A, AAAA, hand-encoded). The server logs the
 * queries it gets, so tests can see what was asked and what the cache
 * answered. */
#include <arpa/inet.h>
#include <ctype.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/osp.h"
#include "core/stats.h"
#include "net/dns.h"
#include "unit.h"

/* ---------------- the DNS server fixture ---------------- */

enum { T_A = 1, T_AAAA = 28, T_SRV = 33, T_NAPTR = 35 };

typedef struct zrr {
	const char *name;
	int type;
	int ttl;
	const char *addr;		    /* A, AAAA */
	int prio, weight, port;		    /* SRV */
	const char *target;		    /* SRV */
	int order, pref;		    /* NAPTR */
	const char *flags, *service, *repl; /* NAPTR */
} zrr_t;

#define ZMAX	 64
#define QLOG_MAX 1024

static pthread_mutex_t fx_lock = PTHREAD_MUTEX_INITIALIZER;
static zrr_t fx_zone[ZMAX];
static int fx_nzone;
static const char *fx_silent; /* queries for this name get no answer */
static struct {
	int type;
	char name[256];
} fx_qlog[QLOG_MAX];
static int fx_nq;
static int fx_fd = -1;
static int fx_port;
static pthread_t fx_thr;

static void zone_set(const zrr_t *rrs)
{
	pthread_mutex_lock(&fx_lock);
	fx_nzone = 0;
	for (; rrs && rrs->name && fx_nzone < ZMAX; rrs++)
		fx_zone[fx_nzone++] = *rrs;
	pthread_mutex_unlock(&fx_lock);
}

/* Queries received for (type, name); type 0: any type; name NULL: any. */
static int fx_count(int type, const char *name)
{
	int n = 0;

	pthread_mutex_lock(&fx_lock);
	for (int i = 0; i < fx_nq; i++)
		if ((!type || fx_qlog[i].type == type) &&
		    (!name || strcmp(fx_qlog[i].name, name) == 0))
			n++;
	pthread_mutex_unlock(&fx_lock);
	return n;
}

static size_t put_name(unsigned char *p, const char *name)
{
	size_t o = 0;

	if (strcmp(name, ".") == 0)
		name = ""; /* the root */
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		p[o++] = (unsigned char)l;
		memcpy(p + o, name, l);
		o += l;
		name += l;
		if (*name == '.')
			name++;
	}
	p[o++] = 0;
	return o;
}

static size_t put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
	return 2;
}

static size_t put_cstr(unsigned char *p, const char *s)
{
	size_t l = strlen(s);

	p[0] = (unsigned char)l;
	memcpy(p + 1, s, l);
	return l + 1;
}

/* Append one answer record; returns its length. */
static size_t put_rr(unsigned char *p, const zrr_t *z)
{
	size_t o = put_name(p, z->name), rd;
	unsigned char *rdlen;

	o += put16(p + o, (unsigned)z->type);
	o += put16(p + o, 1);
	p[o++] = (unsigned char)(z->ttl >> 24);
	p[o++] = (unsigned char)(z->ttl >> 16);
	p[o++] = (unsigned char)(z->ttl >> 8);
	p[o++] = (unsigned char)z->ttl;
	rdlen = p + o;
	o += 2;
	rd = o;
	switch (z->type) {
	case T_A:
		inet_pton(AF_INET, z->addr, p + o);
		o += 4;
		break;
	case T_AAAA:
		inet_pton(AF_INET6, z->addr, p + o);
		o += 16;
		break;
	case T_SRV:
		o += put16(p + o, (unsigned)z->prio);
		o += put16(p + o, (unsigned)z->weight);
		o += put16(p + o, (unsigned)z->port);
		o += put_name(p + o, z->target);
		break;
	case T_NAPTR:
		o += put16(p + o, (unsigned)z->order);
		o += put16(p + o, (unsigned)z->pref);
		o += put_cstr(p + o, z->flags);
		o += put_cstr(p + o, z->service);
		o += put_cstr(p + o, "");
		o += put_name(p + o, z->repl);
		break;
	}
	put16(rdlen, (unsigned)(o - rd));
	return o;
}

/* Answer one query: records of the zone matching (name, type); NXDOMAIN
 * when the name has no record at all, NOERROR with no answer (NODATA) when
 * it has others. */
static void fx_answer(const unsigned char *q, size_t qlen,
		      struct sockaddr_in *from, socklen_t flen)
{
	unsigned char out[4096];
	char name[256];
	size_t o = 12, nl = 0, qend;
	int type, known = 0, an = 0, silent;

	if (qlen < 12)
		return;
	while (o < qlen && q[o]) {
		size_t l = q[o++];

		if (o + l > qlen || nl + l + 1 >= sizeof(name))
			return;
		if (nl)
			name[nl++] = '.';
		for (size_t i = 0; i < l; i++)
			name[nl++] = (char)tolower(q[o + i]);
		o += l;
	}
	name[nl] = '\0';
	if (o + 5 > qlen)
		return;
	type = q[o + 1] << 8 | q[o + 2];
	qend = o + 5;

	memcpy(out, q, qend);
	out[2] = 0x84 | (q[2] & 0x01); /* QR, AA, RD copied */
	out[3] = 0x80;		       /* RA, NOERROR */
	out[4] = 0;
	out[5] = 1;
	memset(out + 6, 0, 6);
	o = qend;
	pthread_mutex_lock(&fx_lock);
	if (fx_nq < QLOG_MAX) {
		fx_qlog[fx_nq].type = type;
		snprintf(fx_qlog[fx_nq].name, sizeof(fx_qlog[0].name), "%s",
			 name);
		fx_nq++;
	}
	silent = fx_silent && strcmp(fx_silent, name) == 0;
	for (int i = 0; i < fx_nzone; i++) {
		if (strcasecmp(fx_zone[i].name, name) != 0)
			continue;
		known = 1;
		if (fx_zone[i].type != type || o > sizeof(out) - 600)
			continue;
		o += put_rr(out + o, &fx_zone[i]);
		an++;
	}
	pthread_mutex_unlock(&fx_lock);
	if (silent)
		return;
	if (!known)
		out[3] |= 3; /* NXDOMAIN */
	put16(out + 6, (unsigned)an);
	sendto(fx_fd, out, o, 0, (struct sockaddr *)from, flen);
}

static void *fx_run(void *arg)
{
	unsigned char buf[1500];

	for (;;) {
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fx_fd, buf, sizeof(buf), 0,
				     (struct sockaddr *)&from, &flen);

		if (n < 0)
			return NULL;
		fx_answer(buf, (size_t)n, &from, flen);
	}
}

/* Start the server and point the resolver at it. */
static void fx_start(const zrr_t *zone)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	char csv[64];

	osp_log_level = L_ERR;
	fx_fd = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(fx_fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(fx_fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(getsockname(fx_fd, (struct sockaddr *)&a, &al) == 0);
	fx_port = ntohs(a.sin_port);
	CHECK(pthread_create(&fx_thr, NULL, fx_run, NULL) == 0);
	pthread_detach(fx_thr);
	zone_set(zone);
	snprintf(csv, sizeof(csv), "127.0.0.1:%d", fx_port);
	CHECK_INT(dns_set_servers(csv), 0);
	/* a hosts file that knows none of the test names */
	setenv("CARES_HOSTS", "/dev/null", 1);
	dns_init();
}

/* ---------------- helpers ---------------- */

static arena_t arena;

static const sip_uri_t *uri(const char *s)
{
	static sip_uri_t u;
	static int inited;

	if (inited)
		arena_reset(&arena);
	else
		arena_init(&arena);
	inited = 1;
	if (sip_uri_parse(&arena, str_from(s), &u) != 0)
		UNIT_FAIL("bad URI \"%s\"", s);
	return &u;
}

static char errbuf[256];

static int resolve(const char *s, net_dest_list_t *l)
{
	return dns_resolve_uri(uri(s), l, errbuf, sizeof(errbuf));
}

static const char *dest(const net_dest_list_t *l, int i)
{
	static char b[8][80];

	if (i >= l->n)
		return "(none)";
	return dns_dest_str(&l->d[i], b[i % 8], sizeof(b[0]));
}

static uint64_t counter(const char *name)
{
	osp_counter_t *c = stats_find("dns", name);

	if (!c)
		UNIT_FAIL("counter dns:%s not registered", name);
	return stats_get(c);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* a zone with every step of RFC 3263 */
static const zrr_t zone_full[] = {
    /* NAPTR: TLS first (skipped: not supported), then TCP, then UDP */
    {.name = "example.test",
     .type = T_NAPTR,
     .ttl = 300,
     .order = 5,
     .pref = 10,
     .flags = "s",
     .service = "SIPS+D2T",
     .repl = "_sips._tcp.example.test"},
    {.name = "example.test",
     .type = T_NAPTR,
     .ttl = 300,
     .order = 10,
     .pref = 20,
     .flags = "S",
     .service = "SIP+D2U",
     .repl = "_sip._udp.example.test"},
    {.name = "example.test",
     .type = T_NAPTR,
     .ttl = 300,
     .order = 10,
     .pref = 10,
     .flags = "s",
     .service = "SIP+D2T",
     .repl = "_sip._tcp.example.test"},
    {.name = "example.test",
     .type = T_NAPTR,
     .ttl = 300,
     .order = 1,
     .pref = 1,
     .flags = "u",
     .service = "E2U+sip",
     .repl = "."},
    {.name = "example.test", .type = T_A, .ttl = 300, .addr = "10.9.9.9"},
    {.name = "_sips._tcp.example.test",
     .type = T_SRV,
     .ttl = 300,
     .prio = 1,
     .weight = 0,
     .port = 5061,
     .target = "tls1.example.test"},
    {.name = "_sip._tcp.example.test",
     .type = T_SRV,
     .ttl = 300,
     .prio = 20,
     .weight = 0,
     .port = 5071,
     .target = "srv2.example.test"},
    {.name = "_sip._tcp.example.test",
     .type = T_SRV,
     .ttl = 300,
     .prio = 10,
     .weight = 0,
     .port = 5070,
     .target = "srv1.example.test"},
    {.name = "_sip._udp.example.test",
     .type = T_SRV,
     .ttl = 300,
     .prio = 10,
     .weight = 0,
     .port = 5060,
     .target = "srv3.example.test"},
    {.name = "srv1.example.test", .type = T_A, .ttl = 300, .addr = "10.0.0.1"},
    {.name = "srv1.example.test",
     .type = T_AAAA,
     .ttl = 300,
     .addr = "2001:db8::1"},
    {.name = "srv2.example.test", .type = T_A, .ttl = 300, .addr = "10.0.0.2"},
    {.name = "srv3.example.test", .type = T_A, .ttl = 300, .addr = "10.0.0.3"},
    {.name = "tls1.example.test", .type = T_A, .ttl = 300, .addr = "10.0.0.4"},
    /* no NAPTR, SRV for TCP only */
    {.name = "tcponly.test", .type = T_A, .ttl = 300, .addr = "10.7.7.7"},
    {.name = "_sip._tcp.tcponly.test",
     .type = T_SRV,
     .ttl = 300,
     .prio = 1,
     .weight = 1,
     .port = 5080,
     .target = "srv1.example.test"},
    /* SRV whose target is in the hosts file */
    {.name = "_sip._udp.viahosts.test",
     .type = T_SRV,
     .ttl = 300,
     .prio = 1,
     .weight = 0,
     .port = 5099,
     .target = "pinned.test"},
    /* addresses only */
    {.name = "plain.test", .type = T_A, .ttl = 300, .addr = "10.1.1.1"},
    {.name = "plain.test", .type = T_A, .ttl = 300, .addr = "10.1.1.2"},
    {.name = "v6only.test", .type = T_AAAA, .ttl = 300, .addr = "2001:db8::5"},
    /* NAPTR that offers only TLS */
    {.name = "secure.test",
     .type = T_NAPTR,
     .ttl = 300,
     .order = 1,
     .pref = 1,
     .flags = "s",
     .service = "SIPS+D2T",
     .repl = "_sips._tcp.secure.test"},
    {.name = "_sips._tcp.secure.test",
     .type = T_SRV,
     .ttl = 300,
     .prio = 1,
     .weight = 0,
     .port = 5061,
     .target = "tls1.example.test"},
    {.name = "secure.test", .type = T_A, .ttl = 300, .addr = "10.2.2.2"},
    {0},
};

/* ---------------- tests ---------------- */

TEST(ip_literal)
{
	net_dest_list_t l;

	fx_start(zone_full);
	CHECK_INT(resolve("sip:alice@192.0.2.1", &l), 1);
	CHECK_STR(dest(&l, 0), "udp:192.0.2.1:5060");
	CHECK_INT(resolve("sip:192.0.2.1:5070;transport=TCP", &l), 1);
	CHECK_STR(dest(&l, 0), "tcp:192.0.2.1:5070");
	CHECK_INT(resolve("sip:[2001:db8::7];transport=tcp", &l), 1);
	CHECK_STR(dest(&l, 0), "tcp:[2001:db8::7]:5060");
	/* maddr wins over the host */
	CHECK_INT(resolve("sip:example.test;maddr=192.0.2.9", &l), 1);
	CHECK_STR(dest(&l, 0), "udp:192.0.2.9:5060");
	/* TLS: refused clearly until a TLS transport exists */
	CHECK_INT(resolve("sips:192.0.2.1", &l), -OSP_EINVAL);
	CHECK(strstr(errbuf, "tls") != NULL);
	CHECK_INT(resolve("sip:192.0.2.1;transport=tls", &l), -OSP_EINVAL);
	dns_set_tls(1);
	CHECK_INT(resolve("sips:192.0.2.1", &l), 1);
	CHECK_STR(dest(&l, 0), "tls:192.0.2.1:5061");
	CHECK_INT(fx_count(0, NULL), 0);
}

TEST(bad_uris)
{
	net_dest_list_t l;

	fx_start(zone_full);
	CHECK_INT(resolve("tel:+15551234", &l), -OSP_EINVAL);
	CHECK_INT(resolve("sip:192.0.2.1;transport=sctp", &l), -OSP_EINVAL);
	CHECK(strstr(errbuf, "sctp") != NULL);
	CHECK_INT(resolve("sip:192.0.2.1;transport=carrier-pigeon", &l),
		  -OSP_EINVAL);
	CHECK(strstr(errbuf, "unknown transport") != NULL);
	CHECK_INT(resolve("sips:192.0.2.1;transport=udp", &l), -OSP_EINVAL);
	CHECK_INT(l.n, 0);
	CHECK_INT(counter("failures"), 4);
}

TEST(explicit_port_is_address_only)
{
	net_dest_list_t l;

	fx_start(zone_full);
	CHECK_INT(resolve("sip:bob@srv1.example.test:5090", &l), 2);
	CHECK_STR(dest(&l, 0), "udp:10.0.0.1:5090");
	CHECK_STR(dest(&l, 1), "udp:[2001:db8::1]:5090");
	CHECK_INT(resolve("sip:example.test:5090;transport=tcp", &l), 1);
	CHECK_STR(dest(&l, 0), "tcp:10.9.9.9:5090");
	CHECK_INT(fx_count(T_NAPTR, NULL), 0);
	CHECK_INT(fx_count(T_SRV, NULL), 0);
	CHECK_INT(fx_count(T_A, "srv1.example.test"), 1);
	CHECK_INT(fx_count(T_AAAA, "srv1.example.test"), 1);
}

TEST(transport_param_uses_its_srv)
{
	net_dest_list_t l;

	fx_start(zone_full);
	CHECK_INT(resolve("sip:example.test;transport=tcp", &l), 3);
	CHECK_STR(dest(&l, 0), "tcp:10.0.0.1:5070");
	CHECK_STR(dest(&l, 1), "tcp:[2001:db8::1]:5070");
	CHECK_STR(dest(&l, 2), "tcp:10.0.0.2:5071");
	CHECK_INT(fx_count(T_NAPTR, NULL), 0);
	CHECK_INT(fx_count(T_SRV, "_sip._tcp.example.test"), 1);
	CHECK_INT(fx_count(T_SRV, NULL), 1);
	/* transport given, no SRV for it: the host's address, port 5060 */
	CHECK_INT(resolve("sip:plain.test;transport=tcp", &l), 2);
	CHECK_STR(dest(&l, 0), "tcp:10.1.1.1:5060");
	CHECK_STR(dest(&l, 1), "tcp:10.1.1.2:5060");
}

TEST(naptr_srv_a_order)
{
	net_dest_list_t l;

	fx_start(zone_full);
	CHECK_INT(resolve("sip:carol@EXAMPLE.test.", &l), 4);
	/* NAPTR order 10: TCP (pref 10) before UDP (pref 20); TLS skipped;
	 * SRV priority 10 before 20; IPv4 before IPv6 per target */
	CHECK_STR(dest(&l, 0), "tcp:10.0.0.1:5070");
	CHECK_STR(dest(&l, 1), "tcp:[2001:db8::1]:5070");
	CHECK_STR(dest(&l, 2), "tcp:10.0.0.2:5071");
	CHECK_STR(dest(&l, 3), "udp:10.0.0.3:5060");
	CHECK_INT(fx_count(T_NAPTR, "example.test"), 1);
	CHECK_INT(fx_count(T_SRV, "_sips._tcp.example.test"), 0);
	CHECK_INT(fx_count(T_A, "tls1.example.test"), 0);
	/* NAPTR found: no per-transport SRV guess, no host A lookup */
	CHECK_INT(fx_count(T_A, "example.test"), 0);
	CHECK_INT(fx_count(0, NULL), 9);
	CHECK_INT(counter("queries"), 9);

	/* with TLS on, the SIPS+D2T record (order 5) comes first */
	dns_set_tls(1);
	dns_cache_flush();
	CHECK_INT(resolve("sip:carol@example.test", &l), 5);
	CHECK_STR(dest(&l, 0), "tls:10.0.0.4:5061");
	CHECK_STR(dest(&l, 1), "tcp:10.0.0.1:5070");
}

TEST(naptr_tls_only_fails_clearly)
{
	net_dest_list_t l;

	fx_start(zone_full);
	CHECK_INT(resolve("sip:secure.test", &l), -OSP_EINVAL);
	CHECK(strstr(errbuf, "TLS") != NULL);
	CHECK_INT(l.n, 0);
	CHECK_INT(fx_count(T_SRV, NULL), 0);
	CHECK_INT(fx_count(T_A, NULL), 0);
	CHECK_INT(resolve("sips:secure.test", &l), -OSP_EINVAL);
	dns_set_tls(1);
	CHECK_INT(resolve("sips:secure.test", &l), 1);
	CHECK_STR(dest(&l, 0), "tls:10.0.0.4:5061");
}

TEST(no_naptr_srv_per_transport)
{
	net_dest_list_t l;

	fx_start(zone_full);
	CHECK_INT(resolve("sip:tcponly.test", &l), 2);
	CHECK_STR(dest(&l, 0), "tcp:10.0.0.1:5080");
	CHECK_STR(dest(&l, 1), "tcp:[2001:db8::1]:5080");
	CHECK_INT(fx_count(T_NAPTR, "tcponly.test"), 1);
	CHECK_INT(fx_count(T_SRV, "_sip._udp.tcponly.test"), 1);
	CHECK_INT(fx_count(T_SRV, "_sip._tcp.tcponly.test"), 1);
	CHECK_INT(fx_count(T_SRV, "_sips._tcp.tcponly.test"), 0);
	CHECK_INT(fx_count(T_A, "tcponly.test"), 0);
}

TEST(no_srv_falls_back_to_a)
{
	net_dest_list_t l;

	fx_start(zone_full);
	CHECK_INT(resolve("sip:plain.test", &l), 2);
	CHECK_STR(dest(&l, 0), "udp:10.1.1.1:5060");
	CHECK_STR(dest(&l, 1), "udp:10.1.1.2:5060");
	CHECK_INT(fx_count(T_NAPTR, "plain.test"), 1);
	CHECK_INT(fx_count(T_SRV, "_sip._udp.plain.test"), 1);
	CHECK_INT(fx_count(T_SRV, "_sip._tcp.plain.test"), 1);
	CHECK_INT(fx_count(T_A, "plain.test"), 1);
	CHECK_INT(fx_count(T_AAAA, "plain.test"), 1);
	CHECK_INT(counter("queries"), 5);
}

TEST(aaaa_only)
{
	net_dest_list_t l;

	fx_start(zone_full);
	CHECK_INT(resolve("sip:v6only.test", &l), 1);
	CHECK_STR(dest(&l, 0), "udp:[2001:db8::5]:5060");
	CHECK_INT(resolve("sip:v6only.test:5062;transport=tcp", &l), 1);
	CHECK_STR(dest(&l, 0), "tcp:[2001:db8::5]:5062");
}

TEST(nxdomain_and_negative_cache)
{
	net_dest_list_t l;
	int q;

	fx_start(zone_full);
	CHECK_INT(resolve("sip:nope.test", &l), -OSP_ENOTFOUND);
	CHECK(strstr(errbuf, "no such host 'nope.test'") != NULL);
	CHECK_INT(l.n, 0);
	CHECK_INT(counter("failures"), 1);
	q = fx_count(0, NULL);
	CHECK(q >= 5);
	/* answered from the negative cache */
	CHECK_INT(resolve("sip:nope.test", &l), -OSP_ENOTFOUND);
	CHECK_INT(fx_count(0, NULL), q);
	CHECK_INT(counter("failures"), 2);

	/* negative entries live neg_ttl seconds */
	dns_set_cache_ttl(-1, 1);
	dns_cache_flush();
	CHECK_INT(resolve("sip:nope.test:5060", &l), -OSP_ENOTFOUND);
	q = fx_count(T_A, "nope.test");
	CHECK_INT(resolve("sip:nope.test:5060", &l), -OSP_ENOTFOUND);
	CHECK_INT(fx_count(T_A, "nope.test"), q);
	usleep(1200 * 1000);
	CHECK_INT(resolve("sip:nope.test:5060", &l), -OSP_ENOTFOUND);
	CHECK_INT(fx_count(T_A, "nope.test"), q + 1);
}

TEST(srv_priority_and_weight)
{
	static const zrr_t zone[] = {
	    {.name = "_sip._udp.w.test",
	     .type = T_SRV,
	     .ttl = 300,
	     .prio = 1,
	     .weight = 90,
	     .port = 5001,
	     .target = "a.w.test"},
	    {.name = "_sip._udp.w.test",
	     .type = T_SRV,
	     .ttl = 300,
	     .prio = 1,
	     .weight = 10,
	     .port = 5002,
	     .target = "b.w.test"},
	    {.name = "_sip._udp.w.test",
	     .type = T_SRV,
	     .ttl = 300,
	     .prio = 2,
	     .weight = 5,
	     .port = 5004,
	     .target = "d.w.test"},
	    {.name = "_sip._udp.w.test",
	     .type = T_SRV,
	     .ttl = 300,
	     .prio = 0,
	     .weight = 0,
	     .port = 5003,
	     .target = "c.w.test"},
	    {.name = "_sip._udp.w.test",
	     .type = T_SRV,
	     .ttl = 300,
	     .prio = 3,
	     .weight = 0,
	     .port = 5005,
	     .target = "."},
	    {.name = "a.w.test", .type = T_A, .ttl = 300, .addr = "10.3.0.1"},
	    {.name = "b.w.test", .type = T_A, .ttl = 300, .addr = "10.3.0.2"},
	    {.name = "c.w.test", .type = T_A, .ttl = 300, .addr = "10.3.0.3"},
	    {.name = "d.w.test", .type = T_A, .ttl = 300, .addr = "10.3.0.4"},
	    {0},
	};
	net_dest_list_t l;
	int a_first = 0, q = 0;

	fx_start(zone);
	for (int i = 0; i < 400; i++) {
		CHECK_INT(resolve("sip:w.test;transport=udp", &l), 4);
		/* priority 0, then the two of priority 1, then priority 2;
		 * the "." target is not a destination */
		CHECK_STR(dest(&l, 0), "udp:10.3.0.3:5003");
		CHECK_STR(dest(&l, 3), "udp:10.3.0.4:5004");
		if (strcmp(dest(&l, 1), "udp:10.3.0.1:5001") == 0) {
			CHECK_STR(dest(&l, 2), "udp:10.3.0.2:5002");
			a_first++;
		} else {
			CHECK_STR(dest(&l, 1), "udp:10.3.0.2:5002");
			CHECK_STR(dest(&l, 2), "udp:10.3.0.1:5001");
		}
		if (i == 0)
			q = fx_count(0, NULL);
	}
	/* weight 90 vs 10: first about 90% of the time (binomial, n=400:
	 * mean 360, sd 6) */
	CHECK(a_first > 320 && a_first < 395);
	/* everything after the first call came from the cache */
	CHECK_INT(fx_count(0, NULL), q);
	CHECK_INT(q, 9); /* 1 SRV + 4 x (A, AAAA) */
}

TEST(cache_hits_counter_and_flush)
{
	net_dest_list_t l;
	uint64_t hits, queries;

	fx_start(zone_full);
	CHECK_INT(resolve("sip:plain.test", &l), 2);
	hits = counter("cache_hits");
	queries = counter("queries");
	CHECK_INT(queries, (uint64_t)fx_count(0, NULL));
	CHECK(dns_cache_count() > 0);
	CHECK_INT(resolve("sip:plain.test", &l), 2);
	CHECK_STR(dest(&l, 0), "udp:10.1.1.1:5060");
	/* hosts file, NAPTR, 2 x SRV, A, AAAA: all from the cache */
	CHECK_INT(counter("cache_hits"), hits + 6);
	CHECK_INT(counter("queries"), queries);
	CHECK_INT(fx_count(0, NULL), (int)queries);
	dns_cache_flush();
	CHECK_INT(dns_cache_count(), 0);
	CHECK_INT(resolve("sip:plain.test", &l), 2);
	CHECK_INT(counter("queries"), 2 * queries);
	CHECK_INT(fx_count(0, NULL), 2 * (int)queries);
}

TEST(ttl_expiry)
{
	static const zrr_t zone1[] = {
	    {.name = "_sip._udp.t.test",
	     .type = T_SRV,
	     .ttl = 1,
	     .prio = 1,
	     .weight = 0,
	     .port = 5001,
	     .target = "h.t.test"},
	    {.name = "h.t.test", .type = T_A, .ttl = 1, .addr = "10.4.0.1"},
	    {.name = "long.t.test",
	     .type = T_A,
	     .ttl = 3600,
	     .addr = "10.4.1.1"},
	    {0},
	};
	static const zrr_t zone2[] = {
	    {.name = "_sip._udp.t.test",
	     .type = T_SRV,
	     .ttl = 1,
	     .prio = 1,
	     .weight = 0,
	     .port = 5002,
	     .target = "h.t.test"},
	    {.name = "h.t.test", .type = T_A, .ttl = 1, .addr = "10.4.0.2"},
	    {.name = "long.t.test",
	     .type = T_A,
	     .ttl = 3600,
	     .addr = "10.4.1.2"},
	    {0},
	};
	net_dest_list_t l;

	fx_start(zone1);
	dns_set_cache_ttl(2, -1); /* cap: long.t.test kept 2 s, not 1 h */
	CHECK_INT(resolve("sip:t.test;transport=udp", &l), 1);
	CHECK_STR(dest(&l, 0), "udp:10.4.0.1:5001");
	CHECK_INT(resolve("sip:long.t.test:5060", &l), 1);
	CHECK_STR(dest(&l, 0), "udp:10.4.1.1:5060");
	zone_set(zone2);
	CHECK_INT(resolve("sip:t.test;transport=udp", &l), 1);
	CHECK_STR(dest(&l, 0), "udp:10.4.0.1:5001");
	usleep(1200 * 1000);
	CHECK_INT(resolve("sip:t.test;transport=udp", &l), 1);
	CHECK_STR(dest(&l, 0), "udp:10.4.0.2:5002");
	CHECK_INT(fx_count(T_SRV, "_sip._udp.t.test"), 2);
	CHECK_INT(resolve("sip:long.t.test:5060", &l), 1);
	CHECK_STR(dest(&l, 0), "udp:10.4.1.1:5060");
	usleep(1000 * 1000);
	CHECK_INT(resolve("sip:long.t.test:5060", &l), 1);
	CHECK_STR(dest(&l, 0), "udp:10.4.1.2:5060");
}

TEST(timeout_is_bounded)
{
	net_dest_list_t l;
	double t0;
	int rc;

	fx_start(zone_full);
	pthread_mutex_lock(&fx_lock);
	fx_silent = "slow.test";
	pthread_mutex_unlock(&fx_lock);
	dns_set_timeout(400, 2);
	t0 = now_s();
	rc = resolve("sip:slow.test", &l);
	CHECK_INT(rc, -OSP_EIO);
	CHECK(now_s() - t0 < 1.0);
	CHECK(strstr(errbuf, "timed out") != NULL);
	CHECK_INT(counter("failures"), 1);
	/* a failure is not cached: the next call asks again */
	rc = fx_count(T_NAPTR, "slow.test");
	CHECK(rc >= 1);
	resolve("sip:slow.test", &l);
	CHECK(fx_count(T_NAPTR, "slow.test") > rc);
	/* other names still resolve on the same thread */
	CHECK_INT(resolve("sip:plain.test:5060", &l), 2);
}

TEST(hosts_file_is_pinned)
{
	char path[] = "/tmp/osp_dns_hostsXXXXXX";
	int fd = mkstemp(path);
	net_dest_list_t l;
	FILE *f;

	CHECK(fd >= 0);
	f = fdopen(fd, "w");
	CHECK(f != NULL);
	fprintf(f, "# test hosts\n10.5.0.1 pinned.test pin\n"
		   "2001:db8::55 pinned.test\n10.5.0.2 example.test\n");
	fclose(f);
	fx_start(zone_full);
	setenv("CARES_HOSTS", path, 1);
	CHECK_INT(resolve("sip:pinned.test", &l), 2);
	CHECK_STR(dest(&l, 0), "udp:10.5.0.1:5060");
	CHECK_STR(dest(&l, 1), "udp:[2001:db8::55]:5060");
	CHECK_INT(resolve("sip:pin:5080;transport=tcp", &l), 1);
	CHECK_STR(dest(&l, 0), "tcp:10.5.0.1:5080");
	/* a name in the hosts file skips NAPTR/SRV even when DNS has them */
	CHECK_INT(resolve("sip:example.test", &l), 1);
	CHECK_STR(dest(&l, 0), "udp:10.5.0.2:5060");
	CHECK_INT(fx_count(0, NULL), 0);
	/* SRV targets are looked up in the hosts file too */
	CHECK_INT(resolve("sip:viahosts.test;transport=udp", &l), 2);
	CHECK_STR(dest(&l, 0), "udp:10.5.0.1:5099");
	CHECK_STR(dest(&l, 1), "udp:[2001:db8::55]:5099");
	CHECK_INT(fx_count(0, NULL), 1);
	CHECK_INT(fx_count(T_SRV, "_sip._udp.viahosts.test"), 1);
	unlink(path);
	/* the system hosts file: localhost */
	unsetenv("CARES_HOSTS");
	dns_cache_flush();
	CHECK(resolve("sip:localhost", &l) >= 1);
	CHECK_STR(dest(&l, 0), "udp:127.0.0.1:5060");
	CHECK_INT(fx_count(0, NULL), 1);
}

TEST(env_servers)
{
	net_dest_list_t l;
	char csv[64];

	fx_start(zone_full);
	osp_log_level = L_CRIT; /* the error line is expected */
	CHECK_INT(dns_set_servers("not an address"), -OSP_EINVAL);
	/* back to the environment */
	snprintf(csv, sizeof(csv), "127.0.0.1:%d", fx_port);
	setenv("OSP_DNS_SERVERS", csv, 1);
	CHECK_INT(dns_set_servers(NULL), 0);
	CHECK_INT(resolve("sip:plain.test:5060", &l), 2);
	CHECK_STR(dest(&l, 0), "udp:10.1.1.1:5060");
	CHECK_INT(fx_count(T_A, "plain.test"), 1);
}

#define N_THR 4

static void *thr_resolve(void *arg)
{
	static const char *names[N_THR] = {"sip:example.test", "sip:plain.test",
					   "sip:tcponly.test",
					   "sip:v6only.test"};
	static const char *first[N_THR] = {
	    "tcp:10.0.0.1:5070", "udp:10.1.1.1:5060", "tcp:10.0.0.1:5080",
	    "udp:[2001:db8::5]:5060"};
	int i = (int)(intptr_t)arg;
	long bad = 0;

	for (int k = 0; k < 50; k++) {
		net_dest_list_t l;
		arena_t a;
		sip_uri_t u;
		char e[128], b[80];

		arena_init(&a);
		if (sip_uri_parse(&a, str_from(names[i]), &u) != 0 ||
		    dns_resolve_uri(&u, &l, e, sizeof(e)) < 1 ||
		    strcmp(dns_dest_str(&l.d[0], b, sizeof(b)), first[i]) != 0)
			bad++;
		arena_destroy(&a);
		if (k % 10 == 9)
			dns_cache_flush();
	}
	dns_destroy();
	return (void *)bad;
}

TEST(threads)
{
	pthread_t t[N_THR];

	fx_start(zone_full);
	for (int i = 0; i < N_THR; i++)
		CHECK(pthread_create(&t[i], NULL, thr_resolve,
				     (void *)(intptr_t)i) == 0);
	for (int i = 0; i < N_THR; i++) {
		void *bad;

		CHECK(pthread_join(t[i], &bad) == 0);
		CHECK_INT((intptr_t)bad, 0);
	}
	CHECK(counter("cache_hits") > 0);
	dns_destroy();
}

TEST_LIST(TEST_ENTRY(ip_literal), TEST_ENTRY(bad_uris),
	  TEST_ENTRY(explicit_port_is_address_only),
	  TEST_ENTRY(transport_param_uses_its_srv),
	  TEST_ENTRY(naptr_srv_a_order),
	  TEST_ENTRY(naptr_tls_only_fails_clearly),
	  TEST_ENTRY(no_naptr_srv_per_transport),
	  TEST_ENTRY(no_srv_falls_back_to_a), TEST_ENTRY(aaaa_only),
	  TEST_ENTRY(nxdomain_and_negative_cache),
	  TEST_ENTRY(srv_priority_and_weight),
	  TEST_ENTRY(cache_hits_counter_and_flush), TEST_ENTRY(ttl_expiry),
	  TEST_ENTRY(timeout_is_bounded), TEST_ENTRY(hosts_file_is_pinned),
	  TEST_ENTRY(env_servers), TEST_ENTRY(threads), )
