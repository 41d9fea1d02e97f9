/* mercure.h -- the Mercure hub on .../.well-known/mercure: subscribe, publish, resume, active subscriptions, both drafts */
#ifndef FCGI_SSE_MERCUREHUB_MERCURE_H
#define FCGI_SSE_MERCUREHUB_MERCURE_H

#include <stddef.h>

#include "channels/chan.h"
#include "core/loop.h"
#include "channels/history.h"
#include "channels/pub.h"
#include "http/req.h"
#include "http/resp.h"
#include "stream/hub.h"
#include "stream/stream.h"

/* The channel the hub keeps its updates in (an internal one: chan.h). */
#define MERCURE_CHANNEL "@mercure"
/* Where the hub is when --mercure-audience does not say (a host that is
 * never anyone's, as RFC 6761 reserves .invalid). */
#define MERCURE_DEFAULT_URL "https://mercure.invalid/.well-known/mercure"
#define MERCURE_CORS_MAX 16

struct mercure_config {
    unsigned gens;                      /* SEL_CURRENT | SEL_LEGACY (--mercure-protocol) */
    const char *publisher_key_file;     /* [ALG:]FILE, or NULL */
    const char *subscriber_key_file;    /* [ALG:]FILE, or NULL */
    const char *issuer;                 /* or NULL */
    const char *audience;               /* or NULL */
    int anonymous;                      /* subscribers without a token */
    int subscriptions;                  /* active subscriptions: events and the API */
    unsigned ncors;
    const char *cors[MERCURE_CORS_MAX]; /* origins allowed with credentials */
    unsigned long max_message;          /* an update, stored, at most (--max-message) */
    unsigned long retry_ms;             /* --retry */
    long long heartbeat_ns;             /* a comment after this much silence; 0 off */
};

/* What the hub works with (main.c's objects). */
struct mercure_deps {
    struct loop *loop;
    struct chan_engine *engine;         /* keeps the updates in MERCURE_CHANNEL */
    const struct pub_backend *backend;  /* memory or Redis: where updates get their id */
    struct history *history;            /* where a subscription starts (history.h) */
    int history_behind;                 /* history holds what the engine does not (Redis) */
    struct hub *hub;
    unsigned long *delivered;           /* events written to subscribers (/status) */
};

struct mercure;

/* Loads the keys, sets the engine's codec and subscribes the hub's index to
 * MERCURE_CHANNEL. NULL with a one-line reason in err. */
struct mercure *mercure_create(const struct mercure_config *cfg, const struct mercure_deps *d,
                               char *err, size_t errlen);
void mercure_destroy(struct mercure *m);

/* What mercure_serve left to do. */
enum mercure_result {
    MERCURE_ANSWERED = 0,   /* answered in full (an error, a preflight, the API) */
    MERCURE_GONE,           /* the answer could not be written */
    MERCURE_SUBSCRIBE,      /* a subscription to start: mercure_subscribe (req->mercure) */
    MERCURE_PUBLISH         /* an update to publish: mercure_publish (req->mercure) */
};

/* Serves a request routed to the hub (REQ_MERCURE, REQ_MERCURE_SUBS):
 * authorizes it, reads its query or body, answers what needs no stream.
 * For SUBSCRIBE and PUBLISH, r->mercure holds what the next call needs
 * (mercure_req_free frees it if that call never comes). */
enum mercure_result mercure_serve(struct mercure *m, struct req *r, req_param_fn get, void *ctx,
                                  const char *body, size_t body_len, int too_big,
                                  const struct resp_sink *o);
void mercure_req_free(void *req);

/* Starts the subscription r->mercure on s (begun, admitted, not in the hub
 * yet); takes r->mercure. 0, or -1 (nothing written: the caller ends s). */
int mercure_subscribe(struct mercure *m, struct stream *s, struct req *r, long long now);

/* Publishes the update r->mercure for s and answers it once it has its id;
 * takes r->mercure and s. */
void mercure_publish(struct mercure *m, struct stream *s, struct req *r);

#endif
