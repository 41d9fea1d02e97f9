/* subevent.h -- Mercure's active subscriptions: the subscription event documents and their topics, and the subscriptions API's paths and collections (pure, jansson) */
#ifndef FCGI_SSE_MERCURE_SUBEVENT_H
#define FCGI_SSE_MERCURE_SUBEVENT_H

#include <stddef.h>

#include <jansson.h>

#include "mercure/selector.h"

/* One subscription: a matcher of one subscriber's connection. */
struct subevent_sub {
    enum sel_gen gen;            /* the generation its request spoke */
    const char *type_name;       /* current: "exact" or "urlpattern" ("*" is given as the
                                    type it came with); legacy: unused */
    const char *match;           /* the matcher (current) or topic selector (legacy) */
    size_t match_len;
    const char *subscriber;      /* the hub's id of the connection ("urn:uuid:...") */
    int active;
    const json_t *payload;       /* from the token (grant_payload), or NULL */
};

/* The topic of a subscription's events, relative to the hub (hub_path is the hub URL's
 * path, "/.well-known/mercure"): current
 * "{hub_path}/subscriptions/{match_type}/{match}/{subscriber}", legacy
 * "{hub_path}/subscriptions/{topic}/{subscriber}", each variable percent-encoded once
 * (topic_encode). malloc'd, NUL-terminated; NULL when memory runs out. */
char *subevent_topic(const struct subevent_sub *s, const char *hub_path);

/* The subscription's document: current {"id", "type": "subscription", "match_type",
 * "match", "subscriber", "active", "payload" (when not NULL)}; legacy {"@context":
 * "https://mercure.rocks/", "id", "type": "Subscription", "topic", "subscriber", "active",
 * "payload" (when not NULL)}. "id" is subevent_topic. A new reference, or NULL. */
json_t *subevent_doc(const struct subevent_sub *s, const char *hub_path);

/* A subscriptions API request path, split: path[0, len) is the request's path as the
 * client sent it (percent-encoded, no query), relative to the hub URL's path and
 * "/subscriptions" (what follows "{hub_path}/subscriptions"): "" (the collection), or
 * current "/{match_type}/{match}" and "/{match_type}/{match}/{subscriber}",
 * legacy "/{topic}" and "/{topic}/{subscriber}" (each segment percent-decoded once; a
 * segment holding a raw '/' cannot be, so every segment boundary is a real one).
 * gen: which shape to read. */
struct subevent_path {
    int depth;                   /* 0 collection, 1 one matcher, 2 one subscription */
    char match_type[16];         /* current, depth >= 1: "exact" or "urlpattern" */
    char *match;                 /* depth >= 1, decoded, malloc'd */
    size_t match_len;
    char *subscriber;            /* depth 2, decoded, malloc'd */
    size_t subscriber_len;
};
/* 0, 404 (a shape that is none of the above, an unknown match_type, a segment that does
 * not decode to topic_text_ok text) or 500, with a one-line reason. */
int subevent_path_parse(struct subevent_path *p, const char *path, size_t len,
                        enum sel_gen gen, char *why, size_t whylen);
void subevent_path_free(struct subevent_path *p);

/* A collection document: current {"id": id, "type": "subscriptions", "subscriptions":
 * docs}; legacy {"@context": "https://mercure.rocks/", "id": id, "type": "Subscriptions",
 * "lastEventID": last_event_id ("earliest" when NULL), "subscriptions": docs}, the docs'
 * own "@context" dropped (the collection defines it, as in the legacy draft's examples).
 * Steals docs (a JSON array). NULL when memory runs out (docs released). */
json_t *subevent_collection(enum sel_gen gen, const char *id, const char *last_event_id,
                            json_t *docs);

#endif
