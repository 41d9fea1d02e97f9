"""test_intake.py -- the intake under attack: regression tests for the attacks of the intake
issue (one record aborts the process, the params bound bypassed, a permanent leak per
record, a few peers stopping all intake, a burst of 4,000 clients, and smaller ones).

Every attack here worked against the intake of 2026-11 (libfcgi reading the request on
an accept thread after a MSG_PEEK pre-check); each check states what a correct intake
does instead. Meanwhile (attacks 1-4) five streams at a 100 ms interval are read by a
separate process, with three of a control responder nobody attacks (the same options):
no id may be missing, and each watched event must arrive before the next one is due,
beyond what the control streams were late at the same moment (harness.beyond_control:
a loaded machine delays both, an intake that blocks delays only the attacked one); and
the responder's RSS must come back within 10% of where it was once the attackers are
gone. The probes of attack 4 are judged the same way: each new stream's header block
before its first event is due, beyond a probe of the control made at the same moment.

Helpers run in their own processes so that the test process's own work (and the GIL)
cannot blur the timings: this file run with --watch (the watched streams), --attack
(peers that hold intake connections, reconnecting whenever closed) or --burst (4,000
HTTP clients at once, epoll).

Environment:
  FCGI_SSE_INTAKE_HOLD_S  duration of the hold of attack 4 (default 60, as the issue asks)
"""

import collections
import errno
import json
import os
import re
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import time

from harness import (BINARY, FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_PARAMS,  # noqa: E402
                     FCGI_STDIN, FCGI_STDOUT, STOP_DEADLINE, SseParser, Tap, Workdir,
                     beyond_control, can_connect, fcgi_nv, fcgi_read_records, fcgi_record,
                     fcgi_request_bytes, fcgi_split_records, free_port, run_binary,
                     start_lighttpd, start_spawned_responder, wait_for)

FCGI_GET_VALUES, FCGI_UNKNOWN_TYPE = 9, 11
INTERVAL_MS = 100
INTERVAL = INTERVAL_MS / 1000.0
WATCHED, CONTROLS = 5, 3                        # streams watched on the attacked responder, on the control
SANITIZED = os.environ.get("FCGI_SSE_SANITIZED") == "1"
HOLD_S = float(os.environ.get("FCGI_SSE_INTAKE_HOLD_S", "60"))
# A deadline, not a measure: a connection the responder closes ends the wait at once; one
# it leaves open is told apart from a closed one only at the deadline.
CLOSE_WAIT = 5.0
# ASan's quarantine keeps freed memory resident: RSS says nothing there (LeakSanitizer
# reports leaks at exit instead)
SAN_RSS = "RSS is no measure under ASan (its quarantine); LeakSanitizer checks leaks"
# glibc's tcache pins freed pages; without it RSS is a stable measure (docs/deploy.md, "Memory")
ENV = dict(os.environ, GLIBC_TUNABLES="glibc.malloc.tcache_count=0")
STREAM_PARAMS = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/stream", "QUERY_STRING": "",
                 "SERVER_PROTOCOL": "HTTP/1.1"}


def begin(req_id=1, keep=0):
    return fcgi_record(FCGI_BEGIN_REQUEST, struct.pack(">HB5x", 1, keep), req_id)


def params_bytes(params, req_id=1):
    """PARAMS records for params, then the empty PARAMS that ends them."""
    body = b"".join(fcgi_nv(k.encode(), v.encode()) for k, v in params.items())
    out = b"".join(fcgi_record(FCGI_PARAMS, body[i:i + 65535], req_id)
                   for i in range(0, len(body), 65535))
    return out + fcgi_record(FCGI_PARAMS, b"", req_id)


def unix_connect(path, timeout=5):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ================================================================ helper processes

def watch_main(specs):
    """--watch SOCK N [SOCK N ...]: n raw streams on each socket, read until a line (or
    EOF) on stdin; prints JSON (the streams in the order of the arguments)."""
    socks, bufs, parsers = [], [], []
    streams = []
    t_start = time.monotonic()
    for sock, n in specs:
        for _ in range(n):
            s = unix_connect(sock)
            s.sendall(fcgi_request_bytes(STREAM_PARAMS))
            s.setblocking(False)
            socks.append(s)
            bufs.append(b"")
            parsers.append(SseParser())
            streams.append({"events": [], "eof": None})
    n = len(socks)
    live = set(range(n))
    ready = False
    deadline = time.monotonic() + 10
    while True:
        if not ready and (all(st["events"] for st in streams) or time.monotonic() > deadline):
            ready = True
            print("ready", flush=True)   # every stream has had its first event
        r, _, _ = select.select(([sys.stdin] if ready else []) + [socks[i] for i in live],
                                [], [], 0.1 if not ready else 1.0)
        now = time.monotonic()
        for s in r:
            if s is sys.stdin:
                continue
            i = socks.index(s)
            try:
                b = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                b = b""
            if not b:
                streams[i]["eof"] = now
                live.discard(i)
                continue
            recs, bufs[i] = fcgi_split_records(bufs[i] + b)
            for rtype, _, content in recs:
                if rtype == FCGI_STDOUT:
                    for e in parsers[i].feed(content, now):
                        if e["data"] is not None and e["id"] is not None:
                            streams[i]["events"].append((int(e["id"]), now))
                elif rtype == FCGI_END_REQUEST:
                    streams[i]["eof"] = now
                    live.discard(i)
        if sys.stdin in r:
            break      # (after the sockets: an EOF at the same moment is seen)
    t_end = time.monotonic()
    for s in socks:
        s.close()
    print(json.dumps({"t_start": t_start, "t_end": t_end, "streams": streams}), flush=True)


