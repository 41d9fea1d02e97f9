/* rbus.h -- channels through Redis: ids and history in Redis streams, one blocking read per responder, resume from Redis */
#ifndef FCGI_SSE_RBUS_H
#define FCGI_SSE_RBUS_H

#include <stddef.h>

#include "chan.h"
#include "history.h"
#include "loop.h"
#include "msgid.h"
#include "pub.h"
#include "redisurl.h"
#include "stats.h"

struct rbus;

struct rbus_config {
    struct redisurl url;            /* where Redis is, with its credentials */
    unsigned long history;          /* --history: entries each channel's stream keeps */
    unsigned long max_message;      /* --max-message: sizes what one read may bring */
};

/* Starts connecting to Redis (two connections: commands, and the one
 * blocking read of fcgi-sse:log), loading the functions
 * (src/fcgi-sse.lua), and keeps reconnecting with backoff while it is
 * down. Every message the read brings of a channel that exists in engine
 * e is stored there (chan_store_id) and fanned out, in id order; a hole
 * in the log (the read fell behind its trimming, or Redis lost data) is
 * told to the engine (chan_gap_all), whose subscribers then fetch what
 * they missed. The engine's floor follows the read. st->redis is kept
 * current. NULL on ENOMEM. */
struct rbus *rbus_create(struct loop *l, const struct rbus_config *cfg, struct chan_engine *e,
                         struct stats *st);
/* Closes the connections; publishes in flight are answered 503. */
void rbus_destroy(struct rbus *b);

/* The publish backend (pub.h): FCALL fcgi_sse_publish, done with the id
 * Redis assigned; a failure (503) while Redis is down or slow, or when
 * the messages waiting for it hold RBUS_PUB_BYTES already. */
const struct pub_backend *rbus_backend(struct rbus *b);

/* The history (history.h) of channels through Redis: rbus_position,
 * rbus_fetch and rbus_fetch_cancel. */
struct history *rbus_history(struct rbus *b);

/* Where a new subscriber without a Last-Event-ID starts: the newest id
 * this responder knows Redis issued (its read's position, and every id a
 * reply named). Every message published after this call has a later id,
 * and reaches the engine through the read (or, after a hole, a fetch).
 * 0, or -1 while Redis was never reached since start (nothing is known). */
int rbus_position(const struct rbus *b, struct msgid *out);

/* Fetches from Redis the entries of channels names[0, n) after `after`,
 * merged in id order: at most RBUS_FETCH_COUNT entries and, past the
 * first, at most `bytes` (a bounded batch: see rbus_batch.more). With
 * check_reset, says whether an entry after `after` was trimmed. Waits for
 * one of RBUS_FETCH_SLOTS slots (fetches in flight) and for Redis; the
 * slot is given back when the reply is received. NULL on ENOMEM. */
struct history_fetch *rbus_fetch(struct rbus *b, const char (*names)[CHAN_NAME_MAX + 1], unsigned n,
                              const struct msgid *after, int check_reset, size_t bytes,
                              history_fn fn, void *arg);
/* Cancels a fetch not yet answered; its callback will not be called. */
void rbus_fetch_cancel(struct history_fetch *f);

#endif
