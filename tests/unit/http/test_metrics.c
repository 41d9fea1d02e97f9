/* test_metrics.c -- unit tests of metrics (the Prometheus text format 0.0.4 of the
 * figures), procstat (/proc/self read and parsed), the counts by status and the .../metrics and
 * .../status?stream=1 requests. The text is checked against the format's rules by a small
 * reader here (families whole, HELP then TYPE, sample syntax, label escaping, _total on
 * counters only); promtool checks the real output in tests/integration/ops/test_metrics.py.
 * Limits: procstat_read reads this test's own process, so its figures are checked to be
 * sane, not exact. */
#include "config.h"

#include "core/procstat.h"
#include "http/answer.h"
#include "http/metrics.h"
#include "http/req.h"
#include "http/resp.h"
#include "http/stats.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"

/* ---------------------------------------------------------------- a reader of the format */

#define MAX_FAMILIES 80

struct family {
    char name[96];
    char type[16];
    int samples;
};

struct parsed {
    struct family fam[MAX_FAMILIES];
    int n;
    char why[256];            /* the first rule broken, or "" */
};

static int name_ok(const char *s, size_t n)
{
    size_t i;

    if (!n || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':'))
        return 0;
    for (i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':'))
            return 0;
    return 1;
}

static int bad(struct parsed *p, int line, const char *what)
{
    if (!p->why[0])
        snprintf(p->why, sizeof p->why, "line %d: %s", line, what);
    return -1;
}

/* Reads {k="v",...} at *s: names valid, values with only \\ \" \n escapes. */
static int labels(struct parsed *p, int line, const char **s)
{
    const char *q = *s + 1;

    for (;;) {
        const char *k = q;
        while (isalnum((unsigned char)*q) || *q == '_')
            q++;
        if (!name_ok(k, (size_t)(q - k)) || q[0] != '=' || q[1] != '"')
            return bad(p, line, "a label is not name=\"value\"");
        q += 2;
        while (*q && *q != '"') {
            if (*q == '\n')
                return bad(p, line, "a raw line feed in a label value");
            if (*q == '\\') {
                if (q[1] != '\\' && q[1] != '"' && q[1] != 'n')
                    return bad(p, line, "an escape other than \\\\ \\\" \\n in a label value");
                q++;
            }
            q++;
        }
        if (*q != '"')
            return bad(p, line, "a label value without its closing quote");
        q++;
        if (*q == '}') {
            *s = q + 1;
            return 0;
        }
        if (*q != ',')
            return bad(p, line, "labels not separated by commas");
        q++;
    }
}

/* Checks text against the rules this module keeps; fills p. 0, or -1 with p->why. */
static int read_text(const char *text, struct parsed *p)
{
    const char *s = text;
    int line = 0;
    struct family *cur = NULL;

    memset(p, 0, sizeof *p);
    if (!*text || text[strlen(text) - 1] != '\n')
        return bad(p, 0, "the text does not end with a line feed");
    while (*s) {
        const char *eol = strchr(s, '\n');
        char buf[1024];
        size_t n = (size_t)(eol - s);
        line++;
        if (n >= sizeof buf)
            return bad(p, line, "a line too long for this reader");
        memcpy(buf, s, n);
        buf[n] = '\0';
        s = eol + 1;
        if (!strncmp(buf, "# HELP ", 7)) {
            char *nm = buf + 7, *sp = strchr(nm, ' ');
            int i;
            if (!sp || !name_ok(nm, (size_t)(sp - nm)) || !sp[1])
                return bad(p, line, "HELP without a name and a text");
            *sp = '\0';
            for (i = 0; i < p->n; i++)
                if (!strcmp(p->fam[i].name, nm))
                    return bad(p, line, "a family given twice (its samples must be together)");
            if (cur && !cur->samples)
                return bad(p, line, "a family without a sample");
            if (p->n == MAX_FAMILIES || strlen(nm) >= sizeof cur->name)
                return bad(p, line, "too many families for this reader");
            cur = &p->fam[p->n++];
            strcpy(cur->name, nm);
            for (sp += 1; *sp; sp++)
                if (*sp == '\\' && sp[1] != '\\' && sp[1] != 'n')
                    return bad(p, line, "an escape other than \\\\ \\n in HELP");
                else if (*sp == '\\')
                    sp++;
        } else if (!strncmp(buf, "# TYPE ", 7)) {
            char *nm = buf + 7, *sp = strchr(nm, ' ');
            if (!sp || !cur)
                return bad(p, line, "TYPE without HELP before it");
            *sp = '\0';
            if (strcmp(nm, cur->name) || cur->type[0] || cur->samples)
                return bad(p, line, "TYPE is not right after its family's HELP");
            if (strcmp(sp + 1, "counter") && strcmp(sp + 1, "gauge"))
                return bad(p, line, "a type other than counter or gauge");
            strcpy(cur->type, sp + 1);
        } else if (buf[0] == '#' || !buf[0]) {
            return bad(p, line, "a comment or blank line of another kind");
        } else {
            const char *q = buf, *v;
            char *end;
            size_t nl;
            while (*q && *q != '{' && *q != ' ')
                q++;
            nl = (size_t)(q - buf);
            if (!cur || !cur->type[0] || nl != strlen(cur->name) || strncmp(buf, cur->name, nl))
                return bad(p, line, "a sample outside its family (after its HELP and TYPE)");
            if (*q == '{' && labels(p, line, &q) < 0)
                return -1;
            if (*q != ' ')
                return bad(p, line, "no space before the value");
            v = q + 1;
            (void)strtod(v, &end);
            if (end == v || *end)
                return bad(p, line, "the value is not a number (or a timestamp follows)");
            cur->samples++;
        }
    }
    if (cur && !cur->samples)
        return bad(p, line, "the last family has no sample");
    return 0;
}

