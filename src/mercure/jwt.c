/* jwt.c -- Mercure access tokens: strict JWS compact parsing, key selection by the key's own alg, claim checks (RFC 7515, 7519, 8725, 9068) */
#include "config.h"

#include "mercure/jwt_int.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest protected header (base64url characters): alg, typ, kid and a little more. */
#define JWT_HEADER_MAX 2048
/* Deepest JSON nesting in a header (crit is an array: 2). */
#define JWT_HEADER_DEPTH_MAX 4

static const signed char jwt_b64[256] = {
    ['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7, ['H'] = 8,
    ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15,
    ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
    ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29,
    ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
    ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42, ['q'] = 43,
    ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50,
    ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57,
    ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['-'] = 63, ['_'] = 64,
};

long jwt_b64url_decode(const char *in, size_t len, unsigned char *out)
{
    unsigned long acc = 0;
    size_t i, o = 0;
    int bits = 0;

    /* One character left over carries 6 bits: no whole byte, so no encoder writes it. */
    if (len % 4 == 1 || len > LONG_MAX / 3)
        return -1;
    for (i = 0; i < len; i++) {
        int v = jwt_b64[(unsigned char)in[i]];

        if (v == 0)
            return -1;
        acc = (acc << 6) | (unsigned long)(v - 1);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1UL << bits) - 1;
        }
    }
    /* The bits left over must be zero: otherwise another string decodes the same. */
    if (acc != 0)
        return -1;
    return (long)o;
}

/* 1 when the JSON text (s, len) nests objects and arrays no deeper than max (counting
 * outside strings only); 0 otherwise. Run before jansson, whose parser recurses. */
static int jwt_depth_ok(const unsigned char *s, size_t len, int max)
{
    int depth = 0, in_str = 0, esc = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = s[i];

        if (in_str) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                return 0;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 1;
}

/* Records a refusal: status, and the one-line reason. Always -1. */
__attribute__((format(printf, 3, 4))) static int jwt_fail(struct jwt_result *res,
                                                          enum jwt_status st, const char *fmt, ...)
{
    va_list ap;

    res->status = st;
    va_start(ap, fmt);
    vsnprintf(res->why, sizeof res->why, fmt, ap);
    va_end(ap);
    if (res->claims) {
        json_decref(res->claims);
        res->claims = NULL;
    }
    res->key = NULL;
    return -1;
}

/* A token's string, fit to quote in a reason: up to dlen - 1 printable ASCII characters,
 * others as '?', a '"' as '\''. */
static const char *jwt_quote(char *dst, size_t dlen, const char *s)
{
    size_t i;

    for (i = 0; s[i] && i + 1 < dlen; i++) {
        unsigned char c = (unsigned char)s[i];

        dst[i] = c < 0x20 || c > 0x7e ? '?' : c == '"' ? '\'' : (char)c;
    }
    dst[i] = '\0';
    return dst;
}

/* Decodes one part (base64url, then a JSON object, depth-bounded). NULL on failure, with
 * the refusal recorded (what names the part). */
static json_t *jwt_part_json(const char *in, size_t len, int depth, const char *what,
                             struct jwt_result *res)
{
    unsigned char *buf = malloc(len / 4 * 3 + 3);
    json_error_t jerr;
    json_t *j = NULL;
    char q[80];
    long n;

    if (!buf) {
        jwt_fail(res, JWT_EINTERNAL, "out of memory");
        return NULL;
    }
    n = jwt_b64url_decode(in, len, buf);
    if (n < 0)
        jwt_fail(res, JWT_EMALFORMED, "the token's %s is not base64url (no padding, no other "
                 "character, no unused bit set)", what);
    else if (!jwt_depth_ok(buf, (size_t)n, depth))
        jwt_fail(res, JWT_ETOOBIG, "the token's %s nests JSON deeper than %d", what, depth);
    else if (!(j = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, &jerr)))
        jwt_fail(res, JWT_EMALFORMED, "the token's %s is not JSON, or repeats a name: %s",
                 what, jwt_quote(q, sizeof q, jerr.text));
    else if (!json_is_object(j)) {
        json_decref(j);
        j = NULL;
        jwt_fail(res, JWT_EMALFORMED, "the token's %s is not a JSON object", what);
    }
    free(buf);
    return j;
}

