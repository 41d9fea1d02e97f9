/* mercure_index.c -- which subscribers an update reaches: exact topics by a keyed hash, each distinct pattern evaluated once per update topic, and `*` */
#include "config.h"

#include "mercurehub/mercure_int.h"
#include "core/clock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A subscriber's matcher in the index. Exact ones chain in a bucket; the
 * others hang from their pattern (a subscriber's matchers are each at one
 * place). */
struct mercure_entry {
    struct mercure_sub *sub;
    const struct sel_matcher *m;
    struct mercure_entry *next;         /* exact: the bucket's chain */
    uint64_t hash;
    struct list node;                   /* `*`: in any; patterns: in their pattern's */
    struct mercure_pattern *pattern;
};

/* A pattern (URL pattern or URI template) that subscribers share: it is
 * evaluated once per update topic, whoever holds it. */
struct mercure_pattern {
    struct list node;                   /* in the index's patterns */
    struct list entries;
    const struct sel_matcher *m;        /* the first holder's (the same type and text) */
    unsigned long refs;
};

int mercure_index_init(struct mercure_index *x, struct chan_engine *e)
{
    memset(x, 0, sizeof *x);
    list_init(&x->patterns);
    list_init(&x->any);
    x->nbuckets = 256;
    x->buckets = calloc(x->nbuckets, sizeof *x->buckets);
    x->hash = keyhash_create();
    if (!x->buckets || !x->hash) {
        free(x->buckets);
        keyhash_destroy(x->hash);
        errno = ENOMEM;
        return -1;
    }
    x->link.deliver = NULL; /* set by the hub, with its context */
    (void)e;
    return 0;
}

void mercure_index_fini(struct mercure_index *x, struct chan_engine *e)
{
    if (x->link.chan)
        chan_unsubscribe(e, &x->link);
    free(x->buckets);
    keyhash_destroy(x->hash);
    memset(x, 0, sizeof *x);
}

static void grow(struct mercure_index *x)
{
    size_t nb = x->nbuckets * 2, i;
    struct mercure_entry **b = calloc(nb, sizeof *b);

    if (!b)
        return; /* longer chains, still correct */
    for (i = 0; i < x->nbuckets; i++) {
        struct mercure_entry *en = x->buckets[i], *next;
        for (; en; en = next) {
            next = en->next;
            en->next = b[en->hash & (nb - 1)];
            b[en->hash & (nb - 1)] = en;
        }
    }
    free(x->buckets);
    x->buckets = b;
    x->nbuckets = nb;
}

/* The pattern of type and text m, made when missing (NULL: ENOMEM). */
static struct mercure_pattern *pattern_of(struct mercure_index *x, const struct sel_matcher *m)
{
    struct list *n, *next;
    struct mercure_pattern *p;

    list_for_each(n, next, &x->patterns) {
        p = container_of(n, struct mercure_pattern, node);
        if (p->m->type == m->type && p->m->len == m->len && memcmp(p->m->text, m->text, m->len) == 0)
            return p;
    }
    p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->m = m;
    list_init(&p->entries);
    list_append(&x->patterns, &p->node);
    return p;
}

/* 1 when m matches exactly its own text and nothing else: an exact matcher,
 * or a legacy selector that is no template, or one without an expression in
 * ASCII (it expands to itself only; a non-ASCII literal would also match its
 * percent-encoded form). Those are found by hash, not evaluated. */
static int matches_itself(const struct sel_matcher *m)
{
    size_t i;

    if (m->type == SEL_EXACT || (m->type == SEL_URITEMPLATE && !m->ut))
        return 1;
    if (m->type != SEL_URITEMPLATE)
        return 0;
    for (i = 0; i < m->len; i++)
        if (m->text[i] == '{' || (unsigned char)m->text[i] >= 0x80)
            return 0;
    return 1;
}

