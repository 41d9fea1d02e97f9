/* test_auth.c -- unit tests of auth: key files, bearer keys, signed subscription URLs */
/* The known-answer signatures were computed independently, with Python's hmac:
 *   python3 -c "import hmac,hashlib,base64;print(base64.urlsafe_b64encode(hmac.new(
 *     b'k3y',b'1900000000\na\nb',hashlib.sha256).digest()).rstrip(b'=').decode())"
 * Key files are written to a fresh directory under $TMPDIR (or /tmp), removed at the end. */
#include "config.h"

#include "http/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

#define NOW 1800000000ULL
/* A key of exactly the shortest length a key file takes (16 bytes). */
#define KEY16 "0123456789abcdef"

static char dir[4096];
static char path[4200];

/* Writes s to dir/name with mode; sets path. Aborts on failure (a broken test setup). */
static const char *keyfile(const char *name, const char *s, mode_t mode)
{
    int fd;
    size_t len = strlen(s);

    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        abort();
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, s, len) != (ssize_t)len || fchmod(fd, mode) < 0 || close(fd) < 0) {
        perror(path);
        abort();
    }
    return path;
}

/* As the responder loads a key file (strict: refuses a file others may change). */
static struct auth_keys *load(const char *name, const char *s, mode_t mode, int *warned,
                              char *err, size_t errlen)
{
    return auth_keys_load(keyfile(name, s, mode), 1, err, errlen, warned);
}

static int first_is(const struct auth_keys *k, const char *want)
{
    size_t len = 0;
    const char *key = auth_first_key(k, &len);

    return key && len == strlen(want) && memcmp(key, want, len) == 0;
}

static void test_key_files(void)
{
    char err[256];
    int warned = -1;
    struct auth_keys *k;

    k = load("a", "# the keys\n\n  alpha-0123456789ab \t\n#beta-0123456789ab\n\tgamma-0123456789ab\n",
             0600, &warned, err, sizeof err);
    ok(k != NULL && warned == 0, "keys: a file with comments, blanks and padding loads");
    ok(first_is(k, "alpha-0123456789ab"), "keys: spaces and tabs are trimmed, comments skipped");
    ok(auth_bearer_ok(k, "Bearer gamma-0123456789ab"), "keys: the second key is loaded");
    ok(!auth_bearer_ok(k, "Bearer #beta-0123456789ab") && !auth_bearer_ok(k, "Bearer beta-0123456789ab"),
       "keys: a commented-out key is not a key");
    auth_keys_free(k);

    k = load("crlf", "one-0123456789abc\r\n\r\n# c\r\ntwo-0123456789abc\r\n", 0600, &warned, err,
             sizeof err);
    ok(k != NULL && first_is(k, "one-0123456789abc"), "keys: CRLF line ends are not part of the key");
    ok(auth_bearer_ok(k, "Bearer two-0123456789abc") && !auth_bearer_ok(k, "Bearer two-0123456789abc\r"),
       "keys: CRLF: the last key too");
    auth_keys_free(k);

    k = load("nolf", "last-line-without-newline", 0600, &warned, err, sizeof err);
    ok(k != NULL && first_is(k, "last-line-without-newline"), "keys: a last line without a line end");
    auth_keys_free(k);

    err[0] = '\0';
    k = load("empty", "# only a comment\n\n   \n\t\n", 0600, &warned, err, sizeof err);
    ok(k == NULL && strstr(err, "no key") != NULL, "keys: a file with no key is refused: %s", err);
    k = load("empty2", "", 0600, &warned, err, sizeof err);
    ok(k == NULL && strstr(err, "no key") != NULL, "keys: an empty file is refused");

    err[0] = '\0';
    if (snprintf(path, sizeof path, "%s/missing", dir) >= (int)sizeof path)
        abort();
    k = auth_keys_load(path, 1, err, sizeof err, &warned);
    ok(k == NULL && err[0] != '\0' && !strchr(err, '\n'), "keys: a missing file is refused: %s", err);

    k = auth_keys_load(dir, 1, err, sizeof err, &warned);
    ok(k == NULL && err[0] != '\0', "keys: a directory is refused: %s", err);

    if (geteuid() != 0) {
        k = load("unreadable", KEY16 "\n", 0000, &warned, err, sizeof err);
        ok(k == NULL && strstr(err, "ermission") != NULL, "keys: an unreadable file is refused: %s", err);
    } else {
        /* root reads anything: the check runs in a child that gave up root */
        pid_t pid;
        int status = -1;
        k = load("unreadable", KEY16 "\n", 0000, &warned, err, sizeof err);
        auth_keys_free(k);
        if (snprintf(path, sizeof path, "%s/unreadable", dir) >= (int)sizeof path ||
            chmod(dir, 0755) < 0)
            abort();
        pid = fork();
        if (pid == 0) {
            struct auth_keys *kk;
            if (setgid(65534) < 0 || setuid(65534) < 0)
                _exit(3);
            kk = auth_keys_load(path, 1, err, sizeof err, &warned);
            _exit(kk == NULL && strstr(err, "ermission") != NULL ? 0 : 1);
        }
        ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
               WEXITSTATUS(status) == 0,
           "keys: an unreadable file is refused (checked as user 65534)");
    }

    err[0] = '\0';
    warned = 0;
    k = load("world", KEY16 "\n", 0644, &warned, err, sizeof err);
    ok(k != NULL && warned == 1 && strstr(err, "readable by others") != NULL,
       "keys: a world-readable file loads with a warning: %s", err);
    ok(auth_bearer_ok(k, "Bearer " KEY16), "keys: the world-readable file's key works");
    auth_keys_free(k);

    err[0] = '\0';
    warned = 1;
    k = load("group", KEY16 "\n", 0640, &warned, err, sizeof err);
    ok(k != NULL && warned == 0 && err[0] == '\0', "keys: a group-readable file: no warning");
    auth_keys_free(k);

    auth_keys_free(NULL);
    ok(auth_first_key(NULL, NULL) == NULL, "keys: auth_first_key(NULL) is NULL");
}

