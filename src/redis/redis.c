/* redis.c -- channels through Redis: ids and history in Redis streams, one blocking read per responder, resume from Redis */
#include "config.h"

#include "redis/redis_int.h"

#include <stdlib.h>

/* The link is up: the read starts (first, where it starts, if not known
 * yet), and the fetches that waited are sent. */
static void redis_on_ready(struct redis *b)
{
    redis_read_next(b);
    redis_fetch_pump(b);
}

static int redis_history_start(struct history *h, struct msgid *out)
{
    return redis_position(h->ctx, out);
}

static struct history_fetch *redis_history_fetch(struct history *h,
                                                const char (*names)[CHAN_NAME_MAX + 1],
                                                unsigned n, const struct msgid *after,
                                                int check_reset, size_t bytes, history_fn fn,
                                                void *arg)
{
    return redis_fetch(h->ctx, names, n, after, check_reset, bytes, fn, arg);
}

struct redis *redis_create(struct loop *l, const struct redis_config *cfg, struct chan_engine *e,
                         struct stats *st)
{
    struct redis *b = calloc(1, sizeof *b);

    if (!b)
        return NULL;
    b->loop = l;
    b->engine = e;
    b->cfg = *cfg;
    b->st = &st->redis;
    b->st->enabled = 1;
    redis_describe(b);
    b->backend.publish = redis_publish;
    b->backend.ctx = b;
    b->history.start = redis_history_start;
    b->history.fetch = redis_history_fetch;
    b->history.cancel = redis_fetch_cancel;
    b->history.ctx = b;
    redis_link_start(b, redis_on_ready);
    if (redis_trim_start(b) < 0) {
        free(b);
        return NULL;
    }
    if (redis_link_connect(b) < 0) {
        redis_trim_stop(b);
        free(b);
        return NULL;
    }
    return b;
}

int redis_position(const struct redis *b, struct msgid *out)
{
    if (!b->have_pos)
        return -1;
    *out = b->known;
    return 0;
}

struct history *redis_history(struct redis *b)
{
    return &b->history;
}

void redis_destroy(struct redis *b)
{
    if (!b)
        return;
    redis_trim_stop(b);
    redis_link_stop(b);
    redis_fetch_drop(b);
    free(b);
}
