"""mercureclient.py -- a Mercure client for the tests: tokens of both drafts, publish,
subscribe and the subscriptions API, straight over FastCGI to the responder.

Tokens are made by PyJWT (Debian's python3-jwt, on python3-cryptography: an implementation
other than the hub's), keys by openssl(1). A request is a raw FastCGI connection with the
params a front server passes (SCRIPT_NAME, REQUEST_URI with the path as sent, QUERY_STRING,
HTTP_* headers); Conn reads its answer incrementally (status, headers, body, events).

Limits: python3-jwt lives in Debian's /usr/bin/python3 (need_jwt() runs the test file there
when the interpreter running it lacks it); one request per connection.
"""

import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid

from harness import (FCGI_END_REQUEST, FCGI_STDIN, FCGI_STDOUT, SseParser, fcgi_record,
                     fcgi_request_bytes, fcgi_split_records, pump)

PY_SYSTEM = "/usr/bin/python3"   # Debian's python3-jwt lives there
DETAIL = "https://mercure.rocks/authorization-detail"
HUB = "/.well-known/mercure"


def need_jwt():
    """Imports PyJWT, running this test file again under Debian's /usr/bin/python3 when the
    interpreter that runs it has no python3-jwt (a python3 of its own earlier on PATH)."""
    try:
        import jwt  # noqa: F401
        return
    except ImportError:
        pass
    if os.environ.get("FCGI_SSE_JWT_REEXEC") != "1" and os.path.exists(PY_SYSTEM):
        os.environ["FCGI_SSE_JWT_REEXEC"] = "1"
        sys.stdout.flush()
        os.execv(PY_SYSTEM, [PY_SYSTEM] + sys.argv)
    raise RuntimeError("python3-jwt is missing: apt-get install python3-jwt "
                       "python3-cryptography (deploy/install-deps.sh test)")


# ---------------------------------------------------------------- keys and tokens

class Keys:
    """The keys of one test: HMAC secrets and key pairs (openssl genpkey) in directory d.
    secret(name) / pair(kind) write the files the hub reads (mode 0600) and keep what
    signs."""

    def __init__(self, d):
        self.d = d
        self.priv = {}

    def secret(self, name, value):
        path = os.path.join(self.d, name)
        with open(path, "w") as f:
            f.write(value + "\n")
        os.chmod(path, 0o600)
        self.priv[name] = value
        return path

    def pair(self, name, kind):
        """kind: rsa, ec (P-256), ed25519. Returns the public key's path."""
        opts = {"rsa": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                "ec": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
                "ed25519": ["-algorithm", "ED25519"]}[kind]
        key, pub = os.path.join(self.d, name + ".key"), os.path.join(self.d, name + ".pub")
        subprocess.run(["openssl", "genpkey"] + opts + ["-out", key], check=True,
                       capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True,
                       capture_output=True)
        os.chmod(pub, 0o600)
        with open(key, "rb") as f:
            self.priv[name] = f.read()
        with open(pub, "rb") as f:
            self.priv[name + ".pub"] = f.read()
        return pub


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def sign(claims, key, alg="HS256", typ="at+jwt", extra=None):
    """A JWS made by PyJWT: header {alg, typ (None: no typ), extra...}."""
    import jwt
    headers = dict(extra or {})
    if typ is not None:
        headers["typ"] = typ
    if isinstance(key, str):
        key = key.encode()
    tok = jwt.encode(claims, key, algorithm=alg, headers=headers)
    if typ is None:
        # PyJWT always writes typ JWT: a header without it, signed again
        h = {"alg": alg}
        h.update(extra or {})
        return forge(h, claims, key if alg.startswith("HS") else None)
    return tok


def forge(header, claims, hmac_key=None, sig=b""):
    """A token PyJWT will not make: header and claims as given, signed with HMAC-SHA256
    over hmac_key (bytes) when given, else sig as the signature."""
    head = b64(json.dumps(header, separators=(",", ":")).encode())
    body = b64(json.dumps(claims, separators=(",", ":")).encode())
    if hmac_key is not None:
        sig = hmac.new(hmac_key, ("%s.%s" % (head, body)).encode(), hashlib.sha256).digest()
    return "%s.%s.%s" % (head, body, b64(sig))


def matchers(topics):
    """Token topic matchers: "x" is exact, ("x", "urlpattern") names its type."""
    out = []
    for t in topics:
        if isinstance(t, tuple):
            out.append({"match": t[0], "match_type": t[1]})
        else:
            out.append({"match": t})
    return out


def current_claims(issuer, audience, subscribe=None, publish=None, exp_in=600, payload=None,
                   details=None, **over):
    """RFC 9068 claims with Mercure authorization details granting subscribe and publish on
    those matchers (None: no such detail); over replaces or (None) removes claims."""
    now = int(time.time())
    c = {"iss": issuer, "aud": audience, "sub": "urn:uuid:" + str(uuid.uuid4()),
         "client_id": "https://app.example.com", "iat": now, "exp": now + exp_in,
         "jti": "urn:uuid:" + str(uuid.uuid4())}
    d = list(details or [])
    if subscribe is not None:
        x = {"type": DETAIL, "actions": ["subscribe"], "topics": matchers(subscribe)}
        if payload is not None:
            x["payload"] = payload
        d.append(x)
    if publish is not None:
        d.append({"type": DETAIL, "actions": ["publish"], "topics": matchers(publish)})
    if d:
        c["authorization_details"] = d
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def legacy_claims(subscribe=None, publish=None, payload=None, exp_in=None, **over):
    """A legacy token's claims: {"mercure": {publish, subscribe, payload}} (exp when
    exp_in is given: Symfony's tokens have none)."""
    m = {}
    if publish is not None:
        m["publish"] = list(publish)
    if subscribe is not None:
        m["subscribe"] = list(subscribe)
    if payload is not None:
        m["payload"] = payload
    c = {"mercure": m}
    if exp_in is not None:
        c["exp"] = int(time.time()) + exp_in
    c.update(over)
    return c


