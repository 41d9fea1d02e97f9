/* sse_decode.h -- the one event-stream decoder of the tests (unit/http/test_sse.c and
 * fuzz/fuzz_sse.c): an EventSource parser written from the WHATWG "event stream
 * interpretation" rules.
 * Limits: lines end at CRLF, CR or LF; a blank line dispatches; `field: value` loses one
 * leading space; data lines are joined by "\n"; id, event, retry; ':' starts a comment; a
 * leading BOM is skipped; data pending at the end of the stream is discarded. It works on
 * bytes, not on decoded UTF-8, keeps at most DEC_MAX_EVENTS events (it counts them all),
 * and does not model reconnection. Header-only (static functions): include it once. */
#ifndef FCGI_SSE_TEST_SSE_DECODE_H
#define FCGI_SSE_TEST_SSE_DECODE_H

#include <stdlib.h>
#include <string.h>

#define DEC_MAX_EVENTS 8

struct dec_event {
    char *data;       /* joined data, NUL-terminated (may hold NULs: use data_len) */
    size_t data_len;
    char *type;       /* the event type; "message" when no event field was seen */
    char *id;         /* the last event ID at dispatch time */
};

struct dec {
    int events;                   /* events dispatched */
    struct dec_event ev[DEC_MAX_EVENTS];
    int comments;                 /* lines starting with ':' */
    int data_lines, id_lines, event_lines, retry_lines, unknown_lines;
    int retry_set;                /* a valid retry field was seen */
    unsigned long long retry;
    int incomplete;               /* bytes after the last line end: an unfinished line */
    int pending;                  /* data buffered but never dispatched */
};

static char *dup_bytes(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (!p)
        abort();
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static int field_is(const char *name, size_t nlen, const char *want)
{
    return nlen == strlen(want) && memcmp(name, want, nlen) == 0;
}

/* Interprets n bytes of an event stream as a WHATWG EventSource would. */
static void decode(struct dec *d, const char *s, size_t n)
{
    char *data = malloc(n + 1), *type = malloc(n + 1), *lastid = malloc(n + 1);
    size_t dlen = 0, tlen = 0, idlen = 0, i = 0;

    if (!data || !type || !lastid)
        abort();
    memset(d, 0, sizeof *d);
    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < n) {
        size_t start = i, len, nlen, vstart;
        const char *line, *colon;

        while (i < n && s[i] != '\r' && s[i] != '\n')
            i++;
        if (i == n) {
            d->incomplete = 1;
            break;
        }
        line = s + start;
        len = i - start;
        if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
            i += 2;
        else
            i++;

        if (len == 0) {
            /* dispatch: nothing when the data buffer is empty */
            if (dlen > 0) {
                if (d->events < DEC_MAX_EVENTS) {
                    struct dec_event *e = &d->ev[d->events];
                    e->data = dup_bytes(data, dlen - 1); /* drop the final LF */
                    e->data_len = dlen - 1;
                    e->type = tlen ? dup_bytes(type, tlen) : dup_bytes("message", 7);
                    e->id = dup_bytes(lastid, idlen);
                }
                d->events++;
            }
            dlen = 0;
            tlen = 0;
            continue;
        }
        if (line[0] == ':') {
            d->comments++;
            continue;
        }
        colon = memchr(line, ':', len);
        if (colon) {
            nlen = (size_t)(colon - line);
            vstart = nlen + 1;
            if (vstart < len && line[vstart] == ' ')
                vstart++;
        } else {
            nlen = len;
            vstart = len;
        }
        if (field_is(line, nlen, "data")) {
            memcpy(data + dlen, line + vstart, len - vstart);
            dlen += len - vstart;
            data[dlen++] = '\n';
            d->data_lines++;
        } else if (field_is(line, nlen, "event")) {
            memcpy(type, line + vstart, len - vstart);
            tlen = len - vstart;
            d->event_lines++;
        } else if (field_is(line, nlen, "id")) {
            if (!memchr(line + vstart, '\0', len - vstart)) {
                memcpy(lastid, line + vstart, len - vstart);
                idlen = len - vstart;
            }
            d->id_lines++;
        } else if (field_is(line, nlen, "retry")) {
            size_t k;
            unsigned long long v = 0;
            int digits = len > vstart;
            for (k = vstart; k < len; k++) {
                if (line[k] < '0' || line[k] > '9')
                    digits = 0;
                else
                    v = v * 10 + (unsigned)(line[k] - '0');
            }
            if (digits) {
                d->retry_set = 1;
                d->retry = v;
            }
            d->retry_lines++;
        } else {
            d->unknown_lines++;
        }
    }
    d->pending = dlen > 0;
    free(data);
    free(type);
    free(lastid);
}

static void dec_free(struct dec *d)
{
    int i;

    for (i = 0; i < d->events && i < DEC_MAX_EVENTS; i++) {
        free(d->ev[i].data);
        free(d->ev[i].type);
        free(d->ev[i].id);
    }
}

/* The data a client gets back: every CRLF, CR and LF becomes "\n". */
static char *normalised(const char *s, size_t n, size_t *outlen)
{
    char *o = malloc(n + 1);
    size_t i, k = 0;

    if (!o)
        abort();
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

#endif
