"""test_mercure_fronts.py -- the Mercure hub (--mercure) behind each front server as shipped
(deploy/): lighttpd (demo.conf), nginx (fcgi-sse.conf) and Apache (fcgi-sse-proxy-fcgi.conf,
with mod_php beside it), with real clients.

Per front server F, a responder of its own (both drafts, anonymous subscribers, active
subscriptions, a publisher key and a subscriber key, --mercure-issuer and -audience, retry 1 s)
behind F's shipped config, and:
- refusals arrive through F whole: a publish without a token is 401 with WWW-Authenticate:
  Bearer and its one-line reason; a subscriber with an expired at+jwt 401 invalid_token,
  saying so; Symfony's Hub with a token that may not publish there gets 403
  insufficient_scope, and its exception holds the hub's reason;
- Chromium's own EventSource in a page F serves, at http://localhost:PORT: two anonymous
  subscribers (legacy topic= and current match_urlpattern=), then two with the cookie the
  site sets through F (Set-Cookie from F's own config for lighttpd and nginx; from the PHP site
  on Apache, Symfony's Authorization making the legacy one): mercureAuthorization (a legacy
  token granting books/1) and __Secure-mercure_access_token (an at+jwt granting books/2),
  the browser's request log showing which cookies each request carried;
- the `eventsource` npm client with Authorization: Bearer (an at+jwt made here with
  authorization_details granting a URL pattern), subscribing with match= and
  match_urlpattern=;
- Symfony's own publisher (Debian's php-symfony-mercure: Hub, Update, StaticTokenProvider
  with a legacy token) publishes through F a public update, two private ones and a public
  marker: each subscriber gets exactly what its grants allow, in publish order, with the ids
  Symfony's Hub returned (the marker, last, shows nothing else came);
- the subscriptions API through F, its topics %2F-encoded in the path, for both drafts;
- reconnect: F is stopped under the open streams, three updates are published meanwhile
  (straight to the responder's socket: a public one, a private one the current cookie
  grants, a private one it does not), F starts again on its port: each of Chromium's
  EventSources reconnects by itself, with Last-Event-ID and the cookies the browser holds
  by then (the request log), after the publishes, and gets from the hub's history what
  the cookie grants, the npm client all three; nothing lost, nothing twice;
- Apache only: the PHP site served by the same Apache (mod_php) publishes on a POST with
  Symfony's Hub to its own MERCURE_URL, and the subscribers get it as their grants say;
  its login answer carries the discovery header Link: <...>; rel="mercure".
- lighttpd only: the __Secure- cookie over plain http at http://127.0.0.1 too.

What the test found of Chromium (156) and cookies over plain http: a Secure cookie, and so
__Secure-mercure_access_token, set by Set-Cookie, is kept and sent on http://localhost and on
http://127.0.0.1 (both are secure contexts); playwright's addCookies cannot make a __Secure-
cookie for an http URL, which is why the sites here set them with real Set-Cookie headers.

Tokens are signed by Debian's python3-jwt (PyJWT), not by the responder's code. Judged by order
and deadlines only. FCGI_SSE_MERCURE_FRONTS=lighttpd,nginx,apache (any of them) runs only
those. Skipped with the reason when Chromium, node/npm (tests/browser), php-cli
with php-symfony-mercure, or python3-jwt is missing; a front server not installed (or mod_php,
for the Apache run) is skipped alone.
"""

import glob
import json
import os
import shutil
import subprocess
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))    # the PHP scripts beside this file
from harness import (BUILDDIR, FCGI_STDOUT, SRCDIR, Tap, Workdir,  # noqa: E402
                     cleanup_on_signals, fcgi_raw, fcgi_read_records, fcgi_request_bytes,
                     free_port, start_lighttpd, wait_for)
from nodedeps import NodeProc, node_dir  # noqa: E402
import apache as apl  # noqa: E402
import nginx as ngx  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
PY_SYSTEM = "/usr/bin/python3"          # Debian's, with python3-jwt
SYMFONY = "/usr/share/php/Symfony/Component/Mercure/autoload.php"
MOD_PHP = sorted(glob.glob("/usr/lib/apache2/modules/libphp*.so"))
ISS = "https://example.com"
AUD = "https://example.com/.well-known/mercure"
DETAIL = "https://mercure.rocks/authorization-detail"
BOOKS_TEMPLATE = "https://example.com/books/{id}"
BOOKS_PATTERN = "https://example.com/books/:id"
RETRY_MS = 1000
WAIT = 15                                # seconds: the deadline of every wait


