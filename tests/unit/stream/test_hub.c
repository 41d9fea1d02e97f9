/* test_hub.c -- unit tests of hub: streams driven by their source from the loop (due when the
 * timer is, writable when the connection drains), ended when the source is done, dropped on a
 * hang-up, an abort, a slow reader or hub_update from outside; the ended hook fires once per
 * stream and every stream is released once */
/* Each stream is a real libfcgi request over a socketpair (conn.h); its source is a probe
 * defined here that counts its calls. The loop turns until a condition holds, at most 10 s
 * (a deadline, not a measure: nothing here is judged by how long it took). */
#include "config.h"

#include "stream/hub.h"
#include "core/clock.h"
#include "core/loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "tap.h"

/* ---- the probe source */
struct probe {
    int due, writable, released;
    int ticks;               /* due calls before STREAM_DONE */
    int ask_writable_at;     /* the due call that sets want_out (0: none) */
    enum stream_status answer; /* what due returns after writing (STREAM_OPEN: go on) */
};

static enum stream_status probe_due(struct stream *s, long long now)
{
    struct probe *p = s->src_state;
    char buf[64];
    int n;
    enum stream_status st;

    p->due++;
    n = snprintf(buf, sizeof buf, "data: tick %d\n\n", p->due);
    st = stream_send(s, buf, (size_t)n, now);
    if (st != STREAM_OPEN)
        return st;
    if (p->answer != STREAM_OPEN)
        return p->answer;
    if (p->due == p->ask_writable_at)
        s->want_out = 1;
    if (p->due == p->ticks)
        return STREAM_DONE;
    s->timer.node.due = now + 1; /* due again at once: in the next turn */
    return STREAM_OPEN;
}

static enum stream_status probe_writable(struct stream *s, long long now)
{
    struct probe *p = s->src_state;

    p->writable++;
    s->want_out = 0;
    return stream_send(s, "data: drained\n\n", 15, now);
}

static void probe_release(struct stream *s)
{
    struct probe *p = s->src_state;

    p->released++;
    s->src_state = NULL;
}

static const struct source probe_source = { "probe", probe_due, probe_writable, probe_release };

/* ---- the hub's owner */
static int ended;
static unsigned long dropped_slow;

static void on_ended(void *arg, struct stream *s)
{
    (void)arg;
    (void)s;
    ended++;
}

static struct loop *l;
static struct hub *h;

/* A stream with the probe p as its source, first due at once when due_now; added to the hub. */
static struct stream *start(struct conn_peer *peer, struct probe *p, int due_now)
{
    struct stream *s = conn_stream(peer, "/stream", "");

    s->src = &probe_source;
    s->src_state = p;
    s->timer.node.due = due_now ? clock_now_ns() : 0;
    if (hub_add(h, s) < 0)
        abort();
    return s;
}

/* Turns the loop until cond() or 10 s; reads every peer after each turn. */
static int turn_until(int (*cond)(void *), void *arg, struct conn_peer *peers, size_t n)
{
    long long deadline = clock_now_ns() + 10 * 1000000000LL;
    size_t i;

    for (;;) {
        for (i = 0; i < n; i++)
            conn_read(&peers[i]);
        if (cond(arg))
            return 1;
        if (clock_now_ns() > deadline)
            return 0;
        if (loop_once(l, 50, NULL) < 0)
            return 0;
    }
}

static int released(void *arg)
{
    return ((struct probe *)arg)->released > 0;
}

static int peer_done(void *arg)
{
    const struct conn_peer *p = arg;
    return p->ended && p->eof;
}

static void test_done(void)
{
    struct conn_peer peer;
    struct probe p = { 0, 0, 0, 3, 1, STREAM_OPEN };
    int ended_before = ended;

    start(&peer, &p, 1);
    ok(turn_until(released, &p, &peer, 1), "a source done after 3 ticks: its stream ends");
    ok(p.due == 3 && p.released == 1, "due called 3 times, release once (due %d, released %d)",
       p.due, p.released);
    ok(p.writable == 1, "writable called once, after the source asked for it (%d)", p.writable);
    ok(ended == ended_before + 1, "the ended hook fired once (%d)", ended - ended_before);
    turn_until(peer_done, &peer, &peer, 1);
    ok(strcmp(peer.out, "data: tick 1\n\ndata: drained\n\ndata: tick 2\n\ndata: tick 3\n\n") == 0,
       "the web server got tick 1, drained, tick 2, tick 3 in that order (got %s)",
       conn_shown(peer.out));
    ok(peer.ended && peer.proto_status == FCGI_REQUEST_COMPLETE && peer.eof,
       "STREAM_DONE ends the request cleanly (END_REQUEST, then the connection closed)");
    conn_hang_up(&peer);
}

