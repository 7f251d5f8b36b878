// js_options.js: answer every request with 200 OK (JavaScript engine).
function ksr_request_route() {
	KSR.sl.sl_send_reply(200, "OK");
}
