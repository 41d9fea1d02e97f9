/* sub.c -- the subscription source: a stream of the messages of up to 16 channels, replay then live */
#include "config.h"

#include "sub.h"
#include "hub.h"
#include "monotime.h"
#include "sse.h"

#include <stdlib.h>
#include <string.h>

/* A subscriber that is behind and can take nothing for this long is
 * dropped (it resumes from the history when it reconnects). */
#define SUB_STALL_NS (10 * 1000000000LL)

struct sub {
    struct stream *s;
    unsigned n;
    struct chan_link links[CHAN_SUB_MAX];
    struct msgid cursor;           /* the last message written whole */
    struct msgid floor;            /* drops up to this were known at the start (reset) */
    struct msg *partial;           /* a message larger than a piece, written in part */
    size_t partial_off;
    int replaying;                 /* the history may hold messages after cursor */
    int reset_pending;             /* `event: reset` still to be written */
    struct msgid reset_id;
};

static struct sub_params params;

void sub_setup(const struct sub_params *p)
{
    params = *p;
}

static struct sub *sub_of(struct stream *s)
{
    return s->src_state;
}

/* Writes `event: reset` with the oldest id retained. */
static enum stream_status write_reset(struct stream *s, struct sub *u, long long now)
{
    char id[MSGID_STR_MAX], buf[128];
    struct sse_event ev = { NULL, "reset", id, 0 };
    ssize_t n;

    ev.data_len = msgid_format(id, u->reset_id);
    n = sse_encode(buf, sizeof buf, &ev);
    if (n < 0)
        return STREAM_GONE;
    u->reset_pending = 0;
    return stream_send(s, buf, (size_t)n, now);
}

/* The next retained message after `after`, over all channels (each
 * channel's history is in id order, and ids grow across channels). Sets
 * *gap when one of them dropped a message the subscriber has not had. */
static struct msg *next_msg(struct sub *u, struct msgid after, int *gap)
{
    struct msgid seen = msgid_cmp(after, u->floor) > 0 ? after : u->floor;
    struct msg *best = NULL;
    unsigned i;

    *gap = 0;
    for (i = 0; i < u->n; i++) {
        struct msg *m = chan_next(&u->links[i], after);
        if (msgid_cmp(chan_dropped(&u->links[i]), seen) > 0)
            *gap = 1;
        if (m && (!best || msgid_cmp(m->id, best->id) < 0))
            best = m;
    }
    return best;
}

/* Writes from the history what the send buffer can take, in pieces of
 * whole messages (a large one in parts), until caught up or full. */
static enum stream_status replay(struct stream *s, struct sub *u, long long now)
{
    char buf[STREAM_PIECE];

    for (;;) {
        enum stream_status st;
        size_t len = 0;
        struct msgid upto = u->cursor;
        unsigned long count = 0;
        long room = stream_room(s);

        if (room < STREAM_PIECE) {
            s->want_out = 1;
            return STREAM_OPEN;
        }
        if (u->partial) {
            size_t take = u->partial->len - u->partial_off;
            if (take > STREAM_PIECE)
                take = STREAM_PIECE;
            st = stream_send(s, u->partial->wire + u->partial_off, take, now);
            if (st != STREAM_OPEN)
                return st;
            u->partial_off += take;
            if (u->partial_off < u->partial->len)
                continue;
            u->cursor = u->partial->id;
            msg_unref(u->partial);
            u->partial = NULL;
            (*params.delivered)++;
            continue;
        }
        /* gather whole messages into one piece */
        for (;;) {
            int gap;
            struct msg *m = next_msg(u, upto, &gap);

            if (gap)
                return STREAM_SLOW; /* it missed one: it resumes and gets a reset */
            if (!m)
                break;
            if (m->len > STREAM_PIECE) {
                if (len)
                    break;
                msg_ref(m);
                u->partial = m;
                u->partial_off = 0;
                break;
            }
            if (len + m->len > sizeof buf)
                break;
            memcpy(buf + len, m->wire, m->len);
            len += m->len;
            upto = m->id;
            count++;
        }
        if (len) {
            st = stream_send(s, buf, len, now);
            if (st != STREAM_OPEN)
                return st;
            u->cursor = upto;
            *params.delivered += count;
            continue;
        }
        if (u->partial)
            continue;
        u->replaying = 0;
        s->want_out = 0;
        return STREAM_OPEN;
    }
}

