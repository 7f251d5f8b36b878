/* textops.c - KSR.textops: text operations on the message, with the KEMI
 * names, parameters and return codes of Kamailio's textops module (5.6).
 *
 * How changes are recorded (see README.md, "How changes are applied"):
 * searches (search*, is_present_hf*) read the message as received, as
 * Kamailio's do. Replacements and substitutions run on the message as the
 * script has changed it so far (the "view": current header lines, removed
 * ones left out, then the current body); a match inside a header line
 * rewrites that line (hdr->replace), one in the body builds msg->new_body.
 * A match running over two header lines, or into the empty line ending the
 * headers, is not applied. */
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "modules/hdr/hdr_ops.h"
#include "modules/textops/txt_re.h"

/* The body scripts change: the replaced one, else the received one. */
static str_t cur_body(const sip_msg_t *msg)
{
	return msg->new_body.s ? msg->new_body : msg->body;
}

/* ---- the current message, as replacements see it ---- */

/* A piece of the view: the current text of header `hdr`, the body
 * (SEG_BODY) or the empty line ending the headers (SEG_EOH), which no edit
 * may touch. */
enum { SEG_BODY = -1, SEG_EOH = -2 };

typedef struct seg {
	int hdr;
	size_t off; /* in the view */
	str_t text;
} seg_t;

/* The message after its first line, as the script has changed it so far:
 * each header's current line (removed ones left out), the empty line, and
 * the current body when with_body. Lines added with KSR.hdr are not part
 * of it (Kamailio does not search its insertions either). */
typedef struct view {
	char *text; /* NUL-terminated, for regexec */
	size_t len;
	seg_t *segs;
	int n;
} view_t;

static int view_build(sip_msg_t *msg, int with_body, view_t *v)
{
	size_t len = 0;
	char *p;

	memset(v, 0, sizeof(*v));
	v->segs =
	    arena_alloc(msg->arena, sizeof(seg_t) * (size_t)(msg->n_hdrs + 2));
	if (!v->segs)
		return -1;
	for (int i = 0; i < msg->n_hdrs; i++) {
		str_t l = hdr_current_line(&msg->hdrs[i]);

		if (l.len == 0)
			continue;
		v->segs[v->n++] = (seg_t){i, len, l};
		len += l.len;
	}
	v->segs[v->n++] = (seg_t){SEG_EOH, len, STR_LIT("\r\n")};
	len += 2;
	if (with_body) {
		v->segs[v->n++] = (seg_t){SEG_BODY, len, cur_body(msg)};
		len += cur_body(msg).len;
	}
	p = arena_alloc(msg->arena, len + 1);
	if (!p)
		return -1;
	for (int i = 0; i < v->n; i++)
		if (v->segs[i].text.len)
			memcpy(p + v->segs[i].off, v->segs[i].text.s,
			       v->segs[i].text.len);
	p[len] = '\0';
	v->text = p;
	v->len = len;
	return 0;
}

/* The piece holding edit e, or -1 when it runs over two pieces or touches
 * the empty line. An insertion between two pieces goes to the start of the
 * next one, or to the end of the previous one when the next is the empty
 * line. */
static int view_seg_of(const view_t *v, const txt_edit_t *e)
{
	for (int i = 0; i < v->n; i++) {
		const seg_t *g = &v->segs[i];
		size_t end = g->off + g->text.len;

		if (e->off < g->off || e->off > end)
			continue;
		if (e->len == 0 && e->off == end && i + 1 < v->n &&
		    v->segs[i + 1].hdr != SEG_EOH)
			continue; /* the start of the next piece */
		if (e->off == end && e->len > 0)
			continue;
		if (e->off + e->len > end || g->hdr == SEG_EOH)
			return -1;
		return i;
	}
	return -1;
}

/* Record the edits (view offsets, sorted, not overlapping) as new header
 * lines and a new body. An edit across two pieces is dropped. Returns how
 * many were applied, -1 when out of memory. */
