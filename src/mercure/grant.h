/* grant.h -- what a verified Mercure token allows: its publish and subscribe matchers and payloads, both protocol generations */
#ifndef FCGI_SSE_MERCURE_GRANT_H
#define FCGI_SSE_MERCURE_GRANT_H

#include <stddef.h>

#include <jansson.h>

#include "mercure/jwt.h"

/* How a matcher is read. GRANT_ANY is the wildcard `*` (recognized before any type).
 * GRANT_URITEMPLATE is a legacy selector: a topic matches when it equals the selector, or
 * when the selector is a valid RFC 6570 URI template that the topic matches (the legacy
 * draft's "Topic Selectors" steps); an invalid template is compared exactly only. */
enum grant_type {
    GRANT_ANY = 1,
    GRANT_EXACT,
    GRANT_URLPATTERN,
    GRANT_URITEMPLATE
};

enum grant_action {
    GRANT_PUBLISH,
    GRANT_SUBSCRIBE
};

struct grant_matcher {
    enum grant_type type;
    const char *match; /* NUL-terminated (a JSON string holds no NUL), owned by the grant */
    size_t len;
    size_t detail;     /* current: the index of its Mercure authorization detail; legacy: 0 */
};

/* Limits: a token over any of them is invalid (the current draft's "implementation-defined
 * maximums", 401 invalid_token). Every pattern matcher costs an evaluation per published
 * update and subscriber, so the counts are kept small; a matcher is as long as a topic may
 * be. */
#define GRANT_DETAILS_MAX 32   /* Mercure authorization details in a token */
#define GRANT_TOPICS_MAX 64    /* topic matchers in one detail */
#define GRANT_MATCHERS_MAX 128 /* matchers of one action in a token (publish, subscribe) */
#define GRANT_MATCH_MAX 4096   /* bytes of one matcher */

struct grant {
    enum jwt_gen gen;
    struct grant_matcher *publish;   /* in the token's order */
    size_t npublish;
    struct grant_matcher *subscribe; /* in the token's order (details, then topics) */
    size_t nsubscribe;
    const json_t **payloads; /* current: detail i's payload (an object) or NULL, for the
                              * details that grant subscribe; legacy: [0] is mercure.payload
                              * (any JSON value) or NULL */
    size_t ndetails;
    json_t *claims;          /* held: every string and payload above points into it */
};

/* Reads the grants of verified claims of generation gen (JWT_GEN_CURRENT or _LEGACY).
 *  - current: `authorization_details` (absent: no grant), an array of objects; those of
 *    type "https://mercure.rocks/authorization-detail" (compared byte by byte; others are
 *    ignored) must have `actions`, a non-empty array of strings ("publish", "subscribe";
 *    others ignored), `topics`, a non-empty array of {match: string, match_type: "exact" |
 *    "urlpattern" (optional, default exact)}, and may have `payload`, an object. An unknown
 *    match_type, or anything malformed, makes the whole token invalid.
 *  - legacy: the `mercure` claim (absent: no grant), an object whose `publish` and
 *    `subscribe` are arrays of strings (absent or null: none) and whose `payload` is kept
 *    as it is.
 * A matcher must be 1 to GRANT_MATCH_MAX bytes of what a topic may hold (topic_text_ok:
 * no control character, C0, DEL or C1, and no Unicode format character, Cf); `*` is
 * GRANT_ANY in both generations.
 * 0 with *g filled (claims is json_incref'd; grant_free releases it), or -1 with a one-line
 * reason in why and *g empty (nothing to free) when the token must be refused as invalid,
 * or when memory runs out (why says so). */
int grant_from_claims(json_t *claims, enum jwt_gen gen, struct grant *g, char *why,
                      size_t whylen);
void grant_free(struct grant *g);

/* Evaluates a pattern matcher (GRANT_URLPATTERN, or GRANT_URITEMPLATE as a template)
 * against s (len bytes): 1 matches; 0 does not; below 0 could not be evaluated (a limit
 * reached, an invalid pattern), which counts as no match. */
typedef int (*grant_eval_fn)(void *ctx, const struct grant_matcher *m, const char *s,
                             size_t len);

/* 1 when s matches m: `*` matches everything; GRANT_EXACT compares bytes; GRANT_URITEMPLATE
 * matches when equal, else asks eval; GRANT_URLPATTERN asks eval. 0 otherwise (eval may be
 * NULL: then no pattern matches). */
int grant_match(const struct grant_matcher *m, const char *s, size_t len, grant_eval_fn eval,
                void *ctx);

/* 1 when some matcher of action a matches the topic. */
int grant_allows(const struct grant *g, enum grant_action a, const char *topic, size_t len,
                 grant_eval_fn eval, void *ctx);

/* Publishing: 1 when every one of the n topics is allowed (the update is refused whole
 * otherwise). Subscribing to a private update: 1 when at least one of its n topics is. */
int grant_may_publish(const struct grant *g, const char *const *topics, const size_t *lens,
                      size_t n, grant_eval_fn eval, void *ctx);
int grant_may_receive(const struct grant *g, const char *const *topics, const size_t *lens,
                      size_t n, grant_eval_fn eval, void *ctx);

/* The payload of a subscription whose own matcher (the match* or topic query value) is
 * (matcher, len). Current: the payload of the first detail granting subscribe one of whose
 * topics matches that string taken as a topic (NULL when that detail has no payload, or
 * none matches). Legacy: mercure.payload, whatever the matcher. Borrowed from g. */
const json_t *grant_payload(const struct grant *g, const char *matcher, size_t len,
                            grant_eval_fn eval, void *ctx);

#endif
