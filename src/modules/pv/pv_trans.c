/* pv_trans.c - transformations on pseudo-variable values: the chain in
 * "$(ru{uri.user}{s.tolower})", as Kamailio 5.6's core transformations
 * (string, uri, nameaddr, tobody and param classes).
 *
 * A chain is parsed once with the variable (pv_spec_parse, pv_fmt_parse)
 * and applied by pv_get() to the getter's value. Parameters are integers,
 * strings or variables ("{s.substr,0,$var(n)}"); variables are read at
 * each application. Results that need new bytes (s.tolower, s.replace,
 * ...) go to the pv scratch ring, like other computed values; results that
 * are a part of the input (uri.user, s.substr) point into it.
 *
 * Semantics: a null value stays null through every transformation (Kamailio
 * fails the transformation and the variable reads as null); an integer is
 * first turned into its decimal text; a transformation that cannot apply
 * (uri.host of something that is not a URI, s.select past the last field)
 * gives null. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/arena.h"
#include "core/log.h"
#include "modules/pv/pv_int.h"
#include "sip/msg.h"

enum {
	TR_S_LEN = 1,
	TR_S_INT,
	TR_S_TOLOWER,
	TR_S_TOUPPER,
	TR_S_SUBSTR,
	TR_S_SELECT,
	TR_S_STRIP,
	TR_S_STRIPTAIL,
	TR_S_STRIPTO,
	TR_S_TRIM,
	TR_S_LTRIM,
	TR_S_RTRIM,
	TR_S_REPLACE,
	TR_S_ENCODE_HEXA,
	TR_S_DECODE_HEXA,
	TR_S_BEFORE,
	TR_S_AFTER,
	TR_S_RBEFORE,
	TR_S_RAFTER,
	TR_S_UNQUOTE,
	TR_S_UNBRACKET,
	TR_S_MD5,
	TR_S_DEC2HEX,
	TR_S_HEX2DEC,
	TR_S_NUMERIC,
	TR_URI_USER,
	TR_URI_HOST,
	TR_URI_PASSWD,
	TR_URI_PORT,
	TR_URI_PARAMS,
	TR_URI_PARAM,
	TR_URI_HEADERS,
	TR_URI_TRANSPORT,
	TR_URI_TTL,
	TR_URI_UPARAM,
	TR_URI_MADDR,
	TR_URI_METHOD,
	TR_URI_LR,
	TR_URI_R2,
	TR_URI_SCHEME,
	TR_NA_NAME,
	TR_NA_URI,
	TR_NA_LEN,
	TR_TB_URI,
	TR_TB_DISPLAY,
	TR_TB_TAG,
	TR_TB_USER,
	TR_TB_HOST,
	TR_TB_PARAMS,
	TR_P_VALUE,
	TR_P_VALUEAT,
	TR_P_NAME,
	TR_P_COUNT,
	TR_P_IN,
};

enum { TP_INT = 1, TP_STR };

typedef struct tr_def {
	const char *name;
	int id;
	int pmin, pmax;
	int ptype[3]; /* expected type of each parameter */
} tr_def_t;

