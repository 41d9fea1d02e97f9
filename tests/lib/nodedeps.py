"""nodedeps.py -- the npm packages of tests/browser/ (playwright-core, eventsource) for the
Python tests, and a line-oriented JSON client for the node scripts here.

node_dir() returns a directory holding the node scripts of tests/browser/ next to a
node_modules/ that matches tests/browser/package-lock.json exactly:
- tests/browser/ itself, when a developer already ran `npm ci` there;
- else <builddir>/tests/browser-node/: package*.json and the scripts are copied there
  and `npm ci --no-audit --no-fund` installs (again only when missing or stale), so a
  read-only source tree works and normal runs never write into it.
A file lock keeps two tests from installing at once.

Limits: Python 3.11 standard library only; Linux.
"""

import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import time

# The npm project (package*.json and the node scripts) lives in tests/browser/.
HERE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "browser")
FILES = ("package.json", "package-lock.json")
SCRIPTS = ("page.mjs", "clients.mjs", "channels.mjs", "h2.mjs", "openai_client.mjs", "run_es.mjs",
           "status_page.mjs",
           "urlpattern_oracle.mjs", "mercure.mjs", "lines.mjs")


def _locked_versions(lock_path):
    with open(lock_path) as f:
        lock = json.load(f)
    return {k[len("node_modules/"):]: v.get("version")
            for k, v in lock.get("packages", {}).items() if k.startswith("node_modules/")}


def deps_complete(d, lock_path=None):
    """True if d/node_modules holds every package of the lock file at its locked version."""
    try:
        want = _locked_versions(lock_path or os.path.join(d, "package-lock.json"))
        for name, version in want.items():
            with open(os.path.join(d, "node_modules", name, "package.json")) as f:
                if json.load(f).get("version") != version:
                    return False
        return bool(want)
    except (OSError, ValueError):
        return False


def _same(a, b):
    try:
        with open(a, "rb") as fa, open(b, "rb") as fb:
            return fa.read() == fb.read()
    except OSError:
        return False


def node_dir(builddir, timeout=300):
    """(directory, None) with the scripts and their node_modules, or (None, why not)."""
    missing = [x for x in ("node", "npm") if not shutil.which(x)]
    if missing:
        return None, "%s not installed" % " and ".join(missing)
    if deps_complete(HERE):
        return HERE, None
    dest = os.path.join(builddir, "tests", "browser-node")
    try:
        os.makedirs(dest, exist_ok=True)
        with open(os.path.join(dest, ".lock"), "w") as lk:
            fcntl.flock(lk, fcntl.LOCK_EX)
            for name in FILES + SCRIPTS:
                src, dst = os.path.join(HERE, name), os.path.join(dest, name)
                if not _same(src, dst):
                    shutil.copyfile(src, dst)
            if not deps_complete(dest):
                try:
                    p = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=dest,
                                       stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                       timeout=timeout)
                except subprocess.TimeoutExpired:
                    return None, "npm ci did not finish within %d s" % timeout
                if p.returncode != 0 or not deps_complete(dest):
                    lines = [x.strip() for x in (p.stderr + p.stdout).splitlines()]
                    lines = [x for x in lines if x and x != "npm error" and "complete log" not in x]
                    return None, "npm ci failed (exit %d): %s" % (p.returncode, " / ".join(lines[:3]))
    except OSError as e:
        return None, "cannot prepare %s: %s" % (dest, e)
    return dest, None


class NodeProc:
    """A node script in its own process group (so the browser it starts goes with it),
    spoken to with one line per command and one JSON line per reply. stderr goes to a log."""

    def __init__(self, argv, log_path, cwd, quit_cmd="quit"):
        self.quit_cmd = quit_cmd
        self.log_path = log_path
        self.logf = open(log_path, "ab")
        self.p = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.logf, start_new_session=True)
        self.pid = self.p.pid
        self.buf = b""
        os.set_blocking(self.p.stdout.fileno(), False)

    def alive(self):
        return self.p.poll() is None

    def read_json(self, timeout):
        """The next stdout line that is a JSON object, or None after timeout or EOF."""
        deadline = time.monotonic() + timeout
        while True:
            i = self.buf.find(b"\n")
            while i >= 0:
                line, self.buf = self.buf[:i].strip(), self.buf[i + 1:]
                if line.startswith(b"{"):
                    try:
                        return json.loads(line)
                    except ValueError:
                        pass
                i = self.buf.find(b"\n")
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            poller = select.poll()   # not select(): the test may hold > 1024 descriptors
            poller.register(self.p.stdout.fileno(), select.POLLIN)
            if poller.poll(max(1, int(left * 1000))):
                try:
                    b = os.read(self.p.stdout.fileno(), 65536)
                except BlockingIOError:
                    continue
                if not b:
                    return None
                self.buf += b

    def ask(self, cmd, timeout=10):
        """Sends one command (a str, or a dict sent as JSON); returns its reply or None."""
        line = cmd if isinstance(cmd, str) else json.dumps(cmd)
        try:
            self.p.stdin.write(line.encode() + b"\n")
            self.p.stdin.flush()
        except (BrokenPipeError, ValueError):
            return None
        return self.read_json(timeout)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, timeout=5):
        """quit; then SIGTERM, then SIGKILL, to the whole process group (node and the
        browser it started), until none of it is left."""
        if self.alive():
            self.ask(self.quit_cmd, timeout)
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout if self.alive() else 0.1)
        except subprocess.TimeoutExpired:
            pass
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not _group_alive(self.pid):
                break
            try:
                os.killpg(self.pid, sig)   # the group this process leads: node and its children
            except ProcessLookupError:
                break
            if self.p.poll() is None:
                try:
                    self.p.wait(3)
                except subprocess.TimeoutExpired:
                    pass
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and _group_alive(self.pid):
                time.sleep(0.05)
        if self.p.poll() is None:
            self.p.wait()
        self.p.stdout.close()
        self.logf.close()
        return self.p.returncode


def start_page(ndir, wd, chromium, timeout=30):
    """Headless Chromium driven by page.mjs (playwright-core), its profile and log in wd.
    Returns (the NodeProc, its first JSON line: {"ready": true} once Chromium runs, or
    None); the caller checks it."""
    page = NodeProc(["node", "page.mjs", wd.file("chromium-profile"), chromium],
                    wd.file("page.log"), cwd=ndir, quit_cmd={"cmd": "quit"})
    return page, page.read_json(timeout)


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
