/* rtpproxy.c - KSR.rtpproxy: media relay through an RTPProxy (Sippy
 * rtpproxy control protocol), with Kamailio 5.6's names, single-letter
 * flags, modparams and RPC commands.
 *
 *   rtpproxy_offer(flags)     U per stream, rewrite the SDP
 *   rtpproxy_answer(flags)    L per stream, rewrite the SDP
 *   rtpproxy_destroy(flags)   D for the call (unforce_rtp_proxy)
 *   rtpproxy_manage(flags)    one of the above, chosen from the message
 *   set_rtpproxy_set(id)      the set of instances for this message
 *
 * Debian 12 ships no rtpproxy daemon: the module is tested against the
 * protocol fixture tests/rtp/rtpproxy_fixture.py (see README.md). */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/globals.h"
#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "modules/rtpproxy/rtpproxy_int.h"

char *rtpp_nortpproxy;	 /* NULL: the default marker */
char *rtpp_timeout_sock; /* NULL: none */
static char *extra_id_pv;

static str_t marker(void)
{
	str_t m = rtpp_nortpproxy ? str_from(rtpp_nortpproxy)
				  : STR_LIT("a=nortpproxy:yes");

	/* Kamailio's value may carry its CRLF */
	while (m.len && (m.s[m.len - 1] == '\n' || m.s[m.len - 1] == '\r'))
		m.len--;
	return m;
}

/* ---- the set of the message being processed ---- */

static __thread uint64_t sel_msg_id;
static __thread rtpp_set_t *sel_set;

rtpp_set_t *rtpp_current_set(sip_msg_t *msg)
{
	if (sel_set && msg->id == sel_msg_id)
		return sel_set;
	return rtpp_set_find(0);
}

void rtpp_select_set(sip_msg_t *msg, rtpp_set_t *set)
{
	sel_set = set;
	sel_msg_id = msg->id;
}

/* ---- helpers ---- */

int rtpp_msg_sdp(sip_msg_t *msg, str_t *sdp)
{
	sip_hdr_t *ct = sip_hdr_first(msg, SIP_HDR_CTYPE);
	str_t body = msg->new_body.s ? msg->new_body : msg->body;

	if (!body.len)
		return 0;
	if (ct) {
		str_t v = str_trim(ct->value);
		static const char sdp_type[] = "application/sdp";
		size_t n = sizeof(sdp_type) - 1;

		if (v.len < n || strncasecmp(v.s, sdp_type, n) != 0 ||
		    (v.len > n && v.s[n] != ';' && v.s[n] != ' ' &&
		     v.s[n] != '\t'))
			return 0;
	}
	*sdp = body;
	return 1;
}

static str_t sa_ip(arena_t *a, const sip_sockaddr_t *sa)
{
	char buf[64] = "";

	if (sa->sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &sa->in4.sin_addr, buf, sizeof(buf));
	else if (sa->sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &sa->in6.sin6_addr, buf, sizeof(buf));
	return str_from(arena_strndup(a, buf, strlen(buf)));
}

static int is_null_addr(str_t ip, int af)
{
	if (af == AF_INET6) {
		for (size_t i = 0; i < ip.len; i++)
			if (ip.s[i] != '0' && ip.s[i] != ':')
				return 0;
		return 1;
	}
	return str_eq_cstr(ip, "0.0.0.0");
}

/* A growing command line in the arena. */
typedef struct cbuf {
	char *s;
	size_t len, cap;
	int err;
} cbuf_t;

