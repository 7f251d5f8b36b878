/* nv_compile.c - route block tokens to the executable tree (see nv.h).
 *
 * A recursive-descent parser over the token lists the configuration front
 * end kept for each block. Everything that can be checked is checked here,
 * at start, with the position of the offending token: syntax, unknown
 * functions and wrong argument counts, unknown pseudo-variables and
 * transformations, assignments to read-only variables, constant arguments
 * of the wrong type, regular expressions that do not compile, route()
 * calls and t_on_*() names without a block, break outside switch/while,
 * duplicate or mixed case labels, constant division by zero.
 *
 * Operator precedence is Kamailio's (cfg.y), loosest first:
 *   ||   &&   |   &   ^   << >>   == != =~ !~ eq ne ieq ine
 *   < > <= >=   + -   * / %   unary ! - ~ defined (int) (str)
 * Note that, as in Kamailio, the bitwise operators bind more loosely than
 * the comparisons: "$var(f) & 4 == 4" is "$var(f) & (4 == 4)". */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/log.h"
#include "core/osp.h"
#include "engines/native/nv.h"

/* ---- program memory ---- */

struct nv_chunk {
	struct nv_chunk *next;
	size_t used, cap;
	_Alignas(16) char data[];
};

enum { OWN_PV = 1, OWN_FMT, OWN_RE };

struct nv_owned {
	int kind;
	void *p;
	struct nv_owned *next;
};

static void *palloc(nv_prog_t *p, size_t n)
{
	nv_chunk_t *c = p->chunks;
	void *r;

	n = (n + 15) & ~(size_t)15;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > 8192 ? n : 8192;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = p->chunks;
		p->chunks = c;
	}
	r = c->data + c->used;
	c->used += n;
	memset(r, 0, n);
	return r;
}

static char *pstrndup(nv_prog_t *p, const char *s, size_t n)
{
	char *d = palloc(p, n + 1);

	if (d && n)
		memcpy(d, s, n);
	return d;
}

static int own(nv_prog_t *p, int kind, void *obj)
{
	nv_owned_t *o = malloc(sizeof(*o));

	if (!o) {
		if (kind == OWN_PV)
			pv_spec_free(obj);
		else if (kind == OWN_FMT)
			pv_fmt_free(obj);
		else
			pcre2_code_free(obj);
		return -1;
	}
	o->kind = kind;
	o->p = obj;
	o->next = p->owned;
	p->owned = o;
	return 0;
}

void nv_prog_free(nv_prog_t *p)
{
	nv_chunk_t *c, *cn;
	nv_owned_t *o, *on;

	if (!p)
		return;
	for (o = p->owned; o; o = on) {
		on = o->next;
		if (o->kind == OWN_PV)
			pv_spec_free(o->p);
		else if (o->kind == OWN_FMT)
			pv_fmt_free(o->p);
		else
			pcre2_code_free(o->p);
		free(o);
	}
	for (c = p->chunks; c; c = cn) {
		cn = c->next;
		free(c);
	}
	free(p->routes);
	free(p);
}

nv_route_t *nv_prog_find(const nv_prog_t *p, cfg_route_type_t type,
			 const char *name)
{
	for (size_t i = 0; p && i < p->nroutes; i++) {
		nv_route_t *r = &p->routes[i];

		if (r->type != type)
			continue;
		if ((!name && !r->name) ||
		    (name && r->name && !strcmp(name, r->name)))
			return r;
	}
	return NULL;
}

/* ---- parser state ---- */

typedef struct parser {
	nv_prog_t *prog;
	const cfg_tok_t *t;
	size_t n, i;
	cfg_tok_t eof; /* returned past the end, at the last position */
	char *err;
	size_t errlen;
	int failed;
	int loops, switches;
	const char **files; /* interned file names */
	size_t nfiles;
} parser_t;

static const char *intern_file(parser_t *P, const char *f)
{
	const char **nf;
	const char *c;

	if (!f)
		return "?";
	for (size_t i = 0; i < P->nfiles; i++)
		if (!strcmp(P->files[i], f))
			return P->files[i];
	c = pstrndup(P->prog, f, strlen(f));
	if (!c)
		return "?";
	nf = realloc(P->files, (P->nfiles + 1) * sizeof(*nf));
	if (!nf)
		return c;
	P->files = nf;
	P->files[P->nfiles++] = c;
	return c;
}

static nv_pos_t pos_of(parser_t *P, const cfg_tok_t *t)
{
	nv_pos_t p = {intern_file(P, t->file), t->line, t->col};

	return p;
}

