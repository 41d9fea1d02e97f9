/* test_sched.c -- unit tests of sched, heap and stats: the pure per-stream schedule, the deadline heap, the status JSON */
/* Limits of the helpers: times are plain nanosecond numbers (no clock is read); expected
 * output is rebuilt from the documented format ("id: N\ndata: Count: [N]\n\n"), and
 * a heartbeat is only checked to be comment lines, not its text; the output buffer has
 * a canary after SCHED_OUT_MAX bytes, so an overrun is counted, not necessarily caught
 * at once; the heap tests draw due times from a fixed-seed LCG so every run is the same. */
#include "config.h"

#include "sources/schedule.h"
#include "http/stats.h"
#include "core/heap.h"

#include <limits.h>
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

/* Pops everything via heap_min + heap_remove; returns how many, *sorted = nondecreasing,
 * *unqueued = every popped node got index HEAP_NONE. */
static size_t drain(struct heap *h, int *sorted, int *unqueued, long long *last)
{
    struct heap_node *n;
    long long prev = LLONG_MIN;
    size_t count = 0;

    *sorted = 1;
    *unqueued = 1;
    while ((n = heap_min(h)) != NULL) {
        if (n->due < prev)
            *sorted = 0;
        prev = n->due;
        heap_remove(h, n);
        if (n->index != HEAP_NONE)
            *unqueued = 0;
        if (++count > 1000000)
            break; /* a broken remove would loop forever */
    }
    if (last)
        *last = prev;
    return count;
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

/* Sorts long longs (for the median). */
static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;

    return (x > y) - (x < y);
}

/* Fills nodes[0..n) with LCG dues in [0, range) and pushes them all; 1 when every push
 * succeeded and queued its node. */
static int push_random(struct heap *h, struct heap_node *nodes, size_t n, unsigned long range)
{
    size_t i;
    int all = 1;

    for (i = 0; i < n; i++) {
        nodes[i].due = (long long)(lcg() % range);
        nodes[i].index = HEAP_NONE;
        if (heap_push(h, &nodes[i]) != 0 || nodes[i].index == HEAP_NONE)
            all = 0;
    }
    return all;
}

