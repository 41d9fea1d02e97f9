"""test_browser.py -- the demo page (html/) in a real browser: headless Chromium, driven by
tests/browser/page.mjs (playwright-core), through lighttpd with the shipped demo config to the
responder under spawn-fcgi, which is restarted under the page twice.

- the page shows `Count: [N]` lines in order, #state `open`, #last-id the last N;
- SIGKILL + start: the browser reconnects by itself (Last-Event-ID) and the list goes on
  at the next N;
- SIGTERM + start, with the responder kept down until lighttpd has answered the browser's
  reconnect with 503: the EventSource is CLOSED and the page opens a new one after 3 s with
  ?lastEventId=; the list goes on at the next N;
- across the whole page the N's are consecutive; #reconnects counts the two reconnections;
- the page is served with its CSP; no CSP violation, page error or console error other
  than the failed /stream connection while the responder is down;
- a screenshot (900x700) at <builddir>/tests/artifacts/page.png, copied to
  tests/browser/screenshot.png only with FCGI_SSE_UPDATE_SCREENSHOT=1;
- at 390x844 (a phone) the page has no horizontal scrolling;
- the program panel, with this responder that has no --run demo: a click gets one 404, the
  panel says the program is not available and nothing retries (test_demo.py runs it for real).

The responder runs with -i 300 -r 500. Skipped (never passed) when /usr/bin/chromium is
absent (apt-get install chromium) or node, npm or `npm ci` of tests/browser/ is unavailable.
"""

import os
import re
import shutil
import signal
import struct
import sys
import time

sys.dont_write_bytecode = True    # nothing written into the source tree
from harness import (BUILDDIR, SRCDIR, STOP_DEADLINE, Tap, Workdir, start_lighttpd,  # noqa: E402
                     start_spawned_responder, wait_for)
from nodedeps import node_dir, start_page  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
INTERVAL = 0.3
RETRY = 0.5
REOPEN = 3.0                  # html/app.js REOPEN_MS: a CLOSED EventSource is replaced after this
ARGS = ["-i", "300", "-r", "500"]
COUNT = re.compile(r"^Count: \[(\d+)\]$")



from harness import cleanup_on_signals  # noqa: E402
cleanup_on_signals()
t = Tap()
if not os.path.exists(CHROMIUM):
    t.skip("the demo page in headless Chromium", "%s is not installed (apt-get install chromium)"
           % CHROMIUM)
    t.done()
ndir, why = node_dir(BUILDDIR)
if ndir is None:
    t.skip("the demo page in headless Chromium",
           "%s (tests/browser needs node, npm and `npm ci`)" % why)
    t.done()

wd = Workdir("browser")
page = None
t_begin = time.monotonic()
artifacts = os.path.join(BUILDDIR, "tests", "artifacts")


def snap():
    r = page.ask({"cmd": "snap"}, 10)
    return r["snap"] if r and r.get("ok") else None


def browser_log():
    r = page.ask({"cmd": "log"}, 10)
    return r["log"] if r and r.get("ok") else None


def numbers(s):
    """The N of every `Count: [N]` line on the page, or None if a line is something else."""
    out = []
    for text in s["items"]:
        m = COUNT.match(text)
        if not m:
            return None
        out.append(int(m.group(1)))
    return out


def consecutive(ns):
    return bool(ns) and ns == list(range(ns[0], ns[0] + len(ns)))


def show(s):
    if not s:
        return "no answer from page.mjs:\n" + page.log()[-2000:]
    return "state=%r last-id=%r reconnects=%r items=%r\nhistory=%r" % (
        s["state"], s["lastId"], s["reconnects"], s["items"][-8:], s["history"][-6:])


def wait_snap(cond, timeout):
    """Polls the page until cond(snap) holds; returns that snap, or the last one with ok False."""
    last = [None]

    def f():
        s = snap()
        last[0] = s
        return s if s and cond(s) else None
    s = wait_for(f, timeout, step=0.03)
    return (s, True) if s else (last[0], False)


def states_since(s, t_ms):
    return [st for ts, st in s["history"] if ts >= t_ms]


def first_after(s, t_ms, state):
    return next((ts for ts, st in s["history"] if ts >= t_ms and st == state), None)


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", head[16:24])


