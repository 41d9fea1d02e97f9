/* test_sse.c -- unit tests of sse: the event-stream encoder, checked by decoding its output.
 * Limits of the helpers: decode() follows the WHATWG parsing rules for the fields the
 * encoder writes (data, id, event, retry, comments), with fixed-size buffers that the
 * tests stay within. */
#include "config.h"

#include "sse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

struct decoded {
    int events;        /* events dispatched */
    int fields;        /* field lines seen (not comments) */
    int comments;
    char id[64];
    char event[64];
    char *data;        /* data of the last event, lines joined by "\n" */
    size_t data_len;
    char retry[32];
};

/* Decodes an event stream; the data buffer must be freed by the caller. */
static void decode(const char *s, size_t n, struct decoded *d)
{
    char *data = malloc(n + 1);
    size_t dlen = 0, i = 0;
    int have_data = 0;

    memset(d, 0, sizeof *d);
    while (i < n) {
        size_t end = i, vstart;
        const char *line = s + i, *colon;
        size_t len;

        while (end < n && s[end] != '\n' && s[end] != '\r')
            end++;
        len = end - i;
        if (end < n && s[end] == '\r' && end + 1 < n && s[end + 1] == '\n')
            end++;
        i = end + 1;
        if (len == 0) {
            if (have_data) {
                d->events++;
                free(d->data);
                d->data = malloc(dlen + 1);
                memcpy(d->data, data, dlen);
                d->data[dlen] = '\0';
                d->data_len = dlen;
            }
            dlen = 0;
            have_data = 0;
            continue;
        }
        if (line[0] == ':') {
            d->comments++;
            continue;
        }
        d->fields++;
        colon = memchr(line, ':', len);
        vstart = colon ? (size_t)(colon - line) + 1 : len;
        if (vstart < len && line[vstart] == ' ')
            vstart++;
        if (colon && (size_t)(colon - line) == 4 && memcmp(line, "data", 4) == 0) {
            if (have_data)
                data[dlen++] = '\n';
            memcpy(data + dlen, line + vstart, len - vstart);
            dlen += len - vstart;
            have_data = 1;
        } else if (colon && colon - line == 2 && memcmp(line, "id", 2) == 0) {
            snprintf(d->id, sizeof d->id, "%.*s", (int)(len - vstart), line + vstart);
        } else if (colon && colon - line == 5 && memcmp(line, "event", 5) == 0) {
            snprintf(d->event, sizeof d->event, "%.*s", (int)(len - vstart), line + vstart);
        } else if (colon && colon - line == 5 && memcmp(line, "retry", 5) == 0) {
            snprintf(d->retry, sizeof d->retry, "%.*s", (int)(len - vstart), line + vstart);
        }
    }
    free(data);
}

/* The data a client sees: CR, LF and CRLF all become "\n". */
static char *normalised(const char *s, size_t n, size_t *outlen)
{
    char *o = malloc(n + 1);
    size_t i, k = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == '\r') {
            o[k++] = '\n';
            if (i + 1 < n && s[i + 1] == '\n')
                i++;
        } else {
            o[k++] = s[i];
        }
    }
    o[k] = '\0';
    *outlen = k;
    return o;
}

/* Encodes data with id "7" and checks that exactly one event comes back,
 * with the same id and the data as a client would see it. */
static void roundtrip(const char *name, const char *data, size_t len)
{
    size_t cap = len * 8 + 64, want_len;
    char *buf = malloc(cap);
    struct sse_event ev = { "7", NULL, data, len };
    ssize_t n = sse_encode(buf, cap, &ev);
    struct decoded d;
    char *want = normalised(data, len, &want_len);

    if (!ok(n > 0, "%s: encodes", name)) {
        free(buf);
        free(want);
        return;
    }
    decode(buf, (size_t)n, &d);
    ok(d.events == 1, "%s: exactly one event (got %d)", name, d.events);
    ok(strcmp(d.id, "7") == 0, "%s: id unchanged", name);
    ok(d.data && d.data_len == want_len && memcmp(d.data, want, want_len) == 0,
       "%s: data round-trips", name);
    ok(n >= 2 && buf[n - 1] == '\n' && buf[n - 2] == '\n', "%s: ends with a blank line", name);
    free(d.data);
    free(buf);
    free(want);
}

