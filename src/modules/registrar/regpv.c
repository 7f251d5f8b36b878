/* regpv.c - reg_fetch_contacts / reg_free_contacts and the $ulc(profile=>
 * attr) variable (also KSR.registrar.ulc_rget / ulc_cget).
 *
 * A profile is a copy of one AOR's contacts taken by reg_fetch_contacts,
 * private to the worker thread that fetched it (like Kamailio's, which is
 * per process): reading it needs no lock, and it stays as it was even if
 * the registration changes meanwhile. Profiles are also linked in one
 * global list so that they are freed at shutdown whatever thread made
 * them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/osp.h"
#include "modules/registrar/reg_int.h"

typedef struct reg_profile {
	char name[64];
	char domain[64];
	char aor[512];
	size_t aor_len;
	uint32_t aorhash;
	ul_contact_t **c; /* copies (ul_contact_dup) */
	int n;
	char num[32];		   /* scratch for numbers as strings */
	struct reg_profile *tnext; /* this thread's list */
	struct reg_profile *gnext; /* every profile */
} reg_profile_t;

static _Thread_local reg_profile_t *my_profiles;
static reg_profile_t *all_profiles;
static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;

static void profile_clear(reg_profile_t *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->c[i]);
	free(p->c);
	p->c = NULL;
	p->n = 0;
	p->aor[0] = '\0';
	p->aor_len = 0;
}

static reg_profile_t *profile_find(str_t name, int create)
{
	reg_profile_t *p;

	for (p = my_profiles; p; p = p->tnext)
		if (str_eq_cstr(name, p->name))
			return p;
	if (!create || !name.len || name.len >= sizeof(p->name))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	str_to_buf(name, p->name, sizeof(p->name));
	p->tnext = my_profiles;
	my_profiles = p;
	pthread_mutex_lock(&all_lock);
	p->gnext = all_profiles;
	all_profiles = p;
	pthread_mutex_unlock(&all_lock);
	return p;
}

int reg_fetch_contacts(ksr_ctx_t *ctx, str_t table, str_t uri, str_t prof)
{
	sip_msg_t *msg = ctx->msg;
	ul_domain_t *d = reg_domain(table);
	reg_profile_t *p;
	const char *why = "";
	char buf[512];
	str_t aor;
	ul_handle_t h;
	ul_record_t *r;
	arena_t tmp, *a;
	time_t now = ul_now();
	int n = 0, ret = -1;

	if (!d)
		return -1;
	p = profile_find(prof, 1);
	if (!p) {
		LOG_RATE(L_ERR, "registrar: invalid $ulc profile name '%.*s'",
			 STR_FMT(prof));
		return -1;
	}
	profile_clear(p);
	if (msg) {
		a = msg->arena;
	} else {
		arena_init(&tmp);
		a = &tmp;
	}
	if (reg_aor(a, uri, buf, sizeof(buf), &aor, NULL, &why) < 0) {
		LOG_RATE(L_ERR,
			 "registrar: reg_fetch_contacts: no AOR in "
			 "'%.*s'",
			 STR_FMT(uri));
		goto out;
	}
	snprintf(p->domain, sizeof(p->domain), "%s", ul_domain_name(d));
	ul_lock(d, aor, &h);
	r = ul_get_record(&h);
	if (r) {
		memcpy(p->aor, r->aor.s, r->aor.len);
		p->aor[r->aor.len] = '\0';
		p->aor_len = r->aor.len;
		p->aorhash = r->hash;
		for (ul_contact_t *c = r->contacts; c; c = c->next)
			n++;
		p->c = n ? calloc((size_t)n, sizeof(*p->c)) : NULL;
		n = 0;
		for (ul_contact_t *c = r->contacts; p->c && c; c = c->next) {
			if (!ul_contact_valid(c, now))
				continue;
			p->c[n] = ul_contact_dup(c);
			if (p->c[n])
				n++;
		}
		p->n = n;
	}
	ul_unlock(&h);
	ret = n ? 1 : -1;
out:
	if (!msg)
		arena_destroy(&tmp);
	return ret;
}

int reg_free_contacts(str_t prof)
{
	reg_profile_t *p = profile_find(prof, 0);

	if (p)
		profile_clear(p);
	return 1;
}

void reg_pv_destroy(void)
{
	reg_profile_t *p, *n;

	pthread_mutex_lock(&all_lock);
	for (p = all_profiles; p; p = n) {
		n = p->gnext;
		profile_clear(p);
		free(p);
	}
	all_profiles = NULL;
	pthread_mutex_unlock(&all_lock);
	my_profiles = NULL;
}

/* ---------------------------------------------------------------- $ulc */

enum {
	ULC_AOR,
	ULC_DOMAIN,
	ULC_AORHASH,
	ULC_ADDR,
	ULC_PATH,
	ULC_RECEIVED,
	ULC_EXPIRES,
	ULC_CALLID,
	ULC_Q,
	ULC_CSEQ,
	ULC_FLAGS,
	ULC_CFLAGS,
	ULC_USER_AGENT,
	ULC_SOCKET,
	ULC_MODIFIED,
	ULC_METHODS,
	ULC_COUNT,
	ULC_RUID,
	ULC_REGID,
	ULC_INSTANCE,
	ULC_CONID,
	ULC_SERVER_ID,
};

