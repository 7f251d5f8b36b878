-- bench/lua/register.lua: the `register` workload, run unchanged by Osprey
-- and by Kamailio (app_lua). REGISTER without authentication, saved in the
-- in-memory location table (usrloc db_mode 0 on both sides).

function ksr_request_route()
	if KSR.maxfwd.process_maxfwd(10) < 0 then
		KSR.sl.sl_send_reply(483, "Too Many Hops")
		return
	end
	if KSR.is_REGISTER() then
		if KSR.registrar.save("location", 0) < 0 then
			KSR.sl.sl_reply_error()
		end
		return
	end
	KSR.sl.sl_send_reply(405, "Method Not Allowed")
end
