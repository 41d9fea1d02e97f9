/* test_jwt_key.c -- unit tests of jwt's keys: files, secrets, PEM keys and certificates, the one algorithm each is bound to */
/* The keys come from jwt_vectors.h (openssl(1), see make_tokens.py). Key files are written
 * to a fresh directory under $TMPDIR (or /tmp), removed at the end. Each refusal's test
 * name ends with the reason. */
#include "config.h"

#include "mercure/jwt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jwt_vectors.h"
#include "tap.h"

static char dir[4096];

/* 1 when (bytes, alg) is refused with a reason containing want. */
static int key_refused(const char *bytes, size_t len, const char *alg, const char *want,
                       char *err, size_t errlen)
{
    struct jwt_key *k = jwt_key_parse(bytes, len, alg, err, errlen);

    if (k) {
        jwt_key_free(k);
        snprintf(err, errlen, "loaded");
        return 0;
    }
    return strstr(err, want) != NULL;
}

static const struct jwt_expect leg = { V_NOW, JWT_GEN_LEGACY, NULL, NULL, 0 };

/* 1 when tok verifies with k (legacy); *st gets the status. */
static int verifies(const char *tok, struct jwt_key *k, enum jwt_status *st)
{
    struct jwt_result r;
    int rc = jwt_verify(tok, strlen(tok), (const struct jwt_key *const *)&k, 1, &leg, &r);

    json_decref(r.claims);
    *st = r.status;
    return rc == 0;
}

static void test_key_inference(void)
{
    static const struct {
        const char *pem;
        enum jwt_alg alg;
        const char *what;
    } pems[] = {
        { PUB_RSA, JWT_RS256, "an RSA SubjectPublicKeyInfo" },
        { PUB_RSA_PKCS1, JWT_RS256, "a PKCS#1 RSA PUBLIC KEY" },
        { CERT_RSA, JWT_RS256, "an X.509 certificate's RSA key" },
        { PUB_EC, JWT_ES256, "an EC P-256 key" },
        { PUB_ED25519, JWT_EDDSA, "an Ed25519 key" },
        { SECRET_HS256 "\n", JWT_HS256, "a secret" },
    };
    char err[256];
    size_t i;

    for (i = 0; i < sizeof pems / sizeof pems[0]; i++) {
        struct jwt_key *k = jwt_key_parse(pems[i].pem, strlen(pems[i].pem), NULL, err, sizeof err);

        ok(k && jwt_key_alg(k) == pems[i].alg && err[0] == '\0', "keys: %s is bound to %s",
           pems[i].what, jwt_alg_name(pems[i].alg));
        jwt_key_free(k);
        k = jwt_key_parse(pems[i].pem, strlen(pems[i].pem), jwt_alg_name(pems[i].alg), err,
                          sizeof err);
        ok(k && jwt_key_alg(k) == pems[i].alg, "keys: %s takes %s given explicitly",
           pems[i].what, jwt_alg_name(pems[i].alg));
        jwt_key_free(k);
    }
    ok(jwt_alg_from_name("none") == JWT_ALG_INVALID && jwt_alg_from_name("hs256") ==
       JWT_ALG_INVALID && jwt_alg_from_name("EdDSA") == JWT_EDDSA,
       "keys: alg names are exact; none is no alg");
}

