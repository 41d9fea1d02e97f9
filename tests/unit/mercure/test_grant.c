/* test_grant.c -- unit tests of grant: both generations' claims read into matchers and payloads, every malformed or oversized grant refused, Symfony's tokens end to end */
/* Claims are JSON texts here (the draft's own examples among them), or the claims of
 * tokens made by Debian's php-symfony-mercure (jwt_vectors.h) verified by jwt.c. The
 * evaluator passed to grant is uritemplate.c for legacy templates; for URL patterns (a
 * module of their own) it answers from a table of pairs, as the URL Pattern standard does
 * for them, and counts its calls: what grant does with the answer is what is tested. */
#include "config.h"

#include "mercure/grant.h"
#include "mercure/jwt.h"
#include "mercure/uritemplate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwt_vectors.h"
#include "tap.h"

#define DT "\"type\":\"https://mercure.rocks/authorization-detail\""

static int evals;

static int eval(void *ctx, const struct grant_matcher *m, const char *s, size_t len)
{
    static const char *const urlpatterns[][2] = {
        { "https://example.com/books/:id", "https://example.com/books/1" },
        { "https://example.com/books/:id", "https://example.com/books/7" },
        { "https://example.com/bar/:id", "https://example.com/bar/:id" },
        { "https://example.com/bar/:id", "https://example.com/bar/2" },
        { "https://example.com/users/42/*", "https://example.com/users/42/books/1" },
    };
    struct uritemplate *t;
    size_t i;
    int r = 0;

    (void)ctx;
    evals++;
    if (m->type == GRANT_URITEMPLATE) {
        if (uritemplate_compile(m->match, m->len, &t, NULL, 0) != UT_OK)
            return -1;
        r = uritemplate_match(t, s, len);
        uritemplate_free(t);
        return r;
    }
    for (i = 0; i < sizeof urlpatterns / sizeof urlpatterns[0]; i++)
        if (strcmp(m->match, urlpatterns[i][0]) == 0 && strlen(urlpatterns[i][1]) == len &&
            memcmp(s, urlpatterns[i][1], len) == 0)
            r = 1;
    return r;
}

/* Reads claims (JSON text) of generation gen into g; 0, or -1 with why. */
static int parse(const char *json, enum jwt_gen gen, struct grant *g, char *why, size_t whylen)
{
    json_error_t e;
    json_t *c = json_loads(json, JSON_REJECT_DUPLICATES, &e);
    int r;

    if (!c) {
        fprintf(stderr, "test JSON: %s: %s\n", e.text, json);
        abort();
    }
    r = grant_from_claims(c, gen, g, why, whylen);
    json_decref(c);
    return r;
}

static int allows(const struct grant *g, enum grant_action a, const char *topic)
{
    return grant_allows(g, a, topic, strlen(topic), eval, NULL);
}

/* 1 when the claims are refused with a reason containing want. */
static int refused(const char *json, enum jwt_gen gen, const char *want, char *why, size_t len)
{
    struct grant g;

    if (parse(json, gen, &g, why, len) == 0) {
        grant_free(&g);
        snprintf(why, len, "accepted");
        return 0;
    }
    return strstr(why, want) != NULL && g.npublish == 0 && g.claims == NULL;
}

