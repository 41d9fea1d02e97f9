/* loop.h -- the event loop: epoll and a deadline heap, each fd and timer with its own handler */
#ifndef FCGI_SSE_CORE_LOOP_H
#define FCGI_SSE_CORE_LOOP_H

#include <signal.h>
#include <stdint.h>

#include "core/heap.h"

struct loop;

/* An fd in the loop: embed it in its owner. fn is called with the epoll
 * events (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR). */
struct loop_io {
    void (*fn)(struct loop *l, struct loop_io *io, uint32_t events);
    int fd;
};

/* A deadline in the loop (CLOCK_MONOTONIC ns): embed it in its owner. */
struct loop_timer {
    struct heap_node node;
    void (*fn)(struct loop *l, struct loop_timer *t);
};

/* Creates a loop. NULL with errno on failure. */
struct loop *loop_create(void);

/* Frees the loop; fds and timers still in it are left to their owners. */
void loop_destroy(struct loop *l);

/* Watches io->fd for `events` (level-triggered). 0, or -1 with errno. */
int loop_io_add(struct loop *l, struct loop_io *io, uint32_t events);
int loop_io_mod(struct loop *l, struct loop_io *io, uint32_t events);
/* Stops watching io->fd; call before closing it. */
void loop_io_del(struct loop *l, struct loop_io *io);

/* Initialises t (not queued). */
void loop_timer_init(struct loop_timer *t, void (*fn)(struct loop *, struct loop_timer *));
/* Queues t at `due`, or moves it there. 0, or -1 (ENOMEM). */
int loop_timer_set(struct loop *l, struct loop_timer *t, long long due);
/* Dequeues t; a no-op when it is not queued. */
void loop_timer_cancel(struct loop *l, struct loop_timer *t);
/* 1 while t is queued. */
int loop_timer_pending(const struct loop_timer *t);

/* Runs until *stop is nonzero: waits on epoll (signals outside waitmask
 * interrupt the wait, see epoll_pwait), calls the handler of each ready
 * fd, then the handler of each timer that is due (a timer is dequeued
 * before its handler runs), then each loop_after hook. A handler may
 * free its own owner (after loop_io_del / with the timer dequeued), never
 * another's: events of the same batch may still be on their way to it; an
 * owner ended by someone else is freed by an after hook. Returns 0, or -1
 * on a fatal error. */
int loop_run(struct loop *l, const volatile sig_atomic_t *stop, const sigset_t *waitmask);

/* Calls fn(l, arg) at the end of every turn of the loop, once the ready
 * fds and the due timers were handled: where what ended in that turn is
 * freed. At most 4. 0, or -1 (ENOSPC). */
int loop_after(struct loop *l, void (*fn)(struct loop *, void *), void *arg);
/* Removes a hook added by loop_after (a no-op if there is none). */
void loop_after_remove(struct loop *l, void (*fn)(struct loop *, void *), void *arg);

/* One turn of loop_run: waits at most max_wait_ms (-1: until the next
 * timer or event), then runs the ready handlers and the due timers.
 * Returns the number of fds that were ready, or -1 on a fatal error. */
int loop_once(struct loop *l, int max_wait_ms, const sigset_t *waitmask);

/* Timers queued, for tests and shutdown. */
unsigned long loop_timers(const struct loop *l);

#endif
