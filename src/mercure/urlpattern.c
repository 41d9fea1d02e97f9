/* urlpattern.c -- URL Pattern: create a pattern from a string or an init, test URLs against it (pure) */
#include "config.h"

#include "mercure/urlpattern.h"
#include "mercure/urlpattern_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One deliberate reading of the standard: the port component's encoding callback
 * ("canonicalize a port") is given the pattern's protocol, as Chromium does, so that the
 * protocol's default port written otherwise ("080" for http) is dropped like "80" is. The
 * text of "create" passes no protocol, and the callback's dummy URL is https: 443 would
 * be dropped whatever the protocol, so that "http://a:443/" would match http://a/. */

struct urlpattern {
    struct urlpattern_component c[URL_NPARTS];
    pcre2_match_context *mc;
};

static const char *const names[URL_NPARTS] = {"protocol", "username", "password", "hostname",
                                              "port", "pathname", "search", "hash"};

void urlpattern_free(struct urlpattern *p)
{
    if (!p)
        return;
    for (int i = 0; i < URL_NPARTS; i++)
        urlpattern_component_free(&p->c[i]);
    pcre2_match_context_free(p->mc);
    free(p);
}

static pcre2_match_context *limits(uint32_t match, uint32_t depth, uint32_t heap_kib)
{
    pcre2_match_context *mc = pcre2_match_context_create(NULL);

    if (mc) {
        pcre2_set_match_limit(mc, match);
        pcre2_set_depth_limit(mc, depth);
        pcre2_set_heap_limit(mc, heap_kib);
    }
    return mc;
}

void urlpattern_set_limits(struct urlpattern *p, uint32_t match, uint32_t depth,
                           uint32_t heap_kib)
{
    pcre2_set_match_limit(p->mc, match);
    pcre2_set_depth_limit(p->mc, depth);
    pcre2_set_heap_limit(p->mc, heap_kib);
}

int urlpattern_matches_special(const struct urlpattern_component *c, struct urlpattern_err *e)
{
    static const char *const schemes[] = {"ftp", "file", "http", "https", "ws", "wss"};
    pcre2_match_context *mc = limits(URLPATTERN_MATCH_LIMIT, URLPATTERN_DEPTH_LIMIT,
                                     URLPATTERN_HEAP_LIMIT_KIB);
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    int r = 0;

    for (size_t i = 0; mc && md && r == 0 && i < sizeof schemes / sizeof schemes[0]; i++)
        r = urlpattern_component_match(c, schemes[i], strlen(schemes[i]), md, mc);
    if (!mc || !md || r == URLPATTERN_ENOMEM)
        r = urlpattern_fail(e, URLPATTERN_ENOMEM, "out of memory");
    else if (r == URLPATTERN_LIMIT)
        r = urlpattern_fail(e, URLPATTERN_ETOOBIG,
                            "the protocol pattern costs too much to match a scheme");
    pcre2_match_data_free(md);
    pcre2_match_context_free(mc);
    return r;
}

/* "hostname pattern is an IPv6 address" */
static int ipv6_pattern(const char *s, size_t n)
{
    return n >= 2 && (s[0] == '[' || ((s[0] == '{' || s[0] == '\\') && s[1] == '['));
}

/* The compile options and encoding callback of component i. */
static void options(struct urlpattern_opts *o, int i, const struct urlpattern_initv *pi)
{
    static const enum url_canon canon[URL_NPARTS] = {
        URL_CANON_PROTOCOL, URL_CANON_USERNAME, URL_CANON_PASSWORD, URL_CANON_HOSTNAME,
        URL_CANON_PORT, URL_CANON_PATHNAME, URL_CANON_SEARCH, URL_CANON_HASH};

    memset(o, 0, sizeof *o);
    o->canon = canon[i];
    o->component = names[i];
    if (i == URL_HOSTNAME) {
        o->delimiter = '.';
        if (ipv6_pattern(pi->v[UP_HOSTNAME], pi->len[UP_HOSTNAME]))
            o->canon = URL_CANON_IPV6_HOSTNAME;
    } else if (i == URL_PORT) {
        o->protocol = pi->v[UP_PROTOCOL];
    }
}

