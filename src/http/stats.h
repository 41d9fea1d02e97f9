/* stats.h -- process-wide stream counters for /status, kept by the event loop's thread */
#ifndef FCGI_SSE_HTTP_STATS_H
#define FCGI_SSE_HTTP_STATS_H

#include <stddef.h>

/* The Redis connection of --redis (redis.c keeps it current). */
struct stats_redis {
    int enabled;                         /* --redis was given */
    int connected;                       /* both connections up, functions loaded */
    unsigned long reconnects;            /* connections made after the first */
    unsigned long resyncs;               /* holes the read found in fcgi-sse:log */
    unsigned long pending_publishes;     /* publishes waiting for Redis's answer */
    unsigned long long pending_bytes;    /* their messages' bytes (REDIS_PUB_BYTES bounds) */
    char where[160];                     /* host:port/db or unix:/path */
    char last_error[160];                /* JSON-safe (no quote, backslash, control byte) */
};

/* Every counter is updated and read by the one thread that runs the
 * event loop (the responder has no other), so plain integers suffice. */
struct stats {
    unsigned long streams_open;          /* admitted and not yet freed (admit.c) */
    unsigned long streams_total;         /* admitted since start */
    unsigned long events_sent;           /* counter events written */
    unsigned long streams_dropped_slow;  /* dropped: send buffer full */
    unsigned long streams_refused;       /* 503: at --max-streams */
    unsigned long events_delivered;      /* channel messages written to subscribers */
    unsigned long runs_started;          /* programs started (--run, --openai: program.c) */
    unsigned long runs_failed;           /* could not be started: exit 127 (program.c) */
    unsigned long runs_refused;          /* 503: at --max-runs (dispatch.c) */
    unsigned long run_events;            /* lines and chat chunks written (program.c) */
    struct stats_redis redis;
    unsigned long max_streams;           /* set once at start */
    long long started_ms;                /* CLOCK_MONOTONIC at start */
};

/* A plain copy of the counters, for rendering. */
struct stats_view {
    unsigned long streams_open, streams_total, events_sent;
    unsigned long streams_dropped_slow, streams_refused, max_streams;
    unsigned long long uptime_s;
    unsigned long channels, messages_published, events_delivered, channels_refused;
    unsigned long long history_bytes, held_bytes, channel_bytes;
    unsigned long runs_running, runs_started, runs_failed, runs_refused, run_events;
    struct stats_redis redis;
};

/* Room for /status at its largest: every counter at its maximum, and the
 * Redis part with where and last_error full (tests/unit/http/test_stats.c checks). */
#define STATS_JSON_MAX 4096

/* Copies the counters; the channels' figures are the caller's to fill in
 * (the owner of the channels assembles /status). */
void stats_read(const struct stats *s, struct stats_view *v, long long now_ms);

/* Renders v as one JSON object and a newline. Returns its length, or -1
 * when cap is too small. */
int stats_json(const struct stats_view *v, char *buf, size_t cap);

#endif
