/* mercure_int.h -- what the parts of the Mercure hub share: the hub, a subscriber, an update's meta, a request (mercure*.c only) */
#ifndef FCGI_SSE_MERCUREHUB_MERCURE_INT_H
#define FCGI_SSE_MERCUREHUB_MERCURE_INT_H

#include <stddef.h>

#include "core/keyhash.h"
#include "core/list.h"
#include "core/log.h"
#include "mercure/grant.h"
#include "mercure/jwt.h"
#include "mercure/selector.h"
#include "mercure/topic.h"
#include "mercure/update.h"
#include "mercure/uuid.h"
#include "mercurehub/mercure.h"
#include "sources/subscription.h"

/* What the codec keeps beside an update's event (msg->meta): its topics,
 * whether it is private, its id as sent. Every pointer is into the meta. */
struct mercure_meta {
    size_t ntopics;
    int is_private;
    const char *id;
    size_t id_len;
    const char *const *topics;
    const size_t *lens;
};

/* The hub's index: which subscribers an update's topics reach (exact
 * topics by hash, patterns each evaluated once per update, `*`). */
struct mercure_entry;
struct mercure_index {
    struct keyhash *hash;
    struct mercure_entry **buckets;     /* exact topics */
    size_t nbuckets, nexact;
    struct list patterns;               /* struct mercure_pattern, each with its entries */
    struct list any;                    /* entries of `*` */
    unsigned long long mark;            /* one per update delivered (a subscriber once) */
    const char *hub_url;                /* what relative topics resolve against */
    struct chan_link link;              /* MERCURE_CHANNEL's, with the index's deliver */
};

/* A verified token: its generation, what it grants (pattern matchers
 * compiled once), when it ends. */
struct mercure_token {
    int present;                        /* a token was presented and verified */
    enum jwt_gen gen;
    struct grant grant;
    struct sel_matcher *compiled;       /* [grant.nsubscribe]: patterns compiled (or type 0) */
    long long exp;                      /* Unix seconds, or 0: none */
    int from_cookie;
};

/* One subscriber: a connection with its matchers. */
struct mercure_sub {
    struct mercure *hub;
    struct stream *s;                   /* NULL until started */
    struct sel_request sel;
    struct mercure_token tok;
    char id[UUID_URN_MAX];              /* its id, urn:uuid (v4) */
    char *head;                         /* extra header lines of its header block */
    struct msgid last;                  /* where it resumes */
    int has_last;
    unsigned long long mark;            /* the index's last update offered to it */
    struct mercure_entry *entries;      /* [sel.n]: its places in the index */
    struct list node;                   /* in the hub's subscribers while its stream is
                                           open, then in its ended ones */
    int indexed;
    int announce;                       /* its active subscription events are due */
    int listed;                         /* node is in a list */
};

/* A request between mercure_serve and mercure_subscribe / mercure_publish. */
struct mercure_req {
    int kind;                           /* MERCURE_SUBSCRIBE or MERCURE_PUBLISH */
    struct mercure_sub *sub;            /* subscribe */
    struct update up;                   /* publish */
    char *stored;                       /* the update as stored (update_store) */
    size_t stored_len;
    char cors[512];                     /* publish: the answer's CORS lines */
};

struct mercure {
    struct mercure_config cfg;
    struct mercure_deps d;
    char hub_url[1024];                 /* the hub's URL: relative topics resolve against it */
    char hub_path[1024];                /* its path: "/.well-known/mercure" */
    struct jwt_key *pub_key, *sub_key;
    struct chan_codec codec;
    struct history local;               /* d.history without the reset event (mercure.c) */
    struct subs *subs;                  /* the subscription source, quiet and filtered */
    struct mercure_index index;
    struct list subscribers;            /* started, in arrival order */
    unsigned long nsubscribers;
    struct list ended;                  /* ended: out of the index after this turn */
    int after;                          /* the after-turn work is registered */
    int closing;                        /* mercure_destroy: no more subscription events */
    struct log_limit warn;
};