int main(void)
{
    char buf[256], big[200];
    struct sse_event ev;
    struct decoded d;
    ssize_t n, need;
    size_t cap;
    char *longline;

    ev = (struct sse_event){ "0", NULL, "Count: [0]", 10 };
    n = sse_encode(buf, sizeof buf, &ev);
    ok(n == 24 && memcmp(buf, "id: 0\ndata: Count: [0]\n\n", 24) == 0,
       "the counter event, byte for byte");

    roundtrip("simple", "hello", 5);
    roundtrip("LF", "a\nb", 3);
    roundtrip("CR", "a\rb", 3);
    roundtrip("CRLF", "a\r\nb", 4);
    roundtrip("mixed", "a\nb\rc\r\nd", 8);
    roundtrip("empty lines inside", "a\n\n\nb", 5);
    roundtrip("CR CR", "a\r\rb", 4);
    roundtrip("LF CR", "a\n\rb", 4);
    roundtrip("leading break", "\nx", 2);
    roundtrip("trailing break", "x\n", 2);
    roundtrip("only breaks", "\r\n\r\n", 4);
    roundtrip("empty", "", 0);
    roundtrip("leading space kept", " x", 2);
    roundtrip("forged event", "x\n\nid: 99\ndata: evil", 21);
    roundtrip("forged retry", "x\r\rretry: 1\r\r", 13);

    ev = (struct sse_event){ "1", NULL, "x\n\nid: 99\ndata: evil", 21 };
    n = sse_encode(buf, sizeof buf, &ev);
    decode(buf, (size_t)n, &d);
    ok(d.fields == 5, "forged event: only data lines added (%d fields)", d.fields);
    ok(strcmp(d.id, "1") == 0, "forged event: id stays 1");
    free(d.data);

    longline = malloc(100000);
    memset(longline, 'x', 100000);
    longline[50000] = '\n';
    roundtrip("100000-byte data", longline, 100000);
    free(longline);

    ev = (struct sse_event){ "1\n2", NULL, "x", 1 };
    errno = 0;
    ok(sse_encode(buf, sizeof buf, &ev) == -1 && errno == EINVAL, "id with LF refused");
    ev = (struct sse_event){ "1\r", NULL, "x", 1 };
    errno = 0;
    ok(sse_encode(buf, sizeof buf, &ev) == -1 && errno == EINVAL, "id with CR refused");
    ev = (struct sse_event){ NULL, "a\nb", "x", 1 };
    errno = 0;
    ok(sse_encode(buf, sizeof buf, &ev) == -1 && errno == EINVAL, "event name with LF refused");
    ev = (struct sse_event){ "3", "tick", "x", 1 };
    n = sse_encode(buf, sizeof buf, &ev);
    decode(buf, (size_t)n, &d);
    ok(d.events == 1 && strcmp(d.event, "tick") == 0 && strcmp(d.id, "3") == 0,
       "event name and id written");
    free(d.data);
    ev = (struct sse_event){ "4", NULL, NULL, 0 };
    n = sse_encode(buf, sizeof buf, &ev);
    ok(n == 7 && memcmp(buf, "id: 4\n\n", 7) == 0, "no data: no data field");

    /* Too small: -1/ENOSPC for every cap below the need, never past cap. */
    ev = (struct sse_event){ "12", "e", "a\nbb", 4 };
    need = sse_encode(big, sizeof big, &ev);
    {
        int all = 1;
        for (cap = 0; cap < (size_t)need; cap++) {
            memset(big, '#', sizeof big);
            errno = 0;
            if (sse_encode(big, cap, &ev) != -1 || errno != ENOSPC || big[cap] != '#')
                all = 0;
        }
        ok(all, "every cap below %zd bytes: ENOSPC, nothing written past cap", need);
    }
    memset(big, '#', sizeof big);
    ok(sse_encode(big, (size_t)need, &ev) == need && big[need] == '#', "exact cap fits");

    n = sse_comment(buf, sizeof buf, "heartbeat", 9);
    ok(n == 12 && memcmp(buf, ": heartbeat\n", 12) == 0, "comment");
    n = sse_comment(buf, sizeof buf, "a\nb\r\nc", 6);
    decode(buf, (size_t)n, &d);
    ok(d.events == 0 && d.fields == 0 && d.comments == 3, "multi-line comment: comments only");
    free(d.data);
    n = sse_comment(buf, sizeof buf, "", 0);
    ok(n == 2 && memcmp(buf, ":\n", 2) == 0, "empty comment");
    n = sse_comment(buf, 3, "heartbeat", 9);
    ok(n == -1 && errno == ENOSPC, "comment: ENOSPC");

    n = sse_retry(buf, sizeof buf, 3000);
    ok(n == 12 && memcmp(buf, "retry: 3000\n", 12) == 0, "retry");
    n = sse_retry(buf, sizeof buf, 0);
    ok(n == 9 && memcmp(buf, "retry: 0\n", 9) == 0, "retry 0");

    ok(sse_u64(buf, 0) == 1 && strcmp(buf, "0") == 0, "u64 0");
    ok(sse_u64(buf, 9) == 1 && strcmp(buf, "9") == 0, "u64 9");
    ok(sse_u64(buf, 10) == 2 && strcmp(buf, "10") == 0, "u64 10");
    ok(sse_u64(buf, 18446744073709551615ULL) == 20 && strcmp(buf, "18446744073709551615") == 0,
       "u64 max");
    return done_testing();
}
