"""test_apache.py -- end to end through a real Apache 2.4 with each shipped deploy/apache snippet:
mod_proxy_fcgi (the responder under spawn-fcgi on a unix socket), mod_fcgid (Apache spawns
the responder, its socket on fd 0) and mod_cgid (the responder as a CGI program).

Each Apache runs in the foreground on a free loopback port with a minimal generated
httpd.conf (tests/lib/apache.py) that Includes the snippet unchanged, after Defines that
set only paths, with mod_deflate compressing every text type, text/event-stream included.
The responder runs with a 200 ms interval; options reach it on spawn-fcgi's command line
or, for mod_fcgid and CGI, through a wrapper script (as the snippets document). The
heartbeat check runs two more instances per mode with a 3 s timeout fragment Included
after the snippet (responders -i 8000 -k 1, and -k 0 as the control), read by a thread
while the other checks run. Needs root (Apache's children run as www-data); a mode whose
Apache module is not installed is skipped.
"""

import json
import os
import threading
import time

from harness import (BINARY, HttpStream, Tap, Workdir, describe_offsets,  # noqa: E402
                     due_offsets, http_get, in_slot, pump, wait_for)
from apache import (BASE_MODULES, HTML, MODES, Apache, debian_configtest, page,  # noqa: E402
                    missing_modules, open_workdir, start_socket_responder, stop_all,
                    tagged_pids, write_wrapper)
from client import check_stream_head  # noqa: E402

INTERVAL = 0.2          # -i 200
# Every event in its own slot: after the one before it was due, before the one after it
# is due (harness.in_slot).
HB_TIMEOUT = 3          # the short server timeout of the heartbeat check, seconds
HB_INTERVAL = 8         # the heartbeat check's interval (> 2 x HB_TIMEOUT), seconds
STREAMS = {"proxy_fcgi": 100, "fcgid": 10, "cgid": 10}
# What each snippet's header says to enable.
COMMON = ["headers", "env", "alias", "dir", "mime", "authz_host"]
A2ENMOD = {"proxy_fcgi": ["proxy", "proxy_fcgi"] + COMMON, "fcgid": ["fcgid"] + COMMON,
           "cgid": ["cgid"] + COMMON}
TAG = "FCGI_SSE_APACHE_TEST"

t = Tap()


def lateness(s, n=None, interval=INTERVAL):
    """For each counter event of stream s: arrival minus its due time, (k+1) intervals
    after the stream started (harness.due_offsets: the start is the header block's
    arrival, or one interval before event 0 if that is earlier: with 100 clients the test
    may read a header block late, never an event early)."""
    return due_offsets(s, interval)[:n]


def on_time(s, n=None, interval=INTERVAL):
    return in_slot(lateness(s, n, interval), interval)


def one_by_one(s, n=None):
    """No two events came in the same read: each was flushed on its own."""
    ts = [e["t"] for e in s.events if e["data"] is not None][:n]
    return len(ts) == len(set(ts))


def fmt(xs):
    return ["%+.3f" % x for x in xs]


def timeout_fragment(mode, secs):
    """The extra config (after the snippet) that shortens the server's idle timeout for
    a stream: the proxy worker's timeout, FcgidIOTimeout, the CGI read timeout."""
    if mode == "proxy_fcgi":
        return '<Proxy "fcgi://fcgi-sse/">\n    ProxySet timeout=%d\n</Proxy>\n' % secs
    if mode == "fcgid":
        return "FcgidIOTimeout %d\n" % secs
    return ('Timeout %d\n<LocationMatch "/(stream|status)$">\n'
            '    CGIDScriptTimeout %d\n</LocationMatch>\n' % (secs, secs))


def backend(wd, mode, name, args):
    """The responder for one Apache instance; returns (proc or None, Defines, tag)."""
    tag = "%s=%s/%s" % (TAG, wd.path, name)
    defines = {"FCGI_SSE_HTML": page(wd)}
    if mode == "proxy_fcgi":
        resp, sock = start_socket_responder(wd, args, name + "-fcgi-sse", tag)
        defines["FCGI_SSE_SOCKET"] = sock
        return resp, defines, tag
    defines["FCGI_SSE_BIN"] = write_wrapper(wd, name + "-fcgi-sse", args, tag)
    return None, defines, tag


