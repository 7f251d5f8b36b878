/* registrar.c - the registrar module (KSR.registrar): parameters, the KEMI
 * exports and what save/lookup share (AOR extraction, q override). The
 * REGISTER processing is in save.c, lookup/registered/unregister in
 * lookup.c, reg_fetch_contacts and $ulc in regpv.c. Names, parameters and
 * return codes follow Kamailio 5.6's registrar; see README.md for the
 * differences. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "modules/registrar/reg_int.h"
#include "net/net.h"

int reg_default_expires = 3600;
int reg_default_expires_range;
int reg_expires_range;
int reg_min_expires = 60;
int reg_min_expires_mode = 1; /* Kamailio: 0 (raise to min_expires) */
int reg_max_expires;
int reg_max_contacts;
int reg_default_q = -1;
int reg_append_branches = 1;
int reg_case_sensitive;
int reg_method_filtering;
int reg_use_path = 1;		   /* Kamailio: 0 */
int reg_path_mode = REG_PATH_LAZY; /* Kamailio: 2 (strict) */
int reg_path_use_received;
int reg_path_check_local;
int reg_gruu_enabled;
int reg_retry_after;
int reg_contact_max_size = 512;
char *reg_received_param = (char *)"received";
char *reg_realm_prefix;
static char *p_received_avp;
pv_spec_t *reg_rcv_spec;

OSP_COUNTER(reg_accepted, "registrar", "accepted_regs");
OSP_COUNTER(reg_rejected, "registrar", "rejected_regs");
OSP_COUNTER(st_max_expires, "registrar", "max_expires");
OSP_COUNTER(st_max_contacts, "registrar", "max_contacts");
OSP_COUNTER(st_default_expire, "registrar", "default_expire");

static const osp_param_t reg_params[] = {
    {"default_expires", MP_INT, &reg_default_expires, NULL},
    {"default_expires_range", MP_INT, &reg_default_expires_range, NULL},
    {"expires_range", MP_INT, &reg_expires_range, NULL},
    {"min_expires", MP_INT, &reg_min_expires, NULL},
    {"min_expires_mode", MP_INT, &reg_min_expires_mode, NULL},
    {"max_expires", MP_INT, &reg_max_expires, NULL},
    {"max_contacts", MP_INT, &reg_max_contacts, NULL},
    {"default_q", MP_INT, &reg_default_q, NULL},
    {"append_branches", MP_INT, &reg_append_branches, NULL},
    {"case_sensitive", MP_INT, &reg_case_sensitive, NULL},
    {"method_filtering", MP_INT, &reg_method_filtering, NULL},
    {"use_path", MP_INT, &reg_use_path, NULL},
    {"path_mode", MP_INT, &reg_path_mode, NULL},
    {"path_use_received", MP_INT, &reg_path_use_received, NULL},
    {"path_check_local", MP_INT, &reg_path_check_local, NULL},
    {"gruu_enabled", MP_INT, &reg_gruu_enabled, NULL},
    {"retry_after", MP_INT, &reg_retry_after, NULL},
    {"contact_max_size", MP_INT, &reg_contact_max_size, NULL},
    {"received_param", MP_STR, &reg_received_param, NULL},
    {"received_avp", MP_STR, &p_received_avp, NULL},
    {"realm_prefix", MP_STR, &reg_realm_prefix, NULL},
    {0},
};

/* ---------------------------------------------------------------- AOR */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int reg_aor(arena_t *a, str_t uri, char *buf, size_t cap, str_t *aor,
	    sip_uri_t *parsed, const char **why)
{
	sip_uri_t u;
	str_t host;
	size_t n = 0, user_len;

	if (sip_uri_parse(a, uri, &u) != 0) {
		*why = "parse";
		return -1;
	}
	if (parsed)
		*parsed = u;
	if (!u.user.len && !ul_use_domain()) {
		*why = "user";
		return -1;
	}
	for (size_t i = 0; i < u.user.len; i++) {
		char c = u.user.s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= u.user.len) {
				*why = "escape";
				return -1;
			}
			hi = hexval(u.user.s[i + 1]);
			lo = hexval(u.user.s[i + 2]);
			if (hi < 0 || lo < 0) {
				*why = "escape";
				return -1;
			}
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (n + 1 >= cap)
			goto toolong;
		buf[n++] =
		    reg_case_sensitive ? c : (char)tolower((unsigned char)c);
	}
	user_len = n;
	if (ul_use_domain()) {
		host = u.host;
		if (reg_realm_prefix && *reg_realm_prefix) {
			size_t pl = strlen(reg_realm_prefix);

			if (host.len > pl &&
			    strncasecmp(host.s, reg_realm_prefix, pl) == 0) {
				host.s += pl;
				host.len -= pl;
			}
		}
		if (user_len) {
			if (n + 1 >= cap)
				goto toolong;
			buf[n++] = '@';
		}
		for (size_t i = 0; i < host.len; i++) {
			if (n + 1 >= cap)
				goto toolong;
			buf[n++] = (char)tolower((unsigned char)host.s[i]);
		}
	}
	buf[n] = '\0';
	*aor = (str_t){buf, n};
	return 0;
