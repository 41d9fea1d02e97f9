/* sse.c -- Server-Sent Events wire format: pure encoding of events, comments and retry */
#include "config.h"

#include "http/sse.h"
#include "core/text.h"

#include <errno.h>
#include <string.h>

/* A bounded cursor: appends fail (and stay failed) once cap is reached. */
struct sse_buf {
    char *p;
    size_t len;
    size_t cap;
    int overflow;
};

static void put(struct sse_buf *b, const char *s, size_t n)
{
    if (b->overflow || n > b->cap - b->len) {
        b->overflow = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static ssize_t finish(const struct sse_buf *b)
{
    if (b->overflow) {
        errno = ENOSPC;
        return -1;
    }
    return (ssize_t)b->len;
}

/* Writes `prefix` + each line of text + "\n", splitting on CR, LF and
 * CRLF. A trailing line break yields a final empty line, so "a\n" is two
 * lines ("a" and ""): the text survives the client's decoding unchanged. */
static void put_lines(struct sse_buf *b, const char *prefix, size_t plen,
                      const char *text, size_t len)
{
    size_t start = 0;

    for (;;) {
        size_t end = start;
        while (end < len && text[end] != '\n' && text[end] != '\r')
            end++;
        put(b, prefix, plen);
        if (end > start) {
            put(b, " ", 1);
            put(b, text + start, end - start);
        }
        put(b, "\n", 1);
        if (end == len)
            return;
        start = end + 1;
        if (text[end] == '\r' && start < len && text[start] == '\n')
            start++;
    }
}

static int single_line(const char *s)
{
    return strpbrk(s, "\r\n") == NULL;
}

static void put_field(struct sse_buf *b, const char *name, const char *value)
{
    put(b, name, strlen(name));
    put(b, ": ", 2);
    put(b, value, strlen(value));
    put(b, "\n", 1);
}

ssize_t sse_encode(char *buf, size_t cap, const struct sse_event *ev)
{
    struct sse_buf b = { buf, 0, cap, 0 };

    if ((ev->id && !single_line(ev->id)) || (ev->event && !single_line(ev->event))) {
        errno = EINVAL;
        return -1;
    }
    if (ev->id)
        put_field(&b, "id", ev->id);
    if (ev->event)
        put_field(&b, "event", ev->event);
    if (ev->data)
        put_lines(&b, "data:", 5, ev->data, ev->data_len);
    put(&b, "\n", 1);
    return finish(&b);
}

ssize_t sse_comment(char *buf, size_t cap, const char *text, size_t len)
{
    struct sse_buf b = { buf, 0, cap, 0 };

    put_lines(&b, ":", 1, text, len);
    return finish(&b);
}

ssize_t sse_retry(char *buf, size_t cap, unsigned long ms)
{
    struct sse_buf b = { buf, 0, cap, 0 };
    char num[24];

    text_u64(num, ms);
    put_field(&b, "retry", num);
    return finish(&b);
}
