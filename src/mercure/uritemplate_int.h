/* uritemplate_int.h -- what the URI-template parser and its regular-expression writer share */
#ifndef FCGI_SSE_MERCURE_URITEMPLATE_INT_H
#define FCGI_SSE_MERCURE_URITEMPLATE_INT_H

#include <stddef.h>

#include "mercure/uritemplate.h"

/* Longest regular expression built (bytes); PCRE2's own compiled-size limit (64 KiB with
 * Debian's link size 2) usually stops a large one first. */
#define UT_REGEX_MAX (256 * 1024)

struct ut_var {
    const char *name;
    size_t nlen;
    int explode;
    unsigned prefix; /* 0: none */
};

struct ut_expr {
    char op;         /* 0 for none, or one of + # . / ; ? & */
    const char *first;
    const char *sep;
    size_t n;
    struct ut_var v[UT_VARS_MAX];
};

/* The regular expression being built: appends past a failure do nothing. */
struct ut_buf {
    char *p;
    size_t len, cap;
    int err; /* UT_ENOMEM or UT_ETOOBIG once something failed */
};

void ut_put(struct ut_buf *b, const char *s, size_t n);
void ut_puts(struct ut_buf *b, const char *s);
/* An ASCII character as a literal: letters and digits as they are, the rest escaped. */
void ut_put_ascii(struct ut_buf *b, char c);
void ut_put_escaped(struct ut_buf *b, const char *s, size_t n);
/* Writes a run of adjacent expressions (n of them, no literal between: run is reordered in
 * place), each dropped when a neighbour writes all it writes. */
void ut_put_run_of(struct ut_buf *b, struct ut_expr *run, size_t n);

#endif
