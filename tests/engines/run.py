"""run.py - run the engine conformance suite (entry point: tests/engines/run).

    tests/engines/run [--build-dir DIR] [-j N] [--keep] [-v] [--list]
                      [--steps S1,S2] [--cfg ENGINE=PATH] [ENGINE...]

Each engine runs in its own child process (its own process group, its own
server and work directory) with a time limit, as the end-to-end tests do;
on timeout the group is killed with the osprey and sipp processes in it.
Output, one line per engine and step, then the comparison:

    ok - lua call (2.1s)
    not ok - js cancel: alice got [...], want [...]
    ok - native # SKIP examples/default-native.cfg does not exist (yet)
    not ok - python register_auth differs from lua: challenge.algorithm: ...

Exit status: 0 when no step failed and every engine observed what the
reference (the first engine that passed the step) observed.
"""

import argparse
import fnmatch
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
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "sip"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import suite  # noqa: E402

PY = sys.executable or "/usr/bin/python3"
START_BUDGET = 30  # seconds for start-up and shutdown of one engine's run


def child_main(engine_name, workdir, build_dir, step_names):
    """Run one engine's steps in this process; write result.json."""
    engine = {e.name: e for e in suite.ENGINES}[engine_name]
    steps = [s for s in suite.STEPS if s.__name__ in step_names]
    ctx = suite.EngineCtx(engine_name, workdir, build_dir)
    result = {"engine": engine_name, "steps": [], "problems": []}
    path = os.path.join(workdir, "result.json")

    def save():
        with open(path + ".tmp", "w") as f:
            json.dump(result, f, indent=1)
        os.replace(path + ".tmp", path)

    def on_step(name, status, reason, observed, secs):
        ctx.log("step %s: %s %s" % (name, status, reason))
        result["steps"].append({"name": name, "status": status,
                                "reason": reason, "observed": observed,
                                "secs": round(secs, 1)})
        save()  # a run killed on timeout still shows its finished steps

    def on_term(signum, frame):
        raise KeyboardInterrupt("terminated")

    signal.signal(signal.SIGTERM, on_term)
    try:
        suite.run_engine(ctx, engine, steps, on_step)
    except KeyboardInterrupt as e:
        result["problems"].append("interrupted: %s" % e)
    except Exception:  # noqa: BLE001 - a suite bug fails the run too
        result["problems"].append("suite exception:\n" +
                                  traceback.format_exc())
    finally:
        result["problems"] += ctx.finish()
        save()
    return 0


