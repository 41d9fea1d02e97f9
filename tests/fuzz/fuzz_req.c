/* fuzz_req.c -- libFuzzer harness of request parsing: the params a web server sends -> route,
 * resume id, limit or error. Input: NUL-separated "NAME=value" params (as FastCGI delivers
 * them). Properties: the status is one of those the module documents; an error is one line of
 * plain text and never quotes the input (it is one of the fixed sentences the module gives
 * for canonical bad requests, collected at the first call); a resumed stream starts within
 * range; events and publish hold 1 to 16 (publish: 1) distinct valid channels and only
 * publish an event type; a 405 says which methods are allowed. A new kind of error needs
 * its canonical request in known_errors(). */
#include "config.h"

#include "core/text.h"
#include "http/req.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n);

struct params {
    char *buf;
    const char *names[32];
    const char *values[32];
    int count;
};

static const char *get(const char *name, void *ctx)
{
    const struct params *p = ctx;
    int i;

    for (i = 0; i < p->count; i++)
        if (strcmp(p->names[i], name) == 0)
            return p->values[i];
    return NULL;
}

/* The errors of canonical bad requests: req.h promises a fixed sentence per error, so
 * an error for any input must be one of these. One that quotes its input is not. */
#define MAX_KNOWN 40
static char *known[MAX_KNOWN];
static int n_known;

static void learn(const char *const *kv)
{
    struct params p = { 0 };
    struct req r;
    int i;

    for (; kv[0]; kv += 2) {
        p.names[p.count] = kv[0];
        p.values[p.count++] = kv[1];
    }
    req_parse(&r, get, &p);
    if (r.status == 200 || !r.error)
        abort(); /* the canonical request is no longer an error: update it */
    for (i = 0; i < n_known; i++)
        if (strcmp(known[i], r.error) == 0)
            return;
    if (n_known == MAX_KNOWN)
        abort();
    known[n_known++] = strdup(r.error);
}

static void known_errors(void)
{
    static char longpath[REQ_PATH_MAX + 16];

    memset(longpath, 'a', sizeof longpath - 1);
    longpath[0] = '/';
    learn((const char *const[]){ "REQUEST_METHOD", "GET", "SCRIPT_NAME", longpath, NULL });
    learn((const char *const[]){ "REQUEST_METHOD", "GET", "SCRIPT_NAME", "/x", NULL });
    learn((const char *const[]){ "REQUEST_METHOD", "PUT", "SCRIPT_NAME", "/stream", NULL });
    learn((const char *const[]){ "REQUEST_METHOD", "GET", "SCRIPT_NAME", "/stream",
                                 "HTTP_LAST_EVENT_ID", "x", NULL });
    learn((const char *const[]){ "REQUEST_METHOD", "GET", "SCRIPT_NAME", "/stream",
                                 "QUERY_STRING", "lastEventId=x", NULL });
    learn((const char *const[]){ "REQUEST_METHOD", "GET", "SCRIPT_NAME", "/stream",
                                 "QUERY_STRING", "lastEventId=1&lastEventId=2", NULL });
    learn((const char *const[]){ "REQUEST_METHOD", "GET", "SCRIPT_NAME", "/stream",
                                 "QUERY_STRING", "limit=0", NULL });
    learn((const char *const[]){ "REQUEST_METHOD", "GET", "SCRIPT_NAME", "/stream",
                                 "QUERY_STRING", "limit=1&limit=2", NULL });
    /* channels */
    {
        static const char *const ev_queries[] = {
            "", "channel=%20", "channel=a&lastEventId=x", "channel=a&lastEventId=1-0&lastEventId=2-0",
            "channel=a&expires=1&expires=2", "channel=a&sig=x&sig=y",
            "channel=1&channel=2&channel=3&channel=4&channel=5&channel=6&channel=7&channel=8&"
            "channel=9&channel=10&channel=11&channel=12&channel=13&channel=14&channel=15&"
            "channel=16&channel=17",
            NULL
        };
        static const char *const pub_queries[] = {
            "channel=a&channel=b", "channel=a&event=%20", "channel=a&event=x&event=y", NULL
        };
        int i;
        for (i = 0; ev_queries[i]; i++)
            learn((const char *const[]){ "REQUEST_METHOD", "GET", "SCRIPT_NAME", "/events",
                                         "QUERY_STRING", ev_queries[i], NULL });
        for (i = 0; pub_queries[i]; i++)
            learn((const char *const[]){ "REQUEST_METHOD", "POST", "SCRIPT_NAME", "/publish",
                                         "QUERY_STRING", pub_queries[i], NULL });
        learn((const char *const[]){ "REQUEST_METHOD", "GET", "SCRIPT_NAME", "/events",
                                     "QUERY_STRING", "channel=a", "HTTP_LAST_EVENT_ID", "41",
                                     NULL });
        learn((const char *const[]){ "REQUEST_METHOD", "GET", "SCRIPT_NAME", "/publish", NULL });
        /* programs */
        learn((const char *const[]){ "REQUEST_METHOD", "PUT", "SCRIPT_NAME", "/run/x", NULL });
        learn((const char *const[]){ "REQUEST_METHOD", "GET", "SCRIPT_NAME", "/chat/completions",
                                     NULL });
        /* the Mercure hub and its subscriptions API */
        learn((const char *const[]){ "REQUEST_METHOD", "PUT", "SCRIPT_NAME",
                                     "/.well-known/mercure", NULL });
        learn((const char *const[]){ "REQUEST_METHOD", "POST", "SCRIPT_NAME",
                                     "/.well-known/mercure/subscriptions", NULL });
        /* the status feed's query */
        learn((const char *const[]){ "REQUEST_METHOD", "GET", "SCRIPT_NAME", "/status",
                                     "QUERY_STRING", "stream=2", NULL });
        learn((const char *const[]){ "REQUEST_METHOD", "GET", "SCRIPT_NAME", "/status",
                                     "QUERY_STRING", "stream=1&stream=1", NULL });
        /* a channel's figures and control */
        learn((const char *const[]){ "REQUEST_METHOD", "PUT", "SCRIPT_NAME", "/channels/x",
                                     NULL });
        learn((const char *const[]){ "REQUEST_METHOD", "GET", "SCRIPT_NAME",
                                     "/channels/x/history", NULL });
        learn((const char *const[]){ "REQUEST_METHOD", "GET", "SCRIPT_NAME", "/channels/a b",
                                     NULL });
        learn((const char *const[]){ "REQUEST_METHOD", "GET", "SCRIPT_NAME", "/channels/@x",
                                     NULL });
    }
}

