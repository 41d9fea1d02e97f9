/* test_jwt.c -- unit tests of jwt's verification: good tokens of each alg, every refusal with its one-line reason, both generations' claims, Symfony's tokens */
/* The keys and tokens come from jwt_vectors.h, made by make_tokens.py with openssl(1),
 * PyJWT and Debian's php-symfony-mercure, never by the code under test; `now` is passed in
 * (V_NOW, SF_NOW), so they never expire. Each refusal's test name ends with the reason.
 * Key files and key refusals: test_jwt_key.c. */
#include "config.h"

#include "mercure/jwt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwt_vectors.h"
#include "tap.h"

/* A key from memory that must load; aborts otherwise (a broken test setup). */
static struct jwt_key *key(const char *bytes, const char *alg)
{
    char err[256];
    struct jwt_key *k = jwt_key_parse(bytes, strlen(bytes), alg, err, sizeof err);

    if (!k) {
        fprintf(stderr, "test key: %s\n", err);
        abort();
    }
    return k;
}

static const struct jwt_expect cur = { V_NOW, JWT_GEN_CURRENT, V_AUD, V_ISS, 0 };
static const struct jwt_expect leg = { V_NOW, JWT_GEN_LEGACY, NULL, NULL, 0 };

/* Verifies tok against n keys; res holds the outcome (claims released unless keep). */
static int verify(const char *tok, struct jwt_key *const *keys, size_t n,
                  const struct jwt_expect *ex, struct jwt_result *res, int keep)
{
    int r = jwt_verify(tok, strlen(tok), (const struct jwt_key *const *)keys, n, ex, res);

    if (r == 0 && !keep) {
        json_decref(res->claims);
        res->claims = NULL;
    }
    return r;
}

/* One refusal check: tok refused with status st and a reason containing want. */
static void refused(const char *name, const char *tok, struct jwt_key *k,
                    const struct jwt_expect *ex, enum jwt_status st, const char *want)
{
    struct jwt_result r;
    int rc = verify(tok, &k, 1, ex, &r, 0);

    ok(rc == -1 && r.status == st && r.claims == NULL && strstr(r.why, want) &&
       !strchr(r.why, '\n'), "%s: refused: %s", name, r.why);
}

/* One acceptance check: tok verified by k, of generation gen. */
static void accepted(const char *name, const char *tok, struct jwt_key *k,
                     const struct jwt_expect *ex, enum jwt_gen gen)
{
    struct jwt_result r;
    int rc = verify(tok, &k, 1, ex, &r, 0);

    ok(rc == 0 && r.status == JWT_OK && r.gen == gen && r.key == k, "%s: accepted (%s)", name,
       r.why);
}

/* ---- verification */

/* A copy of tok with its character at offset i (negative: from the end) set to c. */
static char *mutate(const char *tok, long i, char c)
{
    char *m = strdup(tok);
    size_t len = strlen(tok);

    if (!m)
        abort();
    m[i < 0 ? (long)len + i : i] = c;
    return m;
}

/* base64url without padding of s (for crafting headers; no signer is made from it). */
static void b64url(const char *s, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t len = strlen(s), i, o = 0;

    for (i = 0; i < len; i += 3) {
        unsigned long v = (unsigned long)(unsigned char)s[i] << 16;

        if (i + 1 < len)
            v |= (unsigned long)(unsigned char)s[i + 1] << 8;
        if (i + 2 < len)
            v |= (unsigned char)s[i + 2];
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        if (i + 1 < len)
            out[o++] = a[v >> 6 & 63];
        if (i + 2 < len)
            out[o++] = a[v & 63];
    }
    out[o] = '\0';
}

/* A token with header h (JSON) and the claims and signature of tok. */
static char *with_header(const char *h, const char *tok)
{
    char enc[512], *out = malloc(strlen(tok) + sizeof enc);

    if (!out)
        abort();
    b64url(h, enc);
    snprintf(out, strlen(tok) + sizeof enc, "%s%s", enc, strchr(tok, '.'));
    return out;
}