/* A refused key file: NULL, one line in err naming `want` (and the line), never the key. */
static void refused(const char *name, const char *text, mode_t mode, const char *want,
                    const char *secret, const char *what)
{
    char err[256];
    int warned = 0;
    struct auth_keys *k;

    err[0] = '\0';
    k = load(name, text, mode, &warned, err, sizeof err);
    ok(k == NULL && strstr(err, want) != NULL && !strchr(err, '\n') &&
           (!secret || !strstr(err, secret)),
       "finding 8: %s: refused (%s)", what, err);
    auth_keys_free(k);
}

/* Finding 8 of issue 18: a key is a token of 16 bytes or more, printable
 * ASCII without spaces; a key file others may change is refused. */
static void test_key_tokens(void)
{
    char err[256];
    int warned = -1;
    struct auth_keys *k;

    refused("nbsp", "# keys\n\xc2\xa0\n", 0600, "line 2: a key must be printable ASCII without "
            "spaces (byte 0xc2 at column 1)", NULL,
            "a line of only a no-break space (0xC2 0xA0) is no key");
    refused("nbsp2", KEY16 "\n\xc2\xa0\n", 0600, "byte 0xc2 at column 1", NULL,
            "a no-break space after a good key: the byte and its column are named");
    refused("ff", "\f\n", 0600, "line 1: a key must be printable ASCII", NULL,
            "a line of only a form feed is no key");
    refused("vt", "0123456789\vabcdefgh\n", 0600, "byte 0x0b at column 11", NULL,
            "a key with a vertical tab inside");
    refused("space", "0123456789 abcdefgh\n", 0600, "byte 0x20 at column 11", NULL,
            "a key with a space inside");
    refused("del", "0123456789\x7f" "abcdefgh\n", 0600, "byte 0x7f", NULL, "a key with DEL");
    refused("esc", "0123456789\x1b[2Jabcdef\n", 0600, "byte 0x1b", NULL, "a key with ESC");
    refused("utf8", "0123456789\xc3\xa9" "abcdefgh\n", 0600, "byte 0xc3", NULL,
            "a key with a non-ASCII character (UTF-8 e-acute)");
    refused("short", "# a comment\n\nshort-key\n", 0600, "line 3: a key must be at least 16 bytes "
            "(this one has 9)", "short-key", "a key of 9 bytes, without quoting it");
    refused("short15", KEY16 "\n0123456789abcde\n", 0600, "line 2: a key must be at least 16 bytes",
            "0123456789abcde", "a key of 15 bytes after a good one");

    k = load("exact16", "  " KEY16 "\t\r\n", 0600, &warned, err, sizeof err);
    ok(k != NULL && first_is(k, KEY16) && auth_bearer_ok(k, "Bearer " KEY16),
       "finding 8: a key of exactly 16 bytes (spaces, tab and CR around it trimmed) loads");
    auth_keys_free(k);
    k = load("printable", "!\"#$%&'()*+,-./0123456789:;<=>?@AZ[\\]^_`az{|}~\n", 0600, &warned,
             err, sizeof err);
    ok(k != NULL && auth_bearer_ok(k, "Bearer !\"#$%&'()*+,-./0123456789:;<=>?@AZ[\\]^_`az{|}~"),
       "finding 8: every printable ASCII byte but the space is allowed in a key");
    auth_keys_free(k);

    /* Who may change the file: the responder (strict) refuses, the commands warn. */
    refused("w-other", KEY16 "\n", 0602, "writable by its group or others", NULL,
            "mode 0602 (anyone may add a key)");
    refused("w-group", KEY16 "\n", 0620, "writable by its group or others", NULL,
            "mode 0620 (the group may add a key)");
    warned = 0;
    err[0] = '\0';
    k = auth_keys_load(keyfile("w-cmd", KEY16 "\n", 0622), 0, err, sizeof err, &warned);
    ok(k != NULL && warned == 1 && strstr(err, "writable by its group or others") != NULL,
       "finding 8: not strict (the sign and publish commands): mode 0622 loads with a "
       "warning: %s", err);
    auth_keys_free(k);
    warned = 0;
    k = auth_keys_load(keyfile("w-cmd2", KEY16 "\n", 0646), 0, err, sizeof err, &warned);
    ok(k != NULL && warned == 1 && strstr(err, "writable") != NULL,
       "finding 8: not strict: writable and readable by others: the worse is named (%s)", err);
    auth_keys_free(k);

    if (geteuid() != 0) {
        ok(1, "finding 8: a file of another owner # SKIP needs root to chown");
        return;
    }
    keyfile("foreign", KEY16 "\n", 0600);
    if (chown(path, 65534, 65534) < 0)
        abort();
    err[0] = '\0';
    k = auth_keys_load(path, 1, err, sizeof err, &warned);
    ok(k == NULL && strstr(err, "owned by uid 65534, neither root nor this process's user "
                                "(uid 0)") != NULL,
       "finding 8: a file owned by another user (65534) is refused: %s", err);
    warned = 0;
    k = auth_keys_load(path, 0, err, sizeof err, &warned);
    ok(k != NULL && warned == 1 && strstr(err, "owned by uid 65534") != NULL,
       "finding 8: not strict: another owner is a warning");
    auth_keys_free(k);
    {
        /* the file's own user, and root's file, load as that user (65534) */
        pid_t pid;
        int status = -1;
        char own[4200];

        if (snprintf(own, sizeof own, "%s", path) >= (int)sizeof own)
            abort();
        keyfile("rootfile", KEY16 "\n", 0644);
        if (chmod(dir, 0755) < 0)
            abort();
        pid = fork();
        if (pid == 0) {
            struct auth_keys *a, *b;
            int wa = 0, wb = 0;

            if (setgid(65534) < 0 || setuid(65534) < 0)
                _exit(3);
            a = auth_keys_load(own, 1, err, sizeof err, &wa);
            b = auth_keys_load(path, 1, err, sizeof err, &wb);
            _exit(a && !wa && b && wb ? 0 : 1);
        }
        ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
               WEXITSTATUS(status) == 0,
           "finding 8: as user 65534, its own file and root's load (root's, mode 0644, with "
           "the readable-by-others warning)");
    }
}

