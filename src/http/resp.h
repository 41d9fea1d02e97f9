/* resp.h -- HTTP responses in CGI form (Status: header + body), written to any sink */
#ifndef FCGI_SSE_HTTP_RESP_H
#define FCGI_SSE_HTTP_RESP_H

#include <stddef.h>

#include "http/stats.h"

/* Where a response goes: a libfcgi stream or CGI stdout. Both calls
 * return 0, or -1 when the peer is gone or the write failed. */
struct resp_sink {
    int (*write)(void *ctx, const char *buf, size_t len);
    int (*flush)(void *ctx);
    void *ctx;
    /* Ends the response at once (FastCGI: END_REQUEST, the connection
     * closed), for an answer whose work goes on after it; NULL where the
     * caller ends it. */
    void (*end)(void *ctx);
    /* Where each answer's status is counted (stats_answered), or NULL. */
    struct stats *stats;
};

/* The header block of an event stream (200, text/event-stream, no-cache,
 * X-Accel-Buffering: no), then, unless head_only, `retry: retry_ms`.
 * Flushed, so the client learns at once that the stream is open. */
int resp_stream_head(const struct resp_sink *o, unsigned long retry_ms, int head_only);

/* The same with extra header lines (each ending in CRLF, or ""), before
 * the blank line. */
int resp_stream_head_extra(const struct resp_sink *o, unsigned long retry_ms, const char *extra,
                           int head_only);

/* The header block of an answer whose body is len bytes of type: Status,
 * Content-Type, Content-Length, Cache-Control: no-store, then extra
 * (whole header lines, or ""), then the blank line, into buf. Its length,
 * or -1 when cap is too small. Every answer with a body is made by it. */
int resp_head(char *buf, size_t cap, int status, const char *type, size_t len,
              const char *extra);

/* An error: status with a one-line text/plain reason. 405 adds
 * Allow: GET, HEAD; a nonzero retry_after_s adds Retry-After. */
int resp_error(const struct resp_sink *o, int status, const char *reason,
               unsigned retry_after_s, int head_only);

/* The same, with `Allow: allow` on a 405. */
int resp_error_allow(const struct resp_sink *o, int status, const char *reason,
                     unsigned retry_after_s, const char *allow, int head_only);

/* status with body[0, len) of type, and extra header lines (each ending
 * in CRLF, or ""); HEAD: the header block only. Flushed. */
int resp_send(const struct resp_sink *o, int status, const char *type, const char *extra,
              const char *body, size_t len, int head_only);

/* 200 with a JSON body (status route). */
int resp_json(const struct resp_sink *o, const char *json, size_t len, int head_only);

/* status with a JSON body (an OpenAI-style error), Retry-After when
 * retry_after_s is nonzero. */
int resp_json_status(const struct resp_sink *o, int status, const char *json, size_t len,
                     unsigned retry_after_s);

/* The reason phrase of a status code this program sends. */
const char *resp_reason_phrase(int status);

#endif
