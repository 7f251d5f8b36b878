/* log.h - leveled logging to stderr.
 *
 * Every line carries the level, the worker (thread) name and the source
 * module:line. The level is tested before any formatting happens. Per-packet
 * errors go through LOG_RATE so a flood of garbage cannot flood the log. */
#ifndef OSP_LOG_H
#define OSP_LOG_H

#include <stdarg.h>

enum {
	L_CRIT = -2,
	L_ERR = -1,
	L_WARN = 0,
	L_NOTICE = 1,
	L_INFO = 2,
	L_DBG = 3,
};

extern int osp_log_level;

void osp_log(int level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void osp_vlog(int level, const char *file, int line, const char *fmt, va_list ap);
/* Name shown for the calling thread ("main", "w0", "rpc", ...). */
void osp_log_set_thread_name(const char *name);
const char *osp_log_thread_name(void);
/* Optional per-message prefix (log_prefix); set and cleared by the worker. */
void osp_log_set_prefix(const char *prefix);

#define LOG_AT(lvl, ...)                                                       \
	do {                                                                   \
		if (osp_log_level >= (lvl))                                    \
			osp_log((lvl), __FILE__, __LINE__, __VA_ARGS__);       \
	} while (0)
#define LOG_CRIT(...) LOG_AT(L_CRIT, __VA_ARGS__)
#define LOG_ERR(...) LOG_AT(L_ERR, __VA_ARGS__)
#define LOG_WARN(...) LOG_AT(L_WARN, __VA_ARGS__)
#define LOG_NOTICE(...) LOG_AT(L_NOTICE, __VA_ARGS__)
#define LOG_INFO(...) LOG_AT(L_INFO, __VA_ARGS__)
#define LOG_DBG(...) LOG_AT(L_DBG, __VA_ARGS__)

/* Rate-limited logging for per-packet errors. Each call site owns a limiter:
 * the first OSP_LOG_BURST events in a one-second window are logged in full,
 * later ones are only counted and summarised once the window ends. */
#define OSP_LOG_BURST 5
typedef struct osp_ratelimit {
	long window;         /* second of the current window */
	unsigned logged;     /* lines written in the window */
	unsigned suppressed; /* events not logged since the last summary */
	int lock;            /* spin flag, atomics only */
} osp_ratelimit_t;

/* Returns 1 when the caller may log this event. Thread-safe. */
int osp_ratelimit_allow(osp_ratelimit_t *rl, const char *what, const char *file,
			int line);

#define LOG_RATE(lvl, ...)                                                     \
	do {                                                                   \
		static osp_ratelimit_t rl_;                                    \
		if (osp_log_level >= (lvl) &&                                  \
		    osp_ratelimit_allow(&rl_, "", __FILE__, __LINE__))        \
			osp_log((lvl), __FILE__, __LINE__, __VA_ARGS__);       \
	} while (0)

#endif
