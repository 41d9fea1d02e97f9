"""test_redis_limits.py -- what one client or one Redis entry may cost a responder in Redis
mode (--redis), each check named after the finding of issue 18 it holds:

- finding 4: one resume of 16 channels x 1,000 small messages costs a few dozen Redis
  calls (INFO commandstats), not one a message;
- finding 5: 500 subscribers x 16 channels each (8,000 channels): every blocking read
  names one key (MONITOR), a publish costs the responder and Redis about what it costs with
  one subscriber on one channel (CPU from /proc/PID/schedstat, compared in the same run),
  opening the last subscriptions costs about what opening the first did, and past
  --max-channels a subscriber gets 503 with the reason;
- finding 6: with Redis stopped (SIGSTOP), 4,000 publishes of 64 KiB: past 32 MiB waiting
  for Redis they are refused at once with 503, and the responder's memory stays near it;
- finding 7: entries with ids past 2^63-1 in a channel's stream and in fcgi-sse:log (what
  no publish makes) are skipped, and nothing spins: Redis calls counted over 2 s;
- finding 10: a blocking read asks at most 16 MiB of --max-message entries.

Limits: CPU and call counts are compared with controls of the same run or with what the
design allows (one read per wake-up), never with fixed times.
"""

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True    # nothing written into the source tree

from harness import (FCGI_STDOUT, SANITIZED, HttpStream, Tap, Workdir,  # noqa: E402
                     fcgi_request_bytes, fcgi_split_records, start_redis, status, wait_for)
from harness import cleanup_on_signals  # noqa: E402
from client import (data_events, publish, py_burst, redis_state,  # noqa: E402
                    start_with_lighttpd, subscribe)

cleanup_on_signals()
t = Tap()
wd = Workdir("redis-limits")
KEY = "limits-test-publish-key-0123456789"
with open(wd.file("publish.keys"), "w") as f:
    f.write(KEY + "\n")
os.chmod(wd.file("publish.keys"), 0o600)


def cli(rsock, *args):
    r = subprocess.run(["redis-cli", "-s", rsock] + [str(a) for a in args], capture_output=True,
                       timeout=20)
    return r.stdout.decode().strip()


def calls(rsock, cmd):
    """How many times Redis ran cmd (INFO commandstats), e.g. 'fcall_ro', 'xread'."""
    for line in cli(rsock, "INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_%s:" % cmd):
            m = re.search(r"calls=(\d+)", line)
            return int(m.group(1)) if m else 0
    return 0


