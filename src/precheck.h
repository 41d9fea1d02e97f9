/* precheck.h -- a look at a request's FastCGI params before libfcgi reads them: refuse absurd lengths */
#ifndef FCGI_SSE_PRECHECK_H
#define FCGI_SSE_PRECHECK_H

#include <stddef.h>

/* Params (all name-value pairs) larger than this are refused: no web
 * server sends request headers of this size. */
#define PRE_PARAMS_MAX (128 * 1024)

enum pre_result {
    PRE_OK = 0,     /* the params end within buf and every length is sane */
    PRE_MORE,       /* nothing wrong so far; the params have not ended yet */
    PRE_BAD         /* refuse the connection; *why says what was wrong */
};

/* Scans the first n bytes received on a new connection (FastCGI records)
 * and follows the params' name-value lengths, without consuming
 * anything: libfcgi parses the request afterwards. libfcgi 2.4.2 adds
 * two 31-bit lengths in an int and aborts the whole process when the
 * allocation fails (the shape of CVE-2025-23016), so a length, or the
 * params in all, above PRE_PARAMS_MAX is refused here; and it leaks the
 * memory of each management record of an unknown type, so those are
 * refused too, before the params and among the records that arrived with
 * them (up to the end of stdin). Other records are left to libfcgi to
 * judge. Pure: no I/O. */
enum pre_result pre_scan(const unsigned char *buf, size_t n, const char **why);

#endif
