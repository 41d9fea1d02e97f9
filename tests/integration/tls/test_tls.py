"""test_tls.py -- the stream behind TLS and HTTP/2, as browsers reach production sites: the shipped
deploy/nginx/fcgi-sse-tls.conf (nginx, `listen ... ssl http2`) and deploy/apache/fcgi-sse-tls.conf
(Apache, mod_ssl + mod_http2, on top of fcgi-sse-proxy-fcgi.conf), each with a self-signed
certificate made here, compression on for every text type (event streams included) in the
main config around the snippet, one responder (-i 200) under spawn-fcgi behind both.

For each server:
- curl --http2: the page is served over HTTP/2;
- curl --http2 --compressed: /stream answers HTTP/2 200, text/event-stream, no
  Content-Encoding; `retry:` on its own, then every event in its own slot (after the one
  before it was due, before the one after it is due);
- a resume: Last-Event-ID: 41 continues at 42;
- headless Chromium (--ignore-certificate-errors) loads the page over h2 and opens 8 more
  EventSources next to the page's own: every response is h2, the streams share one
  connection (DevTools' connectionId) and count. nginx runs all 9 at once; Apache's
  mod_http2 at least 6 (it starts a connection with 6 streams processed at once and raises
  that only as requests complete: the others may wait; said in fcgi-sse-tls.conf).

Skipped (counted as skipped) without openssl or curl; the Chromium part without chromium,
node or npm. Needs root (nginx's and Apache's workers run as www-data).
"""

import json
import os
import select
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
from harness import (BUILDDIR, SRCDIR, SseParser, Tap, Workdir,  # noqa: E402
                     describe_offsets, in_slot)
import nginx as ngx  # noqa: E402
from apache import Apache, missing_modules, stop_all  # noqa: E402

INTERVAL = 0.2
EVENTS = 6
EXTRA = 8                 # EventSources opened next to the page's own
# mod_http2 (2.4.71) runs at most 6 streams of a new connection at once ("workers_limit=6"
# in its debug log) and raises that only as requests complete, which event streams never
# do: the 7th EventSource opened at once may wait (icing/mod_h2 #318, #232).
APACHE_H2_LIMIT = 6
CHROMIUM = "/usr/bin/chromium"
NGINX_TLS = os.path.join(SRCDIR, "deploy", "nginx", "fcgi-sse-tls.conf")
APACHE_TLS = os.path.join(SRCDIR, "deploy", "apache", "fcgi-sse-tls.conf")

t = Tap()
missing = [c for c in ("openssl", "curl") if not shutil.which(c)]
if missing:
    t.skip("TLS + HTTP/2", "%s not installed" % " and ".join(missing))
    t.done()


class Curl:
    """curl --http2 -N reading a stream: the body's pieces with their arrival times."""

    def __init__(self, url, headers=(), hdr_file=None, extra=()):
        argv = ["curl", "--http2", "-sSkN", "--compressed", "--max-time", "10"]
        for h in headers:
            argv += ["-H", h]
        if hdr_file:
            argv += ["-D", hdr_file]
        self.t_start = time.monotonic()
        self.p = subprocess.Popen(argv + list(extra) + [url], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.parser = SseParser()
        self.events, self.pieces = [], []

    def read_all(self, timeout):
        fd = self.p.stdout.fileno()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], max(0, deadline - time.monotonic()))
            if not r:
                break
            b = os.read(fd, 65536)
            now = time.monotonic()
            if not b:
                break
            self.pieces.append((now, b))
            self.events += self.parser.feed(b, now)
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()
        return self

    def ids(self):
        return [int(e["id"]) for e in self.events if e["data"] is not None]

    def lateness(self):
        """Each event's arrival minus its due time, (k+1) intervals after the first bytes
        (the header block and retry: arrive together; curl shows no earlier moment)."""
        ts = [e["t"] for e in self.events if e["data"] is not None]
        if not ts or not self.pieces:
            return []
        t0 = min(self.pieces[0][0], ts[0] - INTERVAL)
        return [x - (t0 + (k + 1) * INTERVAL) for k, x in enumerate(ts)]


def read_headers(path):
    with open(path, "rb") as f:
        lines = f.read().decode("latin-1").split("\r\n")
    hdrs = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
    return lines[0].strip(), hdrs


def check_server(name, base, page_path):
    """curl over h2 against https://127.0.0.1:PORT: page, stream timing, resume."""
    r = subprocess.run(["curl", "--http2", "-sk", "-o", "/dev/null", "-w",
                        "%{http_version} %{http_code}", base + page_path],
                       capture_output=True, text=True, timeout=10)
    t.eq(r.stdout, "2 200", "%s: the page over TLS is served with HTTP/2 (curl --http2)" % name)

    hf = wd.file(name + "-headers.txt")
    c = Curl(base + "/stream?limit=%d" % EVENTS, hdr_file=hf).read_all(EVENTS * INTERVAL + 5)
    status, hdrs = read_headers(hf)
    t.ok(status == "HTTP/2 200" and hdrs.get("content-type", "").startswith("text/event-stream")
         and "content-encoding" not in hdrs,
         "%s: /stream: HTTP/2 200, text/event-stream, no Content-Encoding though compression "
         "is on and curl asks for it" % name, (status, hdrs))
    first = c.pieces[0][1] if c.pieces else b""
    t.ok(first.startswith(b"retry: ") and b"id:" not in first,
         "%s: /stream: retry: arrives on its own, before the first event is due" % name, first)
    late = c.lateness()
    t.ok(c.ids() == list(range(EVENTS)) and in_slot(late, INTERVAL),
         "%s: /stream over h2: events 0..%d, each in its own slot (after the one before it was "
         "due, before the one after it is due): %s"
         % (name, EVENTS - 1, describe_offsets(late, INTERVAL)),
         (c.ids(), ["%+.3f" % x for x in late], c.p.stderr.read()[-300:]))
    r = Curl(base + "/stream?limit=2", headers=["Last-Event-ID: 41"]).read_all(5)
    t.eq(r.ids(), [42, 43], "%s: resume over h2: Last-Event-ID: 41 continues at 42" % name)


