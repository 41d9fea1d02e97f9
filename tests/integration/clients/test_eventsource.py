"""test_eventsource.py -- 50 clients of the `eventsource` npm package (a real, spec-following
EventSource for node) through lighttpd to the responder under spawn-fcgi, while the responder
is restarted under them twice: once SIGKILL + start, once SIGTERM + start.

Every client must come back by itself after each restart (the library reconnects and sends
Last-Event-ID; tests/browser/clients.mjs opens a new EventSource with the last id if one
ends up CLOSED, e.g. on a 503 while the responder is down) and its ids, stitched across
reconnects, must be 0, 1, 2, ... with no gap and no duplicate.

The responder runs with -i 200 -r 300. Needs node and npm (tests/browser/package-lock.json:
eventsource); without them, or if `npm ci` fails, the test is skipped, never passed.
"""

import signal
import sys
import time

sys.dont_write_bytecode = True    # nothing written into the source tree
from harness import (BUILDDIR, STOP_DEADLINE, Tap, Workdir, start_lighttpd,  # noqa: E402
                     start_spawned_responder, status, wait_for)
from nodedeps import NodeProc, node_dir  # noqa: E402

N = 50
ARGS = ["-i", "200", "-r", "300"]
MIN_EVENTS = 20          # each client, in all (about 6 s of events at 200 ms)
REOPEN_MS = 500          # clients.mjs: a CLOSED EventSource is replaced after this



from harness import cleanup_on_signals  # noqa: E402
cleanup_on_signals()
t = Tap()
ndir, why = node_dir(BUILDDIR)
if ndir is None:
    t.skip("%d eventsource clients across two responder restarts" % N,
           "%s (tests/browser needs node, npm and `npm ci`)" % why)
    t.done()

wd = Workdir("eventsource")
clients = None
t_begin = time.monotonic()


def stats(full=False):
    r = clients.ask("dump" if full else "stats", 10)
    return r["clients"] if r and r.get("ok") else None


def consecutive(ids):
    return ids == list(range(ids[0], ids[0] + len(ids))) if ids else False


def summary(cs):
    """A short description of the clients for failure messages."""
    if not cs:
        return "no answer from clients.mjs"
    keys = ("n", "last", "opens", "errors", "reopens", "state")
    return "\n".join("%2d: " % i + " ".join("%s=%s" % (k, c.get(k)) for k in keys)
                     for i, c in enumerate(cs))


try:
    sock = wd.file("fcgi-sse.sock")
    resp, _ = start_spawned_responder(wd, ARGS, "fcgi-sse-1", sock)
    httpd, port = start_lighttpd(wd, sock)
    url = "http://127.0.0.1:%d/stream" % port
    clients = NodeProc(["node", "clients.mjs", url, str(N), str(REOPEN_MS)],
                       wd.file("clients.log"), cwd=ndir)
    ready = clients.read_json(15)
    if not t.ok(ready and ready.get("ready") and ready.get("n") == N,
                "clients.mjs started %d EventSource clients" % N, (ready, clients.log()[-2000:])):
        raise SystemExit

    cs = wait_for(lambda: (lambda s: s if s and all(c["n"] >= 3 for c in s) else None)(stats()), 5)
    t.ok(cs, "all %d clients receive events (3 each within 5 s)" % N, summary(stats()))
    t.ok(wait_for(lambda: status(sock)["streams_open"] == N, 3),
         "the responder holds exactly %d streams" % N, status(sock))

    for k, (sig, how) in enumerate([(signal.SIGKILL, "SIGKILL"), (signal.SIGTERM, "SIGTERM")],
                                   start=2):
        before = stats()
        t_sig = time.time()
        resp.signal(sig)
        rc = resp.wait(STOP_DEADLINE)
        t.eq(rc, -9 if sig == signal.SIGKILL else 0,
             "%s: the responder exits (%s)" % (how, "killed" if rc == -9 else "status 0"))
        resp, _ = start_spawned_responder(wd, ARGS, "fcgi-sse-%d" % k, sock)
        t_up = time.monotonic()

        def back(before=before):
            s = stats()
            ok = s and all(c["opens"] > b["opens"] and c["n"] >= b["n"] + 2
                           for c, b in zip(s, before))
            return s if ok else None
        cs = wait_for(back, 3 * REOPEN_MS / 1000 + 5, step=0.05)
        t.ok(cs, "%s + start: all %d clients reconnect by themselves and get events again"
             % (how, N), summary(stats()))
        if cs:
            t.diag("%s: every client back within %.2f s of the restart" % (how, time.monotonic() - t_up))
        t.ok(wait_for(lambda: status(sock)["streams_open"] == N, 3),
             "%s + start: the new responder holds exactly %d streams" % (how, N), status(sock))
        if sig == signal.SIGKILL and cs:
            e = next((e for e in stats(full=True)[0]["errorLog"] if e[0] >= t_sig * 1000 - 50), None)
            t.diag("SIGKILL: client 0's first error after the kill: %r" % (e,))
        if sig == signal.SIGTERM and cs:
            # A clean end is an error event with no network error (the body simply ended);
            # an abort (SIGKILL) carries the fetch error.
            full = stats(full=True)
            firsts = [next((e for e in c["errorLog"] if e[0] >= t_sig * 1000 - 50), None)
                      for c in full]
            t.ok(all(e is not None and not e[2] for e in firsts),
                 "SIGTERM: every client saw its stream end normally (no network error)",
                 [e for e in firsts if e is None or e[2]][:5])

    cs = wait_for(lambda: (lambda s: s if s and all(c["n"] >= MIN_EVENTS for c in s) else None)(stats()), 8)
    t.ok(cs, "all %d clients received at least %d events" % (N, MIN_EVENTS), summary(stats()))

    final = stats(full=True)
    clients.stop()
    clients = None
    t.ok(final is not None and len(final) == N, "clients.mjs reported %d clients" % N)
    final = final or []
    gapped = [(i, c["ids"][:3], c["ids"][-3:], len(c["ids"])) for i, c in enumerate(final)
              if not consecutive(c["ids"])]
    t.ok(final and not gapped,
         "every client's ids, stitched across reconnects, are consecutive: no gap, no duplicate",
         gapped[:5])
    t.ok(final and all(c["ids"] and c["ids"][0] == 0 for c in final),
         "every client starts at id 0", [c["ids"][:1] for c in final])
    t.ok(final and all(c["opens"] >= 3 for c in final),
         "every client reconnected at least twice (3 opens or more)",
         [(i, c["opens"]) for i, c in enumerate(final) if c["opens"] < 3])
    t.ok(final and all(c["bad"] == 0 for c in final),
         "every event's data is Count: [its id]", [c["badEvents"] for c in final if c["bad"]][:3])
    reopened = sum(1 for c in final if c["reopens"])
    t.diag("opens per client: %s; clients that had to replace a CLOSED EventSource: %d"
           % (sorted({c["opens"] for c in final}), reopened))
    t.ok(httpd.alive() and resp.alive(), "lighttpd and the responder are still running")
    t.eq(resp.stop(), 0, "SIGTERM at the end: the responder exits 0")
    t.diag("the whole test took %.1f s" % (time.monotonic() - t_begin))
except SystemExit:
    pass
finally:
    if clients is not None:
        clients.stop()
    wd.cleanup()
t.done()
