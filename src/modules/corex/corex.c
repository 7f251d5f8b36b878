/* corex.c - KSR.corex: the parts of Kamailio's corex module that make
 * sense without branches or socket selection (see README.md for the rest).
 * Return codes as Kamailio 5.6 corex_mod.c: 1 true/success, -1 otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
