"""test_load.py -- 1,000 streams at once through a real lighttpd, all served and on time.

bench/sse-load (the benchmark's load client) opens the streams; the responder runs under
spawn-fcgi with a 200 ms interval so the check takes seconds. Sized for the 20,000-file
limit: lighttpd holds two descriptors per stream.
"""

import os
import subprocess

from harness import (BUILDDIR, Tap, Workdir, start_lighttpd,  # noqa
                     start_spawned_responder, status, wait_for)

STREAMS = 1000
t = Tap()
wd = Workdir("load")
try:
    resp, sock = start_spawned_responder(wd, ["-i", "200", "-k", "0"])
    httpd, port = start_lighttpd(wd, sock)
    p = subprocess.run([os.path.join(BUILDDIR, "bench", "sse-load"), "-q", "-n", str(STREAMS),
                        "-r", "2000", "-d", "4", "-i", "200", "127.0.0.1", str(port), "/stream"],
                       capture_output=True, text=True, timeout=120)
    r = dict(x.split("=", 1) for x in p.stdout.split() if "=" in x)
    t.diag(p.stdout.replace("\n", " "))
    t.eq(int(r.get("streams_established", -1)), STREAMS, "1000 streams established")
    t.eq(int(r.get("streams_refused", -1)) + int(r.get("streams_failed", -1)), 0,
         "none refused or failed")
    t.eq(int(r.get("streams_ended_early", -1)), 0, "none ended early")
    t.ok(int(r.get("events_measured", 0)) >= STREAMS * 4 * 5 * 0.9,
         "every stream got its events (%s in 4 s)" % r.get("events_measured"))
    t.eq(int(r.get("id_gaps", -1)) + int(r.get("id_duplicates", -1)), 0, "no id gap, no duplicate")
    p50 = float(r.get("interarrival_ms_p50", 1e9))
    p99 = float(r.get("interarrival_ms_p99", 1e9))
    # The schedule, not the machine: the median gap within 10 % of the interval, and at the
    # p99 no event came only after the one after it was due (a gap under two intervals).
    # The benchmark measures how tight it really is.
    t.ok(abs(p50 - 200) <= 20 and p99 < 2 * 200,
         "on time: inter-arrival p50 %.1f ms (200 +-10%%), p99 %.1f ms (under 2 intervals)"
         % (p50, p99))
    # The header block is not held until the first event: it comes one interval before it
    # (both counted from each stream's connect; at the median, so that a loaded machine
    # moves both alike). Held back, it would come with the first event.
    fb = float(r.get("first_byte_ms_p50", 1e9))
    fe = float(r.get("first_event_ms_p50", -1e9))
    t.ok(fe - fb >= 200 / 2, "first bytes at once: at the median %.1f ms from connect, the "
         "first event %.1f ms: at least half an interval before it" % (fb, fe))
    # lighttpd closes a backend connection when it next writes to its gone client:
    # within one interval.
    freed = wait_for(lambda: status(sock)["streams_open"] == 0, 10)
    st = status(sock)
    t.ok(freed and st["streams_total"] >= STREAMS, "all freed once the clients left", st)
finally:
    wd.cleanup()
t.done()
