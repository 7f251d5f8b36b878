/* fuzz_parser.c - libFuzzer target for the SIP parser and builders.
 *
 * Each input is parsed as one message; then every accessor runs over every
 * header (and every value parser over every value, whatever its type), the
 * stream framer runs on the raw bytes, and the builders produce requests and
 * replies with all kinds of script changes applied. Every returned view is
 * read byte by byte so that ASan catches views pointing outside their
 * buffer. A message rebuilt without changes must parse again.
 *
 * Build (see fuzz/README.md):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc fuzz/fuzz_parser.c \
 *     src/sip/\*.c src/core/str.c src/core/arena.c src/core/log.c -o fuzz_parser
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/osp.h"
#include "sip/build.h"

static volatile unsigned sink;

static void touch(str_t s)
{
	unsigned h = 0;

	for (size_t i = 0; i < s.len; i++)
		h = h * 31 + (unsigned char)s.s[i];
	sink += h;
}

static void touch_params(const sip_param_t *p)
{
	for (; p; p = p->next) {
		touch(p->name);
		touch(p->value);
	}
}

static void touch_uri(const sip_uri_t *u)
{
	touch(u->user);
	touch(u->password);
	touch(u->host);
	touch(u->port);
	touch(u->params);
	touch(u->headers);
	touch(u->transport);
	touch(u->maddr);
	touch(u->ttl);
	touch(u->user_param);
	touch(u->method);
	touch_params(u->param_list);
	sink += (unsigned)u->port_no + (unsigned)u->lr;
}

static void touch_na(const sip_nameaddr_t *na)
{
	touch(na->display);
	touch(na->uri_str);
	if (na->uri_ok)
		touch_uri(&na->uri);
	touch(na->params);
	touch(na->tag);
	touch(na->raw);
	touch_params(na->param_list);
}

static void touch_via(const sip_via_t *v)
{
	for (; v; v = v->next) {
		touch(v->proto_name);
		touch(v->version);
		touch(v->transport);
		touch(v->host);
		touch(v->port);
		touch(v->params);
		touch(v->branch);
		touch(v->received);
		touch(v->maddr);
		touch(v->ttl);
		touch(v->rport);
		touch(v->raw);
		touch_params(v->param_list);
	}
}

static void touch_contacts(const sip_contact_list_t *cl)
{
	for (const sip_contact_t *c = cl->first; c; c = c->next) {
		touch_na(&c->na);
		touch(c->expires);
		touch(c->q);
		touch(c->instance);
		touch(c->reg_id);
		sink += (unsigned)c->q_val + (unsigned)c->expires_val;
	}
}

static void touch_auth(const sip_auth_t *au)
{
	touch(au->scheme);
	touch(au->username);
	touch(au->realm);
	touch(au->nonce);
	touch(au->uri);
	touch(au->response);
	touch(au->algorithm);
	touch(au->cnonce);
	touch(au->opaque);
	touch(au->qop);
	touch(au->nc);
	touch_params(au->param_list);
}

static void touch_rr(const sip_rr_t *r)
{
	for (; r; r = r->next)
		touch_na(&r->na);
}

static void touch_tokens(const sip_token_t *t)
{
	for (; t; t = t->next)
		touch(t->tok);
}

/* Every value parser on an arbitrary value. */
static void parse_value_all_ways(arena_t *a, str_t v)
{
	sip_param_t *pl;
	sip_uri_t uri;
	sip_nameaddr_t na;
	sip_via_t *via;
	sip_contact_list_t cl;
	sip_rr_t *rr;
	sip_cseq_t cs;
	sip_auth_t au;
	sip_token_t *tk;
	size_t used;

	if (sip_params_parse(a, v, ",", &pl, &used) >= 0) {
		touch_params(pl);
		if (used > v.len)
			abort();
	}
	if (sip_params_parse(a, v, NULL, &pl, &used) >= 0 && used > v.len)
		abort();
	if (sip_uri_parse(a, v, &uri) == 0)
		touch_uri(&uri);
	if (sip_nameaddr_parse(a, v, &na) == 0)
		touch_na(&na);
	if (sip_via_parse(a, v, &via) > 0)
		touch_via(via);
	if (sip_contact_parse(a, v, &cl) >= 0)
		touch_contacts(&cl);
	if (sip_rr_parse(a, v, &rr) > 0)
		touch_rr(rr);
	if (sip_cseq_parse(v, &cs) == 0) {
		touch(cs.number);
		touch(cs.method);
	}
	if (sip_auth_parse(a, v, &au) == 0)
		touch_auth(&au);
	if (sip_tokens_parse(a, v, &tk) >= 0)
		touch_tokens(tk);
}

