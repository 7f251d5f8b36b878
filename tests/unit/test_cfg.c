/* test_cfg.c - the configuration front end (src/core/cfg*.c) on its own:
 * fake modules stand in for the real ones. Each test runs in its own
 * process, in a fresh temporary directory (the current directory). */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/globals.h"
#include "core/log.h"
#include "core/module.h"
#include "sip/msg.h"
#include "unit.h"

/* ---- fake modules ---- */

static int sl_bind_tm = 1;
static int tm_fr_timer = 30000;
static int tm_offset = 0;
static char *ul_db_url;
static char *auth_db_url;
static char *lua_loads[8];
static int n_lua_loads;

static int lua_load_set(const char *param, int type, const char *sval,
			long ival, char *err, size_t errlen)
{
	if (n_lua_loads == 8) {
		snprintf(err, errlen, "too many scripts");
		return -1;
	}
	lua_loads[n_lua_loads++] = strdup(sval);
	return 0;
}

static const osp_param_t sl_params[] = {
    {"bind_tm", MP_INT, &sl_bind_tm, NULL},
    {NULL, 0, NULL, NULL},
};
static const osp_param_t tm_params[] = {
    {"fr_timer", MP_INT, &tm_fr_timer, NULL},
    {"offset", MP_INT, &tm_offset, NULL},
    {NULL, 0, NULL, NULL},
};
static const osp_param_t ul_params[] = {
    {"db_url", MP_STR, &ul_db_url, NULL},
    {NULL, 0, NULL, NULL},
};
static const osp_param_t auth_db_params[] = {
    {"db_url", MP_STR, &auth_db_url, NULL},
    {NULL, 0, NULL, NULL},
};
static const osp_param_t lua_params[] = {
    {"load", MP_STR, NULL, lua_load_set},
    {NULL, 0, NULL, NULL},
};

static osp_module_t mod_sl = {.name = "sl", .params = sl_params};
static osp_module_t mod_tm = {.name = "tm", .params = tm_params};
static osp_module_t mod_usrloc = {.name = "usrloc", .params = ul_params};
static osp_module_t mod_auth_db = {.name = "auth_db", .params = auth_db_params};
static osp_module_t mod_app_lua = {.name = "app_lua", .params = lua_params};
static osp_module_t mod_pv = {.name = "pv", .always = 1};

osp_module_t *osp_modules[] = {&mod_sl,	     &mod_tm, &mod_usrloc, &mod_auth_db,
			       &mod_app_lua, &mod_pv, NULL};

/* module.c refers to these; the cfg code never calls them */
int ksr_registry_add(const ksr_export_t *table)
{
	return 0;
}

int rpc_register(const rpc_export_t *table)
{
	return 0;
}

/* ---- helpers ---- */

static char err[512];

static char tmpdir[64];

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	return remove(path);
}

