"""stock.py - Kamailio's stock KEMI examples, run by Osprey.

    tests/stock/run [--build-dir DIR] [--keep] [-v] [TEST...]

TEST is lua, jsdt, python3 (a call through each stock script) or refusals
(default: all four). For each engine, the test takes the files Debian's
kamailio 5.6 package installs under /usr/share/doc/kamailio/examples/kemi/
(kamailio-basic-kemi.cfg and the engine's kamailio-basic-kemi-*.{lua,js,py}),
copies them into its work directory, changes the cfg only as a user without
MySQL would (EDITS below: the database module and DBURL, the listen
address, the script path), selects the engine with -A WITH_CFG<ENGINE> as
Kamailio's documentation does, and starts Osprey on it. Then, with sipp:

  - alice and bob are added as subscribers (ospreyctl subscriber add);
  - bob (a sipp UAS on its own port) REGISTERs with digest auth: 401, 200;
  - alice REGISTERs with digest auth; both contacts are in ul.dump;
  - alice calls bob: INVITE, 407, ACK, INVITE with credentials, 180, 200
    from bob, ACK and BYE along the record-routed path, 200;
  - the acc module logged "ACC: transaction answered" for the INVITE and
    the BYE with the stock log_extra values (src_user=alice, ...), and
    wrote both to the SQLite acc table with the db_extra columns
    (WITH_ACCDB is on in the stock cfg);
  - alice's MESSAGE to another domain is authenticated and relayed with
    the P-Hint: outbound header of the script's "sipout" part.

The script files are used unchanged (the test checks their bytes).
`refusals` checks what Osprey says where it cannot honour the cfg: as
shipped (db_mysql), with WITH_TLS; and that WITH_DEBUG's debugger module is
accepted with a warning. The tests are skipped when the kamailio package is
not installed, and fail instead with OSP_STOCK_REQUIRED=1 (make test sets
it; scripts/deps installs the package). Exit status 0 when nothing failed.
See README.md.
"""

import argparse
import os
import re
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "tests", "sip"))

import harness  # noqa: E402
from harness import TestFailure, TestSkip, check, fail, free_port  # noqa: E402

# our own scenarios (the harness reads them from this folder)
harness.SCENARIOS = os.path.join(HERE, "scenarios")

EXAMPLES = "/usr/share/doc/kamailio/examples/kemi"
STOCK_CFG = "kamailio-basic-kemi.cfg"
DOMAIN = "127.0.0.1"
TIMEOUT = 120  # seconds per test

# engine -> (script file, -A define, name of the app module in the cfg)
ENGINES = {
    "lua": ("kamailio-basic-kemi-lua.lua", "WITH_CFGLUA", "app_lua"),
    "jsdt": ("kamailio-basic-kemi-jsdt.js", "WITH_CFGJSDT", "app_jsdt"),
    "python3": ("kamailio-basic-kemi-python.py", "WITH_CFGPYTHON3",
                "app_python3"),
}

# The changes a user without MySQL makes to kamailio-basic-kemi.cfg, as
# (what, regular expression, replacement). Each must match exactly once:
# a different stock file fails the test instead of being run half-edited.
# Nothing else changes: WITH_MYSQL (the name of the "use a database" switch),
# WITH_AUTH, WITH_IPAUTH, WITH_USRLOCDB, WITH_NAT, WITH_ANTIFLOOD and
# WITH_ACCDB stay defined, as shipped.
EDITS = [
    ("the database module: SQLite instead of MySQL",
     r'^loadmodule "db_mysql\.so"$', 'loadmodule "db_sqlite.so"'),
    ("DBURL: an SQLite file in the work dir",
     r'^#!define DBURL "mysql://[^"]*"$', '#!define DBURL "sqlite://{db}"'),
    ("the listen address: loopback, a free port",
     r'^#listen=udp:10\.0\.0\.10:5060$', 'listen=udp:127.0.0.1:{port}'),
    ("the routing script: the copy in the work dir",
     r'^modparam\("{app}", "load", "/usr/local/etc/kamailio/{script}"\)$',
     'modparam("{app}", "load", "{workdir}/{script}")'),
]


def stock_files(script):
    cfg = os.path.join(EXAMPLES, STOCK_CFG)
    src = os.path.join(EXAMPLES, script)
    if not (os.path.exists(cfg) and os.path.exists(src)):
        why = ("Kamailio's KEMI examples are not in %s (Debian package "
               "kamailio, installed by scripts/deps; an image that "
               "excludes /usr/share/doc drops them)" % EXAMPLES)
        # make test (scripts/run-tests) requires them: no silent skip in CI
        if os.environ.get("OSP_STOCK_REQUIRED") == "1":
            fail(why)
        raise TestSkip(why)
    return cfg, src