static void cb_put(arena_t *a, cbuf_t *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *ns = arena_alloc(a, cap);

		if (!ns) {
			b->err = 1;
			return;
		}
		if (b->len)
			memcpy(ns, b->s, b->len);
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void cb_str(arena_t *a, cbuf_t *b, str_t s)
{
	cb_put(a, b, s.s, s.len);
}

static void cb_cstr(arena_t *a, cbuf_t *b, const char *s)
{
	cb_put(a, b, s, strlen(s));
}

static int via_branch(sip_msg_t *msg, int via, str_t *out)
{
	sip_via_t *v = via == 1 ? sip_get_via1(msg) : sip_get_via2(msg);

	if (!v || !v->branch.len) {
		LOG_ERR("rtpproxy: can't get the branch of Via %d", via);
		return -1;
	}
	*out = v->branch;
	return 0;
}

/* ---- unforce (D) ---- */

int rtpp_unforce(sip_msg_t *msg, str_t flags)
{
	int via = 0, to = 1;
	str_t callid, from_tag, to_tag = STR_NULL, vb = STR_NULL, reply;
	sip_nameaddr_t *from, *tona;
	cbuf_t cmd = {0};
	rtpp_node_t *n;

	for (size_t i = 0; i < flags.len; i++) {
		switch (flags.s[i]) {
		case '1': via = 1; break;
		case '2': via = 2; break;
		case '3': via = msg->kind == SIP_REPLY ? 2 : 1; break;
		case 't':
		case 'T': to = 0; break;
		case 'b':
			LOG_ERR("rtpproxy: flag 'b' needs extra_id_pv, which "
				"Osprey does not support");
			return -1;
		default:
			/* the offer/answer flags are accepted and ignored:
			 * rtpproxy_manage passes its flags along */
			if (!strchr("aAiIeElLfFrRcCoOxXwWzZ0123456789",
				    flags.s[i])) {
				LOG_ERR("rtpproxy: unknown option '%c'",
					flags.s[i]);
				return -1;
			}
		}
	}
	callid = sip_get_callid(msg);
	from = sip_get_from(msg);
	tona = sip_get_to(msg);
	if (!callid.len) {
		LOG_ERR("rtpproxy: can't get the Call-ID");
		return -1;
	}
	if (!from || !from->tag.len) {
		LOG_ERR("rtpproxy: can't get the From tag");
		return -1;
	}
	from_tag = from->tag;
	if (to && tona)
		to_tag = tona->tag;
	if (via && via_branch(msg, via, &vb) < 0)
		return -1;
	cb_cstr(msg->arena, &cmd, "D ");
	cb_str(msg->arena, &cmd, callid);
	if (vb.len) {
		cb_cstr(msg->arena, &cmd, ";");
		cb_str(msg->arena, &cmd, vb);
	}
	cb_cstr(msg->arena, &cmd, " ");
	cb_str(msg->arena, &cmd, from_tag);
	if (to_tag.len) {
		cb_cstr(msg->arena, &cmd, " ");
		cb_str(msg->arena, &cmd, to_tag);
	}
	if (cmd.err)
		return -1;
	n = rtpp_select(rtpp_current_set(msg), callid, msg->arena);
	if (!n) {
		LOG_ERR("rtpproxy: no available proxies");
		return -1;
	}
	/* as Kamailio: the answer does not change the result */
	rtpp_send(n, msg->arena, (str_t){cmd.s, cmd.len}, &reply);
	return 1;
}

/* ---- force (U / L) ---- */

typedef struct fflags {
	char opts[32]; /* modifiers after U/L */
	int nopts;
	char rep[16]; /* Z<ms> */
	int via, real, lookup, force, commip, orgip, autobridge;
} fflags_t;

static int opt_add(fflags_t *f, char c)
{
	if (f->nopts + 1 >= (int)sizeof(f->opts))
		return -1;
	f->opts[f->nopts++] = c;
	f->opts[f->nopts] = '\0';
	return 0;
}

static int parse_fflags(sip_msg_t *msg, str_t flags, int offer, fflags_t *f)
{
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < flags.len; i++) {
		char c = flags.s[i];

		switch (c) {
		case '1': f->via = 1; break;
		case '2': f->via = 2; break;
		case '3': f->via = msg->kind == SIP_REPLY ? 2 : 1; break;
		case 'a':
		case 'A':
			if (opt_add(f, 'A') < 0)
				return -1;
			f->real = 1;
			break;
		case 'i':
		case 'I':
			if (opt_add(f, 'I') < 0)
				return -1;
			break;
		case 'e':
		case 'E':
			if (opt_add(f, 'E') < 0)
				return -1;
			break;
		case 'l':
		case 'L':
			if (!offer)
				return -1;
			f->lookup = 1;
			break;
		case 'f':
		case 'F': f->force = 1; break;
		case 'r':
		case 'R': f->real = 1; break;
		case 'c':
		case 'C': f->commip = 1; break;
		case 'o':
		case 'O': f->orgip = 1; break;
		case 'x':
		case 'X': f->autobridge = 1; break;
		case 'w':
		case 'W':
			if (opt_add(f, 'S') < 0)
				return -1;
			break;
		case 'z':
		case 'Z': {
			size_t n = 1;

			f->rep[0] = 'Z';
			while (i + 1 < flags.len && flags.s[i + 1] >= '0' &&
			       flags.s[i + 1] <= '9' && n + 1 < sizeof(f->rep))
				f->rep[n++] = flags.s[++i];
			f->rep[n] = '\0';
			break;
		}
		case 't':
		case 'T': break; /* rtpproxy_destroy's */
		case 'b':
			LOG_ERR("rtpproxy: flag 'b' needs extra_id_pv, which "
				"Osprey does not support");
			return -1;
		default: LOG_ERR("rtpproxy: unknown option '%c'", c); return -1;
		}
	}
	return 0;
}

