/* test_url.c -- unit tests of src/mercure/url*.c: the URL Standard's parser and URL Pattern's canonicalizers */
/* Cases from the URL Standard's text and examples (hosts, IPv4 forms, IPv6 compression,
 * percent-encode sets, dot segments, opaque paths, backslashes, tabs and newlines), relative
 * references against the hub's URL, the state-override entry points, and the limits. The
 * expected values are the standard's, worked out by hand; tests/unit/mercure/urlpattern_diff.py
 * compares thousands more against Chromium. */
#include "config.h"

#include "mercure/url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#define HUB "https://hub.example.com/.well-known/mercure"

/* "scheme|username|password|host|port|path|query|fragment" of a parse, or "failure". */
static void describe(const char *in, const char *base, char *out, size_t len)
{
    struct url b, u;
    size_t n = 0;

    if (base && url_parse(&b, base, strlen(base), NULL) != 0) {
        snprintf(out, len, "base failure");
        return;
    }
    if (url_parse(&u, in, strlen(in), base ? &b : NULL) != 0) {
        snprintf(out, len, "failure");
    } else {
        out[0] = '\0';
        for (int i = 0; i < URL_NPARTS; i++)
            n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%s", i ? "|" : "",
                                  url_get(&u, (enum url_part)i, NULL));
        url_free(&u);
    }
    if (base)
        url_free(&b);
}

static void parses(const char *in, const char *base, const char *want)
{
    char got[1024];

    describe(in, base, got, sizeof got);
    if (!ok(strcmp(got, want) == 0, "parse \"%s\"%s%s", in, base ? " against " : "",
            base ? base : ""))
        diag("got  %s\nwant %s", got, want);
}

static void canon(enum url_canon which, const char *in, const char *protocol, const char *want)
{
    char *out = NULL;
    size_t n;
    const char *why = NULL;
    int r = url_canon(which, in, strlen(in), protocol, &out, &n, &why);

    if (want)
        ok(r == 0 && strcmp(out, want) == 0 && n == strlen(want), "canon %d \"%s\" is \"%s\" (got %s)",
           (int)which, in, want, r ? why : out);
    else
        ok(r == URL_EINVALID && why && *why, "canon %d \"%s\" fails (%s)", (int)which, in,
           r ? why : out);
    free(out);
}

static void test_special(void)
{
    parses("https://EXAMPLE.com:443/a/./b/../c?x y#z w", NULL,
           "https|||example.com||/a/c|x%20y|z%20w");
    parses("http://example.com:8080", NULL, "http|||example.com|8080|/||");
    parses("http://example.com:80/", NULL, "http|||example.com||/||");
    parses("ws://example.com:80/x", NULL, "ws|||example.com||/x||");
    parses("wss://example.com:443/x", NULL, "wss|||example.com||/x||");
    parses("ftp://example.com:21/x", NULL, "ftp|||example.com||/x||");
    parses("http://example.com:/", NULL, "http|||example.com||/||");
    parses("http://example.com:65535/", NULL, "http|||example.com|65535|/||");
    parses("http://example.com:65536/", NULL, "failure");
    parses("http://example.com:8x/", NULL, "failure");
    parses("http://example.com:00080/", NULL, "http|||example.com||/||");
    parses("http://u:p@h/", NULL, "http|u|p|h||/||");
    parses("http://a:b@c@d/", NULL, "http|a|b%40c|d||/||");
    parses("http://u s:p:q@h/", NULL, "http|u%20s|p%3Aq|h||/||");
    parses("http://@h/", NULL, "http|||h||/||");
    parses("http://u@/", NULL, "failure");
    parses("http:///example.com/", NULL, "http|||example.com||/||");
    parses("http:example.com/", NULL, "http|||example.com||/||");
    parses("HTTP:\\\\a\\b\\c", NULL, "http|||a||/b/c||");
    parses("http://", NULL, "failure");
    parses("\t ht\ttp://exa\nmple.com/p\rath \x01", NULL, "http|||example.com||/path||");
}

