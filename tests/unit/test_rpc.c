/* test_rpc.c - JSON-RPC dispatch (rpc_handle), the core commands and the
 * control socket server, talked to over a real UNIX socket. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "core/log.h"
#include "core/osp.h"
#include "core/stats.h"
#include "rpc/rpc.h"
#include "unit.h"

/* ---- a test command table ---------------------------------------------- */

static int notified;

/* test.add A B: A + B; A and B integers (or numeric strings) */
static json_t *t_add(json_t *params, rpc_error_t *err)
{
	long a, b;

	if (rpc_param_int(params, 0, &a, err) < 0 ||
	    rpc_param_int(params, 1, &b, err) < 0)
		return NULL;
	return json_integer(a + b);
}

/* test.upper S: S as given (any string, integers formatted) */
static json_t *t_str(json_t *params, rpc_error_t *err)
{
	const char *s = rpc_param_str(params, 0, err);

	return s ? json_string(s) : NULL;
}

static json_t *t_notify(json_t *params, rpc_error_t *err)
{
	notified++;
	return json_null();
}

static json_t *t_broken(json_t *params, rpc_error_t *err)
{
	return NULL; /* forgets to fill err */
}

static json_t *t_fail(json_t *params, rpc_error_t *err)
{
	return rpc_fail(err, 404, "no such %s", "thing");
}

static const rpc_export_t test_rpc[] = {
    {"test.add", t_add, "adds two integers"},
    {"test.str", t_str, "returns its string parameter"},
    {"test.notify", t_notify, NULL},
    {"test.broken", t_broken, NULL},
    {"test.fail", t_fail, NULL},
    {NULL, NULL, NULL},
};

static void setup(void)
{
	CHECK_INT(rpc_register(test_rpc), 0);
	CHECK_INT(rpc_register(osp_core_rpc), 0);
}

/* rpc_handle, parsed back; NULL when there was no answer. */
static json_t *call_n(const char *req, size_t len)
{
	char *out = rpc_handle(req, len);
	json_error_t e;
	json_t *r;

	if (!out)
		return NULL;
	CHECK(strchr(out, '\n') == NULL); /* compact, one line */
	r = json_loads(out, 0, &e);
	if (!r)
		UNIT_FAIL("response is not JSON: %s", out);
	free(out);
	return r;
}

static json_t *call(const char *req)
{
	return call_n(req, strlen(req));
}

static json_t *result_of(json_t *r)
{
	CHECK(r != NULL);
	CHECK_STR(json_string_value(json_object_get(r, "jsonrpc")), "2.0");
	if (!json_object_get(r, "result"))
		UNIT_FAIL("no result in %s", json_dumps(r, JSON_COMPACT));
	CHECK(json_object_get(r, "error") == NULL);
	return json_object_get(r, "result");
}

/* The error code of a response, checking its shape. */
static int error_code(json_t *r)
{
	json_t *e;

	CHECK(r != NULL);
	CHECK_STR(json_string_value(json_object_get(r, "jsonrpc")), "2.0");
	e = json_object_get(r, "error");
	if (!e)
		UNIT_FAIL("no error in %s", json_dumps(r, JSON_COMPACT));
	CHECK(json_object_get(r, "result") == NULL);
	CHECK(json_is_string(json_object_get(e, "message")));
	CHECK(json_object_get(r, "id") != NULL);
	return (int)json_integer_value(json_object_get(e, "code"));
}

static const char *error_message(json_t *r)
{
	return json_string_value(
	    json_object_get(json_object_get(r, "error"), "message"));
}

/* ---- rpc_handle -------------------------------------------------------- */

TEST(valid_call)
{
	json_t *r;

	setup();
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"test.add\","
		 "\"params\":[2,3],\"id\":7}");
	CHECK_INT(json_integer_value(result_of(r)), 5);
	CHECK_INT(json_integer_value(json_object_get(r, "id")), 7);
	json_decref(r);
	/* string id, numeric strings accepted by rpc_param_int */
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"test.add\","
		 "\"params\":[\"40\",\"-2\"],\"id\":\"abc\"}");
	CHECK_INT(json_integer_value(result_of(r)), 38);
	CHECK_STR(json_string_value(json_object_get(r, "id")), "abc");
	json_decref(r);
	/* null id is a call (not a notification) and is echoed */
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"test.str\","
		 "\"params\":[\"x\"],\"id\":null}");
	CHECK_STR(json_string_value(result_of(r)), "x");
	CHECK(json_is_null(json_object_get(r, "id")));
	json_decref(r);
	/* exact text: compact, fields in order */
	{
		const char *req =
		    "{\"id\":1,\"method\":\"test.add\",\"params\":"
		    "[1,1],\"jsonrpc\":\"2.0\"}";
		char *out = rpc_handle(req, strlen(req));

		CHECK_STR(out, "{\"jsonrpc\":\"2.0\",\"result\":2,\"id\":1}");
		free(out);
	}
}