def edit_cfg(text, values):
    """Apply EDITS to the stock cfg text; returns the new text and the list
    of changed lines (for the log)."""
    changed = []
    for what, rx, repl in EDITS:
        rx = rx.format(**{k: re.escape(str(v)) for k, v in values.items()})
        repl = repl.format(**values)
        new, n = re.subn(rx, repl.replace("\\", "\\\\"), text,
                         flags=re.MULTILINE)
        check(n == 1, "stock cfg edit '%s': pattern %r matched %d times, "
              "want 1 (has the stock file changed?)" % (what, rx, n))
        changed.append("%s: %s" % (what, repl))
        text = new
    return text, changed


def stock_server(ctx, engine):
    """Copy and edit the stock files into the work dir, start Osprey on
    them; returns the Server."""
    script, define, app = ENGINES[engine]
    cfg_src, script_src = stock_files(script)
    with open(script_src, "rb") as f:
        original = f.read()
    with open(ctx.path(script), "wb") as f:
        f.write(original)
    port = free_port()
    with open(cfg_src) as f:
        text, changed = edit_cfg(f.read(), {
            "db": ctx.path("kamailio.db"), "port": port,
            "workdir": ctx.workdir, "script": script, "app": app})
    for c in changed:
        ctx.log("cfg edit: " + c)
    cfg = ctx.write_file(STOCK_CFG, text)
    srv = ctx.server(cfg, listens=[], args=["-A", define],
                     wait_ports=[("udp", "127.0.0.1", port)])
    with open(ctx.path(script), "rb") as f:
        check(f.read() == original, "the script was modified")
    return srv


def add_subscriber(srv, user, password):
    ok, out, rc = srv.ctl("subscriber", "add", "%s@%s" % (user, DOMAIN),
                          password)
    check(ok, "ospreyctl subscriber add %s: exit %s: %s" % (user, rc, out))


def register(ctx, srv, user, password, contact_port):
    r = ctx.sipp("register", remote=srv.addr, service=user,
                 subst={"DOMAIN": DOMAIN, "CONTACT_PORT": contact_port},
                 extra=["-au", user, "-ap", password], timeout=20)
    if r.rc != 0 or r.successful != 1:
        fail("%s's REGISTER with auth: %s" % (user, r.describe()))


def acc_lines(srv, method):
    rx = re.compile(r"ACC: transaction answered: timestamp=\d+;method=%s;"
                    % method)
    return [l for l in srv.stderr_lines() if rx.search(l)]


def check_acc_log(srv, method, to_tag_re):
    """The stock log_extra: src_user=$fU;src_domain=$fd;src_ip=$si;
    dst_ouser=$tU;dst_user=$rU;dst_domain=$rd."""
    want = (r"ACC: transaction answered: timestamp=\d+;method=%s;"
            r"from_tag=\d+A1;to_tag=%s;call_id=[^;]+;code=200;reason=OK;"
            r"src_user=alice;src_domain=127\.0\.0\.1;src_ip=127\.0\.0\.1;"
            r"dst_ouser=bob;dst_user=bob;dst_domain=127\.0\.0\.1$"
            % (method, to_tag_re))
    deadline = time.time() + 3
    while True:
        lines = acc_lines(srv, method)
        if any(re.search(want, l) for l in lines):
            return
        if time.time() > deadline:
            fail("no acc log line for the %s matching %r; got: %r"
                 % (method, want, lines or "none"))
        time.sleep(0.1)


def check_acc_db(ctx):
    """WITH_ACCDB: the same two records in the acc table of the SQLite
    file, with the db_extra columns."""
    deadline = time.time() + 3
    rows = []
    while time.time() < deadline:
        try:
            con = sqlite3.connect(ctx.path("kamailio.db"), timeout=2)
            try:
                rows = con.execute(
                    "SELECT method, sip_code, sip_reason, src_user, "
                    "src_domain, src_ip, dst_ouser, dst_user, dst_domain "
                    "FROM acc ORDER BY id").fetchall()
            finally:
                con.close()
        except sqlite3.Error as e:
            rows = [("error", str(e))]
        if len(rows) >= 2:
            break
        time.sleep(0.1)
    want = [(m, "200", "OK", "alice", DOMAIN, "127.0.0.1", "bob", "bob",
             DOMAIN) for m in ("INVITE", "BYE")]
    check(rows == want, "acc table rows: %r, want %r" % (rows, want))


