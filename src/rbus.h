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
    unsigned long max_message;      /* --max-message: sizes what one fetch may bring */
};

/* What a fetch brought: messages after the id asked for, in id order,
 * over all its channels, exactly those up to `cursor` (after the id
 * asked for; the id the messages end at, or "now"). */
struct rbus_batch {
    struct msg **v;                 /* n messages (refs 1, the receiver's) */
    size_t n;
    struct msgid cursor;            /* the subscriber has everything up to this */
    int more;                       /* a channel had more: fetch again from cursor */
    int reset;                      /* an entry after the id asked for was trimmed */
    struct msgid reset_id;          /* then: the oldest id kept (or cursor) */
    int failed;                     /* Redis refused the fetch (logged) */
};

/* Called once per fetch with what it brought (b is the receiver's; free
 * b->v and its messages). Never called after rbus_fetch_release. */
typedef void (*rbus_fetch_fn)(void *arg, struct rbus_fetch *f, struct rbus_batch *b);

/* Starts connecting to Redis (two connections: commands, and the one
 * blocking read), loading the functions (src/fcgi-sse.lua), and keeps
 * reconnecting with backoff while it is down. Entries read are stored in
 * engine e (chan_store_id) and fanned out. st->redis is kept current.
 * NULL on ENOMEM. */
struct rbus *rbus_create(struct loop *l, const struct rbus_config *cfg, struct chan_engine *e,
                         struct stats *st);
/* Closes the connections; publishes in flight are answered 503. */
void rbus_destroy(struct rbus *b);

/* The publisher of ctl: FCALL fcgi_sse_publish, answering with the id
 * Redis assigned; 503 + Retry-After while Redis is down or slow. */
const struct ctl_publisher *rbus_publisher(struct rbus *b);

/* A local subscriber wants channel `name` (valid): the blocking read
 * covers it from now on (the id Redis issued last when it is first
 * wanted; every entry after it reaches the engine once, in order), until
 * as many rbus_unwatch. 0, or -1 (ENOMEM). */
int rbus_watch(struct rbus *b, const char *name);
void rbus_unwatch(struct rbus *b, const char *name);

/* Fetches from Redis the entries of channels names[0, n) after `after`,
 * merged in id order (a bounded batch: see rbus_batch.more), or with
 * after NULL only the id Redis issued last (cursor). With check_reset,
 * says whether an entry after `after` was trimmed. Call after the
 * channels were watched: the fetch then covers everything the blocking
 * read does not. Holds one of a bounded number of fetch slots until
 * rbus_fetch_release (waiting for one, or for Redis, meanwhile). NULL on
 * ENOMEM. */
struct rbus_fetch *rbus_fetch(struct rbus *b, const char (*names)[CHAN_NAME_MAX + 1], unsigned n,
                              const struct msgid *after, int check_reset, rbus_fetch_fn fn,
                              void *arg);
/* Ends a fetch, answered or not; its callback will not be called. */
void rbus_fetch_release(struct rbus_fetch *f);

#endif
