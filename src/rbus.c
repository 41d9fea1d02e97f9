/* rbus.c -- channels through Redis: ids and history in Redis streams, one blocking read per responder, resume from Redis */
#include "config.h"

#include "rbus.h"
#include "fcgireq.h"
#include "log.h"
#include "monotime.h"
#include "pub.h"
#include "redisloop.h"
#include "rmerge.h"
#include "stream.h"

#include <errno.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The functions (src/fcgi-sse.lua), one C string per line. */
static const char rbus_lua[] =
#include "src/fcgi-sse-lua.h"
    ;

#define RBUS_KEY_LAST "fcgi-sse:last"
#define RBUS_KEY_PREFIX "fcgi-sse:chan:"
#define RBUS_KEY_MAX (sizeof RBUS_KEY_PREFIX + CHAN_NAME_MAX)
/* The blocking read: at most this long (a watchdog sees a dead link
 * within it plus RBUS_REPLY_NS); its reply at most about RBUS_READ_BYTES
 * (entries of --max-message over all its channels), and at most
 * RBUS_READ_COUNT entries a stream. */
#define RBUS_BLOCK_MS 5000
#define RBUS_READ_COUNT 256
#define RBUS_READ_BYTES (16 * 1024 * 1024)
/* A reply (or a connection) later than this: the link is taken for dead. */
#define RBUS_REPLY_NS (5 * 1000000000LL)
#define RBUS_CONNECT_NS (2 * 1000000000LL)
/* Reconnecting: after 100 ms, doubling up to 5 s. */
#define RBUS_BACKOFF_MIN_NS 100000000LL
#define RBUS_BACKOFF_MAX_NS (5 * 1000000000LL)
/* Publishes waiting for Redis at most (more: 503). */
#define RBUS_PUB_MAX 4096
/* Fetches holding a slot (in flight, or their batch being written) at
 * most; with RBUS_FETCH_BYTES each, resumes hold at most their product. */
#define RBUS_FETCH_SLOTS 64
#define RBUS_FETCH_BYTES (1024 * 1024)
/* CLIENT UNBLOCK that found the read not yet blocked: tried again after this. */
#define RBUS_UNBLOCK_RETRY_NS 5000000LL

/* A channel the blocking read covers: some local subscriber wants it. */
struct rchan {
    struct rchan *next;
    unsigned refs;                 /* rbus_watch calls not yet undone; 0: to be freed */
    int known;                     /* pos is fixed */
    int asking;                    /* GET fcgi-sse:last in flight to fix it */
    unsigned known_gen;            /* the bus's gen when pos was fixed */
    struct msgid pos;              /* the newest entry read (or the start): read after it */
    size_t keylen;
    char key[RBUS_KEY_MAX];        /* fcgi-sse:chan:NAME */
};

enum rbus_state { RBUS_DOWN, RBUS_CONNECTING, RBUS_UP };

struct rbus_fetch {
    struct rbus *b;
    struct rbus_fetch *next;       /* the queue waiting for a slot or for Redis */
    rbus_fetch_fn fn;
    void *arg;                     /* NULL: released while in flight */
    int queued, in_flight, slot;
    int now;                       /* only the last id issued */
    int check_reset;
    struct msgid after;
    unsigned n;
    char keys[CHAN_SUB_MAX][RBUS_KEY_MAX];
};

struct rbus {
    struct loop *loop;
    struct chan_engine *engine;
    struct stats_redis *st;
    struct rbus_config cfg;
    struct ctl_publisher publisher;
    enum rbus_state state;
    redisAsyncContext *cmd;        /* commands: FUNCTION LOAD, FCALL, GET, CLIENT UNBLOCK */
    redisAsyncContext *rd;         /* the blocking read */
    int cmd_ready, rd_ready;       /* handshakes answered */
    long long rd_id;               /* CLIENT ID of rd (for CLIENT UNBLOCK) */
    struct loop_timer retry;       /* reconnect after backoff */
    struct loop_timer watchdog;    /* connect and reply timeouts, each second */
    struct loop_timer teardown;    /* frees what a failure left, outside hiredis's calls */
    struct loop_timer unblock;     /* CLIENT UNBLOCK again */
    long long backoff_ns, connect_started, cmd_progress, rd_sent;
    unsigned long cmd_pending;     /* commands in flight on cmd */
    int connected_once;
    struct rchan *chans;
    unsigned long nchans, nreaped;
    unsigned gen, read_gen;        /* bumped when a channel's pos is fixed / of the read */
    int reading, in_read;
    unsigned long read_count;      /* COUNT of the read in flight */
    unsigned long pub_pending;
    struct rbus_fetch *fq_head, *fq_tail;
    unsigned slots;
    struct log_limit warn;
};

/* A publish waiting for its id. */
struct rpub {
    struct rbus *b;
    struct stream *s;
    char channel[CHAN_NAME_MAX + 1];
};

static void rbus_read_next(struct rbus *b);
static void rbus_fetch_send(struct rbus *b, struct rbus_fetch *f);
static void rbus_fetch_pump(struct rbus *b);
static void rbus_ask_pos(struct rbus *b, struct rchan *c);

/* ---------------------------------------------------------------- state */

