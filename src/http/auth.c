/* auth.c -- who may publish or subscribe: key files, bearer keys, signed subscription URLs (libcrypto) */
#include "config.h"

#include "http/auth.h"
#include "core/secretfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

/* A key file larger than this is refused: keys are a few lines. */
#define AUTH_FILE_MAX (64 * 1024)
/* A key is a token of at least this many bytes (128 bits of a hex key). */
#define AUTH_KEY_MIN 16
/* What a signature covers: at most this many names of at most this many bytes. */
#define AUTH_NAMES_MAX 16
#define AUTH_NAME_MAX 128
/* Room for "EXPIRES" (20 digits) and 16 times "\nNAME". */
#define AUTH_MSG_MAX (20 + AUTH_NAMES_MAX * (1 + AUTH_NAME_MAX) + 1)
/* The base64url form of a SHA-256 digest, without padding: 43 characters. */
#define AUTH_SIG_LEN 43

struct auth_key {
    const char *key;                      /* points into buf, NUL-terminated */
    size_t len;
    unsigned char digest[SHA256_DIGEST_LENGTH];
};

struct auth_keys {
    char *buf;                            /* the file's bytes; keys are cut out of it */
    size_t buflen;
    size_t n;
    struct auth_key *keys;                /* n of them */
};

/* SHA-256 of (p, n) into out. 0, or -1. */
static int auth_sha256(const void *p, size_t n, unsigned char out[SHA256_DIGEST_LENGTH])
{
    unsigned int len = 0;

    if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1 || len != SHA256_DIGEST_LENGTH)
        return -1;
    return 0;
}

void auth_keys_free(struct auth_keys *k)
{
    if (!k)
        return;
    if (k->keys) {
        OPENSSL_cleanse(k->keys, k->n * sizeof *k->keys);
        free(k->keys);
    }
    if (k->buf) {
        OPENSSL_cleanse(k->buf, k->buflen);
        free(k->buf);
    }
    free(k);
}

static int auth_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Checks a key (len bytes at key, trimmed) of line `lineno`: a token of at
 * least AUTH_KEY_MIN bytes, each printable ASCII other than a space (0x21
 * to 0x7e): no control byte, no DEL, nothing beyond ASCII (a no-break
 * space is not a key). 0, or -1 with a one-line message in err that names
 * the line and never quotes the key. */
static int auth_key_check(const char *key, size_t len, size_t lineno, char *err, size_t errlen)
{
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)key[i];

        if (c <= 0x20 || c >= 0x7f) {
            snprintf(err, errlen, "line %zu: a key must be printable ASCII without spaces "
                     "(byte 0x%02x at column %zu)", lineno, c, i + 1);
            return -1;
        }
    }
    if (len < AUTH_KEY_MIN) {
        snprintf(err, errlen, "line %zu: a key must be at least %d bytes (this one has %zu): "
                 "make one with head -c 32 /dev/urandom | base64", lineno, AUTH_KEY_MIN, len);
        return -1;
    }
    return 0;
}

/* Cuts the keys out of k->buf (in place: each line end becomes a NUL),
 * checking each (auth_key_check). 0, or -1 with a one-line message in
 * err (a bad key, or out of memory). */
static int auth_parse(struct auth_keys *k, char *err, size_t errlen)
{
    size_t cap = 0, i = 0, lineno = 0;

    while (i < k->buflen) {
        size_t start = i, end;
        char *line;

        lineno++;
        while (i < k->buflen && k->buf[i] != '\n')
            i++;
        end = i;
        if (i < k->buflen)
            k->buf[i++] = '\0';
        /* Trim spaces and tabs (and the CR of a CRLF line end) on both sides. */
        while (start < end && auth_is_blank(k->buf[start]))
            start++;
        while (end > start && auth_is_blank(k->buf[end - 1]))
            end--;
        if (start == end || k->buf[start] == '#')
            continue;
        k->buf[end] = '\0';
        line = k->buf + start;
        if (auth_key_check(line, end - start, lineno, err, errlen) < 0)
            return -1;
        if (k->n == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            struct auth_key *nk = malloc(ncap * sizeof *nk);

            if (!nk) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            if (k->n) {
                memcpy(nk, k->keys, k->n * sizeof *nk);
                OPENSSL_cleanse(k->keys, k->n * sizeof *nk);
            }
            free(k->keys);
            k->keys = nk;
            cap = ncap;
        }
        k->keys[k->n].key = line;
        k->keys[k->n].len = end - start;
        if (auth_sha256(line, end - start, k->keys[k->n].digest) < 0) {
            snprintf(err, errlen, "cannot hash its keys (SHA-256)");
            return -1;
        }
        k->n++;
    }
    return 0;
}