def run_engine(ctx, engine):
    srv = stock_server(ctx, engine)
    add_subscriber(srv, "alice", "pw-alice")
    add_subscriber(srv, "bob", "pw-bob")
    # bob answers calls on his own port and registers it as his contact
    bob_port = free_port()
    bob = ctx.sipp("callee", service="bob", port=bob_port, background=True,
                   timeout=40)
    register(ctx, srv, "bob", "pw-bob", bob_port)
    alice_port = free_port()
    register(ctx, srv, "alice", "pw-alice", alice_port)
    dump = srv.ctl_json("ul.dump")
    text = str(dump)
    for user, p in (("bob", bob_port), ("alice", alice_port)):
        check("127.0.0.1:%d" % p in text,
              "%s's contact is not in ul.dump: %s" % (user, text[:400]))
    call = ctx.sipp("caller", remote=srv.addr, service="alice",
                    port=alice_port,
                    subst={"DOMAIN": DOMAIN, "CALLEE": "bob"},
                    extra=["-au", "alice", "-ap", "pw-alice"], timeout=30)
    errors = []
    if call.rc != 0 or call.successful != 1:
        errors.append("alice's call to bob: %s" % call.describe())
        # do not wait for bob's timeout: the call is over
        harness._terminate(bob.proc)
    answered = bob.wait()
    if answered.rc != 0 or answered.successful != 1:
        errors.append("bob answering: %s" % answered.describe())
    check(not errors, "\n  ".join(errors))
    check_acc_log(srv, "INVITE", r"\d+B1")
    check_acc_log(srv, "BYE", r"\d+B1")
    check_acc_db(ctx)
    outbound(ctx, srv)
    srv.expect_alive()


def outbound(ctx, srv):
    """alice's MESSAGE to another domain (a sipp on another port of the
    loopback, which is not "myself"): authenticated, then relayed with the
    P-Hint header the script's sipout part adds (KSR.hdr.append_hf in the
    JavaScript example: an alias Osprey provides, see README.md)."""
    far_port = free_port()
    far = ctx.sipp("outbound_uas", port=far_port, background=True,
                   timeout=20)
    msg = ctx.sipp("outbound_uac", remote=srv.addr, service="alice",
                   subst={"DOMAIN": DOMAIN,
                          "TARGET": "127.0.0.1:%d" % far_port},
                   extra=["-au", "alice", "-ap", "pw-alice"], timeout=20)
    errors = []
    if msg.rc != 0 or msg.successful != 1:
        errors.append("alice's MESSAGE to another domain: %s"
                      % msg.describe())
        harness._terminate(far.proc)
    got = far.wait()
    if got.rc != 0 or got.successful != 1:
        errors.append("the other domain (P-Hint: outbound expected): %s"
                      % got.describe())
    check(not errors, "\n  ".join(errors))


def check_mode(ctx, cfg, *defines):
    """osprey -c on cfg with -A for each define: (exit code, output)."""
    argv = [ctx.osprey, "-c", "-f", cfg]
    for d in defines:
        argv += ["-A", d]
    env = dict(os.environ, OSPREY_DATA_DIR=ctx.workdir)
    r = ctx.run(argv, timeout=30, env=env)
    return r.returncode, (r.stdout or "") + (r.stderr or "")


def run_refusals(ctx):
    """What Osprey says about the stock cfg where it cannot do what the cfg
    asks: MySQL left in (the cfg as shipped), TLS switched on; and the
    debugger module (WITH_DEBUG), accepted with a warning."""
    script, define, app = ENGINES["lua"]
    cfg_src, script_src = stock_files(script)
    shutil.copy(script_src, ctx.path(script))
    with open(cfg_src) as f:
        stock = f.read()
    values = {"db": ctx.path("kamailio.db"), "port": free_port(),
              "workdir": ctx.workdir, "script": script, "app": app}
    # as shipped (MySQL), only the script path changed
    path_edit = [e for e in EDITS if "script" in e[0]]
    saved = EDITS[:]
    try:
        EDITS[:] = path_edit
        text, _ = edit_cfg(stock, values)
    finally:
        EDITS[:] = saved
    mysql = ctx.write_file("mysql.cfg", text)
    rc, out = check_mode(ctx, mysql, define)
    line = stock.split("\n").index('loadmodule "db_mysql.so"') + 1
    check(rc != 0, "the stock cfg with db_mysql was accepted: %s" % out)
    for want in ("mysql.cfg:%d:" % line, "db_mysql", "SQLite only",
                 'load "db_sqlite.so" instead', "sqlite:///path/to/file.db"):
        check(want in out, "db_mysql refusal lacks %r: %s" % (want, out))
    # the MySQL-less cfg of the call tests, with TLS switched on
    text, _ = edit_cfg(stock, values)
    cfg = ctx.write_file(STOCK_CFG, text)
    rc, out = check_mode(ctx, cfg, define, "WITH_TLS")
    check(rc != 0, "WITH_TLS was accepted: %s" % out)
    for want in ('loadmodule "tls.so"', "no TLS transport"):
        check(want in out, "tls refusal lacks %r: %s" % (want, out))
    # WITH_DEBUG: the debugger module is accepted, with a warning
    rc, out = check_mode(ctx, cfg, define, "WITH_DEBUG")
    check(rc == 0, "WITH_DEBUG refused: %s" % out)
    check("debugger: accepted without effect" in out,
          "no warning for the debugger module: %s" % out)


