#!/usr/bin/python3
"""layers.py -- checks src/'s layer rule from the #include lines: no include goes up a layer,
no two folders include each other, and a folder's internal headers (*_int.h) stay in it.

Usage: tests/layers.py [SRC_DIR]   (default: the src/ beside tests/)
Prints one line per violation, "FILE:LINE: what is wrong", and exits 1 when there is any; else
prints the layers with their files and include counts and exits 0.

The rule (docs/architecture.md): LAYERS below lists src/'s folders from the bottom up. A file
in folder F may include its own folder's headers and those of folders on a lower rank; two
folders on the same rank know nothing of each other. Files directly in src/ (main.c) are the
top. Every project include is written "folder/file.h" and names a file that exists; the only
other quoted include is the build's "config.h".
"""

import os
import re
import sys

# (rank, folder): the bottom first. Folders on one rank are independent of each other.
LAYERS = [
    (0, "core"),      # the loop, timers, log, clock, text, lists: nothing of HTTP or FastCGI
    (1, "fcgi"),      # FastCGI: the record check, libfcgi's requests
    (1, "http"),      # what a request says and what answers it: SSE events, ids, auth, heads
    (1, "mercure"),   # Mercure's protocol, pure: tokens, grants, URL, URL Pattern, URI templates
    (2, "stream"),    # one long answer, the hub that writes them all, the slots
    (3, "channels"),  # channels, their history, expiry, publishing
    (4, "redis"),     # channels across responders through Redis
    (4, "sources"),   # what a stream carries: counter, subscription, program, openai
    (5, "mercurehub"),  # the Mercure hub: subscribers, publishes, active subscriptions
    (6, "server"),    # listening, intake, dispatch, CGI mode, the options
    (7, "cli"),       # the fcgi-sse sign / publish commands
]
TOP = 8               # src/ itself: main.c wires them all
RANK = {name: rank for rank, name in LAYERS}
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
GENERATED = {"redis/fcgi-sse-lua.h"}  # made by the build (Makefile.am) from redis/fcgi-sse.lua


def folder_of(rel):
    """The folder of a path relative to src/, or "" for src/ itself."""
    return rel.split("/", 1)[0] if "/" in rel else ""


def check(src):
    """Returns (violations, edges): violation lines, and {(from, to): count} of folder includes."""
    bad, edges = [], {}
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for fn in sorted(filenames):
            if not fn.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, fn)
            rel = os.path.relpath(path, src).replace(os.sep, "/")
            here = folder_of(rel)
            if here and here not in RANK:
                bad.append("%s:1: folder %s/ is in no layer (tests/layers.py LAYERS)" % (rel, here))
                continue
            if rel.count("/") > 1:
                bad.append("%s:1: a folder inside a layer folder; layers are one level deep" % rel)
            rank = RANK[here] if here else TOP
            with open(path, encoding="utf-8", errors="replace") as f:
                for no, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    inc = m.group(1)
                    where = "%s:%d:" % (rel, no)
                    if inc == "config.h":
                        continue
                    if "/" not in inc:
                        bad.append('%s "%s": a project header is included as "folder/file.h"'
                                   % (where, inc))
                        continue
                    there = folder_of(inc)
                    if there not in RANK:
                        bad.append('%s "%s": no layer folder %s/' % (where, inc, there))
                        continue
                    if inc not in GENERATED and not os.path.isfile(os.path.join(src, inc)):
                        bad.append('%s "%s": no such header' % (where, inc))
                        continue
                    if there == here:
                        continue
                    edges[(here or "src", there)] = edges.get((here or "src", there), 0) + 1
                    if inc.endswith("_int.h"):
                        bad.append('%s "%s": an internal header of %s/, included from outside it'
                                   % (where, inc, there))
                    elif RANK[there] > rank:
                        bad.append('%s "%s": goes up, from %s/ (layer %d) to %s/ (layer %d)'
                                   % (where, inc, here or "src", rank, there, RANK[there]))
                    elif RANK[there] == rank:
                        bad.append('%s "%s": %s/ and %s/ are on one layer (%d) and may not '
                                   'include each other' % (where, inc, here, there, rank))
    return bad, edges


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "src")
    bad, edges = check(src)
    for line in bad:
        print(line)
    if bad:
        print("layers: %d violation%s of the layer rule (docs/architecture.md)"
              % (len(bad), "" if len(bad) == 1 else "s"))
        return 1
    for rank, name in LAYERS:
        uses = sorted(t for (f, t) in edges if f == name)
        print("layer %d %-9s includes %s" % (rank, name + "/", ", ".join(uses) or "nothing"))
    print("layers: no include goes up, none across a layer, no internal header leaves its folder")
    return 0


if __name__ == "__main__":
    sys.exit(main())
