/* pub.c -- a publish request: who may, what a message may hold, and the answer */
#include "config.h"

#include "pub.h"
#include "monotime.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int pub_text_ok(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < n) {
        unsigned c = s[i];
        size_t k, len;
        unsigned long cp;

        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

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
    if (!pub_text_ok(body ? body : "", len))
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
                   len, wallclock_ms(), &subscribers);
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
