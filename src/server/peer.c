/* peer.c -- which peers may connect: FCGI_WEB_SERVER_ADDRS, checked and logged at accept */
#include "config.h"

#include "server/peer.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

int peer_acl_parse(struct peer_acl *acl, const char *list, char *err, size_t errlen)
{
    int all_blank;

    acl->n = 0;
    if (!list)
        return 0;
    all_blank = list[strspn(list, " \t")] == '\0';
    while (*list) {
        char item[64];
        size_t n;

        while (*list == ' ' || *list == '\t')
            list++;
        n = strcspn(list, ",");
        while (n && (list[n - 1] == ' ' || list[n - 1] == '\t'))
            n--;
        if (n) {
            if (n >= sizeof item || acl->n == PEER_MAX) {
                snprintf(err, errlen, "FCGI_WEB_SERVER_ADDRS: too long (at most %d addresses)",
                         PEER_MAX);
                return -1;
            }
            memcpy(item, list, n);
            item[n] = '\0';
            if (inet_pton(AF_INET, item, &acl->addr[acl->n]) != 1) {
                snprintf(err, errlen, "FCGI_WEB_SERVER_ADDRS: '%s' is not an IPv4 address", item);
                return -1;
            }
            acl->n++;
        }
        list += strcspn(list, ",");
        if (*list == ',')
            list++;
    }
    if (acl->n == 0 && !all_blank) {
        /* libfcgi would let no one in; an empty list would let everyone */
        snprintf(err, errlen, "FCGI_WEB_SERVER_ADDRS: holds no address (only separators)");
        return -1;
    }
    return 0;
}

int peer_allowed(const struct peer_acl *acl, const struct sockaddr *sa)
{
    size_t i;

    if (sa->sa_family == AF_UNIX || acl->n == 0)
        return 1;
    if (sa->sa_family != AF_INET)
        return 0;
    for (i = 0; i < acl->n; i++)
        if (acl->addr[i].s_addr == ((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr)
            return 1;
    return 0;
}

void peer_describe(const struct sockaddr *sa, char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN];

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        if (!inet_ntop(AF_INET, &in->sin_addr, a, sizeof a))
            snprintf(a, sizeof a, "?");
        snprintf(buf, len, "%s:%u", a, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (!inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof a))
            snprintf(a, sizeof a, "?");
        snprintf(buf, len, "[%s]:%u", a, ntohs(in6->sin6_port));
    } else {
        snprintf(buf, len, "unix");
    }
}
