/* test_schedule.c -- unit tests of schedule: the counter's pure per-stream schedule (events,
 * heartbeats, bursts, the grid) and its output */
/* Limits of the helpers: times are plain nanosecond numbers (no clock is read); expected
 * output is rebuilt from the documented format ("id: N\ndata: Count: [N]\n\n"), and
 * a heartbeat is only checked to be comment lines, not its text; the output buffer has
 * a canary after SCHED_OUT_MAX bytes, so an overrun is counted, not necessarily caught
 * at once; random times come from a fixed-seed LCG so every run is the same. */
#include "config.h"

#include "sources/schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#define S 1000000000LL  /* one second in ns */
#define MS 1000000LL    /* one millisecond in ns */
#define CANARY_LEN 16
#define CANARY ((char)0xa5)

static char *out;              /* SCHED_OUT_MAX bytes + canary */
static int out_violations;     /* calls whose output exceeded SCHED_OUT_MAX */

/* sched_due into `out`, checking the SCHED_OUT_MAX bound on every call. */
static size_t due(struct sched *s, const struct sched_params *p, long long now,
                  unsigned long *events)
{
    size_t len, i;

    memset(out + SCHED_OUT_MAX, CANARY, CANARY_LEN);
    *events = 12345;
    len = sched_due(s, p, now, out, events);
    for (i = 0; i < CANARY_LEN; i++)
        if (out[SCHED_OUT_MAX + i] != CANARY)
            break;
    if (len > SCHED_OUT_MAX || i < CANARY_LEN)
        out_violations++;
    return len;
}

/* 1 when buf[0..len) is exactly the events first .. first+n-1. */
static int is_events(const char *buf, size_t len, unsigned long long first, unsigned long n)
{
    static char want[SCHED_OUT_MAX * 2];
    size_t w = 0;
    unsigned long k;

    for (k = 0; k < n; k++) {
        int m = snprintf(want + w, sizeof want - w, "id: %llu\ndata: Count: [%llu]\n\n",
                         first + k, first + k);
        if (m < 0 || (size_t)m >= sizeof want - w)
            return 0;
        w += (size_t)m;
    }
    return len == w && memcmp(buf, want, w) == 0;
}

/* 1 when buf[0..len) is one or more complete comment lines (each starts with ':'). */
static int is_comment(const char *buf, size_t len)
{
    size_t i;

    if (len == 0 || buf[len - 1] != '\n')
        return 0;
    for (i = 0; i < len; i++) {
        if ((i == 0 || buf[i - 1] == '\n') && buf[i] != ':')
            return 0;
        if (buf[i] == '\r')
            return 0;
    }
    return 1;
}

static unsigned long long lcg_state;

static unsigned long long lcg(void)
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return lcg_state >> 33;
}

