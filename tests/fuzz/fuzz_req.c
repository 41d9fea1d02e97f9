/* fuzz_req.c -- libFuzzer harness of request parsing: the params a web server sends -> route,
 * resume id, limit or error. Input: NUL-separated "NAME=value" params (as FastCGI delivers
 * them). Properties: the status is one of those the module documents; an error is one line of
 * plain text and never quotes the input; a resumed stream starts within range; events and
 * publish hold 1 to 16 (publish: 1) distinct valid channels and only publish an event type;
 * a 405 says which methods are allowed. */
#include "config.h"

#include "req.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
    struct params p = { 0 };
    struct req r;
    char *s, *end;

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
            if (r.nchan < 1 || r.nchan > (r.route == REQ_PUBLISH ? 1u : CHAN_SUB_MAX))
                abort();
            for (i = 0; i < r.nchan; i++) {
                if (!chan_name_ok(r.chans[i], CHAN_NAME_MAX))
                    abort();
                for (j = 0; j < i; j++)
                    if (strcmp(r.chans[i], r.chans[j]) == 0)
                        abort();
            }
            if (r.event[0] && (r.route != REQ_PUBLISH || !chan_name_ok(r.event, CHAN_TYPE_MAX)))
                abort();
            if (r.route == REQ_PUBLISH && (r.head || r.have_last))
                abort();
        } else if (r.nchan || r.have_last || r.event[0]) {
            abort();
        }
        break;
    case 405:
        if (!r.allow)
            abort();
        /* fall through */
    case 400: case 404: case 414:
        if (!r.error || !*r.error || strchr(r.error, '\n') || strchr(r.error, '\r'))
            abort();
        break;
    default:
        abort();
    }
    free(p.buf);
    return 0;
}
