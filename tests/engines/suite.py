"""suite.py - the engine conformance suite: one routing policy, every engine.

Osprey's default policy exists once per engine (examples/default.lua,
default.js, default.py, and the native default-native.cfg), each started
by its examples/default-<engine>.cfg, which include default-modules.cfg.
For each engine of ENGINES this suite starts that configuration on free
ports, drives it through the same STEPS with sipp, and records for each
step what a SIP peer observes (status lines, the requests the far end
receives with their headers, registrations, route statistics), normalised
so that ports and tags do not matter. A step fails when its own
expectations are not met (the engine and the step are named); the runner
(run.py) then compares what every engine observed with the first engine,
and fails naming the engine and the step that differs.

Built on the end-to-end harness (tests/sip/harness.py): Ctx, Server, sipp
runs and ospreyctl calls come from there; the scenarios of this suite are
in tests/engines/scenarios/, and the UAS scenarios of tests/sip/scenarios/
are used as they are.
"""

import json
import os
import re
import socket
import subprocess
import time

import harness
from harness import TestFailure, free_port, raw_udp_request, status_line

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(harness.ROOT, "examples")
SCENARIOS = os.path.join(HERE, "scenarios")
DOMAIN = "osprey.test"


class Engine:
    """One engine's version of the policy: its configuration in examples/
    and the name core.route_stats reports for it."""

    def __init__(self, name, cfg, stats_name):
        self.name = name
        self.cfg = os.path.join(EXAMPLES, cfg)
        self.stats_name = stats_name

    def missing(self):
        """Why this engine cannot run (a message), or None."""
        if not os.path.exists(self.cfg):
            return "%s does not exist (yet)" % os.path.relpath(
                self.cfg, harness.ROOT)
        return None


# The engines, in order: the first one that passes a step is the reference
# the others are compared with. Adding an engine is one line here plus its
# examples/default-<engine>.cfg (README.md).
ENGINES = [
    Engine("lua", "default-lua.cfg", "lua"),
    Engine("js", "default-js.cfg", "jsdt"),
    Engine("python", "default-py.cfg", "python"),
    Engine("native", "default-native.cfg", "native"),
]

# Subscribers (ospreyctl subscriber add USER@DOMAIN PASSWORD), one per role
# so that each step registers its own callee.
USERS = {
    "alice": "alice-pw",   # the caller; registers in register_auth
    "bob": "bob-pw",       # answers the call
    "carol": "carol-pw",   # rings until the call is cancelled
    "dave": "dave-pw",     # busy (486): the call goes to voicemail
    "erin": "erin-pw",     # never answers: timeout, then voicemail
}

FR_TIMER = 2000  # ms: how long the silent callee of failover_timeout rings

STEPS = []


def step(timeout):
    """Register a step fn(run) -> observations (a JSON-able dict). It
    raises StepFailure (with the observations so far) when the behaviour is
    wrong. `timeout` is its share of the engine's time budget (the runner
    kills an engine's run at the sum, plus start-up)."""

    def deco(fn):
        fn.step_timeout = timeout
        fn.step_doc = " ".join((fn.__doc__ or "").split())
        STEPS.append(fn)
        return fn

    return deco


class StepFailure(Exception):
    def __init__(self, errors, observed):
        Exception.__init__(self, "\n  ".join(errors))
        self.observed = observed


class EngineCtx(harness.Ctx):
    """harness.Ctx that finds scenarios in tests/engines/scenarios first,
    then in tests/sip/scenarios."""

    def scenario(self, name, **subst):
        path = os.path.join(SCENARIOS, name + ".xml")
        if not os.path.exists(path):
            return harness.Ctx.scenario(self, name, **subst)
        with open(path) as f:
            text = f.read()
        for k, v in subst.items():
            text = text.replace("@%s@" % k, str(v))
        left = re.findall(r"@[A-Z_]+@", text)
        harness.check(not left, "scenario %s: unreplaced placeholders %s"
                      % (name, left))
        return self.write_file("%s-%d.xml" % (name, self.seq()), text)


# ---------------------------------------------------------------- SIP traces


