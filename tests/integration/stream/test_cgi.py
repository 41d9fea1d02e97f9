"""test_cgi.py -- CGI mode: fd 0 is not a socket, so the responder serves the one request
described by its environment on stdout (libfcgi's CGI fallback), as mod_cgi would run it.
"""

import os
import signal
import subprocess
import tempfile
import time
import types

from harness import (BINARY, SANITIZED, STOP_DEADLINE, SseParser, Tap, gaps,  # noqa: E402
                     run_binary, describe_gaps, describe_offsets, due_offsets, in_slot,
                     sanitizer_report, timing_ok, wait_for)

INTERVAL = 0.2


def cgi(query="", method="GET", script="/cgi-bin/fcgi-sse", path_info="/stream", extra=None):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GATEWAY_INTERFACE": "CGI/1.1",
           "REQUEST_METHOD": method, "SCRIPT_NAME": script, "PATH_INFO": path_info,
           "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1",
           "FCGI_SSE_OPTIONS": "-i 200 -k 0"}
    env.update(extra or {})
    # As CGI, options come from FCGI_SSE_OPTIONS (SetEnv), never from argv.
    return subprocess.Popen([BINARY], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def read_stream(p, until_events, timeout):
    """(head, events, t_head) read from p's stdout with arrival times (time.monotonic()),
    until the header block and until_events events, EOF, or timeout."""
    t0 = time.monotonic()
    out, head, t_head, events, parser = b"", None, None, [], SseParser()
    os.set_blocking(p.stdout.fileno(), False)
    import select
    while time.monotonic() - t0 < timeout and (head is None or len(
            [e for e in events if e["data"] is not None]) < until_events):
        r, _, _ = select.select([p.stdout], [], [], 0.05)
        if not r:
            continue
        b = os.read(p.stdout.fileno(), 65536)
        now = time.monotonic()
        if not b:
            break
        if head is None:
            out += b
            i = out.find(b"\r\n\r\n")
            if i >= 0:
                head, t_head = out[:i].decode(), now
                events += parser.feed(out[i + 4:], now)
        else:
            events += parser.feed(b, now)
    return head, [e for e in events if e["data"] is not None], t_head


def slots(t_head, events, interval):
    """Each event's arrival minus its due time (harness.due_offsets)."""
    return due_offsets(types.SimpleNamespace(t_head=t_head, events=events), interval)[:3]


def ended(p, want, name, timeout=5):
    """Waits for p; its exit status must be want, and (sanitizer build) its stderr clean."""
    try:
        rc = p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    err = p.stderr.read() if p.stderr and not p.stderr.closed else b""
    for f in (p.stdout, p.stderr):
        if f and not f.closed:
            f.close()
    report = sanitizer_report(err) if SANITIZED else []
    t.ok(rc == want and not report, "%s: exit status %d%s" % (
        name, want, ", no sanitizer report" if SANITIZED else ""), (rc, report[:10], err[-500:]))
    return rc


t = Tap()

p = cgi("limit=4")
head, events, t_head = read_stream(p, 4, 5)
t.ok(head is not None and head.split("\r\n")[:2] ==
     ["Status: 200 OK", "Content-Type: text/event-stream; charset=utf-8"],
     "CGI: the stream's header block", head)
t.ok(t_head is not None and events and t_head < events[0]["t"],
     "CGI: the header block arrives on its own, before the first event",
     (t_head, events and events[0]["t"]))
t.eq([int(e["id"]) for e in events], [0, 1, 2, 3], "CGI: limit=4 gives ids 0..3")
t.ok(timing_ok(gaps(events), INTERVAL), "CGI: events every 200 ms: %s"
     % describe_gaps(gaps(events), INTERVAL), ["%.3f" % x for x in gaps(events)])
ended(p, 0, "CGI: after its limit")

p = cgi("limit=2", extra={"HTTP_LAST_EVENT_ID": "9"})
head, events, _ = read_stream(p, 2, 5)
ended(p, 0, "CGI: resumed, after its limit")
t.eq([int(e["id"]) for e in events], [10, 11], "CGI: resumes after Last-Event-ID")

p = cgi(path_info="/nothing")
out, err = p.communicate(timeout=5)
t.ok(out.startswith(b"Status: 404 ") and p.returncode == 0, "CGI: 404 for another path", out)
t.ok(not (SANITIZED and sanitizer_report(err)), "CGI: 404, no sanitizer report", err[-500:])

# The client leaves: the web server closes our stdout; the process must end at once, not
# at its next write: with -i 10000 it exits before its next event is due.
p = cgi(extra={"FCGI_SSE_OPTIONS": "-i 10000 -k 0"})
head, _, _ = read_stream(p, 0, 5)
t_due = time.monotonic() + 10.0        # the next event is due 10 s after the header, or later
p.stdout.close()
gone = wait_for(lambda: p.poll() is not None, 15)
t_gone = time.monotonic()
t.ok(head is not None and gone and t_gone < t_due,
     "CGI: exits once stdout is closed, before its next event is due (-i 10000: the write "
     "that would fail)", (head, gone, t_gone - t_due))
ended(p, 0, "CGI: stdout closed by the web server")

p = cgi()
read_stream(p, 1, 3)
p.send_signal(signal.SIGTERM)
ended(p, 0, "CGI: SIGTERM ends the response", timeout=STOP_DEADLINE)

# A query without '=' reaches a CGI program as arguments (RFC 3875 4.4): "?-i+1" must
# not set the interval to 1 ms. As CGI no option comes from argv; FCGI_SSE_OPTIONS
# (set by the server's configuration) still applies.
env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GATEWAY_INTERFACE": "CGI/1.1",
       "REQUEST_METHOD": "GET", "SCRIPT_NAME": "/stream", "QUERY_STRING": "-i+1",
       "FCGI_SSE_OPTIONS": "-i 300"}