static const struct {
    const char *cur, *leg, *key, *alg;
} goods[] = {
    { TOK_CUR_HS256, TOK_LEG_HS256, SECRET_HS256, "HS256" },
    { TOK_CUR_HS384, TOK_LEG_HS384, SECRET_HS384, "HS384" },
    { TOK_CUR_HS512, TOK_LEG_HS512, SECRET_HS512, "HS512" },
    { TOK_CUR_RS256, TOK_LEG_RS256, PUB_RSA, "RS256" },
    { TOK_CUR_ES256, TOK_LEG_ES256, PUB_EC, "ES256" },
    { TOK_CUR_EDDSA, TOK_LEG_EDDSA, PUB_ED25519, "EdDSA" },
};

static void test_verify_good(void)
{
    static const struct jwt_expect either = { V_NOW, JWT_GEN_EITHER, V_AUD, V_ISS, 0 };
    struct jwt_result r;
    struct jwt_key *k;
    size_t i;

    for (i = 0; i < sizeof goods / sizeof goods[0]; i++) {
        k = key(goods[i].key, goods[i].alg);
        accepted(goods[i].alg, goods[i].cur, k, &cur, JWT_GEN_CURRENT);
        accepted(goods[i].alg, goods[i].leg, k, &leg, JWT_GEN_LEGACY);
        ok(verify(goods[i].cur, &k, 1, &either, &r, 1) == 0 && r.gen == JWT_GEN_CURRENT &&
           r.has_exp && r.exp == V_NOW + 3600 &&
           json_is_array(json_object_get(r.claims, "authorization_details")),
           "%s: either generation: an at+jwt token is current, its claims returned",
           goods[i].alg);
        json_decref(r.claims);
        ok(verify(goods[i].leg, &k, 1, &either, &r, 1) == 0 && r.gen == JWT_GEN_LEGACY &&
           json_is_object(json_object_get(r.claims, "mercure")),
           "%s: either generation: a JWT token is legacy, its mercure claim returned",
           goods[i].alg);
        json_decref(r.claims);
        jwt_key_free(k);
    }
    k = key(PUB_RSA_PKCS1, NULL);
    accepted("RS256 by a PKCS#1 key", TOK_CUR_RS256, k, &cur, JWT_GEN_CURRENT);
    jwt_key_free(k);
    k = key(CERT_RSA, NULL);
    accepted("RS256 by a certificate's key", TOK_CUR_RS256, k, &cur, JWT_GEN_CURRENT);
    jwt_key_free(k);
    k = key(PUB_EC, NULL);
    accepted("typ application/AT+JWT (RFC 7515 4.1.9)", TOK_CUR_TYP_APP, k, &cur,
             JWT_GEN_CURRENT);
    accepted("nbf 30 s ahead, within the leeway", TOK_CUR_NBF_LEEWAY, k, &cur, JWT_GEN_CURRENT);
    accepted("aud an array holding the hub", TOK_CUR_AUD_ARRAY, k, &cur, JWT_GEN_CURRENT);
    accepted("claims nested 31 deep", TOK_CUR_DEPTH_OK, k, &cur, JWT_GEN_CURRENT);
    jwt_key_free(k);
    k = key(SECRET_HS256, NULL);
    accepted("legacy without exp (Symfony may leave it out)", TOK_LEG_NO_EXP, k, &leg,
             JWT_GEN_LEGACY);
    accepted("legacy without typ", TOK_LEG_NO_TYP, k, &leg, JWT_GEN_LEGACY);
    accepted("legacy typ jwt in lower case", TOK_LEG_TYP_LOWER, k, &leg, JWT_GEN_LEGACY);
    accepted("a 12 KiB token (over 8 KiB, under JWT_TOKEN_MAX)", TOK_LEG_BIG, k, &leg,
             JWT_GEN_LEGACY);
    jwt_key_free(k);
}

