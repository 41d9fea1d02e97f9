/* jwt.h -- Mercure access tokens: JWS compact serialization verified with configured keys (libcrypto, jansson) */
#ifndef FCGI_SSE_MERCURE_JWT_H
#define FCGI_SSE_MERCURE_JWT_H

#include <stddef.h>

#include <jansson.h>

/* The algorithms a key can be bound to (RFC 7518 names). Never "none". */
enum jwt_alg {
    JWT_ALG_INVALID = 0,
    JWT_HS256,
    JWT_HS384,
    JWT_HS512,
    JWT_RS256,
    JWT_ES256,
    JWT_EDDSA
};

/* "HS256", ..., "EdDSA"; "?" for anything else. */
const char *jwt_alg_name(enum jwt_alg alg);
/* The algorithm named exactly (case-sensitive, as in a JWS header); JWT_ALG_INVALID for
 * "none" and every name not listed above. */
enum jwt_alg jwt_alg_from_name(const char *name);

/* A trusted key, bound to exactly one algorithm. */
struct jwt_key;

/* Longest secret or PEM file a key is read from. */
#define JWT_KEY_FILE_MAX (64 * 1024)

/* Reads a key file: either a PEM block (a public key: SubjectPublicKeyInfo "PUBLIC KEY" or
 * PKCS#1 "RSA PUBLIC KEY", or an X.509 "CERTIFICATE" whose public key is taken), or a
 * secret: the file's first line without its line end ("\n" or "\r\n"), every other byte
 * kept as it is (as `printf '%s\n' "$MERCURE_JWT_SECRET" > file` writes it); anything after
 * that line, or a NUL byte, refuses the file, so that a damaged PEM file is never taken
 * for a secret. A file with "-----BEGIN " anywhere is PEM and only PEM.
 *
 * alg: "HS256", "HS384", "HS512", "RS256", "ES256" or "EdDSA", or NULL to infer it from the
 * key: RSA -> RS256, EC P-256 -> ES256, Ed25519 -> EdDSA, a secret -> HS256. Refused: "none"
 * or any other name; an alg that does not fit the key (HS* with a PEM key, RS256 with an EC
 * key...); a private key (the hub holds public keys only); an RSA key under 2048 bits
 * (RFC 7518 3.3); an EC key on another curve than P-256; a secret shorter than its hash
 * (RFC 7518 3.2: 32 bytes for HS256, 48 for HS384, 64 for HS512).
 *
 * The file must be a regular file of at most JWT_KEY_FILE_MAX bytes, owned by root or by
 * this process's user, and neither group- nor world-writable (as src/auth.c's key files).
 * NULL with a one-line reason in err; on success err is "" or a one-line warning (a secret
 * that others may read). */
struct jwt_key *jwt_key_load(const char *path, const char *alg, char *err, size_t errlen);

/* As jwt_key_load, from len bytes in memory (no file checks, never a warning). */
struct jwt_key *jwt_key_parse(const void *bytes, size_t len, const char *alg, char *err,
                              size_t errlen);

/* Binds k to an issuer: it then verifies only tokens whose `iss` is exactly iss (a token
 * signed by one issuer is never accepted under another's name). 0, or -1 (no memory). */
int jwt_key_set_issuer(struct jwt_key *k, const char *iss);
/* Names k: a token whose header has a `kid` is then checked only with keys of that kid or
 * of none. 0, or -1 (no memory). */
int jwt_key_set_kid(struct jwt_key *k, const char *kid);
enum jwt_alg jwt_key_alg(const struct jwt_key *k);
const char *jwt_key_issuer(const struct jwt_key *k);
void jwt_key_free(struct jwt_key *k);

/* The protocol generations: the current draft's RFC 9068 access tokens (typ at+jwt) and
 * the legacy one's plain JWTs (typ JWT or none). */
enum jwt_gen {
    JWT_GEN_CURRENT = 1,
    JWT_GEN_LEGACY = 2,
    JWT_GEN_EITHER = 3 /* as an expectation: both accepted */
};

/* Longest token taken (bytes): more than any front server passes in a header by default
 * (8 KiB in Apache, nginx and lighttpd), room for a raised limit; a browser keeps a cookie
 * to 4 KiB. */
#define JWT_TOKEN_MAX (16 * 1024)
/* Deepest JSON nesting in the claims (objects and arrays; the claims object is 1). */
#define JWT_DEPTH_MAX 32
/* How far in the future `nbf` may be (seconds): clock skew between the issuer and the hub
 * (RFC 7519 4.1.5 allows "some small leeway"). `exp` has none: the hub closes a stream no
 * later than `exp`, and an expired token is never accepted. */
