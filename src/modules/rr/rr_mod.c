/* rr_mod.c - KSR.rr: Record-Route and loose routing, with the names,
 * parameters and return values of Kamailio 5.6's rr module (rr_mod.c:
 * its KEMI table sr_kemi_rr_exports, modparams and pseudo-variables).
 *
 * record_route(), record_route_params(p), record_route_advertised_address(a),
 * record_route_preset(a1, a2), record_route_preset_one(a):
 *     1 recorded; -1 already record-routed for this message (outside branch
 *     routes), not a request, From/To/R-URI unusable, or a preset second
 *     address without enable_double_rr.
 * add_rr_param(p), remove_record_route(): 1, or -1 on error.
 * loose_route(), loose_route_mode(mode):
 *     1 routed on the Route set (next hop in $du or the R-URI);
 *    -1 no Route header, nothing left to route on, or an error;
 *    -3 out-of-dialog request whose only Route was ours (removed).
 * loose_route_preloaded(): 1 when loose_route would return -3, else -1.
 * check_route_param(re): 1 when the params of our Route match, else -1.
 * is_direction(dir): 1 when the request goes in direction dir, -1 when
 *     not, -6 (Kamailio's E_CFG) for a bad dir or append_fromtag off.
 * next_hop_route(): 1 when loose_route removed our Route and another
 *     Route followed it, else -1.
 *
 * Pseudo-variables: $route_uri, $fti, $tti, $rdir(id|name). */
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/fwd.h"
#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "modules/pv/pv.h"
#include "modules/rr/rr_int.h"

int rr_append_fromtag = 1;
int rr_enable_double_rr = 1;
int rr_enable_full_lr = 0;
int rr_add_username = 0;
int rr_ignore_sips = 0;
str_t rr_custom_user;

static int enable_socket_mismatch_warning = 1;
static int force_send_socket = 0;
static int sockname_mode = 0;
static char *custom_user_avp;

/* ---- per-message state ---- */

rr_msg_t *rr_msg_get(sip_msg_t *msg)
{
	if (!msg->rr) {
		msg->rr = arena_zalloc(msg->arena, sizeof(rr_msg_t));
		if (!msg->rr)
			LOG_ERR("rr: out of memory");
	}
	return msg->rr;
}

str_t rr_cat(arena_t *ar, str_t a, str_t b)
{
	char *p = arena_alloc(ar, a.len + b.len + 1);

	if (!p)
		return STR_NULL;
	if (a.len)
		memcpy(p, a.s, a.len);
	if (b.len)
		memcpy(p + a.len, b.s, b.len);
	p[a.len + b.len] = '\0';
	return (str_t){p, a.len + b.len};
}

int rr_msg_clone(sip_msg_t *dst, const sip_msg_t *src, arena_t *a)
{
	const rr_msg_t *s = src->rr;
	rr_msg_t *d;
	str_t *f[] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL};

	dst->rr = NULL;
	if (!s)
		return 0;
	d = arena_alloc(a, sizeof(*d));
	if (!d)
		return -OSP_ENOMEM;
	*d = *s;
	f[0] = &d->user;
	f[1] = &d->tag;
	f[2] = &d->addr;
	f[3] = &d->params;
	f[4] = &d->preset;
	f[5] = &d->pending;
	f[6] = &d->routed_params;
	for (size_t i = 0; i < OSP_ARRAY_LEN(f); i++) {
		str_t c;

		if (!f[i]->s)
			continue;
		c = rr_cat(a, STR_NULL, *f[i]);
		if (!c.s)
			return -OSP_ENOMEM;
		*f[i] = c;
	}
	dst->rr = d;
	return 0;
}

/* ---- KSR.rr ---- */

#define MSG	  (ctx->msg)
#define IN_BRANCH (ctx->route == KSR_ROUTE_BRANCH)

static int ki_record_route(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!MSG)
		return -1;
	return rr_record(MSG, STR_NULL, IN_BRANCH);
}

static int ki_record_route_params(ksr_ctx_t *ctx, const ksr_arg_t *a,
				  ksr_xval_t *r)
{
	if (!MSG)
		return -1;
	return rr_record(MSG, a[0].s, IN_BRANCH);
}

