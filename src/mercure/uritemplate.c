/* uritemplate.c -- RFC 6570 URI templates compiled to anchored PCRE2 expressions of what they can expand to, matched under limits */
#include "config.h"

#include "mercure/uritemplate_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

struct uritemplate {
    pcre2_code *code;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    char *regex;
};

/* ---- characters */

static int ut_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

static int ut_alnum(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* RFC 6570 2.1: the ASCII characters a literal may hold as they are ('%' only as %XX). */
static int ut_literal_ascii(unsigned char c)
{
    return c == 0x21 || c == 0x23 || c == 0x24 || c == 0x26 || (c >= 0x28 && c <= 0x3b) ||
           c == 0x3d || (c >= 0x3f && c <= 0x5b) || c == 0x5d || c == 0x5f ||
           (c >= 0x61 && c <= 0x7a) || c == 0x7e;
}

/* RFC 6570 2.1 (RFC 3987): ucschar or iprivate, the non-ASCII characters of a literal. */
static int ut_literal_cp(uint32_t cp)
{
    if (cp < 0x10000)
        return (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xf8ff) ||
               (cp >= 0xf900 && cp <= 0xfdcf) || (cp >= 0xfdf0 && cp <= 0xffef);
    return cp <= 0x10fffd && (cp & 0xffff) <= 0xfffd && !(cp >= 0xe0000 && cp < 0xe1000);
}

/* Decodes one UTF-8 character (strictly: no overlong form, no surrogate). Its length, or
 * 0 when the bytes are not UTF-8. */
static size_t ut_utf8(const unsigned char *s, size_t len, uint32_t *cp)
{
    size_t n, i;
    uint32_t min;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2, *cp = s[0] & 0x1f, min = 0x80;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, *cp = s[0] & 0x0f, min = 0x800;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, *cp = s[0] & 0x07, min = 0x10000;
    else
        return 0;
    if (n > len)
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3f);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return n;
}

/* A non-ASCII literal character (n bytes at s): itself, or its %XX triplets in either
 * case of hex digit. */
static void ut_put_nonascii(struct ut_buf *b, const unsigned char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i, d;

    ut_puts(b, "(?:");
    ut_put(b, (const char *)s, n);
    ut_puts(b, "|");
    for (i = 0; i < n; i++) {
        ut_puts(b, "%");
        for (d = 0; d < 2; d++) {
            char h = hex[d ? s[i] & 15 : s[i] >> 4], cls[5] = { '[', h, (char)(h + 32), ']', 0 };

            if (h >= 'A')
                ut_puts(b, cls);
            else
                ut_put(b, &h, 1);
        }
    }
    ut_puts(b, ")");
}

/* ---- expressions */

/* Parses a varname at s (n bytes left): varchar *( ["."] varchar ), varchar = ALPHA /
 * DIGIT / "_" / pct-encoded. Its length, or 0. */
static size_t ut_varname(const char *s, size_t n)
{
    size_t i = 0;

    for (;;) {
        size_t start = i;

        if (i > 0 && i < n && s[i] == '.')
            i++;
        if (i < n && (ut_alnum((unsigned char)s[i]) || s[i] == '_'))
            i++;
        else if (i + 2 < n && s[i] == '%' && ut_hex((unsigned char)s[i + 1]) &&
                 ut_hex((unsigned char)s[i + 2]))
            i += 3;
        else
            return start;
    }
}

/* One varspec at s (n bytes left) into v: its length, or 0 when it is not one. */
static size_t ut_varspec(const char *s, size_t n, struct ut_var *v)
{
    size_t i = ut_varname(s, n), d;

    if (i == 0)
        return 0;
    v->name = s;
    v->nlen = i;
    v->explode = 0;
    v->prefix = 0;
    if (i < n && s[i] == '*') {
        v->explode = 1;
        return i + 1;
    }
    if (i < n && s[i] == ':') {
        /* max-length = %x31-39 0*3DIGIT */
        if (i + 1 >= n || s[i + 1] < '1' || s[i + 1] > '9')
            return 0;
        for (d = i + 1; d < n && d < i + 5 && s[d] >= '0' && s[d] <= '9'; d++)
            v->prefix = v->prefix * 10 + (unsigned)(s[d] - '0');
        return d;
    }
    return i;
}

