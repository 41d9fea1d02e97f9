/* url_state.c -- the URL Standard's basic URL parser state machine, with state overrides (pure) */
#include "config.h"

#include "mercure/url_ps.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Works on bytes: every code point the states look at is ASCII, and percent-encoding a
 * code point above U+007E is percent-encoding each byte of its UTF-8 form, so a byte
 * walk gives the code-point walk's result. The input is at most URL_MAX_INPUT bytes and
 * every state either moves the pointer on or hands over to a state that does, so the
 * walk is linear (the scheme state starts over once at most; the authority state
 * rewinds into the host state once). */

int url_ps_fail(struct url_ps *s, const char *why)
{
    s->u->why = why;
    return URL_EINVALID;
}

int url_ps_rem(const struct url_ps *s, ptrdiff_t k)
{
    ptrdiff_t i = s->p + 1 + k;

    return i >= 0 && i < s->n ? (unsigned char)s->in[i] : EOFC;
}

int url_special(const struct url *u)
{
    return url_is_special(url_buf_str(&u->scheme), u->scheme.len);
}

int url_scheme_is(const struct url *u, const char *name)
{
    return u->scheme.len == strlen(name) && memcmp(u->scheme.p, name, u->scheme.len) == 0;
}

static int alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int url_creds(const struct url *u)
{
    return u->username.len > 0 || u->password.len > 0;
}

int url_copy_buf(struct url_buf *dst, const struct url_buf *src)
{
    url_buf_clear(dst);
    return src->len ? url_buf_put(dst, src->p, src->len) : 0;
}

int url_copy_host(struct url *u, const struct url *b)
{
    u->host_kind = b->host_kind;
    return url_copy_buf(&u->host, &b->host);
}

/* url's username, password, host and port from base. */
static int copy_authority(struct url *u, const struct url *b)
{
    int r;

    if ((r = url_copy_buf(&u->username, &b->username)) || (r = url_copy_buf(&u->password, &b->password)) ||
        (r = url_copy_host(u, b)))
        return r;
    u->port = b->port;
    return 0;
}

int url_ps_set_host(struct url_ps *s, const char *in, size_t n)
{
    int r = url_host_parse(in, n, !url_special(s->u), &s->u->host, &s->u->host_kind,
                           &s->u->why);

    if (r == 0 && s->u->host.len == 0)
        s->u->host_kind = URL_HOST_EMPTY;
    return r;
}

int url_ps_query(struct url_ps *s)
{
    url_buf_clear(&s->u->query);
    s->u->has_query = 1;
    s->st = URL_ST_QUERY;
    return CONT;
}

int url_ps_fragment(struct url_ps *s)
{
    url_buf_clear(&s->u->fragment);
    s->u->has_fragment = 1;
    s->st = URL_ST_FRAGMENT;
    return CONT;
}

/* ---- states */

static int st_scheme_start(struct url_ps *s, int c)
{
    if (alpha(c)) {
        s->st = URL_ST_SCHEME;
        return url_buf_putc(&s->buf, (char)lower(c));
    }
    if (!s->ov) {
        s->st = URL_ST_NO_SCHEME;
        s->p--;
        return CONT;
    }
    return url_ps_fail(s, "the scheme does not start with a letter");
}

/* The scheme state on ':' with a state override: may return without changing u. */
static int scheme_override_stops(const struct url_ps *s)
{
    const struct url *u = s->u;
    int buf_special = url_is_special(url_buf_str(&s->buf), s->buf.len);
    int buf_file = s->buf.len == 4 && memcmp(s->buf.p, "file", 4) == 0;

    if (url_special(u) != buf_special)
        return 1;
    if ((url_creds(u) || u->port >= 0) && buf_file)
        return 1;
    return url_scheme_is(u, "file") && u->host_kind == URL_HOST_EMPTY;
}