/* Keeps a reason for /status: no quote, backslash or control byte. */
static void rbus_error(struct rbus *b, const char *what, const char *detail)
{
    char *p;

    snprintf(b->st->last_error, sizeof b->st->last_error, "%s%s%s", what, detail ? ": " : "",
             detail ? detail : "");
    for (p = b->st->last_error; *p; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
}

/* A connection failed (or Redis misbehaved): both go, the reconnect is
 * scheduled. The contexts still open are freed from a timer, never from
 * inside a hiredis callback of another context. */
static void rbus_down(struct rbus *b, const char *why, const char *detail)
{
    long long now = monotime_ns();

    if (b->state == RBUS_DOWN)
        return; /* the first cause is the one /status keeps */
    if (why)
        rbus_error(b, why, detail);
    if (log_allow(&b->warn))
        log_warn("redis %s: %s; reconnecting in %lld ms", b->st->where, b->st->last_error,
                 b->backoff_ns / 1000000);
    b->state = RBUS_DOWN;
    b->st->connected = 0;
    b->cmd_ready = b->rd_ready = 0;
    b->reading = 0;
    if (loop_timer_set(b->loop, &b->teardown, now) < 0 ||
        loop_timer_set(b->loop, &b->retry, now + b->backoff_ns) < 0)
        log_errno("redis: a timer", ENOMEM);
    b->backoff_ns *= 2;
    if (b->backoff_ns > RBUS_BACKOFF_MAX_NS)
        b->backoff_ns = RBUS_BACKOFF_MAX_NS;
}

static void rbus_free_contexts(struct rbus *b)
{
    redisAsyncContext *cmd = b->cmd, *rd = b->rd;

    /* cleared first: the callbacks hiredis now calls see stale contexts */
    b->cmd = b->rd = NULL;
    if (cmd)
        redisAsyncFree(cmd);
    if (rd)
        redisAsyncFree(rd);
}

static void on_teardown(struct loop *l, struct loop_timer *t)
{
    struct rbus *b = (struct rbus *)((char *)t - offsetof(struct rbus, teardown));
    (void)l;

    if (b->state == RBUS_DOWN)
        rbus_free_contexts(b);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct rbus *b = ac->data;
    (void)status;

    if (ac == b->cmd)
        b->cmd = NULL; /* hiredis frees it */
    else if (ac == b->rd)
        b->rd = NULL;
    else
        return; /* one we let go of */
    rbus_down(b, "connection lost", ac->errstr[0] ? ac->errstr : "closed by Redis");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct rbus *b = ac->data;

    if (status == REDIS_OK)
        return; /* the handshake's replies tell the rest */
    if (ac == b->cmd)
        b->cmd = NULL; /* hiredis frees it after this call */
    else if (ac == b->rd)
        b->rd = NULL;
    else
        return;
    rbus_down(b, "cannot connect", ac->errstr);
}

/* The connection is whole: both handshakes answered. */
static void rbus_ready(struct rbus *b)
{
    struct rchan *c;

    if (!b->cmd_ready || !b->rd_ready || b->state != RBUS_CONNECTING)
        return;
    b->state = RBUS_UP;
    b->st->connected = 1;
    b->backoff_ns = RBUS_BACKOFF_MIN_NS;
    if (b->connected_once)
        b->st->reconnects++;
    log_info("redis %s: connected%s", b->st->where, b->connected_once ? " again" : "");
    b->connected_once = 1;
    b->cmd_progress = monotime_ns();
    /* positions first (a fetch must run after its channels' positions are fixed) */
    for (c = b->chans; c; c = c->next)
        if (c->refs && !c->known && !c->asking)
            rbus_ask_pos(b, c);
    rbus_fetch_pump(b);
    rbus_read_next(b);
}

/* AUTH, SELECT: an error ends the attempt. */
static void on_setup(redisAsyncContext *ac, void *reply, void *priv)
{
    struct rbus *b = ac->data;
    redisReply *r = reply;
    (void)priv;

    if (ac != b->cmd && ac != b->rd)
        return; /* not counted in cmd_pending: sent before the connection was whole */
    if (r && r->type == REDIS_REPLY_ERROR)
        rbus_down(b, "Redis refused the setup", r->str);
}

static void on_loaded(redisAsyncContext *ac, void *reply, void *priv)
{
    struct rbus *b = ac->data;
    redisReply *r = reply;
    (void)priv;

    if (ac != b->cmd)
        return;
    b->cmd_pending--;
    b->cmd_progress = monotime_ns();
    if (!r || r->type == REDIS_REPLY_ERROR) {
        rbus_down(b, "FUNCTION LOAD", r ? r->str : ac->errstr[0] ? ac->errstr : "no reply");
        return;
    }
    b->cmd_ready = 1;
    rbus_ready(b);
}

static void on_client_id(redisAsyncContext *ac, void *reply, void *priv)
{
    struct rbus *b = ac->data;
    redisReply *r = reply;
    (void)priv;

    if (ac != b->rd)
        return;
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        rbus_down(b, "CLIENT ID", r && r->type == REDIS_REPLY_ERROR ? r->str
                                  : !r && ac->errstr[0] ? ac->errstr : "no id");
        return;
    }
    b->rd_id = r->integer;
    b->rd_ready = 1;
    rbus_ready(b);
}