/* The refusals issue 21 lists, each with its reason. */
static void test_verify_refusals(void)
{
    struct jwt_key *ec = key(PUB_EC, NULL), *rsa = key(PUB_RSA, NULL);
    struct jwt_key *hs = key(SECRET_HS256, NULL);
    struct jwt_result r;
    char *m;

    ok(jwt_verify("", 0, (const struct jwt_key *const *)&ec, 1, &cur, &r) == -1 &&
       r.status == JWT_EEMPTY && strcmp(r.why, "no token") == 0, "no token: %s", r.why);
    m = mutate(TOK_CUR_ES256, (long)(strrchr(TOK_CUR_ES256, '.') - TOK_CUR_ES256) + 1, 'A');
    if (strcmp(m, TOK_CUR_ES256) == 0)
        m[strrchr(m, '.') - m + 1] = 'B';
    refused("bad signature (ES256)", m, ec, &cur, JWT_ESIG, "signature does not verify");
    free(m);
    m = mutate(TOK_LEG_HS256, (long)(strrchr(TOK_LEG_HS256, '.') - TOK_LEG_HS256) + 1, 'A');
    if (strcmp(m, TOK_LEG_HS256) == 0)
        m[strrchr(m, '.') - m + 1] = 'B';
    refused("bad signature (HS256)", m, hs, &leg, JWT_ESIG, "signature does not verify");
    free(m);
    refused("signed by another RSA key", TOK_CUR_BY_RSA2, rsa, &cur, JWT_ESIG, "does not verify");
    refused("wrong alg: an HS256 token, an RS256 key", TOK_CUR_HS256, rsa, &cur, JWT_EALG,
            "alg HS256 is not the alg of any trusted key");
    refused("wrong alg: an RS256 token, an HS256 key", TOK_CUR_RS256, hs, &cur, JWT_EALG,
            "alg RS256 is not the alg of any trusted key");
    refused("confusion: HS256 signed with the RSA key's PEM as secret", TOK_LEG_HS256_WITH_RSA_PEM,
            rsa, &leg, JWT_EALG, "alg HS256 is not the alg of any trusted key");
    refused("alg none (current)", TOK_CUR_NONE, ec, &cur, JWT_EALG, "alg is none");
    refused("alg none (legacy, an HS256 key)", TOK_LEG_NONE, hs, &leg, JWT_EALG, "alg is none");
    m = with_header("{\"alg\":\"NONE\",\"typ\":\"JWT\"}", TOK_LEG_HS256);
    refused("alg NONE", m, hs, &leg, JWT_EALG, "alg is none");
    free(m);
    m = with_header("{\"alg\":\"PS256\",\"typ\":\"JWT\"}", TOK_LEG_HS256);
    refused("alg PS256", m, hs, &leg, JWT_EALG, "alg \"PS256\" is not one this hub verifies");
    free(m);
    m = with_header("{\"typ\":\"JWT\"}", TOK_LEG_HS256);
    refused("no alg", m, hs, &leg, JWT_EALG, "header has no alg");
    free(m);
    refused("expired", TOK_CUR_EXPIRED, ec, &cur, JWT_EEXP, "expired: exp 1799999999 is 1 s before");
    refused("expired (legacy)", TOK_LEG_EXPIRED, hs, &leg, JWT_EEXP, "expired");
    refused("nbf in the future", TOK_CUR_NBF_FUTURE, ec, &cur, JWT_ENBF,
            "not valid yet: nbf 1800003600 is 3600 s after now");
    refused("wrong aud", TOK_CUR_WRONG_AUD, ec, &cur, JWT_EAUD, "aud does not name this hub");
    refused("wrong iss", TOK_CUR_WRONG_ISS, ec, &cur, JWT_EISS, "iss is not the trusted issuer");
    refused("no exp (current)", TOK_CUR_NO_EXP, ec, &cur, JWT_EEXP, "no exp");
    refused("typ JWT where at+jwt is required", TOK_CUR_TYP_JWT, ec, &cur, JWT_ETYP,
            "typ is JWT, not at+jwt");
    refused("typ dpop+jwt", TOK_CUR_TYP_OTHER, ec, &cur, JWT_ETYP, "is not an access token");
    refused("at+jwt to a legacy-only hub", TOK_CUR_ES256, ec, &leg, JWT_ETYP,
            "legacy protocol only");
    refused("crit", TOK_CUR_CRIT, ec, &cur, JWT_EHEADER, "crit");
    refused("jwk header (signed by the trusted key even)", TOK_CUR_JWK, ec, &cur, JWT_EHEADER,
            "has jwk: keys come from the hub's configuration only");
    refused("jku header", TOK_CUR_JKU, ec, &cur, JWT_EHEADER, "has jku");
    refused("x5u header", TOK_CUR_X5U, ec, &cur, JWT_EHEADER, "has x5u");
    refused("x5c header", TOK_CUR_X5C, ec, &cur, JWT_EHEADER, "has x5c");
    refused("b64 header", TOK_LEG_B64_ONLY, hs, &leg, JWT_EHEADER, "unencoded payloads");
    refused("duplicate claim", TOK_LEG_DUP_CLAIM, hs, &leg, JWT_EMALFORMED, "repeats a name");
    refused("duplicate name nested in mercure", TOK_LEG_DUP_NESTED, hs, &leg, JWT_EMALFORMED,
            "repeats a name");
    refused("duplicate header parameter", TOK_LEG_DUP_HEADER, hs, &leg, JWT_EMALFORMED,
            "header is not JSON, or repeats a name");
    jwt_key_free(ec);
    jwt_key_free(rsa);
    jwt_key_free(hs);
}

