/* py_engine.c - the Python 3 engine (CPython, the system's libpython3).
 *
 * Kamailio's app_python3 contract: the script defines a global function
 * mod_init() returning a handler object; routes and callbacks are methods
 * of that object called with (self, msg), event routes with (self, msg,
 * event_name); child_init(self, rank) runs when a worker builds its
 * instance. `import KSR` gives the API: a built-in module generated from
 * the export registry, with KSR.<module> submodules (also in sys.modules as
 * "KSR.<module>").
 *
 * One interpreter per process, started by the first create(), so one GIL
 * (Python 3.11). An instance is a fresh module object executed from the
 * osp_script_t's source plus the handler mod_init() returned; reload builds
 * a new one the same way. Every entry point takes the GIL with
 * PyGILState_Ensure and gives it back before returning; KSR calls give it
 * back while the C function runs (unless modparam release_gil is 0), so
 * another worker can run Python while this one sends a reply or waits on a
 * lock (see docs/engine-python.md for the measured effect). Python is never
 * finalized: see py_engine_shutdown().
 *
 * KSR.x.exit() and KSR.x.drop() raise a private exception derived from
 * BaseException (so `except Exception:` in a script does not swallow it)
 * that run() recognises; SystemExit (sys.exit()) is taken as exit too, as
 * Kamailio does. Any other exception is logged with its traceback and the
 * run returns -1. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <arpa/inet.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/osp.h"
#include "engines/engine.h"
#include "engines/python/py_engine.h"

/* The SIP message handed to route methods (Kamailio's msg argument): a
 * few read-only attributes. Valid only while the route that received it
 * runs; the object is reused by every run of its instance. */
typedef struct py_msg {
	PyObject_HEAD
	ksr_ctx_t *ctx;
} py_msg_t;

#define PY_HAS_CACHE 16

typedef struct py_inst {
	PyObject *module;  /* the script, executed */
	PyObject *handler; /* what mod_init() returned */
	py_msg_t *msg;
	osp_script_t *script;
	/* has() answers, remembered so that per-message checks for optional
	 * callbacks (ksr_reply_route, ksr_onsend_route) need no GIL */
	int nhas;
	struct {
		char name[64];
		int present;
	} has[PY_HAS_CACHE];
} py_inst_t;

enum { PY_OFF = 0, PY_RUNNING = 1, PY_FAILED = -1, PY_FINALIZED = 2 };

static pthread_once_t start_once = PTHREAD_ONCE_INIT;
static int py_state;
static char py_start_err[256];
static int release_gil = 1;
static char *mod_init_name;   /* NULL: "mod_init" */
static char *child_init_name; /* NULL: "child_init" */
static PyObject *exit_exc;    /* raised by KSR.x.exit() / KSR.x.drop() */
static PyObject *tb_format, *tb_format_only, *tb_extract;
static PyMethodDef *ksr_defs; /* one per export, never freed (see shutdown) */

/* The route being run by this thread (KSR calls find their message here),
 * and this thread's pin on its Python thread state: the first instance a
 * thread creates takes one extra PyGILState_Ensure, the last one it
 * destroys gives it back, so the thread state is not rebuilt per call. */
static _Thread_local ksr_ctx_t *tl_ctx;
static _Thread_local int tl_pins;
static _Thread_local PyGILState_STATE tl_pin_state;

static const char *mod_init_fn(void)
{
	return mod_init_name ? mod_init_name : "mod_init";
}

static const char *child_init_fn(void)
{
	return child_init_name ? child_init_name : "child_init";
}

static int set_name(char **dst, const char *v)
{
	char *dup = strdup(v);

	if (!dup)
		return -OSP_ENOMEM;
	free(*dst);
	*dst = dup;
	return 0;
}

int py_engine_set_mod_init(const char *fname)
{
	return set_name(&mod_init_name, fname);
}

int py_engine_set_child_init(const char *mname)
{
	return set_name(&child_init_name, mname);
}

void py_engine_set_release_gil(int on)
{
	release_gil = on != 0;
}

/* Bytes from SIP become str: UTF-8, with undecodable bytes kept as lone
 * surrogates (surrogateescape) so that they go back unchanged. */
static PyObject *str_to_py(str_t s)
{
	return PyUnicode_DecodeUTF8(s.s ? s.s : "", (Py_ssize_t)s.len,
				    "surrogateescape");
}

/* ------------------------------------------------------------ msg object */

