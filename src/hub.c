/* hub.c -- the event loop: every open stream, its deadlines and its connection, in one thread */
#include "config.h"

#include "hub.h"
#include "log.h"
#include "monotime.h"
#include "theap.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define HUB_EVENTS 256

struct hub {
    int epfd;
    int wakefd;                   /* eventfd: streams waiting in `incoming` */
    struct theap timers;          /* every stream the loop owns, by wake-up */
    struct sched_params params;
    struct stats *stats;

    pthread_mutex_t lock;         /* guards incoming and closing */
    struct stream *incoming;      /* handed off, not yet in the loop */
    int closing;

    unsigned long freed;          /* streams freed since the last trim */
};

/* Streams freed between two returns of memory to the kernel at most. */
#define HUB_TRIM_EVERY 4096

static struct stream *stream_of(struct theap_node *n)
{
    return (struct stream *)((char *)n - offsetof(struct stream, timer));
}

struct hub *hub_create(const struct sched_params *p, struct stats *st)
{
    struct hub *h = calloc(1, sizeof *h);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    int err;

    if (!h)
        return NULL;
    h->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (h->epfd < 0)
        goto fail_free;
    h->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (h->wakefd < 0)
        goto fail_ep;
    if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->wakefd, &ev) < 0)
        goto fail_wake;
    err = pthread_mutex_init(&h->lock, NULL);
    if (err) {
        errno = err;
        goto fail_wake;
    }
    theap_init(&h->timers);
    h->params = *p;
    h->stats = st;
    return h;

fail_wake:
    err = errno;
    close(h->wakefd);
    errno = err;
fail_ep:
    err = errno;
    close(h->epfd);
    errno = err;
fail_free:
    free(h);
    return NULL;
}

int hub_adopt(struct hub *h, struct stream *s)
{
    uint64_t one = 1;
    int was_empty;

    pthread_mutex_lock(&h->lock);
    if (h->closing) {
        pthread_mutex_unlock(&h->lock);
        return -1;
    }
    was_empty = h->incoming == NULL;
    s->next = h->incoming;
    h->incoming = s;
    pthread_mutex_unlock(&h->lock);
    /* The counter only needs to be nonzero; EAGAIN (saturated) is fine. */
    if (was_empty && write(h->wakefd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_errno("write(eventfd)", errno);
    return 0;
}

/* Closes s's connection (cleanly or not), frees it, gives its slot back. */
static void finish(struct hub *h, struct stream *s, int clean)
{
    theap_remove(&h->timers, &s->timer);
    if (s->fd >= 0 && epoll_ctl(h->epfd, EPOLL_CTL_DEL, s->fd, NULL) < 0)
        log_errno("epoll_ctl(DEL)", errno);
    stream_end(s, clean);
    stream_destroy(s);
    atomic_fetch_sub(&h->stats->streams_open, 1);
    /* glibc keeps freed memory in its arenas; once clients have left, give
     * it back so the process returns to its idle size. */
    if (++h->freed >= HUB_TRIM_EVERY || h->timers.len == 0) {
        h->freed = 0;
        malloc_trim(0);
    }
}

/* Moves handed-off streams into the loop. */
static void take_incoming(struct hub *h)
{
    struct stream *s, *next;
    uint64_t n;

    if (read(h->wakefd, &n, sizeof n) < 0 && errno != EAGAIN)
        log_errno("read(eventfd)", errno);
    pthread_mutex_lock(&h->lock);
    s = h->incoming;
    h->incoming = NULL;
    pthread_mutex_unlock(&h->lock);

    for (; s; s = next) {
        /* EPOLLRDHUP/EPOLLHUP: the web server closed the connection (its
         * client left). EPOLLIN: it sent something after the request,
         * which for a GET can only be FCGI_ABORT_REQUEST. */
        struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = s };
        next = s->next;
        s->next = NULL;
        if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
            log_errno("epoll_ctl(ADD)", errno);
            finish(h, s, 1);
            continue;
        }
        if (theap_push(&h->timers, &s->timer) < 0) {
            log_errno("adding a stream", errno);
            finish(h, s, 1);
        }
    }
}

static void on_connection(struct hub *h, struct stream *s, uint32_t events)
{
    /* Hang-up: the peer is gone, nothing more can be delivered. Input
     * alone: an abort request; answer it with a proper end. */
    finish(h, s, !(events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)));
}

static void run_due(struct hub *h)
{
    long long now = monotime_ns();
    struct theap_node *n;

    while ((n = theap_min(&h->timers)) && n->due <= now) {
        struct stream *s = stream_of(n);
        unsigned long events = 0;
        enum stream_status st = stream_tick(s, &h->params, now, &events);

        if (events)
            atomic_fetch_add(&h->stats->events_sent, events);
        switch (st) {
        case STREAM_OPEN:
            theap_update(&h->timers, n);
            break;
        case STREAM_DONE:
            finish(h, s, 1);
            break;
        case STREAM_SLOW:
            atomic_fetch_add(&h->stats->streams_dropped_slow, 1);
            finish(h, s, 0);
            break;
        case STREAM_GONE:
            finish(h, s, 0);
            break;
        }
    }
}

/* Milliseconds until the earliest deadline, rounded up; -1 when none. */
static int next_timeout(const struct hub *h)
{
    struct theap_node *n = theap_min(&h->timers);
    long long wait;

    if (!n)
        return -1;
    wait = n->due - monotime_ns();
    if (wait <= 0)
        return 0;
    wait = (wait + 999999) / 1000000;
    return wait > INT32_MAX ? INT32_MAX : (int)wait;
}

int hub_run(struct hub *h, const volatile sig_atomic_t *stop, const sigset_t *waitmask)
{
    struct epoll_event evs[HUB_EVENTS];

    while (!*stop) {
        int i, n = epoll_pwait(h->epfd, evs, HUB_EVENTS, next_timeout(h), waitmask);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_errno("epoll_pwait", errno);
            return -1;
        }
        for (i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL)
                take_incoming(h);
            else
                on_connection(h, evs[i].data.ptr, evs[i].events);
        }
        run_due(h);
    }
    return 0;
}

void hub_close(struct hub *h, const volatile sig_atomic_t *stop)
{
    struct theap_node *n;

    pthread_mutex_lock(&h->lock);
    h->closing = 1;
    pthread_mutex_unlock(&h->lock);
    take_incoming(h);
    while ((n = theap_min(&h->timers)) && *stop < 2)
        finish(h, stream_of(n), 1);
}

void hub_destroy(struct hub *h)
{
    struct theap_node *n;

    if (!h)
        return;
    while ((n = theap_min(&h->timers)))
        finish(h, stream_of(n), 0);
    theap_release(&h->timers);
    pthread_mutex_destroy(&h->lock);
    close(h->wakefd);
    close(h->epfd);
    free(h);
}
