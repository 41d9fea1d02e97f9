/* text.h -- text the responder reads and writes: decimal numbers, percent-decoding, names, UTF-8 (pure) */
#ifndef FCGI_SSE_CORE_TEXT_H
#define FCGI_SSE_CORE_TEXT_H

#include <stddef.h>

/* Parses a decimal integer in [min, max]: digits only, no sign, no space,
 * no leading '+'. Returns 0 and sets *out, or -1 (*out untouched). */
int text_parse_uint(const char *s, unsigned long long min, unsigned long long max,
                    unsigned long long *out);

/* Writes v in decimal and a NUL into buf (at least 21 bytes); returns the
 * number of digits. */
size_t text_u64(char *buf, unsigned long long v);

/* Percent-decodes s[0..n) into out (cap bytes incl. NUL); '+' becomes a
 * space when plus is set (form encoding). Returns the decoded length, or
 * -1 on a bad escape, an embedded NUL, or when it does not fit. */
long text_decode(const char *s, size_t n, int plus, char *out, size_t cap);
/* A refusal: the one line fmt makes, written into why (whylen bytes, 0: nothing
 * written). Returns status, so that a check can end with `return text_fail(...)`. */
__attribute__((format(printf, 4, 5))) int text_fail(int status, char *why, size_t whylen,
                                                    const char *fmt, ...);
/* The value of the hex digit c (a byte or a code point), or -1. */
int text_hexval(int c);

/* One name=value pair of form-encoded text (a query string, a form body):
 * undecoded, not NUL-terminated; a pair without '=' has an empty value. */
struct text_field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* The next pair of the form-encoded text at *q, pairs separated by any
 * character of seps ("&;" for the responder's own query strings, "&" as
 * URLSearchParams splits): 1 with *f set and *q moved past it, 0 at the end
 * of the text. Empty pairs are passed over. */
int text_form_next(const char **q, const char *seps, struct text_field *f);

/* 1 when the string s is a name: 1 to max bytes of A-Z a-z 0-9 _ . : -
 * (a channel name, max 128; an event type, max 64). */
int text_name_ok(const char *s, size_t max);

/* 1 when s[0, len) is a program's NAME: 1 to 64 bytes of A-Z a-z 0-9 _ . -,
 * not only dots (so "." and ".." never are). */
#define TEXT_PROGRAM_NAME_MAX 64
int text_program_name_ok(const char *s, size_t len);

/* 1 when s[0, n) is UTF-8 text: well-formed (no overlong form, no
 * surrogate, nothing past U+10FFFF) and without NUL. */
int text_utf8_ok(const char *s, size_t n);

/* The length of the longest prefix of s[0, n) that does not end inside a
 * UTF-8 sequence (a stream cut mid-character: the rest waits for more). */
size_t text_utf8_whole(const char *s, size_t n);

/* Replaces every byte of s[0, n) that is not part of a well-formed,
 * NUL-free UTF-8 character with '?'. */
void text_utf8_clean(char *s, size_t n);

#endif