static const tr_def_t tr_defs[] = {
    {"s.len", TR_S_LEN, 0, 0, {0}},
    {"s.int", TR_S_INT, 0, 0, {0}},
    {"s.tolower", TR_S_TOLOWER, 0, 0, {0}},
    {"s.toupper", TR_S_TOUPPER, 0, 0, {0}},
    {"s.substr", TR_S_SUBSTR, 2, 2, {TP_INT, TP_INT}},
    {"s.select", TR_S_SELECT, 2, 2, {TP_INT, TP_STR}},
    {"s.strip", TR_S_STRIP, 1, 1, {TP_INT}},
    {"s.striptail", TR_S_STRIPTAIL, 1, 1, {TP_INT}},
    {"s.stripto", TR_S_STRIPTO, 1, 1, {TP_STR}},
    {"s.trim", TR_S_TRIM, 0, 0, {0}},
    {"s.ltrim", TR_S_LTRIM, 0, 0, {0}},
    {"s.rtrim", TR_S_RTRIM, 0, 0, {0}},
    {"s.replace", TR_S_REPLACE, 2, 2, {TP_STR, TP_STR}},
    {"s.encode.hexa", TR_S_ENCODE_HEXA, 0, 0, {0}},
    {"s.decode.hexa", TR_S_DECODE_HEXA, 0, 0, {0}},
    {"s.before", TR_S_BEFORE, 1, 1, {TP_STR}},
    {"s.after", TR_S_AFTER, 1, 1, {TP_STR}},
    {"s.rbefore", TR_S_RBEFORE, 1, 1, {TP_STR}},
    {"s.rafter", TR_S_RAFTER, 1, 1, {TP_STR}},
    {"s.unquote", TR_S_UNQUOTE, 0, 0, {0}},
    {"s.unbracket", TR_S_UNBRACKET, 0, 0, {0}},
    {"s.md5", TR_S_MD5, 0, 0, {0}},
    {"s.dec2hex", TR_S_DEC2HEX, 0, 0, {0}},
    {"s.hex2dec", TR_S_HEX2DEC, 0, 0, {0}},
    {"s.numeric", TR_S_NUMERIC, 0, 0, {0}},
    {"uri.user", TR_URI_USER, 0, 0, {0}},
    {"uri.host", TR_URI_HOST, 0, 0, {0}},
    {"uri.domain", TR_URI_HOST, 0, 0, {0}},
    {"uri.passwd", TR_URI_PASSWD, 0, 0, {0}},
    {"uri.port", TR_URI_PORT, 0, 0, {0}},
    {"uri.params", TR_URI_PARAMS, 0, 0, {0}},
    {"uri.param", TR_URI_PARAM, 1, 1, {TP_STR}},
    {"uri.headers", TR_URI_HEADERS, 0, 0, {0}},
    {"uri.transport", TR_URI_TRANSPORT, 0, 0, {0}},
    {"uri.ttl", TR_URI_TTL, 0, 0, {0}},
    {"uri.uparam", TR_URI_UPARAM, 0, 0, {0}},
    {"uri.maddr", TR_URI_MADDR, 0, 0, {0}},
    {"uri.method", TR_URI_METHOD, 0, 0, {0}},
    {"uri.lr", TR_URI_LR, 0, 0, {0}},
    {"uri.r2", TR_URI_R2, 0, 0, {0}},
    {"uri.scheme", TR_URI_SCHEME, 0, 0, {0}},
    {"nameaddr.name", TR_NA_NAME, 0, 0, {0}},
    {"nameaddr.uri", TR_NA_URI, 0, 0, {0}},
    {"nameaddr.len", TR_NA_LEN, 0, 0, {0}},
    {"tobody.uri", TR_TB_URI, 0, 0, {0}},
    {"tobody.display", TR_TB_DISPLAY, 0, 0, {0}},
    {"tobody.tag", TR_TB_TAG, 0, 0, {0}},
    {"tobody.user", TR_TB_USER, 0, 0, {0}},
    {"tobody.host", TR_TB_HOST, 0, 0, {0}},
    {"tobody.params", TR_TB_PARAMS, 0, 0, {0}},
    {"param.value", TR_P_VALUE, 1, 2, {TP_STR, TP_STR}},
    {"param.valueat", TR_P_VALUEAT, 1, 2, {TP_INT, TP_STR}},
    {"param.name", TR_P_NAME, 1, 2, {TP_INT, TP_STR}},
    {"param.count", TR_P_COUNT, 0, 1, {TP_STR}},
    {"param.in", TR_P_IN, 1, 2, {TP_STR, TP_STR}},
    {NULL, 0, 0, 0, {0}},
};

/* One parameter: a constant (str points into the spec's text) or a
 * variable read at each application. */
typedef struct tr_param {
	int type; /* TP_INT, TP_STR; pv set: a variable */
	long n;
	str_t s;
	pv_spec_t *pv;
} tr_param_t;

typedef struct pv_trans {
	const tr_def_t *def;
	int np;
	tr_param_t p[3];
	struct pv_trans *next;
} pv_trans_t;

