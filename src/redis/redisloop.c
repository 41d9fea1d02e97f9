/* redisloop.c -- hiredis's async API driven by the responder's epoll loop (its adapter hooks) */
#include "config.h"

#include "redis/redisloop.h"
#include "core/list.h"
#include "core/log.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/epoll.h>

struct redisloop {
    struct loop_io io;         /* ac's fd in the loop */
    struct loop *loop;
    redisAsyncContext *ac;
    uint32_t mask;             /* EPOLLIN / EPOLLOUT that hiredis asked for */
    int in_loop;               /* io is in the epoll set */
    int busy;                  /* its handler is running: free on the way out */
    int dead;                  /* hiredis let go of ac (cleanup) */
};

static struct redisloop *of_io(struct loop_io *io)
{
    return container_of(io, struct redisloop, io);
}

/* Makes the epoll set match r->mask. */
static void apply(struct redisloop *r)
{
    int rc;

    if (r->mask == 0) {
        if (r->in_loop)
            loop_io_del(r->loop, &r->io);
        r->in_loop = 0;
        return;
    }
    rc = r->in_loop ? loop_io_mod(r->loop, &r->io, r->mask)
                    : loop_io_add(r->loop, &r->io, r->mask);
    if (rc < 0) {
        /* hiredis waits for an event that will not come: its timeout (the
         * caller's) ends the connection */
        log_errno("epoll_ctl for the Redis connection", errno);
        return;
    }
    r->in_loop = 1;
}

static void add_read(void *p)
{
    struct redisloop *r = p;
    r->mask |= EPOLLIN;
    apply(r);
}

static void del_read(void *p)
{
    struct redisloop *r = p;
    r->mask &= ~(uint32_t)EPOLLIN;
    apply(r);
}

static void add_write(void *p)
{
    struct redisloop *r = p;
    r->mask |= EPOLLOUT;
    apply(r);
}

static void del_write(void *p)
{
    struct redisloop *r = p;
    r->mask &= ~(uint32_t)EPOLLOUT;
    apply(r);
}

/* hiredis frees ac (its fd closes right after): out of the loop now, the
 * state freed unless our own handler is on the stack. */
static void cleanup(void *p)
{
    struct redisloop *r = p;

    r->mask = 0;
    apply(r);
    r->ac = NULL;
    r->dead = 1;
    if (!r->busy)
        free(r);
}

static void on_io(struct loop *l, struct loop_io *io, uint32_t events)
{
    struct redisloop *r = of_io(io);
    (void)l;

    r->busy = 1;
    /* a failed connect shows as EPOLLERR/EPOLLHUP: hiredis reads it as such */
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
        redisAsyncHandleRead(r->ac);
    if (!r->dead && (r->mask & EPOLLOUT) && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
        redisAsyncHandleWrite(r->ac);
    r->busy = 0;
    if (r->dead)
        free(r);
}

int redisloop_attach(redisAsyncContext *ac, struct loop *l)
{
    struct redisloop *r;

    if (ac->ev.data) {
        errno = EEXIST;
        return -1;
    }
    r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    r->io.fn = on_io;
    r->io.fd = ac->c.fd;
    r->loop = l;
    r->ac = ac;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    ac->ev.data = r;
    return 0;
}
