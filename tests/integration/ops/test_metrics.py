"""test_metrics.py -- .../metrics read by the real Prometheus tools, through lighttpd (the
shipped demo.conf) and through Apache (the shipped mod_proxy_fcgi snippet).

For each front server, a fresh responder (so every counter starts at 0) and a Prometheus of
the test's own (Debian's `prometheus`, its config and data in the workdir) scraping the front's
/metrics on loopback every second. Then known traffic, every stream of it ended by the server
(limit=, a program's end) or left open until the checks (subscribers), so that what the
responder wrote is what the clients read, whatever the front server notices of a client that
leaves:
- 3 counter streams (limit=2, one every 5 s) and a subscriber held at once: the 4 stream slots
  (--max-streams 4) full, so one more counter stream is refused (503, max_streams); Prometheus
  must see fcgi_sse_streams_open 3 counter and 1 channel while they are held;
- 3 publishes to news (--history 2), a resume after the first (a replay), a resume from an id
  before everything (`event: reset`), a subscription to another channel (503, max_channels 1);
- refusals: a publish without a key and a private channel without a signed URL (403), a
  message over --max-message (413), limit=0 (400), an unknown program (404);
- programs: one that prints two lines, one that cannot start (exit 127), one that ignores
  SIGTERM past --run-timeout (SIGTERM, then SIGKILL after --kill-after), and while it runs
  another run refused (503, max_runs 1);
- straight to the responder's socket: a record that is not FastCGI (malformed), padding past
  what the intake takes (too_large), half a record and then nothing (timeout, 5 s).
Checks: the answer's Content-Type; `promtool check metrics` passes on it; a remote client gets
403 from the front (lighttpd: a connection from 127.0.0.2; Apache: X-Forwarded-For); then,
once Prometheus scraped after the traffic, its HTTP API (/api/v1/query) returns for each
series the value the traffic made (and every fcgi_sse_* series equals the responder's own
answer at that moment), max_over_time of the open counter streams is 3 (never more).
Without a front: a responder over TCP at the open-files limit (prlimit) and with
FCGI_WEB_SERVER_ADDRS counts the connections it shed (fd_limit) and the peer it refused
(peer) exactly; one with --mercure counts its subscriber, the updates published to it and
written apart from a channel's message, in /metrics and /status (straight to the responder:
the shipped configs route no Mercure hub); one with --redis counts the link up, down and a
reconnect. Every shipped web
server config routes .../metrics beside .../status and keeps both to this host (parsed).

Skipped (never passed) when prometheus or promtool is absent (apt-get install prometheus);
the Apache part when its modules are. Not provoked: intake_memory (64 MiB of requests
arriving at once), 429 (no route answers it: its series stays 0, checked).
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import pwd
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True    # nothing written into the source tree
from harness import (BINARY, SRCDIR, FCGI_BEGIN_REQUEST, FCGI_PARAMS, FCGI_STDIN,  # noqa: E402
                     FCGI_STDOUT, HttpStream, Tap, Workdir, can_connect, cleanup_on_signals,
                     fcgi_read_records, fcgi_record, fcgi_request_bytes, free_port, http_get,
                     pump, start_redis, start_spawned_responder, start_lighttpd, wait_for)
from client import data_events, publish  # noqa: E402
from deployfiles import (apache_blocks, nginx_location_for, nginx_locations,  # noqa: E402
                         uncommented)
import apache as ap  # noqa: E402

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
KEY = "metrics-test-key-0123456789abcdef"
RETRY_BLOCK = b"retry: 500\n\n"          # -r 500: the block after each stream's header
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
COUNTER_INTERVAL = 5.0                    # -i 5000: held counter streams end after 2 of them
ARGS = ["-i", "5000", "-k", "0", "-r", "500", "--max-streams", "4", "--max-runs", "1",
        "--max-channels", "1", "--history", "2", "--max-message", "1k", "--max-body", "4k",
        "--kill-after", "1", "--run-timeout", "2s"]
INTAKE_TIMEOUT = 5                        # server/app.c INTAKE_TIMEOUT_NS

cleanup_on_signals()
t = Tap()
if not PROMETHEUS or not PROMTOOL:
    t.skip(".../metrics with Prometheus", "prometheus and promtool are not installed "
           "(apt-get install prometheus)")
    t.done()


# ---------------------------------------------------------------- the text format, read here

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def parse(text):
    """{series: value} of a text exposition, series as written ("name{k=\\"v\\"}")."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if m:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def series_key(metric):
    """The series of a Prometheus API result, as parse() names it (job and instance off)."""
    labels = ",".join('%s="%s"' % (k, v) for k, v in metric.items()
                      if k not in ("__name__", "job", "instance"))
    return metric["__name__"] + ("{%s}" % labels if labels else "")