/* "0,8,101" from "0 8 101" (the c modifier). */
static void payload_list(arena_t *a, cbuf_t *b, str_t pts)
{
	int first = 1;
	const char *p = pts.s, *end = pts.s + pts.len;

	while (p < end) {
		const char *s;

		while (p < end && (*p < '0' || *p > '9'))
			p++;
		s = p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (p > s) {
			if (!first)
				cb_cstr(a, b, ",");
			cb_put(a, b, s, (size_t)(p - s));
			first = 0;
		}
	}
}

static int add_edit(arena_t *a, rtpp_edit_t **edits, int *n, int *cap,
		    str_t body, str_t at, str_t text)
{
	if (*n == *cap) {
		int nc = *cap ? *cap * 2 : 16;
		rtpp_edit_t *ne = arena_alloc(a, sizeof(**edits) * (size_t)nc);

		if (!ne)
			return -1;
		if (*n)
			memcpy(ne, *edits, sizeof(**edits) * (size_t)*n);
		*edits = ne;
		*cap = nc;
	}
	(*edits)[*n].off = (size_t)(at.s - body.s);
	(*edits)[*n].len = at.len;
	(*edits)[*n].text = text;
	(*n)++;
	return 0;
}

/* Replace the address of addr (and its type when the family changes),
 * unless it is a null address of the same family or already newip. */
static int edit_addr(arena_t *a, rtpp_edit_t **ed, int *n, int *cap, str_t body,
		     const rtpp_sdp_addr_t *addr, str_t newip, int newaf)
{
	if (addr->af == newaf && is_null_addr(addr->addr, addr->af))
		return 0;
	if (str_eq(addr->addr, newip) && addr->af == newaf)
		return 0;
	if (addr->af != newaf &&
	    add_edit(a, ed, n, cap, body, addr->type,
		     newaf == AF_INET6 ? STR_LIT("IP6") : STR_LIT("IP4")) < 0)
		return -1;
	return add_edit(a, ed, n, cap, body, addr->addr, newip);
}

