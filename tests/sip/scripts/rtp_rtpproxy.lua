-- rtp_rtpproxy.lua: a stateless proxy relaying media with
-- rtpproxy_manage("co"), as Kamailio's example scripts call it.

function ksr_request_route()
	if KSR.is_INVITE() or KSR.is_ACK() or KSR.is_BYE() or KSR.is_CANCEL() then
		local rc = KSR.rtpproxy.rtpproxy_manage("co")
		KSR.info("rtp-e2e: request " .. KSR.pv.get("$rm") .. " manage " ..
			 rc .. "\n")
		if KSR.is_INVITE() and rc < 0 then
			KSR.sl.sl_send_reply(503, "No Media Relay")
			return
		end
	end
	KSR.forward()
end

function ksr_reply_route()
	if KSR.pv.get("$rm") ~= "INVITE" then
		return
	end
	local rc = KSR.rtpproxy.rtpproxy_manage("co")
	KSR.info("rtp-e2e: reply " .. KSR.pv.get("$rs") .. " manage " .. rc ..
		 "\n")
end
