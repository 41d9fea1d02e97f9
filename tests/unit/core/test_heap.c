/* test_heap.c -- unit tests of heap: the deadline min-heap (push, min, remove, update, release) */
/* Limits of the helpers: due times are drawn from a fixed-seed LCG so every run is the same;
 * a broken remove that never empties the heap stops draining after a million pops. */
#include "config.h"

#include "core/heap.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

static unsigned long long lcg_state;

static unsigned long long lcg(void)
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return lcg_state >> 33;
}

/* Pops everything via heap_min + heap_remove; returns how many, *sorted = nondecreasing,
 * *unqueued = every popped node got index HEAP_NONE. */
static size_t drain(struct heap *h, int *sorted, int *unqueued, long long *last)
{
    struct heap_node *n;
    long long prev = LLONG_MIN;
    size_t count = 0;

    *sorted = 1;
    *unqueued = 1;
    while ((n = heap_min(h)) != NULL) {
        if (n->due < prev)
            *sorted = 0;
        prev = n->due;
        heap_remove(h, n);
        if (n->index != HEAP_NONE)
            *unqueued = 0;
        if (++count > 1000000)
            break; /* a broken remove would loop forever */
    }
    if (last)
        *last = prev;
    return count;
}

/* Sorts long longs (for the median). */
static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;

    return (x > y) - (x < y);
}

/* Fills nodes[0..n) with LCG dues in [0, range) and pushes them all; 1 when every push
 * succeeded and queued its node. */
static int push_random(struct heap *h, struct heap_node *nodes, size_t n, unsigned long range)
{
    size_t i;
    int all = 1;

    for (i = 0; i < n; i++) {
        nodes[i].due = (long long)(lcg() % range);
        nodes[i].index = HEAP_NONE;
        if (heap_push(h, &nodes[i]) != 0 || nodes[i].index == HEAP_NONE)
            all = 0;
    }
    return all;
}

