/* mercure_api.c -- Mercure's active subscriptions: an update on each subscription's start and end, and the subscriptions API */
#include "config.h"

#include "mercurehub/mercure_int.h"
#include "mercure/subevent.h"
#include "mercure/topic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Subscription i of u, as the subscription events and the API describe it. */
static void describe(struct mercure *m, const struct mercure_sub *u, size_t i, int active,
                     struct subevent_sub *se)
{
    const struct sel_matcher *sm = &u->sel.m[i];

    memset(se, 0, sizeof *se);
    se->gen = u->sel.gen;
    se->type_name = sm->type_name;
    se->match = sm->text;
    se->match_len = sm->len;
    se->subscriber = u->id;
    se->active = active;
    se->payload = mercure_token_payload(m, &u->tok, sm->text, sm->len);
}

void mercure_api_announce(struct mercure *m, struct mercure_sub *u, int active)
{
    size_t i;

    if (!m->cfg.subscriptions)
        return;
    for (i = 0; i < u->sel.n; i++) {
        struct subevent_sub se;
        struct update up;
        char *topic, *data = NULL, *text = NULL;
        json_t *doc;
        size_t len;

        describe(m, u, i, active, &se);
        topic = subevent_topic(&se, m->hub_path);
        doc = subevent_doc(&se, m->hub_path);
        if (doc)
            data = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        memset(&up, 0, sizeof up);
        if (topic && data) {
            up.ntopics = 1;
            up.topics[0] = topic;
            up.topic_lens[0] = strlen(topic);
            up.data = data;
            up.data_len = strlen(data);
            up.is_private = 1;
            if (u->sel.gen == SEL_CURRENT) {
                up.type = "mercure"; /* the current draft's reserved event type */
                up.type_len = 7;
            }
        }
        if (topic && data && update_store(&up, &text, &len) == 0)
            mercure_store(m, text, len, NULL, NULL);
        else if (log_allow(&m->warn))
            log_warn("mercure: a subscription event: out of memory");
        free(text);
        free(data);
        free(topic);
    }
}

/* The id of the last update the hub holds, or "earliest". */
static const char *last_event_id(struct mercure *m, size_t *len)
{
    const struct msg *msg = chan_newest(&m->index.link);
    const struct mercure_meta *mm = msg ? msg->meta : NULL;

    if (!mm) {
        *len = 8;
        return "earliest";
    }
    *len = mm->id_len;
    return mm->id;
}

/* 1 when subscription (u, i) is what path p names. */
static int named(const struct subevent_path *p, const struct mercure_sub *u, size_t i)
{
    const struct sel_matcher *sm = &u->sel.m[i];

    if (p->depth == 0)
        return 1;
    if (u->sel.gen == SEL_CURRENT && strcmp(p->match_type, sm->type_name) != 0)
        return 0;
    if (p->match_len != sm->len || memcmp(p->match, sm->text, sm->len) != 0)
        return 0;
    return p->depth == 1 ||
           (p->subscriber_len == strlen(u->id) && memcmp(p->subscriber, u->id, p->subscriber_len) == 0);
}

/* The documents of path p's subscriptions of generation gen, as an array. */
static json_t *docs_of(struct mercure *m, const struct subevent_path *p, enum sel_gen gen)
{
    json_t *a = json_array();
    struct list *n, *next;
    size_t i;

    list_for_each(n, next, &m->subscribers) {
        struct mercure_sub *u = container_of(n, struct mercure_sub, node);
        if (!a || u->sel.gen != gen || !u->s)
            continue;
        for (i = 0; i < u->sel.n; i++) {
            struct subevent_sub se;
            json_t *d;
            if (!named(p, u, i))
                continue;
            describe(m, u, i, 1, &se);
            d = subevent_doc(&se, m->hub_path);
            if (!d || json_array_append_new(a, d) < 0) {
                json_decref(a);
                return NULL;
            }
        }
    }
    return a;
}

