"""test_redis.py -- channels through Redis (--redis): several responders sharing one real
redis-server, each behind its own lighttpd (the shipped deploy/lighttpd/demo.conf).

- Publishing: POST .../publish on either responder answers the id Redis assigned;
  redis-cli and Debian's python3-redis (/usr/bin/python3) publish with the same FCALL;
  a message published anywhere reaches the subscribers of every responder, once, in order.
- Ids: strictly increasing across channels, responders and publishers; the id a
  subscriber sees is the one the publisher was answered.
- Resume: a subscriber that leaves one responder and comes back on the other with its
  Last-Event-ID gets exactly what it missed (more than one fetch's batch, merged across
  its channels in id order), then live messages, nothing twice; `event: reset` with the
  oldest id kept when Redis trimmed one it had not had, none when it had them all.
- Balancing, at the issue's scale: 3 responders behind one lighttpd (three sockets in
  fastcgi.server), 3,000 subscribers spread over them (150 of them the `eventsource` npm
  client, the others raw streams that reconnect with Last-Event-ID), 20 messages/s; once
  with one responder SIGKILLed (its subscribers resume on the others), once with Redis
  SIGKILLed and restarted from its AOF: every subscriber ends with exactly what Redis
  holds -- every acknowledged message, ids strictly increasing, none twice.
- A second "host": a responder in a network namespace of its own reaches Redis over a veth
  pair (a real network hop); delivery and resume across it.
- Faults: Redis down at start (the responder starts, /status says so, /publish is 503 with
  Retry-After, subscribers get heartbeats, then all works once Redis is up); Redis
  SIGKILLed and restarted (AOF, appendfsync always) while messages flow: every subscriber
  on both responders ends with every acknowledged message, ids strictly increasing, no
  id twice.

Limits: the publishers here retry a publish answered 503 (or not answered), so a message
whose FCALL ran just as Redis or a responder died may arrive twice with two ids: the tests
allow that only for such retried messages (the balancing test checks them against what
Redis holds).
"""

import json
import os
import pwd
import resource
import signal
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True    # nothing written into the source tree

from harness import (BINARY, BUILDDIR, FCGI_STDOUT, SRCDIR, HttpStream, SseParser, Tap,  # noqa: E402
                     Workdir, can_connect, fcgi_request_bytes, fcgi_split_records, free_port, pump,
                     run_binary, start_redis, status, wait_for)
from nodedeps import NodeProc, node_dir  # noqa: E402
import nginx as ngx  # noqa: E402
import apache as ap  # noqa: E402
import client  # noqa: E402
from client import (PY_SYSTEM, Resumer, data_events, idkey, increasing, py_burst,  # noqa: E402
                    redis_state, run_resumers, start_with_lighttpd, subscribe, wait_events)

from harness import cleanup_on_signals  # noqa: E402
cleanup_on_signals()

t = Tap()
# 3,000 streams held here (the balancing test): every descriptor the hard limit allows
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))
wd = Workdir("redis")
KEY = "pub-redis-test-0123456789"
with open(wd.file("publish.keys"), "w") as f:
    f.write(KEY + "\n")
os.chmod(wd.file("publish.keys"), 0o600)


def responder(name, redis_url, extra=(), netns=None):
    """fcgi-sse -l unix:... --redis URL with this test's key (in network namespace netns when
    given), and a lighttpd (demo.conf) in front; returns (proc, socket, port)."""
    return start_with_lighttpd(wd, name, ["--redis", redis_url, "--publish-key-file",
                                          wd.file("publish.keys"), "-k", "1", "-r", "500"]
                               + list(extra), pre=["ip", "netns", "exec", netns] if netns else ())


def publish(port, channel, body, event=None):
    """POST .../publish through lighttpd with this test's key (client.publish)."""
    return client.publish(port, channel, body, KEY, event)


def cli_publish(rsock, channel, body, history=1000, event=""):
    """redis-cli FCALL fcgi_sse_publish; returns the id (str) or raises."""
    r = subprocess.run(["redis-cli", "-s", rsock, "FCALL", "fcgi_sse_publish", "2", "fcgi-sse:last",
                        "fcgi-sse:chan:" + channel, str(history), event, body],
                       capture_output=True, timeout=10)
    out = r.stdout.decode().strip()
    if r.returncode != 0 or "-" not in out or out.startswith("ERR"):
        raise RuntimeError("redis-cli: %r %r" % (out, r.stderr))
    return out


def py_publish(rsock, channel, bodies):
    """Debian's python3-redis: the same FCALL for each body; returns the ids."""
    prog = ("import json, sys, redis\n"
            "r = redis.Redis(unix_socket_path=sys.argv[1])\n"
            "ids = [r.fcall('fcgi_sse_publish', 2, 'fcgi-sse:last', 'fcgi-sse:chan:' + sys.argv[2],"
            " 1000, '', b).decode() for b in json.loads(sys.argv[3])]\n"
            "print(json.dumps(ids))\n")
    r = subprocess.run([PY_SYSTEM, "-c", prog, rsock, channel, json.dumps(bodies)],
                       capture_output=True, timeout=20)
    if r.returncode != 0:
        raise RuntimeError("python3-redis: %s" % r.stderr.decode()[-500:])
    return json.loads(r.stdout)


