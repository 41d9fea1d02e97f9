/* urlpattern_es.c -- a regexp group's ECMAScript regular expression (v flag) checked and written for PCRE2 (pure) */
#include "config.h"

#include "mercure/urlpattern_int.h"
#include "core/text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The accepted subset and what is refused are listed in urlpattern.h. The input is ASCII
 * (the tokenizer refuses the rest). Every set of code points (classes, escapes, '.') is
 * computed here as ranges and written as one PCRE2 class of \x{...} ranges, so PCRE2's
 * own idea of \s, \w or '.' never applies; surrogates are left out of every set (no
 * component string can hold one). Literals are written as themselves when alphanumeric,
 * as \x{...} otherwise. Recursion is bounded by URLPATTERN_MAX_NEST. */

struct range {
    uint32_t lo, hi;
};

struct cset {
    struct range *r;
    size_t n, cap;
};

struct es {
    const char *s;
    size_t n, i;
    struct urlpattern_buf *out;
    struct urlpattern_err *e;
    int depth;
};

#define INVALID(x, ...) urlpattern_fail((x)->e, URLPATTERN_EINVALID, "the regexp group \"%.*s\" " __VA_ARGS__)
#define UNSUPPORTED(x, what) \
    urlpattern_fail((x)->e, URLPATTERN_EUNSUPPORTED, \
                    "the regexp group \"%.*s\" uses %s, which this hub does not support", \
                    (int)(x)->n, (x)->s, what)
#define SRC(x) (int)(x)->n, (x)->s

static int peek(const struct es *x, size_t k)
{
    return x->i + k < x->n ? (unsigned char)x->s[x->i + k] : -1;
}

static int put(struct es *x, const char *s)
{
    int r = urlpattern_buf_puts(x->out, s);

    return r ? urlpattern_fail(x->e, r, r == URLPATTERN_ENOMEM ? "out of memory"
                                        : "a regexp group's regular expression is too long")
             : 0;
}

/* ---- sets of code points */

static int add(struct es *x, struct cset *c, uint32_t lo, uint32_t hi)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct range *r = realloc(c->r, cap * sizeof *r);

        if (!r)
            return urlpattern_fail(x->e, URLPATTERN_ENOMEM, "out of memory");
        c->r = r;
        c->cap = cap;
    }
    c->r[c->n].lo = lo;
    c->r[c->n++].hi = hi;
    return 0;
}

static int cmp_range(const void *a, const void *b)
{
    const struct range *p = a, *q = b;

    return p->lo < q->lo ? -1 : p->lo > q->lo;
}

/* Sorts and merges c's ranges. */
static void normalize(struct cset *c)
{
    size_t k = 0;

    if (c->n == 0)
        return;
    qsort(c->r, c->n, sizeof c->r[0], cmp_range);
    for (size_t i = 1; i < c->n; i++) {
        if (c->r[i].lo <= c->r[k].hi + 1) {
            if (c->r[i].hi > c->r[k].hi)
                c->r[k].hi = c->r[i].hi;
        } else {
            c->r[++k] = c->r[i];
        }
    }
    c->n = k + 1;
}

/* c := the code points in [0, 0x10FFFF] not in c (c normalized). */
static int complement(struct es *x, struct cset *c)
{
    struct cset d = {0};
    uint32_t next = 0;
    int r = 0;

    for (size_t i = 0; i < c->n && r == 0; i++) {
        if (c->r[i].lo > next)
            r = add(x, &d, next, c->r[i].lo - 1);
        next = c->r[i].hi + 1;
    }
    if (r == 0 && next <= 0x10ffff)
        r = add(x, &d, next, 0x10ffff);
    free(c->r);
    *c = d;
    return r;
}

