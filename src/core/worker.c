/* worker.c - the worker threads and the receive path of a SIP message.
 *
 * Each worker owns an epoll loop over its own UDP sockets, its own TCP
 * listening sockets and the TCP connections it accepted or opened, an
 * eventfd used to wake it at shutdown, one message arena, and one
 * interpreter instance of the routing engine. Between two messages it checks
 * the routing generation and swaps its interpreter when a reload happened. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/fwd.h"
#include "core/globals.h"
#include "core/latency.h"
#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "core/routing.h"
#include "core/stats.h"
#include "core/worker.h"
#include "net/net_internal.h"
#include "modules/pv/pv.h"
#include "sip/msg.h"

typedef struct worker_job {
	void (*fn)(void *arg);
	void *arg;
	struct worker_job *next;
} worker_job_t;

typedef struct worker {
	int idx;
	pthread_t th;
	int epfd;
	int wakefd;
	net_ev_t wake_ev;
	const osp_engine_t *eng;
	void *inst;
	osp_script_t *script;
	unsigned gen;
	arena_t arena;
	uint64_t msg_seq;
	int ready; /* 1 started, -1 failed */
	int depth; /* routes running (nested: tm's branch route) */
	pthread_mutex_t jobs_lock;
	worker_job_t *jobs, *jobs_tail;
} worker_t;

osp_reply_hook_fn osp_reply_hook;
osp_request_done_fn osp_request_done_hook;

static worker_t *workers;
static pv_fmt_t *log_prefix_fmt; /* log_prefix, compiled at start */
static int n_workers;
static int stopping; /* atomic */

OSP_COUNTER(st_rcv_requests, "core", "rcv_requests");
OSP_COUNTER(st_rcv_replies, "core", "rcv_replies");
OSP_COUNTER(st_parse_errors, "core", "parse_errors");
OSP_COUNTER(st_bad_requests, "core", "bad_requests");
OSP_COUNTER(st_drop_requests, "core", "drop_requests");
OSP_COUNTER(st_script_errors, "core", "script_errors");
OSP_COUNTER(st_swaps, "core", "interpreter_swaps");

int worker_set_log_prefix(const char *text, char *err, size_t errlen)
{
	if (!text || !*text)
		return 0;
	log_prefix_fmt = pv_fmt_parse(str_from(text), err, errlen);
	return log_prefix_fmt ? 0 : -1;
}

/* log_prefix is evaluated once per message, when it is configured. */
static void set_log_prefix(sip_msg_t *msg, char *buf, size_t cap)
{
	ksr_ctx_t ctx;
	str_t out;

	memset(&ctx, 0, sizeof(ctx));
	ctx.msg = msg;
	if (pv_fmt_eval(&ctx, log_prefix_fmt, buf, cap, &out) < 0)
		return;
	buf[out.len < cap ? out.len : cap - 1] = '\0';
	osp_log_set_prefix(buf);
}

void worker_stats_register(void)
{
	stats_register(&st_rcv_requests);
	stats_register(&st_rcv_replies);
	stats_register(&st_parse_errors);
	stats_register(&st_bad_requests);
	stats_register(&st_drop_requests);
	stats_register(&st_script_errors);
	stats_register(&st_swaps);
	fwd_stats_register();
}

/* Replace the worker's interpreter when the routing generation moved. If
 * the new script fails in this worker (it passed the check, so this is rare:
 * e.g. out of memory), the old interpreter stays. */
static void maybe_swap(worker_t *w)
{
	osp_script_t *s;
	void *inst;
	char err[512];

	if (routing_gen() == w->gen)
		return;
	s = routing_current();
	if (!s)
		return;
	inst = w->eng->create(s, w->idx, err, sizeof(err));
	if (!inst) {
		LOG_ERR("cannot switch to generation %u: %s", s->gen, err);
		w->gen = s->gen; /* do not retry on every message */
		script_unref(s);
		return;
	}
	if (w->inst)
		w->eng->destroy(w->inst);
	script_unref(w->script);
	w->inst = inst;
	w->script = s;
	w->gen = s->gen;
	stats_inc(&st_swaps);
	LOG_DBG("switched to script generation %u", s->gen);
}