static void fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void pv_trans_free(void *t)
{
	pv_trans_t *tr = t, *n;

	for (; tr; tr = n) {
		n = tr->next;
		for (int i = 0; i < tr->np; i++)
			pv_spec_free(tr->p[i].pv);
		free(tr);
	}
}

static int parse_long_text(str_t s, long *out)
{
	char buf[32];
	char *end;

	if (!s.len || s.len >= sizeof(buf))
		return -1;
	memcpy(buf, s.s, s.len);
	buf[s.len] = '\0';
	*out = strtol(buf, &end, 10);
	return *end ? -1 : 0;
}

/* One "{class.name,p1,p2}" at s[0] == '{'; *used gets its length. The
 * parameters are split at commas outside parentheses and braces (so a
 * variable parameter may carry its own index or transformations). */
static pv_trans_t *parse_one(const char *s, size_t len, size_t *used, char *err,
			     size_t errlen)
{
	size_t i = 1, start, nend = 0;
	int depth = 0;
	str_t parts[4];
	int nparts = 0;
	pv_trans_t *tr;
	const tr_def_t *d;
	char sub[160];

	start = 1;
	for (; i < len; i++) {
		char c = s[i];

		if (c == '(' || c == '{')
			depth++;
		else if ((c == ')' || c == '}') && depth > 0)
			depth--;
		else if (depth == 0 && (c == ',' || c == '}')) {
			if (nparts == 4) {
				fail(err, errlen,
				     "too many parameters in transformation "
				     "'%.*s'",
				     (int)(i + 1), s);
				return NULL;
			}
			parts[nparts++] = (str_t){s + start, i - start};
			start = i + 1;
			if (c == '}') {
				nend = i + 1;
				break;
			}
		}
	}
	if (!nend) {
		fail(err, errlen, "unclosed '{' in transformation '%.*s'",
		     (int)len, s);
		return NULL;
	}
	for (d = tr_defs; d->name; d++)
		if (str_eq_cstr(parts[0], d->name))
			break;
	if (!d->name) {
		fail(err, errlen, "unknown transformation {%.*s}",
		     STR_FMT(parts[0]));
		return NULL;
	}
	if (nparts - 1 < d->pmin || nparts - 1 > d->pmax) {
		if (d->pmin == d->pmax)
			fail(err, errlen,
			     "transformation {%s} takes %d parameter%s, got "
			     "%d",
			     d->name, d->pmin, d->pmin == 1 ? "" : "s",
			     nparts - 1);
		else
			fail(err, errlen,
			     "transformation {%s} takes %d to %d parameters, "
			     "got %d",
			     d->name, d->pmin, d->pmax, nparts - 1);
		return NULL;
	}
	tr = calloc(1, sizeof(*tr));
	if (!tr) {
		fail(err, errlen, "out of memory");
		return NULL;
	}
	tr->def = d;
	tr->np = nparts - 1;
	for (int k = 0; k < tr->np; k++) {
		tr_param_t *p = &tr->p[k];
		str_t v = parts[k + 1];

		p->type = d->ptype[k];
		p->s = v;
		if (v.len && v.s[0] == '$') {
			p->pv = pv_spec_parse(v, sub, sizeof(sub));
			if (!p->pv) {
				fail(err, errlen,
				     "bad parameter %d of {%s}: %s", k + 1,
				     d->name, sub);
				pv_trans_free(tr);
				return NULL;
			}
		} else if (p->type == TP_INT && parse_long_text(v, &p->n) < 0) {
			fail(err, errlen,
			     "parameter %d of {%s} must be an integer, got "
			     "'%.*s'",
			     k + 1, d->name, STR_FMT(v));
			pv_trans_free(tr);
			return NULL;
		}
	}
	*used = nend;
	return tr;
}

int pv_trans_parse(const char *s, size_t len, size_t *used, void **out,
		   char *err, size_t errlen)
{
	pv_trans_t *head = NULL, **tail = &head, *tr;
	size_t pos = 0, n;

	while (pos < len && s[pos] == '{') {
		tr = parse_one(s + pos, len - pos, &n, err, errlen);
		if (!tr) {
			pv_trans_free(head);
			return -1;
		}
		*tail = tr;
		tail = &tr->next;
		pos += n;
	}
	*used = pos;
	*out = head;
	return 0;
}