/* \d \D \w \W \s \S as ECMAScript defines them (no i flag). */
static int add_escape_set(struct es *x, struct cset *c, int letter)
{
    static const struct range d[] = {{'0', '9'}};
    static const struct range w[] = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
    static const struct range s[] = {{0x09, 0x0d}, {0x20, 0x20}, {0xa0, 0xa0}, {0x1680, 0x1680},
                                     {0x2000, 0x200a}, {0x2028, 0x2029}, {0x202f, 0x202f},
                                     {0x205f, 0x205f}, {0x3000, 0x3000}, {0xfeff, 0xfeff}};
    const struct range *v = d;
    size_t n = 1;
    struct cset t = {0};
    int r = 0;

    if (letter == 'w' || letter == 'W')
        v = w, n = sizeof w / sizeof w[0];
    else if (letter == 's' || letter == 'S')
        v = s, n = sizeof s / sizeof s[0];
    for (size_t i = 0; i < n && r == 0; i++)
        r = add(x, &t, v[i].lo, v[i].hi);
    if (r == 0 && letter >= 'A' && letter <= 'Z')
        r = complement(x, &t);
    for (size_t i = 0; i < t.n && r == 0; i++)
        r = add(x, c, t.r[i].lo, t.r[i].hi);
    free(t.r);
    return r;
}

/* Writes c (normalized) as one PCRE2 class, surrogates left out; "(?!)" when empty. */
static int put_set(struct es *x, const struct cset *c)
{
    char t[40];
    int any = 0, r = 0;

    for (size_t i = 0; i < c->n && r == 0; i++) {
        uint32_t lo = c->r[i].lo, hi = c->r[i].hi;

        for (int k = 0; k < 2 && r == 0; k++) {
            uint32_t a = k ? (lo > 0xdfff ? lo : 0xe000) : lo;
            uint32_t b = k ? hi : (hi < 0xd800 ? hi : 0xd7ff);

            if (a > b || (k == 0 && lo >= 0xd800) || (k == 1 && hi < 0xe000))
                continue;
            if (!any && (r = put(x, "[")))
                break;
            any = 1;
            if (a == b)
                snprintf(t, sizeof t, "\\x{%x}", (unsigned)a);
            else
                snprintf(t, sizeof t, "\\x{%x}-\\x{%x}", (unsigned)a, (unsigned)b);
            r = put(x, t);
        }
    }
    if (r)
        return r;
    return put(x, any ? "]" : "(?!)");
}

