/* resp.c -- HTTP responses in CGI form (Status: header + body), written to any sink */
#include "config.h"

#include "http/resp.h"
#include "http/sse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *resp_reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 401: return "Unauthorized";
    case 429: return "Too Many Requests";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 403: return "Forbidden";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

static int send_all(const struct resp_sink *o, const char *buf, size_t len)
{
    if (o->write(o->ctx, buf, len) < 0)
        return -1;
    return o->flush(o->ctx);
}

int resp_stream_head(const struct resp_sink *o, unsigned long retry_ms, int head_only)
{
    return resp_stream_head_extra(o, retry_ms, "", head_only);
}

int resp_stream_head_extra(const struct resp_sink *o, unsigned long retry_ms, const char *extra,
                           int head_only)
{
    static const char head[] =
        "Status: 200 OK\r\n"
        "Content-Type: text/event-stream; charset=utf-8\r\n"
        "Cache-Control: no-cache\r\n"
        "X-Accel-Buffering: no\r\n";
    size_t n = sizeof head - 1, x = strlen(extra), cap = n + x + 2 + 64;
    char stack[1024], *buf = cap <= sizeof stack ? stack : malloc(cap);
    ssize_t r;
    int rc;

    stats_answered(o->stats, 200);
    if (!buf)
        return -1;
    memcpy(buf, head, n);
    memcpy(buf + n, extra, x);
    n += x;
    memcpy(buf + n, "\r\n", 2);
    n += 2;
    rc = 0;
    if (!head_only) {
        r = sse_retry(buf + n, cap - n - 1, retry_ms);
        if (r < 0)
            rc = -1;
        else {
            n += (size_t)r;
            buf[n++] = '\n'; /* a blank line: the retry block is complete */
        }
    }
    if (rc == 0)
        rc = send_all(o, buf, n);
    if (buf != stack)
        free(buf);
    return rc;
}

int resp_head(char *buf, size_t cap, int status, const char *type, size_t len,
              const char *extra)
{
    int n = snprintf(buf, cap,
                     "Status: %d %s\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "Cache-Control: no-store\r\n"
                     "%s\r\n",
                     status, resp_reason_phrase(status), type, len, extra);

    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int resp_error(const struct resp_sink *o, int status, const char *reason,
               unsigned retry_after_s, int head_only)
{
    return resp_error_allow(o, status, reason, retry_after_s, "GET, HEAD", head_only);
}

int resp_error_allow(const struct resp_sink *o, int status, const char *reason,
                     unsigned retry_after_s, const char *allow, int head_only)
{
    char buf[1024], extra[128] = "";
    size_t blen = strlen(reason) + 1;
    int n, m = 0;

    stats_answered(o->stats, status);
    if (status == 405)
        m = snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
    if (m >= 0 && (size_t)m < sizeof extra && retry_after_s)
        m += snprintf(extra + m, sizeof extra - (size_t)m, "Retry-After: %u\r\n",
                      retry_after_s);
    if (m < 0 || (size_t)m >= sizeof extra)
        return -1;
    n = resp_head(buf, sizeof buf, status, "text/plain; charset=utf-8", blen, extra);
    if (n < 0)
        return -1;
    if (head_only)
        return send_all(o, buf, (size_t)n);
    if ((size_t)n + blen >= sizeof buf)
        return -1;
    memcpy(buf + n, reason, blen - 1);
    buf[(size_t)n + blen - 1] = '\n';
    return send_all(o, buf, (size_t)n + blen);
}

int resp_send(const struct resp_sink *o, int status, const char *type, const char *extra,
              const char *body, size_t len, int head_only)
{
    size_t cap = 256 + strlen(type) + strlen(extra);
    char stack[1024], *head = cap <= sizeof stack ? stack : malloc(cap);
    int n, rc = -1;

    stats_answered(o->stats, status);
    if (!head)
        return -1;
    n = resp_head(head, cap, status, type, len, extra);
    if (n >= 0 && o->write(o->ctx, head, (size_t)n) == 0 &&
        (head_only || !len || o->write(o->ctx, body, len) == 0))
        rc = o->flush(o->ctx);
    if (head != stack)
        free(head);
    return rc;
}

int resp_json(const struct resp_sink *o, const char *json, size_t len, int head_only)
{
    char head[256];
    int n = resp_head(head, sizeof head, 200, "application/json", len, "");

    stats_answered(o->stats, 200);
    if (n < 0)
        return -1;
    if (o->write(o->ctx, head, (size_t)n) < 0)
        return -1;
    if (!head_only && o->write(o->ctx, json, len) < 0)
        return -1;
    return o->flush(o->ctx);
}

int resp_json_status(const struct resp_sink *o, int status, const char *json, size_t len,
                     unsigned retry_after_s)
{
    char head[320], after[48] = "";
    int n;

    stats_answered(o->stats, status);
    if (retry_after_s)
        snprintf(after, sizeof after, "Retry-After: %u\r\n", retry_after_s);
    n = resp_head(head, sizeof head, status, "application/json", len, after);
    if (n < 0)
        return -1;
    if (o->write(o->ctx, head, (size_t)n) < 0 || o->write(o->ctx, json, len) < 0)
        return -1;
    return o->flush(o->ctx);
}