/* ---- application ---- */

/* Scratch arena for the parsers (URI, name-addr, parameter lists) when the
 * value is not tied to a message. Reset at the outermost application. */
static _Thread_local arena_t *tr_arena;
static _Thread_local int tr_depth;

static void tr_arena_free(void)
{
	if (tr_arena) {
		arena_destroy(tr_arena);
		free(tr_arena);
		tr_arena = NULL;
	}
}

static arena_t *scratch_arena(ksr_ctx_t *ctx)
{
	if (ctx && ctx->msg && ctx->msg->arena)
		return ctx->msg->arena;
	if (!tr_arena) {
		tr_arena = malloc(sizeof(*tr_arena));
		if (!tr_arena)
			return NULL;
		arena_init(tr_arena);
	}
	return tr_arena;
}

static int param_str(ksr_ctx_t *ctx, const tr_param_t *p, str_t *out)
{
	ksr_xval_t v;

	if (!p->pv) {
		*out = p->s;
		return 0;
	}
	if (pv_get(ctx, p->pv, &v) < 0 || v.type == KSR_NULL)
		return -1;
	if (v.type == KSR_INT) {
		*out = pv_int_to_str(ctx, v.n);
		return out->s ? 0 : -1;
	}
	*out = v.s;
	return 0;
}

static int param_int(ksr_ctx_t *ctx, const tr_param_t *p, long *out)
{
	ksr_xval_t v;

	if (!p->pv) {
		*out = p->n;
		return 0;
	}
	if (pv_get(ctx, p->pv, &v) < 0 || v.type == KSR_NULL)
		return -1;
	if (v.type == KSR_INT) {
		*out = v.n;
		return 0;
	}
	return pv_parse_long(v.s, out);
}

static str_t trim_left(str_t s)
{
	while (s.len && isspace((unsigned char)s.s[0]))
		s.s++, s.len--;
	return s;
}

static str_t trim_right(str_t s)
{
	while (s.len && isspace((unsigned char)s.s[s.len - 1]))
		s.len--;
	return s;
}

/* Position of needle in hay from the left (or the right); -1 if absent. */
static long find(str_t hay, str_t needle, int right)
{
	if (!needle.len || needle.len > hay.len)
		return -1;
	if (right) {
		for (size_t i = hay.len - needle.len + 1; i-- > 0;)
			if (memcmp(hay.s + i, needle.s, needle.len) == 0)
				return (long)i;
		return -1;
	}
	for (size_t i = 0; i + needle.len <= hay.len; i++)
		if (memcmp(hay.s + i, needle.s, needle.len) == 0)
			return (long)i;
	return -1;
}

static int ret_copy_case(ksr_ctx_t *ctx, str_t s, int upper, ksr_xval_t *o)
{
	char *p = pv_scratch(ctx, s.len);

	if (!p)
		return pv_ret_null(o);
	for (size_t i = 0; i < s.len; i++)
		p[i] = (char)(upper ? toupper((unsigned char)s.s[i])
				    : tolower((unsigned char)s.s[i]));
	return pv_ret_str(o, (str_t){p, s.len});
}

/* Kamailio's s.substr: a negative offset counts from the end, length 0
 * means "to the end", a negative length leaves that many bytes out at the
 * end. Out of range gives null. */
static int tr_substr(str_t s, long off, long n, ksr_xval_t *o)
{
	long len = (long)s.len;

	if (off < 0)
		off += len;
	if (off < 0 || off > len)
		return pv_ret_null(o);
	if (n == 0)
		n = len - off;
	else if (n < 0)
		n = len - off + n;
	if (n < 0 || off + n > len)
		return pv_ret_null(o);
	return pv_ret_str(o, (str_t){s.s + off, (size_t)n});
}

