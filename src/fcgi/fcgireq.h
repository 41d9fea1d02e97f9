/* fcgireq.h -- every use of libfcgi's FCGX_Request: read a checked request, write, end, never linger */
#ifndef FCGI_SSE_FCGI_FCGIREQ_H
#define FCGI_SSE_FCGI_FCGIREQ_H

#include <fcgiapp.h>
#include <stddef.h>

/* libfcgi has no call to read a request from a connection someone else
 * accepted, nor to read one without blocking. This module is the only
 * one that touches FCGX_Request's fields below "Don't use anything below
 * here" (ipcFd, keepConnection), relying on their meaning in libfcgi
 * 2.4: with ipcFd set and keepConnection on, FCGX_Accept_r reads the
 * next request from ipcFd instead of accepting, and every later write
 * goes to whatever ipcFd then holds. configure runs a program that relies
 * on exactly that against the installed library ("whether libfcgi reads a
 * request from FCGX_Request.ipcFd"), and refuses to build if it fails. */

/* Lets libfcgi parse one request that frame.c found complete and sane:
 * `feed` is a file (a memfd) holding exactly those bytes, positioned at
 * their start, so no read can block. The body is read to its end (into
 * body[0, *body_len), at most body_cap bytes; body may be NULL to drop
 * it) unless skip_body (the body was too big and is not in feed). Then r
 * is pointed at `conn`, the web server's connection, for the answer.
 * Returns 0; or -1 if libfcgi refused the request, in which case it has
 * closed `feed` (the caller must not use or close it again). */
int fcgireq_read(FCGX_Request *r, int feed, int conn, char *body, size_t body_cap,
                 size_t *body_len, int skip_body);

/* A request parameter, or NULL. Valid until fcgireq_trim/fcgireq_end.
 * A name passed more than once counts by its LAST value (libfcgi's
 * FCGX_GetParam takes the first): nginx sends every fastcgi_param line,
 * and a site overrides a line of the included fastcgi_params by repeating
 * it after the include (`fastcgi_param REMOTE_USER "";` in the shipped
 * configs); PHP-FPM also takes the last. */
const char *fcgireq_param(FCGX_Request *r, const char *name);

/* Writes len bytes to the response (buffered in libfcgi's 8 KB writer,
 * sent as STDOUT records when it fills) / sends what is buffered. On a
 * non-blocking connection a full send buffer is an error (EAGAIN): the
 * record may be cut short, so the caller must drop the connection.
 * Both return 0, or -1 with errno. */
int fcgireq_write(FCGX_Request *r, const char *buf, size_t len);
int fcgireq_flush(FCGX_Request *r);

/* The connection to the web server, or -1. */
int fcgireq_fd(const FCGX_Request *r);

/* Frees what libfcgi kept for reading the request (its 8 KB input
 * buffer, the params, the stderr writer), keeping only the output
 * writer and the connection: what a long stream needs. Params are
 * invalid afterwards. 0, or -1 with errno. */
int fcgireq_trim(FCGX_Request *r);

/* Ends the request and closes the connection. clean: the response ends
 * properly (STDOUT end and END_REQUEST, written without blocking; a
 * write that fails is moot, the connection closes next); otherwise it is
 * just closed (the peer is gone, or too slow). Never lingers: libfcgi's
 * close reads until EOF for up to 2 s, which a peer could stretch.
 * Leaves r with no connection; safe to call again. */
void fcgireq_end(FCGX_Request *r, int clean);

#endif
