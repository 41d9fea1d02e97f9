"""test_docker.py -- deploy/docker/compose.yaml built and run for real, as a new user would:
`docker-compose up --build` on a Docker engine, from debian:12 made with debootstrap.

- the engine: the running one, or dockerd started here and stopped by pid at the end;
- debian:12: debootstrap --variant=minbase bookworm, cached in <builddir>/tests/cache
  (tests/lib/dock.py); no registry is used;
- `docker-compose -p fcgisse-test up --build -d` builds the three images (responder,
  lighttpd, Apache: stages of deploy/docker/Dockerfile) and starts them, the ports on free
  loopback ports (FCGI_SSE_LIGHTTPD_PORT, FCGI_SSE_APACHE_PORT; 8080 and 8081 by default);
  all three become healthy (their own healthchecks) with the engine's nofile limit, however
  low (no `ulimits:` that a host could refuse);
- through each published port: the page (html/index.html, with its CSP); /stream with the
  header block and retry: at once, then events 0..3 each within 100 ms of its due time (1 s,
  the image's default); a resume (Last-Event-ID: 41 continues at 42);
- channels: the responder made its publish key on first start (the entrypoint: 64 hex
  digits in the named volume at /var/lib/fcgi-sse, mode 0600, uid 10001; the root
  filesystem stays read-only); a subscriber through each published port
  (/events?channel=news); a publish through each port is refused (403: the servers'
  loopback-only /publish), without a key and even with the right one; `docker exec` of
  `fcgi-sse publish --key-file` in the responder (the message on stdin, as compose.yaml's
  header says) is answered with its id MS-SEQ and 2 subscribers, and both subscribers get
  exactly that message (that id, its lines as data: lines) and nothing else;
- `docker stop` of the responder (SIGTERM) with a stream open through each server: each
  stream ends cleanly (a complete last event, then the end of the response) within 3 s,
  the container exits 0; `docker start` again: healthy, with the same key;
- `docker-compose down -v`: no container, volume (the socket's, the key's) or network of
  the project is left.

Skipped (counted as skipped; CI refuses it) where no Docker engine can start, and under
FCGI_SSE_SANITIZED=1: it builds its own binaries, so it runs in the first pass only.
"""

import json
import os
import re
import time

from harness import (SRCDIR, HttpStream, Tap, Workdir, describe_offsets,  # noqa: E402
                     due_offsets, free_port, http_get, in_slot, pump, wait_for)
import dock  # noqa: E402
from nginx import get_from  # noqa: E402

COMPOSE = os.path.join(SRCDIR, "deploy", "docker", "compose.yaml")
PROJECT = "fcgisse-test"
LABEL = "com.docker.compose.project=" + PROJECT
INTERVAL = 1.0            # the image runs fcgi-sse with its defaults
EVENTS = 4
SOCK = "unix:/run/fcgi-sse/fcgi-sse.sock"
KEY_FILE = "/var/lib/fcgi-sse/publish.key"    # compose.yaml's header, the image's CMD
MESSAGE = "hello from docker-compose\nsecond line: <b>&amp;</b> data: id: 9"


from harness import cleanup_on_signals  # noqa: E402
cleanup_on_signals()
t = Tap()
why = dock.skip_reason(("docker", "dockerd", "docker-compose", "debootstrap"))
if why:
    t.skip("the compose stack, built and run", why)
    t.done()

wd = Workdir("docker")
engine = None
t_begin = time.monotonic()
ports = {"lighttpd": free_port(), "apache": free_port()}
env = dict(os.environ, FCGI_SSE_LIGHTTPD_PORT=str(ports["lighttpd"]),
           FCGI_SSE_APACHE_PORT=str(ports["apache"]))
compose = ["docker-compose", "-p", PROJECT, "-f", COMPOSE]


def dc(*args, timeout=120):
    return dock.run(compose + list(args), timeout=timeout, env=env, cwd=SRCDIR)


def container(service):
    r = dc("ps", "-q", service, timeout=30)
    return r.stdout.strip()


def inspect(cid, fmt):
    return dock.run(["docker", "inspect", "-f", fmt, cid], timeout=30).stdout.strip()


