/* test_sip_uri.c - URIs and generic parameter lists. */
#include "core/osp.h"
#include "sip/msg.h"
#include "unit.h"

static arena_t arena;

static void reset_arena(void)
{
	static int inited;

	if (inited)
		arena_reset(&arena);
	else
		arena_init(&arena);
	inited = 1;
}

static sip_uri_t *uri_ok(const char *s)
{
	static sip_uri_t u;

	reset_arena();
	if (sip_uri_parse(&arena, str_from(s), &u) != 0)
		UNIT_FAIL("rejected URI \"%s\"", s);
	return &u;
}

TEST(uri_basic)
{
	sip_uri_t *u = uri_ok("sip:alice@atlanta.com");

	CHECK_INT(u->scheme, SIP_URI_SIP);
	CHECK_STRV(u->user, "alice");
	CHECK_INT(u->password.len, 0);
	CHECK_STRV(u->host, "atlanta.com");
	CHECK_INT(u->port.len, 0);
	CHECK_INT(u->port_no, 0);
	CHECK_INT(u->params.len, 0);
	CHECK_INT(u->headers.len, 0);
	CHECK(u->param_list == NULL);
	CHECK_INT(u->lr, 0);
	CHECK_INT(u->host_is_ipv6, 0);

	u = uri_ok("SIPS:atlanta.com:5061");
	CHECK_INT(u->scheme, SIP_URI_SIPS);
	CHECK_INT(u->user.len, 0);
	CHECK_STRV(u->host, "atlanta.com");
	CHECK_STRV(u->port, "5061");
	CHECK_INT(u->port_no, 5061);

	u = uri_ok("sip:192.0.2.4");
	CHECK_STRV(u->host, "192.0.2.4");
}

TEST(uri_userinfo)
{
	sip_uri_t *u = uri_ok("sip:alice:secretword@atlanta.com;transport=tcp");

	CHECK_STRV(u->user, "alice");
	CHECK_STRV(u->password, "secretword");
	CHECK_STRV(u->host, "atlanta.com");
	CHECK_STRV(u->transport, "tcp");

	/* telephone-subscriber user part with ';' (user-unreserved) */
	u = uri_ok("sip:+1-212-555-1212;isub=1411;postd=pp22@gw.com;user=phone");
	CHECK_STRV(u->user, "+1-212-555-1212;isub=1411;postd=pp22");
	CHECK_STRV(u->host, "gw.com");
	CHECK_STRV(u->user_param, "phone");
	CHECK_STRV(u->params, "user=phone");

	u = uri_ok("sip:%61lice@atlanta.com");
	CHECK_STRV(u->user, "%61lice");
}

TEST(uri_ipv6)
{
	sip_uri_t *u = uri_ok("sip:bob@[2001:db8::10]:5070;maddr=[2001:db8::1]");

	CHECK_STRV(u->host, "[2001:db8::10]");
	CHECK(u->host_is_ipv6);
	CHECK_INT(u->port_no, 5070);
	CHECK_STRV(u->maddr, "[2001:db8::1]");

	u = uri_ok("sip:[::ffff:192.0.2.1]");
	CHECK_STRV(u->host, "[::ffff:192.0.2.1]");
	CHECK_INT(u->port_no, 0);
}

TEST(uri_params_headers)
{
	sip_uri_t *u = uri_ok("sip:p1.example.com;lr;ttl=15;maddr=239.255.255.1;"
			      "method=INVITE;X-Foo=Bar;transport=UDP"
			      "?Subject=project%20x&priority=urgent");
	const sip_param_t *p;

	CHECK_INT(u->lr, 1);
	CHECK_STRV(u->ttl, "15");
	CHECK_STRV(u->maddr, "239.255.255.1");
	CHECK_STRV(u->method, "INVITE");
	CHECK_STRV(u->transport, "UDP");
	CHECK_STRV(u->params, "lr;ttl=15;maddr=239.255.255.1;method=INVITE;"
			      "X-Foo=Bar;transport=UDP");
	CHECK_STRV(u->headers, "Subject=project%20x&priority=urgent");
	p = sip_param_find(u->param_list, STR_LIT("x-foo"));
	CHECK(p && p->has_value);
	CHECK_STRV(p->value, "Bar");
	p = sip_param_find(u->param_list, STR_LIT("lr"));
	CHECK(p && !p->has_value && p->value.len == 0);
	CHECK(sip_param_find(u->param_list, STR_LIT("l")) == NULL);

	u = uri_ok("sip:a@b;LR=on");
	CHECK_INT(u->lr, 1);
	u = uri_ok("sip:a@b?");
	CHECK_INT(u->headers.len, 0);
	u = uri_ok("sip:a@b;"); /* empty trailing parameter tolerated */
	CHECK(u->param_list == NULL);
}

TEST(uri_tel)
{
	sip_uri_t *u = uri_ok("tel:+1-201-555-0123;phone-context=example.com");

	CHECK_INT(u->scheme, SIP_URI_TEL);
	CHECK_STRV(u->user, "+1-201-555-0123");
	CHECK_INT(u->host.len, 0);
	CHECK_STRV(sip_param_find(u->param_list, STR_LIT("phone-context"))->value,
		   "example.com");
	u = uri_ok("TEL:7042");
	CHECK_STRV(u->user, "7042");
}

