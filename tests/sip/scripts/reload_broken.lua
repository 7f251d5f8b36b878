-- reload_broken.lua: a syntax error on line 4; the reload must fail with
-- "reload.lua:4:" (the harness copies it over reload.lua).
function ksr_request_route()
	local x = = 1
	KSR.sl.sl_send_reply(200, "BROKEN")
end
