/* rmerge.c -- entries read from several Redis streams put in one id order, up to what all of them cover (pure) */
#include "config.h"

#include "rmerge.h"

#include <stdlib.h>

static int by_id(const void *a, const void *b)
{
    return msgid_cmp(((const struct rmerge_item *)a)->id, ((const struct rmerge_item *)b)->id);
}

size_t rmerge_order(struct rmerge_item *v, size_t n, const int *full,
                    const struct msgid *last, unsigned nstreams, const struct msgid *cap)
{
    struct msgid bound = { 0, 0 };
    int bounded = 0;
    unsigned i;
    size_t k = 0;

    if (n > 1)
        qsort(v, n, sizeof *v, by_id);
    if (cap) {
        bound = *cap;
        bounded = 1;
    }
    for (i = 0; i < nstreams; i++) {
        if (full[i] && (!bounded || msgid_cmp(last[i], bound) < 0)) {
            bound = last[i];
            bounded = 1;
        }
    }
    if (!bounded)
        return n;
    while (k < n && msgid_cmp(v[k].id, bound) <= 0)
        k++;
    return k;
}
