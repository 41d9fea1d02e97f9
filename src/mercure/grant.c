/* grant.c -- what a verified Mercure token allows: authorization_details (current) or the mercure claim (legacy) read into matchers and payloads */
#include "config.h"

#include "mercure/grant.h"
#include "mercure/topic.h"
#include "core/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char grant_detail_type[] = "https://mercure.rocks/authorization-detail";

void grant_free(struct grant *g)
{
    if (!g)
        return;
    free(g->publish);
    free(g->subscribe);
    free(g->payloads);
    json_decref(g->claims);
    memset(g, 0, sizeof *g);
}

/* NULL when s (len bytes) can be a matcher: 1 to GRANT_MATCH_MAX bytes of text a topic may
 * be (topic_text_ok: UTF-8 without C0, DEL, C1 or Unicode Cf); else what is wrong. */
static const char *grant_bad_string(const char *s, size_t len)
{
    const char *why;

    if (len == 0)
        return "is empty";
    if (len > GRANT_MATCH_MAX)
        return "is longer than 4096 bytes";
    if (topic_text_ok(s, len, &why))
        return NULL;
    if (strcmp(why, "a control character") == 0)
        return "holds a control character";
    if (strcmp(why, "not UTF-8") == 0)
        return "is not UTF-8";
    return "holds a format character (Unicode Cf)";
}

/* The array p (elements of size bytes) with room for element n: p itself while it has
 * room, or a larger copy (capacity 4, 8, 16... as n reaches it); NULL when memory runs out
 * (p is then left as it was). */
static void *grant_room(void *p, size_t n, size_t size)
{
    if (p && (n < 4 || (n & (n - 1)) != 0))
        return p;
    return realloc(p, (n < 4 ? 4 : n * 2) * size);
}

/* Appends a matcher to one action's list. 0, or -1. */
static int grant_add(struct grant_matcher **list, size_t *n, const json_t *str,
                     enum grant_type type, size_t detail, char *why, size_t whylen,
                     const char *action)
{
    const char *s = json_string_value(str);
    size_t len = json_string_length(str);
    struct grant_matcher *room;

    if (*n == GRANT_MATCHERS_MAX)
        return text_fail(-1, why, whylen, "the token grants %s on more than %d matchers", action,
                          GRANT_MATCHERS_MAX);
    if (!(room = grant_room(*list, *n, sizeof **list)))
        return text_fail(-1, why, whylen, "out of memory");
    *list = room;
    if (len == 1 && s[0] == '*')
        type = GRANT_ANY;
    (*list)[*n].type = type;
    (*list)[*n].match = s;
    (*list)[*n].len = len;
    (*list)[*n].detail = detail;
    (*n)++;
    return 0;
}

/* The actions of detail d: *pub and *sub set when granted. 0, or -1. */
static int grant_actions(const json_t *actions, size_t d, int *pub, int *sub, char *why,
                         size_t whylen)
{
    const json_t *a;
    size_t i;

    *pub = *sub = 0;
    if (!json_is_array(actions) || json_array_size(actions) == 0)
        return text_fail(-1, why, whylen, "authorization_details[%zu].actions is not a non-empty "
                          "array", d);
    json_array_foreach(actions, i, a) {
        if (!json_is_string(a))
            return text_fail(-1, why, whylen, "authorization_details[%zu].actions[%zu] is not a "
                              "string", d, i);
        /* Unknown actions grant nothing and are no error (the draft's registry may grow). */
        *pub |= strcmp(json_string_value(a), "publish") == 0;
        *sub |= strcmp(json_string_value(a), "subscribe") == 0;
    }
    return 0;
}

/* One topic matcher object of detail d: its match and type. 0, or -1. */
static int grant_topic(const json_t *t, size_t d, size_t i, const json_t **match,
                       enum grant_type *type, char *why, size_t whylen)
{
    const json_t *mt;
    const char *bad;

