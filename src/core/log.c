/* log.c - leveled, rate-limited logging to stderr. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/log.h"

int osp_log_level = L_INFO;

static _Thread_local char thread_name[16] = "main";
static _Thread_local const char *log_prefix;

static const char *level_name(int level)
{
	switch (level) {
	case L_CRIT: return "CRIT";
	case L_ERR: return "ERROR";
	case L_WARN: return "WARNING";
	case L_NOTICE: return "NOTICE";
	case L_INFO: return "INFO";
	default: return "DEBUG";
	}
}

void osp_log_set_thread_name(const char *name)
{
	snprintf(thread_name, sizeof(thread_name), "%s", name);
}

const char *osp_log_thread_name(void)
{
	return thread_name;
}

void osp_log_set_prefix(const char *prefix)
{
	log_prefix = prefix;
}

/* The module is the source file's folder ("sl", "core", "lua") and the file:
 * "src/modules/sl/sl.c" -> "sl/sl.c". */
static const char *short_file(const char *file)
{
	const char *p = strstr(file, "src/");

	if (p)
		file = p + 4;
	if (strncmp(file, "modules/", 8) == 0)
		file += 8;
	return file;
}

void osp_vlog(int level, const char *file, int line, const char *fmt, va_list ap)
{
	char msg[2048];
	int n;
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(msg, sizeof(msg),
		     "%02d:%02d:%02d.%03ld %s [%s] %s:%d: %s", tm.tm_hour,
		     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		     level_name(level), thread_name, short_file(file), line,
		     log_prefix ? log_prefix : "");
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	n = (int)strlen(msg);
	/* one write per line so that threads do not interleave */
	if (n > 0 && msg[n - 1] == '\n')
		n--;
	msg[n] = '\n';
	fwrite(msg, 1, (size_t)n + 1, stderr);
}

void osp_log(int level, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	osp_vlog(level, file, line, fmt, ap);
	va_end(ap);
}

int osp_ratelimit_allow(osp_ratelimit_t *rl, const char *what, const char *file,
			int line)
{
	struct timespec ts;
	long now;
	int allow = 0;
	unsigned summary = 0;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = ts.tv_sec;
	while (__atomic_exchange_n(&rl->lock, 1, __ATOMIC_ACQUIRE))
		;
	if (rl->window != now) {
		summary = rl->suppressed;
		rl->suppressed = 0;
		rl->window = now;
		rl->logged = 0;
	}
	if (rl->logged < OSP_LOG_BURST) {
		rl->logged++;
		allow = 1;
	} else {
		rl->suppressed++;
	}
	__atomic_store_n(&rl->lock, 0, __ATOMIC_RELEASE);
	if (summary)
		osp_log(L_WARN, file, line,
			"%s%s%u similar messages suppressed in the last period",
			what, *what ? ": " : "", summary);
	return allow;
}
