/* chan.h -- channels: ids, each channel's history within bounds, and who is subscribed */
#ifndef FCGI_SSE_CHANNELS_CHAN_H
#define FCGI_SSE_CHANNELS_CHAN_H

#include <stddef.h>

#include "core/list.h"
#include "http/msgid.h"
#include "http/req.h"

/* The names a request may carry (http/req.h): a channel name, 1 to 128
 * bytes of [A-Za-z0-9_.:-]; an event type, 1 to 64; 16 channels at most
 * in one subscription. */
#define CHAN_NAME_MAX REQ_CHANNEL_MAX
#define CHAN_TYPE_MAX REQ_EVENT_MAX
#define CHAN_SUB_MAX REQ_CHANNELS_MAX

struct chan;
struct chan_engine;
struct chan_link;

/* One published message, encoded once as the event every subscriber gets:
 * `id: MS-SEQ`, `event: TYPE` when given, one `data:` line per line, and
 * the blank line. Shared by the history and by subscribers writing it. */
struct msg {
    struct msgid id;
    struct chan *chan;             /* its channel while in the history; NULL outside */
    unsigned long long t_ms;       /* wall time of publication (--history-ttl) */
    struct list age;               /* in the engine's list of every retained message, in
                                      the order stored (id order when the engine assigns
                                      the ids) */
    unsigned refs;                 /* the history's and each writer's */
    unsigned long long *held;      /* while outside any history and still held by a
                                      writer: the counter its bytes are in (held_bytes) */
    size_t cost;                   /* bytes it takes: counted in history_bytes or held */
    void *meta;                    /* an internal channel's message: what its codec keeps
                                      beside the wire (chan_codec); NULL otherwise */
    size_t len;                    /* bytes of wire */
    char wire[];                   /* the event, as sent */
};

/* Called for each subscriber of a message's channel when it is published. */
typedef void (*chan_deliver_fn)(struct chan_link *l, struct msg *m, void *ctx);

/* A subscription's place in one channel's list of subscribers. */
struct chan_link {
    struct chan *chan;
    struct list node;              /* in the channel's subscribers */
    void *sub;                     /* the subscriber (subscription.c) */
    int quiet;                     /* reads the history, is not called on a publish (a
                                      Mercure subscriber: its hub's index calls it) */
    chan_deliver_fn deliver;       /* called on a publish instead of the engine's, or NULL */
    void *deliver_ctx;
};

struct chan_limits {
    size_t history;                /* messages kept per channel (--history) */
    unsigned long long ttl_ms;     /* none older than this (--history-ttl) */
    size_t bytes_max;              /* history of all channels, and the messages that
                                      writers still hold outside it (--history-bytes) */
    unsigned long channels_max;    /* channels at most (--max-channels); 0: no bound */
    size_t internal_history;       /* messages kept per internal channel (0: `history`) */
};

/* Internal channels: names that begin with '@', which no request can name
 * (http/req.h). Their messages are made by a codec that their owner sets
 * (the Mercure hub keeps its updates in "@mercure"): it reads the stored
 * text (type, data) and writes the event subscribers get and what it keeps
 * beside it (msg->meta). */
#define CHAN_INTERNAL '@'
struct chan_codec {
    /* The message for id, type (or NULL) and data[0, len) of an internal
     * channel, made with msg_alloc; NULL with errno (EINVAL: not a message
     * of that channel; ENOMEM). */
    struct msg *(*make)(void *ctx, struct msgid id, const char *type, const char *data,
                        size_t len);
    void *ctx;
};

/* Called for each subscriber when every channel's history may have missed
 * messages (chan_gap_all): it must look again at what it has not had,
 * later (from a timer): it may not unsubscribe or free anything here. */
typedef void (*chan_resync_fn)(struct chan_link *l, void *ctx);

struct chan_stats {
    unsigned long channels;        /* channels that exist (with history or subscribers) */
    unsigned long published;       /* messages published since start */
    unsigned long long history_bytes;  /* messages in the histories, and their rings */
    unsigned long long history_messages; /* messages in the histories */
    unsigned long long held_bytes;     /* messages out of every history that a subscriber
                                          is still writing (counted in --history-bytes) */
    unsigned long long channel_bytes;  /* the channels themselves (--max-channels bounds) */
    unsigned long channels_refused;    /* subscribes and publishes refused at --max-channels */
    unsigned long internal_channels;   /* of channels, the internal ones (CHAN_INTERNAL) */
    unsigned long internal_published;  /* of published, those on internal channels */
};

