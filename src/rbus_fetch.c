/* rbus_fetch.c -- channels through Redis: what a resuming subscriber missed, fetched in bounded batches */
#include "config.h"

#include "rbus_int.h"
#include "monotime.h"
#include "rmerge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void rbus_fetch_send(struct rbus *b, struct rbus_fetch *f);

/* Entries per channel in one fetch: what fits RBUS_FETCH_BYTES at
 * --max-message each, shared by its channels, at least one. */
static unsigned long rbus_fetch_count(const struct rbus *b, unsigned n)
{
    unsigned long per = RBUS_FETCH_BYTES / (b->cfg.max_message + 256);

    if (per < 16)
        per = 16;
    per /= n ? n : 1;
    return per ? per : 1;
}

static void rbus_fetch_enqueue(struct rbus *b, struct rbus_fetch *f)
{
    f->queued = 1;
    f->next = NULL;
    if (b->fq_tail)
        b->fq_tail->next = f;
    else
        b->fq_head = f;
    b->fq_tail = f;
}

/* Sends the fetches that wait, while there are slots and Redis is up. */
void rbus_fetch_pump(struct rbus *b)
{
    while (b->fq_head && b->state == RBUS_UP) {
        struct rbus_fetch *f = b->fq_head;
        if (!f->slot && b->slots >= RBUS_FETCH_SLOTS)
            return;
        b->fq_head = f->next;
        if (!b->fq_head)
            b->fq_tail = NULL;
        f->queued = 0;
        if (!f->slot) {
            f->slot = 1;
            b->slots++;
        }
        rbus_fetch_send(b, f);
    }
}

/* Parses a fetch's reply into a batch. 0, or -1 when it is not one. */
static int rbus_batch_of(struct rbus *b, struct rbus_fetch *f, const redisReply *r,
                         struct rbus_batch *out)
{
    unsigned long count = rbus_fetch_count(b, f->n);
    struct rmerge_item *v = NULL;
    int full[CHAN_SUB_MAX] = { 0 };
    struct msgid last[CHAN_SUB_MAX], oldest = { 0, 0 };
    size_t total = 0, n = 0, k, i, j;
    int have_oldest = 0;

    memset(out, 0, sizeof *out);
    out->cursor = f->after;
    if (f->now) {
        if (r->type == REDIS_REPLY_NIL)
            return 0;
        return r->type == REDIS_REPLY_STRING ? msgid_parse(r->str, &out->cursor) : -1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != f->n)
        return -1;
    for (i = 0; i < f->n; i++) {
        const redisReply *c = r->element[i];
        if (c->type != REDIS_REPLY_ARRAY || c->elements != 3 ||
            c->element[2]->type != REDIS_REPLY_ARRAY)
            return -1;
        total += c->element[2]->elements;
    }
    v = calloc(total ? total : 1, sizeof *v);
    if (!v)
        return -1;
    for (i = 0; i < f->n; i++) {
        const redisReply *c = r->element[i], *es = c->element[2];
        struct msgid del, first;
        if (f->check_reset && c->element[0]->type == REDIS_REPLY_STRING &&
            msgid_parse(c->element[0]->str, &del) == 0 && msgid_cmp(del, f->after) > 0)
            out->reset = 1;
        if (c->element[1]->type == REDIS_REPLY_STRING &&
            msgid_parse(c->element[1]->str, &first) == 0 &&
            (!have_oldest || msgid_cmp(first, oldest) < 0)) {
            oldest = first;
            have_oldest = 1;
        }
        full[i] = es->elements >= count;
        for (j = 0; j < es->elements; j++) {
            int bad;
            struct msgid id;
            struct msg *m = rbus_entry(b, es->element[j], &id, &bad);
            if (bad)
                continue;
            last[i] = id;
            v[n].id = id;
            v[n].stream = (unsigned)i;
            v[n].p = m; /* NULL for an entry skipped: the cursor still passes it */
            n++;
        }
    }
    k = rmerge_order(v, n, full, last, f->n, NULL);
    for (i = 0; i < f->n; i++)
        out->more |= full[i];
    out->v = calloc(k ? k : 1, sizeof *out->v);
    if (!out->v) {
        for (i = 0; i < n; i++)
            msg_unref(v[i].p);
        free(v);
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (i >= k) {
            msg_unref(v[i].p);
            continue;
        }
        out->cursor = v[i].id;
        if (v[i].p)
            out->v[out->n++] = v[i].p;
    }
    if (out->reset)
        out->reset_id = have_oldest ? oldest : out->cursor;
    free(v);
    return 0;
}

