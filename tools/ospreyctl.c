/* ospreyctl - command-line client of Osprey's JSON-RPC control socket.
 *
 *     ospreyctl [-s SOCKET] [-t SECONDS] [-r] METHOD [PARAM...]
 *
 * Sends {"jsonrpc":"2.0","method":METHOD,"params":[...],"id":1} and prints
 * the result as indented JSON. A parameter that looks like an integer ("0",
 * "42", "-7"; no sign "+", no leading zero) is sent as a JSON integer,
 * anything else as a string; "s:TEXT" forces a string, "i:N" an integer.
 *
 *     ospreyctl [-s SOCKET] subscriber add|passwd|rm|list [ARG...]
 *
 * manages auth_db's subscribers (subscriber.* commands, every argument a
 * string); "subscriber list" prints one USER@DOMAIN per line.
 *
 * Exit status: 0 success, 1 the server answered with an error, 2 the
 * socket could not be reached (or timed out), 3 the answer was not valid
 * JSON-RPC, 64 bad usage.
 *
 * Built from this file alone (plus jansson), hence the relative include of
 * the header-only run-directory logic shared with the server. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../src/core/rundir.h"

#ifndef OSP_VERSION
#define OSP_VERSION "0.1.0"
#endif

#define EXIT_RPC_ERROR 1
#define EXIT_CONNECT   2
#define EXIT_PROTOCOL  3
#define EXIT_USAGE     64
#define MAX_RESPONSE   (256u * 1024 * 1024)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ospreyctl [-s SOCKET] [-t SECONDS] [-r] METHOD "
		"[PARAM...]\n"
		"\n"
		"Calls METHOD on Osprey's JSON-RPC control socket and prints "
		"the result as JSON.\n"
		"\n"
		"  -s SOCKET   control socket (default %s)\n"
		"  -t SECONDS  give up after this long (default 10)\n"
		"  -r          raw output: strings, and arrays of strings, "
		"printed as plain lines\n"
		"  -V          print the version and exit\n"
		"  -h          this help\n"
		"\n"
		"Parameters that look like integers are sent as JSON "
		"integers; prefix with\n"
		"s: to force a string (s:0049) or i: to force an integer.\n"
		"\n"
		"Examples:\n"
		"  ospreyctl core.version\n"
		"  ospreyctl stats.get_statistics all\n"
		"  ospreyctl system.listMethods\n"
		"  ospreyctl subscriber add alice@example.com secret\n"
		"  ospreyctl subscriber rm alice@example.com\n"
		"  ospreyctl subscriber list\n"
		"\n"
		"Exit status: 0 ok, 1 error answered by the server, 2 cannot "
		"reach the socket,\n"
		"3 invalid answer, 64 bad usage.\n",
		osp_default_rpc_socket());
}

/* "0" or -?[1-9][0-9]* that fits in 64 bits. Leading zeros keep the text
 * a string, so that numbers like phone prefixes survive unchanged. */
static int looks_int(const char *a, json_int_t *out)
{
	const char *p = a;
	char *end;
	long long v;

	if (*p == '-')
		p++;
	if (!(*p >= '1' && *p <= '9') && strcmp(a, "0") != 0)
		return 0;
	for (const char *q = p; *q; q++) {
		if (*q < '0' || *q > '9')
			return 0;
	}
	errno = 0;
	v = strtoll(a, &end, 10);
	if (errno || *end)
		return 0;
	*out = v;
	return 1;
}

/* Turn one command-line argument into a JSON value; NULL on bad input
 * (message printed). */