/* The generation a typ names: at+jwt (current), JWT (legacy), with or without the
 * "application/" prefix, case-insensitively (RFC 7515 4.1.9). 0 for anything else. */
static enum jwt_gen jwt_typ_gen(const char *typ)
{
    if (strncasecmp(typ, "application/", 12) == 0)
        typ += 12;
    if (strcasecmp(typ, "at+jwt") == 0)
        return JWT_GEN_CURRENT;
    if (strcasecmp(typ, "jwt") == 0)
        return JWT_GEN_LEGACY;
    return 0;
}

/* Header parameters that would bring a key, or change what is signed: refused. */
static const char *const jwt_refused_params[] = { "jwk", "jku", "x5u", "x5c", "b64" };

/* Checks the protected header: alg (a name, never none), no crit, no key-bringing
 * parameter, typ of an accepted generation (res->gen), kid a string. 0, or -1. */
static int jwt_header(const json_t *hdr, const struct jwt_expect *ex, struct jwt_result *res,
                      enum jwt_alg *alg, const char **kid)
{
    const json_t *a = json_object_get(hdr, "alg"), *t = json_object_get(hdr, "typ");
    const json_t *k = json_object_get(hdr, "kid");
    char q[41];
    size_t i;

    if (!json_is_string(a))
        return jwt_fail(res, JWT_EALG, "the token's header has no alg");
    if (strcasecmp(json_string_value(a), "none") == 0)
        return jwt_fail(res, JWT_EALG, "the token's alg is none: an unsigned token is never "
                        "accepted");
    *alg = jwt_alg_from_name(json_string_value(a));
    if (*alg == JWT_ALG_INVALID)
        return jwt_fail(res, JWT_EALG, "the token's alg \"%s\" is not one this hub verifies",
                        jwt_quote(q, sizeof q, json_string_value(a)));
    if (json_object_get(hdr, "crit"))
        return jwt_fail(res, JWT_EHEADER, "the token's header has crit: this hub understands "
                        "no JWS extension");
    for (i = 0; i < sizeof jwt_refused_params / sizeof jwt_refused_params[0]; i++)
        if (json_object_get(hdr, jwt_refused_params[i]))
            return jwt_fail(res, JWT_EHEADER, "the token's header has %s: %s",
                            jwt_refused_params[i], i < 4 ? "keys come from the hub's "
                            "configuration only" : "unencoded payloads are not accepted");
    if (k && !json_is_string(k))
        return jwt_fail(res, JWT_EHEADER, "the token's kid is not a string");
    *kid = k ? json_string_value(k) : NULL;
    if (t && !json_is_string(t))
        return jwt_fail(res, JWT_ETYP, "the token's typ is not a string");
    res->gen = t ? jwt_typ_gen(json_string_value(t)) : JWT_GEN_LEGACY;
    if (res->gen == 0)
        return jwt_fail(res, JWT_ETYP, "the token's typ \"%s\" is not an access token "
                        "(at+jwt, or JWT for the legacy protocol)",
                        jwt_quote(q, sizeof q, json_string_value(t)));
    if (!(res->gen & ex->gens) && res->gen == JWT_GEN_LEGACY)
        return jwt_fail(res, JWT_ETYP, "the token's typ is %s, not at+jwt: this hub takes "
                        "RFC 9068 access tokens only", t ? "JWT" : "absent");
    if (!(res->gen & ex->gens))
        return jwt_fail(res, JWT_ETYP, "the token's typ is at+jwt: this hub speaks the legacy "
                        "protocol only");
    return 0;
}

/* Tries the trusted keys that may verify this token: bound to its alg, of its kid (when
 * both name one), of its iss (when the key names one). 0 with res->key set, or -1. */
