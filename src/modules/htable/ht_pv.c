/* ht_pv.c - the htable pseudo-variables, as in Kamailio:
 *
 *   $sht(t=>key)      read / write (null deletes) an item; a missing item
 *                     reads as the table's initval when it has one
 *   $shtex(t=>key)    seconds until the item expires; writing sets them
 *   $shtinc(t=>key)   increment and read the new value ($shtdec: decrement)
 *   $shtcn(t=>expr)   number of items whose name matches expr
 *   $shtcv(t=>expr)   number of items whose string value matches expr
 *   $shtitkey(it)     key of the current item of iterator it
 *   $shtitval(it)     value of the current item of iterator it
 *
 * The key part may hold variables ("$sht(ipban=>$si)"): it is parsed once
 * as a format and printed per access. The table part must be a literal
 * name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/osp.h"
#include "ht_int.h"
#include "modules/pv/pv.h"

#define HT_KEY_MAX 1024

enum { PV_SHT, PV_SHTEX, PV_SHTINC, PV_SHTDEC, PV_SHTCN, PV_SHTCV };

typedef struct ht_pvname {
	char *tname;
	size_t tlen;
	ht_table_t *t; /* resolved at parse time when already defined */
	pv_fmt_t *fmt; /* key with variables; NULL when static */
	char *skey;    /* static key */
	size_t sklen;
} ht_pvname_t;

static void pvname_free(void *data)
{
	ht_pvname_t *n = data;

	if (!n)
		return;
	pv_fmt_free(n->fmt);
	free(n->skey);
	free(n->tname);
	free(n);
}

