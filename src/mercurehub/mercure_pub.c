/* mercure_pub.c -- a Mercure publish: the publisher's token and grant, the form read and checked, stored through the engine or Redis, answered with the update's id */
#include "config.h"

#include "mercurehub/mercure_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The origin (scheme://host[:port]) a Referer names, into buf; "" if none. */
static void referer_origin(const char *ref, char *buf, size_t cap)
{
    const char *p = ref ? strstr(ref, "://") : NULL;
    size_t n;

    buf[0] = '\0';
    if (!p)
        return;
    n = (size_t)(p + 3 - ref) + strcspn(p + 3, "/?#");
    if (n < cap) {
        memcpy(buf, ref, n);
        buf[n] = '\0';
    }
}

/* A token in a cookie is ambient: a page of another site can make the
 * browser send it (CSRF). The request must then come from the hub's own
 * origin or an allowed one (--mercure-cors-origin), as its Origin header
 * (else its Referer's) says; with neither it is refused. */
static int origin_ok(struct mercure *m, req_param_fn get, void *ctx)
{
    const char *origin = get("HTTP_ORIGIN", ctx), *host = get("HTTP_HOST", ctx);
    const char *https = get("HTTPS", ctx), *scheme = get("REQUEST_SCHEME", ctx);
    char from[512], own[512];
    unsigned i;

    if (origin && *origin)
        snprintf(from, sizeof from, "%s", origin);
    else
        referer_origin(get("HTTP_REFERER", ctx), from, sizeof from);
    if (!from[0])
        return 0;
    for (i = 0; i < m->cfg.ncors; i++)
        if (strcmp(from, m->cfg.cors[i]) == 0)
            return 1;
    if (!scheme || !*scheme)
        scheme = https && *https && strcasecmp(https, "off") != 0 ? "https" : "http";
    if (!host)
        return 0;
    snprintf(own, sizeof own, "%s://%s", scheme, host);
    return strcasecmp(from, own) == 0;
}

static enum mercure_result refused(struct mercure *m, req_param_fn get, void *ctx,
                                   const struct resp_sink *o, int status, const char *err,
                                   const char *why)
{
    return mercure_refuse(m, get, ctx, o, status, err, why, 0) < 0 ? MERCURE_GONE
                                                                   : MERCURE_ANSWERED;
}

enum mercure_result mercure_pub_serve(struct mercure *m, struct req *r, req_param_fn get,
                                      void *ctx, const char *body, size_t len, int too_big,
                                      const struct resp_sink *o)
{
    const char *type = get("CONTENT_TYPE", ctx);
    struct mercure_token tok;
    struct mercure_req *q;
    char why[256];
    int st;

    if (!m->pub_key)
        return refused(m, get, ctx, o, 403, NULL,
                       "publishing is off: the hub has no --mercure-publisher-key-file");
    st = mercure_token_read(m, get, ctx, 1, &tok, o, 0);
    if (st)
        return MERCURE_ANSWERED;
    if (!tok.present)
        return refused(m, get, ctx, o, 401, NULL,
                       "a token is needed to publish: Authorization: Bearer, or the cookie");
    if (tok.from_cookie && !origin_ok(m, get, ctx)) {
        mercure_token_free(&tok);
        return refused(m, get, ctx, o, 403, NULL,
                       "a token in a cookie publishes only from the hub's own origin or a "
                       "--mercure-cors-origin (Origin or Referer)");
    }
    if (too_big) {
        mercure_token_free(&tok);
        return refused(m, get, ctx, o, 413, NULL, "the update is over the hub's --max-message");
    }
    if (type && *type && strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0) {
        mercure_token_free(&tok);
        return refused(m, get, ctx, o, 400, NULL,
                       "a publish is application/x-www-form-urlencoded");
    }
    q = calloc(1, sizeof *q);
    if (!q) {
        mercure_token_free(&tok);
        return refused(m, get, ctx, o, 500, NULL, "out of memory: try again later");
    }
    st = update_from_form(&q->up, body ? body : "", len, m->hub_url, why, sizeof why);
    if (st) {
        mercure_token_free(&tok);
        free(q);
        return refused(m, get, ctx, o, st, NULL, why);
    }
    if (!mercure_token_may_publish(m, &tok, &q->up)) {
        mercure_token_free(&tok);
        mercure_req_free(q);
        return refused(m, get, ctx, o, 403, "insufficient_scope",
                       "the token does not grant publish on every topic of the update");
    }
    mercure_token_free(&tok);
    if (update_store(&q->up, &q->stored, &q->stored_len) < 0) {
        mercure_req_free(q);
        return refused(m, get, ctx, o, 500, NULL, "out of memory: try again later");
    }
    if (q->stored_len > m->cfg.max_message) {
        mercure_req_free(q);
        return refused(m, get, ctx, o, 413, NULL,
                       "the update, stored, is over the hub's --max-message");
    }
    mercure_cors(m, get, ctx, NULL, q->cors, sizeof q->cors);
    q->kind = MERCURE_PUBLISH;
    r->mercure = q;
    return MERCURE_PUBLISH;
}

/* A publish waiting for its id. */
struct mercure_wait {
    struct mercure *m;
    struct stream *s;
    char *id;                           /* the publisher's, or NULL */
    size_t id_len;
    char cors[512];
};

static void published(void *arg, const struct msgid *id, const char *why)
{
    struct mercure_wait *w = arg;
    char hub_id[UUID_URN_MAX];
    struct resp_sink o;

    stream_sink(w->s, &o);
    if (id) {
        const char *v = w->id;
        size_t n = w->id_len;
        if (!v) {
            n = uuid_from_msgid(hub_id, id->ms, id->seq);
            v = hub_id;
        }
        (void)resp_send(&o, 200, "text/plain; charset=utf-8", w->cors, v, n, 0);
    } else {
        char extra[600];
        snprintf(extra, sizeof extra, "%sRetry-After: 1\r\n", w->cors);
        (void)resp_send(&o, 503, "text/plain; charset=utf-8", extra, why, strlen(why), 0);
    }
    stream_end(w->s, 1);
    stream_destroy(w->s);
    free(w->id);
    free(w);
}

void mercure_publish(struct mercure *m, struct stream *s, struct req *r)
{
    struct mercure_req *q = r->mercure;
    struct mercure_wait *w = calloc(1, sizeof *w);

    r->mercure = NULL;
    if (!w || (q->up.id && !(w->id = strndup(q->up.id, q->up.id_len)))) {
        struct resp_sink o;
        free(w);
        stream_sink(s, &o);
        (void)resp_error(&o, 503, "out of memory for the update: try again later", 1, 0);
        stream_end(s, 1);
        stream_destroy(s);
        mercure_req_free(q);
        return;
    }
    w->m = m;
    w->s = s;
    w->id_len = q->up.id_len;
    memcpy(w->cors, q->cors, sizeof w->cors);
    m->d.backend->publish(m->d.backend->ctx, MERCURE_CHANNEL, NULL, q->stored, q->stored_len,
                          published, w);
    mercure_req_free(q);
}

static void stored(void *arg, const struct msgid *id, const char *why)
{
    struct mercure *m = arg;

    if (!id && log_allow(&m->warn))
        log_warn("mercure: a subscription event was not published: %s", why);
}

void mercure_store(struct mercure *m, const char *text, size_t len, pub_done_fn done, void *arg)
{
    if (!done) {
        done = stored;
        arg = m;
    }
    m->d.backend->publish(m->d.backend->ctx, MERCURE_CHANNEL, NULL, text, len, done, arg);
}
