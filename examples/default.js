// Osprey's default routing policy (JavaScript, app_jsdt).
//
// The same policy as default.lua, function for function (and in
// default.py, and the native default-native.cfg); tests/engines/ checks
// that they behave alike. Start it with default-js.cfg. It is a registrar
// and proxy for the server's own domain:
//   * initial checks: flood protection (pike + an "ipban" htable), scanner
//     user agents, Max-Forwards, OPTIONS keepalive, sanity;
//   * CANCEL and retransmissions handled by the transaction layer;
//   * requests inside dialogs follow their Record-Route (loose_route);
//   * digest authentication of local users (REGISTER, and calls from them);
//   * REGISTER saved in the location table; calls looked up there;
//   * relay with branch, reply and failure callbacks: a call that fails
//     with 486, 408 or a timeout goes on to the voicemail target, when the
//     configuration defines VOICEMAIL (e.g. #!define VOICEMAIL "sip:vm@...").
// Modules that are not loaded are skipped (KSR.<module> is undefined then).
//
// KSR functions return Kamailio's integers: test them with "< 0" / "> 0",
// as -1 is truthy. KSR.x.exit() ends the whole route (it throws).

var FLT_ACC = 1;
var FLT_ACCMISSED = 2;
var FLT_ACCFAILED = 3;
var FLT_NATS = 5;
var FLB_NATB = 6;
var FLB_NATSIPPING = 7;

// a define's value without the quotes it was written with
function define(name) {
	if (!KSR.kx.ifdef || KSR.kx.ifdef(name) !== true) {
		return null;
	}
	var v = KSR.kx.get_def(name);
	if (v) {
		v = v.replace(/^"(.*)"$/, "$1");
	}
	return v;
}

function ksr_request_route() {
	route_reqinit();
	route_natdetect();

	// CANCEL goes to the transaction it cancels
	if (KSR.is_CANCEL()) {
		if (KSR.tm.t_check_trans() > 0) {
			route_relay();
		}
		return;
	}

	// retransmissions are absorbed by their transaction
	if (!KSR.is_ACK()) {
		if (KSR.tmx.t_precheck_trans() > 0) {
			KSR.tm.t_check_trans();
			return;
		}
		if (KSR.tm.t_check_trans() === 0) {
			return;
		}
	}

	route_withindlg();

	// only initial requests from here on
	route_auth();

	// preloaded Route headers are not honoured; record-route dialogs
	KSR.hdr.remove("Route");
	if (KSR.is_method_in("IS")) {
		KSR.rr.record_route();
	}
	if (KSR.is_INVITE()) {
		KSR.setflag(FLT_ACC);
	}

	route_sipout();
	route_registrar();

	if (KSR.corex.has_ruri_user() < 0) {
		KSR.sl.sl_send_reply(484, "Address Incomplete");
		return;
	}
	route_location();
}

// relay through the transaction layer, with the callbacks below
function route_relay() {
	if (KSR.is_method_in("IBSU") && KSR.tm.t_is_set("branch_route") < 0) {
		KSR.tm.t_on_branch("ksr_branch_manage");
	}
	if (KSR.is_method_in("ISU") && KSR.tm.t_is_set("onreply_route") < 0) {
		KSR.tm.t_on_reply("ksr_onreply_manage");
	}
	if (KSR.is_INVITE() && KSR.tm.t_is_set("failure_route") < 0) {
		KSR.tm.t_on_failure("ksr_failure_manage");
	}
	if (KSR.tm.t_relay() < 0) {
		KSR.sl.sl_reply_error();
	}
	KSR.x.exit();
}

function route_reqinit() {
	KSR.set_reply_no_connect();
	KSR.force_rport();
	if (KSR.htable && KSR.pike && !KSR.is_myself_srcip()) {
		var srcip = KSR.kx.get_srcip();
		if (KSR.htable.sht_match_name("ipban", "eq", srcip) > 0) {
			KSR.x.exit();
		}
		if (KSR.pike.pike_check_req() < 0) {
			KSR.err("pike: blocking " + KSR.kx.get_method() + " from " +
				srcip + ":" + KSR.kx.get_srcport());
			KSR.htable.sht_seti("ipban", srcip, 1);
			KSR.x.exit();
		}
	}
	var ua = KSR.kx.gete_ua();
	if (ua.indexOf("friendly") >= 0 || ua.indexOf("scanner") >= 0 ||
	    ua.indexOf("sipcli") >= 0 || ua.indexOf("sipvicious") >= 0) {
		KSR.sl.sl_send_reply(200, "OK");
		KSR.x.exit();
	}
	if (KSR.maxfwd.process_maxfwd(10) < 0) {
		KSR.sl.sl_send_reply(483, "Too Many Hops");
		KSR.x.exit();
	}
	if (KSR.is_OPTIONS() && KSR.is_myself_ruri() &&
	    KSR.corex.has_ruri_user() < 0) {
		KSR.sl.sl_send_reply(200, "Keepalive");
		KSR.x.exit();
	}
	if (KSR.sanity.sanity_check(17895, 7) < 0) {
		KSR.err("malformed SIP message from " + KSR.kx.get_srcip() +
			":" + KSR.kx.get_srcport());
		KSR.x.exit();
	}
}