class Peer:
    """One hostile peer that holds an intake connection, reconnecting whenever the
    responder closes it. Kinds:
      half     BEGIN and part of the params, then one more params byte a second
      trickle  a whole stream request, then a STDIN record of 1,000 bytes sent one byte
               every 2 s (each read returns well within any per-read timeout)
      linger   a whole request for a 404, then one byte every 1.5 s (libfcgi's lingering
               close reads until 2 s pass without data)
      noread   a whole stream request, then FCGI_GET_VALUES records (one name each) as
               fast as the responder takes them, never reading an answer (SO_RCVBUF tiny)
    """

    PERIOD = {"half": 1.0, "trickle": 2.0, "linger": 1.5, "noread": 0.1}

    def __init__(self, kind, path):
        self.kind, self.path = kind, path
        self.s = None
        self.next_connect = 0.0
        self.holds = []
        self.conns = 0
        self.connect_errors = 0

    def connect(self, now):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.kind == "noread":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        s.settimeout(1)
        try:
            s.connect(self.path)
        except OSError:
            s.close()
            self.connect_errors += 1
            self.next_connect = now + 0.05
            return
        s.setblocking(False)
        self.s, self.t_conn, self.conns = s, now, self.conns + 1
        self.eof_seen = False
        self.due = now + self.PERIOD[self.kind]
        if self.kind == "half":
            content = fcgi_nv(b"HTTP_X", b"a" * 192)          # 200 bytes
            self.out = begin() + struct.pack(">BBHHBB", 1, FCGI_PARAMS, 1, 200, 0, 0) + content[:20]
            self.drip = content[20:]
        elif self.kind == "trickle":
            self.out = (begin() + params_bytes(STREAM_PARAMS) +
                        struct.pack(">BBHHBB", 1, FCGI_STDIN, 1, 1000, 0, 0) + b"x")
            self.drip = b"x" * 999
        elif self.kind == "linger":
            p = dict(STREAM_PARAMS, SCRIPT_NAME="/nope")
            self.out = fcgi_request_bytes(p)
            self.drip = b"z" * 10000
        else:
            gv = fcgi_record(FCGI_GET_VALUES, fcgi_nv(b"FCGI_MAX_CONNS", b""), req_id=0)
            self.out = begin() + params_bytes(STREAM_PARAMS) + gv * 40000   # ~1 MB
            self.drip = b""
        self.flush(now)

    def mask(self):
        if self.kind == "noread":
            return select.POLLRDHUP
        return 0 if self.eof_seen else select.POLLIN

    def closed(self, now):
        self.holds.append(now - self.t_conn)
        self.s.close()
        self.s = None
        self.next_connect = now + 0.02

    def flush(self, now):
        """Sends what it can of self.out; False once the responder has closed."""
        while self.out:
            try:
                n = self.s.send(self.out[:65536])
            except BlockingIOError:
                return True
            except OSError:
                self.closed(now)
                return False
            self.out = self.out[n:]
        return True

    def tick(self, now):
        if not self.flush(now):
            return
        if now >= self.due:
            self.due = now + self.PERIOD[self.kind]
            if self.drip:
                self.out += self.drip[:1]
                self.drip = self.drip[1:]
                self.flush(now)

    def event(self, ev, now):
        if ev & (select.POLLHUP | select.POLLERR):
            self.closed(now)
            return
        if self.kind == "noread":
            if ev & select.POLLRDHUP:
                self.closed(now)
            return
        try:
            b = self.s.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            b = b""
        if b:
            return
        if self.kind == "linger":
            self.eof_seen = True     # a half close: keep sending until the full close
        else:
            self.closed(now)


def attack_main(sock, kinds, seconds):
    """--attack SOCK KIND,KIND,.. SECONDS: the peers, for seconds; prints JSON stats."""
    peers = [Peer(k, sock) for k in kinds.split(",")]
    t_end = time.monotonic() + seconds
    while True:
        now = time.monotonic()
        if now >= t_end:
            break
        poller = select.poll()
        byfd = {}
        for p in peers:
            if p.s is None and now >= p.next_connect:
                p.connect(now)
            if p.s is not None:
                p.tick(now)
            if p.s is not None:
                poller.register(p.s.fileno(), p.mask() | (select.POLLOUT if p.out else 0))
                byfd[p.s.fileno()] = p
        for fd, ev in poller.poll(50):
            p = byfd[fd]
            if p.s is None or p.s.fileno() != fd:
                continue
            if ev & select.POLLOUT and not ev & (select.POLLHUP | select.POLLERR):
                p.flush(time.monotonic())
                if p.s is None:
                    continue
            if ev & ~select.POLLOUT:
                p.event(ev, time.monotonic())
    now = time.monotonic()
    out = {}
    for p in peers:
        held = list(p.holds) + ([now - p.t_conn] if p.s is not None else [])
        o = out.setdefault(p.kind, {"conns": 0, "longest_hold_s": 0.0, "connect_errors": 0})
        o["conns"] += p.conns
        o["connect_errors"] += p.connect_errors
        o["longest_hold_s"] = round(max([o["longest_hold_s"]] + held), 2)
        if p.s is not None:
            p.s.close()
    print(json.dumps(out), flush=True)


