/* test_secretfile.c -- unit tests of secretfile: a key file read whole, what others may do to
 * it told worst first, and each refusal (missing, not a regular file, a FIFO, too large) */
#include "config.h"

#include "core/secretfile.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"

static char dir[256], path[512], err[256];

/* A file NAME in dir holding len bytes of s, with mode; its path in `path`. */
static const char *file(const char *name, const char *s, size_t len, mode_t mode)
{
    int fd;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || (len && write(fd, s, len) != (ssize_t)len) || close(fd) < 0 ||
        chmod(path, mode) < 0)
        abort();
    return path;
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    struct secretfile f;
    char *big;

    snprintf(dir, sizeof dir, "%s/test_secretfile.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        abort();

    ok(secretfile_read(&f, file("k", "key\0one\n", 8, 0600), 64, "add a key", err, sizeof err)
       == 0 && f.len == 8 && memcmp(f.buf, "key\0one\n", 8) == 0 && f.buf[8] == '\0' &&
       !f.risk && !f.others_read && err[0] == '\0',
       "a file of its owner: read whole (NUL inside kept), NUL-terminated, no risk: %s", err);
    secretfile_free(&f);
    ok(f.buf == NULL && f.len == 0, "secretfile_free empties it");
    secretfile_free(&f);

    ok(secretfile_read(&f, file("e", "", 0, 0600), 64, "add a key", err, sizeof err) == 0 &&
       f.len == 0 && f.buf && f.buf[0] == '\0', "an empty file: read, empty");
    secretfile_free(&f);

    ok(secretfile_read(&f, file("g", "x", 1, 0620), 64, "add a key", err, sizeof err) == 0 &&
       f.severe && f.risk && strcmp(f.risk, "writable by its group or others, who could add "
                                    "a key: chmod go-w it") == 0,
       "group-writable: read, the severe risk named with the caller's harm: %s", f.risk);
    secretfile_free(&f);

    ok(secretfile_read(&f, file("w", "x", 1, 0606), 64, "replace the key", err, sizeof err)
       == 0 && f.severe && f.others_read && f.risk && strstr(f.risk, "who could replace the key"),
       "world-writable and readable: the write is told first: %s", f.risk);
    secretfile_free(&f);

    ok(secretfile_read(&f, file("r", "x", 1, 0644), 64, "add a key", err, sizeof err) == 0 &&
       !f.severe && f.others_read && f.risk && strcmp(f.risk, "readable by others than its "
                                                       "owner and group: chmod o-r it") == 0,
       "readable by others: not severe: %s", f.risk);
    secretfile_free(&f);

    if (geteuid() == 0) {
        file("o", "x", 1, 0600);
        if (chown(path, 65534, (gid_t)-1) < 0)
            abort();
        ok(secretfile_read(&f, path, 64, "add a key", err, sizeof err) == 0 && f.severe &&
           f.risk && strstr(f.risk, "owned by uid 65534, neither root nor this process's user "
                            "(uid 0), who could add a key: chown it"),
           "another owner: severe: %s", f.risk);
        secretfile_free(&f);
    } else {
        ok(1, "another owner # SKIP needs root to chown");
    }

    big = malloc(65);
    if (!big)
        abort();
    memset(big, 'k', 65);
    ok(secretfile_read(&f, file("big", big, 64, 0600), 64, "add a key", err, sizeof err) == 0 &&
       f.len == 64, "exactly max bytes: read");
    secretfile_free(&f);
    ok(secretfile_read(&f, file("big", big, 65, 0600), 64, "add a key", err, sizeof err) < 0 &&
       f.buf == NULL && strcmp(err, "larger than 64 bytes: not a key file") == 0,
       "one byte more: refused: %s", err);
    free(big);

    ok(secretfile_read(&f, dir, 64, "add a key", err, sizeof err) < 0 && f.buf == NULL &&
       strcmp(err, "not a regular file") == 0, "a directory: refused: %s", err);
    snprintf(path, sizeof path, "%s/fifo", dir);
    if (mkfifo(path, 0600) < 0)
        abort();
    ok(secretfile_read(&f, path, 64, "add a key", err, sizeof err) < 0 &&
       strcmp(err, "not a regular file") == 0,
       "a FIFO nobody writes: refused at once, not waited on: %s", err);
    unlink(path);
    snprintf(path, sizeof path, "%s/none", dir);
    ok(secretfile_read(&f, path, 64, "add a key", err, sizeof err) < 0 &&
       strncmp(err, "cannot open it: ", 16) == 0, "a missing file: refused: %s", err);

    {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            diag("could not remove %s", dir);
    }
    return done_testing();
}
