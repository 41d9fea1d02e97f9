"""test_channel_control.py -- a channel's presence and control (GET/HEAD/DELETE
.../channels/NAME, DELETE .../channels/NAME/history) in memory, through the real web servers
started from the SHIPPED configs, and `fcgi-sse channel` on the socket.

- lighttpd (deploy/lighttpd/demo.conf) in front of the responder with --publish-key-file:
  the figures after known subscribers and publishes (subscribers, messages, bytes within
  /status's history_bytes, oldest, newest and dropped ids), HEAD; a purge keeps the
  subscribers, who get what follows, while a resume from before it gets `event: reset`; a
  delete ends every subscriber's stream of the channel, one of several channels too, each
  with `event: deleted` and the channel as its last event, then the end of the stream,
  while a subscriber of another channel goes on; a reconnect afterwards gets nothing of the
  deleted history; refusals: no key, a wrong key (403, one line), from another address
  than loopback (demo.conf: 403), a bad name (400), a method (405), a channel that does
  not exist (404).
- An internal channel: the responder is a Mercure hub too, and @mercure holds an update;
  GET, HEAD, DELETE and the purge of .../channels/@mercure get 403 with the key, the
  update is still held and the hub's subscriber is told nothing.
- A subscriber whose reader is slow is in the middle of a large message when its channel
  is deleted (raw FastCGI on the socket, the responder's send buffer full: -b 16384): it
  gets the whole message, then `event: deleted`.
- `fcgi-sse channel` against the running responder: the figures, --purge, --delete (a
  subscriber ends), refusals with exit status 1.
- Apache mod_proxy_fcgi (deploy/apache/fcgi-sse-proxy-fcgi.conf) and nginx
  (deploy/nginx/fcgi-sse.conf): the figures with the key, a delete that ends a subscriber,
  a purge, and the loopback-only refusal.

Apache and nginx parts are skipped without them or without root.
"""

import base64
import fcntl
import hashlib
import hmac
import json
import os
import pwd
import re
import secrets
import socket
import sys
import termios
import time
import urllib.parse

sys.dont_write_bytecode = True    # nothing written into the source tree

from harness import (FCGI_STDOUT, HttpStream, SseParser, Tap, Workdir, fcgi_raw,  # noqa: E402
                     fcgi_read_records, fcgi_request_bytes, fcgi_split_records, run_binary,
                     status, wait_for)
from client import start_with_lighttpd  # noqa: E402
from nginx import get_from  # noqa: E402

from harness import cleanup_on_signals  # noqa: E402
cleanup_on_signals()

t = Tap()
wd = Workdir("chanctl")
os.chmod(wd.path, 0o711)      # Apache's and nginx's workers reach sockets in here

KEY = "pub-" + secrets.token_hex(16)


def keyfile(name, key, owner=None):
    path = wd.file(name)
    with open(path, "w") as f:
        f.write("# a key a line\n%s\n" % key)
    os.chmod(path, 0o600)
    if owner:
        pw = pwd.getpwnam(owner)
        os.chown(path, pw.pw_uid, pw.pw_gid)
    return path


KEYFILE = keyfile("publish.keys", KEY)
MERCURE_KEY = "mercure-" + secrets.token_hex(24)
MERCURE_KEYFILE = wd.file("mercure-publisher.key")
with open(MERCURE_KEYFILE, "w") as f:
    f.write(MERCURE_KEY + "\n")
os.chmod(MERCURE_KEYFILE, 0o600)
TOPIC = "https://example.com/books/1"


