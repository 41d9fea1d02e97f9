/* test_selector.c -- unit tests of selector: matchers compiled and evaluated (exact, *, URL Pattern against the hub URL, URI templates), subscribe queries read and every refusal */
/* URL patterns and URI templates are the real modules (urlpattern.c, uritemplate.c, each
 * tested against Chromium and python3-uritemplate on their own); what is tested here is
 * what selector does with them: relative patterns and topics resolved against the hub URL,
 * limits as no match, legacy selectors that are no template compared exactly, and the
 * query rules of both drafts. Inputs that must be refused carry the marker SECRET so that
 * a reason quoting them is caught. */
#include "config.h"

#include "mercure/selector.h"
#include "mercure/topic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#define HUB "https://example.com/.well-known/mercure"
#define BOTH (SEL_CURRENT | SEL_LEGACY)

/* 1 when topic matches m. */
static int matches(const struct sel_matcher *m, const char *topic)
{
    struct sel_topic t;
    int r;

    sel_topic_init(&t, topic, strlen(topic), HUB);
    r = sel_match(m, &t);
    sel_topic_free(&t);
    return r;
}

static int compile(struct sel_matcher *m, enum sel_type t, const char *text)
{
    char why[256];

    if (sel_compile(m, t, text, strlen(text), HUB, why, sizeof why) == 0)
        return 1;
    diag("%s: %s", text, why);
    return 0;
}

static void test_exact(void)
{
    struct sel_matcher m;

    ok(compile(&m, SEL_EXACT, "https://example.com/books/1") && m.type == SEL_EXACT &&
       strcmp(m.type_name, "exact") == 0 && m.len == 27 && !m.up && !m.ut, "exact compiled");
    ok(matches(&m, "https://example.com/books/1"), "exact: the same bytes match");
    ok(!matches(&m, "https://example.com/books/10") && !matches(&m, "https://example.com/books/") &&
       !matches(&m, "https://EXAMPLE.com/books/1") && !matches(&m, "/books/1"),
       "exact: no prefix, no case folding, no resolution against the hub");
    sel_free(&m);
    ok(compile(&m, SEL_EXACT, "/books/1") && !matches(&m, "https://example.com/books/1") &&
       matches(&m, "/books/1"), "exact: a relative matcher is compared as it is");
    sel_free(&m);
    ok(compile(&m, SEL_URLPATTERN, "*") && m.type == SEL_ANY &&
       strcmp(m.type_name, "urlpattern") == 0 && matches(&m, "anything") &&
       matches(&m, "\xe2\x82\xac"), "* given as a URL pattern: every topic, type name kept");
    sel_free(&m);
    ok(compile(&m, SEL_URITEMPLATE, "*") && m.type == SEL_ANY &&
       strcmp(m.type_name, "uritemplate") == 0, "* given as a legacy selector");
    sel_free(&m);
    sel_free(&m);
}

static void test_urlpattern(void)
{
    struct sel_matcher m;

    ok(compile(&m, SEL_URLPATTERN, "/books/:id") && m.type == SEL_URLPATTERN && m.up,
       "match_urlpattern=/books/:id compiled against the hub URL");
    ok(matches(&m, "/books/1"), "it matches the relative topic /books/1");
    ok(matches(&m, "https://example.com/books/1"), "and https://example.com/books/1");
    ok(matches(&m, "https://EXAMPLE.COM/books/1"), "hosts are case-insensitive");
    ok(!matches(&m, "https://other.example/books/1") && !matches(&m, "http://example.com/books/1"),
       "another host or scheme does not match");
    ok(!matches(&m, "/books/1/2") && !matches(&m, "/Books/1") && !matches(&m, "/books/"),
       "paths are whole and case-sensitive");
    ok(!matches(&m, "books/1"), "books/1 resolves to /.well-known/books/1");
    ok(!matches(&m, "http://[::1") && !matches(&m, "https://exa mple.com/books/1"),
       "a topic that is no URL does not match");
    sel_free(&m);

    ok(compile(&m, SEL_URLPATTERN, "https://example.com/books/:id") &&
       matches(&m, "https://example.com/books/1") && matches(&m, "/books/7") &&
       !matches(&m, "https://example.org/books/1"), "an absolute pattern; relative topics are "
       "resolved against the hub URL");
    sel_free(&m);
    ok(compile(&m, SEL_URLPATTERN, "/.well-known/mercure/subscriptions/exact/:topic/:sub") &&
       matches(&m, "/.well-known/mercure/subscriptions/exact/https%3A%2F%2Fexample.com%2Fa/"
               "urn%3Auuid%3Ax") && !matches(&m, "/.well-known/mercure/subscriptions/"
                                             "urlpattern/a/b"),
       "the draft's pattern over subscription events");
    sel_free(&m);

    ok(compile(&m, SEL_URLPATTERN, "/((?:a+)+b)") && matches(&m, "/aab"),
       "a backtracking regexp group compiles and matches what it should");
    ok(!matches(&m, "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaacb"),
       "and on a hostile topic stops at the step limit: no match");
    sel_free(&m);
}

