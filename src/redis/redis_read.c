/* redis_read.c -- channels through Redis: the one blocking read of fcgi-sse:log per responder */
#include "config.h"

#include "redis/redis_int.h"
#include "core/clock.h"
#include "http/req.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Entries in one read: what REDIS_READ_BYTES holds at --max-message each. */
static unsigned long redis_read_count(const struct redis *b)
{
    unsigned long c = REDIS_READ_BYTES / (b->cfg.max_message + 256);

    return c < 1 ? 1 : c > REDIS_READ_COUNT ? REDIS_READ_COUNT : c;
}

/* 1 when s is a stream id as Redis writes them (digits, a dash, digits)
 * that fits pos; msgid_parse may still refuse it (a part past 2^63). */
static int redis_id_text(const char *s, size_t len)
{
    const char *dash = memchr(s, '-', len);

    return len < MSGID_STR_MAX && dash && dash > s && dash < s + len - 1 &&
           strspn(s, "0123456789") == (size_t)(dash - s) &&
           strspn(dash + 1, "0123456789") == len - (size_t)(dash - s) - 1;
}

/* <0, 0, >0 as the stream id a is before, equal to, after b (both as
 * redis_id_text accepts them: parts of any length, no leading zeros). */
static int redis_id_text_cmp(const char *a, const char *b)
{
    size_t am = strcspn(a, "-"), bm = strcspn(b, "-"), as, bs;
    int c;

    if (am != bm)
        return am < bm ? -1 : 1;
    if ((c = strncmp(a, b, am)) != 0)
        return c;
    as = strlen(a + am);
    bs = strlen(b + bm);
    if (as != bs)
        return as < bs ? -1 : 1;
    return strcmp(a + am, b + bm);
}

/* The log has a hole before the entry `id`: every channel here may have
 * missed messages up to it, which its subscribers fetch. */
static void redis_hole(struct redis *b, struct msgid id, const char *why)
{
    b->st->resyncs++;
    if (log_allow(&b->warn))
        log_warn("redis: the read of " REDIS_KEY_LOG " missed entries (%s): subscribers fetch "
                 "them from the channels", why);
    chan_gap_all(b->engine, id);
}

/* Stores and fans out one entry of the log, in the order read. */
static void redis_take_entry(struct redis *b, const redisReply *e)
{
    const char *type, *data, *name, *action;
    unsigned long long n;
    struct msgid id;
    size_t dlen;
    unsigned long subs;
    struct msg *m;
    int own, ctl;

    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING ||
        !redis_id_text(e->element[0]->str, e->element[0]->len)) {
        if (log_allow(&b->warn))
            log_warn("redis: an entry of " REDIS_KEY_LOG " without an id: skipped");
        return;
    }
    /* the read goes on after it, whatever it holds: it is never read twice */
    memcpy(b->pos, e->element[0]->str, e->element[0]->len + 1);
    if (msgid_parse(e->element[0]->str, &id) < 0) {
        if (log_allow(&b->warn))
            log_warn("redis: entry %s of " REDIS_KEY_LOG " skipped: not an id fcgi-sse makes",
                     b->pos);
        return;
    }
    ctl = redis_ctl_entry(e->element[1], &name, &action, &n);
    own = !ctl && redis_fields(b, b->pos, e->element[1], &type, &data, &dlen, &name, &n);
    if (!n)
        return; /* a foreign entry: it counts nothing */
    if (n != b->n + 1)
        redis_hole(b, id, "its count jumped: the read fell behind its trimming, or Redis lost it");
    b->n = n;
    redis_saw(b, id);
    chan_engine_set_floor(b->engine, id);
    if (ctl)
        redis_ctl_apply(b, name, action); /* a delete or a purge, in the log's order */
    if (!own)
        return;
    /* through the engine: history, bounds, and one event for all its
     * subscribers; a channel nobody here subscribes to does not exist */
    m = chan_store_id(b->engine, name, type, data, dlen, &id, clock_wall_ms(), &subs);
    if (m)
        chan_fanout(b->engine, m);
    else if (errno == ENOMEM && log_allow(&b->warn))
        log_errno("redis: storing an entry", ENOMEM);
}

static void redis_ask_head(struct redis *b, int check);

static void on_read(redisAsyncContext *ac, void *reply, void *priv)
{
    struct redis *b = ac->data;
    redisReply *r = reply;
    size_t i;
    (void)priv;

    if (ac != b->rd)
        return;
    b->reading = 0;
    if (!r || b->state != REDIS_UP)
        return; /* the disconnect callback, or the reconnect, takes it from here (a reply
                   in the turn the link was given up on must not start anything on it) */
    if (r->type == REDIS_REPLY_ERROR) {
        redis_down(b, "XREAD", r->str);
        return;
    }
    /* [[fcgi-sse:log, [entry...]]], or nil when the block timed out */
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2 &&
        r->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
        const redisReply *es = r->element[0]->element[1];
        for (i = 0; i < es->elements && b->rd == ac; i++)
            redis_take_entry(b, es->element[i]);
    } else if (r->type != REDIS_REPLY_NIL) {
        redis_down(b, "XREAD", "a reply that is not a stream's entries");
        return;
    } else {
        redis_ask_head(b, 1); /* 5 s without an entry: is the log where the read is? */
        return;
    }
    redis_read_next(b);
}

