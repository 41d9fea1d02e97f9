/* peer.h -- which peers may connect: FCGI_WEB_SERVER_ADDRS, checked and logged at accept */
#ifndef FCGI_SSE_SERVER_PEER_H
#define FCGI_SSE_SERVER_PEER_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#define PEER_MAX 64

/* The web servers allowed over TCP. Empty: any peer (unix sockets are
 * guarded by their file mode instead). */
struct peer_acl {
    size_t n;
    struct in_addr addr[PEER_MAX];
};

/* Parses libfcgi's FCGI_WEB_SERVER_ADDRS format: IPv4 addresses separated
 * by commas (spaces around them allowed). NULL or "" (or blanks) allows
 * every peer. Unlike libfcgi, a malformed entry is an error (-1, message
 * in err), not an address nobody has, and so is a list of separators
 * only: it must fail closed, never open. */
int peer_acl_parse(struct peer_acl *acl, const char *list, char *err, size_t errlen);

/* 1 when a peer at sa may talk to us: always over a unix socket; over
 * TCP when the list is empty or holds its IPv4 address (an IPv6 peer
 * only when the list is empty). */
int peer_allowed(const struct peer_acl *acl, const struct sockaddr *sa);

/* Writes the peer's address ("127.0.0.2:41234", "unix") into buf. */
void peer_describe(const struct sockaddr *sa, char *buf, size_t len);

#endif