class SipMsg:
    """A SIP message from a sipp trace: start line, headers (in order, names
    lower-cased, compact forms expanded), body."""

    COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id",
               "m": "contact", "l": "content-length", "c": "content-type",
               "k": "supported", "s": "subject", "e": "content-encoding",
               "x": "session-expires", "o": "event", "r": "refer-to",
               "b": "referred-by", "u": "allow-events"}

    def __init__(self, direction, text):
        self.direction = direction
        head, _, self.body = text.partition("\n\n")
        lines = [l.rstrip("\r") for l in head.split("\n")]
        self.start = lines[0].strip()
        self.headers = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:
                n, v = self.headers[-1]
                self.headers[-1] = (n, v + " " + line.strip())
            elif ":" in line:
                n, v = line.split(":", 1)
                n = n.strip().lower()
                self.headers.append((self.COMPACT.get(n, n), v.strip()))
        m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)", self.start)
        self.code = int(m.group(1)) if m else None
        self.reason = m.group(2) if m else None
        self.method = None if m else self.start.split(" ", 1)[0]
        self.ruri = None if m else (self.start.split(" ") + ["", ""])[1]

    def all(self, name):
        """Values of header `name`, comma-separated lists split."""
        out = []
        for n, v in self.headers:
            if n == name:
                out += [x.strip() for x in re.split(r",(?![^<]*>)", v)]
        return out

    def get(self, name):
        for n, v in self.headers:
            if n == name:
                return v
        return None

    def cseq_method(self):
        v = self.get("cseq") or ""
        return v.split()[-1] if v.split() else ""


def sipp_trace(path):
    """The messages of a sipp -trace_msg file, in order, as SipMsg with
    direction "sent" or "received"."""
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except OSError:
        return []
    out = []
    for part in re.split(r"^-{10,} [^\n]*\n", text, flags=re.M):
        m = re.match(r"\s*\w+ message (sent|received)[^\n]*\n\n", part)
        if not m:
            continue
        body = part[m.end():].strip("\n")
        if body:
            out.append(SipMsg(m.group(1), body + "\n"))
    return out


def received(res, requests=None):
    """Messages sipp received (a SippResult), retransmissions left out;
    only requests (True) / responses (False) when `requests` is set."""
    seen, out = set(), []
    for m in sipp_trace(res.messages_path):
        if m.direction != "received":
            continue
        if requests is not None and (m.method is not None) != requests:
            continue
        key = (m.start, m.get("cseq"), m.get("call-id"), m.get("via"))
        if key in seen:
            continue
        seen.add(key)
        out.append(m)
    return out


# ---------------------------------------------------------------- one run