/* The head again, while the read is at pos: a log whose newest entry is
 * before pos was made anew (deleted, or Redis lost it) after the read
 * went past a foreign id or the old entries: the read starts over after
 * its newest entry, and every channel may have missed what came before. */
static void redis_recheck(struct redis *b, const redisReply *r, struct msgid last)
{
    struct msgid top = last;
    char target[MSGID_STR_MAX];

    if (r->element[1]->len) {
        if (redis_id_text_cmp(r->element[1]->str, b->pos) >= 0)
            return; /* the log is where the read left it, or after: the read sees what follows */
        memcpy(target, r->element[1]->str, r->element[1]->len + 1);
        if (msgid_parse(target, &top) < 0)
            top = last;
    } else {
        msgid_format(target, last); /* no log: the next entry comes after the last id */
        if (strcmp(target, b->pos) == 0)
            return;
    }
    memcpy(b->pos, target, sizeof target);
    b->n = (unsigned long long)r->element[2]->integer;
    redis_saw(b, top);
    redis_hole(b, top, "the log was made anew behind the read");
}

static void on_head(redisAsyncContext *ac, void *reply, void *priv)
{
    struct redis *b = ac->data;
    redisReply *r = reply;
    struct msgid last = { 0, 0 }, top;

    if (!redis_cmd_done(b, ac) || !r)
        return; /* asked again once connected */
    b->reading = 0;
    /* {last or '', newest log id or '', its count} */
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING ||
        r->element[2]->type != REDIS_REPLY_INTEGER || r->element[2]->integer < 0 ||
        (r->element[0]->len && msgid_parse(r->element[0]->str, &last) < 0) ||
        (r->element[1]->len && !redis_id_text(r->element[1]->str, r->element[1]->len))) {
        redis_down(b, "fcgi_sse_head", r->type == REDIS_REPLY_ERROR ? r->str : "not its reply");
        return;
    }
    if (priv) {
        redis_recheck(b, r, last);
        redis_read_next(b);
        return;
    }
    /* the read starts after the newest entry of the log (or the last id:
     * what came before, subscribers fetch) */
    if (r->element[1]->len) {
        memcpy(b->pos, r->element[1]->str, r->element[1]->len + 1);
        if (msgid_parse(b->pos, &top) == 0)
            redis_saw(b, top);
    } else {
        msgid_format(b->pos, last);
    }
    redis_saw(b, last);
    b->n = (unsigned long long)r->element[2]->integer;
    b->have_pos = 1;
    chan_engine_set_floor(b->engine, b->known);
    redis_read_next(b);
}

/* Asks where the log's newest entry is (fcgi_sse_head): to start the read
 * (check 0), or to see whether the log was made anew behind it (check 1).
 * It stands for the read until it answers. */
static void redis_ask_head(struct redis *b, int check)
{
    static int check_mark;
    const char *hv[4] = { "FCALL_RO", "fcgi_sse_head", "1", REDIS_KEY_LAST };
    size_t hl[4] = { 8, 13, 1, sizeof REDIS_KEY_LAST - 1 };

    if (b->state != REDIS_UP)
        return; /* the link was given up on: the reconnect asks again */
    if (redis_cmd(b, on_head, check ? &check_mark : NULL, 4, hv, hl) < 0) {
        redis_down(b, "cannot send fcgi_sse_head", NULL);
        return;
    }
    b->reading = 1;
    b->rd_sent = clock_now_ns();
}

/* One XREAD BLOCK of the log after pos; first, once, where pos is. */
void redis_read_next(struct redis *b)
{
    char count[24], block[16];
    const char *argv[8];
    size_t lens[8];
    int i;

    if (b->state != REDIS_UP || b->reading || !b->rd)
        return;
    if (!b->have_pos) {
        redis_ask_head(b, 0);
        return;
    }
    b->read_count = redis_read_count(b);
    snprintf(count, sizeof count, "%lu", b->read_count);
    snprintf(block, sizeof block, "%d", REDIS_BLOCK_MS);
    argv[0] = "XREAD";
    argv[1] = "COUNT";
    argv[2] = count;
    argv[3] = "BLOCK";
    argv[4] = block;
    argv[5] = "STREAMS";
    argv[6] = REDIS_KEY_LOG;
    argv[7] = b->pos;
    for (i = 0; i < 8; i++)
        lens[i] = strlen(argv[i]);
    if (redisAsyncCommandArgv(b->rd, on_read, NULL, 8, argv, lens) != REDIS_OK) {
        redis_down(b, "cannot send the blocking read", NULL);
        return;
    }
    b->reading = 1;
    b->rd_sent = clock_now_ns();
}