static const char *const attr_names[] = {
    [ULC_AOR] = "aor",
    [ULC_DOMAIN] = "domain",
    [ULC_AORHASH] = "aorhash",
    [ULC_ADDR] = "addr",
    [ULC_PATH] = "path",
    [ULC_RECEIVED] = "received",
    [ULC_EXPIRES] = "expires",
    [ULC_CALLID] = "callid",
    [ULC_Q] = "q",
    [ULC_CSEQ] = "cseq",
    [ULC_FLAGS] = "flags",
    [ULC_CFLAGS] = "cflags",
    [ULC_USER_AGENT] = "user_agent",
    [ULC_SOCKET] = "socket",
    [ULC_MODIFIED] = "modified",
    [ULC_METHODS] = "methods",
    [ULC_COUNT] = "count",
    [ULC_RUID] = "ruid",
    [ULC_REGID] = "regid",
    [ULC_INSTANCE] = "instance",
    [ULC_CONID] = "conid",
    [ULC_SERVER_ID] = "server_id",
};

static int attr_id(str_t name)
{
	for (size_t i = 0; i < OSP_ARRAY_LEN(attr_names); i++)
		if (str_eq_cstr(name, attr_names[i]))
			return (int)i;
	return -1;
}

static int x_str(ksr_xval_t *out, str_t s)
{
	if (!s.len) {
		ksr_xval_null(out);
		return -1;
	}
	ksr_xval_str(out, s);
	return 0;
}

static int x_int(ksr_xval_t *out, long n)
{
	ksr_xval_int(out, n);
	return 0;
}

/* Value of attribute id of contact idx (0-based; negative from the end)
 * of profile p. 0, or -1 (out is null). */
static int ulc_value(reg_profile_t *p, int id, long idx, ksr_xval_t *out)
{
	const ul_contact_t *c;

	ksr_xval_null(out);
	switch (id) {
	case ULC_AOR: return x_str(out, (str_t){p->aor, p->aor_len});
	case ULC_DOMAIN: return x_str(out, str_from(p->domain));
	case ULC_AORHASH: return x_int(out, (long)p->aorhash);
	case ULC_COUNT: return x_int(out, p->n);
	}
	if (idx < 0)
		idx += p->n;
	if (idx < 0 || idx >= p->n)
		return -1;
	c = p->c[idx];
	switch (id) {
	case ULC_ADDR: return x_str(out, c->c);
	case ULC_PATH: return x_str(out, c->path);
	case ULC_RECEIVED: return x_str(out, c->received);
	case ULC_EXPIRES: return x_int(out, (long)c->expires);
	case ULC_CALLID: return x_str(out, c->callid);
	case ULC_Q: return x_int(out, c->q);
	case ULC_CSEQ: return x_int(out, (long)c->cseq);
	case ULC_FLAGS: return x_int(out, (long)c->flags);
	case ULC_CFLAGS: return x_int(out, (long)c->cflags);
	case ULC_USER_AGENT: return x_str(out, c->user_agent);
	case ULC_SOCKET: return x_str(out, c->socket);
	case ULC_MODIFIED: return x_int(out, (long)c->last_modified);
	case ULC_METHODS: return x_int(out, (long)c->methods);
	case ULC_RUID: return x_str(out, c->ruid);
	case ULC_REGID: return x_int(out, (long)c->reg_id);
	case ULC_INSTANCE: return x_str(out, c->instance);
	case ULC_CONID: return c->conn_id ? x_int(out, (long)c->conn_id) : -1;
	case ULC_SERVER_ID: return x_int(out, 0);
	}
	return -1;
}

int reg_ulc_get(ksr_ctx_t *ctx, str_t prof, str_t attr, long idx,
		ksr_xval_t *out)
{
	reg_profile_t *p = profile_find(prof, 0);
	int id = attr_id(attr);

	ksr_xval_null(out);
	if (!p || id < 0)
		return -1;
	return ulc_value(p, id, idx, out);
}

/* "profile=>attr": the attribute id goes to iparam, the profile name
 * stays in the spec's name (checked here, looked up at read time). */
static int ulc_parse_name(pv_spec_t *sp, str_t name, char *err, size_t errlen)
{
	const char *arrow = NULL;

	for (size_t i = 0; i + 1 < name.len; i++)
		if (name.s[i] == '=' && name.s[i + 1] == '>') {
			arrow = name.s + i;
			break;
		}
	if (!arrow || arrow == name.s) {
		snprintf(err, errlen, "$ulc(%.*s): expected profile=>attribute",
			 STR_FMT(name));
		return -1;
	}
	sp->iparam = attr_id(
	    (str_t){arrow + 2, name.len - (size_t)(arrow + 2 - name.s)});
	if (sp->iparam < 0) {
		snprintf(err, errlen, "$ulc(%.*s): unknown attribute",
			 STR_FMT(name));
		return -1;
	}
	return 0;
}

static int ulc_get(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	str_t name, prof;
	int itype;
	long idx = 0;
	reg_profile_t *p;

	ksr_xval_null(out);
	if (pv_spec_name(ctx, sp, &name) < 0 ||
	    pv_spec_index(ctx, sp, &itype, &idx) < 0)
		return 0;
	prof = name;
	for (size_t i = 0; i + 1 < name.len; i++)
		if (name.s[i] == '=' && name.s[i + 1] == '>') {
			prof.len = i;
			break;
		}
	p = profile_find(prof, 0);
	if (!p)
		return 0;
	if (itype != PV_IDX_INT)
		idx = 0;
	ulc_value(p, (int)sp->iparam, idx, out);
	return 0;
}

static const pv_class_t ulc_classes[] = {
    {"ulc", ulc_get, NULL, PV_CF_NAME | PV_CF_INDEX, 0, ulc_parse_name, NULL},
    {0},
};

int reg_pv_register(void)
{
	return pv_register_classes(ulc_classes) < 0 ? -1 : 0;
}
