"""test_run.py -- --run NAME=PROGRAM through lighttpd: each line of a program's stdout an
event as it is written, `event: exit` with its status, its CGI-like environment, its own
process group, no inherited fd; back-pressure instead of buffering; heartbeats; the
limits (--max-body, --max-runs, --run-timeout, --kill-after); hostile names and programs;
clients that leave at random moments and a SIGTERM with programs running leave no process,
no zombie and no fd behind.

Sizes (issue 11's "Must show"): FCGI_SSE_RUN_CHURN (default 1000) runs abandoned;
FCGI_SSE_RUN_TERM (default 200) programs running at the SIGTERM.
"""

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
from nodedeps import node_dir  # noqa: E402
from harness import (BUILDDIR, FCGI_BEGIN_REQUEST, FCGI_PARAMS, FCGI_STDIN,  # noqa: E402
                     SRCDIR, STOP_DEADLINE, CgiFcgi, HttpStream, Tap, Workdir, fcgi_get, fcgi_nv,
                     fcgi_record, gaps, pump, start_lighttpd, start_spawned_responder, status,
                     wait_for)
from programs import (children, curl_n, curl_ok, fds, paced_ok, running,  # noqa: E402
                      script, with_marker, zombies_of)

CHURN = int(os.environ.get("FCGI_SSE_RUN_CHURN", "1000"))
TERM_N = int(os.environ.get("FCGI_SSE_RUN_TERM", "200"))
# The sleeps of the test programs, found in /proc by their argument: one of this run's
# own (its pid in it), so that a test_run of another tree running at once is not counted.
MARK = "98%07d" % os.getpid()
MARK_ESC = "87%07d" % os.getpid()    # the sleeps that escape their program's group (finding 9)

t = Tap()
wd = Workdir("run")

# finding 9 of issue 18: a program's processes that leave its process group. Each child
# below escapes, then execs `sleep MARK`; the program reads to EOF on a close-on-exec pipe,
# so it prints a pid only once that process runs sleep, outside the group as intended.
ESCAPER = r'''#!/usr/bin/python3
import os, sys, time
MARK, STAY = "%(mark)s", %(stay)s

def spawn(how):
    r, w = os.pipe()                        # close-on-exec: EOF once the sleep runs
    pid = os.fork()
    if pid == 0:
        os.close(r)
        if how != "keeps-stdout":
            null = os.open("/dev/null", os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
        if how in ("setsid", "keeps-stdout"):
            os.setsid()                     # a session of its own
        elif how == "setpgid":
            os.setpgid(0, 0)                # a group of its own (set -m does this)
        elif how == "orphan":               # a daemon: fork twice, setsid, parent gone
            if os.fork():
                os._exit(0)
            os.setsid()
            os.write(w, b"%%d\n" %% os.getpid())
        elif how == "in-group":             # stays in the group, its child leaves it
            r2, w2 = os.pipe()
            if os.fork() == 0:
                os.close(r2)
                os.setsid()
                os.write(w, b"%%d\n" %% os.getpid())
                os.execvp("sleep", ["sleep", MARK])
            os.close(w2)
            os.read(r2, 1)                  # its child runs sleep
        os.execvp("sleep", ["sleep", MARK])
    os.close(w)
    got = b""
    while True:
        b = os.read(r, 100)
        if not b:
            break
        got += b
    os.close(r)
    return [pid] + [int(x) for x in got.split()] if how != "orphan" else [int(x) for x in got.split()]

pids = []
for how in ("setsid", "setpgid", "orphan", "in-group", "keeps-stdout"):
    pids += spawn(how)
print(" ".join(map(str, pids)), flush=True)
if STAY:
    time.sleep(1000)
'''

