# py_script_error.py: runtime errors picked by the R-URI user. The test
# checks the lines of the faulty calls (keep them at lines 16, 18 and 20,
# or update PY_SCRIPT_ERROR_LINES in tests.py).
import KSR


def mod_init():
    return Router()


class Router:
    def ksr_request_route(self, msg):
        user = KSR.pv.get("$rU")
        if user == "exc":
            # a Python exception raised by the script itself
            return 1 // 0
        elif user == "badarg":
            KSR.sl.sl_send_reply("abc")
        elif user == "callnil":
            KSR.no_such_function()
        KSR.sl.sl_send_reply(200, "OK")
        return 1
