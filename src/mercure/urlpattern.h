/* urlpattern.h -- the WHATWG URL Pattern Standard: compile a pattern, test URLs against it (pure) */
#ifndef FCGI_SSE_URLPATTERN_H
#define FCGI_SSE_URLPATTERN_H

#include <stddef.h>
#include <stdint.h>

#include "mercure/url.h"

/* Limits (every input comes from the network):
 * - a pattern string, or the members of an init taken together, at most
 *   URLPATTERN_MAX_PATTERN bytes of UTF-8; a base URL at most URL_MAX_INPUT;
 * - at most URLPATTERN_MAX_PARTS parts in one component;
 * - a regexp group nests groups at most URLPATTERN_MAX_NEST deep and its counted
 *   quantifiers ({n}, {n,}, {n,m}) stay at or under URLPATTERN_MAX_REPEAT;
 * - one component's generated regular expression is at most URLPATTERN_MAX_REGEXP
 *   bytes and PCRE2 must accept its compiled size;
 * - matching one component runs PCRE2 (interpreter, no JIT) under a match limit
 *   (URLPATTERN_MATCH_LIMIT backtracking steps), a depth limit and a heap limit: a
 *   hostile regexp group stops there and the test says URLPATTERN_LIMIT.
 * Over a limit, compiling says URLPATTERN_ETOOBIG. */
#define URLPATTERN_MAX_PATTERN 4096
#define URLPATTERN_MAX_PARTS 128
#define URLPATTERN_MAX_NEST 32
#define URLPATTERN_MAX_REPEAT 1000
#define URLPATTERN_MAX_REGEXP 32768
#define URLPATTERN_MATCH_LIMIT 1000000u
#define URLPATTERN_DEPTH_LIMIT 20000u
#define URLPATTERN_HEAP_LIMIT_KIB 8192u

/* Compile results: 0, or */
#define URLPATTERN_EINVALID (-1)     /* the standard throws a TypeError */
#define URLPATTERN_EUNSUPPORTED (-2) /* valid, but a regexp group outside the subset below */
#define URLPATTERN_ETOOBIG (-3)      /* over a limit above */
#define URLPATTERN_ENOMEM (-4)

/* Test results: */
#define URLPATTERN_NOMATCH 0
#define URLPATTERN_MATCH 1
#define URLPATTERN_LIMIT (-5) /* a PCRE2 limit stopped the evaluation: treat as no match */

/* Regexp groups are ECMAScript regular expressions with the v flag (as the standard
 * compiles them), translated to PCRE2 (UTF, no UCP, $ at the end only):
 * accepted: literals and every escape the v flag allows (\f \n \r \t \v \cX \0 \xHH
 * \uHHHH \u{H...} with surrogate pairs joined, identity escapes of syntax characters and
 * '/'), '.', ^ $ \b \B, \d \D \w \W \s \S (as ECMAScript defines them: ASCII digits and
 * word characters, its own white space list), classes [...] and [^...] of characters,
 * ranges and those escapes (with the v flag's reserved punctuators refused as it refuses
 * them), (?:...), lookahead (?=...) (?!...), alternation, greedy and lazy quantifiers;
 * refused as URLPATTERN_EUNSUPPORTED (the pattern may be valid, but would not be matched
 * exactly as the standard says): lookbehind, backreferences (\1, \k<name>), named
 * groups, modifiers (?i:...), property escapes \p{...} \P{...}, nested classes, class
 * set operations (&&, --) and strings (\q{...}), lone surrogate escapes;
 * what ECMAScript rejects (lone braces, nothing to repeat, out-of-order ranges and
 * counts, bad escapes...) is URLPATTERN_EINVALID. */

/* Two readings where the standard's text gives nonsense, as Chromium reads them: the
 * port component's text is canonicalized with the pattern's protocol (its default port is
 * dropped: "080" for http), not with the dummy https URL that would turn 443 into "" for
 * every protocol; a pathname piece whose dot segments climb above its start ("a/../b") is
 * refused instead of losing two code points. */

struct urlpattern;

/* A URLPatternInit: NULL members are absent. Strings are UTF-8, NUL-terminated. */
struct urlpattern_init {
    const char *protocol, *username, *password, *hostname, *port, *pathname, *search, *hash;
    const char *base_url;
};

/* "new URLPattern(pattern, baseURL)": compiles the constructor string pattern[0, len)
 * (UTF-8) against base_url (NULL: none; then the pattern must be absolute). Without
 * ignoreCase. Returns 0 with *out (free with urlpattern_free), or a code above with a
 * one-line reason in err (errlen bytes, may be 0). */
int urlpattern_compile(struct urlpattern **out, const char *pattern, size_t len,
                       const char *base_url, char *err, size_t errlen);

/* "new URLPattern(init)": the same from a URLPatternInit. */
int urlpattern_compile_init(struct urlpattern **out, const struct urlpattern_init *init,
                            char *err, size_t errlen);

void urlpattern_free(struct urlpattern *p);

/* "test(input, baseURL)": parses input[0, len) against base_url (NULL: none) with the
 * URL parser, then matches each component. URLPATTERN_MATCH, URLPATTERN_NOMATCH (also
 * when the input or the base URL is not a URL: the standard returns null), or
 * URLPATTERN_LIMIT (the evaluation stopped: no match); URLPATTERN_ENOMEM. p is only read
 * (urlpattern_set_limits aside). */
int urlpattern_test(struct urlpattern *p, const char *input, size_t len, const char *base_url);

/* The same on a URL parsed once (url_parse) for many patterns. */
int urlpattern_test_url(struct urlpattern *p, const struct url *u);

/* "hasRegExpGroups". */
int urlpattern_has_regexp_groups(const struct urlpattern *p);

/* Lowers (or raises) p's PCRE2 limits for each component match: steps, depth, heap KiB. */
void urlpattern_set_limits(struct urlpattern *p, uint32_t match, uint32_t depth,
                           uint32_t heap_kib);

#endif
