/* stream.c -- one open event stream over FastCGI: its libfcgi request cut down to the output */
#include "config.h"

#include "stream.h"
#include "fcgireq.h"

#include <errno.h>
#include <stdlib.h>
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

int stream_begin(struct stream *s, const struct sched_params *p, int sndbuf,
                 unsigned long long first_id, unsigned long long limit, long long now)
{
    s->io.fd = fcgireq_fd(&s->req);
    if (fcgireq_trim(&s->req) < 0)
        return -1;
    if (setsockopt(s->io.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) < 0)
        return -1;
    sched_start(&s->sched, p, now, first_id, limit);
    s->timer.node.due = sched_wake(&s->sched, p);
    return 0;
}

enum stream_status stream_tick(struct stream *s, const struct sched_params *p,
                               long long now, unsigned long *events)
{
    char buf[SCHED_OUT_MAX];
    size_t len = sched_due(&s->sched, p, now, buf, events);

    if (len && (fcgireq_write(&s->req, buf, len) < 0 || fcgireq_flush(&s->req) < 0)) {
        int err = errno;
        *events = 0;
        return err == EAGAIN || err == EWOULDBLOCK ? STREAM_SLOW : STREAM_GONE;
    }
    if (sched_done(&s->sched))
        return STREAM_DONE;
    s->timer.node.due = sched_wake(&s->sched, p);
    return STREAM_OPEN;
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
    stream_end(s, 0);
    free(s);
}
