/* intake.h -- new connections: accept, read and check a whole request without blocking, then serve it */
#ifndef FCGI_SSE_SERVER_INTAKE_H
#define FCGI_SSE_SERVER_INTAKE_H

#include <stddef.h>

#include "core/loop.h"
#include "server/peer.h"
#include "stream/stream.h"

/* Serves the request that libfcgi read into s (its params readable, its
 * connection the web server's), with its body (malloc'd, or NULL) or
 * body_too_big: takes s and body. */
typedef void (*intake_serve_fn)(void *arg, struct stream *s, char *body, size_t body_len,
                                int body_too_big);

struct intake_config {
    int listen_fd;              /* non-blocking listening socket (the caller's) */
    struct peer_acl acl;        /* FCGI_WEB_SERVER_ADDRS */
    intake_serve_fn serve;      /* how requests are served (dispatch_request) */
    void *serve_arg;
    size_t body_max;            /* request body accepted (--max-message); more gets 413 */
    long long timeout_ns;       /* a whole request must arrive within this */
    size_t mem_max;             /* bytes of requests being read, all connections together */
    struct stats *stats;        /* counts the connections closed unanswered, or NULL */
};

struct intake;

/* Starts taking connections on cfg->listen_fd in loop l. Everything is
 * non-blocking and runs in the loop's thread: each wake-up accepts every
 * pending connection (the listen backlog absorbs a reconnect storm),
 * reads each connection as bytes arrive until its request is complete,
 * checks every record as it arrives (frame.c) under one deadline and one
 * cap on its bytes, and only then lets libfcgi parse it, from a memfd
 * holding exactly those bytes, so libfcgi never waits on a peer. Answers
 * are written without blocking and connections closed without lingering.
 * NULL with errno on failure. */
struct intake *intake_start(struct loop *l, const struct intake_config *cfg);

/* Takes a connected, non-blocking, close-on-exec socket as if it had
 * just been accepted (and allowed): what the listener does for each
 * connection, and what the fuzzing harness calls with a socketpair.
 * 0, or -1 (fd closed). */
int intake_adopt(struct intake *in, int fd);

/* Stops accepting and closes every connection still being read. */
void intake_stop(struct intake *in);

/* Frees the intake (stopping it first). */
void intake_destroy(struct intake *in);

#endif