def burst_main(port, n, timeout, path="/stream"):
    """--burst PORT N TIMEOUT [PATH]: n HTTP clients connect at once; each waits for its
    first event (PATH /stream), or for its header block (any other PATH: the control, a
    file lighttpd serves itself). Prints JSON: statuses, and per client the seconds from
    its connect to its header block ("head") and to its first event ("lat"), from its
    header block to its first event ("first"), and (its connect, its header block) in
    seconds since the burst began ("served")."""
    raise_nofile()
    ep = select.epoll()
    stream = path == "/stream"
    req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/event-stream\r\n"
           "Connection: close\r\n\r\n" % (path, port)).encode()
    conns = {}
    t0 = time.monotonic()
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        t = time.monotonic()
        err = s.connect_ex(("127.0.0.1", port))
        if err not in (0, errno.EINPROGRESS):
            conns[s.fileno()] = {"s": s, "t": t, "state": "failed", "err": err}
            continue
        conns[s.fileno()] = {"s": s, "t": t, "state": "connect", "buf": b"", "status": None}
        ep.register(s.fileno(), select.EPOLLOUT)
    t_connected = time.monotonic() - t0
    lat, head, first, served = [], [], [], []
    statuses, failures = collections.Counter(), collections.Counter()
    pending = sum(1 for c in conns.values() if c["state"] == "connect")
    deadline = t0 + timeout

    def finish(c, why=None):
        nonlocal pending
        if why:
            failures[why] += 1
        ep.unregister(c["s"].fileno())
        c["s"].close()
        c["state"] = "done"
        pending -= 1

    while pending and time.monotonic() < deadline:
        for fd, ev in ep.poll(0.1):
            c = conns[fd]
            now = time.monotonic()
            if c["state"] == "connect":
                if c["s"].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    finish(c, "connect")
                    continue
                try:
                    c["s"].send(req)
                except OSError:
                    finish(c, "send")
                    continue
                c["state"] = "read"
                ep.modify(fd, select.EPOLLIN)
                continue
            try:
                b = c["s"].recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                b = b""
            if not b:
                finish(c, "closed before the first event (status %s)" % c["status"])
                continue
            c["buf"] += b
            if c["status"] is None:
                i = c["buf"].find(b"\r\n\r\n")
                if i < 0:
                    continue
                c["status"] = int(c["buf"].split(b" ", 2)[1])
                statuses[c["status"]] += 1
                c["buf"] = c["buf"][i + 4:]
                head.append(now - c["t"])
                served.append((c["t"] - t0, now - t0))
                c["th"] = now
                if c["status"] != 200:
                    finish(c, "status %d" % c["status"])
                    continue
                if not stream:
                    finish(c)
                    continue
            if b"\ndata: " in c["buf"] or c["buf"].startswith(b"data: "):
                lat.append(now - c["t"])
                first.append(now - c["th"])
                finish(c)
    for c in conns.values():
        if c["state"] == "failed":
            failures["connect errno %d" % c["err"]] += 1
        elif c["state"] != "done":
            failures["no first event in %g s" % timeout] += 1
            c["s"].close()
    print(json.dumps({"n": n, "events": len(lat), "lat": lat, "head": head, "first": first,
                      "served": served,
                      "connect_loop_s": t_connected,
                      "statuses": {str(k): v for k, v in statuses.items()},
                      "failures": dict(failures)}), flush=True)


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1].startswith("--"):
    if sys.argv[1] == "--watch":
        watch_main([(sys.argv[i], int(sys.argv[i + 1])) for i in range(2, len(sys.argv), 2)])
    elif sys.argv[1] == "--attack":
        attack_main(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    elif sys.argv[1] == "--burst":
        burst_main(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), *sys.argv[5:6])
    sys.exit(0)


# ================================================================ the test

t = Tap()
wd = Workdir("intake")
SELF = os.path.abspath(__file__)


def overtaken(served, interval):
    """[(connect, header block)] of the clients (seconds) whose header block came after the
    header block of a client that connected more than interval after them."""
    import bisect
    order = sorted(served)
    conn = [c for c, _ in order]
    later_min = [float("inf")] * (len(order) + 1)   # earliest header block from k on
    for k in range(len(order) - 1, -1, -1):
        later_min[k] = min(later_min[k + 1], order[k][1])
    return [(c, h) for c, h in order
            if later_min[bisect.bisect_right(conn, c + interval)] < h]


def pct(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))] if v else float("inf")


def start_target(name):
    """A responder as every session's: -i 100, no heartbeat, tcache off."""
    sock = wd.file(name + ".sock")
    proc = wd.start([BINARY, "-l", "unix:" + sock, "-i", str(INTERVAL_MS), "-k", "0"], name,
                    env=ENV)
    if not wait_for(lambda: can_connect(sock) or not proc.alive(), 10) or not proc.alive():
        raise RuntimeError("fcgi-sse did not start:\n" + proc.log())
    return proc, sock


