-- benchmark policy: the checks of Kamailio's example request route, then a
-- 200 for OPTIONS
function ksr_request_route()
	if KSR.maxfwd.process_maxfwd(10) < 0 then
		KSR.sl.sl_send_reply(483, "Too Many Hops")
		return
	end
	if KSR.sanity.sanity_check(17895, 7) < 0 then
		KSR.x.exit()
	end
	if KSR.is_method_in("IBSU") then
		KSR.err("unexpected")
	end
	local ua = KSR.kx.gete_ua()
	if string.find(ua, "friendly") or string.find(ua, "scanner") then
		KSR.sl.sl_send_reply(200, "OK")
		return
	end
	local from = KSR.pv.get("$fu")
	local callid = KSR.pv.get("$ci")
	if KSR.siputils.has_totag() > 0 then
		KSR.sl.sl_send_reply(404, "Not here")
		return
	end
	if KSR.is_OPTIONS() and KSR.is_myself_ruri() then
		KSR.sl.sl_send_reply(200, "Keepalive")
		return
	end
	KSR.sl.sl_send_reply(404, "Not Found")
end
