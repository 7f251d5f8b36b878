/* native.h - what the core needs to know about the native routing engine
 * (kamailio.cfg route blocks) beyond engines/engine.h: its control
 * commands, registered when it routes. */
#ifndef OSP_NATIVE_H
#define OSP_NATIVE_H

#include "engines/engine.h"
#include "rpc/rpc.h"

extern const osp_engine_t osp_engine_native;
/* cfg.reload */
extern const rpc_export_t nv_engine_rpc[];

#endif