static void rm_tmpdir(void)
{
	if (tmpdir[0] && chdir("/") == 0)
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh state, in a temporary directory (one per test process, removed
 * when it exits) made the current directory. */
static void in_tmpdir(void)
{
	if (!tmpdir[0]) {
		strcpy(tmpdir, "/tmp/osp-test-cfg-XXXXXX");
		CHECK(mkdtemp(tmpdir) != NULL);
		CHECK(chdir(tmpdir) == 0);
		atexit(rm_tmpdir);
	}
	globals_defaults(&osp_g);
	cfg_free();
	for (osp_module_t **m = osp_modules; *m; m++)
		(*m)->loaded = 0;
	sl_bind_tm = 1;
	tm_fr_timer = 30000;
	tm_offset = 0;
	ul_db_url = auth_db_url = NULL;
	n_lua_loads = 0;
	osp_log_level = L_ERR; /* keep warnings about ignored params quiet */
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	CHECK(fputs(text, f) >= 0);
	CHECK(fclose(f) == 0);
}

/* Load text as main.cfg; returns cfg_load's result, message in err. */
static int load(const char *text)
{
	write_file("main.cfg", text);
	err[0] = '\0';
	return cfg_load("main.cfg", err, sizeof(err));
}

/* The config must fail with exactly this message. */
#define CHECK_FAILS(text, msg)                                                 \
	do {                                                                   \
		in_tmpdir();                                                   \
		CHECK_INT(load(text), -1);                                     \
		CHECK_STR(err, msg);                                           \
	} while (0)

static const cfg_tok_t *tok(const cfg_route_t *r, size_t i)
{
	CHECK(i < r->ntoks);
	return &r->toks[i];
}

/* A test whose temporary directory is removed when it passes (a failing
 * test exits through exit(), which runs rm_tmpdir too). */
#define CFG_TEST(name)                                                         \
	static void name##_body(void);                                         \
	TEST(name)                                                             \
	{                                                                      \
		name##_body();                                                 \
		rm_tmpdir();                                                   \
	}                                                                      \
	static void name##_body(void)

/* ---- tests ---- */

static const char full_cfg[] =
    "#!KAMAILIO\n"
    "# a comment\n"
    "// another one\n"
    "/* a block /* nested */ comment\n"
    "   over lines */\n"
    "#!define WITH_AUTH\n"
    "#!define DBURL \"sqlite:///var/lib/osprey/db.sqlite\"\n"
    "#!define FLT_ACC 1 # a comment after a value\n"
    "#!trydef FLT_ACC 7\n"
    "#!define LONG one \\\n"
    "   two\n"
    "!!define BANG 3\n"
    "#!define TMP 1\n"
    "#!redefine TMP 2\n"
    "#!ifndef WITH_NAT\n"
    "#!define NO_NAT\n"
    "#!endif\n"
    "\n"
    "debug=1\n"
    "log_stderror=no\n"
    "log_facility=LOG_LOCAL0\n"
    "log_prefix=\"{$mt $hdr(CSeq) $ci} \"\n"
    "memdbg=5; memlog=5\n"
    "fork=yes\n"
    "latency_log=2\n"
    "children=4\n"
    "port = 5070;\n"
    "listen=udp:127.0.0.1:5060\n"
    "listen=tcp:[::1]:5061 advertise 203.0.113.1:5080\n"
    "listen=10.0.0.1\n"
    "alias=\"sip.example.com\"\n"
    "alias=example.org:5060 [2001:db8::1]:5062\n"
    "auto_aliases=no\n"
    "disable_tcp=yes\n"
    "tcp_accept_no_cl=yes\n"
    "tcp_connection_lifetime=3605\n"
    "tcp_max_msg_size=131072\n"
    "tcp_connect_timeout=5\n"
    "sip_warning=1\n"
    "server_header=\"Server: Test Proxy\"\n"
    "server_signature=no\n"
    "user_agent_header=\"User-Agent: Test UA\"\n"
    "rpc_socket=\"/tmp/osprey.sock\"\n"
    "rpc_socket_group=\"sip\"\n"
    "kemi.reply_route_callback=\"my_reply\"\n"
    "kemi.onsend_route_callback=\"none\"\n"
    "kemi.event_route_callback=\"my_event\"\n"
    "pstn.gw_ip = \"10.1.1.1\" desc \"My PSTN GW Address\"\n"
    "pstn.gw_port = 5066\n"
    "\n"
    "mpath=\"/usr/lib/x86_64-linux-gnu/kamailio/modules/\"\n"
    "loadmodule \"sl.so\"\n"
    "loadmodule \"tm\"\n"
    "loadmodule \"/usr/lib/kamailio/modules/usrloc.so\"\n"
    "loadmodule \"auth_db.so\"\n"
    "loadmodule \"app_lua.so\"\n"
    "modparam(\"sl\", \"bind_tm\", no)\n"
    "modparam(\"tm\", \"fr_timer\", 0x10)\n"
    "modparam(\"tm\", \"offset\", -5);\n"
    "modparam(\"auth_db|usrloc\", \"db_url\", DBURL)\n"
    "modparam(\"app_lua\", \"load\", \"/etc/osprey/\" \"a.lua\")\n"
    "modparam(\"app_lua\", \"load\",\n"
    "         '/etc/osprey/b.lua')\n"
    "cfgengine \"lua\"\n"
    "\n"
    "request_route {\n"
    "	route(AUTH);\n"
    "}\n"
    "route[AUTH] {\n"
    "#!ifdef WITH_AUTH\n"
    "	setflag(FLT_ACC);\n"
    "#!endif\n"
    "}\n"
    "failure_route[MANAGE_FAILURE] { exit; }\n"
    "branch_route[MANAGE_BRANCH] { }\n"
    "onreply_route[MANAGE_REPLY] { }\n"
    "onreply_route { }\n"
    "reply_route { }\n"
    "onsend_route { }\n"
    "event_route[tm:local-request] { }\n";

CFG_TEST(full_config)
{
	const char *v;
	long n;

	in_tmpdir();
	if (load(full_cfg) != 0)
		UNIT_FAIL("load: %s", err);
	/* globals */
	CHECK_INT(osp_g.log_level, 1);
	CHECK_INT(osp_log_level, 1);
	CHECK_STR(osp_g.log_prefix, "{$mt $hdr(CSeq) $ci} ");
	CHECK_INT(osp_g.workers, 4);
	CHECK_INT(osp_g.port, 5070);
	CHECK_INT(osp_g.n_listen, 3);
	CHECK_INT(osp_g.listen[0].proto, SIP_PROTO_UDP);
	CHECK_STR(osp_g.listen[0].host, "127.0.0.1");
	CHECK_INT(osp_g.listen[0].port, 5060);
	CHECK_INT(osp_g.listen[1].proto, SIP_PROTO_TCP);
	CHECK_STR(osp_g.listen[1].host, "::1");
	CHECK_INT(osp_g.listen[1].port, 5061);
	CHECK_STR(osp_g.listen[1].adv_host, "203.0.113.1");
	CHECK_INT(osp_g.listen[1].adv_port, 5080);
	CHECK_INT(osp_g.listen[2].proto, 0);
	CHECK_STR(osp_g.listen[2].host, "10.0.0.1");
	CHECK_INT(osp_g.listen[2].port, 0);
	CHECK_INT(osp_g.n_alias, 3);
	CHECK_STR(osp_g.alias[0], "sip.example.com");
	CHECK_STR(osp_g.alias[1], "example.org:5060");
	CHECK_STR(osp_g.alias[2], "[2001:db8::1]:5062");
	CHECK_INT(osp_g.auto_aliases, 0);
	CHECK_INT(osp_g.disable_tcp, 1);
	CHECK_INT(osp_g.tcp_accept_no_cl, 1);
	CHECK_INT(osp_g.tcp_idle, 3605);
	CHECK_INT(osp_g.tcp_max_msg, 131072);
	CHECK_INT(osp_g.tcp_connect_timeout, 5000);
	CHECK_INT(osp_g.sip_warning, 1);
	CHECK_STR(osp_g.server_signature_str, "Server: Test Proxy");
	CHECK_INT(osp_g.server_header, 0);
	CHECK_STR(osp_g.user_agent_str, "User-Agent: Test UA");
	CHECK_STR(osp_g.rpc_socket, "/tmp/osprey.sock");
	CHECK_STR(osp_g.rpc_group, "sip");
	CHECK_STR(osp_g.reply_route_cb, "my_reply");
	CHECK(osp_g.onsend_route_cb == NULL);
	CHECK_STR(osp_g.event_route_cb, "my_event");
	CHECK_STR(osp_g.request_route_cb, "ksr_request_route");
	CHECK_STR(osp_g.engine, "lua");
	CHECK(cfg_custom("pstn.gw_ip", &v, &n) == 1);
	CHECK_STR(v, "10.1.1.1");
	CHECK(cfg_custom("pstn.gw_port", &v, &n) == 1);
	CHECK(v == NULL);
	CHECK_INT(n, 5066);
	CHECK(cfg_custom("pstn.nothing", &v, &n) == 0);
	/* modules and their parameters */
	CHECK(mod_sl.loaded && mod_tm.loaded && mod_usrloc.loaded);
	CHECK(mod_auth_db.loaded && mod_app_lua.loaded);
	CHECK_INT(sl_bind_tm, 0);
	CHECK_INT(tm_fr_timer, 16);
	CHECK_INT(tm_offset, -5);
	CHECK_STR(ul_db_url, "sqlite:///var/lib/osprey/db.sqlite");
	CHECK_STR(auth_db_url, "sqlite:///var/lib/osprey/db.sqlite");
	CHECK_INT(n_lua_loads, 2);
	CHECK_STR(lua_loads[0], "/etc/osprey/a.lua");
	CHECK_STR(lua_loads[1], "/etc/osprey/b.lua");
	/* defines */
	CHECK(cfg_defined("WITH_AUTH", &v) && !strcmp(v, ""));
	CHECK(cfg_defined("DBURL", &v));
	CHECK_STR(v, "\"sqlite:///var/lib/osprey/db.sqlite\"");
	CHECK(cfg_defined("FLT_ACC", &v));
	CHECK_STR(v, "1 # a comment after a value");
	CHECK(cfg_defined("LONG", &v));
	CHECK_STR(v, "one    two");
	CHECK(cfg_defined("BANG", &v) && !strcmp(v, "3"));
	CHECK(cfg_defined("TMP", &v) && !strcmp(v, "2"));
	CHECK(cfg_defined("NO_NAT", NULL));
	CHECK(!cfg_defined("WITH_NAT", NULL));
	CHECK(cfg_defined("MOD_tm", NULL) && cfg_defined("MOD_usrloc", NULL));
	CHECK(cfg_defined("OSPREY", NULL));
	/* routes */
	CHECK(cfg_has_routes());
	CHECK(cfg_route_find(CFG_RT_REQUEST, NULL) != NULL);
	CHECK(cfg_route_find(CFG_RT_ROUTE, "AUTH") != NULL);
	CHECK(cfg_route_find(CFG_RT_FAILURE, "MANAGE_FAILURE") != NULL);
	CHECK(cfg_route_find(CFG_RT_BRANCH, "MANAGE_BRANCH") != NULL);
	CHECK(cfg_route_find(CFG_RT_ONREPLY, "MANAGE_REPLY") != NULL);
	CHECK(cfg_route_find(CFG_RT_ONREPLY, NULL) != NULL);
	CHECK(cfg_route_find(CFG_RT_REPLY, NULL) != NULL);
	CHECK(cfg_route_find(CFG_RT_ONSEND, NULL) != NULL);
	CHECK(cfg_route_find(CFG_RT_EVENT, "tm:local-request") != NULL);
	CHECK(cfg_route_find(CFG_RT_ROUTE, "NOPE") == NULL);
	cfg_free();
	CHECK(!cfg_has_routes());
	CHECK(!cfg_defined("WITH_AUTH", NULL));
}

CFG_TEST(route_tokens)
{
	const cfg_route_t *r;
	int count = 0;

	/* route[0] is the request route: defined twice */
	CHECK_FAILS("request_route {\n}\n"
		    "route[0] { exit; }\n",
		    "main.cfg:3:1: request_route is defined twice (first at "
		    "main.cfg:1:1)");

	in_tmpdir();
	if (load("#!define FLT_ACC 1\n"
		 "#!define GREETING \"hello\"\n"
		 "request_route {\n"
		 "\tif (is_method(\"INVITE\") && $rU=~\"^1\") {\n"
		 "\t\tsetflag(FLT_ACC); xlog(\"L_INFO\", GREETING);\n"
		 "#!ifdef NOT_DEFINED\n"
		 "\t\tdrop;\n"
		 "#!else\n"
		 "\t\t$var(x) = $(ru{s.len}) + -2;\n"
		 "#!endif\n"
		 "\t}\n"
		 "}\n"
		 "route[\"x\"] { }\n") != 0)
		UNIT_FAIL("load: %s", err);
	r = cfg_routes();
	CHECK(r != NULL);
	CHECK_INT(r->type, CFG_RT_REQUEST);
	CHECK(r->name == NULL);
	CHECK_STR(r->file, "main.cfg");
	CHECK_INT(r->line, 3);
	CHECK_INT(r->col, 1);
	/* if ( is_method ( "INVITE" ) && $rU =~ "^1" ) { */
	CHECK_INT(tok(r, 0)->kind, CFG_T_ID);
	CHECK_STR(tok(r, 0)->text, "if");
	CHECK_INT(tok(r, 0)->line, 4);
	CHECK_INT(tok(r, 0)->col, 2);
	CHECK_INT(tok(r, 0)->space, 2);
	CHECK_STR(tok(r, 1)->text, "(");
	CHECK_INT(tok(r, 1)->col, 5);
	CHECK_STR(tok(r, 2)->text, "is_method");
	CHECK_INT(tok(r, 2)->space, 0);
	CHECK_INT(tok(r, 4)->kind, CFG_T_STR);
	CHECK_STR(tok(r, 4)->text, "INVITE");
	CHECK_INT(tok(r, 4)->col, 16);
	CHECK_INT(tok(r, 6)->kind, CFG_T_OP);
	CHECK_STR(tok(r, 6)->text, "&&");
	CHECK_INT(tok(r, 7)->kind, CFG_T_PVAR);
	CHECK_STR(tok(r, 7)->text, "$rU");
	CHECK_STR(tok(r, 8)->text, "=~");
	CHECK_STR(tok(r, 9)->text, "^1");
	CHECK_STR(tok(r, 11)->text, "{");
	/* setflag ( FLT_ACC ) ; : the define became a number, at its use */
	CHECK_STR(tok(r, 12)->text, "setflag");
	CHECK_INT(tok(r, 14)->kind, CFG_T_NUM);
	CHECK_INT(tok(r, 14)->num, 1);
	CHECK_INT(tok(r, 14)->line, 5);
	CHECK_INT(tok(r, 14)->col, 11);
	CHECK_STR(tok(r, 16)->text, ";");
	/* xlog ( "L_INFO" , "hello" ) ; */
	CHECK_STR(tok(r, 17)->text, "xlog");
	CHECK_INT(tok(r, 17)->space, 1);
	CHECK_INT(tok(r, 21)->kind, CFG_T_STR);
	CHECK_STR(tok(r, 21)->text, "hello");
	CHECK_INT(tok(r, 21)->col, 36);
	/* the #!else branch: $var(x) = $(ru{s.len}) + - 2 ; */
	CHECK_INT(tok(r, 24)->kind, CFG_T_PVAR);
	CHECK_STR(tok(r, 24)->text, "$var(x)");
	CHECK_INT(tok(r, 24)->line, 9);
	CHECK_STR(tok(r, 25)->text, "=");
	CHECK_STR(tok(r, 26)->text, "$(ru{s.len})");
	CHECK_STR(tok(r, 27)->text, "+");
	CHECK_STR(tok(r, 28)->text, "-");
	CHECK_INT(tok(r, 29)->num, 2);
	CHECK_STR(tok(r, 30)->text, ";");
	CHECK_STR(tok(r, 31)->text, "}");
	CHECK_INT(tok(r, 31)->line, 11);
	CHECK_INT(r->ntoks, 32);
	r = r->next;
	CHECK(r != NULL);
	CHECK_INT(r->type, CFG_RT_ROUTE);
	CHECK_STR(r->name, "x");
	CHECK_INT(r->ntoks, 0);
	for (r = cfg_routes(); r; r = r->next)
		count++;
	CHECK_INT(count, 2);
}

CFG_TEST(no_routes)
{
	in_tmpdir();
	if (load("route[A] { }\n") != 0)
		UNIT_FAIL("load: %s", err);
	CHECK(cfg_has_routes());
	/* a new load replaces the current configuration */
	if (load("port=5060\n") != 0)
		UNIT_FAIL("load: %s", err);
	CHECK(!cfg_has_routes());
	CHECK(cfg_routes() == NULL);
	/* a failed load keeps it */
	CHECK_INT(load("route[B] { }\nport=x\n"), -1);
	CHECK(!cfg_has_routes());
}

CFG_TEST(kamailio_params_accepted)
{
	in_tmpdir();
	if (load("tcp_children=8\n"
		 "dns_try_ipv6=no\n"
		 "udp_mtu_try_proto = TCP|TLS|SCTP|UDP\n"
		 "shm_mem_size = 64;\n"
		 "enable_tls=yes\n"
		 "user=\"kamailio\"\n"
		 "kemi.received_route_callback=\"ksr_received\"\n"
		 "children=2\n") != 0)
		UNIT_FAIL("load: %s", err);
	CHECK_INT(osp_g.workers, 2);
}

CFG_TEST(nested_ifdef)
{
	in_tmpdir();
	if (load("#!define A\n"
		 "#!ifdef A\n"
		 "  #!ifdef B\n"
		 "    port=1\n"
		 "    #!ifdef A\n"
		 "      port=2\n"
		 "    #!endif\n"
		 "  #!else\n"
		 "    #!ifndef B\n"
		 "      children=3\n"
		 "      #!ifdef A\n"
		 "        port=4\n"
		 "      #!else\n"
		 "        port=5\n"
		 "      #!endif\n"
		 "    #!endif\n"
		 "  #!endif\n"
		 "#!else\n"
		 "  port=6\n"
		 "  #!ifdef A\n"
		 "  port=7\n"
		 "  #!endif\n"
		 "#!endif\n"
		 "#!ifndef A\n"
		 "children=9 # this line is skipped, with \"an unterminated\n"
		 "#!endif\n") != 0)
		UNIT_FAIL("load: %s", err);
	CHECK_INT(osp_g.port, 4);
	CHECK_INT(osp_g.workers, 3);
}

CFG_TEST(command_line_defines)
{
	in_tmpdir();
	osp_g.defines[osp_g.n_defines++] = "WITH_DEBUG";
	osp_g.defines[osp_g.n_defines++] = "DBURL=\"mysql://u:p@db/kam\"";
	osp_g.defines[osp_g.n_defines++] = "NWORKERS=6";
	if (load("#!ifdef WITH_DEBUG\n"
		 "debug=3\n"
		 "#!endif\n"
		 "#!trydef NWORKERS 2\n"
		 "children=NWORKERS\n"
		 "loadmodule \"usrloc\"\n"
		 "modparam(\"usrloc\", \"db_url\", DBURL)\n") != 0)
		UNIT_FAIL("load: %s", err);
	CHECK_INT(osp_g.log_level, 3);
	CHECK_INT(osp_g.workers, 6);
	CHECK_STR(ul_db_url, "mysql://u:p@db/kam");

	/* a #!define of a name given with -A is an error, as in Kamailio */
	in_tmpdir();
	osp_g.defines[osp_g.n_defines++] = "WITH_NAT";
	CHECK_INT(load("\n#!define WITH_NAT\n"), -1);
	CHECK_STR(err, "main.cfg:2:1: 'WITH_NAT' is already defined (use "
		       "#!redefine to change it or #!trydef to keep it)");

	in_tmpdir();
	osp_g.defines[osp_g.n_defines++] = "BAD-NAME";
	CHECK_INT(load("port=5060\n"), -1);
	CHECK_STR(err, "-A BAD-NAME: a define name is made of letters, digits "
		       "and '_'");
}

CFG_TEST(define_in_modparam_and_listen)
{
	in_tmpdir();
	if (load("#!define DBURL \"postgres://osprey@localhost/osprey\"\n"
		 "#!define MY_IP 192.0.2.10\n"
		 "#!define MY_PORT 5090\n"
		 "#!define LISTEN_ALL udp:MY_IP:MY_PORT tcp:MY_IP:MY_PORT\n"
		 "#!define FR 12000\n"
		 "#!define NEG -3\n"
		 "listen=LISTEN_ALL\n"
		 "listen=tls:MY_IP:5061 advertise \"sip.example.com\":MY_PORT\n"
		 "loadmodule \"usrloc.so\"\nloadmodule \"tm.so\"\n"
		 "modparam(\"usrloc\", \"db_url\", DBURL)\n"
		 "modparam(\"tm\", \"fr_timer\", FR)\n"
		 "modparam(\"tm\", \"offset\", NEG)\n") != 0)
		UNIT_FAIL("load: %s", err);
	CHECK_STR(ul_db_url, "postgres://osprey@localhost/osprey");
	CHECK_INT(tm_fr_timer, 12000);
	CHECK_INT(tm_offset, -3);
	CHECK_INT(osp_g.n_listen, 3);
	CHECK_INT(osp_g.listen[0].proto, SIP_PROTO_UDP);
	CHECK_STR(osp_g.listen[0].host, "192.0.2.10");
	CHECK_INT(osp_g.listen[0].port, 5090);
	CHECK_INT(osp_g.listen[1].proto, SIP_PROTO_TCP);
	CHECK_STR(osp_g.listen[1].host, "192.0.2.10");
	CHECK_INT(osp_g.listen[2].proto, SIP_PROTO_TLS);
	CHECK_INT(osp_g.listen[2].port, 5061);
	CHECK_STR(osp_g.listen[2].adv_host, "sip.example.com");
	CHECK_INT(osp_g.listen[2].adv_port, 5090);
}

CFG_TEST(listen_forms)
{
	in_tmpdir();
	if (load("listen=udp:[2001:db8::5]:5060\n"
		 "listen=[::1]\n"
		 "listen=::1\n"
		 "listen=tcp:eth0:5062 advertise 198.51.100.7\n"
		 "listen=ws:127.0.0.1:8080 name \"ws0\"\n"
		 "listen=UDP:sip-1.example.com:5070;\n"
		 "listen=127.0.0.1:5080 udp:127.0.0.2\n") != 0)
		UNIT_FAIL("load: %s", err);
	CHECK_INT(osp_g.n_listen, 8);
	CHECK_INT(osp_g.listen[0].proto, SIP_PROTO_UDP);
	CHECK_STR(osp_g.listen[0].host, "2001:db8::5");
	CHECK_INT(osp_g.listen[0].port, 5060);
	CHECK_INT(osp_g.listen[1].proto, 0);
	CHECK_STR(osp_g.listen[1].host, "::1");
	CHECK_INT(osp_g.listen[1].port, 0);
	CHECK_STR(osp_g.listen[2].host, "::1");
	CHECK_INT(osp_g.listen[2].port, 0);
	CHECK_INT(osp_g.listen[3].proto, SIP_PROTO_TCP);
	CHECK_STR(osp_g.listen[3].host, "eth0");
	CHECK_INT(osp_g.listen[3].port, 5062);
	CHECK_STR(osp_g.listen[3].adv_host, "198.51.100.7");
	CHECK_INT(osp_g.listen[3].adv_port, 0);
	CHECK_INT(osp_g.listen[4].proto, SIP_PROTO_WS);
	CHECK_INT(osp_g.listen[4].port, 8080);
	CHECK_INT(osp_g.listen[5].proto, SIP_PROTO_UDP);
	CHECK_STR(osp_g.listen[5].host, "sip-1.example.com");
	CHECK_INT(osp_g.listen[5].port, 5070);
	CHECK_INT(osp_g.listen[6].proto, 0);
	CHECK_STR(osp_g.listen[6].host, "127.0.0.1");
	CHECK_INT(osp_g.listen[6].port, 5080);
	CHECK_INT(osp_g.listen[7].proto, SIP_PROTO_UDP);
	CHECK_STR(osp_g.listen[7].host, "127.0.0.2");

	CHECK_FAILS("listen=udp:127.0.0.1:99999\n",
		    "main.cfg:1:8: listen: invalid port '99999' in "
		    "'udp:127.0.0.1:99999'");
	CHECK_FAILS("listen=udp:[::1:5060\n",
		    "main.cfg:1:8: listen: missing ']' in 'udp:[::1:5060'");
	CHECK_FAILS("listen=\nport=5060\n",
		    "main.cfg:2:1: expected proto:address:port, got 'port'");
	CHECK_FAILS("listen=udp:1.2.3.4 advertise\n",
		    "main.cfg:2:1: expected address[:port] after advertise, "
		    "got end of file");
}

CFG_TEST(includes)
{
	in_tmpdir();
	CHECK(mkdir("sub", 0755) == 0);
	CHECK(mkdir("sub/more", 0755) == 0);
	/* next to the including file first, then the current directory */
	write_file("sub/near.cfg",
		   "port=5001\ninclude_file \"more/deep.cfg\"\n");
	write_file("near.cfg", "port=9999\n");
	write_file("sub/more/deep.cfg", "#!define DEEP 1\nchildren=DEEP\n");
	write_file("cwd_only.cfg", "alias=cwd.example.com\n");
	write_file("sub/main.cfg", "include_file \"near.cfg\"\n"
				   "#!include_file \"cwd_only.cfg\"\n"
				   "import_file \"missing.cfg\"\n"
				   "!!import_file \"more/deep2.cfg\"\n"
				   "debug=DEEP\n"
				   "request_route {\n"
				   "  include_file \"body.cfg\"\n"
				   "}\n");
	write_file("sub/body.cfg", "exit;\n");
	if (cfg_load("sub/main.cfg", err, sizeof(err)) != 0)
		UNIT_FAIL("load: %s", err);
	CHECK_INT(osp_g.port, 5001);
	CHECK_INT(osp_g.workers, 1);
	CHECK_INT(osp_g.log_level, 1);
	CHECK_INT(osp_g.n_alias, 1);
	CHECK_STR(osp_g.alias[0], "cwd.example.com");
	CHECK(cfg_routes() != NULL);
	CHECK_INT(cfg_routes()->ntoks, 2);
	CHECK_STR(cfg_routes()->toks[0].text, "exit");
	CHECK_STR(cfg_routes()->toks[0].file, "sub/body.cfg");
	CHECK_INT(cfg_routes()->toks[0].line, 1);

	/* errors in an included file carry its name */
	in_tmpdir();
	write_file("inc.cfg", "\n\n  bogus=1\n");
	CHECK_INT(load("port=5060\ninclude_file \"inc.cfg\"\n"), -1);
	CHECK_STR(err, "inc.cfg:3:3: unknown global parameter 'bogus'");

	CHECK_FAILS("port=5060\n  include_file \"x.cfg\"\n",
		    "main.cfg:2:16: include_file: cannot open 'x.cfg': No "
		    "such file or directory");
	CHECK_FAILS("include_file x.cfg\n",
		    "main.cfg:1:14: include_file: expected a file name in "
		    "quotes");

	in_tmpdir();
	write_file("loop.cfg", "include_file \"loop.cfg\"\n");
	CHECK_INT(load("include_file \"loop.cfg\"\n"), -1);
	CHECK_STR(err, "loop.cfg:1:14: include_file: files nested too deeply "
		       "(max 10; does a file include itself?)");

	/* an #!ifdef must be closed in the file that opens it */
	in_tmpdir();
	write_file("open.cfg", "#!ifdef OSPREY\nport=5062\n");
	CHECK_INT(load("include_file \"open.cfg\"\n#!endif\n"), -1);
	CHECK_STR(err, "open.cfg:1:1: #!ifdef without #!endif");
}

CFG_TEST(errors)
{
	CHECK_FAILS("loadmodule \"sl.so\"\n\nloadmodule \"foo.so\"\n",
		    "main.cfg:3:12: unknown module 'foo.so' in loadmodule");
	CHECK_FAILS("port=5060\n  bogus = 1\n",
		    "main.cfg:2:3: unknown global parameter 'bogus'");
	CHECK_FAILS("kemi.nothing = \"x\"\n",
		    "main.cfg:1:6: unknown global parameter 'kemi.nothing'");
	CHECK_FAILS("port=5060 children=4\n",
		    "main.cfg:1:11: expected ';' or a line break before "
		    "'children'");
	CHECK_FAILS("loadmodule \"sl\" loadmodule \"tm\"\n",
		    "main.cfg:1:17: expected ';' or a line break before "
		    "'loadmodule'");
	CHECK_FAILS("port=5060\nlog_prefix=\"abc\n\n",
		    "main.cfg:2:12: unterminated string");
	CHECK_FAILS("log_prefix='abc\n", "main.cfg:1:12: unterminated string");
	CHECK_FAILS("port=5060\n/* open\n comment\n",
		    "main.cfg:2:1: unterminated comment (missing '*/')");
	CHECK_FAILS("port=5060\n#!endif\n",
		    "main.cfg:2:1: #!endif without #!ifdef");
	CHECK_FAILS("\n  #!else\n", "main.cfg:2:3: #!else without #!ifdef");
	CHECK_FAILS("#!ifdef OSPREY\n#!else\n#!else\n#!endif\n",
		    "main.cfg:3:1: second #!else for the same #!ifdef");
	CHECK_FAILS("#!ifndef OSPREY\n#!else\n#!else\n#!endif\n",
		    "main.cfg:3:1: second #!else for the same #!ifdef");
	CHECK_FAILS("port=1\n#!ifdef NOPE\nport=2\n",
		    "main.cfg:2:1: #!ifdef without #!endif");
	CHECK_FAILS("#!ifdef OSPREY\nport=2\n",
		    "main.cfg:1:1: #!ifdef without #!endif");
	CHECK_FAILS("#!ifdef\n", "main.cfg:1:8: #!ifdef: expected a name");
	CHECK_FAILS("#!ifdef A B\n#!endif\n",
		    "main.cfg:1:11: unexpected text after #!ifdef A");
	CHECK_FAILS("#!define A 1\n#!define A 2\n",
		    "main.cfg:2:1: 'A' is already defined (use #!redefine to "
		    "change it or #!trydef to keep it)");
	CHECK_FAILS("#!define MY-NAME 1\n",
		    "main.cfg:1:12: #!define: invalid character '-' in the "
		    "name 'MY' (letters, digits and '_' only)");
	CHECK_FAILS("#!ifdeff X\n",
		    "main.cfg:1:1: unknown preprocessor directive '#!ifdeff'");
	CHECK_FAILS("#!ifexp A == 1\n",
		    "main.cfg:1:1: #!ifexp is not supported by Osprey");
	CHECK_FAILS("port=\"5060\"\n",
		    "main.cfg:1:6: port expects a number, got \"5060\"");
	CHECK_FAILS("port=70000\n",
		    "main.cfg:1:6: port must be between 1 and 65535, got "
		    "70000");
	CHECK_FAILS("port 5060\n",
		    "main.cfg:1:6: expected '=' after the parameter name, got "
		    "'5060'");
	CHECK_FAILS("log_prefix=12\n",
		    "main.cfg:1:12: log_prefix expects a string in quotes, got "
		    "'12'");
	CHECK_FAILS("server_header=\"Osprey\"\n",
		    "main.cfg:1:15: server_header must be a whole header on "
		    "one line, e.g. \"Server: Osprey\"");
	CHECK_FAILS("port=5060\n{\n",
		    "main.cfg:2:1: unexpected '{': expected a global "
		    "parameter, loadmodule, modparam or a route block");
	CHECK_FAILS("port=5060`\n", "main.cfg:1:10: unexpected character '`'");
	CHECK_FAILS("modparam(\"nomod\", \"x\", 1)\n",
		    "main.cfg:1:10: unknown module 'nomod' in modparam");
	CHECK_FAILS("modparam(\"tm\", \"fr_timer\", 1)\n",
		    "main.cfg:1:10: modparam: module 'tm' is not loaded "
		    "(loadmodule \"tm.so\" must come first)");
	CHECK_FAILS("loadmodule \"tm.so\"\nmodparam(\"tm\", \"nope\", 1)\n",
		    "main.cfg:2:16: modparam: module 'tm' has no parameter "
		    "'nope'");
	CHECK_FAILS("loadmodule \"tm.so\"\nmodparam(\"tm\", \"fr_timer\", "
		    "\"soon\")\n",
		    "main.cfg:2:28: modparam: tm.fr_timer expects an integer, "
		    "got \"soon\"");
	CHECK_FAILS("loadmodule \"usrloc.so\"\n"
		    "modparam(\"usrloc\", \"db_url\", 5)\n",
		    "main.cfg:2:30: modparam: usrloc.db_url expects a string, "
		    "got 5");
	CHECK_FAILS("loadmodule \"usrloc.so\"\n"
		    "modparam(\"usrloc\", \"db_url\", DBURL)\n",
		    "main.cfg:2:30: modparam: expected a string or a number, "
		    "got 'DBURL' (not a defined name)");
	CHECK_FAILS("loadmodule \"tm.so\"\nmodparam(\"tm\", \"fr_timer\" 1)\n",
		    "main.cfg:2:27: expected ',' after the parameter name, got "
		    "'1'");
	CHECK_FAILS("loadmodule \"tm.so\"\nmodparam(\"tm\", \"fr_timer\", 1\n",
		    "main.cfg:3:1: expected ')' at the end of modparam, got "
		    "end of file");
	CHECK_FAILS("request_route {\n  if (x) {\n    exit;\n",
		    "main.cfg:1:15: unterminated request_route block: missing "
		    "'}'");
	CHECK_FAILS("route[A] { }\nroute[A] { }\n",
		    "main.cfg:2:1: route[A] is defined twice (first at "
		    "main.cfg:1:1)");
	CHECK_FAILS("failure_route { }\n",
		    "main.cfg:1:1: failure_route needs a name: "
		    "failure_route[NAME] { ... }");
	CHECK_FAILS("request_route[X] { }\n",
		    "main.cfg:1:14: request_route takes no name: request_route "
		    "{ ... }");
	CHECK_FAILS("route[A] exit;\n",
		    "main.cfg:1:10: expected '{' after route[A], got 'exit'");
	CHECK_FAILS("request_route { $var(x }\n",
		    "main.cfg:1:17: unterminated pseudo-variable (missing "
		    "')')");
	CHECK_FAILS("#!subst \"/a/b\"\n",
		    "main.cfg:1:9: #!subst: expected \"/regexp/replacement/"
		    "flags\"");
	CHECK_FAILS("#!define A A\nport=A\n",
		    "main.cfg:2:6: port expects a number, got 'A'");
	CHECK_FAILS("cfgengine\n",
		    "main.cfg:2:1: cfgengine: expected an engine name in "
		    "quotes, e.g. cfgengine \"lua\"");
}

CFG_TEST(strings)
{
	const cfg_route_t *r;

	in_tmpdir();
	if (load("log_prefix=\"a\\tb\\n\\\"q\\\" \\\\ \\x41\\101 \\1\"\n"
		 "request_route {\n"
		 "  xlog('raw \\n $ru');\n"
		 "  xlog(\"one \"\n"
		 "       \"two \" 'three');\n"
		 "  xlog(\"joined \\\n"
		 "line\");\n"
		 "}\n") != 0)
		UNIT_FAIL("load: %s", err);
	CHECK_STR(osp_g.log_prefix, "a\tb\n\"q\" \\ AA \\1");
	r = cfg_routes();
	CHECK(r && r->ntoks == 15);
	CHECK_STR(tok(r, 2)->text, "raw \\n $ru");
	CHECK_STR(tok(r, 7)->text, "one two three");
	CHECK_INT(tok(r, 7)->line, 4);
	CHECK_INT(tok(r, 7)->col, 8);
	CHECK_STR(tok(r, 9)->text, ";");
	CHECK_INT(tok(r, 9)->line, 5);
	CHECK_STR(tok(r, 12)->text, "joined line");
}

CFG_TEST(subst)
{
	const char *v;

	in_tmpdir();
	if (load("#!substdef \"!SIP_PORT!5070!g\"\n"
		 "#!substdefs \"/MY_DOMAIN/example.com/\"\n"
		 "#!subst \"/Hello/Hi/gi\"\n"
		 "#!subst \"/(ab)(c)/\\2\\1/\"\n"
		 "port=SIP_PORT\n"
		 "alias=MY_DOMAIN\n"
		 "log_prefix=\"hello HELLO abc abc port SIP_PORT at "
		 "MY_DOMAIN \"\n") != 0)
		UNIT_FAIL("load: %s", err);
	CHECK_INT(osp_g.port, 5070);
	CHECK_STR(osp_g.alias[0], "example.com");
	CHECK_STR(osp_g.log_prefix, "Hi Hi cab abc port 5070 at example.com ");
	CHECK(cfg_defined("MY_DOMAIN", &v));
	CHECK_STR(v, "\"example.com\"");
}

CFG_TEST(defenv)
{
	in_tmpdir();
	setenv("OSP_TEST_PORT", "5099", 1);
	setenv("OSP_TEST_HOST", "env.example.com", 1);
	unsetenv("OSP_TEST_UNSET");
	if (load("#!defenv OSP_TEST_PORT\n"
		 "#!defenvs HOST=OSP_TEST_HOST\n"
		 "#!trydefenv OSP_TEST_UNSET\n"
		 "port=OSP_TEST_PORT\n"
		 "log_prefix=HOST\n"
		 "#!ifdef OSP_TEST_UNSET\nport=1\n#!endif\n") != 0)
		UNIT_FAIL("load: %s", err);
	CHECK_INT(osp_g.port, 5099);
	CHECK_STR(osp_g.log_prefix, "env.example.com");
	CHECK_FAILS("#!defenv OSP_TEST_UNSET\n",
		    "main.cfg:1:1: #!defenv: environment variable "
		    "'OSP_TEST_UNSET' is not set");
}

CFG_TEST(mod_defines)
{
	in_tmpdir();
	if (load("loadmodule \"tm.so\"\n"
		 "#!ifdef MOD_tm\n"
		 "modparam(\"tm\", \"fr_timer\", 2000)\n"
		 "#!endif\n"
		 "#!ifdef MOD_sl\n"
		 "modparam(\"sl\", \"bind_tm\", 5)\n"
		 "#!endif\n") != 0)
		UNIT_FAIL("load: %s", err);
	CHECK_INT(tm_fr_timer, 2000);
	CHECK_INT(sl_bind_tm, 1);
	CHECK(cfg_defined("MOD_tm", NULL));
	CHECK(!cfg_defined("MOD_sl", NULL));
}

CFG_TEST(cfgengine_forms)
{
	in_tmpdir();
	if (load("cfgengine = \"native\";\n") != 0)
		UNIT_FAIL("load: %s", err);
	CHECK_STR(osp_g.engine, "native");
	in_tmpdir();
	if (load("cfgengine \"lua\"\n") != 0)
		UNIT_FAIL("load: %s", err);
	CHECK_STR(osp_g.engine, "lua");
}

CFG_TEST(parse_without_applying)
{
	cfg_file_t *cf;
	const char *v;

	in_tmpdir();
	write_file("main.cfg", "#!define X 1\nport=5090\nlisten=udp:1.2.3.4\n"
			       "loadmodule \"tm.so\"\n"
			       "modparam(\"tm\", \"fr_timer\", 7)\n"
			       "route[R] { exit; }\n");
	cf = cfg_parse("main.cfg", 0, err, sizeof(err));
	if (!cf)
		UNIT_FAIL("parse: %s", err);
	CHECK_INT(osp_g.port, 5060);
	CHECK_INT(osp_g.n_listen, 0);
	CHECK(!mod_tm.loaded);
	CHECK_INT(tm_fr_timer, 30000);
	CHECK(cfg_file_routes(cf) != NULL);
	CHECK_STR(cfg_file_routes(cf)->name, "R");
	CHECK(cfg_file_defined(cf, "X", &v) && !strcmp(v, "1"));
	CHECK(!cfg_has_routes()); /* not current */
	cfg_file_free(cf);

	/* the same checks as a real load */
	write_file("main.cfg", "modparam(\"tm\", \"fr_timer\", 7)\n");
	CHECK(cfg_parse("main.cfg", 0, err, sizeof(err)) == NULL);
	CHECK_STR(err, "main.cfg:1:10: modparam: module 'tm' is not loaded "
		       "(loadmodule \"tm.so\" must come first)");
}

CFG_TEST(missing_file)
{
	in_tmpdir();
	CHECK_INT(cfg_load("nope.cfg", err, sizeof(err)), -1);
	CHECK_STR(err, "nope.cfg: cannot open the configuration: No such file "
		       "or directory");
}

CFG_TEST(statement_separators)
{
	in_tmpdir();
	/* ';' separates statements on one line; line breaks end them; a
	 * value may continue on the next line inside modparam(...) */
	if (load("port=5062; children=2;;\n"
		 "loadmodule \"tm.so\"; modparam(\"tm\",\n"
		 "   \"fr_timer\",\n   9)\n"
		 "debug =\n  2\n") != 0)
		UNIT_FAIL("load: %s", err);
	CHECK_INT(osp_g.port, 5062);
	CHECK_INT(osp_g.workers, 2);
	CHECK_INT(tm_fr_timer, 9);
	CHECK_INT(osp_g.log_level, 2);
}

/* clang-format off */
TEST_LIST(
	TEST_ENTRY(full_config),
	TEST_ENTRY(route_tokens),
	TEST_ENTRY(no_routes),
	TEST_ENTRY(kamailio_params_accepted),
	TEST_ENTRY(nested_ifdef),
	TEST_ENTRY(command_line_defines),
	TEST_ENTRY(define_in_modparam_and_listen),
	TEST_ENTRY(listen_forms),
	TEST_ENTRY(includes),
	TEST_ENTRY(errors),
	TEST_ENTRY(strings),
	TEST_ENTRY(subst),
	TEST_ENTRY(defenv),
	TEST_ENTRY(mod_defines),
	TEST_ENTRY(cfgengine_forms),
	TEST_ENTRY(parse_without_applying),
	TEST_ENTRY(missing_file),
	TEST_ENTRY(statement_separators),
)
/* clang-format on */
