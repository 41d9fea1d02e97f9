/* test_peer.c -- unit tests of peer: FCGI_WEB_SERVER_ADDRS parsed (failing closed, never open),
 * which peers it lets in, and how a peer is named in the log */
#include "config.h"

#include "server/peer.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"

int main(void)
{
    struct peer_acl acl;
    char err[128], who[64];
    struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(1234) };
    struct sockaddr sun = { .sa_family = AF_UNIX };

    /* ---- peer */
    ok(peer_acl_parse(&acl, NULL, err, sizeof err) == 0 && acl.n == 0, "no list");
    ok(peer_acl_parse(&acl, "", err, sizeof err) == 0 && acl.n == 0, "an empty list: any peer");
    in.sin_addr.s_addr = htonl(0x7f000002);
    ok(peer_allowed(&acl, (struct sockaddr *)&in), "no list: any TCP peer");
    err[0] = '\0';
    ok(peer_acl_parse(&acl, ",", err, sizeof err) == -1 && err[0],
       "\",\" is refused, not read as no list: %s", err);
    err[0] = '\0';
    ok(peer_acl_parse(&acl, " , ", err, sizeof err) == -1 && err[0],
       "\" , \" is refused too: %s", err);
    ok(peer_acl_parse(&acl, "127.0.0.1, 10.0.0.5 ,", err, sizeof err) == 0 && acl.n == 2,
       "two addresses, spaces and a trailing comma");
    ok(!peer_allowed(&acl, (struct sockaddr *)&in), "127.0.0.2 is not on the list");
    in.sin_addr.s_addr = htonl(0x0a000005);
    ok(peer_allowed(&acl, (struct sockaddr *)&in), "10.0.0.5 is");
    ok(peer_allowed(&acl, &sun), "a unix peer always is");
    ok(peer_acl_parse(&acl, "127.0.0.1,localhost", err, sizeof err) == -1 && strstr(err, "localhost"),
       "a host name is refused: %s", err);
    ok(peer_acl_parse(&acl, "1.2.3.4.5", err, sizeof err) == -1, "a bad address is refused");
    peer_describe((struct sockaddr *)&in, who, sizeof who);
    ok(strcmp(who, "10.0.0.5:1234") == 0, "describe: %s", who);

    /* ---- IPv6 and unix peers */
    {
        struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
        struct peer_acl none;

        in6.sin6_addr = in6addr_loopback;
        ok(peer_acl_parse(&acl, "127.0.0.1", err, sizeof err) == 0 &&
               !peer_allowed(&acl, (struct sockaddr *)&in6),
           "an IPv6 peer is refused by a list (it holds IPv4 addresses only)");
        ok(peer_acl_parse(&none, NULL, err, sizeof err) == 0 &&
               peer_allowed(&none, (struct sockaddr *)&in6),
           "an IPv6 peer is allowed without a list");
        peer_describe((struct sockaddr *)&in6, who, sizeof who);
        ok(strcmp(who, "[::1]:443") == 0, "describe an IPv6 peer: %s", who);
        peer_describe(&sun, who, sizeof who);
        ok(strcmp(who, "unix") == 0, "describe a unix peer: %s", who);
    }

    /* ---- the list's bounds */
    ok(peer_acl_parse(&acl, " \t ", err, sizeof err) == 0 && acl.n == 0,
       "blanks only: no list (any peer)");
    {
        char list[PEER_MAX * 16 + 32];
        size_t n = 0;
        int i;

        for (i = 0; i < PEER_MAX; i++)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s10.0.%d.%d", i ? "," : "",
                                  i / 250, i % 250 + 1);
        ok(peer_acl_parse(&acl, list, err, sizeof err) == 0 && acl.n == PEER_MAX,
           "%d addresses: all taken", PEER_MAX);
        in.sin_addr.s_addr = htonl(0x0a000000u | (unsigned)((PEER_MAX - 1) % 250 + 1));
        ok(peer_allowed(&acl, (struct sockaddr *)&in), "... and the last one is allowed");
        snprintf(list + n, sizeof list - n, ",10.9.9.9");
        err[0] = '\0';
        ok(peer_acl_parse(&acl, list, err, sizeof err) == -1 && strstr(err, "too long"),
           "%d addresses refused (%s)", PEER_MAX + 1, err);
    }
    {
        char list[128];

        memset(list, '1', 70);
        list[70] = '\0';
        err[0] = '\0';
        ok(peer_acl_parse(&acl, list, err, sizeof err) == -1 && err[0],
           "an entry of 70 bytes refused (%s)", err);
    }
    ok(peer_acl_parse(&acl, "10.0.0.1,,10.0.0.2", err, sizeof err) == 0 && acl.n == 2,
       "an empty entry between two is passed over");
    ok(peer_acl_parse(&acl, "::1", err, sizeof err) == -1 && strstr(err, "::1"),
       "an IPv6 address in the list refused, named (%s)", err);
    return done_testing();
}