static void test_key_refusals(void)
{
    static const struct {
        const char *bytes, *alg, *want, *name;
    } bad[] = {
        { SECRET_HS256, "none", "alg none is never accepted", "alg none" },
        { SECRET_HS256, "hs256", "unknown alg", "an alg in the wrong case" },
        { SECRET_HS256, "PS256", "unknown alg", "an alg not offered (PS256)" },
        { PUB_RSA, "HS256", "an HMAC secret is never a public key", "HS256 with a PEM key" },
        { PUB_RSA, "ES256", "ES256 does not fit this key, which takes RS256", "ES256, RSA key" },
        { PUB_EC, "RS256", "RS256 does not fit this key, which takes ES256", "RS256, EC key" },
        { PUB_ED25519, "ES256", "does not fit", "ES256 with an Ed25519 key" },
        { SECRET_HS256, "RS256", "RS256 needs a PEM public key", "RS256 with a secret" },
        { PUB_RSA1024, NULL, "RSA key of 1024 bits", "an RSA key under 2048 bits" },
        { PUB_EC384, NULL, "another curve than P-256", "an EC P-384 key" },
        { PUB_ED448, NULL, "no accepted alg uses", "an Ed448 key" },
        { PRIV_EC_X, NULL, "holds a private key", "a private key" },
        { "0123456789abcdef0123456789abcde", NULL, "at least 32 bytes", "a 31-byte HS256 secret" },
        { SECRET_HS256, "HS384", "HS384 needs a secret of at least 48 bytes",
          "a 41-byte HS384 secret" },
        { "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", "HS512",
          "HS512 needs a secret of at least 64 bytes (RFC 7518 3.2), this one has 63",
          "a 63-byte HS512 secret" },
        { SECRET_HS256 "\nsecond line\n", NULL, "more than one line", "a two-line secret" },
        { "", NULL, "is empty", "an empty file" },
        { "\n", NULL, "at least 32 bytes", "a file of one empty line" },
        { "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n", NULL,
          "no PEM block that decodes", "a damaged PEM block (never taken as a secret)" },
        { "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", NULL,
          "cannot be decoded", "a PEM block that is no key" },
        { "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n", NULL, "no public key nor certificate",
          "a PEM block of another kind" },
    };
    char err[256], two[8192];
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ok(key_refused(bad[i].bytes, strlen(bad[i].bytes), bad[i].alg, bad[i].want, err,
                       sizeof err) && !strchr(err, '\n'), "keys: %s refused: %s", bad[i].name, err);
    ok(key_refused("0123456789abcdef0123456789abcdef\0x", 34, NULL, "NUL byte", err, sizeof err),
       "keys: a secret with a NUL byte refused: %s", err);
    snprintf(two, sizeof two, "%s%s", PUB_EC, PUB_EC2);
    ok(key_refused(two, strlen(two), NULL, "more than one PEM block", err, sizeof err),
       "keys: two PEM blocks refused: %s", err);
}

static void test_key_secrets(void)
{
    char err[256];
    struct jwt_key *k;
    enum jwt_status st;
    const char *crlf = SECRET_HS256 "\r\n", *bare = SECRET_HS256;

    k = jwt_key_parse(crlf, strlen(crlf), NULL, err, sizeof err);
    ok(k && verifies(TOK_LEG_HS256, k, &st), "secrets: a CRLF line end is not part of the secret");
    jwt_key_free(k);
    k = jwt_key_parse(bare, strlen(bare), NULL, err, sizeof err);
    ok(k && verifies(TOK_LEG_HS256, k, &st),
       "secrets: a file without a line end holds the secret as it is");
    jwt_key_free(k);
    k = jwt_key_parse(" " SECRET_HS256, strlen(SECRET_HS256) + 1, NULL, err, sizeof err);
    ok(k && !verifies(TOK_LEG_HS256, k, &st) && st == JWT_ESIG,
       "secrets: spaces are part of the secret (a leading space makes another key)");
    jwt_key_free(k);
    k = jwt_key_parse("0123456789abcdef0123456789abcdef", 32, NULL, err, sizeof err);
    ok(k != NULL, "secrets: 32 bytes are enough for HS256 (RFC 7518 3.2)");
    jwt_key_free(k);
    k = jwt_key_parse(SECRET_HS384, strlen(SECRET_HS384), "HS384", err, sizeof err);
    ok(k && jwt_key_alg(k) == JWT_HS384 && verifies(TOK_LEG_HS384, k, &st),
       "secrets: HS384 given explicitly verifies an HS384 token");
    jwt_key_free(k);
    k = jwt_key_parse(SECRET_HS512, strlen(SECRET_HS512), "HS512", err, sizeof err);
    ok(k && !verifies(TOK_LEG_HS384, k, &st) && st == JWT_EALG,
       "secrets: an HS512 key never checks an HS384 token");
    jwt_key_free(k);
}