TEST(unknown_method)
{
	json_t *r;

	setup();
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"no.such\",\"id\":3}");
	CHECK_INT(error_code(r), -32601);
	CHECK(strstr(error_message(r), "no.such") != NULL);
	CHECK_INT(json_integer_value(json_object_get(r, "id")), 3);
	json_decref(r);
}

TEST(parse_error)
{
	static const char *bad[] = {
	    "not json",
	    "{",
	    "{\"jsonrpc\":\"2.0\",}",
	    "",
	    "   ",
	    "{\"a\":\"\xff\xfe\"}", /* invalid UTF-8 */
	    "{\"a\":\"\\u0000\"}",  /* NUL in a string */
	    "[1,2",
	};
	json_t *r;

	setup();
	for (size_t i = 0; i < OSP_ARRAY_LEN(bad); i++) {
		r = call(bad[i]);
		CHECK_INT(error_code(r), -32700);
		CHECK(json_is_null(json_object_get(r, "id")));
		json_decref(r);
	}
	r = call_n(NULL, 0);
	CHECK_INT(error_code(r), -32700);
	json_decref(r);
}

TEST(invalid_request)
{
	static const char *bad[] = {
	    "{\"jsonrpc\":\"1.0\",\"method\":\"test.add\",\"id\":1}",
	    "{\"method\":\"test.add\",\"params\":[1,2],\"id\":1}",
	    "{\"jsonrpc\":2.0,\"method\":\"test.add\",\"id\":1}",
	    "{\"jsonrpc\":\"2.0\",\"method\":1,\"id\":1}",
	    "{\"jsonrpc\":\"2.0\",\"id\":1}",
	    ("{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"params\":"
	     "\"bar\",\"id\":1}"),
	    "{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"id\":{}}",
	    "{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"id\":[1]}",
	    "{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"id\":true}",
	    "3",
	    "\"str\"",
	    "null",
	    "[]",
	    /* invalid even without an id: still answered */
	    "{\"jsonrpc\":\"2.0\",\"method\":1}",
	};
	json_t *r;

	setup();
	for (size_t i = 0; i < OSP_ARRAY_LEN(bad); i++) {
		r = call(bad[i]);
		if (!r)
			UNIT_FAIL("no answer to %s", bad[i]);
		CHECK_INT(error_code(r), -32600);
		json_decref(r);
	}
	/* the id is echoed when it could be read */
	r = call("{\"jsonrpc\":\"1.0\",\"method\":\"test.add\",\"id\":9}");
	CHECK_INT(json_integer_value(json_object_get(r, "id")), 9);
	json_decref(r);
}

TEST(invalid_params)
{
	json_t *r;

	setup();
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"test.add\","
		 "\"params\":[\"x\",2],\"id\":1}");
	CHECK_INT(error_code(r), -32602);
	CHECK_STR(error_message(r), "parameter 1 must be an integer");
	json_decref(r);
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"test.add\","
		 "\"params\":[1],\"id\":1}");
	CHECK_INT(error_code(r), -32602);
	CHECK_STR(error_message(r), "missing parameter 2");
	json_decref(r);
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"id\":1}");
	CHECK_INT(error_code(r), -32602);
	json_decref(r);
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"test.add\","
		 "\"params\":[1.5,2],\"id\":1}");
	CHECK_INT(error_code(r), -32602);
	json_decref(r);
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"test.add\","
		 "\"params\":[\"3x\",2],\"id\":1}");
	CHECK_INT(error_code(r), -32602);
	json_decref(r);
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"test.add\","
		 "\"params\":[\"99999999999999999999999\",2],\"id\":1}");
	CHECK_INT(error_code(r), -32602);
	CHECK_STR(error_message(r), "parameter 1 is out of range");
	json_decref(r);
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"test.add\","
		 "\"params\":{\"a\":1,\"b\":2},\"id\":1}");
	CHECK_INT(error_code(r), -32602);
	CHECK(strstr(error_message(r), "named") != NULL);
	json_decref(r);
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"test.str\","
		 "\"params\":[[1]],\"id\":1}");
	CHECK_INT(error_code(r), -32602);
	CHECK_STR(error_message(r), "parameter 1 must be a string");
	json_decref(r);
	/* an integer is accepted where a string is expected */
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"test.str\","
		 "\"params\":[-42],\"id\":1}");
	CHECK_STR(json_string_value(result_of(r)), "-42");
	json_decref(r);
	/* params null is treated as absent */
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"test.notify\","
		 "\"params\":null,\"id\":1}");
	CHECK(json_is_null(result_of(r)));
	json_decref(r);
}

