/* test_admit.c -- unit tests of admit: stream slots (take, give) and the default --max-streams (pure).
 * Limits: admit_memory_budget reads the machine (/proc, cgroup), so it is only checked to be
 * sane, not exact; the cost of a stream is checked against its documented parts. */
#include "config.h"

#include "stream/admit.h"
#include "http/stats.h"
#include "stream/stream.h"

#include <string.h>

#include "tap.h"

int main(void)
{
    struct stats st;
    unsigned long long c0, c1;
    int r1, r2, r3;

    /* ---- slots */
    memset(&st, 0, sizeof st);
    st.max_streams = 2;
    r1 = admit_take(&st, STATS_COUNTER);
    r2 = admit_take(&st, STATS_COUNTER);
    ok(r1 == 1 && r2 == 1 && st.streams_open == 2 && st.streams_total == 2,
       "two slots of two: taken, both counted");
    r3 = admit_take(&st, STATS_COUNTER);
    ok(r3 == 0 && st.streams_open == 2 && st.streams_total == 2 && st.streams_refused == 1,
       "a third: refused and counted as refused only");
    admit_give(&st, STATS_COUNTER);
    ok(st.streams_open == 1 && st.streams_total == 2, "one given back: one open");
    ok(admit_take(&st, STATS_COUNTER) == 1 && st.streams_open == 2 && st.streams_total == 3,
       "the slot given back is taken again");
    ok(admit_take(&st, STATS_COUNTER) == 0 && st.streams_refused == 2, "full again: refused");
    admit_give(&st, STATS_COUNTER);
    admit_give(&st, STATS_COUNTER);
    ok(st.streams_open == 0, "all given back: none open");
    admit_give(&st, STATS_COUNTER);
    ok(st.streams_open == 0, "a give too many does not wrap around");
    ok(st.streams_total == 3 && st.streams_refused == 2, "totals are kept across it all");
    memset(&st, 0, sizeof st);
    ok(admit_take(&st, STATS_COUNTER) == 0 && st.streams_open == 0 && st.streams_refused == 1,
       "max_streams 0: every stream refused");
    st.max_streams = 1;
    ok(admit_take(&st, STATS_COUNTER) == 1 && admit_take(&st, STATS_COUNTER) == 0 && st.streams_open == 1,
       "max_streams 1: one, then refused");
    st.max_streams = 0; /* lowered below what is open */
    ok(admit_take(&st, STATS_COUNTER) == 0 && st.streams_open == 1, "open beyond max: still refused");
    admit_give(&st, STATS_COUNTER);
    ok(st.streams_open == 0, "... and the open one is given back");

    /* ---- by kind: each counted in its own, the sums as before */
    memset(&st, 0, sizeof st);
    st.max_streams = 3;
    ok(admit_take(&st, STATS_CHANNEL) == 1 && admit_take(&st, STATS_MERCURE) == 1 &&
           admit_take(&st, STATS_CHANNEL) == 1 && admit_take(&st, STATS_PROGRAM) == 0,
       "kinds share one max_streams: the fourth, a program, is refused");
    ok(st.open_kind[STATS_CHANNEL] == 2 && st.open_kind[STATS_MERCURE] == 1 &&
           st.open_kind[STATS_PROGRAM] == 0 && st.open_kind[STATS_COUNTER] == 0 &&
           st.total_kind[STATS_CHANNEL] == 2 && st.total_kind[STATS_MERCURE] == 1 &&
           st.total_kind[STATS_PROGRAM] == 0 && st.streams_open == 3 && st.streams_refused == 1,
       "open and total by kind: channel 2, mercure 1, program 0 (refused is not served)");
    {
        struct stream s;
        memset(&s, 0, sizeof s);
        s.kind = STATS_MERCURE;
        admit_ended(&st, &s);
        ok(st.open_kind[STATS_MERCURE] == 0 && st.open_kind[STATS_CHANNEL] == 2 &&
               st.total_kind[STATS_MERCURE] == 1 && st.streams_open == 2,
           "admit_ended gives back the slot of the stream's kind; totals stay");
        s.kind = STATS_MERCURE;
        admit_ended(&st, &s);
        ok(st.open_kind[STATS_MERCURE] == 0 && st.streams_open == 1,
           "a kind given back too often does not wrap around");
    }

    /* ---- the cost of a stream */
    c0 = admit_stream_cost(0);
    c1 = admit_stream_cost(1000);
    ok(c0 >= sizeof(struct stream) + 8192, "cost without a send buffer: the stream and an 8 KB "
       "writer at least (%llu)", c0);
    ok(c1 - c0 == 2000, "the kernel may double SO_SNDBUF: 1000 bytes cost 2000 more");
    ok(admit_stream_cost(4UL * 1024 * 1024 * 1024) - c0 == 8ULL * 1024 * 1024 * 1024,
       "no overflow with a 4 GiB send buffer");

    /* ---- the default --max-streams */
    ok(admit_default_max(1024, 64, 1ULL << 40, 1000) == 960,
       "1024 files, 64 kept: 960 (memory plenty)");
    ok(admit_default_max(1 << 20, 64, 100000, 1000) == 100, "memory for 100: 100 (files plenty)");
    ok(admit_default_max(1 << 20, 64, 100999, 1000) == 100, "memory is rounded down");
    ok(admit_default_max(128, 64, 1ULL << 40, 1000) == 64,
       "128 files, 64 kept (not more than twice): half of them, 64");
    ok(admit_default_max(129, 64, 1ULL << 40, 1000) == 65, "129 files: 129 - 64");
    ok(admit_default_max(100, 64, 1ULL << 40, 1000) == 50, "100 files, 64 kept: half, 50");
    ok(admit_default_max(1, 64, 1ULL << 40, 1000) == 1, "1 file: at least 1");
    ok(admit_default_max(0, 0, 0, 0) == 1, "nothing at all: at least 1");
    ok(admit_default_max(1 << 20, 64, 10, 1000) == 1, "memory for less than one: 1");
    ok(admit_default_max(5000, 64, 0, 0) == 4936, "cost 0: files decide");
    ok(admit_default_max(~0ULL, 64, ~0ULL, 1) == 1000000, "everything unlimited: 1000000 at most");
    ok(admit_default_max(2000000, 64, 1ULL << 40, 1) == 1000000, "2 million files: 1000000");
    ok(admit_default_max(1000064, 64, ~0ULL, 1) == 1000000, "exactly 1000000 allowed: 1000000");
    ok(admit_default_max(1 << 20, 64, 1ULL << 30, admit_stream_cost(65536)) ==
           (unsigned long)((1ULL << 30) / admit_stream_cost(65536)),
       "1 GiB at the cost of 64 KiB send buffers: %lu",
       admit_default_max(1 << 20, 64, 1ULL << 30, admit_stream_cost(65536)));

    /* ---- the memory budget (reads the machine) */
    c0 = admit_memory_budget();
    ok(c0 > 0, "a memory budget can be read here: %llu MiB", c0 >> 20);
    ok(admit_memory_budget() == c0, "and it reads the same twice");
    return done_testing();
}
