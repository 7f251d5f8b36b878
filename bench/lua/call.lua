-- bench/lua/call.lua: the `call` workload, run unchanged by Osprey and by
-- Kamailio (app_lua). A stateful proxy: initial INVITEs are record-routed
-- and relayed with tm to the Request-URI (the sipp UAS); in-dialog ACK and
-- BYE follow the Route set (loose_route) and are relayed too.

function ksr_request_route()
	if KSR.maxfwd.process_maxfwd(10) < 0 then
		KSR.sl.sl_send_reply(483, "Too Many Hops")
		return
	end
	if KSR.siputils.has_totag() > 0 then
		if KSR.rr.loose_route() > 0 then
			KSR.tm.t_relay()
			return
		end
		if KSR.is_ACK() then
			if KSR.tm.t_check_trans() > 0 then
				KSR.tm.t_relay()
			end
			return
		end
		KSR.sl.sl_send_reply(404, "Not here")
		return
	end
	if KSR.is_CANCEL() then
		if KSR.tm.t_check_trans() > 0 then
			KSR.tm.t_relay()
		end
		return
	end
	if KSR.is_INVITE() then
		KSR.rr.record_route()
	end
	if KSR.tm.t_relay() < 0 then
		KSR.sl.sl_reply_error()
	end
end
