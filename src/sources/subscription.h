/* subscription.h -- the subscription source: a stream of the messages of up to 16 channels, replay then live */
#ifndef FCGI_SSE_SOURCES_SUBSCRIPTION_H
#define FCGI_SSE_SOURCES_SUBSCRIPTION_H

#include "channels/chan.h"
#include "channels/history.h"
#include "stream/stream.h"

struct subs;

/* What every subscription shares. The engine must have been created with
 * sub_deliver as its deliver function. */
struct sub_params {
    struct chan_engine *engine;
    long long heartbeat_ns;        /* a comment after this much silence; 0 = off */
    unsigned long *delivered;      /* events written to subscribers (/status) */
    struct history *history;       /* what the engine does not hold (history.h) */
    unsigned long retry_ms;        /* --retry: the retry: line, and Retry-After on 503 */
};
/* The subscription source (it makes sub_resync the engine's resync
 * function). NULL on ENOMEM. */
struct subs *sub_create(const struct sub_params *p);
void sub_destroy(struct subs *c);

/* The engine's deliver function: a message published on a channel l
 * belongs to. A subscriber that is caught up gets it written at once; a
 * full send buffer drops it (it resumes from history); one still
 * replaying takes it from the history in turn. Never waits. */
void sub_deliver(struct chan_link *l, struct msg *m, void *ctx);

/* The engine's resync function (chan_gap_all): a subscriber that was
 * caught up looks again at its history (from its timer). */
void sub_resync(struct chan_link *l, void *ctx);

/* The engine's on_delete function (chan_delete): a channel l belongs to
 * was deleted. The subscriber's stream ends, whatever its other channels:
 * a message it was writing is finished, then `event: deleted` with the
 * channel's name as its data, then the end of the stream. Nothing
 * published afterwards reaches it. Never waits (written from its timer). */
void sub_deleted(struct chan_link *l, const char *name, void *ctx);

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
int sub_start(const struct subs *c, struct stream *s, const char (*names)[CHAN_NAME_MAX + 1],
              unsigned n, const struct msgid *last, long long now);

/* A subscription whose owner decides what it gets and how it begins (the
 * Mercure hub's): sub_start with these. NULL or 0 members behave as a
 * channel subscription does. */
struct sub_spec {
    const char (*names)[CHAN_NAME_MAX + 1];
    unsigned n;
    const struct msgid *last;      /* resume after this; NULL: from where it starts */
    int quiet;                     /* its links are not called on a publish: the owner
                                      calls sub_offer with the messages it matched */
    int no_reset;                  /* never `event: reset`: the owner chose `last` knowing
                                      what the engine holds (a gap drops the stream) */
    /* 1 when the subscriber gets m: every message is asked, in replay too;
     * topics_known: the owner has matched m's topics already (sub_offer) */
    int (*accept)(void *ctx, const struct msg *m, int topics_known);
    /* writes the header block instead of resp_stream_head: 0, or -1 */
    int (*head)(void *ctx, const struct resp_sink *o);
    /* the stream ends (called once, last; also when it never started) */
    void (*released)(void *ctx);
    void *ctx;
    long long end_ns;              /* ends cleanly at this CLOCK_MONOTONIC time; 0 never */
};
int sub_start_spec(const struct subs *c, struct stream *s, const struct sub_spec *spec,
                   long long now);

/* A message of its channel that the owner of a quiet subscription matched
 * (its topics): written as sub_deliver writes, if accept agrees. */
void sub_offer(struct stream *s, struct msg *m);

#endif
