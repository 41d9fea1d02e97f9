"""test_layers.py -- src/ keeps its layer rule (tests/layers.py, docs/architecture.md), and the
check fails on each kind of violation planted in a copy of src/: an include that goes up, two
folders of one layer including each other, an internal header used outside its folder, and a
project header included without its folder. Each planted failure's report is in the log.
"""

import os
import shutil
import subprocess
import sys

from harness import SRCDIR, Tap, Workdir  # noqa: E402

t = Tap()
CHECK = os.path.join(SRCDIR, "tests", "layers.py")
SRC = os.path.join(SRCDIR, "src")


def run(src):
    p = subprocess.run([sys.executable, CHECK, src], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace")


rc, out = run(SRC)
t.ok(rc == 0, "src/ keeps the layer rule", out)
t.diag(out)

wd = Workdir("layers")
PLANTS = [
    # (file to change, include to add, what the report must say)
    ("core/text.c", "server/dispatch.h", "goes up, from core/ (layer 0) to server/ (layer 6)"),
    ("http/sse.c", "fcgi/frame.h", "http/ and fcgi/ are on one layer (1)"),
    ("server/cgi.c", "redis/redis_int.h", "an internal header of redis/"),
    ("channels/chan.c", "text.h", 'is included as "folder/file.h"'),
]
try:
    for i, (target, inc, says) in enumerate(PLANTS):
        copy = wd.file("src%d" % i)
        shutil.copytree(SRC, copy)
        with open(os.path.join(copy, target), "a") as f:
            f.write('#include "%s"\n' % inc)
        rc, out = run(copy)
        t.ok(rc == 1 and says in out and target in out,
             'a planted #include "%s" in %s fails the check: "%s"' % (inc, target, says), out)
        t.diag("planted in %s:\n%s" % (target, out))
finally:
    wd.cleanup()
t.done()