TEST(command_errors)
{
	json_t *r;

	osp_log_level = L_CRIT;
	setup();
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"test.fail\",\"id\":1}");
	CHECK_INT(error_code(r), 404);
	CHECK_STR(error_message(r), "no such thing");
	json_decref(r);
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"test.broken\",\"id\":1}");
	CHECK_INT(error_code(r), -32603);
	json_decref(r);
}

TEST(notification)
{
	setup();
	notified = 0;
	CHECK(call("{\"jsonrpc\":\"2.0\",\"method\":\"test.notify\"}") == NULL);
	CHECK_INT(notified, 1);
	/* no answer even when the method does not exist or fails */
	CHECK(call("{\"jsonrpc\":\"2.0\",\"method\":\"no.such\"}") == NULL);
	CHECK(call("{\"jsonrpc\":\"2.0\",\"method\":\"test.add\","
		   "\"params\":[\"x\"]}") == NULL);
}

TEST(batch)
{
	json_t *r, *e;

	setup();
	notified = 0;
	r = call("[{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"params\":"
		 "[1,2],\"id\":1},"
		 "{\"jsonrpc\":\"2.0\",\"method\":\"test.notify\"},"
		 "{\"foo\":\"boo\"},"
		 "1,"
		 "{\"jsonrpc\":\"2.0\",\"method\":\"no.such\",\"id\":\"5\"}]");
	CHECK(json_is_array(r));
	CHECK_INT(json_array_size(r), 4);
	CHECK_INT(notified, 1);
	e = json_array_get(r, 0);
	CHECK_INT(json_integer_value(result_of(e)), 3);
	CHECK_INT(json_integer_value(json_object_get(e, "id")), 1);
	CHECK_INT(error_code(json_array_get(r, 1)), -32600);
	CHECK_INT(error_code(json_array_get(r, 2)), -32600);
	e = json_array_get(r, 3);
	CHECK_INT(error_code(e), -32601);
	CHECK_STR(json_string_value(json_object_get(e, "id")), "5");
	json_decref(r);
	/* only notifications: no answer at all */
	CHECK(call("[{\"jsonrpc\":\"2.0\",\"method\":\"test.notify\"},"
		   "{\"jsonrpc\":\"2.0\",\"method\":\"test.notify\"}]") ==
	      NULL);
	CHECK_INT(notified, 3);
}

TEST(hostile_input)
{
	size_t n = 200000;
	char *buf = malloc(2 * n + 64);
	char *out;
	json_t *r;

	setup();
	CHECK(buf != NULL);
	/* deep nesting: refused by the parser's depth limit, no recursion
	 * blow-up */
	memset(buf, '[', n);
	memset(buf + n, ']', n);
	r = call_n(buf, 2 * n);
	CHECK_INT(error_code(r), -32700);
	json_decref(r);
	memset(buf, '{', n);
	r = call_n(buf, n);
	CHECK_INT(error_code(r), -32700);
	json_decref(r);
	/* a long method name is cut in the message, which stays JSON */
	strcpy(buf, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"");
	for (size_t i = strlen(buf); i < n; i += 2)
		memcpy(buf + i, "\xc3\xa9", 2); /* e-acute, 2 bytes each */
	strcpy(buf + n, "\"}");
	r = call(buf);
	CHECK_INT(error_code(r), -32601);
	CHECK(strlen(error_message(r)) < 600);
	json_decref(r);
	/* a big string parameter goes through */
	strcpy(buf, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.str\","
		    "\"params\":[\"");
	{
		size_t l = strlen(buf);

		memset(buf + l, 'a', n);
		strcpy(buf + l + n, "\"]}");
	}
	r = call(buf);
	CHECK_INT(json_string_length(result_of(r)), n);
	json_decref(r);
	/* embedded NUL bytes and truncations of a valid request */
	{
		const char *ok = "{\"jsonrpc\":\"2.0\",\"method\":\"test.add\","
				 "\"params\":[1,2],\"id\":1}";
		size_t len = strlen(ok);

		for (size_t i = 0; i < len; i++) {
			out = rpc_handle(ok, i);
			CHECK(out != NULL);
			free(out);
		}
		memcpy(buf, ok, len);
		buf[10] = '\0';
		out = rpc_handle(buf, len);
		CHECK(strstr(out, "-32700") != NULL);
		free(out);
	}
	free(buf);
}

