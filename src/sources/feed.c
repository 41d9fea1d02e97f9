/* feed.c -- the status feed: the /status figures as an event every second (.../status?stream=1) */
#include "config.h"

#include "sources/feed.h"
#include "http/sse.h"
#include "http/stats.h"

#include <errno.h>
#include <stdlib.h>

/* A reader that took nothing for this long is dropped. */
#define FEED_STALL_NS (10 * 1000000000LL)

struct feed {
    feed_render_fn render;
    void *ctx;
    long long interval_ns;
    unsigned long *events;
};

/* One stream of the feed: when its next event is due. */
struct feed_stream {
    const struct feed *f;
    long long next;
};

struct feed *feed_create(feed_render_fn render, void *ctx, long long interval_ns,
                         unsigned long *events)
{
    struct feed *f = malloc(sizeof *f);

    if (!f)
        return NULL;
    f->render = render;
    f->ctx = ctx;
    f->interval_ns = interval_ns > 0 ? interval_ns : 1000000000LL;
    f->events = events;
    return f;
}

void feed_destroy(struct feed *f)
{
    free(f);
}

static enum stream_status due(struct stream *s, long long now)
{
    struct feed_stream *fs = s->src_state;
    const struct feed *f = fs->f;
    char json[STATS_JSON_MAX], buf[STATS_JSON_MAX + 64];
    struct sse_event ev = { NULL, "status", json, 0 };
    int n = f->render(f->ctx, json, sizeof json);
    ssize_t len;

    if (n < 0)
        return STREAM_DONE;
    ev.data_len = (size_t)n;
    len = sse_encode(buf, sizeof buf, &ev);
    if (len < 0)
        return STREAM_DONE;
    if (stream_room(s) >= len) {
        enum stream_status st = stream_send(s, buf, (size_t)len, now);
        if (st != STREAM_OPEN)
            return st;
        (*f->events)++;
    } else if (now - s->last_output >= FEED_STALL_NS) {
        return STREAM_SLOW;
    }
    /* on the grid of its start; a turn late by more than one skips ahead */
    fs->next += f->interval_ns;
    if (fs->next <= now)
        fs->next = now + f->interval_ns;
    s->timer.node.due = fs->next;
    return STREAM_OPEN;
}

static void release(struct stream *s)
{
    free(s->src_state);
    s->src_state = NULL;
}

static const struct source feed_source = { "status feed", due, NULL, release };

int feed_start(struct feed *f, struct stream *s, long long now)
{
    struct feed_stream *fs = malloc(sizeof *fs);

    if (!fs) {
        errno = ENOMEM;
        return -1;
    }
    fs->f = f;
    fs->next = now;
    s->src = &feed_source;
    s->src_state = fs;
    s->timer.node.due = now;
    return 0;
}
