"""tests.py - the end-to-end tests. Each is a function fn(ctx) registered
with @e2e_test; see README.md for how to add one."""

import json
import os
import random
import re
import signal
import socket
import stat
import time
import uuid

from harness import (check, e2e_test, fail, free_port, have_ipv6,
                     hostport, raw_udp_request, status_line)

# Lines of script_error.lua that raise (see the comment in that file).
SCRIPT_ERROR_LINES = {"nil": 9, "badarg": 11, "callnil": 13}


# ---------------------------------------------------------------- helpers


def uac(ctx, srv_addr, expect=200, calls=3, rate=50, transport="u1",
        local_ip="127.0.0.1", **kw):
    """sipp OPTIONS UAC expecting `expect` on every call."""
    return ctx.sipp("uac_options", remote=srv_addr, local_ip=local_ip,
                    transport=transport, calls=calls, rate=rate,
                    subst={"EXPECT": expect}, **kw)


def uac_errors(r, calls, reason=None, what=""):
    """Problems with a finished UAC run, as a list of strings: not all
    calls successful, or a reason phrase other than `reason`."""
    if r.rc != 0 or r.failed not in (0, -1) or r.successful != calls:
        return ["%s: %s" % (what, r.describe())]
    if reason is not None:
        got = r.reasons()
        bad = [g for g in got if g != reason]
        if bad or len(got) != calls:
            return ["%s: reason phrases %r, want %d x %r" % (
                what, sorted(set(got)), calls, reason)]
    return []


def sip_request(lh, lp, dst, method="OPTIONS", start=None, drop=(),
                replace=None, body=b"", branch=None):
    """A request as bytes, with Via sent-by lh:lp (so a reply can be routed
    back to the sending socket). drop: header names to leave out;
    replace: {header name: raw value} to put instead of the usual value."""
    branch = branch or "z9hG4bK-e2e-" + uuid.uuid4().hex[:12]
    hp = hostport(lh, lp)
    hdrs = [
        ("Via", "SIP/2.0/UDP %s;branch=%s;rport" % (hp, branch)),
        ("Max-Forwards", "70"),
        ("From", "<sip:e2e@%s>;tag=%s" % (hp, uuid.uuid4().hex[:8])),
        ("To", "<sip:osprey@%s>" % dst),
        ("Call-ID", "%s@e2e" % uuid.uuid4().hex),
        ("CSeq", "1 %s" % method),
        ("Content-Length", str(len(body))),
    ]
    replace = replace or {}
    lines = [start or "%s sip:osprey@%s SIP/2.0" % (method, dst)]
    for name, value in hdrs:
        if name in drop:
            continue
        lines.append("%s: %s" % (name, replace.get(name, value)))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body, branch


def probe(srv, user="probe", timeout=2.0):
    """One well-formed OPTIONS over UDP from Python; returns the response
    status line (or None). Used where a single check is enough and sipp
    would only add noise."""
    dst = srv.addr

    def build(lh, lp):
        data, _ = sip_request(lh, lp, dst, start="OPTIONS sip:%s@%s SIP/2.0"
                              % (user, dst))
        return data

    return status_line(raw_udp_request((srv.host, srv.port), build, timeout))


def malformed_cases():
    """(name, builder(lh, lp, dst) -> bytes, expectation): '400' (must get
    a 400 that echoes our Via branch), 'drop' (no answer at all) or
    '400|drop' (either; the request line is too broken to insist). No case
    may ever get any other answer: the routing script answers 200 to all it
    sees, so a 200 means a malformed message reached the script."""

    def mk(**kw):
        def b(lh, lp, dst):
            data, branch = sip_request(lh, lp, dst, **kw)
            b.branch = branch
            return data
        return b

    rnd = random.Random(5060)
    garbage = bytes(rnd.randrange(256) for _ in range(300))

    def raw(data):
        def b(lh, lp, dst):
            b.branch = None
            return data
        return b

    return [
        ("start_line_garbage", mk(start="THIS IS NOT SIP AT ALL"), "400|drop"),
        ("start_line_bad_version", mk(start="OPTIONS sip:o@127.0.0.1 SIP/3.0"),
         "400|drop"),
        ("start_line_no_uri", mk(start="OPTIONS SIP/2.0"), "400|drop"),
        ("missing_call_id", mk(drop=("Call-ID",)), "400"),
        ("missing_from", mk(drop=("From",)), "400"),
        ("missing_to", mk(drop=("To",)), "400"),
        ("missing_cseq", mk(drop=("CSeq",)), "400"),
        ("bad_cseq", mk(replace={"CSeq": "one OPTIONS"}), "400"),
        ("missing_via", mk(drop=("Via",)), "drop"),
        ("bad_via", mk(replace={"Via": "garbage"}), "400|drop"),
        ("content_length_too_large",
         mk(replace={"Content-Length": "100"}, body=b"hello"), "400"),
        ("content_length_not_numeric",
         mk(replace={"Content-Length": "abc"}), "400"),
        ("garbage_bytes", raw(garbage), "drop"),
        ("nul_bytes", raw(b"\x00" * 64), "drop"),
        ("truncated_headers", raw(b"OPTIONS sip:o@127.0.0.1 SIP/2.0\r\nVia: SI"),
         "400|drop"),
    ]


def counter_deltas(before, after, rx):
    """{name: increase} of counters whose name matches regex rx."""
    out = {}
    for k, v in after.items():
        if re.search(rx, k):
            d = v - before.get(k, 0)
            if d:
                out[k] = d
    return out


# Counters of malformed input (src/core/worker.c): parse_errors (the parser
# gave up), bad_requests (parsed, but a mandatory header is missing or
# broken), drop_requests (no answer could be sent).
PARSE_ERROR_RX = r"^core:(parse_errors|bad_requests|drop_requests)$"


# ---------------------------------------------------------------- tests


@e2e_test(timeout=60)
def options_200(ctx):
    """OPTIONS -> 200 OK (sl_send_reply) over UDP, TCP, and IPv6."""
    script = ctx.script("options.lua")
    p4 = free_port()
    listens = ["udp:127.0.0.1:%d" % p4, "tcp:127.0.0.1:%d" % p4]
    cases = [("udp", "127.0.0.1", p4, "u1"), ("tcp", "127.0.0.1", p4, "t1")]
    if have_ipv6():
        p6 = free_port("::1")
        listens += ["udp:[::1]:%d" % p6, "tcp:[::1]:%d" % p6]
        cases += [("udp6", "::1", p6, "u1"), ("tcp6", "::1", p6, "t1")]
    else:
        ctx.note("IPv6 cases skipped: ::1 not available")
    srv = ctx.server(script, listens)
    errors = []
    for label, host, port, t in cases:
        r = uac(ctx, hostport(host, port), 200, calls=5, transport=t,
                local_ip=host)
        errors += uac_errors(r, 5, "OK", label)
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=60)
def maxfwd_483(ctx):
    """Max-Forwards: 0 -> 483 (process_maxfwd), 70 -> 200."""
    srv = ctx.server(ctx.script("maxfwd.lua"))
    errors = []
    r = uac(ctx, srv.addr, 483, calls=3, keys={"maxfwd": "0"})
    errors += uac_errors(r, 3, "Too Many Hops", "Max-Forwards 0")
    r = uac(ctx, srv.addr, 200, calls=3, keys={"maxfwd": "70"})
    errors += uac_errors(r, 3, "OK", "Max-Forwards 70")
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=90)
def hdr_append_forward(ctx):
    """hdr.append + stateless forward to a sipp UAS and back by Via, over
    UDP (R-URI and $du), TCP and IPv6."""
    # (label, host, transport UAC->osprey, transport osprey->UAS, via $du)
    cases = [("udp_ruri", "127.0.0.1", "udp", "udp", False),
             ("udp_du", "127.0.0.1", "udp", "udp", True),
             ("tcp_du", "127.0.0.1", "tcp", "tcp", True),
             ("tcp_ruri", "127.0.0.1", "tcp", "tcp", False),
             ("udp_to_tcp_du", "127.0.0.1", "udp", "tcp", True),
             ("tcp_to_udp_du", "127.0.0.1", "tcp", "udp", True)]
    if have_ipv6():
        cases += [("udp6_du", "::1", "udp", "udp", True),
                  ("tcp6_du", "::1", "tcp", "tcp", True)]
    else:
        ctx.note("IPv6 cases skipped: ::1 not available")
    errors = []
    calls = 3
    for label, host, uac_proto, proto, use_du in cases:
        uas_port = free_port(host)
        uas_hp = hostport(host, uas_port)
        dst = "sip:%s;transport=%s" % (uas_hp, proto) if use_du else ""
        script = ctx.script("forward.lua", "forward-%s.lua" % label, DST=dst)
        port = free_port(host)
        hp = hostport(host, port)
        srv = ctx.server(script, ["udp:" + hp, "tcp:" + hp])
        t = "t1" if proto == "tcp" else "u1"
        uas = ctx.sipp("uas_expect_hdr", local_ip=host, transport=t,
                       calls=calls, port=uas_port, timeout=20,
                       recv_timeout=15000, background=True)
        time.sleep(0.3)  # let the UAS bind
        r = uac(ctx, hp, 200, calls=calls, rate=20,
                transport="t1" if uac_proto == "tcp" else "u1",
                local_ip=host, ruri_host=None if use_du else uas_hp)
        errors += uac_errors(r, calls, "OK", label + " UAC")
        ur = uas.wait()
        if ur.rc != 0 or ur.successful != calls:
            errors.append("%s UAS (checks X-Osprey: yes): %s"
                          % (label, ur.describe()))
        if not srv.alive():
            errors.append("%s: server died" % label)
        srv.stop()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=60)
def malformed(ctx):
    """Malformed requests: 400 when routable, dropped otherwise, counted;
    the server keeps answering."""
    srv = ctx.server(ctx.script("options.lua"))
    before = srv.stats()
    errors = []
    wait = 0.5
    dropped = 0
    outcomes = []
    cases = malformed_cases()
    for name, build, expect in cases:
        def b(lh, lp):
            return build(lh, lp, srv.addr)
        reply = raw_udp_request((srv.host, srv.port), b, timeout=wait)
        sl = status_line(reply)
        outcomes.append("%s=%s" % (name, sl[8:11] if sl else "drop"))
        if reply is None:
            dropped += 1
            if "drop" not in expect:
                errors.append("%s: no reply, want 400" % name)
            continue
        if not sl.startswith("SIP/2.0 400"):
            errors.append("%s: got %r, want %s" % (name, sl, expect))
            continue
        if "400" not in expect:
            errors.append("%s: got %r, want it dropped" % (name, sl))
            continue
        if build.branch and build.branch.encode() not in reply:
            errors.append("%s: the 400 does not carry our Via branch" % name)
    ctx.note("outcomes: " + " ".join(outcomes))
    srv.expect_alive("after malformed input")
    after = srv.stats()
    deltas = counter_deltas(before, after, PARSE_ERROR_RX)
    ctx.note("counters moved: %s" % deltas)
    counted = (deltas.get("core:parse_errors", 0)
               + deltas.get("core:bad_requests", 0))
    if counted < len(cases):
        errors.append("core:parse_errors + core:bad_requests moved by %d, "
                      "want >= %d (one per malformed message); deltas %s"
                      % (counted, len(cases), deltas))
    if deltas.get("core:drop_requests", 0) < dropped:
        errors.append("core:drop_requests moved by %d, want >= %d (the "
                      "messages that got no answer)"
                      % (deltas.get("core:drop_requests", 0), dropped))
    r = uac(ctx, srv.addr, 200, calls=3)
    errors += uac_errors(r, 3, "OK", "OPTIONS afterwards")
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=60)
def tcp_framing(ctx):
    """TCP: pipelined requests, a request split byte by byte, a body
    announced by Content-Length, and garbage on one connection (answered
    400 or closed) not disturbing the others."""
    srv = ctx.server(ctx.script("options.lua"))
    errors = []

    def conn():
        c = socket.create_connection((srv.host, srv.port), timeout=3)
        return c, c.getsockname()

    def read_replies(c, n, timeout=3.0):
        """Status lines of up to n replies on c (framed by
        Content-Length: 0, as the test requests have no body)."""
        buf = b""
        deadline = time.time() + timeout
        while buf.count(b"\r\n\r\n") < n and time.time() < deadline:
            c.settimeout(max(0.05, deadline - time.time()))
            try:
                chunk = c.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            buf += chunk
        return [m.split(b"\r\n", 1)[0].decode(errors="replace")
                for m in buf.split(b"\r\n\r\n") if m.strip()]

    def tcp_req(lh, lp, **kw):
        data, _ = sip_request(lh, lp, srv.addr, **kw)
        return data.replace(b"SIP/2.0/UDP", b"SIP/2.0/TCP")

    c, (lh, lp) = conn()
    c.sendall(b"".join(tcp_req(lh, lp) for _ in range(3)))
    got = read_replies(c, 3)
    if got != ["SIP/2.0 200 OK"] * 3:
        errors.append("3 pipelined requests: got %r" % got)
    data = tcp_req(lh, lp)
    for i in range(len(data)):
        c.sendall(data[i:i + 1])
        if i % 64 == 0:
            time.sleep(0.001)
    got = read_replies(c, 1)
    if got != ["SIP/2.0 200 OK"]:
        errors.append("request sent byte by byte: got %r" % got)
    body = b"v=0\r\n" * 40
    data = tcp_req(lh, lp, body=body)
    c.sendall(data[:len(data) - 50])
    time.sleep(0.3)
    c.sendall(data[len(data) - 50:] + tcp_req(lh, lp))
    got = read_replies(c, 2)
    if got != ["SIP/2.0 200 OK"] * 2:
        errors.append("body split across segments, then a request: got %r"
                      % got)

    bad, _ = conn()
    bad.sendall(b"\x16\x03\x01 this is garbage\r\n\r\n" + bytes(range(256)))
    bad.settimeout(3)
    try:
        first = bad.recv(65536)
        if first and not first.startswith(b"SIP/2.0 400"):
            errors.append("garbage on TCP: got %r, want 400 or close"
                          % first[:60])
    except socket.timeout:
        errors.append("garbage on TCP: neither answered nor closed in 3 s")
    except ConnectionResetError:
        pass
    bad.close()
    c.sendall(tcp_req(lh, lp))
    got = read_replies(c, 1)
    if got != ["SIP/2.0 200 OK"]:
        errors.append("first connection after garbage on another: %r" % got)
    c.close()
    srv.expect_alive("after TCP tests")
    r = uac(ctx, srv.addr, 200, calls=3, transport="t1")
    errors += uac_errors(r, 3, "OK", "sipp over TCP afterwards")
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=30)
def reply_rport(ctx):
    """Stateless replies over UDP go to the source port with ;rport
    (RFC 3581) and to the Via sent-by port without it."""
    srv = ctx.server(ctx.script("options.lua"))
    errors = []
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(("127.0.0.1", 0))
    b.bind(("127.0.0.1", 0))
    a.settimeout(2)
    b.settimeout(2)
    pa = a.getsockname()[1]
    pb = b.getsockname()[1]
    dest = (srv.host, srv.port)
    try:
        # sent-by names b's port, but with ;rport the reply goes to a
        data, _ = sip_request("127.0.0.1", pb, srv.addr)
        a.sendto(data, dest)
        try:
            reply, _ = a.recvfrom(65536)
            if not reply.startswith(b"SIP/2.0 200"):
                errors.append("rport: got %r" % status_line(reply))
            elif not re.search(rb";rport=%d\b" % pa, reply):
                errors.append("rport: the reply's Via lacks ;rport=%d: %r"
                              % (pa, reply.split(b"\r\n")[1]))
        except socket.timeout:
            errors.append("rport: no reply at the source port")
        # no rport: the reply goes to the sent-by port (b)
        data = data.replace(b";rport", b"").replace(b"z9hG4bK-e2e-",
                                                    b"z9hG4bK-e2e2-")
        a.sendto(data, dest)
        try:
            reply, _ = b.recvfrom(65536)
            if not reply.startswith(b"SIP/2.0 200"):
                errors.append("no rport: got %r" % status_line(reply))
        except socket.timeout:
            errors.append("no rport: no reply at the Via sent-by port")
        # a host name in sent-by: the reply goes to the source address and
        # the sent-by port (RFC 3261 18.2.2), no DNS lookup needed
        data = data.replace(b"Via: SIP/2.0/UDP 127.0.0.1:",
                            b"Via: SIP/2.0/UDP unresolvable.invalid:")
        data = data.replace(b"z9hG4bK-e2e2-", b"z9hG4bK-e2e3-")
        t0 = time.time()
        a.sendto(data, dest)
        try:
            reply, _ = b.recvfrom(65536)
            if not reply.startswith(b"SIP/2.0 200"):
                errors.append("host name in sent-by: got %r"
                              % status_line(reply))
            elif b"received=127.0.0.1" not in reply.split(b"\r\n")[1]:
                errors.append("host name in sent-by: no received= in %r"
                              % reply.split(b"\r\n")[1])
            elif time.time() - t0 > 1.0:
                errors.append("host name in sent-by: reply took %.1fs"
                              % (time.time() - t0))
        except socket.timeout:
            errors.append("host name in sent-by: no reply at source address"
                          " + sent-by port")
    finally:
        a.close()
        b.close()
    check(not errors, "\n  ".join(errors))


def mutate(rnd, msg):
    """One random mutation of a SIP message (bytes)."""
    m = bytearray(msg)
    lines = bytes(m).split(b"\r\n")
    k = rnd.randrange(14)
    if k == 0:  # flip bytes
        for _ in range(rnd.randint(1, 8)):
            m[rnd.randrange(len(m))] = rnd.randrange(256)
        return bytes(m)
    if k == 1:  # delete a slice
        i = rnd.randrange(len(m))
        del m[i:i + rnd.randint(1, 40)]
        return bytes(m)
    if k == 2:  # truncate
        return bytes(m[:rnd.randrange(len(m))])
    if k == 3:  # insert special characters
        for _ in range(rnd.randint(1, 6)):
            i = rnd.randrange(len(m))
            m[i:i] = rnd.choice([b"\r", b"\n", b"\x00", b":", b";", b"<",
                                 b">", b'"', b"@", b"[", b"]", b" ", b"\t",
                                 b",", b"=", b"\r\n", b"\r\n\r\n", b"%",
                                 b"\\", b"\xff"])
        return bytes(m)
    if 1 < len(lines) and k == 4:  # duplicate a header line many times
        i = rnd.randrange(1, len(lines))
        lines[i:i] = [lines[i]] * rnd.choice([2, 10, 100, 500])
        return b"\r\n".join(lines)
    if k == 5:  # weird header value
        i = rnd.randrange(1, max(2, len(lines) - 2))
        name = lines[i].split(b":", 1)[0]
        val = rnd.choice([b"", b" ", b"-1", b"99999999999999999999", b"0x10",
                          b";;;", b"<>", b"<sip:>", b"sip:", b'"open',
                          b"a" * 5000, b"[::1", b"<sip:[::1]:99999>",
                          b"4294967296 OPTIONS", b"1 ", b"SIP/2.0/UDP",
                          b"SIP/2.0/UDP 127.0.0.1:0", b"<sip:a@b;x=>;tag=",
                          b"sip:%00@127.0.0.1", b"\xc3\x28", b"*"])
        lines[i] = name + b": " + val
        return b"\r\n".join(lines)
    if k == 6:  # bare LF line endings
        return bytes(m).replace(b"\r\n", b"\n")
    if k == 7:  # compact header names
        out = bytes(m)
        for a, b in ((b"Via:", b"v:"), (b"From:", b"f:"), (b"To:", b"t:"),
                     (b"Call-ID:", b"i:"), (b"Content-Length:", b"l:"),
                     (b"Contact:", b"m:"), (b"Content-Type:", b"c:")):
            if rnd.random() < 0.7:
                out = out.replace(a, b)
        return out
    if k == 8:  # header folding
        i = rnd.randrange(1, max(2, len(lines) - 2))
        j = rnd.randrange(len(lines[i]) + 1)
        lines[i] = lines[i][:j] + b"\r\n " + lines[i][j:]
        return b"\r\n".join(lines)
    if k == 9:  # body and Content-Length disagree
        return bytes(m) + bytes(rnd.randrange(256)
                                for _ in range(rnd.randint(1, 300)))
    if k == 10:  # odd request line
        lines[0] = rnd.choice([b"options sip:a@127.0.0.1 SIP/2.0",
                               b"OPTIONS sip:a@127.0.0.1 SIP/2.0 extra",
                               b"X" * 3000 + b" sip:a@127.0.0.1 SIP/2.0",
                               b"OPTIONS <sip:a@127.0.0.1> SIP/2.0",
                               b"OPTIONS sip:a@[::1 SIP/2.0",
                               b"OPTIONS sip:a@127.0.0.1:0 SIP/2.0",
                               b"OPTIONS tel:+1234 SIP/2.0",
                               b"OPTIONS sips:a@127.0.0.1;transport=tls SIP/2.0",
                               b"OPTIONS sip:%s SIP/2.0" % (b"a" * 4000),
                               b"SIP/2.0 200 OK", b"SIP/2.0 999999 X",
                               b"OPTIONS  sip:a@127.0.0.1  SIP/2.0"])
        return b"\r\n".join(lines)
    if k == 11:  # many parameters
        i = rnd.randrange(1, max(2, len(lines) - 2))
        lines[i] += b";p=1" * rnd.choice([10, 200, 2000])
        return b"\r\n".join(lines)
    if k == 12:  # swap two lines
        i = rnd.randrange(len(lines))
        j = rnd.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return b"\r\n".join(lines)
    return bytes(m[:rnd.randrange(len(m))]) + bytes(m)  # k == 13: stutter


