"""harness.py -- integration test support: TAP output, real servers on loopback, SSE clients.

Limits: Python 3.11 standard library only; Linux only (uses /proc and unix sockets);
servers are started in a fresh temporary directory and stopped by pid; every wait has
a deadline (no sleep-and-hope). The HTTP client speaks just enough HTTP/1.1 for these
tests (one request per connection, chunked or close-delimited bodies).
"""

import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SRCDIR = os.path.abspath(os.environ.get("abs_top_srcdir",
                                        os.path.join(os.path.dirname(__file__), "..", "..")))
# make check sets abs_top_builddir; run by hand, the build of tests/run.sh is used.
BUILDDIR = os.path.abspath(os.environ.get("abs_top_builddir", os.path.join(SRCDIR, "build")))
BINARY = os.path.join(BUILDDIR, "fcgi-sse")
# The built binary and its copies for other users (Workdir.binary_for_others): a Proc
# that runs one of them is a responder.
RESPONDERS = {BINARY}
# tests/run.sh sets it for the ASan + UBSan build (SANITIZE=1).
SANITIZED = os.environ.get("FCGI_SSE_SANITIZED") == "1"
# What ASan, LeakSanitizer and UBSan print when they find something.
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def _interrupted(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def cleanup_on_signals():
    """A test runner that stops the test (SIGTERM, SIGHUP) raises KeyboardInterrupt in it,
    so that its finally: blocks still stop every process it started."""
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGHUP, _interrupted)


