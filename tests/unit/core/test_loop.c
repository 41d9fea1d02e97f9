/* test_loop.c -- unit tests of loop: fd handlers over a socketpair, timers run in deadline
 * order and dequeued first, a cancelled or moved timer, handlers that free their own owner,
 * the after hooks, and loop_run's stop flag */
/* No check depends on how long anything takes: timers already due are set in the past,
 * timers that must not run are set an hour ahead, and a wait that must end by itself at the
 * next timer is guarded by alarm() (the test dies rather than hang). Every call of a handler
 * is written into one log, so order is checked, not time. */
#include "config.h"

#include "core/loop.h"
#include "core/clock.h"
#include "core/list.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"

#define HOUR (3600 * 1000000000LL)

static char trail[256];          /* what ran, in order: one letter (or more) per call */

static void note(const char *what)
{
    size_t n = strlen(trail);

    if (n + strlen(what) < sizeof trail)
        memcpy(trail + n, what, strlen(what) + 1);
}

/* ---- an fd owner */
struct reader {
    struct loop_io io;
    char name[4];
    int calls;
    uint32_t events;       /* of the last call */
    char got[16];          /* bytes read by the last call */
    int delete_self;       /* free the owner from its handler */
    int *freed;            /* set when it did */
};

static void on_read(struct loop *l, struct loop_io *io, uint32_t events)
{
    struct reader *r = container_of(io, struct reader, io);
    ssize_t n;

    r->calls++;
    r->events = events;
    note(r->name);
    r->got[0] = '\0';
    if (events & EPOLLIN) {
        n = read(io->fd, r->got, sizeof r->got - 1);
        r->got[n > 0 ? n : 0] = '\0';
    }
    if (r->delete_self) {
        loop_io_del(l, io);
        close(io->fd);
        *r->freed = 1;
        free(r);
    }
}

/* ---- a timer owner */
struct waker {
    struct loop_timer t;
    char name[4];
    int calls;
    int pending_in_handler;    /* loop_timer_pending(t) seen from inside its handler */
    volatile sig_atomic_t *stop;
    int free_self;
};

static void on_timer(struct loop *l, struct loop_timer *t)
{
    struct waker *w = container_of(t, struct waker, t);
    (void)l;

    w->calls++;
    w->pending_in_handler = loop_timer_pending(t);
    note(w->name);
    if (w->stop)
        *w->stop = 1;
    if (w->free_self)
        free(w);
}

static void waker_init(struct waker *w, const char *name)
{
    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, "%s", name);
    loop_timer_init(&w->t, on_timer);
}

static int after_calls;

static void after_hook(struct loop *l, void *arg)
{
    (void)l;
    after_calls++;
    note(arg);
}

static void write1(int fd, const char *s)
{
    if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
        abort();
}

static void test_fds(struct loop *l)
{
    int sv[2], ready, rc;
    struct reader r;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    memset(&r, 0, sizeof r);
    memcpy(r.name, "r", 2);
    r.io.fn = on_read;
    r.io.fd = sv[0];
    ok(loop_io_add(l, &r.io, EPOLLIN | EPOLLRDHUP) == 0, "loop_io_add: a socket");
    ready = loop_once(l, 0, NULL);
    ok(ready == 0 && r.calls == 0, "nothing to read: no call, 0 ready");
    write1(sv[1], "ping");
    ready = loop_once(l, 1000, NULL);
    ok(ready == 1 && r.calls == 1 && (r.events & EPOLLIN) && strcmp(r.got, "ping") == 0,
       "a byte written at the other end: the handler reads \"ping\" (got \"%s\")", r.got);
    ready = loop_once(l, 0, NULL);
    ok(ready == 0 && r.calls == 1, "once read, no more calls (level-triggered, drained)");
    rc = loop_io_mod(l, &r.io, EPOLLOUT);
    ready = loop_once(l, 1000, NULL);
    ok(rc == 0 && ready == 1 && r.calls == 2 && (r.events & EPOLLOUT) && !(r.events & EPOLLIN),
       "loop_io_mod to EPOLLOUT: called for room to write (events 0x%x)", (unsigned)r.events);
    ok(loop_io_mod(l, &r.io, EPOLLIN | EPOLLRDHUP) == 0, "back to EPOLLIN");
    loop_io_del(l, &r.io);
    write1(sv[1], "x");
    ready = loop_once(l, 0, NULL);
    ok(ready == 0 && r.calls == 2, "after loop_io_del: not called, though readable");
    rc = loop_io_add(l, &r.io, EPOLLIN | EPOLLRDHUP);
    ready = loop_once(l, 1000, NULL);
    ok(rc == 0 && ready == 1 && r.calls == 3 && strcmp(r.got, "x") == 0,
       "added again: the byte waiting is read");
    close(sv[1]);
    ready = loop_once(l, 1000, NULL);
    ok(ready == 1 && r.calls == 4 && (r.events & (EPOLLRDHUP | EPOLLHUP)),
       "the other end closed: the handler sees the hang-up (events 0x%x)", (unsigned)r.events);
    loop_io_del(l, &r.io);
    close(sv[0]);
}