def base_messages(lh, lp, dst):
    """Well-formed requests the mutation flood starts from."""
    out = []
    for method in ("OPTIONS", "INVITE", "REGISTER", "MESSAGE", "BYE"):
        body = b""
        if method == "INVITE":
            body = (b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
                    b"c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                    b"m=audio 4000 RTP/AVP 0\r\n")
        elif method == "MESSAGE":
            body = b"hello \xe2\x9c\x93"
        data, _ = sip_request(lh, lp, dst, method=method, body=body)
        head, rest = data.split(b"\r\n\r\n", 1)
        extra = [b"Contact: <sip:e2e@%s:%d;transport=udp>;expires=60"
                 % (lh.encode(), lp),
                 b"Route: <sip:127.0.0.1;lr>, <sip:[::1]:5070;lr;transport=tcp>",
                 b"Record-Route: <sip:127.0.0.1;lr>",
                 b"User-Agent: e2e \"mutant\" (1.0)",
                 b"Supported: path, outbound"]
        if body:
            extra.append(b"Content-Type: application/sdp")
        out.append(head + b"\r\n" + b"\r\n".join(extra) + b"\r\n\r\n"
                   + rest)
    return out


@e2e_test(timeout=180)
def mutation_flood(ctx):
    """Random mutations of valid requests over UDP and TCP, answered
    locally and forwarded: the server must survive (no crash, no
    sanitizer report), never hang, and answer a clean OPTIONS afterwards.
    E2E_SEED=n replays a run."""
    seed = int(os.environ.get("E2E_SEED", "0")) or random.randrange(1, 10**6)
    ctx.note("seed %d (E2E_SEED=%d to replay)" % (seed, seed))
    rnd = random.Random(seed)
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.setblocking(False)
    errors = []
    replies = {}
    for mode in ("local", "forward"):
        dst = "sip:127.0.0.1:%d" % sink.getsockname()[1] \
            if mode == "forward" else ""
        srv = ctx.server(ctx.script("mutation.lua", "mutation-%s.lua" % mode,
                                    DST=dst))
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        u.setblocking(False)
        lh, lp = u.getsockname()
        bases = base_messages(lh, lp, srv.addr)
        dest = (srv.host, srv.port)

        def drain():
            for s in (u, sink):
                while True:
                    try:
                        data = s.recv(65536)
                    except (BlockingIOError, OSError):
                        break
                    key = status_line(data)[:11] if s is u else "forwarded"
                    replies[key] = replies.get(key, 0) + 1

        for i in range(3000):
            try:
                u.sendto(mutate(rnd, rnd.choice(bases)), dest)
            except OSError:
                pass
            if i % 50 == 49:
                time.sleep(0.02)
                drain()
            if i % 500 == 499 and not srv.alive():
                break
        # TCP: mutated messages, a few per connection
        for c_i in range(60):
            if not srv.alive():
                break
            try:
                c = socket.create_connection(dest, timeout=2)
            except OSError as e:
                errors.append("%s: TCP connect failed: %s" % (mode, e))
                break
            try:
                for _ in range(5):
                    msg = mutate(rnd, rnd.choice(bases)).replace(
                        b"SIP/2.0/UDP", b"SIP/2.0/TCP")
                    c.sendall(msg)
                c.settimeout(0.05)
                try:
                    c.recv(65536)
                except (socket.timeout, OSError):
                    pass
            except OSError:
                pass
            finally:
                c.close()
        time.sleep(0.5)
        drain()
        u.close()
        if not srv.alive():
            errors.append("%s: the server died:\n%s" % (mode, srv.tail(15)))
            continue
        sl = probe(srv)
        if sl != "SIP/2.0 200 OK":
            errors.append("%s: clean OPTIONS afterwards got %r" % (mode, sl))
        r = uac(ctx, srv.addr, 200, calls=2, transport="t1")
        errors += uac_errors(r, 2, "OK", mode + ": sipp over TCP afterwards")
    sink.close()
    ctx.note("replies: %s" % dict(sorted(replies.items())))
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=60)
def script_error_500(ctx):
    """Lua runtime errors (indexing nil, calling nil) and a bad KSR argument
    give 500 and a log line with file:line; the server keeps answering."""
    script = ctx.script("script_error.lua")
    srv = ctx.server(script)
    errors = []
    for user, line in SCRIPT_ERROR_LINES.items():
        mark = srv.mark()
        r = uac(ctx, srv.addr, 500, calls=2, service=user)
        errors += uac_errors(r, 2, None, "R-URI user %s" % user)
        where = "script_error.lua:%d" % line
        if not srv.wait_log(re.escape(where), since=mark, timeout=2):
            errors.append("%s: no log line mentions %s; logged:\n%s" % (
                user, where, "\n".join("    | " + l for l in
                                       srv.lines_since(mark)[-10:])))
        if user == "badarg" and not srv.wait_log(
                r"sl_send_reply|bad argument|number expected", since=mark,
                timeout=0.5):
            errors.append("badarg: the log does not name the failing call")
        if not srv.alive():
            errors.append("server died after %s" % user)
            break
    srv.expect_alive()
    r = uac(ctx, srv.addr, 200, calls=3, service="fine")
    errors += uac_errors(r, 3, "OK", "OPTIONS afterwards")
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=60)
def script_error_flood(ctx):
    """2,000 requests that each hit a script error: all get 500 and the log
    stays bounded (< 200 lines), as for any per-packet error (log.h:
    LOG_RATE), since a packet can trigger a script error at will."""
    srv = ctx.server(ctx.script("script_error.lua"))
    mark = srv.mark()
    r = uac(ctx, srv.addr, 500, calls=2000, rate=400, service="nil",
            timeout=40, trace_msg=False)
    errors = uac_errors(r, 2000, None, "2000 x R-URI user nil")
    time.sleep(1.5)  # rate-limit summaries
    lines = srv.lines_since(mark)
    ctx.note("%d log lines for 2000 script errors" % len(lines))
    if len(lines) >= 200:
        errors.append("%d log lines for 2000 script errors (want < 200)"
                      % len(lines))
    if not any("script_error.lua:9" in l for l in lines):
        errors.append("no line names script_error.lua:9")
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=60)
def reload_errors(ctx):
    """app_lua.reload refuses a script that fails while loading (runtime
    error at top level) or has disappeared, and the old one keeps
    answering."""
    path = ctx.script("reload.lua", REASON="OK-A")
    srv = ctx.server(path)
    errors = []
    ctx.write_file("reload.lua", "-- fails at load time\nlocal t = nil\n"
                   "local x = t.field\nfunction ksr_request_route()\n"
                   "\tKSR.sl.sl_send_reply(200, \"BAD\")\nend\n")
    ok, out, rc = srv.ctl("app_lua.reload")
    if ok:
        errors.append("top-level runtime error: reload answered success: %s"
                      % out.strip())
    elif not re.search(r"reload\.lua:3\b", out):
        errors.append("top-level runtime error: the error does not name "
                      "reload.lua:3: %s" % out.strip())
    sl = probe(srv)
    if sl != "SIP/2.0 200 OK-A":
        errors.append("after the failed reload: got %r, want 200 OK-A" % sl)
    os.unlink(path)
    ok, out, rc = srv.ctl("app_lua.reload")
    if ok:
        errors.append("missing file: reload answered success: %s"
                      % out.strip())
    elif "reload.lua" not in out:
        errors.append("missing file: the error does not name the file: %s"
                      % out.strip())
    sl = probe(srv)
    if sl != "SIP/2.0 200 OK-A":
        errors.append("after reloading a missing file: got %r, want 200 OK-A"
                      % sl)
    ctx.script("reload.lua", REASON="OK-B")
    ok, out, rc = srv.ctl("app_lua.reload")
    if not ok:
        errors.append("good reload after the failures: %s" % out.strip())
    deadline = time.time() + 2
    while time.time() < deadline and probe(srv) != "SIP/2.0 200 OK-B":
        time.sleep(0.05)
    sl = probe(srv)
    if sl != "SIP/2.0 200 OK-B":
        errors.append("after a good reload: got %r, want 200 OK-B" % sl)
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=150)
def reload_under_load(ctx):
    """20 app_lua.reload (OK-A/OK-B) plus one broken script during 20 s of
    sipp load (100 cps over UDP, 50 over TCP): no request unanswered, both
    versions seen, the broken one rejected with file:line while the old one
    keeps running."""
    script = ctx.script("reload.lua", REASON="OK-A")
    srv = ctx.server(script)
    calls, rate = 2000, 100
    load = ctx.sipp("uac_options", remote=srv.addr, calls=calls, rate=rate,
                    subst={"EXPECT": 200}, timeout=90, recv_timeout=5000,
                    background=True, trace_msg=False)
    # the same over one TCP connection, at half the rate
    tcp_load = ctx.sipp("uac_options", remote=srv.addr, calls=calls // 2,
                        rate=rate // 2, transport="t1", subst={"EXPECT": 200},
                        timeout=90, recv_timeout=5000, background=True,
                        trace_msg=False)
    errors = []
    current = "OK-A"
    time.sleep(0.5)
    sdir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")
    with open(os.path.join(sdir, "reload_broken.lua")) as f:
        broken = f.read()
    with open(os.path.join(sdir, "reload.lua")) as f:
        template = f.read()
    for i in range(20):
        if i == 10:
            ctx.write_file("reload.lua", broken)
            ok, out, rc = srv.ctl("app_lua.reload")
            if ok:
                errors.append("reload of a broken script answered success: %s"
                              % out.strip())
            elif not re.search(r"reload\.lua:4\b", out):
                errors.append("broken reload: the error does not name "
                              "reload.lua:4: %s" % out.strip())
            time.sleep(0.5)  # the broken file stays on disk meanwhile
            sl = probe(srv, "after-broken")
            if sl != "SIP/2.0 200 %s" % current:
                errors.append("after the broken reload: got %r, want the "
                              "previous version (200 %s)" % (sl, current))
        current = "OK-B" if current == "OK-A" else "OK-A"
        # same line numbers as the template: the version goes at the end
        ctx.write_file("reload.lua", template.replace("@REASON@", current)
                       + "-- version %d\n" % i)
        ok, out, rc = srv.ctl("app_lua.reload")
        if not ok:
            errors.append("reload %d failed: %s" % (i, out.strip()))
        time.sleep(0.9)
        if not srv.alive():
            break
    r = load.wait()
    srv.expect_alive("during reloads")
    errors += uac_errors(r, calls, None, "load")
    if r.stat("Retransmissions") > 0:
        ctx.note("%d requests were retransmitted by sipp (no answer within "
                 "500 ms)" % r.stat("Retransmissions"))
    rt = tcp_load.wait()
    errors += uac_errors(rt, calls // 2, None, "TCP load")
    reasons = r.reasons() + rt.reasons()
    counts = {x: reasons.count(x) for x in set(reasons)}
    ctx.note("reason phrases seen: %s" % counts)
    for want in ("OK-A", "OK-B"):
        if not counts.get(want):
            errors.append("reason %s never seen (saw %s)" % (want, counts))
    others = set(counts) - {"OK-A", "OK-B"}
    if others:
        errors.append("unexpected reason phrases: %s" % sorted(others))
    sl = probe(srv, "final")
    if sl != "SIP/2.0 200 %s" % current:
        errors.append("after the last reload: got %r, want 200 %s"
                      % (sl, current))
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=90)
def flood_10k(ctx):
    """10,000 malformed datagrams: the server still answers and logs fewer
    than 200 lines for the flood."""
    srv = ctx.server(ctx.script("options.lua"))
    mark = srv.mark()
    cases = malformed_cases()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    lh, lp = s.getsockname()
    payloads = [b(lh, lp, srv.addr) for _, b, _ in cases]
    dest = (srv.host, srv.port)
    sent = 0
    t0 = time.time()
    for i in range(10000):
        try:
            s.sendto(payloads[i % len(payloads)], dest)
            sent += 1
        except OSError:
            pass
        if i % 200 == 199:
            time.sleep(0.002)  # keep it fast, but not all lost in buffers
    s.close()
    ctx.log("sent %d datagrams in %.2fs" % (sent, time.time() - t0))
    time.sleep(2.5)  # let rate-limit summaries come out
    srv.expect_alive("after the flood")
    flood_lines = srv.lines_since(mark)
    r = uac(ctx, srv.addr, 200, calls=3)
    errors = uac_errors(r, 3, "OK", "OPTIONS after the flood")
    ctx.note("%d log lines during the flood" % len(flood_lines))
    if len(flood_lines) >= 200:
        errors.append("%d log lines for the flood (want < 200); first ones:\n%s"
                      % (len(flood_lines), "\n".join(
                          "    | " + l for l in flood_lines[:8])))
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=60)
def rpc(ctx):
    """Control socket: mode 0600, core.version/uptime, app_lua.api_list,
    unknown method and invalid JSON give JSON-RPC errors."""
    srv = ctx.server(ctx.script("options.lua"))
    errors = []
    mode = stat.S_IMODE(os.stat(srv.sock).st_mode)
    if mode != 0o600:
        errors.append("socket mode is %o, want 600" % mode)

    ok, out, rc = srv.ctl("core.version")
    if not ok or not re.search(r"\d+\.\d+", out):
        errors.append("core.version: exit %s, output %r" % (rc, out[:300]))
    ok, out, rc = srv.ctl("core.uptime")
    if not ok or not re.search(r"\d", out):
        errors.append("core.uptime: exit %s, output %r" % (rc, out[:300]))
    ok, out, rc = srv.ctl("app_lua.api_list")
    if not ok or "sl_send_reply" not in out:
        errors.append("app_lua.api_list: exit %s, no sl_send_reply in %r"
                      % (rc, out[:300]))
    ok, out, rc = srv.ctl("no.such_method")
    if ok:
        errors.append("ospreyctl no.such_method answered success: %r"
                      % out[:300])

    def rpc_error(resp, code, what):
        if not isinstance(resp, dict):
            return ["%s: reply is not a JSON object: %r" % (what, resp)]
        e = resp.get("error")
        if not isinstance(e, dict) or e.get("code") != code:
            return ["%s: want error code %d, got %r" % (what, code, resp)]
        if resp.get("jsonrpc") != "2.0":
            return ["%s: reply lacks \"jsonrpc\": \"2.0\": %r" % (what, resp)]
        return []

    req = {"jsonrpc": "2.0", "method": "no.such_method", "id": 7}
    resp = srv.rpc_raw(json.dumps(req).encode() + b"\n")
    errors += rpc_error(resp, -32601, "unknown method (raw)")
    if isinstance(resp, dict) and resp.get("id") != 7:
        errors.append("unknown method: reply id %r, want 7" % resp.get("id"))
    resp = srv.rpc_raw(b'{"jsonrpc": "2.0", "method": }\n')
    errors += rpc_error(resp, -32700, "invalid JSON (balanced braces)")
    resp = srv.rpc_raw(b'this is not json\n')
    errors += rpc_error(resp, -32700, "not JSON at all")
    resp = srv.rpc_raw(b'{"jsonrpc": "2.0", "id": 3}\n')
    errors += rpc_error(resp, -32600, "request without method")
    req = {"jsonrpc": "2.0", "method": "core.version", "id": "v"}
    resp = srv.rpc_raw(json.dumps(req).encode() + b"\n")
    if not (isinstance(resp, dict) and "result" in resp
            and resp.get("id") == "v"):
        errors.append("core.version (raw): %r" % (resp,))
    srv.expect_alive("after RPC calls")
    check(probe(srv) == "SIP/2.0 200 OK", "OPTIONS after RPC calls not 200")
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=60)
def stats_counters(ctx):
    """stats.get_statistics: "group:name = value" strings; the request and
    reply counters move by the number of OPTIONS answered."""
    srv = ctx.server(ctx.script("options.lua"))
    before = srv.stats()
    r = uac(ctx, srv.addr, 200, calls=10, rate=100)
    errors = uac_errors(r, 10, "OK", "OPTIONS")
    after = srv.stats()
    d = counter_deltas(before, after, r".")
    ctx.note("deltas after 10 OPTIONS: %s" % d)
    want = "core:rcv_requests"
    if want not in after:
        errors.append("no %s counter (have: %s)" % (want, sorted(after)))
    elif d.get(want, 0) < 10:
        errors.append("%s moved by %s, want >= 10" % (want, d.get(want, 0)))
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=30)
def api_json(ctx):
    """osprey --api json lists the KSR functions with their types."""
    r = ctx.run([ctx.osprey, "--api", "json"], timeout=10)
    check(r.returncode == 0, "osprey --api json exited %s: %s"
          % (r.returncode, r.stderr[-500:]))
    try:
        doc = json.loads(r.stdout)
    except ValueError as e:
        fail("output is not JSON (%s): %r" % (e, r.stdout[:300]))
    funcs = {}

    def walk(v):
        if isinstance(v, dict):
            if "name" in v and isinstance(v.get("name"), str) and (
                    "params" in v or "ret" in v or "module" in v):
                mod = v.get("module") or ""
                full = "%s.%s" % (mod, v["name"]) if mod else v["name"]
                funcs[full] = v
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(doc)
    check(funcs, "no function entries (objects with name/module/params/ret) "
          "found in %r" % r.stdout[:300])
    errors = []
    methods = doc.get("methods") if isinstance(doc, dict) else None
    if isinstance(methods, list) and "msize" in doc \
            and doc["msize"] != len(methods):
        errors.append("msize %s but %d methods" % (doc["msize"], len(methods)))
    for name, f in funcs.items():
        ps = f.get("params")
        if f.get("ret") not in ("int", "bool", "none", "xval", "str") \
                or not isinstance(ps, list) or len(ps) > 6 \
                or any(p not in ("int", "str") for p in ps):
            errors.append("%s: bad types %r" % (name, f))
            break
    # (ret or None for "any", params) per Kamailio's KEMI signatures
    sigs = {
        "sl.sl_send_reply": ("int", ["int", "str"]),
        "sl.send_reply": ("int", ["int", "str"]),
        "maxfwd.process_maxfwd": ("int", ["int"]),
        "hdr.append": ("int", ["str"]),
        "pv.get": ("xval", ["str"]),
        "x.exit": ("none", []),
        "is_method_in": ("bool", ["str"]),
        "forward": ("int", []),
        "setdsturi": (None, ["str"]),
        "info": ("none", ["str"]),
    }
    missing = [w for w in sigs if w not in funcs]
    if missing:
        errors.append("missing: %s (have %d, e.g. %s)" % (
            missing, len(funcs), sorted(funcs)[:15]))
    for name, (ret, params) in sigs.items():
        f = funcs.get(name)
        if f and ((ret and f.get("ret") != ret) or f.get("params") != params):
            errors.append("%s: ret %r params %r, want %r %r" % (
                name, f.get("ret"), f.get("params"), ret or "any", params))
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=30)
def check_mode(ctx):
    """osprey -c: broken script -> non-zero + file:line, good -> 0, unknown
    module in a config -> non-zero + file:line."""
    errors = []
    good = ctx.script("good.lua")
    broken = ctx.script("broken.lua")
    r = ctx.run([ctx.osprey, "-c", "-f", good], timeout=10)
    if r.returncode != 0:
        errors.append("-c good.lua exited %s: %s" % (
            r.returncode, (r.stdout + r.stderr)[-500:]))
    r = ctx.run([ctx.osprey, "-c", "-f", broken], timeout=10)
    out = r.stdout + r.stderr
    if r.returncode == 0:
        errors.append("-c broken.lua exited 0")
    if not re.search(r"broken\.lua:6:", out):
        errors.append("-c broken.lua: no 'broken.lua:6:' in %r" % out[-500:])
    cfg = ctx.script("unknown_module.cfg", PORT=free_port(), SCRIPT=good)
    r = ctx.run([ctx.osprey, "-c", "-f", cfg], timeout=10)
    out = r.stdout + r.stderr
    if r.returncode == 0:
        errors.append("-c unknown_module.cfg exited 0")
    if not re.search(r"unknown_module\.cfg:7\b", out):
        errors.append("-c unknown_module.cfg: no 'unknown_module.cfg:7' in %r"
                      % out[-500:])
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=30)
def cli(ctx):
    """-V prints the version; a missing script file or a bad -l address
    makes osprey exit non-zero with a message, without hanging."""
    errors = []
    r = ctx.run([ctx.osprey, "-V"], timeout=5)
    if r.returncode != 0 or not re.search(r"osprey \d+\.\d+", r.stdout):
        errors.append("-V: exit %s, stdout %r" % (r.returncode, r.stdout))
    missing = ctx.path("no_such_script.lua")
    r = ctx.run([ctx.osprey, "-f", missing, "-l",
                 "udp:127.0.0.1:%d" % free_port()], timeout=5)
    if r.returncode == 0 or "no_such_script.lua" not in r.stdout + r.stderr:
        errors.append("-f missing file: exit %s, output %r" % (
            r.returncode, (r.stdout + r.stderr)[-300:]))
    script = ctx.script("options.lua")
    r = ctx.run([ctx.osprey, "-f", script, "-l", "udp:no-such-host.invalid:5"],
                timeout=10)
    if r.returncode == 0 or not (r.stdout + r.stderr).strip():
        errors.append("-l with an unresolvable host: exit %s, output %r" % (
            r.returncode, (r.stdout + r.stderr)[-300:]))
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=30)
def port_in_use(ctx):
    """A second osprey on an address:port already served by another
    process refuses to start (like EADDRINUSE) instead of silently sharing
    the port through SO_REUSEPORT; the first keeps answering."""
    script = ctx.script("options.lua")
    first = ctx.server(script)
    second = ctx.server(script, listens=first.listens, start=False)
    errors = []
    try:
        second.start(timeout=3)
        errors.append("a second instance started on %s, already used by the "
                      "first (SO_REUSEPORT lets two processes share it, so "
                      "each would get part of the traffic)" % first.addr)
    except Exception:  # noqa: BLE001 - refusing to start is the goal
        if second.alive():
            errors.append("the second instance neither started nor exited")
        elif second.proc.returncode == 0:
            errors.append("the second instance exited 0")
        else:
            second.exit_expected = True
            ctx.note("second instance refused: %s" % (
                [l for l in second.stderr_lines() if "ERR" in l or "CRIT" in l]
                or second.stderr_lines()[-1:]))
    if second.alive():
        second.stop()
    first.expect_alive()
    if probe(first) != "SIP/2.0 200 OK":
        errors.append("the first instance no longer answers")
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=30)
def log_format(ctx):
    """stderr lines read "HH:MM:SS.mmm LEVEL [thread] file.c:N: message"
    (continuation lines of a multi-line message excepted)."""
    srv = ctx.server(ctx.script("script_error.lua"))
    probe(srv, "nil")
    probe(srv, "fine")
    srv.stop()
    rx = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} [A-Z]+ \[[\w.-]+\] "
                    r"[\w/.-]+\.c:\d+: \S")
    lines = srv.stderr_lines()
    heads = [l for l in lines if re.match(r"^\d\d:\d\d:\d\d", l)]
    bad = [l for l in heads if not rx.match(l)]
    check(len(heads) >= 3, "only %d log lines: %r" % (len(heads), lines))
    check(not bad, "lines not in the format: %r" % bad[:5])
    check(any(re.search(r"\[w\d+\]", l) for l in heads),
          "no line from a worker thread ([w0], [w1], ...)")


@e2e_test(timeout=60)
def config_file(ctx):
    """A kamailio.cfg-style config (listen, loadmodule, modparam app_lua
    load, cfgengine lua) starts and answers over UDP and TCP."""
    script = ctx.script("maxfwd.lua")
    port = free_port()
    cfg = ctx.script("osprey.cfg", LISTEN="127.0.0.1", PORT=port,
                     SCRIPT=script)
    srv = ctx.server(cfg, listens=[], wait_ports=[
        ("udp", "127.0.0.1", port), ("tcp", "127.0.0.1", port)])
    errors = []
    r = uac(ctx, srv.addr, 200, calls=3)
    errors += uac_errors(r, 3, "OK", "udp")
    r = uac(ctx, srv.addr, 200, calls=3, transport="t1")
    errors += uac_errors(r, 3, "OK", "tcp")
    r = uac(ctx, srv.addr, 483, calls=2, keys={"maxfwd": "0"})
    errors += uac_errors(r, 2, "Too Many Hops", "Max-Forwards 0")
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=60)
def sighup_reload(ctx):
    """SIGHUP reloads the routing script; a broken one is logged with
    file:line and the old one stays."""
    srv = ctx.server(ctx.script("reload.lua", REASON="OK-A"))
    check(probe(srv) == "SIP/2.0 200 OK-A", "first OPTIONS not 200 OK-A")
    ctx.script("reload.lua", REASON="OK-B")
    srv.send_signal(signal.SIGHUP)
    deadline = time.time() + 3
    sl = None
    while time.time() < deadline:
        sl = probe(srv)
        if sl == "SIP/2.0 200 OK-B":
            break
        time.sleep(0.1)
    srv.expect_alive("after SIGHUP")
    check(sl == "SIP/2.0 200 OK-B", "after SIGHUP: %r, want 200 OK-B" % sl)
    # a broken script on SIGHUP: logged with file:line, the old one stays
    mark = srv.mark()
    ctx.script("reload_broken.lua", "reload.lua")
    srv.send_signal(signal.SIGHUP)
    line = srv.wait_log(r"reload\.lua:4\b", since=mark, timeout=3)
    srv.expect_alive("after SIGHUP with a broken script")
    check(line, "SIGHUP with a broken script: no log line naming reload.lua:4")
    sl = probe(srv)
    check(sl == "SIP/2.0 200 OK-B", "after SIGHUP with a broken script: %r, "
          "want the old version (200 OK-B)" % sl)


@e2e_test(timeout=60)
def graceful_shutdown(ctx):
    """SIGTERM (and SIGINT) -> exit code 0 within a few seconds, also with
    a TCP connection open and under sipp load."""
    errors = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        srv = ctx.server(ctx.script("options.lua"))
        # a TCP connection left open must not block the exit
        c = socket.create_connection((srv.host, srv.port), timeout=2)
        sl = probe(srv)
        if sl != "SIP/2.0 200 OK":
            errors.append("%s: OPTIONS before stopping got %r" % (sig.name, sl))
        t0 = time.time()
        rc = srv.stop(sig, timeout=5)
        dt = time.time() - t0
        c.close()
        if rc is None:
            errors.append("%s: still running 5 s later (killed)" % sig.name)
        elif rc != 0:
            errors.append("%s: exit code %s, want 0" % (sig.name, rc))
        else:
            ctx.note("%s: exited 0 in %.2fs" % (sig.name, dt))
        if os.path.exists(srv.sock):
            ctx.note("%s: control socket file left behind" % sig.name)
    # under load: sipp keeps sending over UDP and TCP while we stop it
    srv = ctx.server(ctx.script("options.lua"))
    loads = [ctx.sipp("uac_options", remote=srv.addr, calls=5000, rate=200,
                      transport=t, subst={"EXPECT": 200}, timeout=20,
                      background=True, trace_msg=False) for t in ("u1", "t1")]
    time.sleep(1.5)
    t0 = time.time()
    rc = srv.stop(signal.SIGTERM, timeout=5)
    if rc is None:
        errors.append("SIGTERM under load: still running 5 s later (killed)")
    elif rc != 0:
        errors.append("SIGTERM under load: exit code %s, want 0" % rc)
    else:
        ctx.note("SIGTERM under load: exited 0 in %.2fs" % (time.time() - t0))
    for h in loads:
        h.proc.terminate()
    check(not errors, "\n  ".join(errors))


# ---------------------------------------------------------------- auth
# Digest authentication (modules auth, auth_db): auth.cfg loads them with a
# per-test SQLite file, auth_register.lua challenges as Kamailio's examples
# do and reports auth_check's result in X-Auth-Rc.

AUTH_DOMAIN = "osprey.test"


def auth_server(ctx, nonce_expire=300, params=""):
    """A server running auth_register.lua from auth.cfg with its own
    subscriber database. Loads registrar and usrloc too when the build has
    them (then REGISTER is saved, else answered 200)."""
    r = ctx.run([ctx.osprey, "--api", "json"], timeout=10)
    mods = set(re.findall(r'"module":\s*"(\w+)"', r.stdout))
    db_url = "sqlite://" + ctx.path("auth.db")
    modules = ""
    if "registrar" in mods:
        modules = 'loadmodule "usrloc.so"\nloadmodule "registrar.so"\n' \
                  'modparam("usrloc", "db_url", "%s")' % db_url
        ctx.note("registrar present: REGISTER is saved")
    script = ctx.script("auth_register.lua", REALM=AUTH_DOMAIN)
    port = free_port()
    cfg = ctx.script("auth.cfg", LISTEN="127.0.0.1", PORT=port, SCRIPT=script,
                     DB_URL=db_url, NONCE_EXPIRE=nonce_expire,
                     MODULES=modules, PARAMS=params)
    srv = ctx.server(cfg, listens=[], wait_ports=[
        ("udp", "127.0.0.1", port), ("tcp", "127.0.0.1", port)])
    srv.has_registrar = "registrar" in mods
    return srv


def auth_add(srv, who, password):
    ok, out, rc = srv.ctl("subscriber", "add", who, password)
    check(ok, "ospreyctl subscriber add %s: exit %s: %s" % (who, rc, out))


class SipReply:
    """A parsed response: code, reason, headers (lower-case name -> list
    of values), raw bytes."""

    def __init__(self, data):
        self.raw = data
        text = data.decode(errors="replace")
        head = text.split("\r\n\r\n", 1)[0].split("\r\n")
        m = re.match(r"SIP/2\.0 (\d{3}) (.*)", head[0])
        check(m, "not a SIP response: %r" % head[0])
        self.code = int(m.group(1))
        self.reason = m.group(2)
        self.headers = {}
        for line in head[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                self.headers.setdefault(k.strip().lower(), []).append(
                    v.strip())

    def get(self, name):
        v = self.headers.get(name.lower())
        return v[0] if v else None

    def rc(self):
        v = self.get("X-Auth-Rc")
        return int(v) if v is not None else None

    def challenge(self, name="WWW-Authenticate"):
        """{param: value} of the first Digest challenge, or None."""
        v = self.get(name)
        if not v:
            return None
        check(v.startswith("Digest "), "%s is not Digest: %r" % (name, v))
        return {k.lower(): (q if q else t) for k, q, t in re.findall(
            r'(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))', v[7:])}

    def __repr__(self):
        return "%d %s (rc %s)" % (self.code, self.reason, self.rc())


class DigestUA:
    """A REGISTER client over one UDP socket that answers challenges with
    hashlib (MD5 or SHA-256), so a test can replay exactly the same bytes
    or let a nonce expire."""

    def __init__(self, srv, user, password, auth_user=None):
        self.srv = srv
        self.user = user
        self.auth_user = auth_user or user
        self.password = password
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(3)
        self.port = self.sock.getsockname()[1]
        self.call_id = uuid.uuid4().hex + "@e2e"
        self.cseq = 0

    def close(self):
        self.sock.close()

    def build(self, authz=None):
        self.cseq += 1
        hp = "127.0.0.1:%d" % self.port
        lines = [
            "REGISTER sip:%s SIP/2.0" % AUTH_DOMAIN,
            "Via: SIP/2.0/UDP %s;branch=z9hG4bK-%s;rport" % (
                hp, uuid.uuid4().hex[:12]),
            "Max-Forwards: 70",
            "From: <sip:%s@%s>;tag=%s" % (self.user, AUTH_DOMAIN,
                                         self.call_id[:8]),
            "To: <sip:%s@%s>" % (self.user, AUTH_DOMAIN),
            "Call-ID: %s" % self.call_id,
            "CSeq: %d REGISTER" % self.cseq,
            "Contact: <sip:%s@%s>" % (self.user, hp),
            "Expires: 60",
        ]
        if authz:
            lines.append("Authorization: " + authz)
        lines.append("Content-Length: 0")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def send(self, data):
        self.sock.sendto(data, (self.srv.host, self.srv.port))
        try:
            reply, _ = self.sock.recvfrom(65536)
        except socket.timeout:
            fail("no answer to REGISTER from %s" % self.srv.addr)
        return SipReply(reply)

    def authz(self, chal, nc, password=None, alg=None):
        """Authorization value answering challenge params chal."""
        import hashlib
        alg = alg or chal.get("algorithm", "MD5")
        hname = {"MD5": "md5", "SHA-256": "sha256"}[alg.upper()]

        def h(s):
            return hashlib.new(hname, s.encode()).hexdigest()

        uri = "sip:%s" % AUTH_DOMAIN
        cnonce = uuid.uuid4().hex[:16]
        ncs = "%08x" % nc
        ha1 = h("%s:%s:%s" % (self.auth_user, chal["realm"],
                              password or self.password))
        ha2 = h("REGISTER:%s" % uri)
        rsp = h("%s:%s:%s:%s:auth:%s" % (ha1, chal["nonce"], ncs, cnonce, ha2))
        return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", '
                'response="%s", algorithm=%s, qop=auth, nc=%s, cnonce="%s"'
                % (self.auth_user, chal["realm"], chal["nonce"], uri, rsp,
                   alg, ncs, cnonce))


