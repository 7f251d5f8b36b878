/* test_mods_util.h - helpers shared by the module tests (test_mods_*.c):
 * parse a message written in the test, call a KSR export by name with the
 * arguments its table declares, build the forwarded request, and capture
 * the local replies the modules send.
 *
 * The stand-ins below are weak: when the real symbol of another area is
 * linked in, it wins. The reply capture is checked by the tests (a reply
 * that the stand-in did not see fails them), so a real osp_send_reply
 * linked in by accident cannot make a test pass silently. */
#ifndef OSP_TEST_MODS_UTIL_H
#define OSP_TEST_MODS_UTIL_H

#include <arpa/inet.h>
#include <stdarg.h>

#include "core/arena.h"
#include "core/fwd.h"
#include "core/module.h"
#include "core/osp.h"
#include "sip/build.h"
#include "unit.h"

/* ---- replies sent through osp_send_reply ---- */

typedef struct sent_reply {
	int count;
	int code;
	char reason[128];
	char extra[1024];      /* extra headers given by the caller */
	char reply_adds[1024]; /* the request's reply_adds, concatenated */
} sent_reply_t;

static sent_reply_t sent;

__attribute__((weak)) int osp_send_reply(sip_msg_t *req, int code, str_t reason,
					 str_t extra, str_t body)
{
	size_t n = 0;

	sent.count++;
	sent.code = code;
	str_to_buf(reason, sent.reason, sizeof(sent.reason));
	str_to_buf(extra, sent.extra, sizeof(sent.extra));
	sent.reply_adds[0] = '\0';
	for (sip_hdr_add_t *a = req->reply_adds; a; a = a->next) {
		if (n + a->text.len >= sizeof(sent.reply_adds))
			break;
		memcpy(sent.reply_adds + n, a->text.s, a->text.len);
		n += a->text.len;
		sent.reply_adds[n] = '\0';
	}
	if (code >= 200)
		req->replied = 1;
	return 1;
}

/* "ours": 127.0.0.1 and proxy.example.com, any port. */
__attribute__((weak)) int osp_is_myself(str_t host, int port, int proto)
{
	return str_eq_cstr(host, "127.0.0.1") ||
	       str_caseeq_cstr(host, "proxy.example.com");
}

__attribute__((weak)) int net_addr_to_ip(const sip_sockaddr_t *a, char *buf,
					 size_t cap)
{
	const void *src = a->sa.sa_family == AF_INET6
			      ? (const void *)&a->in6.sin6_addr
			      : (const void *)&a->in4.sin_addr;

	if (!inet_ntop(a->sa.sa_family, src, buf, (socklen_t)cap))
		return -1;
	return (int)strlen(buf);
}

/* ---- messages ---- */

typedef struct tmsg {
	arena_t arena;
	sip_msg_t msg;
	ksr_ctx_t ctx;
	char raw[8192];
} tmsg_t;

static uint64_t tmsg_next_id = 1;

/* Parse text (lines joined with \r\n by the test) as received over UDP
 * from 192.0.2.10:5062. Fails the test on a parse error. */
static inline sip_msg_t *tmsg_parse(tmsg_t *t, const char *text)
{
	const char *why = NULL;
	size_t len = strlen(text);

	memset(t, 0, sizeof(*t));
	arena_init(&t->arena);
	CHECK(len < sizeof(t->raw));
	memcpy(t->raw, text, len);
	t->msg.arena = &t->arena;
	if (sip_msg_parse(&t->msg, t->raw, len, &why) != 0)
		UNIT_FAIL("parse failed: %s", why ? why : "?");
	t->msg.rcv.proto = SIP_PROTO_UDP;
	t->msg.rcv.src.in4.sin_family = AF_INET;
	t->msg.rcv.src.in4.sin_port = htons(5062);
	inet_pton(AF_INET, "192.0.2.10", &t->msg.rcv.src.in4.sin_addr);
	t->msg.rcv.dst.in4.sin_family = AF_INET;
	t->msg.rcv.dst.in4.sin_port = htons(5060);
	inet_pton(AF_INET, "127.0.0.1", &t->msg.rcv.dst.in4.sin_addr);
	t->msg.id = tmsg_next_id++;
	t->ctx.msg = &t->msg;
	t->ctx.route =
	    t->msg.kind == SIP_REQUEST ? KSR_ROUTE_REQUEST : KSR_ROUTE_REPLY;
	t->ctx.worker = -1;
	memset(&sent, 0, sizeof(sent));
	return &t->msg;
}

static inline void tmsg_free(tmsg_t *t)
{
	arena_destroy(&t->arena);
}

/* The request as it would be forwarded (no Via of ours), NUL-terminated
 * in the message arena. */
static inline const char *tmsg_build(tmsg_t *t)
{
	str_t out;
	char *s;

	if (sip_build_request(&t->msg, STR_NULL, NULL, &t->arena, &out) != 0)
		UNIT_FAIL("sip_build_request failed");
	s = arena_alloc(&t->arena, out.len + 1);
	CHECK(s != NULL);
	memcpy(s, out.s, out.len);
	s[out.len] = '\0';
	return s;
}

/* ---- calling exports ---- */

static inline const ksr_export_t *kfind(const osp_module_t *m, const char *name)
{
	for (const ksr_export_t *e = m->exports; e && e->name; e++)
		if (strcmp(e->name, name) == 0)
			return e;
	UNIT_FAIL("%s has no export %s", m->name, name);
	return NULL;
}

/* Call export `name` of module m; the variadic arguments follow its
 * ptypes: const char * for KSR_STR, long for KSR_INT. */
static inline int kcall(tmsg_t *t, const osp_module_t *m, const char *name,
			ksr_xval_t *ret, ...)
{
	const ksr_export_t *e = kfind(m, name);
	ksr_arg_t args[KSR_PARAMS_MAX];
	ksr_xval_t dummy;
	va_list ap;

	memset(args, 0, sizeof(args));
	memset(&dummy, 0, sizeof(dummy));
	va_start(ap, ret);
	for (int i = 0; i < KSR_PARAMS_MAX && e->ptypes[i]; i++) {
		if (e->ptypes[i] == KSR_INT)
			args[i].n = va_arg(ap, long);
		else
			args[i].s = str_from(va_arg(ap, const char *));
	}
	va_end(ap);
	return e->fn(&t->ctx, args, ret ? ret : &dummy);
}

/* Checks on xval results. */
#define CHECK_XSTR(x, want)                                                    \
	do {                                                                   \
		CHECK_INT((x).type, KSR_STR);                                  \
		CHECK_STRV((x).s, (want));                                     \
	} while (0)
#define CHECK_XNULL(x) CHECK_INT((x).type, KSR_NULL)
#define CHECK_XINT(x, v)                                                       \
	do {                                                                   \
		CHECK_INT((x).type, KSR_INT);                                  \
		CHECK_INT((x).n, (v));                                         \
	} while (0)

/* Number of occurrences of needle in hay. */
static inline int count_sub(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Substring test on the built message. */
#define CHECK_HAS(hay, needle)                                                 \
	do {                                                                   \
		if (!strstr((hay), (needle)))                                  \
			UNIT_FAIL("missing \"%s\" in:\n%s", (needle), (hay));  \
	} while (0)
#define CHECK_HASNT(hay, needle)                                               \
	do {                                                                   \
		if (strstr((hay), (needle)))                                   \
			UNIT_FAIL("unexpected \"%s\" in:\n%s", (needle),       \
				  (hay));                                      \
	} while (0)

#endif
