/* test_text.c -- unit tests of text: decimal numbers, percent-decoding, form fields, names,
 * program names, UTF-8 (well-formed, whole characters, cleaned) */
#include "config.h"

#include "core/text.h"
#include "channels/chan.h"
#include "http/req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#define CANARY ((char)0x5a)

static void test_parse_uint(void)
{
    unsigned long long v;
    size_t i;

    v = 12345;
    ok(text_parse_uint("0", 0, 10, &v) == 0 && v == 0, "text_parse_uint: 0 in [0,10]");
    ok(text_parse_uint("10", 0, 10, &v) == 0 && v == 10, "text_parse_uint: max 10 in [0,10]");
    ok(text_parse_uint("11", 0, 10, &v) == -1, "text_parse_uint: 11 above [0,10] refused");
    ok(text_parse_uint("5", 5, 10, &v) == 0 && v == 5, "text_parse_uint: min 5 in [5,10]");
    ok(text_parse_uint("4", 5, 10, &v) == -1, "text_parse_uint: 4 below [5,10] refused");
    ok(text_parse_uint("7", 7, 7, &v) == 0 && v == 7, "text_parse_uint: min == max accepted");
    /* a single digit above a max below 9 (max - digit must not wrap around) */
    ok(text_parse_uint("1", 0, 0, &v) == -1, "text_parse_uint: 1 above [0,0] refused");
    ok(text_parse_uint("9", 0, 5, &v) == -1, "text_parse_uint: 9 above [0,5] refused");
    ok(text_parse_uint("5", 0, 5, &v) == 0 && v == 5, "text_parse_uint: 5 in [0,5]");
    ok(text_parse_uint("0005", 0, 10, &v) == 0 && v == 5, "text_parse_uint: leading zeros");
    ok(text_parse_uint("", 0, 10, &v) == -1, "text_parse_uint: empty string refused");
    ok(text_parse_uint("18446744073709551615", 0, 18446744073709551615ULL, &v) == 0 &&
           v == 18446744073709551615ULL,
       "text_parse_uint: 2^64-1 with max 2^64-1");
    ok(text_parse_uint("18446744073709551616", 0, 18446744073709551615ULL, &v) == -1,
       "text_parse_uint: 2^64 overflows, refused");
    ok(text_parse_uint("184467440737095516150", 0, 18446744073709551615ULL, &v) == -1,
       "text_parse_uint: 2^64-1 times 10 refused");
    ok(text_parse_uint("100000000000000000000", 0, 18446744073709551615ULL, &v) == -1,
       "text_parse_uint: 10^20 refused");
    ok(text_parse_uint("9223372036854775806", 0, REQ_LAST_ID_MAX, &v) == 0 &&
           v == REQ_LAST_ID_MAX,
       "text_parse_uint: REQ_LAST_ID_MAX accepted");
    ok(text_parse_uint("9223372036854775807", 0, REQ_LAST_ID_MAX, &v) == -1,
       "text_parse_uint: REQ_LAST_ID_MAX + 1 refused");
    {
        static const char *bad[] = { "-1", "+1", " 1", "1 ", "1a", "0x10", "1.0", "a" };
        int all = 1;
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
            if (text_parse_uint(bad[i], 0, 100, &v) != -1) {
                diag("text_parse_uint accepted \"%s\"", bad[i]);
                all = 0;
            }
        ok(all, "text_parse_uint: sign, space, hex, fraction and letters refused");
    }
    v = 777;
    ok(text_parse_uint("12x", 0, 100, &v) == -1 && v == 777 &&
           text_parse_uint("101", 0, 100, &v) == -1 && v == 777 &&
           text_parse_uint("4", 5, 100, &v) == -1 && v == 777,
       "text_parse_uint: *out untouched by a refusal (letter, above max, below min)");
    ok(text_parse_uint("65535", 1, 65535, &v) == 0 && v == 65535 &&
           text_parse_uint("65536", 1, 65535, &v) == -1 && text_parse_uint("0", 1, 65535, &v) == -1,
       "text_parse_uint: a port's range [1,65535]: 65535 in, 65536 and 0 out");
    ok(text_parse_uint("1844674407370955162", 0, 18446744073709551615ULL, &v) == 0 &&
           v == 1844674407370955162ULL,
       "text_parse_uint: one digit short of 2^64 (the overflow check is not off by a digit)");
    ok(text_parse_uint("18446744073709551614", 0, 18446744073709551614ULL, &v) == 0 &&
           text_parse_uint("18446744073709551615", 0, 18446744073709551614ULL, &v) == -1,
       "text_parse_uint: max 2^64-2 takes 2^64-2 and refuses 2^64-1");
    ok(text_parse_uint("1\0002", 0, 100, &v) == 0 && v == 1,
       "text_parse_uint: reads up to the NUL (a C string)");
}

