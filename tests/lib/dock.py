"""dock.py -- a Docker engine and a Debian 12 base image for the tests that build and run
containers (test_docker.py: the compose stack; test_package.py: the .deb in a clean Debian).

- Engine: the running one when `docker info` answers; else dockerd is started here (in
  the background, its log in the test's workdir) and stopped again by its pid at the end.
- The base image debian:12, made without any registry: `debootstrap --variant=minbase
  bookworm` (Debian's mirror, as apt uses) into a tarball cached in the build tree
  (<builddir>/tests/cache/debian12-minbase.tar), then `docker import`. An image of that
  name already in the engine is used as it is.
- skip_reason(): why these tests cannot run here (None when they can): under
  FCGI_SSE_SANITIZED=1 (the ASan pass of .ci/run; these tests build their own binaries, so
  they run in the first pass only), or without docker / dockerd.

Limits: Python 3.11 standard library only; run as root (dockerd, debootstrap).
"""

import os
import shutil
import subprocess
import time

from harness import BUILDDIR, Proc, wait_for

BASE_IMAGE = "debian:12"
CACHE = os.path.join(BUILDDIR, "tests", "cache")
BASE_TAR = os.path.join(CACHE, "debian12-minbase.tar")
MIRROR = "http://deb.debian.org/debian"


def run(argv, timeout=120, **kw):
    return subprocess.run(argv, capture_output=True, encoding="utf-8", errors="replace",
                          timeout=timeout, **kw)


def skip_reason(tools=("docker", "dockerd")):
    if os.environ.get("FCGI_SSE_SANITIZED") == "1":
        return ("builds its own binaries in containers: runs in the first pass (not under "
                "the sanitizers)")
    missing = [x for x in tools if not shutil.which(x)]
    if missing:
        return "%s not installed (apt-get install docker.io docker-compose)" % " and ".join(missing)
    if os.geteuid() != 0:
        return "needs root (dockerd)"
    return None


def engine_up():
    try:
        return run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


class Engine:
    """The Docker engine: the one running, or dockerd started (and later stopped) here."""

    def __init__(self, wd):
        self.proc = None
        if engine_up():
            return
        self.proc = Proc(["dockerd"], wd.file("dockerd.log"))
        if not wait_for(lambda: not self.proc.alive() or engine_up(), 60, step=0.5) \
                or not self.proc.alive():
            log = self.proc.log()[-1500:]
            self.stop()
            raise RuntimeError("dockerd did not start:\n" + log)

    def started_here(self):
        return self.proc is not None

    def stop(self):
        """SIGTERM to the dockerd started here (it stops its containerd); SIGKILL after 30 s."""
        if self.proc is not None:
            self.proc.stop(30)
            self.proc = None


def image_exists(name):
    return run(["docker", "image", "inspect", name], timeout=30).returncode == 0


def base_image(log=print):
    """Makes sure debian:12 exists in the engine; returns how it came (a short text)."""
    if image_exists(BASE_IMAGE):
        return "already in the engine"
    how = "imported from the cached %s" % BASE_TAR
    if not os.path.exists(BASE_TAR):
        os.makedirs(CACHE, exist_ok=True)
        root = os.path.join(CACHE, "rootfs.tmp")
        shutil.rmtree(root, ignore_errors=True)
        t0 = time.monotonic()
        r = run(["debootstrap", "--variant=minbase", "bookworm", root, MIRROR], timeout=900)
        if r.returncode != 0:
            shutil.rmtree(root, ignore_errors=True)
            raise RuntimeError("debootstrap failed:\n" + (r.stdout + r.stderr)[-2000:])
        tmp = BASE_TAR + ".tmp"
        r = run(["tar", "-C", root, "-cf", tmp, "."], timeout=300)
        shutil.rmtree(root, ignore_errors=True)
        if r.returncode != 0:
            raise RuntimeError("tar of the debootstrap tree failed: " + r.stderr[-500:])
        os.rename(tmp, BASE_TAR)
        how = "debootstrap --variant=minbase bookworm (%.0f s), cached as %s" % (
            time.monotonic() - t0, BASE_TAR)
    r = run(["docker", "import", BASE_TAR, BASE_IMAGE], timeout=300)
    if r.returncode != 0:
        raise RuntimeError("docker import failed: " + r.stderr[-500:])
    return how


def leftovers(label):
    """Containers, volumes and networks that still carry the label (key=value)."""
    out = {}
    for kind, argv in (("containers", ["docker", "ps", "-aq"]),
                       ("volumes", ["docker", "volume", "ls", "-q"]),
                       ("networks", ["docker", "network", "ls", "-q"])):
        r = run(argv + ["--filter", "label=" + label], timeout=30)
        out[kind] = r.stdout.split()
    return out


def remove_label(label):
    """Best-effort removal of everything with the label (after a failed test)."""
    left = leftovers(label)
    if left["containers"]:
        run(["docker", "rm", "-f", "-v"] + left["containers"], timeout=60)
    if left["volumes"]:
        run(["docker", "volume", "rm", "-f"] + left["volumes"], timeout=60)
    if left["networks"]:
        run(["docker", "network", "rm"] + left["networks"], timeout=60)
