#!/usr/bin/env python3
"""bench.py -- fcgi-sse against the seed's Node/Express server, side by side in one run.

For each stream count it runs, one after the other on this machine:
  A. fcgi-sse (under spawn-fcgi) behind lighttpd mod_fastcgi (deploy/lighttpd/demo.conf);
  B. the seed's Node/Express server alone (bench/seed/seed-server.js, express from npm);
  C. the same seed server behind the same lighttpd (mod_proxy, bench/lighttpd-proxy.conf).
bench/sse-load opens the streams over HTTP/1.1 and measures delivery; this script samples
each server process's RSS and CPU ticks from /proc during a steady-state window, then
after every client left. It prints one table with the ratios the targets are stated in.

Limits: Linux only; Python standard library; needs lighttpd, spawn-fcgi, node and npm
(express is installed into a temporary directory); the servers run on loopback.

Usage: bench/bench.py [--streams 1000,8000] [--duration 20] [--rate 4000] [--smoke]
       [--build DIR] [--json FILE]

--burst: the reconnect storm (every client connecting at the same instant, as after a
restart), instead of the side-by-side run above. Needs lighttpd, spawn-fcgi, nginx and a C
compiler (cc, or $CC), not node; builds bench/sse-load.c of this tree into its temporary
directory (or takes --loader). sse-load opens all its connections at once (--rate 0) and
records per client the time from its connect() to its first event; the clients come from
127.0.0.1..127.0.0.32 (sse-load --sources 32), as real clients come from many addresses:
from one, connect() itself slows down past ~14,000 connections to one server (it searches
the ephemeral ports), and the client, not the server, would be measured.
Three parts:
  1. lighttpd: --burst-lighttpd (8000) clients at once through lighttpd
     (deploy/lighttpd/demo.conf, unchanged) to the responder under `spawn-fcgi -b 4096`
     with --interval 1000; --burst-runs (10) runs, each with a FRESH responder and a fresh
     lighttpd (nothing warmed up: as after a restart). Target: 0 failed in every run and
     first-event p99 <= 1.5 s. Part 1b: the same runs (interleaved with those of 1) with
     one line added to demo.conf, `server.listen-backlog := N` (--lighttpd-backlog, 4096;
     0 skips it): lighttpd's default backlog is 1024, and a burst overflowed it, so
     demo.conf itself now sets 4096 (part 1 and 1b then differ only when N does).
  2. nginx: --burst-nginx (16000) clients at once through nginx (2 workers, the shipped
     deploy/nginx/fcgi-sse.conf with only its listen line changed to
     `listen 127.0.0.1:PORT reuseport backlog=4096`, so the kernel splits the clients
     evenly over the workers; worker_connections 19000, worker_rlimit_nofile 20000) into
     ONE responder (spawn-fcgi -b 4096, --max-memory); --burst-nginx-runs (5) runs, fresh
     stack each. The clients come from --burst-clients (2) sse-load processes started
     together (--start-at): one could hold 16,000 sockets (limit 20,000 open files), but
     two keep the client's own work from serializing the burst. Target: 0 failed.
  3. memory: in each nginx run, with every stream's first event in, the responder's RSS
     against its idle RSS (after a 10-stream warm-up), per stream, and against the
     operator's bound --max-memory (2500 MB); the max streams the responder logged.
"Failed" is a client without a first event: a connection or request that failed, a non-200
answer (503 counted apart), or a 200 without an event within 60 s. The responder sends a
stream's first event one interval (1 s) after the stream opens, so first event = intake +
1 s; "head" (connect() to the response head) shows the intake alone. Each run also records
/proc/loadavg before it (other work on the machine shows there), the time the client took
to issue its connect()s, the CPU time the responder and the web server used from the
first connect() to the last first event, the kernel's TCP
ListenOverflows+ListenDrops delta during it (SYNs dropped at a full accept queue: each costs
the client a 1 s SYN retransmit; counted host-wide) and the web server's error-log lines.

Usage: bench/bench.py --burst [--burst-runs 10] [--burst-lighttpd 8000]
       [--burst-nginx 16000] [--burst-nginx-runs 5] [--burst-clients 2]
       [--max-memory 2500] [--lighttpd-backlog 4096] [--nginx-listen PARAMS]
       [--loader PATH] [--build DIR] [--json FILE]
--nginx-listen: the parameters of part 2's listen line ("reuseport backlog=4096"; "" for
nginx's defaults: backlog 511, one socket for both workers).

--channels: publish/subscribe on ONE channel, side by side in one run, for each of
--streams (1000,8000) subscribers: (a) nginx + nchan (2 workers; Debian's
libnginx-mod-nchan, load_module, nchan_message_buffer_length 1000,
nchan_subscriber_first_message newest); (b) bench/pubsub-node.js, a Node/Express pub/sub
server written as the seed's (express@4 from npm into the temporary directory); (c)
fcgi-sse (spawn-fcgi, --publish-key-file) behind nginx (2 workers, fastcgi_pass unix:,
fastcgi_buffering off); (d) the same behind lighttpd (demo.conf's settings,
server.listen-backlog = 4096, routing (^|/)(stream|status|events|publish)$). Each setup is
a fresh server: 10 subscribers and 5 messages warm it up (idle RSS is taken 1 s after),
sse-load subscribes the N clients (4000/s) and, once all are answered and 1 s passed, this
script POSTs --duration x 10 messages at 10/s over one keep-alive connection, the body
"SEQ PUBLISH_US" (its CLOCK_REALTIME in us). sse-load (--expect 1-M) records each message's
publish-to-delivery latency and per client the messages lost, repeated or extra, and ends
when every client has the last. The CPU ticks of each server's processes (nginx: master
and workers) from the first POST to that moment, over the messages delivered, give CPU per
delivered event; RSS (and PSS) with every subscriber, minus the idle RSS, over N, give
memory per subscriber. Then, on the smallest N's servers (not node: it keeps no history),
the resume test: 200 messages published to a fresh channel, then --resume (1000) clients at
once (sse-load --rate 0 --sources 32) with the Last-Event-ID the publish answer gave
message 100: each must get exactly messages 101..200, in order, within 2 s. Last, for the
largest N only, every setup again with an OPEN-LOOP publisher (each message POSTed at its
due time from a pool of 16 connections, not waiting for the answers to the earlier ones;
--no-open-loop skips it): the runs above wait for each answer, as the issue's did, so a
server slow to answer a publish also publishes less. The goals are judged on the runs
above; the open-loop ones are reported beside. /proc/loadavg is recorded with each row. Needs nginx, libnginx-mod-nchan, lighttpd, spawn-fcgi, node,
npm, a C compiler.

--channels --redis: the same through Redis (issue 10), each setup with a redis-server of
its own (no persistence): (e) nginx + nchan with nchan_redis_url and nchan_use_redis on;
(d) fcgi-sse in memory behind lighttpd, as above, for the responders' CPU per event; (f) two
fcgi-sse --redis behind one lighttpd (fastcgi.server with both sockets: subscribers and
publishes spread over both). Goals: 0 lost and 10 msg/s for both, p99 of (f) <= 1.5 x (e),
the two responders' CPU per delivered event <= 1.2 x (d)'s, and Redis's own CPU per message
(/proc/PID/task/*/schedstat) flat from the smallest to the largest --streams. No open loop.

--mercure (issue 21): fcgi-sse behind lighttpd (setup (d) above) twice in one run: with
N plain channel subscribers, then as a Mercure hub (--mercure --mercure-anonymous) with as
many: --mercure-exact (7000) with match=<the topic>, --mercure-patterns (1000) with
match_urlpattern over ten URL patterns that all match it (one sse-load per path); the same
messages at 10/s, published as Mercure updates (a form POSTed to /.well-known/mercure with
a legacy-draft HS256 token, as Symfony sends). Reports both rows and the hub's responder
CPU per delivered event and RSS per subscriber over the channels' (goal: <= 1.25 x).
--smoke: 240 + 60 subscribers for 5 s. Why 8,000 in all and not the issue's 8,000 + 1,000:
lighttpd holds two descriptors a stream (client and FastCGI) and stops accepting
("sockets disabled, out-of-fds") near 90% of server.max-fds; with the hard limit of 20,000
open files, 9,000 streams (18,000) reach it, and runs at 9,000 lost the streams.

Usage: bench/bench.py --mercure [--mercure-exact 8000] [--mercure-patterns 1000] [--duration 20]
       [--smoke] [--loader PATH] [--build DIR] [--json FILE]
Usage: bench/bench.py --channels [--redis] [--lighttpd-workers N] [--streams 1000,8000] [--duration 20]
       [--resume 1000] [--no-open-loop]
       [--setups nchan,node,fcgi-nginx,fcgi-lighttpd,nchan-redis,fcgi-redis]
       [--loader PATH] [--build DIR]
       [--json FILE]

--fronts: Apache as a front, measured beside the others: the channel run of --channels (one
channel, subscribers at 4000/s, --duration x 10 messages at 10/s, CPU time per delivered
event and PSS per stream of the front and of the responder, apart and together), for each of
--streams, through nginx + nchan, fcgi-sse behind nginx, behind lighttpd (2 processes past
8,000 streams: one holds 2 open files per stream), behind Apache (event MPM, mod_proxy_fcgi,
the SHIPPED deploy/apache/fcgi-sse-proxy-fcgi.conf with its flushpackets=on) with Debian's
mpm_event.conf (150 workers), and behind Apache sized for 1,000 (<= 1000 streams) or
10,000 streams (APACHE_MPM below). Apache holds a worker thread per stream: past
MaxRequestWorkers a stream is not refused but waits unanswered in the listen queue, so a
stream not answered within 20 s counts as "waiting", and before publishing one probe POST
(5 s timeout) tells whether a publish still gets a worker (if not, nothing is published).
Also Apache with Debian's defaults at --fronts-fit (140) streams, just under its 150
workers. Each row records the front's processes, threads and the open files of its fullest
process with the streams open. --smoke: 160 streams (10 past Debian's 150 workers), 2 s,
5 s for the answers, a 2 s probe, no --fronts-fit run. Needs
apache2, nginx, libnginx-mod-nchan, lighttpd, spawn-fcgi, a C compiler; root (Apache's and
nginx's workers run as www-data).

Usage: bench/bench.py --fronts [--streams 1000,10000] [--duration 20] [--fronts-fit 140]
       [--setups nchan,fcgi-nginx,fcgi-lighttpd,apache-debian,apache-1k,apache-10k]
       [--smoke] [--loader PATH] [--build DIR] [--json FILE]
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.dirname(HERE)
TICK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, proc, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def proc_sample(pid):
    """(rss_kb, cpu_ticks) of one process, from /proc/PID/stat (all threads)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # after the ")": state is fields[0]; utime=14th, stime=15th, rss=24th field overall
    utime, stime, rss = int(fields[11]), int(fields[12]), int(fields[21])
    return rss * PAGE_KB, utime + stime


def child_pid(pid, name):
    """The pid of the process named `name` among pid and its descendants."""
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open("/proc/%d/comm" % p) as f:
                if f.read().strip() == name:
                    return p
            with open("/proc/%d/task/%d/children" % (p, p)) as f:
                todo += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return None


class Stack:
    """The server processes of one scenario; stopped by pid."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []
        self.measured = {}   # label -> pid
        self.refresh = None  # called before each chan_sample (Apache's children come and go)

    def start(self, argv, name, env=None):
        log_f = open(os.path.join(self.tmp, name + ".log"), "ab")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_f, stderr=log_f,
                             env=env, start_new_session=True)
        self.procs.append(p)
        return p

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []


def start_fcgi_sse(stack, build, port, spawn_args=(), args=(), conf=None):
    sock = os.path.join(stack.tmp, "fcgi-sse.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    # As deploy/lighttpd/demo.sh runs it (see docs/deploy.md, "Memory"): glibc's per-thread
    # cache off, so memory freed when clients leave goes back to the kernel.
    env = dict(os.environ, GLIBC_TUNABLES="glibc.malloc.tcache_count=0")
    resp = stack.start(["spawn-fcgi", "-n", "-s", sock, "-M", "0600"] + list(spawn_args) +
                       ["--", os.path.join(build, "fcgi-sse")] + list(args), "fcgi-sse", env)
    deadline = time.monotonic() + 10
    while not os.path.exists(sock) and time.monotonic() < deadline:
        time.sleep(0.02)
    env = dict(os.environ, FCGI_SSE_PORT=str(port), FCGI_SSE_HTML=os.path.join(SRCDIR, "html"),
               FCGI_SSE_SOCKET=sock, FCGI_SSE_STATE=stack.tmp)
    conf = conf or os.path.join(SRCDIR, "deploy", "lighttpd", "demo.conf")
    httpd = stack.start(["lighttpd", "-D", "-f", conf], "lighttpd", env)
    if not wait_port(port, httpd):
        raise RuntimeError("lighttpd/fcgi-sse did not start (see %s)" % stack.tmp)
    stack.measured = {"fcgi-sse": resp.pid, "lighttpd": httpd.pid}


def start_seed(stack, node_modules, port, behind):
    backend = free_port() if behind else port
    env = dict(os.environ, PORT=str(backend), NODE_PATH=node_modules)
    node = stack.start(["node", os.path.join(HERE, "seed", "seed-server.js")], "seed", env)
    if not wait_port(backend, node):
        raise RuntimeError("the seed server did not start (see %s)" % stack.tmp)
    stack.measured = {"seed": node.pid}
    if behind:
        env = dict(os.environ, FCGI_SSE_PORT=str(port), FCGI_SSE_BACKEND_PORT=str(backend),
                   FCGI_SSE_STATE=stack.tmp)
        httpd = stack.start(["lighttpd", "-D", "-f", os.path.join(HERE, "lighttpd-proxy.conf")],
                            "lighttpd-proxy", env)
        if not wait_port(port, httpd):
            raise RuntimeError("lighttpd (proxy) did not start (see %s)" % stack.tmp)
        stack.measured["lighttpd"] = httpd.pid


def run_load(loader, port, streams, rate, duration, stack, interval_ms=1000):
    """Runs sse-load; samples the servers at its measure start/end markers and after
    the clients left. Returns a dict of results."""
    argv = [loader, "-q", "-n", str(streams), "-r", str(rate), "-d", str(duration),
            "-i", str(interval_ms), "127.0.0.1", str(port), "/stream"]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    start = end = None
    for line in p.stderr:
        if "measure start" in line:
            start = {k: proc_sample(v) for k, v in stack.measured.items()}
        elif "measure end" in line:
            end = {k: proc_sample(v) for k, v in stack.measured.items()}
        elif line.strip():
            log("sse-load: " + line.strip())
    out = p.stdout.read()
    p.wait()
    t_left = time.monotonic()
    res = dict(line.split("=", 1) for line in out.split() if "=" in line)
    res = {k: float(v) for k, v in res.items()}
    # After every client left: RSS 1 s later, CPU in the second after that.
    time.sleep(max(0, 1.0 - (time.monotonic() - t_left)))
    after1 = {k: proc_sample(v) for k, v in stack.measured.items()}
    time.sleep(1.0)
    after2 = {k: proc_sample(v) for k, v in stack.measured.items()}
    res["servers"] = {}
    for k in stack.measured:
        if start is None or end is None:
            continue
        res["servers"][k] = {
            "rss_kb": end[k][0],
            "cpu_ticks": end[k][1] - start[k][1],
            "rss_after_kb": after1[k][0],
            "cpu_ticks_after": after2[k][1] - after1[k][1],
        }
    return res


def warm_up(loader, port, stack):
    """A few streams opened and closed, so the idle figures are of a process that has
    served (its threads, arenas and libraries touched), not of one never used."""
    subprocess.run([loader, "-q", "-n", "10", "-d", "1.5", "127.0.0.1", str(port), "/stream"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    time.sleep(1.0)
    return {k: proc_sample(v)[0] for k, v in stack.measured.items()}


def open_streams(port):
    """streams_open from the responder's status, through the web server."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(b"GET /status HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        return json.loads(data.split(b"\r\n\r\n", 1)[1])["streams_open"]
    except (OSError, ValueError, KeyError, IndexError):
        return -1