static void test_hosts(void)
{
    parses("http://0x7f.1/", NULL, "http|||127.0.0.1||/||");
    parses("http://127.1/", NULL, "http|||127.0.0.1||/||");
    parses("http://0177.0.0.1/", NULL, "http|||127.0.0.1||/||");
    parses("http://4294967295/", NULL, "http|||255.255.255.255||/||");
    parses("http://4294967296/", NULL, "failure");
    parses("http://1.2.3.4./", NULL, "http|||1.2.3.4||/||");
    parses("http://1.2.3.256/", NULL, "failure");
    parses("http://09.1.1.1/", NULL, "failure");
    parses("http://0x/", NULL, "http|||0.0.0.0||/||");
    parses("http://1.2.3.4.5/", NULL, "failure");
    parses("http://a.0x1/", NULL, "failure");
    parses("http://1.2.3.09x/", NULL, "http|||1.2.3.09x||/||");
    parses("http://[0:0::1]/", NULL, "http|||[::1]||/||");
    parses("http://[1:0:0:0:0:0:0:1]/", NULL, "http|||[1::1]||/||");
    parses("http://[0:f:0:0:f:f:0:0]/", NULL, "http|||[0:f::f:f:0:0]||/||");
    parses("http://[::ffff:1.2.3.4]/", NULL, "http|||[::ffff:102:304]||/||");
    parses("http://[::127.0.0.1]/", NULL, "http|||[::7f00:1]||/||");
    parses("http://[::]/", NULL, "http|||[::]||/||");
    parses("http://[1:2:3:4:5:6:7:8]/", NULL, "http|||[1:2:3:4:5:6:7:8]||/||");
    parses("http://[1::2::3]/", NULL, "failure");
    parses("http://[1:2:3:4:5:6:7:8:9]/", NULL, "failure");
    parses("http://[::1/", NULL, "failure");
    parses("http://[::1.2.3]/", NULL, "failure");
    parses("http://[::01.2.3.4]/", NULL, "failure");
    parses("http://[FE80::A%25eth0]/", NULL, "failure");
    parses("http://b\xc3\xbc" "cher.example/", NULL, "http|||xn--bcher-kva.example||/||");
    parses("http://B\xc3\x9c" "CHER.example/", NULL, "http|||xn--bcher-kva.example||/||");
    parses("http://\xef\xbc\xa5\xef\xbc\xb8.com/", NULL, "http|||ex.com||/||");
    parses("http://fa\xc3\x9f.de/", NULL, "http|||xn--fa-hia.de||/||");
    parses("http://%C3%BC.de/", NULL, "http|||xn--tda.de||/||");
    parses("http://ex%41mple.com/", NULL, "http|||example.com||/||");
    parses("http://xn--zz.example/", NULL, "http|||xn--zz.example||/||");
    parses("http://a b/", NULL, "failure");
    parses("http://a%20b/", NULL, "failure");
    parses("http://a<b/", NULL, "failure");
    parses("http://a^b/", NULL, "failure");
    parses("http://a%25b/", NULL, "failure");
    parses("http://%ff/", NULL, "failure");
    parses("http://a\"b`c{d}/", NULL, "http|||a\"b`c{d}||/||");
    parses("foo://Ex%41mple:12/x", NULL, "foo|||Ex%41mple|12|/x||");
    parses("foo://a b/", NULL, "failure");
    parses("foo://a%b\xc3\xa9/", NULL, "foo|||a%b%C3%A9||/||");
    parses("foo:///x", NULL, "foo|||||/x||");
    parses("file://localhost/x", NULL, "file|||||/x||");
    parses("file://LOCALHOST/x", NULL, "file|||||/x||");
    parses("file://h/x", NULL, "file|||h||/x||");
}

static void test_paths(void)
{
    parses("http://h/a b\"<>`{}^|", NULL, "http|||h||/a%20b%22%3C%3E%60%7B%7D%5E|||");
    parses("http://h/\xc3\xa9/%zz/%2F", NULL, "http|||h||/%C3%A9/%zz/%2F||");
    parses("http://h/a/%2e%2E/b", NULL, "http|||h||/b||");
    parses("http://h/a/..", NULL, "http|||h||/||");
    parses("http://h/a/.", NULL, "http|||h||/a/||");
    parses("http://h/.%2e/../x/", NULL, "http|||h||/x/||");
    parses("http://h", NULL, "http|||h||/||");
    parses("foo://h", NULL, "foo|||h||||");
    parses("foo://h/a\\b/..", NULL, "foo|||h||/||");
    parses("foo:/..//p", NULL, "foo|||||//p||");
    parses("javascript:alert( 1) ?", NULL, "javascript|||||alert( 1)%20||");
    parses("mailto:x@y.example?subject=a b", NULL, "mailto|||||x@y.example|subject=a%20b|");
    parses("urn:isbn:0-486", NULL, "urn|||||isbn:0-486||");
    parses("data:text/plain,a\xc3\xa9\x7f", NULL, "data|||||text/plain,a%C3%A9%7F||");
    parses("file:///C|/x", NULL, "file|||||/C:/x||");
    parses("file:c:\\x\\..\\y", NULL, "file|||||/c:/y||");
}

