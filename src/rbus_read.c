/* rbus_read.c -- channels through Redis: the one blocking read per responder, and the channels it covers */
#include "config.h"

#include "rbus_int.h"
#include "monotime.h"
#include "rmerge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct rchan *rbus_find(struct rbus *b, const char *key, size_t len)
{
    struct rchan *c;

    for (c = b->chans; c; c = c->next)
        if (c->keylen == len && memcmp(c->key, key, len) == 0)
            return c;
    return NULL;
}

/* Frees the channels nobody wants, unless a reply may still name them. */
static void rbus_reap(struct rbus *b)
{
    struct rchan **p = &b->chans;

    if (b->in_read || !b->nreaped)
        return;
    while (*p) {
        struct rchan *c = *p;
        if (c->refs == 0 && !c->asking) {
            *p = c->next;
            b->nreaped--;
            free(c);
        } else {
            p = &c->next;
        }
    }
}

/* Stores and fans out what one XREAD brought, in id order (rmerge). */
/* Entries a stream in one blocking read over n channels. */
static unsigned long rbus_read_count(const struct rbus *b, unsigned long n)
{
    unsigned long c = RBUS_READ_BYTES / ((b->cfg.max_message + 256) * (n ? n : 1));

    return c < 1 ? 1 : c > RBUS_READ_COUNT ? RBUS_READ_COUNT : c;
}

static void rbus_take(struct rbus *b, const redisReply *r)
{
    size_t total = 0, i, j, k, n = 0;
    unsigned ns = (unsigned)r->elements;
    struct rmerge_item *v;
    struct rchan **sc;
    int *full;
    struct msgid *last;

    for (i = 0; i < r->elements; i++) {
        const redisReply *s = r->element[i];
        if (s->type == REDIS_REPLY_ARRAY && s->elements == 2 &&
            s->element[1]->type == REDIS_REPLY_ARRAY)
            total += s->element[1]->elements;
    }
    v = calloc(total ? total : 1, sizeof *v);
    sc = calloc(ns ? ns : 1, sizeof *sc);
    full = calloc(ns ? ns : 1, sizeof *full);
    last = calloc(ns ? ns : 1, sizeof *last);
    if (!v || !sc || !full || !last) {
        /* nothing stored: the next read asks again from the same ids */
        log_errno("redis: taking entries", ENOMEM);
        goto out;
    }
    for (i = 0; i < ns; i++) {
        const redisReply *s = r->element[i], *es;
        if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
            s->element[0]->type != REDIS_REPLY_STRING || s->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        sc[i] = rbus_find(b, s->element[0]->str, s->element[0]->len);
        es = s->element[1];
        full[i] = es->elements >= b->read_count;
        for (j = 0; j < es->elements; j++) {
            struct msgid id;
            const redisReply *e = es->element[j];
            if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
                e->element[0]->type != REDIS_REPLY_STRING || msgid_parse(e->element[0]->str, &id) < 0)
                continue;
            last[i] = id;
            v[n].id = id;
            v[n].stream = (unsigned)i;
            v[n].p = (void *)e;
            n++;
        }
    }
    /* A channel whose position was fixed after this read was sent is not in
     * it, and may have entries after its position that come before some the
     * read brought: those wait for the next read, which covers it (else a
     * subscriber of both would get them out of order, and skip one). */
    {
        struct rchan *c;
        struct msgid cap = { 0, 0 };
        int capped = 0;
        for (c = b->chans; c; c = c->next) {
            if (c->refs && c->known && c->known_gen > b->read_gen &&
                (!capped || msgid_cmp(c->pos, cap) < 0)) {
                cap = c->pos;
                capped = 1;
            }
        }
        k = rmerge_order(v, n, full, last, ns, capped ? &cap : NULL);
    }
    for (i = 0; i < k; i++) {
        struct rchan *c = sc[v[i].stream];
        struct msgid id;
        unsigned long subs;
        const char *type, *data;
        size_t dlen;
        struct msg *m;

        if (!c || !c->refs || !c->known || msgid_cmp(v[i].id, c->pos) <= 0)
            continue; /* not wanted now, or had already: never stored twice */
        c->pos = v[i].id;
        if (rbus_fields(b, v[i].p, &id, &type, &data, &dlen) != 1)
            continue;
        /* through the engine: history, bounds, and one event for all its subscribers */
        m = chan_store_id(b->engine, c->key + sizeof RBUS_KEY_PREFIX - 1, type, data, dlen, &id,
                          wallclock_ms(), &subs);
        if (m)
            chan_fanout(b->engine, m);
        else if (errno == ENOMEM && log_allow(&b->warn))
            log_errno("redis: storing an entry", ENOMEM);
    }
