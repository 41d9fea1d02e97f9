/* fuzz_intake.c -- libFuzzer harness of the whole intake, in process: the bytes a web server
 * could send on one connection, through frame.c, libfcgi, the controller and (for a stream) the
 * hub, over a socketpair.
 * Per input: a fresh hub and intake in one long-lived loop (the intake keeps the hub it was
 * started with, and hub_close leaves a hub closing for good, so a new hub needs a new intake);
 * the input is written into one end (as much as fits), whose write side is then shut, and the
 * other end is adopted by the intake; the loop turns until the connection is closed or a stream
 * is open; then the intake is destroyed, hub_close ends any stream cleanly and the hub is freed.
 * Properties: no crash, no sanitizer report, no leak (LeakSanitizer at exit); what came back is
 * nothing, or whole FastCGI records of version 1, types STDOUT, STDERR and END_REQUEST only,
 * all for the request id of the input's BEGIN_REQUEST (its first record), STDOUT content that
 * starts with a CGI "Status: " line, and exactly one END_REQUEST (8 bytes), last; afterwards no
 * stream is open (stats.streams_open is 0), no timer is queued, the adopted socket is closed and
 * as many descriptors are open as before the input.
 * Limits: --max-streams is 1, or 0 for inputs whose length is 6 mod 7 (the 503 path); the body
 * limit is 1 KiB (the 413 path); events are 1 s apart, so a stream ends by hub_close, never by
 * its limit, within one input; input beyond the socket buffer (about 200 KB) is dropped.
 * FUZZ_INTAKE_SHOW=1 in the environment prints each answer's STDOUT on stderr (for seeds).
 * Found by this harness, and fixed: libfcgi 2.4.2 never skips the padding of BEGIN_REQUEST
 * and of the params' end (SetReaderType zeroes paddingLen) but reads it as records, so
 * records hidden there reached libfcgi unchecked; the intake now strips all padding
 * (frame_strip_padding). The inputs are the regress-* seeds. */
#include "config.h"

#include "stream/admit.h"
#include "channels/history.h"
#include "stream/hub.h"
#include "server/intake.h"
#include "core/loop.h"
#include "channels/chan.h"
#include "sources/counter.h"
#include "server/dispatch.h"
#include "core/clock.h"
#include "sources/schedule.h"
#include "sources/subscription.h"
#include "http/stats.h"

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n);

static struct loop *loop;
static struct stats stats;
static struct intake_config cfg;
static struct dispatch ctl;
static struct pub_backend memory_backend;
static struct history history;
static struct chan_engine *engine;
static unsigned char out[1 << 20];

static int fail(const char *what)
{
    fprintf(stderr, "fuzz_intake: %s\n", what);
    abort();
}

static void setup(void)
{
    struct sockaddr_un sa;
    socklen_t sl;
    struct sigaction ign;
    int fd;

    if (FCGX_Init() != 0)
        fail("FCGX_Init");
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, NULL);
    loop = loop_create();
    if (!loop)
        fail("loop_create");
    /* A listening socket the intake watches, never connected to: abstract, so nothing to clean. */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                     (size_t)snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1,
                                      "fcgi-sse-fuzz-intake-%ld", (long)getpid()));
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sl) < 0 || listen(fd, 16) < 0)
        fail("the listening socket");
    memset(&cfg, 0, sizeof cfg);
    cfg.listen_fd = fd;
    cfg.serve = dispatch_request;
    cfg.serve_arg = &ctl;
    ctl.retry_ms = 3000;
    ctl.stats = &stats;
    ctl.sndbuf = 65536;
    {
        /* the counter's schedule, and channels that anyone the web server
         * authenticated may publish to (REMOTE_USER): every route is reachable */
        struct sched_params sp = { 1000000000LL, 15000000000LL, 0 };
        struct chan_limits lim = { 16, 3600000ULL, 1u << 20, 64, 0 };
        struct sub_params up = { NULL, sp.heartbeat_ns, &stats.events_delivered, &history, 3000 };
        sp.grid_ns = sched_grid(sp.interval_ns);
        ctl.counter = counter_create(&sp, &stats.events_sent);
        if (!ctl.counter)
            fail("counter_create");
        engine = chan_engine_create(&lim, clock_wall_ms(), sub_deliver, NULL);
        if (!engine)
            fail("chan_engine_create");
        up.engine = engine;
        history_memory(&history, engine);
        ctl.subs = sub_create(&up);
        if (!ctl.subs)
            fail("sub_create");
        ctl.engine = engine;
        pub_memory(&memory_backend, engine);
        ctl.pub.backend = &memory_backend;
        ctl.pub.engine = engine;
        ctl.pub.remote_user = 1;
    }
    cfg.body_max = 1024;
    cfg.timeout_ns = 10000000000LL;
    cfg.mem_max = 4u << 20;
}

