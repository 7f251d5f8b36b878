/* record.c - Record-Route insertion (RFC 3261 §16.6 step 4), as Kamailio's
 * rr module writes it (its record.c, 5.6):
 *
 * record_route():
 *     <sip:[user@]HOST[:PORT][;transport=T][;r2=on];lr[;ftag=F]PARAMS>
 * record_route_advertised_address():
 *     <sip:[user@]ADDR[;transport=T][;r2=on][;ftag=F];lr PARAMS>
 * record_route_preset():
 *     <sip:[user@]ADDR[;ftag=F];lr>
 *
 * HOST/PORT are those of a listener (its advertised address when set);
 * the port is left out when it is 5060 and not advertised, the transport
 * when it is UDP. With double record-routing (enable_double_rr) two
 * headers are written when the request leaves from another socket than
 * the one it came in on (advertised: another transport): first the one for
 * the outgoing socket, then the one for the incoming socket, both with
 * r2=on, so that loose_route removes both. Without it, the single header
 * names the incoming socket, as in Kamailio.
 *
 * What to write is kept in the message's rr_msg_t; the text is produced by
 * render() into the placeholder line (see rr.h), again by rr_finalize()
 * once the outgoing socket is known. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/osp.h"
#include "modules/pv/pv.h"
#include "modules/rr/rr_int.h"

#define RR_PARAMS_MAX 1024 /* Kamailio keeps 512 bytes for pending params */

/* A bounded writer into one arena buffer. */
typedef struct obuf {
	char *p;
	size_t len, cap;
	int over;
} obuf_t;

