/* chan.c -- channels: ids, each channel's history within bounds, and who is subscribed */
#include "config.h"

#include "channels/chan_int.h"
#include "core/text.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The oldest message retained, or NULL. */
static struct msg *oldest_msg(const struct chan_engine *e)
{
    struct list *n = list_first(&e->msgs);

    return n ? container_of(n, struct msg, age) : NULL;
}

/* The name's hash, keyed (core/keyhash.h): unkeyed hashes let a peer
 * choose names that share one chain. */
static uint64_t hash(const struct chan_engine *e, const char *s, size_t n)
{
    return keyhash(e->names, s, n);
}

size_t chan_cost(size_t n)
{
    return sizeof(struct chan) + n + 1;
}

struct chan_engine *chan_engine_create(const struct chan_limits *lim, unsigned long long now_ms,
                                       chan_deliver_fn deliver, void *ctx)
{
    struct chan_engine *e = calloc(1, sizeof *e);

    if (!e)
        return NULL;
    e->nbuckets = 64;
    e->buckets = calloc(e->nbuckets, sizeof *e->buckets);
    e->names = keyhash_create();
    if (!e->buckets || !e->names) {
        keyhash_destroy(e->names);
        free(e->buckets);
        free(e);
        errno = ENOMEM;
        return NULL;
    }
    e->lim = *lim;
    list_init(&e->msgs);
    if (e->lim.history < 1)
        e->lim.history = 1;
    e->boot.ms = now_ms;
    e->boot.seq = 0;
    e->last = e->boot;
    e->deliver = deliver;
    e->ctx = ctx;
    return e;
}

void chan_engine_on_resync(struct chan_engine *e, chan_resync_fn resync)
{
    e->resync = resync;
}

void chan_engine_set_floor(struct chan_engine *e, struct msgid floor)
{
    e->floor = floor;
}

int chan_name_valid(const char *name)
{
    if (name[0] == CHAN_INTERNAL)
        return text_name_ok(name + 1, CHAN_NAME_MAX - 1);
    return text_name_ok(name, CHAN_NAME_MAX);
}

void chan_engine_set_codec(struct chan_engine *e, const struct chan_codec *codec)
{
    e->codec = codec;
}

static struct chan **slot(struct chan_engine *e, uint64_t h, const char *name, size_t n)
{
    struct chan **p = &e->buckets[h & (e->nbuckets - 1)];

    while (*p && !((*p)->hash == h && (*p)->namelen == n && memcmp((*p)->name, name, n) == 0))
        p = &(*p)->hnext;
    return p;
}

static void grow_table(struct chan_engine *e)
{
    size_t nb = e->nbuckets * 2, i;
    struct chan **b = calloc(nb, sizeof *b);

    if (!b)
        return; /* longer chains, still correct */
    for (i = 0; i < e->nbuckets; i++) {
        struct chan *c = e->buckets[i], *next;
        for (; c; c = next) {
            struct chan **p = &b[c->hash & (nb - 1)];
            next = c->hnext;
            c->hnext = *p;
            *p = c;
        }
    }
    free(e->buckets);
    e->buckets = b;
    e->nbuckets = nb;
}

/* The channel `name`, or NULL; with create, made when missing (NULL with
 * errno ENOMEM, or ENOSPC at channels_max). */
static struct chan *lookup(struct chan_engine *e, const char *name, int create)
{
    size_t n = strlen(name);
    uint64_t h = hash(e, name, n);
    struct chan **p = slot(e, h, name, n), *c;

    if (*p || !create)
        return *p;
    if (e->lim.channels_max && e->nchans >= e->lim.channels_max) {
        e->refused++;
        errno = ENOSPC;
        return NULL;
    }
    c = calloc(1, chan_cost(n));
    if (!c) {
        errno = ENOMEM;
        return NULL;
    }
    memcpy(c->name, name, n + 1);
    c->namelen = n;
    c->hash = h;
    list_init(&c->subs);
    c->dropped = e->floor;
    *p = c;
    e->nchans++;
    if (name[0] == CHAN_INTERNAL)
        e->ninternal++;
    e->meta += chan_cost(n);
    if (e->nchans > e->nbuckets)
        grow_table(e);
    return c;
}

