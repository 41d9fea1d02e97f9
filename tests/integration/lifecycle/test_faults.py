"""test_faults.py -- faults under load, seen by real clients (the eventsource npm package):
  1. the responder is SIGKILLed under 1,000 streams; its supervisor (a restart loop around
     spawn-fcgi, as systemd's Restart=always would be) brings it back;
  2. lighttpd makes a graceful restart (SIGUSR1, as `systemctl reload`) under 500 streams;
  3. so does Apache (mod_proxy_fcgi, deploy/apache/fcgi-sse-proxy-fcgi.conf) under 500.
Either way every client reconnects by itself and its ids, stitched across reconnects,
have no gap and no duplicate.

Needs node and npm (tests/browser/package-lock.json); skipped, never passed, without them.
"""

import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
from harness import (BINARY, BUILDDIR, Tap, Workdir, can_connect, start_lighttpd,  # noqa: E402
                     start_spawned_responder, status, wait_for)
import apache  # noqa: E402
from nodedeps import NodeProc, node_dir  # noqa: E402

t = Tap()
ndir, why = node_dir(BUILDDIR)
if ndir is None:
    t.skip("faults under 1,000 and 500 eventsource clients", why)
    t.done()


def consecutive(ids):
    return bool(ids) and ids == list(range(ids[0], ids[0] + len(ids)))


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def run_clients(wd, port, n, name):
    c = NodeProc(["node", "clients.mjs", "http://127.0.0.1:%d/stream" % port, str(n), "500"],
                 wd.file(name + ".log"), cwd=ndir)
    ready = c.read_json(30)
    return c if ready and ready.get("ready") else None


def all_past(c, before, more, timeout):
    """Waits until every client got `more` events past `before` (its counts then)."""
    def check():
        r = c.ask("stats", 20)
        s = r and r.get("ok") and r["clients"]
        return s if s and all(x["n"] >= b + more for x, b in zip(s, before)) else None
    return wait_for(check, timeout, step=0.2)


def verdict(c, n, what):
    r = c.ask("dump", 30)
    final = r["clients"] if r and r.get("ok") else []
    gapped = [(i, x["ids"][:2], x["ids"][-2:]) for i, x in enumerate(final)
              if not consecutive(x["ids"])]
    t.ok(len(final) == n and not gapped,
         "%s: all %d clients' ids, stitched across reconnects, have no gap and no duplicate"
         % (what, n), gapped[:5])
    t.ok(final and all(x["opens"] >= 2 for x in final),
         "%s: every client reconnected" % what,
         [(i, x["opens"]) for i, x in enumerate(final) if x["opens"] < 2][:5])