/* What one channel costs besides its history: the bytes channel_bytes
 * counts for a channel named with n bytes. */
size_t chan_cost(size_t n);

/* An engine. boot: ids this process issues are all after it (the wall
 * clock at start, minus nothing: a restart takes longer than 1 ms).
 * Channel names are hashed with SipHash under a random key, so that no
 * set of names can be chosen to fall into one chain. NULL on ENOMEM (or
 * when libcrypto has no SipHash). */
struct chan_engine *chan_engine_create(const struct chan_limits *lim, unsigned long long now_ms,
                                       chan_deliver_fn deliver, void *ctx);
/* Frees the engine and its history. Messages a writer still holds stay
 * valid (they are the writer's alone then), except those made by
 * msg_create(e, ...): those must be freed first. */
void chan_engine_destroy(struct chan_engine *e);

/* The function chan_gap_all calls for each subscriber (none by default). */
void chan_engine_on_resync(struct chan_engine *e, chan_resync_fn resync);

/* Where a channel created from now on starts to hold messages: ids up to
 * `floor` are taken as dropped from it (chan_dropped), so that a
 * subscriber behind it looks elsewhere (Redis) for them. With --redis,
 * the position of the responder's read; 0-0 (the default) in memory. */
void chan_engine_set_floor(struct chan_engine *e, struct msgid floor);

/* Every channel may have missed messages up to `upto` (the Redis read
 * found a hole): each channel's dropped id is raised to it, the floor
 * too, and resync is called for every subscriber. */
void chan_gap_all(struct chan_engine *e, struct msgid upto);

/* The longest hash chain (for the tests of the hash). */
size_t chan_longest_chain(const struct chan_engine *e);

/* Stores data[0, len) (any bytes; the caller checked UTF-8 and size) as
 * the next message of channel `name` with an optional event type: assigns
 * the next id, encodes the event once, keeps it in the channel's history
 * (dropping the oldest beyond the bounds). Returns the message (owned by
 * the engine; valid until the next call into it) and sets *subscribers
 * to the channel's; NULL with errno ENOMEM, or ENOSPC when the channel
 * would be one more than channels_max. chan_fanout must follow, before
 * any other call into the engine. */
struct msg *chan_store(struct chan_engine *e, const char *name, const char *type,
                       const char *data, size_t len, unsigned long long now_ms,
                       unsigned long *subscribers);

/* chan_store with an id assigned elsewhere (Redis): `id`, which must be
 * after every id channel `name` stored so far (else NULL with EEXIST:
 * a repeat, or an entry out of order), on a channel that exists (has
 * subscribers or history; else NULL with ENOENT). id NULL: as chan_store.
 * NULL with ENOMEM when out of memory. */
struct msg *chan_store_id(struct chan_engine *e, const char *name, const char *type,
                          const char *data, size_t len, const struct msgid *id,
                          unsigned long long now_ms, unsigned long *subscribers);

/* A message outside any history (a replay fetched from Redis): the event
 * encoded once, refs 1, chan NULL; its bytes are counted in e's held_bytes
 * until it is freed (e may be NULL: counted nowhere). NULL on ENOMEM. */
struct msg *msg_create(struct chan_engine *e, struct msgid id, const char *type,
                       const char *data, size_t len);

/* 1 when name is a channel the engine may hold: a name a request may give
 * (text_name_ok, CHAN_NAME_MAX), or CHAN_INTERNAL and such a name one byte
 * shorter. */
int chan_name_valid(const char *name);

/* Sets the codec of the internal channels (kept by pointer). Without one,
 * storing in an internal channel fails with EINVAL. */
void chan_engine_set_codec(struct chan_engine *e, const struct chan_codec *codec);

/* A message with room for wire_cap bytes of wire and meta_len bytes of
 * meta (msg->meta, aligned for any type), refs 1, its id set: for a codec,
 * which writes both and sets len. NULL on ENOMEM. */
struct msg *msg_alloc(struct msgid id, size_t wire_cap, size_t meta_len);