/* Boundaries and the rules of each generation. */
static void test_verify_claims(void)
{
    struct jwt_key *ec = key(PUB_EC, NULL), *hs = key(SECRET_HS256, NULL);
    struct jwt_expect e = cur;
    struct jwt_result r;

    refused("exp equal to now", TOK_CUR_EXP_NOW, ec, &cur, JWT_EEXP, "exp 1800000000 is 0 s");
    e.now = V_NOW - 1;
    accepted("exp one second after now", TOK_CUR_EXP_NOW, ec, &e, JWT_GEN_CURRENT);
    e.now = V_NOW - 30;
    accepted("nbf 60 s ahead (the leeway's edge)", TOK_CUR_NBF_LEEWAY, ec, &e, JWT_GEN_CURRENT);
    e.now = V_NOW - 31;
    refused("nbf 61 s ahead", TOK_CUR_NBF_LEEWAY, ec, &e, JWT_ENBF, "more than the 60 s allowed");
    refused("exp a string", TOK_CUR_EXP_STRING, ec, &cur, JWT_ECLAIM, "exp is not a number");
    refused("sub a number", TOK_CUR_SUB_NUMBER, ec, &cur, JWT_ECLAIM, "sub is not a string");
    refused("aud an array without the hub", TOK_CUR_AUD_ARRAY_WRONG, ec, &cur, JWT_EAUD,
            "does not name this hub");
    refused("aud an array with a number", TOK_CUR_AUD_NUMBER, ec, &cur, JWT_ECLAIM,
            "neither a string nor an array of strings");
    refused("no aud (current)", TOK_CUR_NO_AUD, ec, &cur, JWT_EAUD, "has no aud");
    refused("no iss (current)", TOK_CUR_NO_ISS, ec, &cur, JWT_EISS, "has no iss");
    refused("no typ where at+jwt is required", TOK_CUR_TYP_NONE, ec, &cur, JWT_ETYP,
            "typ is absent, not at+jwt");
    refused("claims nested 41 deep", TOK_CUR_DEEP, ec, &cur, JWT_ETOOBIG, "deeper than 32");
    e = cur;
    e.audience = NULL;
    refused("current, no audience configured", TOK_CUR_NO_AUD, ec, &e, JWT_ECONFIG,
            "no audience is configured");
    e = cur;
    e.issuer = NULL;
    refused("current, no issuer configured", TOK_CUR_ES256, ec, &e, JWT_ECONFIG,
            "no trusted issuer is configured");
    /* Legacy: exp optional but enforced, aud and iss checked when present. */
    e = leg;
    e.now = V_NOW - 1;
    ok(verify(TOK_LEG_EXP_REAL, &hs, 1, &e, &r, 0) == 0 && r.has_exp && r.exp == V_NOW,
       "legacy: exp %lld.5 is a number too, rounded down (%s)", V_NOW, r.why);
    refused("legacy, exp x.5 at x", TOK_LEG_EXP_REAL, hs, &leg, JWT_EEXP, "expired");
    refused("legacy aud, no audience configured (RFC 7519 4.1.3)", TOK_LEG_AUD, hs, &leg,
            JWT_EAUD, "names an audience, and this hub has none configured");
    e = leg;
    e.audience = V_AUD;
    accepted("legacy aud naming the hub", TOK_LEG_AUD, hs, &e, JWT_GEN_LEGACY);
    accepted("legacy without aud, audience configured", TOK_LEG_HS256, hs, &e, JWT_GEN_LEGACY);
    e.audience = "https://other.example/.well-known/mercure";
    refused("legacy aud naming another hub", TOK_LEG_AUD, hs, &e, JWT_EAUD,
            "does not name this hub");
    e = leg;
    e.audience = V_AUD;
    e.legacy_strict = 1;
    refused("legacy without aud, strict", TOK_LEG_HS256, hs, &e, JWT_EAUD, "has no aud");
    e = leg;
    e.issuer = V_ISS;
    accepted("legacy iss, the trusted one", TOK_LEG_ISS, hs, &e, JWT_GEN_LEGACY);
    accepted("legacy without iss, issuer configured", TOK_LEG_HS256, hs, &e, JWT_GEN_LEGACY);
    e.issuer = V_ISS_B;
    refused("legacy iss, another one", TOK_LEG_ISS, hs, &e, JWT_EISS, "not the trusted issuer");
    e.legacy_strict = 1;
    refused("legacy without iss, strict", TOK_LEG_HS256, hs, &e, JWT_EISS, "has no iss");
    jwt_key_free(ec);
    jwt_key_free(hs);
}

