/* resp.c -- HTTP responses in CGI form (Status: header + body), written to any sink */
#include "config.h"

#include "resp.h"
#include "sse.h"

#include <stdio.h>
#include <string.h>

const char *resp_reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
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
    static const char head[] =
        "Status: 200 OK\r\n"
        "Content-Type: text/event-stream; charset=utf-8\r\n"
        "Cache-Control: no-cache\r\n"
        "X-Accel-Buffering: no\r\n"
        "\r\n";
    char buf[sizeof head + 64];
    size_t n = sizeof head - 1;
    ssize_t r;

    memcpy(buf, head, n);
    if (!head_only) {
        r = sse_retry(buf + n, sizeof buf - n - 1, retry_ms);
        if (r < 0)
            return -1;
        n += (size_t)r;
        buf[n++] = '\n'; /* a blank line: the retry block is complete */
    }
    return send_all(o, buf, n);
}

int resp_error(const struct resp_sink *o, int status, const char *reason,
               unsigned retry_after_s, int head_only)
{
    return resp_error_allow(o, status, reason, retry_after_s, "GET, HEAD", head_only);
}

int resp_error_allow(const struct resp_sink *o, int status, const char *reason,
                     unsigned retry_after_s, const char *allow, int head_only)
{
    char buf[1024];
    size_t blen = strlen(reason) + 1;
    int n;

    n = snprintf(buf, sizeof buf,
                 "Status: %d %s\r\n"
                 "Content-Type: text/plain; charset=utf-8\r\n"
                 "Content-Length: %zu\r\n"
                 "Cache-Control: no-store\r\n"
                 "%s%s%s",
                 status, resp_reason_phrase(status), blen,
                 status == 405 ? "Allow: " : "", status == 405 ? allow : "",
                 status == 405 ? "\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof buf)
        return -1;
    if (retry_after_s) {
        int m = snprintf(buf + n, sizeof buf - (size_t)n, "Retry-After: %u\r\n", retry_after_s);
        if (m < 0 || (size_t)m >= sizeof buf - (size_t)n)
            return -1;
        n += m;
    }
    if (head_only) {
        if ((size_t)n + 2 >= sizeof buf)
            return -1;
        memcpy(buf + n, "\r\n", 2);
        return send_all(o, buf, (size_t)n + 2);
    }
    if ((size_t)n + 2 + blen >= sizeof buf)
        return -1;
    memcpy(buf + n, "\r\n", 2);
    memcpy(buf + n + 2, reason, blen - 1);
    buf[(size_t)n + 2 + blen - 1] = '\n';
    return send_all(o, buf, (size_t)n + 2 + blen);
}

int resp_json(const struct resp_sink *o, const char *json, size_t len, int head_only)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "Status: 200 OK\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %zu\r\n"
                     "Cache-Control: no-store\r\n"
                     "\r\n",
                     len);

    if (n < 0 || (size_t)n >= sizeof head)
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

    if (retry_after_s)
        snprintf(after, sizeof after, "Retry-After: %u\r\n", retry_after_s);
    n = snprintf(head, sizeof head,
                 "Status: %d %s\r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: %zu\r\n"
                 "Cache-Control: no-store\r\n"
                 "%s"
                 "\r\n",
                 status, resp_reason_phrase(status), len, after);
    if (n < 0 || (size_t)n >= sizeof head)
        return -1;
    if (o->write(o->ctx, head, (size_t)n) < 0 || o->write(o->ctx, json, len) < 0)
        return -1;
    return o->flush(o->ctx);
}
