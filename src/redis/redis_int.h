/* redis_int.h -- what the parts of the Redis link share: the link, its read and its fetches (redis_*.c only) */
#ifndef FCGI_SSE_REDIS_REDIS_INT_H
#define FCGI_SSE_REDIS_REDIS_INT_H

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "core/log.h"
#include "redis/redis.h"

#define REDIS_KEY_LAST "fcgi-sse:last"
#define REDIS_KEY_LOG "fcgi-sse:log"
#define REDIS_KEY_PREFIX "fcgi-sse:chan:"
#define REDIS_KEY_MAX (sizeof REDIS_KEY_PREFIX + CHAN_NAME_MAX)
/* The blocking read of fcgi-sse:log: at most this long (a watchdog sees
 * a dead link within it plus REDIS_REPLY_NS); its reply at most about
 * REDIS_READ_BYTES (entries of --max-message), and at most REDIS_READ_COUNT
 * entries. */
#define REDIS_BLOCK_MS 5000
#define REDIS_READ_COUNT 1024
#define REDIS_READ_BYTES (16 * 1024 * 1024)
/* A reply (or a connection) later than this: the link is taken for dead. */
#define REDIS_REPLY_NS (5 * 1000000000LL)
#define REDIS_CONNECT_NS (2 * 1000000000LL)
/* Reconnecting: after 100 ms, doubling up to 5 s. */
#define REDIS_BACKOFF_MIN_NS 100000000LL
#define REDIS_BACKOFF_MAX_NS (5 * 1000000000LL)
/* Publishes waiting for Redis at most, and the bytes of their messages
 * (held in hiredis's output buffer meanwhile): more gets 503. */
#define REDIS_PUB_MAX 4096
#define REDIS_PUB_BYTES (32 * 1024 * 1024)
/* Fetches in flight at most (a slot each, given back with the reply);
 * each brings at most REDIS_FETCH_COUNT entries and, past the first, the
 * bytes its subscriber can send now (at most REDIS_FETCH_BYTES). */
#define REDIS_FETCH_SLOTS 64
#define REDIS_FETCH_COUNT 1024
#define REDIS_FETCH_BYTES (1024 * 1024)
/* --history-ttl and --history-bytes are kept in Redis by each publish, and
 * by each responder at this pace (fcgi_sse_trim). */
#define REDIS_TRIM_NS (5 * 1000000000LL)

enum redis_state { REDIS_DOWN, REDIS_CONNECTING, REDIS_UP };

struct history_fetch {
    struct redis *b;
    struct history_fetch *next;       /* the queue waiting for a slot or for Redis */
    history_fn fn;
    void *arg;                     /* NULL: cancelled while in flight */
    int queued, in_flight;
    int check_reset;
    struct msgid after;
    size_t bytes;
    unsigned n;
    char keys[CHAN_SUB_MAX][REDIS_KEY_MAX];
};

struct redis {
    struct loop *loop;
    struct chan_engine *engine;
    struct stats_redis *st;
    struct redis_config cfg;
    struct pub_backend backend;    /* redis_publish */
    struct history history;        /* redis_position, redis_fetch */
    struct ctl_backend ctl;        /* redis_ctl_backend */
    enum redis_state state;
    redisAsyncContext *cmd;        /* commands: FUNCTION LOAD, FCALL, FCALL_RO */
    redisAsyncContext *rd;         /* the blocking read */
    int cmd_ready, rd_ready;       /* handshakes answered */
    struct loop_timer retry;       /* reconnect after backoff */
    struct loop_timer watchdog;    /* connect and reply timeouts, each second */
    struct loop_timer teardown;    /* frees what a failure left, outside hiredis's calls */
    struct loop_timer trim;        /* fcgi_sse_trim, every REDIS_TRIM_NS */
    long long backoff_ns, connect_started, cmd_progress, rd_sent;
    unsigned long cmd_pending;     /* commands in flight on cmd */
    int connected_once;
    void (*on_ready)(struct redis *b); /* the link is up (redis.c: the read, the fetches) */
    /* the read of fcgi-sse:log: after pos (Redis's text of the id, which
     * may be a foreign one msgid cannot hold), the entry counted n */
    int have_pos;                  /* pos and n are known (fcgi_sse_head answered once) */
    char pos[MSGID_STR_MAX];
    unsigned long long n;          /* the log's count at pos; 0: not known */
    struct msgid known;            /* the newest id this responder knows Redis issued */
    int reading;
    unsigned long read_count;      /* COUNT of the reads */
    unsigned long pub_pending;
    size_t pub_bytes;              /* bytes of the messages waiting for Redis */
    struct history_fetch *fq_head, *fq_tail;
    unsigned slots;                /* fetches in flight */
    struct log_limit warn;
};


