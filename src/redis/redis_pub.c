/* redis_pub.c -- channels through Redis: a publish is one FCALL, done with the id Redis assigned */
#include "config.h"

#include "redis/redis_int.h"
#include "core/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A publish waiting for its id. */
struct rpub {
    struct redis *b;
    pub_done_fn done;
    void *arg;
    size_t len;                    /* of the message, counted in pub_bytes */
};

/* Tells the publisher (id non-NULL, or a reason for its 503) and forgets p. */
static void redis_pub_finish(struct rpub *p, const struct msgid *id, const char *why)
{
    struct redis *b = p->b;

    b->pub_pending--;
    b->pub_bytes -= p->len;
    b->st->pending_publishes = b->pub_pending;
    b->st->pending_bytes = b->pub_bytes;
    p->done(p->arg, id, why);
    free(p);
}

static void on_published(redisAsyncContext *ac, void *reply, void *priv)
{
    struct rpub *p = priv;
    struct redis *b = p->b;
    redisReply *r = reply;
    struct msgid id;

    (void)redis_cmd_done(b, ac);
    if (r && r->type == REDIS_REPLY_STRING && msgid_parse(r->str, &id) == 0) {
        redis_saw(b, id);
        redis_pub_finish(p, &id, NULL);
        return;
    }
    if (r && r->type == REDIS_REPLY_ERROR && log_allow(&b->warn))
        log_warn("redis: publishing: %s", r->str);
    /* someone ran FUNCTION FLUSH (or loaded another library): a new
     * connection loads them again */
    if (r && r->type == REDIS_REPLY_ERROR && ac == b->cmd && strstr(r->str, "Function not found"))
        redis_down(b, "the functions are gone from Redis", r->str);
    redis_pub_finish(p, NULL, r ? "Redis refused the message: try again later"
                               : "Redis is unreachable: try again later");
}

void redis_publish(void *ctx, const char *channel, const char *type, const char *body,
                  size_t len, pub_done_fn done, void *arg)
{
    struct redis *b = ctx;
    struct rpub *p = malloc(sizeof *p);
    char key[REDIS_KEY_MAX], history[24], ttl[24], bytes[24];
    const char *argv[10];
    size_t lens[10];
    int i;

    if (!p) {
        done(arg, NULL, "out of memory for the message: try again later");
        return;
    }
    p->b = b;
    p->done = done;
    p->arg = arg;
    p->len = len;
    b->pub_pending++;
    b->pub_bytes += len;
    b->st->pending_publishes = b->pub_pending;
    b->st->pending_bytes = b->pub_bytes;
    if (b->state != REDIS_UP) {
        redis_pub_finish(p, NULL, "Redis is unreachable: try again later");
        return;
    }
    if (b->pub_pending > REDIS_PUB_MAX || b->pub_bytes > REDIS_PUB_BYTES) {
        redis_pub_finish(p, NULL, "too many messages waiting for Redis: try again later");
        return;
    }
    snprintf(key, sizeof key, REDIS_KEY_PREFIX "%s", channel);
    snprintf(history, sizeof history, "%lu",
             channel[0] == CHAN_INTERNAL && b->cfg.internal_history ? b->cfg.internal_history
                                                                     : b->cfg.history);
    argv[0] = "FCALL";
    argv[1] = "fcgi_sse_publish";
    argv[2] = "2";
    argv[3] = REDIS_KEY_LAST;
    argv[4] = key;
    argv[5] = history;
    argv[6] = type ? type : "";
    argv[7] = body;
    /* the bounds of every channel's history, kept by this publish: older than
     * the TTL, and past the bytes of all (the oldest first, whatever its channel) */
    snprintf(ttl, sizeof ttl, "%llu", b->cfg.ttl_ms);
    snprintf(bytes, sizeof bytes, "%llu", b->cfg.bytes_max);
    argv[8] = ttl;
    argv[9] = bytes;
    for (i = 0; i < 10; i++)
        lens[i] = i == 7 ? len : strlen(argv[i]); /* the body: any length, not a string */
    if (redis_cmd(b, on_published, p, 10, argv, lens) < 0)
        redis_pub_finish(p, NULL, "Redis is unreachable: try again later");
}

const struct pub_backend *redis_backend(struct redis *b)
{
    return &b->backend;
}
