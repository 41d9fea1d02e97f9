/* urlpattern_ctor.c -- URL Pattern's constructor string parser and URLPatternInit processing (pure) */
#include "config.h"

#include "mercure/urlpattern_int.h"

#include <stdlib.h>
#include <string.h>

int urlpattern_init_set(struct urlpattern_initv *in, int i, const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (!p)
        return URLPATTERN_ENOMEM;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    free(in->v[i]);
    in->v[i] = p;
    in->len[i] = n;
    in->set[i] = 1;
    return 0;
}

void urlpattern_init_free(struct urlpattern_initv *in)
{
    for (int i = 0; i < UP_NFIELDS; i++)
        free(in->v[i]);
    memset(in, 0, sizeof *in);
}

int urlpattern_escape_pattern(struct urlpattern_buf *b, const char *s, size_t n)
{
    int r = 0;

    for (size_t i = 0; i < n && r == 0; i++) {
        if (strchr("+*?:{}()\\", s[i]) && s[i])
            r = urlpattern_buf_put(b, "\\", 1);
        if (r == 0)
            r = urlpattern_buf_put(b, s + i, 1);
    }
    return r;
}

/* ---- the constructor string parser */

enum cs_state { S_INIT, S_PROTOCOL, S_AUTHORITY, S_USERNAME, S_PASSWORD, S_HOSTNAME, S_PORT,
                S_PATHNAME, S_SEARCH, S_HASH, S_DONE };

/* The init member a state fills (-1: none). */
static const int field_of[] = {-1, UP_PROTOCOL, -1, UP_USERNAME, UP_PASSWORD, UP_HOSTNAME,
                               UP_PORT, UP_PATHNAME, UP_SEARCH, UP_HASH, -1};

struct csp {
    const char *in;
    struct urlpattern_tokens t;
    struct urlpattern_initv *res;
    size_t comp_start, ti, inc;
    long group_depth, v6_depth;
    int special;
    enum cs_state st;
    struct urlpattern_err *e;
};

static const struct urlpattern_token *safe_token(const struct csp *p, size_t i)
{
    return i < p->t.n ? &p->t.v[i] : &p->t.v[p->t.n - 1];
}

/* "is a non-special pattern char" */
static int nonspecial(const struct csp *p, size_t i, char c)
{
    const struct urlpattern_token *tok = safe_token(p, i);

    return tok->len == 1 && tok->value[0] == c &&
           (tok->type == UP_TOK_CHAR || tok->type == UP_TOK_ESCAPED_CHAR ||
            tok->type == UP_TOK_INVALID_CHAR);
}

static int is_search_prefix(const struct csp *p)
{
    const struct urlpattern_token *tok = &p->t.v[p->ti], *prev;

    if (nonspecial(p, p->ti, '?'))
        return 1;
    if (tok->len != 1 || tok->value[0] != '?')
        return 0;
    if (p->ti == 0)
        return 1;
    prev = safe_token(p, p->ti - 1);
    return !(prev->type == UP_TOK_NAME || prev->type == UP_TOK_REGEXP ||
             prev->type == UP_TOK_CLOSE || prev->type == UP_TOK_ASTERISK);
}

/* "make a component string" */
static int component_string(struct csp *p, const char **s, size_t *n)
{
    const struct urlpattern_token *tok = &p->t.v[p->ti], *start = safe_token(p, p->comp_start);

    *s = p->in + start->index;
    *n = tok->index >= start->index ? tok->index - start->index : 0;
    return 0;
}

static int set_field(struct csp *p, int f, const char *s, size_t n)
{
    return urlpattern_init_set(p->res, f, s, n)
               ? urlpattern_fail(p->e, URLPATTERN_ENOMEM, "out of memory") : 0;
}

