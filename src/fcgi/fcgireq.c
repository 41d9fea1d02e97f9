/* fcgireq.c -- every use of libfcgi's FCGX_Request: read a checked request, write, end, never linger */
#include "config.h"

#include "fcgi/fcgireq.h"

#include <errno.h>
#include <string.h>

int fcgireq_read(FCGX_Request *r, int feed, int conn, char *body, size_t body_cap,
                 size_t *body_len, int skip_body)
{
    char scratch[4096];
    size_t got = 0;
    int n;

    if (FCGX_InitRequest(r, -1, 0) != 0)
        return -1;
    r->ipcFd = feed;
    r->keepConnection = 1;
    /* listen_sock is -1: on a refusal libfcgi closes feed and its accept
     * of a new connection fails at once, so this never blocks. */
    if (FCGX_Accept_r(r) != 0) {
        r->ipcFd = -1;
        return -1;
    }
    while (!skip_body) {
        char *dst = body && got < body_cap ? body + got : scratch;
        size_t room = body && got < body_cap ? body_cap - got : sizeof scratch;
        n = FCGX_GetStr(dst, room > 65536 ? 65536 : (int)room, r->in);
        if (n <= 0)
            break;
        if (body && got < body_cap)
            got += (size_t)n;
    }
    if (body_len)
        *body_len = got;
    /* From here on libfcgi writes the answer to the web server. */
    r->ipcFd = conn;
    r->keepConnection = 0;
    return 0;
}

const char *fcgireq_param(FCGX_Request *r, const char *name)
{
    const char *found = NULL;
    size_t len;
    char **p;

    if (!r->envp || !name)
        return NULL;
    len = strlen(name);
    for (p = r->envp; *p; p++)
        if (strncmp(*p, name, len) == 0 && (*p)[len] == '=')
            found = *p + len + 1;
    return found;
}

int fcgireq_write(FCGX_Request *r, const char *buf, size_t len)
{
    if (len > (size_t)0x7fffffff) {
        errno = EINVAL;
        return -1;
    }
    if (FCGX_PutStr(buf, (int)len, r->out) != (int)len) {
        int err = FCGX_GetError(r->out);
        errno = err > 0 ? err : EIO;
        return -1;
    }
    return 0;
}

int fcgireq_flush(FCGX_Request *r)
{
    if (FCGX_FFlush(r->out) != 0) {
        int err = FCGX_GetError(r->out);
        errno = err > 0 ? err : EIO;
        return -1;
    }
    return 0;
}

int fcgireq_fd(const FCGX_Request *r)
{
    return r->ipcFd;
}

int fcgireq_trim(FCGX_Request *r)
{
    FCGX_Stream *out = r->out;

    /* Closing the unused, empty stderr writer writes nothing but counts
     * it as done, so that closing out at the end writes END_REQUEST. */
    if (FCGX_FClose(r->err) != 0) {
        errno = EIO;
        return -1;
    }
    /* FCGX_Free(r, 0) frees in, err and the params but keeps the
     * connection; out is set aside so that it survives. */
    r->out = NULL;
    FCGX_Free(r, 0);
    r->out = out;
    r->envp = NULL;
    return 0;
}

void fcgireq_end(FCGX_Request *r, int clean)
{
    if (r->ipcFd < 0 && !r->out && !r->in)
        return;
    if (clean && r->out) {
        if (r->err)
            (void)FCGX_FClose(r->err);
        (void)FCGX_FClose(r->out);
    }
    /* Detached, libfcgi closes without shutdown() and its read-until-EOF. */
    (void)FCGX_Detach(r);
    FCGX_Free(r, 1);
    r->envp = NULL;
}
