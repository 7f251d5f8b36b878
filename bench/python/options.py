# bench/python/options.py: the `options` workload (bench/lua/options.lua) in
# Python, run unchanged by Osprey and by Kamailio (app_python3):
# stateless, OPTIONS answered 200 by the script.
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
        if KSR.is_OPTIONS():
            KSR.sl.sl_send_reply(200, "OK")
            return 1
        KSR.sl.sl_send_reply(405, "Method Not Allowed")
        return 1
