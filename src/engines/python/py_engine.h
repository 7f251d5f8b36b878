/* py_engine.h - settings of the Python engine, set by the app_python3
 * module's parameters, and its shutdown.
 *
 * The engine itself is reached through osp_engine_python (engine.h); this
 * header exists so that the module that owns the parameters does not need
 * to know how the engine stores them. */
#ifndef OSP_PY_ENGINE_H
#define OSP_PY_ENGINE_H

/* Name of the script's global function that returns the handler object
 * (modparam mod_init_function, default "mod_init"). 0 or -1 (no memory). */
int py_engine_set_mod_init(const char *fname);
/* Name of the handler's method called with the worker's rank when a worker
 * builds its instance (modparam child_init_method, default "child_init"). */
int py_engine_set_child_init(const char *mname);
/* 1 (default): give the GIL back inside every KSR call, so other workers
 * run Python meanwhile; 0: keep it for the whole route (modparam
 * release_gil; docs/engine-python.md has the measured trade-off). Read
 * when a call is made: set it before the workers start. */
void py_engine_set_release_gil(int on);
/* At exit, once the workers stopped: run the script's atexit callbacks,
 * flush Python's stdout/stderr and keep Python still until the process
 * ends (Py_FinalizeEx is skipped on purpose, see py_engine.c). No instance
 * can be created afterwards. Safe to call when Python never started. */
void py_engine_shutdown(void);

#endif
