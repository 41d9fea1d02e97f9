/* answer.h -- answers every request that does not open a stream: errors, HEAD, status */
#ifndef FCGI_SSE_HTTP_ANSWER_H
#define FCGI_SSE_HTTP_ANSWER_H

#include "http/req.h"
#include "http/resp.h"
#include "http/stats.h"

/* Answers r unless it opens a stream (a valid GET .../stream, or
 * .../status?stream=1): an error, HEAD, /status (JSON) or /metrics (the
 * Prometheus text) with the figures of v. Returns 1 when the caller must
 * open the stream, 0 when r was answered, -1 when the answer could not be
 * written (peer gone). */
int answer_route(const struct req *r, const struct resp_sink *o, const struct stats_view *v,
                 unsigned long retry_ms);

/* Answers 503 at the stream limit, with Retry-After from retry_ms. */
int answer_refuse(const struct resp_sink *o, unsigned long retry_ms, int head_only);

#endif
