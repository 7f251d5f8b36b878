-- ht_pike.lua: Kamailio's anti-flood pattern. A source over the pike
-- density is banned in the ipban htable and gets no answer from then on;
-- every other request is answered 200.
function ksr_request_route()
	if not KSR.is_myself_srcip() then
		local srcip = KSR.kx.get_srcip()
		if KSR.htable.sht_match_name("ipban", "eq", srcip) > 0 then
			-- ip is already blocked
			KSR.x.exit()
		end
		if KSR.pike.pike_check_req() < 0 then
			KSR.htable.sht_seti("ipban", srcip, 1)
			KSR.x.exit()
		end
	end
	KSR.sl.sl_send_reply(200, "OK")
end