def sanitizer_report(text):
    """The lines of text that are sanitizer reports (empty when none)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return [line for line in text.splitlines() if any(m in line for m in SANITIZER_MARKS)]


# ---------------------------------------------------------------- TAP

class Tap:
    """Collects results as TAP for Automake's tap-driver.sh.

    A test file always ends with its plan, even when it never reaches done(): an exception
    that escapes the file (a server that did not start, a missing tool, a signal) is
    reported as one more failed check, "not ok N - setup: WHY" (or "... - stopped after
    check N: WHY"), WHY being one line a user can act on, the traceback as diagnostics;
    then the plan. A file that exits some other way (SystemExit) still prints its plan."""

    current = None   # the Tap of this test file: Workdir.cleanup reports through it

    def __init__(self):
        self.n = 0
        self.failed = 0
        self.finished = False
        Tap.current = self
        sys.excepthook = self._uncaught
        atexit.register(self._at_exit)

    def ok(self, cond, name, detail=None):
        self.n += 1
        print(("ok" if cond else "not ok") + " %d - %s" % (self.n, name), flush=True)
        if not cond:
            self.failed += 1
            if detail is not None:
                for line in str(detail).splitlines() or [""]:
                    print("#   " + line, flush=True)
        return cond

    def eq(self, got, want, name):
        return self.ok(got == want, name, "got:  %r\nwant: %r" % (got, want))

    def skip(self, name, why):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, name, why), flush=True)

    def diag(self, msg):
        for line in str(msg).splitlines():
            print("# " + line, flush=True)

    def exception(self, exc, where=None):
        """Reports exc as a failed check named WHERE: WHY (see why()); the traceback
        follows as diagnostics. where: "setup" before any check, else "stopped after
        check N"."""
        import traceback
        where = where or ("setup" if self.n == 0 else "stopped after check %d" % self.n)
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.ok(False, "%s: %s" % (where, why(exc)), tb)

    def done(self):
        self.finished = True
        print("1..%d" % self.n, flush=True)
        sys.exit(1 if self.failed else 0)

    def _uncaught(self, etype, exc, tb):
        if self.finished:
            sys.__excepthook__(etype, exc, tb)
            return
        if exc.__traceback__ is None:
            exc = exc.with_traceback(tb)
        self.exception(exc)
        self.finished = True
        print("1..%d" % self.n, flush=True)

    def _at_exit(self):
        if not self.finished:
            self.finished = True
            print("1..%d" % self.n, flush=True)
            if self.failed:
                sys.stdout.flush()
                os._exit(1)


def _uncaught_before_tap(etype, exc, tb):
    """An exception that escapes a test file before its Tap exists (a name it imports
    from here that is gone, a module missing): still one failed check and a plan."""
    if Tap.current is not None:
        Tap.current._uncaught(etype, exc, tb)
        return
    import traceback
    print("not ok 1 - setup: %s" % why(exc), flush=True)
    for line in "".join(traceback.format_exception(etype, exc, tb)).splitlines():
        print("#   " + line, flush=True)
    print("1..1", flush=True)


sys.excepthook = _uncaught_before_tap


def why(exc):
    """One line that says what went wrong: the exception's first line, and when its
    message goes on (a process's log), the last line of that, which usually names the
    cause (e.g. "spawn-fcgi: exec failed: Permission denied")."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (%s)" % (exc.args[0] if exc.args else "SIGINT")
    lines = [x.strip() for x in str(exc).splitlines() if x.strip()]
    head = lines[0] if lines else ""
    text = "%s: %s" % (type(exc).__name__, head) if head else type(exc).__name__
    if len(lines) > 1 and lines[-1] != head:
        text += " ... " + lines[-1]
    return text[:300]


def wait_for(cond, timeout, step=0.01):
    """Polls cond() until it returns a true value or timeout seconds pass; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def can_connect(addr):
    fam = socket.AF_UNIX if isinstance(addr, str) else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s.settimeout(0.5)
        s.connect(addr)
        return True
    except OSError:
        return False
    finally:
        s.close()


# ---------------------------------------------------------------- processes

class Proc:
    """A child process with its stderr in a log file; stopped by pid.

    A Proc that runs the responder (BINARY in its argv, directly or under spawn-fcgi,
    prlimit, valgrind) is checked by Workdir.cleanup: its exit status must be
    expect_status (0: it exits 0 on SIGTERM; -9 once the test sent it SIGKILL), and in
    a sanitizer build every Proc's log (a web server's log holds the responders it
    spawned) must hold no sanitizer report."""

    def __init__(self, argv, log, env=None, stdin=None, cwd=None, preexec_fn=None):
        self.argv = argv
        self.name = os.path.basename(log)[:-4] if log.endswith(".log") else log
        self.is_responder = any(a in RESPONDERS for a in argv)
        self.expect_status = 0
        self.checked = False
        self.log_path = log
        self.logf = open(log, "ab")
        self.p = subprocess.Popen(argv, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                  stdout=self.logf, stderr=self.logf, env=env, cwd=cwd,
                                  preexec_fn=preexec_fn)
        self.pid = self.p.pid

    def alive(self):
        return self.p.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)
            if sig == signal.SIGKILL:
                self.expect_status = -signal.SIGKILL

    def wait(self, timeout):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=5):
        """SIGTERM, then SIGKILL after timeout. Returns the exit status."""
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
            if self.wait(timeout) is None:
                os.kill(self.pid, signal.SIGKILL)
                self.p.wait()
        self.logf.close()
        return self.p.returncode

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def check(self, tap):
        """Once the process is stopped: its exit status (responders) and, in a sanitizer
        build, its log. Reported once per Proc."""
        if self.checked or self.alive():
            return
        self.checked = True
        report = sanitizer_report(self.log()) if SANITIZED else []
        if self.is_responder:
            tap.ok(self.p.returncode == self.expect_status and not report,
                   "%s: exit status %d%s" % (self.name, self.expect_status,
                                             ", no sanitizer report" if SANITIZED else ""),
                   "exit status %r\n%s" % (self.p.returncode, "\n".join(report[:20])
                                            or self.log()[-1500:]))
        elif report:
            tap.ok(False, "%s: no sanitizer report in its log" % self.name,
                   "\n".join(report[:20]))

    def rss_kb(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def fd_count(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))