static int ki_record_route_advertised_address(ksr_ctx_t *ctx,
					      const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!MSG)
		return -1;
	return rr_record_advertised(MSG, a[0].s, IN_BRANCH);
}

static int ki_record_route_preset(ksr_ctx_t *ctx, const ksr_arg_t *a,
				  ksr_xval_t *r)
{
	rr_msg_t *st;
	int rc;

	if (!MSG)
		return -1;
	rc = rr_record_preset(MSG, a[0].s, a[1].s, IN_BRANCH);
	/* Kamailio's two-address variant drops add_rr_param values kept for
	 * a later record_route */
	if (rc > 0 && (st = MSG->rr))
		st->pending = STR_NULL;
	return rc;
}

static int ki_record_route_preset_one(ksr_ctx_t *ctx, const ksr_arg_t *a,
				      ksr_xval_t *r)
{
	if (!MSG)
		return -1;
	return rr_record_preset(MSG, a[0].s, STR_NULL, IN_BRANCH);
}

static int ki_add_rr_param(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!MSG || MSG->kind != SIP_REQUEST)
		return -1;
	return rr_add_param(MSG, a[0].s);
}

static int ki_remove_record_route(ksr_ctx_t *ctx, const ksr_arg_t *a,
				  ksr_xval_t *r)
{
	if (!MSG)
		return -1;
	return rr_remove(MSG);
}

static int ki_loose_route(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!MSG)
		return -1;
	return rr_loose_route(MSG, 0);
}

/* Kamailio 5.6 treats any non-zero mode as "loose routing only"; later
 * versions made it a bit set where 1 is that and 2 skips outbound (which
 * Osprey does not have): testing bit 1 gives both the same meaning. */
static int ki_loose_route_mode(ksr_ctx_t *ctx, const ksr_arg_t *a,
			       ksr_xval_t *r)
{
	if (!MSG)
		return -1;
	return rr_loose_route(MSG, (a[0].n & 1) != 0);
}

static int ki_loose_route_preloaded(ksr_ctx_t *ctx, const ksr_arg_t *a,
				    ksr_xval_t *r)
{
	if (!MSG)
		return -1;
	return rr_loose_route(MSG, 0) == RR_PRELOADED ? 1 : -1;
}

static int ki_next_hop_route(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	const rr_msg_t *st = MSG ? MSG->rr : NULL;

	return st && st->route_addr ? 1 : -1;
}

/* The regular expression is compiled as Kamailio does (extended, case
 * insensitive, newline-sensitive) and matched against our Route's URI
 * params with their leading ';' (";lr;ftag=x;nat=yes"). */
static int ki_check_route_param(ksr_ctx_t *ctx, const ksr_arg_t *a,
				ksr_xval_t *r)
{
	str_t params, re_s, subject;
	regex_t re;
	int rc;

	if (!MSG)
		return -1;
	re_s = rr_cat(MSG->arena, STR_NULL, a[0].s);
	if (!re_s.s)
		return -1;
	if (rr_route_params(MSG, &params) < 0)
		return -1;
	subject = rr_cat(MSG->arena, STR_LIT(";"), params);
	if (!subject.s)
		return -1;
	if (regcomp(&re, re_s.s, REG_EXTENDED | REG_ICASE | REG_NEWLINE) != 0) {
		LOG_ERR("rr: check_route_param: bad regular expression '%s'",
			re_s.s);
		return -1;
	}
	rc = regexec(&re, subject.s, 0, NULL, 0) == 0 ? 1 : -1;
	regfree(&re);
	return rc;
}

static int ki_is_direction(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	int want;

	if (!rr_append_fromtag) {
		LOG_ERR("rr: is_direction needs the append_fromtag modparam");
		return RR_E_CFG;
	}
	if (str_caseeq_cstr(a[0].s, "downstream")) {
		want = RR_FLOW_DOWNSTREAM;
	} else if (str_caseeq_cstr(a[0].s, "upstream")) {
		want = RR_FLOW_UPSTREAM;
	} else {
		LOG_ERR("rr: is_direction: unknown direction '%.*s' (use "
			"'downstream' or 'upstream')",
			STR_FMT(a[0].s));
		return RR_E_CFG;
	}
	if (!MSG || MSG->kind != SIP_REQUEST)
		return -1;
	return rr_direction(MSG) == want ? 1 : -1;
}

