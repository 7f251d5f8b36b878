/* routing_rpc.h - reload and api_list commands shared by every engine's
 * RPC names (app_lua.reload, engine.reload, ...). */
#ifndef OSP_ROUTING_RPC_H
#define OSP_ROUTING_RPC_H

#include "rpc/rpc.h"

json_t *routing_rpc_reload(json_t *params, rpc_error_t *err);
json_t *routing_rpc_api_list(json_t *params, rpc_error_t *err);
json_t *routing_rpc_list(json_t *params, rpc_error_t *err);
extern const rpc_export_t routing_rpc[];

#endif
