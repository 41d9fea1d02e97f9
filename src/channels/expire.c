/* expire.c -- channel history past --history-ttl dropped on a timer, without waiting for the next publish or subscribe */
#include "config.h"

#include "channels/expire.h"
#include "channels/chan.h"
#include "core/clock.h"
#include "core/list.h"
#include "core/log.h"
#include "core/loop.h"

#include <errno.h>
#include <stdlib.h>

struct expire {
    struct loop *loop;
    struct loop_timer timer;
    struct chan_engine *engine;
    unsigned long long ttl_ms;
};

/* Queues the timer at the next expiry (wall-clock ms in the engine, a
 * monotonic deadline in the loop: the wait is converted, not the time);
 * with no message, one TTL ahead. Never less than 1 ms ahead: a timer due
 * at once would run again in the same turn of the loop, and forever. */
static int arm(struct expire *x)
{
    unsigned long long now = clock_wall_ms(), next = chan_next_expiry(x->engine);
    unsigned long long wait_ms = !next ? x->ttl_ms : next > now ? next - now : 1;

    return loop_timer_set(x->loop, &x->timer, clock_now_ns() + (long long)wait_ms * 1000000LL);
}

static void on_timer(struct loop *l, struct loop_timer *t)
{
    struct expire *x = container_of(t, struct expire, timer);
    (void)l;

    chan_expire(x->engine, clock_wall_ms());
    if (arm(x) < 0)
        log_errno("channels: the history's expiry timer (history now expires only on publish "
                  "and subscribe)", ENOMEM);
}

struct expire *expire_create(struct loop *l, struct chan_engine *e, unsigned long long ttl)
{
    struct expire *x = calloc(1, sizeof *x);

    if (!x)
        return NULL;
    x->loop = l;
    x->engine = e;
    x->ttl_ms = ttl;
    loop_timer_init(&x->timer, on_timer);
    if (arm(x) < 0) {
        free(x);
        return NULL;
    }
    return x;
}

void expire_destroy(struct expire *x)
{
    if (!x)
        return;
    loop_timer_cancel(x->loop, &x->timer);
    free(x);
}
