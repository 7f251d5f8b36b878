/* nh_ping.c - NAT keepalives driven by the location table, as Kamailio's
 * nathelper sends them.
 *
 * Every second the timer hands one pass to a worker. A pass walks one
 * partition of usrloc's slots (natping_interval partitions, so each
 * contact is pinged once per natping_interval seconds and the work is
 * spread over the interval), copying the contacts to ping while each slot
 * is locked, then sends without any lock held:
 *   - a SIP request (sipping_method, OPTIONS by default) to contacts whose
 *     branch flags include sipping_bflag (to every contact when
 *     ping_nated_only is 0 and sipping_bflag is set);
 *   - else a UDP datagram of 4 zero bytes.
 * The destination is the received address when the contact has one, else
 * the Contact URI (the first Path hop for SIP pings of contacts registered
 * through a Path); only UDP destinations are pinged. The socket is
 * force_socket, else the one the REGISTER came in on.
 *
 * Replies to the SIP pings are recognised (a single Via, our CSeq method
 * and our Call-ID prefix) and absorbed by a reply hook chained in front of
 * the transaction layer's. With keepalive_timeout, a contact pinged by SIP
 * that has not answered (nor re-registered) for that many seconds is
 * removed from the location table. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "core/stats.h"
#include "core/timer.h"
#include "core/worker.h"
#include "modules/nathelper/nh_int.h"
#include "modules/usrloc/ul.h"
#include "net/net.h"

static OSP_COUNTER(st_sip_sent, "nathelper", "sipping_sent");
static OSP_COUNTER(st_udp_sent, "nathelper", "udpping_sent");
static OSP_COUNTER(st_replies, "nathelper", "sipping_replies");
static OSP_COUNTER(st_expired, "nathelper", "keepalive_expired");

static int ping_state = -1; /* -1 not configured, 0 off, 1 on */
static unsigned nat_mask, sipping_mask, disable_mask;
static char callid_prefix[12];
static size_t callid_prefix_len;
static unsigned ping_counter;
static unsigned iteration; /* timer thread only */
static net_listener_t *force_lst;
static int raw_fd = -1;
static sip_sockaddr_t raw_src;
static osp_reply_hook_fn prev_reply_hook;
static int hook_installed;

/* ---- keepalive_timeout: when each SIP-pinged contact last answered ---- */

#define KA_BUCKETS 1024

typedef struct ka_entry {
	struct ka_entry *next;
	time_t last;  /* last reply, or the registration time */
	time_t stamp; /* last pass that saw the contact */
	size_t len;
	char ruid[];
} ka_entry_t;

static ka_entry_t *ka_tab[KA_BUCKETS];
static pthread_mutex_t ka_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t ka_pruned;

static unsigned ka_hash(str_t s)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < s.len; i++) {
		h ^= (unsigned char)s.s[i];
		h *= 16777619u;
	}
	return h % KA_BUCKETS;
}

/* The entry of ruid; created (last = init) when create. Lock held. */
static ka_entry_t *ka_get(str_t ruid, int create, time_t init)
{
	unsigned b = ka_hash(ruid);
	ka_entry_t *e;

	for (e = ka_tab[b]; e; e = e->next)
		if (e->len == ruid.len &&
		    memcmp(e->ruid, ruid.s, ruid.len) == 0)
			return e;
	if (!create)
		return NULL;
	e = malloc(sizeof(*e) + ruid.len);
	if (!e)
		return NULL;
	memcpy(e->ruid, ruid.s, ruid.len);
	e->len = ruid.len;
	e->last = init;
	e->stamp = init;
	e->next = ka_tab[b];
	ka_tab[b] = e;
	return e;
}

static void ka_seen(str_t ruid, time_t now)
{
	ka_entry_t *e;

	pthread_mutex_lock(&ka_lock);
	e = ka_get(ruid, 1, now);
	if (e)
		e->last = now;
	pthread_mutex_unlock(&ka_lock);
}

/* 1 when the contact has been silent longer than keepalive_timeout. A
 * registration newer than the last answer counts as one. */
