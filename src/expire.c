/* expire.c -- channel history past --history-ttl dropped on a timer, without waiting for the next publish or subscribe */
#include "config.h"

#include "expire.h"
#include "chan.h"
#include "log.h"
#include "loop.h"
#include "clock.h"

#include <errno.h>

static struct loop_timer timer;
static struct chan_engine *engine;
static unsigned long long ttl_ms;

/* Queues the timer at the next expiry (wall-clock ms in the engine, a
 * monotonic deadline in the loop: the wait is converted, not the time);
 * with no message, one TTL ahead. Never less than 1 ms ahead: a timer due
 * at once would run again in the same turn of the loop, and forever. */
static int arm(struct loop *l)
{
    unsigned long long now = clock_wall_ms(), next = chan_next_expiry(engine);
    unsigned long long wait_ms = !next ? ttl_ms : next > now ? next - now : 1;

    return loop_timer_set(l, &timer, clock_now_ns() + (long long)wait_ms * 1000000LL);
}

static void on_timer(struct loop *l, struct loop_timer *t)
{
    (void)t;
    chan_expire(engine, clock_wall_ms());
    if (arm(l) < 0)
        log_errno("channels: the history's expiry timer (history now expires only on publish "
                  "and subscribe)", ENOMEM);
}

int expire_start(struct loop *l, struct chan_engine *e, unsigned long long ttl)
{
    engine = e;
    ttl_ms = ttl;
    loop_timer_init(&timer, on_timer);
    return arm(l);
}

void expire_stop(struct loop *l)
{
    loop_timer_cancel(l, &timer);
}