/* Sends a command on cmd, counted for the watchdog. 0, or -1. */
static int rbus_cmd(struct rbus *b, redisCallbackFn *fn, void *priv, int argc, const char **argv,
                    const size_t *lens)
{
    if (!b->cmd || redisAsyncCommandArgv(b->cmd, fn, priv, argc, argv, lens) != REDIS_OK)
        return -1;
    if (b->cmd_pending++ == 0)
        b->cmd_progress = monotime_ns();
    return 0;
}

/* AUTH and SELECT, first on a new connection. */
static int rbus_handshake(struct rbus *b, redisAsyncContext *ac)
{
    const struct redisurl *u = &b->cfg.url;
    char db[16];
    int rc = REDIS_OK;

    if (u->password[0] && u->user[0])
        rc = redisAsyncCommand(ac, on_setup, NULL, "AUTH %s %s", u->user, u->password);
    else if (u->password[0])
        rc = redisAsyncCommand(ac, on_setup, NULL, "AUTH %s", u->password);
    if (rc == REDIS_OK && u->db) {
        snprintf(db, sizeof db, "%u", u->db);
        rc = redisAsyncCommand(ac, on_setup, NULL, "SELECT %s", db);
    }
    return rc == REDIS_OK ? 0 : -1;
}

static redisAsyncContext *rbus_open(struct rbus *b)
{
    const struct redisurl *u = &b->cfg.url;
    redisAsyncContext *ac = u->is_unix ? redisAsyncConnectUnix(u->path)
                                       : redisAsyncConnect(u->host, u->port);

    if (!ac)
        return NULL;
    if (ac->err) {
        rbus_error(b, "cannot connect", ac->errstr);
        redisAsyncFree(ac);
        return NULL;
    }
    ac->data = b;
    if (redisloop_attach(ac, b->loop) < 0 ||
        redisAsyncSetConnectCallback(ac, on_connect) != REDIS_OK ||
        redisAsyncSetDisconnectCallback(ac, on_disconnect) != REDIS_OK ||
        rbus_handshake(b, ac) < 0) {
        rbus_error(b, "cannot set up the connection", NULL);
        redisAsyncFree(ac);
        return NULL;
    }
    return ac;
}

static void on_retry(struct loop *l, struct loop_timer *t)
{
    struct rbus *b = (struct rbus *)((char *)t - offsetof(struct rbus, retry));
    const char *argv[4] = { "FUNCTION", "LOAD", "REPLACE", rbus_lua };
    size_t lens[4] = { 8, 4, 7, sizeof rbus_lua - 1 };
    (void)l;

    if (b->state != RBUS_DOWN)
        return;
    rbus_free_contexts(b);
    b->state = RBUS_CONNECTING;
    b->connect_started = monotime_ns();
    b->cmd = rbus_open(b);
    b->rd = b->cmd ? rbus_open(b) : NULL;
    b->cmd_pending = 0;
    if (!b->cmd || !b->rd || rbus_cmd(b, on_loaded, NULL, 4, argv, lens) < 0 ||
        redisAsyncCommand(b->rd, on_client_id, NULL, "CLIENT ID") != REDIS_OK) {
        rbus_down(b, NULL, NULL);
        return;
    }
}

static void on_watchdog(struct loop *l, struct loop_timer *t)
{
    struct rbus *b = (struct rbus *)((char *)t - offsetof(struct rbus, watchdog));
    long long now = monotime_ns();

    if (b->state == RBUS_CONNECTING && now - b->connect_started > RBUS_CONNECT_NS)
        rbus_down(b, "no connection within 2 s", NULL);
    else if (b->state == RBUS_UP && b->cmd_pending && now - b->cmd_progress > RBUS_REPLY_NS)
        rbus_down(b, "no reply within 5 s", NULL);
    else if (b->state == RBUS_UP && b->reading &&
             now - b->rd_sent > RBUS_BLOCK_MS * 1000000LL + RBUS_REPLY_NS)
        rbus_down(b, "the blocking read got no reply within 10 s", NULL);
    if (loop_timer_set(l, t, now + 1000000000LL) < 0)
        log_errno("redis: the watchdog's timer", ENOMEM);
}

/* ---------------------------------------------------------------- publishing */

static int rp_write(void *ctx, const char *buf, size_t len)
{
    return fcgireq_write(ctx, buf, len);
}

static int rp_flush(void *ctx)
{
    return fcgireq_flush(ctx);
}

/* Answers a waiting publish with its id (id non-NULL) or a 503, and frees it. */
static void rbus_pub_finish(struct rpub *p, const struct msgid *id, const char *why)
{
    struct resp_sink o = { rp_write, rp_flush, &p->s->req, NULL };

    if (id)
        (void)pub_answer(&o, *id, p->channel, chan_subscribers(p->b->engine, p->channel));
    else
        (void)resp_error(&o, 503, why, 1, 0);
    stream_end(p->s, 1);
    stream_destroy(p->s);
    p->b->pub_pending--;
    free(p);
}

static void on_published(redisAsyncContext *ac, void *reply, void *priv)
{
    struct rpub *p = priv;
    struct rbus *b = p->b;
    redisReply *r = reply;
    struct msgid id;

    if (ac == b->cmd) {
        b->cmd_pending--;
        b->cmd_progress = monotime_ns();
    }
    if (r && r->type == REDIS_REPLY_STRING && msgid_parse(r->str, &id) == 0) {
        rbus_pub_finish(p, &id, NULL);
        return;
    }
    if (r && r->type == REDIS_REPLY_ERROR && log_allow(&b->warn))
        log_warn("redis: publishing on %s: %s", p->channel, r->str);
    /* someone ran FUNCTION FLUSH (or loaded another library): a new
     * connection loads them again */
    if (r && r->type == REDIS_REPLY_ERROR && ac == b->cmd && strstr(r->str, "Function not found"))
        rbus_down(b, "the functions are gone from Redis", r->str);
    rbus_pub_finish(p, NULL, r ? "Redis refused the message: try again later"
                               : "Redis is unreachable: try again later");
}

