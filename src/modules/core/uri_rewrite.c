/* uri_rewrite.c - rebuild a SIP URI with one part replaced (setuser,
 * sethost, $rU/$rd/$rp writes). */
#include <stdio.h>
#include <string.h>

#include "modules/core/uri_rewrite.h"

int uri_rewrite(arena_t *a, const sip_uri_t *u, uri_part_t part, str_t val,
		str_t *out)
{
	str_t user = u->user, host = u->host, port = u->port;
	const char *scheme = u->scheme == SIP_URI_SIPS ? "sips:" :
			     u->scheme == SIP_URI_TEL  ? "tel:" :
							 "sip:";
	size_t cap;
	char *p;
	int n;

	switch (part) {
	case URI_PART_USER: user = val; break;
	case URI_PART_HOST: host = val; break;
	case URI_PART_PORT: port = val; break;
	case URI_PART_HOSTPORT: {
		const char *c = NULL;

		/* "host:port", "[v6]:port", "[v6]" */
		if (val.len && val.s[0] == '[') {
			const char *e = memchr(val.s, ']', val.len);

			if (e && e + 1 < val.s + val.len && e[1] == ':')
				c = e + 1;
		} else {
			c = memchr(val.s, ':', val.len);
		}
		host = c ? (str_t){val.s, (size_t)(c - val.s)} : val;
		port = c ? (str_t){c + 1, (size_t)(val.s + val.len - c - 1)} :
			   STR_NULL;
		break;
	}
	}
	cap = strlen(scheme) + user.len + u->password.len + host.len + port.len +
	      u->params.len + u->headers.len + 8;
	p = arena_alloc(a, cap);
	if (!p)
		return -1;
	if (u->scheme == SIP_URI_TEL)
		n = snprintf(p, cap, "%s%.*s%s%.*s", scheme, STR_FMT(user),
			     u->params.len ? ";" : "", STR_FMT(u->params));
	else
		n = snprintf(p, cap, "%s%.*s%s%.*s%s%.*s%s%.*s%s%.*s%s%.*s",
			     scheme, STR_FMT(user), u->password.len ? ":" : "",
			     STR_FMT(u->password), user.len ? "@" : "",
			     STR_FMT(host), port.len ? ":" : "", STR_FMT(port),
			     u->params.len ? ";" : "", STR_FMT(u->params),
			     u->headers.len ? "?" : "", STR_FMT(u->headers));
	if (n < 0 || (size_t)n >= cap)
		return -1;
	*out = (str_t){p, (size_t)n};
	return 0;
}
