// bench/js/register.js: the `register` workload (bench/lua/register.lua)
// in JavaScript, run unchanged by Osprey and by Kamailio (app_jsdt).

function ksr_request_route() {
	if (KSR.maxfwd.process_maxfwd(10) < 0) {
		KSR.sl.sl_send_reply(483, "Too Many Hops");
		return;
	}
	if (KSR.is_REGISTER()) {
		if (KSR.registrar.save("location", 0) < 0) {
			KSR.sl.sl_reply_error();
		}
		return;
	}
	KSR.sl.sl_send_reply(405, "Method Not Allowed");
}