static int put_cp(struct es *x, uint32_t cp)
{
    char t[16];

    if ((cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'))
        snprintf(t, sizeof t, "%c", (char)cp);
    else
        snprintf(t, sizeof t, "\\x{%x}", (unsigned)cp);
    return put(x, t);
}

/* ---- escapes */

/* n hex digits at x->i + k, or -1. */
static long hexn(const struct es *x, size_t k, int n)
{
    long v = 0;

    for (int j = 0; j < n; j++) {
        int h = text_hexval(peek(x, k + (size_t)j));

        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* \u escapes at x->i (the 'u'): \u{H...}, \uHHHH, a surrogate pair \uHHHH\uHHHH. */
static int unicode_escape(struct es *x, uint32_t *cp)
{
    long v, t;

    if (peek(x, 1) == '{') {
        size_t k = 2;

        for (v = 0; text_hexval(peek(x, k)) >= 0; k++) {
            v = v * 16 + text_hexval(peek(x, k));
            if (v > 0x10ffff)
                return INVALID(x, "has a \\u{...} escape over U+10FFFF", SRC(x));
        }
        if (k == 2 || peek(x, k) != '}')
            return INVALID(x, "has a malformed \\u{...} escape", SRC(x));
        x->i += k + 1;
    } else {
        if ((v = hexn(x, 1, 4)) < 0)
            return INVALID(x, "has a malformed \\u escape", SRC(x));
        x->i += 5;
        if (v >= 0xd800 && v <= 0xdbff && peek(x, 0) == '\\' && peek(x, 1) == 'u' &&
            (t = hexn(x, 2, 4)) >= 0xdc00 && t <= 0xdfff) {
            v = 0x10000 + ((v - 0xd800) << 10) + (t - 0xdc00);
            x->i += 6;
        }
    }
    if (v >= 0xd800 && v <= 0xdfff)
        return UNSUPPORTED(x, "a lone surrogate escape");
    *cp = (uint32_t)v;
    return 0;
}

/* A CharacterEscape (or, in a class, \b and the reserved punctuators) at x->i (the '\'). */
static int char_escape(struct es *x, int in_class, uint32_t *cp)
{
    int c = peek(x, 1);
    long v;

    x->i++;
    switch (c) {
    case 'f': *cp = 0x0c; break;
    case 'n': *cp = 0x0a; break;
    case 'r': *cp = 0x0d; break;
    case 't': *cp = 0x09; break;
    case 'v': *cp = 0x0b; break;
    case 'c':
        c = peek(x, 1);
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return INVALID(x, "has \\c without a letter", SRC(x));
        *cp = (uint32_t)(c % 32);
        x->i++;
        break;
    case '0':
        if (peek(x, 1) >= '0' && peek(x, 1) <= '9')
            return INVALID(x, "has an octal escape", SRC(x));
        *cp = 0;
        break;
    case 'x':
        if ((v = hexn(x, 1, 2)) < 0)
            return INVALID(x, "has a malformed \\x escape", SRC(x));
        *cp = (uint32_t)v;
        x->i += 2;
        break;
    case 'u':
        return unicode_escape(x, cp);
    default:
        if (c != -1 && (strchr("^$\\.*+?()[]{}|/", c) ||
                        (in_class && (c == 'b' || strchr("&-!#%,:;<=>@`~", c))))) {
            *cp = c == 'b' ? 0x08 : (uint32_t)c;
            break;
        }
        return INVALID(x, "has an escape the v flag does not allow (\\%c)", SRC(x),
                       c == -1 ? ' ' : c);
    }
    x->i++;
    return 0;
}

/* ---- classes */

/* A ClassSetCharacter at x->i into *cp; 1 if there is none here (then nothing is used). */
static int class_char(struct es *x, uint32_t *cp)
{
    int c = peek(x, 0), d = peek(x, 1);

    if (c == '\\') {
        if (d == 'd' || d == 'D' || d == 'w' || d == 'W' || d == 's' || d == 'S')
            return 1;
        if (d == 'p' || d == 'P')
            return UNSUPPORTED(x, "a Unicode property escape");
        if (d == 'q')
            return d == 'q' && peek(x, 2) == '{' ? UNSUPPORTED(x, "a class string (\\q{...})")
                                                 : INVALID(x, "has \\q without '{'", SRC(x));
        return char_escape(x, 1, cp);
    }
    if (c == -1 || strchr("()[]{}/-\\|", c))
        return 1;
    if (c == d && strchr("&!#$%*+,.:;<=>?@^`~", c))
        return c == '&' ? UNSUPPORTED(x, "a class intersection (&&)")
                        : INVALID(x, "has a reserved double punctuator in a class", SRC(x));
    *cp = (uint32_t)c;
    x->i++;
    return 0;
}

/* One item of a class: a character, a range or a class escape. */
static int class_item(struct es *x, struct cset *set)
{
    uint32_t lo, hi;
    int c = peek(x, 0), r;

    if (c == '[')
        return UNSUPPORTED(x, "a nested class");
    if (c == '-' && peek(x, 1) == '-')
        return UNSUPPORTED(x, "a class subtraction (--)");
    if (c == '\\' && peek(x, 1) != -1 && strchr("dDwWsS", peek(x, 1))) {
        if ((r = add_escape_set(x, set, peek(x, 1))))
            return r;
        x->i += 2;
    } else {
        if ((r = class_char(x, &lo)) < 0)
            return r;
        if (r == 1)
            return INVALID(x, "has a '%c' a class cannot hold unescaped", SRC(x), c);
        hi = lo;
        if (peek(x, 0) == '-' && peek(x, 1) != '-') {
            x->i++;
            if ((r = class_char(x, &hi)) < 0)
                return r;
            if (r == 1)
                return INVALID(x, "has a class range without its end", SRC(x));
            if (lo > hi)
                return INVALID(x, "has a class range out of order", SRC(x));
        }
        if ((r = add(x, set, lo, hi)))
            return r;
    }
    if (peek(x, 0) == '-' && peek(x, 1) == '-')
        return UNSUPPORTED(x, "a class subtraction (--)");
    return 0;
}

/* A class at x->i (the '['). */
static int class(struct es *x)
{
    struct cset set = {0};
    int neg, r = 0;

    x->i++;
    neg = peek(x, 0) == '^';
    if (neg)
        x->i++;
    while (r == 0 && peek(x, 0) != ']') {
        if (peek(x, 0) == -1)
            r = INVALID(x, "has a '[' without its ']'", SRC(x));
        else
            r = class_item(x, &set);
    }
    if (r == 0) {
        x->i++;
        normalize(&set);
        if (neg)
            r = complement(x, &set);
    }
    if (r == 0)
        r = put_set(x, &set);
    free(set.r);
    return r;
}

/* ---- terms */

static int disjunction(struct es *x);

/* A quantifier after an atom, if any. */
static int quantifier(struct es *x)
{
    char t[48];
    unsigned long lo = 0, hi = 0;
    int has_hi = 0, comma = 0, c = peek(x, 0), r;

    if (c == '*' || c == '+' || c == '?') {
        snprintf(t, sizeof t, "%c", c);
        x->i++;
    } else if (c == '{') {
        size_t k = 1, start;

        for (start = k; peek(x, k) >= '0' && peek(x, k) <= '9'; k++)
            lo = lo > URLPATTERN_MAX_REPEAT ? lo : lo * 10 + (unsigned long)(peek(x, k) - '0');
        if (k == start)
            return INVALID(x, "has a '{' that is not a quantifier", SRC(x));
        if (peek(x, k) == ',') {
            comma = 1;
            for (start = ++k; peek(x, k) >= '0' && peek(x, k) <= '9'; k++)
                hi = hi > URLPATTERN_MAX_REPEAT ? hi : hi * 10 + (unsigned long)(peek(x, k) - '0');
            has_hi = k != start;
        }
        if (peek(x, k) != '}')
            return INVALID(x, "has a '{' that is not a quantifier", SRC(x));
        x->i += k + 1;
        if (has_hi && hi < lo && hi <= URLPATTERN_MAX_REPEAT)
            return INVALID(x, "has a quantifier {n,m} with m below n", SRC(x));
        if (lo > URLPATTERN_MAX_REPEAT || hi > URLPATTERN_MAX_REPEAT)
            return urlpattern_fail(x->e, URLPATTERN_ETOOBIG,
                                   "the regexp group \"%.*s\" counts over %d", SRC(x),
                                   URLPATTERN_MAX_REPEAT);
        if (!comma)
            snprintf(t, sizeof t, "{%lu}", lo);
        else if (!has_hi)
            snprintf(t, sizeof t, "{%lu,}", lo);
        else
            snprintf(t, sizeof t, "{%lu,%lu}", lo, hi);
    } else {
        return 0;
    }
    if ((r = put(x, t)))
        return r;
    if (peek(x, 0) == '?') {
        x->i++;
        return put(x, "?");
    }
    return 0;
}

/* An assertion must not be quantified (the u and v flags say so). */
static int unquantified(struct es *x)
{
    int c = peek(x, 0);

    if (c == '*' || c == '+' || c == '?' || c == '{')
        return INVALID(x, "quantifies an assertion", SRC(x));
    return 0;
}

/* A group at x->i (the '('). */
static int group(struct es *x, int *quantifiable)
{
    const char *open = "(?:";
    size_t skip = 3;
    int r;

    *quantifiable = 1;
    if (peek(x, 1) != '?') {
        skip = 1; /* the tokenizer lets no capturing group through; ours needs no capture */
    } else if (peek(x, 2) == ':') {
    } else if (peek(x, 2) == '=' || peek(x, 2) == '!') {
        open = peek(x, 2) == '=' ? "(?=" : "(?!";
        *quantifiable = 0;
    } else if (peek(x, 2) == '<') {
        return UNSUPPORTED(x, peek(x, 3) == '=' || peek(x, 3) == '!' ? "a lookbehind"
                                                                      : "a named group");
    } else if (peek(x, 2) != -1 && (strchr("ims-", peek(x, 2)))) {
        return UNSUPPORTED(x, "a modifier group (?ims-ims:...)");
    } else {
        return INVALID(x, "has an invalid group", SRC(x));
    }
    if (++x->depth > URLPATTERN_MAX_NEST)
        return urlpattern_fail(x->e, URLPATTERN_ETOOBIG,
                               "a regexp group nests groups over %d deep", URLPATTERN_MAX_NEST);
    x->i += skip;
    if ((r = put(x, open)) || (r = disjunction(x)))
        return r;
    if (peek(x, 0) != ')')
        return INVALID(x, "has a group without its ')'", SRC(x));
    x->i++;
    x->depth--;
    return put(x, ")");
}

/* An atom escape (not \b \B) at x->i. */
static int atom_escape(struct es *x)
{
    struct cset set = {0};
    uint32_t cp;
    int d = peek(x, 1), r;

    if (d != -1 && strchr("dDwWsS", d)) {
        x->i += 2;
        if ((r = add_escape_set(x, &set, d)) == 0) {
            normalize(&set);
            r = put_set(x, &set);
        }
        free(set.r);
        return r;
    }
    if (d == 'p' || d == 'P')
        return UNSUPPORTED(x, "a Unicode property escape");
    if ((d >= '1' && d <= '9') || d == 'k')
        return UNSUPPORTED(x, "a backreference");
    if (d == '-')
        return INVALID(x, "escapes '-' outside a class", SRC(x));
    if ((r = char_escape(x, 0, &cp)))
        return r;
    return put_cp(x, cp);
}

static int term(struct es *x)
{
    int c = peek(x, 0), d = peek(x, 1), q = 1, r;
    struct cset dot = {0};

    switch (c) {
    case '^':
    case '$':
        x->i++;
        return (r = put(x, c == '^' ? "^" : "\\z")) ? r : unquantified(x);
    case '*': case '+': case '?': case '{':
        return INVALID(x, "has nothing to repeat before '%c'", SRC(x), c);
    case '}': case ']':
        return INVALID(x, "has a lone '%c'", SRC(x), c);
    case '(':
        r = group(x, &q);
        break;
    case '[':
        r = class(x);
        break;
    case '.':
        x->i++;
        r = add(x, &dot, 0x0a, 0x0a) || add(x, &dot, 0x0d, 0x0d) ||
                    add(x, &dot, 0x2028, 0x2029) || complement(x, &dot)
                ? x->e->code : put_set(x, &dot);
        free(dot.r);
        break;
    case '\\':
        if (d == 'b' || d == 'B') {
            x->i += 2;
            return (r = put(x, d == 'b' ? "\\b" : "\\B")) ? r : unquantified(x);
        }
        r = atom_escape(x);
        break;
    default:
        x->i++;
        r = put_cp(x, (uint32_t)c);
        break;
    }
    if (r)
        return r;
    return q ? quantifier(x) : unquantified(x);
}

static int disjunction(struct es *x)
{
    int r = 0;

    for (;;) {
        while (r == 0 && peek(x, 0) != -1 && peek(x, 0) != '|' && peek(x, 0) != ')')
            r = term(x);
        if (r || peek(x, 0) != '|')
            return r;
        x->i++;
        if ((r = put(x, "|")))
            return r;
    }
}

int urlpattern_es_translate(const char *re, size_t n, struct urlpattern_buf *out,
                            struct urlpattern_err *e)
{
    struct es x = {.s = re, .n = n, .out = out, .e = e};
    int r;

    for (size_t i = 0; i < n; i++)
        if ((unsigned char)re[i] >= 0x80)
            return INVALID(&x, "is not ASCII", SRC(&x));
    if ((r = put(&x, "(?:")) || (r = disjunction(&x)))
        return r;
    if (x.i < n)
        return INVALID(&x, "has a ')' without its '('", SRC(&x));
    return put(&x, ")");
}
