/* cli_sign.c -- `fcgi-sse sign`: the query of a signed subscription to private channels */
#include "config.h"

#include "cli/cli_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

int cli_sign(int argc, char **argv)
{
    static const char *const allowed[] = { "key-file", "expires", NULL };
    char sig[AUTH_SIG_MAX];
    struct cli_args a;
    struct auth_keys *k;
    unsigned long long secs = 0, expires;
    const char *key;
    size_t keylen, i;
    time_t now;
    int rc;

    rc = cli_parse(argc, argv, "sign", allowed, &a);
    if (rc)
        return rc;
    if (a.help) {
        if (printf("usage: fcgi-sse sign --key-file FILE --expires SECONDS CHANNEL...\n"
                   "Prints the query string of a subscription to the channels (at most 16),\n"
                   "valid for SECONDS from now, signed with the first key of FILE:\n"
                   "channel=A&channel=B&expires=T&sig=S\n") < 0 || fflush(stdout) != 0)
            return 1;
        return 0;
    }
    if (!a.key_file)
        return cli_usage_error("sign", "--key-file is required");
    if (!a.expires)
        return cli_usage_error("sign", "--expires is required");
    for (i = 0; a.expires[i]; i++) {
        unsigned d = (unsigned)(a.expires[i] - '0');

        if (a.expires[i] < '0' || a.expires[i] > '9' || secs > (ULLONG_MAX - d) / 10)
            break;
        secs = secs * 10 + d;
    }
    if (i == 0 || a.expires[i] || secs == 0)
        return cli_usage_error("sign", "--expires must be a positive number of seconds");
    rc = cli_check_names("sign", &a, 1, CLI_NAMES_MAX);
    if (rc)
        return rc;
    now = time(NULL);
    if (now == (time_t)-1 || now < 0) {
        fprintf(stderr, "fcgi-sse sign: cannot read the clock\n");
        return 1;
    }
    if (secs > ULLONG_MAX - (unsigned long long)now)
        return cli_usage_error("sign", "--expires is too large");
    expires = (unsigned long long)now + secs;
    k = cli_load_keys("sign", a.key_file);
    if (!k)
        return 1;
    key = auth_first_key(k, &keylen);
    rc = key ? auth_sign(key, keylen, expires, a.names, a.n, sig) : -1;
    auth_keys_free(k);
    if (rc < 0) {
        fprintf(stderr, "fcgi-sse sign: cannot compute the signature\n");
        return 1;
    }
    for (i = 0; i < a.n; i++)
        if (printf("channel=%s&", a.names[i]) < 0)
            break;
    if (i < a.n || printf("expires=%llu&sig=%s\n", expires, sig) < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "fcgi-sse sign: cannot write to stdout: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
