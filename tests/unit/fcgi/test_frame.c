/* test_frame.c -- unit tests of frame: a request's records checked as they arrive, before libfcgi reads any.
 * Limits of the helpers: records are built in a fixed 512 KiB buffer; the FastCGI encoding is
 * written out by hand here (test side only), from the FastCGI 1.0 specification; limits are
 * generous (body 1 KiB, raw 1 MiB) unless a test is about them. */
#include "config.h"

#include "fcgi/frame.h"

#include <string.h>

#include "tap.h"

static unsigned char buf[512 * 1024];
static size_t len;
static struct frame fr;

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
static const unsigned char begin_keep[8] = { 0, 1, 1, 0, 0, 0, 0, 0 };
static const unsigned char begin_auth[8] = { 0, 2, 0, 0, 0, 0, 0, 0 };

/* A fresh state with the given limits. */
static void reset(size_t body_max, size_t raw_max)
{
    memset(&fr, 0, sizeof fr);
    fr.lim.body_max = body_max;
    fr.lim.raw_max = raw_max;
}

/* Scans buf[0, len) with a fresh state and generous limits. */
static enum frame_result scan(void)
{
    reset(1024, 1024 * 1024);
    return frame_scan(&fr, buf, len);
}

/* Scans buf[0, len) and checks it is refused for a reason that contains part. */
static void ok_bad(const char *part, const char *what)
{
    enum frame_result r = scan();

    ok(r == FRAME_BAD && fr.why && strstr(fr.why, part) != NULL, "%s: BAD (%s)", what,
       fr.why ? fr.why : "no reason");
}

/* BEGIN, one PARAMS record with two pairs, the empty PARAMS. */
static size_t head(int id)
{
    unsigned char p[64];
    size_t n;

    rec(1, id, begin_body, 8, 0);
    n = nv(p, 14, 3, "REQUEST_METHODGET");
    n += nv(p + n, 11, 7, "SCRIPT_NAME/stream");
    rec(4, id, p, n, (int)((8 - n % 8) % 8));
    rec(4, id, NULL, 0, 0);
    return len;
}

