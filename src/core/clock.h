/* clock.h -- clock readings: CLOCK_MONOTONIC for every deadline, the wall clock for ids */
#ifndef FCGI_SSE_CORE_CLOCK_H
#define FCGI_SSE_CORE_CLOCK_H

#include <time.h>

/* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer. */
static inline long long clock_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline long long clock_now_ms(void)
{
    return clock_now_ns() / 1000000;
}

/* Wall-clock milliseconds since the Unix epoch: for message ids and
 * history ages, never for deadlines. */
static inline unsigned long long clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (unsigned long long)ts.tv_sec * 1000ULL + (unsigned long long)ts.tv_nsec / 1000000ULL;
}

#endif
