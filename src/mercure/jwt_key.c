/* jwt_key.c -- Mercure token keys: a secret or a PEM public key, each bound to one algorithm, and their signature checks (libcrypto) */
#include "config.h"

#include "mercure/jwt_int.h"
#include "core/secretfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* RFC 7518 3.3: RSA keys of 2048 bits or more. */
#define JWT_RSA_MIN_BITS 2048

static const struct {
    enum jwt_alg alg;
    const char *name;
} jwt_algs[] = {
    { JWT_HS256, "HS256" }, { JWT_HS384, "HS384" }, { JWT_HS512, "HS512" },
    { JWT_RS256, "RS256" }, { JWT_ES256, "ES256" }, { JWT_EDDSA, "EdDSA" },
};

const char *jwt_alg_name(enum jwt_alg alg)
{
    size_t i;

    for (i = 0; i < sizeof jwt_algs / sizeof jwt_algs[0]; i++)
        if (jwt_algs[i].alg == alg)
            return jwt_algs[i].name;
    return "?";
}

enum jwt_alg jwt_alg_from_name(const char *name)
{
    size_t i;

    if (!name)
        return JWT_ALG_INVALID;
    for (i = 0; i < sizeof jwt_algs / sizeof jwt_algs[0]; i++)
        if (strcmp(jwt_algs[i].name, name) == 0)
            return jwt_algs[i].alg;
    return JWT_ALG_INVALID;
}

/* The hash of an HMAC algorithm, and its size (the shortest secret RFC 7518 3.2 allows). */
static const EVP_MD *jwt_hmac_md(enum jwt_alg alg, size_t *size)
{
    switch (alg) {
    case JWT_HS256: *size = 32; return EVP_sha256();
    case JWT_HS384: *size = 48; return EVP_sha384();
    case JWT_HS512: *size = 64; return EVP_sha512();
    default: *size = 0; return NULL;
    }
}

void jwt_key_free(struct jwt_key *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey);
    if (k->secret) {
        OPENSSL_cleanse(k->secret, k->secretlen);
        free(k->secret);
    }
    free(k->issuer);
    free(k->kid);
    free(k);
}

static int jwt_set_str(char **dst, const char *s)
{
    char *c = NULL;

    if (s && !(c = strdup(s)))
        return -1;
    free(*dst);
    *dst = c;
    return 0;
}

int jwt_key_set_issuer(struct jwt_key *k, const char *iss)
{
    return jwt_set_str(&k->issuer, iss);
}

int jwt_key_set_kid(struct jwt_key *k, const char *kid)
{
    return jwt_set_str(&k->kid, kid);
}

enum jwt_alg jwt_key_alg(const struct jwt_key *k)
{
    return k ? k->alg : JWT_ALG_INVALID;
}

const char *jwt_key_issuer(const struct jwt_key *k)
{
    return k ? k->issuer : NULL;
}

/* The algorithm asked for: *alg gets it (JWT_ALG_INVALID when name is NULL: infer it).
 * 0, or -1 with err set. */
static int jwt_wanted_alg(const char *name, enum jwt_alg *alg, char *err, size_t errlen)
{
    *alg = JWT_ALG_INVALID;
    if (!name)
        return 0;
    *alg = jwt_alg_from_name(name);
    if (*alg != JWT_ALG_INVALID)
        return 0;
    if (strcmp(name, "none") == 0)
        snprintf(err, errlen, "alg none is never accepted: a key needs a signature algorithm");
    else
        snprintf(err, errlen, "unknown alg (HS256, HS384, HS512, RS256, ES256 or EdDSA)");
    return -1;
}

