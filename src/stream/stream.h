/* stream.h -- one open event stream over FastCGI: its connection, its output, and its source */
#ifndef FCGI_SSE_STREAM_STREAM_H
#define FCGI_SSE_STREAM_STREAM_H

#include <fcgiapp.h>

#include "core/list.h"
#include "core/loop.h"
#include "http/resp.h"
#include "http/stats.h"

struct stream;

enum stream_status {
    STREAM_OPEN = 0,   /* wrote what it could; wake again at timer.node.due (0: no timer) */
    STREAM_DONE,       /* nothing more to send: end it cleanly */
    STREAM_SLOW,       /* send buffer full: the reader is too slow, drop it */
    STREAM_GONE        /* write failed: the web server closed the connection */
};

/* Where a stream's events come from: the counter's schedule (counter.c),
 * a channel subscription (subscription.c), a program's output (program.c); each keeps
 * its state for the stream in src_state. What the hub does with the connection
 * (hang-up, writability, ending, freeing) is the same for every source. */
struct source {
    const char *name;
    /* The stream's timer is due: write what is due, set timer.node.due
     * for the next wake-up (0: none) and say how the stream is. */
    enum stream_status (*due)(struct stream *s, long long now);
    /* The connection can take more (the source set want_out). */
    enum stream_status (*writable)(struct stream *s, long long now);
    /* Frees what the source holds; called once, before s is freed. */
    void (*release)(struct stream *s);
};

struct stream {
    FCGX_Request req;              /* read by fcgireq_read; after stream_begin only
                                      the output writer and the connection remain */
    struct loop_io io;             /* the connection to the web server */
    struct loop_timer timer;       /* the source's next wake-up */
    const struct source *src;
    void *src_state;               /* the source's own state for this stream */
    int sndbuf;                    /* the send buffer as the kernel sized it */
    int want_out;                  /* the source waits for the connection to drain */
    int watching_out;              /* EPOLLOUT is in the loop's set */
    int dead;                      /* ended; freed after the loop's current turn */
    long long last_output;         /* when bytes were last written (heartbeats) */
    void *owner;                   /* the hub that runs it */
    struct stats *stats;           /* counts its bytes and its answers' statuses, or NULL */
    enum stats_kind kind;          /* what it carries, for the counts by kind (admit.c) */
    struct list node;              /* the owner's list of live streams, or of ended ones */
};

/* Allocates a stream with no request. NULL on ENOMEM. */
struct stream *stream_create(void);

/* Turns a request whose header block is already flushed into a long-lived
 * stream: frees what libfcgi kept for reading the request (fcgireq_trim)
 * and gives the non-blocking connection a send buffer of sndbuf bytes
 * (the backlog cap). Params are invalid afterwards. The caller then sets
 * the source. Returns 0, or -1 with errno. */
int stream_begin(struct stream *s, int sndbuf, long long now);

/* Writes buf[0, len) and flushes it, without blocking (counted in
 * s->stats->bytes_written when it was). STREAM_OPEN;
 * STREAM_SLOW when the send buffer is full (a record may be cut short:
 * the stream must be dropped); STREAM_GONE when the peer is gone. */
enum stream_status stream_send(struct stream *s, const char *buf, size_t len, long long now);

/* Bytes that can be sent now without the send buffer filling: what a
 * source that replays a backlog checks before each piece (SIOCOUTQ
 * against the send buffer), so that a write never stops half-way. */
long stream_room(const struct stream *s);

/* The largest piece stream_send writes in one record (libfcgi's 8 KB writer). */
#define STREAM_PIECE 8000

/* A sink (resp.h) that writes to s's response: for the header block or
 * an error before the stream's events, and for a publish's answer. Its
 * end (for answers whose work goes on after them) ends the response; its
 * answers are counted in s->stats. */
void stream_sink(struct stream *s, struct resp_sink *o);

/* Ends the response and closes the connection (fcgireq_end). */
void stream_end(struct stream *s, int clean);

/* Frees s (its source first), closing (not cleanly) a connection still open. */
void stream_destroy(struct stream *s);

#endif
