"""test_mercure.py -- the Mercure hub over FastCGI against the real responder, both drafts
(the current one, draft-dunglas-mercure-08: match*, RFC 9068 access tokens; the legacy one,
v0.24.2: topic=, the mercure claim).

- Round trips: exact topics, `*`, URL patterns (absolute, and relative to
  --mercure-audience), legacy URI templates and plain selectors; alternate topics; an update
  reaches a subscriber once however many of its matchers match; the event's bytes (id,
  event, retry, data split at CR, LF and CRLF); the publish answer; RS256, ES256, EdDSA,
  HS384 and HS512 tokens (keys by openssl, tokens by PyJWT).
- Refusals, each on its own: status, WWW-Authenticate and a one-line reason: no token, bad
  signature, a publisher token signed with the subscriber key, wrong alg (an HS256 token
  made with an RSA key's PEM, an RS256 token to an HMAC key), alg none, expired, nbf ahead,
  wrong aud, wrong or missing iss, no publish grant, a publisher granted some topics of an
  update only, a cookie token on POST without Origin/Referer or from another origin, the
  reserved namespace (the draft's variants, as canonical and alternate topic), `*` as a
  topic, type mercure, bad ids and retry, too many and too long topics and matchers,
  unsupported match* names, mixed generations, and --mercure-protocol restricting one.
- Private updates: only to tokens granting one of their topics (alternate topics too), in
  live delivery and in replay; anonymous subscribers never get them.
- Hostile selectors: a URL pattern that backtracks catastrophically on a topic a sane
  engine matches, and a URI template that does on a long topic: the hub answers /status and
  a control subscriber gets its updates in order meanwhile, and neither hostile one matches.
- Resume: Last-Event-ID wins over last_event_id / lastEventID; hub and publisher ids; a
  duplicate id resolves to the earliest; a publisher id shaped as the hub's; an id the hub
  does not hold (never issued, or beyond --mercure-history) and `earliest` answer
  `earliest` with every retained update; the answer's Mercure-Last-Event-ID and
  Last-Event-ID headers.
- Streams that end during a delivery: 40 subscribers that never read (alone with their
  pattern, or sharing exact topics and `*`) are dropped while updates are delivered; the
  10 readers get every update, in order, and the same matchers subscribe again.
- A subscriber's stream ends at its token's exp (one with a lasting token stays).
- The heartbeat comes after the silence -k sets.
- Active subscriptions (--mercure-subscriptions): the events at start and end of each
  matcher (topic, JSON document, type mercure for the current draft, private), the API
  (collection, per matcher, single, 404, 403 without grant), both generations; off without
  the option.
- CORS: an allowed origin gets Allow-Origin and Allow-Credentials, another nothing;
  preflight.
- Memory: 3,000 subscribers of every matcher kind come and go, four times: /status's
  streams_open returns to 0 and the RSS stays where the first round left it.

Limits: tokens need python3-jwt (Debian's /usr/bin/python3: mercureclient.need_jwt); every
wait has a deadline; nothing is timed but by order. The RSS check is skipped in a sanitizer build (ASan keeps freed memory in
quarantine), as in test_churn.py.
"""

import json
import os
import re
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True    # nothing written into the source tree

from mercureclient import need_jwt  # noqa: E402
need_jwt()

from harness import (SANITIZED, Tap, Workdir, cleanup_on_signals, pump,  # noqa: E402
                     start_spawned_responder, wait_for)
from mercureclient import (HUB, Conn, Keys, current_claims, forge, legacy_claims,  # noqa: E402
                           publish, query, request, sign, status, subscribe)

cleanup_on_signals()
t = Tap()
wd = Workdir("mercure")
K = Keys(wd.path)

ISS = "https://app.example.com"
AUD = "https://example.com/.well-known/mercure"
ORIGIN = "https://app.example.com"
PSECRET = "publisher secret of the mercure test, 32+ bytes"
SSECRET = "subscriber secret of the mercure test, 32+ bytes"
HISTORY = 30
conns = []    # every Conn left open, closed at the end


PKEY = K.secret("pub.key", PSECRET)
SKEY = K.secret("sub.key", SSECRET)


def hub(name, *args, keys=None):
    """A responder with --mercure and the test's issuer and audience under spawn-fcgi."""
    keys = keys or ["--mercure-publisher-key-file", "HS256:" + PKEY,
                    "--mercure-subscriber-key-file", "HS256:" + SKEY]
    argv = ["--mercure", "--mercure-issuer", ISS, "--mercure-audience", AUD] + keys + list(args)
    return start_spawned_responder(wd, argv, name=name)


def ptok(publish_on=("*",), **kw):
    return sign(current_claims(ISS, AUD, publish=list(publish_on), **kw), PSECRET)


def stok(subscribe_on=None, **kw):
    return sign(current_claims(ISS, AUD, subscribe=subscribe_on, **kw), SSECRET)


def lptok(publish_on=("*",), **kw):
    return sign(legacy_claims(publish=list(publish_on), **kw), PSECRET, typ="JWT")


def lstok(subscribe_on=None, **kw):
    return sign(legacy_claims(subscribe=subscribe_on, **kw), SSECRET, typ="JWT")


def sub(sock, pairs, token=None, headers=None):
    c = subscribe(sock, pairs, token, headers)
    conns.append(c)
    return c


def pub(sock, topics, data="", token=None, extra=(), headers=None):
    """Publishes; the id it answered (raises when it is not a 200)."""
    r = publish(sock, topics, data, token or ptok(), extra, headers)
    if r.status != 200:
        raise RuntimeError("publish %r: %r %r" % (topics, r.status, r.text()))
    return r.text()


def got(c, n, timeout=5):
    """Waits until c has n update events (or more); their data."""
    c.read_until(lambda x: len(x.datas()) >= n, timeout)
    return c.datas()


def fence(sock, subs, tag):
    """Publishes a public update on topic `fence` and waits until every subscriber of subs
    (each subscribed to it too) has it: what was published before has been delivered."""
    pub(sock, ["https://example.com/fence"], tag)
    pump(subs, lambda: all(tag in s.datas() for s in subs), 10)


def oneline(c):
    b = c.text()
    return len(b) > 8 and b.endswith("\n") and "\n" not in b[:-1] and "\r" not in b


def refusal(c, code, www, words, name):
    """One refusal: its status, its WWW-Authenticate (None: no header; "": Bearer without
    error=; else the error), a one-line reason holding each of words."""
    h = c.header("WWW-Authenticate")
    want = None if www is None else "Bearer" if www == "" else 'Bearer error="%s"' % www
    body = c.text().strip()
    ok = c.status == code and h == want and oneline(c) and \
        all(w.lower() in body.lower() for w in words)
    t.ok(ok, "%s: %d%s, \"%s\"" % (name, code, ", " + want if want else "", body[:150]),
         "status %r, WWW-Authenticate %r, body %r" % (c.status, h, c.text()))


# ---------------------------------------------------------------- round trips

