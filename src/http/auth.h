/* auth.h -- who may publish or subscribe: key files, bearer keys, signed subscription URLs */
#ifndef FCGI_SSE_HTTP_AUTH_H
#define FCGI_SSE_HTTP_AUTH_H

#include <stddef.h>

/* The keys of one key file (--publish-key-file, --subscribe-key-file):
 * one key a line; blank lines and lines starting with '#' are ignored;
 * spaces and tabs around a key are trimmed. A key is a token: at least 16
 * bytes, each printable ASCII other than a space (no control byte, no
 * Unicode space). Several keys let an operator rotate them. Only digests
 * of the keys are compared, in constant time. */
struct auth_keys;

/* Reads FILE. NULL with a one-line message in err: the file cannot be
 * read, is not a regular file, holds no key, or a line holds a key that
 * is not one (the message names the line, never the key); and, when
 * strict (the responder: its keys decide who may publish or subscribe),
 * others than its owner may write it (group or others writable) or its
 * owner is neither root nor the effective user. Not strict (the sign and
 * publish commands, which only present a key), those are a warning in err
 * with *warned set; so is, always, a file others may read. */
struct auth_keys *auth_keys_load(const char *path, int strict, char *err, size_t errlen,
                                 int *warned);
void auth_keys_free(struct auth_keys *k);

/* 1 when `authorization` (the Authorization header, or NULL) is
 * "Bearer KEY" (the scheme case-insensitive) with KEY one of k's keys,
 * compared in constant time; 0 otherwise. */
int auth_bearer_ok(const struct auth_keys *k, const char *authorization);

/* The signature of a subscription URL: base64url without padding of
 * HMAC-SHA256(key, "EXPIRES\nCHANNEL1\nCHANNEL2...") over the channel
 * names sorted in byte order (strcmp), joined by "\n". Writes it
 * NUL-terminated into out (AUTH_SIG_MAX bytes). 0, or -1. */
#define AUTH_SIG_MAX 48
int auth_sign(const char *key, size_t keylen, unsigned long long expires,
              const char *const *names, size_t n, char *out);

/* 1 when sig is a valid signature by one of k's keys of (expires, the
 * names, in any order: they are sorted here) and expires (Unix seconds)
 * is not before now; 0 otherwise. *why gets a static one-line reason. */
int auth_sig_ok(const struct auth_keys *k, const char *expires, const char *sig,
                const char *const *names, size_t n, unsigned long long now, const char **why);

/* The first key of k (for `fcgi-sse sign`), and its length. */
const char *auth_first_key(const struct auth_keys *k, size_t *len);

#endif
