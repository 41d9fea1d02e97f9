/* test_peer.c -- unit tests of peer: FCGI_WEB_SERVER_ADDRS parsed (failing closed, never open),
 * which peers it lets in, and how a peer is named in the log */
#include "config.h"

#include "server/peer.h"

#include <arpa/inet.h>
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
    return done_testing();
}