static void access_headers(sip_msg_t *msg)
{
	for (int i = 0; i < msg->n_hdrs; i++) {
		sip_hdr_t *h = &msg->hdrs[i];
		sip_contact_list_t *cl;
		sip_auth_t *au;

		touch(h->name);
		touch(h->value);
		touch(h->raw);
		if (sip_hdr_find(msg, h->name) == NULL)
			abort();
		for (sip_hdr_t *n = sip_hdr_next(msg, h); n;
		     n = sip_hdr_next(msg, n))
			if (n->type != h->type)
				abort();
		switch (h->type) {
		case SIP_HDR_VIA:
			touch_via(sip_get_via(msg, h));
			break;
		case SIP_HDR_CONTACT:
			if ((cl = sip_get_contacts(msg, h)))
				touch_contacts(cl);
			break;
		case SIP_HDR_AUTHORIZATION:
		case SIP_HDR_PROXYAUTHZ:
		case SIP_HDR_WWWAUTHENTICATE:
		case SIP_HDR_PROXYAUTHENTICATE:
			if ((au = sip_get_auth(msg, h)))
				touch_auth(au);
			break;
		case SIP_HDR_ROUTE:
		case SIP_HDR_RECORDROUTE:
		case SIP_HDR_PATH:
			touch_rr(sip_get_rr(msg, h));
			break;
		case SIP_HDR_REQUIRE:
		case SIP_HDR_PROXYREQUIRE:
		case SIP_HDR_SUPPORTED:
		case SIP_HDR_UNSUPPORTED:
		case SIP_HDR_ALLOW:
			touch_tokens(sip_get_tokens(msg, h));
			break;
		default:
			break;
		}
		/* wrong-type requests must answer NULL, not reinterpret */
		if (h->type != SIP_HDR_CONTACT && sip_get_contacts(msg, h))
			abort();
		if (h->type != SIP_HDR_VIA && sip_get_via(msg, h))
			abort();
		parse_value_all_ways(msg->arena, h->value);
	}
}

static void access_msg(sip_msg_t *msg)
{
	sip_nameaddr_t *na;
	sip_cseq_t *cs;
	sip_uri_t *u;

	touch(msg->first_line);
	touch(msg->body);
	touch(msg->method);
	touch(msg->ruri);
	touch(msg->reason);
	int checked = sip_msg_check_mandatory(msg, NULL) == 0;
	str_t tag;
	int has_tag;

	touch_via(sip_get_via1(msg));
	touch_via(sip_get_via2(msg));
	/* the check reads From/To by their structure only, with the full
	 * parse's grammar: a message that passed has both, and the cheap tag
	 * is the full parse's */
	has_tag = sip_get_tag(msg, SIP_HDR_FROM, &tag);
	if ((na = sip_get_from(msg))) {
		touch_na(na);
		if (has_tag != (na->tag.s != NULL) || !str_eq(tag, na->tag))
			abort();
	} else if (checked) {
		abort();
	}
	has_tag = sip_get_tag(msg, SIP_HDR_TO, &tag);
	if ((na = sip_get_to(msg))) {
		touch_na(na);
		if (has_tag != (na->tag.s != NULL) || !str_eq(tag, na->tag))
			abort();
	} else if (checked) {
		abort();
	}
	if ((cs = sip_get_cseq(msg)))
		touch(cs->method);
	touch(sip_get_callid(msg));
	sink += (unsigned)sip_get_maxfwd(msg);
	if ((u = sip_get_ruri(msg)))
		touch_uri(u);
	if ((u = sip_get_cur_ruri(msg)))
		touch_uri(u);
	access_headers(msg);
}

/* Whatever the builders write must parse again, with the expected body
 * (Content-Length consistent with it). Added headers may legitimately push
 * a message near the limit over SIP_MAX_HDRS, so such outputs are skipped. */
