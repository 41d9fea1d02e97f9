/* mercure_sub.c -- a Mercure subscriber: its token and matchers read, where it resumes, its stream (a quiet, filtered subscription) */
#include "config.h"

#include "mercurehub/mercure_int.h"
#include "core/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static void sub_free(struct mercure_sub *u)
{
    if (!u)
        return;
    sel_request_free(&u->sel);
    mercure_token_free(&u->tok);
    free(u->head);
    free(u->entries);
    free(u);
}

void mercure_sub_free(struct mercure_sub *u)
{
    sub_free(u);
}

/* 1 when one of u's matchers matches one of the update's topics. */
static int topics_match(struct mercure_sub *u, const struct mercure_meta *mm)
{
    size_t i, k;
    int hit = 0;

    for (i = 0; i < mm->ntopics && !hit; i++) {
        struct sel_topic t;
        sel_topic_init(&t, mm->topics[i], mm->lens[i], u->hub->hub_url);
        for (k = 0; k < u->sel.n && !hit; k++)
            hit = sel_match(&u->sel.m[k], &t);
        sel_topic_free(&t);
    }
    return hit;
}

/* The subscription source's accept: the update's topics match one of the
 * subscriber's matchers (unless the index matched them already), and a
 * private update needs the token's grant on one of its topics, in replay
 * as live. */
static int accept(void *ctx, const struct msg *m, int topics_known)
{
    struct mercure_sub *u = ctx;
    const struct mercure_meta *mm = m->meta;

    if (!mm)
        return 0;
    if (!topics_known && !topics_match(u, mm))
        return 0;
    return !mm->is_private ||
           mercure_token_may_receive(u->hub, &u->tok, mm->topics, mm->lens, mm->ntopics);
}

static int head(void *ctx, const struct resp_sink *o)
{
    struct mercure_sub *u = ctx;

    if (resp_stream_head_extra(o, u->hub->cfg.retry_ms, u->head ? u->head : "", 0) < 0)
        return -1;
    u->announce = 1;
    mercure_api_announce(u->hub, u, 1);
    return 0;
}

/* The stream ended: out of the list of subscribers now, out of the index
 * after this turn (an offer may be going on). */
static void released(void *ctx)
{
    struct mercure_sub *u = ctx;
    struct mercure *m = u->hub;

    u->s = NULL;
    if (u->listed) {
        list_remove(&u->node);
        m->nsubscribers--;
    }
    list_append(&m->ended, &u->node);
    u->listed = 1;
}

/* 1 when the update the hub holds at `at` is sent with id[0, len). */
static int held_as(const struct chan_link *l, struct msgid at, const char *id, size_t len)
{
    struct msgid before = at;
    const struct msg *msg;
    const struct mercure_meta *mm;

    if (before.seq) {
        before.seq--;
    } else if (before.ms) {
        before.ms--;
        before.seq = ~0ULL;
    } else {
        return 0;
    }
    msg = chan_next(l, before);
    mm = msg ? msg->meta : NULL;
    return mm && msgid_cmp(msg->id, at) == 0 && mm->id_len == len && memcmp(mm->id, id, len) == 0;
}

/* Where a subscriber that sent `id` resumes: after the update with that id
 * when the hub holds it (*found 1); with Redis, after the position one of
 * the hub's own ids names (*found 1: what follows is fetched from Redis);
 * else after everything it dropped, so that every update it holds is sent
 * (*found 0: "earliest" in the answer's header). "earliest" asks for
 * everything. */
static struct msgid resume_at(struct mercure *m, const char *id, size_t len, int *found)
{
    struct chan_link *l = &m->index.link;
    struct msgid at, none = { 0, 0 };
    unsigned long long ms, seq;
    struct msg *msg;

    *found = 0;
    if (!l->chan)
        return none;
    if (!(len == 8 && memcmp(id, "earliest", 8) == 0)) {
        /* one of the hub's ids: the update it names, when held and sent with
         * it (a publisher's own id may be a UUIDv7 too, and an id this hub
         * never gave, or gave to no update it holds, names none) */
        if (uuid_to_msgid(id, len, &ms, &seq) == 0) {
            at.ms = ms;
            at.seq = seq;
            if (held_as(l, at, id, len)) {
                *found = 1;
                return at;
            }
        }
        /* a publisher's id: the earliest update that has it (the current draft) */
        for (msg = chan_next(l, none); msg; msg = chan_next(l, msg->id)) {
            const struct mercure_meta *mm = msg->meta;
            if (mm && mm->id_len == len && memcmp(mm->id, id, len) == 0) {
                *found = 1;
                return msg->id;
            }
        }
        /* with Redis, one of the hub's ids this responder does not hold (it
         * started since, or dropped it): the subscription fetches what
         * followed it from Redis's copy of the updates */
        if (m->d.history_behind && uuid_to_msgid(id, len, &ms, &seq) == 0 && (ms || seq)) {
            at.ms = ms;
            at.seq = seq;
            *found = 1;
            return at;
        }
    }
    return chan_dropped(l);
}

