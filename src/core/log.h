/* log.h -- one-line log messages on stderr, which every web server and systemd collect */
#ifndef FCGI_SSE_CORE_LOG_H
#define FCGI_SSE_CORE_LOG_H

#include <stddef.h>

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Sets the name each line starts with. Not thread-safe: call first. */
void log_init(const char *prog);

/* Each writes one whole line with a single write(2), safe from any thread,
 * at most 1024 bytes. The formatted message is escaped (log_escape): no
 * byte of it can end the line, move the cursor or forge another line. */
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

/* Copies n bytes of src into dst (cap bytes), writing each byte below
 * 0x20 (CR, LF, ESC...), DEL (0x7f), and each C1 control in its UTF-8 form
 * (0xC2 0x80 to 0xC2 0x9F) as \xNN (the C1 pair as \xc2\xNN); other bytes
 * (UTF-8 text included) as they are. Stops before an escape that does not
 * fit whole. Returns the bytes written (no NUL is added). */
size_t log_escape(char *dst, size_t cap, const char *src, size_t n);

/* "prog: error: <what> failed: <strerror(errnum)>" */
void log_errno(const char *what, int errnum);

#endif
