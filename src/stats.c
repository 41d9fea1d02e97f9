/* stats.c -- process-wide stream counters, shared by the accept threads and the hub */
#include "config.h"

#include "stats.h"

#include <stdio.h>

void stats_read(struct stats *s, struct stats_view *v, long long now_ms)
{
    v->streams_open = atomic_load(&s->streams_open);
    v->streams_total = atomic_load(&s->streams_total);
    v->events_sent = atomic_load(&s->events_sent);
    v->streams_dropped_slow = atomic_load(&s->streams_dropped_slow);
    v->streams_refused = atomic_load(&s->streams_refused);
    v->max_streams = s->max_streams;
    v->uptime_s = now_ms > s->started_ms ? (unsigned long long)(now_ms - s->started_ms) / 1000 : 0;
}

int stats_json(const struct stats_view *v, char *buf, size_t cap)
{
    int n = snprintf(buf, cap,
                     "{\"streams_open\":%lu,\"streams_total\":%lu,\"events_sent\":%lu,"
                     "\"streams_dropped_slow\":%lu,\"streams_refused\":%lu,"
                     "\"uptime_s\":%llu,\"max_streams\":%lu,\"version\":\"%s\"}\n",
                     v->streams_open, v->streams_total, v->events_sent,
                     v->streams_dropped_slow, v->streams_refused, v->uptime_s,
                     v->max_streams, PACKAGE_VERSION);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}
