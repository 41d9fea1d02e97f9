"""test_redis_netns.py -- a second "host" for --redis: a responder in a network namespace of
its own, reaching Redis over a veth pair, so that the cross-machine path crosses a real
network hop and not just loopback.

The test makes (as root) a network namespace NS and a veth pair, with addresses of a
private /30 that nothing on the machine uses: HOST (.1) on the end left outside, NS's
own (.2) on the end moved into NS; lo is up inside. A redis-server (its own config in a
temporary directory, with a password) listens on HOST:PORT and a unix socket. Responder A
runs outside, behind a lighttpd on loopback (the shipped demo.conf); responder B runs
inside NS (`ip netns exec`), behind a lighttpd inside NS on NS's own loopback; both with
--redis redis://HOST:PORT. The test's clients of B (subscribers, /publish, /status) are
sockets made inside NS (a thread that joined NS with setns(2), as `ip netns exec` does),
so they talk to B's lighttpd over NS's loopback and stay up when the link goes down.

- The hop is real: inside NS the route to HOST goes through the veth, the host's own
  loopback services are out of reach, and Redis sees B's connections from NS's address.
- A message published on A (POST /publish through A's lighttpd) reaches a subscriber on
  B, and one published on B reaches a subscriber on A; both see the same messages with
  the ids their publishers were answered, in the same order, ids strictly increasing.
- A subscriber on B that comes back with its Last-Event-ID gets exactly what it missed.
- The link cut (NS's end of the veth set down: B's packets go nowhere, and nothing
  outside NS changes): B's /status shows Redis disconnected, B's /publish answers 503
  with Retry-After, B's subscribers keep their streams (heartbeats) while A goes on
  publishing; the link restored: B reconnects and its subscribers get every message
  published meanwhile on A, in order, no gap and no duplicate, then live ones again.
- The blocking read's connection alone silent (iptables inside NS drops what Redis sends
  to its port; the command connection answers): B notices by the read's own watchdog,
  reconnects, and its subscriber gets the next message.
- Everything the test made (processes, namespace, veth, addresses) is gone at the end,
  also when a check fails or the test is interrupted; a namespace left by a run that was
  killed (its pid in the name, no longer alive) is removed first.

Limits: needs root and iproute2 (`ip`), skipped otherwise; iptables for the silent read.
IPv4 only. The cut is the link going down, not a lossy link (tc netem is not everywhere).
"""

import ctypes
import ipaddress
import json
import os
import re
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True    # nothing written into the source tree

from harness import (BINARY, SRCDIR, HttpStream, Tap, Workdir, can_connect,  # noqa: E402
                     pump, wait_for)
import client  # noqa: E402
from client import data_events, increasing, wait_events  # noqa: E402


from harness import cleanup_on_signals  # noqa: E402
cleanup_on_signals()

t = Tap()

IP = None
for d in ("/usr/sbin", "/sbin", "/usr/bin", "/bin"):
    if os.access(os.path.join(d, "ip"), os.X_OK):
        IP = os.path.join(d, "ip")
        break
IPTABLES = None
for d in ("/usr/sbin", "/sbin"):
    if os.access(os.path.join(d, "iptables"), os.X_OK):
        IPTABLES = os.path.join(d, "iptables")
        break
if os.geteuid() != 0 or IP is None:
    t.skip("a responder in its own network namespace reaching Redis over a veth pair",
           "needs root" if os.geteuid() != 0 else "needs iproute2 (ip)")
    t.done()

PID = os.getpid()
NS = "fcgi-sse-test-%d" % PID
NS_RE = re.compile(r"^fcgi-sse-test-(\d+)$")
VETH_HOST = "fsse%dh" % PID       # at most 15 characters: a pid has at most 7 digits
VETH_NS = "fsse%dn" % PID
KEY = "pub-netns-test-0123456789"
PASSWORD = "netns-s3cret"
HEARTBEAT = 1              # -k 1: B's subscribers get a heartbeat comment every second
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def ip(*args, ns=None, check=True):
    """ip ARGS (inside NS when ns is given); the CompletedProcess, text output."""
    argv = [IP, "netns", "exec", ns, IP] if ns else [IP]
    r = subprocess.run(argv + list(args), capture_output=True, text=True, timeout=20)
    if check and r.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), r.stderr.strip()))
    return r


