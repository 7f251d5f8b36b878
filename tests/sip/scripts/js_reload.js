// js_reload.js: the harness rewrites REASON between reloads (OK-A / OK-B).
function ksr_request_route() {
	KSR.sl.sl_send_reply(200, "@REASON@");
}
