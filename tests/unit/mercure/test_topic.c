/* test_topic.c -- unit tests of topic: the characters a topic may hold (Cf included), the hub's reserved namespace and its bypasses, percent-encoding once and decoding */
/* Expected values are worked out by hand from the current draft's Terminology and
 * Publication sections and RFC 3986 (5.2.4, 2.3); the Cf ranges are Unicode 15.1's (Python's
 * unicodedata, Unicode 14, lists the same save U+13439-1343F, added in 15.0). */
#include "config.h"

#include "mercure/topic.h"
#include "mercure/topic_int.h"

#include <stdio.h>
#include <string.h>

#include "tap.h"

#define HUB "https://example.com/.well-known/mercure"

/* 1 when s is refused with reason want (NULL: accepted). */
static int text(const char *s, size_t len, const char *want)
{
    const char *why = "unset";
    int r = topic_text_ok(s, len, &why);

    if (!want)
        return r == 1 && why == NULL;
    return r == 0 && why && strcmp(why, want) == 0;
}

static void test_text(void)
{
    static const char *const ok_texts[] = {
        "https://example.com/books/1", "/books/1", "plain name", "caf\xc3\xa9",
        "\xc2\xa0" /* U+00A0 NO-BREAK SPACE: Zs, not Cf */, "\xc2\xa1", "\xc2\xac",
        "\xc2\xae" /* U+00AE after U+00AD */, "\xe2\x80\x8a" /* U+200A: Zs */,
        "\xe2\x80\x90" /* U+2010 after U+200F */, "\xe2\x81\xa5" /* U+2065: unassigned */,
        "\xef\xbb\xbe" /* U+FEFE */, "\xf0\x9f\x98\x80" /* U+1F600 */,
        "\xf3\xa0\x80\x80" /* U+E0000 */, "\xf3\xa0\x80\x82" /* U+E0002 */,
        "\xf3\xa0\x82\x80" /* U+E0080 after the tags */, "\xf4\x8f\xbf\xbf" /* U+10FFFF */,
        "~!*'();:@&=+$,/?#[]",
    };
    static const struct {
        const char *s, *name;
    } cf[] = {
        { "a\xc2\xad", "U+00AD SOFT HYPHEN" },
        { "\xd8\x80", "U+0600" },
        { "\xd8\x85", "U+0605" },
        { "\xd8\x9c", "U+061C ARABIC LETTER MARK" },
        { "\xdb\x9d", "U+06DD" },
        { "\xdc\x8f", "U+070F" },
        { "\xe0\xa2\x90", "U+0890" },
        { "\xe0\xa3\xa2", "U+08E2" },
        { "\xe1\xa0\x8e", "U+180E" },
        { "x\xe2\x80\x8by", "U+200B ZERO WIDTH SPACE" },
        { "\xe2\x80\x8f", "U+200F RIGHT-TO-LEFT MARK" },
        { "\xe2\x80\xae", "U+202E RIGHT-TO-LEFT OVERRIDE" },
        { "\xe2\x81\xa0", "U+2060 WORD JOINER" },
        { "\xe2\x81\xa6", "U+2066" },
        { "\xe2\x81\xaf", "U+206F" },
        { "\xef\xbb\xbf" "topic", "U+FEFF BYTE ORDER MARK" },
        { "\xef\xbf\xb9", "U+FFF9" },
        { "\xef\xbf\xbb", "U+FFFB" },
        { "\xf0\x91\x82\xbd", "U+110BD" },
        { "\xf0\x91\x83\x8d", "U+110CD" },
        { "\xf0\x93\x90\xb0", "U+13430" },
        { "\xf0\x93\x90\xbf", "U+1343F (Unicode 15)" },
        { "\xf0\x9b\xb2\xa0", "U+1BCA0" },
        { "\xf0\x9d\x85\xb3", "U+1D173" },
        { "\xf0\x9d\x85\xba", "U+1D17A" },
        { "\xf3\xa0\x80\x81", "U+E0001 LANGUAGE TAG" },
        { "\xf3\xa0\x80\xa0", "U+E0020" },
        { "\xf3\xa0\x81\xbf", "U+E007F" },
    };
    static const struct {
        const char *s;
        size_t len;
        const char *name;
    } ctl[] = {
        { "a\0b", 3, "NUL" }, { "a\tb", 3, "TAB" }, { "a\nb", 3, "LF" }, { "a\rb", 3, "CR" },
        { "\x1f", 1, "U+001F" }, { "\x7f", 1, "DEL" }, { "\xc2\x80", 2, "U+0080" },
        { "\xc2\x85", 2, "U+0085 NEL" }, { "\xc2\x9f", 2, "U+009F" },
    };
    static const struct {
        const char *s, *name;
    } bad[] = {
        { "\x80", "a stray continuation byte" }, { "\xc3", "a truncated sequence" },
        { "\xc0\xaf", "an overlong '/'" }, { "\xe0\x80\xaf", "an overlong 3-byte form" },
        { "\xed\xa0\x80", "a surrogate (U+D800)" }, { "\xf4\x90\x80\x80", "U+110000" },
        { "\xf5\x80\x80\x80", "a 0xF5 lead byte" }, { "\xff", "0xFF" },
    };
    size_t i;

    for (i = 0; i < sizeof ok_texts / sizeof ok_texts[0]; i++)
        ok(text(ok_texts[i], strlen(ok_texts[i]), NULL), "text %zu accepted", i);
    ok(text("", 0, NULL), "the empty string holds no bad character (emptiness is the caller's)");
    for (i = 0; i < sizeof cf / sizeof cf[0]; i++)
        ok(text(cf[i].s, strlen(cf[i].s), "a format character (Unicode Cf)"),
           "%s refused as a format character", cf[i].name);
    for (i = 0; i < sizeof ctl / sizeof ctl[0]; i++)
        ok(text(ctl[i].s, ctl[i].len, "a control character"), "%s refused as a control "
           "character", ctl[i].name);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ok(text(bad[i].s, strlen(bad[i].s), "not UTF-8"), "%s refused as not UTF-8",
           bad[i].name);
    ok(topic_text_ok("\xe2\x80\x8b", 2, NULL) == 0, "a sequence cut by len is not UTF-8");
    ok(topic_text_ok("ok", 2, NULL) == 1, "why may be NULL");
}