/* Frees c once it has neither history nor subscribers. */
static void maybe_free(struct chan_engine *e, struct chan *c)
{
    struct chan **p;

    if (c->count || !list_empty(&c->subs))
        return;
    p = slot(e, c->hash, c->name, c->namelen);
    *p = c->hnext;
    e->nchans--;
    if (c->name[0] == CHAN_INTERNAL)
        e->ninternal--;
    e->meta -= chan_cost(c->namelen);
    e->bytes -= c->cap * sizeof *c->ring;
    if (msgid_cmp(c->dropped, e->gone_dropped) > 0)
        e->gone_dropped = c->dropped;
    free(c->ring);
    free(c);
}

static struct msg *at(const struct chan *c, size_t i)
{
    return c->ring[(c->head + i) % c->cap];
}

/* Drops c's oldest message. */
static void drop_oldest(struct chan_engine *e, struct chan *c)
{
    struct msg *m = c->ring[c->head];

    c->head = (c->head + 1) % c->cap;
    c->count--;
    list_remove(&m->age);
    e->nmsgs--;
    if (msgid_cmp(m->id, c->dropped) > 0)
        c->dropped = m->id;
    e->bytes -= m->cost;
    m->chan = NULL;
    if (m->refs > 1 && !e->destroying) {
        /* a subscriber is still writing it: its bytes stay counted */
        m->held = &e->held;
        e->held += m->cost;
    }
    msg_unref(m);
}

/* Messages c keeps at most. */
static size_t history_max(const struct chan_engine *e, const struct chan *c)
{
    return c->name[0] == CHAN_INTERNAL && e->lim.internal_history ? e->lim.internal_history
                                                                   : e->lim.history;
}

/* Makes room for one more message in c's ring. */
static int ring_room(struct chan_engine *e, struct chan *c)
{
    size_t cap, i;
    struct msg **r;

    if (c->count < c->cap)
        return 0;
    cap = c->cap ? c->cap * 2 : 4;
    if (cap > history_max(e, c))
        cap = history_max(e, c);
    if (cap <= c->count) {
        drop_oldest(e, c);
        return 0;
    }
    r = malloc(cap * sizeof *r);
    if (!r)
        return -1;
    for (i = 0; i < c->count; i++)
        r[i] = at(c, i);
    e->bytes += (cap - c->cap) * sizeof *r;
    free(c->ring);
    c->ring = r;
    c->head = 0;
    c->cap = cap;
    return 0;
}

unsigned long long chan_next_expiry(const struct chan_engine *e)
{
    const struct msg *m = oldest_msg(e);

    return m ? m->t_ms + e->lim.ttl_ms + 1 : 0;
}

void chan_expire(struct chan_engine *e, unsigned long long now_ms)
{
    struct msg *m;

    while ((m = oldest_msg(e)) && m->t_ms + e->lim.ttl_ms < now_ms) {
        struct chan *c = m->chan;
        drop_oldest(e, c);
        maybe_free(e, c);
    }
}

struct msg *chan_store_id(struct chan_engine *e, const char *name, const char *type,
                          const char *data, size_t len, const struct msgid *given,
                          unsigned long long now_ms, unsigned long *subscribers)
{
    struct chan *c;
    struct msg *m;
    struct msgid id;

    *subscribers = 0;
    chan_expire(e, now_ms);
    c = lookup(e, name, given ? 0 : 1);
    if (!c) {
        if (given)
            errno = ENOENT;
        return NULL;
    }
    if (given && msgid_cmp(*given, c->last) <= 0) {
        errno = EEXIST; /* had it, or something after it: storing it would repeat or reorder */
        return NULL;
    }
    if (ring_room(e, c) < 0) {
        maybe_free(e, c);
        errno = ENOMEM;
        return NULL;
    }
    if (given) {
        id = *given;
    } else {
        struct msgid next_id = e->last;
        id = msgid_next(&next_id, now_ms);
    }
    m = chan_make_msg(e, name, id, type, data, len);
    if (!m) {
        maybe_free(e, c);
        return NULL;
    }
    if (msgid_cmp(id, e->last) > 0)
        e->last = id;
    c->last = id;
    m->chan = c;
    m->t_ms = now_ms;
    list_append(&e->msgs, &m->age);
    e->nmsgs++;
    c->ring[(c->head + c->count) % c->cap] = m;
    c->count++;
    e->bytes += m->cost;
    e->published++;
    if (c->name[0] == CHAN_INTERNAL)
        e->published_internal++;
    /* the bound on all history, and on what slow subscribers still hold of
     * messages gone from it: the history's oldest go first, whatever their
     * channel (the newest message stays: it is being delivered) */
    while (e->bytes + e->held > e->lim.bytes_max && oldest_msg(e) && oldest_msg(e) != m) {
        struct chan *oc = oldest_msg(e)->chan;
        drop_oldest(e, oc);
        if (oc != c)
            maybe_free(e, oc);
    }
    *subscribers = c->nsubs;
    return m;
}

