# Benchmark policy: bench/lua-choice/policy.lua written for the Python
# engine (Kamailio's app_python3 contract). The checks of Kamailio's example
# request route, then a 200 for OPTIONS.
import KSR


def mod_init():
    return Policy()


class Policy:
    def ksr_request_route(self, msg):
        if KSR.maxfwd.process_maxfwd(10) < 0:
            KSR.sl.sl_send_reply(483, "Too Many Hops")
            return 1
        if KSR.sanity.sanity_check(17895, 7) < 0:
            KSR.x.exit()
        if KSR.is_method_in("IBSU"):
            KSR.err("unexpected")
        ua = KSR.kx.gete_ua()
        if "friendly" in ua or "scanner" in ua:
            KSR.sl.sl_send_reply(200, "OK")
            return 1
        from_uri = KSR.pv.get("$fu")
        callid = KSR.pv.get("$ci")
        if KSR.siputils.has_totag() > 0:
            KSR.sl.sl_send_reply(404, "Not here")
            return 1
        if KSR.is_OPTIONS() and KSR.is_myself_ruri():
            KSR.sl.sl_send_reply(200, "Keepalive")
            return 1
        KSR.sl.sl_send_reply(404, "Not Found")
        return 1