static void test_bearer(void)
{
    char err[256];
    int warned;
    struct auth_keys *k = load("bearer", "s3cret-key-0123456\nother-key-01234567\n", 0600, &warned,
                               err, sizeof err);

    if (!ok(k != NULL, "bearer: keys load"))
        return;
    ok(auth_bearer_ok(k, "Bearer s3cret-key-0123456"), "bearer: the right key");
    ok(auth_bearer_ok(k, "Bearer other-key-01234567"), "bearer: the second key of the file");
    ok(auth_bearer_ok(k, "bearer s3cret-key-0123456"), "bearer: the scheme in lower case");
    ok(auth_bearer_ok(k, "BEARER s3cret-key-0123456"), "bearer: the scheme in upper case");
    ok(auth_bearer_ok(k, "Bearer   s3cret-key-0123456 "), "bearer: extra spaces around the key");
    ok(!auth_bearer_ok(k, "Bearer wrong-key-012345678"), "bearer: a wrong key is refused");
    ok(!auth_bearer_ok(k, "Basic s3cret-key-0123456"), "bearer: another scheme is refused");
    ok(!auth_bearer_ok(k, "s3cret-key-0123456"), "bearer: no scheme is refused");
    ok(!auth_bearer_ok(k, "Bearers3cret-key-0123456"), "bearer: no space after the scheme is refused");
    ok(!auth_bearer_ok(k, NULL), "bearer: no header is refused");
    ok(!auth_bearer_ok(k, ""), "bearer: an empty header is refused");
    ok(!auth_bearer_ok(k, "Bearer"), "bearer: the scheme alone is refused");
    ok(!auth_bearer_ok(k, "Bearer "), "bearer: an empty token is refused");
    ok(!auth_bearer_ok(k, "Bearer    \t"), "bearer: a blank token is refused");
    ok(!auth_bearer_ok(k, "Bearer s3cret"), "bearer: a prefix of a key is refused");
    ok(!auth_bearer_ok(k, "Bearer s3cret-key-01234567"), "bearer: a key with a suffix is refused");
    ok(!auth_bearer_ok(k, "Bearer 3cret-key-0123456"), "bearer: a suffix of a key is refused");
    ok(!auth_bearer_ok(k, "Bearer s3cret-key-0123456 other-key-01234567"),
       "bearer: two keys are refused");
    ok(!auth_bearer_ok(k, "Bearer S3CRET-KEY-0123456"), "bearer: the key is case-sensitive");
    ok(!auth_bearer_ok(NULL, "Bearer s3cret-key-0123456"), "bearer: no keys: refused");
    auth_keys_free(k);
}

