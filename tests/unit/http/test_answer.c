/* test_answer.c -- unit tests of answer: which requests are answered here (errors, HEAD,
 * status) and which open a stream; the 503 at the stream limit */
#include "config.h"

#include "http/answer.h"

#include <stdlib.h>
#include <string.h>

#include "sink.h"
#include "tap.h"

static struct req stream_req(void)
{
    struct req r;

    memset(&r, 0, sizeof r);
    r.status = 200;
    r.route = REQ_STREAM;
    return r;
}

int main(void)
{
    {
        struct req r = stream_req();
        SINK(s, o);
        ok(answer_route(&r, &o, NULL, 3000) == 1 && s.len == 0,
           "GET .../stream: not answered here, the caller opens the stream");
    }
    {
        struct req r = stream_req();
        SINK(s, o);
        r.head = 1;
        ok(answer_route(&r, &o, NULL, 3000) == 0 &&
               sink_has_header(&s, "Content-Type: text/event-stream; charset=utf-8") &&
               sink_body(&s) && !*sink_body(&s),
           "HEAD .../stream: answered with the stream's headers, no body (got %s)", shown(s.buf));
    }
    {
        struct req r = stream_req();
        SINK(s, o);
        r.status = 400;
        r.error = "limit must be a decimal integer from 1 to 1000000000";
        ok(answer_route(&r, &o, NULL, 3000) == 0 && strncmp(s.buf, "Status: 400 ", 12) == 0 &&
               sink_body(&s) && strcmp(sink_body(&s), "limit must be a decimal integer from "
                                                   "1 to 1000000000\n") == 0,
           "a request with an error: that status and its one-line reason (got %s)", shown(s.buf));
    }
    {
        struct req r = stream_req();
        SINK(s, o);
        r.status = 405;
        r.error = "method not allowed";
        answer_route(&r, &o, NULL, 3000);
        ok(strncmp(s.buf, "Status: 405 ", 12) == 0 && sink_has_header(&s, "Allow: GET, HEAD"),
           "405: with Allow");
    }
    {
        struct req r = stream_req();
        struct stats_view st;
        SINK(s, o);
        memset(&st, 0, sizeof st);
        st.streams_open = 7;
        st.streams_total = 9;
        st.max_streams = 100;
        r.route = REQ_STATUS;
        ok(answer_route(&r, &o, &st, 3000) == 0 &&
               sink_has_header(&s, "Content-Type: application/json") && sink_body(&s) &&
               strstr(sink_body(&s), "\"streams_open\":7") &&
               strstr(sink_body(&s), "\"streams_total\":9") &&
               strstr(sink_body(&s), "\"max_streams\":100"),
           "GET .../status: JSON with the counters (got %s)", shown(sink_body(&s)));
        SINK(s2, o2);
        r.head = 1;
        answer_route(&r, &o2, &st, 3000);
        ok(sink_body(&s2) && !*sink_body(&s2) && sink_has_header(&s2, "Content-Type: application/json"),
           "HEAD .../status: headers only");
    }
    {
        SINK(s, o);
        ok(answer_refuse(&o, 2500, 0) == 0 && strncmp(s.buf, "Status: 503 ", 12) == 0 &&
               sink_has_header(&s, "Retry-After: 3") && sink_body(&s) &&
               strchr(sink_body(&s), '\n') == sink_body(&s) + strlen(sink_body(&s)) - 1,
           "limit: 503, Retry-After rounded up from --retry 2500, one line (got %s)", shown(s.buf));
    }
    {
        SINK(s, o);
        answer_refuse(&o, 0, 0);
        ok(sink_has_header(&s, "Retry-After: 1"), "limit: Retry-After at least 1 (--retry 0)");
    }
    {
        SINK(s, o);
        answer_refuse(&o, 3000, 1);
        ok(sink_has_header(&s, "Retry-After: 3") && sink_body(&s) && !*sink_body(&s),
           "limit, HEAD: 503 headers only");
    }
    return done_testing();
}
