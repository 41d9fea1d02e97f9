/* fuzz_req.c -- libFuzzer harness of request parsing: the params a web server sends -> route,
 * resume id, limit or error. Input: NUL-separated "NAME=value" params (as FastCGI delivers
 * them). Properties: the status is one of those the module documents; an error is one line of
 * plain text and never quotes the input; a resumed stream starts within range. */
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
        if (r.error || (r.route != REQ_STREAM && r.route != REQ_STATUS))
            abort();
        if (r.first_id > REQ_LAST_ID_MAX + 1 || r.limit > REQ_LIMIT_MAX)
            abort();
        break;
    case 400: case 404: case 405: case 414:
        if (!r.error || !*r.error || strchr(r.error, '\n') || strchr(r.error, '\r'))
            abort();
        break;
    default:
        abort();
    }
    free(p.buf);
    return 0;
}
