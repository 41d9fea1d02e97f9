"""test_mercure_redis.py -- two Mercure hubs on one redis-server (--redis) are one hub: an
update published on either reaches the subscribers of both, and a subscriber resumes on
either.

- Across responders: exact topics (not a topic they are a prefix of), URL patterns, `*`
  and legacy URI templates on B get what A publishes (its topics, alternate topics, id,
  type and retry carried through Redis), and A's subscribers get B's.
- Private updates across responders: only to the token granting one of their topics, in
  live delivery and in replay; an anonymous subscriber and one granted other topics get
  none.
- Resume across responders: Last-Event-ID with an id either answered (the hub's, a
  publisher's) replays on either exactly what came after it on the subscriber's topic (not
  a topic it is a prefix of), with Mercure-Last-Event-ID naming it.
- Publishing and subscribing at once: 300 updates published alternately on A and B while
  subscribers come to both, some with the Last-Event-ID of the newest update published so
  far; each gets every update after its start (after that id, or after its header came)
  once and in order, by id.
- A responder restarted: B stops, A publishes, B starts again on the same socket: updates
  flow both ways again; a subscriber resuming on B from an id of before the restart, which
  B never read, gets that id in Mercure-Last-Event-ID and every update published while B
  was down, fetched from Redis, then the next ones; one resuming from an id of after the
  restart gets what follows it.

Limits: tokens need python3-jwt (mercureclient.need_jwt); every wait has a deadline;
nothing is timed but by order.
"""

import sys

sys.dont_write_bytecode = True    # nothing written into the source tree

from mercureclient import need_jwt  # noqa: E402
need_jwt()

from harness import (Tap, Workdir, cleanup_on_signals, pump, start_redis,  # noqa: E402
                     start_spawned_responder, wait_for)
from mercureclient import (Keys, current_claims, publish, sign, status,  # noqa: E402
                           subscribe)

cleanup_on_signals()
t = Tap()
wd = Workdir("mercure-redis")
K = Keys(wd.path)

ISS = "https://app.example.com"
AUD = "https://example.com/.well-known/mercure"
PSECRET = "publisher secret of the mercure redis test, 32+ bytes"
SSECRET = "subscriber secret of the mercure redis test, 32+ bytes"
PKEY = K.secret("pub.key", PSECRET)
SKEY = K.secret("sub.key", SSECRET)
FENCE = "https://example.com/fence"
B = "https://example.com/books/"
conns = []


def hub(name, url, sock=None):
    """A responder with --mercure --redis URL under spawn-fcgi (on sock when given)."""
    argv = ["--mercure", "--mercure-anonymous", "--mercure-issuer", ISS,
            "--mercure-audience", AUD, "--mercure-publisher-key-file", "HS256:" + PKEY,
            "--mercure-subscriber-key-file", "HS256:" + SKEY, "--redis", url]
    return start_spawned_responder(wd, argv, name=name, sock=sock)


def connected(sock):
    try:
        return bool(status(sock).get("redis", {}).get("connected"))
    except Exception:   # noqa: BLE001 -- not answering yet
        return False


def ptok():
    return sign(current_claims(ISS, AUD, publish=["*"]), PSECRET)


def stok(subscribe_on):
    return sign(current_claims(ISS, AUD, subscribe=list(subscribe_on)), SSECRET)


def pub(sock, topics, data, extra=(), token=None):
    """Publishes; the id answered (raises unless 200)."""
    r = publish(sock, topics, data, token or ptok(), extra)
    if r.status != 200:
        raise RuntimeError("publish %r: %r %r" % (topics, r.status, r.text()))
    return r.text()


def sub(sock, pairs, token=None, headers=None):
    c = subscribe(sock, pairs, token, headers)
    conns.append(c)
    return c


def fence(socks, subs, tag):
    """A public update on FENCE from each responder of socks; waits until every subscriber
    of subs (each subscribed to FENCE too) has the last one: all published before is in."""
    for i, s in enumerate(socks):
        pub(s, [FENCE], "%s.%d" % (tag, i))
    last = "%s.%d" % (tag, len(socks) - 1)
    pump(subs, lambda: all(last in c.datas() for c in subs), 10)


def without_fences(c):
    return [d for d in c.datas() if not d.startswith("fence")]


# ---------------------------------------------------------------- across responders

