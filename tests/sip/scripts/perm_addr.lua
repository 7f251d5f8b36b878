-- perm_addr.lua: sources in address group 1 are answered 200 with the record's
-- tag in the reason phrase; others get 403 naming the group they are in
-- (allow_source_address_group), or -1.
function ksr_request_route()
	if KSR.permissions.allow_source_address(1) > 0 then
		local tag = KSR.pv.get("$avp(tag)") or "none"
		KSR.sl.sl_send_reply(200, "Trusted " .. tag)
		return
	end
	KSR.sl.sl_send_reply(403, "Group " ..
		KSR.permissions.allow_source_address_group())
end
