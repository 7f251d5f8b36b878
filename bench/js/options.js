// bench/js/options.js: the `options` workload (bench/lua/options.lua) in
// JavaScript, run unchanged by Osprey and by Kamailio (app_jsdt).

function ksr_request_route() {
	if (KSR.maxfwd.process_maxfwd(10) < 0) {
		KSR.sl.sl_send_reply(483, "Too Many Hops");
		return;
	}
	if (KSR.is_OPTIONS()) {
		KSR.sl.sl_send_reply(200, "OK");
		return;
	}
	KSR.sl.sl_send_reply(405, "Method Not Allowed");
}