/* "table=>key": the key may be empty only for $shtcn/$shtcv ("**"). */
static int pvname_parse(pv_spec_t *sp, str_t name, char *err, size_t errlen)
{
	const char *arrow = memmem(name.s, name.len, "=>", 2);
	ht_pvname_t *n;
	str_t tn, key;

	if (!arrow) {
		snprintf(err, errlen, "$%s needs 'table=>key': '%s'",
			 sp->cls->name, sp->text);
		return -1;
	}
	tn = str_trim((str_t){name.s, (size_t)(arrow - name.s)});
	key = (str_t){arrow + 2, name.len - (size_t)(arrow + 2 - name.s)};
	if (!tn.len) {
		snprintf(err, errlen, "$%s: empty table name in '%s'",
			 sp->cls->name, sp->text);
		return -1;
	}
	n = calloc(1, sizeof(*n));
	if (!n || !(n->tname = strndup(tn.s, tn.len))) {
		free(n);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n->tlen = tn.len;
	n->t = ht_find(tn);
	if (memchr(key.s, '$', key.len)) {
		n->fmt = pv_fmt_parse(key, err, errlen);
		if (!n->fmt)
			goto error;
		if (pv_fmt_is_static(n->fmt)) {
			/* "$$" only: print it once */
			char buf[HT_KEY_MAX];
			str_t k;

			if (pv_fmt_eval(NULL, n->fmt, buf, sizeof(buf), &k) <
			    0) {
				snprintf(err, errlen, "key too long in '%s'",
					 sp->text);
				goto error;
			}
			pv_fmt_free(n->fmt);
			n->fmt = NULL;
			key = k;
			n->skey = strndup(k.s, k.len);
			if (!n->skey)
				goto nomem;
		}
	}
	if (!n->fmt && !n->skey) {
		n->skey = malloc(key.len + 1);
		if (!n->skey)
			goto nomem;
		memcpy(n->skey, key.s, key.len);
		n->skey[key.len] = '\0';
	}
	if (!n->fmt)
		n->sklen = strlen(n->skey);
	sp->data = n;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
error:
	pvname_free(n);
	return -1;
}

/* Resolve the table and print the key into buf. 0, or -1 (logged). */
static int pvname_eval(ksr_ctx_t *ctx, const pv_spec_t *sp, ht_table_t **t,
		       char *buf, size_t cap, str_t *key)
{
	const ht_pvname_t *n = sp->data;

	*t = n->t ? n->t : ht_find((str_t){n->tname, n->tlen});
	if (!*t) {
		LOG_RATE(L_ERR, "%s: no htable '%s'", sp->text, n->tname);
		return -1;
	}
	if (!n->fmt) {
		*key = (str_t){n->skey, n->sklen};
		return 0;
	}
	if (pv_fmt_eval(ctx, n->fmt, buf, cap, key) < 0) {
		LOG_RATE(L_ERR, "%s: key too long or invalid", sp->text);
		return -1;
	}
	return 0;
}

/* Read key into *out, copying a string into a scratch buffer that stays
 * valid as pv.h promises for computed values. */
int ht_pv_read(ksr_ctx_t *ctx, ht_table_t *t, str_t key, ksr_xval_t *out)
{
	char *buf = pv_scratch(ctx, PV_RING_SIZE - 1);
	size_t cap = PV_RING_SIZE;
	int rc;

	for (int tries = 0; tries < 4; tries++) {
		if (!buf)
			return -OSP_ENOMEM;
		rc = ht_get(t, key, out, buf, cap);
		if (rc != -OSP_ETOOBIG)
			break;
		/* the value grew or is large: ask for exactly enough */
		cap = out->s.len + 1;
		buf = pv_scratch(ctx, out->s.len);
	}
	if (rc == -OSP_ETOOBIG)
		return rc;
	if (rc == 0) {
		long iv;

		if (ht_initval(t, &iv)) {
			ksr_xval_int(out, iv);
			return 0;
		}
		ksr_xval_null(out);
	}
	return rc;
}

static int get_sht(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	char kb[HT_KEY_MAX];
	ht_table_t *t;
	str_t key;
	long v;
	int rc;

	ksr_xval_null(out);
	if (pvname_eval(ctx, sp, &t, kb, sizeof(kb), &key) < 0)
		return 0;
	switch (sp->iparam) {
	case PV_SHT:
		rc = ht_pv_read(ctx, t, key, out);
		if (rc < 0)
			ksr_xval_null(out);
		return rc < 0 ? rc : 0;
	case PV_SHTEX:
		ht_get_expire(t, key, &v);
		ksr_xval_int(out, v);
		return 0;
	case PV_SHTINC:
	case PV_SHTDEC:
		if (ht_add(t, key, sp->iparam == PV_SHTINC ? 1 : -1, &v) == 0)
			ksr_xval_int(out, v);
		return 0;
	case PV_SHTCN:
	case PV_SHTCV:
		ksr_xval_int(out, ht_count_expr(t,
						sp->iparam == PV_SHTCN
						    ? HT_MATCH_NAME
						    : HT_MATCH_VALUE,
						key));
		return 0;
	}
	return 0;
}

static int set_sht(ksr_ctx_t *ctx, const pv_spec_t *sp, const ksr_xval_t *val)
{
	char kb[HT_KEY_MAX];
	ht_table_t *t;
	str_t key;

	if (pvname_eval(ctx, sp, &t, kb, sizeof(kb), &key) < 0)
		return -OSP_EINVAL;
	if (sp->iparam == PV_SHTEX) {
		/* Kamailio ignores a missing item here */
		ht_set_expire(t, key,
			      val->type == KSR_NULL ? 0 : pv_value_int(val));
		return 0;
	}
	return ht_set(t, key, val, 0);
}

static int iter_parse_name(pv_spec_t *sp, str_t name, char *err, size_t errlen)
{
	if (name.len >= HT_ITER_NAME) {
		snprintf(err, errlen, "iterator name too long in '%s'",
			 sp->text);
		return -1;
	}
	return 0;
}

static int get_iter(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	ksr_xval_t v;
	str_t key;
	char *p;

	ksr_xval_null(out);
	if (!ht_iter_current(sp->name, &key, &v))
		return 0;
	if (sp->iparam == 0)
		v = (ksr_xval_t){KSR_STR, 0, key};
	if (v.type != KSR_STR) {
		*out = v;
		return 0;
	}
	/* copy: the iterator's copy changes with its next step */
	p = pv_scratch(ctx, v.s.len);
	if (!p)
		return -OSP_ENOMEM;
	memcpy(p, v.s.s, v.s.len);
	p[v.s.len] = '\0';
	ksr_xval_str(out, (str_t){p, v.s.len});
	return 0;
}

static const pv_class_t ht_classes[] = {
    {"sht", get_sht, set_sht, PV_CF_NAME, PV_SHT, pvname_parse, pvname_free},
    {"shtex", get_sht, set_sht, PV_CF_NAME, PV_SHTEX, pvname_parse,
     pvname_free},
    {"shtinc", get_sht, NULL, PV_CF_NAME, PV_SHTINC, pvname_parse, pvname_free},
    {"shtdec", get_sht, NULL, PV_CF_NAME, PV_SHTDEC, pvname_parse, pvname_free},
    {"shtcn", get_sht, NULL, PV_CF_NAME, PV_SHTCN, pvname_parse, pvname_free},
    {"shtcv", get_sht, NULL, PV_CF_NAME, PV_SHTCV, pvname_parse, pvname_free},
    {"shtitkey", get_iter, NULL, PV_CF_NAME, 0, iter_parse_name, NULL},
    {"shtitval", get_iter, NULL, PV_CF_NAME, 1, iter_parse_name, NULL},
    {NULL, NULL, NULL, 0, 0, NULL, NULL},
};

int ht_pv_register(void)
{
	return pv_register_classes(ht_classes);
}