def iptables(*args):
    """iptables ARGS inside NS (a namespace has tables of its own, gone with it)."""
    if IPTABLES is None:
        raise RuntimeError("iptables is not installed (deploy/install-deps.sh test installs it)")
    r = subprocess.run([IP, "netns", "exec", NS, IPTABLES] + list(args), capture_output=True,
                       text=True, timeout=20)
    if r.returncode != 0:
        raise RuntimeError("iptables %s: %s" % (" ".join(args), r.stderr.strip()))


def namespaces():
    return [line.split()[0] for line in ip("netns", "list").stdout.splitlines() if line.strip()]


def link_exists(name):
    return ip("link", "show", "dev", name, check=False).returncode == 0


def remove_netns(name, veth_host):
    """The veth pair (deleting one end deletes both) and the namespace, if there."""
    if link_exists(veth_host):
        ip("link", "del", "dev", veth_host, check=False)
    if name in namespaces():
        ip("netns", "del", name, check=False)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def remove_leftovers():
    """What earlier runs of this test left when they were killed before their cleanup
    (their pid in the names, no longer alive): namespaces, and veth pairs not yet moved."""
    for name in namespaces():
        m = NS_RE.match(name)
        if m and not pid_alive(int(m.group(1))):
            remove_netns(name, "fsse%sh" % m.group(1))
    for m in re.finditer(r"^\d+: (fsse(\d+)[hn])[@:]", ip("-o", "link").stdout, re.M):
        if not pid_alive(int(m.group(2))) and link_exists(m.group(1)):
            ip("link", "del", "dev", m.group(1), check=False)


def used_networks():
    """Every IPv4 network the machine has an address in or a route to (but the default)."""
    nets = []
    for line in ip("-o", "-4", "addr").stdout.splitlines():
        m = re.search(r"\binet (\S+)", line)
        if m:
            nets.append(ipaddress.ip_interface(m.group(1)).network)
    for line in ip("-o", "-4", "route", "show", "table", "all").stdout.splitlines():
        words = line.split()
        if words and words[0] in ("local", "broadcast", "unicast", "blackhole", "unreachable",
                                  "prohibit", "throw", "multicast", "anycast"):
            words = words[1:]
        if words and words[0] != "default":
            try:
                nets.append(ipaddress.ip_network(words[0], strict=False))
            except ValueError:
                pass
    return nets


def pick_subnet():
    """A private /30 that overlaps nothing the machine has: 10.237.X.0/30 first (X from
    the pid, so that runs at once differ), then other private ranges."""
    used = used_networks()
    for fmt in ("10.237.%d.0/30", "172.29.%d.0/30", "192.168.%d.0/30"):
        for k in range(254):
            x = 1 + (PID + k) % 254
            net = ipaddress.ip_network(fmt % x)
            if not any(net.overlaps(u) for u in used):
                return net
    raise RuntimeError("no free private /30 found")