class Workdir:
    """A temporary directory removed at exit, unless FCGI_SSE_KEEP_TMP is set."""

    def __init__(self, name):
        self.path = tempfile.mkdtemp(prefix="fcgi-sse-%s-" % name)
        self.procs = []
        self.shared = {}

    def file(self, name):
        return os.path.join(self.path, name)

    def open_to_others(self):
        """Lets processes of other users (Apache's and nginx's workers, a responder run
        as nobody) enter the directory, not list it: mode 0711 (mkdtemp makes it 0700)."""
        os.chmod(self.path, 0o711)

    def for_others(self, path):
        """A copy of path (a file, or a directory with what it holds) that a process of
        another user can read (and run, if it is executable): the test runs some as
        nobody or www-data (spawn-fcgi -u, Apache's children, nginx's workers), and a
        checkout may sit where only its owner can enter (root's home, a mktemp -d
        directory: mode 0700), so nothing of the source or build tree is handed to them.
        The copy is WORKDIR/shared/N/NAME (directories 0755), the workdir opened
        (0711); each path is copied once."""
        path = os.path.abspath(path)
        if path in self.shared:
            return self.shared[path]
        self.open_to_others()
        top = self.file("shared")
        os.makedirs(top, exist_ok=True)
        os.chmod(top, 0o755)
        sub = os.path.join(top, str(len(self.shared)))   # the copy keeps its name
        os.mkdir(sub, 0o755)
        os.chmod(sub, 0o755)
        dst = os.path.join(sub, os.path.basename(path))
        if os.path.isdir(path):
            shutil.copytree(path, dst)
            for d, dirs, files in os.walk(dst):
                os.chmod(d, 0o755)
                for f in files:
                    x = os.path.join(d, f)
                    os.chmod(x, 0o755 if os.access(x, os.X_OK) else 0o644)
        else:
            shutil.copy2(path, dst)
            os.chmod(dst, 0o755 if os.access(path, os.X_OK) else 0o644)
        self.shared[path] = dst
        return dst

    def binary_for_others(self):
        """The built responder, copied where another user can run it (see for_others)."""
        dst = self.for_others(BINARY)
        RESPONDERS.add(dst)
        return dst

    def start(self, argv, name, **kw):
        p = Proc(argv, self.file(name + ".log"), **kw)
        self.procs.append(p)
        return p

    def check_logs(self, tap):
        """Sanitizer build: the other logs in the directory (a web server's error log
        holds the stderr of the responders it spawned: mod_fcgid, CGI) hold no report."""
        own = {p.log_path for p in self.procs}
        found = []
        for d, _, files in os.walk(self.path):
            for f in files:
                path = os.path.join(d, f)
                if f.endswith(".log") and path not in own:
                    try:
                        with open(path, "rb") as fh:
                            found += ["%s: %s" % (f, x) for x in sanitizer_report(fh.read())]
                    except OSError:
                        pass
        tap.ok(not found, "no sanitizer report in the other logs of the test",
               "\n".join(found[:20]))

    def cleanup(self):
        """Stops every process, then checks each (see Proc.check) through Tap.current."""
        for p in reversed(self.procs):
            p.stop(5)
        if Tap.current is not None:
            for p in self.procs:
                p.check(Tap.current)
            if SANITIZED:
                self.check_logs(Tap.current)
        if not os.environ.get("FCGI_SSE_KEEP_TMP"):
            shutil.rmtree(self.path, ignore_errors=True)


def run_binary(argv, **kw):
    """subprocess.run of the responder (argv without BINARY), output captured; in a
    sanitizer build its stderr is checked for sanitizer reports through Tap.current."""
    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", 5)
    r = subprocess.run([BINARY] + list(argv), **kw)
    if SANITIZED and Tap.current is not None:
        report = sanitizer_report(r.stderr or b"")
        Tap.current.ok(not report, "fcgi-sse %s: no sanitizer report" % " ".join(argv)[:60],
                       "\n".join(report[:20]))
    return r


def start_responder(wd, args=(), name="fcgi-sse", sock=None):
    """fcgi-sse -l unix:SOCK ARGS; returns (proc, socket path) once it accepts."""
    sock = sock or wd.file(name + ".sock")
    p = wd.start([BINARY, "-l", "unix:" + sock] + list(args), name)
    if not wait_for(lambda: can_connect(sock) or not p.alive(), 5) or not p.alive():
        raise RuntimeError("fcgi-sse did not start:\n" + p.log())
    return p, sock


def start_spawned_responder(wd, args=(), name="fcgi-sse", sock=None, backlog=None, env=None):
    """The responder under spawn-fcgi (-n: no fork, so the pid is the responder's):
    the listening socket arrives on fd 0, as with mod_fcgid and systemd. backlog:
    spawn-fcgi's listen backlog (-b; its default is 1024)."""
    sock = sock or wd.file(name + ".sock")
    opts = ["-b", str(backlog)] if backlog else []
    p = wd.start(["spawn-fcgi", "-n", "-s", sock, "-M", "0600"] + opts + ["--", BINARY] + list(args),
                 name, env=env)
    if not wait_for(lambda: can_connect(sock) or not p.alive(), 5) or not p.alive():
        raise RuntimeError("spawn-fcgi/fcgi-sse did not start:\n" + p.log())
    return p, sock


