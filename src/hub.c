/* hub.c -- the open streams: each on its schedule in the event loop, freed the moment it ends */
#include "config.h"

#include "hub.h"
#include "admit.h"
#include "log.h"
#include "monotime.h"

#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/epoll.h>

struct hub {
    struct loop *loop;
    struct sched_params params;
    struct stats *stats;
    struct stream *all;       /* every stream the hub owns */
    unsigned long n;          /* how many */
    int closing;
    unsigned long freed;      /* streams freed since the last trim */
};

/* Streams freed between two returns of memory to the kernel at most. */
#define HUB_TRIM_EVERY 4096

struct hub *hub_create(struct loop *l, const struct sched_params *p, struct stats *st)
{
    struct hub *h = calloc(1, sizeof *h);

    if (!h)
        return NULL;
    h->loop = l;
    h->params = *p;
    h->stats = st;
    return h;
}

/* Closes s's connection (cleanly or not), frees it, gives its slot back. */
static void finish(struct hub *h, struct stream *s, int clean)
{
    loop_timer_cancel(h->loop, &s->timer);
    loop_io_del(h->loop, &s->io);
    if (s->prev)
        s->prev->next = s->next;
    else
        h->all = s->next;
    if (s->next)
        s->next->prev = s->prev;
    h->n--;
    stream_end(s, clean);
    stream_destroy(s);
    admit_give(h->stats);
    /* glibc keeps freed memory in its arenas; once clients have left, give
     * it back so the process returns to its idle size. */
    if (++h->freed >= HUB_TRIM_EVERY || h->n == 0) {
        h->freed = 0;
        malloc_trim(0);
    }
}

static struct hub *hub_of(struct stream *s)
{
    return s->owner;
}

/* The connection: hang-up (the web server's client left: nothing more can
 * be delivered), or input, which after a GET request can only be
 * FCGI_ABORT_REQUEST: answer it with a proper end. */
static void on_conn(struct loop *l, struct loop_io *io, uint32_t events)
{
    struct stream *s = (struct stream *)((char *)io - offsetof(struct stream, io));
    (void)l;
    finish(hub_of(s), s, !(events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)));
}

static void on_due(struct loop *l, struct loop_timer *t)
{
    struct stream *s = (struct stream *)((char *)t - offsetof(struct stream, timer));
    struct hub *h = hub_of(s);
    unsigned long events = 0;
    enum stream_status st = stream_tick(s, &h->params, monotime_ns(), &events);

    h->stats->events_sent += events;
    switch (st) {
    case STREAM_OPEN:
        if (loop_timer_set(l, &s->timer, s->timer.node.due) < 0) {
            log_errno("queueing a stream", errno);
            finish(h, s, 1);
        }
        break;
    case STREAM_DONE:
        finish(h, s, 1);
        break;
    case STREAM_SLOW:
        h->stats->streams_dropped_slow++;
        finish(h, s, 0);
        break;
    case STREAM_GONE:
        finish(h, s, 0);
        break;
    }
}

int hub_add(struct hub *h, struct stream *s)
{
    if (h->closing)
        return -1;
    s->owner = h;
    s->io.fn = on_conn;
    s->timer.fn = on_due;
    /* EPOLLRDHUP/EPOLLHUP: the web server closed the connection (its client
     * left). EPOLLIN: it sent something after the request. */
    if (loop_io_add(h->loop, &s->io, EPOLLIN | EPOLLRDHUP) < 0) {
        log_errno("epoll_ctl(ADD)", errno);
        return -1;
    }
    if (loop_timer_set(h->loop, &s->timer, s->timer.node.due) < 0) {
        log_errno("queueing a stream", errno);
        loop_io_del(h->loop, &s->io);
        return -1;
    }
    s->prev = NULL;
    s->next = h->all;
    if (h->all)
        h->all->prev = s;
    h->all = s;
    h->n++;
    return 0;
}

void hub_close(struct hub *h, const volatile sig_atomic_t *stop)
{
    h->closing = 1;
    while (h->all && *stop < 2)
        finish(h, h->all, 1);
}

void hub_destroy(struct hub *h)
{
    if (!h)
        return;
    while (h->all)
        finish(h, h->all, 0);
    free(h);
}
