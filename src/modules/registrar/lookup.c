/* lookup.c - finding registered contacts: KSR.registrar.lookup (and
 * lookup_uri, lookup_to_dset, lookup_branches), registered and
 * unregister.
 *
 * lookup rewrites the Request-URI with the first usable contact (highest
 * q, then oldest), sets the destination URI to the first Path hop or else
 * the received address, and the Path vector, q and branch flags of branch
 * 0; every further usable contact becomes a branch of the destination set
 * (append_branches), which tm forks over: in parallel, or serially by q
 * with t_load_contacts/t_next_contacts. Return codes as Kamailio's: 1
 * found, -1 none, -2 found but none accepts the method (method_filtering),
 * -3 internal error. */
#include <string.h>

#include "core/dset.h"
#include "core/fwd.h"
#include "core/log.h"
#include "core/osp.h"
#include "modules/registrar/reg_int.h"
#include "net/net.h"

/* A contact copied out of usrloc into the message arena. */
typedef struct reg_target {
	str_t uri, dst, path, instance, ruid, ua, socket;
	int q;
	unsigned cflags;
} reg_target_t;

static int adup(arena_t *a, str_t s, str_t *out)
{
	char *p;

	if (!s.len) {
		*out = STR_NULL;
		return 0;
	}
	p = arena_strndup(a, s.s, s.len);
	if (!p)
		return -1;
	*out = (str_t){p, s.len};
	return 0;
}

/* The next hop of a Path vector: its first URI, or the second when the
 * first is ours and path_check_local is on. Empty when unusable. */
static str_t path_next_hop(arena_t *a, str_t path)
{
	sip_rr_t *rr = NULL;

	if (sip_rr_parse(a, path, &rr) <= 0 || !rr)
		return STR_NULL;
	if (reg_path_check_local && rr->na.uri_ok &&
	    osp_is_myself(rr->na.uri.host, rr->na.uri.port_no, 0))
		rr = rr->next;
	return rr ? rr->na.uri_str : STR_NULL;
}

static int has_to_tag(sip_msg_t *msg)
{
	sip_nameaddr_t *to = sip_get_to(msg);

	return to && to->tag.len;
}

/* The contacts of aor usable for msg, best first, copied into the arena.
 * 1 with *n > 0, -1 no valid contact, -2 only contacts that do not accept
 * the method, -3 error. */
static int resolve(sip_msg_t *msg, ul_domain_t *d, str_t aor,
		   reg_target_t **out, int *n)
{
	ul_handle_t h;
	ul_record_t *r;
	reg_target_t *t = NULL;
	int ret = -1, k = 0, total = 0;
	int filter = reg_method_filtering && !has_to_tag(msg);
	time_t now = ul_now();

	ul_lock(d, aor, &h);
	r = ul_get_record(&h);
	for (ul_contact_t *c = r ? r->contacts : NULL; c; c = c->next)
		total++;
	if (total)
		t = arena_zalloc(msg->arena, (size_t)total * sizeof(*t));
	if (total && !t) {
		ret = -3;
		goto out;
	}
	for (ul_contact_t *c = r ? r->contacts : NULL; c; c = c->next) {
		reg_target_t *x;

		if (!ul_contact_valid(c, now))
			continue;
		if (filter && !(c->methods & msg->method_id)) {
			ret = -2;
			continue;
		}
		x = &t[k];
		if (adup(msg->arena, c->c, &x->uri) < 0 ||
		    adup(msg->arena, c->path, &x->path) < 0 ||
		    adup(msg->arena, c->instance, &x->instance) < 0 ||
		    adup(msg->arena, c->ruid, &x->ruid) < 0 ||
		    adup(msg->arena, c->user_agent, &x->ua) < 0 ||
		    adup(msg->arena, c->socket, &x->socket) < 0 ||
		    adup(msg->arena, c->received, &x->dst) < 0) {
			ret = -3;
			goto out;
		}
		/* the path's first hop handles the NAT of the UA: it wins
		 * over the received address */
		if (x->path.len) {
			str_t hop = path_next_hop(msg->arena, x->path);

			if (hop.len)
				x->dst = hop;
		}
		x->q = c->q;
		x->cflags = c->cflags;
		k++;
	}
	if (k)
		ret = 1;
out:
	ul_unlock(&h);
	*out = t;
	*n = k;
	return ret;
}

