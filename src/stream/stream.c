/* stream.c -- one open event stream over FastCGI: its connection, its output, and its source */
#include "config.h"

#include "stream/stream.h"
#include "fcgi/fcgireq.h"

#include <errno.h>
#include <linux/sockios.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

struct stream *stream_create(void)
{
    struct stream *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    if (FCGX_InitRequest(&s->req, -1, 0) != 0) {
        free(s);
        return NULL;
    }
    s->io.fd = -1;
    loop_timer_init(&s->timer, NULL);
    return s;
}

int stream_begin(struct stream *s, int sndbuf, long long now)
{
    socklen_t sl = sizeof s->sndbuf;

    s->io.fd = fcgireq_fd(&s->req);
    if (fcgireq_trim(&s->req) < 0)
        return -1;
    if (setsockopt(s->io.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) < 0 ||
        getsockopt(s->io.fd, SOL_SOCKET, SO_SNDBUF, &s->sndbuf, &sl) < 0)
        return -1;
    s->last_output = now;
    return 0;
}

enum stream_status stream_send(struct stream *s, const char *buf, size_t len, long long now)
{
    if (fcgireq_write(&s->req, buf, len) < 0 || fcgireq_flush(&s->req) < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? STREAM_SLOW : STREAM_GONE;
    if (s->stats)
        s->stats->bytes_written += len;
    s->last_output = now;
    return STREAM_OPEN;
}

static int sink_write(void *ctx, const char *buf, size_t len)
{
    return fcgireq_write(ctx, buf, len);
}

static int sink_flush(void *ctx)
{
    return fcgireq_flush(ctx);
}

static void sink_end(void *ctx)
{
    fcgireq_end(ctx, 1);
}

void stream_sink(struct stream *s, struct resp_sink *o)
{
    o->write = sink_write;
    o->flush = sink_flush;
    o->ctx = &s->req;
    o->end = sink_end;
    o->stats = s->stats;
}

long stream_room(const struct stream *s)
{
    int queued = 0;

    if (ioctl(s->io.fd, SIOCOUTQ, &queued) < 0)
        return 0;
    /* The kernel counts each piece with its overhead (a few hundred bytes
     * for 8 KB): count an eighth of what is free as overhead. */
    return ((long)s->sndbuf - queued) / 8 * 7;
}

void stream_end(struct stream *s, int clean)
{
    fcgireq_end(&s->req, clean);
    s->io.fd = -1;
}

void stream_destroy(struct stream *s)
{
    if (!s)
        return;
    if (s->src && s->src->release)
        s->src->release(s);
    s->src = NULL;
    stream_end(s, 0);
    free(s);
}