static void *perr(parser_t *P, const cfg_tok_t *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void *perr(parser_t *P, const cfg_tok_t *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (P->failed)
		return NULL;
	P->failed = 1;
	n = snprintf(P->err, P->errlen, "%s:%d:%d: ", t->file ? t->file : "?",
		     t->line, t->col);
	if (n < 0 || (size_t)n >= P->errlen)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(P->err + n, P->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return NULL;
}

static void *nomem(parser_t *P, const cfg_tok_t *t)
{
	return perr(P, t, "out of memory");
}

static const cfg_tok_t *peek(parser_t *P)
{
	return P->i < P->n ? &P->t[P->i] : &P->eof;
}

static const cfg_tok_t *peek_at(parser_t *P, size_t k)
{
	return P->i + k < P->n ? &P->t[P->i + k] : &P->eof;
}

static const cfg_tok_t *next(parser_t *P)
{
	return P->i < P->n ? &P->t[P->i++] : &P->eof;
}

static int is_op(const cfg_tok_t *t, const char *op)
{
	return t->kind == CFG_T_OP && !strcmp(t->text, op);
}

static int is_id(const cfg_tok_t *t, const char *id)
{
	return t->kind == CFG_T_ID && !strcmp(t->text, id);
}

static const char *show(const cfg_tok_t *t, char *buf, size_t cap)
{
	if (t->kind == CFG_T_EOF)
		snprintf(buf, cap, "the end of the block");
	else if (t->kind == CFG_T_STR)
		snprintf(buf, cap, "\"%.*s%s\"", t->len > 40 ? 40 : (int)t->len,
			 t->text, t->len > 40 ? "..." : "");
	else
		snprintf(buf, cap, "'%.*s'", t->len > 40 ? 40 : (int)t->len,
			 t->text);
	return buf;
}

static int expect_op(parser_t *P, const char *op, const char *ctx)
{
	const cfg_tok_t *t = next(P);
	char b[80];

	if (is_op(t, op))
		return 0;
	perr(P, t, "expected '%s' %s, got %s", op, ctx, show(t, b, sizeof(b)));
	return -1;
}

/* ---- nodes ---- */

static nv_expr_t *mk(parser_t *P, int op, const cfg_tok_t *at)
{
	nv_expr_t *e = palloc(P->prog, sizeof(*e));

	if (!e)
		return nomem(P, at);
	e->op = op;
	e->pos = pos_of(P, at);
	return e;
}

static nv_expr_t *mk_int(parser_t *P, long v, const cfg_tok_t *at)
{
	nv_expr_t *e = mk(P, NV_E_CONST, at);

	if (e) {
		e->k.type = KSR_INT;
		e->k.n = v;
	}
	return e;
}

static nv_expr_t *mk_str(parser_t *P, const char *s, size_t n,
			 const cfg_tok_t *at)
{
	nv_expr_t *e = mk(P, NV_E_CONST, at);
	char *c;

	if (!e)
		return NULL;
	c = pstrndup(P->prog, s, n);
	if (!c)
		return nomem(P, at);
	e->k.type = KSR_STR;
	e->k.s = (str_t){c, n};
	return e;
}

static pv_spec_t *parse_pv(parser_t *P, const cfg_tok_t *t)
{
	char e[256];
	pv_spec_t *sp = pv_spec_parse((str_t){t->text, t->len}, e, sizeof(e));

	if (!sp)
		return perr(P, t, "%s", e);
	if (own(P->prog, OWN_PV, sp) < 0)
		return nomem(P, t);
	return sp;
}

static nv_expr_t *mk_pv(parser_t *P, const char *name, const cfg_tok_t *at)
{
	cfg_tok_t t = *at;
	nv_expr_t *e;

	t.text = name;
	t.len = strlen(name);
	e = mk(P, NV_E_PV, at);
	if (e && !(e->pv = parse_pv(P, &t)))
		return NULL;
	return e;
}

/* Kamailio's string to number: decimal, or 0x hexadecimal. */
static int str_number(str_t s, long *out)
{
	char buf[40];
	char *end;

	if (!s.len || s.len >= sizeof(buf))
		return 0;
	memcpy(buf, s.s, s.len);
	buf[s.len] = '\0';
	if (s.len > 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X'))
		*out = strtol(buf + 2, &end, 16);
	else
		*out = strtol(buf, &end, 10);
	return *end == '\0';
}

static int is_const(const nv_expr_t *e)
{
	return e && e->op == NV_E_CONST;
}

static const char *op_name(int op)
{
	switch (op) {
	case NV_E_ADD: return "+";
	case NV_E_SUB: return "-";
	case NV_E_MUL: return "*";
	case NV_E_DIV: return "/";
	case NV_E_MOD: return "%";
	case NV_E_BAND: return "&";
	case NV_E_BOR: return "|";
	case NV_E_BXOR: return "^";
	case NV_E_SHL: return "<<";
	case NV_E_SHR: return ">>";
	case NV_E_LT: return "<";
	case NV_E_GT: return ">";
	case NV_E_LE: return "<=";
	case NV_E_GE: return ">=";
	case NV_E_NEG: return "unary -";
	case NV_E_BNOT: return "~";
	case NV_E_IEQ: return "ieq";
	case NV_E_INE: return "ine";
	default: return "?";
	}
}

/* A constant operand of an integer operator must be a number. */
static int check_int_operand(parser_t *P, const nv_expr_t *x, int op,
			     const cfg_tok_t *at)
{
	long v;

	if (!is_const(x) || x->k.type != KSR_STR || str_number(x->k.s, &v))
		return 0;
	perr(P, at, "type error: '%s' needs integers, got the string \"%.*s\"",
	     op_name(op), x->k.s.len > 40 ? 40 : (int)x->k.s.len, x->k.s.s);
	return -1;
}

/* Evaluate a constant subtree now and keep the result in the program. */
static nv_expr_t *fold(parser_t *P, nv_expr_t *e, const cfg_tok_t *at)
{
	nv_run_t R;
	ksr_xval_t v;
	nv_expr_t *c;

	memset(&R, 0, sizeof(R));
	nv_eval(&R, e, &v);
	if (v.type == KSR_STR)
		c = mk_str(P, v.s.s ? v.s.s : "", v.s.len, at);
	else if (v.type == KSR_INT)
		c = mk_int(P, v.n, at);
	else
		c = mk(P, NV_E_CONST, at);
	nv_scratch_reset();
	if (c)
		c->pos = e->pos;
	return c;
}

static void *compile_re(parser_t *P, str_t pat, const cfg_tok_t *at)
{
	int ec;
	PCRE2_SIZE off;
	pcre2_code *re;
	PCRE2_UCHAR msg[160];

	re = pcre2_compile((PCRE2_SPTR)pat.s, pat.len, PCRE2_CASELESS, &ec,
			   &off, NULL);
	if (!re) {
		pcre2_get_error_message(ec, msg, sizeof(msg));
		return perr(P, at,
			    "invalid regular expression \"%.*s\": %s at offset "
			    "%zu",
			    pat.len > 60 ? 60 : (int)pat.len, pat.s,
			    (const char *)msg, (size_t)off);
	}
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	if (own(P->prog, OWN_RE, re) < 0)
		return nomem(P, at);
	return re;
}

static nv_expr_t *mk_bin(parser_t *P, int op, nv_expr_t *l, nv_expr_t *r,
			 const cfg_tok_t *at)
{
	nv_expr_t *e;
	long v;

	if (!l || !r)
		return NULL;
	switch (op) {
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
	case NV_E_INE:
		if (check_int_operand(P, l, op, at) < 0 ||
		    check_int_operand(P, r, op, at) < 0)
			return NULL;
		break;
	case NV_E_ADD:
		/* the left operand decides: a number adds, a string joins */
		if (is_const(l) && l->k.type == KSR_INT &&
		    check_int_operand(P, r, op, at) < 0)
			return NULL;
		break;
	}
	if ((op == NV_E_DIV || op == NV_E_MOD) && is_const(r) &&
	    ((r->k.type == KSR_INT && r->k.n == 0) ||
	     (r->k.type == KSR_STR && str_number(r->k.s, &v) && v == 0)))
		return perr(P, at, "division by zero");
	e = mk(P, op, at);
	if (!e)
		return NULL;
	e->l = l;
	e->r = r;
	if ((op == NV_E_MATCH || op == NV_E_NMATCH) && is_const(r)) {
		char num[32];
		str_t pat = r->k.s;

		if (r->k.type == KSR_INT) {
			int k = snprintf(num, sizeof(num), "%ld", r->k.n);

			pat = (str_t){num, (size_t)k};
		} else if (r->k.type != KSR_STR) {
			pat = STR_LIT("");
		}
		if (!(e->re = compile_re(P, pat, at)))
			return NULL;
	}
	if (is_const(l) && is_const(r))
		return fold(P, e, at);
	return e;
}

static nv_expr_t *mk_un(parser_t *P, int op, nv_expr_t *x, const cfg_tok_t *at)
{
	nv_expr_t *e;

	if (!x)
		return NULL;
	if ((op == NV_E_NEG || op == NV_E_BNOT) &&
	    check_int_operand(P, x, op, at) < 0)
		return NULL;
	e = mk(P, op, at);
	if (!e)
		return NULL;
	e->l = x;
	if (is_const(x) && op != NV_E_DEFINED)
		return fold(P, e, at);
	return e;
}

/* ---- expressions ---- */

static nv_expr_t *parse_expr(parser_t *P);
static nv_expr_t *parse_unary(parser_t *P);

/* The core keywords that read the message. */
static const struct {
	const char *kw;
	const char *pv;
	int ipkw;
} kw_pvs[] = {
    {"method", "$rm", 0},  {"uri", "$ru", 0},	   {"from_uri", "$fu", 0},
    {"to_uri", "$tu", 0},  {"src_ip", "$si", 1},   {"src_port", "$sp", 0},
    {"dst_ip", "$Ri", 1},  {"dst_port", "$Rp", 0}, {"status", "$rs", 0},
    {"retcode", "$rc", 0}, {NULL, NULL, 0},
};

static const struct {
	const char *kw;
	long v;
} kw_consts[] = {
    {"UDP", SIP_PROTO_UDP},   {"udp", SIP_PROTO_UDP},	{"TCP", SIP_PROTO_TCP},
    {"tcp", SIP_PROTO_TCP},   {"TLS", SIP_PROTO_TLS},	{"tls", SIP_PROTO_TLS},
    {"SCTP", SIP_PROTO_SCTP}, {"sctp", SIP_PROTO_SCTP}, {"WS", SIP_PROTO_WS},
    {"ws", SIP_PROTO_WS},     {"WSS", SIP_PROTO_WSS},	{"wss", SIP_PROTO_WSS},
    {"INET", AF_INET},	      {"INET6", AF_INET6},	{NULL, 0},
};

/* The name of a route in route(NAME): a word, a number or a string. */
static int route_name_tok(const cfg_tok_t *t)
{
	return t->kind == CFG_T_ID || t->kind == CFG_T_NUM ||
	       t->kind == CFG_T_STR;
}

/* route(NAME) or route($var(x)), the keyword already read. */
static nv_expr_t *parse_route_call(parser_t *P, const cfg_tok_t *kw)
{
	const cfg_tok_t *t;
	nv_expr_t *e = mk(P, NV_E_ROUTE, kw);
	char b[80];

	if (!e || expect_op(P, "(", "after route") < 0)
		return NULL;
	t = peek(P);
	if (route_name_tok(t) && is_op(peek_at(P, 1), ")")) {
		next(P);
		e->route = nv_prog_find(P->prog, CFG_RT_ROUTE, t->text);
		if (!e->route)
			return perr(P, t, "route[%s] is not defined", t->text);
	} else if (t->kind == CFG_T_PVAR || is_op(t, "(")) {
		e->l = parse_expr(P);
		if (!e->l)
			return NULL;
	} else {
		return perr(P, t,
			    "expected a route name after 'route(', got %s",
			    show(t, b, sizeof(b)));
	}
	if (expect_op(P, ")", "after the route name") < 0)
		return NULL;
	return e;
}

/* Does the route named by a t_on_*() argument exist? */
static int check_route_arg(parser_t *P, const nv_fres_t *fr, str_t name,
			   const cfg_tok_t *at)
{
	char full[256];

	snprintf(full, sizeof(full), "%s%.*s",
		 fr->route_prefix ? fr->route_prefix : "", STR_FMT(name));
	if (nv_prog_find(P->prog, fr->route_type, full))
		return 0;
	perr(P, at, "%s[%s] is not defined",
	     cfg_route_type_name(fr->route_type), full);
	return -1;
}

/* One argument, given as expression x, for parameter slot i of the
 * resolved function (type t). */
static int build_arg(parser_t *P, nv_call_t *c, int i, ksr_type_t t,
		     nv_expr_t *x, unsigned raw_fmt, unsigned raw_re,
		     const cfg_tok_t *at, const char *fname, int argno)
{
	nv_arg_t *a = &c->args[i];
	char e[256];
	long v;

	a->type = t;
	if (raw_fmt && x->op == NV_E_PV) {
		/* xlog("L_INFO", $var(m)): as in Kamailio, the variable is
		 * the format, printed once by the callee */
		c->pre[i].s = (str_t){x->pv->text, x->pv->text_len};
		return 0;
	}
	if (!is_const(x)) {
		a->kind = NV_A_EXPR;
		a->expr = x;
		c->ndyn++;
		return 0;
	}
	if (x->k.type == KSR_NULL) {
		x = mk_str(P, "", 0, at);
		if (!x)
			return -1;
	}
	if (t == KSR_INT) {
		if (x->k.type == KSR_INT) {
			c->pre[i].n = x->k.n;
			return 0;
		}
		if (str_number(x->k.s, &v)) {
			c->pre[i].n = v;
			return 0;
		}
		if (memchr(x->k.s.s, '$', x->k.s.len)) {
			a->fmt = pv_fmt_parse(x->k.s, e, sizeof(e));
			if (!a->fmt) {
				perr(P, at, "parameter %d of %s(): %s", argno,
				     fname, e);
				return -1;
			}
			if (own(P->prog, OWN_FMT, a->fmt) < 0) {
				nomem(P, at);
				return -1;
			}
			a->kind = NV_A_FMT;
			c->ndyn++;
			return 0;
		}
		perr(P, at,
		     "type error: parameter %d of %s() must be an integer, got "
		     "\"%.*s\"",
		     argno, fname, x->k.s.len > 40 ? 40 : (int)x->k.s.len,
		     x->k.s.s);
		return -1;
	}
	/* a string parameter */
	if (x->k.type == KSR_INT) {
		char num[32];
		int k = snprintf(num, sizeof(num), "%ld", x->k.n);
		char *s = pstrndup(P->prog, num, (size_t)k);

		if (!s) {
			nomem(P, at);
			return -1;
		}
		c->pre[i].s = (str_t){s, (size_t)k};
		return 0;
	}
	c->pre[i].s = x->k.s;
	if (raw_re || !memchr(x->k.s.s, '$', x->k.s.len))
		return 0;
	a->fmt = pv_fmt_parse(x->k.s, e, sizeof(e));
	if (!a->fmt) {
		perr(P, at, "parameter %d of %s(): %s", argno, fname, e);
		return -1;
	}
	if (own(P->prog, OWN_FMT, a->fmt) < 0) {
		nomem(P, at);
		return -1;
	}
	if (raw_fmt) {
		/* checked; the callee formats it itself */
		a->fmt = NULL;
		return 0;
	}
	if (pv_fmt_is_static(a->fmt)) {
		/* "$$" and friends: the text is constant once formatted */
		char buf[4096];
		str_t out;
		char *s;

		if (pv_fmt_eval(NULL, a->fmt, buf, sizeof(buf), &out) >= 0 &&
		    (s = pstrndup(P->prog, out.s, out.len))) {
			c->pre[i].s = (str_t){s, out.len};
			a->fmt = NULL;
			return 0;
		}
	}
	a->kind = NV_A_FMT;
	c->ndyn++;
	return 0;
}

static nv_expr_t *parse_call(parser_t *P, const cfg_tok_t *first)
{
	char name[128], e[300];
	nv_expr_t *args[KSR_PARAMS_MAX + 1];
	const cfg_tok_t *argtok[KSR_PARAMS_MAX + 1];
	int nargs = 0;
	nv_fres_t fr;
	nv_call_t *c;
	nv_expr_t *x;

	snprintf(name, sizeof(name), "%s", first->text);
	if (is_op(peek(P), ".") && !peek(P)->space &&
	    peek_at(P, 1)->kind == CFG_T_ID && !peek_at(P, 1)->space) {
		next(P);
		snprintf(name, sizeof(name), "%s.%s", first->text,
			 next(P)->text);
	}
	if (is_op(peek(P), "(")) {
		next(P);
		if (!is_op(peek(P), ")")) {
			for (;;) {
				if (nargs == KSR_PARAMS_MAX)
					return perr(P, peek(P),
						    "too many parameters for "
						    "%s() (at most %d)",
						    name, KSR_PARAMS_MAX);
				argtok[nargs] = peek(P);
				args[nargs] = parse_expr(P);
				if (!args[nargs])
					return NULL;
				nargs++;
				if (is_op(peek(P), ","))
					next(P);
				else
					break;
			}
		}
		if (expect_op(P, ")", "after the parameters") < 0)
			return NULL;
	}
	if (nv_func_resolve(name, nargs, &fr, e, sizeof(e)) < 0)
		return perr(P, first, "%s", e);
	x = mk(P, NV_E_CALL, first);
	c = palloc(P->prog, sizeof(*c));
	if (!x || !c)
		return nomem(P, first);
	x->call = c;
	c->name = pstrndup(P->prog, name, strlen(name));
	c->e = fr.e;
	c->native = fr.native;
	c->rtype = fr.e ? fr.e->rtype : KSR_INT;
	c->nargs = fr.nparams;
	c->needs_msg = fr.e ? !nv_func_no_msg_ok(fr.e) : 1;
	for (int i = 0; i < fr.nparams; i++) {
		int src = fr.map[i];
		ksr_type_t t = fr.ptypes[i] == KSR_INT ? KSR_INT : KSR_STR;
		nv_expr_t *ax;
		const cfg_tok_t *at;

		if (src < 0 || src >= nargs) {
			const char *d = fr.defs[i] ? fr.defs[i] : "";

			ax = mk_str(P, d, strlen(d), first);
			at = first;
		} else {
			ax = args[src];
			at = argtok[src];
		}
		if (!ax)
			return NULL;
		if (src >= 0 && src == fr.route_arg && is_const(ax) &&
		    ax->k.type == KSR_STR &&
		    check_route_arg(P, &fr, ax->k.s, at) < 0)
			return NULL;
		if (build_arg(P, c, i, t, ax,
			      src >= 0 ? (fr.raw_fmt >> src) & 1 : 0,
			      src >= 0 ? (fr.raw_re >> src) & 1 : 0, at, name,
			      src + 1) < 0)
			return NULL;
	}
	return x;
}

/* An address literal after src_ip/dst_ip == : the adjacent tokens glued
 * ("10.0.0.0/8", "[2001:db8::1]", "::1"). 1 and e filled when the text is
 * an address (with optional /bits), 0 when it is not one. */
static int parse_net(const char *text, nv_expr_t *e)
{
	char buf[128];
	char *slash;
	size_t n = strlen(text);

	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, text, n + 1);
	slash = strchr(buf, '/');
	e->bits = -1;
	if (slash) {
		char *end;

		*slash = '\0';
		e->bits = (int)strtol(slash + 1, &end, 10);
		if (*end || !slash[1])
			return 0;
	}
	if (buf[0] == '[') {
		size_t k = strlen(buf);

		if (k < 3 || buf[k - 1] != ']')
			return 0;
		buf[k - 1] = '\0';
		memmove(buf, buf + 1, k - 1);
	}
	if (inet_pton(AF_INET, buf, e->addr) == 1) {
		e->af = AF_INET;
		if (e->bits < 0)
			e->bits = 32;
		return e->bits <= 32;
	}
	if (inet_pton(AF_INET6, buf, e->addr) == 1) {
		e->af = AF_INET6;
		if (e->bits < 0)
			e->bits = 128;
		return e->bits <= 128;
	}
	return 0;
}

static nv_expr_t *parse_ip_literal(parser_t *P, nv_expr_t *l, int neg,
				   const cfg_tok_t *opt)
{
	const cfg_tok_t *t = peek(P), *first = t;
	char buf[128];
	size_t n = 0;
	nv_expr_t *e;

	if (t->kind == CFG_T_STR) {
		e = mk(P, NV_E_IPNET, opt);
		if (!e)
			return NULL;
		if (!parse_net(t->text, e))
			return NULL; /* not an address: a string comparison */
		next(P);
		e->l = l;
		e->neg = neg;
		return e;
	}
	if (!(t->kind == CFG_T_NUM || t->kind == CFG_T_ID || is_op(t, "[") ||
	      is_op(t, ":")))
		return NULL;
	/* glue the tokens that touch each other */
	for (size_t k = 0;; k++) {
		const cfg_tok_t *u = peek_at(P, k);

		if (u->kind == CFG_T_EOF || (k && u->space))
			break;
		if (!(u->kind == CFG_T_NUM || u->kind == CFG_T_ID ||
		      is_op(u, ".") || is_op(u, ":") || is_op(u, "/") ||
		      is_op(u, "[") || is_op(u, "]")))
			break;
		if (n + u->len >= sizeof(buf))
			break;
		memcpy(buf + n, u->text, u->len);
		n += u->len;
		buf[n] = '\0';
	}
	if (!n)
		return NULL;
	e = mk(P, NV_E_IPNET, opt);
	if (!e)
		return NULL;
	if (!parse_net(buf, e))
		return perr(P, first, "bad IP address or network '%s'", buf);
	/* consume what was glued */
	while (n) {
		const cfg_tok_t *u = next(P);

		n -= u->len;
	}
	e->l = l;
	e->neg = neg;
	return e;
}

static nv_expr_t *parse_primary(parser_t *P)
{
	const cfg_tok_t *t = next(P);
	nv_expr_t *e;
	char b[80];

	switch (t->kind) {
	case CFG_T_NUM: return mk_int(P, t->num, t);
	case CFG_T_STR: return mk_str(P, t->text, t->len, t);
	case CFG_T_PVAR:
		e = mk(P, NV_E_PV, t);
		if (e && !(e->pv = parse_pv(P, t)))
			return NULL;
		return e;
	case CFG_T_OP:
		if (is_op(t, "(")) {
			e = parse_expr(P);
			if (!e || expect_op(P, ")", "to close '('") < 0)
				return NULL;
			return e;
		}
		return perr(P, t, "expected an expression, got %s",
			    show(t, b, sizeof(b)));
	case CFG_T_ID: break;
	default:
		return perr(P, t, "expected an expression, got %s",
			    show(t, b, sizeof(b)));
	}
	for (int i = 0; kw_pvs[i].kw; i++)
		if (!strcmp(t->text, kw_pvs[i].kw)) {
			e = mk_pv(P, kw_pvs[i].pv, t);
			if (e)
				e->ipkw = kw_pvs[i].ipkw;
			return e;
		}
	for (int i = 0; kw_consts[i].kw; i++)
		if (!strcmp(t->text, kw_consts[i].kw))
			return mk_int(P, kw_consts[i].v, t);
	if (!strcmp(t->text, "proto"))
		return mk(P, NV_E_PROTO, t);
	if (!strcmp(t->text, "af"))
		return mk(P, NV_E_AF, t);
	if (!strcmp(t->text, "msg") && is_op(peek(P), ":") &&
	    is_id(peek_at(P, 1), "len")) {
		next(P);
		next(P);
		return mk_pv(P, "$ml", t);
	}
	if (!strcmp(t->text, "myself"))
		return perr(P, t,
			    "'myself' must be on the right of == or != "
			    "(uri == myself)");
	if (!strcmp(t->text, "route") && is_op(peek(P), "("))
		return parse_route_call(P, t);
	if ((!strcmp(t->text, "strlen") || !strcmp(t->text, "strempty")) &&
	    is_op(peek(P), "(")) {
		int op = t->text[3] == 'l' ? NV_E_STRLEN : NV_E_STREMPTY;

		next(P);
		e = parse_expr(P);
		if (!e || expect_op(P, ")", "to close '('") < 0)
			return NULL;
		return mk_un(P, op, e, t);
	}
	if (!strcmp(t->text, "if") || !strcmp(t->text, "else") ||
	    !strcmp(t->text, "while") || !strcmp(t->text, "switch") ||
	    !strcmp(t->text, "case") || !strcmp(t->text, "default") ||
	    !strcmp(t->text, "return") || !strcmp(t->text, "break") ||
	    !strcmp(t->text, "exit") || !strcmp(t->text, "drop"))
		return perr(P, t, "unexpected '%s' in an expression", t->text);
	return parse_call(P, t);
}

static nv_expr_t *parse_unary(parser_t *P)
{
	const cfg_tok_t *t = peek(P);

	if (is_op(t, "!") || is_id(t, "not")) {
		next(P);
		return mk_un(P, NV_E_NOT, parse_unary(P), t);
	}
	if (is_op(t, "-")) {
		next(P);
		return mk_un(P, NV_E_NEG, parse_unary(P), t);
	}
	if (is_op(t, "~")) {
		next(P);
		return mk_un(P, NV_E_BNOT, parse_unary(P), t);
	}
	if (is_id(t, "defined")) {
		next(P);
		return mk_un(P, NV_E_DEFINED, parse_unary(P), t);
	}
	if (is_op(t, "(") &&
	    (is_id(peek_at(P, 1), "int") || is_id(peek_at(P, 1), "str")) &&
	    is_op(peek_at(P, 2), ")")) {
		int op =
		    peek_at(P, 1)->text[0] == 'i' ? NV_E_INTCAST : NV_E_STRCAST;

		next(P);
		next(P);
		next(P);
		return mk_un(P, op, parse_unary(P), t);
	}
	return parse_primary(P);
}

static nv_expr_t *parse_mul(parser_t *P)
{
	nv_expr_t *l = parse_unary(P);

	while (l) {
		const cfg_tok_t *t = peek(P);
		int op = is_op(t, "*")	 ? NV_E_MUL
			 : is_op(t, "/") ? NV_E_DIV
			 : is_op(t, "%") ? NV_E_MOD
					 : 0;

		if (!op)
			break;
		next(P);
		l = mk_bin(P, op, l, parse_unary(P), t);
	}
	return l;
}

static nv_expr_t *parse_add(parser_t *P)
{
	nv_expr_t *l = parse_mul(P);

	while (l) {
		const cfg_tok_t *t = peek(P);
		int op = is_op(t, "+")	 ? NV_E_ADD
			 : is_op(t, "-") ? NV_E_SUB
					 : 0;

		if (!op)
			break;
		next(P);
		l = mk_bin(P, op, l, parse_mul(P), t);
	}
	return l;
}

static nv_expr_t *parse_rel(parser_t *P)
{
	nv_expr_t *l = parse_add(P);

	while (l) {
		const cfg_tok_t *t = peek(P);
		int op = is_op(t, "<")	  ? NV_E_LT
			 : is_op(t, ">")  ? NV_E_GT
			 : is_op(t, "<=") ? NV_E_LE
			 : is_op(t, ">=") ? NV_E_GE
					  : 0;

		if (!op)
			break;
		next(P);
		l = mk_bin(P, op, l, parse_add(P), t);
	}
	return l;
}

static nv_expr_t *parse_eq(parser_t *P)
{
	nv_expr_t *l = parse_rel(P), *e;

	while (l) {
		const cfg_tok_t *t = peek(P);
		int op = 0;

		if (is_op(t, "=="))
			op = NV_E_EQ;
		else if (is_op(t, "!="))
			op = NV_E_NE;
		else if (is_op(t, "=~"))
			op = NV_E_MATCH;
		else if (is_op(t, "!") && is_op(peek_at(P, 1), "~") &&
			 !peek_at(P, 1)->space)
			op = NV_E_NMATCH;
		else if (is_id(t, "eq"))
			op = NV_E_SEQ;
		else if (is_id(t, "ne"))
			op = NV_E_SNE;
		else if (is_id(t, "ieq"))
			op = NV_E_IEQ;
		else if (is_id(t, "ine"))
			op = NV_E_INE;
		else if (is_op(t, "="))
			return perr(P, t,
				    "'=' is an assignment; compare with '=='");
		if (!op)
			break;
		next(P);
		if (op == NV_E_NMATCH)
			next(P);
		if ((op == NV_E_EQ || op == NV_E_NE) &&
		    is_id(peek(P), "myself")) {
			next(P);
			e = mk(P, NV_E_MYSELF, t);
			if (!e)
				return NULL;
			e->l = l;
			e->neg = op == NV_E_NE;
			l = e;
			continue;
		}
		if ((op == NV_E_EQ || op == NV_E_NE) && l->ipkw) {
			e = parse_ip_literal(P, l, op == NV_E_NE, t);
			if (P->failed)
				return NULL;
			if (e) {
				l = e;
				continue;
			}
		}
		l = mk_bin(P, op, l, parse_rel(P), t);
	}
	return l;
}

#define BIN_LEVEL(fname, sub, test, opcode)                                    \
	static nv_expr_t *fname(parser_t *P)                                   \
	{                                                                      \
		nv_expr_t *l = sub(P);                                         \
		while (l) {                                                    \
			const cfg_tok_t *t = peek(P);                          \
			if (!(test))                                           \
				break;                                         \
			next(P);                                               \
			l = mk_bin(P, opcode, l, sub(P), t);                   \
		}                                                              \
		return l;                                                      \
	}

static nv_expr_t *parse_shift(parser_t *P)
{
	nv_expr_t *l = parse_eq(P);

	while (l) {
		const cfg_tok_t *t = peek(P);
		int op = is_op(t, "<<")	  ? NV_E_SHL
			 : is_op(t, ">>") ? NV_E_SHR
					  : 0;

		if (!op)
			break;
		next(P);
		l = mk_bin(P, op, l, parse_eq(P), t);
	}
	return l;
}

BIN_LEVEL(parse_bxor, parse_shift, is_op(t, "^"), NV_E_BXOR)
BIN_LEVEL(parse_band, parse_bxor, is_op(t, "&"), NV_E_BAND)
BIN_LEVEL(parse_bor, parse_band, is_op(t, "|"), NV_E_BOR)
BIN_LEVEL(parse_land, parse_bor, is_op(t, "&&") || is_id(t, "and"), NV_E_AND)
BIN_LEVEL(parse_lor, parse_land, is_op(t, "||") || is_id(t, "or"), NV_E_OR)

static nv_expr_t *parse_expr(parser_t *P)
{
	return parse_lor(P);
}

/* ---- statements ---- */

static nv_stmt_t *parse_stmt(parser_t *P);

static nv_stmt_t *mk_stmt(parser_t *P, int kind, const cfg_tok_t *at)
{
	nv_stmt_t *s = palloc(P->prog, sizeof(*s));

	if (!s)
		return nomem(P, at);
	s->kind = kind;
	s->pos = pos_of(P, at);
	return s;
}

static int end_stmt(parser_t *P, const char *what)
{
	const cfg_tok_t *t = peek(P);
	char b[80];

	if (is_op(t, ";")) {
		next(P);
		return 0;
	}
	perr(P, t, "expected ';' after %s, got %s", what,
	     show(t, b, sizeof(b)));
	return -1;
}

/* Statements up to '}' (consumed) when braced, else to the end. *out gets
 * the list (NULL when empty). */
static int parse_list(parser_t *P, int braced, const cfg_tok_t *open,
		      nv_stmt_t **out)
{
	nv_stmt_t *head = NULL, **tail = &head, *s;

	for (;;) {
		const cfg_tok_t *t = peek(P);

		if (t->kind == CFG_T_EOF) {
			if (braced) {
				perr(P, open, "missing '}' for this '{'");
				return -1;
			}
			break;
		}
		if (braced && is_op(t, "}")) {
			next(P);
			break;
		}
		if (!braced && is_op(t, "}")) {
			perr(P, t, "unexpected '}'");
			return -1;
		}
		s = parse_stmt(P);
		if (P->failed)
			return -1;
		if (!s)
			continue;
		*tail = s;
		while (s->next)
			s = s->next;
		tail = &s->next;
	}
	*out = head;
	return 0;
}

static int parse_cond(parser_t *P, const char *kw, nv_expr_t **out)
{
	char ctx[32];

	snprintf(ctx, sizeof(ctx), "after '%s'", kw);
	if (expect_op(P, "(", ctx) < 0)
		return -1;
	*out = parse_expr(P);
	if (!*out)
		return -1;
	return expect_op(P, ")", "to close the condition");
}

/* A statement or a block as the body of if/else/while. */
static nv_stmt_t *parse_body(parser_t *P)
{
	const cfg_tok_t *t = peek(P);
	nv_stmt_t *s = parse_stmt(P);

	if (!s && !P->failed) {
		/* an empty statement ";" */
		s = mk_stmt(P, NV_S_BLOCK, t);
	}
	return s;
}

static nv_stmt_t *parse_if(parser_t *P, const cfg_tok_t *kw)
{
	nv_stmt_t *s = mk_stmt(P, NV_S_IF, kw);

	if (!s || parse_cond(P, "if", &s->e) < 0)
		return NULL;
	if (!(s->body = parse_body(P)))
		return NULL;
	if (is_id(peek(P), "else")) {
		next(P);
		if (!(s->els = parse_body(P)))
			return NULL;
	}
	return s;
}

static nv_stmt_t *parse_while(parser_t *P, const cfg_tok_t *kw)
{
	nv_stmt_t *s = mk_stmt(P, NV_S_WHILE, kw);

	if (!s || parse_cond(P, "while", &s->e) < 0)
		return NULL;
	P->loops++;
	s->body = parse_body(P);
	P->loops--;
	return s->body ? s : NULL;
}

/* A case label: an integer (maybe negative) or a string. */
static int parse_label(parser_t *P, ksr_xval_t *v)
{
	const cfg_tok_t *t = next(P);
	char b[80];
	int neg = 0;

	if (is_op(t, "-")) {
		neg = 1;
		t = next(P);
	}
	if (t->kind == CFG_T_NUM) {
		v->type = KSR_INT;
		v->n = neg ? -t->num : t->num;
		return 0;
	}
	if (t->kind == CFG_T_STR && !neg) {
		char *s = pstrndup(P->prog, t->text, t->len);

		if (!s) {
			nomem(P, t);
			return -1;
		}
		v->type = KSR_STR;
		v->s = (str_t){s, t->len};
		return 0;
	}
	perr(P, t, "expected a number or a string after 'case', got %s",
	     show(t, b, sizeof(b)));
	return -1;
}

static nv_stmt_t *parse_switch(parser_t *P, const cfg_tok_t *kw)
{
	nv_stmt_t *s = mk_stmt(P, NV_S_SWITCH, kw), *head = NULL,
		  **tail = &head;
	const cfg_tok_t *open;
	/* labels waiting for the statement that follows them: a case index,
	 * or -1 for default */
	int pending[64];
	int npending = 0, cap = 8, has_int = 0, has_str = 0;
	char b[80];

	if (!s || parse_cond(P, "switch", &s->e) < 0)
		return NULL;
	open = peek(P);
	if (expect_op(P, "{", "to open the switch body") < 0)
		return NULL;
	s->cases = calloc((size_t)cap, sizeof(*s->cases));
	if (!s->cases)
		return nomem(P, kw);
	/* grown here, copied into the program at the end */
	P->switches++;
	for (;;) {
		const cfg_tok_t *t = peek(P);
		nv_stmt_t *st;

		if (t->kind == CFG_T_EOF) {
			perr(P, open, "missing '}' for this switch");
			goto fail;
		}
		if (is_op(t, "}")) {
			next(P);
			break;
		}
		if (is_id(t, "case") || is_id(t, "default")) {
			ksr_xval_t v = {0};
			int is_def = is_id(t, "default");

			next(P);
			if (!is_def) {
				if (parse_label(P, &v) < 0)
					goto fail;
				for (int k = 0; k < s->ncases; k++) {
					const ksr_xval_t *o = &s->cases[k].v;

					if (o->type == v.type &&
					    (v.type == KSR_INT
						 ? o->n == v.n
						 : str_eq(o->s, v.s))) {
						perr(P, t,
						     "duplicate case label");
						goto fail;
					}
				}
				if (v.type == KSR_INT)
					has_int = 1;
				else
					has_str = 1;
				if (has_int && has_str) {
					perr(P, t,
					     "mixed integer and string case "
					     "labels in one switch");
					goto fail;
				}
			} else if (s->def_set) {
				perr(P, t, "second 'default' in one switch");
				goto fail;
			}
			if (expect_op(P, ":",
				      is_def ? "after 'default'"
					     : "after the case label") < 0)
				goto fail;
			if (npending == 64) {
				perr(P, t, "too many labels in a row");
				goto fail;
			}
			if (is_def) {
				s->def_set = 1;
				pending[npending++] = -1;
			} else {
				if (s->ncases == cap) {
					nv_case_t *nc;

					cap *= 2;
					nc = realloc(s->cases,
						     (size_t)cap * sizeof(*nc));
					if (!nc) {
						nomem(P, t);
						goto fail;
					}
					s->cases = nc;
				}
				s->cases[s->ncases].v = v;
				s->cases[s->ncases].target = NULL;
				pending[npending++] = s->ncases;
				s->ncases++;
			}
			continue;
		}
		if (!head && !npending) {
			perr(P, t,
			     "expected 'case' or 'default' in the switch, "
			     "got %s",
			     show(t, b, sizeof(b)));
			goto fail;
		}
		st = parse_stmt(P);
		if (P->failed)
			goto fail;
		if (!st)
			continue;
		for (int k = 0; k < npending; k++) {
			if (pending[k] < 0)
				s->def = st;
			else
				s->cases[pending[k]].target = st;
		}
		npending = 0;
		*tail = st;
		while (st->next)
			st = st->next;
		tail = &st->next;
	}
	P->switches--;
	s->body = head;
	s->str_switch = has_str;
	{
		nv_case_t *kept =
		    palloc(P->prog,
			   (size_t)(s->ncases ? s->ncases : 1) * sizeof(*kept));

		if (!kept) {
			free(s->cases);
			return nomem(P, kw);
		}
		memcpy(kept, s->cases, (size_t)s->ncases * sizeof(*kept));
		free(s->cases);
		s->cases = kept;
	}
	return s;
fail:
	P->switches--;
	free(s->cases);
	s->cases = NULL;
	return NULL;
}

static nv_stmt_t *parse_assign(parser_t *P, const cfg_tok_t *pvt)
{
	const cfg_tok_t *t = peek(P);
	nv_stmt_t *s;
	char b[80];
	int kind;

	if (is_op(t, "=")) {
		kind = NV_S_ASSIGN;
		next(P);
	} else if (is_op(t, "+=")) {
		kind = NV_S_ADD;
		next(P);
	} else if (is_op(t, ":") && is_op(peek_at(P, 1), "=") &&
		   !peek_at(P, 1)->space) {
		kind = NV_S_ASSIGN;
		next(P);
		next(P);
	} else {
		return perr(P, t, "expected '=' after %s, got %s", pvt->text,
			    show(t, b, sizeof(b)));
	}
	s = mk_stmt(P, kind, pvt);
	if (!s || !(s->lhs = parse_pv(P, pvt)))
		return NULL;
	if (!pv_is_writable(s->lhs))
		return perr(P, pvt, "%s is read-only: it cannot be assigned",
			    pvt->text);
	if (!(s->e = parse_expr(P)))
		return NULL;
	if (end_stmt(P, "the assignment") < 0)
		return NULL;
	return s;
}

/* exit / drop / return, with optional "()" for exit and drop. */
static int empty_parens(parser_t *P)
{
	if (is_op(peek(P), "(") && is_op(peek_at(P, 1), ")")) {
		next(P);
		next(P);
	}
	return 0;
}

static nv_stmt_t *parse_stmt(parser_t *P)
{
	const cfg_tok_t *t = next(P);
	nv_stmt_t *s;
	nv_expr_t *e;
	char b[80];

	if (is_op(t, ";"))
		return NULL;
	if (is_op(t, "{")) {
		s = mk_stmt(P, NV_S_BLOCK, t);
		if (!s || parse_list(P, 1, t, &s->body) < 0)
			return NULL;
		return s;
	}
	if (t->kind == CFG_T_PVAR)
		return parse_assign(P, t);
	if (t->kind != CFG_T_ID)
		return perr(P, t, "expected a statement, got %s",
			    show(t, b, sizeof(b)));
	if (!strcmp(t->text, "if"))
		return parse_if(P, t);
	if (!strcmp(t->text, "while"))
		return parse_while(P, t);
	if (!strcmp(t->text, "switch"))
		return parse_switch(P, t);
	if (!strcmp(t->text, "else"))
		return perr(P, t, "'else' without 'if'");
	if (!strcmp(t->text, "case") || !strcmp(t->text, "default"))
		return perr(P, t, "'%s' outside a switch", t->text);
	if (!strcmp(t->text, "exit") || !strcmp(t->text, "drop")) {
		s = mk_stmt(P, t->text[0] == 'e' ? NV_S_EXIT : NV_S_DROP, t);
		if (!s)
			return NULL;
		empty_parens(P);
		return end_stmt(P, t->text) < 0 ? NULL : s;
	}
	if (!strcmp(t->text, "break")) {
		if (!P->loops && !P->switches)
			return perr(P, t,
				    "'break' outside a switch or a while");
		s = mk_stmt(P, NV_S_BREAK, t);
		return !s || end_stmt(P, "break") < 0 ? NULL : s;
	}
	if (!strcmp(t->text, "return")) {
		s = mk_stmt(P, NV_S_RETURN, t);
		if (!s)
			return NULL;
		if (!is_op(peek(P), ";") && !(s->e = parse_expr(P)))
			return NULL;
		return end_stmt(P, "return") < 0 ? NULL : s;
	}
	P->i--; /* an expression statement: a call */
	e = parse_expr(P);
	if (!e)
		return NULL;
	if (e->op != NV_E_CALL && e->op != NV_E_ROUTE)
		return perr(P, t,
			    "expected a statement (a function call, an "
			    "assignment, if, switch, while, return, exit, "
			    "drop), got an expression");
	s = mk_stmt(P, NV_S_EXPR, t);
	if (!s)
		return NULL;
	s->e = e;
	return end_stmt(P, e->op == NV_E_CALL ? "the function call"
					      : "route()") < 0
		   ? NULL
		   : s;
}

/* ---- entry ---- */

nv_prog_t *nv_compile(const cfg_route_t *routes, char *err, size_t errlen)
{
	parser_t P;
	nv_prog_t *prog = calloc(1, sizeof(*prog));
	size_t n = 0, k = 0;

	nv_register_pvs();
	memset(&P, 0, sizeof(P));
	P.err = err;
	P.errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	if (!prog) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	P.prog = prog;
	for (const cfg_route_t *r = routes; r; r = r->next)
		n++;
	prog->routes = calloc(n ? n : 1, sizeof(*prog->routes));
	if (!prog->routes) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* every block first, so that route(X) may name a later one */
	for (const cfg_route_t *r = routes; r; r = r->next, k++) {
		nv_route_t *nr = &prog->routes[k];
		cfg_tok_t at = {0};

		at.file = r->file;
		at.line = r->line;
		at.col = r->col;
		nr->type = r->type;
		nr->pos = pos_of(&P, &at);
		if (r->name &&
		    !(nr->name = pstrndup(prog, r->name, strlen(r->name)))) {
			nomem(&P, &at);
			goto fail;
		}
		prog->nroutes = k + 1;
		if (r->type == CFG_RT_REQUEST)
			prog->request = nr;
		else if (r->type == CFG_RT_ONSEND)
			prog->onsend = nr;
		else if (r->type == CFG_RT_REPLY ||
			 (r->type == CFG_RT_ONREPLY && !r->name)) {
			if (prog->reply) {
				perr(
				    &P, &at,
				    "reply_route and onreply_route { } are the "
				    "same block (first at %s:%d:%d)",
				    prog->reply->pos.file,
				    prog->reply->pos.line,
				    prog->reply->pos.col);
				goto fail;
			}
			prog->reply = nr;
		}
	}
	k = 0;
	for (const cfg_route_t *r = routes; r; r = r->next, k++) {
		nv_route_t *nr = &prog->routes[k];

		P.t = r->toks;
		P.n = r->ntoks;
		P.i = 0;
		memset(&P.eof, 0, sizeof(P.eof));
		P.eof.kind = CFG_T_EOF;
		P.eof.text = "";
		if (r->ntoks) {
			P.eof.file = r->toks[r->ntoks - 1].file;
			P.eof.line = r->toks[r->ntoks - 1].line;
			P.eof.col = r->toks[r->ntoks - 1].col +
				    (int)r->toks[r->ntoks - 1].len;
		} else {
			P.eof.file = r->file;
			P.eof.line = r->line;
			P.eof.col = r->col;
		}
		P.loops = P.switches = 0;
		if (parse_list(&P, 0, NULL, &nr->body) < 0)
			goto fail;
	}
	free(P.files);
	return prog;
fail:
	if (!P.failed && err && errlen && !err[0])
		snprintf(err, errlen, "cannot compile the route blocks");
	free(P.files);
	nv_prog_free(prog);
	return NULL;
}