/* Writes s (len bytes) to dir/name with mode; returns the path (static). */
static const char *keyfile(const char *name, const char *s, size_t len, mode_t mode)
{
    static char path[4200];
    int fd;

    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        abort();
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, s, len) != (ssize_t)len || fchmod(fd, mode) < 0 || close(fd) < 0) {
        perror(path);
        abort();
    }
    return path;
}

static void test_key_files(void)
{
    char err[256], *big;
    struct jwt_key *k;
    const char *p;

    k = jwt_key_load(keyfile("s", SECRET_HS256 "\n", strlen(SECRET_HS256) + 1, 0600), NULL, err,
                     sizeof err);
    ok(k && jwt_key_alg(k) == JWT_HS256 && err[0] == '\0', "files: a secret, mode 0600, loads");
    jwt_key_free(k);
    k = jwt_key_load(keyfile("s", SECRET_HS256 "\n", strlen(SECRET_HS256) + 1, 0644), NULL, err,
                     sizeof err);
    ok(k && strstr(err, "readable by others"), "files: a world-readable secret loads, with a "
       "warning: %s", err);
    jwt_key_free(k);
    k = jwt_key_load(keyfile("p", PUB_EC, strlen(PUB_EC), 0644), NULL, err, sizeof err);
    ok(k && err[0] == '\0', "files: a world-readable public key loads without a warning");
    jwt_key_free(k);
    k = jwt_key_load(keyfile("s", SECRET_HS256, strlen(SECRET_HS256), 0620), NULL, err, sizeof err);
    ok(!k && strstr(err, "writable by its group"), "files: group-writable refused: %s", err);
    k = jwt_key_load(keyfile("s", SECRET_HS256, strlen(SECRET_HS256), 0602), NULL, err, sizeof err);
    ok(!k && strstr(err, "writable by its group or others"), "files: world-writable refused: %s",
       err);
    k = jwt_key_load(dir, NULL, err, sizeof err);
    ok(!k && strstr(err, "not a regular file"), "files: a directory refused: %s", err);
    p = keyfile("gone", "x", 1, 0600);
    if (unlink(p) < 0)
        abort();
    k = jwt_key_load(p, NULL, err, sizeof err);
    ok(!k && strstr(err, "cannot open it"), "files: a missing file refused: %s", err);
    big = malloc(JWT_KEY_FILE_MAX + 2);
    if (!big)
        abort();
    memset(big, 'k', JWT_KEY_FILE_MAX + 1);
    k = jwt_key_load(keyfile("big", big, JWT_KEY_FILE_MAX + 1, 0600), NULL, err, sizeof err);
    ok(!k && strstr(err, "larger than"), "files: a file over %d bytes refused: %s",
       JWT_KEY_FILE_MAX, err);
    free(big);
    p = keyfile("other", SECRET_HS256, strlen(SECRET_HS256), 0600);
    if (geteuid() == 0 && chown(p, 12345, (gid_t)-1) == 0) {
        k = jwt_key_load(p, NULL, err, sizeof err);
        ok(!k && strstr(err, "owned by uid 12345"), "files: a file of another user refused: %s",
           err);
    } else {
        diag("files: not root: the file-of-another-user check needs chown");
    }
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");

    if (snprintf(dir, sizeof dir, "%s/test_jwt_key.XXXXXX", tmp && *tmp ? tmp : "/tmp") >=
        (int)sizeof dir || !mkdtemp(dir)) {
        perror("mkdtemp");
        return 99;
    }
    test_key_inference();
    test_key_refusals();
    test_key_secrets();
    test_key_files();
    {
        static const char *names[] = { "s", "p", "big", "other", "gone" };
        char path[4200];
        size_t i;

        for (i = 0; i < sizeof names / sizeof names[0]; i++)
            if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) < (int)sizeof path &&
                unlink(path) < 0 && errno != ENOENT)
                diag("cannot remove %s: %s", path, strerror(errno));
        if (rmdir(dir) < 0)
            diag("cannot remove %s: %s", dir, strerror(errno));
    }
    return done_testing();
}
