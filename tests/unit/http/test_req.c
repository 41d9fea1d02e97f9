/* test_req.c -- unit tests of req: route, method, resume id, limit and errors from a server's params */
/* Limits of the helpers: a request is a table of name/value pairs ended by {NULL, NULL}
 * and searched linearly (first match wins); values are neither copied nor decoded; the
 * PARSE macro needs at least one pair. Only the parameters named in each test are set. */
#include "config.h"

#include "core/text.h"
#include "http/req.h"

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

/* A GET of SCRIPT_NAME=/app/events, a POST of SCRIPT_NAME=/app/publish, plus the given pairs. */
#define GET_EVENTS(r, ...) \
    PARSE((r), { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", "/app/events" }, __VA_ARGS__)
#define POST_PUBLISH(r, ...) \
    PARSE((r), { "REQUEST_METHOD", "POST" }, { "SCRIPT_NAME", "/app/publish" }, __VA_ARGS__)

/* 200 on route with exactly the channels c1 (and c2 if not NULL), in that order. */
static void expect_chans(const char *name, const struct req *r, enum req_route route,
                         const char *c1, const char *c2)
{
    unsigned n = c2 ? 2 : 1;

    ok(r->status == 200 && !r->error && r->route == route && r->nchan == n &&
           strcmp(r->chans[0], c1) == 0 && (!c2 || strcmp(r->chans[1], c2) == 0),
       "%s: 200, route %d, channels %s%s%s (got status %d, route %d, %u channels, first \"%s\")",
       name, (int)route, c1, c2 ? ", " : "", c2 ? c2 : "", r->status, (int)r->route, r->nchan,
       r->nchan ? r->chans[0] : "");
}

/* 400 with a one-line reason that names channel= and does not quote forbidden. */
static void expect_chan_error(const char *name, const struct req *r, const char *forbidden)
{
    ok(r->status == 400 && sane_error(r, forbidden) && strstr(r->error, "channel") != NULL,
       "%s: 400 naming channel, not quoting %s (got %d, \"%s\")", name, forbidden, r->status,
       r->error ? r->error : "");
}

/* 200 events with have_last and, when it is set, the id ms-seq. */
static void expect_last(const char *name, const struct req *r, int have, unsigned long long ms,
                        unsigned long long seq)
{
    ok(r->status == 200 && r->route == REQ_EVENTS && r->have_last == have &&
           (!have || (r->last.ms == ms && r->last.seq == seq)),
       "%s: 200, have_last %d, id %llu-%llu (got %d, %d, %llu-%llu)", name, have, ms, seq,
       r->status, r->have_last, r->last.ms, r->last.seq);
}

int main(void)
{
    struct req r;
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

    /* ---- channels: .../events (GET, HEAD) and .../publish (POST) under any prefix */
    GET_EVENTS(&r, { "QUERY_STRING", "channel=a" });
    expect_chans("GET /app/events?channel=a", &r, REQ_EVENTS, "a", NULL);
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", "/events" },
          { "QUERY_STRING", "channel=a" });
    expect_chans("SCRIPT_NAME=/events", &r, REQ_EVENTS, "a", NULL);
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", "/app" }, { "PATH_INFO", "/events" },
          { "QUERY_STRING", "channel=a" });
    expect_chans("SCRIPT_NAME=/app + PATH_INFO=/events", &r, REQ_EVENTS, "a", NULL);
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "REQUEST_URI", "/x/y/events?channel=a" });
    expect_chans("only REQUEST_URI=/x/y/events?channel=a", &r, REQ_EVENTS, "a", NULL);
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "REQUEST_URI", "/x/ev%65nts?channel=b" });
    expect_chans("only REQUEST_URI=/x/ev%65nts (percent-decoded)", &r, REQ_EVENTS, "b", NULL);
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "DOCUMENT_URI", "/y/events" },
          { "QUERY_STRING", "channel=a" });
    expect_chans("DOCUMENT_URI=/y/events", &r, REQ_EVENTS, "a", NULL);
    POST_PUBLISH(&r, { "QUERY_STRING", "channel=a" });
    expect_chans("POST /app/publish?channel=a", &r, REQ_PUBLISH, "a", NULL);
    ok(r.event[0] == '\0' && !r.head, "publish without event=: event \"\"");
    PARSE(&r, { "REQUEST_METHOD", "POST" }, { "SCRIPT_NAME", "/publish" },
          { "QUERY_STRING", "channel=a" });
    expect_chans("SCRIPT_NAME=/publish", &r, REQ_PUBLISH, "a", NULL);
    PARSE(&r, { "REQUEST_METHOD", "POST" }, { "SCRIPT_NAME", "/a/b" }, { "PATH_INFO", "/publish" },
          { "QUERY_STRING", "channel=a" });
    expect_chans("SCRIPT_NAME=/a/b + PATH_INFO=/publish", &r, REQ_PUBLISH, "a", NULL);
    PARSE(&r, { "REQUEST_METHOD", "POST" }, { "REQUEST_URI", "/x/publish?channel=q&event=e" });
    expect_chans("only REQUEST_URI=/x/publish?channel=q&event=e", &r, REQ_PUBLISH, "q", NULL);
    ok(strcmp(r.event, "e") == 0, "... event \"e\" from REQUEST_URI's query");
    {
        static const char *notfound[] = { "/eventss", "/events/", "/event", "/Events",
                                          "/publish/", "/publishx", "/PUBLISH", "/events/x",
                                          "/publish.php" };
        for (i = 0; i < sizeof notfound / sizeof notfound[0]; i++) {
            char name[64];
            PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", notfound[i] },
                  { "QUERY_STRING", "channel=a" });
            snprintf(name, sizeof name, "GET SCRIPT_NAME=%s", notfound[i]);
            expect_error(name, &r, 404, NULL);
            PARSE(&r, { "REQUEST_METHOD", "POST" }, { "SCRIPT_NAME", notfound[i] },
                  { "QUERY_STRING", "channel=a" });
            snprintf(name, sizeof name, "POST SCRIPT_NAME=%s", notfound[i]);
            expect_error(name, &r, 404, NULL);
        }
    }

    /* ---- methods of the channel routes */
    GET_EVENTS(&r, { "QUERY_STRING", "channel=a" });
    ok(r.status == 200 && !r.head, "GET /events: 200, head 0");
    PARSE(&r, { "REQUEST_METHOD", "HEAD" }, { "SCRIPT_NAME", "/events" },
          { "QUERY_STRING", "channel=a" });
    ok(r.status == 200 && r.head && r.route == REQ_EVENTS, "HEAD /events: 200, head 1");
    {
        static const char *bad[] = { "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get", "" };
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char name[64];
            PARSE(&r, { "REQUEST_METHOD", bad[i] }, { "SCRIPT_NAME", "/events" },
                  { "QUERY_STRING", "channel=a" });
            snprintf(name, sizeof name, "method \"%s\" on /events", bad[i]);
            expect_error(name, &r, 405, NULL);
            ok(r.allow && strcmp(r.allow, "GET, HEAD") == 0, "%s: allow \"GET, HEAD\"", name);
        }
    }
    {
        static const char *badp[] = { "GET", "HEAD", "PUT", "DELETE", "OPTIONS", "post", "" };
        for (i = 0; i < sizeof badp / sizeof badp[0]; i++) {
            char name[64];
            PARSE(&r, { "REQUEST_METHOD", badp[i] }, { "SCRIPT_NAME", "/publish" },
                  { "QUERY_STRING", "channel=a" });
            snprintf(name, sizeof name, "method \"%s\" on /publish", badp[i]);
            expect_error(name, &r, 405, NULL);
            ok(r.allow && strcmp(r.allow, "POST") == 0 && !r.head, "%s: allow \"POST\", head 0",
               name);
        }
    }
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", "/publish" });
    expect_error("GET /publish without a channel: the method is checked first", &r, 405, NULL);
    PARSE(&r, { "REQUEST_METHOD", "POST" }, { "SCRIPT_NAME", "/events" },
          { "QUERY_STRING", "channel=bad/name" });
    expect_error("POST /events with a bad channel: the method is checked first", &r, 405, NULL);
    PARSE(&r, { "REQUEST_METHOD", "EVIL" }, { "SCRIPT_NAME", "/publish" });
    expect_error("method EVIL on /publish", &r, 405, "EVIL");
    PARSE(&r, { "REQUEST_METHOD", "POST" }, { "SCRIPT_NAME", "/stream" });
    ok(r.status == 405 && r.allow && strcmp(r.allow, "GET, HEAD") == 0,
       "POST /stream: 405, allow \"GET, HEAD\"");
    ok(r.nchan == 0, "... no channel parsed");

    /* ---- channel= */
    GET_EVENTS(&r, { "QUERY_STRING", "channel=a&channel=b&channel=a&channel=b" });
    expect_chans("channel=a&channel=b&channel=a&channel=b: repeats counted once, in order", &r,
                 REQ_EVENTS, "a", "b");
    GET_EVENTS(&r, { "QUERY_STRING", "channel=b;channel=a" });
    expect_chans("channel=b;channel=a (';' separates too)", &r, REQ_EVENTS, "b", "a");
    GET_EVENTS(&r, { "QUERY_STRING", "channel=a%3Ab&channel=x.y_z-1" });
    expect_chans("channel=a%3Ab (decoded) and x.y_z-1", &r, REQ_EVENTS, "a:b", "x.y_z-1");
    GET_EVENTS(&r, { "QUERY_STRING", "_=1&foo&bar=%zz&channel=a&limit=zz" });
    expect_chans("unknown parameters ignored (limit= too)", &r, REQ_EVENTS, "a", NULL);
    {
        char q[2048];
        size_t o = 0;
        for (i = 0; i < 16; i++)
            o += (size_t)snprintf(q + o, sizeof q - o, "%schannel=c%zu", i ? "&" : "", i);
        GET_EVENTS(&r, { "QUERY_STRING", q });
        ok(r.status == 200 && r.nchan == 16 && strcmp(r.chans[0], "c0") == 0 &&
               strcmp(r.chans[15], "c15") == 0,
           "16 channels: 200, all 16 in order (got %d, %u)", r.status, r.nchan);
        snprintf(q + o, sizeof q - o, "&channel=c0&channel=c15&channel=c7");
        GET_EVENTS(&r, { "QUERY_STRING", q });
        ok(r.status == 200 && r.nchan == 16,
           "16 channels then 3 repeats: 200, 16 (got %d, %u)", r.status, r.nchan);
        snprintf(q + o, sizeof q - o, "&channel=c16");
        GET_EVENTS(&r, { "QUERY_STRING", q });
        expect_error("17 channels", &r, 400, NULL);
        ok(r.error && strstr(r.error, "more than 16") != NULL,
           "17 channels: the reason says \"more than 16\" (got \"%s\")", r.error ? r.error : "");
        ok(r.nchan == 16, "17 channels: the array holds at most 16");
    }
    s = filled("channel=", 'a', REQ_CHANNEL_MAX, "");
    GET_EVENTS(&r, { "QUERY_STRING", s });
    ok(r.status == 200 && r.nchan == 1 && strlen(r.chans[0]) == REQ_CHANNEL_MAX,
       "a 128-byte channel name: 200 (got %d)", r.status);
    free(s);
    s = filled("channel=", 'a', REQ_CHANNEL_MAX + 1, "");
    GET_EVENTS(&r, { "QUERY_STRING", s });
    expect_chan_error("a 129-byte channel name", &r, "aaaa");
    free(s);
    s = filled("channel=", 'a', 5000, "");
    GET_EVENTS(&r, { "QUERY_STRING", s });
    expect_chan_error("a 5000-byte channel name", &r, "aaaa");
    free(s);
    {
        static const char *bad[] = { "channel=", "channel", "channel=a%2Fevil", "channel=a/evil",
                                     "channel=a+evil", "channel=a%20evil", "channel=evil%00",
                                     "channel=evil%zz", "channel=evil%", "channel=caf%C3%A9evil",
                                     "channel=%FFevil", "channel=evil*", "channel=evil%0A",
                                     "channel=a&channel=evil!", "channel=evil!&channel=a" };
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char name[96];
            snprintf(name, sizeof name, "events \"%s\"", bad[i]);
            GET_EVENTS(&r, { "QUERY_STRING", bad[i] });
            expect_chan_error(name, &r, "evil");
            snprintf(name, sizeof name, "publish \"%s\"", bad[i]);
            POST_PUBLISH(&r, { "QUERY_STRING", bad[i] });
            expect_chan_error(name, &r, "evil");
        }
    }
    GET_EVENTS(&r, { "QUERY_STRING", "" });
    expect_error("events without channel=", &r, 400, NULL);
    ok(r.error && strstr(r.error, "channel") != NULL, "... the reason names channel");
    GET_EVENTS(&r, { "QUERY_STRING", "lastEventId=1-2&foo=bar" });
    expect_error("events with other parameters but no channel=", &r, 400, NULL);
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", "/events" });
    expect_error("events without any query", &r, 400, NULL);
    POST_PUBLISH(&r, { "QUERY_STRING", "event=x" });
    expect_error("publish without channel=", &r, 400, NULL);
    ok(r.error && strstr(r.error, "channel") != NULL, "... the reason names channel");
    POST_PUBLISH(&r, { "QUERY_STRING", "channel=a&channel=a" });
    expect_chans("publish channel=a twice: one channel", &r, REQ_PUBLISH, "a", NULL);
    POST_PUBLISH(&r, { "QUERY_STRING", "channel=a&channel=b" });
    expect_error("publish to two channels", &r, 400, NULL);
    ok(r.error && strstr(r.error, "one channel") != NULL,
       "... the reason says \"one channel\" (got \"%s\")", r.error ? r.error : "");

    /* ---- event= (publish only) */
    POST_PUBLISH(&r, { "QUERY_STRING", "channel=a&event=up.date:1_x-y" });
    ok(r.status == 200 && strcmp(r.event, "up.date:1_x-y") == 0, "event=up.date:1_x-y kept");
    s = filled("channel=a&event=", 'e', REQ_EVENT_MAX, "");
    POST_PUBLISH(&r, { "QUERY_STRING", s });
    ok(r.status == 200 && strlen(r.event) == REQ_EVENT_MAX, "a 64-byte event type: 200 (got %d)",
       r.status);
    free(s);
    s = filled("channel=a&event=", 'e', REQ_EVENT_MAX + 1, "");
    POST_PUBLISH(&r, { "QUERY_STRING", s });
    expect_error("a 65-byte event type", &r, 400, "eeee");
    ok(r.error && strstr(r.error, "event") != NULL, "... the reason names event");
    free(s);
    {
        static const char *bad[] = { "channel=a&event=", "channel=a&event", "channel=a&event=ev/il",
                                     "channel=a&event=ev+il", "channel=a&event=evil%0Adata",
                                     "channel=a&event=evil%00", "channel=a&event=%zzevil",
                                     "event=evil%0D&channel=a" };
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char name[96];
            snprintf(name, sizeof name, "publish \"%s\"", bad[i]);
            POST_PUBLISH(&r, { "QUERY_STRING", bad[i] });
            expect_error(name, &r, 400, "evil");
            ok(r.error && strstr(r.error, "event") != NULL, "%s: the reason names event", name);
        }
    }
    POST_PUBLISH(&r, { "QUERY_STRING", "channel=a&event=x&event=x" });
    expect_error("event= given twice", &r, 400, NULL);
    GET_EVENTS(&r, { "QUERY_STRING", "channel=a&event=bad/type" });
    expect_chans("event= on events is ignored", &r, REQ_EVENTS, "a", NULL);
    ok(r.event[0] == '\0', "... and not stored");

    /* ---- resume on events: MS-SEQ ids; the header wins */
    GET_EVENTS(&r, { "QUERY_STRING", "channel=a&lastEventId=1700000000000-3" });
    expect_last("lastEventId=1700000000000-3", &r, 1, 1700000000000ULL, 3);
    GET_EVENTS(&r, { "QUERY_STRING", "channel=a&lastEventId=0-0" });
    expect_last("lastEventId=0-0", &r, 1, 0, 0);
    GET_EVENTS(&r, { "QUERY_STRING", "channel=a&lastEventId=5%2D7" });
    expect_last("lastEventId=5%2D7 (decoded)", &r, 1, 5, 7);
    GET_EVENTS(&r, { "QUERY_STRING", "channel=a&lastEventId=" });
    expect_last("lastEventId= (empty): no resume", &r, 0, 0, 0);
    GET_EVENTS(&r, { "QUERY_STRING", "channel=a" });
    expect_last("no id at all: no resume", &r, 0, 0, 0);
    GET_EVENTS(&r, { "QUERY_STRING", "channel=a" }, { "HTTP_LAST_EVENT_ID", "9-8" });
    expect_last("Last-Event-ID 9-8", &r, 1, 9, 8);
    GET_EVENTS(&r, { "QUERY_STRING", "channel=a&lastEventId=3-1" },
               { "HTTP_LAST_EVENT_ID", "5-1" });
    expect_last("header 5-1 wins over lastEventId=3-1", &r, 1, 5, 1);
    GET_EVENTS(&r, { "QUERY_STRING", "lastEventId=3-1&channel=a" },
               { "HTTP_LAST_EVENT_ID", "" });
    expect_last("empty header: lastEventId=3-1 is used", &r, 1, 3, 1);
    GET_EVENTS(&r, { "QUERY_STRING", "channel=a&lastEventId=9223372036854775807-9223372036854775807" });
    expect_last("lastEventId at the largest id", &r, 1, 9223372036854775807ULL,
                9223372036854775807ULL);
    GET_EVENTS(&r, { "QUERY_STRING", "channel=a" }, { "HTTP_LAST_EVENT_ID", "41" });
    expect_error("Last-Event-ID 41 (the counter's form) on events", &r, 400, NULL);
    ok(r.error && strstr(r.error, "MS-SEQ") != NULL, "... the reason names the MS-SEQ form");
    GET_EVENTS(&r, { "QUERY_STRING", "channel=a&lastEventId=3-1" }, { "HTTP_LAST_EVENT_ID", "41" });
    expect_error("a bad header with a good lastEventId: 400 (the header wins)", &r, 400, NULL);
    GET_EVENTS(&r, { "QUERY_STRING", "channel=a&lastEventId=41" });
    expect_error("lastEventId=41 on events", &r, 400, NULL);
    {
        static const char *bad[] = { "evil", "1-evil", "evil-1", "1-2-evil", " 1-2evil",
                                     "1-2 evil", "-evil", "1-\nevil", "+1-2evil",
                                     "9223372036854775808-0evil", "1_2evil" };
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char name[96], q[96];
            char shown[32];
            size_t k;
            for (k = 0; bad[i][k] && k + 1 < sizeof shown; k++)
                shown[k] = bad[i][k] == '\n' ? '?' : bad[i][k];
            shown[k] = '\0';
            snprintf(name, sizeof name, "Last-Event-ID \"%s\" on events", shown);
            GET_EVENTS(&r, { "QUERY_STRING", "channel=a" }, { "HTTP_LAST_EVENT_ID", bad[i] });
            expect_error(name, &r, 400, "evil");
            snprintf(q, sizeof q, "channel=a&lastEventId=%s", bad[i]);
            snprintf(name, sizeof name, "lastEventId \"%s\" on events", shown);
            GET_EVENTS(&r, { "QUERY_STRING", q });
            expect_error(name, &r, 400, "evil");
        }
    }
    GET_EVENTS(&r, { "QUERY_STRING", "channel=a&lastEventId=1-2&lastEventId=1-2" });
    expect_error("lastEventId given twice on events", &r, 400, NULL);
    GET_EVENTS(&r, { "QUERY_STRING", "channel=evil/&lastEventId=1-2" },
               { "HTTP_LAST_EVENT_ID", "evil" });
    expect_error("a bad channel and a bad header: 400", &r, 400, "evil");
    POST_PUBLISH(&r, { "QUERY_STRING", "channel=a&lastEventId=zz&expires=&sig=" },
                 { "HTTP_LAST_EVENT_ID", "41" });
    expect_chans("publish ignores lastEventId, expires, sig and Last-Event-ID", &r, REQ_PUBLISH,
                 "a", NULL);
    ok(!r.have_last && r.expires[0] == '\0' && r.sig[0] == '\0', "... and stores none of them");

    /* ---- expires= and sig= (events) */
    GET_EVENTS(&r, { "QUERY_STRING", "channel=a&expires=1700000000&sig=AbC-_x" });
    ok(r.status == 200 && strcmp(r.expires, "1700000000") == 0 && strcmp(r.sig, "AbC-_x") == 0,
       "expires= and sig= stored (got %d, \"%s\", \"%s\")", r.status, r.expires, r.sig);
    GET_EVENTS(&r, { "QUERY_STRING", "channel=a" });
    ok(r.status == 200 && r.expires[0] == '\0' && r.sig[0] == '\0', "absent: both \"\"");
    s = filled("channel=a&sig=", 's', sizeof r.sig - 1, "");
    GET_EVENTS(&r, { "QUERY_STRING", s });
    ok(r.status == 200 && strlen(r.sig) == sizeof r.sig - 1, "a 63-byte sig fits (got %d)",
       r.status);
    free(s);
    {
        static const char *bad[] = {
            "channel=a&expires=1&expires=1", "channel=a&expires=1&expires=2",
            "channel=a&sig=x&sig=x", "channel=a&sig=x&sig=y", "channel=a&expires=",
            "channel=a&sig=", "channel=a&expires=%zz", "channel=a&sig=%00",
            "channel=a&expires=111111111111111111111111", "expires=1&channel=a&expires=1",
        };
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char name[96];
            snprintf(name, sizeof name, "events \"%s\"", bad[i]);
            GET_EVENTS(&r, { "QUERY_STRING", bad[i] });
            expect_error(name, &r, 400, NULL);
        }
    }
    s = filled("channel=a&sig=", 's', sizeof r.sig, "");
    GET_EVENTS(&r, { "QUERY_STRING", s });
    expect_error("a 64-byte sig", &r, 400, "ssss");
    free(s);

    /* ---- /stream parsing is unchanged by the channel routes */
    GET_STREAM(&r, { "QUERY_STRING", "channel=a&event=x&expires=1&sig=2&lastEventId=5" });
    expect_stream("stream ignores channel=, event=, expires=, sig=", &r, 6, 0);
    ok(r.nchan == 0 && !r.have_last && r.expires[0] == '\0' && r.sig[0] == '\0' &&
           r.event[0] == '\0',
       "... and stores none of them");
    GET_STREAM(&r, { "QUERY_STRING", "channel=bad/name&channel=a&channel=b" });
    expect_stream("stream ignores bad and repeated channel=", &r, 0, 0);
    GET_STREAM(&r, { "HTTP_LAST_EVENT_ID", "1-2" });
    expect_error("Last-Event-ID 1-2 (MS-SEQ) on stream", &r, 400, NULL);
    GET_STREAM(&r, { "QUERY_STRING", "lastEventId=1-2" });
    expect_error("lastEventId=1-2 (MS-SEQ) on stream", &r, 400, NULL);
    GET_STREAM(&r, { "HTTP_LAST_EVENT_ID", "41" }, { "QUERY_STRING", "limit=3" });
    expect_stream("stream: Last-Event-ID 41 and limit=3 as before", &r, 42, 3);
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", "/status" },
          { "QUERY_STRING", "channel=bad/name" });
    ok(r.status == 200 && r.route == REQ_STATUS && r.nchan == 0,
       "status ignores channel=");

    /* ---- programs: .../run/NAME (second-to-last segment "run"), .../chat/completions */
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", "/app/run/hello-1.x_y" });
    ok(r.status == 200 && r.route == REQ_RUN && strcmp(r.run_name, "hello-1.x_y") == 0,
       "run: GET /app/run/hello-1.x_y is REQ_RUN with its NAME");
    PARSE(&r, { "REQUEST_METHOD", "POST" }, { "REQUEST_URI", "/run/a?x=1" });
    ok(r.status == 200 && r.route == REQ_RUN && strcmp(r.run_name, "a") == 0,
       "run: POST via REQUEST_URI, the query is not part of NAME");
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", "/run/stream" });
    ok(r.status == 200 && r.route == REQ_RUN && strcmp(r.run_name, "stream") == 0,
       "run: /run/stream is the program named stream, not the counter");
    {
        static const char *const bad[] = { "/run/..", "/run/.", "/run/...", "/run/", "/run/a b",
                                           "/run/a%2Fb", "/x/run/a/b",
                                           "/run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", bad[i] });
            ok(r.status == 404 && r.route == REQ_NOT_FOUND, "run: %s is 404", bad[i]);
        }
    }
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "REQUEST_URI", "/run/a%2Fb" });
    ok(r.status == 404, "run: REQUEST_URI /run/a%%2Fb decodes to /run/a/b: 404");
    PARSE(&r, { "REQUEST_METHOD", "HEAD" }, { "SCRIPT_NAME", "/run/a" });
    ok(r.status == 405 && r.allow && strcmp(r.allow, "GET, POST") == 0, "run: HEAD is 405");
    PARSE(&r, { "REQUEST_METHOD", "POST" }, { "SCRIPT_NAME", "/v1/chat/completions" });
    ok(r.status == 200 && r.route == REQ_CHAT, "chat: POST /v1/chat/completions is REQ_CHAT");
    PARSE(&r, { "REQUEST_METHOD", "GET" }, { "SCRIPT_NAME", "/v1/chat/completions" });
    ok(r.status == 405 && strcmp(r.allow, "POST") == 0, "chat: GET is 405, Allow: POST");
    PARSE(&r, { "REQUEST_METHOD", "POST" }, { "SCRIPT_NAME", "/v1/completions" });
    ok(r.status == 404, "chat: .../completions alone is 404");

    return done_testing();
}
