/* log.c -- one-line log messages on stderr, which every web server and systemd collect, control bytes escaped */
#include "config.h"

#include "core/log.h"
#include "core/clock.h"

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

size_t log_escape(char *dst, size_t cap, const char *src, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, out = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        /* C1 controls (U+0080 to U+009F) in UTF-8: 0xC2 then 0x80 to 0x9F */
        int c1 = c == 0xc2 && i + 1 < n && ((unsigned char)src[i + 1] & 0xe0) == 0x80;
        size_t k, need = c < 0x20 || c == 0x7f ? 4 : c1 ? 8 : 1;

        if (cap - out < need)
            break;
        if (need == 1) {
            dst[out++] = (char)c;
            continue;
        }
        for (k = 0; k < need / 4; k++) {
            unsigned char b = (unsigned char)src[i + k];

            dst[out++] = '\\';
            dst[out++] = 'x';
            dst[out++] = hex[b >> 4];
            dst[out++] = hex[b & 15];
        }
        i += need / 4 - 1;
    }
    return out;
}

static void vlog(const char *level, const char *fmt, va_list ap)
{
    char msg[1024], line[1024];
    int n, m;

    n = snprintf(line, sizeof line, "%s[%ld]: %s", log_prog, (long)getpid(), level);
    if (n < 0 || (size_t)n >= sizeof line - 1)
        return;
    m = vsnprintf(msg, sizeof msg, fmt, ap);
    if (m < 0)
        return;
    if ((size_t)m >= sizeof msg)
        m = (int)sizeof msg - 1;
    /* What the message quotes (a program's stderr, a peer's bytes) cannot
     * end the line or forge another: room is kept for the newline. */
    n += (int)log_escape(line + n, sizeof line - 1 - (size_t)n, msg, (size_t)m);
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
    long long sec = clock_now_ms() / 1000;

    if (l->second != sec) {
        l->second = sec;
        l->count = 0;
    }
    return l->count++ < LOG_PER_SECOND;
}
