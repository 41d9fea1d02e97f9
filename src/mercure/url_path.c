/* url_path.c -- the basic URL parser's file, path, query and fragment states (pure) */
#include "config.h"

#include "mercure/url_ps.h"

#include <string.h>
#include <strings.h>

static int alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A Windows drive letter (normalized: second code point ':'). */
static int wdl(const char *s, size_t n, int normalized)
{
    return n == 2 && alpha((unsigned char)s[0]) &&
           (s[1] == ':' || (!normalized && s[1] == '|'));
}

static int starts_wdl(const char *s, size_t n)
{
    return n >= 2 && wdl(s, 2, 0) &&
           (n == 2 || s[2] == '/' || s[2] == '\\' || s[2] == '?' || s[2] == '#');
}

static int single_dot(const struct url_buf *b)
{
    const char *s = url_buf_str(b);

    return strcmp(s, ".") == 0 || strcasecmp(s, "%2e") == 0;
}

static int double_dot(const struct url_buf *b)
{
    const char *s = url_buf_str(b);

    return strcmp(s, "..") == 0 || strcasecmp(s, ".%2e") == 0 ||
           strcasecmp(s, "%2e.") == 0 || strcasecmp(s, "%2e%2e") == 0;
}

/* ---- paths, as their serialization: one "/" + segment per item */

static int path_append(struct url *u, const char *seg, size_t n)
{
    int r = url_buf_putc(&u->path, '/');

    return r ? r : url_buf_put(&u->path, seg, n);
}

/* path[0], if any. */
static const char *path_first(const struct url *u, size_t *n)
{
    const char *s = url_buf_str(&u->path), *e;

    if (u->path.len == 0)
        return NULL;
    e = memchr(s + 1, '/', u->path.len - 1);
    *n = e ? (size_t)(e - s - 1) : u->path.len - 1;
    return s + 1;
}

void url_path_shorten(struct url *u)
{
    const char *first;
    size_t n;

    first = path_first(u, &n);
    if (first && url_scheme_is(u, "file") && n + 1 == u->path.len && wdl(first, n, 1))
        return;
    while (u->path.len > 0 && u->path.p[u->path.len - 1] != '/')
        u->path.len--;
    if (u->path.len > 0)
        u->path.len--;
    if (u->path.p)
        u->path.p[u->path.len] = '\0';
}

int url_st_file(struct url_ps *s, int c)
{
    struct url *u = s->u;
    const struct url *b = s->base;
    int r;

    url_buf_clear(&u->scheme);
    if ((r = url_buf_put(&u->scheme, "file", 4)))
        return r;
    url_buf_clear(&u->host);
    u->host_kind = URL_HOST_EMPTY;
    if (c == '/' || c == '\\') {
        s->st = URL_ST_FILE_SLASH;
        return CONT;
    }
    if (b && url_scheme_is(b, "file")) {
        if ((r = url_copy_host(u, b)) || (r = url_copy_buf(&u->path, &b->path)) ||
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
            if (!starts_wdl(s->in + s->p, (size_t)(s->n - s->p)))
                url_path_shorten(u);
            else
                url_buf_clear(&u->path);
            s->st = URL_ST_PATH;
            s->p--;
        }
        return CONT;
    }
    s->st = URL_ST_PATH;
    s->p--;
    return CONT;
}

int url_st_file_slash(struct url_ps *s, int c)
{
    struct url *u = s->u;
    const struct url *b = s->base;
    const char *first;
    size_t n;
    int r;

    if (c == '/' || c == '\\') {
        s->st = URL_ST_FILE_HOST;
        return CONT;
    }
    if (b && url_scheme_is(b, "file")) {
        if ((r = url_copy_host(u, b)))
            return r;
        first = path_first(b, &n);
        if (!starts_wdl(s->in + s->p, (size_t)(s->n - s->p)) && first && wdl(first, n, 1) &&
            (r = path_append(u, first, n)))
            return r;
    }
    s->st = URL_ST_PATH;
    s->p--;
    return CONT;
}

