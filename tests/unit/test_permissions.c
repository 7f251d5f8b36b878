/* test_permissions.c - KSR.permissions: the address file format, exact
 * and CIDR matching for IPv4 and IPv6, ports, groups, host names, the
 * peer tag AVP, loading from SQLite, reloads (atomic swap, failures keep
 * the old records, readers running meanwhile) and the dump RPCs. */
#include <arpa/inet.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/globals.h"
#include "modules/permissions/perm.h"
#include "modules/pv/pv.h"
#include "test_mods_util.h"

extern osp_module_t osp_mod_permissions;
#define M (&osp_mod_permissions)

#define REQ                                                                    \
	"OPTIONS sip:bob@example.com SIP/2.0\r\n"                              \
	"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"                 \
	"From: <sip:alice@example.com>;tag=a1\r\n"                             \
	"To: <sip:bob@example.com>\r\n"                                        \
	"Call-ID: c1\r\n"                                                      \
	"CSeq: 1 OPTIONS\r\n"                                                  \
	"Content-Length: 0\r\n"                                                \
	"\r\n"

static const char ADDRESSES[] =
    "# address file\n"
    "1 192.0.2.10 32 0 peer-a   # the test source, any port\n"
    "2 192.0.2.10 32 5062\n"
    "3 192.0.2.10 32 5060\n"
    "\n"
    "4 10.1.0.0 16\n"
    "5 172.16.5.77 20 0 sub20\n" /* host bits are masked: 172.16.0.0/20 */
    "6 128.0.0.0 1\n"
    "7 [2001:db8::1]\n"
    "8 2001:db8:aa::ff 48 0 v6net\n"
    "9 2001:db8:bb::1 127 5060\n"
    "10 sip.example.com 0 0 byname\n"
    "11 10.9.9.9 0\n"; /* netmask 0: the whole address */

static char dir[] = "/tmp/osp-perm-XXXXXX";

static void set_str(const char *name, const char *v)
{
	for (const osp_param_t *p = M->params; p->name; p++)
		if (strcmp(p->name, name) == 0) {
			*(char **)p->var = v ? strdup(v) : NULL;
			return;
		}
	UNIT_FAIL("no param %s", name);
}

