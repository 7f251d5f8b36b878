"""harness.py - the pieces end-to-end tests are made of.

A test gets a Ctx: its own work directory, and helpers to start a real
osprey process (Server), drive it with sipp (Ctx.sipp), talk raw SIP over
sockets (raw_udp_request), call the control socket (Server.ctl /
Server.rpc_raw) and assert on what came back (fail, check). Every process a
test starts is registered with its Ctx and ended when the test ends,
whether it passed or not; the runner also kills the test's whole process
group if it runs past its timeout.

Ports are picked free by binding port 0, so tests can run in parallel with
each other and with a server on 5060. Standard library only.
"""

import json
import os
import re
import signal
import socket
import subprocess
import time

SIP_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(SIP_DIR))
SCENARIOS = os.path.join(SIP_DIR, "scenarios")
SCRIPTS = os.path.join(SIP_DIR, "scripts")

TESTS = {}


class TestFailure(Exception):
    """The test failed; the message says why."""


class TestSkip(Exception):
    """The test cannot run here (e.g. no IPv6); the message says why."""


class E2ETest:
    def __init__(self, name, fn, timeout, doc):
        self.name = name
        self.fn = fn
        self.timeout = timeout
        self.doc = doc


def e2e_test(timeout=60):
    """Register a test function fn(ctx). Its name is the function's name;
    `timeout` (seconds) is enforced by the runner, which kills the test's
    process group when it runs out."""

    def deco(fn):
        doc = " ".join((fn.__doc__ or "").split())
        TESTS[fn.__name__] = E2ETest(fn.__name__, fn, timeout, doc)
        return fn

    return deco


def fail(msg):
    raise TestFailure(msg)


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


# ---------------------------------------------------------------- ports

_handed_out = set()


def have_ipv6():
    """True when ::1 can be bound (loopback IPv6 configured)."""
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        try:
            s.bind(("::1", 0))
        finally:
            s.close()
        return True
    except OSError:
        return False


