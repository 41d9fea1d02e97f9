/* cli_args.c -- the commands' arguments: parsed, checked, their key file loaded */
#include "config.h"

#include "cli/cli_int.h"
#include "core/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_usage_error(const char *cmd, const char *what)
{
    fprintf(stderr, "fcgi-sse %s: %s (see fcgi-sse %s --help)\n", cmd, what, cmd);
    return 2;
}

/* Parses argv[2..] of subcommand cmd: the options in `allowed` (a list of
 * names without the dashes) as --name VALUE or --name=VALUE, anywhere;
 * "--" ends the options; the rest are names. 0, or the exit status 2
 * after a one-line message. */
int cli_parse(int argc, char **argv, const char *cmd, const char *const *allowed,
                     struct cli_args *a)
{
    int i, opts = 1;

    memset(a, 0, sizeof *a);
    for (i = 2; i < argc; i++) {
        const char *arg = argv[i], *val, *eq;
        const char **slot = NULL;
        char what[160];
        size_t nlen, j;

        if (!opts || arg[0] != '-' || arg[1] == '\0') {
            if (a->n <= CLI_NAMES_MAX)
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
            return cli_usage_error(cmd, "unknown option (options are --long)");
        eq = strchr(arg, '=');
        for (j = 0; allowed[j]; j++)
            if ((strcmp(allowed[j], "delete") == 0 || strcmp(allowed[j], "purge") == 0) &&
                strcmp(arg + 2, allowed[j]) == 0)
                break;
        if (allowed[j]) {
            /* an action: a flag, one of them */
            if (a->action) {
                snprintf(what, sizeof what, "--%s: one action at a time (--%s was given)",
                         allowed[j], a->action);
                return cli_usage_error(cmd, what);
            }
            a->action = allowed[j];
            continue;
        }
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
            return cli_usage_error(cmd, what);
        }
        if (strcmp(allowed[j], "delete") == 0 || strcmp(allowed[j], "purge") == 0) {
            snprintf(what, sizeof what, "--%s takes no value", allowed[j]);
            return cli_usage_error(cmd, what);
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
                return cli_usage_error(cmd, what);
            }
            val = argv[++i];
        }
        if (*slot) {
            snprintf(what, sizeof what, "--%s is given twice", allowed[j]);
            return cli_usage_error(cmd, what);
        }
        *slot = val;
    }
    return 0;
}

/* Loads the keys of path, printing a warning (a file others may read or
 * write: these commands only present a key, the responder refuses such a
 * file) or the error. NULL after a one-line message. */
struct auth_keys *cli_load_keys(const char *cmd, const char *path)
{
    char err[512];
    int warned = 0;
    struct auth_keys *k = auth_keys_load(path, 0, err, sizeof err, &warned);

    if (!k || warned)
        fprintf(stderr, "fcgi-sse %s: %s--key-file %s: %s\n", cmd, k ? "warning: " : "", path, err);
    return k;
}

char *cli_bearer(const char *cmd, const char *path, size_t *len)
{
    struct auth_keys *k = cli_load_keys(cmd, path);
    const char *key;
    char *auth;

    if (!k)
        return NULL;
    key = auth_first_key(k, len);
    *len += sizeof "Bearer ";
    auth = key ? malloc(*len) : NULL;
    if (!auth) {
        fprintf(stderr, "fcgi-sse %s: out of memory\n", cmd);
        auth_keys_free(k);
        return NULL;
    }
    memcpy(auth, "Bearer ", 7);
    memcpy(auth + 7, key, *len - sizeof "Bearer ");
    auth[*len - 1] = '\0';
    auth_keys_free(k);
    return auth;
}

/* Checks that the names are 1..16 valid channel names. 0, or 2 after a message. */
int cli_check_names(const char *cmd, const struct cli_args *a, size_t min, size_t max)
{
    size_t i;

    if (a->n < min)
        return cli_usage_error(cmd, min == 1 && max == 1 ? "a channel name is required"
                                                         : "at least one channel name is required");
    if (a->n > max)
        return cli_usage_error(cmd, max == 1 ? "only one channel can be published to"
                                             : "at most 16 channels can be signed");
    for (i = 0; i < a->n; i++)
        if (!text_name_ok(a->names[i], CLI_NAME_MAX))
            return cli_usage_error(cmd, "a channel name must be 1 to 128 bytes of A-Z a-z 0-9 _ . : -");
    return 0;
}
