/* rbus.c -- channels through Redis: ids and history in Redis streams, one blocking read per responder, resume from Redis */
#include "config.h"

#include "rbus_int.h"

#include <stdlib.h>

/* The link is up: the read starts (first, where it starts, if not known
 * yet), and the fetches that waited are sent. */
static void rbus_on_ready(struct rbus *b)
{
    rbus_read_next(b);
    rbus_fetch_pump(b);
}

static int rbus_history_start(struct history *h, struct msgid *out)
{
    return rbus_position(h->ctx, out);
}

static struct history_fetch *rbus_history_fetch(struct history *h,
                                                const char (*names)[CHAN_NAME_MAX + 1],
                                                unsigned n, const struct msgid *after,
                                                int check_reset, size_t bytes, history_fn fn,
                                                void *arg)
{
    return rbus_fetch(h->ctx, names, n, after, check_reset, bytes, fn, arg);
}

struct rbus *rbus_create(struct loop *l, const struct rbus_config *cfg, struct chan_engine *e,
                         struct stats *st)
{
    struct rbus *b = calloc(1, sizeof *b);

    if (!b)
        return NULL;
    b->loop = l;
    b->engine = e;
    b->cfg = *cfg;
    b->st = &st->redis;
    b->st->enabled = 1;
    rbus_describe(b);
    b->backend.publish = rbus_publish;
    b->backend.ctx = b;
    b->history.start = rbus_history_start;
    b->history.fetch = rbus_history_fetch;
    b->history.cancel = rbus_fetch_cancel;
    b->history.ctx = b;
    rbus_link_start(b, rbus_on_ready);
    if (rbus_link_connect(b) < 0) {
        free(b);
        return NULL;
    }
    return b;
}

int rbus_position(const struct rbus *b, struct msgid *out)
{
    if (!b->have_pos)
        return -1;
    *out = b->known;
    return 0;
}

struct history *rbus_history(struct rbus *b)
{
    return &b->history;
}

void rbus_destroy(struct rbus *b)
{
    if (!b)
        return;
    rbus_link_stop(b);
    rbus_fetch_drop(b);
    free(b);
}
