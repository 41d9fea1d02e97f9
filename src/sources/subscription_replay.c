/* subscription_replay.c -- what a subscriber missed: from the engine's history, in batches from the history behind it, or a reset */
#include "config.h"

#include "sources/subscription_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The newest drop of u's channels. */
static struct msgid dropped_max(const struct sub *u)
{
    struct msgid d = { 0, 0 };
    unsigned i;

    for (i = 0; i < u->n; i++)
        if (msgid_cmp(chan_dropped(&u->links[i]), d) > 0)
            d = chan_dropped(&u->links[i]);
    return d;
}

/* The next retained message after `after` that the subscriber gets, over
 * all channels (each channel's history is in id order, and ids grow across
 * channels). Sets *gap when one of them dropped a message the subscriber
 * has not had. *passed is the newest id passed over (not accepted) before
 * it, or `after`: the subscriber's cursor may move there. */
static struct msg *next_msg(struct sub *u, struct msgid after, int *gap, struct msgid *passed)
{
    struct msgid seen = msgid_cmp(after, u->floor) > 0 ? after : u->floor;
    struct msg *best = NULL;
    unsigned i;

    *gap = 0;
    *passed = after;
    for (i = 0; i < u->n; i++) {
        struct msg *m = chan_next(&u->links[i], after);
        while (m && !sub_accepts(u, m, 0))
            m = chan_next(&u->links[i], m->id);
        if (msgid_cmp(chan_dropped(&u->links[i]), seen) > 0)
            *gap = 1;
        if (m && (!best || msgid_cmp(m->id, best->id) < 0))
            best = m;
    }
    if (u->spec.accept) {
        /* what it passed over, up to the message it gets (or the channels' last) */
        for (i = 0; i < u->n; i++) {
            struct msg *m = chan_next(&u->links[i], after);
            while (m && (!best || msgid_cmp(m->id, best->id) < 0)) {
                if (msgid_cmp(m->id, *passed) > 0)
                    *passed = m->id;
                m = chan_next(&u->links[i], m->id);
            }
        }
    }
    return best;
}

/* Asks the history for what follows `after`: as much as the connection
 * can take now (at least a piece). 0, or -1 with errno (ENOENT: there is
 * nothing beyond the engine's history; ENOMEM). */
int sub_start_fetch(struct sub *u, struct msgid after, int check_reset)
{
    struct history *h = u->ctx->params.history;
    long room = stream_room(u->s);

    u->fetch_floor = dropped_max(u);
    u->fetch = h->fetch(h, (const char(*)[CHAN_NAME_MAX + 1])u->names, u->n, &after, check_reset,
                        room > STREAM_PIECE ? (size_t)room : STREAM_PIECE, sub_on_fetched, u);
    return u->fetch ? 0 : -1;
}

/* The first message of the batch after `after` (those up to it dropped), or NULL. */
static struct msg *batch_peek(struct sub *u, struct msgid after)
{
    while (u->bi < u->batch.n) {
        struct msg *m = u->batch.v[u->bi];
        if (msgid_cmp(m->id, after) > 0 && sub_accepts(u, m, 0))
            return m;
        msg_unref(m);
        u->batch.v[u->bi++] = NULL;
    }
    return NULL;
}

/* The batch's head was taken (copied, or referenced as the partial). */
static void batch_pop(struct sub *u)
{
    msg_unref(u->batch.v[u->bi]);
    u->batch.v[u->bi++] = NULL;
}

void sub_batch_free(struct sub *u)
{
    while (u->bi < u->batch.n)
        batch_pop(u);
    free(u->batch.v);
    memset(&u->batch, 0, sizeof u->batch);
    u->bi = 0;
    u->in_batch = 0;
}

/* A batch was written whole: the subscriber has everything up to its
 * cursor. Fetches the next one, or (0 with no fetch left) goes on from
 * the local history. 0, or -1 (ENOMEM). */
static int end_batch(struct sub *u)
{
    int more = u->batch.more;

    if (msgid_cmp(u->batch.cursor, u->cursor) > 0)
        u->cursor = u->batch.cursor;
    /* complete: Redis had every message up to the drops seen when it was
     * asked (they were stored there before this responder read them) */
    if (!more && msgid_cmp(u->fetch_floor, u->floor) > 0)
        u->floor = u->fetch_floor;
    sub_batch_free(u);
    return more ? sub_start_fetch(u, u->cursor, 0) : 0;
}

/* Writes the next piece of the message begun (u->partial), the send
 * buffer having room for it; once it is whole, the cursor is past it. */
