/* urlpattern_parse.c -- URL Pattern's pattern parser (parts) and its regular expression for a component (pure) */
#include "config.h"

#include "mercure/urlpattern_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The regular expression is written for PCRE2, not ECMAScript: fixed text is escaped
 * with '\' before each non-alphanumeric code point (and \x{..} for controls), groups are
 * non-capturing (test() needs no captures), "[^]+?" and ".*" are spelled so that PCRE2
 * matches what ECMAScript would ("." is any code point but \n \r U+2028 U+2029). */

struct part {
    enum urlpattern_part_type type;
    enum urlpattern_modifier mod;
    char *value, *prefix, *suffix; /* owned; value: fixed text, or the regexp's source */
    size_t vlen, plen, slen;
    const char *name; /* into the input; NULL for a numeric name */
    size_t name_len;
};

struct pp {
    const struct urlpattern_tokens *t;
    size_t i;
    struct part *parts;
    size_t n;
    struct urlpattern_buf pending; /* the pending fixed value */
    const struct urlpattern_opts *o;
    struct urlpattern_err *e;
    char segwild[8]; /* the segment wildcard regexp, as ECMAScript source */
};

static void parts_free(struct part *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].value);
        free(v[i].prefix);
        free(v[i].suffix);
    }
    free(v);
}

/* The encoding callback on s[0, n). */
static int encode(struct pp *p, const char *s, size_t n, char **out, size_t *outlen)
{
    const char *why = NULL;
    int r = url_canon(p->o->canon, s, n, p->o->protocol, out, outlen, &why);

    if (r == URL_ENOMEM)
        return urlpattern_fail(p->e, URLPATTERN_ENOMEM, "out of memory");
    if (r == URL_ETOOLONG)
        return urlpattern_fail(p->e, URLPATTERN_ETOOBIG, "the %s pattern is too long",
                               p->o->component);
    if (r)
        return urlpattern_fail(p->e, URLPATTERN_EINVALID, "the %s pattern's text \"%.*s\": %s",
                               p->o->component, (int)(n > 60 ? 60 : n), s,
                               why ? why : "invalid");
    return 0;
}

static const struct urlpattern_token *try_tok(struct pp *p, enum urlpattern_tok type)
{
    const struct urlpattern_token *tok = &p->t->v[p->i];

    if (tok->type != type)
        return NULL;
    p->i++;
    return tok;
}

static const struct urlpattern_token *try_modifier(struct pp *p)
{
    const struct urlpattern_token *tok = try_tok(p, UP_TOK_OTHER_MODIFIER);

    return tok ? tok : try_tok(p, UP_TOK_ASTERISK);
}

static const struct urlpattern_token *try_regexp_or_wildcard(struct pp *p,
                                                             const struct urlpattern_token *name)
{
    const struct urlpattern_token *tok = try_tok(p, UP_TOK_REGEXP);

    if (!name && !tok)
        tok = try_tok(p, UP_TOK_ASTERISK);
    return tok;
}

/* "consume text" into b. */
static int consume_text(struct pp *p, struct urlpattern_buf *b)
{
    const struct urlpattern_token *tok;
    int r = 0;

    while (r == 0 && ((tok = try_tok(p, UP_TOK_CHAR)) || (tok = try_tok(p, UP_TOK_ESCAPED_CHAR))))
        r = urlpattern_buf_put(b, tok->value, tok->len);
    return r ? urlpattern_fail(p->e, r, "the %s pattern is too long", p->o->component) : 0;
}

static int new_part(struct pp *p, struct part **out)
{
    struct part *v;

    if (p->n >= URLPATTERN_MAX_PARTS)
        return urlpattern_fail(p->e, URLPATTERN_ETOOBIG, "the %s pattern has over %d parts",
                               p->o->component, URLPATTERN_MAX_PARTS);
    v = realloc(p->parts, (p->n + 1) * sizeof *v);
    if (!v)
        return urlpattern_fail(p->e, URLPATTERN_ENOMEM, "out of memory");
    p->parts = v;
    *out = memset(&v[p->n++], 0, sizeof *v);
    return 0;
}

/* "maybe add a part from the pending fixed value". */
static int add_pending(struct pp *p)
{
    struct part *part;
    int r;

    if (p->pending.len == 0)
        return 0;
    if ((r = new_part(p, &part)))
        return r;
    part->type = UP_FIXED;
    r = encode(p, p->pending.p, p->pending.len, &part->value, &part->vlen);
    p->pending.len = 0;
    return r;
}