struct auth_keys *auth_keys_load(const char *path, int strict, char *err, size_t errlen,
                                 int *warned)
{
    struct secretfile f;
    struct auth_keys *k;

    if (warned)
        *warned = 0;
    if (secretfile_read(&f, path, AUTH_FILE_MAX, "add a key", err, errlen) < 0)
        return NULL;
    if (f.risk && f.severe && strict) {
        snprintf(err, errlen, "%s", f.risk);
        secretfile_free(&f);
        return NULL;
    }
    k = calloc(1, sizeof *k);
    if (!k) {
        snprintf(err, errlen, "out of memory");
        secretfile_free(&f);
        return NULL;
    }
    k->buf = f.buf; /* the keys' bytes are k's now, wiped by auth_keys_free */
    k->buflen = f.len;
    if (memchr(k->buf, '\0', k->buflen)) {
        snprintf(err, errlen, "holds a NUL byte: not a key file");
        auth_keys_free(k);
        return NULL;
    }
    if (auth_parse(k, err, errlen) < 0) {
        auth_keys_free(k);
        return NULL;
    }
    if (k->n == 0) {
        snprintf(err, errlen, "holds no key (one key a line; '#' starts a comment)");
        auth_keys_free(k);
        return NULL;
    }
    if (f.risk) {
        snprintf(err, errlen, "%s", f.risk);
        if (warned)
            *warned = 1;
    }
    return k;
}

const char *auth_first_key(const struct auth_keys *k, size_t *len)
{
    if (!k || k->n == 0)
        return NULL;
    if (len)
        *len = k->keys[0].len;
    return k->keys[0].key;
}

int auth_bearer_ok(const struct auth_keys *k, const char *authorization)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    const char *tok;
    size_t len, i;
    int match = 0;

    if (!k || !authorization)
        return 0;
    if (strncasecmp(authorization, "Bearer", 6) != 0 ||
        (authorization[6] != ' ' && authorization[6] != '\t'))
        return 0;
    tok = authorization + 6;
    while (*tok == ' ' || *tok == '\t')
        tok++;
    len = strlen(tok);
    while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
        len--;
    if (len == 0)
        return 0;
    if (auth_sha256(tok, len, digest) < 0)
        return 0;
    /* Every key is compared, match or not: the time does not tell which. */
    for (i = 0; i < k->n; i++)
        match |= CRYPTO_memcmp(digest, k->keys[i].digest, sizeof digest) == 0;
    OPENSSL_cleanse(digest, sizeof digest);
    return match;
}

static int auth_strcmp_p(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Checks the names (1..AUTH_NAMES_MAX of them, each 1..AUTH_NAME_MAX
 * bytes without a line end) and writes "EXPIRES\nA\nB..." with the names
 * sorted into msg (AUTH_MSG_MAX bytes). Its length, or -1 with *why set. */
static int auth_message(unsigned long long expires, const char *const *names, size_t n,
                        char *msg, const char **why)
{
    const char *sorted[AUTH_NAMES_MAX];
    size_t i;
    int len;

    if (n == 0 || !names) {
        *why = "no channel to sign";
        return -1;
    }
    if (n > AUTH_NAMES_MAX) {
        *why = "too many channels (at most 16)";
        return -1;
    }
    for (i = 0; i < n; i++) {
        size_t l = names[i] ? strlen(names[i]) : 0;

        if (l == 0 || l > AUTH_NAME_MAX || strchr(names[i], '\n')) {
            *why = "a channel name must be 1 to 128 bytes";
            return -1;
        }
        sorted[i] = names[i];
    }
    qsort(sorted, n, sizeof sorted[0], auth_strcmp_p);
    len = snprintf(msg, AUTH_MSG_MAX, "%llu", expires);
    if (len < 0 || len >= AUTH_MSG_MAX) {
        *why = "expires must be Unix seconds";
        return -1;
    }
    for (i = 0; i < n; i++) {
        size_t l = strlen(sorted[i]);

        /* Room is certain: at most 20 + 16 * 129 bytes and the NUL. */
        msg[len++] = '\n';
        memcpy(msg + len, sorted[i], l);
        len += (int)l;
    }
    msg[len] = '\0';
    return len;
}

/* HMAC-SHA256(key, msg) into md. 0, or -1. */
static int auth_hmac(const char *key, size_t keylen, const char *msg, size_t msglen,
                     unsigned char md[SHA256_DIGEST_LENGTH])
{
    unsigned int mdlen = 0;

    if (!key || keylen == 0 || keylen > INT_MAX)
        return -1;
    if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, msglen, md, &mdlen) ||
        mdlen != SHA256_DIGEST_LENGTH)
        return -1;
    return 0;
}

