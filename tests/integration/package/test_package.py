"""test_package.py -- the Debian package, built and installed the way docs/deploy.md's "Install"
says, in a clean Debian 12 booted with systemd.

- build: a copy of this source tree (git's tracked and new files, or the tree without build
  products), `dpkg-buildpackage -us -uc -b` as docs/deploy.md writes it:
  fcgi-sse_VERSION_amd64.deb, with README.md and docs/ in /usr/share/doc/fcgi-sse;
  then lintian on it: no error, and every warning named in docs/deploy.md. Both outputs go to
  the test log. The .deb is cached in <builddir>/tests/cache/deb/<hash of the sources> and
  reused while the sources stay the same (the cached logs are shown again).
- a container from debian:12 (debootstrap, tests/lib/dock.py) with systemd as PID 1 and
  Debian's apache2 and lighttpd installed (lighttpd on port 8080, both on 80 otherwise);
  docs/deploy.md's own commands, as written, install the package (`apt install ../fcgi-sse_*.deb`,
  libfcgi from Debian's mirror) and enable it for Apache and for lighttpd;
- after the install: fcgi-sse.socket enabled and active, the socket 0660 root:www-data, the
  service not started; no web server routes to it yet (404);
- after enabling: the page and /fcgi-sse/stream through each server, streamed (events
  arrive before the response ends), a resume by Last-Event-ID; the service now runs as a
  dynamic user, started by the socket;
- apt-get remove: nothing of fcgi-sse runs, the socket is gone, both servers still run and
  no longer route to it; apt-get purge: no file named *fcgi-sse* anywhere on the
  container's disk, no unit or enablement state, the package unknown to dpkg.
The container cannot set up user namespaces for systemd (PrivateUsers=yes fails there with
"Failed to set up user namespacing"), so a drop-in (PrivateUsers=no) is added for the test
and removed before the purge; everything else in the unit runs as shipped.

Skipped (counted as skipped; CI refuses it) without a Docker engine or the Debian build
tools, in a tree without debian/ (a release tarball), and under FCGI_SSE_SANITIZED=1: it
builds its own binary, so it runs in the first pass only.
"""

import glob
import hashlib
import os
import re
import shutil
import subprocess
import time

from harness import SRCDIR, Tap, Workdir, wait_for  # noqa: E402
import dock  # noqa: E402

IMAGE = "fcgisse-test-debian12-systemd:1"
NAME = "fcgisse-test-package"
DROPIN = "/etc/systemd/system/fcgi-sse.service.d/test-container.conf"
DROP_ENV = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "TESTS", "abs_top_srcdir",
            "abs_top_builddir", "CFLAGS", "ASAN_OPTIONS", "UBSAN_OPTIONS", "FCGI_SSE_SANITIZED"}
IGNORE = shutil.ignore_patterns("build", "build-*", ".git", "node_modules", "autom4te.cache",
                                "config.status", "config.log", "config.h", "stamp-h1", "*.o",
                                "*.a", ".deps", ".dirstamp", "browser-node")

# The image: Debian 12 with systemd, and the web servers an operator already has.
DOCKERFILE = """FROM debian:12
RUN printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d \\
 && apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
        systemd systemd-sysv apache2 lighttpd curl procps \\
 && rm /usr/sbin/policy-rc.d \\
 && sed -i 's/^server.port .*/server.port = 8080/' /etc/lighttpd/lighttpd.conf
STOPSIGNAL SIGRTMIN+3
CMD ["/lib/systemd/systemd"]
"""

from harness import cleanup_on_signals  # noqa: E402
cleanup_on_signals()
t = Tap()
why = dock.skip_reason(("docker", "dockerd", "debootstrap", "dpkg-buildpackage", "lintian",
                        "dh"))
if why is None and os.environ.get("FCGI_SSE_PACKAGE_BUILD") == "1":
    why = "inside the package's own build"
if why is None and not os.path.isdir(os.path.join(SRCDIR, "debian")):
    why = "no debian/ in this tree (a release tarball)"
if why:
    t.skip("the Debian package, built, installed, enabled, purged", why)
    t.done()