static enum urlpattern_modifier modifier(const struct urlpattern_token *tok)
{
    if (!tok)
        return UP_MOD_NONE;
    return tok->value[0] == '?' ? UP_MOD_OPTIONAL
           : tok->value[0] == '*' ? UP_MOD_ZERO_OR_MORE : UP_MOD_ONE_OR_MORE;
}

static int same(const char *a, size_t an, const char *b)
{
    return an == strlen(b) && memcmp(a, b, an) == 0;
}

/* "add a part". prefix and suffix are raw text (not yet encoded). */
static int add_part(struct pp *p, const char *prefix, size_t plen,
                    const struct urlpattern_token *name, const struct urlpattern_token *rw,
                    const char *suffix, size_t slen, const struct urlpattern_token *mtok)
{
    enum urlpattern_modifier mod = modifier(mtok);
    struct part *part;
    int r;

    if (!name && !rw && mod == UP_MOD_NONE)
        return urlpattern_buf_put(&p->pending, prefix, plen)
                   ? urlpattern_fail(p->e, URLPATTERN_ETOOBIG, "the pattern is too long") : 0;
    if ((r = add_pending(p)))
        return r;
    if (!name && !rw) {
        if (plen == 0)
            return 0;
        if ((r = new_part(p, &part)))
            return r;
        part->type = UP_FIXED;
        part->mod = mod;
        return encode(p, prefix, plen, &part->value, &part->vlen);
    }
    for (size_t k = 0; name && k < p->n; k++)
        if (p->parts[k].name && p->parts[k].name_len == name->len &&
            memcmp(p->parts[k].name, name->value, name->len) == 0)
            return urlpattern_fail(p->e, URLPATTERN_EINVALID,
                                   "the %s pattern names two groups \":%.*s\"", p->o->component,
                                   (int)name->len, name->value);
    if ((r = new_part(p, &part)))
        return r;
    part->mod = mod;
    part->type = UP_REGEXP;
    if (!rw || (rw->type == UP_TOK_REGEXP && same(rw->value, rw->len, p->segwild)))
        part->type = UP_SEGMENT_WILDCARD;
    else if (rw->type == UP_TOK_ASTERISK || same(rw->value, rw->len, ".*"))
        part->type = UP_FULL_WILDCARD;
    if (part->type == UP_REGEXP) {
        part->value = malloc(rw->len + 1);
        if (!part->value)
            return urlpattern_fail(p->e, URLPATTERN_ENOMEM, "out of memory");
        memcpy(part->value, rw->value, rw->len);
        part->value[rw->len] = '\0';
        part->vlen = rw->len;
    }
    if (name) {
        part->name = name->value;
        part->name_len = name->len;
    }
    if ((r = encode(p, prefix, plen, &part->prefix, &part->plen)))
        return r;
    return encode(p, suffix, slen, &part->suffix, &part->slen);
}

/* "{" prefix name? regexp-or-wildcard? suffix "}" modifier? */
static int parse_group(struct pp *p)
{
    struct urlpattern_buf pre = {.max = URLPATTERN_MAX_PATTERN + 1};
    struct urlpattern_buf suf = {.max = URLPATTERN_MAX_PATTERN + 1};
    const struct urlpattern_token *name, *rw, *mod;
    int r;

    if ((r = consume_text(p, &pre)) == 0) {
        name = try_tok(p, UP_TOK_NAME);
        rw = try_regexp_or_wildcard(p, name);
        if ((r = consume_text(p, &suf)) == 0) {
            if (!try_tok(p, UP_TOK_CLOSE)) {
                r = urlpattern_fail(p->e, URLPATTERN_EINVALID,
                                    "the %s pattern has a '{' without its '}'", p->o->component);
            } else {
                mod = try_modifier(p);
                r = add_part(p, pre.p ? pre.p : "", pre.len, name, rw, suf.p ? suf.p : "",
                             suf.len, mod);
            }
        }
    }
    urlpattern_buf_free(&pre);
    urlpattern_buf_free(&suf);
    return r;
}

