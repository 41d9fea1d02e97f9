/* pub.c -- a publish request: who may, what a message may hold, and the answer */
#include "config.h"

#include "pub.h"
#include "text.h"
#include "clock.h"

#include <errno.h>
#include <jansson.h>
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

static int may(const struct ctl *c, req_param_fn get, void *ctx, const struct pub_why *w,
               const char **why)
{
    const char *user;

    if (!c->publish_keys && !c->publish_remote_user) {
        *why = w->off;
        return 0;
    }
    if (c->publish_keys && auth_bearer_ok(c->publish_keys, get("HTTP_AUTHORIZATION", ctx)))
        return 1;
    user = get("REMOTE_USER", ctx);
    if (c->publish_remote_user && user && *user)
        return 1;
    *why = c->publish_keys ? (c->publish_remote_user ? w->key_or_user : w->key) : w->user;
    return 0;
}

int pub_may(const struct ctl *c, req_param_fn get, void *ctx, const char **why)
{
    return may(c, get, ctx, &publish_why, why);
}

int pub_chat_may(const struct ctl *c, req_param_fn get, void *ctx, const char **why)
{
    return may(c, get, ctx, &chat_why, why);
}

int pub_check(const struct ctl *c, req_param_fn get, void *ctx, const char *body, size_t len,
              int too_big, const struct resp_sink *o)
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

int pub_serve(const struct ctl *c, const struct req *r, req_param_fn get, void *ctx,
              const char *body, size_t len, int too_big, const struct resp_sink *o)
{
    unsigned long subscribers = 0;
    struct msg *m;
    int rc = pub_check(c, get, ctx, body, len, too_big, o);

    if (rc != 1)
        return rc;
    m = chan_store(c->engine, r->chans[0], r->event[0] ? r->event : NULL, body ? body : "",
                   len, clock_wall_ms(), &subscribers);
    if (!m)
        return resp_error(o, 503, errno == ENOSPC ? "too many channels: the responder's "
                                                    "--max-channels is reached"
                                                  : "out of memory for the message: try again "
                                                    "later", 1, 0);
    /* The publisher has its answer before the fan-out: writing to 8,000
     * subscribers takes tens of ms it need not wait for. */
    rc = pub_answer(o, m->id, r->chans[0], subscribers);
    if (o->end)
        o->end(o->ctx);
    chan_fanout(c->engine, m);
    return rc;
}
