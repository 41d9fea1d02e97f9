/* chan.c -- channels: ids, each channel's history within bounds, and who is subscribed */
#include "config.h"

#include "chan.h"
#include "sse.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct chan {
    struct chan *hnext;            /* the engine's hash chain */
    struct msg **ring;             /* history, oldest at head */
    size_t head, count, cap;
    struct msgid dropped;          /* newest id dropped from the history */
    struct msgid last;             /* newest id stored: the next must be after it */
    struct chan_link *subs;        /* subscribers */
    unsigned long nsubs;
    size_t namelen;
    char name[];
};

struct chan_engine {
    struct chan **buckets;
    size_t nbuckets, nchans;
    struct msg *oldest, *newest;   /* every retained message, in id order */
    unsigned long long bytes;      /* history: messages, rings, channels */
    struct chan_limits lim;
    struct msgid last;             /* the last id issued */
    struct msgid boot;             /* ids of earlier runs are at most this */
    struct msgid gone_dropped;     /* newest id dropped from a channel since freed */
    unsigned long published;
    chan_deliver_fn deliver;
    void *ctx;
};

int chan_name_ok(const char *name, size_t max)
{
    size_t n = 0;

    for (; name[n]; n++) {
        char c = name[n];
        if (n >= max || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' || c == '-'))
            return 0;
    }
    return n > 0;
}

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

struct chan_engine *chan_engine_create(const struct chan_limits *lim, unsigned long long now_ms,
                                       chan_deliver_fn deliver, void *ctx)
{
    struct chan_engine *e = calloc(1, sizeof *e);

    if (!e)
        return NULL;
    e->nbuckets = 64;
    e->buckets = calloc(e->nbuckets, sizeof *e->buckets);
    if (!e->buckets) {
        free(e);
        return NULL;
    }
    e->lim = *lim;
    if (e->lim.history < 1)
        e->lim.history = 1;
    e->boot.ms = now_ms;
    e->boot.seq = 0;
    e->last = e->boot;
    e->deliver = deliver;
    e->ctx = ctx;
    return e;
}

void msg_ref(struct msg *m)
{
    m->refs++;
}

void msg_unref(struct msg *m)
{
    if (m && --m->refs == 0)
        free(m);
}

static struct chan **slot(struct chan_engine *e, const char *name, size_t n)
{
    struct chan **p = &e->buckets[hash(name, n) & (e->nbuckets - 1)];

    while (*p && !((*p)->namelen == n && memcmp((*p)->name, name, n) == 0))
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
            struct chan **p = &b[hash(c->name, c->namelen) & (nb - 1)];
            next = c->hnext;
            c->hnext = *p;
            *p = c;
        }
    }
    free(e->buckets);
    e->buckets = b;
    e->nbuckets = nb;
}

static struct chan *lookup(struct chan_engine *e, const char *name, int create)
{
    size_t n = strlen(name);
    struct chan **p = slot(e, name, n), *c;

    if (*p || !create)
        return *p;
    c = calloc(1, sizeof *c + n + 1);
    if (!c)
        return NULL;
    memcpy(c->name, name, n + 1);
    c->namelen = n;
    *p = c;
    e->nchans++;
    e->bytes += sizeof *c + n + 1;
    if (e->nchans > e->nbuckets)
        grow_table(e);
    return c;
}

/* Frees c once it has neither history nor subscribers. */
static void maybe_free(struct chan_engine *e, struct chan *c)
{
    struct chan **p;

    if (c->count || c->subs)
        return;
    p = slot(e, c->name, c->namelen);
    *p = c->hnext;
    e->nchans--;
    e->bytes -= sizeof *c + c->namelen + 1 + c->cap * sizeof *c->ring;
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
    if (m->older)
        m->older->newer = m->newer;
    else
        e->oldest = m->newer;
    if (m->newer)
        m->newer->older = m->older;
    else
        e->newest = m->older;
    if (msgid_cmp(m->id, c->dropped) > 0)
        c->dropped = m->id;
    e->bytes -= sizeof *m + m->len;
    msg_unref(m);
}