def mid(s):
    m = re.fullmatch(r"(\d+)-(\d+)", s or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def one_line(b):
    return b.strip() and b"\n" not in b.strip()


def request(port, path, method="GET", key=KEY, source=None, headers=None):
    """One request through the web server; (status, headers, body bytes, json or None)."""
    h = dict(headers or {})
    if key:
        h["Authorization"] = "Bearer " + key
    st, hd, b = get_from(port, path, source=source, method=method, headers=h, timeout=10)
    j = None
    if st == 200 and b:
        try:
            j = json.loads(b)
        except ValueError:
            pass
    return st, hd, b, j


def publish(port, channel, body, key=KEY):
    st, _, b = get_from(port, "/publish?channel=" + channel, method="POST", body=body.encode(),
                        headers={"Authorization": "Bearer " + key}, timeout=10)
    return json.loads(b)["id"] if st == 200 else None


def subscribe(port, chans, last=None, prefix=""):
    q = prefix + "/events?" + "&".join("channel=" + c for c in chans)
    s = HttpStream(port, q, headers={"Last-Event-ID": last} if last else None)
    if not s.read_head(10) or s.status != 200:
        raise RuntimeError("subscribe %s: %r" % (q, s.status))
    return s


def data(s):
    """(id, type, data) of what a stream got, resets and deleted left out."""
    return [(e["id"], e["event"] or "message", e["data"]) for e in s.events
            if e["data"] is not None and (e["event"] or "message") not in ("reset", "deleted")]


def kinds(s):
    """The types of the events a stream got, in order (message for those without)."""
    return [e["event"] or "message" for e in s.events if e["data"] is not None]


def ended_deleted(s, channel):
    """The stream's last event is `deleted` with the channel (and no id: it does not move
    the browser's last id), and the stream ended."""
    ev = [e for e in s.events if e["data"] is not None]
    return s.eof and ev and ev[-1]["event"] == "deleted" and \
        s.body().endswith(b"\nevent: deleted\ndata: " + channel.encode() + b"\n\n")


def subscribers_of(sock, n, timeout=10):
    return wait_for(lambda: status(sock)["streams_open"] == n, timeout)


# ---------------------------------------------------------------- lighttpd

def check_figures(port, sock):
    st, _, b, _ = request(port, "/channels/news")
    t.ok(st == 404 and one_line(b) and b"no such channel" in b,
         "GET /channels/news before anything: 404 with one line (%r)" % b.strip(), (st, b))
    a = subscribe(port, ["news"])
    b2 = subscribe(port, ["news", "sport"])
    c = subscribe(port, ["sport"])
    bodies = ["first", "second, longer than the first", "third"]
    ids = [publish(port, "news", x) for x in bodies]
    sport1 = publish(port, "sport", "goal")
    st, h, b, j = request(port, "/channels/news")
    wire = sum(len("id: %s\ndata: %s\n\n" % (i, x)) for i, x in zip(ids, bodies))
    stat = status(sock)
    t.ok(st == 200 and j and j["channel"] == "news" and j["subscribers"] == 2 and
         j["subscribers_scope"] == "all" and j["messages"] == 3 and j["oldest"] == ids[0] and
         j["newest"] == ids[2] and j["dropped"] is None,
         "GET /channels/news: 2 subscribers, 3 messages, oldest and newest id, none dropped",
         (st, b))
    st2, _, _, js = request(port, "/channels/sport")
    t.ok(j and js and wire < j["bytes"] and j["bytes"] + js["bytes"] <= stat["history_bytes"],
         "the bytes: more than the events' text (%d < %d), and with sport's within /status's "
         "history_bytes (%d)" % (wire, j and j["bytes"], stat["history_bytes"]), (j, js, stat))
    t.ok(js and js["subscribers"] == 2 and js["messages"] == 1 and js["newest"] == sport1,
         "GET /channels/sport: 2 subscribers (one of them on news too), its one message", js)
    t.ok("application/json" in h.get("content-type", "") and
         "no-store" in h.get("cache-control", ""),
         "the figures: application/json, Cache-Control: no-store", h)
    st, h, b, _ = request(port, "/channels/news", method="HEAD")
    t.ok(st == 200 and b == b"" and "application/json" in h.get("content-type", ""),
         "HEAD /channels/news: 200, the headers only", (st, h, b))
    st, _, _, j = request(port, "/app/x/channels/news")
    t.ok(st == 200 and j and j["messages"] == 3, "under a prefix: /app/x/channels/news", j)
    return a, b2, c, ids, sport1


def check_purge(port, a, b2, ids):
    st, _, b, j = request(port, "/channels/news/history", method="DELETE")
    t.ok(st == 200 and j and j.get("purged") is True and j["messages"] == 3 and
         j["subscribers"] == 2 and j["newest"] == ids[2],
         "DELETE /channels/news/history: 200, purged, what it held (3 messages, 2 "
         "subscribers)", (st, b))
    st, _, b, j = request(port, "/channels/news")
    t.ok(st == 200 and j and j["messages"] == 0 and j["subscribers"] == 2 and
         j["oldest"] is None and j["dropped"] == ids[2],
         "after the purge: no message, both subscribers still there, dropped = the newest "
         "purged", (st, b))
    four = publish(port, "news", "fourth")
    ok = a.read_until(lambda s: len(data(s)) >= 4, 10) and \
        b2.read_until(lambda s: len(data(s)) >= 4, 10)
    t.ok(ok and [x[0] for x in data(a)] == ids + [four] and not a.eof and not b2.eof and
         "deleted" not in kinds(a),
         "the purge keeps the subscribers: both get the next message, nothing else",
         (kinds(a), kinds(b2)))
    r = subscribe(port, ["news"], last=ids[0])
    r.read_until(lambda s: len(data(s)) >= 1, 10)
    r.close()
    t.ok(kinds(r)[:2] == ["reset", "message"] and [x[0] for x in data(r)] == [four],
         "a resume from before the purge: event: reset, then only what followed it",
         kinds(r))
    r = subscribe(port, ["news"], last=ids[2])
    r.read_until(lambda s: len(data(s)) >= 1, 10)
    r.close()
    t.ok(kinds(r)[:1] == ["message"] and [x[0] for x in data(r)] == [four],
         "a resume from the newest purged: no reset, what followed", kinds(r))
    return four


def check_delete(port, sock, a, b2, c, four, sport1):
    subscribers_of(sock, 3)
    st, _, b, j = request(port, "/channels/news", method="DELETE")
    t.ok(st == 200 and j and j.get("deleted") is True and j["subscribers"] == 2 and
         j["messages"] == 1 and j["newest"] == four,
         "DELETE /channels/news: 200, deleted, what it held (2 subscribers, 1 message)",
         (st, b))
    a.read_to_end(10)
    b2.read_to_end(10)
    t.ok(ended_deleted(a, "news") and kinds(a)[-2:] == ["message", "deleted"],
         "the subscriber of news: its messages, then event: deleted with data news (no id), "
         "then the end of the stream", (kinds(a), a.eof))
    t.ok(ended_deleted(b2, "news"),
         "the subscriber of news and sport: ends too, with event: deleted, data news",
         (kinds(b2), b2.eof))
    sport2 = publish(port, "sport", "second goal")
    c.read_until(lambda s: len(data(s)) >= 2, 10)
    t.ok(not c.eof and [x[0] for x in data(c)] == [sport1, sport2] and "deleted" not in kinds(c),
         "the subscriber of sport alone goes on, and gets what sport publishes", kinds(c))
    c.close()
    st, _, b, _ = request(port, "/channels/news")
    t.ok(st == 404, "after the delete: GET /channels/news: 404", (st, b))
    r = subscribe(port, ["news"], last=four)
    five = publish(port, "news", "fifth")
    r.read_until(lambda s: len(data(s)) >= 1, 10)
    r.close()
    t.ok([x[0] for x in data(r)] == [five] and "reset" not in kinds(r),
         "a reconnect with the last id it had: nothing of the deleted history, then what is "
         "published next", kinds(r))
    r = subscribe(port, ["news"], last=four)
    r.read_until(lambda s: len(data(s)) >= 1, 10)
    r.close()
    t.ok([x[0] for x in data(r)] == [five], "the new channel news holds only what came after "
                                           "the delete", data(r))
    wait_for(lambda: status(sock)["streams_open"] == 0, 10)


def mercure_token():
    """A legacy Mercure publisher token (HS256, the mercure claim) signed with MERCURE_KEY."""
    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64(json.dumps({"mercure": {"publish": ["*"]}}).encode())
    sig = hmac.new(MERCURE_KEY.encode(), (head + "." + claims).encode(), hashlib.sha256)
    return head + "." + claims + "." + b64(sig.digest())


def mercure_publish(sock, data):
    """A Mercure update of TOPIC on the responder's socket (the hub keeps it in @mercure);
    its id, or None."""
    body = urllib.parse.urlencode({"topic": TOPIC, "data": data}).encode()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    try:
        s.sendall(fcgi_request_bytes({
            "REQUEST_METHOD": "POST", "SCRIPT_NAME": "/.well-known/mercure", "QUERY_STRING": "",
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(body)), "HTTP_AUTHORIZATION": "Bearer " + mercure_token(),
            "REMOTE_ADDR": "127.0.0.1"}, stdin=body))
        recs, _ = fcgi_read_records(s, 10)
    finally:
        s.close()
    out = b"".join(c for rtype, c, _ in recs if rtype == FCGI_STDOUT)
    return out.split(b"\r\n\r\n", 1)[1].decode() if out.startswith(b"Status: 200") else None


