/* test_urlpattern.c -- unit tests of src/mercure/urlpattern*.c: the URL Pattern Standard on PCRE2 */
/* Cases from the URL Pattern Standard's examples and MDN's, relative patterns against the
 * hub's URL (https://hub.example.com/.well-known/mercure), refusals (invalid, outside the
 * regexp subset, over a limit), and hostile patterns showing the limits hold: a catastrophic
 * regexp group ends in URLPATTERN_LIMIT while the same pattern still matches what it
 * should, deep nesting and huge patterns are refused, and the largest inputs go through
 * ordinary patterns without reaching a limit. tests/unit/mercure/urlpattern_diff.py
 * compares thousands of generated cases with Chromium. */
#include "config.h"

#include "mercure/url.h"
#include "mercure/urlpattern.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#define HUB "https://hub.example.com/.well-known/mercure"

static struct urlpattern *compile(const char *pattern, const char *base)
{
    struct urlpattern *p;
    char err[256];

    if (urlpattern_compile(&p, pattern, strlen(pattern), base, err, sizeof err) != 0) {
        diag("\"%s\" does not compile: %s", pattern, err);
        return NULL;
    }
    return p;
}

/* Each of inputs (NULL-terminated) matches (want 1) or not (0). */
static void matches(struct urlpattern *p, const char *name, const char *base, int want,
                    const char *const *inputs)
{
    for (; *inputs; inputs++) {
        int r = p ? urlpattern_test(p, *inputs, strlen(*inputs), base) : -99;

        ok(r == want, "%s %s %s", name, want ? "matches" : "does not match", *inputs);
    }
}

static void pattern(const char *pat, const char *base, const char *const *yes,
                    const char *const *no)
{
    struct urlpattern *p = compile(pat, base);

    matches(p, pat, NULL, 1, yes);
    matches(p, pat, NULL, 0, no);
    urlpattern_free(p);
}

static void refused(const char *pat, const char *base, int code, const char *what)
{
    struct urlpattern *p = NULL;
    char err[256] = "";
    int r = urlpattern_compile(&p, pat, strlen(pat), base, err, sizeof err);

    ok(r == code && !p && err[0] && !strchr(err, '\n'), "%s: \"%.60s\" refused (%d): %s", what,
       pat, r, err);
    urlpattern_free(p);
}

static void test_standard_examples(void)
{
    pattern("https://example.com/:category/*", NULL,
            (const char *const[]){"https://example.com/products/",
                                  "https://example.com/blog/our-greatest-product-ever", NULL},
            (const char *const[]){"https://example.com/", "http://example.com/products/",
                                  "https://example.com:8443/blog/our-greatest-product-ever",
                                  NULL});
    pattern("http{s}?://{:subdomain.}?shop.example/products/:id([0-9]+)#reviews", NULL,
            (const char *const[]){"https://shop.example/products/74205#reviews",
                                  "https://kathryn@voyager.shop.example/products/74656#reviews",
                                  "http://insecure.shop.example/products/1701#reviews", NULL},
            (const char *const[]){"https://shop.example/products/2000",
                                  "http://shop.example:8080/products/0#reviews",
                                  "https://nx.shop.example/products/01?speed=5#reviews",
                                  "https://shop.example/products/chair#reviews", NULL});
    pattern("../admin/*", "https://discussion.example/forum/?page=2",
            (const char *const[]){"https://discussion.example/admin/",
                                  "https://edd:librarian@discussion.example/admin/update?id=1",
                                  NULL},
            (const char *const[]){"https://discussion.example/forum/admin/",
                                  "http://discussion.example:8080/admin/update?id=1", NULL});
    pattern("https://example.com/blog/:title", NULL,
            (const char *const[]){"https://example.com/blog/hello-world", NULL},
            (const char *const[]){"https://example.com/blog/2012/02", NULL});
    pattern("https://example.com/blog/:year(\\d+)/:month(\\d+)", NULL,
            (const char *const[]){"https://example.com/blog/2012/02", NULL},
            (const char *const[]){"https://example.com/blog/2012/feb", NULL});
    pattern("https://example.com/products/:id?", NULL,
            (const char *const[]){"https://example.com/products", "https://example.com/products/2",
                                  NULL},
            (const char *const[]){"https://example.com/products/", NULL});
    pattern("https://example.com/products/{:id}?", NULL,
            (const char *const[]){"https://example.com/products/", "https://example.com/products/2",
                                  NULL},
            (const char *const[]){"https://example.com/products", NULL});
    pattern("https://example.com/products/*", NULL,
            (const char *const[]){"https://example.com/products/a/b/c", NULL},
            (const char *const[]){"https://example.com/product", NULL});
    pattern("data\\:foobar", NULL, (const char *const[]){"data:foobar", NULL},
            (const char *const[]){"data:foobaz", NULL});
    pattern("http://[\\:\\:1]:8080/", NULL, (const char *const[]){"http://[0::1]:8080/", NULL},
            (const char *const[]){"http://[::2]:8080/", NULL});
    pattern("https://foo\\:bar@example.com", NULL,
            (const char *const[]){"https://foo:bar@example.com/any", NULL},
            (const char *const[]){"https://foo:baz@example.com/", NULL});
}

