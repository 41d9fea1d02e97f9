/* schedule.c -- the counter's schedule and output, pure: which events and heartbeats are due, formatted */
#include "config.h"

#include "sources/schedule.h"
#include "core/text.h"
#include "http/sse.h"

#include <string.h>

long long sched_grid(long long interval_ns)
{
    long long g = interval_ns / 100;

    if (g < 1000000LL)
        g = 1000000LL;
    if (g > 10000000LL)
        g = 10000000LL;
    return g > interval_ns ? 0 : g;
}

void sched_start(struct sched *s, const struct sched_params *p, long long t0,
                 unsigned long long first_id, unsigned long long limit)
{
    if (p->grid_ns > 0)
        t0 = (t0 + p->grid_ns / 2) / p->grid_ns * p->grid_ns;
    s->next_event = t0 + p->interval_ns;
    s->last_output = t0;
    s->next_id = first_id;
    s->remaining = limit ? limit : SCHED_UNLIMITED;
    if (first_id > SCHED_ID_MAX)
        s->remaining = 0;
    else if (SCHED_ID_MAX - first_id < s->remaining)
        s->remaining = SCHED_ID_MAX - first_id + 1;
}

/* The product's event: `id: N`, `data: Count: [N]`. */
static ssize_t counter_event(char *buf, size_t cap, unsigned long long n)
{
    char id[24], data[40];
    size_t idlen = text_u64(id, n);
    struct sse_event ev = { id, NULL, data, 0 };

    memcpy(data, "Count: [", 8);
    memcpy(data + 8, id, idlen);
    data[8 + idlen] = ']';
    ev.data_len = 9 + idlen;
    return sse_encode(buf, cap, &ev);
}

size_t sched_due(struct sched *s, const struct sched_params *p, long long now,
                 char *buf, unsigned long *events)
{
    size_t len = 0;
    unsigned long n = 0;

    while (s->remaining && s->next_event <= now && n < SCHED_BURST) {
        ssize_t w = counter_event(buf + len, SCHED_OUT_MAX - len, s->next_id);
        if (w < 0)
            break; /* cannot happen: an event is under 80 bytes */
        len += (size_t)w;
        n++;
        s->next_id++;
        if (s->remaining != SCHED_UNLIMITED)
            s->remaining--;
        s->next_event += p->interval_ns;
    }
    if (n == 0 && p->heartbeat_ns && now >= s->last_output + p->heartbeat_ns) {
        ssize_t w = sse_comment(buf, SCHED_OUT_MAX, "heartbeat", 9);
        if (w > 0)
            len = (size_t)w;
    }
    if (len)
        s->last_output = now;
    *events = n;
    return len;
}

long long sched_wake(const struct sched *s, const struct sched_params *p)
{
    long long wake = s->next_event;

    if (p->heartbeat_ns && s->last_output + p->heartbeat_ns < wake)
        wake = s->last_output + p->heartbeat_ns;
    return wake;
}

int sched_done(const struct sched *s)
{
    return s->remaining == 0;
}