static void test_heap(void)
{
    enum { N = 1000 };
    struct heap h;
    struct heap_node *nodes = calloc(N, sizeof *nodes), *n, lone;
    long long *dues = calloc(N, sizeof *dues);
    char *removed = calloc(N, 1);
    size_t i, count, len_before, mid;
    int all, sorted, unqueued;
    long long min, last;

    if (!nodes || !dues || !removed)
        abort();

    heap_init(&h);
    ok(heap_min(&h) == NULL && h.len == 0, "heap: empty after init, heap_min NULL");

    /* 1000 random nodes, with duplicates and negative dues */
    lcg_state = 2024;
    all = 1;
    min = LLONG_MAX;
    for (i = 0; i < N; i++) {
        nodes[i].due = (long long)(lcg() % 5000) - 1000;
        nodes[i].index = HEAP_NONE;
        if (nodes[i].due < min)
            min = nodes[i].due;
        if (heap_push(&h, &nodes[i]) != 0 || nodes[i].index == HEAP_NONE)
            all = 0;
    }
    ok(all && h.len == N, "heap: 1000 pushes (fixed-seed LCG dues) succeed, every node queued");
    ok(heap_min(&h) && heap_min(&h)->due == min, "heap: heap_min is the minimum (%lld)", min);
    count = drain(&h, &sorted, &unqueued, NULL);
    ok(count == N && sorted, "heap: heap_min + heap_remove pop 1000 nodes in nondecreasing order");
    ok(unqueued, "heap: every popped node has index HEAP_NONE");
    ok(heap_min(&h) == NULL && h.len == 0, "heap: empty after popping all");

    /* remove from the middle: the node of median due, then every third node */
    push_random(&h, nodes, N, 100000);
    for (i = 0; i < N; i++)
        dues[i] = nodes[i].due;
    qsort(dues, N, sizeof *dues, cmp_ll);
    for (mid = 0; mid < N && nodes[mid].due != dues[N / 2]; mid++)
        ;
    heap_remove(&h, &nodes[mid]);
    removed[mid] = 1;
    count = drain(&h, &sorted, &unqueued, NULL);
    ok(nodes[mid].index == HEAP_NONE && count == N - 1 && sorted,
       "heap: after removing the median node, 999 pop in order");

    memset(removed, 0, N);
    push_random(&h, nodes, N, 100000);
    count = 0;
    for (i = 1; i < N; i += 3) {
        heap_remove(&h, &nodes[i]);
        removed[i] = 1;
        count++;
    }
    all = 1;
    for (i = 0; i < N; i++)
        if ((nodes[i].index == HEAP_NONE) != (removed[i] != 0))
            all = 0;
    ok(all && h.len == N - count,
       "heap: %zu removals from anywhere: exactly the removed nodes are unqueued", count);
    {
        int none_removed = 1;
        struct heap_node *m;
        long long prev = LLONG_MIN;
        size_t popped = 0;
        sorted = 1;
        while ((m = heap_min(&h)) != NULL && popped <= N) {
            if (removed[m - nodes])
                none_removed = 0;
            if (m->due < prev)
                sorted = 0;
            prev = m->due;
            heap_remove(&h, m);
            popped++;
        }
        ok(sorted && none_removed && popped == N - count,
           "heap: the rest pops in order, without any removed node (%zu)", popped);
    }

    /* heap_update */
    push_random(&h, nodes, N, 100000);
    nodes[500].due = -1;
    heap_update(&h, &nodes[500]);
    ok(heap_min(&h) == &nodes[500], "heap_update: a node moved earlier than all becomes the minimum");
    nodes[500].due = 1000000;
    heap_update(&h, &nodes[500]);
    ok(heap_min(&h) != &nodes[500] && heap_min(&h)->due < 1000000,
       "heap_update: the minimum moved later is no longer the minimum");
    for (i = 0; i < 300; i++) {
        size_t j = (size_t)(lcg() % N);
        if (j == 500)
            continue;
        nodes[j].due = (long long)(lcg() % 100000);
        heap_update(&h, &nodes[j]);
    }
    min = LLONG_MAX;
    for (i = 0; i < N; i++)
        if (nodes[i].due < min)
            min = nodes[i].due;
    ok(heap_min(&h) && heap_min(&h)->due == min,
       "heap_update: after 300 random changes heap_min is the new minimum");
    count = drain(&h, &sorted, &unqueued, &last);
    ok(count == N && sorted && last == 1000000,
       "heap_update: pops in order, the node moved last comes last");

    /* removing an unqueued node */
    for (i = 0; i < 10; i++) {
        nodes[i].due = (long long)i * 10;
        nodes[i].index = HEAP_NONE;
        heap_push(&h, &nodes[i]);
    }
    lone.due = -100;
    lone.index = HEAP_NONE;
    len_before = h.len;
    heap_remove(&h, &lone);
    ok(h.len == len_before && heap_min(&h) == &nodes[0] && lone.index == HEAP_NONE,
       "heap_remove of a never-queued node: no-op");
    heap_remove(&h, &nodes[3]);
    heap_remove(&h, &nodes[3]);
    ok(h.len == len_before - 1 && nodes[3].index == HEAP_NONE,
       "heap_remove twice: the second is a no-op");
    n = heap_min(&h);
    count = drain(&h, &sorted, &unqueued, &last);
    ok(n == &nodes[0] && count == len_before - 1 && sorted && last == 90,
       "heap: 9 left, in order");

    heap_release(&h);
    ok(h.len == 0 && heap_min(&h) == NULL, "heap_release: empty");
    nodes[0].index = HEAP_NONE;
    ok(heap_push(&h, &nodes[0]) == 0 && heap_min(&h) == &nodes[0],
       "heap: usable again after release");
    heap_release(&h);
    free(removed);
    free(dues);
    free(nodes);
}

int main(void)
{
    test_heap();
    return done_testing();
}