static const struct family *find(const struct parsed *p, const char *name)
{
    int i;

    for (i = 0; i < p->n; i++)
        if (!strcmp(p->fam[i].name, name))
            return &p->fam[i];
    return NULL;
}

/* The line of text that starts with `start ` (a sample), or NULL. */
static const char *sample(const char *text, const char *start)
{
    size_t n = strlen(start);
    const char *s = text;

    while (s && *s) {
        if (!strncmp(s, start, n) && s[n] == ' ')
            return s + n + 1;
        s = strchr(s, '\n');
        if (s)
            s++;
    }
    return NULL;
}

static int sample_is(const char *text, const char *start, const char *value)
{
    const char *v = sample(text, start);
    size_t n = strlen(value);

    return v && !strncmp(v, value, n) && v[n] == '\n';
}

/* ---------------------------------------------------------------- fixtures */

static void fill(struct stats_view *v)
{
    int i;

    memset(v, 0, sizeof *v);
    for (i = 0; i < STATS_KINDS; i++) {
        v->open_kind[i] = 10 + (unsigned long)i;
        v->total_kind[i] = 100 + (unsigned long)i;
    }
    for (i = 0; i < STATS_CODES; i++)
        v->answers[i] = 1000 + (unsigned long)i;
    for (i = 0; i < STATS_IN_REASONS; i++)
        v->intake_refused[i] = 2000 + (unsigned long)i;
    v->max_streams = 5000;
    v->streams_dropped_slow = 7;
    v->events_sent = 31;
    v->events_delivered = 32;
    v->run_events = 33;
    v->mercure_delivered = 34;
    v->status_events = 35;
    v->bytes_written = 123456789012ULL;
    v->streams_refused = 41;
    v->runs_refused = 42;
    v->channels_refused = 43;
    v->channels = 51;
    v->messages_published = 52;
    v->mercure_published = 59;
    v->history_messages = 53;
    v->history_bytes = 54;
    v->held_bytes = 55;
    v->channel_bytes = 56;
    v->replays = 57;
    v->resets = 58;
    v->runs_running = 61;
    v->runs_started = 62;
    v->runs_failed = 63;
    v->runs_terminated = 64;
    v->runs_killed = 65;
}

