/* hdr.c - KSR.hdr: header operations of Kamailio's core KEMI (kemi.c,
 * _sr_kemi_hdr), with the same names, parameters and return codes.
 *
 * Kamailio returns 1 for success and -1 for errors for every INT function
 * here; hdr.remove returns 1 even when no header matched. Getters return
 * the value of the matching header as received (trimmed), whatever the
 * script removed or added since: Kamailio reads the parsed message, not its
 * pending changes. */
#include <string.h>

#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "modules/hdr/hdr_ops.h"

/* How a getter reports a missing value (Kamailio's SR_KEMI_XVAL_NULL_*). */
enum { XNULL_NONE, XNULL_EMPTY, XNULL_PRINT };

static int xval_missing(ksr_xval_t *ret, int mode)
{
	if (mode == XNULL_EMPTY)
		return ksr_xval_str(ret, STR_LIT(""));
	if (mode == XNULL_PRINT)
		return ksr_xval_str(ret, STR_LIT("<null>"));
	return ksr_xval_null(ret);
}

/* Add a line where `where` says, failing when there is no message. */
static int add_line(ksr_ctx_t *ctx, str_t text, sip_add_where_t where,
		    int anchor)
{
	if (!ctx->msg)
		return -1;
	if (hdr_add(ctx->msg, text, where, anchor) < 0) {
		LOG_ERR("hdr: out of memory adding a header");
		return -1;
	}
	return 1;
}

/* KSR.hdr.append(txt): after the last header. */
static int ki_append(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	return add_line(ctx, a[0].s, SIP_ADD_APPEND, 0);
}

/* KSR.hdr.insert(txt): before the first header. */
static int ki_insert(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	return add_line(ctx, a[0].s, SIP_ADD_INSERT, 0);
}

/* KSR.hdr.append_after(txt, hname): after the first header named hname,
 * or after the last header when there is none (as Kamailio). */
static int ki_append_after(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	hdr_name_t n;
	int i;

	if (!ctx->msg || hdr_name_init(&n, a[1].s) < 0)
		return -1;
	i = hdr_find(ctx->msg, &n, 0);
	if (i < 0)
		return add_line(ctx, a[0].s, SIP_ADD_APPEND, 0);
	return add_line(ctx, a[0].s, SIP_ADD_AFTER, i);
}

/* KSR.hdr.insert_before(txt, hname): before the first header named
 * hname, or before the first header when there is none. */
static int ki_insert_before(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	hdr_name_t n;
	int i;

	if (!ctx->msg || hdr_name_init(&n, a[1].s) < 0)
		return -1;
	i = hdr_find(ctx->msg, &n, 0);
	if (i < 0)
		return add_line(ctx, a[0].s, SIP_ADD_INSERT, 0);
	return add_line(ctx, a[0].s, SIP_ADD_BEFORE, i);
}

/* KSR.hdr.remove(hname): every header with that name; 1 even when none. */
static int ki_remove(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	hdr_name_t n;

	if (!ctx->msg || hdr_name_init(&n, a[0].s) < 0)
		return -1;
	hdr_remove_all(ctx->msg, &n);
	return 1;
}

static int ki_rmappend(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	int rc = ki_remove(ctx, a, ret);

	return rc < 0 ? rc : add_line(ctx, a[1].s, SIP_ADD_APPEND, 0);
}

static int ki_rminsert(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	int rc = ki_remove(ctx, a, ret);

	return rc < 0 ? rc : add_line(ctx, a[1].s, SIP_ADD_INSERT, 0);
}

/* KSR.hdr.is_present(hname): 1 or -1. */
static int ki_is_present(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	hdr_name_t n;

	if (!ctx->msg || hdr_name_init(&n, a[0].s) < 0)
		return -1;
	return hdr_find(ctx->msg, &n, 0) >= 0 ? 1 : -1;
}

/* KSR.hdr.append_to_reply(txt): a header for replies generated locally
 * for this request (sl, tm, registrar...). */
static int ki_append_to_reply(ksr_ctx_t *ctx, const ksr_arg_t *a,
			      ksr_xval_t *ret)
{
	if (!ctx->msg)
		return -1;
	if (hdr_add_reply(ctx->msg, a[0].s) < 0) {
		LOG_ERR("hdr: out of memory adding a reply header");
		return -1;
	}
	return 1;
}

/* Value of the idx-th header named hname (negative idx counts from the
 * end, -1 being the last), or the mode's stand-in. */
static int get_mode(ksr_ctx_t *ctx, str_t hname, long idx, int mode,
		    ksr_xval_t *ret)
{
	hdr_name_t n;
	int i, cnt;

	if (!ctx->msg || hdr_name_init(&n, hname) < 0)
		return xval_missing(ret, mode);
	if (idx < 0) {
		cnt = hdr_count(ctx->msg, &n);
		if (cnt + idx < 0)
			return xval_missing(ret, mode);
		idx += cnt;
	}
	if (idx > SIP_MAX_HDRS)
		return xval_missing(ret, mode);
	i = hdr_find(ctx->msg, &n, (int)idx);
	if (i < 0)
		return xval_missing(ret, mode);
	return ksr_xval_str(ret, ctx->msg->hdrs[i].value);
}

static int ki_get(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	return get_mode(ctx, a[0].s, 0, XNULL_NONE, ret);
}