def restart(k, sig, how, down_until=None):
    """Signals the responder, waits for it to exit and for the page to show `reconnecting`,
    waits for down_until() if given, starts a new responder on the same socket and waits for
    the page to be open with new events. Returns (snap, t_signal_ms, t_open_ms)."""
    global resp
    before = snap()
    n_before = len(before["items"])
    t_sig = time.time() * 1000
    resp.signal(sig)
    rc = resp.wait(STOP_DEADLINE)
    t.eq(rc, -9 if sig == signal.SIGKILL else 0,
         "%s: the responder exits (%s)" % (how, "killed" if sig == signal.SIGKILL else "status 0"))
    s, ok = wait_snap(lambda s: s["state"] == "reconnecting", 3)
    t.ok(ok, "%s: #state shows reconnecting" % how, show(s))
    if down_until is not None:
        down_until(t_sig)
    resp, _ = start_spawned_responder(wd, ARGS, "fcgi-sse-%d" % k, sock)
    s, ok = wait_snap(lambda s: s["state"] == "open" and len(s["items"]) >= n_before + 2,
                      RETRY + REOPEN + 5)
    t.ok(ok, "%s + start: #state shows open again and new events arrive" % how, show(s))
    seq = states_since(s, t_sig)
    t.ok("reconnecting" in seq and seq[-1] == "open" and
         seq.index("reconnecting") < len(seq) - 1 - seq[::-1].index("open"),
         "%s: #state went reconnecting, then open" % how, seq)
    ns = numbers(s) or []
    t.ok(consecutive(ns) and ns[0] == 0 and len(ns) > n_before,
         "%s: the list continues with the next count (all N's on the page consecutive, "
         "no gap, no duplicate)" % how, ns)
    return s, t_sig, first_after(s, t_sig, "open")


