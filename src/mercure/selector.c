/* selector.c -- Mercure topic matchers: a subscribe request's query read, each matcher compiled (exact, *, URL Pattern, URI template) and evaluated (pure) */
#include "config.h"

#include "mercure/selector.h"
#include "mercure/topic.h"
#include "mercure/topic_int.h"
#include "mercure/uritemplate.h"
#include "mercure/urlpattern.h"
#include "core/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void sel_free(struct sel_matcher *m)
{
    if (!m)
        return;
    free((char *)m->text);
    urlpattern_free(m->up);
    if (m->ut)
        uritemplate_free(m->ut);
    memset(m, 0, sizeof *m);
}

/* The pattern part of sel_compile: m->text is set. 0, 400 or 500 with why. */
static int sel_compile_pattern(struct sel_matcher *m, const char *hub_url, char *why,
                               size_t whylen)
{
    char err[256];
    int r;

    if (m->type == SEL_URLPATTERN) {
        /* urlpattern's own reasons quote pieces of the pattern: not passed on. */
        r = urlpattern_compile(&m->up, m->text, m->len, hub_url, err, sizeof err);
        if (r == URLPATTERN_ENOMEM)
            return text_fail(500, why, whylen, "out of memory");
        if (r == URLPATTERN_EUNSUPPORTED)
            return text_fail(400, why, whylen, "is a URL pattern whose regexp group uses a "
                            "feature this hub does not support");
        if (r == URLPATTERN_ETOOBIG)
            return text_fail(400, why, whylen, "is a URL pattern over this hub's limits");
        if (r != 0)
            return text_fail(400, why, whylen, "is not a valid URL pattern");
        return 0;
    }
    r = uritemplate_compile(m->text, m->len, &m->ut, NULL, 0);
    if (r == UT_EINVALID) {
        m->ut = NULL; /* not a template: the legacy draft compares it exactly only */
        return 0;
    }
    if (r == UT_ENOMEM)
        return text_fail(500, why, whylen, "out of memory");
    if (r == UT_ETOOBIG)
        return text_fail(400, why, whylen, "is a URI template over this hub's limits");
    return 0;
}

/* sel_compile with the status a request answers: 0, 400 or 500. */
static int sel_compile_st(struct sel_matcher *m, enum sel_type t, const char *text, size_t len,
                          const char *hub_url, char *why, size_t whylen)
{
    const char *bad;
    char *copy;
    int r;

    memset(m, 0, sizeof *m);
    if (len == 0)
        return text_fail(400, why, whylen, "is empty");
    if (len > TOPIC_MAX)
        return text_fail(400, why, whylen, "is longer than %d bytes", TOPIC_MAX);
    if (!topic_text_ok(text, len, &bad))
        return text_fail(400, why, whylen, "%s %s", strcmp(bad, "not UTF-8") ? "holds" : "is",
                        bad);
    if (t != SEL_EXACT && t != SEL_URLPATTERN && t != SEL_URITEMPLATE && t != SEL_ANY)
        return text_fail(400, why, whylen, "is of no matcher type this hub knows");
    if (!(copy = malloc(len + 1)))
        return text_fail(500, why, whylen, "out of memory");
    memcpy(copy, text, len);
    copy[len] = '\0';
    m->text = copy;
    m->len = len;
    m->type = t;
    m->type_name = t == SEL_URLPATTERN ? "urlpattern" : t == SEL_URITEMPLATE ? "uritemplate"
                                                                              : "exact";
    if (len == 1 && text[0] == '*') {
        m->type = SEL_ANY; /* recognized before the type: type_name stays what it came as */
        return 0;
    }
    if (t == SEL_URLPATTERN || t == SEL_URITEMPLATE) {
        if ((r = sel_compile_pattern(m, hub_url, why, whylen))) {
            sel_free(m);
            return r;
        }
    }
    return 0;
}

int sel_compile(struct sel_matcher *m, enum sel_type t, const char *text, size_t len,
                const char *hub_url, char *why, size_t whylen)
{
    if (whylen)
        why[0] = '\0';
    return sel_compile_st(m, t, text, len, hub_url, why, whylen) ? -1 : 0;
}

void sel_topic_init(struct sel_topic *t, const char *s, size_t len, const char *hub_url)
{
    t->s = s;
    t->len = len;
    t->hub_url = hub_url;
    t->parsed = 0;
    url_init(&t->url);
}

void sel_topic_free(struct sel_topic *t)
{
    if (t->parsed == 1)
        url_free(&t->url);
    t->parsed = 0;
}

/* t parsed against its hub URL, once: 1, or -1 when it is no URL (or memory ran out: the
 * topic then matches no URL pattern, as one that is no URL). */
