/* stream.c - message framing on stream transports (RFC 3261 §18.3). */
#include "sip/sip_int.h"

/* If the header line [p, e) is Content-Length (long or compact form), fold
 * its value into *clen. 0, or -OSP_EPARSE for a bad or conflicting value. */
static int frame_clen(const char *p, const char *e, long *clen)
{
	const char *b = p;
	str_t name;
	long v;

	p = sip_skip_token(p, e);
	name = sip_mkstr(b, p);
	if (!SIP_LC_EQ(name, "content-length") && !SIP_LC_EQ(name, "l"))
		return 0;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	if (p == e || *p != ':')
		return 0;
	v = str_to_uint(str_trim(sip_mkstr(p + 1, e)));
	if (v < 0 || (*clen >= 0 && v != *clen))
		return -OSP_EPARSE;
	*clen = v;
	return 0;
}

/* The message starts at buf + *skip and its length is returned. The
 * header section is searched only within `max` bytes, so a peer that never
 * sends an empty line costs at most one scan of max bytes per call; the
 * framing reads Content-Length itself (it must be present on streams,
 * §20.14) without a full parse. Folded Content-Length values are not
 * supported here (a parse of such a message then fails cleanly). */
long sip_stream_frame(const char *buf, size_t len, size_t max, size_t *skip)
{
	const char *p, *lim, *ls, *lf, *nx, *eoh = NULL;
	size_t s = 0, avail, total;
	long clen = -1;

	while (s < len && (buf[s] == '\r' || buf[s] == '\n'))
		s++;
	*skip = s;
	avail = len - s;
	if (!avail)
		return 0;
	p = buf + s;
	lim = p + (avail > max ? max : avail);
	for (ls = p;; ls = nx) {
		lf = memchr(ls, '\n', (size_t)(lim - ls));
		if (!lf)
			break;
		if (ls != p && *ls != ' ' && *ls != '\t' &&
		    frame_clen(ls, lf, &clen) < 0)
			return -OSP_EPARSE;
		nx = lf + 1;
		if (nx < lim && *nx == '\n') {
			eoh = nx + 1;
			break;
		}
		if (nx + 1 < lim && nx[0] == '\r' && nx[1] == '\n') {
			eoh = nx + 2;
			break;
		}
	}
	if (!eoh)
		return avail >= max ? -OSP_ETOOBIG : 0;
	if (clen < 0)
		return -OSP_EPARSE;
	total = (size_t)(eoh - p) + (size_t)clen;
	if (total > max)
		return -OSP_ETOOBIG;
	return total > avail ? 0 : (long)total;
}