/* A secret: the first line of (buf, len) without its line end, nothing after it. */
static struct jwt_key *jwt_secret_key(const char *buf, size_t len, enum jwt_alg alg, char *err,
                                      size_t errlen)
{
    const char *nl = memchr(buf, '\n', len);
    size_t slen = nl ? (size_t)(nl - buf) : len, need;
    struct jwt_key *k;

    if (alg == JWT_ALG_INVALID)
        alg = JWT_HS256;
    if (!jwt_hmac_md(alg, &need)) {
        snprintf(err, errlen, "%s needs a PEM public key, and this file holds a secret",
                 jwt_alg_name(alg));
        return NULL;
    }
    if (memchr(buf, '\0', len)) {
        snprintf(err, errlen, "holds a NUL byte: a secret is one line of text");
        return NULL;
    }
    if (nl && (size_t)(nl - buf) + 1 < len) {
        snprintf(err, errlen, "holds more than one line: a secret is the file's only line");
        return NULL;
    }
    if (slen > 0 && buf[slen - 1] == '\r')
        slen--;
    if (slen < need) {
        snprintf(err, errlen, "%s needs a secret of at least %zu bytes (RFC 7518 3.2), this one "
                 "has %zu: make one with head -c %zu /dev/urandom | base64 -w0",
                 jwt_alg_name(alg), need, slen, need);
        return NULL;
    }
    k = calloc(1, sizeof *k);
    if (!k || !(k->secret = malloc(slen))) {
        free(k);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(k->secret, buf, slen);
    k->secretlen = slen;
    k->alg = alg;
    return k;
}

/* The public key of one PEM block's DER (name is the block's label). NULL with err set. */
static EVP_PKEY *jwt_pem_pkey(const char *name, const unsigned char *der, long dlen, char *err,
                              size_t errlen)
{
    const unsigned char *p = der;
    EVP_PKEY *pkey = NULL;

    if (strcmp(name, "PUBLIC KEY") == 0) {
        pkey = d2i_PUBKEY(NULL, &p, dlen);
    } else if (strcmp(name, "RSA PUBLIC KEY") == 0) {
        pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, dlen);
    } else if (strcmp(name, "CERTIFICATE") == 0) {
        X509 *x = d2i_X509(NULL, &p, dlen);

        if (x)
            pkey = X509_get_pubkey(x);
        X509_free(x);
    } else if (strstr(name, "PRIVATE KEY")) {
        snprintf(err, errlen, "holds a private key: give the hub the public key only "
                 "(openssl pkey -pubout)");
        return NULL;
    } else {
        snprintf(err, errlen, "holds a PEM block that is no public key nor certificate");
        return NULL;
    }
    if (pkey && p != der + dlen) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    if (!pkey)
        snprintf(err, errlen, "its PEM %s cannot be decoded", name);
    return pkey;
}

/* The algorithm pkey fits: RS256 (RSA, 2048 bits or more), ES256 (EC P-256) or EdDSA
 * (Ed25519); JWT_ALG_INVALID with err set for any other key. */
static enum jwt_alg jwt_pkey_alg(EVP_PKEY *pkey, char *err, size_t errlen)
{
    char group[64];
    size_t glen = 0;

    if (EVP_PKEY_is_a(pkey, "RSA")) {
        if (EVP_PKEY_get_bits(pkey) < JWT_RSA_MIN_BITS) {
            snprintf(err, errlen, "an RSA key of %d bits: RS256 needs %d or more (RFC 7518 3.3)",
                     EVP_PKEY_get_bits(pkey), JWT_RSA_MIN_BITS);
            return JWT_ALG_INVALID;
        }
        return JWT_RS256;
    }
    if (EVP_PKEY_is_a(pkey, "EC")) {
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                           &glen) != 1 ||
            strcmp(group, SN_X9_62_prime256v1) != 0) {
            snprintf(err, errlen, "an EC key on another curve than P-256: ES256 needs P-256");
            return JWT_ALG_INVALID;
        }
        return JWT_ES256;
    }
    if (EVP_PKEY_is_a(pkey, "ED25519"))
        return JWT_EDDSA;
    snprintf(err, errlen, "a public key of a type no accepted alg uses (RSA, EC P-256, Ed25519)");
    return JWT_ALG_INVALID;
}

/* The one PEM block of (buf, len) as a public key; NULL with err set. */
static EVP_PKEY *jwt_pem_read(const char *buf, size_t len, char *err, size_t errlen)
{
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    char *name = NULL, *hdr = NULL, *name2 = NULL, *hdr2 = NULL;
    unsigned char *data = NULL, *data2 = NULL;
    long dlen = 0, dlen2 = 0;
    EVP_PKEY *pkey = NULL;

    if (!bio) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (PEM_read_bio(bio, &name, &hdr, &data, &dlen) != 1) {
        snprintf(err, errlen, "holds \"-----BEGIN \" but no PEM block that decodes");
    } else if (hdr && *hdr) {
        snprintf(err, errlen, "its PEM block has headers (encrypted?): a public key has none");
    } else if (PEM_read_bio(bio, &name2, &hdr2, &data2, &dlen2) == 1) {
        snprintf(err, errlen, "holds more than one PEM block: one key a file");
    } else {
        pkey = jwt_pem_pkey(name, data, dlen, err, errlen);
    }
    OPENSSL_free(name);
    OPENSSL_free(hdr);
    OPENSSL_free(data);
    OPENSSL_free(name2);
    OPENSSL_free(hdr2);
    OPENSSL_free(data2);
    BIO_free(bio);
    ERR_clear_error();
    return pkey;
}