/* kid and issuer narrow the trusted keys; a token never brings one. */
static void test_verify_keys(void)
{
    struct jwt_key *k[3];
    struct jwt_expect e = cur;
    struct jwt_result r;

    k[0] = key(PUB_EC, NULL);
    k[1] = key(PUB_EC2, NULL);
    k[2] = key(SECRET_HS256, NULL);
    if (jwt_key_set_kid(k[0], "k1") < 0 || jwt_key_set_kid(k[1], "k2") < 0)
        abort();
    ok(verify(TOK_CUR_KID_K1, k, 3, &cur, &r, 0) == 0 && r.key == k[0],
       "kid k1 selects the k1 key");
    ok(verify(TOK_CUR_KID_K2_BY_EC2, k, 3, &cur, &r, 0) == 0 && r.key == k[1],
       "kid k2 selects the k2 key");
    ok(verify(TOK_CUR_BY_EC2, k, 3, &cur, &r, 0) == 0 && r.key == k[1],
       "no kid: every key of the alg is tried");
    ok(verify(TOK_CUR_HS256, k, 3, &cur, &r, 0) == 0 && r.key == k[2],
       "the HS256 token takes the HS256 key among others");
    if (jwt_key_set_kid(k[0], "k3") < 0)
        abort();
    ok(verify(TOK_CUR_KID_K1, k, 3, &cur, &r, 0) == -1 && r.status == JWT_EKEY &&
       strstr(r.why, "no trusted key has the token's kid \"k1\""), "kid naming no key: %s", r.why);
    if (jwt_key_set_kid(k[0], NULL) < 0 || jwt_key_set_kid(k[1], NULL) < 0)
        abort();
    /* Two issuers, each with its key: a token of one is never checked with the other's. */
    if (jwt_key_set_issuer(k[0], V_ISS) < 0 || jwt_key_set_issuer(k[1], V_ISS_B) < 0)
        abort();
    e.issuer = NULL;
    ok(verify(TOK_CUR_ES256, k, 2, &e, &r, 0) == 0 && r.key == k[0],
       "issuer A's token verified by A's key");
    ok(verify(TOK_CUR_ISS_B_BY_EC2, k, 2, &e, &r, 0) == 0 && r.key == k[1],
       "issuer B's token verified by B's key");
    ok(verify(TOK_CUR_ISS_B_BY_EC, k, 2, &e, &r, 0) == -1 && r.status == JWT_ESIG,
       "a token naming B signed by A's key: refused: %s", r.why);
    ok(verify(TOK_CUR_BY_EC2, k, 2, &e, &r, 0) == -1 && r.status == JWT_ESIG,
       "a token naming A signed by B's key: refused: %s", r.why);
    ok(verify(TOK_CUR_WRONG_ISS, k, 2, &e, &r, 0) == -1 && r.status == JWT_EKEY &&
       strstr(r.why, "no trusted key belongs to the token's iss"), "an unknown iss: %s", r.why);
    ok(verify(TOK_CUR_NO_ISS, k, 2, &e, &r, 0) == -1 && r.status == JWT_EKEY,
       "no iss, every key bound to an issuer: %s", r.why);
    ok(strcmp(jwt_key_issuer(k[1]), V_ISS_B) == 0, "jwt_key_issuer returns the binding");
    jwt_key_free(k[0]);
    jwt_key_free(k[1]);
    jwt_key_free(k[2]);
}

