"""test_readme.py -- the examples of README.md and docs/*.md, run as written, and what the
pages say about the tree.

An example is a fenced block right after a line `<!-- test: NAME -->`; CHECKS below has
the check of each NAME, which runs the block (sh with bash, python in this interpreter or
Debian's /usr/bin/python3 for python3-redis, php with php-cli) and checks what the
page says it does: the events, the ids, the JSON answers, the exit statuses. A block
after `<!-- not tested: WHY -->` is not run, WHY saying so on the page. Every sh, python
or php block that talks to a responder or to Redis (curl, fcgi-sse publish or sign,
redis-cli, an HTTP call, an FCALL, an HMAC) must carry one of the two marks.

The setup is the demo's (deploy/lighttpd/demo.sh): lighttpd with deploy/lighttpd/demo.conf,
the responder under spawn-fcgi with a publish key file and --run demo=demo-run.sh (with
-i 300 and -k 1, so that streams are quick to watch and a subscriber that left is let go
within a second, before the next example counts subscribers), and, as demo.sh, a Mercure hub
(--mercure, anonymous subscribers, a secret of the run as its publisher and subscriber key,
the hub's own URL as --mercure-audience and its origin as --mercure-issuer); the test adds
what the pages say an example needs: a --subscribe-key-file, the model program
of docs/programs.md as --openai, and for docs/redis.md a redis-server on a free port with
a second responder (--redis) behind a second lighttpd. Examples run as written with only
the port changed (127.0.0.1:8080 to lighttpd's, 6379 to Redis's); the shell variables the
pages define (site, key, sock, keyfile, subkeys; for Mercure token, secret, MERCURE_URL and
MERCURE_JWT_SECRET) come from the setup, and `fcgi-sse` is the
built binary. A `curl -N` stream never ends by itself: a curl first in PATH adds
--max-time to it (the check's cut), as a user would press Ctrl-C.

Also checked: README.md has at most 200 lines and links nowhere outside the repository;
every relative link of the pages resolves to a file of the tree; every file path in
backticks (src/, deploy/, bench/, tests/, debian/, html/) exists; /status answers exactly
the fields docs/protocol.md lists; the man page's OPTIONS are exactly the options of
`fcgi-sse --help` (one table drives parsing and --help: src/server/options.c), with the
same short letters.

Limits: needs curl, php-cli (the PHP examples), php-symfony-mercure (docs/mercure.md's
Symfony example), redis-server, redis-cli and python3-redis (docs/redis.md); each missing
one is a skip, counted as such.
"""

import base64
import glob
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from harness import (BUILDDIR, SANITIZED, SRCDIR, Tap, Workdir, free_port,  # noqa: E402
                     run_binary, sanitizer_report, start_lighttpd, start_redis,
                     start_spawned_responder, wait_for)

PY_SYSTEM = "/usr/bin/python3"   # Debian's python3-redis lives there
PAGES = ["README.md"] + sorted(os.path.relpath(p, SRCDIR)
                               for p in glob.glob(os.path.join(SRCDIR, "docs", "*.md")))
ID = re.compile(r"^\d+-\d+$")

t = Tap()


# ---------------------------------------------------------------- the pages

def read(rel):
    with open(os.path.join(SRCDIR, rel), encoding="utf-8") as f:
        return f.read()


class Block:
    def __init__(self, page, line, lang, code, mark, arg):
        self.page, self.line, self.lang, self.code = page, line, lang, code
        self.mark, self.arg = mark, arg     # ("test", NAME), ("not tested", WHY) or (None, None)

    def where(self):
        return "%s:%d" % (self.page, self.line)

    def commands(self):
        """The block's commands: continuation lines joined, blank and comment lines out."""
        joined = re.sub(r"\\\n\s*", "", self.code)
        return [x for x in joined.split("\n") if x.strip() and not x.lstrip().startswith("#")]


MARK = re.compile(r"^\s*<!-- (test|not tested): (.+?) -->\s*$")
FENCE = re.compile(r"^(\s*)```(\w*)\s*$")


def blocks(page):
    """(blocks, stray marks) of a page: each fenced block with the mark on the last
    non-blank line before it; a mark that no fence follows is stray."""
    lines = read(page).split("\n")
    out, stray, i, mark = [], [], 0, None
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m:
            indent, lang, start = len(m.group(1)), m.group(2), i + 1
            i += 1
            body = []
            while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
                body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
                i += 1
            out.append(Block(page, start, lang, "\n".join(body) + "\n",
                             mark[0] if mark else None, mark[1] if mark else None))
            mark = None
        else:
            mm = MARK.match(lines[i])
            if mm:
                if mark:
                    stray.append("%s:%d" % (page, mark[2]))
                mark = (mm.group(1), mm.group(2), i + 1)
            elif lines[i].strip() and mark:
                stray.append("%s:%d" % (page, mark[2]))
                mark = None
        i += 1
    if mark:
        stray.append("%s:%d" % (page, mark[2]))
    return out, stray


def talks_to_responder(b):
    """An example that needs a mark: it calls the responder or Redis."""
    if b.lang == "sh":
        code = "\n".join(re.sub(r"(^|\s)#.*$", "", x) for x in b.code.split("\n"))
        return re.search(r"\bcurl\b|\bfcgi-sse (publish|sign|channel)\b|\bredis-cli\b", code)
    if b.lang in ("python", "php"):
        return re.search(r"127\.0\.0\.1|fcall|hash_hmac|hmac\.new|urlopen|file_get_contents",
                         b.code, re.I)
    return False


ALL, STRAY = [], []
for page in PAGES:
    bs, st = blocks(page)
    ALL += bs
    STRAY += st
EXAMPLES = {}
for b in ALL:
    if b.mark == "test":
        EXAMPLES.setdefault(b.arg, []).append(b)

# ---------------------------------------------------------------- what the pages say

readme = read("README.md")
n_lines = readme.count("\n")
t.ok(n_lines <= 200, "README.md has %d lines (at most 200)" % n_lines)

