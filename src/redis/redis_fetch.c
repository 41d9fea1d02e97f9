/* redis_fetch.c -- channels through Redis: what a resuming subscriber missed, fetched in bounded batches */
#include "config.h"

#include "redis/redis_int.h"
#include "core/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void redis_fetch_send(struct redis *b, struct history_fetch *f);

static void redis_fetch_enqueue(struct redis *b, struct history_fetch *f)
{
    f->queued = 1;
    f->next = NULL;
    if (b->fq_tail)
        b->fq_tail->next = f;
    else
        b->fq_head = f;
    b->fq_tail = f;
}

/* Takes f out of the queue. */
static void redis_fetch_unqueue(struct redis *b, struct history_fetch *f)
{
    struct history_fetch **p = &b->fq_head, *prev = NULL;

    if (!f->queued)
        return;
    while (*p && *p != f) {
        prev = *p;
        p = &(*p)->next;
    }
    if (*p) {
        *p = f->next;
        if (b->fq_tail == f)
            b->fq_tail = prev;
    }
    f->queued = 0;
}

void redis_fetch_pump(struct redis *b)
{
    while (b->fq_head && b->state == REDIS_UP && b->slots < REDIS_FETCH_SLOTS) {
        struct history_fetch *f = b->fq_head;
        b->fq_head = f->next;
        if (!b->fq_head)
            b->fq_tail = NULL;
        f->queued = 0;
        redis_fetch_send(b, f);
    }
}

/* Frees a batch under construction. */
static void redis_batch_free(struct history_batch *out)
{
    size_t i;

    for (i = 0; i < out->n; i++)
        msg_unref(out->v[i]);
    free(out->v);
    memset(out, 0, sizeof *out);
}

/* Parses a fetch's reply {CURSOR, MORE, RESET, {I, ID, FIELDS}...} into
 * a batch. 0, or -1 when it is not one (nothing kept). */
static int redis_batch_of(struct redis *b, struct history_fetch *f, const redisReply *r,
                         struct history_batch *out)
{
    struct msgid prev = f->after;
    size_t i;

    memset(out, 0, sizeof *out);
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_INTEGER ||
        r->element[2]->type != REDIS_REPLY_STRING ||
        msgid_parse(r->element[0]->str, &out->cursor) < 0 ||
        msgid_cmp(out->cursor, f->after) < 0 ||
        (r->element[2]->len && msgid_parse(r->element[2]->str, &out->reset_id) < 0) ||
        r->elements - 3 > REDIS_FETCH_COUNT)
        return -1;
    out->more = r->element[1]->integer != 0;
    out->reset = r->element[2]->len != 0;
    out->v = calloc(r->elements - 3 + 1, sizeof *out->v);
    if (!out->v)
        return -1;
    for (i = 3; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        const char *type, *data;
        struct msgid id;
        size_t len;
        struct msg *m;

        /* in id order, after the id asked for, up to the cursor */
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 3 ||
            e->element[0]->type != REDIS_REPLY_INTEGER || e->element[0]->integer < 0 ||
            e->element[0]->integer >= (long long)f->n || e->element[1]->type != REDIS_REPLY_STRING ||
            msgid_parse(e->element[1]->str, &id) < 0 || msgid_cmp(id, prev) <= 0 ||
            msgid_cmp(id, out->cursor) > 0) {
            redis_batch_free(out);
            return -1;
        }
        prev = id;
        redis_saw(b, id);
        if (redis_fields(b, e->element[1]->str, e->element[2], &type, &data, &len, NULL, NULL) != 1)
            continue; /* a foreign entry: the cursor passes it */
        m = msg_create_in(b->engine, f->keys[e->element[0]->integer] + strlen(REDIS_KEY_PREFIX),
                          id, type, data, len);
        if (!m) {
            redis_batch_free(out);
            return -1;
        }
        out->v[out->n++] = m;
    }
    /* the last id issued when the fetch ran: only when it moved past the id asked
     * for, which is the subscriber's and may be one Redis never issued (a future
     * Last-Event-ID must not become where every later subscriber starts) */
    if (!out->more && msgid_cmp(out->cursor, f->after) > 0)
        redis_saw(b, out->cursor);
    if (out->reset && msgid_is_zero(out->reset_id))
        out->reset_id = out->cursor;
    return 0;
}