static void test_theap(void)
{
    enum { N = 1000 };
    struct heap h;
    struct heap_node *nodes = calloc(N, sizeof *nodes), *n, lone;
    long long *dues = calloc(N, sizeof *dues);
    char *removed = calloc(N, 1);
    size_t i, count, len_before, mid;
    int all, sorted, unqueued;
    long long min, last;

    if (!nodes || !dues || !removed)
        abort();

    heap_init(&h);
    ok(heap_min(&h) == NULL && h.len == 0, "heap: empty after init, heap_min NULL");

    /* 1000 random nodes, with duplicates and negative dues */
    lcg_state = 2024;
    all = 1;
    min = LLONG_MAX;
    for (i = 0; i < N; i++) {
        nodes[i].due = (long long)(lcg() % 5000) - 1000;
        nodes[i].index = HEAP_NONE;
        if (nodes[i].due < min)
            min = nodes[i].due;
        if (heap_push(&h, &nodes[i]) != 0 || nodes[i].index == HEAP_NONE)
            all = 0;
    }
    ok(all && h.len == N, "heap: 1000 pushes (fixed-seed LCG dues) succeed, every node queued");
    ok(heap_min(&h) && heap_min(&h)->due == min, "heap: heap_min is the minimum (%lld)", min);
    count = drain(&h, &sorted, &unqueued, NULL);
    ok(count == N && sorted, "heap: heap_min + heap_remove pop 1000 nodes in nondecreasing order");
    ok(unqueued, "heap: every popped node has index HEAP_NONE");
    ok(heap_min(&h) == NULL && h.len == 0, "heap: empty after popping all");

    /* remove from the middle: the node of median due, then every third node */
    push_random(&h, nodes, N, 100000);
    for (i = 0; i < N; i++)
        dues[i] = nodes[i].due;
    qsort(dues, N, sizeof *dues, cmp_ll);
    for (mid = 0; mid < N && nodes[mid].due != dues[N / 2]; mid++)
        ;
    heap_remove(&h, &nodes[mid]);
    removed[mid] = 1;
    count = drain(&h, &sorted, &unqueued, NULL);
    ok(nodes[mid].index == HEAP_NONE && count == N - 1 && sorted,
       "heap: after removing the median node, 999 pop in order");

    memset(removed, 0, N);
    push_random(&h, nodes, N, 100000);
    count = 0;
    for (i = 1; i < N; i += 3) {
        heap_remove(&h, &nodes[i]);
        removed[i] = 1;
        count++;
    }
    all = 1;
    for (i = 0; i < N; i++)
        if ((nodes[i].index == HEAP_NONE) != (removed[i] != 0))
            all = 0;
    ok(all && h.len == N - count,
       "heap: %zu removals from anywhere: exactly the removed nodes are unqueued", count);
    {
        int none_removed = 1;
        struct heap_node *m;
        long long prev = LLONG_MIN;
        size_t popped = 0;
        sorted = 1;
        while ((m = heap_min(&h)) != NULL && popped <= N) {
            if (removed[m - nodes])
                none_removed = 0;
            if (m->due < prev)
                sorted = 0;
            prev = m->due;
            heap_remove(&h, m);
            popped++;
        }
        ok(sorted && none_removed && popped == N - count,
           "heap: the rest pops in order, without any removed node (%zu)", popped);
    }

    /* heap_update */
    push_random(&h, nodes, N, 100000);
    nodes[500].due = -1;
    heap_update(&h, &nodes[500]);
    ok(heap_min(&h) == &nodes[500], "heap_update: a node moved earlier than all becomes the minimum");
    nodes[500].due = 1000000;
    heap_update(&h, &nodes[500]);
    ok(heap_min(&h) != &nodes[500] && heap_min(&h)->due < 1000000,
       "heap_update: the minimum moved later is no longer the minimum");
    for (i = 0; i < 300; i++) {
        size_t j = (size_t)(lcg() % N);
        if (j == 500)
            continue;
        nodes[j].due = (long long)(lcg() % 100000);
        heap_update(&h, &nodes[j]);
    }
    min = LLONG_MAX;
    for (i = 0; i < N; i++)
        if (nodes[i].due < min)
            min = nodes[i].due;
    ok(heap_min(&h) && heap_min(&h)->due == min,
       "heap_update: after 300 random changes heap_min is the new minimum");
    count = drain(&h, &sorted, &unqueued, &last);
    ok(count == N && sorted && last == 1000000,
       "heap_update: pops in order, the node moved last comes last");

    /* removing an unqueued node */
    for (i = 0; i < 10; i++) {
        nodes[i].due = (long long)i * 10;
        nodes[i].index = HEAP_NONE;
        heap_push(&h, &nodes[i]);
    }
    lone.due = -100;
    lone.index = HEAP_NONE;
    len_before = h.len;
    heap_remove(&h, &lone);
    ok(h.len == len_before && heap_min(&h) == &nodes[0] && lone.index == HEAP_NONE,
       "heap_remove of a never-queued node: no-op");
    heap_remove(&h, &nodes[3]);
    heap_remove(&h, &nodes[3]);
    ok(h.len == len_before - 1 && nodes[3].index == HEAP_NONE,
       "heap_remove twice: the second is a no-op");
    n = heap_min(&h);
    count = drain(&h, &sorted, &unqueued, &last);
    ok(n == &nodes[0] && count == len_before - 1 && sorted && last == 90,
       "heap: 9 left, in order");

    heap_release(&h);
    ok(h.len == 0 && heap_min(&h) == NULL, "heap_release: empty");
    nodes[0].index = HEAP_NONE;
    ok(heap_push(&h, &nodes[0]) == 0 && heap_min(&h) == &nodes[0],
       "heap: usable again after release");
    heap_release(&h);
    free(removed);
    free(dues);
    free(nodes);
}

