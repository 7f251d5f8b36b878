# py_options.py: answer every request with 200 OK (the Python engine's
# options test).
import KSR


def mod_init():
    return Router()


class Router:
    def ksr_request_route(self, msg):
        KSR.sl.sl_send_reply(200, "OK")
        return 1
