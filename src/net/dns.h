/* dns.h - RFC 3263 next-hop resolution (NAPTR, SRV, A/AAAA) with a cache.
 *
 * dns_resolve_uri() turns a SIP URI into the ordered list of destinations a
 * client tries in turn: the first one for the request, the next one when a
 * transaction times out or gets a 503 (RFC 3263 §4.3). Lookups go through
 * c-ares; answers are cached per (record type, name) for their TTL.
 *
 * Resolution is blocking in this version: the calling worker waits for the
 * answers, bounded by a total timeout per call (dns_set_timeout). A cache hit
 * costs no I/O. All functions are thread-safe. */
#ifndef OSP_NET_DNS_H
#define OSP_NET_DNS_H

#include <stddef.h>

#include "net/net.h"

#define DNS_MAX_DESTS 16

/* Candidates in failover order. d[i].from is NULL and d[i].conn_id 0: the
 * sender picks a socket. */
typedef struct net_dest_list {
	net_dest_t d[DNS_MAX_DESTS];
	int n;
} net_dest_list_t;

/* Resolve a SIP/SIPS URI (host or maddr) per RFC 3263 §4:
 * - IP literal: that address; port from the URI or 5060 (5061 for TLS);
 *   transport from ;transport=, else UDP (TLS for sips:).
 * - host name with a port: A/AAAA only, transport as above.
 * - host name with ;transport= and no port: SRV for that transport, else
 *   A/AAAA with the default port.
 * - host name alone: NAPTR (SIP+D2U, SIP+D2T, SIPS+D2T), else SRV for each
 *   supported transport (_sip._udp, _sip._tcp; _sips._tcp for sips:), else
 *   A/AAAA with the default port and UDP (TLS for sips:).
 * Names listed in the hosts file are taken as pinned: their addresses are
 * used directly, without NAPTR or SRV. SRV records are ordered by priority,
 * then by RFC 2782 weighted random selection within a priority, so calls
 * spread over equal-priority targets. Each target gives its IPv4 addresses,
 * then its IPv6 ones. Duplicates are dropped; at most DNS_MAX_DESTS.
 *
 * Returns the number of candidates (> 0), or -OSP_EINVAL (tel: URI, bad
 * host, transport not supported - TLS included for now), -OSP_ENOTFOUND (no
 * such name or no usable record), -OSP_EIO (timeout, server failure), with
 * a one-line reason in err (may be NULL). */
int dns_resolve_uri(const sip_uri_t *uri, net_dest_list_t *out, char *err,
		    size_t errlen);

/* Name servers as "ip[:port],ip[:port]" ("127.0.0.1:5353", "[::1]:53").
 * NULL or "" goes back to the environment variable OSP_DNS_SERVERS if set,
 * else to /etc/resolv.conf. Takes effect on each thread's next lookup.
 * Returns 0 or -OSP_EINVAL when the list does not parse (nothing changes). */
int dns_set_servers(const char *csv);

/* Total time a dns_resolve_uri() call may wait for the network (all its
 * lookups together) and the number of tries per query. Defaults: 2000 ms, 2
 * tries. Values < 1 keep the current setting. */
void dns_set_timeout(int total_ms, int tries);

/* Cache limits in seconds: a positive answer is kept for min(TTL, max_ttl)
 * (TTL 0: not cached); a negative one (NXDOMAIN, no record of that type) for
 * neg_ttl. Defaults: 3600 and 30. Values < 0 keep the current setting; 0
 * disables that kind of caching. */
void dns_set_cache_ttl(int max_ttl, int neg_ttl);

/* Let NAPTR SIPS+D2T, _sips._tcp, sips: and ;transport=tls produce TLS
 * candidates. Off until a TLS transport exists: such URIs fail clearly and
 * NAPTR/SRV TLS records are skipped. */
void dns_set_tls(int enabled);

/* Drop every cached answer. */
void dns_cache_flush(void);
/* Number of cached (type, name) entries, expired ones included until they
 * are swept. */
int dns_cache_count(void);

/* Register the dns:queries, dns:cache_hits and dns:failures counters (also
 * done on first use; call it at start so they show from the beginning).
 * Idempotent. */
void dns_init(void);
/* Free the cache and the calling thread's resolver channel (other threads'
 * channels are freed when they exit). */
void dns_destroy(void);

/* "udp:192.0.2.1:5060" / "tcp:[2001:db8::1]:5060" for logs. Returns buf. */
char *dns_dest_str(const net_dest_t *d, char *buf, size_t len);

#endif
