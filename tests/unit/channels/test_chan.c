/* test_chan.c -- unit tests of chan: ids, history bounds, subscribers, refs, the hash, the channel bound */
/* Limits: time is passed in by hand (no clock is read); the wire is checked with a small
 * decoder of the EventSource algorithm below (fields id, event and data only, LF line ends:
 * all the encoder writes). Run it under --enable-sanitizers to check refs and frees. */
#include "config.h"

#include "channels/chan.h"
#include "http/msgid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

/* ---- a decoder of the event stream, as a browser reads it (fields id, event, data) */
struct decoded {
    int events;            /* events dispatched */
    int complete;          /* the wire ended right after a dispatch */
    char id[64];
    char event[80];
    char data[4096];
    size_t data_len;
};

static void decode(const char *wire, size_t len, struct decoded *d)
{
    char buf[4096];
    size_t blen = 0, pos = 0;
    char id[64] = "", ev[80] = "";

    memset(d, 0, sizeof *d);
    while (pos < len) {
        const char *nl = memchr(wire + pos, '\n', len - pos);
        size_t ll, fl;
        const char *line = wire + pos, *colon, *val;
        size_t vl;

        d->complete = 0;
        if (!nl) {
            return; /* an unterminated line: never dispatched */
        }
        ll = (size_t)(nl - line);
        pos += ll + 1;
        if (ll == 0) {
            /* dispatch */
            if (blen == 0) {
                ev[0] = '\0';
                d->complete = 1;
                continue;
            }
            if (buf[blen - 1] == '\n')
                blen--;
            d->events++;
            memcpy(d->data, buf, blen);
            d->data[blen] = '\0';
            d->data_len = blen;
            strcpy(d->id, id);
            strcpy(d->event, ev);
            blen = 0;
            ev[0] = '\0';
            d->complete = 1;
            continue;
        }
        colon = memchr(line, ':', ll);
        fl = colon ? (size_t)(colon - line) : ll;
        val = colon ? colon + 1 : line + ll;
        vl = colon ? ll - fl - 1 : 0;
        if (vl && *val == ' ') {
            val++;
            vl--;
        }
        if (fl == 4 && memcmp(line, "data", 4) == 0) {
            if (blen + vl + 1 < sizeof buf) {
                memcpy(buf + blen, val, vl);
                blen += vl;
                buf[blen++] = '\n';
            }
        } else if (fl == 2 && memcmp(line, "id", 2) == 0 && vl < sizeof id) {
            memcpy(id, val, vl);
            id[vl] = '\0';
        } else if (fl == 5 && memcmp(line, "event", 5) == 0 && vl < sizeof ev) {
            memcpy(ev, val, vl);
            ev[vl] = '\0';
        }
    }
}

/* ---- a deliver callback that records its calls (and holds a ref, as a writer would) */
#define MAX_CALLS 64
struct recorder {
    int n;
    struct chan_link *link[MAX_CALLS];
    struct msg *msg[MAX_CALLS];
};

static void record(struct chan_link *l, struct msg *m, void *ctx)
{
    struct recorder *rec = ctx;

    if (rec->n < MAX_CALLS) {
        msg_ref(m);
        rec->link[rec->n] = l;
        rec->msg[rec->n++] = m;
    }
}

static void rec_clear(struct recorder *rec)
{
    int i;

    for (i = 0; i < rec->n; i++)
        msg_unref(rec->msg[i]);
    rec->n = 0;
}

static int rec_has(const struct recorder *rec, const struct chan_link *l, const struct msg *m)
{
    int i, k = 0;

    for (i = 0; i < rec->n; i++)
        k += rec->link[i] == l && rec->msg[i] == m;
    return k;
}

/* 1 when m's wire holds s (the wire is not NUL-terminated). */
static int wire_has(const struct msg *m, const char *s)
{
    size_t n = strlen(s), i;

    for (i = 0; i + n <= m->len; i++)
        if (memcmp(m->wire + i, s, n) == 0)
            return 1;
    return 0;
}

static struct msgid mid(unsigned long long ms, unsigned long long seq)
{
    struct msgid id;

    id.ms = ms;
    id.seq = seq;
    return id;
}

static const char *fmt(struct msgid id, char *buf)
{
    msgid_format(buf, id);
    return buf;
}

static unsigned long nchannels(const struct chan_engine *e)
{
    struct chan_stats st;

    chan_stats_read(e, &st);
    return st.channels;
}

static unsigned long long hbytes(const struct chan_engine *e)
{
    struct chan_stats st;

    chan_stats_read(e, &st);
    return st.history_bytes;
}

static unsigned long long hmsgs(const struct chan_engine *e)
{
    struct chan_stats st;

    chan_stats_read(e, &st);
    return st.history_messages;
}

static struct msg *pub(struct chan_engine *e, const char *name, const char *type, const char *data,
                       unsigned long long now, unsigned long *subs)
{
    unsigned long dummy;

    return chan_publish(e, name, type, data, strlen(data), now, subs ? subs : &dummy);
}

/* The ids retained in l's channel, oldest first, by chan_next; returns how many. */
static size_t retained(const struct chan_link *l, struct msgid *out, size_t max)
{
    struct msgid after = mid(0, 0);
    struct msg *m;
    size_t n = 0;

    while ((m = chan_next(l, after)) && n < max) {
        out[n++] = m->id;
        after = m->id;
    }
    return n;
}

static const struct chan_limits big = { 100, 3600000ULL, 1ULL << 30, 0, 0 };

