/* sub.h -- the subscription source: a stream of the messages of up to 16 channels, replay then live */
#ifndef FCGI_SSE_SUB_H
#define FCGI_SSE_SUB_H

#include "chan.h"
#include "history.h"
#include "stream.h"

/* What every subscription shares; set once at start. The engine must
 * have been created with sub_deliver as its deliver function. */
struct sub_params {
    struct chan_engine *engine;
    long long heartbeat_ns;        /* a comment after this much silence; 0 = off */
    unsigned long *delivered;      /* events written to subscribers (/status) */
    struct history *history;       /* what the engine does not hold (history.h) */
    unsigned long retry_ms;        /* --retry: the retry: line, and Retry-After on 503 */
};
void sub_setup(const struct sub_params *p);

/* The engine's deliver function: a message published on a channel l
 * belongs to. A subscriber that is caught up gets it written at once; a
 * full send buffer drops it (it resumes from history); one still
 * replaying takes it from the history in turn. Never waits. */
void sub_deliver(struct chan_link *l, struct msg *m, void *ctx);

/* The engine's resync function (chan_gap_all): a subscriber that was
 * caught up looks again at its history (from its timer). */
void sub_resync(struct chan_link *l, void *ctx);

/* Makes s (begun, its header block not written, not yet in the hub) a
 * subscription to names[0, n) (valid, distinct, at most CHAN_SUB_MAX),
 * and writes its header block (resp_stream_head) once subscribed. With a
 * Last-Event-ID (last non-NULL), every retained message of those
 * channels after it is written first, in id order, exactly once, then
 * live ones; when messages after it were dropped (or lost in a restart),
 * `event: reset` with the oldest id still retained comes first. Without
 * one, every message published after its header block was written.
 * 0, or -1 with errno: ENOSPC (a channel would be one more than
 * --max-channels: nothing was written, the caller answers 503), EPIPE
 * (the header block could not be written), ENOMEM.
 * What the engine does not hold comes from the history (history.h): with
 * --redis, a replay is fetched from Redis's streams in bounded batches,
 * then what the blocking read stored since (`event: reset` when Redis
 * trimmed an entry after the id); in memory, a subscriber that misses
 * what the engine dropped gets a reset first, or, mid-stream, is dropped
 * (it resumes with one). Without a Last-Event-ID it starts where the
 * history says (its start); while that cannot be known (Redis never
 * reached), the header block waits, at most 10 s, then 503. */
int sub_start(struct stream *s, const char (*names)[CHAN_NAME_MAX + 1], unsigned n,
              const struct msgid *last, long long now);

#endif
