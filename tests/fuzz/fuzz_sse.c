/* fuzz_sse.c -- libFuzzer harness of the event encoder: decoding its output gives back the fields.
 * Input: byte 0 selects which fields are set; then id and event (up to a NUL each), then data.
 * Property: exactly one event is dispatched, with the same id/event and the data as a client
 * sees it (CR, LF, CRLF -> LF); an id or event with a line break is refused; nothing else:
 * no other field, no comment, no unfinished line. Decoded by tests/unit/sse_decode.h, the
 * decoder of tests/unit/http/test_sse.c. */
#include "config.h"

#include "http/sse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sse_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
    char *id = NULL, *ev = NULL, *data, *out, *want;
    const char *p;
    size_t rest, cap, wl = 0;
    struct dec d;
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
        decode(&d, out, (size_t)w);
        if (d.events != 1 || d.incomplete || d.pending || d.comments || d.retry_lines ||
            d.unknown_lines)
            abort(); /* exactly one event, every line ended, no other field */
        want = normalised(data, rest, &wl);
        if (d.ev[0].data_len != wl || memcmp(d.ev[0].data, want, wl) != 0)
            abort();
        if (d.id_lines != (id != NULL) || (id && strcmp(id, d.ev[0].id)))
            abort();
        /* an empty event type is "message" for a client, as no type at all */
        if (d.event_lines != (ev != NULL) ||
            strcmp(ev && *ev ? ev : "message", d.ev[0].type) != 0)
            abort();
        dec_free(&d);
        /* a smaller buffer fails cleanly */
        if (w > 0 && sse_encode(out, (size_t)w - 1, &e) != -1)
            abort();
        free(want);
    }
    free(out);
    free(data);
    free(id);
    free(ev);
    return 0;
}