PROGRAMS = {
    # its signal dispositions, as the kernel shows them (python would ignore SIGPIPE itself)
    "sigs": "#!/bin/sh\nexec grep -E '^Sig(Blk|Ign)' /proc/self/status\n",
    # lines written 200 ms apart
    "lines": "#!/bin/sh\nfor i in 1 2 3 4 5; do echo \"line $i\"; sleep 0.2; done\nexit 7\n",
    # its environment, its fds, its group, its signals, its stdin
    "env": r'''#!/usr/bin/python3
import json, os, sys
fds = []
for fd in os.listdir("/proc/self/fd"):
    try:
        target = os.readlink("/proc/self/fd/" + fd)
    except OSError:
        continue
    if not target.startswith("/proc/"):
        fds.append(int(fd))
sig = {}
for line in open("/proc/self/status"):
    k, _, v = line.partition(":")
    if k in ("SigBlk", "SigIgn"):
        # SIGHUP, SIGINT, SIGPIPE, SIGTERM, SIGUSR1, SIGCHLD (python itself ignores others)
        sig[k] = int(v.strip(), 16) & ((1 << 0) | (1 << 1) | (1 << 12) | (1 << 14) | (1 << 9) | (1 << 16))
print(json.dumps({"env": dict(os.environ), "fds": sorted(fds), "pgid": os.getpgrp(),
                  "pid": os.getpid(), "sig": sig, "stdin": sys.stdin.read(),
                  "uid": os.getuid()}))
''',
    # as fast as it can: 1000-byte lines, counted in a file
    "flood": "#!/usr/bin/python3\nimport os\nline = b'x' * 999 + b'\\n'\nn = 0\n"
             "while True:\n    os.write(1, line)\n    n += 1\n    if n %% 64 == 0:\n"
             "        open(%r, 'w').write(str(n))\n        os.replace(%r, %r)\n"
             % (wd.file("flood.tmp"), wd.file("flood.tmp"), wd.file("flood.count")),
    # silent for 2.5 s
    "silent": "#!/bin/sh\nsleep 2.5\necho late\n",
    # closes its stdout, keeps running, exits 5
    "closer": "#!/bin/sh\nexec >&-\nsleep 1\nexit 5\n",
    # forks a child that holds stdout and lives on
    "forker": "#!/bin/sh\nsleep %s &\necho started\nwait\n" % MARK,
    # exits at once, leaving a child that holds stdout
    "leaver": "#!/bin/sh\nsleep %s &\necho bye\nexit 0\n" % MARK,
    # ignores SIGTERM
    "stubborn": "#!/bin/sh\ntrap '' TERM\necho up\nwhile :; do sleep 0.1; done\n",
    # ignores SIGTERM without a fork every 100 ms (200 of them at the SIGTERM)
    "sleeper": "#!/bin/sh\ntrap '' TERM\necho up\nexec sleep %s\n" % MARK,
    # a line over --max-line, then a short one
    "long": "#!/usr/bin/python3\nimport sys\nsys.stdout.write('y' * 5000 + '\\nshort\\n')\n",
    # random pace, for the churn
    "churn": "#!/bin/sh\necho a\nsleep 0.0$(($$ %% 9))\necho b\nsleep %s\n" % MARK,
    # writes to stderr what would forge log lines: CR, ESC sequences, BEL, DEL, a C1 CSI
    "forger": "#!/bin/sh\nprintf 'ok\\rfcgi-sse[1]: error: forged\\033[2K\\033[1A\\007\\177\\302\\233x\\n' >&2\n"
              "echo done\n",
    # leaves processes outside its group (finding 9): then exits (escaper) or stays
    # (escaper-stay); each escape is done and exec'd before its pid is printed
    "escaper": ESCAPER % {"mark": MARK_ESC, "stay": "False"},
    "escaper-stay": ESCAPER % {"mark": MARK_ESC, "stay": "True"},
}


def stream(port, name, query="", timeout=10, **kw):
    return HttpStream(port, "/app/run/%s%s" % (name, query), timeout=timeout, **kw)


def data(s):
    return [e for e in s.events if e["data"] is not None]


def leftovers(resp):
    return [p for p in with_marker(MARK)] + children(resp.pid)


