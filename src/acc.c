/* acc.c -- the accept side: threads that take requests with libfcgi and answer or hand them to the hub */
#include "config.h"

#include "acc.h"
#include "log.h"
#include "monotime.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "stream.h"

#include <errno.h>
#include <fcgiapp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A GET carries no body; a web server that sends more than this is odd. */
#define ACC_INPUT_MAX (64 * 1024)
/* Reading a request must not pin a thread on a stalled peer. */
#define ACC_READ_TIMEOUT_S 5

struct acc {
    struct acc_config cfg;
    int stopfd;                  /* eventfd, readable once stopping */
    pthread_t *threads;
    unsigned started;
    atomic_uint running;
};

static const char *fcgx_param(const char *name, void *envp)
{
    return FCGX_GetParam(name, (FCGX_ParamArray)envp);
}

static int fcgx_write(void *out, const char *buf, size_t len)
{
    return FCGX_PutStr(buf, (int)len, (FCGX_Stream *)out) == (int)len ? 0 : -1;
}

static int fcgx_flush(void *out)
{
    return FCGX_FFlush((FCGX_Stream *)out);
}

/* Sleeps up to ms; returns 1 when stopping. */
static int wait_stop(struct acc *a, int ms)
{
    struct pollfd pf = { a->stopfd, POLLIN, 0 };
    return poll(&pf, 1, ms) > 0;
}

/* Reads the request body (for a GET: only the end-of-input record) so
 * that nothing arrives on the connection after the hand-off except an
 * abort or a hang-up. Returns 0, -1 on a read error, -2 when too big. */
static int drain_input(FCGX_Stream *in)
{
    char buf[4096];
    size_t total = 0;
    int n;

    while ((n = FCGX_GetStr(buf, sizeof buf, in)) > 0) {
        total += (size_t)n;
        if (total > ACC_INPUT_MAX)
            return -2;
    }
    return FCGX_GetError(in) ? -1 : 0;
}

/* Takes a stream slot; 0 when at --max-streams. */
static int admit(struct acc *a)
{
    struct stats *st = a->cfg.stats;

    if (atomic_fetch_add(&st->streams_open, 1) >= a->cfg.max_streams) {
        atomic_fetch_sub(&st->streams_open, 1);
        atomic_fetch_add(&st->streams_refused, 1);
        return 0;
    }
    atomic_fetch_add(&st->streams_total, 1);
    return 1;
}

static void release(struct acc *a)
{
    atomic_fetch_sub(&a->cfg.stats->streams_open, 1);
}

/* Serves one accepted request. Returns 1 when s went to the hub, else 0
 * with s ready for the next FCGX_Accept_r. */
static int serve(struct acc *a, struct stream *s)
{
    struct resp_sink o = { fcgx_write, fcgx_flush, s->req.out };
    struct timeval tv = { ACC_READ_TIMEOUT_S, 0 };
    struct req r;
    int rc;

    if (setsockopt(s->req.ipcFd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
        log_errno("setsockopt(SO_RCVTIMEO)", errno);

    req_parse(&r, fcgx_param, s->req.envp);
    if (route_answer(&r, &o, a->cfg.stats, a->cfg.retry_ms) != 1)
        goto finish;
    rc = drain_input(s->req.in);
    if (rc == -2)
        (void)resp_error(&o, 413, "a stream request carries no body", 0, 0);
    if (rc < 0)
        goto finish;
    if (!admit(a)) {
        (void)route_refuse(&o, a->cfg.retry_ms, 0);
        goto finish;
    }
    if (resp_stream_head(&o, a->cfg.retry_ms, 0) < 0) {
        release(a);
        goto finish;
    }
    if (stream_begin(s, &a->cfg.sched, a->cfg.sndbuf, r.first_id, r.limit, monotime_ns()) < 0) {
        log_errno("setting up a stream connection", errno);
        stream_end(s, 0);
        release(a);
        goto reset;
    }
    if (hub_adopt(a->cfg.hub, s) == 0)
        return 1;
    stream_end(s, 1); /* shutting down: a clean, empty stream */
    release(a);
    goto reset;

finish:
    /* One request per connection: a kept-alive connection would pin this
     * thread in a blocking read for the server's next request. */
    FCGX_Finish_r(&s->req);
    FCGX_Free(&s->req, 1);
reset:
    FCGX_InitRequest(&s->req, a->cfg.listen_fd, 0);
    return 0;
}

static void *acc_main(void *arg)
{
    struct acc *a = arg;
    struct stream *s = NULL;
    long long last_log = 0;

    for (;;) {
        struct pollfd pf[2] = { { a->cfg.listen_fd, POLLIN, 0 }, { a->stopfd, POLLIN, 0 } };
        int rc;

        if (!s && !(s = stream_create(a->cfg.listen_fd))) {
            log_errno("allocating a request", ENOMEM);
            if (wait_stop(a, 100))
                break;
            continue;
        }
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_errno("poll", errno);
            break;
        }
        if (pf[1].revents)
            break;
        if (!(pf[0].revents & POLLIN))
            continue;
        /* The listening socket is non-blocking: another thread may have
         * taken the connection, then libfcgi returns -EAGAIN. */
        rc = FCGX_Accept_r(&s->req);
        if (rc < 0) {
            long long now;
            if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR)
                continue;
            now = monotime_ms();
            if (now - last_log >= 1000) {
                log_errno("FCGX_Accept_r", -rc);
                last_log = now;
            }
            /* e.g. EMFILE: wait for descriptors to be freed, not spin */
            if (wait_stop(a, 100))
                break;
            continue;
        }
        if (serve(a, s))
            s = NULL;
    }
    stream_destroy(s);
    atomic_fetch_sub(&a->running, 1);
    return NULL;
}

struct acc *acc_start(const struct acc_config *cfg)
{
    struct acc *a = calloc(1, sizeof *a);
    int err;

    if (!a)
        return NULL;
    a->cfg = *cfg;
    a->threads = calloc(cfg->threads, sizeof *a->threads);
    if (!a->threads)
        goto fail;
    a->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (a->stopfd < 0)
        goto fail;
    for (a->started = 0; a->started < cfg->threads; a->started++) {
        atomic_fetch_add(&a->running, 1);
        err = pthread_create(&a->threads[a->started], NULL, acc_main, a);
        if (err) {
            atomic_fetch_sub(&a->running, 1);
            acc_stop(a);
            (void)acc_join(a, monotime_ms() + 2000, &(sig_atomic_t){ 0 });
            errno = err;
            return NULL;
        }
    }
    return a;

fail:
    err = errno;
    free(a->threads);
    free(a);
    errno = err;
    return NULL;
}

void acc_stop(struct acc *a)
{
    uint64_t one = 1;

    if (write(a->stopfd, &one, sizeof one) < 0)
        log_errno("write(eventfd)", errno);
}

int acc_join(struct acc *a, long long deadline_ms, const volatile sig_atomic_t *stop)
{
    unsigned i;

    /* Wait for the threads to leave their loops, then join: joining is
     * then immediate, and a stuck thread cannot hold the exit. */
    while (atomic_load(&a->running) > 0) {
        if (*stop > 1 || monotime_ms() >= deadline_ms)
            return -1;
        (void)poll(NULL, 0, 10);
    }
    for (i = 0; i < a->started; i++) {
        int err = pthread_join(a->threads[i], NULL);
        if (err)
            log_errno("pthread_join", err);
    }
    close(a->stopfd);
    free(a->threads);
    free(a);
    return 0;
}
