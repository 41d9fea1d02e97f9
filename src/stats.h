/* stats.h -- process-wide stream counters, shared by the accept threads and the hub */
#ifndef FCGI_SSE_STATS_H
#define FCGI_SSE_STATS_H

#include <stdatomic.h>
#include <stddef.h>

struct stats {
    atomic_ulong streams_open;          /* admitted and not yet freed */
    atomic_ulong streams_total;         /* admitted since start */
    atomic_ulong events_sent;           /* counter events written */
    atomic_ulong streams_dropped_slow;  /* dropped: send buffer full */
    atomic_ulong streams_refused;       /* 503: at --max-streams */
    unsigned long max_streams;          /* set once at start */
    long long started_ms;               /* CLOCK_MONOTONIC at start */
};

/* A plain copy of the counters, for rendering. */
struct stats_view {
    unsigned long streams_open, streams_total, events_sent;
    unsigned long streams_dropped_slow, streams_refused, max_streams;
    unsigned long long uptime_s;
};

/* Copies the counters (each read atomically; not a snapshot of all). */
void stats_read(struct stats *s, struct stats_view *v, long long now_ms);

/* Renders v as one JSON object and a newline. Returns its length, or -1
 * when cap is too small. */
int stats_json(const struct stats_view *v, char *buf, size_t cap);

#endif