def round_trips_current(sock):
    B = "https://example.com/books/"
    exact = sub(sock, [("match", B + "1"), ("match", "https://example.com/fence")])
    star = sub(sock, [("match", "*")])
    pat = sub(sock, [("match_urlpattern", B + ":id"), ("match", "https://example.com/fence")])
    rel = sub(sock, [("match_urlpattern", "/books/:id"), ("match", "https://example.com/fence")])
    xpl = sub(sock, [("match_exact", "/books/1"), ("match", "https://example.com/fence")])
    many = sub(sock, [("match", B + "1"), ("match", "*"), ("match_urlpattern", B + ":id"),
                      ("match_urlpattern", "/books/*"), ("match_exact", "alt-1")])
    alt = sub(sock, [("match", "alt-2"), ("match", "https://example.com/fence")])
    t.ok(all(c.status == 200 and c.header("Content-Type") == "text/event-stream; charset=utf-8"
             for c in (exact, star, pat, rel, xpl, many, alt)),
         "current draft: seven subscriptions answered 200 text/event-stream",
         [(c.status, c.text()) for c in (exact, star, pat, rel, xpl, many, alt)])
    pub(sock, [B + "1", "alt-1"], "book 1")
    pub(sock, [B + "2"], "book 2")
    pub(sock, ["/books/3"], "relative 3")
    pub(sock, ["https://other.example/books/4"], "other host 4")
    pub(sock, [B + "5/chapters/1"], "chapter")
    pub(sock, ["urn:isbn:5", "alt-2"], "alternate")
    pub(sock, ["/books/1"], "relative 1")
    subs = [exact, pat, rel, xpl, alt]
    fence(sock, subs + [star], "f1")
    t.eq(exact.datas(), ["book 1", "f1"],
         "exact match: the topic's updates only, byte for byte (not books/2, not the "
         "relative /books/1)")
    t.eq(star.datas(), ["book 1", "book 2", "relative 3", "other host 4", "chapter",
                        "alternate", "relative 1", "f1"], "match=*: every update, in order")
    t.eq(pat.datas(), ["book 1", "book 2", "relative 3", "relative 1", "f1"],
         "absolute URL pattern https://example.com/books/:id: the books of example.com, "
         "relative topics resolved against the hub's URL, not another host, not a chapter")
    t.eq(rel.datas(), ["book 1", "book 2", "relative 3", "relative 1", "f1"],
         "relative URL pattern /books/:id resolved against --mercure-audience: the same")
    t.eq(xpl.datas(), ["relative 1", "f1"],
         "match_exact=/books/1: compared byte for byte, never resolved")
    t.eq(alt.datas(), ["alternate", "f1"], "an alternate topic (the second topic field) "
         "reaches its subscribers")
    many.read_until(lambda c: "f1" in c.datas(), 5)
    t.eq(many.datas(), ["book 1", "book 2", "relative 3", "other host 4", "chapter",
                        "alternate", "relative 1", "f1"],
         "five matchers that all match (exact, *, two URL patterns, an alternate topic): "
         "each update once")


def round_trips_legacy(sock):
    B = "https://example.com/legacy/"
    exact = sub(sock, [("topic", B + "1"), ("topic", "https://example.com/fence")])
    tpl = sub(sock, [("topic", B + "{id}"), ("topic", "https://example.com/fence")])
    star = sub(sock, [("topic", "*")])
    notpl = sub(sock, [("topic", B + "{"), ("topic", "https://example.com/fence")])
    t.ok(all(c.status == 200 for c in (exact, tpl, star, notpl)),
         "legacy draft: topic= subscriptions answered 200",
         [(c.status, c.text()) for c in (exact, tpl, star, notpl)])
    pub(sock, [B + "1"], "l1", lptok())
    pub(sock, [B + "2", B + "{"], "l2", lptok())
    pub(sock, [B + "3/x"], "l3", lptok())
    pub(sock, [B + "{id}"], "the template itself", lptok())
    fence(sock, [exact, tpl, notpl, star], "f2")
    t.eq(exact.datas(), ["l1", "f2"], "legacy exact selector: its topic only")
    t.eq(tpl.datas(), ["l1", "l2", "the template itself", "f2"],
         "legacy URI template {id}: one segment, not /3/x; a topic equal to the selector "
         "matches too (the draft's step 2)")
    t.eq(notpl.datas(), ["l2", "f2"], "legacy selector that is no template ('{'): compared "
         "exactly (as an alternate topic here)")
    t.eq(star.datas(), ["l1", "l2", "l3", "the template itself", "f2"], "legacy topic=*: all")


def event_bytes(sock):
    c = sub(sock, [("match", "urn:bytes")])
    r = publish(sock, ["urn:bytes"], "line 1\nline 2\r\nline 3\rline 4", ptok(),
                [("id", "urn:example:1"), ("type", "book.updated"), ("retry", "2500")])
    t.ok(r.status == 200 and r.header("Content-Type") == "text/plain; charset=utf-8"
         and r.text() == "urn:example:1",
         "publish answers 200 text/plain; charset=utf-8 with the publisher's id as the body",
         (r.status, r.headers, r.text()))
    c.read_until(lambda x: b"line 4" in x.body, 5)
    want = (b"event: book.updated\nretry: 2500\nid: urn:example:1\ndata: line 1\n"
            b"data: line 2\ndata: line 3\ndata: line 4\n\n")
    t.ok(c.body.endswith(want), "the event's bytes: event, retry, id, one data line per line "
         "(CR, LF and CRLF each end one)", c.body[-200:])
    r = publish(sock, ["urn:bytes"], "", ptok())
    hub_id = r.text()
    c.read_until(lambda x: hub_id.encode() in x.body, 5)
    t.ok(re.fullmatch(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                      r"[0-9a-f]{12}", hub_id) is not None and
         c.body.endswith(("id: %s\ndata: \n\n" % hub_id).encode()),
         "without an id the hub makes a UUIDv7 URN, sent as the event's id; empty data is "
         "one empty data line", (hub_id, c.body[-120:]))
    a = publish(sock, ["urn:bytes"], "again", ptok(), [("id", "urn:example:1")])
    c.read_until(lambda x: b"again" in x.body, 5)
    t.ok(a.status == 200 and a.text() == "urn:example:1" and
         c.body.endswith(b"id: urn:example:1\ndata: again\n\n"),
         "a publisher's id is sent verbatim, a duplicate too", (a.status, a.text()))
    forged = "x\nid: forged\nevent: mercure\n\ndata: injected"
    publish(sock, ["urn:bytes"], forged, ptok())
    c.read_until(lambda x: b"injected" in x.body, 5)
    last = c.events[-1]
    t.ok(last["data"] == forged and last["event"] is None and last["id"] != "forged",
         "data holding event and id lines comes out as data lines, never as fields",
         last)