/* The draft's examples (Authorization, Subscribers, Payloads). */
static void test_current_examples(void)
{
    struct grant g;
    char why[200];
    const char *topics[] = { "https://example.com/books/1", "https://example.com/users/42/books/1" };
    size_t lens[] = { strlen(topics[0]), strlen(topics[1]) };
    const json_t *p;

    ok(parse("{\"authorization_details\":[{" DT ",\"actions\":[\"subscribe\"],\"topics\":[{\"match\":"
             "\"https://example.com/books/:id\",\"match_type\":\"urlpattern\"}]}]}",
             JWT_GEN_CURRENT, &g, why, sizeof why) == 0 && g.nsubscribe == 1 && g.npublish == 0 &&
       g.subscribe[0].type == GRANT_URLPATTERN, "current: the Authorization example: one "
       "urlpattern subscribe matcher");
    evals = 0;
    ok(allows(&g, GRANT_SUBSCRIBE, "https://example.com/books/1") &&
       !allows(&g, GRANT_SUBSCRIBE, "https://example.com/films/1") && evals == 2 &&
       !allows(&g, GRANT_PUBLISH, "https://example.com/books/1"),
       "current: a urlpattern matcher is evaluated by the callback; subscribe grants no publish");
    grant_free(&g);
    ok(parse("{\"authorization_details\":[{" DT ",\"actions\":[\"subscribe\"],\"topics\":["
             "{\"match\":\"https://example.com/books/1\",\"match_type\":\"exact\"},"
             "{\"match\":\"https://example.com/books/7\",\"match_type\":\"exact\"}]}]}",
             JWT_GEN_CURRENT, &g, why, sizeof why) == 0, "current: the Subscribers example");
    evals = 0;
    ok(allows(&g, GRANT_SUBSCRIBE, "https://example.com/books/1") &&
       !allows(&g, GRANT_SUBSCRIBE, "https://example.com/books/2") && evals == 0,
       "current: books/1 granted, books/2 not, exact matchers need no callback");
    grant_free(&g);
    ok(parse("{\"authorization_details\":[{" DT ",\"actions\":[\"subscribe\"],\"topics\":["
             "{\"match\":\"https://example.com/users/42/*\",\"match_type\":\"urlpattern\"}]}]}",
             JWT_GEN_CURRENT, &g, why, sizeof why) == 0 &&
       grant_may_receive(&g, topics, lens, 2, eval, NULL) &&
       !grant_may_receive(&g, topics, lens, 1, eval, NULL),
       "current: a private update is received through its alternate topic only");
    grant_free(&g);
    ok(parse("{\"authorization_details\":["
             "{" DT ",\"actions\":[\"subscribe\"],\"topics\":[{\"match\":\"https://example.com/foo\"}],"
             "\"payload\":{\"custom1\":1}},"
             "{" DT ",\"actions\":[\"subscribe\"],\"topics\":[{\"match\":\"https://example.com/bar/:id\","
             "\"match_type\":\"urlpattern\"}],\"payload\":{\"custom2\":2}},"
             "{" DT ",\"actions\":[\"subscribe\"],\"topics\":[{\"match\":\"*\"}],\"payload\":{\"custom3\":3}}]}",
             JWT_GEN_CURRENT, &g, why, sizeof why) == 0 && g.ndetails == 3,
       "current: the Payloads example");
    p = grant_payload(&g, "https://example.com/foo", 23, eval, NULL);
    ok(p && json_object_get(p, "custom1"), "payloads: an exact matcher's subscription gets custom1");
    p = grant_payload(&g, "https://example.com/bar/:id", 27, eval, NULL);
    ok(p && json_object_get(p, "custom2"), "payloads: the urlpattern subscription gets custom2");
    p = grant_payload(&g, "https://example.com/other", 25, eval, NULL);
    ok(p && json_object_get(p, "custom3"), "payloads: any other gets the * detail's custom3");
    ok(g.subscribe[2].type == GRANT_ANY && g.subscribe[2].detail == 2,
       "current: match * is the wildcard, match_type absent");
    grant_free(&g);
}

