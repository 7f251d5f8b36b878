/* server.c - the control socket: JSON-RPC 2.0 over a UNIX stream socket.
 *
 * One thread ("rpc") polls the listening socket and its clients. A client
 * sends JSON values one after the other (whitespace or newlines between
 * them are ignored) and receives, for each request that is not a
 * notification, one compact JSON response followed by "\n". Requests of one
 * connection are answered in order; the next request is read only once the
 * previous answer has been written, so a client that does not read cannot
 * make the server buffer without bound.
 *
 * Framing is done by a small scanner that tracks brackets and strings, so a
 * request split over several reads is reassembled without parsing it twice,
 * and a request whose contents are not valid JSON gets a parse error while
 * the connection stays usable. Only bytes that cannot start a request (the
 * first non-blank byte is not '{' or '[') make the server answer with a
 * parse error and close, since there is no way to find the next request.
 *
 * The socket file is created 0600 (umask and fchmod before bind), then
 * given its group and final mode: it is never world-accessible. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/osp.h"
#include "core/rundir.h"
#include "rpc/rpc.h"

#define RPC_IDLE_MS	30000
#define RPC_MAX_REQUEST (1024 * 1024)
#define RPC_MAX_CLIENTS 64
#define RPC_READ_CHUNK	65536

typedef struct rpc_client {
	int fd;
	char *in; /* received bytes not yet consumed */
	size_t in_len, in_cap;
	/* framing scanner state, resumed where the last read stopped */
	size_t head;  /* bytes before head are handled */
	size_t scan;  /* next byte to look at */
	size_t start; /* offset of the request's first byte */
	int started, depth, in_str, esc;
	char *out; /* response being written, "\n" included */
	size_t out_len, out_off;
	long long last_ms; /* last progress, for the idle timeout */
	int eof;	   /* the peer will send nothing more */
	int closing;	   /* close once out is written */
} rpc_client_t;

static struct {
	int lfd;
	int wake[2];
	pthread_t thread;
	int running;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	rpc_client_t *cl;
	int ncl;
} srv = {.lfd = -1, .wake = {-1, -1}};

static int cfg_idle_ms = RPC_IDLE_MS;
static size_t cfg_max_request = RPC_MAX_REQUEST;
static int cfg_max_clients = RPC_MAX_CLIENTS;

