/* redis_link.c -- channels through Redis: the link (two connections, handshake, backoff, watchdog) and the entries' fields */
#include "config.h"

#include "redis/redis_int.h"
#include "core/list.h"
#include "core/clock.h"
#include "redis/redisloop.h"
#include "core/text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* The functions (src/redis/fcgi-sse.lua), one C string per line. */
static const char redis_lua[] =
#include "redis/fcgi-sse-lua.h"
    ;

/* Makes s fit inside a JSON string of /status as it is: '?' for a quote,
 * backslash, control byte or any byte past ASCII (Redis's errors and a
 * socket's path are not promised to be UTF-8). */
static void redis_json_safe(char *s)
{
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            *s = '?';
}

/* Keeps a reason for /status. */
static void redis_error(struct redis *b, const char *what, const char *detail)
{
    snprintf(b->st->last_error, sizeof b->st->last_error, "%s%s%s", what, detail ? ": " : "",
             detail ? detail : "");
    redis_json_safe(b->st->last_error);
}

/* A connection failed (or Redis misbehaved): both go, the reconnect is
 * scheduled. The contexts still open are freed from a timer, never from
 * inside a hiredis callback of another context. */
void redis_down(struct redis *b, const char *why, const char *detail)
{
    long long now = clock_now_ns();

    if (b->state == REDIS_DOWN)
        return; /* the first cause is the one /status keeps */
    if (why)
        redis_error(b, why, detail);
    if (log_allow(&b->warn))
        log_warn("redis %s: %s; reconnecting in %lld ms", b->st->where, b->st->last_error,
                 b->backoff_ns / 1000000);
    b->state = REDIS_DOWN;
    b->st->connected = 0;
    b->cmd_ready = b->rd_ready = 0;
    b->reading = 0;
    if (loop_timer_set(b->loop, &b->teardown, now) < 0 ||
        loop_timer_set(b->loop, &b->retry, now + b->backoff_ns) < 0)
        log_errno("redis: a timer", ENOMEM);
    b->backoff_ns *= 2;
    if (b->backoff_ns > REDIS_BACKOFF_MAX_NS)
        b->backoff_ns = REDIS_BACKOFF_MAX_NS;
}

/* Nothing still queued on a connection given up on may reach Redis later:
 * on a link gone silent the kernel would go on retransmitting a closed
 * socket's unacknowledged FCALL, and a publish answered 503 would be
 * stored once the link is back, after messages published since. An
 * abortive close (SO_LINGER 0: RST, the send queue dropped) ends that. */
