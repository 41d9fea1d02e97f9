/* cgi.h -- plain CGI mode: one request from the environment, the stream on stdout */
#ifndef FCGI_SSE_SERVER_CGI_H
#define FCGI_SSE_SERVER_CGI_H

#include <signal.h>

#include "server/options.h"

/* 1 when this process is a CGI program: the server set GATEWAY_INTERFACE
 * and fd 0 is not a listening socket. A CGI server may turn a query without '='
 * into command-line arguments (RFC 3875, 4.4; Apache decodes and escapes
 * them), so in CGI mode argv is never read: options come from the
 * FCGI_SSE_OPTIONS variable of the server's configuration instead. */
int cgi_detect(void);

/* Words of FCGI_SSE_OPTIONS at most, program name and NULL included. */
#define CGI_ARGV_MAX 34

/* Builds the argv of CGI mode: prog, then the blank-separated words of
 * `options` (NULL: none), copied into words[0, cap), then NULL. Returns
 * the argument count, or -1 when they do not fit argv_max or cap. */
int cgi_options(char *prog, const char *options, char **argv, int argv_max, char *words,
                size_t cap);

/* Serves the one CGI request described by the environment, as the
 * FastCGI side would (same routes, errors and events), until its limit,
 * the client leaving (stdout closed) or *stop. Signals in the complement
 * of waitmask interrupt the waits. Returns the process exit status. */
int cgi_serve(const struct opt_config *cfg, const volatile sig_atomic_t *stop,
              const sigset_t *waitmask);

#endif
