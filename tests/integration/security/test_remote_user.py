"""test_remote_user.py -- finding 2 of issue 18: a forged `Authorization: Basic` header is
no user. nginx fills $remote_user from any Basic header, checked or not, and Debian's
fastcgi_params passes it as REMOTE_USER: with --publish-remote-user, a location without
auth_basic let `Basic base64(attacker:anything)` publish, run the model and reach programs
as REMOTE_USER=attacker.

Through each shipped config as shipped, a responder with --publish-remote-user (and no key
file), a program that prints its REMOTE_USER and a model program that answers with it; every
request carries `Authorization: Basic base64(attacker:anything)`:

  nginx     deploy/nginx/fcgi-sse.conf and fcgi-sse-tls.conf: publish and chat get 403, the
            program sees no REMOTE_USER=attacker; the config's own commented example of a
            location with auth_basic (htpasswd made here) still passes the user it checked
  lighttpd  deploy/lighttpd/demo.conf (no mod_auth: lighttpd never passes an unchecked user)
  Apache    deploy/apache/fcgi-sse-proxy-fcgi.conf (CGIPassAuth On passes the header, not a
            user); with AuthType Basic on a location, the user Apache checked

and, straight over FastCGI, the rule the nginx fix relies on: a param nginx sends twice (the
include's line, then the location's `fastcgi_param REMOTE_USER "";`) counts by its last value.
Needs root (the web servers' workers run as www-data, the Apache responder as nobody); each
server part is skipped when its server is not installed.
"""

import base64
import json
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import sys

sys.dont_write_bytecode = True
from harness import (FCGI_BEGIN_REQUEST, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT,  # noqa: E402
                     SRCDIR, Tap, Workdir, cleanup_on_signals, fcgi_nv, fcgi_raw,
                     fcgi_read_records, fcgi_record, start_lighttpd)
import nginx as ngx  # noqa: E402
import apache as apa  # noqa: E402
from programs import script  # noqa: E402

cleanup_on_signals()
NGINX_TLS = os.path.join(SRCDIR, "deploy", "nginx", "fcgi-sse-tls.conf")
FORGED = {"Authorization": "Basic " + base64.b64encode(b"attacker:anything").decode()}
CHAT = b'{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":false}'

t = Tap()
if os.geteuid() != 0:
    t.skip("finding 2: forged Basic headers through the shipped configs", "needs root")
    t.done()


def basic(user, pw):
    return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode())
            .decode()}