/* Field idx of s split at any byte of sep (negative: from the end). */
static int tr_select(str_t s, long idx, str_t sep, ksr_xval_t *o)
{
	size_t starts[256], ends[256];
	int n = 0;
	size_t b = 0;

	if (!sep.len)
		return pv_ret_null(o);
	for (size_t i = 0; i <= s.len && n < 256; i++) {
		if (i == s.len || memchr(sep.s, s.s[i], sep.len)) {
			starts[n] = b;
			ends[n] = i;
			n++;
			b = i + 1;
		}
	}
	if (idx < 0)
		idx += n;
	if (idx < 0 || idx >= n)
		return pv_ret_null(o);
	return pv_ret_str(o,
			  (str_t){s.s + starts[idx], ends[idx] - starts[idx]});
}

static int tr_replace(ksr_ctx_t *ctx, str_t s, str_t what, str_t with,
		      ksr_xval_t *o)
{
	size_t cnt = 0, out, pos = 0;
	char *p;
	long k;

	if (!what.len)
		return pv_ret_str(o, s);
	for (str_t r = s; (k = find(r, what, 0)) >= 0;) {
		cnt++;
		r.s += (size_t)k + what.len;
		r.len -= (size_t)k + what.len;
	}
	if (!cnt)
		return pv_ret_str(o, s);
	out = s.len + cnt * with.len - cnt * what.len;
	p = pv_scratch(ctx, out);
	if (!p)
		return pv_ret_null(o);
	for (str_t r = s; (k = find(r, what, 0)) >= 0;) {
		memcpy(p + pos, r.s, (size_t)k);
		pos += (size_t)k;
		memcpy(p + pos, with.s, with.len);
		pos += with.len;
		r.s += (size_t)k + what.len;
		r.len -= (size_t)k + what.len;
		if (find(r, what, 0) < 0) {
			memcpy(p + pos, r.s, r.len);
			pos += r.len;
		}
	}
	return pv_ret_str(o, (str_t){p, pos});
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int tr_hexa(ksr_ctx_t *ctx, str_t s, int encode, ksr_xval_t *o)
{
	static const char hx[] = "0123456789abcdef";
	char *p;

	if (encode) {
		p = pv_scratch(ctx, s.len * 2);
		if (!p)
			return pv_ret_null(o);
		for (size_t i = 0; i < s.len; i++) {
			p[2 * i] = hx[(unsigned char)s.s[i] >> 4];
			p[2 * i + 1] = hx[(unsigned char)s.s[i] & 15];
		}
		return pv_ret_str(o, (str_t){p, s.len * 2});
	}
	if (s.len % 2)
		return pv_ret_null(o);
	p = pv_scratch(ctx, s.len / 2);
	if (!p)
		return pv_ret_null(o);
	for (size_t i = 0; i < s.len; i += 2) {
		int a = hexval((unsigned char)s.s[i]),
		    b = hexval((unsigned char)s.s[i + 1]);

		if (a < 0 || b < 0)
			return pv_ret_null(o);
		p[i / 2] = (char)(a * 16 + b);
	}
	return pv_ret_str(o, (str_t){p, s.len / 2});
}

static int tr_md5(ksr_ctx_t *ctx, str_t s, ksr_xval_t *o)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!EVP_Digest(s.s ? s.s : "", s.len, md, &n, EVP_md5(), NULL))
		return pv_ret_null(o);
	return tr_hexa(ctx, (str_t){(const char *)md, n}, 1, o);
}

/* The leading decimal number of s (Kamailio's s.int: "12abc" is 12). */
static long leading_int(str_t s)
{
	size_t i = 0;
	int neg = 0;
	long v = 0;

	s = trim_left(s);
	if (i < s.len && (s.s[i] == '-' || s.s[i] == '+'))
		neg = s.s[i++] == '-';
	for (; i < s.len && isdigit((unsigned char)s.s[i]) && v < 1L << 58; i++)
		v = v * 10 + (s.s[i] - '0');
	return neg ? -v : v;
}