int rtpp_force(sip_msg_t *msg, str_t flags, str_t ip, int offer, int forced)
{
	arena_t *a = msg->arena;
	fflags_t f;
	str_t body, callid, from_tag, to_tag = STR_NULL, vb = STR_NULL, tmp;
	str_t src_ip, out;
	sip_nameaddr_t *from, *tona;
	rtpp_sdp_session_t *sessions;
	rtpp_edit_t *edits = NULL;
	int nedits = 0, capedits = 0, create = offer, proxied, medianum = 0;
	int src_af = msg->rcv.src.sa.sa_family;
	rtpp_set_t *set = rtpp_current_set(msg);
	str_t ts = rtpp_timeout_sock ? str_from(rtpp_timeout_sock) : STR_NULL;

	if (parse_fflags(msg, flags, offer, &f) < 0)
		return -1;
	if (!rtpp_msg_sdp(msg, &body)) {
		LOG_ERR("rtpproxy: can't extract the SDP body");
		return -1;
	}
	callid = sip_get_callid(msg);
	from = sip_get_from(msg);
	tona = sip_get_to(msg);
	if (!callid.len) {
		LOG_ERR("rtpproxy: can't get the Call-ID");
		return -1;
	}
	if (!from || !from->tag.len) {
		LOG_ERR("rtpproxy: can't get the From tag");
		return -1;
	}
	from_tag = from->tag;
	if (tona)
		to_tag = tona->tag;
	if (f.via && via_branch(msg, f.via, &vb) < 0)
		return -1;

	/* the tags name the session by the party who created it: an offer
	 * in a reply or an answer in a request comes from the To side */
	if (f.lookup) {
		if (!to_tag.len)
			return -1;
		if (msg->kind == SIP_REQUEST) {
			tmp = from_tag;
			from_tag = to_tag;
			to_tag = tmp;
		}
		create = 0;
	} else if ((msg->kind == SIP_REPLY && offer) ||
		   (msg->kind == SIP_REQUEST && !offer)) {
		if (!to_tag.len) {
			LOG_ERR("rtpproxy: %s needs a To tag",
				offer ? "an offer in a reply"
				      : "an answer in a request");
			return -1;
		}
		tmp = from_tag;
		from_tag = to_tag;
		to_tag = tmp;
	}
	proxied = rtpp_sdp_has_line(body, marker());
	if (proxied && !f.force)
		return -2;
	if (rtpp_sdp_parse(a, body, &sessions) < 0) {
		LOG_ERR("rtpproxy: unable to parse the SDP");
		return -1;
	}
	src_ip = sa_ip(a, &msg->rcv.src);
	{
		int streams = 0;

		for (rtpp_sdp_session_t *s = sessions; s; s = s->next)
			streams += s->n_media;
		if (!streams) {
			LOG_ERR("rtpproxy: SDP without streams");
			return -1;
		}
	}

	for (rtpp_sdp_session_t *s = sessions; s; s = s->next) {
		int c1_altered = 0, o_altered = 0;

		for (rtpp_sdp_media_t *m = s->media; m; m = m->next) {
			const rtpp_sdp_addr_t *old =
			    m->c.addr.len ? &m->c : &s->c;
			str_t cmd_ip, newip, r, argv[4];
			int newaf, argc = 0, port;
			char num[16], pbuf[16];
			cbuf_t cmd = {0};
			rtpp_node_t *n;

			medianum++;
			if (!old->addr.len) {
				LOG_ERR("rtpproxy: stream %d has no c= "
					"address",
					medianum);
				return -1;
			}
			if (f.real) {
				cmd_ip = old->addr;
				newaf = old->af;
			} else {
				cmd_ip = src_ip;
				newaf = src_af;
			}
			/* x: bridge IPv4 (internal) and IPv6 (external) by
			 * the family of the first stream */
			if (f.autobridge) {
				int v6 = old->af == AF_INET6;

				if (opt_add(&f, v6 ? 'E' : 'I') < 0 ||
				    opt_add(&f, v6 ? 'I' : 'E') < 0)
					return -1;
				f.autobridge = 0;
			}
			snprintf(num, sizeof(num), "%d", medianum);
			for (;;) {
				n = rtpp_select(set, callid, a);
				if (!n) {
					LOG_ERR("rtpproxy: no available "
						"proxies");
					return -3;
				}
				cmd.len = 0;
				cmd.err = 0;
				cb_cstr(a, &cmd, create ? "U" : "L");
				cb_cstr(a, &cmd, f.opts);
				if (old->af == AF_INET6)
					cb_cstr(a, &cmd, "6");
				if (f.rep[0]) {
					if (__atomic_load_n(&n->rep_supported,
							    __ATOMIC_ACQUIRE))
						cb_cstr(a, &cmd, f.rep);
					else
						LOG_WARN("rtpproxy: %s cannot "
							 "repacketize",
							 n->url);
				}
				if (m->payloads.len &&
				    memmem(m->proto.s, m->proto.len, "RTP",
					   3) &&
				    __atomic_load_n(&n->ptl_supported,
						    __ATOMIC_ACQUIRE)) {
					cb_cstr(a, &cmd, "c");
					payload_list(a, &cmd, m->payloads);
				}
				cb_cstr(a, &cmd, " ");
				cb_str(a, &cmd, callid);
				if (vb.len) {
					cb_cstr(a, &cmd, ";");
					cb_str(a, &cmd, vb);
				}
				cb_cstr(a, &cmd, " ");
				cb_str(a, &cmd, cmd_ip);
				cb_cstr(a, &cmd, " ");
				cb_str(a, &cmd, m->port);
				cb_cstr(a, &cmd, " ");
				cb_str(a, &cmd, from_tag);
				cb_cstr(a, &cmd, ";");
				cb_cstr(a, &cmd, num);
				if (to_tag.len) {
					cb_cstr(a, &cmd, " ");
					cb_str(a, &cmd, to_tag);
					cb_cstr(a, &cmd, ";");
					cb_cstr(a, &cmd, num);
					if (create && ts.len) {
						cb_cstr(a, &cmd, " ");
						cb_str(a, &cmd, ts);
					}
				}
				if (cmd.err)
					return -1;
				if (rtpp_send(n, a, (str_t){cmd.s, cmd.len},
					      &r) == 0)
					break;
				/* the instance is disabled now: next one */
			}
			{
				const char *p = r.s, *e = r.s + r.len;

				while (argc < 4 && p < e) {
					const char *t;

					while (p < e &&
					       (*p == ' ' || *p == '\t'))
						p++;
					t = p;
					while (p < e && *p != ' ' && *p != '\t')
						p++;
					if (p > t)
						argv[argc++] =
						    (str_t){t, (size_t)(p - t)};
				}
			}
			if (argc < 1) {
				LOG_ERR("rtpproxy: empty answer from %s",
					n->url);
				return -1;
			}
			port = atoi(argv[0].s);
			if (port <= 0 || port > 65535) {
				if (port != 0 || !f.lookup)
					LOG_ERR("rtpproxy: incorrect port in "
						"the answer of %s: '%.*s'",
						n->url, STR_FMT(r));
				return -1;
			}
			if (argc == 2)
				newaf = AF_INET; /* a bare address is IPv4 */
			else if (argc >= 3)
				newaf =
				    argv[2].s[0] == '6' ? AF_INET6 : AF_INET;
			if (is_null_addr(old->addr, old->af)) {
				newip = newaf == AF_INET6 ? STR_LIT("::")
							  : STR_LIT("0.0.0.0");
			} else if (forced || argc < 2) {
				/* the script's address, or ours when the
				 * instance names none (it runs here) */
				if (!ip.len) {
					LOG_ERR("rtpproxy: no address for the "
						"SDP");
					return -1;
				}
				newip = ip;
				newaf = memchr(ip.s, ':', ip.len) ? AF_INET6
								  : AF_INET;
			} else {
				newip = argv[1];
			}

			/* the port (0 means a disabled stream: kept) */
			if (!str_eq_cstr(m->port, "0")) {
				int l =
				    snprintf(pbuf, sizeof(pbuf), "%d", port);
				char *ps = arena_strndup(a, pbuf, (size_t)l);

				if (!ps || add_edit(a, &edits, &nedits,
						    &capedits, body, m->port,
						    (str_t){ps, (size_t)l}) < 0)
					return -1;
			}
			/* RTCP on the next port (RFC 3605) */
			if (m->rtcp_port.len) {
				int l = snprintf(pbuf, sizeof(pbuf), "%d",
						 port + 1);
				char *ps = arena_strndup(a, pbuf, (size_t)l);

				if (!ps ||
				    add_edit(a, &edits, &nedits, &capedits,
					     body, m->rtcp_port,
					     (str_t){ps, (size_t)l}) < 0)
					return -1;
			}
			/* the c= of the stream; the session's only once */
			if (m->c.addr.len || !c1_altered) {
				if (edit_addr(a, &edits, &nedits, &capedits,
					      body, old, newip, newaf) < 0)
					return -1;
				if (!m->c.addr.len)
					c1_altered = 1;
			}
			if (f.commip && s->c.addr.len && !c1_altered) {
				if (edit_addr(a, &edits, &nedits, &capedits,
					      body, &s->c, newip, newaf) < 0)
					return -1;
				c1_altered = 1;
			}
			if (f.orgip && s->o.addr.len && !o_altered) {
				if (edit_addr(a, &edits, &nedits, &capedits,
					      body, &s->o, newip, newaf) < 0)
					return -1;
				o_altered = 1;
			}
		}
	}
	if (rtpp_sdp_apply(a, body, edits, nedits,
			   proxied ? STR_NULL : marker(), &out) < 0)
		return -1;
	msg->new_body = out;
	return 1;
}

