/* test_addr.c -- unit tests of addr: unix:PATH, HOST:PORT, [V6]:PORT and :PORT parsed, and
 * each refusal (a bad port, a bad path, an IPv6 host without brackets) named in one line */
#include "config.h"

#include "core/addr.h"

#include <stdio.h>
#include <string.h>

#include "tap.h"

static struct addr a;
static char err[256];

/* addr_parse(s) into a, err cleared first. */
static int parse(const char *s)
{
    err[0] = '\0';
    memset(&a, 0x5a, sizeof a);
    return addr_parse(s, &a, err, sizeof err);
}

/* 1 when s parses as the TCP address host, port. */
static int tcp_is(const char *s, const char *host, const char *port)
{
    return parse(s) == 0 && !a.is_unix && strcmp(a.host, host) == 0 && strcmp(a.port, port) == 0;
}

/* 1 when s is refused with a one-line message that holds `says`. */
static int refused(const char *s, const char *says)
{
    return parse(s) == -1 && err[0] && !strchr(err, '\n') && strstr(err, says) != NULL;
}

int main(void)
{
    char path[200];
    char host[300];

    /* ---- unix:PATH */
    ok(parse("unix:/run/fcgi-sse/sock") == 0 && a.is_unix &&
           strcmp(a.path, "/run/fcgi-sse/sock") == 0,
       "unix:/run/fcgi-sse/sock: a unix socket at that path");
    ok(parse("unix:rel.sock") == 0 && a.is_unix && strcmp(a.path, "rel.sock") == 0,
       "unix:rel.sock: a relative path is kept as given");
    ok(parse("unix:/a:80") == 0 && a.is_unix && strcmp(a.path, "/a:80") == 0,
       "unix:/a:80: a colon in a path is part of it, not a port");
    ok(refused("unix:", "unix:PATH"), "unix: without a path refused (%s)", err);
    memset(path, 'p', sizeof path);
    memcpy(path, "unix:", 5);
    path[5 + sizeof a.path - 1] = '\0';
    ok(parse(path) == 0 && a.is_unix && strlen(a.path) == sizeof a.path - 1,
       "unix: a path of %zu bytes (the most sun_path holds) is taken", sizeof a.path - 1);
    path[5 + sizeof a.path - 1] = 'p';
    path[5 + sizeof a.path] = '\0';
    ok(refused(path, "unix:PATH"), "unix: a path of %zu bytes refused (%s)", sizeof a.path, err);

    /* ---- HOST:PORT */
    ok(tcp_is("127.0.0.1:9000", "127.0.0.1", "9000"), "127.0.0.1:9000");
    ok(tcp_is("localhost:1", "localhost", "1"), "localhost:1: a host name, the lowest port");
    ok(tcp_is("10.0.0.5:65535", "10.0.0.5", "65535"), "10.0.0.5:65535: the highest port");
    ok(tcp_is(":9000", "127.0.0.1", "9000"), ":9000 means 127.0.0.1:9000 (this host only)");

    /* ---- [V6]:PORT */
    ok(tcp_is("[::1]:9000", "::1", "9000"), "[::1]:9000: the host without its brackets");
    ok(tcp_is("[fe80::1%eth0]:80", "fe80::1%eth0", "80"),
       "[fe80::1%%eth0]:80: a scoped address, brackets removed");
    ok(tcp_is("[2001:db8::42]:443", "2001:db8::42", "443"), "[2001:db8::42]:443");

    /* ---- bad ports */
    ok(refused("127.0.0.1:0", "port"), "port 0 refused (%s)", err);
    ok(refused("127.0.0.1:65536", "port"), "port 65536 refused (%s)", err);
    ok(refused("127.0.0.1:655350", "port"), "a port of six digits refused (%s)", err);
    ok(refused(":0", "port"), ":0 refused (%s)", err);
    ok(refused("host:-1", "port") && refused("host:+1", "port") && refused("host:1a", "port") &&
           refused("host: 80", "port"),
       "a port with a sign, a letter or a space refused");
    ok(refused("127.0.0.1:", "unix:PATH, HOST:PORT, [V6]:PORT or :PORT"),
       "an empty port refused, naming the forms (%s)", err);
    ok(refused(":", "unix:PATH, HOST:PORT"), "\":\" refused (%s)", err);
    ok(refused("127.0.0.1", "HOST:PORT"), "a host without a port refused (%s)", err);
    ok(refused("", "HOST:PORT"), "an empty address refused (%s)", err);

    /* ---- bad brackets */
    ok(refused("::1:9000", "brackets"), "an IPv6 host without brackets refused (%s)", err);
    ok(refused("[::1:9000", "brackets"), "a '[' without its ']' refused (%s)", err);
    ok(refused("::1]:9000", "brackets"), "a ']' without its '[' refused (%s)", err);
    ok(refused("a[b]:80", "brackets"), "brackets inside a host name refused (%s)", err);
    ok(refused("[::1]", "port"), "[::1] without a port refused (%s)", err);

    /* ---- the host's length */
    memset(host, 'h', sizeof host);
    snprintf(host + sizeof a.host - 1, sizeof host - (sizeof a.host - 1), ":80");
    ok(parse(host) == 0 && strlen(a.host) == sizeof a.host - 1 && strcmp(a.port, "80") == 0,
       "a host of %zu bytes is taken", sizeof a.host - 1);
    memset(host, 'h', sizeof host);
    snprintf(host + sizeof a.host, sizeof host - sizeof a.host, ":80");
    ok(refused(host, "too long"), "a host of %zu bytes refused (%s)", sizeof a.host, err);

    return done_testing();
}