struct msg *chan_store(struct chan_engine *e, const char *name, const char *type,
                       const char *data, size_t len, unsigned long long now_ms,
                       unsigned long *subscribers)
{
    return chan_store_id(e, name, type, data, len, NULL, now_ms, subscribers);
}

void chan_fanout(struct chan_engine *e, struct msg *m)
{
    struct list *n, *next;

    /* Matching a message to its subscribers: exact channel names. Mercure's
     * matchers are its hub's: one link (with its own deliver) of the
     * internal channel that holds its updates. */
    list_for_each(n, next, &m->chan->subs) {
        struct chan_link *l = container_of(n, struct chan_link, node);
        if (l->deliver)
            l->deliver(l, m, l->deliver_ctx);
        else if (!l->quiet)
            e->deliver(l, m, e->ctx);
    }
}

struct msg *chan_publish(struct chan_engine *e, const char *name, const char *type,
                         const char *data, size_t len, unsigned long long now_ms,
                         unsigned long *subscribers)
{
    struct msg *m = chan_store(e, name, type, data, len, now_ms, subscribers);

    if (m)
        chan_fanout(e, m);
    return m;
}

int chan_subscribe(struct chan_engine *e, const char *name, struct chan_link *l)
{
    struct chan *c = lookup(e, name, 1);

    if (!c)
        return -1;
    l->chan = c;
    list_push(&c->subs, &l->node);
    c->nsubs++;
    return 0;
}

void chan_unsubscribe(struct chan_engine *e, struct chan_link *l)
{
    struct chan *c = l->chan;

    if (!c)
        return;
    list_remove(&l->node);
    c->nsubs--;
    l->chan = NULL;
    maybe_free(e, c);
}

unsigned long chan_subscribers(struct chan_engine *e, const char *name)
{
    struct chan *c = lookup(e, name, 0);

    return c ? c->nsubs : 0;
}

struct msg *chan_next(const struct chan_link *l, struct msgid after)
{
    const struct chan *c = l->chan;
    size_t lo = 0, hi = c->count;

    /* the first message with an id after `after`: binary search */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (msgid_cmp(at(c, mid)->id, after) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->count ? at(c, lo) : NULL;
}

int chan_gap(const struct chan_engine *e, const struct chan_link *l, struct msgid after)
{
    const struct chan *c = l->chan;

    if (msgid_cmp(after, e->boot) < 0)
        return 1; /* before this process: what came between is lost */
    if (msgid_cmp(after, e->last) > 0)
        return 1; /* an id this process never issued */
    if (msgid_cmp(c->dropped, after) > 0)
        return 1;
    return msgid_cmp(e->gone_dropped, after) > 0;
}

struct msgid chan_dropped(const struct chan_link *l)
{
    return l->chan->dropped;
}

struct msg *chan_newest(const struct chan_link *l)
{
    return l->chan && l->chan->count ? at(l->chan, l->chan->count - 1) : NULL;
}

struct msgid chan_oldest(const struct chan_link *l)
{
    struct msgid zero = { 0, 0 };
    return l->chan->count ? at(l->chan, 0)->id : zero;
}

struct msgid chan_last_id(const struct chan_engine *e)
{
    return e->last;
}

void chan_stats_read(const struct chan_engine *e, struct chan_stats *st)
{
    st->channels = e->nchans;
    st->published = e->published;
    st->internal_channels = e->ninternal;
    st->internal_published = e->published_internal;
    st->history_bytes = e->bytes;
    st->history_messages = e->nmsgs;
    st->held_bytes = e->held;
    st->channel_bytes = e->meta;
    st->channels_refused = e->refused;
}

void chan_engine_on_delete(struct chan_engine *e, chan_deleted_fn deleted)
{
    e->deleted = deleted;
}

/* What c holds: its subscribers, messages and their bytes, ids. */
static void describe(const struct chan *c, struct chan_info *out)
{
    struct msgid zero = { 0, 0 };
    size_t i;

    out->subscribers = c->nsubs;
    out->messages = c->count;
    out->bytes = 0;
    for (i = 0; i < c->count; i++)
        out->bytes += at(c, i)->cost;
    out->oldest = c->count ? at(c, 0)->id : zero;
    out->newest = c->count ? at(c, c->count - 1)->id : zero;
    out->dropped = c->dropped;
}

int chan_info(struct chan_engine *e, const char *name, unsigned long long now_ms,
              struct chan_info *out)
{
    struct chan *c;

