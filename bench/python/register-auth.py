# bench/python/register-auth.py: the `register-auth` workload (bench/lua/register-auth.lua) in
# Python, run unchanged by Osprey and by Kamailio (app_python3):
# 401 with qop=auth, then pv_auth_check against the htable "subs", then save.
import KSR as KSR

REALM = "bench.local"


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
        if not KSR.is_REGISTER():
            KSR.sl.sl_send_reply(405, "Method Not Allowed")
            return 1
        rc = -5
        user = KSR.pv.get("$au")
        if user:
            pw = KSR.htable.sht_get("subs", user)
            if pw:
                rc = KSR.auth.pv_auth_check(REALM, pw, 0, 1)
            else:
                rc = -3
        if rc < 0:
            KSR.auth.auth_challenge(REALM, 1)
            return 1
        KSR.auth.consume_credentials()
        if KSR.registrar.save("location", 0) < 0:
            KSR.sl.sl_reply_error()
        return 1
