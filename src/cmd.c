/* cmd.c -- the commands `fcgi-sse sign` (a signed subscription query) and `publish` (a FastCGI client) */
#include "config.h"
#include "addr.h"
#include "clock.h"
#include "text.h"

#include "auth.h"
#include "cmd.h"

#include <errno.h>
#include <fcgiapp.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* Limits of the names and of what publish reads and accepts. */
#define CMD_NAMES_MAX 16
#define CMD_NAME_MAX 128
#define CMD_TYPE_MAX 64
#define CMD_MESSAGE_MAX (1024 * 1024)
#define CMD_ANSWER_MAX (1024 * 1024)
#define CMD_TIMEOUT_MS 10000
/* The FastCGI record types and values this client uses (FastCGI 1.0 spec). */
#define CMD_FCGI_VERSION 1
#define CMD_FCGI_BEGIN_REQUEST 1
#define CMD_FCGI_END_REQUEST 3
#define CMD_FCGI_PARAMS 4
#define CMD_FCGI_STDIN 5
#define CMD_FCGI_STDOUT 6
#define CMD_FCGI_STDERR 7
#define CMD_FCGI_RESPONDER 1
#define CMD_FCGI_REQUEST_COMPLETE 0
#define CMD_REQUEST_ID 1
#define CMD_WRITE_BUF 8192

/* The streams of FCGX_CreateWriter, kept for the life of the process:
 * libfcgi allocates a request for each one that FCGX_FreeStream does not
 * free ("cgi-fcgi doesn't care"); held here, a leak checker sees them as
 * reachable rather than lost. volatile: a compiler may drop stores to a
 * static that is never read, and the streams would then look lost. */
static FCGX_Stream *volatile cmd_streams[2];

/* Parsed command line of one subcommand. */
struct cmd_args {
    const char *key_file;
    const char *expires;
    const char *socket;
    const char *event;
    const char *names[CMD_NAMES_MAX + 1];
    size_t n;                     /* names given (up to CMD_NAMES_MAX + 1 are kept) */
    int help;
};

static int cmd_usage_error(const char *cmd, const char *what)
{
    fprintf(stderr, "fcgi-sse %s: %s (see fcgi-sse %s --help)\n", cmd, what, cmd);
    return 2;
}

/* Parses argv[2..] of subcommand cmd: the options in `allowed` (a list of
 * names without the dashes) as --name VALUE or --name=VALUE, anywhere;
 * "--" ends the options; the rest are names. 0, or the exit status 2
 * after a one-line message. */
