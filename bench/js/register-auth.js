// bench/js/register-auth.js: the `register-auth` workload
// (bench/lua/register-auth.lua) in JavaScript, run unchanged by Osprey and
// by Kamailio (app_jsdt): 401 with qop=auth, then pv_auth_check against
// the password in the htable "subs", then save.

var REALM = "bench.local";

function ksr_request_route() {
	if (KSR.maxfwd.process_maxfwd(10) < 0) {
		KSR.sl.sl_send_reply(483, "Too Many Hops");
		return;
	}
	if (!KSR.is_REGISTER()) {
		KSR.sl.sl_send_reply(405, "Method Not Allowed");
		return;
	}
	var rc = -5;
	var user = KSR.pv.get("$au");
	if (user) {
		var pw = KSR.htable.sht_get("subs", user);
		if (pw) {
			rc = KSR.auth.pv_auth_check(REALM, pw, 0, 1);
		} else {
			rc = -3;
		}
	}
	if (rc < 0) {
		KSR.auth.auth_challenge(REALM, 1);
		return;
	}
	KSR.auth.consume_credentials();
	if (KSR.registrar.save("location", 0) < 0) {
		KSR.sl.sl_reply_error();
	}
}
