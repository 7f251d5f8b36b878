# bench/python/call-lookup.py: the `call-lookup` workload (bench/lua/call-lookup.lua) in
# Python, run unchanged by Osprey and by Kamailio (app_python3):
# as call.py, the callee found with registrar.lookup.
import KSR as KSR


def mod_init():
    return Bench()


class Bench:
    def __init__(self):
        pass

    def child_init(self, rank):
        return 0

    # Kamailio 5.6's app_python3 calls it for every message tm sends and
    # fails the route when the object has no such method
    def ksr_onsend_route(self, msg):
        return 1

    def ksr_request_route(self, msg):
        if KSR.maxfwd.process_maxfwd(10) < 0:
            KSR.sl.sl_send_reply(483, "Too Many Hops")
            return 1
        if KSR.siputils.has_totag() > 0:
            if KSR.rr.loose_route() > 0:
                KSR.tm.t_relay()
                return 1
            if KSR.is_ACK():
                if KSR.tm.t_check_trans() > 0:
                    KSR.tm.t_relay()
                return 1
            KSR.sl.sl_send_reply(404, "Not here")
            return 1
        if KSR.is_CANCEL():
            if KSR.tm.t_check_trans() > 0:
                KSR.tm.t_relay()
            return 1
        if KSR.is_REGISTER():
            if KSR.registrar.save("location", 0) < 0:
                KSR.sl.sl_reply_error()
            return 1
        if KSR.registrar.lookup("location") < 0:
            KSR.sl.sl_send_reply(404, "Not Found")
            return 1
        if KSR.is_INVITE():
            KSR.rr.record_route()
        if KSR.tm.t_relay() < 0:
            KSR.sl.sl_reply_error()
        return 1
