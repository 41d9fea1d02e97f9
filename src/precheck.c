/* precheck.c -- a look at a request's FastCGI params before libfcgi reads them: refuse absurd lengths */
#include "config.h"

#include "precheck.h"

/* FastCGI record layout (the FastCGI 1.0 specification, section 3.3). */
#define REC_HEADER 8
#define REC_PARAMS 4
#define REC_STDIN 5
#define REC_GET_VALUES 9

/* Follows the name-value pair encoding across the params' records. */
struct nv {
    int field;              /* 0: name length, 1: value length, 2: skipping the bytes */
    unsigned char len[4];
    int have;               /* bytes of the current length read */
    unsigned long lens[2];
    unsigned long skip;     /* name + value bytes still to pass */
};

/* Feeds params content bytes; returns 0, or -1 when a length is absurd. */
static int nv_feed(struct nv *s, const unsigned char *p, size_t n, unsigned long *total,
                   const char **why)
{
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
        if (s->lens[s->field] > PRE_PARAMS_MAX) {
            *why = "a parameter length over 128 KiB";
            return -1;
        }
        if (s->field == 0) {
            s->field = 1;
            continue;
        }
        s->skip = s->lens[0] + s->lens[1];
        *total += s->skip;
        if (*total > PRE_PARAMS_MAX) {
            *why = "parameters over 128 KiB in all";
            return -1;
        }
        s->field = s->skip ? 2 : 0;
    }
    return 0;
}

enum pre_result pre_scan(const unsigned char *buf, size_t n, const char **why)
{
    struct nv s = { 0 };
    unsigned long total = 0;
    size_t off = 0;
    int params_done = 0;

    *why = "";
    while (n - off >= REC_HEADER) {
        const unsigned char *h = buf + off;
        size_t clen = ((size_t)h[4] << 8) | h[5], plen = h[6];
        size_t have = n - off - REC_HEADER;
        int mgmt = h[2] == 0 && h[3] == 0;

        if (h[0] != 1) {
            if (params_done)
                return PRE_OK; /* libfcgi will judge the rest */
            *why = "not a FastCGI version 1 record";
            return PRE_BAD;
        }
        if (mgmt && h[1] != REC_GET_VALUES) {
            /* libfcgi answers FCGI_UNKNOWN_TYPE but leaks what it allocated */
            *why = "a management record of an unknown type";
            return PRE_BAD;
        }
        if (params_done) {
            /* past the params, only what has arrived with them is looked at */
            if ((h[1] == REC_STDIN && clen == 0) || have < clen + plen)
                return PRE_OK;
        } else if (h[1] == REC_PARAMS) {
            if (mgmt) {
                *why = "a params record with request id 0";
                return PRE_BAD;
            }
            if (clen == 0) {
                if (have < plen)
                    return PRE_OK; /* its padding is still on the way */
                params_done = 1;
                off += REC_HEADER + plen;
                continue;
            }
            if (nv_feed(&s, h + REC_HEADER, have < clen ? have : clen, &total, why) < 0)
                return PRE_BAD;
        }
        if (have < clen + plen)
            return PRE_MORE;
        off += REC_HEADER + clen + plen;
    }
    return params_done ? PRE_OK : PRE_MORE;
}
