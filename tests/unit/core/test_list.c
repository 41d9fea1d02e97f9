/* test_list.c -- unit tests of list.h: the intrusive list (init, push, append, remove, first,
 * last, for_each with removal) and container_of */
/* Each list is read back both ways (next and prev) as a string of the items' names, so that a
 * link left wrong in either direction fails a check. */
#include "config.h"

#include "core/list.h"

#include <stddef.h>
#include <string.h>

#include "tap.h"

struct item {
    char name;            /* before the node: container_of has an offset to undo */
    int pad[3];
    struct list node;
};

/* The names front to back, then "/" and back to front; at most 30 items. */
static const char *order(const struct list *head)
{
    static char out[64];
    const struct list *n;
    size_t k = 0;

    for (n = head->next; n != head && k < 30; n = n->next)
        out[k++] = container_of(n, struct item, node)->name;
    out[k++] = '/';
    for (n = head->prev; n != head && k < 61; n = n->prev)
        out[k++] = container_of(n, struct item, node)->name;
    out[k] = '\0';
    return out;
}

int main(void)
{
    struct list head, *n, *tmp;
    struct item it[5];
    struct item *got;
    int i, visits;

    memset(it, 0, sizeof it);
    for (i = 0; i < 5; i++)
        it[i].name = (char)('a' + i);

    /* ---- container_of */
    got = container_of(&it[2].node, struct item, node);
    ok(got == &it[2] && offsetof(struct item, node) > 0,
       "container_of: the node's owner, from a member not at offset 0");

    /* ---- empty */
    list_init(&head);
    ok(list_empty(&head) && list_first(&head) == NULL && list_last(&head) == NULL &&
           strcmp(order(&head), "/") == 0,
       "an empty list: empty, no first, no last");
    ok(!list_linked(&it[0].node), "a zeroed node is in no list");

    /* ---- push and append */
    list_append(&head, &it[1].node);
    list_append(&head, &it[2].node);
    list_push(&head, &it[0].node);
    list_append(&head, &it[3].node);
    ok(strcmp(order(&head), "abcd/dcba") == 0, "append b, c, push a, append d: abcd (%s)",
       order(&head));
    ok(!list_empty(&head) && list_first(&head) == &it[0].node && list_last(&head) == &it[3].node,
       "first a, last d");
    ok(list_linked(&it[1].node) && !list_linked(&it[4].node), "linked: b is, e is not");

    /* ---- remove */
    list_remove(&it[1].node);
    ok(strcmp(order(&head), "acd/dca") == 0 && !list_linked(&it[1].node) &&
           it[1].node.prev == NULL && it[1].node.next == NULL,
       "remove from the middle: acd, the node unlinked (%s)", order(&head));
    list_remove(&it[1].node);
    ok(strcmp(order(&head), "acd/dca") == 0, "remove a node in no list: a no-op");
    list_remove(&it[0].node);
    list_remove(&it[3].node);
    ok(strcmp(order(&head), "c/c") == 0 && list_first(&head) == list_last(&head),
       "remove the first and the last: c alone (%s)", order(&head));
    list_remove(&it[2].node);
    ok(list_empty(&head) && strcmp(order(&head), "/") == 0, "remove the last node: empty again");
    list_insert_after(&head, &it[4].node);
    list_insert_after(&it[4].node, &it[0].node);
    ok(strcmp(order(&head), "ea/ae") == 0, "insert_after the head, then after e: ea (%s)",
       order(&head));
    list_remove(&it[4].node);
    list_remove(&it[0].node);

    /* ---- for_each, removing while walking */
    for (i = 0; i < 5; i++)
        list_append(&head, &it[i].node);
    visits = 0;
    list_for_each(n, tmp, &head) {
        struct item *x = container_of(n, struct item, node);
        visits++;
        if (x->name == 'b' || x->name == 'c' || x->name == 'e')
            list_remove(n);
    }
    ok(visits == 5 && strcmp(order(&head), "ad/da") == 0,
       "for_each visits all 5 while b, c and e are removed: ad left (%s)", order(&head));
    visits = 0;
    list_for_each(n, tmp, &head) {
        list_remove(n);
        visits++;
    }
    ok(visits == 2 && list_empty(&head), "for_each removing every node: empty");
    visits = 0;
    list_for_each(n, tmp, &head)
        visits++;
    ok(visits == 0, "for_each over an empty list: no visit");
    return done_testing();
}
