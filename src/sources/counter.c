/* counter.c -- the counter source: `data: Count: [N]` every interval, with its id */
#include "config.h"

#include "sources/counter.h"

#include <errno.h>
#include <stdlib.h>

struct counter {
    struct sched_params params;
    unsigned long *events_sent;
};

/* One counter stream: where it is in its schedule. */
struct counter_stream {
    const struct counter *c;
    struct sched sched;
};

struct counter *counter_create(const struct sched_params *p, unsigned long *events_sent)
{
    struct counter *c = malloc(sizeof *c);

    if (!c)
        return NULL;
    c->params = *p;
    c->events_sent = events_sent;
    return c;
}

void counter_destroy(struct counter *c)
{
    free(c);
}

/* Writes everything due at `now` in one write (schedule.c formats it). */
static enum stream_status due(struct stream *s, long long now)
{
    struct counter_stream *cs = s->src_state;
    char buf[SCHED_OUT_MAX];
    unsigned long events = 0;
    size_t len = sched_due(&cs->sched, &cs->c->params, now, buf, &events);
    enum stream_status st;

    if (len && (st = stream_send(s, buf, len, now)) != STREAM_OPEN)
        return st;
    *cs->c->events_sent += events;
    if (sched_done(&cs->sched))
        return STREAM_DONE;
    s->timer.node.due = sched_wake(&cs->sched, &cs->c->params);
    return STREAM_OPEN;
}

static void release(struct stream *s)
{
    free(s->src_state);
    s->src_state = NULL;
}

static const struct source counter_source = { "counter", due, NULL, release };

int counter_start(struct counter *c, struct stream *s, unsigned long long first_id,
                  unsigned long long limit, long long now)
{
    struct counter_stream *cs = malloc(sizeof *cs);

    if (!cs) {
        errno = ENOMEM;
        return -1;
    }
    cs->c = c;
    sched_start(&cs->sched, &c->params, now, first_id, limit);
    s->src = &counter_source;
    s->src_state = cs;
    s->timer.node.due = sched_wake(&cs->sched, &c->params);
    return 0;
}