static void test_mdn_examples(void)
{
    static const char *const yes_books[] = {"https://example.com/books/123", NULL};
    static const char *const no_books[] = {"https://example.com/books/123/456", NULL};
    struct urlpattern *p;
    struct urlpattern_init init = {.pathname = "/books/:id"};
    char err[128];

    ok(urlpattern_compile_init(&p, &init, err, sizeof err) == 0, "{pathname: \"/books/:id\"}");
    matches(p, "{pathname: /books/:id}", NULL, 1, yes_books);
    matches(p, "{pathname: /books/:id}", NULL, 0, no_books);
    matches(p, "{pathname: /books/:id}", NULL, 1,
            (const char *const[]){"http://other.example:81/books/x?y#z", NULL});
    urlpattern_free(p);
    pattern("/books/:id(\\d+)", "https://example.com", yes_books,
            (const char *const[]){"https://example.com/books/abc", NULL});
    pattern("https://{*.}?example.com/*", NULL,
            (const char *const[]){"https://example.com/", "https://foo.example.com/x", NULL},
            (const char *const[]){"https://example.org/", "https://fooexample.com/", NULL});
    pattern("https://example.com/product/:action+", NULL,
            (const char *const[]){"https://example.com/product/do/some/thing", NULL},
            (const char *const[]){"https://example.com/product/", NULL});
    pattern("https://example.com/*.png", NULL,
            (const char *const[]){"https://example.com/image.png",
                                  "https://example.com/folder/image.png", NULL},
            (const char *const[]){"https://example.com/image.jpg", NULL});
    pattern("https://example.com/search?q=:query", NULL,
            (const char *const[]){"https://example.com/search?q=urlpattern", NULL},
            (const char *const[]){"https://example.com/search?x=1", NULL});
    pattern("https://example.com/(blog|news)/:slug", NULL,
            (const char *const[]){"https://example.com/news/today", NULL},
            (const char *const[]){"https://example.com/about/today", NULL});
}

static void test_hub_relative(void)
{
    pattern("/.well-known/mercure/subscriptions/exact/:topic/:subscriber", HUB,
            (const char *const[]){
                "https://hub.example.com/.well-known/mercure/subscriptions/exact/a/b",
                "https://hub.example.com/.well-known/mercure/subscriptions/exact/"
                "https%3A%2F%2Fexample.com%2Fbooks%2F1/urn%3Auuid%3A1",
                NULL},
            (const char *const[]){
                "https://hub.example.com/.well-known/mercure/subscriptions/exact/a",
                "https://evil.example/.well-known/mercure/subscriptions/exact/a/b",
                "http://hub.example.com/.well-known/mercure/subscriptions/exact/a/b",
                "https://hub.example.com:8443/.well-known/mercure/subscriptions/exact/a/b",
                NULL});
    pattern("books/:id", HUB, (const char *const[]){"https://hub.example.com/.well-known/books/7", NULL},
            (const char *const[]){"https://hub.example.com/books/7", NULL});
    pattern("*", HUB, (const char *const[]){"https://hub.example.com/.well-known/x/y", NULL},
            (const char *const[]){"https://hub.example.com/x", NULL});
    pattern("?topic=:t", HUB,
            (const char *const[]){"https://hub.example.com/.well-known/mercure?topic=x", NULL},
            (const char *const[]){"https://hub.example.com/.well-known/mercure?q=x",
                                  "https://hub.example.com/.well-known/x?topic=x", NULL});
    pattern("https://example.com/books/:id", HUB,
            (const char *const[]){"https://example.com/books/1", NULL},
            (const char *const[]){"https://hub.example.com/books/1", NULL});

    /* relative topics: resolved against the hub's URL as the draft says */
    struct urlpattern *p = compile("/.well-known/mercure/subscriptions/*", HUB);

    matches(p, "subscriptions/*", HUB, 1,
            (const char *const[]){"/.well-known/mercure/subscriptions/exact/a/b",
                                  "mercure/subscriptions/x", NULL});
    matches(p, "subscriptions/*", HUB, 0,
            (const char *const[]){"/books/1", "subscriptions/x",
                                  "//evil.example/.well-known/mercure/subscriptions/x", NULL});
    matches(p, "subscriptions/*", NULL, 0,
            (const char *const[]){"/.well-known/mercure/subscriptions/x", "not a url", NULL});
    ok(urlpattern_test(p, "/x", 2, "not a base") == URLPATTERN_NOMATCH,
       "a base URL that is not a URL: no match");
    struct url u;

    ok(url_parse(&u, "subscriptions/x", 15, NULL) == URL_EINVALID, "a relative topic alone is not a URL");
    ok(url_parse(&u, HUB "/subscriptions/x", strlen(HUB) + 16, NULL) == 0 &&
           urlpattern_test_url(p, &u) == URLPATTERN_MATCH, "urlpattern_test_url on a parsed topic");
    url_free(&u);
    urlpattern_free(p);
}

