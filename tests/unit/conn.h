/* conn.h -- a stream as the intake hands it over, for the unit tests of the hub and of the
 * sources: a real FastCGI request (BEGIN_REQUEST, PARAMS, STDIN as lighttpd sends them) is
 * written into a memfd and read by libfcgi (fcgireq_read, as intake.c does), and the stream's
 * connection is one end of a socketpair; the test holds the other end, the web server's, and
 * reads back the records the stream writes there (STDOUT content, END_REQUEST).
 * Limits: one request id (1); at most CONN_OUT_MAX bytes of STDOUT are kept per peer (more is
 * a failed check, not an overflow); a helper that cannot set up (socketpair, memfd, libfcgi
 * refusing the request) aborts: that is a broken test, not a finding. Header-only (static
 * functions): include it once. */
#ifndef FCGI_SSE_TEST_CONN_H
#define FCGI_SSE_TEST_CONN_H

#include "core/clock.h"
#include "fcgi/fcgireq.h"
#include "stream/stream.h"

#include <errno.h>
#include <fastcgi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONN_OUT_MAX 65536
#define CONN_SNDBUF 65536

static int conn_ready;            /* FCGX_Init done, SIGPIPE ignored */

/* The web server's end of a stream's connection. */
struct conn_peer {
    int fd;                       /* -1 once closed */
    unsigned char raw[CONN_OUT_MAX + 16]; /* records not yet whole */
    size_t raw_len;
    char out[CONN_OUT_MAX + 1];   /* STDOUT content so far, NUL-terminated */
    size_t out_len;
    int overflow;                 /* more STDOUT than CONN_OUT_MAX */
    int ended;                    /* END_REQUEST seen */
    int app_status, proto_status; /* its contents */
    int eof;                      /* the stream closed the connection */
};

__attribute__((unused))
static void conn_die(const char *what)
{
    perror(what);
    abort();
}

/* Appends one record to buf at *n. */
__attribute__((unused))
static void conn_record(unsigned char *buf, size_t *n, int type, const void *content,
                        size_t len)
{
    unsigned char *p = buf + *n;

    p[0] = 1;
    p[1] = (unsigned char)type;
    p[2] = 0;
    p[3] = 1; /* request id 1 */
    p[4] = (unsigned char)(len >> 8);
    p[5] = (unsigned char)len;
    p[6] = 0; /* no padding */
    p[7] = 0;
    if (len)
        memcpy(p + 8, content, len);
    *n += 8 + len;
}

/* A stream whose request is GET script with query (params as a web server passes them),
 * begun (stream_begin) with its connection's other end in *peer. No source yet. */
__attribute__((unused))
static struct stream *conn_stream(struct conn_peer *peer, const char *script, const char *query)
{
    static const unsigned char begin[8] = { 0, 1, 0, 0, 0, 0, 0, 0 }; /* responder, no keep */
    const char *nv[] = { "REQUEST_METHOD", "GET", "SCRIPT_NAME", script, "QUERY_STRING", query,
                         "SERVER_PROTOCOL", "HTTP/1.1" };
    unsigned char req[2048], params[1024];
    size_t n = 0, pn = 0, i;
    int sv[2], feed;
    struct stream *s;

    for (i = 0; i < sizeof nv / sizeof nv[0]; i += 2) {
        size_t kl = strlen(nv[i]), vl = strlen(nv[i + 1]);
        if (kl > 127 || vl > 127 || pn + 2 + kl + vl > sizeof params)
            conn_die("conn_stream: params too long for this helper");
        params[pn++] = (unsigned char)kl;
        params[pn++] = (unsigned char)vl;
        memcpy(params + pn, nv[i], kl);
        pn += kl;
        memcpy(params + pn, nv[i + 1], vl);
        pn += vl;
    }
    if (!conn_ready) {
        /* as main() does: libfcgi reads nothing before FCGX_Init; a write to a web
         * server that left must fail with EPIPE, not kill the process */
        struct sigaction ign;

        memset(&ign, 0, sizeof ign);
        ign.sa_handler = SIG_IGN;
        if (FCGX_Init() != 0 || sigaction(SIGPIPE, &ign, NULL) < 0)
            conn_die("FCGX_Init");
        conn_ready = 1;
    }
    conn_record(req, &n, FCGI_BEGIN_REQUEST, begin, sizeof begin);
    conn_record(req, &n, FCGI_PARAMS, params, pn);
    conn_record(req, &n, FCGI_PARAMS, NULL, 0);
    conn_record(req, &n, FCGI_STDIN, NULL, 0);

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        conn_die("socketpair");
    feed = memfd_create("test-request", MFD_CLOEXEC);
    if (feed < 0 || write(feed, req, n) != (ssize_t)n || lseek(feed, 0, SEEK_SET) < 0)
        conn_die("memfd");
    s = stream_create();
    if (!s)
        conn_die("stream_create");
    if (fcgireq_read(&s->req, feed, sv[0], NULL, 0, NULL, 0) < 0)
        conn_die("fcgireq_read refused the request"); /* it closed feed */
    close(feed);
    if (stream_begin(s, CONN_SNDBUF, clock_now_ns()) < 0)
        conn_die("stream_begin");
    memset(peer, 0, sizeof *peer);
    peer->fd = sv[1];
    return s;
}

