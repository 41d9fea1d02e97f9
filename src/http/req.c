/* req.c -- request parsing: the params a web server passes -> route, resume id, limit or error */
#include "config.h"

#include "http/req.h"
#include "core/text.h"

#include <string.h>

static const char *param(req_param_fn get, void *ctx, const char *name)
{
    const char *v = get(name, ctx);
    return v ? v : "";
}

/* Copies the request path into path[REQ_PATH_MAX]. Returns 0, or -1 when
 * it is too long or its escapes are bad. */
static int request_path(req_param_fn get, void *ctx, char *path)
{
    const char *script = param(get, ctx, "SCRIPT_NAME");
    const char *info = param(get, ctx, "PATH_INFO");
    const char *uri;
    size_t ls, li, n;

    if (*script || *info) {
        ls = strlen(script);
        li = strlen(info);
        if (ls + li >= REQ_PATH_MAX)
            return -1;
        memcpy(path, script, ls);
        memcpy(path + ls, info, li + 1);
        return 0;
    }
    uri = param(get, ctx, "REQUEST_URI");
    if (*uri) {
        n = strcspn(uri, "?#");
        return text_decode(uri, n, 0, path, REQ_PATH_MAX) < 0 ? -1 : 0;
    }
    uri = param(get, ctx, "DOCUMENT_URI");
    n = strlen(uri);
    if (n >= REQ_PATH_MAX)
        return -1;
    memcpy(path, uri, n + 1);
    return 0;
}

/* The Mercure hub's routes: a path that ends in the well-known one, or
 * goes on under its subscriptions; else REQ_NOT_FOUND. */
static enum req_route mercure_route(const char *path)
{
    static const char hub[] = "/.well-known/mercure";
    const char *at = strstr(path, hub);

    for (; at; at = strstr(at + 1, hub)) {
        const char *rest = at + sizeof hub - 1;
        if (*rest == '\0')
            return REQ_MERCURE;
        if (strncmp(rest, "/subscriptions", 14) == 0 && (rest[14] == '\0' || rest[14] == '/'))
            return REQ_MERCURE_SUBS;
    }
    return REQ_NOT_FOUND;
}

/* .../channels/NAME or .../channels/NAME/history: REQ_CHANNEL, NAME in
 * r->chans[0] when it fits (else r->nchan stays 0), r->history; else
 * REQ_NOT_FOUND. A NAME is not checked here. */
static enum req_route channel_route(const char *path, struct req *r)
{
    const char *seg[3] = { NULL, NULL, NULL }, *end = path + strlen(path), *p = end;
    size_t len[3] = { 0, 0, 0 };
    int i, k;

    for (i = 0; i < 3 && p > path; i++) {
        const char *segend = p;
        while (p > path && p[-1] != '/')
            p--;
        seg[i] = p;
        len[i] = (size_t)(segend - p);
        if (p == path)
            break;
        p--; /* the slash */
    }
    if (seg[2] && len[0] == 7 && memcmp(seg[0], "history", 7) == 0 && len[2] == 8 &&
        memcmp(seg[2], "channels", 8) == 0 && len[1])
        k = 1;
    else if (seg[1] && len[1] == 8 && memcmp(seg[1], "channels", 8) == 0 && len[0])
        k = 0;
    else
        return REQ_NOT_FOUND;
    r->history = k == 1;
    if (len[k] <= REQ_CHANNEL_MAX) {
        memcpy(r->chans[0], seg[k], len[k]);
        r->chans[0][len[k]] = '\0';
        r->nchan = 1;
    }
    return REQ_CHANNEL;
}

/* The route of path; for .../run/NAME, NAME goes into name[65]. */
static enum req_route route_of(const char *path, char *name)
{
    const char *slash = strrchr(path, '/');
    const char *seg = slash ? slash + 1 : path;
    size_t plen = slash ? (size_t)(slash - path) : 0;
    const char *prev = path + plen;

    while (prev > path && prev[-1] != '/')
        prev--;
    if (mercure_route(path) != REQ_NOT_FOUND)
        return mercure_route(path);
    if (slash && (size_t)(slash - prev) == 3 && memcmp(prev, "run", 3) == 0) {
        size_t n = strlen(seg);
        if (!text_program_name_ok(seg, n))
            return REQ_NOT_FOUND;
        memcpy(name, seg, n + 1);
        return REQ_RUN;
    }
    if (slash && (size_t)(slash - prev) == 4 && memcmp(prev, "chat", 4) == 0 &&
        strcmp(seg, "completions") == 0)
        return REQ_CHAT;

