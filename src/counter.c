/* counter.c -- the counter source: `data: Count: [N]` every interval, with its id */
#include "config.h"

#include "counter.h"

static struct sched_params params;
static unsigned long *events_sent;

void counter_setup(const struct sched_params *p, unsigned long *sent)
{
    params = *p;
    events_sent = sent;
}

/* Writes everything due at `now` in one write (sched.c formats it). */
static enum stream_status due(struct stream *s, long long now)
{
    char buf[SCHED_OUT_MAX];
    unsigned long events = 0;
    size_t len = sched_due(&s->sched, &params, now, buf, &events);
    enum stream_status st;

    if (len && (st = stream_send(s, buf, len, now)) != STREAM_OPEN)
        return st;
    *events_sent += events;
    if (sched_done(&s->sched))
        return STREAM_DONE;
    s->timer.node.due = sched_wake(&s->sched, &params);
    return STREAM_OPEN;
}

static const struct source counter_source = { "counter", due, NULL, NULL };

void counter_start(struct stream *s, unsigned long long first_id, unsigned long long limit,
                   long long now)
{
    s->src = &counter_source;
    sched_start(&s->sched, &params, now, first_id, limit);
    s->timer.node.due = sched_wake(&s->sched, &params);
}