def start_lighttpd(wd, sock, html=None, conf=None, port=None):
    """lighttpd -D with the shipped demo config; returns (proc, port)."""
    port = port or free_port()
    env = dict(os.environ,
               FCGI_SSE_PORT=str(port),
               FCGI_SSE_HTML=html or os.path.join(SRCDIR, "html"),
               FCGI_SSE_SOCKET=sock,
               FCGI_SSE_STATE=wd.path)
    conf = conf or os.path.join(SRCDIR, "deploy", "lighttpd", "demo.conf")
    p = wd.start(["lighttpd", "-D", "-f", conf], "lighttpd", env=env)
    if not wait_for(lambda: can_connect(("127.0.0.1", port)) or not p.alive(), 10) or not p.alive():
        raise RuntimeError("lighttpd did not start:\n" + p.log())
    return p, port


def start_redis(wd, name="redis", tcp_port=None, bind="127.0.0.1"):
    """A redis-server of its own (Debian's), config and data in wd/NAME: a unix socket
    there (and 127.0.0.1:tcp_port when given), AOF with appendfsync always (every
    acknowledged write survives a SIGKILL), no RDB snapshots. Started again with the
    same name, it reloads its AOF. bind: the addresses of tcp_port. Returns (proc, socket
    path) once it answers."""
    d = wd.file(name)
    os.makedirs(d, exist_ok=True)
    sock = os.path.join(d, "redis.sock")
    conf = os.path.join(d, "redis.conf")
    with open(conf, "w") as f:
        f.write("port %d\nbind %s\nunixsocket %s\nunixsocketperm 700\ndir %s\n"
                "save \"\"\nappendonly yes\nappendfsync always\ndaemonize no\n"
                "logfile \"\"\n" % (tcp_port or 0, bind, sock, d))
    p = wd.start(["redis-server", conf], name)
    ok = wait_for(lambda: not p.alive() or subprocess.run(
        ["redis-cli", "-s", sock, "ping"], capture_output=True).stdout.strip() == b"PONG", 10)
    if not ok or not p.alive():
        raise RuntimeError("redis-server did not start:\n" + p.log())
    return p, sock


# ---------------------------------------------------------------- SSE parsing

class SseParser:
    """Incremental WHATWG event-stream parser. feed(bytes, t) returns the
    events completed by these bytes as dicts {id, event, data, retry, t}."""

    def __init__(self):
        self.buf = b""
        self.data = []
        self.id = None
        self.event = None
        self.retry = None
        self.comments = []

    def feed(self, b, t):
        self.buf += b
        out = []
        while True:
            i = min([x for x in (self.buf.find(b"\r"), self.buf.find(b"\n")) if x >= 0], default=-1)
            if i < 0:
                return out
            line = self.buf[:i]
            if self.buf[i:i + 2] == b"\r\n":
                i += 1
            elif self.buf[i:i + 1] == b"\r" and i + 1 == len(self.buf):
                return out  # a CR at the end may be half of a CRLF
            self.buf = self.buf[i + 1:]
            self._line(line.decode("utf-8", "replace"), t, out)

    def _line(self, line, t, out):
        if line == "":
            if self.data or self.retry is not None:
                out.append({"id": self.id, "event": self.event,
                            "data": "\n".join(self.data) if self.data else None,
                            "retry": self.retry, "t": t})
            self.data, self.event, self.retry = [], None, None
            return
        if line.startswith(":"):
            self.comments.append((line, t))
            return
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self.data.append(value)
        elif name == "id":
            self.id = value
        elif name == "event":
            self.event = value
        elif name == "retry":
            self.retry = value


# ---------------------------------------------------------------- reading many clients at once

def pump(clients, until, timeout):
    """Reads every client (HttpStream or CgiFcgi) as data arrives, all at once,
    until until() is true, every client hit EOF, or timeout. Returns until().
    poll(), not select(): a test holding thousands of sockets has descriptors past
    select()'s FD_SETSIZE (1024)."""
    deadline = time.monotonic() + timeout
    while not until():
        live = {c.fileno(): c for c in clients if not c.eof}
        left = deadline - time.monotonic()
        if not live or left <= 0:
            break
        poller = select.poll()
        for fd in live:
            poller.register(fd, select.POLLIN)
        for fd, _ in poller.poll(max(1, int(left * 1000))):
            live[fd].read_once()
    return until()


# ---------------------------------------------------------------- HTTP client

