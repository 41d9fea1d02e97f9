/* test_chanctl.c -- unit tests of a channel's presence and control: chan_info, chan_purge, chan_delete, the .../channels/NAME routes and ctl_json */
/* Limits: time is passed in by hand (no clock is read); subscribers are bare links with
 * recorders for what the engine calls. Run it under --enable-sanitizers to check that
 * deleted links and purged messages are neither used nor leaked. */
#include "config.h"

#include "channels/chan.h"
#include "channels/ctl.h"
#include "http/msgid.h"
#include "http/req.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#define T0 1700000000000ULL

/* What the engine told: messages delivered, links deleted. */
struct recorder {
    int delivered;
    struct chan_link *last;
    int deleted;
    struct chan_link *deleted_link[8];
    char deleted_name[8][CHAN_NAME_MAX + 1];
    int deleted_chan_null;         /* links whose chan was already NULL when told */
};

static void deliver(struct chan_link *l, struct msg *m, void *ctx)
{
    struct recorder *rec = ctx;
    (void)m;

    rec->delivered++;
    rec->last = l;
}

static void on_deleted(struct chan_link *l, const char *name, void *ctx)
{
    struct recorder *rec = ctx;

    if (rec->deleted < 8) {
        rec->deleted_link[rec->deleted] = l;
        snprintf(rec->deleted_name[rec->deleted], sizeof rec->deleted_name[0], "%s", name);
    }
    rec->deleted++;
    rec->deleted_chan_null += l->chan == NULL;
}

static struct chan_engine *engine(struct recorder *rec)
{
    struct chan_limits lim = { 100, 3600 * 1000ULL, 1 << 20, 0, 0 };
    struct chan_engine *e = chan_engine_create(&lim, T0, deliver, rec);

    if (e)
        chan_engine_on_delete(e, on_deleted);
    return e;
}

static struct msg *pub(struct chan_engine *e, const char *name, const char *data,
                       unsigned long long now)
{
    unsigned long subs;

    return chan_publish(e, name, NULL, data, strlen(data), now, &subs);
}

static unsigned long long hbytes(const struct chan_engine *e)
{
    struct chan_stats st;

    chan_stats_read(e, &st);
    return st.history_bytes;
}

static unsigned long nchannels(const struct chan_engine *e)
{
    struct chan_stats st;

    chan_stats_read(e, &st);
    return st.channels;
}

static void test_info(void)
{
    struct recorder rec = { 0 };
    struct chan_engine *e = engine(&rec);
    struct chan_link a = { 0 }, b = { 0 };
    struct chan_info in;
    struct msg *m;
    struct msgid first, last;
    unsigned long long cost = 0;
    int i;

    errno = 0;
    ok(chan_info(e, "news", T0, &in) < 0 && errno == ENOENT,
       "info: a channel that does not exist: ENOENT");
    ok(chan_subscribe(e, "news", &a) == 0 && chan_subscribe(e, "news", &b) == 0,
       "info: two subscribers");
    ok(chan_info(e, "news", T0, &in) == 0 && in.subscribers == 2 && in.messages == 0 &&
           in.bytes == 0 && msgid_is_zero(in.oldest) && msgid_is_zero(in.newest) &&
           msgid_is_zero(in.dropped),
       "info: subscribers only: 2 subscribers, no message, no id");
    for (i = 0; i < 3; i++) {
        m = pub(e, "news", i == 1 ? "a longer message, to tell the bytes apart" : "x", T0 + 1);
        if (i == 0)
            first = m->id;
        last = m->id;
        cost += m->cost;
    }
    ok(chan_info(e, "news", T0 + 1, &in) == 0 && in.subscribers == 2 && in.messages == 3 &&
           in.bytes == cost && msgid_cmp(in.oldest, first) == 0 &&
           msgid_cmp(in.newest, last) == 0 && msgid_is_zero(in.dropped),
       "info: 3 messages: their count, the bytes they cost (%llu), oldest and newest id",
       cost);
    /* what --history-ttl expired is not shown */
    ok(chan_info(e, "news", T0 + 1 + 3600 * 1000ULL + 1, &in) == 0 && in.messages == 0 &&
           msgid_cmp(in.dropped, last) == 0,
       "info: after the TTL, the messages are gone and the newest is the dropped id");
    chan_unsubscribe(e, &a);
    chan_unsubscribe(e, &b);
    ok(chan_info(e, "news", T0, &in) < 0 && errno == ENOENT,
       "info: neither history nor subscribers: ENOENT");
    chan_engine_destroy(e);
}