class Run:
    """One engine's server and what the steps share: the port -> role map
    that makes observations independent of the ports picked."""

    def __init__(self, ctx, engine):
        self.ctx = ctx
        self.engine = engine
        self.roles = {}
        self.vm_port = self.port_for("vm")
        self.srv = None
        self.ran = set()  # steps run so far

    def port_for(self, role):
        port = free_port()
        self.roles[port] = role
        return port

    def start(self):
        args = ["-A", "DOMAIN=%s" % DOMAIN,
                "-A", 'VOICEMAIL="sip:vm@127.0.0.1:%d"' % self.vm_port,
                "-A", "FR_TIMER=%d" % FR_TIMER]
        self.srv = self.ctx.server(self.engine.cfg, workers=2, args=args)
        self.roles[self.srv.port] = "proxy"
        for user, pw in USERS.items():
            ok, out, rc = self.srv.ctl("subscriber", "add",
                                       "%s@%s" % (user, DOMAIN), pw)
            harness.check(ok, "ospreyctl subscriber add %s: exit %s: %s"
                          % (user, rc, out.strip()))

    def norm(self, s):
        """s with 127.0.0.1:PORT and rport=/port values of known ports
        replaced by their role, e.g. sip:bob@<bob>, <proxy>."""
        if s is None:
            return None

        def sub_hp(m):
            role = self.roles.get(int(m.group(2)))
            return "<%s>" % role if role else m.group(0)

        s = re.sub(r"(127\.0\.0\.1):(\d+)", sub_hp, s)

        def sub_p(m):
            role = self.roles.get(int(m.group(2)))
            return m.group(1) + ("<%s>" % role if role else m.group(2))

        return re.sub(r"((?:rport|port)=)(\d+)", sub_p, s)

    # ---- sipp

    def sipp(self, scenario, role=None, remote=True, port=None, **kw):
        """ctx.sipp with the server as the remote (unless remote is
        False, for a UAS) from a port recorded under `role`."""
        if port is None:
            port = self.port_for(role or scenario)
        elif role:
            self.roles[port] = role
        kw.setdefault("timeout", 20)
        return self.ctx.sipp(scenario, remote=self.srv.addr if remote
                             else None, port=port, **kw)

    def uas(self, name, scenario="tm_uas", port=None, **subst):
        """A sipp UAS (tests/sip scenario) in the background whose Contact
        user is `name`; returns (handle, contact URI)."""
        s = {"NAME": name, "RING": 100, "CHECK_RR": "true",
             "ACK_OPTIONAL": "false", "LINGER": 1000,
             "CHECK_BRANCH": "false"}
        s.update(subst)
        port = port or self.port_for(name)
        self.roles[port] = name
        h = self.sipp(scenario, remote=False, port=port, subst=s,
                      background=True, timeout=25)
        return h, "sip:%s@127.0.0.1:%d" % (name, port)

    def wait_uas(self, h, uac):
        """The SippResult of UAS h once UAC result `uac` is in: when the
        UAC failed, the UAS gets 2 s to finish, then is stopped (rather
        than waiting for its own timeout)."""
        if uac.rc != 0:
            try:
                h.proc.wait(2)
            except subprocess.TimeoutExpired:
                h.proc.terminate()
        return h.wait()

    def register(self, user, contact=None, password=None, expect=200):
        """REGISTER user with digest auth (401, then `expect`) binding
        `contact` (default: the registering sipp's own address)."""
        port = self.port_for("reg-" + user)
        contact = contact or "sip:%s@127.0.0.1:%d" % (user, port)
        return self.sipp("reg_auth", port=port, service=user,
                         subst={"DOMAIN": DOMAIN, "CONTACT": contact,
                                "EXPECT": expect},
                         extra=["-au", user, "-ap",
                                password or USERS.get(user, "x")])

    def options(self, role, ruri, expect, sender=None, ua="osprey-conformance",
                to_params="", **kw):
        """One OPTIONS (scenarios/options.xml) to `ruri` from URI `sender`
        (default: sip:monitor@ this sipp's address) expecting `expect`."""
        port = self.port_for(role)
        sender = sender or "sip:monitor@127.0.0.1:%d" % port
        return self.sipp("options", port=port,
                         subst={"RURI": ruri, "EXPECT": expect,
                                "FROM": sender, "UA": ua,
                                "TO_PARAMS": to_params}, **kw)

    def call(self, callee, scenario="call_uac", caller="alice", **subst):
        s = {"DOMAIN": DOMAIN, "CALLER": caller}
        s.update(subst)
        return self.sipp(scenario, role="uac-" + callee, service=callee,
                         subst=s, extra=["-au", caller, "-ap",
                                         USERS.get(caller, "x")])

    # ---- observations

    def replies(self, res):
        """'METHOD CODE Reason' of each response sipp received."""
        return ["%s %d %s" % (m.cseq_method(), m.code, m.reason)
                for m in received(res, requests=False)]

    def request_view(self, m):
        """What the far end sees of a forwarded request: R-URI, header names
        in order, route headers, Max-Forwards, Via count, Contact."""
        if m is None:
            return None
        return {
            "request": "%s %s" % (m.method, self.norm(m.ruri)),
            "headers": [n for n, _ in m.headers],
            "record-route": [self.norm(v) for v in m.all("record-route")],
            "route": [self.norm(v) for v in m.all("route")],
            "max-forwards": m.get("max-forwards"),
            "vias": len(m.all("via")),
            "contact": self.norm(m.get("contact")),
        }

    def requests_seen(self, res):
        """Requests a UAS received, each as request_view()."""
        return [self.request_view(m) for m in received(res, requests=True)]


def sipp_errors(what, res, calls=1):
    if res.rc != 0 or res.successful != calls or res.failed not in (0, -1):
        return ["%s: %s" % (what, res.describe())]
    return []


def first(seq, pred):
    for x in seq:
        if pred(x):
            return x
    return None


def finish(errors, obs):
    if errors:
        raise StepFailure(errors, obs)
    return obs


# ---------------------------------------------------------------- steps


@step(timeout=30)
def keepalive(run):
    """OPTIONS to the server's domain without a user, over UDP and TCP ->
    200 Keepalive (sl, before any authentication)."""
    errors, obs = [], {}
    for t in ("u1", "t1"):
        r = run.options("keepalive-" + t, "sip:%s" % DOMAIN, 200,
                        transport=t)
        errors += sipp_errors("OPTIONS over %s" % t, r)
        obs[t] = run.replies(r)
        if obs[t] != ["OPTIONS 200 Keepalive"]:
            errors.append("OPTIONS over %s: replies %r, want "
                          "['OPTIONS 200 Keepalive']" % (t, obs[t]))
    return finish(errors, obs)


