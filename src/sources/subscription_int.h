/* subscription_int.h -- the subscription source's state, shared by its two files (internal to sources/) */
#ifndef FCGI_SSE_SOURCES_SUBSCRIPTION_INT_H
#define FCGI_SSE_SOURCES_SUBSCRIPTION_INT_H

#include "sources/subscription.h"

/* A subscriber that is behind and can take nothing for this long is
 * dropped (it resumes from the history when it reconnects). */
#define SUB_STALL_NS (10 * 1000000000LL)
/* With --redis, a subscriber without a Last-Event-ID that arrives before
 * Redis was ever reached waits this long for it (its header block is not
 * sent before it knows where it starts), looking again at this pace. */
#define SUB_START_NS (10 * 1000000000LL)
#define SUB_START_POLL_NS 100000000LL

struct subs {
    struct sub_params params;
};

struct sub {
    const struct subs *ctx;
    struct stream *s;
    unsigned n;
    struct chan_link links[CHAN_SUB_MAX];
    char (*names)[CHAN_NAME_MAX + 1]; /* the channels, by name */
    int started;                   /* subscribed, the header block written */
    long long start_by;            /* not started yet: 503 past this */
    struct msgid cursor;           /* the last message written whole */
    struct msgid floor;            /* drops up to this are accounted for (a reset, a fetch) */
    struct msg *partial;           /* a message larger than a piece, written in part */
    size_t partial_off;
    int replaying;                 /* the history may hold messages after cursor */
    int reset_pending;             /* `event: reset` still to be written */
    struct msgid reset_id;
    /* what the engine does not hold comes from the history (Redis) */
    struct history_fetch *fetch;   /* a fetch in flight */
    struct msgid fetch_floor;      /* the channels' drops when it was sent */
    int failed;                    /* Redis refused a fetch: end the stream (it resumes) */
    unsigned deleted;              /* 1 + the index of its channel that was deleted: the
                                      stream ends with `event: deleted` (sub_deleted) */
    int in_batch;                  /* a batch is being written, from bi */
    struct history_batch batch;
    size_t bi;
    struct sub_spec spec;          /* the owner's choices (sub_start_spec); names, last unused */
};

/* 1 when the subscriber gets m (the owner's accept, when there is one). */
static inline int sub_accepts(const struct sub *u, const struct msg *m, int topics_known)
{
    return !u->spec.accept || u->spec.accept(u->spec.ctx, m, topics_known);
}

/* subscription_replay.c: what a subscriber missed, from the engine and the history. */

/* Asks the history for what follows `after` (sub_on_fetched gets it). 0, or -1 with errno
 * (ENOENT: there is nothing beyond the engine's history; ENOMEM). */
int sub_start_fetch(struct sub *u, struct msgid after, int check_reset);
/* Writes the next piece of the message begun (u->partial). */
enum stream_status sub_send_piece(struct stream *s, struct sub *u, long long now);
/* Writes from the history what the send buffer can take, until caught up or full. */
enum stream_status sub_replay(struct stream *s, struct sub *u, long long now);
/* A resume from the engine alone: `event: reset` pending when messages after `last` were
 * dropped. */
void sub_check_reset(struct sub *u, struct msgid last);
/* Drops the batch being written and what it still holds. */
void sub_batch_free(struct sub *u);

/* subscription.c: what the history returned for a fetch (it runs the stream). */
void sub_on_fetched(void *arg, struct history_batch *b);

#endif