toolong:
	*why = "len";
	return -1;
}

ul_domain_t *reg_domain(str_t table)
{
	ul_domain_t *d = ul_get_domain(table);

	if (!d)
		LOG_RATE(L_ERR, "registrar: location table '%.*s' not usable",
			 STR_FMT(table));
	return d;
}

/* ---------------------------------------------------------------- q */

static _Thread_local uint64_t q_override_id;
static _Thread_local int q_override_val = -2;

int reg_q_override(const sip_msg_t *msg)
{
	return msg && q_override_id == msg->id ? q_override_val : -2;
}

/* Kamailio's str2q: "0".."1" with up to three decimals. */
static int parse_q(str_t s, int *q)
{
	int v = 0, scale = 100;

	s = str_trim(s);
	if (!s.len || (s.s[0] != '0' && s.s[0] != '1'))
		return -1;
	if (s.len > 1 && (s.s[1] != '.' || s.len > 5))
		return -1;
	for (size_t i = 2; i < s.len; i++, scale /= 10) {
		if (s.s[i] < '0' || s.s[i] > '9')
			return -1;
		v += (s.s[i] - '0') * scale;
	}
	if (s.s[0] == '1' && v)
		return -1;
	*q = s.s[0] == '1' ? 1000 : v;
	return 0;
}

/* ---------------------------------------------------------------- exports */

#define MSG_REQ(ctx) ((ctx)->msg && (ctx)->msg->kind == SIP_REQUEST)

static int ki_save(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return reg_save(ctx, a[0].s, a[1].n, STR_NULL);
}

static int ki_save_uri(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!a[2].s.len) {
		LOG_RATE(L_ERR, "registrar: save_uri: empty uri");
		return -1;
	}
	return reg_save(ctx, a[0].s, a[1].n, a[2].s);
}

static int ki_lookup(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return reg_lookup(ctx, a[0].s, STR_NULL, 0);
}

static int ki_lookup_uri(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return reg_lookup(ctx, a[0].s, a[1].s, 0);
}

static int ki_lookup_to_dset(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return reg_lookup(ctx, a[0].s, a[1].s, 1);
}

static int ki_lookup_branches(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return reg_lookup_branches(ctx, a[0].s);
}

static int ki_registered(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return reg_registered(ctx, a[0].s, STR_NULL);
}

static int ki_registered_uri(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	return reg_registered(ctx, a[0].s, a[1].s);
}

static int ki_unregister(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!a[1].s.len) {
		LOG_RATE(L_ERR, "registrar: unregister: empty uri");
		return -1;
	}
	return reg_unregister(ctx, a[0].s, a[1].s, STR_NULL);
}

static int ki_unregister_ruid(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (!a[2].s.len) {
		LOG_RATE(L_ERR, "registrar: unregister_ruid: empty ruid");
		return -1;
	}
	return reg_unregister(ctx, a[0].s, a[1].s, a[2].s);
}

/* set_q_override(q): the q given to the contacts saved from this
 * REGISTER, whatever their q parameter says. */
static int ki_set_q_override(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	int q;

	if (!ctx->msg || parse_q(a[0].s, &q) < 0) {
		LOG_RATE(L_ERR, "registrar: set_q_override: invalid q '%.*s'",
			 STR_FMT(a[0].s));
		return -1;
	}
	q_override_id = ctx->msg->id;
	q_override_val = q;
	return 1;
}

/* add_sock_hdr(name): add "name: proto:ip:port" with the socket the
 * request came in on (for a registrar behind a replicating proxy). */
static int ki_add_sock_hdr(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	sip_msg_t *msg = ctx->msg;
	const net_listener_t *l;
	sip_hdr_add_t *add, **pp;
	char *p;
	size_t len;

	if (!MSG_REQ(ctx) || !a[0].s.len || !msg->rcv.listener)
		return -1;
	l = msg->rcv.listener;
	len = a[0].s.len + 2 + strlen(l->name) + 2;
	p = arena_alloc(msg->arena, len + 1);
	add = arena_zalloc(msg->arena, sizeof(*add));
	if (!p || !add)
		return -1;
	snprintf(p, len + 1, "%.*s: %s\r\n", STR_FMT(a[0].s), l->name);
	add->text = (str_t){p, len};
	add->where = SIP_ADD_APPEND;
	for (pp = &msg->adds; *pp; pp = &(*pp)->next)
		;
	*pp = add;
	return 1;
}