/* Parses the inside of "{...}" (n bytes at s). UT_OK, or an error with why set. */
static int ut_parse_expr(const char *s, size_t n, struct ut_expr *e, char *why, size_t whylen)
{
    static const char ops[] = "+#./;?&", reserved[] = "=,!@|";
    static const char *const firsts[] = { "", "#", ".", "/", ";", "?", "&" };
    static const char *const seps[] = { ",", ",", ".", "/", ";", "&", "&" };
    const char *o = n ? memchr(ops, s[0], sizeof ops - 1) : NULL;
    size_t i = 0;

    e->op = 0;
    e->first = "";
    e->sep = ",";
    e->n = 0;
    if (n > 0 && memchr(reserved, s[0], sizeof reserved - 1)) {
        snprintf(why, whylen, "operator '%c' is reserved in RFC 6570", s[0]);
        return UT_EINVALID;
    }
    if (o) {
        e->op = *o;
        e->first = firsts[o - ops];
        e->sep = seps[o - ops];
        i = 1;
    }
    for (;;) {
        size_t l;

        if (e->n == UT_VARS_MAX) {
            snprintf(why, whylen, "an expression has more than %d variables", UT_VARS_MAX);
            return UT_ETOOBIG;
        }
        l = ut_varspec(s + i, n - i, &e->v[e->n]);
        if (l == 0) {
            snprintf(why, whylen, "expression {%.*s}: no variable at offset %zu (a name, then "
                     ":1 to :9999 or *)", (int)(n < 40 ? n : 40), s, i);
            return UT_EINVALID;
        }
        e->n++;
        i += l;
        if (i == n)
            return UT_OK;
        if (s[i] != ',') {
            snprintf(why, whylen, "expression {%.*s}: unexpected character at offset %zu",
                     (int)(n < 40 ? n : 40), s, i);
            return UT_EINVALID;
        }
        i++;
    }
}

/* Builds the regular expression of (tpl, len) into b. UT_OK, or an error with why set. */
static int ut_build(const char *tpl, size_t len, struct ut_buf *b, struct ut_expr *run,
                    char *why, size_t whylen)
{
    const unsigned char *s = (const unsigned char *)tpl;
    size_t i = 0, nexpr = 0, nrun = 0, n;
    uint32_t cp;

    while (i < len && !b->err) {
        if (s[i] != '{' && nrun) {
            ut_put_run_of(b, run, nrun);
            nrun = 0;
        }
        if (s[i] == '{') {
            const char *end = memchr(tpl + i + 1, '}', len - i - 1), *open;
            int r;

            open = memchr(tpl + i + 1, '{', end ? (size_t)(end - tpl - i - 1) : len - i - 1);
            if (!end || open) {
                snprintf(why, whylen, "a { at offset %zu is not closed", i);
                return UT_EINVALID;
            }
            if (++nexpr > UT_EXPRS_MAX) {
                snprintf(why, whylen, "more than %d expressions", UT_EXPRS_MAX);
                return UT_ETOOBIG;
            }
            r = ut_parse_expr(tpl + i + 1, (size_t)(end - tpl - i - 1), &run[nrun++], why,
                              whylen);
            if (r != UT_OK)
                return r;
            i = (size_t)(end - tpl) + 1;
        } else if (s[i] == '%') {
            if (i + 2 >= len || !ut_hex(s[i + 1]) || !ut_hex(s[i + 2])) {
                snprintf(why, whylen, "a %% at offset %zu is not a %%XX triplet", i);
                return UT_EINVALID;
            }
            ut_put(b, tpl + i, 3);
            i += 3;
        } else if (s[i] < 0x80) {
            if (!ut_literal_ascii(s[i])) {
                snprintf(why, whylen, "byte 0x%02x at offset %zu may not be in a template "
                         "(RFC 6570 2.1)", s[i], i);
                return UT_EINVALID;
            }
            ut_put_ascii(b, tpl[i++]);
        } else {
            n = ut_utf8(s + i, len - i, &cp);
            if (n == 0 || !ut_literal_cp(cp)) {
                snprintf(why, whylen, "offset %zu: %s", i, n ? "a character a template may not "
                         "hold (RFC 6570 2.1)" : "not UTF-8");
                return UT_EINVALID;
            }
            ut_put_nonascii(b, s + i, n);
            i += n;
        }
    }
    if (nrun)
        ut_put_run_of(b, run, nrun);
    if (b->err)
        snprintf(why, whylen, b->err == UT_ENOMEM ? "out of memory" : "too complex");
    return b->err ? b->err : UT_OK;
}

