/* intake.c -- new connections: accept, read and check a whole request without blocking, then serve it */
#include "config.h"

#include "server/intake.h"
#include "fcgi/fcgireq.h"
#include "fcgi/frame.h"
#include "core/list.h"
#include "core/log.h"
#include "core/clock.h"
#include "stream/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* Connections accepted per wake-up at most: the backlog of a listening
 * socket holds no more (SOMAXCONN), and the loop's timers get their turn. */
#define INTAKE_ACCEPT_BURST 4096
/* Most requests (lighttpd's, nginx's, Apache's params) fit in this. */
#define INTAKE_BUF_FIRST 2048
/* A request's records beyond their content: headers and padding. */
#define INTAKE_RAW_SLACK (64 * 1024)
/* After EMFILE with nothing to shed, the listener rests this long. */
#define INTAKE_PAUSE_NS 50000000LL

/* A connection whose request is still arriving. */
struct conn {
    struct loop_io io;
    struct loop_timer deadline;
    struct intake *in;
    struct list node;           /* in the intake's list of connections being read */
    unsigned char *buf;         /* the request's bytes so far */
    size_t len, cap;
    struct frame fr;
};

struct intake {
    struct intake_config cfg;
    struct loop *loop;
    struct loop_io listener;          /* the listening socket */
    struct loop_timer pause;      /* the listener resting after EMFILE */
    int listening;                /* listener is in the loop */
    int spare_fd;                 /* /dev/null, given up to shed a connection at EMFILE */
    int memfd;                    /* libfcgi reads each checked request from here */
    struct list conns;            /* connections being read */
    size_t mem;                   /* bytes of their buffers */
    struct log_limit warn;
};

static struct conn *conn_of_io(struct loop_io *io)
{
    return container_of(io, struct conn, io);
}

static struct conn *conn_of_timer(struct loop_timer *t)
{
    return container_of(t, struct conn, deadline);
}

/* Forgets c; its fd is closed unless keep_fd (libfcgi has it now). */
static void conn_free(struct conn *c, int keep_fd)
{
    struct intake *in = c->in;

    loop_io_del(in->loop, &c->io);
    loop_timer_cancel(in->loop, &c->deadline);
    if (!keep_fd)
        close(c->io.fd);
    list_remove(&c->node);
    in->mem -= c->cap;
    free(c->buf);
    free(c);
}

/* Counts a connection closed unanswered, for the reason. */
static void count_refused(struct intake *in, enum stats_intake reason)
{
    if (in->cfg.stats)
        in->cfg.stats->intake_refused[reason]++;
}

static void refuse(struct conn *c, enum stats_intake reason, const char *why)
{
    if (log_allow(&c->in->warn))
        log_warn("refused a request: %s", why);
    count_refused(c->in, reason);
    conn_free(c, 0);
}

/* ---------------------------------------------------------------- serving */

/* Puts the checked records of a request, without padding, into the memfd
 * for libfcgi. */
