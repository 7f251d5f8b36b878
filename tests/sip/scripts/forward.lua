-- forward.lua: append a header and forward statelessly. The harness
-- replaces DST with a destination URI (forward to $du) or with nothing
-- (forward to the R-URI). Replies go back by Via, statelessly.
local dst = "@DST@"

function ksr_request_route()
	KSR.hdr.append("X-Osprey: yes\r\n")
	if dst ~= "" then
		KSR.setdsturi(dst)
	end
	KSR.forward()
end

function ksr_reply_route()
	KSR.info("e2e: reply passing through\n")
end