def request(port, method, path, headers=None, body=b"", tls=False):
    """(status, body bytes) of one HTTP/1.1 request to 127.0.0.1:port (over TLS when tls,
    the certificate not checked: the test's own)."""
    if not tls:
        st, _, b = ngx.get_from(port, path, method=method, headers=headers, body=body,
                                timeout=15)
        return st, b
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    hdrs = {"Host": "127.0.0.1:%d" % port, "Connection": "close"}
    if body or method == "POST":
        hdrs["Content-Length"] = str(len(body))
    hdrs.update(headers or {})
    raw = "%s %s HTTP/1.1\r\n" % (method, path) + "".join("%s: %s\r\n" % kv for kv in
                                                            hdrs.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as c:
            c.sendall(raw.encode("latin-1") + body)
            data = b""
            while True:
                b = c.recv(65536)
                if not b:
                    break
                data += b
    head, _, rest = data.partition(b"\r\n\r\n")
    st = int(head.split(b" ", 2)[1]) if head else None
    if re.search(rb"(?im)^transfer-encoding:\s*chunked", head):
        out = b""
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            out += rest[:size]
            rest = rest[size + 2:]
        rest = out
    return st, rest


def run_user(port, prefix, headers, tls=False):
    """What .../run/who printed: the REMOTE_USER its program saw ("unset" when none)."""
    st, b = request(port, "GET", prefix + "run/who", headers, tls=tls)
    m = re.search(rb"(?m)^data: user=(.*)$", b)
    return st, m.group(1).decode("latin-1") if m else None


def chat(port, prefix, headers, tls=False):
    """(status, the reply's text or the error body) of a "stream": false chat request."""
    h = dict(headers, **{"Content-Type": "application/json"})
    st, b = request(port, "POST", prefix + "chat/completions", h, CHAT, tls=tls)
    try:
        j = json.loads(b)
        return st, j["choices"][0]["message"]["content"] if st == 200 else j
    except (ValueError, KeyError, IndexError):
        return st, b[:200]


def publish(port, prefix, headers, tls=False):
    h = dict(headers, **{"Content-Type": "text/plain"})
    st, b = request(port, "POST", prefix + "publish?channel=ru", h, b"by whom", tls=tls)
    return st, b


def check_forged(front, port, prefix="/", tls=False, has_publish=True):
    """The forged header through a shipped config: no user anywhere."""
    if has_publish:
        st, b = publish(port, prefix, FORGED, tls)
        t.ok(st == 403, "finding 2: %s: publish with a forged Basic header: 403 (%r)"
             % (front, b[:70]), (st, b))
    st, out = chat(port, prefix, FORGED, tls)
    t.ok(st == 403, "finding 2: %s: chat/completions with a forged Basic header: 403 (the "
         "model does not run)" % front, (st, out))
    st, user = run_user(port, prefix, FORGED, tls)
    t.ok(st == 200 and user == "unset",
         "finding 2: %s: run/NAME with a forged Basic header: the program sees no REMOTE_USER "
         "(not attacker)" % front, (st, user))


def check_authenticated(front, port, prefix):
    """A location where the server itself checks Basic credentials: the user it checked
    reaches the responder; a wrong password or the forged one never does."""
    st, b = publish(port, prefix, basic("alice", "wonderland"))
    t.ok(st == 200 and b'"id"' in b, "%s: a user the server authenticated publishes (200)"
         % front, (st, b))
    st, out = chat(port, prefix, basic("alice", "wonderland"))
    t.ok(st == 200 and out == "user=alice", "%s: chat/completions for that user: 200, and "
         "the model sees REMOTE_USER=alice" % front, (st, out))
    st, user = run_user(port, prefix, basic("alice", "wonderland"))
    t.ok(st == 200 and user == "alice", "%s: run/NAME: the program sees REMOTE_USER=alice"
         % front, (st, user))
    st, _ = publish(port, prefix, FORGED)
    st2, _ = run_user(port, prefix, basic("alice", "nope"))
    t.ok(st == 401 and st2 == 401, "%s: there, the forged header and a wrong password get "
         "the server's 401" % front, (st, st2))


def nginx_example(conf_text, htpasswd):
    """The commented example location with auth_basic of deploy/nginx/fcgi-sse.conf,
    uncommented, its user file replaced: the lines from `# location ~ /team/` to `# }`."""
    lines = conf_text.split("\n")
    start = next(i for i, x in enumerate(lines) if x.strip().startswith("# location ~ /team/"))
    end = next(i for i in range(start, len(lines)) if lines[i].strip() == "# }")
    block = [re.sub(r"^(\s*)# ?", r"\1", x) for x in lines[start:end + 1]]
    text = "\n".join(block)
    old = "auth_basic_user_file /etc/nginx/fcgi-sse.htpasswd;"
    if text.count(old) != 1:
        raise ValueError("the example location has no %r line" % old)
    return text.replace(old, "auth_basic_user_file %s;" % htpasswd)


def with_example(wd, htpasswd):
    """A copy of the shipped fcgi-sse.conf with its example location enabled where the
    comment says: before the first location that passes to the responder."""
    with open(ngx.SITE_CONF) as f:
        text = f.read()
    block = nginx_example(text, htpasswd)
    # the streams' location (stream, events, run/NAME, and the Mercure hub's paths)
    found = re.findall(r"^    location ~ /\(stream\|events\|run/\[\^/\]\+[^\n]*\{$", text, re.M)
    if len(found) != 1:
        raise ValueError("no single streams' location (stream|events|run/...) in "
                         "fcgi-sse.conf: %r" % found)
    anchor = found[0]
    path = wd.file("fcgi-sse-example.conf")
    with open(path, "w") as f:
        f.write(text.replace(anchor, block + "\n\n" + anchor))
    return path


def raw_fcgi(sock, pairs, stdin):
    """One FastCGI request with the params in pairs, in that order, repeats included (as
    nginx sends them); (status, stdout bytes)."""
    body = b"".join(fcgi_nv(k.encode(), v.encode()) for k, v in pairs)
    s = fcgi_raw(sock, send=False)
    s.sendall(fcgi_record(FCGI_BEGIN_REQUEST, struct.pack(">HB5x", 1, 0)) +
              fcgi_record(FCGI_PARAMS, body) + fcgi_record(FCGI_PARAMS, b"") +
              fcgi_record(FCGI_STDIN, stdin) + fcgi_record(FCGI_STDIN, b""))
    recs, _ = fcgi_read_records(s, 10)
    s.close()
    out = b"".join(c for ty, c, _ in recs if ty == FCGI_STDOUT)
    m = re.search(rb"(?im)^Status:\s*(\d+)", out)
    return int(m.group(1)) if m else (200 if out else None), out


wd = Workdir("remote-user")
servers = []
try:
    ngx.open_for_workers(wd.path)
    who = script(wd, "who.prog", '#!/bin/sh\necho "user=${REMOTE_USER-unset}"\n')
    model = script(wd, "model.prog", '#!/bin/sh\ncat >/dev/null\nprintf "user=%s" '
                                     '"${REMOTE_USER-unset}"\n')
    for p in (who, model):
        os.chmod(p, 0o755)          # the Apache responder runs them as nobody
    args = ["--publish-remote-user", "--run", "who=" + who, "--openai", model]
    htpasswd = wd.file("users.htpasswd")
    r = subprocess.run(["htpasswd", "-b", "-c", "-m", htpasswd, "alice", "wonderland"],
                       capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        raise RuntimeError("htpasswd failed: " + r.stderr)
    os.chmod(htpasswd, 0o644)       # nginx's and Apache's workers read it

    resp, sock = ngx.start_responder_for_nginx(wd, args, name="ru")

    # --- the rule the nginx configs rely on, straight over FastCGI: nginx sends every
    #     fastcgi_param line, so the include's REMOTE_USER comes first and the location's
    #     override second; the responder takes the last (as PHP-FPM does)
    pub = {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/publish", "QUERY_STRING": "channel=ru",
           "CONTENT_LENGTH": "1"}
    st, out = raw_fcgi(sock, list(pub.items()) + [("REMOTE_USER", "attacker"),
                                                  ("REMOTE_USER", "")], b"x")
    t.ok(st == 403, "finding 2: REMOTE_USER passed twice, `attacker` then empty: the last "
         "counts, 403", out[:200])
    st, out = raw_fcgi(sock, list(pub.items()) + [("REMOTE_USER", ""),
                                                  ("REMOTE_USER", "alice")], b"x")
    t.ok(st == 200, "REMOTE_USER passed twice, empty then `alice`: the last counts, 200",
         out[:200])

    # --- nginx, fcgi-sse.conf as shipped, and with its auth_basic example enabled
    if not ngx.nginx_binary():
        t.skip("finding 2: nginx", "nginx is not installed")
    else:
        html = ngx.copy_page(wd)
        n = ngx.Nginx(wd, sock, html, name="nginx")
        servers.append(n)
        check_forged("nginx (fcgi-sse.conf)", n.port)
        check_forged("nginx (fcgi-sse.conf), under a prefix", n.port, "/app/")
        try:
            example = with_example(wd, htpasswd)
        except (ValueError, StopIteration) as e:
            example = None
            t.ok(False, "nginx: fcgi-sse.conf has a commented example location with "
                 "auth_basic", e)
        if example:
            ex = ngx.Nginx(wd, sock, html, name="nginx-example", site_conf=example)
            servers.append(ex)
            check_forged("nginx (fcgi-sse.conf with its auth_basic example)", ex.port)
            check_authenticated("nginx (the example location with auth_basic)", ex.port,
                                "/team/")

        # fcgi-sse-tls.conf: no publish location; .../run/NAME and .../chat/completions
        key, crt = wd.file("privkey.pem"), wd.file("fullchain.pem")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                            "/CN=localhost", "-keyout", key, "-out", crt],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            t.ok(False, "a self-signed certificate (openssl)", r.stderr)
        else:
            os.chmod(key, 0o644)
            tls = ngx.Nginx(wd, sock, html, name="nginx-tls", site_conf=NGINX_TLS,
                            listen="listen 443 ssl http2;",
                            subs={"ssl_certificate /etc/ssl/fcgi-sse/fullchain.pem;":
                                  "ssl_certificate %s;" % crt,
                                  "ssl_certificate_key /etc/ssl/fcgi-sse/privkey.pem;":
                                  "ssl_certificate_key %s;" % key})
            servers.append(tls)
            check_forged("nginx (fcgi-sse-tls.conf)", tls.port, tls=True, has_publish=False)

    # --- lighttpd, demo.conf as shipped (no mod_auth)
    if not shutil.which("lighttpd"):
        t.skip("finding 2: lighttpd", "lighttpd is not installed")
    else:
        lp, lport = start_lighttpd(wd, sock)
        check_forged("lighttpd (demo.conf)", lport)

    # --- Apache mod_proxy_fcgi, the shipped snippet; AuthType Basic on /team/
    mods = apa.BASE_MODULES + apa.MODES["proxy_fcgi"][1]
    if not os.access(apa.APACHE2, os.X_OK) or apa.missing_modules(
            mods + ["auth_basic", "authn_file", "authn_core", "authz_user"]):
        t.skip("finding 2: Apache", "apache2 or its auth modules are not installed")
    else:
        aresp, asock = apa.start_socket_responder(wd, args, "ru-apache",
                                                  "FCGI_SSE_TEST_TAG=remote-user")
        extra = "\n".join(
            ["LoadModule %s_module %s" % (m, apa.module_path(m))
             for m in ("auth_basic", "authn_file", "authn_core", "authz_user")] +
            ['<LocationMatch "/team/(publish|run/[^/]+|chat/completions)$">',
             "    AuthType Basic",
             '    AuthName "fcgi-sse"',
             "    AuthUserFile %s" % htpasswd,
             "    Require valid-user",
             "</LocationMatch>"])
        ap = apa.Apache(wd, "apache", "proxy_fcgi",
                        {"FCGI_SSE_HTML": apa.HTML, "FCGI_SSE_SOCKET": asock}, extra=extra)
        try:
            check_forged("Apache (fcgi-sse-proxy-fcgi.conf)", ap.port)
            check_authenticated("Apache (AuthType Basic)", ap.port, "/team/")
        finally:
            aresp.stop()
            killed = apa.stop_all([ap])
            t.ok(not killed, "Apache stopped cleanly", killed)
except Exception:  # noqa: BLE001
    import traceback
    t.ok(False, "test raised", traceback.format_exc())
finally:
    workers = [w for x in servers for w in x.workers()]
    wd.cleanup()
    ngx.kill_leftovers([w for w in workers if os.path.exists("/proc/%d" % w)])
t.done()