    if (strcmp(seg, "stream") == 0)
        return REQ_STREAM;
    if (strcmp(seg, "status") == 0)
        return REQ_STATUS;
    if (strcmp(seg, "metrics") == 0)
        return REQ_METRICS;
    if (strcmp(seg, "events") == 0)
        return REQ_EVENTS;
    if (strcmp(seg, "publish") == 0)
        return REQ_PUBLISH;
    return REQ_NOT_FOUND;
}

static void fail(struct req *r, int status, const char *why)
{
    if (r->status == 200) {
        r->status = status;
        r->error = why;
    }
}

#define E_LAST_ID "Last-Event-ID must be a decimal integer from 0 to 9223372036854775806"
#define E_Q_LAST_ID "lastEventId must be a decimal integer from 0 to 9223372036854775806"
#define E_Q_LIMIT "limit must be a decimal integer from 1 to 1000000000"

/* Reads the known query parameters (lastEventId, limit) of a stream
 * request; others are ignored, so cache busters pass. A known parameter
 * given twice is refused: which one was meant cannot be known. */
static void parse_query(struct req *r, const char *q, int *have_q_id,
                        unsigned long long *q_id)
{
    int seen_limit = 0, seen_id = 0;
    struct text_field fd;

    while (text_form_next(&q, "&;", &fd)) {
        const char *val = fd.value;
        size_t vn = fd.value_len;
        char key[16], v[32];
        int is_id, is_limit;

        if (text_decode(fd.name, fd.name_len, 1, key, sizeof key) >= 0) {
            is_id = strcmp(key, "lastEventId") == 0;
            is_limit = strcmp(key, "limit") == 0;
            if (is_id) {
                /* an empty value means no resume, as for the header */
                if (seen_id)
                    fail(r, 400, "lastEventId given more than once");
                else if (text_decode(val, vn, 1, v, sizeof v) < 0)
                    fail(r, 400, E_Q_LAST_ID);
                else if (v[0] != '\0' && text_parse_uint(v, 0, REQ_LAST_ID_MAX, q_id) < 0)
                    fail(r, 400, E_Q_LAST_ID);
                else
                    *have_q_id = v[0] != '\0';
                seen_id = 1;
            } else if (is_limit) {
                if (seen_limit)
                    fail(r, 400, "limit given more than once");
                else if (text_decode(val, vn, 1, v, sizeof v) < 0 ||
                         text_parse_uint(v, 1, REQ_LIMIT_MAX, &r->limit) < 0)
                    fail(r, 400, E_Q_LIMIT);
                seen_limit = 1;
            }
        }
    }
}

/* Reads the query of .../status: stream=1 (the figures as an event
 * stream) or stream=0, once; others are ignored. */
static void parse_status_query(struct req *r, const char *q)
{
    int seen = 0;
    struct text_field fd;

    while (text_form_next(&q, "&;", &fd)) {
        char key[16], v[4];

        if (text_decode(fd.name, fd.name_len, 1, key, sizeof key) < 0 || strcmp(key, "stream"))
            continue;
        if (seen)
            fail(r, 400, "stream given more than once");
        else if (text_decode(fd.value, fd.value_len, 1, v, sizeof v) < 0 ||
                 (strcmp(v, "0") && strcmp(v, "1")))
            fail(r, 400, "stream must be 0 or 1");
        else
            r->status_stream = v[0] == '1';
        seen = 1;
    }
}

#define E_CHANNEL "channel must be 1 to 128 bytes of A-Z a-z 0-9 _ . : -"
#define E_EVENT "event must be 1 to 64 bytes of A-Z a-z 0-9 _ . : -"
#define E_MSGID "Last-Event-ID must be an id of the form MS-SEQ (digits, a dash, digits)"
#define E_Q_MSGID "lastEventId must be an id of the form MS-SEQ (digits, a dash, digits)"

/* Keeps a parameter that may be given once, non-empty, within cap bytes
 * (vl: its decoded length, or -1 when it did not decode); else 400 why. */
