/* test_uritemplate.c -- unit tests of uritemplate: RFC 6570's examples and near misses, the legacy draft's selectors, invalid templates, bounds and match limits */
/* The expected expansions are RFC 6570's own (section 3.2, with its variables: var=value,
 * hello="Hello World!", half="50%", list=(red,green,blue), keys=[(semi,;),(dot,.),
 * (comma,,)], path=/foo/bar, x=1024, y=768, who=fred, dub=me/too, v=6, empty="",
 * dom=(example,com)). uritemplate_diff.py checks thousands more against python3-uritemplate. */
#include "config.h"

#include "mercure/uritemplate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

/* Matches s against tpl, which must compile. */
static int m(const char *tpl, const char *s)
{
    struct uritemplate *t;
    char why[160];
    int r;

    if (uritemplate_compile(tpl, strlen(tpl), &t, why, sizeof why) != UT_OK) {
        fprintf(stderr, "%s: %s\n", tpl, why);
        abort();
    }
    r = uritemplate_match(t, s, strlen(s));
    uritemplate_free(t);
    return r;
}

static int compiles(const char *tpl, char *why, size_t whylen)
{
    struct uritemplate *t = NULL;
    int r = uritemplate_compile(tpl, strlen(tpl), &t, why, whylen);

    uritemplate_free(t);
    return r;
}

static void test_rfc_examples(void)
{
    static const char *const yes[][2] = {
        { "{var}", "value" }, { "{hello}", "Hello%20World%21" }, { "{half}", "50%25" },
        { "O{empty}X", "OX" }, { "O{undef}X", "OX" }, { "{x,y}", "1024,768" },
        { "{x,hello,y}", "1024,Hello%20World%21,768" }, { "?{x,empty}", "?1024," },
        { "{var:3}", "val" }, { "{var:30}", "value" }, { "{list}", "red,green,blue" },
        { "{list*}", "red,green,blue" }, { "{keys}", "semi,%3B,dot,.,comma,%2C" },
        { "{keys*}", "semi=%3B,dot=.,comma=%2C" }, { "{+hello}", "Hello%20World!" },
        { "{+path}/here", "/foo/bar/here" }, { "here?ref={+path}", "here?ref=/foo/bar" },
        { "{+path:6}/here", "/foo/b/here" }, { "{+keys*}", "semi=;,dot=.,comma=," },
        { "{#var}", "#value" }, { "{#hello}", "#Hello%20World!" }, { "{#path:6}/here", "#/foo/b/here" },
        { "{#keys*}", "#semi=;,dot=.,comma=," }, { "{.who}", ".fred" }, { "www{.dom*}", "www.example.com" },
        { "X{.var:3}", "X.val" }, { "X{.list*}", "X.red.green.blue" }, { "X{.keys*}", "X.semi=%3B.dot=..comma=%2C" },
        { "{/who,who}", "/fred/fred" }, { "{/who,dub}", "/fred/me%2Ftoo" }, { "{/var,empty}", "/value/" },
        { "{/var:1,var}", "/v/value" }, { "{/list*}", "/red/green/blue" },
        { "{/list*,path:4}", "/red/green/blue/%2Ffoo" }, { "{/keys*}", "/semi=%3B/dot=./comma=%2C" },
        { "{;who}", ";who=fred" }, { "{;empty}", ";empty" }, { "{;v,empty,who}", ";v=6;empty;who=fred" },
        { "{;hello:5}", ";hello=Hello" }, { "{;list*}", ";list=red;list=green;list=blue" },
        { "{;keys*}", ";semi=%3B;dot=.;comma=%2C" }, { "{?who}", "?who=fred" },
        { "{?x,y,empty}", "?x=1024&y=768&empty=" }, { "{?var:3}", "?var=val" },
        { "{?list}", "?list=red,green,blue" }, { "{?keys*}", "?semi=%3B&dot=.&comma=%2C" },
        { "?fixed=yes{&x}", "?fixed=yes&x=1024" }, { "{&list*}", "&list=red&list=green&list=blue" },
    };
    static const char *const no[][3] = {
        { "{hello}", "Hello World!", "a space or ! is written encoded" },
        { "{half}", "50%", "a lone %" },
        { "{var}", "val/ue", "/ is reserved" },
        { "{var:3}", "valu", "a prefix of 3 is at most 3 characters" },
        { "{/var:1,var}", "/va/value", "a prefix of 1 is at most 1 character" },
        { "{/who,dub}", "/fred/me/too", "{/a,b} is at most two segments" },
        { "{;hello:5}", ";hello=HelloW", "; prefix" },
        { "{?x,y}", "?y=768&x=1024", "named variables keep their order" },
        { "{?x,y}", "?z=1", "an unknown name" },
        { "{?x,y}", "x=1024", "the ? is written first" },
        { "{#var}", "value", "the # is written first" },
        { "X{.var}", "Xvalue", "the . is written first" },
        { "{+path}/here", "/foo bar/here", "+ writes reserved characters, not a space" },
        { "{var}", "caf\xc3\xa9", "a non-ASCII character is written encoded" },
    };
    size_t i;

    for (i = 0; i < sizeof yes / sizeof yes[0]; i++)
        ok(m(yes[i][0], yes[i][1]) == 1, "RFC 6570: %s matches %s", yes[i][0], yes[i][1]);
    for (i = 0; i < sizeof no / sizeof no[0]; i++)
        ok(m(no[i][0], no[i][1]) == 0, "RFC 6570: %s does not match %s (%s)", no[i][0], no[i][1],
           no[i][2]);
    ok(m("{x:3}", "%C3%A9%C3%A9%C3%A9") == 1 && m("{x:3}", "%C3%A9%C3%A9%C3%A9a") == 0,
       "a prefix counts an encoded UTF-8 character as one");
    ok(m("{x:2}", "%F0%9F%98%80a") == 1 && m("{x:1}", "%E2%82%AC") == 1,
       "a prefix counts 3- and 4-byte characters as one");
}