/* "parse a pattern string": the loop over the tokens. */
static int parse(struct pp *p)
{
    int r = 0;

    while (r == 0 && p->i < p->t->n) {
        const struct urlpattern_token *ch = try_tok(p, UP_TOK_CHAR), *name, *rw;
        char pre[1];
        size_t plen = 0;

        name = try_tok(p, UP_TOK_NAME);
        rw = try_regexp_or_wildcard(p, name);
        if (name || rw) {
            if (ch && !(ch->len == 1 && p->o->prefix && ch->value[0] == p->o->prefix)) {
                if (urlpattern_buf_put(&p->pending, ch->value, ch->len))
                    return urlpattern_fail(p->e, URLPATTERN_ETOOBIG, "the pattern is too long");
            } else if (ch) {
                pre[0] = ch->value[0];
                plen = 1;
            }
            if ((r = add_pending(p)) == 0)
                r = add_part(p, pre, plen, name, rw, "", 0, try_modifier(p));
            continue;
        }
        if (!ch)
            ch = try_tok(p, UP_TOK_ESCAPED_CHAR);
        if (ch) {
            if (urlpattern_buf_put(&p->pending, ch->value, ch->len))
                return urlpattern_fail(p->e, URLPATTERN_ETOOBIG, "the pattern is too long");
            continue;
        }
        if (try_tok(p, UP_TOK_OPEN)) {
            r = parse_group(p);
            continue;
        }
        if ((r = add_pending(p)))
            break;
        if (!try_tok(p, UP_TOK_END))
            r = urlpattern_fail(p->e, URLPATTERN_EINVALID,
                                "the %s pattern has a misplaced '%.*s' at byte %zu",
                                p->o->component, (int)p->t->v[p->i].len, p->t->v[p->i].value,
                                p->t->v[p->i].index);
    }
    return r;
}

/* ---- the regular expression */

/* Escaped fixed text (ASCII: the encoding callbacks percent-encode the rest). */
static int esc(struct urlpattern_buf *b, const char *s, size_t n)
{
    int r = 0;

    for (size_t i = 0; i < n && r == 0; i++) {
        unsigned char c = (unsigned char)s[i];
        char t[12];

        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            r = urlpattern_buf_put(b, s + i, 1);
        } else if (c < 0x20 || c >= 0x7f) {
            snprintf(t, sizeof t, "\\x{%x}", c);
            r = urlpattern_buf_puts(b, t);
        } else {
            t[0] = '\\';
            t[1] = (char)c;
            r = urlpattern_buf_put(b, t, 2);
        }
    }
    return r;
}

static const char *mod_str(enum urlpattern_modifier m)
{
    return m == UP_MOD_ZERO_OR_MORE ? "*" : m == UP_MOD_OPTIONAL ? "?"
           : m == UP_MOD_ONE_OR_MORE ? "+" : "";
}

/* A wildcard's set of code points as a PCRE2 class. */
static void wildcard_class(const struct pp *p, const struct part *part, char *t, size_t n)
{
    if (part->type == UP_FULL_WILDCARD)
        snprintf(t, n, "[^\\n\\r\\x{2028}\\x{2029}]");
    else if (!p->o->delimiter)
        snprintf(t, n, "[\\x{0}-\\x{10ffff}]");
    else
        snprintf(t, n, "[^\\x{%x}]", (unsigned char)p->o->delimiter);
}

/* A part's regexp value in PCRE2 syntax into rv ("[^/]+?", ".*" or the regexp group's). */
static int regexp_value(const struct pp *p, const struct part *part, struct urlpattern_buf *rv)
{
    char t[40];
    int r;

    if (part->type == UP_REGEXP)
        return urlpattern_es_translate(part->value, part->vlen, rv, p->e);
    wildcard_class(p, part, t, sizeof t);
    if ((r = urlpattern_buf_puts(rv, t)))
        return r;
    return urlpattern_buf_puts(rv, part->type == UP_FULL_WILDCARD ? "*" : "+?");
}