resp = None
try:
    os.makedirs(artifacts, exist_ok=True)
    sock = wd.file("fcgi-sse.sock")
    resp, _ = start_spawned_responder(wd, ARGS, "fcgi-sse-1", sock)
    httpd, port = start_lighttpd(wd, sock)
    base = "http://127.0.0.1:%d/" % port

    page, ready = start_page(ndir, wd, CHROMIUM)
    if not t.ok(ready and ready.get("ready"), "headless Chromium starts (playwright-core)",
                (ready, page.log()[-3000:])):
        raise SystemExit

    # --- a. the page loads and shows the stream
    r = page.ask({"cmd": "open", "url": base, "width": 900, "height": 700}, 15)
    t.ok(r and r.get("ok") and r.get("status") == 200, "the page loads: 200", r)
    if not r or not r.get("ok"):
        raise SystemExit
    t_open = r["t0"]
    csp = (r.get("headers") or {}).get("content-security-policy", "")
    t.ok("default-src 'self'" in csp and "frame-ancestors 'none'" in csp,
         "the page is served with its Content-Security-Policy", r.get("headers"))
    s, ok = wait_snap(lambda s: len(s["items"]) >= 3, 4 * INTERVAL + 3)
    t.ok(ok, "three events appear", show(s))
    # Events 0, 1, 2 are due 1, 2, 3 intervals after the responder took the stream, which
    # is before the page saw the stream open (#state turned "open" when the headers came
    # through lighttpd): the third must show before the fourth is due, an order, with the
    # interval as the unit. (Measured from the stream's open, not from DOMContentLoaded:
    # how long lighttpd and the responder take to answer a new request on a loaded
    # machine is not what this checks.)
    third = s["appended"][2][0] if s and len(s["appended"]) >= 3 else None
    ready = s and s["domReady"]
    opened = next((ts for ts, st in (s["history"] if s else []) if st == "open"), None)
    t.ok(third is not None and opened and third - opened < 4 * INTERVAL * 1000,
         "the third event shows before the fourth is due (4 intervals after the page saw "
         "its stream open)", s and (third, opened))
    if third and ready and opened:
        t.diag("third event: %d ms after the stream opened, %d ms after DOMContentLoaded, "
               "%d ms after navigation start, %d ms after the test asked for the page"
               % (third - opened, third - ready, third - s["navStart"], third - t_open))
    ns = numbers(s) if s else None
    t.ok(ns and ns[:3] == [0, 1, 2] and consecutive(ns),
         "the lines read Count: [0], [1], [2], ... in order", s and s["items"])
    t.eq(s and s["state"], "open", "#state shows open")
    t.eq(s and s["dataState"], "open", "#state's data-state is open (the green dot)")
    t.ok(ns and s["lastId"] == str(ns[-1]), "#last-id equals the last N",
         s and (s["lastId"], s["items"][-1:]))
    t.eq(s and s["reconnects"], "0", "#reconnects is 0 before any reconnection")
    t.ok(s and re.match(r"^\d\d:\d\d:\d\d$", s["lastTime"] or ""), "#last-time shows a clock",
         s and s["lastTime"])

    # --- f. the screenshot, after a few events
    s, ok = wait_snap(lambda s: len(s["items"]) >= 6, 3)
    shot = os.path.join(artifacts, "page.png")
    r = page.ask({"cmd": "screenshot", "path": shot}, 10)
    t.ok(r and r.get("ok") and png_size(shot) == (900, 700),
         "screenshot saved: %s (900x700)" % shot, (r, os.path.exists(shot) and png_size(shot)))
    if os.environ.get("FCGI_SSE_UPDATE_SCREENSHOT") == "1" and os.path.exists(shot):
        shutil.copyfile(shot, os.path.join(SRCDIR, "tests", "browser", "screenshot.png"))
        t.diag("copied to tests/browser/screenshot.png (FCGI_SSE_UPDATE_SCREENSHOT=1)")

    # --- b. SIGKILL + start: the browser reconnects by itself with Last-Event-ID
    s, t_kill, t_back1 = restart(2, signal.SIGKILL, "SIGKILL")
    t.eq(s["reconnects"], "1", "SIGKILL: #reconnects is 1")
    log = browser_log()
    before_kill = [int(COUNT.match(txt).group(1)) for ts, txt in s["appended"] if ts < t_kill]
    k1 = before_kill[-1] if before_kill else None
    # (the node side sees requests a little later than the page: take all since the kill)
    reqs = [q for q in (log or {}).get("requests", []) if q["t"] >= t_kill]
    carried = [q["lastEventId"] or (re.search(r"[?&]lastEventId=(\d+)", q["url"]) or [None, None])[1]
               for q in reqs]
    t.ok(reqs and all(c == str(k1) for c in carried),
         "SIGKILL: every reconnect request carried the last id (%s), as Last-Event-ID or "
         "?lastEventId=" % k1, reqs)
    t.diag("SIGKILL: requests since the kill: %s"
           % ["%s Last-Event-ID=%s" % (q["url"], q["lastEventId"]) for q in reqs])

    # --- c. SIGTERM (clean end), kept down until lighttpd answered the reconnect with 503:
    # the EventSource is CLOSED and the page itself opens a new one with ?lastEventId=
    def until_503(t_sig):
        got = wait_for(lambda: any(x["status"] == 503 and x["t"] >= t_sig and "/stream" in x["url"]
                                   for x in (browser_log() or {}).get("responses", [])),
                       RETRY + 3, step=0.05)
        t.ok(got, "SIGTERM: with the responder down, the browser's reconnect gets 503")
    s, t_term, t_back2 = restart(3, signal.SIGTERM, "SIGTERM", down_until=until_503)
    t.eq(s["reconnects"], "2", "SIGTERM: #reconnects is 2")
    log = browser_log()
    before_term = [int(COUNT.match(txt).group(1)) for ts, txt in s["appended"] if ts < t_term]
    k2 = before_term[-1] if before_term else None
    reqs = [q for q in (log or {}).get("requests", []) if q["t"] >= t_term]
    t.ok(reqs and ("lastEventId=%s" % k2) in reqs[-1]["url"],
         "SIGTERM: after the 503 the page opened a new EventSource with ?lastEventId=%s" % k2, reqs)
    t.diag("SIGTERM: requests since the signal: %s"
           % ["%s Last-Event-ID=%s" % (q["url"], q["lastEventId"]) for q in reqs])
    t.ok(t_back2 is not None and t_back2 - t_term >= REOPEN * 1000,
         "SIGTERM: the page waited %d ms before replacing the closed EventSource" % (REOPEN * 1000),
         t_back2 and t_back2 - t_term)

    # --- d. #reconnects counted each reconnection once
    t.eq([v for _, v in s["reconnectsHistory"]], ["0", "1", "2"],
         "#reconnects went 0, 1, 2: one per reconnection")
    ns = numbers(s)
    t.ok(ns and consecutive(ns) and ns[0] == 0 and s["lastId"] == str(ns[-1]),
         "across the whole page the N's are 0..%s, consecutive; #last-id is the last"
         % (ns and ns[-1]), ns)
    t.eq([txt for _, txt in s["appended"]], s["items"],
         "every line the page ever appended is still on it (no line replaced or lost)")

    # --- e. no CSP violation, no page error, no console error but the failed /stream
    # connection while the responder was down
    s = snap()
    log = browser_log() or {}
    t.eq(s and s["csp"], [], "no CSP violation (securitypolicyviolation events)")
    t.eq(log.get("pageErrors"), [], "no page error (uncaught exception)")
    windows = [(t_kill - 100, (t_back1 or t_kill) + 1000), (t_term - 100, (t_back2 or t_term) + 1000)]
    noisy = [m for m in log.get("console", []) if m["type"] in ("error", "warning")]
    # the page declares its icon (favicon.svg): no request for /favicon.ico may fail
    favicon = [m for m in noisy if "favicon" in m["url"]]
    unexpected = [m for m in noisy
                  if not (("/stream" in m["url"] or "EventSource" in m["text"] or "/stream" in m["text"])
                          and any(a <= m["t"] <= b for a, b in windows))
                  or "Content Security Policy" in m["text"] or "Refused to" in m["text"]]
    t.eq(unexpected, [], "no console error or warning other than the failed /stream connection "
         "while the responder was down")
    t.diag("console errors while the responder was down: %s"
           % [m["text"][:120] for m in noisy if m not in unexpected])
    t.ok(not favicon, "no console error for the page's icon", [m["text"] for m in favicon])
    t.eq([(x["url"], x["status"]) for x in log.get("responses", [])
          if x["status"] >= 400 and "/stream" not in x["url"]], [],
         "no failed request for the page or its assets")
    loaded = {x["url"].replace(base, "/") for x in log.get("responses", [])
              if "/stream" not in x["url"]}
    t.ok({"/", "/app.js", "/run.js", "/style.css"} <= loaded <=
         {"/", "/app.js", "/run.js", "/style.css", "/favicon.svg"},
         "the page loads /, app.js, run.js, style.css (and its icon), nothing else: no "
         "program runs (run/demo) until its button is clicked (test_demo.py)", sorted(loaded))

    # --- the program panel where the responder has no --run demo (an installed page): one
    #     request, 404, the panel says so, and nothing retries (a retry would be a new run)
    r = page.ask({"cmd": "click", "selector": "#run-start"}, 10)
    s, ok = wait_snap(lambda s: s["runState"] not in ("idle", "running"), 5)
    t.ok(ok and s["runState"] == "unavailable" and
         s["runText"] == "not available: the responder has no --run demo" and
         not s["runLines"] and s["runButtonDisabled"] is False,
         "program panel, no --run demo: says it is not available",
         s and (s["runState"], s["runText"], s["runLines"]))
    time.sleep(1.0)
    runs = [x for x in (browser_log() or {}).get("responses", []) if "/run/demo" in x["url"]]
    t.ok(len(runs) == 1 and runs[0]["status"] == 404,
         "program panel, no --run demo: one request (404), no retry", runs)

    # the list keeps its height and scrolls: once it overflows, the newest line stays in view
    s, ok = wait_snap(lambda s: s["listOverflows"] and len(s["items"]) >= len(ns or []) + 2, 10)
    t.ok(ok and s["newestInView"], "once the list overflows its box, the newest line is "
         "scrolled into view", s and (len(s["items"]), s["listOverflows"], s["newestInView"]))
    page.ask({"cmd": "screenshot", "path": os.path.join(artifacts, "page-after-restarts.png")}, 10)

    # --- g. a phone-sized viewport: no horizontal scrolling
    r = page.ask({"cmd": "viewport", "width": 390, "height": 844}, 10)
    dims = r and r.get("dims")
    t.ok(dims and dims["innerWidth"] == 390 and dims["scrollWidth"] <= dims["innerWidth"],
         "390x844 (a phone): no horizontal scrolling (scrollWidth <= innerWidth)", dims)
    page.ask({"cmd": "screenshot", "path": os.path.join(artifacts, "page-phone.png")}, 10)

    t.ok(httpd.alive() and resp.alive(), "lighttpd and the responder are still running")
    page.stop()
    page = None
    t.eq(resp.stop(), 0, "SIGTERM at the end: the responder exits 0")
    t.diag("the whole test took %.1f s" % (time.monotonic() - t_begin))
except SystemExit:
    pass
finally:
    if page is not None:
        page.stop()
    wd.cleanup()
t.done()
