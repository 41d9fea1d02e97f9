/* ctl.h -- a channel's presence and control: .../channels/NAME read, deleted, its history purged */
#ifndef FCGI_SSE_CHANNELS_CTL_H
#define FCGI_SSE_CHANNELS_CTL_H

#include <stddef.h>

#include "channels/chan.h"
#include "http/resp.h"
#include "stream/stream.h"

enum ctl_action {
    CTL_INFO,      /* GET, HEAD .../channels/NAME: what it holds */
    CTL_DELETE,    /* DELETE .../channels/NAME: its subscribers' streams end, its history goes */
    CTL_PURGE      /* DELETE .../channels/NAME/history: its history goes, subscribers stay */
};

/* What a control found: the channel's figures when it ran (before a
 * delete or a purge took them away). */
struct ctl_result {
    int here_only;                 /* info.subscribers counts this responder's only (with
                                      --redis: each responder holds its own connections) */
    struct chan_info info;
};

/* A control is over: status 200 with r, or 404 (no such channel), 403
 * (it may not be controlled) or 503 (it could not be done now), with why,
 * a one-line reason. */
typedef void (*ctl_done_fn)(void *arg, int status, const struct ctl_result *r, const char *why);

/* Where a channel is read and controlled: the engine (ctl_memory) or
 * Redis (redis_ctl_backend). run calls done once: at once, or when Redis
 * answers. With Redis, every responder's subscribers of a deleted channel
 * end once its read reaches the delete (after done). */
struct ctl_backend {
    void (*run)(void *ctx, enum ctl_action a, const char *channel, ctl_done_fn done, void *arg);
    void *ctx;
};

/* The answer to a control that found its channel: JSON
 * {"channel", "deleted" or "purged": true (not for CTL_INFO),
 * "subscribers", "subscribers_scope" ("all", or "responder" when
 * here_only), "messages", "bytes", "oldest", "newest", "dropped" (ids,
 * null for none)}. Into a fresh string (free it), NULL on ENOMEM. */
char *ctl_json(enum ctl_action a, const char *channel, const struct ctl_result *r, size_t *len);

/* Runs control a of channel (valid, not internal; the caller checked who
 * may) for the request s: once the backend is done, answers 200
 * (ctl_json), 404 (no such channel), 403 or 503, ends the response and
 * frees s. head: HEAD, the header block only. Takes s. */
void ctl_start(const struct ctl_backend *b, struct stream *s, enum ctl_action a,
               const char *channel, int head);

/* The backend of channels in memory: the engine e. */
void ctl_memory(struct ctl_backend *b, struct chan_engine *e);

#endif