static void test_uritemplate(void)
{
    struct sel_matcher m;

    ok(compile(&m, SEL_URITEMPLATE, "https://example.com/books/{id}") &&
       m.type == SEL_URITEMPLATE && m.ut && strcmp(m.type_name, "uritemplate") == 0,
       "legacy topic=https://example.com/books/{id} compiled");
    ok(matches(&m, "https://example.com/books/1") && matches(&m, "https://example.com/books/abc"),
       "it matches what it expands to");
    ok(matches(&m, "https://example.com/books/{id}"), "and itself (step 2 of the legacy draft)");
    ok(!matches(&m, "https://example.com/books/1/2") && !matches(&m, "/books/1") &&
       !matches(&m, "https://example.com/films/1"), "and nothing else");
    sel_free(&m);
    ok(compile(&m, SEL_URITEMPLATE, "https://example.com/{") && m.type == SEL_URITEMPLATE &&
       !m.ut, "a selector that is no template is kept");
    ok(matches(&m, "https://example.com/{") && !matches(&m, "https://example.com/x"),
       "and compared exactly only");
    sel_free(&m);
}

static void compile_refused(enum sel_type t, const char *text, size_t len, const char *want)
{
    struct sel_matcher m;
    char why[256] = "unset";
    int r = sel_compile(&m, t, text, len, HUB, why, sizeof why);

    ok(r == -1 && strcmp(why, want) == 0 && !m.text && !m.up && !m.ut, "refused: %s", why);
    if (r == 0)
        sel_free(&m);
}

static void test_compile_refused(void)
{
    static char big[TOPIC_MAX + 2];
    char many[1024];
    size_t i, n = 0;

    compile_refused(SEL_EXACT, "", 0, "is empty");
    memset(big, 'a', sizeof big - 1);
    compile_refused(SEL_EXACT, big, TOPIC_MAX + 1, "is longer than 4096 bytes");
    compile_refused(SEL_EXACT, "SECRET\xe2\x80\x8b", 9, "holds a format character (Unicode Cf)");
    compile_refused(SEL_URLPATTERN, "\xef\xbb\xbfSECRET", 9,
                    "holds a format character (Unicode Cf)");
    compile_refused(SEL_URITEMPLATE, "SECRET\xf3\xa0\x80\x81", 10,
                    "holds a format character (Unicode Cf)");
    compile_refused(SEL_EXACT, "SECRET\n", 7, "holds a control character");
    compile_refused(SEL_EXACT, "SECRET\xc2\x9f", 8, "holds a control character");
    compile_refused(SEL_EXACT, "SECRET\xff", 7, "is not UTF-8");
    compile_refused(SEL_URLPATTERN, "/SECRET/(", 9, "is not a valid URL pattern");
    compile_refused(SEL_URLPATTERN, "/SECRET/:id(\\d+", 15, "is not a valid URL pattern");
    compile_refused(SEL_URLPATTERN, "/SECRET/((?<=a)b)", 17,
                    "is a URL pattern whose regexp group uses a feature this hub does not "
                    "support");
    for (i = 0; i < 130; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "/:p%zu", i);
    compile_refused(SEL_URLPATTERN, many, n, "is a URL pattern over this hub's limits");
    {
        struct sel_matcher m;
        char why[64];

        ok(sel_compile(&m, SEL_EXACT, big, TOPIC_MAX, HUB, why, sizeof why) == 0 &&
           m.len == TOPIC_MAX, "a matcher of 4096 bytes");
        sel_free(&m);
        ok(sel_compile(&m, SEL_URLPATTERN, "/SECRET/\xc2\xa0", 10, HUB, why, sizeof why) == 0,
           "U+00A0 (not Cf) in a pattern");
        sel_free(&m);
    }
}