static net_listener_t *listener_by_name(str_t name)
{
	if (!name.len)
		return NULL;
	for (net_listener_t *l = net_listeners; l; l = l->next)
		if (str_eq_cstr(name, l->name))
			return l;
	return NULL;
}

static int append_target(sip_msg_t *msg, const reg_target_t *t)
{
	osp_branch_t b;

	memset(&b, 0, sizeof(b));
	b.uri = t->uri;
	b.dst_uri = t->dst;
	b.path = t->path;
	b.q = t->q;
	b.flags = t->cflags;
	b.instance = t->instance;
	b.ruid = t->ruid;
	b.ua = t->ua;
	b.socket = listener_by_name(t->socket);
	if (dset_append(msg, &b) < 0) {
		LOG_RATE(L_ERR, "registrar: cannot add a branch for %.*s",
			 STR_FMT(t->uri));
		return -1;
	}
	return 0;
}

/* Branch 0 becomes target t. */
static int set_ruri_target(sip_msg_t *msg, const reg_target_t *t)
{
	if (sip_set_ruri(msg, t->uri) < 0)
		return -1;
	msg->dst_uri = t->dst;
	msg->path_vec = t->path;
	msg->ruri_q = t->q;
	msg->has_ruri_q = t->q >= 0;
	msg->bflags |= t->cflags;
	return 0;
}

/* The AOR of uri, else of the current R-URI. */
static int lookup_aor(sip_msg_t *msg, str_t uri, char *buf, size_t cap,
		      str_t *aor)
{
	const char *why = "";

	if (!uri.len)
		uri = sip_cur_uri(msg);
	if (reg_aor(msg->arena, uri, buf, cap, aor, NULL, &why) < 0) {
		LOG_RATE(L_ERR, "registrar: no AOR in '%.*s' (%s)",
			 STR_FMT(uri), why);
		return -1;
	}
	return 0;
}

int reg_lookup(ksr_ctx_t *ctx, str_t table, str_t uri, int to_dset)
{
	sip_msg_t *msg = ctx->msg;
	ul_domain_t *d;
	reg_target_t *t;
	char buf[512];
	str_t aor;
	int n, ret, first = 0;

	if (!msg || msg->kind != SIP_REQUEST)
		return -1;
	d = reg_domain(table);
	if (!d)
		return -1;
	if (lookup_aor(msg, uri, buf, sizeof(buf), &aor) < 0)
		return -3;
	ret = resolve(msg, d, aor, &t, &n);
	if (ret < 0)
		return ret;
	if (!to_dset) {
		if (set_ruri_target(msg, &t[0]) < 0)
			return -3;
		first = 1;
	}
	if (reg_append_branches)
		for (int i = first; i < n; i++)
			append_target(msg, &t[i]);
	return 1;
}

/* lookup on the R-URI, then on every branch that holds a bare URI (no
 * destination, Path, socket or flags): such a branch takes its first
 * contact, and its other contacts are added as new branches. */
