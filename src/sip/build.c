/* build.c - outgoing messages built from a parsed one (see build.h).
 *
 * Each builder runs its writer once into an arena buffer sized by a
 * generous guess (the received message plus what can be added); the
 * writer counts every byte, and writes only while they fit. When the guess
 * was short, the count is the exact size: the writer runs a second time
 * into a buffer of that size. Both passes take the same decisions from the
 * same (cached) parse results, so the output is the same either way; the
 * second pass is rare (large additions), and one pass halves the cost of
 * every reply. */
#include "sip/build.h"
#include "sip/sip_int.h"

typedef struct wbuf {
	char *buf;
	size_t len; /* bytes produced, also beyond cap */
	size_t cap; /* room in buf */
} wbuf_t;

static void w_put(wbuf_t *w, const char *s, size_t n)
{
	if (n && w->len + n <= w->cap)
		memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void w_str(wbuf_t *w, str_t s)
{
	w_put(w, s.s, s.len);
}

#define W_LIT(w, lit) w_put((w), (lit), sizeof(lit) - 1)

static void w_uint(wbuf_t *w, unsigned long v)
{
	char tmp[24], *p = tmp + sizeof(tmp);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	w_put(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* Header text from the script (added or replacing lines): written as given,
 * with a CRLF appended when the caller forgot it, so that a missing line end
 * cannot glue two headers together. */
static void w_line(wbuf_t *w, str_t s)
{
	if (!s.len)
		return;
	w_str(w, s);
	if (s.s[s.len - 1] != '\n')
		W_LIT(w, "\r\n");
}

/* Next ';'-separated element of a parameter string (quotes respected),
 * trimmed. Returns 0 at the end. */
static int next_param(const char **pp, const char *end, str_t *seg)
{
	const char *p = *pp, *b, *q;

	while (p < end && (*p == ';' || SIP_IS(*p, SC_WS)))
		p++;
	if (p == end)
		return 0;
	b = p;
	while (p < end && *p != ';') {
		if (*p == '"') {
			q = sip_quoted_end(p, end);
			p = q ? q : end;
		} else {
			p++;
		}
	}
	*seg = str_trim(sip_mkstr(b, p));
	*pp = p;
	return 1;
}

static int param_named(str_t seg, const char *lc, size_t n)
{
	const char *p = seg.s, *e = seg.s + seg.len;

	while (p < e && *p != '=' && !SIP_IS(*p, SC_WS))
		p++;
	return (size_t)(p - seg.s) == n && sip_lc_eq(seg.s, lc, n);
}

/* The Via header line h whose first via-parm v gets the received/rport of
 * `fix` (RFC 3261 §18.2.1, RFC 3581 §4): existing params of those names are
 * dropped, the new ones appended at the end of the via-parm; everything else
 * in the line is copied as received. */
static void w_via_fixed(wbuf_t *w, const sip_hdr_t *h, const sip_via_t *v,
			const sip_via_fix_t *fix)
{
	const char *le = h->raw.s + h->raw.len;
	const char *vend = v->raw.s + v->raw.len, *cut = vend, *p, *pend;
	str_t seg;

	if (v->params.len) {
		cut = v->params.s;
		while (cut > v->raw.s && cut[-1] != ';')
			cut--;
		if (cut > v->raw.s)
			cut--;
	}
	w_put(w, h->raw.s, (size_t)(cut - h->raw.s));
	if (v->params.len) {
		p = v->params.s;
		pend = v->params.s + v->params.len;
		while (next_param(&p, pend, &seg)) {
			if (fix->received.len &&
			    param_named(seg, "received", 8))
				continue;
			if (fix->rport && param_named(seg, "rport", 5))
				continue;
			W_LIT(w, ";");
			w_str(w, seg);
		}
	}
	if (fix->received.len) {
		W_LIT(w, ";received=");
		w_str(w, fix->received);
	}
	if (fix->rport) {
		W_LIT(w, ";rport=");
		w_uint(w, (unsigned long)fix->rport);
	}
	w_put(w, vend, (size_t)(le - vend));
}

/* The Via header line h without its first via-parm v; nothing when v was
 * the only one. */
static void w_via_drop_first(wbuf_t *w, const sip_hdr_t *h, const sip_via_t *v)
{
	const char *le = h->raw.s + h->raw.len;

	if (!v->next)
		return;
	w_put(w, h->raw.s, (size_t)(v->raw.s - h->raw.s));
	w_put(w, v->next->raw.s, (size_t)(le - v->next->raw.s));
}

static int anchor_ok(const sip_msg_t *msg, const sip_hdr_add_t *ad)
{
	return ad->anchor >= 0 && ad->anchor < msg->n_hdrs;
}

/* Added headers for one position. APPEND also collects BEFORE/AFTER
 * additions whose anchor is not a header index, so nothing is lost. */
static void w_adds(wbuf_t *w, const sip_msg_t *msg, sip_add_where_t where,
		   int idx)
{
	for (const sip_hdr_add_t *ad = msg->adds; ad; ad = ad->next) {
		int hit;

		switch (ad->where) {
		case SIP_ADD_INSERT:
			hit = where == SIP_ADD_INSERT;
			break;
		case SIP_ADD_BEFORE:
		case SIP_ADD_AFTER:
			if (anchor_ok(msg, ad))
				hit = where == ad->where && idx == ad->anchor;
			else
				hit = where == SIP_ADD_APPEND;
			break;
		default:
			hit = where == SIP_ADD_APPEND;
			break;
		}
		if (hit)
			w_line(w, ad->text);
	}
}

static void w_clen(wbuf_t *w, size_t n)
{
	W_LIT(w, "Content-Length: ");
	w_uint(w, (unsigned long)n);
	W_LIT(w, "\r\n");
}

enum { B_REQUEST, B_FWD_REPLY };

typedef struct bctx {
	sip_msg_t *msg;
	int mode;
	str_t via_line;
	const sip_via_fix_t *fix;
	/* local replies */
	int code;
	str_t reason, to_tag, extra, body;
} bctx_t;

/* Headers and body of a forwarded message. Content-Length: when the body
 * was replaced, the first Content-Length header is rewritten in place and
 * the others dropped; when no Content-Length would be written at all (UDP
 * senders may omit it, or the script removed it) one is added after the
 * last header, so the output is valid on stream transports too. */
static int w_fwd_headers(wbuf_t *w, const bctx_t *c)
{
	sip_msg_t *msg = c->msg;
	sip_hdr_t *vh = sip_hdr_first(msg, SIP_HDR_VIA);
	const sip_via_t *v1 = NULL;
	int body_changed = msg->new_body.s != NULL, clen_written = 0;
	str_t body = body_changed ? msg->new_body : msg->body;

	if (c->mode == B_FWD_REPLY ||
	    (c->fix && (c->fix->received.len || c->fix->rport))) {
		if (vh && !(vh->flags & SIP_HDR_F_REMOVED) && !vh->replace.len) {
			v1 = sip_get_via(msg, vh);
			if (!v1)
				return -OSP_EPARSE;
		} else if (c->mode == B_FWD_REPLY) {
			return -OSP_EPARSE;
		}
	}
	w_adds(w, msg, SIP_ADD_INSERT, -1);
	for (int i = 0; i < msg->n_hdrs; i++) {
		const sip_hdr_t *h = &msg->hdrs[i];

		if (msg->adds)
			w_adds(w, msg, SIP_ADD_BEFORE, i);
		if (h->type == SIP_HDR_CLEN && body_changed) {
			if (!clen_written)
				w_clen(w, body.len);
			clen_written = 1;
		} else if (h->flags & SIP_HDR_F_REMOVED) {
			/* skipped */
		} else if (h->replace.len) {
			w_line(w, h->replace);
			clen_written |= h->type == SIP_HDR_CLEN;
		} else if (h == vh && v1) {
			if (c->mode == B_FWD_REPLY)
				w_via_drop_first(w, h, v1);
			else
				w_via_fixed(w, h, v1, c->fix);
		} else {
			w_str(w, h->raw);
			clen_written |= h->type == SIP_HDR_CLEN;
		}
		if (msg->adds)
			w_adds(w, msg, SIP_ADD_AFTER, i);
	}
	w_adds(w, msg, SIP_ADD_APPEND, -1);
	if (!clen_written)
		w_clen(w, body.len);
	W_LIT(w, "\r\n");
	w_str(w, body);
	return 0;
}

static int w_request(wbuf_t *w, const bctx_t *c)
{
	str_t uri = sip_cur_uri(c->msg);

	w_str(w, c->msg->method);
	W_LIT(w, " ");
	w_str(w, uri);
	W_LIT(w, " SIP/2.0\r\n");
	w_line(w, c->via_line);
	return w_fwd_headers(w, c);
}

static int w_fwd_reply(wbuf_t *w, const bctx_t *c)
{
	w_str(w, c->msg->first_line);
	W_LIT(w, "\r\n");
	return w_fwd_headers(w, c);
}

/* RFC 3261 §8.2.6.2: Via (all, in order), From, To, Call-ID and CSeq are
 * copied from the request; §12.1.1: Record-Route is copied into responses
 * that can create a dialog (here every 101-299). The script's header
 * removals do not apply: a reply must echo what was received. */
static int w_reply(wbuf_t *w, const bctx_t *c)
{
	sip_msg_t *req = c->msg;
	const sip_hdr_t *vh = sip_hdr_first(req, SIP_HDR_VIA), *h;
	const sip_via_t *v1 = NULL;
	str_t reason = c->reason, to_tag;

	if (c->fix && (c->fix->received.len || c->fix->rport) && vh) {
		v1 = sip_get_via(req, (sip_hdr_t *)vh);
		if (!v1)
			return -OSP_EPARSE;
	}
	if (!reason.len)
		reason = str_from(sip_reason_phrase(c->code));
	W_LIT(w, "SIP/2.0 ");
	w_uint(w, (unsigned long)c->code);
	W_LIT(w, " ");
	w_str(w, reason);
	W_LIT(w, "\r\n");
	for (int i = 0; i < req->n_hdrs; i++) {
		h = &req->hdrs[i];
		if (h->type != SIP_HDR_VIA)
			continue;
		if (h == vh && v1)
			w_via_fixed(w, h, v1, c->fix);
		else
			w_str(w, h->raw);
	}
	if (c->code > 100 && c->code < 300)
		for (int i = 0; i < req->n_hdrs; i++)
			if (req->hdrs[i].type == SIP_HDR_RECORDROUTE)
				w_str(w, req->hdrs[i].raw);
	if ((h = sip_hdr_first(req, SIP_HDR_FROM)))
		w_str(w, h->raw);
	if ((h = sip_hdr_first(req, SIP_HDR_TO))) {
		/* a tag is added when the To has none (a malformed To is
		 * echoed as it is) */
		if (c->code > 100 && c->to_tag.len &&
		    sip_get_tag(req, SIP_HDR_TO, &to_tag) == 0) {
			const char *ve = h->value.s + h->value.len;

			w_put(w, h->raw.s, (size_t)(ve - h->raw.s));
			W_LIT(w, ";tag=");
			w_str(w, c->to_tag);
			w_put(w, ve, (size_t)(h->raw.s + h->raw.len - ve));
		} else {
			w_str(w, h->raw);
		}
	}
	if ((h = sip_hdr_first(req, SIP_HDR_CALLID)))
		w_str(w, h->raw);
	if ((h = sip_hdr_first(req, SIP_HDR_CSEQ)))
		w_str(w, h->raw);
	for (const sip_hdr_add_t *ad = req->reply_adds; ad; ad = ad->next)
		w_line(w, ad->text);
	w_line(w, c->extra);
	w_clen(w, c->body.len);
	W_LIT(w, "\r\n");
	w_str(w, c->body);
	return 0;
}

/* Run fn into a buffer of `guess` bytes, and once more into one of the
 * exact size when that was short. The output is NUL-terminated (not
 * counted in its length). */
static int build2(int (*fn)(wbuf_t *, const bctx_t *), const bctx_t *c,
		  size_t guess, arena_t *a, str_t *out)
{
	wbuf_t w = {NULL, 0, guess};
	int rc;

	w.buf = arena_alloc(a, guess + 1);
	if (!w.buf) {
		rc = -OSP_ENOMEM;
		goto out;
	}
	rc = fn(&w, c);
	if (rc < 0)
		goto out;
	if (w.len > w.cap) {
		w.cap = w.len;
		w.len = 0;
		w.buf = arena_alloc(a, w.cap + 1);
		if (!w.buf) {
			rc = -OSP_ENOMEM;
			goto out;
		}
		rc = fn(&w, c);
		if (rc < 0)
			goto out;
	}
	w.buf[w.len] = '\0';
	*out = (str_t){w.buf, w.len};
out:
	return rc;
}

/* What the script may add to a forwarded message, beyond its own bytes:
 * added headers, a new R-URI and body, and room for the Via changes. */
static size_t fwd_guess(const sip_msg_t *msg, size_t extra)
{
	size_t n = msg->len + extra + 256;

	for (const sip_hdr_add_t *ad = msg->adds; ad; ad = ad->next)
		n += ad->text.len + 2;
	return n + msg->new_uri.len + msg->new_body.len;
}

int sip_build_request(sip_msg_t *msg, str_t via_line, const sip_via_fix_t *fix,
		      arena_t *a, str_t *out)
{
	bctx_t c = {.msg = msg, .mode = B_REQUEST, .via_line = via_line,
		    .fix = fix};

	if (msg->kind != SIP_REQUEST)
		return -OSP_EINVAL;
	return build2(w_request, &c, fwd_guess(msg, via_line.len + 2), a, out);
}

int sip_build_fwd_reply(sip_msg_t *msg, arena_t *a, str_t *out)
{
	bctx_t c = {.msg = msg, .mode = B_FWD_REPLY};

	if (msg->kind != SIP_REPLY)
		return -OSP_EINVAL;
	/* RFC 3261 §16.7 step 3: with no Via left once ours is removed, the
	 * reply was meant for us and must not be forwarded */
	if (!sip_get_via2(msg))
		return -OSP_EPARSE;
	return build2(w_fwd_reply, &c, fwd_guess(msg, 0), a, out);
}

int sip_build_reply(sip_msg_t *req, int code, str_t reason, str_t to_tag,
		    const sip_via_fix_t *fix, str_t extra, str_t body, arena_t *a,
		    str_t *out)
{
	bctx_t c = {.msg = req, .fix = fix, .code = code, .reason = reason,
		    .to_tag = to_tag, .extra = extra, .body = body};

	/* the status line, at most every request header once (hdrs_end
	 * covers them), a To tag, the Via fix, and what the caller adds */
	size_t guess = 256 + req->hdrs_end + reason.len + to_tag.len +
		       extra.len + body.len + (fix ? fix->received.len : 0);

	for (const sip_hdr_add_t *ad = req->reply_adds; ad; ad = ad->next)
		guess += ad->text.len + 2;
	if (req->kind != SIP_REQUEST || code < 100 || code > 699)
		return -OSP_EINVAL;
	return build2(w_reply, &c, guess, a, out);
}
