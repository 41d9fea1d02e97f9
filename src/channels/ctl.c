/* ctl.c -- a channel's presence and control: .../channels/NAME read, deleted, its history purged */
#include "config.h"

#include "channels/ctl.h"
#include "core/clock.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An id as JSON: its text, or null for 0-0 (none). */
static json_t *id_json(struct msgid id)
{
    char text[MSGID_STR_MAX];

    if (msgid_is_zero(id))
        return json_null();
    msgid_format(text, id);
    return json_string(text);
}

char *ctl_json(enum ctl_action a, const char *channel, const struct ctl_result *r, size_t *len)
{
    const struct chan_info *i = &r->info;
    json_t *j = json_pack("{s:s}", "channel", channel);
    char *text = NULL;

    if (j && a != CTL_INFO)
        (void)json_object_set_new(j, a == CTL_DELETE ? "deleted" : "purged", json_true());
    if (j && json_object_update_new(j, json_pack("{s:I, s:s, s:I, s:I, s:o, s:o, s:o}",
                                            "subscribers", (json_int_t)i->subscribers,
                                            "subscribers_scope",
                                            r->here_only ? "responder" : "all",
                                            "messages", (json_int_t)i->messages,
                                            "bytes", (json_int_t)i->bytes,
                                            "oldest", id_json(i->oldest),
                                            "newest", id_json(i->newest),
                                            "dropped", id_json(i->dropped))) == 0)
        text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (text)
        *len = strlen(text);
    return text;
}

/* A control waiting for its backend. */
struct ctl_wait {
    struct stream *s;
    enum ctl_action a;
    int head;
    char channel[CHAN_NAME_MAX + 1];
};

static void ctl_finish(void *arg, int status, const struct ctl_result *r, const char *why)
{
    struct ctl_wait *w = arg;
    struct resp_sink o;
    size_t len = 0;
    char *text;

    stream_sink(w->s, &o);
    if (status == 200) {
        text = ctl_json(w->a, w->channel, r, &len);
        if (text)
            (void)resp_json(&o, text, len, w->head);
        else
            (void)resp_error(&o, 500, "the answer could not be made", 0, w->head);
        free(text);
    } else {
        (void)resp_error(&o, status, why, status == 503 ? 1 : 0, w->head);
    }
    stream_end(w->s, 1);
    stream_destroy(w->s);
    free(w);
}

void ctl_start(const struct ctl_backend *b, struct stream *s, enum ctl_action a,
               const char *channel, int head)
{
    struct ctl_wait *w = malloc(sizeof *w);

    if (!w) {
        struct resp_sink o;
        stream_sink(s, &o);
        (void)resp_error(&o, 503, "out of memory: try again later", 1, head);
        stream_end(s, 1);
        stream_destroy(s);
        return;
    }
    w->s = s;
    w->a = a;
    w->head = head;
    snprintf(w->channel, sizeof w->channel, "%s", channel);
    b->run(b->ctx, a, channel, ctl_finish, w);
}

/* The engine does it at once: a delete's subscribers end from their own
 * timers, after the answer. */
static void ctl_memory_run(void *ctx, enum ctl_action a, const char *channel, ctl_done_fn done,
                           void *arg)
{
    struct chan_engine *e = ctx;
    struct ctl_result r;
    int rc;

    memset(&r, 0, sizeof r);
    rc = a == CTL_INFO     ? chan_info(e, channel, clock_wall_ms(), &r.info)
         : a == CTL_DELETE ? chan_delete(e, channel, &r.info)
                           : chan_purge(e, channel, &r.info);
    if (rc == 0)
        done(arg, 200, &r, NULL);
    else if (errno == EPERM)
        done(arg, 403, NULL, "an internal channel (its name starts with @) is its owner's alone");
    else
        done(arg, 404, NULL, "no such channel: it has neither history nor subscribers");
}

void ctl_memory(struct ctl_backend *b, struct chan_engine *e)
{
    b->run = ctl_memory_run;
    b->ctx = e;
}