static const char *cb_name(const char *configured, const char *dflt)
{
	if (!configured || !*configured)
		return dflt;
	if (strcmp(configured, "none") == 0)
		return NULL;
	return configured;
}

static _Thread_local worker_t *cur_worker;
static int run_route(worker_t *w, ksr_ctx_t *ctx, const char *fname);

/* The onsend route (kemi.onsend_route_callback, default ksr_onsend_route):
 * runs in the worker that is sending; KSR.x.drop() there stops the send. */
static int onsend(sip_msg_t *msg, str_t out)
{
	worker_t *w = cur_worker;
	const char *fname = cb_name(osp_g.onsend_route_cb, "ksr_onsend_route");
	ksr_ctx_t ctx;

	if (!w || !fname || !w->eng->has(w->inst, fname))
		return 1;
	memset(&ctx, 0, sizeof(ctx));
	ctx.msg = msg;
	ctx.route = KSR_ROUTE_ONSEND;
	ctx.worker = w->idx;
	run_route(w, &ctx, fname);
	OSP_UNUSED(out);
	return (ctx.flags & KSR_CTX_DROP) ? 0 : 1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Every route execution goes through here: it is timed for
 * core.route_stats (nested runs are counted in their own type too). */
static int run_route(worker_t *w, ksr_ctx_t *ctx, const char *fname)
{
	uint64_t t0 = mono_ns();
	int rc;

	w->depth++;
	rc = w->eng->run(w->inst, ctx, fname, NULL);
	w->depth--;
	if (rc != 0)
		latency_record(w->idx, ctx->route, mono_ns() - t0);
	if (rc < 0)
		stats_inc(&st_script_errors);
	return rc;
}

static void handle_request(worker_t *w, sip_msg_t *msg)
{
	ksr_ctx_t ctx;
	const char *why = NULL;
	int rc;

	stats_inc(&st_rcv_requests);
	if (sip_msg_check_mandatory(msg, &why) < 0) {
		stats_inc(&st_bad_requests);
		LOG_RATE(L_WARN, "bad request from %s: %s",
			 msg->rcv.listener ?
				 ((net_listener_t *)msg->rcv.listener)->name :
				 "?",
			 why ? why : "malformed");
		if (msg->method_id != SIP_METHOD_ACK &&
		    osp_send_reply(msg, 400, STR_LIT("Bad Request"), STR_NULL,
				   STR_NULL) < 0)
			stats_inc(&st_drop_requests);
		return;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.msg = msg;
	ctx.route = KSR_ROUTE_REQUEST;
	ctx.worker = w->idx;
	rc = run_route(w, &ctx, routing_request_route());
	if (rc == 0)
		LOG_RATE(L_ERR, "the script has no %s()", routing_request_route());
	if (osp_request_done_hook)
		osp_request_done_hook(&ctx, rc);
	if (rc <= 0 && !msg->replied && msg->method_id != SIP_METHOD_ACK)
		osp_send_reply(msg, 500, STR_LIT("Server Internal Error"),
			       STR_NULL, STR_NULL);
}

static void handle_reply(worker_t *w, sip_msg_t *msg)
{
	ksr_ctx_t ctx;
	const char *fname = cb_name(osp_g.reply_route_cb, "ksr_reply_route");
	const char *why = NULL;

	stats_inc(&st_rcv_replies);
	if (sip_msg_check_mandatory(msg, &why) < 0) {
		stats_inc(&st_parse_errors);
		LOG_RATE(L_WARN, "dropping a malformed reply: %s",
			 why ? why : "malformed");
		return;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.msg = msg;
	ctx.route = KSR_ROUTE_REPLY;
	ctx.worker = w->idx;
	if (fname && w->eng->has(w->inst, fname)) {
		run_route(w, &ctx, fname);
		if (ctx.flags & KSR_CTX_DROP)
			return;
	}
	if (osp_reply_hook && osp_reply_hook(msg))
		return;
	osp_forward_reply(msg);
}

/* Called by the transports for each complete message. buf is writable and
 * NUL-terminated at buf[len] (not part of the message). */
static void on_message(char *buf, size_t len, sip_rcv_t *rcv, void *arg)
{
	worker_t *w = arg;
	sip_msg_t msg;
	const char *why = NULL;
	char src[64], prefix[256];

	maybe_swap(w);
	memset(&msg, 0, sizeof(msg));
	msg.arena = &w->arena;
	msg.rcv = *rcv;
	msg.id = ((uint64_t)w->idx << 48) | ++w->msg_seq;
	if (sip_msg_parse(&msg, buf, len, &why) < 0) {
		stats_inc(&st_parse_errors);
		net_addr_to_ip(&rcv->src, src, sizeof(src));
		LOG_RATE(L_WARN, "parse error in a %zu-byte message from %s:%d: %s",
			 len, src, net_addr_port(&rcv->src),
			 why ? why : "malformed");
		/* a request whose headers could be split still gets its 400
		 * when the Via and the dialog headers are usable */
		if (msg.kind == SIP_REQUEST && msg.n_hdrs > 0 &&
		    msg.method_id != SIP_METHOD_ACK &&
		    sip_msg_check_mandatory(&msg, NULL) == 0) {
			if (osp_send_reply(&msg, 400, STR_LIT("Bad Request"),
					   STR_NULL, STR_NULL) < 0)
				stats_inc(&st_drop_requests);
		} else {
			stats_inc(&st_drop_requests);
		}
		goto done;
	}
	if (log_prefix_fmt)
		set_log_prefix(&msg, prefix, sizeof(prefix));
	if (msg.kind == SIP_REQUEST)
		handle_request(w, &msg);
	else
		handle_reply(w, &msg);
	osp_log_set_prefix(NULL);
done:
	arena_reset(&w->arena);
}

int worker_current(void)
{
	return cur_worker ? cur_worker->idx : -1;
}

int worker_run_route(ksr_ctx_t *ctx, const char *fname)
{
	worker_t *w = cur_worker;

	if (!w)
		return -2;
	if (!w->depth)
		maybe_swap(w);
	ctx->worker = w->idx;
	return run_route(w, ctx, fname);
}

int worker_post(int worker, void (*fn)(void *arg), void *arg)
{
	static unsigned rr;
	worker_job_t *j;
	worker_t *w;
	uint64_t one = 1;

	if (!n_workers)
		return -1;
	if (worker < 0 || worker >= n_workers)
		worker = (int)(__atomic_fetch_add(&rr, 1, __ATOMIC_RELAXED) %
			       (unsigned)n_workers);
	w = &workers[worker];
	j = malloc(sizeof(*j));
	if (!j)
		return -1;
	j->fn = fn;
	j->arg = arg;
	j->next = NULL;
	pthread_mutex_lock(&w->jobs_lock);
	if (w->jobs_tail)
		w->jobs_tail->next = j;
	else
		w->jobs = j;
	w->jobs_tail = j;
	pthread_mutex_unlock(&w->jobs_lock);
	if (write(w->wakefd, &one, sizeof(one)) < 0)
		LOG_DBG("wake write failed: %s", strerror(errno));
	return 0;
}

static void run_jobs(worker_t *w)
{
	uint64_t v;
	worker_job_t *j;

	if (read(w->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		LOG_DBG("eventfd read: %s", strerror(errno));
	pthread_mutex_lock(&w->jobs_lock);
	j = w->jobs;
	w->jobs = w->jobs_tail = NULL;
	pthread_mutex_unlock(&w->jobs_lock);
	while (j) {
		worker_job_t *n = j->next;

		j->fn(j->arg);
		arena_reset(&w->arena);
		free(j);
		j = n;
	}
}

static void *worker_main(void *arg)
{
	worker_t *w = arg;
	struct epoll_event evs[64];
	char name[16];
	char err[512];
	time_t last_timer = time(NULL);

	snprintf(name, sizeof(name), "w%d", w->idx);
	osp_log_set_thread_name(name);
	net_worker_idx = w->idx;
	cur_worker = w;
	arena_init(&w->arena);
	if (modules_child_init(w->idx) < 0)
		goto fail;
	w->eng = routing_engine();
	w->script = routing_current();
	w->gen = w->script->gen;
	w->inst = w->eng->create(w->script, w->idx, err, sizeof(err));
	if (!w->inst) {
		LOG_ERR("worker %d cannot load the routing script: %s", w->idx,
			err);
		goto fail;
	}
	__atomic_store_n(&w->ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&stopping, __ATOMIC_ACQUIRE)) {
		int n = epoll_wait(w->epfd, evs, 64, 1000);
		time_t now;

		for (int i = 0; i < n; i++) {
			net_ev_t *ev = evs[i].data.ptr;

			switch (ev->kind) {
			case NET_EV_UDP:
				net_handle_udp(ev, on_message, w);
				break;
			case NET_EV_TCP_LISTEN:
				net_handle_tcp_listen(ev, w->epfd);
				break;
			case NET_EV_TCP_CONN:
				net_handle_tcp_conn(ev, evs[i].events,
						    on_message, w);
				break;
			case NET_EV_WAKE:
				run_jobs(w);
				break;
			}
		}
		now = time(NULL);
		if (now != last_timer) {
			last_timer = now;
			net_tcp_timer(w->idx);
			maybe_swap(w); /* idle workers follow reloads too */
		}
	}
	if (w->inst)
		w->eng->destroy(w->inst);
	script_unref(w->script);
	arena_destroy(&w->arena);
	return NULL;
fail:
	__atomic_store_n(&w->ready, -1, __ATOMIC_RELEASE);
	arena_destroy(&w->arena);
	return NULL;
}

int workers_start(int n)
{
	workers = calloc((size_t)n, sizeof(*workers));
	if (!workers)
		return -OSP_ENOMEM;
	n_workers = n;
	osp_onsend_hook = onsend;
	if (latency_init(n) < 0)
		return -OSP_ENOMEM;
	for (int i = 0; i < n; i++) {
		worker_t *w = &workers[i];
		struct epoll_event ee;

		w->idx = i;
		pthread_mutex_init(&w->jobs_lock, NULL);
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->epfd < 0 || w->wakefd < 0)
			return -OSP_EIO;
		w->wake_ev.kind = NET_EV_WAKE;
		w->wake_ev.fd = w->wakefd;
		ee.events = EPOLLIN;
		ee.data.ptr = &w->wake_ev;
		epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ee);
		if (net_worker_register(i, w->epfd) < 0)
			return -OSP_EIO;
	}
	for (int i = 0; i < n; i++) {
		if (pthread_create(&workers[i].th, NULL, worker_main,
				   &workers[i]) != 0)
			return -OSP_EIO;
	}
	/* wait until every worker has its interpreter, so that a script
	 * that cannot start is reported before we announce readiness */
	for (int i = 0; i < n; i++) {
		while (__atomic_load_n(&workers[i].ready, __ATOMIC_ACQUIRE) == 0)
			usleep(1000);
		if (workers[i].ready < 0)
			return -OSP_ESCRIPT;
	}
	return 0;
}

void workers_stop(void)
{
	uint64_t one = 1;

	__atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < n_workers; i++)
		if (write(workers[i].wakefd, &one, sizeof(one)) < 0)
			LOG_DBG("wake write failed: %s", strerror(errno));
	for (int i = 0; i < n_workers; i++) {
		worker_job_t *j, *n;

		pthread_join(workers[i].th, NULL);
		close(workers[i].epfd);
		close(workers[i].wakefd);
		for (j = workers[i].jobs; j; j = n) {
			n = j->next;
			free(j);
		}
		pthread_mutex_destroy(&workers[i].jobs_lock);
	}
	free(workers);
	workers = NULL;
	n_workers = 0;
}