static const ksr_export_t rr_exports[] = {
    {"rr", "record_route", KSR_INT, ki_record_route, {0}},
    {"rr", "record_route_params", KSR_INT, ki_record_route_params, {KSR_STR}},
    {"rr", "loose_route", KSR_INT, ki_loose_route, {0}},
    {"rr", "loose_route_preloaded", KSR_INT, ki_loose_route_preloaded, {0}},
    {"rr", "loose_route_mode", KSR_INT, ki_loose_route_mode, {KSR_INT}},
    {"rr", "remove_record_route", KSR_INT, ki_remove_record_route, {0}},
    {"rr", "add_rr_param", KSR_INT, ki_add_rr_param, {KSR_STR}},
    {"rr", "check_route_param", KSR_INT, ki_check_route_param, {KSR_STR}},
    {"rr", "is_direction", KSR_INT, ki_is_direction, {KSR_STR}},
    {"rr",
     "record_route_preset_one",
     KSR_INT,
     ki_record_route_preset_one,
     {KSR_STR}},
    {"rr",
     "record_route_preset",
     KSR_INT,
     ki_record_route_preset,
     {KSR_STR, KSR_STR}},
    {"rr",
     "record_route_advertised_address",
     KSR_INT,
     ki_record_route_advertised_address,
     {KSR_STR}},
    {"rr", "next_hop_route", KSR_INT, ki_next_hop_route, {0}},
    {0},
};

/* ---- pseudo-variables ---- */

static int pv_null(ksr_xval_t *out)
{
	out->type = KSR_NULL;
	out->n = 0;
	out->s = STR_NULL;
	return 0;
}

static int pv_str(ksr_xval_t *out, str_t s, long n)
{
	out->type = KSR_STR;
	out->n = n;
	out->s = s;
	return 0;
}

/* $route_uri: the URI of the top Route as received. */
static int pv_get_route_uri(ksr_ctx_t *ctx, const pv_spec_t *sp,
			    ksr_xval_t *out)
{
	sip_hdr_t *h;
	sip_rr_t *rt;

	if (!MSG || MSG->kind != SIP_REQUEST)
		return pv_null(out);
	h = sip_hdr_first(MSG, SIP_HDR_ROUTE);
	rt = h ? sip_get_rr(MSG, h) : NULL;
	return rt ? pv_str(out, rt->na.uri_str, 0) : pv_null(out);
}

/* $fti / $tti: the From / To tag as they were in the dialog-creating
 * request (swapped for a request going upstream). */
static int pv_get_tag_initial(ksr_ctx_t *ctx, const pv_spec_t *sp,
			      ksr_xval_t *out)
{
	int from = sp->iparam == 0;
	sip_nameaddr_t *na;

	if (!MSG || MSG->kind != SIP_REQUEST)
		return pv_null(out);
	if (rr_direction(MSG) == RR_FLOW_UPSTREAM)
		from = !from;
	na = from ? sip_get_from(MSG) : sip_get_to(MSG);
	return na && na->tag.len ? pv_str(out, na->tag, 0) : pv_null(out);
}

/* $rdir(id): 1 downstream, 2 upstream; $rdir(name): the word. */
static int pv_get_rdir(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	int d;

	if (!MSG || MSG->kind != SIP_REQUEST)
		return pv_null(out);
	d = rr_direction(MSG);
	if (sp->iparam == 1)
		return pv_str(out,
			      d == RR_FLOW_UPSTREAM ? STR_LIT("upstream")
						    : STR_LIT("downstream"),
			      d);
	out->type = KSR_INT;
	out->n = d;
	out->s = STR_NULL;
	return 0;
}