static void test_ids_and_wire(void)
{
    struct recorder rec = { 0 };
    struct chan_engine *e = chan_engine_create(&big, 1000, record, &rec);
    struct msg *m;
    struct msgid prev;
    char buf[MSGID_STR_MAX];
    unsigned long subs = 99;
    static const struct {
        const char *data;
        size_t len;
        const char *want;
        const char *what;
    } wires[] = {
        { "hello", 5, "hello", "one line" },
        { "a\nb\nc", 5, "a\nb\nc", "LF" },
        { "a\rb", 3, "a\nb", "CR" },
        { "a\r\nb", 4, "a\nb", "CRLF" },
        { "a\n", 2, "a\n", "a trailing LF" },
        { "a\r\n", 3, "a\n", "a trailing CRLF" },
        { "\n", 1, "\n", "a lone LF" },
        { "\n\n\n", 3, "\n\n\n", "three LFs" },
        { "a\r\rb", 4, "a\n\nb", "CR CR (two breaks)" },
        { "a\n\rb", 4, "a\n\nb", "LF CR (two breaks)" },
        { "", 0, "", "the empty message" },
        { " lead", 5, " lead", "a leading space kept" },
        { "data: x\n\nid: 7\nevent: y", 23, "data: x\n\nid: 7\nevent: y",
          "data that looks like fields and a blank line" },
        { ":comment\n:", 10, ":comment\n:", "lines that start with a colon" },
    };
    size_t i;

    ok(e != NULL, "chan_engine_create");
    ok(msgid_is_zero(chan_last_id(e)) == 0 && chan_last_id(e).ms == 1000,
       "chan_last_id before any message is the boot id 1000-0 (got %s)",
       fmt(chan_last_id(e), buf));
    ok(nchannels(e) == 0 && hbytes(e) == 0, "a new engine: no channels, 0 history bytes");

    m = pub(e, "a", NULL, "x", 1000, &subs);
    ok(m && m->id.ms == 1000 && m->id.seq == 1 && subs == 0,
       "first publish at the boot ms: 1000-1, 0 subscribers (got %s)", m ? fmt(m->id, buf) : "-");
    prev = m->id;
    m = pub(e, "b", NULL, "x", 1000, NULL);
    ok(m && msgid_cmp(m->id, prev) > 0 && m->id.ms == 1000 && m->id.seq == 2,
       "on another channel, same ms: 1000-2 (got %s)", m ? fmt(m->id, buf) : "-");
    prev = m->id;
    m = pub(e, "a", NULL, "x", 1005, NULL);
    ok(m && m->id.ms == 1005 && m->id.seq == 0, "clock moves on: 1005-0 (got %s)",
       m ? fmt(m->id, buf) : "-");
    prev = m->id;
    m = pub(e, "c", NULL, "x", 900, NULL);
    ok(m && m->id.ms == 1005 && m->id.seq == 1, "clock steps back: 1005-1 (got %s)",
       m ? fmt(m->id, buf) : "-");
    ok(msgid_cmp(chan_last_id(e), m->id) == 0, "chan_last_id is the last id issued");
    {
        int all = 1;
        unsigned long long now = 2000;
        prev = chan_last_id(e);
        for (i = 0; i < 300; i++) {
            char ch[8];
            snprintf(ch, sizeof ch, "c%zu", i % 7);
            now += i % 3 == 0 ? 1 : 0;
            m = pub(e, ch, NULL, "x", i % 11 == 0 ? now - 5 : now, NULL);
            if (!m || msgid_cmp(m->id, prev) <= 0)
                all = 0;
            else
                prev = m->id;
        }
        ok(all, "300 publishes over 7 channels: ids strictly increasing across channels");
    }

    for (i = 0; i < sizeof wires / sizeof wires[0]; i++) {
        struct decoded d;
        const char *type = i % 2 ? "update" : NULL;
        m = chan_publish(e, "w", type, wires[i].data, wires[i].len, 5000, &subs);
        if (!ok(m != NULL, "publish %s", wires[i].what))
            continue;
        decode(m->wire, m->len, &d);
        ok(d.events == 1 && d.complete && d.data_len == strlen(wires[i].want) &&
               memcmp(d.data, wires[i].want, d.data_len) == 0 &&
               strcmp(d.id, fmt(m->id, buf)) == 0 && strcmp(d.event, type ? type : "") == 0,
           "wire of %s: exactly one event, ends with it, same lines, id %s, event \"%s\" (got "
           "%d events, complete %d, id \"%s\", event \"%s\", %zu data bytes)",
           wires[i].what, buf, type ? type : "", d.events, d.complete, d.id, d.event,
           d.data_len);
    }
    {
        /* the wire begins with the id and the event type */
        char want[128];
        struct decoded d;
        m = pub(e, "w", "tick", "one", 6000, NULL);
        snprintf(want, sizeof want, "id: %s\nevent: tick\ndata: one\n\n", fmt(m->id, buf));
        ok(m->len == strlen(want) && memcmp(m->wire, want, m->len) == 0,
           "wire of \"one\" with event tick is exactly \"id: ID\\nevent: tick\\ndata: one\\n\\n\"");
        m = pub(e, "w", NULL, "two", 6000, NULL);
        decode(m->wire, m->len, &d);
        ok(d.events == 1 && d.event[0] == '\0' && !wire_has(m, "event:"),
           "without a type: no event field");
    }
    {
        /* a 3000-byte message of many short lines */
        char big_data[3000];
        struct decoded d;
        for (i = 0; i < sizeof big_data; i++)
            big_data[i] = i % 3 == 2 ? (i % 2 ? '\r' : '\n') : 'x';
        m = chan_publish(e, "w", NULL, big_data, sizeof big_data, 6000, &subs);
        decode(m->wire, m->len, &d);
        ok(m && d.events == 1 && d.complete && d.data_len == sizeof big_data,
           "3000 bytes, 1000 lines with CR and LF: one event, same length back (got %zu)",
           d.data_len);
    }
    chan_engine_destroy(e);
    rec_clear(&rec);
}

