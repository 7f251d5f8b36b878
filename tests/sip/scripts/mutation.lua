-- mutation.lua: touch many parts of the message (pseudo-variables parse
-- the R-URI, From/To URIs and tags, Via, Contact, ...), add a header, then
-- answer 200 or, when DST is set, forward INVITE and REGISTER statelessly
-- to it (OPTIONS are always answered, so the test can probe). Used by the
-- mutation_flood test: any outcome is fine except a crash or a hang.
local dst = "@DST@"
local pvs = {
	"$ru", "$rU", "$rd", "$rp", "$rz", "$ou", "$fu", "$fU", "$fd", "$fn",
	"$ft", "$tu", "$tU", "$td", "$tn", "$tt", "$ci", "$cs", "$rm", "$si",
	"$sp", "$ua", "$ct", "$cl", "$rb", "$mb", "$ml", "$hdr(Via)",
	"$hdr(Contact)", "$hdr(X-Mut)", "$hdrc(Via)", "$pr", "$proto", "$Ri",
	"$Rp", "$rv", "$rs", "$rr", "$du", "$var(x)", "$ai",
	"$au", "$ar", "$hdr(Max-Forwards)",
}

function ksr_request_route()
	if KSR.maxfwd.process_maxfwd(10) < 0 then
		KSR.sl.sl_send_reply(483, "Too Many Hops")
		return
	end
	local n = 0
	for _, pv in ipairs(pvs) do
		if KSR.pv.get(pv) ~= nil then
			n = n + 1
		end
	end
	KSR.hdr.append("X-Mut: " .. n .. "\r\n")
	if KSR.is_method_in("IR") and dst ~= "" then
		KSR.setdsturi(dst)
		KSR.forward()
		return
	end
	KSR.sl.sl_send_reply(200, "OK")
end

function ksr_reply_route()
	local n = 0
	for _, pv in ipairs(pvs) do
		if KSR.pv.get(pv) ~= nil then
			n = n + 1
		end
	end
end
