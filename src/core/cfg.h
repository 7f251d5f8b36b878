/* cfg.h - the configuration front end: kamailio.cfg syntax.
 *
 * cfg_load() reads the configuration file, runs the preprocessor
 * (#!define, #!ifdef, include_file, ...), parses it and applies it: global
 * parameters go into osp_g, loadmodule marks modules loaded, modparam sets
 * module parameters, cfgengine picks the routing engine.
 *
 * Route blocks (request_route, route[NAME], failure_route[NAME], ...) are
 * not interpreted here: each one is kept as the list of its tokens, after
 * preprocessing (defines substituted, #!ifdef resolved, includes expanded,
 * string literals decoded), every token with the file, line and column it
 * came from, so the native route language can be compiled from them later
 * and its errors point at the user's text.
 *
 * Errors are reported as "FILE:LINE:COL: message" in the caller's buffer.
 * See docs/configuration.md for the accepted syntax. */
#ifndef OSP_CFG_H
#define OSP_CFG_H

#include <stddef.h>

typedef enum cfg_tok_kind {
	CFG_T_EOF = 0,
	CFG_T_ID,   /* identifier or keyword, also words starting with a digit
		     * that are not numbers ("5060abc", "0db8") */
	CFG_T_NUM,  /* integer (decimal, 0x hex, 0 octal, 0101b binary): num */
	CFG_T_STR,  /* string literal: text is the decoded value (escapes done,
		     * adjacent literals joined, #!subst rules applied) */
	CFG_T_PVAR, /* pseudo-variable as written: "$ru", "$var(x)",
		       "$(ru{s.len})" */
	CFG_T_OP, /* punctuation or operator: "(", ";", "==", "&&", "=~", ... */
	CFG_T_DIRECTIVE, /* preprocessor only: never in a route body */
} cfg_tok_kind_t;

/* One token. text is NUL-terminated (a string literal may also hold NUL
 * bytes: use len) and lives as long as the configuration it belongs to.
 * The lexer has no token for addresses or host names: "2001:db8::1" or
 * "sip-1.example.com" in a route body arrive as several tokens with
 * space 0 between them, to be glued by whoever needs them whole (the
 * listen parameter does so). A token that came from a define carries the
 * position where the define was used. */
typedef struct cfg_tok {
	cfg_tok_kind_t kind;
	const char *text;
	size_t len;
	long num;	  /* CFG_T_NUM */
	const char *file; /* file the token was read from (or where the define
			   * it came from was used) */
	int line, col;	  /* 1-based; a tab counts as one column */
	int space;	  /* before the token: 0 nothing, 1 blanks or comments
			   * on the same line, 2 a line break */
} cfg_tok_t;

typedef enum cfg_route_type {
	CFG_RT_REQUEST = 0, /* request_route { }, also route { } and route[0] */
	CFG_RT_ROUTE,	    /* route[NAME] { } */
	CFG_RT_BRANCH,	    /* branch_route[NAME] */
	CFG_RT_FAILURE,	    /* failure_route[NAME] */
	CFG_RT_ONREPLY, /* onreply_route[NAME]; name NULL: onreply_route { } */
	CFG_RT_REPLY,	/* reply_route { } */
	CFG_RT_ONSEND,	/* onsend_route { } */
	CFG_RT_EVENT,	/* event_route[module:event] */
} cfg_route_type_t;

/* A route block, uninterpreted: its body tokens without the outer braces. */
typedef struct cfg_route {
	cfg_route_type_t type;
	const char *name; /* NULL for unnamed blocks */
	const char *file; /* where the keyword is */
	int line, col;
	const cfg_tok_t *toks;
	size_t ntoks;
	const struct cfg_route *next; /* in the order of the file */
} cfg_route_t;

/* One parsed configuration (opaque). */
typedef struct cfg_file cfg_file_t;

/* Read, preprocess, parse and apply the configuration at path. The result
 * becomes the current configuration (routes, defines) and the previous one
 * is freed. Returns 0, or -1 with err = "FILE:LINE:COL: message" (or
 * "FILE: message" when there is no position) and nothing current changed
 * except what was applied before the error. osp_g.defines (-A) must be set
 * before. */
int cfg_load(const char *path, char *err, size_t errlen);

/* Parse without touching osp_g or the modules when apply is 0 (a check, or
 * a native-route reload): loadmodule only checks that the module exists and
 * modparam that the module and the parameter exist. With apply set, this is
 * what cfg_load does, without making the result current. NULL on error,
 * err filled. Free with cfg_file_free. */
cfg_file_t *cfg_parse(const char *path, int apply, char *err, size_t errlen);
void cfg_file_free(cfg_file_t *cf);
const cfg_route_t *cfg_file_routes(const cfg_file_t *cf);
/* 1 and *value (the define's text as written, "" when it has none) when
 * name is defined at the end of the file; 0 otherwise. value may be NULL. */
int cfg_file_defined(const cfg_file_t *cf, const char *name,
		     const char **value);

/* The settings (global parameters, loadmodule, modparam, cfgengine) whose
 * values differ between two parsed configurations: their names ("children",
 * "modparam(\"tm\", \"fr_timer\")", "loadmodule") comma-separated in out,
 * each once. Returns how many differ (0: same settings). A reload of the
 * route blocks uses it to refuse changes that need a restart. */
int cfg_file_settings_diff(const cfg_file_t *a, const cfg_file_t *b,
			   char *out, size_t cap);
/* The configuration in force (the last cfg_load), NULL before. */
const cfg_file_t *cfg_current_file(void);

/* The current configuration (set by cfg_load). NULL/0 before. */
const cfg_route_t *cfg_routes(void);
int cfg_has_routes(void);
/* First route block of this type and name (name NULL for unnamed ones). */
const cfg_route_t *cfg_route_find(cfg_route_type_t type, const char *name);
/* For KSR.kx.ifdef / KSR.kx.get_def: the final define table. */
int cfg_defined(const char *name, const char **value);
/* Custom global parameters "group.name = value [desc "..."]" (Kamailio's
 * cfg framework variables). 1 with *sval (NULL for integers) and *ival set,
 * 0 when not set. */
int cfg_custom(const char *group_dot_name, const char **sval, long *ival);
/* Free the current configuration (at shutdown). */
void cfg_free(void);

/* "request_route", "route", "failure_route", ... */
const char *cfg_route_type_name(cfg_route_type_t type);

#endif
