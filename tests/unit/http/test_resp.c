/* test_resp.c -- unit tests of resp: the stream's header block and retry line, errors, JSON */
/* Everything is written to a recording sink (sink.h): the exact bytes, and whether they
 * were flushed, are what a web server would receive. */
#include "config.h"

#include "http/resp.h"

#include <stdlib.h>
#include <string.h>

#include "sink.h"
#include "tap.h"

static void test_stream_head(void)
{
    {
        SINK(s, o);
        ok(resp_stream_head(&o, 3000, 0) == 0, "stream head: written");
        ok(strcmp(s.buf, "Status: 200 OK\r\n"
                         "Content-Type: text/event-stream; charset=utf-8\r\n"
                         "Cache-Control: no-cache\r\n"
                         "X-Accel-Buffering: no\r\n"
                         "\r\n"
                         "retry: 3000\n\n") == 0,
           "stream head: exact header block, then 'retry: 3000' and a blank line (got %s)",
           shown(s.buf));
        ok(s.flushes >= 1 && s.flushed == s.len,
           "stream head: flushed, all of it (%d flushes, %zu of %zu bytes)", s.flushes,
           s.flushed, s.len);
        ok(sink_has_header(&s, "Content-Type: text/event-stream; charset=utf-8"),
           "stream head: Content-Type text/event-stream; charset=utf-8");
        ok(sink_has_header(&s, "X-Accel-Buffering: no"), "stream head: X-Accel-Buffering: no");
        ok(!strstr(s.buf, "Content-Length"), "stream head: no Content-Length");
    }
    {
        SINK(s, o);
        resp_stream_head(&o, 0, 0);
        ok(sink_body(&s) && strcmp(sink_body(&s), "retry: 0\n\n") == 0,
           "stream head: --retry 0 is sent as retry: 0 (got %s)", shown(sink_body(&s)));
    }
    {
        SINK(s, o);
        resp_stream_head(&o, 86400000, 0);
        ok(sink_body(&s) && strcmp(sink_body(&s), "retry: 86400000\n\n") == 0,
           "stream head: the largest --retry (got %s)", shown(sink_body(&s)));
    }
    {
        SINK(s, o);
        ok(resp_stream_head(&o, 3000, 1) == 0 && sink_body(&s) && !*sink_body(&s) &&
               sink_has_header(&s, "Content-Type: text/event-stream; charset=utf-8") &&
               s.flushed == s.len,
           "HEAD: the same headers, no body, flushed (got %s)", shown(s.buf));
    }
    {
        SINK(s, o);
        s.fail = 1;
        ok(resp_stream_head(&o, 3000, 0) == -1, "stream head: a peer that left gives -1");
    }
}

static void test_errors(void)
{
    static const int statuses[] = { 400, 404, 405, 413, 414, 500, 503 };
    static const char *const phrases[] = { "Bad Request", "Not Found", "Method Not Allowed",
                                           "Content Too Large", "URI Too Long",
                                           "Internal Server Error", "Service Unavailable" };
    size_t i;

    for (i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        char line[64];
        SINK(s, o);

        snprintf(line, sizeof line, "Status: %d %s", statuses[i], phrases[i]);
        ok(resp_error(&o, statuses[i], "what was wrong", 0, 0) == 0 &&
               strncmp(s.buf, line, strlen(line)) == 0 && s.buf[strlen(line)] == '\r',
           "error %d: %s first (got %.40s)", statuses[i], line, shown(s.buf));
        ok(sink_has_header(&s, "Content-Type: text/plain; charset=utf-8") &&
               sink_has_header(&s, "Content-Length: 15") &&
               sink_has_header(&s, "Cache-Control: no-store") && sink_body(&s) &&
               strcmp(sink_body(&s), "what was wrong\n") == 0 && s.flushed == s.len,
           "error %d: text/plain, Content-Length of the one line, no-store, flushed",
           statuses[i]);
        ok(sink_has_header(&s, "Allow: GET, HEAD") == (statuses[i] == 405),
           "error %d: Allow: GET, HEAD %s", statuses[i],
           statuses[i] == 405 ? "present" : "absent");
        ok(!strstr(s.buf, "Retry-After"), "error %d: no Retry-After unless asked",
           statuses[i]);
    }
    {
        SINK(s, o);
        resp_error(&o, 503, "too many", 3, 0);
        ok(sink_has_header(&s, "Retry-After: 3"), "503: Retry-After: 3 when asked");
    }
    {
        SINK(s, o);
        resp_error(&o, 404, "no such thing", 0, 1);
        ok(sink_body(&s) && !*sink_body(&s) && sink_has_header(&s, "Content-Length: 14"),
           "error, HEAD: headers with the Content-Length of the body, no body");
    }
    {
        char big[2000];
        SINK(s, o);
        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        ok(resp_error(&o, 400, big, 0, 0) == -1 && s.len == 0,
           "error: a reason too long for the buffer is refused, nothing written");
    }
    ok(strcmp(resp_reason_phrase(200), "OK") == 0 && strcmp(resp_reason_phrase(299), "Error") == 0,
       "reason phrase: 200 OK, anything unknown 'Error'");
}

static void test_json(void)
{
    {
        SINK(s, o);
        ok(resp_json(&o, "{\"a\":1}\n", 8, 0) == 0 &&
               strncmp(s.buf, "Status: 200 OK\r\n", 16) == 0 &&
               sink_has_header(&s, "Content-Type: application/json") &&
               sink_has_header(&s, "Content-Length: 8") &&
               sink_has_header(&s, "Cache-Control: no-store") && sink_body(&s) &&
               strcmp(sink_body(&s), "{\"a\":1}\n") == 0 && s.flushed == s.len,
           "json: 200, application/json, Content-Length, no-store, the body, flushed (got %s)",
           shown(s.buf));
    }
    {
        SINK(s, o);
        resp_json(&o, "{\"a\":1}\n", 8, 1);
        ok(sink_body(&s) && !*sink_body(&s) && sink_has_header(&s, "Content-Length: 8"),
           "json, HEAD: no body");
    }
}

int main(void)
{
    test_stream_head();
    test_errors();
    test_json();
    return done_testing();
}