static void reserved(const char *topic, int want)
{
    int r = topic_reserved(topic, strlen(topic), HUB);

    ok(r == want, "\"%s\" is %sreserved (got %d)", topic, want ? "" : "not ", r);
}

static void test_reserved(void)
{
    char long_topic[TOPIC_MAX + 1];

    reserved("/.well-known/mercure", 1);
    reserved("/.well-known/mercure/", 1);
    reserved("/.well-known/mercure/subscriptions/exact/x/urn%3Auuid%3Ax", 1);
    reserved("/.well-known/%6Dercure/subscriptions/x", 1);
    reserved("/.well-known/%6dercure", 1);
    reserved("/%2Ewell-known/mercure/x", 1);
    reserved("/.well%2Dknown/mercur%65/x", 1);
    reserved("/.well-known/mercure/../mercure/x", 1);
    reserved("/.well-known/x/../mercure/y", 1);
    reserved("/.well-known/mercure/./x", 1);
    reserved("/a/b/../../.well-known/mercure", 1);
    reserved("/.well-known/mercure/%2E%2E/mercure/x", 1);
    reserved("https://other.host/.well-known/mercure/subscriptions/x", 1);
    reserved("https://example.com/.well-known/mercure", 1);
    reserved("http://example.com:8080/.well-known/mercure/x", 1);
    reserved("ftp://a/.well-known/mercure/x", 1);
    reserved("foo://host/.well-known/mercure/x", 1);
    reserved("HTTPS://EXAMPLE.COM/.well-known/mercure/x", 1);
    reserved("https://example.com\\.well-known\\mercure\\x", 1);
    reserved("//other.host/.well-known/mercure/x", 1);
    reserved("mercure/x", 1);   /* relative: /.well-known/mercure/x */
    reserved("./mercure", 1);
    reserved("mercure", 1);     /* resolves to the hub URL itself */
    reserved("?x=1", 1);
    reserved("/.well-known/mercure?x#y", 1);
    reserved("/.well-known/mercurex", 0);
    reserved("/.well-known/mercure%2Fx", 0); /* %2F is not unreserved: one segment */
    reserved("/.well-known/mercure-x/y", 0);
    reserved("/.well-known/Mercure/x", 0);
    reserved("/.WELL-KNOWN/mercure", 0);
    reserved("/.well-known/", 0);
    reserved("/.well-known", 0);
    reserved("/mercure", 0);
    reserved("/books/1", 0);
    reserved("https://example.com/books/1", 0);
    reserved("bar", 0);
    reserved("urn:uuid:0b6e4c2e-5f9a-4c4e-8f47-3a6d1c4d2b1a", 0);
    reserved("mailto:x@example.com", 0);
    reserved("http://[::1", 0); /* does not parse: not reserved */
    reserved("https://exa mple.com/.well-known/mercure", 0);
    memset(long_topic, 'a', TOPIC_MAX);
    long_topic[TOPIC_MAX] = '\0';
    reserved(long_topic, 0);

    ok(topic_reserved("/hub/x", 6, "https://example.com/hub/") == 1,
       "a hub URL ending in '/' reserves what is under it");
    ok(topic_reserved("/hub", 4, "https://example.com/hub/") == 1, "and its own path");
    ok(topic_reserved("/hubx", 5, "https://example.com/hub/") == 0, "but not a sibling");
    ok(topic_reserved("/p/.well-known/mercure/x", 24, "https://example.com/p/.well-known/mercure")
       == 1, "a hub under a prefix reserves its own path");
    ok(topic_reserved("/.well-known/mercure/x", 22, "https://example.com/p/.well-known/mercure")
       == 0, "and not the default one");
    ok(topic_reserved("/x", 2, "not a url") == -1, "a hub URL that is not a URL fails closed");
}