out:
    free(v);
    free(sc);
    free(full);
    free(last);
}

static void on_read(redisAsyncContext *ac, void *reply, void *priv)
{
    struct rbus *b = ac->data;
    redisReply *r = reply;
    (void)priv;

    if (ac != b->rd)
        return;
    b->reading = 0;
    if (!r)
        return; /* the disconnect callback takes it from here */
    if (r->type == REDIS_REPLY_ERROR) {
        rbus_down(b, "XREAD", r->str);
        return;
    }
    if (r->type == REDIS_REPLY_ARRAY) {
        b->in_read = 1;
        rbus_take(b, r);
        b->in_read = 0;
    }
    rbus_read_next(b);
}

/* One XREAD BLOCK over every channel wanted whose position is fixed. */
void rbus_read_next(struct rbus *b)
{
    char count[16], block[16];
    char (*ids)[MSGID_STR_MAX];
    const char **argv;
    size_t *lens;
    struct rchan *c;
    unsigned long n = 0, i = 0;
    int argc;

    rbus_reap(b);
    if (b->state != RBUS_UP || b->reading || !b->rd)
        return;
    for (c = b->chans; c; c = c->next)
        n += c->refs && c->known;
    b->st->channels_read = n;
    if (!n)
        return; /* a channel whose position gets fixed starts it */
    argc = 6 + 2 * (int)n;
    argv = malloc((size_t)argc * sizeof *argv);
    lens = malloc((size_t)argc * sizeof *lens);
    ids = malloc(n * sizeof *ids);
    if (!argv || !lens || !ids) {
        rbus_down(b, "out of memory for the blocking read", NULL);
        goto out;
    }
    b->read_count = rbus_read_count(b, n);
    snprintf(count, sizeof count, "%lu", b->read_count);
    snprintf(block, sizeof block, "%d", RBUS_BLOCK_MS);
    argv[0] = "XREAD";
    argv[1] = "COUNT";
    argv[2] = count;
    argv[3] = "BLOCK";
    argv[4] = block;
    argv[5] = "STREAMS";
    for (c = b->chans; c; c = c->next) {
        if (!c->refs || !c->known)
            continue;
        argv[6 + i] = c->key;
        lens[6 + i] = c->keylen;
        lens[6 + n + i] = msgid_format(ids[i], c->pos);
        argv[6 + n + i] = ids[i];
        i++;
    }
    for (i = 0; i < 6; i++)
        lens[i] = strlen(argv[i]);
    if (redisAsyncCommandArgv(b->rd, on_read, NULL, argc, argv, lens) != REDIS_OK) {
        rbus_down(b, "cannot send the blocking read", NULL);
        goto out;
    }
    b->reading = 1;
    b->read_gen = b->gen;
    b->rd_sent = monotime_ns();
out:
    free(argv);
    free(lens);
    free(ids);
}

static void on_unblocked(redisAsyncContext *ac, void *reply, void *priv)
{
    struct rbus *b = ac->data;
    redisReply *r = reply;
    (void)priv;

    if (ac != b->cmd)
        return;
    b->cmd_pending--;
    b->cmd_progress = monotime_ns();
    /* 0: the read was not blocked yet (on its way, or its reply is): if
     * it still covers fewer channels, try again shortly */
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 0 && b->reading &&
        b->read_gen != b->gen && loop_timer_set(b->loop, &b->unblock,
                                                monotime_ns() + RBUS_UNBLOCK_RETRY_NS) < 0)
        log_errno("redis: a timer", ENOMEM);
}

