/* worker.h - worker threads: one event loop and one interpreter each. */
#ifndef OSP_WORKER_H
#define OSP_WORKER_H

int workers_start(int n);
/* Ask every worker to stop after the message in hand, and wait for them. */
void workers_stop(void);
void worker_stats_register(void);
/* Compile log_prefix (pseudo-variables allowed); 0 or -1 with err. */
int worker_set_log_prefix(const char *text, char *err, size_t errlen);

#endif
