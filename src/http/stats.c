/* stats.c -- process-wide stream counters, kept by the event loop's thread */
#include "config.h"

#include "http/stats.h"

#include <stdio.h>
#include <string.h>

const int stats_codes[STATS_CODES] = { 200, 204, 400, 401, 403, 404, 405, 413, 414, 429, 500,
                                       503 };

int stats_code_slot(int status)
{
    int i;

    for (i = 0; i < STATS_CODES; i++)
        if (stats_codes[i] == status)
            return i;
    return -1;
}

void stats_answered(struct stats *s, int status)
{
    int i = stats_code_slot(status);

    if (s && i >= 0)
        s->answers[i]++;
}

void stats_read(const struct stats *s, struct stats_view *v, long long now_ms)
{
    v->streams_open = s->streams_open;
    v->streams_total = s->streams_total;
    v->events_sent = s->events_sent;
    v->streams_dropped_slow = s->streams_dropped_slow;
    v->streams_refused = s->streams_refused;
    v->max_streams = s->max_streams;
    v->uptime_s = now_ms > s->started_ms ? (unsigned long long)(now_ms - s->started_ms) / 1000 : 0;
    v->events_delivered = s->events_delivered;
    v->runs_running = 0; /* the programs' owner fills it in */
    v->runs_started = s->runs_started;
    v->runs_failed = s->runs_failed;
    v->runs_refused = s->runs_refused;
    v->run_events = s->run_events;
    v->redis = s->redis;
    v->channels = v->messages_published = v->channels_refused = 0;
    v->history_bytes = v->held_bytes = v->channel_bytes = 0;
    v->mercure_delivered = s->mercure_delivered;
    v->status_events = s->status_events;
    v->mercure_published = 0; /* the channels' owner fills it in */
    memcpy(v->open_kind, s->open_kind, sizeof v->open_kind);
    memcpy(v->total_kind, s->total_kind, sizeof v->total_kind);
    v->bytes_written = s->bytes_written;
    memcpy(v->answers, s->answers, sizeof v->answers);
    memcpy(v->intake_refused, s->intake_refused, sizeof v->intake_refused);
    v->replays = s->replays;
    v->resets = s->resets;
    /* the owners of the channels and the programs fill these in, and /metrics the process's */
    v->history_messages = 0;
    v->runs_terminated = v->runs_killed = 0;
    memset(&v->proc, 0, sizeof v->proc);
}

int stats_json(const struct stats_view *v, char *buf, size_t cap)
{
    char redis[768] = "";
    int n;

    if (v->redis.enabled) {
        n = snprintf(redis, sizeof redis,
                     ",\"redis\":{\"address\":\"%s\",\"connected\":%s,\"reconnects\":%lu,"
                     "\"resyncs\":%lu,\"pending_publishes\":%lu,\"pending_bytes\":%llu,"
                     "\"last_error\":\"%s\"}",
                     v->redis.where, v->redis.connected ? "true" : "false",
                     v->redis.reconnects, v->redis.resyncs, v->redis.pending_publishes,
                     v->redis.pending_bytes, v->redis.last_error);
        if (n < 0 || (size_t)n >= sizeof redis)
            return -1;
    }
    n = snprintf(buf, cap,
                     "{\"streams_open\":%lu,\"streams_total\":%lu,\"events_sent\":%lu,"
                     "\"streams_dropped_slow\":%lu,\"streams_refused\":%lu,"
                     "\"uptime_s\":%llu,\"max_streams\":%lu,\"version\":\"%s\","
                     "\"channels\":%lu,\"messages_published\":%lu,\"events_delivered\":%lu,"
                     "\"history_bytes\":%llu,\"held_bytes\":%llu,\"channel_bytes\":%llu,"
                     "\"channels_refused\":%lu,\"runs_running\":%lu,\"runs_started\":%lu,"
                     "\"runs_failed\":%lu,\"runs_refused\":%lu,\"run_events\":%lu,"
                     "\"mercure_subscribers\":%lu,\"mercure_published\":%lu,"
                     "\"mercure_delivered\":%lu%s}\n",
                     v->streams_open, v->streams_total, v->events_sent,
                     v->streams_dropped_slow, v->streams_refused, v->uptime_s,
                     v->max_streams, PACKAGE_VERSION, v->channels, v->messages_published,
                     v->events_delivered, v->history_bytes, v->held_bytes, v->channel_bytes,
                     v->channels_refused, v->runs_running, v->runs_started,
                     v->runs_failed, v->runs_refused, v->run_events,
                     v->open_kind[STATS_MERCURE], v->mercure_published, v->mercure_delivered,
                     redis);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}
