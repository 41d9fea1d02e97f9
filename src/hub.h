/* hub.h -- the open streams: each driven by its source in the event loop, freed the moment it ends */
#ifndef FCGI_SSE_HUB_H
#define FCGI_SSE_HUB_H

#include <signal.h>

#include "loop.h"
#include "stats.h"
#include "stream.h"

struct hub;

/* A hub running its streams in loop l. NULL with errno on failure. */
struct hub *hub_create(struct loop *l, struct stats *st);

/* Takes a begun stream (stream_begin) with its source set, whose slot was
 * taken (admit_take): from now on the hub calls the source when its timer
 * is due and when the connection drains, ends it when the source is done,
 * frees it as soon as its connection hangs up or sends an abort, drops it
 * when its backlog is full, and gives its slot back when it is freed.
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