class Background(threading.Thread):
    """Reads some streams in a thread (with their arrival times) while the main
    checks run: the heartbeat check takes HB_INTERVAL seconds of wall time."""

    def __init__(self, clients, until, timeout):
        super().__init__(daemon=True)
        self.clients, self.until, self.timeout = clients, until, timeout

    def run(self):
        pump(self.clients, self.until, self.timeout)


def check_config(mode):
    """The snippet in Debian's stock apache2.conf, enabled with a2enmod/a2enconf."""
    wd = Workdir("apache-debian")
    try:
        # mod_fcgid checks that its program exists when the config is read: point it at
        # the built binary the documented way, a Define in a file read before the snippet.
        local = {"FCGI_SSE_BIN": BINARY} if mode == "fcgid" else None
        ok, out, dump = debian_configtest(wd, mode, A2ENMOD[mode], local)
        t.ok(ok, "%s: a2enmod + a2enconf %s: Debian's apache2.conf passes configtest" %
             (mode, MODES[mode][0]), out)
        defaults = {"FCGI_SSE_HTML": "/usr/share/fcgi-sse/html", "FCGI_SSE_URL": "/fcgi-sse"}
        if mode == "proxy_fcgi":
            defaults["FCGI_SSE_SOCKET"] = "/run/fcgi-sse/fcgi-sse.sock"
        elif mode == "cgid":
            defaults["FCGI_SSE_BIN"] = "/usr/bin/fcgi-sse"
        else:
            defaults["FCGI_SSE_BIN"] = BINARY     # the override took effect
        got = {k: v for k, v in (line.split(": ", 1)[1].split("=", 1) for line in
                                 dump.splitlines() if line.startswith("Define: FCGI_SSE_")
                                 and "=" in line)}
        t.ok(all(got.get(k) == v for k, v in defaults.items()),
             "%s: paths default to the installed locations" % mode +
             ("; a Define in fcgi-sse-00-local.conf overrides one" if local else ""),
             "got:  %r\nwant: %r" % (got, defaults))
    finally:
        wd.cleanup()


def check_pages(mode, port):
    for path, ctype in [("/fcgi-sse/", "text/html"), ("/fcgi-sse/index.html", "text/html"),
                        ("/fcgi-sse/app.js", "text/javascript"),
                        ("/fcgi-sse/style.css", "text/css")]:
        code, hdrs, body = http_get(port, path)
        t.ok(code == 200 and hdrs.get("content-type", "").startswith(ctype) and len(body) > 100,
             "%s: page: %s is %s" % (mode, path, ctype), (code, hdrs))
    code, hdrs, body = http_get(port, "/fcgi-sse/")
    with open(os.path.join(HTML, "index.html"), "rb") as f:
        t.ok(body == f.read(), "%s: page: /fcgi-sse/ is html/index.html" % mode)
    t.eq((hdrs.get("content-security-policy"), hdrs.get("x-content-type-options")),
         ("default-src 'self'; frame-ancestors 'none'", "nosniff"),
         "%s: page: strict Content-Security-Policy and nosniff" % mode)
    code, hdrs, _ = http_get(port, "/fcgi-sse")
    t.ok(code == 301 and hdrs.get("location", "").endswith("/fcgi-sse/"),
         "%s: page: /fcgi-sse redirects to /fcgi-sse/" % mode, (code, hdrs))
    code, hdrs, _ = http_get(port, "/fcgi-sse/app.js", headers={"Accept-Encoding": "gzip"})
    t.eq(hdrs.get("content-encoding"), "gzip",
         "%s: the test's mod_deflate is live (the page's script is gzipped)" % mode)


def check_status(mode, port):
    code, hdrs, body = http_get(port, "/status", timeout=10)
    try:
        st = json.loads(body)
    except ValueError:
        st = {}
    t.ok(code == 200 and hdrs.get("content-type") == "application/json" and "streams_open" in st,
         "%s: .../status answers JSON to localhost" % mode, (code, hdrs, body))
    code, _, _ = http_get(port, "/app/status", headers={"X-Forwarded-For": "203.0.113.7"})
    t.eq(code, 403, "%s: .../status is refused to a remote client (Require local)" % mode)