def free_port(host="127.0.0.1"):
    """A port number free for both UDP and TCP on host, not handed out
    before by this process. Racy by nature (another process may take it
    before we use it), but good enough on a test machine."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(200):
        u = socket.socket(fam, socket.SOCK_DGRAM)
        t = socket.socket(fam, socket.SOCK_STREAM)
        try:
            u.bind((host, 0))
            port = u.getsockname()[1]
            if port in _handed_out or port < 10000:
                continue
            t.bind((host, port))
            _handed_out.add(port)
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    fail("could not find a free port on %s" % host)


def hostport(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def _proc_net_ports(proto, v6):
    """Set of local ports bound in /proc/net/{udp,tcp}[6] (TCP: LISTEN
    sockets only)."""
    name = "/proc/net/%s%s" % (proto, "6" if v6 else "")
    ports = set()
    try:
        with open(name) as f:
            next(f)
            for line in f:
                fields = line.split()
                if len(fields) < 4:
                    continue
                port = int(fields[1].rsplit(":", 1)[1], 16)
                if proto == "tcp" and fields[3] != "0A":
                    continue
                ports.add(port)
    except OSError:
        pass
    return ports


def _is_bound(proto, host, port):
    v6 = ":" in host
    ports = _proc_net_ports(proto, v6)
    if not v6:
        # an IPv4 address may also be served by a dual-stack v6 socket
        ports |= _proc_net_ports(proto, True)
    return port in ports


# ---------------------------------------------------------------- context


class Ctx:
    """Per-test state: work directory, build directory, started processes.

    Every helper that starts a process records it here so that finish()
    can stop it, even when the test failed half-way."""

    def __init__(self, name, workdir, build_dir):
        self.name = name
        self.workdir = workdir
        self.build_dir = build_dir
        self.osprey = os.path.join(build_dir, "osprey")
        self.ospreyctl = os.path.join(build_dir, "ospreyctl")
        self.servers = []
        self.procs = []
        self.notes = []
        self._seq = 0

    def seq(self):
        self._seq += 1
        return self._seq

    def path(self, *parts):
        return os.path.join(self.workdir, *parts)

    def log(self, msg):
        print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)

    def note(self, msg):
        """A remark shown in the runner's output even when the test
        passes (e.g. a skipped sub-case)."""
        self.notes.append(msg)
        self.log("note: " + msg)

    # ---- files

    def write_file(self, name, text, mode=None):
        p = self.path(name)
        tmp = p + ".tmp%d" % os.getpid()
        with open(tmp, "w") as f:
            f.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, p)  # atomic: a reader never sees half a file
        return p

    def script(self, name, dest=None, **subst):
        """Copy tests/sip/scripts/NAME into the work dir (as DEST, default
        the same name), replacing each @KEY@ with subst[KEY]. Returns the
        path."""
        with open(os.path.join(SCRIPTS, name)) as f:
            text = f.read()
        for k, v in subst.items():
            text = text.replace("@%s@" % k, str(v))
        left = re.findall(r"@[A-Z_]+@", text)
        check(not left, "script %s: unreplaced placeholders %s" % (name, left))
        return self.write_file(dest or name, text)

    def scenario(self, name, **subst):
        """Like script(), for tests/sip/scenarios/NAME.xml; the copy gets a
        unique name so a test can use one scenario with several values."""
        with open(os.path.join(SCENARIOS, name + ".xml")) as f:
            text = f.read()
        for k, v in subst.items():
            text = text.replace("@%s@" % k, str(v))
        return self.write_file("%s-%d.xml" % (name, self.seq()), text)

    # ---- processes

    def spawn(self, argv, name, **kw):
        """Start a helper process whose output goes to NAME.out in the work
        dir. It stays in the test's process group, so the runner's timeout
        kill reaches it."""
        out = open(self.path(name + ".out"), "wb")
        self.log("spawn: " + " ".join(argv))
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, cwd=self.workdir,
                             **kw)
        out.close()
        p.out_path = self.path(name + ".out")
        self.procs.append(p)
        return p

    def run(self, argv, timeout=30, **kw):
        """Run a command to completion; returns CompletedProcess with
        text stdout/stderr. Fails the test on timeout."""
        self.log("run: " + " ".join(argv))
        try:
            return subprocess.run(argv, capture_output=True, text=True,
                                  errors="replace", timeout=timeout,
                                  cwd=self.workdir,
                                  stdin=subprocess.DEVNULL, **kw)
        except subprocess.TimeoutExpired:
            fail("command timed out after %ss: %s" % (timeout, " ".join(argv)))
        except OSError as e:
            fail("cannot run %s: %s" % (argv[0], e))

    def server(self, script, listens=None, workers=2, rpc=True, args=(),
               start=True, wait_ports=None):
        """A Server for script (a path). listens: list of -l specs (default:
        UDP and TCP on a free 127.0.0.1 port). wait_ports: list of
        (proto, host, port) to wait for when the listens are not on the
        command line (e.g. they come from a config file)."""
        srv = Server(self, script, listens, workers, rpc, args, wait_ports)
        self.servers.append(srv)
        if start:
            srv.start()
        return srv

    def finish(self):
        """Stop everything this test started. Returns a list of problems
        found while stopping servers (crash, unclean exit, sanitizer
        report) so the runner can fail an otherwise passing test."""
        problems = []
        for srv in self.servers:
            try:
                problems += srv.stop_checked()
            except Exception as e:  # noqa: BLE001 - keep cleaning up
                problems.append("%s: %s" % (srv.label, e))
        for p in self.procs:
            _terminate(p)
        return problems

    # ---- sipp

    def sipp(self, scenario, remote=None, local_ip="127.0.0.1", transport="u1",
             calls=1, rate=10, service="service", keys=None, subst=None,
             timeout=30, recv_timeout=5000, extra=(), background=False,
             trace_msg=None, ruri_host=None, port=None):
        """Run sipp with tests/sip/scenarios/SCENARIO.xml (placeholders
        from subst). remote: "host:port" of the peer (None for a UAS).
        Every -key in keys is passed; maxfwd defaults to 70 and ruri_host
        to remote. Bounded: -m calls, -timeout, -recv_timeout. Returns a
        SippResult, or a running Sipp handle when background is set."""
        n = self.seq()
        label = "sipp-%s-%d" % (scenario, n)
        scen = self.scenario(scenario, **(subst or {}))
        port = port or free_port(local_ip)
        argv = ["sipp"]
        if remote:
            argv.append(remote)
        k = {"maxfwd": "70", "ruri_host": ruri_host or remote or "invalid"}
        k.update(keys or {})
        argv += ["-sf", scen, "-i", local_ip, "-p", str(port),
                 "-t", transport, "-m", str(calls), "-r", str(rate),
                 "-s", service,
                 "-timeout", "%ds" % timeout, "-timeout_error",
                 "-recv_timeout", str(recv_timeout), "-nostdin",
                 "-trace_logs", "-log_file", self.path(label + ".log"),
                 "-trace_err", "-error_file", self.path(label + ".err"),
                 "-trace_stat", "-stf", self.path(label + ".csv"),
                 "-fd", "1"]
        if trace_msg if trace_msg is not None else calls <= 50:
            argv += ["-trace_msg", "-message_file", self.path(label + ".msg")]
        for kk, vv in k.items():
            argv += ["-key", kk, str(vv)]
        argv += list(extra)
        h = Sipp(self, label, argv, port, timeout)
        if background:
            return h
        return h.wait()


def _terminate(p, grace=3.0):
    if p.poll() is not None:
        return p.returncode
    try:
        p.terminate()
        return p.wait(grace)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait()


# ---------------------------------------------------------------- sipp


class SippResult:
    def __init__(self, label, rc, workdir):
        self.label = label
        self.rc = rc
        base = os.path.join(workdir, label)
        self.log_lines = _read_lines(base + ".log")
        self.errors = _read_text(base + ".err")
        self.output = _read_text(base + ".out")
        self.messages_path = base + ".msg"
        self.stats = _last_csv_row(base + ".csv")

    def stat(self, name):
        try:
            return int(self.stats.get(name + "(C)", "-1"))
        except ValueError:
            return -1

    @property
    def successful(self):
        return self.stat("SuccessfulCall")

    @property
    def failed(self):
        return self.stat("FailedCall")

    def reasons(self):
        """Reason phrases logged by the scenario (reason=... lines)."""
        out = []
        for line in self.log_lines:
            m = re.match(r"reason=(.*?) line=", line)
            if m:
                out.append(m.group(1))
        return out

    def describe(self):
        errs = re.split(r"\n|(?=\d{4}-\d\d-\d\d\t)", self.errors.strip())
        errs = [e for e in errs if e.strip()][-6:]
        s = "%s: rc=%s successful=%s failed=%s" % (
            self.label, self.rc, self.successful, self.failed)
        fails = {k: v for k, v in self.stats.items()
                 if k.startswith("Failed") and k.endswith("(C)")
                 and v not in ("0", "")}
        if fails:
            s += " " + " ".join("%s=%s" % kv for kv in sorted(fails.items()))
        if errs:
            s += "\n    sipp errors: " + "\n    ".join(errs)
        return s

    def expect_ok(self, calls=None, what=""):
        """Fail unless sipp exited 0 with every call successful."""
        ok = self.rc == 0 and self.failed in (0, -1)
        if calls is not None and self.successful != calls:
            ok = False
        if not ok:
            fail("%ssipp did not complete all calls: %s" % (
                what + ": " if what else "", self.describe()))


class Sipp:
    def __init__(self, ctx, label, argv, port, timeout):
        self.ctx = ctx
        self.label = label
        self.port = port
        self.timeout = timeout
        self.proc = ctx.spawn(argv, label)

    def wait(self):
        try:
            rc = self.proc.wait(self.timeout + 15)
        except subprocess.TimeoutExpired:
            _terminate(self.proc)
            rc = "killed (hung past -timeout)"
        return SippResult(self.label, rc, self.ctx.workdir)


def _read_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _read_lines(path):
    return _read_text(path).splitlines()


def _last_csv_row(path):
    lines = [l for l in _read_lines(path) if l.strip()]
    if len(lines) < 2:
        return {}
    head = lines[0].split(";")
    last = lines[-1].split(";")
    return dict(zip(head, last))


# ---------------------------------------------------------------- server


class Server:
    """One osprey process. Its stderr goes to server-N.stderr in the work
    dir; start() waits until its listening ports (and control socket) are
    up, and fails with the stderr tail when the process dies first."""

    def __init__(self, ctx, script, listens, workers, rpc, args, wait_ports):
        self.ctx = ctx
        self.n = ctx.seq()
        self.label = "server-%d" % self.n
        self.script = script
        self.host = "127.0.0.1"
        if listens is None:
            self.port = free_port(self.host)
            listens = ["udp:%s" % hostport(self.host, self.port),
                       "tcp:%s" % hostport(self.host, self.port)]
        elif listens:
            m = re.match(r"\w+:(\[.*\]|[^:]+):(\d+)$", listens[0])
            self.host = m.group(1).strip("[]") if m else self.host
            self.port = int(m.group(2)) if m else None
        else:  # listeners come from a config file
            self.port = None
            if wait_ports:
                self.host, self.port = wait_ports[0][1], wait_ports[0][2]
        self.listens = listens
        self.wait_ports = wait_ports
        self.workers = workers
        self.sock = ctx.path("ctl-%d.sock" % self.n) if rpc else None
        self.args = list(args)
        self.stderr_path = ctx.path(self.label + ".stderr")
        self.proc = None
        self.stop_sent = False   # we signalled it to stop
        self.exit_expected = False  # the test wanted it to exit by itself
        self.stop_timed_out = False

    @property
    def addr(self):
        """"host:port" of the first listener, as sipp's remote argument."""
        return hostport(self.host, self.port)

    def argv(self):
        a = [self.ctx.osprey, "-f", self.script, "-n", str(self.workers)]
        for l in self.listens:
            a += ["-l", l]
        if self.sock:
            a += ["-r", self.sock]
        return a + self.args

    def start(self, timeout=10):
        if not os.access(self.ctx.osprey, os.X_OK):
            fail("no server binary at %s (build it with make)" % self.ctx.osprey)
        err = open(self.stderr_path, "ab")
        argv = self.argv()
        self.ctx.log("%s: %s" % (self.label, " ".join(argv)))
        # each test keeps its default database (scripts run directly) in
        # its own work dir, never in the machine's /var/lib/osprey
        env = dict(os.environ)
        env.setdefault("OSPREY_DATA_DIR", self.ctx.workdir)
        self.proc = subprocess.Popen(argv, stdout=err, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     cwd=self.ctx.workdir, env=env)
        err.close()
        self.wait_ready(timeout)

    def _wanted(self):
        if self.wait_ports is not None:
            return self.wait_ports
        out = []
        for l in self.listens:
            m = re.match(r"(\w+):(\[.*\]|[^:]+):(\d+)$", l)
            if m:
                out.append((m.group(1), m.group(2).strip("[]"), int(m.group(3))))
        return out

    def wait_ready(self, timeout=10):
        deadline = time.time() + timeout
        want = self._wanted()
        while True:
            if self.proc.poll() is not None:
                fail("%s exited with %s during start-up:\n%s" % (
                    self.label, self.proc.returncode, self.tail(20)))
            missing = [w for w in want if not _is_bound(w[0], w[1], w[2])]
            if self.sock and not os.path.exists(self.sock):
                missing.append(("rpc", self.sock, 0))
            if not missing:
                return
            if time.time() > deadline:
                fail("%s not ready after %ss, missing %s:\n%s" % (
                    self.label, timeout, missing, self.tail(20)))
            time.sleep(0.05)

    # ---- state and logs

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def expect_alive(self, what=""):
        if not self.alive():
            fail("%s died%s (exit %s):\n%s" % (
                self.label, " " + what if what else "",
                self.proc.returncode if self.proc else None, self.tail(30)))

    def stderr_text(self):
        return _read_text(self.stderr_path)

    def stderr_lines(self):
        return self.stderr_text().splitlines()

    def mark(self):
        """A position in the stderr log; lines_since(mark) reads what was
        logged after it."""
        return len(self.stderr_text().encode())

    def lines_since(self, mark):
        with open(self.stderr_path, "rb") as f:
            f.seek(mark)
            return f.read().decode(errors="replace").splitlines()

    def wait_log(self, pattern, since=0, timeout=3.0):
        """Wait until a stderr line logged after `since` matches regex
        pattern; returns the line or None."""
        deadline = time.time() + timeout
        rx = re.compile(pattern)
        while True:
            for line in self.lines_since(since):
                if rx.search(line):
                    return line
            if time.time() > deadline:
                return None
            time.sleep(0.05)

    def tail(self, n=30):
        lines = self.stderr_lines()
        return "\n".join("    | " + l for l in lines[-n:])

    # ---- stopping

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        """Send sig and wait up to timeout for the exit; returns the exit
        code, or None when it had to be killed."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.stop_sent = True
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop_timed_out = True
            self.proc.kill()
            self.proc.wait()
            return None

    def stop_checked(self):
        """Stop and report problems: died on its own before the end of the
        test, exit code other than 0 on SIGTERM/SIGINT, no exit within 5 s
        of it, sanitizer or crash reports in stderr."""
        problems = []
        if self.proc is None:
            return problems
        if self.exit_expected:
            self.stop()
        elif self.proc.poll() is not None and not self.stop_sent:
            problems.append("%s had exited (code %s) before the end of the "
                            "test" % (self.label, self.proc.returncode))
        else:
            rc = self.stop()
            if self.stop_timed_out:
                problems.append("%s did not exit within 5 s of SIGTERM"
                                % self.label)
            elif rc != 0:
                problems.append("%s exited with %s when asked to stop"
                                % (self.label, rc))
        text = self.stderr_text()
        for pat in (r"AddressSanitizer", r"LeakSanitizer", r"runtime error:",
                    r"Segmentation fault", r"\bpanic\b"):
            if re.search(pat, text):
                problems.append("%s stderr contains %r" % (self.label, pat))
        return problems

    # ---- control socket

    def ctl(self, method, *params, timeout=10):
        """Run ospreyctl -s SOCK METHOD PARAMS. Returns (ok, output, rc):
        ok is False when ospreyctl exits non-zero or prints a JSON-RPC
        error object; output is stdout+stderr."""
        if not os.access(self.ctx.ospreyctl, os.X_OK):
            fail("no ospreyctl at %s" % self.ctx.ospreyctl)
        r = self.ctx.run([self.ctx.ospreyctl, "-s", self.sock, method]
                         + [str(p) for p in params], timeout=timeout)
        out = (r.stdout or "") + (r.stderr or "")
        ok = r.returncode == 0
        try:
            j = json.loads(r.stdout)
            if isinstance(j, dict) and "error" in j and "result" not in j:
                ok = False
        except ValueError:
            pass
        return ok, out, r.returncode

    def ctl_json(self, method, *params):
        """ospreyctl call that must succeed; returns the parsed result."""
        ok, out, rc = self.ctl(method, *params)
        check(ok, "ospreyctl %s failed (exit %s): %s" % (method, rc, out.strip()))
        try:
            return json.loads(out)
        except ValueError:
            fail("ospreyctl %s printed no JSON: %r" % (method, out[:300]))

    def stats(self):
        """stats.get_statistics all, as {"group:name": int}."""
        res = self.ctl_json("stats.get_statistics", "all")
        if isinstance(res, dict) and "result" in res:
            res = res["result"]
        check(isinstance(res, list),
              "stats.get_statistics: expected an array, got %r" % (res,))
        out = {}
        for item in res:
            m = re.match(r"\s*([\w.-]+:[\w.-]+)\s*=\s*(-?\d+)\s*$", str(item))
            check(m, "stats.get_statistics: bad entry %r "
                  "(want \"group:name = value\")" % (item,))
            out[m.group(1)] = int(m.group(2))
        return out

    def rpc_raw(self, data, timeout=3.0):
        """Send raw bytes to the control socket and return the first JSON
        value it answers (parsed), or the raw text when no complete JSON
        value came back within timeout. The server frames requests as
        consecutive JSON values and answers each with one line."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        buf = b""
        try:
            s.connect(self.sock)
            s.sendall(data)
            while True:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                buf += chunk
                line = buf.split(b"\n", 1)[0]
                try:
                    return json.loads(line)
                except ValueError:
                    continue
        finally:
            s.close()
        return buf.decode(errors="replace")


# ---------------------------------------------------------------- raw SIP


def raw_udp_request(dest, build, timeout=1.0, bind_host=None):
    """Send one datagram built by build(local_host, local_port) -> bytes
    to dest=(host, port) from a fresh socket, and return the first reply
    datagram (bytes) or None when nothing came within timeout."""
    host = dest[0]
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        s.bind((bind_host or host, 0))
        lh, lp = s.getsockname()[:2]
        s.settimeout(timeout)
        s.sendto(build(lh, lp), dest)
        try:
            data, _ = s.recvfrom(65536)
            return data
        except socket.timeout:
            return None
    finally:
        s.close()


def status_line(data):
    """First line of a SIP message as text, or None."""
    if data is None:
        return None
    return data.split(b"\r\n", 1)[0].decode(errors="replace")
