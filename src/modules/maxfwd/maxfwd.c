/* maxfwd.c - KSR.maxfwd: Max-Forwards processing (Kamailio's maxfwd
 * module: maxfwd.c and mf_funcs.c).
 *
 * process_maxfwd(limit):
 *    2  the header was missing; "Max-Forwards: <limit>" was inserted
 *       before the first header
 *    1  the value was decremented (a value above the max_limit modparam is
 *       first lowered to max_limit + 1, so the result is max_limit)
 *   -1  the value is 0 (the script answers 483), or limit is outside 0..255
 *   -2  the header value is malformed, or an internal error
 * is_maxfwd_lt(limit):
 *    1  value < limit;  -1 value >= limit (or bad limit);
 *   -2  no header;  -3 malformed header.
 * Both see the value as changed by an earlier process_maxfwd, as Kamailio
 * does (it caches the decremented value in the parsed header). */
#include <string.h>

#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "modules/hdr/hdr_ops.h"

static int max_limit = 70;

/* Current Max-Forwards value: from the replacement line when an earlier
 * call rewrote the header. *idx gets the header index (-1 if none).
 * Returns the value, -1 when absent, -2 when malformed. */
static int current_value(sip_msg_t *msg, int *idx)
{
	sip_hdr_t *h = sip_hdr_first(msg, SIP_HDR_MAXFWD);
	const char *c;
	str_t v;
	long n;

	*idx = -1;
	if (!h)
		return -1;
	*idx = (int)(h - msg->hdrs);
	if (!h->replace.len)
		return sip_get_maxfwd(msg);
	c = memchr(h->replace.s, ':', h->replace.len);
	if (!c)
		return -2;
	v.s = c + 1;
	v.len = h->replace.len - (size_t)(v.s - h->replace.s);
	n = str_to_uint(str_trim(v));
	return n < 0 ? -2 : (int)n;
}

/* Decimal digits of v (0..999: a Max-Forwards value is at most 255) at p;
 * returns the end. Called for every relayed request, where snprintf cost
 * more than the rest of process_maxfwd together. */
static char *put_small_uint(char *p, unsigned v)
{
	if (v >= 100)
		*p++ = (char)('0' + v / 100 % 10);
	if (v >= 10)
		*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

/* "<name>: <val>\r\n" into line (at least 64 + 9 bytes), name cut at 64
 * bytes (it is one of the header's two spellings, so never that long). */
static size_t maxfwd_line(char *line, str_t name, unsigned val)
{
	size_t nl = name.len < 64 ? name.len : 64;
	char *p = line;

	memcpy(p, name.s, nl);
	p += nl;
	*p++ = ':';
	*p++ = ' ';
	p = put_small_uint(p, val);
	*p++ = '\r';
	*p++ = '\n';
	return (size_t)(p - line);
}

/* Rewrite header idx with a new value, keeping the name as received. */
static int write_value(sip_msg_t *msg, int idx, int val)
{
	char line[128];

	return hdr_replace(msg, idx,
			   (str_t){line, maxfwd_line(line, msg->hdrs[idx].name,
						     (unsigned)val)});
}

static int ki_process_maxfwd(ksr_ctx_t *ctx, const ksr_arg_t *a,
			     ksr_xval_t *ret)
{
	long limit = a[0].n;
	sip_msg_t *msg = ctx->msg;
	char line[128];
	int val, idx;
	size_t n;

	if (limit < 0 || limit > 255) {
		LOG_ERR("maxfwd: invalid limit %ld (0..255)", limit);
		return -1;
	}
	if (!msg)
		return -2;
	val = current_value(msg, &idx);
	switch (val) {
	case -1:
		/* Kamailio adds the header on every call while the message
		 * has none; adding it twice would only duplicate it. */
		if (hdr_added(msg, STR_LIT("Max-Forwards")))
			return 2;
		n = maxfwd_line(line, STR_LIT("Max-Forwards"), (unsigned)limit);
		if (hdr_add(msg, (str_t){line, n}, SIP_ADD_INSERT, 0) < 0)
			return -2;
		return 2;
	case -2:
		LOG_RATE(L_WARN, "maxfwd: malformed Max-Forwards header");
		return -2;
	case 0: return -1;
	default:
		if (val > max_limit)
			val = max_limit + 1;
		if (write_value(msg, idx, val - 1) < 0) {
			LOG_ERR("maxfwd: cannot rewrite Max-Forwards");
			return -2;
		}
		return 1;
	}
}

static int ki_is_maxfwd_lt(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	long limit = a[0].n;
	int val, idx;

	if (limit < 0 || limit > 255) {
		LOG_ERR("maxfwd: invalid limit %ld (0..255)", limit);
		return -1;
	}
	if (!ctx->msg)
		return -3;
	val = current_value(ctx->msg, &idx);
	if (val < 0)
		return val - 1;
	return val >= limit ? -1 : 1;
}

static int maxfwd_init(void)
{
	if (max_limit < 0 || max_limit > 255) {
		LOG_ERR("maxfwd: max_limit must be within 0..255 (is %d)",
			max_limit);
		return -1;
	}
	return 0;
}

static const ksr_export_t maxfwd_exports[] = {
    {"maxfwd", "process_maxfwd", KSR_INT, ki_process_maxfwd, {KSR_INT}},
    {"maxfwd", "is_maxfwd_lt", KSR_INT, ki_is_maxfwd_lt, {KSR_INT}},
    {0},
};

static const osp_param_t maxfwd_params[] = {
    {"max_limit", MP_INT, &max_limit, NULL},
    {0},
};

osp_module_t osp_mod_maxfwd = {
    .name = "maxfwd",
    .exports = maxfwd_exports,
    .params = maxfwd_params,
    .init = maxfwd_init,
};
