/* cgi.h -- plain CGI mode: one request from the environment, the stream on stdout */
#ifndef FCGI_SSE_CGI_H
#define FCGI_SSE_CGI_H

#include <signal.h>

#include "opt.h"

/* Serves the one CGI request described by the environment, as the
 * FastCGI side would (same routes, errors and events), until its limit,
 * the client leaving (stdout closed) or *stop. Signals in the complement
 * of waitmask interrupt the waits. Returns the process exit status. */
int cgi_serve(const struct opt_config *cfg, const volatile sig_atomic_t *stop,
              const sigset_t *waitmask);

#endif
