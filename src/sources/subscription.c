/* subscription.c -- the subscription source: a stream of the messages of up to 16 channels, replay then live */
#include "config.h"

#include "sources/subscription.h"
#include "stream/hub.h"
#include "core/clock.h"
#include "http/sse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
    int in_batch;                  /* a batch is being written, from bi */
    struct history_batch batch;
    size_t bi;
    struct sub_spec spec;          /* the owner's choices (sub_start_spec); names, last unused */
};

struct subs *sub_create(const struct sub_params *p)
{
    struct subs *c = malloc(sizeof *c);

    if (!c)
        return NULL;
    c->params = *p;
    chan_engine_on_resync(p->engine, sub_resync);
    return c;
}

void sub_destroy(struct subs *c)
{
    free(c);
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

/* 1 when the subscriber gets m (the owner's accept, when there is one). */
static int accepts(const struct sub *u, const struct msg *m, int topics_known)
{
    return !u->spec.accept || u->spec.accept(u->spec.ctx, m, topics_known);
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
        while (m && !accepts(u, m, 0))
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

static void on_fetched(void *arg, struct history_batch *b);

/* Asks the history for what follows `after`: as much as the connection
 * can take now (at least a piece). 0, or -1 with errno (ENOENT: there is
 * nothing beyond the engine's history; ENOMEM). */
static int start_fetch(struct sub *u, struct msgid after, int check_reset)
{
    struct history *h = u->ctx->params.history;
    long room = stream_room(u->s);

    u->fetch_floor = dropped_max(u);
    u->fetch = h->fetch(h, (const char(*)[CHAN_NAME_MAX + 1])u->names, u->n, &after, check_reset,
                        room > STREAM_PIECE ? (size_t)room : STREAM_PIECE, on_fetched, u);
    return u->fetch ? 0 : -1;
}

/* The first message of the batch after `after` (those up to it dropped), or NULL. */
static struct msg *batch_peek(struct sub *u, struct msgid after)
{
    while (u->bi < u->batch.n) {
        struct msg *m = u->batch.v[u->bi];
        if (msgid_cmp(m->id, after) > 0 && accepts(u, m, 0))
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

static void batch_free(struct sub *u)
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
    batch_free(u);
    return more ? start_fetch(u, u->cursor, 0) : 0;
}

/* Writes from the history what the send buffer can take, in pieces of
 * whole messages (a large one in parts), until caught up or full. A gap
 * in the engine's history (messages it dropped, or never held) is fetched
 * from the history behind it in batches first; where there is none (in
 * memory) the subscriber missed them: it is dropped, and resumes with a
 * reset. */
static enum stream_status replay(struct stream *s, struct sub *u, long long now)
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
            (*u->ctx->params.delivered)++;
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
            if (start_fetch(u, u->cursor, 1) < 0)
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
static void check_reset(struct sub *u, struct msgid last)
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

/* Subscribes u to its channels, sets where it starts, and writes the
 * header block: `start` is where a subscriber without a Last-Event-ID
 * starts. 0, or -1 with errno (ENOSPC: one channel too many; the header
 * block is then not written). */
static int begin(struct sub *u, const struct msgid *last, struct msgid start, long long now)
{
    struct stream *s = u->s;
    struct resp_sink o;
    unsigned i;

    chan_expire(u->ctx->params.engine, clock_wall_ms());
    for (i = 0; i < u->n; i++) {
        u->links[i].sub = u;
        u->links[i].quiet = u->spec.quiet;
        if (chan_subscribe(u->ctx->params.engine, u->names[i], &u->links[i]) < 0) {
            int err = errno;
            while (i-- > 0)
                chan_unsubscribe(u->ctx->params.engine, &u->links[i]);
            errno = err;
            return -1;
        }
    }
    stream_sink(s, &o);
    if ((u->spec.head ? u->spec.head(u->spec.ctx, &o)
                      : resp_stream_head(&o, u->ctx->params.retry_ms, 0)) < 0) {
        errno = EPIPE;
        return -1; /* release() unsubscribes */
    }
    u->started = 1;
    s->timer.node.due = now; /* the first turn writes the reset and the replay */
    u->cursor = last ? *last : start;
    if (!last)
        return 0;
    u->replaying = 1;
    /* what followed the Last-Event-ID comes from the history behind the
     * engine when there is one (it tells of a reset), else from the engine */
    if (start_fetch(u, *last, 1) == 0)
        return 0;
    if (errno != ENOENT)
        return -1;
    if (!u->spec.no_reset)
        check_reset(u, *last);
    return 0;
}

/* Answers a subscription that could not start (its header block not yet
 * written): 503 with why. The stream then ends. */
static enum stream_status refuse(struct stream *s, struct sub *u, const char *why)
{
    struct resp_sink o;
    unsigned after = (unsigned)((u->ctx->params.retry_ms + 999) / 1000);

    stream_sink(s, &o);
    o.end = NULL;
    (void)resp_error(&o, 503, why, after ? after : 1, 0);
    return STREAM_DONE;
}

/* Not started: waiting until where it starts is known (Redis reached). */
static enum stream_status wait_start(struct stream *s, struct sub *u, long long now)
{
    struct msgid start;

    if (u->ctx->params.history->start(u->ctx->params.history, &start) == 0) {
        if (begin(u, NULL, start, now) == 0)
            return STREAM_OPEN;
        if (errno == ENOSPC)
            return refuse(s, u, "too many channels: the responder's --max-channels is reached");
        return u->started ? STREAM_GONE : refuse(s, u, "out of memory: try again later");
    }
    if (now >= u->start_by)
        return refuse(s, u, "Redis is unreachable: try again later");
    s->timer.node.due = now + SUB_START_POLL_NS;
    return STREAM_OPEN;
}

/* Everything a subscriber does when woken: start, reset, replay, heartbeat. */
static enum stream_status run(struct stream *s, long long now)
{
    struct sub *u = sub_of(s);
    enum stream_status st = STREAM_OPEN;

    if (!u->started)
        return wait_start(s, u, now);
    if (u->spec.end_ns && now >= u->spec.end_ns)
        return STREAM_DONE; /* its owner's deadline (a token's exp) */
    if (u->reset_pending && (st = write_reset(s, u, now)) != STREAM_OPEN)
        return st;
    if ((u->replaying || u->partial) && (st = replay(s, u, now)) != STREAM_OPEN)
        return st;
    if (s->want_out && now - s->last_output >= SUB_STALL_NS)
        return STREAM_SLOW;
    if (!s->want_out && u->ctx->params.heartbeat_ns && now - s->last_output >= u->ctx->params.heartbeat_ns) {
        char buf[32];
        ssize_t n = sse_comment(buf, sizeof buf, "heartbeat", 9);
        if (n > 0 && (st = stream_send(s, buf, (size_t)n, now)) != STREAM_OPEN)
            return st;
    }
    s->timer.node.due = s->want_out ? s->last_output + SUB_STALL_NS
                        : u->ctx->params.heartbeat_ns ? s->last_output + u->ctx->params.heartbeat_ns : 0;
    if (u->spec.end_ns && (!s->timer.node.due || s->timer.node.due > u->spec.end_ns))
        s->timer.node.due = u->spec.end_ns;
    return STREAM_OPEN;
}

static void release(struct stream *s)
{
    struct sub *u = sub_of(s);
    unsigned i;

    if (!u)
        return;
    for (i = 0; i < u->n; i++)
        chan_unsubscribe(u->ctx->params.engine, &u->links[i]); /* a no-op for a link never made */
    batch_free(u);
    if (u->fetch)
        u->ctx->params.history->cancel(u->fetch);
    free(u->names);
    msg_unref(u->partial);
    if (u->spec.released)
        u->spec.released(u->spec.ctx);
    free(u);
    s->src_state = NULL;
}

static const struct source sub_source = { "subscription", run, run, release };

/* What Redis returned for a fetch: written as the connection allows. */
static void on_fetched(void *arg, struct history_batch *b)
{
    struct sub *u = arg;
    struct stream *s = u->s;
    enum stream_status st;

    u->fetch = NULL; /* over: the history frees it */
    if (b->failed) {
        u->failed = 1;
    } else {
        u->batch = *b;
        u->bi = 0;
        u->in_batch = 1;
        if (b->reset && !u->reset_pending) {
            u->reset_pending = 1;
            u->reset_id = b->reset_id;
        }
    }
    if (s->dead)
        return;
    st = run(s, clock_now_ns());
    if (s->owner)
        hub_update(s, st);
}

/* The id just before `id`: every id up to it is before id. */
static struct msgid msgid_before(struct msgid id)
{
    if (id.seq) {
        id.seq--;
    } else if (id.ms) {
        id.ms--;
        id.seq = ~0ULL;
    }
    return id;
}

/* A published message for u: written at once when it is caught up. */
static void offer(struct sub *u, struct msg *m)
{
    struct stream *s = u->s;
    long long now;
    enum stream_status st;

    if (s->dead || u->replaying || u->partial || u->reset_pending ||
        msgid_cmp(m->id, u->cursor) <= 0)
        return; /* its replay takes the message from the history */
    now = clock_now_ns();
    if (m->len > STREAM_PIECE) {
        /* written in pieces, each checked against the room left; what does
         * not fit now follows from the history as the reader drains it */
        u->replaying = 1;
        st = replay(s, u, now);
    } else {
        st = stream_send(s, m->wire, m->len, now);
        if (st == STREAM_OPEN) {
            u->cursor = m->id;
            (*u->ctx->params.delivered)++;
        }
    }
    if (s->owner)
        hub_update(s, st);
}

void sub_deliver(struct chan_link *l, struct msg *m, void *ctx)
{
    struct sub *u = l->sub;
    (void)ctx;

    if (!u->spec.accept || accepts(u, m, 0))
        offer(u, m);
}

void sub_offer(struct stream *s, struct msg *m)
{
    struct sub *u = s->src_state;

    if (!u || !u->started || u->s->dead)
        return;
    /* caught up: what came between its cursor and m was not for it (its
     * owner offers every message it matches), so a replay from here on
     * starts at m and does not take the history's drops before it for a gap */
    if (!u->replaying && !u->partial && !u->reset_pending && msgid_cmp(m->id, u->cursor) > 0)
        u->cursor = msgid_before(m->id);
    if (accepts(u, m, 1))
        offer(u, m);
}

void sub_resync(struct chan_link *l, void *ctx)
{
    struct sub *u = l->sub;
    struct stream *s = u->s;
    (void)ctx;

    if (s->dead || u->replaying || !s->owner)
        return; /* a replay looks at the gap when it gets there */
    u->replaying = 1;
    s->timer.node.due = clock_now_ns(); /* the replay runs from the timer, not from here */
    hub_update(s, STREAM_OPEN);
}

int sub_start(const struct subs *c, struct stream *s, const char (*names)[CHAN_NAME_MAX + 1],
              unsigned n, const struct msgid *last, long long now)
{
    struct sub_spec spec = { .names = names, .n = n, .last = last };

    return sub_start_spec(c, s, &spec, now);
}

int sub_start_spec(const struct subs *c, struct stream *s, const struct sub_spec *spec,
                   long long now)
{
    struct sub *u = calloc(1, sizeof *u);
    const struct msgid *last = spec->last;
    unsigned n = spec->n;
    struct msgid start;

    if (!u) {
        if (spec->released)
            spec->released(spec->ctx);
        return -1;
    }
    u->ctx = c;
    u->s = s;
    u->n = n;
    u->spec = *spec;
    u->spec.names = NULL;
    u->spec.last = NULL;
    s->src = &sub_source;
    s->src_state = u;
    u->names = malloc(n * sizeof *u->names);
    if (!u->names)
        return -1; /* release() frees the rest */
    memcpy(u->names, spec->names, n * sizeof *u->names);
    if (last || u->ctx->params.history->start(u->ctx->params.history, &start) == 0)
        return begin(u, last, last ? *last : start, now);
    /* Redis not reached yet: no 200 before it knows where the stream starts */
    u->start_by = now + SUB_START_NS;
    s->timer.node.due = now + SUB_START_POLL_NS;
    return 0;
}
