/* theap.h -- a binary min-heap of deadlines, intrusive: nodes live in their owners */
#ifndef FCGI_SSE_THEAP_H
#define FCGI_SSE_THEAP_H

#include <stddef.h>

/* Embed in the owner; recover the owner with container_of-style offset. */
struct theap_node {
    long long due;   /* deadline, CLOCK_MONOTONIC nanoseconds */
    size_t index;    /* position in the heap; THEAP_NONE when not queued */
};

#define THEAP_NONE ((size_t)-1)

/* The key is kept next to its node pointer, so sifting compares within
 * the array (cache-friendly) and only touches a node to update its index. */
struct theap_entry {
    long long due;
    struct theap_node *node;
};

struct theap {
    struct theap_entry *v;
    size_t len;
    size_t cap;
};

void theap_init(struct theap *h);
/* Frees the array, not the nodes. */
void theap_release(struct theap *h);

/* Queues n (not already queued) at n->due. Returns 0, or -1 (ENOMEM). */
int theap_push(struct theap *h, struct theap_node *n);
/* The earliest node, or NULL when empty. */
struct theap_node *theap_min(const struct theap *h);
/* Removes a queued node; a no-op for an unqueued one. */
void theap_remove(struct theap *h, struct theap_node *n);
/* Moves a queued node after its due changed. */
void theap_update(struct theap *h, struct theap_node *n);

#endif