/* "change state" */
static int change_state(struct csp *p, enum cs_state st, size_t skip)
{
    enum cs_state old = p->st;
    const char *s;
    size_t n;
    int r = 0;

    if (old != S_INIT && old != S_AUTHORITY && old != S_DONE) {
        component_string(p, &s, &n);
        r = set_field(p, field_of[old], s, n);
    }
    if (r == 0 && old != S_INIT && st != S_DONE) {
        if (old >= S_PROTOCOL && old <= S_PASSWORD && st >= S_PORT && st <= S_HASH &&
            !p->res->set[UP_HOSTNAME])
            r = set_field(p, UP_HOSTNAME, "", 0);
        if (r == 0 && old >= S_PROTOCOL && old <= S_PORT && (st == S_SEARCH || st == S_HASH) &&
            !p->res->set[UP_PATHNAME])
            r = set_field(p, UP_PATHNAME, p->special ? "/" : "", p->special ? 1 : 0);
        if (r == 0 && old >= S_PROTOCOL && old <= S_PATHNAME && st == S_HASH &&
            !p->res->set[UP_SEARCH])
            r = set_field(p, UP_SEARCH, "", 0);
    }
    p->st = st;
    p->ti += skip;
    p->comp_start = p->ti;
    p->inc = 0;
    return r;
}

static void rewind_to(struct csp *p, enum cs_state st)
{
    p->ti = p->comp_start;
    p->inc = 0;
    p->st = st;
}

/* "compute protocol matches a special scheme flag" */
static int compute_special(struct csp *p)
{
    struct urlpattern_opts o = {.canon = URL_CANON_PROTOCOL, .component = "protocol"};
    struct urlpattern_component c;
    const char *s;
    size_t n;
    int r;

    component_string(p, &s, &n);
    if ((r = urlpattern_component_compile(&c, s, n, &o, p->e)))
        return r;
    r = urlpattern_matches_special(&c, p->e);
    urlpattern_component_free(&c);
    if (r < 0)
        return r;
    p->special = r;
    return 0;
}

/* The end token: "init" found no protocol (a relative pattern), "authority" no '@'. */
static int at_end(struct csp *p, int *stop)
{
    *stop = 0;
    if (p->st == S_INIT) {
        p->ti = p->comp_start;
        p->inc = 0;
        if (nonspecial(p, p->ti, '#'))
            return change_state(p, S_HASH, 1);
        if (is_search_prefix(p))
            return change_state(p, S_SEARCH, 1);
        return change_state(p, S_PATHNAME, 0);
    }
    if (p->st == S_AUTHORITY) {
        rewind_to(p, S_HOSTNAME);
        return 0;
    }
    *stop = 1;
    return change_state(p, S_DONE, 0);
}

/* The pathname, search or hash start at the current token, if it is one. */
static int path_search_hash(struct csp *p, int *changed)
{
    *changed = 1;
    if (nonspecial(p, p->ti, '/'))
        return change_state(p, S_PATHNAME, 0);
    if (is_search_prefix(p))
        return change_state(p, S_SEARCH, 1);
    if (nonspecial(p, p->ti, '#'))
        return change_state(p, S_HASH, 1);
    *changed = 0;
    return 0;
}

