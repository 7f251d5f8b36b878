/* loose.c - routing on the Route header (RFC 3261 §16.4, §16.6 step 6,
 * §16.12), with the decisions and results of Kamailio's loose_route()
 * (its loose.c, 5.6):
 *
 * - no Route header: -1;
 * - in-dialog request (To tag) whose R-URI is ours: the previous hop was a
 *   strict router (§16.4). The last Route value becomes the R-URI; the top
 *   Route becomes the next hop ($du) when it is a loose router, or the
 *   R-URI when it is a strict one. The params of our R-URI are the ones
 *   check_route_param() sees;
 * - otherwise, when the top Route is ours it is removed (and the one after
 *   it too when it carries r2, our second Record-Route), and the request
 *   goes to the next Route: as $du when it has lr, else (§16.6 step 6, a
 *   strict router) that URI becomes the R-URI, and the R-URI is appended as
 *   the last Route;
 * - a request whose only Route was ours returns 1 in a dialog and -3
 *   (preloaded) outside one.
 *
 * The script never changes received bytes: Route values are removed by
 * marking the header removed, or, when a header line holds values that
 * stay, by rewriting the line (hdr->replace) with the remaining ones. */
#include <string.h>
#include <strings.h>

#include "core/fwd.h"
#include "core/log.h"
#include "core/osp.h"
#include "modules/rr/rr_int.h"

/* One Route value and the header line it sits in. */
typedef struct rent {
	sip_hdr_t *h;
	sip_rr_t *r;
	int removed;
} rent_t;

typedef struct rset {
	rent_t *e;
	int n;
} rset_t;

int rr_uri_is_myself(const sip_uri_t *u)
{
	int port;

	if (!u || u->scheme == SIP_URI_TEL || !u->host.len)
		return 0;
	port =
	    u->port_no ? u->port_no : (u->scheme == SIP_URI_SIPS ? 5061 : 5060);
	if (!osp_is_myself(u->host, port, 0))
		return 0;
	/* a GRUU of ours names a user agent, not this proxy */
	return sip_param_find(u->param_list, STR_LIT("gr")) == NULL;
}

/* Kamailio's is_2rr: an r2 parameter, whatever its value. */
static int is_2rr(const sip_uri_t *u)
{
	return sip_param_find(u->param_list, STR_LIT("r2")) != NULL;
}

/* Every Route value of the message in order (headers the script removed
 * are skipped). 0 or -OSP_EPARSE / -OSP_ENOMEM. */
static int collect(sip_msg_t *msg, rset_t *rs)
{
	int n = 0, k = 0;

	rs->e = NULL;
	rs->n = 0;
	for (int i = 0; i < msg->n_hdrs; i++) {
		sip_hdr_t *h = &msg->hdrs[i];
		sip_rr_t *r;

		if (h->type != SIP_HDR_ROUTE || (h->flags & SIP_HDR_F_REMOVED))
			continue;
		r = sip_get_rr(msg, h);
		if (!r) {
			LOG_RATE(L_WARN, "rr: malformed Route header '%.*s'",
				 STR_FMT(h->value));
			return -OSP_EPARSE;
		}
		for (; r; r = r->next)
			n++;
	}
	if (!n)
		return 0;
	rs->e = arena_alloc(msg->arena, (size_t)n * sizeof(*rs->e));
	if (!rs->e)
		return -OSP_ENOMEM;
	for (int i = 0; i < msg->n_hdrs; i++) {
		sip_hdr_t *h = &msg->hdrs[i];

		if (h->type != SIP_HDR_ROUTE || (h->flags & SIP_HDR_F_REMOVED))
			continue;
		for (sip_rr_t *r = sip_get_rr(msg, h); r; r = r->next)
			rs->e[k++] = (rent_t){h, r, 0};
	}
	rs->n = k;
	return 0;
}

/* Write the removals: a header whose values all went is removed, one that
 * keeps some is rewritten as "<name>: <kept values, comma-separated>". */
static int apply(sip_msg_t *msg, rset_t *rs)
{
	for (int i = 0; i < rs->n;) {
		sip_hdr_t *h = rs->e[i].h;
		int j = i, kept = 0, gone = 0;
		size_t len;
		char *p, *q;

		for (; j < rs->n && rs->e[j].h == h; j++) {
			if (rs->e[j].removed)
				gone++;
			else
				kept++;
		}
		if (!gone) {
			i = j;
			continue;
		}
		if (!kept) {
			h->flags |= SIP_HDR_F_REMOVED;
			i = j;
			continue;
		}
		len = h->name.len + 2 + 2;
		for (int k = i; k < j; k++)
			if (!rs->e[k].removed)
				len += rs->e[k].r->na.raw.len + 2;
		p = q = arena_alloc(msg->arena, len);
		if (!p)
			return -OSP_ENOMEM;
		memcpy(q, h->name.s, h->name.len);
		q += h->name.len;
		*q++ = ':';
		*q++ = ' ';
		for (int k = i, first = 1; k < j; k++) {
			str_t raw = rs->e[k].r->na.raw;

			if (rs->e[k].removed)
				continue;
			if (!first) {
				*q++ = ',';
				*q++ = ' ';
			}
			first = 0;
			memcpy(q, raw.s, raw.len);
			q += raw.len;
		}
		*q++ = '\r';
		*q++ = '\n';
		h->replace = (str_t){p, (size_t)(q - p)};
		i = j;
	}
	return 0;
}

