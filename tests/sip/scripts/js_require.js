// js_require.js: routing split into files. The reason phrase comes from
// js_require_lib/reason.js, which the test rewrites between reloads.
var reason = require("./js_require_lib/reason");

function ksr_request_route() {
	KSR.sl.sl_send_reply(200, reason.phrase());
}
