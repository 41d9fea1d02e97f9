/* subscription.c -- the subscription source: a stream of the messages of up to 16 channels, replay then live */
#include "config.h"

#include "sources/subscription_int.h"
#include "stream/hub.h"
#include "core/clock.h"
#include "http/sse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct subs *sub_create(const struct sub_params *p)
{
    struct subs *c = malloc(sizeof *c);

    if (!c)
        return NULL;
    c->params = *p;
    chan_engine_on_resync(p->engine, sub_resync);
    chan_engine_on_delete(p->engine, sub_deleted);
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
    if (s->stats)
        s->stats->resets++;
    return stream_send(s, buf, (size_t)n, now);
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
    if (s->stats)
        s->stats->replays++; /* a resume: what followed last is replayed */
    /* what followed the Last-Event-ID comes from the history behind the
     * engine when there is one (it tells of a reset), else from the engine */
    if (sub_start_fetch(u, *last, 1) == 0)
        return 0;
    if (errno != ENOENT)
        return -1;
    if (!u->spec.no_reset)
        sub_check_reset(u, *last);
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

/* A channel of u was deleted: a message begun is finished (the event must
 * start on a line of its own), then `event: deleted` with the channel's
 * name, and the stream ends. Its links may be out of their channels: only
 * u->partial, which it holds, is written. */
static enum stream_status write_deleted(struct stream *s, struct sub *u, long long now)
{
    char buf[32 + CHAN_NAME_MAX];
    const char *name = u->names[u->deleted - 1];
    struct sse_event ev = { NULL, "deleted", name, strlen(name) };
    enum stream_status st;
    ssize_t n;

    while (u->partial) {
        if (stream_room(s) < STREAM_PIECE) {
            s->want_out = 1;
            s->timer.node.due = s->last_output + SUB_STALL_NS;
            return now - s->last_output >= SUB_STALL_NS ? STREAM_SLOW : STREAM_OPEN;
        }
        if ((st = sub_send_piece(s, u, now)) != STREAM_OPEN)
            return st;
    }
    n = sse_encode(buf, sizeof buf, &ev);
    if (n < 0)
        return STREAM_GONE;
    st = stream_send(s, buf, (size_t)n, now);
    return st == STREAM_OPEN ? STREAM_DONE : st;
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
    if (u->deleted)
        return write_deleted(s, u, now);
    if (u->spec.end_ns && now >= u->spec.end_ns)
        return STREAM_DONE; /* its owner's deadline (a token's exp) */
    if (u->reset_pending && (st = write_reset(s, u, now)) != STREAM_OPEN)
        return st;
    if ((u->replaying || u->partial) && (st = sub_replay(s, u, now)) != STREAM_OPEN)
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
    sub_batch_free(u);
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
void sub_on_fetched(void *arg, struct history_batch *b)
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

    if (s->dead || u->deleted || u->replaying || u->partial || u->reset_pending ||
        msgid_cmp(m->id, u->cursor) <= 0)
        return; /* its replay takes the message from the history */
    now = clock_now_ns();
    if (m->len > STREAM_PIECE) {
        /* written in pieces, each checked against the room left; what does
         * not fit now follows from the history as the reader drains it */
        u->replaying = 1;
        st = sub_replay(s, u, now);
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

    if (!u->spec.accept || sub_accepts(u, m, 0))
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
    if (sub_accepts(u, m, 1))
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

void sub_deleted(struct chan_link *l, const char *name, void *ctx)
{
    struct sub *u = l->sub;
    struct stream *s = u->s;
    (void)name;
    (void)ctx;

    if (u->deleted)
        return; /* one of its channels was deleted already: its stream is ending */
    u->deleted = 1 + (unsigned)(l - u->links);
    if (s->dead || !s->owner)
        return;
    s->timer.node.due = clock_now_ns(); /* written from the timer, not from here */
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