static void test_query_fragment(void)
{
    parses("http://h/?a b\"#<>'`", NULL, "http|||h||/|a%20b%22|%3C%3E'%60");
    parses("http://h/?'", NULL, "http|||h||/|%27|");
    parses("foo://h/?'", NULL, "foo|||h||/|'|");
    parses("http://h/?\xc3\xa9#\xc3\xa9", NULL, "http|||h||/|%C3%A9|%C3%A9");
    parses("http://h/?`{}|^", NULL, "http|||h||/|`{}|^|");
    parses("http://h/#`{}", NULL, "http|||h||/||%60{}");
    parses("http://h/?#", NULL, "http|||h||/||");
    parses("http://h/##", NULL, "http|||h||/||#");
}

static void test_relative(void)
{
    parses("/.well-known/mercure/subscriptions/exact/a/b", HUB,
           "https|||hub.example.com||/.well-known/mercure/subscriptions/exact/a/b||");
    parses("subscriptions", HUB, "https|||hub.example.com||/.well-known/subscriptions||");
    parses("../x", HUB, "https|||hub.example.com||/x||");
    parses("../../../x", HUB, "https|||hub.example.com||/x||");
    parses("?q=1", HUB, "https|||hub.example.com||/.well-known/mercure|q=1|");
    parses("#f", HUB, "https|||hub.example.com||/.well-known/mercure||f");
    parses("", HUB, "https|||hub.example.com||/.well-known/mercure||");
    parses("//other.example/p", HUB, "https|||other.example||/p||");
    parses("\\\\other.example\\p", HUB, "https|||other.example||/p||");
    parses("https:books/1", HUB, "https|||hub.example.com||/.well-known/books/1||");
    parses("http:books/1", HUB, "http|||books||/1||");
    parses("urn:uuid:1", HUB, "urn|||||uuid:1||");
    parses("/books/1", "foo://h/p/q", "foo|||h||/books/1||");
    parses("x", "foo://h/p/q", "foo|||h||/p/x||");
    parses("#f", "data:text/plain,x", "data|||||text/plain,x||f");
    parses("x", "data:text/plain,x", "failure");
    parses("/abs", "file:///C:/x/y", "file|||||/C:/abs||");
    parses("/x", NULL, "failure");
}

static void test_canon(void)
{
    canon(URL_CANON_PROTOCOL, "HTTP", NULL, "http");
    canon(URL_CANON_PROTOCOL, "git+ssh", NULL, "git+ssh");
    canon(URL_CANON_PROTOCOL, "ht tp", NULL, NULL);
    canon(URL_CANON_PROTOCOL, "1http", NULL, NULL);
    canon(URL_CANON_PROTOCOL, "", NULL, "");
    canon(URL_CANON_USERNAME, "a b:c@\xc3\xa9", NULL, "a%20b%3Ac%40%C3%A9");
    canon(URL_CANON_PASSWORD, "p/w", NULL, "p%2Fw");
    canon(URL_CANON_HOSTNAME, "Example.COM", NULL, "example.com");
    canon(URL_CANON_HOSTNAME, "b\xc3\xbc" "cher", NULL, "xn--bcher-kva");
    canon(URL_CANON_HOSTNAME, ".", NULL, ".");
    canon(URL_CANON_HOSTNAME, "127", NULL, "0.0.0.127");
    canon(URL_CANON_HOSTNAME, "bad#hostname", NULL, "bad");
    canon(URL_CANON_HOSTNAME, "bad/hostname", NULL, "bad");
    canon(URL_CANON_HOSTNAME, "bad\nhost", NULL, "badhost");
    canon(URL_CANON_HOSTNAME, "a:b", NULL, NULL);
    canon(URL_CANON_HOSTNAME, "a b", NULL, NULL);
    canon(URL_CANON_HOSTNAME, "bad%hostname", NULL, NULL);
    canon(URL_CANON_HOSTNAME, "/x", NULL, NULL);
    canon(URL_CANON_IPV6_HOSTNAME, "[::AB:1]", NULL, "[::ab:1]");
    canon(URL_CANON_IPV6_HOSTNAME, "[::x]", NULL, NULL);
    canon(URL_CANON_PORT, "8080", NULL, "8080");
    canon(URL_CANON_PORT, "443", NULL, "");
    canon(URL_CANON_PORT, "443", "http", "443");
    canon(URL_CANON_PORT, "080", "http", "");
    canon(URL_CANON_PORT, "80x", "ftp", "80");
    canon(URL_CANON_PORT, "x80", NULL, NULL);
    canon(URL_CANON_PORT, "65536", NULL, NULL);
    canon(URL_CANON_PATHNAME, "/a/./b/../c d", NULL, "/a/c%20d");
    canon(URL_CANON_PATHNAME, "a/./b", NULL, "a/b");
    canon(URL_CANON_PATHNAME, "../x", NULL, "../x");
    canon(URL_CANON_PATHNAME, ".", NULL, ".");
    canon(URL_CANON_PATHNAME, "a/../b", NULL, NULL);
    canon(URL_CANON_PATHNAME, "?#", NULL, "%3F%23");
    canon(URL_CANON_OPAQUE_PATHNAME, "a b\x01?x", NULL, "a b%01");
    canon(URL_CANON_SEARCH, "a b'#", NULL, "a%20b%27%23");
    canon(URL_CANON_HASH, "a b`#", NULL, "a%20b%60#");
}