static void test_text(void)
{
    static const char *const counters[] = {
        "fcgi_sse_streams_total", "fcgi_sse_streams_dropped_slow_total",
        "fcgi_sse_events_written_total", "fcgi_sse_written_bytes_total",
        "fcgi_sse_responses_total", "fcgi_sse_refused_total",
        "fcgi_sse_messages_published_total", "fcgi_sse_mercure_updates_published_total",
        "fcgi_sse_replays_total", "fcgi_sse_resets_total",
        "fcgi_sse_programs_started_total", "fcgi_sse_programs_failed_total",
        "fcgi_sse_programs_terminated_total", "fcgi_sse_programs_killed_total",
        "process_cpu_seconds_total" };
    static const char *const gauges[] = {
        "fcgi_sse_build_info", "fcgi_sse_streams_open", "fcgi_sse_streams_max",
        "fcgi_sse_channels", "fcgi_sse_history_messages", "fcgi_sse_history_bytes",
        "fcgi_sse_history_held_bytes", "fcgi_sse_channels_bytes", "fcgi_sse_programs_running",
        "process_resident_memory_bytes", "process_virtual_memory_bytes", "process_open_fds",
        "process_max_fds", "process_start_time_seconds" };
    static const char *const expect[][2] = {
        { "fcgi_sse_streams_open{kind=\"counter\"}", "10" },
        { "fcgi_sse_streams_open{kind=\"channel\"}", "11" },
        { "fcgi_sse_streams_open{kind=\"program\"}", "12" },
        { "fcgi_sse_streams_open{kind=\"mercure\"}", "13" },
        { "fcgi_sse_streams_open{kind=\"status\"}", "14" },
        { "fcgi_sse_streams_total{kind=\"channel\"}", "101" },
        { "fcgi_sse_streams_total{kind=\"mercure\"}", "103" },
        { "fcgi_sse_streams_max", "5000" },
        { "fcgi_sse_streams_dropped_slow_total", "7" },
        { "fcgi_sse_events_written_total{kind=\"counter\"}", "31" },
        { "fcgi_sse_events_written_total{kind=\"channel\"}", "32" },
        { "fcgi_sse_events_written_total{kind=\"program\"}", "33" },
        { "fcgi_sse_events_written_total{kind=\"mercure\"}", "34" },
        { "fcgi_sse_events_written_total{kind=\"status\"}", "35" },
        { "fcgi_sse_written_bytes_total", "123456789012" },
        { "fcgi_sse_responses_total{code=\"200\"}", "1000" },
        { "fcgi_sse_responses_total{code=\"403\"}", "1004" },
        { "fcgi_sse_responses_total{code=\"413\"}", "1007" },
        { "fcgi_sse_responses_total{code=\"429\"}", "1009" },
        { "fcgi_sse_responses_total{code=\"503\"}", "1011" },
        { "fcgi_sse_refused_total{reason=\"peer\"}", "2000" },
        { "fcgi_sse_refused_total{reason=\"malformed\"}", "2001" },
        { "fcgi_sse_refused_total{reason=\"too_large\"}", "2002" },
        { "fcgi_sse_refused_total{reason=\"intake_memory\"}", "2003" },
        { "fcgi_sse_refused_total{reason=\"timeout\"}", "2004" },
        { "fcgi_sse_refused_total{reason=\"fd_limit\"}", "2005" },
        { "fcgi_sse_refused_total{reason=\"max_streams\"}", "41" },
        { "fcgi_sse_refused_total{reason=\"max_runs\"}", "42" },
        { "fcgi_sse_refused_total{reason=\"max_channels\"}", "43" },
        { "fcgi_sse_channels", "51" },
        { "fcgi_sse_messages_published_total", "52" },
        { "fcgi_sse_mercure_updates_published_total", "59" },
        { "fcgi_sse_history_messages", "53" },
        { "fcgi_sse_history_bytes", "54" },
        { "fcgi_sse_history_held_bytes", "55" },
        { "fcgi_sse_channels_bytes", "56" },
        { "fcgi_sse_replays_total", "57" },
        { "fcgi_sse_resets_total", "58" },
        { "fcgi_sse_programs_running", "61" },
        { "fcgi_sse_programs_started_total", "62" },
        { "fcgi_sse_programs_failed_total", "63" },
        { "fcgi_sse_programs_terminated_total", "64" },
        { "fcgi_sse_programs_killed_total", "65" },
        { "fcgi_sse_build_info{version=\"" PACKAGE_VERSION "\"}", "1" },
        { "process_cpu_seconds_total", "12.340" },
        { "process_resident_memory_bytes", "4096000" },
        { "process_virtual_memory_bytes", "81920000" },
        { "process_open_fds", "17" },
        { "process_max_fds", "1024" },
        { "process_start_time_seconds", "1700000000.50" },
    };
    static char text[METRICS_TEXT_MAX], big[METRICS_TEXT_MAX];
    struct stats_view v;
    struct parsed p;
    size_t i, cap;
    int n, m, all;

    fill(&v);
    v.proc.have_cpu = v.proc.have_mem = v.proc.have_fds = v.proc.have_max_fds = 1;
    v.proc.have_start = 1;
    v.proc.cpu_seconds = 12.34;
    v.proc.resident_bytes = 4096000;
    v.proc.virtual_bytes = 81920000;
    v.proc.open_fds = 17;
    v.proc.max_fds = 1024;
    v.proc.start_time_seconds = 1700000000.5;
    n = metrics_text(&v, text, sizeof text);
    ok(n > 0 && (size_t)n == strlen(text), "metrics_text: a text, its length returned (%d)", n);
    ok(n > 0 && read_text(text, &p) == 0, "the text keeps the format's rules: each family once, "
       "HELP then TYPE then its samples, names and labels valid, numbers (%s)", p.why);
    all = 1;
    for (i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        const struct family *f = find(&p, counters[i]);
        if (!f || strcmp(f->type, "counter"))
            all = 0, diag("counter %s: %s", counters[i], f ? f->type : "missing");
    }
    ok(all, "the %zu counters are there, typed counter", sizeof counters / sizeof counters[0]);
    all = 1;
    for (i = 0; i < sizeof gauges / sizeof gauges[0]; i++) {
        const struct family *f = find(&p, gauges[i]);
        if (!f || strcmp(f->type, "gauge"))
            all = 0, diag("gauge %s: %s", gauges[i], f ? f->type : "missing");
    }
    ok(all, "the %zu gauges are there, typed gauge", sizeof gauges / sizeof gauges[0]);
    ok(p.n == (int)(sizeof counters / sizeof counters[0] + sizeof gauges / sizeof gauges[0]),
       "no family but those (%d)", p.n);
    all = 1;
    for (i = 0; i < (size_t)p.n; i++) {
        size_t l = strlen(p.fam[i].name);
        int total = l > 6 && !strcmp(p.fam[i].name + l - 6, "_total");
        if (total != !strcmp(p.fam[i].type, "counter"))
            all = 0, diag("%s is a %s", p.fam[i].name, p.fam[i].type);
    }
    ok(all, "every counter's name ends in _total, no gauge's does");
    all = 1;
    for (i = 0; i < sizeof expect / sizeof expect[0]; i++)
        if (!sample_is(text, expect[i][0], expect[i][1]))
            all = 0, diag("want %s %s, got %.40s", expect[i][0], expect[i][1],
                          sample(text, expect[i][0]) ? sample(text, expect[i][0]) : "nothing");
    ok(all, "each of %zu samples renders its figure", sizeof expect / sizeof expect[0]);
    ok(find(&p, "fcgi_sse_streams_open")->samples == STATS_KINDS &&
           find(&p, "fcgi_sse_responses_total")->samples == STATS_CODES &&
           find(&p, "fcgi_sse_refused_total")->samples == STATS_IN_REASONS + 3,
       "label sets are fixed: %d kinds, %d codes, %d reasons, whatever the figures",
       STATS_KINDS, STATS_CODES, STATS_IN_REASONS + 3);
    ok(!strstr(text, "fcgi_sse_redis_"), "without --redis: no fcgi_sse_redis_* family");
    ok(strstr(text, "\n# HELP fcgi_sse_resets_total `event: reset` written") != NULL,
       "HELP text is one line, as written");

    /* without what /proc gave: those families are left out, the rest stands */
    memset(&v.proc, 0, sizeof v.proc);
    n = metrics_text(&v, text, sizeof text);
    ok(n > 0 && read_text(text, &p) == 0 && !strstr(text, "process_"),
       "no process figures read: no process_* family, the text still keeps the rules (%s)",
       p.why);

    /* Redis */
    v.redis.enabled = 1;
    v.redis.connected = 1;
    v.redis.reconnects = 71;
    v.redis.resyncs = 72;
    v.redis.pending_publishes = 73;
    v.redis.pending_bytes = 74;
    n = metrics_text(&v, text, sizeof text);
    ok(n > 0 && read_text(text, &p) == 0 && sample_is(text, "fcgi_sse_redis_up", "1") &&
           sample_is(text, "fcgi_sse_redis_reconnects_total", "71") &&
           sample_is(text, "fcgi_sse_redis_resyncs_total", "72") &&
           sample_is(text, "fcgi_sse_redis_pending_publishes", "73") &&
           sample_is(text, "fcgi_sse_redis_pending_bytes", "74") &&
           !strcmp(find(&p, "fcgi_sse_redis_up")->type, "gauge") &&
           !strcmp(find(&p, "fcgi_sse_redis_reconnects_total")->type, "counter"),
       "with --redis: up, reconnects, resyncs, pending publishes and bytes (%s)", p.why);
    v.redis.connected = 0;
    n = metrics_text(&v, text, sizeof text);
    ok(n > 0 && sample_is(text, "fcgi_sse_redis_up", "0"), "Redis down: fcgi_sse_redis_up 0");

    /* the largest: every figure at its maximum fits METRICS_TEXT_MAX */
    memset(&v, 0xff, sizeof v);
    v.proc.cpu_seconds = 1e15;
    v.proc.start_time_seconds = 4102444800.99;
    m = metrics_text(&v, big, sizeof big);
    ok(m > 0 && m < METRICS_TEXT_MAX && read_text(big, &p) == 0,
       "every figure at its largest, Redis and /proc on: %d bytes, within METRICS_TEXT_MAX "
       "(%d), the rules kept (%s)", m, METRICS_TEXT_MAX, p.why);
    ok(m > 0 && sample_is(big, "fcgi_sse_written_bytes_total", "18446744073709551615") &&
           sample_is(big, "fcgi_sse_redis_up", "1"),
       "the largest values render in full");
    all = 1;
    for (cap = 0; m > 0 && cap < (size_t)m; cap += cap < 64 ? 1 : 61) {
        memset(text, 'Z', sizeof text);
        if (metrics_text(&v, text, cap) != -1)
            all = 0;
        for (i = cap; i < sizeof text; i++)
            if (text[i] != 'Z')
                all = 0;
    }
    ok(all, "caps below the length return -1 and write nothing past cap");
    ok(m > 0 && metrics_text(&v, text, (size_t)m + 1) == m, "a cap of length + 1 fits");
}

