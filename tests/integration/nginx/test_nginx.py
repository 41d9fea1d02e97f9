"""test_nginx.py -- end to end through a real nginx with the shipped server block
(deploy/nginx/fcgi-sse.conf), the responder under spawn-fcgi on a unix socket of group
www-data, mode 0660, as deploy/systemd/fcgi-sse.socket makes it.

Each nginx runs from a generated minimal nginx.conf in a temporary directory (gzip on for
text and for text/event-stream, so the server block's `gzip off` is what keeps the stream
plain); the server block is templated only in its port, page root, socket path and, for
the timeout checks, fastcgi_read_timeout. Four nginx instances:

  main      responder -i 200 -k 0: page, headers, timing, prefix, resume, errors, 100 streams
  heartbeat responder -i 10000 -k 1, fastcgi_read_timeout 3s: heartbeats keep a stream open
  quiet     responder -i 10000 -k 0, fastcgi_read_timeout 3s: without them nginx cuts it
            (the control), and a client that leaves frees its stream before its first
            event is due although the responder writes nothing for 10 s (nginx itself
            noticed)
  recorder  a FastCGI stand-in recording the params nginx passes (SCRIPT_NAME, ...)
"""

import json
import os
import socket
import subprocess
import time
from statistics import median

from harness import (SRCDIR, HttpStream, Tap, Workdir, describe_gaps,  # noqa: E402
                     describe_offsets, fcgi_get, gaps, http_get, in_slot, pump, status,
                     timing_ok, wait_for)
import harness  # noqa: E402
import nginx as ngx  # noqa: E402
from client import check_stream_head  # noqa: E402

INTERVAL = 0.2
TOL = INTERVAL * 0.10
# Each event in its own slot: after the one before it was due, before the one after it is
# due (harness.in_slot), the due times t_head + (k+1) x interval; the gaps' median within
# 10 % of the interval.
SHORT_TIMEOUT = 3          # fastcgi_read_timeout templated in for the timeout checks
CLIENTS = 100

t = Tap()
if not ngx.nginx_binary():
    t.skip("nginx", "nginx is not installed")
    t.done()
if not ngx.have("spawn-fcgi"):
    t.skip("nginx", "spawn-fcgi is not installed")
    t.done()


def due_offsets(s):
    return harness.due_offsets(s, INTERVAL)


def closed_by_peer(sock, timeout):
    """(True once the peer closed sock within timeout, the bytes read meanwhile)."""
    deadline, more = time.monotonic() + timeout, b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            b = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            return True, more
        if not b:
            return True, more
        more += b
    return False, more


def one_by_one(s):
    """No two events came in the same read: each was flushed on its own."""
    ts = [e["t"] for e in s.events if e["data"] is not None]
    return len(ts) == len(set(ts))


