/* text.c -- text the responder reads and writes: decimal numbers, hex digits, percent-decoding, names, UTF-8, a refusal's line (pure) */
#include "config.h"

#include "core/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int text_parse_uint(const char *s, unsigned long long min, unsigned long long max,
                    unsigned long long *out)
{
    unsigned long long v = 0;

    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        unsigned d;
        if (*s < '0' || *s > '9')
            return -1;
        d = (unsigned)(*s - '0');
        if (d > max || v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (v < min)
        return -1;
    *out = v;
    return 0;
}

size_t text_u64(char *buf, unsigned long long v)
{
    char tmp[24];
    size_t n = 0, i;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return n;
}

int text_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long text_decode(const char *s, size_t n, int plus, char *out, size_t cap)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= n)
                return -1;
            hi = text_hexval(s[i + 1]);
            lo = text_hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (c == '\0' || o + 1 >= cap)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return (long)o;
}

int text_form_next(const char **q, const char *seps, struct text_field *f)
{
    const char *p = *q;

    for (;;) {
        size_t n = strcspn(p, seps);
        const char *eq = memchr(p, '=', n);

        if (n == 0) {
            if (!*p)
                return 0;
            p++;
            continue;
        }
        f->name = p;
        f->name_len = eq ? (size_t)(eq - p) : n;
        f->value = eq ? eq + 1 : p + n;
        f->value_len = eq ? n - f->name_len - 1 : 0;
        *q = p[n] ? p + n + 1 : p + n;
        return 1;
    }
}

/* 1 when c is a letter, a digit, or one of punct. */
static int text_name_char(char c, const char *punct)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr(punct, c));
}

int text_name_ok(const char *s, size_t max)
{
    size_t n = 0;

    for (; s[n]; n++)
        if (n >= max || !text_name_char(s[n], "_.:-"))
            return 0;
    return n > 0;
}

int text_program_name_ok(const char *s, size_t len)
{
    size_t i, dots = 0;

    if (len == 0 || len > TEXT_PROGRAM_NAME_MAX)
        return 0;
    for (i = 0; i < len; i++) {
        if (!text_name_char(s[i], "_.-"))
            return 0;
        dots += s[i] == '.';
    }
    return dots < len;
}

/* The length of the UTF-8 sequence a lead byte c starts, or 0 if it starts none. */
static size_t text_utf8_len(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return 2;
    if (c >= 0xe0 && c <= 0xef)
        return 3;
    if (c >= 0xf0 && c <= 0xf4)
        return 4;
    return 0;
}

/* 1 when s[0, len) (len = text_utf8_len(s[0])) is one well-formed character, not NUL. */
static int text_utf8_char(const unsigned char *s, size_t len)
{
    unsigned long cp = len == 1 ? s[0] : len == 2 ? (s[0] & 0x1fu) : len == 3 ? (s[0] & 0x0fu)
                                                                                : (s[0] & 0x07u);
    size_t k;

    if (len == 1)
        return s[0] != 0;
    for (k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    return !((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
             (cp >= 0xd800 && cp <= 0xdfff));
}

int text_utf8_ok(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < n) {
        size_t len = text_utf8_len(s[i]);
        if (!len || len > n - i || !text_utf8_char(s + i, len))
            return 0;
        i += len;
    }
    return 1;
}

size_t text_utf8_whole(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t back;

    /* find the last lead byte among the final 3 bytes */
    for (back = 1; back <= 3 && back <= n; back++) {
        unsigned char c = s[n - back];
        if ((c & 0xc0) == 0x80)
            continue;            /* a continuation byte: look further back */
        if (text_utf8_len(c) > back)
            return n - back;     /* its character has not all arrived */
        return n;
    }
    return n;
}

void text_utf8_clean(char *str, size_t n)
{
    unsigned char *s = (unsigned char *)str;
    size_t i = 0;

    while (i < n) {
        size_t len = text_utf8_len(s[i]);
        if (len && len <= n - i && text_utf8_char(s + i, len)) {
            i += len;
            continue;
        }
        s[i++] = '?';
    }
}

int text_fail(int status, char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (whylen) {
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return status;
}