static int query(struct sel_request *r, const char *q, unsigned gens, char *why, size_t whylen)
{
    return sel_parse_query(r, q, strlen(q), HUB, gens, why, whylen);
}

static void test_query(void)
{
    struct sel_request r;
    char why[256] = "";
    int st;

    st = query(&r, "match=https%3A%2F%2Fexample.com%2Ffoo&match=bar&match_urlpattern="
               "https%3A%2F%2Fexample.com%2Fbar%2F%3Aid", BOTH, why, sizeof why);
    ok(st == 0 && r.gen == SEL_CURRENT && r.n == 3 && r.m[0].type == SEL_EXACT &&
       strcmp(r.m[0].text, "https://example.com/foo") == 0 && strcmp(r.m[1].text, "bar") == 0 &&
       r.m[2].type == SEL_URLPATTERN && strcmp(r.m[2].text, "https://example.com/bar/:id") == 0 &&
       !r.has_last, "the current draft's example query (%s)", why);
    sel_request_free(&r);

    st = query(&r, "topic=https%3A%2F%2Fexample.com%2Ffoo&topic=bar&topic=https%3A%2F%2F"
               "example.com%2Fbar%2F%7Bid%7D&lastEventID=urn%3Auuid%3A1", BOTH, why, sizeof why);
    ok(st == 0 && r.gen == SEL_LEGACY && r.n == 3 && r.m[2].type == SEL_URITEMPLATE &&
       r.m[2].ut && r.m[1].type == SEL_URITEMPLATE && r.has_last &&
       strcmp(r.last, "urn:uuid:1") == 0, "the legacy draft's example query (%s)", why);
    {
        struct sel_topic t;

        sel_topic_init(&t, "https://example.com/bar/7", 25, HUB);
        ok(!sel_match(&r.m[0], &t) && !sel_match(&r.m[1], &t) && sel_match(&r.m[2], &t),
           "its template matches https://example.com/bar/7");
        sel_topic_free(&t);
    }
    sel_request_free(&r);

    st = query(&r, "match=x&match_exact=x&match=y&match=x&match_urlpattern=x&match=*&"
               "match_urlpattern=*&match_exact=*", BOTH, why, sizeof why);
    ok(st == 0 && r.n == 5 && strcmp(r.m[0].text, "x") == 0 && strcmp(r.m[1].text, "y") == 0 &&
       r.m[2].type == SEL_URLPATTERN && r.m[3].type == SEL_ANY &&
       strcmp(r.m[3].type_name, "exact") == 0 && r.m[4].type == SEL_ANY &&
       strcmp(r.m[4].type_name, "urlpattern") == 0,
       "duplicates (same type and text) kept once, in the query's order (%s)", why);
    sel_request_free(&r);
    st = query(&r, "topic=a&topic=a&topic=*&topic=*", BOTH, why, sizeof why);
    ok(st == 0 && r.n == 2, "legacy duplicates kept once");
    sel_request_free(&r);

    st = query(&r, "m%61tch=a+b&match%5Fexact=c%2Bd&match_urlpattern=%2Fx%2F%3Aid&other=1&"
               "match=e%zz", BOTH, why, sizeof why);
    ok(st == 0 && r.n == 4 && strcmp(r.m[0].text, "a b") == 0 &&
       strcmp(r.m[1].text, "c+d") == 0 && strcmp(r.m[2].text, "/x/:id") == 0 &&
       strcmp(r.m[3].text, "e%zz") == 0, "names and values decoded as URLSearchParams does "
       "('+' a space, a stray '%%' kept); other parameters ignored (%s)", why);
    sel_request_free(&r);
    st = query(&r, "match=a;match=b", BOTH, why, sizeof why);
    ok(st == 0 && r.n == 1 && strcmp(r.m[0].text, "a;match=b") == 0, "';' separates nothing");
    sel_request_free(&r);

    st = query(&r, "match=x&last_event_id=abc&last_event_id=def&lastEventID=ghi", BOTH, why,
               sizeof why);
    ok(st == 0 && r.has_last && strcmp(r.last, "abc") == 0,
       "last_event_id: the first wins; lastEventID is not the current draft's");
    sel_request_free(&r);
    st = query(&r, "match=x&lastEventID=ghi", BOTH, why, sizeof why);
    ok(st == 0 && !r.has_last, "lastEventID alone means nothing to a current request");
    sel_request_free(&r);
    st = query(&r, "topic=x&last_event_id=abc", BOTH, why, sizeof why);
    ok(st == 0 && !r.has_last, "nor last_event_id to a legacy one");
    sel_request_free(&r);
    st = query(&r, "match=x&last_event_id=", BOTH, why, sizeof why);
    ok(st == 0 && r.has_last && r.last[0] == '\0', "an empty last_event_id is given, as \"\"");
    sel_request_free(&r);
    st = query(&r, "match=x&last_event_id=earliest", SEL_CURRENT, why, sizeof why);
    ok(st == 0 && r.has_last && strcmp(r.last, "earliest") == 0, "earliest");
    sel_request_free(&r);

    st = query(&r, "topic=x&matchfoo=1&Match=2", BOTH, why, sizeof why);
    ok(st == 0 && r.gen == SEL_LEGACY && r.n == 1,
       "a legacy request keeps the legacy draft's rule: unknown parameters are ignored");
    sel_request_free(&r);
    st = query(&r, "match=x", SEL_CURRENT, why, sizeof why);
    ok(st == 0, "--mercure-protocol current serves match");
    sel_request_free(&r);
    st = query(&r, "topic=x", SEL_LEGACY, why, sizeof why);
    ok(st == 0, "--mercure-protocol legacy serves topic");
    sel_request_free(&r);
}