static void rbus_publish(void *ctx, struct stream *s, const char *channel, const char *type,
                         const char *body, size_t len)
{
    struct rbus *b = ctx;
    struct rpub *p = malloc(sizeof *p);
    char key[RBUS_KEY_MAX], history[24];
    const char *argv[8];
    size_t lens[8];

    if (!p) {
        struct resp_sink o = { rp_write, rp_flush, &s->req, NULL };
        (void)resp_error(&o, 503, "out of memory for the message: try again later", 1, 0);
        stream_end(s, 1);
        stream_destroy(s);
        return;
    }
    p->b = b;
    p->s = s;
    snprintf(p->channel, sizeof p->channel, "%s", channel);
    b->pub_pending++;
    if (b->state != RBUS_UP) {
        rbus_pub_finish(p, NULL, "Redis is unreachable: try again later");
        return;
    }
    if (b->pub_pending > RBUS_PUB_MAX) {
        rbus_pub_finish(p, NULL, "too many messages waiting for Redis: try again later");
        return;
    }
    snprintf(key, sizeof key, RBUS_KEY_PREFIX "%s", channel);
    snprintf(history, sizeof history, "%lu", b->cfg.history);
    argv[0] = "FCALL";
    argv[1] = "fcgi_sse_publish";
    argv[2] = "2";
    argv[3] = RBUS_KEY_LAST;
    argv[4] = key;
    argv[5] = history;
    argv[6] = type ? type : "";
    argv[7] = body;
    for (int i = 0; i < 7; i++)
        lens[i] = strlen(argv[i]);
    lens[7] = len;
    if (rbus_cmd(b, on_published, p, 8, argv, lens) < 0)
        rbus_pub_finish(p, NULL, "Redis is unreachable: try again later");
}

const struct ctl_publisher *rbus_publisher(struct rbus *b)
{
    return &b->publisher;
}

/* ---------------------------------------------------------------- entries */

/* The fields of a stream entry [id, [field, value, ...]] as
 * fcgi_sse_publish writes them: *id, *type (NULL for none), data[0,
 * *len). 1 when it is such a message; 0 when its id parses but the rest
 * does not (a bad type, data that is not UTF-8 text or is over
 * --max-message: logged, skipped); -1 when not even the id parses. */
static int rbus_fields(struct rbus *b, const redisReply *e, struct msgid *id, const char **type,
                       const char **data, size_t *len)
{
    const redisReply *f;
    size_t i;

    *type = *data = NULL;
    *len = 0;
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || msgid_parse(e->element[0]->str, id) < 0)
        return -1;
    f = e->element[1];
    for (i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (strcmp(k->str, "type") == 0) {
            *type = v->str[0] ? v->str : NULL;
        } else if (strcmp(k->str, "data") == 0) {
            *data = v->str;
            *len = v->len;
        }
    }
    if (!*data || (*type && !chan_name_ok(*type, CHAN_TYPE_MAX)) || *len > b->cfg.max_message ||
        !pub_text_ok(*data, *len)) {
        if (log_allow(&b->warn))
            log_warn("redis: entry %s skipped: not a message fcgi_sse_publish makes (type, "
                     "UTF-8 text, --max-message)", e->element[0]->str);
        return 0;
    }
    return 1;
}

/* The message of an entry (rbus_fields), or NULL (skipped, or ENOMEM). */
static struct msg *rbus_entry(struct rbus *b, const redisReply *e, struct msgid *id, int *bad)
{
    const char *type, *data;
    size_t len;
    int rc = rbus_fields(b, e, id, &type, &data, &len);

    *bad = rc < 0;
    return rc == 1 ? msg_create(*id, type, data, len) : NULL;
}

/* ---------------------------------------------------------------- the blocking read */

static struct rchan *rbus_find(struct rbus *b, const char *key, size_t len)
{
    struct rchan *c;

    for (c = b->chans; c; c = c->next)
        if (c->keylen == len && memcmp(c->key, key, len) == 0)
            return c;
    return NULL;
}

/* Frees the channels nobody wants, unless a reply may still name them. */
static void rbus_reap(struct rbus *b)
{
    struct rchan **p = &b->chans;

    if (b->in_read || !b->nreaped)
        return;
    while (*p) {
        struct rchan *c = *p;
        if (c->refs == 0 && !c->asking) {
            *p = c->next;
            b->nreaped--;
            free(c);
        } else {
            p = &c->next;
        }
    }
}

/* Stores and fans out what one XREAD brought, in id order (rmerge). */
/* Entries a stream in one blocking read over n channels. */
static unsigned long rbus_read_count(const struct rbus *b, unsigned long n)
{
    unsigned long c = RBUS_READ_BYTES / ((b->cfg.max_message + 256) * (n ? n : 1));

    return c < 1 ? 1 : c > RBUS_READ_COUNT ? RBUS_READ_COUNT : c;
}

