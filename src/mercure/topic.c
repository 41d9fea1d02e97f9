/* topic.c -- Mercure topic strings: which characters they may hold, the hub's reserved namespace, percent-encoding and -decoding (pure) */
#include "config.h"

#include "mercure/topic.h"
#include "mercure/topic_int.h"
#include "mercure/url.h"
#include "core/text.h"

#include <stdlib.h>
#include <string.h>

/* Unicode 15.1's general category Cf, as [first, last] ranges in code point order. */
static const struct {
    unsigned lo, hi;
} topic_cf[] = {
    { 0x00AD, 0x00AD },   { 0x0600, 0x0605 },   { 0x061C, 0x061C },   { 0x06DD, 0x06DD },
    { 0x070F, 0x070F },   { 0x0890, 0x0891 },   { 0x08E2, 0x08E2 },   { 0x180E, 0x180E },
    { 0x200B, 0x200F },   { 0x202A, 0x202E },   { 0x2060, 0x2064 },   { 0x2066, 0x206F },
    { 0xFEFF, 0xFEFF },   { 0xFFF9, 0xFFFB },   { 0x110BD, 0x110BD }, { 0x110CD, 0x110CD },
    { 0x13430, 0x1343F }, { 0x1BCA0, 0x1BCA3 }, { 0x1D173, 0x1D17A }, { 0xE0001, 0xE0001 },
    { 0xE0020, 0xE007F },
};

/* 1 when code point c is in general category Cf (binary search of topic_cf). */
static int topic_is_cf(unsigned c)
{
    size_t lo = 0, hi = sizeof topic_cf / sizeof topic_cf[0];

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (c < topic_cf[mid].lo)
            hi = mid;
        else if (c > topic_cf[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

/* Decodes the UTF-8 character at s[0, n) (n >= 1) into *cp: its length (1 to 4), or 0 when
 * it is not well-formed (a stray continuation byte, a truncated sequence, an overlong form,
 * a surrogate, a code point over U+10FFFF). */
static size_t topic_utf8(const unsigned char *s, size_t n, unsigned *cp)
{
    static const unsigned min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
    size_t len, i;
    unsigned c = s[0];

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, c &= 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, c &= 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, c &= 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3fu);
    }
    if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

int topic_text_ok(const char *s, size_t len, const char **why)
{
    const unsigned char *p = (const unsigned char *)s;
    const char *bad = NULL;
    size_t i = 0, n;
    unsigned c = 0;

    while (i < len) {
        if (!(n = topic_utf8(p + i, len - i, &c))) {
            bad = "not UTF-8";
            break;
        }
        if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
            bad = "a control character";
            break;
        }
        if (c >= 0xad && topic_is_cf(c)) {
            bad = "a format character (Unicode Cf)";
            break;
        }
        i += n;
    }
    if (why)
        *why = bad;
    return bad == NULL;
}

/* 1 when c is an RFC 3986 unreserved character. */
static int topic_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

long topic_unescape(char *out, size_t cap, const char *s, size_t len, int plus, int lenient)
{
    size_t i, o = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '%') {
            int hi = -1, lo = -1;

            if (i + 2 < len) {
                hi = text_hexval((unsigned char)s[i + 1]);
                lo = text_hexval((unsigned char)s[i + 2]);
            }
            if (hi >= 0 && lo >= 0) {
                c = (unsigned char)(hi * 16 + lo);
                i += 2;
            } else if (!lenient) {
                return -1;
            }
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = (char)c;
    }
    if (o >= cap)
        return -1;
    out[o] = '\0';
    return (long)o;
}

long topic_decode(char *out, size_t cap, const char *s, size_t len)
{
    return topic_unescape(out, cap, s, len, 0, 0);
}

long topic_encode(char *out, size_t cap, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i, o = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (topic_unreserved(c)) {
            if (o + 1 >= cap)
                return -1;
            out[o++] = (char)c;
            continue;
        }
        if (o + 3 >= cap)
            return -1;
        out[o++] = '%';
        out[o++] = hex[c >> 4];
        out[o++] = hex[c & 15];
    }
    if (o >= cap)
        return -1;
    out[o] = '\0';
    return (long)o;
}

