-- Osprey's default routing policy (Lua).
--
-- The same policy exists for every engine (default.js, default.py, and the
-- native default-native.cfg); tests/engines/ checks that they behave alike.
-- It is a registrar and proxy for the server's own domain:
--   * initial checks: flood protection (pike + an "ipban" htable), scanner
--     user agents, Max-Forwards, OPTIONS keepalive, sanity;
--   * CANCEL and retransmissions handled by the transaction layer;
--   * requests inside dialogs follow their Record-Route (loose_route);
--   * digest authentication of local users (REGISTER, and calls from them);
--   * REGISTER saved in the location table; calls looked up there;
--   * relay with branch, reply and failure callbacks: a call that fails
--     with 486, 408 or a timeout goes on to the voicemail target, when the
--     configuration defines VOICEMAIL (e.g. #!define VOICEMAIL "sip:vm@...").
-- Modules that are not loaded are skipped (KSR.<module> is nil then).

FLT_ACC = 1
FLT_ACCMISSED = 2
FLT_ACCFAILED = 3
FLT_NATS = 5
FLB_NATB = 6
FLB_NATSIPPING = 7

-- a define's value without the quotes it was written with
local function define(name)
	if not KSR.kx.ifdef or KSR.kx.ifdef(name) ~= true then
		return nil
	end
	local v = KSR.kx.get_def(name)
	if v then
		v = string.gsub(v, '^"(.*)"$', "%1")
	end
	return v
end

function ksr_request_route()
	route_reqinit()
	route_natdetect()

	-- CANCEL goes to the transaction it cancels
	if KSR.is_CANCEL() then
		if KSR.tm.t_check_trans() > 0 then
			route_relay()
		end
		return
	end

	-- retransmissions are absorbed by their transaction
	if not KSR.is_ACK() then
		if KSR.tmx.t_precheck_trans() > 0 then
			KSR.tm.t_check_trans()
			return
		end
		if KSR.tm.t_check_trans() == 0 then
			return
		end
	end

	route_withindlg()

	-- only initial requests from here on
	route_auth()

	-- preloaded Route headers are not honoured; record-route dialogs
	KSR.hdr.remove("Route")
	if KSR.is_method_in("IS") then
		KSR.rr.record_route()
	end
	if KSR.is_INVITE() then
		KSR.setflag(FLT_ACC)
	end

	route_sipout()
	route_registrar()

	if KSR.corex.has_ruri_user() < 0 then
		KSR.sl.sl_send_reply(484, "Address Incomplete")
		return
	end
	route_location()
end

-- relay through the transaction layer, with the callbacks below
function route_relay()
	if KSR.is_method_in("IBSU") and KSR.tm.t_is_set("branch_route") < 0 then
		KSR.tm.t_on_branch("ksr_branch_manage")
	end
	if KSR.is_method_in("ISU") and KSR.tm.t_is_set("onreply_route") < 0 then
		KSR.tm.t_on_reply("ksr_onreply_manage")
	end
	if KSR.is_INVITE() and KSR.tm.t_is_set("failure_route") < 0 then
		KSR.tm.t_on_failure("ksr_failure_manage")
	end
	if KSR.tm.t_relay() < 0 then
		KSR.sl.sl_reply_error()
	end
	KSR.x.exit()
end

function route_reqinit()
	KSR.set_reply_no_connect()
	KSR.force_rport()
	if KSR.htable and KSR.pike and not KSR.is_myself_srcip() then
		local srcip = KSR.kx.get_srcip()
		if KSR.htable.sht_match_name("ipban", "eq", srcip) > 0 then
			KSR.x.exit()
		end
		if KSR.pike.pike_check_req() < 0 then
			KSR.err("pike: blocking " .. KSR.kx.get_method() .. " from " ..
				srcip .. ":" .. KSR.kx.get_srcport())
			KSR.htable.sht_seti("ipban", srcip, 1)
			KSR.x.exit()
		end
	end
	local ua = KSR.kx.gete_ua()
	if string.find(ua, "friendly") or string.find(ua, "scanner") or
	   string.find(ua, "sipcli") or string.find(ua, "sipvicious") then
		KSR.sl.sl_send_reply(200, "OK")
		KSR.x.exit()
	end
	if KSR.maxfwd.process_maxfwd(10) < 0 then
		KSR.sl.sl_send_reply(483, "Too Many Hops")
		KSR.x.exit()
	end
	if KSR.is_OPTIONS() and KSR.is_myself_ruri() and
	   KSR.corex.has_ruri_user() < 0 then
		KSR.sl.sl_send_reply(200, "Keepalive")
		KSR.x.exit()
	end
	if KSR.sanity.sanity_check(17895, 7) < 0 then
		KSR.err("malformed SIP message from " .. KSR.kx.get_srcip() ..
			":" .. KSR.kx.get_srcport())
		KSR.x.exit()
	end
end

function route_withindlg()
	if KSR.siputils.has_totag() < 0 then
		return
	end
	if KSR.rr.loose_route() > 0 then
		route_dlguri()
		if KSR.is_BYE() then
			KSR.setflag(FLT_ACC)
			KSR.setflag(FLT_ACCFAILED)
		elseif KSR.is_ACK() then
			route_natmanage()
		elseif KSR.is_NOTIFY() then
			KSR.rr.record_route()
		end
		route_relay()
	end
	if KSR.is_ACK() then
		if KSR.tm.t_check_trans() > 0 then
			route_relay()
		end
		KSR.x.exit()
	end
	KSR.sl.sl_send_reply(404, "Not here")
	KSR.x.exit()
end

function route_registrar()
	if not KSR.is_REGISTER() then
		return
	end
	if KSR.isflagset(FLT_NATS) then
		KSR.setbflag(FLB_NATB)
		KSR.setbflag(FLB_NATSIPPING)
	end
	if KSR.registrar.save("location", 0) < 0 then
		KSR.sl.sl_reply_error()
	end
	KSR.x.exit()
end

function route_location()
	local rc = KSR.registrar.lookup("location")
	if rc < 0 then
		KSR.tm.t_newtran()
		if rc == -2 then
			KSR.sl.send_reply(405, "Method Not Allowed")
		else
			KSR.sl.send_reply(404, "Not Found")
		end
		KSR.x.exit()
	end
	if KSR.is_INVITE() then
		KSR.setflag(FLT_ACCMISSED)
	end
	route_relay()
end

function route_auth()
	if not KSR.auth then
		return
	end
	if KSR.permissions and not KSR.is_REGISTER() and
	   KSR.permissions.allow_source_address(1) > 0 then
		return
	end
	if KSR.is_REGISTER() or KSR.is_myself_furi() then
		local realm = KSR.kx.gete_fhost()
		if KSR.auth_db.auth_check(realm, "subscriber", 1) < 0 then
			KSR.auth.auth_challenge(realm, 1)
			KSR.x.exit()
		end
		if not KSR.is_method_in("RP") then
			KSR.auth.consume_credentials()
		end
	end
	-- not an open relay: the caller or the callee must be ours
	if not KSR.is_myself_furi() and not KSR.is_myself_ruri() then
		KSR.sl.sl_send_reply(403, "Not relaying")
		KSR.x.exit()
	end
end

function route_natdetect()
	if not KSR.nathelper then
		return
	end
	if KSR.nathelper.nat_uac_test(19) > 0 then
		if KSR.is_REGISTER() then
			KSR.nathelper.fix_nated_register()
		elseif KSR.siputils.is_first_hop() > 0 then
			KSR.nathelper.set_contact_alias()
		end
		KSR.setflag(FLT_NATS)
	end
end

function route_natmanage()
	if not KSR.nathelper then
		return
	end
	if KSR.siputils.is_request() > 0 and KSR.siputils.has_totag() > 0 and
	   KSR.rr.check_route_param("nat=yes") > 0 then
		KSR.setbflag(FLB_NATB)
	end
	if not (KSR.isflagset(FLT_NATS) or KSR.isbflagset(FLB_NATB)) then
		return
	end
	if KSR.rtpengine then
		KSR.rtpengine.rtpengine_manage("replace-origin replace-session-connection")
	end
	if KSR.siputils.is_request() > 0 and KSR.siputils.has_totag() < 0 and
	   KSR.tmx.t_is_branch_route() > 0 then
		KSR.rr.add_rr_param(";nat=yes")
	end
	if KSR.siputils.is_reply() > 0 and KSR.isbflagset(FLB_NATB) then
		KSR.nathelper.set_contact_alias()
	end
end

function route_dlguri()
	if KSR.nathelper and not KSR.isdsturiset() then
		KSR.nathelper.handle_ruri_alias()
	end
end

-- requests for other domains are relayed as they are
function route_sipout()
	if KSR.is_myself_ruri() then
		return
	end
	KSR.hdr.append("P-Hint: outbound\r\n")
	route_relay()
end

function ksr_branch_manage()
	KSR.dbg("new branch [" .. KSR.pv.get("$T_branch_idx") .. "] to " ..
		KSR.kx.get_ruri())
	route_natmanage()
end

function ksr_onreply_manage()
	local code = KSR.kx.get_status()
	if code > 100 and code <= 299 then
		route_natmanage()
	end
end

-- a call that was busy, timed out or not answered goes to voicemail
function ksr_failure_manage()
	route_natmanage()
	if KSR.tm.t_is_canceled() > 0 then
		return
	end
	local vm = define("VOICEMAIL")
	if not vm then
		return
	end
	local code = KSR.pv.get("$T_reply_code")
	if code == 486 or code == 408 or code == 480 or
	   KSR.tm.t_branch_timeout() > 0 then
		KSR.seturi(vm)
		KSR.resetdsturi()
		route_relay()
	end
end

-- replies relayed statelessly (no transaction): drop malformed ones
function ksr_reply_route()
	if KSR.sanity.sanity_check(17604, 6) < 0 then
		KSR.x.drop()
	end
end