def lateness(s):
    return due_offsets(s, INTERVAL)


try:
    try:
        t0 = time.monotonic()
        engine = dock.Engine(wd)
    except RuntimeError as e:
        t.skip("the compose stack, built and run", "no Docker engine can start here: %s"
               % str(e).splitlines()[0])
        raise SystemExit
    t.diag("engine: %s (%.1f s)" % ("dockerd started by this test" if engine.started_here()
                                    else "already running", time.monotonic() - t0))
    dock.remove_label(LABEL)          # a stack left by an interrupted run
    t0 = time.monotonic()
    try:
        how = dock.base_image()
        t.ok(True, "base image debian:12: %s (%.1f s)" % (how, time.monotonic() - t0))
    except RuntimeError as e:
        t.ok(False, "base image debian:12 from debootstrap", e)
        raise SystemExit

    t0 = time.monotonic()
    r = dc("up", "--build", "-d", timeout=900)
    took = time.monotonic() - t0
    t.ok(r.returncode == 0, "docker-compose up --build: three images built, stack started "
         "(%.1f s)" % took, (r.stdout + r.stderr)[-3000:])
    if r.returncode != 0:
        raise SystemExit
    cids = {s: container(s) for s in ("responder", "lighttpd", "apache")}

    def health():
        return {s: inspect(c, "{{.State.Health.Status}}") for s, c in cids.items()}
    t0 = time.monotonic()
    ok = wait_for(lambda: all(v == "healthy" for v in health().values()), 120, step=1)
    t.ok(ok, "all three containers healthy by their own healthchecks (%.1f s)"
         % (time.monotonic() - t0), health())
    nofile = dock.run(["docker", "exec", cids["responder"], "sh", "-c", "ulimit -Hn"],
                      timeout=30).stdout.strip()
    t.diag("the responder container's hard nofile limit (the engine's): %s" % nofile)

    with open(os.path.join(SRCDIR, "html", "index.html"), "rb") as f:
        index = f.read()
    for name, port in ports.items():
        code, hdrs, body = http_get(port, "/")
        t.ok(code == 200 and body == index and hdrs.get("content-type", "").startswith("text/html")
             and "default-src 'self'" in hdrs.get("content-security-policy", ""),
             "%s (127.0.0.1:%d): the page, with its Content-Security-Policy" % (name, port),
             (code, hdrs))

    # Both servers' streams and resumes at once: one wait of EVENTS intervals.
    streams = {n: HttpStream(p, "/stream?limit=%d" % EVENTS) for n, p in ports.items()}
    resumes = {n: HttpStream(p, "/stream?limit=2", headers={"Last-Event-ID": "41"})
               for n, p in ports.items()}
    every = list(streams.values()) + list(resumes.values())
    pump(every, lambda: all(c.eof for c in every), EVENTS * INTERVAL + 5)
    for c in every:
        c.close()
    for name, s in streams.items():
        first = s.body_pieces[0] if s.body_pieces else (None, b"")
        evs = [e for e in s.events if e["data"] is not None]
        t.ok(s.status == 200 and (s.header("Content-Type") or "").startswith("text/event-stream")
             and first[1].startswith(b"retry: ") and b"id:" not in first[1]
             and evs and s.t_head < evs[0]["t"] and first[0] < evs[0]["t"],
             "%s: /stream: header block and retry: on their own, before the first event" % name,
             (s.status, s.headers, first))
        late = lateness(s)
        t.ok(s.counts() == list(range(EVENTS)) and in_slot(late, INTERVAL),
             "%s: /stream unbuffered: events 0..%d, each in its own slot (after the one before "
             "it was due, before the one after it is due): %s"
             % (name, EVENTS - 1, describe_offsets(late, INTERVAL)),
             (s.counts(), ["%+.3f" % x for x in late]))
        t.eq(resumes[name].counts(), [42, 43], "%s: resume: Last-Event-ID: 41 continues at 42"
             % name)

    # Channels. The key the entrypoint made on first start, in its named volume.
    r = dock.run(["docker", "exec", cids["responder"], "stat", "-c", "%a %u:%g", KEY_FILE],
                 timeout=30)
    key = dock.run(["docker", "exec", cids["responder"], "cat", KEY_FILE], timeout=30).stdout
    mounts = inspect(cids["responder"], "{{range .Mounts}}{{.Type}} {{.Name}} "
                     "{{.Destination}} {{.RW}};{{end}}")
    mounts = [m.split() for m in mounts.split(";") if m.strip()]
    key_vol = [m[1] for m in mounts if m[2] == "/var/lib/fcgi-sse" and m[0] == "volume"]
    t.ok(r.stdout.strip() == "600 10001:33" and re.fullmatch(r"[0-9a-f]{64}\n", key)
         and key_vol and key_vol[0].endswith("fcgi-sse-keys"),
         "the responder's entrypoint made its publish key on first start: 64 hex digits, "
         "mode 0600, uid 10001, in the named volume %s" % (key_vol and key_vol[0]),
         (r.stdout, r.stderr, len(key), mounts))
    key = key.strip()
    t.eq(inspect(cids["responder"], "{{.HostConfig.ReadonlyRootfs}}"), "true",
         "the responder's root filesystem is still read-only")
    logs = dock.run(["docker", "logs", cids["responder"]], timeout=30)
    t.ok(key and key not in logs.stdout + logs.stderr,
         "the key itself is not in the responder's log")

    subs = {n: HttpStream(p, "/events?channel=news") for n, p in ports.items()}
    pump(list(subs.values()), lambda: all(c.status is not None for c in subs.values()), 5)
    for name, c in subs.items():
        t.ok(c.status == 200 and (c.header("Content-Type") or "").startswith("text/event-stream"),
             "%s: /events?channel=news: a subscriber (200, text/event-stream)" % name,
             (c.status, c.headers))
    for name, port in ports.items():
        for how, hdrs in (("without a key", {}),
                          ("even with the key", {"Authorization": "Bearer " + key})):
            h = dict(hdrs, **{"Content-Type": "text/plain; charset=utf-8"})
            code, _, body = get_from(port, "/publish?channel=news", method="POST", headers=h,
                                     body=b"refused: " + name.encode(), timeout=10)
            t.ok(code == 403, "%s: POST /publish through the published port %s: 403 (the "
                 "server's loopback-only /publish)" % (name, how), (code, body[:200]))

    argv = ["docker", "exec", "-i", cids["responder"], "fcgi-sse", "publish", "--socket",
            SOCK, "--key-file", KEY_FILE, "news"]
    r = dock.run(argv, timeout=30, input=MESSAGE)
    try:
        answer = json.loads(r.stdout)
    except ValueError:
        answer = {}
    mid = answer.get("id")
    t.ok(r.returncode == 0 and re.fullmatch(r"\d+-\d+", str(mid)) and
         answer.get("channel") == "news" and answer.get("subscribers") == 2,
         "docker exec ... fcgi-sse publish --key-file %s news < message: published, id %s, "
         "2 subscribers" % (KEY_FILE, mid), (r.returncode, r.stdout, r.stderr))
    # The web servers' own /publish route, from where it is open: each container's loopback
    # (bash's /dev/tcp: the images have no HTTP client), with the key.
    sent = [(mid, None, MESSAGE)]
    for name in ports:
        text = "via %s's /publish" % name
        req = ("POST /publish?channel=news&event=note HTTP/1.0\r\nHost: localhost\r\n"
               "Authorization: Bearer %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
               "Content-Length: %d\r\n\r\n%s" % (key, len(text), text))
        r = dock.run(["docker", "exec", "-i", cids[name], "bash", "-c",
                      "exec 3<>/dev/tcp/127.0.0.1/80 && cat >&3 && cat <&3"],
                     timeout=30, input=req)
        m = re.search(r'"id":\s*"(\d+-\d+)"', r.stdout)
        t.ok(r.stdout.startswith("HTTP/1.") and " 200 " in r.stdout.split("\r\n")[0] and m,
             "%s: POST /publish on the container's loopback, with the key: 200 and an id"
             % name, (r.returncode, r.stdout[-400:], r.stderr[-200:]))
        sent.append((m and m.group(1), "note", text))
    pump(list(subs.values()), lambda: all(
        sum(e["data"] is not None for e in c.events) >= len(sent) for c in subs.values()), 5)
    # Anything else (a refused message) would have come by now, ahead of them or with them.
    pump(list(subs.values()), lambda: False, 0.5)
    for c in subs.values():
        c.close()
    lines = "".join("data: %s\n" % x for x in MESSAGE.split("\n")).encode()
    for name, c in subs.items():
        got = [(e["id"], e["event"], e["data"]) for e in c.events if e["data"] is not None]
        body = c.body()
        t.ok(got == sent and ("id: %s\n" % mid).encode() + lines in body,
             "%s: the subscriber got exactly the three messages in order (id: %s, then its %d "
             "lines as data: lines; then the two published through lighttpd's and Apache's "
             "/publish, event: note), and nothing else"
             % (name, mid, len(MESSAGE.split("\n"))), (got, sent, body[-300:]))

    # docker stop: SIGTERM to the responder while a stream is open through each server.
    open_ = {n: HttpStream(p, "/stream") for n, p in ports.items()}
    pump(list(open_.values()), lambda: all(c.counts() for c in open_.values()), INTERVAL + 3)
    t0 = time.monotonic()
    r = dock.run(["docker", "stop", "-t", "10", cids["responder"]], timeout=60)
    stopped = time.monotonic() - t0
    pump(list(open_.values()), lambda: all(c.eof for c in open_.values()), 5)
    for c in open_.values():
        c.close()
    code = inspect(cids["responder"], "{{.State.ExitCode}}")
    t.ok(r.returncode == 0 and code == "0",
         "docker stop -t 10 (SIGTERM): the responder exits 0 by itself, before docker's SIGKILL "
         "(which would make it 137; %.1f s)" % stopped, (r.stderr, code))
    for name, s in open_.items():
        body = s.body()
        t.ok(s.eof and s.counts() and body.endswith(b"\n\n") and
             (not s.chunked or s._chunk_state == "done"),
             "%s: the open stream ended cleanly (last event complete, then the end of the "
             "response), ids %s" % (name, s.counts()), (s.eof, s.chunked, body[-80:]))
    logs = dock.run(["docker", "logs", cids["responder"]], timeout=30)
    t.diag("responder log, last lines:\n" + "\n".join((logs.stdout + logs.stderr)
                                                      .splitlines()[-3:]))

    # Started again (restart: unless-stopped does not after docker stop): the key stays.
    r = dock.run(["docker", "start", cids["responder"]], timeout=60)
    ok = r.returncode == 0 and wait_for(
        lambda: inspect(cids["responder"], "{{.State.Health.Status}}") == "healthy", 60, step=1)
    again = dock.run(["docker", "exec", cids["responder"], "cat", KEY_FILE], timeout=30).stdout
    t.ok(ok and again.strip() == key,
         "docker start: the responder is healthy again with the same publish key (an "
         "existing key file is never replaced)", (r.stderr, ok, again == key))

    vols = sorted(m[1] for m in mounts if m[0] == "volume")
    r = dc("down", "-v", timeout=120)
    t.ok(r.returncode == 0, "docker-compose down -v", r.stderr[-1000:])
    left = dock.leftovers(LABEL)
    t.eq(left, {"containers": [], "volumes": [], "networks": []},
         "nothing of the project left: no container, volume or network")
    still = [v for v in vols
             if dock.run(["docker", "volume", "inspect", v], timeout=30).returncode == 0]
    t.ok(len(vols) == 2 and not still, "down -v removed both volumes, the socket's and the "
         "key's: %s" % " ".join(vols), (vols, still))
    t.diag("test_docker took %.1f s" % (time.monotonic() - t_begin))
except SystemExit:
    pass
finally:
    if engine is not None:
        try:
            if dock.leftovers(LABEL) != {"containers": [], "volumes": [], "networks": []}:
                dc("down", "-v", "-t", "2", timeout=120)
                dock.remove_label(LABEL)
        except Exception as e:  # noqa: BLE001 -- cleanup must reach engine.stop()
            t.diag("cleanup: %s" % e)
        engine.stop()
    wd.cleanup()
t.done()