def promtool_check(body):
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True,
                       timeout=30)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


# ---------------------------------------------------------------- Prometheus

class Prometheus:
    """A prometheus of the test's own: config and TSDB in the workdir, its API on a free
    loopback port, scraping one target's path every second."""

    def __init__(self, wd, name, target, path="/metrics"):
        self.dir = wd.file(name)
        os.makedirs(self.dir)
        self.port = free_port()
        conf = os.path.join(self.dir, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("# generated by tests/integration/ops/test_metrics.py\n"
                    "global:\n  scrape_interval: 1s\n  scrape_timeout: 800ms\n"
                    "  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: fcgi-sse\n    metrics_path: %s\n"
                    "    static_configs:\n      - targets: ['%s']\n" % (path, target))
        self.proc = wd.start([PROMETHEUS, "--config.file=" + conf,
                              "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                              "--web.listen-address=127.0.0.1:%d" % self.port,
                              "--log.level=warn"], name)
        if not wait_for(lambda: self.ready() or not self.proc.alive(), 60, step=0.1) \
                or not self.proc.alive():
            raise RuntimeError("prometheus did not start:\n" + self.proc.log()[-2000:])

    def ready(self):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port,
                                        timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def query(self, q):
        """The result vector of an instant query: [(metric dict, float)]; [] on error."""
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (self.port,
                                                        urllib.parse.urlencode({"query": q}))
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                j = json.loads(r.read())
        except (OSError, ValueError):
            return []
        if j.get("status") != "success":
            return []
        return [(x["metric"], float(x["value"][1])) for x in j["data"]["result"]]

    def value(self, q):
        r = self.query(q)
        return r[0][1] if len(r) == 1 else None

    def series(self, q):
        return {series_key(m): v for m, v in self.query(q)}

    def scraped_after(self, t_wall):
        """True once a successful scrape began after t_wall (seconds since the epoch)."""
        # timestamp() of a selector is its last sample's (of an expression, the query's)
        ts = self.value('timestamp(up{job="fcgi-sse"})')
        return ts is not None and ts > t_wall and self.value('up{job="fcgi-sse"}') == 1


# ---------------------------------------------------------------- clients

def get_metrics(port, headers=None, source=None):
    """GET /metrics through the front: (status, headers, body)."""
    if source is None:
        return http_get(port, "/metrics", headers=headers, timeout=10)
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    s.sendall(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), {}, body


def post(port, path, body, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("POST", path, body=body, headers=headers or {})
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


def stream(port, path, headers=None):
    s = HttpStream(port, path, headers=headers)
    s.read_head(10)
    return s


def written(s):
    """Bytes the responder wrote into s's body after its header block: all of it but the
    retry block, which goes with the header."""
    b = s.body()
    return len(b) - len(RETRY_BLOCK) if b.startswith(RETRY_BLOCK) else len(b)


def raw_unix(sock, data):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(sock)
    try:
        c.sendall(data)
    except OSError:
        pass
    return c


def closed_by_peer(c, timeout):
    """True once the responder closed c (EOF or reset) within timeout."""
    c.settimeout(timeout)
    try:
        while True:
            b = c.recv(65536)
            if not b:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def oversize_request():
    """A request whose padding piles up past what the intake takes (--max-body 4k:
    128 KiB + 4 KiB + 64 KiB): 1000 STDIN records of one byte and 255 of padding."""
    params = b"".join(bytes([len(k), len(v)]) + k + v
                      for k, v in ((b"REQUEST_METHOD", b"GET"), (b"SCRIPT_NAME", b"/stream")))
    out = fcgi_record(FCGI_BEGIN_REQUEST, struct.pack(">HB5x", 1, 0))
    out += fcgi_record(FCGI_PARAMS, params) + fcgi_record(FCGI_PARAMS, b"")
    return out + b"".join(fcgi_record(FCGI_STDIN, b"x", padding=255) for _ in range(1000))


# ---------------------------------------------------------------- the traffic

def traffic(name, port, sock, prom):
    """Runs the known traffic through the front on port (and straight to sock); returns
    {series: value} it must have made."""
    exp = {}
    bodies = []            # every stream answered 200: its bytes are counted
    # the intake's timeout takes 5 s: started first, judged last
    half = raw_unix(sock, b"\x01\x01\x00")

    # --- the 4 slots held: a subscriber and 3 counter streams (limit=2: they end by themselves)
    a = stream(port, "/events?channel=news")
    held = [stream(port, "/stream?limit=2") for _ in range(3)]
    t.ok(a.status == 200 and [h.status for h in held] == [200] * 3,
         "%s: a subscriber and 3 counter streams open (4 of --max-streams 4)" % name,
         (a.status, [h.status for h in held]))
    code, _, _ = http_get(port, "/stream", timeout=10)
    t.eq(code, 503, "%s: one more stream: 503 (max_streams)" % name)
    seen = wait_for(lambda: prom.series('fcgi_sse_streams_open{kind=~"counter|channel"}') ==
                    {'fcgi_sse_streams_open{kind="counter"}': 3,
                     'fcgi_sse_streams_open{kind="channel"}': 1}, 2 * COUNTER_INTERVAL - 2,
                    step=0.1)
    t.ok(seen, "%s: while they are held, Prometheus reads fcgi_sse_streams_open 3 counter, "
         "1 channel" % name, prom.series("fcgi_sse_streams_open"))
    ids = []
    for i in range(3):
        st, _, j = publish(port, "news", "message %d" % i, KEY)
        ids.append(j["id"] if st == 200 and j else None)
    a.read_until(lambda s: len(data_events(s)) >= 3, 10)
    t.ok(None not in ids and [e[0] for e in data_events(a)] == ids,
         "%s: 3 publishes to news (200), the subscriber gets them" % name, (ids, a.events))
    pump(held, lambda: all(h.eof for h in held), 2 * COUNTER_INTERVAL + 10)
    t.ok(all(h.eof and h.counts() == [0, 1] for h in held),
         "%s: the counter streams end after their 2 events" % name, [h.counts() for h in held])
    bodies += [a] + held
    exp['fcgi_sse_streams_total{kind="counter"}'] = 3
    exp['fcgi_sse_events_written_total{kind="counter"}'] = 6
    exp['fcgi_sse_refused_total{reason="max_streams"}'] = 1

    # --- resumes: after the first message (a replay), from before everything (a reset)
    b = stream(port, "/events?channel=news", headers={"Last-Event-ID": ids[0]})
    b.read_until(lambda s: len(data_events(s)) >= 2, 10)
    c = stream(port, "/events?channel=news", headers={"Last-Event-ID": "1-0"})
    c.read_until(lambda s: len(data_events(s)) >= 2, 10)
    t.ok([e[0] for e in data_events(b)] == ids[1:],
         "%s: a resume after the first message replays the 2 others" % name, b.events)
    t.ok([e["event"] for e in c.events if e["retry"] is None][:1] == ["reset"] and
         [e[0] for e in data_events(c)] == ids[1:],
         "%s: a resume from 1-0 gets event: reset, then the 2 messages held" % name, c.events)
    bodies += [b, c]
    other = stream(port, "/events?channel=other")
    other.read_to_end(10)
    t.eq(other.status, 503, "%s: a second channel: 503 (--max-channels 1)" % name)
    exp['fcgi_sse_streams_total{kind="channel"}'] = 4      # a, b, c, other (then refused)
    exp['fcgi_sse_streams_open{kind="channel"}'] = 3       # a, b, c: still connected
    exp['fcgi_sse_events_written_total{kind="channel"}'] = 7
    exp['fcgi_sse_messages_published_total'] = 3
    exp['fcgi_sse_channels'] = 1
    exp['fcgi_sse_history_messages'] = 2
    exp['fcgi_sse_replays_total'] = 2
    exp['fcgi_sse_resets_total'] = 1
    exp['fcgi_sse_refused_total{reason="max_channels"}'] = 1

    # --- refusals answered by the responder
    st403a = post(port, "/publish?channel=news", b"no key")
    st403b = http_get(port, "/events?channel=private:x", timeout=10)[0]
    # over --max-message, within --max-body: read whole, then refused (a body past --max-body
    # is refused before it is read, and Apache, still sending it, may answer 503 instead)
    st413 = post(port, "/publish?channel=news", b"x" * 2048, {"Authorization": "Bearer " + KEY})
    st400 = http_get(port, "/stream?limit=0", timeout=10)[0]
    st404 = http_get(port, "/run/nope", timeout=10)[0]
    t.eq([st403a, st403b, st413, st400, st404], [403, 403, 413, 400, 404],
         "%s: publish without a key, private channel without a signature: 403; a message over "
         "--max-message: 413; limit=0: 400; an unknown program: 404" % name)

    # --- programs
    hello = stream(port, "/run/hello")
    hello.read_to_end(10)
    bad = stream(port, "/run/bad")
    bad.read_to_end(10)
    stuck = stream(port, "/run/stuck")
    stuck.read_until(lambda s: any(e["data"] == "up" for e in s.events), 10)
    refused = http_get(port, "/run/hello", timeout=10)[0]
    stuck.read_to_end(INTAKE_TIMEOUT + 10)
    exits = [[e["data"] for e in s.events if e["event"] == "exit"] for s in (hello, bad, stuck)]
    t.ok([hello.status, bad.status, stuck.status] == [200] * 3 and refused == 503 and
         exits == [["0"], ["127"], ["137"]],
         "%s: programs: one ends 0, one cannot start (127), one outlives --run-timeout and "
         "SIGTERM (SIGKILL: 137); another run while it ran: 503 (--max-runs 1)" % name,
         (hello.status, bad.status, stuck.status, refused, exits))
    bodies += [hello, bad, stuck]
    exp['fcgi_sse_streams_total{kind="program"}'] = 3
    exp['fcgi_sse_events_written_total{kind="program"}'] = sum(
        len([e for e in s.events if e["data"] is not None]) for s in (hello, bad, stuck))
    exp['fcgi_sse_programs_started_total'] = 2
    exp['fcgi_sse_programs_failed_total'] = 1
    exp['fcgi_sse_programs_terminated_total'] = 1
    exp['fcgi_sse_programs_killed_total'] = 1
    exp['fcgi_sse_programs_running'] = 0
    exp['fcgi_sse_refused_total{reason="max_runs"}'] = 1

    # --- the intake's refusals, straight to the socket
    bad_rec = raw_unix(sock, b"\x02\x01\x00\x01\x00\x08\x00\x00" + b"\0" * 8)
    big = raw_unix(sock, oversize_request())
    t.ok(closed_by_peer(bad_rec, 10) and closed_by_peer(big, 10) and
         closed_by_peer(half, INTAKE_TIMEOUT + 10),
         "%s: straight to the socket: not FastCGI, past the intake's size, half a record: "
         "each closed unanswered" % name)
    for x in (bad_rec, big, half):
        x.close()
    exp['fcgi_sse_refused_total{reason="malformed"}'] = 1
    exp['fcgi_sse_refused_total{reason="too_large"}'] = 1
    exp['fcgi_sse_refused_total{reason="timeout"}'] = 1
    for r in ("peer", "intake_memory", "fd_limit"):
        exp['fcgi_sse_refused_total{reason="%s"}' % r] = 0

    # answers by status (the 200s are also the scrapes': not fixed)
    for code, n in (("400", 1), ("403", 2), ("404", 1), ("413", 1), ("429", 0), ("503", 3),
                    ("500", 0), ("405", 0), ("414", 0), ("401", 0), ("204", 0)):
        exp['fcgi_sse_responses_total{code="%s"}' % code] = n
    for k in ("counter", "program", "mercure", "status"):
        exp['fcgi_sse_streams_open{kind="%s"}' % k] = 0
    for k in ("mercure", "status"):
        exp['fcgi_sse_streams_total{kind="%s"}' % k] = 0
        exp['fcgi_sse_events_written_total{kind="%s"}' % k] = 0
    exp['fcgi_sse_streams_dropped_slow_total'] = 0
    exp['fcgi_sse_streams_max'] = 4
    exp['fcgi_sse_written_bytes_total'] = sum(written(s) for s in bodies)
    exp['fcgi_sse_build_info{version="%s"}' % version()] = 1
    return exp, [a, b, c]


def version():
    r = subprocess.run([BINARY, "--version"], capture_output=True, text=True, timeout=10)
    m = re.search(r"(\d+\.\d+\S*)", r.stdout + r.stderr)
    return m.group(1) if m else "?"


def check_front(name, port, sock, remote_refused):
    """Everything of one front: Prometheus, the traffic, the checks."""
    prom = Prometheus(wd, name + "-prometheus", "127.0.0.1:%d" % port)
    up = wait_for(lambda: prom.value('up{job="fcgi-sse"}') == 1, 30, step=0.1)
    t.ok(up, "%s: Prometheus scrapes the front's /metrics (up 1)" % name,
         prom.query('up') or prom.proc.log()[-1500:])
    t_start = time.time()
    exp, keep = traffic(name, port, sock, prom)

    code, hdrs, body = get_metrics(port)
    t.ok(code == 200 and hdrs.get("content-type") == CONTENT_TYPE,
         "%s: GET /metrics: 200, Content-Type: %s" % (name, CONTENT_TYPE), (code, hdrs))
    rc, out = promtool_check(body)
    t.ok(rc == 0, "%s: promtool check metrics passes on it" % name, out or body[:2000])
    code, hdrs, hbody = http_get(port, "/metrics", method="HEAD", timeout=10)
    t.ok(code == 200 and not hbody, "%s: HEAD /metrics: 200, no body" % name, (code, hbody))
    t.eq(remote_refused(), 403, "%s: /metrics from a remote client: 403 from the front" % name)

    direct = parse(body.decode())
    t_done = time.time()
    ok = wait_for(lambda: prom.scraped_after(t_done), 30, step=0.1)
    t.ok(ok, "%s: Prometheus scraped after the traffic" % name)
    got = prom.series('{__name__=~"fcgi_sse_.+|process_.+"}')
    wrong = {k: (got.get(k), v) for k, v in exp.items() if got.get(k) != v}
    t.ok(not wrong, "%s: Prometheus's API returns what the traffic made, for each of %d series"
         % (name, len(exp)), wrong)
    # everything else it holds: the same as the responder answered after the traffic (the
    # scrapes' own 200s and the process's own figures move on)
    moving = ('fcgi_sse_responses_total{code="200"}',)
    diff = {k: (got.get(k), v) for k, v in direct.items()
            if k.startswith("fcgi_sse_") and k not in moving and got.get(k) != v}
    t.ok(not diff and len([k for k in direct if k.startswith("fcgi_sse_")]) ==
         len([k for k in got if k.startswith("fcgi_sse_")]),
         "%s: every fcgi_sse_* series in Prometheus equals the responder's own answer (%d)"
         % (name, len([k for k in direct if k.startswith("fcgi_sse_")])), diff)
    t.eq(prom.value('max_over_time(fcgi_sse_streams_open{kind="counter"}[5m])'), 3.0,
         "%s: max_over_time of the open counter streams: 3, never more" % name)
    n200 = got.get('fcgi_sse_responses_total{code="200"}', 0)
    t.ok(n200 >= 3 + 9, "%s: 200s counted: at least the publishes and streams (%d)"
         % (name, n200))
    start = got.get("process_start_time_seconds", 0)
    t.ok(got.get("process_resident_memory_bytes", 0) > 0 and got.get("process_open_fds", 0) > 3
         and got.get("process_max_fds", 0) >= got.get("process_open_fds", 0) and
         t_start - 120 < start <= t_start and got.get("process_cpu_seconds_total", -1) >= 0,
         "%s: process_*: memory, descriptors, start time before the traffic, CPU" % name,
         {k: v for k, v in got.items() if k.startswith("process_")})
    for s in keep:
        s.close()
    prom.proc.stop()


# ---------------------------------------------------------------- setup of the fronts

def scripts():
    """The programs: hello (two lines), stuck (ignores SIGTERM, its sleep too), and a path
    that is no program; copies readable by nobody (Apache's responder runs as nobody)."""
    d = wd.file("programs")
    os.makedirs(d)
    for n, body in (("hello", "echo one\necho two\n"),
                    ("stuck", "trap '' TERM\necho up\nsleep 60\n")):
        with open(os.path.join(d, n), "w") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(os.path.join(d, n), 0o755)
    shared = wd.for_others(d)
    return ["--run", "hello=" + os.path.join(shared, "hello"),
            "--run", "stuck=" + os.path.join(shared, "stuck"),
            "--run", "bad=" + os.path.join(shared, "no-such-program")]


def keyfile(owner):
    path = wd.file("publish-%s.keys" % owner)
    with open(path, "w") as f:
        f.write(KEY + "\n")
    os.chmod(path, 0o600)
    if owner != "root":
        os.chown(path, pwd.getpwnam(owner).pw_uid, -1)
    return path


def lighttpd_front():
    resp, sock = start_spawned_responder(wd, ARGS + ["--publish-key-file", keyfile("root")] +
                                         programs, "lighttpd-fcgi-sse")
    httpd, port = start_lighttpd(wd, sock)

    def remote():
        return get_metrics(port, source="127.0.0.2")[0]
    check_front("lighttpd", port, sock, remote)
    t.ok(httpd.alive() and resp.alive(), "lighttpd: lighttpd and the responder still run")
    t.eq(resp.stop(), 0, "lighttpd: SIGTERM: the responder exits 0")
    httpd.stop()


def apache_front():
    missing = ap.missing_modules(ap.BASE_MODULES + ap.MODES["proxy_fcgi"][1]) \
        if os.path.exists(ap.APACHE2) else ["apache2"]
    if missing:
        t.skip("apache: .../metrics through mod_proxy_fcgi", "not installed: %s" % missing)
        return
    ap.open_workdir(wd)
    tag = "FCGI_SSE_METRICS_TEST=%s" % wd.path
    resp, sock = ap.start_socket_responder(wd, ARGS + ["--publish-key-file", keyfile("nobody")]
                                           + programs, "apache-fcgi-sse", tag)
    httpd = ap.Apache(wd, "apache", "proxy_fcgi", {"FCGI_SSE_HTML": ap.page(wd),
                                                   "FCGI_SSE_SOCKET": sock})
    try:
        def remote():
            return get_metrics(httpd.port, headers={"X-Forwarded-For": "203.0.113.7"})[0]
        check_front("apache", httpd.port, sock, remote)
        t.ok(httpd.alive() and resp.alive(), "apache: Apache and the responder still run")
        t.eq(resp.stop(), 0, "apache: SIGTERM: the responder exits 0")
    finally:
        ap.stop_all([httpd])


# ---------------------------------------------------------------- without a front

def fcgi_tcp(port, script, source="127.0.0.1", timeout=10):
    """A FastCGI GET straight to 127.0.0.1:port: (stdout bytes, closed without a record)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                 source_address=(source, 0))
    try:
        s.sendall(fcgi_request_bytes({"REQUEST_METHOD": "GET", "SCRIPT_NAME": script,
                                      "QUERY_STRING": ""}))
    except OSError:
        pass
    recs, eof = fcgi_read_records(s, timeout)
    s.close()
    return b"".join(c for r, c, _ in recs if r == FCGI_STDOUT), eof and not recs


def body_of(out):
    return out.partition(b"\r\n\r\n")[2]


def check_limits():
    """fd_limit and peer: a responder over TCP, 40 open files, FCGI_WEB_SERVER_ADDRS."""
    port = free_port()
    env = dict(os.environ, FCGI_WEB_SERVER_ADDRS="127.0.0.1")
    p = wd.start(["prlimit", "--nofile=40:40", BINARY, "-l", "127.0.0.1:%d" % port, "-m", "1000",
                  "-i", "100", "-k", "0"], "limits", env=env)
    wait_for(lambda: can_connect(("127.0.0.1", port)) or not p.alive(), 5)
    out, refused = fcgi_tcp(port, "/metrics", source="127.0.0.2")
    t.ok(refused, "limits: a peer not in FCGI_WEB_SERVER_ADDRS (127.0.0.2) is closed unanswered")
    conns = []
    for _ in range(60):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(fcgi_request_bytes({"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/stream",
                                      "QUERY_STRING": ""}))
        conns.append(s)
    served = closed = 0
    for s in conns:
        recs, eof = fcgi_read_records(s, 3, until=lambda r: bool(r))
        if recs:
            served += 1
        elif eof:
            closed += 1
    t.ok(p.alive() and served and closed and served + closed == 60,
         "limits: at 40 open files, of 60 streams %d served, %d connections shed" % (served,
                                                                                   closed))
    for s in conns:
        s.close()
    text = ""

    def settled():
        nonlocal text
        out, _ = fcgi_tcp(port, "/metrics")
        text = body_of(out).decode("utf-8", "replace")
        v = parse(text)
        return v.get('fcgi_sse_streams_open{kind="counter"}') == 0 and v
    v = wait_for(settled, 10, step=0.1) or {}
    rc, msg = promtool_check(text.encode())
    t.ok(rc == 0, "limits: promtool check metrics passes", msg)
    t.ok(v.get('fcgi_sse_refused_total{reason="fd_limit"}') == closed and
         v.get('fcgi_sse_refused_total{reason="peer"}') == 1 and
         v.get('fcgi_sse_streams_total{kind="counter"}') == served,
         "limits: fcgi_sse_refused_total fd_limit %d (each connection shed), peer 1; %d "
         "counter streams served" % (closed, served),
         {k: x for k, x in v.items() if "refused" in k or "streams_total" in k})
    t.eq(p.stop(), 0, "limits: SIGTERM: exit 0")


def check_redis():
    """With --redis: fcgi_sse_redis_up 1, 0 while Redis is gone, 1 again with a reconnect."""
    if not shutil.which("redis-server"):
        t.skip("redis: fcgi_sse_redis_*", "redis-server is not installed")
        return
    rproc, rsock = start_redis(wd, "redis")
    resp, sock = start_spawned_responder(wd, ["--redis", "unix:" + rsock, "-k", "0"],
                                         "redis-fcgi-sse")

    def metrics():
        out = subprocess.run(["cgi-fcgi", "-bind", "-connect", sock], capture_output=True,
                             timeout=10, env={"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/metrics",
                                              "PATH": os.environ.get("PATH", "")})
        return body_of(out.stdout).decode("utf-8", "replace")

    def up(n):
        return lambda: parse(metrics()).get("fcgi_sse_redis_up") == n
    t.ok(wait_for(up(1), 10, step=0.1), "redis: fcgi_sse_redis_up 1 once connected")
    rc, msg = promtool_check(metrics().encode())
    t.ok(rc == 0, "redis: promtool check metrics passes with the Redis family", msg)
    rproc.stop()
    t.ok(wait_for(up(0), 15, step=0.1), "redis: Redis stopped: fcgi_sse_redis_up 0")
    rproc, rsock = start_redis(wd, "redis")
    t.ok(wait_for(up(1), 20, step=0.1), "redis: Redis back: fcgi_sse_redis_up 1")
    v = parse(metrics())
    t.ok(v.get("fcgi_sse_redis_reconnects_total") == 1 and
         v.get("fcgi_sse_redis_pending_publishes") == 0 and
         v.get("fcgi_sse_redis_pending_bytes") == 0,
         "redis: one reconnect counted, nothing pending",
         {k: x for k, x in v.items() if "redis" in k})
    t.eq(resp.stop(), 0, "redis: SIGTERM: exit 0")
    rproc.stop()


def hs256(secret, payload):
    """A JWT signed with HS256 (Python's hmac: not the responder's code)."""
    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=")
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(payload).encode())
    sig = hmac.new(secret.encode(), head + b"." + body, hashlib.sha256).digest()
    return (head + b"." + body + b"." + b64(sig)).decode()


def fcgi_open(port, params, stdin=b""):
    """A FastCGI request straight to 127.0.0.1:port, its connection left open."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(fcgi_request_bytes(params, stdin=stdin))
    return s


def check_mercure():
    """The Mercure hub counted apart from the channels: its subscribers (streams of kind
    mercure), the updates published to it, those written to subscribers; in /metrics and
    /status. Straight to the responder (the shipped configs route no Mercure hub)."""
    port = free_port()
    secret = "fcgi-sse metrics test secret, 32+ bytes long"
    mkey = wd.file("mercure.key")
    with open(mkey, "w") as f:
        f.write(secret + "\n")
    os.chmod(mkey, 0o600)
    p = wd.start([BINARY, "-l", "127.0.0.1:%d" % port, "-k", "0", "--mercure",
                  "--mercure-protocol", "legacy", "--mercure-anonymous",
                  "--mercure-publisher-key-file", mkey, "--publish-key-file", keyfile("root")],
                 "mercure")
    wait_for(lambda: can_connect(("127.0.0.1", port)) or not p.alive(), 5)
    topic = "https://example.com/books/1"
    sub_ = fcgi_open(port, {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/.well-known/mercure",
                            "QUERY_STRING": "topic=" + urllib.parse.quote(topic, safe="")})
    got = b""

    def head_in():
        nonlocal got
        recs, _ = fcgi_read_records(sub_, 0.2, until=lambda r: bool(r))
        got += b"".join(c for r, c, _ in recs if r == FCGI_STDOUT)
        return b"\r\n\r\n" in got
    t.ok(wait_for(head_in, 10, step=0) and b"text/event-stream" in got.partition(b"\r\n\r\n")[0],
         "mercure: an anonymous subscriber's stream opens", got[:300])
    token = hs256(secret, {"mercure": {"publish": ["*"]}})
    answers = []
    for i in range(2):
        body = urllib.parse.urlencode({"topic": topic, "data": "update %d" % i}).encode()
        s = fcgi_open(port, {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/.well-known/mercure",
                             "QUERY_STRING": "", "CONTENT_TYPE":
                             "application/x-www-form-urlencoded",
                             "CONTENT_LENGTH": str(len(body)),
                             "HTTP_AUTHORIZATION": "Bearer " + token}, stdin=body)
        recs, _ = fcgi_read_records(s, 10)
        s.close()
        answers.append(b"".join(c for r, c, _ in recs if r == FCGI_STDOUT))
    s = fcgi_open(port, {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/publish",
                         "QUERY_STRING": "channel=news", "CONTENT_LENGTH": "3",
                         "HTTP_AUTHORIZATION": "Bearer " + KEY}, stdin=b"one")
    recs, _ = fcgi_read_records(s, 10)
    s.close()
    chan_answer = b"".join(c for r, c, _ in recs if r == FCGI_STDOUT)
    t.ok(all(a.startswith(b"Status: 200") and b"\r\n\r\nurn:uuid:" in a for a in answers) and
         chan_answer.startswith(b"Status: 200") and b'"id"' in chan_answer, "mercure: two updates published (their ids), one channel "
         "message", (answers, chan_answer))

    def delivered():
        nonlocal got
        recs, _ = fcgi_read_records(sub_, 0.2, until=lambda r: bool(r))
        got += b"".join(c for r, c, _ in recs if r == FCGI_STDOUT)
        return got.count(b"data: update ") == 2
    t.ok(wait_for(delivered, 10, step=0), "mercure: the subscriber gets both updates", got)
    out, _ = fcgi_tcp(port, "/metrics")
    text = body_of(out).decode("utf-8", "replace")
    rc, msg = promtool_check(text.encode())
    t.ok(rc == 0, "mercure: promtool check metrics passes", msg)
    v = parse(text)
    want = {'fcgi_sse_streams_open{kind="mercure"}': 1,
            'fcgi_sse_streams_total{kind="mercure"}': 1,
            'fcgi_sse_events_written_total{kind="mercure"}': 2,
            "fcgi_sse_mercure_updates_published_total": 2,
            "fcgi_sse_messages_published_total": 1, "fcgi_sse_channels": 1,
            'fcgi_sse_events_written_total{kind="channel"}': 0}
    t.eq({k: v.get(k) for k in want}, want, "mercure: /metrics counts the subscriber, the 2 "
         "updates published and written apart from the channel's message")
    out, _ = fcgi_tcp(port, "/status")
    try:
        j = json.loads(body_of(out))
    except ValueError:
        j = {}
    want = {"mercure_subscribers": 1, "mercure_published": 2, "mercure_delivered": 2,
            "messages_published": 1, "channels": 1, "events_delivered": 0}
    t.eq({k: j.get(k) for k in want}, want, "mercure: /status shows the same")
    sub_.close()
    t.eq(p.stop(), 0, "mercure: SIGTERM: exit 0")


# ---------------------------------------------------------------- the shipped configs

def check_configs():
    """Every shipped web server config restricts .../metrics to this host as it does
    .../status, and the FastCGI ones route it."""
    dep = os.path.join(SRCDIR, "deploy")

    def read(*p):
        with open(os.path.join(dep, *p)) as f:
            return uncommented(f.read())
    for name in ("demo.conf", "fcgi-sse-debian.conf"):
        text = read("lighttpd", name)
        blocks = re.findall(r'\$HTTP\["url"\] =~ "([^"]*)" \{\s*\$HTTP\["remoteip"\] != '
                            r'"127\.0\.0\.1" \{\s*url\.access-deny', text)
        routed = re.findall(r'\$HTTP\["url"\] =~ "([^"]*)" \{\s*fastcgi\.server', text)
        t.ok(any(re.search(rx, "/x/metrics") and re.search(rx, "/status") for rx in blocks) and
             any(re.search(rx, "/x/metrics") for rx in routed),
             "lighttpd %s: .../metrics routed, and denied unless from 127.0.0.1 as .../status"
             % name, (blocks, routed))
    for name in ("fcgi-sse.conf", "fcgi-sse-tls.conf"):
        locs = nginx_locations(read("nginx", name))
        rx, body = nginx_location_for(locs, "/x/metrics")
        _, sbody = nginx_location_for(locs, "/x/status")
        t.ok(rx and body == sbody and "allow 127.0.0.1;" in body and "deny all;" in body and
             "fastcgi_pass" in body,
             "nginx %s: .../metrics in .../status's location: loopback only" % name, rx)
    for name in ("fcgi-sse-proxy-fcgi.conf", "fcgi-sse-fcgid.conf", "fcgi-sse-cgi.conf"):
        blocks = apache_blocks(read("apache", name))
        local = [rx for rx, body in blocks if "Require local" in body]
        t.ok(any(re.search(rx, "/x/metrics") and re.search(rx, "/x/status") for rx in local),
             "apache %s: .../metrics under Require local, as .../status" % name,
             [rx for rx, _ in blocks])
    blocks = apache_blocks(read("apache", "fcgi-sse-proxy-fcgi.conf"))
    t.ok(any(re.search(rx, "/x/metrics") and "SetHandler" in body for rx, body in blocks),
         "apache fcgi-sse-proxy-fcgi.conf: .../metrics goes to the responder")
    blocks = apache_blocks(read("apache", "fcgi-sse-balancer.conf"))
    t.ok(all(any(re.search(rx, "/fcgi-sse-%d/metrics" % i) and sock in body
                 for rx, body in blocks) for i, sock in ((1, "${FCGI_SSE_SOCKET}|"),
                                                        (2, "${FCGI_SSE_SOCKET_2}|"))),
         "apache fcgi-sse-balancer.conf: each responder's .../metrics on a URL of its own")


wd = Workdir("metrics")
try:
    check_configs()
    programs = scripts()
    lighttpd_front()
    apache_front()
    check_limits()
    check_mercure()
    check_redis()
finally:
    wd.cleanup()
t.done()
