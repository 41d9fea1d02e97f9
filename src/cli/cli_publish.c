/* cli_publish.c -- `fcgi-sse publish`: a message sent to a responder as one FastCGI request, the answer printed */
#include "config.h"

#include "core/addr.h"
#include "core/clock.h"
#include "cli/cli_int.h"
#include "core/text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* Reads stdin into a fresh buffer: at most CLI_MESSAGE_MAX bytes. The
 * buffer, or NULL with *too_big set (more than that) or errno set. */
static char *cli_read_stdin(size_t *len, int *too_big)
{
    char *buf = malloc(CLI_MESSAGE_MAX + 1);
    size_t have = 0;

    *too_big = 0;
    if (!buf)
        return NULL;
    while (have <= CLI_MESSAGE_MAX) {
        ssize_t r = read(STDIN_FILENO, buf + have, CLI_MESSAGE_MAX + 1 - have);

        if (r < 0) {
            int e = errno;

            if (e == EINTR)
                continue;
            free(buf);
            errno = e;
            return NULL;
        }
        if (r == 0) {
            *len = have;
            return buf;
        }
        have += (size_t)r;
    }
    free(buf);
    *too_big = 1;
    return NULL;
}

/* A publish being made: where to, what, and with which key. */
struct cli_pub {
    struct cli_args a;
    struct addr addr;
    char query[256], uri[300], clen[24];
    char *auth;                   /* "Bearer KEY", or NULL */
    size_t authlen;
    char *body;                   /* the message (stdin) */
    size_t len;
    const char *params[2 * 12 + 1];
};

/* The arguments: -1 when they are good (and --help was not asked), else
 * the exit status. */
static int cli_pub_args(struct cli_pub *p, int argc, char **argv)
{
    static const char *const allowed[] = { "socket", "key-file", "event", NULL };
    struct cli_args *a = &p->a;
    char why[300];
    int rc = cli_parse(argc, argv, "publish", allowed, a);

    if (rc)
        return rc;
    if (a->help) {
        if (printf("usage: fcgi-sse publish --socket ADDR [--key-file FILE] CHANNEL [--event TYPE]"
                   " < MESSAGE\n"
                   "Publishes the message (stdin, at most 1 MiB) to CHANNEL through the responder\n"
                   "listening at ADDR (unix:/path, HOST:PORT, [V6]:PORT, :PORT), as POST /publish\n"
                   "over FastCGI; with FILE, authorized by its first key (Authorization: Bearer).\n"
                   "Prints the JSON answer.\n") < 0 ||
            fflush(stdout) != 0)
            return 1;
        return 0;
    }
    if (!a->socket)
        return cli_usage_error("publish", "--socket is required");
    rc = cli_check_names("publish", a, 1, 1);
    if (rc)
        return rc;
    if (a->event && !text_name_ok(a->event, CLI_TYPE_MAX))
        return cli_usage_error("publish", "--event must be 1 to 64 bytes of A-Z a-z 0-9 _ . : -");
    if (addr_parse(a->socket, &p->addr, why, sizeof why) < 0) {
        char what[sizeof why + 16];
        snprintf(what, sizeof what, "--socket: %s", why);
        return cli_usage_error("publish", what);
    }
    if (snprintf(p->query, sizeof p->query, "channel=%s%s%s", a->names[0],
                 a->event ? "&event=" : "", a->event ? a->event : "") >= (int)sizeof p->query ||
        snprintf(p->uri, sizeof p->uri, "/publish?%s", p->query) >= (int)sizeof p->uri)
        return cli_usage_error("publish", "the channel and event are too long");
    return -1;
}

/* The params of the request, as a web server would pass them. */
static void cli_pub_params(struct cli_pub *p)
{
    const char **params = p->params;
    size_t np = 0;

    params[np++] = "GATEWAY_INTERFACE"; params[np++] = "CGI/1.1";
    params[np++] = "SERVER_PROTOCOL"; params[np++] = "HTTP/1.1";
    params[np++] = "REQUEST_METHOD"; params[np++] = "POST";
    params[np++] = "SCRIPT_NAME"; params[np++] = "/publish";
    params[np++] = "REQUEST_URI"; params[np++] = p->uri;
    params[np++] = "QUERY_STRING"; params[np++] = p->query;
    params[np++] = "CONTENT_LENGTH"; params[np++] = p->clen;
    params[np++] = "CONTENT_TYPE"; params[np++] = "text/plain; charset=utf-8";
    params[np++] = "REMOTE_ADDR"; params[np++] = "127.0.0.1";
    if (p->auth) {
        params[np++] = "HTTP_AUTHORIZATION";
        params[np++] = p->auth;
    }
    params[np] = NULL;
}

int cli_publish(int argc, char **argv)
{
    struct cli_pub p;
    int rc, too_big;

    memset(&p, 0, sizeof p);
    rc = cli_pub_args(&p, argc, argv);
    if (rc >= 0)
        return rc;
    if (p.a.key_file && !(p.auth = cli_bearer("publish", p.a.key_file, &p.authlen)))
        return 1;
    p.body = cli_read_stdin(&p.len, &too_big);
    if (!p.body) {
        if (too_big)
            fprintf(stderr, "fcgi-sse publish: the message is larger than 1 MiB\n");
        else
            fprintf(stderr, "fcgi-sse publish: cannot read the message from stdin: %s\n",
                    strerror(errno));
        rc = 1;
        goto out;
    }
    snprintf(p.clen, sizeof p.clen, "%zu", p.len); /* at most 1 MiB: it fits */
    cli_pub_params(&p);
    rc = cli_request("publish", &p.addr, p.a.socket, p.params, p.body, p.len);
out:
    free(p.body);
    if (p.auth) {
        OPENSSL_cleanse(p.auth, p.authlen);
        free(p.auth);
    }
    return rc;
}
