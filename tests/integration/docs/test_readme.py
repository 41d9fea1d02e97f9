"""test_readme.py -- the curl examples in README.md, run as written against the demo setup
(lighttpd with deploy/lighttpd/demo.conf, the responder under spawn-fcgi), with only the
port changed. Each example's comment says what it shows; the test checks exactly that.
And the man page's OPTIONS are exactly the options of `fcgi-sse --help` (one table drives
parsing and --help: src/server/options.c), with the same short letters.

Limits: examples that stream for ever get curl's --max-time; needs curl (skipped without).
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from harness import (SRCDIR, Tap, Workdir, run_binary, start_lighttpd,  # noqa: E402
                     start_spawned_responder)

t = Tap()


def man_options():
    """{long name: short letter or None} of the .TP entries of fcgi-sse.1's OPTIONS."""
    with open(os.path.join(SRCDIR, "fcgi-sse.1")) as f:
        text = f.read()
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
if not shutil.which("curl"):
    t.skip("README curl examples", "curl is not installed")
    t.done()

with open(os.path.join(SRCDIR, "README.md")) as f:
    examples = [line.split("#")[0].strip() for line in f
                if line.startswith("curl ") and "127.0.0.1:8080" in line]
t.ok(len(examples) >= 4, "README has its curl examples (%d)" % len(examples))

wd = Workdir("readme")
try:
    resp, sock = start_spawned_responder(wd, ["-i", "300"])
    httpd, port = start_lighttpd(wd, sock)

    def run(cmd):
        argv = shlex.split(cmd.replace("127.0.0.1:8080", "127.0.0.1:%d" % port))
        if "-N" in argv:
            argv[1:1] = ["--max-time", "1.5"]   # a stream never ends by itself
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return p.stdout

    def ids(out):
        return [int(x) for x in re.findall(r"^id: (\d+)$", out, re.M)]

    for cmd in examples:
        out = run(cmd)
        if "Last-Event-ID: 41" in cmd:
            t.ok(ids(out)[:1] == [42], "%s: resumes at 42" % cmd, out[:200])
        elif "limit=3" in cmd:
            t.ok(ids(out) == [0, 1, 2] and out.endswith("\n\n"),
                 "%s: three events, then the end" % cmd, out[:300])
        elif "/status" in cmd:
            st = json.loads(out)
            t.ok("streams_open" in st and "version" in st, "%s: counters" % cmd, out)
        elif "/stream" in cmd:
            t.ok(out.startswith("retry: 3000") and ids(out)[:3] == [0, 1, 2]
                 and "data: Count: [0]" in out, "%s: the stream, as it comes" % cmd, out[:200])
        else:
            t.ok(False, "%s: an example this test does not know" % cmd)
finally:
    wd.cleanup()
t.done()