static void test_hang_up(void)
{
    struct conn_peer peer;
    struct probe p = { 0, 0, 0, 1000, 0, STREAM_OPEN };
    int ended_before = ended;

    start(&peer, &p, 0); /* no timer: only the connection can end it */
    loop_once(l, 0, NULL);
    ok(p.released == 0 && ended == ended_before, "an idle stream stays");
    conn_hang_up(&peer);
    ok(turn_until(released, &p, &peer, 0), "the peer hangs up: the stream ends");
    ok(p.released == 1 && p.due == 0 && ended == ended_before + 1,
       "released once, never due, the ended hook fired once");
}

static void test_abort(void)
{
    struct conn_peer peer;
    struct probe p = { 0, 0, 0, 1000, 0, STREAM_OPEN };
    int ended_before = ended;

    start(&peer, &p, 0);
    conn_abort(&peer);
    ok(turn_until(released, &p, &peer, 1) && ended == ended_before + 1,
       "FCGI_ABORT_REQUEST from the web server: the stream ends, the hook fires once");
    turn_until(peer_done, &peer, &peer, 1);
    ok(peer.ended && peer.eof, "... answered with END_REQUEST before the connection closes");
    conn_hang_up(&peer);
}

static void test_slow(void)
{
    struct conn_peer peer;
    struct probe p = { 0, 0, 0, 1000, 0, STREAM_SLOW };
    unsigned long before = dropped_slow;
    int ended_before = ended;

    start(&peer, &p, 1);
    ok(turn_until(released, &p, &peer, 1), "a source that reports a full send buffer: dropped");
    ok(dropped_slow == before + 1 && ended == ended_before + 1 && p.due == 1,
       "counted in dropped_slow once, the hook fired once");
    turn_until(peer_done, &peer, &peer, 1);
    ok(peer.eof && !peer.ended, "a dropped stream is closed without END_REQUEST");
    conn_hang_up(&peer);
}

static void test_update_outside(void)
{
    struct conn_peer peer;
    struct probe p = { 0, 0, 0, 1000, 0, STREAM_OPEN };
    struct stream *s;
    int ended_before = ended;

    s = start(&peer, &p, 0);
    hub_update(s, STREAM_DONE);
    ok(p.released == 1 && ended == ended_before + 1,
       "hub_update(STREAM_DONE) from outside the hub's calls: released and ended at once");
    hub_update(s, STREAM_DONE);
    hub_update(s, STREAM_GONE);
    ok(p.released == 1 && ended == ended_before + 1,
       "hub_update again in the same turn: a no-op (the hook fired once)");
    loop_once(l, 0, NULL); /* the turn ends: s is freed */
    turn_until(peer_done, &peer, &peer, 1);
    ok(peer.ended && peer.eof, "... its request ended cleanly");
    conn_hang_up(&peer);
}

static void test_close(void)
{
    struct conn_peer peers[2];
    struct probe p[2] = { { 0, 0, 0, 1000, 0, STREAM_OPEN }, { 0, 0, 0, 1000, 0, STREAM_OPEN } };
    volatile sig_atomic_t stop = 0;
    int ended_before = ended;
    struct conn_peer extra;
    struct stream *s;

    start(&peers[0], &p[0], 0);
    start(&peers[1], &p[1], 0);
    hub_close(h, &stop);
    conn_read(&peers[0]);
    conn_read(&peers[1]);
    ok(p[0].released == 1 && p[1].released == 1 && ended == ended_before + 2,
       "hub_close ends every stream: each released once, the hook fired for each");
    ok(peers[0].ended && peers[1].ended, "... cleanly (END_REQUEST to each web server)");
    s = conn_stream(&extra, "/stream", "");
    ok(hub_add(h, s) == -1, "a closed hub refuses a new stream");
    stream_destroy(s);
    conn_hang_up(&extra);
    conn_hang_up(&peers[0]);
    conn_hang_up(&peers[1]);
}

int main(void)
{
    struct hub_hooks hooks = { on_ended, NULL, &dropped_slow };

    l = loop_create();
    h = l ? hub_create(l, &hooks) : NULL;
    if (!ok(l && h, "loop_create, hub_create"))
        return done_testing();
    test_done();
    test_hang_up();
    test_abort();
    test_slow();
    test_update_outside();
    test_close();
    hub_destroy(h);
    loop_destroy(l);
    return done_testing();
}