def check_browser(name, url, want_open):
    if not os.path.exists(CHROMIUM):
        t.skip("%s: Chromium over h2" % name, "%s is not installed" % CHROMIUM)
        return
    ndir, why = node_dir(BUILDDIR)
    if ndir is None:
        t.skip("%s: Chromium over h2" % name, why)
        return
    p = subprocess.run(["node", "h2.mjs", wd.file(name + "-chromium"), CHROMIUM, url, str(EXTRA),
                        "2"], cwd=ndir, capture_output=True, text=True, timeout=90)
    try:
        out = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        t.ok(False, "%s: Chromium over h2 (h2.mjs answered)" % name, p.stdout + p.stderr[-2000:])
        return
    t.ok(out.get("status") == 200 and not out.get("error"), "%s: Chromium loads the page "
         "(self-signed certificate, --ignore-certificate-errors)" % name, out)
    resp = out.get("responses", [])
    streams = [x for x in resp if x["url"].endswith("/stream")]
    t.ok(resp and all(x["protocol"] == "h2" for x in resp),
         "%s: Chromium: every response came over h2 (%d)" % (name, len(resp)),
         [(x["url"], x["protocol"]) for x in resp])
    conns = {x["connectionId"] for x in streams}
    t.ok(len(streams) >= want_open and len(conns) == 1,
         "%s: Chromium: %d EventSources open at once (at least %d), all on one connection"
         % (name, len(streams), want_open), [(x["url"], x["connectionId"]) for x in streams])
    extra = out.get("extra", [])
    counting = [ids for ids in extra if len(ids) >= 3 and ids == list(range(ids[0], ids[0] + len(ids)))]
    t.ok(len(extra) == EXTRA and len(counting) >= want_open - 1 and len(out.get("items", [])) >= 3,
         "%s: Chromium: the page's stream and %d more counted at once, each with consecutive ids"
         % (name, len(counting)), (extra, out.get("items")))
    if len(streams) < EXTRA + 1:
        t.diag("%s: %d of %d EventSources were held back by the server (mod_http2 starts each "
               "connection with workers_limit=6 and raises it only as requests complete)"
               % (name, EXTRA + 1 - len(streams), EXTRA + 1))
    t.eq(out.get("pageErrors"), [], "%s: Chromium: no page error" % name)


wd = Workdir("tls")
ngx.open_for_workers(wd.path)
servers, apaches = [], []
t_begin = time.monotonic()
try:
    from nodedeps import node_dir  # noqa: E402
    key, crt = wd.file("privkey.pem"), wd.file("fullchain.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                        "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-keyout", key, "-out", crt], capture_output=True, text=True, timeout=30)
    if not t.ok(r.returncode == 0, "a self-signed certificate for 127.0.0.1 (openssl)", r.stderr):
        raise SystemExit
    html = ngx.copy_page(wd)
    resp, sock = ngx.start_responder_for_nginx(wd, ["-i", str(int(INTERVAL * 1000))])

    # ---------------------------------------------------------------- nginx
    if ngx.nginx_binary() is None:
        t.skip("nginx: TLS + HTTP/2", "nginx is not installed")
    else:
        n = ngx.Nginx(wd, sock, html, name="nginx-tls", site_conf=NGINX_TLS,
                      listen="listen 443 ssl http2;",
                      subs={"ssl_certificate /etc/ssl/fcgi-sse/fullchain.pem;":
                            "ssl_certificate %s;" % crt,
                            "ssl_certificate_key /etc/ssl/fcgi-sse/privkey.pem;":
                            "ssl_certificate_key %s;" % key})
        servers.append(n)
        base = "https://127.0.0.1:%d" % n.port
        check_server("nginx", base, "/")
        check_browser("nginx", base + "/", EXTRA + 1)
        t.ok(n.proc.alive(), "nginx: still running")

    # ---------------------------------------------------------------- Apache
    miss = missing_modules(["ssl", "http2", "proxy_fcgi", "socache_shmcb"])
    if miss:
        t.skip("Apache: TLS + HTTP/2", "Apache modules not installed: %s" % ", ".join(miss))
    else:
        a = Apache(wd, "apache-tls", "tls",
                   {"FCGI_SSE_HTML": html, "FCGI_SSE_SOCKET": sock, "FCGI_SSE_TLS_CERT": crt,
                    "FCGI_SSE_TLS_KEY": key, "FCGI_SSE_TLS_PORT": "0"},
                   extra="Include %s\n" % APACHE_TLS, port_define="FCGI_SSE_TLS_PORT")
        apaches.append(a)
        base = "https://127.0.0.1:%d" % a.port
        check_server("Apache", base, "/fcgi-sse/")
        check_browser("Apache", base + "/fcgi-sse/", APACHE_H2_LIMIT)
        t.ok(a.alive(), "Apache: still running")
        errs = [x for x in a.errors().splitlines() if ":error]" in x or ":crit]" in x]
        t.eq(errs, [], "Apache: no error in its error log")

    t.eq(resp.stop(), 0, "SIGTERM: the responder exits 0")
    t.diag("test_tls took %.1f s" % (time.monotonic() - t_begin))
except SystemExit:
    pass
finally:
    stop_all(apaches)
    workers = [w for x in servers for w in x.workers()]
    wd.cleanup()
    ngx.kill_leftovers([w for w in workers if os.path.exists("/proc/%d" % w)])
t.done()
