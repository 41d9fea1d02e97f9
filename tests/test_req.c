/* test_req.c -- unit tests of req: route, method, resume id and limit from a server's params.
 * Limits of the helpers: a request is at most 8 params, given as a NULL-terminated list of
 * name/value pairs; values are not copied. */
#include "config.h"

#include "req.h"

#include <stdlib.h>
#include <string.h>

#include "tap.h"

struct params {
    const char *kv[17];
};

static const char *get(const char *name, void *ctx)
{
    const struct params *p = ctx;
    int i;

    for (i = 0; p->kv[i]; i += 2)
        if (strcmp(p->kv[i], name) == 0)
            return p->kv[i + 1];
    return NULL;
}

/* Parses a GET of SCRIPT_NAME=script plus the extra pairs. */
static struct req parse(const char *method, const char *script, const char *k1, const char *v1,
                        const char *k2, const char *v2)
{
    struct params p = { { "REQUEST_METHOD", method, "SCRIPT_NAME", script, k1, v1, k2, v2, NULL } };
    struct req r;

    if (!script) {
        /* no SCRIPT_NAME: shift the extra pairs down */
        p.kv[2] = k1;
        p.kv[3] = v1;
        p.kv[4] = k2;
        p.kv[5] = v2;
        p.kv[6] = NULL;
    }
    req_parse(&r, get, &p);
    return r;
}

static struct req get_stream(const char *k1, const char *v1, const char *k2, const char *v2)
{
    return parse("GET", "/stream", k1, v1, k2, v2);
}

static int one_line(const struct req *r)
{
    return r->error && *r->error && !strchr(r->error, '\n');
}

static void bad_id(const char *v)
{
    struct req r = get_stream("HTTP_LAST_EVENT_ID", v, NULL, NULL);
    ok(r.status == 400 && one_line(&r) && strstr(r.error, "Last-Event-ID"),
       "Last-Event-ID '%s': 400 naming the header", v);
}

static void bad_query(const char *q, const char *name)
{
    struct req r = get_stream("QUERY_STRING", q, NULL, NULL);
    ok(r.status == 400 && one_line(&r) && strstr(r.error, name),
       "query '%s': 400 naming %s", q, name);
}