def cpu_ns(pid):
    """CPU time of a process, all its threads, in ns (/proc/PID/schedstat is exact)."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
            total += int(f.read().split()[0])
    return total


class Monitor:
    """redis MONITOR over the unix socket: the commands Redis runs, each as its arguments."""

    def __init__(self, rsock):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(rsock)
        self.s.sendall(b"MONITOR\r\n")
        self.buf = b""

    def commands(self, seconds):
        out, end = [], time.monotonic() + seconds
        self.s.settimeout(0.1)
        while time.monotonic() < end:
            try:
                b = self.s.recv(1 << 20)
            except socket.timeout:
                continue
            if not b:
                break
            self.buf += b
        lines = self.buf.split(b"\r\n")
        self.buf = lines.pop()
        for line in lines:
            args = re.findall(rb'"((?:[^"\\]|\\.)*)"', line)
            if args:
                out.append([a.decode("latin-1") for a in args])
        return out

    def close(self):
        self.s.close()


def raw_subscribe(sock, chans, rcvbuf=None, last=None):
    """A subscription straight over FastCGI (no web server); the socket."""
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if rcvbuf:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    c.connect(sock)
    p = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/events",
         "QUERY_STRING": "&".join("channel=" + x for x in chans)}
    if last:
        p["HTTP_LAST_EVENT_ID"] = last
    c.sendall(fcgi_request_bytes(p))
    return c


def finding4(rsock, port, sock_of_a):
    chans = ["c%02d" % i for i in range(16)]
    mark = py_burst(rsock, [("c00", "mark")])[0]
    ids = py_burst(rsock, [(chans[i % 16], "m%05d" % i) for i in range(16000)])
    before = calls(rsock, "fcall_ro")
    s = HttpStream(port, "/events?" + "&".join("channel=" + c for c in chans),
                   headers={"Last-Event-ID": mark})
    s.read_until(lambda x: len(data_events(x)) >= 16000, 60)
    n = calls(rsock, "fcall_ro") - before
    got = [e[0] for e in data_events(s)]
    s.close()
    t.ok(got == ids and n <= 60,
         "finding 4: a resume of 16 channels x 1,000 messages: all 16,000 in id order, in %d "
         "Redis calls (at most 60)" % n, (len(got), n))
    # what a fetch brings is bounded by what its subscriber can take now: a resume that
    # reads nothing holds one batch, not the channel
    mark = py_burst(rsock, [("big4", "mark")])[0]
    py_burst(rsock, [("big4", "%04d " % i + "z" * 4000) for i in range(300)])
    c = raw_subscribe(sock_of_a, ["big4"], rcvbuf=4096, last=mark)
    time.sleep(1)
    held = status(sock_of_a).get("held_bytes")
    c.close()
    t.ok(held is not None and 0 < held <= 512 * 1024,
         "finding 4: a resume of 300 messages of 4 KB that reads nothing holds %s bytes of "
         "them (one batch: what its send buffer can take)" % held)


def finding5(rsock, url, rproc):
    # a responder of its own: what earlier tests freed would make the first opens cheaper
    proc, sock, port = start_with_lighttpd(wd, "w", ["--redis", url, "--publish-key-file",
                                                     wd.file("publish.keys")])
    wait_for(lambda: redis_state(sock).get("connected"), 10)
    # the control: one subscriber, one channel
    one = subscribe(port, ["solo"])

    def publish_cost(channel, n=100):
        """CPU of the responder and of Redis per publish, until the subscriber has them."""
        c0, r0 = cpu_ns(proc.pid), cpu_ns(rproc.pid)
        for i in range(n):
            code, _, _ = publish(port, channel, "p%d" % i, KEY)
            if code != 200:
                raise RuntimeError("publish: %r" % code)
        return (cpu_ns(proc.pid) - c0) / n, (cpu_ns(rproc.pid) - r0) / n

    base_resp, base_redis = publish_cost("solo")
    one.read_until(lambda x: len(data_events(x)) >= 100, 10)
    # 500 subscribers x 16 channels of their own: 8,000 channels; the CPU of opening the
    # first 50 and the last 50 compared
    subs, batch_cpu = [], []
    for i in range(500):
        if i == 450:
            for c in subs[50:]:   # every earlier one served before the count starts
                c.settimeout(10)
                c.recv(1)
        if i in (0, 450):
            c0 = cpu_ns(proc.pid)
        subs.append(raw_subscribe(sock, ["w%03d-%02d" % (i, k) for k in range(16)]))
        if i in (49, 499):
            # each has its header block (read here: asking the responder would cost it)
            for c in subs[-50:]:
                c.settimeout(10)
                c.recv(1)
            batch_cpu.append(cpu_ns(proc.pid) - c0)
    opened = wait_for(lambda: status(sock).get("channels", 0) >= 8001, 20)
    mon = Monitor(rsock)
    many_resp, many_redis = publish_cost("w000-00")
    reads = [c for c in mon.commands(1.0) if c and c[0].upper() == "XREAD"]
    mon.close()
    keys = [c[c.index("STREAMS") + 1:] for c in reads if "STREAMS" in c]
    t.ok(opened and reads and all(len(k) == 2 for k in keys),
         "finding 5: 8,000 channels watched, every blocking read names one key (%d reads, "
         "keys named: %s)" % (len(reads), sorted({len(k) // 2 for k in keys})))
    t.ok(many_resp <= 4 * base_resp + 50000 and many_redis <= 4 * base_redis + 50000,
         "finding 5: a publish costs the responder %.0f us and Redis %.0f us with 8,000 channels "
         "watched, %.0f us and %.0f us with one (at most 4x)"
         % (many_resp / 1000, many_redis / 1000, base_resp / 1000, base_redis / 1000))
    t.ok(len(batch_cpu) == 2 and batch_cpu[1] <= 3 * batch_cpu[0] + 2000000,
         "finding 5: opening subscriptions 451-500 cost the responder %.1f ms, 1-50 %.1f ms "
         "(no growth with the channels open)" % (batch_cpu[1] / 1e6, batch_cpu[0] / 1e6)
         if len(batch_cpu) == 2 else "finding 5: opening subscriptions measured", batch_cpu)
    for c in subs:
        c.close()
    one.close()
    proc.stop()


def max_channels(url):
    p, sock, port = start_with_lighttpd(wd, "mc", ["--redis", url, "--max-channels", "20",
                                                   "--publish-key-file", wd.file("publish.keys")])
    wait_for(lambda: redis_state(sock).get("connected"), 10)
    a = subscribe(port, ["k%02d" % i for i in range(16)])
    b = subscribe(port, ["k%02d" % i for i in range(12, 16)] + ["k16", "k17", "k18", "k19"])
    over = HttpStream(port, "/events?channel=k00&channel=k20")
    over.read_to_end(10)
    t.ok(over.status == 503 and over.header("Retry-After")
         and b"too many channels" in over.body() and b"--max-channels" in over.body()
         and status(sock).get("channels") == 20,
         "finding 5: --max-channels 20: a subscription that would make the 21st gets 503, "
         "Retry-After and the reason in one line", (over.status, over.body()[:200]))
    for s in (a, b, over):
        s.close()
    p.stop()


def finding6(url, rproc):
    p, sock, port = start_with_lighttpd(wd, "st", ["--redis", url, "--publish-key-file",
                                                   wd.file("publish.keys")])
    wait_for(lambda: redis_state(sock).get("connected"), 10)
    body = b"y" * 65000   # one STDIN record (at most 65,535 bytes)
    req = fcgi_request_bytes({"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/publish",
                              "QUERY_STRING": "channel=stall",
                              "HTTP_AUTHORIZATION": "Bearer " + KEY,
                              "CONTENT_LENGTH": str(len(body))}, stdin=body)
    rss0 = p.rss_kb()
    rproc.signal(signal.SIGSTOP)
    conns, answers, peak, pend = [], {}, 0, {}
    try:
        for i in range(4000):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(sock)
            c.sendall(req)
            conns.append(c)
            if i % 200 == 199:
                peak = max(peak, p.rss_kb())
        pend = status(sock).get("redis", {})
        peak = max(peak, p.rss_kb())
        # the refused ones are answered at once; read for 3 s while Redis is stopped
        poller = select.poll()
        byfd = {c.fileno(): c for c in conns}
        for fd in byfd:
            poller.register(fd, select.POLLIN)
        end = time.monotonic() + 3
        while time.monotonic() < end:
            for fd, _ in poller.poll(100):
                try:
                    b = byfd[fd].recv(65536)
                except OSError:
                    b = b""
                answers[fd] = answers.get(fd, b"") + b
                if not b:
                    poller.unregister(fd)
    finally:
        rproc.signal(signal.SIGCONT)
    refused = 0
    for buf in answers.values():
        recs, _ = fcgi_split_records(buf)
        out = b"".join(x[2] for x in recs if x[0] == FCGI_STDOUT)
        refused += out.startswith(b"Status: 503") and b"too many messages waiting" in out
    grew = (peak - rss0) / 1024
    t.ok(refused >= 3400 and pend.get("pending_bytes", 1 << 40) <= 32 << 20
         and (SANITIZED or grew < 96),
         "finding 6: Redis stopped, 4,000 publishes of 65,000 bytes: %d refused at once with 503 "
         "('too many messages waiting for Redis'), %s bytes waiting (at most 32 MiB)%s"
         % (refused, pend.get("pending_bytes"),
            "" if SANITIZED else ", RSS grew %.0f MiB" % grew), pend)
    for c in conns:
        c.close()
    t.ok(wait_for(lambda: redis_state(sock).get("connected"), 15)
         and wait_for(lambda: publish(port, "stall", "after", KEY)[0] == 200, 10),
         "finding 6: Redis running again, publishing works")
    p.stop()


def finding7(rsock, sock, port):
    # a channel with its messages, then an entry no publish makes, and 40 more past 2^63
    mark = py_burst(rsock, [("fx", "mark")])[0]
    ids = py_burst(rsock, [("fx", "a"), ("fx", "b")])
    cli(rsock, "XADD", "fcgi-sse:chan:fx", "18446744073709551615-0", "data", "junk")
    for i in range(40):
        cli(rsock, "XADD", "fcgi-sse:chan:fy", "9223372036854775808-%d" % i, "data", "junk")
    live = subscribe(port, ["fx"])
    time.sleep(0.2)
    x0, f0 = calls(rsock, "xread"), calls(rsock, "fcall_ro")
    r1 = subscribe(port, ["fx"], mark)
    r2 = subscribe(port, ["fy", "fx"], mark)
    r1.read_until(lambda x: len(data_events(x)) >= 2, 10)
    r2.read_until(lambda x: len(data_events(x)) >= 2, 10)
    time.sleep(2)
    x1, f1 = calls(rsock, "xread") - x0, calls(rsock, "fcall_ro") - f0
    t.ok([e[0] for e in data_events(r1)] == ids and [e[0] for e in data_events(r2)] == ids
         and x1 <= 4 and f1 <= 6,
         "finding 7: ids past 2^63-1 in a channel (one, and 40 in a row): resumes get the "
         "messages and skip them; in 2 s Redis ran %d reads and %d fetches (no spin)" % (x1, f1),
         ([e[0] for e in data_events(r1)], [e[0] for e in data_events(r2)], ids))
    code, _, _ = publish(port, "fx", "after", KEY)
    t.ok(code == 503, "finding 7: a publish after the foreign entry is refused (503), not "
         "given an id past it", code)
    # the log itself: the read goes past a foreign id instead of reading it again
    cli(rsock, "XADD", "fcgi-sse:log", "18446744073709551615-0", "c", "fx", "data", "junk",
        "n", "1")
    time.sleep(0.5)
    x0 = calls(rsock, "xread")
    time.sleep(2)
    x1 = calls(rsock, "xread") - x0
    t.ok(x1 <= 3, "finding 7: an id past 2^63-1 in fcgi-sse:log: the read goes on after it "
         "(%d reads in 2 s, no spin)" % x1)
    cli(rsock, "DEL", "fcgi-sse:log", "fcgi-sse:chan:fx")
    code, _, j = publish(port, "fx", "clean again", KEY)
    t.ok(code == 200 and live.read_until(
        lambda x: [e[2] for e in data_events(x)] == ["clean again"], 10),
         "finding 7: once the foreign entries are deleted, publishing and live delivery work "
         "again", (code, data_events(live)))
    for s in (live, r1, r2):
        s.close()


def finding10(rsock, url):
    p, sock, port = start_with_lighttpd(wd, "mm", ["--redis", url, "--max-message", "1M"])
    wait_for(lambda: redis_state(sock).get("connected"), 10)
    mon = Monitor(rsock)
    py_burst(rsock, [("zz", "w")])
    reads = [c for c in mon.commands(1.0) if c and c[0].upper() == "XREAD"]
    mon.close()
    counts = [int(c[c.index("COUNT") + 1]) for c in reads if "COUNT" in c]
    t.ok(counts and all(n * (1 << 20) <= 16 << 20 for n in counts),
         "finding 10: --max-message 1M: a blocking read asks at most %s entries (16 MiB of "
         "them)" % sorted(set(counts)))
    p.stop()


try:
    rproc, rsock = start_redis(wd, "redis")
    url = "unix:" + rsock
    a, asock, aport = start_with_lighttpd(wd, "a", ["--redis", url, "--publish-key-file",
                                                    wd.file("publish.keys")])
    t.ok(wait_for(lambda: redis_state(asock).get("connected"), 10), "a responder on Redis")
    finding4(rsock, aport, asock)
    finding5(rsock, url, rproc)
    max_channels(url)
    finding7(rsock, asock, aport)
    a.stop()   # what MONITOR sees next is one responder's
    finding10(rsock, url)
    finding6(url, rproc)
finally:
    wd.cleanup()
t.done()
