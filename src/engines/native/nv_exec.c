/* nv_exec.c - the interpreter of compiled route blocks (see nv.h).
 *
 * Values follow Kamailio's rvalue rules (src/core/rvalue.c):
 *  - "==" / "!=" compare as the left operand's type: an integer left side
 *    compares as integers (the right side converted), a string left side as
 *    strings; a null left side takes the right side's type (null compares
 *    as 0 or ""), so "$x == $null" is true when $x is null or empty;
 *  - "+" adds when the left operand is an integer, else joins strings;
 *  - the other arithmetic, bitwise and ordering operators work on integers;
 *  - a string converts to its number when it is one (decimal or 0x hex, or
 *    the number a variable carries with its text, as $rp), else to 0; null
 *    converts to 0 and to "";
 *  - in a condition, a function call or route() is true when it returned
 *    a positive code; any other value is true when it is a non-zero
 *    integer or a non-empty string; null is false;
 *  - a function returning 0 ends the script, as exit does.
 * "=~" matches with PCRE2, case-insensitively, anywhere in the string (as
 * Kamailio's POSIX extended, case-insensitive match). */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/arena.h"
#include "core/fwd.h"
#include "core/log.h"
#include "core/osp.h"
#include "engines/native/nv.h"

static _Thread_local long last_rc;
static _Thread_local arena_t *scratch; /* values when there is no message */
static _Thread_local int run_depth;    /* nested nv_run_route on a thread */
static _Thread_local char fmtbuf[8192];

long nv_last_rc(void)
{
	return last_rc;
}

/* $rc and $retcode: the code of the last function or route call. */
static int get_rc(ksr_ctx_t *ctx, const pv_spec_t *sp, ksr_xval_t *out)
{
	out->type = KSR_INT;
	out->n = last_rc;
	out->s = STR_NULL;
	return 0;
}

static const pv_class_t rc_classes[] = {
    {"rc", get_rc, NULL, 0, 0, NULL, NULL},
    {"retcode", get_rc, NULL, 0, 0, NULL, NULL},
    {NULL, NULL, NULL, 0, 0, NULL, NULL},
};

static void register_rc(void)
{
	pv_register_classes(rc_classes);
}

void nv_register_pvs(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, register_rc);
}

void nv_set_last_rc(long rc)
{
	last_rc = rc;
}

char *nv_alloc(nv_run_t *R, size_t n)
{
	if (R->ctx && R->ctx->msg && R->ctx->msg->arena)
		return arena_alloc(R->ctx->msg->arena, n + 1);
	if (!scratch) {
		scratch = malloc(sizeof(*scratch));
		if (!scratch)
			return NULL;
		arena_init(scratch);
	}
	return arena_alloc(scratch, n + 1);
}

void nv_scratch_reset(void)
{
	if (scratch)
		arena_reset(scratch);
}

void nv_scratch_release(void)
{
	if (scratch) {
		arena_destroy(scratch);
		free(scratch);
		scratch = NULL;
	}
}

#define RT_ERR(R, e, fmt, ...)                                                 \
	LOG_RATE(L_ERR, "%s:%d:%d: " fmt, (e)->pos.file, (e)->pos.line,        \
		 (e)->pos.col, __VA_ARGS__)

/* ---- conversions ---- */

