"""test_loss.py -- channels lose nothing: every message published after a subscriber's 200
reaches it, in memory and through Redis, however the other subscribers behave and whatever
fails (issue 18, finding 1).

- Races: subscribers open one after another, each sees its 200, and a message with the next
  sequence number is published at once (through another responder, with Redis): each must
  get its own message and the next ones, none missing, none twice, in order (LOSS_RACES
  rounds, 1,500 by default, in memory and with Redis).
- Slow resumes (Redis): 70 clients resume a large channel and never read (more than the 64
  fetches Redis may have in flight); meanwhile a new subscriber gets the message published
  after its 200, and another one that resumes gets everything it missed, promptly compared
  with the same resume made before the slow ones came (a control of the same run).
- A future Last-Event-ID (Redis): a subscriber that resumes from an id Redis never issued
  does not move where later subscribers start.
- Failures (Redis): 60 subscribers that reconnect with Last-Event-ID, over two responders;
  messages numbered 0..N published through both while Redis is SIGKILLed and restarted
  from its AOF, then one responder is SIGKILLed (its subscribers resume on the other):
  every subscriber ends with every acknowledged number, in id order, none twice, and
  nothing but numbers that were published (a publish answered 503 mid-outage may have been
  stored: the publisher retries it, and only such numbers may appear twice).

Limits: every wait has a deadline; nothing is timed but the slow-resume check, which
compares with its own control. LOSS_RACES sets the rounds.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True    # nothing written into the source tree

from harness import (HttpStream, Tap, Workdir, fcgi_request_bytes, pump,  # noqa: E402
                     start_redis, status, wait_for)
from harness import cleanup_on_signals  # noqa: E402
from client import (Resumer, data_events, idkey, increasing, publish,  # noqa: E402
                    py_burst, redis_state, run_resumers, start_with_lighttpd, subscribe)

cleanup_on_signals()
t = Tap()
wd = Workdir("loss")
KEY = "loss-test-publish-key-0123456789"
with open(wd.file("publish.keys"), "w") as f:
    f.write(KEY + "\n")
os.chmod(wd.file("publish.keys"), 0o600)
RACES = int(os.environ.get("LOSS_RACES", "1500"))
WINDOW = 4      # a subscriber stays open for this many publishes after its own


def races(sub_port, pub_port, channel, tag):
    """RACES rounds: subscriber j opens on sub_port, sees its 200, message j is published
    on pub_port at once; j is checked once messages j..j+WINDOW-1 were published."""
    open_subs, bad, lost, n_ok = [], [], 0, 0
    for j in range(RACES + WINDOW):
        if j < RACES:
            open_subs.append((j, subscribe(sub_port, [channel])))
        code, _, _ = publish(pub_port, channel, "%s %d" % (tag, j), KEY)
        if code != 200:
            raise RuntimeError("publish %d: %r" % (j, code))
        while open_subs and open_subs[0][0] <= j - WINDOW + 1:
            k, s = open_subs.pop(0)
            want = ["%s %d" % (tag, i) for i in range(k, min(k + WINDOW, RACES + WINDOW))]
            s.read_until(lambda x, w=len(want): len(data_events(x)) >= w, 10)
            got = [e[2] for e in data_events(s)]
            s.close()
            if got[:len(want)] != want:
                bad.append((k, got[:WINDOW + 1]))
                lost += len(set(want) - set(got))
            else:
                n_ok += 1
    return n_ok, lost, bad


def memory_races():
    _, _, port = start_with_lighttpd(wd, "mem", ["--publish-key-file", wd.file("publish.keys"),
                                                 "-r", "500"])
    n_ok, lost, bad = races(port, port, "race", "m")
    t.ok(not bad and n_ok == RACES,
         "finding 1, in memory: %d subscribe-then-publish races: each subscriber got the "
         "message published after its 200 and the next %d, in order (%d lost)"
         % (RACES, WINDOW - 1, lost), bad[:5])


def slow_resumes(rsock, aport, bport, asock):
    """70 resumes of a large channel that never read; meanwhile a new subscriber, and a
    resume compared with the same resume made before the slow ones came."""
    big = "x" * 4000
    ids = py_burst(rsock, [("big", "%04d %s" % (i, big)) for i in range(600)])
    before = "%d-0" % (idkey(ids[0])[0] - 1)

    def resume():
        return HttpStream(aport, "/events?channel=big", headers={"Last-Event-ID": before})

    t0 = time.monotonic()
    r0 = resume()
    r0.read_until(lambda x: len(data_events(x)) >= 600, 60)
    control = time.monotonic() - t0
    control_ok = [e[0] for e in data_events(r0)] == ids
    r0.close()
    slow = []
    for _ in range(70):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.connect(asock)
        c.sendall(fcgi_request_bytes({"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/events",
                                      "QUERY_STRING": "channel=big",
                                      "HTTP_LAST_EVENT_ID": before}))
        slow.append(c)
    # the slow ones have asked (their streams are open) before the others come
    wait_for(lambda: status(asock).get("streams_open", 0) >= 70, 10)
    t0 = time.monotonic()
    r1 = resume()
    fresh = subscribe(aport, ["big"])
    code, _, j = publish(bport, "big", "after the 200", KEY)
    done = {}

    def cond():
        if "r1" not in done and len(data_events(r1)) >= 601:
            done["r1"] = time.monotonic() - t0
        return "r1" in done and [e[2] for e in data_events(fresh)] == ["after the 200"]

    pump([r1, fresh], cond, 15)
    t.ok(code == 200 and [e[2] for e in data_events(fresh)] == ["after the 200"],
         "finding 1, Redis: 70 slow resumes hold on, a new subscriber still gets the message "
         "published (on the other responder) right after its 200",
         (code, [e[2][:20] for e in data_events(fresh)]))
    got = [e[0] for e in data_events(r1)]
    took = done.get("r1", float("inf"))
    t.ok(control_ok and got[:600] == ids and increasing(got) and took <= 5 * max(control, 0.2),
         "finding 1, Redis: a resume of 600 messages while the 70 hold on: all of them, in "
         "order, in %.2f s (the same resume alone: %.2f s)" % (took, control),
         (control_ok, len(got)))
    for c in slow + [r1, fresh]:
        c.close()


def log_hole(rsock, asock, aport):
    """A hole in fcgi-sse:log (the read fell behind its trimming): the responder notices
    the count jump, and its subscriber fetches what it missed from the channel."""
    s = subscribe(aport, ["hole"])
    before = status(asock).get("redis", {}).get("resyncs", 0)
    ra.signal(signal.SIGSTOP)
    try:
        # one by one: the read in flight wakes to the first; the others wait in the log
        ids = py_burst(rsock, [("hole", "h %d" % i) for i in range(30)], transaction=False)
        cli = ["redis-cli", "-s", rsock]
        subprocess.run(cli + ["XTRIM", "fcgi-sse:log", "MAXLEN", "5"], capture_output=True,
                       timeout=10)
    finally:
        ra.signal(signal.SIGCONT)
    s.read_until(lambda x: len(data_events(x)) >= 30, 15)
    got = [e[0] for e in data_events(s)]
    s.close()
    t.ok(got == ids and status(asock)["redis"].get("resyncs", 0) > before,
         "a hole in fcgi-sse:log (25 entries trimmed before the responder read them): it "
         "notices (resyncs counted) and its subscriber gets all 30 messages from the channel, "
         "in order", (len(got), status(asock).get("redis")))


def failures(rsock, rproc, url):
    """Redis SIGKILLed and restarted, then a responder SIGKILLed, under publishes."""
    a, asock, aport = start_with_lighttpd(wd, "fa", ["--redis", url, "--publish-key-file",
                                                     wd.file("publish.keys"), "-r", "300"])
    b, bsock, bport = start_with_lighttpd(wd, "fb", ["--redis", url, "--publish-key-file",
                                                     wd.file("publish.keys"), "-r", "300"])
    for s in (asock, bsock):
        wait_for(lambda s=s: redis_state(s).get("connected"), 10)
    code, _, j = publish(aport, "flow", "mark", KEY)
    if code != 200:
        raise RuntimeError("publish mark: %r" % code)
    mark = j["id"]
    subs = [Resumer([aport, bport] if i % 2 else [bport, aport], ["flow"], mark)
            for i in range(60)]
    run_resumers(subs, lambda: all(r.s is None or r.s.status == 200 for r in subs), 10)
    acked, retried, state = [], set(), {"stop": False}
    N = 200

    def publisher():
        for i in range(N):
            body = "n %d" % i
            give_up = time.monotonic() + 40
            while time.monotonic() < give_up and not state["stop"]:
                port = aport if (i % 2 and a.alive()) or not b.alive() else bport
                try:
                    code, _, j = publish(port, "flow", body, KEY, timeout=5)
                except OSError:
                    code, j = None, None
                if code == 200:
                    acked.append((j["id"], body))
                    break
                retried.add(body)
                time.sleep(0.05)
            time.sleep(0.01)

    pt = threading.Thread(target=publisher, daemon=True)
    pt.start()
    run_resumers(subs, lambda: len(acked) >= 50, 30)
    rproc.signal(9)
    rproc.wait(5)
    rp2, _ = start_redis(wd, "redis")   # the same directory: its AOF
    run_resumers(subs, lambda: len(acked) >= 130, 60)
    a.signal(9)
    run_resumers(subs, lambda: not pt.is_alive(), 60)
    state["stop"] = True
    want = [x[1] for x in sorted(acked, key=lambda x: idkey(x[0]))]
    done = run_resumers(subs, lambda: all(set(want) <= {e[2] for e in r.events} for r in subs), 30)
    bad = []
    for r in subs:
        bodies = [e[2] for e in r.events]
        extra = [x for x in bodies if bodies.count(x) > 1 or x not in want]
        if (not set(want) <= set(bodies) or not increasing([e[0] for e in r.events])
                or any(x not in retried for x in extra)):
            bad.append((r.opens, len(bodies), extra[:3]))
    t.ok(len(acked) == N and done and not bad,
         "failures, Redis: %d numbered messages through two responders, Redis SIGKILLed and "
         "restarted, then a responder SIGKILLed: each of 60 subscribers has every acknowledged "
         "number, ids increasing, no other number and none twice but a retried one"
         % N, (len(acked), bad[:5]))
    for r in subs:
        r.close()
    return rp2


def future_id(aport, bport):
    """A subscriber that resumes from an id Redis never issued (far in the future) must not
    move where later subscribers start: one without a Last-Event-ID that sees its 200 after
    it gets the next message."""
    code0, _, _ = publish(bport, "future", "marker", KEY)
    fut = subscribe(aport, ["future"], last="9999999999999-0")
    # a resume sent after it: once it has its replay, the future one's fetch (sent first
    # on the same connection) has come back too
    r = subscribe(aport, ["future"], last="1-0")
    r.read_until(lambda x: len(data_events(x)) >= 1, 10)
    replayed = [e[2] for e in data_events(r)]
    r.close()
    s = subscribe(aport, ["future"])
    code, _, j = publish(bport, "future", "after the future one", KEY)
    s.read_until(lambda x: len(data_events(x)) >= 1, 5)
    got = data_events(s)
    s.close()
    fut.close()
    t.ok(code0 == 200 and replayed == ["marker"] and code == 200
         and [e[2] for e in got] == ["after the future one"],
         "a Last-Event-ID Redis never issued does not become where later subscribers start: "
         "a new subscriber gets the next message", (code0, replayed, code, j, got))


try:
    memory_races()
    rproc, rsock = start_redis(wd, "redis")
    url = "unix:" + rsock
    ra, rasock, raport = start_with_lighttpd(wd, "ra", ["--redis", url, "--publish-key-file",
                                                        wd.file("publish.keys"), "-r", "500"])
    rb, rbsock, rbport = start_with_lighttpd(wd, "rb", ["--redis", url, "--publish-key-file",
                                                        wd.file("publish.keys"), "-r", "500"])
    t.ok(wait_for(lambda: redis_state(rasock).get("connected")
                  and redis_state(rbsock).get("connected"), 10),
         "two responders connected to one Redis")
    n_ok, lost, bad = races(raport, rbport, "race", "r")
    t.ok(not bad and n_ok == RACES,
         "finding 1, Redis: %d subscribe-then-publish races (subscriber on one responder, "
         "publish on the other): each got its message and the next %d, in order (%d lost)"
         % (RACES, WINDOW - 1, lost), bad[:5])
    future_id(raport, rbport)
    slow_resumes(rsock, raport, rbport, rasock)
    log_hole(rsock, rasock, raport)
    failures(rsock, rproc, url)
finally:
    wd.cleanup()
t.done()