def netns_test():
    """A second "host": a responder in a network namespace of its own, reaching Redis over
    a veth pair (addresses chosen here, inside the namespace this test made), behind a
    lighttpd on this side (its unix socket is a file, shared)."""
    ns = "fcgi-sse-redis-%d" % os.getpid()
    host_if, ns_if = "fsr%d" % (os.getpid() % 100000), "fsrn%d" % (os.getpid() % 100000)
    net = "10.%d.%d" % (100 + os.getpid() % 100, (os.getpid() // 100) % 250)
    made = []

    def ip(*args, netns=None):
        argv = (["ip", "netns", "exec", netns] if netns else []) + ["ip"] + list(args)
        r = subprocess.run(argv, capture_output=True, timeout=10)
        if r.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(argv), r.stderr.decode().strip()))

    try:
        ip("netns", "add", ns)
        made.append("ns")
        ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if, "netns", ns)
        made.append("link")
        ip("addr", "add", net + ".1/30", "dev", host_if)
        ip("link", "set", host_if, "up")
        ip("addr", "add", net + ".2/30", "dev", ns_if, netns=ns)
        ip("link", "set", ns_if, "up", netns=ns)
        ip("link", "set", "lo", "up", netns=ns)
    except (RuntimeError, OSError) as e:
        for what in reversed(made):
            subprocess.run(["ip", "link", "del", host_if] if what == "link"
                           else ["ip", "netns", "del", ns], capture_output=True)
        t.skip("a responder in its own network namespace", "cannot make one here: %s" % e)
        return
    try:
        port = free_port()
        nr, nsock = start_redis(wd, "net", tcp_port=port, bind="127.0.0.1 %s.1" % net)
        # off loopback, Redis wants passwords (protected mode): an ACL user, and the
        # default user's own
        subprocess.run(["redis-cli", "-s", nsock, "ACL", "SETUSER", "hop", "on", ">hop-pw",
                        "allkeys", "allcommands"], capture_output=True, check=True)
        subprocess.run(["redis-cli", "-s", nsock, "ACL", "SETUSER", "default", "resetpass",
                        ">default-pw"], capture_output=True, check=True)
        x, xsock, xport = responder("x", "redis://hop:hop-pw@127.0.0.1:%d" % port)
        y, ysock, yport = responder("y", "redis://hop:hop-pw@%s.1:%d" % (net, port), netns=ns)
        t.ok(wait_for(lambda: redis_state(ysock).get("connected"), 10)
             and redis_state(xsock).get("connected"),
             "a responder in network namespace %s reaches Redis at %s.1 over a veth pair"
             % (ns, net), (redis_state(ysock), y.log()[-300:]))
        clients = subprocess.run(["redis-cli", "-s", nsock, "--user", "hop", "--pass", "hop-pw",
                                  "--no-auth-warning", "CLIENT", "LIST"], capture_output=True,
                                 timeout=10).stdout.decode()
        t.ok(clients.count("addr=%s.2:" % net) == 2,
             "Redis sees its two connections from %s.2 (the namespace's end of the link)" % net,
             clients)
        code, _, j = publish(xport, "hop", "mark")
        if code != 200:
            raise RuntimeError("publish on x: %r" % code)
        sy = subscribe(yport, ["hop"], j["id"])
        sx = subscribe(xport, ["hop"], j["id"])
        streams.extend([sx, sy])
        sent = []
        for i in range(10):
            code, _, j = publish(yport if i % 2 else xport, "hop", "hop %d" % i)
            sent.append((j["id"] if j else None, "message", "hop %d" % i))
        wait_events([sx, sy], 10)
        t.ok(data_events(sy) == sent and data_events(sx) == sent,
             "across the link: both responders' subscribers get what either published, in order",
             (data_events(sy), sent))
        sy.close()
        more = [publish(xport, "hop", "while away %d" % i)[2]["id"] for i in range(5)]
        sy2 = subscribe(yport, ["hop"], sent[-1][0])
        streams.append(sy2)
        wait_events([sy2], 5)
        t.ok([e[0] for e in data_events(sy2)] == more,
             "resume over the link: exactly the 5 missed", (data_events(sy2), more))
        for p in (y, x):
            p.stop(5)
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def kill_one_under_publishes(port, channel, first_id, victim, n=30, kill_at=10):
    """Six subscribers of channel (Resumers, from first_id) behind a web server with two
    responders; n messages published through it, victim SIGKILLed before message kill_at,
    a publish refused meanwhile retried for up to 10 s. Returns (the acknowledged ids, the
    indexes of the subscribers that do not end with every acknowledged message, bodies
    intact, ids increasing (so none twice), nothing else but retried bodies, the
    Resumers)."""
    raws = [Resumer([port], [channel], first_id) for _ in range(6)]
    acked, bodies, retried = [], {}, set()
    for i in range(n):
        if i == kill_at:
            victim.signal(signal.SIGKILL)
        body = "%s %d" % (channel, i)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            code, _, j = publish(port, channel, body)
            if code == 200:
                acked.append(j["id"])
                bodies[j["id"]] = body
                break
            retried.add(body)
            run_resumers(raws, lambda: False, 0.1)
        run_resumers(raws, lambda: False, 0.05)
    want = set(acked)
    run_resumers(raws, lambda: all(want <= {e[0] for e in r.events} for r in raws), 20)
    bad = [i for i, r in enumerate(raws)
           if not (want <= {e[0] for e in r.events} and increasing([e[0] for e in r.events])
                   and all(e[2] == bodies.get(e[0], e[2]) for e in r.events)
                   and all(e[0] in want or e[2] in retried for e in r.events))]
    return acked, bad, raws


def nginx_test(url):
    """The shipped nginx server block with two responders in its upstream (the line it
    shows in a comment): subscribers resume on the other when one is SIGKILLed."""
    if not ngx.nginx_binary():
        t.skip("two responders behind the shipped nginx upstream", "nginx is not installed")
        return
    ngx.open_for_workers(wd.path)
    html = ngx.copy_page(wd)
    socks, procs = [], []
    for name in ("n1", "n2"):
        p, sock = ngx.start_responder_for_nginx(
            wd, ["--redis", url, "--publish-key-file", wd.file("publish.keys"), "-k", "1",
                 "-r", "300"], name=name)
        socks.append(sock)
        procs.append(p)
    web = ngx.Nginx(wd, socks[0], html, name="nginx-redis",
                    subs={ngx.UPSTREAM: "server unix:%s;\n    server unix:%s;" % tuple(socks)})
    # a responder answers 503 until its link to Redis is up (slower to come under ASan)
    t.ok(all(wait_for(lambda x=x: redis_state(x).get("connected"), 10) for x in socks),
         "nginx: both responders connected to Redis")
    code, _, j = publish(web.port, "ng", "mark")
    t.ok(code == 200 and j, "nginx with two responders in its upstream: publish 200", code)
    if not j:
        return
    acked, bad, raws = kill_one_under_publishes(web.port, "ng", j["id"], procs[0])
    t.ok(len(acked) == 30 and not bad and sum(r.opens > 1 for r in raws) >= 1,
         "6 subscribers through nginx, n1 SIGKILLed after 10 of 30 messages: those on it resume "
         "on n2, every subscriber ends with every message, in order, once (%d reconnected)"
         % sum(r.opens > 1 for r in raws),
         (len(acked), [(i, len(raws[i].events)) for i in bad[:4]]))
    for r in raws:
        r.close()
    web.proc.stop(5)