static int tr_uri(ksr_ctx_t *ctx, const pv_trans_t *tr, str_t s, ksr_xval_t *o)
{
	arena_t *a = scratch_arena(ctx);
	sip_uri_t u;
	const sip_param_t *p;
	str_t name;

	if (!a || sip_uri_parse(a, s, &u) < 0)
		return pv_ret_null(o);
	switch (tr->def->id) {
	case TR_URI_USER: return pv_ret_str(o, u.user);
	case TR_URI_HOST: return pv_ret_str(o, u.host);
	case TR_URI_PASSWD: return pv_ret_str(o, u.password);
	case TR_URI_PORT: return pv_ret_str(o, u.port);
	case TR_URI_PARAMS: return pv_ret_str(o, u.params);
	case TR_URI_HEADERS: return pv_ret_str(o, u.headers);
	case TR_URI_TRANSPORT: return pv_ret_str(o, u.transport);
	case TR_URI_TTL: return pv_ret_str(o, u.ttl);
	case TR_URI_UPARAM: return pv_ret_str(o, u.user_param);
	case TR_URI_MADDR: return pv_ret_str(o, u.maddr);
	case TR_URI_METHOD: return pv_ret_str(o, u.method);
	case TR_URI_LR:
		p = sip_param_find(u.param_list, STR_LIT("lr"));
		return pv_ret_str(o,
				  p ? (p->has_value ? p->value : STR_LIT("on"))
				    : STR_LIT(""));
	case TR_URI_R2:
		p = sip_param_find(u.param_list, STR_LIT("r2"));
		return pv_ret_str(o, p ? p->value : STR_LIT(""));
	case TR_URI_SCHEME:
		return pv_ret_str(o, u.scheme == SIP_URI_SIPS ? STR_LIT("sips")
				     : u.scheme == SIP_URI_TEL
					 ? STR_LIT("tel")
					 : STR_LIT("sip"));
	case TR_URI_PARAM:
		if (param_str(ctx, &tr->p[0], &name) < 0)
			return pv_ret_null(o);
		p = sip_param_find(u.param_list, name);
		return pv_ret_str(o, p ? p->value : STR_LIT(""));
	}
	return pv_ret_null(o);
}

static int tr_nameaddr(ksr_ctx_t *ctx, const pv_trans_t *tr, str_t s,
		       ksr_xval_t *o)
{
	arena_t *a = scratch_arena(ctx);
	sip_nameaddr_t na;

	if (!a || sip_nameaddr_parse(a, s, &na) < 0)
		return pv_ret_null(o);
	switch (tr->def->id) {
	case TR_NA_NAME:
	case TR_TB_DISPLAY: return pv_ret_str(o, na.display);
	case TR_NA_URI:
	case TR_TB_URI: return pv_ret_str(o, na.uri_str);
	case TR_NA_LEN: return pv_ret_int(o, (long)na.raw.len);
	case TR_TB_TAG: return pv_ret_str(o, na.tag);
	case TR_TB_PARAMS: return pv_ret_str(o, na.params);
	case TR_TB_USER:
		return na.uri_ok ? pv_ret_str(o, na.uri.user) : pv_ret_null(o);
	case TR_TB_HOST:
		return na.uri_ok ? pv_ret_str(o, na.uri.host) : pv_ret_null(o);
	}
	return pv_ret_null(o);
}

/* param.* over "a=1;b=2" (separator ';' unless given; one leading
 * separator is allowed). */
