/* redis.h -- channels through Redis: ids and history in Redis streams, one blocking read per responder, resume from Redis */
#ifndef FCGI_SSE_REDIS_REDIS_H
#define FCGI_SSE_REDIS_REDIS_H

#include <stddef.h>

#include "channels/chan.h"
#include "channels/ctl.h"
#include "channels/history.h"
#include "core/loop.h"
#include "http/msgid.h"
#include "channels/pub.h"
#include "redis/redisurl.h"
#include "http/stats.h"

struct redis;

struct redis_config {
    struct redisurl url;            /* where Redis is, with its credentials */
    unsigned long history;          /* --history: entries each channel's stream keeps */
    unsigned long internal_history; /* and each internal channel's ('@', chan.h); 0: history */
    unsigned long max_message;      /* --max-message: sizes what one read may bring */
    unsigned long long ttl_ms;      /* --history-ttl: older messages are dropped in Redis too */
    unsigned long long bytes_max;   /* --history-bytes: all channels' messages in Redis */
};

/* Starts connecting to Redis (two connections: commands, and the one
 * blocking read of fcgi-sse:log), loading the functions
 * (src/redis/fcgi-sse.lua), and keeps reconnecting with backoff while it is
 * down. Every message the read brings of a channel that exists in engine
 * e is stored there (chan_store_id) and fanned out, in id order; a hole
 * in the log (the read fell behind its trimming, or Redis lost data) is
 * told to the engine (chan_gap_all), whose subscribers then fetch what
 * they missed. The engine's floor follows the read. st->redis is kept
 * current. NULL on ENOMEM. */
struct redis *redis_create(struct loop *l, const struct redis_config *cfg, struct chan_engine *e,
                         struct stats *st);
/* Closes the connections; publishes in flight are answered 503. */
void redis_destroy(struct redis *b);

/* The publish backend (pub.h): FCALL fcgi_sse_publish, done with the id
 * Redis assigned; a failure (503) while Redis is down or slow, or when
 * the messages waiting for it hold REDIS_PUB_BYTES already. */
const struct pub_backend *redis_backend(struct redis *b);

/* The control backend (ctl.h): a channel's figures (FCALL_RO
 * fcgi_sse_channel: its stream's, and this responder's subscribers), its
 * delete and purge (FCALL fcgi_sse_control: its stream goes, and an entry
 * in fcgi-sse:log tells every responder, which ends its subscribers' streams
 * of a deleted channel and drops its own copy). 503 while Redis is down. */
const struct ctl_backend *redis_ctl_backend(struct redis *b);

/* The history (history.h) of channels through Redis: redis_position,
 * redis_fetch and redis_fetch_cancel. */
struct history *redis_history(struct redis *b);

/* Where a new subscriber without a Last-Event-ID starts: the newest id
 * this responder knows Redis issued (its read's position, and every id a
 * reply named). Every message published after this call has a later id,
 * and reaches the engine through the read (or, after a hole, a fetch).
 * 0, or -1 while Redis was never reached since start (nothing is known). */
int redis_position(const struct redis *b, struct msgid *out);

/* Fetches from Redis the entries of channels names[0, n) after `after`,
 * merged in id order: at most REDIS_FETCH_COUNT entries and, past the
 * first, at most `bytes` (a bounded batch: see redis_batch.more). With
 * check_reset, says whether an entry after `after` was trimmed. Waits for
 * one of REDIS_FETCH_SLOTS slots (fetches in flight) and for Redis; the
 * slot is given back when the reply is received. NULL on ENOMEM. */
struct history_fetch *redis_fetch(struct redis *b, const char (*names)[CHAN_NAME_MAX + 1], unsigned n,
                              const struct msgid *after, int check_reset, size_t bytes,
                              history_fn fn, void *arg);
/* Cancels a fetch not yet answered; its callback will not be called. */
void redis_fetch_cancel(struct history_fetch *f);

#endif
