/* uuid.c -- the ids the Mercure hub makes: UUIDv7 carrying a message's MS-SEQ and back, random UUIDv4 (pure) */
#include "config.h"

#include "mercure/uuid.h"
#include "core/text.h"

#include <string.h>
#include <strings.h>

static const char uuid_prefix[] = "urn:uuid:";
#define UUID_PREFIX_LEN (sizeof uuid_prefix - 1)

/* Writes "urn:uuid:" and the 16 bytes b as 8-4-4-4-12 lower-case hex, NUL-terminated.
 * Returns 45. */
static size_t uuid_write(char *out, const unsigned char b[16])
{
    static const char hex[] = "0123456789abcdef";
    size_t i, o = UUID_PREFIX_LEN;

    memcpy(out, uuid_prefix, UUID_PREFIX_LEN);
    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
    return o;
}

size_t uuid_from_msgid(char *out, unsigned long long ms, unsigned long long seq)
{
    unsigned char b[16];
    unsigned long long rand_a = (seq >> 62) & 0xfff, rand_b = seq & ((1ULL << 62) - 1);
    int i;

    for (i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (8 * (5 - i)));
    b[6] = (unsigned char)(0x70 | (rand_a >> 8));
    b[7] = (unsigned char)rand_a;
    b[8] = (unsigned char)(0x80 | (rand_b >> 56));
    for (i = 9; i < 16; i++)
        b[i] = (unsigned char)(rand_b >> (8 * (15 - i)));
    return uuid_write(out, b);
}

int uuid_to_msgid(const char *s, size_t len, unsigned long long *ms, unsigned long long *seq)
{
    unsigned char b[16];
    unsigned long long rand_a, rand_b = 0, t = 0;
    size_t i, k = 0;

    if (len != UUID_PREFIX_LEN + 36 || strncasecmp(s, uuid_prefix, UUID_PREFIX_LEN) != 0)
        return -1;
    s += UUID_PREFIX_LEN;
    for (i = 0; i < 36; i++) {
        int hi, lo;

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return -1;
            continue;
        }
        if ((hi = text_hexval(s[i])) < 0 || (lo = text_hexval(s[i + 1])) < 0)
            return -1;
        b[k++] = (unsigned char)(hi * 16 + lo);
        i++;
    }
    if ((b[6] & 0xf0) != 0x70 || (b[8] & 0xc0) != 0x80)
        return -1;
    rand_a = ((unsigned long long)(b[6] & 0x0f) << 8) | b[7];
    if (rand_a > 1)
        return -1; /* a counter of 2^63 or more: no id of this hub */
    for (i = 0; i < 6; i++)
        t = (t << 8) | b[i];
    rand_b = b[8] & 0x3fu;
    for (i = 9; i < 16; i++)
        rand_b = (rand_b << 8) | b[i];
    *ms = t;
    *seq = (rand_a << 62) | rand_b;
    return 0;
}

size_t uuid_v4(char *out, const unsigned char rnd[16])
{
    unsigned char b[16];

    memcpy(b, rnd, 16);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    return uuid_write(out, b);
}