static void test_purge(void)
{
    struct recorder rec = { 0 };
    struct chan_engine *e = engine(&rec);
    struct chan_link a = { 0 };
    struct chan_info in;
    struct msgid before, newest;
    struct msg *m, *held;
    struct chan_stats st;
    unsigned long long empty_ring;

    chan_subscribe(e, "news", &a);
    before = pub(e, "news", "one", T0)->id;
    held = pub(e, "news", "two", T0);
    msg_ref(held);                 /* a subscriber still writing it */
    newest = pub(e, "news", "three", T0)->id;
    pub(e, "other", "kept", T0);
    ok(chan_purge(e, "news", &in) == 0 && in.messages == 3 && in.subscribers == 1 &&
           msgid_cmp(in.newest, newest) == 0,
       "purge: answers what it held (3 messages, 1 subscriber)");
    ok(chan_info(e, "news", T0, &in) == 0 && in.messages == 0 && in.bytes == 0 &&
           in.subscribers == 1 && msgid_cmp(in.dropped, newest) == 0,
       "purge: no message left, the subscriber kept, the dropped id is the newest purged");
    ok(chan_next(&a, before) == NULL && chan_newest(&a) == NULL, "purge: nothing to replay");
    ok(chan_gap(e, &a, before) == 1, "purge: a resume from before the newest purged: a gap "
                                     "(reset)");
    ok(chan_gap(e, &a, newest) == 0, "purge: a resume from the newest purged: no gap");
    chan_stats_read(e, &st);
    ok(st.held_bytes == held->cost, "purge: a message a writer still holds stays counted "
                                    "(held_bytes %llu)", st.held_bytes);
    msg_unref(held);
    chan_stats_read(e, &st);
    ok(st.held_bytes == 0, "purge: let go of, it is counted no more");
    rec.delivered = 0;
    m = pub(e, "news", "after", T0 + 1);
    ok(m && rec.delivered == 1 && rec.last == &a, "purge: the subscriber gets what follows");
    ok(chan_info(e, "other", T0, &in) == 0 && in.messages == 1, "purge: other channels keep "
                                                                "theirs");
    /* a channel with no subscriber goes with its history */
    empty_ring = hbytes(e);
    ok(chan_purge(e, "other", &in) == 0 && in.messages == 1 && in.subscribers == 0 &&
           chan_info(e, "other", T0, &in) < 0 && errno == ENOENT && nchannels(e) == 1 &&
           hbytes(e) < empty_ring,
       "purge: a channel without subscribers is gone, its ring's bytes given back");
    ok(chan_purge(e, "missing", &in) < 0 && errno == ENOENT, "purge: no such channel: ENOENT");
    chan_unsubscribe(e, &a);
    chan_engine_destroy(e);
}

static void test_delete(void)
{
    struct recorder rec = { 0 };
    struct chan_engine *e = engine(&rec);
    struct chan_link a = { 0 }, b = { 0 }, c = { 0 }, mine = { 0 };
    struct chan_info in;
    struct msgid last;
    struct msg *m;

    chan_subscribe(e, "news", &a);
    chan_subscribe(e, "news", &b);
    chan_subscribe(e, "sport", &c);
    pub(e, "news", "one", T0);
    last = pub(e, "news", "two", T0)->id;
    pub(e, "sport", "goal", T0);
    ok(chan_delete(e, "news", &in) == 0 && in.subscribers == 2 && in.messages == 2 &&
           msgid_cmp(in.newest, last) == 0,
       "delete: answers what it held (2 subscribers, 2 messages)");
    ok(rec.deleted == 2 && rec.deleted_chan_null == 2 &&
           ((rec.deleted_link[0] == &a && rec.deleted_link[1] == &b) ||
            (rec.deleted_link[0] == &b && rec.deleted_link[1] == &a)) &&
           strcmp(rec.deleted_name[0], "news") == 0 && strcmp(rec.deleted_name[1], "news") == 0,
       "delete: each subscriber told once, with the name, already out of the channel");
    ok(a.chan == NULL && b.chan == NULL && c.chan != NULL, "delete: its links are let go of, "
                                                           "the other channel's kept");
    ok(chan_info(e, "news", T0, &in) < 0 && errno == ENOENT && nchannels(e) == 1,
       "delete: the channel is gone");
    rec.delivered = 0;
    m = pub(e, "news", "after", T0 + 1);
    ok(m && rec.delivered == 0, "delete: a publish afterwards reaches none of its former "
                                "subscribers");
    ok(chan_info(e, "news", T0 + 1, &in) == 0 && in.messages == 1 && in.subscribers == 0,
       "delete: a publish afterwards makes a new channel, its history that message alone");
    ok(chan_subscribe(e, "news", &mine) == 0 && chan_next(&mine, last) == m &&
           chan_gap(e, &mine, last) == 0,
       "delete: a new subscriber resuming from the deleted newest gets what followed, no gap");
    chan_unsubscribe(e, &a);       /* a link deleted: a no-op */
    chan_unsubscribe(e, &b);
    ok(rec.deleted == 2, "delete: unsubscribing a deleted link does nothing more");
    ok(chan_delete(e, "nothing", &in) < 0 && errno == ENOENT, "delete: no such channel: "
                                                              "ENOENT");
    chan_unsubscribe(e, &mine);
    chan_unsubscribe(e, &c);
    chan_engine_destroy(e);
}