static int sel_topic_parse(struct sel_topic *t)
{
    struct url base;

    if (t->parsed)
        return t->parsed;
    url_init(&base);
    t->parsed = -1;
    if (url_parse(&base, t->hub_url, strlen(t->hub_url), NULL) == 0) {
        if (url_parse(&t->url, t->s, t->len, &base) == 0)
            t->parsed = 1;
        url_free(&base);
    }
    return t->parsed;
}

int sel_match(const struct sel_matcher *m, struct sel_topic *t)
{
    switch (m->type) {
    case SEL_ANY:
        return 1;
    case SEL_EXACT:
        return t->len == m->len && memcmp(t->s, m->text, m->len) == 0;
    case SEL_URLPATTERN:
        return m->up && sel_topic_parse(t) == 1 &&
               urlpattern_test_url(m->up, &t->url) == URLPATTERN_MATCH;
    case SEL_URITEMPLATE:
        if (t->len == m->len && memcmp(t->s, m->text, m->len) == 0)
            return 1;
        return m->ut && uritemplate_match(m->ut, t->s, t->len) == 1;
    }
    return 0;
}

void sel_request_free(struct sel_request *r)
{
    size_t i;

    if (!r)
        return;
    for (i = 0; i < r->n; i++)
        sel_free(&r->m[i]);
    free(r->m);
    free(r->last);
    memset(r, 0, sizeof *r);
}

/* What a query parameter is, by its decoded name. */
enum sel_param {
    SP_OTHER,
    SP_MATCH,         /* match */
    SP_EXACT,         /* match_exact */
    SP_URLPATTERN,    /* match_urlpattern */
    SP_RESERVED,      /* another name beginning with "match" in any case */
    SP_TOPIC,         /* legacy topic */
    SP_LAST_CURRENT,  /* last_event_id */
    SP_LAST_LEGACY    /* lastEventID */
};

/* Classifies name[0, len) (encoded), decoding it into scratch (len + 1 bytes at least). */
static enum sel_param sel_param_of(const char *name, size_t len, char *scratch)
{
    long n = topic_unescape(scratch, len + 1, name, len, 1, 1);
    size_t k;

    if (n < 0)
        return SP_OTHER;
    k = (size_t)n;
    if (k == 5 && memcmp(scratch, "match", 5) == 0)
        return SP_MATCH;
    if (k == 11 && memcmp(scratch, "match_exact", 11) == 0)
        return SP_EXACT;
    if (k == 16 && memcmp(scratch, "match_urlpattern", 16) == 0)
        return SP_URLPATTERN;
    if (k >= 5 && strncasecmp(scratch, "match", 5) == 0)
        return SP_RESERVED;
    if (k == 5 && memcmp(scratch, "topic", 5) == 0)
        return SP_TOPIC;
    if (k == 13 && memcmp(scratch, "last_event_id", 13) == 0)
        return SP_LAST_CURRENT;
    if (k == 11 && memcmp(scratch, "lastEventID", 11) == 0)
        return SP_LAST_LEGACY;
    return SP_OTHER;
}

/* What the first pass over a query found. */
struct sel_scan {
    size_t current, legacy, reserved; /* parameters of each kind */
};

/* Which generation the parameters speak, checked against gens: 0 with r->gen set, or 400. */
static int sel_generation(struct sel_request *r, const struct sel_scan *s, unsigned gens,
                          char *why, size_t whylen)
{
    if (s->current && s->legacy)
        return text_fail(400, why, whylen, "the query has both match parameters (the current "
                        "draft) and topic parameters (the legacy one): a request speaks one");
    /* The current draft reserves the match prefix; a legacy request (topic=) is read by the
     * legacy draft's rules, which ignore parameters they do not know. */
    if (s->reserved && !s->legacy)
        return text_fail(400, why, whylen, "a parameter named match... is not one this hub "
                        "supports (match, match_exact, match_urlpattern)");
    if (!s->current && !s->legacy)
        return text_fail(400, why, whylen, "no topic matcher: %s",
                        gens == SEL_LEGACY ? "give one or more topic parameters"
                        : gens == SEL_CURRENT ? "give match, match_exact or match_urlpattern"
                        : "give match, match_exact or match_urlpattern (or the legacy topic)");
    r->gen = s->current ? SEL_CURRENT : SEL_LEGACY;
    if (!(gens & r->gen))
        return text_fail(400, why, whylen, r->gen == SEL_CURRENT ?
                        "the current draft's match parameters are off on this hub "
                        "(--mercure-protocol current or both allows them)" :
                        "the legacy topic parameter is off on this hub (--mercure-protocol "
                        "legacy or both allows it)");
    if (s->current + s->legacy > SEL_MATCHERS_MAX)
        return text_fail(400, why, whylen, "more than %d topic matchers", SEL_MATCHERS_MAX);
    return 0;
}