static void redis_abort(redisAsyncContext *ac)
{
    struct linger lg = { 1, 0 };

    if (ac->c.fd >= 0 && setsockopt(ac->c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0)
        log_errno("redis: SO_LINGER on a connection given up on", errno);
}

void redis_free_contexts(struct redis *b)
{
    redisAsyncContext *cmd = b->cmd, *rd = b->rd;

    /* cleared first: the callbacks hiredis now calls see stale contexts */
    b->cmd = b->rd = NULL;
    if (cmd) {
        redis_abort(cmd);
        redisAsyncFree(cmd);
    }
    if (rd) {
        redis_abort(rd);
        redisAsyncFree(rd);
    }
}

static void on_teardown(struct loop *l, struct loop_timer *t)
{
    struct redis *b = container_of(t, struct redis, teardown);
    (void)l;

    if (b->state == REDIS_DOWN)
        redis_free_contexts(b);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct redis *b = ac->data;
    (void)status;

    if (ac == b->cmd)
        b->cmd = NULL; /* hiredis frees it */
    else if (ac == b->rd)
        b->rd = NULL;
    else
        return; /* one we let go of */
    redis_down(b, "connection lost", ac->errstr[0] ? ac->errstr : "closed by Redis");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct redis *b = ac->data;

    if (status == REDIS_OK)
        return; /* the handshake's replies tell the rest */
    if (ac == b->cmd)
        b->cmd = NULL; /* hiredis frees it after this call */
    else if (ac == b->rd)
        b->rd = NULL;
    else
        return;
    redis_down(b, "cannot connect", ac->errstr);
}

/* The connection is whole: both handshakes answered. */
static void redis_ready(struct redis *b)
{
    if (!b->cmd_ready || !b->rd_ready || b->state != REDIS_CONNECTING)
        return;
    b->state = REDIS_UP;
    b->st->connected = 1;
    b->backoff_ns = REDIS_BACKOFF_MIN_NS;
    if (b->connected_once)
        b->st->reconnects++;
    log_info("redis %s: connected%s", b->st->where, b->connected_once ? " again" : "");
    b->connected_once = 1;
    b->cmd_progress = clock_now_ns();
    b->on_ready(b);
}

/* AUTH, SELECT: an error ends the attempt. */
static void on_setup(redisAsyncContext *ac, void *reply, void *priv)
{
    struct redis *b = ac->data;
    redisReply *r = reply;
    (void)priv;

    if (ac != b->cmd && ac != b->rd)
        return; /* not counted in cmd_pending: sent before the connection was whole */
    if (r && r->type == REDIS_REPLY_ERROR)
        redis_down(b, "Redis refused the setup", r->str);
}

static void on_loaded(redisAsyncContext *ac, void *reply, void *priv)
{
    struct redis *b = ac->data;
    redisReply *r = reply;
    (void)priv;

    if (!redis_cmd_done(b, ac))
        return;
    if (!r || r->type == REDIS_REPLY_ERROR) {
        redis_down(b, "FUNCTION LOAD", r ? r->str : ac->errstr[0] ? ac->errstr : "no reply");
        return;
    }
    b->cmd_ready = 1;
    redis_ready(b);
}

static void on_pong(redisAsyncContext *ac, void *reply, void *priv)
{
    struct redis *b = ac->data;
    redisReply *r = reply;
    (void)priv;

    if (ac != b->rd)
        return;
    if (!r || r->type == REDIS_REPLY_ERROR) {
        redis_down(b, "PING", r ? r->str : ac->errstr[0] ? ac->errstr : "no reply");
        return;
    }
    b->rd_ready = 1;
    redis_ready(b);
}

/* Sends a command on cmd, counted for the watchdog. 0, or -1. */
int redis_cmd(struct redis *b, redisCallbackFn *fn, void *priv, int argc, const char **argv,
             const size_t *lens)
{
    if (!b->cmd || redisAsyncCommandArgv(b->cmd, fn, priv, argc, argv, lens) != REDIS_OK)
        return -1;
    if (b->cmd_pending++ == 0)
        b->cmd_progress = clock_now_ns();
    return 0;
}

int redis_cmd_done(struct redis *b, const redisAsyncContext *ac)
{
    if (ac != b->cmd)
        return 0; /* a connection let go of: its commands are not counted any more */
    b->cmd_pending--;
    b->cmd_progress = clock_now_ns();
    return 1;
}

void redis_saw(struct redis *b, struct msgid id)
{
    if (msgid_cmp(id, b->known) > 0)
        b->known = id;
}

/* AUTH and SELECT, first on a new connection. */
static int redis_handshake(struct redis *b, redisAsyncContext *ac)
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

static redisAsyncContext *redis_open(struct redis *b)
{
    const struct redisurl *u = &b->cfg.url;
    redisAsyncContext *ac = u->is_unix ? redisAsyncConnectUnix(u->path)
                                       : redisAsyncConnect(u->host, u->port);

    if (!ac)
        return NULL;
    if (ac->err) {
        redis_error(b, "cannot connect", ac->errstr);
        redisAsyncFree(ac);
        return NULL;
    }
    ac->data = b;
    if (redisloop_attach(ac, b->loop) < 0 ||
        redisAsyncSetConnectCallback(ac, on_connect) != REDIS_OK ||
        redisAsyncSetDisconnectCallback(ac, on_disconnect) != REDIS_OK ||
        redis_handshake(b, ac) < 0) {
        redis_error(b, "cannot set up the connection", NULL);
        redisAsyncFree(ac);
        return NULL;
    }
    return ac;
}

static void on_retry(struct loop *l, struct loop_timer *t)
{
    struct redis *b = container_of(t, struct redis, retry);
    const char *argv[4] = { "FUNCTION", "LOAD", "REPLACE", redis_lua };
    size_t lens[4] = { 8, 4, 7, sizeof redis_lua - 1 };
    (void)l;

    if (b->state != REDIS_DOWN)
        return;
    redis_free_contexts(b);
    b->state = REDIS_CONNECTING;
    b->connect_started = clock_now_ns();
    b->cmd = redis_open(b);
    b->rd = b->cmd ? redis_open(b) : NULL;
    b->cmd_pending = 0;
    if (!b->cmd || !b->rd || redis_cmd(b, on_loaded, NULL, 4, argv, lens) < 0 ||
        redisAsyncCommand(b->rd, on_pong, NULL, "PING") != REDIS_OK) {
        redis_down(b, NULL, NULL);
        return;
    }
}

static void on_watchdog(struct loop *l, struct loop_timer *t)
{
    struct redis *b = container_of(t, struct redis, watchdog);
    long long now = clock_now_ns();

    if (b->state == REDIS_CONNECTING && now - b->connect_started > REDIS_CONNECT_NS)
        redis_down(b, "no connection within 2 s", NULL);
    else if (b->state == REDIS_UP && b->cmd_pending && now - b->cmd_progress > REDIS_REPLY_NS)
        redis_down(b, "no reply within 5 s", NULL);
    else if (b->state == REDIS_UP && b->reading &&
             now - b->rd_sent > REDIS_BLOCK_MS * 1000000LL + REDIS_REPLY_NS)
        redis_down(b, "the blocking read got no reply within 10 s", NULL);
    if (loop_timer_set(l, t, now + 1000000000LL) < 0)
        log_errno("redis: the watchdog's timer", ENOMEM);
}

/* ---------------------------------------------------------------- entries */

int redis_fields(struct redis *b, const char *id, const redisReply *f, const char **type,
                const char **data, size_t *len, const char **name, unsigned long long *n)
{
    size_t i;

    *type = *data = NULL;
    *len = 0;
    if (name) {
        *name = NULL;
        *n = 0;
    }
    for (i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (strcmp(k->str, "type") == 0) {
            *type = v->str[0] ? v->str : NULL;
        } else if (strcmp(k->str, "data") == 0) {
            *data = v->str;
            *len = v->len;
        } else if (name && strcmp(k->str, "c") == 0) {
            *name = v->str;
        } else if (name && strcmp(k->str, "n") == 0) {
            unsigned long long x;
            *n = text_parse_uint(v->str, 1, ~0ULL, &x) == 0 ? x : 0;
        }
    }
    if (!*data || (*type && !text_name_ok(*type, CHAN_TYPE_MAX)) || *len > b->cfg.max_message ||
        !text_utf8_ok(*data, *len) || (name && (!*name || !chan_name_valid(*name)))) {
        if (log_allow(&b->warn))
            log_warn("redis: entry %s skipped: not a message fcgi_sse_publish makes (type, "
                     "UTF-8 text, --max-message)", id);
        return 0;
    }
    return 1;
}

void redis_link_start(struct redis *b, void (*on_ready)(struct redis *b))
{
    b->on_ready = on_ready;
    b->state = REDIS_DOWN;
    b->backoff_ns = REDIS_BACKOFF_MIN_NS;
    loop_timer_init(&b->retry, on_retry);
    loop_timer_init(&b->watchdog, on_watchdog);
    loop_timer_init(&b->teardown, on_teardown);
}

int redis_link_connect(struct redis *b)
{
    if (loop_timer_set(b->loop, &b->retry, clock_now_ns()) < 0 ||
        loop_timer_set(b->loop, &b->watchdog, clock_now_ns() + 1000000000LL) < 0) {
        loop_timer_cancel(b->loop, &b->retry);
        return -1;
    }
    return 0;
}

void redis_link_stop(struct redis *b)
{
    loop_timer_cancel(b->loop, &b->retry);
    loop_timer_cancel(b->loop, &b->watchdog);
    loop_timer_cancel(b->loop, &b->teardown);
    b->state = REDIS_DOWN;
    redis_free_contexts(b); /* publishes in flight: 503; fetches in flight: queued again */
}

void redis_describe(struct redis *b)
{
    redisurl_describe(&b->cfg.url, b->st->where, sizeof b->st->where);
    redis_json_safe(b->st->where);
}