def in_netns(fn):
    """fn() in a thread that joined NS's network namespace (setns, as `ip netns exec`
    does): the sockets it makes belong to NS and stay there, read from any thread."""
    box = {}

    def run():
        try:
            fd = os.open("/run/netns/" + NS, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    e = ctypes.get_errno()
                    raise OSError(e, "setns: " + os.strerror(e))
            finally:
                os.close(fd)
            box["value"] = fn()
        except BaseException as e:   # noqa: BLE001 -- handed to the caller
            box["error"] = e

    th = threading.Thread(target=run)
    th.start()
    th.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def ns_port():
    """A port free on NS's loopback."""
    import socket

    def pick():
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return port
    return in_netns(pick)


def host_port(addr):
    import socket
    s = socket.socket()
    s.bind((addr, 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------- HTTP, on either side

class Side:
    """A responder behind its lighttpd: outside (A) or inside NS (B)."""

    def __init__(self, name, port, sock, proc, ns):
        self.name, self.port, self.sock, self.proc, self.ns = name, port, sock, proc, ns

    def connect(self, make):
        return in_netns(make) if self.ns else make()

    def subscribe(self, chans, last=None):
        try:
            return client.subscribe(self.port, chans, last, via=self.connect)
        except RuntimeError as e:
            raise RuntimeError("on %s: %s" % (self.name, e))

    def publish(self, channel, body):
        """POST .../publish through lighttpd; (status, headers dict, json or None)."""
        return client.publish(self.port, channel, body, KEY, timeout=15, via=self.connect)

    def redis(self):
        """/status's "redis" object, through lighttpd ({} when it does not answer)."""
        try:
            s = self.connect(lambda: HttpStream(self.port, "/status", headers={"Accept": "*/*"}))
            s.read_to_end(5)
            s.close()
            return json.loads(s.body()).get("redis", {}) if s.status == 200 else {}
        except (OSError, ValueError):
            return {}


def heartbeats_since(s, t0):
    return sum(b.count(b": heartbeat") for tt, b in s.body_pieces if tt >= t0)


def longest_silence(s, t0, t1):
    """The longest time within [t0, t1] in which nothing arrived on s."""
    ts = [t0] + [tt for tt, _ in s.body_pieces if t0 <= tt <= t1] + [t1]
    return max(b - a for a, b in zip(ts, ts[1:]))


def pumping(streams, cond, timeout):
    """Waits for cond() with a deadline, reading the streams meanwhile, so that each piece
    is stamped with the time it came, not the time the test got round to reading it."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        left = deadline - time.monotonic()
        if v or left <= 0:
            return v
        if all(s.eof for s in streams):
            time.sleep(min(0.2, left))
        else:
            pump(streams, lambda: False, min(0.2, left))


def cleanup_netns():
    """Once every process is stopped: the veth pair and the namespace, checked gone, and
    no address of the test's subnet left outside."""
    if not made.get("ns"):
        return
    name = "the netns, the veth pair and its addresses are removed"
    try:
        remove_netns(NS, VETH_HOST)

        def gone():
            return (NS not in namespaces() and not link_exists(VETH_HOST)
                    and not os.path.exists("/run/netns/" + NS)
                    and not any(ipaddress.ip_interface(a).ip in made["net"]
                                for a in re.findall(r"\binet (\S+)",
                                                    ip("-o", "-4", "addr").stdout)))
        t.ok(wait_for(gone, 10, step=0.1), name,
             (namespaces(), ip("-o", "-4", "addr", check=False).stdout[-600:]))
    except Exception as e:   # noqa: BLE001 -- reported, the test goes on to its end
        t.ok(False, name, repr(e))


# ---------------------------------------------------------------- setup

wd = Workdir("redis-netns")
streams = []
made = {}
try:
    remove_leftovers()
    remove_netns(NS, VETH_HOST)     # this run's name, should a pid have come round again
    net = pick_subnet()
    hosts = list(net.hosts())
    HOST, GUEST = str(hosts[0]), str(hosts[1])
    made["ns"], made["net"] = True, net
    ip("netns", "add", NS)
    ip("link", "add", VETH_HOST, "type", "veth", "peer", "name", VETH_NS)
    ip("link", "set", VETH_NS, "netns", NS)
    ip("addr", "add", "%s/%d" % (HOST, net.prefixlen), "dev", VETH_HOST)
    ip("link", "set", VETH_HOST, "up")
    ip("addr", "add", "%s/%d" % (GUEST, net.prefixlen), "dev", VETH_NS, ns=NS)
    ip("link", "set", VETH_NS, "up", ns=NS)
    ip("link", "set", "lo", "up", ns=NS)
    route = ip("-o", "route", "get", HOST, ns=NS).stdout
    inside = ip("-o", "-4", "addr", ns=NS).stdout
    inside_addrs = sorted(re.findall(r"\binet (\S+)", inside))
    t.ok(re.search(r"\bdev %s\b" % VETH_NS, route) is not None and "local" not in route.split()
         and inside_addrs == sorted(["127.0.0.1/8", "%s/%d" % (GUEST, net.prefixlen)]),
         "netns %s, veth %s (%s/%d, outside) <-> %s (%s, inside); inside, only lo and the veth, "
         "and the route to %s goes through the veth" % (NS, VETH_HOST, HOST, net.prefixlen,
                                                       VETH_NS, GUEST, HOST),
         (route, inside))

    # ------------------------------------------------------------ Redis on HOST:PORT
    rdir = wd.file("redis")
    os.makedirs(rdir)
    rsock = os.path.join(rdir, "redis.sock")
    rport = host_port(HOST)
    with open(os.path.join(rdir, "redis.conf"), "w") as f:
        f.write("port %d\nbind %s\nrequirepass %s\nunixsocket %s\nunixsocketperm 700\n"
                "dir %s\nsave \"\"\nappendonly no\ndaemonize no\nlogfile \"\"\n"
                % (rport, HOST, PASSWORD, rsock, rdir))
    cli_env = dict(os.environ, REDISCLI_AUTH=PASSWORD)

    def cli(*args):
        return subprocess.run(["redis-cli", "-s", rsock] + list(args), capture_output=True,
                              text=True, env=cli_env, timeout=10).stdout.strip()

    redis = wd.start(["redis-server", os.path.join(rdir, "redis.conf")], "redis")
    if not wait_for(lambda: not redis.alive() or cli("ping") == "PONG", 10) or not redis.alive():
        raise RuntimeError("redis-server did not start:\n" + redis.log())
    url = "redis://%s:%d" % (HOST, rport)
    t.ok(in_netns(lambda: can_connect((HOST, rport))) and not can_connect(("127.0.0.1", rport)),
         "redis-server listens on %s:%d only (a password): reachable from inside the netns "
         "over the veth" % (HOST, rport))

    # ------------------------------------------------------------ A outside, B inside
    with open(wd.file("publish.keys"), "w") as f:
        f.write(KEY + "\n")
    os.chmod(wd.file("publish.keys"), 0o600)
    with open(wd.file("redis.pass"), "w") as f:
        f.write(PASSWORD + "\n")
    os.chmod(wd.file("redis.pass"), 0o600)

    def responder(name, ns):
        """fcgi-sse -l unix:... --redis URL (inside NS when ns), then lighttpd with the
        shipped demo.conf on 127.0.0.1 of the same side; returns its Side."""
        wrap = [IP, "netns", "exec", NS] if ns else []
        sock = wd.file(name + ".sock")
        p = wd.start(wrap + [BINARY, "-l", "unix:" + sock, "--redis", url,
                             "--redis-password-file", wd.file("redis.pass"),
                             "--publish-key-file", wd.file("publish.keys"),
                             "-k", str(HEARTBEAT), "-r", "500"], name)
        if not wait_for(lambda: can_connect(sock) or not p.alive(), 15) or not p.alive():
            raise RuntimeError("fcgi-sse %s did not start:\n%s" % (name, p.log()))
        state = wd.file(name + "-lighttpd")
        os.makedirs(state)
        port = ns_port() if ns else host_port("127.0.0.1")
        env = dict(os.environ, FCGI_SSE_PORT=str(port), FCGI_SSE_HTML=os.path.join(SRCDIR, "html"),
                   FCGI_SSE_SOCKET=sock, FCGI_SSE_STATE=state)
        lp = wd.start(wrap + ["lighttpd", "-D", "-f",
                              os.path.join(SRCDIR, "deploy", "lighttpd", "demo.conf")],
                      name + "-lighttpd", env=env)
        reach = (lambda: in_netns(lambda: can_connect(("127.0.0.1", port)))) if ns else \
            (lambda: can_connect(("127.0.0.1", port)))
        if not wait_for(lambda: reach() or not lp.alive(), 10) or not lp.alive():
            raise RuntimeError("lighttpd %s did not start:\n%s" % (name, lp.log()))
        return Side(name.upper(), port, sock, p, ns)

    A = responder("a", False)
    B = responder("b", True)
    def netns_of(path):
        st = os.stat(path)
        return st.st_dev, st.st_ino

    t.ok(netns_of("/proc/%d/ns/net" % B.proc.pid) == netns_of("/run/netns/" + NS)
         and netns_of("/proc/%d/ns/net" % A.proc.pid) != netns_of("/run/netns/" + NS)
         and os.path.realpath("/proc/%d/exe" % B.proc.pid) == os.path.realpath(BINARY),
         "responder B (pid %d) runs inside the netns, A outside" % B.proc.pid)
    t.ok(in_netns(lambda: can_connect(("127.0.0.1", B.port)))
         and not in_netns(lambda: can_connect(("127.0.0.1", A.port)))
         and can_connect(("127.0.0.1", A.port)) and not can_connect(("127.0.0.1", B.port)),
         "the netns has a loopback of its own: each lighttpd is reachable on its own side only")
    t.ok(wait_for(lambda: A.redis().get("connected") and B.redis().get("connected"), 30),
         "A and B connect to Redis at %s (/status redis.connected)" % url,
         (A.redis(), B.redis(), B.proc.log()[-800:]))
    clients = cli("CLIENT", "LIST")
    from_b = re.findall(r"\baddr=%s:\d+" % re.escape(GUEST), clients)
    from_a = re.findall(r"\baddr=%s:\d+" % re.escape(HOST), clients)
    t.ok(len(from_b) == 2 and len(from_a) == 2,
         "Redis sees B's two connections (commands, blocking read) from %s, across the veth, "
         "and A's two from %s" % (GUEST, HOST), clients)

    # ------------------------------------------------------------ across the hop, both ways
    code, _, j = A.publish("news", "marker")
    t.ok(code == 200 and j and "-" in j.get("id", ""), "POST /publish on A: 200 with an id",
         (code, j))
    marker = j["id"]
    sa = A.subscribe(["news"], marker)
    sb = B.subscribe(["news"], marker)
    streams += [sa, sb]
    sent = []
    for i, side in enumerate([A, B, A, B, A, B]):
        body = "m%d from %s" % (i, side.name)
        code, _, j = side.publish("news", body)
        if code != 200 or not j:
            raise RuntimeError("publish on %s: %r %r" % (side.name, code, j))
        sent.append((j["id"], "message", body))
    wait_events([sa, sb], len(sent))
    t.ok(data_events(sb) == sent,
         "a subscriber on B (inside) gets what was published on A and on B, with the "
         "answered ids, once, in order", (data_events(sb), sent))
    t.ok(data_events(sa) == sent,
         "a subscriber on A (outside) gets the same, in the same order", (data_events(sa), sent))
    t.ok(increasing([marker] + [m[0] for m in sent]),
         "ids strictly increasing across both responders", [m[0] for m in sent])

    # ------------------------------------------------------------ resume on B
    sb.close()
    streams.remove(sb)
    last_seen = data_events(sb)[-1][0]
    missed = []
    for i in range(30):
        ch = "news" if i % 3 else "other"
        code, _, j = A.publish(ch, "missed %d" % i)
        if code != 200:
            raise RuntimeError("publish on A: %r" % code)
        if ch == "news":
            missed.append((j["id"], "message", "missed %d" % i))
    sr = B.subscribe(["news"], last_seen)
    streams.append(sr)
    wait_events([sr], len(missed))
    t.ok(data_events(sr) == missed,
         "a subscriber back on B with Last-Event-ID gets exactly the %d messages of its channel "
         "published on A meanwhile, in order" % len(missed),
         (len(data_events(sr)), data_events(sr)[:3], missed[:3]))
    code, _, j = A.publish("news", "live after resume")
    live = (j["id"], "message", "live after resume")
    wait_events([sr], len(missed) + 1)
    t.ok(data_events(sr) == missed + [live],
         "then live: the next message follows the replay, nothing twice", data_events(sr)[-3:])

    # ------------------------------------------------------------ a quiet cut
    # Nothing is published on B while its link is down, so no publish waits for a reply:
    # what can tell that the link is dead is a watchdog, the blocking read's (no reply
    # within its block time and a margin) or that of the one command B sends by itself,
    # the bounds' trim (fcgi_sse_trim every 5 s: no reply within 5 s), and B must notice.
    # (Its log says which; /status's last_error may already name a failed reconnect.)
    WATCHDOGS = ("the blocking read got no reply", "no reply within 5 s")

    def watchdogs():
        log = B.proc.log()
        return sum(log.count(w) for w in WATCHDOGS)

    logged = watchdogs()
    ip("link", "set", VETH_NS, "down", ns=NS)
    t_q = time.monotonic()
    seen = pumping([sr], lambda: B.redis().get("connected") is False and
                   watchdogs() > logged, 215)
    t.ok(seen, "a quiet cut (nothing published on B): B notices it by a watchdog: /status "
         "disconnected, the log says \"%s\" or \"%s\" (after %.1f s)"
         % (WATCHDOGS + (time.monotonic() - t_q,)), (B.redis(), B.proc.log()[-600:]))
    ip("link", "set", VETH_NS, "up", ns=NS)
    up = wait_for(lambda: B.redis().get("connected"), 60, step=0.2)
    t.ok(up and not sr.eof, "... and reconnects once the link is back, its subscriber "
         "still streaming", (B.redis(), sr.eof))

    # ------------------------------------------------------------ the read alone silent
    # Only the blocking read's connection goes quiet: inside NS, what Redis sends to that
    # one port is dropped. B's command connection still answers the trim every 5 s, so no
    # command's watchdog can notice: the read's own must (XREAD ... BLOCK 5000 unanswered
    # for 10 s), then B reconnects on new ports and the subscriber gets what A publishes.
    READ_DOG = "the blocking read got no reply"

    def b_read_port():
        for line in cli("CLIENT", "LIST").splitlines():
            m = re.search(r"\baddr=%s:(\d+) .*\bcmd=(\S+)" % re.escape(GUEST), line)
            if m and m.group(2) == "xread":
                return int(m.group(1))
        return None

    def silence_read():
        """Drops what Redis sends to B's blocking read until B's log has the read's
        watchdog line (at most 60 s): (noticed, port, seconds)."""
        port_rd = wait_for(b_read_port, 15, step=0.2)
        if not port_rd:
            raise RuntimeError("Redis lists no XREAD from %s" % GUEST)
        rule = ["INPUT", "-p", "tcp", "-s", HOST, "--sport", str(rport), "--dport",
                str(port_rd), "-j", "DROP"]
        iptables("-I", *rule)
        try:
            dogs = B.proc.log().count(READ_DOG)
            t_r = time.monotonic()
            noticed = pumping([sr], lambda: B.proc.log().count(READ_DOG) > dogs, 60)
            return noticed, port_rd, time.monotonic() - t_r
        finally:
            iptables("-D", *rule)

    try:
        noticed, port_rd, took_r = silence_read()
        why = "after %.1f s" % took_r
    except RuntimeError as e:     # no XREAD listed, or iptables refused: say which
        noticed, port_rd, why = False, None, str(e)
    t.ok(noticed, "the blocking read's connection alone silent (Redis's packets to B's port "
         "%s dropped; the command connection answering): B notices it by the read's own "
         "watchdog, \"%s\" (%s)" % (port_rd, READ_DOG, why), B.proc.log()[-600:])
    up = wait_for(lambda: B.redis().get("connected") and b_read_port() not in (None, port_rd),
                  60, step=0.2)
    code, _, j = A.publish("news", "after the silent read")
    got = code == 200 and pumping([sr], lambda: any(e[2] == "after the silent read"
                                                     for e in data_events(sr)), 20)
    t.ok(up and got and increasing([e[0] for e in data_events(sr)]),
         "... reconnects with a new blocking read, and its subscriber gets the next message "
         "published on A", (B.redis(), code, data_events(sr)[-2:]))

    # ------------------------------------------------------------ the link cut
    # Two subscribers on B (one also on a second channel), one on A, all current.
    before = data_events(sr)[-1][0]
    sb1 = sr
    sb2 = B.subscribe(["news", "other"], before)
    sa2 = A.subscribe(["news", "other"], before)
    streams += [sb2, sa2]
    code, _, j = A.publish("other", "before the cut")
    pre = (j["id"], "message", "before the cut")
    t.ok(wait_events([sb2, sa2], 1) and data_events(sb2) == [pre] and data_events(sa2) == [pre],
         "B's and A's subscribers of two channels are live", (data_events(sb2), data_events(sa2)))
    base1, base2, basea = len(data_events(sb1)), len(data_events(sb2)), len(data_events(sa2))

    watched = [sb1, sb2, sa2]
    ip("link", "set", VETH_NS, "down", ns=NS)
    t_cut = time.monotonic()
    during = []

    def publish_on_a(tag, i):
        ch = "news" if i % 2 == 0 else "other"
        code, _, j = A.publish(ch, "%s %d" % (tag, i))
        if code != 200:
            raise RuntimeError("publish on A during the cut: %r" % code)
        during.append((ch, (j["id"], "message", "%s %d" % (tag, i))))

    # A publish on B before B has noticed: its FCALL goes into the dead link, and B answers
    # 503 once the link is given up on. It must never be stored afterwards (when the link
    # is back, a closed socket's retransmissions would carry it): the checks below want
    # exactly the messages published on A.
    unnoticed = []
    th = threading.Thread(target=lambda: unnoticed.append(
        B.publish("news", "on B, the cut not yet noticed")), daemon=True)
    th.start()
    for i in range(6):
        publish_on_a("cut, before B noticed", i)
    down = pumping(watched, lambda: B.redis().get("connected") is False, 215)
    t_down = time.monotonic()
    st = B.redis()
    t.ok(down and st.get("last_error"),
         "the link down (%s inside the netns): B's /status shows Redis disconnected, with why "
         "(after %.1f s)" % (VETH_NS, t_down - t_cut), st)
    t.ok(A.redis().get("connected") and A.redis().get("reconnects") == 0,
         "A, outside, still connected, no reconnect", A.redis())
    th.join(60)
    t.ok(unnoticed and unnoticed[0][0] == 503,
         "a publish on B sent before B noticed the cut: 503 once B gives the link up",
         unnoticed)
    code, h, j = B.publish("news", "on B while cut")
    still_down = B.redis().get("connected") is False
    t.ok(code == 503 and h.get("retry-after") and still_down,
         "B's /publish answers 503 with Retry-After at once: while the link is still down (not "
         "held until Redis is back)", (code, h, j, still_down))
    # The link stays down a while longer: A goes on publishing, B keeps trying to reconnect.
    for i in range(6):
        publish_on_a("cut, B down", i)
        pumping(watched, lambda: False, 0.4)
    pumping(watched, lambda: heartbeats_since(sb1, t_down) >= 2 and heartbeats_since(sb2, t_down) >= 2
            and len(data_events(sa2)) >= basea + len(during), 30)
    t_end = time.monotonic()
    quiet = max(longest_silence(sb1, t_cut, t_end), longest_silence(sb2, t_cut, t_end))
    t.ok(sb1.status == 200 and sb2.status == 200 and not sb1.eof and not sb2.eof
         and heartbeats_since(sb1, t_down) >= 2 and heartbeats_since(sb2, t_down) >= 2
         and quiet < 2 * HEARTBEAT,
         "B's subscribers keep their streams over the %.1f s the link is down: heartbeats "
         "(-k 1), each before the next is due (at most %.1f s without a byte)"
         % (t_end - t_cut, quiet),
         (sb1.eof, sb2.eof, heartbeats_since(sb1, t_down), heartbeats_since(sb2, t_down), quiet))
    t.ok(len(data_events(sb1)) == base1 and len(data_events(sb2)) == base2,
         "and nothing else reaches them while the link is down",
         (data_events(sb1)[base1:], data_events(sb2)[base2:]))
    want_a = [d[1] for d in during]
    t.ok(data_events(sa2)[basea:] == want_a,
         "A's subscriber gets the %d messages published on A meanwhile, live" % len(want_a),
         (data_events(sa2)[basea:], want_a))

    # ------------------------------------------------------------ the link back
    ip("link", "set", VETH_NS, "up", ns=NS)
    up = wait_for(lambda: B.redis().get("connected"), 60, step=0.2)
    st = B.redis()
    t.ok(up and st.get("reconnects", 0) >= 1,
         "the link up again: B reconnects (/status reconnects %s)" % st.get("reconnects"), st)
    want1 = [m for ch, m in during if ch == "news"]
    want2 = [m for _, m in during]
    pump([sb1, sb2], lambda: len(data_events(sb1)) >= base1 + len(want1)
         and len(data_events(sb2)) >= base2 + len(want2), 115)
    got1, got2 = data_events(sb1)[base1:], data_events(sb2)[base2:]
    t.ok(got1 == want1,
         "B's subscriber of news gets the %d messages of news published on A while the link was "
         "down: no gap, no duplicate, in order" % len(want1), (got1, want1))
    t.ok(got2 == want2 and increasing([pre[0]] + [m[0] for m in got2]),
         "B's subscriber of news and other gets all %d, merged in id order" % len(want2),
         (got2, want2))
    code, _, j = B.publish("news", "on B after")
    after = (j["id"], "message", "on B after") if j else None
    pump([sb1, sb2, sa2], lambda: all(len(data_events(s)) >= n + 1 for s, n in
                                      ((sb1, base1 + len(want1)), (sb2, base2 + len(want2)),
                                       (sa2, basea + len(want_a)))), 30)
    t.ok(code == 200 and data_events(sb1)[base1:] == want1 + [after]
         and data_events(sb2)[base2:] == want2 + [after]
         and data_events(sa2)[basea:] == want_a + [after],
         "B publishes again (200) and every subscriber, on B and on A, gets it next",
         (code, data_events(sb1)[-2:], data_events(sb2)[-2:], data_events(sa2)[-2:]))
    late = B.subscribe(["news", "other"], before)
    streams.append(late)
    wait_events([late], len(want2) + 2)
    t.ok(data_events(late) == [pre] + want2 + [after],
         "a new subscriber on B with the Last-Event-ID from before the cut: exactly what "
         "came since, in order", (len(data_events(late)), data_events(late)[:3]))
finally:
    try:
        for s in streams:
            s.close()
        wd.cleanup()
    finally:
        cleanup_netns()
t.done()