/* Checks text_u64's output, its length and that it wrote no more than 21 bytes. */
static void check_u64(unsigned long long v, const char *want)
{
    char buf[32];
    size_t n;

    memset(buf, CANARY, sizeof buf);
    n = text_u64(buf, v);
    ok(n == strlen(want) && strcmp(buf, want) == 0 && buf[21] == CANARY,
       "text_u64(%llu) is \"%s\", length %zu, NUL-terminated", v, want, strlen(want));
}

static void test_u64(void)
{
    check_u64(0, "0");
    check_u64(9, "9");
    check_u64(10, "10");
    check_u64(1000000000ULL, "1000000000");
    check_u64(18446744073709551615ULL, "18446744073709551615");
}

/* text_decode of the C string s into a buffer of cap bytes (at most 64): its result,
 * the output in got. */
static long dec(const char *s, int plus, size_t cap, char *got)
{
    char out[65];
    long n;

    memset(out, CANARY, sizeof out);
    n = text_decode(s, strlen(s), plus, out, cap);
    if (n >= 0 && (out[n] != '\0' || (size_t)n >= cap))
        return -2; /* not NUL-terminated within cap */
    if (cap < sizeof out && out[cap] != CANARY)
        return -3; /* wrote past cap */
    if (n >= 0)
        memcpy(got, out, (size_t)n + 1);
    return n;
}

static void test_decode(void)
{
    char got[65];
    long n;

    ok(dec("", 0, 8, got) == 0 && got[0] == '\0', "text_decode: empty gives \"\"");
    ok(dec("abc", 0, 8, got) == 3 && strcmp(got, "abc") == 0, "text_decode: plain text is copied");
    ok(dec("a%41%4a%4A%7e", 0, 16, got) == 5 && strcmp(got, "aAJJ~") == 0,
       "text_decode: %%41 -> A, hex digits in either case (got %s)", got);
    ok(dec("a+b", 1, 8, got) == 3 && strcmp(got, "a b") == 0, "text_decode: '+' is a space in a form");
    ok(dec("a+b", 0, 8, got) == 3 && strcmp(got, "a+b") == 0, "text_decode: '+' stays '+' in a path");
    ok(dec("%2B", 1, 8, got) == 1 && strcmp(got, "+") == 0, "text_decode: %%2B is '+', even in a form");
    ok(dec("%", 0, 8, got) == -1, "text_decode: a lone %% refused");
    ok(dec("a%4", 0, 8, got) == -1, "text_decode: an escape cut at the end refused");
    ok(dec("%zz", 0, 8, got) == -1 && dec("%4g", 0, 8, got) == -1 && dec("%g4", 0, 8, got) == -1,
       "text_decode: a non-hex escape refused");
    ok(dec("a%00b", 0, 8, got) == -1, "text_decode: an escaped NUL refused");
    ok(dec("%0d%0a", 0, 8, got) == 2 && strcmp(got, "\r\n") == 0,
       "text_decode: %%0d%%0a decodes to CR LF (the caller checks what it may hold)");
    ok(dec("abc", 0, 4, got) == 3 && strcmp(got, "abc") == 0, "text_decode: 3 bytes fit in 4 (with the NUL)");
    ok(dec("abc", 0, 3, got) == -1, "text_decode: 3 bytes do not fit in 3");
    ok(dec("%41%41%41", 0, 4, got) == 3 && dec("%41%41%41%41", 0, 4, got) == -1,
       "text_decode: the cap counts decoded bytes, not escapes");
    ok(dec("a", 0, 0, got) == -1, "text_decode: cap 0 refused");
    n = text_decode("ab%41zz", 5, 0, got, sizeof got);
    ok(n == 3 && strcmp(got, "abA") == 0, "text_decode: reads only n bytes");
    n = text_decode("a%4", 3, 0, got, sizeof got);
    ok(n == -1, "text_decode: an escape whose digits lie past n is cut, refused");
}