static int is_known(const char *error)
{
    int i;

    for (i = 0; i < n_known; i++)
        if (strcmp(known[i], error) == 0)
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
    struct params p = { 0 };
    struct req r;
    char *s, *end;

    if (!n_known)
        known_errors();
    p.buf = malloc(n + 1);
    memcpy(p.buf, in, n);
    p.buf[n] = '\0';
    end = p.buf + n;
    for (s = p.buf; s < end && p.count < 32; s += strlen(s) + 1) {
        char *eq = strchr(s, '=');
        if (!eq)
            continue;
        *eq = '\0';
        p.names[p.count] = s;
        p.values[p.count++] = eq + 1;
        s = eq + 1;
    }
    req_parse(&r, get, &p);
    switch (r.status) {
    case 200:
        if (r.error || r.route == REQ_NOT_FOUND)
            abort();
        if (r.first_id > REQ_LAST_ID_MAX + 1 || r.limit > REQ_LIMIT_MAX)
            abort();
        if (r.route == REQ_EVENTS || r.route == REQ_PUBLISH) {
            /* 1 to 16 distinct valid channels (publish: one); a valid event type or none */
            unsigned i, j;
            if (r.nchan < 1 || r.nchan > (r.route == REQ_PUBLISH ? 1u : REQ_CHANNELS_MAX))
                abort();
            for (i = 0; i < r.nchan; i++) {
                if (!text_name_ok(r.chans[i], REQ_CHANNEL_MAX))
                    abort();
                for (j = 0; j < i; j++)
                    if (strcmp(r.chans[i], r.chans[j]) == 0)
                        abort();
            }
            if (r.event[0] && (r.route != REQ_PUBLISH || !text_name_ok(r.event, REQ_EVENT_MAX)))
                abort();
            if (r.route == REQ_PUBLISH && (r.head || r.have_last))
                abort();
        } else if (r.route == REQ_CHANNEL) {
            /* one valid channel, never an internal one ('@'), nothing else */
            if (r.nchan != 1 || !text_name_ok(r.chans[0], REQ_CHANNEL_MAX) ||
                r.chans[0][0] == '@' || r.have_last || r.event[0])
                abort();
        } else if (r.nchan || r.have_last || r.event[0]) {
            abort();
        }
        break;
    case 405:
        if (!r.allow)
            abort();
        /* fall through */
    case 400: case 403: case 404: case 414:
        if (!r.error || !*r.error || strchr(r.error, '\n') || strchr(r.error, '\r'))
            abort();
        if (!is_known(r.error))
            abort(); /* quotes the input, or a new error without its canonical request */
        break;
    default:
        abort();
    }
    free(p.buf);
    return 0;
}
