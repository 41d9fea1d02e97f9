/* pub.h -- a publish request: who may, what a message may hold, its id from the engine or Redis, and the answer */
#ifndef FCGI_SSE_CHANNELS_PUB_H
#define FCGI_SSE_CHANNELS_PUB_H

#include <stddef.h>

#include "http/auth.h"
#include "channels/chan.h"
#include "http/req.h"
#include "http/resp.h"
#include "stream/stream.h"

/* A message has its id (id non-NULL), or could not be stored (why: a
 * one-line reason, answered 503). */
typedef void (*pub_done_fn)(void *arg, const struct msgid *id, const char *why);

/* Where a message is stored and gets its id: the engine (pub_memory) or
 * Redis (redis_backend). publish stores body[0, len) (copied if kept) and
 * calls done once: at once, or when Redis answers. What the subscribers
 * here get follows done: a publisher has its answer before the fan-out. */
struct pub_backend {
    void (*publish)(void *ctx, const char *channel, const char *type, const char *body,
                    size_t len, pub_done_fn done, void *arg);
    void *ctx;
};

/* Who may publish, and where messages go. */
struct pub_config {
    const struct auth_keys *keys;      /* --publish-key-file, or NULL */
    int remote_user;                   /* --publish-remote-user */
    const struct pub_backend *backend;
    struct chan_engine *engine;        /* the answer counts the channel's subscribers here */
};

/* 1 when the request may publish: a key of --publish-key-file in
 * Authorization: Bearer, or with --publish-remote-user the web server's
 * REMOTE_USER; else 0 with *why (one line, naming publishing). */
int pub_may(const struct pub_config *c, req_param_fn get, void *ctx, const char **why);

/* The same check for .../chat/completions (a model costs money to run),
 * with *why naming chat. */
int pub_chat_may(const struct pub_config *c, req_param_fn get, void *ctx, const char **why);

/* The same check for .../channels/NAME (a channel's figures, its delete
 * and purge: who may publish may also read and end what is published),
 * with *why naming channel control. */
int pub_control_may(const struct pub_config *c, req_param_fn get, void *ctx, const char **why);

/* The checks of a publish: 1 when the message may be published; else the
 * refusal was written (403, 413 when too_big, 400 for a message that is
 * not UTF-8 text) and the result of writing it is returned (0, or -1). */
int pub_check(const struct pub_config *c, req_param_fn get, void *ctx, const char *body,
              size_t len, int too_big, const struct resp_sink *o);

/* The answer to a publish: 200 with {"id":..,"channel":..,"subscribers":N}.
 * 0, or -1 when it could not be written. */
int pub_answer(const struct resp_sink *o, struct msgid id, const char *channel,
               unsigned long subscribers);

/* Publishes body[0, len) on channel (an event type or NULL) for the
 * request s, whose checks passed (pub_check): once the backend has the
 * id, answers 200 (pub_answer) or 503 with Retry-After, ends the
 * response and frees s. Takes s. */
void pub_start(const struct pub_config *c, struct stream *s, const char *channel,
               const char *type, const char *body, size_t len);

/* A backend where the engine e assigns the ids (channels in memory). */
void pub_memory(struct pub_backend *b, struct chan_engine *e);

#endif
