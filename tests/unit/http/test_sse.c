/* test_sse.c -- unit tests of sse: the event-stream encoder, checked byte for byte and by decoding its output */
/* The output is decoded by tests/unit/sse_decode.h, the decoder fuzz_sse.c uses too. */
#include "config.h"

#include "http/sse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sse_decode.h"
#include "tap.h"

#define CANARY ((char)0x5a)
/* A string literal and its length (without the NUL). */
#define LIT(s) s, sizeof s - 1

/* A buffer surely large enough for ev: each input byte costs at most "\ndata:" (6). */
static size_t roomy(const struct sse_event *ev)
{
    return 7 * ev->data_len + (ev->id ? strlen(ev->id) : 0) +
           (ev->event ? strlen(ev->event) : 0) + 64;
}

/* Encodes ev and decodes it: 1 when it comes back as exactly one event with the same
 * id, type and (line-break-normalised) data, and nothing else in the stream. */
static int roundtrips(const struct sse_event *ev, const char **why)
{
    size_t cap = roomy(ev), want_len;
    char *buf = malloc(cap);
    char *want;
    ssize_t n;
    struct dec d;
    int good = 0;

    if (!buf)
        abort();
    *why = "encode failed";
    n = sse_encode(buf, cap, ev);
    if (n <= 0) {
        free(buf);
        return 0;
    }
    want = normalised(ev->data, ev->data_len, &want_len);
    decode(&d, buf, (size_t)n);
    if (d.events != 1)
        *why = d.events ? "more than one event dispatched" : "no event dispatched";
    else if (d.incomplete || d.pending)
        *why = "stream does not end with a complete event";
    else if (d.comments || d.unknown_lines || d.retry_lines)
        *why = "unexpected lines";
    else if (d.ev[0].data_len != want_len || memcmp(d.ev[0].data, want, want_len) != 0)
        *why = "data differs";
    else if (strcmp(d.ev[0].id, ev->id ? ev->id : "") != 0 || d.id_lines != (ev->id ? 1 : 0))
        *why = "id differs";
    else if (strcmp(d.ev[0].type, ev->event ? ev->event : "message") != 0 ||
             d.event_lines != (ev->event ? 1 : 0))
        *why = "event type differs";
    else {
        *why = "";
        good = 1;
    }
    dec_free(&d);
    free(want);
    free(buf);
    return good;
}

static void roundtrip(const char *name, const char *id, const char *type, const char *data,
                      size_t len)
{
    struct sse_event ev = { id, type, data, len };
    const char *why = "";
    int good = roundtrips(&ev, &why);

    ok(good, "round trip, %s: one event, fields unchanged%s%s", name, good ? "" : " -- ", why);
}

/* One encoder call, for the buffer-size checks. */
struct job {
    int kind; /* 0 event, 1 comment, 2 retry */
    struct sse_event ev;
    const char *text;
    size_t len;
    unsigned long ms;
};

static ssize_t run_job(const struct job *j, char *buf, size_t cap)
{
    switch (j->kind) {
    case 0:
        return sse_encode(buf, cap, &j->ev);
    case 1:
        return sse_comment(buf, cap, j->text, j->len);
    default:
        return sse_retry(buf, cap, j->ms);
    }
}

/* Every cap below the exact size: -1/ENOSPC and nothing written at buf[cap] (a canary;
 * the buffer is exactly cap+1 bytes, so ASan sees anything further). The exact size:
 * the same bytes as with a roomy buffer, canary intact. */
