/* rbus_pub.c -- channels through Redis: a publish is one FCALL, answered with the id Redis assigned */
#include "config.h"

#include "rbus_int.h"
#include "clock.h"
#include "pub.h"
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A publish waiting for its id. */
struct rpub {
    struct rbus *b;
    struct stream *s;
    size_t len;                    /* of the message, counted in pub_bytes */
    char channel[CHAN_NAME_MAX + 1];
};

/* Answers a waiting publish with its id (id non-NULL) or a 503, and frees it. */
static void rbus_pub_finish(struct rpub *p, const struct msgid *id, const char *why)
{
    struct resp_sink o;

    stream_sink(p->s, &o);
    o.end = NULL; /* ended below */
    if (id)
        (void)pub_answer(&o, *id, p->channel, chan_subscribers(p->b->engine, p->channel));
    else
        (void)resp_error(&o, 503, why, 1, 0);
    stream_end(p->s, 1);
    stream_destroy(p->s);
    p->b->pub_pending--;
    p->b->pub_bytes -= p->len;
    p->b->st->pending_publishes = p->b->pub_pending;
    p->b->st->pending_bytes = p->b->pub_bytes;
    free(p);
}

static void on_published(redisAsyncContext *ac, void *reply, void *priv)
{
    struct rpub *p = priv;
    struct rbus *b = p->b;
    redisReply *r = reply;
    struct msgid id;

    (void)rbus_cmd_done(b, ac);
    if (r && r->type == REDIS_REPLY_STRING && msgid_parse(r->str, &id) == 0) {
        rbus_saw(b, id);
        rbus_pub_finish(p, &id, NULL);
        return;
    }
    if (r && r->type == REDIS_REPLY_ERROR && log_allow(&b->warn))
        log_warn("redis: publishing on %s: %s", p->channel, r->str);
    /* someone ran FUNCTION FLUSH (or loaded another library): a new
     * connection loads them again */
    if (r && r->type == REDIS_REPLY_ERROR && ac == b->cmd && strstr(r->str, "Function not found"))
        rbus_down(b, "the functions are gone from Redis", r->str);
    rbus_pub_finish(p, NULL, r ? "Redis refused the message: try again later"
                               : "Redis is unreachable: try again later");
}

void rbus_publish(void *ctx, struct stream *s, const char *channel, const char *type,
                         const char *body, size_t len)
{
    struct rbus *b = ctx;
    struct rpub *p = malloc(sizeof *p);
    char key[RBUS_KEY_MAX], history[24];
    const char *argv[8];
    size_t lens[8];

    if (!p) {
        struct resp_sink o;
        stream_sink(s, &o);
        (void)resp_error(&o, 503, "out of memory for the message: try again later", 1, 0);
        stream_end(s, 1);
        stream_destroy(s);
        return;
    }
    p->b = b;
    p->s = s;
    p->len = len;
    snprintf(p->channel, sizeof p->channel, "%s", channel);
    b->pub_pending++;
    b->pub_bytes += len;
    b->st->pending_publishes = b->pub_pending;
    b->st->pending_bytes = b->pub_bytes;
    if (b->state != RBUS_UP) {
        rbus_pub_finish(p, NULL, "Redis is unreachable: try again later");
        return;
    }
    if (b->pub_pending > RBUS_PUB_MAX || b->pub_bytes > RBUS_PUB_BYTES) {
        rbus_pub_finish(p, NULL, "too many messages waiting for Redis: try again later");
        return;
    }
    snprintf(key, sizeof key, RBUS_KEY_PREFIX "%s", channel);
    snprintf(history, sizeof history, "%lu", b->cfg.history);
    argv[0] = "FCALL";
    argv[1] = "fcgi_sse_publish";
    argv[2] = "2";
    argv[3] = RBUS_KEY_LAST;
    argv[4] = key;
    argv[5] = history;
    argv[6] = type ? type : "";
    argv[7] = body;
    for (int i = 0; i < 7; i++)
        lens[i] = strlen(argv[i]);
    lens[7] = len;
    if (rbus_cmd(b, on_published, p, 8, argv, lens) < 0)
        rbus_pub_finish(p, NULL, "Redis is unreachable: try again later");
}

const struct ctl_publisher *rbus_publisher(struct rbus *b)
{
    return &b->publisher;
}