def through_front(tag, name, port, resp_pid):
    """/app/run/lines and /app/run/forker through a front server on port (the responder
    resp_pid behind it, configured with both): lines 200 ms apart then the exit event, the
    same with curl -N, and a client that leaves gets its program's group killed and reaped."""
    s = HttpStream(port, "/app/run/lines")
    s.read_to_end(10)
    ev = data(s)
    g = gaps(ev[:5])
    t.ok(len(ev) == 6 and ev[-1]["event"] == "exit" and len(g) == 4 and paced_ok(g, 0.2),
         "%s: lines arrive as printed, 200 ms apart, then the exit event" % tag, (ev[-1:], g))
    c = curl_n("http://127.0.0.1:%d/app/run/lines" % port)
    t.ok(curl_ok(c, LINES5, "7"), "curl -N through %s: each line as printed, 200 ms apart, "
         "then event: exit 7" % name, c)
    s = HttpStream(port, "/app/run/forker")
    s.read_until(lambda s: data(s), 5)
    s.close()
    t.ok(wait_for(lambda: not with_marker(MARK) and not children(resp_pid), 5),
         "%s: the client leaves: the program's group is killed and reaped" % tag,
         (with_marker(MARK), children(resp_pid)))


try:
    paths = {n: script(wd, n + ".prog", text) for n, text in PROGRAMS.items()}
    args = ["-k", "1", "--max-body", "64k", "--max-line", "1k", "--max-runs", str(max(64, CHURN)),
            "-b", "16384"]
    for n, p in paths.items():
        args += ["--run", "%s=%s" % (n, p)]
    # programs that cannot be started at request time: gone, and not executable
    missing = wd.file("missing.prog")
    noexec = wd.file("noexec.prog")
    with open(noexec, "w") as f:
        f.write("#!/bin/sh\necho never\n")
    os.chmod(noexec, 0o644)
    args += ["--run", "missing=" + missing, "--run", "noexec=" + noexec]
    env = dict(os.environ, FCGI_SSE_SECRET="must-not-leak")
    resp, sock = start_spawned_responder(wd, args, env=env)
    httpd, port = start_lighttpd(wd, sock)   # the shipped demo.conf

    # --- lines, unbuffered, then the exit status
    s = stream(port, "lines")
    s.read_to_end(10)
    ev = data(s)
    t.eq(s.status, 200, "lines: 200")
    t.eq(s.header("Content-Type"), "text/event-stream; charset=utf-8", "lines: an event stream")
    t.eq([e["data"] for e in ev[:5]], ["line %d" % i for i in range(1, 6)],
         "lines: each line is an event")
    t.eq([e["id"] for e in ev], [str(i) for i in range(6)], "lines: ids from 0")
    t.ok(ev and ev[-1]["event"] == "exit" and ev[-1]["data"] == "7",
         "lines: then event: exit with data: 7 (its status)", ev[-1:])
    g = gaps(ev[:5])
    t.ok(len(g) == 4 and paced_ok(g, 0.2),
         "lines: arrive as printed through lighttpd, 200 ms apart (each before the one after it "
         "is printed; none with the one before)", ["%.3f" % x for x in g])
    t.ok(s.eof, "lines: the response ends after the exit event")
    fd_base = len(fds(resp.pid))    # after a first request (the intake's memfd)
    st = status(sock)
    t.ok(st.get("runs_started") == 1 and st.get("runs_running") == 0 and
         st.get("run_events") == 6 and st.get("runs_failed") == 0 and
         st.get("runs_refused") == 0,
         "/status: runs_started 1, runs_running 0, run_events 6 (5 lines and the exit)",
         {k: v for k, v in st.items() if "run" in k})

    # --- a program that cannot be started (posix_spawn fails at request time): the
    #     run ends at once with `event: exit` 127, as a shell reports; it is logged
    for n in ("missing", "noexec"):
        s = stream(port, n)
        s.read_to_end(5)
        ev = data(s)
        t.ok(s.status == 200 and s.eof and len(ev) == 1 and ev[0]["event"] == "exit" and
             ev[0]["data"] == "127" and ev[0]["id"] == "0",
             "%s: a program that cannot be started ends with event: exit, data: 127" % n,
             (s.status, ev))
    t.ok(wait_for(lambda: "program missing (%s) could not be started: No such file" % missing
                  in resp.log() and "program noexec (%s) could not be started: Permission "
                  "denied" % noexec in resp.log(), 3),
         "missing, noexec: logged with the name, path and reason")
    st = status(sock)
    t.ok(st.get("runs_failed") == 2 and st.get("runs_started") == 1,
         "/status: runs_failed 2 (not counted as started)",
         {k: v for k, v in st.items() if "run" in k})

    # --- as a person watches it: curl -N
    LINES5 = ["line %d" % i for i in range(1, 6)]
    c = curl_n("http://127.0.0.1:%d/app/run/lines" % port)
    t.ok(curl_ok(c, LINES5, "7"), "curl -N through lighttpd: each line as printed, 200 ms "
         "apart, then event: exit 7", c)

    # --- the same in Chromium: an EventSource gets each line as it is written
    ndir, why = node_dir(BUILDDIR)
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if ndir is None or not os.access(chromium, os.X_OK):
        t.skip("chromium: an EventSource on /run/lines", why or "chromium not installed")
    else:
        p = subprocess.run(["node", os.path.join(ndir, "run_es.mjs"), wd.file("chromium"),
                            "http://127.0.0.1:%d/" % port, "/app/run/lines", chromium],
                           cwd=ndir, capture_output=True, text=True, timeout=90)
        out = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
        r = out[-1] if out else {"error": p.stderr[-500:]}
        msgs = r.get("messages", [])
        g = [(b["t"] - a["t"]) / 1000 for a, b in zip(msgs, msgs[1:])]
        t.ok(r.get("ok") and [m["data"] for m in msgs] == ["line %d" % i for i in range(1, 6)]
             and [m["id"] for m in msgs] == [str(i) for i in range(5)] and r.get("exit") == "7"
             and paced_ok(g, 0.2),
             "chromium: an EventSource gets each line 200 ms apart, then `exit` 7",
             {k: r.get(k) for k in ("ok", "error", "exit")} | {"gaps": g})

    # --- the environment, fds, group, signals, stdin
    body = b"hello body"
    s = HttpStream(port, "/app/run/env?a=1&b=%20x", {"Content-Length": str(len(body)),
                                                     "Content-Type": "text/plain",
                                                     "Last-Event-ID": "41",
                                                     "Accept-Language": "fr",
                                                     "Authorization": "Bearer secret"},
                   method="POST")
    s.sock.sendall(body)
    s.read_to_end(10)
    ev = data(s)
    info = json.loads(ev[0]["data"]) if ev else {}
    e = info.get("env", {})
    t.ok(e.get("REQUEST_METHOD") == "POST" and e.get("QUERY_STRING") == "a=1&b=%20x" and
         e.get("CONTENT_TYPE") == "text/plain" and e.get("CONTENT_LENGTH") == str(len(body)) and
         e.get("LAST_EVENT_ID") == "41" and e.get("HTTP_ACCEPT_LANGUAGE") == "fr" and
         e.get("REMOTE_ADDR") == "127.0.0.1" and e.get("RUN_NAME") == "env",
         "env: the request's CGI-like variables", e)
    t.ok("FCGI_SSE_SECRET" not in e and "HTTP_AUTHORIZATION" not in e and
         set(e) - {"PATH", "LANG", "TZ"} <= {
             "REQUEST_METHOD", "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH", "REMOTE_USER",
             "REMOTE_ADDR", "REMOTE_PORT", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL",
             "REQUEST_URI", "SCRIPT_NAME", "PATH_INFO", "LAST_EVENT_ID", "HTTP_ACCEPT",
             "HTTP_ACCEPT_LANGUAGE", "HTTP_USER_AGENT", "HTTP_REFERER", "RUN_NAME",
             "LC_CTYPE"},
         "env: nothing of the responder's environment, no Authorization", sorted(e))
    t.eq(info.get("stdin"), "hello body", "env: the body on stdin")
    t.eq(info.get("fds"), [0, 1, 2], "env: no inherited fd beyond 0, 1, 2")
    t.ok(info and info["pgid"] == info["pid"], "env: its own process group", info.get("pgid"))
    s = stream(port, "sigs")
    s.read_to_end(5)
    sig = [e["data"].split() for e in data(s) if e["data"].startswith("Sig")]
    # 32 and 33 are glibc's own (NPTL), which no program can change or use
    t.ok(len(sig) == 2 and all(int(v, 16) & 0x7fffffff == 0 for _, v in sig),
         "sigs: no signal (1 to 31) blocked or ignored in the program", sig)
    t.ok(info and info["uid"] == os.getuid(), "env: the responder's user")

    # --- back-pressure: a flooding program and a client that does not read
    s = stream(port, "flood")
    s.read_head(5)
    rss0 = resp.rss_kb()

    def count():
        try:
            with open(wd.file("flood.count")) as f:
                return int(f.read() or 0)
        except (OSError, ValueError):
            return 0
    time.sleep(1.0)
    c1, rss1 = count(), resp.rss_kb()
    time.sleep(1.0)
    c2, rss2 = count(), resp.rss_kb()
    # lighttpd buffers some of a response for a slow client: a few MB, then it stops
    # reading the responder, whose send buffer fills, then the pipe, then the program blocks
    t.ok(c1 == c2 and c2 < 20000, "flood: the program is paused while its client does not read "
         "(%d lines written, none more in 1 s)" % c2, (c1, c2))
    t.ok(rss2 - rss1 < 512, "flood: the responder holds no growing buffer while it is paused",
         (rss0, rss1, rss2))
    got = 0
    deadline = time.monotonic() + 5
    while got < 3000 and time.monotonic() < deadline:
        s.read_once()
        got = len(data(s))
    t.ok(got >= 3000 and count() > c2, "flood: it runs again once the client reads", (got, count()))
    s.close()

    # --- heartbeats for a silent program
    s = stream(port, "silent")
    s.read_to_end(10)
    t.ok(len(s.parser.comments) >= 1 and data(s) and data(s)[0]["data"] == "late",
         "silent: heartbeats are sent for it, then its line", s.parser.comments)

    # --- a line over --max-line is cut
    s = stream(port, "long")
    s.read_to_end(10)
    ev = data(s)
    t.ok(len(ev) == 3 and len(ev[0]["data"]) == 1024 and ev[1]["data"] == "short",
         "long: a line over --max-line is cut to it, the next line follows",
         [len(e["data"]) for e in ev])
    t.ok("was cut" in resp.log(), "long: the cut is logged")

    # --- hostile names
    code = HttpStream(port, "/app/run/nope")
    code.read_to_end(5)
    t.eq(code.status, 404, "a NAME not configured: 404")
    for script_name in ("/run/..", "/run/.", "/run/a/b", "/run/lines/x", "/run/", "/run/li%ne"):
        c = fcgi_get(sock, script_name)
        t.ok(c.headers() and c.headers()[0].startswith("Status: 404"),
             "FastCGI SCRIPT_NAME %s: 404" % script_name, c.headers()[:1])
    c = fcgi_get(sock, "/run/lines", method="HEAD")
    t.ok(c.headers() and c.headers()[0].startswith("Status: 405"), "HEAD: 405", c.headers()[:1])
    big = b"z" * (2 * 1024 * 1024)
    s = HttpStream(port, "/app/run/env", {"Content-Length": str(len(big))}, method="POST")
    try:
        s.sock.sendall(big)
    except OSError:
        pass
    s.read_to_end(10)
    t.eq(s.status, 413, "a body over --max-body: 413")

    # --- a body that never ends (a part sent, then nothing), while a run goes on. Straight
    #     over FastCGI: the responder drops it after its 5 s intake timeout, and the program
    #     never starts. Through lighttpd: lighttpd holds a body until it is whole, so the
    #     responder never sees it (lighttpd's own read timeout ends it).
    import socket
    import struct
    before = status(sock)["runs_started"]
    raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    raw.connect(sock)
    params = b"".join(fcgi_nv(k.encode(), v.encode()) for k, v in {
        "REQUEST_METHOD": "POST", "SCRIPT_NAME": "/run/env", "QUERY_STRING": "",
        "CONTENT_LENGTH": "100000"}.items())
    raw.sendall(fcgi_record(FCGI_BEGIN_REQUEST, struct.pack(">HB5x", 1, 0)) +
                fcgi_record(FCGI_PARAMS, params) + fcgi_record(FCGI_PARAMS, b"") +
                fcgi_record(FCGI_STDIN, b"b" * 1000))
    t_raw = time.monotonic()
    web = HttpStream(port, "/app/run/env", {"Content-Length": "100000"}, method="POST")
    web.sock.sendall(b"b" * 1000)
    s = stream(port, "lines")
    s.read_to_end(10)
    ev = data(s)
    g = gaps(ev[:5])
    t.ok(len(ev) == 6 and ev[-1]["data"] == "7" and len(g) == 4 and paced_ok(g, 0.2),
         "a body that never ends: a run alongside is not disturbed (its lines as printed)",
         (ev[-1:], ["%.3f" % x for x in g]))
    raw.settimeout(15)
    try:
        got = raw.recv(65536)
    except (socket.timeout, ConnectionResetError):
        got = None
    took = time.monotonic() - t_raw
    t.ok(got == b"" and took > 4 and "no complete request in time" in resp.log(),
         "a body that never ends (FastCGI): dropped at the 5 s intake timeout (not before it), "
         "logged", (got, "%.1f s" % took))
    t.eq(status(sock)["runs_started"], before + 1,
         "a body that never ends: its program never starts (only the alongside run did)")
    raw.close()
    web.close()

    # --- a program that closes stdout and runs on: the stream waits for its exit
    s = stream(port, "closer")
    t0 = time.monotonic()
    s.read_to_end(10)
    ev = data(s)
    t.ok(ev and ev[-1]["event"] == "exit" and ev[-1]["data"] == "5" and
         time.monotonic() - t0 > 0.8,
         "closer: closing stdout does not end the run; its exit does (exit 5)", ev)

    # --- leader exits, its child holds stdout: the run ends, the child is killed
    s = stream(port, "leaver")
    s.read_to_end(5)
    ev = data(s)
    t.ok(ev and ev[-1]["event"] == "exit" and ev[-1]["data"] == "0",
         "leaver: the run ends when the program exits", ev)
    t.ok(wait_for(lambda: not with_marker(MARK), 3), "leaver: what it left in its group is killed",
         with_marker(MARK))

    # --- forks a child holding stdout; the client leaves: the whole group goes
    s = stream(port, "forker")
    s.read_until(lambda s: data(s), 5)
    # (its child may not have exec'd sleep yet when "started" arrives: wait for it)
    t.ok(wait_for(lambda: with_marker(MARK), 3), "forker: its child runs")
    s.close()
    t.ok(wait_for(lambda: not with_marker(MARK) and not children(resp.pid), 5),
         "forker: the client leaves: program and child are killed and reaped",
         (with_marker(MARK), children(resp.pid)))

    # --- finding 9 of issue 18: what a program leaves outside its group dies with its run.
    #     The responder is a subreaper: orphans re-parent to it, and it kills those outside
    #     a running program's session (setsid; or whose program ended) and reaps them all.
    def escapees(s):
        ev = [e["data"] for e in data(s) if e["data"] and e["data"][0].isdigit()]
        return [int(x) for x in ev[0].split()] if ev else []

    def alive(pids):
        """Those of pids that still run our marked sleep (a reused pid is not ours)."""
        out = []
        for pid in pids:
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    if MARK_ESC.encode() in f.read():
                        out.append(pid)
            except OSError:
                pass
        return out
    s = stream(port, "escaper")
    s.read_to_end(10)
    ev = data(s)
    pids = escapees(s)
    t.ok(len(pids) == 6 and ev and ev[-1]["event"] == "exit" and ev[-1]["data"] == "0",
         "finding 9: escaper: 6 processes left its group (setsid, setpgid, a double fork, a "
         "group member's setsid child, one holding stdout), then it exited 0: the run ends",
         (pids, ev[-1:]))
    t.ok(wait_for(lambda: not alive(pids) and not with_marker(MARK_ESC), 5),
         "finding 9: escaper: after the run, none of them survives", alive(pids))
    t.ok(wait_for(lambda: not children(resp.pid), 5),
         "finding 9: escaper: the responder reaped every one it adopted (no zombie, no child)",
         (children(resp.pid), zombies_of(resp.pid)))
    s = stream(port, "escaper-stay")
    s.read_until(lambda s: escapees(s), 10)
    pids = escapees(s)
    t.ok(len(pids) == 6 and len(alive(pids)) >= 5,
         "finding 9: escaper-stay: runs, with its escaped processes", (pids, alive(pids)))
    s.close()
    t.ok(wait_for(lambda: not alive(pids) and not with_marker(MARK_ESC) and
                  not children(resp.pid), 10),
         "finding 9: escaper-stay: the client leaves: the program and every process it left "
         "outside its group are killed and reaped", (alive(pids), children(resp.pid)))
    t.ok(resp.alive(), "finding 9: the responder is still running")

    # --- finding 9 of issue 18: a program's stderr cannot forge log lines: control
    #     bytes are logged as \xNN
    s = stream(port, "forger")
    s.read_to_end(5)

    def raw_log():
        with open(resp.log_path, "rb") as f:
            return f.read()
    want = (rb"warning: program forger\[\d+\]: ok\\x0dfcgi-sse\[1\]: error: forged"
            rb"\\x1b\[2K\\x1b\[1A\\x07\\x7f\\xc2\\x9bx\n")
    t.ok(wait_for(lambda: re.search(want, raw_log()), 3),
         "finding 9: forger: its stderr line is logged with CR, ESC, BEL, DEL and a C1 CSI as "
         "\\xNN", raw_log()[-300:])
    t.ok(not re.search(rb"[\r\x1b\x07\x7f]|\xc2[\x80-\x9f]", raw_log()),
         "finding 9: the responder's log holds no CR, ESC, BEL, DEL or C1 byte",
         re.findall(rb".{0,40}[\r\x1b].{0,40}", raw_log())[:3])

    # --- stubborn (ignores SIGTERM): SIGKILL after --kill-after (5 s default here)
    s = stream(port, "stubborn")
    s.read_until(lambda s: data(s), 5)
    s.close()
    t0 = time.monotonic()
    t.ok(wait_for(lambda: not children(resp.pid), 15) and time.monotonic() - t0 > 4,
         "stubborn: SIGTERM ignored, SIGKILL after --kill-after", time.monotonic() - t0)

    # --- clients that leave at random moments
    rnd = random.Random(11)
    base_children = len(children(resp.pid))
    left = CHURN
    while left:
        batch = [stream(port, rnd.choice(["churn", "lines", "flood", "silent", "forker"]))
                 for _ in range(min(20, left))]
        left -= len(batch)
        until = time.monotonic() + rnd.uniform(0.0, 0.4)
        pump(batch, lambda: time.monotonic() >= until, 1)
        for b in batch:
            if rnd.random() < 0.5:
                b.read_once() if not b.eof else None
            b.close()
    clean = wait_for(lambda: not leftovers(resp) and len(fds(resp.pid)) <= fd_base, 15, 0.1)
    t.ok(clean, "churn: %d runs abandoned at random moments: no program, no zombie, no fd left"
         % CHURN, (leftovers(resp), zombies_of(resp.pid), len(fds(resp.pid)), fd_base))
    t.eq(base_children, 0, "churn: nothing was running before")

    # --- --max-runs and --run-timeout, with a second responder
    r2, sock2 = start_spawned_responder(wd, ["--run", "stubborn=" + paths["stubborn"],
                                             "--run", "lines=" + paths["lines"], "--max-runs", "2",
                                             "--run-timeout", "1", "--kill-after", "1"],
                                        name="r2")
    a = CgiFcgi(sock2, "/run/stubborn")
    b = CgiFcgi(sock2, "/run/stubborn")
    pump([a, b], lambda: a.events and b.events, 5)
    c = fcgi_get(sock2, "/run/lines")
    t.ok(c.headers() and c.headers()[0].startswith("Status: 503") and
         any(h.startswith("Retry-After:") for h in c.headers()),
         "--max-runs 2: a third is 503 with Retry-After", c.headers())
    st = status(sock2)
    t.ok(st.get("runs_running") == 2 and st.get("runs_started") == 2 and
         st.get("runs_refused") == 1,
         "/status: runs_running 2, runs_started 2, runs_refused 1 (the 503)",
         {k: v for k, v in st.items() if "run" in k})
    t0 = time.monotonic()
    pump([a, b], lambda: a.eof and b.eof, 15)
    took = time.monotonic() - t0
    ev = [e for e in a.events if e["event"] == "exit"]
    t.ok(ev and ev[0]["data"] == str(128 + signal.SIGKILL),
         "--run-timeout 1 --kill-after 1: a stubborn run is ended, status 137 (SIGTERM at the "
         "timeout ignored, SIGKILL after --kill-after)", (ev, took))
    a.close()
    b.close()
    t.ok(wait_for(lambda: not children(r2.pid), 3), "--max-runs: nothing left")

    # --- SIGTERM with programs running
    r3, sock3 = start_spawned_responder(wd, ["--run", "sleeper=" + paths["sleeper"],
                                             "--run", "churn=" + paths["churn"],
                                             "--run", "escaper-stay=" + paths["escaper-stay"],
                                             "--kill-after", "2", "--max-runs", str(TERM_N + 10)],
                                        name="r3")
    esc = CgiFcgi(sock3, "/run/escaper-stay")
    cl = [CgiFcgi(sock3, "/run/%s" % ("sleeper" if i % 2 else "churn")) for i in range(TERM_N)]
    pump(cl + [esc], lambda: all(c.events for c in cl) and data(esc), 30)
    t.eq(sum(1 for c in cl if c.events), TERM_N, "SIGTERM: %d programs running" % TERM_N)
    esc_pids = [int(x) for e in data(esc)[:1] for x in e["data"].split()]
    t.ok(len(esc_pids) == 6 and alive(esc_pids),
         "SIGTERM: and escaper-stay, with 6 processes it left outside its group", esc_pids)
    t0 = time.monotonic()
    r3.signal(signal.SIGTERM)
    code = r3.wait(STOP_DEADLINE)
    took = time.monotonic() - t0
    t.ok(code == 0 and took >= 2, "SIGTERM: the responder exits 0 once --kill-after (2 s) has "
         "passed (the programs ignoring SIGTERM are killed then), before TimeoutStopSec=%g"
         % STOP_DEADLINE, (code, "%.2f s" % took))
    t.ok(wait_for(lambda: not with_marker(MARK) and not running(paths["sleeper"]) and
                  not running(paths["churn"]), 3),
         "SIGTERM: every program ended (those ignoring SIGTERM too), none orphaned",
         (with_marker(MARK), running(paths["sleeper"])))
    t.ok(not alive(esc_pids) and not with_marker(MARK_ESC),
         "finding 9: SIGTERM: what escaper-stay left outside its group was killed and reaped "
         "before the responder exited", alive(esc_pids))
    for c in cl + [esc]:
        c.close()

    # --- through nginx: the shipped server block as shipped (its stream location takes
    #     .../run/NAME: fastcgi_buffering off, gzip off)
    import nginx as ngx
    if not ngx.nginx_binary():
        t.skip("nginx: /run/NAME unbuffered, a client that leaves", "nginx not installed")
    else:
        ngx.open_for_workers(wd.path)
        r4, sock4 = ngx.start_responder_for_nginx(wd, ["--run", "lines=" + paths["lines"],
                                                       "--run", "forker=" + paths["forker"]],
                                                  name="r4")
        nx = ngx.Nginx(wd, sock4, os.path.join(SRCDIR, "html"))
        through_front("nginx", "nginx", nx.port, r4.pid)

    # --- through Apache (mod_proxy_fcgi, the shipped snippet as shipped: it routes
    #     run/NAME as it does /stream); the responder runs as nobody, as documented
    import apache as apa
    if not os.access(apa.APACHE2, os.X_OK) or apa.missing_modules(
            apa.BASE_MODULES + apa.MODES["proxy_fcgi"][1]):
        t.skip("apache: /run/NAME unbuffered, a client that leaves", "apache2 not installed")
    else:
        apa.open_workdir(wd)
        for n in ("lines", "forker"):
            os.chmod(paths[n], 0o755)
        # Apache notices a client that left only when it next writes to it: -k 1 makes
        # the responder write a heartbeat every second for a silent program
        r5, sock5 = apa.start_socket_responder(wd, ["-k", "1", "--run", "lines=" + paths["lines"],
                                                    "--run", "forker=" + paths["forker"]],
                                               "r5", "FCGI_SSE_TEST_TAG=run")
        ap = apa.Apache(wd, "apache", "proxy_fcgi",
                        {"FCGI_SSE_HTML": apa.page(wd), "FCGI_SSE_SOCKET": sock5})
        try:
            through_front("apache", "Apache (mod_proxy_fcgi)", ap.port, r5.pid)
        finally:
            apa.stop_all([ap])
except Exception as e:  # noqa: BLE001 -- reported in one line, the traceback as diagnostics
    t.exception(e)
finally:
    wd.cleanup()
    for pid in with_marker(MARK_ESC):   # escaped sleeps of a run that failed the test
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
t.done()
