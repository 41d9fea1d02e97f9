/* cli_answer.c -- the commands' answer from a responder: its status and body printed, control characters shown as '?' */
#include "config.h"

#include "cli/cli_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

int cli_report(const char *cmd, const struct cli_answer *ans)
{
    const char *out = ans->out ? ans->out : "", *end = out + ans->out_len;
    const char *line = out, *body = NULL;
    char status[128] = "200 OK";
    size_t blen;

    if (ans->err_len) {
        fprintf(stderr, "fcgi-sse %s: the responder wrote to its error stream: ", cmd);
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
        fprintf(stderr, "fcgi-sse %s: the answer has no complete header block\n", cmd);
        return 1;
    }
    blen = (size_t)(end - body);
    if (strncmp(status, "200", 3) == 0 && (status[3] == '\0' || status[3] == ' ')) {
        if ((blen && fwrite(body, 1, blen, stdout) != blen) ||
            ((blen == 0 || body[blen - 1] != '\n') && fputc('\n', stdout) == EOF) ||
            fflush(stdout) != 0) {
            fprintf(stderr, "fcgi-sse %s: cannot write to stdout: %s\n", cmd, strerror(errno));
            return 1;
        }
        return 0;
    }
    while (blen && (body[blen - 1] == '\n' || body[blen - 1] == '\r' || body[blen - 1] == ' '))
        blen--;
    fprintf(stderr, "fcgi-sse %s: ", cmd);
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
