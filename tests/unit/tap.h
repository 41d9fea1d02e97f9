/* tap.h -- a minimal TAP producer for the unit tests (Automake's tap-driver.sh reads it).
 * Limits: one plan per process, printed at the end; not thread-safe. */
#ifndef FCGI_SSE_TAP_H
#define FCGI_SSE_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_count, tap_failed;

/* Records one test: "ok N - name" or "not ok N - name". Returns cond. */
__attribute__((format(printf, 2, 3))) static int ok(int cond, const char *fmt, ...)
{
    va_list ap;

    tap_count++;
    printf("%sok %d - ", cond ? "" : "not ", tap_count);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!cond)
        tap_failed++;
    return cond;
}

/* Prints a diagnostic line (shown in the test log). */
__attribute__((format(printf, 1, 2), unused)) static void diag(const char *fmt, ...)
{
    va_list ap;

    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* Prints the plan; the exit status is nonzero if any test failed. */
static int done_testing(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}

#endif
