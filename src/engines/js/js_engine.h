/* js_engine.h - settings of the JavaScript (Duktape) engine that its
 * module, app_jsdt, exposes as modparams. The engine itself is reached
 * through osp_engine_jsdt (engines/engine.h). */
#ifndef OSP_JS_ENGINE_H
#define OSP_JS_ENGINE_H

/* modparam("app_jsdt", "mode", n): 1 (default) gives scripts require()
 * (CommonJS modules), 0 leaves it out, as Kamailio's "mode" does. Read
 * when an interpreter is built. */
extern int js_engine_mode;

#endif
