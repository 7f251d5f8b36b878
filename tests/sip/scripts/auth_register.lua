-- auth_register.lua: digest authentication against auth_db as in
-- Kamailio's KEMI examples: auth_check(realm, "subscriber", 1), and on
-- failure auth_challenge(realm, 1) (qop=auth). A mismatch between the auth
-- user and the To user (-8) gets 403. What auth_check returned goes back in
-- an X-Auth-Rc header of every reply, so the tests can assert it.
-- REGISTER is saved by the registrar when the build has one, else 200.
local REALM = "@REALM@"

function ksr_request_route()
	local rc = KSR.auth_db.auth_check(REALM, "subscriber", 1)
	KSR.hdr.append_to_reply("X-Auth-Rc: " .. rc .. "\r\n")
	if rc < 0 then
		if rc == -8 then
			KSR.sl.sl_send_reply(403, "Forbidden auth ID")
			return
		end
		KSR.auth.auth_challenge(REALM, 1)
		return
	end
	KSR.auth.consume_credentials()
	if KSR.registrar and KSR.pv.get("$rm") == "REGISTER" then
		KSR.registrar.save("location", 0)
		return
	end
	KSR.sl.sl_send_reply(200, "OK")
end