def algorithms():
    """RS256 publisher and ES256 subscriber keys; EdDSA publisher and HS512 subscriber;
    HS384 both."""
    cases = [("rs-es", ("RS256", K.pair("rsa", "rsa"), "rsa"), ("ES256", K.pair("ec", "ec"), "ec")),
             ("ed-hs", ("EdDSA", K.pair("ed", "ed25519"), "ed"),
              ("HS512", K.secret("hs512.key", "h" * 64), "hs512.key")),
             ("hs384", ("HS384", K.secret("hs384p.key", "p" * 48), "hs384p.key"),
              ("HS384", K.secret("hs384s.key", "s" * 48), "hs384s.key"))]
    socks = {}
    for name, (palg, ppath, pname), (salg, spath, sname) in cases:
        _, sock = hub("alg-" + name, keys=["--mercure-publisher-key-file", palg + ":" + ppath,
                                           "--mercure-subscriber-key-file", salg + ":" + spath])
        socks[name] = sock
        p = sign(current_claims(ISS, AUD, publish=["*"]), K.priv[pname], palg)
        s = sign(current_claims(ISS, AUD, subscribe=["urn:alg"]), K.priv[sname], salg)
        c = sub(sock, [("match", "urn:alg")], s)
        r = publish(sock, ["urn:alg"], "signed " + palg, p, [("private", "on")])
        c.read_until(lambda x: x.datas(), 5)
        t.ok(c.status == 200 and r.status == 200 and c.datas() == ["signed " + palg],
             "a %s publisher and a %s subscriber (keys by openssl, tokens by PyJWT): a "
             "private update goes through" % (palg, salg), (c.status, r.status, r.text(),
                                                           c.datas()))
    return socks


# ---------------------------------------------------------------- refusals

def refusals(sock, strict, cur, leg, rs_sock):
    B = "https://example.com/r/"
    now = int(time.time())
    refusal(request(strict, "GET", HUB, query([("match", B)])), 401, "", ["token"],
            "subscribe without a token (no --mercure-anonymous)")
    refusal(publish(sock, [B], "x", None), 401, "", ["token"], "publish without a token")
    bad = ptok()
    head, body, sig = bad.split(".")
    bad = "%s.%s.%s" % (head, body, sig[:-4] + ("AAAA" if sig[-4:] != "AAAA" else "BBBB"))
    refusal(publish(sock, [B], "x", bad), 401, "invalid_token", ["signature"],
            "a token whose signature was altered")
    refusal(publish(sock, [B], "x", sign(current_claims(ISS, AUD, publish=["*"]), SSECRET)),
            401, "invalid_token", ["signature"],
            "a publisher token signed with the subscriber key (the keys are separate)")
    rsa_pem = K.priv["rsa.pub"]
    confused = forge({"alg": "HS256", "typ": "at+jwt"}, current_claims(ISS, AUD, publish=["*"]),
                     hmac_key=rsa_pem)
    refusal(publish(rs_sock, [B], "x", confused), 401, "invalid_token", ["alg"],
            "wrong alg: an HS256 token keyed with the hub's RSA public key (algorithm "
            "confusion) to an RS256 key")
    rs = sign(current_claims(ISS, AUD, publish=["*"]), K.priv["rsa"], "RS256")
    refusal(publish(sock, [B], "x", rs), 401, "invalid_token", ["alg"],
            "wrong alg: an RS256 token to an HS256 key")
    none = forge({"alg": "none", "typ": "at+jwt"}, current_claims(ISS, AUD, publish=["*"]))
    refusal(publish(sock, [B], "x", none), 401, "invalid_token", ["none"], "alg none")
    refusal(publish(sock, [B], "x", ptok(exp=now - 5)), 401, "invalid_token", ["expired"],
            "an expired token")
    refusal(publish(sock, [B], "x", ptok(nbf=now + 3600)), 401, "invalid_token",
            ["not valid yet"], "a token whose nbf is an hour ahead")
    refusal(publish(sock, [B], "x", ptok(aud="https://other.example/.well-known/mercure")),
            401, "invalid_token", ["aud"], "a token for another hub (aud)")
    refusal(publish(sock, [B], "x", ptok(iss="https://evil.example")), 401, "invalid_token",
            ["iss"], "a token of an issuer the hub does not trust (iss)")
    refusal(publish(sock, [B], "x", ptok(iss=None)), 401, "invalid_token", ["iss"],
            "a current-draft token without iss")
    refusal(publish(sock, [B], "x", ptok(exp=None)), 401, "invalid_token", ["exp"],
            "a current-draft token without exp")
    refusal(request(sock, "GET", HUB, query([("match", B)]), token=stok(exp=now - 5)), 401,
            "invalid_token",
            ["expired"], "subscribe with an expired token")
    refusal(publish(sock, [B], "x", sign(current_claims(ISS, AUD, subscribe=["*"]), PSECRET)),
            403, "insufficient_scope", ["publish"], "a token without a publish grant")
    refusal(publish(sock, [B + "1", B + "2"], "x", ptok([B + "1"])), 403, "insufficient_scope",
            ["every topic"], "a publisher granted the canonical topic but not the alternate")
    refusal(publish(sock, [B + "2", B + "1"], "x", ptok([B + "1"])), 403, "insufficient_scope",
            ["every topic"], "a publisher granted the alternate topic but not the canonical")
    refusal(publish(sock, [B + "1"], "x", lptok([])), 403, "insufficient_scope", ["publish"],
            "a legacy token whose mercure.publish is empty")

    # a token in a cookie: Origin or Referer must be the hub's or an allowed one
    cookie = {"Cookie": "__Secure-mercure_access_token=" + ptok()}
    refusal(publish(sock, [B], "x", None, headers=cookie), 403, "", ["origin"],
            "a cookie token on POST without Origin or Referer")
    refusal(publish(sock, [B], "x", None, headers=dict(cookie, Origin="https://evil.example")),
            403, "", ["origin"], "a cookie token on POST from another origin")
    lc = {"Cookie": "mercureAuthorization=" + lptok(), "Referer": "https://evil.example/x"}
    refusal(publish(sock, [B], "x", None, headers=lc), 403, "", ["origin"],
            "a legacy mercureAuthorization cookie on POST with a Referer of another origin")
    ok = [publish(sock, [B], "x", None, headers=dict(cookie, Origin=ORIGIN)),
          publish(sock, [B], "x", None, headers=dict(cookie, Referer="https://hub.example.com/p")),
          publish(sock, [B], "x", None, headers=dict(lc, Referer="https://hub.example.com/")),
          publish(sock, [B], "x", ptok(), headers={"Cookie": "mercureAuthorization=garbage"})]
    t.ok([r.status for r in ok] == [200] * 4,
         "a cookie token publishes from an allowed origin, and with a Referer of the hub's "
         "own origin (both cookie names); a Bearer header wins over a cookie",
         [(r.status, r.text()) for r in ok])

    # the reserved namespace, whatever the spelling
    for topic in ["/.well-known/mercure", "/.well-known/mercure/subscriptions/exact/x/y",
                  "https://example.com/.well-known/mercure/subscriptions/x",
                  "https://another.example/.well-known/mercure/x",
                  "/.well-known/%6Dercure/subscriptions/x",
                  "/.well-known/mercure/../mercure/x", "/a/../.well-known/mercure/x",
                  "//example.com/.well-known/mercure"]:
        refusal(publish(sock, [topic], "x", ptok()), 400, None, ["reserved"],
                "a topic in the hub's reserved namespace: %s" % topic)
    refusal(publish(sock, [B, "/.well-known/mercure/subscriptions/a/b"], "x", ptok()), 400, None,
            ["topic 2", "reserved"], "the reserved namespace as an alternate topic")
    near = [publish(sock, [x], "x", ptok()) for x in
            ("/.well-known/mercurex", "/.well-known/mercure-not", "urn:.well-known/mercure/x")]
    t.ok([r.status for r in near] == [200] * 3,
         "topics that only look like the namespace are published (/.well-known/mercurex, "
         "/.well-known/mercure-not, urn:.well-known/mercure/x)", [r.text() for r in near])
    refusal(publish(sock, ["*"], "x", ptok()), 400, None, ["wildcard"], "the topic *")
    refusal(publish(sock, [B], "x", ptok(), [("type", "mercure")]), 400, None, ["mercure"],
            "type mercure (reserved for the hub's own events)")
    for bad_id, why in [("#1", "#"), ("earliest", "earliest"), ("a\x01b", "control"),
                        ("a\u200bb", "format")]:
        refusal(publish(sock, [B], "x", ptok(), [("id", bad_id)]), 400, None, [why],
                "id %r" % bad_id)
    for bad_retry in ["5s", "-1", " 5", ""]:
        refusal(publish(sock, [B], "x", ptok(), [("retry", bad_retry)]), 400, None, ["retry"],
                "retry %r (digits only)" % bad_retry)
    refusal(publish(sock, ["urn:t:%d" % i for i in range(65)], "x", ptok()), 413, None,
            ["topic"], "65 topic fields (64 at most)")
    refusal(publish(sock, ["urn:" + "x" * 4093], "x", ptok()), 413, None, ["longer"],
            "a topic of 4,097 bytes (4,096 at most)")
    refusal(publish(sock, ["urn:big"], "x" * 120000, ptok()), 413, None, ["max-message"],
            "a body over --max-message")
    refusal(publish(sock, ["urn:a\x7fb"], "x", ptok()), 400, None, ["control"],
            "a topic holding DEL")
    refusal(publish(sock, [], "x", ptok()), 400, None, ["topic"], "no topic field")

    # subscribe requests
    def sref(pairs, code, words, name, s=sock, token=None):
        c = subscribe(s, pairs, token)
        c.finish(5)
        c.close()
        refusal(c, code, None, words, name)
    sref([("match", "urn:m:%d" % i) for i in range(33)], 400, ["more than 32"],
         "33 topic matchers (32 at most)")
    sref([("match", "urn:" + "m" * 4093)], 400, ["longer than 4096"],
         "a matcher of 4,097 bytes")
    sref([("match_urlpattern", "https://example.com/" + "m" * 4080)], 400, ["longer than 4096"],
         "a URL pattern of 4,101 bytes")
    for name in ["match_regex", "MATCH", "Match_exact", "matchfoo", "match_URLPATTERN"]:
        sref([("match", "urn:x"), (name, "urn:y")], 400, ["match"],
             "a parameter %s (the reserved match prefix)" % name)
    sref([("match", "urn:x"), ("topic", "urn:y")], 400, ["both"],
         "match and topic in one request (mixed generations)")
    sref([("match_urlpattern", "https://example.com/:id(")], 400, ["not a valid URL pattern"],
         "an invalid URL pattern")
    sref([("last_event_id", "x")], 400, ["no topic matcher"], "no matcher at all")
    sref([("match", "urn:a\x1bb")], 400, ["control"], "a matcher holding ESC")
    sref([("match", "urn:x"), ("last_event_id", "a\nb")], 400, ["last_event_id"],
         "a last_event_id holding a line feed")
    c = subscribe(sock, [("topic", "urn:x"), ("matchfoo", "y")])
    t.eq(c.status, 200, "a legacy request (topic=) may carry other match... names: its "
         "draft ignores what it does not know")
    c.close()
    sref([("topic", "urn:x")], 400, ["legacy", "--mercure-protocol"],
         "topic= on a hub with --mercure-protocol current", s=cur)
    sref([("match", "urn:x")], 400, ["current", "--mercure-protocol"],
         "match= on a hub with --mercure-protocol legacy", s=leg)
    refusal(publish(cur, ["urn:x"], "x", lptok()), 401, "invalid_token", ["typ", "at+jwt"],
            "a legacy token (typ JWT) on a hub with --mercure-protocol current")
    refusal(publish(leg, ["urn:x"], "x", ptok()), 401, "invalid_token", ["at+jwt"],
            "a current token (typ at+jwt) on a hub with --mercure-protocol legacy")
    a = publish(cur, ["urn:x"], "x", ptok())
    b = publish(leg, ["urn:x"], "x", lptok())
    t.ok(a.status == 200 and b.status == 200, "each restricted hub takes its own generation",
         (a.text(), b.text()))


