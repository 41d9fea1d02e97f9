/* theap.c -- a binary min-heap of deadlines, intrusive: nodes live in their owners */
#include "config.h"

#include "theap.h"

#include <errno.h>
#include <stdlib.h>

void theap_init(struct theap *h)
{
    h->v = NULL;
    h->len = 0;
    h->cap = 0;
}

void theap_release(struct theap *h)
{
    free(h->v);
    theap_init(h);
}

static void place(struct theap *h, size_t i, struct theap_entry e)
{
    h->v[i] = e;
    e.node->index = i;
}

static void sift_up(struct theap *h, size_t i)
{
    struct theap_entry e = h->v[i];

    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->v[parent].due <= e.due)
            break;
        place(h, i, h->v[parent]);
        i = parent;
    }
    place(h, i, e);
}

static void sift_down(struct theap *h, size_t i)
{
    struct theap_entry e = h->v[i];

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

int theap_push(struct theap *h, struct theap_node *n)
{
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        struct theap_entry *v = realloc(h->v, cap * sizeof *v);
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

struct theap_node *theap_min(const struct theap *h)
{
    return h->len ? h->v[0].node : NULL;
}

void theap_remove(struct theap *h, struct theap_node *n)
{
    size_t i = n->index;

    if (i == THEAP_NONE || i >= h->len || h->v[i].node != n)
        return;
    n->index = THEAP_NONE;
    h->len--;
    if (i != h->len) {
        place(h, i, h->v[h->len]);
        theap_update(h, h->v[i].node);
    }
    /* Give memory back once most streams are gone; failure is harmless. */
    if (h->cap > 64 && h->len < h->cap / 4) {
        struct theap_entry *v = realloc(h->v, h->cap / 2 * sizeof *v);
        if (v) {
            h->v = v;
            h->cap /= 2;
        }
    }
}

void theap_update(struct theap *h, struct theap_node *n)
{
    size_t i = n->index;

    h->v[i].due = n->due;
    if (i > 0 && h->v[(i - 1) / 2].due > n->due)
        sift_up(h, i);
    else
        sift_down(h, i);
}