@e2e_test(timeout=90)
def auth_register_sipp(ctx):
    """REGISTER with digest auth (sipp -au/-ap): 401 with qop=auth then 200;
    wrong password -> 401 again; subscriber add/list/rm with ospreyctl."""
    srv = auth_server(ctx)
    errors = []
    auth_add(srv, "alice@%s" % AUTH_DOMAIN, "s3cret")
    auth_add(srv, "bob@%s" % AUTH_DOMAIN, "1234")  # digits stay text
    ok, out, rc = srv.ctl("subscriber", "add", "alice@%s" % AUTH_DOMAIN, "x")
    if ok or rc != 1 or "exists" not in out:
        errors.append("adding alice twice: exit %s %r, want exit 1 and "
                      "'exists'" % (rc, out.strip()))
    ok, out, rc = srv.ctl("subscriber", "list")
    listed = out.split()
    if not ok or listed != ["alice@%s" % AUTH_DOMAIN, "bob@%s" % AUTH_DOMAIN]:
        errors.append("subscriber list: %r" % out)
    before = srv.stats()

    def register(user, password, expect, calls=5):
        return ctx.sipp("auth_register", remote=srv.addr, calls=calls,
                        rate=20, service=user,
                        subst={"EXPECT": expect, "DOMAIN": AUTH_DOMAIN},
                        extra=["-au", user, "-ap", password])

    def rcs(res):
        return [int(m) for m in re.findall(r"^reason=.*? rc=(-?\d+)",
                                           "\n".join(res.log_lines), re.M)]

    r = register("alice", "s3cret", 200)
    errors += uac_errors(r, 5, "OK", "alice right password")
    if rcs(r) != [1] * 5:
        errors.append("alice right password: X-Auth-Rc %r, want 1s" % rcs(r))
    r = register("bob", "1234", 200, calls=2)
    errors += uac_errors(r, 2, "OK", "bob (numeric password)")
    r = register("alice", "wrong", 401, calls=3)
    errors += uac_errors(r, 3, "Unauthorized", "alice wrong password")
    if rcs(r) != [-2] * 3:
        errors.append("wrong password: X-Auth-Rc %r, want -2s" % rcs(r))
    r = register("carol", "s3cret", 401, calls=1)
    errors += uac_errors(r, 1, "Unauthorized", "unknown user")
    if rcs(r) != [-3]:
        errors.append("unknown user: X-Auth-Rc %r, want -3" % rcs(r))
    after = srv.stats()
    d = counter_deltas(before, after, r"^auth:")
    if d.get("auth:successful", 0) < 7 or d.get("auth:challenges", 0) < 11:
        errors.append("auth counters moved by %r, want successful >= 7, "
                      "challenges >= 11" % d)
    ok, out, rc = srv.ctl("subscriber", "rm", "alice@%s" % AUTH_DOMAIN)
    if not ok:
        errors.append("subscriber rm: exit %s %r" % (rc, out))
    r = register("alice", "s3cret", 401, calls=1)
    errors += uac_errors(r, 1, "Unauthorized", "alice after rm")
    if rcs(r) != [-3]:
        errors.append("after rm: X-Auth-Rc %r, want -3" % rcs(r))
    ok, out, rc = srv.ctl("subscriber", "rm", "alice@%s" % AUTH_DOMAIN)
    if ok or rc != 1:
        errors.append("removing alice twice: exit %s, want 1" % rc)
    ok, out, rc = srv.ctl("subscriber", "list")
    if out.split() != ["bob@%s" % AUTH_DOMAIN]:
        errors.append("subscriber list after rm: %r" % out)
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=90)
def auth_replay_and_stale(ctx):
    """Digest details from a raw UDP client: a replayed Authorization (same
    nonce and nc) is refused with a fresh stale=true challenge, a higher nc
    on the same nonce passes, an expired nonce (nonce_expire 2) gets
    stale=true, wrong password / unknown user / user mismatch codes."""
    srv = auth_server(ctx, nonce_expire=2)
    auth_add(srv, "alice@%s" % AUTH_DOMAIN, "s3cret")
    auth_add(srv, "carol@%s" % AUTH_DOMAIN, "other")
    errors = []

    def expect(what, r, code, rc, stale=None):
        if r.code != code or r.rc() != rc:
            errors.append("%s: got %r, want %d with X-Auth-Rc %d"
                          % (what, r, code, rc))
        if stale is not None and r.code in (401, 407):
            ch = r.challenge() or {}
            got = ch.get("stale", "").lower() == "true"
            if got != stale:
                errors.append("%s: stale=%s in %r, want %s" % (
                    what, ch.get("stale"), r.get("WWW-Authenticate"), stale))

    ua = DigestUA(srv, "alice", "s3cret")
    r = ua.send(ua.build())
    expect("no credentials", r, 401, -5, stale=False)
    chal = r.challenge()
    check(chal and chal.get("qop") == "auth" and len(chal["nonce"]) >= 32,
          "first challenge: %r" % r.get("WWW-Authenticate"))
    first = ua.build(ua.authz(chal, 1))
    r = ua.send(first)
    expect("nc=1", r, 200, 1)
    if srv.has_registrar and not r.get("Contact"):
        errors.append("200 from the registrar lists no Contact")
    r = ua.send(first)
    expect("replay of nc=1 (same bytes)", r, 401, -4, stale=True)
    r = ua.send(ua.build(ua.authz(chal, 2)))
    expect("nc=2 on the same nonce", r, 200, 1)
    r = ua.send(ua.build(ua.authz(chal, 2)))
    expect("nc=2 again, new request", r, 401, -4, stale=True)
    r = ua.send(ua.build(ua.authz(chal, 3, password="wrong")))
    expect("wrong password", r, 401, -2, stale=False)
    time.sleep(3.2)
    r = ua.send(ua.build(ua.authz(chal, 4)))
    expect("expired nonce", r, 401, -4, stale=True)
    fresh = r.challenge() or {}
    if fresh.get("nonce") == chal["nonce"]:
        errors.append("the stale challenge repeats the old nonce")
    if fresh.get("nonce"):
        r = ua.send(ua.build(ua.authz(fresh, 1)))
        expect("fresh nonce after stale", r, 200, 1)
    r = ua.send(ua.build(ua.authz(chal, 5, password="wrong")))
    expect("expired nonce, wrong password", r, 401, -4, stale=False)
    ua.close()

    ua = DigestUA(srv, "dave", "x")
    chal = ua.send(ua.build()).challenge()
    r = ua.send(ua.build(ua.authz(chal, 1)))
    expect("unknown user", r, 401, -3)
    ua.close()
    ua = DigestUA(srv, "alice", "other", auth_user="carol")
    chal = ua.send(ua.build()).challenge()
    r = ua.send(ua.build(ua.authz(chal, 1)))
    expect("carol registering alice", r, 403, -8)
    ua.close()
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=60)
def auth_sha256(ctx):
    """modparam auth algorithm SHA-256: the challenge says
    algorithm=SHA-256, a SHA-256 answer passes, an MD5 one is refused."""
    srv = auth_server(ctx, params='modparam("auth", "algorithm", "SHA-256")')
    auth_add(srv, "alice@%s" % AUTH_DOMAIN, "s3cret")
    errors = []
    ua = DigestUA(srv, "alice", "s3cret")
    r = ua.send(ua.build())
    chal = r.challenge() or {}
    if chal.get("algorithm") != "SHA-256":
        errors.append("challenge %r, want algorithm=SHA-256"
                      % r.get("WWW-Authenticate"))
    r = ua.send(ua.build(ua.authz(chal, 1, alg="SHA-256")))
    if r.code != 200 or r.rc() != 1:
        errors.append("SHA-256 answer: %r, want 200 rc 1" % r)
    r = ua.send(ua.build(ua.authz(chal, 2, alg="MD5")))
    if r.code != 401 or r.rc() != -1:
        errors.append("MD5 answer to a SHA-256 challenge: %r, want 401 "
                      "rc -1" % r)
    ua.close()
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


# ---------------------------------------------------------------- registrar
# Registrar and location service (modules registrar, usrloc):
# reg_registrar.cfg loads them with the test's own SQLite file, and
# reg_registrar.lua saves REGISTERs (with the source address as received,
# as nathelper's fix_nated_register would) and answers other requests with
# what lookup found. REGISTERs come from sipp: reg_uac.xml (one REGISTER,
# Contact/Expires/Call-ID/CSeq chosen by the test), reg_bulk.xml (one user
# per call from an injection file).


def reg_server(ctx, db="location.db", db_mode=1, min_expires=60, timer=60):
    """A server for the registrar tests. The same db (a file in the work
    dir) gives a restarted server the same location table."""
    script = ctx.script("reg_registrar.lua")
    cfg = ctx.script("reg_registrar.cfg", dest="reg-%d.cfg" % ctx.seq(),
                     SCRIPT=script, DB_URL="sqlite://" + ctx.path(db),
                     DB_MODE=db_mode, MIN_EXPIRES=min_expires, TIMER=timer)
    return ctx.server(cfg)


def reg_send(ctx, srv, user, contact="", expires=None, expect=200,
             check="SIP", reason=None, cid=None, cseq=1, transport="u1"):
    """One REGISTER for user from sipp (reg_uac.xml). contact: the Contact
    value ("" for a query; sipp keywords allowed, as
    "<sip:u@[local_ip]:[local_port]>"); expires: the Expires value or None;
    check: a regular expression the response must match. Returns
    (problems, Contact value of the response, sipp's port)."""
    port = free_port()
    subst = {
        "EXPECT": expect, "CHECK": check,
        "CONTACT": "Contact: " + contact if contact else "X-No-Contact: 1",
        "EXPIRES": ("Expires: %s" % expires) if expires is not None
        else "X-No-Expires: 1",
    }
    r = ctx.sipp("reg_uac", remote=srv.addr, port=port, subst=subst,
                 transport=transport,
                 keys={"aor_user": user, "regcseq": cseq},
                 extra=["-cid_str", cid or uuid.uuid4().hex + "@e2e"])
    what = "REGISTER %s %r Expires %s (want %s, /%s/)" % (
        user, contact, expires, expect, check)
    problems = uac_errors(r, 1, reason, what)
    got = ""
    for line in r.log_lines:
        if line.startswith("contact="):
            got = line[len("contact="):]
    return problems, got, port


def reg_ctl(srv, method, *params):
    """ospreyctl METHOD PARAMS: (ok, parsed result or None, output)."""
    ok, out, rc = srv.ctl(method, *params)
    try:
        j = json.loads(out)
    except ValueError:
        j = None
    if isinstance(j, dict) and "result" in j:
        j = j["result"]
    return ok, j, out


def reg_dump(srv):
    """ul.dump as {AOR: [Contact objects]} for the location table."""
    ok, j, out = reg_ctl(srv, "ul.dump")
    check(ok and isinstance(j, dict), "ul.dump failed: %s" % out[:300])
    res = {}
    for d in j.get("Domains", []):
        dom = d.get("Domain", {})
        if dom.get("Domain") != "location":
            continue
        for a in dom.get("AoRs", []):
            info = a.get("Info", {})
            res[info.get("AoR")] = [c.get("Contact", {})
                                    for c in info.get("Contacts", [])]
    return res


def reg_ul_lookup(srv, aor):
    """ul.lookup location AOR: the Contact objects, or None when the
    command fails (AOR not found)."""
    ok, j, out = reg_ctl(srv, "ul.lookup", "location", aor)
    if not ok or not isinstance(j, dict):
        return None
    return [c.get("Contact", {}) for c in j.get("Contacts", [])]


@e2e_test(timeout=120)
def reg_register_query_unregister(ctx):
    """REGISTER → 200 listing the contact with ;expires and the received
    address; a second contact with q; a query (no Contact) lists both;
    Expires 0 on one contact removes it; Contact: * with Expires: 0 removes
    the rest; ul.lookup, ul.dump and the counters follow. Also over TCP."""
    srv = reg_server(ctx)
    before = srv.stats()
    errors = []
    p, ct, port = reg_send(ctx, srv, "alice",
                           "<sip:alice@[local_ip]:[local_port]>", 3600,
                           check="expires=3600", reason="OK")
    errors += p
    want = "<sip:alice@127.0.0.1:%d>;expires=3600" % port
    if not ct.startswith(want) or \
            'received="sip:127.0.0.1:%d"' % port not in ct:
        errors.append("200 Contact %r, want %s;received=..." % (ct, want))
    cs = reg_ul_lookup(srv, "alice") or []
    if len(cs) != 1:
        errors.append("ul.lookup alice: %r, want one contact" % cs)
    else:
        c = cs[0]
        exp = c.get("Expires")
        if c.get("Address") != "sip:alice@127.0.0.1:%d" % port or \
                not isinstance(exp, int) or not 3590 <= exp <= 3600 or \
                c.get("Received") != "sip:127.0.0.1:%d" % port or \
                c.get("User-Agent") != "osprey-e2e" or \
                c.get("Socket") != "udp:127.0.0.1:%d" % srv.port or \
                c.get("CSeq") != 1:
            errors.append("ul.lookup alice: unexpected contact %r" % c)

    p, ct, _ = reg_send(ctx, srv, "alice", "<sip:alice@192.0.2.1:5099>;q=0.5",
                        600, check="expires=600")
    errors += p
    both = ["<sip:alice@192.0.2.1:5099>;q=0.5;expires=",
            "<sip:alice@127.0.0.1:%d>;expires=" % port]
    if not (ct.startswith(both[0]) and both[1] in ct):
        errors.append("second contact: 200 Contact %r, want %s..., %s..."
                      % (ct, both[0], both[1]))
    p, ct, _ = reg_send(ctx, srv, "Alice")
    errors += p
    if not (ct.startswith(both[0]) and both[1] in ct):
        errors.append("query: 200 Contact %r, want both bindings" % ct)
    p, ct, _ = reg_send(ctx, srv, "alice", "<sip:alice@192.0.2.1:5099>", 0)
    errors += p
    if not ct.startswith(both[1]) or "192.0.2.1" in ct:
        errors.append("after Expires 0: 200 Contact %r, want only %s..."
                      % (ct, both[1]))
    p, ct, tport = reg_send(ctx, srv, "tom",
                            "<sip:tom@[local_ip]:[local_port];transport=tcp>",
                            120, check="expires=120", transport="t1")
    errors += p
    cs = reg_ul_lookup(srv, "tom") or [{}]
    if cs[0].get("Socket") != "tcp:127.0.0.1:%d" % srv.port or \
            not str(cs[0].get("Received", "")).endswith(";transport=tcp"):
        errors.append("TCP registration: %r" % cs[0])
    d = reg_dump(srv)
    if sorted(d) != ["alice", "tom"]:
        errors.append("ul.dump AoRs %r, want alice and tom" % sorted(d))

    for user in ("alice", "tom"):
        p, ct, _ = reg_send(ctx, srv, user, "*", 0)
        errors += p
        if ct:
            errors.append("Contact: * for %s: 200 still lists %r" % (user, ct))
    if reg_ul_lookup(srv, "alice") is not None:
        errors.append("ul.lookup alice succeeds after Contact: *")
    if reg_dump(srv):
        errors.append("ul.dump not empty after Contact: *: %r" % reg_dump(srv))
    after = srv.stats()
    d = counter_deltas(before, after, r"^registrar:")
    if d.get("registrar:accepted_regs") != 7:
        errors.append("registrar:accepted_regs moved by %r, want 7" %
                      d.get("registrar:accepted_regs"))
    for k in ("usrloc:location-users", "usrloc:location-contacts",
              "usrloc:registered_users"):
        if after.get(k) != 0:
            errors.append("%s = %r at the end, want 0" % (k, after.get(k)))
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=90)
def reg_423_and_stale_cseq(ctx):
    """Expires below min_expires → 423 Interval Too Brief with Min-Expires;
    same Call-ID with a lower CSeq → 400 with P-Registrar-Error: Invalid
    CSeq number and the binding unchanged; a higher one is accepted;
    Contact: * with Expires other than 0, or stale, → 400."""
    srv = reg_server(ctx, min_expires=60)
    errors = []
    p, ct, _ = reg_send(ctx, srv, "bob", "<sip:bob@192.0.2.2>", 30, expect=423,
                        check="Min-Expires: 60", reason="Interval Too Brief")
    errors += p
    if "bob" in reg_dump(srv):
        errors.append("bob registered despite the 423")
    cid = "stale-%s@e2e" % uuid.uuid4().hex[:8]
    p, _, _ = reg_send(ctx, srv, "bob", "<sip:bob@192.0.2.2>", 300, cid=cid,
                       cseq=5, check="expires=300")
    errors += p
    p, _, _ = reg_send(ctx, srv, "bob", "<sip:bob@192.0.2.2>", 900, cid=cid,
                       cseq=3, expect=400, reason="Bad Request",
                       check="P-Registrar-Error: Invalid CSeq number")
    errors += p
    cs = reg_ul_lookup(srv, "bob") or [{}]
    if cs[0].get("CSeq") != 5 or not 0 < cs[0].get("Expires", 0) <= 300:
        errors.append("after the stale REGISTER: %r, want CSeq 5 and "
                      "Expires <= 300" % cs[0])
    p, _, _ = reg_send(ctx, srv, "bob", "<sip:bob@192.0.2.2>", 900, cid=cid,
                       cseq=6, check="expires=900")
    errors += p
    p, _, _ = reg_send(ctx, srv, "bob", "*", 10, expect=400,
                       check="[*] used in contact and expires is not zero")
    errors += p
    p, _, _ = reg_send(ctx, srv, "bob", "*", 0, cid=cid, cseq=4, expect=400,
                       check="Invalid CSeq number")
    errors += p
    cs = reg_ul_lookup(srv, "bob") or [{}]
    if cs[0].get("CSeq") != 6:
        errors.append("after the refused requests: %r, want CSeq 6" % cs[0])
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=60)
def reg_expiry(ctx):
    """A binding registered with Expires: 2 is listed by ul.dump, then
    disappears once it lapses (timer_interval 1); usrloc:location-expires
    counts it."""
    srv = reg_server(ctx, min_expires=1, timer=1)
    errors = []
    p, ct, _ = reg_send(ctx, srv, "carol", "<sip:carol@192.0.2.3>", 2,
                        check="expires=2")
    errors += p
    d = reg_dump(srv)
    if "carol" not in d:
        errors.append("carol not in ul.dump right after the 200: %r" % d)
    deadline = time.time() + 8
    while "carol" in d and time.time() < deadline:
        time.sleep(0.3)
        d = reg_dump(srv)
    if "carol" in d:
        errors.append("carol still in ul.dump 8 s after a 2 s registration: "
                      "%r" % d["carol"])
    st = srv.stats()
    if st.get("usrloc:location-expires", 0) < 1 or \
            st.get("usrloc:location-contacts") != 0:
        errors.append("counters after expiry: %r" % {
            k: v for k, v in st.items() if k.startswith("usrloc:")})
    if reg_ul_lookup(srv, "carol") is not None:
        errors.append("ul.lookup still finds carol")
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=240)
def reg_restart_1000(ctx):
    """1,000 users register (sipp, injection file, 200/s), SIGTERM, start
    again on the same database: ul.dump lists all 1,000 with their
    remaining expires, and lookup routes to one of them. Write-through
    (db_mode 1) and write-back (db_mode 2, flushed at shutdown)."""
    users = ["u%04d" % i for i in range(1000)]
    csv = ctx.write_file("users.csv", "SEQUENTIAL\n" +
                         "".join("%s;\n" % u for u in users))
    errors = []
    for mode in (1, 2):
        db = "restart-%d.db" % mode
        srv = reg_server(ctx, db=db, db_mode=mode)
        port = free_port()
        t0 = time.time()
        r = ctx.sipp("reg_bulk", remote=srv.addr, calls=1000, rate=200,
                     timeout=90, port=port, extra=["-inf", csv],
                     trace_msg=False)
        took = time.time() - t0
        errors += uac_errors(r, 1000, None, "1000 REGISTERs, db_mode %d"
                             % mode)
        d = reg_dump(srv)
        if len(d) != 1000:
            errors.append("db_mode %d: ul.dump lists %d AoRs before the "
                          "restart, want 1000" % (mode, len(d)))
        rc = srv.stop()
        if rc != 0:
            errors.append("db_mode %d: exit code %r on SIGTERM" % (mode, rc))
        srv2 = reg_server(ctx, db=db, db_mode=mode)
        d = reg_dump(srv2)
        missing = [u for u in users if u not in d]
        bad = [(u, d[u]) for u in users if u in d and (
            len(d[u]) != 1 or not isinstance(d[u][0].get("Expires"), int)
            or not 3400 <= d[u][0]["Expires"] <= 3600
            or d[u][0].get("Address") != "sip:%s@127.0.0.1:%d" % (u, port))]
        ctx.note("db_mode %d: 1000 REGISTERs in %.1fs; %d AoRs after the "
                 "restart" % (mode, took, len(d)))
        if missing:
            errors.append("db_mode %d: %d AoRs lost in the restart (%s...)"
                          % (mode, len(missing), missing[:5]))
        if bad:
            errors.append("db_mode %d: %d AoRs with a wrong contact after "
                          "the restart, e.g. %r" % (mode, len(bad), bad[0]))
        st = srv2.stats()
        if st.get("usrloc:location-contacts") != 1000:
            errors.append("db_mode %d: usrloc:location-contacts = %r after "
                          "the restart" % (mode, st.get(
                              "usrloc:location-contacts")))
        r = uac(ctx, srv2.addr, 200, calls=1, service="u0042")
        want = "Found sip:u0042@127.0.0.1:%d du=sip:127.0.0.1:%d" % (
            port, port)
        errors += uac_errors(r, 1, want, "lookup u0042 after the restart")
        srv2.stop()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=60)
def reg_lookup(ctx):
    """lookup("location") after a REGISTER with two contacts: the R-URI
    becomes the highest-q contact and $du the received address; an unknown
    user gets 404."""
    srv = reg_server(ctx)
    errors = []
    p, ct, port = reg_send(ctx, srv, "dave",
                           "<sip:dave@192.0.2.5:5060>;q=0.5, "
                           "<sip:dave@192.0.2.6:5060>;q=1", 3600)
    errors += p
    r = uac(ctx, srv.addr, 200, calls=1, service="dave")
    errors += uac_errors(r, 1, "Found sip:dave@192.0.2.6:5060 "
                         "du=sip:127.0.0.1:%d" % port, "lookup dave")
    r = uac(ctx, srv.addr, 404, calls=1, service="nobody")
    errors += uac_errors(r, 1, "Not Found", "lookup of an unknown user")
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


# ------------------------------------------- htable, pike, permissions

from harness import TestSkip  # noqa: E402 - this section's own import


def _ht_server(ctx, cfg, **subst):
    """osprey with tests/sip/scripts/CFG and its Lua script (same name,
    .lua), listening on UDP on a free port of 127.0.0.1."""
    port = free_port()
    script = ctx.script(cfg[:-4] + ".lua")
    conf = ctx.script(cfg, LISTEN="127.0.0.1", PORT=port, SCRIPT=script,
                      **subst)
    return ctx.server(conf, listens=[],
                      wait_ports=[("udp", "127.0.0.1", port)])


def _ht_can_bind(host):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((host, 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _ht_probe(srv, src="127.0.0.1", user="probe", timeout=1.0):
    """One OPTIONS to srv sent from address src; the reply's status line,
    or None when nothing came back."""
    def build(lh, lp):
        data, _ = sip_request(lh, lp, srv.addr, start="OPTIONS sip:%s@%s "
                              "SIP/2.0" % (user, srv.addr))
        return data

    return status_line(raw_udp_request((srv.host, srv.port), build,
                                       timeout, bind_host=src))


def _ht_rpc(srv, method, *params):
    """ospreyctl call: (ok, result or error object); a null result (which
    ospreyctl prints as nothing) is None."""
    ok, out, _ = srv.ctl(method, *params)
    if ok and not out.strip():
        return True, None
    try:
        j = json.loads(out)
    except ValueError:
        return False, out
    if isinstance(j, dict) and "result" in j:
        return ok, j["result"]
    return ok, j


@e2e_test(timeout=90)
def ht_pike_flood(ctx):
    """Kamailio's anti-flood pattern (pike_check_req, then
    sht_seti("ipban", srcip, 1)): a sipp flood from 127.0.0.2 is answered
    up to the pike density, then dropped, while 127.0.0.3 sending at the
    same time keeps getting 200; htable.get shows the ban, pike.list the
    address; after htable.delete and a quiet spell it is served again."""
    for ip in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        if not _ht_can_bind(ip):
            raise TestSkip("cannot bind %s" % ip)
    srv = _ht_server(ctx, "ht_pike.cfg")
    errors = []
    density, flood_calls = 16, 80
    good = ctx.sipp("uac_options", remote=srv.addr, local_ip="127.0.0.3",
                    calls=6, rate=6, subst={"EXPECT": 200}, timeout=20,
                    background=True)
    flood = ctx.sipp("uac_options", remote=srv.addr, local_ip="127.0.0.2",
                     calls=flood_calls, rate=400, subst={"EXPECT": 200},
                     timeout=20, recv_timeout=1500, trace_msg=False,
                     background=True)
    fr = flood.wait()
    gr = good.wait()
    errors += uac_errors(gr, 6, "OK", "127.0.0.3 during the flood")
    # Counts roll over every sampling unit (2 s), aligned on the clock: a
    # flood straddling two units may pass up to twice the density.
    ctx.note("flood from 127.0.0.2: %d answered, %d unanswered"
             % (fr.successful, fr.failed))
    if not 1 <= fr.successful < 2 * density:
        errors.append("flood: %d of %d requests answered, want 1..%d"
                      % (fr.successful, flood_calls, 2 * density - 1))
    if fr.successful + fr.failed != flood_calls:
        errors.append("flood: %s" % fr.describe())
    ok, res = _ht_rpc(srv, "htable.get", "ipban", "127.0.0.2")
    item = res.get("item", {}) if ok and isinstance(res, dict) else {}
    if item.get("value") != 1:
        errors.append("htable.get ipban 127.0.0.2: %r, want value 1" % (res,))
    ok, res = _ht_rpc(srv, "pike.list")
    ips = [r.get("ip_addr") for r in (res or {}).get("list", [])] \
        if ok and isinstance(res, dict) else []
    if "127.0.0.2" not in ips:
        errors.append("pike.list does not show 127.0.0.2: %r" % (res,))
    st = srv.stats()
    if st.get("pike:blocked", 0) < 1:
        errors.append("pike:blocked = %r, want >= 1" % st.get("pike:blocked"))
    sl = _ht_probe(srv, "127.0.0.2")
    if sl is not None:
        errors.append("banned 127.0.0.2 got an answer: %r" % sl)
    sl = _ht_probe(srv, "127.0.0.4")
    if sl != "SIP/2.0 200 OK":
        errors.append("fresh source 127.0.0.4: %r, want 200 OK" % sl)
    # Lift the ban once pike has seen two quiet units (the ban stops the
    # pike counting, so the last counted request is older than this).
    time.sleep(4.5)
    ok, res = _ht_rpc(srv, "htable.delete", "ipban", "127.0.0.2")
    if not ok:
        errors.append("htable.delete: %r" % (res,))
    ok, res = _ht_rpc(srv, "htable.dump", "ipban")
    if ok and "127.0.0.2" in json.dumps(res):
        errors.append("htable.dump ipban still lists 127.0.0.2: %r" % (res,))
    sl = _ht_probe(srv, "127.0.0.2")
    if sl != "SIP/2.0 200 OK":
        errors.append("127.0.0.2 after htable.delete and 4.5 s: %r, want "
                      "200 OK" % sl)
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=60)
def ht_pv_rpc(ctx):
    """htable from Lua (sht_inc with initval, $sht(cnt=>$si) through
    KSR.pv.seti/get/is_null, sht_getw) and the control socket
    (htable.get/seti/delete/dump/listTables/stats/flush); items expire
    with autoexpire and the timer empties the table."""
    srv = _ht_server(ctx, "ht_pv.cfg")
    errors = []

    def expect(user, want):
        sl = _ht_probe(srv, user=user)
        if sl != "SIP/2.0 200 " + want:
            errors.append("%s: %r, want 200 %s" % (user, sl, want))

    for n in (1, 2, 3):
        expect("inc", "count %d" % n)
    ok, res = _ht_rpc(srv, "htable.get", "cnt", "127.0.0.1")
    if not ok or res.get("item", {}).get("value") != 3:
        errors.append("htable.get cnt 127.0.0.1: %r, want value 3" % (res,))
    ok, res = _ht_rpc(srv, "htable.seti", "cnt", "127.0.0.1", 41)
    if not ok:
        errors.append("htable.seti: %r" % (res,))
    expect("inc", "count 42")
    expect("pvset", "set")
    expect("pvget", "value 100 names seen")
    expect("isnull", "null false")
    ok, res = _ht_rpc(srv, "htable.delete", "names", "127.0.0.1::pvset")
    expect("isnull", "null true")
    expect("pvget", "value 100 names <null>")
    ok, res = _ht_rpc(srv, "htable.dump", "cnt")
    items = [i for e in (res if ok else []) for i in e.get("slot", [])]
    if items != [{"name": "127.0.0.1", "value": 100, "type": "int"}]:
        errors.append("htable.dump cnt: %r" % (res,))
    ok, res = _ht_rpc(srv, "htable.listTables")
    names = [t.get("name") for t in res] if ok else res
    if names != ["cnt", "names"]:
        errors.append("htable.listTables: %r" % (res,))
    ok, res = _ht_rpc(srv, "htable.stats")
    if not ok or res[0].get("all") != 1 or res[0].get("slots") != 16:
        errors.append("htable.stats: %r" % (res,))
    ok, res = _ht_rpc(srv, "htable.get", "nosuch", "x")
    if ok or "No such htable" not in json.dumps(res):
        errors.append("htable.get on a missing table: %r" % (res,))
    # autoexpire=2: the item is gone for readers, then freed by the timer
    time.sleep(2.2)
    expect("pvget", "value 0 names <null>")
    deadline = time.time() + 3
    while time.time() < deadline:
        ok, res = _ht_rpc(srv, "htable.dump", "cnt")
        if ok and res == []:
            break
        time.sleep(0.3)
    else:
        errors.append("htable.dump cnt after expiry: %r, want []" % (res,))
    expect("pvset", "set")
    ok, res = _ht_rpc(srv, "htable.flush", "names")
    expect("isnull", "null true")
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=60)
def perm_address_file(ctx):
    """allow_source_address(1) / allow_source_address_group() against an
    address_file (exact address with a tag in the peer_tag_avp, a /24 in
    group 2); permissions.addressDump/subnetDump; addressReload picks up
    the edited file, and a broken file keeps the previous records."""
    for ip in ("127.0.0.2", "127.0.0.3"):
        if not _ht_can_bind(ip):
            raise TestSkip("cannot bind %s" % ip)
    addr = ctx.write_file("address.list",
                          "# group address netmask port tag\n"
                          "1 127.0.0.2 32 0 peerA\n"
                          "2 127.0.0.0 24\n")
    srv = _ht_server(ctx, "perm_addr.cfg", ADDRFILE=addr)
    errors = []

    def expect(src, want):
        sl = _ht_probe(srv, src)
        if sl != "SIP/2.0 " + want:
            errors.append("from %s: %r, want %s" % (src, sl, want))

    expect("127.0.0.2", "200 Trusted peerA")
    expect("127.0.0.3", "403 Group 2")
    ok, res = _ht_rpc(srv, "permissions.addressDump")
    if not ok or [(r.get("group"), r.get("ip"), r.get("port"), r.get("tag"))
                  for r in res] != [(1, "127.0.0.2", 0, "peerA")]:
        errors.append("permissions.addressDump: %r" % (res,))
    ok, res = _ht_rpc(srv, "permissions.subnetDump")
    if not ok or [(r.get("group"), r.get("ip"), r.get("mask"))
                  for r in res] != [(2, "127.0.0.0", 24)]:
        errors.append("permissions.subnetDump: %r" % (res,))
    ctx.write_file("address.list", "1 127.0.0.3\n")
    ok, res = _ht_rpc(srv, "permissions.addressReload")
    if not ok or res != "Reload OK":
        errors.append("permissions.addressReload: %r" % (res,))
    expect("127.0.0.3", "200 Trusted none")
    expect("127.0.0.2", "403 Group -1")
    ctx.write_file("address.list", "1 127.0.0.2\nthis is not a record\n")
    ok, res = _ht_rpc(srv, "permissions.addressReload")
    if ok or "address.list:2" not in json.dumps(res):
        errors.append("reload of a broken file: %r, want an error naming "
                      "address.list:2" % (res,))
    expect("127.0.0.3", "200 Trusted none")
    expect("127.0.0.2", "403 Group -1")
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


