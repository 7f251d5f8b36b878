-- reg_registrar.lua: the registrar end-to-end tests (tests.py, reg_*).
-- REGISTER: the source address goes to $avp(RECEIVED) as nathelper's
-- fix_nated_register would put it (received_avp in reg_registrar.cfg),
-- then save("location"). Any other request: lookup("location"), answered
-- with what it found in the reason phrase ("Found <R-URI> du=<$du>"), 404
-- when nothing is registered, 405 when no contact accepts the method.
function ksr_request_route()
	if KSR.is_REGISTER() then
		local proto = KSR.pv.get("$pr")
		local rcv = "sip:" .. KSR.pv.get("$si") .. ":" .. KSR.pv.get("$sp")
		if proto ~= "udp" then
			rcv = rcv .. ";transport=" .. proto
		end
		KSR.pv.sets("$avp(RECEIVED)", rcv)
		KSR.registrar.save("location", 0)
		return
	end
	local rc = KSR.registrar.lookup("location")
	if rc == -2 then
		KSR.sl.sl_send_reply(405, "Method Not Allowed")
		return
	end
	if rc < 0 then
		KSR.sl.sl_send_reply(404, "Not Found")
		return
	end
	KSR.sl.sl_send_reply(200, "Found " .. KSR.pv.get("$ru") .. " du="
		.. KSR.pv.getw("$du"))
end
