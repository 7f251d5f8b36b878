"""gil_share.py CG1 CG2 N1 N2 [hold]: from two callgrind outputs of the Python
policy (N1 and N2 messages), the instructions per message run while the
GIL is held, and the throughput ceiling that implies for any number of
workers (the GIL is one lock: at most 1 / held messages per unit of time).

Held = inclusive cost of the engine's run() minus the KSR C functions it
calls (ksr_call -> module function), which run with the GIL released in the
default mode; with "hold" (modparam release_gil 0) the whole of run(). Part
of run() itself (argument conversion, the GIL switch) is counted as held:
the figure is an upper bound."""
import re
import sys
from collections import defaultdict


def parse(path):
    names, calls, total = {}, defaultdict(int), 0
    fn = cfn = None
    pending = False
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith(("fn=", "cfn=")):
            key, _, rest = line.partition("=")
            m = re.match(r"\((\d+)\)(?: (.*))?", rest)
            if m:
                if m.group(2):
                    names[m.group(1)] = m.group(2)
                rest = names.get(m.group(1), "?")
            if key == "fn":
                fn = rest
            else:
                cfn = rest
        elif line.startswith("calls="):
            pending = True
        elif line[:1].isdigit() or line[:1] in "+-*":
            parts = line.split()
            if len(parts) >= 2:
                if pending:
                    calls[(fn, cfn)] += int(parts[1])
                    pending = False
                else:
                    total += int(parts[1])
    run = sum(v for (a, b), v in calls.items() if b == "py_run")
    c_fns = sum(v for (a, b), v in calls.items() if a == "ksr_call" and
                not re.match(r"_?Py|ksr_export_nparams|_dl_|memset", b))
    return total, run, c_fns


def main():
    a, b = parse(sys.argv[1]), parse(sys.argv[2])
    n = int(sys.argv[4]) - int(sys.argv[3])
    total, run, c_fns = ((y - x) / n for x, y in zip(a, b))
    held = run if sys.argv[5:] == ["hold"] else run - c_fns
    print("per message: %d instructions, %d in run(), %d in KSR C functions,"
          " %d with the GIL held (%.0f %%); ceiling %.2fx one worker's "
          "rate" % (total, run, c_fns, held, 100 * held / total,
                    total / held))


main()
