/* hub.h -- the open streams: each driven by its source in the event loop, freed the moment it ends */
#ifndef FCGI_SSE_STREAM_HUB_H
#define FCGI_SSE_STREAM_HUB_H

#include <signal.h>

#include "core/loop.h"
#include "stream/stream.h"

struct hub;

/* What the hub tells its owner. */
struct hub_hooks {
    void (*ended)(void *arg, struct stream *s); /* a stream it owned ended: its slot is
                                                   free again */
    void *arg;
    unsigned long *dropped_slow;   /* counts the streams dropped for a full send buffer */
};

/* A hub running its streams in loop l. NULL with errno on failure. */
struct hub *hub_create(struct loop *l, const struct hub_hooks *hooks);

/* Takes a begun stream (stream_begin) with its source set: from now on the
 * hub calls the source when its timer is due and when the connection
 * drains, ends it when the source is done, frees it as soon as its
 * connection hangs up or sends an abort, drops it when its backlog is
 * full, and calls hooks->ended once for it when it ends.
 * 0: the hub owns s; -1 (closing, or out of memory): the caller still does. */
int hub_add(struct hub *h, struct stream *s);

/* Applies what a source returned outside the hub's own calls (a channel
 * delivering a message): ends or drops s, or updates its timer and
 * watched events. s stays allocated until the loop's turn ends. */
void hub_update(struct stream *s, enum stream_status st);

/* Ends every stream cleanly and refuses further streams. Returns early
 * (leaving the rest to hub_destroy or process exit) once *stop exceeds 1. */
void hub_close(struct hub *h, const volatile sig_atomic_t *stop);

/* Frees the hub; streams left are closed, not cleanly. */
void hub_destroy(struct hub *h);

#endif