/* The last event id parameter's value v[0, n) (decoded): 0, or 400. */
static int sel_last(struct sel_request *r, const char *v, size_t n, char *why, size_t whylen)
{
    const char *name = r->gen == SEL_CURRENT ? "last_event_id" : "lastEventID", *bad;

    if (n > SEL_LAST_ID_MAX)
        return text_fail(400, why, whylen, "%s is longer than %d bytes", name, SEL_LAST_ID_MAX);
    /* No event id holds what a topic may not (the publish rules): such a value is no id,
     * and one holding NUL could not even be kept whole. */
    if (!topic_text_ok(v, n, &bad))
        return text_fail(400, why, whylen, "%s %s %s", name,
                        strcmp(bad, "not UTF-8") ? "holds" : "is", bad);
    if (!(r->last = malloc(n + 1)))
        return text_fail(500, why, whylen, "out of memory");
    memcpy(r->last, v, n);
    r->last[n] = '\0';
    r->has_last = 1;
    return 0;
}

/* Compiles matcher number pos (1-based) of parameter kind p, value v[0, n) (decoded), into
 * the next slot of r unless it repeats one already there. 0, 400 or 500. */
static int sel_add(struct sel_request *r, enum sel_param p, size_t pos, const char *v, size_t n,
                   const char *hub_url, char *why, size_t whylen)
{
    static const char *const pnames[] = { "", "match", "match_exact", "match_urlpattern", "",
                                          "topic" };
    enum sel_type t = p == SP_URLPATTERN ? SEL_URLPATTERN : p == SP_TOPIC ? SEL_URITEMPLATE
                                                                         : SEL_EXACT;
    struct sel_matcher *m = &r->m[r->n];
    char reason[160];
    size_t i;
    int st;

    if ((st = sel_compile_st(m, t, v, n, hub_url, reason, sizeof reason)))
        return text_fail(st, why, whylen, "topic matcher %zu (%s) %s", pos, pnames[p], reason);
    for (i = 0; i < r->n; i++)
        if (strcmp(r->m[i].type_name, m->type_name) == 0 && r->m[i].len == m->len &&
            memcmp(r->m[i].text, m->text, m->len) == 0) {
            sel_free(m); /* the same type and text: one subscription */
            return 0;
        }
    r->n++;
    return 0;
}

/* The second pass: every matcher compiled, the last event id read. 0, or a status. */
static int sel_read(struct sel_request *r, char *query, char *scratch, const char *hub_url,
                    char *why, size_t whylen)
{
    enum sel_param last = r->gen == SEL_CURRENT ? SP_LAST_CURRENT : SP_LAST_LEGACY;
    const char *q = query;
    struct text_field f;
    size_t pos = 0;
    long n;
    int st;

    while (text_form_next(&q, "&", &f)) {
        enum sel_param p = sel_param_of(f.name, f.name_len, scratch);

        if (p != SP_MATCH && p != SP_EXACT && p != SP_URLPATTERN && p != SP_TOPIC &&
            (p != last || r->has_last))
            continue;
        n = topic_unescape(scratch, f.value_len + 1, f.value, f.value_len, 1, 1);
        if (n < 0)
            return text_fail(500, why, whylen, "the query could not be decoded");
        if (p == last)
            st = sel_last(r, scratch, (size_t)n, why, whylen);
        else
            st = sel_add(r, p, ++pos, scratch, (size_t)n, hub_url, why, whylen);
        if (st)
            return st;
    }
    return 0;
}

int sel_parse_query(struct sel_request *r, const char *query, size_t len, const char *hub_url,
                    unsigned gens, char *why, size_t whylen)
{
    struct sel_scan scan = { 0, 0, 0 };
    struct text_field f;
    char *copy, *scratch;
    const char *q;
    int st;

    memset(r, 0, sizeof *r);
    if (whylen)
        why[0] = '\0';
    if (memchr(query, '\0', len))
        return text_fail(400, why, whylen, "the query holds a NUL byte");
    if (!(copy = malloc(2 * len + 2)))
        return text_fail(500, why, whylen, "out of memory");
    memcpy(copy, query, len);
    copy[len] = '\0';
    scratch = copy + len + 1; /* a decoded name or value: never longer than the query */
    for (q = copy; text_form_next(&q, "&", &f);) {
        enum sel_param p = sel_param_of(f.name, f.name_len, scratch);

        scan.current += p == SP_MATCH || p == SP_EXACT || p == SP_URLPATTERN;
        scan.legacy += p == SP_TOPIC;
        scan.reserved += p == SP_RESERVED;
    }
    st = sel_generation(r, &scan, gens, why, whylen);
    /* room for every matcher the query names (duplicates are kept once, in fewer) */
    if (!st && !(r->m = calloc(scan.current + scan.legacy, sizeof *r->m)))
        st = text_fail(500, why, whylen, "out of memory");
    if (!st)
        st = sel_read(r, copy, scratch, hub_url, why, whylen);
    free(copy);
    if (st)
        sel_request_free(r);
    return st;
}
