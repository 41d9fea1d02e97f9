/* redis_ctl.c -- channels through Redis: a channel's figures, its delete and purge (one FCALL each), and the bounds kept on a timer */
#include "config.h"

#include "redis/redis_int.h"
#include "core/clock.h"
#include "core/text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A control waiting for Redis. */
struct rctl {
    struct redis *b;
    enum ctl_action a;
    ctl_done_fn done;
    void *arg;
    unsigned long subscribers;     /* here when it was asked (a delete's end them soon after) */
    char channel[CHAN_NAME_MAX + 1];
};

/* An id of a reply ('' for none: 0-0) into *id. 0, or -1 when it is not one. */
static int redis_ctl_id(const redisReply *r, struct msgid *id)
{
    id->ms = id->seq = 0;
    if (r->type != REDIS_REPLY_STRING)
        return -1;
    return r->len == 0 ? 0 : msgid_parse(r->str, id);
}

/* {FOUND, LENGTH, BYTES, FIRST, LAST, DROPPED[, ID]} (fcgi_sse_channel, fcgi_sse_control)
 * into *found and *info (its subscribers left alone). 0, or -1 when it is not one. */
static int redis_ctl_reply(struct redis *b, const redisReply *r, size_t want, int *found,
                           struct chan_info *info)
{
    struct msgid id;
    size_t i;

    if (r->type != REDIS_REPLY_ARRAY || r->elements != want)
        return -1;
    for (i = 0; i < 3; i++)
        if (r->element[i]->type != REDIS_REPLY_INTEGER || r->element[i]->integer < 0)
            return -1;
    if (redis_ctl_id(r->element[3], &info->oldest) < 0 ||
        redis_ctl_id(r->element[4], &info->newest) < 0 ||
        redis_ctl_id(r->element[5], &info->dropped) < 0 ||
        (want == 7 && (redis_ctl_id(r->element[6], &id) < 0 || msgid_is_zero(id))))
        return -1;
    if (want == 7)
        redis_saw(b, id); /* the delete's entry in the log */
    *found = r->element[0]->integer != 0;
    info->messages = (size_t)r->element[1]->integer;
    info->bytes = (unsigned long long)r->element[2]->integer;
    return 0;
}

static void on_ctl(redisAsyncContext *ac, void *reply, void *priv)
{
    struct rctl *p = priv;
    struct redis *b = p->b;
    redisReply *r = reply;
    struct ctl_result res;
    int found = 0;

    (void)redis_cmd_done(b, ac);
    memset(&res, 0, sizeof res);
    res.here_only = 1;
    if (!r) {
        p->done(p->arg, 503, NULL, "Redis is unreachable: try again later");
    } else if (redis_ctl_reply(b, r, p->a == CTL_INFO ? 6 : 7, &found, &res.info) < 0) {
        if (log_allow(&b->warn))
            log_warn("redis: a channel's %s: %s", p->a == CTL_INFO ? "figures" : "control",
                     r->type == REDIS_REPLY_ERROR ? r->str : "not its reply");
        p->done(p->arg, 503, NULL, "Redis refused the request: try again later");
    } else {
        /* subscribers: this responder's (the others hold their own) */
        res.info.subscribers = p->subscribers;
        if (found || res.info.subscribers)
            p->done(p->arg, 200, &res, NULL);
        else
            p->done(p->arg, 404, NULL, "no such channel: Redis holds no history of it and "
                                       "this responder no subscriber");
    }
    free(p);
}

/* The control backend (ctl.h): one FCALL; a delete's subscribers here end
 * when the read reaches its entry in the log, as every responder's do. */
