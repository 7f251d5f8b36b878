/* nv.h - the native routing language (kamailio.cfg route blocks): the
 * compiled program shared by the compiler (nv_compile.c), the function
 * table (nv_funcs.c), the interpreter (nv_exec.c) and the engine glue
 * (nv_engine.c). Not a public interface: the core sees the engine through
 * engines/engine.h only; the unit tests include this file.
 *
 * Route blocks arrive as token lists (core/cfg.h). nv_compile() turns them
 * into a tree whose leaves are resolved at start: pseudo-variables parsed
 * (pv_spec_t), function calls bound to their ksr_export_t with the
 * constant arguments already converted (ksr_arg_t), formats pre-parsed
 * (pv_fmt_t), regular expressions compiled (PCRE2), route() calls linked
 * to their block. The interpreter walks the tree; nothing is parsed per
 * message. A compiled program is immutable and shared by every worker of
 * a generation. */
#ifndef OSP_NV_H
#define OSP_NV_H

#include <stddef.h>

#include "core/cfg.h"
#include "kemi/kemi.h"
#include "modules/pv/pv.h"

#define NV_MAX_DEPTH 256 /* nested route() calls (max_recursive_level) */
#define NV_MAX_WHILE 100 /* iterations of one while (max_while_loops) */

typedef struct nv_pos {
	const char *file; /* interned in the program */
	int line, col;
} nv_pos_t;

/* ---- expressions ---- */
enum nv_eop {
	NV_E_CONST = 1, /* k */
	NV_E_PV,	/* pv */
	NV_E_CALL,	/* call: a function's return code (or its value) */
	NV_E_ROUTE,	/* route(NAME) used as a value: its return code */
	NV_E_PROTO,	/* keyword proto: the transport id */
	NV_E_AF,	/* keyword af: 4 or 6... as AF_INET / AF_INET6 */
	NV_E_NOT,
	NV_E_NEG,
	NV_E_BNOT,
	NV_E_DEFINED,
	NV_E_STRLEN,
	NV_E_STREMPTY,
	NV_E_INTCAST,
	NV_E_STRCAST,
	NV_E_ADD,
	NV_E_SUB,
	NV_E_MUL,
	NV_E_DIV,
	NV_E_MOD,
	NV_E_BAND,
	NV_E_BOR,
	NV_E_BXOR,
	NV_E_SHL,
	NV_E_SHR,
	NV_E_EQ, /* == and != : typed by the left operand */
	NV_E_NE,
	NV_E_IEQ, /* ieq / ine: as integers */
	NV_E_INE,
	NV_E_SEQ, /* eq / ne: as strings */
	NV_E_SNE,
	NV_E_LT,
	NV_E_GT,
	NV_E_LE,
	NV_E_GE,
	NV_E_MATCH, /* =~ (re: compiled when the pattern is constant) */
	NV_E_NMATCH,
	NV_E_AND,
	NV_E_OR,
	NV_E_MYSELF, /* l == myself; neg: != */
	NV_E_IPNET,  /* src_ip/dst_ip == address[/bits]; neg: != */
};

struct nv_call;
struct nv_route;

typedef struct nv_expr {
	int op;
	int neg;  /* NV_E_MYSELF, NV_E_IPNET: the != form */
	int ipkw; /* a src_ip / dst_ip keyword (for address literals) */
	nv_pos_t pos;
	struct nv_expr *l, *r;
	ksr_xval_t k;		/* NV_E_CONST (strings live in the program) */
	pv_spec_t *pv;		/* NV_E_PV */
	struct nv_call *call;	/* NV_E_CALL */
	struct nv_route *route; /* NV_E_ROUTE */
	void *re;		/* NV_E_MATCH: pcre2_code, NULL when dynamic */
	/* NV_E_IPNET */
	int af;
	unsigned char addr[16];
	int bits;
} nv_expr_t;

/* ---- function calls ---- */
enum nv_akind {
	NV_A_CONST = 0, /* prebuilt ksr_arg_t */
	NV_A_FMT,	/* a string with variables: formatted per call */
	NV_A_EXPR,	/* an expression: evaluated per call */
};

typedef struct nv_arg {
	int kind;
	ksr_type_t type; /* what the export takes: KSR_INT or KSR_STR */
	pv_fmt_t *fmt;
	nv_expr_t *expr;
} nv_arg_t;

typedef struct nv_run nv_run_t;
/* A function implemented by the engine itself (core actions that have no
 * KSR export of the same shape: forward(host, port), strip(n), ...). Same
 * return convention as the exports. */
typedef int (*nv_native_fn)(nv_run_t *R, const ksr_arg_t *args);

typedef struct nv_call {
	const char *name;      /* as written */
	const ksr_export_t *e; /* the export called, or NULL */
	nv_native_fn native;   /* ... or this */
	ksr_type_t rtype;      /* return type (e->rtype, KSR_INT for native) */
	int nargs;	       /* arguments passed */
	int ndyn;	       /* of which evaluated per call */
	int needs_msg;	       /* refuses to run without a SIP message */
	ksr_arg_t pre[KSR_PARAMS_MAX];
	nv_arg_t args[KSR_PARAMS_MAX];
} nv_call_t;

/* ---- statements ---- */
enum nv_skind {
	NV_S_EXPR = 1, /* a function call (or route call) for its effect */
	NV_S_IF,
	NV_S_SWITCH,
	NV_S_WHILE,
	NV_S_RETURN,
	NV_S_EXIT,
	NV_S_DROP,
	NV_S_BREAK,
	NV_S_ASSIGN, /* lhs = e */
	NV_S_ADD,    /* lhs += e */
	NV_S_BLOCK,
};

