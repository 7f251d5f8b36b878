/* nh_sdp.c - the SDP side of nathelper: finding the SDP body, the
 * nat_uac_test checks on connection addresses (bits 8 and 256), and
 * fix_nated_sdp's rewriting of c=, o= and a=rtcp addresses.
 *
 * The body is scanned line by line (RFC 4566: CRLF, or a bare LF which
 * parsers must accept); nothing is copied but the rewritten body, built in
 * the message arena and set as msg->new_body, so successive calls compose
 * and the builder rewrites Content-Length. */
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "modules/nathelper/nh_int.h"

/* ---- lines and tokens ---- */

typedef struct line {
	str_t text; /* without its end of line */
	str_t eol;  /* "\r\n", "\n" or empty for a last unterminated line */
} line_t;

/* Next line of body at *pos; 0 at the end. */
static int next_line(str_t body, size_t *pos, line_t *l)
{
	const char *s, *nl;
	size_t left;

	if (*pos >= body.len)
		return 0;
	s = body.s + *pos;
	left = body.len - *pos;
	nl = memchr(s, '\n', left);
	if (!nl) {
		l->text = (str_t){s, left};
		l->eol = STR_NULL;
		*pos = body.len;
		return 1;
	}
	l->text = (str_t){s, (size_t)(nl - s)};
	l->eol = (str_t){nl, 1};
	if (l->text.len && nl[-1] == '\r') {
		l->text.len--;
		l->eol = (str_t){nl - 1, 2};
	}
	*pos = (size_t)(nl + 1 - body.s);
	return 1;
}

static int starts(str_t s, const char *p)
{
	size_t n = strlen(p);

	return s.len >= n && memcmp(s.s, p, n) == 0;
}

/* Split s into at most max space-separated tokens; returns the count. */
static int tokens(str_t s, str_t *tok, int max)
{
	size_t i = 0;
	int n = 0;

	while (i < s.len && n < max) {
		size_t b;

		while (i < s.len && (s.s[i] == ' ' || s.s[i] == '\t'))
			i++;
		if (i >= s.len)
			break;
		b = i;
		while (i < s.len && s.s[i] != ' ' && s.s[i] != '\t')
			i++;
		tok[n++] = (str_t){s.s + b, i - b};
	}
	return n;
}

/* Where the address sits in an address-carrying line: the address type
 * token ("IP4") and the address (a c= multicast "/ttl" suffix cut off).
 * kind: 'c' (c=), 'o' (o=), 'r' (a=rtcp:). 0, or -1 when the line does not
 * carry an address in the expected place. */
static int line_addr(str_t text, int kind, str_t *atype, str_t *addr)
{
	str_t tok[8];
	int n, ti;

	switch (kind) {
	case 'c':
		text.s += 2;
		text.len -= 2;
		ti = 1;
		break;
	case 'o':
		text.s += 2;
		text.len -= 2;
		ti = 4;
		break;
	default:
		text.s += 7; /* "a=rtcp:" */
		text.len -= 7;
		ti = 2;
		break;
	}
	n = tokens(text, tok, 8);
	if (n < ti + 2)
		return -1;
	*atype = tok[ti];
	*addr = tok[ti + 1];
	if (kind == 'c') {
		const char *sl = memchr(addr->s, '/', addr->len);

		if (sl)
			addr->len = (size_t)(sl - addr->s);
	}
	return addr->len ? 0 : -1;
}

static int is_ip4_type(str_t t)
{
	return t.len == 3 && memcmp(t.s, "IP4", 3) == 0;
}

static int is_ip6_type(str_t t)
{
	return t.len == 3 && memcmp(t.s, "IP6", 3) == 0;
}

/* 0.0.0.0 (RFC 3264 hold) or an IPv6 address of zeros: never rewritten. */
static int is_null_addr(str_t a)
{
	if (str_eq_cstr(a, "0.0.0.0"))
		return 1;
	if (!memchr(a.s, ':', a.len))
		return 0;
	for (size_t i = 0; i < a.len; i++)
		if (a.s[i] != '0' && a.s[i] != ':')
			return 0;
	return 1;
}

/* ---- finding the body ---- */