static void query_refused(const char *q, size_t len, unsigned gens, const char *want)
{
    struct sel_request r;
    char why[256] = "unset";
    int st = sel_parse_query(&r, q, len, HUB, gens, why, sizeof why);

    if (!ok(st == 400 && strstr(why, want) && !strstr(why, "SECRET") && r.n == 0 &&
            !r.has_last, "400: %s", why))
        diag("got %d, want \"%s\"", st, want);
    sel_request_free(&r);
}

#define QUERY_REFUSED(q, gens, want) query_refused(q, sizeof q - 1, gens, want)

static void test_query_refused(void)
{
    static char q[64 * 40];
    size_t i, n = 0;

    QUERY_REFUSED("", BOTH, "no topic matcher: give match, match_exact or match_urlpattern "
                  "(or the legacy topic)");
    QUERY_REFUSED("SECRET=1&last_event_id=x", SEL_CURRENT,
                  "no topic matcher: give match, match_exact or match_urlpattern");
    QUERY_REFUSED("SECRET=1", SEL_LEGACY, "no topic matcher: give one or more topic parameters");
    QUERY_REFUSED("Match=SECRET", BOTH, "a parameter named match... is not one this hub "
                  "supports");
    QUERY_REFUSED("match=x&matchfoo=SECRET", BOTH, "a parameter named match... is not one");
    QUERY_REFUSED("matchfoo=SECRET&match=x", BOTH, "a parameter named match... is not one");
    QUERY_REFUSED("match=x&MATCH_EXACT=SECRET", BOTH, "a parameter named match... is not one");
    QUERY_REFUSED("match=x&match_regex=SECRET", BOTH, "a parameter named match... is not one");
    QUERY_REFUSED("match=x&m%41tch=SECRET", BOTH, "a parameter named match... is not one");
    QUERY_REFUSED("match_urlpatterns=SECRET", BOTH, "a parameter named match... is not one");
    QUERY_REFUSED("match=SECRET&topic=SECRET", BOTH, "both match parameters (the current draft) "
                  "and topic parameters (the legacy one)");
    QUERY_REFUSED("topic=SECRET&match_urlpattern=%2Fa", BOTH, "both match parameters");
    QUERY_REFUSED("match=SECRET", SEL_LEGACY, "the current draft's match parameters are off on "
                  "this hub (--mercure-protocol current or both allows them)");
    QUERY_REFUSED("topic=SECRET", SEL_CURRENT, "the legacy topic parameter is off on this hub "
                  "(--mercure-protocol legacy or both allows it)");
    QUERY_REFUSED("match=", BOTH, "topic matcher 1 (match) is empty");
    QUERY_REFUSED("match=a&match_exact", BOTH, "topic matcher 2 (match_exact) is empty");
    QUERY_REFUSED("match=a&match=b&match_urlpattern=%2FSECRET%2F%28", BOTH,
                  "topic matcher 3 (match_urlpattern) is not a valid URL pattern");
    QUERY_REFUSED("match_urlpattern=%2F%28%28%3F%3C%3DSECRET%29b%29", BOTH,
                  "topic matcher 1 (match_urlpattern) is a URL pattern whose regexp group uses");
    QUERY_REFUSED("match=SECRET%E2%80%8B", BOTH,
                  "topic matcher 1 (match) holds a format character (Unicode Cf)");
    QUERY_REFUSED("topic=a&topic=SECRET%0A", BOTH,
                  "topic matcher 2 (topic) holds a control character");
    QUERY_REFUSED("match=SECRET%C0%AF", BOTH, "topic matcher 1 (match) is not UTF-8");
    QUERY_REFUSED("match=x&last_event_id=SECRET%0Aid", BOTH,
                  "last_event_id holds a control character");
    QUERY_REFUSED("topic=x&lastEventID=SECRET%00", BOTH, "lastEventID holds a control character");
    QUERY_REFUSED("match=x&SECRET\0", BOTH, "the query holds a NUL byte");

    for (i = 0; i <= SEL_MATCHERS_MAX; i++)
        n += (size_t)snprintf(q + n, sizeof q - n, "%smatch=SECRET", i ? "&" : "");
    query_refused(q, n, BOTH, "more than 32 topic matchers");
    {
        struct sel_request r;
        char why[128];

        n = (size_t)(strrchr(q, '&') - q);
        ok(sel_parse_query(&r, q, n, HUB, BOTH, why, sizeof why) == 0 && r.n == 1,
           "32 matchers are accepted (and, all the same, kept once)");
        sel_request_free(&r);
    }
    n = (size_t)snprintf(q, sizeof q, "match=x&last_event_id=");
    memset(q + n, 'S', SEL_LAST_ID_MAX + 1);
    query_refused(q, n + SEL_LAST_ID_MAX + 1, BOTH, "last_event_id is longer than 1024 bytes");
    {
        struct sel_request r;
        char why[128];

        ok(sel_parse_query(&r, q, n + SEL_LAST_ID_MAX, HUB, BOTH, why, sizeof why) == 0 &&
           r.has_last && strlen(r.last) == SEL_LAST_ID_MAX, "a last event id of 1024 bytes");
        sel_request_free(&r);
    }
}

int main(void)
{
    test_exact();
    test_urlpattern();
    test_uritemplate();
    test_compile_refused();
    test_query();
    test_query_refused();
    return done_testing();
}
