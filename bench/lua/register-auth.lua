-- bench/lua/register-auth.lua: the `register-auth` workload, run unchanged
-- by Osprey and by Kamailio (app_lua). REGISTER with digest authentication:
-- the first attempt gets 401 (qop=auth), the second is checked with
-- pv_auth_check against the password kept in the htable "subs" (loaded at
-- start from the benchmark's subscriber list: SQLite for Osprey, db_text
-- for Kamailio, the same rows), then saved in memory.

local REALM = "bench.local"

function ksr_request_route()
	if KSR.maxfwd.process_maxfwd(10) < 0 then
		KSR.sl.sl_send_reply(483, "Too Many Hops")
		return
	end
	if not KSR.is_REGISTER() then
		KSR.sl.sl_send_reply(405, "Method Not Allowed")
		return
	end
	local rc = -5
	local user = KSR.pv.get("$au")
	if user then
		local pw = KSR.htable.sht_get("subs", user)
		if pw then
			rc = KSR.auth.pv_auth_check(REALM, pw, 0, 1)
		else
			rc = -3
		end
	end
	if rc < 0 then
		KSR.auth.auth_challenge(REALM, 1)
		return
	end
	KSR.auth.consume_credentials()
	if KSR.registrar.save("location", 0) < 0 then
		KSR.sl.sl_reply_error()
	end
end