static int cmd_parse(int argc, char **argv, const char *cmd, const char *const *allowed,
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
static struct auth_keys *cmd_load_keys(const char *cmd, const char *path)
{
    char err[512];
    int warned = 0;
    struct auth_keys *k = auth_keys_load(path, 0, err, sizeof err, &warned);

    if (!k || warned)
        fprintf(stderr, "fcgi-sse %s: %s--key-file %s: %s\n", cmd, k ? "warning: " : "", path, err);
    return k;
}

/* Checks that the names are 1..16 valid channel names. 0, or 2 after a message. */
static int cmd_check_names(const char *cmd, const struct cmd_args *a, size_t min, size_t max)
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

/* ---------------------------------------------------------------- publish */

/* Milliseconds left until deadline (at least 0). */
static int cmd_left_ms(long long deadline)
{
    long long now = clock_now_ms();

    return now >= deadline ? 0 : (int)(deadline - now);
}

/* Reads stdin into a fresh buffer: at most CMD_MESSAGE_MAX bytes. The
 * buffer, or NULL with *too_big set (more than that) or errno set. */
static char *cmd_read_stdin(size_t *len, int *too_big)
{
    char *buf = malloc(CMD_MESSAGE_MAX + 1);
    size_t have = 0;

    *too_big = 0;
    if (!buf)
        return NULL;
    while (have <= CMD_MESSAGE_MAX) {
        ssize_t r = read(STDIN_FILENO, buf + have, CMD_MESSAGE_MAX + 1 - have);

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

/* Sets the send timeout of fd (bounds connect and each write) to ms. 0, or -1. */
static int cmd_send_timeout(int fd, int ms)
{
    struct timeval tv;

    if (ms <= 0)
        ms = 1;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Connects to ad (name: --socket as given, for messages), a send timeout
 * of what is left until deadline bounding the connect. The socket, or -1
 * after a one-line message. */
static int cmd_connect(const struct addr *ad, const char *name, long long deadline)
{
    struct addrinfo hints, *res = NULL, *ai;
    int fd = -1, err, e = 0;

    if (ad->is_unix) {
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        memcpy(sun.sun_path, ad->path, sizeof sun.sun_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || cmd_send_timeout(fd, cmd_left_ms(deadline)) < 0 ||
            connect(fd, (const struct sockaddr *)&sun, sizeof sun) < 0) {
            e = errno;
            if (fd >= 0)
                (void)close(fd);
            fprintf(stderr, "fcgi-sse publish: cannot connect to %s: %s\n", name,
                    strerror(e == EINPROGRESS || e == EAGAIN ? ETIMEDOUT : e));
            return -1;
        }
        return fd;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    err = getaddrinfo(ad->host, ad->port, &hints, &res);
    if (err) {
        fprintf(stderr, "fcgi-sse publish: cannot resolve %s: %s\n", ad->host,
                err == EAI_SYSTEM ? strerror(errno) : gai_strerror(err));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (cmd_send_timeout(fd, cmd_left_ms(deadline)) == 0 &&
            connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        e = errno;
        (void)close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "fcgi-sse publish: cannot connect to %s: %s\n", name,
                strerror(e == EINPROGRESS || e == EAGAIN ? ETIMEDOUT : e));
        return -1;
    }
    return fd;
}

/* Writes all of buf to fd (a send timeout is set). 0, or -1 with errno. */
static int cmd_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t w = write(fd, p, len);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Puts one FastCGI name-value pair (lengths of 1 byte below 128, else 4). 0, or -1. */
static int cmd_put_param(FCGX_Stream *s, const char *name, const char *value)
{
    size_t lens[2] = { strlen(name), strlen(value) };
    unsigned char hdr[8];
    int n = 0, i;

    for (i = 0; i < 2; i++) {
        if (lens[i] > 0x7fffffffUL)
            return -1;
        if (lens[i] < 128) {
            hdr[n++] = (unsigned char)lens[i];
        } else {
            hdr[n++] = (unsigned char)(0x80 | (lens[i] >> 24));
            hdr[n++] = (unsigned char)(lens[i] >> 16);
            hdr[n++] = (unsigned char)(lens[i] >> 8);
            hdr[n++] = (unsigned char)lens[i];
        }
    }
    if (FCGX_PutStr((const char *)hdr, n, s) != n ||
        FCGX_PutStr(name, (int)lens[0], s) != (int)lens[0] ||
        FCGX_PutStr(value, (int)lens[1], s) != (int)lens[1])
        return -1;
    return 0;
}

/* Sends the request: BEGIN_REQUEST, PARAMS, STDIN. 0, or -1 with errno. */
static int cmd_send(int fd, const char *const *params, const char *body, size_t len,
                    long long deadline)
{
    const unsigned char begin[16] = {
        CMD_FCGI_VERSION, CMD_FCGI_BEGIN_REQUEST, 0, CMD_REQUEST_ID, 0, 8, 0, 0,
        0, CMD_FCGI_RESPONDER, 0 /* flags: no keep-conn */, 0, 0, 0, 0, 0 };
    FCGX_Stream *s;
    size_t i;

    if (cmd_write_all(fd, begin, sizeof begin) < 0)
        return -1;
    s = cmd_streams[0] = FCGX_CreateWriter(fd, CMD_REQUEST_ID, CMD_WRITE_BUF, CMD_FCGI_PARAMS);
    if (!s) {
        errno = ENOMEM;
        return -1;
    }
    for (i = 0; params[i]; i += 2)
        if (cmd_put_param(s, params[i], params[i + 1]) < 0)
            break;
    if (params[i] || FCGX_FClose(s) != 0)
        goto stream_error;
    s = cmd_streams[1] = FCGX_CreateWriter(fd, CMD_REQUEST_ID, CMD_WRITE_BUF, CMD_FCGI_STDIN);
    if (!s) {
        errno = ENOMEM;
        return -1;
    }
    /* In pieces, each write bounded by what is left of the deadline. */
    for (i = 0; i < len; i += 65536) {
        int n = len - i > 65536 ? 65536 : (int)(len - i);
        int left = cmd_left_ms(deadline);

        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (cmd_send_timeout(fd, left) < 0)
            return -1;
        if (FCGX_PutStr(body + i, n, s) != n)
            goto stream_error;
    }
    if (FCGX_FClose(s) != 0)
        goto stream_error;
    return 0;

stream_error: {
        int e = FCGX_GetError(s);

        errno = e > 0 ? e : EPROTO;
        if (errno == EAGAIN)
            errno = ETIMEDOUT;
        return -1;
    }
}

/* Reads exactly n bytes before deadline. 1, 0 at end of file (nothing
 * or part read), or -1 with errno (ETIMEDOUT at the deadline). */
static int cmd_read_exact(int fd, unsigned char *buf, size_t n, long long deadline)
{
    size_t have = 0;

    while (have < n) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int left = cmd_left_ms(deadline), r;
        ssize_t got;

        if (left == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        r = poll(&pfd, 1, left);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            continue; /* the deadline is checked above */
        got = read(fd, buf + have, n - have);
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        if (got == 0) {
            errno = 0;
            return 0;
        }
        have += (size_t)got;
    }
    return 1;
}

/* The answer of the responder: its STDOUT and STDERR streams. */
struct cmd_answer {
    char *out;
    size_t out_len;
    char *err;
    size_t err_len;
};

/* Reads records until END_REQUEST: at most CMD_ANSWER_MAX bytes of
 * content, before deadline. 0, or -1 with a one-line reason in why. */
static int cmd_receive(int fd, struct cmd_answer *ans, long long deadline, char *why, size_t wlen)
{
    static unsigned char rec[65535 + 255];
    unsigned char h[8];

    for (;;) {
        size_t clen, plen;
        int r = cmd_read_exact(fd, h, sizeof h, deadline);

        if (r <= 0)
            goto read_error;
        clen = (size_t)h[4] << 8 | h[5];
        plen = h[6];
        r = cmd_read_exact(fd, rec, clen + plen, deadline);
        if (r <= 0)
            goto read_error;
        if (h[0] != CMD_FCGI_VERSION || ((unsigned)h[2] << 8 | h[3]) != CMD_REQUEST_ID) {
            snprintf(why, wlen, "the answer is not FastCGI for this request");
            return -1;
        }
        if (h[1] == CMD_FCGI_STDOUT || h[1] == CMD_FCGI_STDERR) {
            char **buf = h[1] == CMD_FCGI_STDOUT ? &ans->out : &ans->err;
            size_t *len = h[1] == CMD_FCGI_STDOUT ? &ans->out_len : &ans->err_len;
            char *nb;

            if (clen == 0)
                continue;
            if (ans->out_len + ans->err_len + clen > CMD_ANSWER_MAX) {
                snprintf(why, wlen, "the answer is larger than 1 MiB");
                return -1;
            }
            nb = realloc(*buf, *len + clen + 1);
            if (!nb) {
                snprintf(why, wlen, "out of memory");
                return -1;
            }
            memcpy(nb + *len, rec, clen);
            *len += clen;
            nb[*len] = '\0';
            *buf = nb;
        } else if (h[1] == CMD_FCGI_END_REQUEST && clen == 8) {
            if (rec[4] != CMD_FCGI_REQUEST_COMPLETE) {
                snprintf(why, wlen, "the responder refused the request "
                        "(FastCGI protocol status %u)", rec[4]);
                return -1;
            }
            return 0;
        } else {
            snprintf(why, wlen, "unexpected FastCGI record type %u in the answer", h[1]);
            return -1;
        }
    }

read_error:
    if (errno == ETIMEDOUT)
        snprintf(why, wlen, "no complete answer within %d s", CMD_TIMEOUT_MS / 1000);
    else
        snprintf(why, wlen, "the connection ended before the answer was complete%s%s",
                errno ? ": " : "", errno ? strerror(errno) : "");
    return -1;
}

/* Writes s[0..n) to f with control characters other than line ends and
 * tabs shown as '?': the answer's body is the responder's, not ours. */
static void cmd_put_text(FILE *f, const char *s, size_t n)
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
static int cmd_report(const struct cmd_answer *ans)
{
    const char *out = ans->out ? ans->out : "", *end = out + ans->out_len;
    const char *line = out, *body = NULL;
    char status[128] = "200 OK";
    size_t blen;

    if (ans->err_len) {
        fprintf(stderr, "fcgi-sse publish: the responder wrote to its error stream: ");
        cmd_put_text(stderr, ans->err, ans->err_len);
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
    cmd_put_text(stderr, status, strlen(status));
    if (blen && !memchr(body, '\n', blen)) {
        fprintf(stderr, ": ");
        cmd_put_text(stderr, body, blen);
        (void)fputc('\n', stderr);
    } else if (blen) {
        (void)fputc('\n', stderr);
        cmd_put_text(stderr, body, blen);
        (void)fputc('\n', stderr);
    } else {
        (void)fputc('\n', stderr);
    }
    return 1;
}

static int cmd_publish(int argc, char **argv)
{
    static const char *const allowed[] = { "socket", "key-file", "event", NULL };
    char query[256], uri[300], clen[24], why[300], *auth = NULL, *body;
    const char *params[2 * 12 + 1];
    struct cmd_answer ans = { NULL, 0, NULL, 0 };
    struct auth_keys *k = NULL;
    struct cmd_args a;
    struct sigaction sa;
    long long start;
    size_t len, authlen = 0, np = 0;
    struct addr addr;
    int rc, too_big, fd;

    rc = cmd_parse(argc, argv, "publish", allowed, &a);
    if (rc)
        return rc;
    if (a.help) {
        if (printf("usage: fcgi-sse publish --socket ADDR [--key-file FILE] CHANNEL [--event TYPE]"
                   " < MESSAGE\n"
                   "Publishes the message (stdin, at most 1 MiB) to CHANNEL through the responder\n"
                   "listening at ADDR (unix:/path, HOST:PORT, :PORT), as POST /publish over\n"
                   "FastCGI; with FILE, authorized by its first key (Authorization: Bearer).\n"
                   "Prints the JSON answer.\n") < 0 ||
            fflush(stdout) != 0)
            return 1;
        return 0;
    }
    if (!a.socket)
        return cmd_usage_error("publish", "--socket is required");
    rc = cmd_check_names("publish", &a, 1, 1);
    if (rc)
        return rc;
    if (a.event && !text_name_ok(a.event, CMD_TYPE_MAX))
        return cmd_usage_error("publish", "--event must be 1 to 64 bytes of A-Z a-z 0-9 _ . : -");
    if (addr_parse(a.socket, &addr, why, sizeof why) < 0) {
        char what[sizeof why + 16];
        snprintf(what, sizeof what, "--socket: %s", why);
        return cmd_usage_error("publish", what);
    }
    if (snprintf(query, sizeof query, "channel=%s%s%s", a.names[0], a.event ? "&event=" : "",
                 a.event ? a.event : "") >= (int)sizeof query ||
        snprintf(uri, sizeof uri, "/publish?%s", query) >= (int)sizeof uri)
        return cmd_usage_error("publish", "the channel and event are too long");

    if (a.key_file) {
        const char *key;

        k = cmd_load_keys("publish", a.key_file);
        if (!k)
            return 1;
        key = auth_first_key(k, &authlen);
        authlen += sizeof "Bearer ";
        auth = key ? malloc(authlen) : NULL;
        if (!auth) {
            fprintf(stderr, "fcgi-sse publish: out of memory\n");
            auth_keys_free(k);
            return 1;
        }
        memcpy(auth, "Bearer ", 7);
        memcpy(auth + 7, key, authlen - sizeof "Bearer ");
        auth[authlen - 1] = '\0';
        auth_keys_free(k);
    }

    body = cmd_read_stdin(&len, &too_big);
    if (!body) {
        if (too_big)
            fprintf(stderr, "fcgi-sse publish: the message is larger than 1 MiB\n");
        else
            fprintf(stderr, "fcgi-sse publish: cannot read the message from stdin: %s\n", strerror(errno));
        rc = 1;
        goto out;
    }
    if (snprintf(clen, sizeof clen, "%zu", len) >= (int)sizeof clen) {
        rc = 1; /* cannot happen: len is at most 1 MiB */
        goto out;
    }

    params[np++] = "GATEWAY_INTERFACE"; params[np++] = "CGI/1.1";
    params[np++] = "SERVER_PROTOCOL"; params[np++] = "HTTP/1.1";
    params[np++] = "REQUEST_METHOD"; params[np++] = "POST";
    params[np++] = "SCRIPT_NAME"; params[np++] = "/publish";
    params[np++] = "REQUEST_URI"; params[np++] = uri;
    params[np++] = "QUERY_STRING"; params[np++] = query;
    params[np++] = "CONTENT_LENGTH"; params[np++] = clen;
    params[np++] = "CONTENT_TYPE"; params[np++] = "text/plain; charset=utf-8";
    params[np++] = "REMOTE_ADDR"; params[np++] = "127.0.0.1";
    if (auth) {
        params[np++] = "HTTP_AUTHORIZATION";
        params[np++] = auth;
    }
    params[np] = NULL;

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
    start = clock_now_ms();
    fd = cmd_connect(&addr, a.socket, start + CMD_TIMEOUT_MS);
    if (fd < 0) {
        rc = 1;
        goto out;
    }
    if (cmd_send(fd, params, body, len, start + CMD_TIMEOUT_MS) < 0) {
        int e = errno;

        /* The responder may have answered early (and closed): read that. */
        if (cmd_receive(fd, &ans, start + CMD_TIMEOUT_MS, why, sizeof why) < 0) {
            fprintf(stderr, "fcgi-sse publish: cannot send the request to %s: %s\n", a.socket,
                    strerror(e));
            rc = 1;
        } else {
            rc = cmd_report(&ans);
        }
    } else if (cmd_receive(fd, &ans, start + CMD_TIMEOUT_MS, why, sizeof why) < 0) {
        fprintf(stderr, "fcgi-sse publish: %s\n", why);
        rc = 1;
    } else {
        rc = cmd_report(&ans);
    }
    if (close(fd) < 0 && rc == 0) {
        fprintf(stderr, "fcgi-sse publish: closing the connection: %s\n", strerror(errno));
        rc = 1;
    }

out:
    free(body);
    free(ans.out);
    free(ans.err);
    if (auth) {
        OPENSSL_cleanse(auth, authlen);
        free(auth);
    }
    return rc;
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