links = [(p, target) for p in PAGES
         for target in re.findall(r"\]\(([^)\s]+)\)", read(p))]
outside = [target for p, target in links if p == "README.md" and (
    re.match(r"[a-z]+:", target) or not os.path.realpath(
        os.path.join(SRCDIR, target.split("#")[0])).startswith(os.path.realpath(SRCDIR) + os.sep))]
t.eq(outside, [], "README.md links nowhere outside the repository")
broken = ["%s: %s" % (p, target) for p, target in links
          if not re.match(r"[a-z]+:|#", target)
          and not os.path.exists(os.path.join(SRCDIR, os.path.dirname(p), target.split("#")[0]))]
t.eq(broken, [], "every relative link of README.md and docs/ leads to a file of the tree (%d)"
     % len(links))


def anchors(page):
    """GitHub's anchors of a page's headings."""
    out = set()
    for h in re.findall(r"^#+ (.+)$", read(page), re.M):
        a = re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-")
        out.add(a)
    return out


bad_anchor = []
for p, target in links:
    if "#" in target and not re.match(r"[a-z]+:", target):
        f, a = target.split("#", 1)
        dest = os.path.normpath(os.path.join(os.path.dirname(p), f)) if f else p
        if dest.endswith(".md") and os.path.exists(os.path.join(SRCDIR, dest)) \
                and a not in anchors(dest):
            bad_anchor.append("%s: %s" % (p, target))
t.eq(bad_anchor, [], "every link to a section names a heading of its page")


def cited_paths(text):
    out = set()
    for m in re.findall(r"`((?:src|deploy|bench|tests|debian|html)/[^`\s]*)`", text):
        m = m.rstrip(".,:;")
        brace = re.match(r"(.*)\{([^}]*)\}(.*)$", m)
        for x in ([brace.group(1) + y + brace.group(3) for y in brace.group(2).split(",")]
                  if brace else [m]):
            out.add(x)
    return out


# A path is a file or folder of the tree, or a program built from PATH.c (bench/sse-load);
# debian/ is left out of the release tarball (Makefile.am), so there it is not looked for.
# A pattern (tests/fuzz/fuzz_*.c, tests/unit/<folder>/test_<module>.c) must match a file;
# docs/testing.md names tests by group or folder (deploy/test_deploy_files is
# tests/integration/deploy/test_deploy_files.py).
def cited_exists(x):
    if "*" in x or "<" in x:
        return bool(glob.glob(os.path.join(SRCDIR, re.sub(r"<[^>]*>", "*", x))))
    return any(os.path.exists(os.path.join(SRCDIR, y)) for y in (
        x, x + ".c", "tests/integration/" + x + ".py", "tests/unit/" + x + ".c"))


missing = sorted("%s: %s" % (p, x) for p in PAGES for x in cited_paths(read(p))
                 if not cited_exists(x)
                 and not (x.startswith("debian/")
                          and not os.path.isdir(os.path.join(SRCDIR, "debian"))))
t.eq(missing, [], "every file path the pages cite exists")

dist = re.sub(r"\\\n", " ", read("Makefile.am"))
dist = set(re.findall(r"\S+", " ".join(re.findall(r"^EXTRA_DIST \+?= (.*)$", dist, re.M))))
t.eq(sorted(set(PAGES) - dist), [], "Makefile.am's EXTRA_DIST has README.md and every page "
     "of docs/ (make dist ships them)")

unmarked = [b.where() for b in ALL if talks_to_responder(b) and not b.mark]
t.eq(unmarked, [], "every example that calls the responder or Redis is marked "
     "`<!-- test: NAME -->` or `<!-- not tested: WHY -->`")
t.eq(STRAY, [], "every mark stands right before a code block")
not_tested = [b for b in ALL if b.mark == "not tested"]
t.ok(all(len(b.arg) >= 20 for b in not_tested),
     "each example not run says why (%d: %s)" % (
         len(not_tested), "; ".join("%s %s" % (b.where(), b.arg) for b in not_tested)))


# ---------------------------------------------------------------- the man page

def man_options():
    """{long name: short letter or None} of the .TP entries of fcgi-sse.1's OPTIONS."""
    text = read("fcgi-sse.1")
    section = text.split("\n.SH OPTIONS\n", 1)[1].split("\n.SH ", 1)[0]
    opts = {}
    for entry in section.split(".TP\n")[1:]:
        first = entry.split("\n", 1)[0].replace("\\-", "-")
        m = re.search(r"\\fB--([a-z-]+)\\fR", first)
        short = re.match(r"\\fB-([A-Za-z])\\fR", first)
        if m:
            opts[m.group(1)] = short.group(1) if short else None
    return opts


def help_options():
    """{long name: short letter or None} of the option lines of fcgi-sse --help."""
    out = run_binary(["--help"]).stdout.decode()
    opts = {}
    for m in re.finditer(r"^  (?:-([A-Za-z]), |    )--([a-z-]+)", out, re.M):
        opts[m.group(2)] = m.group(1)
    return opts


man, hlp = man_options(), help_options()
t.ok(man == hlp and len(man) >= 25,
     "the man page documents exactly the options of --help (%d), short letters alike" % len(hlp),
     "only in the man page: %s\nonly in --help: %s\nletters differ: %s" % (
         sorted(set(man) - set(hlp)), sorted(set(hlp) - set(man)),
         sorted(k for k in set(man) & set(hlp) if man[k] != hlp[k])))


def status_fields():
    """(top-level fields, the redis object's fields) that docs/protocol.md's /status
    table lists."""
    sec = read("docs/protocol.md").split("## `/status`", 1)[1].split("\n## ", 1)[0]
    top, redis = set(), set()
    for row in re.findall(r"^\| (.*) \|$", sec, re.M):
        cells = [c.strip() for c in row.split(" | ")]
        names = re.findall(r"`([a-z_]+)`", cells[0])
        top.update(names)
        if names == ["redis"]:
            redis.update(re.findall(r"`([a-z_]+)`", cells[1]))
    return top, redis


# ---------------------------------------------------------------- running examples

