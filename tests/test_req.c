/* test_req.c -- unit tests of req: route, method, resume id, limit and errors from a server's params */
/* Limits of the helpers: a request is a table of name/value pairs ended by {NULL, NULL}
 * and searched linearly (first match wins); values are neither copied nor decoded; the
 * PARSE macro needs at least one pair. Only the parameters named in each test are set. */
#include "config.h"

#include "req.h"

#include <stdlib.h>
#include <string.h>

#include "tap.h"

struct param {
    const char *name;
    const char *value;
};

/* The req_param_fn: looks name up in a {NULL, NULL}-terminated table. */
static const char *getter(const char *name, void *ctx)
{
    const struct param *p = ctx;

    for (; p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p->value;
    return NULL;
}

static void parse_table(struct req *r, const struct param *table)
{
    req_parse(r, getter, (void *)table);
}

#define PARSE(r, ...) parse_table((r), (const struct param[]){ __VA_ARGS__, { NULL, NULL } })
/* A GET of SCRIPT_NAME=/stream plus the given pairs. */
#define GET_STREAM(r, ...) \
    PARSE((r), { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", "/stream" }, __VA_ARGS__)

/* The error contract: a non-empty single line that does not quote `forbidden`. */
static int sane_error(const struct req *r, const char *forbidden)
{
    return r->error && r->error[0] && !strchr(r->error, '\n') && !strchr(r->error, '\r') &&
           (!forbidden || !strstr(r->error, forbidden));
}

static void expect_stream(const char *name, const struct req *r, unsigned long long first_id,
                          unsigned long long limit)
{
    ok(r->status == 200 && r->route == REQ_STREAM && !r->head && r->first_id == first_id &&
           r->limit == limit,
       "%s: 200 stream, first_id %llu, limit %llu (got status %d, route %d, first_id %llu, "
       "limit %llu)",
       name, first_id, limit, r->status, (int)r->route, r->first_id, r->limit);
}

static void expect_error(const char *name, const struct req *r, int status, const char *forbidden)
{
    ok(r->status == status && sane_error(r, forbidden),
       "%s: %d with a one-line reason%s%s (got %d)", name, status,
       forbidden ? " not quoting " : "", forbidden ? forbidden : "", r->status);
}

/* A string of n copies of c between prefix and suffix; the caller frees it. */
static char *filled(const char *prefix, char c, size_t n, const char *suffix)
{
    size_t lp = strlen(prefix), ls = strlen(suffix);
    char *s = malloc(lp + n + ls + 1);

    if (!s)
        abort();
    memcpy(s, prefix, lp);
    memset(s + lp, c, n);
    memcpy(s + lp + n, suffix, ls + 1);
    return s;
}

int main(void)
{
    struct req r;
    unsigned long long v;
    size_t i;
    char *s, *s2;

    /* ---- routes: the last path segment, however the server passes the path */
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", "/stream" });
    expect_stream("SCRIPT_NAME=/stream", &r, 0, 0);
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", "/app/stream" });
    expect_stream("SCRIPT_NAME=/app/stream", &r, 0, 0);
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", "/app" }, { "PATH_INFO", "/stream" });
    expect_stream("SCRIPT_NAME=/app + PATH_INFO=/stream (lighttpd/Apache)", &r, 0, 0);
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", "" }, { "PATH_INFO", "/a/stream" });
    expect_stream("empty SCRIPT_NAME + PATH_INFO=/a/stream", &r, 0, 0);
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "REQUEST_URI", "/x/stream?limit=2" });
    expect_stream("only REQUEST_URI=/x/stream?limit=2 (nginx-like)", &r, 0, 2);
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "REQUEST_URI", "/x/st%72eam" });
    expect_stream("only REQUEST_URI=/x/st%72eam (percent-decoded)", &r, 0, 0);
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "REQUEST_URI", "/x/st%72eam?limit=4" },
          { "QUERY_STRING", "limit=4" });
    expect_stream("REQUEST_URI with QUERY_STRING", &r, 0, 4);
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "DOCUMENT_URI", "/y/stream" });
    expect_stream("only DOCUMENT_URI=/y/stream", &r, 0, 0);
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", "/app/status" },
          { "REQUEST_URI", "/app/stream" });
    ok(r.status == 200 && r.route == REQ_STATUS,
       "SCRIPT_NAME is preferred over REQUEST_URI");
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "REQUEST_URI", "/app/status" },
          { "DOCUMENT_URI", "/app/stream" });
    ok(r.status == 200 && r.route == REQ_STATUS,
       "REQUEST_URI is preferred over DOCUMENT_URI");
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", "/status" });
    ok(r.status == 200 && r.route == REQ_STATUS && !r.head, "SCRIPT_NAME=/status: status route");
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", "/a/b" }, { "PATH_INFO", "/status" });
    ok(r.status == 200 && r.route == REQ_STATUS, "PATH_INFO=/status: status route");
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "REQUEST_URI", "/x/status?x=1" });
    ok(r.status == 200 && r.route == REQ_STATUS, "REQUEST_URI=/x/status?x=1: status route");
    {
        static const char *notfound[] = { "/streams", "/stream/", "/", "/foo", "/xstream",
                                          "/stream.php", "/STREAM", "/stream/x", "/statuss" };
        for (i = 0; i < sizeof notfound / sizeof notfound[0]; i++) {
            char name[64];
            PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", notfound[i] });
            snprintf(name, sizeof name, "SCRIPT_NAME=%s", notfound[i]);
            ok(r.route == REQ_NOT_FOUND, "%s: route REQ_NOT_FOUND", name);
            expect_error(name, &r, 404, NULL);
        }
    }
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "REQUEST_URI", "/x/streams?limit=2" });
    expect_error("REQUEST_URI=/x/streams", &r, 404, NULL);
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "REQUEST_URI", "/x/stream/" });
    expect_error("REQUEST_URI=/x/stream/", &r, 404, NULL);
    PARSE(&r, { "REQUEST_METHOD", "GET" });
    expect_error("no path parameter at all", &r, 404, NULL);
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", "/evil" });
    expect_error("SCRIPT_NAME=/evil", &r, 404, "evil");
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "REQUEST_URI", "/x/st%7geam" });
    /* the one status the module documents for a path it cannot decode */
    expect_error("REQUEST_URI with a bad escape", &r, 414, "%7g");

    /* ---- path length */
    s = filled("/", 'a', REQ_PATH_MAX + 10, "/stream");
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", s });
    expect_error("SCRIPT_NAME longer than REQ_PATH_MAX", &r, 414, "aaaa");
    free(s);
    s = filled("/", 'a', REQ_PATH_MAX / 2 + 10, "");
    s2 = filled("/", 'b', REQ_PATH_MAX / 2 + 10, "/stream");
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", s }, { "PATH_INFO", s2 });
    expect_error("SCRIPT_NAME + PATH_INFO longer than REQ_PATH_MAX", &r, 414, "aaaa");
    free(s2);
    free(s);
    s = filled("/", 'a', REQ_PATH_MAX + 10, "/stream?limit=1");
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "REQUEST_URI", s });
    expect_error("REQUEST_URI path longer than REQ_PATH_MAX", &r, 414, "aaaa");
    free(s);
    s = filled("/", 'a', REQ_PATH_MAX + 10, "/stream");
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "DOCUMENT_URI", s });
    expect_error("DOCUMENT_URI longer than REQ_PATH_MAX", &r, 414, "aaaa");
    free(s);
    /* 1 + (REQ_PATH_MAX - 9) + 7 = REQ_PATH_MAX - 1 bytes: within the limit */
    s = filled("/", 'a', REQ_PATH_MAX - 9, "/stream");
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", s });
    expect_stream("SCRIPT_NAME of REQ_PATH_MAX - 1 bytes", &r, 0, 0);
    free(s);

    /* ---- methods: GET and HEAD; the path is checked first */
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", "/stream" });
    ok(r.status == 200 && !r.head, "GET: 200, head 0");
    PARSE(&r, { "REQUEST_METHOD", "HEAD" }, { "SCRIPT_NAME", "/stream" });
    ok(r.status == 200 && r.head && r.route == REQ_STREAM, "HEAD /stream: 200, head 1");
    PARSE(&r, { "REQUEST_METHOD", "HEAD" }, { "SCRIPT_NAME", "/status" });
    ok(r.status == 200 && r.head && r.route == REQ_STATUS, "HEAD /status: 200, head 1");
    {
        static const char *bad[] = { "POST", "PUT", "OPTIONS", "DELETE", "PATCH" };
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char name[64];
            PARSE(&r, { "REQUEST_METHOD", bad[i] }, { "SCRIPT_NAME", "/stream" });
            snprintf(name, sizeof name, "%s /stream", bad[i]);
            expect_error(name, &r, 405, NULL);
        }
    }
    PARSE(&r, { "REQUEST_METHOD", "POST" }, { "SCRIPT_NAME", "/status" });
    expect_error("POST /status", &r, 405, NULL);
    PARSE(&r, { "REQUEST_METHOD", "EVIL" }, { "SCRIPT_NAME", "/stream" });
    expect_error("method EVIL", &r, 405, "EVIL");
    PARSE(&r, { "REQUEST_METHOD", "POST" }, { "SCRIPT_NAME", "/foo" });
    expect_error("POST to an unknown path: 404, the path is checked first", &r, 404, NULL);

    /* ---- Last-Event-ID header */
    GET_STREAM(&r, { "HTTP_LAST_EVENT_ID", "5" });
    expect_stream("Last-Event-ID 5", &r, 6, 0);
    GET_STREAM(&r, { "HTTP_LAST_EVENT_ID", "0" });
    expect_stream("Last-Event-ID 0", &r, 1, 0);
    GET_STREAM(&r, { "HTTP_LAST_EVENT_ID", "9223372036854775806" });
    expect_stream("Last-Event-ID 9223372036854775806 (the maximum)", &r, 9223372036854775807ULL,
                  0);
    GET_STREAM(&r, { "HTTP_LAST_EVENT_ID", "" });
    expect_stream("empty Last-Event-ID: no resume", &r, 0, 0);
    GET_STREAM(&r, { "HTTP_ACCEPT", "text/event-stream" });
    expect_stream("no Last-Event-ID, no query", &r, 0, 0);
    {
        static const char *bad[] = { "9223372036854775807", "18446744073709551615",
                                     "18446744073709551616", "99999999999999999999999999",
                                     "-1", "+1", " 1", "1 ", "1a", "0x10", "1.0", "1e3",
                                     "%35", "abc", "\t1" };
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char name[96];
            GET_STREAM(&r, { "HTTP_LAST_EVENT_ID", bad[i] });
            snprintf(name, sizeof name, "Last-Event-ID \"%s\"", bad[i]);
            expect_error(name, &r, 400, NULL);
        }
    }
    GET_STREAM(&r, { "HTTP_LAST_EVENT_ID", "evil" });
    expect_error("Last-Event-ID \"evil\"", &r, 400, "evil");
    GET_STREAM(&r, { "HTTP_LAST_EVENT_ID", "1\nevil" });
    expect_error("Last-Event-ID with a line break", &r, 400, "evil");

    /* ---- query: lastEventId */
    GET_STREAM(&r, { "QUERY_STRING", "lastEventId=5" });
    expect_stream("lastEventId=5", &r, 6, 0);
    GET_STREAM(&r, { "QUERY_STRING", "lastEventId=" });
    expect_stream("lastEventId= (empty): no resume", &r, 0, 0);
    GET_STREAM(&r, { "QUERY_STRING", "lastEventId=%35" });
    expect_stream("lastEventId=%35 (decoded)", &r, 6, 0);
    GET_STREAM(&r, { "QUERY_STRING", "lastEventId=9223372036854775806" });
    expect_stream("lastEventId at the maximum", &r, 9223372036854775807ULL, 0);
    GET_STREAM(&r, { "QUERY_STRING", "lastEventId=5" }, { "HTTP_LAST_EVENT_ID", "9" });
    expect_stream("header 9 wins over query lastEventId=5", &r, 10, 0);
    GET_STREAM(&r, { "QUERY_STRING", "lastEventId=abc" });
    expect_error("lastEventId=abc", &r, 400, "abc");
    GET_STREAM(&r, { "QUERY_STRING", "lastEventId=evil" });
    expect_error("lastEventId=evil", &r, 400, "evil");
    GET_STREAM(&r, { "QUERY_STRING", "lastEventId=1%002" });
    expect_error("lastEventId with an embedded %00", &r, 400, NULL);
    GET_STREAM(&r, { "QUERY_STRING", "lastEventId=9223372036854775807" });
    expect_error("lastEventId=9223372036854775807", &r, 400, NULL);
    GET_STREAM(&r, { "QUERY_STRING", "lastEventId=-1" });
    expect_error("lastEventId=-1", &r, 400, NULL);
    GET_STREAM(&r, { "QUERY_STRING", "lastEventId=1&lastEventId=2" });
    expect_error("lastEventId given twice", &r, 400, NULL);

    /* ---- query: limit */
    GET_STREAM(&r, { "QUERY_STRING", "limit=1" });
    expect_stream("limit=1", &r, 0, 1);
    GET_STREAM(&r, { "QUERY_STRING", "limit=1000000000" });
    expect_stream("limit=1000000000 (the maximum)", &r, 0, REQ_LIMIT_MAX);
    GET_STREAM(&r, { "QUERY_STRING", "limit=%31%30" });
    expect_stream("limit=%31%30 (decoded)", &r, 0, 10);
    GET_STREAM(&r, { "QUERY_STRING", "limit=2&lastEventId=10" });
    expect_stream("limit=2&lastEventId=10", &r, 11, 2);
    {
        static const char *bad[] = { "limit=0", "limit=1000000001", "limit=", "limit=-1",
                                     "limit=1e3", "limit=+1", "limit=%2B1", "limit=%4",
                                     "limit=%", "limit=1%00", "limit= 1",
                                     "limit=99999999999999999999999999999999",
                                     "limit=1&limit=1", "limit=2&limit=3" };
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char name[96];
            GET_STREAM(&r, { "QUERY_STRING", bad[i] });
            snprintf(name, sizeof name, "query \"%s\"", bad[i]);
            expect_error(name, &r, 400, NULL);
        }
    }
    GET_STREAM(&r, { "QUERY_STRING", "limit=evil" });
    expect_error("limit=evil", &r, 400, "evil");
    GET_STREAM(&r, { "QUERY_STRING", "_=123&foo&bar=%zz&limit=3" });
    expect_stream("unknown parameters ignored (_=123&foo&bar=%zz&limit=3)", &r, 0, 3);
    GET_STREAM(&r, { "QUERY_STRING", "" });
    expect_stream("empty QUERY_STRING", &r, 0, 0);

    /* thousands of parameters: 100 KB of "a=1&", then limit=7 */
    s = malloc(25600 * 4 + 16);
    if (!s)
        abort();
    for (i = 0; i < 25600; i++)
        memcpy(s + i * 4, "a=1&", 4);
    strcpy(s + 25600 * 4, "limit=7");
    GET_STREAM(&r, { "QUERY_STRING", s });
    expect_stream("25600 parameters (100 KB) then limit=7", &r, 0, 7);
    /* the same query in REQUEST_URI only: the path stays short */
    s2 = malloc(strlen(s) + 16);
    if (!s2)
        abort();
    strcpy(s2, "/x/stream?");
    strcat(s2, s);
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "REQUEST_URI", s2 });
    expect_stream("REQUEST_URI with a 100 KB query then limit=7", &r, 0, 7);
    free(s2);
    free(s);

    /* ---- req_parse_uint */
    v = 12345;
    ok(req_parse_uint("0", 0, 10, &v) == 0 && v == 0, "req_parse_uint: 0 in [0,10]");
    ok(req_parse_uint("10", 0, 10, &v) == 0 && v == 10, "req_parse_uint: max 10 in [0,10]");
    ok(req_parse_uint("11", 0, 10, &v) == -1, "req_parse_uint: 11 above [0,10] refused");
    ok(req_parse_uint("5", 5, 10, &v) == 0 && v == 5, "req_parse_uint: min 5 in [5,10]");
    ok(req_parse_uint("4", 5, 10, &v) == -1, "req_parse_uint: 4 below [5,10] refused");
    ok(req_parse_uint("7", 7, 7, &v) == 0 && v == 7, "req_parse_uint: min == max accepted");
    /* a single digit above a max below 9 (max - digit must not wrap around) */
    ok(req_parse_uint("1", 0, 0, &v) == -1, "req_parse_uint: 1 above [0,0] refused");
    ok(req_parse_uint("9", 0, 5, &v) == -1, "req_parse_uint: 9 above [0,5] refused");
    ok(req_parse_uint("5", 0, 5, &v) == 0 && v == 5, "req_parse_uint: 5 in [0,5]");
    ok(req_parse_uint("0005", 0, 10, &v) == 0 && v == 5, "req_parse_uint: leading zeros");
    ok(req_parse_uint("", 0, 10, &v) == -1, "req_parse_uint: empty string refused");
    ok(req_parse_uint("18446744073709551615", 0, 18446744073709551615ULL, &v) == 0 &&
           v == 18446744073709551615ULL,
       "req_parse_uint: 2^64-1 with max 2^64-1");
    ok(req_parse_uint("18446744073709551616", 0, 18446744073709551615ULL, &v) == -1,
       "req_parse_uint: 2^64 overflows, refused");
    ok(req_parse_uint("184467440737095516150", 0, 18446744073709551615ULL, &v) == -1,
       "req_parse_uint: 2^64-1 times 10 refused");
    ok(req_parse_uint("100000000000000000000", 0, 18446744073709551615ULL, &v) == -1,
       "req_parse_uint: 10^20 refused");
    ok(req_parse_uint("9223372036854775806", 0, REQ_LAST_ID_MAX, &v) == 0 &&
           v == REQ_LAST_ID_MAX,
       "req_parse_uint: REQ_LAST_ID_MAX accepted");
    ok(req_parse_uint("9223372036854775807", 0, REQ_LAST_ID_MAX, &v) == -1,
       "req_parse_uint: REQ_LAST_ID_MAX + 1 refused");
    {
        static const char *bad[] = { "-1", "+1", " 1", "1 ", "1a", "0x10", "1.0", "a" };
        int all = 1;
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
            if (req_parse_uint(bad[i], 0, 100, &v) != -1) {
                diag("req_parse_uint accepted \"%s\"", bad[i]);
                all = 0;
            }
        ok(all, "req_parse_uint: sign, space, hex, fraction and letters refused");
    }
    return done_testing();
}
