/* bencode.c - bencode trees: building, encoding, strict decoding. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/osp.h"
#include "modules/rtpengine/bencode.h"

static benc_t *new_node(arena_t *a, benc_type_t t)
{
	benc_t *v = arena_zalloc(a, sizeof(*v));

	if (v)
		v->type = t;
	return v;
}

benc_t *benc_new_str(arena_t *a, str_t s)
{
	benc_t *v = new_node(a, BENC_STR);

	if (v)
		v->s = s.s ? s : STR_LIT("");
	return v;
}

benc_t *benc_new_cstr(arena_t *a, const char *s)
{
	return benc_new_str(a, str_from(s));
}

benc_t *benc_new_int(arena_t *a, long long i)
{
	benc_t *v = new_node(a, BENC_INT);

	if (v)
		v->i = i;
	return v;
}

benc_t *benc_new_list(arena_t *a)
{
	return new_node(a, BENC_LIST);
}

benc_t *benc_new_dict(arena_t *a)
{
	return new_node(a, BENC_DICT);
}

static void append(benc_t *c, benc_t *v)
{
	if (c->last)
		c->last->next = v;
	else
		c->child = v;
	c->last = v;
	c->n++;
}

int benc_list_add(benc_t *list, benc_t *v)
{
	if (!v)
		return -OSP_ENOMEM;
	if (!list || list->type != BENC_LIST || v == list)
		return -OSP_EINVAL;
	append(list, v);
	return 0;
}

int benc_dict_add(benc_t *dict, str_t key, benc_t *v)
{
	if (!v)
		return -OSP_ENOMEM;
	if (!dict || dict->type != BENC_DICT || v == dict)
		return -OSP_EINVAL;
	v->key = key.s ? key : STR_LIT("");
	append(dict, v);
	return 0;
}

int benc_dict_add_str(arena_t *a, benc_t *dict, const char *key, str_t val)
{
	return benc_dict_add(dict, str_from(key), benc_new_str(a, val));
}

int benc_dict_add_cstr(arena_t *a, benc_t *dict, const char *key,
		       const char *val)
{
	return benc_dict_add_str(a, dict, key, str_from(val));
}

int benc_dict_add_int(arena_t *a, benc_t *dict, const char *key, long long val)
{
	return benc_dict_add(dict, str_from(key), benc_new_int(a, val));
}

/* ---- encoding ---- */

static size_t digits(unsigned long long u)
{
	size_t n = 1;

	while (u >= 10) {
		u /= 10;
		n++;
	}
	return n;
}

static size_t str_enc_len(str_t s)
{
	return digits(s.len) + 1 + s.len;
}

static size_t int_enc_len(long long i)
{
	unsigned long long u =
	    i < 0 ? 0ull - (unsigned long long)i : (unsigned long long)i;

	return 2 + (i < 0) + digits(u);
}

size_t benc_encoded_len(const benc_t *v)
{
	size_t n = 0;

	switch (v->type) {
	case BENC_STR: return str_enc_len(v->s);
	case BENC_INT: return int_enc_len(v->i);
	case BENC_LIST:
	case BENC_DICT:
		n = 2;
		for (const benc_t *c = v->child; c; c = c->next) {
			if (v->type == BENC_DICT)
				n += str_enc_len(c->key);
			n += benc_encoded_len(c);
		}
		return n;
	}
	return 0;
}

static char *put_str(char *p, str_t s)
{
	p += sprintf(p, "%zu:", s.len);
	if (s.len)
		memcpy(p, s.s, s.len);
	return p + s.len;
}

static char *put(char *p, const benc_t *v)
{
	switch (v->type) {
	case BENC_STR: return put_str(p, v->s);
	case BENC_INT: return p + sprintf(p, "i%llde", v->i);
	case BENC_LIST:
	case BENC_DICT:
		*p++ = v->type == BENC_LIST ? 'l' : 'd';
		for (const benc_t *c = v->child; c; c = c->next) {
			if (v->type == BENC_DICT)
				p = put_str(p, c->key);
			p = put(p, c);
		}
		*p++ = 'e';
		return p;
	}
	return p;
}

int benc_encode(arena_t *a, const benc_t *v, str_t *out)
{
	size_t n = benc_encoded_len(v);
	/* sprintf writes a NUL after the last number: one byte of slack */
	char *buf = arena_alloc(a, n + 1);

	if (!buf)
		return -OSP_ENOMEM;
	put(buf, v);
	out->s = buf;
	out->len = n;
	return 0;
}

/* ---- decoding ---- */

typedef struct dec {
	arena_t *a;
	const char *p, *end;
} dec_t;

static int dec_value(dec_t *d, int depth, benc_t **out);