# ---------------------------------------------------------------- requests

def form(pairs):
    """An application/x-www-form-urlencoded body of [(name, value)] (URLSearchParams' way)."""
    return urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote).encode()


def query(pairs):
    return urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote)


class Conn:
    """One request over a raw FastCGI connection to the responder's socket, read as it
    arrives: status, headers (a list of (name, value)), body, and the SSE events of the
    body (SseParser: dicts with id, event, data, retry, t)."""

    def __init__(self, sock, method="GET", path=HUB, qs="", headers=None, body=b"",
                 token=None, params=None, rcvbuf=None):
        p = {"REQUEST_METHOD": method, "SCRIPT_NAME": urllib.parse.unquote(path),
             "REQUEST_URI": path + ("?" + qs if qs else ""), "QUERY_STRING": qs,
             "SERVER_PROTOCOL": "HTTP/1.1", "GATEWAY_INTERFACE": "CGI/1.1",
             "HTTP_HOST": "hub.example.com", "REQUEST_SCHEME": "https", "HTTPS": "on"}
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        for k, v in h.items():
            name = k.upper().replace("-", "_")
            if name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                p[name] = v
            else:
                p["HTTP_" + name] = v
        if body:
            p.setdefault("CONTENT_TYPE", "application/x-www-form-urlencoded")
            p["CONTENT_LENGTH"] = str(len(body))
        p.update(params or {})
        self.t_start = time.monotonic()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(sock)
        req = fcgi_request_bytes(p)[:-8]      # without its empty STDIN record
        for i in range(0, len(body), 65535):
            req += fcgi_record(FCGI_STDIN, body[i:i + 65535])
        try:
            self.sock.sendall(req + fcgi_record(FCGI_STDIN, b""))
        except (BrokenPipeError, ConnectionResetError):
            pass    # answered before the whole body was read: the answer is still there
        self.sock.setblocking(False)
        self.buf = b""
        self.out = b""
        self.status = None
        self.headers = []
        self.body = b""
        self.t_head = None
        self.parser = SseParser()
        self.events = []
        self.ended = False    # END_REQUEST came
        self.eof = False
        self.t_end = None

    def fileno(self):
        return self.sock.fileno()

    def read_once(self):
        try:
            b = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except ConnectionResetError:
            b = b""
        t = time.monotonic()
        if not b:
            self.eof = True
            self.t_end = self.t_end or t
            return
        recs, self.buf = fcgi_split_records(self.buf + b)
        for rtype, _, content in recs:
            if rtype == FCGI_STDOUT:
                self._stdout(content, t)
            elif rtype == FCGI_END_REQUEST:
                self.ended = True
                self.eof = True
                self.t_end = t

    def _stdout(self, b, t):
        if self.status is not None:
            self.body += b
            self.events.extend(self.parser.feed(b, t))
            return
        self.out += b
        i = self.out.find(b"\r\n\r\n")
        if i < 0:
            return
        lines = self.out[:i].decode("utf-8", "replace").split("\r\n")
        rest = self.out[i + 4:]
        self.headers = [tuple(x.strip() for x in ln.split(":", 1)) for ln in lines if ":" in ln]
        st = self.header("Status") or "200"
        self.status = int(st.split()[0])
        self.t_head = t
        self.body = rest
        self.events.extend(self.parser.feed(rest, t))

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def read_until(self, cond, timeout):
        pump([self], lambda: cond(self), timeout)
        return cond(self)

    def wait_head(self, timeout=10):
        return self.read_until(lambda c: c.status is not None or c.eof, timeout)

    def finish(self, timeout=10):
        """Reads until the answer ends; returns self."""
        self.read_until(lambda c: c.eof, timeout)
        return self

    def data(self):
        """The update events: (id, event type or None, data)."""
        return [(e["id"], e["event"], e["data"]) for e in self.events if e["data"] is not None]

    def datas(self):
        return [e["data"] for e in self.events if e["data"] is not None]

    def text(self):
        return self.body.decode("utf-8", "replace")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def request(sock, method="GET", path=HUB, qs="", headers=None, body=b"", token=None,
            timeout=10, params=None):
    """One request answered in full (not a stream): the Conn, read to its end."""
    c = Conn(sock, method, path, qs, headers, body, token, params)
    c.finish(timeout)
    c.close()
    return c


def publish(sock, topics, data="", token=None, extra=(), headers=None, timeout=10):
    """POST a form with each topic, data and extra [(name, value)]; the answered Conn."""
    pairs = [("topic", t) for t in topics] + ([("data", data)] if data is not None else [])
    return request(sock, "POST", HUB, "", headers, form(pairs + list(extra)), token, timeout)


def subscribe(sock, pairs, token=None, headers=None, wait=True, timeout=10, rcvbuf=None):
    """GET the hub with the query [(name, value)]; with wait, once its header block is in
    (or the answer ended)."""
    c = Conn(sock, "GET", HUB, query(pairs), headers, b"", token, rcvbuf=rcvbuf)
    if wait:
        c.wait_head(timeout)
    return c


def status(sock):
    """The responder's /status over FastCGI."""
    c = request(sock, "GET", "/status")
    return json.loads(c.body or b"{}")
