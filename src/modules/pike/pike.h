/* pike.h - request density per source address (Kamailio's pike module).
 *
 * Each address (IPv4, or IPv6; an IPv4-mapped IPv6 address counts as its
 * IPv4 address) has two counters: requests in the previous and in the
 * current sampling unit (sampling_time_unit seconds, units aligned on the
 * clock). An address is "hot" when either counter, or their average,
 * reaches reqs_density_per_unit. Counters roll over lazily when the address
 * is seen and on the module's timer, which also forgets addresses idle for
 * remove_latency seconds and reports unblocked ones.
 *
 * Thread-safe: addresses live in a hash table with one lock per bucket. */
#ifndef OSP_PIKE_H
#define OSP_PIKE_H

#include <stdint.h>

/* Count one request from addr (4 bytes for AF_INET, 16 for AF_INET6).
 * Returns 1 (not blocked, or internal error: Kamailio never reports an
 * address blocked because of its own trouble), -2 when the address has
 * just become hot (first detection), -1 when it was already blocked. */
int pike_check_addr(int family, const void *addr);

/* The timer job: roll counters, unblock, forget idle addresses. */
void pike_sweep(void);

/* Number of addresses tracked (tests, RPC). */
unsigned long pike_count(void);

/* The clock (ms, default osp_now_ms). For tests. */
void pike_set_clock(uint64_t (*now_ms)(void));

#endif
