/* fuzz_sse.c -- libFuzzer harness of the event encoder: decoding its output gives back the fields.
 * Input: byte 0 selects which fields are set; then id and event (up to a NUL each), then data.
 * Property: exactly one event is dispatched, with the same id/event and the data as a client
 * sees it (CR, LF, CRLF -> LF); an id or event with a line break is refused; nothing else. */
#include "config.h"

#include "sse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n);

/* Decodes per the WHATWG rules; returns events dispatched. */
static int decode(const char *s, size_t n, char **id, char **event, char **data, size_t *dlen)
{
    size_t i = 0, dl = 0;
    char *d = malloc(n + 1), *cur_id = NULL, *cur_ev = NULL;
    int events = 0, have = 0;

    while (i < n) {
        size_t e = i, vs;
        while (e < n && s[e] != '\n' && s[e] != '\r')
            e++;
        if (e == n)
            abort(); /* the encoder always ends lines */
        if (e == i) {
            if (have) {
                events++;
                free(*data);
                *data = malloc(dl + 1);
                memcpy(*data, d, dl);
                *dlen = dl;
                free(*id);
                *id = cur_id ? strdup(cur_id) : NULL;
                free(*event);
                *event = cur_ev ? strdup(cur_ev) : NULL;
            }
            have = 0;
            dl = 0;
        } else if (s[i] != ':') {
            const char *colon = memchr(s + i, ':', e - i);
            size_t nl = colon ? (size_t)(colon - (s + i)) : e - i;
            vs = colon ? nl + 1 : e - i;
            if (vs < e - i && s[i + vs] == ' ')
                vs++;
            if (nl == 4 && !memcmp(s + i, "data", 4)) {
                if (have)
                    d[dl++] = '\n';
                memcpy(d + dl, s + i + vs, e - i - vs);
                dl += e - i - vs;
                have = 1;
            } else if (nl == 2 && !memcmp(s + i, "id", 2)) {
                free(cur_id);
                cur_id = strndup(s + i + vs, e - i - vs);
            } else if (nl == 5 && !memcmp(s + i, "event", 5)) {
                free(cur_ev);
                cur_ev = strndup(s + i + vs, e - i - vs);
            } else {
                abort(); /* the encoder writes no other field */
            }
        }
        i = e + 1;
        if (s[e] == '\r' && i < n && s[i] == '\n')
            i++;
    }
    free(d);
    free(cur_id);
    free(cur_ev);
    return events;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
    char *id = NULL, *ev = NULL, *data, *out, *want, *got_id = NULL, *got_ev = NULL,
         *got_data = NULL;
    const char *p;
    size_t rest, cap, wl = 0, i, glen = 0;
    struct sse_event e;
    ssize_t w;
    int bad;

    if (n < 1)
        return 0;
    p = (const char *)in + 1;
    rest = n - 1;
    if (in[0] & 1) {
        size_t l = strnlen(p, rest);
        id = strndup(p, l);
        p += l < rest ? l + 1 : l;
        rest -= l < rest ? l + 1 : l;
    }
    if (in[0] & 2) {
        size_t l = strnlen(p, rest);
        ev = strndup(p, l);
        p += l < rest ? l + 1 : l;
        rest -= l < rest ? l + 1 : l;
    }
    data = malloc(rest + 1);
    memcpy(data, p, rest);
    e = (struct sse_event){ id, ev, data, rest };
    cap = rest * 8 + 256 + (id ? strlen(id) : 0) + (ev ? strlen(ev) : 0);
    out = malloc(cap);
    w = sse_encode(out, cap, &e);
    bad = (id && strpbrk(id, "\r\n")) || (ev && strpbrk(ev, "\r\n"));
    if (bad != (w < 0))
        abort();
    if (w >= 0) {
        /* a NUL inside data is a byte like any other for the stream */
        if (decode(out, (size_t)w, &got_id, &got_ev, &got_data, &glen) != 1)
            abort();
        want = malloc(rest + 1);
        for (i = 0; i < rest; i++) {
            if (data[i] == '\r') {
                want[wl++] = '\n';
                if (i + 1 < rest && data[i + 1] == '\n')
                    i++;
            } else {
                want[wl++] = data[i];
            }
        }
        if (glen != wl || memcmp(got_data, want, wl) != 0)
            abort();
        if ((id == NULL) != (got_id == NULL) || (id && strcmp(id, got_id)))
            abort();
        if ((ev == NULL) != (got_ev == NULL) || (ev && strcmp(ev, got_ev)))
            abort();
        /* a smaller buffer fails cleanly */
        if (w > 0 && sse_encode(out, (size_t)w - 1, &e) != -1)
            abort();
        free(want);
    }
    free(got_id);
    free(got_ev);
    free(got_data);
    free(out);
    free(data);
    free(id);
    free(ev);
    return 0;
}