/* ---- manage ---- */

/* INVITEs seen with SDP, by Call-ID hash and CSeq (as in rtpengine.c). */
#define MARK_SLOTS 4096

static struct {
	uint64_t h;
	uint32_t cseq;
	uint64_t expires;
} marks[MARK_SLOTS];
static pthread_mutex_t marks_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t hash64(str_t s)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < s.len; i++) {
		h ^= (uint8_t)s.s[i];
		h *= 1099511628211ull;
	}
	return h ? h : 1;
}

static void mark_sdp_invite(sip_msg_t *msg)
{
	sip_cseq_t *cs = sip_get_cseq(msg);
	uint64_t h = hash64(sip_get_callid(msg));
	unsigned slot = (unsigned)(h % MARK_SLOTS);

	if (!cs)
		return;
	pthread_mutex_lock(&marks_lock);
	marks[slot].h = h;
	marks[slot].cseq = cs->num;
	marks[slot].expires = rtpp_now() + 3600 * 1000;
	pthread_mutex_unlock(&marks_lock);
}

static int had_sdp_invite(sip_msg_t *msg)
{
	sip_cseq_t *cs = sip_get_cseq(msg);
	uint64_t h = hash64(sip_get_callid(msg));
	unsigned slot = (unsigned)(h % MARK_SLOTS);
	int yes;

	if (!cs)
		return 0;
	pthread_mutex_lock(&marks_lock);
	yes = marks[slot].h == h && marks[slot].cseq == cs->num &&
	      marks[slot].expires > rtpp_now();
	pthread_mutex_unlock(&marks_lock);
	return yes;
}

