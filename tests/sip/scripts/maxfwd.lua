-- maxfwd.lua: 483 when Max-Forwards is exhausted, 200 otherwise.
function ksr_request_route()
	if KSR.maxfwd.process_maxfwd(10) < 0 then
		KSR.sl.sl_send_reply(483, "Too Many Hops")
		KSR.x.exit()
	end
	KSR.sl.sl_send_reply(200, "OK")
end
