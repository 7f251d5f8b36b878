/* pv_vars.c - script variables: $var (per worker thread), $avp (per
 * message) and $shv (process-wide).
 *
 * $var(x): like Kamailio's, a $var keeps its value from one message to the
 * next on the same worker (Kamailio: same process), reads as integer 0
 * until set, and setting it to null makes it 0 again: it is never null.
 * Names get a slot number when first parsed (a process-wide registry), and
 * each thread keeps an array of values indexed by slot, so reading a $var
 * is an array access.
 *
 * $avp(x): a stack of values attached to the message (msg->avps), in the
 * message arena. Setting pushes a new value on top; reading gives the top
 * one; setting null removes the top one ($(avp(x)[*]) = null: all).
 *
 * $shv(x): one value shared by all threads, copied in and out under a
 * per-variable mutex. Reads as integer 0 until set. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/log.h"
#include "modules/pv/pv_int.h"

/* ------------------------------------------------------------------ */
/* $var                                                                */

#define VAR_BUCKETS 1024

typedef struct var_name {
	char *name;
	size_t len;
	long next;	/* hash chain, -1 ends */
	int def_is_str; /* default value (modparam varset) */
	long def_n;
	char *def_s;
	size_t def_len;
} var_name_t;

static pthread_mutex_t var_lock = PTHREAD_MUTEX_INITIALIZER;
static var_name_t *var_names;
static long n_var_names, cap_var_names;
static long var_heads[VAR_BUCKETS];
static int var_heads_init;

static uint32_t name_hash(str_t s)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < s.len; i++) {
		h ^= (uint8_t)s.s[i];
		h *= 16777619u;
	}
	return h;
}