static int view_apply(sip_msg_t *msg, const view_t *v, const txt_edit_t *e,
		      int n)
{
	txt_edit_t *ok;
	int *where, applied = 0, m = 0;

	ok = arena_alloc(msg->arena, sizeof(*ok) * (size_t)n);
	where = arena_alloc(msg->arena, sizeof(*where) * (size_t)n);
	if (!ok || !where)
		return -1;
	for (int i = 0; i < n; i++) {
		int sg = view_seg_of(v, &e[i]);

		if (sg < 0) {
			LOG_DBG("textops: a match across two header lines or "
				"into the end of the headers was not applied");
			continue;
		}
		where[m] = sg;
		ok[m++] = e[i];
	}
	for (int i = 0; i < m;) {
		const seg_t *g = &v->segs[where[i]];
		int j = i + 1;
		str_t out;

		while (j < m && where[j] == where[i])
			j++;
		out = txt_apply(msg->arena, g->text, g->off, ok + i, j - i);
		if (!out.s)
			return -1;
		if (g->hdr == SEG_BODY)
			msg->new_body = out;
		else if (hdr_replace(msg, g->hdr, out) < 0)
			return -1;
		applied += j - i;
		i = j;
	}
	return applied;
}

/* Find in the view and apply. 1 when something changed, -1 otherwise. */
static int view_find_apply(sip_msg_t *msg, txt_find_t *f, int with_body)
{
	view_t v;
	txt_edit_t *e;
	int n;

	if (view_build(msg, with_body, &v) < 0)
		return -1;
	n = txt_find(msg->arena, f, v.text, v.len, &e);
	if (n <= 0)
		return -1;
	return view_apply(msg, &v, e, n) > 0 ? 1 : -1;
}

/* Same on the current body: the result becomes msg->new_body. */
static int body_find_apply(sip_msg_t *msg, txt_find_t *f)
{
	str_t b = cur_body(msg), out;
	char *text;
	txt_edit_t *e;
	int n;

	if (b.len == 0)
		return -1;
	text = txt_dup(msg->arena, b);
	if (!text)
		return -1;
	n = txt_find(msg->arena, f, text, b.len, &e);
	if (n <= 0)
		return -1;
	out = txt_apply(msg->arena, b, 0, e, n);
	if (!out.s)
		return -1;
	msg->new_body = out;
	return 1;
}

/* ---- search ---- */

static int txt_match(sip_msg_t *msg, str_t pattern, str_t text)
{
	regex_t *re = txt_re_get(pattern, TXT_RE_FLAGS);
	char *t;

	if (!re)
		return -1;
	t = txt_dup(msg->arena, text);
	if (!t)
		return -1;
	return regexec(re, t, 0, NULL, 0) == 0 ? 1 : -1;
}

/* search(re): anywhere in the received message. */
static int ki_search(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!c->msg)
		return -1;
	return txt_match(c->msg, a[0].s, (str_t){c->msg->buf, c->msg->len});
}

/* search_body(re): in the received body; -1 when it is empty. */
static int ki_search_body(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!c->msg || c->msg->body.len == 0)
		return -1;
	return txt_match(c->msg, a[0].s, c->msg->body);
}

/* search_str(text, re). */
static int ki_search_str(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	regex_t *re = txt_re_get(a[1].s, TXT_RE_FLAGS);
	char buf[1024];
	char *t;
	int rc;

	if (!re)
		return -1;
	if (c->msg) {
		t = txt_dup(c->msg->arena, a[0].s);
		if (!t)
			return -1;
		return regexec(re, t, 0, NULL, 0) == 0 ? 1 : -1;
	}
	if (a[0].s.len >= sizeof(buf))
		return -1;
	str_to_buf(a[0].s, buf, sizeof(buf));
	rc = regexec(re, buf, 0, NULL, 0);
	return rc == 0 ? 1 : -1;
}