static int ka_expired(str_t ruid, time_t registered, time_t now)
{
	ka_entry_t *e;
	int dead = 0;

	pthread_mutex_lock(&ka_lock);
	e = ka_get(ruid, 1, registered ? registered : now);
	if (e) {
		if (registered > e->last)
			e->last = registered;
		e->stamp = now;
		dead = now - e->last > nh_keepalive_timeout;
	}
	pthread_mutex_unlock(&ka_lock);
	return dead;
}

/* Forget contacts no pass has seen for a while (gone from usrloc). */
static void ka_prune(time_t now)
{
	time_t old = now - 2 * (time_t)nh_natping_interval -
		     (time_t)nh_keepalive_timeout - 60;

	pthread_mutex_lock(&ka_lock);
	if (now - ka_pruned >= 60) {
		ka_pruned = now;
		for (int b = 0; b < KA_BUCKETS; b++) {
			ka_entry_t **pp = &ka_tab[b];

			while (*pp) {
				ka_entry_t *e = *pp;

				if (e->stamp < old) {
					*pp = e->next;
					free(e);
				} else {
					pp = &e->next;
				}
			}
		}
	}
	pthread_mutex_unlock(&ka_lock);
}

static void ka_free(void)
{
	pthread_mutex_lock(&ka_lock);
	for (int b = 0; b < KA_BUCKETS; b++) {
		while (ka_tab[b]) {
			ka_entry_t *e = ka_tab[b];

			ka_tab[b] = e->next;
			free(e);
		}
	}
	pthread_mutex_unlock(&ka_lock);
}

/* ---- collecting the contacts to ping ---- */

typedef struct ping_ent {
	ul_domain_t *d;
	str_t uri, received, path, socket, ruid;
	unsigned cflags;
	uint32_t aorhash;
	time_t registered;
} ping_ent_t;

typedef struct ping_vec {
	ping_ent_t **v;
	int n, cap;
	int nomem;
} ping_vec_t;

static str_t pack(char **p, str_t s)
{
	str_t r = {*p, s.len};

	if (s.len)
		memcpy(*p, s.s, s.len);
	*p += s.len;
	return r;
}

/* usrloc walk callback (slot lock held): copy what the send needs. */
static void collect(ul_domain_t *d, const ul_record_t *r, const ul_contact_t *c,
		    void *arg)
{
	ping_vec_t *pv = arg;
	ping_ent_t *e;
	char *p;

	if (c->cflags & disable_mask)
		return;
	if (pv->n == pv->cap) {
		int cap = pv->cap ? pv->cap * 2 : 64;
		ping_ent_t **nv = realloc(pv->v, sizeof(*nv) * (size_t)cap);

		if (!nv) {
			pv->nomem = 1;
			return;
		}
		pv->v = nv;
		pv->cap = cap;
	}
	e = malloc(sizeof(*e) + c->c.len + c->received.len + c->path.len +
		   c->socket.len + c->ruid.len);
	if (!e) {
		pv->nomem = 1;
		return;
	}
	p = (char *)(e + 1);
	e->d = d;
	e->uri = pack(&p, c->c);
	e->received = pack(&p, c->received);
	e->path = pack(&p, c->path);
	e->socket = pack(&p, c->socket);
	e->ruid = pack(&p, c->ruid);
	e->cflags = c->cflags;
	e->aorhash = r->hash;
	e->registered = c->last_modified;
	pv->v[pv->n++] = e;
}

/* ---- sending ---- */

static net_listener_t *listener_named(str_t name)
{
	for (net_listener_t *l = net_listeners; l; l = l->next)
		if (str_eq_cstr(name, l->name))
			return l;
	return NULL;
}

/* force_socket: "udp:ip:port", "ip:port" or "ip" (first UDP port). */
static net_listener_t *listener_spec(const char *spec)
{
	char buf[128];
	net_listener_t *l;
	str_t s = str_from(spec);

	if ((l = listener_named(s)))
		return l;
	snprintf(buf, sizeof(buf), "udp:%s", spec);
	if ((l = listener_named(str_from(buf))))
		return l;
	for (l = net_listeners; l; l = l->next)
		if (l->proto == SIP_PROTO_UDP &&
		    (str_eq_cstr(s, l->ip) || str_eq_cstr(s, l->host)))
			return l;
	return NULL;
}

