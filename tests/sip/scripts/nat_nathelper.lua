-- nat_nathelper.lua: the nathelper end-to-end tests (tests.py, nat_*),
-- the NAT handling of Kamailio's default script in small.
-- REGISTER: a client detected behind a NAT (nat_uac_test(19)) gets the
-- NAT branch flag 6 and its source address saved as the received address
-- (fix_nated_register); "X-Sipping: yes" also sets flag 7 (SIP keepalives
-- instead of the 4-byte UDP ones). Other requests: a NATed caller's
-- Contact and SDP are fixed, then lookup("location") and a stateless
-- forward to the callee's received address.
local FLB_NATB = 6
local FLB_NATSIPPING = 7

function ksr_request_route()
	local nated = KSR.nathelper.nat_uac_test(19) > 0
	if KSR.is_REGISTER() then
		if nated then
			KSR.setbflag(FLB_NATB)
			if KSR.hdr.is_present("X-Sipping") > 0 then
				KSR.setbflag(FLB_NATSIPPING)
			end
			KSR.nathelper.fix_nated_register()
		end
		KSR.registrar.save("location", 0)
		return
	end
	if nated then
		KSR.nathelper.fix_nated_contact()
		if KSR.nathelper.nat_uac_test(8) > 0 then
			KSR.nathelper.fix_nated_sdp(2)
		end
	end
	if KSR.registrar.lookup("location") < 0 then
		KSR.sl.sl_send_reply(404, "Not Found")
		return
	end
	KSR.forward()
end
