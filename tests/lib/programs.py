"""programs.py -- support for the tests of --run and --openai: test programs written into the
work directory, and what /proc says about a responder's children. (The web servers run their
shipped configs as shipped: each routes .../run/NAME and .../chat/completions itself.)

Limits: Python 3.11 standard library only; Linux (/proc).
"""

import os
import stat
import subprocess
import time


def curl_n(url, timeout=15):
    """`curl -N URL`, as a person would watch a stream: [(arrival time, line)] of what it
    printed, each line stamped (time.monotonic()) when curl wrote it."""
    p = subprocess.Popen(["curl", "-N", "-s", "--max-time", str(timeout), url],
                         stdout=subprocess.PIPE)
    out = []
    for line in p.stdout:
        out.append((time.monotonic(), line.decode("utf-8", "replace").rstrip("\r\n")))
    p.wait()
    return out


def paced_ok(gaps, pace):
    """The lines of a program that prints one every `pace` seconds arrived as printed, judged
    by order with the program's pace as the unit: none sooner than half a pace after the one
    before (lines held back and sent together come in one read), and each before the one
    after it would be printed (a gap under two paces)."""
    return bool(gaps) and all(pace / 2 <= g < 2 * pace for g in gaps)


def curl_ok(lines, want, status, pace=0.2):
    """True when curl's lines hold the data lines want, arrived as printed every pace
    seconds (paced_ok: unbuffered), then `event: exit` with data status."""
    data = [(t, x[6:]) for t, x in lines if x.startswith("data: ")]
    g = [b[0] - a[0] for a, b in zip(data, data[1:len(want)])]
    return ([d for _, d in data] == want + [status] and
            ("", "event: exit") in [("", x) for _, x in lines] and
            len(g) == len(want) - 1 and paced_ok(g, pace))


def script(wd, name, text):
    """Writes an executable script into wd; returns its absolute path."""
    path = wd.file(name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, stat.S_IRWXU)
    return path


def _stat(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[2])   # state, ppid, pgrp


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def children(pid):
    """The pids whose parent is pid (zombies included)."""
    out = []
    for p in all_pids():
        st = _stat(p)
        if st and st[1] == pid:
            out.append(p)
    return out


def zombies_of(pid):
    return [p for p in children(pid) if (_stat(p) or ("?",))[0] == "Z"]


def with_marker(marker):
    """Pids of processes whose command line holds marker (the test programs carry
    their work directory's path in their argv[0])."""
    out = []
    m = marker.encode()
    for p in all_pids():
        try:
            with open("/proc/%d/cmdline" % p, "rb") as f:
                if m in f.read():
                    out.append(p)
        except OSError:
            pass
    return out


def running(path):
    """Pids of processes with path as a whole argument (a script the kernel runs as
    `/bin/sh PATH`), not merely inside one (the responder's `--run NAME=PATH`)."""
    out = []
    want = path.encode()
    for p in all_pids():
        try:
            with open("/proc/%d/cmdline" % p, "rb") as f:
                if want in f.read().split(b"\0"):
                    out.append(p)
        except OSError:
            pass
    return out


def fds(pid):
    try:
        return sorted(os.listdir("/proc/%d/fd" % pid), key=int)
    except OSError:
        return []


def fd_targets(pid):
    out = []
    for fd in fds(pid):
        try:
            out.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            pass
    return out