/* The URI to send to for a Route value: "sip:<maddr>[:port]" when it has a
 * maddr parameter (RFC 3261 §16.5 / Kamailio's get_maddr_uri), else the
 * URI itself. */
static str_t target_uri(arena_t *a, const sip_rr_t *r)
{
	const sip_uri_t *u = &r->na.uri;
	char *p;
	size_t n;

	if (!u->maddr.len)
		return r->na.uri_str;
	n = 4 + u->maddr.len + (u->port.len ? 1 + u->port.len : 0);
	p = arena_alloc(a, n);
	if (!p)
		return STR_NULL;
	memcpy(p, "sip:", 4);
	memcpy(p + 4, u->maddr.s, u->maddr.len);
	if (u->port.len) {
		p[4 + u->maddr.len] = ':';
		memcpy(p + 5 + u->maddr.len, u->port.s, u->port.len);
	}
	return (str_t){p, n};
}

static int set_dst(sip_msg_t *msg, const sip_rr_t *r)
{
	str_t uri = target_uri(msg->arena, r);
	char *c;

	if (!uri.s)
		return -OSP_ENOMEM;
	c = arena_strndup(msg->arena, uri.s, uri.len);
	if (!c)
		return -OSP_ENOMEM;
	msg->dst_uri = (str_t){c, uri.len};
	return 0;
}

static int set_ruri(sip_msg_t *msg, const sip_rr_t *r)
{
	str_t uri = target_uri(msg->arena, r);

	if (!uri.s)
		return -OSP_ENOMEM;
	return sip_set_ruri(msg, uri);
}

/* RFC 3261 §16.6 step 6: before handing the request to a strict router,
 * the current R-URI goes at the end of the route set, as a last Route
 * header. */
static int save_ruri(sip_msg_t *msg)
{
	str_t cur = sip_cur_uri(msg);
	size_t n = 8 + cur.len + 3;
	sip_hdr_add_t *ad, **pp;
	char *p = arena_alloc(msg->arena, n);

	ad = arena_zalloc(msg->arena, sizeof(*ad));
	if (!p || !ad)
		return -OSP_ENOMEM;
	memcpy(p, "Route: <", 8);
	memcpy(p + 8, cur.s, cur.len);
	memcpy(p + 8 + cur.len, ">\r\n", 3);
	ad->text = (str_t){p, n};
	ad->where = SIP_ADD_APPEND;
	for (pp = &msg->adds; *pp; pp = &(*pp)->next)
		;
	*pp = ad;
	return 0;
}

static int bad_uri(const rent_t *e)
{
	if (e->r->na.uri_ok)
		return 0;
	LOG_RATE(L_WARN, "rr: cannot parse Route URI '%.*s'",
		 STR_FMT(e->r->na.uri_str));
	return 1;
}

/* Route the request on its route set; the previous hop was a loose
 * router (or there is no dialog yet: a preloaded route set). */
static int after_loose(sip_msg_t *msg, rr_msg_t *st, rset_t *rs, int preloaded)
{
	rent_t *top = &rs->e[0], *next;
	int i = 0;

	if (bad_uri(top))
		return RR_ERROR;
	if (rr_uri_is_myself(&top->r->na.uri)) {
		st->routed = 1;
		st->routed_params = top->r->na.uri.params;
		top->removed = 1;
		i = 1;
		/* our second Record-Route, whatever its address */
		if (i < rs->n && rr_enable_double_rr &&
		    is_2rr(&top->r->na.uri)) {
			rs->e[i].removed = 1;
			i++;
		}
		if (i == rs->n) {
			if (apply(msg, rs) < 0)
				return RR_ERROR;
			return preloaded ? RR_PRELOADED : RR_DRIVEN;
		}
		st->route_addr = 1;
	}
	next = &rs->e[i];
	if (bad_uri(next))
		return RR_ERROR;
	if (!next->r->na.uri.lr) {
		/* a strict router: it wants its URI as the R-URI */
		if (save_ruri(msg) < 0 || set_ruri(msg, next->r) < 0)
			return RR_ERROR;
		next->removed = 1;
	} else if (set_dst(msg, next->r) < 0) {
		return RR_ERROR;
	}
	return apply(msg, rs) < 0 ? RR_ERROR : RR_DRIVEN;
}

/* The R-URI is ours: a strict router before us put our Record-Route URI
 * there (RFC 3261 §16.4), and the remote target is the last Route. */