class HttpStream:
    """One HTTP/1.1 request over a raw socket; the body is read incrementally,
    with the arrival time of each piece, chunked encoding decoded."""

    def __init__(self, port, path, headers=None, method="GET", host="127.0.0.1", timeout=10):
        self.t_start = time.monotonic()
        self.sock = socket.create_connection((host, port), timeout=timeout)
        hdrs = {"Host": "%s:%d" % (host, port), "Accept": "text/event-stream", "Connection": "close"}
        hdrs.update(headers or {})
        req = "%s %s HTTP/1.1\r\n" % (method, path)
        req += "".join("%s: %s\r\n" % kv for kv in hdrs.items()) + "\r\n"
        self.sock.sendall(req.encode("latin-1"))
        self.method = method
        self.raw = b""
        self.eof = False
        self.status = None
        self.headers = []
        self.t_head = None
        self.chunked = False
        self.body_pieces = []     # (time, bytes)
        self._chunk_left = 0
        self._chunk_state = "size"
        self.parser = SseParser()
        self.events = []

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def fileno(self):
        return self.sock.fileno()

    def read_once(self):
        """One recv, once select() said readable."""
        self.sock.settimeout(1)
        try:
            b = self.sock.recv(65536)
        except socket.timeout:
            return
        except ConnectionResetError:
            b = b""
        t = time.monotonic()
        if not b:
            self.eof = True
            return
        self.raw += b
        self._process(t)

    def _process(self, t):
        if self.status is None:
            end = self.raw.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.raw[:end].decode("latin-1").split("\r\n")
            self.raw = self.raw[end + 4:]
            self.status = int(head[0].split()[1])
            self.headers = [tuple(x.strip() for x in h.split(":", 1)) for h in head[1:]]
            self.t_head = t
            self.chunked = (self.header("Transfer-Encoding") or "").lower() == "chunked"
            if self.method == "HEAD":
                self.eof = True
        if self.status is None or not self.raw:
            return
        if not self.chunked:
            self._body(self.raw, t)
            self.raw = b""
            return
        while self.raw:
            if self._chunk_state == "size":
                i = self.raw.find(b"\r\n")
                if i < 0:
                    return
                size = int(self.raw[:i].split(b";")[0], 16)
                self.raw = self.raw[i + 2:]
                if size == 0:
                    self._chunk_state = "done"
                    self.eof = True
                    return
                self._chunk_left = size
                self._chunk_state = "data"
            elif self._chunk_state == "data":
                take = self.raw[:self._chunk_left]
                self.raw = self.raw[len(take):]
                self._chunk_left -= len(take)
                self._body(take, t)
                if self._chunk_left == 0:
                    self._chunk_state = "crlf"
            elif self._chunk_state == "crlf":
                if len(self.raw) < 2:
                    return
                self.raw = self.raw[2:]
                self._chunk_state = "size"
            else:
                return

    def _body(self, b, t):
        self.body_pieces.append((t, b))
        self.events.extend(self.parser.feed(b, t))

    def body(self):
        return b"".join(b for _, b in self.body_pieces)

    def read_until(self, cond, timeout):
        """Reads until cond(self) is true, EOF, or timeout; returns cond(self)."""
        pump([self], lambda: cond(self), timeout)
        return cond(self)

    def read_head(self, timeout=5):
        return self.read_until(lambda s: s.status is not None, timeout)

    def read_events(self, n, timeout):
        return self.read_until(lambda s: len(s.counts()) >= n, timeout)

    def read_to_end(self, timeout):
        return self.read_until(lambda s: s.eof, timeout)

    def counts(self):
        """The ids of the counter events received, as ints."""
        return [int(e["id"]) for e in self.events if e["data"] is not None and e["id"] is not None]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def http_get(port, path, headers=None, method="GET", timeout=5):
    """A whole (finite) response: (status, headers dict lowercased, body bytes)."""
    h = HttpStream(port, path, headers, method=method)
    h.read_to_end(timeout)
    h.close()
    return h.status, {k.lower(): v for k, v in h.headers}, h.body()


# ---------------------------------------------------------------- FastCGI via cgi-fcgi

