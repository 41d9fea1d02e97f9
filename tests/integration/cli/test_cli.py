"""test_cli.py -- the commands `fcgi-sse sign` and `fcgi-sse publish`, run as a user would.

sign is checked against Python's own HMAC-SHA256 of "EXPIRES\\nA\\nB" (names sorted);
publish against the real responder on a unix socket (--publish-key-file). Every
command runs with a deadline; key files live in a fresh temporary directory.
"""

import json
import os
import re
import time

from harness import BINARY, Tap, Workdir, run_binary, start_responder, wait_for  # noqa: E402
from client import sign  # noqa: E402

FIRST = "first-key-0123456789"     # the first key of the key file: the one that signs
t = Tap()
wd = Workdir("cmd")


def run(args, stdin=b"", timeout=20):
    """Runs fcgi-sse ARGS (harness.run_binary: under ASan its stderr is scanned for
    sanitizer reports); returns (exit status, stdout, stderr) as text. Each caller checks
    the exit status."""
    p = run_binary(args, input=stdin, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def keyfile(name, text, mode=0o600):
    path = wd.file(name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def one_line(err):
    return err.endswith("\n") and err.count("\n") == 1


def usage_error(args, name, stdin=b""):
    rc, out, err = run(args, stdin)
    t.ok(rc == 2 and out == "" and one_line(err), name + " (exit 2, one line)",
         "rc=%r out=%r err=%r" % (rc, out, err))


try:
    keys = keyfile("keys", "# rotation: the first key signs\n  %s\t\nsecond-key-0123456789\n" % FIRST)

    # ---------------------------------------------------------------- sign
    before = int(time.time())
    rc, out, err = run(["sign", "--key-file", keys, "--expires", "3600", "news", "alerts", "b.c:d-e_f"])
    after = int(time.time())
    m = re.fullmatch(r"channel=news&channel=alerts&channel=b\.c:d-e_f&expires=(\d+)&sig=([A-Za-z0-9_-]{43})\n",
                     out)
    t.ok(rc == 0 and err == "" and m, "sign: prints channel=..&channel=..&expires=T&sig=S, channels in order",
         "rc=%r out=%r err=%r" % (rc, out, err))
    exp = int(m.group(1)) if m else 0
    t.ok(before + 3600 <= exp <= after + 3600, "sign: expires is now + SECONDS", (before, exp, after))
    t.eq(m.group(2) if m else None, sign(FIRST, exp, ["news", "alerts", "b.c:d-e_f"]),
         "sign: sig is Python's HMAC-SHA256 (first key, names sorted), base64url unpadded")

    rc, out, err = run(["sign", "--expires=60", "--key-file=" + keys, "--", "Zeta", "alpha"])
    m = re.fullmatch(r"channel=Zeta&channel=alpha&expires=(\d+)&sig=([A-Za-z0-9_-]{43})\n", out)
    t.ok(rc == 0 and m and m.group(2) == sign(FIRST, int(m.group(1)), ["Zeta", "alpha"]),
         "sign: --opt=value and --; byte order sorts Zeta before alpha", "rc=%r out=%r err=%r" % (rc, out, err))

    rc, out, err = run(["sign", "--key-file", keys, "--expires", "60"] + ["c%d" % i for i in range(16)])
    t.ok(rc == 0 and out.count("channel=") == 16, "sign: 16 channels", err)
    rc, out, err = run(["sign", "--key-file", keys, "--expires", "60", "x" * 128])
    t.ok(rc == 0 and out.startswith("channel=" + "x" * 128 + "&"), "sign: a name of 128 bytes", err)

    world = keyfile("world", "world-readable-key-0123\n", 0o644)
    rc, out, err = run(["sign", "--key-file", world, "--expires", "60", "a"])
    t.ok(rc == 0 and out.startswith("channel=a&") and one_line(err) and "readable by others" in err,
         "sign: a world-readable key file works with a one-line warning", "rc=%r err=%r" % (rc, err))

    usage_error(["sign"], "sign: no arguments")
    usage_error(["sign", "--expires", "60", "a"], "sign: no --key-file")
    usage_error(["sign", "--key-file", keys, "a"], "sign: no --expires")
    usage_error(["sign", "--key-file", keys, "--expires", "60"], "sign: no channel")
    usage_error(["sign", "--key-file", keys, "--expires", "abc", "a"], "sign: --expires not a number")
    usage_error(["sign", "--key-file", keys, "--expires", "-5", "a"], "sign: --expires negative")
    usage_error(["sign", "--key-file", keys, "--expires", "0", "a"], "sign: --expires 0")
    usage_error(["sign", "--key-file", keys, "--expires", "99999999999999999999999", "a"],
                "sign: --expires too large")
    usage_error(["sign", "--key-file", keys, "--expires", "60", "a b"], "sign: a name with a space")
    usage_error(["sign", "--key-file", keys, "--expires", "60", "a&b"], "sign: a name with &")
    usage_error(["sign", "--key-file", keys, "--expires", "60", "x" * 129], "sign: a name of 129 bytes")
    usage_error(["sign", "--key-file", keys, "--expires", "60"] + ["c%d" % i for i in range(17)],
                "sign: 17 channels")
    usage_error(["sign", "--key-file", keys, "--expires", "60", "--bogus", "a"], "sign: an unknown option")
    usage_error(["sign", "--key-file", keys, "--expires"], "sign: --expires without a value")
    usage_error(["sign", "--key-file", keys, "--key-file", keys, "--expires", "60", "a"],
                "sign: --key-file twice")

    rc, out, err = run(["sign", "--key-file", wd.file("missing"), "--expires", "60", "a"])
    t.ok(rc == 1 and out == "" and one_line(err) and "missing" in err,
         "sign: a missing key file: exit 1, one line naming it", "rc=%r err=%r" % (rc, err))
    nokey = keyfile("nokey", "# nothing\n\n")
    rc, out, err = run(["sign", "--key-file", nokey, "--expires", "60", "a"])
    t.ok(rc == 1 and out == "" and one_line(err) and "no key" in err,
         "sign: a key file with no key: exit 1, one line", "rc=%r err=%r" % (rc, err))

    # ---------------------------------------------------------------- publish: usage
    usage_error(["publish", "news"], "publish: no --socket")
    usage_error(["publish", "--socket", "unix:" + wd.file("x.sock")], "publish: no channel")
    usage_error(["publish", "--socket", "unix:" + wd.file("x.sock"), "a", "b"], "publish: two channels")
    usage_error(["publish", "--socket", "unix:" + wd.file("x.sock"), "a b"], "publish: a bad channel name")
    usage_error(["publish", "--socket", "unix:" + wd.file("x.sock"), "a", "--event", "x y"],
                "publish: a bad --event")
    usage_error(["publish", "--socket", "unix:" + wd.file("x.sock"), "a", "--event", "e" * 65],
                "publish: an --event of 65 bytes")
    usage_error(["publish", "--socket", "nowhere", "a"], "publish: a --socket without a port")
    usage_error(["publish", "--socket", "127.0.0.1:99999", "a"], "publish: a port out of range")
    usage_error(["publish", "--socket", "unix:", "a"], "publish: unix: without a path")
    usage_error(["publish", "--socket", "unix:x", "--bogus", "a"], "publish: an unknown option")

    rc, out, err = run(["publish", "--socket", "unix:" + wd.file("none.sock"), "news"], b"hi")
    t.ok(rc == 1 and out == "" and one_line(err) and "connect" in err,
         "publish: nothing listening: exit 1, one line", "rc=%r err=%r" % (rc, err))
    rc, out, err = run(["publish", "--socket", "unix:" + wd.file("none.sock"), "news"],
                       b"a" * (1024 * 1024 + 1))
    t.ok(rc == 1 and out == "" and one_line(err) and "1 MiB" in err,
         "publish: a message over 1 MiB is refused before connecting", "rc=%r err=%r" % (rc, err))

    # ---------------------------------------------------------------- publish: the responder
    pubkeys = keyfile("pubkeys", "old-key-0123456789ab\npub-key-0123456789ab\n")
    try:
        resp, sock = start_responder(wd, ["--publish-key-file", pubkeys])
    except RuntimeError as e:
        resp, sock = None, None
        t.diag(str(e))
    t.ok(resp is not None, "publish: the responder starts with --publish-key-file")
    if resp is not None:
        rc, out, err = run(["publish", "--socket", "unix:" + sock, "--key-file", pubkeys, "news"], b"hello")
        try:
            j = json.loads(out)
        except ValueError:
            j = {}
        t.ok(rc == 0 and err == "" and out.endswith("\n"), "publish: exit 0, the JSON on stdout",
             "rc=%r out=%r err=%r" % (rc, out, err))
        t.eq(j.get("channel"), "news", "publish: \"channel\":\"news\"")
        t.ok(re.fullmatch(r"\d+-\d+", str(j.get("id", ""))) is not None, "publish: \"id\" is MS-SEQ", j)
        t.eq(j.get("subscribers"), 0, "publish: \"subscribers\":0")
        rc, out, err = run(["publish", "--socket", "unix:" + sock, "--key-file", pubkeys, "news",
                            "--event", "update"], b"second")
        try:
            j2 = json.loads(out)
        except ValueError:
            j2 = {}
        t.ok(rc == 0 and j2.get("channel") == "news" and
             tuple(map(int, str(j2.get("id", "0-0")).split("-"))) >
             tuple(map(int, str(j.get("id", "0-0")).split("-"))),
             "publish: --event; the next id is larger", "rc=%r out=%r err=%r" % (rc, out, err))
        rc, out, err = run(["publish", "--socket", "unix:" + sock, "news"], b"hello")
        t.ok(rc == 1 and out == "" and err.startswith("fcgi-sse publish: 403 "),
             "publish: without --key-file: exit 1 with the 403 reason on stderr",
             "rc=%r out=%r err=%r" % (rc, out, err))
        wrong = keyfile("wrong", "not-a-publish-key\n")
        rc, out, err = run(["publish", "--socket", "unix:" + sock, "--key-file", wrong, "news"], b"hello")
        t.ok(rc == 1 and out == "" and "403" in err, "publish: a wrong key: exit 1, 403",
             "rc=%r out=%r err=%r" % (rc, out, err))
        t.ok(resp.alive(), "publish: the responder is still running")

    # ---------------------------------------------------------------- key files
    # finding 8 of issue 18: a line of only a no-break space or a form feed was a key
    # (`Bearer` with that byte published), keys had no minimum length, and a key file
    # anyone may write (0602) or someone else owns started silently. The responder now
    # refuses each at start with one error line naming the option, the file and the
    # line; the commands, which only present a key, refuse bad keys and warn about the
    # file's permissions.
    def refused(name, text, want, opt="--publish-key-file", mode=0o600, owner=None):
        path = keyfile(name, text, mode)
        if owner is not None:
            os.chown(path, owner, owner)
        p = wd.start([BINARY, "-l", "unix:" + wd.file(name + ".sock"), opt, path], name)
        p.expect_status = 1           # refusing to start is the point
        code = p.wait(3)
        detail = p.log()[-400:]
        if code is None:              # it started: what the key file lets through
            r = run(["publish", "--socket", "unix:" + wd.file(name + ".sock"), "--key-file",
                     path, "news"], b"who?")
            detail = "still running after 3 s; fcgi-sse publish with its first key: %r" % (r,)
            p.stop(1)
        errors = [x for x in p.log().splitlines() if "error:" in x]
        t.ok(code == 1 and len(errors) == 1 and ("%s %s: %s" % (opt, path, want)) in errors[0],
             "finding 8: %s refuses to start: exit 1, one line: %s FILE: %s"
             % (name, opt, want), detail)

    good = "a-good-key-0123456789"
    refused("nbsp.keys", "# keys\n\u00a0\n%s\n" % good,
            "line 2: a key must be printable ASCII without spaces (byte 0xc2 at column 1)")
    refused("formfeed.keys", "\f\n", "line 1: a key must be printable ASCII without spaces "
            "(byte 0x0c at column 1)")
    refused("short.keys", "short-key\n", "line 1: a key must be at least 16 bytes (this one has 9)")
    refused("short-sub.keys", "# subscribers\nsub-key\n", "line 2: a key must be at least 16 "
            "bytes (this one has 7)", opt="--subscribe-key-file")
    refused("anyone.keys", good + "\n", "writable by its group or others, who could add a key",
            mode=0o602)
    refused("group-w.keys", good + "\n", "writable by its group or others", mode=0o620)
    if os.geteuid() == 0:
        refused("foreign.keys", good + "\n", "owned by uid 65534, neither root nor this "
                "process's user (uid 0)", owner=65534)
    else:
        t.skip("finding 8: a key file of another owner refuses to start", "needs root to chown")
    ro = keyfile("readable.keys", good + "\n", 0o644)
    p = wd.start([BINARY, "-l", "unix:" + wd.file("readable.sock"), "--publish-key-file", ro],
                 "readable")
    t.ok(wait_for(lambda: os.path.exists(wd.file("readable.sock")) or not p.alive(), 5) and
         p.alive() and "--publish-key-file %s: readable by others than its owner and group: "
         "chmod o-r it" % ro in p.log(),
         "a key file others may read: the responder starts, with a warning", p.log()[-400:])
    p.stop()

    # the commands: a bad key is refused, a file others may write is a warning
    rc, out, err = run(["sign", "--key-file", wd.file("nbsp.keys"), "--expires", "60", "a"])
    t.ok(rc == 1 and out == "" and one_line(err) and "line 2: a key must be printable ASCII" in err,
         "finding 8: sign: a no-break-space key: exit 1, one line", "rc=%r err=%r" % (rc, err))
    rc, out, err = run(["publish", "--socket", "unix:" + wd.file("none.sock"), "--key-file",
                        wd.file("short.keys"), "news"], b"x")
    t.ok(rc == 1 and out == "" and one_line(err) and "at least 16 bytes" in err,
         "finding 8: publish: a short key: exit 1, one line", "rc=%r err=%r" % (rc, err))
    rc, out, err = run(["sign", "--key-file", wd.file("anyone.keys"), "--expires", "60", "a"])
    t.ok(rc == 0 and out.startswith("channel=a&") and one_line(err) and
         "warning: --key-file %s: writable by its group or others" % wd.file("anyone.keys") in err,
         "finding 8: sign: a key file others may write: signs, with a one-line warning",
         "rc=%r err=%r" % (rc, err))
finally:
    wd.cleanup()
t.done()