static void on_fetched(redisAsyncContext *ac, void *reply, void *priv)
{
    struct rbus_fetch *f = priv;
    struct rbus *b = f->b;
    redisReply *r = reply;
    struct rbus_batch batch;

    f->in_flight = 0;
    if (ac == b->cmd) {
        b->cmd_pending--;
        b->cmd_progress = monotime_ns();
    }
    if (!f->arg) {
        free(f); /* released while in flight (its slot was given back then) */
        return;
    }
    if (ac != b->cmd || !r) {
        rbus_fetch_enqueue(b, f); /* sent again once connected */
        rbus_fetch_pump(b);
        return;
    }
    if (r->type == REDIS_REPLY_ERROR || rbus_batch_of(b, f, r, &batch) < 0) {
        if (log_allow(&b->warn))
            log_warn("redis: a fetch failed: %s", r->type == REDIS_REPLY_ERROR ? r->str
                                                                              : "not a fetch's reply");
        memset(&batch, 0, sizeof batch);
        batch.failed = 1;
    }
    f->fn(f->arg, f, &batch);
}

static void rbus_fetch_send(struct rbus *b, struct rbus_fetch *f)
{
    const char *argv[3 + CHAN_SUB_MAX + 3];
    size_t lens[3 + CHAN_SUB_MAX + 3];
    char nkeys[8], after[MSGID_STR_MAX], count[24];
    int argc = 0, rc;
    unsigned i;

    if (f->now) {
        argv[argc++] = "GET";
        argv[argc++] = RBUS_KEY_LAST;
    } else {
        snprintf(nkeys, sizeof nkeys, "%u", f->n);
        msgid_format(after, f->after);
        snprintf(count, sizeof count, "%lu", rbus_fetch_count(b, f->n));
        argv[argc++] = "FCALL_RO";
        argv[argc++] = "fcgi_sse_fetch";
        argv[argc++] = nkeys;
        for (i = 0; i < f->n; i++)
            argv[argc++] = f->keys[i];
        argv[argc++] = after;
        argv[argc++] = count;
        argv[argc++] = f->check_reset ? "1" : "0";
    }
    for (i = 0; i < (unsigned)argc; i++)
        lens[i] = strlen(argv[i]);
    rc = rbus_cmd(b, on_fetched, f, argc, argv, lens);
    if (rc < 0) {
        rbus_fetch_enqueue(b, f);
        rbus_down(b, "cannot send a fetch", NULL);
        return;
    }
    f->in_flight = 1;
}

struct rbus_fetch *rbus_fetch(struct rbus *b, const char (*names)[CHAN_NAME_MAX + 1], unsigned n,
                              const struct msgid *after, int check_reset, rbus_fetch_fn fn,
                              void *arg)
{
    struct rbus_fetch *f = calloc(1, sizeof *f);
    unsigned i;

    if (!f)
        return NULL;
    f->b = b;
    f->fn = fn;
    f->arg = arg;
    f->now = after == NULL;
    if (after)
        f->after = *after;
    f->check_reset = check_reset && after;
    f->n = n > CHAN_SUB_MAX ? CHAN_SUB_MAX : n;
    for (i = 0; i < f->n; i++)
        snprintf(f->keys[i], sizeof f->keys[i], RBUS_KEY_PREFIX "%s", names[i]);
    rbus_fetch_enqueue(b, f);
    rbus_fetch_pump(b);
    return f;
}

void rbus_fetch_release(struct rbus_fetch *f)
{
    struct rbus *b;

    if (!f)
        return;
    b = f->b;
    if (!b) {
        free(f); /* outlived the bus (shutdown) */
        return;
    }
    if (f->queued) {
        struct rbus_fetch **p = &b->fq_head, *prev = NULL;
        while (*p && *p != f) {
            prev = *p;
            p = &(*p)->next;
        }
        if (*p) {
            *p = f->next;
            if (b->fq_tail == f)
                b->fq_tail = prev;
        }
    }
    if (f->slot) {
        b->slots--;
        f->slot = 0;
    }
    if (f->in_flight)
        f->arg = NULL; /* freed when its reply comes */
    else
        free(f);
    rbus_fetch_pump(b);
}