class CgiFcgi:
    """libfcgi's own client, cgi-fcgi, talking to the responder's socket: it
    turns a CGI environment into a FastCGI request and prints the response."""

    def __init__(self, sock, script="/stream", method="GET", query=None, extra=None):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "REQUEST_METHOD": method, "SCRIPT_NAME": script,
               "SERVER_PROTOCOL": "HTTP/1.1", "GATEWAY_INTERFACE": "CGI/1.1"}
        if query is not None:
            env["QUERY_STRING"] = query
        env.update(extra or {})
        self.t_start = time.monotonic()
        self.p = subprocess.Popen(["cgi-fcgi", "-bind", "-connect", sock], env=env,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.fd = self.p.stdout.fileno()
        os.set_blocking(self.fd, False)
        self.out = b""
        self.pieces = []
        self.eof = False
        self.head = None
        self.parser = SseParser()
        self.events = []

    def fileno(self):
        return self.fd

    def read_once(self):
        try:
            b = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        t = time.monotonic()
        if not b:
            self.eof = True
            return
        self.pieces.append((t, b))
        self.out += b
        if self.head is None:
            i = self.out.find(b"\r\n\r\n")
            if i >= 0:
                self.head = (t, self.out[:i].decode("latin-1"))
                self.events.extend(self.parser.feed(self.out[i + 4:], t))
        else:
            self.events.extend(self.parser.feed(b, t))

    def read_until(self, cond, timeout):
        pump([self], lambda: cond(self), timeout)
        return cond(self)

    def counts(self):
        return [int(e["id"]) for e in self.events if e["data"] is not None and e["id"] is not None]

    def headers(self):
        return self.head[1].split("\r\n") if self.head else []

    def body(self):
        i = self.out.find(b"\r\n\r\n")
        return self.out[i + 4:] if i >= 0 else b""

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()
        self.p.stdout.close()
        self.p.stderr.close()


def fcgi_get(sock, script="/stream", method="GET", query=None, extra=None, timeout=5):
    c = CgiFcgi(sock, script, method, query, extra)
    c.read_until(lambda c: c.eof, timeout)
    c.close()
    return c


def status(sock):
    """The responder's status JSON, asked straight over FastCGI."""
    c = fcgi_get(sock, "/status")
    return json.loads(c.body())


# ---------------------------------------------------------------- timing checks
#
# No test asserts a number of milliseconds that depends on the machine: a slower or
# busier machine (a sanitizer build, a CPU burner beside the suite) must not fail a test,
# a late stream must. Promptness is judged
# - by order, against the product's own schedule: each event of a fixed-interval stream
#   arrives in its own slot, after the event before it was due and before the event after
#   it is due (in_slot, timing_ok); a header block or retry line arrives before the first
#   event; a program's line reaches the client before the program prints the next; a
#   stream the client left is freed before the write that would have noticed it;
# - or against a control measured in the same run: streams under attack against the same
#   streams of a responder nobody attacks, read at the same moments by the same process
#   (beyond_control).
# Waits have deadlines (generous ones: a deadline is not a claim about speed). Absolute
# figures are the benchmark's (bench/bench.py, docs/benchmark.md).

def gaps(events):
    ts = [e["t"] for e in events if e["data"] is not None]
    return [b - a for a, b in zip(ts, ts[1:])]


def _timeout_stop_sec():
    """TimeoutStopSec of deploy/systemd/fcgi-sse.service (systemd's default, 90, if the
    unit does not set it)."""
    try:
        with open(os.path.join(SRCDIR, "deploy", "systemd", "fcgi-sse.service")) as f:
            for line in f:
                if line.strip().startswith("TimeoutStopSec="):
                    return float(line.split("=", 1)[1].strip().rstrip("s"))
    except (OSError, ValueError):
        pass
    return 90.0


# How long the service manager lets the responder stop before it kills it: the deadline
# of every wait for an exit after SIGTERM (the responder's promise is to be gone by then;
# how fast it is below that is the benchmark's business).
STOP_DEADLINE = _timeout_stop_sec()


def percentile(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))] if v else None


def timing_ok(gaps_s, target, tol=0.10, each=True):
    """Inter-arrival gaps that keep the schedule: the median and the mean gap within tol x
    target (the interval is the unit: the mean depends only on the first and last arrival,
    so one late wake-up in between does not move it), and (each) no gap of two intervals
    or more: an event that came only after the one after it was due. each=False where each
    event is judged against a control instead (beyond_control)."""
    if not gaps_s:
        return False
    med = percentile(gaps_s, 0.5)
    mean = sum(gaps_s) / len(gaps_s)
    return (abs(med - target) <= tol * target and abs(mean - target) <= tol * target
            and (not each or max(gaps_s) < 2 * target))


