/* keyhash.c -- a keyed hash of names (SipHash-2-4 under a random key, libcrypto): chains a peer cannot lengthen */
#include "config.h"

#include "core/keyhash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

struct keyhash {
    EVP_MAC_CTX *mac;              /* SipHash */
    unsigned char key[16];
};

struct keyhash *keyhash_create(void)
{
    struct keyhash *k = calloc(1, sizeof *k);
    EVP_MAC *mac;

    if (!k) {
        errno = ENOMEM;
        return NULL;
    }
    mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
    k->mac = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac); /* the context keeps its own reference */
    if (!k->mac || getrandom(k->key, sizeof k->key, 0) != (ssize_t)sizeof k->key) {
        keyhash_destroy(k);
        errno = ENOMEM;
        return NULL;
    }
    return k;
}

void keyhash_destroy(struct keyhash *k)
{
    if (!k)
        return;
    EVP_MAC_CTX_free(k->mac);
    explicit_bzero(k->key, sizeof k->key);
    free(k);
}

uint64_t keyhash(const struct keyhash *k, const void *s, size_t n)
{
    size_t size = 8, outl = 0;
    OSSL_PARAM params[] = { OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
                            OSSL_PARAM_construct_end() };
    unsigned char out[16];
    uint64_t h = 0;

    if (EVP_MAC_init(k->mac, k->key, sizeof k->key, params) != 1 ||
        EVP_MAC_update(k->mac, (const unsigned char *)s, n) != 1 ||
        EVP_MAC_final(k->mac, out, &outl, sizeof out) != 1 || outl != 8)
        return 0; /* cannot happen once the MAC was set up; every name then shares a chain */
    memcpy(&h, out, sizeof h);
    return h;
}