static void test_history(void)
{
    struct chan_limits lim = { 3, 3600000ULL, 1ULL << 30, 0, 0 };
    struct recorder rec = { 0 };
    struct chan_engine *e = chan_engine_create(&lim, 1000, record, &rec);
    struct chan_link l = { 0 }, lo = { 0 };
    struct msgid ids[8], got[16];
    size_t n, i;
    char b1[MSGID_STR_MAX], b2[MSGID_STR_MAX];

    for (i = 0; i < 4; i++)
        ids[i] = pub(e, "h", NULL, "m", 1000 + i, NULL)->id;
    pub(e, "other", NULL, "o", 1010, NULL);
    chan_subscribe(e, "h", &l);
    n = retained(&l, got, 16);
    ok(n == 3 && msgid_cmp(got[0], ids[1]) == 0 && msgid_cmp(got[1], ids[2]) == 0 &&
           msgid_cmp(got[2], ids[3]) == 0,
       "--history 3, 4 publishes: the last 3 kept, in order (got %zu)", n);
    ok(msgid_cmp(chan_oldest(&l), ids[1]) == 0, "chan_oldest is the 2nd id %s (got %s)",
       fmt(ids[1], b1), fmt(chan_oldest(&l), b2));
    ok(msgid_cmp(chan_dropped(&l), ids[0]) == 0, "chan_dropped is the 1st id %s (got %s)",
       fmt(ids[0], b1), fmt(chan_dropped(&l), b2));
    ok(chan_next(&l, ids[0]) && msgid_cmp(chan_next(&l, ids[0])->id, ids[1]) == 0,
       "chan_next after the dropped id is the oldest retained");
    ok(chan_next(&l, ids[3]) == NULL, "chan_next after the newest: NULL");
    ok(chan_next(&l, mid(ids[1].ms, ids[1].seq + 1)) &&
           msgid_cmp(chan_next(&l, mid(ids[1].ms, ids[1].seq + 1))->id, ids[2]) == 0,
       "chan_next after an id between two retained ones: the later one");

    /* chan_gap */
    ok(chan_gap(e, &l, mid(999, 0)) == 1, "chan_gap: after < boot (999-0): gap");
    ok(chan_gap(e, &l, mid(0, 0)) == 1, "chan_gap: after 0-0 (< boot): gap");
    ok(chan_gap(e, &l, mid(1000, 0)) == 1,
       "chan_gap: after = boot but a drop since (1000-0 < dropped): gap");
    ok(chan_gap(e, &l, ids[0]) == 0, "chan_gap: after = the dropped id: no gap");
    ok(chan_gap(e, &l, ids[2]) == 0, "chan_gap: after a retained id: no gap");
    ok(chan_gap(e, &l, chan_last_id(e)) == 0, "chan_gap: after = the last id: no gap");
    ok(chan_gap(e, &l, mid(chan_last_id(e).ms, chan_last_id(e).seq + 1)) == 1,
       "chan_gap: after > the last id (never issued): gap");
    ok(chan_gap(e, &l, mid(99999999, 0)) == 1, "chan_gap: after far in the future: gap");
    chan_subscribe(e, "other", &lo);
    ok(chan_gap(e, &lo, mid(1000, 0)) == 0 && msgid_is_zero(chan_dropped(&lo)),
       "chan_gap: a channel with no drop, after = boot: no gap (the drop was elsewhere)");
    chan_unsubscribe(e, &lo);

    /* a ring that grows while its head is not at 0 */
    {
        struct chan_limits lim2 = { 10, 1000ULL, 1ULL << 30, 0, 0 };
        struct chan_engine *e2 = chan_engine_create(&lim2, 1000, record, &rec);
        struct chan_link l2 = { 0 };
        struct msgid all[40];
        int ok_order = 1;
        for (i = 0; i < 3; i++)
            all[i] = pub(e2, "g", NULL, "m", 1000, NULL)->id;
        /* ring of 4 full; the 3 expire at 2001 (head moves to 3), the one at 1500 stays,
         * then the ring fills and grows with its head at 3 */
        all[3] = pub(e2, "g", NULL, "m", 1500, NULL)->id;
        for (i = 4; i < 30; i++)
            all[i] = pub(e2, "g", NULL, "m", 2001, NULL)->id;
        chan_subscribe(e2, "g", &l2);
        n = retained(&l2, got, 16);
        for (i = 0; i < n && i < 10; i++)
            ok_order &= msgid_cmp(got[i], all[20 + i]) == 0;
        ok(n == 10 && ok_order,
           "--history 10, ring grown after drops moved its head: the last 10 of 30, in order "
           "(got %zu)", n);
        ok(msgid_cmp(chan_oldest(&l2), all[20]) == 0 && msgid_cmp(chan_dropped(&l2), all[19]) == 0,
           "chan_oldest/chan_dropped agree with what chan_next returns");
        chan_unsubscribe(e2, &l2);
        chan_engine_destroy(e2);
    }
    {
        /* --history 1 */
        struct chan_limits lim1 = { 1, 3600000ULL, 1ULL << 30, 0, 0 };
        struct chan_engine *e1 = chan_engine_create(&lim1, 1000, record, &rec);
        struct chan_link l1 = { 0 };
        struct msgid a, b;
        a = pub(e1, "one", NULL, "a", 1000, NULL)->id;
        b = pub(e1, "one", NULL, "b", 1000, NULL)->id;
        chan_subscribe(e1, "one", &l1);
        n = retained(&l1, got, 16);
        ok(n == 1 && msgid_cmp(got[0], b) == 0 && msgid_cmp(chan_dropped(&l1), a) == 0 &&
               msgid_cmp(chan_oldest(&l1), b) == 0,
           "--history 1: only the newest kept, the other dropped");
        chan_unsubscribe(e1, &l1);
        chan_engine_destroy(e1);
    }
    chan_unsubscribe(e, &l);
    chan_engine_destroy(e);
    rec_clear(&rec);
}

