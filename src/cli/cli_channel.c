/* cli_channel.c -- `fcgi-sse channel`: a channel's figures, its delete or purge, asked of a responder as one FastCGI request */
#include "config.h"

#include "core/addr.h"
#include "cli/cli_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

int cli_channel(int argc, char **argv)
{
    static const char *const allowed[] = { "socket", "key-file", "delete", "purge", NULL };
    const char *params[2 * 10 + 1];
    struct cli_args a;
    struct addr ad;
    char why[300], path[16 + CLI_NAME_MAX];
    char *auth = NULL;
    size_t authlen = 0, np = 0;
    int rc = cli_parse(argc, argv, "channel", allowed, &a);

    if (rc)
        return rc;
    if (a.help) {
        if (printf("usage: fcgi-sse channel --socket ADDR [--key-file FILE] [--delete | --purge]"
                   " CHANNEL\n"
                   "Asks the responder listening at ADDR (unix:/path, HOST:PORT, [V6]:PORT, :PORT)\n"
                   "over FastCGI for CHANNEL's figures (GET /channels/CHANNEL: subscribers,\n"
                   "messages held, bytes, oldest and newest id), or with --delete to end its\n"
                   "subscribers' streams and drop its history (DELETE /channels/CHANNEL), or\n"
                   "with --purge to drop its history only (DELETE /channels/CHANNEL/history);\n"
                   "with FILE, authorized by its first key (Authorization: Bearer), as for\n"
                   "publishing. Prints the JSON answer.\n") < 0 ||
            fflush(stdout) != 0)
            return 1;
        return 0;
    }
    if (!a.socket)
        return cli_usage_error("channel", "--socket is required");
    if (a.n > 1)
        return cli_usage_error("channel", "one channel at a time");
    rc = cli_check_names("channel", &a, 1, 1);
    if (rc)
        return rc;
    if (addr_parse(a.socket, &ad, why, sizeof why) < 0) {
        char what[sizeof why + 16];
        snprintf(what, sizeof what, "--socket: %s", why);
        return cli_usage_error("channel", what);
    }
    snprintf(path, sizeof path, "/channels/%s%s", a.names[0],
             a.action && strcmp(a.action, "purge") == 0 ? "/history" : "");
    if (a.key_file && !(auth = cli_bearer("channel", a.key_file, &authlen)))
        return 1;
    params[np++] = "GATEWAY_INTERFACE"; params[np++] = "CGI/1.1";
    params[np++] = "SERVER_PROTOCOL"; params[np++] = "HTTP/1.1";
    params[np++] = "REQUEST_METHOD"; params[np++] = a.action ? "DELETE" : "GET";
    params[np++] = "SCRIPT_NAME"; params[np++] = path;
    params[np++] = "REQUEST_URI"; params[np++] = path;
    params[np++] = "QUERY_STRING"; params[np++] = "";
    params[np++] = "CONTENT_LENGTH"; params[np++] = "0";
    params[np++] = "REMOTE_ADDR"; params[np++] = "127.0.0.1";
    if (auth) {
        params[np++] = "HTTP_AUTHORIZATION";
        params[np++] = auth;
    }
    params[np] = NULL;
    rc = cli_request("channel", &ad, a.socket, params, "", 0);
    if (auth) {
        OPENSSL_cleanse(auth, authlen);
        free(auth);
    }
    return rc;
}
