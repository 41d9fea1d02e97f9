/* ctl.h -- the request controller: from a parsed request to an answer, a publish or an admitted stream */
#ifndef FCGI_SSE_CTL_H
#define FCGI_SSE_CTL_H

#include <stddef.h>

#include "auth.h"
#include "chan.h"
#include "counter.h"
#include "hub.h"
#include "opt.h"
#include "pub.h"
#include "req.h"
#include "resp.h"
#include "stats.h"
#include "stream.h"

/* What the controller needs of the process. */
struct ctl {
    unsigned long retry_ms;              /* --retry: the retry: line, and Retry-After on 503 */
    struct stats *stats;                 /* /status, and the stream slots (admit.c) */
    struct chan_engine *engine;          /* channels; NULL where there are none (CGI) */
    struct pub_config pub;               /* who may publish, where messages go */
    const struct auth_keys *subscribe_keys; /* --subscribe-key-file, or NULL */
    unsigned long max_message;           /* --max-message: a publish's body at most */
    unsigned long max_body;              /* --max-body: a program's body at most */
    const struct opt_run *runs;          /* --run NAME=PROGRAM (nrun of them), or NULL */
    unsigned nrun;
    const char *openai;                  /* --openai PROGRAM, or NULL */
    /* FastCGI only (ctl_dispatch): */
    struct hub *hub;                     /* where streams go */
    struct counter *counter;             /* the counter source */
    int sndbuf;                          /* --max-backlog: send buffer of each stream */
};

enum ctl_result {
    CTL_ANSWERED = 0,  /* a complete answer was written (error, HEAD, status, 503, a publish) */
    CTL_STREAM,        /* a counter stream: a slot is taken, its header block and retry:
                          line are flushed: the caller runs the stream (r->first_id,
                          r->limit) and calls admit_give when it ends */
    CTL_SUBSCRIBE,     /* a subscription to r->chans (r->last): a slot is taken, nothing
                          written: sub_start writes the header block once subscribed */
    CTL_RUN,           /* a program's stream: slot taken, header block flushed; the caller
                          starts r->run_path (r->run_name) with the body on its stdin */
    CTL_CHAT,          /* the --openai program for a chat completion: slot taken; the
                          header block flushed when r->chat_stream, else nothing written */
    CTL_PUBLISH,       /* a publish that passed its checks: the caller hands it to
                          pub_start (r->chans[0], r->event, the body) */
    CTL_GONE           /* the answer could not be written: the peer is gone */
};

/* Serves one request, the same way in FastCGI and CGI mode: parses its
 * params (r is filled for the caller), answers everything that does not
 * open a stream, publishes (body[0, body_len)), refuses a body on a
 * stream (413), a private channel without a valid signed URL (403) and a
 * stream past --max-streams (503). body_too_big: the request's body was
 * over what the intake accepts (the larger of --max-message and
 * --max-body); each route enforces its own limit (413). .../run/NAME: 404
 * unless NAME was configured; .../chat/completions: 404 without
 * --openai, 403 unless it may publish, 400 (an OpenAI error body) for a
 * body that is not a chat request; both 503 + Retry-After at --max-runs. */
enum ctl_result ctl_serve(const struct ctl *c, req_param_fn get, void *ctx, const char *body,
                          size_t body_len, int body_too_big, const struct resp_sink *o,
                          struct req *r);

/* Serves the request libfcgi read into s (FastCGI: its connection is the
 * web server's): ctl_serve, then what follows: a publish goes to
 * pub_start, a stream to its source (the counter, a subscription, a
 * program) and to the hub; an answer ends s. Takes s and body (malloc'd
 * or NULL). */
void ctl_dispatch(void *ctl, struct stream *s, char *body, size_t body_len, int body_too_big);

#endif