/* Find or add; caller holds var_lock. */
static long var_slot_locked(str_t name, char *err, size_t errlen)
{
	uint32_t b = name_hash(name) % VAR_BUCKETS;
	var_name_t *vn;

	if (!var_heads_init) {
		for (int i = 0; i < VAR_BUCKETS; i++)
			var_heads[i] = -1;
		var_heads_init = 1;
	}
	for (long i = var_heads[b]; i >= 0; i = var_names[i].next)
		if (var_names[i].len == name.len &&
		    memcmp(var_names[i].name, name.s, name.len) == 0)
			return i;
	if (n_var_names == PV_VAR_MAX) {
		snprintf(err, errlen, "too many $var names (at most %d)",
			 PV_VAR_MAX);
		return -1;
	}
	if (n_var_names == cap_var_names) {
		long nc = cap_var_names ? cap_var_names * 2 : 64;
		var_name_t *nv = realloc(var_names, (size_t)nc * sizeof(*nv));

		if (!nv)
			goto nomem;
		var_names = nv;
		cap_var_names = nc;
	}
	vn = &var_names[n_var_names];
	memset(vn, 0, sizeof(*vn));
	vn->name = malloc(name.len + 1);
	if (!vn->name)
		goto nomem;
	memcpy(vn->name, name.s, name.len);
	vn->name[name.len] = '\0';
	vn->len = name.len;
	vn->next = var_heads[b];
	var_heads[b] = n_var_names;
	return n_var_names++;

nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

long pv_var_slot(str_t name, char *err, size_t errlen)
{
	long slot;

	pthread_mutex_lock(&var_lock);
	slot = var_slot_locked(name, err, errlen);
	pthread_mutex_unlock(&var_lock);
	return slot;
}

int pv_var_set_default(str_t name, const ksr_xval_t *val)
{
	char err[64];
	long slot;
	int rc = 0;

	pthread_mutex_lock(&var_lock);
	slot = var_slot_locked(name, err, sizeof(err));
	if (slot < 0) {
		rc = -OSP_ENOMEM;
	} else {
		var_name_t *vn = &var_names[slot];

		free(vn->def_s);
		vn->def_s = NULL;
		vn->def_len = 0;
		vn->def_is_str = val->type == KSR_STR;
		vn->def_n = val->type == KSR_INT ? val->n : 0;
		if (vn->def_is_str) {
			vn->def_s = malloc(val->s.len + 1);
			if (!vn->def_s) {
				vn->def_is_str = 0;
				rc = -OSP_ENOMEM;
			} else {
				memcpy(vn->def_s, val->s.s, val->s.len);
				vn->def_s[val->s.len] = '\0';
				vn->def_len = val->s.len;
			}
		}
	}
	pthread_mutex_unlock(&var_lock);
	return rc;
}

static int var_store(pv_varval_t *v, const ksr_xval_t *val)
{
	if (val->type != KSR_STR) {
		v->is_str = 0;
		v->n = val->type == KSR_INT ? val->n : 0;
		v->len = 0;
		return 0;
	}
	if (v->cap < val->s.len + 1) {
		size_t nc = val->s.len + 1 < 32 ? 32 : val->s.len + 1;
		char *ns = malloc(nc);

		if (!ns)
			return -OSP_ENOMEM;
		free(v->s);
		v->s = ns;
		v->cap = nc;
	}
	if (val->s.len)
		memcpy(v->s, val->s.s, val->s.len);
	v->s[val->s.len] = '\0';
	v->len = val->s.len;
	v->is_str = 1;
	v->n = 0;
	return 0;
}

/* This thread's value of slot, initialised from the default on first use. */
static pv_varval_t *var_get(long slot)
{
	pv_tls_t *t = pv_tls();
	pv_varval_t *v;

	if (!t || slot < 0)
		return NULL;
	if ((size_t)slot >= t->nvars) {
		size_t nn = (size_t)slot + 1 < 16 ? 16 : ((size_t)slot + 1) * 2;
		pv_varval_t *nv = realloc(t->vars, nn * sizeof(*nv));

		if (!nv)
			return NULL;
		memset(nv + t->nvars, 0, (nn - t->nvars) * sizeof(*nv));
		t->vars = nv;
		t->nvars = nn;
	}
	v = &t->vars[slot];
	if (!v->init) {
		ksr_xval_t d = {KSR_INT, 0, STR_NULL};
		int rc;

		pthread_mutex_lock(&var_lock);
		if (slot < n_var_names) {
			var_name_t *vn = &var_names[slot];

			if (vn->def_is_str) {
				d.type = KSR_STR;
				d.s = (str_t){vn->def_s, vn->def_len};
			} else {
				d.n = vn->def_n;
			}
		}
		rc = var_store(v, &d);
		pthread_mutex_unlock(&var_lock);
		if (rc < 0)
			return NULL;
		v->init = 1;
	}
	return v;
}

void pv_vars_tls_free(pv_tls_t *t)
{
	for (size_t i = 0; i < t->nvars; i++)
		free(t->vars[i].s);
	free(t->vars);
	t->vars = NULL;
	t->nvars = 0;
}

static int var_parse_name(pv_spec_t *sp, str_t name, char *err, size_t errlen)
{
	sp->iparam = pv_var_slot(name, err, errlen);
	return sp->iparam < 0 ? -1 : 0;
}

static int get_var(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	pv_varval_t *v = var_get(sp->iparam);

	if (!v)
		return -OSP_ENOMEM;
	if (v->is_str)
		return pv_ret_str(out, (str_t){v->s, v->len});
	return pv_ret_int(out, v->n);
}

static int set_var(ksr_ctx_t *ctx, const pv_spec_t *sp, const ksr_xval_t *val)
{
	pv_varval_t *v = var_get(sp->iparam);

	if (!v)
		return -OSP_ENOMEM;
	return var_store(v, val);
}

/* ------------------------------------------------------------------ */
/* $avp                                                                */

typedef struct pv_avp {
	str_t name;
	ksr_type_t type; /* KSR_INT or KSR_STR */
	long n;
	str_t s;
	struct pv_avp *next; /* older values */
} pv_avp_t;

static int avp_match(const pv_avp_t *a, str_t name)
{
	return str_caseeq(a->name, name);
}

int pv_avp_add(sip_msg_t *msg, str_t name, const ksr_xval_t *val)
{
	pv_avp_t *a;
	char *nm, *sv = NULL;

	if (!msg || !msg->arena || !name.len || !val || val->type == KSR_NULL)
		return -OSP_EINVAL;
	a = arena_alloc(msg->arena, sizeof(*a));
	nm = arena_strndup(msg->arena, name.s, name.len);
	if (val->type == KSR_STR)
		sv = arena_strndup(msg->arena, val->s.s, val->s.len);
	if (!a || !nm || (val->type == KSR_STR && !sv))
		return -OSP_ENOMEM;
	a->name = (str_t){nm, name.len};
	a->type = val->type == KSR_STR ? KSR_STR : KSR_INT;
	a->n = val->type == KSR_INT ? val->n : 0;
	a->s = sv ? (str_t){sv, val->s.len} : STR_NULL;
	a->next = msg->avps;
	msg->avps = a;
	return 0;
}

int pv_avp_count(sip_msg_t *msg, str_t name)
{
	int n = 0;

	if (!msg)
		return 0;
	for (pv_avp_t *a = msg->avps; a; a = a->next)
		n += avp_match(a, name);
	return n;
}

int pv_avp_foreach(sip_msg_t *msg,
		   int (*cb)(str_t name, const ksr_xval_t *val, void *arg),
		   void *arg)
{
	ksr_xval_t v;
	int rc;

	if (!msg)
		return 0;
	for (pv_avp_t *a = msg->avps; a; a = a->next) {
		memset(&v, 0, sizeof(v));
		v.type = a->type;
		v.n = a->n;
		v.s = a->s;
		rc = cb(a->name, &v, arg);
		if (rc)
			return rc;
	}
	return 0;
}

static int avp_value(const pv_avp_t *a, ksr_xval_t *out)
{
	if (a->type == KSR_STR)
		return pv_ret_str(out, a->s);
	return pv_ret_int(out, a->n);
}

int pv_avp_get(sip_msg_t *msg, str_t name, long idx, ksr_xval_t *out)
{
	long k = 0;

	pv_ret_null(out);
	if (!msg)
		return -OSP_ENOTFOUND;
	if (idx < 0) {
		idx += pv_avp_count(msg, name);
		if (idx < 0)
			return -OSP_ENOTFOUND;
	}
	for (pv_avp_t *a = msg->avps; a; a = a->next)
		if (avp_match(a, name) && k++ == idx)
			return avp_value(a, out);
	return -OSP_ENOTFOUND;
}

int pv_avp_del(sip_msg_t *msg, str_t name, int all)
{
	pv_avp_t *head, **pp;
	int n = 0;

	if (!msg)
		return 0;
	head = msg->avps;
	pp = &head;
	while (*pp) {
		if (avp_match(*pp, name)) {
			*pp = (*pp)->next; /* arena memory: nothing to free */
			n++;
			if (!all)
				break;
		} else {
			pp = &(*pp)->next;
		}
	}
	msg->avps = head;
	return n;
}

/* Kamailio's "s:name" / "i:id" prefixes are accepted and dropped: every
 * AVP here is named by text. */
static int avp_parse_name(pv_spec_t *sp, str_t name, char *err, size_t errlen)
{
	if (name.len > 2 && name.s[1] == ':' &&
	    (name.s[0] == 's' || name.s[0] == 'i' || name.s[0] == 'S' ||
	     name.s[0] == 'I')) {
		name.s += 2;
		name.len -= 2;
	}
	sp->name = name;
	return 0;
}

/* $avp(x): newest value; $(avp(x)[n]) the n-th newest (negative: from the
 * oldest); $(avp(x)[*]) every value, newest first, joined with ", ". */
static int get_avp(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	sip_msg_t *msg = ctx->msg;
	str_t name, vs;
	int itype, first = 1;
	long idx;
	size_t total = 0, pos = 0;
	char *b, num[24];
	int n;

	if (!msg || pv_spec_name(ctx, sp, &name) < 0 ||
	    pv_spec_index(ctx, sp, &itype, &idx) < 0)
		return pv_ret_null(out);
	if (itype != PV_IDX_ALL) {
		pv_avp_get(msg, name, idx, out);
		return 0;
	}
	n = pv_avp_count(msg, name);
	if (!n)
		return pv_ret_null(out);
	for (pv_avp_t *a = msg->avps; a; a = a->next)
		if (avp_match(a, name))
			total += a->type == KSR_STR ? a->s.len : sizeof(num);
	total += (size_t)(n - 1) * 2;
	if (!(b = pv_scratch(ctx, total)))
		return -OSP_ENOMEM;
	for (pv_avp_t *a = msg->avps; a; a = a->next) {
		if (!avp_match(a, name))
			continue;
		if (a->type == KSR_INT) {
			int l = snprintf(num, sizeof(num), "%ld", a->n);

			vs = (str_t){num, (size_t)l};
		} else {
			vs = a->s;
		}
		if (!first) {
			memcpy(b + pos, ", ", 2);
			pos += 2;
		}
		memcpy(b + pos, vs.s, vs.len);
		pos += vs.len;
		first = 0;
	}
	return pv_ret_str(out, (str_t){b, pos});
}

static int set_avp(ksr_ctx_t *ctx, const pv_spec_t *sp, const ksr_xval_t *val)
{
	sip_msg_t *msg = ctx->msg;
	str_t name;
	int itype;
	long idx;

	if (!msg) {
		LOG_RATE(L_ERR, "%s: no message to attach the AVP to",
			 sp->text);
		return -OSP_EINVAL;
	}
	if (pv_spec_name(ctx, sp, &name) < 0 || !name.len) {
		LOG_RATE(L_ERR, "%s: the AVP name is null", sp->text);
		return -OSP_EINVAL;
	}
	if (pv_spec_index(ctx, sp, &itype, &idx) < 0)
		return -OSP_EINVAL;
	if (val->type == KSR_NULL) {
		pv_avp_del(msg, name, itype == PV_IDX_ALL);
		return 0;
	}
	if (itype == PV_IDX_ALL)
		pv_avp_del(msg, name, 1);
	return pv_avp_add(msg, name, val);
}

/* ------------------------------------------------------------------ */
/* $shv                                                                */

struct pv_shv {
	char *name;
	size_t len;
	pthread_mutex_t lock;
	int is_str;
	long n;
	char *s;
	size_t slen;
	struct pv_shv *next;
};

static pthread_mutex_t shv_list_lock = PTHREAD_MUTEX_INITIALIZER;
static pv_shv_t *shv_list;
static int n_shv;

pv_shv_t *pv_shv_lookup(str_t name, int create, char *err, size_t errlen)
{
	pv_shv_t *v;

	pthread_mutex_lock(&shv_list_lock);
	for (v = shv_list; v; v = v->next)
		if (v->len == name.len &&
		    memcmp(v->name, name.s, name.len) == 0)
			goto out;
	if (!create)
		goto out;
	if (n_shv == PV_SHV_MAX) {
		snprintf(err, errlen, "too many $shv names (at most %d)",
			 PV_SHV_MAX);
		goto out;
	}
	v = calloc(1, sizeof(*v));
	if (v)
		v->name = malloc(name.len + 1);
	if (!v || !v->name) {
		free(v);
		v = NULL;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	memcpy(v->name, name.s, name.len);
	v->name[name.len] = '\0';
	v->len = name.len;
	pthread_mutex_init(&v->lock, NULL);
	v->next = shv_list;
	shv_list = v;
	n_shv++;
out:
	pthread_mutex_unlock(&shv_list_lock);
	return v;
}

/* Store a copy of val (null: integer 0). Takes v->lock. */
static int shv_store(pv_shv_t *v, const ksr_xval_t *val)
{
	char *ns = NULL;

	if (val->type == KSR_STR) {
		ns = malloc(val->s.len + 1);
		if (!ns)
			return -OSP_ENOMEM;
		if (val->s.len)
			memcpy(ns, val->s.s, val->s.len);
		ns[val->s.len] = '\0';
	}
	pthread_mutex_lock(&v->lock);
	free(v->s);
	v->s = ns;
	v->slen = ns ? val->s.len : 0;
	v->is_str = ns != NULL;
	v->n = val->type == KSR_INT ? val->n : 0;
	pthread_mutex_unlock(&v->lock);
	return 0;
}

/* Copy the value out: a string goes into buf (or a scratch buffer when buf
 * is NULL; truncated to what fits). */
static int shv_load(ksr_ctx_t *ctx, pv_shv_t *v, ksr_xval_t *out, char *buf,
		    size_t cap)
{
	int rc = 0;

	pthread_mutex_lock(&v->lock);
	if (!v->is_str) {
		pv_ret_int(out, v->n);
	} else {
		size_t n = v->slen;

		if (!buf) {
			buf = pv_scratch(ctx, n);
			cap = n + 1;
		}
		if (!buf || !cap) {
			rc = -OSP_ENOMEM;
		} else {
			if (n > cap - 1)
				n = cap - 1;
			memcpy(buf, v->s, n);
			buf[n] = '\0';
			pv_ret_str(out, (str_t){buf, n});
		}
	}
	pthread_mutex_unlock(&v->lock);
	return rc;
}

int pv_shv_set(str_t name, const ksr_xval_t *val)
{
	char err[64];
	pv_shv_t *v = pv_shv_lookup(name, 1, err, sizeof(err));
	ksr_xval_t null = {KSR_NULL, 0, STR_NULL};

	if (!v)
		return -OSP_ENOMEM;
	return shv_store(v, val ? val : &null);
}

int pv_shv_get(str_t name, ksr_xval_t *out, char *buf, size_t cap)
{
	pv_shv_t *v = pv_shv_lookup(name, 0, NULL, 0);

	pv_ret_null(out);
	if (!v)
		return -OSP_ENOTFOUND;
	return shv_load(NULL, v, out, buf, cap);
}

int pv_shv_foreach(int (*cb)(str_t name, const ksr_xval_t *v, void *arg),
		   void *arg)
{
	pv_shv_t *v, *head;
	ksr_xval_t val;
	char *b;
	int rc = 0;

	/* the list only grows at its head and entries are never freed before
	 * shutdown, so walking from a snapshot of the head is safe */
	pthread_mutex_lock(&shv_list_lock);
	head = shv_list;
	pthread_mutex_unlock(&shv_list_lock);
	for (v = head; v && rc == 0; v = v->next) {
		int is_str;

		pthread_mutex_lock(&v->lock);
		is_str = v->is_str;
		if (is_str) {
			b = malloc(v->slen + 1);
			if (b) {
				memcpy(b, v->s, v->slen + 1);
				val = (ksr_xval_t){KSR_STR, 0, {b, v->slen}};
			}
		} else {
			b = NULL;
			val = (ksr_xval_t){KSR_INT, v->n, STR_NULL};
		}
		pthread_mutex_unlock(&v->lock);
		if (is_str && !b)
			return -OSP_ENOMEM;
		rc = cb((str_t){v->name, v->len}, &val, arg);
		free(b);
	}
	return rc;
}

static int shv_parse_name(pv_spec_t *sp, str_t name, char *err, size_t errlen)
{
	sp->data = pv_shv_lookup(name, 1, err, errlen);
	return sp->data ? 0 : -1;
}

static int get_shv(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	return shv_load(ctx, sp->data, out, NULL, 0);
}

static int set_shv(ksr_ctx_t *ctx, const pv_spec_t *sp, const ksr_xval_t *val)
{
	return shv_store(sp->data, val);
}

void pv_destroy(void)
{
	pv_shv_t *v, *next;

	pthread_mutex_lock(&shv_list_lock);
	for (v = shv_list; v; v = next) {
		next = v->next;
		pthread_mutex_destroy(&v->lock);
		free(v->s);
		free(v->name);
		free(v);
	}
	shv_list = NULL;
	n_shv = 0;
	pthread_mutex_unlock(&shv_list_lock);

	pthread_mutex_lock(&var_lock);
	for (long i = 0; i < n_var_names; i++) {
		free(var_names[i].name);
		free(var_names[i].def_s);
	}
	free(var_names);
	var_names = NULL;
	n_var_names = cap_var_names = 0;
	var_heads_init = 0;
	pthread_mutex_unlock(&var_lock);
}

/* ------------------------------------------------------------------ */

const pv_class_t pv_var_classes[] = {
    {"var", get_var, set_var, PV_CF_NAME, 0, var_parse_name, NULL},
    {"avp", get_avp, set_avp, PV_CF_NAME | PV_CF_INDEX | PV_CF_DYNNAME, 0,
     avp_parse_name, NULL},
    {"shv", get_shv, set_shv, PV_CF_NAME, 0, shv_parse_name, NULL},
    {NULL, NULL, NULL, 0, 0, NULL, NULL},
};