/* "create" from a processed init with every member set. */
static int create(struct urlpattern **out, struct urlpattern_initv *pi, struct urlpattern_err *e)
{
    struct urlpattern *p = calloc(1, sizeof *p);
    struct urlpattern_opts o;
    int r = 0, special = 0;

    if (!p || !(p->mc = limits(URLPATTERN_MATCH_LIMIT, URLPATTERN_DEPTH_LIMIT,
                               URLPATTERN_HEAP_LIMIT_KIB))) {
        urlpattern_free(p);
        return urlpattern_fail(e, URLPATTERN_ENOMEM, "out of memory");
    }
    for (int i = URL_PROTOCOL; r == 0 && i <= URL_PORT; i++) {
        options(&o, i, pi);
        r = urlpattern_component_compile(&p->c[i], pi->v[i], pi->len[i], &o, e);
    }
    if (r == 0 && (special = urlpattern_matches_special(&p->c[URL_PROTOCOL], e)) < 0)
        r = special;
    for (int i = URL_PATHNAME; r == 0 && i <= URL_HASH; i++) {
        options(&o, i, pi);
        if (i == URL_PATHNAME && special) {
            o.delimiter = '/';
            o.prefix = '/';
        } else if (i == URL_PATHNAME) {
            o.canon = URL_CANON_OPAQUE_PATHNAME;
        }
        r = urlpattern_component_compile(&p->c[i], pi->v[i], pi->len[i], &o, e);
    }
    if (r) {
        urlpattern_free(p);
        return r;
    }
    *out = p;
    return 0;
}

static void give_err(const struct urlpattern_err *e, char *err, size_t errlen)
{
    if (err && errlen) {
        strncpy(err, e->msg[0] ? e->msg : "invalid pattern", errlen - 1);
        err[errlen - 1] = '\0';
    }
}

/* Processes init (which may name a base URL), defaults the rest, creates. */
static int from_init(struct urlpattern **out, struct urlpattern_initv *init,
                     struct urlpattern_err *e)
{
    struct urlpattern_initv pi = {0};
    int r = urlpattern_process_init(init, &pi, e);

    for (int i = UP_PROTOCOL; r == 0 && i <= UP_HASH; i++)
        if (!pi.set[i] && urlpattern_init_set(&pi, i, "*", 1))
            r = urlpattern_fail(e, URLPATTERN_ENOMEM, "out of memory");
    if (r == 0 && url_is_special(pi.v[UP_PROTOCOL], pi.len[UP_PROTOCOL])) {
        int dp = url_default_port(pi.v[UP_PROTOCOL], pi.len[UP_PROTOCOL]);
        char t[8];

        snprintf(t, sizeof t, "%d", dp);
        if (dp >= 0 && strcmp(pi.v[UP_PORT], t) == 0 && urlpattern_init_set(&pi, UP_PORT, "", 0))
            r = urlpattern_fail(e, URLPATTERN_ENOMEM, "out of memory");
    }
    if (r == 0)
        r = create(out, &pi, e);
    urlpattern_init_free(&pi);
    return r;
}