def shutdown_time(loader, port, streams, rate, stack):
    """Opens `streams` again, then SIGTERMs the responder: (exit status, ms to exit)."""
    p = subprocess.Popen([loader, "-q", "-n", str(streams), "-r", str(rate), "-d", "60",
                          "127.0.0.1", str(port), "/stream"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while open_streams(port) < streams and time.monotonic() < deadline:
            time.sleep(0.2)
        resp = next(x for x in stack.procs if x.pid == stack.measured["fcgi-sse"])
        t0 = time.monotonic()
        resp.send_signal(signal.SIGTERM)
        try:
            rc = resp.wait(10)
        except subprocess.TimeoutExpired:
            rc = None
        return rc, (time.monotonic() - t0) * 1000
    finally:
        p.kill()
        p.wait()


def scenario(name, starter, loader, streams, rate, duration, tmp):
    stack = Stack(tempfile.mkdtemp(prefix="bench-%s-" % name, dir=tmp))
    port = free_port()
    try:
        starter(stack, port)
        idle = warm_up(loader, port, stack)
        log("%s: %d streams" % (name, streams))
        res = run_load(loader, port, streams, rate, duration, stack)
        for k, v in res["servers"].items():
            v["rss_idle_kb"] = idle[k]
        if "fcgi-sse" in stack.measured:
            res["shutdown"] = shutdown_time(loader, port, streams, rate, stack)
        return res
    finally:
        stack.stop()


def per_stream_kb(s, n):
    return (s["rss_kb"] - s["rss_idle_kb"]) / n


def us_per_event(ticks, events):
    return ticks * 1e6 / TICK / events if events else float("nan")


def table(results, streams_list):
    lines = []
    add = lines.append
    add("| streams | setup | established | refused | id gaps | p99 inter-arrival ms | "
        "RSS KB/stream | CPU us/event |")
    add("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for n in streams_list:
        for name, label, procs in [("fcgi-sse", "fcgi-sse behind lighttpd (fcgi-sse only)",
                                    ["fcgi-sse"]),
                                   ("fcgi-sse", "fcgi-sse behind lighttpd (both)",
                                    ["fcgi-sse", "lighttpd"]),
                                   ("seed", "seed alone (node)", ["seed"]),
                                   ("seed-lighttpd", "seed behind lighttpd (both)",
                                    ["seed", "lighttpd"])]:
            r = results[n][name]
            sv = r["servers"]
            kb = sum(per_stream_kb(sv[p], n) for p in procs)
            us = us_per_event(sum(sv[p]["cpu_ticks"] for p in procs), r["events_measured"])
            add("| %d | %s | %d | %d | %d | %.1f | %.2f | %.2f |" % (
                n, label, r["streams_established"], r["streams_refused"], r["id_gaps"],
                r["interarrival_ms_p99"], kb, us))
    add("")
    add("| streams | ratio | RSS per stream | CPU per event | target |")
    add("| --- | --- | --- | --- | --- |")
    for n in streams_list:
        a, b, c = results[n]["fcgi-sse"], results[n]["seed"], results[n]["seed-lighttpd"]

        def kb(r, procs):
            return sum(per_stream_kb(r["servers"][p], n) for p in procs)

        def us(r, procs):
            return us_per_event(sum(r["servers"][p]["cpu_ticks"] for p in procs),
                                r["events_measured"])
        add("| %d | fcgi-sse / seed alone (app vs app) | %.2f | %.2f | RSS <= 0.3, CPU <= 0.2 |" % (
            n, kb(a, ["fcgi-sse"]) / kb(b, ["seed"]), us(a, ["fcgi-sse"]) / us(b, ["seed"])))
        add("| %d | lighttpd + fcgi-sse / lighttpd + seed | %.2f | %.2f | RSS <= 0.5, CPU <= 0.6 |" % (
            n, kb(a, ["fcgi-sse", "lighttpd"]) / kb(c, ["seed", "lighttpd"]),
            us(a, ["fcgi-sse", "lighttpd"]) / us(c, ["seed", "lighttpd"])))
    add("")
    add("| streams | after every client left | RSS idle KB | RSS 1 s after KB | "
        "CPU ticks in the next second |")
    add("| --- | --- | --- | --- | --- |")
    for n in streams_list:
        for name, proc in [("fcgi-sse", "fcgi-sse"), ("seed", "seed")]:
            s = results[n][name]["servers"][proc]
            add("| %d | %s | %d | %d | %d |" % (n, proc, s["rss_idle_kb"], s["rss_after_kb"],
                                               s["cpu_ticks_after"]))
    add("")
    add("| streams open | SIGTERM to fcgi-sse: exit status | time to exit ms |")
    add("| --- | --- | --- |")
    for n in streams_list:
        rc, ms = results[n]["fcgi-sse"]["shutdown"]
        add("| %d | %s | %.0f |" % (n, rc, ms))
    return "\n".join(lines)


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    ver = lambda argv: subprocess.run(argv, capture_output=True, text=True).stdout.strip() \
        .splitlines()[0]
    return "%s, %d cores, %.0f GiB, Linux %s; %s; node %s" % (
        cpu, os.cpu_count(), mem, os.uname().release, ver(["lighttpd", "-v"]),
        ver(["node", "--version"]))


# ---------------------------------------------------------------- --burst

BURST_SPAWN = ["-b", "4096"]            # spawn-fcgi's listen backlog
BURST_ARGS = ["--interval", "1000"]
SOURCES = 32                            # clients from 127.0.0.1 .. 127.0.0.32


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def listen_drops():
    """TcpExt ListenOverflows + ListenDrops of the host (all listeners, all processes)."""
    with open("/proc/net/netstat") as f:
        lines = f.read().splitlines()
    for names, values in zip(lines[0::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            d = dict(zip(names.split()[1:], (int(x) for x in values.split()[1:])))
            return d.get("ListenOverflows", 0) + d.get("ListenDrops", 0)
    return 0


def build_loader(tmp):
    out = os.path.join(tmp, "sse-load")
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, "-O2", "-Wall", "-o", out, os.path.join(HERE, "sse-load.c")],
                   check=True)
    return out


def logged_max_streams(stack):
    """The max streams the responder's start-up log states (its first such line)."""
    try:
        with open(os.path.join(stack.tmp, "fcgi-sse.log"), errors="replace") as f:
            for line in f:
                if "max streams" in line:
                    w = line.split("max streams", 1)[1].split()
                    if w and w[0].rstrip(":;,").isdigit():
                        return int(w[0].rstrip(":;,"))
    except OSError:
        pass
    return None


def error_lines(path, match):
    try:
        with open(path, errors="replace") as f:
            return [line.rstrip() for line in f if any(m in line for m in match)]
    except OSError:
        return []


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def quantile_ms(sorted_us, q):
    if not sorted_us:
        return float("nan")
    return sorted_us[int(q * (len(sorted_us) - 1) + 0.5)] / 1000.0


def burst_load(loader, port, n, procs, tmp, on_all_started=None):
    """n clients from `procs` sse-load processes, every connection opened at once (the
    processes start their connect()s together). Waits until every client has its first
    event (or failed), calls on_all_started() (the servers are sampled there), keeps the
    streams 3 s more, and returns the merged per-client results."""
    import threading
    parts = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
    start_at = time.time() + 1.0 + 0.1 * procs     # time for every process to be ready
    runs = []
    for i, m in enumerate(parts):
        pc = os.path.join(tmp, "clients-%d.txt" % i)
        argv = [loader, "-q", "-n", str(m), "-r", "0", "-d", "3", "-i", "1000",
                "--wait-events", "--per-client", pc, "--start-at", "%.3f" % start_at,
                "--sources", str(SOURCES), "--source-offset", str(sum(parts[:i])),
                "127.0.0.1", str(port), "/stream"]
        so = open(pc + ".out", "w")
        p = subprocess.Popen(argv, stdout=so, stderr=subprocess.PIPE, text=True)
        so.close()
        runs.append({"p": p, "pc": pc, "started": threading.Event(), "err": []})

    def reader(r):
        for line in r["p"].stderr:
            if "measure start" in line:
                r["started"].set()
            elif "measure end" not in line and line.strip():
                r["err"].append(line.strip())
        r["started"].set()          # exited (or its stderr closed) without one
    threads = [threading.Thread(target=reader, args=(r,), daemon=True) for r in runs]
    for t in threads:
        t.start()
    for r in runs:
        r["started"].wait(120)
    sample = on_all_started() if on_all_started else None
    for r in runs:
        r["p"].wait(180)
    for t in threads:
        t.join(5)
    res = {"requested": n, "established": 0, "refused": 0, "refused_503": 0,
           "no_answer": 0, "no_event": 0, "sample": sample, "errors": []}
    firsts, heads = [], []
    res["connect_loop_ms"] = 0.0
    for r, m in zip(runs, parts):
        res["errors"] += r["err"]
        if r["p"].returncode != 0:
            res["errors"].append("sse-load exited %s" % r["p"].returncode)
        try:
            with open(r["pc"]) as f:
                rows = [line.split() for line in f]
        except OSError:
            rows = []
        try:
            with open(r["pc"] + ".out") as f:
                kv = dict(x.split("=", 1) for x in f.read().split() if "=" in x)
            res["connect_loop_ms"] = max(res["connect_loop_ms"],
                                         float(kv.get("connect_loop_ms", "nan")))
        except (OSError, ValueError):
            pass
        if len(rows) != m:          # a process that died: its missing clients failed
            res["errors"].append("%d of %d per-client lines in %s" % (len(rows), m, r["pc"]))
            res["no_answer"] += max(0, m - len(rows))
        for row in rows:
            st, us, head = int(row[0]), int(row[1]), int(row[2])
            if head >= 0:
                heads.append(head)
            if st == 200:
                res["established"] += 1
                if us >= 0:
                    firsts.append(us)
                else:
                    res["no_event"] += 1
            elif st == 0:
                res["no_answer"] += 1
            else:
                res["refused"] += 1
                res["refused_503"] += st == 503
    firsts.sort()
    res["with_event"] = len(firsts)
    res["failed"] = n - len(firsts)
    res["p50_ms"] = quantile_ms(firsts, 0.5)
    res["p99_ms"] = quantile_ms(firsts, 0.99)
    res["max_ms"] = quantile_ms(firsts, 1.0)
    heads.sort()
    res["head_p99_ms"] = quantile_ms(heads, 0.99)
    res["head_max_ms"] = quantile_ms(heads, 1.0)
    return res


def burst_lighttpd_run(build, loader, n, tmp, i, listen_backlog=None):
    stack = Stack(tempfile.mkdtemp(prefix="burst-lighttpd-%d-" % i, dir=tmp))
    port = free_port()
    conf = None
    if listen_backlog:
        # demo.conf plus one line: lighttpd's own listen backlog (demo.conf sets 4096;
        # `:=` replaces it)
        conf = os.path.join(stack.tmp, "demo-backlog.conf")
        with open(conf, "w") as f:
            f.write('include "%s"\nserver.listen-backlog := %d\n' % (
                os.path.join(SRCDIR, "deploy", "lighttpd", "demo.conf"), listen_backlog))
    try:
        start_fcgi_sse(stack, build, port, BURST_SPAWN, BURST_ARGS, conf)
        load, drops = loadavg(), listen_drops()
        log("lighttpd%s run %d: %d clients at once (load %s)" % (
            " (listen-backlog %d)" % listen_backlog if listen_backlog else "", i, n, load))
        pids = [stack.measured["fcgi-sse"], stack.measured["lighttpd"]]
        cpu0 = [proc_sample(p)[1] for p in pids]
        res = burst_load(loader, port, n, 1, stack.tmp, lambda: {
            "cpu_ticks": [proc_sample(p)[1] - c for p, c in zip(pids, cpu0)],
            "streams_open": open_streams(port)})
        res["listen_drops"] = listen_drops() - drops
        res["load"] = load
        res["max_streams"] = logged_max_streams(stack)
        errs = [e for e in error_lines(os.path.join(stack.tmp, "lighttpd.log"), ["("])
                if "server started" not in e and "server stopped" not in e]
        res["server_errors"] = len(errs)
        res["server_error_sample"] = errs[:3]
        return res
    finally:
        stack.stop()


NGINX_LISTEN = "reuseport backlog=4096"


def nginx_conf(d, port, sock, listen=NGINX_LISTEN):
    """The shipped server block (deploy/nginx/fcgi-sse.conf) in a minimal nginx.conf with
    2 workers, as tests/lib/nginx.py does; only its listen, root and upstream lines change."""
    with open(os.path.join(SRCDIR, "deploy", "nginx", "fcgi-sse.conf")) as f:
        site = f.read().split("\n")
    subs = {"listen 80 backlog=4096;": ("listen 127.0.0.1:%d %s;" % (port, listen)).replace(" ;", ";"),
            "root /usr/share/fcgi-sse/html;": "root %s;" % d,
            "server unix:/run/fcgi-sse/fcgi-sse.sock;": "server unix:%s;" % sock}
    for old, new in subs.items():
        hits = [k for k, line in enumerate(site)
                if not line.lstrip().startswith("#") and old in line]
        if len(hits) != 1:
            raise RuntimeError("%r occurs %d times in deploy/nginx/fcgi-sse.conf"
                               % (old, len(hits)))
        site[hits[0]] = site[hits[0]].replace(old, new)
    with open(os.path.join(d, "fcgi-sse.conf"), "w") as f:
        f.write("\n".join(site))
    shutil.copy("/etc/nginx/fastcgi_params", os.path.join(d, "fastcgi_params"))
    os.mkdir(os.path.join(d, "tmp"))
    user = "www-data" if os.geteuid() == 0 else None
    conf = "\n".join([
        "# generated by bench/bench.py --burst",
        ("user %s %s;" % (user, user)) if user else "",
        "worker_processes 2;",
        "worker_rlimit_nofile 20000;",
        "pid %s/nginx.pid;" % d,
        "error_log %s/error.log warn;" % d,
        "events { worker_connections 19000; }",
        "http {",
        "    include /etc/nginx/mime.types;",
        "    default_type application/octet-stream;",
        "    access_log off;",
        "    client_body_temp_path %s/tmp/body;" % d,
        "    fastcgi_temp_path %s/tmp/fastcgi;" % d,
        "    proxy_temp_path %s/tmp/proxy;" % d,
        "    scgi_temp_path %s/tmp/scgi;" % d,
        "    uwsgi_temp_path %s/tmp/uwsgi;" % d,
        "    include %s/fcgi-sse.conf;" % d,
        "}", ""])
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    return path


def nginx_workers(master):
    try:
        with open("/proc/%d/task/%d/children" % (master, master)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def burst_nginx_run(build, loader, n, procs, max_memory, tmp, i, listen=NGINX_LISTEN):
    stack = Stack(tempfile.mkdtemp(prefix="burst-nginx-%d-" % i, dir=tmp))
    os.chmod(stack.tmp, 0o711)          # nginx's workers (www-data) reach the socket
    port = free_port()
    sock = os.path.join(stack.tmp, "fcgi-sse.sock")
    env = dict(os.environ, GLIBC_TUNABLES="glibc.malloc.tcache_count=0")
    group = ["-G", "www-data"] if os.geteuid() == 0 else []
    resp = stack.start(["spawn-fcgi", "-n", "-s", sock, "-M", "0660"] + group + BURST_SPAWN +
                       ["--", os.path.join(build, "fcgi-sse")] + BURST_ARGS +
                       ["--max-memory", str(max_memory)], "fcgi-sse", env)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.02)
        conf = nginx_conf(stack.tmp, port, sock, listen)
        ngx = stack.start(["nginx", "-p", stack.tmp + "/", "-c", conf, "-g", "daemon off;"],
                          "nginx")
        if not wait_port(port, ngx):
            raise RuntimeError("nginx/fcgi-sse did not start (see %s)" % stack.tmp)
        subprocess.run([loader, "-q", "-n", "10", "-d", "1.5", "127.0.0.1", str(port),
                        "/stream"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60)
        time.sleep(1.0)
        workers = nginx_workers(ngx.pid)
        idle = rss_kb(resp.pid)
        idle_ngx = sum(rss_kb(w) for w in workers)
        load, drops = loadavg(), listen_drops()
        log("nginx run %d: %d clients at once from %d processes (load %s)"
            % (i, n, procs, load))

        cpu0 = [proc_sample(p)[1] for p in [resp.pid] + workers]

        def sample():
            ticks = [proc_sample(p)[1] - c for p, c in zip([resp.pid] + workers, cpu0)]
            return {"cpu_ticks": [ticks[0], sum(ticks[1:])],
                    "streams_open": open_streams(port), "rss_kb": rss_kb(resp.pid),
                    "nginx_rss_kb": sum(rss_kb(w) for w in workers),
                    "nginx_fds": [len(os.listdir("/proc/%d/fd" % w)) for w in workers]}
        res = burst_load(loader, port, n, procs, stack.tmp, sample)
        res["listen_drops"] = listen_drops() - drops
        res["load"] = load
        res["rss_idle_kb"] = idle
        res["nginx_rss_idle_kb"] = idle_ngx
        res["max_streams"] = logged_max_streams(stack)
        errs = error_lines(os.path.join(stack.tmp, "error.log"),
                           ["[error]", "[alert]", "[crit]", "[emerg]"])
        res["server_errors"] = len(errs)
        res["server_error_sample"] = errs[:3]
        return res
    finally:
        pids = []
        for p in stack.procs:
            if p.args[0] == "nginx":
                pids = nginx_workers(p.pid)
        stack.stop()
        for w in pids:                  # workers of a master that had to be killed
            try:
                with open("/proc/%d/cmdline" % w, "rb") as f:
                    if b"nginx" in f.read():
                        os.kill(w, signal.SIGKILL)
            except OSError:
                pass


def fmt_ms(v):
    return "%.0f" % v if v == v else "-"


def burst_table(title, runs, target_p99_ms=None):
    lines = [title, ""]
    add = lines.append
    add("| run | load before (1/5/15 min) | clients | with first event | failed | "
        "503 / other non-200 / no answer / 200 without event | first event p50 ms | "
        "p99 ms | max ms | head p99 / max ms | client connect() loop ms | CPU ms responder / "
        "web server | listen drops | server error-log lines |")
    add("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for k, r in enumerate(runs, 1):
        cpu = (r["sample"] or {}).get("cpu_ticks", [float("nan")] * 2)
        add("| %d | %s | %d | %d | %d | %d / %d / %d / %d | %s | %s | %s | %s / %s | %s | "
            "%s / %s | %d | %d |" % (
            k, r["load"], r["requested"], r["with_event"], r["failed"], r["refused_503"],
            r["refused"] - r["refused_503"], r["no_answer"], r["no_event"], fmt_ms(r["p50_ms"]),
            fmt_ms(r["p99_ms"]), fmt_ms(r["max_ms"]), fmt_ms(r["head_p99_ms"]),
            fmt_ms(r["head_max_ms"]), fmt_ms(r["connect_loop_ms"]),
            fmt_ms(cpu[0] * 1000.0 / TICK), fmt_ms(cpu[1] * 1000.0 / TICK),
            r["listen_drops"], r["server_errors"]))
    zero = sum(1 for r in runs if r["failed"] == 0)
    p99s = [r["p99_ms"] for r in runs if r["p99_ms"] == r["p99_ms"]]
    add("")
    summary = "Runs with 0 failed: **%d of %d**" % (zero, len(runs))
    if target_p99_ms is not None:
        ok = sum(1 for r in runs if r["p99_ms"] <= target_p99_ms)
        summary += "; first-event p99 <= %.1f s: **%d of %d**" % (target_p99_ms / 1000, ok,
                                                                  len(runs))
    if p99s:
        summary += "; worst p99 %s ms, median of the runs' p99 %s ms" % (
            fmt_ms(max(p99s)), fmt_ms(sorted(p99s)[len(p99s) // 2]))
    add(summary + ".")
    return lines


def prepare(a, mode, tools=(), binary=True):
    """What every mode needs first: TOOLS on PATH and a built responder (or exit naming
    what is missing), the soft open-files limit raised to the hard one. Returns the hard
    limit."""
    for tool in tools:
        if not shutil.which(tool):
            sys.exit("bench: %s is needed for %s" % (tool, mode))
    if binary and not os.access(os.path.join(a.build, "fcgi-sse"), os.X_OK):
        sys.exit("bench: no %s/fcgi-sse" % a.build)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def burst_main(a):
    hard = prepare(a, "--burst", ("lighttpd", "spawn-fcgi", "nginx"))
    per_proc = -(-a.burst_nginx // a.burst_clients)
    if hard < max(a.burst_lighttpd, per_proc) + 100:
        sys.exit("bench: %d clients in one sse-load need more than the %d open files allowed"
                 % (max(a.burst_lighttpd, per_proc), hard))
    tmp = tempfile.mkdtemp(prefix="fcgi-sse-burst-")
    os.chmod(tmp, 0o711)                # nginx's workers (www-data) pass through to sockets
    try:
        loader = a.loader or build_loader(tmp)
        t0 = time.time()
        results = {"lighttpd": [], "lighttpd-backlog": [], "nginx": []}
        variants = [("lighttpd", None)]
        if a.lighttpd_backlog:
            variants.append(("lighttpd-backlog", a.lighttpd_backlog))
        for i, (key, backlog) in [(i, v) for i in range(1, a.burst_runs + 1) for v in variants]:
            r = burst_lighttpd_run(a.build, loader, a.burst_lighttpd, tmp, i, backlog)
            log("  %d/%d with a first event, p99 %s ms, head p99 %s ms, connect loop %s ms, "
                "drops %d; %s" % (
                r["with_event"], r["requested"], fmt_ms(r["p99_ms"]), fmt_ms(r["head_p99_ms"]),
                fmt_ms(r["connect_loop_ms"]), r["listen_drops"],
                "; ".join(r["errors"][:2] + r["server_error_sample"][:1])))
            results[key].append(r)
            time.sleep(1.0)
        for i in range(1, a.burst_nginx_runs + 1):
            r = burst_nginx_run(a.build, loader, a.burst_nginx, a.burst_clients, a.max_memory,
                                tmp, i, a.nginx_listen)
            log("  %d/%d with a first event, p99 %s ms, head p99 %s ms, connect loop %s ms, "
                "drops %d; %s" % (
                r["with_event"], r["requested"], fmt_ms(r["p99_ms"]), fmt_ms(r["head_p99_ms"]),
                fmt_ms(r["connect_loop_ms"]), r["listen_drops"],
                "; ".join(r["errors"][:2] + r["server_error_sample"][:1])))
            results["nginx"].append(r)
            time.sleep(1.0)
        minutes = (time.time() - t0) / 60
        out = ["Machine: " + machine_burst(),
               "Run %s, %.1f min; load after: %s. Other work on the machine is not stopped: "
               "the load column shows it." % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t0)),
                                              minutes, loadavg()),
               "Responder: %s/fcgi-sse under `spawn-fcgi %s` with `%s`; sse-load opens every "
               "connection at once (`--rate 0`); \"first event\" is per client, from its "
               "connect() to its first event (the responder sends it one interval after the stream "
               "opens), \"head\" to its response head." % (a.build, " ".join(BURST_SPAWN),
                                                  " ".join(BURST_ARGS)), ""]
        out += burst_table("**1. Burst through lighttpd** (deploy/lighttpd/demo.conf): %d "
                           "clients at once, %d runs, a fresh responder and lighttpd each run; "
                           "the responder logged max streams %s."
                           % (a.burst_lighttpd, a.burst_runs,
                              results["lighttpd"][0]["max_streams"] if results["lighttpd"]
                              else "-"),
                           results["lighttpd"], 1500)
        out.append("")
        if a.lighttpd_backlog:
            out += burst_table("**1b. The same with `server.listen-backlog = %d`** added to "
                               "demo.conf (lighttpd's default is 1024; the kernel caps it at "
                               "net.core.somaxconn); runs interleaved with those of 1."
                               % a.lighttpd_backlog, results["lighttpd-backlog"], 1500)
            out.append("")
        out += burst_table("**2. Burst through nginx** (2 workers, `listen ... %s`, "
                           "worker_connections 19000, worker_rlimit_nofile "
                           "20000, the shipped server block: fastcgi_pass to the unix socket, "
                           "fastcgi_buffering off): %d clients at once from %d sse-load "
                           "processes into ONE responder (`--max-memory %d`), %d runs, fresh "
                           "stack each." % (a.nginx_listen or "(nginx's defaults)", a.burst_nginx,
                                            a.burst_clients, a.max_memory,
                                            a.burst_nginx_runs), results["nginx"])
        out.append("")
        out.append("**3. Memory bound** (the nginx runs above, sampled once every client had "
                   "its first event): `--max-memory %d` MB." % a.max_memory)
        out.append("")
        out.append("| run | max streams logged | streams open (status) | responder RSS idle KB | "
                   "RSS with the streams KB | RSS KB/stream | RSS / bound | nginx workers RSS KB"
                   " (KB/stream) | nginx fds per worker |")
        out.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for k, r in enumerate(results["nginx"], 1):
            s = r["sample"] or {}
            opened = s.get("streams_open", -1)
            n = opened if opened > 0 else r["established"]
            rss = s.get("rss_kb", 0)
            out.append("| %d | %s | %d | %d | %d | %.2f | %.2f%% | %d (%.2f) | %s |" % (
                k, r["max_streams"], opened, r["rss_idle_kb"], rss,
                (rss - r["rss_idle_kb"]) / n if n > 0 else float("nan"),
                100.0 * rss / (a.max_memory * 1024),
                s.get("nginx_rss_kb", 0),
                (s.get("nginx_rss_kb", 0) - r["nginx_rss_idle_kb"]) / n if n > 0 else float("nan"),
                " + ".join(str(x) for x in s.get("nginx_fds", []))))
        report(a, out, results)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def report(a, lines, raw):
    """Prints a mode's tables (stdout), and with --json writes its raw results."""
    print("\n".join(lines))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(raw, f, indent=1, default=str)


def machine_burst():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    first = lambda argv: (subprocess.run(argv, capture_output=True, text=True).stdout +
                          subprocess.run(argv, capture_output=True, text=True).stderr) \
        .strip().splitlines()[0]
    sysctl = []
    for k in ("net/core/somaxconn", "net/ipv4/tcp_max_syn_backlog", "net/ipv4/tcp_syncookies"):
        with open("/proc/sys/" + k) as f:
            sysctl.append("%s=%s" % (k.split("/")[-1], f.read().strip()))
    return "%s, %d cores, %.0f GiB, Linux %s; %s; %s; open files %d; %s" % (
        cpu, os.cpu_count(), mem, os.uname().release, first(["lighttpd", "-v"]),
        first(["nginx", "-v"]), resource.getrlimit(resource.RLIMIT_NOFILE)[1], ", ".join(sysctl))


# ---------------------------------------------------------------- --channels

CHAN_PUB_RATE = 10.0                    # messages per second
CHAN_KEY = "bench-publish-key-0123456789abcdef"
LIGHTTPD_WORKERS = 0                    # --lighttpd-workers: server.max-worker (0: one process)
LIGHTTPD_MAX_CONNS = 8192               # server.max-connections (--mercure raises it for 9,000)
CHAN_ROUTE = "(^|/)(stream|status|events|publish)$"
CHAN_SETUPS = ["nchan", "node", "fcgi-nginx", "fcgi-lighttpd"]
# --channels --redis: the same, every setup with one Redis (the in-memory fcgi-lighttpd beside
# them, for the responders' CPU per event).
REDIS_SETUPS = ["nchan-redis", "fcgi-lighttpd", "fcgi-redis"]
ALL_SETUPS = CHAN_SETUPS + ["nchan-redis", "fcgi-redis"]
CHAN_LABEL = {"nchan": "nginx + nchan (2 workers)", "node": "Node/Express pub/sub",
              "fcgi-nginx": "fcgi-sse behind nginx (2 workers)",
              "fcgi-lighttpd": "fcgi-sse behind lighttpd",
              "nchan-redis": "nginx + nchan (2 workers) + Redis",
              "fcgi-redis": "2 fcgi-sse behind lighttpd + Redis"}
NCHAN_MODULE = "/usr/lib/nginx/modules/ngx_nchan_module.so"
# --mercure: fcgi-sse as a Mercure hub behind lighttpd (legacy-draft publisher token, as
# Symfony sends; anonymous subscribers), the same messages on topic mercure_topic(channel)
MERCURE_HUB = "/.well-known/mercure"
MERCURE_KEY = "bench mercure publisher secret, 32+ bytes long"
MERCURE_ROUTE = "(^|/)(stream|status|events|publish|[.]well-known/mercure)$"
# the URL patterns of the pattern subscribers (each matches the bench topic; spread evenly)
MERCURE_PATTERNS = ["https://example.com/books/:id", "https://example.com/:kind/:id",
                    "https://example.com/books/*", "https://example.com/books/:id([a-z]+)",
                    "https://example.com/(books|authors)/:id", "https://*.com/books/:id",
                    "https://example.com/books/:id?", "https://example.com/books/:id+",
                    "https://example.com/:kind(books)/:id", "https://example.com/books/:id{/:x}?"]
CHAN_LABEL["mercure-lighttpd"] = "fcgi-sse behind lighttpd, Mercure hub"


def mercure_topic(channel):
    return "https://example.com/books/" + channel


def mercure_token():
    """The publisher's HS256 JWT with the legacy draft's claim {"mercure": {"publish": ["*"]}}
    (no exp: as Symfony's)."""
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    head = b64(json.dumps({"typ": "JWT", "alg": "HS256"}, separators=(",", ":")).encode())
    body = b64(json.dumps({"mercure": {"publish": ["*"]}}, separators=(",", ":")).encode())
    sig = hmac.new(MERCURE_KEY.encode(), ("%s.%s" % (head, body)).encode(),
                   hashlib.sha256).digest()
    return "%s.%s.%s" % (head, body, b64(sig))


def mercure_paths(channel, n_exact, n_pattern):
    """[(subscribers, path)]: n_exact with match=<the topic>, n_pattern spread over
    MERCURE_PATTERNS with match_urlpattern."""
    q = lambda k, v: MERCURE_HUB + "?" + urllib.parse.urlencode({k: v},
                                                                quote_via=urllib.parse.quote)
    out = [(n_exact, q("match", mercure_topic(channel)))] if n_exact else []
    for i, pat in enumerate(MERCURE_PATTERNS):
        k = n_pattern // len(MERCURE_PATTERNS) + (i < n_pattern % len(MERCURE_PATTERNS))
        if k:
            out.append((k, q("match_urlpattern", pat)))
    return out


# --fronts: Apache (event MPM, mod_proxy_fcgi, the shipped deploy/apache snippet with its
# flushpackets=on) with Debian's mpm_event.conf, and sized for 1,000 and for 10,000 streams.
# Apache holds a worker thread per open stream, so MaxRequestWorkers (= ServerLimit x
# ThreadsPerChild) is the number of streams plus room for the other requests (publish,
# page, status): 25 % here. Every child is started up front (StartServers = ServerLimit,
# MaxSpareThreads = MaxRequestWorkers): children started on demand lag a burst of
# subscribers, and idle ones would be stopped between bursts. Per child: 2 open files per
# stream (client socket, socket to the responder), so ThreadsPerChild 500 needs ~1,050
# (above a bare 1024 soft limit; Debian's apache2ctl sets 8192).
APACHE2 = shutil.which("apache2") or "/usr/sbin/apache2"
APACHE_MPM = {
    # Debian's /etc/apache2/mods-available/mpm_event.conf (ServerLimit: Apache's default 16;
    # 150 / 25 = 6 children are used)
    "apache-debian": [("StartServers", 2), ("MinSpareThreads", 25), ("MaxSpareThreads", 75),
                      ("ThreadLimit", 64), ("ThreadsPerChild", 25),
                      ("MaxRequestWorkers", 150), ("MaxConnectionsPerChild", 0)],
    "apache-1k": [("ServerLimit", 5), ("StartServers", 5), ("ThreadLimit", 250),
                  ("ThreadsPerChild", 250), ("MaxRequestWorkers", 1250),
                  ("MinSpareThreads", 250), ("MaxSpareThreads", 1250),
                  ("MaxConnectionsPerChild", 0), ("AsyncRequestWorkerFactor", 2),
                  ("ListenBacklog", 4096), ("ProxyTimeout", 60)],
    "apache-10k": [("ServerLimit", 22), ("StartServers", 22), ("ThreadLimit", 500),
                   ("ThreadsPerChild", 500), ("MaxRequestWorkers", 11000),
                   ("MinSpareThreads", 500), ("MaxSpareThreads", 11000),
                   ("MaxConnectionsPerChild", 0), ("AsyncRequestWorkerFactor", 2),
                   ("ListenBacklog", 4096), ("ProxyTimeout", 60)],
}
CHAN_LABEL.update({"apache-debian": "fcgi-sse behind Apache, Debian's event MPM defaults",
                   "apache-1k": "fcgi-sse behind Apache, sized for 1,000 streams",
                   "apache-10k": "fcgi-sse behind Apache, sized for 10,000 streams"})
APACHE_MODULES = ["mpm_event", "authz_core", "authz_host", "mime", "dir", "alias", "env",
                  "headers", "filter", "proxy", "proxy_fcgi"]


def apache_conf(d, port, sock, profile):
    """A minimal apache2.conf (as tests/lib/apache.py writes) with the MPM settings of
    `profile` around the SHIPPED deploy/apache/fcgi-sse-proxy-fcgi.conf, Included unchanged
    (its ProxySet flushpackets=on timeout=60). No access log (as nginx's access_log off)."""
    docroot = os.path.join(d, "docroot")
    os.makedirs(docroot, exist_ok=True)
    user = ["User www-data", "Group www-data"] if os.geteuid() == 0 else []
    lines = ["# generated by bench/bench.py --fronts (%s)" % profile,
             "ServerRoot %s" % d, "DefaultRuntimeDir %s" % d, "PidFile %s/apache2.pid" % d,
             "ErrorLog %s/apache2-error.log" % d, "LogLevel warn",
             "Listen 127.0.0.1:%d" % port, "ServerName 127.0.0.1"] + user
    lines += ["LoadModule %s_module /usr/lib/apache2/modules/mod_%s.so" % (m, m)
              for m in APACHE_MODULES]
    lines += ["%s %s" % kv for kv in APACHE_MPM[profile]]
    lines += ["TypesConfig /etc/mime.types", "DocumentRoot %s" % docroot,
              "<Directory />", "    AllowOverride None", "    Require all denied",
              "</Directory>",
              "Define FCGI_SSE_HTML %s" % os.path.join(SRCDIR, "html"),
              "Define FCGI_SSE_SOCKET %s" % sock,
              "Include %s" % os.path.join(SRCDIR, "deploy", "apache",
                                          "fcgi-sse-proxy-fcgi.conf"), ""]
    path = os.path.join(d, "apache2.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path


def pss_kb(pid):
    """Pss of one process (shared pages divided among their users), 0 if unknown."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def redis_start(stack):
    """A redis-server of its own (no persistence: the benchmark measures delivery) on a free
    loopback port; stack.measured gets its pid as "redis". Returns the port."""
    port = free_port()
    conf = os.path.join(stack.tmp, "redis.conf")
    with open(conf, "w") as f:
        f.write("bind 127.0.0.1\nport %d\ndir %s\nsave \"\"\nappendonly no\n"
                "maxclients 1000\nlogfile %s/redis.log\n" % (port, stack.tmp, stack.tmp))
    p = stack.start(["redis-server", conf], "redis-server")
    if not wait_port(port, p):
        raise RuntimeError("redis-server did not start (see %s)" % stack.tmp)
    stack.measured["redis"] = [p.pid]
    return port


def cpu_ns(pids):
    """CPU time of every thread of the given processes, in ns (/proc/PID/task/*/schedstat:
    exact, where the ticks of /proc/PID/stat are 10 ms: Redis spends less than that per
    message)."""
    total = 0
    for pid in pids:
        try:
            tasks = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for t in tasks:
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    return total


def nginx_http_conf(d, port, body, modules=()):
    """A minimal nginx.conf with 2 workers around `body` (lines of the http {} block)."""
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    shutil.copy("/etc/nginx/fastcgi_params", os.path.join(d, "fastcgi_params"))
    user = "www-data" if os.geteuid() == 0 else None
    conf = ["# generated by bench/bench.py --channels"]
    conf += ["load_module %s;" % m for m in modules]
    conf += [("user %s %s;" % (user, user)) if user else "",
             "worker_processes 2;",
             "worker_rlimit_nofile 20000;",
             "pid %s/nginx.pid;" % d,
             "error_log %s/error.log warn;" % d,
             "events { worker_connections 19000; }",
             "http {",
             "    default_type application/octet-stream;",
             "    access_log off;",
             "    client_body_temp_path %s/tmp/body;" % d,
             "    fastcgi_temp_path %s/tmp/fastcgi;" % d,
             "    proxy_temp_path %s/tmp/proxy;" % d,
             "    scgi_temp_path %s/tmp/scgi;" % d,
             "    uwsgi_temp_path %s/tmp/uwsgi;" % d,
             "    server {",
             "        listen 127.0.0.1:%d reuseport backlog=4096;" % port]
    conf += ["        " + line for line in body]
    conf += ["    }", "}", ""]
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as f:
        f.write("\n".join(conf))
    return path


def chan_start(setup, stack, build, nm, port):
    """Starts one setup; stack.measured becomes {group: [pids]} (nginx's workers are found
    after start). Returns the headers a publisher sends."""
    d = stack.tmp
    os.chmod(d, 0o711)                  # nginx's workers (www-data) reach the socket
    if setup == "node":
        env = dict(os.environ, PORT=str(port), NODE_PATH=nm)
        p = stack.start(["node", os.path.join(HERE, "pubsub-node.js")], "node", env)
        if not wait_port(port, p):
            raise RuntimeError("pubsub-node.js did not start (see %s)" % d)
        stack.measured = {"node": [p.pid]}
        return {}
    if setup in ("nchan", "nchan-redis"):
        stack.measured = {}
        use = []
        if setup == "nchan-redis":
            use = ['    nchan_redis_url "redis://127.0.0.1:%d";' % redis_start(stack),
                   "    nchan_use_redis on;"]
        conf = nginx_http_conf(d, port, [
            "location = /events {",
            "    nchan_subscriber eventsource;",
            "    nchan_channel_id $arg_channel;",
            "    nchan_subscriber_first_message newest;",
            "    nchan_message_buffer_length 1000;"] + use + [
            "}",
            "location = /publish {",
            "    nchan_publisher;",
            "    nchan_channel_id $arg_channel;",
            "    nchan_message_buffer_length 1000;"] + use + [
            "}"], [NCHAN_MODULE])
        ngx = stack.start(["nginx", "-p", d + "/", "-c", conf, "-g", "daemon off;"], "nginx")
        if not wait_port(port, ngx):
            raise RuntimeError("nginx + nchan did not start (see %s)" % d)
        time.sleep(0.3)
        stack.measured["nginx"] = [ngx.pid] + nginx_workers(ngx.pid)
        return {"Accept": "application/json"}
    # fcgi-sse under spawn-fcgi (two, sharing one Redis, for fcgi-redis), behind nginx or
    # lighttpd
    stack.measured = {}
    keyfile = os.path.join(d, "publish.keys")
    with open(keyfile, "w") as f:
        f.write(CHAN_KEY + "\n")
    extra = []
    route = CHAN_ROUTE
    if setup == "mercure-lighttpd":
        mkey = os.path.join(d, "mercure.key")
        with open(mkey, "w") as f:
            f.write(MERCURE_KEY + "\n")
        os.chmod(mkey, 0o600)
        extra = ["--mercure", "--mercure-anonymous", "--mercure-publisher-key-file",
                 "HS256:" + mkey]
        route = MERCURE_ROUTE
    if setup == "fcgi-redis":
        extra = ["--redis", "redis://127.0.0.1:%d" % redis_start(stack)]
    env = dict(os.environ, GLIBC_TUNABLES="glibc.malloc.tcache_count=0")
    group = ["-G", "www-data"] if os.geteuid() == 0 and (
        setup == "fcgi-nginx" or setup.startswith("apache")) else []
    socks, resps = [], []
    for i in range(2 if setup == "fcgi-redis" else 1):
        sock = os.path.join(d, "fcgi-sse%s.sock" % (i or ""))
        resps.append(stack.start(["spawn-fcgi", "-n", "-s", sock, "-M", "0660"] + group +
                                 BURST_SPAWN + ["--", os.path.join(build, "fcgi-sse"),
                                                "--publish-key-file", keyfile] + extra,
                                 "fcgi-sse%s" % (i or ""), env))
        socks.append(sock)
    deadline = time.monotonic() + 10
    while not all(os.path.exists(x) for x in socks) and time.monotonic() < deadline:
        time.sleep(0.02)
    if setup.startswith("apache"):
        conf = apache_conf(d, port, socks[0], setup)
        web = stack.start([APACHE2, "-DFOREGROUND", "-f", conf], "apache2")
        if not wait_port(port, web):
            raise RuntimeError("%s did not start (see %s)" % (setup, d))
        stack.measured["fcgi-sse"] = [x.pid for x in resps]

        def refresh():
            stack.measured["apache"] = [web.pid] + nginx_workers(web.pid)
        stack.refresh = refresh
        # every child the profile starts is up (StartServers), so idle is idle
        want = 1 + dict(APACHE_MPM[setup]).get("StartServers", 1)
        deadline = time.monotonic() + 10
        while len(nginx_workers(web.pid)) + 1 < want and time.monotonic() < deadline:
            time.sleep(0.1)
        refresh()
        return {"Authorization": "Bearer " + CHAN_KEY}
    if setup == "fcgi-nginx":
        conf = nginx_http_conf(d, port, [
            "location ~ %s {" % CHAN_ROUTE,
            "    include fastcgi_params;",
            '    fastcgi_param REMOTE_USER "";',     # as the shipped configs: no user
            "    fastcgi_pass unix:%s;" % socks[0],
            "    fastcgi_buffering off;",
            "    fastcgi_read_timeout 60s;",
            "    gzip off;",
            "}"])
        web = stack.start(["nginx", "-p", d + "/", "-c", conf, "-g", "daemon off;"], "nginx")
    else:
        # demo.conf's settings, with the channel routes and a listen backlog
        conf = os.path.join(d, "lighttpd.conf")
        with open(conf, "w") as f:
            f.write("\n".join([
                "# generated by bench/bench.py --channels (deploy/lighttpd/demo.conf's settings)",
                'server.modules += ( "mod_fastcgi" )',
                'server.bind = "127.0.0.1"',
                "server.port = %d" % port,
                'server.document-root = "%s"' % os.path.join(SRCDIR, "html"),
                'server.pid-file = "%s/lighttpd.pid"' % d,
                'server.errorlog = "/dev/stderr"',
                "server.stream-response-body = 2",
                "server.max-connections = %d" % LIGHTTPD_MAX_CONNS,
                "server.max-fds = 20000",
                "server.listen-backlog = 4096",
                "server.max-worker = %d" % LIGHTTPD_WORKERS,
                '$HTTP["url"] =~ "%s" {' % route,
                '    fastcgi.server = ( "/" => ( %s ) )' % ", ".join(
                    '( "socket" => "%s", "check-local" => "disable" )' % x for x in socks),
                "}", ""]))
        web = stack.start(["lighttpd", "-D", "-f", conf], "lighttpd")
    if not wait_port(port, web):
        raise RuntimeError("%s did not start (see %s)" % (setup, d))
    time.sleep(0.3)
    name = "nginx" if setup == "fcgi-nginx" else "lighttpd"
    # nginx's workers, and lighttpd's with server.max-worker: the master's children
    pids = [web.pid] + (nginx_workers(web.pid) if name == "nginx" or LIGHTTPD_WORKERS else [])
    stack.measured["fcgi-sse"] = [x.pid for x in resps]
    stack.measured[name] = pids
    if setup == "mercure-lighttpd":
        return {"Authorization": "Bearer " + mercure_token()}
    return {"Authorization": "Bearer " + CHAN_KEY}


def proc_counts(stack):
    """{group: (processes, threads, open files of its fullest process)}, with the streams
    open: what the group's limits (RLIMIT_NOFILE per process, threads) must allow."""
    out = {}
    for k, pids in stack.measured.items():
        procs = threads = fds = 0
        for p in pids:
            try:
                threads += len(os.listdir("/proc/%d/task" % p))
                fds = max(fds, len(os.listdir("/proc/%d/fd" % p)))
                procs += 1
            except OSError:
                continue
        out[k] = (procs, threads, fds)
    return out


def chan_sample(stack):
    """{group: (rss_kb, pss_kb, cpu_ticks, cpu_ns)} summed over each group's processes."""
    if stack.refresh:
        stack.refresh()
    out = {}
    for k, pids in stack.measured.items():
        rss = pss = ticks = 0
        for p in pids:
            try:
                r, t = proc_sample(p)
            except OSError:
                continue
            rss, ticks, pss = rss + r, ticks + t, pss + pss_kb(p)
        out[k] = (rss, pss, ticks, cpu_ns(pids))
    return out


class Publisher:
    """POSTs messages "SEQ PUBLISH_US" to /publish?channel=NAME over one keep-alive
    connection; records each answer (its JSON) and the time the POST took."""

    def __init__(self, port, channel, headers):
        import http.client
        self.http = http.client
        self.port, self.channel, self.headers = port, channel, headers
        self.conn = None
        self.timeout = 30               # seconds, per attempt
        self.answers, self.errors, self.sent_at, self.took = [], [], [], []

    def message(self, seq):
        """(path, body, headers) of message seq."""
        body = "%d %d" % (seq, int(time.time() * 1e6))
        return ("/publish?channel=" + self.channel, body,
                dict(self.headers, **{"Content-Type": "text/plain"}))

    def answer(self, data):
        """What the 2xx answer `data` says (a dict)."""
        try:
            return json.loads(data)
        except ValueError:
            return {"raw": data[:200].decode("latin-1")}

    def publish(self, seq):
        path, body, hdr = self.message(seq)
        t = time.monotonic()
        for attempt in (1, 2):
            try:
                if self.conn is None:
                    self.conn = self.http.HTTPConnection("127.0.0.1", self.port,
                                                        timeout=self.timeout)
                self.conn.request("POST", path, body, hdr)
                r = self.conn.getresponse()
                data = r.read()
                if r.status // 100 != 2:
                    self.errors.append("%d %s" % (r.status, data[:100]))
                    self.answers.append({})
                else:
                    self.answers.append(self.answer(data))
                break
            except (OSError, self.http.HTTPException) as e:
                self.conn = None
                if attempt == 2:
                    self.errors.append(repr(e))
                    self.answers.append({})
        self.sent_at.append(t)
        self.took.append(time.monotonic() - t)

    def run(self, first, last, rate):
        t0 = time.monotonic()
        for k, seq in enumerate(range(first, last + 1)):
            due = t0 + k / rate if rate else 0
            d = due - time.monotonic()
            if d > 0:
                time.sleep(d)
            self.publish(seq)

    def run_open(self, first, last, rate, workers=16):
        """Open loop: each message at its due time whatever the answers to the earlier
        ones, from `workers` threads with a keep-alive connection each (a message waits
        only when all are busy)."""
        import queue
        import threading
        q = queue.Queue()
        lock = threading.Lock()
        pubs = [type(self)(self.port, self.channel, self.headers) for _ in range(workers)]

        def work(pb):
            while True:
                seq = q.get()
                if seq is None:
                    return
                pb.publish(seq)
                with lock:
                    self.sent_at.append(pb.sent_at[-1])
                    self.took.append(pb.took[-1])
                    self.answers.append(pb.answers[-1])
        ths = [threading.Thread(target=work, args=(pb,), daemon=True) for pb in pubs]
        for t in ths:
            t.start()
        t0 = time.monotonic()
        for k, seq in enumerate(range(first, last + 1)):
            d = t0 + k / rate - time.monotonic()
            if d > 0:
                time.sleep(d)
            q.put(seq)
        for _ in ths:
            q.put(None)
        for t in ths:
            t.join(120)
        self.sent_at.sort()
        for pb in pubs:
            self.errors += pb.errors

    def rate(self):
        if len(self.sent_at) < 2:
            return float("nan")
        return (len(self.sent_at) - 1) / (self.sent_at[-1] - self.sent_at[0])

    def subscribers(self):
        s = [a.get("subscribers") for a in self.answers if isinstance(a, dict)]
        s = [int(x) for x in s if isinstance(x, (int, str)) and str(x).isdigit()]
        return (min(s), max(s)) if s else (None, None)

    def msg_id(self, k):
        """The id the server gave the k-th message published (1-based)."""
        a = self.answers[k - 1] if len(self.answers) >= k else {}
        for key in ("id", "last_message_id"):
            if key in a:
                return str(a[key])
        return None


class MercurePublisher(Publisher):
    """The same messages published to the Mercure hub: a form with the channel's topic
    (mercure_topic) and data "SEQ PUBLISH_US"; the answer is the update's id."""

    def message(self, seq):
        body = urllib.parse.urlencode({"topic": mercure_topic(self.channel),
                                       "data": "%d %d" % (seq, int(time.time() * 1e6))})
        return (MERCURE_HUB, body,
                dict(self.headers, **{"Content-Type": "application/x-www-form-urlencoded"}))

    def answer(self, data):
        return {"id": data.decode("utf-8", "replace").strip()}


def chan_loader(loader, port, n, path, expect, wait_s, rate=4000, headers=(), sources=0,
                answer_wait=None):
    argv = [loader, "-q", "-n", str(n), "-r", str(rate), "-d", str(wait_s),
            "--expect", expect]
    if answer_wait is not None:
        argv += ["--answer-wait", str(answer_wait)]
    for h in headers:
        argv += ["-H", h]
    if sources:
        argv += ["--sources", str(sources)]
    return subprocess.Popen(argv + ["127.0.0.1", str(port), path], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


# sse-load's counts, summed over the loaders of one run (the rest: the largest of them)
LOADER_SUMS = ("streams_requested", "streams_established", "streams_refused", "refused_503",
               "streams_failed", "streams_ended_early", "events", "msgs", "msgs_lost",
               "msgs_dups", "msgs_reordered", "msgs_extra", "other_events", "bad_data",
               "clients_with_all", "clients_complete")


def chan_run(setup, build, nm, loader, n, duration, tmp, resume, mode="closed",
             answer_wait=None, probe=False, wait_s=None, paths=None, sources=0):
    """One setup, n subscribers (see the header). answer_wait: sse-load --answer-wait.
    probe: before publishing, one POST to another channel with a 5 s timeout; if it gets no
    answer (a front whose every worker holds a stream: Apache), nothing is published and
    res["publish_blocked"] says so. paths: [(count, path)], one sse-load each, instead of n
    on channel bench, each started once the one before has all its streams (--mercure: the
    hub's exact and pattern subscribers). sources: sse-load --sources."""
    import threading
    stack = Stack(tempfile.mkdtemp(prefix="chan-%s-%d-" % (setup, n), dir=tmp))
    port = free_port()
    res = {"setup": setup, "n": n, "mode": mode}
    mercure = setup == "mercure-lighttpd"
    new_pub = MercurePublisher if mercure else Publisher
    paths = paths or [(n, "/events?channel=bench")]
    try:
        hdr = chan_start(setup, stack, build, nm, port)
        # warm-up: 10 subscribers get 5 messages on another channel (topic)
        w = chan_loader(loader, port, 10, mercure_paths("warm", 10, 0)[0][1] if mercure
                        else "/events?channel=warm", "1-5", 5)
        time.sleep(0.5)
        new_pub(port, "warm", hdr).run(1, 5, 20)
        w.communicate(timeout=30)
        if probe:
            # The warm-up's clients have left, but a front notices that only when it next
            # writes to them (an event, or the heartbeat 15 s later): until then Apache
            # keeps a worker on each (10 of Debian's 150). Two more messages (the first
            # write draws the client's RST, the second fails) let go of them.
            Publisher(port, "warm", hdr).run(6, 7, 5)
        time.sleep(1.0)
        idle = chan_sample(stack)
        res["load"] = loadavg()
        m = int(duration * CHAN_PUB_RATE)
        log("channels: %s, %d subscribers, %d messages at %g/s, %s loop (load %s)"
            % (setup, n, m, CHAN_PUB_RATE, mode, res["load"]))
        started = [threading.Event() for _ in paths]
        done = [threading.Event() for _ in paths]
        err, marks, lock = [], {}, threading.Lock()

        def reader(i, p):
            for line in p.stderr:
                if "measure start" in line:
                    started[i].set()
                elif "sse-load: complete" in line:
                    with lock:
                        done[i].set()
                        if all(x.is_set() for x in done):    # the last one complete
                            marks["end"] = chan_sample(stack)
                            marks["t_end"] = time.monotonic()
                            marks["procs"] = proc_counts(stack)
                elif "measure end" not in line and line.strip():
                    err.append(line.strip())
            started[i].set()
            done[i].set()
        ps, ths = [], []
        for i, (k, path) in enumerate(paths):
            ps.append(chan_loader(loader, port, k, path, "1-%d" % m, wait_s or duration + 60,
                                  sources=sources, answer_wait=answer_wait))
            ths.append(threading.Thread(target=reader, args=(i, ps[-1]), daemon=True))
            ths[-1].start()
            started[i].wait(120)
        time.sleep(1.0)
        res["publish_blocked"] = False
        if probe:
            pb = Publisher(port, "probe", hdr)
            pb.timeout = PROBE_TIMEOUT
            pb.publish(1)
            res["publish_blocked"] = bool(pb.errors)
            res["probe_error"] = pb.errors[:1]
        s0 = chan_sample(stack)
        t0 = time.monotonic()
        pub = new_pub(port, "bench", hdr)
        if res["publish_blocked"]:
            log("channels: %s: the probe POST got no answer (%s): nothing published"
                % (setup, "; ".join(pub.errors[:1] or res["probe_error"])))
        elif mode == "open":
            pub.run_open(1, m, CHAN_PUB_RATE)
        else:
            pub.run(1, m, CHAN_PUB_RATE)
        t_pub = time.monotonic()
        deadline = time.monotonic() + (0 if res["publish_blocked"] else 10)
        if not all(ev.wait(max(0, deadline - time.monotonic())) for ev in done):
            with lock:
                if "end" not in marks:
                    marks["end"] = chan_sample(stack)
                    marks["t_end"] = time.monotonic()
                    marks["procs"] = proc_counts(stack)
            for p in ps:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
        kv, res["loaders"] = {}, []
        for p in ps:
            out, _ = p.communicate(timeout=60)
            one = {}
            for line in out.split():
                if "=" in line:
                    k, v = line.split("=", 1)
                    v = one[k] = float(v)
                    kv[k] = kv.get(k, 0) + v if k in LOADER_SUMS else max(kv.get(k, v), v)
            if len(ps) > 1:
                res["loaders"].append(one)
        for th in ths:
            th.join(5)
        s1 = marks.get("end") or chan_sample(stack)
        res["procs"] = marks.get("procs") or {}
        res.update(kv)
        res["errors"] = err + pub.errors[:3]
        res["publish_errors"] = len(pub.errors)
        res["publish_rate"] = pub.rate()
        res["publish_ms_p99"] = sorted(pub.took)[int(0.99 * (len(pub.took) - 1))] * 1000 \
            if pub.took else float("nan")
        res["published"] = len(pub.sent_at)
        res["subscribers_seen"] = pub.subscribers()
        res["window_s"] = marks.get("t_end", t_pub) - t0
        res["groups"] = {}
        for g in stack.measured:
            res["groups"][g] = {"rss_idle_kb": idle[g][0], "pss_idle_kb": idle[g][1],
                                "rss_kb": s1[g][0], "pss_kb": s1[g][1],
                                "cpu_ticks": s1[g][2] - s0[g][2],
                                "cpu_ns": s1[g][3] - s0[g][3]}
        res["load_after"] = loadavg()
        if resume:
            res["resume"] = chan_resume(setup, port, hdr, loader, resume)
        return res
    finally:
        if stack.refresh:
            stack.refresh()
        pids = [w for pl in stack.measured.values() for w in pl[1:]] \
            if any(p.args[0] in ("nginx", APACHE2) for p in stack.procs) else []
        stack.stop()
        for w in pids:                  # workers of a master that had to be killed
            try:
                with open("/proc/%d/cmdline" % w, "rb") as f:
                    cmd = f.read()
                if stack.tmp.encode() in cmd or b"nginx" in cmd:
                    os.kill(w, signal.SIGKILL)
            except OSError:
                pass


def chan_resume(setup, port, hdr, loader, n, total=200, back=100):
    """Publishes `total` messages to a fresh channel, then `n` subscribers at once with a
    Last-Event-ID `back` messages before the end: each must get exactly those `back`."""
    pub = Publisher(port, "resume", hdr)
    pub.run(1, total, 0)
    last = pub.msg_id(total - back)
    res = {"n": n, "load": loadavg(), "last_event_id": last, "publish_errors": len(pub.errors)}
    if last is None:
        res["error"] = "no id in the publish answer: %r" % (pub.answers[-1:],)
        return res
    log("channels: %s, resume: %d subscribers at once with Last-Event-ID %s"
        % (setup, n, last))
    p = chan_loader(loader, port, n, "/events?channel=resume",
                    "%d-%d" % (total - back + 1, total), 10,
                    rate=0, headers=["Last-Event-ID: " + last], sources=SOURCES)
    out, errs = p.communicate(timeout=120)
    for line in out.split():
        if "=" in line:
            k, v = line.split("=", 1)
            res[k] = float(v)
    res["errors"] = [e for e in errs.splitlines() if "measure" not in e and "complete" not in e]
    return res


def chan_row(r, groups):
    """(CPU us per delivered event, RSS KB per subscriber, PSS KB per subscriber) of the
    given process groups of one run."""
    ev = r.get("msgs", 0)
    g = [r["groups"][x] for x in groups if x in r["groups"]]
    ticks = sum(x["cpu_ticks"] for x in g)
    us = ticks * 1e6 / TICK / ev if ev else float("nan")
    n = r.get("streams_established") or r["n"]
    rss = sum(x["rss_kb"] - x["rss_idle_kb"] for x in g) / n
    pss = sum(x["pss_kb"] - x["pss_idle_kb"] for x in g) / n
    return us, rss, pss


def f2(v, fmt="%.2f"):
    return fmt % v if v == v else "-"


def chan_rows(results, ns, add):
    add("| subscribers | setup | processes counted | load before (1/5/15 min) | subscribed | "
        "published / rate msg/s | delivered / expected | lost | dups / reordered / extra / other | "
        "latency p50 / p99 / max ms | CPU µs per delivered event | RSS KB per subscriber "
        "(PSS) | publish POST p99 ms |")
    add("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for n in ns:
        for setup in ALL_SETUPS:
            r = results.get(n, {}).get(setup)
            if not r:
                continue
            views = {"nchan": [("nginx (master + 2 workers)", ["nginx"])],
                     "nchan-redis": [("nginx (master + 2 workers)", ["nginx"]),
                                     ("redis-server", ["redis"]),
                                     ("both", ["nginx", "redis"])],
                     "fcgi-redis": [("2 fcgi-sse only", ["fcgi-sse"]),
                                    ("lighttpd only", ["lighttpd"]),
                                    ("redis-server", ["redis"]),
                                    ("all", ["fcgi-sse", "lighttpd", "redis"])],
                     "node": [("node", ["node"])],
                     "fcgi-nginx": [("fcgi-sse only", ["fcgi-sse"]),
                                    ("nginx only", ["nginx"]),
                                    ("both", ["fcgi-sse", "nginx"])],
                     "fcgi-lighttpd": [("fcgi-sse only", ["fcgi-sse"]),
                                       ("lighttpd only", ["lighttpd"]),
                                       ("both", ["fcgi-sse", "lighttpd"])]}[setup]
            for label, groups in views:
                us, rss, pss = chan_row(r, groups)
                want = r.get("msgs_expected_per_client", 0) * r.get("streams_established", 0)
                add("| %d | %s | %s | %s | %d | %d / %s | %d / %d | %d | %d / %d / %d / %d | "
                    "%s / %s / %s | %s | %s (%s) | %s |" % (
                        n, CHAN_LABEL[setup], label, r["load"],
                        r.get("streams_established", 0), r["published"],
                        f2(r["publish_rate"]), r.get("msgs", 0), want,
                        r.get("msgs_lost", -1), r.get("msgs_dups", 0),
                        r.get("msgs_reordered", 0), r.get("msgs_extra", 0),
                        r.get("other_events", 0), f2(r.get("msg_latency_ms_p50", float("nan")),
                                                     "%.1f"),
                        f2(r.get("msg_latency_ms_p99", float("nan")), "%.1f"),
                        f2(r.get("msg_latency_ms_max", float("nan")), "%.1f"),
                        f2(us), f2(rss), f2(pss), f2(r["publish_ms_p99"], "%.1f")))


def chan_tables(results, ns, duration, opened=None):
    out = []
    add = out.append
    chan_rows(results, ns, add)
    if opened:
        add("")
        add("Open loop (the same, but each message POSTed at its due time from a pool of 16 "
            "keep-alive connections, without waiting for the answers to the earlier ones: what "
            "the server delivers when the publisher does not slow down with it):")
        add("")
        chan_rows(opened, sorted(opened), add)
    add("")
    add("Ratios (fcgi-sse's own process against the whole other server; latency through the "
        "web server):")
    add("")
    add("| subscribers | ratio | value | goal (at the largest count; in brackets: reported "
        "beside) | met |")
    add("| --- | --- | --- | --- | --- |")
    goals = []
    for n in ns:
        R = results.get(n, {})
        nc, nd, fn, fl = (R.get(x) for x in CHAN_SETUPS)

        def ratio(a, b):
            return a / b if a == a and b == b and b else float("nan")

        def line(label, v, limit, goal, counted=True):
            met = v <= limit if v == v else False
            big = n == max(ns) and counted
            add("| %d | %s | %s | %s | %s |" % (n, label, f2(v), goal if big else "(%s)" % goal,
                                                ("**yes**" if met else "**NO**")
                                                if big else ("yes" if met else "no")))
            if big:
                goals.append((label, v, limit, met))
        if fn and nc:
            line("CPU/event: fcgi-sse (behind nginx) / nchan", ratio(chan_row(fn, ["fcgi-sse"])[0],
                 chan_row(nc, ["nginx"])[0]), 0.5, "≤ 0.5")
        if fl and nc:
            line("CPU/event: fcgi-sse (behind lighttpd) / nchan",
                 ratio(chan_row(fl, ["fcgi-sse"])[0], chan_row(nc, ["nginx"])[0]), 0.5, "≤ 0.5",
                 False)
        if fn and nd:
            line("CPU/event: fcgi-sse (behind nginx) / node", ratio(chan_row(fn, ["fcgi-sse"])[0],
                 chan_row(nd, ["node"])[0]), 0.25, "≤ 0.25")
        if fn and nc:
            line("RSS/subscriber: fcgi-sse (behind nginx) / nchan",
                 ratio(chan_row(fn, ["fcgi-sse"])[1], chan_row(nc, ["nginx"])[1]), 0.5, "≤ 0.5")
            line("p99 latency: nginx + fcgi-sse / nchan",
                 ratio(fn.get("msg_latency_ms_p99", float("nan")),
                       nc.get("msg_latency_ms_p99", float("nan"))), 1.5, "≤ 1.5")
        if fl and nc:
            line("p99 latency: lighttpd + fcgi-sse / nchan (reported beside)",
                 ratio(fl.get("msg_latency_ms_p99", float("nan")),
                       nc.get("msg_latency_ms_p99", float("nan"))), 1.5, "≤ 1.5", False)
        if fn and nc:
            line("CPU/event: nginx + fcgi-sse (both) / nchan", ratio(
                chan_row(fn, ["fcgi-sse", "nginx"])[0], chan_row(nc, ["nginx"])[0]), 1.0, "info",
                False)
        for key in ("fcgi-nginx", "fcgi-lighttpd"):
            r = R.get(key)
            if r:
                ok = (r.get("msgs_lost", 1) == 0 and r.get("streams_established") == n and
                      r["publish_rate"] >= 0.99 * CHAN_PUB_RATE)
                big = n == max(ns) and key == "fcgi-nginx"
                add("| %d | %s: 0 lost, %g msg/s held | lost %d, %s msg/s | %s | %s |" % (
                    n, CHAN_LABEL[key], CHAN_PUB_RATE, r.get("msgs_lost", -1),
                    f2(r["publish_rate"]), "0, %g" % CHAN_PUB_RATE if big else
                    "(0, %g)" % CHAN_PUB_RATE,
                    ("**yes**" if ok else "**NO**") if big else ("yes" if ok else "no")))
                if big:
                    goals.append((CHAN_LABEL[key] + ": 0 lost, 10 msg/s", 0, 0, ok))
    for n in sorted(opened or {}):
        R = opened[n]
        nc = R.get("nchan")
        for key in ("fcgi-nginx", "fcgi-lighttpd"):
            r = R.get(key)
            if r and nc:
                v = (r.get("msg_latency_ms_p99", float("nan")) /
                     nc.get("msg_latency_ms_p99", float("nan")))
                add("| %d | open loop: p99 latency %s / nchan | %s | (≤ 1.5) | %s |" % (
                    n, CHAN_LABEL[key], f2(v), "yes" if v <= 1.5 else "no"))
            if r:
                ok = (r.get("msgs_lost", 1) == 0 and r.get("streams_established") == n and
                      r["publish_rate"] >= 0.99 * CHAN_PUB_RATE)
                add("| %d | open loop: %s: 0 lost, %g msg/s held | lost %d, %s msg/s | (0, %g) "
                    "| %s |" % (n, CHAN_LABEL[key], CHAN_PUB_RATE, r.get("msgs_lost", -1),
                                f2(r["publish_rate"]), CHAN_PUB_RATE, "yes" if ok else "no"))
    add("")
    rn = [r["resume"]["n"] for R in results.values() for r in R.values() if r.get("resume")]
    add("Resume: %s subscribers at once (from %d loopback addresses) with the Last-Event-ID "
        "of message 100 of 200 published (a fresh channel, same server, after the run above); "
        "each must get exactly messages 101..200 within 2 s. Node/Express: no history, not run."
        % ("{:,}".format(rn[0]) if rn else "-", SOURCES))
    add("")
    add("| setup | load before | subscribed | with exactly the 100 | lost | dups / reordered / "
        "extra / other | per client connect→all 100 p50 / p99 / max ms | first connect → last "
        "client complete ms | goal met |")
    add("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for n in ns:
        for setup in ALL_SETUPS:
            r = results.get(n, {}).get(setup, {}).get("resume")
            if not r:
                continue
            if "error" in r:
                add("| %s | %s | - | - | - | - | - | - | %s |" % (CHAN_LABEL[setup], r["load"],
                                                                 r["error"]))
                continue
            exact = (r.get("clients_with_all") == r["n"] and r.get("msgs_dups", 1) == 0 and
                     r.get("msgs_reordered", 1) == 0 and
                     r.get("msgs_extra", 1) == 0 and r.get("other_events", 1) == 0)
            ok = exact and 0 <= r.get("complete_all_ms", -1) <= 2000
            add("| %s | %s | %d | %d | %d | %d / %d / %d / %d | %s / %s / %s | %s | %s |" % (
                CHAN_LABEL[setup], r["load"], r.get("streams_established", 0),
                r.get("clients_with_all", 0), r.get("msgs_lost", -1), r.get("msgs_dups", 0),
                r.get("msgs_reordered", 0),
                r.get("msgs_extra", 0), r.get("other_events", 0),
                f2(r.get("complete_ms_p50", float("nan")), "%.0f"),
                f2(r.get("complete_ms_p99", float("nan")), "%.0f"),
                f2(r.get("complete_ms_max", float("nan")), "%.0f"),
                f2(r.get("complete_all_ms", float("nan")), "%.0f"),
                "**yes**" if ok else "**NO**"))
            if setup in ("fcgi-nginx", "fcgi-redis"):
                goals.append(("resume, " + CHAN_LABEL[setup], r.get("complete_all_ms"), 2000, ok))
    return out, goals


def redis_us_per_msg(r):
    """Redis's own CPU per published message, in us (schedstat: exact)."""
    g = r["groups"].get("redis")
    return g["cpu_ns"] / 1e3 / r["published"] if g and r.get("published") else float("nan")


def redis_tables(results, ns):
    """The goals of --channels --redis (issue 10): 0 lost for both, p99 through lighttpd + 2
    responders <= 1.5 x nchan's with Redis, Redis's CPU per message flat from the smallest to
    the largest N, the responders' CPU per delivered event <= 1.2 x the in-memory mode's."""
    out, goals = [], []
    add = out.append
    add("Ratios with Redis (each setup with a Redis of its own; Redis's CPU from "
        "/proc/PID/task/*/schedstat, exact):")
    add("")
    add("| subscribers | ratio | value | goal (at the largest count; in brackets: reported "
        "beside) | met |")
    add("| --- | --- | --- | --- | --- |")

    def line(n, label, v, ok, goal, counted=True):
        big = n == max(ns) and counted
        add("| %d | %s | %s | %s | %s |" % (n, label, v, goal if big else "(%s)" % goal,
                                            ("**yes**" if ok else "**NO**") if big
                                            else ("yes" if ok else "no")))
        if big:
            goals.append((label, v, 0, ok))
    for n in ns:
        R = results.get(n, {})
        nr, fr, fl = R.get("nchan-redis"), R.get("fcgi-redis"), R.get("fcgi-lighttpd")
        for key, r in (("nchan-redis", nr), ("fcgi-redis", fr)):
            if r:
                ok = (r.get("msgs_lost", 1) == 0 and r.get("streams_established") == n and
                      r["publish_rate"] >= 0.99 * CHAN_PUB_RATE)
                line(n, "%s: 0 lost, %g msg/s" % (CHAN_LABEL[key], CHAN_PUB_RATE),
                     "lost %d, %s msg/s" % (r.get("msgs_lost", -1), f2(r["publish_rate"])), ok,
                     "0, %g" % CHAN_PUB_RATE)
        if nr and fr:
            v = (fr.get("msg_latency_ms_p99", float("nan")) /
                 nr.get("msg_latency_ms_p99", float("nan")))
            line(n, "p99 latency: lighttpd + 2 fcgi-sse + Redis / nchan + Redis", f2(v),
                 v <= 1.5, "≤ 1.5")
        if fr and fl:
            v = chan_row(fr, ["fcgi-sse"])[0] / chan_row(fl, ["fcgi-sse"])[0]
            line(n, "CPU/event: the 2 responders with Redis / 1 in memory", f2(v), v <= 1.2,
                 "≤ 1.2")
        for key, r in (("nchan-redis", nr), ("fcgi-redis", fr)):
            if r:
                add("| %d | Redis CPU per message, %s | %s µs | (info) | - |" % (
                    n, CHAN_LABEL[key], f2(redis_us_per_msg(r), "%.1f")))
    lo, hi = min(ns), max(ns)
    if lo != hi:
        for key in ("nchan-redis", "fcgi-redis"):
            a, b = results.get(lo, {}).get(key), results.get(hi, {}).get(key)
            if a and b:
                v = redis_us_per_msg(b) / redis_us_per_msg(a)
                # "does not grow": within the noise of a 200-message run (25 %)
                line(hi, "Redis CPU per message at %d / at %d subscribers, %s"
                     % (hi, lo, CHAN_LABEL[key]), f2(v), v <= 1.25, "≤ 1.25 (flat)",
                     key == "fcgi-redis")
    return out, goals


def channels_main(a):
    global LIGHTTPD_WORKERS
    LIGHTTPD_WORKERS = a.lighttpd_workers
    setups = [s for s in (a.setups or ",".join(REDIS_SETUPS if a.redis else CHAN_SETUPS))
              .split(",") if s]
    tools = ["lighttpd", "spawn-fcgi", "nginx"]
    tools += ["node", "npm"] if "node" in setups else []
    tools += ["redis-server"] if any("redis" in x for x in setups) else []
    if any(x not in ALL_SETUPS for x in setups):
        sys.exit("bench: --setups: one of %s" % ",".join(ALL_SETUPS))
    hard = prepare(a, "--channels", tools, binary=any(x.startswith("fcgi") for x in setups))
    if any(x.startswith("nchan") for x in setups) and not os.path.exists(NCHAN_MODULE):
        sys.exit("bench: no %s (apt-get install libnginx-mod-nchan)" % NCHAN_MODULE)
    ns = [int(x) for x in a.streams.split(",")]
    if hard < max(ns) * 2 + 100:
        sys.exit("bench: %d subscribers through lighttpd need %d open files; the limit is %d"
                 % (max(ns), max(ns) * 2 + 100, hard))
    tmp = tempfile.mkdtemp(prefix="fcgi-sse-chan-")
    os.chmod(tmp, 0o711)
    try:
        loader = a.loader or build_loader(tmp)
        nm = None
        if "node" in setups:
            log("installing express with npm into " + tmp)
            subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", "--prefix",
                            tmp, "express@4"], check=True, stdout=subprocess.DEVNULL,
                           timeout=300)
            nm = os.path.join(tmp, "node_modules")
        t0 = time.time()
        results = {}
        for n in ns:
            results[n] = {}
            for setup in setups:
                resume = a.resume if (n == min(ns) and setup != "node") else 0
                r = chan_run(setup, a.build, nm, loader, n, a.duration, tmp, resume)
                log("  %s: subscribed %d, lost %d, p99 %s ms, publish rate %s; %s" % (
                    setup, r.get("streams_established", 0), r.get("msgs_lost", -1),
                    f2(r.get("msg_latency_ms_p99", float("nan")), "%.1f"),
                    f2(r["publish_rate"]), "; ".join(r["errors"][:2])))
                results[n][setup] = r
                time.sleep(1.0)
        opened = {}
        if a.open_loop and not a.redis:
            n = max(ns)
            opened[n] = {}
            for setup in setups:
                r = chan_run(setup, a.build, nm, loader, n, a.duration, tmp, 0, "open")
                log("  %s (open loop): subscribed %d, lost %d, p99 %s ms, publish rate %s; %s" % (
                    setup, r.get("streams_established", 0), r.get("msgs_lost", -1),
                    f2(r.get("msg_latency_ms_p99", float("nan")), "%.1f"),
                    f2(r["publish_rate"]), "; ".join(r["errors"][:2])))
                opened[n][setup] = r
                time.sleep(1.0)
        tables, goals = chan_tables(results, ns, a.duration, opened)
        if a.redis:
            # the goals of issue 9 do not apply to this run's setups: only the Redis ones
            more, goals = redis_tables(results, ns)
            tables += [""] + more
        out = ["Machine: " + machine_burst() + "; node " + subprocess.run(
                   ["node", "--version"], capture_output=True, text=True).stdout.strip() +
               "; nchan: " + (subprocess.run(["dpkg-query", "-W", "-f", "${Version}",
                                             "libnginx-mod-nchan"], capture_output=True,
                                            text=True).stdout or "?"),
               "Run %s, %.1f min; load after: %s. Other work on the machine is not stopped: "
               "the load column shows it." % (time.strftime("%Y-%m-%d %H:%M UTC",
                                                            time.gmtime(t0)),
                                              (time.time() - t0) / 60, loadavg()),
               "Each row: a fresh server; subscribers opened at 4000/s on one channel, then "
               "%d messages published at %g/s (one keep-alive POST each, through the same "
               "server); data `SEQ PUBLISH_US`, latency = CLOCK_REALTIME at the client's "
               "read() minus PUBLISH_US. CPU = utime+stime of the counted processes from the "
               "first POST until every client had the last message, over messages delivered; "
               "RSS (and PSS) = with every subscriber, minus after a 10-subscriber warm-up, over "
               "subscribers." % (int(a.duration * CHAN_PUB_RATE), CHAN_PUB_RATE), ""]
        out += tables
        out += ["", "Goals (%s subscribers; %s; the rest reported beside): %d of %d "
                "met." % ("{:,}".format(max(ns)), "with Redis" if a.redis else "through nginx",
                          sum(1 for g in goals if g[3]), len(goals))]
        report(a, out, {"closed": {str(k): v for k, v in results.items()},
                        "open": {str(k): v for k, v in opened.items()}})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- --fronts

FRONT_GROUP = {"nchan": "nginx", "fcgi-nginx": "nginx", "fcgi-lighttpd": "lighttpd",
               "apache-debian": "apache", "apache-1k": "apache", "apache-10k": "apache"}
FRONT_ANSWER_WAIT = 20                  # s: streams not answered by then are "waiting"
PROBE_TIMEOUT = 5                       # s, per attempt (2) of the probe POST


def fronts_setups(n):
    """The setups run at n streams: nchan, fcgi-sse behind nginx, lighttpd, Apache with
    Debian's defaults and Apache sized for n (1,000 or 10,000)."""
    return ["nchan", "fcgi-nginx", "fcgi-lighttpd", "apache-debian",
            "apache-1k" if n <= 1000 else "apache-10k"]


def fronts_row(r):
    """The cells of one --fronts run (see fronts_tables)."""
    front = FRONT_GROUP[r["setup"]]
    g = r["groups"]
    held = int(r.get("streams_established", 0))
    asked = int(r.get("streams_requested", r["n"]))
    refused = int(r.get("streams_refused", 0) + r.get("streams_failed", 0))
    waiting = asked - held - refused
    ev = r.get("msgs", 0)

    def us(groups):
        ns = sum(g[x]["cpu_ns"] for x in groups if x in g)
        return ns / 1e3 / ev if ev else float("nan")

    def pss(groups):
        kb = sum(g[x]["pss_kb"] - g[x]["pss_idle_kb"] for x in groups if x in g)
        return kb / held if held else float("nan")
    resp = ["fcgi-sse"] if "fcgi-sse" in g else []
    procs = r.get("procs", {})
    fp = procs.get(front, (0, 0, 0))
    rp = procs.get("fcgi-sse", (0, 0, 0))
    want = int(r.get("msgs_expected_per_client", 0)) * held
    return [
        "{:,}".format(r["n"]), CHAN_LABEL[r["setup"]],
        "%s → %s" % (r["load"].split()[0], r["load_after"].split()[0]), str(held), str(refused),
        str(waiting),
        "**no answer in %d s**" % PROBE_TIMEOUT if r.get("publish_blocked") else
        "%d at %s/s" % (r["published"], f2(r["publish_rate"], "%.1f")),
        "-" if r.get("publish_blocked") else "%d / %d" % (ev, want),
        str(int(r.get("msgs_lost", -1))) if held and not r.get("publish_blocked") else "-",
        "%s / %s" % (f2(r.get("msg_latency_ms_p50", float("nan")), "%.1f"),
                     f2(r.get("msg_latency_ms_p99", float("nan")), "%.1f")) if ev else "-",
        "%s / %s / %s" % (f2(us([front])), f2(us(resp)) if resp else "-", f2(us([front] + resp))),
        "%s / %s / %s" % (f2(pss([front])), f2(pss(resp)) if resp else "-",
                          f2(pss([front] + resp))),
        "%.1f → %.1f" % (g[front]["pss_idle_kb"] / 1024, g[front]["pss_kb"] / 1024),
        "%d / %d" % (fp[0], fp[1]), "%d / %s" % (fp[2], rp[2] if resp else "-")]


def fronts_tables(runs):
    out = ["| streams asked | setup | load (1 min) before → after | held (200) | "
           "refused or failed | waiting (no answer in %d s) | published | delivered / "
           "expected | lost | latency p50 / p99 ms | CPU µs per delivered event: front / "
           "responder / total | PSS KB per held stream: front / responder / total | front "
           "PSS MB: idle → with the streams | front processes / threads | open files: "
           "fullest front process / responder |"
           % FRONT_ANSWER_WAIT,
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | "
           "--- | --- |"]
    for r in runs:
        out.append("| " + " | ".join(fronts_row(r)) + " |")
    out += ["", "Apache's settings (beside the shipped snippet, unchanged: `ProxySet "
            "flushpackets=on timeout=60`):", "",
            "| setup | " + " | ".join(sorted({k for v in APACHE_MPM.values() for k, _ in v},
                                           key=lambda k: ORDER.index(k))) + " |",
            "| --- |" + " --- |" * len({k for v in APACHE_MPM.values() for k, _ in v})]
    keys = sorted({k for v in APACHE_MPM.values() for k, _ in v}, key=lambda k: ORDER.index(k))
    for prof, kv in APACHE_MPM.items():
        d = dict(kv)
        out.append("| %s | %s |" % (CHAN_LABEL[prof], " | ".join(
            str(d.get(k, "(default)")) for k in keys)))
    return out


ORDER = ["ServerLimit", "StartServers", "ThreadLimit", "ThreadsPerChild", "MaxRequestWorkers",
         "MinSpareThreads", "MaxSpareThreads", "MaxConnectionsPerChild",
         "AsyncRequestWorkerFactor", "ListenBacklog", "ProxyTimeout"]


def fronts_main(a):
    """--fronts: the same channel run through every front, Apache's three profiles among
    them, and Apache with Debian's defaults once more at --fronts-fit streams (under its
    150 workers, so its publish gets a worker)."""
    global LIGHTTPD_WORKERS, FRONT_ANSWER_WAIT, PROBE_TIMEOUT
    if a.smoke:
        FRONT_ANSWER_WAIT, PROBE_TIMEOUT = 5, 2
    hard = prepare(a, "--fronts", ("lighttpd", "spawn-fcgi", "nginx", APACHE2))
    if not os.path.exists(NCHAN_MODULE):
        sys.exit("bench: no %s (apt-get install libnginx-mod-nchan)" % NCHAN_MODULE)
    missing = [m for m in APACHE_MODULES
               if not os.path.exists("/usr/lib/apache2/modules/mod_%s.so" % m)]
    if missing:
        sys.exit("bench: Apache modules missing: %s" % ", ".join(missing))
    ns = [int(x) for x in a.streams.split(",")]
    only = [x for x in (a.setups or "").split(",") if x]
    plan = [(n, s) for n in ns for s in fronts_setups(n) if not only or s in only]
    if a.fronts_fit and (not only or "apache-debian" in only):
        plan.insert(0, (a.fronts_fit, "apache-debian"))
    for n, _ in plan:
        # one responder holds n streams (+ its sockets); sse-load n; nginx / lighttpd
        # 2n in 2 processes at most (lighttpd with 2 workers past 8,000)
        if n + 100 > hard:
            sys.exit("bench: %d streams need more than the %d open files allowed" % (n, hard))
    tmp = tempfile.mkdtemp(prefix="fcgi-sse-fronts-")
    os.chmod(tmp, 0o711)
    runs = []
    try:
        loader = a.loader or build_loader(tmp)
        t0 = time.time()
        for n, setup in plan:
            LIGHTTPD_WORKERS = 2 if n > 8000 else 0
            # wait_s: a closed-loop publisher slows down with the fan-out (10,000
            # subscribers on 2 cores: 2-5 msg/s), and sse-load must still see the last
            r = chan_run(setup, a.build, None, loader, n, a.duration, tmp, 0,
                         answer_wait=FRONT_ANSWER_WAIT, probe=True,
                         wait_s=a.duration * 8 + 60)
            log("  %s: held %d of %d, lost %d, p99 %s ms%s; %s" % (
                setup, r.get("streams_established", 0), n, r.get("msgs_lost", -1),
                f2(r.get("msg_latency_ms_p99", float("nan")), "%.1f"),
                ", publish blocked" if r.get("publish_blocked") else "",
                "; ".join(r["errors"][:2])))
            runs.append(r)
            time.sleep(1.0)
        out = ["Machine: " + machine_burst() + "; " + subprocess.run(
                   [APACHE2, "-v"], capture_output=True, text=True).stdout.splitlines()[0] +
               "; nchan: " + (subprocess.run(["dpkg-query", "-W", "-f", "${Version}",
                                             "libnginx-mod-nchan"], capture_output=True,
                                            text=True).stdout or "?"),
               "Run %s, %.1f min; load after: %s. Other work on the machine is not stopped: "
               "the load column shows it; CPU is CPU time (schedstat), not wall time."
               % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t0)),
                  (time.time() - t0) / 60, loadavg()),
               "Each row: a fresh front (and responder); subscribers opened at 4000/s on one "
               "channel; once all are answered (or %d s passed) one probe POST to another "
               "channel (%d s timeout, 2 attempts), then %d messages published at %g/s "
               "through the same front. CPU = CPU time of the counted processes from the "
               "first POST until every held client had the last message, over messages "
               "delivered; PSS = with every "
               "subscriber minus after a 10-subscriber warm-up, over the streams held. lighttpd "
               "runs 1 process up to 8,000 streams, 2 (server.max-worker) past it: one needs 2 "
               "open files per stream. nginx: 2 workers, worker_connections 19000."
               % (FRONT_ANSWER_WAIT, PROBE_TIMEOUT, int(a.duration * CHAN_PUB_RATE),
                  CHAN_PUB_RATE), ""]
        out += fronts_tables(runs)
        report(a, out, runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- --mercure

def mercure_main(a):
    """--mercure: the channels benchmark's method, fcgi-sse behind lighttpd, once with N
    plain channel subscribers and once as a Mercure hub with as many (exact topics and URL
    patterns), in one run; the hub's figures over the channels' (issue 21: within 1.25x)."""
    n_exact, n_pat = (240, 60) if a.smoke else (a.mercure_exact, a.mercure_patterns)
    duration = 5 if a.smoke else a.duration
    n = n_exact + n_pat
    global LIGHTTPD_MAX_CONNS
    # every subscriber, the warm-up's and the publisher's connections (two descriptors each
    # in lighttpd, which stops accepting near 90% of max-fds 20000: 8,000 fit, 9,000 do not)
    LIGHTTPD_MAX_CONNS = max(LIGHTTPD_MAX_CONNS, n + 100)
    hard = prepare(a, "--mercure", ["lighttpd", "spawn-fcgi"])
    if hard < n * 2 + 100:
        sys.exit("bench: %d subscribers through lighttpd need %d open files; the limit is %d"
                 % (n, n * 2 + 100, hard))
    tmp = tempfile.mkdtemp(prefix="fcgi-sse-mercure-")
    os.chmod(tmp, 0o711)
    try:
        loader = a.loader or build_loader(tmp)
        t0 = time.time()
        results = {}
        for setup in ("fcgi-lighttpd", "mercure-lighttpd"):
            # the same loaders for both: the channel's subscribers in the groups of the hub's
            paths = mercure_paths("bench", n_exact, n_pat)
            if setup == "fcgi-lighttpd":
                paths = [(k, "/events?channel=bench") for k, _ in paths]
            r = chan_run(setup, a.build, None, loader, n, duration, tmp, 0, paths=paths,
                         sources=SOURCES)
            log("  %s: subscribed %d, lost %d, p99 %s ms, publish rate %s; %s" % (
                setup, r.get("streams_established", 0), r.get("msgs_lost", -1),
                f2(r.get("msg_latency_ms_p99", float("nan")), "%.1f"),
                f2(r["publish_rate"]), "; ".join(r["errors"][:2])))
            results[setup] = r
            time.sleep(1.0)
        out = ["Machine: " + machine_burst(),
               "Run %s, %.1f min; load after: %s. Other work on the machine is not stopped: "
               "the load column shows it." % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t0)),
                                              (time.time() - t0) / 60, loadavg()),
               "Each row: a fresh fcgi-sse under spawn-fcgi behind lighttpd (demo.conf's "
               "settings); %d subscribers opened at 4000/s, then %d messages published at %g/s "
               "(one keep-alive POST each through lighttpd), data `SEQ PUBLISH_US`. Channels: "
               "every subscriber on /events?channel=bench, POST /publish. Mercure hub "
               "(--mercure --mercure-anonymous, a legacy-draft HS256 publisher token as "
               "Symfony's): %d subscribers with match=<the topic> (exact), %d with "
               "match_urlpattern spread over %d patterns that all match it, POST "
               "/.well-known/mercure with topic and data. One sse-load per path (the channel's "
               "subscribers in groups of the same sizes), each started once the one before "
               "has all its streams, clients from 127.0.0.1-%d (latency columns: the largest "
               "of their quantiles). CPU = utime+stime of the counted "
               "processes from the first POST until every client had the last message, over "
               "messages delivered; RSS (PSS) = with every subscriber, minus after a "
               "10-subscriber warm-up, over subscribers."
               % (n, int(duration * CHAN_PUB_RATE), CHAN_PUB_RATE, n_exact, n_pat,
                  min(n_pat, len(MERCURE_PATTERNS)), SOURCES), ""]
        out.append("| setup | processes counted | load before (1/5/15 min) | subscribed | "
                   "published / rate msg/s | delivered / expected | lost | dups / reordered / "
                   "extra / other | latency p50 / p99 / max ms | CPU µs per delivered event | "
                   "RSS KB per subscriber (PSS) |")
        out.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        views = [("fcgi-sse only", ["fcgi-sse"]), ("lighttpd only", ["lighttpd"]),
                 ("both", ["fcgi-sse", "lighttpd"])]
        fig = {}
        for setup, r in results.items():
            for label, groups in views:
                us, rss, pss = chan_row(r, groups)
                fig[setup, label] = (us, rss)
                want = r.get("msgs_expected_per_client", 0) * r.get("streams_established", 0)
                out.append("| %s | %s | %s | %d | %d / %s | %d / %d | %d | %d / %d / %d / %d | "
                           "%s / %s / %s | %s | %s (%s) |" % (
                               CHAN_LABEL[setup], label, r["load"],
                               r.get("streams_established", 0), r["published"],
                               f2(r["publish_rate"]), r.get("msgs", 0), want,
                               r.get("msgs_lost", -1), r.get("msgs_dups", 0),
                               r.get("msgs_reordered", 0), r.get("msgs_extra", 0),
                               r.get("other_events", 0),
                               f2(r.get("msg_latency_ms_p50", float("nan")), "%.1f"),
                               f2(r.get("msg_latency_ms_p99", float("nan")), "%.1f"),
                               f2(r.get("msg_latency_ms_max", float("nan")), "%.1f"),
                               f2(us), f2(rss), f2(pss)))
        out += ["", "| Mercure hub / channels | CPU per delivered event | RSS per subscriber |",
                "| --- | --- | --- |"]
        met = []
        for label, _ in views:
            (cu, cr), (mu, mr) = fig["fcgi-lighttpd", label], fig["mercure-lighttpd", label]
            ratio = lambda x, y: x / y if y and y == y and y > 0 else float("nan")
            rc, rr = ratio(mu, cu), ratio(mr, cr)
            out.append("| %s | %s x | %s x |" % (label, f2(rc), f2(rr)))
            if label == "fcgi-sse only":
                met = [("responder CPU per delivered event <= 1.25 x channels", rc),
                       ("responder RSS per subscriber <= 1.25 x channels", rr)]
        lost = sum(r.get("msgs_lost", 1) for r in results.values())
        goals = [(name, v == v and v <= 1.25) for name, v in met]
        goals.append(("0 lost in both", lost == 0))
        out += ["", "Goals (issue 21): %d of %d met: %s." % (
            sum(1 for _, ok in goals if ok), len(goals),
            "; ".join("%s: %s" % (name, "met" if ok else "MISSED") for name, ok in goals))]
        report(a, out, results)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- --runs