static void test_internal(void)
{
    struct recorder rec = { 0 };
    struct chan_engine *e = engine(&rec);
    struct chan_link l = { 0 };
    struct chan_info in;

    l.quiet = 1;
    ok(chan_subscribe(e, "@mercure", &l) == 0, "internal: a quiet link on @mercure");
    errno = 0;
    ok(chan_delete(e, "@mercure", &in) < 0 && errno == EPERM && l.chan != NULL &&
           rec.deleted == 0,
       "internal: delete of @mercure refused (EPERM), its link kept, no one told");
    errno = 0;
    ok(chan_purge(e, "@mercure", &in) < 0 && errno == EPERM, "internal: purge refused (EPERM)");
    chan_unsubscribe(e, &l);
    chan_engine_destroy(e);
}

/* ---------------------------------------------------------------- routes */

struct param {
    const char *name, *value;
};

static const char *getter(const char *name, void *ctx)
{
    const struct param *p;

    for (p = ctx; p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p->value;
    return NULL;
}

static void parse(struct req *r, const char *method, const char *script)
{
    struct param ps[] = { { "REQUEST_METHOD", method }, { "SCRIPT_NAME", script },
                          { NULL, NULL } };

    req_parse(r, getter, ps);
}

static int is_channel(const struct req *r, const char *name, int del, int history, int head)
{
    return r->status == 200 && r->route == REQ_CHANNEL && r->nchan == 1 &&
           strcmp(r->chans[0], name) == 0 && r->del == del && r->history == history &&
           r->head == head;
}

static void test_routes(void)
{
    struct req r;
    char path[300];
    struct param uri[] = { { "REQUEST_METHOD", "DELETE" },
                           { "REQUEST_URI", "/app/channels/a%3Ab/history?x=1" },
                           { NULL, NULL } };

    parse(&r, "GET", "/channels/news");
    ok(is_channel(&r, "news", 0, 0, 0), "route: GET /channels/news");
    parse(&r, "HEAD", "/app/channels/news");
    ok(is_channel(&r, "news", 0, 0, 1), "route: HEAD /app/channels/news");
    parse(&r, "DELETE", "/x/y/channels/a.b:c-d_e");
    ok(is_channel(&r, "a.b:c-d_e", 1, 0, 0), "route: DELETE .../channels/NAME under a prefix");
    parse(&r, "DELETE", "/channels/news/history");
    ok(is_channel(&r, "news", 1, 1, 0), "route: DELETE /channels/news/history: the purge");
    req_parse(&r, getter, uri);
    ok(is_channel(&r, "a:b", 1, 1, 0), "route: REQUEST_URI decoded, the query left out");
    parse(&r, "GET", "/channels/stream");
    ok(is_channel(&r, "stream", 0, 0, 0), "route: /channels/stream is channel stream");
    parse(&r, "GET", "/x/channels/history");
    ok(is_channel(&r, "history", 0, 0, 0), "route: /x/channels/history is channel history");
    parse(&r, "DELETE", "/channels/channels/history");
    ok(is_channel(&r, "channels", 1, 1, 0), "route: /channels/channels/history purges "
                                            "channel channels");
    parse(&r, "GET", "/channels/news/history");
    ok(r.status == 405 && strcmp(r.allow, "DELETE") == 0, "route: GET .../history: 405, "
                                                          "Allow: DELETE");
    parse(&r, "HEAD", "/channels/news/history");
    ok(r.status == 405 && strcmp(r.allow, "DELETE") == 0, "route: HEAD .../history: 405");
    parse(&r, "POST", "/channels/news");
    ok(r.status == 405 && strcmp(r.allow, "GET, HEAD, DELETE") == 0,
       "route: POST .../channels/NAME: 405, Allow: GET, HEAD, DELETE");
    parse(&r, "DELETE", "/channels/@mercure");
    ok(r.status == 403 && r.error && strchr(r.error, '\n') == NULL &&
           strstr(r.error, "@") != NULL,
       "route: DELETE /channels/@mercure: 403 (%s)", r.error ? r.error : "");
    parse(&r, "GET", "/channels/@mercure");
    ok(r.status == 403, "route: GET /channels/@mercure: 403");
    parse(&r, "DELETE", "/channels/@mercure/history");
    ok(r.status == 403, "route: DELETE /channels/@mercure/history: 403");
    parse(&r, "GET", "/channels/bad!name");
    ok(r.status == 400 && strstr(r.error, "bad") == NULL, "route: a bad name: 400, not "
                                                          "quoted");
    memset(path, 'a', sizeof path);
    memcpy(path, "/channels/", 10);
    path[10 + 128] = '\0';
    parse(&r, "GET", path);
    ok(r.status == 200 && r.route == REQ_CHANNEL && strlen(r.chans[0]) == 128,
       "route: a name of 128 bytes");
    path[10 + 128] = 'a';
    path[10 + 129] = '\0';
    parse(&r, "GET", path);
    ok(r.status == 400, "route: a name of 129 bytes: 400");
    parse(&r, "GET", "/channels/");
    ok(r.status == 404, "route: /channels/ (no name): 404");
    parse(&r, "GET", "/.well-known/mercure/subscriptions/channels/x");
    ok(r.status == 200 && r.route == REQ_MERCURE_SUBS, "route: Mercure's paths stay its own");
    parse(&r, "GET", "/channels/news/x");
    ok(r.status == 404, "route: /channels/news/x: 404");
}

/* ---------------------------------------------------------------- the answer */

static int starts(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static void test_json(void)
{
    struct ctl_result r;
    size_t len = 0;
    char *j;

    memset(&r, 0, sizeof r);
    r.info.subscribers = 2;
    r.info.messages = 3;
    r.info.bytes = 345;
    r.info.oldest.ms = 1700000000000ULL;
    r.info.newest.ms = 1700000000001ULL;
    r.info.newest.seq = 4;
    j = ctl_json(CTL_INFO, "news", &r, &len);
    ok(j && len == strlen(j) &&
           strcmp(j, "{\"channel\":\"news\",\"subscribers\":2,\"subscribers_scope\":\"all\","
                     "\"messages\":3,\"bytes\":345,\"oldest\":\"1700000000000-0\","
                     "\"newest\":\"1700000000001-4\",\"dropped\":null}") == 0,
       "json: presence, ids as text, none as null: %s", j ? j : "(null)");
    free(j);
    r.here_only = 1;
    r.info.dropped.ms = 5;
    j = ctl_json(CTL_DELETE, "news", &r, &len);
    ok(starts(j, "{\"channel\":\"news\",\"deleted\":true,\"subscribers\":2,"
                 "\"subscribers_scope\":\"responder\",") &&
           strstr(j, "\"dropped\":\"5-0\"}") != NULL,
       "json: a delete says so, and that the subscribers are this responder's: %s",
       j ? j : "(null)");
    free(j);
    j = ctl_json(CTL_PURGE, "news", &r, &len);
    ok(starts(j, "{\"channel\":\"news\",\"purged\":true,"),
       "json: a purge says so: %s", j ? j : "(null)");
    free(j);
}

int main(void)
{
    test_info();
    test_purge();
    test_delete();
    test_internal();
    test_routes();
    test_json();
    return done_testing();
}