def install_commands():
    """The package commands of docs/deploy.md's Install section, as written."""
    with open(os.path.join(SRCDIR, "docs", "deploy.md")) as f:
        text = f.read()
    sec = text[text.index("## Install"):]
    sec = sec[:sec.index("\n## ", 5)]
    lines = [x.strip() for x in re.findall(r"```sh\n(.*?)```", sec, re.S) for x in x.split("\n")]
    lines = [x for x in lines if x]

    def find(word):
        hits = [x for x in lines if word in x]
        return hits[0].split("  #")[0].strip() if hits else None
    return {"deps": find("apt-get install"), "build": find("dpkg-buildpackage"),
            "install": find("apt install"),
            "apache": find("a2enconf"), "lighttpd": find("lighty-enable-mod")}


def source_files():
    r = dock.run(["git", "-C", SRCDIR, "ls-files", "-z", "--cached", "--others",
                  "--exclude-standard"], timeout=60)
    if r.returncode == 0 and r.stdout:
        return sorted(x for x in r.stdout.split("\0") if x and os.path.isfile(
            os.path.join(SRCDIR, x)))
    return None


def copy_source(dest):
    files = source_files()
    if files is None:
        shutil.copytree(SRCDIR, dest, ignore=IGNORE, symlinks=True)
    else:
        for rel in files:
            os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
            shutil.copy2(os.path.join(SRCDIR, rel), os.path.join(dest, rel))
    h = hashlib.sha256()
    for root, dirs, names in sorted(os.walk(dest)):
        dirs.sort()
        for n in sorted(names):
            p = os.path.join(root, n)
            h.update(os.path.relpath(p, dest).encode() + b"\0")
            with open(p, "rb") as f:
                h.update(f.read())
    return h.hexdigest()[:16]


def show(title, text, limit=60):
    lines = text.rstrip("\n").splitlines()
    t.diag("%s (%d lines%s):" % (title, len(lines), ", the last %d" % limit
                                 if len(lines) > limit else ""))
    for line in lines[-limit:]:
        t.diag("  " + line)


def build_deb(cmd):
    """Returns (deb path, build log, lintian output, cached?)."""
    src = wd.file("src/fcgi-sse")
    key = copy_source(src)
    cache = os.path.join(dock.CACHE, "deb", key)
    debs = glob.glob(os.path.join(cache, "fcgi-sse_*_amd64.deb"))
    if debs and os.path.exists(os.path.join(cache, "lintian.txt")):
        with open(os.path.join(cache, "build.log")) as f:
            blog = f.read()
        with open(os.path.join(cache, "lintian.txt")) as f:
            lint = f.read()
        return debs[0], blog, lint, True, 0
    t0 = time.monotonic()
    # The build gets none of this `make check`'s environment: MAKEFLAGS would carry its
    # TESTS= into debian/rules' own `make check` (which would run this test again).
    env = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
    env["FCGI_SSE_PACKAGE_BUILD"] = "1"
    r = subprocess.run(cmd, shell=True, cwd=src, stdout=subprocess.PIPE, env=env,
                       stderr=subprocess.STDOUT, encoding="utf-8", errors="replace",
                       timeout=900)
    took = time.monotonic() - t0
    blog = "$ %s\n%s\nexit %d (%.1f s)\n" % (cmd, r.stdout, r.returncode, took)
    debs = glob.glob(wd.file("src/fcgi-sse_*_amd64.deb"))
    if r.returncode != 0 or len(debs) != 1:
        return None, blog, "", False, took
    lr = dock.run(["lintian", "--display-info", "--pedantic", debs[0]], timeout=600)
    lint = "$ lintian --display-info --pedantic %s\n%s%sexit %d\n" % (
        os.path.basename(debs[0]), lr.stdout, lr.stderr, lr.returncode)
    tmp = cache + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    shutil.copy(debs[0], tmp)
    for name, text in (("build.log", blog), ("lintian.txt", lint)):
        with open(os.path.join(tmp, name), "w") as f:
            f.write(text)
    # One package in the cache: the one of these sources.
    for old in glob.glob(os.path.join(dock.CACHE, "deb", "*")):
        if old != tmp:
            shutil.rmtree(old, ignore_errors=True)
    os.rename(tmp, cache)
    return os.path.join(cache, os.path.basename(debs[0])), blog, lint, False, took


