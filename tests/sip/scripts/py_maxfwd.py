# py_maxfwd.py: 483 when Max-Forwards is exhausted, 200 otherwise. The
# KSR.x.exit() stops the route: no second reply.
import KSR


def mod_init():
    return Router()


class Router:
    def ksr_request_route(self, msg):
        if KSR.maxfwd.process_maxfwd(10) < 0:
            KSR.sl.sl_send_reply(483, "Too Many Hops")
            KSR.x.exit()
        KSR.sl.sl_send_reply(200, "OK")
        return 1
