# bench/python/register.py: the `register` workload (bench/lua/register.lua) in
# Python, run unchanged by Osprey and by Kamailio (app_python3):
# REGISTER saved in memory, no authentication.
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
        if KSR.is_REGISTER():
            if KSR.registrar.save("location", 0) < 0:
                KSR.sl.sl_reply_error()
            return 1
        KSR.sl.sl_send_reply(405, "Method Not Allowed")
        return 1