static void on_fetched(redisAsyncContext *ac, void *reply, void *priv)
{
    struct history_fetch *f = priv;
    struct redis *b = f->b;
    redisReply *r = reply;
    struct history_batch batch;
    int mine;

    f->in_flight = 0;
    mine = redis_cmd_done(b, ac);
    /* received (or lost with its connection): the slot is free again */
    b->slots--;
    if (!f->arg) {
        free(f); /* cancelled while in flight */
        redis_fetch_pump(b);
        return;
    }
    if (!mine || !r) {
        redis_fetch_enqueue(b, f); /* sent again once connected */
        redis_fetch_pump(b);
        return;
    }
    if (r->type == REDIS_REPLY_ERROR || redis_batch_of(b, f, r, &batch) < 0) {
        if (log_allow(&b->warn))
            log_warn("redis: a fetch failed: %s", r->type == REDIS_REPLY_ERROR ? r->str
                                                                              : "not a fetch's reply");
        memset(&batch, 0, sizeof batch);
        batch.failed = 1;
    }
    redis_fetch_pump(b);
    f->fn(f->arg, &batch);
    free(f);
}

static void redis_fetch_send(struct redis *b, struct history_fetch *f)
{
    const char *argv[4 + CHAN_SUB_MAX + 4];
    size_t lens[4 + CHAN_SUB_MAX + 4];
    char nkeys[8], after[MSGID_STR_MAX], count[24], bytes[24];
    int argc = 0;
    unsigned i;

    snprintf(nkeys, sizeof nkeys, "%u", f->n + 1);
    msgid_format(after, f->after);
    snprintf(count, sizeof count, "%d", REDIS_FETCH_COUNT);
    snprintf(bytes, sizeof bytes, "%zu", f->bytes);
    argv[argc++] = "FCALL_RO";
    argv[argc++] = "fcgi_sse_fetch";
    argv[argc++] = nkeys;
    argv[argc++] = REDIS_KEY_LAST;
    for (i = 0; i < f->n; i++)
        argv[argc++] = f->keys[i];
    argv[argc++] = after;
    argv[argc++] = count;
    argv[argc++] = bytes;
    argv[argc++] = f->check_reset ? "1" : "0";
    for (i = 0; i < (unsigned)argc; i++)
        lens[i] = strlen(argv[i]);
    if (redis_cmd(b, on_fetched, f, argc, argv, lens) < 0) {
        redis_fetch_enqueue(b, f);
        redis_down(b, "cannot send a fetch", NULL);
        return;
    }
    f->in_flight = 1;
    b->slots++;
}

struct history_fetch *redis_fetch(struct redis *b, const char (*names)[CHAN_NAME_MAX + 1], unsigned n,
                              const struct msgid *after, int check_reset, size_t bytes,
                              history_fn fn, void *arg)
{
    struct history_fetch *f = calloc(1, sizeof *f);
    unsigned i;

    if (!f)
        return NULL;
    f->b = b;
    f->fn = fn;
    f->arg = arg;
    f->after = *after;
    f->check_reset = check_reset;
    f->bytes = bytes < 1 ? 1 : bytes > REDIS_FETCH_BYTES ? REDIS_FETCH_BYTES : bytes;
    f->n = n > CHAN_SUB_MAX ? CHAN_SUB_MAX : n;
    for (i = 0; i < f->n; i++)
        snprintf(f->keys[i], sizeof f->keys[i], REDIS_KEY_PREFIX "%s", names[i]);
    redis_fetch_enqueue(b, f);
    redis_fetch_pump(b);
    return f;
}

void redis_fetch_cancel(struct history_fetch *f)
{
    if (!f)
        return;
    if (!f->b) {
        free(f); /* outlived the bus (shutdown) */
        return;
    }
    redis_fetch_unqueue(f->b, f);
    if (f->in_flight)
        f->arg = NULL; /* freed when its reply comes */
    else
        free(f);
}

void redis_fetch_drop(struct redis *b)
{
    while (b->fq_head) {
        struct history_fetch *f = b->fq_head;
        b->fq_head = f->next;
        f->queued = 0;
        f->b = NULL; /* its subscription still holds it: cancelled with the hub */
    }
    b->fq_tail = NULL;
}