def mercure_subscribe(sock):
    """A Mercure subscriber of TOPIC from the earliest update the hub holds (raw FastCGI)."""
    return fcgi_raw(sock, script="/.well-known/mercure",
                    query="topic=" + urllib.parse.quote(TOPIC, safe="") +
                          "&lastEventID=earliest")


def check_internal(port, sock):
    """@mercure (the Mercure hub's updates) can be neither read, deleted nor purged."""
    def updates(s, n):
        got = []
        read_fcgi_events(s, lambda ev: len(got_of(ev, got)) >= n, 10)
        return got

    def got_of(ev, got):
        got[:] = [e for e in ev if e["data"] is not None]
        return got

    uid = mercure_publish(sock, "held by the hub")
    before = mercure_subscribe(sock)
    got = updates(before, 1)
    t.ok(uid and [e["id"] for e in got] == [uid],
         "a Mercure update is held in @mercure: a subscriber from the earliest gets it",
         (uid, got))
    for method, path in [("GET", "/channels/@mercure"), ("HEAD", "/channels/@mercure"),
                         ("DELETE", "/channels/@mercure"),
                         ("DELETE", "/channels/@mercure/history"),
                         ("DELETE", "/channels/%40mercure")]:
        st, _, b, _ = request(port, path, method=method)
        t.ok(st == 403 and (method == "HEAD" or (one_line(b) and b"@" in b)),
             "%s %s with the key: 403, an internal channel (%r)" % (method, path, b.strip()),
             (st, b))
    after = mercure_subscribe(sock)
    got = updates(after, 1)
    t.ok([e["id"] for e in got] == [uid], "after the refusals the update is still held: a new "
         "subscriber from the earliest gets it", got)
    uid2 = mercure_publish(sock, "the next")
    got = updates(before, 1)
    t.ok(uid2 and [(e["event"], e["id"]) for e in got] == [(None, uid2)],
         "the first Mercure subscriber was told nothing: the next update is the next event "
         "it gets", got)
    for s in (before, after):
        s.close()
    subscribers_of(sock, 0)


