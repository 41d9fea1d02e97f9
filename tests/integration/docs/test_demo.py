"""test_demo.py -- deploy/lighttpd/demo.sh as shipped (the README's first command), and the demo
page's program panel in a real browser.

- demo.sh (FCGI_SSE_NO_INSTALL=1, on a free port, with this build: FCGI_SSE_BUILD) starts the
  responder under spawn-fcgi and lighttpd with demo.conf; the page and the counter answer;
- run/demo (the program demo.sh configures, deploy/lighttpd/demo-run.sh): through lighttpd each
  line arrives as it is printed, half a second apart, ids from 0, then `event: exit` 0;
- in headless Chromium (tests/browser/page.mjs, playwright-core): the panel says the program
  has not started; a click on its button runs it; the lines appear one by one as printed (the
  first before the program prints its second, half a second after it started, so within
  0.5 s of the click; each before the one after it is printed, none with the one before:
  tests/lib/programs.paced_ok); the button is
  disabled while it runs; the panel ends with "exited with status 0" and does not run the
  program again (no reconnect); no CSP violation or page error;
- Mercure: the two commands demo.sh prints for it, run as printed (the subscription's URL
  read by a client here): the publish, with the token demo.sh signed with this run's secret,
  is answered with its id, and the anonymous subscriber gets the update with that id; an
  access token of the current draft (at+jwt), signed here with the secret in the file demo.sh
  names, its iss and aud the hub's URL demo.sh configured, publishes too (the subscriber gets
  it), while the same token for another audience is refused;
- Ctrl-C (SIGINT) stops demo.sh, which stops the responder and lighttpd: no process left.

The browser part is skipped (never passed) without /usr/bin/chromium or node/npm.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True    # nothing written into the source tree
from harness import (BUILDDIR, SRCDIR, HttpStream, Tap, Workdir, can_connect,  # noqa: E402
                     free_port, gaps, http_get, wait_for)
from nodedeps import node_dir, start_page  # noqa: E402
from programs import paced_ok  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
DEMO = os.path.join(SRCDIR, "deploy", "lighttpd", "demo.sh")
PACE = 0.5                # deploy/lighttpd/demo-run.sh: a line every half second
LINES = ["fetch: done", "configure: done", "compile: done", "test: done", "package: done",
         "finished"]


def at_jwt(secret, iss, aud, topic):
    """An RFC 9068 access token (HS256) that may publish to topic, signed with secret."""
    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    now = int(time.time())
    claims = {"iss": iss, "aud": aud, "sub": "demo", "client_id": "demo", "iat": now,
              "exp": now + 300, "jti": "demo-%d" % now,
              "authorization_details": [{"type": "https://mercure.rocks/authorization-detail",
                                         "actions": ["publish"], "topics": [{"match": topic}]}]}
    head = b64(json.dumps({"typ": "at+jwt", "alg": "HS256"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), ("%s.%s" % (head, body)).encode(), hashlib.sha256).digest()
    return "%s.%s.%s" % (head, body, b64(sig))


def post(url, token, form):
    """(status, body, WWW-Authenticate) of a form POST with a bearer token."""
    req = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(),
                                 headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(), None
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers.get("WWW-Authenticate")


from harness import cleanup_on_signals  # noqa: E402
cleanup_on_signals()
t = Tap()
wd = Workdir("demo")
demo = None
page = None


def descendants(pid):
    """Every process under pid (children, grandchildren...), from /proc."""
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids
        todo += kids
    return out


def snap():
    r = page.ask({"cmd": "snap"}, 10)
    return r["snap"] if r and r.get("ok") else None


def wait_snap(cond, timeout):
    last = [None]

    def f():
        last[0] = snap()
        return last[0] is not None and cond(last[0])
    ok = wait_for(f, timeout, 0.05)
    return last[0], ok


try:
    port = free_port()
    env = dict(os.environ, FCGI_SSE_NO_INSTALL="1", FCGI_SSE_PORT=str(port),
               FCGI_SSE_BUILD=BUILDDIR)
    # its own session: SIGINT reaches demo.sh alone, as Ctrl-C reaches it in a terminal
    # (it puts each child in a process group of its own and stops them itself)
    # and SIGINT at its default, as in a terminal: started in the background by a
    # non-interactive shell (CI's runner, nohup ... &), this test inherits SIGINT ignored,
    # and bash cannot trap a signal ignored when it starts.
    def new_session():
        os.setsid()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    demo = wd.start(["bash", DEMO], "demo", env=env, preexec_fn=new_session)
    up = wait_for(lambda: can_connect(("127.0.0.1", port)) or not demo.alive(), 60)
    t.ok(up and demo.alive(), "demo.sh starts lighttpd and the responder", demo.log()[-2000:])
    if not (up and demo.alive()):
        raise SystemExit
    # demo.sh prints its URLs after starting lighttpd, so maybe after the port answers.
    url = "curl -N http://127.0.0.1:%d/run/demo" % port
    t.ok(wait_for(lambda: url in demo.log(), 10), "demo.sh prints the program's URL",
         demo.log()[-2000:])
    code, _, body = http_get(port, "/")
    t.ok(code == 200 and b'id="run-start"' in body and b"run.js" in body,
         "the page has the program panel", (code, body[:200]))
    s = HttpStream(port, "/stream")
    s.read_events(2, 5)
    t.ok(len([e for e in s.events if e["data"]]) >= 2, "the counter streams", s.events[:3])
    s.close()

    # --- Mercure: the commands demo.sh prints, the publish run as printed
    m = re.search(r"demo\.sh: Mercure:[^\n]*\n  curl -N '(http://127\.0\.0\.1:%d)"
                  r"(/\.well-known/mercure\?[^']*)'\n  (curl -H [^\n]*\\\n[^\n]*)\n" % port,
                  demo.log())
    t.ok(m, "demo.sh prints a Mercure subscription and a publish with its token",
         demo.log()[-2000:])
    if m:
        sub = HttpStream(port, m.group(2))
        sub.read_head(5)
        r = subprocess.run(["bash", "-c", m.group(3)], capture_output=True, text=True,
                           timeout=30)
        t.ok(sub.status == 200 and r.returncode == 0 and
             re.match(r"^urn:uuid:[0-9a-f-]{36}$", r.stdout),
             "Mercure: the printed publish (its token signed with this run's secret) is "
             "answered with the update's id", (sub.status, r))
        sub.read_until(lambda x: any(e["data"] for e in x.events), 5)
        t.eq([(e["id"], e["data"]) for e in sub.events if e["data"]],
             [(r.stdout, '{"status": "sold"}')],
             "Mercure: the anonymous subscriber gets the update, with that id")
        # The secret's file, as printed; the hub's URL (aud) and issuer demo.sh configured.
        k = re.search(r"MERCURE_JWT_SECRET, is the line in (\S+)", demo.log())
        secret = open(k.group(1)).readline().strip() if k else ""
        topic = "https://example.com/books/1"
        hub = m.group(1) + "/.well-known/mercure"
        good = post(hub, at_jwt(secret, m.group(1), hub, topic),
                    {"topic": topic, "data": "current"})
        sub.read_until(lambda x: len([e for e in x.events if e["data"]]) >= 2, 5)
        t.ok(k and good[0] == 200 and
             [(e["id"], e["data"]) for e in sub.events if e["data"]][1:] ==
             [(good[1], "current")],
             "Mercure: an at+jwt signed with the secret in the file demo.sh names, for the "
             "hub's URL and issuer it configured, publishes", (k and k.group(1), good,
                                                               sub.events[-2:]))
        bad = post(hub, at_jwt(secret, m.group(1), "https://example.com/.well-known/mercure",
                               topic), {"topic": topic, "data": "elsewhere"})
        t.ok(bad[0] == 401 and "aud does not name this hub" in (bad[2] or "") + bad[1],
             "Mercure: the same token for another hub (aud) is refused, saying so", bad)
        sub.close()

    # --- run/demo through lighttpd: the program demo.sh configured, line by line
    s = HttpStream(port, "/run/demo")
    s.read_to_end(10)
    ev = [e for e in s.events if e["data"] is not None]
    g = gaps(ev[1:6])
    t.ok(len(ev) == 8 and ev[0]["data"].startswith("started: demo, GET from 127.0.0.1") and
         [e["data"] for e in ev[1:7]] == LINES and
         [e["id"] for e in ev] == [str(i) for i in range(8)],
         "run/demo: the demo program's lines, ids from 0", ev)
    t.ok(ev and ev[-1]["event"] == "exit" and ev[-1]["data"] == "0" and s.eof,
         "run/demo: then event: exit 0, and the response ends", ev[-1:])
    t.ok(len(g) == 4 and paced_ok(g, PACE),
         "run/demo: the lines arrive as printed, 0.5 s apart (not buffered: each before the one "
         "after it is printed, none with the one before)", ["%.3f" % x for x in g])

    # --- the panel in Chromium
    ndir, why = node_dir(BUILDDIR)
    if not os.path.exists(CHROMIUM) or ndir is None:
        t.skip("the program panel in headless Chromium",
               why or "%s is not installed (apt-get install chromium)" % CHROMIUM)
    else:
        page, ready = start_page(ndir, wd, CHROMIUM)
        if not t.ok(ready and ready.get("ready"), "headless Chromium starts (playwright-core)",
                    (ready, page.log()[-3000:])):
            raise SystemExit
        r = page.ask({"cmd": "open", "url": "http://127.0.0.1:%d/" % port, "width": 900,
                      "height": 700}, 15)
        t.ok(r and r.get("ok") and r.get("status") == 200, "panel: the page loads", r)
        s0, ok = wait_snap(lambda s: len(s["items"]) >= 1, 5)
        t.ok(ok and s0["runState"] == "idle" and s0["runText"] == "not started" and
             not s0["runLines"] and s0["runButtonDisabled"] is False,
             "panel: not started until asked (a page view runs no program)",
             s0 and {k: s0[k] for k in ("runState", "runText", "runLines")})
        r = page.ask({"cmd": "click", "selector": "#run-start"}, 10)
        t_click = r and r.get("t")
        s1, ok = wait_snap(lambda s: s["runState"] == "running", 3)
        t.ok(ok and s1["runButtonDisabled"] is True, "panel: running, its button disabled",
             s1 and (s1["runState"], s1["runButtonDisabled"]))
        s2, ok = wait_snap(lambda s: s["runState"] != "running" and s["runState"] != "idle", 10)
        t.ok(ok and s2["runState"] == "exited" and s2["runText"] == "exited with status 0" and
             s2["runButtonDisabled"] is False,
             "panel: ends with the exit event: exited with status 0",
             s2 and (s2["runState"], s2["runText"]))
        app = s2["runAppended"] if s2 else []
        t.ok(s2 and s2["runLines"][1:] == LINES and s2["runLines"][0].startswith("started: demo"),
             "panel: shows every line the program printed, in order", s2 and s2["runLines"])
        at = [a[0] for a in app]
        g = [(b - a) / 1000 for a, b in zip(at[1:5], at[2:6])]    # fetch ... package
        t.ok(t_click and at and at[0] - t_click < PACE * 1000 and len(g) == 4 and
             paced_ok(g, PACE),
             "panel: the lines appear live, one by one as printed (the first before the program "
             "prints its next, half a second after it started; then 0.5 s apart)",
             (t_click and at and at[0] - t_click, ["%.3f" % x for x in g]))
        time.sleep(1.0)
        s3 = snap()
        t.ok(s3 and s3["runLines"] == s2["runLines"] and len(s3["runAppended"]) == len(app) and
             s3["runState"] == "exited",
             "panel: after the exit event the program is not run again (no reconnect)",
             s3 and len(s3["runAppended"]))
        r = page.ask({"cmd": "log"}, 10)
        lg = r.get("log", {}) if r else {}
        t.ok(s3 and not s3["csp"] and not lg.get("pageErrors") and
             not [c for c in lg.get("console", []) if c["type"] == "error"],
             "panel: no CSP violation, page error or console error",
             (s3 and s3["csp"], lg.get("pageErrors"), lg.get("console")))
        page.ask({"cmd": "screenshot", "path": wd.file("panel.png")}, 10)
        page.stop()
        page = None

    # --- Ctrl-C: demo.sh stops everything it started
    kids = descendants(demo.pid)
    t.ok(len(kids) >= 2, "demo.sh runs the responder and lighttpd", kids)
    demo.signal(signal.SIGINT)
    code = demo.wait(15)
    gone = wait_for(lambda: not any(os.path.exists("/proc/%d" % k) for k in kids), 10)
    t.ok(code is not None and gone, "Ctrl-C: demo.sh exits and leaves no process behind",
         (code, [k for k in kids if os.path.exists("/proc/%d" % k)]))
except SystemExit:
    pass
except Exception as e:  # noqa: BLE001 -- reported in one line, the traceback as diagnostics
    t.exception(e)
finally:
    if page is not None:
        page.stop()
    if demo is not None and demo.alive():
        try:
            os.killpg(demo.pid, signal.SIGTERM)
        except OSError:
            pass
        demo.wait(10)
    wd.cleanup()
t.done()