/* Reads what the stream wrote so far (never blocks): STDOUT content into out, END_REQUEST
 * into ended, EOF into eof. Returns the bytes read. */
__attribute__((unused))
static size_t conn_read(struct conn_peer *p)
{
    size_t got = 0;

    while (p->fd >= 0 && !p->eof) {
        ssize_t r = read(p->fd, p->raw + p->raw_len, sizeof p->raw - p->raw_len);
        size_t off = 0;

        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                p->eof = 1;
            break;
        }
        if (r == 0) {
            p->eof = 1;
            break;
        }
        got += (size_t)r;
        p->raw_len += (size_t)r;
        while (p->raw_len - off >= 8) {
            const unsigned char *h = p->raw + off;
            size_t clen = (size_t)h[4] << 8 | h[5], whole = 8 + clen + h[6];

            if (p->raw_len - off < whole)
                break;
            if (h[1] == FCGI_STDOUT) {
                if (p->out_len + clen > CONN_OUT_MAX)
                    p->overflow = 1;
                else {
                    memcpy(p->out + p->out_len, h + 8, clen);
                    p->out_len += clen;
                    p->out[p->out_len] = '\0';
                }
            } else if (h[1] == FCGI_END_REQUEST && clen >= 8) {
                p->ended = 1;
                p->app_status = h[8] << 24 | h[9] << 16 | h[10] << 8 | h[11];
                p->proto_status = h[12];
            }
            off += whole;
        }
        memmove(p->raw, p->raw + off, p->raw_len - off);
        p->raw_len -= off;
    }
    return got;
}

/* Closes the peer's end: the web server's client left. */
__attribute__((unused))
static void conn_hang_up(struct conn_peer *p)
{
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
}

/* Sends FCGI_ABORT_REQUEST for request 1, as a web server does when its client leaves. */
__attribute__((unused))
static void conn_abort(struct conn_peer *p)
{
    unsigned char rec[8];
    size_t n = 0;

    conn_record(rec, &n, FCGI_ABORT_REQUEST, NULL, 0);
    if (write(p->fd, rec, n) != (ssize_t)n)
        conn_die("writing FCGI_ABORT_REQUEST");
}

/* The body after the CGI header block (what follows the first blank line), or NULL. */
__attribute__((unused))
static const char *conn_body(const struct conn_peer *p)
{
    const char *b = strstr(p->out, "\r\n\r\n");

    return b ? b + 4 : NULL;
}

/* s with CR and LF shown as \\r and \\n, cut to fit, for a one-line check name (one buffer:
 * use it once per check). */
__attribute__((unused))
static const char *conn_shown(const char *s)
{
    static char out[512];
    size_t n = 0;

    for (; s && *s && n + 3 < sizeof out; s++) {
        if (*s == '\r' || *s == '\n') {
            out[n++] = '\\';
            out[n++] = *s == '\r' ? 'r' : 'n';
        } else {
            out[n++] = *s;
        }
    }
    out[n] = '\0';
    return out;
}

/* One event of a body: its id, type and data (single data line), each "" when absent. */
struct conn_event {
    char id[64], type[64], data[256];
};

/* Splits body into at most max events (blocks ending at a blank line, comments and retry
 * lines left out); returns how many there were (all of them counted). */
__attribute__((unused))
static size_t conn_events(const char *body, struct conn_event *ev, size_t max)
{
    size_t n = 0;

    while (body && *body) {
        const char *end = strstr(body, "\n\n");
        struct conn_event e;
        const char *line = body;
        int fields = 0;

        if (!end)
            break;
        memset(&e, 0, sizeof e);
        while (line < end + 1) {
            const char *nl = strchr(line, '\n');
            int len = (int)(nl - line);
            if (strncmp(line, "id: ", 4) == 0)
                snprintf(e.id, sizeof e.id, "%.*s", len - 4, line + 4), fields++;
            else if (strncmp(line, "event: ", 7) == 0)
                snprintf(e.type, sizeof e.type, "%.*s", len - 7, line + 7), fields++;
            else if (strncmp(line, "data: ", 6) == 0)
                snprintf(e.data, sizeof e.data, "%.*s", len - 6, line + 6), fields++;
            line = nl + 1;
        }
        if (fields) {
            if (n < max)
                ev[n] = e;
            n++;
        }
        body = end + 2;
    }
    return n;
}

#endif