static void set_int(const char *name, int v)
{
	for (const osp_param_t *p = M->params; p->name; p++)
		if (strcmp(p->name, name) == 0) {
			*(int *)p->var = v;
			return;
		}
	UNIT_FAIL("no param %s", name);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

static char file[256];

/* Load ADDRESSES from a file through the module's init. */
static void setup_file(const char *text)
{
	CHECK(mkdtemp(dir) != NULL);
	snprintf(file, sizeof(file), "%s/address.list", dir);
	write_file(file, text);
	osp_g.cfg_file = "/nonexistent/osprey.cfg";
	set_str("address_file", file);
	CHECK_INT(M->init(), 0);
}

static void cleanup(void)
{
	char f[300];
	static const char *const names[] = {"address.list", "perm.db",
					    "perm.db-wal", "perm.db-shm"};

	M->destroy();
	for (size_t i = 0; i < OSP_ARRAY_LEN(names); i++) {
		snprintf(f, sizeof(f), "%s/%s", dir, names[i]);
		unlink(f);
	}
	rmdir(dir);
}

static int allow(tmsg_t *t, long grp, const char *ip, long port)
{
	return kcall(t, M, "allow_address", NULL, grp, ip, port);
}

static int group_of(tmsg_t *t, const char *ip, long port)
{
	return kcall(t, M, "allow_address_group", NULL, ip, port);
}

TEST(file_format_errors)
{
	static const char *const bad[] = {
	    "1\n",			  /* no address */
	    "x 1.2.3.4\n",		  /* group not a number */
	    "1 1.2.3.4 33\n",		  /* mask too long for IPv4 */
	    "1 2001:db8::1 129\n",	  /* ... for IPv6 */
	    "1 1.2.3.4 32 70000\n",	  /* port */
	    "1 1.2.3.4 32 0 tag extra\n", /* too many fields */
	    "-1 1.2.3.4\n",		  /* negative group */
	    "1 1.2.3.4 abc\n",
	};
	char err[256];
	perm_set_t *s;

	for (size_t i = 0; i < OSP_ARRAY_LEN(bad); i++) {
		err[0] = '\0';
		s = perm_parse_text(bad[i], "f", err, sizeof(err));
		if (s)
			UNIT_FAIL("accepted: %s", bad[i]);
		CHECK(strncmp(err, "f:1:", 4) == 0);
	}
	s = perm_parse_text(ADDRESSES, "f", err, sizeof(err));
	if (!s)
		UNIT_FAIL("%s", err);
	CHECK_INT(s->naddrs, 5);
	CHECK_INT(s->nsubnets, 5);
	CHECK_INT(s->ndomains, 1);
	/* subnets sorted by group, host bits cleared */
	CHECK_INT(s->subnets[1].grp, 5);
	CHECK_INT(s->subnets[1].mask, 20);
	CHECK_INT(s->subnets[1].ip[2], 0);
	CHECK_STR(s->subnets[1].tag, "sub20");
	perm_set_free(s);
	s = perm_parse_text("# only comments\n\n   \n", "f", err, sizeof(err));
	CHECK(s && s->naddrs + s->nsubnets + s->ndomains == 0);
	perm_set_free(s);
}

TEST(exact_and_ports)
{
	tmsg_t t;

	setup_file(ADDRESSES);
	tmsg_parse(&t, REQ); /* from 192.0.2.10:5062 */
	CHECK_INT(kcall(&t, M, "allow_source_address", NULL, 1L), 1);
	CHECK_INT(kcall(&t, M, "allow_source_address", NULL, 2L), 1);
	/* group 3 wants port 5060 */
	CHECK_INT(kcall(&t, M, "allow_source_address", NULL, 3L), -1);
	CHECK_INT(kcall(&t, M, "allow_source_address", NULL, 4L), -1);
	/* lowest group first */
	CHECK_INT(kcall(&t, M, "allow_source_address_group", NULL), 1);
	CHECK_INT(allow(&t, 3, "192.0.2.10", 5060), 1);
	CHECK_INT(allow(&t, 3, "192.0.2.10", 5061), -1);
	CHECK_INT(allow(&t, 1, "192.0.2.11", 5060), -1);
	CHECK_INT(allow(&t, 11, "10.9.9.9", 1), 1);
	CHECK_INT(allow(&t, 11, "10.9.9.8", 1), -1);
	CHECK_INT(group_of(&t, "10.200.0.1", 0), -1);
	/* an unknown source */
	t.msg.rcv.src.in4.sin_addr.s_addr = htonl(0xc0000263); /* .99 */
	CHECK_INT(kcall(&t, M, "allow_source_address", NULL, 1L), -1);
	/* ... but in 128.0.0.0/1 */
	CHECK_INT(kcall(&t, M, "allow_source_address_group", NULL), 6);
	t.msg.rcv.src.in4.sin_addr.s_addr = htonl(0x0ac80001); /* 10.200.0.1 */
	CHECK_INT(kcall(&t, M, "allow_source_address_group", NULL), -1);
	tmsg_free(&t);
	cleanup();
}

TEST(cidr_v4)
{
	tmsg_t t;

	setup_file(ADDRESSES);
	tmsg_parse(&t, REQ);
	CHECK_INT(allow(&t, 4, "10.1.0.0", 0), 1);
	CHECK_INT(allow(&t, 4, "10.1.255.255", 0), 1);
	CHECK_INT(allow(&t, 4, "10.2.0.1", 0), -1);
	CHECK_INT(allow(&t, 4, "10.0.255.255", 0), -1);
	/* /20 from a record written with host bits */
	CHECK_INT(allow(&t, 5, "172.16.0.1", 9), 1);
	CHECK_INT(allow(&t, 5, "172.16.15.254", 9), 1);
	CHECK_INT(allow(&t, 5, "172.16.16.1", 9), -1);
	/* /1 */
	CHECK_INT(allow(&t, 6, "200.1.1.1", 9), 1);
	CHECK_INT(allow(&t, 6, "127.255.255.255", 9), -1);
	CHECK_INT(group_of(&t, "10.1.2.3", 7), 4);
	CHECK_INT(group_of(&t, "172.16.9.9", 7), 5);
	/* exact before subnets: 192.0.2.10 is exact in 1 */
	CHECK_INT(group_of(&t, "192.0.2.10", 5062), 1);
	/* an IPv4 address never matches IPv6 records, and back */
	CHECK_INT(allow(&t, 6, "::ffff:200.1.1.1", 0), -1);
	tmsg_free(&t);
	cleanup();
}

TEST(cidr_v6)
{
	tmsg_t t;

	setup_file(ADDRESSES);
	tmsg_parse(&t, REQ);
	CHECK_INT(allow(&t, 7, "2001:db8::1", 0), 1);
	CHECK_INT(allow(&t, 7, "[2001:db8::1]", 0), 1);
	CHECK_INT(allow(&t, 7, "2001:0db8:0000::0001", 0), 1);
	CHECK_INT(allow(&t, 7, "2001:db8::2", 0), -1);
	CHECK_INT(allow(&t, 8, "2001:db8:aa:ffff::1", 0), 1);
	CHECK_INT(allow(&t, 8, "2001:db8:ab::1", 0), -1);
	/* /127: two addresses, port 5060 only */
	CHECK_INT(allow(&t, 9, "2001:db8:bb::", 5060), 1);
	CHECK_INT(allow(&t, 9, "2001:db8:bb::1", 5060), 1);
	CHECK_INT(allow(&t, 9, "2001:db8:bb::2", 5060), -1);
	CHECK_INT(allow(&t, 9, "2001:db8:bb::1", 5061), -1);
	/* the request's source as IPv6 */
	t.msg.rcv.src.in6.sin6_family = AF_INET6;
	t.msg.rcv.src.in6.sin6_port = htons(5070);
	inet_pton(AF_INET6, "2001:db8:aa:1::5", &t.msg.rcv.src.in6.sin6_addr);
	CHECK_INT(kcall(&t, M, "allow_source_address", NULL, 8L), 1);
	CHECK_INT(kcall(&t, M, "allow_source_address_group", NULL), 8);
	CHECK_INT(kcall(&t, M, "allow_source_address", NULL, 7L), -1);
	tmsg_free(&t);
	cleanup();
}

TEST(names_and_tags)
{
	tmsg_t t;
	const pv_spec_t *sp;
	char err[128];
	ksr_xval_t r;

	set_str("peer_tag_avp", "$avp(s:peer)");
	setup_file(ADDRESSES);
	tmsg_parse(&t, REQ);
	/* host names: case-insensitive, no DNS */
	CHECK_INT(allow(&t, 10, "sip.example.com", 5060), 1);
	CHECK_INT(allow(&t, 10, "SIP.Example.COM", 1), 1);
	CHECK_INT(allow(&t, 10, "example.com", 5060), -1);
	CHECK_INT(group_of(&t, "sip.example.com", 0), 10);
	CHECK_INT(group_of(&t, "other.example.com", 0), -1);
	/* each match adds its tag to the AVP */
	sp = pv_spec_cached(STR_LIT("$avp(peer)"), err, sizeof(err));
	CHECK(sp != NULL);
	pv_get(&t.ctx, sp, &r);
	CHECK_XSTR(r, "byname");
	CHECK_INT(kcall(&t, M, "allow_source_address", NULL, 1L), 1);
	pv_get(&t.ctx, sp, &r);
	CHECK_XSTR(r, "peer-a");
	CHECK_INT(pv_avp_count(&t.msg, STR_LIT("peer")), 4);
	/* no tag on the record: nothing added */
	CHECK_INT(kcall(&t, M, "allow_source_address", NULL, 2L), 1);
	CHECK_INT(pv_avp_count(&t.msg, STR_LIT("peer")), 4);
	tmsg_free(&t);
	cleanup();
}

TEST(bad_peer_tag_avp)
{
	set_str("peer_tag_avp", "$var(x)");
	CHECK_INT(M->init(), -1);
}

TEST(file_errors_at_start)
{
	/* a configured file that cannot be read or parsed stops the start */
	set_str("address_file", "/nonexistent/address.list");
	osp_g.cfg_file = "x.cfg";
	CHECK_INT(M->init(), -1);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(file, sizeof(file), "%s/address.list", dir);
	write_file(file, "1 1.2.3.4 99\n");
	set_str("address_file", file);
	CHECK_INT(M->init(), -1);
	/* max_subnets */
	write_file(file, "1 10.0.0.0 8\n1 11.0.0.0 8\n1 12.0.0.0 8\n");
	set_int("max_subnets", 2);
	CHECK_INT(M->init(), -1);
	set_int("max_subnets", 3);
	CHECK_INT(M->init(), 0);
	cleanup();
}

static const rpc_export_t *mrpc(const char *name)
{
	for (const rpc_export_t *e = M->rpc; e->name; e++)
		if (strcmp(e->name, name) == 0)
			return e;
	UNIT_FAIL("no RPC %s", name);
	return NULL;
}

TEST(reload_and_dumps)
{
	tmsg_t t;
	rpc_error_t err;
	json_t *r, *row;

	setup_file(ADDRESSES);
	tmsg_parse(&t, REQ);
	r = mrpc("permissions.addressDump")->fn(NULL, &err);
	CHECK_INT(json_array_size(r), 5);
	row = json_array_get(r, 0);
	CHECK_STR(json_string_value(json_object_get(row, "ip")), "10.9.9.9");
	CHECK_INT(json_integer_value(json_object_get(row, "group")), 11);
	CHECK_STR(json_string_value(json_object_get(row, "tag")), "NULL");
	CHECK(json_is_integer(json_object_get(row, "port")));
	json_decref(r);
	r = mrpc("permissions.subnetDump")->fn(NULL, &err);
	CHECK_INT(json_array_size(r), 5);
	row = json_array_get(r, 1);
	CHECK_STR(json_string_value(json_object_get(row, "ip")), "172.16.0.0");
	CHECK_INT(json_integer_value(json_object_get(row, "mask")), 20);
	CHECK_STR(json_string_value(json_object_get(row, "tag")), "sub20");
	json_decref(r);
	r = mrpc("permissions.domainDump")->fn(NULL, &err);
	CHECK_INT(json_array_size(r), 1);
	CHECK_STR(
	    json_string_value(json_object_get(json_array_get(r, 0), "domain")),
	    "sip.example.com");
	json_decref(r);

	/* reload: the new file replaces everything */
	write_file(file, "1 192.0.2.99\n");
	r = mrpc("permissions.addressReload")->fn(NULL, &err);
	CHECK_STR(json_string_value(r), "Reload OK");
	json_decref(r);
	CHECK_INT(kcall(&t, M, "allow_source_address", NULL, 1L), -1);
	CHECK_INT(allow(&t, 1, "192.0.2.99", 1), 1);
	CHECK_INT(allow(&t, 4, "10.1.0.1", 0), -1);
	/* a broken file: error, the previous records stay */
	write_file(file, "1 192.0.2.98\nbroken line here and more\n");
	r = mrpc("permissions.addressReload")->fn(NULL, &err);
	CHECK(r == NULL);
	CHECK_INT(err.code, 500);
	CHECK(strstr(err.message, "address.list:2") != NULL);
	CHECK_INT(allow(&t, 1, "192.0.2.99", 1), 1);
	CHECK_INT(allow(&t, 1, "192.0.2.98", 1), -1);
	tmsg_free(&t);
	cleanup();
}

TEST(sqlite_table)
{
	char path[300], url[320];
	sqlite3 *db;
	tmsg_t t;
	rpc_error_t err;
	json_t *r;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/perm.db", dir);
	snprintf(url, sizeof(url), "sqlite://%s", path);
	osp_g.cfg_file = "/nonexistent/osprey.cfg";
	set_str("db_url", url);
	/* first start: the table is created empty */
	CHECK_INT(M->init(), 0);
	tmsg_parse(&t, REQ);
	CHECK_INT(kcall(&t, M, "allow_source_address", NULL, 1L), -1);
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(
	    sqlite3_exec(db,
			 "INSERT INTO address (grp, ip_addr, mask, port, tag) "
			 "VALUES (1, '192.0.2.10', 32, 0, 'fromdb');"
			 "INSERT INTO address (grp, ip_addr, mask, port, tag) "
			 "VALUES (2, '198.51.100.0', 24, 5060, NULL);"
			 "INSERT INTO address (grp, ip_addr, mask, port, tag) "
			 "VALUES (3, 'gw.example.net', 32, 0, NULL);",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	/* nothing changes until the reload */
	CHECK_INT(kcall(&t, M, "allow_source_address", NULL, 1L), -1);
	r = mrpc("permissions.addressReload")->fn(NULL, &err);
	CHECK_STR(json_string_value(r), "Reload OK");
	json_decref(r);
	CHECK_INT(kcall(&t, M, "allow_source_address", NULL, 1L), 1);
	CHECK_INT(allow(&t, 2, "198.51.100.200", 5060), 1);
	CHECK_INT(allow(&t, 2, "198.51.100.200", 5061), -1);
	CHECK_INT(allow(&t, 3, "gw.example.net", 5061), 1);
	/* a bad row fails the reload and keeps the records */
	CHECK_INT(sqlite3_exec(db,
			       "INSERT INTO address (grp, ip_addr, mask) "
			       "VALUES (4, '10.0.0.0', 40);",
			       NULL, NULL, NULL),
		  SQLITE_OK);
	r = mrpc("permissions.addressReload")->fn(NULL, &err);
	CHECK(r == NULL && err.code == 500);
	CHECK_INT(kcall(&t, M, "allow_source_address", NULL, 1L), 1);
	sqlite3_close(db);
	tmsg_free(&t);
	cleanup();
}

static volatile int stop_readers;

static void *reader(void *arg)
{
	uint8_t ip[16];
	long bad = 0;

	perm_parse_ip(STR_LIT("192.0.2.10"), ip);
	while (!__atomic_load_n(&stop_readers, __ATOMIC_RELAXED)) {
		/* in every version of the records */
		if (perm_match(1, AF_INET, ip, STR_NULL, 5060, NULL, 0) != 1)
			bad++;
	}
	return (void *)bad;
}

TEST(reload_under_readers)
{
	pthread_t th[3];
	rpc_error_t err;
	void *rv;

	setup_file(ADDRESSES);
	for (int i = 0; i < 3; i++)
		CHECK_INT(pthread_create(&th[i], NULL, reader, NULL), 0);
	for (int i = 0; i < 100; i++) {
		json_t *r;

		write_file(file, i % 2 ? ADDRESSES : "1 192.0.2.0 24\n");
		r = mrpc("permissions.addressReload")->fn(NULL, &err);
		CHECK(r != NULL);
		json_decref(r);
	}
	__atomic_store_n(&stop_readers, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], &rv);
		CHECK(rv == NULL);
	}
	cleanup();
}

/* clang-format off */
TEST_LIST(
	TEST_ENTRY(file_format_errors),
	TEST_ENTRY(exact_and_ports),
	TEST_ENTRY(cidr_v4),
	TEST_ENTRY(cidr_v6),
	TEST_ENTRY(names_and_tags),
	TEST_ENTRY(bad_peer_tag_avp),
	TEST_ENTRY(file_errors_at_start),
	TEST_ENTRY(reload_and_dumps),
	TEST_ENTRY(sqlite_table),
	TEST_ENTRY(reload_under_readers),
)
/* clang-format on */