# ------------------------------------------------ Python engine (py_*)
#
# The same checks as the Lua tests above, with routing scripts written for
# the Python engine (tests/sip/scripts/py_*.py, Kamailio's app_python3
# contract: mod_init() returns the object whose methods route).

# Lines of py_script_error.py that raise (see the comment in that file).
PY_SCRIPT_ERROR_LINES = {"exc": 16, "badarg": 18, "callnil": 20}


@e2e_test(timeout=60)
def py_options_200(ctx):
    """Python: OPTIONS -> 200 OK (sl_send_reply) over UDP, TCP and IPv6."""
    script = ctx.script("py_options.py")
    p4 = free_port()
    listens = ["udp:127.0.0.1:%d" % p4, "tcp:127.0.0.1:%d" % p4]
    cases = [("udp", "127.0.0.1", p4, "u1"), ("tcp", "127.0.0.1", p4, "t1")]
    if have_ipv6():
        p6 = free_port("::1")
        listens += ["udp:[::1]:%d" % p6, "tcp:[::1]:%d" % p6]
        cases += [("udp6", "::1", p6, "u1"), ("tcp6", "::1", p6, "t1")]
    else:
        ctx.note("IPv6 cases skipped: ::1 not available")
    srv = ctx.server(script, listens)
    errors = []
    for label, host, port, t in cases:
        r = uac(ctx, hostport(host, port), 200, calls=5, transport=t,
                local_ip=host)
        errors += uac_errors(r, 5, "OK", label)
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=60)
def py_maxfwd_483(ctx):
    """Python: Max-Forwards: 0 -> 483 then KSR.x.exit() (no second reply),
    70 -> 200."""
    srv = ctx.server(ctx.script("py_maxfwd.py"))
    errors = []
    before = srv.stats()
    r = uac(ctx, srv.addr, 483, calls=3, keys={"maxfwd": "0"})
    errors += uac_errors(r, 3, "Too Many Hops", "Max-Forwards 0")
    r = uac(ctx, srv.addr, 200, calls=3, keys={"maxfwd": "70"})
    errors += uac_errors(r, 3, "OK", "Max-Forwards 70")
    d = counter_deltas(before, srv.stats(), r"^core:script_errors$")
    if d:
        errors.append("script errors counted: %s" % d)
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=90)
def py_hdr_append_forward(ctx):
    """Python: hdr.append + stateless forward to a sipp UAS and back by
    Via (ksr_reply_route sees the reply through msg), UDP and TCP, R-URI
    and $du."""
    cases = [("udp_ruri", "udp", "udp", False),
             ("udp_du", "udp", "udp", True),
             ("tcp_du", "tcp", "tcp", True),
             ("udp_to_tcp_du", "udp", "tcp", True)]
    errors = []
    calls = 3
    host = "127.0.0.1"
    for label, uac_proto, proto, use_du in cases:
        uas_port = free_port(host)
        uas_hp = hostport(host, uas_port)
        dst = "sip:%s;transport=%s" % (uas_hp, proto) if use_du else ""
        script = ctx.script("py_forward.py", "py_forward_%s.py" % label,
                            DST=dst)
        port = free_port(host)
        hp = hostport(host, port)
        srv = ctx.server(script, ["udp:" + hp, "tcp:" + hp])
        mark = srv.mark()
        t = "t1" if proto == "tcp" else "u1"
        uas = ctx.sipp("uas_expect_hdr", local_ip=host, transport=t,
                       calls=calls, port=uas_port, timeout=20,
                       recv_timeout=15000, background=True)
        time.sleep(0.3)  # let the UAS bind
        r = uac(ctx, hp, 200, calls=calls, rate=20,
                transport="t1" if uac_proto == "tcp" else "u1",
                local_ip=host, ruri_host=None if use_du else uas_hp)
        errors += uac_errors(r, calls, "OK", label + " UAC")
        ur = uas.wait()
        if ur.rc != 0 or ur.successful != calls:
            errors.append("%s UAS (checks X-Osprey: yes): %s"
                          % (label, ur.describe()))
        if not srv.wait_log(r"e2e: SIP_REPLY reply 200 passing through",
                            since=mark, timeout=2):
            errors.append("%s: ksr_reply_route did not log the reply"
                          % label)
        if not srv.alive():
            errors.append("%s: server died" % label)
        srv.stop()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=60)
def py_script_error_500(ctx):
    """Python: an exception in the script, a bad KSR argument (TypeError)
    and an unknown KSR function (AttributeError) give 500 and a log line
    with file:line and the traceback; the server keeps answering."""
    script = ctx.script("py_script_error.py")
    srv = ctx.server(script)
    errors = []
    for user, line in PY_SCRIPT_ERROR_LINES.items():
        mark = srv.mark()
        r = uac(ctx, srv.addr, 500, calls=2, service=user)
        errors += uac_errors(r, 2, None, "R-URI user %s" % user)
        where = "py_script_error.py:%d" % line
        tb = 'py_script_error.py", line %d, in ksr_request_route' % line
        for what in (where, tb):
            if not srv.wait_log(re.escape(what), since=mark, timeout=2):
                errors.append("%s: no log line mentions %s; logged:\n%s" % (
                    user, what, "\n".join("    | " + l for l in
                                          srv.lines_since(mark)[-10:])))
        if user == "badarg" and not srv.wait_log(
                r"TypeError: KSR\.sl\.sl_send_reply\(\) takes 2 arguments",
                since=mark, timeout=0.5):
            errors.append("badarg: the log does not name the failing call")
        if user == "callnil" and not srv.wait_log(
                r"AttributeError: .*no_such_function", since=mark,
                timeout=0.5):
            errors.append("callnil: the log does not name the attribute")
        if not srv.alive():
            errors.append("server died after %s" % user)
            break
    srv.expect_alive()
    r = uac(ctx, srv.addr, 200, calls=3, service="fine")
    errors += uac_errors(r, 3, "OK", "OPTIONS afterwards")
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=150)
def py_reload_under_load(ctx):
    """Python: 20 app_python3.reload / app_python.reload (OK-A/OK-B) plus
    one broken script during 20 s of sipp load (100 cps over UDP, 50 over
    TCP): no request unanswered, both versions seen, the broken one
    rejected with file:line while the old one keeps running."""
    script = ctx.script("py_reload.py", REASON="OK-A")
    srv = ctx.server(script)
    calls, rate = 2000, 100
    load = ctx.sipp("uac_options", remote=srv.addr, calls=calls, rate=rate,
                    subst={"EXPECT": 200}, timeout=90, recv_timeout=5000,
                    background=True, trace_msg=False)
    tcp_load = ctx.sipp("uac_options", remote=srv.addr, calls=calls // 2,
                        rate=rate // 2, transport="t1", subst={"EXPECT": 200},
                        timeout=90, recv_timeout=5000, background=True,
                        trace_msg=False)
    errors = []
    current = "OK-A"
    time.sleep(0.5)
    sdir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")
    with open(os.path.join(sdir, "py_reload_broken.py")) as f:
        broken = f.read()
    with open(os.path.join(sdir, "py_reload.py")) as f:
        template = f.read()
    for i in range(20):
        # both RPC names: Kamailio 5.6 registers app_python.*, its docs
        # say app_python3.*
        rpc = "app_python3.reload" if i % 2 else "app_python.reload"
        if i == 10:
            ctx.write_file("py_reload.py", broken)
            ok, out, rc = srv.ctl(rpc)
            if ok:
                errors.append("reload of a broken script answered success: %s"
                              % out.strip())
            elif not re.search(r"py_reload\.py:4\b.*SyntaxError", out):
                errors.append("broken reload: the error does not name "
                              "py_reload.py:4 and SyntaxError: %s"
                              % out.strip())
            time.sleep(0.5)  # the broken file stays on disk meanwhile
            sl = probe(srv, "after-broken")
            if sl != "SIP/2.0 200 %s" % current:
                errors.append("after the broken reload: got %r, want the "
                              "previous version (200 %s)" % (sl, current))
        current = "OK-B" if current == "OK-A" else "OK-A"
        # same line numbers as the template: the version goes at the end
        ctx.write_file("py_reload.py", template.replace("@REASON@", current)
                       + "# version %d\n" % i)
        ok, out, rc = srv.ctl(rpc)
        if not ok:
            errors.append("reload %d (%s) failed: %s" % (i, rpc, out.strip()))
        time.sleep(0.9)
        if not srv.alive():
            break
    r = load.wait()
    srv.expect_alive("during reloads")
    errors += uac_errors(r, calls, None, "load")
    if r.stat("Retransmissions") > 0:
        ctx.note("%d requests were retransmitted by sipp (no answer within "
                 "500 ms)" % r.stat("Retransmissions"))
    rt = tcp_load.wait()
    errors += uac_errors(rt, calls // 2, None, "TCP load")
    reasons = r.reasons() + rt.reasons()
    counts = {x: reasons.count(x) for x in set(reasons)}
    ctx.note("reason phrases seen: %s" % counts)
    for want in ("OK-A", "OK-B"):
        if not counts.get(want):
            errors.append("reason %s never seen (saw %s)" % (want, counts))
    others = set(counts) - {"OK-A", "OK-B"}
    if others:
        errors.append("unexpected reason phrases: %s" % sorted(others))
    sl = probe(srv, "final")
    if sl != "SIP/2.0 200 %s" % current:
        errors.append("after the last reload: got %r, want 200 %s"
                      % (sl, current))
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=60)
def py_import_stdlib(ctx):
    """Python: a script importing json, re, hashlib and a Debian python3-*
    package (pure Python, when one is installed) routes with them: the
    reason phrase carries a sha256 of the R-URI user."""
    import hashlib
    # pure-Python Debian packages only: C extensions such as PyYAML's
    # _yaml leak at exit by themselves, which the ASan run would report
    dist = "/usr/lib/python3/dist-packages"
    pkg = next((p for p in ("six", "distro", "toml", "xmltodict", "pyparsing")
                if os.path.exists(os.path.join(dist, p + ".py")) or
                os.path.isdir(os.path.join(dist, p))), "")
    if not pkg:
        ctx.note("no pure-Python python3-* package installed: the "
                 "dist-packages import is not checked")
    srv = ctx.server(ctx.script("py_stdlib.py", PKG=pkg))
    errors = []
    for user in ("alice", "bob"):
        want = "PY %s %s %s" % (user, hashlib.sha256(user.encode())
                                .hexdigest()[:8], pkg or "nopkg")
        r = uac(ctx, srv.addr, 200, calls=2, service=user)
        errors += uac_errors(r, 2, want, "user %s" % user)
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=60)
def py_config_file(ctx):
    """Python from a kamailio.cfg: loadmodule "app_python.so" with
    modparam("app_python", "load" / "mod_init_function" /
    "child_init_method" / "release_gil" 0) and cfgengine "python" answers;
    app_python.reload and app_python.api_list work."""
    script = ctx.script("py_maxfwd.py")
    port = free_port()
    cfg = ctx.script("py_python.cfg", LISTEN="127.0.0.1", PORT=port,
                     SCRIPT=script)
    srv = ctx.server(cfg, listens=[], wait_ports=[("udp", "127.0.0.1", port)])
    errors = []
    r = uac(ctx, srv.addr, 200, calls=3)
    errors += uac_errors(r, 3, "OK", "udp")
    r = uac(ctx, srv.addr, 483, calls=2, keys={"maxfwd": "0"})
    errors += uac_errors(r, 2, "Too Many Hops", "Max-Forwards 0")
    ok, out, rc = srv.ctl("app_python.reload")
    if not ok or '"generation"' not in out:
        errors.append("app_python.reload: %s" % out.strip())
    ok, out, rc = srv.ctl("app_python.api_list")
    if not ok or '"process_maxfwd"' not in out:
        errors.append("app_python.api_list lacks maxfwd.process_maxfwd: %s"
                      % out.strip()[:200])
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=120)
def reg_load_2000(ctx):
    """2,000 distinct users register at a steady 400/s (sipp, injection
    file): no failure, and ul.dump and the usrloc counters show 2,000
    bindings."""
    users = ["load%04d" % i for i in range(2000)]
    csv = ctx.write_file("load.csv", "SEQUENTIAL\n" +
                         "".join("%s;\n" % u for u in users))
    srv = reg_server(ctx)
    before = srv.stats()
    r = ctx.sipp("reg_bulk", remote=srv.addr, calls=2000, rate=400,
                 timeout=90, extra=["-inf", csv], trace_msg=False)
    errors = uac_errors(r, 2000, None, "2000 REGISTERs at 400/s")
    d = reg_dump(srv)
    if len(d) != 2000 or any(u not in d for u in users):
        errors.append("ul.dump lists %d AoRs, want the 2000 users" % len(d))
    st = srv.stats()
    for k in ("usrloc:location-contacts", "usrloc:registered_users"):
        if st.get(k) != 2000:
            errors.append("%s = %r, want 2000" % (k, st.get(k)))
    acc = counter_deltas(before, st, r"^registrar:").get(
        "registrar:accepted_regs")
    # sipp retransmits a REGISTER whose 200 is late (a loaded machine), and
    # each retransmission is accepted again: at least one per user
    if acc is None or acc < 2000:
        errors.append("registrar:accepted_regs moved by %r, want >= 2000" % acc)
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=240)
def bench_smoke(ctx):
    """The benchmark harness (bench/run) end to end on the Osprey side only,
    with tiny counts: every workload Osprey has modules for runs its warm-up,
    latency, CPU and rate-step phases without a failed call, the memory run
    registers its contacts, and the JSON and markdown reports are written.
    Keeps `make bench` from rotting; no figure is checked (timing never
    goes into make test)."""
    import glob
    from harness import ROOT
    out = ctx.path("results")
    r = ctx.run(["python3", os.path.join(ROOT, "bench", "run"),
                 "--profile", "smoke", "--servers", "osprey",
                 "--osprey", ctx.osprey, "--no-install", "--workers", "2",
                 "--phases", "load,memory", "--results", out,
                 "--work", ctx.path("work"), "--no-results-md"],
                timeout=220)
    ctx.write_file("bench.out", r.stdout + r.stderr)
    check(r.returncode == 0, "bench/run exited %d:\n%s" % (
        r.returncode, (r.stdout + r.stderr)[-3000:]))
    reports = sorted(f for f in os.listdir(out) if f.endswith(".json"))
    check(len(reports) == 1, "want one JSON report in %s, got %r" % (
        out, os.listdir(out)))
    with open(os.path.join(out, reports[0])) as f:
        res = json.load(f)
    errors = []
    rows = res.get("rows", {})
    if "lua/options" not in rows:
        errors.append("no lua/options row; skipped: %r" % res.get("skipped"))
    for key, row in rows.items():
        side = row.get("floor" if key == "floor" else "osprey") or {}
        if side.get("error"):
            errors.append("%s: %s" % (key, side["error"][:300]))
            continue
        cpu = side.get("cpu_run", {})
        if cpu.get("successful") != cpu.get("calls") or cpu.get("failed"):
            errors.append("%s: CPU run not all successful: %r" % (key, cpu))
        if not side.get("cpu_ms_per_1000_tx", 0) > 0:
            errors.append("%s: no CPU time measured" % key)
        if not side.get("steps") or side.get("max_rate") is None:
            errors.append("%s: the rate step failed: %r" % (
                key, side.get("steps")))
        if side.get("exit_code") not in (0, None):
            errors.append("%s: server exit code %r" % (
                key, side.get("exit_code")))
    for s in res.get("skipped", []):
        if "lacks" not in s.get("why", "") and "no script" not in \
                s.get("why", ""):
            errors.append("unexpected skip: %r" % s)
        else:
            ctx.note("skipped %s/%s: %s" % (s["engine"], s["workload"],
                                             s["why"]))
    mem = res.get("memory", {}).get("lua", {}).get("osprey")
    if "lua/register" in rows:
        if not mem or mem.get("error"):
            errors.append("memory run: %r" % mem)
        elif mem.get("run", {}).get("successful") != mem.get("contacts"):
            errors.append("memory run: %r of %r contacts registered" % (
                mem.get("run", {}).get("successful"), mem.get("contacts")))
    md = os.path.join(out, reports[0][:-5] + ".md")
    check(os.path.exists(md), "no markdown summary next to the JSON")
    with open(md) as f:
        text = f.read()
    if "| lua | options |" not in text:
        errors.append("the summary has no lua/options row")
    for log in glob.glob(ctx.path("work", "osprey-*.log")):
        with open(log, errors="replace") as f:
            t = f.read()
        for pat in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
            if pat in t:
                errors.append("%s contains %r" % (os.path.basename(log), pat))
    check(not errors, "\n  ".join(errors))


# ---------------------------------------------------------------- native
# The native routing language (kamailio.cfg route blocks, no cfgengine).


def native_fwd_cases():
    """(label, host, UAC transport, transport to the UAS, via $du)."""
    cases = [("udp_ruri", "127.0.0.1", "udp", "udp", False),
             ("udp_du", "127.0.0.1", "udp", "udp", True),
             ("tcp_du", "127.0.0.1", "tcp", "tcp", True),
             ("tcp_ruri", "127.0.0.1", "tcp", "tcp", False)]
    if have_ipv6():
        cases.append(("udp6_du", "::1", "udp", "udp", True))
    return cases


@e2e_test(timeout=120)
def native_basic(ctx):
    """Native route blocks: OPTIONS -> 200 over UDP and TCP, Max-Forwards
    0 -> 483, append_hf + forward() to a sipp UAS (R-URI and $du, UDP and
    TCP) with its 200 back by Via."""
    errors = []
    srv = ctx.server(ctx.script("native_basic.cfg", DST=""))
    r = uac(ctx, srv.addr, 200, calls=5)
    errors += uac_errors(r, 5, "OK", "OPTIONS udp")
    r = uac(ctx, srv.addr, 200, calls=5, transport="t1")
    errors += uac_errors(r, 5, "OK", "OPTIONS tcp")
    r = uac(ctx, srv.addr, 483, calls=3, keys={"maxfwd": "0"})
    errors += uac_errors(r, 3, "Too Many Hops", "Max-Forwards 0")
    srv.stop()
    calls = 3
    for label, host, uac_proto, proto, use_du in native_fwd_cases():
        uas_port = free_port(host)
        uas_hp = hostport(host, uas_port)
        dst = "sip:%s;transport=%s" % (uas_hp, proto) if use_du else ""
        cfg = ctx.script("native_basic.cfg", "native-%s.cfg" % label, DST=dst)
        port = free_port(host)
        hp = hostport(host, port)
        srv = ctx.server(cfg, ["udp:" + hp, "tcp:" + hp])
        uas = ctx.sipp("uas_expect_hdr", local_ip=host,
                       transport="t1" if proto == "tcp" else "u1",
                       calls=calls, port=uas_port, timeout=20,
                       recv_timeout=15000, background=True)
        time.sleep(0.3)  # let the UAS bind
        # without $du the R-URI names the UAS (not myself)
        ruri = None if use_du else uas_hp
        r = uac(ctx, hp, 200, calls=calls, rate=20,
                transport="t1" if uac_proto == "tcp" else "u1",
                local_ip=host, ruri_host=ruri,
                service="fwd" if use_du else "service")
        errors += uac_errors(r, calls, "OK", label + " UAC")
        ur = uas.wait()
        if ur.rc != 0 or ur.successful != calls:
            errors.append("%s UAS (checks X-Osprey: yes): %s"
                          % (label, ur.describe()))
        if not srv.alive():
            errors.append("%s: server died" % label)
        elif not srv.wait_log(r"e2e: reply 200 OK passing through",
                              timeout=2):
            errors.append("%s: reply_route did not log the reply" % label)
        srv.stop()
    check(not errors, "\n  ".join(errors))


NATIVE_BROKEN = {
    # name: (route body lines, line, col, message fragment); the body starts
    # at line 5 of the file
    "unknown_function": (["\tno_such_function();"], 5, 2,
                         "unknown function no_such_function()"),
    "param_count": (["\tsl_send_reply(\"404\");"], 5, 2,
                    "sl_send_reply() takes 2 parameters, got 1"),
    "unknown_pv": (["\t$var(x) = $nope;"], 5, 12,
                   "unknown pseudo-variable $nope"),
    "read_only": (["\t$ci = \"x\";"], 5, 2, "$ci is read-only"),
    "int_param": (["\tsl_send_reply(\"abc\", \"x\");"], 5, 16,
                  "must be an integer"),
    "bad_regex": (["\tif ($ru =~ \"(\") { exit; }"], 5, 10,
                  "invalid regular expression"),
    "no_route": (["\troute(MISSING);"], 5, 8, "route[MISSING] is not defined"),
    "missing_semicolon": (["\texit", "\tdrop;"], 6, 2, "expected ';'"),
    "break_outside": (["\tbreak;"], 5, 2, "'break' outside"),
    "not_loaded": (["\tt_relay();"], 5, 2, "t_relay() needs module tm"),
}


@e2e_test(timeout=60)
def native_errors(ctx):
    """osprey -c refuses configurations whose route blocks do not compile,
    with file:line:column and the reason, for ten kinds of error; a good
    one passes."""
    errors = []
    head = ("#!KAMAILIO\nloadmodule \"sl.so\"\nloadmodule \"xlog.so\"\n"
            "request_route {\n")
    for name, (body, line, col, frag) in sorted(NATIVE_BROKEN.items()):
        path = ctx.write_file("broken-%s.cfg" % name,
                              head + "\n".join(body) + "\n}\n")
        r = ctx.run([ctx.osprey, "-c", "-f", path], timeout=10)
        out = r.stdout + r.stderr
        want = "broken-%s.cfg:%d:%d: " % (name, line, col)
        if r.returncode == 0:
            errors.append("%s: accepted" % name)
        elif want not in out or frag not in out:
            errors.append("%s: want %r and %r in %r" % (name, want, frag,
                                                       out.strip()[-300:]))
    path = ctx.write_file("good.cfg", head + "\tsl_send_reply(\"200\", "
                          "\"OK\");\n}\n")
    r = ctx.run([ctx.osprey, "-c", "-f", path], timeout=10)
    if r.returncode != 0 or "engine native" not in r.stdout:
        errors.append("good config: exit %s, output %r" % (
            r.returncode, (r.stdout + r.stderr).strip()[-300:]))
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=60)
def native_script_error(ctx):
    """A runaway route() recursion is a script error: the request gets 500,
    the log names the position, and the server goes on answering."""
    srv = ctx.server(ctx.script("native_script_error.cfg"))
    mark = srv.mark()
    r = uac(ctx, srv.addr, 500, calls=2, service="loop")
    errors = uac_errors(r, 2, None, "loop")
    line = srv.wait_log(r"native_script_error\.cfg:\d+:\d+: route\[LOOP\]: "
                        r"more than \d+ nested", since=mark, timeout=3)
    if not line:
        errors.append("no log line naming the recursion's position")
    r = uac(ctx, srv.addr, 200, calls=2)
    errors += uac_errors(r, 2, "OK", "after the errors")
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


def native_reload_cfg(ctx, reason, bufsize=4096, extra=""):
    """Rewrite native_reload.cfg in the work dir."""
    sdir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")
    with open(os.path.join(sdir, "native_reload.cfg")) as f:
        text = f.read()
    text = text.replace("@REASON@", reason).replace("@BUFSIZE@", str(bufsize))
    return ctx.write_file("native_reload.cfg", text + extra)


def native_wait_reason(srv, want, timeout=3.0):
    deadline = time.time() + timeout
    sl = None
    while time.time() < deadline:
        sl = probe(srv)
        if sl == "SIP/2.0 200 " + want:
            break
        time.sleep(0.05)
    return sl