/* The extra lines of the header block: CORS, and where it resumes. */
static int make_head(struct mercure *m, struct mercure_sub *u, req_param_fn get, void *ctx,
                     const char *sent, size_t sent_len, int found)
{
    char cors[512];
    size_t cap;
    int n;

    mercure_cors(m, get, ctx, "Mercure-Last-Event-ID, Last-Event-ID", cors, sizeof cors);
    cap = strlen(cors) + 2 * (sent_len + 64) + 1;
    u->head = malloc(cap);
    if (!u->head)
        return -1;
    if (!sent) {
        n = snprintf(u->head, cap, "%s", cors);
    } else {
        const char *v = found ? sent : "earliest";
        int vl = found ? (int)sent_len : 8;
        /* both drafts' names: Mercure-Last-Event-ID (current), Last-Event-ID (legacy) */
        n = snprintf(u->head, cap, "%sMercure-Last-Event-ID: %.*s\r\nLast-Event-ID: %.*s\r\n",
                     cors, vl, v, vl, v);
    }
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

enum mercure_result mercure_sub_serve(struct mercure *m, struct req *r, req_param_fn get,
                                      void *ctx, const struct resp_sink *o)
{
    struct mercure_sub *u = calloc(1, sizeof *u);
    struct mercure_req *q = calloc(1, sizeof *q);
    const char *qs = get("QUERY_STRING", ctx), *hdr = get("HTTP_LAST_EVENT_ID", ctx);
    const char *sent = NULL;
    unsigned char rnd[16];
    char why[256];
    int st, found = 0;
    size_t sent_len = 0;

    if (!u || !q || getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        free(u);
        free(q);
        return mercure_refuse(m, get, ctx, o, 500, NULL, "out of memory: try again later",
                              r->head) < 0 ? MERCURE_GONE : MERCURE_ANSWERED;
    }
    u->hub = m;
    uuid_v4(u->id, rnd);
    st = mercure_token_read(m, get, ctx, 0, &u->tok, o, r->head);
    if (st) {
        sub_free(u);
        free(q);
        return MERCURE_ANSWERED;
    }
    if (!u->tok.present && !m->cfg.anonymous) {
        sub_free(u);
        free(q);
        return mercure_refuse(m, get, ctx, o, 401, NULL,
                              "a token is needed to subscribe: Authorization: Bearer, or the "
                              "cookie (the hub has no --mercure-anonymous)", r->head) < 0
               ? MERCURE_GONE : MERCURE_ANSWERED;
    }
    st = sel_parse_query(&u->sel, qs ? qs : "", qs ? strlen(qs) : 0, m->hub_url, m->cfg.gens,
                         why, sizeof why);
    if (st) {
        sub_free(u);
        free(q);
        return mercure_refuse(m, get, ctx, o, st, NULL, why, r->head) < 0 ? MERCURE_GONE
                                                                          : MERCURE_ANSWERED;
    }
    /* Last-Event-ID wins over the query's (an EventSource reconnecting keeps its URL) */
    if (hdr && *hdr)
        sent = hdr;
    else if (u->sel.has_last && u->sel.last[0])
        sent = u->sel.last;
    if (sent) {
        sent_len = strlen(sent);
        if (sent_len > SEL_LAST_ID_MAX || !topic_text_ok(sent, sent_len, NULL)) {
            sub_free(u);
            free(q);
            return mercure_refuse(m, get, ctx, o, 400, NULL,
                                  "the last event id is not one an update can have", r->head) < 0
                   ? MERCURE_GONE : MERCURE_ANSWERED;
        }
        u->last = resume_at(m, sent, sent_len, &found);
        u->has_last = 1;
    }
    if (make_head(m, u, get, ctx, sent, sent_len, found) < 0) {
        sub_free(u);
        free(q);
        return mercure_refuse(m, get, ctx, o, 500, NULL, "out of memory: try again later",
                              r->head) < 0 ? MERCURE_GONE : MERCURE_ANSWERED;
    }
    if (r->head) {
        int rc = resp_stream_head_extra(o, m->cfg.retry_ms, u->head, 1);
        sub_free(u);
        free(q);
        return rc < 0 ? MERCURE_GONE : MERCURE_ANSWERED;
    }
    q->kind = MERCURE_SUBSCRIBE;
    q->sub = u;
    r->mercure = q;
    return MERCURE_SUBSCRIBE;
}

int mercure_subscribe(struct mercure *m, struct stream *s, struct req *r, long long now)
{
    struct mercure_req *q = r->mercure;
    struct mercure_sub *u = q->sub;
    static const char names[1][CHAN_NAME_MAX + 1] = { MERCURE_CHANNEL };
    struct sub_spec spec = { 0 };

    r->mercure = NULL;
    free(q);
    u->s = s;
    if (mercure_index_add(&m->index, u) < 0) {
        sub_free(u);
        return -1;
    }
    list_append(&m->subscribers, &u->node);
    u->listed = 1;
    m->nsubscribers++;
    spec.names = names;
    spec.n = 1;
    spec.last = u->has_last ? &u->last : NULL;
    spec.quiet = 1;
    spec.no_reset = 1;
    spec.accept = accept;
    spec.head = head;
    spec.released = released;
    spec.ctx = u;
    if (u->tok.present && u->tok.exp) {
        long long left = u->tok.exp - (long long)(clock_wall_ms() / 1000);
        spec.end_ns = now + (left > 0 ? left : 0) * 1000000000LL;
        if (!spec.end_ns)
            spec.end_ns = 1;
    }
    /* from here on, released() owns u */
    return sub_start_spec(m->subs, s, &spec, now);
}
