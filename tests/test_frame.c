/* test_precheck.c -- unit tests of precheck (params lengths before libfcgi) and peer (who may connect).
 * Limits of the helpers: records are built in a fixed 512 KiB buffer; the FastCGI encoding is
 * written out by hand here (test side only), from the FastCGI 1.0 specification. */
#include "config.h"

#include "peer.h"
#include "precheck.h"

#include <arpa/inet.h>
#include <string.h>

#include "tap.h"

static unsigned char buf[512 * 1024];
static size_t len;

static void rec(int type, int id, const unsigned char *content, size_t n, int padding)
{
    unsigned char *h = buf + len;

    h[0] = 1;
    h[1] = (unsigned char)type;
    h[2] = (unsigned char)(id >> 8);
    h[3] = (unsigned char)id;
    h[4] = (unsigned char)(n >> 8);
    h[5] = (unsigned char)n;
    h[6] = (unsigned char)padding;
    h[7] = 0;
    if (n)
        memcpy(h + 8, content, n);
    memset(h + 8 + n, 0, (size_t)padding);
    len += 8 + n + (size_t)padding;
}

static size_t nv(unsigned char *o, unsigned long nl, unsigned long vl, const char *name)
{
    size_t k = 0, i;
    unsigned long lens[2] = { nl, vl };

    for (i = 0; i < 2; i++) {
        if (lens[i] < 128) {
            o[k++] = (unsigned char)lens[i];
        } else {
            o[k++] = (unsigned char)(0x80 | (lens[i] >> 24));
            o[k++] = (unsigned char)(lens[i] >> 16);
            o[k++] = (unsigned char)(lens[i] >> 8);
            o[k++] = (unsigned char)lens[i];
        }
    }
    memcpy(o + k, name, strlen(name));
    return k + strlen(name);
}

static const unsigned char begin_body[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };

static enum pre_result scan(void)
{
    const char *why;
    return pre_scan(buf, len, &why);
}