static void test_known_answers(void)
{
    const char *ab[] = { "a", "b" }, *ba[] = { "b", "a" };
    const char *three[] = { "news.eu:1", "alpha", "Zeta" };
    const char *news[] = { "news" };
    char sig[AUTH_SIG_MAX];

    memset(sig, 'x', sizeof sig);
    ok(auth_sign("k3y", 3, 1900000000ULL, ab, 2, sig) == 0 &&
           strcmp(sig, "zLkNZFigek65HhwilNbfpNVvEYXmvYvmv3oEU3tOpQM") == 0,
       "sign: known answer (Python hmac) for k3y, 1900000000, a b: %s", sig);
    ok(auth_sign("k3y", 3, 1900000000ULL, ba, 2, sig) == 0 &&
           strcmp(sig, "zLkNZFigek65HhwilNbfpNVvEYXmvYvmv3oEU3tOpQM") == 0,
       "sign: the names are sorted before signing");
    ok(auth_sign("second-key", 10, 4102444800ULL, three, 3, sig) == 0 &&
           strcmp(sig, "thOj9CiPQUDyippKJciVntfIcVPWtWN4WJO2Mm2Qpaw") == 0,
       "sign: known answer: byte order puts Zeta before alpha: %s", sig);
    ok(auth_sign("key5", 4, 1900000000ULL, news, 1, sig) == 0 &&
           strcmp(sig, "35PcdvOgbA2w_rlV69ckj6fVClBE-e9Qbz_ap7GUhM0") == 0,
       "sign: known answer with - and _ (base64url, no padding): %s", sig);
    ok(strlen(sig) == 43 && !strchr(sig, '='), "sign: 43 characters, no padding");
}