def apache_test(tcp, password):
    """The shipped Apache snippets: fcgi-sse-proxy-fcgi.conf, then fcgi-sse-balancer.conf
    with two responders (as nobody, as the snippet documents; Redis over TCP)."""
    missing = ap.missing_modules(["proxy", "proxy_fcgi", "proxy_balancer", "lbmethod_byrequests",
                                  "slotmem_shm"]) if os.path.exists(ap.APACHE2) else ["apache2"]
    if missing:
        t.skip("two responders behind Apache's balancer", "not installed: %s" % missing)
        return
    ap.open_workdir(wd)
    keys = wd.file("publish-nobody.keys")
    with open(keys, "w") as f:
        f.write(KEY + "\n")
    os.chmod(keys, 0o600)
    os.chown(keys, pwd.getpwnam("nobody").pw_uid, -1)
    tag = "FCGI_SSE_REDIS_TEST=%s/ap" % wd.path
    url = "redis://app:%s@127.0.0.1:%d/2" % (password, tcp)
    procs, socks = [], []
    for name in ("ap1", "ap2"):
        p, sock = ap.start_socket_responder(wd, ["--redis", url, "--publish-key-file", keys,
                                                 "-k", "1", "-r", "300"], name, tag)
        procs.append(p)
        socks.append(sock)
    defines = {"FCGI_SSE_HTML": ap.page(wd), "FCGI_SSE_SOCKET": socks[0],
               "FCGI_SSE_SOCKET_2": socks[1]}
    extra = "\n".join("LoadModule %s_module %s" % (m, ap.module_path(m))
                      for m in ("proxy_balancer", "lbmethod_byrequests", "slotmem_shm"))
    extra += "\nInclude %s\n" % os.path.join(SRCDIR, "deploy", "apache", "fcgi-sse-balancer.conf")
    a = ap.Apache(wd, "ap-balancer", "proxy_fcgi", defines, extra=extra)
    try:
        t.ok(all(wait_for(lambda x=x: redis_state(x).get("connected"), 10) for x in socks),
             "two responders (as nobody) connected to Redis over TCP")
        code, _, j = publish(a.port, "apb", "mark")
        t.ok(code == 200, "Apache with the shipped balancer snippet: publish 200", code)
        acked, bad, raws = kill_one_under_publishes(a.port, "apb", j["id"] if j else None,
                                                    procs[0])
        t.ok(len(acked) == 30 and not bad and sum(r.opens > 1 for r in raws) >= 1,
             "6 subscribers through Apache's balancer, ap1 SIGKILLed after 10 of 30 messages: "
             "those on it resume on ap2, every subscriber ends with every message, in order, "
             "once (%d reconnected)" % sum(r.opens > 1 for r in raws),
             (len(acked), [(i, len(raws[i].events), raws[i].opens) for i in bad[:4]],
              a.errors()[-600:]))
        for r in raws:
            r.close()
    finally:
        ap.stop_all([a])


# The scale: 3,000 subscribers spread over the three responders, BAL_NODE of them
# the npm eventsource client (one node process), the rest raw HTTP streams read here.
BAL_SUBSCRIBERS = 3000
BAL_NODE = 150
BAL_MESSAGES = 120   # at 20/s: 6 s of flow, the fault at a third


def streams_open(sock):
    try:
        return status(sock).get("streams_open", 0)
    except Exception:   # noqa: BLE001 -- not answering
        return 0


def stored_entries(rsock, channel, after):
    """What Redis holds of the channel after id `after`, in its order: [(id, type, data)]
    (python3-redis, XRANGE)."""
    prog = ("import json, sys, redis\n"
            "r = redis.Redis(unix_socket_path=sys.argv[1])\n"
            "print(json.dumps([(i.decode(), f[b'type'].decode() or 'message', f[b'data'].decode())"
            " for i, f in r.xrange('fcgi-sse:chan:' + sys.argv[2], '(' + sys.argv[3], '+')]))\n")
    r = subprocess.run([PY_SYSTEM, "-c", prog, rsock, channel, after], capture_output=True,
                       timeout=20)
    if r.returncode != 0:
        raise RuntimeError("python3-redis: %s" % r.stderr.decode()[-500:])
    return [tuple(x) for x in json.loads(r.stdout)]