def start_engine(engine, base, build_dir, steps):
    workdir = os.path.join(base, engine.name)
    os.makedirs(workdir, exist_ok=True)
    out = open(os.path.join(workdir, "test.out"), "wb")
    p = subprocess.Popen([PY, os.path.abspath(__file__), "--child",
                          engine.name, "--workdir", workdir, "--build-dir",
                          build_dir, "--steps", ",".join(s.__name__
                                                         for s in steps),
                          "--cfg", "%s=%s" % (engine.name, engine.cfg)],
                         stdout=out, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    out.close()
    budget = START_BUDGET + sum(s.step_timeout for s in steps)
    return {"engine": engine, "proc": p, "workdir": workdir,
            "start": time.time(), "timeout": budget}


def kill_group(p):
    """End the process group of p (the child and whatever it started):
    SIGTERM, 3 s of grace, then SIGKILL."""
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        p.wait()
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


def tail_file(path, n):
    try:
        with open(path, errors="replace") as f:
            return f.read().splitlines()[-n:]
    except OSError:
        return []


def load_result(job, timed_out):
    try:
        with open(os.path.join(job["workdir"], "result.json")) as f:
            res = json.load(f)
    except (OSError, ValueError):
        res = {"engine": job["engine"].name, "steps": [], "problems": []}
    if timed_out:
        res["problems"].append("timed out after %ss" % job["timeout"])
    elif not res["steps"] and not res["problems"]:
        res["problems"].append("run exited with %s without a result"
                               % job["proc"].returncode)
    return res


def report_engine(job, res, steps, verbose, tail_lines):
    """Print the engine's step lines; returns the number of failures."""
    name = job["engine"].name
    bad = 0
    done = {s["name"]: s for s in res["steps"]}
    for s in res["steps"]:
        if s["name"] == "start" and s["status"] == "ok":
            continue
        if s["status"] == "ok":
            print("ok - %s %s (%.1fs)" % (name, s["name"], s["secs"]))
        elif s["status"] == "skip":
            print("ok - %s %s # SKIP %s" % (name, s["name"], s["reason"]))
        else:
            bad += 1
            print("not ok - %s %s: %s" % (name, s["name"],
                                          s["reason"].rstrip()))
    if done.get("start", {}).get("status") == "ok":
        for st in steps:
            if st.__name__ not in done:
                bad += 1
                print("not ok - %s %s: not run" % (name, st.__name__))
    for p in res["problems"]:
        bad += 1
        print("not ok - %s: %s" % (name, p.rstrip()))
    wd = job["workdir"]
    if bad or verbose:
        for path in sorted(os.listdir(wd)):
            if path.startswith("server-") and path.endswith(".stderr"):
                lines = tail_file(os.path.join(wd, path), tail_lines)
                print("    --- %s %s (last %d lines)" % (name, path,
                                                         len(lines)))
                for l in lines:
                    print("    | " + l)
        if verbose or any("exception" in p or "timed out" in p
                          for p in res["problems"]):
            print("    --- test output")
            for l in tail_file(os.path.join(wd, "test.out"), tail_lines):
                print("    > " + l)
        print("    work dir: %s" % wd)
    sys.stdout.flush()
    return bad


def diff(a, b, path=""):
    """Human-readable differences between two observations."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            p = "%s.%s" % (path, k) if path else str(k)
            if k not in a:
                out.append("%s: missing here, %r there" % (p, b[k]))
            elif k not in b:
                out.append("%s: %r here, missing there" % (p, a[k]))
            else:
                out += diff(a[k], b[k], p)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += diff(x, y, "%s[%d]" % (path, i))
        return out
    if a != b:
        return ["%s: %r here, %r there" % (path or "(all)", a, b)]
    return []


def compare(results, steps):
    """For each step, compare each engine's observations with those of the
    first engine (in ENGINES order) that passed it. Returns the number of
    differences, each printed as a failure naming engine and step."""
    bad = 0
    order = [e.name for e in suite.ENGINES if e.name in results]
    print("# comparing what each engine observed, step by step")
    for st in steps:
        ref = None
        for eng in order:
            s = next((x for x in results[eng]["steps"]
                      if x["name"] == st.__name__), None)
            if s is None or s["status"] != "ok":
                continue
            if ref is None:
                ref = (eng, s["observed"])
                continue
            d = diff(s["observed"], ref[1])
            if d:
                bad += 1
                print("not ok - %s %s differs from %s:\n    %s" % (
                    eng, st.__name__, ref[0],
                    "\n    ".join(x.replace(" there", " in " + ref[0])
                                  for x in d[:12])))
            else:
                print("ok - %s %s same as %s" % (eng, st.__name__, ref[0]))
    return bad


def main():
    ap = argparse.ArgumentParser(
        description="Osprey engine conformance: one policy, every engine")
    ap.add_argument("--build-dir", default=os.path.join(harness.ROOT, "build"))
    ap.add_argument("-j", "--jobs", type=int, default=1,
                    help="engines run in parallel (default 1)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directories of passing runs too")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print logs and observations of passing runs too")
    ap.add_argument("--list", action="store_true",
                    help="list the engines and the steps")
    ap.add_argument("--steps", help="comma-separated steps (or patterns)")
    ap.add_argument("--cfg", action="append", default=[],
                    metavar="ENGINE=PATH",
                    help="run ENGINE with this configuration instead of "
                    "its examples/default-*.cfg (e.g. a policy of your own)")
    ap.add_argument("--tail", type=int, default=25,
                    help="server stderr lines shown on failure")
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("engines", nargs="*")
    a = ap.parse_args()
    build_dir = os.path.abspath(a.build_dir)
    cfgs = {}
    for c in a.cfg:
        name, eq, path = c.partition("=")
        if not eq or name not in [e.name for e in suite.ENGINES]:
            print("--cfg %s: want ENGINE=PATH with ENGINE one of %s" % (
                c, " ".join(e.name for e in suite.ENGINES)), file=sys.stderr)
            return 2
        cfgs[name] = os.path.abspath(path)
    for e in suite.ENGINES:
        e.cfg = cfgs.get(e.name, e.cfg)

    if a.child:
        return child_main(a.child, a.workdir, build_dir,
                          a.steps.split(",") if a.steps else [])

    if a.list:
        for e in suite.ENGINES:
            why = e.missing()
            print("engine %-8s %s%s" % (e.name, os.path.relpath(
                e.cfg, harness.ROOT), "  (skipped: %s)" % why if why else ""))
        for s in suite.STEPS:
            print("step %-18s %s" % (s.__name__, s.step_doc))
        return 0

    engines = []
    for pat in a.engines or ["*"]:
        hits = [e for e in suite.ENGINES if fnmatch.fnmatchcase(e.name, pat)]
        if not hits:
            print("unknown engine: %s (see --list)" % pat, file=sys.stderr)
            return 2
        engines += [e for e in hits if e not in engines]
    steps = list(suite.STEPS)
    if a.steps:
        pats = a.steps.split(",")
        steps = [s for s in suite.STEPS
                 if any(fnmatch.fnmatchcase(s.__name__, p) for p in pats)]
        if not steps:
            print("no step matches %s (see --list)" % a.steps,
                  file=sys.stderr)
            return 2

    for prog in (os.path.join(build_dir, "osprey"),
                 os.path.join(build_dir, "ospreyctl")):
        if not os.access(prog, os.X_OK):
            print("Bail out! no %s (build with make, or pass --build-dir)"
                  % prog)
            return 1
    if not shutil.which("sipp"):
        print("Bail out! sipp not found (Debian package sip-tester)")
        return 1

    base = tempfile.mkdtemp(prefix="osprey-engines-")
    print("# engine conformance: %s; %d steps; build dir %s; work dir %s"
          % (" ".join(e.name for e in engines), len(steps), build_dir, base))
    pending, running, results, bad = [], [], {}, 0
    for e in engines:
        why = e.missing()
        if why:
            print("ok - %s # SKIP %s" % (e.name, why))
        else:
            pending.append(e)
    try:
        while pending or running:
            while pending and len(running) < max(1, a.jobs):
                running.append(start_engine(pending.pop(0), base, build_dir,
                                            steps))
            time.sleep(0.1)
            for job in list(running):
                timed_out = False
                if job["proc"].poll() is None:
                    if time.time() - job["start"] < job["timeout"]:
                        continue
                    timed_out = True
                kill_group(job["proc"])  # also reaps leftovers
                running.remove(job)
                res = load_result(job, timed_out)
                results[job["engine"].name] = res
                n = report_engine(job, res, steps, a.verbose, a.tail)
                bad += n
                if not n and not a.keep:
                    subprocess.run(["rm", "-rf", job["workdir"]])
    except KeyboardInterrupt:
        for job in running:
            kill_group(job["proc"])
        print("interrupted")
        return 130
    bad += compare(results, steps)
    with open(os.path.join(base, "observed.json"), "w") as f:
        json.dump(results, f, indent=1)
    if a.verbose:
        print("# observations: %s" % os.path.join(base, "observed.json"))
    print("# %s" % ("all engines conform" if not bad else
                    "%d failure(s); work dir %s" % (bad, base)))
    if not bad and not a.keep and not a.verbose:
        shutil.rmtree(base, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
