/* url_canon.c -- URL Pattern's component canonicalization on the URL parser's state overrides (pure) */
#include "config.h"

#include "mercure/url_int.h"

#include <stdlib.h>
#include <string.h>

/* "create a dummy URL": https://dummy.invalid/ */
static int dummy(struct url *u)
{
    url_init(u);
    if (url_buf_put(&u->scheme, "https", 5) || url_buf_put(&u->host, "dummy.invalid", 13) ||
        url_buf_put(&u->path, "/", 1)) {
        url_free(u);
        return URL_ENOMEM;
    }
    u->host_kind = URL_HOST_DOMAIN;
    return 0;
}

static int give(const char *s, size_t n, char **out, size_t *outlen)
{
    char *p = malloc(n + 1);

    if (!p)
        return URL_ENOMEM;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    *out = p;
    *outlen = n;
    return 0;
}

/* Runs the state override `st` on value over a dummy URL prepared for `which`; the
 * resulting component into *out. */
static int override(enum url_canon which, const char *in, size_t len, const char *protocol,
                    char **out, size_t *outlen, const char **why)
{
    struct url u;
    const struct url_buf *res = NULL;
    struct url_buf tmp = {0};
    enum url_state st = URL_ST_PATH_START;
    int r, slash = 1;

    if ((r = dummy(&u)))
        return r;
    switch (which) {
    case URL_CANON_HOSTNAME: st = URL_ST_HOSTNAME; res = &u.host; break;
    case URL_CANON_PORT:
        st = URL_ST_PORT;
        if (protocol) {
            url_buf_clear(&u.scheme);
            r = url_buf_put(&u.scheme, protocol, strlen(protocol));
        }
        break;
    case URL_CANON_PATHNAME:
        /* no slash is prepended: "/-" goes first and comes off again */
        slash = len > 0 && in[0] == '/';
        url_buf_clear(&u.path);
        if (!slash && (r = url_buf_put(&tmp, "/-", 2)) == 0)
            r = url_buf_put(&tmp, in, len);
        res = &u.path;
        break;
    case URL_CANON_OPAQUE_PATHNAME:
        st = URL_ST_OPAQUE_PATH;
        url_buf_clear(&u.path);
        u.opaque_path = 1;
        res = &u.path;
        break;
    case URL_CANON_SEARCH: st = URL_ST_QUERY; u.has_query = 1; res = &u.query; break;
    default: st = URL_ST_FRAGMENT; u.has_fragment = 1; res = &u.fragment; break;
    }
    if (r == 0)
        r = slash ? url_basic_parse(&u, in, len, NULL, st)
                  : url_basic_parse(&u, tmp.p, tmp.len, NULL, st);
    if (r == URL_EINVALID && why)
        *why = u.why;
    if (r == 0 && which == URL_CANON_PORT) {
        url_port_str(&u);
        r = give(u.port_str, strlen(u.port_str), out, outlen);
    } else if (r == 0 && !slash && (res->len < 2 || memcmp(res->p, "/-", 2) != 0)) {
        /* "a/../b": the dot segments climbed over the "/-"; the standard's text would cut
         * two code points off whatever is left ("/b" to "") and Chromium refuses it */
        if (why)
            *why = "the pathname's dot segments climb above its start";
        r = URL_EINVALID;
    } else if (r == 0) {
        size_t skip = slash ? 0 : 2;

        r = give(url_buf_str(res) + skip, res->len - skip, out, outlen);
    }
    url_buf_free(&tmp);
    url_free(&u);
    return r;
}

static int protocol(const char *in, size_t len, char **out, size_t *outlen, const char **why)
{
    static const char tail[] = "://dummy.invalid/";
    struct url u;
    char *s = malloc(len + sizeof tail);
    int r;

    if (!s)
        return URL_ENOMEM;
    memcpy(s, in, len);
    memcpy(s + len, tail, sizeof tail);
    r = url_parse(&u, s, len + sizeof tail - 1, NULL);
    free(s);
    if (r == URL_EINVALID && why)
        *why = u.why;
    if (r == 0)
        r = give(url_buf_str(&u.scheme), u.scheme.len, out, outlen);
    url_free(&u);
    return r;
}

static int ipv6_hostname(const char *in, size_t len, char **out, size_t *outlen, const char **why)
{
    int r = give(in, len, out, outlen);

    for (size_t i = 0; r == 0 && i < len; i++) {
        char c = (*out)[i];

        if (c >= 'A' && c <= 'F')
            (*out)[i] = (char)(c - 'A' + 'a');
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '[' || c == ']' ||
                   c == ':')) {
            free(*out);
            *out = NULL;
            if (why)
                *why = "the IPv6 hostname has a code point that is not a hex digit, '[', ']' or ':'";
            r = URL_EINVALID;
        }
    }
    return r;
}

int url_canon(enum url_canon which, const char *in, size_t len, const char *protocol_value,
              char **out, size_t *outlen, const char **why)
{
    struct url_buf b = {0};
    int r;

    *out = NULL;
    *outlen = 0;
    if (len > URL_MAX_INPUT)
        return URL_ETOOLONG;
    if (!url_utf8_valid(in, len)) {
        if (why)
            *why = "the pattern is not UTF-8";
        return URL_EINVALID;
    }
    if (len == 0)
        return give("", 0, out, outlen);
    switch (which) {
    case URL_CANON_PROTOCOL:
        return protocol(in, len, out, outlen, why);
    case URL_CANON_USERNAME:
    case URL_CANON_PASSWORD:
        r = url_buf_put_encoded(&b, in, len, URL_SET_USERINFO);
        if (r == 0)
            r = give(url_buf_str(&b), b.len, out, outlen);
        url_buf_free(&b);
        return r;
    case URL_CANON_IPV6_HOSTNAME:
        return ipv6_hostname(in, len, out, outlen, why);
    default:
        return override(which, in, len, protocol_value, out, outlen, why);
    }
}