static void check_caps(const char *name, const struct job *j)
{
    size_t big = 1 << 16, cap, bad_cap = 0;
    char *ref = malloc(big), *p;
    ssize_t need, r;
    int all = 1;

    if (!ref)
        abort();
    need = run_job(j, ref, big);
    if (!ok(need > 0, "%s: encodes with a roomy buffer (%zd bytes)", name, need)) {
        free(ref);
        return;
    }
    for (cap = 0; cap < (size_t)need; cap++) {
        p = malloc(cap + 1);
        if (!p)
            abort();
        memset(p, CANARY, cap + 1);
        errno = 0;
        r = run_job(j, p, cap);
        if (r != -1 || errno != ENOSPC || p[cap] != CANARY) {
            if (all)
                bad_cap = cap;
            all = 0;
        }
        free(p);
    }
    ok(all, "%s: every cap 0..%zd gives -1/ENOSPC, nothing written past cap%s", name, need - 1,
       all ? "" : " -- failed, see diag");
    if (!all)
        diag("%s: cap %zu misbehaved", name, bad_cap);
    p = malloc((size_t)need + 1);
    if (!p)
        abort();
    memset(p, CANARY, (size_t)need + 1);
    r = run_job(j, p, (size_t)need);
    ok(r == need && memcmp(p, ref, (size_t)need) == 0 && p[need] == CANARY,
       "%s: the exact size %zd fits, same bytes, nothing past cap", name, need);
    free(p);
    free(ref);
}