def book(n):
    return "https://example.com/books/%d" % n


cleanup_on_signals()
t = Tap()

# ---------------------------------------------------------------- what it needs

missing = []
if not os.path.exists(CHROMIUM):
    missing.append("%s (apt-get install chromium)" % CHROMIUM)
if not shutil.which("php") or not os.path.exists(SYMFONY):
    missing.append("php-cli with php-symfony-mercure")
if subprocess.run([PY_SYSTEM, "-c", "import jwt"], capture_output=True).returncode != 0:
    missing.append("python3-jwt")
NDIR, why_node = node_dir(BUILDDIR)
if NDIR is None:
    missing.append("%s (tests/browser needs node, npm and `npm ci`)" % why_node)
if missing:
    t.skip("the Mercure hub behind lighttpd, nginx and Apache", "missing: " + "; ".join(missing))
    t.done()


# ---------------------------------------------------------------- tokens, publishers

def sign(jobs):
    """[(claims, secret, typ)] -> tokens (HS256), made by Debian's python3-jwt."""
    code = ("import json, sys, jwt\n"
            "for c, k, typ in json.load(sys.stdin):\n"
            "    print(jwt.encode(c, k, algorithm='HS256', headers={'typ': typ}))\n")
    r = subprocess.run([PY_SYSTEM, "-c", code], input=json.dumps(jobs), capture_output=True,
                       text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError("python3-jwt: " + r.stderr[-800:])
    return r.stdout.split()


def access_token_claims(topics, exp_in=600, actions=("subscribe",)):
    """The claims of an RFC 9068 access token for the hub (the current draft)."""
    now = int(time.time())
    return {"iss": ISS, "aud": AUD, "sub": "urn:uuid:%s" % uuid.uuid4(), "client_id": ISS,
            "iat": now, "exp": now + exp_in, "jti": str(uuid.uuid4()),
            "authorization_details": [{"type": DETAIL, "actions": list(actions),
                                       "topics": topics}]}


def symfony_publish(port, token, updates):
    """Symfony's Hub publishes each update through the front server on port (php-cli, as a
    Symfony command would): [{"id"} or {"status", "body", "error"}]."""
    job = {"hub": "http://127.0.0.1:%d/.well-known/mercure" % port, "token": token,
           "updates": updates}
    r = subprocess.run(["php", os.path.join(HERE, "mercure_publish.php")],
                       input=json.dumps(job), capture_output=True, text=True, timeout=60)
    try:
        return json.loads(r.stdout)
    except ValueError:
        raise RuntimeError("mercure_publish.php: %s\n%s" % (r.stdout[-800:], r.stderr[-800:]))


def fcgi_publish(sock, token, form):
    """A publish straight to the responder's socket (no front server): (status line, body)."""
    body = urllib.parse.urlencode(form, doseq=True).encode()
    params = {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/.well-known/mercure",
              "QUERY_STRING": "", "CONTENT_TYPE": "application/x-www-form-urlencoded",
              "CONTENT_LENGTH": str(len(body)), "HTTP_AUTHORIZATION": "Bearer " + token}
    s = fcgi_raw(sock, send=False)
    s.sendall(fcgi_request_bytes(params, stdin=body))
    recs, _ = fcgi_read_records(s, 5)
    s.close()
    out = b"".join(c for r, c, _ in recs if r == FCGI_STDOUT).decode("utf-8", "replace")
    head, _, rest = out.partition("\r\n\r\n")
    return head.split("\r\n")[0], rest


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


# ---------------------------------------------------------------- the front servers

COOKIE_ATTRS = "Path=/.well-known/mercure; HttpOnly; SameSite=Strict"


class Lighttpd:
    """deploy/lighttpd/demo.conf as shipped, included by a config that adds the site's two
    login pages (static pages whose answer sets the cookie)."""
    kind = "lighttpd"
    page = "/blank.html"

    def __init__(self, wd, sock, html, cookies):
        self.wd, self.sock, self.html, self.port = wd, sock, html, None
        self.login = ("/login-legacy.html", "/login-current.html")
        blocks = ['include "%s"' % os.path.join(SRCDIR, "deploy", "lighttpd", "demo.conf")]
        for path, cookie in zip(self.login, cookies):
            blocks.append('$HTTP["url"] == "%s" {\n    setenv.add-response-header += '
                          '( "Set-Cookie" => "%s" )\n}' % (path, cookie))
        self.conf = write(wd.file("lighttpd-mercure.conf"), "\n".join(blocks) + "\n")
        self.start()

    def start(self):
        self.proc, self.port = start_lighttpd(self.wd, self.sock, html=self.html,
                                              conf=self.conf, port=self.port)

    def stop(self):
        self.proc.stop()


class Nginx:
    """deploy/nginx/fcgi-sse.conf as shipped (templated in its port, root and socket), with
    the site's two login pages as exact locations beside its root line."""
    kind = "nginx"
    page = "/blank.html"

    def __init__(self, wd, sock, html, cookies):
        self.wd, self.sock, self.html, self.port, self.n = wd, sock, html, free_port(), 0
        self.login = ("/login-legacy.html", "/login-current.html")
        self.extra = "".join('\n    location = %s { add_header Set-Cookie "%s" always; }'
                             % (p, c) for p, c in zip(self.login, cookies))
        self.start()

    def start(self):
        self.n += 1
        self.ngx = ngx.Nginx(self.wd, self.sock, self.html, name="nginx-%d" % self.n,
                             port=self.port,
                             subs={ngx.ROOT: "root %s;%s" % (self.html, self.extra)})

    def stop(self):
        workers = self.ngx.workers()
        self.ngx.proc.stop()
        ngx.kill_leftovers(workers)


class Apache:
    """deploy/apache/fcgi-sse-proxy-fcgi.conf as shipped (its Defines: the page, the socket),
    under mpm_prefork with mod_php serving the PHP site mercure_site.php (beside this file) at /app/, which
    is configured as a Symfony app is: MERCURE_URL, MERCURE_PUBLIC_URL, MERCURE_JWT_SECRET."""
    kind = "apache"
    page = "/app/?do=page"

    def __init__(self, wd, sock, secret):
        self.wd, self.port, self.n = wd, free_port(), 0
        self.login = ("/app/?do=login-legacy&grant=" + urllib.parse.quote(book(1), safe=""),
                      "/app/?do=login-current&grant=" + urllib.parse.quote(book(2), safe=""))
        site = wd.file("site")
        os.mkdir(site)
        shutil.copy(os.path.join(HERE, "mercure_site.php"), os.path.join(site, "index.php"))
        site = wd.for_others(site)
        self.defines = {"FCGI_SSE_HTML": apl.page(wd), "FCGI_SSE_URL": "/fcgi-sse",
                        "FCGI_SSE_SOCKET": sock}
        self.extra = "\n".join([
            "LoadModule php_module %s" % MOD_PHP[-1],
            "Alias /app %s" % site,
            "<Directory %s>" % site,
            "    Require all granted",
            "    DirectoryIndex index.php",
            '    <FilesMatch "\\.php$">',
            "        SetHandler application/x-httpd-php",
            "    </FilesMatch>",
            "    SetEnv MERCURE_URL http://127.0.0.1:%d/.well-known/mercure" % self.port,
            "    SetEnv MERCURE_PUBLIC_URL http://localhost:%d/.well-known/mercure" % self.port,
            "    SetEnv MERCURE_JWT_SECRET %s" % secret,
            "    SetEnv MERCURE_ISSUER %s" % ISS,
            "    SetEnv MERCURE_AUDIENCE %s" % AUD,
            "</Directory>"])
        self.start()

    def start(self):
        self.n += 1
        self.a = apl.Apache(self.wd, "apache-%d" % self.n, "proxy_fcgi", self.defines,
                            self.extra, port=self.port, mpm="mpm_prefork")

    def stop(self):
        apl.stop_all([self.a])


# ---------------------------------------------------------------- one front server

def events_of(m, kind, name):
    r = m.ask({"cmd": "get", "kind": kind, "name": name}, 10)
    return r if r and r.get("ok") else {"events": [], "opens": [], "errors": [], "state": None}


def pairs(rec):
    return [(e["id"], e["data"]) for e in rec["events"]]


def run_front(label, wd, make_front):
    """The whole story through one front server. make_front(wd, sock, cookies, secret) ->
    the front server, started (secret: the publisher's, for a site that publishes)."""
    pub_secret = "publisher-secret-of-%s-0123456789abcdef" % label
    sub_secret = "subscriber-secret-of-%s-0123456789abcdef" % label
    if label == "apache":      # a Symfony app: one MERCURE_JWT_SECRET for both
        sub_secret = pub_secret
    pkf = write(wd.file("publisher.key"), pub_secret + "\n", 0o600)
    skf = write(wd.file("subscriber.key"), sub_secret + "\n", 0o600)
    now = int(time.time())
    (t_pub, t_pub_narrow, t_cookie_legacy, t_cookie_current, t_bearer, t_api_current,
     t_api_legacy, t_expired) = sign([
        ({"mercure": {"publish": ["*"]}}, pub_secret, "JWT"),
        ({"mercure": {"publish": ["https://example.com/other/{id}"]}}, pub_secret, "JWT"),
        ({"mercure": {"subscribe": [book(1)]}, "exp": now + 600}, sub_secret, "JWT"),
        (access_token_claims([{"match": book(2)}]), sub_secret, "at+jwt"),
        (access_token_claims([{"match": BOOKS_PATTERN, "match_type": "urlpattern"}]),
         sub_secret, "at+jwt"),
        (access_token_claims([{"match": "*"}]), sub_secret, "at+jwt"),
        ({"mercure": {"subscribe": ["*"]}}, sub_secret, "JWT"),
        (access_token_claims([{"match": "*"}], exp_in=-30), sub_secret, "at+jwt")])
    cookies = ("mercureAuthorization=%s; %s" % (t_cookie_legacy, COOKIE_ATTRS),
               "__Secure-mercure_access_token=%s; Secure; %s" % (t_cookie_current,
                                                                 COOKIE_ATTRS))
    resp, sock = ngx.start_responder_for_nginx(wd, [
        "--mercure", "--mercure-anonymous", "--mercure-subscriptions",
        "--mercure-publisher-key-file", pkf, "--mercure-subscriber-key-file", skf,
        "--mercure-issuer", ISS, "--mercure-audience", AUD, "-r", str(RETRY_MS), "-k", "5"],
        name="fcgi-sse-" + label)
    front = make_front(wd, sock, cookies, pub_secret)
    port = front.port
    base = "http://localhost:%d" % port
    hub = "/.well-known/mercure"

    # --- refusals, through the front server, whole
    st, hdrs, body = ngx.get_from(port, hub, method="POST", body=b"topic=x&data=y",
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    t.ok(st == 401 and hdrs.get("www-authenticate", "").startswith("Bearer") and
         body == b"a token is needed to publish: Authorization: Bearer, or the cookie\n",
         "%s: a publish without a token: 401, WWW-Authenticate: Bearer, its one-line reason"
         % label, (st, hdrs, body))
    st, hdrs, body = ngx.get_from(port, hub + "?match=" + urllib.parse.quote(book(1), safe=""),
                                  headers={"Authorization": "Bearer " + t_expired})
    t.ok(st == 401 and 'error="invalid_token"' in hdrs.get("www-authenticate", "") and
         b"exp" in body and body.count(b"\n") == 1,
         "%s: a subscriber with an expired at+jwt: 401 invalid_token, the line says exp" % label,
         (st, hdrs, body))
    res = symfony_publish(port, t_pub_narrow, [{"topics": [book(1)], "data": "x"}])
    t.ok(res and res[0].get("status") == 403 and "does not grant publish" in
         (res[0].get("body") or ""),
         "%s: Symfony's Hub with a token that may not publish on the topic: 403, its "
         "exception holds the hub's reason" % label, res)

    m = NodeProc(["node", "mercure.mjs", CHROMIUM], wd.file("mercure-node.log"), cwd=NDIR,
                 quit_cmd={"cmd": "quit"})
    try:
        t.ok(m.read_json(30) == {"ready": True} and
             (m.ask({"cmd": "browser", "dir": wd.file("chromium")}, 60) or {}).get("ok"),
             "%s: headless Chromium starts" % label, m.log()[-2000:])
        r = m.ask({"cmd": "goto", "url": base + front.page}, 20) or {}
        t.eq(r.get("status"), 200, "%s: the page loads from %s" % (label, base + front.page))

        # --- subscribers: two anonymous ones, two with the site's cookies, one with a header
        legacy_q = "?topic=" + urllib.parse.quote(BOOKS_TEMPLATE, safe="")
        current_q = "?match_urlpattern=" + urllib.parse.quote(BOOKS_PATTERN, safe="")
        subs = [("anon-legacy", "browser", hub + legacy_q),
                ("anon-current", "browser", hub + current_q)]
        for name, kind, url in subs:
            m.ask({"cmd": "open", "kind": kind, "name": name, "url": url}, 10)
        logins = {}
        for i, (name, query) in enumerate((("cookie-legacy", legacy_q),
                                           ("cookie-current", current_q))):
            r = m.ask({"cmd": "evaluate", "expr":
                       "fetch(%s).then(async (r) => ({status: r.status, link: "
                       "r.headers.get('link'), body: await r.text()}))"
                       % json.dumps(front.login[i])}, 20) or {}
            logins[name] = r.get("value") or {}
            names = (m.ask({"cmd": "cookies", "url": base + hub}, 10) or {}).get("names", [])
            want = ["mercureAuthorization"] if i == 0 else \
                ["__Secure-mercure_access_token", "mercureAuthorization"]
            t.ok(logins[name].get("status") == 200 and sorted(names) == want,
                 "%s: %s sets the cookie %s; the browser keeps it for the hub's path (Secure "
                 "over http on localhost: a secure context)" % (label, front.login[i], want[0]),
                 (logins[name], names))
            subs.append((name, "browser", hub + query))
            m.ask({"cmd": "open", "kind": "browser", "name": name, "url": hub + query}, 10)
        node_url = "http://127.0.0.1:%d%s?match=%s&match_urlpattern=%s" % (
            port, hub, urllib.parse.quote(book(1), safe=""),
            urllib.parse.quote(BOOKS_PATTERN, safe=""))
        m.ask({"cmd": "open", "kind": "node", "name": "node-bearer", "url": node_url,
               "headers": {"Authorization": "Bearer " + t_bearer}}, 10)
        subs.append(("node-bearer", "node", node_url))
        opened = wait_for(lambda: all(events_of(m, k, n)["state"] == 1 and
                                      events_of(m, k, n)["opens"] for n, k, _ in subs), WAIT)
        t.ok(opened, "%s: five subscribers open (Chromium x4, eventsource with a bearer)" % label,
             {n: events_of(m, k, n) for n, k, _ in subs})
        # the requests in the order the EventSources were opened (two share each URL)
        reqs = (m.ask({"cmd": "requests"}, 10) or {}).get("requests", [])
        sent, taken = {}, set()
        for n, k, u in subs:
            q = next((i for i, q in enumerate(reqs) if q["url"] == base + u and i not in taken),
                     None) if k == "browser" else None
            if k == "browser":
                taken.add(q)
                sent[n] = reqs[q]["cookies"] if q is not None else None
        t.eq(sent, {"anon-legacy": [], "anon-current": [],
                    "cookie-legacy": ["mercureAuthorization"],
                    "cookie-current": ["mercureAuthorization", "__Secure-mercure_access_token"]},
             "%s: each EventSource request carried the cookies the site had set by then" % label)
        if label == "apache":
            t.eq(logins["cookie-legacy"].get("link"),
                 '<http://localhost:%d/.well-known/mercure>; rel="mercure"' % port,
                 "apache: the PHP site's answer carries the discovery Link header (Symfony's "
                 "WebLink)")

        # --- Symfony publishes through the front server
        updates = [{"topics": [book(3)], "data": "U0 public, %s" % label},
                   {"topics": [book(1)], "data": "U1 private books/1", "private": True},
                   {"topics": [book(2)], "data": "U2 private books/2", "private": True},
                   {"topics": [book(3)], "data": "M1 marker"}]
        res = symfony_publish(port, t_pub, updates)
        ids = [r.get("id") for r in res]
        t.ok(len(ids) == 4 and all(i and i.startswith("urn:uuid:") for i in ids),
             "%s: Symfony's Hub publishes four updates through %s: each answered with its id"
             % (label, label), res)
        u0, u1, u2, m1 = [(i, u["data"]) for i, u in zip(ids, updates)]
        want = {"anon-legacy": [u0, m1], "anon-current": [u0, m1],
                "cookie-legacy": [u0, u1, m1], "cookie-current": [u0, u2, m1],
                "node-bearer": [u0, u1, u2, m1]}
        if label == "apache":
            # --- the PHP site in the same Apache publishes on a request, as a site does
            st, _, body = ngx.get_from(port, "/app/?do=publish", method="POST",
                                       headers={"Content-Type":
                                                "application/x-www-form-urlencoded"},
                                       body=urllib.parse.urlencode(
                                           {"topic": book(1), "data": "S1 from the site",
                                            "private": "on"}).encode(), timeout=30)
            res = symfony_publish(port, t_pub, [{"topics": [book(3)], "data": "M2 marker"}])
            s1, m2 = (body.decode(), "S1 from the site"), (res[0].get("id"), "M2 marker")
            t.ok(st == 200 and s1[0].startswith("urn:uuid:"),
                 "apache: the PHP site (mod_php) publishes on a POST with Symfony's Hub to its "
                 "own MERCURE_URL: 200, the id", (st, body))
            for n in want:
                want[n] = want[n] + ([s1] if n in ("cookie-legacy", "node-bearer") else []) + [m2]
        last = {n: w[-1] for n, w in want.items()}
        wait_for(lambda: all(last[n] in pairs(events_of(m, k, n)) for n, k, _ in subs), WAIT)
        got = {n: pairs(events_of(m, k, n)) for n, k, _ in subs}
        for n, k, _ in subs:
            t.eq(got[n], want[n], "%s: %s gets %s" % (
                label, n, ", ".join(d.split(" ")[0] for _, d in want[n])))

        # --- the subscriptions API, its topics %2F-encoded in the path
        path = "%s/subscriptions/urlpattern/%s" % (hub, urllib.parse.quote(BOOKS_PATTERN, safe=""))
        st, hdrs, body = ngx.get_from(port, path, headers={"Authorization": "Bearer " +
                                                           t_api_current})
        doc = json.loads(body) if st == 200 else {}
        t.ok(st == 200 and hdrs.get("content-type", "").startswith("application/json") and
             doc.get("id") == path and len(doc.get("subscriptions", [])) == 3 and
             all(s.get("match") == BOOKS_PATTERN for s in doc["subscriptions"]),
             "%s: the subscriptions API (current) through %s: %s lists the 3 URL-pattern "
             "subscriptions" % (label, label, path), (st, hdrs, body[:800]))
        path = "%s/subscriptions/%s" % (hub, urllib.parse.quote(BOOKS_TEMPLATE, safe=""))
        st, hdrs, body = ngx.get_from(port, path, headers={"Authorization": "Bearer " +
                                                           t_api_legacy})
        doc = json.loads(body) if st == 200 else {}
        t.ok(st == 200 and hdrs.get("content-type", "").startswith("application/ld+json") and
             doc.get("id") == path and len(doc.get("subscriptions", [])) == 2,
             "%s: the subscriptions API (legacy) through %s: %s lists the 2 topic= "
             "subscriptions" % (label, label, path), (st, hdrs, body[:800]))

        # --- reconnect: the front server goes away under the streams and comes back
        before = {n: len(events_of(m, k, n)["errors"]) for n, k, _ in subs}
        t_stop = time.time() * 1000
        front.stop()
        t.diag("%s: stopped in %.1f s" % (label, time.time() - t_stop / 1000))
        down = wait_for(lambda: all(len(events_of(m, k, n)["errors"]) > before[n]
                                    for n, k, _ in subs), WAIT)
        t.ok(down, "%s stopped: every subscriber saw its stream end (error event)" % label,
             {n: events_of(m, k, n)["errors"] for n, k, _ in subs})
        down_updates = [({"topic": book(3), "data": "U3 public"}, True),
                        ({"topic": book(2), "data": "U4 private books/2", "private": "on"}, True),
                        ({"topic": book(1), "data": "U5 private books/1", "private": "on"}, False)]
        res = [fcgi_publish(sock, t_pub, f) for f, _ in down_updates]
        t_published = time.time() * 1000
        t.ok(all(r[0] == "Status: 200 OK" for r in res),
             "%s down: three updates published straight to the responder's socket" % label, res)
        u3, u4, u5 = [(r[1], f["data"]) for r, (f, _) in zip(res, down_updates)]
        front.start()
        # Every EventSource of the page reconnects with the cookies the browser holds by
        # now, both: the hub takes __Secure-mercure_access_token (books/2), the anonymous
        # ones included. The npm client keeps its bearer (every book).
        back = {n: [u3, u4] if k == "browser" else [u3, u4, u5] for n, k, _ in subs}
        wait_for(lambda: all(back[n][-1] in pairs(events_of(m, k, n)) for n, k, _ in subs),
                 WAIT + RETRY_MS / 1000.0)
        res = symfony_publish(port, t_pub, [{"topics": [book(3)], "data": "M3 marker"}])
        m3 = (res[0].get("id"), "M3 marker")
        wait_for(lambda: all(m3 in pairs(events_of(m, k, n)) for n, k, _ in subs), WAIT)
        for n, k, _ in subs:
            t.eq(pairs(events_of(m, k, n)), want[n] + back[n] + [m3],
                 "%s: %s reconnected by itself and got what was published meanwhile, once, "
                 "in order" % (label, n))
        reqs = (m.ask({"cmd": "requests"}, 10) or {}).get("requests", [])
        again = [q for q in reqs if q["t"] >= t_stop and q["url"].startswith(base + hub + "?")]
        ok_again = [q for q in again if q["status"] == 200]
        last_before = {want[n][-1][0] for n, k, _ in subs if k == "browser"}
        t.ok(again and all(q["lastEventId"] in last_before for q in again) and
             len(ok_again) == 4 and all(q["t"] > t_published and sorted(q["cookies"]) ==
                                        ["__Secure-mercure_access_token",
                                         "mercureAuthorization"] for q in ok_again),
             "%s: Chromium's reconnects carried Last-Event-ID (the last id each had) and the "
             "cookies; the four that got through came after the publishes (replayed from "
             "history, U5 withheld: private, not granted)" % label, (again, t_published))

        if label == "lighttpd":
            # --- the __Secure- cookie at http://127.0.0.1 too (the page is reloaded there)
            other = "http://127.0.0.1:%d" % port
            m.ask({"cmd": "goto", "url": other + front.login[1]}, 20)
            m.ask({"cmd": "goto", "url": other + front.page}, 20)
            m.ask({"cmd": "open", "kind": "browser", "name": "loopback", "url": hub + current_q},
                  10)
            wait_for(lambda: events_of(m, "browser", "loopback")["opens"], WAIT)
            reqs = (m.ask({"cmd": "requests"}, 10) or {}).get("requests", [])
            q = [x for x in reqs if x["url"].startswith(other + hub)]
            t.ok(q and q[-1]["status"] == 200 and
                 "__Secure-mercure_access_token" in q[-1]["cookies"],
                 "lighttpd: at http://127.0.0.1 too, Chromium keeps and sends the __Secure- "
                 "cookie over plain http", q)
    finally:
        m.stop()
        front.stop()
        resp.stop()


# ---------------------------------------------------------------- the three of them

def html_dir(wd):
    """An empty page and the two login pages, readable by the web servers' workers."""
    d = wd.file("html")
    os.mkdir(d)
    for name in ("blank.html", "login-legacy.html", "login-current.html"):
        write(os.path.join(d, name), "<!doctype html><title>%s</title>\n" % name)
    return wd.for_others(d)


FRONTS = [
    ("lighttpd", shutil.which("lighttpd"), "lighttpd is not installed",
     lambda wd, sock, cookies, secret: Lighttpd(wd, sock, html_dir(wd), cookies)),
    ("nginx", ngx.nginx_binary(), "nginx is not installed",
     lambda wd, sock, cookies, secret: Nginx(wd, sock, html_dir(wd), cookies)),
    ("apache", os.path.exists(apl.APACHE2) and not apl.missing_modules(
        ["proxy", "proxy_fcgi", "mpm_prefork"]) and MOD_PHP,
     "apache2 with mod_proxy_fcgi and mod_php (libapache2-mod-php) is not installed",
     lambda wd, sock, cookies, secret: Apache(wd, sock, secret)),
]

# FCGI_SSE_MERCURE_FRONTS=nginx,apache runs those only (the others are not counted).
ONLY = [x for x in os.environ.get("FCGI_SSE_MERCURE_FRONTS", "").split(",") if x]
t0 = time.monotonic()
for label, have, why, make in FRONTS:
    if ONLY and label not in ONLY:
        continue
    if not have:
        t.skip("the Mercure hub behind %s" % label, why)
        continue
    wd = Workdir("mercure-" + label)
    wd.open_to_others()
    t1 = time.monotonic()
    try:
        run_front(label, wd, make)
        t.diag("%s: %.1f s" % (label, time.monotonic() - t1))
    except Exception as e:   # one front server's failure does not hide the others'
        t.exception(e, "%s: stopped" % label)
    finally:
        wd.cleanup()
t.diag("the whole test took %.1f s" % (time.monotonic() - t0))
t.done()
