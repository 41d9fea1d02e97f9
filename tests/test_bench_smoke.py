"""test_bench_smoke.py -- the benchmark's smoke mode (300 streams, 5 s per setup), so that
bench/bench.py cannot rot: it must run all three setups side by side and print its table.

It needs node and npm (express is installed from the npm registry into a temporary
directory); without them the check is skipped (and CI fails on the skip); an npm error
is a failure, not a skip.
"""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from harness import BUILDDIR, SRCDIR, Tap  # noqa: E402

t = Tap()
missing = [x for x in ("node", "npm") if not shutil.which(x)]
if missing:
    t.skip("benchmark smoke run", "%s not installed (deploy/install-deps.sh bench)"
           % " and ".join(missing))
    t.done()

p = subprocess.run([sys.executable, os.path.join(SRCDIR, "bench", "bench.py"), "--smoke",
                    "--build", BUILDDIR], capture_output=True, text=True, timeout=600)
t.ok(p.returncode == 0, "bench.py --smoke exits 0", p.stderr[-2000:])
rows = [line.split("|") for line in p.stdout.splitlines() if line.startswith("| 300 |")]
setups = {r[2].strip(): r for r in rows if len(r) > 8}
for name in ["fcgi-sse behind lighttpd (fcgi-sse only)", "seed alone (node)",
             "seed behind lighttpd (both)"]:
    r = setups.get(name)
    t.ok(r is not None and r[3].strip() == "300" and r[4].strip() == "0",
         "%s: 300 streams established, none refused" % name, r)
ratios = [r for r in rows if len(r) == 7 and " / " in r[2]]
# At smoke scale a process may use under one clock tick: a ratio can be 0, not NaN.
t.ok(len(ratios) == 2 and all(float(r[3]) >= 0 and float(r[4]) >= 0 for r in ratios),
     "ratios printed (app vs app, whole stack)", ratios)
t.ok("after every client left" in p.stdout, "after-leave figures printed")
t.diag(p.stdout)
t.done()
