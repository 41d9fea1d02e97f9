"""client.py -- the tests' client of fcgi-sse: publish, subscribe, sign, resume, and the checks
of a stream's header block, in one place for every integration test.

Publishing goes through a web server's /publish (a raw HTTP/1.1 request, nginx.get_from, so
that a test can choose the source address, add or replace headers, or make the socket in a
network namespace) or straight to Redis with Debian's python3-redis (the same FCALL every
publisher uses); subscribers are raw HTTP streams (harness.HttpStream), and Resumer
reconnects as EventSource does, with the last id it saw as Last-Event-ID, possibly to
another web server when its own is gone. sign() computes a signed subscription's sig as the
responder checks it, independently of its C code.

Limits: Python 3.11 standard library (python3-redis only through /usr/bin/python3, in a
child process); one request per connection; Resumers share one epoll set, so thousands fit.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import selectors
import subprocess
import time
import urllib.parse

from harness import (BINARY, SRCDIR, HttpStream, can_connect, free_port, pump, status,  # noqa: F401
                     wait_for)
from nginx import get_from

PY_SYSTEM = "/usr/bin/python3"   # Debian's python3-redis lives there


def publish_answer(port, channel, body, key=None, event=None, source=None, headers=None,
                   timeout=10, via=None):
    """POST .../publish?channel=CHANNEL[&event=TYPE] (URL-encoded) through a web server on
    127.0.0.1:port: body (str as UTF-8) as text/plain, Authorization: Bearer key when key
    is given, from address source when given; headers are added last (they may replace
    those). via(make), when given, makes the connection (make() in a network namespace).
    Returns (status, headers dict with lower-case names, body bytes, json or None)."""
    q = "channel=" + urllib.parse.quote(channel, safe=":")
    if event is not None:
        q += "&event=" + urllib.parse.quote(event, safe="")
    if isinstance(body, str):
        body = body.encode("utf-8")
    h = {"Content-Length": str(len(body)), "Content-Type": "text/plain; charset=utf-8"}
    if key:
        h["Authorization"] = "Bearer " + key
    h.update(headers or {})
    st, hd, b = get_from(port, "/publish?" + q, source=source, method="POST", headers=h,
                         body=body, timeout=timeout, via=via)
    j = None
    if st == 200:
        try:
            j = json.loads(b)
        except ValueError:
            pass
    return st, hd, b, j


def publish(port, channel, body, key, event=None, timeout=10, via=None):
    """publish_answer with a key: (status, headers dict with lower-case names, json or None)."""
    st, hd, _, j = publish_answer(port, channel, body, key, event=event, timeout=timeout, via=via)
    return st, hd, j


def subscribe(port, chans, last=None, timeout=10, via=None):
    """GET .../events?channel=... (Last-Event-ID: last); the stream once its 200 is in, else
    RuntimeError. via(make), when given, makes the stream (make() in a network namespace)."""
    q = "/events?" + "&".join("channel=" + c for c in chans)

    def make():
        return HttpStream(port, q, headers={"Last-Event-ID": last} if last else None)
    s = via(make) if via else make()
    if not s.read_head(timeout) or s.status != 200:
        s.close()
        raise RuntimeError("subscribe %s: %r" % (q, s.status))
    return s


def data_events(s, resets=False):
    """The messages a stream received: (id, event type, data) of its events with data;
    `event: reset` left out unless resets."""
    return [(e["id"], e["event"] or "message", e["data"]) for e in s.events
            if e["data"] is not None and (resets or (e["event"] or "message") != "reset")]


def wait_events(streams, n, timeout=15):
    """Reads the streams until each has n messages (resets not counted), or timeout."""
    return pump(streams, lambda: all(len(data_events(s)) >= n for s in streams), timeout)


def idkey(s):
    """An id MS-SEQ as a comparable tuple (ms, seq), or None when it is not one."""
    m = re.fullmatch(r"(\d+)-(\d+)", s or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def increasing(ids):
    """Whether every id is MS-SEQ and each is after the one before."""
    ks = [idkey(i) for i in ids]
    return all(ks) and all(a < b for a, b in zip(ks, ks[1:]))


def sign(key, expires, names):
    """The sig of a signed subscription to names until expires (Unix time), as the responder
    checks it: base64url, unpadded, of HMAC-SHA256(key, "EXPIRES\\nA\\nB..."), the names
    sorted by their bytes."""
    msg = "\n".join([str(expires)] + sorted(names, key=lambda n: n.encode()))
    d = hmac.new(key.encode(), msg.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(d).rstrip(b"=").decode()


# The header block of every event stream, as a web server passes it on: (name, value, what
# a check names).
STREAM_HEADERS = (("Content-Type", "text/event-stream; charset=utf-8", "Content-Type"),
                  ("Cache-Control", "no-cache", "Cache-Control: no-cache"),
                  ("X-Accel-Buffering", "no", "X-Accel-Buffering: no"))


def check_stream_head(t, s, prefix, accel=True):
    """One check each that the HttpStream s came with the stream's Content-Type, its
    Cache-Control and, unless accel is False (nginx consumes it), X-Accel-Buffering: no;
    named "PREFIX: Content-Type", "PREFIX: Cache-Control: no-cache", ..."""
    for name, value, what in STREAM_HEADERS:
        if accel or name != "X-Accel-Buffering":
            t.eq(s.header(name), value, "%s: %s" % (prefix, what))


def py_burst(rsock, pairs, history=1000, transaction=True):
    """python3-redis: FCALLs, (channel, body) each, sent at once: one MULTI/EXEC (a blocking
    read wakes to all of them), or with transaction False one after another (it wakes to
    the first); returns the ids."""
    prog = ("import json, sys, redis\n"
            "r = redis.Redis(unix_socket_path=sys.argv[1])\n"
            "p = r.pipeline(transaction=%s)\n" % transaction +
            "for ch, b in json.load(sys.stdin):\n"
            "    p.fcall('fcgi_sse_publish', 2, 'fcgi-sse:last', 'fcgi-sse:chan:' + ch, %d, '', b)\n"
            "print(json.dumps([x.decode() for x in p.execute()]))\n" % history)
    r = subprocess.run([PY_SYSTEM, "-c", prog, rsock], input=json.dumps(pairs).encode(),
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("python3-redis: %s" % r.stderr.decode()[-500:])
    return json.loads(r.stdout)


def start_with_lighttpd(wd, name, args, env=None, pre=()):
    """fcgi-sse -l unix:NAME.sock ARGS (run by the command pre when given, e.g. ip netns
    exec), and a lighttpd with the shipped demo.conf in front; returns (proc, socket, port)."""
    sock = wd.file(name + ".sock")
    p = wd.start(list(pre) + [BINARY, "-l", "unix:" + sock] + list(args), name, env=env)
    if not wait_for(lambda: can_connect(sock) or not p.alive(), 5) or not p.alive():
        raise RuntimeError("fcgi-sse did not start:\n" + p.log())
    state = wd.file(name + "-lighttpd")
    os.makedirs(state, exist_ok=True)
    port = free_port()
    lenv = dict(os.environ, FCGI_SSE_PORT=str(port), FCGI_SSE_HTML=os.path.join(SRCDIR, "html"),
                FCGI_SSE_SOCKET=sock, FCGI_SSE_STATE=state)
    lp = wd.start(["lighttpd", "-D", "-f", os.path.join(SRCDIR, "deploy", "lighttpd", "demo.conf")],
                  name + "-lighttpd", env=lenv)
    if not wait_for(lambda: can_connect(("127.0.0.1", port)) or not lp.alive(), 10):
        raise RuntimeError("lighttpd did not start:\n" + lp.log())
    return p, sock, port


def redis_state(sock):
    """/status's "redis" object of the responder on unix socket sock ({} if none yet)."""
    try:
        return status(sock).get("redis", {})
    except Exception:   # noqa: BLE001 -- not answering yet
        return {}