def check_refusals(port):
    publish(port, "kept", "still here")
    for name, args in [("no key", {"key": None}), ("a wrong key", {"key": "x" * 32})]:
        st, _, b, _ = request(port, "/channels/kept", method="DELETE", **args)
        t.ok(st == 403 and one_line(b) and b"Bearer" in b,
             "DELETE with %s: 403 with one line (%r)" % (name, b.strip()), (st, b))
        st, _, b, _ = request(port, "/channels/kept/history", method="DELETE", **args)
        t.ok(st == 403, "purge with %s: 403" % name, (st, b))
        st, _, b, _ = request(port, "/channels/kept", **args)
        t.ok(st == 403, "GET the figures with %s: 403 (they say who is connected)" % name,
             (st, b))
    st, _, b, j = request(port, "/channels/kept")
    t.ok(st == 200 and j["messages"] == 1, "after the refusals the channel is whole", (st, b))
    st, _, b, _ = request(port, "/channels/kept", method="DELETE", source="127.0.0.2")
    t.ok(st == 403 and b"Bearer" not in b,
         "DELETE from 127.0.0.2 with the key: 403 from lighttpd (loopback only)", (st, b[:100]))
    st, _, b, _ = request(port, "/channels/bad!name")
    t.ok(st == 400 and one_line(b) and b"bad" not in b, "a bad name: 400, not quoted", (st, b))
    st, h, b, _ = request(port, "/channels/kept", method="POST",
                          headers={"Content-Length": "0"})
    t.ok(st == 405 and h.get("allow") == "GET, HEAD, DELETE", "POST: 405, Allow: GET, HEAD, "
                                                              "DELETE", (st, h))
    st, h, b, _ = request(port, "/channels/kept/history")
    t.ok(st == 405 and h.get("allow") == "DELETE", "GET .../history: 405, Allow: DELETE",
         (st, h))
    st, _, b, _ = request(port, "/channels/nothing", method="DELETE")
    t.ok(st == 404 and one_line(b), "DELETE of a channel that does not exist: 404", (st, b))


