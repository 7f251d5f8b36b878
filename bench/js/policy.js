// benchmark policy: bench/lua-choice/policy.lua in JavaScript (the checks
// of Kamailio's example request route, then a 200 for OPTIONS)
function ksr_request_route() {
	if (KSR.maxfwd.process_maxfwd(10) < 0) {
		KSR.sl.sl_send_reply(483, "Too Many Hops");
		return;
	}
	if (KSR.sanity.sanity_check(17895, 7) < 0) {
		KSR.x.exit();
	}
	if (KSR.is_method_in("IBSU")) {
		KSR.err("unexpected");
	}
	var ua = KSR.kx.gete_ua();
	if (ua.indexOf("friendly") >= 0 || ua.indexOf("scanner") >= 0) {
		KSR.sl.sl_send_reply(200, "OK");
		return;
	}
	var from = KSR.pv.get("$fu");
	var callid = KSR.pv.get("$ci");
	if (KSR.siputils.has_totag() > 0) {
		KSR.sl.sl_send_reply(404, "Not here");
		return;
	}
	if (KSR.is_OPTIONS() && KSR.is_myself_ruri()) {
		KSR.sl.sl_send_reply(200, "Keepalive");
		return;
	}
	KSR.sl.sl_send_reply(404, "Not Found");
}
