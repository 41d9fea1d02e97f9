/* metrics.c -- the process's figures in Prometheus's text exposition format 0.0.4, pure */
#include "config.h"

#include "http/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The text being written: once it no longer fits, nothing more is. */
struct out {
    char *buf;
    size_t cap, len;
    int full;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    size_t room = o->cap - o->len;
    int n;

    if (o->full)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->len, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room) {
        o->full = 1;
        return;
    }
    o->len += (size_t)n;
}

/* Escapes s into out[cap]: `\` always, `"` when quote, a line feed as `\n`. */
static int escape(const char *s, int quote, char *out, size_t cap)
{
    size_t n = 0;

    for (; *s; s++) {
        const char *rep = NULL;
        size_t k;
        if (*s == '\\')
            rep = "\\\\";
        else if (*s == '\n')
            rep = "\\n";
        else if (*s == '"' && quote)
            rep = "\\\"";
        k = rep ? 2 : 1;
        if (n + k >= cap)
            return -1;
        if (rep)
            memcpy(out + n, rep, 2);
        else
            out[n] = *s;
        n += k;
    }
    if (n >= cap)
        return -1;
    out[n] = '\0';
    return (int)n;
}

int metrics_escape_label(const char *s, char *out, size_t cap)
{
    return escape(s, 1, out, cap);
}

int metrics_escape_help(const char *s, char *out, size_t cap)
{
    return escape(s, 0, out, cap);
}

/* `# HELP` and `# TYPE` of a family. */
static void family(struct out *o, const char *name, const char *type, const char *help)
{
    char h[512];

    if (metrics_escape_help(help, h, sizeof h) < 0) {
        o->full = 1; /* a help text of ours too long: a bug, seen in the tests */
        return;
    }
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, h, name, type);
}

/* A family of one sample without labels. */
static void one(struct out *o, const char *name, const char *type, const char *help,
                unsigned long long v)
{
    family(o, name, type, help);
    put(o, "%s %llu\n", name, v);
}

/* One sample with one label (its value one of ours: nothing to escape). */
static void labelled(struct out *o, const char *name, const char *label, const char *value,
                     unsigned long long v)
{
    put(o, "%s{%s=\"%s\"} %llu\n", name, label, value, v);
}

static const char *const kind_names[STATS_KINDS] = { "counter", "channel", "program", "mercure",
                                                     "status" };
static const char *const intake_names[STATS_IN_REASONS] = { "peer", "malformed", "too_large",
                                                            "intake_memory", "timeout",
                                                            "fd_limit" };

static void streams(struct out *o, const struct stats_view *v)
{
    unsigned long long events[STATS_KINDS];
    int k;

    family(o, "fcgi_sse_streams_open", "gauge", "Streams open now, by what they carry.");
    for (k = 0; k < STATS_KINDS; k++)
        labelled(o, "fcgi_sse_streams_open", "kind", kind_names[k], v->open_kind[k]);
    family(o, "fcgi_sse_streams_total", "counter",
           "Streams served (admitted) since the start, by what they carry.");
    for (k = 0; k < STATS_KINDS; k++)
        labelled(o, "fcgi_sse_streams_total", "kind", kind_names[k], v->total_kind[k]);
    one(o, "fcgi_sse_streams_max", "gauge",
        "Streams the responder holds at most (--max-streams, or what open files and memory "
        "allow); more are refused with 503.", v->max_streams);
    one(o, "fcgi_sse_streams_dropped_slow_total", "counter",
        "Streams dropped because their reader let the send buffer fill (--max-backlog).",
        v->streams_dropped_slow);
    events[STATS_COUNTER] = v->events_sent;
    events[STATS_CHANNEL] = v->events_delivered;
    events[STATS_PROGRAM] = v->run_events;
    events[STATS_MERCURE] = v->mercure_delivered;
    events[STATS_STATUS] = v->status_events;
    family(o, "fcgi_sse_events_written_total", "counter",
           "Events written, by the kind of stream: counter events, channel messages and "
           "Mercure updates delivered to subscribers, program lines and chat chunks, status "
           "feed events.");
    for (k = 0; k < STATS_KINDS; k++)
        labelled(o, "fcgi_sse_events_written_total", "kind", kind_names[k], events[k]);
    one(o, "fcgi_sse_written_bytes_total", "counter",
        "Bytes of stream bodies written to the web server after their header block: events, "
        "comments, heartbeats.", v->bytes_written);
}

static void answers(struct out *o, const struct stats_view *v)
{
    char code[8];
    int i;

    family(o, "fcgi_sse_responses_total", "counter",
           "Answers by HTTP status: a stream's header block (200), and every answer that "
           "opens no stream.");
    for (i = 0; i < STATS_CODES; i++) {
        snprintf(code, sizeof code, "%d", stats_codes[i]);
        labelled(o, "fcgi_sse_responses_total", "code", code, v->answers[i]);
    }
    family(o, "fcgi_sse_refused_total", "counter",
           "Requests refused, by reason: the intake's checks, whose connection is closed "
           "without an answer (peer, malformed, too_large, intake_memory, timeout, fd_limit), "
           "and the bounds answered with 503 (max_streams, max_runs, max_channels).");
    for (i = 0; i < STATS_IN_REASONS; i++)
        labelled(o, "fcgi_sse_refused_total", "reason", intake_names[i], v->intake_refused[i]);
    labelled(o, "fcgi_sse_refused_total", "reason", "max_streams", v->streams_refused);
    labelled(o, "fcgi_sse_refused_total", "reason", "max_runs", v->runs_refused);
    labelled(o, "fcgi_sse_refused_total", "reason", "max_channels", v->channels_refused);
}

