-- options.lua: answer every request with 200 OK (OPTIONS, malformed, flood,
-- rpc, shutdown tests).
function ksr_request_route()
	KSR.sl.sl_send_reply(200, "OK")
end
