"""test_deploy_files.py -- the deploy files that cannot run for real here, checked as far as this
machine allows without booting systemd (the compose stack runs for real in test_docker.py).

- deploy/docker/compose.yaml: `docker-compose config` accepts it (no engine needed) and lists
  the three services, each with a healthcheck, web servers on 127.0.0.1 and started once the
  responder is healthy; each healthcheck command is then run for real against the same
  configuration outside a container (the responder's over FastCGI; lighttpd's against
  lighttpd running deploy/docker/lighttpd.conf; Apache's against apache2 running the
  container's conf-enabled pair), with only its socket path or port substituted.
- deploy/systemd/: `systemd-analyze verify` on copies whose ExecStart is the built binary
  (and `security --offline`); the socket unit's equivalent, systemd-socket-activate, with the
  service's ExecStart and Environment: a stream through it, SIGTERM ends an open stream
  cleanly; under strace, every system call the responder makes is allowed by the unit's
  SystemCallFilter, its sockets by RestrictAddressFamilies, its mappings by
  MemoryDenyWriteExecute.
- deploy/docker/Dockerfile: parsed; FROM lines, a non-root USER in the final stage; the build
  stage's COPY lines applied to a temporary directory and its build RUN line run there, as
  docker build would (same Debian 12 packages); what the later stages copy out of it exists;
  the runtime stage's packages provide every library the binary needs.

- the web servers' shipped configs (lighttpd, nginx, Apache, Docker's), read as text: programs
  (.../run/NAME, .../chat/completions) reach the responder as streams do (unbuffered, no
  compression, never cached, a body allowed above --max-body, chat's Authorization passed
  on), and not where one responder process is not guaranteed (mod_fcgid, CGI). Each is also
  run for real by test_run.py and test_openai.py, as shipped.
- the same configs for the Mercure hub: .../.well-known/mercure and its subscriptions API
  (percent-encoded and decoded topics in the path, under a prefix) reach the responder as
  streams do, with the publish body and Authorization passed (Apache: CGIPassAuth;
  AllowEncodedSlashes NoDecode, in the TLS virtual host too), nothing else is taken for
  them, and not where one responder process is not guaranteed (mod_fcgid, CGI, which say
  so). Run for real through each front server by test_mercure_fronts.py.
- deploy/docker/entrypoint.sh run outside a container (its key directory moved): with
  MERCURE_JWT_SECRET the responder it starts is a hub whose publisher key is that secret
  (a subscriber without a token gets 401, a publish signed with it 200), the key files
  mode 0600, the variable not in the responder's environment; without it the files are
  gone and the hub is off (404). compose.yaml hands the variables to the responder.
- deploy/systemd/fcgi-sse.service: the Mercure drop-in its comment shows passes
  systemd-analyze verify.

Every part is skipped (and counted as skipped) where its tool is missing.
"""

import os
import re
import shlex
import shutil
import signal
import subprocess
import time

from harness import (BINARY, FCGI_END_REQUEST, FCGI_STDOUT, SRCDIR,  # noqa: E402
                     fcgi_request_bytes,
                     STOP_DEADLINE, Tap, Workdir, can_connect, fcgi_get, fcgi_raw,
                     fcgi_read_records, free_port, status, wait_for)
import nginx as ngx  # noqa: E402
from deployfiles import (apache_blocks, apt_packages, docker_copy,  # noqa: E402
                         lighttpd_fastcgi_match, nginx_location_for, nginx_locations,
                         parse_compose_config, parse_dockerfile, parse_unit, uncommented,
                         unit_value, unit_values)

DEPLOY = os.path.join(SRCDIR, "deploy")
COMPOSE = os.path.join(DEPLOY, "docker", "compose.yaml")
DOCKERFILE = os.path.join(DEPLOY, "docker", "Dockerfile")
SOCKET_UNIT = os.path.join(DEPLOY, "systemd", "fcgi-sse.socket")
SERVICE_UNIT = os.path.join(DEPLOY, "systemd", "fcgi-sse.service")
CONTAINER_SOCK = "/run/fcgi-sse/fcgi-sse.sock"
BUILD_BUDGET_S = 60

t = Tap()
wd = Workdir("deploy")
ngx.open_for_workers(wd.path)


def have(cmd):
    return shutil.which(cmd) is not None


def run(argv, timeout=60, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def proc_children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def syscall_groups():
    """{"@group": [members]} from `systemd-analyze syscall-filter`."""
    r = run(["systemd-analyze", "syscall-filter"])
    groups, cur = {}, None
    for line in r.stdout.split("\n"):
        if line.startswith("@"):
            cur = groups.setdefault(line.strip(), [])
        elif line.startswith("#") or not line.strip():
            if line.startswith("#"):
                cur = None
        elif cur is not None and not line.strip().startswith("#"):
            cur.append(line.strip())
    return groups


def expand(groups, names, seen=None):
    seen = set() if seen is None else seen
    out = set()
    for n in names:
        if n.startswith("@"):
            if n in seen:
                continue
            seen.add(n)
            out |= expand(groups, groups.get(n, []), seen)
        else:
            out.add(n)
    return out


# Paths the Mercure hub's route must take (the subscriptions API's topics percent-encoded,
# as clients send them, and decoded, as nginx and Debian's lighttpd match them), and paths
# it must leave alone.
MERCURE_PATHS = ["/.well-known/mercure", "/app/.well-known/mercure",
                 "/.well-known/mercure/subscriptions",
                 "/.well-known/mercure/subscriptions/exact/https%3A%2F%2Fexample.com%2Fbooks%2F1",
                 "/.well-known/mercure/subscriptions/exact/https%3A%2F%2Fexample.com%2Fbooks"
                 "%2F1/urn%3Auuid%3A0193b1c0-0000-7000-8000-000000000001",
                 "/.well-known/mercure/subscriptions/https:/example.com/books/{id}/urn:uuid:x"]
NOT_MERCURE_PATHS = ["/.well-known/mercure/", "/.well-known/mercurex",
                     "/.well-known/mercure/x", "/.well-known/mercure/subscriptionsx",
                     "/well-known/mercure", "/.well-known/mercure.php"]

# Paths a program's route must take, under any prefix, and paths it must leave alone.
PROGRAM_PATHS = ["/run/lines", "/app/run/build-report", "/fcgi-sse/run/x.y",
                 "/chat/completions", "/api/v1/chat/completions"]
NOT_PROGRAM_PATHS = ["/run", "/app/run/a/b", "/chat/completions/x", "/app/chat"]


def hs256(claims, secret):
    """A JWT signed with HS256 by Python's own hmac (no code of the responder's)."""
    import base64
    import hashlib
    import hmac
    import json

    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), ("%s.%s" % (head, body)).encode(), hashlib.sha256).digest()
    return "%s.%s.%s" % (head, body, b64(sig))


def fcgi_exchange(sock, params, body=b"", timeout=5):
    """One FastCGI request with a body; (status, headers text, body bytes) of the answer."""
    s = fcgi_raw(sock, send=False)
    s.sendall(fcgi_request_bytes(params, stdin=body))
    recs, _ = fcgi_read_records(s, timeout)
    s.close()
    out = b"".join(c for r, c, _ in recs if r == FCGI_STDOUT)
    head, _, rest = out.partition(b"\r\n\r\n")
    m = re.match(rb"Status: (\d+)", head)
    return (int(m.group(1)) if m else None), head.decode("latin-1"), rest