static void test_current_rules(void)
{
    struct grant g;
    char why[200];

    ok(parse("{\"sub\":\"x\"}", JWT_GEN_CURRENT, &g, why, sizeof why) == 0 && g.npublish == 0 &&
       g.nsubscribe == 0, "current: no authorization_details: a valid token that grants nothing");
    grant_free(&g);
    ok(parse("{\"mercure\":{\"publish\":[\"*\"]}}", JWT_GEN_CURRENT, &g, why, sizeof why) == 0 &&
       g.npublish == 0, "current: a mercure claim grants nothing");
    grant_free(&g);
    ok(parse("{\"authorization_details\":[{\"type\":\"payment_initiation\",\"actions\":5},"
             "{" DT ",\"actions\":[\"publish\",\"archive\",\"subscribe\"],\"topics\":[{\"match\":"
             "\"https://example.com/a\"}],\"payload\":{\"p\":1}}]}", JWT_GEN_CURRENT, &g, why,
             sizeof why) == 0 && g.npublish == 1 && g.nsubscribe == 1 && g.ndetails == 1 &&
       g.payloads[0] != NULL, "current: other detail types ignored, unknown actions ignored, "
       "publish and subscribe from one detail");
    grant_free(&g);
    ok(parse("{\"authorization_details\":[{" DT ",\"actions\":[\"archive\"],\"topics\":[{\"match\":"
             "\"*\"}]}]}", JWT_GEN_CURRENT, &g, why, sizeof why) == 0 && g.npublish == 0 &&
       g.nsubscribe == 0, "current: a detail of unknown actions only grants nothing");
    grant_free(&g);
    ok(parse("{\"authorization_details\":[{" DT ",\"actions\":[\"publish\"],\"topics\":[{\"match\":"
             "\"https://example.com/a\"}],\"payload\":{\"p\":1}}]}", JWT_GEN_CURRENT, &g, why,
             sizeof why) == 0 && g.payloads[0] == NULL &&
       !grant_payload(&g, "https://example.com/a", 21, eval, NULL),
       "current: a payload of a publish-only detail is no subscription's payload");
    grant_free(&g);
    ok(parse("{\"authorization_details\":[{" DT ",\"actions\":[\"subscribe\"],\"topics\":[{\"match\":"
             "\"https://example.com/a\"}]},{" DT ",\"actions\":[\"subscribe\"],\"topics\":[{\"match\":"
             "\"*\",\"match_type\":\"urlpattern\"}],\"payload\":{\"p\":1}}]}", JWT_GEN_CURRENT,
             &g, why, sizeof why) == 0 && g.subscribe[1].type == GRANT_ANY &&
       !grant_payload(&g, "https://example.com/a", 21, eval, NULL) &&
       grant_payload(&g, "https://example.com/b", 21, eval, NULL),
       "current: the first matching detail wins even without a payload; * with urlpattern is "
       "the wildcard");
    grant_free(&g);
}

static void test_current_refusals(void)
{
    static const char *const bad[][2] = {
        { "{\"authorization_details\":{}}", "authorization_details is not an array" },
        { "{\"authorization_details\":[3]}", "authorization_details[0] is not an object" },
        { "{\"authorization_details\":[{\"actions\":[]}]}", "type is not a string" },
        { "{\"authorization_details\":[{" DT ",\"topics\":[{\"match\":\"a\"}]}]}",
          "actions is not a non-empty array" },
        { "{\"authorization_details\":[{" DT ",\"actions\":[],\"topics\":[{\"match\":\"a\"}]}]}",
          "actions is not a non-empty array" },
        { "{\"authorization_details\":[{" DT ",\"actions\":[\"subscribe\",1],\"topics\":[{\"match\":\"a\"}]}]}",
          "actions[1] is not a string" },
        { "{\"authorization_details\":[{" DT ",\"actions\":[\"subscribe\"]}]}",
          "topics is not a non-empty array" },
        { "{\"authorization_details\":[{" DT ",\"actions\":[\"subscribe\"],\"topics\":[]}]}",
          "topics is not a non-empty array" },
        { "{\"authorization_details\":[{" DT ",\"actions\":[\"subscribe\"],\"topics\":[\"a\"]}]}",
          "topics[0] is not an object" },
        { "{\"authorization_details\":[{" DT ",\"actions\":[\"subscribe\"],\"topics\":[{\"m\":\"a\"}]}]}",
          "topics[0].match is not a string" },
        { "{\"authorization_details\":[{" DT ",\"actions\":[\"subscribe\"],\"topics\":[{\"match\":\"\"}]}]}",
          "match is empty" },
        { "{\"authorization_details\":[{" DT ",\"actions\":[\"subscribe\"],\"topics\":[{\"match\":\"a\\nb\"}]}]}",
          "match holds a control character" },
        { "{\"authorization_details\":[{" DT ",\"actions\":[\"subscribe\"],\"topics\":[{\"match\":\"a\\u0085\"}]}]}",
          "match holds a control character" },
        { "{\"authorization_details\":[{" DT ",\"actions\":[\"subscribe\"],\"topics\":[{\"match\":\"a\\u200bb\"}]}]}",
          "match holds a format character (Unicode Cf)" },
        { "{\"authorization_details\":[{" DT ",\"actions\":[\"subscribe\"],\"topics\":[{\"match\":\"\\ufeffa\"}]}]}",
          "match holds a format character (Unicode Cf)" },
        { "{\"authorization_details\":[{" DT ",\"actions\":[\"subscribe\"],\"topics\":[{\"match\":\"a\","
          "\"match_type\":\"regex\"}]}]}", "match_type is not one this hub supports" },
        { "{\"authorization_details\":[{" DT ",\"actions\":[\"subscribe\"],\"topics\":[{\"match\":\"*\","
          "\"match_type\":\"regex\"}]}]}", "match_type is not one this hub supports" },
        { "{\"authorization_details\":[{" DT ",\"actions\":[\"subscribe\"],\"topics\":[{\"match\":\"a\","
          "\"match_type\":\"URLPattern\"}]}]}", "match_type is not one this hub supports" },
        { "{\"authorization_details\":[{" DT ",\"actions\":[\"subscribe\"],\"topics\":[{\"match\":\"a\","
          "\"match_type\":null}]}]}", "match_type is not a string" },
        { "{\"authorization_details\":[{" DT ",\"actions\":[\"subscribe\"],\"topics\":[{\"match\":\"a\"}],"
          "\"payload\":[1]}]}", "payload is not an object" },
        { "{\"authorization_details\":[{" DT ",\"actions\":[\"publish\"],\"topics\":[{\"match\":\"a\"}]},"
          "{" DT ",\"actions\":[\"subscribe\"],\"topics\":[{\"match\":\"a\",\"match_type\":\"x\"}]}]}",
          "authorization_details[1].topics[0].match_type" },
    };
    char why[200];
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ok(refused(bad[i][0], JWT_GEN_CURRENT, bad[i][1], why, sizeof why) && !strchr(why, '\n'),
           "current: invalid token: %s", why);
}

