/* cmd.c -- the commands of the fcgi-sse binary: their arguments, and `fcgi-sse sign` (a signed subscription query) */
#include "config.h"

#include "cmd_int.h"
#include "text.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

int cmd_usage_error(const char *cmd, const char *what)
{
    fprintf(stderr, "fcgi-sse %s: %s (see fcgi-sse %s --help)\n", cmd, what, cmd);
    return 2;
}

/* Parses argv[2..] of subcommand cmd: the options in `allowed` (a list of
 * names without the dashes) as --name VALUE or --name=VALUE, anywhere;
 * "--" ends the options; the rest are names. 0, or the exit status 2
 * after a one-line message. */
int cmd_parse(int argc, char **argv, const char *cmd, const char *const *allowed,
                     struct cmd_args *a)
{
    int i, opts = 1;

    memset(a, 0, sizeof *a);
    for (i = 2; i < argc; i++) {
        const char *arg = argv[i], *val, *eq;
        const char **slot = NULL;
        char what[160];
        size_t nlen, j;

        if (!opts || arg[0] != '-' || arg[1] == '\0') {
            if (a->n <= CMD_NAMES_MAX)
                a->names[a->n] = arg;
            a->n++;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            opts = 0;
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            a->help = 1;
            continue;
        }
        if (arg[1] != '-')
            return cmd_usage_error(cmd, "unknown option (options are --long)");
        eq = strchr(arg, '=');
        nlen = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        for (j = 0; allowed[j]; j++)
            if (strlen(allowed[j]) == nlen && memcmp(arg + 2, allowed[j], nlen) == 0)
                break;
        if (!allowed[j]) {
            /* Quoting an unknown option's name only when it is printable and short. */
            if (nlen <= 40 && text_name_ok(arg + 2, nlen) && !eq)
                snprintf(what, sizeof what, "unknown option --%s", arg + 2);
            else
                snprintf(what, sizeof what, "unknown option");
            return cmd_usage_error(cmd, what);
        }
        if (strcmp(allowed[j], "key-file") == 0)
            slot = &a->key_file;
        else if (strcmp(allowed[j], "expires") == 0)
            slot = &a->expires;
        else if (strcmp(allowed[j], "socket") == 0)
            slot = &a->socket;
        else
            slot = &a->event;
        if (eq) {
            val = eq + 1;
        } else {
            if (i + 1 >= argc) {
                snprintf(what, sizeof what, "--%s needs a value", allowed[j]);
                return cmd_usage_error(cmd, what);
            }
            val = argv[++i];
        }
        if (*slot) {
            snprintf(what, sizeof what, "--%s is given twice", allowed[j]);
            return cmd_usage_error(cmd, what);
        }
        *slot = val;
    }
    return 0;
}

/* Loads the keys of path, printing a warning (a file others may read or
 * write: these commands only present a key, the responder refuses such a
 * file) or the error. NULL after a one-line message. */
struct auth_keys *cmd_load_keys(const char *cmd, const char *path)
{
    char err[512];
    int warned = 0;
    struct auth_keys *k = auth_keys_load(path, 0, err, sizeof err, &warned);

    if (!k || warned)
        fprintf(stderr, "fcgi-sse %s: %s--key-file %s: %s\n", cmd, k ? "warning: " : "", path, err);
    return k;
}

/* Checks that the names are 1..16 valid channel names. 0, or 2 after a message. */
int cmd_check_names(const char *cmd, const struct cmd_args *a, size_t min, size_t max)
{
    size_t i;

    if (a->n < min)
        return cmd_usage_error(cmd, min == 1 && max == 1 ? "a channel name is required"
                                                         : "at least one channel name is required");
    if (a->n > max)
        return cmd_usage_error(cmd, max == 1 ? "only one channel can be published to"
                                             : "at most 16 channels can be signed");
    for (i = 0; i < a->n; i++)
        if (!text_name_ok(a->names[i], CMD_NAME_MAX))
            return cmd_usage_error(cmd, "a channel name must be 1 to 128 bytes of A-Z a-z 0-9 _ . : -");
    return 0;
}

/* ---------------------------------------------------------------- sign */

static int cmd_sign(int argc, char **argv)
{
    static const char *const allowed[] = { "key-file", "expires", NULL };
    char sig[AUTH_SIG_MAX];
    struct cmd_args a;
    struct auth_keys *k;
    unsigned long long secs = 0, expires;
    const char *key;
    size_t keylen, i;
    time_t now;
    int rc;

    rc = cmd_parse(argc, argv, "sign", allowed, &a);
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
        return cmd_usage_error("sign", "--key-file is required");
    if (!a.expires)
        return cmd_usage_error("sign", "--expires is required");
    for (i = 0; a.expires[i]; i++) {
        unsigned d = (unsigned)(a.expires[i] - '0');

        if (a.expires[i] < '0' || a.expires[i] > '9' || secs > (ULLONG_MAX - d) / 10)
            break;
        secs = secs * 10 + d;
    }
    if (i == 0 || a.expires[i] || secs == 0)
        return cmd_usage_error("sign", "--expires must be a positive number of seconds");
    rc = cmd_check_names("sign", &a, 1, CMD_NAMES_MAX);
    if (rc)
        return rc;
    now = time(NULL);
    if (now == (time_t)-1 || now < 0) {
        fprintf(stderr, "fcgi-sse sign: cannot read the clock\n");
        return 1;
    }
    if (secs > ULLONG_MAX - (unsigned long long)now)
        return cmd_usage_error("sign", "--expires is too large");
    expires = (unsigned long long)now + secs;
    k = cmd_load_keys("sign", a.key_file);
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

int cmd_main(int argc, char **argv)
{
    if (argc < 2 || !argv[1])
        return -1;
    if (strcmp(argv[1], "sign") == 0)
        return cmd_sign(argc, argv);
    if (strcmp(argv[1], "publish") == 0)
        return cmd_publish(argc, argv);
    return -1;
}
