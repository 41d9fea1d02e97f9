/* test_subscription.c -- unit tests of the subscription source: subscribers over socketpairs get
 * what is published on their channels, in id order, each message once; a resume from an id
 * replays what was missed; `event: reset` comes first when the history no longer holds it; a
 * subscriber that hangs up leaves its channels */
/* The parts are the real ones: a channel engine in memory (chan_engine_create, its history
 * bounded at HISTORY messages a channel), history_memory, sub_create, a hub and a loop; each
 * stream is a real libfcgi request over a socketpair (conn.h). The loop turns until what is
 * checked has arrived, at most 10 s (a deadline, not a measure). */
#include "config.h"

#include "sources/subscription.h"
#include "channels/chan.h"
#include "channels/history.h"
#include "core/clock.h"
#include "core/loop.h"
#include "stream/hub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "tap.h"

#define HISTORY 4
#define MAX_EV 16

static struct loop *l;
static struct hub *h;
static struct chan_engine *engine;
static struct history hist;
static struct subs *subs;
static unsigned long delivered;
static int ended;

static const char news[1][CHAN_NAME_MAX + 1] = { "news" };
static const char news_sport[2][CHAN_NAME_MAX + 1] = { "news", "sport" };

static void on_ended(void *arg, struct stream *s)
{
    (void)arg;
    (void)s;
    ended++;
}

/* A subscriber to names[0, n), resuming after *last when given; in the hub. */
static void subscribe(struct conn_peer *peer, const char (*names)[CHAN_NAME_MAX + 1], unsigned n,
                      const struct msgid *last)
{
    struct stream *s = conn_stream(peer, "/events", "channel=news");

    if (sub_start(subs, s, names, n, last, clock_now_ns()) < 0 || hub_add(h, s) < 0)
        abort();
}

/* Publishes data on chan; its id (as text in idbuf when given); *count its subscribers. */
static struct msgid publish(const char *chan, const char *data, char *idbuf, unsigned long *count)
{
    unsigned long n = 0;
    struct msg *m = chan_publish(engine, chan, NULL, data, strlen(data), clock_wall_ms(), &n);

    if (!m)
        abort();
    if (idbuf)
        msgid_format(idbuf, m->id);
    if (count)
        *count = n;
    return m->id;
}

struct wait {
    struct conn_peer *p;
    size_t events;
};

static int has_events(void *arg)
{
    struct wait *w = arg;
    struct conn_event ev[MAX_EV];

    return conn_events(conn_body(w->p), ev, MAX_EV) >= w->events;
}

static int has_head(void *arg)
{
    struct wait *w = arg;
    return conn_body(w->p) != NULL;
}

static int ended_reaches(void *arg)
{
    return ended >= *(int *)arg;
}

/* Turns the loop until cond(arg) or 10 s, reading the peers after each turn. */
static int turn_until(int (*cond)(void *), void *arg, struct conn_peer **peers, size_t n)
{
    long long deadline = clock_now_ns() + 10 * 1000000000LL;
    size_t i;

    for (;;) {
        for (i = 0; i < n; i++)
            conn_read(peers[i]);
        if (cond(arg))
            return 1;
        if (clock_now_ns() > deadline)
            return 0;
        if (loop_once(l, 50, NULL) < 0)
            return 0;
    }
}

/* Waits for n events at p (and a few more turns), then describes them as "type:data ..."
 * into out; returns how many there are. */
static size_t events_of(struct conn_peer *p, size_t n, struct conn_event *ev, char *out,
                        size_t cap)
{
    struct wait w = { p, n };
    struct conn_peer *one[1] = { p };
    size_t k, got, len = 0;

    turn_until(has_events, &w, one, 1);
    /* a few more turns: anything extra (a repeat, a message of another channel) shows up */
    for (k = 0; k < 3; k++) {
        loop_once(l, 0, NULL);
        conn_read(p);
    }
    got = conn_events(conn_body(p), ev, MAX_EV);
    out[0] = '\0';
    for (k = 0; k < got && k < MAX_EV; k++) {
        int m = snprintf(out + len, cap - len, "%s%s:%s", k ? " " : "",
                         ev[k].type[0] ? ev[k].type : "message", ev[k].data);
        if (m < 0 || (size_t)m >= cap - len)
            break;
        len += (size_t)m;
    }
    return got;
}

/* 1 when the events' ids are the given ones (NULL-terminated list), in that order. */
static int ids_are(const struct conn_event *ev, size_t n, const char *const *want)
{
    size_t k;

    for (k = 0; k < n && want[k]; k++)
        if (strcmp(ev[k].id, want[k]) != 0)
            return 0;
    return k == n && !want[k];
}