/* The fields text_form_next finds in q (seps), as "name=value|" each. */
static const char *fields(const char *q, const char *seps)
{
    static char out[256];
    struct text_field f;
    size_t n = 0;
    int guard = 0;

    out[0] = '\0';
    while (text_form_next(&q, seps, &f) && guard++ < 20) {
        int m = snprintf(out + n, sizeof out - n, "%.*s=%.*s|", (int)f.name_len, f.name,
                         (int)f.value_len, f.value);
        if (m < 0 || (size_t)m >= sizeof out - n)
            break;
        n += (size_t)m;
    }
    return out;
}

static void test_form_next(void)
{
    const char *q = "a=1", *end;
    struct text_field f;

    ok(strcmp(fields("a=1&b=2", "&"), "a=1|b=2|") == 0, "text_form_next: two pairs (%s)",
       fields("a=1&b=2", "&"));
    ok(strcmp(fields("a=1;b=2&c=3", "&;"), "a=1|b=2|c=3|") == 0,
       "text_form_next: ';' separates too when asked (%s)", fields("a=1;b=2&c=3", "&;"));
    ok(strcmp(fields("a=1;b=2", "&"), "a=1;b=2|") == 0,
       "text_form_next: ';' is part of the value with \"&\" alone (%s)", fields("a=1;b=2", "&"));
    ok(strcmp(fields("&&a=1&&&b=&", "&"), "a=1|b=|") == 0,
       "text_form_next: empty pairs passed over, an empty value kept (%s)",
       fields("&&a=1&&&b=&", "&"));
    ok(strcmp(fields("flag&x=y", "&"), "flag=|x=y|") == 0,
       "text_form_next: a pair without '=' has an empty value (%s)", fields("flag&x=y", "&"));
    ok(strcmp(fields("=v&a=b=c", "&"), "=v|a=b=c|") == 0,
       "text_form_next: an empty name; a value holding '=' (%s)", fields("=v&a=b=c", "&"));
    ok(strcmp(fields("a%26b=c%3Dd", "&"), "a%26b=c%3Dd|") == 0,
       "text_form_next: escapes are left undecoded (%s)", fields("a%26b=c%3Dd", "&"));
    ok(strcmp(fields("", "&"), "") == 0 && strcmp(fields("&&&", "&"), "") == 0,
       "text_form_next: no pair in \"\" or \"&&&\"");
    end = q + strlen(q);
    ok(text_form_next(&q, "&", &f) == 1 && q == end && text_form_next(&q, "&", &f) == 0 && q == end,
       "text_form_next: *q moves to the end, then 0");
}

static int allowed(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == ':' || c == '-';
}

