-- regcall.lua: a registrar that users call each other through, written
-- as Kamailio's basic KEMI example is (tests.py, regcall_*).
--   REGISTER   the source address goes to $avp(RECEIVED) (received_avp),
--              then save("location")
--   in dialog  loose_route + t_relay (the BYE follows the Record-Route)
--   INVITE     record_route, lookup("location"): 404 (stateful) when the
--              user has no contact, else t_relay to every contact found.
-- @FORK@ picks how several contacts are tried:
--   parallel   lookup's branches as they are: t_relay forks to all
--   serial     t_load_contacts + t_next_contacts: the highest q first;
--              the failure route moves to the next q (equal q: parallel)
-- Every branch logs "regcall: branch <idx> <R-URI> du=<$du>" so the tests
-- can see where each one went.
local FORK = "@FORK@"

function ksr_request_route()
	if KSR.maxfwd.process_maxfwd(10) < 0 then
		KSR.sl.sl_send_reply(483, "Too Many Hops")
		return
	end

	if KSR.is_CANCEL() then
		if KSR.tm.t_check_trans() > 0 then
			KSR.tm.t_relay()
		end
		return
	end

	if not KSR.is_ACK() then
		if KSR.tmx.t_precheck_trans() > 0 then
			KSR.tm.t_check_trans()
			return
		end
		if KSR.tm.t_check_trans() == 0 then
			return
		end
	end

	if KSR.siputils.has_totag() > 0 then
		if KSR.rr.loose_route() > 0 then
			if KSR.tm.t_relay() < 0 then
				KSR.sl.sl_reply_error()
			end
			return
		end
		if KSR.is_ACK() then
			if KSR.tm.t_check_trans() > 0 then
				KSR.tm.t_relay()
			end
			return
		end
		KSR.sl.sl_send_reply(404, "Not here")
		return
	end
	if KSR.is_ACK() then
		return
	end

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
	if rc < 0 then
		KSR.tm.t_newtran()
		if rc == -2 then
			KSR.sl.send_reply(405, "Method Not Allowed")
		else
			KSR.sl.send_reply(404, "Not Found")
		end
		return
	end
	KSR.info("regcall: lookup " .. KSR.pv.get("$tU") .. " found " ..
		 KSR.pv.get("$ru") .. " du=" .. KSR.pv.getw("$du") .. "\n")
	KSR.rr.record_route()
	if FORK == "serial" then
		KSR.tm.t_load_contacts()
		KSR.tm.t_next_contacts()
		KSR.tm.t_on_failure("regcall_next")
	end
	KSR.tm.t_on_branch("regcall_branch")
	if KSR.tm.t_relay() < 0 then
		KSR.sl.sl_reply_error()
	end
end

function regcall_branch()
	KSR.info("regcall: branch " .. KSR.pv.get("$T_branch_idx") .. " " ..
		 KSR.pv.get("$ru") .. " du=" .. KSR.pv.getw("$du") .. "\n")
end

-- serial forking: the next q group, until one answers or none is left
function regcall_next()
	if KSR.tm.t_is_canceled() > 0 then
		return
	end
	KSR.info("regcall: failure " .. KSR.pv.get("$T_reply_code") .. "\n")
	if KSR.tm.t_next_contacts() > 0 then
		KSR.info("regcall: serial next " .. KSR.pv.get("$ru") .. "\n")
		KSR.tm.t_on_failure("regcall_next")
		KSR.tm.t_on_branch("regcall_branch")
		KSR.tm.t_relay()
	end
end
