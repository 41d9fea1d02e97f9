/* url.c -- URL records: strings, percent-encode sets, UTF-8 checks, parse entry point (pure) */
#include "config.h"

#include "mercure/url.h"
#include "mercure/url_int.h"

#include <stdlib.h>
#include <string.h>

void url_init(struct url *u)
{
    memset(u, 0, sizeof *u);
    u->port = -1;
}

void url_free(struct url *u)
{
    url_buf_free(&u->scheme);
    url_buf_free(&u->username);
    url_buf_free(&u->password);
    url_buf_free(&u->host);
    url_buf_free(&u->path);
    url_buf_free(&u->query);
    url_buf_free(&u->fragment);
    url_init(u);
}

/* ---- strings */

static int reserve(struct url_buf *b, size_t extra)
{
    size_t want, cap;
    char *p;

    if (extra > URL_MAX_COMPONENT || b->len + extra > URL_MAX_COMPONENT)
        return URL_ETOOLONG;
    want = b->len + extra + 1;
    if (want <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 32;
    while (cap < want)
        cap *= 2;
    p = realloc(b->p, cap);
    if (!p)
        return URL_ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

int url_buf_put(struct url_buf *b, const char *s, size_t n)
{
    int r = reserve(b, n);

    if (r)
        return r;
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int url_buf_putc(struct url_buf *b, char c)
{
    return url_buf_put(b, &c, 1);
}

int url_buf_put_encoded(struct url_buf *b, const char *s, size_t n, enum url_pset set)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;
    int r = 0;

    for (i = 0; i < n && r == 0; i++) {
        unsigned char c = (unsigned char)s[i];
        char e[3];

        if (!url_in_set(c, set)) {
            r = url_buf_putc(b, (char)c);
            continue;
        }
        e[0] = '%';
        e[1] = hex[c >> 4];
        e[2] = hex[c & 15];
        r = url_buf_put(b, e, 3);
    }
    return r;
}

void url_buf_clear(struct url_buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

void url_buf_free(struct url_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

const char *url_buf_str(const struct url_buf *b)
{
    return b->p ? b->p : "";
}

/* ---- percent-encode sets */

int url_in_set(unsigned char c, enum url_pset s)
{
    if (c < 0x20 || c > 0x7e)
        return 1;
    switch (s) {
    case URL_SET_C0:
        return 0;
    case URL_SET_FRAGMENT:
        return c == ' ' || c == '"' || c == '<' || c == '>' || c == '`';
    case URL_SET_COMPONENT:
        if (c == '$' || c == '%' || c == '&' || c == '+' || c == ',')
            return 1;
        /* fall through */
    case URL_SET_USERINFO:
        if (c == '/' || c == ':' || c == ';' || c == '=' || c == '@' || c == '[' ||
            c == '\\' || c == ']' || c == '|')
            return 1;
        /* fall through */
    case URL_SET_PATH:
        if (c == '?' || c == '^' || c == '`' || c == '{' || c == '}')
            return 1;
        /* fall through */
    case URL_SET_QUERY:
        return c == ' ' || c == '"' || c == '#' || c == '<' || c == '>';
    case URL_SET_SPECIAL_QUERY:
        return c == ' ' || c == '"' || c == '#' || c == '<' || c == '>' || c == '\'';
    }
    return 1;
}

/* ---- UTF-8 */

int url_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;

    while (p < end) {
        unsigned c = *p, need, cp, min;

        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            need = 1, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
            need = 2, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
            need = 3, cp = c & 0x07, min = 0x10000;
        else
            return 0;
        if ((size_t)(end - p) <= need)
            return 0;
        for (unsigned k = 1; k <= need; k++) {
            if ((p[k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += need + 1;
    }
    return 1;
}

/* ---- schemes */

static const struct {
    const char *name;
    int port;
} specials[] = {
    {"ftp", 21}, {"file", -1}, {"http", 80}, {"https", 443}, {"ws", 80}, {"wss", 443},
};

int url_is_special(const char *scheme, size_t len)
{
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
        if (strlen(specials[i].name) == len && memcmp(specials[i].name, scheme, len) == 0)
            return 1;
    return 0;
}

int url_default_port(const char *scheme, size_t len)
{
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
        if (strlen(specials[i].name) == len && memcmp(specials[i].name, scheme, len) == 0)
            return specials[i].port;
    return -1;
}

/* ---- records */

void url_port_str(struct url *u)
{
    unsigned v = (unsigned)u->port;
    char tmp[8];
    size_t n = 0, i;

    if (u->port < 0) {
        u->port_str[0] = '\0';
        return;
    }
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (i = 0; i < n; i++)
        u->port_str[i] = tmp[n - 1 - i];
    u->port_str[n] = '\0';
}

int url_parse(struct url *u, const char *in, size_t len, const struct url *base)
{
    int r;

    url_init(u);
    if (len > URL_MAX_INPUT) {
        u->why = "the URL is too long";
        return URL_ETOOLONG;
    }
    if (!url_utf8_valid(in, len)) {
        u->why = "the URL is not UTF-8";
        return URL_EINVALID;
    }
    r = url_basic_parse(u, in, len, base, 0);
    if (r) {
        const char *why = u->why;

        url_free(u);
        u->why = why;
        return r;
    }
    url_port_str(u);
    return 0;
}

static int copy_buf(struct url_buf *dst, const struct url_buf *src)
{
    url_buf_clear(dst);
    return src->p ? url_buf_put(dst, src->p, src->len) : 0;
}

int url_copy(struct url *dst, const struct url *src)
{
    url_init(dst);
    if (copy_buf(&dst->scheme, &src->scheme) || copy_buf(&dst->username, &src->username) ||
        copy_buf(&dst->password, &src->password) || copy_buf(&dst->host, &src->host) ||
        copy_buf(&dst->path, &src->path) || copy_buf(&dst->query, &src->query) ||
        copy_buf(&dst->fragment, &src->fragment)) {
        url_free(dst);
        return URL_ENOMEM;
    }
    dst->port = src->port;
    dst->host_kind = src->host_kind;
    dst->opaque_path = src->opaque_path;
    dst->has_query = src->has_query;
    dst->has_fragment = src->has_fragment;
    memcpy(dst->port_str, src->port_str, sizeof dst->port_str);
    return 0;
}

const char *url_get(const struct url *u, enum url_part part, size_t *len)
{
    const struct url_buf *b = NULL;
    size_t dummy;

    if (!len)
        len = &dummy;
    switch (part) {
    case URL_PROTOCOL: b = &u->scheme; break;
    case URL_USERNAME: b = &u->username; break;
    case URL_PASSWORD: b = &u->password; break;
    case URL_HOSTNAME: b = &u->host; break;
    case URL_PATHNAME: b = &u->path; break;
    case URL_SEARCH: b = &u->query; break;
    case URL_HASH: b = &u->fragment; break;
    case URL_PORT:
        *len = strlen(u->port_str);
        return u->port_str;
    case URL_NPARTS: break;
    }
    if (!b) {
        *len = 0;
        return "";
    }
    *len = b->len;
    return url_buf_str(b);
}