static void rbus_take(struct rbus *b, const redisReply *r)
{
    size_t total = 0, i, j, k, n = 0;
    unsigned ns = (unsigned)r->elements;
    struct rmerge_item *v;
    struct rchan **sc;
    int *full;
    struct msgid *last;

    for (i = 0; i < r->elements; i++) {
        const redisReply *s = r->element[i];
        if (s->type == REDIS_REPLY_ARRAY && s->elements == 2 &&
            s->element[1]->type == REDIS_REPLY_ARRAY)
            total += s->element[1]->elements;
    }
    v = calloc(total ? total : 1, sizeof *v);
    sc = calloc(ns ? ns : 1, sizeof *sc);
    full = calloc(ns ? ns : 1, sizeof *full);
    last = calloc(ns ? ns : 1, sizeof *last);
    if (!v || !sc || !full || !last) {
        /* nothing stored: the next read asks again from the same ids */
        log_errno("redis: taking entries", ENOMEM);
        goto out;
    }
    for (i = 0; i < ns; i++) {
        const redisReply *s = r->element[i], *es;
        if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
            s->element[0]->type != REDIS_REPLY_STRING || s->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        sc[i] = rbus_find(b, s->element[0]->str, s->element[0]->len);
        es = s->element[1];
        full[i] = es->elements >= b->read_count;
        for (j = 0; j < es->elements; j++) {
            struct msgid id;
            const redisReply *e = es->element[j];
            if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
                e->element[0]->type != REDIS_REPLY_STRING || msgid_parse(e->element[0]->str, &id) < 0)
                continue;
            last[i] = id;
            v[n].id = id;
            v[n].stream = (unsigned)i;
            v[n].p = (void *)e;
            n++;
        }
    }
    /* A channel whose position was fixed after this read was sent is not in
     * it, and may have entries after its position that come before some the
     * read brought: those wait for the next read, which covers it (else a
     * subscriber of both would get them out of order, and skip one). */
    {
        struct rchan *c;
        struct msgid cap = { 0, 0 };
        int capped = 0;
        for (c = b->chans; c; c = c->next) {
            if (c->refs && c->known && c->known_gen > b->read_gen &&
                (!capped || msgid_cmp(c->pos, cap) < 0)) {
                cap = c->pos;
                capped = 1;
            }
        }
        k = rmerge_order(v, n, full, last, ns, capped ? &cap : NULL);
    }
    for (i = 0; i < k; i++) {
        struct rchan *c = sc[v[i].stream];
        struct msgid id;
        unsigned long subs;
        const char *type, *data;
        size_t dlen;
        struct msg *m;

        if (!c || !c->refs || !c->known || msgid_cmp(v[i].id, c->pos) <= 0)
            continue; /* not wanted now, or had already: never stored twice */
        c->pos = v[i].id;
        if (rbus_fields(b, v[i].p, &id, &type, &data, &dlen) != 1)
            continue;
        /* through the engine: history, bounds, and one event for all its subscribers */
        m = chan_store_id(b->engine, c->key + sizeof RBUS_KEY_PREFIX - 1, type, data, dlen, &id,
                          wallclock_ms(), &subs);
        if (m)
            chan_fanout(b->engine, m);
        else if (errno == ENOMEM && log_allow(&b->warn))
            log_errno("redis: storing an entry", ENOMEM);
    }
out:
    free(v);
    free(sc);
    free(full);
    free(last);
}

static void on_read(redisAsyncContext *ac, void *reply, void *priv)
{
    struct rbus *b = ac->data;
    redisReply *r = reply;
    (void)priv;

    if (ac != b->rd)
        return;
    b->reading = 0;
    if (!r)
        return; /* the disconnect callback takes it from here */
    if (r->type == REDIS_REPLY_ERROR) {
        rbus_down(b, "XREAD", r->str);
        return;
    }
    if (r->type == REDIS_REPLY_ARRAY) {
        b->in_read = 1;
        rbus_take(b, r);
        b->in_read = 0;
    }
    rbus_read_next(b);
}

/* One XREAD BLOCK over every channel wanted whose position is fixed. */
static void rbus_read_next(struct rbus *b)
{
    char count[16], block[16];
    char (*ids)[MSGID_STR_MAX];
    const char **argv;
    size_t *lens;
    struct rchan *c;
    unsigned long n = 0, i = 0;
    int argc;

    rbus_reap(b);
    if (b->state != RBUS_UP || b->reading || !b->rd)
        return;
    for (c = b->chans; c; c = c->next)
        n += c->refs && c->known;
    b->st->channels_read = n;
    if (!n)
        return; /* a channel whose position gets fixed starts it */
    argc = 6 + 2 * (int)n;
    argv = malloc((size_t)argc * sizeof *argv);
    lens = malloc((size_t)argc * sizeof *lens);
    ids = malloc(n * sizeof *ids);
    if (!argv || !lens || !ids) {
        rbus_down(b, "out of memory for the blocking read", NULL);
        goto out;
    }
    b->read_count = rbus_read_count(b, n);
    snprintf(count, sizeof count, "%lu", b->read_count);
    snprintf(block, sizeof block, "%d", RBUS_BLOCK_MS);
    argv[0] = "XREAD";
    argv[1] = "COUNT";
    argv[2] = count;
    argv[3] = "BLOCK";
    argv[4] = block;
    argv[5] = "STREAMS";
    for (c = b->chans; c; c = c->next) {
        if (!c->refs || !c->known)
            continue;
        argv[6 + i] = c->key;
        lens[6 + i] = c->keylen;
        lens[6 + n + i] = msgid_format(ids[i], c->pos);
        argv[6 + n + i] = ids[i];
        i++;
    }
    for (i = 0; i < 6; i++)
        lens[i] = strlen(argv[i]);
    if (redisAsyncCommandArgv(b->rd, on_read, NULL, argc, argv, lens) != REDIS_OK) {
        rbus_down(b, "cannot send the blocking read", NULL);
        goto out;
    }
    b->reading = 1;
    b->read_gen = b->gen;
    b->rd_sent = monotime_ns();
out:
    free(argv);
    free(lens);
    free(ids);
}

