/* test_sched.c -- unit tests of sched (the schedule), theap (deadline heap) and stats_json.
 * Limits of the helpers: times are plain nanosecond numbers, no clock is read; the heap
 * test uses a fixed-seed LCG so every run is the same. */
#include "config.h"

#include "sched.h"
#include "stats.h"
#include "theap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#define S 1000000000LL

/* The ids of the events in buf, as written by sched_due; returns how many. */
static int ids(const char *buf, size_t len, unsigned long long *out, int max)
{
    static char text[SCHED_OUT_MAX + 1];
    int n = 0;
    size_t i = 0;

    /* sscanf needs a string: sched_due's output is not NUL-terminated */
    memcpy(text, buf, len);
    text[len] = '\0';
    buf = text;
    while (i < len && n < max) {
        unsigned long long id, data;
        int used = 0;
        if (sscanf(buf + i, "id: %llu\ndata: Count: [%llu]\n\n%n", &id, &data, &used) != 2 ||
            used == 0 || id != data)
            return -1;
        out[n++] = id;
        i += (size_t)used;
    }
    return i == len ? n : -1;
}

int main(void)
{
    struct sched_params p = { 1 * S, 0 };
    struct sched s;
    char buf[SCHED_OUT_MAX];
    unsigned long long got[64];
    unsigned long ev;
    long long t0 = 1000 * S, now;
    size_t len;
    int i, total, consecutive;

    sched_start(&s, &p, t0, 0, 0);
    ok(sched_wake(&s, &p) == t0 + S, "first event due one interval after the start");
    len = sched_due(&s, &p, t0 + S - 1, buf, &ev);
    ok(len == 0 && ev == 0, "nothing due before it");
    len = sched_due(&s, &p, t0 + S, buf, &ev);
    ok(ev == 1 && len == 24 && memcmp(buf, "id: 0\ndata: Count: [0]\n\n", 24) == 0,
       "event 0 exactly at t0 + interval");
    len = sched_due(&s, &p, t0 + 2 * S + 400000000LL, buf, &ev);
    ok(ev == 1 && ids(buf, len, got, 64) == 1 && got[0] == 1, "event 1, written late");
    ok(sched_wake(&s, &p) == t0 + 3 * S, "the next deadline does not move with lateness");

    /* 60 s of slightly late wake-ups: exactly 60 events, consecutive, no drift */
    sched_start(&s, &p, t0, 0, 0);
    total = 0;
    consecutive = 1;
    for (i = 0; i < 60; i++) {
        int k, n;
        now = sched_wake(&s, &p) + 3000000LL; /* 3 ms late, every time */
        len = sched_due(&s, &p, now, buf, &ev);
        n = ids(buf, len, got, 64);
        for (k = 0; k < n; k++)
            if (got[k] != (unsigned long long)(total + k))
                consecutive = 0;
        total += n > 0 ? n : 0;
    }
    ok(total == 60 && consecutive, "60 s: 60 events, ids 0..59 consecutive (%d)", total);
    ok(sched_wake(&s, &p) == t0 + 61 * S, "60 s: still on the absolute grid");

    /* catch-up */
    sched_start(&s, &p, t0, 0, 0);
    len = sched_due(&s, &p, t0 + 10 * S + S / 2, buf, &ev);
    ok(ev == 10 && ids(buf, len, got, 64) == 10 && got[0] == 0 && got[9] == 9,
       "10.5 intervals late: ten events, in order, in one buffer");
    sched_start(&s, &p, t0, 0, 0);
    len = sched_due(&s, &p, t0 + 100 * S, buf, &ev);
    ok(ev == SCHED_BURST && len <= SCHED_OUT_MAX, "100 overdue: SCHED_BURST at a time");
    ok(sched_wake(&s, &p) <= t0 + 100 * S, "the rest is due at once");
    len = sched_due(&s, &p, t0 + 100 * S, buf, &ev);
    ok(ev == SCHED_BURST && ids(buf, len, got, 64) == SCHED_BURST && got[0] == SCHED_BURST,
       "then the next SCHED_BURST, continuing the ids");

    /* limit and resume */
    sched_start(&s, &p, t0, 42, 3);
    len = sched_due(&s, &p, t0 + 2 * S, buf, &ev);
    ok(ev == 2 && ids(buf, len, got, 64) == 2 && got[0] == 42 && got[1] == 43 && !sched_done(&s),
       "resume at 42: 42, 43");
    len = sched_due(&s, &p, t0 + 9 * S, buf, &ev);
    ok(ev == 1 && ids(buf, len, got, 64) == 1 && got[0] == 44 && sched_done(&s),
       "limit 3: the third event, then done");
    len = sched_due(&s, &p, t0 + 20 * S, buf, &ev);
    ok(ev == 0 && len == 0, "limit 3: nothing after it");
    {
        unsigned long long big = 18446744073709551615ULL;
        sched_start(&s, &p, t0, big - 1, 0);
        len = sched_due(&s, &p, t0 + S, buf, &ev);
        ok(ev == 1 && ids(buf, len, got, 64) == 1 && got[0] == big - 1, "ids up to 2^64-2 fit");
    }

    /* heartbeat */
    p.interval_ns = 60 * S;
    p.heartbeat_ns = 15 * S;
    sched_start(&s, &p, t0, 0, 0);
    ok(sched_wake(&s, &p) == t0 + 15 * S, "heartbeat: wake after 15 s of silence");
    len = sched_due(&s, &p, t0 + 15 * S, buf, &ev);
    ok(ev == 0 && len > 0 && buf[0] == ':' && buf[len - 1] == '\n' && !memchr(buf, '\n', len - 1),
       "heartbeat: one comment line, no event");
    ok(sched_wake(&s, &p) == t0 + 30 * S, "heartbeat: next one 15 s later");
    len = sched_due(&s, &p, t0 + 20 * S, buf, &ev);
    ok(len == 0, "heartbeat: nothing in between");
    len = sched_due(&s, &p, t0 + 60 * S, buf, &ev);
    ok(ev == 1 && buf[0] == 'i', "heartbeat: the event, not a comment, when both are due");
    ok(sched_wake(&s, &p) == t0 + 75 * S, "heartbeat: counted from the last output");
    p.heartbeat_ns = 0;
    sched_start(&s, &p, t0, 0, 0);
    ok(sched_wake(&s, &p) == t0 + 60 * S, "heartbeat 0: off");

    /* theap */
    {
        enum { N = 1000 };
        struct theap h;
        struct theap_node *nodes = calloc(N, sizeof *nodes), *n;
        unsigned long long lcg = 12345;
        long long prev = -1;
        int sorted = 1, count = 0;

        theap_init(&h);
        for (i = 0; i < N; i++) {
            lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
            nodes[i].due = (long long)(lcg >> 33) % 100000;
            nodes[i].index = THEAP_NONE;
            if (theap_push(&h, &nodes[i]) < 0)
                break;
        }
        ok(h.len == N, "heap: %d pushed", N);
        theap_remove(&h, &nodes[500]);
        theap_remove(&h, &nodes[500]);
        ok(h.len == N - 1 && nodes[500].index == THEAP_NONE, "heap: remove twice is harmless");
        nodes[10].due = -5;
        theap_update(&h, &nodes[10]);
        ok(theap_min(&h) == &nodes[10], "heap: update moves a node to the front");
        nodes[10].due = 200000;
        theap_update(&h, &nodes[10]);
        while ((n = theap_min(&h))) {
            if (n->due < prev)
                sorted = 0;
            prev = n->due;
            theap_remove(&h, n);
            count++;
        }
        ok(sorted && count == N - 1, "heap: pops in nondecreasing order (%d)", count);
        ok(prev == 200000, "heap: the updated node comes last");
        ok(theap_min(&h) == NULL, "heap: empty at the end");
        theap_release(&h);
        free(nodes);
    }

    /* stats_json */
    {
        struct stats_view v = { 1, 2, 3, 4, 5, 6, 7 };
        char json[512];
        int n = stats_json(&v, json, sizeof json);
        const char *keys[] = { "\"streams_open\":1", "\"streams_total\":2", "\"events_sent\":3",
                               "\"streams_dropped_slow\":4", "\"streams_refused\":5",
                               "\"max_streams\":6", "\"uptime_s\":7", "\"version\":\"" };
        int all = n > 0;
        for (i = 0; i < 8; i++)
            if (!strstr(json, keys[i]))
                all = 0;
        ok(all && json[0] == '{' && json[n - 1] == '\n', "stats_json: every key: %s", json);
        ok(stats_json(&v, json, 20) == -1, "stats_json: -1 when it does not fit");
    }
    return done_testing();
}