/* A PEM public key bound to alg (JWT_ALG_INVALID: the one it fits). */
static struct jwt_key *jwt_pem_key(const char *buf, size_t len, enum jwt_alg alg, char *err,
                                   size_t errlen)
{
    EVP_PKEY *pkey;
    enum jwt_alg fits;
    struct jwt_key *k;
    size_t dummy;

    if (jwt_hmac_md(alg, &dummy)) {
        snprintf(err, errlen, "%s needs a secret, and this file holds a PEM block: an HMAC "
                 "secret is never a public key", jwt_alg_name(alg));
        return NULL;
    }
    if (len > INT_MAX || !(pkey = jwt_pem_read(buf, len, err, errlen)))
        return NULL;
    fits = jwt_pkey_alg(pkey, err, errlen);
    if (fits == JWT_ALG_INVALID || (alg != JWT_ALG_INVALID && alg != fits)) {
        if (fits != JWT_ALG_INVALID)
            snprintf(err, errlen, "%s does not fit this key, which takes %s", jwt_alg_name(alg),
                     jwt_alg_name(fits));
        EVP_PKEY_free(pkey);
        return NULL;
    }
    k = calloc(1, sizeof *k);
    if (!k) {
        EVP_PKEY_free(pkey);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    k->pkey = pkey;
    k->alg = fits;
    return k;
}

struct jwt_key *jwt_key_parse(const void *bytes, size_t len, const char *alg, char *err,
                              size_t errlen)
{
    static const char begin[] = "-----BEGIN ";
    enum jwt_alg want;

    if (errlen)
        err[0] = '\0';
    if (jwt_wanted_alg(alg, &want, err, errlen) < 0)
        return NULL;
    if (!bytes || len == 0) {
        snprintf(err, errlen, "is empty: a key file holds a secret or a PEM public key");
        return NULL;
    }
    if (len > JWT_KEY_FILE_MAX) {
        snprintf(err, errlen, "larger than %d bytes: not a key", JWT_KEY_FILE_MAX);
        return NULL;
    }
    if (memmem(bytes, len, begin, sizeof begin - 1))
        return jwt_pem_key(bytes, len, want, err, errlen);
    return jwt_secret_key(bytes, len, want, err, errlen);
}

struct jwt_key *jwt_key_load(const char *path, const char *alg, char *err, size_t errlen)
{
    struct secretfile f;
    struct jwt_key *k;

    if (secretfile_read(&f, path, JWT_KEY_FILE_MAX, "replace the key", err, errlen) < 0)
        return NULL;
    if (f.risk && f.severe) {
        snprintf(err, errlen, "%s", f.risk);
        secretfile_free(&f);
        return NULL;
    }
    k = jwt_key_parse(f.buf, f.len, alg, err, errlen);
    if (k && k->secret && f.others_read)
        snprintf(err, errlen, "a secret readable by others than its owner and group: "
                 "chmod o-r it");
    secretfile_free(&f);
    return k;
}

/* HMAC of msg under k's secret, compared in constant time with sig. */
static int jwt_check_hmac(const struct jwt_key *k, const unsigned char *msg, size_t msglen,
                          const unsigned char *sig, size_t siglen)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t size;
    const EVP_MD *h = jwt_hmac_md(k->alg, &size);
    int same;

    if (!h || siglen != size)
        return 0;
    if (k->secretlen > INT_MAX ||
        !HMAC(h, k->secret, (int)k->secretlen, msg, msglen, md, &mdlen) || mdlen != size)
        return -1;
    same = CRYPTO_memcmp(md, sig, size) == 0;
    OPENSSL_cleanse(md, sizeof md);
    return same;
}

/* ES256's signature is R || S, 32 bytes each (RFC 7518 3.4); libcrypto takes DER.
 * The DER's length into *der (freed by the caller with OPENSSL_free), or -1. */
static int jwt_es256_der(const unsigned char *sig, unsigned char **der)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    int len = -1;

    if (es && r && s && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL; /* owned by es now */
        *der = NULL;
        len = i2d_ECDSA_SIG(es, der);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return len;
}

/* RS256, ES256 or EdDSA: EVP_DigestVerify with the key's digest (none for Ed25519). */
static int jwt_check_pkey(const struct jwt_key *k, const unsigned char *msg, size_t msglen,
                          const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *ctx;
    unsigned char *der = NULL;
    const EVP_MD *md = k->alg == JWT_EDDSA ? NULL : EVP_sha256();
    int r;

    if (k->alg == JWT_RS256 && siglen != (size_t)EVP_PKEY_get_size(k->pkey))
        return 0;
    if ((k->alg == JWT_ES256 || k->alg == JWT_EDDSA) && siglen != 64)
        return 0;
    if (k->alg == JWT_ES256) {
        int dlen = jwt_es256_der(sig, &der);

        if (dlen <= 0)
            return -1;
        sig = der;
        siglen = (size_t)dlen;
    }
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestVerifyInit(ctx, NULL, md, NULL, k->pkey) != 1)
        r = -1;
    else /* 1 verified; 0 did not; below 0 failed, a malformed signature included */
        r = EVP_DigestVerify(ctx, sig, siglen, msg, msglen) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    ERR_clear_error();
    return r;
}

int jwt_key_check(const struct jwt_key *k, const unsigned char *msg, size_t msglen,
                  const unsigned char *sig, size_t siglen)
{
    if (k->secret)
        return jwt_check_hmac(k, msg, msglen, sig, siglen);
    if (k->pkey)
        return jwt_check_pkey(k, msg, msglen, sig, siglen);
    return -1;
}
