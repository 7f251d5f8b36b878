/* corex.c - KSR.corex: the parts of Kamailio's corex module that make
 * sense without socket selection (see README.md for the rest). Return
 * codes as Kamailio 5.6 corex_mod.c and corex_lib.c: 1 true/success, -1
 * otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dset.h"
#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"

/* has_ruri_user(): the current R-URI (as rewritten) has a user part. */
static int ki_has_ruri_user(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	sip_uri_t *u;

	if (!ctx->msg || ctx->msg->kind != SIP_REQUEST)
		return -1;
	u = sip_get_cur_ruri(ctx->msg);
	if (!u) {
		LOG_RATE(L_ERR, "corex: failed to parse the R-URI");
		return -1;
	}
	return u->user.len > 0 ? 1 : -1;
}

/* has_user_agent(): a User-Agent header with a non-empty value. */
static int ki_has_user_agent(ksr_ctx_t *ctx, const ksr_arg_t *a,
			     ksr_xval_t *ret)
{
	sip_hdr_t *h;

	if (!ctx->msg)
		return -1;
	h = sip_hdr_first(ctx->msg, SIP_HDR_USERAGENT);
	return h && h->value.len > 0 ? 1 : -1;
}

/* is_faked_msg(): Osprey runs event routes without a message instead of
 * with a faked one, so a message given to a script is never faked. */
static int ki_is_faked_msg(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	return -1;
}

/* Kamailio's str2q(): "0" to "1" with at most three decimals, as q x 1000.
 * 0, or -1 when s is not a q value. */
static int parse_q(str_t s, int *q)
{
	int v = 0, scale = 100;
	size_t i;

	if (s.len == 0 || (s.s[0] != '0' && s.s[0] != '1'))
		return -1;
	if (s.len > 1 && (s.s[1] != '.' || s.len > 5))
		return -1;
	for (i = 2; i < s.len; i++, scale /= 10) {
		if (s.s[i] < '0' || s.s[i] > '9')
			return -1;
		v += (s.s[i] - '0') * scale;
	}
	if (s.s[0] == '1' && v != 0)
		return -1;
	*q = s.s[0] == '1' ? 1000 : v;
	return 0;
}

/* Kamailio's corex_append_branch(): a new branch to `uri`, or to the
 * current R-URI when uri is empty, with the destination URI, Path vector
 * and branch flags of branch 0. When the R-URI itself was moved into the
 * new branch, branch 0 loses its destination URI, Path and flags. */
static int append_branch(ksr_ctx_t *ctx, str_t uri, str_t qs)
{
	sip_msg_t *msg = ctx->msg;
	osp_branch_t b;

	if (!msg || msg->kind != SIP_REQUEST)
		return -1;
	dset_branch0(msg, &b);
	b.q = -1;
	if (qs.len && parse_q(qs, &b.q) < 0) {
		LOG_ERR("corex: cannot parse the q value '%.*s'", STR_FMT(qs));
		return -1;
	}
	if (uri.len)
		b.uri = uri;
	if (dset_append(msg, &b) < 0)
		return -1;
	if (!uri.len) {
		msg->dst_uri = STR_NULL;
		msg->path_vec = STR_NULL;
		msg->bflags = 0;
	}
	return 1;
}

static int ki_append_branch(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	return append_branch(ctx, STR_NULL, STR_NULL);
}

static int ki_append_branch_uri(ksr_ctx_t *ctx, const ksr_arg_t *a,
				ksr_xval_t *ret)
{
	return append_branch(ctx, a[0].s, STR_NULL);
}

static int ki_append_branch_uri_q(ksr_ctx_t *ctx, const ksr_arg_t *a,
				  ksr_xval_t *ret)
{
	return append_branch(ctx, a[0].s, a[1].s);
}

/* NUL-terminated copy of a path for the C library. */
static int path_buf(str_t s, char *buf, size_t cap)
{
	if (s.len == 0 || s.len >= cap || memchr(s.s, '\0', s.len))
		return -1;
	str_to_buf(s, buf, cap);
	return 0;
}

/* file_read(path) -> the file's content; "" when it cannot be read (as
 * Kamailio). The content lives in the message arena, or, without a
 * message, in ctx->buf (truncated to its size). */
static int ki_file_read(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	char path[4096];
	FILE *f = NULL;
	long size;
	char *data;
	size_t got;

	if (path_buf(a[0].s, path, sizeof(path)) < 0)
		goto empty;
	f = fopen(path, "rb");
	if (!f) {
		LOG_ERR("corex: cannot open file: %s", path);
		goto empty;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		LOG_ERR("corex: cannot size file: %s", path);
		goto empty;
	}
	if (ctx->msg) {
		data = arena_alloc(ctx->msg->arena, (size_t)size + 1);
		if (!data)
			goto empty;
	} else {
		data = ctx->buf;
		if ((size_t)size >= sizeof(ctx->buf))
			size = (long)sizeof(ctx->buf) - 1;
	}
	got = fread(data, 1, (size_t)size, f);
	if (got < (size_t)size && ferror(f))
		LOG_ERR("corex: error reading file: %s", path);
	data[got] = '\0';
	fclose(f);
	return ksr_xval_str(ret, (str_t){data, got});
empty:
	if (f)
		fclose(f);
	return ksr_xval_str(ret, STR_LIT(""));
}

/* file_write(path, data): replace the file's content. 1 or -1. */
static int ki_file_write(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *ret)
{
	char path[4096];
	FILE *f;
	int rc = 1;

	if (path_buf(a[0].s, path, sizeof(path)) < 0)
		return -1;
	f = fopen(path, "w");
	if (!f) {
		LOG_ERR("corex: cannot open file: %s", path);
		return -1;
	}
	if (a[1].s.len && fwrite(a[1].s.s, 1, a[1].s.len, f) != a[1].s.len)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc < 0)
		LOG_ERR("corex: error writing file: %s", path);
	return rc;
}

static const ksr_export_t corex_exports[] = {
    {"corex", "append_branch", KSR_INT, ki_append_branch, {0}},
    {"corex", "append_branch_uri", KSR_INT, ki_append_branch_uri, {KSR_STR}},
    {"corex",
     "append_branch_uri_q",
     KSR_INT,
     ki_append_branch_uri_q,
     {KSR_STR, KSR_STR}},
    {"corex", "has_ruri_user", KSR_INT, ki_has_ruri_user, {0}},
    {"corex", "has_user_agent", KSR_INT, ki_has_user_agent, {0}},
    {"corex", "is_faked_msg", KSR_INT, ki_is_faked_msg, {0}},
    {"corex", "file_read", KSR_XVAL, ki_file_read, {KSR_STR}},
    {"corex", "file_write", KSR_INT, ki_file_write, {KSR_STR, KSR_STR}},
    {0},
};

osp_module_t osp_mod_corex = {
    .name = "corex",
    .exports = corex_exports,
};
