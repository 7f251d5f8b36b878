-- broken.lua: a syntax error on line 6 for osprey -c.
function ksr_request_route()
	if KSR.maxfwd.process_maxfwd(10) < 0 then
		KSR.sl.sl_send_reply(483, "Too Many Hops")
	end
	local reason = = "OK"
	KSR.sl.sl_send_reply(200, reason)
end