/* Everything a subscriber does when woken: reset, replay, heartbeat. */
static enum stream_status run(struct stream *s, long long now)
{
    struct sub *u = sub_of(s);
    enum stream_status st = STREAM_OPEN;

    if (u->reset_pending && (st = write_reset(s, u, now)) != STREAM_OPEN)
        return st;
    if ((u->replaying || u->partial) && (st = replay(s, u, now)) != STREAM_OPEN)
        return st;
    if (s->want_out && now - s->last_output >= SUB_STALL_NS)
        return STREAM_SLOW;
    if (!s->want_out && params.heartbeat_ns && now - s->last_output >= params.heartbeat_ns) {
        char buf[32];
        ssize_t n = sse_comment(buf, sizeof buf, "heartbeat", 9);
        if (n > 0 && (st = stream_send(s, buf, (size_t)n, now)) != STREAM_OPEN)
            return st;
    }
    s->timer.node.due = s->want_out ? s->last_output + SUB_STALL_NS
                        : params.heartbeat_ns ? s->last_output + params.heartbeat_ns : 0;
    return STREAM_OPEN;
}

static void release(struct stream *s)
{
    struct sub *u = sub_of(s);
    unsigned i;

    if (!u)
        return;
    for (i = 0; i < u->n; i++)
        chan_unsubscribe(params.engine, &u->links[i]);
    msg_unref(u->partial);
    free(u);
    s->src_state = NULL;
}

static const struct source sub_source = { "subscription", run, run, release };

void sub_deliver(struct chan_link *l, struct msg *m, void *ctx)
{
    struct sub *u = l->sub;
    struct stream *s = u->s;
    long long now;
    enum stream_status st;
    (void)ctx;

    if (s->dead || u->replaying || u->partial || u->reset_pending ||
        msgid_cmp(m->id, u->cursor) <= 0)
        return; /* its replay takes the message from the history */
    now = monotime_ns();
    if (m->len > STREAM_PIECE) {
        /* written in pieces, each checked against the room left; what does
         * not fit now follows from the history as the reader drains it */
        u->replaying = 1;
        st = replay(s, u, now);
    } else {
        st = stream_send(s, m->wire, m->len, now);
        if (st == STREAM_OPEN) {
            u->cursor = m->id;
            (*params.delivered)++;
        }
    }
    if (s->owner)
        hub_update(s, st);
}

int sub_start(struct stream *s, const char (*names)[CHAN_NAME_MAX + 1], unsigned n,
              const struct msgid *last, long long now)
{
    struct sub *u = calloc(1, sizeof *u);
    struct msgid oldest = { 0, 0 };
    unsigned i;
    int gap = 0;

    if (!u)
        return -1;
    u->s = s;
    s->src = &sub_source;
    s->src_state = u;
    chan_expire(params.engine, wallclock_ms());
    for (i = 0; i < n; i++) {
        u->links[i].sub = u;
        if (chan_subscribe(params.engine, names[i], &u->links[i]) < 0)
            return -1; /* release() undoes the rest */
        u->n++;
    }
    if (!last) {
        u->cursor = chan_last_id(params.engine);
    } else {
        u->cursor = *last;
        u->replaying = 1;
        for (i = 0; i < u->n; i++) {
            struct msgid o = chan_oldest(&u->links[i]);
            if (chan_gap(params.engine, &u->links[i], *last))
                gap = 1;
            if (!msgid_is_zero(o) && (msgid_is_zero(oldest) || msgid_cmp(o, oldest) < 0))
                oldest = o;
        }
        if (gap) {
            u->reset_pending = 1;
            u->reset_id = msgid_is_zero(oldest) ? chan_last_id(params.engine) : oldest;
            /* replay what is there: everything retained, the drops so far known */
            u->cursor.ms = 0;
            u->cursor.seq = 0;
            for (i = 0; i < u->n; i++)
                if (msgid_cmp(chan_dropped(&u->links[i]), u->floor) > 0)
                    u->floor = chan_dropped(&u->links[i]);
        }
    }
    s->timer.node.due = now; /* the first turn writes the reset and the replay */
    return 0;
}
