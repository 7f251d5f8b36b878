/* rtpp_sdp.c - the parts of an SDP body (RFC 4566) the rtpproxy rewrite
 * needs: per session the o= and c= addresses, per media the m= port,
 * transport and formats, the media-level c= and the a=rtcp port; and a
 * rewriter applying replacements at known offsets. Zero-copy: the parsed
 * values point into the body, and their offsets are the edit positions. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/osp.h"
#include "modules/rtpproxy/rtpproxy_int.h"

/* Next space-separated token of [*p, end); empty at the end. */
static str_t token(const char **p, const char *end)
{
	const char *s = *p, *e;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	e = s;
	while (e < end && *e != ' ' && *e != '\t')
		e++;
	*p = e;
	return (str_t){s, (size_t)(e - s)};
}

static int addr_family(str_t type)
{
	if (str_caseeq_cstr(type, "IP4"))
		return AF_INET;
	if (str_caseeq_cstr(type, "IP6"))
		return AF_INET6;
	return 0;
}

/* "<nettype> <addrtype> <address>[/ttl[/n]]" (c=, and the last three
 * fields of o=). */
static int parse_addr(const char *p, const char *end, rtpp_sdp_addr_t *out)
{
	str_t net = token(&p, end);
	const char *slash;

	out->type = token(&p, end);
	out->addr = token(&p, end);
	if (!net.len || !out->type.len || !out->addr.len)
		return -OSP_EPARSE;
	slash = memchr(out->addr.s, '/', out->addr.len);
	if (slash)
		out->addr.len = (size_t)(slash - out->addr.s);
	out->af = addr_family(out->type);
	return out->addr.len ? 0 : -OSP_EPARSE;
}

int rtpp_sdp_parse(arena_t *a, str_t body, rtpp_sdp_session_t **out)
{
	const char *p = body.s, *end = body.s + body.len;
	rtpp_sdp_session_t *first = NULL, *sess = NULL, **sp = &first;
	rtpp_sdp_media_t *media = NULL, **mp = NULL;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end, *v;
		char type;

		if (le > p && le[-1] == '\r')
			le--;
		if (le - p < 2 || p[1] != '=')
			goto next; /* blank or not a field: skipped */
		type = p[0];
		v = p + 2;
		if (type == 'v' || !sess) {
			sess = arena_zalloc(a, sizeof(*sess));
			if (!sess)
				return -OSP_ENOMEM;
			*sp = sess;
			sp = &sess->next;
			mp = &sess->media;
			media = NULL;
		}
		if (type == 'o' && !media) {
			const char *q = v;

			for (int i = 0; i < 3; i++)
				if (!token(&q, le).len)
					return -OSP_EPARSE;
			if (parse_addr(q, le, &sess->o) < 0)
				return -OSP_EPARSE;
		} else if (type == 'c') {
			if (parse_addr(v, le, media ? &media->c : &sess->c) < 0)
				return -OSP_EPARSE;
		} else if (type == 'm') {
			const char *q = v, *slash;
			str_t kind = token(&q, le), fmt;

			media = arena_zalloc(a, sizeof(*media));
			if (!media)
				return -OSP_ENOMEM;
			media->port = token(&q, le);
			media->proto = token(&q, le);
			if (!kind.len || !media->port.len || !media->proto.len)
				return -OSP_EPARSE;
			slash = memchr(media->port.s, '/', media->port.len);
			if (slash)
				media->port.len =
				    (size_t)(slash - media->port.s);
			if (!media->port.len)
				return -OSP_EPARSE;
			for (size_t i = 0; i < media->port.len; i++)
				if (media->port.s[i] < '0' ||
				    media->port.s[i] > '9')
					return -OSP_EPARSE;
			fmt = token(&q, le);
			media->payloads = fmt;
			if (fmt.len)
				media->payloads.len = (size_t)(le - fmt.s);
			*mp = media;
			mp = &media->next;
			sess->n_media++;
		} else if (type == 'a' && media && le - v > 5 &&
			   memcmp(v, "rtcp:", 5) == 0) {
			const char *q = v + 5;

			media->rtcp_port = token(&q, le);
		}
	next:
		if (!eol)
			break;
		p = eol + 1;
	}
	*out = first;
	return 0;
}

static int edit_cmp(const void *x, const void *y)
{
	const rtpp_edit_t *a = x, *b = y;

	return a->off < b->off ? -1 : a->off > b->off;
}

int rtpp_sdp_apply(arena_t *a, str_t body, rtpp_edit_t *edits, int n,
		   str_t line, str_t *out)
{
	size_t size = body.len, pos = 0;
	char *buf, *w;
	int need_crlf;

	if (n > 1)
		qsort(edits, (size_t)n, sizeof(*edits), edit_cmp);
	for (int i = 0; i < n; i++) {
		if (edits[i].off + edits[i].len > body.len ||
		    (i && edits[i].off < edits[i - 1].off + edits[i - 1].len))
			return -OSP_EINVAL;
		size = size - edits[i].len + edits[i].text.len;
	}
	need_crlf = line.len && body.len && body.s[body.len - 1] != '\n';
	size += line.len ? line.len + 2 + (need_crlf ? 2 : 0) : 0;
	buf = arena_alloc(a, size + 1);
	if (!buf)
		return -OSP_ENOMEM;
	w = buf;
	for (int i = 0; i < n; i++) {
		memcpy(w, body.s + pos, edits[i].off - pos);
		w += edits[i].off - pos;
		if (edits[i].text.len)
			memcpy(w, edits[i].text.s, edits[i].text.len);
		w += edits[i].text.len;
		pos = edits[i].off + edits[i].len;
	}
	memcpy(w, body.s + pos, body.len - pos);
	w += body.len - pos;
	if (line.len) {
		if (need_crlf) {
			memcpy(w, "\r\n", 2);
			w += 2;
		}
		memcpy(w, line.s, line.len);
		w += line.len;
		memcpy(w, "\r\n", 2);
		w += 2;
	}
	*w = '\0';
	out->s = buf;
	out->len = (size_t)(w - buf);
	return 0;
}

int rtpp_sdp_has_line(str_t body, str_t line)
{
	const char *p = body.s, *end = body.s + body.len;

	if (!line.len)
		return 0;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;

		if (le > p && le[-1] == '\r')
			le--;
		if ((size_t)(le - p) == line.len &&
		    memcmp(p, line.s, line.len) == 0)
			return 1;
		if (!eol)
			break;
		p = eol + 1;
	}
	return 0;
}