int main(void)
{
    unsigned char p[1024];
    size_t n, cut, i, params_end, whole_end;
    int all;
    enum frame_result r;

    /* ---- a normal request */
    len = 0;
    params_end = head(1);
    rec(5, 1, NULL, 0, 0);
    ok(scan() == FRAME_DONE, "a whole request: DONE");
    ok(fr.end == len && fr.params_end == params_end && fr.req_id == 1 && !fr.keep_conn,
       "... end %zu, params_end %zu, request id %u", fr.end, fr.params_end, fr.req_id);
    all = 1;
    for (cut = 0; cut < len; cut++) {
        reset(1024, 1024 * 1024);
        if (frame_scan(&fr, buf, cut) != FRAME_MORE)
            all = 0;
    }
    ok(all, "every proper prefix: MORE");
    reset(1024, 1024 * 1024);
    all = 1;
    for (cut = 0; cut < len; cut++)
        if (frame_scan(&fr, buf, cut) != FRAME_MORE)
            all = 0;
    ok(all && frame_scan(&fr, buf, len) == FRAME_DONE && fr.end == len,
       "fed one byte more each time: MORE until the last byte, then DONE at the same end");
    whole_end = len;
    rec(77, 0, NULL, 0, 0); /* junk after the end */
    ok(frame_scan(&fr, buf, len) == FRAME_DONE && fr.end == whole_end,
       "DONE is sticky: more bytes after it change nothing");
    r = scan();
    ok(r == FRAME_DONE && fr.end == whole_end,
       "records after the end of stdin are not looked at (end %zu of %zu bytes)", fr.end, len);

    /* FCGI_KEEP_CONN is noted */
    len = 0;
    rec(1, 7, begin_keep, 8, 0);
    rec(4, 7, NULL, 0, 0);
    rec(5, 7, NULL, 0, 0);
    ok(scan() == FRAME_DONE && fr.keep_conn && fr.req_id == 7, "FCGI_KEEP_CONN is noted");

    /* a body within the limit */
    len = 0;
    head(1);
    memset(p, 'b', sizeof p);
    rec(5, 1, p, 1000, 0);
    rec(5, 1, p, 24, 0);
    rec(5, 1, NULL, 0, 0);
    ok(scan() == FRAME_DONE && fr.body_len == 1024, "a body of exactly body_max: DONE");

    /* params split across records, a pair split across them too */
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    n = nv(p, 200, 300, "");
    memset(p + n, 'x', 500);
    rec(4, 1, p, 3, 0);
    rec(4, 1, p + 3, n + 500 - 3, 0);
    rec(4, 1, NULL, 0, 0);
    rec(5, 1, NULL, 0, 0);
    ok(scan() == FRAME_DONE, "a pair split across params records: DONE");
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    n = nv(p, 14, 3, "REQUEST_METHODGET");
    for (i = 0; i < n; i++)
        rec(4, 1, p + i, 1, 7);
    rec(4, 1, NULL, 0, 0);
    rec(5, 1, NULL, 0, 0);
    ok(scan() == FRAME_DONE, "params one byte a record, padded: DONE");
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    n = nv(p, 200, 1, "");
    rec(4, 1, p, 3, 0); /* the name length (4 bytes) cut after 3 */
    rec(4, 1, NULL, 0, 0);
    ok_bad("inside a name-value pair", "the params end inside a length");
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    n = nv(p, 4, 4, "NAMEVA");
    rec(4, 1, p, n, 0); /* two bytes of the value missing */
    rec(4, 1, NULL, 0, 0);
    ok_bad("inside a name-value pair", "the params end inside a value");

    /* ---- the shape of CVE-2025-23016 and other absurd lengths */
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    n = nv(p, 0x7FFFFFFE, 1, "AAAA");
    rec(4, 1, p, n, 0);
    ok_bad("128 KiB", "name length 2^31-2");
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    n = nv(p, 1, 0x7FFFFFFF, "A");
    rec(4, 1, p, n, 0);
    ok(scan() == FRAME_BAD, "value length 2^31-1: BAD");
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    n = nv(p, 1, FRAME_PARAMS_MAX + 1, "A");
    rec(4, 1, p, n, 0);
    ok(scan() == FRAME_BAD, "one value over the limit: BAD, before its bytes arrive");
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    n = nv(p, 1, FRAME_PARAMS_MAX - 1, "A");
    rec(4, 1, p, n, 0);
    ok(scan() == FRAME_MORE, "a value just under the limit: waits for it");

    /* many pairs adding up past the limit */
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    for (i = 0; i < 300; i++) {
        n = nv(p, 1, 500, "A");
        memset(p + n, 'v', 500);
        rec(4, 1, p, n + 500, 0);
    }
    ok_bad("in all", "300 x 500 bytes of params");

    /* ---- what libfcgi must never see */
    len = 0;
    rec(9, 0, (const unsigned char *)"\x0e\x00" "FCGI_MAX_CONNS", 16, 0);
    rec(1, 1, begin_body, 8, 0);
    rec(4, 1, NULL, 0, 0);
    rec(5, 1, NULL, 0, 0);
    ok_bad("management record", "FCGI_GET_VALUES before the request");
    len = 0;
    rec(11, 0, (const unsigned char *)"x", 1, 7);
    ok_bad("management record", "a management record of an unknown type");
    len = 0;
    head(1);
    rec(5, 1, (const unsigned char *)"abc", 3, 5);
    rec(77, 0, NULL, 0, 0);
    rec(5, 1, NULL, 0, 0);
    ok_bad("management record", "type 77 (id 0) during stdin");
    len = 0;
    head(1);
    rec(77, 1, NULL, 0, 0);
    rec(5, 1, NULL, 0, 0);
    ok_bad("other than STDIN", "type 77 for the request, after the params");
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    rec(5, 1, NULL, 0, 0);
    ok_bad("other than PARAMS", "STDIN before the params ended");
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    rec(4, 2, NULL, 0, 0);
    rec(4, 1, (const unsigned char *)"junkjunk", 8, 0);
    ok_bad("another request id", "an empty PARAMS of request id 2");
    len = 0;
    head(1);
    rec(1, 1, begin_body, 8, 0);
    ok_bad("second BEGIN", "a second BEGIN_REQUEST");
    len = 0;
    rec(1, 1, begin_auth, 8, 0);
    ok_bad("role", "the authorizer role");
    len = 0;
    rec(1, 1, begin_body, 7, 1);
    ok_bad("not BEGIN_REQUEST", "a BEGIN_REQUEST of 7 bytes");
    len = 0;
    rec(4, 0, p, 4, 0);
    ok(scan() == FRAME_BAD, "params with request id 0: BAD");
    len = 0;
    rec(4, 1, p, 4, 4);
    ok_bad("first record", "params before BEGIN_REQUEST");
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    buf[0] = 2;
    ok_bad("version 1", "version 2");
    len = 0;
    head(1);
    rec(5, 1, p, 100, 0);
    buf[len - 108] = 0; /* the STDIN header's version byte */
    len -= 100;         /* only its header has arrived */
    ok(scan() == FRAME_BAD, "a bad version is refused as soon as its header arrives");

    /* ---- arrival: never a byte past the data */
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    rec(4, 1, NULL, 0, 200);
    len -= 190;
    ok(scan() == FRAME_MORE, "the params' end whose padding is still on the way: MORE");
    len = 0;
    head(1);
    rec(5, 1, (const unsigned char *)"body", 4, 0);
    len -= 2;
    ok(scan() == FRAME_MORE && fr.params_end > 0, "a STDIN record cut short: MORE, params ended");
    reset(1024, 1024 * 1024);
    ok(frame_scan(&fr, buf, 0) == FRAME_MORE, "nothing yet: MORE");
    ok(frame_scan(&fr, buf, 7) == FRAME_MORE, "7 bytes of a header: MORE");

    /* ---- the web server aborts */
    len = 0;
    head(1);
    rec(2, 1, NULL, 0, 0);
    ok(scan() == FRAME_ABORT, "FCGI_ABORT_REQUEST after the params: ABORT");
    rec(5, 1, NULL, 0, 0);
    ok(frame_scan(&fr, buf, len) == FRAME_ABORT, "ABORT is sticky");
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    rec(2, 1, NULL, 0, 0);
    ok(scan() == FRAME_ABORT, "... also during the params");
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    rec(2, 3, NULL, 0, 0);
    ok(scan() == FRAME_BAD, "an abort for another request id: BAD");

    /* ---- limits */
    len = 0;
    params_end = head(1);
    memset(p, 'b', sizeof p);
    rec(5, 1, p, 1000, 0);
    rec(5, 1, p, 25, 0);
    r = scan();
    ok(r == FRAME_TOO_BIG && fr.params_end == params_end,
       "a body one byte over body_max: TOO_BIG, params_end %zu", fr.params_end);
    rec(5, 1, NULL, 0, 0);
    ok(frame_scan(&fr, buf, len) == FRAME_TOO_BIG, "TOO_BIG is sticky");
    reset(0, 1024 * 1024);
    ok(frame_scan(&fr, buf, params_end + 8 + 1000) == FRAME_TOO_BIG,
       "body_max 0: the first body byte is too big");
    len = 0;
    head(1);
    reset(1024, len - 1);
    r = frame_scan(&fr, buf, len);
    ok(r == FRAME_BAD && strstr(fr.why, "intake allows") && fr.oversize,
       "an unfinished request over raw_max: BAD, oversize (%s)", fr.why);
    ok(frame_scan(&fr, buf, len) == FRAME_BAD, "BAD is sticky");
    rec(5, 1, NULL, 0, 0);
    reset(1024, len - 1);
    ok(frame_scan(&fr, buf, len) == FRAME_DONE,
       "a request that ends within the bytes read is judged by its records, not their count");
    reset(1024, len);
    ok(frame_scan(&fr, buf, len) == FRAME_DONE, "a request of exactly raw_max: DONE");

    /* ---- padding is stripped before libfcgi reads: it does not skip the padding of
     * BEGIN_REQUEST and of the params' end, and would read what hides there */
    len = 0;
    rec(1, 1, begin_body, 8, 16);
    rec(4, 1, (const unsigned char *)"\001\000A", 3, 5); /* A= */
    rec(4, 1, NULL, 0, 24);
    rec(5, 1, NULL, 0, 8);
    {
        size_t m = frame_strip_padding(buf, len);
        size_t o = 0;
        int clean = m == 8 + 8 + 8 + 3 + 8 + 8;
        while (clean && o + 8 <= m) {
            clean = buf[o + 6] == 0;
            o += 8 + (((size_t)buf[o + 4] << 8) | buf[o + 5]);
        }
        ok(clean && o == m && buf[1] == 1 && buf[17] == 4 && buf[8 + 8 + 8 + 3 + 1] == 4,
           "frame_strip_padding: records kept in order, content kept, no padding (%zu bytes)", m);
        reset(1024, 1024 * 1024);
        ok(frame_scan(&fr, buf, m) == FRAME_DONE && fr.end == m,
           "... and the result is still the same request");
    }
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    rec(4, 1, p, 3, 200);
    ok(frame_strip_padding(buf, len - 1) == 8 + 8,
       "frame_strip_padding: a record not yet whole is left out");
    len = 0;
    rec(1, 1, begin_body, 8, 0);
    for (i = 0; i < 20; i++)
        rec(4, 1, p, 1, 255); /* 264 bytes of records for each byte of params */
    reset(1024, 4096);
    ok(frame_scan(&fr, buf, len) == FRAME_BAD && fr.oversize,
       "padding piling up past raw_max: BAD, oversize");
    len = 0;
    rec(2, 1, begin_body, 8, 0); /* an ABORT_REQUEST first: a broken request, of any size */
    reset(1024, 4096);
    r = frame_scan(&fr, buf, len);
    ok(r == FRAME_BAD && !fr.oversize,
       "a broken record within raw_max: BAD, not oversize (%s)", fr.why ? fr.why : "-");
    return done_testing();
}