static int rdir_parse_name(pv_spec_t *sp, str_t name, char *err, size_t errlen)
{
	if (str_eq_cstr(name, "id")) {
		sp->iparam = 0;
	} else if (str_eq_cstr(name, "name")) {
		sp->iparam = 1;
	} else {
		snprintf(err, errlen, "unknown $rdir key '%.*s' (id or name)",
			 STR_FMT(name));
		return -1;
	}
	return 0;
}

static const pv_class_t rr_pv_classes[] = {
    {"route_uri", pv_get_route_uri, NULL, 0, 0, NULL, NULL},
    {"fti", pv_get_tag_initial, NULL, 0, 0, NULL, NULL},
    {"tti", pv_get_tag_initial, NULL, 0, 1, NULL, NULL},
    {"rdir", pv_get_rdir, NULL, PV_CF_NAME, 0, rdir_parse_name, NULL},
    {NULL, NULL, NULL, 0, 0, NULL, NULL},
};

/* ---- module ---- */

static osp_prebuild_fn prev_prebuild;

static int rr_prebuild(sip_msg_t *msg, const struct net_listener *out)
{
	if (prev_prebuild) {
		int rc = prev_prebuild(msg, out);

		if (rc < 0)
			return rc;
	}
	return rr_finalize(msg, out, msg->arena) < 0 ? -1 : 0;
}

/* custom_user_avp: "$avp(name)" or "$avp(s:name)". */
static int parse_custom_user(void)
{
	str_t s = str_trim(str_from(custom_user_avp));

	rr_custom_user = STR_NULL;
	if (!s.len)
		return 0;
	if (s.len < 7 || strncmp(s.s, "$avp(", 5) != 0 ||
	    s.s[s.len - 1] != ')') {
		LOG_ERR("rr: custom_user_avp must be an $avp(name), not '%s'",
			custom_user_avp);
		return -1;
	}
	s.s += 5;
	s.len -= 6;
	if (s.len > 2 && strncmp(s.s, "s:", 2) == 0) {
		s.s += 2;
		s.len -= 2;
	}
	rr_custom_user = s;
	return 0;
}

static int rr_mod_init(void)
{
	if (rr_enable_double_rr < 0 || rr_enable_double_rr > 2) {
		LOG_ERR("rr: enable_double_rr must be 0, 1 or 2 (is %d)",
			rr_enable_double_rr);
		return -1;
	}
	if (parse_custom_user() < 0)
		return -1;
	if (force_send_socket || sockname_mode)
		LOG_WARN("rr: force_send_socket and sockname_mode are not "
			 "supported and have no effect");
	OSP_UNUSED(enable_socket_mismatch_warning);
	if (pv_register_classes(rr_pv_classes) < 0)
		return -1;
	if (osp_prebuild_hook != rr_prebuild) {
		prev_prebuild = osp_prebuild_hook;
		osp_prebuild_hook = rr_prebuild;
	}
	return 0;
}

static void rr_mod_destroy(void)
{
	if (osp_prebuild_hook == rr_prebuild)
		osp_prebuild_hook = prev_prebuild;
	free(custom_user_avp);
	custom_user_avp = NULL;
	rr_custom_user = STR_NULL;
}

static const osp_param_t rr_params[] = {
    {"append_fromtag", MP_INT, &rr_append_fromtag, NULL},
    {"enable_double_rr", MP_INT, &rr_enable_double_rr, NULL},
    {"enable_full_lr", MP_INT, &rr_enable_full_lr, NULL},
    {"add_username", MP_INT, &rr_add_username, NULL},
    {"enable_socket_mismatch_warning", MP_INT, &enable_socket_mismatch_warning,
     NULL},
    {"custom_user_avp", MP_STR, &custom_user_avp, NULL},
    {"force_send_socket", MP_INT, &force_send_socket, NULL},
    {"ignore_sips", MP_INT, &rr_ignore_sips, NULL},
    {"sockname_mode", MP_INT, &sockname_mode, NULL},
    {NULL, 0, NULL, NULL},
};

osp_module_t osp_mod_rr = {
    .name = "rr",
    .exports = rr_exports,
    .params = rr_params,
    .init = rr_mod_init,
    .destroy = rr_mod_destroy,
};
