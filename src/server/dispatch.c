/* dispatch.c -- the request controller: from a parsed request to an answer, a publish or an admitted stream */
#include "config.h"

#include "server/dispatch.h"
#include "stream/admit.h"
#include "core/clock.h"
#include "fcgi/fcgireq.h"
#include "core/log.h"
#include "core/procstat.h"
#include "sources/openai.h"
#include "sources/process.h"
#include "http/answer.h"
#include "sources/program.h"
#include "sources/subscription.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static enum dispatch_result answered(int rc)
{
    return rc < 0 ? DISPATCH_GONE : DISPATCH_ANSWERED;
}

/* A private: channel needs a signed URL (EventSource can send neither a
 * header nor a body). 1 when r may subscribe, else 0 with *why. */
static int may_subscribe(const struct dispatch *c, const struct req *r, const char **why)
{
    const char *names[CHAN_SUB_MAX];
    unsigned i, private = 0;

    for (i = 0; i < r->nchan; i++) {
        names[i] = r->chans[i];
        private |= strncmp(r->chans[i], "private:", 8) == 0;
    }
    if (!private)
        return 1;
    if (!c->subscribe_keys) {
        *why = "private channels need the responder's --subscribe-key-file";
        return 0;
    }
    if (!r->expires[0] || !r->sig[0]) {
        *why = "a private channel needs a signed URL: expires= and sig=";
        return 0;
    }
    return auth_sig_ok(c->subscribe_keys, r->expires, r->sig, names, r->nchan,
                       clock_wall_ms() / 1000, why);
}

/* What a stream of route carries, for the counts by kind. */
static enum stats_kind kind_of(enum req_route route)
{
    switch (route) {
    case REQ_EVENTS:
        return STATS_CHANNEL;
    case REQ_RUN:
    case REQ_CHAT:
        return STATS_PROGRAM;
    case REQ_MERCURE:
    case REQ_MERCURE_SUBS:
        return STATS_MERCURE;
    case REQ_STATUS:
        return STATS_STATUS;
    default:
        return STATS_COUNTER;
    }
}

/* The figures of /status and /metrics: the process's counters, the
 * programs' and the channels'. */
static void status_view(const struct dispatch *c, struct stats_view *v)
{
    struct chan_stats cs;

    stats_read(c->stats, v, clock_now_ms());
    if (c->procs) {
        v->runs_running = process_running(c->procs);
        process_counts(c->procs, &v->runs_terminated, &v->runs_killed);
    }
    if (!c->engine)
        return;
    chan_stats_read(c->engine, &cs);
    /* the Mercure hub's internal channel is counted as Mercure's, not as a channel */
    v->channels = cs.channels - cs.internal_channels;
    v->messages_published = cs.published - cs.internal_published;
    v->mercure_published = cs.internal_published;
    v->history_bytes = cs.history_bytes;
    v->history_messages = cs.history_messages;
    v->held_bytes = cs.held_bytes;
    v->channel_bytes = cs.channel_bytes;
    v->channels_refused = cs.channels_refused;
}

int dispatch_status_json(void *arg, char *buf, size_t cap)
{
    struct stats_view v = { 0 };
    int n;

    status_view(arg, &v);
    n = stats_json(&v, buf, cap);
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    return n;
}

/* An OpenAI-style error answer: {"error":{"message":..,"type":..}}. */
static enum dispatch_result openai_refuse(const struct resp_sink *o, int status, const char *why,
                                  const char *type, unsigned retry_after_s)
{
    size_t len;
    char *j = openai_error(why, type, &len);
    int rc;

    if (!j)
        return answered(resp_error(o, 500, "out of memory", 0, 0));
    rc = resp_json_status(o, status, j, len, retry_after_s);
    free(j);
    return answered(rc);
}

/* .../run/NAME and .../chat/completions (r parsed with status 200). */
static enum dispatch_result serve_program(const struct dispatch *c, struct req *r, req_param_fn get,
                                     void *ctx, const char *body, size_t body_len,
                                     int too_big, const struct resp_sink *o)
{
    unsigned after = (unsigned)((c->retry_ms + 999) / 1000);
    int chat = r->route == REQ_CHAT;
    const char *why = NULL;
    unsigned i;

    too_big = too_big || body_len > c->max_body;
    if (chat) {
        if (!c->openai)
            return answered(resp_error(o, 404, "no model program: the responder has no "
                                               "--openai", 0, 0));
        if (!pub_chat_may(&c->pub, get, ctx, &why))
            return openai_refuse(o, 403, why, "invalid_request_error", 0);
        if (too_big)
            return openai_refuse(o, 413, "the request is over the responder's --max-body",
                              "invalid_request_error", 0);
        if (openai_parse(body, body_len, r->model, &r->chat_stream, &why) < 0)
            return openai_refuse(o, 400, why, "invalid_request_error", 0);
        r->run_path = c->openai;
    } else {
        for (i = 0; i < c->nrun && !r->run_path; i++)
            if (strcmp(c->runs[i].name, r->run_name) == 0)
                r->run_path = c->runs[i].path;
        if (!r->run_path)
            return answered(resp_error(o, 404, "no such program: the routes are .../run/NAME "
                                               "for each --run NAME", 0, 0));
        if (too_big)
            return answered(resp_error(o, 413, "the body is over the responder's --max-body",
                                       0, 0));
    }
    if (!c->procs || process_full(c->procs)) {
        c->stats->runs_refused++;
        return chat ? openai_refuse(o, 503, "too many programs running: try again later",
                                 "server_error", after ? after : 1)
                    : answered(resp_error(o, 503, "too many programs running: try again later",
                                          after ? after : 1, 0));
    }
    if (!admit_take(c->stats, STATS_PROGRAM))
        return answered(answer_refuse(o, c->retry_ms, 0));
    if ((!chat || r->chat_stream) && resp_stream_head(o, c->retry_ms, 0) < 0) {
        admit_give(c->stats, STATS_PROGRAM);
        return DISPATCH_GONE;
    }
    return chat ? DISPATCH_CHAT : DISPATCH_RUN;
}

