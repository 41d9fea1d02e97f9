/* secretfile.h -- a file of keys or secrets, read whole after checking who else may change it */
#ifndef FCGI_SSE_CORE_SECRETFILE_H
#define FCGI_SSE_CORE_SECRETFILE_H

#include <stddef.h>

struct secretfile {
    char *buf;              /* the file's bytes, NUL-terminated (a NUL inside is the caller's) */
    size_t len;
    const char *risk;       /* what others than its owner may do to it (one line), or NULL */
    int severe;             /* risk lets someone else change it, not only read it */
    int others_read;        /* others than its owner and group may read it */
    char riskbuf[192];
};

/* Opens path (never blocking: a FIFO is not read), and reads it whole when it
 * is a regular file of at most max bytes. f->risk tells, worst first, of a
 * file its group or others may write, or whose owner is neither root nor this
 * process's user ("... who could HARM: chmod go-w it" / "chown it": severe),
 * else of one others may read ("readable by others than its owner and group:
 * chmod o-r it"); the caller decides whether that refuses it. 0, or -1 with
 * the one-line reason in err ("cannot open it: ...", "cannot stat it: ...",
 * "not a regular file", "larger than MAX bytes", "cannot read it: ...", "out
 * of memory"); f is then empty. */
int secretfile_read(struct secretfile *f, const char *path, size_t max, const char *harm,
                    char *err, size_t errlen);
/* Wipes f's bytes and frees them (f may be empty). */
void secretfile_free(struct secretfile *f);

#endif