void rpc_server_set_limits(int idle_ms, size_t max_request, int max_clients)
{
	cfg_idle_ms = idle_ms > 0 ? idle_ms : RPC_IDLE_MS;
	cfg_max_request = max_request ? max_request : RPC_MAX_REQUEST;
	cfg_max_clients = max_clients > 0 ? max_clients : RPC_MAX_CLIENTS;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- clients ----------------------------------------------------------- */

static void client_close(rpc_client_t *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Queue a response (takes text, which rpc_handle malloc'ed) with its
 * newline. Returns -1 when out of memory: the client is then closed. */
static int client_queue(rpc_client_t *c, char *text)
{
	size_t n = strlen(text);
	char *buf = malloc(n + 1);

	if (!buf) {
		free(text);
		return -1;
	}
	memcpy(buf, text, n);
	buf[n] = '\n';
	free(text);
	free(c->out);
	c->out = buf;
	c->out_len = n + 1;
	c->out_off = 0;
	return 0;
}

/* A fixed error answer for framing problems, then close (at once when even
 * the answer cannot be allocated). */
static void client_fail(rpc_client_t *c, int code, const char *msg)
{
	char *text;

	c->closing = 1;
	if (asprintf(&text,
		     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":%d,"
		     "\"message\":\"%s\"},\"id\":null}",
		     code, msg) >= 0)
		client_queue(c, text);
}

/* Write what the socket takes. Returns -1 when the client is gone. */
static int client_flush(rpc_client_t *c)
{
	ssize_t n;

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		c->out_off += (size_t)n;
		c->last_ms = now_ms();
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return 0;
}

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Look for the end of the next request in the buffer. Returns 1 with *end
 * set (one past the closing bracket; the request starts at c->start), 0
 * when more bytes are needed, -1 when the bytes cannot be a request. The
 * brackets are only counted; pairing them is left to the JSON parser. */
static int client_frame(rpc_client_t *c, size_t *end)
{
	for (; c->scan < c->in_len; c->scan++) {
		char ch = c->in[c->scan];

		if (!c->started) {
			if (is_blank(ch))
				continue;
			if (ch != '{' && ch != '[')
				return -1;
			c->started = 1;
			c->start = c->scan;
			c->depth = 1;
		} else if (c->in_str) {
			if (c->esc)
				c->esc = 0;
			else if (ch == '\\')
				c->esc = 1;
			else if (ch == '"')
				c->in_str = 0;
		} else if (ch == '"') {
			c->in_str = 1;
		} else if (ch == '{' || ch == '[') {
			c->depth++;
		} else if ((ch == '}' || ch == ']') && --c->depth == 0) {
			*end = ++c->scan;
			return 1;
		}
	}
	return 0;
}

/* Mark the input up to end as handled and reset the scanner. The bytes
 * stay in the buffer until the next read compacts it, so that a burst of
 * pipelined requests is not moved once per request. */
static void client_consume(rpc_client_t *c, size_t end)
{
	c->head = c->scan = end;
	c->start = 0;
	c->started = c->depth = c->in_str = c->esc = 0;
}

/* Drop what is handled, and the blanks before a partial request, so that
 * the buffer holds exactly the partial request (counted by the size
 * limit). */
static void client_compact(rpc_client_t *c)
{
	size_t drop = c->started ? c->start : c->head;

	if (drop) {
		memmove(c->in, c->in + drop, c->in_len - drop);
		c->in_len -= drop;
		c->scan -= drop;
		c->start = 0;
		c->head = 0;
	}
	if (!c->in_len && c->in_cap > RPC_READ_CHUNK) {
		/* give back what a large request needed */
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
}

/* Write the pending answer, then answer the requests that are complete,
 * one at a time, stopping while an answer is still being written (the
 * socket is full: POLLOUT calls this again). Returns -1 when the client
 * must be closed now.
 *
 * Every answer, the last one included, is followed by the next request in
 * the same loop: the input may already hold every remaining request (the
 * socket then stays silent), so stopping after an answer that got written
 * would leave them unanswered until the client sends something more. A
 * framing error queues its answer (client_fail) and goes round once more
 * to write it; closing then ends the loop. */
static int client_process(rpc_client_t *c)
{
	size_t end;
	char *resp;
	int r;

	for (;;) {
		if (c->out_len && client_flush(c) < 0)
			return -1;
		if (c->out_len || c->closing)
			break;
		r = client_frame(c, &end);
		if (r < 0) {
			client_fail(c, RPC_E_PARSE,
				    "Parse error: a request must be a JSON "
				    "object or array");
			continue;
		}
		if (r == 0) {
			if (!c->started) {
				c->head = c->in_len; /* only blanks left */
				if (c->eof)
					return -1;
				break;
			}
			if (c->in_len - c->start > cfg_max_request)
				client_fail(c, RPC_E_INVALID_REQUEST,
					    "Invalid Request: request too "
					    "large");
			else if (c->eof)
				client_fail(c, RPC_E_PARSE,
					    "Parse error: incomplete request");
			else
				break; /* the rest is still to come */
			continue;
		}
		if (end - c->start > cfg_max_request) {
			client_fail(c, RPC_E_INVALID_REQUEST,
				    "Invalid Request: request too large");
			continue;
		}
		resp = rpc_handle(c->in + c->start, end - c->start);
		client_consume(c, end);
		if (resp && client_queue(c, resp) < 0)
			return -1;
	}
	if (c->closing && !c->out_len)
		return -1;
	return 0;
}

/* Read what is available and answer it. Reads are bounded so that the
 * buffer never holds more than the size limit plus one byte: enough to
 * see that a request is too large. Returns -1 when the client must be
 * closed. */
static int client_read(rpc_client_t *c)
{
	size_t want;
	ssize_t n;

	client_compact(c);
	want =
	    c->in_len <= cfg_max_request ? cfg_max_request + 1 - c->in_len : 0;
	if (want > RPC_READ_CHUNK)
		want = RPC_READ_CHUNK;
	if (want == 0)
		return client_process(c);
	if (c->in_cap - c->in_len < want) {
		size_t cap = c->in_len + want;
		char *p = realloc(c->in, cap);

		if (!p)
			return -1;
		c->in = p;
		c->in_cap = cap;
	}
	n = recv(c->fd, c->in + c->in_len, want, 0);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		c->eof = 1;
	c->in_len += (size_t)n;
	c->last_ms = now_ms();
	return client_process(c);
}

static void server_accept(void)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	rpc_client_t *c;
	int fd;

	for (;;) {
		fd = accept4(srv.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				LOG_RATE(L_ERR, "rpc accept: %s",
					 strerror(errno));
			return;
		}
		if (srv.ncl >= cfg_max_clients) {
			static const char busy[] =
			    "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32603,"
			    "\"message\":\"too many control clients\"},"
			    "\"id\":null}\n";

			LOG_RATE(L_WARN, "rpc: too many clients (limit %d)",
				 cfg_max_clients);
			if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL) < 0)
				LOG_DBG(
				    "rpc: cannot tell a client we are busy");
			close(fd);
			continue;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
			LOG_DBG("rpc: client pid %d uid %u", (int)cred.pid,
				(unsigned)cred.uid);
		c = &srv.cl[srv.ncl++];
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->last_ms = now_ms();
	}
}

/* ---- the thread -------------------------------------------------------- */

static void *server_main(void *arg)
{
	struct pollfd *pfd;
	int i, n, timeout;
	long long now;

	osp_log_set_thread_name("rpc");
	pfd = calloc((size_t)cfg_max_clients + 2, sizeof(*pfd));
	if (!pfd) {
		LOG_CRIT("rpc: out of memory, control socket disabled");
		return NULL;
	}
	for (;;) {
		pfd[0].fd = srv.wake[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = srv.lfd;
		pfd[1].events = POLLIN;
		now = now_ms();
		timeout = cfg_idle_ms;
		for (i = 0; i < srv.ncl; i++) {
			rpc_client_t *c = &srv.cl[i];
			long long left = c->last_ms + cfg_idle_ms - now;

			pfd[i + 2].fd = c->fd;
			pfd[i + 2].events = c->out_len ? POLLOUT
					    : c->eof   ? 0
						       : POLLIN;
			pfd[i + 2].revents = 0;
			if (left < timeout)
				timeout = left < 0 ? 0 : (int)left;
		}
		n = poll(pfd, (nfds_t)srv.ncl + 2, timeout);
		if (n < 0 && errno != EINTR) {
			LOG_ERR("rpc poll: %s", strerror(errno));
			break;
		}
		if (n > 0 && (pfd[0].revents & POLLIN))
			break;
		now = now_ms();
		for (i = 0; n > 0 && i < srv.ncl; i++) {
			rpc_client_t *c = &srv.cl[i];
			short re = pfd[i + 2].revents;
			int rc = 0;

			if (!re)
				continue;
			if (re & POLLNVAL)
				rc = -1;
			else if (re & POLLOUT)
				rc = client_process(c);
			else if (re & (POLLIN | POLLHUP | POLLERR))
				rc = client_read(c);
			if (rc < 0)
				client_close(c);
		}
		for (i = 0; i < srv.ncl; i++) {
			rpc_client_t *c = &srv.cl[i];

			if (c->fd >= 0 && now - c->last_ms >= cfg_idle_ms) {
				LOG_DBG("rpc: closing idle client");
				client_close(c);
			}
		}
		/* compact the table; pollfd slots are rebuilt next round */
		for (i = 0; i < srv.ncl;) {
			if (srv.cl[i].fd < 0)
				srv.cl[i] = srv.cl[--srv.ncl];
			else
				i++;
		}
		if (n > 0 && (pfd[1].revents & POLLIN))
			server_accept();
	}
	free(pfd);
	return NULL;
}

/* ---- start and stop ---------------------------------------------------- */

/* A group name, or a number. */
static int resolve_group(const char *group, gid_t *gid)
{
	struct group gr, *res = NULL;
	size_t len = 4096;
	char *buf = NULL, *end;
	unsigned long n;
	int rc = -OSP_EINVAL, e;

	for (;;) {
		char *p = realloc(buf, len);

		if (!p) {
			rc = -OSP_ENOMEM;
			goto out;
		}
		buf = p;
		e = getgrnam_r(group, &gr, buf, len, &res);
		if (e != ERANGE || len >= (1 << 20))
			break;
		len *= 2;
	}
	if (e == 0 && res) {
		*gid = res->gr_gid;
		rc = 0;
		goto out;
	}
	errno = 0;
	n = strtoul(group, &end, 10);
	if (*group >= '0' && *group <= '9' && !*end && !errno &&
	    n <= UINT_MAX) {
		*gid = (gid_t)n;
		rc = 0;
		goto out;
	}
	LOG_ERR("rpc socket group \"%s\" not found", group);
out:
	free(buf);
	return rc;
}

/* Make sure the socket's directory exists and belongs to us (or root):
 * a directory squatted by another user in /tmp could let them replace our
 * socket. Only the last component is created: 0700, or 0750 with the group
 * so that its members can reach the socket. */
static int prepare_dir(const char *path, const char *group, gid_t gid)
{
	char dir[sizeof(srv.path)];
	char *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return 0; /* relative name in the current directory */
	if (slash == dir)
		return 0; /* in "/" */
	*slash = '\0';
	if (stat(dir, &st) < 0) {
		if (errno != ENOENT || mkdir(dir, group ? 0750 : 0700) < 0) {
			LOG_ERR("rpc socket directory %s: %s", dir,
				strerror(errno));
			return -OSP_EIO;
		}
		if (group && chown(dir, (uid_t)-1, gid) < 0)
			LOG_WARN("rpc socket directory %s: cannot set group "
				 "%s: %s",
				 dir, group, strerror(errno));
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		LOG_ERR("rpc socket directory %s is not a directory", dir);
		return -OSP_EIO;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		LOG_ERR("rpc socket directory %s belongs to uid %u, not to us",
			dir, (unsigned)st.st_uid);
		return -OSP_EIO;
	}
	return 0;
}

/* Remove a socket left by an earlier run. Anything that is not a socket,
 * or a socket some process still listens on, is left alone and the start
 * fails. */
static int remove_stale(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, rc = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -OSP_EIO;
	if (!S_ISSOCK(st.st_mode)) {
		LOG_ERR("rpc socket %s exists and is not a socket; not "
			"removing it",
			path);
		return -OSP_EIO;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -OSP_EIO;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		LOG_ERR("rpc socket %s is in use by another process", path);
		rc = -OSP_EIO;
	} else if (errno != ECONNREFUSED) {
		LOG_ERR("rpc socket %s: %s", path, strerror(errno));
		rc = -OSP_EIO;
	} else if (unlink(path) < 0 && errno != ENOENT) {
		LOG_ERR("rpc socket %s: cannot remove stale socket: %s", path,
			strerror(errno));
		rc = -OSP_EIO;
	} else {
		LOG_INFO("rpc: removed stale socket %s", path);
	}
	close(fd);
	return rc;
}

/* Create, bind and listen. The file exists only with mode 0600 until its
 * group is set; chmod then opens it to the group when asked. */
static int open_socket(const char *path, const char *group, gid_t gid, int mode)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old;
	int fd, rc;

	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		LOG_ERR("rpc socket: %s", strerror(errno));
		return -OSP_EIO;
	}
	/* Linux takes the file mode from the socket inode, masked by the
	 * umask. The umask is process-wide: another thread creating a file
	 * meanwhile only gets a stricter mode. */
	if (fchmod(fd, 0600) < 0)
		LOG_DBG("rpc socket: fchmod: %s", strerror(errno));
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0) {
		LOG_ERR("rpc socket %s: bind: %s", path, strerror(errno));
		goto fail;
	}
	if (group && chown(path, (uid_t)-1, gid) < 0) {
		LOG_ERR("rpc socket %s: cannot set group %s: %s", path, group,
			strerror(errno));
		goto fail_unlink;
	}
	if (chmod(path, (mode_t)mode) < 0 || stat(path, &st) < 0) {
		LOG_ERR("rpc socket %s: chmod: %s", path, strerror(errno));
		goto fail_unlink;
	}
	if (listen(fd, 16) < 0) {
		LOG_ERR("rpc socket %s: listen: %s", path, strerror(errno));
		goto fail_unlink;
	}
	srv.dev = st.st_dev;
	srv.ino = st.st_ino;
	return fd;
fail_unlink:
	unlink(path);
fail:
	close(fd);
	return -OSP_EIO;
}

