"""test_status_page.py -- the live status page (html/status.html) in headless Chromium, driven by
tests/browser/status_page.mjs (playwright-core), through lighttpd (the shipped demo.conf) and
through Apache (the shipped mod_proxy_fcgi snippet) to a fresh responder.

For each front:
- the page is served with its CSP, opens one EventSource on status?stream=1 (#state `open`) and
  shows the responder's figures: one stream open (its own feed), nothing published;
- known traffic: 3 counter streams (-i 100) and a subscriber held, 5 publishes to one
  channel; the page must then show 5 streams open, 1 channel, 5 published, events per second above 0,
  and its charts must have drawn points (streams' line going up to 5);
- the counter streams closed: streams open goes back to 2, with no reload (the same
  EventSource: one request to status?stream=1 in the browser's log, no other request to status);
- no CSP violation, page error or console error;
- a screenshot (900x700) written to the test's temporary directory, its path in the log
  (FCGI_SSE_KEEP_TMP=1 keeps the directory).

Skipped (never passed) when /usr/bin/chromium is absent (apt-get install chromium) or node,
npm or `npm ci` of tests/browser/ is unavailable; the Apache part when its modules are.
"""

import os
import re
import struct
import sys
import time

sys.dont_write_bytecode = True    # nothing written into the source tree
from harness import (BUILDDIR, HttpStream, Tap, Workdir, cleanup_on_signals,  # noqa: E402
                     pump, start_lighttpd, start_spawned_responder, wait_for)
from client import publish  # noqa: E402
from nodedeps import NodeProc, node_dir  # noqa: E402
import apache as ap  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
KEY = "status-page-test-key-0123456789abcdef"
ARGS = ["-i", "100", "-k", "0", "-r", "500"]
OPEN = re.compile(r"^(\d+) of (\d+)$")

cleanup_on_signals()
t = Tap()
if not os.path.exists(CHROMIUM):
    t.skip("the status page in headless Chromium", "%s is not installed (apt-get install "
           "chromium)" % CHROMIUM)
    t.done()
ndir, why = node_dir(BUILDDIR)
if ndir is None:
    t.skip("the status page in headless Chromium",
           "%s (tests/browser needs node, npm and `npm ci`)" % why)
    t.done()


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", head[16:24])


def streams_open(s):
    m = OPEN.match((s or {}).get("figures", {}).get("streams-open") or "")
    return int(m.group(1)) if m else None


def keyfile(owner):
    import pwd
    path = wd.file("publish-%s.keys" % owner)
    with open(path, "w") as f:
        f.write(KEY + "\n")
    os.chmod(path, 0o600)
    if owner != "root":
        os.chown(path, pwd.getpwnam(owner).pw_uid, -1)
    return path


