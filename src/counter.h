/* counter.h -- the counter source: `data: Count: [N]` every interval, with its id */
#ifndef FCGI_SSE_COUNTER_H
#define FCGI_SSE_COUNTER_H

#include "stream.h"

/* The schedule every counter stream follows, and the counter of events
 * written (/status's events_sent); set once at start. */
void counter_setup(const struct sched_params *p, unsigned long *events_sent);

/* Makes s (begun) a counter stream from first_id, ending after `limit`
 * events (0: never), starting at now; sets its first wake-up. */
void counter_start(struct stream *s, unsigned long long first_id, unsigned long long limit,
                   long long now);

#endif
