"""test_lighttpd.py -- end to end through a real lighttpd (the shipped demo config, mod_fastcgi)
with the responder under spawn-fcgi, as the demo runs it.

lighttpd listens on a free loopback port; the responder runs with a 200 ms interval.
demo.conf is included by a wrapper that turns mod_deflate on for text/ (event streams
included), so that no Content-Encoding on the stream means something.
"""

import os

from harness import (SRCDIR, HttpStream, Tap, Workdir, describe_gaps,  # noqa: E402
                     describe_offsets, due_offsets, gaps, http_get, in_slot, pump,
                     start_lighttpd, start_spawned_responder, timing_ok)
from client import check_stream_head  # noqa: E402

INTERVAL = 0.2


def with_gzip(wd):
    """demo.conf with mod_deflate on for every text type, event streams included (as a
    site that compresses its pages would have it): lighttpd must still not compress
    the stream, which it cannot do while streaming the response body."""
    path = wd.file("gzip.conf")
    with open(path, "w") as f:
        f.write('include "%s"\n' % os.path.join(SRCDIR, "deploy", "lighttpd", "demo.conf"))
        f.write('server.modules += ( "mod_deflate" )\n'
                'deflate.mimetypes = ( "text/" )\n'
                'deflate.allowed-encodings = ( "gzip" )\n'
                'deflate.min-compress-size = 1\n')
    return path