@e2e_test(timeout=90)
def native_reload(ctx):
    """cfg.reload and SIGHUP reload the route blocks; a reload that changes
    a module parameter or a global parameter is refused naming it, one with
    a syntax error is refused with file:line:col, and the running blocks
    keep answering each time."""
    errors = []
    path = native_reload_cfg(ctx, "OK-A")
    srv = ctx.server(path)
    if probe(srv) != "SIP/2.0 200 OK-A":
        errors.append("first OPTIONS not 200 OK-A")
    native_reload_cfg(ctx, "OK-B")
    ok, out, rc = srv.ctl("cfg.reload")
    if not ok:
        errors.append("cfg.reload of a new route block failed: %s"
                      % out.strip())
    sl = native_wait_reason(srv, "OK-B")
    if sl != "SIP/2.0 200 OK-B":
        errors.append("after cfg.reload: %r, want 200 OK-B" % sl)
    # a module parameter changed: refused, named
    native_reload_cfg(ctx, "OK-C", bufsize=8192)
    ok, out, rc = srv.ctl("cfg.reload")
    if ok:
        errors.append("a modparam change was accepted: %s" % out.strip())
    elif 'modparam(\\"xlog\\", \\"buf_size\\")' not in out and \
            'modparam("xlog", "buf_size")' not in out:
        errors.append("modparam change: the error does not name it: %s"
                      % out.strip())
    # a global parameter changed: refused, named
    text = open(native_reload_cfg(ctx, "OK-C")).read()
    ctx.write_file("native_reload.cfg", text.replace("children=2",
                                                     "children=3"))
    ok, out, rc = srv.ctl("cfg.reload")
    if ok or "children" not in out:
        errors.append("children change: ok=%s %s" % (ok, out.strip()))
    # a syntax error: refused with its position
    text = open(native_reload_cfg(ctx, "OK-C")).read()
    ctx.write_file("native_reload.cfg", text.replace(
        '\tsl_send_reply("200", "$var(reason)");',
        '\tsl_send_reply("200", "$var(reason)")\n\tbogus;'))
    ok, out, rc = srv.ctl("cfg.reload")
    if ok or not re.search(r"native_reload\.cfg:17:2: expected ';'", out):
        errors.append("syntax error: ok=%s %s" % (ok, out.strip()))
    sl = probe(srv)
    if sl != "SIP/2.0 200 OK-B":
        errors.append("after the refused reloads: %r, want 200 OK-B" % sl)
    # SIGHUP
    native_reload_cfg(ctx, "OK-D")
    srv.send_signal(signal.SIGHUP)
    sl = native_wait_reason(srv, "OK-D")
    if sl != "SIP/2.0 200 OK-D":
        errors.append("after SIGHUP: %r, want 200 OK-D" % sl)
    mark = srv.mark()
    native_reload_cfg(ctx, "OK-E", bufsize=1024)
    srv.send_signal(signal.SIGHUP)
    if not srv.wait_log(r'buf_size.*restart', since=mark, timeout=3):
        errors.append("SIGHUP with a modparam change: no log line naming it")
    if probe(srv) != "SIP/2.0 200 OK-D":
        errors.append("after a refused SIGHUP reload: the old blocks are gone")
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=150)
def native_reload_under_load(ctx):
    """20 cfg.reload (OK-A/OK-B) plus refused ones (a syntax error, a
    modparam change) during 20 s of sipp load (100 cps over UDP, 50 over
    TCP): no request unanswered, both versions seen."""
    srv = ctx.server(native_reload_cfg(ctx, "OK-A"))
    calls, rate = 2000, 100
    load = ctx.sipp("uac_options", remote=srv.addr, calls=calls, rate=rate,
                    subst={"EXPECT": 200}, timeout=90, recv_timeout=5000,
                    background=True, trace_msg=False)
    tcp_load = ctx.sipp("uac_options", remote=srv.addr, calls=calls // 2,
                        rate=rate // 2, transport="t1", subst={"EXPECT": 200},
                        timeout=90, recv_timeout=5000, background=True,
                        trace_msg=False)
    errors = []
    current = "OK-A"
    time.sleep(0.5)
    for i in range(20):
        if i in (7, 13):
            if i == 7:
                text = open(native_reload_cfg(ctx, "BAD")).read()
                ctx.write_file("native_reload.cfg",
                               text.replace("$var(reason) = ",
                                            "$var(reason) = = "))
                want = r"native_reload\.cfg:\d+:\d+: "
            else:
                native_reload_cfg(ctx, "BAD", bufsize=2048)
                want = r"buf_size"
            ok, out, rc = srv.ctl("cfg.reload")
            if ok or not re.search(want, out):
                errors.append("refused reload %d: ok=%s %s" % (
                    i, ok, out.strip()))
            time.sleep(0.3)
            sl = probe(srv, "after-refused")
            if sl != "SIP/2.0 200 %s" % current:
                errors.append("after the refused reload %d: %r, want 200 %s"
                              % (i, sl, current))
        current = "OK-B" if current == "OK-A" else "OK-A"
        native_reload_cfg(ctx, current, extra="# version %d\n" % i)
        ok, out, rc = srv.ctl("cfg.reload")
        if not ok:
            errors.append("reload %d failed: %s" % (i, out.strip()))
        time.sleep(0.9)
        if not srv.alive():
            break
    r = load.wait()
    srv.expect_alive("during reloads")
    errors += uac_errors(r, calls, None, "load")
    rt = tcp_load.wait()
    errors += uac_errors(rt, calls // 2, None, "TCP load")
    reasons = r.reasons() + rt.reasons()
    counts = {x: reasons.count(x) for x in set(reasons)}
    ctx.note("reason phrases seen: %s" % counts)
    for want in ("OK-A", "OK-B"):
        if not counts.get(want):
            errors.append("reason %s never seen (saw %s)" % (want, counts))
    others = set(counts) - {"OK-A", "OK-B"}
    if others:
        errors.append("unexpected reason phrases: %s" % sorted(others))
    sl = probe(srv, "final")
    if sl != "SIP/2.0 200 %s" % current:
        errors.append("after the last reload: %r, want 200 %s" % (sl, current))
    check(not errors, "\n  ".join(errors))


# ---------------------------------------------------------------- JavaScript
# The JavaScript engine (src/engines/js, module app_jsdt): the same checks
# as the Lua tests above, with scripts/js_*.js.

# (file, line) of the faulty statement per R-URI user in js_script_error.js
JS_SCRIPT_ERROR_LINES = {
    "undef": ("js_script_error.js", 10, "TypeError"),
    "badarg": ("js_script_error.js", 12, "TypeError: KSR.sl.sl_send_reply"),
    "callnil": ("js_script_error.js", 14, "TypeError"),
    "thrown": ("js_script_error.js", 16, "Error: thrown on purpose"),
    "inlib": ("js_script_error_lib.js", 4, "TypeError"),
    "deep": ("js_script_error_lib.js", 7, "RangeError"),
}


@e2e_test(timeout=60)
def js_options_200(ctx):
    """JavaScript: OPTIONS -> 200 OK (sl_send_reply) over UDP and TCP, the
    engine picked by the .js extension."""
    srv = ctx.server(ctx.script("js_options.js"))
    errors = []
    for label, t in (("udp", "u1"), ("tcp", "t1")):
        r = uac(ctx, srv.addr, 200, calls=5, transport=t)
        errors += uac_errors(r, 5, "OK", label)
    ok, out, rc = srv.ctl("engine.list")
    if not ok or '"jsdt"' not in out:
        errors.append("engine.list does not name jsdt: %s" % out.strip())
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=60)
def js_maxfwd_483(ctx):
    """JavaScript: Max-Forwards: 0 -> 483 (process_maxfwd, KSR.x.exit),
    70 -> 200; the same from a kamailio.cfg with cfgengine "jsdt"."""
    errors = []
    srv = ctx.server(ctx.script("js_maxfwd.js"))
    r = uac(ctx, srv.addr, 483, calls=3, keys={"maxfwd": "0"})
    errors += uac_errors(r, 3, "Too Many Hops", "Max-Forwards 0")
    r = uac(ctx, srv.addr, 200, calls=3, keys={"maxfwd": "70"})
    errors += uac_errors(r, 3, "OK", "Max-Forwards 70")
    srv.expect_alive()
    srv.stop()
    port = free_port()
    cfg = ctx.script("js_osprey.cfg", LISTEN="127.0.0.1", PORT=port,
                     SCRIPT=ctx.path("js_maxfwd.js"))
    srv = ctx.server(cfg, listens=[], wait_ports=[
        ("udp", "127.0.0.1", port), ("tcp", "127.0.0.1", port)])
    r = uac(ctx, srv.addr, 483, calls=2, keys={"maxfwd": "0"})
    errors += uac_errors(r, 2, "Too Many Hops", "cfg: Max-Forwards 0")
    r = uac(ctx, srv.addr, 200, calls=2, transport="t1")
    errors += uac_errors(r, 2, "OK", "cfg: TCP")
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=90)
def js_hdr_append_forward(ctx):
    """JavaScript: KSR.hdr.append (and its alias append_hf) + stateless
    forward to a sipp UAS that checks the header, and back by Via."""
    # (label, transport UAC->osprey, transport osprey->UAS, via $du, fn)
    cases = [("udp_ruri", "udp", "udp", False, "append"),
             ("udp_du_append_hf", "udp", "udp", True, "append_hf"),
             ("tcp_du", "tcp", "tcp", True, "append"),
             ("udp_to_tcp_du", "udp", "tcp", True, "append")]
    errors = []
    calls = 3
    host = "127.0.0.1"
    for label, uac_proto, proto, use_du, fn in cases:
        uas_port = free_port(host)
        uas_hp = hostport(host, uas_port)
        dst = "sip:%s;transport=%s" % (uas_hp, proto) if use_du else ""
        script = ctx.script("js_forward.js", "js_forward-%s.js" % label,
                            DST=dst, APPEND=fn)
        port = free_port(host)
        hp = hostport(host, port)
        srv = ctx.server(script, ["udp:" + hp, "tcp:" + hp])
        t = "t1" if proto == "tcp" else "u1"
        uas = ctx.sipp("uas_expect_hdr", local_ip=host, transport=t,
                       calls=calls, port=uas_port, timeout=20,
                       recv_timeout=15000, background=True)
        time.sleep(0.3)  # let the UAS bind
        r = uac(ctx, hp, 200, calls=calls, rate=20,
                transport="t1" if uac_proto == "tcp" else "u1",
                local_ip=host, ruri_host=None if use_du else uas_hp)
        errors += uac_errors(r, calls, "OK", label + " UAC")
        ur = uas.wait()
        if ur.rc != 0 or ur.successful != calls:
            errors.append("%s UAS (checks X-Osprey: yes): %s"
                          % (label, ur.describe()))
        if not srv.alive():
            errors.append("%s: server died" % label)
        srv.stop()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=90)
def js_script_error_500(ctx):
    """JavaScript: runtime errors (undefined property, bad KSR argument,
    calling undefined, a thrown Error, an error inside a require()d file,
    call-stack exhaustion) give 500 and a log line with file:line and the
    stack; the server keeps answering."""
    ctx.script("js_script_error_lib.js")
    srv = ctx.server(ctx.script("js_script_error.js"))
    errors = []
    for user, (fname, line, what) in JS_SCRIPT_ERROR_LINES.items():
        mark = srv.mark()
        r = uac(ctx, srv.addr, 500, calls=2, service=user)
        errors += uac_errors(r, 2, None, "R-URI user %s" % user)
        where = r"%s:%d: %s" % (re.escape(fname), line, re.escape(what))
        if not srv.wait_log(where, since=mark, timeout=2):
            errors.append("%s: no log line matches %r; logged:\n%s" % (
                user, where, "\n".join("    | " + l for l in
                                       srv.lines_since(mark)[-10:])))
        # the stack names the route function and the script's line (not
        # for "deep": its 10 frames shown are all the recursive function)
        stack = r"at ksr_request_route \(.*js_script_error\.js:\d+\)"
        if user != "deep" and not srv.wait_log(stack, since=mark,
                                               timeout=0.5):
            errors.append("%s: no stack frame of ksr_request_route" % user)
        if not srv.alive():
            errors.append("server died after %s" % user)
            break
        time.sleep(1.0)  # script errors are rate-limited per second
    srv.expect_alive()
    r = uac(ctx, srv.addr, 200, calls=3, service="fine")
    errors += uac_errors(r, 3, "OK", "OPTIONS afterwards")
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=60)
def js_require_reload(ctx):
    """JavaScript: routing split into files with require(); a reload
    re-reads the required file, and a syntax error in it is refused with
    its own file:line while the old version keeps answering."""
    os.makedirs(ctx.path("js_require_lib"), exist_ok=True)
    lib = "js_require_lib/reason.js"
    ctx.write_file(lib, "// the reason phrase\n"
                   "exports.phrase = function () { return 'From-Lib-1'; };\n")
    srv = ctx.server(ctx.script("js_require.js"))
    errors = []
    sl = probe(srv)
    if sl != "SIP/2.0 200 From-Lib-1":
        errors.append("first version: %r, want 200 From-Lib-1" % sl)
    ctx.write_file(lib, "// the reason phrase\n"
                   "exports.phrase = function () {\n"
                   "\treturn 'From-Lib-2' +;\n};\n")
    ok, out, rc = srv.ctl("app_jsdt.reload")
    if ok:
        errors.append("reload with a broken module answered success: %s"
                      % out.strip())
    elif not re.search(r"js_require_lib/reason\.js:3\b", out):
        errors.append("broken module: the error does not name "
                      "js_require_lib/reason.js:3: %s" % out.strip())
    sl = probe(srv)
    if sl != "SIP/2.0 200 From-Lib-1":
        errors.append("after the refused reload: %r, want 200 From-Lib-1"
                      % sl)
    ctx.write_file(lib, "exports.phrase = function () "
                   "{ return 'From-Lib-2'; };\n")
    ok, out, rc = srv.ctl("app_jsdt.reload")
    if not ok:
        errors.append("good reload: %s" % out.strip())
    deadline = time.time() + 2
    while time.time() < deadline and probe(srv) != "SIP/2.0 200 From-Lib-2":
        time.sleep(0.05)
    sl = probe(srv)
    if sl != "SIP/2.0 200 From-Lib-2":
        errors.append("after the good reload: %r, want 200 From-Lib-2" % sl)
    ok, out, rc = srv.ctl("app_jsdt.api_list")
    if not ok or '"sl_send_reply"' not in out:
        errors.append("app_jsdt.api_list: %s" % out.strip()[:200])
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=150)
def js_reload_under_load(ctx):
    """JavaScript: 20 app_jsdt.reload (OK-A/OK-B) plus one broken script
    during 20 s of sipp load (100 cps over UDP, 50 over TCP): no request
    unanswered, both versions seen, the broken one rejected with file:line
    while the old one keeps running."""
    script = ctx.script("js_reload.js", REASON="OK-A")
    srv = ctx.server(script)
    calls, rate = 2000, 100
    load = ctx.sipp("uac_options", remote=srv.addr, calls=calls, rate=rate,
                    subst={"EXPECT": 200}, timeout=90, recv_timeout=5000,
                    background=True, trace_msg=False)
    tcp_load = ctx.sipp("uac_options", remote=srv.addr, calls=calls // 2,
                        rate=rate // 2, transport="t1", subst={"EXPECT": 200},
                        timeout=90, recv_timeout=5000, background=True,
                        trace_msg=False)
    errors = []
    current = "OK-A"
    time.sleep(0.5)
    sdir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")
    with open(os.path.join(sdir, "js_reload_broken.js")) as f:
        broken = f.read()
    with open(os.path.join(sdir, "js_reload.js")) as f:
        template = f.read()
    for i in range(20):
        if i == 10:
            ctx.write_file("js_reload.js", broken)
            ok, out, rc = srv.ctl("app_jsdt.reload")
            if ok:
                errors.append("reload of a broken script answered success: %s"
                              % out.strip())
            elif not re.search(r"js_reload\.js:4\b", out):
                errors.append("broken reload: the error does not name "
                              "js_reload.js:4: %s" % out.strip())
            time.sleep(0.5)  # the broken file stays on disk meanwhile
            sl = probe(srv, "after-broken")
            if sl != "SIP/2.0 200 %s" % current:
                errors.append("after the broken reload: got %r, want the "
                              "previous version (200 %s)" % (sl, current))
        current = "OK-B" if current == "OK-A" else "OK-A"
        # same line numbers as the template: the version goes at the end
        ctx.write_file("js_reload.js", template.replace("@REASON@", current)
                       + "// version %d\n" % i)
        ok, out, rc = srv.ctl("app_jsdt.reload")
        if not ok:
            errors.append("reload %d failed: %s" % (i, out.strip()))
        time.sleep(0.9)
        if not srv.alive():
            break
    r = load.wait()
    srv.expect_alive("during reloads")
    errors += uac_errors(r, calls, None, "load")
    if r.stat("Retransmissions") > 0:
        ctx.note("%d requests were retransmitted by sipp (no answer within "
                 "500 ms)" % r.stat("Retransmissions"))
    rt = tcp_load.wait()
    errors += uac_errors(rt, calls // 2, None, "TCP load")
    reasons = r.reasons() + rt.reasons()
    counts = {x: reasons.count(x) for x in set(reasons)}
    ctx.note("reason phrases seen: %s" % counts)
    for want in ("OK-A", "OK-B"):
        if not counts.get(want):
            errors.append("reason %s never seen (saw %s)" % (want, counts))
    others = set(counts) - {"OK-A", "OK-B"}
    if others:
        errors.append("unexpected reason phrases: %s" % sorted(others))
    sl = probe(srv, "final")
    if sl != "SIP/2.0 200 %s" % current:
        errors.append("after the last reload: got %r, want 200 %s"
                      % (sl, current))
    check(not errors, "\n  ".join(errors))


# ---------------------------------------------------------------- nathelper
# NAT traversal (module nathelper, with usrloc and registrar):
# nat_nathelper.cfg/.lua is Kamailio's default NAT handling in small. The
# "phones" are plain UDP sockets on 127.0.0.1 that forge private addresses
# in Via, Contact and SDP, so the server sees a NAT: the real source is
# 127.0.0.1:<socket port>, the message claims 192.168.1.x.

import select  # noqa: E402 - this section's own import


def _nat_server(ctx, natping=0):
    script = ctx.script("nat_nathelper.lua")
    cfg = ctx.script("nat_nathelper.cfg", dest="nat-%d.cfg" % ctx.seq(),
                     SCRIPT=script, DB_URL="sqlite://" + ctx.path("nat.db"),
                     NATPING=natping)
    return ctx.server(cfg)


class _NatPhone:
    """A UDP socket on 127.0.0.1 pretending to sit behind a NAT at
    private_ip:5060 (private_ip 127.0.0.1: no NAT, it tells its real
    address and port)."""

    def __init__(self, user, private_ip):
        self.user = user
        self.private = private_ip
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.port = self.s.getsockname()[1]
        self.claimed = "%s:%d" % (private_ip, self.port
                                  if private_ip == "127.0.0.1" else 5060)

    def close(self):
        self.s.close()

    def request(self, srv, method, ruri, extra=(), body="", contact=None,
                via=None):
        """Send a request with the forged Via/Contact (and body)."""
        via = via or self.claimed
        contact = contact or "<sip:%s@%s>" % (self.user, self.claimed)
        hdrs = [
            "%s %s SIP/2.0" % (method, ruri),
            "Via: SIP/2.0/UDP %s;branch=z9hG4bK-nat-%s;rport"
            % (via, uuid.uuid4().hex[:10]),
            "Max-Forwards: 70",
            "From: <sip:%s@osprey.test>;tag=%s" % (self.user,
                                                  uuid.uuid4().hex[:8]),
            "To: <sip:%s@osprey.test>" % (self.user if method == "REGISTER"
                                          else ruri.split(":")[1]
                                          .split("@")[0]),
            "Call-ID: %s@nat-e2e" % uuid.uuid4().hex,
            "CSeq: 1 %s" % method,
            "Contact: %s" % contact,
        ] + list(extra)
        if body:
            hdrs.append("Content-Type: application/sdp")
        hdrs.append("Content-Length: %d" % len(body.encode()))
        data = ("\r\n".join(hdrs) + "\r\n\r\n" + body).encode()
        self.s.sendto(data, (srv.host, srv.port))

    def recv(self, timeout=2.0):
        """The next datagram (bytes) within timeout, or None."""
        self.s.settimeout(timeout)
        try:
            data, _ = self.s.recvfrom(65536)
            return data
        except socket.timeout:
            return None

    def register(self, srv, extra=()):
        """REGISTER for 3600 s; returns the reply (bytes) or None."""
        self.request(srv, "REGISTER", "sip:osprey.test",
                     extra=["Expires: 3600"] + list(extra))
        return self.recv()


def _nat_headers(data):
    """(start line, {lower-case name: [values]}, body) of a SIP message."""
    head, _, body = data.decode(errors="replace").partition("\r\n\r\n")
    lines = head.split("\r\n")
    hdrs = {}
    for ln in lines[1:]:
        name, _, value = ln.partition(":")
        hdrs.setdefault(name.strip().lower(), []).append(value.strip())
    return lines[0], hdrs, body


def _nat_ul(srv, aor):
    """The usrloc contacts of aor (ul.lookup), [] when none."""
    ok, out, rc = srv.ctl("ul.lookup", "location", aor)
    if not ok:
        return []
    try:
        j = json.loads(out)
    except ValueError:
        return []
    j = j.get("result", j) if isinstance(j, dict) else {}
    return [c.get("Contact", {}) for c in j.get("Contacts", [])]


@e2e_test(timeout=60)
def nat_register_call(ctx):
    """A phone behind a NAT (Via, Contact and SDP at 192.168.1.10, really
    127.0.0.1:<port>) registers: nat_uac_test(19) detects it,
    fix_nated_register + save store the received address (ul.lookup shows
    it, the 200 lists it, branch flag 6 kept). A NATed caller's INVITE to
    it then reaches the phone's real socket, with the caller's Contact and
    SDP fixed to its real address (fix_nated_contact, fix_nated_sdp(2))."""
    srv = _nat_server(ctx)
    alice = _NatPhone("alice", "192.168.1.10")
    bob = _NatPhone("bob", "10.20.30.40")
    errors = []
    try:
        rep = alice.register(srv)
        check(rep is not None, "no reply to alice's REGISTER")
        sl, h, _ = _nat_headers(rep)
        want_rcv = 'received="sip:127.0.0.1:%d"' % alice.port
        if not sl.startswith("SIP/2.0 200") or \
                not any(want_rcv in c for c in h.get("contact", [])):
            errors.append("REGISTER answered %r, Contact %r; want 200 with "
                          "%s" % (sl, h.get("contact"), want_rcv))
        cs = _nat_ul(srv, "alice")
        if len(cs) != 1 or \
                cs[0].get("Address") != "sip:alice@192.168.1.10:5060" or \
                cs[0].get("Received") != "sip:127.0.0.1:%d" % alice.port or \
                not int(cs[0].get("CFlags", 0)) & (1 << 6):
            errors.append("ul.lookup alice: %r, want the private Contact "
                          "with Received sip:127.0.0.1:%d and CFlags bit 6"
                          % (cs, alice.port))

        # a phone whose addresses are its real ones is not flagged
        carol = _NatPhone("carol", "127.0.0.1")
        rep = carol.register(srv)
        cs = _nat_ul(srv, "carol")
        if rep is None or len(cs) != 1 or \
                cs[0].get("Received") not in (None, "", "[not set]") or \
                int(cs[0].get("CFlags", 0)) & (1 << 6):
            errors.append("carol (no NAT): %r, want no received address "
                          "and no NAT flag" % cs)
        carol.close()

        sdp = ("v=0\r\no=bob 1 1 IN IP4 10.20.30.40\r\ns=-\r\n"
               "c=IN IP4 10.20.30.40\r\nt=0 0\r\n"
               "m=audio 40000 RTP/AVP 0\r\n")
        bob.request(srv, "INVITE", "sip:alice@osprey.test", body=sdp)
        got = alice.recv(3.0)
        if got is None:
            errors.append("the INVITE to alice never reached her real "
                          "socket 127.0.0.1:%d" % alice.port)
        else:
            sl, h, body = _nat_headers(got)
            want_c = "<sip:bob@127.0.0.1:%d>" % bob.port
            if sl != "INVITE sip:alice@192.168.1.10:5060 SIP/2.0":
                errors.append("request line %r, want the registered "
                              "Contact as R-URI" % sl)
            if h.get("contact") != [want_c]:
                errors.append("Contact %r, want %s (fix_nated_contact)"
                              % (h.get("contact"), want_c))
            if "c=IN IP4 127.0.0.1\r\n" not in body or \
                    "a=oldmediaip:10.20.30.40\r\n" not in body or \
                    "c=IN IP4 10.20.30.40" in body:
                errors.append("SDP not fixed: %r" % body)
            if h.get("content-length") != [str(len(body.encode()))]:
                errors.append("Content-Length %r for a %d-byte body"
                              % (h.get("content-length"), len(body)))
        # an unknown user: 404 to bob's real socket
        bob.request(srv, "INVITE", "sip:nobody@osprey.test")
        rep = bob.recv()
        if rep is None or not rep.startswith(b"SIP/2.0 404"):
            errors.append("INVITE to an unknown user: %r, want 404" %
                          (rep[:40] if rep else rep))
    finally:
        alice.close()
        bob.close()
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


def _nat_collect(phones, seconds, answer=True):
    """Receive on every phone for `seconds`: {user: [(time, bytes)]}.
    SIP requests are answered 200 OK (as a phone would) when answer."""
    got = {p.user: [] for p in phones}
    end = time.time() + seconds
    for p in phones:
        p.s.setblocking(False)
    while time.time() < end:
        r, _, _ = select.select([p.s for p in phones], [], [],
                                max(0.0, end - time.time()))
        for p in phones:
            if p.s not in r:
                continue
            try:
                data, peer = p.s.recvfrom(65536)
            except BlockingIOError:
                continue
            got[p.user].append((time.time(), data))
            if answer and data[:7] in (b"OPTIONS", b"INFO si"):
                _, h, _ = _nat_headers(data)
                rep = ["SIP/2.0 200 OK"]
                for name, hn in (("via", "Via"), ("from", "From"),
                                 ("to", "To"), ("call-id", "Call-ID"),
                                 ("cseq", "CSeq")):
                    for v in h.get(name, []):
                        rep.append("%s: %s" % (hn, v))
                rep.append("Content-Length: 0")
                p.s.sendto(("\r\n".join(rep) + "\r\n\r\n").encode(), peer)
    for p in phones:
        p.s.setblocking(True)
    return got


@e2e_test(timeout=90)
def nat_keepalive(ctx):
    """natping_interval 1, ping_nated_only 1: a NATed contact registered
    with sipping_bflag (7) gets SIP OPTIONS about every second at its
    received address (From sipping_from; its 200s are absorbed, counted by
    nathelper:sipping_replies, not forwarded); one without it gets 4-byte
    zero datagrams; a contact not behind a NAT gets nothing.
    nathelper.enable_ping 0 stops them, 1 resumes them."""
    srv = _nat_server(ctx, natping=1)
    a = _NatPhone("ping_sip", "192.168.1.20")
    b = _NatPhone("ping_udp", "192.168.1.21")
    c = _NatPhone("ping_none", "127.0.0.1")
    phones = [a, b, c]
    errors = []
    try:
        for p, extra in ((a, ["X-Sipping: yes"]), (b, []), (c, [])):
            rep = p.register(srv, extra)
            if rep is None or not rep.startswith(b"SIP/2.0 200"):
                errors.append("REGISTER %s: %r" % (p.user, rep))
        check(not errors, "\n  ".join(errors))
        mark = srv.mark()
        window = 4.5
        got = _nat_collect(phones, window)
        opts = [(t, d) for t, d in got["ping_sip"]]
        bad_a = [d[:40] for t, d in opts if not d.startswith(b"OPTIONS ")]
        if len(opts) < 3 or bad_a:
            errors.append("ping_sip got %d datagrams in %.1f s (%r), want "
                          ">= 3 OPTIONS" % (len(opts), window, bad_a))
        else:
            sl, h, _ = _nat_headers(opts[0][1])
            if sl != "OPTIONS sip:ping_sip@192.168.1.20:5060 SIP/2.0" or \
                    not h.get("from", [""])[0].startswith(
                        "<sip:pinger@osprey.test>;tag=") or \
                    h.get("cseq") != ["1 OPTIONS"]:
                errors.append("keepalive OPTIONS: %r" % opts[0][1][:300])
            gaps = [round(t2 - t1, 2) for (t1, _), (t2, _) in
                    zip(opts, opts[1:])]
            if any(g < 0.5 or g > 1.7 for g in gaps):
                errors.append("OPTIONS intervals %r, want about 1 s" % gaps)
        udp = got["ping_udp"]
        if len(udp) < 3 or any(d != b"\0\0\0\0" for _, d in udp):
            errors.append("ping_udp got %r in %.1f s, want >= 3 datagrams "
                          "of 4 zero bytes" % ([d[:20] for _, d in udp],
                                               window))
        if got["ping_none"]:
            errors.append("ping_none (not behind a NAT) got %r" %
                          [d[:20] for _, d in got["ping_none"]])
        time.sleep(0.3)  # let the last 200 reach the server
        st = srv.stats()
        ctx.note("%d OPTIONS and %d UDP keepalives in %.1f s; %s" % (
            len(opts), len(udp), window,
            ", ".join("%s=%s" % (k, v) for k, v in sorted(st.items())
                      if k.startswith("nathelper:"))))
        if st.get("nathelper:sipping_replies", 0) < len(opts) - 1 or \
                st.get("nathelper:sipping_sent", 0) < len(opts) or \
                st.get("nathelper:udpping_sent", 0) < len(udp):
            errors.append("counters %r after %d OPTIONS answered and %d "
                          "UDP keepalives" % (
                              {k: v for k, v in st.items()
                               if k.startswith("nathelper:")},
                              len(opts), len(udp)))
        leaked = [ln for ln in srv.lines_since(mark)
                  if "reply" in ln and ("drop" in ln or "Via" in ln)]
        if leaked:
            errors.append("keepalive replies not absorbed: %r" % leaked[:3])

        ok, out, rc = srv.ctl("nathelper.enable_ping", 0)
        if not ok:
            errors.append("nathelper.enable_ping 0: %s" % out.strip())
        _nat_collect(phones, 1.2)  # one pass may have been under way
        got = _nat_collect(phones, 2.5)
        if any(got.values()):
            errors.append("keepalives after enable_ping 0: %r" % {
                k: len(v) for k, v in got.items()})
        ok, out, rc = srv.ctl("nathelper.enable_ping", 1)
        got = _nat_collect(phones, 2.5)
        if not got["ping_sip"] or not got["ping_udp"]:
            errors.append("no keepalives after enable_ping 1: %r" % {
                k: len(v) for k, v in got.items()})
        ok, out, rc = srv.ctl("nathelper.enable_ping")
        if ok:
            errors.append("nathelper.enable_ping without a parameter "
                          "succeeded: %s" % out.strip())
    finally:
        for p in phones:
            p.close()
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=30)
def nat_enable_ping_disabled(ctx):
    """Without natping_interval, nathelper.enable_ping answers an error
    (Kamailio: 500 "NATping disabled")."""
    srv = _nat_server(ctx, natping=0)
    ok, out, rc = srv.ctl("nathelper.enable_ping", 1)
    check(not ok and "NATping disabled" in out,
          "nathelper.enable_ping with pinging off: %r" % out.strip())


