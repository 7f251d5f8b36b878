/* nv_funcs.c - native function names to KSR exports.
 *
 * Kamailio's native function names are mostly the KEMI names without the
 * module prefix (sl_send_reply, t_relay, lookup, has_totag), so a name is
 * looked up across the exports of the loaded modules. The table below
 * covers the natives whose KEMI twin has another name or other parameters
 * (mf_process_maxfwd_header("10") is maxfwd.process_maxfwd(10), save("t")
 * is registrar.save("t", 0), xlog("fmt") is xlog.xlog("L_ERR", "fmt")),
 * the arguments the callee must receive as written (formats that xlog and
 * auth evaluate themselves, regular expressions), the arguments naming a
 * route (t_on_failure), and a few core actions implemented here because
 * no export has their shape (forward(host, port), strip(n), log(level,
 * msg), revert_uri()). "module.function" always names an export. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fwd.h"
#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "engines/native/nv.h"

/* ---- core actions implemented by the engine ---- */

#define MSG (R->ctx->msg)

/* forward(dst) / forward(host, port): stateless forward to a host or URI. */
static int nf_forward(nv_run_t *R, const ksr_arg_t *a)
{
	char buf[512];
	str_t host = a[0].s, port = a[1].s;
	int n;

	if (!host.len)
		return osp_forward_request(MSG, STR_NULL);
	if (host.len > 4 && (!strncasecmp(host.s, "sip:", 4) ||
			     !strncasecmp(host.s, "sips:", 5)))
		n = snprintf(buf, sizeof(buf), "%.*s", STR_FMT(host));
	else if (port.len)
		n = snprintf(buf, sizeof(buf), "sip:%.*s:%.*s", STR_FMT(host),
			     STR_FMT(port));
	else
		n = snprintf(buf, sizeof(buf), "sip:%.*s", STR_FMT(host));
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return osp_forward_request(MSG, (str_t){buf, (size_t)n});
}

/* log([level,] text): Kamailio's numeric levels (L_ALERT -5 .. L_DBG 3);
 * without a level the text goes out at debug level, as in Kamailio. */
static int nf_log(nv_run_t *R, const ksr_arg_t *a)
{
	long lvl = a[0].n;

	if (lvl < L_CRIT)
		lvl = L_CRIT;
	if (lvl > L_DBG)
		lvl = L_DBG;
	if (osp_log_level >= lvl)
		osp_log((int)lvl, "<script>", 0, "%.*s", STR_FMT(a[1].s));
	return 1;
}

/* is_method("INVITE|BYE"): Kamailio's native form takes a list of
 * methods separated by '|', compared case-insensitively (KSR.is_method
 * takes one name). Replies are tested by their CSeq method. */
static int nf_is_method(nv_run_t *R, const ksr_arg_t *a)
{
	str_t m = STR_NULL, list = a[0].s;
	sip_cseq_t *cs;

	if (!MSG)
		return -1;
	if (MSG->kind == SIP_REQUEST) {
		m = MSG->method;
	} else {
		cs = sip_get_cseq(MSG);
		if (cs)
			m = cs->method;
	}
	while (list.len) {
		const char *bar = memchr(list.s, '|', list.len);
		size_t n = bar ? (size_t)(bar - list.s) : list.len;

		if (str_caseeq((str_t){list.s, n}, m))
			return 1;
		if (!bar)
			break;
		list.s += n + 1;
		list.len -= n + 1;
	}
	return -1;
}

static int nf_revert_uri(nv_run_t *R, const ksr_arg_t *a)
{
	if (!MSG || MSG->kind != SIP_REQUEST)
		return -1;
	MSG->new_uri = STR_NULL;
	MSG->new_uri_parsed = NULL;
	return 1;
}

/* Rewrite one part of the current R-URI. */
static int rewrite(nv_run_t *R, sip_uri_part_t part, str_t val)
{
	sip_uri_t *u;
	str_t out;

	if (!MSG || MSG->kind != SIP_REQUEST)
		return -1;
	u = sip_get_cur_ruri(MSG);
	if (!u || sip_uri_replace(MSG->arena, sip_cur_uri(MSG), u, part, val,
				  &out) < 0)
		return -1;
	return sip_set_ruri(MSG, out) < 0 ? -1 : 1;
}