static void test_components(void)
{
    struct urlpattern *p;
    struct urlpattern_init init = {.protocol = "https", .port = "0443"};
    char err[128];

    pattern("http://a:443/", NULL, (const char *const[]){"http://a:443/", NULL},
            (const char *const[]){"http://a/", NULL});
    pattern("https://a:443/", NULL, (const char *const[]){"https://a/", "https://a:443/", NULL},
            (const char *const[]){"https://a:8443/", NULL});
    ok(urlpattern_compile_init(&p, &init, err, sizeof err) == 0, "{protocol: https, port: 0443}");
    matches(p, "https with port 0443", NULL, 1, (const char *const[]){"https://a/", NULL});
    urlpattern_free(p);
    pattern("https://*:*/", NULL, (const char *const[]){"https://a:1/", "https://b/", NULL},
            (const char *const[]){"http://a/", NULL});
    pattern("https://B\xc3\x9c" "CHER.example/", NULL,
            (const char *const[]){"https://xn--bcher-kva.example/", "https://b\xc3\xbc" "cher.example/",
                                  NULL},
            (const char *const[]){"https://bucher.example/", NULL});
    pattern("https://example.com/caf\xc3\xa9", NULL,
            (const char *const[]){"https://example.com/caf%C3%A9", NULL},
            (const char *const[]){"https://example.com/caf%c3%a9", NULL});
    pattern("foo://h/:x", NULL, (const char *const[]){"foo://h/a/b", NULL},
            (const char *const[]){"foo://h/", NULL});
    pattern("https://h/:x", NULL, (const char *const[]){"https://h/a", NULL},
            (const char *const[]){"https://h/a/b", NULL});
    pattern("https://h/a/b?*#*", NULL, (const char *const[]){"https://h/a/./c/../b?x#y", NULL},
            (const char *const[]){"https://h/a/B", NULL});
    pattern("https://h/\\:literal\\*", NULL, (const char *const[]){"https://h/:literal*", NULL},
            (const char *const[]){"https://h/:literalx", NULL});
    pattern("https://h/(a|)x", NULL, (const char *const[]){"https://h/ax", "https://h/x", NULL},
            (const char *const[]){"https://h/bx", NULL});
    p = compile("https://h/:id(\\d+)", NULL);
    ok(p && urlpattern_has_regexp_groups(p), "hasRegExpGroups with a regexp group");
    urlpattern_free(p);
    p = compile("https://h/:id/*", NULL);
    ok(p && !urlpattern_has_regexp_groups(p), "no regexp groups with names and wildcards");
    urlpattern_free(p);
}