static void test_encode(void)
{
    char out[256];
    long n;

    n = topic_encode(out, sizeof out, "https://example.com/:selector", 29);
    ok(n == 39 && strcmp(out, "https%3A%2F%2Fexample.com%2F%3Aselector") == 0,
       "encode the draft's matcher (%s)", out);
    n = topic_encode(out, sizeof out, "urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6", 45);
    ok(n > 0 && strcmp(out, "urn%3Auuid%3Abb3de268-05b0-4c65-b44e-8f9acefc29d6") == 0,
       "encode the draft's subscriber");
    n = topic_encode(out, sizeof out, "https://example.com/{selector}", 30);
    ok(n > 0 && strcmp(out, "https%3A%2F%2Fexample.com%2F%7Bselector%7D") == 0,
       "encode the legacy draft's selector");
    n = topic_encode(out, sizeof out, "a%2Fb c+\xc3\xa9~._-", 14);
    ok(n > 0 && strcmp(out, "a%252Fb%20c%2B%C3%A9~._-") == 0,
       "'%%' itself is encoded (once, never skipped), UTF-8 bytes upper-case (%s)", out);
    n = topic_encode(out, sizeof out, "a\0b", 3);
    ok(n == 5 && memcmp(out, "a%00b", 6) == 0, "a NUL byte is encoded");
    ok(topic_encode(out, 4, "abc", 3) == 3, "fits exactly with its NUL");
    ok(topic_encode(out, 3, "abc", 3) == -1, "one byte short: -1");
    ok(topic_encode(out, 4, "a:", 2) == -1, "a triplet that does not fit: -1");
    ok(topic_encode(out, 1, "", 0) == 0 && out[0] == '\0', "the empty string");
}

static void test_decode(void)
{
    char out[64], buf[64];
    long n;

    n = topic_decode(out, sizeof out, "https%3A%2F%2Fexample.com%2F%3Aselector", 39);
    ok(n == 29 && strcmp(out, "https://example.com/:selector") == 0, "decode");
    n = topic_decode(out, sizeof out, "a+b%2bc%c3%A9", 13);
    ok(n == 7 && strcmp(out, "a+b+c\xc3\xa9") == 0, "'+' stays, either case of hex");
    n = topic_decode(out, sizeof out, "a%00b", 5);
    ok(n == 3 && memcmp(out, "a\0b", 4) == 0, "a NUL byte decodes (the caller checks it)");
    ok(topic_decode(out, sizeof out, "a%2", 3) == -1, "a cut triplet: -1");
    ok(topic_decode(out, sizeof out, "a%zz", 4) == -1, "not hex: -1");
    ok(topic_decode(out, sizeof out, "%", 1) == -1, "a lone '%%': -1");
    ok(topic_decode(out, 3, "abc", 3) == -1, "out too small: -1");
    ok(topic_decode(out, 4, "abc", 3) == 3, "len + 1 suffices");

    n = topic_unescape(out, sizeof out, "a+b%zz%4", 8, 1, 1);
    ok(n == 8 && strcmp(out, "a b%zz%4") == 0, "lenient: bad escapes kept as they are, '+' a "
       "space (%s)", out);
    ok(topic_unescape(out, sizeof out, "a+b%zz", 6, 1, 0) == -1, "strict: a bad escape is -1");
    strcpy(buf, "x%41%42+y");
    n = topic_unescape(buf, sizeof buf, buf, 9, 1, 0);
    ok(n == 5 && strcmp(buf, "xAB y") == 0, "in place");
}

int main(void)
{
    test_text();
    test_reserved();
    test_encode();
    test_decode();
    return done_testing();
}