wd = Workdir("nginx")
servers = []
try:
    ngx.open_for_workers(wd.path)
    html = ngx.copy_page(wd)

    resp, sock = ngx.start_responder_for_nginx(wd, ["-i", "200", "-k", "0"], name="main")
    main = ngx.Nginx(wd, sock, html, name="nginx-main")
    servers.append(main)
    port = main.port
    # nginx itself accepts the generated configuration around the shipped server block,
    # which was templated in its port, root and socket only
    r = subprocess.run([ngx.nginx_binary(), "-t", "-p", main.dir + "/", "-c", main.conf,
                        "-g", "daemon off;"], capture_output=True, text=True, timeout=20)
    t.ok(r.returncode == 0 and main.proc.alive() and "listen 127.0.0.1:%d " % port in main.site
         and "unix:%s" % sock in main.site and "root %s;" % html in main.site,
         "nginx -t accepts the shipped server block (port, root, socket templated) and serves",
         r.stderr[-800:])

    # --- the page and its assets, served by nginx itself
    for path, ctype in [("/", "text/html; charset=utf-8"),
                        ("/index.html", "text/html; charset=utf-8"),
                        ("/app.js", "application/javascript; charset=utf-8"),
                        ("/style.css", "text/css; charset=utf-8")]:
        code, hdrs, body = http_get(port, path)
        t.ok(code == 200 and hdrs.get("content-type") == ctype and len(body) > 100,
             "page: %s is %s" % (path, ctype), (code, hdrs))
    code, hdrs, body = http_get(port, "/")
    with open(os.path.join(SRCDIR, "html", "index.html"), "rb") as f:
        t.ok(body == f.read(), "page: / is html/index.html")
    t.eq(hdrs.get("content-security-policy"), "default-src 'self'; frame-ancestors 'none'",
         "page: strict Content-Security-Policy")
    t.eq(hdrs.get("x-content-type-options"), "nosniff", "page: X-Content-Type-Options: nosniff")
    code, hdrs, body = http_get(port, "/app.js", headers={"Accept-Encoding": "gzip"})
    t.ok(code == 200 and hdrs.get("content-encoding") == "gzip",
         "control: gzip is on for text (the page's script is compressed)", hdrs)

    # --- a stream through nginx: headers, no gzip, timing
    s = HttpStream(port, "/stream", headers={"Accept-Encoding": "gzip"})
    s.read_events(8, 5)
    s.close()
    t.eq(s.status, 200, "stream: 200")
    check_stream_head(t, s, "stream", accel=False)   # nginx consumes it: checked below
    t.ok(s.header("Content-Encoding") is None,
         "stream: no Content-Encoding although the client accepts gzip and gzip_types has "
         "text/event-stream", s.headers)
    t.ok(s.header("Content-Length") is None, "stream: no Content-Length")
    direct = fcgi_get(sock, "/stream", query="limit=1")
    t.ok("X-Accel-Buffering: no" in direct.headers() and s.header("X-Accel-Buffering") is None,
         "stream: the responder sends X-Accel-Buffering: no and nginx consumes it (not "
         "forwarded)", (direct.headers(), s.headers))
    t.diag("stream headers through nginx: %s" % s.headers)
    evs = [e for e in s.events if e["data"] is not None]
    t.ok(s.t_head is not None and evs and s.t_head < evs[0]["t"],
         "stream: the header block arrives before the first event",
         s.t_head and evs and (s.t_head - s.t_start, evs[0]["t"] - s.t_start))
    t.ok(s.body_pieces and s.body_pieces[0][1].startswith(b"retry: 3000")
         and evs and s.body_pieces[0][0] < evs[0]["t"],
         "stream: the retry line arrives on its own, before the first event", s.body_pieces[:1])
    t.eq(s.counts()[:8], list(range(8)), "stream: ids 0..7 consecutive")
    offs = due_offsets(s)
    t.ok(len(offs) >= 8 and in_slot(offs, INTERVAL),
         "stream: each event in its own slot (after the one before it was due, before the one "
         "after it is due): %s" % describe_offsets(offs, INTERVAL), ["%+.3f" % x for x in offs])
    g = gaps(s.events)
    t.ok(len(g) >= 7 and timing_ok(g, INTERVAL),
         "stream: inter-arrival on time (fastcgi_buffering off: not buffered): %s"
         % describe_gaps(g, INTERVAL), ["%.3f" % x for x in g])
    t.ok(one_by_one(s), "stream: each event arrives on its own, none batched")

    # --- prefixes, resume, limit
    s = HttpStream(port, "/app/stream?limit=2")
    s.read_to_end(3)
    t.ok(s.status == 200 and s.counts() == [0, 1] and s.eof,
         "prefix: /app/stream works, limit=2 ends the response", (s.status, s.counts()))
    s = HttpStream(port, "/deep/er/app/stream?limit=1")
    s.read_to_end(3)
    t.ok(s.status == 200 and s.counts() == [0], "prefix: /deep/er/app/stream works", s.counts())
    s = HttpStream(port, "/stream", headers={"Last-Event-ID": "41"})
    s.read_events(2, 3)
    s.close()
    t.eq(s.counts()[:2], [42, 43], "resume: Last-Event-ID: 41 passes nginx and continues at 42")
    s = HttpStream(port, "/stream?lastEventId=7")
    s.read_events(2, 3)
    s.close()
    t.eq(s.counts()[:2], [8, 9], "resume: ?lastEventId=7 continues at 8")

    # --- HEAD, errors: the responder's answers pass through; other paths are nginx's.
    #     HEAD is not held open: nginx closes the connection (Connection: close) once the
    #     responder ended the request (a HEAD served as a stream would never end).
    h = HttpStream(port, "/stream", method="HEAD")
    h.read_head(10)
    closed, more = closed_by_peer(h.sock, 10)
    h.close()
    t.ok(h.status == 200 and (h.header("Content-Type") or "").startswith("text/event-stream")
         and h.raw + more == b"" and closed,
         "HEAD: 200, event-stream headers only, and the response ends (not held open)",
         (h.status, h.headers, h.raw + more, closed))
    code, hdrs, body = http_get(port, "/stream", method="POST",
                                headers={"Content-Length": "0"})
    t.ok(code == 405 and hdrs.get("allow") == "GET, HEAD" and body.count(b"\n") == 1,
         "405: POST gets the responder's 405 with Allow: GET, HEAD", (code, hdrs, body))
    code, hdrs, body = ngx.get_from(port, "/stream", method="POST", body=b"x=1&y=2",
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    t.ok(code == 405 and b"method" in body, "405: a POST with a body too", (code, body))
    code, hdrs, body = http_get(port, "/stream", headers={"Last-Event-ID": "-1"})
    t.ok(code == 400 and body.count(b"\n") == 1 and b"Last-Event-ID" in body,
         "400: bad Last-Event-ID: the responder's one line passes through", (code, body))
    for path in ("/nosuch", "/streamx", "/stream/", "/app/stream/x"):
        code, hdrs, body = http_get(port, path)
        t.ok(code == 404 and b"nginx" in body,
             "404: %s is not passed to the responder (nginx's own 404)" % path, (code, body))

    # --- /status: loopback only
    code, hdrs, body = http_get(port, "/status")
    ok = code == 200 and hdrs.get("content-type") == "application/json"
    st = json.loads(body) if ok else {}
    t.ok(ok and "streams_open" in st, "status: 200 JSON from 127.0.0.1", (code, hdrs, body))
    code, hdrs, body = ngx.get_from(port, "/app/status", source="127.0.0.2")
    t.eq(code, 403, "status: 403 for any other address (here 127.0.0.2)")
    code, hdrs, body = ngx.get_from(port, "/stream?limit=1", source="127.0.0.2")
    t.eq(code, 200, "stream: served to any address (127.0.0.2)")

    # --- 100 streams at once, every event of every client on time
    before = status(sock)["streams_total"]
    clients = [HttpStream(port, "/stream?limit=10") for _ in range(CLIENTS)]
    pump(clients, lambda: all(c.eof for c in clients), 10)
    for c in clients:
        c.close()
    t.ok(all(c.status == 200 and c.counts() == list(range(10)) for c in clients),
         "%d streams: each gets ids 0..9 and ends" % CLIENTS,
         [c.counts() for c in clients if c.counts() != list(range(10))][:5])
    offs = [x for c in clients for x in due_offsets(c)]
    t.ok(offs and in_slot(offs, INTERVAL), "%d streams: each event in its own slot: %s"
         % (CLIENTS, describe_offsets(offs, INTERVAL)))
    allg = sorted(x for c in clients for x in gaps(c.events))
    p50 = median(allg) if allg else 1e9
    t.ok(allg and abs(p50 - INTERVAL) <= TOL,
         "%d streams: inter-arrival p50 %.1f ms (200 +-10%%)" % (CLIENTS, p50 * 1000))
    t.ok(wait_for(lambda: status(sock)["streams_open"] == 0, 2)
         and status(sock)["streams_total"] - before == CLIENTS,
         "%d streams: all counted and all closed" % CLIENTS, status(sock))

    # --- what nginx passes: a FastCGI stand-in records the params
    rec = ngx.ParamRecorder(wd.file("recorder.sock"))
    try:
        recorder = ngx.Nginx(wd, rec.path, html, name="nginx-recorder")
        servers.append(recorder)
        cases = [
            ("/app/stream?limit=2&x=%41", {"Last-Event-ID": "41"},
             {"SCRIPT_NAME": "/app/stream", "REQUEST_URI": "/app/stream?limit=2&x=%41",
              "DOCUMENT_URI": "/app/stream", "QUERY_STRING": "limit=2&x=%41",
              "REQUEST_METHOD": "GET", "HTTP_LAST_EVENT_ID": "41"}),
            ("/a%20b/stream", {},
             {"SCRIPT_NAME": "/a b/stream", "REQUEST_URI": "/a%20b/stream",
              "QUERY_STRING": ""}),
            ("//app//./stream", {},
             {"SCRIPT_NAME": "/app/stream", "REQUEST_URI": "//app//./stream"}),
            ("/%73tream", {},
             {"SCRIPT_NAME": "/stream", "REQUEST_URI": "/%73tream"}),
        ]
        for path, hdrs, want in cases:
            code, _, _ = ngx.get_from(recorder.port, path, headers=hdrs)
            last = rec.last()
            got = {k: last["params"].get(k) for k in want} if last else None
            t.ok(code == 200 and got == want and "PATH_INFO" not in last["params"],
                 "params: %s -> %s, no PATH_INFO" % (path, ", ".join(
                     "%s=%r" % kv for kv in want.items())),
                 "got: %r" % (last and last["params"]))
        ngx.get_from(recorder.port, "/stream", method="HEAD")
        last = rec.last()
        t.ok(last and last["params"].get("REQUEST_METHOD") == "HEAD",
             "params: HEAD is passed as HEAD (not turned into GET)",
             last and last["params"].get("REQUEST_METHOD"))
        if last:
            t.diag("nginx passes: " + ", ".join(sorted(last["params"])))
    finally:
        rec.stop()

    # --- fastcgi_read_timeout 3s: heartbeats keep a stream open, silence does not
    resp_hb, sock_hb = ngx.start_responder_for_nginx(wd, ["-i", "10000", "-k", "1"],
                                                     name="heartbeat")
    hb = ngx.Nginx(wd, sock_hb, html, name="nginx-heartbeat", read_timeout="%ds" % SHORT_TIMEOUT)
    servers.append(hb)
    resp_q, sock_q = ngx.start_responder_for_nginx(wd, ["-i", "10000", "-k", "0"], name="quiet")
    quiet = ngx.Nginx(wd, sock_q, html, name="nginx-quiet", read_timeout="%ds" % SHORT_TIMEOUT)
    servers.append(quiet)
    t.ok("fastcgi_read_timeout %ds;" % SHORT_TIMEOUT in hb.site,
         "timeout: %d s templated into a copy of the server block" % SHORT_TIMEOUT)

    # A client that leaves: the responder writes nothing for 10 s, so only nginx can have
    # noticed (EPOLLRDHUP on the client) and closed the connection to the responder.
    s = HttpStream(quiet.port, "/stream")
    s.read_until(lambda s: s.body_pieces, 3)
    opened = wait_for(lambda: status(sock_q)["streams_open"] == 1, 2)
    due = (s.t_head or 0) + 10.0        # the stream's first event (-i 10000)
    t_close = time.monotonic()
    s.close()
    freed = wait_for(lambda: status(sock_q)["streams_open"] == 0, 15)
    t_freed = time.monotonic()
    t.ok(opened and freed and t_freed < due, "disconnect: client gone -> responder's "
         "streams_open 1 -> 0 before the stream's first event was due (interval 10 s: no "
         "write noticed it; %.0f ms after the close)" % ((t_freed - t_close) * 1000))

    t_open = time.monotonic()
    alive = HttpStream(hb.port, "/stream")
    cut = HttpStream(quiet.port, "/stream")
    pump([alive, cut], lambda: cut.eof, 2 * SHORT_TIMEOUT)
    t_cut = time.monotonic() - t_open
    pump([alive], lambda: False, t_open + 2 * SHORT_TIMEOUT + 0.5 - time.monotonic())
    t_end = time.monotonic()
    alive.close()
    cut.close()
    beats = [c for c, _ in alive.parser.comments]
    t.ok(alive.status == 200 and not alive.eof and t_end - t_open >= 2 * SHORT_TIMEOUT,
         "heartbeat: a stream with no event for %.1f s (2x the timeout) is still open"
         % (t_end - t_open), (alive.status, alive.eof))
    t.ok(len(beats) >= 2 * SHORT_TIMEOUT - 1 and alive.counts() == [],
         "heartbeat: %d comment lines, no event, kept it alive" % len(beats), beats)
    t.ok(cut.status == 200 and cut.eof and SHORT_TIMEOUT - 0.2 <= t_cut < 2 * SHORT_TIMEOUT,
         "control: without heartbeats nginx ends the stream after fastcgi_read_timeout, "
         "before twice it, while the stream with heartbeats lives on past that (%.2f s)"
         % t_cut, (cut.status, cut.eof))
    t.ok("upstream timed out" in quiet.error_log(),
         "control: nginx logged 'upstream timed out'", quiet.error_log()[-500:])

    for x in servers:
        t.ok(x.proc.alive(), "%s is still running" % x.name)
    t.ok(resp.alive() and resp_hb.alive() and resp_q.alive(), "the responders are still running")
    t.eq(resp.stop(), 0, "SIGTERM: the responder under spawn-fcgi exits 0")
finally:
    workers = [w for x in servers for w in x.workers()]
    wd.cleanup()
    ngx.kill_leftovers([w for w in workers if os.path.exists("/proc/%d" % w)])
t.done()
