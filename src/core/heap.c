/* heap.c -- a binary min-heap of deadlines, intrusive: nodes live in their owners */
#include "config.h"

#include "core/heap.h"

#include <errno.h>
#include <stdlib.h>

void heap_init(struct heap *h)
{
    h->v = NULL;
    h->len = 0;
    h->cap = 0;
}

void heap_release(struct heap *h)
{
    free(h->v);
    heap_init(h);
}

static void place(struct heap *h, size_t i, struct heap_entry e)
{
    h->v[i] = e;
    e.node->index = i;
}

static void sift_up(struct heap *h, size_t i)
{
    struct heap_entry e = h->v[i];

    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->v[parent].due <= e.due)
            break;
        place(h, i, h->v[parent]);
        i = parent;
    }
    place(h, i, e);
}

static void sift_down(struct heap *h, size_t i)
{
    struct heap_entry e = h->v[i];

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->len)
            break;
        if (c + 1 < h->len && h->v[c + 1].due < h->v[c].due)
            c++;
        if (e.due <= h->v[c].due)
            break;
        place(h, i, h->v[c]);
        i = c;
    }
    place(h, i, e);
}

int heap_push(struct heap *h, struct heap_node *n)
{
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        struct heap_entry *v = realloc(h->v, cap * sizeof *v);
        if (!v) {
            errno = ENOMEM;
            return -1;
        }
        h->v = v;
        h->cap = cap;
    }
    h->v[h->len].due = n->due;
    h->v[h->len].node = n;
    n->index = h->len;
    h->len++;
    sift_up(h, h->len - 1);
    return 0;
}

struct heap_node *heap_min(const struct heap *h)
{
    return h->len ? h->v[0].node : NULL;
}

void heap_remove(struct heap *h, struct heap_node *n)
{
    size_t i = n->index;

    if (i == HEAP_NONE || i >= h->len || h->v[i].node != n)
        return;
    n->index = HEAP_NONE;
    h->len--;
    if (i != h->len) {
        place(h, i, h->v[h->len]);
        heap_update(h, h->v[i].node);
    }
    /* Give memory back once most streams are gone; failure is harmless. */
    if (h->cap > 64 && h->len < h->cap / 4) {
        struct heap_entry *v = realloc(h->v, h->cap / 2 * sizeof *v);
        if (v) {
            h->v = v;
            h->cap /= 2;
        }
    }
}

void heap_update(struct heap *h, struct heap_node *n)
{
    size_t i = n->index;

    h->v[i].due = n->due;
    if (i > 0 && h->v[(i - 1) / 2].due > n->due)
        sift_up(h, i);
    else
        sift_down(h, i);
}