static void test_legacy_selectors(void)
{
    const char *alt = "https://example.com/users/foo/?topic=https%3A%2F%2Fexample.com%2Fbooks%2F1";

    ok(m("https://example.com/books/{id}", "https://example.com/books/1") == 1,
       "legacy: books/{id} matches books/1");
    ok(m("https://example.com/books/{id}", "https://example.com/books/1/chapters") == 0,
       "legacy: books/{id} does not match books/1/chapters");
    ok(m("https://example.com/books/{id}", "https://example.com/books/") == 1,
       "legacy: books/{id} matches books/ (an empty or undefined id expands to nothing)");
    ok(m("https://example.com/books/{id}", "https://example.org/books/1") == 0,
       "legacy: another host does not match");
    ok(m("https://example.com/users/foo/{?topic}", alt) == 1,
       "legacy: the draft's alternate topic matches users/foo/{?topic}");
    ok(m("https://example.com/users/foo/{?topic}", "https://example.com/users/bar/?topic=x") == 0,
       "legacy: another user's alternate topic does not");
    ok(m("https://example.com/books/1", "https://example.com/books/1") == 1 &&
       m("https://example.com/books/1", "https://example.com/books/12") == 0,
       "legacy: a URL without expression matches itself only");
    ok(m("", "") == 1 && m("", "x") == 0, "the empty template matches the empty string only");
}

static void test_literals(void)
{
    ok(m("a.b", "axb") == 0 && m("a.b", "a.b") == 1, "a literal . is no wildcard");
    ok(m("a+b", "aab") == 0 && m("a*b", "aaab") == 0 && m("a?b", "ab") == 0,
       "literal +, *, ? are no quantifiers");
    ok(m("(x)[y]$!", "(x)[y]$!") == 1, "literal ( ) [ ] $ ! match themselves");
    ok(m("caf\xc3\xa9/{x}", "caf\xc3\xa9/1") == 1, "a non-ASCII literal matches itself");
    ok(m("caf\xc3\xa9/{x}", "caf%C3%A9/1") == 1 && m("caf\xc3\xa9/{x}", "caf%c3%a9/1") == 1,
       "a non-ASCII literal matches its percent-encoding, in either case");
    ok(m("a%20b", "a%20b") == 1 && m("a%20b", "a b") == 0, "a %%XX literal matches as written");
    ok(m("{x}", "a\xff") == 0 && m("caf\xc3\xa9{x}", "caf\xc3") == 0 &&
       m("https://example.com/books/{id}", "https://example.com/books/1\xff/secret") == 0,
       "a string that is not UTF-8 never matches (not even up to its first bad byte)");
}

/* s with each byte outside printable ASCII as \xNN: a test's name stays ASCII (TAP logs
 * are read as UTF-8). */
static const char *shown(const char *s)
{
    static char buf[256];
    size_t n = 0;

    for (; *s && n + 5 < sizeof buf; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c < 0x7f)
            buf[n++] = (char)c;
        else
            n += (size_t)snprintf(buf + n, sizeof buf - n, "\\x%02x", c);
    }
    buf[n] = '\0';
    return buf;
}

static void test_invalid(void)
{
    static const char *const bad[][2] = {
        { "https://example.com/{id", "not closed" }, { "a}b", "0x7d" }, { "{}", "no variable" },
        { "{a b}", "unexpected" }, { "{=a}", "reserved" }, { "{!a}", "reserved" },
        { "{|a}", "reserved" }, { "{a:0}", "no variable" }, { "{a:10000}", "unexpected" },
        { "{a*:3}", "unexpected" }, { "{.}", "no variable" }, { "{a,}", "no variable" },
        { "{,a}", "reserved" }, { "{a..b}", "unexpected" }, { "{.a.}", "unexpected" },
        { "{a{b}}", "not closed" }, { "a b", "0x20" }, { "a\"b", "0x22" }, { "a'b", "0x27" },
        { "a<b", "0x3c" }, { "a\\b", "0x5c" }, { "a^b", "0x5e" }, { "a`b", "0x60" },
        { "a|b", "0x7c" }, { "a%zzb", "triplet" }, { "a%2", "triplet" }, { "a\x01", "0x01" },
        { "a\x7f", "0x7f" }, { "caf\xc3", "not UTF-8" }, { "\xc0\xaf", "not UTF-8" },
        { "\xed\xa0\x80", "not UTF-8" }, { "\xc2\x85", "may not hold" }, { "\xef\xbf\xbe", "may not hold" },
        { "{x%2}", "unexpected" },
    };
    char why[160];
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ok(compiles(bad[i][0], why, sizeof why) == UT_EINVALID && strstr(why, bad[i][1]),
           "invalid: %s (%s)", shown(bad[i][0]), why);
    ok(compiles("{x%41,a.b,_1,A9*,y:9999}", why, sizeof why) == UT_OK,
       "valid: pct-encoded and dotted names, explode, the longest prefix");
    ok(compiles("\xee\x80\x80{x}\xf3\xa1\x84\x80", why, sizeof why) == UT_OK,
       "valid: iprivate U+E000 and ucschar U+E1100 literals");
}