# ---------------------------------------------------------------- tm
# The transaction layer (modules tm and tmx, with rr): calls through a
# stateful proxy between two sipp instances. tm_proxy.cfg loads the
# modules and sets the tm timers; tm_proxy.lua routes as Kamailio's KEMI
# examples do, the R-URI user picking relay, failover or fork. tm.stats
# (ospreyctl) gives the counters; "current" must come back to 0 once the
# transactions are over (wait_timer is 1 s here, so that is quick).


def tm_server(ctx, uas1, uas2="sip:127.0.0.1:9", wait=1000, fr=5000,
              fr_inv=30000, workers=2):
    """The tm proxy, relaying to the SIP URIs uas1 (and uas2)."""
    n = ctx.seq()
    script = ctx.script("tm_proxy.lua", dest="tm-%d.lua" % n, UAS1=uas1,
                        UAS2=uas2)
    cfg = ctx.script("tm_proxy.cfg", dest="tm-%d.cfg" % n, SCRIPT=script,
                     WAIT=wait, FR=fr, FR_INV=fr_inv)
    return ctx.server(cfg, workers=workers)


def tm_stats(srv):
    res = srv.ctl_json("tm.stats")
    if isinstance(res, dict) and "result" in res:
        res = res["result"]
    check(isinstance(res, dict) and "current" in res,
          "tm.stats: unexpected answer %r" % (res,))
    return res


def tm_idle(srv, timeout=20.0):
    """Wait until tm.stats shows no transaction left; returns the stats."""
    deadline = time.time() + timeout
    while True:
        st = tm_stats(srv)
        if st["current"] == 0 or time.time() > deadline:
            return st
        time.sleep(0.2)


def tm_uas(ctx, name, scenario="tm_uas", transport="u1", calls=1,
           timeout=40, extra=(), **subst):
    """A sipp UAS in the background on a free port, answering with Contact
    user `name`. Returns (handle, its SIP URI for the proxy)."""
    port = free_port()
    s = {"NAME": name, "RING": 100, "CHECK_RR": "true",
         "ACK_OPTIONAL": "false", "LINGER": 2000, "CHECK_BRANCH": "false"}
    s.update(subst)
    h = ctx.sipp(scenario, transport=transport, calls=calls, port=port,
                 subst=s, background=True, timeout=timeout, extra=extra)
    uri = "sip:127.0.0.1:%d" % port
    if transport.startswith("t"):
        uri += ";transport=tcp"
    return h, uri


def tm_uac(ctx, srv, service, who, calls=1, rate=10, transport="u1",
           hold=200, scenario="tm_uac", timeout=40, extra=(), **kw):
    """The sipp UAC calling service@proxy; the 200 must come from `who`."""
    return ctx.sipp(scenario, remote=srv.addr, transport=transport,
                    calls=calls, rate=rate, service=service,
                    subst={"UAS_NAME": who, "HOLD": hold}, timeout=timeout,
                    extra=extra, **kw)


def tm_sipp_errors(what, r, calls):
    if r.rc != 0 or r.successful != calls or r.failed not in (0, -1):
        return ["%s: %s" % (what, r.describe())]
    return []


def tm_idle_errors(what, srv, st=None):
    """Problems when transactions are left over (a leak)."""
    st = st or tm_idle(srv)
    if st["current"] != 0 or st["waiting"] != 0:
        return ["%s: %d transactions left (%d waiting) after the calls; "
                "tm.list: %s" % (what, st["current"], st["waiting"],
                                 srv.ctl("tm.list")[1][:600])]
    return []


@e2e_test(timeout=150)
def tm_call(ctx):
    """INVITE/100/180/200/ACK/BYE/200 through tm + rr over UDP, TCP and
    UDP in/TCP out: the UAS sees the Record-Route, the BYE follows it with
    no Route left (loose_route), tm.stats moves, no transaction leaks."""
    errors = []
    calls = 3
    for label, t_in, t_out in (("udp", "u1", "u1"), ("tcp", "t1", "t1"),
                               ("udp-in/tcp-out", "u1", "t1")):
        uas, uri = tm_uas(ctx, "uas1", transport=t_out, calls=calls)
        srv = tm_server(ctx, uri)
        time.sleep(0.3)
        uac = tm_uac(ctx, srv, "relay", "uas1", calls=calls, transport=t_in)
        errors += tm_sipp_errors(label + " UAC", uac, calls)
        errors += tm_sipp_errors(label + " UAS", uas.wait(), calls)
        st = tm_idle(srv)
        errors += tm_idle_errors(label, srv, st)
        want = {"created": 2 * calls, "2xx": 2 * calls, "1xx": 2 * calls,
                "relayed": 2 * calls, "rpl_generated": calls}
        low = {k: st[k] for k, v in want.items() if st[k] < v}
        if low:
            errors.append("%s: tm.stats %r lower than %r" % (label, low,
                                                             want))
        if st["freed"] != st["created"]:
            errors.append("%s: created %d, freed %d" % (
                label, st["created"], st["freed"]))
        srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=120)
def tm_retransmissions(ctx):
    """5 % packet loss on both legs (sipp -lost on the UAC, lost= on the
    UAS's messages): calls still complete and nothing is left afterwards.
    How many retransmitted requests the proxy absorbs here depends on which
    messages sipp happens to drop (about 3.5 per run of 30 calls, none in
    about one run of 30: measured over 50 runs), so it is only noted; the
    tm_rtx_* tests force retransmissions and assert rtx_absorbed, and
    tm_failure_route the proxy's own (uac_retransmissions)."""
    calls = 30
    lost = ["-lost", "5"]
    uas, uri = tm_uas(ctx, "uas1", scenario="tm_uas_lossy", calls=calls,
                      timeout=80, LOST=5, ACK_OPTIONAL="true", LINGER=5000)
    # Kamailio's default wait_timer: INVITE retransmissions that lost
    # their 200 are still absorbed by the transaction
    srv = tm_server(ctx, uri, wait=5000)
    time.sleep(0.3)
    uac = tm_uac(ctx, srv, "relay", "uas1", calls=calls, rate=10,
                 extra=lost, timeout=80)
    errors = tm_sipp_errors("UAC", uac, calls)
    errors += tm_sipp_errors("UAS", uas.wait(), calls)
    st = tm_idle(srv, timeout=45)
    errors += tm_idle_errors("after the calls", srv, st)
    ctx.note("rtx_absorbed %d, uac_retransmissions %d" % (
        st["rtx_absorbed"], st["uac_retransmissions"]))
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=90)
def tm_cancel(ctx):
    """The UAC cancels a ringing call: the proxy answers the CANCEL 200,
    the UAS gets a CANCEL and answers 487, the UAC gets 487 and ACKs, the
    UAS gets the proxy's ACK; no transaction is left."""
    calls = 3
    uas, uri = tm_uas(ctx, "uas1", scenario="tm_uas_cancel", calls=calls)
    srv = tm_server(ctx, uri)
    time.sleep(0.3)
    uac = tm_uac(ctx, srv, "relay", "uas1", calls=calls,
                 scenario="tm_uac_cancel")
    errors = tm_sipp_errors("UAC", uac, calls)
    errors += tm_sipp_errors("UAS", uas.wait(), calls)
    st = tm_idle(srv)
    errors += tm_idle_errors("after the calls", srv, st)
    if st["4xx"] < calls:
        errors.append("tm.stats 4xx %d, want >= %d (the 487s)" % (
            st["4xx"], calls))
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=120)
def tm_failure_route(ctx):
    """Failure route: UAS1 answers 486 (then: UAS1 does not answer at all,
    fr_timer 1 s); the failure route relays to UAS2, which answers 200;
    the call completes with UAS2, the 486 got the proxy's ACK."""
    errors = []
    # 486 from the first UAS
    rej, uri1 = tm_uas(ctx, "rej", scenario="tm_uas_reject", calls=2,
                       CODE=486, REASON="Busy Here")
    uas2, uri2 = tm_uas(ctx, "uas2", calls=2)
    srv = tm_server(ctx, uri1, uri2)
    time.sleep(0.3)
    mark = srv.mark()
    uac = tm_uac(ctx, srv, "failover", "uas2", calls=2)
    errors += tm_sipp_errors("486: UAC", uac, 2)
    errors += tm_sipp_errors("486: UAS1", rej.wait(), 2)
    errors += tm_sipp_errors("486: UAS2", uas2.wait(), 2)
    if not srv.wait_log(r"failure route, code 486, timeout -1, avp kept",
                        since=mark):
        errors.append("486: no 'failure route, code 486, ..., avp kept' "
                      "log line (the AVP set before t_relay)")
    errors += tm_idle_errors("486", srv)
    # nobody at the first address: fr_timer runs out (408)
    silent = "sip:127.0.0.1:%d" % free_port()
    uas2, uri2 = tm_uas(ctx, "uas2", calls=1)
    srv = tm_server(ctx, silent, uri2, fr=1000)
    time.sleep(0.3)
    mark = srv.mark()
    uac = tm_uac(ctx, srv, "failover", "uas2", calls=1)
    errors += tm_sipp_errors("timeout: UAC", uac, 1)
    errors += tm_sipp_errors("timeout: UAS2", uas2.wait(), 1)
    if not srv.wait_log(r"failure route, code 408, timeout 1", since=mark):
        errors.append("timeout: no 'failure route, code 408' log line")
    st = tm_idle(srv)
    errors += tm_idle_errors("timeout", srv, st)
    if st["timeouts"] < 1 or st["uac_retransmissions"] < 1:
        errors.append("timeout: tm.stats timeouts %d, uac_retransmissions "
                      "%d, want both > 0" % (st["timeouts"],
                                             st["uac_retransmissions"]))
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=90)
def tm_parallel_fork(ctx):
    """Parallel forking to two UAS: UAS1 rings then answers 200 and wins,
    UAS2 rings and gets a CANCEL (answers 487, gets the ACK); the branch
    route's X-Tm-Branch header reaches UAS1; no transaction is left."""
    calls = 2
    uas1, uri1 = tm_uas(ctx, "uas1", calls=calls, RING=600,
                        CHECK_BRANCH="true")
    uas2, uri2 = tm_uas(ctx, "uas2", scenario="tm_uas_cancel", calls=calls)
    srv = tm_server(ctx, uri1, uri2)
    time.sleep(0.3)
    uac = tm_uac(ctx, srv, "fork", "uas1", calls=calls)
    errors = tm_sipp_errors("UAC", uac, calls)
    errors += tm_sipp_errors("UAS1 (winner)", uas1.wait(), calls)
    errors += tm_sipp_errors("UAS2 (cancelled)", uas2.wait(), calls)
    st = tm_idle(srv)
    errors += tm_idle_errors("after the calls", srv, st)
    if st["relayed"] < 3 * calls:
        errors.append("tm.stats relayed %d, want >= %d (2 branches + BYE "
                      "per call)" % (st["relayed"], 3 * calls))
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=180)
def tm_load_200cps(ctx):
    """[load] 200 calls/s for 30 s through tm (UDP): no failed call, no
    transaction left. A load test, not a timing assertion; set
    OSP_E2E_SKIP_LOAD=1 to skip it."""
    if os.environ.get("OSP_E2E_SKIP_LOAD"):
        from harness import TestSkip
        raise TestSkip("OSP_E2E_SKIP_LOAD is set")
    rate, secs = 200, 30
    calls = rate * secs
    uas, uri = tm_uas(ctx, "uas1", calls=calls, timeout=120, RING=0)
    srv = tm_server(ctx, uri, workers=2)
    time.sleep(0.3)
    uac = tm_uac(ctx, srv, "relay", "uas1", calls=calls, rate=rate, hold=0,
                 timeout=120, extra=["-l", "2000"])
    errors = tm_sipp_errors("UAC", uac, calls)
    errors += tm_sipp_errors("UAS", uas.wait(), calls)
    st = tm_idle(srv, timeout=30)
    errors += tm_idle_errors("after the load", srv, st)
    ctx.note("load: %d calls, tm created %d, rtx_absorbed %d, "
             "uac_retransmissions %d" % (calls, st["created"],
                                         st["rtx_absorbed"],
                                         st["uac_retransmissions"]))
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


def tm_dns_fixture(records):
    """A tiny authoritative DNS server on a free UDP port of 127.0.0.1, in
    a thread of the test process. records: {(name, qtype): [rdata]}; a
    known name without records of the asked type answers NODATA, an
    unknown one NXDOMAIN. Returns the port."""
    import struct
    import threading

    names = {n for n, _ in records}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))

    def qname(data, off):
        labels = []
        while data[off]:
            n = data[off]
            labels.append(data[off + 1:off + 1 + n].decode().lower())
            off += 1 + n
        return ".".join(labels), off + 1

    def serve():
        while True:
            try:
                data, peer = sock.recvfrom(2048)
            except OSError:
                return
            try:
                qid, = struct.unpack("!H", data[:2])
                name, end = qname(data, 12)
                qtype, = struct.unpack("!H", data[end:end + 2])
            except (IndexError, struct.error, UnicodeDecodeError):
                continue
            rr = records.get((name, qtype), [])
            rcode = 0 if name in names else 3
            out = struct.pack("!HHHHHH", qid, 0x8400 | rcode, 1, len(rr),
                              0, 0) + data[12:end + 4]
            for rdata in rr:
                out += struct.pack("!HHHIH", 0xC00C, qtype, 1, 60,
                                   len(rdata)) + rdata
            sock.sendto(out, peer)

    threading.Thread(target=serve, daemon=True).start()
    return sock.getsockname()[1]


def tm_dns_name(name):
    return b"".join(bytes([len(p)]) + p.encode()
                    for p in name.split(".")) + b"\0"


@e2e_test(timeout=90)
def tm_dns_failover(ctx):
    """RFC 3263 failover: the SRV records of tm-failover.test name two
    targets; the first (priority 10) does not answer, the INVITE times
    out there (fr_timer 1 s) and is sent to the second (priority 20),
    which answers; the call completes. DNS from a fixture server
    (OSP_DNS_SERVERS)."""
    import struct
    uas, uri = tm_uas(ctx, "uas2", calls=1)
    up = int(uri.rsplit(":", 1)[1])
    down = free_port()
    dom = "tm-failover.test"

    def srv_rr(prio, port, target):
        return struct.pack("!HHH", prio, 10, port) + tm_dns_name(target)

    records = {
        (dom, 1): [],
        ("_sip._udp." + dom, 33): [srv_rr(10, down, "a." + dom),
                                   srv_rr(20, up, "b." + dom)],
        ("a." + dom, 1): [socket.inet_aton("127.0.0.1")],
        ("b." + dom, 1): [socket.inet_aton("127.0.0.1")],
    }
    port = tm_dns_fixture(records)
    os.environ["OSP_DNS_SERVERS"] = "127.0.0.1:%d" % port
    srv = tm_server(ctx, "sip:" + dom, fr=1000)
    time.sleep(0.3)
    mark = srv.mark()
    uac = tm_uac(ctx, srv, "relay", "uas2", calls=1)
    errors = tm_sipp_errors("UAC", uac, 1)
    errors += tm_sipp_errors("UAS (second target)", uas.wait(), 1)
    if not srv.wait_log(r"trying the next destination", since=mark):
        errors.append("no failover log line")
    st = tm_idle(srv)
    errors += tm_idle_errors("after the call", srv, st)
    if st["timeouts"] < 1:
        errors.append("tm.stats timeouts %d, want >= 1" % st["timeouts"])
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=90)
def tm_serial_fork(ctx):
    """Serial forking by q: t_load_contacts/t_next_contacts send the call
    to UAS1 (q=1) first; its 486 runs the failure route, whose
    t_next_contacts moves to UAS2 (q=0.5), which answers."""
    rej, uri1 = tm_uas(ctx, "rej", scenario="tm_uas_reject", calls=1,
                       CODE=486, REASON="Busy Here")
    uas2, uri2 = tm_uas(ctx, "uas2", calls=1)
    srv = tm_server(ctx, uri1, uri2)
    time.sleep(0.3)
    mark = srv.mark()
    uac = tm_uac(ctx, srv, "serial", "uas2", calls=1)
    errors = tm_sipp_errors("UAC", uac, 1)
    errors += tm_sipp_errors("UAS1 (q=1, 486)", rej.wait(), 1)
    errors += tm_sipp_errors("UAS2 (q=0.5)", uas2.wait(), 1)
    if not srv.wait_log(r"serial forking to sip:serial@127\.0\.0\.1:%s"
                        % uri2.rsplit(":", 1)[1], since=mark):
        errors.append("no 'serial forking to' UAS2 log line")
    errors += tm_idle_errors("after the call", srv)
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=60)
def tm_stateful_reply(ctx):
    """t_newtran + KSR.sl.send_reply(486) replies statefully: the INVITE's
    retransmission gets the same 486 again (rtx_absorbed moves), the 486
    is retransmitted (Timer G) until our ACK, which the transaction
    absorbs; then nothing is left."""
    srv = tm_server(ctx, "sip:127.0.0.1:9")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2.0)
    lp = sock.getsockname()[1]
    hp = "127.0.0.1:%d" % lp
    cid = uuid.uuid4().hex + "@tm"

    def req(method, to_tag=""):
        return ("%s sip:reply@%s SIP/2.0\r\n"
                "Via: SIP/2.0/UDP %s;branch=z9hG4bK-tmr-%s\r\n"
                "Max-Forwards: 70\r\n"
                "From: <sip:a@%s>;tag=tmr1\r\n"
                "To: <sip:reply@%s>%s\r\n"
                "Call-ID: %s\r\nCSeq: 1 %s\r\n"
                "Content-Length: 0\r\n\r\n" % (
                    method, srv.addr, hp, cid[:8], hp, srv.addr,
                    to_tag, cid, method)).encode()

    def recv_status():
        try:
            data, _ = sock.recvfrom(65536)
        except socket.timeout:
            return None, None
        text = data.decode(errors="replace")
        m = re.search(r"^To:.*;tag=([^;\r\n]+)", text, re.M | re.I)
        return status_line(data), m.group(1) if m else None

    errors = []
    sock.sendto(req("INVITE"), (srv.host, srv.port))
    first, tag = recv_status()
    if first != "SIP/2.0 486 Busy Here" or not tag:
        errors.append("INVITE: got %r (To tag %r), want 486 Busy Here with "
                      "a tag" % (first, tag))
    sock.sendto(req("INVITE"), (srv.host, srv.port))
    again, tag2 = recv_status()
    if again != "SIP/2.0 486 Busy Here" or tag2 != tag:
        errors.append("retransmitted INVITE: got %r (tag %r), want the "
                      "same 486 (tag %r)" % (again, tag2, tag))
    time.sleep(1.2)  # Timer G (T1 500 ms) sends the 486 again meanwhile
    n = 0
    sock.settimeout(0.2)
    while recv_status()[0]:
        n += 1
    if n < 1:
        errors.append("Timer G: no retransmitted 486 in 1.2 s")
    sock.sendto(req("ACK", ";tag=%s" % tag), (srv.host, srv.port))
    st = tm_idle(srv, timeout=10)
    errors += tm_idle_errors("after the ACK", srv, st)
    if st["rtx_absorbed"] < 1 or st["rpl_generated"] < 1:
        errors.append("tm.stats rtx_absorbed %d, rpl_generated %d, want "
                      ">= 1" % (st["rtx_absorbed"], st["rpl_generated"]))
    time.sleep(0.3)
    sock.settimeout(0.5)
    late = recv_status()[0]
    if late:
        errors.append("still got %r after the ACK" % late)
    sock.close()
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


def native_tm_server(ctx, uas1, uas2="sip:127.0.0.1:9", fr=5000):
    n = ctx.seq()
    cfg = ctx.script("native_tm.cfg", dest="native-tm-%d.cfg" % n,
                     UAS1=uas1, UAS2=uas2, WAIT=1000, FR=fr, FR_INV=30000)
    return ctx.server(cfg)


@e2e_test(timeout=150)
def native_tm(ctx):
    """tm driven by native route blocks: a relayed call (onreply_route
    logs its replies), failover from failure_route[] on 486 and on timeout,
    a parallel fork whose branch_route[] adds X-Tm-Branch; no transaction
    left."""
    errors = []
    uas, uri = tm_uas(ctx, "uas1", calls=2)
    srv = native_tm_server(ctx, uri)
    time.sleep(0.3)
    uac = tm_uac(ctx, srv, "relay", "uas1", calls=2)
    errors += tm_sipp_errors("relay: UAC", uac, 2)
    errors += tm_sipp_errors("relay: UAS", uas.wait(), 2)
    if not srv.wait_log(r"tm-e2e: reply 200 on branch 0"):
        errors.append("relay: onreply_route did not log the 200")
    errors += tm_idle_errors("relay", srv)
    srv.stop()
    # 486 from the first UAS, then the second one answers
    rej, uri1 = tm_uas(ctx, "rej", scenario="tm_uas_reject", calls=2,
                       CODE=486, REASON="Busy Here")
    uas2, uri2 = tm_uas(ctx, "uas2", calls=2)
    srv = native_tm_server(ctx, uri1, uri2)
    time.sleep(0.3)
    uac = tm_uac(ctx, srv, "failover", "uas2", calls=2)
    errors += tm_sipp_errors("486: UAC", uac, 2)
    errors += tm_sipp_errors("486: UAS1", rej.wait(), 2)
    errors += tm_sipp_errors("486: UAS2", uas2.wait(), 2)
    if not srv.wait_log(r"failure route, code 486, timeout -1, avp kept"):
        errors.append("486: no 'failure route, code 486, timeout -1, avp "
                      "kept' log line")
    errors += tm_idle_errors("486", srv)
    srv.stop()
    # nobody at the first address: fr_timer runs out (408)
    silent = "sip:127.0.0.1:%d" % free_port()
    uas2, uri2 = tm_uas(ctx, "uas2", calls=1)
    srv = native_tm_server(ctx, silent, uri2, fr=1000)
    time.sleep(0.3)
    uac = tm_uac(ctx, srv, "failover", "uas2", calls=1)
    errors += tm_sipp_errors("timeout: UAC", uac, 1)
    errors += tm_sipp_errors("timeout: UAS2", uas2.wait(), 1)
    if not srv.wait_log(r"failure route, code 408, timeout 1"):
        errors.append("timeout: no 'failure route, code 408' log line")
    errors += tm_idle_errors("timeout", srv)
    srv.stop()
    # parallel fork
    uas1, uri1 = tm_uas(ctx, "uas1", calls=2, RING=600, CHECK_BRANCH="true")
    uas2, uri2 = tm_uas(ctx, "uas2", scenario="tm_uas_cancel", calls=2)
    srv = native_tm_server(ctx, uri1, uri2)
    time.sleep(0.3)
    uac = tm_uac(ctx, srv, "fork", "uas1", calls=2)
    errors += tm_sipp_errors("fork: UAC", uac, 2)
    errors += tm_sipp_errors("fork: UAS1 (winner)", uas1.wait(), 2)
    errors += tm_sipp_errors("fork: UAS2 (cancelled)", uas2.wait(), 2)
    errors += tm_idle_errors("fork", srv)
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


# ---------------------------------------------------------------- rtp
# Media relays (modules rtpengine and rtpproxy). A caller and a callee
# written in Python (UDP sockets: their SIP, and their media on 127.0.0.2 and
# 127.0.0.3 so that a rewritten c= line shows) make a call through osprey.
# rtpengine: Debian's rtpengine daemon, started here in the foreground in
# userspace mode with every option on the command line (the packaged service
# and config file are never used). rtpproxy: Debian 12 has no rtpproxy, the
# protocol fixture tests/rtp/rtpproxy_fixture.py stands in for it.

import shutil  # noqa: E402 - this section's own imports
import sys  # noqa: E402
from harness import TestSkip  # noqa: E402

RTP_FIXTURE = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "rtp", "rtpproxy_fixture.py")


def _rtp_sdp(ip, port, sess=1):
    return ("v=0\r\no=- %d 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
            % (sess, ip, ip, port))