/* The first URI of a Path vector ("<sip:a;lr>,<sip:b;lr>"). */
static str_t path_first(str_t path)
{
	const char *lt = memchr(path.s, '<', path.len), *gt;

	if (!lt)
		return STR_NULL;
	gt = memchr(lt, '>', (size_t)(path.s + path.len - lt));
	if (!gt)
		return STR_NULL;
	return (str_t){lt + 1, (size_t)(gt - lt - 1)};
}

int nh_build_sipping(char *buf, size_t cap, str_t uri, str_t path, str_t ruid,
		     uint32_t aorhash, const net_listener_t *l)
{
	unsigned n = __atomic_add_fetch(&ping_counter, 1, __ATOMIC_RELAXED);
	const char *host = "127.0.0.1",
		   *from = nh_sipping_from ? nh_sipping_from : "";
	int port = 5060, w;
	int br = !strchr(from, '<');

	if (l) {
		host = l->adv_host[0] ? l->adv_host : l->host;
		port = l->adv_port ? l->adv_port : l->port;
	}
	w = snprintf(
	    buf, cap,
	    "%s %.*s SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bKnhp%x\r\n"
	    "%s%.*s%s"
	    "From: %s%s%s;tag=%.*s-%x-%x\r\n"
	    "To: <%.*s>\r\n"
	    "Call-ID: %s-%x-%lx@%s\r\n"
	    "CSeq: 1 %s\r\n"
	    "Max-Forwards: 70\r\n"
	    "Content-Length: 0\r\n\r\n",
	    nh_sipping_method, STR_FMT(uri), host, port, n,
	    path.len ? "Route: " : "", (int)path.len, path.len ? path.s : "",
	    path.len ? "\r\n" : "", br ? "<" : "", from, br ? ">" : "",
	    STR_FMT(ruid), aorhash, n, STR_FMT(uri), callid_prefix, n,
	    (unsigned long)time(NULL), l ? l->ip : host, nh_sipping_method);
	return w > 0 && (size_t)w < cap ? w : -1;
}