/* One group part, in the standard's forms (groups made non-capturing). */
static int gen_part(struct urlpattern_buf *b, const struct part *part, const char *rv)
{
    const char *m = mod_str(part->mod);
    int r;

    if (part->plen == 0 && part->slen == 0) {
        if (part->mod == UP_MOD_NONE || part->mod == UP_MOD_OPTIONAL) {
            if ((r = urlpattern_buf_puts(b, "(?:")) || (r = urlpattern_buf_puts(b, rv)) ||
                (r = urlpattern_buf_puts(b, ")")))
                return r;
            return urlpattern_buf_puts(b, m);
        }
        if ((r = urlpattern_buf_puts(b, "(?:(?:")) || (r = urlpattern_buf_puts(b, rv)) ||
            (r = urlpattern_buf_puts(b, ")")) || (r = urlpattern_buf_puts(b, m)))
            return r;
        return urlpattern_buf_puts(b, ")");
    }
    if (part->mod == UP_MOD_NONE || part->mod == UP_MOD_OPTIONAL) {
        if ((r = urlpattern_buf_puts(b, "(?:")) || (r = esc(b, part->prefix, part->plen)) ||
            (r = urlpattern_buf_puts(b, "(?:")) || (r = urlpattern_buf_puts(b, rv)) ||
            (r = urlpattern_buf_puts(b, ")")) || (r = esc(b, part->suffix, part->slen)) ||
            (r = urlpattern_buf_puts(b, ")")))
            return r;
        return urlpattern_buf_puts(b, m);
    }
    if ((r = urlpattern_buf_puts(b, "(?:")) || (r = esc(b, part->prefix, part->plen)) ||
        (r = urlpattern_buf_puts(b, "(?:(?:")) || (r = urlpattern_buf_puts(b, rv)) ||
        (r = urlpattern_buf_puts(b, ")(?:")) || (r = esc(b, part->suffix, part->slen)) ||
        (r = esc(b, part->prefix, part->plen)) || (r = urlpattern_buf_puts(b, "(?:")) ||
        (r = urlpattern_buf_puts(b, rv)) || (r = urlpattern_buf_puts(b, "))*)")) ||
        (r = esc(b, part->suffix, part->slen)) || (r = urlpattern_buf_puts(b, ")")))
        return r;
    return urlpattern_buf_puts(b, part->mod == UP_MOD_ZERO_OR_MORE ? "?" : "");
}

/* "generate a regular expression and name list" (no name list: test() needs none). */
static int generate(struct pp *p, struct urlpattern_buf *b)
{
    int r = urlpattern_buf_puts(b, "\\A");

    for (size_t i = 0; i < p->n && r == 0; i++) {
        const struct part *part = &p->parts[i];
        struct urlpattern_buf rv = {.max = URLPATTERN_MAX_REGEXP};

        if (part->type == UP_FIXED) {
            if (part->mod == UP_MOD_NONE) {
                r = esc(b, part->value, part->vlen);
                continue;
            }
            if ((r = urlpattern_buf_puts(b, "(?:")) || (r = esc(b, part->value, part->vlen)) ||
                (r = urlpattern_buf_puts(b, ")")))
                break;
            r = urlpattern_buf_puts(b, mod_str(part->mod));
            continue;
        }
        if (part->type != UP_REGEXP && part->plen == 0 && part->slen == 0 &&
            (part->mod == UP_MOD_ZERO_OR_MORE || part->mod == UP_MOD_ONE_OR_MORE)) {
            /* ((?:C+?)*) and ((?:C+?)+) are C* and C+, ((?:.*)*) and ((?:.*)+) are .*: the
             * same strings, without the nested quantifiers' exponential backtracking */
            char t[48];

            wildcard_class(p, part, t, sizeof t - 4);
            strcat(t, part->type == UP_FULL_WILDCARD || part->mod == UP_MOD_ZERO_OR_MORE ? "*"
                                                                                          : "+");
            r = urlpattern_buf_puts(b, t);
            continue;
        }
        r = regexp_value(p, part, &rv);
        if (r == 0)
            r = gen_part(b, part, rv.p);
        urlpattern_buf_free(&rv);
    }
    if (r == 0)
        r = urlpattern_buf_puts(b, "\\z");
    if (r && !p->e->code)
        urlpattern_fail(p->e, r, r == URLPATTERN_ENOMEM ? "out of memory"
                                 : "the %s pattern's regular expression is too long",
                        p->o->component);
    return r ? p->e->code : 0;
}

