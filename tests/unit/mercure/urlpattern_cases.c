/* urlpattern_cases.c -- runs URL Pattern and URL cases through urlpattern.c and url.c for urlpattern_diff.py */
/* Reads one JSON array on stdin (the case format of tests/browser/urlpattern_oracle.mjs)
 * and writes one JSON array of results in the same order:
 *   pattern: {"ok": true, "m": [true|false|"limit", ...], "u": [URL, ...]} or
 *            {"ok": false, "code": "invalid"|"unsupported"|"toobig"|"nomem", "e": REASON};
 *            "u" holds url_parse(INPUT, INPUTBASE) of each input (a failure: its reason)
 *   url:     {"ok": true, "c": URL} or {"ok": false, "e": REASON}
 * where URL is [protocol, username, password, hostname, port, pathname, search, hash]
 * (url_get()'s values) or null.
 * Exit status 0, or 2 when the input is not such an array. */
#include "config.h"

#include "mercure/url.h"
#include "mercure/urlpattern.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char *str_or_null(json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* url_parse(in, base)'s components as a JSON array, or NULL with *why. */
static json_t *components(json_t *in, const char *b, const char **why)
{
    struct url base, u;
    json_t *comp;
    int r;

    *why = "no input";
    if (!json_is_string(in))
        return NULL;
    if (b && url_parse(&base, b, strlen(b), NULL) != 0) {
        *why = base.why ? base.why : "the base URL is not a URL";
        return NULL;
    }
    r = url_parse(&u, json_string_value(in), json_string_length(in), b ? &base : NULL);
    if (b)
        url_free(&base);
    if (r) {
        *why = u.why ? u.why : "failure";
        return NULL;
    }
    comp = json_array();
    for (int i = 0; i < URL_NPARTS; i++) {
        size_t n;
        const char *s = url_get(&u, (enum url_part)i, &n);

        json_array_append_new(comp, json_stringn(s, n));
    }
    url_free(&u);
    return comp;
}

static json_t *url_case(json_t *c)
{
    const char *why;
    json_t *comp = components(json_object_get(c, "u"), str_or_null(json_object_get(c, "b")), &why);

    if (!comp)
        return json_pack("{s:b,s:s}", "ok", 0, "e", why);
    return json_pack("{s:b,s:o}", "ok", 1, "c", comp);
}

static int compile(json_t *c, struct urlpattern **p, char *err, size_t errlen)
{
    json_t *pat = json_object_get(c, "p");
    const char *b = str_or_null(json_object_get(c, "b"));

    if (json_is_string(pat))
        return urlpattern_compile(p, json_string_value(pat), json_string_length(pat), b, err,
                                  errlen);
    struct urlpattern_init init = {
        .protocol = str_or_null(json_object_get(pat, "protocol")),
        .username = str_or_null(json_object_get(pat, "username")),
        .password = str_or_null(json_object_get(pat, "password")),
        .hostname = str_or_null(json_object_get(pat, "hostname")),
        .port = str_or_null(json_object_get(pat, "port")),
        .pathname = str_or_null(json_object_get(pat, "pathname")),
        .search = str_or_null(json_object_get(pat, "search")),
        .hash = str_or_null(json_object_get(pat, "hash")),
        .base_url = str_or_null(json_object_get(pat, "baseURL")),
    };
    return urlpattern_compile_init(p, &init, err, errlen);
}

static json_t *pattern_case(json_t *c)
{
    static const char *const codes[] = {"", "invalid", "unsupported", "toobig", "nomem"};
    struct urlpattern *p;
    char err[256];
    size_t i;
    json_t *inputs = json_object_get(c, "i"), *m, *us, *pair;
    int r = compile(c, &p, err, sizeof err);

    if (r)
        return json_pack("{s:b,s:s,s:s}", "ok", 0, "code", codes[-r < 5 ? -r : 0], "e", err);
    m = json_array();
    us = json_array();
    json_array_foreach(inputs, i, pair) {
        json_t *in = json_array_get(pair, 0), *comp;
        const char *b = str_or_null(json_array_get(pair, 1)), *why;
        int t = urlpattern_test(p, json_string_value(in), json_string_length(in), b);

        json_array_append_new(m, t == URLPATTERN_MATCH ? json_true()
                                 : t == URLPATTERN_NOMATCH ? json_false() : json_string("limit"));
        comp = components(in, b, &why);
        json_array_append_new(us, comp ? comp : json_string(why));
    }
    urlpattern_free(p);
    return json_pack("{s:b,s:o,s:o}", "ok", 1, "m", m, "u", us);
}

int main(void)
{
    json_error_t je;
    json_t *cases = json_loadf(stdin, 0, &je), *out, *c;
    size_t i;

    if (!json_is_array(cases)) {
        fprintf(stderr, "urlpattern_cases: stdin is not a JSON array: %s\n", je.text);
        return 2;
    }
    out = json_array();
    json_array_foreach(cases, i, c) {
        const char *k = str_or_null(json_object_get(c, "k"));

        json_array_append_new(out, k && strcmp(k, "u") == 0 ? url_case(c) : pattern_case(c));
    }
    json_dumpf(out, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(out);
    json_decref(cases);
    return 0;
}