static void test_sign_verify(void)
{
    char err[256], sig[AUTH_SIG_MAX], bad[AUTH_SIG_MAX + 16], longname[130];
    const char *ab[] = { "a", "b" }, *ba[] = { "b", "a" }, *ac[] = { "a", "c" }, *a[] = { "a" };
    const char *abb[] = { "a", "b", "b" };
    const char *many[17], *why = NULL;
    const char *key;
    size_t keylen, i;
    int warned;
    struct auth_keys *k = load("sig", "old-key-0123456789\nk3y-0123456789abcdef\n", 0600, &warned,
                               err, sizeof err);
    struct auth_keys *other = load("sig2", "another-0123456789\n", 0600, &warned, err, sizeof err);

    if (!ok(k != NULL && other != NULL, "sig: keys load"))
        return;
    key = auth_first_key(k, &keylen);
    ok(auth_sign(key, keylen, NOW + 60, ab, 2, sig) == 0, "sig: sign with the first key");
    ok(auth_sig_ok(k, "1800000060", sig, ab, 2, NOW, &why) == 1, "sig: round trip");
    ok(auth_sig_ok(k, "1800000060", sig, ba, 2, NOW, &why) == 1, "sig: names in another order verify");
    ok(auth_sig_ok(k, "1800000060", sig, ab, 2, NOW + 60, &why) == 1,
       "sig: valid in the very second it expires");

    ok(auth_sig_ok(k, "1900000000", "PP9HbFGMaKexWJuojjzRv8nLZzJWkuTJbUJvsvP3vt8", ab, 2, NOW, &why) == 1,
       "sig: the known answer (Python hmac) for k3y-0123456789abcdef verifies with the file's "
       "second key");
    ok(auth_sig_ok(other, "1800000060", sig, ab, 2, NOW, &why) == 0 &&
           strcmp(why, "the signature does not match") == 0,
       "sig: another key file refuses it: %s", why);

    why = NULL;
    ok(auth_sig_ok(k, "1800000060", sig, ac, 2, NOW, &why) == 0 && why &&
           strcmp(why, "the signature does not match") == 0,
       "sig: an altered channel is refused");
    ok(auth_sig_ok(k, "1800000060", sig, a, 1, NOW, &why) == 0, "sig: a channel less is refused");
    ok(auth_sig_ok(k, "1800000060", sig, abb, 3, NOW, &why) == 0, "sig: a channel more is refused");
    ok(auth_sig_ok(k, "1800000061", sig, ab, 2, NOW, &why) == 0 &&
           strcmp(why, "the signature does not match") == 0,
       "sig: altered expires is refused");
    ok(auth_sig_ok(k, "1800000060", sig, ab, 2, NOW + 61, &why) == 0 &&
           strcmp(why, "the signed URL has expired") == 0,
       "sig: expired is refused: %s", why);

    for (i = 0; i < 43; i++) {
        memcpy(bad, sig, sizeof sig);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        if (auth_sig_ok(k, "1800000060", bad, ab, 2, NOW, &why) != 0)
            break;
    }
    ok(i == 43, "sig: changing any one character of the signature is refused");
    memcpy(bad, sig, sizeof sig);
    bad[42] = '\0';
    ok(auth_sig_ok(k, "1800000060", bad, ab, 2, NOW, &why) == 0 &&
           strcmp(why, "sig must be base64url of a SHA-256 HMAC") == 0,
       "sig: a truncated signature is refused: %s", why);
    ok(snprintf(bad, sizeof bad, "%s=", sig) == 44 &&
           auth_sig_ok(k, "1800000060", bad, ab, 2, NOW, &why) == 0,
       "sig: padding '=' is refused");
    ok(snprintf(bad, sizeof bad, "%sA", sig) == 44 &&
           auth_sig_ok(k, "1800000060", bad, ab, 2, NOW, &why) == 0,
       "sig: a longer signature is refused");
    memcpy(bad, sig, sizeof sig);
    for (i = 0; i < 43; i++)
        if (bad[i] == '-')
            bad[i] = '+';
        else if (bad[i] == '_')
            bad[i] = '/';
    ok(strcmp(bad, sig) == 0 || auth_sig_ok(k, "1800000060", bad, ab, 2, NOW, &why) == 0,
       "sig: standard base64 (+ /) is refused");
    ok(auth_sig_ok(k, "1900000000", "PP9HbFGMaKexWJuojjzRv8nLZzJWkuTJbUJvsvP3vt9", ab, 2, NOW, &why) == 0,
       "sig: non-zero unused bits in the last character are refused");
    ok(auth_sig_ok(k, "1800000060", "", ab, 2, NOW, &why) == 0, "sig: an empty signature is refused");
    ok(auth_sig_ok(k, "1800000060", NULL, ab, 2, NOW, &why) == 0, "sig: no signature is refused");

    ok(auth_sig_ok(k, "+1800000060", sig, ab, 2, NOW, &why) == 0 &&
           strcmp(why, "expires must be Unix seconds") == 0,
       "sig: expires with a sign is refused: %s", why);
    ok(auth_sig_ok(k, "1800000060 ", sig, ab, 2, NOW, &why) == 0, "sig: expires with a space is refused");
    ok(auth_sig_ok(k, "18e8", sig, ab, 2, NOW, &why) == 0, "sig: expires not decimal is refused");
    ok(auth_sig_ok(k, "", sig, ab, 2, NOW, &why) == 0, "sig: empty expires is refused");
    ok(auth_sig_ok(k, NULL, sig, ab, 2, NOW, &why) == 0, "sig: no expires is refused");
    ok(auth_sig_ok(k, "18446744073709551616", sig, ab, 2, NOW, &why) == 0 &&
           strcmp(why, "expires must be Unix seconds") == 0,
       "sig: expires past 2^64-1 is refused");
    ok(auth_sig_ok(k, "000000000000000000001", sig, ab, 2, NOW, &why) == 0 &&
           strcmp(why, "expires must be Unix seconds") == 0,
       "sig: expires of 21 digits is refused");
    ok(auth_sign(key, keylen, 18446744073709551615ULL, ab, 2, sig) == 0 &&
           auth_sig_ok(k, "18446744073709551615", sig, ab, 2, NOW, &why) == 1,
       "sig: expires 2^64-1 (20 digits) round trip");

    for (i = 0; i < 17; i++)
        many[i] = "x";
    ok(auth_sign(key, keylen, NOW, many, 16, sig) == 0, "sig: 16 names can be signed");
    ok(auth_sig_ok(k, "1800000000", sig, many, 16, NOW, &why) == 1, "sig: 16 names verify");
    ok(auth_sign(key, keylen, NOW, many, 17, sig) == -1, "sig: 17 names cannot be signed");
    ok(auth_sig_ok(k, "1800000000", sig, many, 17, NOW, &why) == 0, "sig: 17 names are refused");
    ok(auth_sign(key, keylen, NOW, many, 0, sig) == -1, "sig: no name cannot be signed");
    memset(longname, 'n', 128);
    longname[128] = '\0';
    many[0] = longname;
    ok(auth_sign(key, keylen, NOW, many, 1, sig) == 0 &&
           auth_sig_ok(k, "1800000000", sig, many, 1, NOW, &why) == 1,
       "sig: a name of 128 bytes round trip");
    longname[128] = 'n';
    longname[129] = '\0';
    ok(auth_sign(key, keylen, NOW, many, 1, sig) == -1, "sig: a name of 129 bytes cannot be signed");
    many[0] = "";
    ok(auth_sign(key, keylen, NOW, many, 1, sig) == -1, "sig: an empty name cannot be signed");
    many[0] = "a\nb";
    ok(auth_sign(key, keylen, NOW, many, 1, sig) == -1, "sig: a name with a line end cannot be signed");
    ok(auth_sign("", 0, NOW, ab, 2, sig) == -1, "sig: an empty key cannot sign");
    ok(auth_sig_ok(NULL, "1800000000", sig, ab, 2, NOW, &why) == 0, "sig: no keys: refused");
    auth_keys_free(k);
    auth_keys_free(other);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");

    if (snprintf(dir, sizeof dir, "%s/test_auth.XXXXXX", tmp && *tmp ? tmp : "/tmp") >= (int)sizeof dir ||
        !mkdtemp(dir)) {
        perror("mkdtemp");
        return 99;
    }
    test_key_files();
    test_key_tokens();
    test_bearer();
    test_known_answers();
    test_sign_verify();
    {
        static const char *names[] = { "a", "crlf", "nolf", "empty", "empty2", "unreadable", "world",
                                       "group", "bearer", "sig", "sig2", "nbsp", "nbsp2",
                                       "ff", "vt", "space", "del", "esc", "utf8", "short",
                                       "short15", "exact16", "printable", "w-other", "w-group",
                                       "w-cmd", "w-cmd2", "foreign", "rootfile" };
        size_t i;

        for (i = 0; i < sizeof names / sizeof names[0]; i++) {
            if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) < (int)sizeof path &&
                unlink(path) < 0 && errno != ENOENT)
                diag("cannot remove %s: %s", path, strerror(errno));
        }
        if (rmdir(dir) < 0)
            diag("cannot remove %s: %s", dir, strerror(errno));
    }
    return done_testing();
}
