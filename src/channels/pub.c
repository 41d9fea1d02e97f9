/* pub.c -- a publish request: who may, what a message may hold, its id from the engine or Redis, and the answer */
#include "config.h"

#include "channels/pub.h"
#include "core/text.h"
#include "core/clock.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The refusals of one route: off (neither --publish-key-file nor
 * --publish-remote-user), key only, key or user, user only. */
struct pub_why {
    const char *off, *key, *key_or_user, *user;
};

static const struct pub_why publish_why = {
    "publishing is off: the responder has neither --publish-key-file nor --publish-remote-user",
    "publishing needs Authorization: Bearer KEY with a valid key",
    "publishing needs Authorization: Bearer KEY or a user the web server authenticated",
    "publishing needs a user the web server authenticated"
};

static const struct pub_why chat_why = {
    "chat is off: the model program needs the responder's --publish-key-file or "
    "--publish-remote-user",
    "chat needs Authorization: Bearer KEY with a key of the responder's --publish-key-file",
    "chat needs Authorization: Bearer KEY or a user the web server authenticated",
    "chat needs a user the web server authenticated"
};

static const struct pub_why control_why = {
    "channel control is off: the responder has neither --publish-key-file nor "
    "--publish-remote-user",
    "channel control needs Authorization: Bearer KEY with a key of --publish-key-file",
    "channel control needs Authorization: Bearer KEY or a user the web server authenticated",
    "channel control needs a user the web server authenticated"
};

static int may(const struct pub_config *c, req_param_fn get, void *ctx,
               const struct pub_why *w, const char **why)
{
    const char *user;

    if (!c->keys && !c->remote_user) {
        *why = w->off;
        return 0;
    }
    if (c->keys && auth_bearer_ok(c->keys, get("HTTP_AUTHORIZATION", ctx)))
        return 1;
    user = get("REMOTE_USER", ctx);
    if (c->remote_user && user && *user)
        return 1;
    *why = c->keys ? (c->remote_user ? w->key_or_user : w->key) : w->user;
    return 0;
}

int pub_may(const struct pub_config *c, req_param_fn get, void *ctx, const char **why)
{
    return may(c, get, ctx, &publish_why, why);
}

int pub_chat_may(const struct pub_config *c, req_param_fn get, void *ctx, const char **why)
{
    return may(c, get, ctx, &chat_why, why);
}

int pub_control_may(const struct pub_config *c, req_param_fn get, void *ctx, const char **why)
{
    return may(c, get, ctx, &control_why, why);
}

int pub_check(const struct pub_config *c, req_param_fn get, void *ctx, const char *body,
              size_t len, int too_big, const struct resp_sink *o)
{
    const char *why = NULL;

    if (!pub_may(c, get, ctx, &why))
        return resp_error(o, 403, why, 0, 0);
    if (too_big)
        return resp_error(o, 413, "the message is over the responder's --max-message", 0, 0);
    if (!text_utf8_ok(body ? body : "", len))
        return resp_error(o, 400, "the message must be UTF-8 text without NUL bytes", 0, 0);
    return 1;
}

int pub_answer(const struct resp_sink *o, struct msgid mid, const char *channel,
               unsigned long subscribers)
{
    char id[MSGID_STR_MAX];
    json_t *j;
    char *text;
    int rc;

    msgid_format(id, mid);
    j = json_pack("{s:s, s:s, s:I}", "id", id, "channel", channel, "subscribers",
                  (json_int_t)subscribers);
    text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    rc = text ? resp_json(o, text, strlen(text), 0)
              : resp_error(o, 500, "the answer could not be made", 0, 0);
    free(text);
    return rc;
}

/* A publish waiting for its id. */
struct pub_wait {
    const struct pub_config *c;
    struct stream *s;
    char channel[CHAN_NAME_MAX + 1];
};

static void pub_finish(void *arg, const struct msgid *id, const char *why)
{
    struct pub_wait *w = arg;
    struct resp_sink o;

    stream_sink(w->s, &o);
    if (id)
        (void)pub_answer(&o, *id, w->channel, chan_subscribers(w->c->engine, w->channel));
    else
        (void)resp_error(&o, 503, why, 1, 0);
    stream_end(w->s, 1);
    stream_destroy(w->s);
    free(w);
}

void pub_start(const struct pub_config *c, struct stream *s, const char *channel,
               const char *type, const char *body, size_t len)
{
    struct pub_wait *w = malloc(sizeof *w);

    if (!w) {
        struct resp_sink o;
        stream_sink(s, &o);
        (void)resp_error(&o, 503, "out of memory for the message: try again later", 1, 0);
        stream_end(s, 1);
        stream_destroy(s);
        return;
    }
    w->c = c;
    w->s = s;
    snprintf(w->channel, sizeof w->channel, "%s", channel);
    c->backend->publish(c->backend->ctx, channel, type, body, len, pub_finish, w);
}

/* The engine assigns the id: the publisher is answered, then the
 * subscribers get the message (writing to 8,000 of them takes tens of ms
 * the publisher need not wait for). */
static void pub_memory_publish(void *ctx, const char *channel, const char *type,
                               const char *body, size_t len, pub_done_fn done, void *arg)
{
    struct chan_engine *e = ctx;
    unsigned long subscribers;
    struct msg *m = chan_store(e, channel, type, body, len, clock_wall_ms(), &subscribers);

    if (!m) {
        done(arg, NULL, errno == ENOSPC ? "too many channels: the responder's --max-channels "
                                          "is reached"
                                        : "out of memory for the message: try again later");
        return;
    }
    done(arg, &m->id, NULL);
    chan_fanout(e, m);
}

void pub_memory(struct pub_backend *b, struct chan_engine *e)
{
    b->publish = pub_memory_publish;
    b->ctx = e;
}
