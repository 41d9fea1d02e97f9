"""test_redis_control.py -- a channel's presence and control with --redis, and --history-ttl
and --history-bytes kept in Redis: responders behind their own lighttpd (the shipped
deploy/lighttpd/demo.conf) on a real redis-server.

- Two responders on one Redis: the figures on each (this responder's subscribers, said so;
  Redis's messages, bytes and ids); a purge on one keeps every subscriber on both, who get
  what follows, while a resume from before it gets `event: reset`; a delete on one ends the
  subscribers of both, each with `event: deleted` then the end of the stream, the channel's
  stream gone from Redis, and a reconnect gets nothing of it; a delete reaches a responder
  that holds the only subscribers of a channel Redis has nothing of; refusals (no key, a
  wrong key, @mercure); `fcgi-sse channel` on a responder's socket; with Redis stopped, 503.
- A responder with --history-ttl 1 on a Redis of its own: a message older than the TTL is
  gone from its stream after the next publish (XDEL: the stream's max-deleted-entry-id says
  so, and a resume from before it gets a reset), and a channel nobody publishes to any more
  is gone within the TTL and the responders' 5 s trim.
- A responder with --history-bytes 65536 on a third Redis: 40 messages of 4,000 bytes keep
  fcgi-sse:bytes at most 65,536 after every publish, the
  newest kept, the oldest dropped first whatever their channel, the accounts equal to what
  the streams hold, and MEMORY USAGE bounded; a publisher that gives no TTL or bound (the
  documented redis-cli FCALL) is counted too.

Limits: Redis's TIME decides the TTL: the test waits for it (never for a fixed time).
"""

import json
import os
import secrets
import socket
import sys
import time

sys.dont_write_bytecode = True    # nothing written into the source tree

from harness import HttpStream, Tap, Workdir, run_binary, start_redis, status, wait_for  # noqa: E402
from client import redis_state, start_with_lighttpd  # noqa: E402
from nginx import get_from  # noqa: E402

from harness import cleanup_on_signals  # noqa: E402
cleanup_on_signals()

t = Tap()
wd = Workdir("redisctl")
KEY = "pub-" + secrets.token_hex(16)
KEYFILE = wd.file("publish.keys")
with open(KEYFILE, "w") as f:
    f.write(KEY + "\n")
os.chmod(KEYFILE, 0o600)


# ---------------------------------------------------------------- a RESP client

def _read_reply(f):
    line = f.readline()
    if not line:
        raise RuntimeError("redis: connection closed")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        return RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        b = f.read(n + 2)
        return b[:-2].decode("utf-8", "replace")
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise RuntimeError("redis: a reply of unknown kind %r" % line)