# ---------------------------------------------------------------- private updates

FENCE = "https://example.com/fence"


def private_updates(sock):
    P = "https://example.com/private/"
    pairs = [("match_urlpattern", P + ":id"), ("match", FENCE)]
    grant = [P + "1", ("https://example.com/users/42/*", "urlpattern")]
    mark = pub(sock, ["urn:private-mark"], "mark")
    granted = sub(sock, pairs, stok(grant))
    anon = sub(sock, pairs)
    other = sub(sock, pairs, stok(["https://example.com/elsewhere", P + "9"]))
    legacy = sub(sock, [("topic", P + "{id}"), ("topic", FENCE)], lstok([P + "{id}"]))
    star = sub(sock, [("match", "*")], stok(["*"]))
    pv = [("private", "on")]
    pub(sock, [P + "1"], "p1", extra=pv)
    pub(sock, [P + "2"], "p2", extra=pv)
    pub(sock, [P + "3", "https://example.com/users/42/books/3"], "p3 for user 42", extra=pv)
    pub(sock, [P + "4"], "public 4")
    pub(sock, [P + "5"], "p5 private with an empty value", extra=[("private", "")])
    fence(sock, [granted, anon, other, legacy], "f3")
    t.eq(granted.datas(), ["p1", "p3 for user 42", "public 4", "f3"],
         "live: a token granting books/1 and users/42/* gets private 1, private 3 through its "
         "alternate topic, the public one; not 2, not 5")
    t.eq(anon.datas(), ["public 4", "f3"], "live: an anonymous subscriber gets no private "
         "update (private= with an empty value is private too)")
    t.eq(other.datas(), ["public 4", "f3"], "live: a token granting other topics gets none")
    t.eq(legacy.datas(), ["p1", "p2", "p3 for user 42", "public 4",
                          "p5 private with an empty value", "f3"],
         "live: a legacy token whose mercure.subscribe holds the template gets them all")
    privates = ["p1", "p2", "p3 for user 42", "p5 private with an empty value"]
    star.read_until(lambda c: "f3" in c.datas(), 5)
    t.eq([d for d in star.datas() if d in privates],
         ["p1", "p2", "p3 for user 42", "p5 private with an empty value"],
         "live: a token granting * gets every private update")
    rep = {}
    for name, tok in [("granted", stok(grant)), ("anon", None), ("other", stok([P + "9"])),
                      ("legacy", lstok([P + "{id}"]))]:
        c = sub(sock, pairs if name != "legacy" else [("topic", P + "{id}"), ("topic", FENCE)],
                tok, {"Last-Event-ID": mark})
        rep[name] = c
    pump(list(rep.values()), lambda: all("f3" in c.datas() for c in rep.values()), 10)
    t.eq(rep["granted"].datas(), ["p1", "p3 for user 42", "public 4", "f3"],
         "replay (Last-Event-ID): the same private updates as live, no more")
    t.eq(rep["anon"].datas(), ["public 4", "f3"], "replay: an anonymous subscriber gets no "
         "private update")
    t.eq(rep["other"].datas(), ["public 4", "f3"], "replay: a token granting other topics "
         "gets none")
    t.eq(rep["legacy"].datas(), ["p1", "p2", "p3 for user 42", "public 4",
                                 "p5 private with an empty value", "f3"],
         "replay: a legacy token's template grant gets them all")
    e = sub(sock, pairs, None, {"Last-Event-ID": "earliest"})
    e.read_until(lambda c: "f3" in c.datas(), 5)
    t.ok("public 4" in e.datas() and not set(privates) & set(e.datas()),
         "replay from earliest: no private update to an anonymous subscriber", e.datas())


