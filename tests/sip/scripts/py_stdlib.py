# py_stdlib.py: routing that uses Python's standard library (json, re,
# hashlib) and a Debian python3-* package when the harness names one (PKG:
# a module from /usr/lib/python3/dist-packages, or empty). The reason
# phrase is "PY <R-URI user> <sha256(user)[:8]> <pkg-or-nopkg>".
import hashlib
import importlib
import json
import re

import KSR

PKG = "@PKG@"
if PKG:
    mod = importlib.import_module(PKG)
    PKG_SEEN = PKG if "/dist-packages/" in mod.__file__ else "elsewhere"
else:
    PKG_SEEN = "nopkg"

CONF = json.loads('{"prefix": "PY", "digits": 8}')
USER_RE = re.compile(r"^sips?:([^@;]+)@")


def mod_init():
    return Router()


class Router:
    def ksr_request_route(self, msg):
        m = USER_RE.match(KSR.pv.get("$ru"))
        user = m.group(1) if m else "none"
        digest = hashlib.sha256(user.encode()).hexdigest()[:CONF["digits"]]
        KSR.sl.sl_send_reply(200, "%s %s %s %s" % (
            CONF["prefix"], user, digest, PKG_SEEN))
        return 1