static void test_stats(void)
{
    static const char *const keys[] = { "streams_open", "streams_total", "events_sent",
                                        "streams_dropped_slow", "streams_refused", "uptime_s",
                                        "max_streams", "version", "runs_running",
                                        "runs_started", "runs_failed", "runs_refused",
                                        "run_events" };
    enum { NKEYS = sizeof keys / sizeof keys[0] };
    struct stats_view v;
    struct stats st;
    char json[STATS_JSON_MAX], want[64], *p;
    int n, m, all, k;
    size_t cap, i;

    memset(&v, 0, sizeof v);
    v.streams_open = 1;
    v.streams_total = 2;
    v.events_sent = 3;
    v.streams_dropped_slow = 4;
    v.streams_refused = 5;
    v.max_streams = 6;
    v.uptime_s = 7;
    v.runs_running = 8;
    v.runs_started = 9;
    v.runs_failed = 10;
    v.runs_refused = 11;
    v.run_events = 12;
    n = stats_json(&v, json, sizeof json);
    ok(n > 0 && (size_t)n == strlen(json) && json[0] == '{' && n >= 2 && json[n - 2] == '}' &&
           json[n - 1] == '\n' && strchr(json, '\n') == json + n - 1,
       "stats_json: one object and one newline, length returned (%d)", n);
    {
        static const char *const vals[] = { "1", "2", "3", "4", "5", "7", "6",
                                            "\"" PACKAGE_VERSION "\"", "8", "9", "10", "11",
                                            "12" };
        for (k = 0; k < NKEYS; k++) {
            snprintf(want, sizeof want, "\"%s\":%s", keys[k], vals[k]);
            p = n > 0 ? strstr(json, want) : NULL;
            ok(p != NULL && (p[strlen(want)] == ',' || p[strlen(want)] == '}'),
               "stats_json: renders %s", want);
        }
    }
    all = 1;
    for (k = 0; k < NKEYS; k++) {
        char quoted[64];
        snprintf(quoted, sizeof quoted, "\"%s\"", keys[k]);
        p = strstr(json, quoted);
        if (!p || strstr(p + 1, quoted))
            all = 0;
    }
    ok(all, "stats_json: each of the %d keys exactly once", (int)NKEYS);

    v.streams_open = v.streams_total = v.events_sent = v.streams_dropped_slow = ULONG_MAX;
    v.streams_refused = v.max_streams = v.channels = v.messages_published = ULONG_MAX;
    v.events_delivered = v.runs_running = v.runs_started = v.runs_failed = ULONG_MAX;
    v.runs_refused = v.run_events = v.channels_refused = ULONG_MAX;
    v.uptime_s = v.history_bytes = v.held_bytes = v.channel_bytes = ULLONG_MAX;
    v.redis.enabled = v.redis.connected = 1;
    v.redis.reconnects = v.redis.resyncs = v.redis.pending_publishes = ULONG_MAX;
    v.redis.pending_bytes = ULLONG_MAX;
    memset(v.redis.where, 'w', sizeof v.redis.where - 1);
    memset(v.redis.last_error, 'e', sizeof v.redis.last_error - 1);
    m = stats_json(&v, json, sizeof json);
    /* answer.c renders /status into STATS_JSON_MAX bytes */
    ok(m > 0 && m < STATS_JSON_MAX && strstr(json, "\"last_error\":\"eee"),
       "stats_json: every counter at its largest, and the Redis part full, fits /status's "
       "buffer (%d)", m);
    snprintf(want, sizeof want, "\"streams_open\":%lu,", ULONG_MAX);
    ok(m > 0 && strstr(json, want) && strstr(json, "\"uptime_s\":18446744073709551615"),
       "stats_json: the largest values render in full");

    /* too small: -1, nothing past cap */
    all = 1;
    for (cap = 0; m > 0 && cap < (size_t)m; cap++) {
        memset(json, 'Z', sizeof json);
        if (stats_json(&v, json, cap) != -1)
            all = 0;
        for (i = cap; i < sizeof json; i++)
            if (json[i] != 'Z')
                all = 0;
    }
    ok(all, "stats_json: every cap 0..%d returns -1 and writes nothing past cap", m - 1);
    ok(stats_json(&v, json, (size_t)m + 1) == m, "stats_json: cap of length + 1 fits");

    /* stats_read copies the counters */
    memset(&st, 0, sizeof st);
    st.streams_open = 11;
    st.streams_total = 12;
    st.events_sent = 13;
    st.streams_dropped_slow = 14;
    st.streams_refused = 15;
    st.max_streams = 16;
    st.started_ms = 5000;
    st.runs_started = 17;
    st.runs_failed = 18;
    st.runs_refused = 19;
    st.run_events = 20;
    v.runs_running = 21;
    stats_read(&st, &v, 5000 + 61000);
    ok(v.streams_open == 11 && v.streams_total == 12 && v.events_sent == 13 &&
           v.streams_dropped_slow == 14 && v.streams_refused == 15 && v.max_streams == 16 &&
           v.uptime_s == 61,
       "stats_read: copies the counters, uptime 61 s after 61000 ms");
    ok(v.runs_started == 17 && v.runs_failed == 18 && v.runs_refused == 19 &&
           v.run_events == 20 && v.runs_running == 0,
       "stats_read: the program counters; runs_running is the programs' owner's to fill in "
       "(0 here)");
}

int main(void)
{
    out = malloc(SCHED_OUT_MAX + CANARY_LEN);
    if (!out)
        abort();
    test_schedule();
    test_theap();
    test_stats();
    free(out);
    return done_testing();
}
