/* feed.h -- the status feed: the /status figures as an event every second (.../status?stream=1) */
#ifndef FCGI_SSE_SOURCES_FEED_H
#define FCGI_SSE_SOURCES_FEED_H

#include <stddef.h>

#include "stream/stream.h"

/* Writes the figures as one JSON object into buf[cap]: its length (a
 * trailing newline is dropped), or -1. The owner of the figures gives it
 * (the server assembles /status). */
typedef int (*feed_render_fn)(void *ctx, char *buf, size_t cap);

struct feed;

/* The feed source: every stream gets `event: status` with render's JSON
 * as its data at once, then every interval_ns; *events counts them. A
 * reader that cannot take an event misses it (the next one has the
 * figures of then); one that took none for 10 s is dropped as slow.
 * NULL on ENOMEM. */
struct feed *feed_create(feed_render_fn render, void *ctx, long long interval_ns,
                         unsigned long *events);
void feed_destroy(struct feed *f);

/* Makes s (begun, its header block flushed) a status feed; its first
 * event is due now. 0, or -1 (ENOMEM). */
int feed_start(struct feed *f, struct stream *s, long long now);

#endif