static json_t *arg_value(const char *a, int n)
{
	json_int_t iv;
	json_t *v;
	char *end;

	if (strncmp(a, "i:", 2) == 0) {
		errno = 0;
		iv = strtoll(a + 2, &end, 10);
		if (!a[2] || *end || errno) {
			fprintf(stderr,
				"ospreyctl: parameter %d: \"%s\" is "
				"not an integer\n",
				n, a + 2);
			return NULL;
		}
		return json_integer(iv);
	}
	if (strncmp(a, "s:", 2) == 0)
		a += 2;
	else if (looks_int(a, &iv))
		return json_integer(iv);
	v = json_string(a);
	if (!v)
		fprintf(stderr, "ospreyctl: parameter %d is not valid UTF-8\n",
			n);
	return v;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for events, or the deadline passes. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	long long left;
	int n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		n = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* Send the request and read the answer up to its newline. Returns the
 * malloc'ed answer, or NULL after printing why. */
static char *exchange(const char *path, const char *req, double timeout)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	long long deadline = now_ms() + (long long)(timeout * 1000);
	size_t len = strlen(req), off = 0, cap = 0, got = 0;
	char *buf = NULL, *p;
	ssize_t n;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "ospreyctl: socket path too long: %s\n", path);
		return NULL;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "ospreyctl: cannot connect to %s: %s%s\n", path,
			strerror(errno),
			errno == ENOENT || errno == ECONNREFUSED
			    ? " (is osprey running? use -s to name "
			      "another socket)"
			    : "");
		goto fail;
	}
	while (off < len) {
		r = wait_fd(fd, POLLOUT, deadline);
		if (r <= 0)
			goto timeout;
		n = send(fd, req + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EINTR && errno != EAGAIN) {
			fprintf(stderr, "ospreyctl: sending to %s: %s\n", path,
				strerror(errno));
			goto fail;
		}
		if (n > 0)
			off += (size_t)n;
	}
	for (;;) {
		if (got + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			if (cap > MAX_RESPONSE) {
				fprintf(stderr,
					"ospreyctl: answer from %s is "
					"too large\n",
					path);
				goto fail;
			}
			p = realloc(buf, cap);
			if (!p) {
				fprintf(stderr, "ospreyctl: out of memory\n");
				goto fail;
			}
			buf = p;
		}
		r = wait_fd(fd, POLLIN, deadline);
		if (r <= 0)
			goto timeout;
		n = recv(fd, buf + got, cap - got - 1, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "ospreyctl: reading from %s: %s\n",
				path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		p = memchr(buf + got, '\n', (size_t)n);
		got += (size_t)n;
		if (p)
			break;
	}
	close(fd);
	if (!got) {
		fprintf(stderr,
			"ospreyctl: %s closed the connection without "
			"an answer\n",
			path);
		free(buf);
		return NULL;
	}
	buf[got] = '\0';
	return buf;
timeout:
	fprintf(stderr, "ospreyctl: no answer from %s within %g s\n", path,
		timeout);
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

/* Print the result: indented JSON, or plain lines with -r when the result
 * is a string or an array of strings. null prints nothing. */
static void print_result(json_t *res, int raw)
{
	size_t i;
	json_t *v;
	char *text;

	if (json_is_null(res))
		return;
	if (raw && json_is_string(res)) {
		printf("%s\n", json_string_value(res));
		return;
	}
	if (raw && json_is_array(res)) {
		json_array_foreach(res, i, v)
		{
			if (!json_is_string(v))
				break;
		}
		if (i == json_array_size(res)) {
			json_array_foreach(res, i, v)
			    printf("%s\n", json_string_value(v));
			return;
		}
	}
	text = json_dumps(res, JSON_INDENT(2) | JSON_ENCODE_ANY);
	if (text) {
		printf("%s\n", text);
		free(text);
	}
}

/* "ospreyctl subscriber add|passwd|rm|list ...": auth_db's subscriber.*
 * commands. Every argument goes as a string (a password of digits stays
 * text). Returns the RPC method name and fills params, or returns NULL
 * after printing the usage. */
static const char *subscriber_cmd(int argc, char **argv, json_t *params)
{
	static const struct {
		const char *sub, *method, *args;
		int nargs;
	} cmds[] = {
	    {"add", "subscriber.add", "USER@DOMAIN PASSWORD", 2},
	    {"passwd", "subscriber.passwd", "USER@DOMAIN PASSWORD", 2},
	    {"rm", "subscriber.rm", "USER@DOMAIN", 1},
	    {"list", "subscriber.list", "", 0},
	};
	size_t i;

	for (i = 0; argc > 0 && i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[0], cmds[i].sub) != 0)
			continue;
		/* one more argument may name another table */
		if (argc - 1 < cmds[i].nargs || argc - 1 > cmds[i].nargs + 1)
			break;
		for (int a = 1; a < argc; a++) {
			json_t *v = json_string(argv[a]);

			if (!v || json_array_append_new(params, v) != 0) {
				fprintf(stderr, "ospreyctl: bad argument %d\n",
					a);
				return NULL;
			}
		}
		return cmds[i].method;
	}
	fprintf(stderr, "usage:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(stderr, "  ospreyctl subscriber %s %s%s[TABLE]\n",
			cmds[i].sub, cmds[i].args, cmds[i].nargs ? " " : "");
	return NULL;
}

