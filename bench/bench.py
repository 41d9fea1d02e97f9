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
"""

import argparse
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


def start_fcgi_sse(stack, build, port):
    sock = os.path.join(stack.tmp, "fcgi-sse.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    # As deploy/lighttpd/demo.sh runs it (see README, "Memory"): glibc's per-thread
    # cache off, so memory freed when clients leave goes back to the kernel.
    env = dict(os.environ, GLIBC_TUNABLES="glibc.malloc.tcache_count=0")
    resp = stack.start(["spawn-fcgi", "-n", "-s", sock, "-M", "0600", "--",
                        os.path.join(build, "fcgi-sse")], "fcgi-sse", env)
    deadline = time.monotonic() + 10
    while not os.path.exists(sock) and time.monotonic() < deadline:
        time.sleep(0.02)
    env = dict(os.environ, FCGI_SSE_PORT=str(port), FCGI_SSE_HTML=os.path.join(SRCDIR, "html"),
               FCGI_SSE_SOCKET=sock, FCGI_SSE_STATE=stack.tmp)
    httpd = stack.start(["lighttpd", "-D", "-f", os.path.join(SRCDIR, "deploy", "lighttpd",
                                                              "demo.conf")], "lighttpd", env)
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--streams", default="1000,8000")
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--rate", type=int, default=4000)
    ap.add_argument("--smoke", action="store_true", help="300 streams for 5 s (for make check)")
    ap.add_argument("--build", default=os.environ.get("abs_top_builddir",
                                                      os.path.join(SRCDIR, "build")))
    ap.add_argument("--json", help="also write the raw results here")
    a = ap.parse_args()
    if a.smoke:
        a.streams, a.duration = "300", 5
    streams_list = [int(x) for x in a.streams.split(",")]

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
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
        print("Machine: " + machine())
        print("Each setup: %s streams opened at %d/s, then %.0f s measured; events every 1 s.\n"
              % (a.streams, a.rate, a.duration))
        print(table(results, streams_list))
        if a.json:
            with open(a.json, "w") as f:
                json.dump(results, f, indent=1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