/* .../.well-known/mercure[/subscriptions...] (r parsed with status 200). */
static enum dispatch_result serve_mercure(const struct dispatch *c, struct req *r,
                                          req_param_fn get, void *ctx, const char *body,
                                          size_t body_len, int too_big,
                                          const struct resp_sink *o)
{
    if (!c->mercure)
        return answered(resp_error(o, 404, "Mercure is off: it needs the FastCGI responder "
                                           "started with --mercure", 0, r->head));
    switch (mercure_serve(c->mercure, r, get, ctx, body, body_len, too_big, o)) {
    case MERCURE_ANSWERED:
        return DISPATCH_ANSWERED;
    case MERCURE_GONE:
        return DISPATCH_GONE;
    case MERCURE_PUBLISH:
        return DISPATCH_MERCURE_PUBLISH;
    case MERCURE_SUBSCRIBE:
        break;
    }
    if (!admit_take(c->stats, STATS_MERCURE)) {
        mercure_req_free(r->mercure);
        r->mercure = NULL;
        return answered(answer_refuse(o, c->retry_ms, 0));
    }
    return DISPATCH_MERCURE;
}

enum dispatch_result dispatch_serve(const struct dispatch *c, req_param_fn get, void *ctx, const char *body,
                          size_t body_len, int body_too_big, const struct resp_sink *o,
                          struct req *r)
{
    const char *why = NULL;
    struct stats_view view = { 0 };
    int rc, over_message;

    req_parse(r, get, ctx);
    /* the intake may take more (--max-body, for programs): the other routes keep theirs */
    over_message = body_too_big || (c->max_message && body_len > c->max_message);
    if ((r->route == REQ_EVENTS || r->route == REQ_PUBLISH || r->route == REQ_CHANNEL) &&
        !c->engine && r->status == 200)
        return answered(resp_error(o, 404, "channels need fcgi-sse as a FastCGI responder: "
                                           "one process holds them", 0, r->head));
    if (r->route == REQ_PUBLISH && r->status == 200) {
        rc = pub_check(&c->pub, get, ctx, body, body_len, over_message, o);
        return rc == 1 ? DISPATCH_PUBLISH : answered(rc);
    }
    if (r->route == REQ_CHANNEL && r->status == 200)
        return pub_control_may(&c->pub, get, ctx, &why)
                   ? DISPATCH_CONTROL
                   : answered(resp_error(o, 403, why, 0, r->head));
    if ((r->route == REQ_RUN || r->route == REQ_CHAT) && r->status == 200)
        return serve_program(c, r, get, ctx, body, body_len, body_too_big, o);
    if ((r->route == REQ_MERCURE || r->route == REQ_MERCURE_SUBS) && r->status == 200)
        return serve_mercure(c, r, get, ctx, body, body_len, over_message, o);
    if (r->route == REQ_EVENTS && r->status == 200 && !may_subscribe(c, r, &why))
        return answered(resp_error(o, 403, why, 0, r->head));
    if (r->route == REQ_STATUS && r->status_stream && !c->feed && r->status == 200)
        return answered(resp_error(o, 404, "the status stream needs fcgi-sse as a FastCGI "
                                           "responder", 0, r->head));
    if ((r->route == REQ_STATUS || r->route == REQ_METRICS) && r->status == 200)
        status_view(c, &view);
    if (r->route == REQ_METRICS && r->status == 200)
        procstat_read(&view.proc);
    rc = answer_route(r, o, &view, c->retry_ms);
    if (rc != 1)
        return answered(rc);
    if (over_message)
        return answered(resp_error(o, 413, "a stream request carries no body", 0, 0));
    if (!admit_take(c->stats, kind_of(r->route)))
        return answered(answer_refuse(o, c->retry_ms, 0));
    if (r->route == REQ_EVENTS)
        return DISPATCH_SUBSCRIBE; /* its header block once it has started (sub_start) */
    if (resp_stream_head(o, c->retry_ms, 0) < 0) {
        admit_give(c->stats, kind_of(r->route));
        return DISPATCH_GONE;
    }
    return r->route == REQ_STATUS ? DISPATCH_STATUS_FEED : DISPATCH_STREAM;
}