static void o_put(obuf_t *o, const char *s, size_t n)
{
	if (o->over || n > o->cap - o->len) {
		o->over = 1;
		return;
	}
	if (n)
		memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void o_str(obuf_t *o, str_t s)
{
	o_put(o, s.s, s.len);
}

static void o_cstr(obuf_t *o, const char *s)
{
	o_put(o, s, strlen(s));
}

static void o_int(obuf_t *o, int v)
{
	char b[16];
	int n = snprintf(b, sizeof(b), "%d", v);

	o_put(o, b, n > 0 ? (size_t)n : 0);
}

/* The ;transport= value written by record_route (Kamailio's SUBST_*_ALL):
 * none for UDP, the default. WebSocket is "ws" with or without TLS
 * (RFC 7118). */
static const char *transport_param(sip_proto_t p)
{
	switch (p) {
	case SIP_PROTO_TCP: return "tcp";
	case SIP_PROTO_TLS: return "tls";
	case SIP_PROTO_SCTP: return "sctp";
	case SIP_PROTO_WS:
	case SIP_PROTO_WSS: return "ws";
	default: return NULL;
	}
}

/* The transport name written by the advertised-address variant
 * (Kamailio's SUBST_*_PROTO): UDP is named too. */
static const char *transport_name(sip_proto_t p)
{
	const char *t = transport_param(p);

	return t ? t : "udp";
}

/* Two sockets are different "realms" when a request crossing them needs
 * two Record-Routes: another transport, port or address. */
static int realms_differ(const net_listener_t *a, const net_listener_t *b)
{
	if (a == b)
		return 0;
	return a->proto != b->proto || a->port != b->port ||
	       strcmp(a->ip, b->ip) != 0 ||
	       strcmp(a->adv_host, b->adv_host) != 0 ||
	       a->adv_port != b->adv_port;
}

static void line_start(obuf_t *o, const rr_msg_t *st)
{
	o_cstr(o, st->sips ? "Record-Route: <sips:" : "Record-Route: <sip:");
	if (st->user.len) {
		o_str(o, st->user);
		o_put(o, "@", 1);
	}
}

static void line_lr(obuf_t *o)
{
	o_cstr(o, rr_enable_full_lr ? ";lr=on" : ";lr");
}

static void line_ftag(obuf_t *o, const rr_msg_t *st)
{
	if (st->tag.len) {
		o_cstr(o, ";ftag=");
		o_str(o, st->tag);
	}
}

/* record_route(): one header naming listener l. */
static void auto_line(obuf_t *o, const rr_msg_t *st, const net_listener_t *l,
		      int r2)
{
	const char *h = l->adv_host[0] ? l->adv_host : l->host;
	int v6 = h[0] != '[' && strchr(h, ':') != NULL;
	const char *t = transport_param(l->proto);

	line_start(o, st);
	if (v6)
		o_put(o, "[", 1);
	o_cstr(o, h);
	if (v6)
		o_put(o, "]", 1);
	/* 5060 is the default port of every transport we could omit it for;
	 * a TLS listener keeps its port (the sips default is 5061) */
	if (l->adv_port || l->port != 5060 || l->proto == SIP_PROTO_TLS ||
	    l->proto == SIP_PROTO_WSS) {
		o_put(o, ":", 1);
		o_int(o, l->adv_port ? l->adv_port : l->port);
	}
	if (t) {
		o_cstr(o, ";transport=");
		o_cstr(o, t);
	}
	if (r2)
		o_cstr(o, ";r2=on");
	line_lr(o);
	line_ftag(o, st);
	o_str(o, st->params);
	o_cstr(o, ">\r\n");
}

/* record_route_advertised_address(): one header with the given address. */
static void adv_line(obuf_t *o, const rr_msg_t *st, sip_proto_t proto, int tr,
		     int r2)
{
	line_start(o, st);
	o_str(o, st->addr);
	if (tr) {
		o_cstr(o, ";transport=");
		o_cstr(o, transport_name(proto));
	}
	if (r2)
		o_cstr(o, ";r2=on");
	line_ftag(o, st);
	line_lr(o);
	o_str(o, st->params);
	o_cstr(o, ">\r\n");
}

/* The Record-Route text of st for a request received on `in` and sent
 * from `out` (either may be NULL: unknown, then taken equal to the other).
 * *text is empty when nothing can be written yet (record_route with no
 * socket known at all). 0 or -OSP_ENOMEM / -OSP_ETOOBIG. */
static int render(const sip_msg_t *msg, const rr_msg_t *st,
		  const net_listener_t *in, const net_listener_t *out,
		  arena_t *a, str_t *text)
{
	size_t per =
	    256 + st->user.len + st->tag.len + st->params.len + st->addr.len;
	obuf_t o = {0};

	*text = STR_NULL;
	if (st->kind == RR_PRESET) {
		*text = st->preset;
		return 0;
	}
	if (st->kind == RR_NONE)
		return 0;
	if (!in)
		in = out;
	if (!out)
		out = in;
	if (st->kind == RR_AUTO && !in)
		return 0;
	o.cap = 2 * per;
	o.p = arena_alloc(a, o.cap);
	if (!o.p)
		return -OSP_ENOMEM;
	if (st->kind == RR_AUTO) {
		int dbl = rr_enable_double_rr &&
			  (rr_enable_double_rr == 2 || realms_differ(in, out));

		if (dbl)
			auto_line(&o, st, out, 1);
		auto_line(&o, st, in, dbl);
	} else {
		sip_proto_t pin = in ? in->proto : msg->rcv.proto;
		sip_proto_t pout = out ? out->proto : pin;
		int pdiff = pin != pout;
		int tr = rr_enable_double_rr == 2 || pdiff;
		int dbl =
		    rr_enable_double_rr && (rr_enable_double_rr == 2 || pdiff);

		if (dbl)
			adv_line(&o, st, pout, tr, dbl);
		adv_line(&o, st, pin, tr, dbl);
	}
	if (o.over)
		return -OSP_ETOOBIG;
	*text = (str_t){o.p, o.len};
	return 0;
}

static int is_placeholder(const sip_hdr_add_t *ad)
{
	return ad->where == SIP_ADD_INSERT && ad->anchor == RR_ADD_ANCHOR;
}

/* Put text into every placeholder of msg->adds, creating one (at the end
 * of the list, so that it keeps the order of the script's calls) when
 * there is none. */
static int set_placeholders(sip_msg_t *msg, str_t text)
{
	sip_hdr_add_t *ad, **pp;
	int found = 0;

	for (pp = &msg->adds; *pp; pp = &(*pp)->next) {
		if (is_placeholder(*pp)) {
			(*pp)->text = text;
			found = 1;
		}
	}
	if (found)
		return 0;
	ad = arena_zalloc(msg->arena, sizeof(*ad));
	if (!ad)
		return -OSP_ENOMEM;
	ad->text = text;
	ad->where = SIP_ADD_INSERT;
	ad->anchor = RR_ADD_ANCHOR;
	*pp = ad;
	return 0;
}

/* Render st for the incoming socket into the placeholder: what the request
 * carries if it is built without rr_finalize. */
static int refresh(sip_msg_t *msg, rr_msg_t *st)
{
	str_t text;
	int rc = render(msg, st, msg->rcv.listener, NULL, msg->arena, &text);

	if (rc < 0)
		return rc;
	return set_placeholders(msg, text);
}

int rr_finalize(sip_msg_t *msg, const net_listener_t *out, arena_t *a)
{
	rr_msg_t *st = msg->rr;
	str_t text;
	int rc;

	if (!st || st->kind == RR_NONE || st->kind == RR_PRESET)
		return 0;
	rc = render(msg, st, msg->rcv.listener, out, a, &text);
	if (rc < 0) {
		LOG_ERR("rr: cannot write the Record-Route header");
		return rc;
	}
	for (sip_hdr_add_t *ad = msg->adds; ad; ad = ad->next)
		if (is_placeholder(ad))
			ad->text = text;
	return 0;
}

/* The user part of our URI (add_username): the custom_user_avp value when
 * set and `custom`, else the user of the R-URI as received, or of the new
 * R-URI when the received one has none. */
static int get_user(sip_msg_t *msg, int custom, str_t *user)
{
	sip_uri_t *u;

	*user = STR_NULL;
	if (!rr_add_username)
		return 0;
	if (custom && rr_custom_user.len) {
		ksr_xval_t v;

		if (pv_avp_get(msg, rr_custom_user, 0, &v) == 0) {
			if (v.type == KSR_STR && v.s.len) {
				*user = v.s;
				return 0;
			}
			if (v.type == KSR_INT) {
				char b[24];
				int n = snprintf(b, sizeof(b), "%ld", v.n);

				*user = rr_cat(msg->arena, STR_NULL,
					       (str_t){b, (size_t)n});
				return user->s ? 0 : -OSP_ENOMEM;
			}
		}
		LOG_DBG("rr: no usable custom_user_avp, using the R-URI user");
	}
	u = sip_get_ruri(msg);
	if (!u)
		return -OSP_EPARSE;
	*user = u->user;
	if (!user->len && msg->new_uri.len) {
		u = sip_get_cur_ruri(msg);
		if (!u)
			return -OSP_EPARSE;
		*user = u->user;
	}
	return 0;
}

/* The ftag value (append_fromtag): the From tag; with `dir`, the To tag for
 * a request going upstream (callee to caller), so that the tag always
 * names the caller. */
static int get_tag(sip_msg_t *msg, int dir, str_t *tag)
{
	*tag = STR_NULL;
	if (!rr_append_fromtag)
		return 0;
	return sip_get_tag(msg, dir && rr_direction(msg) == RR_FLOW_UPSTREAM
					 ? SIP_HDR_TO
					 : SIP_HDR_FROM,
			   tag) < 0
		   ? -OSP_EPARSE
		   : 0;
}

static int want_sips(sip_msg_t *msg)
{
	sip_uri_t *u;

	if (rr_ignore_sips)
		return 0;
	u = sip_get_cur_ruri(msg);
	return u && u->scheme == SIP_URI_SIPS;
}

/* A script's parameter string as ";a=b[;c...]" in the arena (a missing
 * leading ';' is added: Kamailio would glue it to the previous param). */
static str_t norm_params(arena_t *a, str_t p)
{
	p = str_trim(p);
	if (!p.len)
		return (str_t){"", 0};
	if (p.s[0] == ';')
		return rr_cat(a, STR_NULL, p);
	return rr_cat(a, STR_LIT(";"), p);
}

/* Common checks of the record_route* functions. */
static rr_msg_t *start(sip_msg_t *msg, const char *fn)
{
	rr_msg_t *st;

	if (msg->kind != SIP_REQUEST) {
		LOG_ERR("rr: %s: not a request", fn);
		return NULL;
	}
	st = rr_msg_get(msg);
	if (!st)
		return NULL;
	if (st->added) {
		LOG_ERR("rr: %s: double attempt to record-route", fn);
		return NULL;
	}
	return st;
}

int rr_record(sip_msg_t *msg, str_t params, int in_branch)
{
	rr_msg_t *st = start(msg, "record_route");
	str_t user, tag, p;

	if (!st)
		return -1;
	if (get_user(msg, 1, &user) < 0 || get_tag(msg, 1, &tag) < 0) {
		LOG_ERR("rr: record_route: cannot parse R-URI, From or To");
		return -1;
	}
	p = norm_params(msg->arena, params);
	if (p.s)
		p = rr_cat(msg->arena, p, st->pending);
	if (!p.s)
		return -1;
	if (p.len > RR_PARAMS_MAX) {
		LOG_ERR("rr: record_route: parameters too long");
		return -1;
	}
	st->kind = RR_AUTO;
	st->user = user;
	st->tag = tag;
	st->params = p;
	st->addr = STR_NULL;
	st->pending = STR_NULL;
	st->sips = want_sips(msg);
	if (!in_branch)
		st->added = 1;
	return refresh(msg, st) < 0 ? -1 : 1;
}

int rr_record_advertised(sip_msg_t *msg, str_t addr, int in_branch)
{
	rr_msg_t *st = start(msg, "record_route_advertised_address");
	str_t user, tag;

	if (!st)
		return -1;
	addr = str_trim(addr);
	if (!addr.len) {
		LOG_ERR("rr: record_route_advertised_address: empty address");
		return -1;
	}
	if (get_user(msg, 0, &user) < 0 || get_tag(msg, 1, &tag) < 0) {
		LOG_ERR("rr: record_route_advertised_address: cannot parse "
			"R-URI, From or To");
		return -1;
	}
	st->addr = rr_cat(msg->arena, STR_NULL, addr);
	if (!st->addr.s)
		return -1;
	st->kind = RR_ADVERTISED;
	st->user = user;
	st->tag = tag;
	st->params = st->pending;
	st->pending = STR_NULL;
	st->sips = want_sips(msg);
	if (!in_branch)
		st->added = 1;
	return refresh(msg, st) < 0 ? -1 : 1;
}

/* One preset line: the address as given, the scheme added when missing. */
static void preset_line(obuf_t *o, const rr_msg_t *st, str_t addr)
{
	int has_scheme =
	    (addr.len > 4 && strncasecmp(addr.s, "sip:", 4) == 0) ||
	    (addr.len > 5 && strncasecmp(addr.s, "sips:", 5) == 0);

	if (has_scheme) {
		o_cstr(o, "Record-Route: <");
	} else {
		line_start(o, st);
	}
	o_str(o, addr);
	line_ftag(o, st);
	line_lr(o);
	o_cstr(o, ">\r\n");
}

int rr_record_preset(sip_msg_t *msg, str_t addr1, str_t addr2, int in_branch)
{
	rr_msg_t *st = start(msg, "record_route_preset");
	obuf_t o = {0};
	str_t user, tag;

	if (!st)
		return -1;
	addr1 = str_trim(addr1);
	addr2 = str_trim(addr2);
	if (!addr1.len) {
		LOG_ERR("rr: record_route_preset: empty address");
		return -1;
	}
	if (addr2.len && !rr_enable_double_rr) {
		LOG_ERR("rr: record_route_preset: a second address needs "
			"enable_double_rr");
		return -1;
	}
	/* the preset header carries the From tag whatever the direction */
	if (get_user(msg, 0, &user) < 0 || get_tag(msg, 0, &tag) < 0) {
		LOG_ERR("rr: record_route_preset: cannot parse R-URI or From");
		return -1;
	}
	st->user = user;
	st->tag = tag;
	st->sips = want_sips(msg);
	o.cap = 2 * (64 + user.len + tag.len) + addr1.len + addr2.len;
	o.p = arena_alloc(msg->arena, o.cap);
	if (!o.p)
		return -1;
	preset_line(&o, st, addr1);
	if (addr2.len)
		preset_line(&o, st, addr2);
	if (o.over)
		return -1;
	st->kind = RR_PRESET;
	st->preset = (str_t){o.p, o.len};
	st->params = STR_NULL;
	st->addr = STR_NULL;
	if (!in_branch)
		st->added = 1;
	return refresh(msg, st) < 0 ? -1 : 1;
}

int rr_add_param(sip_msg_t *msg, str_t param)
{
	rr_msg_t *st = rr_msg_get(msg);
	str_t p, *to;

	if (!st)
		return -1;
	p = norm_params(msg->arena, param);
	if (!p.s)
		return -1;
	if (!p.len)
		return 1;
	/* After record_route the parameter goes into the header(s) already
	 * recorded; before, it waits for the next record_route (Kamailio's
	 * rr_param_buf). A preset header takes no parameters. */
	to = st->kind == RR_AUTO || st->kind == RR_ADVERTISED ? &st->params
							      : &st->pending;
	if (to->len + p.len > RR_PARAMS_MAX) {
		LOG_ERR("rr: add_rr_param: parameters too long");
		return -1;
	}
	p = rr_cat(msg->arena, *to, p);
	if (!p.s)
		return -1;
	*to = p;
	if (to == &st->params && refresh(msg, st) < 0)
		return -1;
	return 1;
}

int rr_remove(sip_msg_t *msg)
{
	rr_msg_t *st = msg->rr;
	sip_hdr_add_t **pp = &msg->adds;

	while (*pp) {
		if (is_placeholder(*pp))
			*pp = (*pp)->next;
		else
			pp = &(*pp)->next;
	}
	/* Kamailio drops the header but keeps its "record-routed" flag, so a
	 * later record_route in the same message is still refused. */
	if (st) {
		st->kind = RR_NONE;
		st->params = STR_NULL;
		st->preset = STR_NULL;
		st->addr = STR_NULL;
	}
	return 1;
}
