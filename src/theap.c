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

static void place(struct theap *h, size_t i, struct theap_node *n)
{
    h->v[i] = n;
    n->index = i;
}

static void sift_up(struct theap *h, size_t i)
{
    struct theap_node *n = h->v[i];

    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->v[parent]->due <= n->due)
            break;
        place(h, i, h->v[parent]);
        i = parent;
    }
    place(h, i, n);
}

static void sift_down(struct theap *h, size_t i)
{
    struct theap_node *n = h->v[i];

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->len)
            break;
        if (c + 1 < h->len && h->v[c + 1]->due < h->v[c]->due)
            c++;
        if (n->due <= h->v[c]->due)
            break;
        place(h, i, h->v[c]);
        i = c;
    }
    place(h, i, n);
}

int theap_push(struct theap *h, struct theap_node *n)
{
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        struct theap_node **v = realloc(h->v, cap * sizeof *v);
        if (!v) {
            errno = ENOMEM;
            return -1;
        }
        h->v = v;
        h->cap = cap;
    }
    h->v[h->len] = n;
    n->index = h->len;
    h->len++;
    sift_up(h, h->len - 1);
    return 0;
}

struct theap_node *theap_min(const struct theap *h)
{
    return h->len ? h->v[0] : NULL;
}

void theap_remove(struct theap *h, struct theap_node *n)
{
    size_t i = n->index;

    if (i == THEAP_NONE || i >= h->len || h->v[i] != n)
        return;
    n->index = THEAP_NONE;
    h->len--;
    if (i != h->len) {
        place(h, i, h->v[h->len]);
        theap_update(h, h->v[i]);
    }
    /* Give memory back once most streams are gone; failure is harmless. */
    if (h->cap > 64 && h->len < h->cap / 4) {
        struct theap_node **v = realloc(h->v, h->cap / 2 * sizeof *v);
        if (v) {
            h->v = v;
            h->cap /= 2;
        }
    }
}

void theap_update(struct theap *h, struct theap_node *n)
{
    size_t i = n->index;

    if (i > 0 && h->v[(i - 1) / 2]->due > n->due)
        sift_up(h, i);
    else
        sift_down(h, i);
}
