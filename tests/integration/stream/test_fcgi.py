"""test_fcgi.py -- the protocol straight over FastCGI, with libfcgi's own client cgi-fcgi.

The responder opens its own unix socket (-l unix:...) with a 200 ms interval so the
timing checks stay fast; each check waits for its condition with a deadline.
"""

from harness import (CgiFcgi, Tap, Workdir, describe_gaps, describe_offsets,  # noqa: E402
                     due_offsets, fcgi_get, gaps, in_slot, pump, run_binary, start_responder,
                     status, timing_ok)

INTERVAL = 0.2

t = Tap()
wd = Workdir("fcgi")
try:
    resp, sock = start_responder(wd, ["-i", "200", "-k", "0"])

    # --- a stream: headers, first bytes, ids, timing
    c = CgiFcgi(sock, "/stream")
    c.read_until(lambda c: len(c.counts()) >= 6, 5)
    c.close()
    t.eq(c.headers(), ["Status: 200 OK",
                       "Content-Type: text/event-stream; charset=utf-8",
                       "Cache-Control: no-cache",
                       "X-Accel-Buffering: no"], "stream: exact header block")
    evs = [e for e in c.events if e["data"]]
    t.ok(c.head is not None and evs and c.head[0] < evs[0]["t"],
         "stream: the header block arrives on its own, before the first event",
         c.head and evs and (c.head[0] - c.t_start, evs[0]["t"] - c.t_start))
    t.ok(c.body().startswith(b"retry: 3000\n\n"), "stream: retry line flushed with the headers",
         c.body()[:40])
    t.eq(c.counts()[:6], list(range(6)), "stream: ids 0..5, consecutive")
    t.ok(all(e["data"] == "Count: [%s]" % e["id"] for e in c.events if e["data"]),
         "stream: data is Count: [N] with N the id")
    offs = due_offsets(c, INTERVAL)
    t.ok(len(offs) >= 6 and in_slot(offs, INTERVAL),
         "stream: the first event one interval after the headers, each in its own slot (after "
         "the one before it was due, before the one after it is due): %s"
         % describe_offsets(offs, INTERVAL), ["%+.3f" % x for x in offs])
    g = gaps(c.events)
    t.ok(len(g) >= 5 and timing_ok(g, INTERVAL), "stream: on time: %s"
         % describe_gaps(g, INTERVAL), ["%.3f" % x for x in g])

    # --- resume
    c = CgiFcgi(sock, "/stream", extra={"HTTP_LAST_EVENT_ID": "41"})
    c.read_until(lambda c: len(c.counts()) >= 2, 3)
    c.close()
    t.eq(c.counts()[:2], [42, 43], "resume: Last-Event-ID 41 continues at 42")
    c = CgiFcgi(sock, "/stream", query="lastEventId=7&_=123")
    c.read_until(lambda c: len(c.counts()) >= 2, 3)
    c.close()
    t.eq(c.counts()[:2], [8, 9], "resume: lastEventId=7 query parameter continues at 8")
    c = CgiFcgi(sock, "/stream", query="lastEventId=7", extra={"HTTP_LAST_EVENT_ID": "100"})
    c.read_until(lambda c: len(c.counts()) >= 1, 3)
    c.close()
    t.eq(c.counts()[:1], [101], "resume: the header wins over the query parameter")
    c = CgiFcgi(sock, "/stream", extra={"HTTP_LAST_EVENT_ID": "9223372036854775806"})
    c.read_until(lambda c: c.eof, 3)
    c.close()
    t.ok(c.counts() == [9223372036854775807] and c.eof,
         "resume: the largest Last-Event-ID gets 2^63-1, then the end (ids stay resumable)",
         c.counts())

    # --- limit: the response ends normally (END_REQUEST: cgi-fcgi exits 0)
    c = CgiFcgi(sock, "/stream", query="limit=3")
    c.read_until(lambda c: c.eof, 3)
    rc = c.p.wait(3)
    c.close()
    t.eq(c.counts(), [0, 1, 2], "limit=3: exactly three events")
    t.ok(c.eof and rc == 0, "limit=3: then the response ends normally", rc)

    # --- HEAD and errors
    c = fcgi_get(sock, "/stream", method="HEAD")
    t.ok(c.headers()[:2] == ["Status: 200 OK", "Content-Type: text/event-stream; charset=utf-8"]
         and c.body() == b"", "HEAD: the stream's headers, no body", c.out)

    def error(c, code, name, body=None, header=None):
        lines = c.headers()
        t.ok(lines and lines[0].startswith("Status: %d " % code), name + ": status %d" % code,
             lines)
        ct = [x for x in lines if x.lower().startswith("content-type:")]
        t.ok(ct == ["Content-Type: text/plain; charset=utf-8"] and c.body().endswith(b"\n")
             and c.body().count(b"\n") == 1 and len(c.body()) > 10,
             name + ": one line of text/plain", c.out)
        if body:
            t.ok(body in c.body(), name + ": says what was wrong", c.body())
        if header:
            t.ok(header in lines, name + ": " + header, lines)

    error(fcgi_get(sock, "/nothing"), 404, "unknown path")
    error(fcgi_get(sock, "/stream/"), 404, "trailing slash")
    error(fcgi_get(sock, "/stream", method="POST"), 405, "POST", b"GET or HEAD",
          "Allow: GET, HEAD")
    error(fcgi_get(sock, "/stream", method="DELETE"), 405, "DELETE", None, "Allow: GET, HEAD")
    for bad in ["-1", "+1", "abc", "1 2", "9223372036854775807", "99999999999999999999"]:
        error(fcgi_get(sock, "/stream", extra={"HTTP_LAST_EVENT_ID": bad}), 400,
              "Last-Event-ID %r" % bad, b"Last-Event-ID")
    for bad in ["0", "-5", "1000000001", "x", ""]:
        error(fcgi_get(sock, "/stream", query="limit=" + bad), 400, "limit=%r" % bad, b"limit")
    error(fcgi_get(sock, "/stream", query="lastEventId=evil%0Aid:%201"), 400,
          "lastEventId with a newline", b"lastEventId")
    c = fcgi_get(sock, "/stream", query="lastEventId=evil%0Aid:%201")
    t.ok(b"evil" not in c.out, "errors never echo the input")

    # --- prefixes: the route is the last path segment, as each server passes it
    for script, extra, name in [
            ("/app/stream", {}, "SCRIPT_NAME=/app/stream"),
            ("/app", {"PATH_INFO": "/stream"}, "SCRIPT_NAME=/app + PATH_INFO=/stream"),
            ("", {"REQUEST_URI": "/deep/mount/stream?limit=1"}, "REQUEST_URI only")]:
        c = fcgi_get(sock, script, query="limit=1", extra=extra, timeout=3)
        t.eq(c.counts(), [0], "prefix: " + name)

    # --- ten clients at once, all on time
    clients = [CgiFcgi(sock, "/stream", query="limit=5") for _ in range(10)]
    pump(clients, lambda: all(c.eof for c in clients), 5)
    for c in clients:
        c.close()
    t.ok(all(c.counts() == list(range(5)) for c in clients), "ten clients: each gets ids 0..4",
         [c.counts() for c in clients])
    g = [x for c in clients for x in gaps(c.events)]
    t.ok(timing_ok(g, INTERVAL), "ten clients: on time: %s" % describe_gaps(g, INTERVAL),
         [["%.3f" % x for x in gaps(c.events)] for c in clients])

    # --- status
    st = status(sock)
    t.ok(set(st) >= {"streams_open", "streams_total", "events_sent", "streams_dropped_slow",
                     "streams_refused", "uptime_s", "max_streams", "version"},
         "status: JSON with every counter", st)
    t.ok(st["streams_open"] == 0 and st["streams_total"] >= 19 and st["events_sent"] >= 60,
         "status: counts what was served", st)

    # --- bad options: a message naming the option and its range, exit 2
    for argv, word in [(["--interval", "0"], "--interval"), (["-r", "x"], "--retry"),
                       (["--heartbeat", "86401"], "--heartbeat"), (["-m", "0"], "--max-streams"),
                       (["--socket-mode", "0999"], "--socket-mode"), (["--bogus"], "bogus")]:
        p = run_binary(argv)
        t.ok(p.returncode == 2 and word.encode() in p.stderr and p.stderr.count(b"\n") == 1,
             "option %s: exit 2 with one line naming it" % " ".join(argv), p)
    p = run_binary(["--help"])
    t.ok(p.returncode == 0 and b"--listen" in p.stdout and b"--interval" in p.stdout,
         "--help lists the options")
    p = run_binary(["-V"])
    t.ok(p.returncode == 0 and p.stdout.startswith(b"fcgi-sse "), "--version", p.stdout)

    rc = resp.stop()
    t.eq(rc, 0, "SIGTERM: the responder exits 0")
finally:
    wd.cleanup()
t.done()
