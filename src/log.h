/* log.h -- one-line log messages on stderr, which every web server and systemd collect */
#ifndef FCGI_SSE_LOG_H
#define FCGI_SSE_LOG_H

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Sets the name each line starts with. Not thread-safe: call first. */
void log_init(const char *prog);

/* Each writes one whole line with a single write(2), safe from any thread. */
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_error(const char *fmt, ...) LOG_PRINTF(1, 2);

/* A budget for lines that may repeat per connection (a flood of bad
 * peers must not flood the log): zero it, then log only when
 * log_allow() says so, at most LOG_PER_SECOND lines a second. */
#define LOG_PER_SECOND 10
struct log_limit {
    long long second;
    unsigned count;
};
int log_allow(struct log_limit *l);

/* "prog: error: <what> failed: <strerror(errnum)>" */
void log_errno(const char *what, int errnum);

#endif