def _rtp_parse(data):
    """A SIP message as {"start", "hdrs": [(lower name, value)], "body"}."""
    text = data.decode(errors="replace")
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    hdrs = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        hdrs.append((name.strip().lower(), value.strip()))
    return {"start": lines[0], "hdrs": hdrs, "body": body, "raw": text}


def _rtp_hdr(m, name):
    for n, v in m["hdrs"]:
        if n == name.lower():
            return v
    return None


def _rtp_sdp_media(body):
    """(c= address, o= address, m= port) of an SDP body."""
    c = o = port = None
    for line in body.split("\r\n"):
        if line.startswith("c=") and c is None:
            c = line.split()[-1]
        elif line.startswith("o="):
            o = line.split()[-1]
        elif line.startswith("m=") and port is None:
            port = int(line.split()[1])
    return c, o, port


class _RtpUA:
    """One SIP party: a UDP socket on 127.0.0.1, and a media socket."""

    def __init__(self, user, media_ip):
        self.user = user
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.media.bind((media_ip, 0))
        self.media_ip = media_ip
        self.media_port = self.media.getsockname()[1]
        self.tag = uuid.uuid4().hex[:8]

    def close(self):
        self.sock.close()
        self.media.close()

    def send(self, text, dest):
        self.sock.sendto(text.encode(), dest)

    def recv(self, what, timeout=5.0, skip_1xx=True):
        """The next message (skipping 1xx when asked), parsed, with the
        address it came from; fails the test on timeout."""
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                fail("%s: nothing received for %s" % (self.user, what))
            self.sock.settimeout(left)
            try:
                data, src = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            m = _rtp_parse(data)
            m["src"] = src
            if skip_1xx and re.match(r"SIP/2.0 1\d\d ", m["start"]):
                continue
            return m

    def request(self, method, ruri, call, cseq, to_tag="", body="",
                branch=None):
        via = "SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%s;rport" % (
            self.port, branch or uuid.uuid4().hex[:12])
        lines = ["%s %s SIP/2.0" % (method, ruri),
                 "Via: " + via,
                 "Max-Forwards: 70",
                 "From: <sip:alice@example.com>;tag=%s" % self.tag,
                 "To: <sip:bob@example.com>%s" % (
                     ";tag=" + to_tag if to_tag else ""),
                 "Call-ID: " + call,
                 "CSeq: %d %s" % (cseq, method),
                 "Contact: <sip:%s@127.0.0.1:%d>" % (self.user, self.port)]
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append("Content-Length: %d" % len(body.encode()))
        return "\r\n".join(lines) + "\r\n\r\n" + body

    def reply(self, req, code, reason, body=""):
        lines = ["SIP/2.0 %d %s" % (code, reason)]
        for n, v in req["hdrs"]:
            if n == "via":
                lines.append("Via: " + v)
        for n in ("from", "call-id", "cseq"):
            lines.append("%s: %s" % (n.title(), _rtp_hdr(req, n)))
        to = _rtp_hdr(req, "to")
        if ";tag=" not in to:
            to += ";tag=" + self.tag
        lines.append("To: " + to)
        lines.append("Contact: <sip:%s@127.0.0.1:%d>" % (self.user,
                                                         self.port))
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append("Content-Length: %d" % len(body.encode()))
        return "\r\n".join(lines) + "\r\n\r\n" + body


def _rtp_packet(seq):
    """An RTP packet: version 2, PCMU, 160 bytes of payload."""
    hdr = bytes([0x80, 0x00, (seq >> 8) & 0xff, seq & 0xff,
                 0, 0, (seq * 160) >> 8 & 0xff, (seq * 160) & 0xff,
                 0x12, 0x34, 0x56, 0x78])
    return hdr + bytes([seq & 0xff]) * 160


def _rtp_media_flows(src, dst, to_addr, count=10):
    """Send RTP from src's media socket to to_addr (the relay port src was
    given); returns the packets dst's media socket received, with their
    source addresses."""
    got = []
    dst.media.settimeout(0.1)
    for i in range(count):
        src.media.sendto(_rtp_packet(i + 1), to_addr)
        time.sleep(0.02)
        try:
            while True:
                got.append(dst.media.recvfrom(2048))
        except socket.timeout:
            pass
        except OSError:
            break
    deadline = time.time() + 1.0
    while time.time() < deadline and len(got) < count:
        try:
            got.append(dst.media.recvfrom(2048))
        except socket.timeout:
            pass
    return got


def _rtp_call(ctx, srv, a, b, relay_ip, relay_ports, tag):
    """One call A -> osprey -> B: INVITE with A's SDP, 200 with B's, ACK.
    Checks that both SDPs were rewritten to relay_ip and a port in
    relay_ports (a container) and returns (call-id, port B was given,
    port A was given, B's INVITE, A's 200)."""
    call = "%s-%s@e2e" % (tag, uuid.uuid4().hex[:10])
    dest = (srv.host, srv.port)
    ruri = "sip:bob@127.0.0.1:%d" % b.port
    inv = a.request("INVITE", ruri, call, 1,
                    body=_rtp_sdp(a.media_ip, a.media_port))
    a.send(inv, dest)
    got = b.recv("the INVITE")
    check(got["start"].startswith("INVITE "),
          "B got %r, want the INVITE" % got["start"])
    c, o, port_b = _rtp_sdp_media(got["body"])
    check(c == relay_ip and port_b in relay_ports,
          "INVITE at B: c=%s m=%s, want the relay %s and a port in %s:\n%s"
          % (c, port_b, relay_ip, relay_ports, got["body"]))
    check(o == relay_ip, "INVITE at B: o= %s, want %s (replace-origin / "
          "flag o)" % (o, relay_ip))
    b.send(b.reply(got, 200, "OK", _rtp_sdp(b.media_ip, b.media_port, 2)),
           got["src"])
    ok = a.recv("the 200")
    check(ok["start"] == "SIP/2.0 200 OK",
          "A got %r, want 200 OK" % ok["start"])
    c, o, port_a = _rtp_sdp_media(ok["body"])
    check(c == relay_ip and port_a in relay_ports and port_a != port_b,
          "200 at A: c=%s m=%s, want the relay %s and another port in %s:"
          "\n%s" % (c, port_a, relay_ip, relay_ports, ok["body"]))
    to_tag = re.search(r";tag=([^;>\s]+)", _rtp_hdr(ok, "to")).group(1)
    a.send(a.request("ACK", "sip:bob@127.0.0.1:%d" % b.port, call, 1,
                     to_tag=to_tag), dest)
    ack = b.recv("the ACK")
    check(ack["start"].startswith("ACK "), "B got %r, want the ACK"
          % ack["start"])
    return call, port_b, port_a, to_tag


def _rtp_bye(ctx, srv, a, b, call, to_tag):
    dest = (srv.host, srv.port)
    a.send(a.request("BYE", "sip:bob@127.0.0.1:%d" % b.port, call, 2,
                     to_tag=to_tag), dest)
    bye = b.recv("the BYE")
    check(bye["start"].startswith("BYE "), "B got %r, want the BYE"
          % bye["start"])
    b.send(b.reply(bye, 200, "OK"), bye["src"])
    ok = a.recv("the 200 to BYE")
    check(ok["start"] == "SIP/2.0 200 OK", "BYE: A got %r" % ok["start"])