/* Random byte flips of valid requests: every answer is NULL (a valid
 * notification) or JSON. */
TEST(mutations)
{
	static const char *seeds[] = {
	    "{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"params\":[1,2],"
	    "\"id\":1}",
	    "[{\"jsonrpc\":\"2.0\",\"method\":\"test.str\",\"params\":"
	    "[\"a\"],\"id\":\"x\"},{\"jsonrpc\":\"2.0\",\"method\":"
	    "\"stats.fetch\",\"params\":[\"all\"]}]",
	};
	static const char alphabet[] = "{}[]\",:0123456789.-eE \\u\xff"
				       "abcnull";
	char buf[256];
	unsigned seed = 12345;
	json_t *r;
	char *out;

	osp_log_level = L_CRIT;
	setup();
	for (int it = 0; it < 3000; it++) {
		const char *s = seeds[it % 2];
		size_t len = strlen(s);

		memcpy(buf, s, len);
		for (int k = 0; k < 1 + it % 4; k++) {
			seed = seed * 1103515245 + 12345;
			buf[(seed >> 8) % len] =
			    alphabet[(seed >> 20) % (sizeof(alphabet) - 1)];
		}
		out = rpc_handle(buf, len);
		if (!out)
			continue;
		r = json_loads(out, 0, NULL);
		if (!r)
			UNIT_FAIL("not JSON: %s", out);
		CHECK(json_is_object(r) || json_is_array(r));
		json_decref(r);
		free(out);
	}
}

TEST(registry)
{
	static const rpc_export_t dup[] = {
	    {"test.new", t_add, NULL},
	    {"test.add", t_add, NULL},
	    {NULL, NULL, NULL},
	};
	static const rpc_export_t twice[] = {
	    {"test.x", t_add, NULL},
	    {"test.x", t_add, NULL},
	    {NULL, NULL, NULL},
	};
	static const rpc_export_t nofn[] = {
	    {"test.y", NULL, NULL},
	    {NULL, NULL, NULL},
	};

	osp_log_level = L_CRIT;
	setup();
	CHECK(rpc_find("test.add") == &test_rpc[0]);
	CHECK(rpc_find("core.version") != NULL);
	CHECK(rpc_find("test") == NULL);
	CHECK(rpc_find(NULL) == NULL);
	/* all or nothing */
	CHECK(rpc_register(dup) < 0);
	CHECK(rpc_find("test.new") == NULL);
	CHECK(rpc_register(twice) < 0);
	CHECK(rpc_find("test.x") == NULL);
	CHECK(rpc_register(nofn) < 0);
	CHECK(rpc_register(test_rpc) < 0);
	CHECK(rpc_register(NULL) < 0);
}

/* ---- core commands ----------------------------------------------------- */

TEST(core_commands)
{
	json_t *r, *res;
	size_t i;
	int found = 0;

	setup();
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"core.version\",\"id\":1}");
	CHECK(strncmp(json_string_value(result_of(r)), "osprey " OSP_VERSION,
		      7 + strlen(OSP_VERSION)) == 0);
	json_decref(r);

	rpc_core_set_start_time(time(NULL) - 100);
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"core.uptime\",\"id\":1}");
	res = result_of(r);
	CHECK(json_is_string(json_object_get(res, "now")));
	CHECK(json_is_string(json_object_get(res, "up_since")));
	CHECK(json_integer_value(json_object_get(res, "uptime")) >= 100);
	CHECK(json_integer_value(json_object_get(res, "uptime")) < 110);
	json_decref(r);

	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"system.listMethods\","
		 "\"id\":1}");
	res = result_of(r);
	CHECK(json_is_array(res));
	for (i = 0; i < json_array_size(res); i++) {
		const char *m = json_string_value(json_array_get(res, i));

		found += !strcmp(m, "test.add") + !strcmp(m, "core.uptime") +
			 !strcmp(m, "stats.get_statistics");
	}
	CHECK_INT(found, 3);
	json_decref(r);

	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"system.methodHelp\","
		 "\"params\":[\"test.add\"],\"id\":1}");
	CHECK_STR(json_string_value(result_of(r)), "adds two integers");
	json_decref(r);
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"system.methodHelp\","
		 "\"params\":[\"nope\"],\"id\":1}");
	CHECK_INT(error_code(r), -32602);
	json_decref(r);

	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"core.echo\","
		 "\"params\":[1,\"a\"],\"id\":1}");
	res = result_of(r);
	CHECK_INT(json_array_size(res), 2);
	CHECK_STR(json_string_value(json_array_get(res, 1)), "a");
	json_decref(r);
}