def across(a, b):
    exact = sub(b, [("match", B + "1"), ("match", FENCE)])
    pat = sub(b, [("match_urlpattern", "/books/:id"), ("match", FENCE)])
    star = sub(b, [("match", "*")])
    tpl = sub(b, [("topic", B + "{id}"), ("topic", FENCE)])
    alt = sub(b, [("match", "urn:alt"), ("match", FENCE)])
    back = sub(a, [("match", "urn:from-b"), ("match", FENCE)])
    every = [exact, pat, star, tpl, alt, back]
    t.ok(all(c.status == 200 for c in every), "six subscriptions on both responders: 200",
         [(c.status, c.text()) for c in every])
    pub(a, [B + "1"], "book 1", [("id", "pub-id-1"), ("type", "book"), ("retry", "4000")])
    pub(a, [B + "10"], "book 10")
    pub(a, [B + "2", "urn:alt"], "book 2")
    pub(a, ["https://other.example/books/3"], "other 3")
    pub(b, ["urn:from-b"], "from b")
    fence([a, b], every, "fence1")
    t.eq(without_fences(exact), ["book 1"],
         "B's exact subscriber of books/1 gets A's update, not books/10 (whose prefix it is)")
    ev = [e for e in exact.events if e["data"] == "book 1"]
    t.ok(ev and ev[0]["id"] == "pub-id-1" and ev[0]["event"] == "book" and str(ev[0]["retry"]) == "4000",
         "the publisher's id, type and retry come through Redis", ev)
    t.eq(without_fences(pat), ["book 1", "book 10", "book 2"],
         "B's URL pattern /books/:id gets A's books, not another host's")
    t.eq(without_fences(star), ["book 1", "book 10", "book 2", "other 3", "from b"],
         "B's match=* gets every update of A and B, in order")
    t.eq(without_fences(tpl), ["book 1", "book 10", "book 2"],
         "B's legacy URI template gets A's books")
    t.eq(without_fences(alt), ["book 2"], "an alternate topic comes through Redis")
    t.eq(without_fences(back), ["from b"], "A's subscriber gets what B publishes")
    while conns:
        conns.pop().close()


# ---------------------------------------------------------------- private updates

def private(a, b):
    P = "https://example.com/secret/"
    granted = sub(b, [("match_urlpattern", P + ":n"), ("match", FENCE)], stok([P + "1"]))
    other = sub(b, [("match_urlpattern", P + ":n"), ("match", FENCE)], stok([P + "9"]))
    anon = sub(b, [("match_urlpattern", P + ":n"), ("match", FENCE)])
    first = pub(a, [P + "0"], "public 0")
    pub(a, [P + "1"], "private 1", [("private", "on")])
    pub(a, [P + "2"], "private 2", [("private", "on")])
    pub(a, [P + "2", P + "1"], "private 2+1", [("private", "on")])
    pub(a, [P + "3"], "public 3")
    fence([a, b], [granted, other, anon], "fence2")
    t.eq(without_fences(granted), ["public 0", "private 1", "private 2+1", "public 3"],
         "live, across responders: a token granting secret/1 gets the private updates of "
         "that topic (alternate too), not secret/2's")
    t.eq(without_fences(other), ["public 0", "public 3"],
         "live: a token granting another topic gets no private update")
    t.eq(without_fences(anon), ["public 0", "public 3"],
         "live: an anonymous subscriber gets no private update")
    for name, tok, want in [("granted", stok([P + "1"]), ["private 1", "private 2+1", "public 3"]),
                            ("other", stok([P + "9"]), ["public 3"]),
                            ("anonymous", None, ["public 3"])]:
        r = sub(b, [("match_urlpattern", P + ":n")], tok, {"Last-Event-ID": first})
        r.read_until(lambda x: len(x.datas()) >= len(want), 5)
        r.read_until(lambda x: False, 0.2)   # nothing more comes
        t.eq(r.datas(), want, "replay on B after A's id, %s: %s" % (name, ", ".join(want)))
    while conns:
        conns.pop().close()


# ---------------------------------------------------------------- resume

def resume(a, b):
    R = "urn:resume"
    ids = [pub(a, [R], "r0"), pub(b, [R], "r1", [("id", "mine-1")]), pub(a, [R], "r2")]
    pub(b, [R + "/2"], "longer topic")    # never replayed to match=urn:resume
    ids += [pub(b, [R], "r3"), pub(a, [R], "r4")]
    t.ok(ids[1] == "mine-1" and all(i.startswith("urn:uuid:") for i in ids[:1] + ids[2:]),
         "hub ids and a publisher's id answered", ids)
    watch = sub(a, [("match", R), ("match", FENCE)])
    fence([a, b], [watch], "fence3")
    for on, name in [(b, "B"), (a, "A")]:
        for k in (0, 1, 3):
            want = ["r%d" % i for i in range(k + 1, 5)]
            r = sub(on, [("match", R)], None, {"Last-Event-ID": ids[k]})
            r.read_until(lambda x: len(x.datas()) >= len(want), 5)
            r.read_until(lambda x: False, 0.1)
            hv = (r.header("Mercure-Last-Event-ID"), r.header("Last-Event-ID"))
            t.ok(r.datas() == want and hv == (ids[k], ids[k]),
                 "resume on %s after r%d (published on %s): %s, Mercure-Last-Event-ID names it"
                 % (name, k, "AB"[k % 2], " ".join(want)), (r.datas(), hv))
    q = sub(b, [("match", R), ("last_event_id", ids[2])])
    q.read_until(lambda x: len(x.datas()) >= 2, 5)
    t.eq(q.datas(), ["r3", "r4"], "last_event_id on B: the same")
    while conns:
        conns.pop().close()


# ---------------------------------------------------------------- at once

