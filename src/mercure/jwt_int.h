/* jwt_int.h -- what jwt.c and jwt_key.c share: a key's parts and its signature check */
#ifndef FCGI_SSE_MERCURE_JWT_INT_H
#define FCGI_SSE_MERCURE_JWT_INT_H

#include <stddef.h>

#include <openssl/evp.h>

#include "mercure/jwt.h"

struct jwt_key {
    enum jwt_alg alg;
    EVP_PKEY *pkey;          /* RS256, ES256, EdDSA */
    unsigned char *secret;   /* HS*: the secret's bytes */
    size_t secretlen;
    char *issuer;            /* NULL: any issuer */
    char *kid;               /* NULL: any kid */
};

/* 1 when sig (siglen bytes, as the JWS carries it) signs msg with k under k's algorithm;
 * 0 when it does not (a wrong length included); -1 when libcrypto fails. */
int jwt_key_check(const struct jwt_key *k, const unsigned char *msg, size_t msglen,
                  const unsigned char *sig, size_t siglen);

#endif