static void test_name_ok(void)
{
    char name[300];
    int c, all = 1;

    memset(name, 'a', sizeof name);
    name[1] = '\0';
    ok(text_name_ok(name, CHAN_NAME_MAX), "text_name_ok: 1 byte");
    name[1] = 'a';
    name[CHAN_NAME_MAX] = '\0';
    ok(text_name_ok(name, CHAN_NAME_MAX), "text_name_ok: 128 bytes");
    name[CHAN_NAME_MAX] = 'a';
    name[CHAN_NAME_MAX + 1] = '\0';
    ok(!text_name_ok(name, CHAN_NAME_MAX), "text_name_ok: 129 bytes refused");
    name[CHAN_NAME_MAX + 1] = 'a';
    name[250] = '\0';
    ok(!text_name_ok(name, CHAN_NAME_MAX), "text_name_ok: 250 bytes refused");
    ok(!text_name_ok("", CHAN_NAME_MAX), "text_name_ok: empty refused");
    name[CHAN_TYPE_MAX] = '\0';
    ok(text_name_ok(name, CHAN_TYPE_MAX), "event type: 64 bytes");
    name[CHAN_TYPE_MAX] = 'a';
    name[CHAN_TYPE_MAX + 1] = '\0';
    ok(!text_name_ok(name, CHAN_TYPE_MAX), "event type: 65 bytes refused");
    ok(text_name_ok(name, CHAN_NAME_MAX), "the same 65 bytes are a valid channel name");
    ok(text_name_ok("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-",
                    CHAN_NAME_MAX),
       "text_name_ok: every allowed character in one name");
    for (c = 1; c < 256; c++) {
        char one[2] = { (char)c, '\0' };
        char mid3[4] = { 'a', (char)c, 'b', '\0' };
        if (text_name_ok(one, CHAN_NAME_MAX) != allowed(c) ||
            text_name_ok(mid3, CHAN_NAME_MAX) != allowed(c)) {
            diag("byte 0x%02x: got %d/%d, want %d", c, text_name_ok(one, CHAN_NAME_MAX),
                 text_name_ok(mid3, CHAN_NAME_MAX), allowed(c));
            all = 0;
        }
    }
    ok(all, "text_name_ok: each byte 1..255 alone and mid-name is accepted iff in "
            "[A-Za-z0-9_.:-]");
    ok(!text_name_ok("a b", CHAN_NAME_MAX), "text_name_ok: space refused");
    ok(!text_name_ok("a/b", CHAN_NAME_MAX), "text_name_ok: '/' refused");
    ok(!text_name_ok("a%2Fb", CHAN_NAME_MAX), "text_name_ok: '%%' refused");
    ok(!text_name_ok("caf\xc3\xa9", CHAN_NAME_MAX), "text_name_ok: UTF-8 (high bytes) refused");
    ok(!text_name_ok("\xff", CHAN_NAME_MAX), "text_name_ok: byte 0xff refused");
    ok(!text_name_ok("a\nb", CHAN_NAME_MAX) && !text_name_ok("a\rb", CHAN_NAME_MAX),
       "text_name_ok: CR and LF refused");
    ok(!text_name_ok("ab/", CHAN_NAME_MAX) && !text_name_ok("/ab", CHAN_NAME_MAX),
       "text_name_ok: a forbidden byte first or last refused");
}

