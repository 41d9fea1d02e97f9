/* mercure.c -- the Mercure hub: its keys and configuration, its requests routed (subscribe, publish, preflight, subscriptions API), its subscribers' ends */
#include "config.h"

#include "mercurehub/mercure_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A key file option: "[ALG:]FILE". NULL with err. */
static struct jwt_key *load_key(const char *opt, const char *arg, char *err, size_t errlen)
{
    static const char *const algs[] = { "HS256", "HS384", "HS512", "RS256", "ES256", "EdDSA" };
    const char *path = arg, *alg = NULL;
    char name[8], why[256];
    struct jwt_key *k;
    size_t i;

    for (i = 0; i < sizeof algs / sizeof algs[0]; i++) {
        size_t n = strlen(algs[i]);
        if (strncmp(arg, algs[i], n) == 0 && arg[n] == ':') {
            memcpy(name, algs[i], n + 1);
            alg = name;
            path = arg + n + 1;
        }
    }
    k = jwt_key_load(path, alg, why, sizeof why);
    if (!k) {
        snprintf(err, errlen, "%s %s: %s", opt, path, why);
        return NULL;
    }
    if (why[0])
        log_warn("%s %s: %s", opt, path, why);
    return k;
}

/* The subscribers' history: the channels' own (history.h). With Redis, what
 * the engine no longer holds, or never held (updates published while this
 * responder was down), is fetched from Redis's copy of MERCURE_CHANNEL, so a
 * subscriber resumes on any responder; in memory there is nothing behind the
 * engine, and mercure_sub.c's resume_at tells the subscriber where it starts. */
static int local_start(struct history *h, struct msgid *out)
{
    struct mercure *m = h->ctx;

    return m->d.history->start(m->d.history, out);
}

static struct history_fetch *local_fetch(struct history *h, const char (*names)[CHAN_NAME_MAX + 1],
                                         unsigned n, const struct msgid *after, int check_reset,
                                         size_t bytes, history_fn fn, void *arg)
{
    struct mercure *m = h->ctx;

    /* Mercure has no reset event: a hole Redis trimmed is not told mid-stream */
    (void)check_reset;
    return m->d.history->fetch(m->d.history, names, n, after, 0, bytes, fn, arg);
}

/* After each turn of the loop: the subscribers that ended leave the index
 * (offers of this turn may have named them) and say so. */
static void reap(struct loop *l, void *arg)
{
    struct mercure *m = arg;
    struct list *n;
    (void)l;

    while ((n = list_first(&m->ended))) {
        struct mercure_sub *u = container_of(n, struct mercure_sub, node);
        list_remove(n);
        u->listed = 0;
        mercure_index_remove(&m->index, u);
        if (u->announce && !m->closing)
            mercure_api_announce(m, u, 0);
        mercure_sub_free(u);
    }
}

/* The hub's URL (relative topics resolve against it) and its path. */
static int set_url(struct mercure *m, char *err, size_t errlen)
{
    const char *url = m->cfg.audience && (strncmp(m->cfg.audience, "https://", 8) == 0 ||
                                          strncmp(m->cfg.audience, "http://", 7) == 0)
                      ? m->cfg.audience : MERCURE_DEFAULT_URL;
    const char *path = strchr(strstr(url, "://") + 3, '/');

    if (strlen(url) >= sizeof m->hub_url) {
        snprintf(err, errlen, "--mercure-audience: at most %zu bytes", sizeof m->hub_url - 1);
        return -1;
    }
    snprintf(m->hub_url, sizeof m->hub_url, "%s", url);
    snprintf(m->hub_path, sizeof m->hub_path, "%.*s", path ? (int)strcspn(path, "?#") : 1,
             path ? path : "/");
    return 0;
}