static OSP_COUNTER(s_req, "core", "rcv_requests");
static OSP_COUNTER(s_rpl, "core", "rcv_replies");
static OSP_COUNTER(s_sl, "sl", "200_replies");
static OSP_COUNTER(s_drop, "core", "drop_requests");

static void stats_setup(void)
{
	setup();
	stats_register(&s_req);
	stats_register(&s_sl);
	stats_register(&s_rpl);
	stats_register(&s_drop); /* core again, after sl */
	stats_add(&s_req, 3);
	stats_add(&s_rpl, 1);
	stats_add(&s_sl, 12);
}

/* The result of a stats call as one string, lines joined by '|'. */
static void check_lines(const char *req, const char *want)
{
	char got[1024] = "";
	json_t *r = call(req), *res = result_of(r);

	CHECK(json_is_array(res));
	for (size_t i = 0; i < json_array_size(res); i++) {
		if (i)
			strcat(got, "|");
		strcat(got, json_string_value(json_array_get(res, i)));
	}
	CHECK_STR(got, want);
	json_decref(r);
}

TEST(stats_get_statistics)
{
	json_t *r;

	stats_setup();
	/* "all" lists group by group, like Kamailio */
	check_lines("{\"jsonrpc\":\"2.0\",\"method\":\"stats.get_statistics\","
		    "\"params\":[\"all\"],\"id\":1}",
		    "core:rcv_requests = 3|core:rcv_replies = 1|"
		    "core:drop_requests = 0|sl:200_replies = 12");
	check_lines("{\"jsonrpc\":\"2.0\",\"method\":\"stats.get_statistics\","
		    "\"params\":[\"sl:\"],\"id\":1}",
		    "sl:200_replies = 12");
	check_lines("{\"jsonrpc\":\"2.0\",\"method\":\"stats.get_statistics\","
		    "\"params\":[\"core:rcv_replies\",\"200_replies\","
		    "\"nope\",\"x:\",\"sl.200_replies\"],\"id\":1}",
		    "core:rcv_replies = 1|sl:200_replies = 12|"
		    "sl:200_replies = 12");
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"stats.get_statistics\","
		 "\"id\":1}");
	CHECK_INT(error_code(r), -32602);
	json_decref(r);
}

TEST(stats_fetch_reset)
{
	json_t *r, *res;

	stats_setup();
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"stats.fetch\","
		 "\"params\":[\"core:\",\"sl:200_replies\"],\"id\":1}");
	res = result_of(r);
	CHECK_INT(json_object_size(res), 4);
	CHECK_STR(json_string_value(json_object_get(res, "core.rcv_requests")),
		  "3");
	CHECK_STR(json_string_value(json_object_get(res, "sl.200_replies")),
		  "12");
	json_decref(r);
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"stats.fetchn\","
		 "\"params\":[\"all\"],\"id\":1}");
	res = result_of(r);
	CHECK_INT(json_integer_value(json_object_get(res, "sl.200_replies")),
		  12);
	json_decref(r);

	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"stats.reset_statistics\","
		 "\"params\":[\"sl:\"],\"id\":1}");
	CHECK(json_is_null(result_of(r)));
	json_decref(r);
	CHECK_INT(stats_get(&s_sl), 0);
	CHECK_INT(stats_get(&s_req), 3);

	check_lines(
	    "{\"jsonrpc\":\"2.0\",\"method\":\"stats.clear_statistics\","
	    "\"params\":[\"core:\"],\"id\":1}",
	    "core:rcv_requests = 0 (3)|core:rcv_replies = 0 (1)|"
	    "core:drop_requests = 0");
	CHECK_INT(stats_get(&s_req), 0);
}

/* ---- the socket server ------------------------------------------------- */

static char tmpdir[64];
static char sockpath[128];

static void server_setup(void)
{
	strcpy(tmpdir, "/tmp/osprey-rpc-test-XXXXXX");
	CHECK(mkdtemp(tmpdir) != NULL);
	snprintf(sockpath, sizeof(sockpath), "%s/ctl.sock", tmpdir);
	setup();
}