static int nf_strip(nv_run_t *R, const ksr_arg_t *a)
{
	sip_uri_t *u = MSG ? sip_get_cur_ruri(MSG) : NULL;
	str_t user;

	if (!u || a[0].n < 0)
		return -1;
	user = u->user;
	if ((size_t)a[0].n >= user.len)
		user = STR_LIT("");
	else
		user = (str_t){user.s + a[0].n, user.len - (size_t)a[0].n};
	return rewrite(R, SIP_URI_PART_USER, user);
}

static int nf_strip_tail(nv_run_t *R, const ksr_arg_t *a)
{
	sip_uri_t *u = MSG ? sip_get_cur_ruri(MSG) : NULL;
	str_t user;

	if (!u || a[0].n < 0)
		return -1;
	user = u->user;
	user.len = (size_t)a[0].n >= user.len ? 0 : user.len - (size_t)a[0].n;
	return rewrite(R, SIP_URI_PART_USER, user);
}

static int nf_prefix(nv_run_t *R, const ksr_arg_t *a)
{
	sip_uri_t *u = MSG ? sip_get_cur_ruri(MSG) : NULL;
	char *p;

	if (!u)
		return -1;
	p = nv_alloc(R, a[0].s.len + u->user.len);
	if (!p)
		return -1;
	memcpy(p, a[0].s.s, a[0].s.len);
	memcpy(p + a[0].s.len, u->user.s, u->user.len);
	return rewrite(R, SIP_URI_PART_USER,
		       (str_t){p, a[0].s.len + u->user.len});
}

static int nf_sethostport(nv_run_t *R, const ksr_arg_t *a)
{
	return rewrite(R, SIP_URI_PART_HOSTPORT, a[0].s);
}

static int nf_setport(nv_run_t *R, const ksr_arg_t *a)
{
	return rewrite(R, SIP_URI_PART_PORT, a[0].s);
}

/* ---- the table ---- */

#define S KSR_STR
#define I KSR_INT
#define ID                                                                     \
	{                                                                      \
		0, 1, 2, 3, 4, 5                                               \
	}

typedef struct fdef {
	const char *name;
	int nmin, nmax;		 /* native argument counts this entry takes */
	const char *mod, *kname; /* the export; mod NULL: native */
	nv_native_fn native;
	ksr_type_t ptypes[KSR_PARAMS_MAX]; /* native functions */
	signed char map[KSR_PARAMS_MAX];
	const char *defs[KSR_PARAMS_MAX];
	unsigned raw_fmt, raw_re;
	int route_arg; /* 1-based; 0 none */
	cfg_route_type_t rtype;
	const char *prefix;
} fdef_t;

/* An export under another name, same arguments. */
#define ALIAS(n, lo, hi, m, k)                                                 \
	{                                                                      \
		n, lo, hi, m, k, NULL, {0}, ID, {0}, 0, 0, 0, 0, NULL          \
	}
/* Same, with arguments passed as written. */
#define RAWF(n, lo, hi, m, k, bits)                                            \
	{                                                                      \
		n, lo, hi, m, k, NULL, {0}, ID, {0}, bits, 0, 0, 0, NULL       \
	}
#define RAWR(n, lo, hi, m, k, bits)                                            \
	{                                                                      \
		n, lo, hi, m, k, NULL, {0}, ID, {0}, 0, bits, 0, 0, NULL       \
	}
#define ROUTE(n, k, rt, pfx)                                                   \
	{                                                                      \
		n, 1, 1, "tm", k, NULL, {0}, ID, {0}, 0, 0, 1, rt, pfx         \
	}
#define NATIVE(n, lo, hi, fn, ...)                                             \
	{                                                                      \
		n, lo, hi, NULL, NULL, fn, {__VA_ARGS__}, ID, {0}, 0, 0, 0, 0, \
		    NULL                                                       \
	}