static sip_msg_t *msg_of(PyObject *self)
{
	py_msg_t *m = (py_msg_t *)self;

	if (!m->ctx || !m->ctx->msg) {
		PyErr_SetString(PyExc_RuntimeError,
				"msg is only valid during the route call that "
				"received it");
		return NULL;
	}
	return m->ctx->msg;
}

static PyObject *msg_get_type(PyObject *self, void *closure)
{
	sip_msg_t *m = msg_of(self);

	if (!m)
		return NULL;
	return PyUnicode_FromString(m->kind == SIP_REPLY ? "SIP_REPLY" :
							   "SIP_REQUEST");
}

static PyObject *msg_get_method(PyObject *self, void *closure)
{
	sip_msg_t *m = msg_of(self);

	if (!m)
		return NULL;
	if (m->kind != SIP_REQUEST)
		Py_RETURN_NONE;
	return str_to_py(m->method);
}

static PyObject *msg_get_status(PyObject *self, void *closure)
{
	sip_msg_t *m = msg_of(self);

	if (!m)
		return NULL;
	if (m->kind != SIP_REPLY)
		Py_RETURN_NONE;
	return PyLong_FromLong(m->status);
}

static PyObject *msg_get_ruri(PyObject *self, void *closure)
{
	sip_msg_t *m = msg_of(self);

	if (!m)
		return NULL;
	if (m->kind != SIP_REQUEST)
		Py_RETURN_NONE;
	return str_to_py(sip_cur_uri(m));
}

static PyObject *addr_to_py(const sip_sockaddr_t *a)
{
	char ip[INET6_ADDRSTRLEN] = "";
	int port = 0;

	if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->in4.sin_addr, ip, sizeof(ip));
		port = ntohs(a->in4.sin_port);
	} else if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, ip, sizeof(ip));
		port = ntohs(a->in6.sin6_port);
	}
	return Py_BuildValue("(si)", ip, port);
}

static PyObject *msg_get_src(PyObject *self, void *closure)
{
	sip_msg_t *m = msg_of(self);

	return m ? addr_to_py(&m->rcv.src) : NULL;
}

static PyObject *msg_get_dst(PyObject *self, void *closure)
{
	sip_msg_t *m = msg_of(self);

	return m ? addr_to_py(&m->rcv.dst) : NULL;
}

/* msg.getHeader(name): the first header of that name (any case, compact
 * forms understood), or None. */
static PyObject *msg_get_header(PyObject *self, PyObject *name)
{
	sip_msg_t *m = msg_of(self);
	const char *s;
	Py_ssize_t len;
	sip_hdr_t *h;

	if (!m)
		return NULL;
	if (!PyUnicode_Check(name))
		return PyErr_Format(PyExc_TypeError,
				    "getHeader() argument must be str, not %s",
				    Py_TYPE(name)->tp_name);
	s = PyUnicode_AsUTF8AndSize(name, &len);
	if (!s)
		return NULL;
	h = sip_hdr_find(m, (str_t){s, (size_t)len});
	if (!h)
		Py_RETURN_NONE;
	return str_to_py(h->value);
}