static int step(struct csp *p)
{
    int r, changed;

    switch (p->st) {
    case S_INIT:
        if (nonspecial(p, p->ti, ':'))
            rewind_to(p, S_PROTOCOL);
        return 0;
    case S_PROTOCOL:
        if (!nonspecial(p, p->ti, ':'))
            return 0;
        if ((r = compute_special(p)))
            return r;
        if (nonspecial(p, p->ti + 1, '/') && nonspecial(p, p->ti + 2, '/'))
            return change_state(p, S_AUTHORITY, 3);
        return change_state(p, p->special ? S_AUTHORITY : S_PATHNAME, 1);
    case S_AUTHORITY:
        if (nonspecial(p, p->ti, '@')) {
            rewind_to(p, S_USERNAME);
            return 0;
        }
        if (nonspecial(p, p->ti, '/') || is_search_prefix(p) || nonspecial(p, p->ti, '#'))
            rewind_to(p, S_HOSTNAME);
        return 0;
    case S_USERNAME:
        if (nonspecial(p, p->ti, ':'))
            return change_state(p, S_PASSWORD, 1);
        if (nonspecial(p, p->ti, '@'))
            return change_state(p, S_HOSTNAME, 1);
        return 0;
    case S_PASSWORD:
        return nonspecial(p, p->ti, '@') ? change_state(p, S_HOSTNAME, 1) : 0;
    case S_HOSTNAME:
        if (nonspecial(p, p->ti, '['))
            p->v6_depth++;
        else if (nonspecial(p, p->ti, ']'))
            p->v6_depth--;
        else if (nonspecial(p, p->ti, ':') && p->v6_depth == 0)
            return change_state(p, S_PORT, 1);
        else
            return path_search_hash(p, &changed);
        return 0;
    case S_PORT:
        return path_search_hash(p, &changed);
    case S_PATHNAME:
        if (is_search_prefix(p))
            return change_state(p, S_SEARCH, 1);
        return nonspecial(p, p->ti, '#') ? change_state(p, S_HASH, 1) : 0;
    case S_SEARCH:
        return nonspecial(p, p->ti, '#') ? change_state(p, S_HASH, 1) : 0;
    default:
        return 0;
    }
}

int urlpattern_parse_constructor(const char *in, size_t len, struct urlpattern_initv *out,
                                 struct urlpattern_err *e)
{
    struct csp p = {.in = in, .res = out, .e = e, .st = S_INIT};
    int r, stop = 0;

    if ((r = urlpattern_tokenize(in, len, 0, &p.t, e)))
        return r;
    while (r == 0 && !stop && p.ti < p.t.n) {
        p.inc = 1;
        if (p.t.v[p.ti].type == UP_TOK_END) {
            r = at_end(&p, &stop);
            if (!stop)
                p.ti += p.inc;
            continue;
        }
        if (p.t.v[p.ti].type == UP_TOK_OPEN) {
            p.group_depth++;
            p.ti += p.inc;
            continue;
        }
        if (p.group_depth > 0) {
            if (p.t.v[p.ti].type != UP_TOK_CLOSE) {
                p.ti += p.inc;
                continue;
            }
            p.group_depth--;
        }
        r = step(&p);
        p.ti += p.inc;
    }
    if (r == 0 && out->set[UP_HOSTNAME] && !out->set[UP_PORT] &&
        urlpattern_init_set(out, UP_PORT, "", 0))
        r = urlpattern_fail(e, URLPATTERN_ENOMEM, "out of memory");
    free(p.t.v);
    return r;
}

/* ---- process a URLPatternInit (type "pattern") */

/* "is an absolute pathname" for a pattern. */
static int absolute_pathname(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    if (s[0] == '/')
        return 1;
    return n >= 2 && (s[0] == '\\' || s[0] == '{') && s[1] == '/';
}

/* result[f] := "process a base URL string" of s[0, n) (escaped as a pattern string). */
static int set_escaped(struct urlpattern_initv *res, int f, const char *s, size_t n)
{
    struct urlpattern_buf b = {.max = 4 * (size_t)URL_MAX_INPUT * 3 + 64};
    int r = urlpattern_escape_pattern(&b, s, n);

    if (r == 0)
        r = urlpattern_init_set(res, f, b.p ? b.p : "", b.len);
    urlpattern_buf_free(&b);
    return r;
}

/* The members the base URL gives when the init names none of the more specific ones. */
static int from_base(const struct urlpattern_initv *in, const struct url *b,
                     struct urlpattern_initv *res)
{
    size_t n;
    const char *s;
    int r = 0;
    int proto = in->set[UP_PROTOCOL], host = proto || in->set[UP_HOSTNAME];
    int port = host || in->set[UP_PORT], path = port || in->set[UP_PATHNAME];
    int search = path || in->set[UP_SEARCH], hash = search || in->set[UP_HASH];

