"""run.py - run the end-to-end tests (entry point: tests/run-e2e).

    tests/run-e2e [--build-dir DIR] [-j N] [--keep] [-v] [--list] [TEST...]

Each test runs in its own child process (its own process group) with the
test's timeout; on timeout the whole group is killed, which takes the
osprey and sipp processes it started with it. One line per test:

    ok - name
    ok - name # SKIP reason
    not ok - name: reason

followed, for a failure, by the server's stderr tail and the work directory
(kept for inspection). Exit status: 0 when no test failed, 1 otherwise.

TEST may be a name or a shell-style pattern (e.g. 'rpc*').
"""

import argparse
import fnmatch
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import tests  # noqa: E402,F401 - registers the tests

PY = sys.executable or "/usr/bin/python3"


def child_main(name, workdir, build_dir):
    """Run one test in this process; write result.json to the work dir."""
    t = harness.TESTS[name]
    ctx = harness.Ctx(name, workdir, build_dir)
    result = {"status": "ok", "reason": "", "notes": []}

    def on_term(signum, frame):
        raise KeyboardInterrupt("terminated")

    signal.signal(signal.SIGTERM, on_term)
    try:
        t.fn(ctx)
    except harness.TestSkip as e:
        result = {"status": "skip", "reason": str(e)}
    except harness.TestFailure as e:
        result = {"status": "fail", "reason": str(e)}
    except KeyboardInterrupt as e:
        result = {"status": "fail", "reason": "interrupted: %s" % e}
    except Exception:  # noqa: BLE001 - a harness bug is a test failure too
        result = {"status": "fail",
                  "reason": "harness exception:\n" + traceback.format_exc()}
    finally:
        problems = ctx.finish()
    if problems and result["status"] != "fail":
        result = {"status": "fail", "reason": "; ".join(problems)}
    elif problems:
        result["reason"] += "\n  also: " + "; ".join(problems)
    result["notes"] = ctx.notes
    with open(os.path.join(workdir, "result.json"), "w") as f:
        json.dump(result, f)
    return 0


def tail_file(path, n):
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    return lines[-n:]


def start_test(name, base, build_dir):
    workdir = os.path.join(base, name)
    os.makedirs(workdir, exist_ok=True)
    out = open(os.path.join(workdir, "test.out"), "wb")
    p = subprocess.Popen([PY, os.path.abspath(__file__), "--child", name,
                          "--workdir", workdir, "--build-dir", build_dir],
                         stdout=out, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    out.close()
    return {"name": name, "proc": p, "workdir": workdir, "start": time.time(),
            "timeout": harness.TESTS[name].timeout}


def kill_group(p):
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        p.wait(3)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()


def collect(job, timed_out, verbose, tail_lines):
    """Print the result line (and diagnostics) of a finished job; returns
    True when the test did not fail."""
    wd = job["workdir"]
    res = None
    if not timed_out:
        try:
            with open(os.path.join(wd, "result.json")) as f:
                res = json.load(f)
        except (OSError, ValueError):
            res = None
    if timed_out:
        res = {"status": "fail",
               "reason": "timed out after %ss" % job["timeout"]}
    elif res is None:
        res = {"status": "fail",
               "reason": "test process exited with %s without a result"
                         % job["proc"].returncode}
    dur = time.time() - job["start"]
    name = job["name"]
    if res["status"] == "ok":
        print("ok - %s (%.1fs)" % (name, dur))
    elif res["status"] == "skip":
        print("ok - %s # SKIP %s" % (name, res["reason"]))
    else:
        reason = res["reason"].rstrip()
        print("not ok - %s: %s" % (name, reason))
    for n in res.get("notes", []):
        print("    # %s" % n)
    failed = res["status"] == "fail"
    if failed or verbose:
        for path in sorted(glob.glob(os.path.join(wd, "server-*.stderr"))):
            lines = tail_file(path, tail_lines)
            print("    --- %s (last %d lines)" % (os.path.basename(path),
                                                  len(lines)))
            for l in lines:
                print("    | " + l)
        if verbose or res["reason"].startswith(("harness", "timed out",
                                                "test process")):
            print("    --- test output")
            for l in tail_file(os.path.join(wd, "test.out"), tail_lines):
                print("    > " + l)
        print("    work dir: %s" % wd)
    sys.stdout.flush()
    return not failed


def main():
    ap = argparse.ArgumentParser(
        description="Osprey end-to-end tests (real server + sipp)")
    ap.add_argument("--build-dir", default=os.path.join(harness.ROOT, "build"))
    ap.add_argument("-j", "--jobs", type=int, default=1,
                    help="tests run in parallel (default 1)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directories of passing tests too")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print logs of passing tests too")
    ap.add_argument("--list", action="store_true", help="list the tests")
    ap.add_argument("--tail", type=int, default=25,
                    help="server stderr lines shown on failure")
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("tests", nargs="*")
    a = ap.parse_args()
    build_dir = os.path.abspath(a.build_dir)

    if a.child:
        return child_main(a.child, a.workdir, build_dir)

    if a.list:
        for t in harness.TESTS.values():
            print("%-22s %s" % (t.name, t.doc))
        return 0

    names = []
    for pat in a.tests or ["*"]:
        hits = [n for n in harness.TESTS if fnmatch.fnmatchcase(n, pat)]
        if not hits:
            print("unknown test: %s (see --list)" % pat, file=sys.stderr)
            return 2
        names += [n for n in hits if n not in names]

    for prog in (os.path.join(build_dir, "osprey"),
                 os.path.join(build_dir, "ospreyctl")):
        if not os.access(prog, os.X_OK):
            print("Bail out! no %s (build with make, or pass --build-dir)"
                  % prog)
            return 1
    if not shutil.which("sipp"):
        print("Bail out! sipp not found (Debian package sip-tester)")
        return 1

    base = tempfile.mkdtemp(prefix="osprey-e2e-")
    print("# %d test(s), build dir %s, work dir %s" % (len(names), build_dir,
                                                       base))
    pending = list(names)
    running = []
    results = {}
    try:
        while pending or running:
            while pending and len(running) < max(1, a.jobs):
                running.append(start_test(pending.pop(0), base, build_dir))
            time.sleep(0.05)
            for job in list(running):
                p = job["proc"]
                timed_out = False
                if p.poll() is None:
                    if time.time() - job["start"] < job["timeout"]:
                        continue
                    timed_out = True
                kill_group(p)  # also reaps leftovers of a finished test
                running.remove(job)
                results[job["name"]] = collect(job, timed_out, a.verbose,
                                               a.tail)
                if results[job["name"]] and not a.keep:
                    subprocess.run(["rm", "-rf", job["workdir"]])
    except KeyboardInterrupt:
        for job in running:
            kill_group(job["proc"])
        print("interrupted")
        return 130
    bad = [n for n in names if not results.get(n)]
    print("# %d passed, %d failed%s" % (len(names) - len(bad), len(bad),
                                        (": " + " ".join(bad)) if bad else ""))
    if not bad and not a.keep:
        try:
            os.rmdir(base)
        except OSError:
            pass
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
