/* redisurl.h -- the --redis address: redis://[user:password@]host[:port][/db] or unix:/path (pure) */
#ifndef FCGI_SSE_REDIS_REDISURL_H
#define FCGI_SSE_REDIS_REDISURL_H

#include <stddef.h>

struct redisurl {
    int is_unix;              /* unix:/path */
    char host[256];           /* a name, an IPv4 address, or an IPv6 one without brackets */
    int port;                 /* 1..65535 (default 6379) */
    char path[108];           /* the socket (sun_path) */
    char user[128];           /* ACL user, or "" */
    char password[256];       /* or "" (also from --redis-password-file) */
    unsigned db;              /* SELECT db (0..15 by Redis's default, any number here) */
};

/* Parses s into *u. redis://host, redis://host:port, redis://[v6]:port,
 * with user:password@ or :password@ (no percent-decoding: neither may
 * hold '@', ':' in the user, '/' or a control byte), /db a number;
 * unix:/absolute/path. 0, or -1 with a one-line reason in err. */
int redisurl_parse(const char *s, struct redisurl *u, char *err, size_t errlen);

/* "host:port" or "unix:/path", for logs and /status (never the password). */
void redisurl_describe(const struct redisurl *u, char *buf, size_t len);

#endif
