/* fuzz_frame.c -- libFuzzer harness of frame: any bytes a peer sends before libfcgi reads any.
 * Properties: no out-of-bounds access (ASan, each input in a buffer of exactly its size); the
 * result is always one of enum frame_result; FRAME_BAD always comes with a non-empty why; feeding
 * the input in growing prefixes (byte by byte, and in steps drawn from the input) gives the same
 * final result as feeding it whole, and the same end/params_end; once a result is not FRAME_MORE
 * it stays (every later call returns it, whatever arrives); FRAME_DONE implies end <= n and
 * params_end < end; FRAME_TOO_BIG implies params_end <= n.
 * Limits: body_max comes from the input's length (0..255 bytes, so TOO_BIG is reachable);
 * raw_max is unlimited for the prefix property and checked on its own below: the records
 * that are whole are judged first, so a request that ends within the bytes read gets the
 * same verdict as without the limit, and only one still unfinished past it is BAD. */
#include "config.h"

#include "fcgi/frame.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n);

static void check_one(const struct frame *f, enum frame_result r, size_t n)
{
    switch (r) {
    case FRAME_MORE:
    case FRAME_ABORT:
        break;
    case FRAME_DONE:
        if (f->end > n || f->params_end >= f->end || f->end == 0)
            abort();
        break;
    case FRAME_TOO_BIG:
        if (f->params_end == 0 || f->params_end > n)
            abort();
        break;
    case FRAME_BAD:
        if (!f->why || !*f->why)
            abort();
        break;
    default:
        abort(); /* not one of the enum */
    }
}

static void init(struct frame *f, size_t body_max, size_t raw_max)
{
    memset(f, 0, sizeof *f);
    f->lim.body_max = body_max;
    f->lim.raw_max = raw_max;
}

/* Feeds buf[0, n) in prefixes growing by step(i) bytes; checks stickiness on the way. */
static enum frame_result feed(struct frame *f, const uint8_t *buf, size_t n, const uint8_t *steps,
                              size_t nsteps)
{
    enum frame_result first = FRAME_MORE, r = FRAME_MORE;
    size_t cut = 0, k = 0;

    for (;;) {
        r = frame_scan(f, buf, cut);
        check_one(f, r, cut);
        if (first != FRAME_MORE && r != first)
            abort(); /* not sticky */
        if (first == FRAME_MORE)
            first = r;
        if (cut == n)
            return r;
        cut += nsteps ? 1 + steps[k++ % nsteps] % 61 : 1;
        if (cut > n)
            cut = n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
    struct frame whole, part;
    size_t body_max = n % 256;
    enum frame_result rw, rp;
    uint8_t *buf = malloc(n ? n : 1); /* exactly n bytes: an over-read is ASan's */

    if (!buf)
        return 0;
    memcpy(buf, in, n);

    init(&whole, body_max, SIZE_MAX);
    rw = frame_scan(&whole, buf, n);
    check_one(&whole, rw, n);
    if (frame_scan(&whole, buf, n) != rw)
        abort(); /* the same call again */

    if (n <= 4096) {
        init(&part, body_max, SIZE_MAX);
        rp = feed(&part, buf, n, NULL, 0);
        if (rp != rw)
            abort();
        if (rw == FRAME_DONE && (part.end != whole.end || part.params_end != whole.params_end))
            abort();
        if (rw == FRAME_TOO_BIG && part.params_end != whole.params_end)
            abort();
    }
    init(&part, body_max, SIZE_MAX);
    rp = feed(&part, buf, n, in, n);
    if (rp != rw)
        abort();
    if (rw == FRAME_DONE && (part.end != whole.end || part.params_end != whole.params_end))
        abort();

    /* raw_max: an unfinished request past it is refused; anything else gets the verdict
     * it gets without the limit */
    if (n) {
        size_t raw = (size_t)in[0] * 4;
        init(&part, body_max, raw);
        rp = frame_scan(&part, buf, n);
        check_one(&part, rp, n);
        if (rp != (rw == FRAME_MORE && n > raw ? FRAME_BAD : rw))
            abort();
    }
    free(buf);
    return 0;
}
