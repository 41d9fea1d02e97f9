/* log.c -- one-line log messages on stderr, which every web server and systemd collect */
#include "config.h"

#include "log.h"
#include "monotime.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *log_prog = PACKAGE_NAME;

void log_init(const char *prog)
{
    const char *slash = strrchr(prog, '/');
    log_prog = slash ? slash + 1 : prog;
}

static void vlog(const char *level, const char *fmt, va_list ap)
{
    char line[1024];
    int n, m;

    n = snprintf(line, sizeof line, "%s[%ld]: %s", log_prog, (long)getpid(), level);
    if (n < 0 || (size_t)n >= sizeof line)
        return;
    m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    if (m < 0)
        return;
    n += m;
    if ((size_t)n >= sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    /* One write keeps lines from different threads whole; a failed log
     * write has nowhere to be reported. */
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return;
}

#define LOG_FN(name, level)                  \
    void name(const char *fmt, ...)          \
    {                                        \
        va_list ap;                          \
        va_start(ap, fmt);                   \
        vlog(level, fmt, ap);                \
        va_end(ap);                          \
    }

LOG_FN(log_info, "")
LOG_FN(log_warn, "warning: ")
LOG_FN(log_error, "error: ")

void log_errno(const char *what, int errnum)
{
    log_error("%s failed: %s", what, strerror(errnum));
}

int log_allow(struct log_limit *l)
{
    long long sec = monotime_ms() / 1000;

    if (l->second != sec) {
        l->second = sec;
        l->count = 0;
    }
    return l->count++ < LOG_PER_SECOND;
}