static void test_schedule(void)
{
    struct sched_params p;
    struct sched s;
    unsigned long ev;
    long long t0 = 1000 * S, now;
    size_t len;
    int k, calls, one_each;
    unsigned long long total;

    memset(&p, 0, sizeof p); /* grid 0: exact start times */
    p.interval_ns = 1 * S;
    p.heartbeat_ns = 0;

    /* ---- the first event */
    sched_start(&s, &p, t0, 0, 0);
    ok(sched_wake(&s, &p) == t0 + S, "start: first wake is t0 + interval");
    ok(!sched_done(&s), "start: unlimited stream is not done");
    len = due(&s, &p, t0, &ev);
    ok(len == 0 && ev == 0, "nothing due at t0");
    len = due(&s, &p, t0 + S - 1, &ev);
    ok(len == 0 && ev == 0, "nothing due 1 ns before t0 + interval");
    len = due(&s, &p, t0 + S, &ev);
    ok(ev == 1 && len == 24 && memcmp(out, "id: 0\ndata: Count: [0]\n\n", 24) == 0,
       "event 0 exactly at t0 + interval: \"id: 0\\ndata: Count: [0]\\n\\n\"");
    len = due(&s, &p, t0 + S, &ev);
    ok(len == 0 && ev == 0, "the same instant again: nothing more");
    ok(sched_wake(&s, &p) == t0 + 2 * S, "next wake is t0 + 2 intervals");

    /* ---- no drift: lateness does not move later deadlines */
    sched_start(&s, &p, t0, 0, 0);
    len = due(&s, &p, t0 + S + 400 * MS, &ev);
    ok(ev == 1 && is_events(out, len, 0, 1), "late by 0.4 s: event 0");
    ok(sched_wake(&s, &p) == t0 + 2 * S, "after a late event the next deadline is still t0 + 2s");
    len = due(&s, &p, t0 + 2 * S - 1, &ev);
    ok(len == 0 && ev == 0, "nothing 1 ns before t0 + 2s");
    len = due(&s, &p, t0 + 2 * S, &ev);
    ok(ev == 1 && is_events(out, len, 1, 1), "event 1 on time at t0 + 2s: no drift");

    /* 60 s of wake-ups, each 1..50 ms late: 60 events, ids 0..59, on the grid */
    lcg_state = 42;
    sched_start(&s, &p, t0, 0, 0);
    total = 0;
    calls = 0;
    one_each = 1;
    while (sched_wake(&s, &p) <= t0 + 60 * S && calls < 1000) {
        now = sched_wake(&s, &p) + 1 * MS + (long long)(lcg() % 50) * MS;
        len = due(&s, &p, now, &ev);
        if (ev != 1 || !is_events(out, len, total, ev))
            one_each = 0;
        total += ev;
        calls++;
    }
    ok(total == 60 && calls == 60 && one_each,
       "60 s of late wake-ups: exactly 60 events, one per call, ids 0..59 consecutive "
       "(%llu events, %d calls)", total, calls);
    ok(sched_wake(&s, &p) == t0 + 61 * S, "after 60 s the next deadline is t0 + 61 s exactly");

    /* the same at a fixed 0.9 s lateness, with extra calls in between */
    sched_start(&s, &p, t0, 0, 0);
    total = 0;
    one_each = 1;
    for (k = 1; k <= 60; k++) {
        len = due(&s, &p, t0 + k * S - 300 * MS, &ev); /* early: nothing */
        if (len != 0 || ev != 0)
            one_each = 0;
        len = due(&s, &p, t0 + k * S + 900 * MS, &ev);
        if (ev != 1 || !is_events(out, len, total, 1))
            one_each = 0;
        total += ev;
    }
    ok(total == 60 && one_each && sched_wake(&s, &p) == t0 + 61 * S,
       "60 s at 0.9 s late, with early calls: 60 events, consecutive, no drift");

    /* ---- catch-up */
    sched_start(&s, &p, t0, 0, 0);
    len = due(&s, &p, t0 + 10 * S + S / 2, &ev);
    ok(ev == 10 && is_events(out, len, 0, 10),
       "at t0 + 10.5 intervals: events 0..9 in order in one buffer");
    ok(sched_wake(&s, &p) == t0 + 11 * S, "after catching up the next deadline is t0 + 11s");

    /* more than SCHED_BURST overdue */
    sched_start(&s, &p, t0, 0, 0);
    now = t0 + (SCHED_BURST + 5) * S;
    len = due(&s, &p, now, &ev);
    ok(ev == SCHED_BURST && is_events(out, len, 0, SCHED_BURST),
       "%d overdue: SCHED_BURST (%d) events 0..%d first", SCHED_BURST + 5, SCHED_BURST,
       SCHED_BURST - 1);
    ok(sched_wake(&s, &p) <= now, "the rest is due again at once");
    len = due(&s, &p, now, &ev);
    ok(ev == 5 && is_events(out, len, SCHED_BURST, 5), "next call: the remaining 5, in order");
    len = due(&s, &p, now, &ev);
    ok(len == 0 && ev == 0 && sched_wake(&s, &p) == t0 + (SCHED_BURST + 6) * S,
       "then nothing, next deadline on the grid");

    /* 1000 overdue: bursts until caught up */
    sched_start(&s, &p, t0, 0, 0);
    now = t0 + 1000 * S;
    total = 0;
    calls = 0;
    one_each = 1;
    for (;;) {
        len = due(&s, &p, now, &ev);
        if (ev == 0)
            break;
        if (ev > SCHED_BURST || !is_events(out, len, total, ev))
            one_each = 0;
        total += ev;
        if (++calls > 100)
            break;
    }
    ok(total == 1000 && calls == (1000 + SCHED_BURST - 1) / SCHED_BURST && one_each,
       "1000 overdue: %d calls of at most SCHED_BURST, 1000 consecutive events", calls);

    /* ---- limit */
    sched_start(&s, &p, t0, 0, 3);
    ok(!sched_done(&s), "limit 3: not done at start");
    len = due(&s, &p, t0 + 10 * S, &ev);
    ok(ev == 3 && is_events(out, len, 0, 3) && sched_done(&s),
       "limit 3, 10 due: 3 events then sched_done");
    len = due(&s, &p, t0 + 20 * S, &ev);
    ok(ev == 0, "limit 3: no events after done");
    sched_start(&s, &p, t0, 0, 3);
    len = due(&s, &p, t0 + 1 * S, &ev);
    ok(ev == 1 && !sched_done(&s), "limit 3 step by step: 1 sent, not done");
    len = due(&s, &p, t0 + 2 * S, &ev);
    ok(ev == 1 && !sched_done(&s), "limit 3 step by step: 2 sent, not done");
    len = due(&s, &p, t0 + 3 * S, &ev);
    ok(ev == 1 && is_events(out, len, 2, 1) && sched_done(&s),
       "limit 3 step by step: 3 sent, done");
    sched_start(&s, &p, t0, 0, 40);
    len = due(&s, &p, t0 + 100 * S, &ev);
    ok(ev == SCHED_BURST && !sched_done(&s), "limit 40, 100 due: a burst first, not done");
    len = due(&s, &p, t0 + 100 * S, &ev);
    ok(ev == 40 - SCHED_BURST && is_events(out, len, SCHED_BURST, 40 - SCHED_BURST) &&
           sched_done(&s),
       "limit 40: then the last %d, done", 40 - SCHED_BURST);
    sched_start(&s, &p, t0, 0, 0);
    len = due(&s, &p, t0 + 100 * S, &ev);
    ok(ev == SCHED_BURST && !sched_done(&s), "limit 0 means unlimited");

    /* ---- resume */
    sched_start(&s, &p, t0, 42, 0);
    len = due(&s, &p, t0 + S, &ev);
    ok(ev == 1 && len == 26 && memcmp(out, "id: 42\ndata: Count: [42]\n\n", 26) == 0,
       "first_id 42: the first event is 42");
    sched_start(&s, &p, t0, 42, 2);
    len = due(&s, &p, t0 + 5 * S, &ev);
    ok(ev == 2 && is_events(out, len, 42, 2) && sched_done(&s),
       "first_id 42, limit 2: 42, 43, done");
    sched_start(&s, &p, t0, 9223372036854775807ULL, 0);
    len = due(&s, &p, t0 + S, &ev);
    ok(ev == 1 && is_events(out, len, 9223372036854775807ULL, 1) && sched_done(&s),
       "first_id 2^63-1 (largest resume): sent in full, then the stream ends (no id a "
       "client could not resume from)");
    sched_start(&s, &p, t0, 9223372036854775807ULL + 1, 0);
    ok(sched_done(&s), "first_id past SCHED_ID_MAX: nothing to send");
    sched_start(&s, &p, t0, 9223372036854775807ULL - 40, 0);
    len = due(&s, &p, t0 + 100 * S, &ev);
    ok(ev == SCHED_BURST && is_events(out, len, 9223372036854775807ULL - 40, SCHED_BURST) &&
           len <= SCHED_OUT_MAX,
       "a burst of 19-digit ids fits SCHED_OUT_MAX (%zu bytes)", len);
    len = due(&s, &p, t0 + 100 * S, &ev);
    ok(ev == 9 && sched_done(&s), "ids stop at SCHED_ID_MAX (%lu more)", ev);

    /* ---- heartbeat: 15 s, interval 60 s */
    p.interval_ns = 60 * S;
    p.heartbeat_ns = 15 * S;
    sched_start(&s, &p, t0, 0, 0);
    ok(sched_wake(&s, &p) == t0 + 15 * S, "heartbeat 15 s, interval 60 s: wake at t0 + 15s");
    len = due(&s, &p, t0 + 15 * S - 1, &ev);
    ok(len == 0 && ev == 0, "heartbeat: nothing 1 ns before t0 + 15s");
    len = due(&s, &p, t0 + 15 * S, &ev);
    ok(ev == 0 && len > 0 && out[0] == ':' && is_comment(out, len),
       "heartbeat at t0 + 15s: comment lines starting with ':', 0 events");
    ok(sched_wake(&s, &p) == t0 + 30 * S, "heartbeat: next wake at t0 + 30s");
    len = due(&s, &p, t0 + 20 * S, &ev);
    ok(len == 0 && ev == 0, "heartbeat: nothing at t0 + 20s");
    len = due(&s, &p, t0 + 30 * S, &ev);
    ok(ev == 0 && is_comment(out, len), "heartbeat at t0 + 30s");
    len = due(&s, &p, t0 + 45 * S, &ev);
    ok(ev == 0 && is_comment(out, len) && sched_wake(&s, &p) == t0 + 60 * S,
       "heartbeat at t0 + 45s, next wake t0 + 60s");
    len = due(&s, &p, t0 + 60 * S, &ev);
    ok(ev == 1 && is_events(out, len, 0, 1),
       "t0 + 60s: the event alone, no comment with it");
    ok(sched_wake(&s, &p) == t0 + 75 * S, "after the event the next heartbeat is at t0 + 75s");
    sched_start(&s, &p, t0, 0, 0);
    len = due(&s, &p, t0 + 20 * S, &ev);
    ok(ev == 0 && is_comment(out, len) && sched_wake(&s, &p) == t0 + 35 * S,
       "a late heartbeat at t0 + 20s: the next is 15 s after it, t0 + 35s");

    /* heartbeat longer than the interval: never a comment on schedule */
    p.interval_ns = 10 * S;
    p.heartbeat_ns = 15 * S;
    sched_start(&s, &p, t0, 0, 0);
    total = 0;
    one_each = 1;
    for (k = 0; k < 100; k++) {
        now = sched_wake(&s, &p);
        len = due(&s, &p, now, &ev);
        if (ev != 1 || !is_events(out, len, total, 1))
            one_each = 0;
        total += ev;
    }
    ok(one_each && total == 100, "heartbeat 15 s, interval 10 s: 100 wakes, 100 events, no comment");

    /* heartbeat 0: off */
    p.interval_ns = 60 * S;
    p.heartbeat_ns = 0;
    sched_start(&s, &p, t0, 0, 0);
    ok(sched_wake(&s, &p) == t0 + 60 * S, "heartbeat 0: wake is the next event");
    len = due(&s, &p, t0 + 15 * S, &ev);
    ok(len == 0 && ev == 0, "heartbeat 0: nothing at t0 + 15s");
    len = due(&s, &p, t0 + 60 * S - 1, &ev);
    ok(len == 0 && ev == 0, "heartbeat 0: nothing just before the event");
    len = due(&s, &p, t0 + 60 * S, &ev);
    ok(ev == 1 && is_events(out, len, 0, 1), "heartbeat 0: the event at t0 + 60s");

    /* ---- the start grid: sched_grid(interval) is 1/100 of it, from 1 ms to 10 ms */
    ok(sched_grid(1 * S) == 10 * MS, "sched_grid(1 s) is 10 ms");
    ok(sched_grid(500 * MS) == 5 * MS, "sched_grid(500 ms) is 5 ms");
    ok(sched_grid(100 * MS) == 1 * MS, "sched_grid(100 ms) is 1 ms");
    ok(sched_grid(10 * MS) == 1 * MS, "sched_grid(10 ms) is 1 ms (the minimum)");
    ok(sched_grid(60 * S) == 10 * MS, "sched_grid(60 s) is 10 ms (the maximum)");
    p.interval_ns = 1 * S;
    p.heartbeat_ns = 0;
    p.grid_ns = 10 * MS;
    sched_start(&s, &p, t0 + 4 * MS, 0, 0);
    ok(sched_wake(&s, &p) == t0 + S, "grid 10 ms: a start at t0 + 4 ms is rounded down to t0");
    sched_start(&s, &p, t0 + 6 * MS, 0, 0);
    ok(sched_wake(&s, &p) == t0 + S + 10 * MS,
       "grid 10 ms: a start at t0 + 6 ms is rounded up to t0 + 10 ms");
    sched_start(&s, &p, t0 - 4 * MS, 0, 0);
    ok(sched_wake(&s, &p) == t0 + S, "grid 10 ms: a start at t0 - 4 ms is rounded up to t0");
    lcg_state = 7;
    one_each = 1;
    for (k = 0; k < 1000; k++) {
        long long start = t0 + (long long)(lcg() % (100 * 1000000ULL));
        long long shift;
        sched_start(&s, &p, start, 0, 0);
        shift = sched_wake(&s, &p) - (start + p.interval_ns);
        if (shift < -p.grid_ns / 2 || shift > p.grid_ns / 2 || (sched_wake(&s, &p) % p.grid_ns))
            one_each = 0;
        len = due(&s, &p, sched_wake(&s, &p), &ev);
        if (ev != 1)
            one_each = 0;
        if (sched_wake(&s, &p) - (start + 2 * p.interval_ns) < -p.grid_ns / 2 ||
            sched_wake(&s, &p) - (start + 2 * p.interval_ns) > p.grid_ns / 2)
            one_each = 0;
    }
    ok(one_each, "grid 10 ms: 1000 random starts move by at most half a step, on the grid, "
                 "interval unchanged");
    p.grid_ns = 0;

    ok(out_violations == 0, "output never exceeded SCHED_OUT_MAX (%d violations)",
       out_violations);
}

int main(void)
{
    out = malloc(SCHED_OUT_MAX + CANARY_LEN);
    if (!out)
        abort();
    test_schedule();
    free(out);
    return done_testing();
}
