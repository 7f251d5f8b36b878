-- script_error.lua: runtime errors picked by the R-URI user. The line
-- numbers of the faulty calls are checked by the test (keep them at
-- lines 9, 11 and 13, or update SCRIPT_ERROR_LINES in tests.py).
function ksr_request_route()
	local user = KSR.pv.get("$rU")
	local t = nil
	if user == "nil" then
		-- indexing a nil value: a Lua runtime error
		return t.field
	elseif user == "badarg" then
		KSR.sl.sl_send_reply("abc")
	elseif user == "callnil" then
		KSR.no_such_function()
	end
	KSR.sl.sl_send_reply(200, "OK")
end
