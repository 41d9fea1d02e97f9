/* test_redisurl.c -- unit tests of the pure part of --redis: the address (redisurl) */
/* Limits: no Redis here; the connection, the functions and the reads are tested against a
 * real redis-server by tests/integration/redis/test_redis.py. */
#include "config.h"

#include "redis/redisurl.h"

#include <string.h>

#include "tap.h"

static void test_url_good(void)
{
    static const struct {
        const char *s;
        int is_unix;
        const char *host, *path, *user, *password;
        int port;
        unsigned db;
    } good[] = {
        { "redis://localhost", 0, "localhost", "", "", "", 6379, 0 },
        { "redis://127.0.0.1:6380", 0, "127.0.0.1", "", "", "", 6380, 0 },
        { "redis://127.0.0.1:6380/3", 0, "127.0.0.1", "", "", "", 6380, 3 },
        { "redis://h/2", 0, "h", "", "", "", 6379, 2 },
        { "redis://h:1/", 0, "h", "", "", "", 1, 0 },
        { "redis://:s3cret@h:7000", 0, "h", "", "", "s3cret", 7000, 0 },
        { "redis://app:pa:ss@h", 0, "h", "", "app", "pa:ss", 6379, 0 },
        { "redis://[::1]:6390/1", 0, "::1", "", "", "", 6390, 1 },
        { "redis://[fe80::1]", 0, "fe80::1", "", "", "", 6379, 0 },
        { "unix:/run/redis/redis.sock", 1, "", "/run/redis/redis.sock", "", "", 6379, 0 },
    };
    size_t i;

    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct redisurl u;
        char err[128] = "";
        int rc = redisurl_parse(good[i].s, &u, err, sizeof err);
        ok(rc == 0 && u.is_unix == good[i].is_unix && strcmp(u.host, good[i].host) == 0 &&
               strcmp(u.path, good[i].path) == 0 && strcmp(u.user, good[i].user) == 0 &&
               strcmp(u.password, good[i].password) == 0 && u.port == good[i].port &&
               u.db == good[i].db,
           "parses %s (host '%s' port %d db %u user '%s' %s)", good[i].s, u.host, u.port, u.db,
           u.user, err);
    }
}

static void test_url_bad(void)
{
    static const char *const bad[] = {
        "", "localhost", "http://h", "redis://", "redis://:6379", "redis://h:0", "redis://h:65536",
        "redis://h:12x", "redis://h/x", "redis://[::1", "redis://[]:1", "redis://[::1]x",
        "redis://user@h", "redis://a:b@c@h", "redis://h h", "unix:", "unix:relative/sock",
        "redis://h\x01", "redis://h:-1",
    };
    char longpath[200] = "unix:/";
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct redisurl u;
        char err[128] = "";
        ok(redisurl_parse(bad[i], &u, err, sizeof err) < 0 && strncmp(err, "--redis", 7) == 0,
           "refuses '%s': %s", bad[i], err);
    }
    memset(longpath + 6, 'a', 150);
    {
        struct redisurl u;
        char err[128] = "";
        ok(redisurl_parse(longpath, &u, err, sizeof err) < 0, "refuses a socket path over 107 bytes");
    }
}

static void test_describe(void)
{
    struct redisurl u;
    char err[64], buf[200];

    redisurl_parse("redis://app:secret@db.example:7000/2", &u, err, sizeof err);
    redisurl_describe(&u, buf, sizeof buf);
    ok(strcmp(buf, "db.example:7000/2") == 0 && !strstr(buf, "secret"),
       "describe: host:port/db, never the password (%s)", buf);
    redisurl_parse("redis://[::1]:6390", &u, err, sizeof err);
    redisurl_describe(&u, buf, sizeof buf);
    ok(strcmp(buf, "[::1]:6390/0") == 0, "describe: IPv6 in brackets (%s)", buf);
    redisurl_parse("unix:/tmp/r.sock", &u, err, sizeof err);
    redisurl_describe(&u, buf, sizeof buf);
    ok(strcmp(buf, "unix:/tmp/r.sock") == 0, "describe: unix:/path (%s)", buf);
}

int main(void)
{
    test_url_good();
    test_url_bad();
    test_describe();
    return done_testing();
}