def check_stream(mode, port):
    s = HttpStream(port, "/stream", headers={"Accept-Encoding": "gzip"})
    s.read_events(6, 5)
    s.close()
    t.eq(s.status, 200, "%s: stream: 200" % mode)
    check_stream_head(t, s, "%s: stream" % mode, accel=False)
    t.ok(s.header("Content-Encoding") is None and s.header("Content-Length") is None,
         "%s: stream: no Content-Encoding (asked for gzip), no Content-Length" % mode, s.headers)
    evs = [e for e in s.events if e["data"] is not None]
    t.ok(s.t_head is not None and s.body_pieces and evs and
         s.body_pieces[0][1].startswith(b"retry: 3000") and
         s.t_head < evs[0]["t"] and s.body_pieces[0][0] < evs[0]["t"],
         "%s: stream: the header block and the retry line arrive before the first event" % mode,
         (s.t_head and s.t_head - s.t_start, s.body_pieces[:1], evs[:1]))
    t.eq(s.counts()[:6], list(range(6)), "%s: stream: ids 0..5 consecutive" % mode)
    t.ok(len(lateness(s, 6)) == 6 and on_time(s, 6) and one_by_one(s, 6),
         "%s: stream: events arrive one by one, each in its own slot (after the one before it "
         "was due, before the one after it is due): %s"
         % (mode, describe_offsets(lateness(s, 6), INTERVAL)), fmt(lateness(s, 6)))


def check_paths(mode, port):
    for path in ("/app/stream?limit=2", "/fcgi-sse/stream?limit=2"):
        s = HttpStream(port, path)
        s.read_to_end(3)
        t.ok(s.status == 200 and s.eof and s.counts() == [0, 1],
             "%s: prefix: %s gives ids 0, 1 and ends" % (mode, path), (s.status, s.counts()))
    s = HttpStream(port, "/stream?limit=2", headers={"Last-Event-ID": "41"})
    s.read_to_end(3)
    t.eq(s.counts(), [42, 43], "%s: resume: Last-Event-ID: 41 passes Apache, continues at 42"
         % mode)
    s = HttpStream(port, "/app/stream?lastEventId=7&limit=2")
    s.read_to_end(3)
    t.eq(s.counts(), [8, 9], "%s: resume: ?lastEventId=7 continues at 8" % mode)


def one_line_text(code, hdrs, body):
    return (hdrs.get("content-type") == "text/plain; charset=utf-8" and
            body.endswith(b"\n") and body.count(b"\n") == 1)


def check_errors(mode, port):
    code, hdrs, body = http_get(port, "/stream", method="HEAD")
    t.ok(code == 200 and hdrs.get("content-type", "").startswith("text/event-stream")
         and body == b"", "%s: HEAD: headers only" % mode, (code, hdrs, body))
    code, hdrs, body = http_get(port, "/app/stream", method="POST",
                                headers={"Content-Length": "0"})
    t.ok(code == 405 and hdrs.get("allow") == "GET, HEAD" and one_line_text(code, hdrs, body),
         "%s: 405: one line of text/plain, with Allow: GET, HEAD" % mode, (code, hdrs, body))
    code, hdrs, body = http_get(port, "/stream", headers={"Last-Event-ID": "-1"})
    t.ok(code == 400 and one_line_text(code, hdrs, body) and b"Last-Event-ID" in body,
         "%s: 400: bad Last-Event-ID, one line of text/plain naming it" % mode, (code, body))
    # The responder's own 404 is unreachable: Apache passes only .../stream, .../status.
    code, hdrs, body = http_get(port, "/app/nothing")
    t.ok(code == 404 and "text/html" in hdrs.get("content-type", ""),
         "%s: 404: other paths stay Apache's (not passed to the responder)" % mode, (code, hdrs))
    if mode == "cgid":
        # CGI turns a query without "=" into argv: the snippet refuses it.
        code, _, body = http_get(port, "/stream?-i+1", timeout=3)
        t.eq(code, 403, "cgid: /stream?-i+1 is refused (CGI would run fcgi-sse -i 1)")


