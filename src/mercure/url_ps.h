/* url_ps.h -- the basic URL parser's state, shared by url_state.c and url_path.c */
#ifndef FCGI_SSE_URL_PS_H
#define FCGI_SSE_URL_PS_H

#include "mercure/url_int.h"

#include <stddef.h>

#define EOFC (-1)
#define CONT 0
#define DONE 1

struct url_ps {
    const char *in;   /* the input, tabs and newlines removed */
    ptrdiff_t n, p;   /* its length; the pointer */
    struct url *u;
    const struct url *base;
    enum url_state st, ov; /* state; state override (0: none) */
    struct url_buf buf;
    int at_seen, in_brackets, pw_seen;
};

/* Sets u->why; URL_EINVALID. */
int url_ps_fail(struct url_ps *s, const char *why);
/* The code point k after the pointer's next one ("remaining"), or EOFC. */
int url_ps_rem(const struct url_ps *s, ptrdiff_t k);
int url_special(const struct url *u);
int url_scheme_is(const struct url *u, const char *name);
int url_creds(const struct url *u);
int url_copy_buf(struct url_buf *dst, const struct url_buf *src);
int url_copy_host(struct url *u, const struct url *b);
/* Host-parses in[0, n) into s->u's host. */
int url_ps_set_host(struct url_ps *s, const char *in, size_t n);
/* Query (fragment) to the empty string, state to query (fragment) state. */
int url_ps_query(struct url_ps *s);
int url_ps_fragment(struct url_ps *s);
/* Shortens u's path. */
void url_path_shorten(struct url *u);

/* The states of url_path.c: CONT, DONE or an error. */
int url_st_file(struct url_ps *s, int c);
int url_st_file_slash(struct url_ps *s, int c);
int url_st_file_host(struct url_ps *s, int c);
int url_st_path_start(struct url_ps *s, int c);
int url_st_path(struct url_ps *s, int c);
int url_st_opaque_path(struct url_ps *s, int c);
int url_st_query(struct url_ps *s, int c);
int url_st_fragment(struct url_ps *s, int c);

#endif
