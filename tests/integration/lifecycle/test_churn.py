"""test_churn.py -- 10,000 connect/disconnect cycles against one responder (abrupt closes,
clean closes after a few events, clients that stop reading): afterwards its open files and
memory are back where they started and streams_open is 0. Then 1,000 cycles again with the
responder under valgrind memcheck, which must report no leak and no error.

Limits: raw FastCGI clients in one Python process, at most 200 connections at a time; the
valgrind part is skipped (and counted as skipped) in sanitizer builds or without valgrind.
"""

import os
import random
import select
import shutil
import socket
import time

from harness import (BINARY, Tap, Workdir, can_connect, fcgi_request_bytes,  # noqa: E402
                     status, wait_for)

t = Tap()
wd = Workdir("churn")


def churn(sock, cycles, concurrency=200, seed=1):
    """Runs `cycles` connections in a mix of ways; returns counts per kind."""
    rng = random.Random(seed)
    req = fcgi_request_bytes({"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/stream"})
    live = {}      # socket -> (kind, bytes wanted before closing)
    done = {"reset": 0, "clean": 0, "stuck": 0, "early": 0}
    started = 0
    stuck = []
    while started < cycles or live:
        while started < cycles and len(live) < concurrency:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sock)
            kind = rng.choice(["reset", "clean", "clean", "stuck", "early"])
            started += 1
            if kind == "early":          # gone before the request is complete
                s.sendall(req[:rng.randrange(1, len(req))])
                s.close()
                done["early"] += 1
                continue
            s.sendall(req)
            if kind == "stuck":          # never reads: left open, dropped by the responder
                stuck.append(s)
                done["stuck"] += 1
                continue
            s.setblocking(False)
            live[s] = [kind, rng.randrange(1, 400)]
        r, _, _ = select.select(list(live), [], [], 5)
        if not r:
            break
        for s in r:
            try:
                n = len(s.recv(65536))
            except OSError:
                n = 0
            live[s][1] -= n
            if n == 0 or live[s][1] <= 0:
                kind = live.pop(s)[0]
                if kind == "reset":
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                s.close()
                done[kind] += 1
        if len(stuck) > 100:             # keep some around while the rest churn
            for s in stuck[:50]:
                s.close()
            del stuck[:50]
    for s in stuck:
        s.close()
    return done


def settle(sock, proc, baseline_fds):
    """Waits until every stream is freed and the descriptors are back."""
    return wait_for(lambda: status(sock)["streams_open"] == 0
                    and proc.fd_count() <= baseline_fds, 10, step=0.1)


try:
    sock = wd.file("churn.sock")
    env = dict(os.environ, GLIBC_TUNABLES="glibc.malloc.tcache_count=0")
    p = wd.start([BINARY, "-l", "unix:" + sock, "-i", "5", "-k", "0", "-b", "4096"], "churn",
                 env=env)
    wait_for(lambda: can_connect(sock), 5)
    churn(sock, 300, seed=0)                       # warm-up: every path once
    settle(sock, p, 10 ** 6)
    fds0, rss0 = p.fd_count(), p.rss_kb()
    total0 = status(sock)["streams_total"]
    t0 = time.monotonic()
    kinds = churn(sock, 10000)
    t.diag("10,000 cycles in %.1f s: %s" % (time.monotonic() - t0, kinds))
    # Counted by the responder, not by the test: every connection that sent its whole
    # request became a stream (those cut short may or may not have).
    whole = kinds["reset"] + kinds["clean"] + kinds["stuck"]
    t.ok(wait_for(lambda: whole <= status(sock)["streams_total"] - total0 <= 10000, 10),
         "10,000 connections: the responder served each of the %d whole requests" % whole,
         (kinds, status(sock)["streams_total"] - total0))
    t.ok(settle(sock, p, fds0), "afterwards streams_open is 0 and open files are back to %d"
         % fds0, (status(sock), p.fd_count()))
    st = status(sock)
    t.ok(st["streams_total"] >= 6000 and st["streams_dropped_slow"] >= 1,
         "streams served (%d) and readers that stopped were dropped (%d)"
         % (st["streams_total"], st["streams_dropped_slow"]), st)
    rss1 = p.rss_kb()
    if os.environ.get("FCGI_SSE_SANITIZED") == "1":
        t.skip("RSS back within 10%% of the start (%d -> %d KB)" % (rss0, rss1),
               "sanitizer build: ASan keeps freed memory in quarantine")
    else:
        t.ok(rss1 <= rss0 * 1.10 + 256, "RSS back within 10%% (+256 KB) of the start: "
             "%d -> %d KB" % (rss0, rss1))
    t.eq(p.stop(), 0, "SIGTERM: exit 0 after the churn")

    valgrind = shutil.which("valgrind")
    if os.environ.get("FCGI_SSE_SANITIZED") == "1" or not valgrind:
        t.skip("valgrind memcheck of the churn", "sanitizer build" if valgrind
               else "valgrind is not installed")
    else:
        sock = wd.file("vg.sock")
        vlog = wd.file("valgrind.log")
        p = wd.start([valgrind, "--leak-check=full", "--show-leak-kinds=definite,indirect",
                      "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
                      "--log-file=" + vlog, BINARY, "-l", "unix:" + sock, "-i", "20", "-k", "0",
                      "-b", "4096"], "valgrind", env=env)
        t.ok(wait_for(lambda: can_connect(sock), 30), "valgrind: the responder starts")
        kinds = churn(sock, 1000, concurrency=50, seed=2)
        t.ok(wait_for(lambda: status(sock)["streams_open"] == 0, 30),
             "valgrind: 1,000 cycles, every stream freed (%s)" % kinds)
        rc = p.stop(30)
        with open(vlog) as f:
            report = f.read()
        t.ok(rc == 0 and "ERROR SUMMARY: 0 errors" in report,
             "valgrind: no memory error, no leak, exit 0", report[-1500:])
        t.ok("definitely lost: 0 bytes" in report or "All heap blocks were freed" in report,
             "valgrind: nothing definitely lost", report[-800:])
finally:
    wd.cleanup()
t.done()
