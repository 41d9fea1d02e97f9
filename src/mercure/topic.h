/* topic.h -- Mercure topic strings: the characters a topic, matcher, id or type may hold, the hub's reserved namespace, percent-encoding once (pure) */
#ifndef FCGI_SSE_MERCURE_TOPIC_H
#define FCGI_SSE_MERCURE_TOPIC_H

#include <stddef.h>

/* Bytes of a topic or a matcher at most (both drafts leave it to the hub; 4 KiB covers any
 * URL a browser sends). */
#define TOPIC_MAX 4096

/* 1 when s[0, len) is what the current draft allows a topic, a matcher, an update's id or
 * type to be: valid UTF-8 (no overlong form, no surrogate, nothing above U+10FFFF) without
 * C0 (U+0000-U+001F), DEL, C1 (U+0080-U+009F) or a format character (Unicode general
 * category Cf, as of Unicode 15.1: U+00AD, U+0600-0605, U+061C, U+06DD, U+070F,
 * U+0890-0891, U+08E2, U+180E, U+200B-200F, U+202A-202E, U+2060-2064, U+2066-206F, U+FEFF,
 * U+FFF9-FFFB, U+110BD, U+110CD, U+13430-1343F, U+1BCA0-1BCA3, U+1D173-1D17A, U+E0001,
 * U+E0020-E007F). 0 otherwise; *why (may be NULL) then names what is wrong in a few words
 * ("not UTF-8", "a control character", "a format character (Unicode Cf)"). */
int topic_text_ok(const char *s, size_t len, const char **why);

/* 1 when topic[0, len) addresses the hub's reserved namespace (the current draft,
 * "Publication"): resolved against hub_url (an absolute URL, e.g.
 * "https://example.com/.well-known/mercure") with the URL Standard's parser
 * (mercure/url.h), its path, once its percent-encoded unreserved characters (ALPHA,
 * DIGIT, '-', '.', '_', '~', either case of hex digit) are decoded and its dot segments
 * removed (RFC 3986 5.2.4), equals hub_url's path or begins with it followed by '/',
 * whatever its scheme and host. A topic that does not parse against hub_url is not
 * reserved (0). -1 when memory runs out. */
int topic_reserved(const char *topic, size_t len, const char *hub_url);

/* Writes s[0, len) percent-encoded once into out (cap bytes): every byte but the
 * unreserved ones (ALPHA, DIGIT, '-', '.', '_', '~') as %XX with upper-case hex digits,
 * '%' included (RFC 6570's simple string expansion, as the drafts ask for {match},
 * {topic} and {subscriber}). NUL-terminated. Returns the length, or -1 when it does not
 * fit. */
long topic_encode(char *out, size_t cap, const char *s, size_t len);

/* Decodes %XX triplets of s[0, len) into out (cap bytes, len + 1 suffices),
 * NUL-terminated; any other byte is kept. -1 on a '%' not followed by two hex digits, or
 * when out is too small; else the length (the result may hold NUL bytes: callers check
 * it with topic_text_ok). */
long topic_decode(char *out, size_t cap, const char *s, size_t len);

#endif