    if (!json_is_object(t))
        return text_fail(-1, why, whylen, "authorization_details[%zu].topics[%zu] is not an "
                          "object", d, i);
    *match = json_object_get(t, "match");
    if (!json_is_string(*match))
        return text_fail(-1, why, whylen, "authorization_details[%zu].topics[%zu].match is not a "
                          "string", d, i);
    if ((bad = grant_bad_string(json_string_value(*match), json_string_length(*match))))
        return text_fail(-1, why, whylen, "authorization_details[%zu].topics[%zu].match %s", d, i,
                          bad);
    mt = json_object_get(t, "match_type");
    *type = GRANT_EXACT;
    if (!mt)
        return 0;
    if (!json_is_string(mt))
        return text_fail(-1, why, whylen, "authorization_details[%zu].topics[%zu].match_type is "
                          "not a string", d, i);
    if (strcmp(json_string_value(mt), "urlpattern") == 0)
        *type = GRANT_URLPATTERN;
    else if (strcmp(json_string_value(mt), "exact") != 0)
        /* Also for `*`: a grant the hub cannot read fails loudly, never widens. */
        return text_fail(-1, why, whylen, "authorization_details[%zu].topics[%zu].match_type is "
                          "not one this hub supports (exact, urlpattern)", d, i);
    return 0;
}

/* One Mercure authorization detail (index d of the claim, k-th Mercure one). 0, or -1. */
static int grant_detail(struct grant *g, const json_t *det, size_t d, size_t k, char *why,
                        size_t whylen)
{
    const json_t *topics = json_object_get(det, "topics"), *payload, *t, *match = NULL;
    enum grant_type type = GRANT_EXACT;
    int pub, sub;
    size_t i;

    if (grant_actions(json_object_get(det, "actions"), d, &pub, &sub, why, whylen) < 0)
        return -1;
    if (!json_is_array(topics) || json_array_size(topics) == 0)
        return text_fail(-1, why, whylen, "authorization_details[%zu].topics is not a non-empty "
                          "array", d);
    if (json_array_size(topics) > GRANT_TOPICS_MAX)
        return text_fail(-1, why, whylen, "authorization_details[%zu].topics has more than %d "
                          "matchers", d, GRANT_TOPICS_MAX);
    payload = json_object_get(det, "payload");
    if (payload && !json_is_object(payload))
        return text_fail(-1, why, whylen, "authorization_details[%zu].payload is not an object",
                          d);
    json_array_foreach(topics, i, t) {
        if (grant_topic(t, d, i, &match, &type, why, whylen) < 0)
            return -1;
        if (pub && grant_add(&g->publish, &g->npublish, match, type, k, why, whylen,
                             "publish") < 0)
            return -1;
        if (sub && grant_add(&g->subscribe, &g->nsubscribe, match, type, k, why, whylen,
                             "subscribe") < 0)
            return -1;
    }
    g->payloads[k] = sub ? payload : NULL;
    return 0;
}

/* The current generation: authorization_details. 0, or -1. */
static int grant_current(struct grant *g, const json_t *claims, char *why, size_t whylen)
{
    const json_t *ad = json_object_get(claims, "authorization_details"), *det, *type;
    const json_t **room;
    size_t i, k = 0;

    if (!ad)
        return 0;
    if (!json_is_array(ad))
        return text_fail(-1, why, whylen, "authorization_details is not an array");
    json_array_foreach(ad, i, det) {
        if (!json_is_object(det))
            return text_fail(-1, why, whylen, "authorization_details[%zu] is not an object", i);
        type = json_object_get(det, "type");
        if (!json_is_string(type))
            return text_fail(-1, why, whylen, "authorization_details[%zu].type is not a string", i);
        if (json_string_length(type) != sizeof grant_detail_type - 1 ||
            memcmp(json_string_value(type), grant_detail_type, sizeof grant_detail_type - 1))
            continue; /* another API's detail */
        if (k == GRANT_DETAILS_MAX)
            return text_fail(-1, why, whylen, "the token has more than %d Mercure authorization "
                              "details", GRANT_DETAILS_MAX);
        if (!(room = grant_room(g->payloads, k, sizeof *g->payloads)))
            return text_fail(-1, why, whylen, "out of memory");
        g->payloads = room;
        if (grant_detail(g, det, i, k, why, whylen) < 0)
            return -1;
        g->ndetails = ++k;
    }
    return 0;
}

/* One legacy selector list (mercure.publish or mercure.subscribe). 0, or -1. */
static int grant_selectors(const json_t *list, const char *name, struct grant_matcher **out,
                           size_t *n, char *why, size_t whylen)
{
    const json_t *s;
    const char *bad;
    size_t i;

    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return text_fail(-1, why, whylen, "mercure.%s is not an array", name);
    json_array_foreach(list, i, s) {
        if (!json_is_string(s))
            return text_fail(-1, why, whylen, "mercure.%s[%zu] is not a string", name, i);
        if ((bad = grant_bad_string(json_string_value(s), json_string_length(s))))
            return text_fail(-1, why, whylen, "mercure.%s[%zu] %s", name, i, bad);
        if (grant_add(out, n, s, GRANT_URITEMPLATE, 0, why, whylen, name) < 0)
            return -1;
    }
    return 0;
}