static void test_bytes(void)
{
    /* measure one message's bytes, then bound the history to about 4 of them */
    char data[1000];
    struct chan_limits lim = { 100, 3600000ULL, 1ULL << 30, 0, 0 };
    struct recorder rec = { 0 };
    struct chan_engine *e;
    struct chan_link la = { 0 }, lb = { 0 };
    unsigned long long one, b0;
    struct msgid ids[12];
    size_t i, na, nb;
    struct msgid got[32];
    int all_bounded = 1, suffix = 1;
    const char *names[] = { "a", "b", "c" };

    memset(data, 'x', sizeof data);
    data[sizeof data - 1] = '\0';
    e = chan_engine_create(&lim, 1000, record, &rec);
    chan_subscribe(e, "a", &la);
    b0 = hbytes(e);
    pub(e, "a", NULL, data, 1000, NULL);
    one = hbytes(e) - b0;
    chan_unsubscribe(e, &la);
    chan_engine_destroy(e);
    ok(one > 999, "one 999-byte message counts %llu history bytes (more than its data)", one);

    lim.bytes_max = (size_t)(4 * one + 200);
    e = chan_engine_create(&lim, 1000, record, &rec);
    chan_subscribe(e, "a", &la);
    chan_subscribe(e, "b", &lb);
    for (i = 0; i < 12; i++) {
        ids[i] = pub(e, names[i % 3], NULL, data, 1000 + i, NULL)->id;
        rec_clear(&rec); /* written at once: no subscriber holds it */
        if (hbytes(e) > lim.bytes_max)
            all_bounded = 0;
    }
    ok(all_bounded, "--history-bytes %zu: history_bytes never above it over 12 publishes",
       lim.bytes_max);
    na = retained(&la, got, 32);
    nb = retained(&lb, got + na, 32 - na);
    /* whatever was kept of a and b is among the newest: every dropped id before every kept one */
    for (i = 0; i < na + nb; i++)
        if (msgid_cmp(got[i], chan_dropped(&la)) <= 0 || msgid_cmp(got[i], chan_dropped(&lb)) <= 0)
            suffix = 0;
    ok(suffix, "dropped oldest first across channels: every dropped id of a and b is before "
               "every kept one");
    ok(na + nb >= 1 && na + nb <= 4, "a and b keep between 1 and 4 of 8 (got %zu)", na + nb);
    ok(na >= 1 && nb >= 1 && msgid_cmp(got[na - 1], ids[9]) == 0 &&
           msgid_cmp(got[na + nb - 1], ids[10]) == 0,
       "the newest of a and of b are kept");
    ok(msgid_cmp(chan_dropped(&la), ids[0]) >= 0 && !msgid_is_zero(chan_dropped(&la)),
       "a's first message was dropped by the bytes bound");
    {
        /* one message larger than the whole bound is still kept (it is being delivered) */
        char huge[8000];
        struct msg *m;
        unsigned long subs = 0;
        memset(huge, 'y', sizeof huge);
        m = chan_publish(e, "a", NULL, huge, sizeof huge, 2000, &subs);
        ok(m && subs == 1 && rec.n > 0 && rec.msg[rec.n - 1] == m,
           "a message above the whole bound is published and delivered");
        ok(msgid_cmp(chan_oldest(&la), m->id) == 0 && chan_next(&lb, mid(0, 0)) == NULL,
           "... and everything older was dropped, on every channel");
        ok(nchannels(e) == 2, "channel c (no subscriber, no history left) was freed (got %lu)",
           nchannels(e));
    }
    chan_unsubscribe(e, &la);
    chan_unsubscribe(e, &lb);
    chan_engine_destroy(e);
    rec_clear(&rec);
}

static void test_ttl_and_free(void)
{
    struct chan_limits lim = { 100, 1000ULL, 1ULL << 30, 0, 0 };
    struct recorder rec = { 0 };
    struct chan_engine *e = chan_engine_create(&lim, 1000, record, &rec);
    struct chan_link l = { 0 }, l2 = { 0 };
    struct msgid t1;
    struct msg *m, *held;
    unsigned long long b0 = hbytes(e);
    size_t n;
    struct msgid got[8];

    ok(b0 == 0 && nchannels(e) == 0, "start: 0 bytes, 0 channels");
    chan_subscribe(e, "s", &l);
    ok(nchannels(e) == 1, "a subscription creates its channel (1 channel)");
    chan_unsubscribe(e, &l);
    ok(nchannels(e) == 0 && hbytes(e) == b0,
       "unsubscribing the only subscriber of a channel without history frees it");
    ok(l.chan == NULL, "unsubscribe clears the link");
    chan_unsubscribe(e, &l);
    ok(nchannels(e) == 0, "unsubscribing twice is harmless");

    t1 = pub(e, "t1", NULL, "one", 1000, NULL)->id;
    held = pub(e, "t2", NULL, "two", 1500, NULL);
    msg_ref(held);
    ok(nchannels(e) == 2, "two channels with history (got %lu)", nchannels(e));
    ok(chan_next_expiry(e) == 2001, "chan_next_expiry: the oldest's, at age ttl + 1 ms (got %llu)",
       chan_next_expiry(e));
    chan_expire(e, 2000);
    ok(nchannels(e) == 2, "chan_expire at age = ttl (1000 ms): nothing dropped");
    chan_expire(e, 2001);
    ok(nchannels(e) == 1, "chan_expire at age 1001 ms: t1's message dropped, t1 freed (got %lu)",
       nchannels(e));
    ok(chan_next_expiry(e) == 2501, "chan_next_expiry: then t2's (got %llu)",
       chan_next_expiry(e));
    chan_subscribe(e, "t2", &l2);
    n = retained(&l2, got, 8);
    ok(n == 1 && msgid_cmp(got[0], held->id) == 0, "t2's younger message kept");
    chan_subscribe(e, "t1", &l);
    ok(msgid_is_zero(chan_dropped(&l)) && chan_next(&l, mid(0, 0)) == NULL,
       "t1 made again: empty, nothing dropped from it");
    ok(chan_gap(e, &l, mid(1000, 0)) == 1,
       "chan_gap on the re-made t1 after the boot id: gap (its drop is remembered)");
    ok(chan_gap(e, &l, t1) == 0, "chan_gap on the re-made t1 after its dropped id: no gap");
    chan_unsubscribe(e, &l);

    chan_expire(e, 2501);
    ok(chan_next(&l2, mid(0, 0)) == NULL && nchannels(e) == 1,
       "t2's message expired; t2 stays while subscribed");
    ok(chan_next_expiry(e) == 0, "chan_next_expiry: 0 with no message left");
    ok(held->refs >= 1 && wire_has(held, "data: two\n"),
       "a message referenced by a writer survives its drop from history");
    msg_unref(held);
    chan_unsubscribe(e, &l2);
    ok(nchannels(e) == 0, "everything dropped and unsubscribed: 0 channels");
    ok(hbytes(e) == b0, "history_bytes back to its start (%llu, got %llu)", b0, hbytes(e));

    /* again with many channels and the bytes bound, then TTL */
    {
        size_t i;
        for (i = 0; i < 200; i++) {
            char name[16];
            snprintf(name, sizeof name, "many%zu", i);
            pub(e, name, i % 2 ? "t" : NULL, "some data\nmore", 10000 + i / 50, NULL);
        }
        ok(nchannels(e) == 200, "200 channels (the table grew; got %lu)", nchannels(e));
        ok(hmsgs(e) == 200, "history_messages: the 200 messages held (got %llu)", hmsgs(e));
        chan_expire(e, 10000 + 1000 + 1); /* those of 10000 ms: ttl 1000 */
        ok(hmsgs(e) == 150, "history_messages: 150 after the oldest 50 expired (got %llu)",
           hmsgs(e));
        chan_expire(e, 20000);
        ok(nchannels(e) == 0 && hbytes(e) == b0 && hmsgs(e) == 0,
           "200 channels expired: 0 channels, history_bytes back to start, no message held "
           "(got %lu, %llu, %llu)", nchannels(e), hbytes(e), hmsgs(e));
    }
    /* publish expires first */
    m = pub(e, "p", NULL, "x", 30000, NULL);
    pub(e, "q", NULL, "y", 40000, NULL);
    ok(nchannels(e) == 1, "chan_publish expires old history first (p freed; got %lu)",
       nchannels(e));
    (void)m;
    chan_engine_destroy(e);
    rec_clear(&rec);
}

