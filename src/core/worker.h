/* worker.h - worker threads: one event loop and one interpreter each. */
#ifndef OSP_WORKER_H
#define OSP_WORKER_H

int workers_start(int n);
/* Ask every worker to stop after the message in hand, and wait for them. */
void workers_stop(void);
/* Run the routing of one received message in the calling worker (also used
 * by tests). */
void worker_stats_register(void);

#endif
