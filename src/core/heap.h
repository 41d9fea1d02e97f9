/* heap.h -- a binary min-heap of deadlines, intrusive: nodes live in their owners */
#ifndef FCGI_SSE_CORE_HEAP_H
#define FCGI_SSE_CORE_HEAP_H

#include <stddef.h>

/* Embed in the owner; recover the owner with container_of-style offset. */
struct heap_node {
    long long due;   /* deadline, CLOCK_MONOTONIC nanoseconds */
    size_t index;    /* position in the heap; HEAP_NONE when not queued */
};

#define HEAP_NONE ((size_t)-1)

/* The key is kept next to its node pointer, so sifting compares within
 * the array (cache-friendly) and only touches a node to update its index. */
struct heap_entry {
    long long due;
    struct heap_node *node;
};

struct heap {
    struct heap_entry *v;
    size_t len;
    size_t cap;
};

void heap_init(struct heap *h);
/* Frees the array, not the nodes. */
void heap_release(struct heap *h);

/* Queues n (not already queued) at n->due. Returns 0, or -1 (ENOMEM). */
int heap_push(struct heap *h, struct heap_node *n);
/* The earliest node, or NULL when empty. */
struct heap_node *heap_min(const struct heap *h);
/* Removes a queued node; a no-op for an unqueued one. */
void heap_remove(struct heap *h, struct heap_node *n);
/* Moves a queued node after its due changed. */
void heap_update(struct heap *h, struct heap_node *n);

#endif