int url_st_file_host(struct url_ps *s, int c)
{
    struct url *u = s->u;
    int r;

    if (!(c == EOFC || c == '/' || c == '\\' || c == '?' || c == '#'))
        return url_buf_putc(&s->buf, (char)c);
    s->p--;
    if (!s->ov && wdl(url_buf_str(&s->buf), s->buf.len, 0)) {
        s->st = URL_ST_PATH; /* the buffer stays: the path state takes it */
        return CONT;
    }
    if (s->buf.len == 0) {
        url_buf_clear(&u->host);
        u->host_kind = URL_HOST_EMPTY;
        if (s->ov)
            return DONE;
        s->st = URL_ST_PATH_START;
        return CONT;
    }
    if ((r = url_ps_set_host(s, url_buf_str(&s->buf), s->buf.len)))
        return r;
    if (strcmp(url_buf_str(&u->host), "localhost") == 0) {
        url_buf_clear(&u->host);
        u->host_kind = URL_HOST_EMPTY;
    }
    if (s->ov)
        return DONE;
    url_buf_clear(&s->buf);
    s->st = URL_ST_PATH_START;
    return CONT;
}

int url_st_path_start(struct url_ps *s, int c)
{
    if (url_special(s->u)) {
        s->st = URL_ST_PATH;
        if (c != '/' && c != '\\')
            s->p--;
    } else if (!s->ov && c == '?') {
        return url_ps_query(s);
    } else if (!s->ov && c == '#') {
        return url_ps_fragment(s);
    } else if (c != EOFC) {
        s->st = URL_ST_PATH;
        if (c != '/')
            s->p--;
    } else if (s->ov && s->u->host_kind == URL_HOST_NULL) {
        return path_append(s->u, "", 0);
    }
    return CONT;
}

int url_st_path(struct url_ps *s, int c)
{
    struct url *u = s->u;
    int special = url_special(u), slash = c == '/' || (special && c == '\\'), r = 0;
    char ch = (char)c;

    if (!(c == EOFC || slash || (!s->ov && (c == '?' || c == '#'))))
        return url_buf_put_encoded(&s->buf, &ch, 1, URL_SET_PATH);
    if (double_dot(&s->buf)) {
        url_path_shorten(u);
        if (!slash)
            r = path_append(u, "", 0);
    } else if (single_dot(&s->buf)) {
        if (!slash)
            r = path_append(u, "", 0);
    } else {
        if (url_scheme_is(u, "file") && u->path.len == 0 && wdl(url_buf_str(&s->buf), s->buf.len, 0))
            s->buf.p[1] = ':';
        r = path_append(u, url_buf_str(&s->buf), s->buf.len);
    }
    url_buf_clear(&s->buf);
    if (r)
        return r;
    if (c == '?')
        return url_ps_query(s);
    if (c == '#')
        return url_ps_fragment(s);
    return CONT;
}

int url_st_opaque_path(struct url_ps *s, int c)
{
    char ch = (char)c;

    if (c == '?')
        return url_ps_query(s);
    if (c == '#')
        return url_ps_fragment(s);
    if (c == ' ') {
        int next = url_ps_rem(s, 0);

        if (next == '?' || next == '#')
            return url_buf_put(&s->u->path, "%20", 3);
        return url_buf_putc(&s->u->path, ' ');
    }
    if (c != EOFC)
        return url_buf_put_encoded(&s->u->path, &ch, 1, URL_SET_C0);
    return CONT;
}

int url_st_query(struct url_ps *s, int c)
{
    char ch = (char)c;

    if (!s->ov && c == '#')
        return url_ps_fragment(s);
    if (c == EOFC)
        return CONT;
    return url_buf_put_encoded(&s->u->query, &ch, 1,
                               url_special(s->u) ? URL_SET_SPECIAL_QUERY : URL_SET_QUERY);
}

int url_st_fragment(struct url_ps *s, int c)
{
    char ch = (char)c;

    return c == EOFC ? CONT : url_buf_put_encoded(&s->u->fragment, &ch, 1, URL_SET_FRAGMENT);
}