static void keep_once(struct req *r, int *seen, const char *v, long vl, char *dst, size_t cap,
                      const char *why)
{
    if (*seen || vl <= 0 || (size_t)vl >= cap)
        fail(r, 400, why);
    else
        memcpy(dst, v, (size_t)vl + 1);
    *seen = 1;
}

/* Reads the query of .../events and .../publish: channel= (repeated),
 * and lastEventId=, expires=, sig= or event=; others are ignored. */
static void parse_chan_query(struct req *r, const char *q, int *have_q_id, struct msgid *q_id)
{
    int seen_id = 0, seen_exp = 0, seen_sig = 0, seen_ev = 0;
    struct text_field fd;

    while (text_form_next(&q, "&;", &fd)) {
        char key[16], v[REQ_CHANNEL_MAX + 2];
        long vl;

        if (text_decode(fd.name, fd.name_len, 1, key, sizeof key) >= 0) {
            vl = text_decode(fd.value, fd.value_len, 1, v, sizeof v);
            if (strcmp(key, "channel") == 0) {
                unsigned i;
                int dup = 0;
                if (vl < 0 || !text_name_ok(v, REQ_CHANNEL_MAX)) {
                    fail(r, 400, E_CHANNEL);
                } else {
                    for (i = 0; i < r->nchan; i++)
                        dup |= strcmp(r->chans[i], v) == 0;
                    if (!dup && r->route == REQ_PUBLISH && r->nchan == 1)
                        fail(r, 400, "publish takes one channel");
                    else if (!dup && r->nchan == REQ_CHANNELS_MAX)
                        fail(r, 400, "more than 16 channels");
                    else if (!dup)
                        memcpy(r->chans[r->nchan++], v, (size_t)vl + 1);
                }
            } else if (strcmp(key, "lastEventId") == 0 && r->route == REQ_EVENTS) {
                if (seen_id)
                    fail(r, 400, "lastEventId given more than once");
                else if (vl < 0 || (v[0] != '\0' && msgid_parse(v, q_id) < 0))
                    fail(r, 400, E_Q_MSGID);
                else
                    *have_q_id = v[0] != '\0';
                seen_id = 1;
            } else if (strcmp(key, "expires") == 0 && r->route == REQ_EVENTS) {
                keep_once(r, &seen_exp, v, vl, r->expires, sizeof r->expires,
                          "expires must be given once, as Unix seconds");
            } else if (strcmp(key, "sig") == 0 && r->route == REQ_EVENTS) {
                keep_once(r, &seen_sig, v, vl, r->sig, sizeof r->sig,
                          "sig must be given once, as a base64url signature");
            } else if (strcmp(key, "event") == 0 && r->route == REQ_PUBLISH) {
                if (seen_ev || vl < 0 || !text_name_ok(v, REQ_EVENT_MAX))
                    fail(r, 400, seen_ev ? "event given more than once" : E_EVENT);
                else
                    memcpy(r->event, v, (size_t)vl + 1);
                seen_ev = 1;
            }
        }
    }
}

/* The methods route r->route takes: sets r->allow and r->head, fails r with 405 (or, for
 * .../channels/NAME, the name's 400 or 403). Returns 1 when nothing more is to be read
 * (the request failed, or its route reads its own query), else 0. */
