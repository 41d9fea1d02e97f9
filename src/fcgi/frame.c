/* frame.c -- checks a FastCGI request's records as they arrive, before libfcgi reads any (pure) */
#include "config.h"

#include "fcgi/frame.h"

#include <string.h>

/* FastCGI 1.0 specification, sections 3.3 and 8. */
#define REC_HEADER 8
#define T_BEGIN 1
#define T_ABORT 2
#define T_PARAMS 4
#define T_STDIN 5
#define ROLE_RESPONDER 1
#define FLAG_KEEP_CONN 1

/* Feeds params content; returns 0, or -1 (f->why set) on an absurd length. */
static int nv_feed(struct frame *f, const unsigned char *p, size_t n)
{
    struct frame_nv *s = &f->nv;
    size_t i = 0;

    while (i < n) {
        if (s->field == 2) {
            size_t take = n - i < s->skip ? n - i : (size_t)s->skip;
            s->skip -= take;
            i += take;
            if (!s->skip)
                s->field = 0;
            continue;
        }
        s->len[s->have++] = p[i++];
        if (s->have == 1 && !(s->len[0] & 0x80)) {
            s->lens[s->field] = s->len[0];
        } else if (s->have == 4) {
            s->lens[s->field] = ((unsigned long)(s->len[0] & 0x7f) << 24) |
                                ((unsigned long)s->len[1] << 16) |
                                ((unsigned long)s->len[2] << 8) | s->len[3];
        } else {
            continue;
        }
        s->have = 0;
        if (s->lens[s->field] > FRAME_PARAMS_MAX) {
            f->why = "a parameter length over 128 KiB";
            return -1;
        }
        if (s->field == 0) {
            s->field = 1;
            continue;
        }
        s->skip = s->lens[0] + s->lens[1];
        s->field = s->skip ? 2 : 0;
    }
    return 0;
}

static enum frame_result bad(struct frame *f, const char *why)
{
    f->why = why;
    f->phase = -1;
    return FRAME_BAD;
}

/* Judges one whole record (header h, content c of clen bytes) that ends at `next`. */
static enum frame_result record(struct frame *f, const unsigned char *h, const unsigned char *c,
                                size_t clen, size_t next)
{
    unsigned type = h[1], id = ((unsigned)h[2] << 8) | h[3];

    if (h[0] != 1)
        return bad(f, "not a FastCGI version 1 record");
    if (id == 0)
        return bad(f, "a management record (request id 0)");
    if (f->phase == 0) {
        if (type != T_BEGIN || clen != 8)
            return bad(f, "the first record is not BEGIN_REQUEST");
        if ((((unsigned)c[0] << 8) | c[1]) != ROLE_RESPONDER)
            return bad(f, "a role other than responder");
        f->req_id = id;
        f->keep_conn = c[2] & FLAG_KEEP_CONN;
        f->phase = 1;
        return FRAME_MORE;
    }
    if (id != f->req_id)
        return bad(f, "a record for another request id");
    if (type == T_ABORT) {
        f->phase = -2;
        return FRAME_ABORT;
    }
    if (type == T_BEGIN)
        return bad(f, "a second BEGIN_REQUEST");
    if (f->phase == 1) {
        if (type != T_PARAMS)
            return bad(f, "a record other than PARAMS before the params ended");
        if (clen == 0) {
            if (f->nv.field != 0 || f->nv.have != 0)
                return bad(f, "the params end inside a name-value pair");
            f->params_end = next;
            f->phase = 2;
            return FRAME_MORE;
        }
        f->params_len += clen;
        if (f->params_len > FRAME_PARAMS_MAX)
            return bad(f, "parameters over 128 KiB in all");
        return nv_feed(f, c, clen) < 0 ? (f->phase = -1, FRAME_BAD) : FRAME_MORE;
    }
    /* phase 2: the body */
    if (type != T_STDIN)
        return bad(f, "a record other than STDIN after the params");
    if (clen == 0) {
        f->end = next;
        f->phase = 3;
        return FRAME_DONE;
    }
    f->body_len += clen;
    if (f->body_len > f->lim.body_max) {
        f->phase = -3;
        return FRAME_TOO_BIG;
    }
    return FRAME_MORE;
}

enum frame_result frame_scan(struct frame *f, const unsigned char *buf, size_t n)
{
    switch (f->phase) {
    case -1: return FRAME_BAD;
    case -2: return FRAME_ABORT;
    case -3: return FRAME_TOO_BIG;
    case 3: return FRAME_DONE;
    default: break;
    }
    while (n - f->off >= REC_HEADER) {
        const unsigned char *h = buf + f->off;
        size_t clen = ((size_t)h[4] << 8) | h[5], plen = h[6];
        size_t next = f->off + REC_HEADER + clen + plen;
        enum frame_result r;

        if (h[0] != 1)
            return bad(f, "not a FastCGI version 1 record");
        if (next > n)
            break; /* the rest of the record is on its way */
        r = record(f, h, h + REC_HEADER, clen, next);
        f->off = next;
        if (r != FRAME_MORE)
            return r;
    }
    /* judged after the whole records, so the verdict does not depend on
     * how the bytes were split into reads */
    if (n > f->lim.raw_max) {
        f->oversize = 1;
        return bad(f, "a request larger than the intake allows");
    }
    return FRAME_MORE;
}

size_t frame_strip_padding(unsigned char *buf, size_t n)
{
    size_t r = 0, w = 0;

    while (n - r >= REC_HEADER) {
        size_t clen = ((size_t)buf[r + 4] << 8) | buf[r + 5], plen = buf[r + 6];

        if (clen + plen > n - r - REC_HEADER)
            break;
        memmove(buf + w, buf + r, REC_HEADER + clen);
        buf[w + 6] = 0;
        w += REC_HEADER + clen;
        r += REC_HEADER + clen + plen;
    }
    return w;
}
