/* chan_int.h -- what the parts of the channel engine share: a channel and the engine (chan*.c only) */
#ifndef FCGI_SSE_CHANNELS_CHAN_INT_H
#define FCGI_SSE_CHANNELS_CHAN_INT_H

#include <stdint.h>

#include "channels/chan.h"
#include "core/keyhash.h"

struct chan {
    struct chan *hnext;            /* the engine's hash chain */
    struct msg **ring;             /* history, oldest at head */
    size_t head, count, cap;
    struct msgid dropped;          /* newest id dropped from the history */
    struct msgid last;             /* newest id stored: the next must be after it */
    struct list subs;              /* subscribers: their chan_link's node */
    unsigned long nsubs;
    uint64_t hash;                 /* of the name, under the engine's key */
    size_t namelen;
    char name[];
};

struct chan_engine {
    struct chan **buckets;
    size_t nbuckets, nchans;
    struct list msgs;              /* every retained message, oldest first (msg's age) */
    unsigned long long nmsgs;      /* how many: the histories' messages */
    unsigned long long bytes;      /* history: messages and rings */
    unsigned long long held;       /* messages outside every history that writers hold */
    unsigned long long meta;       /* the channels themselves */
    unsigned long refused;         /* channels refused at channels_max */
    int destroying;                /* chan_engine_destroy: what writers hold is theirs alone */
    struct chan_limits lim;
    struct msgid last;             /* the last id issued */
    struct msgid boot;             /* ids of earlier runs are at most this */
    struct msgid gone_dropped;     /* newest id dropped from a channel since freed */
    struct msgid floor;            /* a new channel's dropped id (chan_engine_set_floor) */
    unsigned long published;
    size_t ninternal;              /* of nchans, the internal ones (CHAN_INTERNAL) */
    unsigned long published_internal; /* of published, on internal channels */
    chan_deliver_fn deliver;
    chan_resync_fn resync;
    chan_deleted_fn deleted;       /* chan_engine_on_delete */
    void *ctx;
    const struct chan_codec *codec; /* the internal channels' (chan_engine_set_codec) */
    struct keyhash *names;         /* the hash of names, keyed at random at creation */
};

/* The message of channel `name` (NULL: a plain one), not yet counted
 * anywhere: an internal channel's from the codec, any other's encoded as
 * an SSE event with its MS-SEQ id (chan_msg.c). NULL with errno. */
struct msg *chan_make_msg(const struct chan_engine *e, const char *name, struct msgid id,
                          const char *type, const char *data, size_t len);

#endif