def R(sock, *args):
    """One command to the Redis on unix socket sock; its reply (an error reply raises)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock)
    try:
        parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        s.sendall(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p)
                                                      for p in parts))
        r = _read_reply(s.makefile("rb"))
    finally:
        s.close()
    if isinstance(r, Exception):
        raise r
    return r


def info(sock, key):
    """XINFO STREAM as a dict."""
    x = R(sock, "XINFO", "STREAM", key)
    return dict(zip(x[::2], x[1::2]))


def redis_ms(sock):
    s, us = R(sock, "TIME")
    return int(s) * 1000 + int(us) // 1000


# ---------------------------------------------------------------- HTTP

def request(port, path, method="GET", key=KEY):
    h = {"Authorization": "Bearer " + key} if key else {}
    st, hd, b = get_from(port, path, method=method, headers=h, timeout=10)
    j = None
    if st == 200 and b:
        try:
            j = json.loads(b)
        except ValueError:
            pass
    return st, hd, b, j


def publish(port, channel, body):
    st, _, b = get_from(port, "/publish?channel=" + channel, method="POST", body=body.encode(),
                        headers={"Authorization": "Bearer " + KEY}, timeout=10)
    if st != 200:
        raise RuntimeError("publish: %r %r" % (st, b))
    return json.loads(b)["id"]


def subscribe(port, chans, last=None):
    q = "/events?" + "&".join("channel=" + c for c in chans)
    s = HttpStream(port, q, headers={"Last-Event-ID": last} if last else None)
    if not s.read_head(15) or s.status != 200:
        raise RuntimeError("subscribe %s: %r" % (q, s.status))
    return s


def data(s):
    return [e["id"] for e in s.events
            if e["data"] is not None and (e["event"] or "message") not in ("reset", "deleted")]


def kinds(s):
    return [e["event"] or "message" for e in s.events if e["data"] is not None]


def ended_deleted(s, channel):
    ev = [e for e in s.events if e["data"] is not None]
    return s.eof and ev and ev[-1]["event"] == "deleted" and \
        s.body().endswith(b"\nevent: deleted\ndata: " + channel.encode() + b"\n\n")


def idkey(i):
    ms, seq = i.split("-")
    return int(ms), int(seq)


def responder(name, rsock, extra=()):
    p, sock, port = start_with_lighttpd(wd, name, ["--redis", "unix:" + rsock,
                                                   "--publish-key-file", KEYFILE, "-k", "1"]
                                        + list(extra))
    if not wait_for(lambda: redis_state(sock).get("connected"), 15):
        raise RuntimeError("%s: not connected to Redis:\n%s" % (name, p.log()))
    return p, sock, port


# ---------------------------------------------------------------- two responders

def check_figures(rsock, pa, pb):
    a1 = subscribe(pa, ["news"])
    b1 = subscribe(pb, ["news"])
    b2 = subscribe(pb, ["news", "sport"])
    ids = [publish(pa, "news", "one"), publish(pa, "news", "two, longer"),
           publish(pb, "news", "three")]
    bodies = ["one", "two, longer", "three"]
    ok = all(s.read_until(lambda s: len(data(s)) >= 3, 15) for s in (a1, b1, b2))
    t.ok(ok and all(data(s) == ids for s in (a1, b1, b2)),
         "three messages published on both responders reach the subscribers of both")
    st, _, b, ja = request(pa, "/channels/news")
    st2, _, b2_, jb = request(pb, "/channels/news")
    want_bytes = sum(len(i) + len(x) for i, x in zip(ids, bodies))
    t.ok(st == 200 and ja and ja["subscribers"] == 1 and ja["subscribers_scope"] == "responder"
         and ja["messages"] == 3 and ja["oldest"] == ids[0] and ja["newest"] == ids[2] and
         ja["dropped"] is None and ja["bytes"] == want_bytes,
         "responder 1: GET /channels/news: its 1 subscriber (scope: this responder), Redis's 3 "
         "messages, their %d bytes (ids and data), oldest and newest id" % want_bytes, (st, b))
    t.ok(st2 == 200 and jb and jb["subscribers"] == 2 and
         {k: v for k, v in jb.items() if k != "subscribers"} ==
         {k: v for k, v in ja.items() if k != "subscribers"},
         "responder 2: its own 2 subscribers, the same history", (st2, b2_))
    t.ok(int(R(rsock, "HGET", "fcgi-sse:chanbytes", "news")) == want_bytes and
         R(rsock, "XLEN", "fcgi-sse:chan:news") == 3,
         "Redis: fcgi-sse:chanbytes and XLEN say the same")
    return a1, b1, b2, ids


def check_purge(rsock, pa, pb, a1, b1, b2, ids):
    st, _, b, j = request(pb, "/channels/news/history", method="DELETE")
    t.ok(st == 200 and j and j.get("purged") is True and j["messages"] == 3 and
         j["subscribers"] == 2, "responder 2: DELETE /channels/news/history: purged, what it "
                                "held", (st, b))
    t.ok(R(rsock, "EXISTS", "fcgi-sse:chan:news") == 0 and
         R(rsock, "GET", "fcgi-sse:gone") == ids[2] and
         R(rsock, "HGET", "fcgi-sse:chanbytes", "news") is None,
         "Redis: the channel's stream is gone, fcgi-sse:gone is its newest id, its bytes "
         "left the accounts")
    four = publish(pa, "news", "four")
    ok = all(s.read_until(lambda s: len(data(s)) >= 4, 15) for s in (a1, b1, b2))
    t.ok(ok and all(data(s) == ids + [four] and not s.eof for s in (a1, b1, b2)),
         "the purge keeps the subscribers of both responders: each gets what follows")
    r = subscribe(pa, ["news"], last=ids[0])
    r.read_until(lambda s: len(data(s)) >= 1, 15)
    r.close()
    t.ok(kinds(r)[:2] == ["reset", "message"] and data(r) == [four],
         "responder 1: a resume from before the purge: event: reset, then what followed",
         kinds(r))
    r = subscribe(pb, ["news"], last=ids[2])
    r.read_until(lambda s: len(data(s)) >= 1, 15)
    r.close()
    t.ok(kinds(r)[:1] == ["message"] and data(r) == [four],
         "responder 2: a resume from the newest purged: no reset", kinds(r))
    st, _, b, j = request(pa, "/channels/news")
    t.ok(st == 200 and j["messages"] == 1 and j["dropped"] is None and j["oldest"] == four,
         "after the purge the stream holds what followed only", (st, b))
    return four


def check_delete(rsock, sa, pa, sb, pb, a1, b1, b2, four):
    wait_for(lambda: status(sa)["streams_open"] == 1 and status(sb)["streams_open"] == 2, 10)
    st, _, b, j = request(pa, "/channels/news", method="DELETE")
    t.ok(st == 200 and j and j.get("deleted") is True and j["subscribers"] == 1 and
         j["messages"] == 1 and j["subscribers_scope"] == "responder",
         "responder 1: DELETE /channels/news: deleted, its own 1 subscriber, 1 message",
         (st, b))
    for s in (a1, b1, b2):
        s.read_to_end(15)
    t.ok(ended_deleted(a1, "news"), "responder 1's subscriber: event: deleted, then the end",
         (kinds(a1), a1.eof))
    t.ok(ended_deleted(b1, "news") and ended_deleted(b2, "news"),
         "responder 2's two subscribers (one of news and sport) end too: the delete reached "
         "it through fcgi-sse:log", (kinds(b1), kinds(b2)))
    t.ok(R(rsock, "EXISTS", "fcgi-sse:chan:news") == 0, "Redis: the stream is gone")
    entry = R(rsock, "XREVRANGE", "fcgi-sse:log", "+", "-", "COUNT", 1)[0]
    t.ok(dict(zip(entry[1][::2], entry[1][1::2])).get("ctl") == "delete",
         "fcgi-sse:log's newest entry is the delete: {c news, ctl delete, n N}", entry)
    for p in (pa, pb):
        st, _, b, _ = request(p, "/channels/news")
        t.ok(st == 404, "after the delete: GET /channels/news: 404", (st, b))
    r = subscribe(pb, ["news"], last=four)
    five = publish(pa, "news", "five")
    r.read_until(lambda s: len(data(s)) >= 1, 15)
    r.close()
    t.ok(data(r) == [five] and "reset" not in kinds(r),
         "responder 2: a reconnect with its last id: nothing of the deleted history, then "
         "what is published next", kinds(r))
    # a channel of subscribers only, on responder 2; responder 1 and Redis hold nothing
    q = subscribe(pb, ["quiet"])
    st, _, b, _ = request(pa, "/channels/quiet", method="DELETE")
    q.read_to_end(15)
    q.close()
    t.ok(st == 404 and ended_deleted(q, "quiet"),
         "DELETE on responder 1 of a channel Redis has nothing of: 404 there, and responder "
         "2's subscriber of it still ends", (st, b, kinds(q)))


def check_refusals(pa):
    publish(pa, "kept", "x")
    for name, key in [("no key", None), ("a wrong key", "y" * 32)]:
        st, _, b, _ = request(pa, "/channels/kept", method="DELETE", key=key)
        t.ok(st == 403 and b"Bearer" in b, "DELETE with %s: 403" % name, (st, b))
    st, _, b, _ = request(pa, "/channels/@mercure", method="DELETE")
    t.ok(st == 403 and b"@" in b, "DELETE /channels/@mercure: 403", (st, b))
    st, _, b, j = request(pa, "/channels/kept")
    t.ok(st == 200 and j["messages"] == 1, "after the refusals the channel is whole", (st, b))


def check_command(sa):
    r = run_binary(["channel", "--socket", "unix:" + sa, "--key-file", KEYFILE, "kept"],
                   timeout=10)
    j = json.loads(r.stdout) if r.returncode == 0 else None
    t.ok(j and j["channel"] == "kept" and j["messages"] == 1 and
         j["subscribers_scope"] == "responder",
         "fcgi-sse channel on a --redis responder: Redis's figures, scope: this responder", r)
    r = run_binary(["channel", "--socket", "unix:" + sa, "--key-file", KEYFILE, "--delete",
                    "kept"], timeout=10)
    t.ok(r.returncode == 0 and json.loads(r.stdout).get("deleted") is True,
         "fcgi-sse channel --delete on a --redis responder", r)


# ---------------------------------------------------------------- the bounds in Redis

def check_ttl(rsock, port):
    m1 = publish(port, "mix", "old")
    ms1 = idkey(m1)[0]
    t.ok(wait_for(lambda: redis_ms(rsock) > ms1 + 1000, 5),
         "Redis's clock passes the first message's time + the TTL (1 s)")
    m2 = publish(port, "mix", "new")
    ids = [e[0] for e in R(rsock, "XRANGE", "fcgi-sse:chan:mix", "-", "+")]
    x = info(rsock, "fcgi-sse:chan:mix")
    t.ok(ids == [m2] and x["max-deleted-entry-id"] == m1,
         "after the next publish the message older than the TTL is gone from the stream, "
         "with XDEL (max-deleted-entry-id is it)", (ids, x.get("max-deleted-entry-id")))
    before = "%d-0" % (ms1 - 1)
    r = subscribe(port, ["mix"], last=before)
    r.read_until(lambda s: len(data(s)) >= 1, 15)
    r.close()
    t.ok(kinds(r)[:2] == ["reset", "message"] and data(r) == [m2],
         "a resume from before it: event: reset, then the message kept", kinds(r))
    # nobody publishes any more: the responder's trim (every 5 s) drops what expires
    idle = publish(port, "idle", "alone")
    t0 = time.monotonic()
    gone = wait_for(lambda: R(rsock, "EXISTS", "fcgi-sse:chan:idle") == 0, 15, step=0.1)
    took = time.monotonic() - t0
    st, _, b, _ = request(port, "/channels/idle")
    t.ok(gone and st == 404 and R(rsock, "GET", "fcgi-sse:gone") is not None and
         idkey(R(rsock, "GET", "fcgi-sse:gone")) >= idkey(idle),
         "a channel nobody publishes to: its stream is gone without a publish (after %.1f s: "
         "the TTL, then the trim every 5 s), 404, fcgi-sse:gone at least its id" % took,
         (gone, st, b))


def accounts(rsock):
    """(fcgi-sse:bytes, what the channels' streams hold counted the same way, entries)."""
    held, n = 0, 0
    for key in R(rsock, "KEYS", "fcgi-sse:chan:*"):
        for i, f in R(rsock, "XRANGE", key, "-", "+"):
            d = dict(zip(f[::2], f[1::2]))
            held += len(i) + len(d.get("type", "")) + len(d.get("data", ""))
            n += 1
    return int(R(rsock, "GET", "fcgi-sse:bytes") or 0), held, n


def check_bytes(rsock, port):
    ids, most = [], 0
    for i in range(40):
        ch = "ba" if i % 2 == 0 else "bb"
        ids.append(publish(port, ch, ("%02d" % i) + "x" * 3998))
        most = max(most, int(R(rsock, "GET", "fcgi-sse:bytes")))
    total, held, n = accounts(rsock)
    kept = sorted([e[0] for e in R(rsock, "XRANGE", "fcgi-sse:chan:ba", "-", "+")] +
                  [e[0] for e in R(rsock, "XRANGE", "fcgi-sse:chan:bb", "-", "+")], key=idkey)
    t.ok(most <= 65536 and total == held and 0 < n < 40,
         "40 messages of 4,000 bytes in two channels: fcgi-sse:bytes at most 65,536 after "
         "every publish (the most: %d), equal to what the streams hold (%d), %d messages "
         "kept" % (most, held, n), (most, total, held, n))
    t.ok(kept == ids[-n:] and R(rsock, "XLEN", "fcgi-sse:age") == n,
         "the newest are kept, the oldest dropped first whatever their channel; fcgi-sse:age "
         "has a record for each", (kept, ids[-n:]))
    mem = sum(int(R(rsock, "MEMORY", "USAGE", k, "SAMPLES", "0"))
              for k in ("fcgi-sse:chan:ba", "fcgi-sse:chan:bb", "fcgi-sse:age"))
    t.ok(mem < 2 * 65536, "MEMORY USAGE of the two streams and fcgi-sse:age: %d bytes, under "
                          "twice the bound (160,000 bytes were published)" % mem, mem)
    t.diag("fcgi-sse:age: %s bytes for %d records" %
           (R(rsock, "MEMORY", "USAGE", "fcgi-sse:age", "SAMPLES", "0"), n))
    r = subscribe(port, ["ba", "bb"], last=ids[0])
    r.read_until(lambda s: len(data(s)) >= n, 15)
    r.close()
    t.ok(kinds(r)[0] == "reset" and data(r) == ids[-n:],
         "a resume from the first: event: reset, then exactly what is kept", kinds(r)[:3])
    # a publisher that gives no bounds (docs/redis.md's redis-cli FCALL): counted, drops nothing
    before = int(R(rsock, "GET", "fcgi-sse:bytes"))
    fid = R(rsock, "FCALL", "fcgi_sse_publish", 2, "fcgi-sse:last", "fcgi-sse:chan:ba", 1000,
            "", "y" * 4000)
    total, held, n2 = accounts(rsock)
    t.ok(total == before + len(fid) + 4000 and total == held and n2 == n + 1,
         "an FCALL without TTL and BYTES (other publishers): its message is counted, nothing "
         "dropped", (before, total, held))
    last = publish(port, "bb", "z")
    total, held, _ = accounts(rsock)
    t.ok(total <= 65536 and total == held, "the next publish with the bound brings it back "
                                           "under it (%d)" % total, (total, held, last))


# ---------------------------------------------------------------- run

try:
    rp, rsock = start_redis(wd)
    ra, sa, pa = responder("a", rsock)
    rb, sb, pb = responder("b", rsock)
    a1, b1, b2, ids = check_figures(rsock, pa, pb)
    four = check_purge(rsock, pa, pb, a1, b1, b2, ids)
    check_delete(rsock, sa, pa, sb, pb, a1, b1, b2, four)
    check_refusals(pa)
    check_command(sa)
    rp.stop()
    wait_for(lambda: not redis_state(sa).get("connected"), 15)
    st, h, b, _ = request(pa, "/channels/kept")
    t.ok(st == 503 and "retry-after" in h and b"Redis" in b,
         "Redis stopped: GET /channels/kept: 503 with Retry-After (%r)" % b.strip(), (st, h, b))
    ra.stop()
    rb.stop()
    _, rsock2 = start_redis(wd, name="redis2")
    rc, sc, pc = responder("c", rsock2, ["--history-ttl", "1"])
    check_ttl(rsock2, pc)
    t.ok(rc.alive(), "the responder with --history-ttl 1 is still running")
    # the bytes on a Redis of their own: the TTL, kept by every responder, is for all channels
    _, rsock3 = start_redis(wd, name="redis3")
    rd, sd, pd = responder("d", rsock3, ["--history-bytes", "65536"])
    check_bytes(rsock3, pd)
    t.ok(rd.alive(), "the responder with --history-bytes 65536 is still running")
finally:
    wd.cleanup()
t.done()