static void test_escape(void)
{
    char out[64];
    int n;

    n = metrics_escape_label("a\\b\"c\nd", out, sizeof out);
    ok(n == 10 && !strcmp(out, "a\\\\b\\\"c\\nd"),
       "label value: backslash, double quote, line feed escaped (got %s)", out);
    n = metrics_escape_help("a\\b\"c\nd", out, sizeof out);
    ok(n == 9 && !strcmp(out, "a\\\\b\"c\\nd"),
       "HELP: backslash and line feed escaped, the quote as is (got %s)", out);
    n = metrics_escape_label("1.2.3~rc1 ü", out, sizeof out);
    ok(n == (int)strlen("1.2.3~rc1 ü") && !strcmp(out, "1.2.3~rc1 ü"),
       "UTF-8 and other bytes pass unchanged");
    memset(out, 'Z', sizeof out);
    ok(metrics_escape_label("ab\"", out, 4) == -1 && out[4] == 'Z',
       "too small for the escaped value: -1, nothing past cap");
    ok(metrics_escape_label("ab\"", out, 5) == 4 && !strcmp(out, "ab\\\""),
       "exactly the room for it and its NUL: fits");
}

static void test_codes(void)
{
    int st, all = 1, i;

    for (st = 100; st < 600; st++)
        if (strcmp(resp_reason_phrase(st), "Error") && stats_code_slot(st) < 0)
            all = 0, diag("status %d has a phrase but no slot", st);
    ok(all, "every status resp.c can answer is counted (stats_codes)");
    all = 1;
    for (i = 0; i < STATS_CODES; i++)
        if (stats_code_slot(stats_codes[i]) != i || !strcmp(resp_reason_phrase(stats_codes[i]),
                                                            "Error"))
            all = 0;
    ok(all && stats_code_slot(418) == -1, "each slot's status is one resp.c answers; others "
       "have none");
    {
        struct stats st0;
        memset(&st0, 0, sizeof st0);
        stats_answered(&st0, 403);
        stats_answered(&st0, 403);
        stats_answered(&st0, 418);
        stats_answered(NULL, 403);
        ok(st0.answers[stats_code_slot(403)] == 2, "stats_answered counts by status; an "
           "unknown one and a NULL stats count nowhere");
    }
}

