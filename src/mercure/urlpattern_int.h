/* urlpattern_int.h -- what the URL Pattern files share: errors, strings, tokens, parts, components */
#ifndef FCGI_SSE_URLPATTERN_INT_H
#define FCGI_SSE_URLPATTERN_INT_H

#include "mercure/url.h"
#include "mercure/urlpattern.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stddef.h>

/* The first error of a compile: its code and a one-line reason. */
struct urlpattern_err {
    int code;
    char msg[200];
};

/* Records code and the reason (printf-style) unless an error is already there; returns code. */
int urlpattern_fail(struct urlpattern_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A growing string up to max bytes (NUL-terminated once anything is in it). */
struct urlpattern_buf {
    char *p;
    size_t len, cap, max;
};

/* 0, URLPATTERN_ETOOBIG past b->max, URLPATTERN_ENOMEM. */
int urlpattern_buf_put(struct urlpattern_buf *b, const char *s, size_t n);
int urlpattern_buf_puts(struct urlpattern_buf *b, const char *s);
void urlpattern_buf_free(struct urlpattern_buf *b);

/* ---- tokens */

enum urlpattern_tok {
    UP_TOK_OPEN,
    UP_TOK_CLOSE,
    UP_TOK_REGEXP,
    UP_TOK_NAME,
    UP_TOK_CHAR,
    UP_TOK_ESCAPED_CHAR,
    UP_TOK_OTHER_MODIFIER,
    UP_TOK_ASTERISK,
    UP_TOK_END,
    UP_TOK_INVALID_CHAR
};

struct urlpattern_token {
    enum urlpattern_tok type;
    size_t index;      /* byte offset of the token in the input */
    const char *value; /* into the input */
    size_t len;
};

struct urlpattern_tokens {
    struct urlpattern_token *v;
    size_t n;
};

/* "tokenize" in[0, len) (valid UTF-8) with the strict (1) or lenient (0) policy into
 * *out (free out->v). 0, or an error recorded in e. */
int urlpattern_tokenize(const char *in, size_t len, int strict, struct urlpattern_tokens *out,
                        struct urlpattern_err *e);

/* ---- parts and components */

enum urlpattern_part_type { UP_FIXED, UP_REGEXP, UP_SEGMENT_WILDCARD, UP_FULL_WILDCARD };
enum urlpattern_modifier { UP_MOD_NONE, UP_MOD_OPTIONAL, UP_MOD_ZERO_OR_MORE, UP_MOD_ONE_OR_MORE };

/* A component's options and encoding callback. */
struct urlpattern_opts {
    char delimiter;        /* '\0' for none */
    char prefix;           /* '\0' for none */
    enum url_canon canon;  /* the encoding callback */
    const char *protocol;  /* for URL_CANON_PORT: the default port's scheme, or NULL */
    const char *component; /* "pathname"...: for messages */
};

/* How a component is matched: its regular expression, or a shortcut when the part list
 * makes one exact (a single full wildcard matches every component string, which never
 * holds a line terminator; fixed text alone is a comparison). */
enum urlpattern_kind { UP_KIND_REGEX, UP_KIND_ANY, UP_KIND_FIXED };

struct urlpattern_component {
    enum urlpattern_kind kind;
    char *fixed;        /* UP_KIND_FIXED: the text */
    size_t fixed_len;
    pcre2_code *re;     /* UP_KIND_REGEX */
    int has_regexp_groups;
};

/* "compile a component": parse the pattern string in[0, len), generate its regular
 * expression, compile it. 0 or an error in e. */
int urlpattern_component_compile(struct urlpattern_component *c, const char *in, size_t len,
                                 const struct urlpattern_opts *o, struct urlpattern_err *e);
void urlpattern_component_free(struct urlpattern_component *c);

/* Matches one component string: URLPATTERN_MATCH, URLPATTERN_NOMATCH, URLPATTERN_LIMIT,
 * URLPATTERN_ENOMEM. md: match data of at least one pair; mc: the limits. */
int urlpattern_component_match(const struct urlpattern_component *c, const char *s, size_t n,
                               pcre2_match_data *md, pcre2_match_context *mc);

/* "protocol component matches a special scheme": 1, 0, or an error in e (a limit hit). */
int urlpattern_matches_special(const struct urlpattern_component *c, struct urlpattern_err *e);

/* Translates the ECMAScript (v flag) regular expression re[0, n) of a regexp group into
 * PCRE2 syntax appended to out, wrapped in (?:...). 0, or an error in e. */
int urlpattern_es_translate(const char *re, size_t n, struct urlpattern_buf *out,
                            struct urlpattern_err *e);

/* ---- URLPatternInit */

enum { UP_PROTOCOL, UP_USERNAME, UP_PASSWORD, UP_HOSTNAME, UP_PORT, UP_PATHNAME, UP_SEARCH,
       UP_HASH, UP_BASEURL, UP_NFIELDS };

/* An init with owned strings; set[i] says whether member i exists. */
struct urlpattern_initv {
    char *v[UP_NFIELDS];
    size_t len[UP_NFIELDS];
    unsigned char set[UP_NFIELDS];
};

/* Sets member i to s[0, n) (a copy). 0 or URLPATTERN_ENOMEM. */
int urlpattern_init_set(struct urlpattern_initv *in, int i, const char *s, size_t n);
void urlpattern_init_free(struct urlpattern_initv *in);

/* "parse a constructor string" in[0, len) into *out (all absent before). */
int urlpattern_parse_constructor(const char *in, size_t len, struct urlpattern_initv *out,
                                 struct urlpattern_err *e);

/* "process a URLPatternInit" with type "pattern" and null defaults: *out from *in. */
int urlpattern_process_init(const struct urlpattern_initv *in, struct urlpattern_initv *out,
                            struct urlpattern_err *e);

/* "escape a pattern string" of s[0, n) appended to b. */
int urlpattern_escape_pattern(struct urlpattern_buf *b, const char *s, size_t n);

#endif