/* The headers named n that a/f/l flags select: a[] gets their indexes. */
static int select_hdrs(const sip_msg_t *msg, const hdr_name_t *n, str_t flags,
		       int *out)
{
	char f = flags.len ? flags.s[0] : 'a';
	int k = 0;

	for (int i = 0; i < msg->n_hdrs; i++) {
		if (!hdr_name_match(n, &msg->hdrs[i]))
			continue;
		if (f == 'l' && k == 1)
			k = 0; /* keep only the latest */
		out[k++] = i;
		if (f == 'f')
			break;
	}
	return k;
}

/* search_hf(hname, re, flags): the re in the value of the first (f), last
 * (l) or any (a) header with that name. */
static int ki_search_hf(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	int idx[SIP_MAX_HDRS], k;
	hdr_name_t n;

	if (!c->msg || hdr_name_init(&n, a[0].s) < 0)
		return -1;
	k = select_hdrs(c->msg, &n, a[2].s, idx);
	for (int i = 0; i < k; i++)
		if (txt_match(c->msg, a[1].s, c->msg->hdrs[idx[i]].value) == 1)
			return 1;
	return -1;
}

/* ---- replace ---- */

static int replace_msg(ksr_ctx_t *c, str_t pat, str_t repl, int all,
		       int hdrs_only, int insert_after)
{
	sip_msg_t *msg = c->msg;
	txt_find_t f = {0};

	if (!msg)
		return -1;
	f.re = txt_re_get(pat, TXT_RE_FLAGS);
	if (!f.re)
		return -1;
	f.all = all;
	f.bol_after_nl = 1;
	f.empty_err = all;
	f.insert_after = insert_after;
	f.repl = repl;
	return view_find_apply(msg, &f, !hdrs_only);
}

static int ki_replace(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return replace_msg(c, a[0].s, a[1].s, 0, 0, 0);
}

static int ki_replace_all(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return replace_msg(c, a[0].s, a[1].s, 1, 0, 0);
}

static int ki_replace_hdrs(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return replace_msg(c, a[0].s, a[1].s, 0, 1, 0);
}

/* search_append(re, txt): insert txt after the first match. */
static int ki_search_append(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return replace_msg(c, a[0].s, a[1].s, 0, 0, 1);
}

static int replace_body(ksr_ctx_t *c, str_t pat, str_t repl, int all,
			int atonce, int insert_after)
{
	txt_find_t f = {0};

	if (!c->msg)
		return -1;
	f.re =
	    txt_re_get(pat, atonce ? (REG_EXTENDED | REG_ICASE) : TXT_RE_FLAGS);
	if (!f.re)
		return -1;
	f.all = all;
	f.bol_after_nl = !atonce;
	f.empty_err = all;
	f.insert_after = insert_after;
	f.repl = repl;
	return body_find_apply(c->msg, &f);
}

static int ki_replace_body(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return replace_body(c, a[0].s, a[1].s, 0, 0, 0);
}

static int ki_replace_body_all(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return replace_body(c, a[0].s, a[1].s, 1, 0, 0);
}

/* replace_body_atonce: the whole body is one string ('.' and '^$' cross
 * lines). */
static int ki_replace_body_atonce(ksr_ctx_t *c, const ksr_arg_t *a,
				  ksr_xval_t *r)
{
	return replace_body(c, a[0].s, a[1].s, 1, 1, 0);
}

static int ki_search_append_body(ksr_ctx_t *c, const ksr_arg_t *a,
				 ksr_xval_t *r)
{
	return replace_body(c, a[0].s, a[1].s, 0, 0, 1);
}

/* mode: "f" the first match, "a" all of them. */
static int str_mode(str_t mode, int *all)
{
	if (mode.len == 0)
		return -1;
	if (mode.s[0] == 'a' || mode.s[0] == 'A')
		*all = 1;
	else if (mode.s[0] == 'f' || mode.s[0] == 'F')
		*all = 0;
	else
		return -1;
	return 0;
}

