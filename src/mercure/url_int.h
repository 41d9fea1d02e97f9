/* url_int.h -- what url.c, url_host.c and url_canon.c share: strings, percent-encode sets, hosts */
#ifndef FCGI_SSE_URL_INT_H
#define FCGI_SSE_URL_INT_H

#include "mercure/url.h"

#include <stddef.h>

/* The most a component may hold (percent-encoding triples a byte at most). */
#define URL_MAX_COMPONENT (3 * URL_MAX_INPUT + 64)

/* The URL Standard's percent-encode sets. */
enum url_pset {
    URL_SET_C0,            /* C0 controls and above U+007E */
    URL_SET_FRAGMENT,      /* C0 + space " < > ` */
    URL_SET_QUERY,         /* C0 + space " # < > */
    URL_SET_SPECIAL_QUERY, /* query + ' */
    URL_SET_PATH,          /* query + ? ^ ` { } */
    URL_SET_USERINFO,      /* path + / : ; = @ [ \ ] | */
    URL_SET_COMPONENT      /* userinfo + $ % & + , */
};

/* 1 if byte c (a whole ASCII code point, or any byte of a UTF-8 sequence: those are all
 * above U+007E) is in set s. */
int url_in_set(unsigned char c, enum url_pset s);

/* Appends s[0, n) to b, growing it up to URL_MAX_COMPONENT. 0, URL_ETOOLONG or URL_ENOMEM. */
int url_buf_put(struct url_buf *b, const char *s, size_t n);
int url_buf_putc(struct url_buf *b, char c);
/* Appends s[0, n), UTF-8 percent-encoding each byte in set (as %XX, upper case). */
int url_buf_put_encoded(struct url_buf *b, const char *s, size_t n, enum url_pset set);
/* Empties b (keeps its memory); frees it. */
void url_buf_clear(struct url_buf *b);
void url_buf_free(struct url_buf *b);
/* b's text, "" when nothing was put. */
const char *url_buf_str(const struct url_buf *b);

/* The host parser on in[0, len): is_opaque for a URL that is not special. Appends the
 * host serializer's output to *out (empty before) and sets *kind. 0, URL_EINVALID (*why
 * set), URL_ETOOLONG or URL_ENOMEM. */
int url_host_parse(const char *in, size_t len, int is_opaque, struct url_buf *out,
                   enum url_host_kind *kind, const char **why);

/* State overrides of the basic URL parser that url_canon() and url_parse() share. */
enum url_state {
    URL_ST_SCHEME_START = 1,
    URL_ST_SCHEME,
    URL_ST_NO_SCHEME,
    URL_ST_SPECIAL_RELATIVE_OR_AUTHORITY,
    URL_ST_PATH_OR_AUTHORITY,
    URL_ST_RELATIVE,
    URL_ST_RELATIVE_SLASH,
    URL_ST_SPECIAL_AUTHORITY_SLASHES,
    URL_ST_SPECIAL_AUTHORITY_IGNORE_SLASHES,
    URL_ST_AUTHORITY,
    URL_ST_HOST,
    URL_ST_HOSTNAME,
    URL_ST_PORT,
    URL_ST_FILE,
    URL_ST_FILE_SLASH,
    URL_ST_FILE_HOST,
    URL_ST_PATH_START,
    URL_ST_PATH,
    URL_ST_OPAQUE_PATH,
    URL_ST_QUERY,
    URL_ST_FRAGMENT
};

/* The basic URL parser with a URL and a state override (override 0: none, a new URL is
 * parsed into u, which must be empty). For an override, u is modified in place and the
 * result is 0 or URL_EINVALID as the standard's "return failure" (u->why set). */
int url_basic_parse(struct url *u, const char *in, size_t len, const struct url *base,
                    enum url_state override);

/* Sets u->port_str from u->port. */
void url_port_str(struct url *u);

#endif