/* clang-format off: one entry per line reads better here */
static const fdef_t fdefs[] = {
    /* maxfwd, sanity */
    ALIAS("mf_process_maxfwd_header", 1, 1, "maxfwd", "process_maxfwd"),
    ALIAS("sanity_check", 0, 0, "sanity", "sanity_check_defaults"),
    {"sanity_check",
     1,
     1,
     "sanity",
     "sanity_check",
     NULL,
     {0},
     {0, -1},
     {NULL, "7"},
     0,
     0,
     0,
     0,
     NULL},
    ALIAS("sanity_check", 2, 2, "sanity", "sanity_check"),
    /* xlog: the format is xlog's to evaluate */
    {"xlog",
     1,
     1,
     "xlog",
     "xlog",
     NULL,
     {0},
     {-1, 0},
     {"L_ERR"},
     1,
     0,
     0,
     0,
     NULL},
    RAWF("xlog", 2, 2, "xlog", "xlog", 2),
    RAWF("xdbg", 1, 1, "xlog", "xdbg", 1),
    RAWF("xinfo", 1, 1, "xlog", "xinfo", 1),
    RAWF("xnotice", 1, 1, "xlog", "xnotice", 1),
    RAWF("xwarn", 1, 1, "xlog", "xwarn", 1),
    RAWF("xerr", 1, 1, "xlog", "xerr", 1),
    RAWF("xcrit", 1, 1, "xlog", "xcrit", 1),
    RAWF("xalert", 1, 1, "xlog", "xalert", 1),
    {"xbug",
     1,
     1,
     "xlog",
     "xlog",
     NULL,
     {0},
     {-1, 0},
     {"L_BUG"},
     1,
     0,
     0,
     0,
     NULL},
    /* headers (textops names in Kamailio, hdr exports here) */
    ALIAS("append_hf", 1, 1, "hdr", "append"),
    ALIAS("append_hf", 2, 2, "hdr", "append_after"),
    ALIAS("insert_hf", 1, 1, "hdr", "insert"),
    ALIAS("insert_hf", 2, 2, "hdr", "insert_before"),
    ALIAS("append_to_reply", 1, 1, "hdr", "append_to_reply"),
    /* textops: regular expressions and substitutions as written */
    RAWR("search", 1, 1, "textops", "search", 1),
    RAWR("search_body", 1, 1, "textops", "search_body", 1),
    RAWR("search_append", 2, 2, "textops", "search_append", 1),
    RAWR("search_append_body", 2, 2, "textops", "search_append_body", 1),
    RAWR("search_hf", 3, 3, "textops", "search_hf", 2),
    RAWR("replace", 2, 2, "textops", "replace", 1),
    RAWR("replace_all", 2, 2, "textops", "replace_all", 1),
    RAWR("replace_body", 2, 2, "textops", "replace_body", 1),
    RAWR("replace_body_all", 2, 2, "textops", "replace_body_all", 1),
    RAWR("replace_body_atonce", 2, 2, "textops", "replace_body_atonce", 1),
    RAWR("subst", 1, 1, "textops", "subst", 1),
    RAWR("subst_uri", 1, 1, "textops", "subst_uri", 1),
    RAWR("subst_user", 1, 1, "textops", "subst_user", 1),
    RAWR("subst_body", 1, 1, "textops", "subst_body", 1),
    RAWR("subst_hf", 3, 3, "textops", "subst_hf", 2),
    RAWR("is_present_hf_re", 1, 1, "textops", "is_present_hf_re", 1),
    RAWR("remove_hf_re", 1, 1, "textops", "remove_hf_re", 1),
    RAWR("remove_hf_exp", 2, 2, "textops", "remove_hf_exp", 3),
    /* rr */
    ALIAS("record_route", 1, 1, "rr", "record_route_params"),
    ALIAS("record_route_preset", 1, 1, "rr", "record_route_preset_one"),
    /* registrar */
    {"save",
     1,
     1,
     "registrar",
     "save",
     NULL,
     {0},
     {0, -1},
     {NULL, "0"},
     0,
     0,
     0,
     0,
     NULL},
    ALIAS("save", 3, 3, "registrar", "save_uri"),
    ALIAS("lookup", 2, 2, "registrar", "lookup_uri"),
    ALIAS("registered", 2, 2, "registrar", "registered_uri"),
    ALIAS("unregister", 3, 3, "registrar", "unregister_ruid"),
    /* auth: realms and tables are formats the modules evaluate */
    RAWF("auth_challenge", 2, 2, "auth", "auth_challenge", 1),
    RAWF("www_challenge", 2, 2, "auth", "www_challenge", 1),
    RAWF("proxy_challenge", 2, 2, "auth", "proxy_challenge", 1),
    RAWF("www_authenticate", 2, 2, "auth_db", "www_authenticate", 3),
    RAWF("www_authenticate", 3, 3, "auth_db", "www_authenticate_method", 3),
    RAWF("proxy_authenticate", 2, 2, "auth_db", "proxy_authenticate", 3),
    RAWF("auth_check", 3, 3, "auth_db", "auth_check", 3),
    RAWF("is_subscriber", 3, 3, "auth_db", "is_subscriber", 3),
    /* tm */
    ROUTE("t_on_failure", "t_on_failure", CFG_RT_FAILURE, NULL),
    ROUTE("t_on_branch", "t_on_branch", CFG_RT_BRANCH, NULL),
    ROUTE("t_on_reply", "t_on_reply", CFG_RT_ONREPLY, NULL),
    ROUTE("t_on_branch_failure", "t_on_branch_failure", CFG_RT_EVENT,
	  "tm:branch-failure:"),
    {"t_set_fr",
     1,
     1,
     "tm",
     "t_set_fr",
     NULL,
     {0},
     {0, -1},
     {NULL, "0"},
     0,
     0,
     0,
     0,
     NULL},
    RAWR("t_check_status", 1, 1, "tm", "t_check_status", 1),
    /* permissions: the address group defaults to 1 */
    {"allow_source_address",
     0,
     0,
     "permissions",
     "allow_source_address",
     NULL,
     {0},
     {-1},
     {"1"},
     0,
     0,
     0,
     0,
     NULL},
    /* corex */
    ALIAS("append_branch", 0, 0, "corex", "append_branch"),
    ALIAS("append_branch", 1, 1, "corex", "append_branch_uri"),
    ALIAS("append_branch", 2, 2, "corex", "append_branch_uri_q"),
    /* core actions */
    ALIAS("forward", 0, 0, "", "forward"),
    NATIVE("forward", 1, 2, nf_forward, S, S),
    {"log", 1, 1, NULL, NULL, nf_log, {I, S}, {-1, 0}, {"3"}, 0, 0, 0, 0, NULL},
    NATIVE("log", 2, 2, nf_log, I, S),
    NATIVE("is_method", 1, 1, nf_is_method, S),
    NATIVE("revert_uri", 0, 0, nf_revert_uri, 0),
    NATIVE("strip", 1, 1, nf_strip, I),
    NATIVE("strip_tail", 1, 1, nf_strip_tail, I),
    NATIVE("prefix", 1, 1, nf_prefix, S),
    NATIVE("sethostport", 1, 1, nf_sethostport, S),
    NATIVE("rewritehostport", 1, 1, nf_sethostport, S),
    NATIVE("setport", 1, 1, nf_setport, S),
    NATIVE("rewriteport", 1, 1, nf_setport, S),
    ALIAS("rewriteuri", 1, 1, "", "seturi"),
    ALIAS("rewritehost", 1, 1, "", "sethost"),
    ALIAS("rewriteuser", 1, 1, "", "setuser"),
    ALIAS("setbflag", 2, 2, "", "setbiflag"),
    ALIAS("resetbflag", 2, 2, "", "resetbiflag"),
    ALIAS("isbflagset", 2, 2, "", "isbiflagset"),
    {NULL, 0, 0, NULL, NULL, NULL, {0}, {0}, {0}, 0, 0, 0, 0, NULL},
};
/* clang-format on */