@step(timeout=30)
def maxfwd_483(run):
    """Max-Forwards 0 -> 483 Too Many Hops (maxfwd, before auth), for an
    OPTIONS keepalive and for an OPTIONS to a user of the domain."""
    errors, obs = [], {}
    for label, ruri in (("keepalive", "sip:%s" % DOMAIN),
                        ("user", "sip:bob@%s" % DOMAIN)):
        r = run.options("mf-" + label, ruri, 483, keys={"maxfwd": 0})
        errors += sipp_errors("Max-Forwards 0 to %s" % ruri, r)
        obs[label] = run.replies(r)
        if obs[label] != ["OPTIONS 483 Too Many Hops"]:
            errors.append("Max-Forwards 0 to %s: replies %r, want "
                          "['OPTIONS 483 Too Many Hops']" % (ruri, obs[label]))
    return finish(errors, obs)


@step(timeout=60)
def register_auth(run):
    """REGISTER of a subscriber: 401 with a Digest challenge for the From
    domain, then 200 listing the contact; the location table has it. A
    wrong password and an unknown user get 401 twice and store nothing."""
    errors, obs = [], {}
    r = run.register("alice")
    errors += sipp_errors("alice REGISTER", r)
    msgs = received(r, requests=False)
    obs["replies"] = run.replies(r)
    if [m.code for m in msgs] != [401, 200]:
        errors.append("alice: replies %r, want 401 then 200"
                      % obs["replies"])
    obs["challenge"] = challenge(msgs[0] if msgs else None,
                                 "www-authenticate")
    if obs["challenge"]["scheme"] != "Digest" or \
            obs["challenge"]["realm"] != DOMAIN:
        errors.append("alice: 401 challenge %r, want Digest realm=%s"
                      % (obs["challenge"], DOMAIN))
    ok200 = first(msgs, lambda m: m.code == 200)
    obs["contact"] = run.norm(ok200.get("contact")) if ok200 else None
    if not ok200 or "sip:alice@<reg-alice>" not in (obs["contact"] or ""):
        errors.append("alice: the 200 does not list the contact: %r"
                      % obs["contact"])
    obs["location"] = location(run, "alice")
    if obs["location"] != ["sip:alice@<reg-alice>"]:
        errors.append("ul.lookup location alice: %r, want "
                      "['sip:alice@<reg-alice>']" % obs["location"])
    for who, user, pw in (("wrong password", "alice", "nope"),
                          ("unknown user", "mallory", "x")):
        r = run.register(user, password=pw, expect=401,
                         contact="sip:%s@127.0.0.1:9" % user)
        errors += sipp_errors(who, r)
        obs[who] = run.replies(r)
        if [m.code for m in received(r, requests=False)] != [401, 401]:
            errors.append("%s: replies %r, want 401 twice" % (who,
                                                               obs[who]))
    obs["location-mallory"] = location(run, "mallory")
    if obs["location-mallory"]:
        errors.append("mallory was registered without credentials: %r"
                      % obs["location-mallory"])
    if location(run, "alice") != ["sip:alice@<reg-alice>"]:
        errors.append("alice's contact changed after a REGISTER with a "
                      "wrong password: %r" % location(run, "alice"))
    return finish(errors, obs)


def challenge(msg, header):
    """The Digest challenge in `header` of response msg: scheme, parameter
    names, realm, qop, algorithm (not the nonce, which changes)."""
    chal = msg.get(header) if msg else None
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', chal or ""))
    return {"scheme": (chal or "").split(" ")[0], "params": sorted(params),
            "realm": params.get("realm"), "qop": params.get("qop"),
            "algorithm": params.get("algorithm")}


def location(run, aor):
    """Contact URIs of `aor` in the location table (ul.lookup), normalised;
    [] when it has none."""
    ok, out, _ = run.srv.ctl("ul.lookup", "location", aor)
    if not ok:
        return []
    try:
        res = json.loads(out)
    except ValueError:
        return ["unparsable ul.lookup answer: %r" % out[:200]]
    if isinstance(res, dict) and "result" in res:
        res = res["result"]
    out = []
    for c in (res or {}).get("Contacts", []):
        c = c.get("Contact", c) if isinstance(c, dict) else {}
        out.append(run.norm(c.get("Address") or c.get("address") or
                            json.dumps(c, sort_keys=True)))
    return sorted(out)