static void redis_ctl_run(void *ctx, enum ctl_action a, const char *channel, ctl_done_fn done,
                          void *arg)
{
    struct redis *b = ctx;
    struct rctl *p;
    char key[REDIS_KEY_MAX];
    const char *argv[6];
    size_t lens[6];
    int argc = 0, i;

    if (b->state != REDIS_UP) {
        done(arg, 503, NULL, "Redis is unreachable: try again later");
        return;
    }
    p = malloc(sizeof *p);
    if (!p) {
        done(arg, 503, NULL, "out of memory: try again later");
        return;
    }
    p->b = b;
    p->a = a;
    p->done = done;
    p->arg = arg;
    snprintf(p->channel, sizeof p->channel, "%s", channel);
    p->subscribers = chan_subscribers(b->engine, channel);
    snprintf(key, sizeof key, REDIS_KEY_PREFIX "%s", channel);
    argv[argc++] = a == CTL_INFO ? "FCALL_RO" : "FCALL";
    argv[argc++] = a == CTL_INFO ? "fcgi_sse_channel" : "fcgi_sse_control";
    argv[argc++] = "2";
    argv[argc++] = REDIS_KEY_LAST;
    argv[argc++] = key;
    if (a != CTL_INFO)
        argv[argc++] = a == CTL_DELETE ? "delete" : "purge";
    for (i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    if (redis_cmd(b, on_ctl, p, argc, argv, lens) < 0) {
        free(p);
        done(arg, 503, NULL, "Redis is unreachable: try again later");
    }
}

const struct ctl_backend *redis_ctl_backend(struct redis *b)
{
    b->ctl.run = redis_ctl_run;
    b->ctl.ctx = b;
    return &b->ctl;
}

int redis_ctl_entry(const redisReply *f, const char **name, const char **action,
                    unsigned long long *n)
{
    size_t i;

    *name = *action = NULL;
    *n = 0;
    for (i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (strcmp(k->str, "ctl") == 0) {
            *action = v->str;
        } else if (strcmp(k->str, "c") == 0) {
            *name = v->str;
        } else if (strcmp(k->str, "n") == 0) {
            unsigned long long x;
            *n = text_parse_uint(v->str, 1, ~0ULL, &x) == 0 ? x : 0;
        }
    }
    return *action != NULL;
}

void redis_ctl_apply(struct redis *b, const char *name, const char *action)
{
    struct chan_info info;
    int rc;

    if (!name || !chan_name_valid(name) ||
        (strcmp(action, "delete") != 0 && strcmp(action, "purge") != 0)) {
        if (log_allow(&b->warn))
            log_warn("redis: a control entry of " REDIS_KEY_LOG " skipped: not one "
                     "fcgi_sse_control makes");
        return;
    }
    rc = action[0] == 'd' ? chan_delete(b->engine, name, &info)
                          : chan_purge(b->engine, name, &info);
    if (rc < 0 && errno == EPERM && log_allow(&b->warn))
        log_warn("redis: a control entry of " REDIS_KEY_LOG " names an internal channel: "
                 "skipped");
    /* ENOENT: nothing of it here */
}

/* ---------------------------------------------------------------- bounds */

static void on_trimmed(redisAsyncContext *ac, void *reply, void *priv)
{
    struct redis *b = ac->data;
    redisReply *r = reply;
    (void)priv;

    if (!redis_cmd_done(b, ac) || !r)
        return;
    if (r->type == REDIS_REPLY_ERROR && log_allow(&b->warn))
        log_warn("redis: fcgi_sse_trim: %s", r->str);
}

/* Every REDIS_TRIM_NS: what --history-ttl and --history-bytes drop, in
 * Redis, even when nobody publishes (fcgi_sse_trim). */
static void on_trim(struct loop *l, struct loop_timer *t)
{
    struct redis *b = container_of(t, struct redis, trim);
    char ttl[24], bytes[24];
    const char *argv[6] = { "FCALL", "fcgi_sse_trim", "1", REDIS_KEY_LAST, ttl, bytes };
    size_t lens[6];
    int i;

    if (b->state == REDIS_UP) {
        snprintf(ttl, sizeof ttl, "%llu", b->cfg.ttl_ms);
        snprintf(bytes, sizeof bytes, "%llu", b->cfg.bytes_max);
        for (i = 0; i < 6; i++)
            lens[i] = strlen(argv[i]);
        if (redis_cmd(b, on_trimmed, NULL, 6, argv, lens) < 0)
            redis_down(b, "cannot send fcgi_sse_trim", NULL);
    }
    if (loop_timer_set(l, t, clock_now_ns() + REDIS_TRIM_NS) < 0)
        log_errno("redis: the bounds' timer", ENOMEM);
}

int redis_trim_start(struct redis *b)
{
    loop_timer_init(&b->trim, on_trim);
    if (!b->cfg.ttl_ms && !b->cfg.bytes_max)
        return 0;
    return loop_timer_set(b->loop, &b->trim, clock_now_ns() + REDIS_TRIM_NS);
}

void redis_trim_stop(struct redis *b)
{
    loop_timer_cancel(b->loop, &b->trim);
}