    chan_expire(e, now_ms);
    c = lookup(e, name, 0);
    if (!c) {
        errno = ENOENT;
        return -1;
    }
    describe(c, out);
    return 0;
}

/* The channel a control names, described in *out: NULL with errno ENOENT
 * (none), EPERM (an internal channel). */
static struct chan *controlled(struct chan_engine *e, const char *name, struct chan_info *out)
{
    struct chan *c;

    if (name[0] == CHAN_INTERNAL) {
        errno = EPERM;
        return NULL;
    }
    c = lookup(e, name, 0);
    if (!c) {
        errno = ENOENT;
        return NULL;
    }
    describe(c, out);
    return c;
}

int chan_purge(struct chan_engine *e, const char *name, struct chan_info *out)
{
    struct chan *c = controlled(e, name, out);

    if (!c)
        return -1;
    while (c->count)
        drop_oldest(e, c); /* each raises c->dropped: a resume from before gets a reset */
    maybe_free(e, c);
    return 0;
}

int chan_delete(struct chan_engine *e, const char *name, struct chan_info *out)
{
    struct chan *c = controlled(e, name, out);
    struct list *n, *next;

    if (!c)
        return -1;
    /* out of the channel first: nothing published from now on reaches them */
    list_for_each(n, next, &c->subs) {
        struct chan_link *l = container_of(n, struct chan_link, node);
        list_remove(&l->node);
        c->nsubs--;
        l->chan = NULL;
        if (e->deleted)
            e->deleted(l, c->name, e->ctx);
    }
    while (c->count)
        drop_oldest(e, c);
    maybe_free(e, c);
    return 0;
}

void chan_gap_all(struct chan_engine *e, struct msgid upto)
{
    size_t i;

    if (msgid_cmp(upto, e->floor) > 0)
        e->floor = upto;
    for (i = 0; i < e->nbuckets; i++) {
        struct chan *c;
        for (c = e->buckets[i]; c; c = c->hnext) {
            struct list *n, *next;
            if (msgid_cmp(upto, c->dropped) > 0)
                c->dropped = upto;
            list_for_each(n, next, &c->subs)
                if (e->resync)
                    e->resync(container_of(n, struct chan_link, node), e->ctx);
        }
    }
}

size_t chan_longest_chain(const struct chan_engine *e)
{
    size_t i, most = 0;

    for (i = 0; i < e->nbuckets; i++) {
        size_t n = 0;
        const struct chan *c;
        for (c = e->buckets[i]; c; c = c->hnext)
            n++;
        if (n > most)
            most = n;
    }
    return most;
}

void chan_engine_destroy(struct chan_engine *e)
{
    size_t i;

    if (!e)
        return;
    e->destroying = 1;
    for (i = 0; i < e->nbuckets; i++) {
        struct chan *c = e->buckets[i], *next;
        for (; c; c = next) {
            next = c->hnext;
            while (c->count)
                drop_oldest(e, c);
            free(c->ring);
            free(c);
        }
    }
    free(e->buckets);
    keyhash_destroy(e->names);
    free(e);
}