def due_offsets(s, interval):
    """Arrival of each counter event of s (HttpStream, or CgiFcgi) minus its due time,
    start + (k+1) x interval for the k-th event since the first id. The start is the header
    block's arrival, or one interval before the first event if that is earlier (a client
    busy opening others may read a header block late, never an event early)."""
    t_head = s.t_head if hasattr(s, "t_head") else (s.head[0] if s.head else None)
    evs = [e for e in s.events if e["data"] is not None and e["id"] is not None]
    if not evs or t_head is None:
        return []
    first = int(evs[0]["id"])
    t0 = min(t_head, evs[0]["t"] - interval)
    return [e["t"] - (t0 + (int(e["id"]) - first + 1) * interval) for e in evs]


def in_slot(offs, interval):
    """Every event in its own slot: after the event before it was due and before the event
    after it is due (|arrival - due time| < one interval)."""
    return bool(offs) and all(-interval < x < interval for x in offs)


def describe_offsets(offs, interval):
    """One line for a test name: n events, the range of their arrival minus due time."""
    if not offs:
        return "no events"
    return "%d events, %+.0f to %+.0f ms from their due times, slots of %d ms" % (
        len(offs), min(offs) * 1000, max(offs) * 1000, interval * 1000)


def describe_gaps(gaps_s, target):
    """One line for a test name or a diagnostic: n, median, mean, p99, max in ms."""
    if not gaps_s:
        return "no gaps"
    return "%d gaps of %d ms: median %.1f, mean %.1f, p99 %.1f, max %.1f ms" % (
        len(gaps_s), target * 1000, percentile(gaps_s, 0.5) * 1000,
        sum(gaps_s) / len(gaps_s) * 1000, percentile(gaps_s, 0.99) * 1000,
        max(gaps_s) * 1000)


def grid_lateness(pairs, interval):
    """pairs: [(id, arrival)] of one fixed-interval stream. For each event (due, lateness):
    the grid's phase is taken from the event that arrived earliest relative to it (its
    lateness 0), so every lateness is >= 0 and a stream on time has all of them well under
    one interval."""
    if not pairs:
        return []
    anchor = min(t - i * interval for i, t in pairs)
    return [(anchor + i * interval, t - anchor - i * interval) for i, t in pairs]


def beyond_control(streams, controls, interval):
    """Streams under test against control streams (the same kind, from a responder nobody
    attacks), all read by one process: each event under test must arrive before the next
    one is due, beyond the lateness the control streams had at that moment (the largest of
    the control events due while it was pending: from one interval before its due time
    until it arrived). A machine that stalls delays both alike; a responder that stalls
    under attack delays only its own. streams, controls: lists of [(id, arrival)].
    Returns ([(stream index, id, lateness, control's lateness)] of those that failed,
    largest lateness under test, largest control lateness)."""
    ctl = sorted(x for c in controls for x in grid_lateness(c, interval))
    bad, worst = [], 0.0
    for si, pairs in enumerate(streams):
        for (i, _), (due, late) in zip(pairs, grid_lateness(pairs, interval)):
            worst = max(worst, late)
            if late < interval:
                continue
            allow = max([cl for cd, cl in ctl if due - interval <= cd <= due + late],
                        default=0.0)
            if late - allow >= interval:
                bad.append((si, i, late, allow))
    return bad, worst, max([cl for _, cl in ctl], default=0.0)


# ---------------------------------------------------------------- raw FastCGI

FCGI_BEGIN_REQUEST, FCGI_ABORT_REQUEST, FCGI_END_REQUEST = 1, 2, 3
FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 4, 5, 6


def fcgi_record(rtype, content, req_id=1, version=1, padding=0):
    """One FastCGI record (test side only: the responder itself uses libfcgi)."""
    import struct
    return struct.pack(">BBHHBB", version, rtype, req_id, len(content), padding, 0) + \
        content + b"\0" * padding


def fcgi_nv(name, value):
    import struct
    out = b""
    for x in (name, value):
        out += bytes([len(x)]) if len(x) < 128 else struct.pack(">I", len(x) | 0x80000000)
    return out + name + value