function route_withindlg() {
	if (KSR.siputils.has_totag() < 0) {
		return;
	}
	if (KSR.rr.loose_route() > 0) {
		route_dlguri();
		if (KSR.is_BYE()) {
			KSR.setflag(FLT_ACC);
			KSR.setflag(FLT_ACCFAILED);
		} else if (KSR.is_ACK()) {
			route_natmanage();
		} else if (KSR.is_NOTIFY()) {
			KSR.rr.record_route();
		}
		route_relay();
	}
	if (KSR.is_ACK()) {
		if (KSR.tm.t_check_trans() > 0) {
			route_relay();
		}
		KSR.x.exit();
	}
	KSR.sl.sl_send_reply(404, "Not here");
	KSR.x.exit();
}

function route_registrar() {
	if (!KSR.is_REGISTER()) {
		return;
	}
	if (KSR.isflagset(FLT_NATS)) {
		KSR.setbflag(FLB_NATB);
		KSR.setbflag(FLB_NATSIPPING);
	}
	if (KSR.registrar.save("location", 0) < 0) {
		KSR.sl.sl_reply_error();
	}
	KSR.x.exit();
}

function route_location() {
	var rc = KSR.registrar.lookup("location");
	if (rc < 0) {
		KSR.tm.t_newtran();
		if (rc === -2) {
			KSR.sl.send_reply(405, "Method Not Allowed");
		} else {
			KSR.sl.send_reply(404, "Not Found");
		}
		KSR.x.exit();
	}
	if (KSR.is_INVITE()) {
		KSR.setflag(FLT_ACCMISSED);
	}
	route_relay();
}

function route_auth() {
	if (!KSR.auth) {
		return;
	}
	if (KSR.permissions && !KSR.is_REGISTER() &&
	    KSR.permissions.allow_source_address(1) > 0) {
		return;
	}
	if (KSR.is_REGISTER() || KSR.is_myself_furi()) {
		var realm = KSR.kx.gete_fhost();
		if (KSR.auth_db.auth_check(realm, "subscriber", 1) < 0) {
			KSR.auth.auth_challenge(realm, 1);
			KSR.x.exit();
		}
		if (!KSR.is_method_in("RP")) {
			KSR.auth.consume_credentials();
		}
	}
	// not an open relay: the caller or the callee must be ours
	if (!KSR.is_myself_furi() && !KSR.is_myself_ruri()) {
		KSR.sl.sl_send_reply(403, "Not relaying");
		KSR.x.exit();
	}
}

function route_natdetect() {
	if (!KSR.nathelper) {
		return;
	}
	if (KSR.nathelper.nat_uac_test(19) > 0) {
		if (KSR.is_REGISTER()) {
			KSR.nathelper.fix_nated_register();
		} else if (KSR.siputils.is_first_hop() > 0) {
			KSR.nathelper.set_contact_alias();
		}
		KSR.setflag(FLT_NATS);
	}
}

function route_natmanage() {
	if (!KSR.nathelper) {
		return;
	}
	if (KSR.siputils.is_request() > 0 && KSR.siputils.has_totag() > 0 &&
	    KSR.rr.check_route_param("nat=yes") > 0) {
		KSR.setbflag(FLB_NATB);
	}
	if (!(KSR.isflagset(FLT_NATS) || KSR.isbflagset(FLB_NATB))) {
		return;
	}
	if (KSR.rtpengine) {
		KSR.rtpengine.rtpengine_manage(
			"replace-origin replace-session-connection");
	}
	if (KSR.siputils.is_request() > 0 && KSR.siputils.has_totag() < 0 &&
	    KSR.tmx.t_is_branch_route() > 0) {
		KSR.rr.add_rr_param(";nat=yes");
	}
	if (KSR.siputils.is_reply() > 0 && KSR.isbflagset(FLB_NATB)) {
		KSR.nathelper.set_contact_alias();
	}
}

function route_dlguri() {
	if (KSR.nathelper && !KSR.isdsturiset()) {
		KSR.nathelper.handle_ruri_alias();
	}
}

// requests for other domains are relayed as they are
function route_sipout() {
	if (KSR.is_myself_ruri()) {
		return;
	}
	KSR.hdr.append("P-Hint: outbound\r\n");
	route_relay();
}

function ksr_branch_manage() {
	KSR.dbg("new branch [" + KSR.pv.get("$T_branch_idx") + "] to " +
		KSR.kx.get_ruri());
	route_natmanage();
}

function ksr_onreply_manage() {
	var code = KSR.kx.get_status();
	if (code > 100 && code <= 299) {
		route_natmanage();
	}
}

// a call that was busy, timed out or not answered goes to voicemail
function ksr_failure_manage() {
	route_natmanage();
	if (KSR.tm.t_is_canceled() > 0) {
		return;
	}
	var vm = define("VOICEMAIL");
	if (!vm) {
		return;
	}
	var code = KSR.pv.get("$T_reply_code");
	if (code === 486 || code === 408 || code === 480 ||
	    KSR.tm.t_branch_timeout() > 0) {
		KSR.seturi(vm);
		KSR.resetdsturi();
		route_relay();
	}
}

// replies relayed statelessly (no transaction): drop malformed ones
function ksr_reply_route() {
	if (KSR.sanity.sanity_check(17604, 6) < 0) {
		KSR.x.drop();
	}
}
