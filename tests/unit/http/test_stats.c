/* test_stats.c -- unit tests of stats: the /status JSON (every counter, the largest values, the
 * buffer bound) and stats_read's copy of the counters */
#include "config.h"

#include "http/stats.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"

static void test_stats(void)
{
    static const char *const keys[] = { "streams_open", "streams_total", "events_sent",
                                        "streams_dropped_slow", "streams_refused", "uptime_s",
                                        "max_streams", "version", "runs_running",
                                        "runs_started", "runs_failed", "runs_refused",
                                        "run_events", "mercure_subscribers",
                                        "mercure_published", "mercure_delivered" };
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
    v.open_kind[STATS_MERCURE] = 13;
    v.mercure_published = 14;
    v.mercure_delivered = 15;
    n = stats_json(&v, json, sizeof json);
    ok(n > 0 && (size_t)n == strlen(json) && json[0] == '{' && n >= 2 && json[n - 2] == '}' &&
           json[n - 1] == '\n' && strchr(json, '\n') == json + n - 1,
       "stats_json: one object and one newline, length returned (%d)", n);
    {
        static const char *const vals[] = { "1", "2", "3", "4", "5", "7", "6",
                                            "\"" PACKAGE_VERSION "\"", "8", "9", "10", "11",
                                            "12", "13", "14", "15" };
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
    v.open_kind[STATS_MERCURE] = v.mercure_published = v.mercure_delivered = ULONG_MAX;
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
    test_stats();
    return done_testing();
}