int reg_lookup_branches(ksr_ctx_t *ctx, str_t table)
{
	sip_msg_t *msg = ctx->msg;
	ul_domain_t *d;
	int n0, ret, found;

	if (!msg || msg->kind != SIP_REQUEST)
		return -1;
	d = reg_domain(table);
	if (!d)
		return -1;
	n0 = dset_count(msg);
	ret = reg_lookup(ctx, table, STR_NULL, 0);
	if (!n0)
		return ret;
	found = ret > 0;
	for (int i = 0; i < n0; i++) {
		osp_branch_t *b = dset_get(msg, i);
		reg_target_t *t;
		char buf[512];
		str_t aor;
		int n, r;

		if (!b || b->dst_uri.len || b->path.len || b->socket ||
		    b->flags)
			continue;
		if (lookup_aor(msg, b->uri, buf, sizeof(buf), &aor) < 0) {
			ret = -3;
			continue;
		}
		r = resolve(msg, d, aor, &t, &n);
		if (r < 0) {
			if (!found)
				ret = r;
			continue;
		}
		found = 1;
		b = dset_get(msg, i); /* stable: the set is an array */
		b->uri = t[0].uri;
		b->dst_uri = t[0].dst;
		b->path = t[0].path;
		b->q = t[0].q;
		b->flags = t[0].cflags;
		b->instance = t[0].instance;
		b->ruid = t[0].ruid;
		b->ua = t[0].ua;
		b->socket = listener_by_name(t[0].socket);
		if (reg_append_branches)
			for (int k = 1; k < n; k++)
				append_target(msg, &t[k]);
	}
	return found ? 1 : ret;
}

/* registered(table[, uri]): 1 when the AOR (of uri, else of the R-URI of
 * a request or the To of a reply) has a valid contact, else -1. */
int reg_registered(ksr_ctx_t *ctx, str_t table, str_t uri)
{
	sip_msg_t *msg = ctx->msg;
	ul_domain_t *d = reg_domain(table);
	char buf[512];
	const char *why = "";
	str_t aor;
	ul_handle_t h;
	ul_record_t *r;
	time_t now = ul_now();
	int ret = -1;

	if (!d || !msg)
		return -1;
	if (!uri.len) {
		if (msg->kind == SIP_REQUEST) {
			uri = sip_cur_uri(msg);
		} else {
			sip_nameaddr_t *to = sip_get_to(msg);

			if (!to)
				return -1;
			uri = to->uri_str;
		}
	}
	if (reg_aor(msg->arena, uri, buf, sizeof(buf), &aor, NULL, &why) < 0)
		return -1;
	ul_lock(d, aor, &h);
	r = ul_get_record(&h);
	for (ul_contact_t *c = r ? r->contacts : NULL; c; c = c->next)
		if (ul_contact_valid(c, now)) {
			ret = 1;
			break;
		}
	ul_unlock(&h);
	return ret;
}

/* unregister(table, uri[, ruid]): remove every contact of the AOR, or the
 * one with ruid (uri may then be empty). 1 done (also when the AOR had
 * none), -1 bad AOR, -2 error, -3 ruid not found. */
int reg_unregister(ksr_ctx_t *ctx, str_t table, str_t uri, str_t ruid)
{
	sip_msg_t *msg = ctx->msg;
	ul_domain_t *d = reg_domain(table);
	arena_t tmp, *a;
	char buf[512];
	const char *why = "";
	str_t aor;
	ul_handle_t h;
	ul_record_t *r;
	ul_contact_t *c = NULL;
	int ret = 1;

	if (!d)
		return -2;
	/* also usable without a message (event routes) */
	if (msg) {
		a = msg->arena;
	} else {
		arena_init(&tmp);
		a = &tmp;
	}
	if (uri.len &&
	    reg_aor(a, uri, buf, sizeof(buf), &aor, NULL, &why) < 0) {
		LOG_RATE(L_ERR, "registrar: unregister: no AOR in '%.*s'",
			 STR_FMT(uri));
		ret = -1;
		goto out;
	}
	if (!ruid.len) {
		ul_lock(d, aor, &h);
		ul_delete_record(&h);
		ul_unlock(&h);
		goto out;
	}
	if (uri.len) {
		ul_lock(d, aor, &h);
		r = ul_get_record(&h);
		for (c = r ? r->contacts : NULL; c; c = c->next)
			if (str_eq(c->ruid, ruid))
				break;
	} else {
		c = ul_find_ruid(d, ruid, &h, &r);
		if (!c) {
			ret = -3;
			goto out;
		}
	}
	if (c) {
		ul_delete_contact(&h, r, c);
		ul_release_record(&h, r);
	} else {
		ret = -3;
	}
	ul_unlock(&h);
out:
	if (!msg)
		arena_destroy(&tmp);
	return ret;
}
