/* test_uuid.c -- unit tests of uuid: UUIDv7 ids made from MS-SEQ and read back, their order, UUIDv4 */
/* The expected texts were worked out by hand from RFC 9562 5.7 (48-bit ms, version 7, 12
 * bits of rand_a, variant 10, 62 bits of rand_b: here the counter seq) and checked with
 * Python's uuid module (version 7, variant RFC 4122). */
#include "config.h"

#include "mercure/uuid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

static void v7(unsigned long long ms, unsigned long long seq, const char *want)
{
    char out[UUID_URN_MAX];
    unsigned long long ms2 = 1, seq2 = 1;
    size_t n;

    memset(out, 'x', sizeof out);
    n = uuid_from_msgid(out, ms, seq);
    ok(n == 45 && strlen(out) == 45 && strcmp(out, want) == 0, "%llu-%llu is %s (got %s)", ms,
       seq, want, out);
    ok(uuid_to_msgid(want, strlen(want), &ms2, &seq2) == 0 && ms2 == ms && seq2 == seq,
       "%s reads back as %llu-%llu (got %llu-%llu)", want, ms, seq, ms2, seq2);
}

static void not_ours(const char *s, const char *what)
{
    unsigned long long ms = 7, seq = 7;

    ok(uuid_to_msgid(s, strlen(s), &ms, &seq) == -1 && ms == 7 && seq == 7, "refused: %s",
       what);
}

/* Generated ids sort as their (ms, seq) do, in a byte comparison of the text. */
static void test_order(void)
{
    static const unsigned long long ids[][2] = {
        { 0, 0 }, { 0, 1 }, { 0, 255 }, { 0, 256 }, { 0, (1ULL << 56) - 1 }, { 0, 1ULL << 56 },
        { 0, (1ULL << 62) - 1 }, { 0, 1ULL << 62 }, { 0, (1ULL << 63) - 1 }, { 1, 0 },
        { 255, 3 }, { 256, 0 }, { 1700000000123ULL, 5 }, { 1700000000124ULL, 0 },
        { (1ULL << 48) - 1, 0 }, { (1ULL << 48) - 1, (1ULL << 63) - 1 },
    };
    char a[UUID_URN_MAX], b[UUID_URN_MAX];
    size_t i, sorted = 1;

    for (i = 1; i < sizeof ids / sizeof ids[0]; i++) {
        uuid_from_msgid(a, ids[i - 1][0], ids[i - 1][1]);
        uuid_from_msgid(b, ids[i][0], ids[i][1]);
        if (strcmp(a, b) >= 0) {
            diag("%s is not before %s", a, b);
            sorted = 0;
        }
    }
    ok(sorted, "ids sort as (ms, seq) do, across every byte boundary of both");
}

static void test_v4(void)
{
    unsigned char r[16];
    char out[UUID_URN_MAX];
    unsigned long long ms, seq;
    size_t i;

    for (i = 0; i < 16; i++)
        r[i] = (unsigned char)i;
    ok(uuid_v4(out, r) == 45 && strcmp(out, "urn:uuid:00010203-0405-4607-8809-0a0b0c0d0e0f") == 0,
       "v4 of 00..0f (got %s)", out);
    memset(r, 0xff, sizeof r);
    ok(uuid_v4(out, r) == 45 && strcmp(out, "urn:uuid:ffffffff-ffff-4fff-bfff-ffffffffffff") == 0,
       "v4 of ff..ff (got %s)", out);
    ok(uuid_to_msgid(out, 45, &ms, &seq) == -1, "a v4 is no message id");
}

int main(void)
{
    v7(1700000000123ULL, 5, "urn:uuid:018bcfe5-687b-7000-8000-000000000005");
    v7(0, 0, "urn:uuid:00000000-0000-7000-8000-000000000000");
    v7((1ULL << 48) - 1, (1ULL << 63) - 1, "urn:uuid:ffffffff-ffff-7001-bfff-ffffffffffff");
    v7(1712345678901ULL, (1ULL << 62) + 7, "urn:uuid:018eafc1-8435-7001-8000-000000000007");
    test_order();

    {
        unsigned long long ms = 0, seq = 0;
        const char *s = "URN:UUID:018BCFE5-687B-7000-8000-000000000005";

        ok(uuid_to_msgid(s, strlen(s), &ms, &seq) == 0 && ms == 1700000000123ULL && seq == 5,
           "either case reads back");
        ok(uuid_to_msgid(s, strlen(s) - 1, &ms, &seq) == -1, "len is respected");
    }
    not_ours("018bcfe5-687b-7000-8000-000000000005", "no urn:uuid: prefix");
    not_ours("urn:uuid:018bcfe5-687b-6000-8000-000000000005", "version 6");
    not_ours("urn:uuid:018bcfe5-687b-4000-8000-000000000005", "version 4");
    not_ours("urn:uuid:018bcfe5-687b-7000-c000-000000000005", "variant 11");
    not_ours("urn:uuid:018bcfe5-687b-7000-0000-000000000005", "variant 0");
    not_ours("urn:uuid:018bcfe5-687b-7002-8000-000000000000", "a counter of 2^63");
    not_ours("urn:uuid:018bcfe5-687b-7fff-8000-000000000000", "a counter of 2^74 - 2^62");
    not_ours("urn:uuid:018bcfe5687b-7000-8000-0000000000050", "hyphens misplaced");
    not_ours("urn:uuid:018bcfe5-687b-7000-8000-00000000000g", "a non-hex digit");
    not_ours("urn:uuid:018bcfe5-687b-7000-8000-0000000000050", "one digit too many");
    not_ours("urn:uuid:{18bcfe5-687b-7000-8000-000000000005", "a brace");
    not_ours("urn:uuid:018bcfe5-687b-7000-8000-00000000000", "one digit short");
    not_ours("", "empty");
    not_ours("#1-2", "a fragment id");
    test_v4();
    return done_testing();
}