t = Tap()
wd = Workdir("lighttpd")
try:
    resp, sock = start_spawned_responder(wd, ["-i", "200", "-k", "0"])
    httpd, port = start_lighttpd(wd, sock, conf=with_gzip(wd))

    # --- the page and its assets, served by lighttpd itself
    for path, ctype in [("/", "text/html"), ("/index.html", "text/html"),
                        ("/app.js", "text/javascript"), ("/style.css", "text/css")]:
        code, hdrs, body = http_get(port, path)
        t.ok(code == 200 and hdrs.get("content-type", "").startswith(ctype) and len(body) > 100,
             "page: %s is %s" % (path, ctype), (code, hdrs))
    code, hdrs, body = http_get(port, "/")
    with open(os.path.join(SRCDIR, "html", "index.html"), "rb") as f:
        t.ok(body == f.read(), "page: / is html/index.html")
    t.ok(b"EventSource" not in body and b"<script src=" in body,
         "page: no inline script, the script is a file")
    t.ok("script-src" in hdrs.get("content-security-policy", "") or
         "default-src 'self'" in hdrs.get("content-security-policy", ""),
         "page: served with a strict Content-Security-Policy", hdrs)

    # --- a stream through lighttpd (compression on for text, the client accepts gzip)
    s = HttpStream(port, "/stream", headers={"Accept-Encoding": "gzip"})
    s.read_events(6, 5)
    s.close()
    t.eq(s.status, 200, "stream: 200")
    check_stream_head(t, s, "stream")
    t.ok(s.header("Content-Length") is None, "stream: no Content-Length")
    t.ok(s.header("Content-Encoding") is None,
         "stream: no Content-Encoding although the client accepts gzip and deflate is on "
         "for text/", s.headers)
    evs = [e for e in s.events if e["data"] is not None]
    t.ok(s.t_head is not None and evs and s.t_head < evs[0]["t"],
         "stream: the header block arrives before the first event",
         s.t_head and evs and (s.t_head - s.t_start, evs[0]["t"] - s.t_start))
    t.ok(s.body_pieces and s.body_pieces[0][1].startswith(b"retry: 3000")
         and evs and s.body_pieces[0][0] < evs[0]["t"],
         "stream: the retry line arrives on its own, before the first event",
         s.body_pieces[:1])
    t.eq(s.counts()[:6], list(range(6)), "stream: ids 0..5 consecutive")
    g = gaps(s.events)
    t.ok(len(g) >= 5 and timing_ok(g, INTERVAL) and len(set(e["t"] for e in s.events)) ==
         len(s.events), "stream: events arrive one by one, every 200 ms (not buffered): %s"
         % describe_gaps(g, INTERVAL), ["%.3f" % x for x in g])
    offs = due_offsets(s, INTERVAL)
    t.ok(len(offs) >= 6 and in_slot(offs, INTERVAL), "stream: each event in its own slot "
         "(after the one before it was due, before the one after it is due): %s"
         % describe_offsets(offs, INTERVAL), ["%+.3f" % x for x in offs])
    code, hdrs, body = http_get(port, "/app.js", headers={"Accept-Encoding": "gzip"})
    t.eq(hdrs.get("content-encoding"), "gzip", "control: lighttpd compresses the script")

    # --- prefixes, resume, limit
    s = HttpStream(port, "/app/stream?limit=2")
    s.read_to_end(3)
    t.ok(s.status == 200 and s.counts() == [0, 1], "prefix: /app/stream works", s.counts())
    s = HttpStream(port, "/stream", headers={"Last-Event-ID": "41"})
    s.read_events(2, 3)
    s.close()
    t.eq(s.counts()[:2], [42, 43], "resume: Last-Event-ID passes lighttpd and continues at 42")
    s = HttpStream(port, "/stream?lastEventId=7")
    s.read_events(2, 3)
    s.close()
    t.eq(s.counts()[:2], [8, 9], "resume: ?lastEventId=7 continues at 8")
    s = HttpStream(port, "/stream?limit=3&_=1700000000")
    t.ok(s.read_to_end(3) and s.counts() == [0, 1, 2],
         "limit=3: three events, then the response ends (chunked terminator)", s.counts())

    # --- HEAD and errors, through lighttpd
    code, hdrs, body = http_get(port, "/stream", method="HEAD")
    t.ok(code == 200 and hdrs.get("content-type", "").startswith("text/event-stream")
         and body == b"", "HEAD: headers only", (code, hdrs, body))
    code, hdrs, body = http_get(port, "/stream", headers={"Last-Event-ID": "-1"})
    t.ok(code == 400 and body.count(b"\n") == 1 and b"Last-Event-ID" in body,
         "400: bad Last-Event-ID, one line naming it", (code, body))
    code, hdrs, body = http_get(port, "/stream?limit=0")
    t.ok(code == 400 and b"limit" in body, "400: bad limit names it", (code, body))
    code, hdrs, body = http_get(port, "/stream", method="POST", headers={"Content-Length": "0"})
    t.ok(code == 405 and hdrs.get("allow") == "GET, HEAD", "405: with Allow: GET, HEAD",
         (code, hdrs))

    # --- ten clients at once, all on time
    clients = [HttpStream(port, "/stream?limit=5") for _ in range(10)]
    pump(clients, lambda: all(c.eof for c in clients), 5)
    for c in clients:
        c.close()
    t.ok(all(c.counts() == list(range(5)) for c in clients), "ten clients: each gets ids 0..4",
         [c.counts() for c in clients])
    g = [x for c in clients for x in gaps(c.events)]
    t.ok(timing_ok(g, INTERVAL), "ten clients: on time: %s" % describe_gaps(g, INTERVAL),
         [["%.3f" % x for x in gaps(c.events)] for c in clients])
    offs = [x for c in clients for x in due_offsets(c, INTERVAL)]
    t.ok(in_slot(offs, INTERVAL), "ten clients: each event in its own slot: %s"
         % describe_offsets(offs, INTERVAL), ["%+.3f" % x for x in offs])

    # --- heartbeats pass through lighttpd as they are written: -i 10000 -k 1, so before
    #     the first event (10 s) only comment lines, one a second: none before half a
    #     second, each before the one after it is due (gaps under 2 s)
    hb, hsock = start_spawned_responder(wd, ["-i", "10000", "-k", "1"], name="heartbeat")
    hhttpd, hport = start_lighttpd(wd, hsock, conf=wd.file("gzip.conf"))
    s = HttpStream(hport, "/stream", headers={"Accept-Encoding": "gzip"})
    s.read_until(lambda s: len(s.parser.comments) >= 3 or s.counts(), 9)
    s.close()
    ts = [x[1] for x in s.parser.comments]
    hg = [b - a for a, b in zip(ts, ts[1:])]
    t.ok(s.status == 200 and len(ts) >= 3 and not s.counts() and all(0.5 <= x < 2 for x in hg),
         "heartbeat: comment lines through lighttpd one a second (gaps %s), no event yet"
         % ", ".join("%.2f s" % x for x in hg), (s.status, s.parser.comments, s.counts()))
    t.ok(s.header("Content-Encoding") is None,
         "heartbeat: with deflate on for text/, the stream is still not compressed", s.headers)

    t.ok(httpd.alive() and resp.alive(), "lighttpd and the responder are still running")
    t.eq(resp.stop(), 0, "SIGTERM: the responder under spawn-fcgi exits 0")
finally:
    wd.cleanup()
t.done()
