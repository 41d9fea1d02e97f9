/* cli_publish.c -- `fcgi-sse publish`: a message sent to a responder as one FastCGI request, the answer printed */
#include "config.h"

#include "core/addr.h"
#include "core/clock.h"
#include "cli/cli_int.h"
#include "core/text.h"

#include <errno.h>
#include <signal.h>
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

/* Writes s[0..n) to f with control characters other than line ends and
 * tabs shown as '?': the answer's body is the responder's, not ours. */
static void cli_put_text(FILE *f, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        (void)fputc((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f ? '?' : c, f);
    }
}

/* Interprets the CGI answer: the Status header (200 without one), the
 * body. Prints the body to stdout on a 200 (0), else the status and the
 * body to stderr (1). */
static int cli_report(const struct cli_answer *ans)
{
    const char *out = ans->out ? ans->out : "", *end = out + ans->out_len;
    const char *line = out, *body = NULL;
    char status[128] = "200 OK";
    size_t blen;

    if (ans->err_len) {
        fprintf(stderr, "fcgi-sse publish: the responder wrote to its error stream: ");
        cli_put_text(stderr, ans->err, ans->err_len);
        if (ans->err[ans->err_len - 1] != '\n')
            (void)fputc('\n', stderr);
    }
    while (line < end) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t len;

        if (!nl)
            break;
        len = (size_t)(nl - line);
        if (len && line[len - 1] == '\r')
            len--;
        if (len == 0) {
            body = nl + 1;
            break;
        }
        if (len > 7 && strncasecmp(line, "Status:", 7) == 0) {
            const char *v = line + 7;
            size_t vlen = len - 7;

            while (vlen && (*v == ' ' || *v == '\t'))
                v++, vlen--;
            if (vlen >= sizeof status)
                vlen = sizeof status - 1;
            memcpy(status, v, vlen);
            status[vlen] = '\0';
        }
        line = nl + 1;
    }
    if (!body) {
        fprintf(stderr, "fcgi-sse publish: the answer has no complete header block\n");
        return 1;
    }
    blen = (size_t)(end - body);
    if (strncmp(status, "200", 3) == 0 && (status[3] == '\0' || status[3] == ' ')) {
        if ((blen && fwrite(body, 1, blen, stdout) != blen) ||
            ((blen == 0 || body[blen - 1] != '\n') && fputc('\n', stdout) == EOF) ||
            fflush(stdout) != 0) {
            fprintf(stderr, "fcgi-sse publish: cannot write to stdout: %s\n", strerror(errno));
            return 1;
        }
        return 0;
    }
    while (blen && (body[blen - 1] == '\n' || body[blen - 1] == '\r' || body[blen - 1] == ' '))
        blen--;
    fprintf(stderr, "fcgi-sse publish: ");
    cli_put_text(stderr, status, strlen(status));
    if (blen && !memchr(body, '\n', blen)) {
        fprintf(stderr, ": ");
        cli_put_text(stderr, body, blen);
        (void)fputc('\n', stderr);
    } else if (blen) {
        (void)fputc('\n', stderr);
        cli_put_text(stderr, body, blen);
        (void)fputc('\n', stderr);
    } else {
        (void)fputc('\n', stderr);
    }
    return 1;
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

/* "Bearer KEY" with the first key of --key-file. 0, or -1 after a message. */
static int cli_pub_bearer(struct cli_pub *p)
{
    struct auth_keys *k = cli_load_keys("publish", p->a.key_file);
    const char *key;

    if (!k)
        return -1;
    key = auth_first_key(k, &p->authlen);
    p->authlen += sizeof "Bearer ";
    p->auth = key ? malloc(p->authlen) : NULL;
    if (!p->auth) {
        fprintf(stderr, "fcgi-sse publish: out of memory\n");
        auth_keys_free(k);
        return -1;
    }
    memcpy(p->auth, "Bearer ", 7);
    memcpy(p->auth + 7, key, p->authlen - sizeof "Bearer ");
    p->auth[p->authlen - 1] = '\0';
    auth_keys_free(k);
    return 0;
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

/* Sends the request and prints the answer (cli_report). The exit status. */
static int cli_pub_exchange(struct cli_pub *p)
{
    struct cli_answer ans = { NULL, 0, NULL, 0 };
    long long deadline = clock_now_ms() + CLI_TIMEOUT_MS;
    char why[300];
    int fd, rc;

    fd = cli_connect(&p->addr, p->a.socket, deadline);
    if (fd < 0)
        return 1;
    if (cli_send(fd, p->params, p->body, p->len, deadline) < 0) {
        int e = errno;

        /* The responder may have answered early (and closed): read that. */
        if (cli_receive(fd, &ans, deadline, why, sizeof why) < 0) {
            fprintf(stderr, "fcgi-sse publish: cannot send the request to %s: %s\n",
                    p->a.socket, strerror(e));
            rc = 1;
        } else {
            rc = cli_report(&ans);
        }
    } else if (cli_receive(fd, &ans, deadline, why, sizeof why) < 0) {
        fprintf(stderr, "fcgi-sse publish: %s\n", why);
        rc = 1;
    } else {
        rc = cli_report(&ans);
    }
    if (close(fd) < 0 && rc == 0) {
        fprintf(stderr, "fcgi-sse publish: closing the connection: %s\n", strerror(errno));
        rc = 1;
    }
    free(ans.out);
    free(ans.err);
    return rc;
}

int cli_publish(int argc, char **argv)
{
    struct cli_pub p;
    struct sigaction sa;
    int rc, too_big;

    memset(&p, 0, sizeof p);
    rc = cli_pub_args(&p, argc, argv);
    if (rc >= 0)
        return rc;
    if (p.a.key_file && cli_pub_bearer(&p) < 0)
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
    /* A responder that answers and closes before reading the whole body
     * must not kill us: its answer is still read. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) < 0) {
        fprintf(stderr, "fcgi-sse publish: cannot ignore SIGPIPE: %s\n", strerror(errno));
        rc = 1;
        goto out;
    }
    rc = cli_pub_exchange(&p);
out:
    free(p.body);
    if (p.auth) {
        OPENSSL_cleanse(p.auth, p.authlen);
        free(p.auth);
    }
    return rc;
}
