"""test_hostile.py -- bad input at the responder's socket and in requests: each gets a clean
close or a clear 4xx, the process survives, and streams open at the same time keep
receiving every event on time; only allowed peers get in (FCGI_WEB_SERVER_ADDRS).

A raw FastCGI client (harness.fcgi_record & co., written for the tests) sends what no
sane web server would. Meanwhile three good streams are read by a separate process
(harness.Watcher), with three streams of a second responder nobody attacks (the control):
at the end every event of the attacked ones must have come before the next one was due,
beyond what the control streams were late at the same moment (harness.beyond_control).
"""

import os
import socket
import struct

from harness import (BINARY, FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_PARAMS,  # noqa: E402
                     FCGI_STDIN, FCGI_STDOUT, CgiFcgi, Tap, Watcher, Workdir, can_connect,
                     describe_gaps, fcgi_get, fcgi_nv, fcgi_raw, fcgi_read_records, fcgi_record,
                     fcgi_request_bytes, free_port, run_binary, start_responder, status, timing_ok,
                     wait_for, beyond_control)

INTERVAL = 0.1
t = Tap()
wd = Workdir("hostile")


def begin(req_id=1, keep=0):
    return fcgi_record(FCGI_BEGIN_REQUEST, struct.pack(">HB5x", 1, keep), req_id)


def connect(sock):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    return s


def outcome(s, timeout):
    """What the responder did: ('closed', records) once it closed the connection,
    ('open', records) if it still had not after timeout."""
    recs, eof = fcgi_read_records(s, timeout)
    ended = eof or (recs and recs[-1][0] == FCGI_END_REQUEST)
    if ended and not eof:
        more, eof = fcgi_read_records(s, timeout)
        recs += more
    return ("closed" if eof else "open"), recs


def http_status(recs):
    out = b"".join(r[1] for r in recs if r[0] == FCGI_STDOUT)
    if out.startswith(b"Status: "):
        return int(out[8:11]), out
    return None, out