static int feed(struct intake *in, const unsigned char *buf, size_t n)
{
    size_t off = 0;

    if (in->memfd < 0) {
        in->memfd = memfd_create("fcgi-sse-request", MFD_CLOEXEC);
        if (in->memfd < 0)
            return -1;
    }
    while (off < n) {
        ssize_t w = pwrite(in->memfd, buf + off, n - off, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    if (ftruncate(in->memfd, (off_t)n) < 0 || lseek(in->memfd, 0, SEEK_SET) < 0)
        return -1;
    return 0;
}

/* c's request is complete (or its params are, and its body is too big):
 * libfcgi parses it, and the controller serves it (dispatch_request). */
static void serve(struct conn *c, int too_big)
{
    struct intake *in = c->in;
    const struct intake_config *cfg = &in->cfg;
    size_t n = too_big ? c->fr.params_end : c->fr.end;
    size_t body_len = 0;
    char *body = NULL;
    struct stream *s;

    if (!too_big && c->len > c->fr.end) {
        /* An abort, or a second request without waiting for the answer. */
        refuse(c, STATS_IN_MALFORMED, "data after the end of the request");
        return;
    }
    n = frame_strip_padding(c->buf, n);
    s = stream_create();
    if (s && !too_big && c->fr.body_len)
        body = malloc(c->fr.body_len);
    if (!s || (!too_big && c->fr.body_len && !body) || feed(in, c->buf, n) < 0) {
        if (log_allow(&in->warn))
            log_errno(s ? "writing a request to its memfd" : "allocating a request", errno);
        free(body);
        stream_destroy(s);
        conn_free(c, 0);
        return;
    }
    if (fcgireq_read(&s->req, in->memfd, c->io.fd, body, c->fr.body_len, &body_len,
                     too_big) < 0) {
        /* frame.c let through what libfcgi refuses: a bug here, not the peer's */
        in->memfd = -1; /* libfcgi closed it */
        if (log_allow(&in->warn))
            log_error("libfcgi refused a request that passed the checks");
        free(body);
        stream_destroy(s);
        conn_free(c, 0);
        return;
    }
    conn_free(c, 1); /* the connection is s's now */
    cfg->serve(cfg->serve_arg, s, body, body_len, too_big);
}

/* ---------------------------------------------------------------- reading */

/* Room for more bytes; -1 when the request or the intake is too big
 * (*why, and *reason what it counts as). */
static int grow(struct conn *c, const char **why, enum stats_intake *reason)
{
    struct intake *in = c->in;
    size_t cap = c->cap ? c->cap * 2 : INTAKE_BUF_FIRST;
    size_t most = c->fr.lim.raw_max + 1;
    unsigned char *b;

    if (cap > most)
        cap = most;
    if (cap <= c->cap) {
        *why = "a request larger than the intake allows";
        *reason = STATS_IN_TOO_LARGE;
        return -1;
    }
    *reason = STATS_IN_MEMORY;
    if (in->mem + (cap - c->cap) > in->cfg.mem_max) {
        *why = "too many requests arriving at once for the intake's memory";
        return -1;
    }
    b = realloc(c->buf, cap);
    if (!b) {
        *why = "out of memory for a request";
        return -1;
    }
    in->mem += cap - c->cap;
    c->buf = b;
    c->cap = cap;
    return 0;
}

static void on_conn(struct loop *l, struct loop_io *io, uint32_t events)
{
    struct conn *c = conn_of_io(io);
    const char *why = NULL;
    enum stats_intake reason = STATS_IN_MEMORY;
    (void)l;
    (void)events;

    for (;;) {
        ssize_t n;

        if (c->len == c->cap && grow(c, &why, &reason) < 0) {
            refuse(c, reason, why);
            return;
        }
        n = read(c->io.fd, c->buf + c->len, c->cap - c->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return; /* the rest is on its way */
        if (n <= 0) {
            conn_free(c, 0); /* the peer left, or the connection broke */
            return;
        }
        c->len += (size_t)n;
        switch (frame_scan(&c->fr, c->buf, c->len)) {
        case FRAME_MORE:
            continue;
        case FRAME_DONE:
            serve(c, 0);
            return;
        case FRAME_TOO_BIG:
            serve(c, 1);
            return;
        case FRAME_ABORT:
            conn_free(c, 0);
            return;
        case FRAME_BAD:
            /* frame.c judges the size too: counted apart from a broken record */
            refuse(c, c->fr.oversize ? STATS_IN_TOO_LARGE : STATS_IN_MALFORMED, c->fr.why);
            return;
        }
    }
}

static void on_deadline(struct loop *l, struct loop_timer *t)
{
    (void)l;
    refuse(conn_of_timer(t), STATS_IN_TIMEOUT, "no complete request in time");
}

/* ---------------------------------------------------------------- accepting */

/* Out of descriptors: the pending connection would stay in the backlog
 * and the listener readable, so the loop would spin. Give up the spare
 * descriptor, accept the connection and close it at once: the web server
 * sees a clean close (and answers its client 502/503). 0 when one was shed. */
static int shed(struct intake *in)
{
    int fd = -1;

    if (in->spare_fd < 0)
        in->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in->spare_fd >= 0) {
        close(in->spare_fd);
        fd = accept4(in->cfg.listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) {
            close(fd);
            count_refused(in, STATS_IN_FDS);
        }
        in->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    if (fd >= 0 && log_allow(&in->warn))
        log_warn("out of file descriptors: closing new connections until streams end");
    return fd >= 0 ? 0 : -1;
}

static void listen_pause(struct intake *in)
{
    if (in->listening) {
        loop_io_del(in->loop, &in->listener);
        in->listening = 0;
    }
    if (loop_timer_set(in->loop, &in->pause, clock_now_ns() + INTAKE_PAUSE_NS) < 0)
        log_errno("pausing the listener", errno);
}

static void on_pause_end(struct loop *l, struct loop_timer *t)
{
    struct intake *in = container_of(t, struct intake, pause);

    if (!in->listening && loop_io_add(l, &in->listener, EPOLLIN) == 0)
        in->listening = 1;
    else if (!in->listening)
        listen_pause(in);
}

/* Takes in one accepted connection. */
static void admit_conn(struct intake *in, int fd, const struct sockaddr_storage *ss)
{
    int one = 1;

    if (!peer_allowed(&in->cfg.acl, (const struct sockaddr *)ss)) {
        char who[64];
        peer_describe((const struct sockaddr *)ss, who, sizeof who);
        if (log_allow(&in->warn))
            log_warn("refused a connection from %s: not in FCGI_WEB_SERVER_ADDRS", who);
        count_refused(in, STATS_IN_PEER);
        close(fd);
        return;
    }
    if (ss->ss_family == AF_INET || ss->ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    (void)intake_adopt(in, fd);
}

int intake_adopt(struct intake *in, int fd)
{
    struct conn *c = calloc(1, sizeof *c);

    if (!c) {
        if (log_allow(&in->warn))
            log_errno("allocating a connection", ENOMEM);
        close(fd);
        return -1;
    }
    c->in = in;
    c->io.fd = fd;
    c->io.fn = on_conn;
    c->fr.lim.body_max = in->cfg.body_max;
    c->fr.lim.raw_max = FRAME_PARAMS_MAX + in->cfg.body_max + INTAKE_RAW_SLACK;
    loop_timer_init(&c->deadline, on_deadline);
    if (loop_io_add(in->loop, &c->io, EPOLLIN | EPOLLRDHUP) < 0 ||
        loop_timer_set(in->loop, &c->deadline, clock_now_ns() + in->cfg.timeout_ns) < 0) {
        if (log_allow(&in->warn))
            log_errno("watching a connection", errno);
        loop_io_del(in->loop, &c->io);
        close(fd);
        free(c);
        return -1;
    }
    list_push(&in->conns, &c->node);
    return 0;
}

static void on_listen(struct loop *l, struct loop_io *io, uint32_t events)
{
    struct intake *in = container_of(io, struct intake, listener);
    int i;
    (void)l;
    (void)events;

    for (i = 0; i < INTAKE_ACCEPT_BURST && in->listening; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(in->cfg.listen_fd, (struct sockaddr *)&ss, &sl,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd >= 0) {
            admit_conn(in, fd, &ss);
            continue;
        }
        switch (errno) {
        case EAGAIN:
#if EWOULDBLOCK != EAGAIN
        case EWOULDBLOCK:
#endif
            return; /* every pending connection is in */
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
            continue;
        case EMFILE:
        case ENFILE:
            if (shed(in) == 0)
                continue;
            listen_pause(in); /* nothing could be shed: wait for streams to end */
            return;
        default:
            if (log_allow(&in->warn))
                log_errno("accept", errno);
            listen_pause(in);
            return;
        }
    }
}

struct intake *intake_start(struct loop *l, const struct intake_config *cfg)
{
    struct intake *in = calloc(1, sizeof *in);

    if (!in)
        return NULL;
    in->cfg = *cfg;
    in->loop = l;
    in->memfd = -1;
    list_init(&in->conns);
    in->listener.fd = cfg->listen_fd;
    in->listener.fn = on_listen;
    loop_timer_init(&in->pause, on_pause_end);
    in->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in->spare_fd < 0 || loop_io_add(l, &in->listener, EPOLLIN) < 0) {
        int err = errno;
        if (in->spare_fd >= 0)
            close(in->spare_fd);
        free(in);
        errno = err;
        return NULL;
    }
    in->listening = 1;
    return in;
}

void intake_stop(struct intake *in)
{
    struct list *n;

    if (in->listening) {
        loop_io_del(in->loop, &in->listener);
        in->listening = 0;
    }
    loop_timer_cancel(in->loop, &in->pause);
    while ((n = list_first(&in->conns)))
        conn_free(container_of(n, struct conn, node), 0);
}

void intake_destroy(struct intake *in)
{
    if (!in)
        return;
    intake_stop(in);
    if (in->spare_fd >= 0)
        close(in->spare_fd);
    if (in->memfd >= 0)
        close(in->memfd);
    free(in);
}