/* 1 when in decodes (strictly) to want; want NULL: refused. */
static int b64_is(const char *in, const char *want)
{
    unsigned char out[64];
    long n = jwt_b64url_decode(in, strlen(in), out);

    if (!want)
        return n == -1;
    return n == (long)strlen(want) && memcmp(out, want, (size_t)n) == 0;
}

static void test_verify_encoding(void)
{
    struct jwt_key *hs = key(SECRET_HS256, NULL), *ec = key(PUB_EC, NULL);
    struct jwt_result r;
    size_t len = strlen(TOK_LEG_HS256), i, accepted_n = 0, wrong = 0;
    char *m, *big;
    const char *dot;

    ok(b64_is("QUJD", "ABC") && b64_is("QUI", "AB") && b64_is("QQ", "A") && b64_is("", ""),
       "base64url: 4, 3 and 2 characters decode");
    ok(b64_is("QR", NULL) && b64_is("QUJ", NULL), "base64url: unused bits set are refused");
    ok(b64_is("QQ==", NULL) && b64_is("QUI=", NULL), "base64url: padding is refused");
    ok(b64_is("Q", NULL) && b64_is("QUJDR", NULL), "base64url: a lone last character is refused");
    ok(b64_is("QU+D", NULL) && b64_is("QU/D", NULL) && b64_is("QU D", NULL) &&
       b64_is("QU\nD", NULL), "base64url: +, /, space and line ends are refused");
    dot = strchr(TOK_LEG_HS256, '.');
    m = malloc(len + 2);
    if (!m)
        abort();
    snprintf(m, len + 2, "%.*s=%s", (int)(dot - TOK_LEG_HS256), TOK_LEG_HS256, dot);
    refused("padding in the header", m, hs, &leg, JWT_EMALFORMED, "header is not base64url");
    free(m);
    m = mutate(TOK_LEG_HS256, dot - TOK_LEG_HS256 + 5, '+');
    refused("a + in the claims", m, hs, &leg, JWT_EMALFORMED, "claims set is not base64url");
    free(m);
    refused("five parts", "eyJh.eyJi.eyJj.eyJk.eyJl", hs, &leg, JWT_EMALFORMED, "JWE");
    refused("one part", "eyJhbGciOiJIUzI1NiJ9", hs, &leg, JWT_EMALFORMED, "three base64url parts");
    refused("four parts", "eyJh.eyJi.eyJj.eyJk", hs, &leg, JWT_EMALFORMED, "three base64url");
    refused("empty header", ".eyJi.eyJj", hs, &leg, JWT_EMALFORMED, "empty header");
    refused("empty claims", "eyJh..eyJj", hs, &leg, JWT_EMALFORMED, "empty claims");
    m = strdup(TOK_LEG_HS256);
    if (!m)
        abort();
    strrchr(m, '.')[1] = '\0';
    refused("no signature", m, hs, &leg, JWT_ESIG, "has no signature");
    free(m);
    refused("claims an array", TOK_LEG_ARRAY_CLAIMS, hs, &leg, JWT_EMALFORMED, "not a JSON object");
    refused("claims not JSON", TOK_LEG_NOT_JSON, hs, &leg, JWT_EMALFORMED, "claims set is not JSON");
    refused("an integer beyond 64 bits", TOK_LEG_BIG_INT, hs, &leg, JWT_EMALFORMED, "not JSON");
    refused("ES256 with a DER signature", TOK_CUR_ES256_DER, ec, &cur, JWT_ESIG, "does not verify");
    big = malloc(JWT_TOKEN_MAX + 2);
    if (!big)
        abort();
    memset(big, 'A', JWT_TOKEN_MAX + 1);
    big[JWT_TOKEN_MAX + 1] = '\0';
    big[10] = big[20] = '.';
    refused("oversized", big, hs, &leg, JWT_ETOOBIG, "longer than 16384 bytes");
    big[2100] = '.';
    big[10] = big[20] = 'A';
    big[2200] = '.';
    big[3000] = '\0';
    refused("a header over 2048 bytes", big, hs, &leg, JWT_ETOOBIG, "header is longer than 2048");
    free(big);
    /* Truncated anywhere, or any one character changed: never accepted. */
    for (i = 0; i < len; i++) {
        accepted_n += jwt_verify(TOK_LEG_HS256, i, (const struct jwt_key *const *)&hs, 1, &leg,
                                 &r) == 0;
        m = mutate(TOK_LEG_HS256, (long)i, TOK_LEG_HS256[i] == 'A' ? 'B' : 'A');
        if (verify(m, &hs, 1, &leg, &r, 0) == 0)
            accepted_n++;
        else if (r.status != JWT_EMALFORMED && r.status != JWT_ESIG && r.status != JWT_EALG &&
                 r.status != JWT_ETYP && r.status != JWT_EEMPTY)
            wrong++;
        free(m);
    }
    ok(accepted_n == 0 && wrong == 0, "every prefix and every one-character change of a "
       "%zu-byte token is refused (%zu accepted, %zu with an odd reason)", len, accepted_n, wrong);
    jwt_key_free(hs);
    jwt_key_free(ec);
}