/* Export by name in the compiled-in modules that are not loaded: for the
 * "add loadmodule" hint. */
static const char *unloaded_module_of(const char *mod, const char *name)
{
	for (osp_module_t **m = osp_modules; *m; m++) {
		if ((*m)->loaded || (*m)->always || !(*m)->exports)
			continue;
		for (const ksr_export_t *e = (*m)->exports; e->name; e++)
			if ((!mod || !strcmp(e->module, mod)) &&
			    !strcmp(e->name, name))
				return (*m)->name;
	}
	return NULL;
}

static int fill_from_export(const ksr_export_t *e, nv_fres_t *out)
{
	out->e = e;
	out->nparams = ksr_export_nparams(e);
	for (int i = 0; i < KSR_PARAMS_MAX; i++) {
		out->map[i] = (signed char)i;
		out->defs[i] = NULL;
		out->ptypes[i] = e->ptypes[i];
	}
	return 0;
}

static int arity_error(const char *name, int lo, int hi, int got, char *err,
		       size_t errlen)
{
	if (lo == hi)
		snprintf(err, errlen, "%s() takes %d parameter%s, got %d", name,
			 lo, lo == 1 ? "" : "s", got);
	else
		snprintf(err, errlen, "%s() takes %d to %d parameters, got %d",
			 name, lo, hi, got);
	return -1;
}

static int not_loaded(const char *shown, const char *mod, char *err,
		      size_t errlen)
{
	snprintf(err, errlen,
		 "%s() needs module %s, which is not loaded (add loadmodule "
		 "\"%s.so\")",
		 shown, mod, mod);
	return -1;
}

