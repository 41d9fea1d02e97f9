/* loop.c -- the event loop: epoll and a deadline heap, each fd and timer with its own handler */
#include "config.h"

#include "core/loop.h"
#include "core/list.h"
#include "core/log.h"
#include "core/clock.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define LOOP_EVENTS 256
#define LOOP_AFTER_MAX 4

struct loop {
    int epfd;
    struct heap timers;
    struct {
        void (*fn)(struct loop *, void *);
        void *arg;
    } after[LOOP_AFTER_MAX];
    int nafter;
};

int loop_after(struct loop *l, void (*fn)(struct loop *, void *), void *arg)
{
    if (l->nafter == LOOP_AFTER_MAX) {
        errno = ENOSPC;
        return -1;
    }
    l->after[l->nafter].fn = fn;
    l->after[l->nafter].arg = arg;
    l->nafter++;
    return 0;
}

void loop_after_remove(struct loop *l, void (*fn)(struct loop *, void *), void *arg)
{
    int i;

    for (i = 0; i < l->nafter; i++) {
        if (l->after[i].fn == fn && l->after[i].arg == arg) {
            l->after[i] = l->after[--l->nafter];
            return;
        }
    }
}

struct loop *loop_create(void)
{
    struct loop *l = calloc(1, sizeof *l);

    if (!l)
        return NULL;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        int err = errno;
        free(l);
        errno = err;
        return NULL;
    }
    heap_init(&l->timers);
    return l;
}

void loop_destroy(struct loop *l)
{
    if (!l)
        return;
    heap_release(&l->timers);
    close(l->epfd);
    free(l);
}

int loop_io_add(struct loop *l, struct loop_io *io, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = io };
    return epoll_ctl(l->epfd, EPOLL_CTL_ADD, io->fd, &ev);
}

int loop_io_mod(struct loop *l, struct loop_io *io, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = io };
    return epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev);
}

void loop_io_del(struct loop *l, struct loop_io *io)
{
    if (io->fd >= 0 && epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL) < 0 && errno != ENOENT)
        log_errno("epoll_ctl(DEL)", errno);
}

void loop_timer_init(struct loop_timer *t, void (*fn)(struct loop *, struct loop_timer *))
{
    t->node.index = HEAP_NONE;
    t->node.due = 0;
    t->fn = fn;
}

int loop_timer_set(struct loop *l, struct loop_timer *t, long long due)
{
    t->node.due = due;
    if (t->node.index != HEAP_NONE) {
        /* a subscriber's heartbeat is re-armed at the same time on every event */
        if (l->timers.v[t->node.index].due != due)
            heap_update(&l->timers, &t->node);
        return 0;
    }
    return heap_push(&l->timers, &t->node);
}

void loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
    heap_remove(&l->timers, &t->node);
}

int loop_timer_pending(const struct loop_timer *t)
{
    return t->node.index != HEAP_NONE;
}

unsigned long loop_timers(const struct loop *l)
{
    return (unsigned long)l->timers.len;
}

static struct loop_timer *timer_of(struct heap_node *n)
{
    return container_of(n, struct loop_timer, node);
}

static void run_due(struct loop *l)
{
    long long now = clock_now_ns();
    struct heap_node *n;

    while ((n = heap_min(&l->timers)) && n->due <= now) {
        struct loop_timer *t = timer_of(n);
        heap_remove(&l->timers, n);
        t->fn(l, t);
    }
}

/* Milliseconds until the earliest deadline, rounded up; -1 when none. */
static int next_timeout(const struct loop *l)
{
    struct heap_node *n = heap_min(&l->timers);
    long long wait;

    if (!n)
        return -1;
    wait = n->due - clock_now_ns();
    if (wait <= 0)
        return 0;
    wait = (wait + 999999) / 1000000;
    return wait > INT32_MAX ? INT32_MAX : (int)wait;
}

int loop_once(struct loop *l, int max_wait_ms, const sigset_t *waitmask)
{
    struct epoll_event evs[LOOP_EVENTS];
    int i, n, wait = next_timeout(l);

    if (max_wait_ms >= 0 && (wait < 0 || wait > max_wait_ms))
        wait = max_wait_ms;
    n = epoll_pwait(l->epfd, evs, LOOP_EVENTS, wait, waitmask);
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        log_errno("epoll_pwait", errno);
        return -1;
    }
    for (i = 0; i < n; i++) {
        struct loop_io *io = evs[i].data.ptr;
        io->fn(l, io, evs[i].events);
    }
    run_due(l);
    for (i = 0; i < l->nafter; i++)
        l->after[i].fn(l, l->after[i].arg);
    return n;
}

int loop_run(struct loop *l, const volatile sig_atomic_t *stop, const sigset_t *waitmask)
{
    while (!*stop)
        if (loop_once(l, -1, waitmask) < 0)
            return -1;
    return 0;
}