static int sdp_of(sip_msg_t *msg, str_t body, str_t *out)
{
	sip_hdr_t *h = sip_hdr_first(msg, SIP_HDR_CTYPE);

	if (!body.len)
		return 0;
	if (h) {
		str_t v = h->value;
		const char *semi = memchr(v.s, ';', v.len);

		if (semi)
			v.len = (size_t)(semi - v.s);
		if (!str_caseeq_cstr(str_trim(v), "application/sdp"))
			return 0;
	} else if (body.len < 2 || memcmp(body.s, "v=", 2) != 0) {
		return 0;
	}
	*out = body;
	return 1;
}

int nh_sdp_received(sip_msg_t *msg, str_t *out)
{
	return sdp_of(msg, msg->body, out);
}

int nh_sdp_current(sip_msg_t *msg, str_t *out)
{
	return sdp_of(msg, msg->new_body.s ? msg->new_body : msg->body, out);
}

/* ---- nat_uac_test ---- */

/* The connection address of one m= section: its own c=, else the
 * session's. Private IPv4 counts; IPv6 and 0.0.0.0 never do. */
static int stream_private(str_t sess_c, str_t media_c)
{
	str_t c = media_c.len ? media_c : sess_c, at, addr;
	sip_sockaddr_t a;

	if (!c.len || line_addr(c, 'c', &at, &addr) < 0 || !is_ip4_type(at) ||
	    is_null_addr(addr))
		return 0;
	return nh_ip_parse(addr, &a) == 0 && nh_sockaddr_private(&a);
}

int nh_sdp_has_private(str_t sdp)
{
	size_t pos = 0;
	line_t l;
	str_t sess_c = STR_NULL, media_c = STR_NULL;
	int in_media = 0;

	while (next_line(sdp, &pos, &l)) {
		if (starts(l.text, "m=")) {
			if (in_media && stream_private(sess_c, media_c))
				return 1;
			in_media = 1;
			media_c = STR_NULL;
		} else if (starts(l.text, "c=")) {
			if (in_media)
				media_c = l.text;
			else
				sess_c = l.text;
		}
	}
	return in_media && stream_private(sess_c, media_c);
}

int nh_sdp_cline_differs(str_t sdp, const sip_sockaddr_t *src)
{
	size_t pos = 0;
	line_t l;
	int seen = 0;

	while (next_line(sdp, &pos, &l)) {
		str_t at, addr;
		sip_sockaddr_t a;

		if (!starts(l.text, "c=") ||
		    line_addr(l.text, 'c', &at, &addr) < 0)
			continue;
		seen = 1;
		if (nh_ip_parse(addr, &a) == 0 && nh_ip_eq(&a, src))
			return 0;
	}
	return seen;
}

/* ---- fix_nated_sdp ---- */

typedef struct fix {
	nh_sb_t out;
	nh_sb_t old; /* a=oldmediaip lines */
	str_t eol;   /* line ending used for added lines */
	str_t ip;    /* new address */
	int ip6;     /* new address is IPv6 */
	int count;   /* addresses replaced */
	int err;
} fix_t;

/* Write line l with its address replaced (kind as line_addr); old address
 * remembered for a=oldmediaip when remember. */
static void fix_line(fix_t *f, line_t *l, int kind, int remember)
{
	str_t at, addr, t = l->text;
	const char *new_type = f->ip6 ? "IP6" : "IP4";

	if (line_addr(t, kind, &at, &addr) < 0 ||
	    (!is_ip4_type(at) && !is_ip6_type(at))) {
		LOG_ERR("nathelper: no IP4/IP6 address in SDP line '%.*s'",
			STR_FMT(t));
		f->err = 1;
		return;
	}
	if (is_null_addr(addr) ||
	    (str_eq(addr, f->ip) && is_ip6_type(at) == f->ip6)) {
		nh_sb_str(&f->out, t);
		nh_sb_str(&f->out, l->eol);
		return;
	}
	nh_sb_add(&f->out, t.s, (size_t)(at.s - t.s));
	nh_sb_cstr(&f->out, new_type);
	nh_sb_add(&f->out, at.s + at.len, (size_t)(addr.s - (at.s + at.len)));
	nh_sb_str(&f->out, f->ip);
	nh_sb_add(&f->out, addr.s + addr.len,
		  (size_t)(t.s + t.len - (addr.s + addr.len)));
	nh_sb_str(&f->out, l->eol);
	if (remember && nh_append_oldmediaip) {
		nh_sb_cstr(&f->old, is_ip6_type(at) ? "a=oldmediaip6:"
						    : "a=oldmediaip:");
		nh_sb_str(&f->old, addr);
		nh_sb_str(&f->old, f->eol);
	}
	f->count++;
}

