/* dispatch.h -- the request controller: from a parsed request to an answer, a publish or an admitted stream */
#ifndef FCGI_SSE_SERVER_DISPATCH_H
#define FCGI_SSE_SERVER_DISPATCH_H

#include <stddef.h>

#include "http/auth.h"
#include "channels/chan.h"
#include "channels/ctl.h"
#include "sources/counter.h"
#include "sources/feed.h"
#include "sources/process.h"
#include "sources/program.h"
#include "sources/subscription.h"
#include "stream/hub.h"
#include "server/options.h"
#include "channels/pub.h"
#include "http/req.h"
#include "http/resp.h"
#include "http/stats.h"
#include "mercurehub/mercure.h"
#include "stream/stream.h"

/* What the controller needs of the process. */
struct dispatch {
    unsigned long retry_ms;              /* --retry: the retry: line, and Retry-After on 503 */
    struct stats *stats;                 /* /status, and the stream slots (admit.c) */
    struct chan_engine *engine;          /* channels; NULL where there are none (CGI) */
    struct pub_config pub;               /* who may publish, where messages go */
    const struct ctl_backend *ctl;       /* where .../channels/NAME is read and controlled */
    const struct auth_keys *subscribe_keys; /* --subscribe-key-file, or NULL */
    unsigned long max_message;           /* --max-message: a publish's body at most */
    unsigned long max_body;              /* --max-body: a program's body at most */
    const struct opt_run *runs;          /* --run NAME=PROGRAM (nrun of them), or NULL */
    unsigned nrun;
    const char *openai;                  /* --openai PROGRAM, or NULL */
    /* FastCGI only (dispatch_request): */
    struct hub *hub;                     /* where streams go */
    struct counter *counter;             /* the counter source */
    const struct subs *subs;             /* the subscription source */
    struct programs *programs;               /* the program source */
    struct processes *procs;                 /* the programs running (also /status) */
    int sndbuf;                          /* --max-backlog: send buffer of each stream */
    struct mercure *mercure;             /* the Mercure hub (--mercure), or NULL */
    struct feed *feed;                   /* the status feed (.../status?stream=1), or NULL */
};

enum dispatch_result {
    DISPATCH_ANSWERED = 0,  /* a complete answer was written (error, HEAD, status, 503, a publish) */
    DISPATCH_STREAM,        /* a counter stream: a slot is taken, its header block and retry:
                          line are flushed: the caller runs the stream (r->first_id,
                          r->limit) and calls admit_give when it ends */
    DISPATCH_SUBSCRIBE,     /* a subscription to r->chans (r->last): a slot is taken, nothing
                          written: sub_start writes the header block once subscribed */
    DISPATCH_RUN,           /* a program's stream: slot taken, header block flushed; the caller
                          starts r->run_path (r->run_name) with the body on its stdin */
    DISPATCH_CHAT,          /* the --openai program for a chat completion: slot taken; the
                          header block flushed when r->chat_stream, else nothing written */
    DISPATCH_PUBLISH,       /* a publish that passed its checks: the caller hands it to
                          pub_start (r->chans[0], r->event, the body) */
    DISPATCH_MERCURE,       /* a Mercure subscription (r->mercure): slot taken, nothing
                               written: mercure_subscribe writes the header block */
    DISPATCH_MERCURE_PUBLISH, /* a Mercure update that passed its checks (r->mercure):
                               the caller hands it to mercure_publish */
    DISPATCH_CONTROL,       /* .../channels/NAME[/history] that may be read or controlled:
                               the caller hands it to ctl_start (r->chans[0]) */
    DISPATCH_STATUS_FEED,   /* .../status?stream=1: slot taken, header block flushed: the
                               caller starts the status feed */
    DISPATCH_GONE           /* the answer could not be written: the peer is gone */
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
 * body that is not a chat request; both 503 + Retry-After at --max-runs.
 * .../channels/NAME[/history]: 403 unless it may publish (pub_control_may). */
enum dispatch_result dispatch_serve(const struct dispatch *c, req_param_fn get, void *ctx, const char *body,
                          size_t body_len, int body_too_big, const struct resp_sink *o,
                          struct req *r);

/* The figures of /status as JSON (a feed_render_fn: arg is the struct
 * dispatch), without its trailing newline. Its length, or -1. */
int dispatch_status_json(void *arg, char *buf, size_t cap);

/* Serves the request libfcgi read into s (FastCGI: its connection is the
 * web server's): dispatch_serve, then what follows: a publish goes to
 * pub_start, a stream to its source (the counter, a subscription, a
 * program) and to the hub; an answer ends s. Takes s and body (malloc'd
 * or NULL). */
void dispatch_request(void *arg, struct stream *s, char *body, size_t body_len, int body_too_big);

#endif