def check_many(mode, port, n, tag):
    """n streams open at once (each is closed only when all n have 5 events): each gets
    consecutive ids from 0, on time; counts the responder processes (those whose
    environment holds this instance's tag) while they are open."""
    peak, seen, last, status_seen = [0], set(), [0.0], []
    clients = [HttpStream(port, "/stream") for _ in range(n)]

    def until():
        now = time.monotonic()
        if now - last[0] >= 0.25:     # (a scan of /proc delays the reading of the streams)
            pids = tagged_pids(tag)
            seen.update(pids)
            peak[0] = max(peak[0], len(pids))
            last[0] = now
        if mode == "proxy_fcgi" and not status_seen and all(c.counts() for c in clients):
            code, _, body = http_get(port, "/status")
            status_seen.append(json.loads(body) if code == 200 else {})
        return all(len(c.counts()) >= 5 for c in clients)

    pump(clients, until, 30)
    for c in clients:
        c.close()
    counts = [c.counts() for c in clients]
    t.ok(all(len(x) >= 5 and x == list(range(len(x))) for x in counts),
         "%s: %d streams open at once: each gets consecutive ids from 0" % (mode, n),
         [x for x in counts if len(x) < 5 or x != list(range(len(x)))][:5])
    late = [x for c in clients for x in lateness(c)]
    t.ok(len(late) >= 5 * n and in_slot(late, INTERVAL),
         "%s: %d streams open at once: each event in its own slot: %s"
         % (mode, n, describe_offsets(late, INTERVAL)),
         "worst %s" % fmt(sorted(late, key=abs)[-5:]))
    heads = [c.t_head - c.t_start for c in clients if c.t_head]
    t.diag("%s: %d streams: all header blocks within %.3f s, worst lateness %+.3f s, "
           "responder processes: %d at once (%d distinct)" %
           (mode, n, max(heads) if heads else -1, max(late, key=abs) if late else 0,
            peak[0], len(seen)))
    if mode == "proxy_fcgi":
        st = status_seen[0] if status_seen else {}
        t.ok(peak[0] == 1 and st.get("streams_open", 0) >= n,
             "proxy_fcgi: one responder process held all %d streams (.../status through "
             "Apache: streams_open %s)" % (n, st.get("streams_open")), (peak[0], st))

        def open_streams():
            code, _, body = http_get(port, "/status")
            return json.loads(body).get("streams_open") if code == 200 else None
        t.ok(wait_for(lambda: open_streams() == 0, 10),
             "proxy_fcgi: all freed once the clients left (Apache closes the backend "
             "connection at its next write)", open_streams())
    else:
        t.ok(peak[0] >= n, "%s: one process per open stream (%d processes for %d streams)"
             % (mode, peak[0], n))
        if mode == "cgid":
            t.ok(wait_for(lambda: not tagged_pids(tag), 10),
                 "cgid: every CGI process exits once its client left", tagged_pids(tag))


def check_heartbeat(mode, hb, ctl, ctl_eof_at):
    """hb: -k 1, ctl: -k 0, both -i 8000 behind a 3 s timeout; ctl_eof_at: when ctl ended."""
    t.eq((hb.status, ctl.status), (200, 200), "%s: heartbeat check: both streams open" % mode)
    ev = [e for e in hb.events if e["data"] is not None]
    beats = [tm for line, tm in hb.parser.comments if "heartbeat" in line]
    # event 0 is due HB_INTERVAL after the header block, well past 2 x HB_TIMEOUT: it
    # arrives in its slot (after the stream outlived twice the timeout)
    t.ok(ev and int(ev[0]["id"]) == 0 and
         in_slot([ev[0]["t"] - hb.t_head - HB_INTERVAL], HB_INTERVAL) and
         ev[0]["t"] - hb.t_head > 2 * HB_TIMEOUT,
         "%s: heartbeats (-k 1) keep a stream open past 2x a %d s timeout; event 0 at %d s" %
         (mode, HB_TIMEOUT, HB_INTERVAL),
         (ev[:1] and ev[0]["t"] - hb.t_head, hb.eof, len(beats)))
    times = [hb.t_head] + [x for x in beats if x < (ev[0]["t"] if ev else 1e18)]
    silence = max((b - a for a, b in zip(times, times[1:])), default=99)
    t.ok(len(beats) >= HB_INTERVAL - 2 and silence < HB_TIMEOUT,
         "%s: a heartbeat comment every second reaches the client (%d, longest silence %.2f s)"
         % (mode, len(beats), silence))
    cev = [e for e in ctl.events if e["data"] is not None]
    cut = ctl_eof_at - ctl.t_head if ctl_eof_at and ctl.t_head else None
    t.ok(ctl.eof and not cev and cut is not None and HB_TIMEOUT - 0.5 <= cut <= 2 * HB_TIMEOUT,
         "%s: control: without heartbeats (-k 0) the same stream is cut at the %d s timeout"
         % (mode, HB_TIMEOUT), (ctl.eof, len(cev), cut))


