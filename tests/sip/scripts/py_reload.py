# py_reload.py: the harness rewrites REASON between reloads (OK-A / OK-B).
import KSR


def mod_init():
    return Router()


class Router:
    def ksr_request_route(self, msg):
        KSR.sl.sl_send_reply(200, "@REASON@")
        return 1