/* Rewrites path[0, *len) in place as RFC 3986 compares it: %XX triplets that encode an
 * unreserved character are decoded (others kept as they are), then dot segments are
 * removed (5.2.4). *len becomes the new length (never longer). */
static void topic_normalize(char *path, size_t *len)
{
    size_t i, o = 0, n = *len, in;
    char *s = path;

    for (i = 0; i < n; i++) {
        int hi, lo;

        if (s[i] == '%' && i + 2 < n && (hi = text_hexval((unsigned char)s[i + 1])) >= 0 &&
            (lo = text_hexval((unsigned char)s[i + 2])) >= 0 &&
            topic_unreserved((unsigned char)(hi * 16 + lo))) {
            s[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            s[o++] = s[i];
        }
    }
    n = o;
    /* 5.2.4 on s[0, n), reading at `in` and writing at `o` (o <= in throughout). */
    for (in = 0, o = 0; in < n;) {
        size_t left = n - in, seg;

        if (left >= 3 && memcmp(s + in, "../", 3) == 0) {
            in += 3;
        } else if (left >= 2 && memcmp(s + in, "./", 2) == 0) {
            in += 2;
        } else if (left >= 3 && memcmp(s + in, "/./", 3) == 0) {
            in += 2;
        } else if (left == 2 && memcmp(s + in, "/.", 2) == 0) {
            in += 1;
            s[in] = '/';
        } else if ((left >= 4 && memcmp(s + in, "/../", 4) == 0) ||
                   (left == 3 && memcmp(s + in, "/..", 3) == 0)) {
            if (left == 3) {
                in += 2;
                s[in] = '/';
            } else {
                in += 3;
            }
            while (o > 0 && s[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else if ((left == 1 && s[in] == '.') || (left == 2 && memcmp(s + in, "..", 2) == 0)) {
            in = n;
        } else {
            seg = s[in] == '/' ? 1 : 0;
            while (in + seg < n && s[in + seg] != '/')
                seg++;
            memmove(s + o, s + in, seg);
            o += seg;
            in += seg;
        }
    }
    *len = o;
}

/* A copy of u's path, normalized (topic_normalize); NULL when memory runs out. */
static char *topic_norm_path(const struct url *u, size_t *len)
{
    const char *p = url_get(u, URL_PATHNAME, len);
    char *s = malloc(*len + 1);

    if (!s)
        return NULL;
    memcpy(s, p, *len);
    topic_normalize(s, len);
    s[*len] = '\0';
    return s;
}

/* Resolves the topic and compares its normalized path with the hub's (topic_reserved). */
static int topic_reserved_in(const char *topic, size_t len, const struct url *base)
{
    struct url u;
    char *hub = NULL, *path = NULL;
    size_t hlen, plen;
    int r;

    url_init(&u);
    r = url_parse(&u, topic, len, base);
    if (r == URL_ENOMEM)
        return -1;
    if (r != 0 || u.opaque_path) {
        url_free(&u); /* not a URL reference: it cannot name a hub path */
        return 0;
    }
    hub = topic_norm_path(base, &hlen);
    path = topic_norm_path(&u, &plen);
    url_free(&u);
    r = -1;
    if (hub && path) {
        if (hlen > 0 && hub[hlen - 1] == '/')
            hlen--; /* a hub URL ending in '/' reserves what is under it all the same */
        r = plen >= hlen && memcmp(path, hub, hlen) == 0 &&
            (plen == hlen || path[hlen] == '/');
    }
    free(hub);
    free(path);
    return r;
}

/* Contract in topic.h. A hub_url that is not an absolute URL answers -1 too (the caller
 * cannot tell what is reserved: nothing may be published). */
int topic_reserved(const char *topic, size_t len, const char *hub_url)
{
    struct url base;
    int r;

    url_init(&base);
    if (url_parse(&base, hub_url, strlen(hub_url), NULL) != 0)
        return -1;
    r = topic_reserved_in(topic, len, &base);
    url_free(&base);
    return r;
}