static void test_regexp_subset(void)
{
    pattern("https://h/([\\w\\-]+)", NULL, (const char *const[]){"https://h/a_b-9", NULL},
            (const char *const[]){"https://h/a.b", NULL});
    /* components are percent-encoded ASCII: a code point above U+007E never matches */
    pattern("https://h/(\\u{1F600}|%F0%9F%98%80)", NULL,
            (const char *const[]){"https://h/%F0%9F%98%80", "https://h/\xf0\x9f\x98\x80", NULL},
            (const char *const[]){"https://h/x", NULL});
    pattern("https://h/(\\u{1F600})", NULL, (const char *const[]){NULL},
            (const char *const[]){"https://h/\xf0\x9f\x98\x80", NULL});
    pattern("https://h/((?!admin)[a-z]+)", NULL, (const char *const[]){"https://h/books", NULL},
            (const char *const[]){"https://h/admin", NULL});
    pattern("https://h/([^])", NULL, (const char *const[]){"https://h/x", NULL},
            (const char *const[]){"https://h/xy", NULL});
    pattern("https://h/x([])?", NULL, (const char *const[]){"https://h/x", NULL},
            (const char *const[]){"https://h/xy", NULL});
    pattern("https://h/(a{2,3}?)", NULL, (const char *const[]){"https://h/aaa", NULL},
            (const char *const[]){"https://h/aaaa", NULL});
    refused("https://h/((?<=a)b)", NULL, URLPATTERN_EUNSUPPORTED, "lookbehind");
    refused("https://h/:a/(\\1)", NULL, URLPATTERN_EUNSUPPORTED, "backreference");
    refused("https://h/((?<n>a))", NULL, URLPATTERN_EUNSUPPORTED, "named group");
    refused("https://h/((?i:a))", NULL, URLPATTERN_EUNSUPPORTED, "modifier");
    refused("https://h/(\\p{L})", NULL, URLPATTERN_EUNSUPPORTED, "property escape");
    refused("https://h/([[a-z]--a])", NULL, URLPATTERN_EUNSUPPORTED, "class subtraction");
    refused("https://h/([\\q{ab}])", NULL, URLPATTERN_EUNSUPPORTED, "class string");
    refused("https://h/(\\ud800)", NULL, URLPATTERN_EUNSUPPORTED, "lone surrogate");
    refused("https://h/(\\m)", NULL, URLPATTERN_EINVALID, "identity escape of a letter");
    refused("https://h/(a{)", NULL, URLPATTERN_EINVALID, "lone brace");
    refused("https://h/(a**)", NULL, URLPATTERN_EINVALID, "nothing to repeat");
    refused("https://h/(a{3,1})", NULL, URLPATTERN_EINVALID, "counts out of order");
    refused("https://h/([z-a])", NULL, URLPATTERN_EINVALID, "range out of order");
    refused("https://h/([a-])", NULL, URLPATTERN_EINVALID, "'-' alone in a v-flag class");
    refused("https://h/([\\w-]+)", NULL, URLPATTERN_EINVALID, "'-' after a class escape");
    refused("https://h/([a!!])", NULL, URLPATTERN_EINVALID, "reserved double punctuator");
    refused("https://h/((?=a)*)", NULL, URLPATTERN_EINVALID, "quantified lookahead");
    refused("https://h/(\\u{110000})", NULL, URLPATTERN_EINVALID, "code point over U+10FFFF");
    refused("https://h/(a{1001})", NULL, URLPATTERN_ETOOBIG, "count over the limit");
}

static void test_invalid(void)
{
    refused("/foo", NULL, URLPATTERN_EINVALID, "relative without a base URL");
    refused("/foo", "", URLPATTERN_EINVALID, "empty base URL");
    refused("example.com/foo", NULL, URLPATTERN_EINVALID, "no protocol");
    refused("(caf\xc3\xa9)://foo", NULL, URLPATTERN_EINVALID, "regexp group not ASCII");
    refused("https://h/:id/:id", NULL, URLPATTERN_EINVALID, "duplicate name");
    refused("https://{sub{.}}example.com/foo", NULL, URLPATTERN_EINVALID, "nested braces");
    refused("https://foo{@example.com", NULL, URLPATTERN_EINVALID, "unclosed brace");
    refused("https://h/(a(b))", NULL, URLPATTERN_EINVALID, "capturing group in a regexp group");
    refused("https://h/()", NULL, URLPATTERN_EINVALID, "empty regexp group");
    refused("https://a b/", NULL, URLPATTERN_EINVALID, "hostname with a space");
    refused("https://h:65536/", NULL, URLPATTERN_EINVALID, "port over 65535");
    refused("https://h/\\", NULL, URLPATTERN_EINVALID, "trailing backslash");
    refused("https://h/x\xff", NULL, URLPATTERN_EINVALID, "not UTF-8");
    refused("https://h/a", "not a url", URLPATTERN_EINVALID, "base URL not a URL");
}

