/* addr.h -- a socket address as the responder's options write it: unix:PATH, HOST:PORT, [V6]:PORT, :PORT (pure) */
#ifndef FCGI_SSE_CORE_ADDR_H
#define FCGI_SSE_CORE_ADDR_H

#include <stddef.h>
#include <sys/un.h>

struct addr {
    int is_unix;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* unix: the path */
    char host[256];              /* the host, without the brackets of [V6]; 127.0.0.1 for :PORT */
    char port[6];                /* 1 to 65535 */
};

/* Parses s: "unix:PATH" (1 to 107 bytes), "HOST:PORT", "[V6]:PORT", or
 * ":PORT", which means 127.0.0.1 (only what runs on this host). 0, or -1
 * with a one-line message in err naming what is wrong. */
int addr_parse(const char *s, struct addr *out, char *err, size_t errlen);

#endif
