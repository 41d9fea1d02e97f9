/* sink.h -- a resp_sink that records what was written and how often it was flushed, for the
 * unit tests of resp and answer. Limits: one buffer of SINK_CAP bytes; a write beyond it, or
 * any write once `fail` is set, fails as a peer that left would. */
#ifndef FCGI_SSE_TEST_SINK_H
#define FCGI_SSE_TEST_SINK_H

#include "http/resp.h"

#include <string.h>

#define SINK_CAP 4096

struct sink {
    char buf[SINK_CAP + 1];
    size_t len;
    size_t flushed;  /* bytes written before the last flush */
    int flushes;
    int fail;
};

static int sink_write(void *ctx, const char *b, size_t n)
{
    struct sink *s = ctx;

    if (s->fail || s->len + n > SINK_CAP)
        return -1;
    memcpy(s->buf + s->len, b, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return 0;
}

static int sink_flush(void *ctx)
{
    struct sink *s = ctx;

    if (s->fail)
        return -1;
    s->flushes++;
    s->flushed = s->len;
    return 0;
}

/* A fresh sink s and its resp_sink o. */
#define SINK(s, o)                                                    \
    struct sink s;                                                    \
    memset(&s, 0, sizeof s);                                          \
    const struct resp_sink o = { sink_write, sink_flush, &s, NULL, NULL }

/* The body: what follows the blank line ending the header block, or NULL. */
static const char *sink_body(const struct sink *s)
{
    const char *p = strstr(s->buf, "\r\n\r\n");
    return p ? p + 4 : NULL;
}

/* Whether the header block holds exactly this line ("Name: value"). */
static int sink_has_header(const struct sink *s, const char *line)
{
    const char *body = sink_body(s), *p = s->buf;
    size_t n = strlen(line);

    while (p && (!body || p < body)) {
        if (strncmp(p, line, n) == 0 && p[n] == '\r' && p[n + 1] == '\n')
            return 1;
        p = strstr(p, "\r\n");
        if (p)
            p += 2;
    }
    return 0;
}

/* b with CR and LF shown as \\r and \\n, cut to fit, for a one-line test name. One
 * buffer per call site is not needed: each test name is printed before the next call. */
static const char *shown(const char *b)
{
    static char out[512];
    size_t n = 0;

    for (; b && *b && n + 3 < sizeof out; b++) {
        if (*b == '\r' || *b == '\n') {
            out[n++] = '\\';
            out[n++] = *b == '\r' ? 'r' : 'n';
        } else {
            out[n++] = *b;
        }
    }
    out[n] = '\0';
    return out;
}

#endif