/* replace_str / replace_hdrs_str: plain text, after the first line. */
static int replace_str_msg(ksr_ctx_t *c, const ksr_arg_t *a, int hdrs_only)
{
	sip_msg_t *msg = c->msg;
	view_t v;
	txt_edit_t *e;
	int all, n;

	if (!msg || str_mode(a[2].s, &all) < 0 || a[0].s.len == 0)
		return -1;
	if (view_build(msg, !hdrs_only, &v) < 0)
		return -1;
	n = txt_find_str(msg->arena, (str_t){v.text, v.len}, a[0].s, a[1].s,
			 all, &e);
	if (n <= 0)
		return -1;
	return view_apply(msg, &v, e, n) > 0 ? 1 : -1;
}

static int ki_replace_str(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return replace_str_msg(c, a, 0);
}

static int ki_replace_hdrs_str(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return replace_str_msg(c, a, 1);
}

static int ki_replace_body_str(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	sip_msg_t *msg = c->msg;
	str_t b, out;
	txt_edit_t *e;
	int all, n;

	if (!msg || str_mode(a[2].s, &all) < 0 || a[0].s.len == 0)
		return -1;
	b = cur_body(msg);
	n = txt_find_str(msg->arena, b, a[0].s, a[1].s, all, &e);
	if (n <= 0)
		return -1;
	out = txt_apply(msg->arena, b, 0, e, n);
	if (!out.s)
		return -1;
	msg->new_body = out;
	return 1;
}

/* ---- subst ---- */

static int subst_setup(str_t expr, txt_subst_t *se, txt_find_t *f)
{
	if (txt_subst_parse(expr, se) < 0)
		return -1;
	memset(f, 0, sizeof(*f));
	f->re = se->re;
	f->all = se->global;
	f->empty_err = 1;
	f->se = se;
	return 0;
}

/* subst('/re/repl/flags'): headers and body (not the first line). */
static int ki_subst(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	txt_subst_t se;
	txt_find_t f;

	if (!c->msg || subst_setup(a[0].s, &se, &f) < 0)
		return -1;
	return view_find_apply(c->msg, &f, 1);
}

static int ki_subst_body(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	txt_subst_t se;
	txt_find_t f;

	if (!c->msg || subst_setup(a[0].s, &se, &f) < 0)
		return -1;
	return body_find_apply(c->msg, &f);
}

/* Run a substitution over a string; *out gets the result. 1 when it
 * matched, -1 when not or on error. */
static int subst_string(sip_msg_t *msg, str_t expr, str_t in, str_t *out)
{
	txt_subst_t se;
	txt_find_t f;
	txt_edit_t *e;
	char *t;
	int n;

	if (subst_setup(expr, &se, &f) < 0)
		return -1;
	t = txt_dup(msg->arena, in);
	if (!t)
		return -1;
	n = txt_find(msg->arena, &f, t, in.len, &e);
	if (n <= 0)
		return -1;
	*out = txt_apply(msg->arena, in, 0, e, n);
	return out->s ? 1 : -1;
}

/* subst_uri: on the current R-URI. */
static int ki_subst_uri(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	str_t nu;

	if (!c->msg || c->msg->kind != SIP_REQUEST)
		return -1;
	if (subst_string(c->msg, a[0].s, sip_cur_uri(c->msg), &nu) < 0)
		return -1;
	return sip_set_ruri(c->msg, nu) < 0 ? -1 : 1;
}

/* subst_user: on the user part of the current R-URI; an empty result
 * drops the user (and password) from the URI. */