static void server_teardown(void)
{
	struct stat st;

	rpc_server_stop();
	CHECK(lstat(sockpath, &st) < 0 && errno == ENOENT);
	CHECK_INT(rmdir(tmpdir), 0);
}

static int client_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	CHECK(fd >= 0);
	strcpy(sa.sun_path, sockpath);
	CHECK_INT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void client_send(int fd, const char *s)
{
	size_t len = strlen(s);

	CHECK_INT(send(fd, s, len, MSG_NOSIGNAL), (long long)len);
}

/* One answer line (without its newline), NULL on EOF; fails after 3 s. */
static char *client_line(int fd)
{
	static char buf[65536];
	size_t got = 0;
	ssize_t n;
	struct pollfd p = {.fd = fd, .events = POLLIN};

	while (got < sizeof(buf) - 1) {
		CHECK(poll(&p, 1, 3000) == 1);
		n = recv(fd, buf + got, 1, 0);
		/* a server closing with our bytes unread resets the link */
		if (n < 0 && errno == ECONNRESET)
			n = 0;
		CHECK(n >= 0);
		if (n == 0)
			return got ? (buf[got] = 0, buf) : NULL;
		if (buf[got] == '\n') {
			buf[got] = 0;
			return buf;
		}
		got++;
	}
	UNIT_FAIL("answer too long");
}

static json_t *client_json(int fd)
{
	char *line = client_line(fd);
	json_t *r;

	CHECK(line != NULL);
	r = json_loads(line, 0, NULL);
	if (!r)
		UNIT_FAIL("not JSON: %s", line);
	return r;
}

TEST(server_mode_0600)
{
	struct stat st;

	server_setup();
	CHECK_INT(rpc_server_start(sockpath, NULL, 0), 0);
	CHECK_INT(lstat(sockpath, &st), 0);
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_INT(st.st_mode & 07777, 0600);
	CHECK_INT(st.st_uid, geteuid());
	/* only one server at a time */
	CHECK(rpc_server_start(sockpath, NULL, 0) < 0);
	server_teardown();
}

TEST(server_mode_group)
{
	struct group *g = getgrgid(getegid());
	struct stat st;

	CHECK(g != NULL);
	server_setup();
	CHECK_INT(rpc_server_start(sockpath, g->gr_name, 0), 0);
	CHECK_INT(lstat(sockpath, &st), 0);
	CHECK_INT(st.st_mode & 07777, 0660);
	CHECK_INT(st.st_gid, getegid());
	server_teardown();
}

