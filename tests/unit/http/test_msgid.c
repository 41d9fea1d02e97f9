/* test_msgid.c -- unit tests of msgid: MS-SEQ ids parsed, formatted, compared, and always
 * increasing under a clock that stays, moves on or steps back */
/* Limits: time is passed in by hand (no clock is read); the random clock is a fixed-seed LCG. */
#include "config.h"

#include "http/msgid.h"

#include <stdio.h>
#include <string.h>

#include "tap.h"

static struct msgid mid(unsigned long long ms, unsigned long long seq)
{
    struct msgid id;

    id.ms = ms;
    id.seq = seq;
    return id;
}

static const char *fmt(struct msgid id, char *buf)
{
    msgid_format(buf, id);
    return buf;
}

static void test_msgid(void)
{
    static const struct {
        const char *s;
        unsigned long long ms, seq;
    } good[] = {
        { "0-0", 0, 0 },
        { "1-2", 1, 2 },
        { "1700000000000-5", 1700000000000ULL, 5 },
        { "007-010", 7, 10 },
        { "0000000000000000000001-0", 1, 0 },
        { "1-000000000000000000000000000007", 1, 7 },
        { "9223372036854775807-9223372036854775807", 9223372036854775807ULL,
          9223372036854775807ULL },
    };
    static const char *bad[] = {
        "", "-", "1", "12", "-1", "1-", "-1-2", "+1-2", "1-+2", "1--2", " 1-2", "1-2 ",
        "1 -2", "1- 2", "1-2x", "x1-2", "1-2-3", "1_2", "1.0-2", "0x1-2", "a-b", "1-2\n",
        "\t1-2", "9223372036854775808-0", "0-9223372036854775808", "18446744073709551616-0",
        "0-18446744073709551615", "99999999999999999999999-0",
    };
    static const struct msgid ids[] = {
        { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1700000000000ULL, 0 }, { 1700000000000ULL, 42 },
        { 9223372036854775807ULL, 9223372036854775807ULL },
    };
    size_t i;
    char buf[MSGID_STR_MAX];

    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct msgid id = mid(99, 99);
        int rc = msgid_parse(good[i].s, &id);
        ok(rc == 0 && id.ms == good[i].ms && id.seq == good[i].seq,
           "msgid_parse \"%s\": %llu-%llu (got rc %d, %llu-%llu)", good[i].s, good[i].ms,
           good[i].seq, rc, id.ms, id.seq);
    }
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct msgid id = mid(99, 98);
        int rc = msgid_parse(bad[i], &id);
        ok(rc == -1 && id.ms == 99 && id.seq == 98,
           "msgid_parse refuses \"%s\" and leaves *out alone (got rc %d)",
           bad[i][0] == '\t' ? "\\t1-2" : bad[i][strlen(bad[i]) ? strlen(bad[i]) - 1 : 0] == '\n'
                                              ? "1-2\\n" : bad[i],
           rc);
    }
    for (i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        struct msgid back = mid(5, 5);
        char want[64];
        size_t n = msgid_format(buf, ids[i]);
        snprintf(want, sizeof want, "%llu-%llu", ids[i].ms, ids[i].seq);
        ok(n == strlen(want) && strcmp(buf, want) == 0 && msgid_parse(buf, &back) == 0 &&
               msgid_cmp(back, ids[i]) == 0,
           "msgid_format %s: length %zu, parses back to the same id", want, strlen(want));
    }
    ok(msgid_format(buf, mid(18446744073709551615ULL, 18446744073709551615ULL)) ==
               MSGID_STR_MAX - 1 &&
           strlen(buf) == MSGID_STR_MAX - 1,
       "msgid_format of the largest ids fits MSGID_STR_MAX with its NUL");

    ok(msgid_cmp(mid(1, 5), mid(2, 0)) < 0 && msgid_cmp(mid(2, 0), mid(1, 5)) > 0,
       "msgid_cmp: ms orders first (1-5 < 2-0)");
    ok(msgid_cmp(mid(2, 0), mid(2, 1)) < 0 && msgid_cmp(mid(2, 1), mid(2, 0)) > 0,
       "msgid_cmp: then seq (2-0 < 2-1)");
    ok(msgid_cmp(mid(2, 1), mid(2, 1)) == 0 && msgid_cmp(mid(0, 0), mid(0, 0)) == 0,
       "msgid_cmp: equal ids give 0");
    ok(msgid_cmp(mid(9223372036854775807ULL, 0), mid(0, 9223372036854775807ULL)) > 0,
       "msgid_cmp: a large seq does not outweigh a larger ms");
    ok(msgid_is_zero(mid(0, 0)) && !msgid_is_zero(mid(0, 1)) && !msgid_is_zero(mid(1, 0)),
       "msgid_is_zero: only 0-0");

    {
        struct msgid last = mid(100, 5), a, b, c, d;
        a = msgid_next(&last, 100);
        ok(a.ms == 100 && a.seq == 6 && msgid_cmp(last, a) == 0,
           "msgid_next, clock stays: 100-5 -> 100-6 (got %s), stored in *last", fmt(a, buf));
        b = msgid_next(&last, 101);
        ok(b.ms == 101 && b.seq == 0, "msgid_next, clock moves on: -> 101-0 (got %s)",
           fmt(b, buf));
        c = msgid_next(&last, 50);
        ok(c.ms == 101 && c.seq == 1, "msgid_next, clock steps back to 50: -> 101-1 (got %s)",
           fmt(c, buf));
        d = msgid_next(&last, 101);
        ok(d.ms == 101 && d.seq == 2, "msgid_next, clock back at 101: -> 101-2 (got %s)",
           fmt(d, buf));
    }
    {
        /* a clock that stays, moves on and steps back, at random */
        struct msgid last = mid(1000, 0), prev = last;
        unsigned long long now = 1000;
        unsigned seed = 12345;
        int all = 1;
        for (i = 0; i < 100000; i++) {
            struct msgid id;
            seed = seed * 1103515245u + 12345u;
            switch ((seed >> 16) % 4) {
            case 0: break;
            case 1: now += (seed >> 8) % 3; break;
            case 2: now -= now > 10 ? (seed >> 8) % 10 : 0; break;
            default: now += 1; break;
            }
            id = msgid_next(&last, now);
            if (msgid_cmp(id, prev) <= 0 || msgid_cmp(id, last) != 0) {
                all = 0;
                break;
            }
            prev = id;
        }
        ok(all, "msgid_next: 100000 ids strictly increasing under a clock that stays, moves on "
                "and steps back (stopped at %zu)", i);
    }
    {
        struct msgid last = mid(0, 0), a;
        char want[MSGID_STR_MAX];

        a = msgid_next(&last, 0);
        ok(a.ms == 0 && a.seq == 1 && !msgid_is_zero(a),
           "msgid_next from 0-0 with the clock at 0: 0-1, never 0-0 (got %s)", fmt(a, buf));
        a = msgid_next(&last, 1700000000123ULL);
        ok(a.ms == 1700000000123ULL && a.seq == 0 && msgid_cmp(last, a) == 0,
           "msgid_next with the clock far ahead: (now, 0) (got %s)", fmt(a, buf));
        snprintf(want, sizeof want, "%llu-%llu", a.ms, a.seq);
        ok(strcmp(fmt(a, buf), "1700000000123-0") == 0 && strcmp(buf, want) == 0,
           "msgid_format: MS-SEQ in decimal, no padding (%s)", buf);
    }
    {
        /* msgid_cmp is a total order: antisymmetric and transitive over a sample */
        static const struct msgid v[] = { { 0, 0 }, { 0, 1 }, { 0, 9 }, { 1, 0 }, { 1, 1 },
                                          { 2, 0 }, { 9223372036854775807ULL, 0 } };
        size_t a, b, n = sizeof v / sizeof v[0];
        int all = 1;

        for (a = 0; a < n; a++)
            for (b = 0; b < n; b++) {
                int c = msgid_cmp(v[a], v[b]);
                if ((a < b && c >= 0) || (a > b && c <= 0) || (a == b && c != 0) ||
                    (c > 0) != (msgid_cmp(v[b], v[a]) < 0))
                    all = 0;
            }
        ok(all, "msgid_cmp: %zu ids in order compare as their order, both ways", n);
    }
}

int main(void)
{
    test_msgid();
    return done_testing();
}