/* subscriber list: one USER@DOMAIN per line; the other subscriber
 * commands print nothing when they succeed. */
static void print_subscribers(json_t *res, const char *method)
{
	size_t i;
	json_t *v;

	if (strcmp(method, "subscriber.list") != 0 || !json_is_array(res))
		return;
	json_array_foreach(res, i, v)
	{
		json_t *u = json_object_get(v, "username");
		json_t *d = json_object_get(v, "domain");

		printf("%s@%s\n", json_is_string(u) ? json_string_value(u) : "",
		       json_is_string(d) ? json_string_value(d) : "");
	}
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *method;
	double timeout = 10;
	json_t *params, *m, *req = NULL, *resp = NULL, *res, *e;
	json_error_t jerr;
	char *text = NULL, *answer = NULL, *end, *p;
	int opt, raw = 0, subscriber = 0, rc = EXIT_USAGE;

	/* "+": stop at METHOD, so that "-5" after it is a parameter */
	while ((opt = getopt(argc, argv, "+s:t:rVh")) != -1) {
		switch (opt) {
		case 's': sock = optarg; break;
		case 't':
			timeout = strtod(optarg, &end);
			if (*end || !(timeout > 0)) {
				fprintf(stderr, "ospreyctl: bad timeout: %s\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'r': raw = 1; break;
		case 'V': printf("ospreyctl " OSP_VERSION "\n"); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	method = argv[optind++];
	if (!sock)
		sock = osp_default_rpc_socket();
	params = json_array();
	req = json_object();
	if (!params || !req) {
		json_decref(params);
		fprintf(stderr, "ospreyctl: out of memory\n");
		goto out;
	}
	if (strcmp(method, "subscriber") == 0) {
		subscriber = 1;
		method = subscriber_cmd(argc - optind, argv + optind, params);
		if (!method) {
			json_decref(params);
			rc = EXIT_USAGE;
			goto out;
		}
		optind = argc;
	}
	for (int i = optind; i < argc; i++) {
		json_t *v = arg_value(argv[i], i - optind + 1);

		if (!v || json_array_append_new(params, v) != 0) {
			json_decref(params);
			goto out;
		}
	}
	m = json_string(method);
	if (!m) {
		json_decref(params);
		fprintf(stderr, "ospreyctl: method name is not valid UTF-8\n");
		goto out;
	}
	/* json_object_set_new takes its value even when it fails */
	if (json_object_set_new(req, "jsonrpc", json_string("2.0")) ||
	    json_object_set_new(req, "method", m) ||
	    json_object_set_new(req, "params", params) ||
	    json_object_set_new(req, "id", json_integer(1)) ||
	    !(text = json_dumps(req, JSON_COMPACT)) ||
	    !(p = realloc(text, strlen(text) + 2))) {
		fprintf(stderr, "ospreyctl: out of memory\n");
		goto out;
	}
	text = p;
	strcat(text, "\n");
	answer = exchange(sock, text, timeout);
	if (!answer) {
		rc = EXIT_CONNECT;
		goto out;
	}
	rc = EXIT_PROTOCOL;
	resp = json_loads(answer, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!json_is_object(resp)) {
		fprintf(stderr, "ospreyctl: invalid answer from %s: %s\n", sock,
			resp ? "not an object" : jerr.text);
		goto out;
	}
	e = json_object_get(resp, "error");
	if (e) {
		json_t *code = json_object_get(e, "code");
		json_t *msg = json_object_get(e, "message");

		fprintf(stderr, "error: %" JSON_INTEGER_FORMAT " %s\n",
			json_is_integer(code) ? json_integer_value(code) : 0,
			json_is_string(msg) ? json_string_value(msg)
					    : "(no message)");
		rc = EXIT_RPC_ERROR;
		goto out;
	}
	res = json_object_get(resp, "result");
	if (!res) {
		fprintf(stderr,
			"ospreyctl: answer from %s has neither result "
			"nor error\n",
			sock);
		goto out;
	}
	if (subscriber)
		print_subscribers(res, method);
	else
		print_result(res, raw);
	rc = fflush(stdout) == 0 ? 0 : EXIT_PROTOCOL;
out:
	json_decref(req);
	json_decref(resp);
	free(text);
	free(answer);
	return rc;
}
