/* req.h -- request parsing: the params a web server passes -> route, resume id, limit or error */
#ifndef FCGI_SSE_HTTP_REQ_H
#define FCGI_SSE_HTTP_REQ_H

#include <stddef.h>

#include "http/msgid.h"

enum req_route {
    REQ_NOT_FOUND = 0,
    REQ_STREAM,    /* last path segment "stream": the counter */
    REQ_STATUS,    /* last path segment "status" */
    REQ_EVENTS,    /* last path segment "events": subscribe to channels */
    REQ_PUBLISH,   /* last path segment "publish": publish to a channel */
    REQ_RUN,       /* .../run/NAME: run the program configured as NAME */
    REQ_CHAT,      /* .../chat/completions: the OpenAI-compatible program */
    REQ_MERCURE,   /* .../.well-known/mercure: the Mercure hub (subscribe, publish) */
    REQ_MERCURE_SUBS, /* .../.well-known/mercure/subscriptions[/...]: its subscriptions API */
    REQ_CHANNEL,   /* .../channels/NAME: a channel's figures (GET, HEAD), its delete (DELETE);
                      .../channels/NAME/history: its history purged (DELETE) */
    REQ_METRICS    /* last path segment "metrics": the figures for Prometheus */
};

/* The names a request may carry: a channel name is 1 to 128 bytes of
 * [A-Za-z0-9_.:-] (text_name_ok), an event type 1 to 64; a subscription
 * names 16 channels at most. */
#define REQ_CHANNEL_MAX 128
#define REQ_EVENT_MAX 64
#define REQ_CHANNELS_MAX 16

/* Largest accepted Last-Event-ID: the next id must still fit an int64. */
#define REQ_LAST_ID_MAX 9223372036854775806ULL
#define REQ_LIMIT_MAX 1000000000ULL
/* Longest request path (SCRIPT_NAME + PATH_INFO, or REQUEST_URI) handled. */
#define REQ_PATH_MAX 4096

struct req {
    enum req_route route;
    int head;                     /* HEAD: headers only, no body */
    int status;                   /* 200, or the HTTP status of the error */
    const char *error;            /* static one-line reason when status != 200 */
    unsigned long long first_id;  /* id of the first event: 0 or Last-Event-ID + 1 */
    unsigned long long limit;     /* events to send, then end; 0 = unlimited */
    const char *allow;            /* with 405: the methods of the route */

    /* events: the channels (distinct, in the order given); publish: one */
    unsigned nchan;
    char chans[REQ_CHANNELS_MAX][REQ_CHANNEL_MAX + 1];
    int have_last;                /* events: a Last-Event-ID (or lastEventId) was given */
    struct msgid last;
    char expires[24];             /* events: a signed URL's expires= and sig= ("" if absent) */
    char sig[64];
    char event[REQ_EVENT_MAX + 1]; /* publish: event= ("" if absent) */
    char run_name[65];            /* run: NAME, [A-Za-z0-9_.-]{1,64}, never only dots */
    int history;                  /* channel: .../channels/NAME/history (NAME in chans[0]) */
    int del;                      /* channel: DELETE */
    int status_stream;            /* status: stream=1, the figures as an event stream */

    /* filled by the controller (dispatch.c), not by req_parse */
    const char *run_path;         /* run, chat: the program to start */
    int chat_stream;              /* chat: "stream": true */
    char model[256];              /* chat: the request's "model" */
    void *mercure;                /* Mercure: what the hub read (mercure_serve) */
};

/* Returns the value of a request parameter (CGI/FastCGI variable), or NULL. */
typedef const char *(*req_param_fn)(const char *name, void *ctx);

/* Fills r from the request's parameters. Never fails: a bad request gives
 * r->status 400/404/405/414 and r->error a fixed sentence that never
 * quotes the input. The route is the last segment of the request path,
 * so the responder works under any mount prefix. The path is
 * SCRIPT_NAME + PATH_INFO (decoded by the server; what it routed to us),
 * else the path of REQUEST_URI (percent-decoded here), else DOCUMENT_URI.
 * Resume: the Last-Event-ID header wins over the lastEventId query
 * parameter (a browser's reconnect keeps the original URL); an empty
 * value means no resume, as in the EventSource spec. .../stream takes
 * GET and HEAD, a decimal id, limit=; .../events takes GET and HEAD,
 * channel= (1 to 16, repeated names counted once), an id MS-SEQ,
 * expires= and sig=; .../publish takes POST, channel= (one) and event=.
 * Every name is checked (text_name_ok); a bad one is a 400 naming the
 * parameter. .../run/NAME (the second-to-last segment "run") takes GET
 * and POST and a NAME that text_program_name_ok accepts (else 404);
 * .../chat/completions takes POST; their query is the program's.
 * .../status and .../metrics take GET and HEAD; .../status?stream=1 asks
 * for the status figures as an event stream (stream=0 or none: the JSON;
 * anything else is a 400).
 * A path that ends in /.well-known/mercure is the Mercure hub's (GET,
 * HEAD, POST, OPTIONS), one under /.well-known/mercure/subscriptions its
 * API's (GET, HEAD, OPTIONS): the hub reads their query and body.
 * .../channels/NAME (the second-to-last segment "channels", whatever the
 * last) takes GET, HEAD and DELETE, .../channels/NAME/history DELETE; NAME
 * is a channel name (else 400), never an internal one (starting with '@':
 * 403); their query is ignored. */
void req_parse(struct req *r, req_param_fn get, void *ctx);

#endif