@step(timeout=60)
def call(run):
    """A call between two registered users: alice's INVITE is challenged
    (407), sent again with credentials and relayed to bob's registered
    contact, which sees a Record-Route of the proxy and no credentials;
    the 200 carries the Record-Route back; the ACK and the BYE follow the
    route set through the proxy and reach bob with no Route left."""
    errors, obs = [], {}
    uas, contact = run.uas("bob")
    time.sleep(0.2)
    r = run.register("bob", contact=contact)
    errors += sipp_errors("bob REGISTER", r)
    c = run.call("bob", UAS_NAME="bob")
    errors += sipp_errors("alice calls bob: UAC", c)
    u = run.wait_uas(uas, c)
    errors += sipp_errors("alice calls bob: UAS bob", u)
    obs["uac"] = run.replies(c)
    r407 = first(received(c, requests=False), lambda m: m.code == 407)
    obs["challenge"] = challenge(r407, "proxy-authenticate")
    if obs["challenge"]["realm"] != DOMAIN:
        errors.append("407 challenge %r, want Digest realm=%s" % (
            obs["challenge"], DOMAIN))
    ok200 = first(received(c, requests=False),
                  lambda m: m.code == 200 and m.cseq_method() == "INVITE")
    obs["uac-200"] = {
        "record-route": [run.norm(v) for v in ok200.all("record-route")]
        if ok200 else None,
        "contact": run.norm(ok200.get("contact")) if ok200 else None}
    seen = run.requests_seen(u)
    obs["uas"] = seen
    methods = [s["request"].split()[0] for s in seen]
    if methods != ["INVITE", "ACK", "BYE"]:
        errors.append("bob received %r, want INVITE, ACK, BYE" % methods)
    inv = first(seen, lambda s: s["request"].startswith("INVITE"))
    if inv:
        if inv["request"] != "INVITE sip:bob@<bob>":
            errors.append("bob's INVITE: R-URI %r, want the registered "
                          "contact sip:bob@<bob>" % inv["request"])
        if not inv["record-route"] or "<proxy>" not in \
                inv["record-route"][0]:
            errors.append("bob's INVITE: Record-Route %r, want the "
                          "proxy's" % inv["record-route"])
        if "proxy-authorization" in inv["headers"]:
            errors.append("bob's INVITE carries alice's "
                          "Proxy-Authorization (consume_credentials)")
    bye = first(seen, lambda s: s["request"].startswith("BYE"))
    if bye and bye["route"]:
        errors.append("bob's BYE still has Route %r" % bye["route"])
    if not ok200 or not obs["uac-200"]["record-route"]:
        errors.append("the 200 reached alice without Record-Route")
    codes = [x.split()[1] for x in obs["uac"]]
    if codes[:1] != ["407"]:
        errors.append("alice's first INVITE: %r, want 407" % obs["uac"])
    return finish(errors, obs)


@step(timeout=60)
def cancel(run):
    """A ringing call cancelled by the caller: the proxy answers the CANCEL
    200, carol gets the CANCEL and answers 487, which reaches alice; carol
    gets the proxy's ACK."""
    errors, obs = [], {}
    uas, contact = run.uas("carol", scenario="cancel_uas")
    time.sleep(0.2)
    r = run.register("carol", contact=contact)
    errors += sipp_errors("carol REGISTER", r)
    c = run.call("carol", scenario="cancel_uac")
    errors += sipp_errors("alice cancels: UAC", c)
    u = run.wait_uas(uas, c)
    errors += sipp_errors("alice cancels: UAS carol", u)
    obs["uac"] = run.replies(c)
    obs["uas"] = run.requests_seen(u)
    want = ["CANCEL 200", "INVITE 487"]
    got = [" ".join(x.split()[:2]) for x in obs["uac"]
           if x.split()[1] not in ("100", "180", "407")]
    if got != want:
        errors.append("alice got %r, want (after 407/100/180) %r"
                      % (obs["uac"], want))
    methods = [s["request"].split()[0] for s in obs["uas"]]
    if methods != ["INVITE", "CANCEL", "ACK"]:
        errors.append("carol received %r, want INVITE, CANCEL, ACK"
                      % methods)
    return finish(errors, obs)