int nv_func_resolve(const char *name, int nargs, nv_fres_t *out, char *err,
		    size_t errlen)
{
	const char *dot = strchr(name, '.');
	const fdef_t *d, *named = NULL;
	const ksr_export_t *e, *found = NULL;
	int lo = 99, hi = -1, nfound = 0, n = ksr_registry_count();
	char mods[256];
	size_t mpos = 0;

	memset(out, 0, sizeof(*out));
	out->route_arg = -1;
	if (dot) {
		char mod[64];
		const char *um;

		snprintf(mod, sizeof(mod), "%.*s", (int)(dot - name), name);
		e = ksr_registry_find(mod, dot + 1);
		if (!e) {
			um = unloaded_module_of(mod, dot + 1);
			if (um)
				return not_loaded(name, um, err, errlen);
			snprintf(err, errlen, "unknown function %s()", name);
			return -1;
		}
		fill_from_export(e, out);
		if (out->nparams != nargs)
			return arity_error(name, out->nparams, out->nparams,
					   nargs, err, errlen);
		return 0;
	}
	for (d = fdefs; d->name; d++) {
		if (strcmp(d->name, name) != 0)
			continue;
		named = d;
		if (d->nmin < lo)
			lo = d->nmin;
		if (d->nmax > hi)
			hi = d->nmax;
		if (nargs < d->nmin || nargs > d->nmax)
			continue;
		if (d->mod) {
			e = ksr_registry_find(d->mod, d->kname);
			if (!e)
				return not_loaded(name, d->mod, err, errlen);
			fill_from_export(e, out);
		} else {
			out->native = d->native;
			out->nparams = 0;
			while (out->nparams < KSR_PARAMS_MAX &&
			       d->ptypes[out->nparams])
				out->nparams++;
			memcpy(out->ptypes, d->ptypes, sizeof(out->ptypes));
		}
		memcpy(out->map, d->map, sizeof(out->map));
		memcpy(out->defs, d->defs, sizeof(out->defs));
		/* a default-less slot past the arguments given is empty */
		for (int i = 0; i < out->nparams; i++)
			if (out->map[i] >= nargs && !out->defs[i]) {
				out->map[i] = -1;
				out->defs[i] = "";
			}
		out->raw_fmt = d->raw_fmt;
		out->raw_re = d->raw_re;
		out->route_arg = d->route_arg - 1;
		out->route_type = d->rtype;
		out->route_prefix = d->prefix;
		return 0;
	}
	/* not in the table (or no entry for this count): the exports */
	mods[0] = '\0';
	for (int i = 0; i < n; i++) {
		e = ksr_registry_get(i);
		if (strcmp(e->name, name) != 0)
			continue;
		if (!found || ksr_export_nparams(e) == nargs)
			found = e;
		nfound++;
		if (mpos < sizeof(mods) - 1) {
			int k = snprintf(mods + mpos, sizeof(mods) - mpos,
					 "%s%s", mpos ? ", " : "",
					 *e->module ? e->module : "core");
			if (k > 0)
				mpos += (size_t)k;
		}
	}
	if (nfound > 1) {
		snprintf(err, errlen,
			 "%s() is ambiguous (modules %s): write module.%s()",
			 name, mods, name);
		return -1;
	}
	if (found) {
		fill_from_export(found, out);
		if (named) {
			/* the table knows other counts for this name */
			int np = out->nparams;

			if (np < lo)
				lo = np;
			if (np > hi)
				hi = np;
		}
		if (out->nparams != nargs)
			return arity_error(name, named ? lo : out->nparams,
					   named ? hi : out->nparams, nargs,
					   err, errlen);
		return 0;
	}
	if (named)
		return arity_error(name, lo, hi, nargs, err, errlen);
	{
		const char *um = unloaded_module_of(NULL, name);

		if (um)
			return not_loaded(name, um, err, errlen);
	}
	snprintf(err, errlen, "unknown function %s()", name);
	return -1;
}

/* As the Lua engine: logging, KSR.x, kx, pv, htable and xlog work without
 * a message; the rest needs one. */
int nv_func_no_msg_ok(const ksr_export_t *e)
{
	static const char *core_names[] = {"dbg",    "err",  "info", "warn",
					   "notice", "crit", "log",  NULL};
	static const char *mods[] = {"x", "kx", "pv", "htable", "xlog", NULL};

	if (!e)
		return 0;
	for (int i = 0; mods[i]; i++)
		if (!strcmp(e->module, mods[i]))
			return 1;
	if (e->module[0])
		return 0;
	for (int i = 0; core_names[i]; i++)
		if (!strcmp(e->name, core_names[i]))
			return 1;
	return 0;
}
