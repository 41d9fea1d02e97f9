/* stream.c -- one open event stream over FastCGI: its libfcgi request cut down to the output */
#include "config.h"

#include "stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>

struct stream *stream_create(int listen_fd)
{
    struct stream *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    if (FCGX_InitRequest(&s->req, listen_fd, 0) != 0) {
        free(s);
        return NULL;
    }
    s->timer.index = THEAP_NONE;
    s->fd = -1;
    return s;
}

int stream_begin(struct stream *s, const struct sched_params *p, int sndbuf,
                 unsigned long long first_id, unsigned long long limit, long long now)
{
    FCGX_Stream *out = s->req.out;
    int flags;

    /* libfcgi has no accessor for the connection; ipcFd is part of the
     * installed FCGX_Request layout (its ABI) and is only read here. */
    s->fd = s->req.ipcFd;

    /* Closing the unused, empty stderr writer writes nothing but counts
     * it as done, so that closing out at the end writes END_REQUEST. */
    if (FCGX_FClose(s->req.err) != 0)
        return -1;
    /* FCGX_Free(req, 0) frees in (8 KB), err and the params but keeps the
     * connection; out is set aside so that it survives. */
    s->req.out = NULL;
    FCGX_Free(&s->req, 0);
    s->req.out = out;
    s->req.envp = NULL;

    flags = fcntl(s->fd, F_GETFL);
    if (flags < 0 || fcntl(s->fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return -1;
    if (setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) < 0)
        return -1;

    sched_start(&s->sched, p, now, first_id, limit);
    s->timer.due = sched_wake(&s->sched, p);
    return 0;
}

enum stream_status stream_tick(struct stream *s, const struct sched_params *p,
                               long long now, unsigned long *events)
{
    char buf[SCHED_OUT_MAX];
    size_t len = sched_due(&s->sched, p, now, buf, events);

    if (len && (FCGX_PutStr(buf, (int)len, s->req.out) != (int)len ||
                FCGX_FFlush(s->req.out) != 0)) {
        int err = FCGX_GetError(s->req.out);
        *events = 0;
        return err == EAGAIN || err == EWOULDBLOCK ? STREAM_SLOW : STREAM_GONE;
    }
    if (sched_done(&s->sched))
        return STREAM_DONE;
    s->timer.due = sched_wake(&s->sched, p);
    return STREAM_OPEN;
}

void stream_end(struct stream *s, int clean)
{
    if (!s->req.out)
        return;
    /* FClose on the empty out writer emits stdout EOF and, as the last
     * writer, END_REQUEST; an error is moot: the connection closes next. */
    if (clean)
        (void)FCGX_FClose(s->req.out);
    /* Detached, libfcgi closes without shutdown() and its blocking
     * read-until-EOF (up to 2 s), which would stall the event loop. */
    (void)FCGX_Detach(&s->req);
    FCGX_Free(&s->req, 1);
    s->fd = -1;
}

void stream_destroy(struct stream *s)
{
    if (!s)
        return;
    stream_end(s, 0);
    FCGX_Free(&s->req, 1);
    free(s);
}