/* redis_link.c: the link */
/* Sets up the link's timers; on_ready is called each time it is up. */
void redis_link_start(struct redis *b, void (*on_ready)(struct redis *b));
/* Starts connecting now. 0, or -1 (ENOMEM). */
int redis_link_connect(struct redis *b);
/* Stops the timers and closes both connections (publishes in flight: 503). */
void redis_link_stop(struct redis *b);
/* Fills /status's address from the URL (JSON-safe). */
void redis_describe(struct redis *b);
/* Frees both contexts (never from inside a hiredis callback of another). */
void redis_free_contexts(struct redis *b);
/* A connection failed (or Redis misbehaved): both go, the reconnect is
 * scheduled (why + detail is what /status shows, the first cause kept). */
void redis_down(struct redis *b, const char *why, const char *detail);
/* Sends a command on the command connection, counted for the watchdog. 0, or -1. */
int redis_cmd(struct redis *b, redisCallbackFn *fn, void *priv, int argc, const char **argv,
             const size_t *lens);
/* The reply of a command sent with redis_cmd arrived (or its connection
 * went): counted off for the watchdog. 1 when ac is still the command
 * connection (the reply is to be used), 0 when it was let go of. */
int redis_cmd_done(struct redis *b, const redisAsyncContext *ac);
/* Keeps id as known to be issued by Redis (redis_position) when it is newer. */
void redis_saw(struct redis *b, struct msgid id);
/* The fields of an entry's field list [field, value, ...] as
 * fcgi_sse_publish writes them: *type (NULL for none), data[0, *len), and
 * with name non-NULL the channel `c` (NULL when missing) and count `n`
 * (0 when missing). 1 when it is such a message, 0 when it is not
 * (logged as the entry `id`, skipped). */
int redis_fields(struct redis *b, const char *id, const redisReply *f, const char **type,
                const char **data, size_t *len, const char **name, unsigned long long *n);

/* redis_pub.c: publishing (the pub_backend) */
void redis_publish(void *ctx, const char *channel, const char *type, const char *body,
                  size_t len, pub_done_fn done, void *arg);

/* redis_read.c: the blocking read */
/* Asks where the read starts (once), or sends the next XREAD BLOCK unless one is in flight. */
void redis_read_next(struct redis *b);

/* redis_ctl.c: a channel's figures and control, and the bounds on a timer */
/* A control entry of the log's field list ({c NAME, ctl ACTION, n N}, as
 * fcgi_sse_control writes it): 1 with *name (NULL when missing), *action
 * and *n (0 when missing); 0 when it is not one. */
int redis_ctl_entry(const redisReply *f, const char **name, const char **action,
                    unsigned long long *n);
/* Does here what a control entry of the log says: delete (the channel's
 * subscribers here end, its copy goes) or purge (its copy goes). */
void redis_ctl_apply(struct redis *b, const char *name, const char *action);
/* Starts the timer of fcgi_sse_trim (none without a TTL or a bound). 0, or -1 (ENOMEM). */
int redis_trim_start(struct redis *b);
void redis_trim_stop(struct redis *b);

/* redis_fetch.c: fetches for subscribers */
/* Sends the fetches that wait, while there are slots and Redis is up. */
void redis_fetch_pump(struct redis *b);
/* Frees the fetches still queued (the bus goes); those in flight are freed with their reply. */
void redis_fetch_drop(struct redis *b);

#endif
