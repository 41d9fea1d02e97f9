/* acc.c -- the accept side: threads that take requests with libfcgi and answer or hand them to the hub */
#include "config.h"

#include "acc.h"
#include "log.h"
#include "monotime.h"
#include "precheck.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "stream.h"

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

    pthread_mutex_t spare_lock;  /* guards spare_fd */
    int spare_fd;                /* /dev/null, given up to shed a connection at EMFILE */
    atomic_llong warn_second;    /* rate limit of repeated warnings: this second */
    atomic_uint warn_count;      /* and the warnings in it */
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
    struct req r;
    int rc;

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
    FCGX_InitRequest(&s->req, -1, 0);
    return 0;
}

/* At most ACC_WARN_PER_S warnings a second, for conditions that may
 * repeat per connection (a flood must not flood the log). */
#define ACC_WARN_PER_S 10

static int warn_now(struct acc *a)
{
    long long sec = monotime_ms() / 1000;

    if (atomic_load(&a->warn_second) != sec) {
        atomic_store(&a->warn_second, sec);
        atomic_store(&a->warn_count, 0);
    }
    return atomic_fetch_add(&a->warn_count, 1) < ACC_WARN_PER_S;
}

/* Out of descriptors: the pending connection would stay in the backlog
 * and the listening socket readable, so poll would spin. Give up the
 * spare descriptor, accept the connection and close it at once: the web
 * server sees a clean close (and answers its client 502/503). Called with
 * spare_lock held, which every accept4 takes, so no other thread can take
 * the freed descriptor in between. Returns 0 when a connection was shed. */