/* A decimal length: no sign, no leading zero unless it is "0". */
static int dec_len(dec_t *d, size_t *out)
{
	size_t n = 0;
	const char *start = d->p;

	while (d->p < d->end && *d->p >= '0' && *d->p <= '9') {
		if (n > ((size_t)-1 - 9) / 10)
			return -OSP_EPARSE;
		n = n * 10 + (size_t)(*d->p - '0');
		d->p++;
	}
	if (d->p == start || (d->p - start > 1 && *start == '0'))
		return -OSP_EPARSE;
	*out = n;
	return 0;
}

static int dec_str(dec_t *d, str_t *out)
{
	size_t n;

	if (dec_len(d, &n) < 0 || d->p >= d->end || *d->p != ':')
		return -OSP_EPARSE;
	d->p++;
	if ((size_t)(d->end - d->p) < n)
		return -OSP_EPARSE;
	out->s = d->p;
	out->len = n;
	d->p += n;
	return 0;
}

/* "i<digits>e": an optional '-', no leading zeros, no "-0", within long
 * long. d->p is on the 'i'. */
static int dec_int(dec_t *d, long long *out)
{
	unsigned long long u = 0, lim;
	const char *start;
	int neg = 0;

	d->p++;
	if (d->p < d->end && *d->p == '-') {
		neg = 1;
		d->p++;
	}
	lim = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
	start = d->p;
	while (d->p < d->end && *d->p >= '0' && *d->p <= '9') {
		unsigned dg = (unsigned)(*d->p - '0');

		if (u > (lim - dg) / 10)
			return -OSP_EPARSE;
		u = u * 10 + dg;
		d->p++;
	}
	if (d->p == start || d->p >= d->end || *d->p != 'e')
		return -OSP_EPARSE;
	if ((d->p - start > 1 && *start == '0') || (neg && u == 0))
		return -OSP_EPARSE;
	d->p++;
	if (neg)
		*out = u == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN
							      : -(long long)u;
	else
		*out = (long long)u;
	return 0;
}

static int dec_container(dec_t *d, int depth, benc_t *c)
{
	int rc;

	d->p++;
	for (;;) {
		benc_t *v;
		str_t key = STR_NULL;

		if (d->p >= d->end)
			return -OSP_EPARSE;
		if (*d->p == 'e') {
			d->p++;
			return 0;
		}
		if (c->type == BENC_DICT && (rc = dec_str(d, &key)) < 0)
			return rc;
		if ((rc = dec_value(d, depth + 1, &v)) < 0)
			return rc;
		v->key = key;
		append(c, v);
	}
}

static int dec_value(dec_t *d, int depth, benc_t **out)
{
	benc_t *v;
	int rc;

	if (depth > BENC_MAX_DEPTH || d->p >= d->end)
		return -OSP_EPARSE;
	switch (*d->p) {
	case 'i':
		v = new_node(d->a, BENC_INT);
		if (!v)
			return -OSP_ENOMEM;
		rc = dec_int(d, &v->i);
		break;
	case 'l':
	case 'd':
		v = new_node(d->a, *d->p == 'l' ? BENC_LIST : BENC_DICT);
		if (!v)
			return -OSP_ENOMEM;
		rc = dec_container(d, depth, v);
		break;
	default:
		v = new_node(d->a, BENC_STR);
		if (!v)
			return -OSP_ENOMEM;
		rc = dec_str(d, &v->s);
		break;
	}
	if (rc < 0)
		return rc;
	*out = v;
	return 0;
}

int benc_decode(arena_t *a, str_t in, benc_t **out)
{
	dec_t d = {a, in.s, in.s + in.len};
	benc_t *v = NULL;
	int rc;

	if (!in.s)
		return -OSP_EPARSE;
	rc = dec_value(&d, 0, &v);
	if (rc < 0)
		return rc;
	if (d.p != d.end)
		return -OSP_EPARSE;
	*out = v;
	return 0;
}

/* ---- lookups ---- */

const benc_t *benc_dict_get(const benc_t *d, const char *key)
{
	str_t k = str_from(key);

	if (!d || d->type != BENC_DICT)
		return NULL;
	for (const benc_t *c = d->child; c; c = c->next)
		if (str_eq(c->key, k))
			return c;
	return NULL;
}

int benc_dict_get_str(const benc_t *d, const char *key, str_t *out)
{
	const benc_t *v = benc_dict_get(d, key);

	if (!v || v->type != BENC_STR)
		return -1;
	*out = v->s;
	return 0;
}

long long benc_dict_get_int(const benc_t *d, const char *key, long long dflt)
{
	const benc_t *v = benc_dict_get(d, key);

	return v && v->type == BENC_INT ? v->i : dflt;
}

int benc_dict_str_is(const benc_t *d, const char *key, const char *val)
{
	str_t s;

	return benc_dict_get_str(d, key, &s) == 0 && str_eq_cstr(s, val);
}