static str_t local_ip(sip_msg_t *msg)
{
	return sa_ip(msg->arena, &msg->rcv.dst);
}

static int do_manage(ksr_ctx_t *ctx, str_t flags, str_t ip)
{
	sip_msg_t *msg = ctx->msg;
	sip_cseq_t *cs;
	unsigned m;
	int forced = ip.len > 0, has_sdp;
	str_t sdp;

	if (!msg)
		return -1;
	if (ctx->route == KSR_ROUTE_BRANCH_FAILURE)
		return 1;
	cs = sip_get_cseq(msg);
	if (!cs) {
		LOG_ERR("rtpproxy: rtpproxy_manage: no CSeq");
		return -1;
	}
	m = cs->method_id;
	if (!(m & (SIP_METHOD_INVITE | SIP_METHOD_ACK | SIP_METHOD_CANCEL |
		   SIP_METHOD_BYE | SIP_METHOD_UPDATE | SIP_METHOD_PRACK)))
		return -1;
	if (m & (SIP_METHOD_CANCEL | SIP_METHOD_BYE))
		return rtpp_unforce(msg, flags);
	if (!forced)
		ip = local_ip(msg);
	has_sdp = rtpp_msg_sdp(msg, &sdp);
	if (msg->kind == SIP_REQUEST) {
		if (!has_sdp)
			return -1;
		if (m == SIP_METHOD_ACK)
			return rtpp_force(msg, flags, ip, 0, forced);
		if (m == SIP_METHOD_PRACK || m == SIP_METHOD_UPDATE)
			return rtpp_force(msg, flags, ip, 1, forced);
		mark_sdp_invite(msg);
		if (ctx->route == KSR_ROUTE_FAILURE)
			return rtpp_unforce(msg, flags);
		return rtpp_force(msg, flags, ip, 1, forced);
	}
	if (msg->status >= 300)
		return rtpp_unforce(msg, flags);
	if (!has_sdp)
		return -1;
	if (m == SIP_METHOD_PRACK || m == SIP_METHOD_UPDATE ||
	    had_sdp_invite(msg))
		return rtpp_force(msg, flags, ip, 0, forced);
	return rtpp_force(msg, flags, ip, 1, forced);
}

/* ---- KSR ---- */

static int ki_manage(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return do_manage(ctx, a[0].s, STR_NULL);
}

static int ki_manage0(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return do_manage(ctx, STR_NULL, STR_NULL);
}

static int ki_manage_ip(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return do_manage(ctx, a[0].s, a[1].s);
}

static int offer_answer(ksr_ctx_t *ctx, str_t flags, int offer)
{
	sip_msg_t *msg = ctx->msg;

	if (!msg)
		return -1;
	/* an answer in a request is for the ACK only (Kamailio) */
	if (!offer && msg->kind == SIP_REQUEST &&
	    msg->method_id != SIP_METHOD_ACK)
		return -1;
	if (offer && msg->kind == SIP_REQUEST &&
	    msg->method_id == SIP_METHOD_INVITE)
		mark_sdp_invite(msg);
	return rtpp_force(msg, flags, local_ip(msg), offer, 0);
}

static int ki_offer(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return offer_answer(ctx, a[0].s, 1);
}

static int ki_offer0(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return offer_answer(ctx, STR_NULL, 1);
}

static int ki_offer_ip(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!ctx->msg)
		return -1;
	return rtpp_force(ctx->msg, a[0].s, a[1].s, 1, 1);
}

static int ki_answer(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return offer_answer(ctx, a[0].s, 0);
}

static int ki_answer0(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return offer_answer(ctx, STR_NULL, 0);
}

static int ki_answer_ip(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!ctx->msg)
		return -1;
	return rtpp_force(ctx->msg, a[0].s, a[1].s, 0, 1);
}

static int ki_destroy(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return ctx->msg ? rtpp_unforce(ctx->msg, a[0].s) : -1;
}

static int ki_destroy0(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return ctx->msg ? rtpp_unforce(ctx->msg, STR_NULL) : -1;
}