try:
    resp, sock = start_responder(wd, ["-i", str(int(INTERVAL * 1000)), "-k", "0"])
    ctl, ctl_sock = start_responder(wd, ["-i", str(int(INTERVAL * 1000)), "-k", "0"],
                                    name="control")

    # good streams, read by a separate process during all of the abuse, with as many of
    # the control responder's
    WATCH_MAX = 300      # the watcher reads until result() stops it, at most this long
    watcher = Watcher([(sock, 3), (ctl_sock, 3)], WATCH_MAX)

    def survives(what):
        """The process outlived what was just done to it: a new request is served
        after it (so the bad connection was handled first), and it is still alive."""
        c = fcgi_get(sock, "/stream", query="limit=1")
        t.ok(c.counts() == [0] and resp.alive(), "%s: the process survives and serves the "
             "next request" % what, c.out[-300:])

    # --- malformed FastCGI
    s = connect(sock)
    s.sendall(begin()[:5])
    s.close()
    survives("truncated record header, then close")

    s = connect(sock)
    s.sendall(fcgi_record(FCGI_BEGIN_REQUEST, struct.pack(">HB5x", 1, 0), version=9))
    st, recs = outcome(s, 3)
    t.ok(st == "closed", "wrong version byte: connection closed", (st, recs))
    s.close()

    s = connect(sock)
    s.sendall(begin() + fcgi_record(42, b"x" * 8) + fcgi_record(FCGI_PARAMS, b""))
    st, recs = outcome(s, 8)
    t.ok(st == "closed", "unknown record type in a request: connection closed", (st, recs))
    s.close()

    # a management record (request id 0) of an unknown type: libfcgi would answer
    # FCGI_UNKNOWN_TYPE but leak 48 bytes each time (found by LeakSanitizer here)
    s = connect(sock)
    s.sendall(fcgi_record(77, b"", req_id=0) + fcgi_request_bytes(
        {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/stream", "QUERY_STRING": "limit=1"}))
    st, recs = outcome(s, 3)
    t.ok(st == "closed" and not recs, "unknown management record: refused", (st, recs))
    s.close()
    # FCGI_GET_VALUES: libfcgi answers it with sprintf into a 64-byte stack buffer
    # (four names overflow it); no web server needs it: refused like every
    # management record, before libfcgi sees it
    s = connect(sock)
    s.sendall(fcgi_record(9, fcgi_nv(b"FCGI_MAX_CONNS", b"") * 4, req_id=0) +
              fcgi_request_bytes({"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/stream",
                                  "QUERY_STRING": "limit=1"}))
    st, recs = outcome(s, 3)
    t.ok(st == "closed" and not recs, "FCGI_GET_VALUES: refused, nothing answered", (st, recs))
    s.close()
    t.ok(wait_for(lambda: "refused a request: a management record" in resp.log(), 2)
         and resp.alive(), "... logged, and the process survives", resp.log()[-300:])

    # the shape of CVE-2025-23016: a param length near 2^31, then nothing
    s = connect(sock)
    huge = struct.pack(">I", 0x7FFFFFFE | 0x80000000)
    s.sendall(begin() + struct.pack(">BBHHBB", 1, FCGI_PARAMS, 1, 64, 0, 0) +
              (huge + bytes([1]) + b"A" * 59))
    st, recs = outcome(s, 12)
    t.ok(st == "closed" and not recs, "param length 2^31-2 (libfcgi would abort): refused",
         (st, recs))
    s.close()
    alive = resp.alive()
    t.ok(alive and resp.rss_kb() < 64 * 1024,
         "... the process survives and its memory stays small (%d KB)"
         % (resp.rss_kb() if alive else -1))
    t.ok(wait_for(lambda: "refused a request: a parameter length over 128 KiB" in resp.log(), 2),
         "... and the refusal is logged", resp.log()[-300:])

    # a request whose params never end: must not pin an accept thread for ever
    stalled = []
    for _ in range(6):  # more than the accept threads
        s = connect(sock)
        s.sendall(begin() + fcgi_record(FCGI_PARAMS, fcgi_nv(b"REQUEST_METHOD", b"GET")))
        stalled.append(s)
    c = CgiFcgi(sock, "/stream", query="limit=1")
    c.read_until(lambda c: c.eof, 20)
    c.close()
    t.eq(c.counts(), [0], "six stalled requests (no params end) do not stop new requests "
         "for long")
    t.ok(all(outcome(s, 12)[0] == "closed" for s in stalled),
         "stalled requests are closed after the read timeout")
    for s in stalled:
        s.close()

    # params larger than any sane header: refused before libfcgi stores them
    for name, extra in [("a 1 MB Last-Event-ID", {"HTTP_LAST_EVENT_ID": "9" * (1 << 20)}),
                        ("a 4 MB header", {"HTTP_X_JUNK": "j" * (4 << 20)}),
                        ("3,000 headers of 100 bytes", {"HTTP_X_%d" % i: "v" * 100
                                                        for i in range(3000)})]:
        s = fcgi_raw(sock, send=False)
        p = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/stream"}
        p.update(extra)
        try:
            s.sendall(fcgi_request_bytes(p))
        except OSError:
            pass  # refused while we were still sending: fine
        st, recs = outcome(s, 5)
        t.ok(st == "closed" and not recs and resp.alive(),
             "%s: the connection is closed, nothing else happens" % name, (st, recs[:2]))
        s.close()
    s = fcgi_raw(sock, extra={"HTTP_X_JUNK": "j" * 60000}, query="limit=1")
    st, recs = outcome(s, 5)
    code, out = http_status(recs)
    t.ok(code == 200 and b"data: Count: [0]" in out, "a 60 KB header is read and ignored",
         (code, out[:100]))
    s.close()

    # abort in the middle of a stream (FCGI_ABORT_REQUEST)
    s = fcgi_raw(sock)
    fcgi_read_records(s, 2, until=lambda r: any(x[0] == FCGI_STDOUT for x in r))
    s.sendall(fcgi_record(2, b""))
    st, recs = outcome(s, 3)
    t.ok(recs and recs[-1][0] == FCGI_END_REQUEST, "FCGI_ABORT_REQUEST mid-stream: END_REQUEST",
         [r[0] for r in recs])
    s.close()

    # a connection reset in the middle of the request header
    for cut in (3, 8, 20):
        s = connect(sock)
        s.sendall(fcgi_request_bytes({"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/stream"})[:cut])
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    s = connect(sock)
    s.sendall(begin())
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    survives("connections reset mid-header")

    # stdin on a GET (a body): read and ignored, up to a limit
    s = fcgi_raw(sock, send=False)
    s.sendall(fcgi_request_bytes({"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/stream",
                                  "QUERY_STRING": "limit=1"}, stdin=b"x" * 1000))
    st, recs = outcome(s, 3)
    t.eq(http_status(recs)[0], 200, "a small body on a GET is ignored")
    s.close()
    s = fcgi_raw(sock, send=False)
    body = b"".join(fcgi_record(FCGI_STDIN, b"y" * 60000) for _ in range(3))
    s.sendall(fcgi_request_bytes({"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/stream"})[:-8] +
              body + fcgi_record(FCGI_STDIN, b""))
    st, recs = outcome(s, 3)
    t.eq(http_status(recs)[0], 413, "a body over 64 KB on a stream request: 413")
    s.close()

    # --- HTTP-level hostility: 400 with one line, never an event
    def ask(extra=None, query="", script="/stream"):
        s = fcgi_raw(sock, extra=extra, query=query, script=script)
        st, recs = outcome(s, 3)
        s.close()
        return http_status(recs)

    cases = [
        ({"HTTP_LAST_EVENT_ID": "1" * 5000}, "", "oversize Last-Event-ID"),
        ({"HTTP_LAST_EVENT_ID": "\u0661\u0662".encode().decode("latin-1")}, "",
         "non-ASCII digits in Last-Event-ID"),
        ({"HTTP_LAST_EVENT_ID": "5\r\nid: 99"}, "", "CR LF in Last-Event-ID"),
        ({}, "lastEventId=5%0D%0Aid:%2099", "CR LF in lastEventId"),
        ({}, "lastEventId=5%00", "NUL in lastEventId"),
        ({}, "limit=2%0A%0Adata:%20evil", "LF in limit"),
        ({}, "limit=" + "9" * 10000, "a 10,000-digit limit"),
    ]
    for extra, query, name in cases:
        code, out = ask(extra, query)
        body = out.split(b"\r\n\r\n", 1)[-1]
        t.ok(code == 400 and body.count(b"\n") == 1 and b"data:" not in out
             and b"evil" not in out and b"99" not in body, name + ": 400, one line", out[:300])
    code, out = ask(query="&".join("p%d=%d" % (i, i) for i in range(5000)) + "&limit=1")
    t.ok(code == 200 and out.count(b"data: ") == 1, "5,000 query parameters: served", code)
    code, out = ask(script="/" + "a/" * 3000 + "stream")
    t.ok(code == 414 and out.split(b"\r\n\r\n", 1)[-1].count(b"\n") == 1,
         "a 6 KB path: 414, one line", out[:200])

    # --- the good streams never missed a beat
    watched, got = watcher.result(30)
    got, control = got[:3], got[3:]
    t.ok(watched < WATCH_MAX - 1, "the abuse above ran while they were watched (%.1f s)"
         % watched)
    ids = [[i for i, _ in g] for g in got]
    t.ok(all(len(x) >= (watched - 1) / INTERVAL * 0.9 and x == list(range(len(x)))
             for x in ids),
         "meanwhile three open streams got every event (%s in %.1f s)"
         % ([len(x) for x in ids], watched))
    steps = [b[1] - a[1] for g in got for a, b in zip(g, g[1:])]
    t.ok(timing_ok(steps, INTERVAL, each=False), "... the interval kept: %s"
         % describe_gaps(steps, INTERVAL), sorted(steps)[-10:])
    late, worst, worst_ctl = beyond_control(got, control, INTERVAL)
    t.ok(all(control) and not late,
         "... each event before the next one was due, beyond the lateness of the control "
         "streams (a responder nobody attacked) at that moment (latest %.0f ms, control's "
         "latest %.0f ms)" % (worst * 1000, worst_ctl * 1000),
         ["stream %d id %d: %.0f ms late, the control %.0f ms" % (i, k, a * 1000, c * 1000)
          for i, k, a, c in late[:20]])
    st_now = status(sock)
    t.ok(resp.alive() and st_now["streams_open"] == 0, "the process is alive, nothing leaked "
         "open", st_now)
    t.eq(resp.stop(), 0, "SIGTERM: exit 0 after all of it")

    # --- access: FCGI_WEB_SERVER_ADDRS over TCP
    port = free_port()
    p = wd.start([BINARY, "-l", "127.0.0.1:%d" % port, "-i", "100"], "acl",
                 env=dict(os.environ, FCGI_WEB_SERVER_ADDRS="127.0.0.1"))
    wait_for(lambda: can_connect(("127.0.0.1", port)), 5)
    ok_sock = socket.create_connection(("127.0.0.1", port), timeout=3)
    ok_sock.sendall(fcgi_request_bytes({"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/stream",
                                        "QUERY_STRING": "limit=1"}))
    recs, _ = fcgi_read_records(ok_sock, 3)
    t.ok(recs and recs[-1][0] == FCGI_END_REQUEST, "FCGI_WEB_SERVER_ADDRS: 127.0.0.1 is served")
    ok_sock.close()
    bad = socket.socket()
    bad.bind(("127.0.0.2", 0))
    bad.settimeout(3)
    bad.connect(("127.0.0.1", port))
    bad.sendall(fcgi_request_bytes({"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/stream"}))
    recs, eof = fcgi_read_records(bad, 3)
    bad.close()
    t.ok(eof and not recs, "FCGI_WEB_SERVER_ADDRS: a peer at 127.0.0.2 is refused")
    t.ok(wait_for(lambda: "refused a connection from 127.0.0.2" in p.log(), 2),
         "... and the refusal is logged", p.log()[-300:])
    t.eq(p.stop(), 0, "FCGI_WEB_SERVER_ADDRS: SIGTERM, exit 0")
    r = run_binary(["-l", "127.0.0.1:%d" % free_port()],
                   env=dict(os.environ, FCGI_WEB_SERVER_ADDRS="localhost"))
    t.ok(r.returncode == 1 and b"FCGI_WEB_SERVER_ADDRS" in r.stderr,
         "a malformed FCGI_WEB_SERVER_ADDRS stops the start with a message", r.stderr)

    # --- out of file descriptors: clean closes, then recovery once streams end
    sock = wd.file("nofile.sock")
    p = wd.start(["prlimit", "--nofile=40:40", BINARY, "-l", "unix:" + sock, "-m", "1000",
                  "-i", "100", "-k", "0"], "nofile")
    wait_for(lambda: can_connect(sock), 5)
    conns = [fcgi_raw(sock) for _ in range(60)]
    results = [outcome(c, 0.5) for c in conns]
    streaming = [c for c, (st, recs) in zip(conns, results) if st == "open" and recs]
    closed = [c for c, (st, recs) in zip(conns, results) if st == "closed"]
    t.ok(p.alive() and 10 <= len(streaming) < 40 and len(streaming) + len(closed) == 60,
         "at the fd limit: %d streams served, %d connections closed cleanly"
         % (len(streaming), len(closed)))
    t.ok(wait_for(lambda: "out of file descriptors" in p.log(), 2),
         "... and logged", p.log()[-300:])
    for c in conns:
        c.close()
    t.ok(wait_for(lambda: status(sock)["streams_open"] == 0, 3), "the streams end")
    c = CgiFcgi(sock, "/stream", query="limit=2")
    c.read_until(lambda c: c.eof, 3)
    c.close()
    t.eq(c.counts(), [0, 1], "with descriptors free again, streams are served")
    t.eq(p.stop(), 0, "SIGTERM: exit 0")
finally:
    wd.cleanup()
t.done()
