/* cgi.h -- plain CGI mode: one request from the environment, the stream on stdout */
#ifndef FCGI_SSE_CGI_H
#define FCGI_SSE_CGI_H

#include <signal.h>

#include "opt.h"

/* The number of trailing argv words a CGI server made from the query
 * string: a query without '=' is an "indexed search" whose words, split
 * on '+', servers pass as command-line arguments (RFC 3875, 4.4). They
 * are the client's words, not options: the caller drops them before
 * parsing options, so "?-i+1" cannot set an option. 0 outside CGI. */
int cgi_query_args(int argc, char **argv);

/* Serves the one CGI request described by the environment, as the
 * FastCGI side would (same routes, errors and events), until its limit,
 * the client leaving (stdout closed) or *stop. Signals in the complement
 * of waitmask interrupt the waits. Returns the process exit status. */
int cgi_serve(const struct opt_config *cfg, const volatile sig_atomic_t *stop,
              const sigset_t *waitmask);

#endif