static void test_timers(struct loop *l)
{
    struct waker a, b, c, later, cancelled, moved, pushed;
    long long now = clock_now_ns();

    waker_init(&a, "a");
    waker_init(&b, "b");
    waker_init(&c, "c");
    waker_init(&later, "L");
    waker_init(&cancelled, "X");
    waker_init(&moved, "m");
    waker_init(&pushed, "P");
    ok(!loop_timer_pending(&a.t) && loop_timers(l) == 0, "a new timer is not queued");
    /* queued in the order a, b, c, due in the order c, a, b */
    ok(loop_timer_set(l, &a.t, now - 2000) == 0 && loop_timer_set(l, &b.t, now - 1000) == 0 &&
           loop_timer_set(l, &c.t, now - 3000) == 0 && loop_timer_set(l, &later.t, now + HOUR) == 0 &&
           loop_timer_set(l, &cancelled.t, now - 2500) == 0 &&
           loop_timer_set(l, &moved.t, now + HOUR) == 0 && loop_timer_set(l, &pushed.t, now - 1) == 0,
       "seven timers queued");
    ok(loop_timer_pending(&a.t) && loop_timers(l) == 7, "queued: pending, 7 in the loop");
    loop_timer_cancel(l, &cancelled.t);
    loop_timer_cancel(l, &cancelled.t);
    ok(!loop_timer_pending(&cancelled.t) && loop_timers(l) == 6, "cancelled (twice: a no-op): 6 left");
    ok(loop_timer_set(l, &moved.t, now - 500) == 0 && loop_timer_set(l, &pushed.t, now + HOUR) == 0 &&
           loop_timers(l) == 6,
       "one timer moved an hour earlier, one an hour later: still 6, none queued twice");
    trail[0] = '\0';
    loop_once(l, 0, NULL);
    ok(strcmp(trail, "cabm") == 0, "the due timers ran in deadline order c a b m, each once (%s)", trail);
    ok(a.calls == 1 && !a.pending_in_handler && !b.pending_in_handler && !c.pending_in_handler,
       "each was dequeued before its handler ran");
    ok(later.calls == 0 && pushed.calls == 0 && cancelled.calls == 0 && loop_timer_pending(&later.t) &&
           loop_timers(l) == 2,
       "the timers an hour ahead did not run and are still queued; the cancelled one never ran");
    trail[0] = '\0';
    loop_once(l, 0, NULL);
    ok(trail[0] == '\0', "a second turn: nothing ran again");
    ok(loop_timer_set(l, &a.t, now - 1) == 0 && loop_once(l, 0, NULL) >= 0 && a.calls == 2,
       "a timer that ran can be set again, and runs again");
    loop_timer_cancel(l, &later.t);
    loop_timer_cancel(l, &pushed.t);
    ok(loop_timers(l) == 0, "all cancelled: none queued");
}

static void test_wait_for_timer(struct loop *l)
{
    struct waker w;

    waker_init(&w, "w");
    /* the wait is not told how long: it must end by itself when the timer is due */
    if (loop_timer_set(l, &w.t, clock_now_ns() + 20 * 1000000LL) < 0)
        abort();
    alarm(30);
    while (w.calls == 0 && loop_once(l, -1, NULL) >= 0 && loop_timer_pending(&w.t))
        ;
    alarm(0);
    ok(w.calls == 1, "loop_once(-1) wakes up for the next timer and runs it");
}

