-- Osprey's default routing script (Lua).
--
-- A stateless front end: it checks requests, answers keepalive OPTIONS
-- addressed to the server, and forwards everything else statelessly to the
-- Request-URI. Registrar, authentication and transactions join it as the
-- modules arrive; the same policy exists for every engine.

-- Flags, as in Kamailio's example scripts
FLT_ACC = 1

function ksr_request_route()
	-- Max-Forwards: add it when missing, refuse looping requests
	if KSR.maxfwd.process_maxfwd(10) < 0 then
		KSR.sl.sl_send_reply(483, "Too Many Hops")
		return
	end

	-- malformed requests get their answer from sanity_check itself
	if KSR.sanity.sanity_check(17895, 7) < 0 then
		KSR.err("malformed SIP message from " .. KSR.kx.get_srcip() ..
			":" .. KSR.kx.get_srcport() .. "\n")
		return
	end

	-- keepalive OPTIONS to the server itself
	if KSR.is_OPTIONS() and KSR.is_myself_ruri() and
	   KSR.corex.has_ruri_user() < 0 then
		KSR.sl.sl_send_reply(200, "Keepalive")
		return
	end

	-- nothing is registered here yet: requests for our own domain end here
	if KSR.is_myself_ruri() then
		if KSR.is_ACK() then
			return
		end
		KSR.sl.sl_send_reply(404, "Not Found")
		return
	end

	-- everything else goes on, statelessly
	if KSR.forward() < 0 then
		KSR.sl.sl_send_reply(502, "Bad Gateway")
	end
end

-- Replies come back through here before they are relayed by Via.
function ksr_reply_route()
	if KSR.sanity.sanity_check(17604, 6) < 0 then
		KSR.x.drop()
	end
end