/* RFC 1071 checksum of the IPv4 header. */
static uint16_t ip_csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (; len > 1; len -= 2, p += 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* natping_socket: the 4-byte keepalive with a spoofed IPv4 source,
 * through a raw socket (needs CAP_NET_RAW). */
static int send_raw(const struct sockaddr_in *to, const char *data, size_t n)
{
	uint8_t pkt[sizeof(struct ip) + sizeof(struct udphdr) + 16];
	struct ip *ip = (struct ip *)pkt;
	struct udphdr *udp = (struct udphdr *)(pkt + sizeof(struct ip));
	size_t len = sizeof(struct ip) + sizeof(struct udphdr) + n;

	if (n > 16)
		return -1;
	memset(pkt, 0, sizeof(pkt));
	ip->ip_v = 4;
	ip->ip_hl = sizeof(struct ip) / 4;
	ip->ip_len = htons((uint16_t)len);
	ip->ip_ttl = 64;
	ip->ip_p = IPPROTO_UDP;
	ip->ip_src = raw_src.in4.sin_addr;
	ip->ip_dst = to->sin_addr;
	ip->ip_sum = ip_csum(ip, sizeof(struct ip));
	udp->uh_sport = raw_src.in4.sin_port;
	udp->uh_dport = to->sin_port;
	udp->uh_ulen = htons((uint16_t)(sizeof(struct udphdr) + n));
	udp->uh_sum = 0; /* optional for IPv4 */
	memcpy(pkt + sizeof(struct ip) + sizeof(struct udphdr), data, n);
	if (sendto(raw_fd, pkt, len, 0, (const struct sockaddr *)to,
		   sizeof(*to)) < 0) {
		LOG_RATE(L_ERR, "nathelper: raw keepalive: %s",
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* Where and how to ping e; 1 sent, 0 skipped, -1 error. */
static int ping_one(const ping_ent_t *e, arena_t *ar)
{
	static const char zeros[4] = {0, 0, 0, 0};
	int sip =
	    (e->cflags & sipping_mask) || (!nh_ping_nated_only && sipping_mask);
	str_t target = e->received.len ? e->received : e->uri;
	sip_uri_t u;
	net_dest_t dst;
	sip_sockaddr_t a;
	net_listener_t *l;

	if (e->path.len && (e->cflags & sipping_mask)) {
		target = path_first(e->path);
		if (!target.len) {
			LOG_RATE(L_ERR, "nathelper: bad Path '%.*s'",
				 STR_FMT(e->path));
			return -1;
		}
	}
	arena_reset(ar);
	if (sip_uri_parse(ar, target, &u) < 0 || !u.host.len) {
		LOG_RATE(L_ERR, "nathelper: cannot ping '%.*s': bad URI",
			 STR_FMT(target));
		return -1;
	}
	if (u.transport.len && !str_caseeq_cstr(u.transport, "udp"))
		return 0;
	memset(&dst, 0, sizeof(dst));
	if (nh_ip_parse(u.host, &a) == 0) {
		int port = u.port_no ? u.port_no : 5060;

		dst.to = a;
		if (a.sa.sa_family == AF_INET6)
			dst.to.in6.sin6_port = htons((uint16_t)port);
		else
			dst.to.in4.sin_port = htons((uint16_t)port);
	} else if (net_resolve_uri(&u, &dst) < 0) {
		return -1;
	}
	dst.proto = SIP_PROTO_UDP;
	l = force_lst;
	if (!l && e->socket.len)
		l = listener_named(e->socket);
	if (l && (l->proto != SIP_PROTO_UDP || l->af != dst.to.sa.sa_family))
		l = NULL;
	dst.from = l;
	if (sip) {
		char buf[4096];
		int n;

		/* through the Path when the ping goes to its first hop */
		n = nh_build_sipping(
		    buf, sizeof(buf), e->uri,
		    (e->cflags & sipping_mask) ? e->path : STR_NULL, e->ruid,
		    e->aorhash,
		    l ? l
		      : net_pick_listener(SIP_PROTO_UDP, dst.to.sa.sa_family));
		if (n < 0) {
			LOG_RATE(L_ERR,
				 "nathelper: keepalive for '%.*s' too "
				 "long",
				 STR_FMT(e->uri));
			return -1;
		}
		if (net_send(&dst, buf, (size_t)n) < 0)
			return -1;
		stats_inc(&st_sip_sent);
		return 1;
	}
	if (raw_fd >= 0 && dst.to.sa.sa_family == AF_INET) {
		if (send_raw(&dst.to.in4, zeros, sizeof(zeros)) < 0)
			return -1;
	} else if (net_send(&dst, zeros, sizeof(zeros)) < 0) {
		return -1;
	}
	stats_inc(&st_udp_sent);
	return 1;
}

/* keepalive_timeout: remove a silent contact (by its ruid). */
static void expire_contact(const ping_ent_t *e)
{
	ul_handle_t h;
	ul_record_t *rec;
	ul_contact_t *c = ul_find_ruid(e->d, e->ruid, &h, &rec);

	if (!c)
		return;
	LOG_INFO("nathelper: contact '%.*s' did not answer keepalives for "
		 "%d s: removed",
		 STR_FMT(c->c), nh_keepalive_timeout);
	ul_delete_contact(&h, rec, c);
	ul_release_record(&h, rec);
	ul_unlock(&h);
	stats_inc(&st_expired);
}

int nh_ping_pass(unsigned part, unsigned nparts)
{
	ping_vec_t pv;
	arena_t *ar;
	int sent = 0;
	time_t now = time(NULL);

	if (__atomic_load_n(&ping_state, __ATOMIC_RELAXED) != 1)
		return 0;
	memset(&pv, 0, sizeof(pv));
	ul_foreach_contact(nh_ping_nated_only ? nat_mask : 0, part, nparts,
			   collect, &pv);
	if (pv.nomem)
		LOG_RATE(L_ERR, "nathelper: out of memory collecting contacts "
				"to ping");
	ar = malloc(sizeof(*ar));
	if (ar)
		arena_init(ar);
	for (int i = 0; i < pv.n; i++) {
		ping_ent_t *e = pv.v[i];
		int sip = (e->cflags & sipping_mask) ||
			  (!nh_ping_nated_only && sipping_mask);

		if (ar) {
			if (sip && nh_keepalive_timeout > 0 &&
			    ka_expired(e->ruid, e->registered, now))
				expire_contact(e);
			else if (ping_one(e, ar) > 0)
				sent++;
		}
		free(e);
	}
	if (ar) {
		arena_destroy(ar);
		free(ar);
	}
	free(pv.v);
	if (nh_keepalive_timeout > 0)
		ka_prune(now);
	return sent;
}

static void ping_job(void *arg)
{
	unsigned part = (unsigned)(uintptr_t)arg;

	nh_ping_pass(part, (unsigned)nh_natping_interval);
}

/* Timer thread, every second: the next partition goes to a worker. */
static void ping_tick(void *arg)
{
	unsigned part = iteration;

	iteration = (iteration + 1) % (unsigned)nh_natping_interval;
	if (__atomic_load_n(&ping_state, __ATOMIC_RELAXED) != 1)
		return;
	if (worker_post(-1, ping_job, (void *)(uintptr_t)part) < 0)
		ping_job((void *)(uintptr_t)part);
}

/* ---- replies ---- */

int nh_ping_reply(sip_msg_t *msg)
{
	sip_cseq_t *cs;
	str_t cid;
	sip_nameaddr_t *from;

	if (nh_ping_state() < 0 || !sipping_mask || msg->kind != SIP_REPLY)
		return 0;
	cid = sip_get_callid(msg);
	if (cid.len <= callid_prefix_len + 1 ||
	    memcmp(cid.s, callid_prefix, callid_prefix_len) != 0 ||
	    cid.s[callid_prefix_len] != '-')
		return 0;
	cs = sip_get_cseq(msg);
	if (!cs || !str_eq_cstr(cs->method, nh_sipping_method))
		return 0;
	if (!sip_get_via1(msg) || sip_get_via2(msg))
		return 0;
	stats_inc(&st_replies);
	from = sip_get_from(msg);
	if (nh_keepalive_timeout > 0 && from && from->tag.s && from->tag.len) {
		/* the tag is ruid-aorhash-counter */
		str_t t = from->tag;
		const char *d2 = memrchr(t.s, '-', t.len), *d1;

		d1 = d2 ? memrchr(t.s, '-', (size_t)(d2 - t.s)) : NULL;
		if (d1 && d1 > t.s)
			ka_seen((str_t){t.s, (size_t)(d1 - t.s)}, time(NULL));
	}
	LOG_DBG("nathelper: keepalive reply %d from %.*s absorbed", msg->status,
		STR_FMT(cid));
	return 1;
}

static int reply_hook(sip_msg_t *msg)
{
	if (nh_ping_reply(msg))
		return 1;
	return prev_reply_hook ? prev_reply_hook(msg) : 0;
}

/* ---- setup ---- */

static int flag_mask(const char *name, int bit, unsigned *mask)
{
	*mask = 0;
	if (bit == -1)
		return 0;
	if (bit < 0 || bit > 31) {
		LOG_ERR("nathelper: %s %d is not a flag (0..31)", name, bit);
		return -1;
	}
	*mask = 1u << bit;
	return 0;
}

static int method_ok(const char *m)
{
	if (!m || !*m)
		return 0;
	for (; *m; m++)
		if (*m <= ' ' || *m >= 127 || strchr("()<>@,;:\\\"/[]?={}", *m))
			return 0;
	return 1;
}

/* natping_socket "ip[:port]": the raw socket and the spoofed source. */
static int raw_open(void)
{
	char host[64];
	const char *colon = strrchr(nh_natping_socket, ':');
	size_t hl = colon ? (size_t)(colon - nh_natping_socket)
			  : strlen(nh_natping_socket);
	int port = colon ? atoi(colon + 1) : 5060, on = 1;

	if (!strncmp(nh_natping_socket, "udp:", 4)) {
		LOG_ERR("nathelper: natping_socket takes ip:port");
		return -1;
	}
	if (hl >= sizeof(host) || port <= 0 || port > 65535)
		goto bad;
	memcpy(host, nh_natping_socket, hl);
	host[hl] = '\0';
	if (net_addr_from_ip(host, port, &raw_src) < 0 ||
	    raw_src.sa.sa_family != AF_INET)
		goto bad;
	raw_fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (raw_fd < 0 ||
	    setsockopt(raw_fd, IPPROTO_IP, IP_HDRINCL, &on, sizeof(on)) < 0) {
		LOG_ERR("nathelper: natping_socket needs a raw socket: %s",
			strerror(errno));
		if (raw_fd >= 0)
			close(raw_fd);
		raw_fd = -1;
		return -1;
	}
	return 0;
bad:
	LOG_ERR("nathelper: natping_socket '%s' is not an IPv4 ip:port",
		nh_natping_socket);
	return -1;
}

int nh_ping_init(void)
{
	osp_module_t *ul = module_find("usrloc");
	uint32_t rnd = 0;
	int nat;

	stats_register(&st_sip_sent);
	stats_register(&st_udp_sent);
	stats_register(&st_replies);
	stats_register(&st_expired);
	ping_state = -1;
	if (nh_natping_interval <= 0)
		return 0;
	if (!ul || !ul->loaded) {
		LOG_ERR("nathelper: natping_interval needs the usrloc module");
		return -1;
	}
	nat = ul_nat_bflag();
	if (flag_mask("usrloc nat_bflag", nat, &nat_mask) < 0 ||
	    flag_mask("sipping_bflag", nh_sipping_bflag, &sipping_mask) < 0 ||
	    flag_mask("natping_disable_bflag", nh_natping_disable_bflag,
		      &disable_mask) < 0)
		return -1;
	if (nh_ping_nated_only && !nat_mask) {
		LOG_ERR("nathelper: bad config - ping_nated_only enabled, but "
			"no nat_bflag set in the usrloc module");
		return -1;
	}
	if (nh_natping_processes < 0) {
		LOG_ERR("nathelper: natping_processes must be >= 0");
		return -1;
	}
	if (sipping_mask) {
		if (!nh_sipping_from || !*nh_sipping_from) {
			LOG_ERR("nathelper: SIP ping enabled (sipping_bflag), "
				"but sipping_from is empty");
			return -1;
		}
		if (!method_ok(nh_sipping_method)) {
			LOG_ERR("nathelper: invalid sipping_method '%s'",
				nh_sipping_method ? nh_sipping_method : "");
			return -1;
		}
	}
	force_lst = NULL;
	if (nh_force_socket && *nh_force_socket) {
		force_lst = listener_spec(nh_force_socket);
		if (!force_lst)
			LOG_ERR("nathelper: non-local force_socket '%s' "
				"(ignored)",
				nh_force_socket);
	}
	if (nh_natping_socket && *nh_natping_socket && raw_open() < 0)
		return -1;
	if (nh_udpping_from_path)
		LOG_WARN("nathelper: udpping_from_path is not supported: "
			 "keepalives leave from our own socket");
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
	callid_prefix_len = (size_t)snprintf(
	    callid_prefix, sizeof(callid_prefix), "nhp%x", rnd);
	iteration = 0;
	ping_state = 1;
	if (osp_timer_periodic(1000, ping_tick, NULL) < 0) {
		LOG_ERR("nathelper: cannot start the keepalive timer");
		return -1;
	}
	return 0;
}

void nh_ping_child_init(void)
{
	int expected = 0;

	if (ping_state < 0 || !sipping_mask)
		return;
	if (!__atomic_compare_exchange_n(&hook_installed, &expected, 1, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	/* every module's init has run: whatever the transaction layer set
	 * is there now, and is called for the replies that are not ours */
	prev_reply_hook = osp_reply_hook;
	__atomic_store_n(&osp_reply_hook, reply_hook, __ATOMIC_RELEASE);
}

void nh_ping_destroy(void)
{
	if (hook_installed && osp_reply_hook == reply_hook)
		osp_reply_hook = prev_reply_hook;
	hook_installed = 0;
	prev_reply_hook = NULL;
	if (raw_fd >= 0)
		close(raw_fd);
	raw_fd = -1;
	ping_state = -1;
	ka_free();
}

int nh_ping_state(void)
{
	return __atomic_load_n(&ping_state, __ATOMIC_RELAXED);
}

int nh_ping_set_state(int on)
{
	if (__atomic_load_n(&ping_state, __ATOMIC_RELAXED) < 0)
		return -1;
	__atomic_store_n(&ping_state, on ? 1 : 0, __ATOMIC_RELAXED);
	return 0;
}