# Every Resumer's socket is in this one epoll set (select() stops at descriptor 1024,
# and a balancing test holds 3,000 streams).
SEL = selectors.DefaultSelector()


class Resumer:
    """A subscriber that reconnects as EventSource does: when its stream ends (or is not a
    200), a new request after a short wait, with the last id seen as Last-Event-ID, to the
    next of ports that answers. Its events are those of every 200 stream, in arrival order;
    opens counts the streams it opened (a connection refused is no open)."""

    def __init__(self, ports, chans, last):
        self.ports = list(ports)
        self.q = "/events?" + "&".join("channel=" + c for c in chans)
        self.last = last
        self.events, self.opens, self.s, self.reopen_at = [], 0, None, 0.0
        self.tries = 0      # connections tried: which port is next
        self.open()

    def open(self):
        port = self.ports[self.tries % len(self.ports)]
        self.tries += 1
        self.s = HttpStream(port, self.q, headers={"Last-Event-ID": self.last} if self.last else None)
        SEL.register(self.s.sock, selectors.EVENT_READ, self)
        self.opens += 1     # streams opened

    def drop(self):
        if self.s is not None:
            SEL.unregister(self.s.sock)
            self.s.close()
            self.s = None

    def poll(self, now):
        if self.s is None:
            if now >= self.reopen_at:
                try:
                    self.open()
                except OSError:
                    self.reopen_at = now + 0.3   # then the next port
            return
        if self.s.status == 200:
            for e in self.s.events:
                if e["data"] is not None and e["event"] != "reset":
                    self.events.append((e["id"], e["event"] or "message", e["data"]))
                    self.last = e["id"]
        # taken: what the stream keeps would be 3,000 copies of every event
        self.s.events.clear()
        self.s.body_pieces.clear()
        if self.s.eof:
            self.drop()
            self.reopen_at = now + 0.3

    def close(self):
        self.drop()


def run_resumers(rs, until, timeout):
    """Reads the Resumers' streams as data arrives (reopening those that ended) until
    until() -- asked at most every 0.1 s, it may cost -- or timeout; returns until()."""
    deadline = time.monotonic() + timeout
    next_check = 0.0
    while True:
        now = time.monotonic()
        if now >= next_check:
            if until():
                return True
            next_check = now + 0.1
        if now >= deadline:
            return until()
        for key, _ in SEL.select(0.05):
            r = key.data
            r.s.read_once()
            r.poll(time.monotonic())
        now = time.monotonic()
        for r in rs:
            if r.s is None:
                r.poll(now)