static void channels(struct out *o, const struct stats_view *v)
{
    one(o, "fcgi_sse_channels", "gauge",
        "Channels that have history or subscribers (the Mercure hub's own left out).",
        v->channels);
    one(o, "fcgi_sse_messages_published_total", "counter",
        "Messages published to channels (with --redis: those this responder read from Redis "
        "for its subscribers' channels, published anywhere); Mercure updates apart.",
        v->messages_published);
    one(o, "fcgi_sse_mercure_updates_published_total", "counter",
        "Mercure updates published to the hub, subscription events included (with --redis: "
        "those this responder read from Redis).", v->mercure_published);
    one(o, "fcgi_sse_history_messages", "gauge",
        "Messages held in the channels' histories, Mercure's included.", v->history_messages);
    one(o, "fcgi_sse_history_bytes", "gauge",
        "Bytes of the histories: their messages and rings (--history-bytes bounds them with "
        "fcgi_sse_history_held_bytes).", v->history_bytes);
    one(o, "fcgi_sse_history_held_bytes", "gauge",
        "Bytes of messages gone from every history that slow subscribers are still writing.",
        v->held_bytes);
    one(o, "fcgi_sse_channels_bytes", "gauge",
        "Bytes of the channels themselves (--max-channels bounds them).", v->channel_bytes);
    one(o, "fcgi_sse_replays_total", "counter",
        "Subscriptions that resumed from an id (Last-Event-ID): each replays what followed it.",
        v->replays);
    one(o, "fcgi_sse_resets_total", "counter",
        "`event: reset` written: a resume from an id whose followers the history no longer "
        "held.", v->resets);
}

static void redis(struct out *o, const struct stats_view *v)
{
    if (!v->redis.enabled)
        return;
    one(o, "fcgi_sse_redis_up", "gauge",
        "1 while both Redis connections are up and the functions loaded, else 0.",
        v->redis.connected ? 1 : 0);
    one(o, "fcgi_sse_redis_reconnects_total", "counter",
        "Connections to Redis made after the first.", v->redis.reconnects);
    one(o, "fcgi_sse_redis_resyncs_total", "counter",
        "Holes the read of fcgi-sse:log found (every subscriber looked again).",
        v->redis.resyncs);
    one(o, "fcgi_sse_redis_pending_publishes", "gauge",
        "Publishes sent to Redis and not yet answered.", v->redis.pending_publishes);
    one(o, "fcgi_sse_redis_pending_bytes", "gauge", "Bytes of those publishes' messages.",
        v->redis.pending_bytes);
}

static void programs(struct out *o, const struct stats_view *v)
{
    one(o, "fcgi_sse_programs_running", "gauge",
        "Programs alive now (--run, --openai), those being killed included.", v->runs_running);
    one(o, "fcgi_sse_programs_started_total", "counter", "Programs started.", v->runs_started);
    one(o, "fcgi_sse_programs_failed_total", "counter",
        "Programs that could not be started (their stream ends with exit 127).",
        v->runs_failed);
    one(o, "fcgi_sse_programs_terminated_total", "counter",
        "Programs the responder sent SIGTERM: their client left, --run-timeout, shutdown.",
        v->runs_terminated);
    one(o, "fcgi_sse_programs_killed_total", "counter",
        "Programs SIGKILLed: still there --kill-after seconds after SIGTERM.", v->runs_killed);
}

static void process(struct out *o, const struct procstat *p)
{
    if (p->have_cpu) {
        family(o, "process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds.");
        put(o, "process_cpu_seconds_total %.3f\n", p->cpu_seconds);
    }
    if (p->have_mem) {
        one(o, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
            p->resident_bytes);
        one(o, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
            p->virtual_bytes);
    }
    if (p->have_fds)
        one(o, "process_open_fds", "gauge", "Number of open file descriptors.", p->open_fds);
    if (p->have_max_fds)
        one(o, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
            p->max_fds);
    if (p->have_start) {
        family(o, "process_start_time_seconds", "gauge",
               "Start time of the process since unix epoch in seconds.");
        put(o, "process_start_time_seconds %.2f\n", p->start_time_seconds);
    }
}

int metrics_text(const struct stats_view *v, char *buf, size_t cap)
{
    struct out o = { buf, cap, 0, 0 };
    char version[64];

    if (metrics_escape_label(PACKAGE_VERSION, version, sizeof version) < 0)
        return -1;
    family(&o, "fcgi_sse_build_info", "gauge",
           "The responder's build: always 1, its version in the label.");
    put(&o, "fcgi_sse_build_info{version=\"%s\"} 1\n", version);
    streams(&o, v);
    answers(&o, v);
    channels(&o, v);
    redis(&o, v);
    programs(&o, v);
    process(&o, &v->proc);
    return o.full ? -1 : (int)o.len;
}