TESTS = dict((e, lambda ctx, e=e: run_engine(ctx, e)) for e in ENGINES)
TESTS["refusals"] = run_refusals


# ---------------------------------------------------------------- runner


class Timeout(Exception):
    pass


def on_alarm(signum, frame):
    raise Timeout("timed out after %ds" % TIMEOUT)


def run_one(test, base, build_dir, verbose, keep):
    name = "stock_" + test
    workdir = os.path.join(base, name)
    os.makedirs(workdir)
    ctx = harness.Ctx(name, workdir, build_dir)
    start = time.time()
    status, reason = "ok", ""
    # the test's own log (commands run, processes started) goes to a file
    out = sys.stdout
    sys.stdout = open(os.path.join(workdir, "test.out"), "w")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TIMEOUT)
    try:
        TESTS[test](ctx)
    except TestSkip as e:
        status, reason = "skip", str(e)
    except (TestFailure, Timeout) as e:
        status, reason = "fail", str(e)
    except Exception:  # noqa: BLE001 - a harness bug is a failure too
        status, reason = "fail", "exception:\n" + traceback.format_exc()
    finally:
        signal.alarm(0)
        problems = ctx.finish()
        sys.stdout.close()
        sys.stdout = out
    if problems and status != "fail":
        status, reason = "fail", "; ".join(problems)
    dur = time.time() - start
    if status == "ok":
        print("ok - %s (%.1fs)" % (name, dur))
    elif status == "skip":
        print("ok - %s # SKIP %s" % (name, reason))
    else:
        print("not ok - %s: %s" % (name, reason))
    if status == "fail" or verbose:
        for srv in ctx.servers:
            print("    --- %s (last 30 lines)" % srv.label)
            print(srv.tail(30))
        with open(os.path.join(workdir, "test.out")) as f:
            lines = f.read().splitlines()[-15:]
        print("    --- test output (last %d lines)" % len(lines))
        for l in lines:
            print("    > " + l)
        print("    work dir: %s" % workdir)
    elif not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.stdout.flush()
    return status != "fail"


def main():
    ap = argparse.ArgumentParser(
        description="Kamailio's stock KEMI examples on Osprey")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directories of passing tests too")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("tests", nargs="*", metavar="TEST",
                    help="%s (default: all)" % ", ".join(TESTS))
    a = ap.parse_args()
    build_dir = os.path.abspath(a.build_dir)
    engines = a.tests or list(TESTS)
    for e in engines:
        if e not in TESTS:
            print("unknown test %s (%s)" % (e, ", ".join(TESTS)),
                  file=sys.stderr)
            return 2
    for prog in ("osprey", "ospreyctl"):
        if not os.access(os.path.join(build_dir, prog), os.X_OK):
            print("Bail out! no %s in %s" % (prog, build_dir))
            return 1
    if not shutil.which("sipp"):
        print("Bail out! sipp not found (Debian package sip-tester)")
        return 1
    base = tempfile.mkdtemp(prefix="osprey-stock-")
    print("# %d test(s), build dir %s, work dir %s"
          % (len(engines), build_dir, base))
    bad = [e for e in engines if not run_one(e, base, build_dir, a.verbose,
                                              a.keep)]
    print("# %d passed, %d failed%s" % (len(engines) - len(bad), len(bad),
                                        (": " + " ".join(bad)) if bad else ""))
    if not bad and not a.keep:
        shutil.rmtree(base, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
