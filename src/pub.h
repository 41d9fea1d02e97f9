/* pub.h -- a publish request: who may, what a message may hold, and the answer */
#ifndef FCGI_SSE_PUB_H
#define FCGI_SSE_PUB_H

#include <stddef.h>

#include "ctl.h"

/* 1 when the request may publish: a key of --publish-key-file in
 * Authorization: Bearer, or with --publish-remote-user the web server's
 * REMOTE_USER; else 0 with *why (one line, naming publishing). */
int pub_may(const struct ctl *c, req_param_fn get, void *ctx, const char **why);

/* The same check for .../chat/completions (a model costs money to run),
 * with *why naming chat. */
int pub_chat_may(const struct ctl *c, req_param_fn get, void *ctx, const char **why);

/* The checks of a publish, in the order pub_serve makes them: 1 when the
 * message may be published; else the refusal was written (403, 413,
 * 400) and the result of writing it is returned (0, or -1). */
int pub_check(const struct ctl *c, req_param_fn get, void *ctx, const char *body, size_t len,
              int too_big, const struct resp_sink *o);

/* The answer to a publish: 200 with {"id":..,"channel":..,"subscribers":N}.
 * 0, or -1 when it could not be written. */
int pub_answer(const struct resp_sink *o, struct msgid id, const char *channel,
               unsigned long subscribers);

/* Answers a POST .../publish that parsed (r->status 200): 403 unless a
 * key (Authorization: Bearer) or, with --publish-remote-user, the web
 * server's REMOTE_USER allows it; 413 over --max-message; 400 for a
 * message that is not UTF-8 text; else publishes it and answers 200 with
 * {"id":"MS-SEQ","channel":NAME,"subscribers":N}. Returns 0, or -1 when
 * the answer could not be written. */
int pub_serve(const struct ctl *c, const struct req *r, req_param_fn get, void *ctx,
              const char *body, size_t len, int too_big, const struct resp_sink *o);

#endif