#define JWT_NBF_LEEWAY 60

struct jwt_expect {
    long long now;        /* Unix seconds */
    enum jwt_gen gens;    /* which generations are accepted */
    const char *audience; /* the hub's resource identifier (--mercure-audience), or NULL */
    const char *issuer;   /* the trusted issuer (--mercure-issuer), or NULL */
    int legacy_strict;    /* 1: a legacy token must carry the configured aud and iss too */
};

/* Why a token was refused (every one is RFC 6750's invalid_token, but JWT_ECONFIG and
 * JWT_EINTERNAL, which are the hub's fault). */
enum jwt_status {
    JWT_OK = 0,
    JWT_EEMPTY,     /* no token at all */
    JWT_ETOOBIG,    /* longer than JWT_TOKEN_MAX, or nested deeper than JWT_DEPTH_MAX */
    JWT_EMALFORMED, /* not three base64url parts of JSON objects */
    JWT_EHEADER,    /* crit, jwk, jku, x5u, x5c, b64, or a malformed kid */
    JWT_EALG,       /* none, an unknown alg, or one no trusted key is bound to */
    JWT_ETYP,       /* a typ of the wrong generation, or of no access token */
    JWT_EKEY,       /* no trusted key for the token's kid or iss */
    JWT_ESIG,       /* the signature does not verify */
    JWT_EEXP,       /* expired, or no exp where one is required */
    JWT_ENBF,       /* not valid yet */
    JWT_EAUD,       /* aud missing or not the hub */
    JWT_EISS,       /* iss missing or not trusted */
    JWT_ECLAIM,     /* a registered claim of the wrong type */
    JWT_ECONFIG,    /* the hub lacks what the token's generation needs (audience, issuer) */
    JWT_EINTERNAL   /* out of memory, or libcrypto failed */
};

#define JWT_WHY_MAX 192

struct jwt_result {
    enum jwt_status status;
    enum jwt_gen gen;              /* the token's generation (once its header is read) */
    json_t *claims;                /* the verified claims, the caller's to json_decref */
    const struct jwt_key *key;     /* the key that verified it */
    int has_exp;
    long long exp;                 /* `exp` rounded down: the stream ends no later */
    char why[JWT_WHY_MAX];         /* one line: what was wrong, or "valid" */
};

/* Verifies a compact JWS (len bytes at token; need not be NUL-terminated) against the
 * trusted keys, and its claims against ex. The algorithm is the key's, never the token's:
 * a key is tried only when the header's `alg` is its own; `none` is refused; `jwk`, `jku`,
 * `x5u`, `x5c` (a key the token would bring) and `b64` are refused, as is any `crit`; a
 * `kid` only narrows the trusted keys; a key bound to an issuer is tried only for tokens of
 * that `iss`.
 *
 * Generation: typ "at+jwt" or "application/at+jwt" (case-insensitive) is the current one;
 * typ "JWT" or "application/jwt" (case-insensitive), or no typ, the legacy one; it must be
 * in ex->gens. Claims (after the signature verifies):
 *  - exp: required (current), enforced when present (legacy: Symfony may leave it out);
 *    expired when now >= exp. nbf: refused while now + JWT_NBF_LEEWAY < nbf. exp, nbf and
 *    iat must be numbers (integer or not, RFC 7519's NumericDate).
 *  - aud (a string, or an array of strings): when present, must hold ex->audience, and
 *    is refused when no audience is configured (RFC 7519 4.1.3: the hub cannot tell it is
 *    the one meant). A current token must have one, and needs ex->audience configured
 *    (RFC 9068). A legacy token may lack it (Symfony's never have one) unless
 *    ex->legacy_strict and an audience is configured.
 *  - iss: when present, must equal ex->issuer if one is set. A current token must have
 *    one, equal to ex->issuer or to the verifying key's issuer (one of them must be
 *    configured). A legacy token may lack it unless ex->legacy_strict and an issuer is
 *    configured.
 * Base64url is strict (no padding, no other character, no unused bit set); JSON must be
 * objects without duplicate names at any depth.
 *
 * 0 with res->claims set (the caller json_decrefs it), or -1 with res->status and the
 * one-line res->why; res->claims is then NULL. */
int jwt_verify(const char *token, size_t len, const struct jwt_key *const *keys, size_t nkeys,
               const struct jwt_expect *ex, struct jwt_result *res);

/* Strict base64url without padding into out (room for len * 3 / 4 bytes); the decoded
 * length, or -1. Exposed for the tests. */
long jwt_b64url_decode(const char *in, size_t len, unsigned char *out);

#endif