int auth_sign(const char *key, size_t keylen, unsigned long long expires,
              const char *const *names, size_t n, char *out)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    unsigned char b64[4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1];
    char msg[AUTH_MSG_MAX];
    const char *why;
    int len, i;

    len = auth_message(expires, names, n, msg, &why);
    if (len < 0)
        return -1;
    if (auth_hmac(key, keylen, msg, (size_t)len, md) < 0)
        return -1;
    len = EVP_EncodeBlock(b64, md, SHA256_DIGEST_LENGTH);
    OPENSSL_cleanse(md, sizeof md);
    if (len != AUTH_SIG_LEN + 1)
        return -1;
    for (i = 0; i < AUTH_SIG_LEN; i++) {
        char c = (char)b64[i];

        out[i] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    out[AUTH_SIG_LEN] = '\0';
    return 0;
}

/* Decodes a base64url signature without padding: exactly 43 characters of
 * [A-Za-z0-9_-] that encode exactly 32 bytes (the unused low bits zero).
 * 0, or -1. */
static int auth_sig_decode(const char *sig, unsigned char md[SHA256_DIGEST_LENGTH])
{
    static const char alpha[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char b64[AUTH_SIG_LEN + 2];
    unsigned char raw[SHA256_DIGEST_LENGTH + 1];
    const char *last;
    size_t i;

    if (strlen(sig) != AUTH_SIG_LEN)
        return -1;
    for (i = 0; i < AUTH_SIG_LEN; i++) {
        char c = sig[i];

        if (!memchr(alpha, c, sizeof alpha - 1))
            return -1;
        b64[i] = (unsigned char)(c == '-' ? '+' : c == '_' ? '/' : c);
    }
    /* 32 bytes are 256 bits; 43 characters carry 258: the last one's two
     * low bits must be zero, or another string would decode the same. */
    last = memchr(alpha, sig[AUTH_SIG_LEN - 1], sizeof alpha - 1);
    if (!last || ((last - alpha) & 3) != 0)
        return -1;
    b64[AUTH_SIG_LEN] = '=';
    b64[AUTH_SIG_LEN + 1] = '\0';
    /* EVP_DecodeBlock counts the padding: 44 characters give 33 bytes. */
    if (EVP_DecodeBlock(raw, b64, AUTH_SIG_LEN + 1) != SHA256_DIGEST_LENGTH + 1)
        return -1;
    memcpy(md, raw, SHA256_DIGEST_LENGTH);
    return 0;
}

/* Parses decimal Unix seconds: 1 to 20 digits, nothing else, no overflow. 0, or -1. */
static int auth_parse_expires(const char *s, unsigned long long *out)
{
    unsigned long long v = 0;
    size_t i;

    for (i = 0; s[i]; i++) {
        unsigned d;

        if (i == 20 || s[i] < '0' || s[i] > '9')
            return -1;
        d = (unsigned)(s[i] - '0');
        if (v > (ULLONG_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (i == 0)
        return -1;
    *out = v;
    return 0;
}

int auth_sig_ok(const struct auth_keys *k, const char *expires, const char *sig,
                const char *const *names, size_t n, unsigned long long now, const char **why)
{
    unsigned char want[SHA256_DIGEST_LENGTH], got[SHA256_DIGEST_LENGTH];
    char msg[AUTH_MSG_MAX];
    unsigned long long exp;
    const char *dummy;
    size_t i;
    int len, match = 0, failed = 0;

    if (!why)
        why = &dummy;
    *why = "the signature does not match";
    if (!k || k->n == 0) {
        *why = "no key to check signatures with";
        return 0;
    }
    if (!expires || !*expires) {
        *why = "expires is missing";
        return 0;
    }
    if (!sig || !*sig) {
        *why = "sig is missing";
        return 0;
    }
    if (auth_parse_expires(expires, &exp) < 0) {
        *why = "expires must be Unix seconds";
        return 0;
    }
    if (exp < now) {
        *why = "the signed URL has expired";
        return 0;
    }
    len = auth_message(exp, names, n, msg, why);
    if (len < 0)
        return 0;
    if (auth_sig_decode(sig, got) < 0) {
        *why = "sig must be base64url of a SHA-256 HMAC";
        return 0;
    }
    /* Every key is tried, match or not: the time does not tell which. */
    for (i = 0; i < k->n; i++) {
        if (auth_hmac(k->keys[i].key, k->keys[i].len, msg, (size_t)len, want) < 0) {
            failed = 1;
            continue;
        }
        match |= CRYPTO_memcmp(want, got, sizeof want) == 0;
    }
    OPENSSL_cleanse(want, sizeof want);
    if (match) {
        *why = "the signature matches";
        return 1;
    }
    *why = failed ? "the signature cannot be checked" : "the signature does not match";
    return 0;
}
