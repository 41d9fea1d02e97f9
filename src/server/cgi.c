/* cgi.c -- plain CGI mode: one request from the environment, the stream on stdout */
#include "config.h"

#include "server/cgi.h"
#include "server/dispatch.h"
#include "core/log.h"
#include "core/clock.h"
#include "http/req.h"
#include "http/resp.h"
#include "sources/schedule.h"
#include "http/stats.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *env_param(const char *name, void *ctx)
{
    (void)ctx;
    return getenv(name);
}

static int stdout_write(void *ctx, const char *buf, size_t len)
{
    return fwrite(buf, 1, len, (FILE *)ctx) == len ? 0 : -1;
}

static int stdout_flush(void *ctx)
{
    return fflush((FILE *)ctx) == 0 ? 0 : -1;
}

int cgi_serve(const struct opt_config *cfg, const volatile sig_atomic_t *stop,
              const sigset_t *waitmask)
{
    struct resp_sink o = { stdout_write, stdout_flush, stdout, NULL, NULL };
    struct sched_params sp = { (long long)cfg->interval_ms * 1000000LL,
                               (long long)cfg->heartbeat_s * 1000000000LL, 0 };
    struct stats st = { .max_streams = 1, .started_ms = clock_now_ms() };
    struct dispatch d = { .retry_ms = cfg->retry_ms, .stats = &st };
    struct sched sc;
    struct req r;

    if (!getenv("REQUEST_METHOD")) {
        log_error("fd 0 is not a listening socket and this is no CGI request "
                  "(REQUEST_METHOD is unset): start me under spawn-fcgi or a web "
                  "server, or give --listen ADDR (see --help)");
        return 2;
    }
    switch (dispatch_serve(&d, env_param, NULL, NULL, 0, 0, &o, &r)) {
    case DISPATCH_ANSWERED:
    case DISPATCH_SUBSCRIBE: /* cannot be: no channels in CGI mode (404) */
    case DISPATCH_RUN:       /* nor programs (404) */
    case DISPATCH_CHAT:
    case DISPATCH_PUBLISH:   /* nor a publisher */
    case DISPATCH_MERCURE:   /* nor the Mercure hub (404) */
    case DISPATCH_MERCURE_PUBLISH:
    case DISPATCH_CONTROL:   /* nor channels to control (404) */
    case DISPATCH_STATUS_FEED: /* nor the status feed (404) */
        return 0;
    case DISPATCH_GONE:
        return 0; /* the client is gone already */
    case DISPATCH_STREAM:
        break;
    }

    sched_start(&sc, &sp, clock_now_ns(), r.first_id, r.limit);
    while (!*stop) {
        char buf[SCHED_OUT_MAX];
        unsigned long events;
        long long now = clock_now_ns(), wake = sched_wake(&sc, &sp);
        size_t len;

        if (wake > now) {
            /* No events requested: POLLERR/POLLHUP tell that the web
             * server closed our stdout, i.e. the client left. */
            struct pollfd pf = { STDOUT_FILENO, 0, 0 };
            struct timespec ts = { (wake - now) / 1000000000LL, (wake - now) % 1000000000LL };
            int n = ppoll(&pf, 1, &ts, waitmask);
            if (n < 0 && errno != EINTR) {
                log_errno("ppoll", errno);
                return 1;
            }
            if (n > 0)
                return 0;
            continue;
        }
        len = sched_due(&sc, &sp, now, buf, &events);
        if (len && (stdout_write(stdout, buf, len) < 0 || stdout_flush(stdout) < 0))
            return 0; /* the client left */
        if (sched_done(&sc))
            break;
    }
    return 0;
}

int cgi_detect(void)
{
    int listening = 0;
    socklen_t len = sizeof listening;

    if (!getenv("GATEWAY_INTERFACE"))
        return 0;
    /* not a socket (a pipe, /dev/null), or a connected one (mod_cgid) */
    return getsockopt(STDIN_FILENO, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 ||
           !listening;
}

int cgi_options(char *prog, const char *options, char **argv, int argv_max, char *words,
                size_t cap)
{
    int argc = 0;
    size_t used = 0;

    argv[argc++] = prog;
    while (options && *options) {
        size_t n;
        options += strspn(options, " \t");
        n = strcspn(options, " \t");
        if (!n)
            break;
        if (argc + 1 >= argv_max || used + n + 1 > cap)
            return -1;
        memcpy(words + used, options, n);
        words[used + n] = '\0';
        argv[argc++] = words + used;
        used += n + 1;
        options += n;
    }
    argv[argc] = NULL;
    return argc;
}