static PyGetSetDef msg_getset[] = {
	{"Type", msg_get_type, NULL, "\"SIP_REQUEST\" or \"SIP_REPLY\"", NULL},
	{"Method", msg_get_method, NULL, "request method (None for replies)",
	 NULL},
	{"Status", msg_get_status, NULL, "reply status (None for requests)",
	 NULL},
	{"RURI", msg_get_ruri, NULL, "current request URI", NULL},
	{"src_address", msg_get_src, NULL, "(ip, port) of the sender", NULL},
	{"dst_address", msg_get_dst, NULL, "(ip, port) it was received on",
	 NULL},
	{NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef msg_methods[] = {
	{"getHeader", msg_get_header, METH_O,
	 "getHeader(name): first header value, or None"},
	{NULL, NULL, 0, NULL},
};

static PyTypeObject py_msg_type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "KSR.Message",
	.tp_basicsize = sizeof(py_msg_t),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "The SIP message being routed (valid during the call).",
	.tp_getset = msg_getset,
	.tp_methods = msg_methods,
};

/* ------------------------------------------------------------ KSR */

/* Functions usable without a SIP message (top-level code, mod_init,
 * child_init, threads the script started): logging and KSR.x/KSR.kx. */
static int allowed_without_msg(const ksr_export_t *e)
{
	static const char *names[] = {"dbg", "err", "info", "warn", "notice",
				      "crit", "log", "alert", NULL};

	if (strcmp(e->module, "x") == 0 || strcmp(e->module, "kx") == 0)
		return 1;
	if (e->module[0])
		return 0;
	for (int i = 0; names[i]; i++)
		if (strcmp(e->name, names[i]) == 0)
			return 1;
	return 0;
}

/* Every KSR function: self is a capsule holding its ksr_export_t. The
 * arguments are checked as PyArg_ParseTuple would (count, int or str; a
 * bool is an int): a mismatch raises TypeError in the script. */
static PyObject *ksr_call(PyObject *self, PyObject *const *args,
			  Py_ssize_t nargs)
{
	const ksr_export_t *e = PyCapsule_GetPointer(self, NULL);
	PyObject *tmp[KSR_PARAMS_MAX] = {NULL};
	PyObject *res = NULL;
	ksr_arg_t a[KSR_PARAMS_MAX];
	ksr_ctx_t none, *ctx = tl_ctx;
	ksr_xval_t ret;
	const char *dot;
	int np, rc;

	if (!e)
		return NULL;
	dot = e->module[0] ? "." : "";
	np = ksr_export_nparams(e);
	if (nargs != np) {
		PyErr_Format(PyExc_TypeError,
			     "KSR%s%s.%s() takes %d argument%s (%zd given)", dot,
			     e->module, e->name, np, np == 1 ? "" : "s", nargs);
		return NULL;
	}
	for (int i = 0; i < np; i++) {
		PyObject *o = args[i];

		if (e->ptypes[i] == KSR_INT) {
			if (!PyLong_Check(o)) {
				PyErr_Format(PyExc_TypeError,
					     "KSR%s%s.%s() argument %d must be "
					     "int, not %s",
					     dot, e->module, e->name, i + 1,
					     Py_TYPE(o)->tp_name);
				goto out;
			}
			a[i].n = PyLong_AsLong(o);
			if (a[i].n == -1 && PyErr_Occurred())
				goto out;
			a[i].s = STR_NULL;
		} else {
			const char *s;
			Py_ssize_t len;

			if (!PyUnicode_Check(o)) {
				PyErr_Format(PyExc_TypeError,
					     "KSR%s%s.%s() argument %d must be "
					     "str, not %s",
					     dot, e->module, e->name, i + 1,
					     Py_TYPE(o)->tp_name);
				goto out;
			}
			s = PyUnicode_AsUTF8AndSize(o, &len);
			if (!s) {
				/* lone surrogates: bytes that were not UTF-8
				 * when they came from SIP go back as such */
				PyErr_Clear();
				tmp[i] = PyUnicode_AsEncodedString(
					o, "utf-8", "surrogateescape");
				if (!tmp[i])
					goto out;
				s = PyBytes_AS_STRING(tmp[i]);
				len = PyBytes_GET_SIZE(tmp[i]);
			}
			a[i].s = (str_t){s, (size_t)len};
			a[i].n = 0;
		}
	}
	if (!ctx || !ctx->msg) {
		if (!allowed_without_msg(e)) {
			PyErr_Format(PyExc_RuntimeError,
				     "KSR%s%s.%s(): no SIP message here (called "
				     "outside a route)",
				     dot, e->module, e->name);
			goto out;
		}
		if (!ctx) {
			memset(&none, 0, sizeof(none));
			none.worker = -1;
			ctx = &none;
		}
	}
	ret.type = KSR_NULL;
	/* the arguments stay alive: the caller's frame holds them */
	if (release_gil) {
		Py_BEGIN_ALLOW_THREADS
		rc = e->fn(ctx, a, &ret);
		Py_END_ALLOW_THREADS
	} else {
		rc = e->fn(ctx, a, &ret);
	}
	if (ctx->flags & KSR_CTX_EXIT) {
		PyErr_SetNone(exit_exc);
		goto out;
	}
	switch (e->rtype) {
	case KSR_INT:
		res = PyLong_FromLong(rc);
		break;
	case KSR_BOOL:
		res = PyBool_FromLong(rc != 0);
		break;
	case KSR_XVAL:
		if (ret.type == KSR_INT)
			res = PyLong_FromLong(ret.n);
		else if (ret.type == KSR_STR)
			res = str_to_py(ret.s);
		else
			res = Py_NewRef(Py_None);
		break;
	default:
		res = Py_NewRef(Py_None);
		break;
	}
out:
	for (int i = 0; i < KSR_PARAMS_MAX; i++)
		Py_XDECREF(tmp[i]);
	return res;
}

static struct PyModuleDef ksr_moddef = {
	PyModuleDef_HEAD_INIT,
	.m_name = "KSR",
	.m_doc = "Osprey's routing API (Kamailio KEMI names).",
	.m_size = -1,
};

/* Put fn on KSR (module "") or on KSR.<module>, creating the submodule
 * (also registered in sys.modules) on first use. */
static int ksr_add(PyObject *ksr, const ksr_export_t *e, PyObject *fn)
{
	PyObject *target;
	char full[128];
	int rc;

	if (!e->module[0])
		return PyModule_AddObjectRef(ksr, e->name, fn);
	target = PyObject_GetAttrString(ksr, e->module);
	if (!target) {
		PyErr_Clear();
		snprintf(full, sizeof(full), "KSR.%s", e->module);
		target = PyModule_New(full);
		if (!target)
			return -1;
		if (PyModule_AddObjectRef(ksr, e->module, target) < 0 ||
		    PyDict_SetItemString(PyImport_GetModuleDict(), full,
					 target) < 0) {
			Py_DECREF(target);
			return -1;
		}
	}
	rc = PyModule_AddObjectRef(target, e->name, fn);
	Py_DECREF(target);
	return rc;
}

/* `import KSR`: built once per process from the registry (complete by the
 * time any script runs). */
static PyObject *ksr_module_init(void)
{
	int n = ksr_registry_count();
	PyObject *ksr = PyModule_Create(&ksr_moddef);

	if (!ksr)
		return NULL;
	if (!ksr_defs) {
		ksr_defs = calloc((size_t)n + 1, sizeof(*ksr_defs));
		if (!ksr_defs) {
			PyErr_NoMemory();
			goto fail;
		}
	}
	for (int i = 0; i < n; i++) {
		const ksr_export_t *e = ksr_registry_get(i);
		PyMethodDef *def = &ksr_defs[i];
		PyObject *cap, *fn;

		def->ml_name = e->name;
		def->ml_meth = (PyCFunction)(void (*)(void))ksr_call;
		def->ml_flags = METH_FASTCALL;
		def->ml_doc = NULL;
		cap = PyCapsule_New((void *)e, NULL, NULL);
		if (!cap)
			goto fail;
		fn = PyCFunction_NewEx(def, cap, NULL);
		Py_DECREF(cap);
		if (!fn)
			goto fail;
		if (ksr_add(ksr, e, fn) < 0) {
			Py_DECREF(fn);
			goto fail;
		}
		Py_DECREF(fn);
	}
	if (PyModule_AddStringConstant(ksr, "__version__", OSP_VERSION) < 0 ||
	    PyModule_AddObjectRef(ksr, "Message", (PyObject *)&py_msg_type) < 0)
		goto fail;
	return ksr;
fail:
	Py_DECREF(ksr);
	return NULL;
}

/* ------------------------------------------------------------ start */

static int tb_import(void)
{
	PyObject *tb = PyImport_ImportModule("traceback");

	if (!tb)
		return -1;
	tb_format = PyObject_GetAttrString(tb, "format_exception");
	tb_format_only = PyObject_GetAttrString(tb, "format_exception_only");
	tb_extract = PyObject_GetAttrString(tb, "extract_tb");
	Py_DECREF(tb);
	return tb_format && tb_format_only && tb_extract ? 0 : -1;
}

/* Start the interpreter (once per process, from the first create()). The
 * KSR module is registered before Py_Initialize; Python installs no signal
 * handlers (the core owns signals) and leaves the C stdio alone. Under
 * AddressSanitizer Python allocates with malloc, so that ASan sees (and
 * LeakSanitizer can walk) Python's memory as well. On return the GIL is
 * released. */
static void py_start(void)
{
	PyPreConfig pre;
	PyConfig cfg;
	PyStatus st;
	const char *why = NULL;

	PyPreConfig_InitPythonConfig(&pre);
#if defined(__SANITIZE_ADDRESS__)
	pre.allocator = PYMEM_ALLOCATOR_MALLOC;
#endif
	st = Py_PreInitialize(&pre);
	if (PyStatus_Exception(st)) {
		why = st.err_msg;
		goto fail;
	}
	if (PyImport_AppendInittab("KSR", ksr_module_init) < 0) {
		why = "cannot register the KSR module";
		goto fail;
	}
	PyConfig_InitPythonConfig(&cfg);
	cfg.install_signal_handlers = 0;
	cfg.parse_argv = 0;
	cfg.configure_c_stdio = 0;
#ifdef OSP_PYTHON_HOME
	/* the library's own prefix, not whatever "python3" is first in PATH
	 * (a pyenv or /usr/local build of another patch level) */
	if (!getenv("PYTHONHOME")) {
		st = PyConfig_SetBytesString(&cfg, &cfg.home, OSP_PYTHON_HOME);
		if (PyStatus_Exception(st)) {
			PyConfig_Clear(&cfg);
			why = st.err_msg;
			goto fail;
		}
	}
#endif
	st = Py_InitializeFromConfig(&cfg);
	PyConfig_Clear(&cfg);
	if (PyStatus_Exception(st)) {
		why = st.err_msg;
		goto fail;
	}
	exit_exc = PyErr_NewException("KSR.x.Exit", PyExc_BaseException, NULL);
	if (!exit_exc || PyType_Ready(&py_msg_type) < 0 || tb_import() < 0) {
		PyErr_Print();
		why = "cannot set up the KSR types or import traceback";
		PyEval_SaveThread();
		goto fail;
	}
	PyEval_SaveThread();
	py_state = PY_RUNNING;
	return;
fail:
	snprintf(py_start_err, sizeof(py_start_err), "%s",
		 why ? why : "unknown error");
	py_state = PY_FAILED;
}

/* Call obj.name() and forget the result and any error. GIL held. */
static void call_quietly(PyObject *obj, const char *name)
{
	PyObject *r = obj ? PyObject_CallMethod(obj, name, NULL) : NULL;

	Py_XDECREF(r);
	PyErr_Clear();
}

/* Shutdown without Py_FinalizeEx, on purpose: finalizing joins every
 * non-daemon thread the script started (a routing script with a background
 * thread would hang the server's exit), and C extensions built for
 * single-phase init (PyYAML's _yaml, ...) do not all survive or clean up
 * after finalization. What the script can observe is kept: atexit
 * callbacks run and sys.stdout/sys.stderr are flushed. Then this thread
 * keeps the GIL, so no Python thread runs while the process exits; the
 * memory stays reachable from the interpreter, which LeakSanitizer does
 * not report. */
void py_engine_shutdown(void)
{
	PyObject *atexit_mod;

	if (py_state != PY_RUNNING)
		goto out;
	PyGILState_Ensure();
	atexit_mod = PyImport_ImportModule("atexit");
	PyErr_Clear();
	call_quietly(atexit_mod, "_run_exitfuncs");
	Py_XDECREF(atexit_mod);
	call_quietly(PySys_GetObject("stdout"), "flush");
	call_quietly(PySys_GetObject("stderr"), "flush");
	py_state = PY_FINALIZED;
out:
	free(mod_init_name);
	free(child_init_name);
	mod_init_name = child_init_name = NULL;
}

/* ------------------------------------------------------------ errors */

/* A Python str as C text for messages; never fails (GIL held). */
static const char *text_of(PyObject *o, const char *dflt)
{
	const char *s = o && PyUnicode_Check(o) ? PyUnicode_AsUTF8(o) : NULL;

	if (!s) {
		PyErr_Clear();
		return dflt;
	}
	return s;
}

/* Where an exception happened: for a SyntaxError its own file and line,
 * else the innermost traceback frame in the script (or the innermost frame
 * at all when the script does not appear). *file is a new reference. */
static void error_place(PyObject *type, PyObject *val, PyObject *tb,
			const char *script, PyObject **file, long *line)
{
	PyObject *frames;
	Py_ssize_t n;

	*file = NULL;
	*line = 0;
	if (PyErr_GivenExceptionMatches(type, PyExc_SyntaxError)) {
		PyObject *f = PyObject_GetAttrString(val, "filename");
		PyObject *l = PyObject_GetAttrString(val, "lineno");

		if (f && PyUnicode_Check(f) && l && PyLong_Check(l)) {
			*file = Py_NewRef(f);
			*line = PyLong_AsLong(l);
		}
		Py_XDECREF(f);
		Py_XDECREF(l);
		PyErr_Clear();
		if (*file)
			return;
	}
	if (!tb || tb == Py_None)
		return;
	frames = PyObject_CallOneArg(tb_extract, tb);
	if (!frames || !PyList_Check(frames)) {
		Py_XDECREF(frames);
		PyErr_Clear();
		return;
	}
	n = PyList_GET_SIZE(frames);
	for (Py_ssize_t i = n - 1; i >= 0; i--) {
		PyObject *fs = PyList_GET_ITEM(frames, i);
		PyObject *f = PyObject_GetAttrString(fs, "filename");
		PyObject *l = PyObject_GetAttrString(fs, "lineno");
		int mine = f && strcmp(text_of(f, ""), script) == 0;

		if (f && l && PyLong_Check(l) && (mine || i == n - 1)) {
			Py_XSETREF(*file, Py_NewRef(f));
			*line = PyLong_AsLong(l);
		}
		Py_XDECREF(f);
		Py_XDECREF(l);
		PyErr_Clear();
		if (mine)
			break;
	}
	Py_DECREF(frames);
}

/* Take the pending exception: "file:line: Type: message" into where[], and
 * the whole traceback into *full (malloc'ed, NULL when not available). The
 * exception is cleared. GIL held. */
static void fetch_error(const char *script, char *where, size_t wlen,
			char **full)
{
	PyObject *type, *val, *tb, *file = NULL, *lines, *text, *sep;
	const char *msg = "unknown Python error";
	PyObject *last = NULL;
	long line = 0;

	*full = NULL;
	PyErr_Fetch(&type, &val, &tb);
	PyErr_NormalizeException(&type, &val, &tb);
	if (!val) {
		snprintf(where, wlen, "%s: %s", script, msg);
		goto out;
	}
	if (tb)
		PyException_SetTraceback(val, tb);
	error_place(type, val, tb, script, &file, &line);
	lines = PyObject_CallOneArg(tb_format_only, val);
	if (lines && PyList_Check(lines) && PyList_GET_SIZE(lines) > 0) {
		last = PyObject_CallMethod(
			PyList_GET_ITEM(lines, PyList_GET_SIZE(lines) - 1),
			"strip", NULL);
		msg = text_of(last, msg);
	}
	Py_XDECREF(lines);
	PyErr_Clear();
	if (file && line > 0)
		snprintf(where, wlen, "%s:%ld: %s", text_of(file, script), line,
			 msg);
	else
		snprintf(where, wlen, "%s: %s", file ? text_of(file, script) :
						       script, msg);
	lines = PyObject_CallOneArg(tb_format, val);
	sep = PyUnicode_FromString("");
	text = lines && sep ? PyUnicode_Join(sep, lines) : NULL;
	Py_XDECREF(sep);
	if (text) {
		const char *t = text_of(text, NULL);
		size_t n = t ? strlen(t) : 0;

		while (n && t[n - 1] == '\n')
			n--;
		if (t)
			*full = strndup(t, n);
	}
	Py_XDECREF(text);
	Py_XDECREF(lines);
	PyErr_Clear();
out:
	Py_XDECREF(last);
	Py_XDECREF(file);
	Py_XDECREF(type);
	Py_XDECREF(val);
	Py_XDECREF(tb);
}

/* ------------------------------------------------------------ instances */

/* The script's folder goes first in sys.path so it can import helpers
 * kept beside it. GIL held; 0 or -1 with a Python exception. */
static int add_sys_path(const char *script)
{
	const char *slash = strrchr(script, '/');
	char dir[PATH_MAX], real[PATH_MAX];
	PyObject *path = PySys_GetObject("path"), *d;
	int rc;

	if (slash && (size_t)(slash - script) < sizeof(dir)) {
		memcpy(dir, script, (size_t)(slash - script));
		dir[slash - script] = '\0';
		if (!dir[0])
			strcpy(dir, "/");
	} else {
		strcpy(dir, ".");
	}
	if (realpath(dir, real))
		snprintf(dir, sizeof(dir), "%s", real);
	if (!path || !PyList_Check(path))
		return 0;
	d = PyUnicode_DecodeFSDefault(dir);
	if (!d)
		return -1;
	rc = PySequence_Contains(path, d);
	if (rc == 0)
		rc = PyList_Insert(path, 0, d);
	Py_DECREF(d);
	return rc < 0 ? -1 : 0;
}

/* "/etc/osprey/routing.py" -> "routing", as Kamailio names the module. */
static void module_name(const char *path, char *out, size_t cap)
{
	const char *b = strrchr(path, '/');
	size_t n;

	b = b ? b + 1 : path;
	n = strlen(b);
	if (n > 3 && strcmp(b + n - 3, ".py") == 0)
		n -= 3;
	snprintf(out, cap, "%.*s", (int)n, b);
}

/* Run the top level of the script in a new module object. The module sits
 * in sys.modules under its name only while its top level and mod_init()
 * run (what dataclasses and typing look up); it is not importable later,
 * since every worker has its own copy. GIL held. */
static int exec_script(py_inst_t *in, osp_script_t *s)
{
	PyObject *code, *d, *mods = PyImport_GetModuleDict(), *saved, *r;
	PyObject *init = NULL;
	char name[256];
	int rc = -1;

	code = Py_CompileStringExFlags(s->src, s->path, Py_file_input, NULL,
				       -1);
	if (!code)
		return -1;
	module_name(s->path, name, sizeof(name));
	in->module = PyModule_New(name);
	if (!in->module) {
		Py_DECREF(code);
		return -1;
	}
	d = PyModule_GetDict(in->module);
	saved = PyDict_GetItemString(mods, name);
	Py_XINCREF(saved);
	if (PyModule_AddObject(in->module, "__file__",
			       PyUnicode_DecodeFSDefault(s->path)) < 0 ||
	    PyDict_SetItemString(d, "__builtins__", PyEval_GetBuiltins()) < 0 ||
	    PyDict_SetItemString(mods, name, in->module) < 0)
		goto out;
	r = PyEval_EvalCode(code, d, d);
	if (!r)
		goto out;
	Py_DECREF(r);
	init = PyDict_GetItemString(d, mod_init_fn());
	if (!init || !PyCallable_Check(init)) {
		PyErr_Format(PyExc_NameError,
			     "the script does not define %s() (the function "
			     "returning the routing object)",
			     mod_init_fn());
		goto out;
	}
	in->handler = PyObject_CallNoArgs(init);
	if (!in->handler)
		goto out;
	if (in->handler == Py_None) {
		PyErr_Format(PyExc_TypeError,
			     "%s() returned None: it must return the object "
			     "whose methods route messages",
			     mod_init_fn());
		goto out;
	}
	rc = 0;
out:
	Py_DECREF(code);
	/* put back whatever had this name before (a failure keeps its
	 * exception: Fetch/Restore around the dictionary work) */
	{
		PyObject *t, *v, *tb;

		PyErr_Fetch(&t, &v, &tb);
		if (saved)
			PyDict_SetItemString(mods, name, saved);
		else if (PyDict_GetItemString(mods, name) == in->module &&
			 PyDict_DelItemString(mods, name) < 0)
			PyErr_Clear();
		PyErr_Restore(t, v, tb);
	}
	Py_XDECREF(saved);
	return rc;
}

/* handler.child_init(rank) when the handler has it: a negative int result
 * refuses the instance, as in Kamailio. 0, -1 with a Python exception, or
 * -2 with err filled. */
static int call_child_init(py_inst_t *in, int rank, char *err, size_t errlen)
{
	PyObject *m = PyObject_GetAttrString(in->handler, child_init_fn());
	PyObject *r;
	long v = 0;

	if (!m) {
		if (!PyErr_ExceptionMatches(PyExc_AttributeError))
			return -1;
		PyErr_Clear();
		return 0;
	}
	r = PyObject_CallFunction(m, "i", rank);
	Py_DECREF(m);
	if (!r)
		return -1;
	if (PyLong_Check(r))
		v = PyLong_AsLong(r);
	Py_DECREF(r);
	PyErr_Clear();
	if (v < 0) {
		snprintf(err, errlen, "%s: %s(%d) returned %ld", in->script->path,
			 child_init_fn(), rank, v);
		return -2;
	}
	return 0;
}

static void inst_free(py_inst_t *in)
{
	if (in->msg)
		in->msg->ctx = NULL;
	Py_XDECREF(in->msg);
	Py_XDECREF(in->handler);
	Py_XDECREF(in->module);
	free(in);
}

/* Build an instance: execute the script's source into a fresh module and
 * call mod_init(); in a worker (worker >= 0) also child_init(rank) with
 * Kamailio's rank of a SIP worker, worker + 1. */
static void *py_create(osp_script_t *s, int worker, char *err, size_t errlen)
{
	ksr_ctx_t *prev = tl_ctx;
	PyGILState_STATE g;
	py_inst_t *in;
	char *full = NULL;
	int rc;

	pthread_once(&start_once, py_start);
	if (py_state != PY_RUNNING) {
		snprintf(err, errlen, "%s: Python is not available: %s", s->path,
			 py_state == PY_FINALIZED ? "already shut down" :
						   py_start_err);
		return NULL;
	}
	if (memchr(s->src, 0, s->len)) {
		snprintf(err, errlen, "%s:1: the script contains a NUL byte",
			 s->path);
		return NULL;
	}
	in = calloc(1, sizeof(*in));
	if (!in) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	in->script = s;
	g = PyGILState_Ensure();
	tl_ctx = NULL;
	rc = add_sys_path(s->path);
	if (rc == 0)
		rc = exec_script(in, s);
	if (rc == 0) {
		in->msg = PyObject_New(py_msg_t, &py_msg_type);
		if (in->msg)
			in->msg->ctx = NULL;
		else
			rc = -1;
	}
	if (rc == 0 && worker >= 0)
		rc = call_child_init(in, worker + 1, err, errlen);
	if (rc == -1) {
		fetch_error(s->path, err, errlen, &full);
		if (full && strstr(full, "Traceback"))
			LOG_ERR("Python: %s failed to load:\n%s", s->path, full);
		free(full);
	}
	if (rc < 0) {
		inst_free(in);
		in = NULL;
	} else if (tl_pins++ == 0) {
		tl_pin_state = PyGILState_Ensure();
	}
	tl_ctx = prev;
	PyGILState_Release(g);
	return in;
}

static void py_destroy(void *p)
{
	py_inst_t *in = p;
	PyGILState_STATE g;

	if (!in)
		return;
	g = PyGILState_Ensure();
	inst_free(in);
	/* the last instance of this thread: its thread state goes with it
	 * (deleted by the outer Release below) */
	if (tl_pins > 0 && --tl_pins == 0)
		PyGILState_Release(tl_pin_state);
	PyGILState_Release(g);
}

static int py_has(void *p, const char *fname)
{
	py_inst_t *in = p;
	PyGILState_STATE g;
	PyObject *m;
	int present;

	for (int i = 0; i < in->nhas; i++)
		if (strcmp(in->has[i].name, fname) == 0)
			return in->has[i].present;
	g = PyGILState_Ensure();
	m = PyObject_GetAttrString(in->handler, fname);
	present = m && PyCallable_Check(m);
	Py_XDECREF(m);
	PyErr_Clear();
	PyGILState_Release(g);
	if (in->nhas < PY_HAS_CACHE && strlen(fname) < sizeof(in->has[0].name)) {
		strcpy(in->has[in->nhas].name, fname);
		in->has[in->nhas++].present = present;
	}
	return present;
}

static int py_run(void *p, ksr_ctx_t *ctx, const char *fname, const char *arg)
{
	py_inst_t *in = p;
	ksr_ctx_t *prev = tl_ctx, *prev_msg;
	PyGILState_STATE g;
	PyObject *meth, *res = NULL;
	char where[512], *full = NULL;
	int rc = 1;

	g = PyGILState_Ensure();
	meth = PyObject_GetAttrString(in->handler, fname);
	if (!meth) {
		if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
			PyErr_Clear();
			rc = 0;
			goto out;
		}
		goto error;
	}
	/* a nested route (tm's branch route inside t_relay) restores both */
	prev_msg = in->msg->ctx;
	tl_ctx = ctx;
	in->msg->ctx = ctx;
	if (arg)
		res = PyObject_CallFunction(meth, "Os", (PyObject *)in->msg,
					    arg);
	else
		res = PyObject_CallOneArg(meth, (PyObject *)in->msg);
	in->msg->ctx = prev_msg;
	tl_ctx = prev;
	Py_DECREF(meth);
	if (res) {
		/* the value (1, -255, None...) does not matter, as in
		 * Kamailio: the core looks at what the script did */
		Py_DECREF(res);
		goto out;
	}
	if (PyErr_ExceptionMatches(exit_exc) ||
	    PyErr_ExceptionMatches(PyExc_SystemExit)) {
		PyErr_Clear();
		goto out;
	}
error:
	fetch_error(in->script->path, where, sizeof(where), &full);
	/* senders can trigger script errors at will: rate-limited */
	LOG_RATE(L_ERR, "error in Python %s(): %s%s%s", fname, where,
		 full ? "\n" : "", full ? full : "");
	free(full);
	rc = -1;
out:
	PyGILState_Release(g);
	return rc;
}

const osp_engine_t osp_engine_python = {
	.name = "python",
	.ext = ".py",
	.rpc_prefix = "app_python3",
	.module = "app_python3",
	.create = py_create,
	.destroy = py_destroy,
	.has = py_has,
	.run = py_run,
};