def failover(run, callee, scenario, **subst):
    """Call `callee` (a UAS scenario, or None for a contact nobody
    answers); voicemail must answer the call instead."""
    errors, obs = [], {}
    uas = None
    if scenario:
        uas, contact = run.uas(callee, scenario=scenario, **subst)
    else:
        contact = "sip:%s@127.0.0.1:%d" % (callee, run.port_for(callee))
    vm, _ = run.uas("vm", port=run.vm_port)
    time.sleep(0.2)
    r = run.register(callee, contact=contact)
    errors += sipp_errors("%s REGISTER" % callee, r)
    c = run.call(callee, UAS_NAME="vm")
    errors += sipp_errors("alice calls %s: UAC" % callee, c)
    if uas:
        u = run.wait_uas(uas, c)
        errors += sipp_errors("alice calls %s: UAS %s" % (callee, callee), u)
        obs["callee"] = run.requests_seen(u)
    v = run.wait_uas(vm, c)
    errors += sipp_errors("alice calls %s: voicemail UAS" % callee, v)
    obs["uac"] = run.replies(c)
    obs["vm"] = run.requests_seen(v)
    methods = [s["request"].split()[0] for s in obs["vm"]]
    if methods != ["INVITE", "ACK", "BYE"]:
        errors.append("voicemail received %r, want INVITE, ACK, BYE"
                      % methods)
    inv = first(obs["vm"], lambda s: s["request"].startswith("INVITE"))
    if inv and inv["request"] != "INVITE sip:vm@<vm>":
        errors.append("voicemail's INVITE: %r, want the VOICEMAIL URI "
                      "sip:vm@<vm>" % inv["request"])
    finals = [x for x in obs["uac"] if x.startswith("INVITE")
              and int(x.split()[1]) >= 300 and not x.split()[1] == "407"]
    if finals:
        errors.append("alice saw a failure although voicemail answered: "
                      "%r" % finals)
    return errors, obs


@step(timeout=60)
def failover_busy(run):
    """Failure route: dave answers 486 Busy Here; the proxy ACKs it and
    relays the call to the VOICEMAIL URI, whose UAS answers 200; alice sees
    that 200 (never the 486) and ends the call with a BYE."""
    errors, obs = failover(run, "dave", "tm_uas_reject", CODE=486,
                           REASON="Busy Here")
    methods = [s["request"].split()[0] for s in obs.get("callee", [])]
    if methods != ["INVITE", "ACK"]:
        errors.append("dave received %r, want INVITE and the proxy's ACK"
                      % methods)
    return finish(errors, obs)


@step(timeout=60)
def failover_timeout(run):
    """Failure route on a timeout: erin's contact never answers; after
    fr_timer (FR_TIMER ms) the branch times out (408) and the call goes to
    the VOICEMAIL URI, which answers 200."""
    errors, obs = failover(run, "erin", None)
    return finish(errors, obs)


@step(timeout=40)
def unknown_user_404(run):
    """An authenticated call to a user with no registration -> 404 Not Found
    (registrar lookup fails; answered statefully)."""
    errors, obs = [], {}
    c = run.call("nobody", scenario="reject_uac", CODE=404)
    errors += sipp_errors("alice calls nobody", c)
    obs["uac"] = run.replies(c)
    finals = [x for x in obs["uac"] if int(x.split()[1]) >= 200]
    want = ["INVITE 407", "INVITE 404"]
    if [" ".join(x.split()[:2]) for x in finals] != want:
        errors.append("alice got %r, want %r" % (obs["uac"], want))
    if not any(x.startswith("INVITE 404 Not Found") for x in finals):
        errors.append("no '404 Not Found' in %r" % finals)
    return finish(errors, obs)