# ---------------------------------------------------------------- hostile selectors

def hostile(sock):
    # a regexp group that backtracks exponentially before its second branch matches
    H = "https://example.com/h/" + "a" * 40 + "b"
    T = "https://example.com/t/" + "x" * 40 + "!"
    bad_p = ["https://example.com/h/:p((?:(?:a|a)*%s|a+b))" % x for x in "cde"]
    bad_t = "https://example.com/t/{a}x{b}x{c}x{d}x{e}x{f}x{g}x{h}x"
    control = sub(sock, [("match", "urn:control")])
    hp = [sub(sock, [("match_urlpattern", p), ("match", FENCE)]) for p in bad_p]
    ht = sub(sock, [("topic", bad_t), ("topic", FENCE)])
    sane = sub(sock, [("match_urlpattern", "https://example.com/h/:p(a+b)"), ("match", FENCE)])
    sane_t = sub(sock, [("topic", "https://example.com/t/{+v}"), ("topic", FENCE)])
    t.ok(all(c.status == 200 for c in hp + [ht, sane, sane_t, control]),
         "a hostile URL pattern and a hostile URI template are taken as subscriptions",
         [c.text() for c in hp + [ht]])
    pending, st = [], None
    tok = ptok()
    for i in range(3):
        pending.append(Conn(sock, "POST", HUB, "", None, b"topic=" + urllib.parse.quote(H, "")
                            .encode() + b"&data=hostile", tok))
        pending.append(Conn(sock, "POST", HUB, "", None, b"topic=" + urllib.parse.quote(T, "")
                            .encode() + b"&data=template", tok))
        pending.append(Conn(sock, "POST", HUB, "", None,
                            ("topic=urn:control&data=c%d" % i).encode(), tok))
        if i == 1:
            st = Conn(sock, "GET", "/status")
            pending.append(st)
    pump(pending + [control], lambda: all(c.eof for c in pending) and
         len(control.datas()) >= 3, 60)
    t.ok(st.status == 200 and b"streams_open" in st.body,
         "/status is answered while the hostile selectors are evaluated", st.text()[:200])
    t.eq(control.datas(), ["c0", "c1", "c2"], "a control subscriber gets its updates, in "
         "order, meanwhile")
    t.ok(all(c.status == 200 for c in pending if c is not st), "every publish was answered",
         [(c.status, c.text()) for c in pending])
    fence(sock, hp + [ht, sane, sane_t], "f4")
    t.ok(all(c.datas() == ["f4"] for c in hp),
         "the hostile URL pattern, stopped at its step limit, counts as no match (a sane "
         "pattern matches that topic)", [c.datas() for c in hp])
    t.eq(sane.datas(), ["hostile"] * 3 + ["f4"], "the sane URL pattern matches the topic")
    t.eq(ht.datas(), ["f4"], "the hostile URI template, stopped at its step limit, counts as "
         "no match")
    t.eq(sane_t.datas(), ["template"] * 3 + ["f4"], "a sane URI template ({+v}) matches the "
         "long topic")


# ---------------------------------------------------------------- resume

def uuid7(ms, seq):
    """The hub's id of message MS-SEQ (a UUIDv7 whose counter is seq), made here."""
    v = (ms << 80) | (0x7 << 76) | (((seq >> 62) & 0xFFF) << 64) | (0b10 << 62) | \
        (seq & ((1 << 62) - 1))
    h = "%032x" % v
    return "urn:uuid:%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def msgid_of(u):
    h = u[9:].replace("-", "")
    v = int(h, 16)
    return v >> 80, (((v >> 64) & 0xFFF) << 62) | (v & ((1 << 62) - 1))


def resume(sock):
    R = "urn:resume"
    a = pub(sock, [R], "a")
    ms, seq = msgid_of(a)
    t.eq(uuid7(ms, seq), a, "the hub's id is a UUIDv7 carrying the message's MS-SEQ "
         "(read back here)")
    shaped = uuid7(ms, seq + 1)       # shaped as the hub's, before its own update
    b = pub(sock, [R], "b", extra=[("id", "dup")])
    c = pub(sock, [R], "c")
    d = pub(sock, [R], "d", extra=[("id", "dup")])
    e = pub(sock, [R], "e", extra=[("id", shaped)])
    f = pub(sock, [R], "f")
    t.ok(b == d == "dup" and e == shaped, "publisher ids answered verbatim", (b, d, e))

    def res(pairs, headers, want, name, want_header):
        s = sub(sock, pairs, None, headers)
        s.read_until(lambda x: len(x.datas()) >= len(want), 5)
        s.read_until(lambda x: False, 0.1)   # nothing more comes
        hv = (s.header("Mercure-Last-Event-ID"), s.header("Last-Event-ID"))
        t.ok(s.datas() == want and hv == (want_header, want_header),
             "%s: %s, Mercure-Last-Event-ID and Last-Event-ID %s" % (name, " ".join(want),
                                                                     want_header),
             (s.datas(), hv))
        return s
    res([("match", R)], {"Last-Event-ID": a}, ["b", "c", "d", "e", "f"],
        "Last-Event-ID: a hub id", a)
    res([("match", R), ("last_event_id", a)], {"Last-Event-ID": c}, ["d", "e", "f"],
        "Last-Event-ID wins over last_event_id", c)
    res([("match", R), ("last_event_id", c)], None, ["d", "e", "f"],
        "last_event_id alone (the current draft)", c)
    res([("topic", R), ("lastEventID", a)], {"Last-Event-ID": c}, ["d", "e", "f"],
        "legacy: Last-Event-ID wins over lastEventID", c)
    res([("topic", R), ("lastEventID", c)], None, ["d", "e", "f"], "legacy: lastEventID alone",
        c)
    res([("topic", R), ("last_event_id", c)], None, [],
        "legacy: last_event_id is not its parameter (a live subscription)", None)
    res([("match", R)], {"Last-Event-ID": "dup"}, ["c", "d", "e", "f"],
        "a duplicate publisher id resolves to the earliest update that has it", "dup")
    res([("match", R)], {"Last-Event-ID": shaped}, ["f"],
        "a publisher id shaped as a hub id resumes after its own update", shaped)
    res([("match", R)], {"Last-Event-ID": f}, [], "the newest id: nothing to replay", f)
    never = uuid7(ms, seq + 100000)
    every = ["a", "b", "c", "d", "e", "f"]
    res([("match", R)], {"Last-Event-ID": never}, every,
        "a hub-shaped id no update has: every retained update", "earliest")
    res([("match", R)], {"Last-Event-ID": "urn:no-such-id"}, every,
        "an unknown id: every retained update", "earliest")
    res([("match", R), ("last_event_id", "earliest")], None, every,
        "last_event_id=earliest: every retained update", "earliest")
    res([("topic", R)], {"Last-Event-ID": "earliest"}, every,
        "legacy Last-Event-ID: earliest: every retained update", "earliest")
    s = res([("match", R)], {"Last-Event-ID": c}, ["d", "e", "f"], "a replay", c)
    pub(sock, [R], "g")
    t.eq(got(s, 4), ["d", "e", "f", "g"], "after the replay, live updates follow once")
    L = "urn:resume:long"
    first = pub(sock, [L], "0")
    for i in range(1, HISTORY + 5):
        pub(sock, [L], str(i))
    res([("match", L)], {"Last-Event-ID": first}, [str(i) for i in range(5, HISTORY + 5)],
        "an id beyond --mercure-history %d (%d published since): the %d retained"
        % (HISTORY, HISTORY + 4, HISTORY), "earliest")


