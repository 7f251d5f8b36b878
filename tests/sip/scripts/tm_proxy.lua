-- tm_proxy.lua: a stateful proxy for the tm end-to-end tests, written as
-- Kamailio's KEMI examples are. The R-URI user picks the behaviour:
--   relay     record-route and relay to UAS1
--   failover  UAS1 first; its failure (486, timeout) moves to UAS2
--   fork      UAS1 and UAS2 in parallel; the first 200 wins; a branch
--             route adds X-Tm-Branch: <branch index>
--   serial    UAS1 (q=1) then UAS2 (q=0.5): t_load_contacts and
--             t_next_contacts, again in the failure route
--   reply     t_newtran and KSR.sl.send_reply(486): a stateful answer
--   other     as relay
-- The harness fills in UAS1 and UAS2 (SIP URIs, ;transport= as needed).
local UAS1 = "@UAS1@"
local UAS2 = "@UAS2@"

function ksr_request_route()
	if KSR.maxfwd.process_maxfwd(10) < 0 then
		KSR.sl.sl_send_reply(483, "Too Many Hops")
		return
	end

	-- CANCEL: relayed hop by hop when its INVITE is known
	if KSR.is_CANCEL() then
		if KSR.tm.t_check_trans() > 0 then
			KSR.tm.t_relay()
		end
		return
	end

	-- retransmissions are answered from the transaction
	if not KSR.is_ACK() then
		if KSR.tmx.t_precheck_trans() > 0 then
			KSR.tm.t_check_trans()
			return
		end
		if KSR.tm.t_check_trans() == 0 then
			return
		end
	end

	-- within a dialog: follow the route set
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

	local mode = KSR.pv.get("$rU")
	if mode == "reply" then
		-- answer as a stateful UAS: send_reply goes through the
		-- transaction, so retransmissions get the same answer
		if KSR.tm.t_newtran() > 0 then
			KSR.sl.send_reply(486, "Busy Here")
		end
		return
	end
	KSR.rr.record_route()
	if mode == "serial" then
		KSR.seturi("sip:serial@" .. string.sub(UAS1, 5))
		KSR.corex.append_branch_uri_q("sip:serial@" .. string.sub(UAS2, 5),
					      "0.5")
		KSR.tm.t_load_contacts()
		KSR.tm.t_next_contacts()
		KSR.tm.t_on_failure("tm_serial")
	else
		if mode == "failover" then
			KSR.pv.sets("$avp(tmtest)", "kept")
			KSR.tm.t_on_failure("tm_failure")
		elseif mode == "fork" then
			KSR.corex.append_branch_uri("sip:fork@" ..
						    string.sub(UAS2, 5))
			KSR.tm.t_on_branch("tm_branch")
		end
		KSR.setdsturi(UAS1)
	end
	KSR.tm.t_on_reply("tm_onreply")
	if KSR.tm.t_relay() < 0 then
		KSR.sl.sl_reply_error()
	end
end

function tm_onreply()
	KSR.info("tm-e2e: reply " .. KSR.pv.get("$T_reply_code") ..
		 " on branch " .. KSR.pv.get("$T_branch_idx") .. "\n")
end

function tm_branch()
	if KSR.tmx.t_is_branch_route() > 0 then
		KSR.hdr.append("X-Tm-Branch: " .. KSR.pv.get("$T_branch_idx") ..
			       "\r\n")
	end
end

function tm_serial()
	if KSR.tm.t_is_canceled() > 0 then
		return
	end
	if KSR.tm.t_next_contacts() > 0 then
		KSR.info("tm-e2e: serial forking to " .. KSR.pv.get("$ru") .. "\n")
		KSR.tm.t_relay()
	end
end

function tm_failure()
	if KSR.tm.t_is_canceled() > 0 then
		return
	end
	KSR.info("tm-e2e: failure route, code " .. KSR.pv.get("$T_reply_code") ..
		 ", timeout " .. KSR.tm.t_branch_timeout() .. ", avp " ..
		 tostring(KSR.pv.get("$avp(tmtest)")) .. "\n")
	if KSR.tm.t_check_status("486|408") > 0 then
		KSR.setdsturi(UAS2)
		KSR.tm.t_relay()
	end
end
