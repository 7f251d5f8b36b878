// js_reload_broken.js: a syntax error on line 4; the reload must fail with
// "js_reload.js:4:" (the harness copies it over js_reload.js).
function ksr_request_route() {
	var x = = 1;
	KSR.sl.sl_send_reply(200, "BROKEN");
}