static int jwt_pick_key(const struct jwt_key *const *keys, size_t nkeys, enum jwt_alg alg,
                        const char *kid, const char *iss, const char *input, size_t inlen,
                        const unsigned char *sig, size_t siglen, struct jwt_result *res)
{
    size_t i, n_alg = 0, n_kid = 0, n_iss = 0;
    int failed = 0;
    char q[41];

    for (i = 0; i < nkeys; i++) {
        const struct jwt_key *k = keys[i];
        int r;

        if (!k || k->alg != alg)
            continue;
        n_alg++;
        if (kid && k->kid && strcmp(kid, k->kid) != 0)
            continue;
        n_kid++;
        if (k->issuer && (!iss || strcmp(iss, k->issuer) != 0))
            continue;
        n_iss++;
        r = jwt_key_check(k, (const unsigned char *)input, inlen, sig, siglen);
        if (r == 1) {
            res->key = k;
            return 0;
        }
        failed |= r < 0;
    }
    if (n_alg == 0)
        return jwt_fail(res, JWT_EALG, "the token's alg %s is not the alg of any trusted key",
                        jwt_alg_name(alg));
    if (n_kid == 0)
        return jwt_fail(res, JWT_EKEY, "no trusted key has the token's kid \"%s\"",
                        jwt_quote(q, sizeof q, kid));
    if (n_iss == 0 && !iss)
        return jwt_fail(res, JWT_EKEY, "the token has no iss, and every trusted key for it "
                        "belongs to an issuer");
    if (n_iss == 0)
        return jwt_fail(res, JWT_EKEY, "no trusted key belongs to the token's iss \"%s\"",
                        jwt_quote(q, sizeof q, iss));
    if (failed)
        return jwt_fail(res, JWT_EINTERNAL, "the signature cannot be checked (libcrypto)");
    return jwt_fail(res, JWT_ESIG, "the token's signature does not verify with %s",
                    n_iss == 1 ? "the trusted key" : "any trusted key");
}

/* A NumericDate claim (RFC 7519 2): *has, and its value rounded down and up (clamped to
 * long long). 0, or -1 when present but not a number. */
static int jwt_date(const json_t *claims, const char *name, int *has, long long *lo,
                    long long *hi)
{
    const json_t *v = json_object_get(claims, name);
    double d;

    *has = v != NULL;
    *lo = *hi = 0;
    if (!v)
        return 0;
    if (json_is_integer(v)) {
        *lo = *hi = json_integer_value(v);
        return 0;
    }
    if (!json_is_real(v))
        return -1;
    d = json_real_value(v);
    if (d >= 9.2e18)
        *lo = *hi = LLONG_MAX;
    else if (d <= -9.2e18)
        *lo = *hi = LLONG_MIN;
    else {
        long long t = (long long)d; /* toward zero */

        *lo = t - (d < (double)t);
        *hi = t + (d > (double)t);
    }
    return 0;
}

/* Registered claims' types, exp and nbf against now. 0, or -1. */
static int jwt_times(const json_t *c, const struct jwt_expect *ex, struct jwt_result *res)
{
    static const char *const strs[] = { "iss", "sub", "jti", "client_id" };
    long long exp_hi, nbf_lo, nbf_hi, iat_lo, iat_hi;
    int has_nbf, has_iat;
    size_t i;

    for (i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        const json_t *v = json_object_get(c, strs[i]);

        if (v && !json_is_string(v))
            return jwt_fail(res, JWT_ECLAIM, "the token's %s is not a string", strs[i]);
    }
    if (jwt_date(c, "exp", &res->has_exp, &res->exp, &exp_hi) < 0)
        return jwt_fail(res, JWT_ECLAIM, "the token's exp is not a number (NumericDate)");
    if (jwt_date(c, "nbf", &has_nbf, &nbf_lo, &nbf_hi) < 0)
        return jwt_fail(res, JWT_ECLAIM, "the token's nbf is not a number (NumericDate)");
    if (jwt_date(c, "iat", &has_iat, &iat_lo, &iat_hi) < 0)
        return jwt_fail(res, JWT_ECLAIM, "the token's iat is not a number (NumericDate)");
    if (!res->has_exp && res->gen == JWT_GEN_CURRENT)
        return jwt_fail(res, JWT_EEXP, "the token has no exp: an access token must expire "
                        "(RFC 9068)");
    if (res->has_exp && ex->now >= res->exp)
        return jwt_fail(res, JWT_EEXP, "the token expired: exp %lld is %llu s before now (%lld)",
                        res->exp, (unsigned long long)ex->now - (unsigned long long)res->exp,
                        ex->now);
    if (has_nbf && nbf_hi > LLONG_MIN + JWT_NBF_LEEWAY && ex->now < nbf_hi - JWT_NBF_LEEWAY)
        return jwt_fail(res, JWT_ENBF, "the token is not valid yet: nbf %lld is %llu s after "
                        "now (%lld), more than the %d s allowed", nbf_hi,
                        (unsigned long long)nbf_hi - (unsigned long long)ex->now, ex->now,
                        JWT_NBF_LEEWAY);
    return 0;
}