static void test_bounds(void)
{
    char tpl[UT_TEMPLATE_MAX + 2], why[160];
    int i, n;

    memset(tpl, 'a', sizeof tpl);
    tpl[UT_TEMPLATE_MAX] = '\0';
    ok(compiles(tpl, why, sizeof why) == UT_OK, "a template of %d bytes compiles", UT_TEMPLATE_MAX);
    tpl[UT_TEMPLATE_MAX] = 'a';
    tpl[UT_TEMPLATE_MAX + 1] = '\0';
    ok(compiles(tpl, why, sizeof why) == UT_ETOOBIG, "one byte more: too big (%s)", why);
    for (n = 0, i = 0; i < UT_EXPRS_MAX; i++)
        n += snprintf(tpl + n, sizeof tpl - (size_t)n, "/{v%d}", i);
    ok(compiles(tpl, why, sizeof why) == UT_OK, "%d expressions compile", UT_EXPRS_MAX);
    snprintf(tpl + n, sizeof tpl - (size_t)n, "/{w}");
    ok(compiles(tpl, why, sizeof why) == UT_ETOOBIG, "one more: too big (%s)", why);
    for (n = snprintf(tpl, sizeof tpl, "{?v0"), i = 1; i < UT_VARS_MAX; i++)
        n += snprintf(tpl + n, sizeof tpl - (size_t)n, ",v%d", i);
    snprintf(tpl + n, sizeof tpl - (size_t)n, "}");
    ok(compiles(tpl, why, sizeof why) == UT_OK, "%d variables in an expression compile",
       UT_VARS_MAX);
    snprintf(tpl + n, sizeof tpl - (size_t)n, ",w}");
    ok(compiles(tpl, why, sizeof why) == UT_ETOOBIG, "one more: too big (%s)", why);
}

/* A string of n copies of unit, then tail. */
static char *rep(const char *head, const char *unit, size_t n, const char *tail)
{
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail), i;
    char *s = malloc(hl + ul * n + tl + 1);

    if (!s)
        abort();
    memcpy(s, head, hl);
    for (i = 0; i < n; i++)
        memcpy(s + hl + i * ul, unit, ul);
    memcpy(s + hl + ul * n, tail, tl + 1);
    return s;
}

static void test_limits(void)
{
    static const char *const cases[][4] = {
        /* template, head, unit repeated to about 4 KiB, tail */
        { "https://example.com/books/{id}", "https://example.com/books/", "a", "" },
        { "https://example.com/{+path}", "https://example.com/", "a/b", "" },
        { "{id}", "", "%41", "" },
        { "https://example.com/users/foo/{?topic}", "https://example.com/users/foo/?topic=", "a", "" },
        { "{?x,y,z}", "?x=1&z=", "a", "" },
        { "{/a,b:3,c}", "/a/bbb/", "c", "" },
        { "{;x*}", "", ";a=b", "" },
        { "{?x*}", "?a=b", "&a=b", "" },
        { "{a}{b}{+c}{d}", "", "a,", "" },
        { "{#a}{#b}", "#", "a#", "" },
        { "{;x*}{;y*}", "", ";a=b", "" },
    };
    size_t i;
    char *s;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s = rep(cases[i][1], cases[i][2], (4000 - strlen(cases[i][1])) / strlen(cases[i][2]),
                cases[i][3]);
        ok(m(cases[i][0], s) == 1, "a %zu-byte topic matches %s within the limits", strlen(s),
           cases[i][0]);
        free(s);
    }
    s = rep("x?a=b", "&a=b", 999, "!");
    ok(m("x{?x*}{&y*}", s) == UT_LIMIT, "an ambiguous template on a long string that cannot "
       "match stops at the match limit (UT_LIMIT: no match)");
    free(s);
    s = rep("", "a", 4000, "!");
    ok(m("{a}{b}{c}{d}", s) == 0, "adjacent alike expressions are merged: no backtracking "
       "on every split (a plain no match)");
    free(s);
}

int main(void)
{
    test_rfc_examples();
    test_legacy_selectors();
    test_literals();
    test_invalid();
    test_bounds();
    test_limits();
    return done_testing();
}