def balance_test(url, rsock, rproc, tag, kill_redis=False, rname=None):
    """3 responders behind one lighttpd (three sockets in fastcgi.server, round-robin),
    BAL_SUBSCRIBERS subscribers spread over them (BAL_NODE of them the npm eventsource
    client, the others raw streams that reconnect with Last-Event-ID as a browser does),
    BAL_MESSAGES messages at 20/s, and mid-flow either one responder SIGKILLed or (kill_redis)
    Redis SIGKILLed and restarted from its AOF (appendfsync always).

    What is asserted, and why: the publisher retries a publish answered other than 200
    (a 503 while Redis is down, a 502/503 or a cut connection when its responder dies),
    and such a publish may nevertheless have been stored (docs/redis.md: "a publish answered 503
    mid-outage ... a retry may store it twice"), so the acknowledged messages alone are not
    the whole truth. The truth is what Redis holds of the channel after the start mark,
    read with XRANGE at the end: it must hold every acknowledged message (id and body),
    anything else in it must be the body of a retried publish, and every subscriber must
    have received exactly that list: all of it (nothing lost), in Redis's order (ids
    strictly increasing), nothing twice, nothing that Redis does not hold."""
    what = "Redis SIGKILLed and restarted" if kill_redis else "r2 SIGKILLed"
    n_node = BAL_NODE
    n_raw = BAL_SUBSCRIBERS - n_node
    ndir, nwhy = node_dir(BUILDDIR)
    socks, procs = [], []
    for i in range(3):
        name = "%s%d" % (tag, i + 1)
        sock = wd.file(name + ".sock")
        p = wd.start([BINARY, "-l", "unix:" + sock, "--redis", url, "--publish-key-file",
                      wd.file("publish.keys"), "-k", "1", "-r", "300"], name)
        if not wait_for(lambda: can_connect(sock) or not p.alive(), 5):
            raise RuntimeError("fcgi-sse did not start:\n" + p.log())
        socks.append(sock)
        procs.append(p)
    port = free_port()
    state = wd.file(tag + "-lighttpd")
    os.makedirs(state, exist_ok=True)
    conf = wd.file(tag + "-balance.conf")
    hosts = ",\n".join('        ( "socket" => "%s", "check-local" => "disable" )' % x for x in socks)
    # 2 descriptors a stream (the client's, the responder's), reconnects on top: the
    # shipped demo.conf's figures
    with open(conf, "w") as f:
        f.write('server.modules += ( "mod_fastcgi" )\n'
                'server.bind = "127.0.0.1"\nserver.port = %d\nserver.document-root = "%s"\n'
                'server.pid-file = "%s/lighttpd.pid"\nserver.errorlog = "/dev/stderr"\n'
                'server.stream-response-body = 2\nserver.max-fds = 20000\n'
                'server.max-connections = 8192\nserver.listen-backlog = 4096\n'
                'fastcgi.balance = "round-robin"\n'
                '$HTTP["url"] =~ "(^|/)(events|publish|status)$" {\n'
                '    fastcgi.server = ( "/" => (\n%s\n    ) )\n}\n'
                % (port, os.path.join(SRCDIR, "html"), state, hosts))
    lp = wd.start(["lighttpd", "-D", "-f", conf], tag + "-lighttpd")
    if not wait_for(lambda: can_connect(("127.0.0.1", port)) or not lp.alive(), 10):
        raise RuntimeError("lighttpd did not start:\n" + lp.log())
    t.ok(all(wait_for(lambda x=x: redis_state(x).get("connected"), 10) for x in socks),
         "[%s] 3 responders behind one lighttpd connected to the one Redis" % what)
    code, _, j = publish(port, "load", "start")
    if code != 200:
        raise RuntimeError("publish start: %r" % code)
    start = j["id"]
    node = None
    if ndir:
        node = NodeProc(["node", "channels.mjs"], wd.file(tag + "-node.log"), ndir)
        nodes.append(node)
        r = node.read_json(20)
        if not r or not r.get("ready"):
            raise RuntimeError("channels.mjs did not start: %r\n%s" % (r, node.log()))
    else:
        n_node, n_raw = 0, BAL_SUBSCRIBERS
    raws = []
    for i in range(n_raw):
        raws.append(Resumer([port], ["load"] if i % 3 else ["load", "other"], start))
        if i % 200 == 199:   # read the heads as they come
            run_resumers(raws, lambda: False, 0.01)
    for i in range(n_node):
        node.ask({"cmd": "open", "name": "%s%d" % (tag, i), "kind": "node", "lastEventId": start,
                  "url": "http://127.0.0.1:%d/events?channel=load" % port, "reopenMs": 300})
    if not node:
        t.skip("[%s] eventsource npm subscribers" % what, nwhy)

    spread = [0, 0, 0]

    def all_open():
        if not all(r.s is not None and r.s.status == 200 for r in raws):
            return False
        spread[:] = [streams_open(x) for x in socks]
        return sum(spread) >= BAL_SUBSCRIBERS

    run_resumers(raws, all_open, 60)
    t.ok(sum(spread) >= BAL_SUBSCRIBERS and min(spread) >= BAL_SUBSCRIBERS // 6
         and all(r.s is not None and r.s.status == 200 for r in raws),
         "[%s] %d subscribers (%d of them eventsource) spread over the three: %s streams open"
         % (what, BAL_SUBSCRIBERS, n_node, "/".join(map(str, spread))), spread)

    acked, retried, bodies, fault, N = [], set(), {}, {}, BAL_MESSAGES
    redis_box = [rproc]

    def restart_redis():
        redis_box[0].signal(signal.SIGKILL)
        redis_box[0].wait(5)
        fault["down_seen"] = wait_for(
            lambda: all(redis_state(x).get("connected") is False for x in socks), 10)
        time.sleep(0.5)   # publishes meanwhile: 503, retried
        redis_box[0], _ = start_redis(wd, rname)   # the same directory: its AOF

    def publisher():
        for i in range(N):
            body = "load %d" % i
            deadline = time.monotonic() + 30   # then give up: fewer than N acknowledged
            while time.monotonic() < deadline:
                try:
                    code, h, j = publish(port, "load", body)
                except OSError:
                    code, j = None, None
                if code == 200:
                    acked.append((j["id"], "message", body))
                    bodies[j["id"]] = body
                    break
                retried.add(body)
                fault[code] = fault.get(code, 0) + 1
                time.sleep(0.05)
            else:
                return
            if i == N // 3:
                fault["at"] = len(acked)
                if kill_redis:
                    fault["thread"] = threading.Thread(target=restart_redis, daemon=True)
                    fault["thread"].start()
                else:
                    procs[1].signal(signal.SIGKILL)
            time.sleep(0.05)

    pt = threading.Thread(target=publisher, daemon=True)   # a failing test still exits
    pt.start()
    run_resumers(raws, lambda: not pt.is_alive(), 120)
    pt.join(5)
    if "thread" in fault:
        fault["thread"].join(20)
    if kill_redis:
        t.ok(len(acked) == N and fault.get("down_seen") and fault.get(503, 0) > 0
             and redis_box[0].alive(),
             "[%s] %d messages acknowledged at 20/s; Redis SIGKILLed after %s, every responder's "
             "/status said disconnected, publishes answered 503 (%d, retried), Redis restarted "
             "from its AOF" % (what, N, fault.get("at"), fault.get(503, 0)),
             (len(acked), fault))
        t.ok(all(wait_for(lambda x=x: redis_state(x).get("connected")
                          and redis_state(x).get("reconnects", 0) >= 1, 10) for x in socks),
             "[%s] all 3 responders reconnected (/status reconnects >= 1)" % what,
             [redis_state(x) for x in socks])
    else:
        t.ok(len(acked) == N and "at" in fault and not procs[1].alive()
             and procs[0].alive() and procs[2].alive(),
             "[%s] %d messages acknowledged at 20/s through the balancer; r2 SIGKILLed after %s"
             " (%d publishes retried)" % (what, N, fault.get("at"), len(retried)),
             (len(acked), fault))

    stored = stored_entries(rsock, "load", start)
    sids = [e[0] for e in stored]
    extra = [e for e in stored if e[0] not in bodies]
    t.ok(set(acked) <= set(stored) and increasing(sids) and all(e[2] in retried for e in extra),
         "[%s] Redis holds every acknowledged message; its %d other entries are all of retried "
         "publishes" % (what, len(extra)),
         ([e for e in acked if e not in set(stored)][:5], extra[:5]))

    run_resumers(raws, lambda: all(len(r.events) >= len(stored) for r in raws), 60)

    def describe(evs):
        ids = [e[0] for e in evs]
        return {"got": len(evs), "want": len(stored), "twice": len(ids) - len(set(ids)),
                "missing": [e[0] for e in stored if e not in set(evs)][:3],
                "foreign": [e for e in evs if e not in set(stored)][:3]}

    bad = [i for i, r in enumerate(raws) if r.events != stored]
    t.ok(not bad,
         "[%s] %d raw subscribers (a third of them on two channels): each got exactly what Redis "
         "holds (%d messages): every acknowledged one, ids strictly increasing, none twice"
         % (what, len(raws), len(stored)),
         [(i, raws[i].opens, describe(raws[i].events)) for i in bad[:5]] + ["%d bad" % len(bad)])
    reconnected = sum(r.opens > 1 for r in raws)
    if kill_redis:
        t.ok(reconnected == 0, "[%s] no subscriber had to reconnect: the streams stayed open "
             "through the outage" % what, reconnected)
    else:
        t.ok(reconnected >= len(raws) // 6,
             "[%s] the raw subscribers of the killed responder resumed on the others with "
             "Last-Event-ID (%d reconnected)" % (what, reconnected))
    if node:
        def node_events(i):
            r = node.ask({"cmd": "get", "name": "%s%d" % (tag, i), "kind": "node"}, 15) or {}
            return [(e["id"], e["type"], e["data"]) for e in r.get("events", [])], r

        deadline = time.monotonic() + 30
        results = []
        while time.monotonic() < deadline:
            results = [node_events(i) for i in range(n_node)]
            if all(len(evs) >= len(stored) for evs, _ in results):
                break
            time.sleep(0.3)
        nbad = [i for i, (evs, _) in enumerate(results) if evs != stored]
        t.ok(not nbad and len(results) == n_node,
             "[%s] %d eventsource (npm) subscribers: each got exactly what Redis holds, in order, "
             "once (%d reopened)" % (what, n_node, sum(r.get("opens", 0) > 1 or r.get("reopens", 0) > 0
                                                      for _, r in results)),
             [(i, results[i][1].get("opens"), describe(results[i][0])) for i in nbad[:5]])
        node.stop()
        nodes.remove(node)
    for r in raws:
        r.close()
    lp.stop(5)
    for p in procs:
        p.stop(5)