    if (!proto) {
        s = url_get(b, URL_PROTOCOL, &n);
        r = set_escaped(res, UP_PROTOCOL, s, n);
    }
    if (r == 0 && !host) {
        s = url_get(b, URL_HOSTNAME, &n);
        r = set_escaped(res, UP_HOSTNAME, s, n);
    }
    if (r == 0 && !port) {
        s = url_get(b, URL_PORT, &n);
        r = urlpattern_init_set(res, UP_PORT, s, n);
    }
    if (r == 0 && !path) {
        s = url_get(b, URL_PATHNAME, &n);
        r = set_escaped(res, UP_PATHNAME, s, n);
    }
    if (r == 0 && !search) {
        s = url_get(b, URL_SEARCH, &n);
        r = set_escaped(res, UP_SEARCH, s, n);
    }
    if (r == 0 && !hash) {
        s = url_get(b, URL_HASH, &n);
        r = set_escaped(res, UP_HASH, s, n);
    }
    return r;
}

/* The init's pathname, made relative to the base URL's path unless absolute. */
static int pathname(const struct urlpattern_initv *in, const struct url *b, int has_base,
                    struct urlpattern_initv *res)
{
    struct urlpattern_buf base_path = {.max = (size_t)URL_MAX_INPUT * 3 * 2 + 64};
    const char *s = in->v[UP_PATHNAME], *bp;
    size_t n = in->len[UP_PATHNAME], bn, slash;
    int r;

    if (!has_base || b->opaque_path || absolute_pathname(s, n))
        return urlpattern_init_set(res, UP_PATHNAME, s, n);
    bp = url_get(b, URL_PATHNAME, &bn);
    if ((r = urlpattern_escape_pattern(&base_path, bp, bn)))
        return r;
    for (slash = base_path.len; slash > 0 && base_path.p[slash - 1] != '/'; slash--)
        ;
    if (slash > 0) {
        base_path.len = slash;
        r = urlpattern_buf_put(&base_path, s, n);
        if (r == 0)
            r = urlpattern_init_set(res, UP_PATHNAME, base_path.p, base_path.len);
    } else {
        r = urlpattern_init_set(res, UP_PATHNAME, s, n);
    }
    urlpattern_buf_free(&base_path);
    return r;
}

int urlpattern_process_init(const struct urlpattern_initv *in, struct urlpattern_initv *res,
                            struct urlpattern_err *e)
{
    struct url base;
    int r = 0, has_base = in->set[UP_BASEURL];

    url_init(&base);
    if (has_base) {
        r = url_parse(&base, in->v[UP_BASEURL], in->len[UP_BASEURL], NULL);
        if (r == URL_ENOMEM)
            return urlpattern_fail(e, URLPATTERN_ENOMEM, "out of memory");
        if (r)
            return urlpattern_fail(e, URLPATTERN_EINVALID, "the base URL is not a URL: %s",
                                   base.why ? base.why : "invalid");
        r = from_base(in, &base, res);
    }
    for (int f = UP_PROTOCOL; r == 0 && f <= UP_HASH; f++) {
        const char *s = in->v[f];
        size_t n = in->len[f];

        if (!in->set[f])
            continue;
        if (f == UP_PROTOCOL && n > 0 && s[n - 1] == ':')
            n--;
        if ((f == UP_SEARCH && n > 0 && s[0] == '?') || (f == UP_HASH && n > 0 && s[0] == '#'))
            s++, n--;
        r = f == UP_PATHNAME ? pathname(in, &base, has_base, res)
                             : urlpattern_init_set(res, f, s, n);
    }
    url_free(&base);
    if (r == URLPATTERN_ETOOBIG)
        return urlpattern_fail(e, r, "the pattern is too long");
    return r ? urlpattern_fail(e, URLPATTERN_ENOMEM, "out of memory") : 0;
}