long nv_to_int(const ksr_xval_t *v)
{
	char buf[40];
	char *end;
	long n;

	if (v->type == KSR_INT)
		return v->n;
	if (v->type != KSR_STR)
		return 0;
	if (v->n)
		return v->n; /* the number a variable carries ($rp, $rs) */
	if (!v->s.len || v->s.len >= sizeof(buf))
		return 0;
	memcpy(buf, v->s.s, v->s.len);
	buf[v->s.len] = '\0';
	if (v->s.len > 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X'))
		n = strtol(buf + 2, &end, 16);
	else
		n = strtol(buf, &end, 10);
	return *end ? 0 : n;
}

/* The text of v; integers are printed into nb (24 bytes). */
static str_t to_str(const ksr_xval_t *v, char *nb)
{
	if (v->type == KSR_STR)
		return v->s.s ? v->s : STR_LIT("");
	if (v->type == KSR_INT) {
		int k = snprintf(nb, 24, "%ld", v->n);

		return (str_t){nb, (size_t)k};
	}
	return STR_LIT("");
}

static int truthy(const ksr_xval_t *v)
{
	if (v->type == KSR_INT)
		return v->n != 0;
	if (v->type == KSR_STR)
		return v->s.len != 0;
	return 0;
}

static void set_int(ksr_xval_t *o, long n)
{
	o->type = KSR_INT;
	o->n = n;
	o->s = STR_NULL;
}

static void set_str(ksr_xval_t *o, str_t s)
{
	o->type = KSR_STR;
	o->n = 0;
	o->s = s;
}

/* A copy of s that lives as long as the message (or the run). */
static str_t keep(nv_run_t *R, str_t s)
{
	char *p = nv_alloc(R, s.len);

	if (!p)
		return STR_LIT("");
	if (s.len)
		memcpy(p, s.s, s.len);
	p[s.len] = '\0';
	return (str_t){p, s.len};
}

/* ---- calls ---- */

static int call_route(nv_run_t *R, const nv_route_t *rt, const nv_expr_t *at);

/* Call c; the return code (already mapped: bool true 1 / false -1, none 1)
 * is returned, and the value for an xval function is put in *val when
 * val is not NULL. */
static int do_call(nv_run_t *R, const nv_call_t *c, const nv_expr_t *at,
		   ksr_xval_t *val)
{
	ksr_arg_t a[KSR_PARAMS_MAX];
	ksr_xval_t ret, v;
	ksr_ctx_t none, *ctx = R->ctx;
	char nb[24];
	int rc;

	if (c->nargs)
		memcpy(a, c->pre, sizeof(a[0]) * (size_t)c->nargs);
	for (int i = 0; c->ndyn && i < c->nargs; i++) {
		const nv_arg_t *ar = &c->args[i];
		str_t s;

		if (ar->kind == NV_A_CONST)
			continue;
		if (ar->kind == NV_A_FMT) {
			pv_fmt_eval(ctx, ar->fmt, fmtbuf, sizeof(fmtbuf), &s);
			set_str(&v, s);
		} else {
			nv_eval(R, ar->expr, &v);
		}
		if (ar->type == KSR_INT) {
			a[i].n = nv_to_int(&v);
		} else {
			s = to_str(&v, nb);
			a[i].s = keep(R, s);
		}
	}
	if (!ctx) {
		memset(&none, 0, sizeof(none));
		none.worker = -1;
		ctx = &none;
	}
	if (c->needs_msg && !ctx->msg) {
		RT_ERR(R, at,
		       "%s() needs a SIP message (not available in this "
		       "route)",
		       c->name);
		rc = -1;
		goto out;
	}
	ret.type = KSR_NULL;
	ret.n = 0;
	ret.s = STR_NULL;
	rc = c->e ? c->e->fn(ctx, a, &ret) : c->native(R, a);
	switch (c->rtype) {
	case KSR_BOOL: rc = rc ? 1 : -1; break;
	case KSR_NONE: rc = 1; break;
	case KSR_XVAL:
		rc = 1;
		if (val) {
			*val = ret;
			if (ret.type == KSR_STR)
				val->s = keep(R, ret.s);
			val->n = ret.type == KSR_INT ? ret.n : 0;
			last_rc = rc;
			goto flags;
		}
		break;
	default:
		/* 0 ends the script, as in Kamailio */
		if (rc == 0)
			R->flags |= NV_F_EXIT;
		break;
	}
out:
	if (val)
		set_int(val, rc);
	last_rc = rc;
flags:
	if (ctx->flags & KSR_CTX_EXIT)
		R->flags |= NV_F_EXIT;
	return rc;
}

/* route($var(x)): the block is looked up by name at each call. */
static int dyn_route(nv_run_t *R, const nv_expr_t *e)
{
	ksr_xval_t v;
	char nb[24], name[128];
	str_t s;
	const nv_route_t *rt;

	nv_eval(R, e->l, &v);
	s = to_str(&v, nb);
	if (!s.len || s.len >= sizeof(name)) {
		RT_ERR(R, e, "route(): bad route name '%.*s'",
		       s.len > 60 ? 60 : (int)s.len, s.s);
		return -1;
	}
	memcpy(name, s.s, s.len);
	name[s.len] = '\0';
	rt = R->in ? nv_prog_find(R->in->prog, CFG_RT_ROUTE, name) : NULL;
	if (!rt) {
		RT_ERR(R, e, "route[%s] is not defined", name);
		return -1;
	}
	return call_route(R, rt, e);
}

/* ---- expressions ---- */

int nv_regex_match(nv_run_t *R, const void *re, str_t subject)
{
	pcre2_match_data *md = R->in ? R->in->match_data : NULL;
	int rc, own_md = 0;

	if (!md) {
		md = pcre2_match_data_create(1, NULL);
		if (!md)
			return 0;
		if (R->in)
			R->in->match_data = md;
		else
			own_md = 1;
	}
	rc = pcre2_match(re, (PCRE2_SPTR)(subject.s ? subject.s : ""),
			 subject.len, 0, 0, md, NULL);
	if (own_md)
		pcre2_match_data_free(md);
	return rc >= 0;
}

static int match(nv_run_t *R, const nv_expr_t *e)
{
	ksr_xval_t l, r;
	char nb1[24], nb2[24];
	str_t subj, pat;
	pcre2_code *re;
	int ec, m;
	PCRE2_SIZE off;

	nv_eval(R, e->l, &l);
	subj = to_str(&l, nb1);
	if (e->re)
		return nv_regex_match(R, e->re, subj);
	nv_eval(R, e->r, &r);
	pat = to_str(&r, nb2);
	re = pcre2_compile((PCRE2_SPTR)pat.s, pat.len, PCRE2_CASELESS, &ec,
			   &off, NULL);
	if (!re) {
		RT_ERR(R, e, "invalid regular expression \"%.*s\"",
		       pat.len > 60 ? 60 : (int)pat.len, pat.s);
		return 0;
	}
	m = nv_regex_match(R, re, subj);
	pcre2_code_free(re);
	return m;
}

static int eq(nv_run_t *R, const nv_expr_t *e)
{
	ksr_xval_t l, r;
	char nb[24];
	str_t rs;

	nv_eval(R, e->l, &l);
	nv_eval(R, e->r, &r);
	if (l.type == KSR_INT)
		return l.n == nv_to_int(&r);
	if (l.type == KSR_STR) {
		rs = to_str(&r, nb);
		return str_eq(l.s.s ? l.s : STR_LIT(""), rs);
	}
	/* null on the left: converted to the right operand's type */
	if (r.type == KSR_INT)
		return r.n == 0;
	if (r.type == KSR_STR)
		return r.s.len == 0;
	return 1;
}

static int myself(nv_run_t *R, const nv_expr_t *e)
{
	ksr_xval_t v;
	char nb[24];
	str_t s;

	nv_eval(R, e->l, &v);
	s = to_str(&v, nb);
	if (!s.len)
		return 0;
	if ((s.len > 4 && !strncasecmp(s.s, "sip:", 4)) ||
	    (s.len > 5 && !strncasecmp(s.s, "sips:", 5)) ||
	    (s.len > 4 && !strncasecmp(s.s, "tel:", 4))) {
		arena_t *a;
		sip_uri_t u;

		if (R->ctx && R->ctx->msg && R->ctx->msg->arena) {
			a = R->ctx->msg->arena;
		} else {
			if (!nv_alloc(R, 0))
				return 0;
			a = scratch;
		}
		if (sip_uri_parse(a, s, &u) < 0)
			return 0;
		return osp_is_myself(u.host, u.port_no, 0);
	}
	return osp_is_myself(s, 0, 0);
}

static int ipnet(nv_run_t *R, const nv_expr_t *e)
{
	ksr_xval_t v;
	char nb[24], ip[64];
	unsigned char addr[16];
	str_t s;
	int af, full, rem;

	nv_eval(R, e->l, &v);
	s = to_str(&v, nb);
	if (s.len >= 2 && s.s[0] == '[') {
		s.s++;
		s.len -= 2;
	}
	if (!s.len || s.len >= sizeof(ip))
		return 0;
	memcpy(ip, s.s, s.len);
	ip[s.len] = '\0';
	af = strchr(ip, ':') ? AF_INET6 : AF_INET;
	if (af != e->af || inet_pton(af, ip, addr) != 1)
		return 0;
	full = e->bits / 8;
	rem = e->bits % 8;
	if (memcmp(addr, e->addr, (size_t)full) != 0)
		return 0;
	if (rem) {
		unsigned char mask = (unsigned char)(0xff << (8 - rem));

		if ((addr[full] & mask) != (e->addr[full] & mask))
			return 0;
	}
	return 1;
}

static long int_op(nv_run_t *R, const nv_expr_t *e)
{
	ksr_xval_t l, r;
	long a, b;

	nv_eval(R, e->l, &l);
	nv_eval(R, e->r, &r);
	a = nv_to_int(&l);
	b = nv_to_int(&r);
	switch (e->op) {
	case NV_E_SUB: return a - b;
	case NV_E_MUL: return a * b;
	case NV_E_DIV:
	case NV_E_MOD:
		if (b == 0) {
			RT_ERR(R, e, "%s", "division by zero");
			return 0;
		}
		if (b == -1)
			return e->op == NV_E_DIV ? -a : 0;
		return e->op == NV_E_DIV ? a / b : a % b;
	case NV_E_BAND: return a & b;
	case NV_E_BOR: return a | b;
	case NV_E_BXOR: return a ^ b;
	case NV_E_SHL:
		return (b < 0 || b > 62) ? 0 : (long)((unsigned long)a << b);
	case NV_E_SHR: return (b < 0 || b > 62) ? 0 : a >> b;
	case NV_E_LT: return a < b;
	case NV_E_GT: return a > b;
	case NV_E_LE: return a <= b;
	case NV_E_GE: return a >= b;
	case NV_E_IEQ: return a == b;
	case NV_E_INE: return a != b;
	}
	return 0;
}

static void add(nv_run_t *R, const ksr_xval_t *l, const ksr_xval_t *r,
		ksr_xval_t *out)
{
	char nb1[24], nb2[24];
	str_t a, b;
	char *p;

	if (l->type == KSR_INT) {
		set_int(out, (long)((unsigned long)l->n +
				    (unsigned long)nv_to_int(r)));
		return;
	}
	a = to_str(l, nb1);
	b = to_str(r, nb2);
	p = nv_alloc(R, a.len + b.len);
	if (!p) {
		set_str(out, STR_LIT(""));
		return;
	}
	if (a.len)
		memcpy(p, a.s, a.len);
	if (b.len)
		memcpy(p + a.len, b.s, b.len);
	p[a.len + b.len] = '\0';
	set_str(out, (str_t){p, a.len + b.len});
}

void nv_eval(nv_run_t *R, const nv_expr_t *e, ksr_xval_t *out)
{
	ksr_xval_t l, r;
	char nb1[24], nb2[24];
	sip_msg_t *msg = R->ctx ? R->ctx->msg : NULL;

	switch (e->op) {
	case NV_E_CONST: *out = e->k; return;
	case NV_E_PV: pv_get(R->ctx, e->pv, out); return;
	case NV_E_CALL: do_call(R, e->call, e, out); return;
	case NV_E_ROUTE:
		set_int(out, e->route ? call_route(R, e->route, e)
				      : dyn_route(R, e));
		return;
	case NV_E_PROTO: set_int(out, msg ? (long)msg->rcv.proto : 0); return;
	case NV_E_AF:
		set_int(out, msg ? (long)msg->rcv.src.sa.sa_family : 0);
		return;
	case NV_E_NOT: set_int(out, !nv_eval_bool(R, e->l)); return;
	case NV_E_NEG:
		nv_eval(R, e->l, &l);
		set_int(out, -nv_to_int(&l));
		return;
	case NV_E_BNOT:
		nv_eval(R, e->l, &l);
		set_int(out, ~nv_to_int(&l));
		return;
	case NV_E_DEFINED:
		nv_eval(R, e->l, &l);
		set_int(out, l.type != KSR_NULL);
		return;
	case NV_E_STRLEN:
		nv_eval(R, e->l, &l);
		set_int(out, (long)to_str(&l, nb1).len);
		return;
	case NV_E_STREMPTY:
		nv_eval(R, e->l, &l);
		set_int(out, to_str(&l, nb1).len == 0);
		return;
	case NV_E_INTCAST:
		nv_eval(R, e->l, &l);
		set_int(out, nv_to_int(&l));
		return;
	case NV_E_STRCAST:
		nv_eval(R, e->l, &l);
		if (l.type == KSR_INT)
			set_str(out, keep(R, to_str(&l, nb1)));
		else
			set_str(out, to_str(&l, nb1));
		return;
	case NV_E_ADD:
		nv_eval(R, e->l, &l);
		nv_eval(R, e->r, &r);
		add(R, &l, &r, out);
		return;
	case NV_E_SUB:
	case NV_E_MUL:
	case NV_E_DIV:
	case NV_E_MOD:
	case NV_E_BAND:
	case NV_E_BOR:
	case NV_E_BXOR:
	case NV_E_SHL:
	case NV_E_SHR:
	case NV_E_LT:
	case NV_E_GT:
	case NV_E_LE:
	case NV_E_GE:
	case NV_E_IEQ:
	case NV_E_INE: set_int(out, int_op(R, e)); return;
	case NV_E_EQ: set_int(out, eq(R, e)); return;
	case NV_E_NE: set_int(out, !eq(R, e)); return;
	case NV_E_SEQ:
	case NV_E_SNE:
		nv_eval(R, e->l, &l);
		nv_eval(R, e->r, &r);
		set_int(out, str_eq(to_str(&l, nb1), to_str(&r, nb2)) ==
				 (e->op == NV_E_SEQ));
		return;
	case NV_E_MATCH: set_int(out, match(R, e)); return;
	case NV_E_NMATCH: set_int(out, !match(R, e)); return;
	case NV_E_AND:
		set_int(out, nv_eval_bool(R, e->l) && nv_eval_bool(R, e->r));
		return;
	case NV_E_OR:
		set_int(out, nv_eval_bool(R, e->l) || nv_eval_bool(R, e->r));
		return;
	case NV_E_MYSELF: set_int(out, myself(R, e) != e->neg); return;
	case NV_E_IPNET: set_int(out, ipnet(R, e) != e->neg); return;
	}
	out->type = KSR_NULL;
	out->n = 0;
	out->s = STR_NULL;
}

int nv_eval_bool(nv_run_t *R, const nv_expr_t *e)
{
	ksr_xval_t v;

	switch (e->op) {
	case NV_E_CALL:
		if (e->call->rtype == KSR_XVAL) {
			do_call(R, e->call, e, &v);
			return truthy(&v);
		}
		return do_call(R, e->call, e, NULL) > 0;
	case NV_E_ROUTE:
		return (e->route ? call_route(R, e->route, e)
				 : dyn_route(R, e)) > 0;
	case NV_E_AND: return nv_eval_bool(R, e->l) && nv_eval_bool(R, e->r);
	case NV_E_OR: return nv_eval_bool(R, e->l) || nv_eval_bool(R, e->r);
	case NV_E_NOT: return !nv_eval_bool(R, e->l);
	case NV_E_EQ: return eq(R, e);
	case NV_E_NE: return !eq(R, e);
	case NV_E_MATCH: return match(R, e);
	case NV_E_NMATCH: return !match(R, e);
	case NV_E_MYSELF: return myself(R, e) != e->neg;
	case NV_E_IPNET: return ipnet(R, e) != e->neg;
	}
	nv_eval(R, e, &v);
	return truthy(&v);
}

/* ---- statements ---- */

#define STOP (NV_F_RETURN | NV_F_BREAK | NV_F_EXIT | NV_F_ERROR)

static int exec_list(nv_run_t *R, const nv_stmt_t *s);

static int assign(nv_run_t *R, const nv_stmt_t *s)
{
	ksr_xval_t v, cur, sum;

	nv_eval(R, s->e, &v);
	if (R->flags & (NV_F_EXIT | NV_F_ERROR))
		return 0;
	if (s->kind == NV_S_ADD) {
		pv_get(R->ctx, s->lhs, &cur);
		add(R, &cur, &v, &sum);
		v = sum;
	} else if (v.type == KSR_STR && s->e->op == NV_E_PV) {
		/* the value may point into the target's own storage
		 * ($var(s) = $(var(s){s.substr,1,0})) */
		v.s = keep(R, v.s);
	}
	if (pv_set(R->ctx, s->lhs, &v) < 0) {
		LOG_RATE(L_ERR, "%s:%d:%d: cannot assign %s", s->pos.file,
			 s->pos.line, s->pos.col, s->lhs->text);
		return -1;
	}
	return 1;
}

static int exec_switch(nv_run_t *R, const nv_stmt_t *s)
{
	ksr_xval_t v;
	char nb[24];
	const nv_stmt_t *start = NULL;
	int found = 0, ret = 1;

	nv_eval(R, s->e, &v);
	if (R->flags & (NV_F_EXIT | NV_F_ERROR))
		return 0;
	if (s->str_switch) {
		str_t sv = to_str(&v, nb);

		for (int i = 0; i < s->ncases && !found; i++)
			if (str_eq(sv, s->cases[i].v.s)) {
				start = s->cases[i].target;
				found = 1;
			}
	} else {
		long n = nv_to_int(&v);

		for (int i = 0; i < s->ncases && !found; i++)
			if (n == s->cases[i].v.n) {
				start = s->cases[i].target;
				found = 1;
			}
	}
	if (!found && s->def_set)
		start = s->def;
	if (start)
		ret = exec_list(R, start);
	R->flags &= ~NV_F_BREAK;
	return ret;
}

static int exec_stmt(nv_run_t *R, const nv_stmt_t *s)
{
	int ret = 1, b;

	switch (s->kind) {
	case NV_S_EXPR:
		if (s->e->op == NV_E_CALL)
			return do_call(R, s->e->call, s->e, NULL);
		return s->e->route ? call_route(R, s->e->route, s->e)
				   : dyn_route(R, s->e);
	case NV_S_IF:
		b = nv_eval_bool(R, s->e);
		if (R->flags & (NV_F_EXIT | NV_F_ERROR))
			return 0;
		if (b)
			return exec_list(R, s->body);
		if (s->els)
			return exec_list(R, s->els);
		return 1;
	case NV_S_WHILE:
		for (int i = 0;; i++) {
			b = nv_eval_bool(R, s->e);
			if (!b || (R->flags & STOP))
				break;
			if (i == NV_MAX_WHILE) {
				LOG_RATE(
				    L_ERR,
				    "%s:%d:%d: while loop stopped after %d "
				    "iterations (max_while_loops)",
				    s->pos.file, s->pos.line, s->pos.col,
				    NV_MAX_WHILE);
				ret = -1;
				break;
			}
			ret = exec_list(R, s->body);
			if (R->flags & NV_F_BREAK) {
				R->flags &= ~NV_F_BREAK;
				break;
			}
			if (R->flags & STOP)
				break;
		}
		return ret;
	case NV_S_SWITCH: return exec_switch(R, s);
	case NV_S_RETURN:
		if (s->e) {
			ksr_xval_t v;

			nv_eval(R, s->e, &v);
			R->retval = nv_to_int(&v);
		} else {
			R->retval = 1;
		}
		R->flags |= NV_F_RETURN;
		return (int)R->retval;
	case NV_S_EXIT: R->flags |= NV_F_EXIT; return 0;
	case NV_S_DROP:
		if (R->ctx)
			R->ctx->flags |= KSR_CTX_DROP;
		R->flags |= NV_F_EXIT;
		return 0;
	case NV_S_BREAK: R->flags |= NV_F_BREAK; return 1;
	case NV_S_ASSIGN:
	case NV_S_ADD: return assign(R, s);
	case NV_S_BLOCK: return exec_list(R, s->body);
	}
	return ret;
}

static int exec_list(nv_run_t *R, const nv_stmt_t *s)
{
	int ret = 1;

	for (; s; s = s->next) {
		ret = exec_stmt(R, s);
		if (R->flags & STOP)
			break;
	}
	return ret;
}

static int call_route(nv_run_t *R, const nv_route_t *rt, const nv_expr_t *at)
{
	int ret;

	if (R->depth >= NV_MAX_DEPTH) {
		RT_ERR(
		    R, at,
		    "route[%s]: more than %d nested route() calls, giving up",
		    rt->name ? rt->name : "", NV_MAX_DEPTH);
		R->flags |= NV_F_ERROR;
		return -1;
	}
	R->depth++;
	ret = exec_list(R, rt->body);
	R->depth--;
	if (R->flags & NV_F_RETURN)
		ret = (int)R->retval;
	R->flags &= ~(NV_F_RETURN | NV_F_BREAK);
	last_rc = ret;
	return ret;
}

int nv_run_route(nv_inst_t *in, ksr_ctx_t *ctx, const nv_route_t *r)
{
	nv_run_t R;

	memset(&R, 0, sizeof(R));
	R.ctx = ctx;
	R.in = in;
	run_depth++;
	exec_list(&R, r->body);
	if (--run_depth == 0)
		nv_scratch_reset();
	return (R.flags & NV_F_ERROR) ? -1 : 1;
}