/* mercure_codec.c: the engine's codec for MERCURE_CHANNEL (an update's
 * stored text to its event and meta). */
struct msg *mercure_codec_make(void *ctx, struct msgid id, const char *type, const char *data,
                               size_t len);

/* mercure_index.c */
int mercure_index_init(struct mercure_index *x, struct chan_engine *e);
/* Subscribes the index to MERCURE_CHANNEL: from then on each update is
 * offered (sub_offer) to the subscribers its topics reach. Offers never
 * change the index: what ends meanwhile leaves it later (mercure.c's
 * after-turn work). 0, or -1 with errno. */
int mercure_index_start(struct mercure_index *x, struct chan_engine *e, const char *hub_url);
void mercure_index_fini(struct mercure_index *x, struct chan_engine *e);
/* Puts u's matchers in the index; 0, or -1 (ENOMEM). */
int mercure_index_add(struct mercure_index *x, struct mercure_sub *u);
void mercure_index_remove(struct mercure_index *x, struct mercure_sub *u);

/* mercure_auth.c */
/* What a request presented: 0 with *t (t->present 0: no token), or the
 * HTTP status of its refusal (401, 400) written to o with its challenge.
 * publish: the publisher's key, else the subscriber's. */
int mercure_token_read(struct mercure *m, req_param_fn get, void *ctx, int publish,
                       struct mercure_token *t, const struct resp_sink *o, int head_only);
void mercure_token_free(struct mercure_token *t);
/* 1 when t grants `subscribe` on one of the topics (private updates). */
int mercure_token_may_receive(struct mercure *m, const struct mercure_token *t,
                              const char *const *topics, const size_t *lens, size_t n);
/* 1 when t grants `subscribe` on topic (the subscriptions API). */
int mercure_token_may_read(struct mercure *m, const struct mercure_token *t, const char *topic,
                           size_t len);
/* 1 when t grants `publish` on every topic of u. */
int mercure_token_may_publish(struct mercure *m, const struct mercure_token *t,
                              const struct update *u);
/* t's payload for a subscription whose matcher is (text, len), or NULL. */
const json_t *mercure_token_payload(struct mercure *m, const struct mercure_token *t,
                                    const char *text, size_t len);
/* The CORS header lines for the request's Origin, when it is allowed
 * (--mercure-cors-origin): Access-Control-Allow-Origin and -Credentials,
 * Vary, and expose (a header list, or NULL). Into buf; "" when none. */
void mercure_cors(struct mercure *m, req_param_fn get, void *ctx, const char *expose, char *buf,
                  size_t cap);
/* A refusal: status, a one-line reason, and the Bearer challenge (error=
 * when err is not NULL), with CORS lines. The result of writing it. */
int mercure_refuse(struct mercure *m, req_param_fn get, void *ctx, const struct resp_sink *o,
                   int status, const char *bearer_error, const char *why, int head_only);

/* mercure_api.c: active subscriptions */
/* Publishes u's subscription events (active or not), when --mercure-subscriptions. */
void mercure_api_announce(struct mercure *m, struct mercure_sub *u, int active);
/* Answers a request to .../.well-known/mercure/subscriptions[...]. */
int mercure_api_serve(struct mercure *m, struct req *r, req_param_fn get, void *ctx,
                      const struct resp_sink *o);

/* mercure_sub.c */
enum mercure_result mercure_sub_serve(struct mercure *m, struct req *r, req_param_fn get,
                                      void *ctx, const struct resp_sink *o);
void mercure_sub_free(struct mercure_sub *u);

/* mercure_pub.c */
enum mercure_result mercure_pub_serve(struct mercure *m, struct req *r, req_param_fn get,
                                      void *ctx, const char *body, size_t len, int too_big,
                                      const struct resp_sink *o);
/* Publishes a stored update: done as pub_backend's. The hub's own updates
 * (subscription events) go this way, with done NULL. */
void mercure_store(struct mercure *m, const char *text, size_t len, pub_done_fn done, void *arg);

#endif
