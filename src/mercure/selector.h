/* selector.h -- Mercure topic matchers: a subscribe request's query read, each matcher compiled (exact, *, URL Pattern, URI template) and evaluated (pure) */
#ifndef FCGI_SSE_MERCURE_SELECTOR_H
#define FCGI_SSE_MERCURE_SELECTOR_H

#include <stddef.h>

#include "mercure/url.h"

/* Matchers in one subscribe request at most (400 beyond: the current draft). */
#define SEL_MATCHERS_MAX 32
/* Bytes of a last-event-id value at most (400 beyond). */
#define SEL_LAST_ID_MAX 1024

enum sel_type {
    SEL_ANY = 1,       /* "*": every topic, whatever the type it was given as */
    SEL_EXACT,         /* current draft, `match` / `match_exact`: byte for byte */
    SEL_URLPATTERN,    /* current draft, `match_urlpattern` */
    SEL_URITEMPLATE    /* legacy `topic=`: equal, or an RFC 6570 template it matches */
};

/* Which generation a request speaks (also what --mercure-protocol allows: a mask). */
enum sel_gen {
    SEL_CURRENT = 1,   /* match, match_exact, match_urlpattern; last_event_id */
    SEL_LEGACY = 2     /* topic; lastEventID */
};

struct urlpattern;
struct uritemplate;

/* A compiled matcher. */
struct sel_matcher {
    enum sel_type type;
    const char *text;          /* as given (NUL-terminated, owned) */
    size_t len;
    const char *type_name;     /* "exact", "urlpattern" (current); "uritemplate" (legacy) */
    struct urlpattern *up;     /* SEL_URLPATTERN */
    struct uritemplate *ut;    /* SEL_URITEMPLATE when text is a valid template, else NULL */
};

/* Compiles text[0, len) as a matcher of type t (SEL_EXACT, SEL_URLPATTERN or
 * SEL_URITEMPLATE; "*" is SEL_ANY whatever t says). The text must be 1 to TOPIC_MAX
 * bytes and topic_text_ok. A URL pattern is compiled against hub_url (a relative one
 * resolves against it) without ignoreCase; an invalid or unsupported one, or one over the
 * URL Pattern limits, is refused. A legacy selector that is not a valid URI template is
 * kept, compared exactly only (the legacy draft's rule). 0, or -1 with a one-line reason
 * (that never quotes the text) in why; *m is then empty. */
int sel_compile(struct sel_matcher *m, enum sel_type t, const char *text, size_t len,
                const char *hub_url, char *why, size_t whylen);
void sel_free(struct sel_matcher *m);

/* A topic being matched: parsed against the hub's URL once, the first time a URL pattern
 * asks for it, for every matcher evaluated on it. */
struct sel_topic {
    const char *s;
    size_t len;
    const char *hub_url;
    int parsed;                /* 0 not yet, 1 parsed into url, -1 not a URL */
    struct url url;
};
void sel_topic_init(struct sel_topic *t, const char *s, size_t len, const char *hub_url);
void sel_topic_free(struct sel_topic *t);

/* 1 when topic t matches m, else 0. A URL pattern or template that hits its evaluation
 * limit does not match (the drafts' rule). */
int sel_match(const struct sel_matcher *m, struct sel_topic *t);

/* A subscribe request's query, read. */
struct sel_request {
    enum sel_gen gen;
    size_t n;                  /* 1 to SEL_MATCHERS_MAX */
    struct sel_matcher *m;     /* [n] (allocated for the query's count: a subscriber holds
                                  what it asked for, not the maximum), in the query's
                                  order; duplicates (same type and text) kept once */
    int has_last;              /* last_event_id (current) or lastEventID (legacy) was given */
    char *last;                /* its value when has_last (allocated; may be "", which
                                  means none), else NULL */
};

/* Reads query[0, len) with the URL Standard's application/x-www-form-urlencoded parser
 * (as req.c's text_form_next, '+' a space) and compiles each matcher. gens is what the hub
 * allows (SEL_CURRENT | SEL_LEGACY for --mercure-protocol both).
 *  - current: `match` and `match_exact` (exact, or "*"), `match_urlpattern`; any other
 *    name that begins with "match" in any case is refused (the draft reserves the
 *    prefix) unless the request speaks legacy (has topic parameters: its draft ignores
 *    what it does not know); `last_event_id` (first occurrence wins);
 *  - legacy: `topic` (a URI template, an exact string or "*"); `lastEventID` (first
 *    occurrence wins); each generation reads only its own last event id parameter;
 *  - a last event id over SEL_LAST_ID_MAX bytes, or that is not topic_text_ok (no event
 *    id can be: the publish rules), is refused;
 *  - a request with both match* and topic parameters is refused (it must speak one);
 *    one that names a generation outside gens is refused saying which option allows it;
 *  - no matcher at all: refused; more than SEL_MATCHERS_MAX: refused; a matcher that does
 *    not compile (sel_compile): refused, naming its parameter and position;
 *  - other parameters are ignored.
 * 0 with *r filled, or 400 with a one-line reason in why (never quoting the input; *r
 * empty). 500 when memory runs out. */
int sel_parse_query(struct sel_request *r, const char *query, size_t len, const char *hub_url,
                    unsigned gens, char *why, size_t whylen);
void sel_request_free(struct sel_request *r);

#endif