# Line SEQ (1..100) at start + (SEQ-1)/10 s on a fixed schedule, as "SEQ PRINT_US" (the
# program's CLOCK_REALTIME in us when it printed the line: sse-load --expect's format).
# bash builtins only (read -t on a pipe that never has data is the sleep), so that 200 of
# them cost no fork per line.
RUNS_PROGRAM = r'''#!/bin/bash
exec 9<> <(:)
t0=${EPOCHREALTIME/[.,]/}
for ((i = 1; i <= %d; i++)); do
    left=$(( t0 + (i - 1) * 100000 - ${EPOCHREALTIME/[.,]/} ))
    if (( left > 0 )); then
        read -t "$(printf '0.%%06d' "$left")" -u 9
    fi
    printf '%%d %%s\n' "$i" "${EPOCHREALTIME/[.,]/}"
done
'''


def runs_main(a):
    """--runs: issue 11's load figure, N programs at once through lighttpd."""
    prepare(a, "--runs", ("lighttpd", "spawn-fcgi", "bash"))
    tmp = tempfile.mkdtemp(prefix="fcgi-sse-runs-")
    os.chmod(tmp, 0o711)
    rows = []
    try:
        loader = a.loader or build_loader(tmp)
        prog = os.path.join(tmp, "paced.sh")
        with open(prog, "w") as f:
            f.write(RUNS_PROGRAM % a.run_lines)
        os.chmod(prog, 0o755)
        t0 = time.time()
        for i in range(a.runs_repeat):
            stack = Stack(tempfile.mkdtemp(prefix="runs-%d-" % i, dir=tmp))
            port = free_port()
            try:
                start_fcgi_sse(stack, a.build, port, (), [
                    "--run", "paced=" + prog, "--max-runs", str(a.runs + 16)])
                pid = stack.measured["fcgi-sse"]
                idle = proc_sample(pid)
                load = loadavg()
                log("runs: %d programs x %d lines at 10/s, clients over 1 s (load %s)"
                    % (a.runs, a.run_lines, load))
                p = subprocess.run([loader, "-q", "-n", str(a.runs), "-r", str(a.runs), "-d",
                                    str(a.run_lines / 10 + 30), "--expect",
                                    "1-%d" % a.run_lines, "127.0.0.1", str(port),
                                    "/run/paced"], capture_output=True, text=True, timeout=300)
                end = proc_sample(pid)
                kv = {}
                for line in p.stdout.split():
                    if "=" in line:
                        k, v = line.split("=", 1)
                        kv[k] = float(v)
                kv["load"] = load
                kv["cpu_ms"] = (end[1] - idle[1]) * 1000 / TICK
                kv["rss_kb"] = end[0]
                rows.append(kv)
            finally:
                stack.stop()
        out = ["Machine: " + machine_burst(),
               "Run %s, %.1f min." % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t0)),
                                      (time.time() - t0) / 60),
               "Each row: a fresh fcgi-sse (spawn-fcgi, --run paced=a bash script) behind "
               "lighttpd (demo.conf's settings); sse-load opens %d streams on /run/paced over "
               "1 s; each program prints %d lines at 10/s on a fixed schedule, each line "
               "\"SEQ PRINT_US\"; lateness = CLOCK_REALTIME at the client's read() minus "
               "PRINT_US. CPU: the responder's, from before the first client to the end."
               % (a.runs, a.run_lines), "",
               "| run | load before | streams | lines delivered / expected | lost | dups / "
               "reordered / extra | lateness p50 / p99 / max ms | responder CPU ms | goal: 0 "
               "lost, p99 <= 50 ms |",
               "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        met = 0
        for i, r in enumerate(rows):
            want = r.get("msgs_expected_per_client", 0) * r.get("streams_established", 0)
            ok = (r.get("msgs_lost", 1) == 0 and r.get("streams_established") == a.runs and
                  r.get("msgs", 0) == want and r.get("msg_latency_ms_p99", 1e9) <= 50)
            met += ok
            out.append("| %d | %s | %d | %d / %d | %d | %d / %d / %d | %s / %s / %s | %.0f | %s |"
                       % (i + 1, r["load"], r.get("streams_established", 0), r.get("msgs", 0),
                          want, r.get("msgs_lost", -1), r.get("msgs_dups", 0),
                          r.get("msgs_reordered", 0), r.get("msgs_extra", 0),
                          f2(r.get("msg_latency_ms_p50", float("nan")), "%.1f"),
                          f2(r.get("msg_latency_ms_p99", float("nan")), "%.1f"),
                          f2(r.get("msg_latency_ms_max", float("nan")), "%.1f"),
                          r["cpu_ms"], "**yes**" if ok else "**NO**"))
        out += ["", "Goal met in %d of %d runs." % (met, len(rows))]
        report(a, out, rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--streams", default=None, help="1000,8000 (--fronts: 1000,10000)")
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--rate", type=int, default=4000)
    ap.add_argument("--smoke", action="store_true", help="300 streams for 5 s (for make check)")
    ap.add_argument("--build", default=os.environ.get("abs_top_builddir",
                                                      os.path.join(SRCDIR, "build")))
    ap.add_argument("--json", help="also write the raw results here")
    ap.add_argument("--burst", action="store_true",
                    help="the reconnect-storm benchmark (see the header) instead")
    ap.add_argument("--burst-runs", type=int, default=10)
    ap.add_argument("--burst-lighttpd", type=int, default=8000)
    ap.add_argument("--burst-nginx", type=int, default=16000)
    ap.add_argument("--burst-nginx-runs", type=int, default=5)
    ap.add_argument("--burst-clients", type=int, default=2)
    ap.add_argument("--max-memory", type=int, default=2500, help="MB, for the nginx runs")
    ap.add_argument("--lighttpd-backlog", type=int, default=4096,
                    help="also run part 1 with server.listen-backlog = N added (0: not)")
    ap.add_argument("--nginx-listen", default=NGINX_LISTEN,
                    help="parameters of nginx's listen line (\"\": nginx's defaults)")
    ap.add_argument("--loader", help="a built sse-load (default: build bench/sse-load.c)")
    ap.add_argument("--channels", action="store_true",
                    help="the channels benchmark (see the header) instead")
    ap.add_argument("--setups", default=None,
                    help="--channels: which setups (%s; with --redis: %s)"
                    % (",".join(CHAN_SETUPS), ",".join(REDIS_SETUPS)))
    ap.add_argument("--lighttpd-workers", type=int, default=0,
                    help="--channels: lighttpd's server.max-worker (0: one process, as shipped)")
    ap.add_argument("--redis", action="store_true",
                    help="--channels through Redis: nchan with nchan_redis_url against 2 "
                    "fcgi-sse --redis behind lighttpd (and 1 in memory beside)")
    ap.add_argument("--no-open-loop", dest="open_loop", action="store_false",
                    help="--channels: skip the open-loop runs (largest --streams only)")
    ap.add_argument("--resume", type=int, default=1000,
                    help="--channels: subscribers of the resume test (0: none)")
    ap.add_argument("--fronts", action="store_true",
                    help="Apache as a front beside nginx, lighttpd and nchan (see the header)")
    ap.add_argument("--fronts-fit", type=int, default=140,
                    help="--fronts: also Apache with Debian's defaults at this many streams "
                    "(0: not)")
    ap.add_argument("--mercure", action="store_true",
                    help="fcgi-sse as a Mercure hub beside plain channels (see the header)")
    ap.add_argument("--mercure-exact", type=int, default=7000,
                    help="--mercure: subscribers with an exact topic")
    ap.add_argument("--mercure-patterns", type=int, default=1000,
                    help="--mercure: subscribers with a URL pattern")
    ap.add_argument("--runs", type=int, default=0,
                    help="the programs benchmark with this many runs at once (200: issue 11)")
    ap.add_argument("--run-lines", type=int, default=100)
    ap.add_argument("--runs-repeat", type=int, default=3)
    a = ap.parse_args()
    if a.streams is None:
        a.streams = "1000,10000" if a.fronts else "1000,8000"
    if a.runs:
        runs_main(a)
        return
    if a.fronts:
        if a.smoke:
            a.streams, a.duration, a.fronts_fit = "160", 2, 0
        fronts_main(a)
        return
    if a.channels:
        channels_main(a)
        return
    if a.mercure:
        mercure_main(a)
        return
    if a.burst:
        burst_main(a)
        return
    if a.smoke:
        a.streams, a.duration = "300", 5
    streams_list = [int(x) for x in a.streams.split(",")]

    hard = prepare(a, "the benchmark", binary=False)
    need = max(streams_list) * 2 + 100
    if hard < need:
        sys.exit("bench: %d streams through lighttpd need %d open files; the limit is %d"
                 % (max(streams_list), need, hard))
    loader = os.path.join(a.build, "bench", "sse-load")
    if not os.access(loader, os.X_OK) or not os.access(os.path.join(a.build, "fcgi-sse"), os.X_OK):
        sys.exit("bench: build first: %s/fcgi-sse and %s (make -C %s all check_PROGRAMS)"
                 % (a.build, loader, a.build))
    for tool in ("lighttpd", "spawn-fcgi", "node", "npm"):
        if not shutil.which(tool):
            sys.exit("bench: %s is needed (deploy/install-deps.sh bench)" % tool)

    tmp = tempfile.mkdtemp(prefix="fcgi-sse-bench-")
    try:
        log("installing express with npm into " + tmp)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", "--prefix", tmp,
                        "express@4"], check=True, stdout=subprocess.DEVNULL, timeout=300)
        nm = os.path.join(tmp, "node_modules")
        results = {}
        for n in streams_list:
            results[n] = {
                "fcgi-sse": scenario("fcgi-sse", lambda st, p: start_fcgi_sse(st, a.build, p),
                                     loader, n, a.rate, a.duration, tmp),
                "seed": scenario("seed", lambda st, p: start_seed(st, nm, p, False),
                                 loader, n, a.rate, a.duration, tmp),
                "seed-lighttpd": scenario("seed-lighttpd", lambda st, p: start_seed(st, nm, p, True),
                                          loader, n, a.rate, a.duration, tmp),
            }
        report(a, ["Machine: " + machine(),
                   "Each setup: %s streams opened at %d/s, then %.0f s measured; events every "
                   "1 s.\n" % (a.streams, a.rate, a.duration),
                   table(results, streams_list)], results)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
