/* cli_fcgi.c -- the commands' FastCGI client: a connection to a responder, one request sent, its answer read */
#include "config.h"

#include "core/addr.h"
#include "core/clock.h"
#include "cli/cli_int.h"

#include <errno.h>
#include <fcgiapp.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The streams of FCGX_CreateWriter, kept for the life of the process:
 * libfcgi allocates a request for each one that FCGX_FreeStream does not
 * free ("cgi-fcgi doesn't care"); held here, a leak checker sees them as
 * reachable rather than lost. volatile: a compiler may drop stores to a
 * static that is never read, and the streams would then look lost. */
static FCGX_Stream *volatile cli_streams[2];

/* Milliseconds left until deadline (at least 0). */
static int cli_left_ms(long long deadline)
{
    long long now = clock_now_ms();

    return now >= deadline ? 0 : (int)(deadline - now);
}

/* Sets the send timeout of fd (bounds connect and each write) to ms. 0, or -1. */
static int cli_send_timeout(int fd, int ms)
{
    struct timeval tv;

    if (ms <= 0)
        ms = 1;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Connects to ad (name: --socket as given, for messages), a send timeout
 * of what is left until deadline bounding the connect. The socket, or -1
 * after a one-line message. */
int cli_connect(const char *cmd, const struct addr *ad, const char *name, long long deadline)
{
    struct addrinfo hints, *res = NULL, *ai;
    int fd = -1, err, e = 0;

    if (ad->is_unix) {
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        memcpy(sun.sun_path, ad->path, sizeof sun.sun_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || cli_send_timeout(fd, cli_left_ms(deadline)) < 0 ||
            connect(fd, (const struct sockaddr *)&sun, sizeof sun) < 0) {
            e = errno;
            if (fd >= 0)
                (void)close(fd);
            fprintf(stderr, "fcgi-sse %s: cannot connect to %s: %s\n", cmd, name,
                    strerror(e == EINPROGRESS || e == EAGAIN ? ETIMEDOUT : e));
            return -1;
        }
        return fd;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    err = getaddrinfo(ad->host, ad->port, &hints, &res);
    if (err) {
        fprintf(stderr, "fcgi-sse %s: cannot resolve %s: %s\n", cmd, ad->host,
                err == EAI_SYSTEM ? strerror(errno) : gai_strerror(err));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (cli_send_timeout(fd, cli_left_ms(deadline)) == 0 &&
            connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        e = errno;
        (void)close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "fcgi-sse %s: cannot connect to %s: %s\n", cmd, name,
                strerror(e == EINPROGRESS || e == EAGAIN ? ETIMEDOUT : e));
        return -1;
    }
    return fd;
}

/* Writes all of buf to fd (a send timeout is set). 0, or -1 with errno. */
static int cli_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t w = write(fd, p, len);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Puts one FastCGI name-value pair (lengths of 1 byte below 128, else 4). 0, or -1. */
static int cli_put_param(FCGX_Stream *s, const char *name, const char *value)
{
    size_t lens[2] = { strlen(name), strlen(value) };
    unsigned char hdr[8];
    int n = 0, i;

    for (i = 0; i < 2; i++) {
        if (lens[i] > 0x7fffffffUL)
            return -1;
        if (lens[i] < 128) {
            hdr[n++] = (unsigned char)lens[i];
        } else {
            hdr[n++] = (unsigned char)(0x80 | (lens[i] >> 24));
            hdr[n++] = (unsigned char)(lens[i] >> 16);
            hdr[n++] = (unsigned char)(lens[i] >> 8);
            hdr[n++] = (unsigned char)lens[i];
        }
    }
    if (FCGX_PutStr((const char *)hdr, n, s) != n ||
        FCGX_PutStr(name, (int)lens[0], s) != (int)lens[0] ||
        FCGX_PutStr(value, (int)lens[1], s) != (int)lens[1])
        return -1;
    return 0;
}

/* Sends the request: BEGIN_REQUEST, PARAMS, STDIN. 0, or -1 with errno. */
int cli_send(int fd, const char *const *params, const char *body, size_t len,
                    long long deadline)
{
    const unsigned char begin[16] = {
        CLI_FCGI_VERSION, CLI_FCGI_BEGIN_REQUEST, 0, CLI_REQUEST_ID, 0, 8, 0, 0,
        0, CLI_FCGI_RESPONDER, 0 /* flags: no keep-conn */, 0, 0, 0, 0, 0 };
    FCGX_Stream *s;
    size_t i;

    if (cli_write_all(fd, begin, sizeof begin) < 0)
        return -1;
    s = cli_streams[0] = FCGX_CreateWriter(fd, CLI_REQUEST_ID, CLI_WRITE_BUF, CLI_FCGI_PARAMS);
    if (!s) {
        errno = ENOMEM;
        return -1;
    }
    for (i = 0; params[i]; i += 2)
        if (cli_put_param(s, params[i], params[i + 1]) < 0)
            break;
    if (params[i] || FCGX_FClose(s) != 0)
        goto stream_error;
    s = cli_streams[1] = FCGX_CreateWriter(fd, CLI_REQUEST_ID, CLI_WRITE_BUF, CLI_FCGI_STDIN);
    if (!s) {
        errno = ENOMEM;
        return -1;
    }
    /* In pieces, each write bounded by what is left of the deadline. */
    for (i = 0; i < len; i += 65536) {
        int n = len - i > 65536 ? 65536 : (int)(len - i);
        int left = cli_left_ms(deadline);

        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (cli_send_timeout(fd, left) < 0)
            return -1;
        if (FCGX_PutStr(body + i, n, s) != n)
            goto stream_error;
    }
    if (FCGX_FClose(s) != 0)
        goto stream_error;
    return 0;

stream_error: {
        int e = FCGX_GetError(s);

        errno = e > 0 ? e : EPROTO;
        if (errno == EAGAIN)
            errno = ETIMEDOUT;
        return -1;
    }
}

/* Reads exactly n bytes before deadline. 1, 0 at end of file (nothing
 * or part read), or -1 with errno (ETIMEDOUT at the deadline). */
static int cli_read_exact(int fd, unsigned char *buf, size_t n, long long deadline)
{
    size_t have = 0;

    while (have < n) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int left = cli_left_ms(deadline), r;
        ssize_t got;

        if (left == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        r = poll(&pfd, 1, left);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            continue; /* the deadline is checked above */
        got = read(fd, buf + have, n - have);
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        if (got == 0) {
            errno = 0;
            return 0;
        }
        have += (size_t)got;
    }
    return 1;
}

/* Reads records until END_REQUEST: at most CLI_ANSWER_MAX bytes of
 * content, before deadline. 0, or -1 with a one-line reason in why. */
int cli_receive(int fd, struct cli_answer *ans, long long deadline, char *why, size_t wlen)
{
    static unsigned char rec[65535 + 255];
    unsigned char h[8];

    for (;;) {
        size_t clen, plen;
        int r = cli_read_exact(fd, h, sizeof h, deadline);

        if (r <= 0)
            goto read_error;
        clen = (size_t)h[4] << 8 | h[5];
        plen = h[6];
        r = cli_read_exact(fd, rec, clen + plen, deadline);
        if (r <= 0)
            goto read_error;
        if (h[0] != CLI_FCGI_VERSION || ((unsigned)h[2] << 8 | h[3]) != CLI_REQUEST_ID) {
            snprintf(why, wlen, "the answer is not FastCGI for this request");
            return -1;
        }
        if (h[1] == CLI_FCGI_STDOUT || h[1] == CLI_FCGI_STDERR) {
            char **buf = h[1] == CLI_FCGI_STDOUT ? &ans->out : &ans->err;
            size_t *len = h[1] == CLI_FCGI_STDOUT ? &ans->out_len : &ans->err_len;
            char *nb;

            if (clen == 0)
                continue;
            if (ans->out_len + ans->err_len + clen > CLI_ANSWER_MAX) {
                snprintf(why, wlen, "the answer is larger than 1 MiB");
                return -1;
            }
            nb = realloc(*buf, *len + clen + 1);
            if (!nb) {
                snprintf(why, wlen, "out of memory");
                return -1;
            }
            memcpy(nb + *len, rec, clen);
            *len += clen;
            nb[*len] = '\0';
            *buf = nb;
        } else if (h[1] == CLI_FCGI_END_REQUEST && clen == 8) {
            if (rec[4] != CLI_FCGI_REQUEST_COMPLETE) {
                snprintf(why, wlen, "the responder refused the request "
                        "(FastCGI protocol status %u)", rec[4]);
                return -1;
            }
            return 0;
        } else {
            snprintf(why, wlen, "unexpected FastCGI record type %u in the answer", h[1]);
            return -1;
        }
    }

read_error:
    if (errno == ETIMEDOUT)
        snprintf(why, wlen, "no complete answer within %d s", CLI_TIMEOUT_MS / 1000);
    else
        snprintf(why, wlen, "the connection ended before the answer was complete%s%s",
                errno ? ": " : "", errno ? strerror(errno) : "");
    return -1;
}

int cli_request(const char *cmd, const struct addr *ad, const char *name,
                const char *const *params, const char *body, size_t len)
{
    struct cli_answer ans = { NULL, 0, NULL, 0 };
    long long deadline = clock_now_ms() + CLI_TIMEOUT_MS;
    struct sigaction sa;
    char why[300];
    int fd, rc;

    /* A responder that answers and closes before reading the whole request
     * must not kill us: its answer is still read. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) < 0) {
        fprintf(stderr, "fcgi-sse %s: cannot ignore SIGPIPE: %s\n", cmd, strerror(errno));
        return 1;
    }
    fd = cli_connect(cmd, ad, name, deadline);
    if (fd < 0)
        return 1;
    if (cli_send(fd, params, body, len, deadline) < 0) {
        int e = errno;

        /* The responder may have answered early (and closed): read that. */
        if (cli_receive(fd, &ans, deadline, why, sizeof why) < 0) {
            fprintf(stderr, "fcgi-sse %s: cannot send the request to %s: %s\n", cmd, name,
                    strerror(e));
            rc = 1;
        } else {
            rc = cli_report(cmd, &ans);
        }
    } else if (cli_receive(fd, &ans, deadline, why, sizeof why) < 0) {
        fprintf(stderr, "fcgi-sse %s: %s\n", cmd, why);
        rc = 1;
    } else {
        rc = cli_report(cmd, &ans);
    }
    if (close(fd) < 0 && rc == 0) {
        fprintf(stderr, "fcgi-sse %s: closing the connection: %s\n", cmd, strerror(errno));
        rc = 1;
    }
    free(ans.out);
    free(ans.err);
    return rc;
}