int mercure_index_add(struct mercure_index *x, struct mercure_sub *u)
{
    size_t i;

    u->entries = calloc(u->sel.n ? u->sel.n : 1, sizeof *u->entries);
    if (!u->entries)
        return -1;
    for (i = 0; i < u->sel.n; i++) {
        struct mercure_entry *en = &u->entries[i];
        const struct sel_matcher *m = &u->sel.m[i];
        en->sub = u;
        en->m = m;
        if (m->type == SEL_ANY) {
            list_append(&x->any, &en->node);
        } else if (matches_itself(m)) {
            struct mercure_entry **b;
            en->hash = keyhash(x->hash, m->text, m->len);
            b = &x->buckets[en->hash & (x->nbuckets - 1)];
            en->next = *b;
            *b = en;
            if (++x->nexact > x->nbuckets)
                grow(x);
        } else {
            struct mercure_pattern *p = pattern_of(x, m);
            if (!p) {
                u->indexed = 1;
                mercure_index_remove(x, u);
                return -1;
            }
            en->pattern = p;
            p->refs++;
            list_append(&p->entries, &en->node);
        }
    }
    u->indexed = 1;
    return 0;
}

void mercure_index_remove(struct mercure_index *x, struct mercure_sub *u)
{
    size_t i;

    if (!u->indexed || !u->entries)
        return;
    for (i = 0; i < u->sel.n; i++) {
        struct mercure_entry *en = &u->entries[i];
        if (!en->sub)
            continue; /* not placed (index_add stopped before it) */
        if (en->m->type == SEL_ANY) {
            list_remove(&en->node);
        } else if (!en->pattern) {
            struct mercure_entry **p = &x->buckets[en->hash & (x->nbuckets - 1)];
            while (*p && *p != en)
                p = &(*p)->next;
            if (*p) {
                *p = en->next;
                x->nexact--;
            }
        } else {
            struct mercure_pattern *pt = en->pattern;
            list_remove(&en->node);
            if (pt->m == en->m) {
                /* the pattern borrowed this subscriber's matcher: lend it another's */
                struct list *f = list_first(&pt->entries);
                if (f)
                    pt->m = container_of(f, struct mercure_entry, node)->m;
            }
            if (--pt->refs == 0) {
                list_remove(&pt->node);
                free(pt);
            }
        }
    }
    free(u->entries);
    u->entries = NULL;
    u->indexed = 0;
}

/* Offers m to u once per update. */
static void offer(struct mercure_index *x, struct mercure_sub *u, struct msg *m)
{
    if (u->mark == x->mark || !u->s)
        return;
    u->mark = x->mark;
    sub_offer(u->s, m);
}

/* The engine's deliver for the hub's link: an update of MERCURE_CHANNEL,
 * offered to each subscriber one of whose matchers one of its topics
 * matches (the subscription source then checks it may have it). */
static void deliver(struct chan_link *l, struct msg *m, void *ctx)
{
    struct mercure_index *x = ctx;
    const struct mercure_meta *mm = m->meta;
    struct list *n, *next;
    size_t i;

    (void)l;
    if (!mm)
        return;
    x->mark++;
    list_for_each(n, next, &x->any)
        offer(x, container_of(n, struct mercure_entry, node)->sub, m);
    for (i = 0; i < mm->ntopics; i++) {
        uint64_t h = keyhash(x->hash, mm->topics[i], mm->lens[i]);
        struct mercure_entry *en = x->buckets[h & (x->nbuckets - 1)], *enext;
        struct sel_topic topic;
        struct list *pn, *pnext;

        for (; en; en = enext) {
            enext = en->next;
            if (en->hash == h && en->m->len == mm->lens[i] &&
                memcmp(en->m->text, mm->topics[i], mm->lens[i]) == 0)
                offer(x, en->sub, m);
        }
        /* each pattern once for this topic; the topic parsed once for them all */
        sel_topic_init(&topic, mm->topics[i], mm->lens[i], x->hub_url);
        list_for_each(pn, pnext, &x->patterns) {
            struct mercure_pattern *p = container_of(pn, struct mercure_pattern, node);
            struct list *en2, *en2next;
            if (!sel_match(p->m, &topic))
                continue;
            list_for_each(en2, en2next, &p->entries)
                offer(x, container_of(en2, struct mercure_entry, node)->sub, m);
        }
        sel_topic_free(&topic);
    }
}

int mercure_index_start(struct mercure_index *x, struct chan_engine *e, const char *hub_url)
{
    x->hub_url = hub_url;
    x->link.deliver = deliver;
    x->link.deliver_ctx = x;
    return chan_subscribe(e, MERCURE_CHANNEL, &x->link);
}
