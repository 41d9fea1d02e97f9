/* sse.h -- Server-Sent Events wire format: pure encoding of events, comments and retry */
#ifndef FCGI_SSE_HTTP_SSE_H
#define FCGI_SSE_HTTP_SSE_H

#include <stddef.h>
#include <sys/types.h>

/* One event. Unset fields are NULL and are not written. `data` may hold
 * any bytes, CR, LF and CRLF included: each line becomes its own `data:`
 * field, so no value can end the event early or add a field. `id` and
 * `event` are single-line fields: a CR or LF in them is refused. */
struct sse_event {
    const char *id;      /* NUL-terminated, or NULL */
    const char *event;   /* NUL-terminated, or NULL */
    const char *data;    /* data_len bytes, or NULL for no data field */
    size_t data_len;
};

/* Encodes `ev` followed by the blank line that dispatches it into buf.
 * Returns the number of bytes written, or -1 with errno EINVAL (id/event
 * holds a line break) or ENOSPC (cap too small; buf is then
 * unspecified). Never writes more than cap bytes. */
ssize_t sse_encode(char *buf, size_t cap, const struct sse_event *ev);

/* Encodes a comment (`: text`), one `:` line per line of text; len 0
 * gives a bare ":\n". Comments are ignored by clients: used as heartbeat.
 * Returns bytes written or -1 (ENOSPC). */
ssize_t sse_comment(char *buf, size_t cap, const char *text, size_t len);

/* Encodes `retry: ms` (the client's reconnection delay). Returns bytes
 * written or -1 (ENOSPC). */
ssize_t sse_retry(char *buf, size_t cap, unsigned long ms);

#endif
