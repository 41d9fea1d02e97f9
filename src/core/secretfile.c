/* secretfile.c -- a file of keys or secrets, read whole after checking who else may change it */
#include "config.h"

#include "core/secretfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What others than the file's owner may do to it, worst first. */
static void secretfile_risk(struct secretfile *f, const struct stat *st, const char *harm)
{
    uid_t me = geteuid();

    f->others_read = (st->st_mode & S_IROTH) != 0;
    f->severe = 1;
    if (st->st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(f->riskbuf, sizeof f->riskbuf,
                 "writable by its group or others, who could %s: chmod go-w it", harm);
    } else if (st->st_uid != 0 && st->st_uid != me) {
        snprintf(f->riskbuf, sizeof f->riskbuf, "owned by uid %lu, neither root nor this "
                 "process's user (uid %lu), who could %s: chown it",
                 (unsigned long)st->st_uid, (unsigned long)me, harm);
    } else {
        f->severe = 0;
        if (!f->others_read)
            return;
        snprintf(f->riskbuf, sizeof f->riskbuf,
                 "readable by others than its owner and group: chmod o-r it");
    }
    f->risk = f->riskbuf;
}

/* Reads all of fd, at most max bytes, into f->buf. 0, or -1 with errno (EFBIG past max,
 * ENOMEM) and nothing kept. */
static int secretfile_read_all(struct secretfile *f, int fd, size_t max)
{
    char *buf = malloc(max + 2);
    size_t have = 0;
    int e;

    if (!buf)
        return -1;
    for (;;) {
        ssize_t r = read(fd, buf + have, max + 1 - have);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        if (r == 0) {
            buf[have] = '\0';
            f->buf = buf;
            f->len = have;
            return 0;
        }
        have += (size_t)r;
        if (have > max) {
            errno = EFBIG;
            break;
        }
    }
    e = errno;
    explicit_bzero(buf, have);
    free(buf);
    errno = e;
    return -1;
}

int secretfile_read(struct secretfile *f, const char *path, size_t max, const char *harm,
                    char *err, size_t errlen)
{
    struct stat st;
    int fd, r = -1;

    memset(f, 0, sizeof *f);
    if (errlen)
        err[0] = '\0';
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open it: %s", strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0)
        snprintf(err, errlen, "cannot stat it: %s", strerror(errno));
    else if (!S_ISREG(st.st_mode))
        snprintf(err, errlen, "not a regular file");
    else if (secretfile_read_all(f, fd, max) == 0)
        r = 0;
    else if (errno == EFBIG)
        snprintf(err, errlen, "larger than %zu bytes: not a key file", max);
    else if (errno == ENOMEM)
        snprintf(err, errlen, "out of memory");
    else
        snprintf(err, errlen, "cannot read it: %s", strerror(errno));
    if (close(fd) < 0 && r == 0) {
        snprintf(err, errlen, "cannot read it: %s", strerror(errno));
        r = -1;
    }
    if (r < 0) {
        secretfile_free(f);
        return -1;
    }
    secretfile_risk(f, &st, harm);
    return 0;
}

void secretfile_free(struct secretfile *f)
{
    if (f->buf) {
        explicit_bzero(f->buf, f->len);
        free(f->buf);
    }
    f->buf = NULL;
    f->len = 0;
}
