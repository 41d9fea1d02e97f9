/* stats.h -- process-wide stream counters for /status, kept by the event loop's thread */
#ifndef FCGI_SSE_HTTP_STATS_H
#define FCGI_SSE_HTTP_STATS_H

#include <stddef.h>

#include "core/procstat.h"

/* What a stream carries, for the counts by kind: the counter, a channel
 * subscription, a program (--run, --openai), a Mercure subscriber, the
 * status feed (.../status?stream=1). */
enum stats_kind { STATS_COUNTER = 0, STATS_CHANNEL, STATS_PROGRAM, STATS_MERCURE, STATS_STATUS,
                  STATS_KINDS };

/* Why the intake closed a connection without an answer (intake.c): a peer
 * not in FCGI_WEB_SERVER_ADDRS, records that fail frame.c's checks (or
 * data after the request), a request over the intake's size, requests
 * arriving at once over its memory (or none left), no whole request in
 * time, no descriptor left to accept one (shed at EMFILE). */
enum stats_intake { STATS_IN_PEER = 0, STATS_IN_MALFORMED, STATS_IN_TOO_LARGE, STATS_IN_MEMORY,
                    STATS_IN_TIMEOUT, STATS_IN_FDS, STATS_IN_REASONS };

/* The HTTP statuses the responder answers with (resp_reason_phrase's),
 * each counted in stats.answers[stats_code_slot(status)]. */
#define STATS_CODES 12
extern const int stats_codes[STATS_CODES];

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
    unsigned long events_delivered;      /* channel messages written to subscribers (Mercure's:
                                            mercure_delivered) */
    unsigned long runs_started;          /* programs started (--run, --openai: program.c) */
    unsigned long runs_failed;           /* could not be started: exit 127 (program.c) */
    unsigned long runs_refused;          /* 503: at --max-runs (dispatch.c) */
    unsigned long run_events;            /* lines and chat chunks written (program.c) */
    unsigned long mercure_delivered;     /* Mercure updates written to subscribers */
    unsigned long status_events;         /* status feed events written (feed.c) */
    unsigned long open_kind[STATS_KINDS];   /* streams_open by kind (admit.c) */
    unsigned long total_kind[STATS_KINDS];  /* streams_total by kind */
    unsigned long long bytes_written;    /* stream bodies after their header block (stream.c) */
    unsigned long answers[STATS_CODES];  /* answers by status (resp.c, through a sink) */
    unsigned long intake_refused[STATS_IN_REASONS]; /* connections closed unanswered */
    unsigned long replays;               /* subscriptions that resumed from an id */
    unsigned long resets;                /* `event: reset` written (subscription.c) */
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
    /* for /metrics: the counts above by kind and reason, and what the
     * owners of the channels and programs and the kernel add */
    unsigned long mercure_delivered, status_events;
    unsigned long mercure_published;     /* Mercure updates published (the channels' owner:
                                            those of the internal channels, the rest being
                                            messages_published; channels leaves them out too) */
    unsigned long open_kind[STATS_KINDS], total_kind[STATS_KINDS];
    unsigned long long bytes_written;
    unsigned long answers[STATS_CODES];
    unsigned long intake_refused[STATS_IN_REASONS];
    unsigned long replays, resets;
    unsigned long long history_messages;
    unsigned long runs_terminated, runs_killed;
    struct procstat proc;                /* filled for /metrics only */
};

/* Room for /status at its largest: every counter at its maximum, and the
 * Redis part with where and last_error full (tests/unit/http/test_stats.c checks). */
#define STATS_JSON_MAX 4096

/* Copies the counters; the channels' figures are the caller's to fill in
 * (the owner of the channels assembles /status). */
void stats_read(const struct stats *s, struct stats_view *v, long long now_ms);

/* The slot of an HTTP status in stats.answers, or -1 when it is not one
 * of stats_codes. */
int stats_code_slot(int status);

/* Counts one answer with status in s (NULL: nothing is counted). */
void stats_answered(struct stats *s, int status);

/* Renders v as one JSON object and a newline. Returns its length, or -1
 * when cap is too small. */
int stats_json(const struct stats_view *v, char *buf, size_t cap);

#endif