enum stream_status sub_send_piece(struct stream *s, struct sub *u, long long now)
{
    size_t take = u->partial->len - u->partial_off;
    enum stream_status st;

    if (take > STREAM_PIECE)
        take = STREAM_PIECE;
    st = stream_send(s, u->partial->wire + u->partial_off, take, now);
    if (st != STREAM_OPEN)
        return st;
    u->partial_off += take;
    if (u->partial_off == u->partial->len) {
        u->cursor = u->partial->id;
        msg_unref(u->partial);
        u->partial = NULL;
        (*u->ctx->params.delivered)++;
    }
    return STREAM_OPEN;
}

/* Writes from the history what the send buffer can take, in pieces of
 * whole messages (a large one in parts), until caught up or full. A gap
 * in the engine's history (messages it dropped, or never held) is fetched
 * from the history behind it in batches first; where there is none (in
 * memory) the subscriber missed them: it is dropped, and resumes with a
 * reset. */
enum stream_status sub_replay(struct stream *s, struct sub *u, long long now)
{
    char buf[STREAM_PIECE];

    for (;;) {
        enum stream_status st;
        size_t len = 0;
        struct msgid upto = u->cursor;
        unsigned long count = 0;
        int refetch = 0;

        if (u->failed)
            return STREAM_DONE; /* it reconnects, and resumes */
        if (u->fetch) {
            s->want_out = 0; /* waiting for Redis: heartbeats go on */
            return STREAM_OPEN;
        }
        if (stream_room(s) < STREAM_PIECE) {
            s->want_out = 1;
            return STREAM_OPEN;
        }
        if (u->partial) {
            if ((st = sub_send_piece(s, u, now)) != STREAM_OPEN)
                return st;
            continue;
        }
        if (u->in_batch && u->bi >= u->batch.n) {
            if (end_batch(u) < 0)
                return STREAM_SLOW; /* out of memory: it resumes later */
            continue;
        }
        /* gather whole messages into one piece */
        for (;;) {
            int gap = 0;
            struct msgid passed = upto;
            struct msg *m = u->in_batch ? batch_peek(u, upto) : next_msg(u, upto, &gap, &passed);

            if (msgid_cmp(passed, upto) > 0 && !gap)
                upto = passed; /* passed over: not for this subscriber */
            if (gap) {
                refetch = 1; /* the engine lacks some: the history may have them */
                break;
            }
            if (!m)
                break;
            if (m->len > STREAM_PIECE) {
                if (len)
                    break;
                msg_ref(m);
                u->partial = m;
                u->partial_off = 0;
                if (u->in_batch)
                    batch_pop(u);
                break;
            }
            if (len + m->len > sizeof buf)
                break;
            memcpy(buf + len, m->wire, m->len);
            len += m->len;
            upto = m->id;
            count++;
            if (u->in_batch)
                batch_pop(u);
        }
        if (len) {
            st = stream_send(s, buf, len, now);
            if (st != STREAM_OPEN)
                return st;
            u->cursor = upto;
            *u->ctx->params.delivered += count;
            continue;
        }
        if (msgid_cmp(upto, u->cursor) > 0 && !u->partial)
            u->cursor = upto; /* only messages it does not get were left */
        if (u->partial || u->in_batch)
            continue;
        if (refetch) {
            /* the history may have dropped them too: then a reset, mid-stream;
             * with none behind the engine, it missed one: it resumes with a reset */
            if (sub_start_fetch(u, u->cursor, 1) < 0)
                return STREAM_SLOW;
            continue;
        }
        u->replaying = 0;
        s->want_out = 0;
        return STREAM_OPEN;
    }
}

/* A resume from the engine alone: when messages after `last` were
 * dropped (or lost in a restart), `event: reset` with the oldest id
 * retained, then everything retained. */
void sub_check_reset(struct sub *u, struct msgid last)
{
    struct msgid oldest = { 0, 0 };
    unsigned i;
    int gap = 0;

    for (i = 0; i < u->n; i++) {
        struct msgid o = chan_oldest(&u->links[i]);
        if (chan_gap(u->ctx->params.engine, &u->links[i], last))
            gap = 1;
        if (!msgid_is_zero(o) && (msgid_is_zero(oldest) || msgid_cmp(o, oldest) < 0))
            oldest = o;
    }
    if (!gap)
        return;
    u->reset_pending = 1;
    u->reset_id = msgid_is_zero(oldest) ? chan_last_id(u->ctx->params.engine) : oldest;
    /* replay what is there: everything retained, the drops so far known */
    u->cursor.ms = 0;
    u->cursor.seq = 0;
    u->floor = dropped_max(u);
}