/* A current claim of nd details with nt topics each, the topics' match of mlen bytes. */
static char *claims_of(size_t nd, size_t nt, size_t mlen)
{
    size_t cap = 256 + nd * (128 + nt * (mlen + 32)), d, t, n = 0;
    char *s = malloc(cap), *match = malloc(mlen + 1);

    if (!s || !match)
        abort();
    memset(match, 'a', mlen);
    match[mlen] = '\0';
    n += (size_t)snprintf(s + n, cap - n, "{\"authorization_details\":[");
    for (d = 0; d < nd; d++) {
        n += (size_t)snprintf(s + n, cap - n, "%s{" DT ",\"actions\":[\"publish\"],\"topics\":[",
                              d ? "," : "");
        for (t = 0; t < nt; t++)
            n += (size_t)snprintf(s + n, cap - n, "%s{\"match\":\"%s%zu\"}", t ? "," : "", match,
                                  t % 10);
        n += (size_t)snprintf(s + n, cap - n, "]}");
    }
    snprintf(s + n, cap - n, "]}");
    free(match);
    return s;
}

static void test_limits(void)
{
    struct grant g;
    char why[200], *s;

    s = claims_of(GRANT_DETAILS_MAX, 4, 8);
    ok(parse(s, JWT_GEN_CURRENT, &g, why, sizeof why) == 0 && g.npublish == 4 * GRANT_DETAILS_MAX,
       "limits: %d details of 4 topics are taken", GRANT_DETAILS_MAX);
    grant_free(&g);
    free(s);
    s = claims_of(GRANT_DETAILS_MAX + 1, 1, 8);
    ok(refused(s, JWT_GEN_CURRENT, "more than 32 Mercure authorization details", why, sizeof why),
       "limits: one detail more: %s", why);
    free(s);
    s = claims_of(1, GRANT_TOPICS_MAX, 8);
    ok(parse(s, JWT_GEN_CURRENT, &g, why, sizeof why) == 0, "limits: %d topics in a detail",
       GRANT_TOPICS_MAX);
    grant_free(&g);
    free(s);
    s = claims_of(1, GRANT_TOPICS_MAX + 1, 8);
    ok(refused(s, JWT_GEN_CURRENT, "topics has more than 64", why, sizeof why),
       "limits: one topic more: %s", why);
    free(s);
    s = claims_of(3, 43, 8);
    ok(refused(s, JWT_GEN_CURRENT, "publish on more than 128 matchers", why, sizeof why),
       "limits: 129 matchers of one action: %s", why);
    free(s);
    s = claims_of(1, 1, GRANT_MATCH_MAX - 1);
    ok(parse(s, JWT_GEN_CURRENT, &g, why, sizeof why) == 0 && g.publish[0].len == GRANT_MATCH_MAX,
       "limits: a matcher of %d bytes", GRANT_MATCH_MAX);
    grant_free(&g);
    free(s);
    s = claims_of(1, 1, GRANT_MATCH_MAX);
    ok(refused(s, JWT_GEN_CURRENT, "longer than 4096 bytes", why, sizeof why),
       "limits: one byte more: %s", why);
    free(s);
}

