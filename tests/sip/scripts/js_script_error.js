// js_script_error.js: runtime errors picked by the R-URI user. The line
// numbers of the faulty statements are checked by the test (keep them, or
// update JS_SCRIPT_ERROR_LINES in tests.py).
var lib = require("./js_script_error_lib");

function ksr_request_route() {
	var user = KSR.pv.get("$rU");
	var t;
	if (user === "undef") {
		return t.field;
	} else if (user === "badarg") {
		KSR.sl.sl_send_reply("abc");
	} else if (user === "callnil") {
		KSR.no_such_function();
	} else if (user === "thrown") {
		throw new Error("thrown on purpose");
	} else if (user === "inlib") {
		lib.fail();
	} else if (user === "deep") {
		lib.recurse(0);
	}
	KSR.sl.sl_send_reply(200, "OK");
}
