"""mutation.py -- `make mutation`: plants each bug of tests/mutations.txt in a copy of the
tree, one at a time, rebuilds, and runs the tests listed for it; every bug must be caught.

Usage: python3 tests/mutation.py [--srcdir DIR] [--all|--every] [--only TEXT] [--keep]
  --all        run the whole `make check` for each mutation, not only its listed tests
  --every      run every listed test, not only up to the first that fails: each listed
               test must catch the mutation (shows that the integration test catches
               it too, not only the unit test); one that does not is MISSED
  --only TEXT  only the mutations whose name contains TEXT
  --keep       keep the temporary copy (its path is printed)

The source tree itself is never modified: the copy is configured and built once, then
each mutation is written into the copy's file, built, tested, and the file restored.
Before any mutation the listed tests run once on the unmutated copy and must pass.
Prints one line per mutation, CAUGHT (by which test), SURVIVED, or ERROR (its old text
is not in the file exactly once, or it does not build), then
"mutation: N caught, N survived, N errors"; exits 1 unless every mutation was caught
(with --every, a listed test that misses one counts as an error).
Every command's output goes to mutation.log in the current directory.
Not run in CI (it takes minutes); run it after changing src/ or the tests.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def unescape(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s) and s[i + 1] in "nt\\":
            out.append({"n": "\n", "t": "\t", "\\": "\\"}[s[i + 1]])
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def load(path):
    """The mutations of the list file: [{name, file, old, new, tests}]."""
    muts, cur = [], {}
    with open(path) as f:
        lines = f.read().splitlines() + [""]
    for n, line in enumerate(lines, 1):
        if line.startswith("#"):
            continue
        if not line.strip():
            if cur:
                missing = {"name", "file", "old", "new", "tests"} - set(cur)
                if missing:
                    sys.exit("%s: the block ending at line %d lacks %s"
                             % (path, n, ", ".join(sorted(missing))))
                muts.append(cur)
                cur = {}
            continue
        key, sep, value = line.partition(":")
        if not sep or key not in ("name", "file", "old", "new", "tests"):
            sys.exit("%s:%d: expected name:, file:, old:, new: or tests:" % (path, n))
        value = value.strip()
        if key in ("old", "new"):
            value = unescape(value)
        cur[key] = value.split() if key == "tests" else value
    return muts


def sh(argv, cwd, log, env=None, timeout=1800):
    """Runs argv, its output appended to log; returns the exit status."""
    with open(log, "ab") as f:
        f.write(("\n$ %s\n" % " ".join(argv)).encode())
        f.flush()
        try:
            return subprocess.run(argv, cwd=cwd, stdout=f, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, env=env, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            f.write(b"\n(timed out)\n")
            return 124


def copy_tree(src, dst):
    skip = {".git", "node_modules", "autom4te.cache"}

    def ignore(d, names):
        # build directories (build/, build-asan/, build-fuzz/), not build-aux/
        return [n for n in names if n in skip or (d == src and n.startswith("build")
                                                   and n != "build-aux")]
    shutil.copytree(src, dst, ignore=ignore, symlinks=True)


def run_test(test, top, build, log, whole):
    """0 when the test passes, else its exit status."""
    if test.startswith("fuzz:"):
        # tests/fuzz/run.sh knows each harness's sources; it says which did not build
        name = test[5:]
        if not shutil.which("clang"):
            return None
        out = os.path.join(build, "fuzz-" + name)
        shutil.rmtree(os.path.join(out, "corpus", name), ignore_errors=True)
        before = os.path.getsize(log) if os.path.exists(log) else 0
        rc = sh(["bash", os.path.join(top, "tests", "fuzz", "run.sh"), "20", out, name],
                build, log)
        with open(log, "rb") as f:
            f.seek(before)
            said = f.read().decode("utf-8", "replace")
        if ("fuzz_%s: does not build" % name) in said:
            return None
        return rc
    argv = ["make", "-s", "check"] + ([] if whole else ["TESTS=" + test])
    return sh(argv, build, log)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--srcdir", default=os.path.dirname(HERE))
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--every", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    srcdir = os.path.abspath(a.srcdir)
    muts = [m for m in load(os.path.join(srcdir, "tests", "mutations.txt"))
            if a.only in m["name"]]
    # mkdtemp's 0700, as a user's clone may be: the tests hand what other users (web
    # servers' workers, a responder run as nobody) need to them in copies of their own
    tmp = tempfile.mkdtemp(prefix="fcgi-sse-mutation-")
    top = os.path.join(tmp, "tree")
    build = os.path.join(top, "build")
    log = os.path.abspath("mutation.log")   # in the directory it runs from: kept
    open(log, "w").close()
    print("mutation: %d mutations; copy in %s, log %s" % (len(muts), top, log), flush=True)
    caught = survived = errors = 0
    try:
        copy_tree(srcdir, top)
        os.makedirs(build)
        if not os.path.exists(os.path.join(top, "configure")) and \
                sh(["autoreconf", "-fi"], top, log) != 0:
            sys.exit("mutation: autoreconf failed (see %s)" % log)
        if sh([os.path.join(top, "configure"), "--quiet", "CFLAGS=-O1 -g"], build, log) != 0 \
                or sh(["make", "-s", "-j2"], build, log) != 0 \
                or sh(["make", "-s", "-j2", "check", "TESTS="], build, log) != 0:
            sys.exit("mutation: the unmutated copy does not build (see %s)" % log)
        # The baseline: every test named must pass before anything is planted.
        tests = sorted({x for m in muts for x in m["tests"]})
        bad = [x for x in tests if run_test(x, top, build, log, False) != 0]
        if bad:
            sys.exit("mutation: ERROR: fails without any mutation: %s (see %s)"
                     % (" ".join(bad), log))
        for m in muts:
            path = os.path.join(top, m["file"])
            with open(path) as f:
                orig = f.read()
            count = orig.count(m["old"])
            if count != 1:
                print("ERROR    %s: its old text occurs %d times in %s (update "
                      "tests/mutations.txt)" % (m["name"], count, m["file"]), flush=True)
                errors += 1
                continue
            t0 = time.monotonic()
            try:
                with open(path, "w") as f:
                    f.write(orig.replace(m["old"], m["new"]))
                if sh(["make", "-s", "-j2"], build, log) != 0 or \
                        sh(["make", "-s", "-j2", "check", "TESTS="], build, log) != 0:
                    print("ERROR    %s: does not build" % m["name"], flush=True)
                    errors += 1
                    continue
                by, missed = [], []
                for x in (["the whole suite"] if a.all else m["tests"]):
                    rc = run_test(x, top, build, log, a.all)
                    if rc is None:
                        print("ERROR    %s: %s could not run" % (m["name"], x), flush=True)
                        by = None
                        break
                    if rc != 0:
                        by.append(x)
                        if not a.every:
                            break
                    else:
                        missed.append(x)
                if by is None:
                    errors += 1
                    continue
                if a.every and missed:
                    print("MISSED   %s: not caught by %s" % (m["name"], " ".join(missed)),
                          flush=True)
                    errors += 1
                    continue
                by = " ".join(by)
                if by:
                    caught += 1
                    print("CAUGHT   %s (by %s, %.0f s)" % (m["name"], by,
                                                         time.monotonic() - t0), flush=True)
                else:
                    survived += 1
                    print("SURVIVED %s (ran %s)" % (m["name"], " ".join(m["tests"])),
                          flush=True)
            finally:
                with open(path, "w") as f:
                    f.write(orig)
    finally:
        if a.keep:
            print("mutation: kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("mutation: %d caught, %d survived, %d errors" % (caught, survived, errors))
    return 0 if caught == len(muts) else 1


if __name__ == "__main__":
    sys.exit(main())
