/* history.h -- what a subscriber missed that this responder's channels do not hold: fetched from Redis, or lost */
#ifndef FCGI_SSE_CHANNELS_HISTORY_H
#define FCGI_SSE_CHANNELS_HISTORY_H

#include <stddef.h>

#include "channels/chan.h"
#include "http/msgid.h"

/* What a fetch brought: messages after the id asked for, in id order,
 * over all its channels, exactly those up to `cursor` (after the id
 * asked for; the id the messages end at, or the last id issued). */
struct history_batch {
    struct msg **v;                 /* n messages (refs 1, the receiver's) */
    size_t n;
    struct msgid cursor;            /* the subscriber has everything up to this */
    int more;                       /* cut short (count, bytes): fetch again from cursor */
    int reset;                      /* a message after the id asked for was dropped */
    struct msgid reset_id;          /* then: the oldest id kept (or cursor) */
    int failed;                     /* the fetch failed (logged): the subscriber resumes later */
};

struct history_fetch;

/* Called once per fetch with what it brought (b is the receiver's: free
 * b->v and its messages). The fetch is over when it is called. */
typedef void (*history_fn)(void *arg, struct history_batch *b);

/* A history behind the engine's: in memory there is none (the engine's
 * is all there is), with --redis it is Redis's streams. */
struct history {
    /* Where a subscription without a Last-Event-ID starts: 0 with *out
     * (every message published after this call comes after it), or -1
     * while that cannot be known yet (Redis never reached): ask again. */
    int (*start)(struct history *h, struct msgid *out);
    /* Fetches the messages of channels names[0, n) after `after`, at most
     * about `bytes` past the first (with check_reset: says whether one
     * after `after` was dropped); fn is called later, once. NULL with
     * errno: ENOENT when there is nothing beyond the engine's history (the
     * subscriber missed what it dropped), ENOMEM. */
    struct history_fetch *(*fetch)(struct history *h, const char (*names)[CHAN_NAME_MAX + 1],
                                   unsigned n, const struct msgid *after, int check_reset,
                                   size_t bytes, history_fn fn, void *arg);
    /* Cancels a fetch whose callback was not called yet: it never will be. */
    void (*cancel)(struct history_fetch *f);
    void *ctx;
};

/* The history of channels in memory: subscriptions start after the
 * engine's last id, and nothing can be fetched. */
void history_memory(struct history *h, struct chan_engine *e);

#endif