def mercure_dropin(unit_text):
    """The drop-in that fcgi-sse.service's header comment shows for Mercure: the commented
    example (lines from `#   [Service]` on, indented by three spaces) that has --mercure,
    continuations joined; "" when there is none."""
    drops, cur = [], None
    for line in unit_text.split("\n"):
        body = line[4:] if line.startswith("#   ") else None
        if body == "[Service]":
            cur = []
            drops.append(cur)
        elif body is None:
            cur = None
        if cur is not None:
            cur.append(body)
    texts = [re.sub(r"\\\n\s*", "", "\n".join(d) + "\n") for d in drops]
    return next((x for x in texts if "--mercure " in x), "")


def read_deploy(*parts):
    with open(os.path.join(DEPLOY, *parts)) as f:
        return f.read()


service = parse_unit(SERVICE_UNIT)
socket_unit = parse_unit(SOCKET_UNIT)
exec_start = shlex.split(unit_value(service, "Service", "ExecStart") or "")
unit_env = [e for v in unit_values(service, "Service", "Environment") for e in shlex.split(v)]
fdname = unit_value(socket_unit, "Socket", "FileDescriptorName") or "fcgi-sse"

try:
    # ============================================================ web servers: program routes
    for name in ("demo.conf", "fcgi-sse-debian.conf"):
        rx, block = lighttpd_fastcgi_match(read_deploy("lighttpd", name))
        took = [p for p in PROGRAM_PATHS if rx and re.search(rx, p)]
        wrong = [p for p in NOT_PROGRAM_PATHS if rx and re.search(rx, p)]
        t.ok(rx and took == PROGRAM_PATHS and not wrong,
             "lighttpd %s: .../run/NAME and .../chat/completions go to the responder" % name,
             (rx, took, wrong))
        if name == "fcgi-sse-debian.conf":
            t.ok("server.stream-response-body = 2" in block,
                 "lighttpd %s: unbuffered (server.stream-response-body = 2) on those URLs" % name)
    t.ok("server.stream-response-body = 2" in uncommented(read_deploy("lighttpd", "demo.conf")),
         "lighttpd demo.conf: unbuffered (server.stream-response-body = 2)")
    t.ok('include "/usr/share/fcgi-sse/deploy/lighttpd/demo.conf"' in
         uncommented(read_deploy("docker", "lighttpd.conf")),
         "docker lighttpd.conf: routes as the shipped demo.conf (includes it)")
    for name in ("fcgi-sse.conf", "fcgi-sse-tls.conf"):
        locs = nginx_locations(read_deploy("nginx", name))
        bad = {}
        for path in PROGRAM_PATHS:
            rx, body = nginx_location_for(locs, path)
            need = ["fastcgi_pass fcgi_sse;", "include fastcgi_params;",
                    "fastcgi_buffering off;", "gzip off;", "fastcgi_no_cache 1;",
                    "fastcgi_cache_bypass 1;"]
            missing = [x for x in need if x not in body]
            size = re.search(r"client_max_body_size (\d+)m;", body)
            if not size or int(size.group(1)) < 2:
                missing.append("client_max_body_size >= 2m (above --max-body, 1 MiB)")
            if "deny all;" in body:
                missing.append("no deny all (the responder decides: --run, keys)")
            if rx is None or missing:
                bad[path] = (rx, missing)
        t.ok(not bad, "nginx %s: .../run/NAME and .../chat/completions reach the responder "
             "unbuffered, uncompressed, uncached, with a body" % name, bad)
        wrong = [p for p in NOT_PROGRAM_PATHS if nginx_location_for(locs, p)[0]]
        t.ok(not wrong, "nginx %s: nothing else is taken for a program" % name, wrong)
        # finding 2 of issue 18: nginx fills $remote_user from any Basic header, checked
        # or not, and fastcgi_params passes it: without auth_basic or auth_request, a
        # location must pass REMOTE_USER empty, after the include (the last value counts)
        open_user = [rx for rx, body in locs if "include fastcgi_params;" in body and
                     not re.search(r"^\s*auth_(basic|request) ", body, re.M) and
                     not re.search(r'include fastcgi_params;[^}]*?^\s*fastcgi_param '
                                   r'REMOTE_USER "";', body, re.M | re.S)]
        t.ok(locs and not open_user, "finding 2: nginx %s: every location without auth_basic "
             "passes REMOTE_USER empty after `include fastcgi_params;`" % name, open_user)
    blocks = apache_blocks(read_deploy("apache", "fcgi-sse-proxy-fcgi.conf"))
    handler = [(rx, b) for rx, b in blocks if "SetHandler" in b and "proxy:unix:" in b]
    bad = [p for p in PROGRAM_PATHS if not any(re.search(rx, p) for rx, _ in handler)]
    t.ok(handler and not bad and all("SetEnv no-gzip 1" in b and "FilterChain !" in b
                                     for _, b in handler),
         "apache proxy-fcgi: .../run/NAME and .../chat/completions go to the responder "
         "uncompressed, as the stream", bad)
    t.ok(all(any(re.search(rx, p) and "CacheDisable on" in b for rx, b in blocks)
             for p in PROGRAM_PATHS),
         "apache proxy-fcgi: programs are never cached (CacheDisable)")
    t.ok(any(re.search(rx, "/api/v1/chat/completions") and "CGIPassAuth On" in b
             for rx, b in blocks),
         "apache proxy-fcgi: chat's Authorization: Bearer reaches the responder (CGIPassAuth)")
    t.ok(not any(re.search(rx, p) and "Require" in b and "all granted" not in b
                 for rx, b in blocks for p in PROGRAM_PATHS),
         "apache proxy-fcgi: programs are not local-only (the responder decides)")
    dockerfile = uncommented(read_deploy("docker", "Dockerfile"))
    t.ok("COPY deploy/apache/fcgi-sse-proxy-fcgi.conf " in dockerfile and
         re.search(r"a2enconf .*fcgi-sse-proxy-fcgi", dockerfile),
         "docker apache: enables the proxy-fcgi snippet as shipped (its program routes)")
    for name in ("fcgi-sse-fcgid.conf", "fcgi-sse-cgi.conf"):
        text = read_deploy("apache", name)
        routed = [p for p in PROGRAM_PATHS
                  if any(re.search(rx, p) for rx, _ in apache_blocks(text)) or
                  any(re.search(rx, p) for rx in re.findall(r'ScriptAliasMatch "([^"]*)"',
                                                              uncommented(text)))]
        t.ok(not routed and "Programs (.../run/NAME, .../chat/completions) are not routed" in text,
             "apache %s: programs are not routed (one responder must hold them), and it says "
             "so" % name, routed)

    # ============================================================ web servers: Mercure
    for name in ("demo.conf", "fcgi-sse-debian.conf"):
        rx, block = lighttpd_fastcgi_match(read_deploy("lighttpd", name))
        took = [p for p in MERCURE_PATHS if rx and re.search(rx, p)]
        wrong = [p for p in NOT_MERCURE_PATHS if rx and re.search(rx, p)]
        t.ok(rx and took == MERCURE_PATHS and not wrong,
             "lighttpd %s: .../.well-known/mercure and its subscriptions API go to the "
             "responder, nothing else" % name, (rx, took, wrong))
        if name == "fcgi-sse-debian.conf":
            t.ok("server.stream-response-body = 2" in block,
                 "lighttpd %s: unbuffered on the hub's URLs too (the same block)" % name)
    for name in ("fcgi-sse.conf", "fcgi-sse-tls.conf"):
        locs = nginx_locations(read_deploy("nginx", name))
        bad = {}
        for path in MERCURE_PATHS:
            rx, body = nginx_location_for(locs, path)
            need = ["fastcgi_pass fcgi_sse;", "include fastcgi_params;",
                    "fastcgi_buffering off;", "gzip off;", "fastcgi_no_cache 1;",
                    "fastcgi_cache_bypass 1;"]
            missing = [x for x in need if x not in body]
            size = re.search(r"client_max_body_size (\d+)m;", body)
            if not size or int(size.group(1)) < 1:
                missing.append("client_max_body_size >= 1m (above --max-message, 64 KiB)")
            timeout = re.search(r"fastcgi_read_timeout (\d+)s;", body)
            if timeout and int(timeout.group(1)) < 60:
                missing.append("fastcgi_read_timeout >= 60s (above the heartbeat)")
            for wrong in ("deny all;", "fastcgi_pass_request_body off;",
                          "fastcgi_pass_request_headers off;", "auth_basic "):
                if re.search(r"(?m)^\s*" + re.escape(wrong), body):
                    missing.append("no " + wrong)
            if rx is None or missing:
                bad[path] = (rx, missing)
        t.ok(not bad, "nginx %s: .../.well-known/mercure and its subscriptions API reach the "
             "responder unbuffered, uncompressed, uncached, with a body and its headers" % name,
             bad)
        wrong = [p for p in NOT_MERCURE_PATHS if nginx_location_for(locs, p)[0]]
        t.ok(not wrong, "nginx %s: nothing else is taken for the hub" % name, wrong)
    proxy_conf = read_deploy("apache", "fcgi-sse-proxy-fcgi.conf")
    blocks = apache_blocks(proxy_conf)
    handler = [(rx, b) for rx, b in blocks if "SetHandler" in b and "proxy:unix:" in b]
    bad = [p for p in MERCURE_PATHS if not any(re.search(rx, p) and "SetEnv no-gzip 1" in b
                                               and "FilterChain !" in b for rx, b in handler)]
    t.ok(handler and not bad, "apache proxy-fcgi: the hub's paths go to the responder "
         "uncompressed, as the stream", bad)
    t.ok(not [p for p in NOT_MERCURE_PATHS if any(re.search(rx, p) for rx, _ in handler)],
         "apache proxy-fcgi: nothing else is taken for the hub")
    for what, line in (("Authorization reaches the responder", "CGIPassAuth On"),
                       ("never cached", "CacheDisable on")):
        t.ok(all(any(re.search(rx, p) and line in b for rx, b in blocks)
                 for p in MERCURE_PATHS),
             "apache proxy-fcgi: the hub's paths: %s (%s)" % (what, line))
    t.ok(not any(re.search(rx, p) and "Require" in b and "all granted" not in b
                 for rx, b in blocks for p in MERCURE_PATHS),
         "apache proxy-fcgi: the hub is not local-only (its tokens decide)")
    top = re.sub(r"<(LocationMatch|Directory|Proxy|IfDefine)\b.*?</\1>", "",
                 uncommented(proxy_conf), flags=re.S)
    t.ok(re.search(r"(?m)^AllowEncodedSlashes NoDecode$", top),
         "apache proxy-fcgi: AllowEncodedSlashes NoDecode, server-wide (the subscriptions "
         "API's %2F-encoded topics; Apache's default answers 404)")
    vhost = re.search(r"<VirtualHost[^>]*>(.*?)</VirtualHost>",
                      uncommented(read_deploy("apache", "fcgi-sse-tls.conf")), re.S)
    t.ok(vhost and re.search(r"(?m)^\s*AllowEncodedSlashes NoDecode$", vhost.group(1)),
         "apache tls: AllowEncodedSlashes NoDecode in its virtual host (not inherited)")
    bal = apache_blocks(read_deploy("apache", "fcgi-sse-balancer.conf"))
    t.ok(all(any(re.search(rx, p) and "balancer://fcgi-sse-pool" in b for rx, b in bal)
             for p in MERCURE_PATHS),
         "apache balancer: the hub's paths go to the pool (one hub through Redis)", bal)
    for name in ("fcgi-sse-fcgid.conf", "fcgi-sse-cgi.conf"):
        text = read_deploy("apache", name)
        routed = [p for p in MERCURE_PATHS
                  if any(re.search(rx, p) for rx, _ in apache_blocks(text)) or
                  any(re.search(rx, p) for rx in re.findall(r'ScriptAliasMatch "([^"]*)"',
                                                              uncommented(text)))]
        t.ok(not routed and "The Mercure hub (.../.well-known/mercure) is not routed" in text,
             "apache %s: the hub is not routed (one responder must hold it), and it says so"
             % name, routed)

    # ============================================================ systemd: the unit files
    t.eq(unit_value(socket_unit, "Socket", "ListenStream"), "/run/fcgi-sse/fcgi-sse.sock",
         "socket unit: ListenStream=/run/fcgi-sse/fcgi-sse.sock")
    t.ok(unit_value(socket_unit, "Socket", "SocketMode") == "0660" and
         unit_value(socket_unit, "Socket", "SocketGroup") == "www-data",
         "socket unit: SocketMode=0660, SocketGroup=www-data (the web server's group)")
    t.eq(exec_start[:1], ["/usr/bin/fcgi-sse"], "service: ExecStart=/usr/bin/fcgi-sse")
    t.ok(not any(a in ("-l", "--listen") or a.startswith("--listen=") for a in exec_start),
         "service: no --listen, the socket comes from systemd (LISTEN_FDS)", exec_start)
    want = {"Restart": "always", "KillSignal": "SIGTERM", "TimeoutStopSec": "7",
            "DynamicUser": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
            "PrivateTmp": "yes", "NoNewPrivileges": "yes", "MemoryDenyWriteExecute": "yes"}
    got = {k: unit_value(service, "Service", k) for k in want}
    t.eq(got, want, "service: restart, stop and hardening settings")
    # programs get SIGKILL --kill-after (default 5 s) after SIGTERM, and the responder
    # waits for them 500 ms more (proc_shutdown): systemd must not kill it before
    t.ok(int(got["TimeoutStopSec"] or 0) >= 5 + 1,
         "service: TimeoutStopSec above the default --kill-after (5 s) + 1 s")
    t.ok("@system-service" in unit_values(service, "Service", "SystemCallFilter"),
         "service: SystemCallFilter=@system-service")
    t.eq(unit_value(service, "Service", "RestrictAddressFamilies"), "AF_UNIX AF_INET AF_INET6",
         "service: RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6")
    nofile = unit_value(service, "Service", "LimitNOFILE") or "0"
    t.ok(nofile.split(":")[0].isdigit() and int(nofile.split(":")[0]) >= 20000,
         "service: LimitNOFILE >= 20000 (%s)" % nofile)
    t.ok("GLIBC_TUNABLES=glibc.malloc.tcache_count=0" in unit_env,
         "service: Environment=GLIBC_TUNABLES=glibc.malloc.tcache_count=0", unit_env)

    units = wd.file("units")
    os.mkdir(units)
    shutil.copy(SOCKET_UNIT, units)
    with open(SERVICE_UNIT) as f:
        text = f.read()
    text = re.sub(r"(?m)^ExecStart=/usr/bin/fcgi-sse", "ExecStart=" + BINARY, text)
    with open(os.path.join(units, "fcgi-sse.service"), "w") as f:
        f.write(text)

    if not have("systemd-analyze"):
        t.skip("systemd-analyze verify", "systemd-analyze is not installed")
        t.skip("systemd-analyze security", "systemd-analyze is not installed")
    else:
        # Documentation=man:fcgi-sse(1) is checked with man(1): the page is installed by
        # make install only, so point MANPATH at a copy of the source's fcgi-sse.1.
        man1 = wd.file("man/man1")
        os.makedirs(man1)
        shutil.copy(os.path.join(SRCDIR, "fcgi-sse.1"), man1)
        env = dict(os.environ, MANPATH=wd.file("man"))
        r = run(["systemd-analyze", "verify", "fcgi-sse.socket", "fcgi-sse.service"],
                cwd=units, env=env)
        out = [x for x in (r.stdout + r.stderr).split("\n") if x.strip()]
        # Messages that come from this machine not running systemd as PID 1 (none seen on
        # Debian 12's systemd 252, filtered in case another version prints them).
        booted_only = re.compile(r"Failed to (connect to bus|create bus connection)|"
                                 r"System has not been booted with systemd|"
                                 r"/run/systemd/.*(No such file|not found)")
        filtered = [x for x in out if booted_only.search(x)]
        left = [x for x in out if not booted_only.search(x)]
        if filtered:
            t.diag("verify: ignored (need a booted systemd): %s" % filtered)
        t.ok(r.returncode == 0 and not left,
             "systemd-analyze verify: both units clean (ExecStart = the built binary)",
             "\n".join(left) or r.returncode)
        r = run(["systemd-analyze", "security", "--offline=yes", "fcgi-sse.service"],
                cwd=units, env=env)
        m = re.search(r"Overall exposure level for fcgi-sse.service: ([0-9.]+) (\w+)", r.stdout)
        t.ok(m and float(m.group(1)) <= 2.0,
             "systemd-analyze security: exposure %s (at most 2.0)" % (
                 m and " ".join(m.groups())), r.stdout[-600:] + r.stderr[-300:])
        # The Mercure drop-in the service's comment shows, as `systemctl edit` would save
        # it: verify reads it (SYSTEMD_UNIT_PATH: the drop-in directory beside the copy).
        drop = mercure_dropin(text)
        ddir = os.path.join(units, "fcgi-sse.service.d")
        os.mkdir(ddir)
        credkey = wd.file("credential.key")
        with open(credkey, "w") as f:
            f.write("a-secret-of-at-least-thirty-two-bytes\n")
        with open(os.path.join(ddir, "mercure.conf"), "w") as f:
            f.write(drop.replace("/etc/fcgi-sse/mercure.key", credkey)
                    .replace("ExecStart=/usr/bin/fcgi-sse", "ExecStart=" + BINARY))
        r = run(["systemd-analyze", "verify", "fcgi-sse.service"], cwd=units,
                env=dict(env, SYSTEMD_UNIT_PATH=units + ":"))
        out = [x for x in (r.stdout + r.stderr).split("\n")
               if x.strip() and not booted_only.search(x)]
        t.ok(drop.startswith("[Service]\n") and "LoadCredential=" in drop and
             "--mercure " in drop and r.returncode == 0 and not out,
             "systemd: the Mercure drop-in of fcgi-sse.service's comment: verify reads it "
             "clean", (drop, out))
        # Its ExecStart, run with %d a directory holding the key as systemd makes it
        # (mode 0400, the service user's): a hub that takes tokens signed with the key.
        creds = wd.file("credentials")
        os.mkdir(creds, 0o700)
        shutil.copy(credkey, os.path.join(creds, "mercure.key"))
        os.chmod(os.path.join(creds, "mercure.key"), 0o400)
        line = [x for x in drop.split("\n") if x.startswith("ExecStart=/")]
        argv = shlex.split(line[0][len("ExecStart="):].replace("%d", creds)) if line else []
        dsock = wd.file("dropin.sock")
        dp = wd.start([BINARY] + argv[1:] + ["-l", "unix:" + dsock], "dropin-mercure") \
            if argv else None
        up = dp and wait_for(lambda: can_connect(dsock) or not dp.alive(), 5) and dp.alive()
        form = b"topic=news&data=x"
        st, _, body = fcgi_exchange(dsock, {
            "REQUEST_METHOD": "POST", "SCRIPT_NAME": "/.well-known/mercure",
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(form)), "HTTP_AUTHORIZATION": "Bearer " + hs256(
                {"mercure": {"publish": ["*"]}}, "a-secret-of-at-least-thirty-two-bytes")},
            form) if up else (None, "", b"")
        t.ok(st == 200 and body.startswith(b"urn:uuid:"),
             "systemd: the drop-in's ExecStart (%%d: the credential, mode 0400) is a hub "
             "that takes a publish signed with its key", (argv, st, body,
                                                          dp and dp.log()[-500:]))
        if dp:
            dp.stop()

    # ============================================================ the socket unit, emulated
    if not have("systemd-socket-activate"):
        t.skip("socket activation", "systemd-socket-activate is not installed")
    else:
        # What fcgi-sse.socket + fcgi-sse.service do: systemd listens, the first connection
        # execs ExecStart with the socket as fd 3 and LISTEN_FDS=1, Environment= set.
        sock = wd.file("activated.sock")
        argv = ["systemd-socket-activate", "-l", sock, "--fdname=" + fdname]
        for e in unit_env:
            argv += ["-E", e]
        p = wd.start(argv + [BINARY] + exec_start[1:], "activated")
        t.ok(wait_for(lambda: os.path.exists(sock), 5), "activation: socket made by systemd")
        c = fcgi_get(sock, "/stream", query="limit=2", timeout=5)
        t.eq(c.counts(), [0, 1], "activation: a stream through the passed socket "
             "(ExecStart as in the unit: 1 s interval)")
        t.ok("on unix:" + sock in p.log(), "activation: the responder took fd 3 (LISTEN_FDS)",
             p.log())
        with open("/proc/%d/environ" % p.pid, "rb") as f:
            penv = f.read().split(b"\0")
        t.ok(b"GLIBC_TUNABLES=glibc.malloc.tcache_count=0" in penv,
             "activation: the unit's Environment= reaches the responder")
        s = fcgi_raw(sock, script="/stream")
        recs, _ = fcgi_read_records(s, 3, until=lambda r: any(
            x[0] == FCGI_STDOUT and b"retry:" in x[1] for x in r))
        opened = wait_for(lambda: status(sock)["streams_open"] == 1, 2)
        t0 = time.monotonic()
        p.signal(signal.SIGTERM)
        recs, eof = fcgi_read_records(s, 3)
        s.close()
        ended = any(r[0] == FCGI_END_REQUEST for r in recs)
        # exit before the unit's TimeoutStopSec (systemd would kill it then)
        rc = p.wait(STOP_DEADLINE)
        took = time.monotonic() - t0
        t.ok(opened and ended and rc == 0,
             "activation: SIGTERM (KillSignal) ends an open stream with END_REQUEST and exits 0 "
             "before TimeoutStopSec=%g (%.0f ms)" % (STOP_DEADLINE, took * 1000),
             (opened, ended, rc, took))

    # ============================================================ what the filters allow
    if not (have("strace") and have("systemd-socket-activate") and have("systemd-analyze")):
        t.skip("system calls vs SystemCallFilter", "strace, systemd-socket-activate or "
               "systemd-analyze is not installed")
    elif os.environ.get("FCGI_SSE_SANITIZED") == "1":
        # ASan's runtime reads /proc/self/* and makes calls of its own: not the program
        t.skip("system calls vs SystemCallFilter", "sanitizer build")
    else:
        trace = wd.file("strace.out")
        sock = wd.file("traced.sock")
        argv = ["strace", "-f", "-qq", "-o", trace, "systemd-socket-activate", "-l", sock,
                "--fdname=" + fdname]
        for e in unit_env:
            argv += ["-E", e]
        # a typical program (--run): a shell script using coreutils, /proc and python3; it
        # inherits the unit's filters (seccomp and all), so its calls are checked too
        prog = wd.file("typical.sh")
        with open(prog, "w") as f:
            f.write("#!/bin/sh\necho \"start $(date +%s)\"\nhead -n1 /etc/os-release\n"
                    "ls / >/dev/null\ngrep -c . /proc/self/status\nsleep 0.1\n"
                    "python3 -c 'import json, subprocess; print(json.dumps({\"ok\": 1}))'\n"
                    "echo done\n")
        os.chmod(prog, 0o755)
        tp = wd.start(argv + [BINARY] + exec_start[1:] + ["-i", "100", "--run", "sh=" + prog],
                      "traced")
        wait_for(lambda: os.path.exists(sock), 5)
        # A day's work in a second: streams to their end, one left by its client, status,
        # HEAD, errors, then SIGTERM with a stream open.
        fcgi_get(sock, "/stream", query="limit=3", timeout=5)
        left = fcgi_raw(sock, script="/app/stream")
        fcgi_read_records(left, 1, until=lambda r: len(r) >= 2)
        left.close()
        status(sock)
        fcgi_get(sock, "/stream", method="HEAD")
        fcgi_get(sock, "/stream", extra={"HTTP_LAST_EVENT_ID": "x"})
        fcgi_get(sock, "/nosuch")
        ran = fcgi_get(sock, "/run/sh", timeout=10)
        junk = fcgi_raw(sock, send=False)
        junk.sendall(b"\x07\x07garbage")
        junk.close()
        held = fcgi_raw(sock, script="/stream")
        fcgi_read_records(held, 1, until=lambda r: len(r) >= 2)
        resp_pid = None
        for _ in range(200):
            kids = [k for k in proc_children(tp.pid)
                    if os.path.realpath("/proc/%d/exe" % k) == os.path.realpath(BINARY)]
            if kids:
                resp_pid = kids[0]
                break
            time.sleep(0.01)
        if resp_pid:
            os.kill(resp_pid, signal.SIGTERM)
        fcgi_read_records(held, 3)
        held.close()
        rc = tp.wait(10)
        with open(trace) as f:
            lines = f.read().split("\n")
        started, used, families, wx, opened_w, opened = set(), {}, set(), [], [], set()
        prog_used, prog_wx = {}, []     # the calls of the programs the responder ran
        # First the process tree: who cloned whom, who exec'd what. The programs are the
        # responder's descendants that exec'd something (its threads never do), and theirs.
        kids, execs, progs = {}, {}, set()
        for line in lines:
            m = re.match(r"(\d+) +(?:<\.\.\. )?([a-z0-9_]+)(\(| resumed>)", line)
            if not m:
                continue
            cm = re.search(r"= (\d+)$", line)
            if m.group(2) in ("clone", "clone3", "fork", "vfork") and cm:
                kids.setdefault(m.group(1), []).append(cm.group(1))
            em = re.match(r"(\d+) +execve\(\"([^\"]+)\"", line)
            if em:
                execs.setdefault(em.group(1), []).append(os.path.realpath(em.group(2)))
        responders = [p for p, e in execs.items() if os.path.realpath(BINARY) in e]
        todo = [(k, False) for r in responders for k in kids.get(r, [])]
        while todo:
            p, inside = todo.pop()
            inside = inside or p in execs
            if inside:
                progs.add(p)
            todo += [(k, inside) for k in kids.get(p, [])]
        for line in lines:
            m = re.match(r"(\d+) +(?:<\.\.\. )?([a-z0-9_]+)(\(| resumed>)", line)
            if not m:
                continue
            pid, name = m.group(1), m.group(2)
            if pid in progs:
                prog_used[name] = prog_used.get(name, 0) + 1
                if name in ("mmap", "mprotect", "pkey_mprotect") and "PROT_EXEC" in line and \
                        (name != "mmap" or "PROT_WRITE" in line):
                    prog_wx.append(line)
                continue
            if name == "execve" and pid not in started:
                em = re.match(r"\d+ +execve\(\"([^\"]+)\"", line)
                if em and os.path.realpath(em.group(1)) == os.path.realpath(BINARY) \
                        and line.endswith("= 0"):
                    started.add(pid)
                continue
            if pid not in started:
                continue
            used[name] = used.get(name, 0) + 1
            cm = re.search(r"= (\d+)$", line)
            if name in ("clone", "clone3", "fork", "vfork") and cm:
                started.add(cm.group(1))
            if name in ("socket", "socketpair"):
                fm = re.search(r"\((AF_\w+)", line)
                families.add(fm.group(1) if fm else "?")
            if name in ("mmap", "mprotect", "pkey_mprotect") and "PROT_EXEC" in line and \
                    (name != "mmap" or "PROT_WRITE" in line):
                wx.append(line)
            if name in ("open", "openat") and not re.search(r"= -1", line):
                om = re.search(r'"([^"]*)"', line)
                opened.add(om.group(1) if om else line)
                if re.search(r"O_(WRONLY|RDWR|CREAT)", line) and "/dev/" not in line:
                    opened_w.append(line)
        groups = syscall_groups()
        allow, deny = set(), set()
        for v in unit_values(service, "Service", "SystemCallFilter"):
            names = v.split()
            if v.startswith("~"):
                deny |= expand(groups, [names[0][1:]] + names[1:])
            else:
                allow |= expand(groups, names)
        allowed = allow - deny
        outside = sorted(n for n in used if n not in allowed)
        t.ok(started and rc == 0 and used.get("write", 0) > 0,
             "strace: traced the responder through streams, a leaving client, status, HEAD, "
             "errors, junk and SIGTERM (%d distinct calls)" % len(used), (rc, sorted(used)))
        t.ok(started and not outside,
             "SystemCallFilter: every call is in @system-service and none in the denied groups",
             "outside: %s" % outside)
        allowed_fam = set(unit_value(service, "Service", "RestrictAddressFamilies").split())
        t.ok(families <= allowed_fam,
             "RestrictAddressFamilies: sockets created: %s" % (sorted(families) or "none"),
             families)
        t.ok(not wx, "MemoryDenyWriteExecute: no writable+executable mapping, no mprotect "
             "adding PROT_EXEC", "\n".join(wx[:5]))
        t.ok(not opened_w, "ProtectSystem=strict: no file opened for writing",
             "\n".join(opened_w[:5]))
        # Besides its libraries: what it reads to size itself (the listen backlog;
        # its cgroup's memory limit). Under ProcSubset=pid /proc/sys is hidden and
        # the backlog falls back to SOMAXCONN, the same 4096 as Backlog= in the unit.
        # With programs (--run), the CPU count for --max-runs' default (glibc's
        # sysconf; /sys stays readable under ProtectSystem=strict), and its own children
        # (what a program left behind, adopted: process.c reads /proc/self/task/*/children,
        # its own process, which ProcSubset=pid and ProtectProc keep).
        libs = re.compile(r"^(/etc/ld\.so\.cache|(/usr)?/lib(64)?/.*\.so[.0-9]*|/dev/null"
                          r"|/proc/self/task|/proc/self/task/\d+/children"
                          r"|/proc/self/cgroup|/proc/sys/net/core/somaxconn"
                          r"|/sys/devices/system/cpu/online"
                          r"|/sys/fs/cgroup/.*/memory\.max)$")
        t.ok(opened and all(libs.match(x) for x in opened),
             "ProcSubset=pid, ProtectProc, PrivateDevices, ProtectHome: it opens only its "
             "libraries and /dev/null", sorted(x for x in opened if not libs.match(x)))
        t.diag("system calls: " + " ".join(sorted(used)))
        prog_outside = sorted(n for n in prog_used if n not in allowed)
        t.ok(ran.events and ran.events[-1]["event"] == "exit" and
             ran.events[-1]["data"] == "0" and "execve" in prog_used and not prog_outside,
             "SystemCallFilter: a typical program (a shell script, coreutils, python3) run by "
             "--run makes no call outside it (it inherits the filter: docs/programs.md)",
             (ran.events[-1:], "outside: %s" % prog_outside))
        t.ok(prog_used and not prog_wx, "MemoryDenyWriteExecute: the typical program maps no "
             "writable+executable memory (a JIT would need the unit relaxed: docs/programs.md)",
             "\n".join(prog_wx[:5]))

    # ============================================================ compose
    dc = shutil.which("docker-compose")
    services = {}
    if not dc:
        t.skip("docker-compose config", "docker-compose is not installed")
    else:
        r = run([dc, "-f", COMPOSE, "config"], cwd=SRCDIR)
        t.ok(r.returncode == 0, "docker-compose config: compose.yaml is valid (no engine needed)",
             r.stderr[-800:])
        services = parse_compose_config(r.stdout)
        rs = run([dc, "-f", COMPOSE, "config", "--services"], cwd=SRCDIR)
        t.eq(sorted(rs.stdout.split()), ["apache", "lighttpd", "responder"],
             "compose: services responder, lighttpd, apache")
        for name in ("responder", "lighttpd", "apache"):
            sv = services.get(name, {})
            t.ok(sv.get("healthcheck") and sv["healthcheck"][0] in ("CMD", "CMD-SHELL"),
                 "compose: %s has a healthcheck" % name, sv.get("healthcheck"))
            t.ok("build" in sv.get("keys", ()) and
                 any(v.startswith("fcgi-sse-run:/run/fcgi-sse") for v in sv.get("volumes", [])),
                 "compose: %s is built here and mounts the socket volume at /run/fcgi-sse"
                 % name, sv)
        for name, port in (("lighttpd", "8080"), ("apache", "8081")):
            sv = services.get(name, {})
            t.ok(sv.get("ports") and all(p.startswith("127.0.0.1:") for p in sv["ports"]) and
                 any(p.startswith("127.0.0.1:%s:" % port) for p in sv["ports"]),
                 "compose: %s published on 127.0.0.1:%s only" % (name, port), sv.get("ports"))
            t.eq(sv.get("depends", {}).get("responder"), "service_healthy",
                 "compose: %s starts once the responder is healthy" % name)
        t.ok(not services.get("responder", {}).get("ports"),
             "compose: the responder publishes no port (FastCGI stays in the volume)")
        r2 = run([dc, "-f", COMPOSE, "config"], cwd=SRCDIR,
                 env=dict(os.environ, MERCURE_JWT_SECRET="from-the-host-environment"))
        resp_block = re.split(r"\n  [a-z]", r2.stdout.split("\n  responder:\n", 1)[1])[0] \
            if "\n  responder:\n" in r2.stdout else ""
        t.ok("MERCURE_JWT_SECRET: from-the-host-environment" in resp_block and
             "FCGI_SSE_MERCURE_OPTIONS" in resp_block,
             "compose: the responder gets MERCURE_JWT_SECRET (and FCGI_SSE_MERCURE_OPTIONS) "
             "from where compose runs", resp_block[-800:])
        targets = set(re.findall(r"(?m)^\s+target: (\S+)$", r.stdout))
        stage_names = {s["name"] for s in parse_dockerfile(DOCKERFILE)}
        t.ok(targets and targets <= stage_names,
             "compose: every build target is a Dockerfile stage %s" % sorted(targets),
             (targets, stage_names))

    # ============================================================ the entrypoint's Mercure
    # deploy/docker/entrypoint.sh as the image runs it (CMD: fcgi-sse -l unix:...), outside
    # a container: its key directory moved (FCGI_SSE_KEY_DIR), `fcgi-sse` the built binary.
    entry = os.path.join(DEPLOY, "docker", "entrypoint.sh")
    kdir = wd.file("entry-keys")
    os.mkdir(kdir, 0o700)
    shim = wd.file("entry-bin")
    os.mkdir(shim)
    os.symlink(BINARY, os.path.join(shim, "fcgi-sse"))
    secret = "the-secret-of-MERCURE_JWT_SECRET-0123456789"
    esock = wd.file("entry.sock")
    env = dict(os.environ, PATH=shim + ":" + os.environ["PATH"], FCGI_SSE_KEY_DIR=kdir,
               MERCURE_JWT_SECRET=secret)
    ep = wd.start(["sh", entry, "fcgi-sse", "-l", "unix:" + esock], "entrypoint-mercure",
                  env=env)
    t.ok(wait_for(lambda: can_connect(esock) or not ep.alive(), 5) and ep.alive(),
         "entrypoint, MERCURE_JWT_SECRET set: the responder starts", ep.log()[-1000:])
    hub = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/.well-known/mercure",
           "QUERY_STRING": "topic=https%3A%2F%2Fexample.com%2Fbooks%2F1"}
    st, _, body = fcgi_exchange(esock, hub)
    t.ok(st == 401 and b"a token is needed to subscribe" in body,
         "entrypoint, MERCURE_JWT_SECRET set: the hub is on (a subscriber without a token: "
         "401, it says why)", (st, body))
    form = b"topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&data=hello"
    pub = {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/.well-known/mercure", "QUERY_STRING": "",
           "CONTENT_TYPE": "application/x-www-form-urlencoded",
           "CONTENT_LENGTH": str(len(form))}
    token = hs256({"mercure": {"publish": ["*"]}}, secret)
    st, _, body = fcgi_exchange(esock, dict(pub, HTTP_AUTHORIZATION="Bearer " + token), form)
    t.ok(st == 200 and re.match(rb"^urn:uuid:[0-9a-f-]{36}$", body),
         "entrypoint: a publish signed with MERCURE_JWT_SECRET is taken (200, its id)",
         (st, body))
    st, _, body = fcgi_exchange(esock, dict(pub, HTTP_AUTHORIZATION="Bearer " + hs256(
        {"mercure": {"publish": ["*"]}}, secret + "-other")), form)
    t.ok(st == 401 and b"signature" in body,
         "entrypoint: a publish signed with another secret is refused (401, bad signature)",
         (st, body))
    files = {}
    for f in ("mercure-publisher.key", "mercure-subscriber.key"):
        try:
            with open(os.path.join(kdir, f)) as fh:
                files[f] = (oct(os.stat(os.path.join(kdir, f)).st_mode & 0o777), fh.read())
        except OSError as e:
            files[f] = str(e)
    t.eq(files, {f: ("0o600", secret + "\n") for f in files},
         "entrypoint: the secret written as both key files, mode 0600")
    with open("/proc/%d/environ" % ep.pid, "rb") as f:
        penv = f.read().split(b"\0")
    t.ok(not [e for e in penv if e.startswith(b"MERCURE_")] and
         os.path.realpath("/proc/%d/exe" % ep.pid) == os.path.realpath(BINARY),
         "entrypoint: the responder (exec'd) does not hold MERCURE_JWT_SECRET in its "
         "environment (its programs would inherit it)")
    t.eq(ep.stop(), 0, "entrypoint: the responder it started exits 0 on SIGTERM")
    env.pop("MERCURE_JWT_SECRET")
    ep = wd.start(["sh", entry, "fcgi-sse", "-l", "unix:" + esock], "entrypoint-plain", env=env)
    up = wait_for(lambda: can_connect(esock) or not ep.alive(), 5) and ep.alive()
    st, _, body = fcgi_exchange(esock, hub) if up else (None, "", b"")
    t.ok(st == 404 and b"Mercure is off" in body and
         not [f for f in os.listdir(kdir) if f.startswith("mercure")],
         "entrypoint, MERCURE_JWT_SECRET unset: the hub is off (404) and its key files gone",
         (st, body, os.listdir(kdir)))
    t.eq(ep.stop(), 0, "entrypoint: that responder exits 0 on SIGTERM too")

    # ============================================================ the healthchecks, for real
    def shell_of(test):
        """A compose healthcheck test as a command line for sh -c."""
        if test[:1] == ["CMD-SHELL"]:
            return test[1]
        return " ".join(shlex.quote(a) for a in test[1:])

    html = ngx.copy_page(wd)
    resp, rsock = ngx.start_responder_for_nginx(wd, ["-i", "100"], name="hc-responder")
    if "responder" in services:
        cmd = shell_of(services["responder"]["healthcheck"])
        ok_cmd = cmd.replace(CONTAINER_SOCK, rsock)
        r = run(["sh", "-c", ok_cmd], timeout=10)
        t.ok(CONTAINER_SOCK in cmd and r.returncode == 0,
             "healthcheck responder: passes against a live responder", (cmd, r.stderr))
        r = run(["sh", "-c", cmd.replace(CONTAINER_SOCK, wd.file("nothing.sock"))], timeout=10)
        t.ok(r.returncode != 0, "healthcheck responder: fails when nothing listens")
    else:
        t.skip("healthcheck responder", "no docker-compose output to read it from")

    # lighttpd with the container's config: its include pointed at the source's demo.conf,
    # its bind at loopback, the image's environment with a free port.
    if not have("lighttpd"):
        t.skip("lighttpd container config", "lighttpd is not installed")
    else:
        lport = free_port()
        with open(os.path.join(DEPLOY, "docker", "lighttpd.conf")) as f:
            lconf = ngx.template(f.read(), {
                '"/usr/share/fcgi-sse/deploy/lighttpd/demo.conf"':
                    '"%s"' % os.path.join(SRCDIR, "deploy", "lighttpd", "demo.conf"),
                'server.bind := "0.0.0.0"': 'server.bind := "127.0.0.1"'})
        lpath = wd.file("lighttpd-container.conf")
        with open(lpath, "w") as f:
            f.write(lconf)
        lenv = dict(os.environ, FCGI_SSE_PORT=str(lport), FCGI_SSE_HTML=html,
                    FCGI_SSE_SOCKET=rsock, FCGI_SSE_STATE=wd.path)
        r = run(["lighttpd", "-tt", "-f", lpath], env=lenv, timeout=10)
        t.ok(r.returncode == 0, "lighttpd container config: lighttpd -tt accepts it",
             r.stderr + r.stdout)
        lp = wd.start(["lighttpd", "-D", "-f", lpath], "lighttpd-container", env=lenv)
        up = wait_for(lambda: can_connect(("127.0.0.1", lport)) or not lp.alive(), 10)
        code, hdrs, body = ngx.get_from(lport, "/")
        t.ok(up and lp.alive() and code == 200 and b"app.js" in body and
             "default-src 'self'" in hdrs.get("content-security-policy", ""),
             "lighttpd container config: serves the page with the CSP", (code, hdrs))
        if "lighttpd" in services:
            cmd = shell_of(services["lighttpd"]["healthcheck"])
            r = run(["sh", "-c", cmd.replace("/dev/tcp/127.0.0.1/80", "/dev/tcp/127.0.0.1/%d"
                                             % lport)], timeout=10)
            t.ok("/dev/tcp/127.0.0.1/80" in cmd and r.returncode == 0,
                 "healthcheck lighttpd: one event through lighttpd and the socket",
                 (cmd, r.stderr))
        else:
            t.skip("healthcheck lighttpd", "no docker-compose output to read it from")
        lp.stop()

    # Apache as the image assembles it: Debian's default modules plus the Dockerfile's
    # a2enmod list, conf-enabled/fcgi-sse-local.conf then fcgi-sse-proxy-fcgi.conf.
    shipped_apache = os.path.join(DEPLOY, "apache", "fcgi-sse-proxy-fcgi.conf")
    if not (have("apache2") and os.path.exists("/usr/lib/apache2/modules/mod_proxy_fcgi.so")):
        t.skip("apache container config", "apache2 is not installed")
    elif not os.path.exists(shipped_apache):
        t.ok(False, "apache container config: deploy/apache/fcgi-sse-proxy-fcgi.conf exists")
    else:
        aport = free_port()
        adir = wd.file("apache")
        os.mkdir(adir)
        ngx.open_for_workers(adir)
        with open(os.path.join(DEPLOY, "docker", "apache-local.conf")) as f:
            local = ngx.template(f.read(), {
                "Define FCGI_SSE_HTML /usr/share/fcgi-sse/html": "Define FCGI_SSE_HTML " + html,
                "Define FCGI_SSE_SOCKET /run/fcgi-sse/fcgi-sse.sock":
                    "Define FCGI_SSE_SOCKET " + rsock,
                "DocumentRoot /usr/share/fcgi-sse/html": "DocumentRoot " + html})
        with open(os.path.join(adir, "fcgi-sse-local.conf"), "w") as f:
            f.write(local)
        mods = ["mpm_event", "authz_core", "authz_host", "authn_core", "access_compat",
                "alias", "dir", "mime", "env", "filter", "deflate", "setenvif", "headers",
                "proxy", "proxy_fcgi"]
        conf = ["ServerRoot /etc/apache2"]
        conf += ["LoadModule %s_module /usr/lib/apache2/modules/mod_%s.so" % (m, m) for m in mods]
        conf += ["Include /etc/apache2/mods-available/%s.conf" % m
                 for m in ("mime", "dir", "deflate", "setenvif")
                 if os.path.exists("/etc/apache2/mods-available/%s.conf" % m)]
        conf += ["Listen 127.0.0.1:%d" % aport, "PidFile %s/apache.pid" % adir,
                 "DefaultRuntimeDir %s" % adir, "Mutex file:%s default" % adir,
                 "ErrorLog %s/error.log" % adir, "LogLevel warn",
                 "<Directory />", "    AllowOverride None", "    Require all denied",
                 "</Directory>",
                 "Include %s/fcgi-sse-local.conf" % adir, "Include %s" % shipped_apache, ""]
        if ngx.worker_user() and os.geteuid() == 0:
            conf[1:1] = ["User www-data", "Group www-data"]
        acf = os.path.join(adir, "apache2.conf")
        with open(acf, "w") as f:
            f.write("\n".join(conf))
        r = run(["apache2", "-t", "-f", acf], timeout=10)
        t.ok(r.returncode == 0, "apache container config: apache2 -t accepts the assembly",
             r.stderr + r.stdout)
        ap = wd.start(["apache2", "-f", acf, "-DFOREGROUND"], "apache-container")
        up = wait_for(lambda: can_connect(("127.0.0.1", aport)) or not ap.alive(), 10)
        code, hdrs, body = ngx.get_from(aport, "/")
        code2, _, _ = ngx.get_from(aport, "/fcgi-sse/")
        t.ok(up and code == 200 and code2 == 200 and b"app.js" in body and
             "default-src 'self'" in hdrs.get("content-security-policy", ""),
             "apache container config: the page at / and /fcgi-sse/, with the CSP",
             (code, code2, hdrs))
        if "apache" in services:
            cmd = shell_of(services["apache"]["healthcheck"])
            r = run(["sh", "-c", cmd.replace("/dev/tcp/127.0.0.1/80", "/dev/tcp/127.0.0.1/%d"
                                             % aport)], timeout=10)
            t.ok("/dev/tcp/127.0.0.1/80" in cmd and r.returncode == 0,
                 "healthcheck apache: one event through Apache and the socket",
                 (cmd, r.stderr, open(os.path.join(adir, "error.log")).read()[-500:]))
        else:
            t.skip("healthcheck apache", "no docker-compose output to read it from")
        # apache2 -DFOREGROUND: SIGTERM stops its children too (Proc.stop in cleanup)
        ap.stop()
    resp.stop()

    # ============================================================ Dockerfile
    stages = parse_dockerfile(DOCKERFILE)
    t.ok(stages and all(s["from"] == "debian:12" for s in stages),
         "Dockerfile: every stage FROM debian:12", [s["from"] for s in stages])
    final = stages[-1] if stages else {"instrs": [], "name": None}
    users = [a for i, a in final["instrs"] if i == "USER"]
    t.ok(users and users[-1].split(":")[0] not in ("root", "0"),
         "Dockerfile: the final stage (%s) runs as a non-root USER (%s)" % (
             final["name"], users and users[-1]))
    cmd = [a for i, a in final["instrs"] if i in ("CMD", "ENTRYPOINT")]
    t.ok(cmd and "fcgi-sse" in cmd[-1] and CONTAINER_SOCK in cmd[-1],
         "Dockerfile: the final stage runs fcgi-sse on the shared socket", cmd)
    t.ok(any(i == "ENV" and "GLIBC_TUNABLES=glibc.malloc.tcache_count=0" in a
             for i, a in final["instrs"]), "Dockerfile: GLIBC_TUNABLES in the final stage")
    build = next((s for s in stages if s["name"] == "build"), None)
    runs = [a for i, a in build["instrs"] if i == "RUN"] if build else []
    pkgs = [p for a in runs for p in apt_packages(a)]
    need = ["build-essential", "autoconf", "automake", "pkg-config", "libfcgi-dev",
            "libsystemd-dev"]
    t.ok(all(p in pkgs for p in need), "Dockerfile: the build stage installs %s" % " ".join(need),
         pkgs)
    runtime_pkgs = [p for i, a in final["instrs"] if i == "RUN" for p in apt_packages(a)]
    t.ok("libfcgi0ldbl" in runtime_pkgs and "libsystemd0" in runtime_pkgs,
         "Dockerfile: the final stage installs libfcgi0ldbl and libsystemd0", runtime_pkgs)
    for s in stages:
        for i, a in s["instrs"]:
            if i == "COPY" and not a.startswith("--from"):
                missing = [x for x in shlex.split(a)[:-1]
                           if not os.path.exists(os.path.join(SRCDIR, x))]
                t.ok(not missing, "Dockerfile: %s stage: COPY %s: sources exist" % (s["name"], a),
                     missing)

    # The build stage, as docker build would run it on this Debian 12: its COPY lines
    # applied to an empty root, its build RUN line run there, /out a temporary directory.
    build_run = [a for a in runs if "autoreconf" in a]
    if not build or not build_run:
        t.ok(False, "Dockerfile: the build stage has the autoreconf/configure/make RUN line")
    else:
        cmdline = build_run[0]
        t.ok(all(x in cmdline for x in ("autoreconf -fi", "./configure --prefix=/usr", "make",
                                         "make install DESTDIR=/out")),
             "Dockerfile: build RUN is autoreconf -fi && ./configure --prefix=/usr && make && "
             "make install DESTDIR=/out", cmdline)
        missing_tools = [x for x in ("autoreconf", "make", "gcc", "pkg-config") if not have(x)]
        if missing_tools:
            t.skip("Dockerfile: build stage run here", "missing: %s" % " ".join(missing_tools))
        else:
            root = wd.file("image")
            out = wd.file("out")
            workdir = "/"
            for i, a in build["instrs"]:
                if i == "WORKDIR":
                    workdir = a if a.startswith("/") else os.path.join(workdir, a)
                    os.makedirs(os.path.join(root, workdir.lstrip("/")), exist_ok=True)
                elif i == "COPY":
                    docker_copy(SRCDIR, workdir, a, root)
            src = os.path.join(root, workdir.lstrip("/"))
            junk = [os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs
                    if re.search(r"\.(o|a)$|^\.dirstamp$|^config\.status$", f)]
            t.ok(not junk, "Dockerfile: the COPY lines bring no build products into the image",
                 junk[:5])
            t0 = time.monotonic()
            r = run(["sh", "-c", cmdline.replace("DESTDIR=/out", "DESTDIR=" + out)],
                    cwd=src, timeout=BUILD_BUDGET_S * 3)
            took = time.monotonic() - t0
            t.ok(r.returncode == 0, "Dockerfile: the build RUN line builds and installs from "
                 "what the COPY lines bring (%.0f s)" % took,
                 (r.stdout + r.stderr)[-1500:])
            t.diag("Dockerfile: the build took %.0f s" % took)
            built = os.path.join(out, "usr", "bin", "fcgi-sse")
            v = run([built, "--version"], timeout=5) if os.path.exists(built) else None
            t.ok(v is not None and v.returncode == 0 and "fcgi-sse" in v.stdout + v.stderr,
                 "Dockerfile: /out/usr/bin/fcgi-sse runs (--version)", v and (v.stdout, v.stderr))
            froms = [(s["name"], a.split()[1]) for s in stages for i, a in s["instrs"]
                     if i == "COPY" and a.startswith("--from=build")]
            gone = [(n, p) for n, p in froms
                    if not os.path.exists(os.path.join(out, p.replace("/out/", "", 1)))]
            t.ok(froms and not gone, "Dockerfile: what later stages copy from /out exists: %s"
                 % ", ".join(sorted({p for _, p in froms})), gone)
            # The runtime stage must bring every library the binary links.
            r = run(["readelf", "-d", built]) if os.path.exists(built) and have("readelf") \
                else None
            if r is None or not have("dpkg"):
                t.skip("Dockerfile: runtime libraries", "readelf or dpkg missing")
            else:
                needed = re.findall(r"\(NEEDED\).*\[(.+)\]", r.stdout)
                owners = {}
                for lib in needed:
                    d = run(["dpkg", "-S", "*/" + lib])
                    owners[lib] = sorted({x.split(":")[0] for x in d.stdout.split("\n") if x})
                base = {"libc6"}   # in every debian:12 image
                unmet = {k: v for k, v in owners.items()
                         if not set(v) & (set(runtime_pkgs) | base)}
                t.ok(needed and not unmet,
                     "Dockerfile: the final stage's packages provide every NEEDED library (%s)"
                     % ", ".join("%s<-%s" % (k, "/".join(v)) for k, v in owners.items()), unmet)
finally:
    wd.cleanup()
t.done()