@step(timeout=40)
def policy_edges(run):
    """The policy's other answers: a request between two foreign domains ->
    403 Not relaying (no open relay); a scanner's User-Agent
    (friendly-scanner) -> a silent 200 OK; a request with a To tag (in a
    dialog) but no Route -> 404 Not here; an INVITE from a foreign domain
    to an unknown local user -> 404 Not Found without authentication."""
    errors, obs = [], {}
    cases = (
        ("relay", "sip:carol@example.net", 403, "sip:eve@example.org", "",
         ""),
        ("scanner", "sip:bob@%s" % DOMAIN, 200, None, "friendly-scanner",
         ""),
        ("in-dialog", "sip:bob@%s" % DOMAIN, 404, None, "",
         ";tag=no-such-dialog"),
    )
    for label, ruri, code, sender, ua, to in cases:
        r = run.options("edge-" + label, ruri, code, sender=sender,
                        ua=ua or "osprey-conformance", to_params=to)
        errors += sipp_errors(label, r)
        obs[label] = run.replies(r)
    want = {"relay": ["OPTIONS 403 Not relaying"],
            "scanner": ["OPTIONS 200 OK"],
            "in-dialog": ["OPTIONS 404 Not here"]}
    for k, v in want.items():
        if obs.get(k) != v:
            errors.append("%s: replies %r, want %r" % (k, obs.get(k), v))
    c = run.call("nobody", scenario="foreign_uac", CALLER="eve",
                 CALLER_DOMAIN="example.org", CODE=404)
    errors += sipp_errors("eve@example.org calls nobody", c)
    obs["foreign-caller"] = run.replies(c)
    if [x for x in obs["foreign-caller"] if x.split()[1] != "100"] != \
            ["INVITE 404 Not Found"]:
        errors.append("eve@example.org calls nobody: %r, want 404 Not "
                      "Found and no challenge" % obs["foreign-caller"])
    return finish(errors, obs)