static void test_legacy(void)
{
    struct grant g;
    char why[200];
    const char *alt = "https://example.com/users/foo/?topic=https%3A%2F%2Fexample.com%2Fbooks%2F1";
    const char *topics[] = { "https://example.com/books/1", alt };
    size_t lens[] = { strlen(topics[0]), strlen(alt) };

    ok(parse("{\"mercure\":{\"subscribe\":[\"https://example.com/users/foo/{?topic}\"]}}",
             JWT_GEN_LEGACY, &g, why, sizeof why) == 0 && g.nsubscribe == 1 &&
       g.subscribe[0].type == GRANT_URITEMPLATE, "legacy: the draft's example selector");
    ok(grant_may_receive(&g, topics, lens, 2, eval, NULL) &&
       !grant_may_receive(&g, topics, lens, 1, eval, NULL),
       "legacy: the private update reaches it through the alternate topic only");
    evals = 0;
    ok(allows(&g, GRANT_SUBSCRIBE, "https://example.com/users/foo/{?topic}") && evals == 0,
       "legacy: a selector matches itself, compared before any evaluation (step 2: a "
       "template compared with a template)");
    grant_free(&g);
    ok(parse("{\"mercure\":{\"publish\":[\"https://example.com/books/{id}\",\"https://example.com/{\"],"
             "\"subscribe\":null,\"payload\":\"a string\"}}", JWT_GEN_LEGACY, &g, why, sizeof why)
       == 0 && g.npublish == 2 && g.nsubscribe == 0 && json_is_string(grant_payload(&g, "x", 1,
       eval, NULL)), "legacy: subscribe null is none; a payload of any JSON type is kept");
    {
        const char *two[] = { "https://example.com/books/1", "https://example.com/books/2" };
        const char *mixed[] = { "https://example.com/books/1", "https://example.com/films/2" };
        size_t l2[] = { strlen(two[0]), strlen(two[1]) }, lm[] = { strlen(mixed[0]), strlen(mixed[1]) };

        ok(grant_may_publish(&g, two, l2, 2, eval, NULL) &&
           !grant_may_publish(&g, mixed, lm, 2, eval, NULL) &&
           !grant_may_publish(&g, two, l2, 0, eval, NULL),
           "legacy: publishing needs every topic granted (and at least one topic)");
    }
    ok(allows(&g, GRANT_PUBLISH, "https://example.com/{") &&
       !allows(&g, GRANT_PUBLISH, "https://example.com/x"),
       "legacy: a selector that is no template is compared exactly");
    grant_free(&g);
    ok(parse("{\"exp\":1}", JWT_GEN_LEGACY, &g, why, sizeof why) == 0 && g.npublish == 0 &&
       !grant_payload(&g, "x", 1, eval, NULL), "legacy: no mercure claim: nothing granted");
    grant_free(&g);
    ok(parse("{\"mercure\":{\"publish\":[\"*\"]},\"authorization_details\":[{" DT ",\"actions\":"
             "[\"subscribe\"],\"topics\":[{\"match\":\"*\"}]}]}", JWT_GEN_LEGACY, &g, why,
             sizeof why) == 0 && g.npublish == 1 && g.publish[0].type == GRANT_ANY &&
       g.nsubscribe == 0, "legacy: * is the wildcard; authorization_details grants nothing");
    grant_free(&g);
    ok(refused("{\"mercure\":[]}", JWT_GEN_LEGACY, "mercure claim is not an object", why, sizeof why),
       "legacy: invalid token: %s", why);
    ok(refused("{\"mercure\":{\"publish\":\"*\"}}", JWT_GEN_LEGACY, "mercure.publish is not an array",
               why, sizeof why), "legacy: invalid token: %s", why);
    ok(refused("{\"mercure\":{\"subscribe\":[\"a\",2]}}", JWT_GEN_LEGACY,
               "mercure.subscribe[1] is not a string", why, sizeof why), "legacy: invalid token: %s",
       why);
    ok(refused("{\"mercure\":{\"subscribe\":[\"\"]}}", JWT_GEN_LEGACY, "mercure.subscribe[0] is empty",
               why, sizeof why), "legacy: invalid token: %s", why);
    ok(refused("{\"mercure\":{\"publish\":[\"a\\u001fb\"]}}", JWT_GEN_LEGACY,
               "mercure.publish[0] holds a control character", why, sizeof why),
       "legacy: invalid token: %s", why);
    ok(refused("{\"mercure\":{\"subscribe\":[\"a\\udb40\\udc01\"]}}", JWT_GEN_LEGACY,
               "mercure.subscribe[0] holds a format character (Unicode Cf)", why, sizeof why),
       "legacy: invalid token (U+E0001, as topics are): %s", why);
    ok(parse("{\"mercure\":{\"subscribe\":[\"a\\u00a0b\"]}}", JWT_GEN_LEGACY, &g, why,
             sizeof why) == 0 && g.nsubscribe == 1, "legacy: U+00A0 (not Cf) is a matcher");
    grant_free(&g);
}