int rpc_server_start(const char *path, const char *group, int mode)
{
	sigset_t all, old;
	gid_t gid = 0;
	int rc;

	if (srv.running)
		return -OSP_EINVAL;
	if (!path || !*path)
		path = osp_default_rpc_socket();
	if (group && !*group)
		group = NULL;
	if (!mode)
		mode = group ? 0660 : 0600;
	if (strlen(path) >= sizeof(srv.path)) {
		LOG_ERR("rpc socket path too long (max %zu bytes): %s",
			sizeof(srv.path) - 1, path);
		return -OSP_EINVAL;
	}
	if (mode & ~0770) {
		LOG_ERR("rpc socket mode %o refused: it must not give access "
			"to other users",
			(unsigned)mode);
		return -OSP_EINVAL;
	}
	if (group && (rc = resolve_group(group, &gid)) < 0)
		return rc;
	if ((rc = prepare_dir(path, group, gid)) < 0 ||
	    (rc = remove_stale(path)) < 0)
		return rc;
	srv.cl = calloc((size_t)cfg_max_clients, sizeof(*srv.cl));
	if (!srv.cl)
		return -OSP_ENOMEM;
	srv.ncl = 0;
	srv.lfd = open_socket(path, group, gid, mode);
	if (srv.lfd < 0) {
		rc = srv.lfd;
		goto fail;
	}
	snprintf(srv.path, sizeof(srv.path), "%s", path);
	if (pipe2(srv.wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		rc = -OSP_EIO;
		goto fail;
	}
	/* the control thread takes no signals: they belong to main */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&srv.thread, NULL, server_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		LOG_ERR("rpc: cannot start thread: %s", strerror(rc));
		rc = -OSP_ENOMEM;
		goto fail;
	}
	srv.running = 1;
	LOG_INFO("rpc: listening on %s (mode %04o%s%s)", path, (unsigned)mode,
		 group ? ", group " : "", group ? group : "");
	return 0;
fail:
	if (srv.lfd >= 0) {
		close(srv.lfd);
		unlink(path);
	}
	for (int i = 0; i < 2; i++) {
		if (srv.wake[i] >= 0)
			close(srv.wake[i]);
		srv.wake[i] = -1;
	}
	srv.lfd = -1;
	free(srv.cl);
	srv.cl = NULL;
	return rc;
}

/* Stop the thread, close every connection and remove the socket file, but
 * only if it is still ours (a newer instance may have replaced it). */
void rpc_server_stop(void)
{
	struct stat st;
	char b = 1;

	if (!srv.running)
		return;
	if (write(srv.wake[1], &b, 1) < 0)
		LOG_WARN("rpc: cannot wake the control thread");
	pthread_join(srv.thread, NULL);
	for (int i = 0; i < srv.ncl; i++)
		client_close(&srv.cl[i]);
	free(srv.cl);
	srv.cl = NULL;
	srv.ncl = 0;
	close(srv.lfd);
	srv.lfd = -1;
	close(srv.wake[0]);
	close(srv.wake[1]);
	srv.wake[0] = srv.wake[1] = -1;
	if (lstat(srv.path, &st) == 0 && st.st_dev == srv.dev &&
	    st.st_ino == srv.ino)
		unlink(srv.path);
	srv.running = 0;
}
