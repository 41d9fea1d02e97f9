/* cgi.c -- plain CGI mode: one request from the environment, the stream on stdout */
#include "config.h"

#include "cgi.h"
#include "log.h"
#include "monotime.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sched.h"
#include "stats.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int cgi_query_args(int argc, char **argv)
{
    const char *q = getenv("QUERY_STRING");
    int words = 1, i;
    const char *p;

    if (!getenv("GATEWAY_INTERFACE") || !q || !*q || strchr(q, '='))
        return 0;
    for (p = q; *p; p++)
        words += *p == '+';
    if (words > argc - 1)
        return 0;
    /* compare word by word with the last `words` arguments */
    for (i = 0, p = q; i < words; i++) {
        size_t n = strcspn(p, "+");
        /* as long as the word: a fixed buffer would let a long word (say
         * "-lunix:/tmp/...") through as an option */
        char *w = malloc(n + 1);
        int same;
        if (!w)
            return words; /* cannot compare: drop them rather than obey them */
        same = req_decode(p, n, 0, w, n + 1) >= 0 && strcmp(w, argv[argc - words + i]) == 0;
        free(w);
        if (!same)
            return 0;
        p += n + (p[n] == '+');
    }
    return words;
}

int cgi_serve(const struct opt_config *cfg, const volatile sig_atomic_t *stop,
              const sigset_t *waitmask)
{
    struct resp_sink o = { stdout_write, stdout_flush, stdout };
    struct sched_params sp = { (long long)cfg->interval_ms * 1000000LL,
                               (long long)cfg->heartbeat_s * 1000000000LL, 0 };
    struct stats st = { .max_streams = 1, .started_ms = monotime_ms() };
    struct sched sc;
    struct req r;
    int rc;

    if (!getenv("REQUEST_METHOD")) {
        log_error("fd 0 is not a listening socket and this is no CGI request "
                  "(REQUEST_METHOD is unset): start me under spawn-fcgi or a web "
                  "server, or give --listen ADDR (see --help)");
        return 2;
    }
    req_parse(&r, env_param, NULL);
    rc = route_answer(&r, &o, &st, cfg->retry_ms);
    if (rc != 1)
        return rc < 0 ? 1 : 0;
    if (resp_stream_head(&o, cfg->retry_ms, 0) < 0)
        return 0; /* the client is gone already */

    sched_start(&sc, &sp, monotime_ns(), r.first_id, r.limit);
    while (!*stop) {
        char buf[SCHED_OUT_MAX];
        unsigned long events;
        long long now = monotime_ns(), wake = sched_wake(&sc, &sp);
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