/* Makes room for one more message in c's ring. */
static int ring_room(struct chan_engine *e, struct chan *c)
{
    size_t cap, i;
    struct msg **r;

    if (c->count < c->cap)
        return 0;
    cap = c->cap ? c->cap * 2 : 4;
    if (cap > e->lim.history)
        cap = e->lim.history;
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
    return e->oldest ? e->oldest->t_ms + e->lim.ttl_ms + 1 : 0;
}

void chan_expire(struct chan_engine *e, unsigned long long now_ms)
{
    while (e->oldest && e->oldest->t_ms + e->lim.ttl_ms < now_ms) {
        struct chan *c = e->oldest->chan;
        drop_oldest(e, c);
        maybe_free(e, c);
    }
}

/* The bytes of the event: id, event, data lines, blank line (sse_encode). */
static size_t wire_size(size_t idlen, const char *type, const char *data, size_t len)
{
    size_t lines = 1, i;

    for (i = 0; i < len; i++)
        if (data[i] == '\n' || (data[i] == '\r' && !(i + 1 < len && data[i + 1] == '\n')))
            lines++;
    return 4 + idlen + 1 + (type ? 7 + strlen(type) + 1 : 0) + len + lines * 7 + 1;
}

struct msg *msg_create(struct msgid id, const char *type, const char *data, size_t len)
{
    char idstr[MSGID_STR_MAX];
    struct sse_event ev;
    struct msg *m;
    size_t cap;
    ssize_t n;

    msgid_format(idstr, id);
    cap = wire_size(strlen(idstr), type, data, len);
    m = malloc(sizeof *m + cap);
    if (!m)
        return NULL;
    memset(m, 0, offsetof(struct msg, wire));
    ev.id = idstr;
    ev.event = type;
    ev.data = data;
    ev.data_len = len;
    n = sse_encode(m->wire, cap, &ev);
    if (n < 0) {
        free(m);
        errno = EINVAL;
        return NULL;
    }
    m->id = id;
    m->len = (size_t)n;
    m->refs = 1;
    return m;
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
        errno = given ? ENOENT : ENOMEM;
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
    m = msg_create(id, type, data, len);
    if (!m) {
        maybe_free(e, c);
        return NULL;
    }
    if (msgid_cmp(id, e->last) > 0)
        e->last = id;
    c->last = id;
    m->chan = c;
    m->t_ms = now_ms;
    m->newer = NULL;
    m->older = e->newest;
    if (e->newest)
        e->newest->newer = m;
    else
        e->oldest = m;
    e->newest = m;
    c->ring[(c->head + c->count) % c->cap] = m;
    c->count++;
    e->bytes += sizeof *m + m->len;
    e->published++;
    /* the bound on all history: oldest first, whatever its channel (the
     * newest message stays: it is being delivered) */
    while (e->bytes > e->lim.bytes_max && e->oldest && e->oldest != m) {
        struct chan *oc = e->oldest->chan;
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
    struct chan_link *l, *next;

    /* Matching a message to its subscribers: exact channel names. This
     * loop is the one place to change for other selectors (Mercure's URI
     * templates). */
    for (l = m->chan->subs; l; l = next) {
        next = l->next;
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
    l->prev = NULL;
    l->next = c->subs;
    if (c->subs)
        c->subs->prev = l;
    c->subs = l;
    c->nsubs++;
    return 0;
}

void chan_unsubscribe(struct chan_engine *e, struct chan_link *l)
{
    struct chan *c = l->chan;

    if (!c)
        return;
    if (l->prev)
        l->prev->next = l->next;
    else
        c->subs = l->next;
    if (l->next)
        l->next->prev = l->prev;
    c->nsubs--;
    l->chan = NULL;
    l->prev = l->next = NULL;
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
    st->history_bytes = e->bytes;
}

void chan_engine_destroy(struct chan_engine *e)
{
    size_t i;

    if (!e)
        return;
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
    free(e);
}