def fcgi_request_bytes(params, req_id=1, stdin=b""):
    """BEGIN_REQUEST (responder, no keep-conn), PARAMS, empty PARAMS, STDIN, empty STDIN."""
    import struct
    body = b"".join(fcgi_nv(k.encode(), v.encode()) for k, v in params.items())
    out = fcgi_record(FCGI_BEGIN_REQUEST, struct.pack(">HB5x", 1, 0), req_id)
    for i in range(0, len(body), 65535):
        out += fcgi_record(FCGI_PARAMS, body[i:i + 65535], req_id)
    out += fcgi_record(FCGI_PARAMS, b"", req_id)
    if stdin:
        out += fcgi_record(FCGI_STDIN, stdin, req_id)
    return out + fcgi_record(FCGI_STDIN, b"", req_id)


def fcgi_raw(sock_path, params=None, script="/stream", query="", extra=None, send=True):
    """A raw FastCGI connection to the responder with one request sent; the caller
    decides whether (and when) to read. Returns the socket."""
    p = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": script, "QUERY_STRING": query}
    p.update(params or {})
    p.update(extra or {})
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    if send:
        try:
            s.sendall(fcgi_request_bytes(p))
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed by the responder before we finished: the caller sees EOF
    return s


def fcgi_split_records(buf):
    """The FastCGI record reader of every test: splits buf into whole records.
    Returns ([(type, request id, content)], the bytes left over: a partial record)."""
    import struct
    recs = []
    while len(buf) >= 8:
        _, rtype, req_id, clen, plen, _ = struct.unpack(">BBHHBB", buf[:8])
        if len(buf) < 8 + clen + plen:
            break
        recs.append((rtype, req_id, buf[8:8 + clen]))
        buf = buf[8 + clen + plen:]
    return recs, buf


def fcgi_read_records(s, timeout, until=None):
    """Reads records until END_REQUEST, EOF, timeout, or until(records) is true.
    Returns (records [(type, content, time)], eof)."""
    buf, recs, eof = b"", [], False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (until and until(recs)):
        s.settimeout(max(0.001, deadline - time.monotonic()))
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            b = b""
        if not b:
            eof = True
            break
        got, buf = fcgi_split_records(buf + b)
        now = time.monotonic()
        recs += [(rtype, content, now) for rtype, _, content in got]
        if recs and recs[-1][0] == FCGI_END_REQUEST:
            break
    return recs, eof


# ---------------------------------------------------------------- a separate watcher process

def _watch(specs, seconds):
    """Opens, for each (socket, n) of specs, n raw FastCGI streams on the socket and reads
    them all until its stdin is closed (at most `seconds`); returns {"seconds": how long it
    read, "streams": per stream, in the order of specs, the (id, arrival time) of each
    event}. Runs in its own process (see Watcher)."""
    socks, parsers, out = [], [], []
    for sock, n in specs:
        for _ in range(n):
            s = fcgi_raw(sock)
            s.setblocking(False)
            socks.append(s)
            parsers.append([b"", SseParser()])
            out.append([])
    t0 = time.monotonic()
    deadline = t0 + seconds
    stdin_open = True
    while time.monotonic() < deadline and stdin_open:
        r, _, _ = select.select(socks + [sys.stdin], [], [], max(0, deadline - time.monotonic()))
        now = time.monotonic()
        for s in r:
            if s is sys.stdin:
                stdin_open = bool(os.read(sys.stdin.fileno(), 1))
                continue
            i = socks.index(s)
            b = s.recv(65536)
            if not b:
                continue
            recs, parsers[i][0] = fcgi_split_records(parsers[i][0] + b)
            for rtype, _, content in recs:
                if rtype == FCGI_STDOUT:
                    for e in parsers[i][1].feed(content, now):
                        if e["data"] is not None and e["id"] is not None:
                            out[i].append((int(e["id"]), now))
    took = time.monotonic() - t0
    for s in socks:
        s.close()
    return {"seconds": took, "streams": out}


class Watcher:
    """Streams read by a separate process, so that their arrival times do not depend
    on what the test process itself is busy with (the GIL, blocking calls). specs:
    [(socket path, number of streams)], e.g. the responder under test and a control."""

    def __init__(self, specs, seconds):
        self.p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "watch",
                                   json.dumps(specs), str(seconds)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)

    def result(self, timeout):
        """Stops the watcher (closes its stdin) if it still reads; returns (seconds it
        read, per stream the list of (id, time), in the order of specs)."""
        out, _ = self.p.communicate(timeout=timeout)
        r = json.loads(out)
        return r["seconds"], r["streams"]


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "watch":
    print(json.dumps(_watch(json.loads(sys.argv[2]), float(sys.argv[3]))))
