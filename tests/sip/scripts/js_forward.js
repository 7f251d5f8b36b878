// js_forward.js: append a header and forward statelessly. The harness
// replaces DST with a destination URI (forward to $du) or with nothing
// (forward to the R-URI), and APPEND with the KSR.hdr function to use:
// "append", or "append_hf" (the alias that Kamailio's stock JavaScript
// example calls). Replies go back by Via, statelessly.
var dst = "@DST@";

function ksr_request_route() {
	KSR.hdr.@APPEND@("X-Osprey: yes\r\n");
	if (dst !== "") {
		KSR.setdsturi(dst);
	}
	KSR.forward();
}

function ksr_reply_route() {
	KSR.info("e2e: reply passing through\n");
}
