/* answer.c -- answers every request that does not open a stream: errors, HEAD, status */
#include "config.h"

#include "http/answer.h"
#include "http/metrics.h"

int answer_route(const struct req *r, const struct resp_sink *o, const struct stats_view *v,
                 unsigned long retry_ms)
{
    if (r->status != 200)
        return resp_error_allow(o, r->status, r->error, 0, r->allow ? r->allow : "GET, HEAD",
                                r->head);
    if (r->route == REQ_STATUS && !r->status_stream) {
        char json[STATS_JSON_MAX];
        int n = stats_json(v, json, sizeof json);
        if (n < 0)
            return resp_error(o, 500, "status does not fit its buffer", 0, r->head);
        return resp_json(o, json, (size_t)n, r->head);
    }
    if (r->route == REQ_METRICS) {
        char text[METRICS_TEXT_MAX];
        int n = metrics_text(v, text, sizeof text);
        if (n < 0)
            return resp_error(o, 500, "the metrics do not fit their buffer", 0, r->head);
        return resp_send(o, 200, METRICS_CONTENT_TYPE, "", text, (size_t)n, r->head);
    }
    if (r->head)
        return resp_stream_head(o, retry_ms, 1);
    return 1;
}

int answer_refuse(const struct resp_sink *o, unsigned long retry_ms, int head_only)
{
    unsigned after = (unsigned)((retry_ms + 999) / 1000);

    return resp_error(o, 503, "too many open streams: try again later",
                      after ? after : 1, head_only);
}