# ---------------------------------------------------------------- streams that end

def ended_in_delivery(sock):
    """Subscribers that never read, each alone with its own URL pattern or template, or
    sharing exact topics and `*`, are dropped while an update is being delivered to
    everyone: the index keeps them until the turn ends (ASan would see a pattern freed
    under the delivery), readers get every update."""
    S = "https://example.com/slow"
    kinds = [lambda i: [("match", S)], lambda i: [("match", "*")],
             lambda i: [("match_urlpattern", "https://example.com/:v%d(slow)" % i)],
             lambda i: [("topic", "https://example.com/{v%d}" % i)],
             lambda i: [("match_urlpattern", "https://example.com/:w%d(slow)" % i),
                        ("match", S), ("match", "*")]]
    before = status(sock)["streams_dropped_slow"]
    slow = [subscribe(sock, kinds[i % 5](i), rcvbuf=4096) for i in range(40)]
    readers = [sub(sock, kinds[i % 5](100 + i)) for i in range(10)]
    t.ok(all(c.status == 200 for c in slow + readers), "50 subscribers, 40 of them never read",
         [c.status for c in slow + readers])
    blob = "x" * 4000
    n = 80
    for i in range(n):
        pub(sock, [S], "%d %s" % (i, blob))
        pump(readers, lambda: all(len(c.datas()) > i for c in readers), 10)
    dropped = status(sock)["streams_dropped_slow"] - before
    t.ok(dropped == 40, "the 40 that never read were dropped for their full buffers, during "
         "deliveries (%d)" % dropped, dropped)
    t.ok(all([d.split()[0] for d in c.datas()] == [str(i) for i in range(n)] for c in readers),
         "the 10 readers got all %d updates, in order" % n,
         [len(c.datas()) for c in readers])
    again = [sub(sock, kinds[i % 5](i)) for i in range(5)]
    pub(sock, [S], "after the drops")
    pump(again + readers, lambda: all("after the drops" in c.datas() for c in again + readers),
         10)
    t.ok(all("after the drops" in c.datas() for c in again + readers),
         "then the same matchers subscribed again and the readers get the next update",
         [c.datas()[-1:] for c in again + readers])
    for c in slow + again + readers:
        c.close()


# ---------------------------------------------------------------- exp and heartbeat

def exp_ends_stream(sock):
    """A subscriber's stream ends at its token's exp; one whose token lasts stays."""
    E = "urn:exp"
    claims = current_claims(ISS, AUD, subscribe=[E], exp_in=2)
    short = sub(sock, [("match", E)], sign(claims, SSECRET))
    lasting = sub(sock, [("match", E)], stok([E]))
    pub(sock, [E], "before exp")
    pump([short, lasting], lambda: "before exp" in short.datas() and
         "before exp" in lasting.datas(), 5)
    ended = short.read_until(lambda x: x.eof, 15)
    at = time.time()
    # exp is in whole seconds: the hub ends the stream within the second it names
    t.ok(short.status == 200 and short.datas() == ["before exp"] and ended and
         at >= claims["exp"] - 1,
         "a stream ends at its token's exp (2 s ahead, not sooner), after the update before it",
         (short.status, short.datas(), ended, at, claims["exp"]))
    pub(sock, [E], "after exp")
    lasting.read_until(lambda x: "after exp" in x.datas(), 5)
    t.ok(lasting.datas() == ["before exp", "after exp"] and not lasting.eof,
         "a subscriber whose token has not expired stays and gets the next update",
         (lasting.datas(), lasting.eof))
    short.close()
    lasting.close()


def heartbeat(beat):
    c = sub(beat, [("match", "urn:quiet")])
    c.read_until(lambda x: len(x.parser.comments) >= 2, 10)
    times = [when - c.t_head for _, when in c.parser.comments]
    t.ok(len(times) >= 2 and times[0] >= 0.9 and all(y - x >= 0.9 for x, y in
                                                      zip(times, times[1:])),
         "-k 1: a comment after each second of silence, none sooner",
         (c.parser.comments, times))
    pub(beat, ["urn:quiet"], "news")
    c.read_until(lambda x: x.datas(), 5)
    n = len(c.parser.comments)
    t_news = c.events[-1]["t"]
    c.read_until(lambda x: len(x.parser.comments) > n, 5)
    t.ok(c.datas() == ["news"] and len(c.parser.comments) > n and
         c.parser.comments[n][1] - t_news >= 0.9,
         "an update restarts the silence: the next comment comes a second after it",
         (c.parser.comments, t_news))


# ---------------------------------------------------------------- active subscriptions

SUBS = HUB + "/subscriptions"


def enc(s):
    """Percent-encoded once, as the hub expands {match} and {subscriber}."""
    return urllib.parse.quote(s, safe="-._~")


def docs(c):
    return [json.loads(e["data"]) for e in c.events if e["data"] is not None]


def link_attrs(h):
    """The attributes of a Link header value, quoted-strings unescaped; None when it is not
    one <URL> followed by ; name=value or name="quoted" parameters to its end."""
    m = re.match(r'<([^>]*)>', h or "")
    if not m:
        return None
    rest, out = h[m.end():], {"": m.group(1)}
    tok = r'[!#$%&\'*+.^_`|~0-9A-Za-z-]+'
    while rest:
        p = re.match(r'\s*;\s*(%s)\s*=\s*(?:(%s)|"((?:[^"\\]|\\.)*)")\s*' % (tok, tok), rest)
        if not p:
            return None
        out[p.group(1)] = p.group(2) if p.group(2) is not None else \
            re.sub(r'\\(.)', r'\1', p.group(3))
        rest = rest[p.end():]
    return out