/* Tokens made by Debian's php-symfony-mercure (symfony_token.php). */
static void test_symfony(void)
{
    static const struct jwt_expect sf = { SF_NOW, JWT_GEN_EITHER, V_AUD, V_ISS, 0 };
    struct jwt_expect late = sf;
    static const char file[] = SF_SECRET "\n"; /* as printf '%s\n' "$MERCURE_JWT_SECRET" writes it */
    char err[256];
    struct jwt_key *k = jwt_key_parse(file, strlen(file), NULL, err, sizeof err);
    struct jwt_result r;
    const json_t *m;

    ok(k && jwt_key_alg(k) == JWT_HS256, "symfony: MERCURE_JWT_SECRET as a key file holds it is an HS256 key");
    if (!k)
        return;
    ok(verify(SF_PUBLISHER, &k, 1, &sf, &r, 1) == 0 && r.gen == JWT_GEN_LEGACY && r.has_exp &&
       r.exp >= SF_NOW + 3599 && r.exp <= SF_NOW + 3601 && json_is_real(json_object_get(r.claims,
       "exp")), "symfony: the publisher's token verifies: legacy, exp a real number an hour on "
       "(%s)", r.why);
    m = json_object_get(json_object_get(r.claims, "mercure"), "publish");
    ok(json_array_size(m) == 1 && strcmp(json_string_value(json_array_get(m, 0)), "*") == 0 &&
       json_array_size(json_object_get(json_object_get(r.claims, "mercure"), "subscribe")) == 0,
       "symfony: the publisher's mercure claim: publish [\"*\"], subscribe []");
    json_decref(r.claims);
    ok(verify(SF_COOKIE, &k, 1, &sf, &r, 1) == 0 && r.gen == JWT_GEN_LEGACY &&
       json_is_object(json_object_get(json_object_get(r.claims, "mercure"), "payload")),
       "symfony: the mercureAuthorization cookie verifies, its payload kept (%s)", r.why);
    json_decref(r.claims);
    ok(verify(SF_NOEXP, &k, 1, &sf, &r, 0) == 0 && !r.has_exp,
       "symfony: a factory with a null lifetime makes a token without exp: accepted (legacy)");
    late.now = SF_NOW + 3602;
    refused("symfony: the publisher's token an hour later", SF_PUBLISHER, k, &late, JWT_EEXP,
            "expired");
    jwt_key_free(k);
}

int main(void)
{
    test_verify_good();
    test_verify_refusals();
    test_verify_claims();
    test_verify_keys();
    test_verify_encoding();
    test_symfony();
    return done_testing();
}