/* Descriptors open now (libFuzzer may open some between inputs, never during one). */
static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int k = 0;

    if (!d)
        fail("opendir /proc/self/fd");
    while (readdir(d))
        k++;
    closedir(d);
    return k;
}

/* Reads what is there; 1 at end of file. */
static int drain(int fd, size_t *len)
{
    for (;;) {
        ssize_t r = read(fd, out + *len, sizeof out - *len);
        if (r > 0) {
            *len += (size_t)r;
            if (*len == sizeof out)
                fail("more output than any answer");
            continue;
        }
        if (r == 0)
            return 1;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return 1; /* ECONNRESET: the other end closed with our bytes unread */
    }
}

/* What came back must be nothing or a well-formed answer to the input's request. */
static void check_answer(const uint8_t *in, size_t n, size_t len)
{
    size_t off = 0, stdout_len = 0, ends = 0;
    unsigned id;
    char head[8];

    if (len == 0)
        return;
    if (n < 16 || in[0] != 1 || in[1] != 1 || (in[2] == 0 && in[3] == 0))
        fail("an answer to an input that does not start with BEGIN_REQUEST");
    id = ((unsigned)in[2] << 8) | in[3];
    while (off < len) {
        const unsigned char *h = out + off;
        size_t clen, next;

        if (len - off < 8)
            fail("a record header cut short");
        clen = ((size_t)h[4] << 8) | h[5];
        next = off + 8 + clen + h[6];
        if (next > len)
            fail("a record cut short");
        if (h[0] != 1)
            fail("a record not of version 1");
        if ((((unsigned)h[2] << 8) | h[3]) != id)
            fail("a record for another request id");
        if (ends)
            fail("a record after END_REQUEST");
        switch (h[1]) {
        case 6: /* STDOUT */
            if (stdout_len < sizeof head) {
                size_t k = clen < sizeof head - stdout_len ? clen : sizeof head - stdout_len;
                memcpy(head + stdout_len, h + 8, k);
            }
            stdout_len += clen;
            break;
        case 7: /* STDERR */
            break;
        case 3: /* END_REQUEST */
            if (clen != 8)
                fail("an END_REQUEST not of 8 bytes");
            ends++;
            break;
        default:
            fail("a record type other than STDOUT, STDERR, END_REQUEST");
        }
        off = next;
    }
    if (ends != 1)
        fail("an answer without END_REQUEST");
    if (getenv("FUZZ_INTAKE_SHOW")) {
        for (off = 0; off < len; off += 8 + (((size_t)out[off + 4] << 8) | out[off + 5]) + out[off + 6])
            if (out[off + 1] == 6)
                fwrite(out + off + 8, 1, ((size_t)out[off + 4] << 8) | out[off + 5], stderr);
        fprintf(stderr, "\n-- %zu bytes back, streams_total %lu\n", len, stats.streams_total);
    }
    if (stdout_len && (stdout_len < sizeof head || memcmp(head, "Status: ", 8) != 0))
        fail("an answer not starting with a Status: line");
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
    static int ready;
    static const volatile sig_atomic_t no_stop = 0;
    struct hub *hub;
    struct intake *intake;
    size_t off = 0, len = 0;
    int sv[2], i, eof = 0, fds;

    if (!ready) {
        setup();
        ready = 1;
    }
    fds = open_fds();
    stats.max_streams = n % 7 == 6 ? 0 : 1;
    {
        struct hub_hooks hooks = { admit_ended, &stats, &stats.streams_dropped_slow };
        hub = hub_create(loop, &hooks);
    }
    if (!hub)
        fail("hub_create");
    ctl.hub = hub;
    intake = intake_start(loop, &cfg);
    if (!intake)
        fail("intake_start");
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        fail("socketpair");
    if (intake_adopt(intake, sv[1]) < 0)
        fail("intake_adopt");
    while (off < n) {
        ssize_t w = write(sv[0], in + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* the socket buffer is full: the rest is dropped */
        off += (size_t)w;
    }
    shutdown(sv[0], SHUT_WR);

    /* The intake reads everything at its first wake-up; a few more turns for good measure. */
    for (i = 0; i < 4 && !eof && stats.streams_open == 0; i++) {
        if (loop_once(loop, 0, NULL) < 0)
            fail("loop_once");
        eof = drain(sv[0], &len);
    }
    intake_destroy(intake);
    hub_close(hub, &no_stop);
    hub_destroy(hub);
    if (!eof)
        eof = drain(sv[0], &len);
    if (!eof)
        fail("the connection is still open after the intake and the hub are gone");
    check_answer(in, n, len);
    close(sv[0]);

    if (stats.streams_open != 0)
        fail("a stream slot was not given back");
    if (loop_timers(loop) != 0)
        fail("a timer left in the loop");
    errno = 0;
    if (fcntl(sv[1], F_GETFD) != -1 || errno != EBADF)
        fail("the adopted socket was not closed");
    if (open_fds() != fds)
        fail("a descriptor left open");
    return 0;
}