/* PCRE2 compiles the expression and gets its limits. UT_OK, or an error with why set. */
static int ut_pcre(struct uritemplate *t, size_t len, char *why, size_t whylen)
{
    /* Not PCRE2_MATCH_INVALID_UTF: it lets the end of a valid stretch before an invalid
     * byte count as the subject's end. pcre2_match checks the subject instead. */
    const uint32_t opts = PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED |
                          PCRE2_NO_AUTO_CAPTURE | PCRE2_NEVER_BACKSLASH_C;
    PCRE2_UCHAR msg[120];
    PCRE2_SIZE off;
    int code;

    t->code = pcre2_compile((PCRE2_SPTR)t->regex, len, opts, &code, &off, NULL);
    if (!t->code) {
        pcre2_get_error_message(code, msg, sizeof msg);
        snprintf(why, whylen, "too complex for PCRE2: %s", (const char *)msg);
        return code == PCRE2_ERROR_NOMEMORY ? UT_ENOMEM : UT_ETOOBIG;
    }
    t->md = pcre2_match_data_create(1, NULL);
    t->mctx = pcre2_match_context_create(NULL);
    if (!t->md || !t->mctx || pcre2_set_match_limit(t->mctx, UT_MATCH_LIMIT) != 0 ||
        pcre2_set_depth_limit(t->mctx, UT_DEPTH_LIMIT) != 0 ||
        pcre2_set_heap_limit(t->mctx, UT_HEAP_LIMIT_KIB) != 0) {
        snprintf(why, whylen, "out of memory");
        return UT_ENOMEM;
    }
    return UT_OK;
}

int uritemplate_compile(const char *tpl, size_t len, struct uritemplate **out, char *why,
                        size_t whylen)
{
    struct ut_buf b = { NULL, 0, 0, 0 };
    struct uritemplate *t;
    struct ut_expr *run;
    char dummy[8];
    int r;

    *out = NULL;
    if (!why) {
        why = dummy;
        whylen = sizeof dummy;
    }
    if (whylen)
        why[0] = '\0';
    if (len > UT_TEMPLATE_MAX) {
        snprintf(why, whylen, "longer than %d bytes", UT_TEMPLATE_MAX);
        return UT_ETOOBIG;
    }
    ut_puts(&b, ""); /* an empty template is the empty expression */
    run = malloc(UT_EXPRS_MAX * sizeof *run);
    r = run ? ut_build(tpl, len, &b, run, why, whylen) : UT_ENOMEM;
    free(run);
    if (r == UT_ENOMEM)
        snprintf(why, whylen, "out of memory");
    if (r == UT_OK && !(t = calloc(1, sizeof *t))) {
        snprintf(why, whylen, "out of memory");
        r = UT_ENOMEM;
    }
    if (r != UT_OK) {
        free(b.p);
        return r;
    }
    t->regex = b.p;
    r = ut_pcre(t, b.len, why, whylen);
    if (r != UT_OK) {
        uritemplate_free(t);
        return r;
    }
    *out = t;
    return UT_OK;
}

int uritemplate_match(struct uritemplate *t, const char *s, size_t len)
{
    int rc = pcre2_match(t->code, (PCRE2_SPTR)s, len, 0, 0, t->md, t->mctx);

    if (rc >= 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH || rc == PCRE2_ERROR_PARTIAL ||
        (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21))
        return 0; /* not UTF-8: no template writes it */
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
        rc == PCRE2_ERROR_HEAPLIMIT)
        return UT_LIMIT;
    return UT_EMATCH;
}

const char *uritemplate_regex(const struct uritemplate *t)
{
    return t->regex;
}

void uritemplate_free(struct uritemplate *t)
{
    if (!t)
        return;
    pcre2_code_free(t->code);
    pcre2_match_data_free(t->md);
    pcre2_match_context_free(t->mctx);
    free(t->regex);
    free(t);
}
