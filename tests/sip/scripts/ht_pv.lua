-- ht_pv.lua: the R-URI user picks what to do with the htable "cnt",
-- keyed by the source address ($si), and the reason phrase reports it.
function ksr_request_route()
	local user = KSR.kx.get_ruser()
	local key = KSR.kx.get_srcip()
	if user == "inc" then
		KSR.sl.sl_send_reply(200, "count " .. KSR.htable.sht_inc("cnt", key))
	elseif user == "pvset" then
		KSR.pv.seti("$sht(cnt=>$si)", 100)
		KSR.pv.sets("$sht(names=>$si::$rU)", "seen")
		KSR.sl.sl_send_reply(200, "set")
	elseif user == "pvget" then
		KSR.sl.sl_send_reply(200, "value " .. KSR.pv.get("$sht(cnt=>$si)")
			.. " names " .. KSR.htable.sht_getw("names", key .. "::pvset"))
	elseif user == "isnull" then
		KSR.sl.sl_send_reply(200, "null " ..
			tostring(KSR.pv.is_null("$sht(names=>$si::pvset)")))
	else
		KSR.sl.sl_send_reply(404, "Unknown " .. user)
	end
end
