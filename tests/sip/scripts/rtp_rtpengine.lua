-- rtp_rtpengine.lua: a proxy relaying media through rtpengine with
-- rtpengine_manage(), as Kamailio's KEMI examples do. MODE is "tm"
-- (t_relay, the answer in the transaction's onreply route) or
-- "stateless" (forward(), the answer in ksr_reply_route).
local MODE = "@MODE@"
local FLAGS = "replace-origin replace-session-connection ICE=remove RTP/AVP"

function ksr_request_route()
	if KSR.is_INVITE() or KSR.is_ACK() or KSR.is_BYE() or KSR.is_CANCEL() then
		local rc = KSR.rtpengine.rtpengine_manage(FLAGS)
		KSR.info("rtp-e2e: request " .. KSR.pv.get("$rm") .. " manage " ..
			 rc .. "\n")
		if KSR.is_INVITE() and rc < 0 then
			KSR.sl.sl_send_reply(503, "No Media Relay")
			return
		end
	end
	if MODE ~= "tm" or KSR.is_ACK() then
		KSR.forward()
		return
	end
	KSR.tm.t_on_reply("rtp_onreply")
	if KSR.tm.t_relay() < 0 then
		KSR.sl.sl_reply_error()
	end
end

local function on_reply(where)
	if KSR.pv.get("$rm") ~= "INVITE" then
		return
	end
	local rc = KSR.rtpengine.rtpengine_manage(FLAGS)
	KSR.info("rtp-e2e: " .. where .. " " .. KSR.pv.get("$rs") ..
		 " manage " .. rc .. "\n")
end

function ksr_reply_route()
	if MODE ~= "tm" then
		on_reply("reply")
	end
end

function rtp_onreply()
	on_reply("tm reply")
end