int main(void)
{
    unsigned char p[1024];
    size_t n, cut, i;
    const char *why;
    int all;
    struct peer_acl acl;
    char err[128], who[64];
    struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(1234) };
    struct sockaddr sun = { .sa_family = AF_UNIX };

    /* a normal request */
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    n = nv(p, 14, 3, "REQUEST_METHODGET");
    n += nv(p + n, 11, 7, "SCRIPT_NAME/stream");
    rec(4, 1, p, n, (int)((8 - n % 8) % 8));
    rec(4, 1, NULL, 0, 0);
    rec(5, 1, NULL, 0, 0);
    ok(scan() == PRE_OK, "a whole request: OK");
    all = 1;
    for (cut = 0; cut < len - 16; cut++)
        if (pre_scan(buf, cut, &why) != PRE_MORE)
            all = 0;
    ok(all, "every prefix before the params end: MORE");

    /* params split across records, a pair split across them too */
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    n = nv(p, 200, 300, "");
    memset(p + n, 'x', 500);
    rec(4, 1, p, 3, 0);
    rec(4, 1, p + 3, n + 500 - 3, 0);
    rec(4, 1, NULL, 0, 0);
    ok(scan() == PRE_OK, "a pair split across params records: OK");

    /* the shape of CVE-2025-23016 */
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    n = nv(p, 0x7FFFFFFE, 1, "AAAA");
    rec(4, 1, p, n, 0);
    ok(pre_scan(buf, len, &why) == PRE_BAD && strstr(why, "128 KiB"),
       "name length 2^31-2: BAD (%s)", why);
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    n = nv(p, 1, 0x7FFFFFFF, "A");
    rec(4, 1, p, n, 0);
    ok(scan() == PRE_BAD, "value length 2^31-1: BAD");
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    n = nv(p, 1, PRE_PARAMS_MAX + 1, "A");
    rec(4, 1, p, n, 0);
    ok(scan() == PRE_BAD, "one value over the limit: BAD, before its bytes arrive");
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    n = nv(p, 1, PRE_PARAMS_MAX - 1, "A");
    rec(4, 1, p, n, 0);
    ok(scan() == PRE_MORE, "a value at the limit: waits for it");

    /* many pairs adding up past the limit */
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    for (i = 0; i < 300; i++) {
        n = nv(p, 1, 500, "A");
        memset(p + n, 'v', 500);
        rec(4, 1, p, n + 500, 0);
    }
    ok(pre_scan(buf, len, &why) == PRE_BAD && strstr(why, "in all"), "300 x 500 bytes: BAD (%s)",
       why);

    /* other records are skipped; odd ones refused */
    len = 0;
    rec(9, 0, (const unsigned char *)"\x01\x00x", 3, 5); /* a management record */
    rec(1, 1, begin_body, 8, 0);
    rec(4, 1, NULL, 0, 0);
    ok(scan() == PRE_OK, "FCGI_GET_VALUES before the request is left to libfcgi");
    len = 0;
    rec(11, 0, (const unsigned char *)"x", 1, 7);
    rec(1, 1, begin_body, 8, 0);
    rec(4, 1, NULL, 0, 0);
    ok(pre_scan(buf, len, &why) == PRE_BAD && strstr(why, "unknown type"),
       "a management record of an unknown type: BAD (%s)", why);
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    rec(4, 1, NULL, 0, 0);
    rec(77, 0, NULL, 0, 0);
    rec(5, 1, NULL, 0, 0);
    ok(scan() == PRE_BAD, "... also when it came with the request, after the params");
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    rec(4, 1, NULL, 0, 0);
    rec(5, 1, (const unsigned char *)"body", 4, 4);
    rec(5, 1, NULL, 0, 0);
    rec(77, 0, NULL, 0, 0);
    ok(scan() == PRE_OK, "records after the end of stdin are not looked at");
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    rec(4, 1, NULL, 0, 0);
    rec(5, 1, (const unsigned char *)"body", 4, 0);
    len -= 2;
    ok(scan() == PRE_OK, "a record cut after the params: OK (libfcgi reads the rest)");
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    rec(4, 1, NULL, 0, 200);
    len -= 190;
    ok(scan() == PRE_OK, "the params' end whose padding is still on the way: OK, nothing read "
       "past the data (found by fuzzing)");
    len = 0;
    rec(4, 0, p, 4, 0);
    ok(scan() == PRE_BAD, "params with request id 0: BAD");
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    buf[0] = 2;
    ok(scan() == PRE_BAD, "version 2: BAD");
    ok(pre_scan(buf, 0, &why) == PRE_MORE, "nothing yet: MORE");

    /* peer */
    ok(peer_acl_parse(&acl, NULL, err, sizeof err) == 0 && acl.n == 0, "no list");
    in.sin_addr.s_addr = htonl(0x7f000002);
    ok(peer_allowed(&acl, (struct sockaddr *)&in), "no list: any TCP peer");
    ok(peer_acl_parse(&acl, "127.0.0.1, 10.0.0.5 ,", err, sizeof err) == 0 && acl.n == 2,
       "two addresses, spaces and a trailing comma");
    ok(!peer_allowed(&acl, (struct sockaddr *)&in), "127.0.0.2 is not on the list");
    in.sin_addr.s_addr = htonl(0x0a000005);
    ok(peer_allowed(&acl, (struct sockaddr *)&in), "10.0.0.5 is");
    ok(peer_allowed(&acl, &sun), "a unix peer always is");
    ok(peer_acl_parse(&acl, "127.0.0.1,localhost", err, sizeof err) == -1 && strstr(err, "localhost"),
       "a host name is refused: %s", err);
    ok(peer_acl_parse(&acl, "1.2.3.4.5", err, sizeof err) == -1, "a bad address is refused");
    peer_describe((struct sockaddr *)&in, who, sizeof who);
    ok(strcmp(who, "10.0.0.5:1234") == 0, "describe: %s", who);
    return done_testing();
}