struct mercure *mercure_create(const struct mercure_config *cfg, const struct mercure_deps *d,
                               char *err, size_t errlen)
{
    struct mercure *m = calloc(1, sizeof *m);
    struct sub_params sp;

    if (!m) {
        snprintf(err, errlen, "mercure: out of memory");
        return NULL;
    }
    m->cfg = *cfg;
    m->d = *d;
    list_init(&m->subscribers);
    list_init(&m->ended);
    if (set_url(m, err, errlen) < 0)
        goto fail;
    if (cfg->publisher_key_file &&
        !(m->pub_key = load_key("--mercure-publisher-key-file", cfg->publisher_key_file, err,
                                errlen)))
        goto fail;
    if (cfg->subscriber_key_file &&
        !(m->sub_key = load_key("--mercure-subscriber-key-file", cfg->subscriber_key_file, err,
                                errlen)))
        goto fail;
    m->local.start = local_start;
    m->local.fetch = local_fetch;
    m->local.cancel = d->history->cancel; /* the fetches are d->history's */
    m->local.ctx = m;
    sp.engine = d->engine;
    sp.heartbeat_ns = cfg->heartbeat_ns;
    sp.delivered = d->delivered;
    sp.history = &m->local;
    sp.retry_ms = cfg->retry_ms;
    m->subs = sub_create(&sp);
    m->codec.make = mercure_codec_make;
    m->codec.ctx = m;
    if (!m->subs || mercure_index_init(&m->index, d->engine) < 0) {
        snprintf(err, errlen, "mercure: out of memory");
        goto fail;
    }
    chan_engine_set_codec(d->engine, &m->codec);
    if (mercure_index_start(&m->index, d->engine, m->hub_url) < 0 ||
        loop_after(d->loop, reap, m) < 0) {
        snprintf(err, errlen, "mercure: %s", strerror(errno));
        goto fail;
    }
    m->after = 1;
    return m;
fail:
    mercure_destroy(m);
    return NULL;
}

void mercure_destroy(struct mercure *m)
{
    if (!m)
        return;
    if (m->after)
        loop_after_remove(m->d.loop, reap, m);
    m->closing = 1;
    reap(m->d.loop, m);
    if (m->index.hash)
        mercure_index_fini(&m->index, m->d.engine);
    sub_destroy(m->subs);
    jwt_key_free(m->pub_key);
    jwt_key_free(m->sub_key);
    free(m);
}

void mercure_req_free(void *req)
{
    struct mercure_req *q = req;

    if (!q)
        return;
    if (q->sub)
        mercure_sub_free(q->sub);
    update_free(&q->up);
    free(q->stored);
    free(q);
}

/* A CORS preflight: allowed for the origins of --mercure-cors-origin. */
static int preflight(struct mercure *m, req_param_fn get, void *ctx, const struct resp_sink *o)
{
    char cors[512], extra[1024];

    mercure_cors(m, get, ctx, NULL, cors, sizeof cors);
    if (!cors[0])
        return mercure_refuse(m, get, ctx, o, 403, NULL,
                              "this origin may not use the hub: see --mercure-cors-origin", 0);
    snprintf(extra, sizeof extra,
             "%sAccess-Control-Allow-Methods: GET, POST, OPTIONS\r\n"
             "Access-Control-Allow-Headers: Authorization, Content-Type, Last-Event-ID, "
             "Cache-Control\r\nAccess-Control-Max-Age: 600\r\n", cors);
    return resp_send(o, 200, "text/plain; charset=utf-8", extra, "", 0, 0);
}

enum mercure_result mercure_serve(struct mercure *m, struct req *r, req_param_fn get, void *ctx,
                                  const char *body, size_t body_len, int too_big,
                                  const struct resp_sink *o)
{
    const char *method = get("REQUEST_METHOD", ctx);
    int rc;

    if (method && strcmp(method, "OPTIONS") == 0)
        rc = preflight(m, get, ctx, o);
    else if (r->route == REQ_MERCURE_SUBS)
        rc = mercure_api_serve(m, r, get, ctx, o);
    else if (method && strcmp(method, "POST") == 0)
        return mercure_pub_serve(m, r, get, ctx, body, body_len, too_big, o);
    else if (too_big || body_len)
        rc = mercure_refuse(m, get, ctx, o, 413, NULL, "a subscription carries no body",
                            r->head);
    else
        return mercure_sub_serve(m, r, get, ctx, o);
    return rc < 0 ? MERCURE_GONE : MERCURE_ANSWERED;
}
