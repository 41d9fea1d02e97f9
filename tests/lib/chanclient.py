"""chanclient.py -- a client of fcgi-sse's channels for the tests: publish, subscribe, resume.

Publishing goes through a web server's /publish (http.client) or straight to Redis with
Debian's python3-redis (the same FCALL every publisher uses); subscribers are raw HTTP
streams (harness.HttpStream), and Resumer reconnects as EventSource does, with the last id
it saw as Last-Event-ID, possibly to another web server when its own is gone.

Limits: Python 3.11 standard library (python3-redis only through /usr/bin/python3, in a
child process); one request per connection; Resumers share one epoll set, so thousands fit.
"""

import http.client
import json
import os
import selectors
import subprocess
import time

from harness import (BINARY, SRCDIR, HttpStream, can_connect, free_port, status,  # noqa: F401
                     wait_for)

PY_SYSTEM = "/usr/bin/python3"   # Debian's python3-redis lives there


def publish(port, channel, body, key, event=None, timeout=10):
    """POST .../publish through a web server on 127.0.0.1:port with Authorization: Bearer
    key; (status, headers dict with lower-case names, json or None)."""
    q = "/publish?channel=" + channel + ("&event=" + event if event else "")
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("POST", q, body=body.encode(), headers={"Authorization": "Bearer " + key})
        r = c.getresponse()
        b = r.read()
        h = {k.lower(): v for k, v in r.getheaders()}
    finally:
        c.close()
    j = None
    if r.status == 200:
        try:
            j = json.loads(b)
        except ValueError:
            pass
    return r.status, h, j


def subscribe(port, chans, last=None, timeout=10):
    """GET .../events?channel=... (Last-Event-ID: last); the stream once its 200 is in."""
    q = "/events?" + "&".join("channel=" + c for c in chans)
    s = HttpStream(port, q, headers={"Last-Event-ID": last} if last else None)
    if not s.read_head(timeout) or s.status != 200:
        s.close()
        raise RuntimeError("subscribe %s: %r" % (q, s.status))
    return s


def data_events(s):
    """The messages a stream received: (id, event type, data), resets left out."""
    return [(e["id"], e["event"] or "message", e["data"]) for e in s.events
            if e["data"] is not None and (e["event"] or "message") != "reset"]


def idkey(s):
    ms, seq = s.split("-")
    return int(ms), int(seq)


def increasing(ids):
    return all(idkey(a) < idkey(b) for a, b in zip(ids, ids[1:]))


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


def start_with_lighttpd(wd, name, args, env=None):
    """fcgi-sse -l unix:NAME.sock ARGS, and a lighttpd with the shipped demo.conf in front;
    returns (proc, socket, port)."""
    sock = wd.file(name + ".sock")
    p = wd.start([BINARY, "-l", "unix:" + sock] + list(args), name, env=env)
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


# Every Resumer's socket is in this one epoll set (select() stops at descriptor 1024).
SEL = selectors.DefaultSelector()


class Resumer:
    """A subscriber that reconnects as EventSource does: when its stream ends (or is not a
    200), a new request after a short wait, with the last id seen as Last-Event-ID, to the
    next of ports that answers. Its events are those of every 200 stream, in arrival order."""

    def __init__(self, ports, chans, last):
        self.ports = list(ports)
        self.q = "/events?" + "&".join("channel=" + c for c in chans)
        self.last = last
        self.events, self.opens, self.s, self.reopen_at = [], 0, None, 0.0
        self.open()

    def open(self):
        port = self.ports[self.opens % len(self.ports)]
        self.s = HttpStream(port, self.q, headers={"Last-Event-ID": self.last} if self.last else None)
        SEL.register(self.s.sock, selectors.EVENT_READ, self)
        self.opens += 1

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
                    self.opens += 1   # the next port
                    self.reopen_at = now + 0.3
            return
        if self.s.status == 200:
            for e in self.s.events:
                if e["data"] is not None and e["event"] != "reset":
                    self.events.append((e["id"], e["event"] or "message", e["data"]))
                    self.last = e["id"]
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