static int ki_subst_user(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	sip_msg_t *msg = c->msg;
	sip_uri_t *u;
	str_t cur, nuser;
	const char *ub, *ue, *colon;
	char *p;
	size_t pre, post, len;

	if (!msg || msg->kind != SIP_REQUEST)
		return -1;
	u = sip_get_cur_ruri(msg);
	if (!u)
		return -1;
	cur = sip_cur_uri(msg);
	if (subst_string(msg, a[0].s, u->user, &nuser) < 0)
		return -1;
	colon = memchr(cur.s, ':', cur.len);
	if (!colon)
		return -1;
	if (u->user.len) {
		ub = u->user.s;
		ue = ub + u->user.len;
		if (ub < cur.s || ue > cur.s + cur.len)
			return -1;
		if (nuser.len == 0) { /* drop "user[:password]@" */
			const char *at =
			    memchr(ue, '@', (size_t)(cur.s + cur.len - ue));
			ue = at ? at + 1 : ue;
		}
	} else {
		ub = ue = colon + 1;
	}
	pre = (size_t)(ub - cur.s);
	post = (size_t)(cur.s + cur.len - ue);
	len = pre + nuser.len + (u->user.len == 0 && nuser.len ? 1 : 0) + post;
	p = arena_alloc(msg->arena, len + 1);
	if (!p)
		return -1;
	memcpy(p, cur.s, pre);
	memcpy(p + pre, nuser.s, nuser.len);
	if (u->user.len == 0 && nuser.len)
		p[pre + nuser.len] = '@';
	memcpy(p + len - post, ue, post);
	p[len] = '\0';
	return sip_set_ruri(msg, (str_t){p, len}) < 0 ? -1 : 1;
}

/* The value in a header line (received or rewritten): after the first
 * ':', trimmed; it may span folded lines. 0, or -1 without a ':'. */
static int line_value(str_t line, str_t *v)
{
	const char *c = memchr(line.s, ':', line.len);

	if (!c)
		return -1;
	*v = str_trim((str_t){c + 1, line.len - (size_t)(c + 1 - line.s)});
	if (v->len == 0)
		v->s = c + 1; /* an empty value sits right after the ':' */
	return 0;
}

/* subst_hf(hname, subst, flags): in the value of the selected headers;
 * the rest of each line (name, folding, CRLF) is kept. */
static int ki_subst_hf(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	sip_msg_t *msg = c->msg;
	int idx[SIP_MAX_HDRS], k, changed = 0;
	hdr_name_t n;

	if (!msg || hdr_name_init(&n, a[0].s) < 0)
		return -1;
	k = select_hdrs(msg, &n, a[2].s, idx);
	for (int i = 0; i < k; i++) {
		sip_hdr_t *h = &msg->hdrs[idx[i]];
		str_t cur = hdr_current_line(h), v, nv, line;
		txt_edit_t e;

		if (cur.len == 0 || line_value(cur, &v) < 0)
			continue; /* removed by the script */
		if (subst_string(msg, a[1].s, v, &nv) < 0)
			continue;
		e.off = (size_t)(v.s - cur.s);
		e.len = v.len;
		e.repl = nv;
		line = txt_apply(msg->arena, cur, 0, &e, 1);
		if (!line.s || hdr_replace(msg, idx[i], line) < 0)
			return -1;
		changed++;
	}
	return changed ? 1 : -1;
}

/* ---- headers ---- */

static int ki_is_present_hf(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	hdr_name_t n;

	if (!c->msg || hdr_name_init(&n, a[0].s) < 0)
		return -1;
	return hdr_find(c->msg, &n, 0) >= 0 ? 1 : -1;
}

/* remove_hf(hname): 1 when at least one header was removed, else -1. */
static int ki_remove_hf(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	hdr_name_t n;

	if (!c->msg || hdr_name_init(&n, a[0].s) < 0)
		return -1;
	return hdr_remove_all(c->msg, &n) > 0 ? 1 : -1;
}

