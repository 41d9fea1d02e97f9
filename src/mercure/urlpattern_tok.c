/* urlpattern_tok.c -- URL Pattern's tokenizer (strict and lenient), errors and strings (pure) */
#include "config.h"

#include "mercure/urlpattern_int.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Positions are byte offsets into the UTF-8 input where the standard counts code points:
 * the tokens and substrings are the same. Name code points: ASCII by table, others by
 * PCRE2's Unicode tables (ID_Start, ID_Continue; PCRE2 10.42 has Unicode 14, so a code
 * point assigned later is not a name code point here). */

int urlpattern_fail(struct urlpattern_err *e, int code, const char *fmt, ...)
{
    va_list ap;

    if (e->code)
        return e->code;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}

int urlpattern_buf_put(struct urlpattern_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->max)
        return URLPATTERN_ETOOBIG;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        char *p;

        while (cap < b->len + n + 1)
            cap *= 2;
        p = realloc(b->p, cap);
        if (!p)
            return URLPATTERN_ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int urlpattern_buf_puts(struct urlpattern_buf *b, const char *s)
{
    return urlpattern_buf_put(b, s, strlen(s));
}

void urlpattern_buf_free(struct urlpattern_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ---- the tokenizer */

struct tz {
    const char *in;
    size_t len;
    int strict;
    size_t index, next; /* the tokenizer's index and next index */
    uint32_t cp;        /* its code point */
    struct urlpattern_tokens *out;
    size_t cap;
    struct urlpattern_err *e;
    pcre2_code *id[2];  /* ID_Continue, ID_Start, compiled when first needed */
};

/* "get the next code point" (the input is valid UTF-8). */
static void get_next(struct tz *t)
{
    const unsigned char *p = (const unsigned char *)t->in + t->next;
    uint32_t c = p[0];
    size_t n = 1;

    if (c >= 0xf0)
        c &= 0x07, n = 4;
    else if (c >= 0xe0)
        c &= 0x0f, n = 3;
    else if (c >= 0xc0)
        c &= 0x1f, n = 2;
    for (size_t k = 1; k < n; k++)
        c = (c << 6) | (p[k] & 0x3f);
    t->cp = c;
    t->next += n;
}

static void seek(struct tz *t, size_t i)
{
    t->next = i;
    get_next(t);
}

static int add(struct tz *t, enum urlpattern_tok type, size_t next_pos, size_t value_pos,
               size_t value_len)
{
    struct urlpattern_token *tok;

    if (t->out->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        struct urlpattern_token *v = realloc(t->out->v, cap * sizeof *v);

        if (!v)
            return urlpattern_fail(t->e, URLPATTERN_ENOMEM, "out of memory");
        t->out->v = v;
        t->cap = cap;
    }
    tok = &t->out->v[t->out->n++];
    tok->type = type;
    tok->index = t->index;
    tok->value = t->in + value_pos;
    tok->len = value_len;
    t->index = next_pos;
    return 0;
}

static int add_len(struct tz *t, enum urlpattern_tok type, size_t next_pos, size_t value_pos)
{
    return add(t, type, next_pos, value_pos, next_pos - value_pos);
}

static int add_default(struct tz *t, enum urlpattern_tok type)
{
    return add_len(t, type, t->next, t->index);
}

/* "process a tokenizing error". */
static int error(struct tz *t, size_t next_pos, size_t value_pos, const char *what)
{
    if (t->strict)
        return urlpattern_fail(t->e, URLPATTERN_EINVALID, "%s at byte %zu of the pattern", what,
                               t->index);
    return add_len(t, UP_TOK_INVALID_CHAR, next_pos, value_pos);
}

/* "is a valid name code point": IdentifierStart, or IdentifierPart when not first. */
static int name_cp(struct tz *t, uint32_t cp, int first)
{
    static const char *const re[2] = {"^\\p{ID_Continue}$", "^\\p{ID_Start}$"};
    unsigned char u[4];
    size_t n;
    pcre2_match_data *md;
    int rc, ec;
    PCRE2_SIZE eo;

    if (cp < 0x80)
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '$' ||
               cp == '_' || (!first && cp >= '0' && cp <= '9');
    if (!first && (cp == 0x200c || cp == 0x200d))
        return 1;
    if (!t->id[first]) {
        t->id[first] = pcre2_compile((PCRE2_SPTR)re[first], PCRE2_ZERO_TERMINATED, PCRE2_UTF,
                                     &ec, &eo, NULL);
        if (!t->id[first])
            return -1;
    }
    if (cp < 0x800)
        u[0] = (unsigned char)(0xc0 | cp >> 6), u[1] = (unsigned char)(0x80 | (cp & 63)), n = 2;
    else if (cp < 0x10000)
        u[0] = (unsigned char)(0xe0 | cp >> 12), u[1] = (unsigned char)(0x80 | ((cp >> 6) & 63)),
        u[2] = (unsigned char)(0x80 | (cp & 63)), n = 3;
    else
        u[0] = (unsigned char)(0xf0 | cp >> 18), u[1] = (unsigned char)(0x80 | ((cp >> 12) & 63)),
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 63)), u[3] = (unsigned char)(0x80 | (cp & 63)),
        n = 4;
    md = pcre2_match_data_create(1, NULL);
    if (!md)
        return -1;
    rc = pcre2_match(t->id[first], u, n, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

/* A ':' name token at t->index. */
static int tok_name(struct tz *t)
{
    size_t pos = t->next, start = pos;

    while (pos < t->len) {
        int v;

        seek(t, pos);
        v = name_cp(t, t->cp, pos == start);
        if (v < 0)
            return urlpattern_fail(t->e, URLPATTERN_ENOMEM, "out of memory");
        if (!v)
            break;
        pos = t->next;
    }
    if (pos <= start)
        return error(t, start, t->index, "a ':' without a name");
    return add_len(t, UP_TOK_NAME, pos, start);
}

/* A '(' regexp token at t->index. */
static int tok_regexp(struct tz *t)
{
    size_t depth = 1, pos = t->next, start = pos;

    while (pos < t->len) {
        seek(t, pos);
        if (t->cp >= 0x80)
            return error(t, start, t->index, "a regexp group with a code point that is not ASCII");
        if (pos == start && t->cp == '?')
            return error(t, start, t->index, "a regexp group starting with '?'");
        if (t->cp == '\\') {
            if (pos == t->len - 1)
                return error(t, start, t->index, "a regexp group ending in '\\'");
            get_next(t);
            if (t->cp >= 0x80)
                return error(t, start, t->index,
                             "a regexp group with a code point that is not ASCII");
            pos = t->next;
            continue;
        }
        if (t->cp == ')') {
            if (--depth == 0) {
                pos = t->next;
                break;
            }
        } else if (t->cp == '(') {
            size_t tmp;

            depth++;
            if (pos == t->len - 1)
                return error(t, start, t->index, "an unclosed regexp group");
            tmp = t->next;
            get_next(t);
            if (t->cp != '?')
                return error(t, start, t->index,
                             "a capturing group inside a regexp group (use (?:...))");
            t->next = tmp;
        }
        pos = t->next;
    }
    if (depth != 0)
        return error(t, start, t->index, "an unclosed regexp group");
    if (pos - start - 1 == 0)
        return error(t, start, t->index, "an empty regexp group");
    return add(t, UP_TOK_REGEXP, pos, start, pos - start - 1);
}

static int tokenize_one(struct tz *t)
{
    seek(t, t->index);
    switch (t->cp) {
    case '*': return add_default(t, UP_TOK_ASTERISK);
    case '+': case '?': return add_default(t, UP_TOK_OTHER_MODIFIER);
    case '{': return add_default(t, UP_TOK_OPEN);
    case '}': return add_default(t, UP_TOK_CLOSE);
    case ':': return tok_name(t);
    case '(': return tok_regexp(t);
    case '\\': {
        size_t escaped;

        if (t->index == t->len - 1)
            return error(t, t->next, t->index, "a '\\' at the end");
        escaped = t->next;
        get_next(t);
        return add_len(t, UP_TOK_ESCAPED_CHAR, t->next, escaped);
    }
    }
    return add_default(t, UP_TOK_CHAR);
}

int urlpattern_tokenize(const char *in, size_t len, int strict, struct urlpattern_tokens *out,
                        struct urlpattern_err *e)
{
    struct tz t = {.in = in, .len = len, .strict = strict, .out = out, .e = e};
    int r = 0;

    out->v = NULL;
    out->n = 0;
    while (r == 0 && t.index < len)
        r = tokenize_one(&t);
    if (r == 0)
        r = add_len(&t, UP_TOK_END, t.index, t.index);
    pcre2_code_free(t.id[0]);
    pcre2_code_free(t.id[1]);
    if (r) {
        free(out->v);
        out->v = NULL;
        out->n = 0;
    }
    return r;
}