static int ki_reg_fetch_contacts(ksr_ctx_t *ctx, const ksr_arg_t *a,
				 ksr_xval_t *r)
{
	return reg_fetch_contacts(ctx, a[0].s, a[1].s, a[2].s);
}

static int ki_reg_free_contacts(ksr_ctx_t *ctx, const ksr_arg_t *a,
				ksr_xval_t *r)
{
	return reg_free_contacts(a[0].s);
}

static int ki_ulc_rget(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (reg_ulc_get(ctx, a[0].s, a[1].s, 0, r) < 0)
		return ksr_xval_null(r);
	return 1;
}

static int ki_ulc_cget(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (reg_ulc_get(ctx, a[0].s, a[1].s, a[2].n, r) < 0)
		return ksr_xval_null(r);
	return 1;
}

#define S KSR_STR
#define I KSR_INT
static const ksr_export_t reg_exports[] = {
    {"registrar", "save", KSR_INT, ki_save, {S, I}},
    {"registrar", "save_uri", KSR_INT, ki_save_uri, {S, I, S}},
    {"registrar", "lookup", KSR_INT, ki_lookup, {S}},
    {"registrar", "lookup_uri", KSR_INT, ki_lookup_uri, {S, S}},
    {"registrar", "lookup_to_dset", KSR_INT, ki_lookup_to_dset, {S, S}},
    {"registrar", "lookup_branches", KSR_INT, ki_lookup_branches, {S}},
    {"registrar", "registered", KSR_INT, ki_registered, {S}},
    {"registrar", "registered_uri", KSR_INT, ki_registered_uri, {S, S}},
    {"registrar", "set_q_override", KSR_INT, ki_set_q_override, {S}},
    {"registrar", "add_sock_hdr", KSR_INT, ki_add_sock_hdr, {S}},
    {"registrar", "unregister", KSR_INT, ki_unregister, {S, S}},
    {"registrar", "unregister_ruid", KSR_INT, ki_unregister_ruid, {S, S, S}},
    {"registrar",
     "reg_fetch_contacts",
     KSR_INT,
     ki_reg_fetch_contacts,
     {S, S, S}},
    {"registrar", "reg_free_contacts", KSR_INT, ki_reg_free_contacts, {S}},
    {"registrar", "ulc_rget", KSR_XVAL, ki_ulc_rget, {S, S}},
    {"registrar", "ulc_cget", KSR_XVAL, ki_ulc_cget, {S, S, I}},
    {0},
};
#undef S
#undef I

static int reg_init(void)
{
	osp_module_t *ul = module_find("usrloc");
	char err[256];

	if (ul && !ul->loaded) {
		LOG_ERR("registrar needs the usrloc module: loadmodule "
			"\"usrloc.so\"");
		return -1;
	}
	if (reg_path_mode < REG_PATH_OFF || reg_path_mode > REG_PATH_STRICT) {
		LOG_ERR("registrar: path_mode must be 0, 1 or 2");
		return -1;
	}
	if (reg_default_q > 1000)
		reg_default_q = 1000;
	else if (reg_default_q < 0)
		reg_default_q = -1;
	if (reg_default_expires_range < 0 || reg_default_expires_range > 100 ||
	    reg_expires_range < 0 || reg_expires_range > 100) {
		LOG_ERR("registrar: expires ranges are percentages (0..100)");
		return -1;
	}
	if (p_received_avp && *p_received_avp) {
		reg_rcv_spec =
		    pv_spec_parse(str_from(p_received_avp), err, sizeof(err));
		if (!reg_rcv_spec || strncmp(p_received_avp, "$avp(", 5) != 0) {
			LOG_ERR("registrar: received_avp '%s' is not an AVP "
				"(like \"$avp(RECEIVED)\")%s%s",
				p_received_avp, reg_rcv_spec ? "" : ": ",
				reg_rcv_spec ? "" : err);
			pv_spec_free(reg_rcv_spec);
			reg_rcv_spec = NULL;
			return -1;
		}
	}
	ul_set_case_sensitive(reg_case_sensitive);
	if (reg_pv_register() < 0)
		return -1;
	stats_register(&reg_accepted);
	stats_register(&reg_rejected);
	stats_register(&st_max_expires);
	stats_register(&st_max_contacts);
	stats_register(&st_default_expire);
	__atomic_store_n(&st_max_expires.value, (uint64_t)reg_max_expires,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&st_max_contacts.value, (uint64_t)reg_max_contacts,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&st_default_expire.value,
			 (uint64_t)reg_default_expires, __ATOMIC_RELAXED);
	return 0;
}

static void reg_destroy(void)
{
	reg_pv_destroy();
	pv_spec_free(reg_rcv_spec);
	reg_rcv_spec = NULL;
}

osp_module_t osp_mod_registrar = {
    .name = "registrar",
    .exports = reg_exports,
    .params = reg_params,
    .init = reg_init,
    .destroy = reg_destroy,
};