streams = []
nodes = []
try:
    redis, rsock = start_redis(wd)
    url = "unix:" + rsock
    a, asock, aport = responder("a", url)
    b, bsock, bport = responder("b", url)
    t.ok(wait_for(lambda: redis_state(asock).get("connected") and redis_state(bsock).get("connected"), 10),
         "both responders connect to Redis (/status redis.connected)",
         (redis_state(asock), a.log()[-800:]))
    st = redis_state(asock)
    t.ok(st.get("address") == url and st.get("reconnects") == 0,
         "/status redis: its address, no reconnect yet", st)

    # ------------------------------------------------------------ publish, cross-responder
    code, h, j = publish(aport, "news", "marker")
    t.ok(code == 200 and j and j.get("channel") == "news" and "-" in j.get("id", "")
         and j.get("subscribers") == 0,
         "POST /publish on A: 200 with the id Redis assigned", (code, j))
    marker = j["id"]
    sa = subscribe(aport, ["news"], marker)
    sb = subscribe(bport, ["news"], marker)
    streams += [sa, sb]
    sent = []
    for i, (port, who) in enumerate([(aport, "A"), (bport, "B"), (aport, "A"), (bport, "B")]):
        code, _, j = publish(port, "news", "m%d from %s" % (i, who), event="note" if i % 2 else None)
        sent.append((j["id"] if j else None, "note" if i % 2 else "message", "m%d from %s" % (i, who)))
    ok_all = wait_events([sa, sb], len(sent))
    t.ok(ok_all and data_events(sa) == sent,
         "a subscriber on A gets every message published on A and on B, with the answered ids, once",
         (data_events(sa), sent))
    t.ok(data_events(sb) == sent,
         "a subscriber on B gets the same, in the same order", (data_events(sb), sent))

    # ------------------------------------------------------------ redis-cli and python3-redis
    cid = cli_publish(rsock, "news", "from redis-cli")
    pids = py_publish(rsock, "news", ["from python 1", "from python 2"])
    sent += [(cid, "message", "from redis-cli"), (pids[0], "message", "from python 1"),
             (pids[1], "message", "from python 2")]
    wait_events([sa, sb], len(sent))
    t.ok(data_events(sa) == sent and data_events(sb) == sent,
         "redis-cli and python3-redis publish with FCALL fcgi_sse_publish: both responders deliver",
         (data_events(sa)[-4:], sent[-4:]))
    code, _, j = publish(aport, "news", "late")
    sent.append((j["id"], "message", "late"))
    t.ok(idkey(cid) < idkey(pids[0]) < idkey(j["id"]),
         "ids of other publishers and of the responders interleave in one increasing order",
         (cid, pids, j["id"]))

    # ------------------------------------------------------------ ids across channels
    sx = subscribe(aport, ["x", "y"], marker)
    streams.append(sx)
    xy = []
    for i in range(12):
        ch = "x" if i % 2 == 0 else "y"
        if i % 3 == 0:
            xid = cli_publish(rsock, ch, "%s%d" % (ch, i))
        else:
            code, _, j = publish(aport if i % 3 == 1 else bport, ch, "%s%d" % (ch, i))
            xid = j["id"]
        xy.append((xid, "message", "%s%d" % (ch, i)))
    wait_events([sx], len(xy))
    got = data_events(sx)
    t.ok(got == xy and increasing([e[0] for e in got]),
         "one connection on channels x and y: ids strictly increasing across channels, "
         "responders and redis-cli, each once", (got, xy))

    # ------------------------------------------------------------ resume on the other responder
    sa.read_until(lambda s: len(data_events(s)) >= len(sent), 10)
    sa.close()
    streams.remove(sa)
    last_seen = data_events(sa)[-1][0]
    missed = []
    for i in range(40):
        ch = "news" if i % 2 else "x"
        code, _, j = publish(aport if i % 2 else bport, ch, "missed %d" % i)
        missed.append((j["id"], "message", "missed %d" % i))
    news_missed = [m for m in missed if m[2].endswith(tuple("13579"))]
    sr = subscribe(bport, ["news"], last_seen)
    streams.append(sr)
    wait_events([sr], len(news_missed))
    t.ok(data_events(sr) == news_missed,
         "back on the other responder with Last-Event-ID: exactly the %d missed messages of its "
         "channel, in order" % len(news_missed), (data_events(sr)[:3], news_missed[:3]))
    # x's messages of the section above came after last_seen too
    missed = sorted([m for m in xy if m[2].startswith("x")] + missed, key=lambda m: idkey(m[0]))
    both = subscribe(aport, ["news", "x"], last_seen)
    streams.append(both)
    wait_events([both], len(missed))
    t.ok(data_events(both) == missed,
         "on two channels: all %d missed, merged across them in id order (more than one "
         "fetch's batch), nothing twice" % len(missed),
         (len(data_events(both)), data_events(both)[:3], missed[:3]))
    code, _, j = publish(bport, "news", "live after resume")
    live = (j["id"], "message", "live after resume")
    wait_events([sr], len(news_missed) + 1)
    wait_events([both], len(missed) + 1)
    t.ok(data_events(sr)[-1] == live and len(data_events(sr)) == len(news_missed) + 1
         and data_events(both)[-1] == live and len(data_events(both)) == len(missed) + 1,
         "then live: the next message follows the replay with no gap and no repeat",
         (data_events(sr)[-2:], data_events(both)[-2:]))

    # ------------------------------------------------------------ reset after trimming
    tids = [cli_publish(rsock, "trim", "t%d" % i, history=3) for i in range(6)]
    st_ = subscribe(bport, ["trim"], tids[0])
    streams.append(st_)
    st_.read_until(lambda s: len(data_events(s)) >= 3, 10)
    resets = [e for e in st_.events if e["event"] == "reset"]
    t.ok(len(resets) == 1 and resets[0]["data"] == tids[3]
         and st_.events.index(resets[0]) < st_.events.index(
             next(e for e in st_.events if e["data"] == "t3")),
         "Last-Event-ID before what Redis trimmed: event: reset first, with the oldest id kept",
         [(e["event"], e["data"]) for e in st_.events])
    t.ok([e[2] for e in data_events(st_)] == ["t3", "t4", "t5"],
         "then the messages Redis kept", data_events(st_))
    st2 = subscribe(aport, ["trim"], tids[2])
    streams.append(st2)
    st2.read_until(lambda s: len(data_events(s)) >= 3, 10)
    t.ok(not [e for e in st2.events if e["event"] == "reset"]
         and [e[2] for e in data_events(st2)] == ["t3", "t4", "t5"],
         "Last-Event-ID of the newest trimmed message: no reset (nothing missed), the rest",
         [(e["event"], e["data"]) for e in st2.events])

    # ------------------------------------------------------------ no Last-Event-ID: from now on
    sn = subscribe(bport, ["fresh"])
    streams.append(sn)
    first = None
    deadline = time.monotonic() + 10
    k = 0
    while time.monotonic() < deadline and not data_events(sn):
        publish(aport, "fresh", "probe %d" % k)
        k += 1
        sn.read_until(lambda s: bool(data_events(s)), 0.2)
    first = data_events(sn)[0] if data_events(sn) else None
    more = [publish(aport, "fresh", "after %d" % i)[2]["id"] for i in range(5)]
    wait_events([sn], 6)
    t.ok(first is not None and [e[0] for e in data_events(sn)[1:]] == more
         and first[2].startswith("probe"),
         "without Last-Event-ID: live from some point on, then every message, in order",
         (first, data_events(sn)[1:], more))

    # ------------------------------------------------------------ ids when the clock is behind
    ahead = "%d-7" % (int(time.time() * 1000) + 3600 * 1000)
    subprocess.run(["redis-cli", "-s", rsock, "SET", "fcgi-sse:last", ahead], capture_output=True,
                   check=True)
    code, _, j = publish(aport, "clock", "behind")
    cid2 = cli_publish(rsock, "clock", "behind too")
    t.ok(code == 200 and j["id"] == ahead.split("-")[0] + "-8"
         and cid2 == ahead.split("-")[0] + "-9",
         "Redis's TIME behind the last id: the same ms, the sequence goes on (%s, %s after %s)"
         % (j and j["id"], cid2, ahead))

    subprocess.run(["redis-cli", "-s", rsock, "SET", "fcgi-sse:last", "1-0"], capture_output=True,
                   check=True)
    code, _, j = publish(aport, "clock", "last id lost")
    t.ok(code == 200 and idkey(j["id"]) == (idkey(cid2)[0], idkey(cid2)[1] + 1),
         "fcgi-sse:last lost (set back): the id still comes after the channel's newest entry",
         (code, j, cid2))
    cid2 = j["id"] if j else cid2
    subprocess.run(["redis-cli", "-s", rsock, "SET", "fcgi-sse:last", cid2], capture_output=True,
                   check=True)

    # ------------------------------------------------------------ functions flushed
    subprocess.run(["redis-cli", "-s", rsock, "FUNCTION", "FLUSH"], capture_output=True, check=True)
    code, h, _ = publish(aport, "clock", "after a flush")
    t.ok(code == 503 and h.get("retry-after"), "FUNCTION FLUSH: the next publish gets 503 with "
         "Retry-After", (code, h))
    t.ok(wait_for(lambda: publish(aport, "clock", "reloaded")[0] == 200, 10),
         "then the responder reconnects, loads the functions again, and publishing works",
         redis_state(asock))
    cid2 = cli_publish(rsock, "clock", "by cli after reload")

    # ------------------------------------------------------------ the publish command
    r = run_binary(["publish", "--socket", "unix:" + bsock, "--key-file",
                    wd.file("publish.keys"), "clock"], input=b"by command", timeout=10)
    try:
        cj = json.loads(r.stdout)
    except ValueError:
        cj = {}
    t.ok(r.returncode == 0 and cj.get("channel") == "clock"
         and idkey(cj.get("id", "0-0")) > idkey(cid2),
         "fcgi-sse publish on a --redis responder: the id Redis assigned", (r.returncode, r.stdout,
                                                                          r.stderr[-300:]))

    # ------------------------------------------------------------ ACL user, password file, db, TCP
    tcp = free_port()
    authr, authsock = start_redis(wd, "auth", tcp_port=tcp)
    subprocess.run(["redis-cli", "-s", authsock, "ACL", "SETUSER", "app", "on", ">s3cret", "allkeys",
                    "allcommands"], capture_output=True, check=True)
    with open(wd.file("redis.pass"), "w") as f:
        f.write("s3cret\n")
    os.chmod(wd.file("redis.pass"), 0o600)
    d, dsock, dport = responder("d", "redis://app:@127.0.0.1:%d/2" % tcp,
                                ["--redis-password-file", wd.file("redis.pass")])
    t.ok(wait_for(lambda: redis_state(dsock).get("connected"), 10),
         "redis://app:@127.0.0.1:PORT/2 with --redis-password-file: connected as an ACL user",
         (redis_state(dsock), d.log()[-500:]))
    code, _, j = publish(dport, "acl", "in db 2")
    xlen = subprocess.run(["redis-cli", "-s", authsock, "-n", "2", "XLEN", "fcgi-sse:chan:acl"],
                          capture_output=True).stdout.strip()
    t.ok(code == 200 and xlen == b"1", "its messages go to database 2", (code, xlen))
    e, esock, eport = responder("e", "redis://app:wrong@127.0.0.1:%d" % tcp)
    t.ok(wait_for(lambda: "WRONGPASS" in redis_state(esock).get("last_error", ""), 10)
         and not redis_state(esock).get("connected"),
         "a wrong password: not connected, /status says why", redis_state(esock))
    time.sleep(6.5)   # past the 5 s reply timeout: an idle link must not be taken for dead
    st = redis_state(dsock)
    t.ok(st.get("connected") and st.get("reconnects") == 0,
         "idle for 6.5 s after AUTH and SELECT: still connected, no reconnect", st)

    # ------------------------------------------------------------ a read bounded per stream
    # --max-message 8M: the blocking read asks 1 entry a stream (its reply stays near 16 MiB)
    hresp, hsock, hport = responder("h", url, ["--max-message", "8M"])
    hmark = cli_publish(rsock, "p", "mark")
    hs = subscribe(hport, ["p", "q"], hmark)
    streams.append(hs)
    probe = cli_publish(rsock, "q", "probe")
    hs.read_until(lambda s: [e[0] for e in data_events(s)] == [probe], 10)
    pairs = [("p" if i % 3 else "q", "burst %d" % i) for i in range(20)]
    hids = py_burst(rsock, pairs)
    hs.read_until(lambda s: len(data_events(s)) >= 21, 15)
    t.ok(data_events(hs)[1:] == [(x, "message", b) for x, (_, b) in zip(hids, pairs)],
         "20 messages on two channels at once (MULTI/EXEC), read 1 a stream per read: merged "
         "in id order, none skipped, none twice", (data_events(hs)[:4], hids[:3]))

    # ------------------------------------------------------------ behind by more than the local history
    g, gsock, gport = responder("g", url, ["--history", "3", "-b", "16384"])
    gmark = cli_publish(rsock, "slowc", "mark")
    raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(gsock)
    raw.sendall(fcgi_request_bytes({"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/events",
                                    "QUERY_STRING": "channel=slowc", "HTTP_LAST_EVENT_ID": gmark}))
    big = ["%02d " % i + "x" * 9000 for i in range(12)]
    bids = [cli_publish(rsock, "slowc", m) for m in big]
    t.ok(wait_for(lambda: status(gsock).get("messages_published", 0) >= 12, 10),
         "the responder stored the 12 messages (9 KB each) while its subscriber did not read",
         status(gsock))
    parser = SseParser()
    evs = []

    buf = b""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len([e for e in evs if e["data"]]) < 12:
        raw.settimeout(0.5)
        try:
            chunk = raw.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        recs, buf = fcgi_split_records(buf + chunk)
        evs += parser.feed(b"".join(c for ty, _, c in recs if ty == FCGI_STDOUT), 0)
    raw.close()
    gotd = [(e["id"], e["data"]) for e in evs if e["data"] is not None]
    t.ok(gotd == list(zip(bids, big)) and not [e for e in evs if e["event"] == "reset"],
         "a subscriber behind by more than the local --history 3: the rest comes from Redis, "
         "all 12 in order, no reset, not dropped", ([x[0] for x in gotd], bids))

    # ------------------------------------------------------------ Redis down at start
    late_sock = os.path.join(wd.file("late"), "redis.sock")
    c, csock, cport = responder("c", "unix:" + late_sock)
    st = redis_state(csock)
    t.ok(c.alive() and st.get("connected") is False and st.get("last_error"),
         "Redis down at start: the responder runs, /status redis.connected false with the error",
         st)
    code, h, j = publish(cport, "late", "too early")
    t.ok(code == 503 and h.get("retry-after"), "/publish: 503 with Retry-After", (code, h))
    # Before Redis was ever reached, a subscriber without Last-Event-ID cannot know where
    # its stream starts: its 200 waits (up to 10 s), else a message published elsewhere
    # meanwhile would be lost to it.
    gone = HttpStream(cport, "/events?channel=late")
    t.ok(gone.read_to_end(20) and gone.status == 503 and gone.header("Retry-After")
         and b"Redis is unreachable" in gone.body(),
         "a subscriber that Redis never comes up for: no 200, then 503 + Retry-After, "
         "'Redis is unreachable'", (gone.status, gone.body()[:200]))
    gone.close()
    hb = HttpStream(cport, "/events?channel=late")
    streams.append(hb)
    hb.read_until(lambda s: s.status is not None, 1)
    t.ok(hb.status is None, "a subscriber while Redis is down: no answer yet (no 200 before "
         "the responder knows where the stream starts)", hb.status)
    t.ok("redis unix:%s" % late_sock in c.log() and "reconnecting" in c.log(),
         "the responder logs the failure and that it retries", c.log()[-500:])
    late, late_rsock = start_redis(wd, "late")
    t.ok(wait_for(lambda: redis_state(csock).get("connected"), 10),
         "once Redis is up, the responder connects (backoff)", redis_state(csock))
    t.ok(hb.read_head(10) and hb.status == 200,
         "... and the waiting subscriber gets its 200", hb.status)
    code, h, j = publish(cport, "late", "now")
    t.ok(code == 200 and hb.read_until(lambda s: [e[2] for e in data_events(s)] == ["now"], 10),
         "then publishing works and the waiting subscriber gets the message",
         (code, data_events(hb)))

    # ------------------------------------------------------------ Redis restarted mid-flow
    flow = subscribe(aport, ["flow"], marker)
    flowb = subscribe(bport, ["flow"], marker)
    streams += [flow, flowb]
    acked, retried, results = [], set(), {}
    N = 120

    def publisher():
        for i in range(N):
            body = "flow %d" % i
            give_up = time.monotonic() + 30     # then the count check below fails
            while time.monotonic() < give_up:
                try:
                    code, h, j = publish(aport if i % 2 else bport, "flow", body)
                except OSError:
                    code, j = None, None
                if code == 200:
                    acked.append((j["id"], "message", body))
                    break
                retried.add(body)
                results.setdefault("503", 0)
                results["503"] += 1
                results.setdefault("retry-after", h.get("retry-after") if code == 503 else None)
                time.sleep(0.05)
            time.sleep(0.02)

    pt = threading.Thread(target=publisher, daemon=True)   # a failing test still exits
    pt.start()
    wait_events([flow, flowb], 30, 20)
    redis.signal(signal.SIGKILL)
    redis.wait(5)
    down_seen = wait_for(lambda: redis_state(asock).get("connected") is False, 10)
    time.sleep(0.3)
    redis, _ = start_redis(wd)
    pt.join(60)
    t.ok(not pt.is_alive() and len(acked) == N,
         "the publisher got all %d messages acknowledged, retrying the 503s of the outage" % N,
         (len(acked), results))
    t.ok(down_seen and results.get("503", 0) > 0 and results.get("retry-after"),
         "while Redis was down: /status redis.connected false, /publish 503 with Retry-After",
         (down_seen, results))
    t.ok(wait_for(lambda: redis_state(asock).get("reconnects", 0) >= 1 and
                  redis_state(asock).get("connected"), 10),
         "A reconnected (/status reconnects >= 1)", redis_state(asock))
    want_ids = [x[0] for x in acked]
    for name, s in (("A", flow), ("B", flowb)):
        pump([s], lambda: set(want_ids) <= {e[0] for e in data_events(s)}, 20)
        got = data_events(s)
        ids = [e[0] for e in got]
        extra = [e for e in got if e[0] not in set(want_ids)]
        t.ok(set(want_ids) <= set(ids) and increasing(ids) and len(ids) == len(set(ids))
             and all(e[2] in retried for e in extra),
             "subscriber on %s across the Redis restart: every acknowledged message, ids strictly "
             "increasing, none twice (%d extra, all of retried publishes)" % (name, len(extra)),
             (len(ids), len(want_ids), [x for x in want_ids if x not in set(ids)][:5], extra[:5]))

    # ------------------------------------------------------------ a second "host"
    netns_test()

    # ------------------------------------------------------------ Apache, two responders
    apache_test(tcp, "s3cret")

    # ------------------------------------------------------------ nginx, two responders
    nginx_test(url)

    # ------------------------------------------------------------ 3 responders, 3,000 subscribers
    balance_test(url, rsock, redis, "r")
    bredis, brsock = start_redis(wd, "bal-redis")
    balance_test("unix:" + brsock, brsock, bredis, "q", kill_redis=True, rname="bal-redis")
finally:
    for s in streams:
        s.close()
    for n in nodes:
        n.stop()
    wd.cleanup()
t.done()
