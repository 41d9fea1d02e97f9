/* list.h -- an intrusive doubly linked list, and container_of: the owner of an embedded member */
#ifndef FCGI_SSE_CORE_LIST_H
#define FCGI_SSE_CORE_LIST_H

#include <stddef.h>

/* The struct that embeds `member` (of type `type`) at p. */
#define container_of(p, type, member) ((type *)(void *)((char *)(p) - offsetof(type, member)))

/* A node of a list, embedded in its owner; a list is a head node, circular:
 * an empty list's head points at itself. A node that is in no list has
 * prev and next NULL (zeroed memory is such a node). */
struct list {
    struct list *prev, *next;
};

static inline void list_init(struct list *head)
{
    head->prev = head->next = head;
}

static inline int list_empty(const struct list *head)
{
    return head->next == head;
}

/* 1 while n is in a list. */
static inline int list_linked(const struct list *n)
{
    return n->next != NULL;
}

static inline void list_insert_after(struct list *at, struct list *n)
{
    n->prev = at;
    n->next = at->next;
    at->next->prev = n;
    at->next = n;
}

/* Adds n first (list_push) or last (list_append). */
static inline void list_push(struct list *head, struct list *n)
{
    list_insert_after(head, n);
}

static inline void list_append(struct list *head, struct list *n)
{
    list_insert_after(head->prev, n);
}

/* Takes n out of its list (a no-op for a node in none). */
static inline void list_remove(struct list *n)
{
    if (!n->next)
        return;
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = NULL;
}

/* The first and last node, or NULL when the list is empty. */
static inline struct list *list_first(const struct list *head)
{
    return head->next == head ? NULL : head->next;
}

static inline struct list *list_last(const struct list *head)
{
    return head->prev == head ? NULL : head->prev;
}

/* For each node n of head, front to back; n may be removed in the body
 * (the next one was read before): `tmp` holds it. */
#define list_for_each(n, tmp, head) \
    for ((n) = (head)->next, (tmp) = (n)->next; (n) != (head); (n) = (tmp), (tmp) = (n)->next)

#endif
