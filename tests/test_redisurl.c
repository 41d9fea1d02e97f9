/* test_redisurl.c -- unit tests of the pure parts of --redis: the address (redisurl) and the id order of a read (rmerge) */
/* Limits: no Redis here; the connection, the function and the reads are tested against a
 * real redis-server by tests/test_redis.py. */
#include "config.h"

#include "redisurl.h"
#include "rmerge.h"

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

static struct msgid mid(unsigned long long ms, unsigned long long seq)
{
    struct msgid m = { ms, seq };
    return m;
}

/* Ids in v[0, n) as "ms-seq ms-seq ...". */
static void ids(const struct rmerge_item *v, size_t n, char *buf, size_t cap)
{
    size_t i, len = 0;

    buf[0] = '\0';
    for (i = 0; i < n && len + MSGID_STR_MAX + 1 < cap; i++) {
        if (i)
            buf[len++] = ' ';
        len += msgid_format(buf + len, v[i].id);
    }
}

static void test_merge(void)
{
    char got[256];
    struct msgid last[3];
    int full[3] = { 0, 0, 0 };
    size_t k;

    /* stream 0: 1-0 5-0 9-0; stream 1: 2-0 3-0 10-0; stream 2: 4-0 */
    {
        struct rmerge_item v[] = {
            { { 1, 0 }, 0, NULL }, { { 5, 0 }, 0, NULL }, { { 9, 0 }, 0, NULL },
            { { 2, 0 }, 1, NULL }, { { 3, 0 }, 1, NULL }, { { 10, 0 }, 1, NULL },
            { { 4, 0 }, 2, NULL },
        };
        last[0] = mid(9, 0);
        last[1] = mid(10, 0);
        last[2] = mid(4, 0);
        k = rmerge_order(v, 7, full, last, 3, NULL);
        ids(v, k, got, sizeof got);
        ok(k == 7 && strcmp(got, "1-0 2-0 3-0 4-0 5-0 9-0 10-0") == 0,
           "no stream full: all, in id order across streams (%s)", got);
    }
    {
        /* stream 1 returned its COUNT (3): what follows 10-0 there is unknown,
         * but stream 0's 9-0 is before it: all safe. Stream 0 full at 5-0:
         * stream 0 may have 6-0 next, so 9-0 and 10-0 wait. */
        struct rmerge_item v[] = {
            { { 1, 0 }, 0, NULL }, { { 5, 0 }, 0, NULL },
            { { 2, 0 }, 1, NULL }, { { 3, 0 }, 1, NULL }, { { 10, 0 }, 1, NULL },
            { { 4, 0 }, 2, NULL },
        };
        full[0] = 1;
        last[0] = mid(5, 0);
        k = rmerge_order(v, 6, full, last, 3, NULL);
        ids(v, k, got, sizeof got);
        ok(k == 5 && strcmp(got, "1-0 2-0 3-0 4-0 5-0") == 0,
           "a full stream bounds the read at its last id (%s)", got);
        full[1] = 1;
        last[1] = mid(3, 0);
        {
            struct rmerge_item w[] = {
                { { 1, 0 }, 0, NULL }, { { 5, 0 }, 0, NULL },
                { { 2, 0 }, 1, NULL }, { { 3, 0 }, 1, NULL },
                { { 4, 0 }, 2, NULL },
            };
            k = rmerge_order(w, 5, full, last, 3, NULL);
            ids(w, k, got, sizeof got);
            ok(k == 3 && strcmp(got, "1-0 2-0 3-0") == 0,
               "two full streams: the smaller of their last ids bounds it (%s)", got);
        }
    }
    {
        struct rmerge_item v[] = { { { 7, 2 }, 0, NULL }, { { 7, 1 }, 1, NULL } };
        full[0] = full[1] = full[2] = 0;
        k = rmerge_order(v, 2, full, last, 2, NULL);
        ids(v, k, got, sizeof got);
        ok(k == 2 && strcmp(got, "7-1 7-2") == 0, "the sequence orders within a ms (%s)", got);
        k = rmerge_order(v, 0, full, last, 2, NULL);
        ok(k == 0, "nothing read: nothing taken");
    }
    {
        /* a channel added after the read was sent starts after 6-0: what the read
         * brought after 6-0 may come after entries of it the read could not see */
        struct rmerge_item v[] = { { { 5, 0 }, 0, NULL }, { { 9, 0 }, 1, NULL },
                                   { { 6, 0 }, 1, NULL }, { { 7, 0 }, 0, NULL } };
        struct msgid cap = { 6, 0 };
        full[0] = full[1] = 0;
        k = rmerge_order(v, 4, full, last, 2, &cap);
        ids(v, k, got, sizeof got);
        ok(k == 2 && strcmp(got, "5-0 6-0") == 0, "a cap bounds the read too (%s)", got);
        full[1] = 1;
        last[1] = mid(5, 5);
        k = rmerge_order(v, 4, full, last, 2, &cap);
        ids(v, k, got, sizeof got);
        ok(k == 1 && strcmp(got, "5-0") == 0, "the smaller of a cap and a full stream wins (%s)",
           got);
    }
}

int main(void)
{
    test_url_good();
    test_url_bad();
    test_describe();
    test_merge();
    return done_testing();
}
