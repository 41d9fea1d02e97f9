/* ctl.h -- the request controller: from a parsed request to an answer or an admitted stream */
#ifndef FCGI_SSE_CTL_H
#define FCGI_SSE_CTL_H

#include <stddef.h>

#include "req.h"
#include "resp.h"
#include "stats.h"

/* What the controller needs of the process. */
struct ctl {
    unsigned long retry_ms;   /* --retry: the retry: line, and Retry-After on 503 */
    struct stats *stats;      /* /status, and the stream slots (admit.c) */
};

enum ctl_result {
    CTL_ANSWERED = 0,  /* a complete answer was written (error, HEAD, status, 503) */
    CTL_STREAM,        /* a stream slot is taken and its header block and retry:
                          line are flushed: the caller runs the stream and
                          calls admit_give when it ends */
    CTL_GONE           /* the answer could not be written: the peer is gone */
};

/* Serves one request, the same way in FastCGI and CGI mode: parses its
 * params (r is filled for the caller), answers everything that does not
 * open a stream, refuses a body on a stream (413) and a stream past
 * --max-streams (503). body_too_big: the request's body was over what
 * the intake accepts. */
enum ctl_result ctl_serve(const struct ctl *c, req_param_fn get, void *ctx, int body_too_big,
                          const struct resp_sink *o, struct req *r);

#endif