def _rtpe_ng(port, cmd, timeout=1.0):
    """One ng command (a bencoded dictionary, bytes) to rtpengine on
    127.0.0.1:port; returns the answer without cookie, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        cookie = uuid.uuid4().hex[:12].encode()
        s.sendto(cookie + b" " + cmd, ("127.0.0.1", port))
        data, _ = s.recvfrom(65536)
        if data.startswith(cookie + b" "):
            return data[len(cookie) + 1:]
    except OSError:
        pass
    finally:
        s.close()
    return None


def _rtpe_calls(port):
    """Call-IDs rtpengine lists (ng "list")."""
    ans = _rtpe_ng(port, b"d7:command4:liste")
    check(ans is not None and b"6:result2:ok" in ans,
          "rtpengine did not answer the ng list command: %r" % ans)
    i = ans.find(b"5:callsl")
    out = []
    if i < 0:
        return out
    i += len(b"5:callsl")
    while ans[i:i + 1] != b"e":
        n, _, rest = ans[i:].partition(b":")
        ln = int(n)
        out.append(rest[:ln].decode())
        i += len(n) + 1 + ln
    return out


def _rtpe_start(ctx):
    """Debian's rtpengine in the foreground, userspace only, on loopback:
    returns (ng port, range of media ports). Skips the test when the
    daemon is not installed."""
    exe = shutil.which("rtpengine") or (
        "/usr/bin/rtpengine" if os.access("/usr/bin/rtpengine", os.X_OK)
        else None)
    if not exe:
        raise TestSkip("rtpengine not installed (Debian package "
                       "rtpengine-daemon; scripts/deps installs it)")
    ng = free_port()
    lo = random.randrange(30000, 59000, 2)
    argv = [exe, "--config-file=none", "--foreground", "--log-stderr",
            "--log-level=6", "--table=-1", "--interface=127.0.0.1",
            "--listen-ng=127.0.0.1:%d" % ng, "--port-min=%d" % lo,
            "--port-max=%d" % (lo + 39), "--delete-delay=0",
            "--num-threads=2", "--pidfile=%s" % ctx.path("rtpengine.pid")]
    p = ctx.spawn(argv, "rtpengine")
    deadline = time.time() + 10
    while time.time() < deadline:
        if p.poll() is not None:
            fail("rtpengine exited with %s:\n%s" % (
                p.returncode, open(p.out_path, errors="replace").read()[-2000:]))
        if _rtpe_ng(ng, b"d7:command4:pinge", 0.3) == b"d6:result4:ponge":
            return ng, range(lo, lo + 40)
    fail("rtpengine did not answer ping on 127.0.0.1:%d" % ng)


def _rtp_server(ctx, mode, sock, tout_ms=1000, retr=2):
    n = ctx.seq()
    script = ctx.script("rtp_rtpengine.lua", dest="rtpe-%d.lua" % n,
                        MODE=mode)
    cfg = ctx.script("rtp_rtpengine.cfg", dest="rtpe-%d.cfg" % n,
                     SCRIPT=script, SOCK=sock, TOUT_MS=tout_ms, RETR=retr)
    return ctx.server(cfg)


def _rtpe_call_test(ctx, mode):
    ng, ports = _rtpe_start(ctx)
    srv = _rtp_server(ctx, mode, "udp:127.0.0.1:%d" % ng)
    a, b = _RtpUA("alice", "127.0.0.2"), _RtpUA("bob", "127.0.0.3")
    try:
        mark = srv.mark()
        call, port_b, port_a, to_tag = _rtp_call(ctx, srv, a, b,
                                                 "127.0.0.1", ports, "rtpe")
        calls = _rtpe_calls(ng)
        check(calls == [call], "rtpengine lists %r, want [%r]" % (calls,
                                                                 call))
        show = srv.ctl_json("rtpengine.show", "all")
        check(isinstance(show, list) and len(show) == 1 and
              show[0].get("url") == "udp:127.0.0.1:%d" % ng and
              show[0].get("disabled") == 0,
              "rtpengine.show all: %r" % (show,))
        # media both ways through the relay
        sent = set(_rtp_packet(i + 1) for i in range(10))
        got = _rtp_media_flows(a, b, ("127.0.0.1", port_a))
        check(len(got) >= 5 and all(d in sent for d, _ in got),
              "A -> B: %d of 10 RTP packets arrived unchanged at B's "
              "media address" % len(got))
        check(all(src == ("127.0.0.1", port_b) for _, src in got),
              "A -> B: packets came from %r, want rtpengine's port %d" %
              (sorted(set(s for _, s in got)), port_b))
        back = _rtp_media_flows(b, a, ("127.0.0.1", port_b))
        check(len(back) >= 5 and all(d in sent for d, _ in back),
              "B -> A: %d of 10 RTP packets arrived unchanged at A's "
              "media address" % len(back))
        check(all(src == ("127.0.0.1", port_a) for _, src in back),
              "B -> A: packets came from %r, want rtpengine's port %d" %
              (sorted(set(s for _, s in back)), port_a))
        ctx.note("media: %d/10 packets A->B, %d/10 B->A" % (len(got),
                                                            len(back)))
        _rtp_bye(ctx, srv, a, b, call, to_tag)
        deadline = time.time() + 2
        while _rtpe_calls(ng) and time.time() < deadline:
            time.sleep(0.1)
        check(_rtpe_calls(ng) == [], "after BYE rtpengine still lists %r"
              % _rtpe_calls(ng))
        where = "tm reply" if mode == "tm" else "reply"
        for pat in (r"rtp-e2e: request INVITE manage 1",
                    r"rtp-e2e: %s 200 manage 1" % where,
                    r"rtp-e2e: request BYE manage 1"):
            check(srv.wait_log(pat, since=mark), "no log line /%s/:\n%s"
                  % (pat, srv.tail(20)))
    finally:
        a.close()
        b.close()
    srv.expect_alive()


@e2e_test(timeout=60)
def rtp_rtpengine_call(ctx):
    """A call through the transaction layer with rtpengine_manage():
    rtpengine (Debian's daemon, userspace, loopback) rewrites the INVITE's
    and the 200's c=/o=/m= to its address and ports, lists the call, relays
    RTP both ways between the parties' media addresses, and the BYE deletes
    the call."""
    _rtpe_call_test(ctx, "tm")


@e2e_test(timeout=60)
def rtp_rtpengine_stateless(ctx):
    """The same call forwarded statelessly: the offer in the request
    route, the answer in ksr_reply_route."""
    _rtpe_call_test(ctx, "stateless")


@e2e_test(timeout=60)
def rtp_rtpengine_failover(ctx):
    """A set of a silent instance and rtpengine: the silent one is
    disabled (rtpengine.show), calls still go through rtpengine;
    rtpengine.ping and rtpengine.enable report the silent one as failing,
    rtpengine.enable 0 / 1 switch the live one off and on, and an offer
    with no instance left fails (503 from the script)."""
    ng, ports = _rtpe_start(ctx)
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    sp = silent.getsockname()[1]
    live_url = "udp:127.0.0.1:%d" % ng
    dead_url = "udp:127.0.0.1:%d" % sp
    srv = _rtp_server(ctx, "stateless", "%s %s" % (dead_url, live_url),
                      tout_ms=200, retr=1)
    a, b = _RtpUA("alice", "127.0.0.2"), _RtpUA("bob", "127.0.0.3")
    try:
        for i in range(3):
            call, _, _, to_tag = _rtp_call(ctx, srv, a, b, "127.0.0.1",
                                           ports, "fo%d" % i)
            _rtp_bye(ctx, srv, a, b, call, to_tag)
        show = srv.ctl_json("rtpengine.show", "all")
        state = {o["url"]: o["disabled"] for o in show}
        check(state == {dead_url: 1, live_url: 0},
              "rtpengine.show: %r" % (show,))
        r = srv.ctl_json("rtpengine.ping", "all")
        check(r.get("status") == "fail", "ping all: %r" % (r,))
        r = srv.ctl_json("rtpengine.ping", live_url)
        check(r.get("status") == "success", "ping live: %r" % (r,))
        r = srv.ctl_json("rtpengine.enable", dead_url, 1)
        check(r.get("status") == "fail", "enable silent: %r" % (r,))
        r = srv.ctl_json("rtpengine.enable", live_url, 0)
        check(r.get("status") == "disable", "disable live: %r" % (r,))
        # nothing left: the script answers 503
        call = "fo-none-%s" % uuid.uuid4().hex[:8]
        a.send(a.request("INVITE", "sip:bob@127.0.0.1:%d" % b.port, call, 1,
                         body=_rtp_sdp(a.media_ip, a.media_port)),
               (srv.host, srv.port))
        r503 = a.recv("the 503")
        check(r503["start"].startswith("SIP/2.0 503"),
              "with every instance disabled: %r" % r503["start"])
        r = srv.ctl_json("rtpengine.enable", live_url, 1)
        check(r.get("status") == "enable", "enable live: %r" % (r,))
        call, _, _, to_tag = _rtp_call(ctx, srv, a, b, "127.0.0.1", ports,
                                       "fo-back")
        _rtp_bye(ctx, srv, a, b, call, to_tag)
        ok, out, _ = srv.ctl("rtpengine.show", "udp:192.0.2.1:1")
        check(not ok and "404" in out, "show unknown: %s" % out.strip())
    finally:
        a.close()
        b.close()
        silent.close()
    srv.expect_alive()


def _rtpp_fixture(ctx, name, *args):
    """The rtpproxy protocol fixture on a free port; returns its port."""
    port = free_port()
    p = ctx.spawn([sys.executable or "python3", RTP_FIXTURE, "--listen",
                   "127.0.0.1:%d" % port] + list(args), name)
    deadline = time.time() + 5
    while time.time() < deadline:
        if p.poll() is not None:
            fail("%s exited: %s" % (name, open(p.out_path).read()))
        if _rtpp_ctl(port, "@stats", 0.2) is not None:
            return port
    fail("%s did not start" % name)


def _rtpp_ctl(port, line, timeout=1.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(("t1 " + line).encode(), ("127.0.0.1", port))
        data, _ = s.recvfrom(65536)
        return data.decode().partition(" ")[2].strip()
    except OSError:
        return None
    finally:
        s.close()


@e2e_test(timeout=90)
def rtp_rtpproxy_fixture(ctx):
    """rtpproxy_manage("co") against the rtpproxy protocol fixture (Debian
    12 has no rtpproxy): V/VF at start, U on the INVITE and L on the 200
    rewrite c=, o= and m= to the relay, D on the BYE; a silent instance in
    the set times out and is skipped (rtpproxy.list shows it disabled);
    when the live one goes silent too the INVITE gets 503 within the
    timeouts, and rtpproxy.enable brings it back."""
    live = _rtpp_fixture(ctx, "rtpproxy-live", "--ports", "36000-36999")
    dead = _rtpp_fixture(ctx, "rtpproxy-silent", "--silent")
    n = ctx.seq()
    script = ctx.script("rtp_rtpproxy.lua", dest="rtpp-%d.lua" % n)
    live_url, dead_url = ("udp:127.0.0.1:%d" % live,
                          "udp:127.0.0.1:%d" % dead)
    cfg = ctx.script("rtp_rtpproxy.cfg", dest="rtpp-%d.cfg" % n,
                     SCRIPT=script, SOCK="%s %s" % (dead_url, live_url))
    srv = ctx.server(cfg)
    a, b = _RtpUA("alice", "127.0.0.2"), _RtpUA("bob", "127.0.0.3")
    try:
        lst = srv.ctl_json("rtpproxy.list")
        state = {o["url"]: o["disabled"] for o in lst}
        check(state == {dead_url: 1, live_url: 0},
              "rtpproxy.list after start: %r" % (lst,))
        mark = srv.mark()
        call, port_b, port_a, to_tag = _rtp_call(
            ctx, srv, a, b, "127.0.0.1", range(36000, 37000), "rtpp")
        _rtp_bye(ctx, srv, a, b, call, to_tag)
        st = json.loads(_rtpp_ctl(live, "@stats"))
        cmds = st["commands"]
        want = [r"^V$", r"^VF 20050322$",
                r"^Uc0 %s 127\.0\.0\.1 %d \w+;1$" % (re.escape(call),
                                                     a.media_port),
                r"^Lc0 %s 127\.0\.0\.1 %d \w+;1 \w+;1$" % (re.escape(call),
                                                           b.media_port),
                r"^D %s \w+ \w+$" % re.escape(call)]
        for w in want:
            check(any(re.match(w, c) for c in cmds),
                  "the fixture got no command /%s/ in %r" % (w, cmds))
        check(st["sessions"] == 0, "sessions left: %r" % (st,))
        for pat in (r"rtp-e2e: request INVITE manage 1",
                    r"rtp-e2e: reply 200 manage 1",
                    r"rtp-e2e: request BYE manage 1"):
            check(srv.wait_log(pat, since=mark), "no log line /%s/" % pat)
        # the live instance goes silent: the INVITE waits 2 x 200 ms and
        # gets 503; the instance is disabled
        check(_rtpp_ctl(live, "@silent on") == "ok", "fixture control")
        t0 = time.time()
        call = "rtpp-silent-%s" % uuid.uuid4().hex[:8]
        a.send(a.request("INVITE", "sip:bob@127.0.0.1:%d" % b.port, call, 1,
                         body=_rtp_sdp(a.media_ip, a.media_port)),
               (srv.host, srv.port))
        r503 = a.recv("the 503", timeout=10)
        took = time.time() - t0
        check(r503["start"].startswith("SIP/2.0 503"),
              "with no instance answering: %r" % r503["start"])
        check(0.35 <= took < 3, "the 503 took %.2f s, want about the "
              "timeouts (2 x 200 ms)" % took)
        lst = srv.ctl_json("rtpproxy.list")
        check(all(o["disabled"] == 1 for o in lst),
              "rtpproxy.list with both silent: %r" % (lst,))
        # back: enable it by RPC, calls work again
        check(_rtpp_ctl(live, "@silent off") == "ok", "fixture control")
        ok, out, _ = srv.ctl("rtpproxy.enable", live_url, 1)
        check(ok, "rtpproxy.enable: %s" % out.strip())
        call, _, _, to_tag = _rtp_call(ctx, srv, a, b, "127.0.0.1",
                                       range(36000, 37000), "rtpp2")
        _rtp_bye(ctx, srv, a, b, call, to_tag)
        ok, out, _ = srv.ctl("rtpproxy.enable", "udp:192.0.2.1:1", 1)
        check(not ok and "404" in out, "enable unknown: %s" % out.strip())
    finally:
        a.close()
        b.close()
    srv.expect_alive()


KAMAILIO_KEMI_EXAMPLES = "/usr/share/doc/kamailio/examples/kemi"


def native_stock_example(ctx, db_url):
    """Kamailio's kamailio-basic-kemi.cfg with kamailio-basic-kemi-native.cfg
    (Debian package kamailio), changed as a user without MySQL would:
    db_sqlite in place of db_mysql, DBURL set to an SQLite file (accounting
    to the database included), the native file included from the work
    dir (docs/native.md)."""
    main = os.path.join(KAMAILIO_KEMI_EXAMPLES, "kamailio-basic-kemi.cfg")
    native = os.path.join(KAMAILIO_KEMI_EXAMPLES,
                          "kamailio-basic-kemi-native.cfg")
    if not (os.path.exists(main) and os.path.exists(native)):
        from harness import TestSkip
        raise TestSkip("Kamailio's examples are not installed (Debian "
                       "package kamailio)")
    with open(main) as f:
        lines = f.read().split("\n")
    out = []
    for line in lines:
        if line.startswith("#!define DBURL"):
            line = '#!define DBURL "%s"' % db_url
        elif "/usr/local/etc/kamailio/kamailio-basic-kemi-native.cfg" in line:
            line = 'include_file "kamailio-basic-kemi-native.cfg"'
        elif line.strip() == 'loadmodule "db_mysql.so"':
            line = 'loadmodule "db_sqlite.so"'
        out.append(line)
    with open(native) as f:
        ctx.write_file("kamailio-basic-kemi-native.cfg", f.read())
    return ctx.write_file("kamailio-basic-kemi.cfg", "\n".join(out))


@e2e_test(timeout=120)
def native_kamailio_example(ctx):
    """Kamailio's stock native example (kamailio-basic-kemi.cfg with
    -native.cfg) routes an authenticated REGISTER and an authenticated call
    to the registered user, through tm, rr, registrar, auth_db, usrloc."""
    cfg = native_stock_example(ctx, "sqlite://" + ctx.path("kamailio.db"))
    srv = ctx.server(cfg)
    auth_add(srv, "alice@127.0.0.1", "pw-alice")
    auth_add(srv, "bob@127.0.0.1", "pw-bob")
    errors = []
    # bob answers calls on a port (a tm test UAS) and registers it
    bob, bob_uri = tm_uas(ctx, "bob", calls=1, LINGER=1000)
    bob_port = int(bob_uri.rsplit(":", 1)[1])
    reg = ctx.sipp("native_register", remote=srv.addr, service="bob",
                   subst={"DOMAIN": "127.0.0.1", "CONTACT_PORT": bob_port},
                   extra=["-au", "bob", "-ap", "pw-bob"], timeout=20)
    if reg.rc != 0 or reg.successful != 1:
        errors.append("bob's REGISTER: %s" % reg.describe())
    ok, out, rc = srv.ctl("ul.dump")
    if not ok or ("127.0.0.1:%d" % bob_port) not in out:
        errors.append("bob's contact is not in ul.dump: %s" % out[:300])
    alice = ctx.sipp("native_auth_uac", remote=srv.addr, service="alice",
                     subst={"DOMAIN": "127.0.0.1", "CALLEE": "bob"},
                     extra=["-au", "alice", "-ap", "pw-alice"], timeout=30)
    if alice.rc != 0 or alice.successful != 1:
        errors.append("alice's call: %s" % alice.describe())
    br = bob.wait()
    if br.rc != 0 or br.successful != 1:
        errors.append("bob (answering): %s" % br.describe())
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


# ------------------------------------------- registrar + tm (regcall_*)
#
# Issue 4's acceptance points that need the registrar and the transaction
# layer together. regcall.cfg/regcall.lua is a registrar that users call
# each other through: REGISTER → save("location"), INVITE → lookup +
# record_route + t_relay (FORK "parallel": lookup's branches as they are;
# "serial": t_load_contacts/t_next_contacts, next q from the failure
# route), in-dialog requests → loose_route + t_relay.
#
# A "phone" is a sipp UAS that registered itself: its REGISTER (reg_uac,
# Contact <sip:user@127.0.0.1:PORT>) is sent from the very port its UAS
# (tm_uas and friends) then listens on, so the contact, the received
# address lookup puts in $du, and the UAS are one socket, as for a real
# phone. (One sipp cannot do both: a sipp UAC drops requests of unknown
# Call-IDs.)

import datetime  # noqa: E402 - this section's own imports
from harness import _is_bound  # noqa: E402


def regcall_server(ctx, fork="parallel", db="regcall.db", db_mode=1,
                   fr=5000, fr_inv=30000):
    """The registrar + tm proxy (regcall.cfg, regcall.lua with FORK).
    The same db (a file in the work dir) gives a restarted server the same
    location table."""
    n = ctx.seq()
    script = ctx.script("regcall.lua", dest="regcall-%d.lua" % n, FORK=fork)
    cfg = ctx.script("regcall.cfg", dest="regcall-%d.cfg" % n,
                     SCRIPT=script, DB_URL="sqlite://" + ctx.path(db),
                     DB_MODE=db_mode, WAIT=1000, FR=fr, FR_INV=fr_inv)
    return ctx.server(cfg)


def regcall_register(ctx, srv, user, q=None, expires=3600, nat=None):
    """The phone's REGISTER from a sipp UAC on a free port, Contact
    <sip:USER@127.0.0.1:PORT>[;q=Q]. Returns (problems, PORT): the phone's
    UAS is to be started on PORT (regcall_phone). nat: a host:port to put
    in the Contact instead (a phone behind NAT: only the received address,
    $du after lookup, reaches it)."""
    contact = "<sip:%s@%s>" % (user, nat or "[local_ip]:[local_port]")
    if q is not None:
        contact += ";q=%s" % q
    problems, _, port = reg_send(ctx, srv, user, contact, expires,
                                 check="expires=%d" % expires)
    return problems, port


def regcall_phone(ctx, port, name, scenario="tm_uas", calls=1, timeout=40,
                  **subst):
    """The UAS of a registered phone, in the background on PORT (where it
    registered from), answering with Contact user NAME; returns its sipp
    handle once the port is bound."""
    s = {"NAME": name, "RING": 100, "CHECK_RR": "true",
         "ACK_OPTIONAL": "false", "LINGER": 2000, "CHECK_BRANCH": "false"}
    s.update(subst)
    h = ctx.sipp(scenario, calls=calls, port=port, subst=s,
                 background=True, timeout=timeout)
    deadline = time.time() + 5
    while not _is_bound("udp", "127.0.0.1", port):
        if h.proc.poll() is not None or time.time() > deadline:
            break  # its own result will say why
        time.sleep(0.05)
    return h


def regcall_msgs(path):
    """The messages of a sipp -trace_msg file, in order, as (Unix time,
    "recv" or "sent", first line)."""
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except OSError:
        return []
    parts = re.split(r"^-{10,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)[ \t]*$",
                     text, flags=re.M)
    out = []
    for ts, body in zip(parts[1::2], parts[2::2]):
        lines = [l for l in body.splitlines() if l.strip()]
        if len(lines) < 2:
            continue
        t = datetime.datetime.strptime(ts, "%Y-%m-%d %H:%M:%S.%f").timestamp()
        way = "recv" if "received" in lines[0] else "sent"
        out.append((t, way, lines[1].strip()))
    return out


def regcall_first(msgs, way, prefix):
    """Time of the first message of msgs (regcall_msgs) going `way` whose
    first line starts with prefix, or None."""
    for t, w, line in msgs:
        if w == way and line.startswith(prefix):
            return t
    return None


def regcall_ruris(r, method="INVITE"):
    """R-URIs of the METHOD requests a sipp run received."""
    return [line.split()[1] for _, w, line in regcall_msgs(r.messages_path)
            if w == "recv" and line.startswith(method + " ")]


@e2e_test(timeout=120)
def regcall_lookup_call(ctx):
    """A phone (sipp UAS) registers itself through save(); calls to its
    user are routed by lookup + t_relay to it (R-URI its Contact):
    INVITE/180/200/ACK/BYE/200 complete, the BYE along the Record-Route;
    a call to an unknown user gets a stateful 404 (ACK absorbed); no
    transaction is left."""
    srv = regcall_server(ctx)
    errors = []
    calls = 2
    p, port = regcall_register(ctx, srv, "alice")
    errors += p
    uas = regcall_phone(ctx, port, "alice", calls=calls)
    mark = srv.mark()
    uac = tm_uac(ctx, srv, "alice", "alice", calls=calls)
    errors += tm_sipp_errors("call to alice: UAC", uac, calls)
    r = uas.wait()
    errors += tm_sipp_errors("call to alice: alice's UAS", r, calls)
    want = "sip:alice@127.0.0.1:%d" % port
    got = regcall_ruris(r)
    if got != [want] * calls:
        errors.append("alice's UAS got INVITEs for %r, want %d x %s (the "
                      "registered Contact)" % (got, calls, want))
    if not srv.wait_log(r"regcall: lookup alice found %s du=sip:127\.0\.0\.1"
                        ":%d$" % (re.escape(want), port), since=mark):
        errors.append("no 'regcall: lookup alice found %s du=sip:127.0.0.1:"
                      "%d' log line" % (want, port))
    byes = regcall_ruris(r, "BYE")
    if len(byes) != calls or any("alice@127.0.0.1:%d" % port not in b
                                 for b in byes):
        errors.append("alice's UAS got BYEs for %r, want %d to its "
                      "Contact" % (byes, calls))

    r = ctx.sipp("regcall_uac_reject", remote=srv.addr, service="nobody",
                 subst={"CODE": 404})
    errors += uac_errors(r, 1, "Not Found", "INVITE to an unknown user")
    st = tm_idle(srv)
    errors += tm_idle_errors("after the calls", srv, st)
    if st["freed"] != st["created"]:
        errors.append("tm.stats created %d, freed %d" % (st["created"],
                                                         st["freed"]))
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=120)
def regcall_serial_q(ctx):
    """Serial forking by q over registered contacts: two phones register
    bob, q=0.5 first, then q=1.0; a call to bob goes to the q=1.0 phone
    (lookup, t_load_contacts, t_next_contacts), whose 486 runs the failure
    route: t_next_contacts moves to the q=0.5 phone, which gets its INVITE
    only after the 486, and answers; the call completes. The q=0.5 phone
    is behind NAT (Contact 192.0.2.52:5060): t_next_contacts must restore
    its received address as $du. Then two phones that both answer 486:
    each is tried once, and the caller gets 486."""
    srv = regcall_server(ctx, fork="serial")
    errors = []
    # the lower q registers first: q, not age, must decide the order
    p, port2 = regcall_register(ctx, srv, "bob", q="0.5",
                                nat="192.0.2.52:5060")
    errors += p
    p, port1 = regcall_register(ctx, srv, "bob", q="1.0")
    errors += p
    cs = reg_ul_lookup(srv, "bob") or []
    if len(cs) != 2:
        errors.append("ul.lookup bob: %r, want two contacts" % cs)
    rej = regcall_phone(ctx, port1, "bob1", scenario="regcall_uas_reject",
                        CODE=486, REASON="Busy Here", DELAY=300)
    uas2 = regcall_phone(ctx, port2, "uas2")
    mark = srv.mark()
    uac = tm_uac(ctx, srv, "bob", "uas2", calls=1)
    errors += tm_sipp_errors("UAC", uac, 1)
    r1 = rej.wait()
    r2 = uas2.wait()
    errors += tm_sipp_errors("phone q=1.0 (486)", r1, 1)
    errors += tm_sipp_errors("phone q=0.5 (200)", r2, 1)
    u1 = "sip:bob@127.0.0.1:%d" % port1
    u2 = "sip:bob@192.0.2.52:5060"
    if regcall_ruris(r1) != [u1] or regcall_ruris(r2) != [u2]:
        errors.append("INVITEs: q=1.0 phone got %r (want [%s]), q=0.5 "
                      "phone got %r (want [%s])" % (
                          regcall_ruris(r1), u1, regcall_ruris(r2), u2))
    # the q=1.0 phone waits 300 ms before its 486, so the q=0.5 phone's
    # INVITE comes >= 300 ms after the first one when serial, ~0 when
    # parallel (sipp stamps a sent message after sending it: comparing
    # with the 486's own stamp would be off by a fraction of a ms)
    inv1 = regcall_first(regcall_msgs(r1.messages_path), "recv", "INVITE ")
    inv2 = regcall_first(regcall_msgs(r2.messages_path), "recv", "INVITE ")
    if inv1 is None or inv2 is None or inv2 - inv1 < 0.25:
        errors.append("the q=0.5 phone's INVITE (at %r) must come >= "
                      "300 ms after the q=1.0 phone's (at %r), after its "
                      "486: not serial" % (inv2, inv1))
    for pat in (r"regcall: failure 486$",
                r"regcall: serial next %s$" % re.escape(u2)):
        if not srv.wait_log(pat, since=mark):
            errors.append("no log line /%s/" % pat)
    errors += tm_idle_errors("after the call", srv)

    # every contact refuses: after the last, t_next_contacts has nothing
    # left and the best reply (486) goes to the caller
    p, port1 = regcall_register(ctx, srv, "zoe", q="1.0")
    errors += p
    p, port2 = regcall_register(ctx, srv, "zoe", q="0.5")
    errors += p
    rej1 = regcall_phone(ctx, port1, "zoe1", scenario="regcall_uas_reject",
                         CODE=486, REASON="Busy Here", DELAY=0)
    rej2 = regcall_phone(ctx, port2, "zoe2", scenario="regcall_uas_reject",
                         CODE=486, REASON="Busy Here", DELAY=0)
    mark = srv.mark()
    r = ctx.sipp("regcall_uac_reject", remote=srv.addr, service="zoe",
                 subst={"CODE": 486})
    errors += uac_errors(r, 1, "Busy Here", "all contacts busy: caller")
    for what, h, port in (("q=1.0", rej1, port1), ("q=0.5", rej2, port2)):
        rr = h.wait()
        errors += tm_sipp_errors("all busy: phone %s" % what, rr, 1)
        if regcall_ruris(rr) != ["sip:zoe@127.0.0.1:%d" % port]:
            errors.append("all busy: phone %s got INVITEs for %r" % (
                what, regcall_ruris(rr)))
    deadline = time.time() + 3
    n = 0
    while time.time() < deadline:
        n = sum(1 for l in srv.lines_since(mark)
                if re.search(r"regcall: failure 486$", l))
        if n >= 2:
            break
        time.sleep(0.1)
    if n != 2:
        errors.append("all busy: %d 'regcall: failure 486' log lines, want "
                      "2 (one per contact)" % n)
    errors += tm_idle_errors("after the refused call", srv)
    srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=150)
def regcall_parallel_equal_q(ctx):
    """Two phones register carol with equal q: a call rings both in
    parallel; the first's 200 wins, the other gets a CANCEL (answers 487,
    gets the ACK); both INVITEs arrive before the 200. The second phone
    is behind NAT (Contact 192.0.2.53:5060): its INVITE and CANCEL reach
    it only through its branch's own $du (the received address). Twice:
    lookup's branches relayed as they are (no q), and t_load_contacts +
    t_next_contacts with q=0.8 on both (one q group)."""
    errors = []
    for fork, q in (("parallel", None), ("serial", "0.8")):
        srv = regcall_server(ctx, fork=fork, db="regcall-%s.db" % fork)
        p, port1 = regcall_register(ctx, srv, "carol", q=q)
        errors += p
        p, port2 = regcall_register(ctx, srv, "carol", q=q,
                                    nat="192.0.2.53:5060")
        errors += p
        uas1 = regcall_phone(ctx, port1, "uas1", RING=1000)
        uas2 = regcall_phone(ctx, port2, "uas2", scenario="tm_uas_cancel")
        mark = srv.mark()
        uac = tm_uac(ctx, srv, "carol", "uas1", calls=1)
        errors += tm_sipp_errors("%s: UAC" % fork, uac, 1)
        r1 = uas1.wait()
        r2 = uas2.wait()
        errors += tm_sipp_errors("%s: phone 1 (200)" % fork, r1, 1)
        errors += tm_sipp_errors("%s: phone 2 (cancelled)" % fork, r2, 1)
        ok200 = regcall_first(regcall_msgs(r1.messages_path), "sent",
                              "SIP/2.0 200")
        inv2 = regcall_first(regcall_msgs(r2.messages_path), "recv",
                             "INVITE ")
        if ok200 is None or inv2 is None or inv2 > ok200:
            errors.append("%s: phone 2's INVITE (at %r) must come before "
                          "phone 1's 200 (at %r): not parallel" % (
                              fork, inv2, ok200))
        for ruri, port in ((r"127\.0\.0\.1:%d" % port1, port1),
                           (r"192\.0\.2\.53:5060", port2)):
            pat = (r"regcall: branch [01] sip:carol@%s "
                   r"du=sip:127\.0\.0\.1:%d$" % (ruri, port))
            if not srv.wait_log(pat, since=mark):
                errors.append("%s: no log line /%s/" % (fork, pat))
        want = [["sip:carol@127.0.0.1:%d" % port1],
                ["sip:carol@192.0.2.53:5060"]]
        got = [regcall_ruris(r1), regcall_ruris(r2)]
        if got != want:
            errors.append("%s: the phones got INVITEs for %r, want %r" % (
                fork, got, want))
        st = tm_idle(srv)
        errors += tm_idle_errors(fork, srv, st)
        if st["relayed"] < 3:
            errors.append("%s: tm.stats relayed %d, want >= 3 (2 branches "
                          "+ BYE)" % (fork, st["relayed"]))
        srv.expect_alive()
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=150)
def regcall_restart_call(ctx):
    """Three phones register (db_mode 1, write-through), SIGTERM, the
    server starts again on the same database: ul.dump lists the three
    with their remaining expires, and a call to each is routed by lookup
    to its phone and completes."""
    users = ["dan", "erin", "frank"]
    errors = []
    srv = regcall_server(ctx, db="restart.db", db_mode=1)
    ports = {}
    for u in users:
        p, ports[u] = regcall_register(ctx, srv, u)
        errors += p
    d = reg_dump(srv)
    if sorted(d) != users:
        errors.append("before the restart: ul.dump AoRs %r, want %r" % (
            sorted(d), users))
    rc = srv.stop()
    if rc != 0:
        errors.append("exit code %r on SIGTERM, want 0" % rc)
    srv2 = regcall_server(ctx, db="restart.db", db_mode=1)
    d = reg_dump(srv2)
    for u in users:
        cs = d.get(u) or [{}]
        exp = cs[0].get("Expires")
        if len(cs) != 1 or \
                cs[0].get("Address") != "sip:%s@127.0.0.1:%d" % (u, ports[u]) \
                or not isinstance(exp, int) or not 3400 <= exp <= 3600:
            errors.append("after the restart: ul.dump %s: %r, want one "
                          "contact sip:%s@127.0.0.1:%d with expires <= 3600"
                          % (u, d.get(u), u, ports[u]))
    phones = {u: regcall_phone(ctx, ports[u], u) for u in users}
    for u in users:
        uac = tm_uac(ctx, srv2, u, u, calls=1)
        errors += tm_sipp_errors("call to %s after the restart: UAC" % u,
                                 uac, 1)
    for u in users:
        r = phones[u].wait()
        errors += tm_sipp_errors("%s's phone" % u, r, 1)
        want = ["sip:%s@127.0.0.1:%d" % (u, ports[u])]
        if regcall_ruris(r) != want:
            errors.append("%s's phone got INVITEs for %r, want %r" % (
                u, regcall_ruris(r), want))
    errors += tm_idle_errors("after the calls", srv2)
    srv2.expect_alive()
    check(not errors, "\n  ".join(errors))


# ---------------------------------------------------------------- tm_rtx
# Retransmissions must not turn into duplicates at the UAS (issue 3): a
# stateful proxy absorbs what the UAC retransmits and only sends the UAS
# the original request plus its own Timer A/E retransmissions
# (tm.stats uac_retransmissions). The UAS here is Python, so that every
# request that reaches it is logged with its Call-ID, CSeq and branch,
# whatever the state of the call.


class TmRtxUas:
    """A UDP UAS in a thread of the test process that logs every request
    it receives (before any simulated loss) as (method, Call-ID, CSeq
    number, top Via branch).

    INVITE: 180 at once, 200 after inv_delay s, the 200 retransmitted
    (T1 500 ms doubling to T2 4 s, RFC 3261 13.3.1.4) until the ACK or the
    BYE; BYE: 200 after bye_delay s. A request seen again with the same
    branch gets the last reply of its transaction again (a UAS's server
    transaction). loss (0..1) drops that share of the requests received and
    of the replies sent, from random.Random(seed)."""

    def __init__(self, name, inv_delay=1.2, bye_delay=1.2, loss=0.0,
                 seed=0):
        import heapq
        import threading
        self._heapq = heapq
        self.name = name
        self.inv_delay = inv_delay
        self.bye_delay = bye_delay
        self.loss = loss
        self.rng = random.Random(seed)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.uri = "sip:127.0.0.1:%d" % self.port
        self.lock = threading.Lock()
        self.requests = []      # (method, call-id, cseq, branch)
        self.problems = []      # what the UAS could not handle
        self._txn = {}          # (call-id, method, branch) -> last reply
        self._acked = set()     # call-ids whose 2xx retransmission stops
        self._timers = []
        self._tseq = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self):
        self._stop = True
        self._thread.join(3)
        self.sock.close()

    # ---- the loop (its thread only)

    def _at(self, delay, fn):
        self._tseq += 1
        self._heapq.heappush(self._timers,
                             (time.monotonic() + delay, self._tseq, fn))

    def _run(self):
        while not self._stop:
            now = time.monotonic()
            while self._timers and self._timers[0][0] <= now:
                fn = self._heapq.heappop(self._timers)[2]
                fn()
            wait = 0.05
            if self._timers:
                wait = max(0.001, min(wait, self._timers[0][0] - now))
            self.sock.settimeout(wait)
            try:
                data, peer = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                self._request(data, peer)
            except Exception as e:  # noqa: BLE001 - keep serving
                with self.lock:
                    self.problems.append("%s on %r" % (e, data[:200]))

    def _send(self, data, peer):
        if self.loss and self.rng.random() < self.loss:
            return False
        self.sock.sendto(data, peer)
        return True

    def _request(self, data, peer):
        text = data.decode(errors="replace")
        head, _, _ = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or parts[2] != "SIP/2.0":
            return  # a reply or garbage: not for this UAS
        method = parts[0]
        compact = {"v": "via", "i": "call-id", "f": "from", "t": "to"}
        hdrs = []
        for line in lines[1:]:
            n, _, v = line.partition(":")
            n = n.strip().lower()
            hdrs.append((compact.get(n, n), v.strip(), line))

        def one(n):
            return next((v for k, v, _ in hdrs if k == n), "")

        vias = [raw for k, _, raw in hdrs if k == "via"]
        m = re.search(r";\s*branch=([^;,\s]+)", one("via"), re.I)
        branch = m.group(1) if m else ""
        cid = one("call-id")
        cseq = one("cseq").split()
        cseq = cseq[0] if cseq else ""
        with self.lock:
            self.requests.append((method, cid, cseq, branch))
        if self.loss and self.rng.random() < self.loss:
            return  # "lost" on its way in
        if method == "ACK":
            self._acked.add(cid)
            return
        key = (cid, method, branch)
        if key in self._txn:
            last = self._txn[key]
            if last:
                self._send(last, peer)
            return

        rr = [raw for k, _, raw in hdrs if k == "record-route"]
        to = one("to")
        if ";tag=" not in to.lower():
            to += ";tag=%s%08x" % (self.name, abs(hash(cid)) & 0xffffffff)

        def reply(code, reason, with_rr, body=""):
            out = ["SIP/2.0 %d %s" % (code, reason)] + vias
            if with_rr:
                out += rr
            out += ["From: " + one("from"), "To: " + to,
                    "Call-ID: " + cid, "CSeq: " + one("cseq"),
                    "Contact: <sip:%s@127.0.0.1:%d>" % (self.name,
                                                         self.port)]
            if body:
                out.append("Content-Type: application/sdp")
            out.append("Content-Length: %d" % len(body))
            return ("\r\n".join(out) + "\r\n\r\n" + body).encode()

        self._txn[key] = None
        if method == "INVITE":
            ringing = reply(180, "Ringing", True)
            self._txn[key] = ringing
            self._send(ringing, peer)
            sdp = ("v=0\r\no=uas 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
                   "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n")
            ok = reply(200, "OK", True, sdp)
            deadline = time.monotonic() + 32

            def send_ok(interval):
                if cid in self._acked or time.monotonic() > deadline:
                    return
                self._txn[key] = ok
                self._send(ok, peer)
                self._at(interval, lambda: send_ok(min(2 * interval, 4.0)))

            self._at(self.inv_delay, lambda: send_ok(0.5))
        elif method == "BYE":
            self._acked.add(cid)
            ok = reply(200, "OK", False)

            def send_bye_ok():
                self._txn[key] = ok
                self._send(ok, peer)

            self._at(self.bye_delay, send_bye_ok)
        else:
            with self.lock:
                self.problems.append("unexpected %s (Call-ID %s)" % (
                    method, cid))

    # ---- after the calls

    def duplicates(self, uac_acks):
        """Returns (extra, examples, problems): extra counts the copies of
        INVITEs and BYEs received beyond the first of each (a
        retransmission by the proxy, or one of the UAC's that went
        through), examples names a few; problems lists a request that came
        in more than one transaction (several branches: the proxy relayed
        a retransmission as a new request) and a call with more ACKs (of
        the 2xx, end to end) than the UAC sent (uac_acks: Call-ID ->
        ACKs)."""
        with self.lock:
            reqs = list(self.requests)
        copies, acks = {}, {}
        for method, cid, cseq, branch in reqs:
            if method == "ACK":
                acks[cid] = acks.get(cid, 0) + 1
            else:
                copies.setdefault((cid, cseq, method), []).append(branch)
        extra, examples, problems = 0, [], []
        for (cid, cseq, method), branches in sorted(copies.items()):
            if len(set(branches)) > 1:
                problems.append("%s CSeq %s of call %s reached the UAS in "
                                "%d transactions (branches %s)" % (
                                    method, cseq, cid, len(set(branches)),
                                    ", ".join(branches)))
            extra += len(branches) - 1
            if len(branches) > 1 and len(examples) < 3:
                examples.append("%s CSeq %s of call %s: %d copies" % (
                    method, cseq, cid, len(branches)))
        for cid, n in sorted(acks.items()):
            if n > uac_acks.get(cid, 0):
                problems.append("call %s: %d ACKs reached the UAS, the UAC "
                                "sent %d" % (cid, n, uac_acks.get(cid, 0)))
        return extra, examples, problems

    def summary(self):
        with self.lock:
            reqs = list(self.requests)
        n = {}
        for r in reqs:
            n[r[0]] = n.get(r[0], 0) + 1
        calls = len({r[1] for r in reqs if r[0] == "INVITE"})
        return calls, n


def tm_rtx_uac_sent(path):
    """{(method, Call-ID): count} of the requests a sipp run really sent,
    from its -trace_msg file (a message sipp "lost" on purpose is not
    written there as sent)."""
    sent = {}
    with open(path, errors="replace") as f:
        text = f.read()
    for entry in re.split(r"-{20,} \d{4}-\d\d-\d\d [\d:.]+\n", text):
        m = re.match(r"\w+ message sent \(\d+ bytes\):\s*\n\s*(\S+) ",
                     entry)
        cid = re.search(r"^Call-ID:\s*(\S+)", entry, re.M | re.I)
        if m and cid and not m.group(1).startswith("SIP/"):
            k = (m.group(1), cid.group(1))
            sent[k] = sent.get(k, 0) + 1
    return sent


def tm_rtx_server(ctx, uas, t1=None, wait=20000):
    """tm_server() relaying to uas, with the proxy's T1 set (retr_timer1,
    ms) when t1 is given: tm_proxy.cfg plus one modparam line, so that the
    proxy's own retransmissions can be kept out of a test's window."""
    if t1 is not None:
        n = ctx.seq()
        script = ctx.script("tm_proxy.lua", dest="tm-rtx-%d.lua" % n,
                            UAS1=uas, UAS2="sip:127.0.0.1:9")
        cfg = ctx.script("tm_proxy.cfg", dest="tm-rtx-%d.cfg" % n,
                         SCRIPT=script, WAIT=wait, FR=5000, FR_INV=30000)
        with open(cfg) as f:
            text = f.read()
        check('\ncfgengine "lua"' in text,
              "tm_proxy.cfg has no cfgengine line to add retr_timer1 before")
        text = text.replace('\ncfgengine "lua"',
                            '\nmodparam("tm", "retr_timer1", %d)\n'
                            'cfgengine "lua"' % t1)
        return ctx.server(ctx.write_file(os.path.basename(cfg), text))
    return tm_server(ctx, uas, wait=wait)


def tm_rtx_run(ctx, calls, uac_lost, uas_loss, t1, seed):
    """Calls through the tm proxy from sipp (tm_rtx_uac: provisional
    replies dropped, so the INVITE is retransmitted; -lost uac_lost) to a
    TmRtxUas answering each INVITE and BYE after 1.2 s (losing uas_loss
    of its traffic). Returns (errors, numbers for a note)."""
    uas = TmRtxUas("uas1", loss=uas_loss, seed=seed)
    try:
        srv = tm_rtx_server(ctx, uas.uri, t1=t1)
        before = tm_stats(srv)
        extra = ["-lost", str(uac_lost)] if uac_lost else []
        uac = tm_uac(ctx, srv, "relay", "uas1", calls=calls, rate=5,
                     scenario="tm_rtx_uac", extra=extra, timeout=90,
                     recv_timeout=30000)
        errors = tm_sipp_errors("UAC", uac, calls)
        st = tm_idle(srv, timeout=60)
        errors += tm_idle_errors("after the calls", srv, st)
        time.sleep(0.5)  # a late copy would still be counted
    finally:
        uas.stop()
    absorbed = st["rtx_absorbed"] - before["rtx_absorbed"]
    proxy_rtx = st["uac_retransmissions"] - before["uac_retransmissions"]
    uac_rtx = uac.stat("Retransmissions")
    seen, per_method = uas.summary()
    sent = tm_rtx_uac_sent(uac.messages_path)
    uac_acks = {cid: n for (m, cid), n in sent.items() if m == "ACK"}
    dup, examples, problems = uas.duplicates(uac_acks)
    errors += problems
    errors += ["UAS: " + p for p in uas.problems[:5]]
    if seen != calls:
        errors.append("the UAS saw the INVITEs of %d calls, want %d" % (
            seen, calls))
    invites = sum(n for (m, _), n in sent.items() if m == "INVITE")
    if invites <= calls:
        errors.append("the UAC sent %d INVITEs for %d calls (trace %s), "
                      "want retransmissions" % (invites, calls,
                                                uac.messages_path))
    if uac_rtx < calls:
        errors.append("the UAC retransmitted %d times for %d calls, want "
                      ">= 1 a call (its provisional replies are dropped)" %
                      (uac_rtx, calls))
    if absorbed < calls // 2:
        errors.append("tm.stats rtx_absorbed moved by %d, want >= %d" % (
            absorbed, calls // 2))
    if dup > proxy_rtx:
        errors.append("the UAS got %d extra copies of INVITEs/BYEs but the "
                      "proxy retransmitted only %d times (tm.stats "
                      "uac_retransmissions): retransmissions of the UAC "
                      "went through (UAS got %r; %s)" % (
                          dup, proxy_rtx, per_method, "; ".join(examples)))
    srv.expect_alive()
    uac_sent = {}
    for (m, _), n in sent.items():
        uac_sent[m] = uac_sent.get(m, 0) + n
    note = ("UAC retransmissions %d (sent %r), rtx_absorbed %d, proxy "
            "retransmissions %d, extra copies at the UAS %d, UAS got %r" % (
                uac_rtx, uac_sent, absorbed, proxy_rtx, dup, per_method))
    return errors, note


@e2e_test(timeout=180)
def tm_rtx_uac_loss(ctx):
    """Loss on the UAC side only: sipp drops every provisional reply (so
    it retransmits each INVITE until the 200, which the UAS sends after
    1.2 s), its BYEs wait 1.2 s for their 200 too, and -lost 5 adds random
    loss; the proxy's T1 is 2 s, longer than the UAS takes. Every call
    completes, the UAC retransmitted, rtx_absorbed moved, and the lossless
    UAS got exactly one INVITE and one BYE per call (more only as many as
    the proxy's own retransmissions, uac_retransmissions, which stays 0
    unless the box stalls) and no more ACKs than the UAC sent."""
    seed = int(os.environ.get("E2E_SEED", "0")) or random.randrange(1, 10**6)
    errors, note = tm_rtx_run(ctx, calls=20, uac_lost=5, uas_loss=0.0,
                              t1=2000, seed=seed)
    ctx.note(note)
    check(not errors, "\n  ".join(errors))


@e2e_test(timeout=180)
def tm_rtx_both_legs(ctx):
    """Loss on both legs: as tm_rtx_uac_loss, plus the UAS drops 5 % of
    the requests it gets and of the replies it sends, with the proxy's
    usual T1 (500 ms). Every call completes, rtx_absorbed moves, no
    request reaches the UAS in two transactions, and the copies the UAS
    got beyond the first are no more than the proxy's own Timer A/E
    retransmissions (uac_retransmissions). E2E_SEED=n replays the UAS's
    losses."""
    seed = int(os.environ.get("E2E_SEED", "0")) or random.randrange(1, 10**6)
    ctx.note("seed %d (E2E_SEED=%d to replay the UAS's losses)" % (seed,
                                                                    seed))
    errors, note = tm_rtx_run(ctx, calls=20, uac_lost=5, uas_loss=0.05,
                              t1=None, seed=seed)
    ctx.note(note)
    check(not errors, "\n  ".join(errors))
