/* test_log.c -- unit tests of log: one line each, and what a message quotes cannot end the line or forge another */
/* Finding 9 of issue 18: a program's stderr was logged raw, so a CR, an ESC sequence or
 * (in other messages) a newline could forge log lines. Each log call's output is read
 * back from a pipe put on fd 2. */
#include "config.h"

#include "core/log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

static int pipefd[2];

/* What the last log call wrote to fd 2 (the pipe), NUL-terminated; its length. */
static size_t drain(char *buf, size_t cap)
{
    ssize_t n = read(pipefd[0], buf, cap - 1);

    buf[n > 0 ? n : 0] = '\0';
    return n > 0 ? (size_t)n : 0;
}

static int only_printable_and_utf8(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i + 1 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
        if (c == 0xc2 && ((unsigned char)s[i + 1] & 0xe0) == 0x80)
            return 0;
    }
    return n > 0 && s[n - 1] == '\n';
}

int main(void)
{
    char buf[4096], want[256], big[3000], esc[16];
    int saved = dup(2);
    size_t n;

    if (saved < 0 || pipe(pipefd) < 0 || dup2(pipefd[1], 2) < 0) {
        perror("pipe");
        return 99;
    }
    log_init("/usr/bin/fcgi-sse");

    log_warn("program %s[%d]: %s", "forge", 42,
             "ok\rfcgi-sse[1]: error: forged\x1b[2K\x1b[1Ared\ttab\x07\x7f\nnext \xc2\x9b" "31m "
             "\xc3\xa9t\xc3\xa9 \xe2\x9c\x93");
    n = drain(buf, sizeof buf);
    snprintf(want, sizeof want, "fcgi-sse[%ld]: warning: program forge[42]: ok\\x0dfcgi-sse[1]: "
             "error: forged\\x1b[2K\\x1b[1Ared\\x09tab\\x07\\x7f\\x0anext \\xc2\\x9b31m "
             "\xc3\xa9t\xc3\xa9 \xe2\x9c\x93\n", (long)getpid());
    ok(strcmp(buf, want) == 0, "finding 9: CR, ESC, tab, BEL, DEL, LF and a C1 CSI (0xC2 0x9B) "
       "are written as \\xNN; UTF-8 text stays as it is");
    if (strcmp(buf, want) != 0)
        diag("got:  %s\nwant: %s", buf, want);
    ok(only_printable_and_utf8(buf, n) && memchr(buf, '\n', n) == buf + n - 1,
       "finding 9: the line holds no control byte, and one newline: its end");

    memset(big, '\r', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    log_error("%s", big);
    n = drain(buf, sizeof buf);
    ok(n <= 1024 && only_printable_and_utf8(buf, n) && memchr(buf, '\n', n) == buf + n - 1,
       "a message of 2999 CRs: one line of at most 1024 bytes (%zu), no control byte", n);
    ok(n > 5 && memcmp(buf + n - 5, "\\x0d\n", 5) == 0,
       "... cut before an escape that does not fit, never inside one");

    memset(big, 'a', sizeof big - 1);
    log_info("%s", big);
    n = drain(buf, sizeof buf);
    ok(n == 1024 && buf[1023] == '\n' && buf[1022] == 'a', "a long plain message: cut at 1024 "
       "bytes with its newline");

    ok(log_escape(esc, 3, "\r", 1) == 0 && log_escape(esc, 4, "\r", 1) == 4 &&
           memcmp(esc, "\\x0d", 4) == 0,
       "log_escape: an escape is written whole or not at all");
    ok(log_escape(esc, 8, "\xc2\x85", 2) == 8 && memcmp(esc, "\\xc2\\x85", 8) == 0 &&
           log_escape(esc, 8, "\xc2\xa0", 2) == 2 && log_escape(esc, 8, "\xc2", 1) == 1,
       "log_escape: C1 NEL (0xC2 0x85) escaped; a no-break space and a lone 0xC2 kept");

    if (dup2(saved, 2) < 0)
        return 99;
    return done_testing();
}