/* 1 when aud (a string or an array of strings) holds want; 0 when not; -1 malformed. */
static int jwt_aud_has(const json_t *aud, const char *want)
{
    size_t i;
    const json_t *v;
    int found = 0;

    if (json_is_string(aud))
        return want && strcmp(json_string_value(aud), want) == 0;
    if (!json_is_array(aud))
        return -1;
    json_array_foreach(aud, i, v) {
        if (!json_is_string(v))
            return -1;
        if (want && strcmp(json_string_value(v), want) == 0)
            found = 1;
    }
    return found;
}

/* iss and aud against the hub's configuration. 0, or -1. */
static int jwt_who(const json_t *c, const struct jwt_expect *ex, struct jwt_result *res)
{
    const json_t *iss = json_object_get(c, "iss"), *aud = json_object_get(c, "aud");
    int cur = res->gen == JWT_GEN_CURRENT, has;

    if (cur && !iss)
        return jwt_fail(res, JWT_EISS, "the token has no iss: an access token names its "
                        "issuer (RFC 9068)");
    if (ex->issuer && iss && strcmp(json_string_value(iss), ex->issuer) != 0)
        return jwt_fail(res, JWT_EISS, "the token's iss is not the trusted issuer (%.60s)",
                        ex->issuer);
    if (ex->issuer && !iss && ex->legacy_strict)
        return jwt_fail(res, JWT_EISS, "the token has no iss, and the hub trusts one issuer "
                        "(%.60s)", ex->issuer);
    if (cur && !ex->issuer && !res->key->issuer)
        return jwt_fail(res, JWT_ECONFIG, "no trusted issuer is configured: access tokens "
                        "(at+jwt) need one (--mercure-issuer)");
    has = aud ? jwt_aud_has(aud, ex->audience) : 0;
    if (has < 0)
        return jwt_fail(res, JWT_ECLAIM, "the token's aud is neither a string nor an array of "
                        "strings");
    if (ex->audience && !aud && (cur || ex->legacy_strict))
        return jwt_fail(res, JWT_EAUD, "the token has no aud: it must name this hub (%.60s)",
                        ex->audience);
    if (ex->audience && aud && !has)
        return jwt_fail(res, JWT_EAUD, "the token's aud does not name this hub (%.60s)",
                        ex->audience);
    if (!ex->audience && cur)
        return jwt_fail(res, JWT_ECONFIG, "no audience is configured: access tokens (at+jwt) "
                        "are checked against the hub's resource identifier "
                        "(--mercure-audience)");
    if (!ex->audience && aud)
        return jwt_fail(res, JWT_EAUD, "the token's aud names an audience, and this hub has "
                        "none configured (--mercure-audience)");
    return 0;
}

/* Splits "H.P.S": *p1 and *p2 get the two dots. 0, or -1. */
static int jwt_split(const char *token, size_t len, size_t *p1, size_t *p2,
                     struct jwt_result *res)
{
    const char *d1 = memchr(token, '.', len), *d2 = NULL, *d3 = NULL;
    size_t dots = 0, i;