def sse_events(text):
    """[(id, event, [data lines])] of the whole events of a stream (a comment, the
    retry: block and a last event cut short are left out)."""
    text = text.replace("\r\n", "\n")
    text = text[:text.rfind("\n\n") + 1] if "\n\n" in text else ""
    out = []
    for block in text.split("\n\n"):
        ev, has = {"id": None, "event": None, "data": []}, False
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            k, _, v = line.partition(":")
            v = v[1:] if v.startswith(" ") else v
            if k == "data":
                ev["data"].append(v)
                has = True
            elif k in ("id", "event"):
                ev[k] = v
                has = True
        if has:
            out.append((ev["id"], ev["event"], ev["data"]))
    return out


def counter_ids(text):
    return [int(x) for x in re.findall(r"^id: (\d+)$", text, re.M)]


class Result:
    def __init__(self, rc, out, err, hung):
        self.rc, self.out, self.err, self.hung = rc, out, err, hung

    def __repr__(self):
        return "exit %r%s\nstdout: %s\nstderr: %s" % (
            self.rc, " (did not end: killed)" if self.hung else "", self.out[-1500:],
            self.err[-800:])


class Runner:
    """Runs examples with the setup's variables, the port changed, and a curl that cuts
    a `curl -N` after the check's cut."""

    def __init__(self, wd, variables, port, redis_port=None):
        shim = wd.file("bin")
        os.makedirs(shim, exist_ok=True)
        with open(os.path.join(shim, "curl"), "w") as f:
            f.write('#!/bin/sh\n# curl for the examples: a stream (-N) is watched for '
                    'FCGI_SSE_EXAMPLE_CUT seconds\nfor a in "$@"; do\n'
                    '    [ "$a" = -N ] && exec %s --max-time "$FCGI_SSE_EXAMPLE_CUT" "$@"\n'
                    'done\nexec %s "$@"\n' % (shutil.which("curl"), shutil.which("curl")))
        os.chmod(os.path.join(shim, "curl"), 0o755)
        self.env = dict(os.environ, PATH=shim + ":" + BUILDDIR + ":" + os.environ["PATH"],
                        **variables)
        self.cwd, self.port, self.redis_port, self.bg = wd.path, port, redis_port, []

    def text(self, code):
        code = code.replace("127.0.0.1:8080", "127.0.0.1:%d" % self.port)
        if self.redis_port:
            code = code.replace("6379", str(self.redis_port))
        return code

    def run(self, code, cut=3, timeout=30, argv=None, stdin=None):
        """bash -c CODE, or argv (CODE appended when given); a Result. A run that has not
        ended after timeout s is killed (hung)."""
        env = dict(self.env, FCGI_SSE_EXAMPLE_CUT=str(cut))
        cmd = (argv or ["bash", "-c"]) + ([self.text(code)] if code else [])
        p = subprocess.Popen(cmd, env=env,
                             cwd=self.cwd, start_new_session=True, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        hung = False
        try:
            out, err = p.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            hung = True
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
        r = Result(p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
                   hung)
        if SANITIZED and sanitizer_report(err):
            t.ok(False, "no sanitizer report from an example", r.err[-2000:])
        return r

    def start(self, line):
        """A command that ends in `&`, started in the background: its stdout goes to a
        file that output() reads."""
        code = re.sub(r"\s&\s*(#.*)?$", "", line)
        path = os.path.join(self.cwd, "bg%d.out" % len(self.bg))
        with open(path, "wb") as out:
            p = subprocess.Popen(["bash", "-c", self.text(code)], stdout=out,
                                 stderr=subprocess.DEVNULL, cwd=self.cwd,
                                 env=dict(self.env, FCGI_SSE_EXAMPLE_CUT="60"),
                                 start_new_session=True)
        p.out_path = path
        self.bg.append(p)
        return p

    @staticmethod
    def output(p):
        with open(p.out_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        """Stops the background commands, then waits until the responder has let their
        streams go (it learns that a client left at its next write: a heartbeat), so
        that the next example's subscriber counts are its own."""
        had = bool(self.bg)
        for p in self.bg:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        self.bg = []
        if had:
            ok = wait_for(lambda: (answer(self.run('curl -s "$site/status"').out) or {}).get(
                "streams_open") == 0, 15, 0.2)
            if not ok:
                t.ok(False, "the streams of an example's subscribers end once they left")


def background(b):
    """The block's commands: (the one that ends in `&`, the others)."""
    cmds = b.commands()
    bg = [c for c in cmds if re.search(r"\s&\s*(#.*)?$", c)]
    return (bg[0] if bg else None), [c for c in cmds if c not in bg]


def answer(text):
    """A publish's JSON answer, or None."""
    try:
        j = json.loads(text)
    except ValueError:
        return None
    return j if isinstance(j, dict) else None


def is_answer(j, channel, subscribers=None):
    return (j is not None and ID.match(str(j.get("id"))) is not None
            and j.get("channel") == channel
            and (subscribers is None or j.get("subscribers") == subscribers))


# ---------------------------------------------------------------- the checks

# What the demo's responder was given to publish, in order: (channel, id or None, event,
# data lines), for the checks that replay a channel and count messages.
published = []


def check_counter(run, b):
    """readme-stream, protocol-stream: each command of the block, as its comment says."""
    for cmd in b.commands():
        r = run.run(cmd)
        ids = counter_ids(r.out)
        if "Last-Event-ID: 41" in cmd:
            t.ok(ids[:2] == [42, 43] and r.rc == 28, "%s: resumes at 42" % cmd, r)
        elif "Last-Event-ID: x" in cmd:
            t.ok(r.rc == 0 and r.out.count("\n") == 1 and r.out.startswith("Last-Event-ID ")
                 and not counter_ids(r.out), "%s: one line that says why" % cmd, r)
        elif "limit=3" in cmd:
            t.ok(r.rc == 0 and ids == [0, 1, 2] and r.out.endswith("\n\n")
                 and "data: Count: [2]" in r.out, "%s: three events, then the end" % cmd, r)
        elif "/status" in cmd:
            st = answer(r.out) or {}
            top, _ = status_fields()
            t.ok(r.rc == 0 and set(st) == top - {"redis"},
                 "%s: the counters, exactly the fields docs/protocol.md lists" % cmd,
                 "answered: %s\nlisted: %s" % (sorted(st), sorted(top)))
        elif "/stream" in cmd:
            t.ok(r.rc == 28 and r.out.startswith("retry: 3000\n\n") and len(ids) >= 3
                 and ids == list(range(len(ids))) and "data: Count: [0]" in r.out,
                 "%s: retry: 3000, then events 0, 1, 2... until cut" % cmd, r)
        else:
            t.ok(False, "%s: a command this test does not know" % cmd)


def subscribe_then(run, b, name):
    """Starts the block's background subscriber, waits until it is subscribed, runs the
    other commands one by one; (subscriber, [Result])."""
    sub_cmd, rest = background(b)
    if not t.ok(sub_cmd is not None, "%s: the block starts a subscriber with &" % name,
                b.code):
        return None, []
    sub = run.start(sub_cmd)
    t.ok(wait_for(lambda: run.output(sub).startswith("retry: "), 10),
         "%s: %s is subscribed" % (name, sub_cmd.split("&")[0].strip()), run.output(sub))
    return sub, [run.run(c) for c in rest]


def check_readme_channels(run, b):
    sub, res = subscribe_then(run, b, "readme-channels")
    if not sub or len(res) != 1:
        return t.ok(False, "readme-channels: one publish", b.code)
    j = answer(res[0].out)
    t.ok(res[0].rc == 0 and is_answer(j, "news", 1),
         "readme-channels: the publisher gets its id, channel news, 1 subscriber", res[0])
    if j:
        published.append(("news", j["id"], None, ["hello"]))
    got = wait_for(lambda: sse_events(run.output(sub)), 10)
    t.eq(got, [(j and j["id"], None, ["hello"])],
         "readme-channels: the subscriber gets id: ID, data: hello")
    run.stop()


def check_channels_publish(run, b):
    sub, res = subscribe_then(run, b, "channels-publish")
    if not sub or len(res) != 3:
        return t.ok(False, "channels-publish: two publishes and /status", b.code)
    a1, a2 = answer(res[0].out), answer(res[1].out)
    t.ok(is_answer(a1, "news", 1) and is_answer(a2, "sport", 1),
         "channels-publish: each publish answered: its id, its channel, 1 subscriber",
         "%r\n%r" % (res[0], res[1]))
    if a1 and a2:
        published.append(("news", a1["id"], None, ["hello"]))
        published.append(("sport", a2["id"], "alert", ["disk 3 is full", "replace it"]))
    want = [(a1 and a1["id"], None, ["hello"]),
            (a2 and a2["id"], "alert", ["disk 3 is full", "replace it"])]
    wait_for(lambda: len(sse_events(run.output(sub))) >= 2, 10)
    t.eq(sse_events(run.output(sub)), want,
         "channels-publish: the subscriber to both channels gets both, the alert typed, "
         "one data: line a line")
    # the two (the Mercure hub's own channel, @mercure, is not counted: docs/protocol.md)
    st = answer(res[2].out) or {}
    t.ok(st.get("channels") == 2 and st.get("messages_published") == len(published),
         "channels-publish: /status counts 2 channels (not the hub's) and %d messages "
         "published" % len(published), res[2])
    run.stop()


def check_publish_command(run, b):
    cmds = b.commands()
    if not t.ok(len(cmds) == 2, "channels-publish-command: two commands", b.code):
        return
    r1, r2 = run.run(cmds[0]), run.run(cmds[1])
    j = answer(r1.out)
    t.ok(r1.rc == 0 and is_answer(j, "news", 0) and r1.err == "",
         "%s: prints the JSON answer, exit status 0" % cmds[0], r1)
    if j:
        published.append(("news", j["id"], None, ["hello"]))
    t.ok(r2.out.strip() == "exit status 1" and "403" in r2.err
         and "publishing needs" in r2.err and r2.err.count("\n") <= 1,
         "%s: without a key, a one-line 403 on stderr and exit status 1" % cmds[1], r2)


def php_run(run, code, driver):
    with open(os.path.join(run.cwd, "example.php"), "w") as f:
        f.write("<?php\n" + run.text(code) + "\n" + driver + "\n")
    return run.run(None, argv=["php", os.path.join(run.cwd, "example.php")])


def check_publish_php(run, b):
    if not shutil.which("php"):
        return t.skip("channels-publish-php", "php is not installed (deploy/install-deps.sh test)")
    r = php_run(run, b.code, "echo json_encode([fcgi_sse_publish(getenv('key'), 'news', "
                "'from PHP', 'alert'), fcgi_sse_publish('not-a-key-of-the-responder', "
                "'news', 'x')]);")
    try:
        ok, bad = json.loads(r.out)
    except ValueError:
        ok, bad = None, "?"
    t.ok(r.rc == 0 and is_answer(ok, "news", 0) and bad is None,
         "channels-publish-php: fcgi_sse_publish returns the answer as an array, null "
         "for a refused key", r)
    if is_answer(ok, "news"):
        published.append(("news", ok["id"], "alert", ["from PHP"]))


def check_publish_python(run, b):
    ns = {}
    exec(run.text(b.code), ns)
    j = ns["fcgi_sse_publish"](run.env["key"], "news", "from Python", "alert")
    t.ok(is_answer(j, "news", 0), "channels-publish-python: fcgi_sse_publish returns the "
         "answer", j)
    if is_answer(j, "news"):
        published.append(("news", j["id"], "alert", ["from Python"]))
    try:
        ns["fcgi_sse_publish"]("not-a-key-of-the-responder", "news", "x")
        t.ok(False, "channels-publish-python: a refused key raises HTTPError 403")
    except urllib.error.HTTPError as e:
        why = e.read().decode()
        t.ok(e.code == 403 and why.count("\n") <= 1 and "key" in why,
             "channels-publish-python: a refused key raises HTTPError 403, read() is "
             "the reason", why)


def check_resume(run, b):
    r = run.run(b.code)
    try:   # the publish's answer, then the stream
        j, end = json.JSONDecoder().raw_decode(r.out)
    except ValueError:
        j, end = None, 0
    stream = r.out[end:]
    t.ok(is_answer(j, "news", 0) and stream.startswith("retry: "),
         "channels-resume: the second publish answered, then the stream", r)
    ev = sse_events(stream)
    t.eq(ev, [(j and j["id"], None, ["two"])],
         "channels-resume: a reconnect with the first message's id gets the second, once, "
         "and no reset")
    published.append(("news", None, None, ["one"]))
    if j:
        published.append(("news", j["id"], None, ["two"]))


def check_reset(run, b):
    r = run.run(b.code)
    ev = sse_events(r.out)
    news = [(i, e, d) for c, i, e, d in published if c == "news"]
    replay = ev[1:]
    t.ok(len(ev) >= 2 and ev[0][:2] == (None, "reset") and ev[0][2] == [ev[1][0]],
         "channels-reset: the stream starts with event: reset, its data the oldest id kept",
         r)
    t.ok(len(replay) == len(news) and all(
        (i is None or i == ri) and e == re_ and d == rd
        for (i, e, d), (ri, re_, rd) in zip(news, replay)),
        "channels-reset: then every message of news the examples published (%d), in order"
        % len(news), "got:  %r\nwant: %r" % (replay, news))
    ids = [tuple(map(int, i.split("-"))) for i, _, _ in replay if i and ID.match(i)]
    t.ok(len(ids) == len(replay) and ids == sorted(set(ids)),
         "channels-reset: their ids strictly increasing", replay)


def tamper(query):
    """The query with the signature's first character changed (its last one holds two
    bits that decoding drops)."""
    i = query.index("sig=") + 4
    return query[:i] + ("A" if query[i] != "A" else "B") + query[i + 1:]


def check_sign_query(run, name, query):
    ok = run.run('curl -N "$site/events?%s"' % query)
    bad = run.run('curl -s -w "\\n%%{http_code}" "$site/events?%s"' % tamper(query))
    t.ok(re.search(r"(^|&)expires=\d+&sig=[A-Za-z0-9_-]{43}$", query)
         and "channel=private%3Aalice" in query,
         "%s: a query of the channels, expires= and a 43-byte sig=" % name, query)
    t.ok(ok.rc == 28 and ok.out.startswith("retry: 3000"),
         "%s: the signed query opens the stream" % name, ok)
    t.ok(bad.out.endswith("\n403") and bad.out.count("\n") == 2,
         "%s: the same query with the signature changed gets a one-line 403" % name, bad)


def check_sign(run, b):
    r = run.run(b.code)
    stream, _, last = r.out.rstrip("\n").rpartition("\n")
    t.ok(stream.startswith("retry: 3000"),
         "channels-sign: fcgi-sse sign's query opens the stream of private:alice and news", r)
    t.eq(last, "a private channel needs a signed URL: expires= and sig=",
         "channels-sign: without a signature, the private channel's one-line 403")


def check_sign_php(run, b):
    if not shutil.which("php"):
        return t.skip("channels-sign-php", "php is not installed (deploy/install-deps.sh test)")
    r = php_run(run, b.code, "echo fcgi_sse_query(getenv('subkey'), "
                "['private:alice', 'news'], 600);")
    t.ok(r.rc == 0, "channels-sign-php: fcgi_sse_query runs", r)
    check_sign_query(run, "channels-sign-php", r.out.strip())


def check_sign_python(run, b):
    ns = {}
    exec(run.text(b.code), ns)
    q = ns["fcgi_sse_query"](run.env["subkey"].encode(), ["private:alice", "news"], 600)
    check_sign_query(run, "channels-sign-python", q)


def check_channels_control(run, b):
    """channels-control: a subscriber, a publish, the figures, a purge, a delete with
    `fcgi-sse channel`: each answer as docs/channels.md says, and the subscriber's stream
    ends with event: deleted."""
    sub, res = subscribe_then(run, b, "channels-control")
    if not sub or len(res) != 4:
        return t.ok(False, "channels-control: a publish, the figures, a purge, a delete",
                    b.code)
    pub, fig, purged, deleted = (answer(r.out) for r in res)
    t.ok(is_answer(pub, "scores", 1), "channels-control: the publish reaches 1 subscriber",
         res[0])
    mid = pub and pub["id"]
    if pub:
        published.append(("scores", mid, None, ["2-1"]))
    t.ok(fig is not None and fig.get("channel") == "scores" and fig.get("subscribers") == 1
         and fig.get("subscribers_scope") == "all" and fig.get("messages") == 1
         and fig.get("bytes", 0) > 0 and fig.get("oldest") == mid and fig.get("newest") == mid
         and fig.get("dropped") is None,
         "channels-control: GET .../channels/scores: 1 subscriber, 1 message, its bytes, "
         "oldest and newest its id, nothing dropped", res[1])
    t.ok(purged is not None and purged.get("purged") is True and purged.get("messages") == 1
         and purged.get("subscribers") == 1,
         "channels-control: DELETE .../channels/scores/history: purged, what it held", res[2])
    t.ok(res[3].rc == 0 and deleted is not None and deleted.get("deleted") is True
         and deleted.get("messages") == 0 and deleted.get("subscribers") == 1,
         "channels-control: fcgi-sse channel --delete: deleted, its 1 subscriber, no message "
         "(purged before), exit status 0", res[3])
    ended = wait_for(lambda: sub.poll() is not None, 10)
    t.ok(ended and sse_events(run.output(sub)) == [(mid, None, ["2-1"]),
                                                   (None, "deleted", ["scores"])],
         "channels-control: the subscriber got the message, then event: deleted with the "
         "channel, and its stream (curl) ended", run.output(sub))


DEMO_RUN = os.path.join(SRCDIR, "deploy", "lighttpd", "demo-run.sh")
demo_lines = {}


def demo_output(method):
    """What demo-run.sh prints, run here with the environment a GET or POST gives it."""
    if method not in demo_lines:
        p = subprocess.run([DEMO_RUN], capture_output=True, text=True, timeout=30,
                           env={"PATH": os.environ["PATH"], "RUN_NAME": "demo",
                                "REQUEST_METHOD": method, "REMOTE_ADDR": "127.0.0.1"})
        demo_lines[method] = p.stdout.splitlines() if p.returncode == 0 else ["?"]
    return demo_lines[method]


def check_program_output(name, r, method):
    ev = sse_events(r.out)
    data = [d for i, e, d in ev if e is None]
    t.ok(r.rc == 0 and data == [[x] for x in demo_output(method)]
         and [i for i, e, d in ev] == [str(k) for k in range(len(ev))]
         and len(ev) == len(data) + 1 and ev[-1][1:] == ("exit", ["0"]),
         "%s: each line demo-run.sh prints an event, ids from 0, then event: exit, data: 0 "
         "(%s)" % (name, method), r)


def check_readme_program(run, b):
    cmds = b.commands()
    t.ok(len(cmds) == 1, "readme-program: one command", b.code)
    check_program_output("readme-program", run.run(cmds[0], cut=20), "GET")


def check_programs_run(run, b):
    cmds = b.commands()
    if t.ok(len(cmds) == 2, "programs-run: two commands", b.code):
        check_program_output("programs-run", run.run(cmds[0], cut=20), "GET")
        check_program_output("programs-run", run.run(cmds[1], cut=20), "POST")


def check_openai_model(run, b, path):
    r = run.run(None, argv=[path], cut=20, stdin=json.dumps(
        {"model": "x", "messages": [{"role": "user", "content": "hello there"}]}).encode())
    t.ok(r.rc == 0 and r.out == "hello there ",
         "openai-model: the program answers with the words of the last message", r)


def check_openai_curl(run, b):
    r = run.run(b.code, cut=20)
    stream, sep, whole = r.out.partition("data: [DONE]\n\n")
    chunks = [json.loads(d[0]) for i, e, d in sse_events(stream)]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    t.ok(sep and chunks and chunks[0]["choices"][0]["delta"].get("role") == "assistant"
         and all(c.get("object") == "chat.completion.chunk" and c.get("model") == "echo"
                 for c in chunks)
         and chunks[-1]["choices"][0].get("finish_reason") == "stop" and text == "hello there ",
         "openai-curl: stream: chat.completion.chunk events, the role first, the words, "
         "finish_reason stop, data: [DONE]", r)
    j = answer(whole) or {}
    t.ok(j.get("object") == "chat.completion" and j.get("model") == "echo"
         and j["choices"][0]["message"]["content"] == "hello there ",
         "openai-curl: without stream, one chat.completion with the whole text", whole)


# ---------------------------------------------------------------- Mercure

UUID_ID = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$")
BOOK1 = "https://example.com/books/1"
SYMFONY = "/usr/share/php/Symfony/Component/Mercure/autoload.php"
# What the hub was given on https://example.com/books/1, public, in order: (id, data lines).
mercure_book1 = []


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def legacy_publisher_token(secret):
    """{"mercure":{"publish":["*"]}}, HS256, made here (as demo.sh makes it)."""
    head = b64url(b'{"typ":"JWT","alg":"HS256"}')
    claims = b64url(b'{"mercure":{"publish":["*"]}}')
    sig = hmac.new(secret.encode(), ("%s.%s" % (head, claims)).encode(), hashlib.sha256)
    return "%s.%s.%s" % (head, claims, b64url(sig.digest()))


def check_mercure_publish(run, b, name):
    """readme-mercure, mercure-publish: a subscriber, then a publish with $token."""
    sub, res = subscribe_then(run, b, name)
    if not sub or len(res) != 1:
        return t.ok(False, "%s: one publish" % name, b.code)
    r = res[0]
    t.ok(r.rc == 0 and UUID_ID.match(r.out), "%s: the publisher gets the update's id "
         "(urn:uuid:, UUID v7)" % name, r)
    want = [(r.out, None, ['{"status": "sold"}'])]
    wait_for(lambda: sse_events(run.output(sub)), 10)
    t.eq(sse_events(run.output(sub)), want, "%s: the subscriber gets the update, with that id"
         % name)
    mercure_book1.append((r.out, ['{"status": "sold"}']))


def check_mercure_token(run, b):
    r = run.run(b.code + '\nprintf %s "$token"\n')
    t.eq(r.out, legacy_publisher_token(run.env["secret"]),
         "mercure-token: openssl makes the HS256 token (the one demo.sh prints, that the "
         "publishes here use)")


def check_mercure_access_token(run, b):
    ns = {"secret": run.env["secret"]}
    try:
        exec(run.text(b.code), ns)
    except Exception as e:  # noqa: BLE001 -- reported as the check's failure
        return t.ok(False, "mercure-access-token: the example runs", repr(e))
    q = '"$site/.well-known/mercure?match_urlpattern=https://example.com/books/:id"'
    who = run.start('curl -N -H "Authorization: Bearer %s" %s &' % (ns["books"], q))
    anon = run.start("curl -N %s &" % q)
    t.ok(wait_for(lambda: run.output(who).startswith("retry: ")
                  and run.output(anon).startswith("retry: "), 10),
         "mercure-access-token: a subscriber with the token, and one without, are subscribed",
         (run.output(who), run.output(anon)))
    pub = 'curl -s -H "Authorization: Bearer $token" -d topic=https://example.com/books/%d %s ' \
          '"$site/.well-known/mercure"'
    private = run.run(pub % (2, "-d private=on -d data=in-stock"))
    public = run.run(pub % (3, "-d data=marker"))
    t.ok(UUID_ID.match(private.out) and UUID_ID.match(public.out),
         "mercure-access-token: a private update, then a public one, published",
         (private, public))
    wait_for(lambda: len(sse_events(run.output(who))) >= 2
             and len(sse_events(run.output(anon))) >= 1, 10)
    t.eq(sse_events(run.output(who)), [(private.out, None, ["in-stock"]),
                                        (public.out, None, ["marker"])],
         "mercure-access-token: its subscriber gets the private update and the public one")
    t.eq(sse_events(run.output(anon)), [(public.out, None, ["marker"])],
         "mercure-access-token: a subscriber without a token gets the public one only")


def check_mercure_symfony(run, b):
    if not shutil.which("php") or not os.path.exists(SYMFONY):
        return t.skip("mercure-symfony", "php-cli or php-symfony-mercure is not installed "
                      "(deploy/install-deps.sh test)")
    sub = run.start("curl -N \"$site/.well-known/mercure?topic=%s\" &" % BOOK1)
    t.ok(wait_for(lambda: run.output(sub).startswith("retry: "), 10),
         "mercure-symfony: a subscriber to %s" % BOOK1, run.output(sub))
    r = php_run(run, b.code, "echo $id;")
    t.ok(r.rc == 0 and UUID_ID.match(r.out),
         "mercure-symfony: Symfony's Hub publishes with the token made by hash_hmac, and "
         "returns the hub's id", r)
    wait_for(lambda: sse_events(run.output(sub)), 10)
    t.eq(sse_events(run.output(sub)), [(r.out, None, ['{"status":"sold"}'])],
         "mercure-symfony: the subscriber gets Symfony's update, with that id")
    mercure_book1.append((r.out, ['{"status":"sold"}']))


def check_mercure_resume(run, b):
    cmds = b.commands()
    r = run.run(cmds[0], cut=3) if len(cmds) == 1 else None
    if not t.ok(r is not None and r.rc == 28, "mercure-resume: one stream, cut", r or b.code):
        return
    head = r.out.replace("\r\n", "\n").split("\n\n", 1)[0]
    t.ok(re.search(r"^Mercure-Last-Event-ID: earliest$", head, re.M | re.I)
         and re.search(r"^Last-Event-ID: earliest$", head, re.M | re.I),
         "mercure-resume: the headers say earliest (Mercure-Last-Event-ID, Last-Event-ID)",
         head)
    t.eq([(i, d) for i, _, d in sse_events(r.out)], mercure_book1,
         "mercure-resume: every update of %s published by the examples, in order, once" % BOOK1)


def check_mercure_refusal(run, b):
    cmds = b.commands()
    r = run.run(cmds[0]) if len(cmds) == 1 else None
    if not t.ok(r is not None and r.rc == 0, "mercure-refusal: one command", r or b.code):
        return
    head, _, body = r.out.replace("\r\n", "\n").partition("\n\n")
    t.ok(head.startswith("HTTP/1.1 401 ")
         and re.search(r"^WWW-Authenticate: Bearer$", head, re.M | re.I)
         and body == "a token is needed to publish: Authorization: Bearer, or the cookie\n",
         "mercure-refusal: 401, WWW-Authenticate: Bearer, and the line the page quotes", r)


def check_operations_metrics(run, b):
    """operations-metrics: the open streams by kind; promtool finds nothing to say."""
    cmds = b.commands()
    if not t.ok(len(cmds) == 2, "operations-metrics: two commands", b.code):
        return
    r = run.run(cmds[0])
    kinds = re.findall(r'^fcgi_sse_streams_open\{kind="([a-z]+)"\} \d+$', r.out, re.M)
    t.ok(r.rc == 0 and kinds == ["counter", "channel", "program", "mercure", "status"] and
         len(r.out.strip().split("\n")) == 5,
         "operations-metrics: %s: one line per kind of stream" % cmds[0], r)
    if not shutil.which("promtool"):
        t.skip("operations-metrics: promtool", "promtool is not installed (apt-get install "
               "prometheus)")
        return
    r = run.run(cmds[1])
    t.ok(r.rc == 0, "operations-metrics: %s: exit 0" % cmds[1], r)


# NAME: (setup, check). In this order: the reset replay counts what the publishes before
# it published.
CHECKS = [
    ("readme-stream", "demo", check_counter),
    ("protocol-stream", "demo", check_counter),
    ("readme-channels", "demo", check_readme_channels),
    ("channels-publish", "demo", check_channels_publish),
    ("channels-publish-command", "demo", check_publish_command),
    ("channels-publish-php", "demo", check_publish_php),
    ("channels-publish-python", "demo", check_publish_python),
    ("channels-resume", "demo", check_resume),
    ("channels-reset", "demo", check_reset),
    ("channels-sign", "demo", check_sign),
    ("channels-sign-php", "demo", check_sign_php),
    ("channels-sign-python", "demo", check_sign_python),
    ("channels-control", "demo", check_channels_control),
    ("readme-program", "demo", check_readme_program),
    ("programs-run", "demo", check_programs_run),
    ("openai-model", "demo", None),        # run with the program's path, below
    ("openai-curl", "demo", check_openai_curl),
    ("readme-mercure", "demo", lambda run, b: check_mercure_publish(run, b, "readme-mercure")),
    ("mercure-publish", "demo", lambda run, b: check_mercure_publish(run, b, "mercure-publish")),
    ("mercure-token", "demo", check_mercure_token),
    ("mercure-access-token", "demo", check_mercure_access_token),
    ("mercure-symfony", "demo", check_mercure_symfony),
    ("mercure-resume", "demo", check_mercure_resume),     # after every publish to books/1
    ("mercure-refusal", "demo", check_mercure_refusal),
    ("operations-metrics", "demo", check_operations_metrics),
    ("redis-cli-publish", "redis", None),  # below, with the subscriber of docs/redis.md
    ("redis-python-publish", "redis", None),
    ("redis-keys", "redis", None),
]
known = [n for n, _, _ in CHECKS]
t.eq(sorted(set(EXAMPLES) - set(known)), [], "every example has a check in this test")
t.eq(sorted(set(known) - set(EXAMPLES)), [], "every check of this test has its example")
t.eq(sorted(n for n, bs in EXAMPLES.items() if len(bs) > 1), [],
     "each example's name is used once")

if not shutil.which("curl"):
    t.skip("the examples", "curl is not installed")
    t.done()


def example(name):
    return EXAMPLES.get(name, [None])[0]


def keyfile(path, key):
    with open(path, "w") as f:
        f.write("# a key file of the examples\n%s\n" % key)
    os.chmod(path, 0o600)
    return path


def check_redis(wd):
    for tool in ("redis-server", "redis-cli"):
        if not shutil.which(tool):
            return t.skip("docs/redis.md's examples", "%s is not installed" % tool)
    rport = free_port()
    start_redis(wd, tcp_port=rport)
    kf = keyfile(wd.file("publish.keys"), "redis-example-key-0123456789")
    _, sock = start_spawned_responder(wd, ["-i", "300", "-k", "1", "--redis",
                                           "redis://127.0.0.1:%d" % rport,
                                           "--publish-key-file", kf])
    _, port = start_lighttpd(wd, sock)
    run = Runner(wd, {"site": "http://127.0.0.1:%d" % port}, port, rport)
    try:
        sub = run.start('curl -N "$site/events?channel=news" &')
        t.ok(wait_for(lambda: run.output(sub).startswith("retry: "), 15),
             "redis: a subscriber to news through lighttpd and the --redis responder",
             run.output(sub))
        ids = []
        b = example("redis-cli-publish")
        if b:
            cmds = b.commands()
            r = run.run(cmds[0]) if len(cmds) == 1 else None
            t.ok(r and r.rc == 0 and ID.match(r.out.strip()),
                 "redis-cli-publish: FCALL fcgi_sse_publish prints the id", r or b.code)
            ids.append(r.out.strip() if r else None)
        b = example("redis-python-publish")
        if b and subprocess.run([PY_SYSTEM, "-c", "import redis"],
                                capture_output=True).returncode != 0:
            t.skip("redis-python-publish", "python3-redis is not installed")
        elif b:
            r = run.run(b.code + "\nprint(msg_id)\n", argv=[PY_SYSTEM, "-c"])
            t.ok(r.rc == 0 and ID.match(r.out.strip()),
                 "redis-python-publish: r.fcall returns the id", r)
            ids.append(r.out.strip())
        want = [(i, None, ["order 17 shipped"]) for i in ids]
        wait_for(lambda: len(sse_events(run.output(sub))) >= len(want), 10)
        t.eq(sse_events(run.output(sub)), want,
             "redis: the subscriber gets each message published with FCALL, with its id")
        keys = [tuple(map(int, i.split("-"))) for i in ids if i and ID.match(i)]
        t.ok(len(keys) == len(ids) and keys == sorted(set(keys)),
             "redis: ids strictly increasing across publishers", ids)
        b = example("redis-keys")
        if b:
            cmds = b.commands()
            if t.ok(len(cmds) == 2, "redis-keys: two commands", b.code):
                xr, last = run.run(cmds[0]), run.run(cmds[1])
                lines = xr.out.split("\n")
                t.ok(xr.rc == 0 and [x for x in lines if ID.match(x)] == ids
                     and lines.count("order 17 shipped") == len(ids) and "type" in lines
                     and "data" in lines,
                     "redis-keys: XRANGE shows the channel's entries: each id, its type and "
                     "data", xr)
                t.ok(last.rc == 0 and ids and last.out.strip() == ids[-1],
                     "redis-keys: fcgi-sse:last is the last id issued", last)
        st = answer(run.run('curl -s "$site/status"').out) or {}
        _, redis_fields = status_fields()
        t.ok(set(st.get("redis") or {}) == redis_fields and st["redis"]["connected"] is True,
             "redis: /status's redis object has exactly the fields docs/protocol.md lists",
             "answered: %s\nlisted: %s" % (sorted(st.get("redis") or {}), sorted(redis_fields)))
    finally:
        run.stop()


wd = Workdir("readme")
wd_redis = Workdir("readme-redis")
run = None
try:
    key = "demo-publish-key-0123456789abcdef"
    subkey = "demo-subscribe-key-0123456789abcdef"
    kf = keyfile(wd.file("publish.keys"), key)
    skf = keyfile(wd.file("subscribe.keys"), subkey)
    args = ["-i", "300", "-k", "1", "--publish-key-file", kf, "--subscribe-key-file", skf,
            "--run", "demo=" + os.path.join(SRCDIR, "deploy", "lighttpd", "demo-run.sh")]
    model = None
    if example("openai-model"):
        model = wd.file("echo-model")
        with open(model, "w") as f:
            f.write(example("openai-model").code)
        os.chmod(model, 0o755)
        args += ["--openai", model]
    # The Mercure hub as demo.sh makes it: its secret, its own URL and origin.
    port = free_port()
    secret = b64url(os.urandom(32))
    mkf = wd.file("mercure.key")
    with open(mkf, "w") as f:
        f.write(secret + "\n")
    os.chmod(mkf, 0o600)
    hub = "http://127.0.0.1:%d/.well-known/mercure" % port
    args += ["--mercure", "--mercure-anonymous", "--mercure-publisher-key-file", mkf,
             "--mercure-subscriber-key-file", mkf, "--mercure-audience", hub,
             "--mercure-issuer", "http://127.0.0.1:%d" % port]
    resp, sock = start_spawned_responder(wd, args)
    httpd, port = start_lighttpd(wd, sock, port=port)
    run = Runner(wd, {"site": "http://127.0.0.1:%d" % port, "key": key, "sock": sock,
                      "keyfile": kf, "subkeys": skf, "subkey": subkey,
                      "secret": secret, "token": legacy_publisher_token(secret),
                      "MERCURE_URL": hub, "MERCURE_JWT_SECRET": secret}, port)
    for name, setup, check in CHECKS:
        b = example(name)
        if setup != "demo" or b is None:
            continue
        if name == "openai-model":
            check_openai_model(run, b, model)
            continue
        try:
            check(run, b)
        finally:
            run.stop()
    check_redis(wd_redis)
finally:
    if run:
        run.stop()
    wd.cleanup()
    wd_redis.cleanup()
t.done()