static void test_free_self(struct loop *l)
{
    struct reader *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    struct waker *w = malloc(sizeof *w);
    int sa[2], sb[2], a_freed = 0, b_freed = 0;

    if (!a || !b || !w || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sa) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sb) < 0)
        abort();
    memcpy(a->name, "A", 2);
    memcpy(b->name, "B", 2);
    a->io.fn = b->io.fn = on_read;
    a->io.fd = sa[0];
    b->io.fd = sb[0];
    a->delete_self = 1;
    a->freed = &a_freed;
    b->freed = &b_freed;
    if (loop_io_add(l, &a->io, EPOLLIN) < 0 || loop_io_add(l, &b->io, EPOLLIN) < 0)
        abort();
    waker_init(w, "T");
    w->free_self = 1;
    if (loop_timer_set(l, &w->t, clock_now_ns() - 1) < 0)
        abort();
    write1(sa[1], "1");
    write1(sb[1], "2");
    trail[0] = '\0';
    ok(loop_once(l, 1000, NULL) == 2 && a_freed && b->calls == 1 && strcmp(b->got, "2") == 0,
       "two fds ready in one turn: the first frees its owner, the other is still served");
    ok(strchr(trail, 'A') && strchr(trail, 'B') && strchr(trail, 'T') && loop_timers(l) == 0,
       "a timer that frees its owner in its handler: ran, gone from the loop (%s)", trail);
    ok(loop_once(l, 0, NULL) == 0 && b->calls == 1, "the next turn: nothing ready, nothing called");
    loop_io_del(l, &b->io);
    close(b->io.fd);
    free(b);
    close(sa[1]);
    close(sb[1]);
}

static void test_after(struct loop *l)
{
    struct waker w;
    struct reader r;
    int sv[2], i;
    static char tag_after[] = "z";

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
        abort();
    memset(&r, 0, sizeof r);
    memcpy(r.name, "r", 2);
    r.io.fn = on_read;
    r.io.fd = sv[0];
    if (loop_io_add(l, &r.io, EPOLLIN) < 0)
        abort();
    waker_init(&w, "t");
    ok(loop_after(l, after_hook, tag_after) == 0, "loop_after: a hook");
    if (loop_timer_set(l, &w.t, clock_now_ns() - 1) < 0)
        abort();
    write1(sv[1], "x");
    trail[0] = '\0';
    after_calls = 0;
    loop_once(l, 1000, NULL);
    ok(strcmp(trail, "rtz") == 0, "a turn: the ready fd, then the due timer, then the hook (%s)", trail);
    trail[0] = '\0';
    loop_once(l, 0, NULL);
    ok(after_calls == 2 && strcmp(trail, "z") == 0, "the hook runs at the end of every turn, once");
    for (i = 0; i < 3; i++)
        if (loop_after(l, after_hook, tag_after) < 0)
            break;
    errno = 0;
    ok(i == 3 && loop_after(l, after_hook, tag_after) == -1 && errno == ENOSPC,
       "at most 4 hooks: the fifth is refused with ENOSPC");
    for (i = 0; i < 4; i++)
        loop_after_remove(l, after_hook, tag_after);
    loop_after_remove(l, after_hook, tag_after);
    after_calls = 0;
    loop_once(l, 0, NULL);
    ok(after_calls == 0, "removed (and once more: a no-op): not called");
    loop_io_del(l, &r.io);
    close(sv[0]);
    close(sv[1]);
}

static void test_run(struct loop *l)
{
    volatile sig_atomic_t stop = 0;
    struct waker w;

    waker_init(&w, "s");
    w.stop = &stop;
    if (loop_timer_set(l, &w.t, clock_now_ns() - 1) < 0)
        abort();
    alarm(30);
    ok(loop_run(l, &stop, NULL) == 0 && w.calls == 1 && stop == 1,
       "loop_run returns 0 once a handler set the stop flag");
    alarm(0);
}

int main(void)
{
    struct loop *l = loop_create();

    if (!ok(l != NULL, "loop_create"))
        return done_testing();
    test_fds(l);
    test_timers(l);
    test_wait_for_timer(l);
    test_free_self(l);
    test_after(l);
    test_run(l);
    loop_destroy(l);
    return done_testing();
}
