/* stream.h -- one open event stream over FastCGI: its libfcgi request cut down to the output */
#ifndef FCGI_SSE_STREAM_H
#define FCGI_SSE_STREAM_H

#include <fcgiapp.h>

#include "loop.h"
#include "sched.h"

struct stream {
    FCGX_Request req;              /* read by fcgireq_read; after stream_begin only
                                      the output writer and the connection remain */
    struct sched sched;            /* ids and deadlines */
    struct loop_io io;             /* the connection to the web server */
    struct loop_timer timer;       /* next event or heartbeat */
    void *owner;                   /* the hub that runs it */
    struct stream *prev, *next;    /* the owner's list of open streams */
};

enum stream_status {
    STREAM_OPEN = 0,   /* wrote what was due; wake again at timer.node.due */
    STREAM_DONE,       /* sent its limit: end it cleanly */
    STREAM_SLOW,       /* send buffer full: the reader is too slow, drop it */
    STREAM_GONE        /* write failed: the web server closed the connection */
};

/* Allocates a stream with no request. NULL on ENOMEM. */
struct stream *stream_create(void);

/* Turns a request whose header block is already flushed into a long-lived
 * stream: frees what libfcgi kept for reading the request (fcgireq_trim),
 * gives the non-blocking connection a send buffer of sndbuf bytes (the
 * backlog cap), starts the schedule at now. Params are invalid
 * afterwards. Returns 0, or -1 with errno. */
int stream_begin(struct stream *s, const struct sched_params *p, int sndbuf,
                 unsigned long long first_id, unsigned long long limit, long long now);

/* Writes everything due at `now` in one write and sets timer.node.due to
 * the next wake-up. *events gets the number of events written. Never
 * blocks. */
enum stream_status stream_tick(struct stream *s, const struct sched_params *p,
                               long long now, unsigned long *events);

/* Ends the response and closes the connection (fcgireq_end). */
void stream_end(struct stream *s, int clean);

/* Frees s, closing (not cleanly) a connection still open. */
void stream_destroy(struct stream *s);

#endif
