/* uritemplate.h -- RFC 6570 URI templates as Mercure legacy topic selectors: does a topic match what a template can expand to (PCRE2) */
#ifndef FCGI_SSE_MERCURE_URITEMPLATE_H
#define FCGI_SSE_MERCURE_URITEMPLATE_H

#include <stddef.h>

/* A compiled template. Matching keeps scratch space in it: one matcher at a time (the
 * responder has one thread). */
struct uritemplate;

/* Bounds: a template is a topic selector, as long as a topic may be; its expressions and
 * variables are few in any real template, and each costs regular-expression size. */
#define UT_TEMPLATE_MAX 4096 /* bytes */
#define UT_EXPRS_MAX 32      /* expressions ({...}) in a template */
#define UT_VARS_MAX 16       /* variables in one expression */
/* A prefix modifier {var:N} bounds what a variable expands to when N (or the sum of an
 * expression's) is at most this; beyond, the expression is matched as without a prefix. */
#define UT_PREFIX_EXACT_MAX 64
/* PCRE2 limits of one match (pcre2_set_match_limit, _depth_limit, _heap_limit): a topic of
 * UT_TEMPLATE_MAX bytes that a template can produce matches well within them (see the
 * unit tests); an ambiguous template on a long topic that cannot match stops there. */
#define UT_MATCH_LIMIT 50000
#define UT_DEPTH_LIMIT 20000
#define UT_HEAP_LIMIT_KIB 8192

/* What uritemplate_compile returns. */
enum {
    UT_OK = 0,
    UT_EINVALID = -1, /* not an RFC 6570 template: the legacy rules compare it exactly only */
    UT_ETOOBIG = -2,  /* a template over the bounds above, or too complex for PCRE2 */
    UT_ENOMEM = -3
};

/* Compiles the template (len bytes, UTF-8) into an anchored regular expression that
 * matches every string some values of its variables expand it to (RFC 6570 levels 1-4:
 * operators none, +, #, ., /, ;, ?, &; the explode * and prefix :N modifiers; lists and
 * associative arrays as well as strings) and, where cheap, nothing else:
 *  - a literal matches itself; a non-ASCII literal also matches its percent-encoded UTF-8
 *    (expansion encodes it; an IRI topic holds it as it is);
 *  - {var} (and ., /, ;, ?, &) yields unreserved characters and %XX triplets only (a list
 *    joins with ",", an exploded associative array writes "k=v"); {+var} and {#var} also
 *    reserved characters; {/a,b} is at most two segments; {?x,y} names its variables in
 *    their order; {var:3} is at most three characters (each %XX-encoded UTF-8 character
 *    counting one).
 * A prefix on a list is an expansion error in RFC 6570: {var:N} matches strings only.
 * UT_OK with *out set, or an error above with a one-line reason in why (may be NULL). */
int uritemplate_compile(const char *tpl, size_t len, struct uritemplate **out, char *why,
                        size_t whylen);

/* Matches the whole of s (len bytes): 1 when it matches, 0 when not (s not valid UTF-8
 * included), UT_LIMIT when a PCRE2 limit stopped the match (callers count it as no
 * match: the draft's "treated as not matching"), UT_EMATCH on any other PCRE2 error. */
#define UT_LIMIT (-2)
#define UT_EMATCH (-1)
int uritemplate_match(struct uritemplate *t, const char *s, size_t len);

/* The regular expression a template compiled to (for diagnostics and the tests). */
const char *uritemplate_regex(const struct uritemplate *t);

void uritemplate_free(struct uritemplate *t);

#endif