/* ---------------------------------------------------------------- answers through a sink */

struct bigsink {
    char buf[METRICS_TEXT_MAX + 1024];
    size_t len;
};

static int big_write(void *ctx, const char *b, size_t n)
{
    struct bigsink *s = ctx;

    if (s->len + n >= sizeof s->buf)
        return -1;
    memcpy(s->buf + s->len, b, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return 0;
}

static int big_flush(void *ctx)
{
    (void)ctx;
    return 0;
}

static const char *params_get(const char *name, void *ctx)
{
    const char *const *kv = ctx;

    for (; *kv; kv += 2)
        if (!strcmp(kv[0], name))
            return kv[1];
    return NULL;
}

static void test_answers(void)
{
    static struct bigsink s;
    struct stats st;
    struct resp_sink o = { big_write, big_flush, &s, NULL, &st };
    struct stats_view v;
    struct req r;
    const char *body;

    memset(&st, 0, sizeof st);
    fill(&v);
    memset(&r, 0, sizeof r);
    r.status = 200;
    r.route = REQ_METRICS;
    ok(answer_route(&r, &o, &v, 3000) == 0 &&
           !strncmp(s.buf, "Status: 200 OK\r\n"
                           "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n", 72) &&
           (body = strstr(s.buf, "\r\n\r\n")) && !strncmp(body + 4, "# HELP fcgi_sse_", 16),
       "GET .../metrics: 200, text/plain; version=0.0.4; charset=utf-8, the text");
    ok(st.answers[stats_code_slot(200)] == 1, "... counted as one 200 (through the sink)");
    s.len = 0;
    r.head = 1;
    ok(answer_route(&r, &o, &v, 3000) == 0 && (body = strstr(s.buf, "\r\n\r\n")) && !body[4] &&
           strstr(s.buf, "Content-Length: ") && !strstr(s.buf, "Content-Length: 0\r\n"),
       "HEAD .../metrics: the header block only, with the text's length");
    s.len = 0;
    memset(&r, 0, sizeof r);
    r.status = 200;
    r.route = REQ_STATUS;
    r.status_stream = 1;
    ok(answer_route(&r, &o, &v, 3000) == 1 && s.len == 0,
       "GET .../status?stream=1: not answered here, the caller opens the stream");
    r.head = 1;
    ok(answer_route(&r, &o, &v, 3000) == 0 &&
           strstr(s.buf, "Content-Type: text/event-stream; charset=utf-8\r\n"),
       "HEAD .../status?stream=1: the stream's header block");
    s.len = 0;
    ok(resp_error(&o, 403, "no", 0, 0) == 0 && resp_error(&o, 413, "no", 0, 0) == 0 &&
           resp_error(&o, 503, "no", 1, 0) == 0 &&
           resp_send(&o, 503, "text/plain", "", "x", 1, 0) == 0 &&
           resp_json_status(&o, 429, "{}", 2, 1) == 0,
       "errors written through the sink");
    ok(st.answers[stats_code_slot(403)] == 1 && st.answers[stats_code_slot(413)] == 1 &&
           st.answers[stats_code_slot(503)] == 2 && st.answers[stats_code_slot(429)] == 1,
       "each counted by its status (403, 413, 503 twice, 429)");

    {
        const char *p1[] = { "REQUEST_METHOD", "GET", "SCRIPT_NAME", "/app/metrics", NULL };
        const char *p2[] = { "REQUEST_METHOD", "POST", "SCRIPT_NAME", "/metrics", NULL };
        const char *p3[] = { "REQUEST_METHOD", "GET", "SCRIPT_NAME", "/status",
                             "QUERY_STRING", "x=1&stream=1", NULL };
        const char *p4[] = { "REQUEST_METHOD", "GET", "SCRIPT_NAME", "/status",
                             "QUERY_STRING", "stream=yes", NULL };
        const char *p5[] = { "REQUEST_METHOD", "GET", "SCRIPT_NAME", "/status",
                             "QUERY_STRING", "stream=1&stream=0", NULL };
        const char *p6[] = { "REQUEST_METHOD", "HEAD", "REQUEST_URI", "/a/status?stream=0",
                             NULL };
        req_parse(&r, params_get, (void *)p1);
        ok(r.status == 200 && r.route == REQ_METRICS && !r.head,
           "req: GET /app/metrics is .../metrics, under any prefix");
        req_parse(&r, params_get, (void *)p2);
        ok(r.status == 405 && r.allow && !strcmp(r.allow, "GET, HEAD"),
           "req: POST .../metrics is 405, Allow: GET, HEAD");
        req_parse(&r, params_get, (void *)p3);
        ok(r.status == 200 && r.route == REQ_STATUS && r.status_stream == 1,
           "req: .../status?x=1&stream=1 asks for the stream (others ignored)");
        req_parse(&r, params_get, (void *)p4);
        ok(r.status == 400 && !strcmp(r.error, "stream must be 0 or 1"),
           "req: stream=yes is a 400 that says why");
        req_parse(&r, params_get, (void *)p5);
        ok(r.status == 400 && !strcmp(r.error, "stream given more than once"),
           "req: stream given twice is a 400");
        req_parse(&r, params_get, (void *)p6);
        ok(r.status == 200 && r.route == REQ_STATUS && r.head && !r.status_stream,
           "req: HEAD .../status?stream=0 (from REQUEST_URI) is the JSON's");
    }
}

/* ---------------------------------------------------------------- procstat */

static void test_procstat(void)
{
    /* a command with spaces and parentheses: the fields start after the last ')' */
    static const char line[] =
        "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 "
        "1000 81920000 1000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
    struct procstat p;
    time_t now = time(NULL);

    memset(&p, 0, sizeof p);
    ok(procstat_parse(&p, line, 100, 4096, 1700000000ULL) == 0 && p.have_cpu && p.have_mem &&
           p.have_start,
       "procstat_parse: a /proc/PID/stat line whose command holds spaces and parentheses");
    ok(p.cpu_seconds > 2.999 && p.cpu_seconds < 3.001, "utime 250 + stime 50 ticks at 100 Hz: "
       "3 s (got %f)", p.cpu_seconds);
    ok(p.resident_bytes == 1000ULL * 4096 && p.virtual_bytes == 81920000ULL,
       "rss 1000 pages of 4096 bytes, vsize as is");
    ok(p.start_time_seconds > 1700000009.999 && p.start_time_seconds < 1700000010.001,
       "start: boot time + 1000 ticks = boot + 10 s (got %f)", p.start_time_seconds);
    memset(&p, 0, sizeof p);
    ok(procstat_parse(&p, line, 100, 4096, 0) == 0 && !p.have_start,
       "no boot time: no start time");
    ok(procstat_parse(&p, "4242 (x) S 1 2 3", 100, 4096, 1) == -1 &&
           procstat_parse(&p, "no parenthesis", 100, 4096, 1) == -1 &&
           procstat_parse(&p, line, 0, 4096, 1) == -1,
       "a short line, one without the command, a clock of 0 Hz: -1");

    procstat_read(&p);
    ok(p.have_cpu && p.have_mem && p.have_fds && p.have_max_fds && p.have_start,
       "procstat_read: every figure of this process read");
    ok(p.resident_bytes > 0 && p.virtual_bytes >= p.resident_bytes && p.open_fds >= 3 &&
           p.max_fds >= p.open_fds,
       "sane: resident > 0, virtual >= resident, at least stdin/out/err open, max >= open "
       "(rss %llu, vsize %llu, fds %lu of %llu)", p.resident_bytes, p.virtual_bytes,
       p.open_fds, p.max_fds);
    ok(p.start_time_seconds <= (double)now + 1 && p.start_time_seconds > (double)now - 3600,
       "started within the last hour, not in the future (%.2f, now %lld)", p.start_time_seconds,
       (long long)now);
}

int main(void)
{
    test_text();
    test_escape();
    test_codes();
    test_answers();
    test_procstat();
    return done_testing();
}