static void test_subscribers(void)
{
    struct recorder rec = { 0 };
    struct chan_engine *e = chan_engine_create(&big, 1000, record, &rec);
    struct chan_link x1 = { 0 }, x2 = { 0 }, y1 = { 0 }, x3 = { 0 };
    struct msg *m;
    unsigned long subs;
    int tag[4];

    x1.sub = &tag[0];
    x2.sub = &tag[1];
    y1.sub = &tag[2];
    x3.sub = &tag[3];
    ok(chan_subscribe(e, "x", &x1) == 0 && chan_subscribe(e, "x", &x2) == 0 &&
           chan_subscribe(e, "y", &y1) == 0,
       "subscribe x1, x2 to x and y1 to y");
    ok(x1.chan && x1.chan == x2.chan && y1.chan && y1.chan != x1.chan && x1.sub == &tag[0],
       "links of one channel share it; l->sub kept");
    ok(nchannels(e) == 2, "2 channels");

    m = pub(e, "x", NULL, "to x", 1000, &subs);
    ok(subs == 2 && rec.n == 2 && rec_has(&rec, &x1, m) == 1 && rec_has(&rec, &x2, m) == 1,
       "publish on x: deliver once for x1 and once for x2, *subscribers 2 (got %lu, %d calls)",
       subs, rec.n);
    rec_clear(&rec);
    m = pub(e, "y", NULL, "to y", 1000, &subs);
    ok(subs == 1 && rec.n == 1 && rec_has(&rec, &y1, m) == 1,
       "publish on y: deliver once, for y1 only (got %lu, %d calls)", subs, rec.n);
    rec_clear(&rec);
    m = pub(e, "z", NULL, "to z", 1000, &subs);
    ok(m && subs == 0 && rec.n == 0, "publish on z (no subscriber): no deliver");
    m = pub(e, "X", NULL, "to X", 1000, &subs);
    ok(m && subs == 0 && rec.n == 0, "channel names are case-sensitive: X is not x");
    chan_unsubscribe(e, &x1);
    m = pub(e, "x", NULL, "to x", 1000, &subs);
    ok(subs == 1 && rec.n == 1 && rec_has(&rec, &x2, m) == 1,
       "after x1 unsubscribes: deliver for x2 only");
    rec_clear(&rec);
    chan_subscribe(e, "x", &x1);
    chan_subscribe(e, "x", &x3);
    chan_unsubscribe(e, &x2); /* the middle of the list */
    m = pub(e, "x", NULL, "to x", 1000, &subs);
    ok(subs == 2 && rec.n == 2 && rec_has(&rec, &x1, m) == 1 && rec_has(&rec, &x3, m) == 1 &&
           rec_has(&rec, &x2, m) == 0,
       "unsubscribing from the middle of the list: the others still get it");
    rec_clear(&rec);
    chan_unsubscribe(e, &x1);
    chan_unsubscribe(e, &x3);
    chan_unsubscribe(e, &y1);
    ok(nchannels(e) == 4, "channels with history stay without subscribers (x y z X; got %lu)",
       nchannels(e));
    {
        /* many subscribers on one channel */
        struct chan_link ls[50];
        int i, all = 1;
        memset(ls, 0, sizeof ls);
        for (i = 0; i < 50; i++)
            chan_subscribe(e, "crowd", &ls[i]);
        m = pub(e, "crowd", NULL, "hi", 1000, &subs);
        for (i = 0; i < 50; i++)
            all &= rec_has(&rec, &ls[i], m) == 1;
        ok(subs == 50 && rec.n == 50 && all, "50 subscribers: deliver once each");
        rec_clear(&rec);
        for (i = 0; i < 50; i++)
            chan_unsubscribe(e, &ls[i]);
    }
    chan_engine_destroy(e);
    rec_clear(&rec);
}