static int after_strict(sip_msg_t *msg, rr_msg_t *st, rset_t *rs,
			const sip_uri_t *ruri)
{
	rent_t *next = &rs->e[0], *last;
	str_t params = ruri->params;

	if (bad_uri(next))
		return RR_ERROR;
	if (rr_enable_double_rr && is_2rr(&next->r->na.uri) &&
	    rr_uri_is_myself(&next->r->na.uri)) {
		next->removed = 1;
		if (rs->n == 1) {
			if (apply(msg, rs) < 0)
				return RR_ERROR;
			return RR_NOT_DRIVEN;
		}
		next = &rs->e[1];
		if (bad_uri(next))
			return RR_ERROR;
	}
	st->routed = 1;
	st->routed_params = params;
	if (!next->r->na.uri.lr) {
		/* strict again (or the remote target itself): behave as a
		 * strict router */
		if (set_ruri(msg, next->r) < 0)
			return RR_ERROR;
		next->removed = 1;
	} else {
		if (set_dst(msg, next->r) < 0)
			return RR_ERROR;
		last = &rs->e[rs->n - 1];
		if (bad_uri(last) || set_ruri(msg, last->r) < 0)
			return RR_ERROR;
		last->removed = 1;
	}
	return apply(msg, rs) < 0 ? RR_ERROR : RR_DRIVEN;
}

int rr_loose_route(sip_msg_t *msg, int loose_only)
{
	rr_msg_t *st;
	sip_uri_t *ruri;
	str_t totag;
	rset_t rs;

	if (msg->kind != SIP_REQUEST)
		return RR_ERROR;
	if (collect(msg, &rs) < 0)
		return RR_ERROR;
	if (!rs.n)
		return RR_NOT_DRIVEN;
	st = rr_msg_get(msg);
	if (!st)
		return RR_ERROR;
	st->routed = 0;
	st->route_addr = 0;
	st->routed_params = STR_NULL;
	ruri = sip_get_cur_ruri(msg);
	if (!ruri || sip_get_tag(msg, SIP_HDR_TO, &totag) < 0) {
		LOG_RATE(L_WARN, "rr: loose_route: bad R-URI or To header");
		return RR_ERROR;
	}
	if (!totag.len)
		return after_loose(msg, st, &rs, 1);
	if (!loose_only && rr_uri_is_myself(ruri))
		return after_strict(msg, st, &rs, ruri);
	return after_loose(msg, st, &rs, 0);
}

int rr_route_params(sip_msg_t *msg, str_t *out)
{
	rr_msg_t *st = msg->rr;
	sip_hdr_t *h;
	sip_rr_t *r;

	*out = STR_NULL;
	if (msg->kind != SIP_REQUEST)
		return -1;
	if (st && st->routed) {
		*out = st->routed_params;
	} else {
		/* loose_route did not run (or found no Route of ours): look
		 * at the top Route as received, as Kamailio does */
		h = sip_hdr_first(msg, SIP_HDR_ROUTE);
		r = h ? sip_get_rr(msg, h) : NULL;
		if (!r || !r->na.uri_ok || !rr_uri_is_myself(&r->na.uri))
			return -1;
		*out = r->na.uri.params;
	}
	return out->len ? 0 : -1;
}

int rr_get_route_param(sip_msg_t *msg, str_t name, str_t *val)
{
	const char *p, *end, *b, *eq;
	str_t params, n;
	int quoted;

	*val = STR_NULL;
	if (!name.len || rr_route_params(msg, &params) < 0)
		return -1;
	p = params.s;
	end = params.s + params.len;
	while (p < end) {
		/* one ';'-separated parameter, quotes respected */
		for (b = p, quoted = 0; p < end && (quoted || *p != ';'); p++)
			if (*p == '"' && (p == b || p[-1] != '\\'))
				quoted = !quoted;
		eq = memchr(b, '=', (size_t)(p - b));
		n = str_trim((str_t){b, (size_t)((eq ? eq : p) - b)});
		if (str_caseeq(n, name)) {
			if (eq) {
				*val = str_trim(
				    (str_t){eq + 1, (size_t)(p - eq - 1)});
				if (val->len >= 2 && val->s[0] == '"' &&
				    val->s[val->len - 1] == '"') {
					val->s++;
					val->len -= 2;
				}
			}
			return 0;
		}
		if (p < end)
			p++;
	}
	return -1;
}

int rr_direction(sip_msg_t *msg)
{
	str_t ft;
	str_t ftag;

	if (rr_get_route_param(msg, STR_LIT("ftag"), &ftag) < 0 || !ftag.len)
		return RR_FLOW_DOWNSTREAM;
	if (sip_get_tag(msg, SIP_HDR_FROM, &ft) <= 0 || !ft.len)
		return RR_FLOW_DOWNSTREAM;
	return str_eq(ft, ftag) ? RR_FLOW_DOWNSTREAM : RR_FLOW_UPSTREAM;
}