/* msg_create for a message of channel `name`: an internal channel's is
 * made by the codec. */
struct msg *msg_create_in(struct chan_engine *e, const char *name, struct msgid id,
                          const char *type, const char *data, size_t len);

/* Calls deliver for each subscriber of m's channel (l->deliver when set,
 * else the engine's), but the quiet ones. */
void chan_fanout(struct chan_engine *e, struct msg *m);

/* chan_store, then chan_fanout. */
struct msg *chan_publish(struct chan_engine *e, const char *name, const char *type,
                         const char *data, size_t len, unsigned long long now_ms,
                         unsigned long *subscribers);

/* Adds l (l->sub set by the caller) to the subscribers of `name`,
 * creating the channel. 0, or -1 with errno: ENOMEM, or ENOSPC when the
 * channel would be one more than channels_max. */
int chan_subscribe(struct chan_engine *e, const char *name, struct chan_link *l);
/* Removes l; a channel left with no subscriber and no history goes. */
void chan_unsubscribe(struct chan_engine *e, struct chan_link *l);

/* Subscribers of channel `name` here (0 when it does not exist). */
unsigned long chan_subscribers(struct chan_engine *e, const char *name);

/* The oldest retained message of l's channel with an id after `after`,
 * or NULL. */
struct msg *chan_next(const struct chan_link *l, struct msgid after);

/* 1 when messages of l's channel with ids after `after` were dropped
 * from its history (or may have been, before this process started):
 * a subscriber resuming from `after` has missed something. */
int chan_gap(const struct chan_engine *e, const struct chan_link *l, struct msgid after);

/* The newest id dropped from l's channel's history, or 0-0. */
struct msgid chan_dropped(const struct chan_link *l);

/* The newest message retained in l's channel, or NULL. */
struct msg *chan_newest(const struct chan_link *l);

/* The oldest id retained in l's channel, or 0-0. */
struct msgid chan_oldest(const struct chan_link *l);

/* The last id issued (0-0 before the first message). */
struct msgid chan_last_id(const struct chan_engine *e);

/* Drops what --history-ttl expired at now_ms. */
void chan_expire(struct chan_engine *e, unsigned long long now_ms);

/* The wall-clock ms at which chan_expire next drops something (the oldest
 * retained message's), or 0 with no message. */
unsigned long long chan_next_expiry(const struct chan_engine *e);

/* What channel `name` holds here (.../channels/NAME). */
struct chan_info {
    unsigned long subscribers;     /* its subscribers here */
    size_t messages;               /* in its history */
    unsigned long long bytes;      /* what those messages take (each its event as sent and
                                      its bookkeeping: what --history-bytes counts) */
    struct msgid oldest, newest;   /* of its history; 0-0 when it is empty */
    struct msgid dropped;          /* the newest id dropped from it, or 0-0 */
};

/* Fills *out for channel `name`, after what --history-ttl expired at
 * now_ms. 0, or -1 with errno ENOENT when it does not exist (neither
 * history nor subscribers here). */
int chan_info(struct chan_engine *e, const char *name, unsigned long long now_ms,
              struct chan_info *out);

/* Called for each subscriber of a channel that chan_delete deletes, its
 * link already out of the channel (l->chan NULL; `name` is valid during
 * the call only): it must end its stream saying so, later (from a timer),
 * without freeing anything here. */
typedef void (*chan_deleted_fn)(struct chan_link *l, const char *name, void *ctx);

/* The function chan_delete calls for each subscriber (none by default). */
void chan_engine_on_delete(struct chan_engine *e, chan_deleted_fn deleted);

/* Drops every message of channel `name`'s history, its subscribers kept:
 * its dropped id becomes the newest of them, so a subscriber resuming
 * from before that gets a reset. *out says what it held before. 0, or -1
 * with errno: ENOENT (no such channel), EPERM (an internal channel: its
 * owner's alone). */
int chan_purge(struct chan_engine *e, const char *name, struct chan_info *out);

/* chan_purge, after every subscriber of the channel was taken out of it
 * and told (the on_delete function); the channel is then gone. */
int chan_delete(struct chan_engine *e, const char *name, struct chan_info *out);

void msg_ref(struct msg *m);
void msg_unref(struct msg *m);

void chan_stats_read(const struct chan_engine *e, struct chan_stats *st);

#endif