int mercure_api_serve(struct mercure *m, struct req *r, req_param_fn get, void *ctx,
                      const struct resp_sink *o)
{
    const char *uri = get("REQUEST_URI", ctx), *at;
    struct mercure_token tok;
    struct subevent_path p;
    char why[256], *topic = NULL, *body = NULL, link[2048], cors[512], extra[3072];
    const char *last;
    size_t pathlen, last_len, tlen;
    json_t *docs, *doc;
    int st, rc;

    if (!m->cfg.subscriptions)
        return mercure_refuse(m, get, ctx, o, 404, NULL,
                              "the subscriptions API is off: the hub has no "
                              "--mercure-subscriptions", r->head);
    st = mercure_token_read(m, get, ctx, 0, &tok, o, r->head);
    if (st)
        return 0;
    if (!tok.present)
        return mercure_refuse(m, get, ctx, o, 401, NULL,
                              "a token is needed for the subscriptions API", r->head);
    /* the path as the client sent it (REQUEST_URI: its %2F are still segments' own) */
    at = uri ? strstr(uri, "/.well-known/mercure/subscriptions") : NULL;
    if (!at) {
        mercure_token_free(&tok);
        return mercure_refuse(m, get, ctx, o, 404, NULL,
                              "the subscriptions API is at .../.well-known/mercure/subscriptions "
                              "(REQUEST_URI must name it)", r->head);
    }
    at += strlen("/.well-known/mercure");
    pathlen = strcspn(at, "?#");
    tlen = strlen(m->hub_path) + pathlen;
    topic = malloc(tlen + 1);
    if (topic)
        snprintf(topic, tlen + 1, "%s%.*s", m->hub_path, (int)pathlen, at);
    if (!topic || !mercure_token_may_read(m, &tok, topic, tlen)) {
        int gen_cur = tok.gen == JWT_GEN_CURRENT;
        mercure_token_free(&tok);
        free(topic);
        (void)gen_cur;
        return mercure_refuse(m, get, ctx, o, 403, "insufficient_scope",
                              "the token does not grant subscribe on this subscriptions URL",
                              r->head);
    }
    st = subevent_path_parse(&p, at + strlen("/subscriptions"), pathlen - strlen("/subscriptions"),
                             tok.gen == JWT_GEN_CURRENT ? SEL_CURRENT : SEL_LEGACY, why,
                             sizeof why);
    if (st) {
        enum jwt_gen g = tok.gen;
        (void)g;
        mercure_token_free(&tok);
        free(topic);
        return mercure_refuse(m, get, ctx, o, st, NULL, why, r->head);
    }
    last = last_event_id(m, &last_len);
    docs = docs_of(m, &p, tok.gen == JWT_GEN_CURRENT ? SEL_CURRENT : SEL_LEGACY);
    if (p.depth == 2) {
        doc = docs && json_array_size(docs) ? json_incref(json_array_get(docs, 0)) : NULL;
        json_decref(docs);
        if (doc && tok.gen != JWT_GEN_CURRENT)
            json_object_set_new(doc, "lastEventID", json_stringn(last, last_len));
    } else {
        char lastz[SEL_LAST_ID_MAX + 16];
        snprintf(lastz, sizeof lastz, "%.*s", (int)last_len, last);
        doc = docs ? subevent_collection(tok.gen == JWT_GEN_CURRENT ? SEL_CURRENT : SEL_LEGACY,
                                         topic, lastz, docs) : NULL;
    }
    if (!doc) {
        int depth = p.depth;
        subevent_path_free(&p);
        mercure_token_free(&tok);
        free(topic);
        return mercure_refuse(m, get, ctx, o, depth == 2 ? 404 : 500, NULL,
                              depth == 2 ? "no such active subscription here"
                                         : "out of memory: try again later", r->head);
    }
    body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    mercure_cors(m, get, ctx, "Link", cors, sizeof cors);
    snprintf(link, sizeof link, "Link: <%s>; rel=\"mercure\"; last-event-id=\"%.*s\"; "
             "type=\"mercure\"; content-type=\"application/json\"\r\n",
             m->hub_url, (int)(last_len < 1024 ? last_len : 1024), last);
    snprintf(extra, sizeof extra, "%s%s", cors, link);
    rc = body ? resp_send(o, 200, tok.gen == JWT_GEN_CURRENT ? "application/json"
                                                              : "application/ld+json",
                          extra, body, strlen(body), r->head)
              : mercure_refuse(m, get, ctx, o, 500, NULL, "out of memory: try again later",
                               r->head);
    free(body);
    subevent_path_free(&p);
    mercure_token_free(&tok);
    free(topic);
    return rc;
}