static void test_refs(void)
{
    struct chan_limits lim = { 1, 3600000ULL, 1ULL << 30, 0, 0 };
    struct recorder rec = { 0 };
    struct chan_engine *e = chan_engine_create(&lim, 1000, record, &rec);
    struct chan_link l = { 0 };
    struct msg *m1, *m2;
    char want[64], buf[MSGID_STR_MAX];

    chan_subscribe(e, "r", &l);
    m1 = pub(e, "r", NULL, "first", 1000, NULL);
    ok(m1 && m1->refs == 2, "a delivered message: the history's ref and the writer's (got %u)",
       m1 ? m1->refs : 0);
    msg_ref(m1);
    snprintf(want, sizeof want, "id: %s\ndata: first\n\n", fmt(m1->id, buf));
    m2 = pub(e, "r", NULL, "second", 1000, NULL);
    ok(chan_next(&l, mid(0, 0)) == m2, "--history 1: the first message left the history");
    ok(m1->refs == 2 && m1->len == strlen(want) && memcmp(m1->wire, want, m1->len) == 0,
       "the dropped message is intact while referenced (refs %u)", m1->refs);
    msg_unref(m1);
    rec_clear(&rec); /* the writer's refs: m1 is freed here (ASan checks it) */
    msg_unref(NULL);
    ok(1, "msg_unref(NULL) is harmless");
    msg_ref(m2);
    chan_unsubscribe(e, &l);
    chan_engine_destroy(e);
    ok(m2->refs == 1 && wire_has(m2, "data: second\n"),
       "a message referenced past chan_engine_destroy stays readable");
    msg_unref(m2);
}

/* Ids assigned elsewhere (Redis): taken as given, never twice, never out of order. */
static void test_given_ids(void)
{
    struct recorder rec = { 0 };
    struct chan_engine *e = chan_engine_create(&big, 1000, record, &rec);
    struct chan_link a1 = { 0 }, b1 = { 0 };
    struct msgid id = mid(5000, 7), got[8];
    struct msg *m;
    unsigned long subs = 9;
    int tag[2];

    a1.sub = &tag[0];
    b1.sub = &tag[1];
    m = chan_store_id(e, "a", NULL, "x", 1, &id, 1000, &subs);
    ok(!m && errno == ENOENT && subs == 0, "a given id on a channel nobody has: ENOENT");
    ok(chan_subscribe(e, "a", &a1) == 0 && chan_subscribe(e, "b", &b1) == 0, "subscribe a, b");
    m = chan_store_id(e, "a", "t", "x", 1, &id, 1000, &subs);
    ok(m && msgid_cmp(m->id, id) == 0 && subs == 1, "stored with the given id 5000-7");
    ok(m && m->len == strlen("id: 5000-7\nevent: t\ndata: x\n\n") &&
           memcmp(m->wire, "id: 5000-7\nevent: t\ndata: x\n\n", m->len) == 0,
       "encoded with the given id");
    chan_fanout(e, m);
    ok(rec.n == 1 && rec_has(&rec, &a1, m) == 1, "fanned out to a's subscriber");
    m = chan_store_id(e, "a", NULL, "x", 1, &id, 1000, &subs);
    ok(!m && errno == EEXIST, "the same id again: EEXIST, not stored twice");
    id = mid(5000, 6);
    m = chan_store_id(e, "a", NULL, "x", 1, &id, 1000, &subs);
    ok(!m && errno == EEXIST, "an older id on the same channel: EEXIST");
    m = chan_store_id(e, "b", NULL, "y", 1, &id, 1000, &subs);
    ok(m != NULL, "an older id on another channel: stored (ids come per channel in order)");
    id = mid(4000, 0); /* before the engine's boot clock: Redis's time, not ours */
    m = chan_store_id(e, "a", NULL, "x", 1, &id, 1000, &subs);
    ok(!m && errno == EEXIST, "still nothing at or before a's newest");
    id = mid(5000, 8);
    m = chan_store_id(e, "a", NULL, "z", 1, &id, 1000, &subs);
    ok(m != NULL && retained(&a1, got, 8) == 2 && msgid_cmp(got[0], mid(5000, 7)) == 0 &&
           msgid_cmp(got[1], mid(5000, 8)) == 0,
       "a's history: 5000-7, 5000-8 (chan_next in id order)");
    ok(msgid_cmp(chan_last_id(e), mid(5000, 8)) == 0, "the engine's last id follows the given ones");
    m = chan_store(e, "a", NULL, "w", 1, 1000, &subs);
    ok(m && msgid_cmp(m->id, mid(5000, 9)) == 0, "an id it assigns comes after them");
    chan_unsubscribe(e, &a1);
    chan_unsubscribe(e, &b1);
    rec_clear(&rec);
    chan_engine_destroy(e);

    m = msg_create(NULL, mid(12, 3), NULL, "a\nb", 3);
    ok(m && m->refs == 1 && !m->chan && m->len == strlen("id: 12-3\ndata: a\ndata: b\n\n") &&
           memcmp(m->wire, "id: 12-3\ndata: a\ndata: b\n\n", m->len) == 0,
       "msg_create: one event outside any engine");
    msg_unref(m);
}

/* FNV-1a, the unkeyed hash channels had: names chosen to share its low bits
 * all landed in one chain. */
