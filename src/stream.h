/* stream.h -- one open event stream over FastCGI: its libfcgi request cut down to the output */
#ifndef FCGI_SSE_STREAM_H
#define FCGI_SSE_STREAM_H

#include <fcgiapp.h>

#include "sched.h"
#include "theap.h"

struct stream {
    FCGX_Request req;              /* from FCGX_Accept_r; after stream_begin only
                                      req.out and the connection remain */
    struct sched sched;            /* ids and deadlines */
    struct theap_node timer;       /* next wake-up, owned by the hub */
    int fd;                        /* the connection to the web server */
    struct stream *next;           /* link in the hub's hand-off queue */
};

enum stream_status {
    STREAM_OPEN = 0,   /* wrote what was due; wake again at timer.due */
    STREAM_DONE,       /* sent its limit: end it cleanly */
    STREAM_SLOW,       /* send buffer full: the reader is too slow, drop it */
    STREAM_GONE        /* write failed: the web server closed the connection */
};

/* Allocates a stream with its request initialised for listen_fd (-1: the
 * caller accepts connections itself). NULL on ENOMEM. */
struct stream *stream_create(int listen_fd);

/* Turns an accepted request whose header block is already flushed into a
 * long-lived stream: frees what libfcgi kept for reading the request
 * (input buffer, params, stderr writer), keeping only the output writer;
 * makes the connection non-blocking with a send buffer of sndbuf bytes
 * (the backlog cap); starts the schedule at now. Params (envp) are
 * invalid afterwards. Returns 0, or -1 with errno. */
int stream_begin(struct stream *s, const struct sched_params *p, int sndbuf,
                 unsigned long long first_id, unsigned long long limit, long long now);

/* Writes everything due at `now` in one write and sets timer.due to the
 * next wake-up. *events gets the number of events written. Never blocks. */
enum stream_status stream_tick(struct stream *s, const struct sched_params *p,
                               long long now, unsigned long *events);

/* Ends the response and closes the connection. clean: end the FastCGI
 * request properly (stdout EOF + END_REQUEST) so the client sees a normal
 * end of response; otherwise just close (the peer is gone or too slow).
 * Never blocks: the socket is closed without libfcgi's lingering read. */
void stream_end(struct stream *s, int clean);

/* Frees s, closing (not cleanly) a connection still open. */
void stream_destroy(struct stream *s);

#endif
