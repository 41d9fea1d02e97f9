/* topic_int.h -- what topic.c shares with the other Mercure modules: percent-decoding of form fields and path segments (pure) */
#ifndef FCGI_SSE_MERCURE_TOPIC_INT_H
#define FCGI_SSE_MERCURE_TOPIC_INT_H

#include <stddef.h>

/* Percent-decodes s[0, len) into out (cap bytes; len + 1 suffices; out may be s itself:
 * decoding never writes ahead of what it reads), NUL-terminated. plus: '+' becomes a
 * space (application/x-www-form-urlencoded). A '%' not followed by two hex digits is
 * kept as it is when lenient (the URL Standard's percent-decode, for parameter names),
 * else refused. NUL bytes are decoded like any other (callers check the text). The
 * length, or -1 (a bad '%' when not lenient; out too small). core/text.h's text_decode
 * refuses a NUL byte and a bad '%' alike; these callers name which it was. */
long topic_unescape(char *out, size_t cap, const char *s, size_t len, int plus, int lenient);

#endif