def subscriptions(sock, strict):
    NS = ("/.well-known/mercure/subscriptions/*", "urlpattern")
    watch = sub(sock, [("match_urlpattern", "/.well-known/mercure/subscriptions/:t/:m/:s")],
                stok([NS]))
    lwatch = sub(sock, [("topic", "/.well-known/mercure/subscriptions/{topic}/{subscriber}")],
                 lstok(["/.well-known/mercure/subscriptions/{topic}/{subscriber}"]))
    peek = sub(sock, [("match_urlpattern", "/.well-known/mercure/subscriptions/:t/:m/:s"),
                      ("match", FENCE)])
    nogrant = sub(sock, [("match_urlpattern", "/.well-known/mercure/subscriptions/:t/:m/:s"),
                         ("match", FENCE)], stok(["https://example.com/s/1"]))
    S1 = "https://example.com/s/1"
    subj = sub(sock, [("match", S1), ("match_urlpattern", "/s/:id")],
               stok([S1], payload={"name": "alice"}))
    lsubj = sub(sock, [("topic", "https://example.com/s/{id}")],
                lstok([], payload={"group": "x"}))
    def of_subj(c):
        """The subject's events a watcher got."""
        return [e for e in c.events if e["data"] is not None and
                json.loads(e["data"]).get("match") in (S1, "/s/:id")]
    watch.read_until(lambda c: len(of_subj(c)) >= 2, 5)
    ev = of_subj(watch)
    d = [json.loads(e["data"]) for e in ev]
    ids = {x.get("match"): x for x in d}
    me = (ids.get(S1) or {}).get("subscriber", "")
    want1 = {"id": "/.well-known/mercure/subscriptions/exact/%s/%s" % (enc(S1), enc(me)),
             "type": "subscription", "match_type": "exact", "match": S1, "subscriber": me,
             "active": True, "payload": {"name": "alice"}}
    t.ok(len(ev) == 2 and all(e["event"] == "mercure" for e in ev) and ids.get(S1) == want1,
         "a subscription's start: one event per matcher, type mercure, its document (topic "
         "= id, percent-encoded once, the first grant's payload)", (ev, want1))
    pat = ids.get("/s/:id") or {}
    t.ok(pat.get("match_type") == "urlpattern" and pat.get("subscriber") == me and
         "payload" not in pat and re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", me or "") is not None,
         "the URL pattern's event: same subscriber id (a random URN), no payload (no grant "
         "matches /s/:id)", pat)
    lwatch.read_until(lambda c: len(c.datas()) >= 1, 5)
    ld = docs(lwatch)
    lme = ld[0].get("subscriber", "") if ld else ""
    lwant = {"@context": "https://mercure.rocks/",
             "id": "/.well-known/mercure/subscriptions/%s/%s" %
                   (enc("https://example.com/s/{id}"), enc(lme)),
             "type": "Subscription", "topic": "https://example.com/s/{id}", "subscriber": lme,
             "active": True, "payload": {"group": "x"}}
    t.ok(len(ld) == 1 and ld[0] == lwant and lwatch.events[-1]["event"] is None,
         "a legacy subscription's start: its JSON-LD document on the legacy topic, no event "
         "type, mercure.payload", (ld, lwant))

    # the API
    api_tok = stok([NS, "/.well-known/mercure/subscriptions"])
    coll = request(sock, "GET", SUBS, token=api_tok)
    j = json.loads(coll.body or b"{}")
    mine = [x for x in j.get("subscriptions", []) if x.get("subscriber") == me]
    la = link_attrs(coll.header("Link"))
    t.ok(coll.status == 200 and coll.header("Content-Type") == "application/json" and
         j.get("type") == "subscriptions" and j.get("id") == SUBS and
         sorted(x["match"] for x in mine) == ["/s/:id", S1] and
         all(x.get("match_type") for x in j.get("subscriptions", [])),
         "API: the collection (application/json) lists this hub's current-draft "
         "subscriptions", (coll.status, coll.headers, coll.text()[:600]))
    t.ok(la is not None and la[""] == AUD and la.get("rel") == "mercure" and
         la.get("type") == "mercure" and la.get("content-type") == "application/json" and
         la.get("last-event-id"),
         "API: Link <hub>; rel=mercure with last-event-id, type and content-type",
         coll.header("Link"))
    one_path = "%s/exact/%s" % (SUBS, enc(S1))
    per = request(sock, "GET", one_path, token=api_tok)
    pj = json.loads(per.body or b"{}")
    t.ok(per.status == 200 and pj.get("id") == one_path and
         [x.get("subscriber") for x in pj.get("subscriptions", [])] == [me],
         "API: the collection of one matcher", per.text()[:400])
    single = request(sock, "GET", "%s/%s" % (one_path, enc(me)), token=api_tok)
    t.ok(single.status == 200 and json.loads(single.body or b"{}") == want1,
         "API: one subscription, the same document as its event", single.text()[:400])
    gone = request(sock, "GET", "%s/%s" % (one_path, enc("urn:uuid:" + "0" * 8 + "-0000-4000-"
                                                         "8000-" + "0" * 12)), token=api_tok)
    refusal(gone, 404, None, ["no such"], "API: a subscription that does not exist")
    refusal(request(sock, "GET", SUBS, token=stok(["https://example.com/s/1"])), 403,
            "insufficient_scope", ["subscribe"], "API: a token without a grant on its URL")
    narrow = stok(["/.well-known/mercure/subscriptions"])
    r1 = request(sock, "GET", SUBS, token=narrow)
    refusal(request(sock, "GET", one_path, token=narrow), 403, "insufficient_scope",
            ["subscribe"], "API: a grant on the collection's URL only does not open a "
                           "matcher's (200 for the collection: %d)" % r1.status)
    refusal(request(sock, "GET", SUBS), 401, "", ["token"], "API: no token")
    lcoll = request(sock, "GET", SUBS,
                    token=lstok(["/.well-known/mercure/subscriptions{/rest*}"]))
    lj = json.loads(lcoll.body or b"{}")
    t.ok(lcoll.status == 200 and lcoll.header("Content-Type") == "application/ld+json" and
         lj.get("type") == "Subscriptions" and lj.get("lastEventID") and
         [x.get("subscriber") for x in lj.get("subscriptions", []) if x.get("topic") ==
          "https://example.com/s/{id}"] == [lme],
         "API, legacy token: the legacy collection (application/ld+json, lastEventID)",
         lcoll.text()[:500])
    refusal(request(strict, "GET", SUBS, token=api_tok), 404, None, ["--mercure-subscriptions"],
            "API on a hub without --mercure-subscriptions")

    # the end of a subscription
    subj.close()
    lsubj.close()
    watch.read_until(lambda c: len(of_subj(c)) >= 4, 5)
    end = [json.loads(e["data"]) for e in of_subj(watch)][2:]
    t.ok(sorted(x.get("match") for x in end) == ["/s/:id", S1] and
         all(x.get("active") is False and x.get("subscriber") == me for x in end) and
         dict(end[0] if end[0].get("match") == S1 else end[1], active=True) == want1,
         "a subscription's end: the same documents with active false", end)
    lwatch.read_until(lambda c: len(c.datas()) >= 2, 5)
    t.ok(len(docs(lwatch)) == 2 and docs(lwatch)[1] == dict(lwant, active=False),
         "a legacy subscription's end: active false", docs(lwatch))
    after = request(sock, "GET", "%s/%s" % (one_path, enc(me)), token=api_tok)
    t.eq(after.status, 404, "API: an ended subscription is gone (404)")
    fence(sock, [peek, nogrant], "f5")
    t.ok(peek.datas() == ["f5"] and nogrant.datas() == ["f5"],
         "subscription events are private: an anonymous subscriber and a token without a "
         "grant on the namespace get none", (peek.datas(), nogrant.datas()))