static int ki_set_set(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	rtpp_set_t *s = a[0].n >= 0 ? rtpp_set_find((int)a[0].n) : NULL;

	if (!ctx->msg)
		return -1;
	if (!s) {
		LOG_ERR("rtpproxy: could not locate rtpproxy set %ld", a[0].n);
		return -1;
	}
	rtpp_select_set(ctx->msg, s);
	return 1;
}

/* R CALLID FROMTAG [TOTAG], tags swapped in replies (Kamailio). */
static int ki_start_recording(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	sip_msg_t *msg = ctx->msg;
	sip_nameaddr_t *from, *to;
	str_t callid, ft, tt = STR_NULL, reply;
	cbuf_t cmd = {0};
	rtpp_node_t *n;

	if (!msg)
		return -1;
	callid = sip_get_callid(msg);
	from = sip_get_from(msg);
	to = sip_get_to(msg);
	if (!callid.len || !from || !from->tag.len)
		return -1;
	ft = from->tag;
	if (to)
		tt = to->tag;
	if (msg->kind == SIP_REPLY) {
		str_t t = ft;

		if (!tt.len)
			return -1;
		ft = tt;
		tt = t;
	}
	cb_cstr(msg->arena, &cmd, "R ");
	cb_str(msg->arena, &cmd, callid);
	cb_cstr(msg->arena, &cmd, " ");
	cb_str(msg->arena, &cmd, ft);
	if (tt.len) {
		cb_cstr(msg->arena, &cmd, " ");
		cb_str(msg->arena, &cmd, tt);
	}
	if (cmd.err)
		return -1;
	n = rtpp_select(rtpp_current_set(msg), callid, msg->arena);
	if (!n) {
		LOG_ERR("rtpproxy: no available proxies");
		return -1;
	}
	rtpp_send(n, msg->arena, (str_t){cmd.s, cmd.len}, &reply);
	return 1;
}

static const ksr_export_t rtpproxy_exports[] = {
    {"rtpproxy", "rtpproxy_manage", KSR_INT, ki_manage, {KSR_STR}},
    {"rtpproxy", "rtpproxy_manage0", KSR_INT, ki_manage0, {0}},
    {"rtpproxy",
     "rtpproxy_manage_ip",
     KSR_INT,
     ki_manage_ip,
     {KSR_STR, KSR_STR}},
    {"rtpproxy", "rtpproxy_offer", KSR_INT, ki_offer, {KSR_STR}},
    {"rtpproxy", "rtpproxy_offer0", KSR_INT, ki_offer0, {0}},
    {"rtpproxy", "rtpproxy_offer_ip", KSR_INT, ki_offer_ip, {KSR_STR, KSR_STR}},
    {"rtpproxy", "rtpproxy_answer", KSR_INT, ki_answer, {KSR_STR}},
    {"rtpproxy", "rtpproxy_answer0", KSR_INT, ki_answer0, {0}},
    {"rtpproxy",
     "rtpproxy_answer_ip",
     KSR_INT,
     ki_answer_ip,
     {KSR_STR, KSR_STR}},
    {"rtpproxy", "rtpproxy_destroy", KSR_INT, ki_destroy, {KSR_STR}},
    {"rtpproxy", "rtpproxy_destroy0", KSR_INT, ki_destroy0, {0}},
    {"rtpproxy", "unforce_rtp_proxy", KSR_INT, ki_destroy0, {0}},
    {"rtpproxy", "set_rtpproxy_set", KSR_INT, ki_set_set, {KSR_INT}},
    {"rtpproxy", "start_recording", KSR_INT, ki_start_recording, {0}},
    {0},
};

/* ---- RPC ---- */

/* rtpproxy.list: every instance with its set, index, state and weight;
 * recheck is the seconds until a disabled one is tested again (-1: never,
 * disabled by rtpproxy.enable). */
static json_t *rpc_list(json_t *params, rpc_error_t *err)
{
	json_t *list = json_array();
	uint64_t now = rtpp_now();

	if (!list)
		return rpc_fail(err, RPC_E_INTERNAL, "out of memory");
	for (int i = 0; i < rtpp_node_count(); i++) {
		rtpp_node_t *n = rtpp_node_at(i);
		uint64_t at = __atomic_load_n(&n->recheck_ms, __ATOMIC_ACQUIRE);
		int dis = rtpp_node_is_disabled(n);
		long recheck;

		if (__atomic_load_n(&n->permanent, __ATOMIC_ACQUIRE))
			recheck = -1;
		else
			recheck = dis && at > now
				      ? (long)((at - now + 999) / 1000)
				      : 0;
		json_array_append_new(
		    list, json_pack("{s:i, s:s, s:i, s:i, s:i, s:I}", "setid",
				    n->set_id, "url", n->url, "index", n->index,
				    "disabled", dis, "weight", (int)n->weight,
				    "recheck", (json_int_t)recheck));
	}
	return list;
}

