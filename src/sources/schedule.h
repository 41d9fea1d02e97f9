/* schedule.h -- the counter's schedule and output, pure: which events and heartbeats are due, formatted */
#ifndef FCGI_SSE_SOURCES_SCHEDULE_H
#define FCGI_SSE_SOURCES_SCHEDULE_H

#include <stddef.h>

/* The schedule every stream follows. */
struct sched_params {
    long long interval_ns;    /* between events */
    long long heartbeat_ns;   /* comment after this much silence; 0 = off */
    long long grid_ns;        /* streams' start times are rounded to this; 0 = exact */
};

/* The grid for an interval: 1/100 of it, from 1 ms to 10 ms. Streams that
 * start within one grid step share their deadlines, so the loop writes
 * them in one wake-up and the web server reads them in one pass; a
 * stream's phase moves by at most half a step, its interval not at all. */
long long sched_grid(long long interval_ns);

/* Deadlines are absolute: event k (from 0) of a stream opened at t0 is
 * due at t0 + (k+1) * interval, whatever time writing takes, so a stream
 * never drifts; events that fell behind are sent together, in order. */
struct sched {
    long long next_event;          /* deadline of the next event */
    long long last_output;         /* when output was last produced */
    unsigned long long next_id;    /* id of the next event */
    unsigned long long remaining;  /* events left; SCHED_UNLIMITED = no limit */
};

#define SCHED_UNLIMITED (~0ULL)
/* The largest id a stream sends: one a client can resume from (a
 * Last-Event-ID up to 2^63-2 is accepted, so ids stop at 2^63-1). */
#define SCHED_ID_MAX 9223372036854775807ULL
/* Events produced per call at most; the rest are due again at once. */
#define SCHED_BURST 32
/* Output of one call at most. */
#define SCHED_OUT_MAX (SCHED_BURST * 80)

/* Starts a schedule at t0 (rounded to the nearest grid point): first
 * event first_id due at t0 + interval; limit 0 = unlimited. The stream
 * ends after id SCHED_ID_MAX whatever the limit. */
void sched_start(struct sched *s, const struct sched_params *p, long long t0,
                 unsigned long long first_id, unsigned long long limit);

/* Formats what is due at `now` into buf (SCHED_OUT_MAX bytes): the due
 * events (`id: N` / `data: Count: [N]`), or, when none is due and the
 * stream was silent for a heartbeat period, a comment. Advances the
 * schedule as if it was delivered. Returns the length (0: nothing due);
 * *events gets the number of events. */
size_t sched_due(struct sched *s, const struct sched_params *p, long long now,
                 char *buf, unsigned long *events);

/* When something is due next. Meaningless once sched_done(). */
long long sched_wake(const struct sched *s, const struct sched_params *p);

/* True once the limit was reached: the response should end. */
int sched_done(const struct sched *s);

#endif