int main(void)
{
    struct req r;
    unsigned long long v = 0;
    char *q, *path;
    size_t i;

    /* routes: the last segment of the path, however the server passes it */
    r = parse("GET", "/stream", NULL, NULL, NULL, NULL);
    ok(r.status == 200 && r.route == REQ_STREAM && !r.head, "SCRIPT_NAME=/stream");
    r = parse("GET", "/app/stream", NULL, NULL, NULL, NULL);
    ok(r.status == 200 && r.route == REQ_STREAM, "SCRIPT_NAME=/app/stream");
    r = parse("GET", "/app", "PATH_INFO", "/stream", NULL, NULL);
    ok(r.status == 200 && r.route == REQ_STREAM, "SCRIPT_NAME=/app PATH_INFO=/stream");
    r = parse("GET", "", "PATH_INFO", "/a/b/stream", NULL, NULL);
    ok(r.status == 200 && r.route == REQ_STREAM, "empty SCRIPT_NAME, PATH_INFO=/a/b/stream");
    r = parse("GET", NULL, "REQUEST_URI", "/x/stream?limit=2", NULL, NULL);
    ok(r.status == 200 && r.route == REQ_STREAM && r.limit == 2,
       "REQUEST_URI only, query taken from it");
    r = parse("GET", NULL, "REQUEST_URI", "/x/st%72eam", NULL, NULL);
    ok(r.status == 200 && r.route == REQ_STREAM, "REQUEST_URI percent-decoded");
    r = parse("GET", NULL, "REQUEST_URI", "/x/st%7geam", NULL, NULL);
    ok(r.status == 414 && one_line(&r), "REQUEST_URI with a bad escape: 414");
    r = parse("GET", NULL, "DOCUMENT_URI", "/y/stream", NULL, NULL);
    ok(r.status == 200 && r.route == REQ_STREAM, "DOCUMENT_URI only");
    r = parse("GET", "/status", NULL, NULL, NULL, NULL);
    ok(r.status == 200 && r.route == REQ_STATUS, "status route");
    r = parse("GET", "/app/status", "QUERY_STRING", "limit=0", NULL, NULL);
    ok(r.status == 200 && r.route == REQ_STATUS, "status ignores stream parameters");
    {
        const char *notfound[] = { "/streams", "/stream/", "/", "/foo", "", "/xstream",
                                   "/stream.php", "/STREAM" };
        for (i = 0; i < sizeof notfound / sizeof notfound[0]; i++) {
            r = parse("GET", notfound[i], NULL, NULL, NULL, NULL);
            ok(r.status == 404 && r.route == REQ_NOT_FOUND && one_line(&r),
               "path '%s': 404", notfound[i]);
        }
    }
    path = malloc(REQ_PATH_MAX + 10);
    memset(path, 'a', REQ_PATH_MAX + 9);
    path[0] = '/';
    strcpy(path + REQ_PATH_MAX + 2, "/stream");
    r = parse("GET", path, NULL, NULL, NULL, NULL);
    ok(r.status == 414 && one_line(&r), "path longer than REQ_PATH_MAX: 414");
    free(path);

    /* methods: the path is checked first */
    r = parse("HEAD", "/stream", NULL, NULL, NULL, NULL);
    ok(r.status == 200 && r.head && r.route == REQ_STREAM, "HEAD");
    r = parse("HEAD", "/status", NULL, NULL, NULL, NULL);
    ok(r.status == 200 && r.head && r.route == REQ_STATUS, "HEAD status");
    {
        const char *bad[] = { "POST", "PUT", "OPTIONS", "DELETE", "get", "" };
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            r = parse(bad[i], "/stream", NULL, NULL, NULL, NULL);
            ok(r.status == 405 && one_line(&r), "method '%s': 405", bad[i]);
        }
    }
    r = parse("POST", "/nothing", NULL, NULL, NULL, NULL);
    ok(r.status == 404, "unknown path with POST: 404 first");

    /* Last-Event-ID */
    r = get_stream("HTTP_LAST_EVENT_ID", "5", NULL, NULL);
    ok(r.status == 200 && r.first_id == 6, "Last-Event-ID 5 resumes at 6");
    r = get_stream("HTTP_LAST_EVENT_ID", "0", NULL, NULL);
    ok(r.status == 200 && r.first_id == 1, "Last-Event-ID 0 resumes at 1");
    r = get_stream("HTTP_LAST_EVENT_ID", "0007", NULL, NULL);
    ok(r.status == 200 && r.first_id == 8, "leading zeros are decimal");
    r = get_stream("HTTP_LAST_EVENT_ID", "9223372036854775806", NULL, NULL);
    ok(r.status == 200 && r.first_id == 9223372036854775807ULL, "largest Last-Event-ID");
    r = get_stream("HTTP_LAST_EVENT_ID", "", NULL, NULL);
    ok(r.status == 200 && r.first_id == 0, "empty Last-Event-ID: no resume");
    r = get_stream(NULL, NULL, NULL, NULL);
    ok(r.status == 200 && r.first_id == 0 && r.limit == 0, "no resume, no limit");
    {
        const char *bad[] = { "9223372036854775807", "18446744073709551615",
                              "18446744073709551616", "99999999999999999999999", "-1", "+1",
                              " 1", "1 ", "1 2", "1a", "0x10", "1.0", "1e3", "\xd9\xa1", "abc" };
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
            bad_id(bad[i]);
    }
    r = get_stream("HTTP_LAST_EVENT_ID", "evil\nid: 1", NULL, NULL);
    ok(r.status == 400 && !strstr(r.error, "evil"), "the error never quotes the input");

    /* query: lastEventId and limit */
    r = get_stream("QUERY_STRING", "lastEventId=5", NULL, NULL);
    ok(r.status == 200 && r.first_id == 6, "lastEventId=5 resumes at 6");
    r = get_stream("QUERY_STRING", "lastEventId=%35", NULL, NULL);
    ok(r.status == 200 && r.first_id == 6, "lastEventId is percent-decoded");
    r = get_stream("QUERY_STRING", "lastEventId=", NULL, NULL);
    ok(r.status == 200 && r.first_id == 0, "empty lastEventId: no resume");
    r = get_stream("QUERY_STRING", "lastEventId", NULL, NULL);
    ok(r.status == 200 && r.first_id == 0, "lastEventId without '=': no resume");
    r = get_stream("QUERY_STRING", "lastEventId=5", "HTTP_LAST_EVENT_ID", "9");
    ok(r.status == 200 && r.first_id == 10, "the header wins over the query");
    r = get_stream("QUERY_STRING", "limit=1", NULL, NULL);
    ok(r.status == 200 && r.limit == 1, "limit=1");
    r = get_stream("QUERY_STRING", "limit=1000000000", NULL, NULL);
    ok(r.status == 200 && r.limit == 1000000000ULL, "limit=10^9");
    r = get_stream("QUERY_STRING", "_=123&foo&bar=%zz&&;limit=3", NULL, NULL);
    ok(r.status == 200 && r.limit == 3, "unknown parameters ignored, even malformed ones");
    r = get_stream("QUERY_STRING", "li%6Dit=4", NULL, NULL);
    ok(r.status == 200 && r.limit == 4, "parameter names are decoded");
    r = get_stream("QUERY_STRING", "limit=2&lastEventId=10", NULL, NULL);
    ok(r.status == 200 && r.limit == 2 && r.first_id == 11, "both parameters");
    bad_query("lastEventId=abc", "lastEventId");
    bad_query("lastEventId=-1", "lastEventId");
    bad_query("lastEventId=9223372036854775807", "lastEventId");
    bad_query("lastEventId=1%00", "lastEventId");
    bad_query("lastEventId=1%0A2", "lastEventId");
    bad_query("lastEventId=1&lastEventId=2", "lastEventId");
    bad_query("lastEventId=%", "lastEventId");
    bad_query("limit=0", "limit");
    bad_query("limit=1000000001", "limit");
    bad_query("limit=", "limit");
    bad_query("limit", "limit");
    bad_query("limit=-1", "limit");
    bad_query("limit=1e3", "limit");
    bad_query("limit=+1", "limit");
    bad_query("limit=%4", "limit");
    bad_query("limit=1&limit=1", "limit");
    bad_query("limit=99999999999999999999999999999999999999", "limit");

    /* thousands of parameters */
    q = malloc(100 * 1024 + 16);
    for (i = 0; i < 25600; i++)
        memcpy(q + i * 4, "a=1&", 4);
    strcpy(q + 25600 * 4, "limit=7");
    r = get_stream("QUERY_STRING", q, NULL, NULL);
    ok(r.status == 200 && r.limit == 7, "25600 parameters, then limit=7");
    free(q);

    /* req_parse_uint */
    ok(req_parse_uint("0", 0, 10, &v) == 0 && v == 0, "uint: 0 in [0,10]");
    ok(req_parse_uint("10", 0, 10, &v) == 0 && v == 10, "uint: max accepted");
    ok(req_parse_uint("11", 0, 10, &v) == -1, "uint: max+1 refused");
    ok(req_parse_uint("4", 5, 10, &v) == -1, "uint: below min refused");
    ok(req_parse_uint("", 0, 10, &v) == -1, "uint: empty refused");
    ok(req_parse_uint("18446744073709551615", 0, ~0ULL, &v) == 0 && v == ~0ULL, "uint: 2^64-1");
    ok(req_parse_uint("18446744073709551616", 0, ~0ULL, &v) == -1, "uint: 2^64 overflows");
    return done_testing();
}
