"""test_run_load.py -- programs under load through lighttpd (issue 11, "Must show: Load"): 200
runs at once (their clients arriving over the first second), each printing 100 lines at 10
lines a second, every line delivered, in order, and promptly by order: the client has line k
before the program prints line k+1 (the program writes the moment it printed each line into
it), at the p99 of the lines. A line held back by the responder (buffered, or stuck behind
another run) comes with or after the next one. The issue's figure, p99 <= 50 ms from print
to client, is a speed target: it is measured by the benchmark (bench/bench.py --runs 200,
figures in docs/programs.md), not by a timed test, which a loaded machine would fail without a fault
of the code.

The program is a bash script that takes its clock from $EPOCHREALTIME and sleeps with the
`read -t` builtin (its timeout made with `printf -v`, not a command substitution), so that
200 of them cost no fork per line: what is measured is the responder and lighttpd, not the
machine starting processes. Size: FCGI_SSE_RUN_LOAD (default 200) runs.
"""

import os
import sys
import time

sys.dont_write_bytecode = True
from harness import (HttpStream, Tap, Workdir, percentile, pump,  # noqa: E402
                     start_lighttpd, start_spawned_responder, status, wait_for)
from programs import children, script  # noqa: E402

RUNS = int(os.environ.get("FCGI_SSE_RUN_LOAD", "200"))
LINES = 100
PACE = 0.1               # seconds between two lines of a run

# Line i is printed at start + i/10 s (a fixed schedule, no drift), as "WALLCLOCK i".
PROGRAM = r'''#!/bin/bash
exec 9<> <(:)                 # a pipe that never has data: read -t on it is a sleep
t0=${EPOCHREALTIME/[.,]/}
for ((i = 0; i < %d; i++)); do
    left=$(( t0 + i * 100000 - ${EPOCHREALTIME/[.,]/} ))
    if (( left > 0 )); then
        printf -v tmo '0.%%06d' "$left"
        read -t "$tmo" -u 9
    fi
    printf '%%s %%d\n' "${EPOCHREALTIME/,/.}" "$i"
done
''' % LINES

t = Tap()
wd = Workdir("run-load")
try:
    prog = script(wd, "paced.sh", PROGRAM)
    resp, sock = start_spawned_responder(wd, ["--run", "paced=" + prog, "--max-runs",
                                              str(RUNS + 16)])
    httpd, port = start_lighttpd(wd, sock)
    offset = time.time() - time.monotonic()     # the parser's times are monotonic
    # The clients arrive over the first second (5 ms apart), read all along; then all
    # RUNS run at once for the remaining 9 s. (Started in the same instant instead, the
    # first second's lines are up to ~300 ms late on 2 CPUs: 200 bash processes starting
    # at once; from the second second on, at most ~20 ms.)
    clients = []
    for i in range(RUNS):
        clients.append(HttpStream(port, "/run/paced", timeout=30))
        until = time.monotonic() + 0.005
        pump(clients, lambda: time.monotonic() >= until, 1)
    done = pump(clients, lambda: all(c.eof for c in clients), LINES / 10 + 30)
    t.ok(done, "%d runs at once all end" % RUNS, sum(1 for c in clients if c.eof))
    t.eq(sorted({c.status for c in clients}), [200], "every run: 200")
    late, before, bad = [], [], []
    for c in clients:
        ev = [e for e in c.events if e["data"] is not None]
        lines = [e for e in ev if e["event"] is None]
        nums = [int(e["data"].split()[1]) for e in lines]
        if nums != list(range(LINES)) or not ev or ev[-1]["event"] != "exit" or \
                ev[-1]["data"] != "0":
            bad.append((c.status, nums[:3], len(nums), ev[-1:]))
            continue
        printed = [float(e["data"].split()[0]) for e in lines]
        arrived = [e["t"] + offset for e in lines]
        late += [a - p for a, p in zip(arrived, printed)]
        # the next line's print; after the last line the program exits at once: its pace
        nxt = printed[1:] + [printed[-1] + PACE]
        before += [a < n for a, n in zip(arrived, nxt)]
    t.ok(not bad, "every run: its %d lines in order, then event: exit 0 (%d runs x %d lines)"
         % (LINES, RUNS, LINES), bad[:3])
    if late:
        t.diag("lateness (printed -> at the client) of %d lines: p50 %.1f ms, p99 %.1f ms, "
               "max %.1f ms" % (len(late), percentile(late, 0.5) * 1000,
                                percentile(late, 0.99) * 1000, max(late) * 1000))
    missed = before.count(False)
    t.ok(len(before) == RUNS * LINES and missed <= len(before) // 100,
         "through lighttpd: the client has each line before the program prints the next one "
         "(at the p99 of the lines: %d of %d came after it)" % (missed, len(before)))
    t.ok(late and min(late) > -0.005, "no line arrives before it was printed (clocks agree)",
         late and min(late))
    st = status(sock)
    t.ok(st["runs_started"] == RUNS and st["runs_refused"] == 0 and st["runs_failed"] == 0 and
         st["run_events"] == RUNS * (LINES + 1),
         "/status: %d runs started, none refused or failed, %d events" % (RUNS, RUNS * (LINES + 1)),
         {k: v for k, v in st.items() if "run" in k})
    for c in clients:
        c.close()
    t.ok(wait_for(lambda: not children(resp.pid) and status(sock)["runs_running"] == 0, 5),
         "nothing left running", children(resp.pid))
except Exception as e:  # noqa: BLE001 -- reported in one line, the traceback as diagnostics
    t.exception(e)
finally:
    wd.cleanup()
t.done()