def run_mode(mode):
    snippet, mods = MODES[mode]
    missing = missing_modules(BASE_MODULES + mods)
    if missing:
        t.skip("%s: %s" % (mode, snippet), "Apache module(s) not installed: %s" %
               ", ".join("mod_" + m for m in missing))
        return
    check_config(mode)
    wd = Workdir("apache-" + mode)
    open_workdir(wd)
    apaches = []
    try:
        # The heartbeat check first: its streams run while the other checks do.
        _, hb_defs, _ = backend(wd, mode, "hb", ["-i", str(HB_INTERVAL * 1000), "-k", "1"])
        hb_httpd = Apache(wd, "hb", mode, hb_defs, extra=timeout_fragment(mode, HB_TIMEOUT))
        apaches.append(hb_httpd)
        _, ctl_defs, _ = backend(wd, mode, "ctl", ["-i", str(HB_INTERVAL * 1000), "-k", "0"])
        ctl_httpd = Apache(wd, "ctl", mode, ctl_defs, extra=timeout_fragment(mode, HB_TIMEOUT))
        apaches.append(ctl_httpd)
        hb = HttpStream(hb_httpd.port, "/stream")
        ctl = HttpStream(ctl_httpd.port, "/app/stream")
        ctl_eof_at = [0.0]

        def hb_done():
            if ctl.eof and not ctl_eof_at[0]:
                ctl_eof_at[0] = time.monotonic()
            return bool(hb.eof or hb.counts()) and ctl.eof
        bg = Background([hb, ctl], hb_done, HB_INTERVAL + 4)
        bg.start()

        resp, defines, tag = backend(wd, mode, "main", ["-i", "200", "-k", "0"])
        httpd = Apache(wd, "main", mode, defines)
        apaches.append(httpd)
        check_pages(mode, httpd.port)
        check_status(mode, httpd.port)      # also starts mod_fcgid's first process
        check_stream(mode, httpd.port)
        check_paths(mode, httpd.port)
        check_errors(mode, httpd.port)
        check_many(mode, httpd.port, STREAMS[mode], tag)

        bg.join(HB_INTERVAL + 6)
        hb.close()
        ctl.close()
        check_heartbeat(mode, hb, ctl, ctl_eof_at[0])

        t.ok(httpd.alive() and hb_httpd.alive() and ctl_httpd.alive() and
             (resp is None or resp.alive()), "%s: Apache (and the responder) still running" % mode)
        if resp is not None:
            t.eq(resp.stop(), 0, "%s: SIGTERM: the responder under spawn-fcgi exits 0" % mode)
    finally:
        killed = stop_all(apaches)
        wd.cleanup()
        prefix = "%s=%s/" % (TAG, wd.path)
        left = [] if wait_for(lambda: not tagged_pids(prefix), 5) else tagged_pids(prefix)
        for pid in left:        # ours (tagged): leave nothing running, then report
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        t.ok(not killed and not left, "%s: SIGTERM stops each Apache with all its processes; "
             "no responder process left behind" % mode, "killed: %r, left: %r" % (killed, left))


if os.geteuid() != 0:
    t.skip("Apache front ends", "needs root (Apache switches its children to www-data)")
else:
    for m in ("proxy_fcgi", "fcgid", "cgid"):
        run_mode(m)
t.done()
