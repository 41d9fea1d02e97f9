/* rbus.h -- channels through Redis: ids and history in Redis streams, one blocking read per responder, resume from Redis */
#ifndef FCGI_SSE_RBUS_H
#define FCGI_SSE_RBUS_H

#include <stddef.h>

#include "chan.h"
#include "ctl.h"
#include "loop.h"
#include "msgid.h"
#include "redisurl.h"
#include "stats.h"

struct rbus;
struct rbus_fetch;

struct rbus_config {
    struct redisurl url;            /* where Redis is, with its credentials */
    unsigned long history;          /* --history: entries each channel's stream keeps */
    unsigned long max_message;      /* --max-message: sizes what one read may bring */
};

/* What a fetch brought: messages after the id asked for, in id order,
 * over all its channels, exactly those up to `cursor` (after the id
 * asked for; the id the messages end at, or the last id Redis issued). */
struct rbus_batch {
    struct msg **v;                 /* n messages (refs 1, the receiver's) */
    size_t n;
    struct msgid cursor;            /* the subscriber has everything up to this */
    int more;                       /* cut short (count, bytes): fetch again from cursor */
    int reset;                      /* an entry after the id asked for was trimmed */
    struct msgid reset_id;          /* then: the oldest id kept (or cursor) */
    int failed;                     /* Redis refused the fetch (logged) */
};

/* Called once per fetch with what it brought (b is the receiver's; free
 * b->v and its messages). The fetch is over when it is called: its slot
 * is free again. Never called after rbus_fetch_cancel. */
typedef void (*rbus_fetch_fn)(void *arg, struct rbus_batch *b);

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

/* The publisher of ctl: FCALL fcgi_sse_publish, answering with the id
 * Redis assigned; 503 + Retry-After while Redis is down or slow, or when
 * the messages waiting for it hold RBUS_PUB_BYTES already. */
const struct ctl_publisher *rbus_publisher(struct rbus *b);

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
struct rbus_fetch *rbus_fetch(struct rbus *b, const char (*names)[CHAN_NAME_MAX + 1], unsigned n,
                              const struct msgid *after, int check_reset, size_t bytes,
                              rbus_fetch_fn fn, void *arg);
/* Cancels a fetch not yet answered; its callback will not be called. */
void rbus_fetch_cancel(struct rbus_fetch *f);

#endif
