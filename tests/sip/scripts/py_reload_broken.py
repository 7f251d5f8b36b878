# py_reload_broken.py: a syntax error on line 4; the reload must fail with
# "py_reload.py:4:" (the harness copies it over py_reload.py).
import KSR
x = = 1


def mod_init():
    return Router()


class Router:
    def ksr_request_route(self, msg):
        KSR.sl.sl_send_reply(200, "BROKEN")
        return 1
