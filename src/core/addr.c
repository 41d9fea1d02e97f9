/* addr.c -- a socket address as the responder's options write it: unix:PATH, HOST:PORT, [V6]:PORT, :PORT (pure) */
#include "config.h"

#include "core/addr.h"
#include "core/text.h"

#include <stdio.h>
#include <string.h>

int addr_parse(const char *s, struct addr *out, char *err, size_t errlen)
{
    const char *colon;
    unsigned long long port;
    size_t hlen, plen;

    memset(out, 0, sizeof *out);
    if (strncmp(s, "unix:", 5) == 0) {
        plen = strlen(s + 5);
        if (plen == 0 || plen >= sizeof out->path) {
            snprintf(err, errlen, "unix:PATH needs a path of 1 to %zu bytes",
                     sizeof out->path - 1);
            return -1;
        }
        out->is_unix = 1;
        memcpy(out->path, s + 5, plen + 1);
        return 0;
    }
    colon = strrchr(s, ':');
    if (!colon || !colon[1]) {
        snprintf(err, errlen, "an address is unix:PATH, HOST:PORT, [V6]:PORT or :PORT");
        return -1;
    }
    if (strlen(colon + 1) >= sizeof out->port ||
        text_parse_uint(colon + 1, 1, 65535, &port) < 0) {
        snprintf(err, errlen, "the port must be 1 to 65535");
        return -1;
    }
    memcpy(out->port, colon + 1, strlen(colon + 1) + 1);
    hlen = (size_t)(colon - s);
    if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
        s++;
        hlen -= 2;
    } else if (memchr(s, ':', hlen) || memchr(s, '[', hlen) || memchr(s, ']', hlen)) {
        snprintf(err, errlen, "an IPv6 host goes in brackets: [V6]:PORT");
        return -1;
    }
    if (hlen >= sizeof out->host) {
        snprintf(err, errlen, "the host name is too long");
        return -1;
    }
    if (hlen == 0) {
        memcpy(out->host, "127.0.0.1", sizeof "127.0.0.1");
    } else {
        memcpy(out->host, s, hlen);
        out->host[hlen] = '\0';
    }
    return 0;
}
