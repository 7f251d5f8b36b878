#!/usr/bin/env python3
"""dnsfix.py - a small authoritative DNS server for tests (standard library
only). It answers A, AAAA, SRV and NAPTR questions over UDP from a zone
given as text, logs every question it gets, and can be told to ignore a
name (to provoke timeouts).

Zone text, one record per line ('#' starts a comment):

    name  ttl  A      192.0.2.1
    name  ttl  AAAA   2001:db8::1
    name  ttl  SRV    priority weight port target
    name  ttl  NAPTR  order preference flags service replacement

Answers: the records matching (name, type); NOERROR with no answer when the
name has records of other types only; NXDOMAIN when it has none.

As a program (for end-to-end tests):

    tests/dns/dnsfix.py --zone tests/dns/example.zone [--port 0]
                        [--silent name] [--log queries.log]

prints "port N" on its first line of output once it is listening, then
serves until killed; point Osprey at it with OSP_DNS_SERVERS=127.0.0.1:N.
Each question is appended to the log as "TYPE name".

As a module (from a Python test):

    fx = DnsFixture(zone_text); fx.start()
    ... OSP_DNS_SERVERS="127.0.0.1:%d" % fx.port ...
    fx.count("SRV", "_sip._udp.example.test"); fx.stop()
"""
import argparse
import ipaddress
import socket
import struct
import sys
import threading

TYPES = {"A": 1, "AAAA": 28, "SRV": 33, "NAPTR": 35}
NAMES = {v: k for k, v in TYPES.items()}


def parse_zone(text):
    """[(name, ttl, type, fields)] from zone text; raises ValueError."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        f = line.split()
        if len(f) < 4 or f[2].upper() not in TYPES:
            raise ValueError("zone line %d: %r" % (n, line))
        want = {"A": 1, "AAAA": 1, "SRV": 4, "NAPTR": 5}[f[2].upper()]
        if len(f) != 3 + want:
            raise ValueError("zone line %d: %d fields for %s, want %d"
                             % (n, len(f) - 3, f[2], want))
        out.append((f[0].rstrip(".").lower(), int(f[1]), f[2].upper(), f[3:]))
    return out


def enc_name(name):
    name = name.rstrip(".")
    b = b""
    for label in name.split(".") if name else []:
        raw = label.encode()
        b += bytes([len(raw)]) + raw
    return b + b"\0"


def enc_cstr(s):
    raw = s.encode()
    return bytes([len(raw)]) + raw


def enc_rdata(rtype, f):
    if rtype == "A":
        return ipaddress.IPv4Address(f[0]).packed
    if rtype == "AAAA":
        return ipaddress.IPv6Address(f[0]).packed
    if rtype == "SRV":
        return struct.pack(">HHH", int(f[0]), int(f[1]), int(f[2])) + \
            enc_name(f[3])
    # NAPTR: order pref flags service regexp(empty) replacement
    return struct.pack(">HH", int(f[0]), int(f[1])) + enc_cstr(f[2]) + \
        enc_cstr(f[3]) + enc_cstr("") + enc_name(f[4])


class DnsFixture:
    def __init__(self, zone_text="", host="127.0.0.1", port=0, log=None):
        self.lock = threading.Lock()
        self.records = parse_zone(zone_text)
        self.silent = set()
        self.queries = []  # (type name, qname)
        self.log = log
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.port = self.sock.getsockname()[1]
        self.thread = None
        self.stopping = False

    def set_zone(self, zone_text):
        recs = parse_zone(zone_text)
        with self.lock:
            self.records = recs

    def count(self, rtype=None, name=None):
        with self.lock:
            return sum(1 for t, n in self.queries
                       if (rtype is None or t == rtype) and
                       (name is None or n == name.lower()))

    def answer(self, q):
        if len(q) < 12:
            return None
        o, labels = 12, []
        while o < len(q) and q[o]:
            ln = q[o]
            labels.append(q[o + 1:o + 1 + ln].decode("ascii", "replace"))
            o += 1 + ln
        if o + 5 > len(q):
            return None
        qname = ".".join(labels).lower()
        qtype = struct.unpack(">H", q[o + 1:o + 3])[0]
        qend = o + 5
        tname = NAMES.get(qtype, str(qtype))
        with self.lock:
            self.queries.append((tname, qname))
            if self.log:
                with open(self.log, "a") as f:
                    f.write("%s %s\n" % (tname, qname))
            if qname in self.silent:
                return None
            known = [r for r in self.records if r[0] == qname]
        ans = b""
        n = 0
        for name, ttl, rtype, fields in known:
            if TYPES[rtype] != qtype:
                continue
            rd = enc_rdata(rtype, fields)
            ans += enc_name(name) + struct.pack(">HHIH", qtype, 1, ttl,
                                                len(rd)) + rd
            n += 1
        rcode = 0 if known else 3
        flags = 0x8400 | (q[2] & 1) << 8 | 0x80 | rcode
        hdr = q[:2] + struct.pack(">HHHHH", flags, 1, n, 0, 0)
        return hdr + q[12:qend] + ans

    def serve(self):
        while not self.stopping:
            try:
                q, peer = self.sock.recvfrom(1500)
            except OSError:
                return
            r = self.answer(q)
            if r:
                self.sock.sendto(r, peer)

    def start(self):
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stopping = True
        self.sock.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--zone", required=True, help="zone file")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--silent", action="append", default=[],
                    help="never answer questions for this name")
    ap.add_argument("--log", help="append each question to this file")
    a = ap.parse_args()
    with open(a.zone) as f:
        fx = DnsFixture(f.read(), a.host, a.port, a.log)
    fx.silent = {s.rstrip(".").lower() for s in a.silent}
    print("port %d" % fx.port, flush=True)
    try:
        fx.serve()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