def read_fcgi_events(s, until, timeout):
    """Reads a raw FastCGI stream; returns (events, ended, its bytes)."""
    parser, buf, events, ended, raw = SseParser(), b"", [], False, b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not until(events) and not ended:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        if not b:
            ended = True
            break
        recs, buf = fcgi_split_records(buf + b)
        for rtype, _, content in recs:
            if rtype == FCGI_STDOUT:
                events += parser.feed(content, time.monotonic())
                raw += content
            elif rtype == 3:
                ended = True
    return events, ended, raw


def check_partial(port, sock):
    """A delete while a subscriber is in the middle of a large message: the responder's
    send buffer (-b 16384) takes a few 8,000-byte pieces of the 60,000 bytes, then waits
    for the reader, which reads nothing until the delete."""
    big = "".join(chr(ord("a") + i % 26) for i in range(60000))
    s = fcgi_raw(sock, script="/events", query="channel=big")
    wait_for(lambda: status(sock)["streams_open"] == 1, 10)
    bid = publish(port, "big", big)
    queued = bytearray(4)

    def waiting():
        fcntl.ioctl(s.fileno(), termios.FIONREAD, queued)
        return int.from_bytes(queued, sys.byteorder)
    wait_for(lambda: waiting() > 8000, 10)
    n = waiting()
    t.ok(8000 < n < len(big),
         "a reader that does not read: %d bytes of the 60,000-byte message reached it (a "
         "piece at least), the rest waits in the responder" % n)
    st, _, b, j = request(port, "/channels/big", method="DELETE")
    events, ended, raw = read_fcgi_events(s, lambda ev: False, 10)    # to its end
    s.close()
    got = [e for e in events if e["data"] is not None]
    ev = [(e["event"], e["data"]) for e in got]
    t.ok(st == 200 and ev == [(None, big), ("deleted", "big")] and got[0]["id"] == bid and
         raw.endswith(b"\nevent: deleted\ndata: big\n\n") and ended,
         "deleted in the middle of it: the reader gets the whole message, then event: "
         "deleted, then the end",
         ([(k, (d or "")[:20], len(d or "")) for k, d in ev], ended, raw[-60:]))


