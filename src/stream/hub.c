/* hub.c -- the open streams: each driven by its source in the event loop, freed the moment it ends */
#include "config.h"

#include "stream/hub.h"
#include "core/log.h"
#include "core/clock.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <sys/epoll.h>

struct hub {
    struct loop *loop;
    struct hub_hooks hooks;
    struct list all;          /* every live stream the hub owns */
    struct list dead;         /* ended this turn, freed after it */
    unsigned long n;          /* live streams */
    int closing;
    unsigned long freed;      /* streams freed since the last trim */
};

/* Streams freed between two returns of memory to the kernel at most. */
#define HUB_TRIM_EVERY 4096

/* Ends s (cleanly or not) and gives its slot back; s itself is freed when
 * the loop's turn ends, since an event of this turn may still name it. */
static void finish(struct hub *h, struct stream *s, int clean)
{
    if (s->dead)
        return;
    s->dead = 1;
    loop_timer_cancel(h->loop, &s->timer);
    loop_io_del(h->loop, &s->io);
    if (s->src && s->src->release)
        s->src->release(s);
    s->src = NULL;
    stream_end(s, clean);
    list_remove(&s->node);
    h->n--;
    if (h->hooks.ended)
        h->hooks.ended(h->hooks.arg, s);
    list_push(&h->dead, &s->node);
}

/* After each turn of the loop: frees what ended in it. */
static void reap(struct loop *l, void *arg)
{
    struct hub *h = arg;
    int any = !list_empty(&h->dead);
    struct list *n;
    (void)l;

    while ((n = list_first(&h->dead))) {
        struct stream *s = container_of(n, struct stream, node);
        list_remove(n);
        stream_destroy(s);
        h->freed++;
    }
    /* glibc keeps freed memory in its arenas; once clients have left, give
     * it back so the process returns to its idle size. */
    if (any && (h->freed >= HUB_TRIM_EVERY || h->n == 0)) {
        h->freed = 0;
        malloc_trim(0);
    }
}

static struct hub *hub_of(struct stream *s)
{
    return s->owner;
}

void hub_update(struct stream *s, enum stream_status st)
{
    struct hub *h = hub_of(s);

    if (s->dead)
        return;
    switch (st) {
    case STREAM_OPEN:
        break;
    case STREAM_DONE:
        finish(h, s, 1);
        return;
    case STREAM_SLOW:
        if (h->hooks.dropped_slow)
            (*h->hooks.dropped_slow)++;
        finish(h, s, 0);
        return;
    case STREAM_GONE:
        finish(h, s, 0);
        return;
    }
    if (s->timer.node.due && loop_timer_set(h->loop, &s->timer, s->timer.node.due) < 0) {
        log_errno("queueing a stream", errno);
        finish(h, s, 1);
        return;
    }
    if (!s->timer.node.due)
        loop_timer_cancel(h->loop, &s->timer);
    if (s->want_out != s->watching_out) {
        uint32_t ev = EPOLLIN | EPOLLRDHUP | (s->want_out ? EPOLLOUT : 0);
        if (loop_io_mod(h->loop, &s->io, ev) < 0) {
            log_errno("epoll_ctl(MOD)", errno);
            finish(h, s, 0);
            return;
        }
        s->watching_out = s->want_out;
    }
}

/* The connection: hang-up (the web server's client left: nothing more can
 * be delivered), input, which after the request can only be
 * FCGI_ABORT_REQUEST (answered with a proper end), or room to write. */
static void on_conn(struct loop *l, struct loop_io *io, uint32_t events)
{
    struct stream *s = container_of(io, struct stream, io);
    (void)l;

    if (s->dead)
        return;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        finish(hub_of(s), s, 0);
        return;
    }
    if (events & EPOLLIN) {
        finish(hub_of(s), s, 1);
        return;
    }
    if ((events & EPOLLOUT) && s->src->writable)
        hub_update(s, s->src->writable(s, clock_now_ns()));
}

static void on_due(struct loop *l, struct loop_timer *t)
{
    struct stream *s = container_of(t, struct stream, timer);
    (void)l;

    if (s->dead)
        return;
    s->timer.node.due = 0;
    hub_update(s, s->src->due(s, clock_now_ns()));
}

struct hub *hub_create(struct loop *l, const struct hub_hooks *hooks)
{
    struct hub *h = calloc(1, sizeof *h);

    if (!h)
        return NULL;
    h->loop = l;
    h->hooks = *hooks;
    list_init(&h->all);
    list_init(&h->dead);
    if (loop_after(l, reap, h) < 0) {
        free(h);
        return NULL;
    }
    return h;
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
    if (loop_io_add(h->loop, &s->io, EPOLLIN | EPOLLRDHUP | (s->want_out ? EPOLLOUT : 0)) < 0) {
        log_errno("epoll_ctl(ADD)", errno);
        return -1;
    }
    s->watching_out = s->want_out;
    if (s->timer.node.due && loop_timer_set(h->loop, &s->timer, s->timer.node.due) < 0) {
        log_errno("queueing a stream", errno);
        loop_io_del(h->loop, &s->io);
        return -1;
    }
    list_push(&h->all, &s->node);
    h->n++;
    return 0;
}

void hub_close(struct hub *h, const volatile sig_atomic_t *stop)
{
    struct list *n;

    h->closing = 1;
    while ((n = list_first(&h->all)) && *stop < 2)
        finish(h, container_of(n, struct stream, node), 1);
    reap(h->loop, h);
}

void hub_destroy(struct hub *h)
{
    struct list *n;

    if (!h)
        return;
    while ((n = list_first(&h->all)))
        finish(h, container_of(n, struct stream, node), 0);
    reap(h->loop, h);
    loop_after_remove(h->loop, reap, h);
    free(h);
}