static void on_unblocked(redisAsyncContext *ac, void *reply, void *priv)
{
    struct rbus *b = ac->data;
    redisReply *r = reply;
    (void)priv;

    if (ac != b->cmd)
        return;
    b->cmd_pending--;
    b->cmd_progress = monotime_ns();
    /* 0: the read was not blocked yet (on its way, or its reply is): if
     * it still covers fewer channels, try again shortly */
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 0 && b->reading &&
        b->read_gen != b->gen && loop_timer_set(b->loop, &b->unblock,
                                                monotime_ns() + RBUS_UNBLOCK_RETRY_NS) < 0)
        log_errno("redis: a timer", ENOMEM);
}

/* A channel was added: the read in flight must end so that the next one
 * covers it (CLIENT UNBLOCK ends a blocked XREAD with a nil reply, as a
 * timeout would). */
static void rbus_interrupt(struct rbus *b)
{
    char id[24];
    const char *argv[3] = { "CLIENT", "UNBLOCK", id };
    size_t lens[3] = { 6, 7, 0 };

    if (b->state != RBUS_UP)
        return;
    if (!b->reading) {
        rbus_read_next(b);
        return;
    }
    if (b->read_gen == b->gen)
        return;
    lens[2] = (size_t)snprintf(id, sizeof id, "%lld", b->rd_id);
    if (rbus_cmd(b, on_unblocked, NULL, 3, argv, lens) < 0)
        rbus_down(b, "cannot send CLIENT UNBLOCK", NULL);
}

static void on_unblock_timer(struct loop *l, struct loop_timer *t)
{
    struct rbus *b = (struct rbus *)((char *)t - offsetof(struct rbus, unblock));
    (void)l;

    rbus_interrupt(b);
}

static void on_pos(redisAsyncContext *ac, void *reply, void *priv)
{
    struct rbus *b = ac->data;
    struct rchan *c = priv;
    redisReply *r = reply;
    struct msgid pos = { 0, 0 };

    c->asking = 0;
    if (ac == b->cmd) {
        b->cmd_pending--;
        b->cmd_progress = monotime_ns();
    }
    if (ac != b->cmd || !r)
        return; /* asked again once connected */
    if (r->type == REDIS_REPLY_STRING && msgid_parse(r->str, &pos) < 0)
        r = NULL;
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
        rbus_down(b, "GET " RBUS_KEY_LAST, r && r->type == REDIS_REPLY_ERROR
                                                      ? r->str : "not an id");
        return;
    }
    if (c->known || !c->refs)
        return; /* no longer wanted (or fixed already) */
    c->pos = pos;
    c->known = 1;
    c->known_gen = ++b->gen;
    rbus_interrupt(b);
}

/* Fixes where the read of c starts: after the id Redis issued last (all
 * that came before, a subscriber fetches). */
static void rbus_ask_pos(struct rbus *b, struct rchan *c)
{
    const char *argv[2] = { "GET", RBUS_KEY_LAST };
    size_t lens[2] = { 3, sizeof RBUS_KEY_LAST - 1 };

    if (rbus_cmd(b, on_pos, c, 2, argv, lens) < 0) {
        rbus_down(b, "cannot send GET", NULL);
        return;
    }
    c->asking = 1;
}

int rbus_watch(struct rbus *b, const char *name)
{
    char key[RBUS_KEY_MAX];
    size_t len = (size_t)snprintf(key, sizeof key, RBUS_KEY_PREFIX "%s", name);
    struct rchan *c = rbus_find(b, key, len);

    if (c) {
        if (c->refs++ == 0) {
            b->nreaped--;
            b->nchans++;
            if (b->state == RBUS_UP && !c->asking)
                rbus_ask_pos(b, c);
        }
        return 0;
    }
    c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    memcpy(c->key, key, len + 1);
    c->keylen = len;
    c->refs = 1;
    c->next = b->chans;
    b->chans = c;
    b->nchans++;
    if (b->state == RBUS_UP)
        rbus_ask_pos(b, c);
    return 0;
}

void rbus_unwatch(struct rbus *b, const char *name)
{
    char key[RBUS_KEY_MAX];
    size_t len = (size_t)snprintf(key, sizeof key, RBUS_KEY_PREFIX "%s", name);
    struct rchan *c = rbus_find(b, key, len);

    if (!c || !c->refs)
        return;
    if (--c->refs == 0) {
        /* its history goes with it: a subscriber that comes back later is
         * read from a new position, and fetches what came between */
        c->known = 0;
        b->nchans--;
        b->nreaped++;
        rbus_reap(b);
    }
}