def check_command(port, sock):
    a = subscribe(port, ["cmd"])
    i1 = publish(port, "cmd", "one")
    base = ["channel", "--socket", "unix:" + sock]
    r = run_binary(base + ["--key-file", KEYFILE, "cmd"], timeout=10)
    j = None
    try:
        j = json.loads(r.stdout)
    except ValueError:
        pass
    t.ok(r.returncode == 0 and j and j["channel"] == "cmd" and j["subscribers"] == 1 and
         j["messages"] == 1 and j["newest"] == i1,
         "fcgi-sse channel CHANNEL: the figures as JSON, exit status 0", r)
    r = run_binary(base + ["cmd"], timeout=10)
    t.ok(r.returncode == 1 and r.stdout == b"" and b"403" in r.stderr and
         b"Bearer" in r.stderr, "fcgi-sse channel without --key-file: 403 on stderr, exit "
         "status 1 (%r)" % r.stderr.strip(), r)
    r = run_binary(base + ["--key-file", KEYFILE, "nothing-here"], timeout=10)
    t.ok(r.returncode == 1 and b"404" in r.stderr, "fcgi-sse channel of a channel that does "
         "not exist: 404, exit status 1", r)
    r = run_binary(base + ["--key-file", KEYFILE, "--purge", "cmd"], timeout=10)
    t.ok(r.returncode == 0 and json.loads(r.stdout).get("purged") is True,
         "fcgi-sse channel --purge: purged", r)
    st, _, _, j = request(port, "/channels/cmd")
    t.ok(st == 200 and j["messages"] == 0 and j["subscribers"] == 1,
         "after --purge: no message, the subscriber kept", j)
    r = run_binary(base + ["--key-file", KEYFILE, "--delete", "cmd"], timeout=10)
    a.read_to_end(10)
    t.ok(r.returncode == 0 and json.loads(r.stdout).get("deleted") is True and
         ended_deleted(a, "cmd"),
         "fcgi-sse channel --delete: deleted, its subscriber's stream ends with event: deleted",
         (r, kinds(a)))
    r = run_binary(base + ["--key-file", KEYFILE, "--delete", "--purge", "cmd"], timeout=10)
    t.ok(r.returncode == 2 and b"one action" in r.stderr, "--delete and --purge together: "
         "bad usage, exit status 2", r)


# ---------------------------------------------------------------- Apache and nginx

def check_apache():
    import apache as ap
    if os.geteuid() != 0:
        t.skip("Apache mod_proxy_fcgi: channel control", "needs root")
        return
    missing = ap.missing_modules(ap.BASE_MODULES + ap.MODES["proxy_fcgi"][1])
    if missing or not os.path.exists(ap.APACHE2):
        t.skip("Apache mod_proxy_fcgi: channel control", "not installed: %s"
               % (missing or "apache2"))
        return
    tag = "FCGI_SSE_CHANCTL_TEST=%s/ap" % wd.path
    akey = keyfile("publish-nobody.keys", KEY, owner="nobody")
    aresp, asock = ap.start_socket_responder(wd, ["--publish-key-file", akey, "-k", "1"],
                                             "ap-fcgi-sse", tag)
    defines = {"FCGI_SSE_HTML": ap.page(wd), "FCGI_SSE_SOCKET": asock}
    insts = []
    try:
        a = ap.Apache(wd, "ap", "proxy_fcgi", defines)
        insts.append(a)
        s = subscribe(a.port, ["ap"], prefix="/fcgi-sse")
        i1 = publish(a.port, "ap", "via Apache")
        st, h, b, j = request(a.port, "/fcgi-sse/channels/ap")
        t.ok(st == 200 and j and j["subscribers"] == 1 and j["messages"] == 1 and
             j["newest"] == i1 and h.get("content-encoding") is None,
             "Apache: GET /fcgi-sse/channels/ap with the key (CGIPassAuth On passes it): the "
             "figures", (st, b, h))
        st, _, b, _ = request(a.port, "/fcgi-sse/channels/ap", key=None)
        t.ok(st == 403 and b"Bearer" in b, "Apache: without the key: 403 from the responder",
             (st, b))
        st, _, b, _ = request(a.port, "/fcgi-sse/channels/ap", method="DELETE",
                              headers={"X-Forwarded-For": "203.0.113.7"})
        t.ok(st == 403 and b"Bearer" not in b, "Apache: DELETE from a remote address: 403 "
             "(Require local)", (st, b[:200]))
        st, _, b, j = request(a.port, "/fcgi-sse/channels/ap/history", method="DELETE")
        t.ok(st == 200 and j and j.get("purged") is True and j["messages"] == 1,
             "Apache: DELETE .../channels/ap/history: purged", (st, b))
        st, _, b, j = request(a.port, "/fcgi-sse/channels/ap", method="DELETE")
        s.read_to_end(10)
        s.close()
        t.ok(st == 200 and j and j.get("deleted") is True and
             [x[0] for x in data(s)] == [i1] and ended_deleted(s, "ap"),
             "Apache: DELETE .../channels/ap: its subscriber gets event: deleted, then its "
             "stream ends", (st, b, kinds(s), s.eof))
    finally:
        aresp.stop()
        killed = ap.stop_all(insts)
        t.ok(not killed, "Apache stopped cleanly", killed)