TEST(uri_bad)
{
	static const char *bad[] = {
		"",
		"sip:",
		"sip:@",
		"sip:alice@",
		"http://example.com/",
		"mailto:a@b.c",
		"sip:a@b:",
		"sip:a@b:70000",
		"sip:a@b:123456",
		"sip:a@b:50x",
		"sip:a b@c",
		"sip:a@b c",
		"sip:a@[::1",
		"sip:a@[1.2.3.4]",
		"sip:a@b;x=\"q\"",
		"sip:a@<b>",
		"sip:a@b;=x",
		"sip:a@b/c",
		"sip:a@b\r\n",
		"tel:",
		"tel:;x=1",
		"sip",
		"si:a@b",
	};
	sip_uri_t u;

	reset_arena();
	for (size_t i = 0; i < OSP_ARRAY_LEN(bad); i++)
		if (sip_uri_parse(&arena, str_from(bad[i]), &u) == 0)
			UNIT_FAIL("accepted URI \"%s\"", bad[i]);
	CHECK(sip_uri_parse(&arena, STR_NULL, &u) == -OSP_EPARSE);
	/* not NUL-terminated: only len bytes count */
	CHECK_INT(sip_uri_parse(&arena, (str_t){"sip:a@hostX", 10}, &u), 0);
	CHECK_STRV(u.host, "host");
}

TEST(params_generic)
{
	sip_param_t *l;
	size_t used = 0;
	int n;

	reset_arena();
	n = sip_params_parse(&arena, STR_LIT(";a=1; b ;c = \"x;y,z\" ;d=[::1],next"),
			     ",", &l, &used);
	CHECK_INT(n, 4);
	CHECK_INT(used, strlen(";a=1; b ;c = \"x;y,z\" ;d=[::1]"));
	CHECK_STRV(l->name, "a");
	CHECK_STRV(l->value, "1");
	CHECK_STRV(l->next->name, "b");
	CHECK_INT(l->next->has_value, 0);
	CHECK_STRV(l->next->next->value, "x;y,z");
	CHECK_STRV(l->next->next->next->value, "[::1]");
	CHECK(l->next->next->next->next == NULL);

	/* starting at a name, stop at '?' */
	n = sip_params_parse(&arena, STR_LIT("lr;x=?h=1"), "?", &l, &used);
	CHECK_INT(n, 2);
	CHECK_INT(used, 5);
	CHECK_INT(l->next->has_value, 1);
	CHECK_INT(l->next->value.len, 0);

	/* no stop set: ',' is part of a value */
	n = sip_params_parse(&arena, STR_LIT(";a=b,c"), NULL, &l, &used);
	CHECK_INT(n, 1);
	CHECK_STRV(l->value, "b,c");

	CHECK_INT(sip_params_parse(&arena, STR_LIT(""), NULL, &l, &used), 0);
	CHECK(l == NULL);
	CHECK_INT(sip_params_parse(&arena, STR_LIT(";a=\"open"), NULL, &l, &used),
		  -OSP_EPARSE);
	CHECK_INT(sip_params_parse(&arena, STR_LIT(";a b"), NULL, &l, &used),
		  -OSP_EPARSE);
	CHECK_INT(sip_params_parse(&arena, STR_LIT(";=b"), NULL, &l, &used),
		  -OSP_EPARSE);
	CHECK_INT(sip_params_parse(&arena, STR_LIT(";a=\"x\"y"), NULL, &l, &used),
		  -OSP_EPARSE);
	CHECK_INT(sip_params_parse(&arena, STR_LIT(";a=\"x\\\"y\""), NULL, &l, &used), 1);
	CHECK_STRV(l->value, "x\\\"y");
	CHECK(sip_param_find(NULL, STR_LIT("a")) == NULL);
}

/* sip_uri_replace: one part rewritten, the rest kept as written. */
TEST(uri_replace)
{
	arena_t a;
	sip_uri_t u;
	str_t in = STR_LIT("SIP:alice:pw@example.com:5070;transport=tcp?h=1"), out;

	arena_init(&a);
	CHECK_INT(sip_uri_parse(&a, in, &u), 0);
	CHECK_INT(sip_uri_replace(&a, in, &u, SIP_URI_PART_USER,
				  STR_LIT("bob"), &out), 0);
	CHECK_STRV(out, "SIP:bob:pw@example.com:5070;transport=tcp?h=1");
	CHECK_INT(sip_uri_replace(&a, in, &u, SIP_URI_PART_USER, STR_NULL,
				  &out), 0);
	CHECK_STRV(out, "SIP:example.com:5070;transport=tcp?h=1");
	CHECK_INT(sip_uri_replace(&a, in, &u, SIP_URI_PART_HOST,
				  STR_LIT("[::1]"), &out), 0);
	CHECK_STRV(out, "SIP:alice:pw@[::1]:5070;transport=tcp?h=1");
	CHECK_INT(sip_uri_replace(&a, in, &u, SIP_URI_PART_PORT, STR_NULL,
				  &out), 0);
	CHECK_STRV(out, "SIP:alice:pw@example.com;transport=tcp?h=1");
	CHECK_INT(sip_uri_replace(&a, in, &u, SIP_URI_PART_HOSTPORT,
				  STR_LIT("[2001:db8::1]:5080"), &out), 0);
	CHECK_STRV(out, "SIP:alice:pw@[2001:db8::1]:5080;transport=tcp?h=1");
	in = STR_LIT("tel:+123");
	CHECK_INT(sip_uri_parse(&a, in, &u), 0);
	CHECK_INT(sip_uri_replace(&a, in, &u, SIP_URI_PART_HOST,
				  STR_LIT("x"), &out), -OSP_EINVAL);
	arena_destroy(&a);
}

TEST_LIST(
	TEST_ENTRY(uri_replace),
	TEST_ENTRY(uri_basic),
	TEST_ENTRY(uri_userinfo),
	TEST_ENTRY(uri_ipv6),
	TEST_ENTRY(uri_params_headers),
	TEST_ENTRY(uri_tel),
	TEST_ENTRY(uri_bad),
	TEST_ENTRY(params_generic),
)