TEST(server_refuses)
{
	struct stat st;
	int fd;

	osp_log_level = L_CRIT;
	server_setup();
	/* world-accessible modes */
	CHECK(rpc_server_start(sockpath, NULL, 0666) < 0);
	CHECK(rpc_server_start(sockpath, NULL, 0604) < 0);
	CHECK(rpc_server_start(sockpath, "no-such-group-osprey", 0) < 0);
	CHECK(lstat(sockpath, &st) < 0);
	/* a regular file is left alone */
	fd = open(sockpath, O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0);
	CHECK_INT(write(fd, "keep", 4), 4);
	close(fd);
	CHECK(rpc_server_start(sockpath, NULL, 0) < 0);
	CHECK_INT(lstat(sockpath, &st), 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK_INT(st.st_size, 4);
	CHECK_INT(unlink(sockpath), 0);
	/* a path too long for sun_path */
	{
		char longp[200];

		memset(longp, 'a', sizeof(longp) - 1);
		longp[0] = '/';
		longp[sizeof(longp) - 1] = 0;
		CHECK(rpc_server_start(longp, NULL, 0) < 0);
	}
	CHECK_INT(rmdir(tmpdir), 0);
}

TEST(server_stale_and_live_socket)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, other;
	json_t *r;

	osp_log_level = L_CRIT;
	server_setup();
	strcpy(sa.sun_path, sockpath);
	/* a live listener owns the path: refused, left alone */
	other = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_INT(bind(other, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_INT(listen(other, 1), 0);
	CHECK(rpc_server_start(sockpath, NULL, 0) < 0);
	/* the same socket file, now stale: replaced */
	close(other);
	CHECK_INT(rpc_server_start(sockpath, NULL, 0), 0);
	fd = client_connect();
	client_send(fd, "{\"jsonrpc\":\"2.0\",\"method\":\"test.add\","
			"\"params\":[1,2],\"id\":1}");
	r = client_json(fd);
	CHECK_INT(json_integer_value(result_of(r)), 3);
	json_decref(r);
	close(fd);
	server_teardown();
}

TEST(server_roundtrip)
{
	int fd;
	json_t *r;

	server_setup();
	CHECK_INT(rpc_server_start(sockpath, NULL, 0), 0);
	fd = client_connect();
	/* two requests and a notification in one write */
	client_send(fd, "{\"jsonrpc\":\"2.0\",\"method\":\"test.add\","
			"\"params\":[1,2],\"id\":1}\n"
			"{\"jsonrpc\":\"2.0\",\"method\":\"test.notify\"}"
			"  {\"jsonrpc\":\"2.0\",\"method\":\"test.str\","
			"\"params\":[\"a}]\\\"\"],\"id\":2}");
	r = client_json(fd);
	CHECK_INT(json_integer_value(result_of(r)), 3);
	CHECK_INT(json_integer_value(json_object_get(r, "id")), 1);
	json_decref(r);
	r = client_json(fd);
	CHECK_STR(json_string_value(result_of(r)), "a}]\"");
	json_decref(r);
	/* one request split over several writes */
	client_send(fd, "\n{\"jsonrpc\":\"2.0\",\"meth");
	usleep(50000);
	client_send(fd, "od\":\"core.version\",");
	usleep(50000);
	client_send(fd, "\"id\":3}");
	r = client_json(fd);
	CHECK(strncmp(json_string_value(result_of(r)), "osprey ", 7) == 0);
	json_decref(r);
	/* a batch */
	client_send(fd, "[{\"jsonrpc\":\"2.0\",\"method\":\"test.add\","
			"\"params\":[1,1],\"id\":1},{\"jsonrpc\":\"2.0\","
			"\"method\":\"test.add\",\"params\":[2,2],\"id\":2}]");
	r = client_json(fd);
	CHECK_INT(json_array_size(r), 2);
	json_decref(r);
	/* a half-closed client still gets its answer */
	client_send(fd, "{\"jsonrpc\":\"2.0\",\"method\":\"test.add\","
			"\"params\":[5,5],\"id\":4}");
	shutdown(fd, SHUT_WR);
	r = client_json(fd);
	CHECK_INT(json_integer_value(result_of(r)), 10);
	json_decref(r);
	CHECK(client_line(fd) == NULL);
	close(fd);
	server_teardown();
}

/* Many requests in one write are all answered, in order; a request close
 * to the size limit goes through. */
TEST(server_pipeline)
{
	enum { N = 2000 };
	size_t cap = N * 80 + 1, len = 0, big = 900 * 1024;
	char *buf = malloc(cap > big + 200 ? cap : big + 200);
	json_t *r;
	int fd;

	CHECK(buf != NULL);
	server_setup();
	CHECK_INT(rpc_server_start(sockpath, NULL, 0), 0);
	fd = client_connect();
	for (int i = 0; i < N; i++)
		len += (size_t)sprintf(buf + len,
				       "{\"jsonrpc\":\"2.0\",\"method\":"
				       "\"test.add\",\"params\":[%d,1],"
				       "\"id\":%d}%s",
				       i, i, i % 3 ? "" : "\n");
	client_send(fd, buf);
	for (int i = 0; i < N; i++) {
		r = client_json(fd);
		CHECK_INT(json_integer_value(json_object_get(r, "id")), i);
		CHECK_INT(json_integer_value(result_of(r)), i + 1);
		json_decref(r);
	}
	len = (size_t)sprintf(buf, "{\"jsonrpc\":\"2.0\",\"method\":"
				   "\"test.str\",\"id\":1,\"params\":[\"");
	memset(buf + len, 'z', big);
	strcpy(buf + len + big, "\"]}");
	client_send(fd, buf);
	{
		/* the answer is longer than client_line's buffer: count */
		size_t got = 0;
		char c;

		while (recv(fd, &c, 1, 0) == 1 && c != '\n')
			got++;
		CHECK(got > big);
	}
	close(fd);
	free(buf);
	server_teardown();
}

TEST(server_garbage)
{
	int a, b;
	json_t *r;

	osp_log_level = L_CRIT;
	server_setup();
	CHECK_INT(rpc_server_start(sockpath, NULL, 0), 0);
	/* unframeable bytes: parse error, then the connection is closed */
	a = client_connect();
	client_send(a, "hello there\n");
	r = client_json(a);
	CHECK_INT(error_code(r), -32700);
	json_decref(r);
	CHECK(client_line(a) == NULL);
	close(a);
	/* invalid JSON inside brackets: parse error, connection kept */
	b = client_connect();
	client_send(b, "{\"jsonrpc\" \"2.0\", nope}\n");
	r = client_json(b);
	CHECK_INT(error_code(r), -32700);
	json_decref(r);
	client_send(b, "{\"jsonrpc\":\"2.0\",\"method\":\"test.add\","
		       "\"params\":[1,2],\"id\":1}");
	r = client_json(b);
	CHECK_INT(json_integer_value(result_of(r)), 3);
	json_decref(r);
	/* a client that vanishes mid-request harms nobody */
	a = client_connect();
	client_send(a, "{\"jsonrpc\":\"2.0\",\"meth");
	close(a);
	client_send(b, "{\"jsonrpc\":\"2.0\",\"method\":\"core.version\","
		       "\"id\":2}");
	r = client_json(b);
	CHECK(json_is_string(result_of(r)));
	json_decref(r);
	close(b);
	server_teardown();
}

TEST(server_limits)
{
	int a, b, c, d;
	json_t *r;
	char *big;

	osp_log_level = L_CRIT;
	server_setup();
	rpc_server_set_limits(300, 4096, 2);
	CHECK_INT(rpc_server_start(sockpath, NULL, 0), 0);
	/* too large: error, close */
	a = client_connect();
	big = malloc(10000);
	CHECK(big != NULL);
	memset(big, ' ', 9999);
	big[9999] = 0;
	memcpy(big + 100, "{\"x\":\"", 6);
	client_send(a, big);
	r = client_json(a);
	CHECK_INT(error_code(r), -32600);
	json_decref(r);
	CHECK(client_line(a) == NULL);
	close(a);
	free(big);
	/* two clients allowed, a third is told so */
	b = client_connect();
	c = client_connect();
	/* a round trip each proves the server has accepted both (a sleep
	 * is not enough on a loaded machine) */
	for (int i = 0; i < 2; i++) {
		int fd = i ? c : b;

		client_send(fd, "{\"jsonrpc\":\"2.0\",\"method\":\"test.add\","
				"\"params\":[1,2],\"id\":1}");
		r = client_json(fd);
		CHECK_INT(json_integer_value(result_of(r)), 3);
		json_decref(r);
	}
	d = client_connect();
	r = client_json(d);
	CHECK_INT(error_code(r), -32603);
	json_decref(r);
	close(d);
	/* idle clients are closed after the timeout */
	CHECK(client_line(b) == NULL);
	CHECK(client_line(c) == NULL);
	close(b);
	close(c);
	/* and the server serves the next one */
	a = client_connect();
	client_send(a, "{\"jsonrpc\":\"2.0\",\"method\":\"test.add\","
		       "\"params\":[1,2],\"id\":1}");
	r = client_json(a);
	CHECK_INT(json_integer_value(result_of(r)), 3);
	json_decref(r);
	close(a);
	server_teardown();
}

TEST(server_stats_over_socket)
{
	int fd;
	json_t *r;

	server_setup();
	stats_register(&s_req);
	stats_add(&s_req, 9);
	CHECK_INT(rpc_server_start(sockpath, NULL, 0), 0);
	fd = client_connect();
	client_send(fd, "{\"jsonrpc\":\"2.0\",\"method\":"
			"\"stats.get_statistics\",\"params\":[\"core:\"],"
			"\"id\":1}");
	r = client_json(fd);
	CHECK_STR(json_string_value(json_array_get(result_of(r), 0)),
		  "core:rcv_requests = 9");
	json_decref(r);
	close(fd);
	server_teardown();
}

/* clang-format off */
TEST_LIST(
	TEST_ENTRY(valid_call),
	TEST_ENTRY(unknown_method),
	TEST_ENTRY(parse_error),
	TEST_ENTRY(invalid_request),
	TEST_ENTRY(invalid_params),
	TEST_ENTRY(command_errors),
	TEST_ENTRY(notification),
	TEST_ENTRY(batch),
	TEST_ENTRY(hostile_input),
	TEST_ENTRY(mutations),
	TEST_ENTRY(registry),
	TEST_ENTRY(core_commands),
	TEST_ENTRY(stats_get_statistics),
	TEST_ENTRY(stats_fetch_reset),
	TEST_ENTRY(server_mode_0600),
	TEST_ENTRY(server_mode_group),
	TEST_ENTRY(server_refuses),
	TEST_ENTRY(server_stale_and_live_socket),
	TEST_ENTRY(server_roundtrip),
	TEST_ENTRY(server_pipeline),
	TEST_ENTRY(server_garbage),
	TEST_ENTRY(server_limits),
	TEST_ENTRY(server_stats_over_socket),
)
/* clang-format on */