def check_page(name, port, prefix=""):
    """The page through the front on port (at prefix/status.html): figures and charts before and after known traffic."""
    page = NodeProc(["node", "status_page.mjs", wd.file(name + "-profile"), CHROMIUM],
                    wd.file(name + "-page.log"), cwd=ndir, quit_cmd={"cmd": "quit"})
    held = []
    try:
        ready = page.read_json(30)
        t.ok(ready and ready.get("ready"), "%s: Chromium runs" % name, ready or page.log()[-2000:])
        if not (ready and ready.get("ready")):
            return

        def snap():
            r = page.ask({"cmd": "snap"}, 10)
            return r["snap"] if r and r.get("ok") else None

        def wait_snap(cond, timeout):
            last = [None]

            def f():
                s = snap()
                last[0] = s
                return s if s and cond(s) else None
            s = wait_for(f, timeout, step=0.1)
            return s or last[0], bool(s)

        url = "http://127.0.0.1:%d%s/status.html" % (port, prefix)
        r = page.ask({"cmd": "open", "url": url, "width": 900, "height": 700}, 20)
        csp = ((r or {}).get("headers") or {}).get("content-security-policy", "")
        t.ok(r and r.get("ok") and r.get("status") == 200 and "default-src 'self'" in csp,
             "%s: status.html served (200) with its CSP" % name, r)
        s, ok = wait_snap(lambda s: s["figures"]["state"] == "open" and
                          streams_open(s) == 1 and s["figures"]["published"] == "0", 10)
        t.ok(ok, "%s: the feed is open; 1 stream open (the page's own), nothing published"
             % name, s and s["figures"])

        # known traffic: 3 counter streams, a subscriber, 5 publishes
        held = [HttpStream(port, prefix + "/stream") for _ in range(3)]
        held.append(HttpStream(port, prefix + "/events?channel=news"))
        for h in held:
            h.read_head(10)
        t.ok([h.status for h in held] == [200] * 4, "%s: 3 counter streams and a subscriber "
             "open" % name, [h.status for h in held])
        sts = [publish(port, "news", "message %d" % i, KEY)[0] for i in range(5)]
        t.eq(sts, [200] * 5, "%s: 5 publishes to news" % name)

        def busy(s):
            f = s["figures"]
            try:
                rate = float(f["events-rate"])
            except (TypeError, ValueError):
                rate = 0
            return (streams_open(s) == 5 and f["channels"] == "1" and f["published"] == "5"
                    and rate > 0)
        s, ok = wait_snap(lambda s: pump(held, lambda: False, 0.05) or busy(s), 10)
        t.ok(ok, "%s: after the traffic the page shows 5 streams open, 1 channel, 5 published, "
             "events per second above 0" % name, s and s["figures"])
        lines = s["charts"].get("chart-streams", {}).get("lines", [{}]) if s else [{}]
        pts = lines[0].get("points", [])
        ys = [y for _, y in pts]
        # y grows downwards: the newest point (5 streams) higher than the first (1)
        t.ok(len(pts) >= 2 and ys[-1] < ys[0] and
             all(len(c["lines"][0]["points"]) >= 1 and c["width"] > 100 and c["height"] > 20
                 for c in s["charts"].values()) and
             len(s["charts"]) == 4,
             "%s: 4 charts drawn; the streams' line climbs from 1 to 5 (%d points)"
             % (name, len(pts)), s and s["charts"])
        # a few seconds of the rates drawn, for the screenshot to show lines
        s2, _ = wait_snap(lambda s: pump(held, lambda: False, 0.05) or
                          len(s["charts"]["chart-events"]["lines"][0]["points"]) >= 4, 10)
        shot = wd.file("%s-status.png" % name)
        r = page.ask({"cmd": "screenshot", "path": shot}, 10)
        t.ok(r and r.get("ok") and os.path.exists(shot) and png_size(shot) == (900, 700),
             "%s: screenshot written: %s (900x700)" % (name, shot), r)
        t.diag("%s: screenshot of the status page: %s (kept with FCGI_SSE_KEEP_TMP=1)"
               % (name, shot))

        for h in held[:3]:
            h.close()
        s, ok = wait_snap(lambda s: pump(held[3:], lambda: False, 0.05) or
                          streams_open(s) == 2, 10)
        t.ok(ok, "%s: the counter streams closed: 2 streams open, shown without a reload"
             % name, s and s["figures"])

        r = page.ask({"cmd": "log"}, 10)
        log = r["log"] if r and r.get("ok") else {}
        feeds = [q["url"] for q in log.get("requests", []) if "status?" in q["url"] or
                 q["url"].endswith("/status")]
        t.ok(feeds == ["http://127.0.0.1:%d%s/status?stream=1" % (port, prefix)],
             "%s: one request to status?stream=1, none other to status (no polling)" % name,
             feeds)
        errors = [c for c in log.get("console", []) if c["type"] == "error"]
        t.ok(s and not s["csp"] and not log.get("pageErrors") and not errors,
             "%s: no CSP violation, page error or console error" % name,
             (s and s["csp"], log.get("pageErrors"), errors))
        t.ok(s and s["scrollWidth"] <= s["innerWidth"], "%s: no horizontal scrolling at 900 px"
             % name, s and (s["scrollWidth"], s["innerWidth"]))
    finally:
        for h in held:
            h.close()
        page.stop()


def lighttpd_front():
    resp, sock = start_spawned_responder(wd, ARGS + ["--publish-key-file", keyfile("root")],
                                         "lighttpd-fcgi-sse")
    httpd, port = start_lighttpd(wd, sock)
    check_page("lighttpd", port)
    t.eq(resp.stop(), 0, "lighttpd: SIGTERM: the responder exits 0")
    httpd.stop()


def apache_front():
    missing = ap.missing_modules(ap.BASE_MODULES + ap.MODES["proxy_fcgi"][1]) \
        if os.path.exists(ap.APACHE2) else ["apache2"]
    if missing:
        t.skip("apache: the status page through mod_proxy_fcgi", "not installed: %s" % missing)
        return
    ap.open_workdir(wd)
    tag = "FCGI_SSE_STATUS_PAGE_TEST=%s" % wd.path
    resp, sock = ap.start_socket_responder(wd, ARGS + ["--publish-key-file", keyfile("nobody")],
                                           "apache-fcgi-sse", tag)
    httpd = ap.Apache(wd, "apache", "proxy_fcgi", {"FCGI_SSE_HTML": ap.page(wd),
                                                   "FCGI_SSE_SOCKET": sock})
    try:
        check_page("apache", httpd.port, "/fcgi-sse")
        t.eq(resp.stop(), 0, "apache: SIGTERM: the responder exits 0")
    finally:
        ap.stop_all([httpd])


wd = Workdir("status-page")
try:
    lighttpd_front()
    apache_front()
finally:
    wd.cleanup()
t.done()