int main(void)
{
    char buf[512];
    struct sse_event ev;
    struct dec d;
    ssize_t n;
    char *longline;

    /* ---- byte-exact output of the simple cases */
    ev = (struct sse_event){ "0", NULL, "Count: [0]", 10 };
    n = sse_encode(buf, sizeof buf, &ev);
    ok(n == 24 && memcmp(buf, "id: 0\ndata: Count: [0]\n\n", 24) == 0,
       "encode: id + one-line data, byte for byte");
    ev = (struct sse_event){ "3", "tick", "x", 1 };
    n = sse_encode(buf, sizeof buf, &ev);
    ok(n == 27 && memcmp(buf, "id: 3\nevent: tick\ndata: x\n\n", 27) == 0,
       "encode: id, event and data in that order, byte for byte");
    ev = (struct sse_event){ "4", NULL, NULL, 0 };
    n = sse_encode(buf, sizeof buf, &ev);
    ok(n == 7 && memcmp(buf, "id: 4\n\n", 7) == 0, "encode: NULL data writes no data field");
    ev = (struct sse_event){ NULL, NULL, "a\nb", 3 };
    n = sse_encode(buf, sizeof buf, &ev);
    ok(n == 17 && memcmp(buf, "data: a\ndata: b\n\n", 17) == 0,
       "encode: NULL id writes no id field; LF splits data lines");

    /* ---- round trips through the decoder */
    roundtrip("simple data", "1", NULL, LIT("hello"));
    roundtrip("simple data without id", NULL, NULL, LIT("hello"));
    roundtrip("data with an event name", "2", "tick", LIT("hello"));
    roundtrip("multi-line data, LF", "1", NULL, LIT("a\nb\nc"));
    roundtrip("multi-line data, CR", "1", NULL, LIT("a\rb\rc"));
    roundtrip("multi-line data, CRLF", "1", NULL, LIT("a\r\nb\r\nc"));
    roundtrip("multi-line data, mixed LF CR CRLF", "1", NULL, LIT("a\nb\rc\r\nd"));
    roundtrip("consecutive LFs (empty lines inside data)", "1", NULL, LIT("a\n\n\nb"));
    roundtrip("consecutive CRs", "1", NULL, LIT("a\r\r\rb"));
    roundtrip("consecutive CRLFs", "1", NULL, LIT("a\r\n\r\nb"));
    roundtrip("LF then CR (two breaks)", "1", NULL, LIT("a\n\rb"));
    roundtrip("CR CR LF (two breaks)", "1", NULL, LIT("a\r\r\nb"));
    roundtrip("leading LF", "1", NULL, LIT("\nx"));
    roundtrip("leading CR", "1", NULL, LIT("\rx"));
    roundtrip("leading CRLF", "1", NULL, LIT("\r\nx"));
    roundtrip("trailing LF", "1", NULL, LIT("x\n"));
    roundtrip("trailing CR", "1", NULL, LIT("x\r"));
    roundtrip("trailing CRLF", "1", NULL, LIT("x\r\n"));
    roundtrip("trailing blank lines", "1", NULL, LIT("x\n\n"));
    roundtrip("only line breaks", "1", NULL, LIT("\r\n\r\n"));
    roundtrip("a single LF", "1", NULL, LIT("\n"));
    roundtrip("leading space is kept", "1", NULL, LIT(" x"));
    roundtrip("two leading spaces are kept", "1", NULL, LIT("  x"));
    roundtrip("colon-first data line is not a comment", "1", NULL, LIT("a\n: not a comment"));
    roundtrip("NUL byte inside data", "1", NULL, LIT("a\0b"));
    roundtrip("empty data (data_len 0)", "1", NULL, LIT(""));
    roundtrip("empty data without id", NULL, NULL, LIT(""));
    roundtrip("forged event in data (LF)", "1", NULL, LIT("x\n\nid: 99\ndata: evil"));
    roundtrip("forged event in data (CR)", "1", NULL, LIT("x\r\rid: 99\rdata: evil"));
    roundtrip("forged event in data (CRLF)", "1", NULL, LIT("x\r\n\r\nid: 99\r\ndata: evil"));
    roundtrip("forged event/retry fields in data", "1", "tick",
              LIT("x\nevent: evil\nretry: 1\n\n"));

    /* The forged event, in detail: one event, id unchanged, only data lines added. */
    {
        const char forged[] = "x\n\nid: 99\ndata: evil";
        ev = (struct sse_event){ "1", NULL, forged, sizeof forged - 1 };
        n = sse_encode(buf, sizeof buf, &ev);
        decode(&d, buf, n > 0 ? (size_t)n : 0);
        ok(d.events == 1 && d.id_lines == 1 && d.data_lines == 4 && d.event_lines == 0 &&
               d.retry_lines == 0,
           "forged event: one event, one id line, four data lines");
        ok(d.events == 1 && strcmp(d.ev[0].id, "1") == 0 && d.ev[0].data_len == 20 &&
               memcmp(d.ev[0].data, "x\n\nid: 99\ndata: evil", 20) == 0,
           "forged event: id stays \"1\", data is the input with breaks as \"\\n\"");
        dec_free(&d);
    }

    /* Empty data: one event, empty data. */
    ev = (struct sse_event){ "1", NULL, "", 0 };
    n = sse_encode(buf, sizeof buf, &ev);
    decode(&d, buf, n > 0 ? (size_t)n : 0);
    ok(d.events == 1 && d.ev[0].data_len == 0, "empty data (data_len 0): one event, empty data");
    dec_free(&d);

    /* Exhaustive small inputs: every string of length 0..5 over {a, CR, LF, ':', ' ', NUL}. */
    {
        static const char alpha[] = { 'a', '\r', '\n', ':', ' ', '\0' };
        char s[5];
        size_t len, k;
        unsigned long total = 0, bad = 0, code, combos;
        const char *why = "";

        for (len = 0; len <= 5; len++) {
            combos = 1;
            for (k = 0; k < len; k++)
                combos *= sizeof alpha;
            for (code = 0; code < combos; code++) {
                unsigned long c = code;
                for (k = 0; k < len; k++) {
                    s[k] = alpha[c % sizeof alpha];
                    c /= sizeof alpha;
                }
                ev = (struct sse_event){ "7", NULL, s, len };
                total++;
                if (!roundtrips(&ev, &why) && bad++ == 0)
                    diag("first failure: length %zu, code %lu: %s", len, code, why);
            }
        }
        ok(bad == 0, "all %lu strings of length 0..5 over {a,CR,LF,':',' ',NUL}: one event each, "
                     "data round-trips (%lu failed)", total, bad);
    }

    /* Long lines. */
    longline = malloc(100000);
    if (!longline)
        abort();
    memset(longline, 'x', 100000);
    roundtrip("a 100000-byte line", "1", NULL, longline, 100000);
    longline[50000] = '\n';
    longline[70000] = '\r';
    roundtrip("100000 bytes in three lines", "1", NULL, longline, 100000);
    memset(longline, '\n', 100000);
    roundtrip("100000 LFs", "1", NULL, longline, 100000);
    free(longline);

    /* ---- id and event are single-line: refused with EINVAL */
    {
        static const char *bad_ids[] = { "1\n", "1\r", "1\r\n2", "\n", "a\nid: 9" };
        size_t i;
        for (i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
            ev = (struct sse_event){ bad_ids[i], NULL, "x", 1 };
            errno = 0;
            n = sse_encode(buf, sizeof buf, &ev);
            ok(n == -1 && errno == EINVAL, "id with a line break (case %zu) refused: -1/EINVAL", i);
        }
    }
    ev = (struct sse_event){ NULL, "a\nb", "x", 1 };
    errno = 0;
    n = sse_encode(buf, sizeof buf, &ev);
    ok(n == -1 && errno == EINVAL, "event name with LF refused: -1/EINVAL");
    ev = (struct sse_event){ "1", "a\rb", "x", 1 };
    errno = 0;
    n = sse_encode(buf, sizeof buf, &ev);
    ok(n == -1 && errno == EINVAL, "event name with CR refused: -1/EINVAL");

    /* ---- too-small buffers */
    {
        struct job j;
        memset(&j, 0, sizeof j);
        j.kind = 0;
        j.ev = (struct sse_event){ "12", "tick", "a\nbb\r\n\rc", 9 };
        check_caps("encode id+event+multi-line data", &j);
        j.ev = (struct sse_event){ "0", NULL, "Count: [0]", 10 };
        check_caps("encode the counter event", &j);
        j.ev = (struct sse_event){ "5", NULL, "", 0 };
        check_caps("encode empty data", &j);
        j.ev = (struct sse_event){ NULL, NULL, NULL, 0 };
        check_caps("encode an empty event (blank line only)", &j);
        j.kind = 1;
        j.text = "heart\nbeat\r\n";
        j.len = 12;
        check_caps("comment, multi-line", &j);
        j.text = "";
        j.len = 0;
        check_caps("comment, empty", &j);
        j.kind = 2;
        j.ms = 3000;
        check_caps("retry 3000", &j);
    }

    /* ---- comments: clients ignore them, so the decoder dispatches nothing */
    n = sse_comment(buf, sizeof buf, "heartbeat", 9);
    ok(n == 12 && memcmp(buf, ": heartbeat\n", 12) == 0, "comment: \": heartbeat\\n\"");
    n = sse_comment(buf, sizeof buf, "", 0);
    ok(n == 2 && memcmp(buf, ":\n", 2) == 0, "comment: len 0 gives a bare \":\\n\"");
    {
        static const struct { const char *text; size_t len; int lines; } cs[] = {
            { LIT("heartbeat"), 1 },
            { LIT("a\nb\r\nc\rd"), 4 },
            { LIT("x\n\nid: 99\ndata: evil\n\n"), 6 },
            { LIT("\r\n\r\n"), 3 },
        };
        size_t i;
        for (i = 0; i < sizeof cs / sizeof cs[0]; i++) {
            ssize_t k;
            int all_colon = 1;
            n = sse_comment(buf, sizeof buf, cs[i].text, cs[i].len);
            for (k = 0; k < n; k++)
                if ((k == 0 || buf[k - 1] == '\n') && buf[k] != ':')
                    all_colon = 0;
            decode(&d, buf, n > 0 ? (size_t)n : 0);
            ok(n > 0 && all_colon && !memchr(buf, '\r', (size_t)n) && d.events == 0 &&
                   d.comments == cs[i].lines && !d.incomplete && !d.pending &&
                   d.data_lines + d.id_lines + d.event_lines + d.retry_lines +
                           d.unknown_lines == 0,
               "comment case %zu: %d comment lines only, no event dispatched", i, cs[i].lines);
            dec_free(&d);
        }
    }

    /* ---- retry */
    n = sse_retry(buf, sizeof buf, 3000);
    ok(n == 12 && memcmp(buf, "retry: 3000\n", 12) == 0, "retry: \"retry: 3000\\n\"");
    n = sse_retry(buf, sizeof buf, 0);
    ok(n == 9 && memcmp(buf, "retry: 0\n", 9) == 0, "retry: \"retry: 0\\n\"");
    n = sse_retry(buf, sizeof buf, 86400000UL);
    decode(&d, buf, n > 0 ? (size_t)n : 0);
    ok(d.retry_set && d.retry == 86400000ULL && d.events == 0 && !d.incomplete,
       "retry: the decoder reads 86400000, no event");
    dec_free(&d);
    return done_testing();
}