static int shed(struct acc *a)
{
    int fd = -1;

    if (a->spare_fd < 0)
        a->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (a->spare_fd >= 0) {
        close(a->spare_fd);
        fd = accept4(a->cfg.listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            close(fd);
        a->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    if (fd >= 0 && warn_now(a))
        log_warn("out of file descriptors: closing new connections until streams end");
    return fd >= 0 ? 0 : -1;
}

/* Accepts one connection and checks its peer. We accept, not libfcgi, so
 * that refusals are logged and the read timeout is set before libfcgi
 * reads the request (a stalled peer must not pin an accept thread).
 * Returns the fd, or -1 with errno (EAGAIN: nothing pending, or a
 * connection was shed; EMFILE: out of descriptors, none could be freed). */
static int accept_conn(struct acc *a)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    struct timeval tv = { ACC_READ_TIMEOUT_S, 0 };
    int fd, one = 1, err;

    pthread_mutex_lock(&a->spare_lock);
    fd = accept4(a->cfg.listen_fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
    err = errno;
    if (fd < 0 && (err == EMFILE || err == ENFILE) && shed(a) == 0)
        err = EAGAIN;
    pthread_mutex_unlock(&a->spare_lock);
    if (fd < 0) {
        errno = err;
        return -1;
    }
    if (!peer_allowed(&a->cfg.acl, (struct sockaddr *)&ss)) {
        char who[64];
        peer_describe((struct sockaddr *)&ss, who, sizeof who);
        log_warn("refused a connection from %s: not in FCGI_WEB_SERVER_ADDRS", who);
        close(fd);
        errno = EACCES;
        return -1;
    }
    if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
        log_errno("setsockopt(SO_RCVTIMEO)", errno);
    return fd;
}

/* Waits until the request's params have arrived whole and look sane
 * (pre_scan), reading nothing: libfcgi reads them next. A peer that stays
 * silent or sends part of a request for ACC_READ_TIMEOUT_S, or sends
 * absurd lengths, is refused. Returns 0, or -1 (the caller closes). */
static int precheck(struct acc *a, int fd)
{
    /* Requests are small: peek into the stack first, and take a buffer
     * big enough for any sane request only when one does not fit. */
    unsigned char small[8192], *buf = small, *big = NULL;
    size_t cap = sizeof small;
    long long deadline = monotime_ms() + ACC_READ_TIMEOUT_S * 1000;
    const char *why = "";
    int rc = -1;

    for (;;) {
        struct pollfd pf[2] = { { fd, POLLIN | POLLRDHUP, 0 }, { a->stopfd, POLLIN, 0 } };
        long long left = deadline - monotime_ms();
        ssize_t n;
        int r;

        if (left <= 0) {
            why = "no complete request in time";
            goto refuse;
        }
        r = poll(pf, 2, (int)left);
        if (r < 0 && errno != EINTR)
            goto out;
        if (r <= 0)
            continue;
        if (pf[1].revents)
            goto out; /* shutting down: no new stream */
        n = recv(fd, buf, cap, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            goto out; /* the peer left: nothing to log */
        if (n < 0)
            continue;
        switch (pre_scan(buf, (size_t)n, &why)) {
        case PRE_OK:
            rc = 0;
            goto out;
        case PRE_BAD:
            goto refuse;
        case PRE_MORE:
            if ((size_t)n == cap && !big) {
                big = malloc(PRE_PARAMS_MAX + 8192);
                if (!big) {
                    why = "out of memory for a large request";
                    goto refuse;
                }
                buf = big;
                cap = PRE_PARAMS_MAX + 8192;
                continue;
            }
            if ((size_t)n == cap) {
                why = "parameters over 128 KiB in all";
                goto refuse;
            }
            if (pf[0].revents & (POLLRDHUP | POLLHUP | POLLERR))
                goto out; /* the peer left halfway through its request */
            /* Part of the request is here: a unix socket stays readable,
             * so look again shortly rather than spin in poll. */
            (void)poll(NULL, 0, 5);
            break;
        }
    }
refuse:
    if (warn_now(a))
        log_warn("refused a request: %s", why);
out:
    free(big);
    return rc;
}

/* Lets libfcgi read the request on our connection. libfcgi has no call
 * for an accepted descriptor; its own keep-alive path is one: with ipcFd
 * set and keepConnection on, FCGX_Accept_r reads the next request from
 * that connection. listen_sock is -1, so libfcgi never accepts by itself.
 * (ipcFd and keepConnection are fields of the installed FCGX_Request.)
 * Returns 0, or -1 when the request could not be read; libfcgi has then
 * closed the connection. */
static int read_request(struct stream *s, int fd)
{
    FCGX_InitRequest(&s->req, -1, 0);
    s->req.ipcFd = fd;
    s->req.keepConnection = 1;
    return FCGX_Accept_r(&s->req) == 0 ? 0 : -1;
}

static void *acc_main(void *arg)
{
    struct acc *a = arg;
    struct stream *s = NULL;

    for (;;) {
        struct pollfd pf[2] = { { a->cfg.listen_fd, POLLIN, 0 }, { a->stopfd, POLLIN, 0 } };
        int fd;

        if (!s && !(s = stream_create(-1))) {
            if (warn_now(a))
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
         * taken the connection (EAGAIN). */
        fd = accept_conn(a);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                /* nothing could be shed: wait for streams to end */
                if (wait_stop(a, 50))
                    break;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                       errno != EACCES && errno != ECONNABORTED && errno != EPROTO) {
                if (warn_now(a))
                    log_errno("accept", errno);
                if (wait_stop(a, 100))
                    break;
            }
            continue;
        }
        if (precheck(a, fd) < 0) {
            close(fd);
            continue;
        }
        if (read_request(s, fd) < 0)
            continue; /* a request libfcgi refused: it closed the connection */
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
    a->stopfd = -1;
    a->spare_fd = -1;
    err = pthread_mutex_init(&a->spare_lock, NULL);
    if (err) {
        errno = err;
        goto fail;
    }
    a->threads = calloc(cfg->threads, sizeof *a->threads);
    if (!a->threads)
        goto fail_lock;
    a->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (a->spare_fd < 0)
        goto fail_lock;
    a->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (a->stopfd < 0)
        goto fail_lock;
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

fail_lock:
    err = errno;
    if (a->spare_fd >= 0)
        close(a->spare_fd);
    pthread_mutex_destroy(&a->spare_lock);
    errno = err;
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
    if (a->spare_fd >= 0)
        close(a->spare_fd);
    pthread_mutex_destroy(&a->spare_lock);
    free(a->threads);
    free(a);
    return 0;
}