/* ---------------------------------------------------------------- FastCGI */

static const char *param(const char *name, void *ctx)
{
    return fcgireq_param(ctx, name);
}

static struct log_limit dispatch_warn;

/* Starts an admitted stream: its source, then the hub. For a program, its
 * environment is taken from the params (before stream_begin drops them)
 * and *body is taken. 0, or -1 (the caller ends s and gives its slot back). */
static int start_stream(const struct dispatch *c, struct stream *s, enum dispatch_result kind,
                        struct req *r, char **body, size_t body_len,
                        const struct resp_sink *o)
{
    long long now = clock_now_ns();
    char **env = NULL;

    if (kind == DISPATCH_RUN || kind == DISPATCH_CHAT) {
        env = program_env(param, &s->req, kind == DISPATCH_RUN ? r->run_name : "chat", body_len);
        if (!env) {
            if (log_allow(&dispatch_warn))
                log_errno("a program's environment", ENOMEM);
            return -1;
        }
    }
    if (stream_begin(s, c->sndbuf, now) < 0) {
        free(env);
        if (kind == DISPATCH_MERCURE)
            mercure_req_free(r->mercure);
        if (log_allow(&dispatch_warn))
            log_errno("setting up a stream connection", errno);
        return -1;
    }
    if (kind == DISPATCH_RUN || kind == DISPATCH_CHAT) {
        enum program_mode mode = kind == DISPATCH_RUN ? PROGRAM_LINES : r->chat_stream ? PROGRAM_CHAT
                                                                           : PROGRAM_CHAT_WHOLE;
        if (program_start(c->programs, s, mode, r->run_path, kind == DISPATCH_RUN ? r->run_name : "openai", r->model,
                      env, body, body_len, now) < 0) {
            if (mode == PROGRAM_CHAT_WHOLE)
                (void)resp_error(o, 500, "the model program could not be started", 0, 0);
            return -1;
        }
    } else if (kind == DISPATCH_STREAM) {
        if (counter_start(c->counter, s, r->first_id, r->limit, now) < 0)
            return -1;
    } else if (kind == DISPATCH_STATUS_FEED) {
        if (feed_start(c->feed, s, now) < 0)
            return -1;
    } else if (kind == DISPATCH_MERCURE) {
        if (mercure_subscribe(c->mercure, s, r, now) < 0)
            return -1;
    } else if (sub_start(c->subs, s, r->chans, r->nchan, r->have_last ? &r->last : NULL, now) < 0) {
        unsigned after = (unsigned)((c->retry_ms + 999) / 1000);
        if (errno == ENOSPC)
            (void)resp_error(o, 503, "too many channels: the responder's --max-channels is "
                                     "reached", after ? after : 1, 0);
        else if (errno != EPIPE && log_allow(&dispatch_warn))
            log_errno("subscribing", errno);
        return -1;
    }
    return hub_add(c->hub, s);
}

void dispatch_request(void *arg, struct stream *s, char *body, size_t body_len, int body_too_big)
{
    const struct dispatch *c = arg;
    struct resp_sink o;
    struct req r;
    enum dispatch_result res;

    s->stats = c->stats; /* its answers and bytes are counted */
    stream_sink(s, &o);
    res = dispatch_serve(c, param, &s->req, body, body_len, body_too_big, &o, &r);
    s->kind = kind_of(r.route);
    switch (res) {
    case DISPATCH_ANSWERED:
        stream_end(s, 1);
        break;
    case DISPATCH_GONE:
        stream_end(s, 0);
        break;
    case DISPATCH_PUBLISH:
        pub_start(&c->pub, s, r.chans[0], r.event[0] ? r.event : NULL, body ? body : "",
                  body_len);
        free(body);
        return;
    case DISPATCH_MERCURE_PUBLISH:
        mercure_publish(c->mercure, s, &r);
        free(body);
        return;
    case DISPATCH_CONTROL:
        ctl_start(c->ctl, s, !r.del ? CTL_INFO : r.history ? CTL_PURGE : CTL_DELETE, r.chans[0],
                  r.head);
        free(body);
        return;
    case DISPATCH_STREAM:
    case DISPATCH_SUBSCRIBE:
    case DISPATCH_MERCURE:
    case DISPATCH_RUN:
    case DISPATCH_CHAT:
    case DISPATCH_STATUS_FEED:
        if (start_stream(c, s, res, &r, &body, body_len, &o) == 0) {
            free(body);
            return;
        }
        /* shutting down, or out of resources: a clean, empty stream */
        stream_end(s, 1);
        admit_give(c->stats, s->kind);
        break;
    }
    free(body);
    stream_destroy(s);
}
