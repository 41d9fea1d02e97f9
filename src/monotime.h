/* monotime.h -- clock readings: CLOCK_MONOTONIC for every deadline, the wall clock for ids */
#ifndef FCGI_SSE_MONOTIME_H
#define FCGI_SSE_MONOTIME_H

#include <time.h>

/* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer. */
static inline long long monotime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline long long monotime_ms(void)
{
    return monotime_ns() / 1000000;
}

/* Wall-clock milliseconds since the Unix epoch: for message ids and
 * history ages, never for deadlines. */
static inline unsigned long long wallclock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (unsigned long long)ts.tv_sec * 1000ULL + (unsigned long long)ts.tv_nsec / 1000000ULL;
}

#endif