static int ki_gete(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	return get_mode(ctx, a[0].s, 0, XNULL_EMPTY, ret);
}

static int ki_getw(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	return get_mode(ctx, a[0].s, 0, XNULL_PRINT, ret);
}

static int ki_get_idx(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	return get_mode(ctx, a[0].s, a[1].n, XNULL_NONE, ret);
}

static int ki_gete_idx(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	return get_mode(ctx, a[0].s, a[1].n, XNULL_EMPTY, ret);
}

static int ki_getw_idx(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	return get_mode(ctx, a[0].s, a[1].n, XNULL_PRINT, ret);
}

/* Case-insensitive substring search. */
static int str_casecontains(str_t hay, str_t needle)
{
	if (needle.len == 0)
		return 1;
	for (size_t i = 0; i + needle.len <= hay.len; i++)
		if (strncasecmp(hay.s + i, needle.s, needle.len) == 0)
			return 1;
	return 0;
}

/* KSR.hdr.match_content(hname, op, mval, hidx) -> bool.
 * op: "eq", "ne" (case-insensitive compare of the trimmed value), "sw"
 * (starts with), "in" (contains); "re" is refused as in Kamailio 5.6.
 * hidx: "f" first header, "l" last, "a" all must match, "o" at least one.
 * Kamailio's quirks are kept: "l" and "a" report the result of the last
 * header; no header at all gives false. */
static int ki_match_content(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	str_t op = a[1].s, mval = a[2].s, hidx = a[3].s;
	hdr_name_t n;
	int opv, mode, matched = 0, seen = 0;

	if (!ctx->msg || hdr_name_init(&n, a[0].s) < 0)
		return 0;
	if (str_caseeq_cstr(op, "eq"))
		opv = 1;
	else if (str_caseeq_cstr(op, "ne"))
		opv = 2;
	else if (str_caseeq_cstr(op, "sw"))
		opv = 3;
	else if (str_caseeq_cstr(op, "in"))
		opv = 4;
	else {
		LOG_ERR("hdr.match_content: unsupported operator '%.*s'",
			STR_FMT(op));
		return 0;
	}
	if (hidx.len == 0) {
		LOG_ERR("hdr.match_content: empty header index");
		return 0;
	}
	switch (hidx.s[0] | 0x20) {
	case 'f': mode = 1; break;
	case 'l': mode = 2; break;
	case 'a': mode = 3; break;
	case 'o': mode = 4; break;
	default:
		LOG_ERR("hdr.match_content: invalid header index '%.*s'",
			STR_FMT(hidx));
		return 0;
	}
	for (int i = 0; i < ctx->msg->n_hdrs; i++) {
		str_t v;

		if (!hdr_name_match(&n, &ctx->msg->hdrs[i]))
			continue;
		seen++;
		v = str_trim(ctx->msg->hdrs[i].value);
		switch (opv) {
		case 1: matched = str_caseeq(v, mval); break;
		case 2: matched = !str_caseeq(v, mval); break;
		case 3:
			matched = v.len >= mval.len &&
				  strncasecmp(v.s, mval.s, mval.len) == 0;
			break;
		default:
			matched =
			    v.len >= mval.len && str_casecontains(v, mval);
			break;
		}
		if (seen == 1 && mode == 1)
			return matched;
		if (mode == 3 && !matched)
			return 0;
		if (mode == 4 && matched)
			return 1;
	}
	return matched;
}

static const ksr_export_t hdr_exports[] = {
    {"hdr", "append", KSR_INT, ki_append, {KSR_STR}},
    {"hdr", "append_after", KSR_INT, ki_append_after, {KSR_STR, KSR_STR}},
    {"hdr", "insert", KSR_INT, ki_insert, {KSR_STR}},
    {"hdr", "insert_before", KSR_INT, ki_insert_before, {KSR_STR, KSR_STR}},
    {"hdr", "remove", KSR_INT, ki_remove, {KSR_STR}},
    {"hdr", "rmappend", KSR_INT, ki_rmappend, {KSR_STR, KSR_STR}},
    {"hdr", "rminsert", KSR_INT, ki_rminsert, {KSR_STR, KSR_STR}},
    {"hdr", "is_present", KSR_INT, ki_is_present, {KSR_STR}},
    {"hdr", "append_to_reply", KSR_INT, ki_append_to_reply, {KSR_STR}},
    {"hdr", "get", KSR_XVAL, ki_get, {KSR_STR}},
    {"hdr", "gete", KSR_XVAL, ki_gete, {KSR_STR}},
    {"hdr", "getw", KSR_XVAL, ki_getw, {KSR_STR}},
    {"hdr", "get_idx", KSR_XVAL, ki_get_idx, {KSR_STR, KSR_INT}},
    {"hdr", "gete_idx", KSR_XVAL, ki_gete_idx, {KSR_STR, KSR_INT}},
    {"hdr", "getw_idx", KSR_XVAL, ki_getw_idx, {KSR_STR, KSR_INT}},
    {"hdr",
     "match_content",
     KSR_BOOL,
     ki_match_content,
     {KSR_STR, KSR_STR, KSR_STR, KSR_STR}},
    {0},
};

osp_module_t osp_mod_hdr = {
    .name = "hdr",
    .exports = hdr_exports,
    .always = 1,
};