static int route_methods(struct req *r, const char *method)
{
    switch (r->route) {
    case REQ_CHANNEL:
        r->allow = r->history ? "DELETE" : "GET, HEAD, DELETE";
        r->del = strcmp(method, "DELETE") == 0;
        r->head = strcmp(method, "HEAD") == 0 && !r->history;
        if (!r->del && (r->history || (!r->head && strcmp(method, "GET") != 0)))
            fail(r, 405, r->history ? "method not allowed: use DELETE"
                                    : "method not allowed: use GET, HEAD or DELETE");
        else if (r->nchan && r->chans[0][0] == '@')
            fail(r, 403, "channels whose names start with @ are the responder's own: no "
                         "request reads or controls them");
        else if (!r->nchan || !text_name_ok(r->chans[0], REQ_CHANNEL_MAX))
            fail(r, 400, "the channel in .../channels/NAME must be 1 to 128 bytes of "
                         "A-Z a-z 0-9 _ . : -");
        return 1;
    case REQ_MERCURE:
    case REQ_MERCURE_SUBS: {
        int subs = r->route == REQ_MERCURE_SUBS;
        r->allow = subs ? "GET, HEAD, OPTIONS" : "GET, HEAD, POST, OPTIONS";
        if (strcmp(method, "HEAD") == 0)
            r->head = 1;
        else if (strcmp(method, "GET") != 0 && strcmp(method, "OPTIONS") != 0 &&
                 (subs || strcmp(method, "POST") != 0))
            fail(r, 405, subs ? "method not allowed: use GET, HEAD or OPTIONS"
                              : "method not allowed: use GET, HEAD, POST or OPTIONS");
        return 1;
    }
    case REQ_RUN:
        r->allow = "GET, POST";
        if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
            fail(r, 405, "method not allowed: use GET or POST");
        return 1;
    case REQ_CHAT:
    case REQ_PUBLISH:
        r->allow = "POST";
        if (strcmp(method, "POST") != 0) {
            fail(r, 405, "method not allowed: use POST");
            return 1;
        }
        return r->route == REQ_CHAT;
    default:
        r->allow = "GET, HEAD";
        if (strcmp(method, "HEAD") == 0)
            r->head = 1;
        else if (strcmp(method, "GET") != 0) {
            fail(r, 405, "method not allowed: use GET or HEAD");
            return 1;
        }
        return r->route == REQ_METRICS;
    }
}

/* .../events and .../publish: the channels of the query; .../events also the resume id,
 * Last-Event-ID first, else the query's lastEventId. */
static void parse_channels(struct req *r, req_param_fn get, void *ctx, const char *query)
{
    struct msgid mq = { 0, 0 };
    int have_mq = 0;
    const char *hdr;

    parse_chan_query(r, query, &have_mq, &mq);
    if (r->status == 200 && r->nchan == 0)
        fail(r, 400, "no channel: give channel=NAME");
    if (r->route != REQ_EVENTS)
        return;
    hdr = param(get, ctx, "HTTP_LAST_EVENT_ID");
    if (*hdr) {
        if (msgid_parse(hdr, &r->last) < 0) {
            fail(r, 400, E_MSGID);
            return;
        }
        r->have_last = 1;
    } else if (have_mq) {
        r->last = mq;
        r->have_last = 1;
    }
}

/* .../stream: the query's options, and where the count resumes (Last-Event-ID first, else
 * the query's lastEventId). */
static void parse_stream(struct req *r, req_param_fn get, void *ctx, const char *query)
{
    unsigned long long id = 0, q_id = 0;
    int have_q_id = 0;
    const char *hdr;

    parse_query(r, query, &have_q_id, &q_id);

    hdr = param(get, ctx, "HTTP_LAST_EVENT_ID");
    if (*hdr) {
        if (text_parse_uint(hdr, 0, REQ_LAST_ID_MAX, &id) < 0) {
            fail(r, 400, E_LAST_ID);
            return;
        }
        r->first_id = id + 1;
    } else if (have_q_id) {
        r->first_id = q_id + 1;
    }
}

void req_parse(struct req *r, req_param_fn get, void *ctx)
{
    char path[REQ_PATH_MAX];
    const char *query;

    memset(r, 0, sizeof *r);
    r->status = 200;

    if (request_path(get, ctx, path) < 0) {
        fail(r, 414, "request path too long or badly escaped");
        return;
    }
    r->route = mercure_route(path) == REQ_NOT_FOUND ? channel_route(path, r) : REQ_NOT_FOUND;
    if (r->route == REQ_NOT_FOUND)
        r->route = route_of(path, r->run_name);
    if (r->route == REQ_NOT_FOUND) {
        fail(r, 404, "no such resource: the routes are .../stream, .../events, .../publish, "
                     ".../status, .../metrics, .../channels/NAME, .../run/NAME, "
                     ".../chat/completions and "
                     ".../.well-known/mercure");
        return;
    }
    if (route_methods(r, param(get, ctx, "REQUEST_METHOD")))
        return;

    query = get("QUERY_STRING", ctx);
    if (!query) {
        const char *uri = param(get, ctx, "REQUEST_URI");
        const char *qm = strchr(uri, '?');
        query = qm ? qm + 1 : "";
    }
    if (r->route == REQ_STATUS)
        parse_status_query(r, query);
    else if (r->route == REQ_STREAM)
        parse_stream(r, get, ctx, query);
    else
        parse_channels(r, get, ctx, query);
}
