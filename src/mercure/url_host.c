/* url_host.c -- the URL Standard's host parser: domains (UTS#46 via libidn2), IPv4, IPv6, opaque hosts (pure) */
#include "config.h"

#include "mercure/url_int.h"
#include "core/text.h"

#include <idn2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Limits: the percent-decoded domain is at most URL_MAX_INPUT bytes (its input is).
 * Domains that are not ASCII go through libidn2 (idn2_to_ascii_8z, UTS#46
 * non-transitional mapping with NFC, then IDNA2008 checks). Where UTS#46 as the URL
 * Standard sets it up (CheckHyphens, UseSTD3ASCIIRules and VerifyDnsLength false)
 * accepts more than libidn2, such a host is a failure here: a label with '-' first,
 * last or in positions 3-4 ("ü-.de"), a code point IDNA2008 disallows though UTS#46
 * keeps it (symbols and emoji such as "☕.example"), a label over 63 or a name over 253
 * octets once in ASCII. All-ASCII domains never reach libidn2 (the standard lowercases
 * them whatever UTS#46 says). */

static int forbidden_host(unsigned char c)
{
    switch (c) {
    case 0: case '\t': case '\n': case '\r': case ' ': case '#': case '/': case ':':
    case '<': case '>': case '?': case '@': case '[': case '\\': case ']': case '^': case '|':
        return 1;
    }
    return 0;
}

static int forbidden_domain(unsigned char c)
{
    return forbidden_host(c) || c < 0x20 || c == '%' || c == 0x7f;
}

/* ---- IPv6 */

/* The IPv6 parser's IPv4 part at in[*pp, len) into a[*piece...]. 0 or URL_EINVALID. */
static int ipv4_in_ipv6(const char *in, size_t len, size_t *pp, uint16_t a[8], int *piece)
{
    size_t p = *pp;
    int seen = 0;

#define C (p < len ? (unsigned char)in[p] : -1)
    if (*piece > 6)
        return URL_EINVALID;
    while (C != -1) {
        int v4 = -1;

        if (seen > 0) {
            if (C == '.' && seen < 4)
                p++;
            else
                return URL_EINVALID;
        }
        if (C == -1 || C < '0' || C > '9')
            return URL_EINVALID;
        while (C != -1 && C >= '0' && C <= '9') {
            int n = C - '0';

            if (v4 < 0)
                v4 = n;
            else if (v4 == 0)
                return URL_EINVALID;
            else
                v4 = v4 * 10 + n;
            if (v4 > 255)
                return URL_EINVALID;
            p++;
        }
        a[*piece] = (uint16_t)(a[*piece] * 0x100 + v4);
        seen++;
        if (seen == 2 || seen == 4)
            (*piece)++;
    }
#undef C
    *pp = p;
    return seen == 4 ? 0 : URL_EINVALID;
}

/* The IPv6 parser on in[0, len) into 8 pieces. 0 or URL_EINVALID. */
static int ipv6_parse(const char *in, size_t len, uint16_t a[8])
{
    size_t p = 0;
    int piece = 0, compress = -1;

#define C (p < len ? (unsigned char)in[p] : -1)
    memset(a, 0, 8 * sizeof a[0]);
    if (C == ':') {
        if (p + 1 >= len || in[p + 1] != ':')
            return URL_EINVALID;
        p += 2;
        compress = ++piece;
    }
    while (C != -1) {
        unsigned value = 0, length = 0;

        if (piece == 8)
            return URL_EINVALID;
        if (C == ':') {
            if (compress >= 0)
                return URL_EINVALID;
            p++;
            compress = ++piece;
            continue;
        }
        while (length < 4 && C != -1 && text_hexval(C) >= 0) {
            value = value * 16 + (unsigned)text_hexval(C);
            p++;
            length++;
        }
        if (C == '.') {
            if (length == 0)
                return URL_EINVALID;
            p -= length;
            if (ipv4_in_ipv6(in, len, &p, a, &piece))
                return URL_EINVALID;
            break;
        } else if (C == ':') {
            p++;
            if (C == -1)
                return URL_EINVALID;
        } else if (C != -1) {
            return URL_EINVALID;
        }
        a[piece++] = (uint16_t)value;
    }
#undef C
    if (compress >= 0) {
        int swaps = piece - compress;

        piece = 7;
        while (piece != 0 && swaps > 0) {
            uint16_t t = a[piece];

            a[piece] = a[compress + swaps - 1];
            a[compress + swaps - 1] = t;
            piece--;
            swaps--;
        }
    } else if (piece != 8) {
        return URL_EINVALID;
    }
    return 0;
}

/* The IPv6 serializer, with the brackets. */
static int ipv6_serialize(const uint16_t a[8], struct url_buf *out)
{
    int longest = -1, longest_size = 1, found = -1, found_size = 0, ignore0 = 0, r;

    for (int i = 0; i < 8; i++) {
        if (a[i] != 0) {
            if (found_size > longest_size)
                longest = found, longest_size = found_size;
            found = -1;
            found_size = 0;
        } else {
            if (found < 0)
                found = i;
            found_size++;
        }
    }
    if (found_size > longest_size)
        longest = found;
    if ((r = url_buf_putc(out, '[')))
        return r;
    for (int i = 0; i < 8; i++) {
        static const char hex[] = "0123456789abcdef";
        char t[5];
        int n = 0, shift;

        if (ignore0 && a[i] == 0)
            continue;
        ignore0 = 0;
        if (longest == i) {
            if ((r = url_buf_put(out, i == 0 ? "::" : ":", i == 0 ? 2 : 1)))
                return r;
            ignore0 = 1;
            continue;
        }
        for (shift = 12; shift > 0 && ((a[i] >> shift) & 15) == 0; shift -= 4)
            ;
        for (; shift >= 0; shift -= 4)
            t[n++] = hex[(a[i] >> shift) & 15];
        if (i != 7)
            t[n++] = ':';
        if ((r = url_buf_put(out, t, (size_t)n)))
            return r;
    }
    return url_buf_putc(out, ']');
}

/* ---- IPv4 */

/* The IPv4 number parser on s[0, n): 0 with *v, or -1 (failure). Values above 2^32
 * saturate (any such number fails the IPv4 parser anyway). */
static int ipv4_number(const char *s, size_t n, uint64_t *v)
{
    unsigned radix = 10;
    uint64_t x = 0;

    if (n == 0)
        return -1;
    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2, n -= 2, radix = 16;
    else if (n >= 2 && s[0] == '0')
        s += 1, n -= 1, radix = 8;
    for (size_t i = 0; i < n; i++) {
        int d = text_hexval((unsigned char)s[i]);

        if (d < 0 || (unsigned)d >= radix)
            return -1;
        x = x * radix + (unsigned)d;
        if (x > 0xffffffffull)
            x = 0x100000000ull;
    }
    *v = x;
    return 0;
}

/* The last label of s[0, n) (a trailing empty one dropped) as [*start, *start + *len). */
static void last_label(const char *s, size_t n, size_t *start, size_t *len)
{
    size_t end = n, i;

    if (end > 0 && s[end - 1] == '.')
        end--;
    for (i = end; i > 0 && s[i - 1] != '.'; i--)
        ;
    *start = i;
    *len = end - i;
}

/* The ends-in-a-number checker. */
static int ends_in_number(const char *s, size_t n)
{
    size_t st, ln, i;
    uint64_t v;

    last_label(s, n, &st, &ln);
    if (ln > 0) {
        for (i = 0; i < ln && s[st + i] >= '0' && s[st + i] <= '9'; i++)
            ;
        if (i == ln)
            return 1;
    }
    return ipv4_number(s + st, ln, &v) == 0;
}

/* The IPv4 parser; appends the serialization. 0 or URL_EINVALID. */
static int ipv4_parse(const char *s, size_t n, struct url_buf *out)
{
    uint64_t num[4], ip;
    size_t parts = 0, i = 0;
    char t[16];
    int k;

    if (n > 0 && s[n - 1] == '.' && n > 1)
        n--; /* a trailing empty part goes when there are others */
    for (;;) {
        size_t j = i;

        while (j < n && s[j] != '.')
            j++;
        if (parts == 4 || ipv4_number(s + i, j - i, &num[parts]) != 0)
            return URL_EINVALID;
        parts++;
        if (j == n)
            break;
        i = j + 1;
    }
    for (i = 0; i + 1 < parts; i++)
        if (num[i] > 255)
            return URL_EINVALID;
    if (num[parts - 1] >= (1ull << (8 * (5 - parts))))
        return URL_EINVALID;
    ip = num[parts - 1];
    for (i = 0; i + 1 < parts; i++)
        ip += num[i] << (8 * (3 - i));
    k = 0;
    for (int b = 3; b >= 0; b--) {
        unsigned o = (unsigned)((ip >> (8 * b)) & 255);

        if (o >= 100)
            t[k++] = (char)('0' + o / 100);
        if (o >= 10)
            t[k++] = (char)('0' + o / 10 % 10);
        t[k++] = (char)('0' + o % 10);
        if (b)
            t[k++] = '.';
    }
    return url_buf_put(out, t, (size_t)k);
}

/* ---- domains */

/* domain to ASCII (beStrict false) on the UTF-8 d[0, n), into out. */
static int domain_to_ascii(const char *d, size_t n, struct url_buf *out, const char **why)
{
    size_t i;
    int ascii = 1, r;

    for (i = 0; i < n; i++)
        if ((unsigned char)d[i] >= 0x80)
            ascii = 0;
    if (ascii) {
        for (i = 0; i < n; i++) {
            char c = d[i];

            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if ((r = url_buf_putc(out, c)))
                return r;
        }
    } else {
        char *z = malloc(n + 1), *o = NULL;

        if (!z)
            return URL_ENOMEM;
        memcpy(z, d, n);
        z[n] = '\0';
        r = idn2_to_ascii_8z(z, &o, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
        free(z);
        if (r == IDN2_MALLOC)
            return URL_ENOMEM;
        if (r != IDN2_OK) {
            idn2_free(o);
            *why = "the host is not a valid internationalized domain name";
            return URL_EINVALID;
        }
        r = url_buf_put(out, o, strlen(o));
        idn2_free(o);
        if (r)
            return r;
    }
    if (out->len == 0) {
        *why = "the host is empty";
        return URL_EINVALID;
    }
    for (i = 0; i < out->len; i++)
        if (forbidden_domain((unsigned char)out->p[i])) {
            *why = "the host has a forbidden code point";
            return URL_EINVALID;
        }
    return 0;
}

static int opaque_host(const char *in, size_t len, struct url_buf *out, const char **why)
{
    for (size_t i = 0; i < len; i++)
        if (forbidden_host((unsigned char)in[i])) {
            *why = "the host has a forbidden code point";
            return URL_EINVALID;
        }
    return url_buf_put_encoded(out, in, len, URL_SET_C0);
}

int url_host_parse(const char *in, size_t len, int is_opaque, struct url_buf *out,
                   enum url_host_kind *kind, const char **why)
{
    struct url_buf dec = {0}, ascii = {0};
    uint16_t a6[8];
    size_t i;
    int r;

    url_buf_clear(out);
    if (len > 0 && in[0] == '[') {
        if (in[len - 1] != ']' || len < 2 || ipv6_parse(in + 1, len - 2, a6) != 0) {
            *why = "the host is not a valid IPv6 address";
            return URL_EINVALID;
        }
        *kind = URL_HOST_IPV6;
        return ipv6_serialize(a6, out);
    }
    if (is_opaque) {
        *kind = URL_HOST_OPAQUE;
        return opaque_host(in, len, out, why);
    }
    for (i = 0, r = 0; i < len && r == 0; i++) {
        int h, l;

        if (in[i] == '%' && i + 2 < len && (h = text_hexval((unsigned char)in[i + 1])) >= 0 &&
            (l = text_hexval((unsigned char)in[i + 2])) >= 0) {
            r = url_buf_putc(&dec, (char)(h * 16 + l));
            i += 2;
        } else {
            r = url_buf_putc(&dec, in[i]);
        }
    }
    if (r == 0 && !url_utf8_valid(url_buf_str(&dec), dec.len)) {
        *why = "the host is not UTF-8 once percent-decoded";
        r = URL_EINVALID;
    }
    if (r == 0)
        r = domain_to_ascii(url_buf_str(&dec), dec.len, &ascii, why);
    url_buf_free(&dec);
    if (r == 0 && ends_in_number(ascii.p, ascii.len)) {
        *kind = URL_HOST_IPV4;
        r = ipv4_parse(ascii.p, ascii.len, out);
        if (r == URL_EINVALID)
            *why = "the host is not a valid IPv4 address";
    } else if (r == 0) {
        *kind = URL_HOST_DOMAIN;
        r = url_buf_put(out, ascii.p, ascii.len);
    }
    url_buf_free(&ascii);
    return r;
}