int main(void)
{
    struct hub_hooks hooks = { on_ended, NULL, NULL };
    struct chan_limits lim = { HISTORY, 3600000ULL, 1u << 20, 0, 0 };
    struct sub_params params;
    struct conn_peer live, resumed, reset, boundary, two;
    struct conn_peer *peers[1];
    struct conn_event ev[MAX_EV];
    char id[8][MSGID_STR_MAX], desc[1024];
    struct msgid m1, m2;
    unsigned long count, count_sport;
    size_t n;
    struct wait w;

    l = loop_create();
    h = l ? hub_create(l, &hooks) : NULL;
    engine = chan_engine_create(&lim, clock_wall_ms(), sub_deliver, NULL);
    if (!ok(l && h && engine, "loop, hub and channel engine created"))
        return done_testing();
    history_memory(&hist, engine);
    memset(&params, 0, sizeof params);
    params.engine = engine;
    params.delivered = &delivered;
    params.history = &hist;
    params.retry_ms = 1000;
    subs = sub_create(&params);
    if (!ok(subs != NULL, "sub_create"))
        return done_testing();

    /* ---- live: every message of its channel, in order, once */
    subscribe(&live, news, 1, NULL);
    w.p = &live;
    peers[0] = &live;
    ok(turn_until(has_head, &w, peers, 1) &&
           strncmp(live.out, "Status: 200 OK\r\nContent-Type: text/event-stream", 47) == 0 &&
           strstr(conn_body(&live), "retry: 1000\n"),
       "a subscriber gets its 200 and the retry line");
    m1 = publish("news", "one", id[1], &count);
    ok(count == 1, "publish on news: 1 subscriber (%lu)", count);
    publish("sport", "other", NULL, &count_sport);
    ok(count_sport == 0, "publish on sport: none (%lu)", count_sport);
    m2 = publish("news", "two", id[2], NULL);
    publish("news", "three", id[3], NULL);
    n = events_of(&live, 3, ev, desc, sizeof desc);
    ok(n == 3 && strcmp(desc, "message:one message:two message:three") == 0,
       "live: one, two, three, nothing of sport (%s)", desc);
    {
        const char *const want[] = { id[1], id[2], id[3], NULL };
        ok(ids_are(ev, n, want) && msgid_cmp(m1, m2) < 0, "live: each with its id, ids increasing");
    }
    ok(delivered == 3, "3 events counted as delivered (%lu)", delivered);

    /* ---- a resume after one: the missed ones replayed, then live */
    subscribe(&resumed, news, 1, &m1);
    n = events_of(&resumed, 2, ev, desc, sizeof desc);
    ok(n == 2 && strcmp(desc, "message:two message:three") == 0,
       "resume after one: two, three replayed from the history, no reset (%s)", desc);
    publish("news", "four", id[4], NULL);
    n = events_of(&resumed, 3, ev, desc, sizeof desc);
    {
        const char *const want[] = { id[2], id[3], id[4], NULL };
        ok(n == 3 && strcmp(desc, "message:two message:three message:four") == 0 &&
               ids_are(ev, n, want),
           "... then four live, each once, with its id (%s)", desc);
    }
    n = events_of(&live, 4, ev, desc, sizeof desc);
    ok(n == 4 && strcmp(desc, "message:one message:two message:three message:four") == 0,
       "the live subscriber got four too (%s)", desc);

    /* ---- the history no longer holds what was missed: a reset first */
    publish("news", "five", id[5], NULL);
    publish("news", "six", id[6], NULL); /* the history keeps three .. six: one, two dropped */
    subscribe(&reset, news, 1, &m1);
    n = events_of(&reset, 5, ev, desc, sizeof desc);
    ok(n == 5 && strcmp(ev[0].type, "reset") == 0 && strcmp(ev[0].data, id[3]) == 0,
       "resume after one once two was dropped: event: reset first, naming three's id "
       "(%s, data %s, want %s)", ev[0].type, ev[0].data, id[3]);
    {
        char want[512];
        snprintf(want, sizeof want, "reset:%s message:three message:four message:five message:six",
                 id[3]);
        ok(strcmp(desc, want) == 0,
           "... then everything the history holds: three, four, five, six (%s)", desc);
    }
    subscribe(&boundary, news, 1, &m2);
    n = events_of(&boundary, 4, ev, desc, sizeof desc);
    ok(n == 4 && strcmp(desc, "message:three message:four message:five message:six") == 0,
       "resume after two, the newest dropped: nothing missed, no reset (%s)", desc);

    /* ---- two channels: one stream, in id order */
    subscribe(&two, news_sport, 2, NULL);
    w.p = &two;
    peers[0] = &two;
    turn_until(has_head, &w, peers, 1);
    publish("sport", "s1", NULL, &count_sport);
    publish("news", "n7", NULL, NULL);
    publish("sport", "s2", NULL, NULL);
    n = events_of(&two, 3, ev, desc, sizeof desc);
    ok(n == 3 && strcmp(desc, "message:s1 message:n7 message:s2") == 0 && count_sport == 1,
       "news and sport in one stream: s1, n7, s2 in publication order (%s)", desc);

    /* ---- a hang-up: the stream ends, its subscription goes */
    {
        unsigned long before = chan_subscribers(engine, "news");
        int ended_before = ended, target = ended + 1;
        struct conn_peer *none[1] = { NULL };

        conn_hang_up(&live);
        turn_until(ended_reaches, &target, none, 0);
        ok(ended == ended_before + 1 && chan_subscribers(engine, "news") == before - 1,
           "a subscriber that hangs up: its stream ends once, news has %lu subscribers, not %lu",
           chan_subscribers(engine, "news"), before);
    }

    hub_destroy(h);
    ok(chan_subscribers(engine, "news") == 0 && chan_subscribers(engine, "sport") == 0,
       "the hub destroyed: no subscriber left on any channel");
    sub_destroy(subs);
    chan_engine_destroy(engine);
    loop_destroy(l);
    conn_hang_up(&resumed);
    conn_hang_up(&reset);
    conn_hang_up(&boundary);
    conn_hang_up(&two);
    return done_testing();
}