/* remove_hf_idx(hname, idx): idx from 0, negative from the end. */
static int ki_remove_hf_idx(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	hdr_name_t n;
	long idx = a[1].n;
	int i;

	if (!c->msg || hdr_name_init(&n, a[0].s) < 0)
		return -1;
	if (idx < 0)
		idx += hdr_count(c->msg, &n);
	if (idx < 0 || idx >= SIP_MAX_HDRS)
		return -1;
	i = hdr_find(c->msg, &n, (int)idx);
	if (i < 0)
		return -1;
	c->msg->hdrs[i].flags |= SIP_HDR_F_REMOVED;
	return 1;
}

/* Header names matching `match` but not `skip` (skip may be NULL):
 * removed when rm, else only looked for. 1 when any, -1 otherwise. */
static int names_re(ksr_ctx_t *c, str_t match, const str_t *skip, int rm)
{
	sip_msg_t *msg = c->msg;
	regex_t *rm_re, *sk_re = NULL;
	int k = 0;

	if (!msg)
		return -1;
	rm_re = txt_re_get(match, TXT_RE_FLAGS);
	if (!rm_re)
		return -1;
	if (skip && skip->len) {
		sk_re = txt_re_get(*skip, TXT_RE_FLAGS);
		if (!sk_re)
			return -1;
	}
	for (int i = 0; i < msg->n_hdrs; i++) {
		char *name = txt_dup(msg->arena, msg->hdrs[i].name);

		if (!name)
			return -1;
		if (regexec(rm_re, name, 0, NULL, 0) != 0)
			continue;
		if (sk_re && regexec(sk_re, name, 0, NULL, 0) == 0)
			continue;
		if (!rm)
			return 1;
		msg->hdrs[i].flags |= SIP_HDR_F_REMOVED;
		k++;
	}
	return k ? 1 : -1;
}

static int ki_is_present_hf_re(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return names_re(c, a[0].s, NULL, 0);
}

static int ki_remove_hf_re(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return names_re(c, a[0].s, NULL, 1);
}

static int ki_remove_hf_exp(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return names_re(c, a[0].s, &a[1].s, 1);
}

/* ---- body ---- */

/* has_body(): a Content-Length above 0 (without the header: a non-empty
 * body, as a datagram may carry one). */
static int ki_has_body(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	sip_hdr_t *h;

	if (!c->msg)
		return -1;
	h = sip_hdr_first(c->msg, SIP_HDR_CLEN);
	if (h)
		return str_to_uint(str_trim(h->value)) > 0 ? 1 : -1;
	return c->msg->body.len > 0 ? 1 : -1;
}

/* "type/subtype" of a Content-Type value, without parameters. */
static str_t mime_of(str_t v)
{
	const char *semi = memchr(v.s, ';', v.len);

	if (semi)
		v.len = (size_t)(semi - v.s);
	return str_trim(v);
}

/* A part of a multipart body with that Content-Type. */
static int part_has_type(str_t body, str_t mime)
{
	static const char ct[] = "content-type:";
	size_t cl = sizeof(ct) - 1;

	for (size_t i = 0; i + cl <= body.len; i++) {
		str_t v;
		size_t e;

		if ((i > 0 && body.s[i - 1] != '\n') ||
		    strncasecmp(body.s + i, ct, cl) != 0)
			continue;
		e = i + cl;
		while (e < body.len && body.s[e] != '\r' && body.s[e] != '\n')
			e++;
		v = mime_of((str_t){body.s + i + cl, e - i - cl});
		if (str_caseeq(v, mime))
			return 1;
	}
	return 0;
}

/* has_body_type(mime): has_body() and the Content-Type (application/sdp
 * when there is none, as RFC 3261 and Kamailio assume) is mime; in a
 * multipart/mixed body, one of the parts. */
