/* mercure_auth.c -- who may use the Mercure hub: the token a request presents (Bearer header, else cookie), what it grants, CORS, and refusals */
#include "config.h"

#include "mercurehub/mercure_int.h"
#include "core/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The cookies a browser presents the token in: the current draft's name,
 * then the legacy one's. */
static const char *const cookie_names[] = { "__Secure-mercure_access_token",
                                            "mercureAuthorization" };

/* The value of cookie `name` in a Cookie header (RFC 6265: "a=b; c=d"),
 * or NULL; *len its length. */
static const char *cookie(const char *hdr, const char *name, size_t *len)
{
    size_t n = strlen(name);

    while (hdr && *hdr) {
        hdr += strspn(hdr, " \t;");
        if (strncmp(hdr, name, n) == 0 && hdr[n] == '=') {
            const char *v = hdr + n + 1;
            *len = strcspn(v, ";");
            while (*len && (v[*len - 1] == ' ' || v[*len - 1] == '\t'))
                (*len)--;
            if (*len >= 2 && v[0] == '"' && v[*len - 1] == '"') { /* RFC 6265's quoted form */
                v++;
                *len -= 2;
            }
            return v;
        }
        hdr = strchr(hdr, ';');
    }
    return NULL;
}

/* The token of the request: Authorization: Bearer (which wins; another
 * scheme is no token of ours), else a cookie. NULL when none. */
static const char *token_of(req_param_fn get, void *ctx, size_t *len, int *from_cookie)
{
    const char *a = get("HTTP_AUTHORIZATION", ctx), *c;
    size_t i;

    *from_cookie = 0;
    if (a && strncasecmp(a, "Bearer ", 7) == 0) {
        a += 7;
        a += strspn(a, " ");
        *len = strcspn(a, " \t");
        return a;
    }
    c = get("HTTP_COOKIE", ctx);
    for (i = 0; c && i < sizeof cookie_names / sizeof cookie_names[0]; i++) {
        const char *v = cookie(c, cookie_names[i], len);
        if (v && *len) {
            *from_cookie = 1;
            return v;
        }
    }
    return NULL;
}

void mercure_token_free(struct mercure_token *t)
{
    size_t i;

    if (t->compiled) {
        for (i = 0; i < t->grant.nsubscribe; i++)
            sel_free(&t->compiled[i]);
        free(t->compiled);
    }
    if (t->present)
        grant_free(&t->grant);
    memset(t, 0, sizeof *t);
}

/* Compiles the token's subscribe patterns once (they are evaluated for
 * every private update the subscriber might get). 0, or -1 with why. */
static int compile_grants(struct mercure *m, struct mercure_token *t, char *why, size_t whylen)
{
    size_t i, n = t->grant.nsubscribe;

    t->compiled = calloc(n ? n : 1, sizeof *t->compiled);
    if (!t->compiled) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    for (i = 0; i < n; i++) {
        const struct grant_matcher *g = &t->grant.subscribe[i];
        enum sel_type st = g->type == GRANT_URLPATTERN ? SEL_URLPATTERN
                           : g->type == GRANT_URITEMPLATE ? SEL_URITEMPLATE : 0;
        char w[160];
        if (!st)
            continue;
        if (sel_compile(&t->compiled[i], st, g->match, g->len, m->hub_url, w, sizeof w) < 0) {
            snprintf(why, whylen, "the token's subscribe matcher %zu: %s", i + 1, w);
            return -1;
        }
    }
    return 0;
}

int mercure_token_read(struct mercure *m, req_param_fn get, void *ctx, int publish,
                       struct mercure_token *t, const struct resp_sink *o, int head_only)
{
    const struct jwt_key *key = publish ? m->pub_key : m->sub_key;
    struct jwt_expect ex = { clock_wall_ms() / 1000, (enum jwt_gen)m->cfg.gens,
                             m->cfg.audience, m->cfg.issuer, 0 };
    struct jwt_result res;
    char why[JWT_WHY_MAX + 64];
    const char *tok;
    size_t len = 0;

    memset(t, 0, sizeof *t);
    tok = token_of(get, ctx, &len, &t->from_cookie);
    if (!tok)
        return 0;
    if (!key) {
        snprintf(why, sizeof why, "a token was presented but the hub has no %s to check it",
                 publish ? "--mercure-publisher-key-file" : "--mercure-subscriber-key-file");
        (void)mercure_refuse(m, get, ctx, o, 401, "invalid_token", why, head_only);
        return 401;
    }
    if (jwt_verify(tok, len, &key, 1, &ex, &res) < 0) {
        snprintf(why, sizeof why, "the token is not valid: %s", res.why);
        (void)mercure_refuse(m, get, ctx, o, 401, "invalid_token", why, head_only);
        return 401;
    }
    t->gen = res.gen;
    t->exp = res.has_exp ? res.exp : 0;
    if (grant_from_claims(res.claims, res.gen, &t->grant, why, sizeof why) < 0) {
        json_decref(res.claims);
        (void)mercure_refuse(m, get, ctx, o, 401, "invalid_token", why, head_only);
        return 401;
    }
    json_decref(res.claims); /* the grant holds its own reference */
    t->present = 1;
    if (compile_grants(m, t, why, sizeof why) < 0) {
        mercure_token_free(t);
        (void)mercure_refuse(m, get, ctx, o, 401, "invalid_token", why, head_only);
        return 401;
    }
    return 0;
}

