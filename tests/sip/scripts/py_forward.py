# py_forward.py: append a header and forward statelessly. The harness
# replaces DST with a destination URI (forward to $du) or with nothing
# (forward to the R-URI). Replies go back by Via, statelessly.
import KSR

DST = "@DST@"


def mod_init():
    return Router()


class Router:
    def ksr_request_route(self, msg):
        KSR.hdr.append("X-Osprey: yes\r\n")
        if DST:
            KSR.setdsturi(DST)
        KSR.forward()
        return 1

    def ksr_reply_route(self, msg):
        KSR.info("e2e: %s reply %d passing through\n"
                 % (msg.Type, msg.Status))
        return 1