/* The legacy generation: the mercure claim. 0, or -1. */
static int grant_legacy(struct grant *g, const json_t *claims, char *why, size_t whylen)
{
    const json_t *m = json_object_get(claims, "mercure"), *payload;

    if (!m)
        return 0;
    if (!json_is_object(m))
        return text_fail(-1, why, whylen, "the mercure claim is not an object");
    if (grant_selectors(json_object_get(m, "publish"), "publish", &g->publish, &g->npublish,
                        why, whylen) < 0 ||
        grant_selectors(json_object_get(m, "subscribe"), "subscribe", &g->subscribe,
                        &g->nsubscribe, why, whylen) < 0)
        return -1;
    payload = json_object_get(m, "payload");
    if (payload && !json_is_null(payload)) {
        if (!(g->payloads = calloc(1, sizeof *g->payloads)))
            return text_fail(-1, why, whylen, "out of memory");
        g->payloads[0] = payload;
        g->ndetails = 1;
    }
    return 0;
}

int grant_from_claims(json_t *claims, enum jwt_gen gen, struct grant *g, char *why,
                      size_t whylen)
{
    int r;

    memset(g, 0, sizeof *g);
    if (whylen)
        why[0] = '\0';
    if (!json_is_object(claims) || (gen != JWT_GEN_CURRENT && gen != JWT_GEN_LEGACY))
        return text_fail(-1, why, whylen, "no claims of a known generation");
    g->gen = gen;
    r = gen == JWT_GEN_CURRENT ? grant_current(g, claims, why, whylen) :
        grant_legacy(g, claims, why, whylen);
    if (r < 0) {
        grant_free(g); /* claims not held yet: nothing else to release */
        return -1;
    }
    g->claims = json_incref(claims);
    return 0;
}

int grant_match(const struct grant_matcher *m, const char *s, size_t len, grant_eval_fn eval,
                void *ctx)
{
    switch (m->type) {
    case GRANT_ANY:
        return 1;
    case GRANT_EXACT:
        return len == m->len && memcmp(s, m->match, len) == 0;
    case GRANT_URITEMPLATE:
        if (len == m->len && memcmp(s, m->match, len) == 0)
            return 1;
        return eval && eval(ctx, m, s, len) == 1;
    case GRANT_URLPATTERN:
        return eval && eval(ctx, m, s, len) == 1;
    }
    return 0;
}

int grant_allows(const struct grant *g, enum grant_action a, const char *topic, size_t len,
                 grant_eval_fn eval, void *ctx)
{
    const struct grant_matcher *list = a == GRANT_PUBLISH ? g->publish : g->subscribe;
    size_t n = a == GRANT_PUBLISH ? g->npublish : g->nsubscribe, i;

    for (i = 0; i < n; i++)
        if (grant_match(&list[i], topic, len, eval, ctx))
            return 1;
    return 0;
}

int grant_may_publish(const struct grant *g, const char *const *topics, const size_t *lens,
                      size_t n, grant_eval_fn eval, void *ctx)
{
    size_t i;

    if (n == 0)
        return 0;
    for (i = 0; i < n; i++)
        if (!grant_allows(g, GRANT_PUBLISH, topics[i], lens[i], eval, ctx))
            return 0;
    return 1;
}

int grant_may_receive(const struct grant *g, const char *const *topics, const size_t *lens,
                      size_t n, grant_eval_fn eval, void *ctx)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (grant_allows(g, GRANT_SUBSCRIBE, topics[i], lens[i], eval, ctx))
            return 1;
    return 0;
}

const json_t *grant_payload(const struct grant *g, const char *matcher, size_t len,
                            grant_eval_fn eval, void *ctx)
{
    size_t i;

    if (g->gen == JWT_GEN_LEGACY)
        return g->ndetails ? g->payloads[0] : NULL;
    /* Subscribe matchers are in detail order: the first that matches is in the first
     * detail that does, and that detail's payload (or none) is the answer. */
    for (i = 0; i < g->nsubscribe; i++)
        if (grant_match(&g->subscribe[i], matcher, len, eval, ctx))
            return g->payloads[g->subscribe[i].detail];
    return NULL;
}