static int tr_param(ksr_ctx_t *ctx, const pv_trans_t *tr, str_t s,
		    ksr_xval_t *o)
{
	str_t sep = STR_LIT(";"), name = STR_NULL, items[64];
	long idx = 0;
	int n = 0, id = tr->def->id;
	int sep_arg = id == TR_P_COUNT ? 0 : 1;
	size_t b = 0;

	if (tr->np > sep_arg && param_str(ctx, &tr->p[sep_arg], &sep) < 0)
		return pv_ret_null(o);
	if (!sep.len)
		return pv_ret_null(o);
	if (id == TR_P_VALUE || id == TR_P_IN) {
		if (param_str(ctx, &tr->p[0], &name) < 0)
			return pv_ret_null(o);
	} else if (id == TR_P_VALUEAT || id == TR_P_NAME) {
		if (param_int(ctx, &tr->p[0], &idx) < 0)
			return pv_ret_null(o);
	}
	s = str_trim(s);
	if (s.len && s.s[0] == sep.s[0]) {
		s.s++;
		s.len--;
	}
	for (size_t i = 0; i <= s.len && n < 64; i++) {
		if (i == s.len || s.s[i] == sep.s[0]) {
			str_t it = str_trim((str_t){s.s + b, i - b});

			if (it.len)
				items[n++] = it;
			b = i + 1;
		}
	}
	if (id == TR_P_COUNT)
		return pv_ret_int(o, n);
	if (id == TR_P_VALUEAT || id == TR_P_NAME) {
		if (idx < 0)
			idx += n;
		if (idx < 0 || idx >= n)
			return pv_ret_null(o);
	}
	for (int k = 0; k < n; k++) {
		const char *eq = memchr(items[k].s, '=', items[k].len);
		str_t nm = eq ? str_trim((str_t){items[k].s,
						 (size_t)(eq - items[k].s)})
			      : items[k];
		str_t val = eq ? str_trim((str_t){
				     eq + 1, items[k].len -
						 (size_t)(eq - items[k].s) - 1})
			       : STR_LIT("");

		if (id == TR_P_NAME && k == idx)
			return pv_ret_str(o, nm);
		if (id == TR_P_VALUEAT && k == idx)
			return pv_ret_str(o, val);
		if ((id == TR_P_VALUE || id == TR_P_IN) && str_eq(nm, name))
			return id == TR_P_IN ? pv_ret_int(o, 1)
					     : pv_ret_str(o, val);
	}
	return id == TR_P_IN ? pv_ret_int(o, 0) : pv_ret_null(o);
}