/* A channel was added: the read in flight must end so that the next one
 * covers it (CLIENT UNBLOCK ends a blocked XREAD with a nil reply, as a
 * timeout would). */
static void rbus_interrupt(struct rbus *b)
{
    char id[24];
    const char *argv[3] = { "CLIENT", "UNBLOCK", id };
    size_t lens[3] = { 6, 7, 0 };

    if (b->state != RBUS_UP)
        return;
    if (!b->reading) {
        rbus_read_next(b);
        return;
    }
    if (b->read_gen == b->gen)
        return;
    lens[2] = (size_t)snprintf(id, sizeof id, "%lld", b->rd_id);
    if (rbus_cmd(b, on_unblocked, NULL, 3, argv, lens) < 0)
        rbus_down(b, "cannot send CLIENT UNBLOCK", NULL);
}

void rbus_on_unblock(struct loop *l, struct loop_timer *t)
{
    struct rbus *b = (struct rbus *)((char *)t - offsetof(struct rbus, unblock));
    (void)l;

    rbus_interrupt(b);
}

static void on_pos(redisAsyncContext *ac, void *reply, void *priv)
{
    struct rbus *b = ac->data;
    struct rchan *c = priv;
    redisReply *r = reply;
    struct msgid pos = { 0, 0 };

    c->asking = 0;
    if (ac == b->cmd) {
        b->cmd_pending--;
        b->cmd_progress = monotime_ns();
    }
    if (ac != b->cmd || !r)
        return; /* asked again once connected */
    if (r->type == REDIS_REPLY_STRING && msgid_parse(r->str, &pos) < 0)
        r = NULL;
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
        rbus_down(b, "GET " RBUS_KEY_LAST, r && r->type == REDIS_REPLY_ERROR
                                                      ? r->str : "not an id");
        return;
    }
    if (c->known || !c->refs)
        return; /* no longer wanted (or fixed already) */
    c->pos = pos;
    c->known = 1;
    c->known_gen = ++b->gen;
    rbus_interrupt(b);
}

/* Fixes where the read of c starts: after the id Redis issued last (all
 * that came before, a subscriber fetches). */
void rbus_ask_pos(struct rbus *b, struct rchan *c)
{
    const char *argv[2] = { "GET", RBUS_KEY_LAST };
    size_t lens[2] = { 3, sizeof RBUS_KEY_LAST - 1 };

    if (rbus_cmd(b, on_pos, c, 2, argv, lens) < 0) {
        rbus_down(b, "cannot send GET", NULL);
        return;
    }
    c->asking = 1;
}

int rbus_watch(struct rbus *b, const char *name)
{
    char key[RBUS_KEY_MAX];
    size_t len = (size_t)snprintf(key, sizeof key, RBUS_KEY_PREFIX "%s", name);
    struct rchan *c = rbus_find(b, key, len);

    if (c) {
        if (c->refs++ == 0) {
            b->nreaped--;
            b->nchans++;
            if (b->state == RBUS_UP && !c->asking)
                rbus_ask_pos(b, c);
        }
        return 0;
    }
    c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    memcpy(c->key, key, len + 1);
    c->keylen = len;
    c->refs = 1;
    c->next = b->chans;
    b->chans = c;
    b->nchans++;
    if (b->state == RBUS_UP)
        rbus_ask_pos(b, c);
    return 0;
}

void rbus_unwatch(struct rbus *b, const char *name)
{
    char key[RBUS_KEY_MAX];
    size_t len = (size_t)snprintf(key, sizeof key, RBUS_KEY_PREFIX "%s", name);
    struct rchan *c = rbus_find(b, key, len);

    if (!c || !c->refs)
        return;
    if (--c->refs == 0) {
        /* its history goes with it: a subscriber that comes back later is
         * read from a new position, and fetches what came between */
        c->known = 0;
        b->nchans--;
        b->nreaped++;
        rbus_reap(b);
    }
}