/* What grant_match asks of a pattern: the subscriber's compiled ones, or
 * a publisher's compiled for the occasion. */
struct eval_ctx {
    struct mercure *m;
    const struct mercure_token *t;
};

static int eval(void *arg, const struct grant_matcher *g, const char *s, size_t len)
{
    const struct eval_ctx *e = arg;
    const struct grant *gr = &e->t->grant;
    struct sel_matcher tmp, *sm = NULL;
    struct sel_topic topic;
    uintptr_t p = (uintptr_t)g, lo = (uintptr_t)gr->subscribe;
    int r;

    if (e->t->compiled && gr->nsubscribe && p >= lo &&
        p < lo + gr->nsubscribe * sizeof *gr->subscribe)
        sm = &e->t->compiled[(p - lo) / sizeof *gr->subscribe];
    if (!sm || !sm->type) {
        char why[160];
        if (sel_compile(&tmp, g->type == GRANT_URLPATTERN ? SEL_URLPATTERN : SEL_URITEMPLATE,
                        g->match, g->len, e->m->hub_url, why, sizeof why) < 0)
            return -1;
        sm = &tmp;
    } else {
        memset(&tmp, 0, sizeof tmp);
    }
    sel_topic_init(&topic, s, len, e->m->hub_url);
    r = sel_match(sm, &topic);
    sel_topic_free(&topic);
    if (sm == &tmp)
        sel_free(&tmp);
    return r;
}

int mercure_token_may_receive(struct mercure *m, const struct mercure_token *t,
                              const char *const *topics, const size_t *lens, size_t n)
{
    struct eval_ctx e = { m, t };

    return t->present && grant_may_receive(&t->grant, topics, lens, n, eval, &e);
}

int mercure_token_may_read(struct mercure *m, const struct mercure_token *t, const char *topic,
                           size_t len)
{
    struct eval_ctx e = { m, t };

    return t->present && grant_allows(&t->grant, GRANT_SUBSCRIBE, topic, len, eval, &e);
}

int mercure_token_may_publish(struct mercure *m, const struct mercure_token *t,
                              const struct update *u)
{
    struct eval_ctx e = { m, t };

    return t->present &&
           grant_may_publish(&t->grant, u->topics, u->topic_lens, u->ntopics, eval, &e);
}

const json_t *mercure_token_payload(struct mercure *m, const struct mercure_token *t,
                                    const char *text, size_t len)
{
    struct eval_ctx e = { m, t };

    return t->present ? grant_payload(&t->grant, text, len, eval, &e) : NULL;
}

void mercure_cors(struct mercure *m, req_param_fn get, void *ctx, const char *expose, char *buf,
                  size_t cap)
{
    const char *origin = get("HTTP_ORIGIN", ctx);
    unsigned i;

    buf[0] = '\0';
    for (i = 0; origin && i < m->cfg.ncors; i++) {
        if (strcmp(origin, m->cfg.cors[i]) == 0) {
            int n = snprintf(buf, cap,
                             "Access-Control-Allow-Origin: %s\r\n"
                             "Access-Control-Allow-Credentials: true\r\n"
                             "Vary: Origin\r\n%s%s%s",
                             m->cfg.cors[i], expose ? "Access-Control-Expose-Headers: " : "",
                             expose ? expose : "", expose ? "\r\n" : "");
            if (n < 0 || (size_t)n >= cap)
                buf[0] = '\0';
            return;
        }
    }
}

int mercure_refuse(struct mercure *m, req_param_fn get, void *ctx, const struct resp_sink *o,
                   int status, const char *bearer_error, const char *why, int head_only)
{
    char extra[768], cors[512], body[512];
    int n;

    mercure_cors(m, get, ctx, NULL, cors, sizeof cors);
    if (status == 401 || status == 403 || bearer_error)
        n = snprintf(extra, sizeof extra, "%sWWW-Authenticate: Bearer%s%s%s\r\n", cors,
                     bearer_error ? " error=\"" : "", bearer_error ? bearer_error : "",
                     bearer_error ? "\"" : "");
    else
        n = snprintf(extra, sizeof extra, "%s", cors);
    if (n < 0 || (size_t)n >= sizeof extra)
        return -1;
    n = snprintf(body, sizeof body, "%s\n", why);
    if (n < 0)
        return -1;
    if ((size_t)n >= sizeof body)
        n = (int)sizeof body - 1;
    return resp_send(o, status, "text/plain; charset=utf-8", extra, body, (size_t)n, head_only);
}