/* rtpproxy.enable URL 0|1: every instance with that URL; 404 when none.
 * Enabling does not test the instance (as Kamailio); disabling is
 * permanent until enabled again. */
static json_t *rpc_enable(json_t *params, rpc_error_t *err)
{
	const char *url = rpc_param_str(params, 0, err);
	long flag;
	int found = 0;

	if (!url || rpc_param_int(params, 1, &flag, err) < 0)
		return NULL;
	for (int i = 0; i < rtpp_node_count(); i++) {
		rtpp_node_t *n = rtpp_node_at(i);

		if (strcmp(n->url, url) != 0)
			continue;
		found = 1;
		__atomic_store_n(&n->permanent, flag ? 0 : 1, __ATOMIC_RELEASE);
		__atomic_store_n(&n->recheck_ms, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&n->disabled, flag ? 0 : 1, __ATOMIC_RELEASE);
	}
	if (!found)
		return rpc_fail(err, 404, "RTPProxy not found");
	return json_null();
}

static const rpc_export_t rtpproxy_rpc[] = {
    {"rtpproxy.list", rpc_list, "List the rtpproxy instances"},
    {"rtpproxy.enable", rpc_enable,
     "Enable (1) or disable (0) an rtpproxy instance: url 0|1"},
    {NULL, NULL, NULL},
};

/* ---- module ---- */

static int param_sock(const char *param, int type, const char *sval, long ival,
		      char *err, size_t errlen)
{
	return rtpp_sock_add(sval, err, errlen) < 0 ? -1 : 0;
}

static const osp_param_t rtpproxy_params[] = {
    {"rtpproxy_sock", MP_STR, NULL, param_sock},
    {"rtpproxy_disable_tout", MP_INT, &rtpp_disable_tout, NULL},
    {"rtpproxy_tout", MP_INT, &rtpp_tout, NULL},
    {"rtpproxy_tout_ms", MP_INT, &rtpp_tout_ms, NULL},
    {"rtpproxy_retr", MP_INT, &rtpp_retr, NULL},
    {"nortpproxy_str", MP_STR, &rtpp_nortpproxy, NULL},
    {"timeout_socket", MP_STR, &rtpp_timeout_sock, NULL},
    {"extra_id_pv", MP_STR, &extra_id_pv, NULL},
    {NULL, 0, NULL, NULL},
};

/* Test every instance once at start (one attempt each, so a missing
 * rtpproxy does not hold the start-up), as Kamailio's child init does. */
static int rtpproxy_init(void)
{
	arena_t *a;
	int retr = rtpp_retr;

	if (!rtpp_sets()) {
		/* loaded by default when a script runs directly: quiet */
		LOG_DBG("rtpproxy: no rtpproxy_sock configured: the rtpproxy "
			"functions will fail");
		return 0;
	}
	if (!rtpp_set_find(0))
		LOG_WARN("rtpproxy: the default set 0 has no instance");
	if (extra_id_pv)
		LOG_WARN("rtpproxy: extra_id_pv is not supported (flag 'b')");
	if (osp_g.check_only)
		return 0;
	a = malloc(sizeof(*a));
	if (!a)
		return -1;
	arena_init(a);
	rtpp_retr = 1;
	for (int i = 0; i < rtpp_node_count(); i++) {
		rtpp_test(rtpp_node_at(i), a, 1);
		arena_reset(a);
	}
	rtpp_retr = retr;
	arena_destroy(a);
	free(a);
	return 0;
}

static void rtpproxy_destroy(void)
{
	rtpp_nodes_reset();
	free(rtpp_nortpproxy);
	free(rtpp_timeout_sock);
	free(extra_id_pv);
	rtpp_nortpproxy = rtpp_timeout_sock = extra_id_pv = NULL;
}

osp_module_t osp_mod_rtpproxy = {
    .name = "rtpproxy",
    .exports = rtpproxy_exports,
    .params = rtpproxy_params,
    .rpc = rtpproxy_rpc,
    .init = rtpproxy_init,
    .destroy = rtpproxy_destroy,
};