class Session:
    """A responder (-i 100, tcache off) with five streams watched by a separate process,
    which reads three streams of the control responder (the same, never attacked) at the
    same time. If an attack kills the responder a new session starts, so that each later
    attack is judged on its own; the watched-stream checks then fail for the dead
    session."""

    count = 0
    control = None     # (proc, socket) of the control responder, one for all sessions

    def __init__(self):
        Session.count += 1
        self.name = "r%d" % Session.count
        if Session.control is None:
            Session.control = start_target("control")
        self.proc, self.sock = start_target(self.name)
        self.watcher = subprocess.Popen([sys.executable, SELF, "--watch", self.sock,
                                         str(WATCHED), Session.control[1], str(CONTROLS)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.watcher.stdout.readline().strip() != "ready":
            raise RuntimeError("the watcher did not start")
        # every watched stream has had its first event: the responder's idle size with them
        time.sleep(0.3)
        self.rss0 = self.rss()
        self.died = None

    def alive(self):
        return self.proc.alive()

    def rss(self):
        return rss_kb(self.proc.pid)

    def stop_watcher(self):
        try:
            out, _ = self.watcher.communicate("stop\n", timeout=10)
            return json.loads(out.strip().splitlines()[-1])
        except (subprocess.TimeoutExpired, ValueError, IndexError) as e:
            self.watcher.kill()
            return {"error": repr(e), "streams": [], "t_start": 0, "t_end": 0}


sessions = []
watch_results = []


def session():
    """The current session; a new one when the responder died."""
    if not sessions or not sessions[-1].alive():
        if sessions:
            s = sessions[-1]
            s.died = s.proc.log()[-400:]
            watch_results.append((s, s.stop_watcher()))
        sessions.append(Session())
    return sessions[-1]


def judge_watch(results):
    """(missing-id problems, lateness problems, largest lateness, largest control
    lateness, event count) over all sessions: the watched streams' events against the
    control's (harness.beyond_control)."""
    missing, late, worst, worst_ctl, samples = [], [], 0.0, 0.0, 0
    for s, res in results:
        if "error" in res:
            missing.append("%s: watcher failed: %s" % (s.name, res["error"]))
            continue
        if s.died is not None:
            missing.append("%s: the responder died: %s" % (
                s.name, (s.died.strip().splitlines() or ["?"])[-1]))
        span = res["t_end"] - res["t_start"]
        for i, st in enumerate(res["streams"][WATCHED:]):
            if not st["events"] or st["eof"] is not None:
                missing.append("%s: control stream %d got %d events, ended: %s"
                               % (s.name, i, len(st["events"]), st["eof"] is not None))
        for i, st in enumerate(res["streams"][:WATCHED]):
            ids = [e[0] for e in st["events"]]
            ts = [e[1] for e in st["events"]]
            if st["eof"] is not None:
                missing.append("%s stream %d ended %.1f s into the watch (responder died?)"
                               % (s.name, i, st["eof"] - res["t_start"]))
            if ids != list(range(len(ids))):
                missing.append("%s stream %d: ids not 0..n-1 (first bad at %s)" % (
                    s.name, i, next((k for k, x in enumerate(ids) if x != k), None)))
            if len(ids) < span / (INTERVAL_MS / 1000.0) - 5:
                missing.append("%s stream %d: %d events in %.1f s" % (s.name, i, len(ids), span))
            samples += len(ids)
        bad, w, wc = beyond_control([st["events"] for st in res["streams"][:WATCHED]],
                                    [st["events"] for st in res["streams"][WATCHED:]], INTERVAL)
        worst, worst_ctl = max(worst, w), max(worst_ctl, wc)
        late += ["%s stream %d: id %d %.0f ms late, the control %.0f ms at that moment"
                 % (s.name, i, k, a * 1000, c * 1000) for i, k, a, c in bad]
    return missing, late, worst, worst_ctl, samples


def outcome(s, timeout):
    """('closed'|'open', records) after reading up to timeout."""
    recs, eof = fcgi_read_records(s, timeout)
    if recs and recs[-1][0] == FCGI_END_REQUEST and not eof:
        more, eof = fcgi_read_records(s, timeout)
        recs += more
    return ("closed" if eof else "open"), recs


def blast(s, data, timeout, pid=None):
    """Sends data on a non-blocking socket while reading (and keeping) whatever comes
    back. Returns (bytes sent, closed by the peer, records received, peak RSS of pid)."""
    s.setblocking(False)
    sent, buf, recs, closed, peak = 0, b"", [], False, 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid:
            peak = max(peak, rss_kb(pid))
        r, w, _ = select.select([s], [s] if sent < len(data) else [], [], 0.05)
        if r:
            try:
                b = s.recv(65536)
            except BlockingIOError:
                b = None
            except OSError:
                b = b""
            if b == b"":
                closed = True
                break
            if b:
                got, buf = fcgi_split_records(buf + b)
                recs += [(rtype, content) for rtype, _, content in got]
        if w:
            try:
                sent += s.send(data[sent:sent + 65536])
            except BlockingIOError:
                pass
            except OSError:
                closed = True
                break
        if sent >= len(data) and not r:
            break
    return sent, closed, recs, peak


def probe(sock, timeout=6.0):
    """A new stream: seconds from connect to its header block, or None."""
    t0 = time.monotonic()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect(sock)
        s.sendall(fcgi_request_bytes(dict(STREAM_PARAMS, QUERY_STRING="limit=1")))
        buf, out = b"", b""
        while b"\r\n\r\n" not in out:
            left = t0 + timeout - time.monotonic()
            if left <= 0:
                return None
            s.settimeout(left)
            b = s.recv(65536)
            if not b:
                return None
            recs, buf = fcgi_split_records(buf + b)
            out += b"".join(c for rt, _, c in recs if rt == FCGI_STDOUT)
        return time.monotonic() - t0
    except OSError:
        return None
    finally:
        s.close()


def probe_pair(sock, ctl_sock, timeout=6.0):
    """A new stream on sock and one on the control's socket, opened at the same moment and
    read by the same loop: (seconds from connect to each one's header block, or None)."""
    t0 = time.monotonic()
    conns, out = [], [None, None]
    try:
        for path in (sock, ctl_sock):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conns.append([s, b"", b""])
            s.settimeout(timeout)
            s.connect(path)
            s.sendall(fcgi_request_bytes(dict(STREAM_PARAMS, QUERY_STRING="limit=1")))
            s.setblocking(False)
        while any(x is None for x in out):
            left = t0 + timeout - time.monotonic()
            if left <= 0:
                break
            want = [c[0] for c, x in zip(conns, out) if x is None]
            r, _, _ = select.select(want, [], [], left)
            now = time.monotonic()
            for i, c in enumerate(conns):
                if c[0] not in r:
                    continue
                try:
                    b = c[0].recv(65536)
                except BlockingIOError:
                    continue
                if not b:
                    out[i] = out[i] if out[i] is not None else float("inf")
                    continue
                recs, c[1] = fcgi_split_records(c[1] + b)
                c[2] += b"".join(x for rt, _, x in recs if rt == FCGI_STDOUT)
                if b"\r\n\r\n" in c[2]:
                    out[i] = now - t0
    except OSError:
        pass
    finally:
        for c in conns:
            c[0].close()
    return tuple(None if x in (None, float("inf")) else x for x in out)


def fmt_ms(v):
    return "none" if v is None else "%.0f" % (v * 1000)


try:
    raise_nofile()

    # ============================================================ attack 1
    # FCGI_GET_VALUES naming FCGI_MAX_CONNS four times: libfcgi's ProcessManagementRecord
    # writes the answers into char response[64] on its stack: "stack smashing detected".
    # A correct intake refuses management records outright: closed, no record.
    S = session()
    s = unix_connect(S.sock)
    s.sendall(fcgi_record(FCGI_GET_VALUES, fcgi_nv(b"FCGI_MAX_CONNS", b"") * 4, req_id=0) +
              begin() + fcgi_record(FCGI_PARAMS, b"") + fcgi_record(FCGI_STDIN, b""))
    st, recs = outcome(s, 3)
    s.close()
    t.ok(st == "closed" and not recs,
         "attack 1: GET_VALUES naming FCGI_MAX_CONNS 4 times: the connection is closed "
         "without any record", (st, [r[0] for r in recs]))
    wait_for(lambda: not S.alive(), 0.5)
    alive = S.alive()
    t.ok(alive, "attack 1: ... and the process survives",
         None if alive else "exit status %s; log tail:\n%s" % (S.proc.p.poll(), S.proc.log()[-300:]))
    lat = probe(S.sock, 3) if alive else None
    t.ok(lat is not None, "attack 1: ... and a new stream is served after it (%s ms)"
         % fmt_ms(lat))

    # ============================================================ attack 3
    # Management records of an unknown type during STDIN (after a complete params): libfcgi
    # answers FCGI_UNKNOWN_TYPE and leaks what it allocated, every record. A correct intake
    # refuses the connection at the first one; RSS does not grow. (Run before attack 2,
    # whose freed-but-resident heap would hide a leak.)
    S = session()
    CONNS3, PER3 = 5, 10000
    rss_before = S.rss()
    answered, not_closed, taken = 0, 0, 0
    for _ in range(CONNS3):
        s = unix_connect(S.sock)
        s.sendall(begin() + params_bytes(STREAM_PARAMS) +
                  struct.pack(">BBHHBB", 1, FCGI_STDIN, 1, 2, 0, 0) + b"x")
        time.sleep(0.3)   # the request is whole: whatever looks at it has taken it by now
        data = b"y" + fcgi_record(77, b"", req_id=0) * PER3
        sent, closed, recs, _ = blast(s, data, 10)
        if not closed:
            try:
                s.setblocking(True)
                s.sendall(fcgi_record(FCGI_STDIN, b""))
            except OSError:
                closed = True
            st, more = outcome(s, CLOSE_WAIT)
            closed = closed or st == "closed"
            recs += more
        s.close()
        taken += max(0, sent - 1) // 8
        answered += sum(1 for r in recs if r[0] == FCGI_UNKNOWN_TYPE)
        not_closed += not closed
    t.ok(answered == 0 and not_closed == 0,
         "attack 3: unknown management records (type 77) during STDIN: each connection is "
         "refused at the first one (%d answered with UNKNOWN_TYPE, %d of %d connections left "
         "open)" % (answered, not_closed, CONNS3))
    time.sleep(0.3)
    grow = S.rss() - rss_before
    if SANITIZED:
        t.skip("attack 3: ... RSS does not grow", SAN_RSS)
    else:
        t.ok(grow < 512,
             "attack 3: ... RSS does not grow after %d records sent (%d taken): %+d KB"
             % (CONNS3 * PER3, taken, grow))
    t.ok(S.alive(), "attack 3: ... and the process survives")

    # ============================================================ attack 2
    # The params bound bypassed: BEGIN(1), an empty PARAMS of request 2 (the pre-check
    # took it for the end of the params), then PARAMS of request 1 that never end.
    # A correct intake closes the connection at the wrong id or past 128 KiB. 3 MB are
    # sent (libfcgi of 2026-11 stored ~1 MB of RSS per MB sent) against a 2 MB bound.
    S = session()
    s = unix_connect(S.sock)
    rss_before = S.rss()
    junk = fcgi_nv(b"HTTP_X_JUNK", b"j" * 60000)
    data = (begin(1) + fcgi_record(FCGI_PARAMS, b"", 2) + fcgi_record(FCGI_PARAMS, junk[:500], 1) +
            b"".join(fcgi_record(FCGI_PARAMS, junk, 1) for _ in range(50)))   # 3 MB
    sent, closed, recs, peak = blast(s, data, 10, S.proc.pid)
    if not closed:
        st, _ = outcome(s, CLOSE_WAIT)
        closed = st == "closed"
        peak = max(peak, S.rss())
    s.close()
    t.ok(closed and sent < len(data),
         "attack 2: params of request 1 after an empty PARAMS of request 2: the connection "
         "is closed before 3 MB is taken (%d KB taken, closed: %s)" % (sent // 1024, closed))
    if SANITIZED:
        t.skip("attack 2: ... the responder's RSS grows < 2 MB meanwhile", SAN_RSS)
    else:
        t.ok(peak - rss_before < 2048,
             "attack 2: ... the responder's RSS grows < 2 MB meanwhile (%+d KB)"
             % (peak - rss_before))
    t.ok(S.alive(), "attack 2: ... and the process survives")

    # ============================================================ attack 4
    # A few peers stop all intake: each holds a connection half-sent, trickled (a byte
    # every 2 s), in libfcgi's lingering close (a byte every 1.5 s after a 404), or
    # never reading the answers to FCGI_GET_VALUES. 4 peers (as many as the accept
    # threads of 2026-11) hold for the whole hold (60 s), 4 more join for its second
    # half. Each reconnects whenever it is closed. Meanwhile a new stream every 0.5 s
    # must get its header block before its first event is due (one interval), beyond
    # what a new stream of the control responder, opened at the same moment, needed.
    S = session()
    kinds = "half,trickle,linger,noread"
    lat = probe(S.sock)
    t.ok(lat is not None, "attack 4: before the hold a new stream is served (%s ms)" % fmt_ms(lat))
    half = HOLD_S / 2
    att = [subprocess.Popen([sys.executable, SELF, "--attack", S.sock, kinds, str(HOLD_S)],
                            stdout=subprocess.PIPE, text=True)]
    t_hold = time.monotonic()
    probes = {4: [], 8: []}
    k = 0
    while True:
        now = time.monotonic()
        if now >= t_hold + HOLD_S - 0.5:
            break
        if len(att) == 1 and now >= t_hold + half:
            att.append(subprocess.Popen([sys.executable, SELF, "--attack", S.sock, kinds,
                                         str(HOLD_S - half)], stdout=subprocess.PIPE, text=True))
        if now >= t_hold + 1.0 and not (t_hold + half <= now < t_hold + half + 1.0):
            # (1 s for the peers to connect at each step)
            probes[8 if len(att) == 2 else 4].append(probe_pair(S.sock, Session.control[1]))
        k += 1
        nxt = t_hold + 0.5 * k
        if nxt > time.monotonic():
            time.sleep(nxt - time.monotonic())
    stats = []
    for a in att:
        try:
            out, _ = a.communicate(timeout=HOLD_S + 10)
            stats.append(json.loads(out.strip().splitlines()[-1]))
        except (subprocess.TimeoutExpired, ValueError, IndexError) as e:
            a.kill()
            stats.append(repr(e))
    t.diag("attack 4 peers (connections made, longest hold): %s" % json.dumps(stats))
    for n in (4, 8):
        ps = probes[n]
        bad = ["%s (control %s)" % (fmt_ms(a), fmt_ms(c)) for a, c in ps
               if a is None or c is None or a - c >= INTERVAL]
        worst = max((a if a is not None else float("inf")) for a, _ in ps) if ps else None
        t.ok(len(ps) >= 5 and not bad,
             "attack 4: %d peers holding intake connections (the first 4 for %.0f s, "
             "measured here over %.0f s): every new stream's header block before its first "
             "event is due, beyond the control's (%d probes, worst %s ms)"
             % (n, HOLD_S, half, len(ps),
                "none" if worst is None or worst == float("inf") else "%.0f" % (worst * 1000)),
             "late or never (ms): %s" % bad[:20])
    t.ok(S.alive(), "attack 4: ... and the process survives")

    # ============================================================ throughout attacks 1-4
    S = sessions[-1]
    if SANITIZED:
        t.skip("attacks 1-4: once the attackers are gone, RSS is back within 10%", SAN_RSS)
    elif S.alive():
        back = wait_for(lambda: S.rss() <= S.rss0 * 1.10, 5, 0.1)
        t.ok(back, "attacks 1-4: once the attackers are gone, RSS is back within 10%% "
             "(%d KB before, %d KB now)" % (S.rss0, S.rss()))
    else:
        t.ok(False, "attacks 1-4: once the attackers are gone, RSS is back within 10%",
             "the responder died")
    for s_ in sessions[:-1]:
        t.diag("session %s died during the attacks: %s" % (s_.name, s_.died))
    watch_results.append((S, S.stop_watcher()))
    missing, late, worst, worst_ctl, samples = judge_watch(watch_results)
    t.ok(len(sessions) == 1 and not missing,
         "attacks 1-4: meanwhile the 5 watched streams lost no event and none ended "
         "(%d responder(s) used)" % len(sessions), "\n".join(missing[:20]))
    t.ok(samples > 0 and not late,
         "attacks 1-4: ... and each event arrived before the next one was due, beyond the "
         "control streams' lateness at that moment (%d events; latest %.0f ms, the control's "
         "%.0f ms)" % (samples, worst * 1000, worst_ctl * 1000), "\n".join(late[:20]))
    if S.alive():
        t.eq(S.proc.stop(), 0, "attacks 1-4: SIGTERM afterwards: exit 0")

    # ============================================================ 6d: SIGTERM while stuck
    # An intake connection stuck in a read (trickle) and one stuck writing answers nobody
    # reads (GET_VALUES): SIGTERM still ends the process cleanly, exit 0 before the unit's
    # TimeoutStopSec (what the service manager allows before it kills it).
    sock = wd.file("term.sock")
    p = wd.start([BINARY, "-l", "unix:" + sock, "-i", str(INTERVAL_MS)], "term", env=ENV)
    wait_for(lambda: can_connect(sock) or not p.alive(), 5)
    att = subprocess.Popen([sys.executable, SELF, "--attack", sock,
                            "trickle,noread,half,linger,trickle,noread", "10"],
                           stdout=subprocess.DEVNULL)
    time.sleep(2.0)    # the linger peer is past its answer, the noread peer's writes stuck
    t0 = time.monotonic()
    p.signal(signal.SIGTERM)
    code = p.wait(STOP_DEADLINE)
    took = time.monotonic() - t0
    att.kill()
    att.wait()
    if code is None:
        p.stop(1)
    log = p.log()
    sanitizer = re.search(r"AddressSanitizer|LeakSanitizer|runtime error|stack smashing", log)
    t.ok(code == 0 and not sanitizer,
         "6d: SIGTERM with intake connections stuck (trickled, never reading): exit 0 before "
         "TimeoutStopSec=%g, no sanitizer report (exit %s after %.2f s)"
         % (STOP_DEADLINE, code, took),
         log[-600:] if sanitizer or code != 0 else None)
    t.ok("stopped:" in log, "6d: ... and the log says it stopped cleanly", log[-300:])

    # ============================================================ 6a: FCGI_WEB_SERVER_ADDRS=","
    port = free_port()
    p = wd.start([BINARY, "-l", "127.0.0.1:%d" % port], "acl-sep",
                 env=dict(os.environ, FCGI_WEB_SERVER_ADDRS=","))
    p.expect_status = 1  # refusing to start is the point
    code = p.wait(10)
    if code is None:
        p.stop(1)
    t.ok(code == 1 and "FCGI_WEB_SERVER_ADDRS" in p.log(),
         "6a: FCGI_WEB_SERVER_ADDRS=\",\" (separators only) refuses to start: exit 1 naming "
         "the variable (exit %s)" % ("none: still running after 10 s" if code is None else code),
         p.log()[-300:])

    # ============================================================ 6b: socket chown/chmod
    # --socket-group/--socket-mode must not chown/chmod a path that follows symlinks (a
    # swapped final component would hand another file to the group). strace shows which
    # calls set them: only fd-based ones, lchown, or *at calls with AT_SYMLINK_NOFOLLOW
    # or AT_EMPTY_PATH (or a /proc/self/fd/N path of an O_PATH descriptor) are allowed.
    sdir = wd.file("sockdir")
    os.mkdir(sdir)
    spath = os.path.join(sdir, "s.sock")
    trace = wd.file("strace.txt")
    if not any(os.access(os.path.join(d, "strace"), os.X_OK)
               for d in os.environ.get("PATH", "/usr/bin:/bin").split(":")):
        t.skip("6b: the unix socket's group and mode are set without following symlinks",
               "strace is not installed")
    else:
        p = wd.start(["strace", "-f", "-o", trace, "-e",
                      "trace=chown,fchown,lchown,fchownat,chmod,fchmod,fchmodat",
                      BINARY, "-l", "unix:" + spath, "--socket-group", "daemon",
                      "--socket-mode", "0660"], "strace",
                     # LeakSanitizer cannot run under ptrace (strace): leaks are checked
                     # in every other run of the responder
                     env=dict(ENV, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") +
                              ":detect_leaks=0"))
        up = wait_for(lambda: can_connect(spath) or not p.alive(), 10)
        st = os.stat(spath) if up and os.path.exists(spath) else None
        t.ok(st is not None and (st.st_mode & 0o777) == 0o660 and st.st_gid == 1,
             "6b: --socket-group daemon --socket-mode 0660: the socket has group daemon, mode "
             "0660 (%s)" % (None if st is None else "gid %d mode %o" % (st.st_gid, st.st_mode & 0o777)))
        # stop the responder (strace's child), not strace, so strace writes it all
        kids = []
        try:
            with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            pass
        for kid in kids:
            os.kill(kid, signal.SIGTERM)
        p.wait(5)
        p.stop(2)
        with open(trace) as f:
            calls = [ln.split(None, 1)[1] if ln[:1].isdigit() else ln
                     for ln in f.read().splitlines()]
        calls = [c for c in calls if re.match(r"(chown|fchown|lchown|fchownat|chmod|fchmod|"
                                              r"fchmodat)\(", c)]
        bad = []
        for c in calls:
            name = c.split("(", 1)[0]
            if name in ("fchown", "fchmod", "lchown"):
                continue
            if name in ("fchownat", "fchmodat") and re.search(
                    r"AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH", c):
                continue
            if '"/proc/self/fd/' in c:
                continue
            bad.append(c)
        t.ok(calls and not bad,
             "6b: ... set without a call that follows symlinks (%d calls traced)" % len(calls),
             "\n".join(bad or ["no chown/chmod call traced at all"]))

    # ============================================================ 6c: CGI mode takes no options
    # Run as CGI (GATEWAY_INTERFACE set, fd 0 not a socket), argv must not be obeyed: the
    # web server (or a query) may put anything there.
    cgi_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "REQUEST_METHOD": "GET",
               "SCRIPT_NAME": "/stream", "QUERY_STRING": "limit=1",
               "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1"}
    xpath = wd.file("x~")
    for argv, name in ((["-lunix:" + xpath], "-lunix:PATH"), (["--interval", "1"], "--interval 1")):
        t0 = time.monotonic()
        # run_binary: under ASan its stderr is scanned for sanitizer reports. Still
        # running after 4 s (it listened and waits for connections): killed, the socket
        # file stays.
        try:
            c = run_binary(argv, env=cgi_env, stdin=subprocess.DEVNULL, timeout=4)
            rc, out, err = c.returncode, c.stdout, c.stderr
        except subprocess.TimeoutExpired as e:
            rc, out, err = None, e.stdout or b"", e.stderr or b""
        took = time.monotonic() - t0
        listened = os.path.exists(xpath)
        ok = (rc == 0 and b"Content-Type: text/event-stream" in out and
              out.count(b"data: ") == 1 and b"data: Count: [0]" in out and took >= 0.9)
        t.ok(ok and not listened,
             "6c: CGI mode with argv %s: the request is served as without it (one event after "
             "the default 1000 ms) and no listener is made (exit %s, %.2f s, socket made: %s)"
             % (name, rc, took, listened), (out[:200], err[-200:]))
        if os.path.exists(xpath):
            os.unlink(xpath)

    # ============================================================ 7: a memory bound
    # --max-memory MB bounds the total memory; the start-up line states the max streams that
    # bound allows as well as what the open-files limit allows.
    def start_line(args, name):
        sp = wd.file(name + ".sock")
        p = wd.start([BINARY, "-l", "unix:" + sp] + args, name, env=ENV)
        wait_for(lambda: "max streams" in p.log() or not p.alive(), 5)
        code = p.stop(3)
        line = next((ln for ln in p.log().splitlines() if "max streams" in ln), "")
        m = re.search(r"max streams (\d+)", line)
        return code, line, int(m.group(1)) if m else None

    code0, line0, max0 = start_line([], "mem-default")
    code1, line1, max1 = start_line(["--max-memory", "64"], "mem-64")
    t.ok(re.search(r"memory|MB|MiB", line0, re.I) is not None,
         "7: the start-up line states the max streams the memory allows, as well as fds",
         line0)
    t.ok(code1 == 0 and max1 is not None,
         "7: --max-memory 64 is accepted (exit %s)" % code1, line1 or "no start-up line")
    t.ok(max0 is not None and max1 is not None and max1 < max0,
         "7: with --max-memory 64 the logged max streams is lower than without (%s < %s)"
         % (max1, max0))
    # Both options are bounds: the lower one holds, whichever it is.
    code2, line2, max2 = start_line(["--max-memory", "64", "--max-streams", "100000"], "mem-ms")
    code3, line3, max3 = start_line(["--max-memory", "64", "--max-streams", "5"], "ms-mem")
    t.ok(code2 == 0 and max1 is not None and max2 == max1,
         "7: --max-memory 64 with --max-streams 100000: the memory's figure holds (%s)" % max2,
         line2)
    t.ok(code3 == 0 and max3 == 5,
         "7: --max-memory 64 with --max-streams 5: 5 holds (%s)" % max3, line3)

    # ============================================================ attack 5: a burst
    # 4,000 HTTP clients at the same instant through lighttpd, the responder under
    # spawn-fcgi with its default backlog (1024), the setting of the storm as found: the
    # intake must take the connections as fast as they come, every pending one per
    # wake-up. The old intake (four threads, one connection each at a time, f3b327f^)
    # failed here in every try: 1,738 and 1,902 of 4,000 got a stream, lighttpd answered
    # the others 500. (The shipped commands also raise the backlog to 4096; the 8,000 and
    # 16,000-client figures are the benchmark's, bench.py --burst.) Every client must get
    # a 200 and its first event. How long the burst takes is the machine's (the benchmark
    # measures it); what the intake owes is order: the clients are served in the order
    # they came, none overtaken by a client that connected more than one interval (1 s)
    # after it (an intake that leaves some pending connections behind would be), and each
    # first event comes before that client's second is due (within two intervals of its
    # header block; the two may come in one read when the client is slow to read).
    BURST = 4000
    BURST_INTERVAL = 1.0
    rsock = wd.file("burst.sock")
    rp, rsock = start_spawned_responder(wd, ["-i", "1000", "-k", "0"], name="burst",
                                        sock=rsock, env=ENV)
    lp, port = start_lighttpd(wd, rsock)
    r = subprocess.run([sys.executable, SELF, "--burst", str(port), str(BURST), "30"],
                       capture_output=True, text=True, timeout=90)
    try:
        res = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        res = {"n": BURST, "events": 0, "lat": [], "head": [], "first": [], "served": [],
               "statuses": {}, "failures": {"client": r.stderr[-300:]}}
    firsts = res["first"]
    t.diag("burst: %d clients (connect loop %.2f s): statuses %s, failures %s; connect -> "
           "header block p50 %.0f ms, p99 %.0f ms; header block -> first event p50 %.0f ms, "
           "max %.0f ms" % (BURST, res.get("connect_loop_s", 0), res["statuses"],
                            res["failures"], pct(res["head"], 0.5) * 1000,
                            pct(res["head"], 0.99) * 1000, pct(firsts, 0.5) * 1000,
                            pct(firsts, 1.0) * 1000))
    t.eq((res["events"], res["statuses"]), (BURST, {"200": BURST}),
         "attack 5: 4,000 clients at once through lighttpd, spawn-fcgi's default backlog "
         "(1024): every one gets a 200 stream and its first event")
    passed_by = overtaken(res["served"], BURST_INTERVAL)
    t.ok(len(res["served"]) == BURST and not passed_by,
         "attack 5: ... served in the order they came: no client's header block after that of "
         "a client who connected more than one interval later (%d overtaken)" % len(passed_by),
         passed_by[:10])
    t.ok(len(firsts) == BURST and all(x < 2 * BURST_INTERVAL for x in firsts),
         "attack 5: ... each first event before that client's second is due (within two "
         "intervals of its header block: latest %.0f ms)" % (pct(firsts, 1.0) * 1000))
    t.ok(rp.alive() and lp.alive(), "attack 5: ... responder and lighttpd survive")
finally:
    for s_ in sessions:
        if s_.watcher.poll() is None:
            s_.watcher.kill()
    wd.cleanup()
t.done()
