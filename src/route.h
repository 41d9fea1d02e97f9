/* route.h -- answers every request that does not open a stream: errors, HEAD, status */
#ifndef FCGI_SSE_ROUTE_H
#define FCGI_SSE_ROUTE_H

#include "req.h"
#include "resp.h"
#include "stats.h"

/* Answers r unless it opens a stream (a valid GET .../stream): an error,
 * HEAD, or /status with the figures of v. Returns 1 when the caller must
 * open the stream, 0 when r was answered, -1 when the answer could not be
 * written (peer gone). */
int route_answer(const struct req *r, const struct resp_sink *o, const struct stats_view *v,
                 unsigned long retry_ms);

/* Answers 503 at the stream limit, with Retry-After from retry_ms. */
int route_refuse(const struct resp_sink *o, unsigned long retry_ms, int head_only);

#endif