static unsigned long long fnv1a(const char *s)
{
    unsigned long long h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* finding 10 (issue 18): crafted names cannot make one long hash chain */
static void test_hash_flood(void)
{
    static const struct chan_limits lim = { 10, 3600000ULL, 1ULL << 30, 0, 0 };
    struct recorder rec = { 0 };
    struct chan_engine *e = chan_engine_create(&lim, 1000, record, &rec);
    static struct chan_link links[200];
    char names[200][24];
    unsigned long long i;
    int n = 0;

    /* 200 names whose FNV-1a agrees in its low 12 bits: one bucket of any table
     * up to 4096 buckets, had the hash been unkeyed */
    for (i = 0; n < 200; i++) {
        char name[24];
        snprintf(name, sizeof name, "n%llu", i);
        if ((fnv1a(name) & 4095) == 0)
            memcpy(names[n++], name, sizeof name);
    }
    for (n = 0; n < 200; n++)
        chan_subscribe(e, names[n], &links[n]);
    ok(nchannels(e) == 200 && chan_longest_chain(e) <= 12,
       "finding 10: 200 names that share FNV-1a's low 12 bits spread over the table "
       "(longest chain %zu)", chan_longest_chain(e));
    for (n = 0; n < 200; n++)
        chan_unsubscribe(e, &links[n]);
    ok(nchannels(e) == 0, "... and all go when unsubscribed");
    chan_engine_destroy(e);
}

/* finding 3 (issue 18): channels that exist only because someone subscribed
 * take nothing from the history; --max-channels bounds them */
static void test_channel_bound(void)
{
    char data[1000];
    struct chan_limits lim = { 100, 3600000ULL, 1ULL << 30, 0, 0 };
    struct recorder rec = { 0 };
    struct chan_engine *e;
    static struct chan_link subs[1200];
    struct chan_link keep = { 0 }, extra = { 0 };
    struct chan_stats st;
    struct msgid got[16];
    unsigned long long one;
    char name[CHAN_NAME_MAX + 1];
    int i, bounded = 1;

    memset(data, 'x', sizeof data);
    data[sizeof data - 1] = '\0';
    e = chan_engine_create(&lim, 1000, record, &rec);
    chan_subscribe(e, "keep", &keep);
    pub(e, "keep", NULL, data, 1000, NULL);
    one = hbytes(e);
    chan_unsubscribe(e, &keep);
    chan_engine_destroy(e);

    /* room for 9 messages of history; then 1,200 channels of long names
     * subscribed by anonymous subscribers */
    lim.bytes_max = (size_t)(9 * one + one / 2);
    e = chan_engine_create(&lim, 1000, record, &rec);
    chan_subscribe(e, "keep", &keep);
    for (i = 0; i < 9; i++)
        pub(e, "keep", NULL, data, 1000 + (unsigned)i, NULL);
    for (i = 0; i < 1200; i++) {
        memset(name, 'z', CHAN_NAME_MAX);
        snprintf(name, sizeof name, "%04d", i);
        name[4] = 'z';
        name[CHAN_NAME_MAX] = '\0';
        if (chan_subscribe(e, name, &subs[i]) < 0)
            bounded = 0;
        if (hbytes(e) > lim.bytes_max)
            bounded = 0;
    }
    chan_stats_read(e, &st);
    ok(bounded && retained(&keep, got, 16) == 9 && msgid_is_zero(chan_dropped(&keep)),
       "finding 3: 1,200 channels subscribed to take nothing of the history: 9 of 9 kept "
       "(kept %zu)", retained(&keep, got, 16));
    ok(st.channels == 1201 && st.channel_bytes >= 1201 * (CHAN_NAME_MAX + 1ULL) &&
           st.channel_bytes == chan_cost(4) + 1200 * chan_cost(CHAN_NAME_MAX),
       "finding 3: the channels are counted on their own (channel_bytes %llu for 1,201)",
       st.channel_bytes);
    for (i = 0; i < 1200; i++)
        chan_unsubscribe(e, &subs[i]);
    chan_stats_read(e, &st);
    ok(st.channels == 1 && st.channel_bytes == chan_cost(4),
       "unsubscribed, they go and their bytes with them");
    chan_unsubscribe(e, &keep);
    chan_engine_destroy(e);

    /* --max-channels: the one channel too many is refused, not made */
    lim.channels_max = 3;
    e = chan_engine_create(&lim, 1000, record, &rec);
    ok(chan_subscribe(e, "a", &subs[0]) == 0 && chan_subscribe(e, "b", &subs[1]) == 0 &&
           chan_subscribe(e, "c", &subs[2]) == 0,
       "--max-channels 3: three channels");
    errno = 0;
    ok(chan_subscribe(e, "d", &extra) == -1 && errno == ENOSPC && nchannels(e) == 3,
       "... a fourth subscribe gets ENOSPC and makes nothing");
    ok(chan_subscribe(e, "a", &extra) == 0, "... a subscriber more on an existing one is fine");
    chan_unsubscribe(e, &extra);
    {
        unsigned long n = 0;
        errno = 0;
        ok(chan_store(e, "d", NULL, "x", 1, 1000, &n) == NULL && errno == ENOSPC,
           "... a publish to a fourth channel gets ENOSPC");
    }
    chan_stats_read(e, &st);
    ok(st.channels_refused == 2, "... both refusals counted (%lu)", st.channels_refused);
    chan_unsubscribe(e, &subs[2]);
    ok(chan_subscribe(e, "d", &extra) == 0, "once one goes, a new one may be made");
    chan_unsubscribe(e, &extra);
    chan_unsubscribe(e, &subs[0]);
    chan_unsubscribe(e, &subs[1]);
    chan_engine_destroy(e);
    rec_clear(&rec);
}

/* finding 10 (issue 18): a message a slow subscriber is still writing when
 * the history lets go of it stays counted in --history-bytes */
static void test_held(void)
{
    char data[2000];
    struct chan_limits lim = { 2, 3600000ULL, 1ULL << 30, 0, 0 };
    struct recorder rec = { 0 };
    struct chan_engine *e = chan_engine_create(&lim, 1000, record, &rec);
    struct chan_link l = { 0 };
    struct chan_stats st;
    struct msg *m, *out;
    unsigned long long size;

    memset(data, 'x', sizeof data);
    data[sizeof data - 1] = '\0';
    chan_subscribe(e, "a", &l);
    m = pub(e, "a", NULL, data, 1000, NULL);
    msg_ref(m); /* a subscriber writing it in parts */
    rec_clear(&rec); /* the other writers are done with it */
    size = sizeof *m + m->len;
    pub(e, "a", NULL, "b", 1001, NULL);
    pub(e, "a", NULL, "c", 1002, NULL); /* --history 2: m leaves the history */
    rec_clear(&rec);
    chan_stats_read(e, &st);
    ok(st.held_bytes == size, "finding 10: the message a writer holds is counted when the "
                              "history drops it (held %llu, its size %llu)", st.held_bytes, size);
    msg_unref(m);
    chan_stats_read(e, &st);
    ok(st.held_bytes == 0, "... and no more once the writer lets go");
    out = msg_create(e, mid(5000, 1), NULL, "abc", 3);
    chan_stats_read(e, &st);
    ok(out && st.held_bytes == sizeof *out + out->len,
       "a message made outside the history (a Redis batch) is counted too");
    msg_unref(out);
    chan_stats_read(e, &st);
    ok(st.held_bytes == 0, "... until freed");

    /* what writers hold is part of the bound: history gives way to it */
    {
        unsigned long long bound;
        chan_engine_destroy(e);
        lim.history = 100;
        e = chan_engine_create(&lim, 1000, record, &rec);
        chan_subscribe(e, "a", &l);
        pub(e, "a", NULL, data, 1000, NULL);
        rec_clear(&rec);
        bound = hbytes(e);
        chan_unsubscribe(e, &l);
        chan_engine_destroy(e);
        lim.bytes_max = (size_t)(3 * bound);
        e = chan_engine_create(&lim, 1000, record, &rec);
        chan_subscribe(e, "a", &l);
        out = msg_create(e, mid(1, 1), NULL, data, strlen(data)); /* held: about one */
        pub(e, "a", NULL, data, 1000, NULL);
        rec_clear(&rec);
        pub(e, "a", NULL, data, 1001, NULL);
        rec_clear(&rec);
        pub(e, "a", NULL, data, 1002, NULL);
        rec_clear(&rec);
        chan_stats_read(e, &st);
        ok(st.history_bytes + st.held_bytes <= lim.bytes_max,
           "history (%llu) + held (%llu) stay within --history-bytes %zu", st.history_bytes,
           st.held_bytes, lim.bytes_max);
        msg_unref(out);
    }
    chan_unsubscribe(e, &l);
    chan_engine_destroy(e);
    rec_clear(&rec);
}

static int resyncs;
static void count_resync(struct chan_link *l, void *ctx)
{
    (void)l;
    (void)ctx;
    resyncs++;
}

/* A hole in what Redis delivered: every channel marked, every subscriber told */
static void test_gap_all(void)
{
    static const struct chan_limits lim = { 10, 3600000ULL, 1ULL << 30, 0, 0 };
    struct recorder rec = { 0 };
    struct chan_engine *e = chan_engine_create(&lim, 1000, record, &rec);
    struct chan_link a = { 0 }, b = { 0 }, b2 = { 0 }, c = { 0 };
    char buf[MSGID_STR_MAX];

    chan_engine_on_resync(e, count_resync);
    chan_engine_set_floor(e, mid(50, 0));
    chan_subscribe(e, "a", &a);
    ok(msgid_cmp(chan_dropped(&a), mid(50, 0)) == 0,
       "a channel made after set_floor(50-0) starts there (dropped %s)", fmt(chan_dropped(&a), buf));
    chan_subscribe(e, "b", &b);
    chan_subscribe(e, "b", &b2);
    resyncs = 0;
    chan_gap_all(e, mid(70, 3));
    ok(resyncs == 3 && msgid_cmp(chan_dropped(&a), mid(70, 3)) == 0 &&
           msgid_cmp(chan_dropped(&b), mid(70, 3)) == 0,
       "chan_gap_all(70-3): both channels dropped up to it, 3 subscribers told (%d)", resyncs);
    chan_subscribe(e, "c", &c);
    ok(msgid_cmp(chan_dropped(&c), mid(70, 3)) == 0, "the floor follows: a new channel too");
    chan_unsubscribe(e, &a);
    chan_unsubscribe(e, &b);
    chan_unsubscribe(e, &b2);
    chan_unsubscribe(e, &c);
    chan_engine_destroy(e);
}

/* An internal channel's codec: the data as one data: line. */
static struct msg *plain_make(void *ctx, struct msgid id, const char *type, const char *data,
                              size_t len)
{
    struct msg *m = msg_alloc(id, len + 8, 0);

    (void)ctx;
    (void)type;
    if (!m)
        return NULL;
    memcpy(m->wire, "data: ", 6);
    memcpy(m->wire + 6, data, len);
    memcpy(m->wire + 6 + len, "\n\n", 2);
    m->len = len + 8;
    return m;
}

/* The internal channels (the Mercure hub's) are counted apart: /status and /metrics show
 * them as Mercure's, not as channels. */
static void test_internal_counts(void)
{
    static const struct chan_limits lim = { 4, 1000ULL, 1ULL << 20, 0, 0 };
    static const struct chan_codec codec = { plain_make, NULL };
    struct chan_engine *e = chan_engine_create(&lim, 1000, NULL, NULL);
    struct chan_stats st;

    ok(e != NULL, "internal counts: an engine");
    if (!e)
        return;
    chan_engine_set_codec(e, &codec);
    ok(pub(e, "@hub", NULL, "u1", 1000, NULL) && pub(e, "@hub", NULL, "u2", 1001, NULL) &&
           pub(e, "news", NULL, "m1", 1002, NULL),
       "internal counts: two updates to @hub, one message to news");
    chan_stats_read(e, &st);
    ok(st.channels == 2 && st.internal_channels == 1 && st.published == 3 &&
           st.internal_published == 2,
       "internal counts: 2 channels, 1 internal; 3 published, 2 internal (got %lu %lu %lu %lu)",
       st.channels, st.internal_channels, st.published, st.internal_published);
    chan_expire(e, 5000);
    chan_stats_read(e, &st);
    ok(st.channels == 0 && st.internal_channels == 0 && st.internal_published == 2,
       "internal counts: both expired, the internal channel no longer counted, the total kept "
       "(got %lu %lu %lu)", st.channels, st.internal_channels, st.internal_published);
    chan_engine_destroy(e);
}

int main(void)
{
    test_internal_counts();
    test_ids_and_wire();
    test_hash_flood();
    test_channel_bound();
    test_held();
    test_gap_all();
    test_history();
    test_bytes();
    test_ttl_and_free();
    test_subscribers();
    test_refs();
    test_given_ids();
    return done_testing();
}