/* ---------------------------------------------------------------- fetching */

/* Entries per channel in one fetch: what fits RBUS_FETCH_BYTES at
 * --max-message each, shared by its channels, at least one. */
static unsigned long rbus_fetch_count(const struct rbus *b, unsigned n)
{
    unsigned long per = RBUS_FETCH_BYTES / (b->cfg.max_message + 256);

    if (per < 16)
        per = 16;
    per /= n ? n : 1;
    return per ? per : 1;
}

static void rbus_fetch_enqueue(struct rbus *b, struct rbus_fetch *f)
{
    f->queued = 1;
    f->next = NULL;
    if (b->fq_tail)
        b->fq_tail->next = f;
    else
        b->fq_head = f;
    b->fq_tail = f;
}

/* Sends the fetches that wait, while there are slots and Redis is up. */
static void rbus_fetch_pump(struct rbus *b)
{
    while (b->fq_head && b->state == RBUS_UP) {
        struct rbus_fetch *f = b->fq_head;
        if (!f->slot && b->slots >= RBUS_FETCH_SLOTS)
            return;
        b->fq_head = f->next;
        if (!b->fq_head)
            b->fq_tail = NULL;
        f->queued = 0;
        if (!f->slot) {
            f->slot = 1;
            b->slots++;
        }
        rbus_fetch_send(b, f);
    }
}

/* Parses a fetch's reply into a batch. 0, or -1 when it is not one. */
static int rbus_batch_of(struct rbus *b, struct rbus_fetch *f, const redisReply *r,
                         struct rbus_batch *out)
{
    unsigned long count = rbus_fetch_count(b, f->n);
    struct rmerge_item *v = NULL;
    int full[CHAN_SUB_MAX] = { 0 };
    struct msgid last[CHAN_SUB_MAX], oldest = { 0, 0 };
    size_t total = 0, n = 0, k, i, j;
    int have_oldest = 0;

    memset(out, 0, sizeof *out);
    out->cursor = f->after;
    if (f->now) {
        if (r->type == REDIS_REPLY_NIL)
            return 0;
        return r->type == REDIS_REPLY_STRING ? msgid_parse(r->str, &out->cursor) : -1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != f->n)
        return -1;
    for (i = 0; i < f->n; i++) {
        const redisReply *c = r->element[i];
        if (c->type != REDIS_REPLY_ARRAY || c->elements != 3 ||
            c->element[2]->type != REDIS_REPLY_ARRAY)
            return -1;
        total += c->element[2]->elements;
    }
    v = calloc(total ? total : 1, sizeof *v);
    if (!v)
        return -1;
    for (i = 0; i < f->n; i++) {
        const redisReply *c = r->element[i], *es = c->element[2];
        struct msgid del, first;
        if (f->check_reset && c->element[0]->type == REDIS_REPLY_STRING &&
            msgid_parse(c->element[0]->str, &del) == 0 && msgid_cmp(del, f->after) > 0)
            out->reset = 1;
        if (c->element[1]->type == REDIS_REPLY_STRING &&
            msgid_parse(c->element[1]->str, &first) == 0 &&
            (!have_oldest || msgid_cmp(first, oldest) < 0)) {
            oldest = first;
            have_oldest = 1;
        }
        full[i] = es->elements >= count;
        for (j = 0; j < es->elements; j++) {
            int bad;
            struct msgid id;
            struct msg *m = rbus_entry(b, es->element[j], &id, &bad);
            if (bad)
                continue;
            last[i] = id;
            v[n].id = id;
            v[n].stream = (unsigned)i;
            v[n].p = m; /* NULL for an entry skipped: the cursor still passes it */
            n++;
        }
    }
    k = rmerge_order(v, n, full, last, f->n, NULL);
    for (i = 0; i < f->n; i++)
        out->more |= full[i];
    out->v = calloc(k ? k : 1, sizeof *out->v);
    if (!out->v) {
        for (i = 0; i < n; i++)
            msg_unref(v[i].p);
        free(v);
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (i >= k) {
            msg_unref(v[i].p);
            continue;
        }
        out->cursor = v[i].id;
        if (v[i].p)
            out->v[out->n++] = v[i].p;
    }
    if (out->reset)
        out->reset_id = have_oldest ? oldest : out->cursor;
    free(v);
    return 0;
}

static void on_fetched(redisAsyncContext *ac, void *reply, void *priv)
{
    struct rbus_fetch *f = priv;
    struct rbus *b = f->b;
    redisReply *r = reply;
    struct rbus_batch batch;

    f->in_flight = 0;
    if (ac == b->cmd) {
        b->cmd_pending--;
        b->cmd_progress = monotime_ns();
    }
    if (!f->arg) {
        free(f); /* released while in flight (its slot was given back then) */
        return;
    }
    if (ac != b->cmd || !r) {
        rbus_fetch_enqueue(b, f); /* sent again once connected */
        rbus_fetch_pump(b);
        return;
    }
    if (r->type == REDIS_REPLY_ERROR || rbus_batch_of(b, f, r, &batch) < 0) {
        if (log_allow(&b->warn))
            log_warn("redis: a fetch failed: %s", r->type == REDIS_REPLY_ERROR ? r->str
                                                                              : "not a fetch's reply");
        memset(&batch, 0, sizeof batch);
        batch.failed = 1;
    }
    f->fn(f->arg, f, &batch);
}