int urlpattern_compile(struct urlpattern **out, const char *pattern, size_t len,
                       const char *base_url, char *err, size_t errlen)
{
    struct urlpattern_initv init = {0};
    struct urlpattern_err e = {0};
    int r = 0;

    *out = NULL;
    if (len > URLPATTERN_MAX_PATTERN)
        r = urlpattern_fail(&e, URLPATTERN_ETOOBIG, "the pattern is over %d bytes",
                            URLPATTERN_MAX_PATTERN);
    else if (!url_utf8_valid(pattern, len))
        r = urlpattern_fail(&e, URLPATTERN_EINVALID, "the pattern is not UTF-8");
    else if (base_url && strlen(base_url) > URL_MAX_INPUT)
        r = urlpattern_fail(&e, URLPATTERN_ETOOBIG, "the base URL is over %d bytes",
                            URL_MAX_INPUT);
    if (r == 0)
        r = urlpattern_parse_constructor(pattern, len, &init, &e);
    if (r == 0 && !base_url && !init.set[UP_PROTOCOL])
        r = urlpattern_fail(&e, URLPATTERN_EINVALID,
                            "the pattern is relative and there is no base URL");
    if (r == 0 && base_url && urlpattern_init_set(&init, UP_BASEURL, base_url, strlen(base_url)))
        r = urlpattern_fail(&e, URLPATTERN_ENOMEM, "out of memory");
    if (r == 0)
        r = from_init(out, &init, &e);
    urlpattern_init_free(&init);
    if (r)
        give_err(&e, err, errlen);
    return r;
}

int urlpattern_compile_init(struct urlpattern **out, const struct urlpattern_init *in, char *err,
                            size_t errlen)
{
    const char *v[UP_NFIELDS] = {in->protocol, in->username, in->password, in->hostname,
                                 in->port, in->pathname, in->search, in->hash, in->base_url};
    struct urlpattern_initv init = {0};
    struct urlpattern_err e = {0};
    size_t total = 0;
    int r = 0;

    *out = NULL;
    for (int i = 0; r == 0 && i < UP_NFIELDS; i++) {
        size_t n = v[i] ? strlen(v[i]) : 0;

        total += i == UP_BASEURL ? 0 : n;
        if (total > URLPATTERN_MAX_PATTERN || (i == UP_BASEURL && n > URL_MAX_INPUT))
            r = urlpattern_fail(&e, URLPATTERN_ETOOBIG, "the pattern is too long");
        else if (v[i] && !url_utf8_valid(v[i], n))
            r = urlpattern_fail(&e, URLPATTERN_EINVALID, "the %s is not UTF-8",
                                i == UP_BASEURL ? "base URL" : names[i]);
        else if (v[i] && urlpattern_init_set(&init, i, v[i], n))
            r = urlpattern_fail(&e, URLPATTERN_ENOMEM, "out of memory");
    }
    if (r == 0)
        r = from_init(out, &init, &e);
    urlpattern_init_free(&init);
    if (r)
        give_err(&e, err, errlen);
    return r;
}

int urlpattern_has_regexp_groups(const struct urlpattern *p)
{
    for (int i = 0; i < URL_NPARTS; i++)
        if (p->c[i].has_regexp_groups)
            return 1;
    return 0;
}

int urlpattern_test_url(struct urlpattern *p, const struct url *u)
{
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    int r = URLPATTERN_MATCH;

    if (!md)
        return URLPATTERN_ENOMEM;
    for (int i = 0; i < URL_NPARTS && r == URLPATTERN_MATCH; i++) {
        size_t n;
        const char *s = url_get(u, (enum url_part)i, &n);

        r = urlpattern_component_match(&p->c[i], s, n, md, p->mc);
    }
    pcre2_match_data_free(md);
    return r;
}

int urlpattern_test(struct urlpattern *p, const char *input, size_t len, const char *base_url)
{
    struct url base, u;
    int r;

    url_init(&base);
    if (base_url) {
        r = url_parse(&base, base_url, strlen(base_url), NULL);
        if (r == URL_ENOMEM)
            return URLPATTERN_ENOMEM;
        if (r)
            return URLPATTERN_NOMATCH;
    }
    r = url_parse(&u, input, len, base_url ? &base : NULL);
    url_free(&base);
    if (r == URL_ENOMEM)
        return URLPATTERN_ENOMEM;
    if (r)
        return URLPATTERN_NOMATCH;
    r = urlpattern_test_url(p, &u);
    url_free(&u);
    return r;
}
