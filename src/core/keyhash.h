/* keyhash.h -- a keyed hash of names (SipHash-2-4 under a random key, libcrypto): chains a peer cannot lengthen */
#ifndef FCGI_SSE_CORE_KEYHASH_H
#define FCGI_SSE_CORE_KEYHASH_H

#include <stddef.h>
#include <stdint.h>

/* A hash function keyed at random when made: names a peer chooses cannot
 * be made to share one chain, as they can with an unkeyed hash. */
struct keyhash;

/* NULL with errno ENOMEM (or when libcrypto has no SipHash). */
struct keyhash *keyhash_create(void);
void keyhash_destroy(struct keyhash *k);

/* The 64-bit hash of s[0, n) (about 70 ns a name). */
uint64_t keyhash(const struct keyhash *k, const void *s, size_t n);

#endif