/* The same pattern string repeated until n bytes. */
static char *repeat(const char *head, const char *unit, size_t n)
{
    char *s = malloc(n + 1);
    size_t k = strlen(head), u = strlen(unit);

    memcpy(s, head, k);
    while (k + u <= n) {
        memcpy(s + k, unit, u);
        k += u;
    }
    s[k] = '\0';
    return s;
}

static void test_hostile(void)
{
    struct urlpattern *p = compile("https://h/((?:a+)+[^a])", NULL);
    char *s;
    int r;

    matches(p, "((?:a+)+[^a])", NULL, 1, (const char *const[]){"https://h/aaab", NULL});
    r = p ? urlpattern_test(p, "https://h/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 50, NULL) : 0;
    ok(r == URLPATTERN_LIMIT, "a catastrophic regexp group stops at the step limit (%d)", r);
    matches(p, "((?:a+)+[^a]) after a limit", NULL, 1, (const char *const[]){"https://h/ab", NULL});
    urlpattern_free(p);

    p = compile("https://h/(\\w+\\w+\\w+\\w+\\w+\\w+\\W)", NULL);
    matches(p, "polynomial group", NULL, 1, (const char *const[]){"https://h/abcdef!", NULL});
    if (p)
        urlpattern_set_limits(p, 1000, URLPATTERN_DEPTH_LIMIT, URLPATTERN_HEAP_LIMIT_KIB);
    s = repeat("https://h/", "a", 200);
    r = p ? urlpattern_test(p, s, strlen(s), NULL) : 0;
    ok(r == URLPATTERN_LIMIT, "a lowered step limit holds (%d)", r);
    free(s);
    urlpattern_free(p);

    s = malloc(64 + 4 * (URLPATTERN_MAX_NEST + 1));
    strcpy(s, "https://h/(");
    for (int i = 0; i <= URLPATTERN_MAX_NEST; i++)
        strcat(s, "(?:");
    strcat(s, "a");
    for (int i = 0; i <= URLPATTERN_MAX_NEST; i++)
        strcat(s, ")");
    strcat(s, ")");
    refused(s, NULL, URLPATTERN_ETOOBIG, "groups nested too deep");
    free(s);
    s = repeat("https://h/", "a", URLPATTERN_MAX_PATTERN + 1);
    refused(s, NULL, URLPATTERN_ETOOBIG, "a pattern over the length limit");
    free(s);
    s = repeat("https://h/", "{x}?", 10 + 4 * (URLPATTERN_MAX_PARTS + 1));
    refused(s, NULL, URLPATTERN_ETOOBIG, "too many parts");
    free(s);
    s = repeat("https://h/(", "\\s", URLPATTERN_MAX_PATTERN - 2);
    strcat(s, ")");
    refused(s, NULL, URLPATTERN_ETOOBIG, "a regular expression over the size limit");
    free(s);
}

/* The largest inputs through ordinary patterns: no limit is reached. */
static void test_big_inputs(void)
{
    static const char *const pats[] = {"https://h/*", "https://h/:a+", "https://h/:a*/:b",
                                       "https://h/*/x", "https://h/(\\w+)/*", "https://h/ab{/:s}*",
                                       "https://h/*.png", "foo://h/:a+/x"};
    char *in = repeat("https://h", "/ab", URL_MAX_INPUT);

    for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++) {
        struct urlpattern *p = compile(pats[i], NULL);
        int r = p ? urlpattern_test(p, in, strlen(in), NULL) : -99;

        ok(r == URLPATTERN_MATCH || r == URLPATTERN_NOMATCH,
           "%s on a %zu-byte URL ends within the limits (%d)", pats[i], strlen(in), r);
        if (i == 0 || i == 1)
            ok(r == URLPATTERN_MATCH, "%s matches it", pats[i]);
        urlpattern_free(p);
    }
    free(in);
}

int main(void)
{
    test_standard_examples();
    test_mdn_examples();
    test_hub_relative();
    test_components();
    test_regexp_subset();
    test_invalid();
    test_hostile();
    test_big_inputs();
    return done_testing();
}