# ---------------------------------------------------------------- CORS

def cors(sock):
    evil = "https://evil.example"
    a = sub(sock, [("match", "urn:cors")], None, {"Origin": ORIGIN})
    b = sub(sock, [("match", "urn:cors")], None, {"Origin": evil})
    t.ok(a.header("Access-Control-Allow-Origin") == ORIGIN and
         a.header("Access-Control-Allow-Credentials") == "true" and
         "Origin" in (a.header("Vary") or ""),
         "CORS: an allowed origin gets Allow-Origin (itself, never *) and Allow-Credentials",
         a.headers)
    t.ok(not any(k.lower().startswith("access-control-") for k, _ in b.headers),
         "CORS: another origin gets no Access-Control header (never reflected)", b.headers)
    p = request(sock, "OPTIONS", HUB, headers={"Origin": ORIGIN,
                                               "Access-Control-Request-Method": "GET",
                                               "Access-Control-Request-Headers": "last-event-id"})
    t.ok(p.status == 200 and p.header("Access-Control-Allow-Origin") == ORIGIN and
         "GET" in (p.header("Access-Control-Allow-Methods") or "") and
         "POST" in (p.header("Access-Control-Allow-Methods") or "") and
         "Last-Event-ID" in (p.header("Access-Control-Allow-Headers") or "") and
         "Authorization" in (p.header("Access-Control-Allow-Headers") or ""),
         "CORS: the preflight of an allowed origin", p.headers)
    q = request(sock, "OPTIONS", HUB, headers={"Origin": evil,
                                               "Access-Control-Request-Method": "GET"})
    t.ok(q.status == 403 and q.header("Access-Control-Allow-Origin") is None and oneline(q),
         "CORS: the preflight of another origin: 403 with a reason, no Allow-Origin",
         (q.status, q.headers, q.text()))
    r = publish(sock, ["urn:cors"], "x", None, headers={"Origin": ORIGIN})
    t.ok(r.status == 401 and r.header("Access-Control-Allow-Origin") == ORIGIN,
         "CORS: a refusal carries the allowed origin's headers (the page can read why)",
         r.headers)
    r = publish(sock, ["urn:cors"], "cors", ptok(), headers={"Origin": ORIGIN})
    t.ok(r.status == 200 and r.header("Access-Control-Allow-Origin") == ORIGIN,
         "CORS: a publish answer too", r.headers)


# ---------------------------------------------------------------- memory

def churn(sock, proc, n, rounds):
    """n subscribers of every matcher kind, in n / 6 distinct patterns and topics, come and
    go `rounds` times; RSS after each round."""
    kinds = [lambda i: [("match", "https://example.com/c/%d" % i)],
             lambda i: [("match_urlpattern", "https://example.com/c/%d/:x" % (i % 100))],
             lambda i: [("match_urlpattern", "/c/*"), ("match", "urn:c:%d" % i)],
             lambda i: [("match", "*")],
             lambda i: [("topic", "https://example.com/c/{x}/%d" % (i % 100))],
             lambda i: [("topic", "urn:c:%d" % i), ("topic", "*")]]
    rss, opened = [], []
    for r in range(rounds):
        cs = []
        for k in range(0, n, 250):
            # in batches: a connection waits for its turn less than the intake's deadline
            batch = [Conn(sock, "GET", HUB, query(kinds[i % 6](i))) for i in range(k, k + 250)]
            pump(batch, lambda: all(c.status is not None or c.eof for c in batch), 60)
            cs += batch
        opened.append(sum(c.status == 200 for c in cs))
        publish(sock, ["https://example.com/c/7/x"], "to many", ptok())
        for c in cs:
            c.close()
        wait_for(lambda: status(sock)["streams_open"] == 0, 30)
        time.sleep(0.2)
        rss.append(proc.rss_kb())
    return rss, opened


def memory(sock, proc):
    n, rounds = 3000, 4
    rss, opened = churn(sock, proc, n, rounds)
    st = status(sock)
    t.ok(opened == [n] * rounds and st["streams_open"] == 0,
         "%d subscribers of every matcher kind came and went %d times: each round all were "
         "served, streams_open is back to 0" % (n, rounds), (opened, st))
    if SANITIZED:
        t.skip("RSS stays where the first round left it (%s KB)" % rss,
               "sanitizer build: ASan keeps freed memory in quarantine")
    else:
        t.ok(rss[-1] <= rss[0] * 1.10 + 1024,
             "RSS stays where the first round left it: %s KB" % " -> ".join(map(str, rss)), rss)
    c = sub(sock, [("match", "urn:after")])
    r = publish(sock, ["urn:after"], "after the churn", ptok())
    t.ok(r.status == 200 and got(c, 1) == ["after the churn"],
         "after the churn a new subscriber gets its update", (r.status, c.datas()))


# ---------------------------------------------------------------- main

try:
    main_p, main = hub("main", "--mercure-anonymous", "--mercure-history", str(HISTORY),
                       "--mercure-cors-origin", ORIGIN, "--max-message", "100000")
    _, strict = hub("strict")
    _, cur = hub("current", "--mercure-anonymous", "--mercure-protocol", "current")
    _, leg = hub("legacy", "--mercure-anonymous", "--mercure-protocol", "legacy")
    _, subs = hub("subs", "--mercure-anonymous", "--mercure-subscriptions")
    _, beat = hub("beat", "--mercure-anonymous", "-k", "1")
    mem_p, mem = hub("mem", "--mercure-anonymous", "--mercure-subscriptions",
                     "--mercure-history", "1000")
    algs = algorithms()
    for section in [lambda: round_trips_current(main), lambda: round_trips_legacy(main),
                    lambda: event_bytes(main),
                    lambda: refusals(main, strict, cur, leg, algs["rs-es"]),
                    lambda: private_updates(main), lambda: resume(main),
                    lambda: hostile(main), lambda: ended_in_delivery(main),
                    lambda: exp_ends_stream(main), lambda: heartbeat(beat),
                    lambda: subscriptions(subs, strict),
                    lambda: cors(main), lambda: memory(mem, mem_p)]:
        section()
        while conns:    # what a section left open goes before the next one
            conns.pop().close()
except Exception as e:  # noqa: BLE001
    t.exception(e)
finally:
    for c in conns:
        c.close()
    wd.cleanup()
t.done()