static int ki_has_body_type(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	sip_hdr_t *h;
	str_t mime, want = str_trim(a[0].s);

	if (ki_has_body(c, a, r) < 0)
		return -1;
	if (want.len == 0)
		return 1;
	h = sip_hdr_first(c->msg, SIP_HDR_CTYPE);
	mime = h ? mime_of(h->value) : STR_LIT("application/sdp");
	if (str_caseeq(mime, want))
		return 1;
	if (str_caseeq_cstr(mime, "multipart/mixed") &&
	    part_has_type(c->msg->body, want))
		return 1;
	return -1;
}

/* set_body(body, content_type): replace the body; the Content-Type header
 * is removed and a new one appended (Content-Length is rewritten when the
 * message is built). Both must be non-empty, as in Kamailio. */
static int ki_set_body(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	sip_msg_t *msg = c->msg;
	char *b, *line;
	size_t n;
	sip_hdr_t *h;

	if (!msg || a[0].s.len == 0 || a[1].s.len == 0) {
		LOG_ERR("textops: set_body needs a body and a content type");
		return -1;
	}
	b = txt_dup(msg->arena, a[0].s);
	n = sizeof("Content-Type: \r\n") - 1 + a[1].s.len;
	line = arena_alloc(msg->arena, n + 1);
	if (!b || !line)
		return -1;
	snprintf(line, n + 1, "Content-Type: %.*s\r\n", STR_FMT(a[1].s));
	h = sip_hdr_first(msg, SIP_HDR_CTYPE);
	if (h)
		h->flags |= SIP_HDR_F_REMOVED;
	hdr_unadd(msg, STR_LIT("Content-Type"));
	if (hdr_add(msg, (str_t){line, n}, SIP_ADD_APPEND, 0) < 0)
		return -1;
	msg->new_body = (str_t){b, a[0].s.len};
	return 1;
}

/* ---- Privacy ---- */

/* is_privacy(type): the Privacy header lists that value (header,
 * session, user, none, critical, id). */
static int ki_is_privacy(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	static const char *known[] = {"header", "session",  "user",
				      "none",	"critical", "id"};
	str_t want = str_trim(a[0].s);
	hdr_name_t n;
	int ok = 0;

	for (size_t i = 0; i < OSP_ARRAY_LEN(known); i++)
		if (str_caseeq_cstr(want, known[i]))
			ok = 1;
	if (!ok) {
		LOG_ERR("textops: unknown privacy value '%.*s'", STR_FMT(want));
		return -1;
	}
	if (!c->msg || hdr_name_init(&n, STR_LIT("Privacy")) < 0)
		return -1;
	for (int i = 0; i < c->msg->n_hdrs; i++) {
		str_t v;
		size_t b = 0;

		if (!hdr_name_match(&n, &c->msg->hdrs[i]))
			continue;
		v = c->msg->hdrs[i].value;
		for (size_t e = 0; e <= v.len; e++) {
			if (e < v.len && v.s[e] != ';' && v.s[e] != ',')
				continue;
			if (str_caseeq(str_trim((str_t){v.s + b, e - b}), want))
				return 1;
			b = e + 1;
		}
	}
	return -1;
}

/* ---- strings ---- */

/* Kamailio's cmp_str(): 0 equal, <0 / >0 ordering (shorter first when
 * one is a prefix of the other). */
static int cmp(str_t s1, str_t s2, int icase)
{
	size_t m = s1.len < s2.len ? s1.len : s2.len;
	int rc = 0;

	if (m)
		rc = icase ? strncasecmp(s1.s, s2.s, m) : memcmp(s1.s, s2.s, m);
	if (rc == 0)
		rc = (s1.len > s2.len) - (s1.len < s2.len);
	return rc;
}

/* 1 equal, -1 when s1 sorts after s2, -2 before. */
static int cmp_ret(int rc)
{
	return rc == 0 ? 1 : (rc > 0 ? -1 : -2);
}

static int ki_cmp_str(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return cmp_ret(cmp(a[0].s, a[1].s, 0));
}

static int ki_cmp_istr(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return cmp_ret(cmp(a[0].s, a[1].s, 1));
}

