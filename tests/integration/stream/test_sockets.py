"""test_sockets.py -- how the responder gets its socket: --listen unix:/path (mode, stale
and live socket files), --listen :PORT (loopback only), and systemd socket activation
(systemd-socket-activate passes LISTEN_FDS exactly as a .socket unit does).
"""

import os
import socket
import stat
import re
import shutil
import signal
import subprocess

from harness import (BINARY, Tap, Workdir, can_connect, fcgi_get, free_port, run_binary,  # noqa: E402
                     start_responder, wait_for)

t = Tap()
wd = Workdir("sockets")
try:
    p, sock = start_responder(wd, ["-i", "100"], name="mode")
    t.eq(stat.S_IMODE(os.stat(sock).st_mode), 0o660, "unix socket: mode 0660 by default")
    t.ok(stat.S_ISSOCK(os.stat(sock).st_mode), "unix socket: is a socket")
    r = run_binary(["-l", "unix:" + sock])
    t.ok(r.returncode == 1 and b"in use" in r.stderr, "a live socket is not taken over", r.stderr)
    p.signal(9)
    p.wait(5)
    t.ok(os.path.exists(sock), "after SIGKILL the socket file stays behind")
    p2, _ = start_responder(wd, ["-i", "100"], name="stale", sock=sock)
    t.eq(fcgi_get(sock, "/stream", query="limit=1").counts(), [0],
         "a stale socket file is replaced and served")
    t.eq(p2.stop(), 0, "SIGTERM: exit 0")
    t.ok(not os.path.exists(sock), "the socket file is removed at exit")

    p, sock = start_responder(wd, ["--socket-mode", "0600"], name="mode600")
    t.eq(stat.S_IMODE(os.stat(sock).st_mode), 0o600, "--socket-mode 0600")
    p.stop()
    import grp
    gid = grp.getgrnam("www-data").gr_gid if "www-data" in [g.gr_name for g in grp.getgrall()] \
        else 1
    p, sock = start_responder(wd, ["--socket-group", str(gid)], name="group")
    st = os.stat(sock)
    t.ok(st.st_gid == gid and stat.S_IMODE(st.st_mode) == 0o660,
         "--socket-group: the socket belongs to that group, mode 0660", (st.st_gid, gid))
    p.stop()
    r = run_binary(["-l", "unix:" + wd.file("g.sock"), "--socket-group",
                        "no-such-group-here"])
    t.ok(r.returncode == 1 and b"no-such-group-here" in r.stderr, "an unknown group is refused")

    notsock = wd.file("plain-file")
    open(notsock, "w").close()
    r = run_binary(["-l", "unix:" + notsock])
    t.ok(r.returncode == 1 and b"not a socket" in r.stderr and os.path.exists(notsock),
         "a path that is not a socket is left alone", r.stderr)
    r = run_binary(["-l", "unix:relative.sock"])
    t.ok(r.returncode == 1 and b"absolute" in r.stderr, "a relative unix path is refused")

    # TCP: :PORT binds loopback only
    port = free_port()
    p = wd.start([BINARY, "-l", ":%d" % port, "-i", "100"], "tcp")
    t.ok(wait_for(lambda: can_connect(("127.0.0.1", port)), 5), "-l :PORT listens on 127.0.0.1")
    out = subprocess.run(["ss", "-Hltn", "sport = :%d" % port], capture_output=True, text=True)
    local = [line.split()[3] for line in out.stdout.splitlines() if line.strip()]
    t.eq(local, ["127.0.0.1:%d" % port], "-l :PORT binds loopback, not every address")
    c = fcgi_get("127.0.0.1:%d" % port, "/stream", query="limit=2")
    t.eq(c.counts(), [0, 1], "TCP: a stream over FastCGI")
    t.eq(p.stop(), 0, "TCP: SIGTERM exit 0")
    r = run_binary(["-l", "127.0.0.1"])
    t.ok(r.returncode == 1 and b"HOST:PORT" in r.stderr, "an address without a port is refused")

    # --- the socket is never wider than --socket-mode, even while being created: bind()
    #     creates the file with the mode the umask allows, before any chmod. Under strace,
    #     started with umask 000 (so only the responder's own umask narrows it), the mode
    #     at bind time (0777 minus the last umask before it) must be within the mode asked.
    if not shutil.which("strace"):
        t.skip("socket mode while being created", "strace is not installed")
    else:
        for mode in ("0660", "0600"):
            sock = wd.file("created-%s.sock" % mode)
            trace = wd.file("created-%s.strace" % mode)
            p = wd.start(["strace", "-f", "-qq", "-o", trace, "-e", "trace=umask,bind,chmod",
                          BINARY, "-l", "unix:" + sock, "--socket-mode", mode],
                         "created-" + mode, preexec_fn=lambda: os.umask(0),
                         # LeakSanitizer cannot run under ptrace; the other tests check leaks
                         env=dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "")
                                  + ":detect_leaks=0"))
            wait_for(lambda: can_connect(sock) or not p.alive(), 10)
            # SIGTERM to the responder itself (strace would only detach); strace exits with
            # its status
            with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
                kids = [int(x) for x in f.read().split()]
            for k in kids:
                os.kill(k, signal.SIGTERM)
            t.eq(p.wait(5), 0, "socket mode %s: the responder under strace exits 0" % mode)
            if p.alive():      # strace would detach on cleanup's SIGTERM: leave no orphan
                for k in kids:
                    os.kill(k, signal.SIGKILL)
            umask, at_bind, final = 0, None, None
            with open(trace) as f:
                for line in f:
                    m = re.search(r"umask\((0[0-7]*)\)", line)
                    if m:
                        umask = int(m.group(1), 8)
                    if "bind(" in line and sock in line and "= 0" in line:
                        at_bind = 0o777 & ~umask
                    # the mode is set through an O_PATH descriptor of the socket file
                    # (opened without following links), as /proc/self/fd/N
                    m = re.search(r"chmod\(\"(?:%s|/proc/self/fd/[0-9]+)\", (0[0-7]*)\)"
                                  % re.escape(sock), line)
                    if m:
                        final = int(m.group(1), 8)
            want = int(mode, 8)
            t.ok(at_bind is not None and at_bind & ~want == 0 and final == want,
                 "socket mode %s: created no wider (%s at bind), then set to %s"
                 % (mode, oct(at_bind) if at_bind is not None else "?", mode),
                 open(trace).read()[-1500:])

    # systemd socket activation
    if not subprocess.run(["sh", "-c", "command -v systemd-socket-activate"],
                          capture_output=True).returncode == 0:
        t.skip("systemd socket activation", "systemd-socket-activate is not installed")
    else:
        sock = wd.file("activated.sock")
        p = wd.start(["systemd-socket-activate", "-l", sock, BINARY, "-i", "100"], "activate")
        t.ok(wait_for(lambda: os.path.exists(sock), 5), "activation: socket created by systemd")
        c = fcgi_get(sock, "/stream", query="limit=2")
        t.eq(c.counts(), [0, 1], "activation: the responder serves the socket it was passed")
        t.ok("on unix:" + sock in p.log(), "activation: logged as its listening socket", p.log())
        t.eq(p.stop(), 0, "activation: SIGTERM exit 0")
finally:
    wd.cleanup()
t.done()
