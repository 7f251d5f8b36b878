// js_maxfwd.js: 483 when Max-Forwards is exhausted, 200 otherwise.
function ksr_request_route() {
	if (KSR.maxfwd.process_maxfwd(10) < 0) {
		KSR.sl.sl_send_reply(483, "Too Many Hops");
		KSR.x.exit();
	}
	KSR.sl.sl_send_reply(200, "OK");
}
