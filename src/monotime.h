/* monotime.h -- CLOCK_MONOTONIC readings: every deadline in the program is on this clock */
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

#endif