static void add_line(fix_t *f, const char *text)
{
	nh_sb_cstr(&f->out, text);
	nh_sb_str(&f->out, f->eol);
}

int nh_fix_sdp(sip_msg_t *msg, long flags, str_t ip)
{
	str_t sdp;
	fix_t f;
	line_t l;
	size_t pos = 0;
	char src[64];
	sip_sockaddr_t a;
	int port, in_media = 0, seen_c = 0, seen_o = 0, changed = 0;

	if (!nh_sdp_current(msg, &sdp)) {
		LOG_ERR(
		    "nathelper: fix_nated_sdp: the message has no SDP body");
		return -1;
	}
	memset(&f, 0, sizeof(f));
	if (!ip.len) {
		nh_src(msg, src, sizeof(src), &port);
		ip = str_from(src);
	}
	if (nh_ip_parse(ip, &a) < 0) {
		LOG_ERR("nathelper: fix_nated_sdp: '%.*s' is not an IP address",
			STR_FMT(ip));
		return -1;
	}
	if (ip.len >= 2 && ip.s[0] == '[') {
		ip.s++;
		ip.len -= 2;
	}
	f.ip = ip;
	f.ip6 = a.sa.sa_family == AF_INET6;
	f.eol = STR_LIT("\r\n");
	{
		const char *nl = memchr(sdp.s, '\n', sdp.len);

		if (nl && (nl == sdp.s || nl[-1] != '\r'))
			f.eol = STR_LIT("\n");
	}
	nh_sb_init(&f.out, msg->arena, sdp.len + 256);
	nh_sb_init(&f.old, msg->arena, 128);
	while (next_line(sdp, &pos, &l) && !f.err) {
		if (starts(l.text, "m=")) {
			if (in_media && (flags & NH_SDP_ADD_DIRECTION))
				add_line(&f, "a=direction:active");
			in_media = 1;
		}
		if (!l.eol.len)
			l.eol = f.eol; /* complete an unterminated last line */
		if ((flags & NH_SDP_FIX_MEDIAIP) && starts(l.text, "c=")) {
			seen_c = 1;
			fix_line(&f, &l, 'c', 1);
		} else if ((flags & NH_SDP_FIX_ORIGIP) &&
			   starts(l.text, "o=")) {
			seen_o = 1;
			fix_line(&f, &l, 'o', 1);
		} else if ((flags & NH_SDP_FIX_MEDIAIP) &&
			   starts(l.text, "a=rtcp:") &&
			   line_addr(l.text, 'r', &(str_t){0}, &(str_t){0}) ==
			       0) {
			fix_line(&f, &l, 'r', 0);
		} else {
			nh_sb_str(&f.out, l.text);
			nh_sb_str(&f.out, l.eol);
		}
	}
	if (f.err)
		return -1;
	if ((flags & NH_SDP_FIX_MEDIAIP) && !seen_c) {
		LOG_ERR("nathelper: fix_nated_sdp: no c= line in the SDP");
		return -1;
	}
	if ((flags & NH_SDP_FIX_ORIGIP) && !seen_o) {
		LOG_ERR("nathelper: fix_nated_sdp: no o= line in the SDP");
		return -1;
	}
	if (in_media && (flags & NH_SDP_ADD_DIRECTION)) {
		add_line(&f, "a=direction:active");
		changed = 1;
	}
	if ((flags & NH_SDP_ADD_NORTPPROXY) && nh_nortpproxy &&
	    nh_nortpproxy[0]) {
		str_t np = str_from(nh_nortpproxy);

		/* the parameter is a complete line: drop its own CRLF */
		while (np.len &&
		       (np.s[np.len - 1] == '\r' || np.s[np.len - 1] == '\n'))
			np.len--;
		nh_sb_str(&f.out, np);
		nh_sb_str(&f.out, f.eol);
		changed = 1;
	}
	if (f.old.len)
		nh_sb_add(&f.out, f.old.s, f.old.len);
	if (f.out.err || f.old.err)
		return -1;
	if (changed || f.count)
		msg->new_body = nh_sb_done(&f.out);
	return f.count ? 1 : 2;
}