typedef struct nv_case {
	ksr_xval_t v;		/* the label (int or string) */
	struct nv_stmt *target; /* first statement after the label */
} nv_case_t;

typedef struct nv_stmt {
	int kind;
	nv_pos_t pos;
	struct nv_stmt *next;
	nv_expr_t *e;	      /* condition, value, call */
	pv_spec_t *lhs;	      /* NV_S_ASSIGN, NV_S_ADD */
	struct nv_stmt *body; /* if-then, while, block, switch body */
	struct nv_stmt *els;  /* if-else */
	nv_case_t *cases;     /* NV_S_SWITCH */
	int ncases;
	int str_switch;	     /* labels are strings */
	struct nv_stmt *def; /* default: target */
	int def_set;
} nv_stmt_t;

/* ---- route blocks ---- */
typedef struct nv_route {
	cfg_route_type_t type;
	const char *name; /* NULL for unnamed blocks */
	nv_pos_t pos;
	nv_stmt_t *body;
} nv_route_t;

typedef struct nv_chunk nv_chunk_t;
typedef struct nv_owned nv_owned_t;

/* One compiled configuration. Immutable after nv_compile; shared. */
typedef struct nv_prog {
	nv_route_t *routes;
	size_t nroutes;
	nv_route_t *request, *reply, *onsend;
	unsigned gen;
	int refcnt; /* atomic; see nv_engine.c */
	nv_chunk_t *chunks;
	nv_owned_t *owned; /* pv specs, formats and regexes to free */
} nv_prog_t;

/* Compile the route blocks (a list from cfg_file_routes/cfg_routes). The
 * export registry must be filled (modules_init or modules_register).
 * Returns the program, or NULL with err = "FILE:LINE:COL: message". */
nv_prog_t *nv_compile(const cfg_route_t *routes, char *err, size_t errlen);
void nv_prog_free(nv_prog_t *p);
/* Block of this type and name (name compared when not NULL). */
nv_route_t *nv_prog_find(const nv_prog_t *p, cfg_route_type_t type,
			 const char *name);

/* ---- execution (nv_exec.c) ---- */

/* Per worker (per interpreter instance) state. */
typedef struct nv_inst {
	nv_prog_t *prog;
	void *match_data; /* pcre2_match_data for =~ */
} nv_inst_t;

#define NV_F_RETURN 0x1
#define NV_F_BREAK  0x2
#define NV_F_EXIT   0x4
#define NV_F_ERROR  0x8 /* a fatal script error: the run fails */

struct nv_run {
	ksr_ctx_t *ctx;
	nv_inst_t *in;
	unsigned flags;
	long retval; /* value of the last return */
	int depth;   /* nested route() calls */
};

/* Run one route block: 1 after it ended (return, exit, drop or the end of
 * the block), -1 after a fatal script error (logged). */
int nv_run_route(nv_inst_t *in, ksr_ctx_t *ctx, const nv_route_t *r);

/* Evaluate an expression (the unit tests use it directly). Strings in
 * *out live in the message arena or in the instance's scratch space until
 * the next run. */
void nv_eval(nv_run_t *R, const nv_expr_t *e, ksr_xval_t *out);
int nv_eval_bool(nv_run_t *R, const nv_expr_t *e);
/* Kamailio's conversions: a string is its number when it is one (decimal
 * or 0x hex), else 0; null is 0 and "". */
long nv_to_int(const ksr_xval_t *v);
/* The return code of the last function or route call on this thread
 * ($rc, $retcode). */
long nv_last_rc(void);
void nv_set_last_rc(long rc);
/* Register $rc / $retcode (once; nv_compile does it). */
void nv_register_pvs(void);
/* Free this thread's scratch space (instance teardown, end of compile). */
void nv_scratch_release(void);
/* Memory for a value that lives until the end of the message (the message
 * arena) or, without a message, until the instance's next top-level run. */
char *nv_alloc(nv_run_t *R, size_t n);
void nv_scratch_reset(void);
int nv_regex_match(nv_run_t *R, const void *re, str_t subject);

/* ---- function table (nv_funcs.c) ---- */

/* Result of resolving a native function name with nargs arguments. */
typedef struct nv_fres {
	const ksr_export_t *e;
	nv_native_fn native;
	/* for each parameter of the export: the source argument (0..5) or -1
	 * for a default given in defs[] */
	signed char map[KSR_PARAMS_MAX];
	const char *defs[KSR_PARAMS_MAX];
	int nparams; /* of the export (or native function) */
	ksr_type_t ptypes[KSR_PARAMS_MAX]; /* for native functions */
	unsigned raw_fmt;		   /* args the callee formats itself */
	unsigned raw_re; /* args that are regular expressions */
	int route_arg;	 /* arg naming a route, -1 none */
	cfg_route_type_t route_type;
	const char *route_prefix; /* event_route name prefix */
} nv_fres_t;

/* Resolve name (maybe "module.name") called with nargs arguments. 0, or
 * -1 with a readable reason in err (unknown function, wrong count). */
int nv_func_resolve(const char *name, int nargs, nv_fres_t *out, char *err,
		    size_t errlen);
/* May the export run without a SIP message (event routes)? */
int nv_func_no_msg_ok(const ksr_export_t *e);

#endif
