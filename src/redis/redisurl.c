/* redisurl.c -- the --redis address: redis://[user:password@]host[:port][/db] or unix:/path (pure) */
#include "config.h"

#include "redis/redisurl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies s[0, n) into dst (cap bytes) when it fits and holds no control byte. */
static int copy_part(char *dst, size_t cap, const char *s, size_t n)
{
    size_t i;

    if (n >= cap)
        return -1;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return -1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

/* A decimal number in s[0, n) from lo to hi. */
static int number(const char *s, size_t n, unsigned long lo, unsigned long hi, unsigned long *out)
{
    unsigned long v = 0;
    size_t i;

    if (n == 0 || n > 10)
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int redisurl_parse(const char *s, struct redisurl *u, char *err, size_t errlen)
{
    const char *p, *at, *end, *slash, *colon, *hend;
    unsigned long v;

    memset(u, 0, sizeof *u);
    u->port = 6379;
    if (strncmp(s, "unix:", 5) == 0) {
        u->is_unix = 1;
        if (s[5] != '/' || copy_part(u->path, sizeof u->path, s + 5, strlen(s + 5)) < 0) {
            snprintf(err, errlen, "--redis unix:PATH needs an absolute path of at most %zu bytes",
                     sizeof u->path - 1);
            return -1;
        }
        return 0;
    }
    if (strncmp(s, "redis://", 8) != 0) {
        snprintf(err, errlen, "--redis: redis://[user:password@]host[:port][/db] or unix:/path");
        return -1;
    }
    p = s + 8;
    end = p + strlen(p);
    slash = memchr(p, '/', (size_t)(end - p));
    hend = slash ? slash : end;
    at = NULL;
    for (colon = p; colon < hend; colon++)
        if (*colon == '@')
            at = colon; /* the last '@' before the path ends the credentials */
    if (at) {
        const char *c = memchr(p, ':', (size_t)(at - p));
        if (!c || copy_part(u->user, sizeof u->user, p, (size_t)(c - p)) < 0 ||
            copy_part(u->password, sizeof u->password, c + 1, (size_t)(at - c - 1)) < 0 ||
            memchr(c + 1, '@', (size_t)(at - c - 1))) {
            snprintf(err, errlen, "--redis: credentials are user:password@ or :password@ "
                                  "(no '@', no control bytes)");
            return -1;
        }
        p = at + 1;
    }
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(hend - p));
        if (!rb || rb == p + 1 || copy_part(u->host, sizeof u->host, p + 1, (size_t)(rb - p - 1)) < 0) {
            snprintf(err, errlen, "--redis: an IPv6 host is [address]");
            return -1;
        }
        colon = rb + 1 < hend && rb[1] == ':' ? rb + 1 : NULL;
        if (!colon && rb + 1 != hend) {
            snprintf(err, errlen, "--redis: after [address] comes :port, /db or the end");
            return -1;
        }
    } else {
        colon = memchr(p, ':', (size_t)(hend - p));
        if (copy_part(u->host, sizeof u->host, p, (size_t)((colon ? colon : hend) - p)) < 0 ||
            !u->host[0] || strpbrk(u->host, "[]@ ")) {
            snprintf(err, errlen, "--redis: a host is a name or an address (IPv6 in [brackets])");
            return -1;
        }
    }
    if (!u->host[0]) {
        snprintf(err, errlen, "--redis: no host");
        return -1;
    }
    if (colon) {
        if (number(colon + 1, (size_t)(hend - colon - 1), 1, 65535, &v) < 0) {
            snprintf(err, errlen, "--redis: a port is a number from 1 to 65535");
            return -1;
        }
        u->port = (int)v;
    }
    if (slash && slash + 1 < end) {
        if (number(slash + 1, (size_t)(end - slash - 1), 0, 1000000, &v) < 0) {
            snprintf(err, errlen, "--redis: /db is a database number");
            return -1;
        }
        u->db = (unsigned)v;
    }
    return 0;
}

void redisurl_describe(const struct redisurl *u, char *buf, size_t len)
{
    if (u->is_unix)
        snprintf(buf, len, "unix:%s", u->path);
    else if (strchr(u->host, ':'))
        snprintf(buf, len, "[%s]:%d/%u", u->host, u->port, u->db);
    else
        snprintf(buf, len, "%s:%d/%u", u->host, u->port, u->db);
}