static int apply_one(ksr_ctx_t *ctx, const pv_trans_t *tr, ksr_xval_t *v)
{
	str_t s, a1, a2;
	long n1, n2;
	long k;
	char *p;
	int id = tr->def->id;

	if (v->type == KSR_NULL)
		return 0;
	if (v->type == KSR_INT) {
		if (id == TR_S_INT)
			return 0;
		s = pv_int_to_str(ctx, v->n);
		if (!s.s)
			return pv_ret_null(v);
	} else {
		s = v->s;
	}
	if (!s.s)
		s = STR_LIT("");
	if (id >= TR_URI_USER && id <= TR_URI_SCHEME)
		return tr_uri(ctx, tr, s, v);
	if (id >= TR_NA_NAME && id <= TR_TB_PARAMS)
		return tr_nameaddr(ctx, tr, s, v);
	if (id >= TR_P_VALUE)
		return tr_param(ctx, tr, s, v);
	switch (id) {
	case TR_S_LEN: return pv_ret_int(v, (long)s.len);
	case TR_S_INT: return pv_ret_int(v, leading_int(s));
	case TR_S_TOLOWER: return ret_copy_case(ctx, s, 0, v);
	case TR_S_TOUPPER: return ret_copy_case(ctx, s, 1, v);
	case TR_S_SUBSTR:
		if (param_int(ctx, &tr->p[0], &n1) < 0 ||
		    param_int(ctx, &tr->p[1], &n2) < 0)
			return pv_ret_null(v);
		return tr_substr(s, n1, n2, v);
	case TR_S_SELECT:
		if (param_int(ctx, &tr->p[0], &n1) < 0 ||
		    param_str(ctx, &tr->p[1], &a1) < 0)
			return pv_ret_null(v);
		return tr_select(s, n1, a1, v);
	case TR_S_STRIP:
	case TR_S_STRIPTAIL:
		if (param_int(ctx, &tr->p[0], &n1) < 0 || n1 < 0)
			return pv_ret_null(v);
		if ((size_t)n1 >= s.len)
			return pv_ret_str(v, STR_LIT(""));
		return pv_ret_str(v, id == TR_S_STRIP
					 ? (str_t){s.s + n1, s.len - (size_t)n1}
					 : (str_t){s.s, s.len - (size_t)n1});
	case TR_S_STRIPTO:
		if (param_str(ctx, &tr->p[0], &a1) < 0 || !a1.len)
			return pv_ret_null(v);
		p = memchr(s.s, a1.s[0], s.len);
		if (!p)
			return pv_ret_str(v, s);
		return pv_ret_str(v, (str_t){p, s.len - (size_t)(p - s.s)});
	case TR_S_TRIM: return pv_ret_str(v, trim_right(trim_left(s)));
	case TR_S_LTRIM: return pv_ret_str(v, trim_left(s));
	case TR_S_RTRIM: return pv_ret_str(v, trim_right(s));
	case TR_S_REPLACE:
		if (param_str(ctx, &tr->p[0], &a1) < 0 ||
		    param_str(ctx, &tr->p[1], &a2) < 0)
			return pv_ret_null(v);
		return tr_replace(ctx, s, a1, a2, v);
	case TR_S_ENCODE_HEXA: return tr_hexa(ctx, s, 1, v);
	case TR_S_DECODE_HEXA: return tr_hexa(ctx, s, 0, v);
	case TR_S_BEFORE:
	case TR_S_AFTER:
	case TR_S_RBEFORE:
	case TR_S_RAFTER:
		if (param_str(ctx, &tr->p[0], &a1) < 0)
			return pv_ret_null(v);
		k = find(s, a1, id == TR_S_RBEFORE || id == TR_S_RAFTER);
		if (k < 0)
			return id == TR_S_BEFORE || id == TR_S_RBEFORE
				   ? pv_ret_str(v, s)
				   : pv_ret_str(v, STR_LIT(""));
		if (id == TR_S_BEFORE || id == TR_S_RBEFORE)
			return pv_ret_str(v, (str_t){s.s, (size_t)k});
		return pv_ret_str(
		    v, (str_t){s.s + k + a1.len, s.len - (size_t)k - a1.len});
	case TR_S_UNQUOTE:
		if (s.len >= 2 && ((s.s[0] == '"' && s.s[s.len - 1] == '"') ||
				   (s.s[0] == '\'' && s.s[s.len - 1] == '\'')))
			return pv_ret_str(v, (str_t){s.s + 1, s.len - 2});
		return pv_ret_str(v, s);
	case TR_S_UNBRACKET:
		if (s.len >= 2 && ((s.s[0] == '<' && s.s[s.len - 1] == '>') ||
				   (s.s[0] == '[' && s.s[s.len - 1] == ']') ||
				   (s.s[0] == '(' && s.s[s.len - 1] == ')') ||
				   (s.s[0] == '{' && s.s[s.len - 1] == '}')))
			return pv_ret_str(v, (str_t){s.s + 1, s.len - 2});
		return pv_ret_str(v, s);
	case TR_S_MD5: return tr_md5(ctx, s, v);
	case TR_S_DEC2HEX:
		if (pv_parse_long(s, &n1) < 0)
			return pv_ret_null(v);
		p = pv_scratch(ctx, 24);
		if (!p)
			return pv_ret_null(v);
		return pv_ret_str(
		    v, (str_t){p, (size_t)snprintf(p, 24, "%lx", n1)});
	case TR_S_HEX2DEC:
		n1 = 0;
		if (s.len > 2 && s.s[0] == '0' &&
		    (s.s[1] == 'x' || s.s[1] == 'X'))
			s = (str_t){s.s + 2, s.len - 2};
		if (!s.len || s.len > 15)
			return pv_ret_null(v);
		for (size_t i = 0; i < s.len; i++) {
			int h = hexval((unsigned char)s.s[i]);

			if (h < 0)
				return pv_ret_null(v);
			n1 = n1 * 16 + h;
		}
		return pv_ret_int(v, n1);
	case TR_S_NUMERIC:
		p = pv_scratch(ctx, s.len);
		if (!p)
			return pv_ret_null(v);
		k = 0;
		for (size_t i = 0; i < s.len; i++)
			if (isdigit((unsigned char)s.s[i]))
				p[k++] = s.s[i];
		return pv_ret_str(v, (str_t){p, (size_t)k});
	}
	return pv_ret_null(v);
}

int pv_trans_apply(ksr_ctx_t *ctx, const void *chain, ksr_xval_t *v)
{
	const pv_trans_t *tr;

	if (tr_depth == 0 && tr_arena)
		arena_reset(tr_arena);
	tr_depth++;
	for (tr = chain; tr && v->type != KSR_NULL; tr = tr->next)
		apply_one(ctx, tr, v);
	tr_depth--;
	return 0;
}

void pv_trans_thread_cleanup(void)
{
	tr_arena_free();
}