def check_nginx():
    import nginx as ngx
    if not ngx.nginx_binary():
        t.skip("nginx: channel control", "nginx is not installed")
        return
    nresp, nsock = ngx.start_responder_for_nginx(wd, ["--publish-key-file", KEYFILE, "-k", "1"],
                                                 name="ng")
    n = None
    try:
        n = ngx.Nginx(wd, nsock, ngx.copy_page(wd))
        s = subscribe(n.port, ["ng"], prefix="/app")
        i1 = publish(n.port, "ng", "via nginx")
        st, _, b, j = request(n.port, "/app/channels/ng")
        t.ok(st == 200 and j and j["subscribers"] == 1 and j["newest"] == i1,
             "nginx: GET /app/channels/ng with the key: the figures", (st, b))
        st, _, b, _ = request(n.port, "/app/channels/stream")
        t.ok(st == 404 and b"no such channel" in b,
             "nginx: /app/channels/stream is a channel (its location comes first), not the "
             "counter", (st, b[:100]))
        st, _, b, _ = request(n.port, "/app/channels/ng", method="DELETE", source="127.0.0.2")
        t.ok(st == 403 and b"Bearer" not in b, "nginx: DELETE from 127.0.0.2: 403 (allow "
             "127.0.0.1; deny all)", (st, b[:100]))
        st, _, b, j = request(n.port, "/app/channels/ng", method="DELETE")
        s.read_to_end(10)
        s.close()
        t.ok(st == 200 and ended_deleted(s, "ng"), "nginx: DELETE: the subscriber gets event: "
             "deleted, then its stream ends", (st, b, kinds(s)))
    finally:
        if n:
            workers = n.workers()
            n.proc.stop()
            ngx.kill_leftovers([w for w in workers if os.path.exists("/proc/%d" % w)])
        nresp.stop()


# ---------------------------------------------------------------- run

try:
    resp, lsock, lport = start_with_lighttpd(wd, "fcgi-sse", ["--publish-key-file", KEYFILE,
                                                               "-k", "1", "-b", "16384",
                                                               "--mercure",
                                                               "--mercure-publisher-key-file",
                                                               "HS256:" + MERCURE_KEYFILE,
                                                               "--mercure-anonymous"])
    a, b2, c, ids, sport1 = check_figures(lport, lsock)
    four = check_purge(lport, a, b2, ids)
    check_delete(lport, lsock, a, b2, c, four, sport1)
    check_refusals(lport)
    check_internal(lport, lsock)
    check_partial(lport, lsock)
    check_command(lport, lsock)
    t.ok(resp.alive(), "the responder is still running")
    check_apache()
    check_nginx()
finally:
    wd.cleanup()
t.done()
