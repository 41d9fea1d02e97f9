"""test_lifecycle.py -- a stream's life: a client that leaves frees it at once, the stream
limit answers 503 and recovers, a reader that stops reading is dropped without delaying
anyone else, and SIGTERM ends every stream cleanly and exits in time.
"""

import os
import signal
import time

from harness import (BINARY, FCGI_ABORT_REQUEST, FCGI_END_REQUEST, FCGI_STDOUT,  # noqa: E402
                     STOP_DEADLINE, CgiFcgi, HttpStream, Tap, Workdir, beyond_control,
                     can_connect, describe_gaps, due_offsets, fcgi_get, fcgi_raw,
                     fcgi_read_records, fcgi_record, gaps, pump, start_lighttpd,
                     start_responder, start_spawned_responder, status, timing_ok, wait_for)

t = Tap()
wd = Workdir("lifecycle")
try:
    # --- a client that leaves frees its stream at once, not at its next tick: the interval
    #     is 10 s here, and the stream must be freed before that first event is due (the
    #     write that would have noticed it)
    resp, sock = start_responder(wd, ["-i", "10000", "-k", "0"], name="slowtick")
    c = CgiFcgi(sock, "/stream")
    c.read_until(lambda c: c.head is not None, 3)
    t.ok(wait_for(lambda: status(sock)["streams_open"] == 1, 2), "disconnect: stream open")
    due = c.head[0] + 10.0 if c.head else 0
    c.close()
    freed = wait_for(lambda: status(sock)["streams_open"] == 0, 15)
    t_freed = time.monotonic()
    t.ok(freed and t_freed < due, "disconnect (FastCGI peer closes): freed before the stream's "
         "first event was due (-i 10000)", "freed %.3f s before it was due" % (due - t_freed))

    # lighttpd 1.4 notices that its client left only when it next writes to it (it does
    # not watch the client socket while it waits on the backend), so through lighttpd a
    # stream is freed at the first event after the client left (or heartbeat), and must be
    # by the next one: the responder does not wait for a write of its own to notice.
    spawned, ssock = start_spawned_responder(wd, ["-i", "500", "-k", "0"], name="behind")
    httpd, port = start_lighttpd(wd, ssock)
    s = HttpStream(port, "/stream")
    s.read_events(1, 3)
    t.ok(s.status == 200 and wait_for(lambda: status(ssock)["streams_open"] == 1, 2),
         "disconnect through lighttpd: stream open")
    offs = due_offsets(s, 0.5)
    # event k is due at t0 + (k+1) x 0.5; the client has event n-1 (n read): lighttpd writes
    # event n (and notices), the responder would write event n+1 if it had not noticed
    n = len(s.counts())
    due = s.events[-1]["t"] - offs[-1] + 1.0 if offs else 0
    s.close()
    freed = wait_for(lambda: status(ssock)["streams_open"] == 0, 15)
    t_freed = time.monotonic()
    t.ok(freed and t_freed < due, "disconnect through lighttpd: freed at lighttpd's next write, "
         "before the responder's own next write was due", "%d events read; freed %.3f s before "
         "event %d was due" % (n, due - t_freed, n + 1))
    # an abort request from the web server ends the stream too
    raw = fcgi_raw(ssock)
    recs, _ = fcgi_read_records(raw, 2, until=lambda r: any(x[0] == FCGI_STDOUT for x in r))
    t.ok(wait_for(lambda: status(ssock)["streams_open"] == 1, 2), "abort: stream open")
    raw.sendall(fcgi_record(FCGI_ABORT_REQUEST, b""))
    recs, eof = fcgi_read_records(raw, 2)
    t.ok(recs and recs[-1][0] == FCGI_END_REQUEST, "abort: answered with END_REQUEST",
         [r[0] for r in recs])
    t.ok(wait_for(lambda: status(ssock)["streams_open"] == 0, 1), "abort: stream freed")
    raw.close()

    # --- the stream limit: 503 with Retry-After, and service resumes below it
    resp, sock = start_responder(wd, ["-i", "200", "-k", "0", "-m", "3", "-r", "2500"],
                                 name="limited")
    held = [CgiFcgi(sock, "/stream") for _ in range(3)]
    pump(held, lambda: all(len(c.counts()) >= 1 for c in held), 3)
    t.ok(all(c.counts() for c in held), "limit: three streams open at -m 3")
    r = fcgi_get(sock, "/stream")
    t.ok(r.headers() and r.headers()[0].startswith("Status: 503 ")
         and "Retry-After: 3" in r.headers() and r.body().count(b"\n") == 1,
         "limit: the fourth gets 503, Retry-After from --retry, one-line reason", r.out)
    t.eq(status(sock)["streams_refused"], 1, "limit: counted in streams_refused")
    held[0].close()
    wait_for(lambda: status(sock)["streams_open"] == 2, 2)
    c = CgiFcgi(sock, "/stream", query="limit=2")
    c.read_until(lambda c: c.eof, 3)
    c.close()
    t.eq(c.counts(), [0, 1], "limit: below it again, a new stream is served")
    # Ids are counted before the pump: each held stream must go on by at least 4 more
    # (it was at one or two events; 4 more take 0.8 s at 200 ms), in order, no gap.
    before = [len(c.counts()) for c in held[1:]]
    went_on = pump(held[1:], lambda: all(len(c.counts()) >= n + 4
                                         for c, n in zip(held[1:], before)), 5)
    t.ok(went_on and all(c.counts() == list(range(len(c.counts()))) for c in held[1:]),
         "limit: the held streams never stopped (4 more events each, no gap)",
         (before, [c.counts() for c in held[1:]]))
    for c in held[1:]:
        c.close()

    # --- a reader that stops reading is dropped; the others stay on time: each of their
    #     events before the next one is due, beyond the lateness of the same streams of a
    #     responder without a stuck reader (the control), read by the same loop. They are
    #     read for a fixed window that covers the backlog filling up and the drop, with
    #     nothing else done meanwhile (a status call would delay our reading).
    resp, sock = start_responder(wd, ["-i", "100", "-k", "0", "-b", "4096"], name="backlog")
    ctl, ctl_sock = start_responder(wd, ["-i", "100", "-k", "0", "-b", "4096"], name="control")
    stuck = fcgi_raw(sock)            # never reads a byte
    others = [CgiFcgi(sock, "/stream") for _ in range(5)]
    controls = [CgiFcgi(ctl_sock, "/stream") for _ in range(5)]
    pump(others + controls, lambda: False, 4.0)
    t.ok(status(sock)["streams_dropped_slow"] >= 1,
         "slow reader: dropped once its backlog exceeds --max-backlog")
    for c in others + controls:
        c.close()
    t.ok(all(len(c.counts()) >= 35 and c.counts() == list(range(len(c.counts())))
             for c in others), "slow reader: five others get every event",
         [len(c.counts()) for c in others])
    g = sorted(x for c in others for x in gaps(c.events))
    t.ok(g and timing_ok(g, 0.1, each=False), "slow reader: the others keep the interval (%s)"
         % describe_gaps(g, 0.1), ["%.3f" % x for x in g[:5] + g[-5:]])

    def pairs(c):
        return [(int(e["id"]), e["t"]) for e in c.events if e["data"] and e["id"] is not None]
    late, worst, worst_ctl = beyond_control([pairs(c) for c in others],
                                            [pairs(c) for c in controls], 0.1)
    t.ok(all(pairs(c) for c in controls) and not late,
         "slow reader: each event of the others before the next one was due, beyond the "
         "control's lateness at that moment (latest %.0f ms, the control's %.0f ms)"
         % (worst * 1000, worst_ctl * 1000), late[:10])
    t.ok(wait_for(lambda: status(sock)["streams_open"] == 0, 2),
         "slow reader: its slot is free again")
    stuck.close()

    # --- SIGTERM: every stream ends cleanly, exit 0 (before the unit's TimeoutStopSec)
    resp, sock = start_responder(wd, ["-i", "100", "-k", "0"], name="term")
    clients = [CgiFcgi(sock, "/stream") for _ in range(5)]
    raws = [fcgi_raw(sock) for _ in range(3)]
    pump(clients, lambda: all(len(c.counts()) >= 2 for c in clients), 3)
    t0 = time.monotonic()
    resp.signal(signal.SIGTERM)
    rc = resp.wait(STOP_DEADLINE)
    took = time.monotonic() - t0
    t.ok(rc == 0, "SIGTERM: exit 0 before the service manager would kill it (TimeoutStopSec=%g)"
         % STOP_DEADLINE, (rc, took))
    pump(clients, lambda: all(c.eof for c in clients), 2)
    codes = [c.p.wait(2) for c in clients]
    t.ok(all(c.eof for c in clients) and codes == [0] * 5,
         "SIGTERM: each client sees the response end normally", codes)
    ends = [fcgi_read_records(r, 2)[0] for r in raws]
    t.ok(all(recs and recs[-1][0] == FCGI_END_REQUEST for recs in ends),
         "SIGTERM: FastCGI END_REQUEST on every stream", [[x[0] for x in r][-2:] for r in ends])
    for c in clients:
        c.close()
    for r in raws:
        r.close()
    t.ok("stopping: ending" in resp.log() and "stopped:" in resp.log(),
         "SIGTERM: logged", resp.log()[-300:])

    # --- SIGINT and SIGUSR1 (libfcgi's convention) stop it as SIGTERM does
    for sig in (signal.SIGINT, signal.SIGUSR1):
        name = signal.Signals(sig).name
        resp, sock = start_responder(wd, ["-i", "100", "-k", "0"], name=name.lower())
        c = CgiFcgi(sock, "/stream")
        c.read_until(lambda c: len(c.counts()) >= 1, 3)
        resp.signal(sig)
        rc = resp.wait(STOP_DEADLINE)
        c.read_until(lambda c: c.eof, 2)
        code = c.p.wait(2)
        c.close()
        t.ok(rc == 0 and c.eof and code == 0 and "stopped:" in resp.log(),
             "%s: streams end cleanly, exit 0" % name, (rc, code, resp.log()[-300:]))

    # --- a second signal exits at once, without the graceful end: exit status 1, not 0.
    #     Two different signals, so that they cannot merge into one while pending, and
    #     both sent while the process is stopped: an idle graceful end takes a few ms, and
    #     on a loaded machine the test could be descheduled between two kill()s for longer
    #     (seen in CI), so that the second came after the graceful exit.
    resp, sock = start_responder(wd, ["-i", "100", "-k", "0"], name="twice")
    clients = [CgiFcgi(sock, "/stream") for _ in range(3)]
    pump(clients, lambda: all(len(c.counts()) >= 1 for c in clients), 3)
    resp.expect_status = 1
    resp.signal(signal.SIGSTOP)
    resp.signal(signal.SIGTERM)
    resp.signal(signal.SIGINT)
    resp.signal(signal.SIGCONT)
    rc = resp.wait(STOP_DEADLINE)
    t.ok(rc == 1 and "second signal: exiting at once" in resp.log()
         and "stopped:" not in resp.log(),
         "second signal: exits at once with status 1, skipping the graceful end",
         (rc, resp.log()[-300:]))
    for c in clients:
        c.close()

    # --- at start: the soft open-files limit is raised to the hard one, the limits are
    #     logged, and --max-streams defaults to open files - 64
    sock = wd.file("limits.sock")
    resp = wd.start(["prlimit", "--nofile=100:2000", BINARY, "-l", "unix:" + sock, "-i", "100"],
                    "limits")
    # The socket listens before the limits are raised and logged: wait for the log line
    # (the start-up line, which comes after the "max streams N: ..." line of how N was
    # reached: waiting for "max streams" alone raced it on a busy machine).
    logged = wait_for(lambda: "open files 2000 (hard" in resp.log() or not resp.alive(), 15)
    wait_for(lambda: can_connect(sock) or not resp.alive(), 5)
    with open("/proc/%d/limits" % resp.pid) as f:
        lim = [line.split()[3:5] for line in f if line.startswith("Max open files")]
    t.eq(lim, [["2000", "2000"]], "start: soft open-files limit raised to the hard one")
    t.ok(logged and "max streams 1936, open files 2000 (hard 2000)" in resp.log(),
         "start: the effective limits are logged", resp.log()[-400:])
    t.eq(status(sock)["max_streams"], 1936, "start: --max-streams defaults to open files - 64")
    if os.geteuid() == 0:
        t.ok("running as root" in resp.log(), "start: warns when run as root", resp.log()[-400:])
    else:
        t.ok("running as root" not in resp.log(), "start: no root warning when not root")
    t.eq(resp.stop(), 0, "limits: SIGTERM, exit 0")
finally:
    wd.cleanup()
t.done()