static void test_utf8_ok(void)
{
    static const struct {
        const char *s;
        size_t n;
        int want;
        const char *what;
    } cases[] = {
        { "", 0, 1, "empty" },
        { "hello, world\n\r\t~", 16, 1, "ASCII with controls" },
        { "\x7f", 1, 1, "DEL" },
        { "\xc2\x80", 2, 1, "2 bytes, U+0080 (the smallest)" },
        { "\xdf\xbf", 2, 1, "2 bytes, U+07FF" },
        { "caf\xc3\xa9", 5, 1, "2 bytes in a word" },
        { "\xe0\xa0\x80", 3, 1, "3 bytes, U+0800 (the smallest)" },
        { "\xe2\x82\xac", 3, 1, "3 bytes, the euro sign" },
        { "\xed\x9f\xbf", 3, 1, "3 bytes, U+D7FF (below the surrogates)" },
        { "\xee\x80\x80", 3, 1, "3 bytes, U+E000 (above the surrogates)" },
        { "\xef\xbf\xbf", 3, 1, "3 bytes, U+FFFF" },
        { "\xf0\x90\x80\x80", 4, 1, "4 bytes, U+10000 (the smallest)" },
        { "\xf0\x9f\x98\x80", 4, 1, "4 bytes, an emoji" },
        { "\xf4\x8f\xbf\xbf", 4, 1, "4 bytes, U+10FFFF (the largest)" },
        { "a\0b", 3, 0, "NUL refused" },
        { "\0", 1, 0, "a lone NUL refused" },
        { "\xc0\x80", 2, 0, "overlong C0 80 refused" },
        { "\xc1\xbf", 2, 0, "overlong C1 BF refused" },
        { "\xe0\x80\x80", 3, 0, "overlong E0 80 80 refused" },
        { "\xe0\x9f\xbf", 3, 0, "overlong E0 9F BF refused" },
        { "\xf0\x80\x80\x80", 4, 0, "overlong F0 80 80 80 refused" },
        { "\xf0\x8f\xbf\xbf", 4, 0, "overlong F0 8F BF BF refused" },
        { "\xed\xa0\x80", 3, 0, "surrogate ED A0 80 (U+D800) refused" },
        { "\xed\xbf\xbf", 3, 0, "surrogate ED BF BF (U+DFFF) refused" },
        { "\xed\xa0\xbd\xed\xb8\x80", 6, 0, "a CESU-8 surrogate pair refused" },
        { "\xf4\x90\x80\x80", 4, 0, "F4 90 80 80 (U+110000) refused" },
        { "\xf5\x80\x80\x80", 4, 0, "lead byte F5 refused" },
        { "\xf8\x88\x80\x80\x80", 5, 0, "5-byte form refused" },
        { "\xfe", 1, 0, "byte FE refused" },
        { "\xff", 1, 0, "byte FF refused" },
        { "a\xc3", 2, 0, "truncated 2-byte form at the end refused" },
        { "a\xe2\x82", 3, 0, "truncated 3-byte form at the end refused" },
        { "a\xf0\x9f\x98", 4, 0, "truncated 4-byte form at the end refused" },
        { "\xf0", 1, 0, "a lone 4-byte lead refused" },
        { "\x80", 1, 0, "a stray continuation byte refused" },
        { "a\xbf" "b", 3, 0, "a stray continuation byte mid-text refused" },
        { "\xc3\xa9\xa9", 3, 0, "a continuation byte after a complete form refused" },
        { "\xe2\x28\xa1", 3, 0, "a 3-byte form broken by ASCII refused" },
        { "\xc3" "a", 2, 0, "a 2-byte lead followed by ASCII refused" },
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ok(text_utf8_ok(cases[i].s, cases[i].n) == cases[i].want, "text_utf8_ok: %s",
           cases[i].what);
    ok(text_utf8_ok("\xe2\x82\xac\xe2\x82", 3) == 1,
       "text_utf8_ok reads only n bytes (a valid prefix of a longer buffer)");
}

static void test_program_name_ok(void)
{
    ok(text_program_name_ok("a.b", 3) && !text_program_name_ok("..", 2) && !text_program_name_ok("", 0) &&
           !text_program_name_ok("a/", 2), "text_program_name_ok: the NAME rule");
    {
        char name[80];

        memset(name, 'a', sizeof name);
        ok(text_program_name_ok(name, TEXT_PROGRAM_NAME_MAX) &&
               !text_program_name_ok(name, TEXT_PROGRAM_NAME_MAX + 1),
           "text_program_name_ok: 64 bytes, not 65");
    }
    ok(!text_program_name_ok(".", 1) && !text_program_name_ok("...", 3) &&
           text_program_name_ok(".a", 2) && text_program_name_ok("a..", 3),
       "text_program_name_ok: dots alone refused, dots with a letter accepted");
    ok(text_program_name_ok("A-Z_a-z.0-9", 11), "text_program_name_ok: letters, digits, _ . -");
    ok(!text_program_name_ok("a:b", 3) && !text_program_name_ok("a b", 3) &&
           !text_program_name_ok("a%2f", 4) && !text_program_name_ok("caf\xc3\xa9", 5),
       "text_program_name_ok: ':' (a channel name's), space, '%%' and UTF-8 refused");
    ok(text_program_name_ok("ab/", 2) && !text_program_name_ok("ab\0", 3),
       "text_program_name_ok: exactly len bytes are read (a NUL among them refused)");
}

static void test_utf8_whole_clean(void)
{
    char text[16];

    ok(text_utf8_whole("abc", 3) == 3, "text_utf8_whole: ASCII");
    ok(text_utf8_whole("a\xc3", 2) == 1, "text_utf8_whole: a 2-byte lead at the end is held back");
    ok(text_utf8_whole("a\xe2\x9c", 3) == 1, "text_utf8_whole: 2 of 3 bytes held back");
    ok(text_utf8_whole("a\xf0\x9f\x98", 4) == 1, "text_utf8_whole: 3 of 4 bytes held back");
    ok(text_utf8_whole("a\xf0\x9f\x98\x80", 5) == 5, "text_utf8_whole: a complete 4-byte character");
    ok(text_utf8_whole("a\xe2\x9c\x93", 4) == 4, "text_utf8_whole: a complete 3-byte character");
    ok(text_utf8_whole("\x80\x80\x80\x80", 4) == 4, "text_utf8_whole: stray continuations are not held");
    ok(text_utf8_whole("", 0) == 0, "text_utf8_whole: empty");
    memcpy(text, "a\xff\xc3\x28\xed\xa0\x80z", 9);
    text_utf8_clean(text, 8);
    ok(memcmp(text, "a?" "?(?" "?" "?z", 8) == 0, "text_utf8_clean: invalid bytes, a bad sequence and a surrogate "
                                          "become '?'");
    memcpy(text, "\xc3\xa9\xe2\x9c\x93", 6);
    text_utf8_clean(text, 5);
    ok(memcmp(text, "\xc3\xa9\xe2\x9c\x93", 5) == 0, "text_utf8_clean: valid text is untouched");
    ok(text_utf8_whole("a\xc3\xa9", 3) == 3, "text_utf8_whole: a complete 2-byte character");
    ok(text_utf8_whole("\xe2\x82", 2) == 0 && text_utf8_whole("\xf0", 1) == 0,
       "text_utf8_whole: nothing whole yet: 0");
    ok(text_utf8_whole("ab\xf0\x9f\x98\x80\xe2", 7) == 6,
       "text_utf8_whole: only the last, unfinished character is held back");
    ok(text_utf8_whole("a\xff", 2) == 2 && text_utf8_whole("a\xc0", 2) == 2,
       "text_utf8_whole: a byte that starts no character is not held back (it is cleaned)");
    memcpy(text, "\xc0\x80\xe0\x80\x80!", 7);
    text_utf8_clean(text, 6);
    ok(memcmp(text, "?????" "!", 6) == 0, "text_utf8_clean: overlong forms become '?' (got %.6s)", text);
    memcpy(text, "\xf4\x90\x80\x80\xed\xbf\xbf", 8);
    text_utf8_clean(text, 7);
    ok(memcmp(text, "???????", 7) == 0,
       "text_utf8_clean: past U+10FFFF and a surrogate become '?' (got %.7s)", text);
    memcpy(text, "ok\xe2\x82", 5);
    text_utf8_clean(text, 4);
    ok(memcmp(text, "ok??", 4) == 0, "text_utf8_clean: a sequence truncated at the end becomes '?'");
    memcpy(text, "a\0b\xf0\x9f\x98\x80", 8);
    text_utf8_clean(text, 7);
    ok(memcmp(text, "a?b\xf0\x9f\x98\x80", 7) == 0,
       "text_utf8_clean: a NUL becomes '?', a 4-byte character stays");
    memcpy(text, "x\xff\xff", 4);
    text_utf8_clean(text, 1);
    text_utf8_clean(text + 1, 0);
    ok(memcmp(text, "x\xff\xff", 4) == 0, "text_utf8_clean: touches only n bytes");
}

int main(void)
{
    test_parse_uint();
    test_u64();
    test_decode();
    test_form_next();
    test_name_ok();
    test_program_name_ok();
    test_utf8_ok();
    test_utf8_whole_clean();
    return done_testing();
}
