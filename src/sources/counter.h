/* counter.h -- the counter source: `data: Count: [N]` every interval, with its id */
#ifndef FCGI_SSE_SOURCES_COUNTER_H
#define FCGI_SSE_SOURCES_COUNTER_H

#include "sources/schedule.h"
#include "stream/stream.h"

struct counter;

/* The counter source: every stream follows schedule p; *events_sent
 * counts the events written (/status's events_sent). NULL on ENOMEM. */
struct counter *counter_create(const struct sched_params *p, unsigned long *events_sent);
void counter_destroy(struct counter *c);

/* Makes s (begun) a counter stream from first_id, ending after `limit`
 * events (0: never), starting at now; sets its first wake-up. 0, or -1
 * (ENOMEM). */
int counter_start(struct counter *c, struct stream *s, unsigned long long first_id,
                  unsigned long long limit, long long now);

#endif