/* Symfony's tokens (Debian's php-symfony-mercure), verified, then read. */
static void test_symfony(void)
{
    static const struct jwt_expect ex = { SF_NOW, JWT_GEN_EITHER, NULL, NULL, 0 };
    char err[200];
    struct jwt_key *k = jwt_key_parse(SF_SECRET, strlen(SF_SECRET), NULL, err, sizeof err);
    struct jwt_result r;
    struct grant g;
    const json_t *p;

    if (!k)
        abort();
    ok(jwt_verify(SF_COOKIE, strlen(SF_COOKIE), (const struct jwt_key *const *)&k, 1, &ex, &r) == 0 &&
       grant_from_claims(r.claims, r.gen, &g, err, sizeof err) == 0,
       "symfony: the cookie's claims give a grant");
    json_decref(r.claims); /* the grant holds its own reference */
    ok(g.gen == JWT_GEN_LEGACY && g.nsubscribe == 2 && g.npublish == 0 &&
       g.subscribe[0].type == GRANT_URITEMPLATE &&
       strcmp(g.subscribe[0].match, "https://example.com/books/{id}") == 0 &&
       strcmp(g.subscribe[1].match, "https://example.com/users/42") == 0,
       "symfony: subscribe [books/{id}, users/42], publish []");
    ok(allows(&g, GRANT_SUBSCRIBE, "https://example.com/books/42") &&
       allows(&g, GRANT_SUBSCRIBE, "https://example.com/users/42") &&
       !allows(&g, GRANT_SUBSCRIBE, "https://example.com/users/43") &&
       !allows(&g, GRANT_SUBSCRIBE, "https://example.com/books/42/reviews"),
       "symfony: books/42 and users/42 granted; users/43 and books/42/reviews not");
    p = grant_payload(&g, "https://example.com/books/{id}", 30, eval, NULL);
    ok(p && strcmp(json_string_value(json_object_get(p, "user")), "https://example.com/users/42") == 0,
       "symfony: mercure.payload is every subscription's payload");
    grant_free(&g);
    ok(jwt_verify(SF_PUBLISHER, strlen(SF_PUBLISHER), (const struct jwt_key *const *)&k, 1, &ex,
                  &r) == 0 && grant_from_claims(r.claims, r.gen, &g, err, sizeof err) == 0 &&
       g.npublish == 1 && g.publish[0].type == GRANT_ANY && g.nsubscribe == 0 &&
       allows(&g, GRANT_PUBLISH, "https://example.com/books/1"),
       "symfony: the publisher's token grants publish on every topic, subscribe on none");
    json_decref(r.claims);
    grant_free(&g);
    jwt_key_free(k);
}

int main(void)
{
    test_current_examples();
    test_current_rules();
    test_current_refusals();
    test_limits();
    test_legacy();
    test_symfony();
    return done_testing();
}