    for (i = 0; i < len; i++)
        dots += token[i] == '.';
    if (dots == 4)
        return jwt_fail(res, JWT_EMALFORMED, "the token is a JWE (five parts): the hub takes "
                        "signed tokens (JWS) only");
    if (d1)
        d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token));
    if (d2)
        d3 = memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token));
    if (!d1 || !d2 || d3)
        return jwt_fail(res, JWT_EMALFORMED, "the token is not three base64url parts "
                        "separated by dots (a JWS in compact serialization)");
    *p1 = (size_t)(d1 - token);
    *p2 = (size_t)(d2 - token);
    /* An empty signature is refused later, once the header has said why it is empty. */
    if (*p1 == 0 || *p2 == *p1 + 1)
        return jwt_fail(res, JWT_EMALFORMED, "the token has an empty %s",
                        *p1 == 0 ? "header" : "claims part");
    if (*p1 > JWT_HEADER_MAX)
        return jwt_fail(res, JWT_ETOOBIG, "the token's header is longer than %d bytes",
                        JWT_HEADER_MAX);
    return 0;
}

/* The signature part decoded, and the key that verifies it. 0, or -1. */
static int jwt_signature(const char *token, size_t len, size_t p2,
                         const struct jwt_key *const *keys, size_t nkeys, enum jwt_alg alg,
                         const char *kid, const char *iss, struct jwt_result *res)
{
    unsigned char *sig = malloc((len - p2 - 1) / 4 * 3 + 3);
    long n;
    int r;

    if (!sig)
        return jwt_fail(res, JWT_EINTERNAL, "out of memory");
    n = jwt_b64url_decode(token + p2 + 1, len - p2 - 1, sig);
    if (n == 0)
        r = jwt_fail(res, JWT_ESIG, "the token has no signature");
    else if (n < 0)
        r = jwt_fail(res, JWT_EMALFORMED, "the token's signature is not base64url (no "
                     "padding, no other character, no unused bit set)");
    else
        r = jwt_pick_key(keys, nkeys, alg, kid, iss, token, p2, sig, (size_t)n, res);
    free(sig);
    return r;
}

int jwt_verify(const char *token, size_t len, const struct jwt_key *const *keys, size_t nkeys,
               const struct jwt_expect *ex, struct jwt_result *res)
{
    size_t p1 = 0, p2 = 0;
    json_t *hdr, *claims;
    enum jwt_alg alg = JWT_ALG_INVALID;
    const char *kid = NULL, *iss;
    int r;

    memset(res, 0, sizeof *res);
    if (!token || len == 0)
        return jwt_fail(res, JWT_EEMPTY, "no token");
    if (len > JWT_TOKEN_MAX)
        return jwt_fail(res, JWT_ETOOBIG, "the token is longer than %d bytes", JWT_TOKEN_MAX);
    if (jwt_split(token, len, &p1, &p2, res) < 0)
        return -1;
    hdr = jwt_part_json(token, p1, JWT_HEADER_DEPTH_MAX, "header", res);
    if (!hdr)
        return -1;
    r = jwt_header(hdr, ex, res, &alg, &kid);
    if (r == 0) {
        claims = jwt_part_json(token + p1 + 1, p2 - p1 - 1, JWT_DEPTH_MAX, "claims set", res);
        if (!claims) {
            r = -1;
        } else {
            const json_t *i = json_object_get(claims, "iss");

            iss = json_is_string(i) ? json_string_value(i) : NULL;
            if (i && !iss)
                r = jwt_fail(res, JWT_ECLAIM, "the token's iss is not a string");
            else
                r = jwt_signature(token, len, p2, keys, nkeys, alg, kid, iss, res);
            if (r == 0)
                res->claims = claims;
            else
                json_decref(claims);
        }
    }
    json_decref(hdr); /* kid pointed into it: used above only */
    if (r < 0)
        return -1;
    if (jwt_times(res->claims, ex, res) < 0 || jwt_who(res->claims, ex, res) < 0)
        return -1;
    res->status = JWT_OK;
    snprintf(res->why, sizeof res->why, "valid");
    return 0;
}
