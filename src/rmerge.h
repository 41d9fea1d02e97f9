/* rmerge.h -- entries read from several Redis streams put in one id order, up to what all of them cover (pure) */
#ifndef FCGI_SSE_RMERGE_H
#define FCGI_SSE_RMERGE_H

#include <stddef.h>

#include "msgid.h"

/* One entry of one stream's reply. */
struct rmerge_item {
    struct msgid id;
    unsigned stream;          /* which stream of the read */
    void *p;                  /* the caller's */
};

/* A read that asks each stream for at most COUNT entries after some id
 * gets, for a stream that returned COUNT (full[i] nonzero), only a
 * prefix of what it has: its entries after the last one returned may be
 * older than what other streams returned. Orders v[0, n) by id and
 * returns how many come first that are safe to take in that order: all
 * of them when no stream is full, else those up to the smallest last id
 * among the full streams (`last[i]`: stream i's last id returned), and
 * up to *cap when cap is not NULL (a stream the read did not cover may
 * hold entries after cap: those of the others after cap must wait for
 * it). The rest must be read again. Ids are distinct across streams. */
size_t rmerge_order(struct rmerge_item *v, size_t n, const int *full,
                    const struct msgid *last, unsigned nstreams, const struct msgid *cap);

#endif
