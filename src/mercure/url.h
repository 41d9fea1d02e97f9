/* url.h -- the WHATWG URL Standard's basic URL parser: UTF-8 in, canonical components out (pure) */
#ifndef FCGI_SSE_URL_H
#define FCGI_SSE_URL_H

#include <stddef.h>

/* Limits: an input (URL, base URL or canonicalized piece) is at most URL_MAX_INPUT bytes
 * of UTF-8; longer is refused (URL_ETOOLONG) before any work. A component is at most
 * 3 * URL_MAX_INPUT + 64 bytes (percent-encoding triples a byte, never more), so what a
 * parse allocates is bounded by its input. No globals; no I/O.
 * Where this departs from the standard: a host that is not ASCII goes through libidn2
 * (UTS#46 non-transitional mapping, NFC, then IDNA2008 checks), which refuses some hosts
 * UTS#46 as the standard sets it up accepts: a label with '-' first, last or in positions
 * 3-4 ("ü-.de"), code points IDNA2008 disallows (symbols, emoji: "☕.example"), a label
 * over 63 or a name over 253 octets in ASCII. Such a URL is a failure (url_host.c). */
#define URL_MAX_INPUT 8192

/* Results: 0, or one of these. */
#define URL_EINVALID (-1) /* the standard says failure */
#define URL_ETOOLONG (-2) /* over URL_MAX_INPUT */
#define URL_ENOMEM (-3)   /* malloc failed */

/* A growing string, NUL-terminated once anything is in it (p may be NULL while empty). */
struct url_buf {
    char *p;
    size_t len, cap;
};

enum url_host_kind {
    URL_HOST_NULL = 0, /* no host */
    URL_HOST_DOMAIN,   /* an ASCII domain, lowercased, after UTS#46 when not ASCII */
    URL_HOST_IPV4,     /* serialized "a.b.c.d" */
    URL_HOST_IPV6,     /* serialized "[...]", compressed per RFC 5952 */
    URL_HOST_OPAQUE,   /* a non-special URL's host, percent-encoded */
    URL_HOST_EMPTY     /* the empty host */
};

/* A URL record. The strings hold the standard's values: scheme without ':', query
 * without '?', fragment without '#'; host is the host serializer's output; path is the
 * URL path serializer's output ("/a/b", "" for an empty list, or the opaque path).
 * Read them with url_get(). Free with url_free(). */
struct url {
    struct url_buf scheme, username, password, host, path, query, fragment;
    int port;                /* -1 when null (absent or the scheme's default) */
    enum url_host_kind host_kind;
    unsigned char opaque_path; /* the path is one opaque string */
    unsigned char has_query, has_fragment; /* query, fragment non-null */
    char port_str[8];        /* port, serialized ("" when null) */
    const char *why;         /* after a failure: what was wrong, one line (static) */
};

/* The components URL Pattern matches (URL pattern "match": null ones are ""). */
enum url_part {
    URL_PROTOCOL = 0, /* scheme */
    URL_USERNAME,
    URL_PASSWORD,
    URL_HOSTNAME, /* host, serialized, or "" */
    URL_PORT,     /* port, serialized, or "" */
    URL_PATHNAME, /* URL path serializing */
    URL_SEARCH,   /* query or "" */
    URL_HASH,     /* fragment or "" */
    URL_NPARTS
};

/* Makes *u an empty URL record (no allocation). */
void url_init(struct url *u);

/* Releases what *u holds and makes it empty again. */
void url_free(struct url *u);

/* Runs the basic URL parser on in[0, len) (UTF-8) against base (NULL: none) into *u
 * (initialized or freed before). Returns 0, or URL_EINVALID with u->why set (the
 * standard's failure, or input that is not UTF-8), URL_ETOOLONG or URL_ENOMEM; on
 * failure *u is left empty. */
int url_parse(struct url *u, const char *in, size_t len, const struct url *base);

/* Deep copy of src into *dst (initialized or freed before). 0 or URL_ENOMEM. */
int url_copy(struct url *dst, const struct url *src);

/* One component as URL Pattern matches it; never NULL; *len may be NULL. */
const char *url_get(const struct url *u, enum url_part part, size_t *len);

/* The special schemes' default port (80, 443, 21, ...), -1 for file and others. */
int url_default_port(const char *scheme, size_t len);

/* 1 if scheme[0, len) is a special scheme (ftp, file, http, https, ws, wss). */
int url_is_special(const char *scheme, size_t len);

/* The state-override entry points the URL Pattern Standard's component canonicalization
 * uses ("canonicalize a protocol" ... "canonicalize a hash"), each on a dummy URL
 * https://dummy.invalid/ as that standard defines them. */
enum url_canon {
    URL_CANON_PROTOCOL,        /* parse value + "://dummy.invalid/", take the scheme */
    URL_CANON_USERNAME,        /* userinfo percent-encode set */
    URL_CANON_PASSWORD,        /* userinfo percent-encode set */
    URL_CANON_HOSTNAME,        /* hostname state override (a special host) */
    URL_CANON_IPV6_HOSTNAME,   /* ASCII hex digits, '[', ']' and ':' only, lowercased */
    URL_CANON_PORT,            /* port state override; protocol gives the default port */
    URL_CANON_PATHNAME,        /* path start state override, no slash prepended */
    URL_CANON_OPAQUE_PATHNAME, /* opaque path state override */
    URL_CANON_SEARCH,          /* query state override (special-query set) */
    URL_CANON_HASH             /* fragment state override */
};

/* Canonicalizes in[0, len) as `which` says into a new NUL-terminated string *out (free()
 * it) of *outlen bytes. protocol (URL_CANON_PORT only, may be NULL) is the scheme whose
 * default port is dropped ("https" when NULL). The empty string gives "". Returns 0,
 * URL_EINVALID (*why, if not NULL, says why), URL_ETOOLONG or URL_ENOMEM. */
int url_canon(enum url_canon which, const char *in, size_t len, const char *protocol,
              char **out, size_t *outlen, const char **why);

/* 1 if s[0, len) is well-formed UTF-8 of Unicode scalar values (no surrogates, no
 * overlong forms). */
int url_utf8_valid(const char *s, size_t len);

#endif