static void reparse(str_t out, str_t body)
{
	static arena_t *a2;
	sip_msg_t m2;
	const char *why = NULL;
	int lines = 0;

	if (out.len < body.len)
		abort();
	for (size_t i = 0; i < out.len - body.len; i++)
		lines += out.s[i] == '\n';
	if (lines > SIP_MAX_HDRS - 1)
		return;
	if (!a2) {
		a2 = malloc(sizeof(*a2));
		if (!a2)
			abort();
		arena_init(a2);
	}
	memset(&m2, 0, sizeof(m2));
	m2.arena = a2;
	if (sip_msg_parse(&m2, out.s, out.len, &why) != 0)
		abort();
	if (!str_eq(m2.body, body))
		abort();
	arena_reset(a2);
}

static void build_all(sip_msg_t *msg, arena_t *a)
{
	sip_via_fix_t fix = {STR_LIT("2001:db8::1"), 5060};
	sip_hdr_add_t ad[5];
	str_t out;
	int rc;

	if (msg->kind == SIP_REPLY) {
		if (sip_build_fwd_reply(msg, a, &out) == 0) {
			touch(out);
			reparse(out, msg->body);
		}
		return;
	}
	rc = sip_build_request(msg, STR_NULL, NULL, a, &out);
	if (rc != 0)
		abort(); /* without a Via fix nothing can fail */
	touch(out);
	reparse(out, msg->body);
	if (sip_build_request(msg, STR_NULL, &fix, a, &out) == 0)
		reparse(out, msg->body);
	if (sip_build_reply(msg, 404, STR_NULL, STR_LIT("t4g"), &fix,
			    STR_LIT("X-A: 1\r\n"), STR_LIT("b"), a, &out) == 0)
		reparse(out, STR_LIT("b"));
	if (sip_build_reply(msg, 200, STR_LIT("OK"), STR_NULL, NULL, STR_NULL,
			    STR_NULL, a, &out) == 0)
		reparse(out, STR_LIT(""));

	/* now with every kind of script change */
	if (sip_set_ruri(msg, STR_LIT("sip:new@192.0.2.1;lr")) != 0)
		abort();
	for (int i = 0; i < 5; i++) {
		ad[i].text = STR_LIT("X-Add: v");
		ad[i].where = (sip_add_where_t)(i % 4);
		ad[i].anchor = i == 4 ? 1000 : i;
		ad[i].next = i < 4 ? &ad[i + 1] : NULL;
	}
	msg->adds = ad;
	msg->reply_adds = &ad[4];
	if (msg->n_hdrs > 0)
		msg->hdrs[0].flags |= SIP_HDR_F_REMOVED;
	if (msg->n_hdrs > 1)
		msg->hdrs[msg->n_hdrs - 1].replace = STR_LIT("X-Repl: 1\r\n");
	msg->new_body = STR_LIT("new body");
	if (sip_build_request(msg, STR_LIT("Via: SIP/2.0/UDP 10.0.0.1\r\n"),
			      &fix, a, &out) == 0)
		reparse(out, msg->new_body);
	fix.received = STR_NULL;
	if (sip_build_request(msg, STR_NULL, &fix, a, &out) == 0)
		reparse(out, msg->new_body);
	msg->adds = NULL;
	msg->reply_adds = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static arena_t *a;
	const char *buf = (const char *)data;
	sip_msg_t msg;
	size_t skip = 0;
	long fl;

	if (!a) {
		a = malloc(sizeof(*a));
		if (!a)
			abort();
		arena_init(a);
	}
	fl = sip_stream_frame(buf, size, 65536, &skip);
	if (skip > size || (fl > 0 && (size_t)fl > size - skip))
		abort();
	if (fl > 0) {
		/* a framed message that parses ends exactly at its body */
		memset(&msg, 0, sizeof(msg));
		msg.arena = a;
		if (sip_msg_parse(&msg, buf + skip, (size_t)fl, NULL) == 0 &&
		    msg.body.s + msg.body.len != buf + skip + fl)
			abort();
		arena_reset(a);
	}
	fl = sip_stream_frame(buf, size, size / 2 + 1, &skip);
	if (fl > 0 && (size_t)fl > size / 2 + 1)
		abort();

	memset(&msg, 0, sizeof(msg));
	msg.arena = a;
	if (sip_msg_parse(&msg, buf, size, NULL) == 0) {
		access_msg(&msg);
		build_all(&msg, a);
	}
	arena_reset(a);
	return 0;
}