static int re_compile(struct urlpattern_component *c, const struct urlpattern_buf *b,
                      const struct urlpattern_opts *o, struct urlpattern_err *e)
{
    PCRE2_UCHAR msg[120];
    PCRE2_SIZE off;
    int ec;

    c->re = pcre2_compile((PCRE2_SPTR)b->p, b->len,
                          PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C, &ec, &off,
                          NULL);
    if (c->re)
        return 0;
    if (ec == PCRE2_ERROR_NOMEMORY)
        return urlpattern_fail(e, URLPATTERN_ENOMEM, "out of memory");
    pcre2_get_error_message(ec, msg, sizeof msg);
    return urlpattern_fail(e, URLPATTERN_ETOOBIG, "the %s pattern's regular expression: %s",
                           o->component, (const char *)msg);
}

int urlpattern_component_compile(struct urlpattern_component *c, const char *in, size_t len,
                                 const struct urlpattern_opts *o, struct urlpattern_err *e)
{
    struct urlpattern_tokens toks;
    struct pp p = {.o = o, .e = e, .pending = {.max = URLPATTERN_MAX_PATTERN + 1}};
    struct urlpattern_buf b = {.max = URLPATTERN_MAX_REGEXP};
    int r;

    memset(c, 0, sizeof *c);
    if (o->delimiter)
        snprintf(p.segwild, sizeof p.segwild, "[^\\%c]+?", o->delimiter);
    else
        strcpy(p.segwild, "[^]+?");
    if ((r = urlpattern_tokenize(in, len, 1, &toks, e)))
        return r;
    p.t = &toks;
    r = parse(&p);
    for (size_t i = 0; r == 0 && i < p.n; i++)
        if (p.parts[i].type == UP_REGEXP)
            c->has_regexp_groups = 1;
    if (r == 0 && (p.n == 0 || (p.n == 1 && p.parts[0].type == UP_FIXED &&
                                p.parts[0].mod == UP_MOD_NONE))) {
        c->kind = UP_KIND_FIXED;
        c->fixed = p.n ? p.parts[0].value : strdup("");
        c->fixed_len = p.n ? p.parts[0].vlen : 0;
        if (p.n)
            p.parts[0].value = NULL;
        if (!c->fixed)
            r = urlpattern_fail(e, URLPATTERN_ENOMEM, "out of memory");
    } else if (r == 0 && p.n == 1 && p.parts[0].type == UP_FULL_WILDCARD &&
               p.parts[0].mod == UP_MOD_NONE && !p.parts[0].plen && !p.parts[0].slen) {
        c->kind = UP_KIND_ANY;
    } else if (r == 0 && (r = generate(&p, &b)) == 0) {
        c->kind = UP_KIND_REGEX;
        r = re_compile(c, &b, o, e);
    }
    urlpattern_buf_free(&b);
    urlpattern_buf_free(&p.pending);
    parts_free(p.parts, p.n);
    free(toks.v);
    if (r)
        urlpattern_component_free(c);
    return r;
}

void urlpattern_component_free(struct urlpattern_component *c)
{
    free(c->fixed);
    pcre2_code_free(c->re);
    memset(c, 0, sizeof *c);
}

int urlpattern_component_match(const struct urlpattern_component *c, const char *s, size_t n,
                               pcre2_match_data *md, pcre2_match_context *mc)
{
    int rc;

    switch (c->kind) {
    case UP_KIND_FIXED:
        return n == c->fixed_len && memcmp(s, c->fixed, n) == 0;
    case UP_KIND_ANY:
        for (size_t i = 0; i < n; i++)
            if (s[i] == '\n' || s[i] == '\r' ||
                (i + 2 < n && (unsigned char)s[i] == 0xe2 && (unsigned char)s[i + 1] == 0x80 &&
                 ((unsigned char)s[i + 2] & 0xfe) == 0xa8))
                return URLPATTERN_NOMATCH;
        return URLPATTERN_MATCH;
    case UP_KIND_REGEX:
        break;
    }
    rc = pcre2_match(c->re, (PCRE2_SPTR)s, n, 0, 0, md, mc);
    if (rc >= 0)
        return URLPATTERN_MATCH;
    switch (rc) {
    case PCRE2_ERROR_MATCHLIMIT:
    case PCRE2_ERROR_DEPTHLIMIT:
    case PCRE2_ERROR_HEAPLIMIT:
        return URLPATTERN_LIMIT;
    case PCRE2_ERROR_NOMEMORY:
        return URLPATTERN_ENOMEM;
    }
    return URLPATTERN_NOMATCH;
}