def can_bind(host):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((host, 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


def keepalive_probe(run, src):
    """One keepalive OPTIONS from address src; the reply's status line, or
    None when nothing came back within a second."""
    def build(lh, lp):
        return ("OPTIONS sip:%s SIP/2.0\r\n"
                "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK-probe%d;rport\r\n"
                "Max-Forwards: 70\r\n"
                "From: <sip:probe@%s>;tag=p%d\r\n"
                "To: <sip:%s>\r\n"
                "Call-ID: probe-%d-%f\r\n"
                "CSeq: 1 OPTIONS\r\n"
                "Content-Length: 0\r\n\r\n" % (
                    DOMAIN, lh, lp, lp, lh, lp, DOMAIN, lp, time.time())
                ).encode()

    return status_line(raw_udp_request((run.srv.host, run.srv.port), build,
                                       1.0, bind_host=src))


@step(timeout=60)
def pike_blocking(run):
    """Flood protection: a flood of keepalives from 127.0.0.2 is answered
    up to pike's density (16 per 2 s), then dropped and the address banned
    in the ipban htable, while 127.0.0.3 sending at the same time gets every
    answer; afterwards 127.0.0.2 gets nothing and 127.0.0.4 is served."""
    for ip in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        if not can_bind(ip):
            return {"skipped": "cannot bind %s" % ip}
    errors, obs = [], {}
    density, flood_calls = 16, 80
    ka = "sip:%s" % DOMAIN
    good = run.options("good", ka, 200, sender="sip:good@127.0.0.3",
                       local_ip="127.0.0.3", calls=6, rate=6,
                       background=True)
    flood = run.options("flood", ka, 200, sender="sip:flood@127.0.0.2",
                        local_ip="127.0.0.2", calls=flood_calls, rate=400,
                        recv_timeout=1500, trace_msg=False, background=True)
    fr, gr = flood.wait(), good.wait()
    errors += sipp_errors("127.0.0.3 during the flood", gr, 6)
    obs["others-served"] = gr.successful == 6
    # counts roll over every unit (2 s, aligned on the clock): a flood
    # straddling two units may pass up to twice the density
    blocked = 1 <= fr.successful < 2 * density and \
        fr.successful + fr.failed == flood_calls
    obs["flood-blocked"] = blocked
    if not blocked:
        errors.append("flood from 127.0.0.2: %d of %d answered, want 1..%d "
                      "(%s)" % (fr.successful, flood_calls, 2 * density - 1,
                                fr.describe()))
    obs["banned-probe"] = keepalive_probe(run, "127.0.0.2")
    if obs["banned-probe"] is not None:
        errors.append("banned 127.0.0.2 got an answer: %r"
                      % obs["banned-probe"])
    obs["fresh-probe"] = keepalive_probe(run, "127.0.0.4")
    if obs["fresh-probe"] != "SIP/2.0 200 Keepalive":
        errors.append("127.0.0.4 after the flood: %r, want 200 Keepalive"
                      % obs["fresh-probe"])
    ok, out, _ = run.srv.ctl("htable.get", "ipban", "127.0.0.2")
    obs["ipban"] = '"value": 1' in out.replace("\n", " ") or \
        re.search(r'"value"\s*:\s*1\b', out) is not None
    if not obs["ipban"]:
        errors.append("htable.get ipban 127.0.0.2: %r, want value 1"
                      % out.strip()[:300])
    return finish(errors, obs)


@step(timeout=40)
def route_stats(run):
    """After the steps: core.route_stats names this engine and shows request
    routes run (count > 0), and the branch, onreply and failure callbacks
    (when the call and failover steps ran); no transaction is left
    (tm.stats current 0); the location table holds the users who
    registered."""
    errors, obs = [], {}
    # at least one request, even when this step runs alone
    if keepalive_probe(run, "127.0.0.1") != "SIP/2.0 200 Keepalive":
        errors.append("no 200 Keepalive from the server after the steps")
    st = run.srv.ctl_json("core.route_stats")
    if isinstance(st, dict) and "result" in st:
        st = st["result"]
    routes = (st or {}).get("routes", {}) if isinstance(st, dict) else {}
    if (st or {}).get("engine") != run.engine.stats_name:
        errors.append("core.route_stats engine %r, want %r"
                      % ((st or {}).get("engine"), run.engine.stats_name))
    obs["route-types"] = sorted(routes)
    want = ["request"]
    if run.ran & {"call", "cancel", "failover_busy", "failover_timeout"}:
        want += ["branch", "onreply"]
    if run.ran & {"failover_busy", "failover_timeout"}:
        want += ["failure"]
    for rt in want:
        n = (routes.get(rt) or {}).get("count", 0)
        if not n > 0:
            errors.append("core.route_stats: %s count %r, want > 0 (%s)"
                          % (rt, n, json.dumps(st)[:400]))
    deadline = time.time() + 20
    while True:
        tm = run.srv.ctl_json("tm.stats")
        if isinstance(tm, dict) and "result" in tm:
            tm = tm["result"]
        if tm.get("current") == 0 or time.time() > deadline:
            break
        time.sleep(0.3)
    obs["tm-left"] = tm.get("current")
    if tm.get("current") != 0:
        errors.append("tm.stats: %r transactions left: %s" % (
            tm.get("current"), run.srv.ctl("tm.list")[1][:400]))
    obs["registered"] = {u: location(run, u) for u in
                         ("alice", "bob", "carol", "dave", "erin", "mallory")}

    run.srv.expect_alive("after the steps")
    return finish(errors, obs)


# ---------------------------------------------------------------- engine run


def log_errors(srv, mark):
    """ERROR and CRIT lines the server logged since `mark`: a script error
    or a module error the SIP peers may not have noticed. pike's lines are
    the policy's own (pike_blocking)."""
    return [l for l in srv.lines_since(mark)
            if re.search(r" (ERROR|CRIT) ", l) and "pike" not in l]


def run_engine(ctx, engine, steps, on_step):
    """Start `engine` and run `steps` (functions of STEPS) in order;
    on_step(name, status, reason, observed, secs) is called after each. A
    step during which the server logged an error fails too.
    A step that raises is reported and the next one runs, unless the
    server died (then the rest are reported as not run)."""
    run = Run(ctx, engine)
    t0 = time.time()
    try:
        run.start()
    except TestFailure as e:
        on_step("start", "fail", str(e), None, time.time() - t0)
        return
    on_step("start", "ok", "", {"engine": engine.name}, time.time() - t0)
    for fn in steps:
        t0 = time.time()
        ctx.log("---- step %s" % fn.__name__)
        if not run.srv.alive():
            on_step(fn.__name__, "fail", "not run: the server died before "
                    "it:\n" + run.srv.tail(20), None, 0)
            continue
        mark = run.srv.mark()
        try:
            obs = fn(run)
            status, reason = "ok", ""
            if isinstance(obs, dict) and "skipped" in obs:
                status, reason = "skip", obs["skipped"]
        except StepFailure as e:
            status, reason, obs = "fail", str(e), e.observed
        except TestFailure as e:
            status, reason, obs = "fail", str(e), None
        bad = log_errors(run.srv, mark)
        if bad:
            status = "fail"
            reason = (reason + "\n  " if reason else "") + \
                "%d error line(s) in the server's log:\n    %s" % (
                    len(bad), "\n    ".join(bad[:5]))
        run.ran.add(fn.__name__)
        on_step(fn.__name__, status, reason, obs, time.time() - t0)