p = subprocess.Popen([BINARY, "-i", "1"], env=env, stdin=subprocess.DEVNULL,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
head, events, t_head = read_stream(p, 3, 10)
p.send_signal(signal.SIGTERM)
ended(p, 0, "CGI: query words as arguments, SIGTERM", timeout=STOP_DEADLINE)
offs = slots(t_head, events, 0.3)
t.ok(head is not None and len(offs) == 3 and in_slot(offs, 0.3),
     "CGI: query words passed as arguments are not options: events 300 ms apart, each in "
     "its own slot (%s)" % describe_offsets(offs, 0.3))

# A long word too: "?-i000...0001" (300 characters) must not set a 1 ms interval.
word = "-i" + "0" * 300 + "1"
env2 = dict(env, QUERY_STRING=word)
p = subprocess.Popen([BINARY, word], env=env2, stdin=subprocess.DEVNULL,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
head, events, t_head = read_stream(p, 3, 10)
p.send_signal(signal.SIGTERM)
ended(p, 0, "CGI: query words as arguments, SIGTERM", timeout=STOP_DEADLINE)
offs = slots(t_head, events, 0.3)
t.ok(head is not None and len(offs) == 3 and in_slot(offs, 0.3),
     "CGI: a long query word is not an option either: events 300 ms apart, each in its own "
     "slot (%s)" % describe_offsets(offs, 0.3))

# Apache decodes and escapes such words: "?-lunix:/tmp/x~" arrives as "-lunix:/tmp/x\~"
# or "-lunix:/tmp/x~". Neither may start a listener: argv is not read at all.
lsock = os.path.join(tempfile.mkdtemp(prefix="fcgi-sse-cgi-"), "x~")
for word in ("-lunix:" + lsock, "-lunix:" + lsock.replace("~", "\\~")):
    env3 = dict(env, QUERY_STRING=word.replace("\\", ""), FCGI_SSE_OPTIONS="")
    r = run_binary([word], env=dict(env3, QUERY_STRING="limit=1"), stdin=subprocess.DEVNULL,
                   timeout=10)
    t.ok(r.returncode == 0 and b"Status: 200 OK" in r.stdout and b"data: Count: [0]" in r.stdout
         and not os.path.exists(lsock),
         "CGI: argv %r is ignored: the request is served, no listener" % word, r)

# Not started by a web server: no socket on fd 0 and no CGI environment.
p = run_binary([], stdin=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin"})
t.ok(p.returncode == 2 and b"--listen" in p.stderr,
     "no socket and no CGI request: exit 2 with a hint", p)
t.done()