static int ki_starts_with(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (a[0].s.len < a[1].s.len)
		return -1;
	return cmp_ret(cmp((str_t){a[0].s.s, a[1].s.len}, a[1].s, 0));
}

static int ki_ends_with(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	str_t s = a[0].s, x = a[1].s;

	if (s.len < x.len)
		return -1;
	return cmp_ret(cmp((str_t){s.s + s.len - x.len, x.len}, x, 0));
}

static int find(str_t hay, str_t needle, int icase)
{
	if (needle.len == 0 || needle.len > hay.len)
		return -1;
	for (size_t i = 0; i + needle.len <= hay.len; i++) {
		int rc = icase ? strncasecmp(hay.s + i, needle.s, needle.len)
			       : memcmp(hay.s + i, needle.s, needle.len);

		if (rc == 0)
			return 1;
	}
	return -1;
}

static int ki_str_find(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return find(a[0].s, a[1].s, 0);
}

static int ki_str_ifind(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return find(a[0].s, a[1].s, 1);
}

/* in_list / in_list_prefix: items separated by a one-character sep. */
static int in_list(str_t subject, str_t list, str_t sep, int prefix)
{
	size_t b = 0;

	if (sep.len != 1) {
		LOG_ERR("textops: in_list separator must be one character");
		return -1;
	}
	for (size_t e = 0; e <= list.len; e++) {
		str_t it;

		if (e < list.len && list.s[e] != sep.s[0])
			continue;
		it = (str_t){list.s + b, e - b};
		b = e + 1;
		if (prefix) {
			if (it.len && it.len <= subject.len &&
			    memcmp(it.s, subject.s, it.len) == 0)
				return 1;
		} else if (str_eq(it, subject)) {
			return 1;
		}
	}
	return -1;
}

static int ki_in_list(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return in_list(a[0].s, a[1].s, a[2].s, 0);
}

static int ki_in_list_prefix(ksr_ctx_t *c, const ksr_arg_t *a, ksr_xval_t *r)
{
	return in_list(a[0].s, a[1].s, a[2].s, 1);
}

#define S KSR_STR
#define TX(n, ...)                                                             \
	{                                                                      \
		"textops", #n, KSR_INT, ki_##n,                                \
		{                                                              \
			__VA_ARGS__                                            \
		}                                                              \
	}

static const ksr_export_t textops_exports[] = {
    TX(cmp_istr, S, S),
    TX(cmp_str, S, S),
    TX(ends_with, S, S),
    TX(has_body, 0),
    TX(has_body_type, S),
    TX(in_list, S, S, S),
    TX(in_list_prefix, S, S, S),
    TX(is_present_hf, S),
    TX(is_present_hf_re, S),
    TX(is_privacy, S),
    TX(remove_hf, S),
    TX(remove_hf_exp, S, S),
    TX(remove_hf_idx, S, KSR_INT),
    TX(remove_hf_re, S),
    TX(replace, S, S),
    TX(replace_all, S, S),
    TX(replace_body, S, S),
    TX(replace_body_all, S, S),
    TX(replace_body_atonce, S, S),
    TX(replace_body_str, S, S, S),
    TX(replace_hdrs, S, S),
    TX(replace_hdrs_str, S, S, S),
    TX(replace_str, S, S, S),
    TX(search, S),
    TX(search_append, S, S),
    TX(search_append_body, S, S),
    TX(search_body, S),
    TX(search_hf, S, S, S),
    TX(search_str, S, S),
    TX(set_body, S, S),
    TX(starts_with, S, S),
    TX(str_find, S, S),
    TX(str_ifind, S, S),
    TX(subst, S),
    TX(subst_body, S),
    TX(subst_hf, S, S, S),
    TX(subst_uri, S),
    TX(subst_user, S),
    {0},
};

osp_module_t osp_mod_textops = {
    .name = "textops",
    .exports = textops_exports,
};