wd = Workdir("faults")
clients = None
try:
    # --- 1. SIGKILL under 1,000 streams, restarted by a supervisor loop
    N = 1000
    sock = wd.file("sup.sock")
    # The loop restarts the responder when it exits; stopping the loop stops it too.
    # On TERM it passes the signal on and exits with the responder's status.
    sup = wd.start(["sh", "-c", "trap 'kill $c 2>/dev/null; wait $c; exit $?' TERM INT; "
                    "while :; do spawn-fcgi -n -s '%s' -M 0600 -- '%s' -i 500 -r 300 & c=$!; "
                    "wait $c; sleep 0.2; done" % (sock, BINARY)], "supervisor")
    t.ok(wait_for(lambda: can_connect(sock), 5), "supervisor: the responder is up")
    httpd, port = start_lighttpd(wd, sock)
    clients = run_clients(wd, port, N, "clients-1000")
    t.ok(clients is not None, "1,000 eventsource clients started")
    s0 = [0] * N
    t.ok(all_past(clients, s0, 2, 30), "1,000 clients receive events")
    t.ok(wait_for(lambda: status(sock)["streams_open"] == N, 5), "the responder holds 1,000 "
         "streams", status(sock))
    before = [x["n"] for x in clients.ask("stats", 20)["clients"]]
    pid = next(iter(children(sup.pid)), None)
    t.ok(pid is not None, "the responder's pid found under the supervisor")
    os.kill(pid, signal.SIGKILL)
    t.ok(wait_for(lambda: (children(sup.pid) or [pid])[0] != pid and can_connect(sock), 5),
         "SIGKILL: the supervisor starts a new responder")
    back = all_past(clients, before, 3, 30)
    t.ok(back, "every client is back and receiving events after the crash")
    verdict(clients, N, "crash")
    clients.stop()
    clients = None
    t.ok(wait_for(lambda: status(sock)["streams_open"] == 0, 5), "the streams are freed when the "
         "clients leave")
    httpd.stop()
    last = children(sup.pid)
    sup.is_responder = True   # its exit status is the responder's (checked at cleanup too)
    t.eq(sup.stop(), 0, "SIGTERM to the supervisor: the responder exits 0")
    t.ok(wait_for(lambda: not any(os.path.exists("/proc/%d" % p) for p in last), 5),
         "stopping the supervisor stops its responder")

    # --- 2. a graceful restart of lighttpd under 500 streams
    N = 500
    resp, sock = start_spawned_responder(wd, ["-i", "500", "-r", "300"], name="graceful")
    httpd, port = start_lighttpd(wd, sock)
    clients = run_clients(wd, port, N, "clients-500")
    t.ok(clients is not None and all_past(clients, [0] * N, 2, 30), "500 clients receive events")
    before = [x["n"] for x in clients.ask("stats", 20)["clients"]]
    httpd.signal(signal.SIGUSR1)
    t0 = time.monotonic()
    # lighttpd waits server.graceful-shutdown-timeout (5 s in demo.conf) for open
    # responses, then cuts them; the new lighttpd takes the reconnections.
    reconnected = wait_for(lambda: (lambda r: r and r.get("ok") and
                                    all(x["opens"] >= 2 for x in r["clients"]))(
        clients.ask("stats", 20)), 20, step=0.2)
    t.ok(reconnected, "lighttpd graceful restart: streams cut after its shutdown timeout, every "
         "client reconnects (%.1f s)" % (time.monotonic() - t0))
    before = [x["n"] for x in clients.ask("stats", 20)["clients"]]
    back = all_past(clients, before, 3, 30)
    t.ok(back and httpd.alive(), "... and receives events again from the new lighttpd")
    verdict(clients, N, "graceful restart")
    clients.stop()
    clients = None
    t.eq(resp.stop(), 0, "the responder ran through it and exits 0")
    httpd.stop()

    # --- 3. a graceful restart of Apache (mod_proxy_fcgi) under 500 streams
    if not os.path.exists(apache.APACHE2) or apache.missing_modules(["proxy", "proxy_fcgi"]):
        t.skip("Apache graceful restart under 500 streams", "apache2 or mod_proxy_fcgi missing")
    else:
        apache.open_workdir(wd)
        resp, sock = apache.start_socket_responder(wd, ["-i", "500", "-r", "300"],
                                                   "apache-fcgi-sse", "FCGI_SSE_TEST=faults")
        httpd = apache.Apache(wd, "graceful", "proxy_fcgi", {"FCGI_SSE_SOCKET": sock},
                              extra="ServerLimit 16\nMaxRequestWorkers 1024\n", loglevel="notice")
        try:
            clients = run_clients(wd, httpd.port, N, "clients-apache")
            t.ok(clients is not None and all_past(clients, [0] * N, 2, 30),
                 "Apache: 500 clients receive events")
            before = [x["n"] for x in clients.ask("stats", 20)["clients"]]
            httpd.proc.signal(signal.SIGUSR1)   # apachectl -k graceful
            t.ok(wait_for(lambda: httpd.errors().count("resuming normal operations") >= 2, 10),
                 "Apache: graceful restart done", httpd.errors()[-500:])
            back = all_past(clients, before, 4, 30)
            t.ok(back and httpd.alive(), "Apache graceful restart: every client keeps receiving "
                 "(the old children serve their streams on)")
            r = clients.ask("dump", 30)
            final = r["clients"] if r and r.get("ok") else []
            t.ok(len(final) == N and all(consecutive(x["ids"]) for x in final),
                 "Apache graceful restart: all 500 clients' ids have no gap and no duplicate")
            clients.stop()
            clients = None
            t.eq(resp.stop(), 0, "the responder exits 0")
        finally:
            apache.stop_all([httpd])
finally:
    if clients is not None:
        clients.stop()
    wd.cleanup()
t.done()