static void test_limits(void)
{
    char *big = malloc(URL_MAX_INPUT + 2), *out = NULL;
    struct url u;
    size_t n;

    memcpy(big, "http://h/", 9);
    memset(big + 9, 'a', URL_MAX_INPUT + 1 - 9);
    big[URL_MAX_INPUT + 1] = '\0';
    ok(url_parse(&u, big, URL_MAX_INPUT + 1, NULL) == URL_ETOOLONG && u.why,
       "a URL over %d bytes is refused before any work", URL_MAX_INPUT);
    ok(url_parse(&u, big, URL_MAX_INPUT, NULL) == 0 && u.path.len == URL_MAX_INPUT - 8,
       "a URL of %d bytes parses", URL_MAX_INPUT);
    url_free(&u);
    memcpy(big, "http://h/", 9);
    memset(big + 9, ' ', URL_MAX_INPUT - 10);
    big[URL_MAX_INPUT - 1] = 'x';
    ok(url_parse(&u, big, URL_MAX_INPUT, NULL) == 0 && u.path.len == 1 + 3 * (URL_MAX_INPUT - 10) + 1,
       "a path of spaces triples and no more");
    url_free(&u);
    ok(url_canon(URL_CANON_SEARCH, big, URL_MAX_INPUT + 1, NULL, &out, &n, NULL) == URL_ETOOLONG &&
           !out, "canonicalizing over %d bytes is refused", URL_MAX_INPUT);
    ok(url_parse(&u, "http://h/\xc3\x28", 11, NULL) == URL_EINVALID && u.why &&
           strstr(u.why, "UTF-8"), "input that is not UTF-8 is refused (%s)", u.why);
    ok(url_parse(&u, "http://h/\xed\xa0\x80", 12, NULL) == URL_EINVALID, "a surrogate is refused");
    ok(url_parse(&u, "http://h/\xc0\xaf", 11, NULL) == URL_EINVALID, "an overlong form is refused");
    ok(url_parse(&u, "http://[1::2::3]/", 17, NULL) == URL_EINVALID && u.why &&
           strstr(u.why, "IPv6"), "a failure says what was wrong (%s)", u.why);
    free(big);
}

static void test_copy(void)
{
    struct url u, c;

    ok(url_parse(&u, "https://u:p@h:8443/a?b#c", 24, NULL) == 0 && url_copy(&c, &u) == 0,
       "url_copy");
    url_free(&u);
    ok(strcmp(url_get(&c, URL_PORT, NULL), "8443") == 0 &&
           strcmp(url_get(&c, URL_HASH, NULL), "c") == 0 &&
           strcmp(url_get(&c, URL_PASSWORD, NULL), "p") == 0,
       "the copy outlives the original");
    url_free(&c);
    ok(url_default_port("https", 5) == 443 && url_default_port("file", 4) == -1 &&
           url_default_port("foo", 3) == -1 && url_is_special("ws", 2) && !url_is_special("w", 1),
       "special schemes and their default ports");
}

int main(void)
{
    test_special();
    test_hosts();
    test_paths();
    test_query_fragment();
    test_relative();
    test_canon();
    test_limits();
    test_copy();
    return done_testing();
}
