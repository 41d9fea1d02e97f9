/* uritemplate_re.c -- the regular expression of each RFC 6570 expression: what its operator and modifiers let expansion write */
#include "config.h"

#include "mercure/uritemplate_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Classes of what expansion writes (RFC 6570 1.5, 3.2.1): unreserved characters, the
 * list comma, the "=" of an exploded k=v, reserved characters (+ and #), and any %XX. */
#define UT_PCT "%[0-9A-Fa-f]{2}"
#define UT_U "(?:[A-Za-z0-9._~-]|" UT_PCT ")"
#define UT_UC "(?:[A-Za-z0-9._~,-]|" UT_PCT ")"
#define UT_UCE "(?:[A-Za-z0-9._~,=-]|" UT_PCT ")"
#define UT_R "(?:[A-Za-z0-9._~:/?#\\[\\]@!$&'()*+,;=-]|" UT_PCT ")"
/* One character of a value after encoding: unreserved, or the %XX triplets of one UTF-8
 * character (what a prefix :N counts). */
#define UT_CONT "%[89ABab][0-9A-Fa-f]"
#define UT_UNIT "(?:[A-Za-z0-9._~-]|%[0-7][0-9A-Fa-f]|%[CDcd][0-9A-Fa-f]" UT_CONT \
    "|%[Ee][0-9A-Fa-f](?:" UT_CONT "){2}|%[Ff][0-7](?:" UT_CONT "){3})"

void ut_put(struct ut_buf *b, const char *s, size_t n)
{
    if (b->err)
        return;
    if (b->len + n + 1 > UT_REGEX_MAX) {
        b->err = UT_ETOOBIG;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *q;

        while (cap < b->len + n + 1)
            cap *= 2;
        q = realloc(b->p, cap);
        if (!q) {
            b->err = UT_ENOMEM;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void ut_puts(struct ut_buf *b, const char *s)
{
    ut_put(b, s, strlen(s));
}

/* An ASCII character as a literal: letters and digits as they are, the rest escaped. */
void ut_put_ascii(struct ut_buf *b, char c)
{
    char e[2] = { '\\', c };

    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        ut_put(b, &c, 1);
    else
        ut_put(b, e, 2);
}

void ut_put_escaped(struct ut_buf *b, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        ut_put_ascii(b, s[i]);
}

/* The value part of v (unexploded): anything encoded (a list's commas too), or
 * at most its prefix's count of characters. */
static void ut_put_value(struct ut_buf *b, const struct ut_var *v)
{
    char q[32];

    if (v->prefix && v->prefix <= UT_PREFIX_EXACT_MAX) {
        snprintf(q, sizeof q, "{0,%u}", v->prefix);
        ut_puts(b, UT_UNIT);
        ut_puts(b, q);
    } else {
        ut_puts(b, UT_UC "*");
    }
}

/* Item i of a /, ; ? or & expression without an exploded variable. */
static void ut_put_item(struct ut_buf *b, const struct ut_expr *e, size_t i)
{
    const struct ut_var *v = &e->v[i];

    if (e->op == '/') {
        ut_put_value(b, v);
        return;
    }
    ut_put_escaped(b, v->name, v->nlen);
    if (e->op == ';') {
        ut_puts(b, "(?:=");
        ut_put_value(b, v);
        ut_puts(b, ")?");
    } else {
        ut_puts(b, "=");
        ut_put_value(b, v);
    }
}

/* The defined variables of an expression are any of them, in their order, joined by sep:
 * (I0(?:sep I1)?(?:sep I2)?|I1(?:sep I2)?|I2). */
static void ut_put_subset(struct ut_buf *b, const struct ut_expr *e)
{
    size_t j, l;

    ut_puts(b, "(?:");
    for (j = 0; j < e->n; j++) {
        if (j)
            ut_puts(b, "|");
        ut_put_item(b, e, j);
        for (l = j + 1; l < e->n; l++) {
            ut_puts(b, "(?:");
            ut_put_escaped(b, e->sep, 1);
            ut_put_item(b, e, l);
            ut_puts(b, ")?");
        }
    }
    ut_puts(b, ")");
}

/* Operators none, +, # and .: the separator is a character values hold too, so the
 * expression is one run of its characters, bounded when every variable has a prefix. */
static void ut_put_run(struct ut_buf *b, const struct ut_expr *e, int explode)
{
    int reserved = e->op == '+' || e->op == '#';
    unsigned long bound = e->n - 1;
    size_t i;
    char q[32];

    for (i = 0; i < e->n && bound <= UT_PREFIX_EXACT_MAX; i++)
        bound = e->v[i].prefix ? bound + e->v[i].prefix * (reserved ? 4UL : 1UL) :
                UT_PREFIX_EXACT_MAX + 1;
    if (*e->first) {
        ut_puts(b, "(?:");
        ut_put_ascii(b, *e->first);
    }
    if (bound <= UT_PREFIX_EXACT_MAX) {
        snprintf(q, sizeof q, "{0,%lu}", bound);
        ut_puts(b, reserved ? UT_R : "(?:" UT_UNIT "|,)");
        ut_puts(b, q);
    } else {
        ut_puts(b, reserved ? UT_R "*" : explode ? UT_UCE "*" : UT_UC "*");
    }
    if (*e->first)
        ut_puts(b, ")?");
}

static void ut_put_expr(struct ut_buf *b, const struct ut_expr *e)
{
    int explode = 0, same = 1;
    size_t i;

    for (i = 0; i < e->n; i++) {
        explode |= e->v[i].explode;
        same &= e->v[i].prefix == e->v[0].prefix;
    }
    if (e->op == 0 || e->op == '+' || e->op == '#' || e->op == '.') {
        ut_put_run(b, e, explode);
    } else if (e->op == '/' && explode) {
        ut_puts(b, "(?:/" UT_UCE "*)*");
    } else if (e->op == '/' && same) {
        /* Segments all alike: 0 to n of them (one each defined variable). */
        char q[32];

        snprintf(q, sizeof q, "){0,%zu}", e->n);
        ut_puts(b, "(?:/");
        ut_put_value(b, &e->v[0]);
        ut_puts(b, q);
    } else if (e->op == ';' && explode) {
        /* An exploded associative array names its own keys: any k or k=v items. */
        ut_puts(b, "(?:;" UT_U "*(?:=" UT_UC "*)?)*");
    } else if (explode) {
        ut_puts(b, "(?:");
        ut_put_ascii(b, *e->first);
        ut_puts(b, UT_U "*=" UT_UC "*(?:&" UT_U "*=" UT_UC "*)*)?");
    } else {
        ut_puts(b, "(?:");
        ut_put_ascii(b, *e->first);
        ut_put_subset(b, e);
        ut_puts(b, ")?");
    }
}

/* ---- neighbours: {a}{b} is {a} (both write the same characters), so that adjacent
 * expressions never make an ambiguous expression that backtracks on every split */

enum { UT_A_COMMA = 1, UT_A_EQ = 2, UT_A_SLASH = 4, UT_A_SEMI = 8, UT_A_QM = 16, UT_A_AMP = 32,
       UT_A_HASH = 64, UT_A_RESERVED = 127 };

/* What e writes after its first character (beyond unreserved and %XX), as UT_A_* bits;
 * *star is set when its language is every such string (after that first character, if
 * any), so that it absorbs a neighbour that writes nothing else. */
static unsigned ut_alphabet(const struct ut_expr *e, int *star)
{
    int explode = 0, bounded = 1;
    size_t i;

    for (i = 0; i < e->n; i++) {
        explode |= e->v[i].explode;
        bounded &= e->v[i].prefix != 0;
    }
    *star = (!e->op || strchr("+#.", e->op)) ? !bounded : e->op == '/' && explode;
    switch (e->op) {
    case '+': case '#': return UT_A_RESERVED;
    case '/': return UT_A_COMMA | UT_A_SLASH | (explode ? UT_A_EQ : 0);
    case ';': return UT_A_COMMA | UT_A_SEMI | UT_A_EQ;
    case '?': return UT_A_COMMA | UT_A_EQ | UT_A_AMP | UT_A_QM;
    case '&': return UT_A_COMMA | UT_A_EQ | UT_A_AMP;
    default: return UT_A_COMMA | (explode ? UT_A_EQ : 0); /* none and '.' ('.' unreserved) */
    }
}

/* 1 when every expansion of y is one of x, and x is closed under concatenation (a star):
 * then x y and y x write what x alone writes. */
static int ut_absorbs(const struct ut_expr *x, const struct ut_expr *y)
{
    static const char firsts[] = "/;?&#";
    static const unsigned bits[] = { UT_A_SLASH, UT_A_SEMI, UT_A_QM, UT_A_AMP, UT_A_HASH };
    int xstar, ystar;
    unsigned xa = ut_alphabet(x, &xstar), ya = ut_alphabet(y, &ystar);
    const char *f = *y->first ? strchr(firsts, *y->first) : NULL;
    size_t i;

    /* An exploded ; or & expression is any number of its items, whatever their names:
     * an expression of the same operator writes nothing more. */
    if ((x->op == ';' || x->op == '&') && x->op == y->op)
        for (i = 0; i < x->n; i++)
            if (x->v[i].explode)
                return 1;
    if (!xstar)
        return 0;
    if (*x->first)
        return *x->first == *y->first && (ya & ~xa) == 0;
    return ((ya | (f ? bits[f - firsts] : 0)) & ~xa) == 0;
}

/* Emits a run of adjacent expressions, each dropped when a neighbour absorbs it. */
void ut_put_run_of(struct ut_buf *b, struct ut_expr *run, size_t n)
{
    size_t keep = 0, i;

    for (i = 0; i < n; i++) {
        while (keep > 0 && ut_absorbs(&run[i], &run[keep - 1]))
            keep--;
        if (keep > 0 && ut_absorbs(&run[keep - 1], &run[i]))
            continue;
        if (keep != i)
            run[keep] = run[i];
        keep++;
    }
    for (i = 0; i < keep; i++)
        ut_put_expr(b, &run[i]);
}