static void rbus_fetch_send(struct rbus *b, struct rbus_fetch *f)
{
    const char *argv[3 + CHAN_SUB_MAX + 3];
    size_t lens[3 + CHAN_SUB_MAX + 3];
    char nkeys[8], after[MSGID_STR_MAX], count[24];
    int argc = 0, rc;
    unsigned i;

    if (f->now) {
        argv[argc++] = "GET";
        argv[argc++] = RBUS_KEY_LAST;
    } else {
        snprintf(nkeys, sizeof nkeys, "%u", f->n);
        msgid_format(after, f->after);
        snprintf(count, sizeof count, "%lu", rbus_fetch_count(b, f->n));
        argv[argc++] = "FCALL_RO";
        argv[argc++] = "fcgi_sse_fetch";
        argv[argc++] = nkeys;
        for (i = 0; i < f->n; i++)
            argv[argc++] = f->keys[i];
        argv[argc++] = after;
        argv[argc++] = count;
        argv[argc++] = f->check_reset ? "1" : "0";
    }
    for (i = 0; i < (unsigned)argc; i++)
        lens[i] = strlen(argv[i]);
    rc = rbus_cmd(b, on_fetched, f, argc, argv, lens);
    if (rc < 0) {
        rbus_fetch_enqueue(b, f);
        rbus_down(b, "cannot send a fetch", NULL);
        return;
    }
    f->in_flight = 1;
}

struct rbus_fetch *rbus_fetch(struct rbus *b, const char (*names)[CHAN_NAME_MAX + 1], unsigned n,
                              const struct msgid *after, int check_reset, rbus_fetch_fn fn,
                              void *arg)
{
    struct rbus_fetch *f = calloc(1, sizeof *f);
    unsigned i;

    if (!f)
        return NULL;
    f->b = b;
    f->fn = fn;
    f->arg = arg;
    f->now = after == NULL;
    if (after)
        f->after = *after;
    f->check_reset = check_reset && after;
    f->n = n > CHAN_SUB_MAX ? CHAN_SUB_MAX : n;
    for (i = 0; i < f->n; i++)
        snprintf(f->keys[i], sizeof f->keys[i], RBUS_KEY_PREFIX "%s", names[i]);
    rbus_fetch_enqueue(b, f);
    rbus_fetch_pump(b);
    return f;
}

void rbus_fetch_release(struct rbus_fetch *f)
{
    struct rbus *b;

    if (!f)
        return;
    b = f->b;
    if (!b) {
        free(f); /* outlived the bus (shutdown) */
        return;
    }
    if (f->queued) {
        struct rbus_fetch **p = &b->fq_head, *prev = NULL;
        while (*p && *p != f) {
            prev = *p;
            p = &(*p)->next;
        }
        if (*p) {
            *p = f->next;
            if (b->fq_tail == f)
                b->fq_tail = prev;
        }
    }
    if (f->slot) {
        b->slots--;
        f->slot = 0;
    }
    if (f->in_flight)
        f->arg = NULL; /* freed when its reply comes */
    else
        free(f);
    rbus_fetch_pump(b);
}

/* ---------------------------------------------------------------- lifetime */

struct rbus *rbus_create(struct loop *l, const struct rbus_config *cfg, struct chan_engine *e,
                         struct stats *st)
{
    struct rbus *b = calloc(1, sizeof *b);

    if (!b)
        return NULL;
    b->loop = l;
    b->engine = e;
    b->cfg = *cfg;
    b->st = &st->redis;
    b->st->enabled = 1;
    redisurl_describe(&cfg->url, b->st->where, sizeof b->st->where);
    b->publisher.publish = rbus_publish;
    b->publisher.ctx = b;
    b->state = RBUS_DOWN;
    b->backoff_ns = RBUS_BACKOFF_MIN_NS;
    loop_timer_init(&b->retry, on_retry);
    loop_timer_init(&b->watchdog, on_watchdog);
    loop_timer_init(&b->teardown, on_teardown);
    loop_timer_init(&b->unblock, on_unblock_timer);
    if (loop_timer_set(l, &b->retry, monotime_ns()) < 0 ||
        loop_timer_set(l, &b->watchdog, monotime_ns() + 1000000000LL) < 0) {
        loop_timer_cancel(l, &b->retry);
        free(b);
        return NULL;
    }
    return b;
}

void rbus_destroy(struct rbus *b)
{
    struct rchan *c, *next;

    if (!b)
        return;
    loop_timer_cancel(b->loop, &b->retry);
    loop_timer_cancel(b->loop, &b->watchdog);
    loop_timer_cancel(b->loop, &b->teardown);
    loop_timer_cancel(b->loop, &b->unblock);
    b->state = RBUS_DOWN;
    rbus_free_contexts(b); /* publishes in flight: 503; fetches: queued */
    while (b->fq_head) {
        struct rbus_fetch *f = b->fq_head;
        b->fq_head = f->next;
        f->queued = 0;
        if (f->slot)
            b->slots--;
        f->slot = 0;
        if (!f->arg)
            free(f);
        else
            f->b = NULL; /* the subscription still holds it: released with the hub */
    }
    for (c = b->chans; c; c = next) {
        next = c->next;
        free(c);
    }
    free(b);
}