static int st_scheme(struct url_ps *s, int c)
{
    struct url *u = s->u;
    int r;

    if (c != EOFC && (alpha(c) || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
        return url_buf_putc(&s->buf, (char)lower(c));
    if (c != ':') {
        if (s->ov)
            return url_ps_fail(s, "the scheme has a code point a scheme cannot have");
        url_buf_clear(&s->buf);
        s->st = URL_ST_NO_SCHEME;
        s->p = -1;
        return CONT;
    }
    if (s->ov && scheme_override_stops(s))
        return DONE;
    if ((r = url_copy_buf(&u->scheme, &s->buf)))
        return r;
    if (s->ov) {
        if (u->port >= 0 && u->port == url_default_port(u->scheme.p, u->scheme.len))
            u->port = -1;
        return DONE;
    }
    url_buf_clear(&s->buf);
    if (url_scheme_is(u, "file"))
        s->st = URL_ST_FILE;
    else if (url_special(u) && s->base && s->base->scheme.len == u->scheme.len &&
             memcmp(s->base->scheme.p, u->scheme.p, u->scheme.len) == 0)
        s->st = URL_ST_SPECIAL_RELATIVE_OR_AUTHORITY;
    else if (url_special(u))
        s->st = URL_ST_SPECIAL_AUTHORITY_SLASHES;
    else if (url_ps_rem(s, 0) == '/') {
        s->st = URL_ST_PATH_OR_AUTHORITY;
        s->p++;
    } else {
        url_buf_clear(&u->path);
        u->opaque_path = 1;
        s->st = URL_ST_OPAQUE_PATH;
    }
    return CONT;
}

static int st_no_scheme(struct url_ps *s, int c)
{
    const struct url *b = s->base;
    struct url *u = s->u;
    int r;

    if (!b || (b->opaque_path && c != '#'))
        return url_ps_fail(s, "the URL is relative and there is no base URL to resolve it against");
    if (b->opaque_path) {
        if ((r = url_copy_buf(&u->scheme, &b->scheme)) || (r = url_copy_buf(&u->path, &b->path)) ||
            (r = url_copy_buf(&u->query, &b->query)))
            return r;
        u->opaque_path = 1;
        u->has_query = b->has_query;
        return url_ps_fragment(s);
    }
    s->st = url_scheme_is(b, "file") ? URL_ST_FILE : URL_ST_RELATIVE;
    s->p--;
    return CONT;
}

static int st_relative(struct url_ps *s, int c)
{
    const struct url *b = s->base;
    struct url *u = s->u;
    int r;

    if ((r = url_copy_buf(&u->scheme, &b->scheme)))
        return r;
    if (c == '/' || (url_special(u) && c == '\\')) {
        s->st = URL_ST_RELATIVE_SLASH;
        return CONT;
    }
    if ((r = copy_authority(u, b)) || (r = url_copy_buf(&u->path, &b->path)) ||
        (r = url_copy_buf(&u->query, &b->query)))
        return r;
    u->has_query = b->has_query;
    if (c == '?')
        return url_ps_query(s);
    if (c == '#')
        return url_ps_fragment(s);
    if (c != EOFC) {
        url_buf_clear(&u->query);
        u->has_query = 0;
        url_path_shorten(u);
        s->st = URL_ST_PATH;
        s->p--;
    }
    return CONT;
}

static int st_relative_slash(struct url_ps *s, int c)
{
    int r;

    if (url_special(s->u) && (c == '/' || c == '\\')) {
        s->st = URL_ST_SPECIAL_AUTHORITY_IGNORE_SLASHES;
    } else if (c == '/') {
        s->st = URL_ST_AUTHORITY;
    } else {
        if ((r = copy_authority(s->u, s->base)))
            return r;
        s->st = URL_ST_PATH;
        s->p--;
    }
    return CONT;
}

static int st_slashes(struct url_ps *s, int c)
{
    switch (s->st) {
    case URL_ST_SPECIAL_RELATIVE_OR_AUTHORITY:
    case URL_ST_SPECIAL_AUTHORITY_SLASHES:
        if (c == '/' && url_ps_rem(s, 0) == '/') {
            s->st = URL_ST_SPECIAL_AUTHORITY_IGNORE_SLASHES;
            s->p++;
        } else {
            s->st = s->st == URL_ST_SPECIAL_AUTHORITY_SLASHES
                        ? URL_ST_SPECIAL_AUTHORITY_IGNORE_SLASHES : URL_ST_RELATIVE;
            s->p--;
        }
        break;
    case URL_ST_PATH_OR_AUTHORITY:
        if (c == '/') {
            s->st = URL_ST_AUTHORITY;
        } else {
            s->st = URL_ST_PATH;
            s->p--;
        }
        break;
    default: /* URL_ST_SPECIAL_AUTHORITY_IGNORE_SLASHES */
        if (c != '/' && c != '\\') {
            s->st = URL_ST_AUTHORITY;
            s->p--;
        }
        break;
    }
    return CONT;
}

/* The authority state's credentials: buffer (after "%40" when an '@' was seen before)
 * into username, then password after the first ':'. */
static int take_credentials(struct url_ps *s)
{
    static const char at[] = "%40";
    struct url *u = s->u;
    size_t extra = s->at_seen ? 3 : 0;
    int r = 0;

    for (size_t i = 0; i < s->buf.len + extra && r == 0; i++) {
        const char *cp = i < extra ? at + i : s->buf.p + i - extra;

        if (*cp == ':' && !s->pw_seen) {
            s->pw_seen = 1;
            continue;
        }
        r = url_buf_put_encoded(s->pw_seen ? &u->password : &u->username, cp, 1,
                                URL_SET_USERINFO);
    }
    return r;
}

static int st_authority(struct url_ps *s, int c)
{
    int r;

    if (c == '@') {
        r = take_credentials(s);
        s->at_seen = 1;
        url_buf_clear(&s->buf);
        return r;
    }
    if (c == EOFC || c == '/' || c == '?' || c == '#' || (url_special(s->u) && c == '\\')) {
        if (s->at_seen && s->buf.len == 0)
            return url_ps_fail(s, "the URL has credentials and no host");
        s->p -= (ptrdiff_t)s->buf.len + 1;
        url_buf_clear(&s->buf);
        s->st = URL_ST_HOST;
        return CONT;
    }
    return url_buf_putc(&s->buf, (char)c);
}

static int st_host(struct url_ps *s, int c)
{
    struct url *u = s->u;
    int r, special = url_special(u);

    if (s->ov && url_scheme_is(u, "file")) {
        s->p--;
        s->st = URL_ST_FILE_HOST;
        return CONT;
    }
    if (c == ':' && !s->in_brackets) {
        if (s->buf.len == 0)
            return url_ps_fail(s, "the host is missing");
        if (s->ov == URL_ST_HOSTNAME)
            return url_ps_fail(s, "the hostname has a ':'");
        if ((r = url_ps_set_host(s, url_buf_str(&s->buf), s->buf.len)))
            return r;
        url_buf_clear(&s->buf);
        s->st = URL_ST_PORT;
        return CONT;
    }
    if (c == EOFC || c == '/' || c == '?' || c == '#' || (special && c == '\\')) {
        s->p--;
        if (special && s->buf.len == 0)
            return url_ps_fail(s, "the host is missing");
        if (s->ov && s->buf.len == 0 && (url_creds(u) || u->port >= 0))
            return url_ps_fail(s, "the host is missing");
        if ((r = url_ps_set_host(s, url_buf_str(&s->buf), s->buf.len)))
            return r;
        url_buf_clear(&s->buf);
        s->st = URL_ST_PATH_START;
        return s->ov ? DONE : CONT;
    }
    if (c == '[')
        s->in_brackets = 1;
    if (c == ']')
        s->in_brackets = 0;
    return url_buf_putc(&s->buf, (char)c);
}

static int st_port(struct url_ps *s, int c)
{
    struct url *u = s->u;

    if (c >= '0' && c <= '9')
        return url_buf_putc(&s->buf, (char)c);
    if (c == EOFC || c == '/' || c == '?' || c == '#' || (url_special(u) && c == '\\') ||
        s->ov) {
        if (s->buf.len) {
            unsigned long v = 0;

            for (size_t i = 0; i < s->buf.len; i++) {
                v = v * 10 + (unsigned long)(s->buf.p[i] - '0');
                if (v > 65535)
                    return url_ps_fail(s, "the port is over 65535");
            }
            u->port = (int)v == url_default_port(url_buf_str(&u->scheme), u->scheme.len)
                          ? -1 : (int)v;
            url_buf_clear(&s->buf);
            if (s->ov)
                return DONE;
        }
        if (s->ov)
            return url_ps_fail(s, "the port is not a number");
        s->st = URL_ST_PATH_START;
        s->p--;
        return CONT;
    }
    return url_ps_fail(s, "the port is not a number");
}

static int step(struct url_ps *s, int c)
{
    switch (s->st) {
    case URL_ST_SCHEME_START: return st_scheme_start(s, c);
    case URL_ST_SCHEME: return st_scheme(s, c);
    case URL_ST_NO_SCHEME: return st_no_scheme(s, c);
    case URL_ST_RELATIVE: return st_relative(s, c);
    case URL_ST_RELATIVE_SLASH: return st_relative_slash(s, c);
    case URL_ST_SPECIAL_RELATIVE_OR_AUTHORITY:
    case URL_ST_PATH_OR_AUTHORITY:
    case URL_ST_SPECIAL_AUTHORITY_SLASHES:
    case URL_ST_SPECIAL_AUTHORITY_IGNORE_SLASHES: return st_slashes(s, c);
    case URL_ST_AUTHORITY: return st_authority(s, c);
    case URL_ST_HOST:
    case URL_ST_HOSTNAME: return st_host(s, c);
    case URL_ST_PORT: return st_port(s, c);
    case URL_ST_FILE: return url_st_file(s, c);
    case URL_ST_FILE_SLASH: return url_st_file_slash(s, c);
    case URL_ST_FILE_HOST: return url_st_file_host(s, c);
    case URL_ST_PATH_START: return url_st_path_start(s, c);
    case URL_ST_PATH: return url_st_path(s, c);
    case URL_ST_OPAQUE_PATH: return url_st_opaque_path(s, c);
    case URL_ST_QUERY: return url_st_query(s, c);
    case URL_ST_FRAGMENT: return url_st_fragment(s, c);
    }
    return url_ps_fail(s, "internal error: no such state");
}

static int c0_or_space(unsigned char c)
{
    return c <= 0x20;
}

int url_basic_parse(struct url *u, const char *in, size_t len, const struct url *base,
                    enum url_state override)
{
    struct url_ps s = {0};
    char *clean;
    size_t i, n = 0;
    int r = 0;

    if (len > URL_MAX_INPUT) {
        u->why = "the input is too long";
        return URL_ETOOLONG;
    }
    if (!override) {
        while (len > 0 && c0_or_space((unsigned char)in[0]))
            in++, len--;
        while (len > 0 && c0_or_space((unsigned char)in[len - 1]))
            len--;
    }
    clean = malloc(len + 1);
    if (!clean)
        return URL_ENOMEM;
    for (i = 0; i < len; i++)
        if (in[i] != '\t' && in[i] != '\n' && in[i] != '\r')
            clean[n++] = in[i];
    s.in = clean;
    s.n = (ptrdiff_t)n;
    s.u = u;
    s.base = base;
    s.ov = override;
    s.st = override ? override : URL_ST_SCHEME_START;
    for (s.p = 0;; s.p++) {
        int c = s.p >= 0 && s.p < s.n ? (unsigned char)s.in[s.p] : EOFC;

        r = step(&s, c);
        if (r != CONT || s.p >= s.n)
            break;
    }
    url_buf_free(&s.buf);
    free(clean);
    return r == DONE ? 0 : r;
}
