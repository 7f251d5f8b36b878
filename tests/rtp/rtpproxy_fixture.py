#!/usr/bin/env python3
"""rtpproxy_fixture.py - a stand-in for the rtpproxy daemon, for tests.

Debian 12 ships no rtpproxy, so the rtpproxy module is tested against this
fixture. It speaks the rtpproxy control protocol over UDP the way rtpproxy
answers a SIP proxy: "COOKIE COMMAND ARGS" datagrams answered by
"COOKIE RESULT". It allocates relay ports and keeps sessions, but relays no
media: it is a protocol fixture, not a media relay.

Commands:
  V                         -> 20040107 (the protocol version)
  VF YYYYMMDD               -> 1 for the extensions it claims, else 0
  U<mods> CALLID IP PORT FTAG[;N] [TTAG[;N]] [NOTIFY]
                            -> "PORT IP": a relay port for stream N, the
                               same one again for the same session/stream
  L<mods> CALLID IP PORT FTAG[;N] TTAG[;N]
                            -> "PORT IP" for the answering side, "0" when
                               the session is unknown
  D CALLID FTAG [TTAG]      -> "0", "E8" when the session is unknown
  R / Q / P / S ...         -> "0"
  anything else             -> "E1"
CALLID may carry ";branch". With --no-reply-ip (or "@reply-ip off") U and
L answer the port only, as rtpproxy does when it has one address.

Test control, in band ("COOKIE @WORD ..." datagrams from anyone):
  @silent on|off   stop / resume answering protocol commands
  @reply-ip on|off answer "PORT IP" or "PORT"
  @stats           -> JSON {"commands": [...], "sessions": N, "silent": b}
  @reset           forget sessions and the command log

Usage: rtpproxy_fixture.py --listen 127.0.0.1:PORT [--ip 127.0.0.1]
       [--ports 35000-35999] [--silent] [--no-reply-ip] [--no-ptl]
Prints "ready PORT" on stdout once it listens (port 0: any free port).
"""

import argparse
import json
import socket
import sys

VERSION = "20040107"
CAPS = {"20040107", "20050322", "20060704", "20071116", "20071218",
        "20081102", "20081224", "20090810"}


class Fixture:
    def __init__(self, ip, port_lo, port_hi, silent, reply_ip, ptl):
        self.ip = ip
        self.next_port = port_lo
        self.port_lo, self.port_hi = port_lo, port_hi
        self.silent = silent
        self.reply_ip = reply_ip
        self.caps = set(CAPS) if ptl else CAPS - {"20081102"}
        self.sessions = {}   # callid -> {"creator", "other", "ports"}
        self.commands = []

    def alloc(self):
        # even ports, RTCP on the next one, as rtpproxy does
        p = self.next_port
        self.next_port += 2
        if self.next_port > self.port_hi:
            self.next_port = self.port_lo
        return p

    def answer_port(self, port):
        return "%d %s" % (port, self.ip) if self.reply_ip else str(port)

    @staticmethod
    def split_tag(t):
        tag, _, n = t.partition(";")
        return tag, (n or "1")

    def update(self, args, lookup):
        # CALLID IP PORT FTAG[;N] [TTAG[;N]] [NOTIFY]. FTAG names the
        # party whose address is in the command; a session has two relay
        # ports per stream: "a" faces the party who created it (sent in
        # the SDP to the other party), "b" faces the other party.
        if len(args) < 4:
            return "E1"
        callid = args[0]
        ftag, n = self.split_tag(args[3])
        ttag = self.split_tag(args[4])[0] if len(args) > 4 else ""
        s = self.sessions.get(callid)
        if s is None:
            if lookup:
                return "0"
            s = self.sessions[callid] = {"creator": ftag, "other": ttag,
                                         "ports": {}}
        if ftag == s["creator"]:
            mine = True
        elif ftag == s["other"] or (not lookup and not s["other"]):
            s["other"] = ftag
            mine = False
        else:
            return "0"
        if lookup and ttag and ttag not in (s["creator"], s["other"]):
            if s["other"]:
                return "0"
            s["other"] = ttag
        side = "a" if mine != lookup else "b"
        key = "%s%s" % (side, n)
        if key not in s["ports"]:
            s["ports"][key] = self.alloc()
        return self.answer_port(s["ports"][key])

    def delete(self, args):
        if len(args) < 2:
            return "E1"
        callid = args[0]
        if callid not in self.sessions:
            # a delete without branch covers every branch of the call
            hits = [c for c in self.sessions if c.split(";")[0] == callid]
            if not hits:
                return "E8"
            for c in hits:
                del self.sessions[c]
            return "0"
        del self.sessions[callid]
        return "0"

    def handle(self, line):
        """The answer to one command line (without cookie), or None."""
        parts = line.split()
        if not parts:
            return "E1"
        cmd, args = parts[0], parts[1:]
        if cmd.startswith("@"):
            return self.control(cmd[1:], args)
        self.commands.append(line)
        if self.silent:
            return None
        op = cmd[0].upper()
        if cmd == "V":
            return VERSION
        if cmd == "VF":
            return "1" if args and args[0] in self.caps else "0"
        if op == "U":
            return self.update(args, False)
        if op == "L":
            return self.update(args, True)
        if op == "D":
            return self.delete(args)
        if op in "RQPS":
            return "0"
        return "E1"

    def control(self, word, args):
        on = bool(args) and args[0] in ("on", "1", "yes")
        if word == "silent":
            self.silent = on
        elif word == "reply-ip":
            self.reply_ip = on
        elif word == "reset":
            self.sessions.clear()
            self.commands = []
        elif word == "stats":
            return json.dumps({"commands": self.commands,
                               "sessions": len(self.sessions),
                               "silent": self.silent})
        else:
            return "E1"
        return "ok"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", required=True, help="HOST:PORT")
    ap.add_argument("--ip", default="127.0.0.1",
                    help="address given in U/L answers")
    ap.add_argument("--ports", default="35000-35999")
    ap.add_argument("--silent", action="store_true")
    ap.add_argument("--no-reply-ip", action="store_true")
    ap.add_argument("--no-ptl", action="store_true",
                    help="deny extension 20081102 (payload type lists)")
    o = ap.parse_args()
    host, _, port = o.listen.rpartition(":")
    host = host.strip("[]")
    lo, _, hi = o.ports.partition("-")
    fx = Fixture(o.ip, int(lo), int(hi or lo), o.silent, not o.no_reply_ip,
                 not o.no_ptl)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_DGRAM)
    sock.bind((host, int(port)))
    print("ready %d" % sock.getsockname()[1], flush=True)
    while True:
        data, peer = sock.recvfrom(65536)
        text = data.decode("utf-8", "replace").rstrip("\r\n")
        cookie, _, line = text.partition(" ")
        ans = fx.handle(line)
        if ans is not None:
            sock.sendto(("%s %s\n" % (cookie, ans)).encode(), peer)


if __name__ == "__main__":
    sys.exit(main())