def sh(script, timeout=120):
    """A shell command in the container (as root); returns (exit status, output)."""
    r = dock.run(["docker", "exec", NAME, "sh", "-c", script], timeout=timeout)
    return r.returncode, r.stdout + r.stderr


def ids(out):
    return [int(x) for x in re.findall(r"^id: (\d+)$", out, re.M)]


def check_server(name, base):
    code, out = sh("curl -s -o /dev/null -w '%%{http_code} %%{content_type}' %s/" % base)
    t.ok(out.startswith("200 text/html"), "%s: the page at %s/" % (name, base), out)
    # No ?limit: the stream never ends; what arrives within 2.5 s arrived while it was open.
    code, out = sh("curl -sN --max-time 2.5 %s/stream" % base)
    t.ok(out.startswith("retry: 3000") and ids(out)[:2] == [0, 1],
         "%s: %s/stream streams (retry:, then ids 0, 1 within 2.5 s of a response that "
         "never ends)" % (name, base), out[:300])
    code, out = sh("curl -s -H 'Last-Event-ID: 41' '%s/stream?limit=1'" % base)
    t.eq(ids(out), [42], "%s: resume: Last-Event-ID: 41 continues at 42" % name)


wd = Workdir("package")
engine = None
started = False
t_begin = time.monotonic()
try:
    cmds = install_commands()
    t.ok(all(cmds.values()), "docs/deploy.md's Install has the package commands: %s"
         % "; ".join("%s" % v for v in cmds.values()), cmds)
    if not all(cmds.values()):
        raise SystemExit

    # The build-dependencies docs/deploy.md installs are those debian/control names.
    with open(os.path.join(SRCDIR, "debian", "control")) as f:
        control = f.read()
    bd = re.search(r"^Build-Depends:(.*?)^\S", control, re.S | re.M).group(1)
    need = {re.sub(r"\s*\(.*", "", x).strip() for x in bd.split(",") if x.strip()}
    need = {"debhelper" if x == "debhelper-compat" else x for x in need}
    have = set(cmds["deps"].split()[2:])
    t.eq(sorted(need - have), [], "docs/deploy.md's `%s` has every Build-Depends of debian/control"
         % cmds["deps"])

    # ------------------------------------------------------------ build and lintian
    deb, blog, lint, cached, took = build_deb(cmds["build"])
    show("dpkg-buildpackage%s" % (" (cached: the sources are unchanged)" if cached else ""),
         blog, 25)
    t.ok(deb is not None and re.match(r"fcgi-sse_[0-9][^_]*_amd64\.deb$", os.path.basename(deb)),
         "%s builds %s%s" % (cmds["build"], deb and os.path.basename(deb),
                             " (cached)" if cached else " (%.1f s)" % took), blog[-2000:])
    if deb is None:
        raise SystemExit
    show("lintian", lint, 40)
    tags = re.findall(r"^([EWIPX]): fcgi-sse[^:]*: (\S+)", lint, re.M)
    errors = [tag for lvl, tag in tags if lvl == "E"]
    warnings = sorted({tag for lvl, tag in tags if lvl == "W"})
    t.eq(errors, [], "lintian: no error")
    # lintian exits 0 unless it found an error or could not run (a crash lists no tag).
    t.ok(lint.rstrip().endswith("\nexit 0"), "lintian ran and exited 0", lint[-300:])
    with open(os.path.join(SRCDIR, "docs", "deploy.md")) as f:
        readme = f.read()
    t.ok(all(w in readme for w in warnings),
         "lintian: every warning (%d) is listed in docs/deploy.md with why it stays"
         % len(warnings), [w for w in warnings if w not in readme])
    contents = dock.run(["dpkg-deb", "-c", deb], timeout=60).stdout
    files = sorted(line.split()[-1].lstrip(".") for line in contents.splitlines()
                   if not line.endswith("/"))
    want = ["/usr/bin/fcgi-sse", "/usr/share/man/man1/fcgi-sse.1.gz",
            "/usr/share/fcgi-sse/html/index.html", "/lib/systemd/system/fcgi-sse.socket",
            "/lib/systemd/system/fcgi-sse.service", "/etc/apache2/conf-available/fcgi-sse.conf",
            "/etc/lighttpd/conf-available/50-fcgi-sse.conf",
            "/usr/share/doc/fcgi-sse/examples/nginx/fcgi-sse.conf"]
    # README.md and every page of docs/, compressed or not as dh_compress decides.
    docs = ["/usr/share/doc/fcgi-sse/README.md"] + [
        "/usr/share/doc/fcgi-sse/docs/" + x
        for x in sorted(os.listdir(os.path.join(SRCDIR, "docs"))) if x.endswith(".md")]
    t.ok(all(w in files for w in want) and all(d in files or d + ".gz" in files for d in docs),
         "the package holds the binary, man page, page, both units, the Apache and lighttpd "
         "snippets, the nginx example, README.md and docs/ (%d pages)" % (len(docs) - 1),
         [d for d in want + docs if d not in files and d + ".gz" not in files] or files)

    # ------------------------------------------------------------ the container
    t0 = time.monotonic()
    try:
        engine = dock.Engine(wd)
    except RuntimeError as e:
        t.skip("the package in a clean Debian 12", "no Docker engine can start here: %s"
               % str(e).splitlines()[0])
        raise SystemExit
    dock.run(["docker", "rm", "-f", NAME], timeout=60)     # left by an interrupted run
    try:
        how = dock.base_image()
    except RuntimeError as e:
        t.ok(False, "base image debian:12 from debootstrap", e)
        raise SystemExit
    ctx = wd.file("image")
    os.mkdir(ctx)
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write(DOCKERFILE)
    r = dock.run(["docker", "build", "-q", "-t", IMAGE, ctx], timeout=900)
    t.ok(r.returncode == 0, "image: debian:12 (%s) + systemd, apache2, lighttpd (%.1f s)"
         % (how, time.monotonic() - t0), r.stderr[-2000:])
    if r.returncode != 0:
        raise SystemExit
    # systemd as PID 1: its own cgroup tree, /run and /run/lock as tmpfs, CAP_SYS_ADMIN for
    # the mounts of the units' sandboxing (no --privileged: this host refuses some caps).
    r = dock.run(["docker", "run", "-d", "--name", NAME, "--cap-add", "SYS_ADMIN",
                  "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
                  "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
                  "--tmpfs", "/run", "--tmpfs", "/run/lock", IMAGE], timeout=120)
    started = r.returncode == 0
    if not t.ok(started, "container booted with systemd as PID 1", r.stderr[-1000:]):
        raise SystemExit
    state = wait_for(lambda: sh("systemctl is-system-running")[1].strip()
                     in ("running", "degraded") and sh("systemctl is-system-running")[1], 60,
                     step=0.5)
    t.ok(state and state.strip() == "running" and sh("systemctl is-active apache2 lighttpd")[0] == 0,
         "systemd: running, apache2 and lighttpd active", (state, sh("systemctl --failed")[1]))
    sh("mkdir -p /root/src")
    dock.run(["docker", "cp", deb, "%s:/root/%s" % (NAME, os.path.basename(deb))], timeout=60)

    # ------------------------------------------------------------ install
    t0 = time.monotonic()
    code, out = sh("cd /root/src && DEBIAN_FRONTEND=noninteractive %s -y" % cmds["install"], 300)
    t.ok(code == 0, "%s (with -y): installed, libfcgi from Debian's mirror (%.1f s)"
         % (cmds["install"], time.monotonic() - t0), out[-2000:])
    code, out = sh("systemctl is-enabled fcgi-sse.socket; systemctl is-active fcgi-sse.socket; "
                   "stat -c '%a %U:%G' /run/fcgi-sse/fcgi-sse.sock; "
                   "systemctl is-active fcgi-sse.service")
    t.eq(out.split(), ["enabled", "active", "660", "root:www-data", "inactive"],
         "installed: fcgi-sse.socket enabled and listening (0660 root:www-data), the service "
         "not started before a connection")
    code, out = sh("ls /etc/apache2/conf-enabled/ /etc/lighttpd/conf-enabled/")
    t.ok("fcgi-sse" not in out, "installed: nothing enabled in Apache or lighttpd", out)
    code, out = sh("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/fcgi-sse/stream")
    t.eq(out, "404", "installed: Apache does not route to it before a2enconf (404)")

    # The container's limit, not the package's: systemd cannot set up a user namespace here.
    sh("mkdir -p %s && printf '[Service]\\nPrivateUsers=no\\n' > %s && systemctl daemon-reload"
       % (os.path.dirname(DROPIN), DROPIN))

    # ------------------------------------------------------------ enable, stream
    for name, base in (("apache", "http://127.0.0.1/fcgi-sse"),
                       ("lighttpd", "http://127.0.0.1:8080/fcgi-sse")):
        code, out = sh(cmds[name], 120)
        t.ok(code == 0, "%s: `%s`" % (name, cmds[name]), out[-1500:])
        check_server(name, base)
    code, out = sh("systemctl is-active fcgi-sse.service; ps -o user= -C fcgi-sse")
    t.ok(out.split()[:1] == ["active"] and len(out.split()) == 2 and out.split()[1] != "root",
         "the service was started by the socket, as an unprivileged dynamic user (%s)"
         % out.split()[-1:], out)
    code, out = sh("journalctl -u fcgi-sse.service --no-pager -o cat | tail -n 3")
    show("the responder's journal", out, 3)

    # ------------------------------------------------------------ remove, purge
    sh("rm -rf %s && systemctl daemon-reload" % os.path.dirname(DROPIN))
    code, out = sh("DEBIAN_FRONTEND=noninteractive apt-get remove -y fcgi-sse", 300)
    t.ok(code == 0, "apt-get remove fcgi-sse", out[-1500:])
    procs = sh("pgrep -a -x fcgi-sse")[1].strip()
    units = sh("systemctl is-active fcgi-sse.socket fcgi-sse.service")[1].split()
    rundir = sh("test -e /run/fcgi-sse && ls -la /run/fcgi-sse")
    t.ok(procs == "" and units == ["inactive", "inactive"] and rundir[0] != 0,
         "removed: no fcgi-sse process, socket and service inactive, /run/fcgi-sse gone",
         (procs, units, rundir))
    enabled = sh("ls /etc/apache2/conf-enabled/ /etc/lighttpd/conf-enabled/")[1]
    servers = sh("systemctl is-active apache2 lighttpd")[1].split()
    syntax = sh("apache2ctl -t 2>&1")[1]
    t.ok("fcgi-sse" not in enabled and servers == ["active", "active"] and "Syntax OK" in syntax,
         "removed: the snippets disabled again, Apache and lighttpd still running, "
         "Apache's configuration valid", (enabled, servers, syntax))
    code, out = sh("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/fcgi-sse/stream; "
                   "echo; curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/fcgi-sse/stream")
    t.eq(out.split(), ["404", "404"], "removed: neither server routes to it any more (404)")
    code, out = sh("DEBIAN_FRONTEND=noninteractive apt-get purge -y fcgi-sse", 300)
    t.ok(code == 0, "apt-get purge fcgi-sse", out[-1500:])
    code, out = sh("dpkg-query -W -f='${Status}' fcgi-sse 2>&1; echo; "
                   "find / /run -xdev \\( -path /proc -o -path /sys -o -path /root \\) -prune "
                   "-o -name '*fcgi-sse*' -print")
    left = [x for x in out.splitlines()[1:] if x.strip()]
    t.ok(left == [] and "install ok" not in out and "config-files" not in out,
         "purged: dpkg knows no fcgi-sse, and no file named *fcgi-sse* is left anywhere "
         "(units, enablement state, snippets, page, /run)", out[-2000:])
    t.ok(sh("systemctl is-active apache2 lighttpd")[0] == 0 and
         "Syntax OK" in sh("apache2ctl -t 2>&1")[1],
         "purged: Apache and lighttpd still running, Apache's configuration valid")
    t.diag("test_package took %.1f s" % (time.monotonic() - t_begin))
except SystemExit:
    pass
finally:
    if engine is not None:
        if started:
            dock.run(["docker", "rm", "-f", "-v", NAME], timeout=120)
        engine.stop()
    wd.cleanup()
t.done()