def at_once(a, b, n=300):
    """n updates alternately on A and B; every 10 a subscriber comes to each responder,
    every other one resuming from the newest id answered so far. Each must get exactly the
    updates after its start, in order."""
    T = "urn:at-once"
    published = []          # (id, data) in publication order
    subs = []               # (conn, index of the first update it must get, resumed from)
    for i in range(n):
        if i % 10 == 0:
            for k, on in enumerate((a, b)):
                if published and (i // 10 + k) % 2:
                    c = sub(on, [("match", T), ("match", FENCE)], None,
                            {"Last-Event-ID": published[-1][0]})
                    subs.append((c, len(published), published[-1][0]))
                else:
                    c = sub(on, [("match", T), ("match", FENCE)])
                    subs.append((c, len(published), None))
        published.append((pub(a if i % 2 else b, [T], "n%d" % i), "n%d" % i))
        for c, _, _ in subs:        # read what came (non-blocking)
            c.read_once()
    fence([a, b], [c for c, _, _ in subs], "fence4")
    bad = []
    for c, first, resumed in subs:
        got = [(e["id"], e["data"]) for e in c.events
               if e["data"] is not None and not e["data"].startswith("fence")]
        if c.status != 200:
            bad.append(("status", c.status, c.text()))
            continue
        h = c.header("Mercure-Last-Event-ID")
        if resumed is not None and h == resumed:
            want = published[first:]
            ok = got == want
        else:
            # live (or `earliest`): what came before its start may come too, in order,
            # then every update after it
            tail = published[first:]
            ok = got[len(got) - len(tail):] == tail and \
                all(x in published[:first] for x in got[:len(got) - len(tail)]) and \
                len(set(got)) == len(got)
        if not ok:
            bad.append((first, resumed, h, [d for _, d in got][:5], len(got),
                        len(published) - first))
    t.ok(not bad and len(subs) == 60,
         "%d updates published on A and B while 60 subscribers came (30 resuming from the "
         "newest id): each got every update after its start once, in order, by id"
         % n, bad[:5])
    while conns:
        conns.pop().close()


# ---------------------------------------------------------------- restart

def restart(a, bp, bsock, url):
    T = "urn:restart"
    before = pub(a, [T], "before")
    watch = sub(bsock, [("match", T), ("match", FENCE)])
    fence([a, bsock], [watch], "fence5")
    watch.close()
    bp.stop()
    down = [pub(a, [T], "down %d" % i) for i in range(5)]
    bp2, b2 = hub("b", url, sock=bsock)
    t.ok(wait_for(lambda: connected(b2), 10), "B started again connects to Redis",
         status(b2))
    r = sub(b2, [("match", T), ("match", FENCE)], None, {"Last-Event-ID": before})
    live = sub(b2, [("match", T), ("match", FENCE)])
    back = sub(a, [("match", T), ("match", FENCE)])
    after_a = pub(a, [T], "after on A")
    after_b = pub(b2, [T], "after on B")
    fence([a, b2], [r, live, back], "fence6")
    got = without_fences(r)
    h = r.header("Mercure-Last-Event-ID")
    # B never read `before` nor what A published while B was down: it fetches them from
    # Redis, so a client that reconnects to another (or a restarted) responder loses nothing
    t.ok(h == before and r.header("Last-Event-ID") == before and
         got == ["down %d" % i for i in range(5)] + ["after on A", "after on B"],
         "resumed on B after its restart from an id of before: Mercure-Last-Event-ID is that "
         "id, then every update published while B was down (from Redis), then the next "
         "ones", (h, got))
    r2 = sub(b2, [("match", T)], None, {"Last-Event-ID": after_a})
    r2.read_until(lambda x: len(x.datas()) >= 1, 5)
    r2.read_until(lambda x: False, 0.1)
    t.ok(r2.datas() == ["after on B"] and r2.header("Mercure-Last-Event-ID") == after_a,
         "resumed on the restarted B from an id A gave after the restart: the update after "
         "it", (r2.datas(), r2.header("Mercure-Last-Event-ID")))
    t.eq(without_fences(live), ["after on A", "after on B"],
         "a new subscriber on the restarted B gets A's and B's next updates")
    t.eq(without_fences(back), ["after on A", "after on B"],
         "A's subscriber gets the restarted B's update")
    t.ok(all(x.startswith("urn:uuid:") for x in down + [after_a, after_b]), "ids answered",
         down)
    return bp2


# ---------------------------------------------------------------- main

try:
    redis, rsock = start_redis(wd)
    url = "unix:" + rsock
    ap, a = hub("a", url)
    bp, b = hub("b", url)
    t.ok(wait_for(lambda: connected(a) and connected(b), 10),
         "both responders connect to Redis (/status redis.connected)", (status(a), status(b)))
    for section in [lambda: across(a, b), lambda: private(a, b), lambda: resume(a, b),
                    lambda: at_once(a, b)]:
        section()
    bp = restart(a, bp, b, url)
    t.ok(ap.alive() and bp.alive(), "both responders still run", (ap.log()[-500:],
                                                                   bp.log()[-500:]))
except Exception as e:  # noqa: BLE001
    t.exception(e)
finally:
    for c in conns:
        c.close()
    wd.cleanup()
t.done()
